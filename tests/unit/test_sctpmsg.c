/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/sctpmsg: the TAG, GONE and ASSOC bodies (round trips
 * in both families, exact bytes, every field's bad values, reserved bytes,
 * misplaced and unknown TLVs, truncation at every byte, writers that run
 * out of room) and the coalescing set of records waiting to be
 * replicated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "sync/msg.h"
#include "sync/sctpmsg.h"
#include "sync/tlv.h"

static void ip(struct ip_addr *a, const char *s)
{
	assert_true(addr_parse(a, s));
}

static void mk_tag(struct sctp_tag *t, int family)
{
	memset(t, 0, sizeof(*t));
	t->ep = 3;
	t->family = (uint8_t)family;
	t->cport = 40001;
	t->vport = 5000;
	t->itag_c = 0x11223344u;
	t->itag_t = 0xa1b2c3d4u;
	ip(&t->client, family == AF_INET ? "198.51.100.7" : "2001:db8::7");
}

static void mk_gone(struct sctp_gone *g, int family)
{
	memset(g, 0, sizeof(*g));
	g->ep = 1;
	g->family = (uint8_t)family;
	g->cport = 40002;
	g->vport = 5000;
	g->itag_c = 0;
	g->itag_t = 0x55667788u;
}

static void mk_upd(struct sctp_upd *u, int family, uint32_t i, unsigned n_paths)
{
	static const char *const v4[] = { "198.51.100.1", "198.51.100.2", "203.0.113.3",
					  "203.0.113.4" };
	static const char *const v6[] = { "2001:db8::1", "2001:db8::2", "2001:db8:1::3",
					  "2001:db8:1::4" };

	memset(u, 0, sizeof(*u));
	u->ep = i % 3;
	u->family = (uint8_t)family;
	u->state = i % 2 ? ASSOC_CLOSED : ASSOC_EST;
	u->flags = (uint8_t)(i & SCTP_F_KNOWN);
	u->cport = (uint16_t)(30000 + i);
	u->vport = 5000;
	u->itag_c = i % 5 ? 0x1000u + i : 0;
	u->itag_t = 0x2000u + i;
	u->target = 0xdead0000u + i;
	u->n_paths = (uint8_t)n_paths;
	for (unsigned k = 0; k < n_paths; k++)
		ip(&u->paths[k], family == AF_INET ? v4[k] : v6[k]);
}

static void assert_upd_equal(const struct sctp_upd *a, const struct sctp_upd *b)
{
	assert_int_equal(a->ep, b->ep);
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->cport, b->cport);
	assert_int_equal(a->vport, b->vport);
	assert_int_equal(a->itag_c, b->itag_c);
	assert_int_equal(a->itag_t, b->itag_t);
	assert_int_equal(a->target, b->target);
	assert_int_equal(a->n_paths, b->n_paths);
	for (unsigned k = 0; k < a->n_paths; k++)
		assert_true(addr_eq(&a->paths[k], &b->paths[k]));
}

/* --- TAG and GONE --- */

static void test_tag_round_trip(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct sctp_tag t, d;
		uint8_t b[256];
		size_t n;

		mk_tag(&t, family);
		n = sctp_tag_encode(&t, b, sizeof(b));
		assert_int_equal(n, TLV_HDR_LEN + SCTP_TAG_LEN);
		memset(&d, 0xee, sizeof(d));
		assert_true(sctp_tag_decode(b, n, &d));
		assert_int_equal(d.ep, t.ep);
		assert_int_equal(d.family, family);
		assert_int_equal(d.cport, t.cport);
		assert_int_equal(d.vport, t.vport);
		assert_int_equal(d.itag_c, t.itag_c);
		assert_int_equal(d.itag_t, t.itag_t);
		assert_true(addr_eq(&d.client, &t.client));
		/* itag_c 0: the target began the association. */
		t.itag_c = 0;
		n = sctp_tag_encode(&t, b, sizeof(b));
		assert_true(sctp_tag_decode(b, n, &d));
		assert_int_equal(d.itag_c, 0);
		/* Not a GONE, and not an ASSOC body. */
		struct sctp_gone g;

		assert_false(sctp_gone_decode(b, n, &g));
		assert_int_equal(sctp_assoc_decode(b, n, NULL, NULL), SCTP_ERR_FORMAT);
	}
}

