/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/sctpmsg: the TAG, GONE and ASSOC bodies and
 * the coalescing set of records waiting to be replicated.
 *
 * Input: messages, each {kind u8, len u16, body}.  kind % 3 says which
 * decoder gets the body: TAG, GONE or ASSOC.  A TAG or GONE that decodes is
 * valid and encodes again to a body that decodes to the same.  An ASSOC
 * body that decodes delivers valid records only, encodes again (a writer
 * as large as the body) to one that decodes to the same records; one that
 * does not decode delivers nothing.  Its UPDATE and DELETE records then go
 * to a small coalescing set (kind & 0x80 clears it first): never more than
 * its capacity, never two records of one association, every record valid. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sync/msg.h"
#include "sync/sctpmsg.h"
#include "sync/wire.h"
#include "tests/fuzz/fuzz.h"

#define MAX_RECS (WIRE_MAX / TLV_HDR_LEN + 1)
#define PEND_CAP 16

struct recs {
	struct sctp_rec r[MAX_RECS];
	size_t n;
};

static int collect(const struct sctp_rec *r, void *arg)
{
	struct recs *rs = arg;

	FUZZ_CHECK(rs->n < MAX_RECS);
	rs->r[rs->n++] = *r;
	return 0;
}

static bool upd_same(const struct sctp_upd *a, const struct sctp_upd *b)
{
	if (a->ep != b->ep || a->family != b->family || a->state != b->state ||
	    a->flags != b->flags || a->n_paths != b->n_paths || a->cport != b->cport ||
	    a->vport != b->vport || a->itag_c != b->itag_c || a->itag_t != b->itag_t ||
	    a->target != b->target)
		return false;
	for (unsigned i = 0; i < a->n_paths; i++)
		if (!addr_eq(&a->paths[i], &b->paths[i]))
			return false;
	return true;
}

static bool rec_same(const struct sctp_rec *a, const struct sctp_rec *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SCTP_TLV_UPDATE:
		return upd_same(&a->upd, &b->upd);
	case SCTP_TLV_DELETE:
		return a->del.ep == b->del.ep && a->del.cport == b->del.cport &&
		       a->del.vport == b->del.vport && a->del.itag_t == b->del.itag_t;
	case SCTP_TLV_BULK_BEGIN:
		return a->bulk.id == b->bulk.id;
	case SCTP_TLV_BULK_END:
		return a->bulk.id == b->bulk.id && a->bulk.count == b->bulk.count;
	default:
		return false;
	}
}

static bool rec_put(struct sctp_writer *w, const struct sctp_rec *r)
{
	switch (r->type) {
	case SCTP_TLV_UPDATE: return sctp_put_update(w, &r->upd);
	case SCTP_TLV_DELETE: return sctp_put_delete(w, &r->del);
	case SCTP_TLV_BULK_BEGIN: return sctp_put_bulk_begin(w, r->bulk.id);
	default: return sctp_put_bulk_end(w, r->bulk.id, r->bulk.count);
	}
}

/* Two waiting records never name one association (ep, ports, itag_t). */
static void check_pend(const struct sctp_pend *p)
{
	size_t n = sctp_pend_count(p);

	FUZZ_CHECK(n <= PEND_CAP);
	for (size_t i = 0; i < n; i++) {
		const struct sctp_rec *a = sctp_pend_get(p, i);

		FUZZ_CHECK(a);
		FUZZ_CHECK(a->type == SCTP_TLV_UPDATE ? sctp_upd_valid(&a->upd) :
			   a->type == SCTP_TLV_DELETE && sctp_del_valid(&a->del));
		for (size_t j = 0; j < i; j++) {
			const struct sctp_rec *b = sctp_pend_get(p, j);
			uint32_t ea = a->type == SCTP_TLV_UPDATE ? a->upd.ep : a->del.ep;
			uint32_t eb = b->type == SCTP_TLV_UPDATE ? b->upd.ep : b->del.ep;
			uint32_t ta = a->type == SCTP_TLV_UPDATE ? a->upd.itag_t : a->del.itag_t;
			uint32_t tb = b->type == SCTP_TLV_UPDATE ? b->upd.itag_t : b->del.itag_t;
			uint16_t ca = a->type == SCTP_TLV_UPDATE ? a->upd.cport : a->del.cport;
			uint16_t cb = b->type == SCTP_TLV_UPDATE ? b->upd.cport : b->del.cport;
			uint16_t va = a->type == SCTP_TLV_UPDATE ? a->upd.vport : a->del.vport;
			uint16_t vb = b->type == SCTP_TLV_UPDATE ? b->upd.vport : b->del.vport;

			FUZZ_CHECK(!(ea == eb && ta == tb && ca == cb && va == vb));
		}
	}
	FUZZ_CHECK(!sctp_pend_get(p, n));
}

