/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/cdat: the body decoders, and the distribution
 * protocol as a state machine.  One cdat_proto (node a, b or c of a
 * three-node cluster, see fuzz_cdat.h for the input format) takes
 * messages, heartbeat summaries, ticks and adapter changes from the input,
 * as sent by its peers or by a stranger.
 *
 * Invariants, after every step: the committed version never goes back and
 * max_seen covers it; the committed, working and proposed tables are well
 * formed (names unique and printable, 1..CDAT_MAX_ADDRS addresses of a
 * family, NUL-terminated types) and carry their current digest; every
 * message in the outbox is addressed to a node of a table, of a CDAT type,
 * fits CDAT_BODY_MAX and splits into TLVs.  Every body also goes through
 * cdat_decode_nodes (what decodes encodes again to the same entries),
 * cdat_decode_table (what decodes has the digest it carries) and
 * cdat_get_summary. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "sync/cdat.h"
#include "sync/wire.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_cdat.h"

#define OUTBOX 64
#define DEC_NODES 16

static bool node_ok(const struct cdat_node *n)
{
	size_t len = strnlen(n->name, CDAT_NAME_MAX), i;

	if (len == 0 || len >= CDAT_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (n->name[i] < 0x21 || n->name[i] > 0x7e)
			return false;
	if (n->n_addrs < 1 || n->n_addrs > CDAT_MAX_ADDRS)
		return false;
	for (i = 0; i < n->n_addrs; i++) {
		const struct cdat_addr *a = &n->addrs[i];

		if (a->ip.family != AF_INET && a->ip.family != AF_INET6)
			return false;
		if (a->type[CDAT_TYPE_MAX - 1] != '\0')
			return false;
	}
	return true;
}

static void check_table(const struct cdat *t)
{
	uint8_t d[CDAT_DIGEST_LEN];
	size_t i, j;

	FUZZ_CHECK(t->n <= CDAT_MAX_NODES);
	FUZZ_CHECK(t->n == 0 || t->nodes);
	for (i = 0; i < t->n; i++) {
		FUZZ_CHECK(node_ok(&t->nodes[i]));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(t->nodes[i].name, t->nodes[j].name) != 0);
		FUZZ_CHECK(cdat_find_node(t, t->nodes[i].name) == (long)i);
	}
	cdat_digest(t, d);
	FUZZ_CHECK(memcmp(d, t->digest, sizeof(d)) == 0);
}

static bool node_same(const struct cdat_node *a, const struct cdat_node *b)
{
	size_t i;

	if (strcmp(a->name, b->name) || a->n_addrs != b->n_addrs)
		return false;
	for (i = 0; i < a->n_addrs; i++) {
		const struct cdat_addr *x = &a->addrs[i], *y = &b->addrs[i];

		if (!addr_eq(&x->ip, &y->ip) || x->prefix != y->prefix || x->mtu != y->mtu ||
		    x->cos != y->cos || x->retry != y->retry || strcmp(x->type, y->type))
			return false;
	}
	return true;
}

/* The stateless decoders on one body. */
static void decoders(const uint8_t *body, size_t len)
{
	static struct cdat_node nodes[DEC_NODES], again[DEC_NODES];
	uint8_t buf[WIRE_MAX], digest[CDAT_DIGEST_LEN];
	struct wire_writer w;
	struct wire_hdr h = { .type = CDAT_MSG_REPORT };
	struct wire_msg m;
	struct wire_keys keys = { .n = 1 };
	struct cdat t;
	size_t n, n2, i, dg;
	uint64_t version;
	int rc;

	rc = cdat_decode_nodes(body, len, nodes, DEC_NODES, &n);
	FUZZ_CHECK(strcmp(cdat_err_name(rc), "?") != 0);
	if (rc == CDAT_OK) {
		FUZZ_CHECK(n <= DEC_NODES);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(node_ok(&nodes[i]));
		/* encode again: the same entries */
		wire_begin(&w, buf, sizeof(buf), &h);
		for (i = 0; i < n; i++)
			cdat_put_node(&w.body, &nodes[i]);
		if ((dg = wire_finish(&w, &keys)) != 0) {
			FUZZ_CHECK(wire_decode(buf, dg, &keys, &m) == WIRE_OK);
			FUZZ_CHECK(cdat_decode_nodes(m.body, m.body_len, again, DEC_NODES, &n2) ==
				   CDAT_OK);
			FUZZ_CHECK(n2 == n);
			for (i = 0; i < n; i++)
				FUZZ_CHECK(node_same(&nodes[i], &again[i]));
		} else {
			/* entries that came in a body fit a datagram of that size */
			FUZZ_CHECK(len > WIRE_MAX - WIRE_HDR_LEN - WIRE_MAC_LEN);
		}
	}
	cdat_init(&t);
	rc = cdat_decode_table(body, len, &t);
	if (rc == CDAT_OK)
		check_table(&t);
	cdat_free(&t);
	cdat_get_summary(body, len, &version, digest);
}