static void test_tag_bytes(void **state)
{
	struct sctp_tag t;
	uint8_t b[64];
	static const uint8_t want[] = {
		0x05, 0x00, 0x00, 36,			/* TLV header */
		0, 0, 0, 3,				/* ep */
		4, 0, 0x9c, 0x41, 0x13, 0x88, 0, 0,	/* family, ports */
		0x11, 0x22, 0x33, 0x44, 0xa1, 0xb2, 0xc3, 0xd4,
		198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};

	(void)state;
	mk_tag(&t, AF_INET);
	assert_int_equal(sctp_tag_encode(&t, b, sizeof(b)), sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

static void test_tag_refused(void **state)
{
	struct sctp_tag t, bad, d;
	uint8_t b[128], c[128];
	size_t n;

	(void)state;
	mk_tag(&t, AF_INET);
	n = sctp_tag_encode(&t, b, sizeof(b));
	/* Encoder: invalid fields, no room. */
	bad = t; bad.family = 0; assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	bad = t; bad.cport = 0; assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	bad = t; bad.vport = 0; assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	bad = t; bad.itag_t = 0; assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	bad = t; memset(&bad.client, 0, sizeof(bad.client));
	assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	bad = t; bad.client.family = AF_INET6;
	assert_int_equal(sctp_tag_encode(&bad, c, sizeof(c)), 0);
	assert_int_equal(sctp_tag_encode(&t, c, n - 1), 0);
	assert_int_equal(sctp_tag_encode(NULL, c, sizeof(c)), 0);
	assert_int_equal(sctp_tag_encode(&t, NULL, sizeof(c)), 0);

	/* Decoder: each bad byte (the header is at 0..3, the value at 4). */
	struct { size_t off; uint8_t val; } cases[] = {
		{ 4 + 4, 5 },		/* family */
		{ 4 + 4, 0 },
		{ 4 + 5, 1 },		/* reserved */
		{ 4 + 10, 1 },		/* reserved */
		{ 4 + 11, 1 },
		{ 4 + 24, 1 },		/* v4 tail */
		{ 4 + 35, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(c, b, n);
		c[cases[i].off] = cases[i].val;
		assert_false(sctp_tag_decode(c, n, &d));
	}
	/* Zero fields: ports, itag_t, address. */
	size_t zeros[][2] = { { 4 + 6, 2 }, { 4 + 8, 2 }, { 4 + 16, 4 }, { 4 + 20, 16 } };
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		memcpy(c, b, n);
		memset(c + zeros[i][0], 0, zeros[i][1]);
		assert_false(sctp_tag_decode(c, n, &d));
	}
	/* Family 6 with a v4-length address is an all-but-zero v6 address:
	 * valid; family 6 of an all-zero address is not. */
	memcpy(c, b, n);
	c[4 + 4] = 6;
	assert_true(sctp_tag_decode(c, n, &d));
	assert_int_equal(d.family, AF_INET6);
	/* Wrong length: a TLV of 32 or 40 bytes. */
	{
		struct tlv_writer w;
		uint8_t v[40] = { 0 };

		memcpy(v, b + 4, SCTP_TAG_LEN);
		tlv_writer_init(&w, c, sizeof(c));
		assert_true(tlv_put(&w, SCTP_TLV_TAG, v, 32));
		assert_false(sctp_tag_decode(c, w.len, &d));
		tlv_writer_init(&w, c, sizeof(c));
		assert_true(tlv_put(&w, SCTP_TLV_TAG, v, 40));
		assert_false(sctp_tag_decode(c, w.len, &d));
	}
	/* Two TAGs; a TAG and a GONE; none. */
	memcpy(c, b, n);
	memcpy(c + n, b, n);
	assert_false(sctp_tag_decode(c, 2 * n, &d));
	{
		struct sctp_gone g;
		size_t m;

		mk_gone(&g, AF_INET);
		memcpy(c, b, n);
		m = sctp_gone_encode(&g, c + n, sizeof(c) - n);
		assert_true(m > 0);
		assert_false(sctp_tag_decode(c, n + m, &d));
	}
	assert_false(sctp_tag_decode(c, 0, &d));
	assert_false(sctp_tag_decode(NULL, 0, &d));
	assert_false(sctp_tag_decode(b, n, NULL));
	/* An unknown TLV and the reliable channel's SEQ before it: skipped. */
	{
		struct tlv_writer w;
		uint8_t z[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		tlv_writer_init(&w, c, sizeof(c));
		assert_true(tlv_put(&w, REL_TLV_SEQ, z, 8));
		assert_true(tlv_put(&w, 0x5ff, z, 3));
		assert_true(tlv_put_tlvs(&w, b, n));
		assert_true(tlv_put(&w, 0x7777, NULL, 0));
		assert_true(sctp_tag_decode(c, w.len, &d));
		assert_int_equal(d.itag_t, t.itag_t);
	}
}

static void test_gone(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct sctp_gone g, d, bad;
		uint8_t b[128], c[128];
		size_t n;

		mk_gone(&g, family);
		n = sctp_gone_encode(&g, b, sizeof(b));
		assert_int_equal(n, TLV_HDR_LEN + SCTP_GONE_LEN);
		assert_true(sctp_gone_decode(b, n, &d));
		assert_int_equal(d.ep, g.ep);
		assert_int_equal(d.family, family);
		assert_int_equal(d.cport, g.cport);
		assert_int_equal(d.vport, g.vport);
		assert_int_equal(d.itag_c, 0);
		assert_int_equal(d.itag_t, g.itag_t);
		/* Either tag alone. */
		g.itag_c = 9;
		g.itag_t = 0;
		n = sctp_gone_encode(&g, b, sizeof(b));
		assert_true(sctp_gone_decode(b, n, &d));
		assert_int_equal(d.itag_c, 9);
		assert_int_equal(d.itag_t, 0);
		/* Neither: refused both ways. */
		bad = g;
		bad.itag_c = 0;
		assert_int_equal(sctp_gone_encode(&bad, c, sizeof(c)), 0);
		memcpy(c, b, n);
		memset(c + 4 + 12, 0, 4);
		assert_false(sctp_gone_decode(c, n, &d));
		bad = g; bad.family = 99; assert_int_equal(sctp_gone_encode(&bad, c, sizeof(c)), 0);
		bad = g; bad.cport = 0; assert_int_equal(sctp_gone_encode(&bad, c, sizeof(c)), 0);
		/* Reserved bytes, family byte. */
		size_t offs[] = { 4 + 5, 4 + 10, 4 + 11 };
		for (size_t i = 0; i < 3; i++) {
			memcpy(c, b, n);
			c[offs[i]] = 0x80;
			assert_false(sctp_gone_decode(c, n, &d));
		}
		memcpy(c, b, n);
		c[4 + 4] = 41;
		assert_false(sctp_gone_decode(c, n, &d));
		/* Not a TAG. */
		struct sctp_tag t;

		assert_false(sctp_tag_decode(b, n, &t));
	}
}

/* Every truncation of a one-TLV body is refused. */
static void test_truncation_single(void **state)
{
	struct sctp_tag t, dt;
	struct sctp_gone g, dg;
	uint8_t b[128], c[128];
	size_t n, m;

	(void)state;
	mk_tag(&t, AF_INET6);
	mk_gone(&g, AF_INET6);
	n = sctp_tag_encode(&t, b, sizeof(b));
	for (size_t k = 0; k < n; k++) {
		memcpy(c, b, k);
		assert_false(sctp_tag_decode(c, k, &dt));
	}
	m = sctp_gone_encode(&g, b, sizeof(b));
	for (size_t k = 0; k < m; k++) {
		memcpy(c, b, k);
		assert_false(sctp_gone_decode(c, k, &dg));
	}
}

/* --- ASSOC bodies --- */

struct got {
	struct sctp_rec r[64];
	size_t n;
};

static int collect(const struct sctp_rec *r, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < 64);
	g->r[g->n++] = *r;
	return 0;
}

static size_t mk_body(uint8_t *buf, size_t cap, int family)
{
	struct sctp_writer w;
	struct sctp_upd u;
	struct sctp_del x = { .ep = 2, .cport = 1234, .vport = 5000, .itag_t = 0xfeedu };

	sctp_writer_init(&w, buf, cap);
	assert_true(sctp_put_bulk_begin(&w, 77));
	for (unsigned i = 0; i <= ASSOC_PATHS; i++) {
		mk_upd(&u, family, i, i);
		assert_true(sctp_put_update(&w, &u));
	}
	assert_true(sctp_put_delete(&w, &x));
	assert_true(sctp_put_bulk_end(&w, 77, ASSOC_PATHS + 1));
	assert_int_equal(w.n, ASSOC_PATHS + 4);
	assert_int_equal(w.err, SCTP_OK);
	return w.tlv.len;
}

static void test_assoc_round_trip(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		uint8_t b[1400];
		size_t n = mk_body(b, sizeof(b), family);
		struct got g = { .n = 0 };
		struct sctp_upd u;

		assert_int_equal(sctp_assoc_decode(b, n, NULL, NULL), ASSOC_PATHS + 4);
		assert_int_equal(sctp_assoc_decode(b, n, collect, &g), ASSOC_PATHS + 4);
		assert_int_equal(g.n, ASSOC_PATHS + 4);
		assert_int_equal(g.r[0].type, SCTP_TLV_BULK_BEGIN);
		assert_int_equal(g.r[0].bulk.id, 77);
		for (unsigned i = 0; i <= ASSOC_PATHS; i++) {
			assert_int_equal(g.r[1 + i].type, SCTP_TLV_UPDATE);
			mk_upd(&u, family, i, i);
			assert_upd_equal(&g.r[1 + i].upd, &u);
		}
		assert_int_equal(g.r[ASSOC_PATHS + 2].type, SCTP_TLV_DELETE);
		assert_int_equal(g.r[ASSOC_PATHS + 2].del.ep, 2);
		assert_int_equal(g.r[ASSOC_PATHS + 2].del.cport, 1234);
		assert_int_equal(g.r[ASSOC_PATHS + 2].del.vport, 5000);
		assert_int_equal(g.r[ASSOC_PATHS + 2].del.itag_t, 0xfeedu);
		assert_int_equal(g.r[ASSOC_PATHS + 3].type, SCTP_TLV_BULK_END);
		assert_int_equal(g.r[ASSOC_PATHS + 3].bulk.id, 77);
		assert_int_equal(g.r[ASSOC_PATHS + 3].bulk.count, ASSOC_PATHS + 1);
	}
	/* An empty body holds no records; NULL with a length is bad. */
	assert_int_equal(sctp_assoc_decode((const uint8_t *)"", 0, NULL, NULL), 0);
	assert_int_equal(sctp_assoc_decode(NULL, 0, NULL, NULL), 0);
	assert_int_equal(sctp_assoc_decode(NULL, 4, NULL, NULL), SCTP_ERR_INVAL);
}