static void one_assoc(const uint8_t *body, size_t len, struct sctp_pend *p)
{
	static struct recs rs, again;
	uint8_t buf[WIRE_MAX];
	struct sctp_writer w;
	int n;

	rs.n = 0;
	n = sctp_assoc_decode(body, len, collect, &rs);
	if (n < 0) {
		FUZZ_CHECK(rs.n == 0);
		return;
	}
	FUZZ_CHECK((size_t)n == rs.n);
	sctp_writer_init(&w, buf, len);
	for (size_t i = 0; i < rs.n; i++) {
		const struct sctp_rec *r = &rs.r[i];

		if (r->type == SCTP_TLV_UPDATE)
			FUZZ_CHECK(sctp_upd_valid(&r->upd));
		else if (r->type == SCTP_TLV_DELETE)
			FUZZ_CHECK(sctp_del_valid(&r->del));
		/* The body held unknown TLVs too, so it had room for these. */
		FUZZ_CHECK(rec_put(&w, r));
	}
	FUZZ_CHECK(w.n == rs.n && w.err == SCTP_OK && w.tlv.len <= len);
	again.n = 0;
	FUZZ_CHECK(sctp_assoc_decode(buf, w.tlv.len, collect, &again) == n);
	for (size_t i = 0; i < rs.n; i++)
		FUZZ_CHECK(rec_same(&rs.r[i], &again.r[i]));
	for (size_t i = 0; i < rs.n; i++) {
		const struct sctp_rec *r = &rs.r[i];
		size_t before = sctp_pend_count(p);
		int rc;

		if (r->type != SCTP_TLV_UPDATE && r->type != SCTP_TLV_DELETE)
			continue;
		rc = sctp_pend_put(p, r);
		FUZZ_CHECK(rc == 1 || rc == 0 || rc == -ENOSPC);
		FUZZ_CHECK(sctp_pend_count(p) == before + (rc == 1));
		if (rc == -ENOSPC)
			FUZZ_CHECK(before == PEND_CAP);
		check_pend(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct sctp_pend *p = sctp_pend_new(PEND_CAP);

	FUZZ_CHECK(p);
	while (f.n) {
		uint8_t kind = fz_u8(&f);
		size_t len = fz_u16(&f);
		const uint8_t *body = f.p;
		uint8_t out[WIRE_MAX];

		if (len > f.n)
			len = f.n;
		f.p += len;
		f.n -= len;
		if (kind & 0x80) {
			sctp_pend_clear(p);
			FUZZ_CHECK(sctp_pend_count(p) == 0);
		}
		switch (kind % 3) {
		case 0: {
			struct sctp_tag t, u;
			size_t n;

			if (!sctp_tag_decode(body, len, &t))
				break;
			FUZZ_CHECK(sctp_tag_valid(&t));
			n = sctp_tag_encode(&t, out, sizeof(out));
			FUZZ_CHECK(n == TLV_HDR_LEN + SCTP_TAG_LEN);
			FUZZ_CHECK(sctp_tag_decode(out, n, &u));
			FUZZ_CHECK(u.ep == t.ep && u.family == t.family && u.cport == t.cport &&
				   u.vport == t.vport && u.itag_c == t.itag_c &&
				   u.itag_t == t.itag_t && addr_eq(&u.client, &t.client));
			break;
		}
		case 1: {
			struct sctp_gone g, u;
			size_t n;

			if (!sctp_gone_decode(body, len, &g))
				break;
			FUZZ_CHECK(sctp_gone_valid(&g));
			n = sctp_gone_encode(&g, out, sizeof(out));
			FUZZ_CHECK(n == TLV_HDR_LEN + SCTP_GONE_LEN);
			FUZZ_CHECK(sctp_gone_decode(out, n, &u));
			FUZZ_CHECK(u.ep == g.ep && u.family == g.family && u.cport == g.cport &&
				   u.vport == g.vport && u.itag_c == g.itag_c &&
				   u.itag_t == g.itag_t);
			break;
		}
		default:
			one_assoc(body, len, p);
			break;
		}
	}
	sctp_pend_free(p);
	return 0;
}
