/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/repl: repl_decode and the replica store.
 *
 * Input: messages, each {origin u8, dt u8, len u16, body}.  A body that
 * decodes must deliver valid records only, encode again (repl_writer) and
 * decode to the same records; a body that does not decode must deliver
 * nothing.  A CONN with REPL_F_HANDOFF comes with its HOFF (hoff role FE),
 * any other without (role NONE), and so it encodes again.  The records
 * then go to a small store, from one of four origins, with lookups after
 * each change (the store returns the hoff it was given); origin & 0x80
 * also runs an expiry pass. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sync/repl.h"
#include "tests/fuzz/fuzz.h"

#define MAX_RECS (REPL_BODY_MAX / TLV_HDR_LEN + 1)
#define STORE_MAX 32

struct recs {
	struct repl_rec r[MAX_RECS];
	size_t n;
};

static int collect(const struct repl_rec *r, void *arg)
{
	struct recs *rs = arg;

	FUZZ_CHECK(rs->n < MAX_RECS);
	rs->r[rs->n++] = *r;
	return 0;
}

static bool hoff_same(const struct conn_hoff *a, const struct conn_hoff *b)
{
	return a->role == b->role && a->id == b->id && a->delta == b->delta &&
	       a->tsoff == b->tsoff && a->peer == b->peer && a->flags == b->flags &&
	       a->ws_t == b->ws_t && a->ws_f == b->ws_f && a->req_end == b->req_end &&
	       a->phase == b->phase;
}

static bool conn_same(const struct repl_conn *a, const struct repl_conn *b)
{
	return conn_key_eq(&a->key, &b->key) && addr_eq(&a->taddr, &b->taddr) &&
	       a->tport == b->tport && a->target == b->target && a->state == b->state &&
	       a->flags == b->flags && hoff_same(&a->hoff, &b->hoff);
}

static bool rec_same(const struct repl_rec *a, const struct repl_rec *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case REPL_TLV_CONN:
		return conn_same(&a->conn, &b->conn);
	case REPL_TLV_DEL:
		return conn_key_eq(&a->key, &b->key);
	case REPL_TLV_BULK_BEGIN:
		return a->bulk.id == b->bulk.id;
	case REPL_TLV_BULK_END:
		return a->bulk.id == b->bulk.id && a->bulk.count == b->bulk.count;
	case REPL_TLV_VIPA:
		return addr_eq(&a->vipa, &b->vipa);
	}
	return false;
}

static void reencode(const struct recs *rs, size_t body_len)
{
	static struct recs again;
	uint8_t buf[REPL_BODY_MAX];
	struct repl_writer w;
	size_t i;
	bool ok = true;

	repl_writer_init(&w, buf, sizeof(buf));
	for (i = 0; i < rs->n; i++) {
		const struct repl_rec *r = &rs->r[i];

		switch (r->type) {
		case REPL_TLV_CONN:
			ok = repl_put_conn(&w, &r->conn);
			break;
		case REPL_TLV_DEL:
			ok = repl_put_del(&w, &r->key);
			break;
		case REPL_TLV_BULK_BEGIN:
			ok = repl_put_bulk_begin(&w, r->bulk.id);
			break;
		case REPL_TLV_BULK_END:
			ok = repl_put_bulk_end(&w, r->bulk.id, r->bulk.count);
			break;
		case REPL_TLV_VIPA:
			ok = repl_put_vipa(&w, &r->vipa);
			break;
		default:
			FUZZ_CHECK(!"record of an unknown type delivered");
		}
		/* a record that decoded is valid, and the original body held it */
		FUZZ_CHECK(ok || body_len > REPL_BODY_MAX);
		if (!ok) {
			FUZZ_CHECK(w.err == REPL_OK);
			return;
		}
	}
	FUZZ_CHECK(w.n == rs->n && w.tlv.len <= body_len);
	again.n = 0;
	FUZZ_CHECK(repl_decode(buf, w.tlv.len, collect, &again) == (int)rs->n);
	FUZZ_CHECK(again.n == rs->n);
	for (i = 0; i < rs->n; i++)
		FUZZ_CHECK(rec_same(&rs->r[i], &again.r[i]));
}

static int count_cb(const struct repl_conn *c, uint32_t origin, void *arg)
{
	FUZZ_CHECK(repl_conn_valid(c));
	FUZZ_CHECK(origin >= 1 && origin <= 4);
	(*(size_t *)arg)++;
	return 0;
}

static uint64_t stopped_cb(uint32_t origin, void *arg)
{
	/* origins 3 and 4 stopped at time 1000 */
	(void)arg;
	return origin >= 3 ? 1000 : 0;
}