static void test_assoc_bytes(void **state)
{
	struct sctp_writer w;
	struct sctp_upd u;
	uint8_t b[128];
	static const uint8_t want[] = {
		0x05, 0x02, 0x00, 40,
		0, 0, 0, 1,		/* ep */
		4, ASSOC_CLOSED, 0x75, 0x31, 0x13, 0x88,	/* family, state, ports */
		0x01, 1,		/* flags, n_paths */
		0, 0, 0x10, 0x01, 0, 0, 0x20, 0x01,	/* tags */
		0xde, 0xad, 0, 1,	/* target */
		198, 51, 100, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x05, 0x03, 0x00, 16,
		0, 0, 0, 2, 0, 0, 0x04, 0xd2, 0x13, 0x88, 0, 0, 0, 0, 0xfe, 0xed,
	};
	struct sctp_del x = { .ep = 2, .cport = 1234, .vport = 5000, .itag_t = 0xfeedu };

	(void)state;
	mk_upd(&u, AF_INET, 1, 1);
	sctp_writer_init(&w, b, sizeof(b));
	assert_true(sctp_put_update(&w, &u));
	assert_true(sctp_put_delete(&w, &x));
	assert_int_equal(w.tlv.len, sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
}

/* Encodes one UPDATE, alters byte off (value at 4) to val, expects refusal. */
static void upd_refused_at(size_t off, uint8_t val, unsigned n_paths)
{
	struct sctp_writer w;
	struct sctp_upd u;
	uint8_t b[256];

	mk_upd(&u, AF_INET, 2, n_paths);
	sctp_writer_init(&w, b, sizeof(b));
	assert_true(sctp_put_update(&w, &u));
	assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL), 1);
	b[4 + off] = val;
	assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL), SCTP_ERR_FORMAT);
}