static void check_outbox(const struct cdat_proto *p, struct cdat_outbox *ob)
{
	size_t i;

	for (i = 0; i < ob->n; i++) {
		const struct cdat_out *o = &ob->msg[i];

		if (!memchr(o->to, 0, sizeof(o->to)) || !o->to[0])
			fprintf(stderr, "outbox[%zu] of %zu: type %u, len %u, to \"%.*s\"\n", i,
				ob->n, o->type, o->len, (int)sizeof(o->to), o->to);
		FUZZ_CHECK(memchr(o->to, 0, sizeof(o->to)) && o->to[0]);
		FUZZ_CHECK(cdat_find_node(&p->cur, o->to) >= 0 ||
			   cdat_find_node(&p->work, o->to) >= 0 ||
			   (p->proposing && cdat_find_node(&p->prop, o->to) >= 0));
		FUZZ_CHECK(o->type >= CDAT_MSG_REPORT && o->type <= CDAT_MSG_COMMIT);
		FUZZ_CHECK(o->len <= CDAT_BODY_MAX);
		FUZZ_CHECK(tlv_framing_ok(o->body, o->len));
	}
	ob->n = 0;
	ob->overflow = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cdat_out msgs[OUTBOX];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX };
	struct fz f = { data, size };
	struct cdat_proto p;
	struct cdat t;
	uint64_t now = FZC_T0, version, seen = 0, max_seen = 0;
	unsigned steps = 0;
	const char *self;

	if (size > 65536 || sodium_init() < 0)
		return 0;
	FUZZ_CHECK(fzc_table(&t) == CDAT_OK);
	self = FZC_NAMES[fz_u8(&f) % FZC_NODES];
	FUZZ_CHECK(cdat_proto_init(&p, &t, self, now) == CDAT_OK);
	cdat_free(&t);

	while (f.n && steps++ < 1024) {
		uint8_t op = fz_u8(&f), type, digest[CDAT_DIGEST_LEN];
		const char *from = FZC_NAMES[op >> 2 & 3];
		const uint8_t *p8;
		uint8_t *body;
		uint16_t len;
		int rc;

		now += fz_u8(&f) * 10u;
		switch (op & 3) {
		case FZC_INPUT:
			type = fz_u8(&f);
			len = fz_u16(&f);
			len = (uint16_t)fz_bytes(&f, &p8, len);
			body = fz_dup(p8, len);
			decoders(body, len);
			rc = cdat_proto_input(&p, from, type, body, len, now, &ob);
			FUZZ_CHECK(rc <= 0 && strcmp(cdat_err_name(rc), "?") != 0);
			free(body);
			break;
		case FZC_HEARD:
			version = fz_u64(&f);
			memset(digest, 0, sizeof(digest));
			fz_bytes(&f, &p8, sizeof(digest));
			memcpy(digest, p8, (size_t)(f.p - p8));
			cdat_proto_heard(&p, from, version, digest, now);
			break;
		case FZC_TICK:
			cdat_proto_tick(&p, now, &ob);
			break;
		case FZC_OWN: {
			uint8_t ai = fz_u8(&f), prefix = fz_u8(&f);
			uint16_t mtu = fz_u16(&f);

			cdat_proto_set_own(&p, ai, prefix, mtu, "fz");
			break;
		}
		}
#ifdef FUZZ_CDAT_TOLERATE_WRAP
		/* for a campaign past the known bug (crashes/cdat-version-wrap):
		 * max_seen 2^64-1 wraps to 0 on the next proposal */
		if (max_seen == UINT64_MAX)
			seen = max_seen = 0;
#endif
		if (p.cur.version < seen || p.max_seen < max_seen)
			fprintf(stderr, "step %u (op %u from %s): version %llu -> %llu, max_seen "
				"%llu -> %llu\n", steps, op & 3u, from, (unsigned long long)seen,
				(unsigned long long)p.cur.version, (unsigned long long)max_seen,
				(unsigned long long)p.max_seen);
		FUZZ_CHECK(p.cur.version >= seen && p.max_seen >= max_seen);
		seen = p.cur.version;
		max_seen = p.max_seen;
		if (p.max_seen < p.cur.version)
			fprintf(stderr, "step %u (op %u from %s): max_seen %llu below version %llu\n",
				steps, op & 3u, from, (unsigned long long)p.max_seen,
				(unsigned long long)p.cur.version);
		FUZZ_CHECK(p.max_seen >= p.cur.version);
		check_table(&p.cur);
		check_table(&p.work);
		if (p.proposing)
			check_table(&p.prop);
		check_outbox(&p, &ob);
	}
	cdat_proto_free(&p);
	return 0;
}