static void apply(struct repl_store *s, uint32_t origin, const struct repl_rec *r,
		  uint64_t now)
{
	struct repl_conn c;
	uint32_t o;
	size_t before = repl_store_count(s);
	bool had = false;
	int rc;

	if (r->type == REPL_TLV_DEL)
		had = repl_store_lookup(s, &r->key, NULL, NULL);
	if (r->type == REPL_TLV_CONN)
		had = repl_store_lookup(s, &r->conn.key, NULL, NULL);
	rc = repl_store_apply(s, origin, r, now);
	FUZZ_CHECK(strcmp(repl_err_name(rc), "unknown") != 0);
	FUZZ_CHECK(repl_store_count(s) <= STORE_MAX);
	switch (r->type) {
	case REPL_TLV_CONN:
		if (rc == REPL_OK) {
			FUZZ_CHECK(repl_store_lookup(s, &r->conn.key, &c, &o));
			FUZZ_CHECK(conn_same(&c, &r->conn) && o == origin);
			FUZZ_CHECK(repl_store_count(s) == before + !had);
		} else {
			FUZZ_CHECK(rc == REPL_ERR_FULL && !had && before == STORE_MAX);
		}
		break;
	case REPL_TLV_DEL:
		FUZZ_CHECK(rc == (had ? REPL_OK : REPL_ERR_NOTFOUND));
		FUZZ_CHECK(!repl_store_lookup(s, &r->key, NULL, NULL));
		FUZZ_CHECK(repl_store_count(s) == before - had);
		break;
	case REPL_TLV_BULK_BEGIN:
	case REPL_TLV_VIPA:
		FUZZ_CHECK(repl_store_count(s) == before);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recs rs;
	struct fz f = { data, size };
	struct repl_store *s;
	struct conn_timeouts to = { 0 };
	uint64_t now = 1;
	size_t i, n;

	if (size > 64 * 1024)
		return 0;
	s = repl_store_new(STORE_MAX);
	FUZZ_CHECK(s);
	FUZZ_CHECK(repl_store_set_seed(s, 1, 2) == 0);
	while (f.n) {
		uint8_t ob = fz_u8(&f), dt = fz_u8(&f);
		uint16_t want = fz_u16(&f);
		uint32_t origin = (ob & 3) + 1;
		const uint8_t *p;
		uint8_t *body;
		size_t len = fz_bytes(&f, &p, want);
		int rc;

		now += dt * 1000ull;
		body = fz_dup(p, len);
		rs.n = 0;
		rc = repl_decode(body, len, collect, &rs);
		FUZZ_CHECK(strcmp(repl_err_name(rc < 0 ? rc : 0), "unknown") != 0);
		if (rc < 0) {
			FUZZ_CHECK(rs.n == 0);
			FUZZ_CHECK(repl_decode(body, len, NULL, NULL) == rc);
		} else {
			FUZZ_CHECK((size_t)rc == rs.n);
			for (i = 0; i < rs.n; i++) {
				const struct repl_conn *c = &rs.r[i].conn;

				if (rs.r[i].type != REPL_TLV_CONN)
					continue;
				FUZZ_CHECK(repl_conn_valid(c));
				/* the flag and the HOFF go together */
				FUZZ_CHECK(!!(c->flags & REPL_F_HANDOFF) ==
					   (c->hoff.role == CONN_HOFF_FE));
				FUZZ_CHECK(c->hoff.role == CONN_HOFF_FE ||
					   (c->hoff.role == CONN_HOFF_NONE && !c->hoff.id));
				FUZZ_CHECK(c->hoff.role != CONN_HOFF_FE ||
					   (c->key.proto == IPPROTO_TCP && c->hoff.id &&
					    !c->hoff.req_end && !c->hoff.phase));
			}
			reencode(&rs, len);
			for (i = 0; i < rs.n; i++)
				apply(s, origin, &rs.r[i], now);
		}
		free(body);
		if (ob & 0x80) {
			to.syn_s = 1;
			to.est_s = 2 + (ob & 0x0c);
			to.fin_s = 1;
			to.closed_s = 1;
			to.udp_s = 3;
			repl_store_expire(s, now, &to, 64, stopped_cb, NULL);
		}
		if ((ob & 0x70) == 0x70) {
			size_t before = repl_store_count(s);

			n = repl_store_expire_origin(s, origin);
			FUZZ_CHECK(repl_store_count(s) == before - n);
		}
		n = 0;
		FUZZ_CHECK(repl_store_foreach(s, count_cb, &n) == 0);
		FUZZ_CHECK(n == repl_store_count(s));
	}
	repl_store_free(s);
	return 0;
}