static void test_assoc_refused(void **state)
{
	struct sctp_writer w;
	struct sctp_upd u, bad;
	struct sctp_del x = { .ep = 0, .cport = 1, .vport = 2, .itag_t = 3 }, xb;
	uint8_t b[512];

	(void)state;
	upd_refused_at(4, 5, 2);		/* family */
	upd_refused_at(5, ASSOC_INIT, 2);	/* state */
	upd_refused_at(5, ASSOC_FREE, 2);
	upd_refused_at(5, 9, 2);
	upd_refused_at(10, 0x20, 2);		/* unknown flag */
	upd_refused_at(10, 0x80, 2);
	upd_refused_at(11, 3, 2);		/* n_paths against the length */
	upd_refused_at(11, 1, 2);
	upd_refused_at(11, ASSOC_PATHS + 1, 2);
	upd_refused_at(28, 1, 2);		/* v4 tail of a path */
	/* The second path equal to the first. */
	{
		mk_upd(&u, AF_INET, 2, 2);
		sctp_writer_init(&w, b, sizeof(b));
		assert_true(sctp_put_update(&w, &u));
		memcpy(b + 4 + 24 + 16, b + 4 + 24, 16);
		assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL), SCTP_ERR_FORMAT);
	}
	/* Zero fields: ports, itag_t, a path. */
	{
		size_t zeros[][2] = { { 6, 2 }, { 8, 2 }, { 16, 4 }, { 24, 16 }, { 40, 16 } };

		for (size_t i = 0; i < 5; i++) {
			mk_upd(&u, AF_INET6, 2, 2);
			sctp_writer_init(&w, b, sizeof(b));
			assert_true(sctp_put_update(&w, &u));
			memset(b + 4 + zeros[i][0], 0, zeros[i][1]);
			assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL),
					 SCTP_ERR_FORMAT);
		}
	}
	/* The writer refuses what the decoder would, and stays usable. */
	mk_upd(&u, AF_INET, 2, 2);
	sctp_writer_init(&w, b, sizeof(b));
	bad = u; bad.itag_t = 0; assert_false(sctp_put_update(&w, &bad));
	assert_int_equal(w.err, SCTP_ERR_INVAL);
	bad = u; bad.state = ASSOC_INIT; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.flags = 0x40; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.n_paths = ASSOC_PATHS + 1; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.paths[1] = bad.paths[0]; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.paths[1].family = AF_INET6; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.family = AF_INET6; assert_false(sctp_put_update(&w, &bad));
	bad = u; bad.vport = 0; assert_false(sctp_put_update(&w, &bad));
	xb = x; xb.itag_t = 0; assert_false(sctp_put_delete(&w, &xb));
	xb = x; xb.cport = 0; assert_false(sctp_put_delete(&w, &xb));
	assert_int_equal(w.n, 0);
	assert_int_equal(w.tlv.len, 0);
	assert_true(sctp_put_update(&w, &u));
	assert_true(sctp_put_delete(&w, &x));
	assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL), 2);
	/* DELETE: reserved bytes, zero fields, length. */
	{
		size_t off[] = { 4, 5, 10, 11 };
		size_t at = tlv_space(SCTP_UPDATE_LEN + 2 * SCTP_PATH_LEN);	/* the DELETE */
		uint8_t c[512];

		for (size_t i = 0; i < 4; i++) {
			memcpy(c, b, w.tlv.len);
			c[at + 4 + off[i]] = 1;
			assert_int_equal(sctp_assoc_decode(c, w.tlv.len, NULL, NULL),
					 SCTP_ERR_FORMAT);
		}
		memcpy(c, b, w.tlv.len);
		memset(c + at + 4 + 12, 0, 4);
		assert_int_equal(sctp_assoc_decode(c, w.tlv.len, NULL, NULL), SCTP_ERR_FORMAT);
	}
	/* Wrong sizes of every record type; a TAG or GONE inside. */
	{
		uint16_t types[] = { SCTP_TLV_UPDATE, SCTP_TLV_DELETE, SCTP_TLV_BULK_BEGIN,
				     SCTP_TLV_BULK_END, SCTP_TLV_TAG, SCTP_TLV_GONE };
		size_t lens[] = { SCTP_UPDATE_LEN - 4, SCTP_DELETE_LEN + 4, 8, 4, SCTP_TAG_LEN,
				  SCTP_GONE_LEN };
		uint8_t v[64] = { 0 };

		for (size_t i = 0; i < 6; i++) {
			struct tlv_writer tw;

			tlv_writer_init(&tw, b, sizeof(b));
			assert_true(tlv_put(&tw, types[i], v, lens[i]));
			assert_int_equal(sctp_assoc_decode(b, tw.len, NULL, NULL),
					 SCTP_ERR_FORMAT);
		}
		/* Bad framing. */
		assert_int_equal(sctp_assoc_decode(b, 3, NULL, NULL), SCTP_ERR_TLV);
	}
}

/* A bad record after good ones: nothing is delivered. */
static void test_assoc_all_or_nothing(void **state)
{
	uint8_t b[1400];
	size_t n;
	struct got g = { .n = 0 };
	struct sctp_writer w;
	struct sctp_upd u;

	(void)state;
	n = mk_body(b, sizeof(b), AF_INET);
	/* A good body, then an UPDATE in state INIT. */
	sctp_writer_init(&w, b + n, sizeof(b) - n);
	mk_upd(&u, AF_INET, 7, 1);
	assert_true(sctp_put_update(&w, &u));
	b[n + 4 + 5] = ASSOC_INIT;
	assert_int_equal(sctp_assoc_decode(b, n + w.tlv.len, collect, &g), SCTP_ERR_FORMAT);
	assert_int_equal(g.n, 0);
}

static int stop_at_two(const struct sctp_rec *r, void *arg)
{
	size_t *n = arg;

	(void)r;
	return ++*n == 2 ? -42 : 0;
}

static void test_assoc_cb_stops(void **state)
{
	uint8_t b[1400];
	size_t n = mk_body(b, sizeof(b), AF_INET6), seen = 0;

	(void)state;
	assert_int_equal(sctp_assoc_decode(b, n, stop_at_two, &seen), -42);
	assert_int_equal(seen, 2);
}

/* Every truncation: refused unless it ends at a record boundary (then the
 * records before it, exactly). */
static void test_assoc_truncation(void **state)
{
	uint8_t b[1400], c[1400];
	size_t n = mk_body(b, sizeof(b), AF_INET6);
	size_t bounds[16], nb = 0, off = 0;

	(void)state;
	bounds[nb++] = 0;
	while (off < n) {
		off += tlv_space(be_get16(b + off + 2));
		bounds[nb++] = off;
	}
	assert_int_equal(off, n);
	for (size_t k = 0; k < n; k++) {
		int r, want = -1;

		memcpy(c, b, k);
		for (size_t i = 0; i < nb; i++)
			if (bounds[i] == k)
				want = (int)i;
		r = sctp_assoc_decode(c, k, NULL, NULL);
		if (want >= 0)
			assert_int_equal(r, want);
		else
			assert_true(r < 0);
	}
}

/* The writer at every capacity: never past cap, records whole. */
static void test_writer_room(void **state)
{
	uint8_t b[1400], ref[1400];
	size_t full = mk_body(ref, sizeof(ref), AF_INET);

	(void)state;
	for (size_t cap = 0; cap <= full; cap++) {
		struct sctp_writer w;
		struct sctp_upd u;
		unsigned put = 0;

		memset(b, 0xaa, sizeof(b));
		sctp_writer_init(&w, b, cap);
		put += sctp_put_bulk_begin(&w, 77);
		for (unsigned i = 0; i <= ASSOC_PATHS; i++) {
			mk_upd(&u, AF_INET, i, i);
			put += sctp_put_update(&w, &u);
		}
		assert_true(w.tlv.len <= cap);
		assert_int_equal(b[cap], 0xaa);
		assert_int_equal(w.err, SCTP_OK);
		assert_int_equal(w.n, put);
		assert_int_equal(sctp_assoc_decode(b, w.tlv.len, NULL, NULL), (int)put);
	}
}

/* --- the coalescing set --- */

static struct sctp_rec rec_upd(uint32_t i, uint8_t state)
{
	struct sctp_rec r;

	memset(&r, 0, sizeof(r));
	r.type = SCTP_TLV_UPDATE;
	mk_upd(&r.upd, AF_INET, i, 1);
	r.upd.state = state;
	return r;
}

static struct sctp_rec rec_del(uint32_t i)
{
	struct sctp_rec r, u = rec_upd(i, ASSOC_EST);

	memset(&r, 0, sizeof(r));
	r.type = SCTP_TLV_DELETE;
	r.del.ep = u.upd.ep;
	r.del.cport = u.upd.cport;
	r.del.vport = u.upd.vport;
	r.del.itag_t = u.upd.itag_t;
	return r;
}

static void test_pend_coalesce(void **state)
{
	struct sctp_pend *p = sctp_pend_new(8);
	struct sctp_rec r;

	(void)state;
	assert_non_null(p);
	r = rec_upd(1, ASSOC_EST);
	assert_int_equal(sctp_pend_put(p, &r), 1);
	r = rec_upd(2, ASSOC_EST);
	assert_int_equal(sctp_pend_put(p, &r), 1);
	/* A newer state of 1: in place, the order kept. */
	r = rec_upd(1, ASSOC_CLOSED);
	r.upd.n_paths = 2;
	ip(&r.upd.paths[1], "192.0.2.9");
	assert_int_equal(sctp_pend_put(p, &r), 0);
	assert_int_equal(sctp_pend_count(p), 2);
	assert_int_equal(sctp_pend_get(p, 0)->upd.cport, 30001);
	assert_int_equal(sctp_pend_get(p, 0)->upd.state, ASSOC_CLOSED);
	assert_int_equal(sctp_pend_get(p, 0)->upd.n_paths, 2);
	assert_int_equal(sctp_pend_get(p, 1)->upd.cport, 30002);
	/* A DELETE replaces the UPDATE of its association, and back. */
	r = rec_del(2);
	assert_int_equal(sctp_pend_put(p, &r), 0);
	assert_int_equal(sctp_pend_get(p, 1)->type, SCTP_TLV_DELETE);
	r = rec_upd(2, ASSOC_EST);
	assert_int_equal(sctp_pend_put(p, &r), 0);
	assert_int_equal(sctp_pend_get(p, 1)->type, SCTP_TLV_UPDATE);
	/* Another itag_t of the same ports is another association. */
	r = rec_upd(2, ASSOC_EST);
	r.upd.itag_t ^= 0x100000;
	assert_int_equal(sctp_pend_put(p, &r), 1);
	/* Another ep too. */
	r = rec_upd(2, ASSOC_EST);
	r.upd.ep += 7;
	assert_int_equal(sctp_pend_put(p, &r), 1);
	assert_int_equal(sctp_pend_count(p), 4);
	assert_null(sctp_pend_get(p, 4));
	/* Bad records. */
	r = rec_upd(3, ASSOC_INIT);
	assert_int_equal(sctp_pend_put(p, &r), SCTP_ERR_INVAL);
	r = rec_del(3);
	r.del.itag_t = 0;
	assert_int_equal(sctp_pend_put(p, &r), SCTP_ERR_INVAL);
	r.type = SCTP_TLV_BULK_BEGIN;
	assert_int_equal(sctp_pend_put(p, &r), SCTP_ERR_INVAL);
	assert_int_equal(sctp_pend_count(p), 4);
	sctp_pend_free(p);
	assert_null(sctp_pend_new(0));
	assert_null(sctp_pend_new(SCTP_PEND_MAX + 1));
	sctp_pend_free(NULL);
}

static void test_pend_full_and_clear(void **state)
{
	struct sctp_pend *p = sctp_pend_new(100);
	struct sctp_rec r;

	(void)state;
	assert_non_null(p);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 100; i++) {
			r = rec_upd(i, ASSOC_EST);
			assert_int_equal(sctp_pend_put(p, &r), 1);
		}
		r = rec_upd(100, ASSOC_EST);
		assert_int_equal(sctp_pend_put(p, &r), -ENOSPC);
		/* Full, but a waiting association still coalesces. */
		r = rec_del(42);
		assert_int_equal(sctp_pend_put(p, &r), 0);
		assert_int_equal(sctp_pend_count(p), 100);
		for (uint32_t i = 0; i < 100; i++)
			assert_int_equal(sctp_pend_get(p, i)->type,
					 i == 42 ? SCTP_TLV_DELETE : SCTP_TLV_UPDATE);
		sctp_pend_clear(p);
		assert_int_equal(sctp_pend_count(p), 0);
		/* Cleared means forgotten: the same records are new again. */
		if (round == 1) {
			/* A small set clears slot by slot. */
			for (uint32_t i = 0; i < 5; i++) {
				r = rec_upd(i, ASSOC_EST);
				assert_int_equal(sctp_pend_put(p, &r), 1);
			}
			sctp_pend_clear(p);
			for (uint32_t i = 0; i < 5; i++) {
				r = rec_upd(i, ASSOC_EST);
				assert_int_equal(sctp_pend_put(p, &r), 1);
			}
			assert_int_equal(sctp_pend_count(p), 5);
			sctp_pend_clear(p);
		}
	}
	sctp_pend_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_round_trip),
		cmocka_unit_test(test_tag_bytes),
		cmocka_unit_test(test_tag_refused),
		cmocka_unit_test(test_gone),
		cmocka_unit_test(test_truncation_single),
		cmocka_unit_test(test_assoc_round_trip),
		cmocka_unit_test(test_assoc_bytes),
		cmocka_unit_test(test_assoc_refused),
		cmocka_unit_test(test_assoc_all_or_nothing),
		cmocka_unit_test(test_assoc_cb_stops),
		cmocka_unit_test(test_assoc_truncation),
		cmocka_unit_test(test_writer_room),
		cmocka_unit_test(test_pend_coalesce),
		cmocka_unit_test(test_pend_full_and_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
