/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/repl: record encoding (exact bytes written out by
 * hand from the layout in repl.h), round trips, a body filled to the brim,
 * strict rejection, the replica store (updates, bulk mark-and-sweep,
 * take, a 100k-entry store), and handoff entries (a CONN and its HOFF:
 * both or neither, missing or orphaned HOFF refused, kept by the store). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/conn.h"
#include "sync/repl.h"
#include "sync/wire.h"

#define ORIG_A 0x0a0a0a0au
#define ORIG_B 0x0b0b0b0bu

static void ip(struct ip_addr *a, const char *s)
{
	assert_true(addr_parse(a, s));
}

/* A connection of that family and protocol, varied by i. */
static void mk_conn(struct repl_conn *c, int family, uint8_t proto, uint32_t i)
{
	struct ip_addr ca, va;
	char s[64];

	memset(c, 0, sizeof(*c));
	if (family == AF_INET) {
		snprintf(s, sizeof(s), "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff,
			 (i & 0xff) | 1);
		ip(&ca, s);
		ip(&va, "192.0.2.100");
		ip(&c->taddr, "10.2.0.21");
	} else {
		snprintf(s, sizeof(s), "2001:db8::%x:%x", (i >> 16) & 0xffff, (i & 0xffff) | 1);
		ip(&ca, s);
		ip(&va, "2001:db8:100::1");
		ip(&c->taddr, "fd00::21");
	}
	conn_key_set(&c->key, proto, &ca, (uint16_t)(1024 + (i % 60000)), &va, 80);
	c->tport = 8080;
	c->target = 0x11223344u + i;
	c->state = proto == IPPROTO_TCP ? CONN_EST : CONN_UDP;
	c->flags = 0;
}

static void assert_conn_equal(const struct repl_conn *a, const struct repl_conn *b)
{
	assert_true(conn_key_eq(&a->key, &b->key));
	assert_int_equal(a->key.family, b->key.family);
	assert_true(addr_eq(&a->taddr, &b->taddr));
	assert_int_equal(a->tport, b->tport);
	assert_int_equal(a->target, b->target);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->hoff.role, b->hoff.role);
	assert_int_equal(a->hoff.id, b->hoff.id);
	assert_int_equal(a->hoff.delta, b->hoff.delta);
	assert_int_equal(a->hoff.tsoff, b->hoff.tsoff);
	assert_int_equal(a->hoff.peer, b->hoff.peer);
	assert_int_equal(a->hoff.flags, b->hoff.flags);
	assert_int_equal(a->hoff.ws_t, b->hoff.ws_t);
	assert_int_equal(a->hoff.ws_f, b->hoff.ws_f);
}

/* Collects decoded records. */
struct sink {
	struct repl_rec r[64];
	int n;
};

static int collect(const struct repl_rec *r, void *arg)
{
	struct sink *s = arg;

	assert_true(s->n < 64);
	s->r[s->n++] = *r;
	return 0;
}

/* --- exact bytes --- */

static const uint8_t kat_conn_v4[4 + REPL_CONN_LEN] = {
	0x03, 0x00, 0x00, 0x40,			/* type 0x300, len 64 */
	4, 6, CONN_FIN, 0x80,			/* family, tcp, state, flags (unknown: kept) */
	0xc3, 0x50, 0x00, 0x50,			/* cport 50000, vport 80 */
	198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x1f, 0x90, 0x00, 0x00,			/* tport 8080, reserved */
	0xde, 0xad, 0xbe, 0xef,			/* target node */
};

static const uint8_t kat_del_v6[4 + REPL_DEL_LEN] = {
	0x03, 0x01, 0x00, 0x28,			/* type 0x301, len 40 */
	6, 17, 0, 0,				/* family, udp, reserved */
	0x00, 0x35, 0x00, 0x35,			/* cport 53, vport 53 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
	0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
};

static const uint8_t kat_bulk[] = {
	0x03, 0x02, 0x00, 0x04, 0x00, 0x00, 0x01, 0x02,			/* BEGIN 258 */
	0x03, 0x03, 0x00, 0x08, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00,	/* END 258, 65536 */
	0x03, 0x04, 0x00, 0x14, 4, 0, 0, 0, 10, 2, 0, 100,		/* VIPA 10.2.0.100 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_exact_bytes(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	struct conn_key k;
	struct ip_addr ca, va;
	struct ip_addr vipa;
	uint8_t buf[REPL_BODY_MAX];

	memset(&c, 0, sizeof(c));
	ip(&ca, "198.51.100.7");
	ip(&va, "10.2.0.100");
	conn_key_set(&c.key, IPPROTO_TCP, &ca, 50000, &va, 80);
	ip(&c.taddr, "10.2.0.22");
	c.tport = 8080;
	c.target = 0xdeadbeef;
	c.state = CONN_FIN;
	c.flags = 0x80;
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_conn(&w, &c));
	assert_int_equal(w.tlv.len, sizeof(kat_conn_v4));
	assert_memory_equal(buf, kat_conn_v4, sizeof(kat_conn_v4));

	ip(&ca, "2001:db8::5");
	ip(&va, "fd00::100");
	conn_key_set(&k, IPPROTO_UDP, &ca, 53, &va, 53);
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_del(&w, &k));
	assert_int_equal(w.tlv.len, sizeof(kat_del_v6));
	assert_memory_equal(buf, kat_del_v6, sizeof(kat_del_v6));

	repl_writer_init(&w, buf, sizeof(buf));
	ip(&vipa, "10.2.0.100");
	assert_true(repl_put_bulk_begin(&w, 258));
	assert_true(repl_put_bulk_end(&w, 258, 65536));
	assert_true(repl_put_vipa(&w, &vipa));
	assert_int_equal(w.n, 3);
	assert_int_equal(w.tlv.len, sizeof(kat_bulk));
	assert_memory_equal(buf, kat_bulk, sizeof(kat_bulk));
}

static void test_decode_kat(void **state)
{
	struct sink s = { .n = 0 };
	struct ip_addr a;

	assert_int_equal(repl_decode(kat_conn_v4, sizeof(kat_conn_v4), collect, &s), 1);
	assert_int_equal(s.r[0].type, REPL_TLV_CONN);
	assert_int_equal(s.r[0].conn.key.family, AF_INET);
	assert_int_equal(s.r[0].conn.key.proto, IPPROTO_TCP);
	assert_int_equal(s.r[0].conn.key.cport, 50000);
	assert_int_equal(s.r[0].conn.key.vport, 80);
	ip(&a, "198.51.100.7");
	assert_true(addr_eq(&s.r[0].conn.key.caddr, &a));
	ip(&a, "10.2.0.100");
	assert_true(addr_eq(&s.r[0].conn.key.vaddr, &a));
	ip(&a, "10.2.0.22");
	assert_true(addr_eq(&s.r[0].conn.taddr, &a));
	assert_int_equal(s.r[0].conn.tport, 8080);
	assert_int_equal(s.r[0].conn.target, 0xdeadbeef);
	assert_int_equal(s.r[0].conn.state, CONN_FIN);
	assert_int_equal(s.r[0].conn.flags, 0x80);
	assert_int_equal(s.r[0].conn.hoff.role, CONN_HOFF_NONE);

	s.n = 0;
	assert_int_equal(repl_decode(kat_del_v6, sizeof(kat_del_v6), collect, &s), 1);
	assert_int_equal(s.r[0].type, REPL_TLV_DEL);
	assert_int_equal(s.r[0].key.family, AF_INET6);
	assert_int_equal(s.r[0].key.proto, IPPROTO_UDP);
	assert_int_equal(s.r[0].key.cport, 53);
	ip(&a, "fd00::100");
	assert_true(addr_eq(&s.r[0].key.vaddr, &a));

	s.n = 0;
	assert_int_equal(repl_decode(kat_bulk, sizeof(kat_bulk), collect, &s), 3);
	assert_int_equal(s.r[0].type, REPL_TLV_BULK_BEGIN);
	assert_int_equal(s.r[0].bulk.id, 258);
	assert_int_equal(s.r[1].type, REPL_TLV_BULK_END);
	assert_int_equal(s.r[1].bulk.id, 258);
	assert_int_equal(s.r[1].bulk.count, 65536);
	assert_int_equal(s.r[2].type, REPL_TLV_VIPA);
	ip(&a, "10.2.0.100");
	assert_true(addr_eq(&s.r[2].vipa, &a));
}

/* --- round trips --- */

static void test_round_trip_all(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	static const uint8_t tcp_states[] = { CONN_SYN, CONN_EST, CONN_FIN, CONN_CLOSED };
	static const int fams[] = { AF_INET, AF_INET6 };
	struct repl_conn want[32];
	struct repl_writer w;
	struct sink s = { .n = 0 };
	uint8_t buf[REPL_BODY_MAX];
	int n = 0;

	repl_writer_init(&w, buf, sizeof(buf));
	for (size_t f = 0; f < 2; f++) {
		for (size_t p = 0; p < 3; p++) {
			size_t ns = protos[p] == IPPROTO_TCP ? 4 : 1;

			for (size_t st = 0; st < ns; st++) {
				mk_conn(&want[n], fams[f], protos[p], (uint32_t)(n * 977 + 3));
				want[n].state = protos[p] == IPPROTO_TCP ? tcp_states[st]
									 : CONN_UDP;
				/* unknown bits kept (REPL_F_HANDOFF is the role's) */
				want[n].flags = (uint8_t)(n * 37) & ~REPL_F_HANDOFF;
				want[n].tport = (uint16_t)(65535 - n);
				assert_true(repl_put_conn(&w, &want[n]));
				n++;
			}
		}
	}
	assert_int_equal(n, 12);
	assert_int_equal(w.n, 12);
	assert_int_equal(w.tlv.len, 12 * (4 + REPL_CONN_LEN));
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 12);
	assert_int_equal(s.n, 12);
	for (int i = 0; i < n; i++) {
		assert_int_equal(s.r[i].type, REPL_TLV_CONN);
		assert_conn_equal(&s.r[i].conn, &want[i]);
	}

	/* DELs of the same keys, v4 and v6. */
	repl_writer_init(&w, buf, sizeof(buf));
	for (int i = 0; i < n; i++)
		assert_true(repl_put_del(&w, &want[i].key));
	s.n = 0;
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 12);
	for (int i = 0; i < n; i++) {
		assert_int_equal(s.r[i].type, REPL_TLV_DEL);
		assert_true(conn_key_eq(&s.r[i].key, &want[i].key));
		assert_int_equal(s.r[i].key.proto, want[i].key.proto);
	}
}

/* Filled until the writer refuses: 19 CONNs (68 bytes each, 1292 of the
 * 1320 usable), then a BULK_END (12) and two BULK_BEGINs (8): 1320. */
static void test_brim(void **state)
{
	struct repl_conn want[32], c;
	struct repl_writer w;
	struct sink s = { .n = 0 };
	uint8_t buf[REPL_BODY_MAX + 64];
	int n = 0;

	memset(buf, 0xee, sizeof(buf));
	repl_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(w.tlv.cap, REPL_BODY_MAX);
	for (;;) {
		mk_conn(&c, n % 2 ? AF_INET6 : AF_INET, IPPROTO_TCP, (uint32_t)n);
		if (!repl_put_conn(&w, &c))
			break;
		want[n++] = c;
	}
	assert_int_equal(w.err, REPL_OK);
	assert_int_equal(n, 19);
	assert_int_equal(w.tlv.len, 19 * 68);
	assert_false(repl_put_del(&w, &c.key));		/* 44 > 28 */
	assert_int_equal(w.err, REPL_OK);
	assert_true(repl_put_bulk_end(&w, 7, 19));
	assert_true(repl_put_bulk_begin(&w, 8));
	assert_true(repl_put_bulk_begin(&w, 9));
	assert_false(repl_put_bulk_begin(&w, 10));
	assert_int_equal(w.tlv.len, 1320);
	assert_true(w.tlv.len <= REPL_BODY_MAX);
	assert_int_equal(w.n, 22);
	/* Nothing written past the body. */
	for (size_t i = w.tlv.len; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);

	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 22);
	for (int i = 0; i < 19; i++)
		assert_conn_equal(&s.r[i].conn, &want[i]);
	assert_int_equal(s.r[19].type, REPL_TLV_BULK_END);
	assert_int_equal(s.r[19].bulk.id, 7);
	assert_int_equal(s.r[19].bulk.count, 19);
	assert_int_equal(s.r[20].type, REPL_TLV_BULK_BEGIN);
	assert_int_equal(s.r[20].bulk.id, 8);
	assert_int_equal(s.r[21].bulk.id, 9);
}

static void test_writer_refuses_invalid(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	struct ip_addr none;
	uint8_t buf[REPL_BODY_MAX];

	repl_writer_init(&w, buf, sizeof(buf));
	mk_conn(&c, AF_INET, IPPROTO_UDP, 1);
	c.state = CONN_EST;			/* a TCP state on UDP */
	assert_false(repl_put_conn(&w, &c));
	assert_int_equal(w.err, REPL_ERR_INVAL);
	assert_int_equal(w.tlv.len, 0);
	assert_int_equal(w.n, 0);
	mk_conn(&c, AF_INET, IPPROTO_TCP, 1);
	ip(&c.taddr, "fd00::1");		/* family differs from the key's */
	assert_false(repl_put_conn(&w, &c));
	mk_conn(&c, AF_INET6, IPPROTO_TCP, 1);
	c.tport = 0;
	assert_false(repl_put_conn(&w, &c));
	c.key.proto = IPPROTO_ICMP;
	assert_false(repl_put_del(&w, &c.key));
	memset(&none, 0, sizeof(none));
	assert_false(repl_put_vipa(&w, &none));
	assert_int_equal(w.tlv.len, 0);
	/* A valid one after a refusal goes in. */
	w.err = REPL_OK;
	mk_conn(&c, AF_INET6, IPPROTO_SCTP, 1);
	assert_true(repl_put_conn(&w, &c));
	assert_int_equal(w.err, REPL_OK);
	assert_int_equal(w.n, 1);

	/* A buffer smaller than one record. */
	repl_writer_init(&w, buf, 67);
	assert_false(repl_put_conn(&w, &c));
	assert_int_equal(w.err, REPL_OK);
	assert_true(repl_put_del(&w, &c.key));
	repl_writer_init(&w, NULL, 100);
	assert_false(repl_put_bulk_begin(&w, 1));
}

/* --- strict decoding --- */

/* Every prefix of a message, in a buffer of exactly that size (ASan sees
 * any read past it): a prefix that ends on a TLV boundary decodes the
 * records before it, any other is refused with nothing delivered. */
static void test_truncation(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	struct ip_addr vipa;
	uint8_t buf[REPL_BODY_MAX];
	size_t bounds[8], nb = 0;

	repl_writer_init(&w, buf, sizeof(buf));
	bounds[nb++] = 0;
	assert_true(repl_put_bulk_begin(&w, 1));
	bounds[nb++] = w.tlv.len;
	mk_conn(&c, AF_INET6, IPPROTO_TCP, 5);
	assert_true(repl_put_conn(&w, &c));
	bounds[nb++] = w.tlv.len;
	assert_true(repl_put_del(&w, &c.key));
	bounds[nb++] = w.tlv.len;
	ip(&vipa, "2001:db8::1");
	assert_true(repl_put_vipa(&w, &vipa));
	bounds[nb++] = w.tlv.len;
	assert_true(repl_put_bulk_end(&w, 1, 1));
	bounds[nb++] = w.tlv.len;

	for (size_t len = 0; len <= w.tlv.len; len++) {
		struct sink s = { .n = 0 };
		uint8_t *p = malloc(len ? len : 1);
		int rc, want = -1;

		assert_non_null(p);
		memcpy(p, buf, len);
		for (size_t i = 0; i < nb; i++)
			if (bounds[i] == len)
				want = (int)i;
		rc = repl_decode(p, len, collect, &s);
		if (want >= 0) {
			assert_int_equal(rc, want);
			assert_int_equal(s.n, want);
		} else {
			assert_int_equal(rc, REPL_ERR_TLV);
			assert_int_equal(s.n, 0);
		}
		free(p);
	}
}

/* A TLV by hand: header and value, padded. */
static size_t raw_tlv(uint8_t *p, uint16_t type, const uint8_t *v, uint16_t len)
{
	size_t pl = (len + 3u) & ~3u;

	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memset(p + 4, 0, pl);
	if (len)
		memcpy(p + 4, v, len);
	return 4 + pl;
}

static int decode_one(uint16_t type, const uint8_t *v, uint16_t len)
{
	uint8_t body[256];
	size_t n = raw_tlv(body, type, v, len);

	return repl_decode(body, n, NULL, NULL);
}

static void test_wrong_sizes(void **state)
{
	uint8_t v[128];

	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	memset(v + REPL_CONN_LEN, 0, sizeof(v) - REPL_CONN_LEN);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), 1);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN - 4), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN - 1), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN + 4), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, 0), REPL_ERR_FORMAT);

	memcpy(v, kat_del_v6 + 4, REPL_DEL_LEN);
	memset(v + REPL_DEL_LEN, 0, sizeof(v) - REPL_DEL_LEN);
	assert_int_equal(decode_one(REPL_TLV_DEL, v, REPL_DEL_LEN), 1);
	assert_int_equal(decode_one(REPL_TLV_DEL, v, REPL_DEL_LEN + 4), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_DEL, v, REPL_DEL_LEN - 1), REPL_ERR_FORMAT);

	memset(v, 0, sizeof(v));
	assert_int_equal(decode_one(REPL_TLV_BULK_BEGIN, v, 4), 1);
	assert_int_equal(decode_one(REPL_TLV_BULK_BEGIN, v, 8), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_BULK_BEGIN, v, 3), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_BULK_END, v, 8), 1);
	assert_int_equal(decode_one(REPL_TLV_BULK_END, v, 4), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_BULK_END, v, 12), REPL_ERR_FORMAT);

	memcpy(v, kat_bulk + 24, REPL_VIPA_LEN);
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN), 1);
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN - 12), REPL_ERR_FORMAT);
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN + 4), REPL_ERR_FORMAT);

	/* A TLV length running past the body. */
	{
		uint8_t body[8] = { 0x03, 0x02, 0x00, 0x08, 0, 0, 0, 1 };

		assert_int_equal(repl_decode(body, sizeof(body), NULL, NULL), REPL_ERR_TLV);
	}
	/* NULL body. */
	assert_int_equal(repl_decode(NULL, 0, NULL, NULL), 0);
	assert_int_equal(repl_decode(NULL, 4, NULL, NULL), REPL_ERR_INVAL);
}

/* One byte of the known CONN changed: must be refused. */
static int conn_with(size_t off, uint8_t val)
{
	uint8_t v[REPL_CONN_LEN];

	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	v[off] = val;
	return decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN);
}

static void test_bad_values(void **state)
{
	uint8_t v[REPL_CONN_LEN];

	assert_int_equal(conn_with(0, 5), REPL_ERR_FORMAT);		/* family */
	assert_int_equal(conn_with(0, AF_INET), REPL_ERR_FORMAT);	/* host value, not 4 */
	assert_int_equal(conn_with(1, IPPROTO_ICMP), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(2, CONN_UDP), REPL_ERR_FORMAT);	/* TCP in UDP state */
	assert_int_equal(conn_with(2, 5), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(2, 0xff), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(1, IPPROTO_UDP), REPL_ERR_FORMAT);	/* UDP in FIN */
	assert_int_equal(conn_with(3, 0xfe), 1);			/* flags: kept */
	assert_int_equal(conn_with(3, 0xff), REPL_ERR_FORMAT);	/* HANDOFF, no HOFF */
	/* ports */
	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	v[4] = v[5] = 0;
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	v[6] = v[7] = 0;
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	v[56] = v[57] = 0;
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), REPL_ERR_FORMAT);
	/* addresses: zero, or bytes after a v4 address */
	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	memset(v + 40, 0, 16);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_conn_v4 + 4, REPL_CONN_LEN);
	memset(v + 8, 0, 4);
	assert_int_equal(decode_one(REPL_TLV_CONN, v, REPL_CONN_LEN), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(8 + 4, 1), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(24 + 15, 1), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(40 + 7, 1), REPL_ERR_FORMAT);
	/* reserved */
	assert_int_equal(conn_with(58, 1), REPL_ERR_FORMAT);
	assert_int_equal(conn_with(59, 0x80), REPL_ERR_FORMAT);
	/* DEL: reserved bytes, bad proto */
	memcpy(v, kat_del_v6 + 4, REPL_DEL_LEN);
	v[2] = 1;
	assert_int_equal(decode_one(REPL_TLV_DEL, v, REPL_DEL_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_del_v6 + 4, REPL_DEL_LEN);
	v[1] = 0;
	assert_int_equal(decode_one(REPL_TLV_DEL, v, REPL_DEL_LEN), REPL_ERR_FORMAT);
	/* VIPA: family, padding, tail */
	memcpy(v, kat_bulk + 24, REPL_VIPA_LEN);
	v[0] = 0;
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_bulk + 24, REPL_VIPA_LEN);
	v[2] = 1;
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN), REPL_ERR_FORMAT);
	memcpy(v, kat_bulk + 24, REPL_VIPA_LEN);
	v[19] = 1;
	assert_int_equal(decode_one(REPL_TLV_VIPA, v, REPL_VIPA_LEN), REPL_ERR_FORMAT);
}

/* A bad record after good ones: nothing is delivered. */
static void test_atomic_and_unknown(void **state)
{
	uint8_t body[512], junk[6] = { 1, 2, 3, 4, 5, 6 }, bad[REPL_CONN_LEN];
	uint8_t seq[8] = { 0, 0, 0, 0, 0, 0, 0, 9 };
	struct sink s = { .n = 0 };
	size_t n = 0;

	n += raw_tlv(body + n, REL_TLV_SEQ, seq, sizeof(seq));
	n += raw_tlv(body + n, REPL_TLV_CONN, kat_conn_v4 + 4, REPL_CONN_LEN);
	n += raw_tlv(body + n, 0x3ff, junk, sizeof(junk));
	n += raw_tlv(body + n, REPL_TLV_DEL, kat_del_v6 + 4, REPL_DEL_LEN);
	n += raw_tlv(body + n, 0x9999, NULL, 0);
	assert_int_equal(repl_decode(body, n, collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].type, REPL_TLV_CONN);
	assert_int_equal(s.r[1].type, REPL_TLV_DEL);

	memcpy(bad, kat_conn_v4 + 4, sizeof(bad));
	bad[1] = 1;
	n += raw_tlv(body + n, REPL_TLV_CONN, bad, sizeof(bad));
	s.n = 0;
	assert_int_equal(repl_decode(body, n, collect, &s), REPL_ERR_FORMAT);
	assert_int_equal(s.n, 0);
}

static int stop_at_second(const struct repl_rec *r, void *arg)
{
	int *seen = arg;

	return ++*seen == 2 ? -42 : 0;
}

static void test_callback_stops(void **state)
{
	int seen = 0;

	assert_int_equal(repl_decode(kat_bulk, sizeof(kat_bulk), stop_at_second, &seen), -42);
	assert_int_equal(seen, 2);
	assert_string_equal(repl_err_name(REPL_ERR_INCOMPLETE), "incomplete");
	assert_string_equal(repl_err_name(REPL_OK), "ok");
	assert_string_equal(repl_err_name(-42), "unknown");
	assert_string_equal(repl_err_name(3), "unknown");
}

/* --- the store --- */

static int count_origin(const struct repl_conn *c, uint32_t origin, void *arg)
{
	size_t *n = arg;

	n[0]++;
	if (origin == ORIG_A)
		n[1]++;
	else if (origin == ORIG_B)
		n[2]++;
	return 0;
}

static void counts(struct repl_store *s, size_t *all, size_t *a, size_t *b)
{
	size_t n[3] = { 0, 0, 0 };

	assert_int_equal(repl_store_foreach(s, count_origin, n), 0);
	*all = n[0];
	*a = n[1];
	*b = n[2];
}

static void test_store_basic(void **state)
{
	struct repl_store *s = repl_store_new(4);
	struct repl_conn c, d, out;
	uint32_t origin = 0;

	assert_non_null(s);
	assert_null(repl_store_new(0));
	mk_conn(&c, AF_INET, IPPROTO_TCP, 1);
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c, 1000), REPL_OK);
	assert_int_equal(repl_store_count(s), 1);
	assert_true(repl_store_lookup(s, &c.key, &out, &origin));
	assert_conn_equal(&out, &c);
	assert_int_equal(origin, ORIG_A);

	/* Update: new target and state, now from B. */
	d = c;
	ip(&d.taddr, "10.2.0.99");
	d.tport = 9000;
	d.target = 77;
	d.state = CONN_FIN;
	d.flags = REPL_F_HANDOFF;
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &d, 1000), REPL_OK);
	assert_int_equal(repl_store_count(s), 1);
	assert_true(repl_store_lookup(s, &c.key, &out, &origin));
	assert_conn_equal(&out, &d);
	assert_int_equal(origin, ORIG_B);

	/* Invalid record. */
	d.state = 9;
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &d, 1000), REPL_ERR_INVAL);

	/* Full. */
	for (uint32_t i = 2; i <= 4; i++) {
		mk_conn(&d, AF_INET6, IPPROTO_UDP, i);
		assert_int_equal(repl_store_apply_conn(s, ORIG_A, &d, 1000), REPL_OK);
	}
	mk_conn(&d, AF_INET6, IPPROTO_UDP, 5);
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &d, 1000), REPL_ERR_FULL);
	assert_int_equal(repl_store_count(s), 4);

	/* Delete, whatever the origin; twice is NOTFOUND. */
	assert_int_equal(repl_store_apply_del(s, &c.key), REPL_OK);
	assert_int_equal(repl_store_apply_del(s, &c.key), REPL_ERR_NOTFOUND);
	assert_false(repl_store_lookup(s, &c.key, NULL, NULL));
	assert_int_equal(repl_store_count(s), 3);
	/* Room again. */
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &d, 1000), REPL_OK);

	/* Take = lookup + remove. */
	memset(&out, 0, sizeof(out));
	assert_true(repl_store_take(s, &d.key, &out, &origin));
	assert_conn_equal(&out, &d);
	assert_int_equal(origin, ORIG_A);
	assert_false(repl_store_take(s, &d.key, &out, NULL));
	assert_false(repl_store_lookup(s, &d.key, NULL, NULL));
	assert_int_equal(repl_store_count(s), 3);
	assert_int_equal(repl_store_remove(s, &d.key), REPL_ERR_NOTFOUND);
	mk_conn(&d, AF_INET6, IPPROTO_UDP, 2);
	assert_int_equal(repl_store_remove(s, &d.key), REPL_OK);
	assert_int_equal(repl_store_count(s), 2);
	repl_store_free(s);
}

static void test_store_bulk(void **state)
{
	struct repl_store *s = repl_store_new(64);
	struct repl_conn c[20];
	size_t all, a, b, swept = 99;

	assert_non_null(s);
	/* A owns 0..9, B owns 10..19. */
	for (uint32_t i = 0; i < 20; i++) {
		mk_conn(&c[i], i % 2 ? AF_INET6 : AF_INET, IPPROTO_TCP, i);
		assert_int_equal(repl_store_apply_conn(s, i < 10 ? ORIG_A : ORIG_B, &c[i], 1000),
				 REPL_OK);
	}

	/* A bulk from B holding 10..14: A's entries survive, B's 15..19 go. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_B, 1), REPL_OK);
	for (int i = 10; i < 15; i++)
		assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[i], 1000), REPL_OK);
	assert_int_equal(repl_store_bulk_end(s, ORIG_B, 1, 5, &swept), REPL_OK);
	assert_int_equal(swept, 5);
	counts(s, &all, &a, &b);
	assert_int_equal(all, 15);
	assert_int_equal(a, 10);
	assert_int_equal(b, 5);
	for (int i = 0; i < 20; i++)
		assert_int_equal(repl_store_lookup(s, &c[i].key, NULL, NULL), i < 15);

	/* A bulk from A without entry 3 removes it; interleaved with the dump:
	 * a new connection 15 from A, an update of 0 from A, a DEL of 1 and
	 * an update from B (12), all kept as they are. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_A, 2), REPL_OK);
	for (int i = 0; i < 10; i++) {
		if (i == 3)
			continue;
		assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[i], 1000), REPL_OK);
		if (i == 4) {
			assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[15], 1000), REPL_OK);
			c[0].state = CONN_FIN;
			assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[0], 1000), REPL_OK);
			assert_int_equal(repl_store_apply_del(s, &c[1].key), REPL_OK);
			assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[12], 1000), REPL_OK);
		}
	}
	/* A BULK_END of another bulk id changes nothing. */
	assert_int_equal(repl_store_bulk_end(s, ORIG_A, 1, 0, &swept), REPL_ERR_STALE);
	assert_int_equal(swept, 0);
	assert_int_equal(repl_store_bulk_end(s, ORIG_A, 2, 9, &swept), REPL_OK);
	assert_int_equal(swept, 1);
	assert_false(repl_store_lookup(s, &c[3].key, NULL, NULL));
	assert_false(repl_store_lookup(s, &c[1].key, NULL, NULL));
	assert_true(repl_store_lookup(s, &c[15].key, NULL, NULL));
	{
		struct repl_conn out;

		assert_true(repl_store_lookup(s, &c[0].key, &out, NULL));
		assert_int_equal(out.state, CONN_FIN);
	}
	counts(s, &all, &a, &b);
	assert_int_equal(a, 9);		/* 0, 2, 4..9, 15 */
	assert_int_equal(b, 5);
	assert_int_equal(all, 14);
	/* The bulk is over: a second END is stale. */
	assert_int_equal(repl_store_bulk_end(s, ORIG_A, 2, 9, NULL), REPL_ERR_STALE);

	/* An incomplete bulk sweeps nothing. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_B, 3), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[10], 1000), REPL_OK);
	assert_int_equal(repl_store_bulk_end(s, ORIG_B, 3, 5, &swept), REPL_ERR_INCOMPLETE);
	assert_int_equal(swept, 0);
	assert_int_equal(repl_store_count(s), 14);

	/* A restarted bulk: the second BEGIN of B counts afresh. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_B, 4), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[10], 1000), REPL_OK);
	assert_int_equal(repl_store_bulk_begin(s, ORIG_B, 5), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[11], 1000), REPL_OK);
	assert_int_equal(repl_store_bulk_end(s, ORIG_B, 4, 1, NULL), REPL_ERR_STALE);
	assert_int_equal(repl_store_bulk_end(s, ORIG_B, 5, 1, &swept), REPL_OK);
	assert_int_equal(swept, 4);	/* 10, 12, 13, 14 */
	counts(s, &all, &a, &b);
	assert_int_equal(b, 1);
	assert_true(repl_store_lookup(s, &c[11].key, NULL, NULL));

	/* An empty bulk empties the origin. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_B, 6), REPL_OK);
	assert_int_equal(repl_store_bulk_end(s, ORIG_B, 6, 0, &swept), REPL_OK);
	assert_int_equal(swept, 1);

	/* An origin gone for good. */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_A, 7), REPL_OK);
	assert_int_equal(repl_store_expire_origin(s, ORIG_A), 9);
	assert_int_equal(repl_store_count(s), 0);
	assert_int_equal(repl_store_bulk_end(s, ORIG_A, 7, 0, NULL), REPL_ERR_STALE);
	repl_store_free(s);
}

static void test_store_bulk_slots(void **state)
{
	struct repl_store *s = repl_store_new(8);

	assert_non_null(s);
	for (uint32_t i = 0; i < REPL_BULK_SLOTS; i++)
		assert_int_equal(repl_store_bulk_begin(s, 1000 + i, i), REPL_OK);
	assert_int_equal(repl_store_bulk_begin(s, 5, 1), REPL_ERR_LIMIT);
	assert_int_equal(repl_store_bulk_begin(s, 1000, 99), REPL_OK);	/* restart: no slot */
	assert_int_equal(repl_store_bulk_end(s, 1001, 1, 0, NULL), REPL_OK);
	assert_int_equal(repl_store_bulk_begin(s, 5, 1), REPL_OK);
	repl_store_free(s);
}

/* A whole message through decode into the store. */
struct apply_ctx {
	struct repl_store *s;
	uint32_t origin;
};

static int apply_cb(const struct repl_rec *r, void *arg)
{
	struct apply_ctx *a = arg;

	return repl_store_apply(a->s, a->origin, r, 1000);
}

static void test_decode_into_store(void **state)
{
	struct repl_store *s = repl_store_new(64);
	struct apply_ctx ctx = { .s = s, .origin = ORIG_A };
	struct repl_writer w;
	struct repl_conn c[8], out;
	uint8_t buf[REPL_BODY_MAX];

	assert_non_null(s);
	for (uint32_t i = 0; i < 8; i++)
		mk_conn(&c[i], AF_INET, IPPROTO_UDP, i);
	/* Stale entry 7 from A, then a dump of 0..5, a DEL of 2 and an END. */
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[7], 1000), REPL_OK);
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_bulk_begin(&w, 42));
	for (int i = 0; i < 6; i++)
		assert_true(repl_put_conn(&w, &c[i]));
	assert_true(repl_put_del(&w, &c[2].key));
	assert_true(repl_put_bulk_end(&w, 42, 6));
	assert_int_equal(repl_decode(buf, w.tlv.len, apply_cb, &ctx), 9);
	assert_int_equal(repl_store_count(s), 5);
	assert_false(repl_store_lookup(s, &c[7].key, NULL, NULL));
	assert_false(repl_store_lookup(s, &c[2].key, NULL, NULL));
	assert_true(repl_store_lookup(s, &c[5].key, &out, NULL));
	assert_conn_equal(&out, &c[5]);
	/* A DEL of an unknown key stops the walk with NOTFOUND. */
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_del(&w, &c[6].key));
	assert_int_equal(repl_decode(buf, w.tlv.len, apply_cb, &ctx), REPL_ERR_NOTFOUND);
	repl_store_free(s);
}

/* 100k replicas from two origins, hashed with a seed. */
#define BIG 100000

static void test_store_100k(void **state)
{
	struct repl_store *s = repl_store_new(BIG);
	struct repl_conn c, out;
	size_t all, a, b, swept;
	uint32_t origin;

	assert_non_null(s);
	assert_int_equal(repl_store_set_seed(s, 0x0123456789abcdefULL, 0xfedcba9876543210ULL),
			 0);
	for (uint32_t i = 0; i < BIG; i++) {
		mk_conn(&c, i % 3 ? AF_INET : AF_INET6, i % 5 ? IPPROTO_TCP : IPPROTO_UDP, i);
		assert_int_equal(repl_store_apply_conn(s, i % 2 ? ORIG_B : ORIG_A, &c, 1000), REPL_OK);
	}
	assert_int_equal(repl_store_set_seed(s, 1, 2), -EBUSY);
	mk_conn(&c, AF_INET, IPPROTO_TCP, BIG);
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c, 1000), REPL_ERR_FULL);
	assert_int_equal(repl_store_count(s), BIG);
	counts(s, &all, &a, &b);
	assert_int_equal(all, BIG);
	assert_int_equal(a, BIG / 2);
	assert_int_equal(b, BIG / 2);
	for (uint32_t i = 0; i < BIG; i += 7) {
		mk_conn(&c, i % 3 ? AF_INET : AF_INET6, i % 5 ? IPPROTO_TCP : IPPROTO_UDP, i);
		assert_true(repl_store_lookup(s, &c.key, &out, &origin));
		assert_int_equal(out.target, c.target);
		assert_int_equal(origin, i % 2 ? ORIG_B : ORIG_A);
	}

	/* A's dump keeps only i % 4 == 0 (half of A's entries). */
	assert_int_equal(repl_store_bulk_begin(s, ORIG_A, 1), REPL_OK);
	for (uint32_t i = 0; i < BIG; i += 4) {
		mk_conn(&c, i % 3 ? AF_INET : AF_INET6, i % 5 ? IPPROTO_TCP : IPPROTO_UDP, i);
		assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c, 1000), REPL_OK);
	}
	assert_int_equal(repl_store_bulk_end(s, ORIG_A, 1, BIG / 4, &swept), REPL_OK);
	assert_int_equal(swept, BIG / 4);
	counts(s, &all, &a, &b);
	assert_int_equal(a, BIG / 4);
	assert_int_equal(b, BIG / 2);
	assert_int_equal(all, BIG * 3 / 4);

	/* Workers adopt every B entry. */
	for (uint32_t i = 1; i < BIG; i += 2) {
		mk_conn(&c, i % 3 ? AF_INET : AF_INET6, i % 5 ? IPPROTO_TCP : IPPROTO_UDP, i);
		assert_true(repl_store_take(s, &c.key, &out, &origin));
		assert_int_equal(origin, ORIG_B);
		assert_conn_equal(&out, &c);
	}
	assert_int_equal(repl_store_count(s), BIG / 4);
	assert_int_equal(repl_store_expire_origin(s, ORIG_B), 0);
	assert_int_equal(repl_store_expire_origin(s, ORIG_A), BIG / 4);
	assert_int_equal(repl_store_count(s), 0);
	repl_store_free(s);
}

/* stopped() for test_store_expire: A stopped at 5000 ms, B is up. */
static uint64_t a_stopped(uint32_t origin, void *arg)
{
	(void)arg;
	return origin == ORIG_A ? 5000 : 0;
}

static void test_store_expire(void **state)
{
	struct conn_timeouts to = { .syn_s = 2, .est_s = 10, .fin_s = 3, .closed_s = 1,
				    .udp_s = 4 };
	struct repl_store *s = repl_store_new(64);
	struct repl_conn c[4];
	size_t all, a, b;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 4; i++)
		mk_conn(&c[i], AF_INET, IPPROTO_TCP, (unsigned)i + 1);
	c[0].state = CONN_EST;		/* A, last record at 1000 */
	c[1].state = CONN_SYN;		/* A, last record at 6000 (after the stop) */
	c[2].state = CONN_EST;		/* B, up: never expires */
	c[3].state = CONN_SYN;		/* B */
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[0], 1000), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[1], 6000), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[2], 1000), REPL_OK);
	assert_int_equal(repl_store_apply_conn(s, ORIG_B, &c[3], 1000), REPL_OK);
	/* c[1]: SYN, 2 s from its record at 6000 */
	assert_int_equal(repl_store_expire(s, 8000, &to, 1u << 20, a_stopped, NULL), 0);
	assert_int_equal(repl_store_expire(s, 8001, &to, 1u << 20, a_stopped, NULL), 1);
	assert_false(repl_store_lookup(s, &c[1].key, NULL, NULL));
	/* c[0]: idle from the stop (5000), not from its record: 15000 is the edge */
	assert_int_equal(repl_store_expire(s, 15000, &to, 1u << 20, a_stopped, NULL), 0);
	assert_int_equal(repl_store_expire(s, 15001, &to, 1u << 20, a_stopped, NULL), 1);
	assert_false(repl_store_lookup(s, &c[0].key, NULL, NULL));
	/* B's replicas stay however old: B's DELs govern them */
	assert_int_equal(repl_store_expire(s, 1000000, &to, 1u << 20, a_stopped, NULL), 0);
	counts(s, &all, &a, &b);
	assert_int_equal(all, 2);
	assert_int_equal(a, 0);
	assert_int_equal(b, 2);
	/* a record restarts the clock: B's c[2] now from A at 20000 */
	assert_int_equal(repl_store_apply_conn(s, ORIG_A, &c[2], 20000), REPL_OK);
	assert_int_equal(repl_store_expire(s, 30000, &to, 1u << 20, a_stopped, NULL), 0);
	assert_int_equal(repl_store_expire(s, 30001, &to, 1u << 20, a_stopped, NULL), 1);
	assert_int_equal(repl_store_count(s), 1);
	assert_true(repl_store_lookup(s, &c[3].key, NULL, NULL));
	repl_store_free(s);
}

/* --- handoff entries: CONN + HOFF --- */

/* A front-end handoff entry (TCP), varied by i. */
static void mk_fe(struct repl_conn *c, int family, uint32_t i)
{
	mk_conn(c, family, IPPROTO_TCP, i);
	c->flags = REPL_F_HANDOFF;
	c->hoff.role = CONN_HOFF_FE;
	c->hoff.id = (3u << 24) | (i + 1);
	c->hoff.delta = 0x80000000u + i;
	c->hoff.tsoff = 0xfffffff0u - i;
	c->hoff.peer = 0xa1b2c3d4u ^ i;
	c->hoff.flags = (uint8_t)(i % 4);		/* HOFF_F_SACK, HOFF_F_TS */
	c->hoff.ws_t = (int8_t)(i % 16 - 1);		/* -1..14 */
	c->hoff.ws_f = (int8_t)(14 - i % 16);		/* 14..-1 */
}

static const uint8_t kat_hoff_v4[4 + REPL_CONN_LEN + 4 + REPL_HOFF_LEN] = {
	0x03, 0x00, 0x00, 0x40,			/* CONN, len 64 */
	4, 6, CONN_EST, 0x80 | REPL_F_HANDOFF,	/* family, tcp, state, flags */
	0xc3, 0x50, 0x00, 0x50,			/* cport 50000, vport 80 */
	198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x1f, 0x90, 0x00, 0x00,			/* tport 8080, reserved */
	0xde, 0xad, 0xbe, 0xef,			/* target node */
	0x03, 0x05, 0x00, 0x18,			/* HOFF, len 24 */
	0x01, 0x00, 0x00, 0x2a,			/* id (1 << 24) | 42 */
	0x89, 0xab, 0xcd, 0xef,			/* delta */
	0x00, 0x00, 0x10, 0x00,			/* tsoff */
	0xde, 0xad, 0xbe, 0xef,			/* peer */
	0x03, 0x02, 0xff, 0x01,			/* flags TS|SACK, ws_t 2, ws_f -1, role FE */
	0, 0, 0, 0,				/* reserved */
};

static void kat_fe(struct repl_conn *c)
{
	struct ip_addr ca, va;

	memset(c, 0, sizeof(*c));
	ip(&ca, "198.51.100.7");
	ip(&va, "10.2.0.100");
	conn_key_set(&c->key, IPPROTO_TCP, &ca, 50000, &va, 80);
	ip(&c->taddr, "10.2.0.22");
	c->tport = 8080;
	c->target = 0xdeadbeef;
	c->state = CONN_EST;
	c->flags = 0x80;		/* the writer adds REPL_F_HANDOFF */
	c->hoff.role = CONN_HOFF_FE;
	c->hoff.id = (1u << 24) | 42;
	c->hoff.delta = 0x89abcdef;
	c->hoff.tsoff = 0x1000;
	c->hoff.peer = 0xdeadbeef;
	c->hoff.flags = 0x03;
	c->hoff.ws_t = 2;
	c->hoff.ws_f = -1;
	c->hoff.req_end = 12345;	/* the target's: not replicated */
	c->hoff.phase = CONN_HOFF_READY;
}

static void test_hoff_exact_and_round_trip(void **state)
{
	struct repl_conn c, want[40];
	struct repl_writer w;
	struct sink s = { .n = 0 };
	uint8_t buf[REPL_BODY_MAX];
	int n;

	kat_fe(&c);
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_conn(&w, &c));
	assert_int_equal(w.n, 1);			/* the pair is one record */
	assert_int_equal(w.tlv.len, sizeof(kat_hoff_v4));
	assert_memory_equal(buf, kat_hoff_v4, sizeof(kat_hoff_v4));
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].type, REPL_TLV_CONN);
	c.flags |= REPL_F_HANDOFF;
	c.hoff.req_end = 0;
	c.hoff.phase = 0;
	assert_conn_equal(&s.r[0].conn, &c);
	assert_int_equal(s.r[0].conn.hoff.req_end, 0);
	assert_int_equal(s.r[0].conn.hoff.phase, 0);

	/* Both families, every ws value, mixed with plain CONNs and a DEL. */
	repl_writer_init(&w, buf, sizeof(buf));
	n = 0;
	for (uint32_t i = 0; i < 12; i++) {
		if (i % 3 == 2) {
			mk_conn(&want[n], i % 2 ? AF_INET6 : AF_INET, IPPROTO_UDP, i);
		} else {
			mk_fe(&want[n], i % 2 ? AF_INET6 : AF_INET, i);
			want[n].state = i % 4 ? CONN_EST : CONN_FIN;
		}
		assert_true(repl_put_conn(&w, &want[n]));
		n++;
	}
	assert_int_equal(w.n, 12);
	assert_true(repl_put_del(&w, &want[0].key));
	s.n = 0;
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), n + 1);
	for (int i = 0; i < n; i++)
		assert_conn_equal(&s.r[i].conn, &want[i]);
	assert_int_equal(s.r[n].type, REPL_TLV_DEL);

	/* Other roles travel without HOFF, and without the flag. */
	mk_fe(&c, AF_INET, 1);
	c.hoff.role = CONN_HOFF_TGT;
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_conn(&w, &c));
	assert_int_equal(w.tlv.len, 4 + REPL_CONN_LEN);
	s.n = 0;
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 1);
	assert_int_equal(s.r[0].conn.flags, 0);
	assert_int_equal(s.r[0].conn.hoff.role, CONN_HOFF_NONE);
	assert_int_equal(s.r[0].conn.hoff.id, 0);

	/* repl_conn_from takes the entry's hoff. */
	{
		struct conn e;

		memset(&e, 0, sizeof(e));
		kat_fe(&c);
		e.key = c.key;
		e.taddr = c.taddr;
		e.tport = c.tport;
		e.target = c.target;
		e.state = c.state;
		e.hoff = c.hoff;
		repl_conn_from(&want[0], &e);
		assert_conn_equal(&want[0], &(struct repl_conn){ .key = c.key, .taddr = c.taddr,
			.tport = c.tport, .target = c.target, .state = c.state, .hoff = c.hoff });
		assert_int_equal(want[0].hoff.req_end, 12345);
	}
}

/* Invalid handoff state is refused by the writer, nothing written. */
static void test_hoff_writer_refuses(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	uint8_t buf[REPL_BODY_MAX];

	repl_writer_init(&w, buf, sizeof(buf));
	mk_fe(&c, AF_INET, 1);
	c.hoff.id = 0;
	assert_false(repl_put_conn(&w, &c));
	assert_int_equal(w.err, REPL_ERR_INVAL);
	mk_fe(&c, AF_INET, 1);
	c.hoff.ws_t = 15;
	assert_false(repl_put_conn(&w, &c));
	c.hoff.ws_t = -2;
	assert_false(repl_put_conn(&w, &c));
	mk_fe(&c, AF_INET, 1);
	c.hoff.ws_f = 15;
	assert_false(repl_put_conn(&w, &c));
	mk_fe(&c, AF_INET, 1);
	c.hoff.flags = 0x04;
	assert_false(repl_put_conn(&w, &c));
	mk_fe(&c, AF_INET, 1);
	c.hoff.role = 3;
	assert_false(repl_put_conn(&w, &c));
	mk_fe(&c, AF_INET6, 1);
	c.key.proto = IPPROTO_UDP;		/* handoff is TCP only */
	c.state = CONN_UDP;
	assert_false(repl_put_conn(&w, &c));
	assert_int_equal(w.tlv.len, 0);
	assert_int_equal(w.n, 0);
}

/* Both or neither: at the brim, a pair that does not fit leaves the body
 * as it was, and a plain CONN still goes in. */
static void test_hoff_brim(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	struct sink s = { .n = 0 };
	uint8_t buf[REPL_BODY_MAX];
	size_t len;
	int n = 0;

	repl_writer_init(&w, buf, sizeof(buf));
	for (;;) {
		mk_fe(&c, AF_INET6, (uint32_t)n);
		len = w.tlv.len;
		if (!repl_put_conn(&w, &c))
			break;
		n++;
	}
	assert_int_equal(w.err, REPL_OK);
	assert_int_equal(w.tlv.len, len);
	assert_int_equal(n, 13);			/* 13 * 96 = 1248 */
	assert_true(tlv_fits(&w.tlv, REPL_CONN_LEN));	/* a CONN alone would fit */
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 13);
	mk_conn(&c, AF_INET, IPPROTO_TCP, 99);
	assert_true(repl_put_conn(&w, &c));
	assert_int_equal(w.n, 14);
	s.n = 0;
	assert_int_equal(repl_decode(buf, w.tlv.len, collect, &s), 14);
	for (int i = 0; i < 13; i++)
		assert_int_equal(s.r[i].conn.hoff.role, CONN_HOFF_FE);
}

/* Every prefix of [BULK_BEGIN, CONN+HOFF, DEL], in an exact buffer: cut
 * between the CONN and its HOFF is refused, nothing delivered. */
static void test_hoff_cut(void **state)
{
	struct repl_writer w;
	struct repl_conn c;
	uint8_t buf[REPL_BODY_MAX];
	size_t conn_end, pair_end, all;

	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_bulk_begin(&w, 1));
	conn_end = w.tlv.len + 4 + REPL_CONN_LEN;
	mk_fe(&c, AF_INET, 7);
	assert_true(repl_put_conn(&w, &c));
	pair_end = w.tlv.len;
	assert_true(repl_put_del(&w, &c.key));
	all = w.tlv.len;
	for (size_t len = 0; len <= all; len++) {
		struct sink s = { .n = 0 };
		uint8_t *p = malloc(len ? len : 1);
		int rc;

		assert_non_null(p);
		memcpy(p, buf, len);
		rc = repl_decode(p, len, collect, &s);
		if (len == 0 || len == 8)
			assert_int_equal(rc, (int)len / 8);
		else if (len == conn_end)
			assert_int_equal(rc, REPL_ERR_FORMAT);
		else if (len == pair_end)
			assert_int_equal(rc, 2);
		else if (len == all)
			assert_int_equal(rc, 3);
		else
			assert_int_equal(rc, REPL_ERR_TLV);
		if (rc < 0)
			assert_int_equal(s.n, 0);
		free(p);
	}
}

/* A body of TLVs by hand, decoded: the result and nothing delivered on error. */
static int decode_raw(const uint8_t *body, size_t n)
{
	struct sink s = { .n = 0 };
	int rc = repl_decode(body, n, collect, &s);

	if (rc < 0)
		assert_int_equal(s.n, 0);
	return rc;
}

/* HOFF missing, orphaned, separated or bad. */
static void test_hoff_refused(void **state)
{
	const uint8_t *conn_f = kat_hoff_v4 + 4;		/* CONN with the flag */
	const uint8_t *hoff = kat_hoff_v4 + 8 + REPL_CONN_LEN;
	const uint8_t *conn_plain = kat_conn_v4 + 4;		/* flag clear */
	uint8_t body[512], h[REPL_HOFF_LEN + 8], seq[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	size_t n;

	/* The good pair, after a SEQ: one record. */
	n = raw_tlv(body, REL_TLV_SEQ, seq, sizeof(seq));
	n += raw_tlv(body + n, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), 1);
	/* Missing: the flagged CONN alone, or followed by something else. */
	n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n += raw_tlv(body + n, REPL_TLV_DEL, kat_del_v6 + 4, REPL_DEL_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	n += raw_tlv(body + n, 0x3ff, seq, 4);			/* unknown, between */
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	n += raw_tlv(body + n, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	/* Orphans: alone, after a plain CONN, after a DEL, twice. */
	n = raw_tlv(body, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n = raw_tlv(body, REPL_TLV_CONN, conn_plain, REPL_CONN_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n = raw_tlv(body, REPL_TLV_DEL, kat_del_v6 + 4, REPL_DEL_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
	assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);

	/* Sizes and values of the HOFF. */
	{
		static const struct { size_t off; uint8_t val; } bad[] = {
			{ 0, 0 },	/* id 0 (with the bytes below) */
			{ 16, 0x04 },	/* unknown flag */
			{ 17, 15 },	/* ws_t */
			{ 17, 0xfe },	/* ws_t -2 */
			{ 18, 0x80 },	/* ws_f */
			{ 19, CONN_HOFF_NONE },
			{ 19, CONN_HOFF_TGT },
			{ 20, 15 }, { 20, 0xfe },	/* ws_c out of -1..14 */
			{ 21, 1 }, { 23, 0x80 },	/* reserved */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memcpy(h, hoff, REPL_HOFF_LEN);
			if (bad[i].off == 0)
				memset(h, 0, 4);
			else
				h[bad[i].off] = bad[i].val;
			n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
			n += raw_tlv(body + n, REPL_TLV_HOFF, h, REPL_HOFF_LEN);
			assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
		}
		/* ws -1 and 14 are fine */
		memcpy(h, hoff, REPL_HOFF_LEN);
		h[17] = 14;
		h[18] = 0xff;
		n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
		n += raw_tlv(body + n, REPL_TLV_HOFF, h, REPL_HOFF_LEN);
		assert_int_equal(decode_raw(body, n), 1);
		memset(h + REPL_HOFF_LEN, 0, 8);
		memcpy(h, hoff, REPL_HOFF_LEN);
		for (uint16_t len = 0; len <= REPL_HOFF_LEN + 4; len++) {
			if (len == REPL_HOFF_LEN)
				continue;
			n = raw_tlv(body, REPL_TLV_CONN, conn_f, REPL_CONN_LEN);
			n += raw_tlv(body + n, REPL_TLV_HOFF, h, len);
			assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
		}
	}
	/* The flag on a UDP CONN: handoff is TCP only. */
	{
		uint8_t v[REPL_CONN_LEN];

		memcpy(v, conn_f, REPL_CONN_LEN);
		v[1] = IPPROTO_UDP;
		v[2] = CONN_UDP;
		n = raw_tlv(body, REPL_TLV_CONN, v, REPL_CONN_LEN);
		n += raw_tlv(body + n, REPL_TLV_HOFF, hoff, REPL_HOFF_LEN);
		assert_int_equal(decode_raw(body, n), REPL_ERR_FORMAT);
	}
}

static int lookup_hoff(const struct repl_conn *c, uint32_t origin, void *arg)
{
	const struct repl_conn *want = arg;

	if (conn_key_eq(&c->key, &want->key)) {
		assert_conn_equal(c, want);
		return 1;
	}
	return 0;
}

/* The store keeps the handoff state, and lookup, take and foreach return it. */
static void test_hoff_store(void **state)
{
	struct repl_store *s = repl_store_new(16);
	struct apply_ctx ctx = { .s = s, .origin = ORIG_A };
	struct repl_writer w;
	struct repl_conn c[4], out;
	uint8_t buf[REPL_BODY_MAX];
	uint32_t origin;

	assert_non_null(s);
	repl_writer_init(&w, buf, sizeof(buf));
	for (uint32_t i = 0; i < 4; i++) {
		mk_fe(&c[i], i % 2 ? AF_INET6 : AF_INET, i + 5);
		assert_true(repl_put_conn(&w, &c[i]));
	}
	assert_int_equal(repl_decode(buf, w.tlv.len, apply_cb, &ctx), 4);
	assert_int_equal(repl_store_count(s), 4);
	for (int i = 0; i < 4; i++) {
		assert_true(repl_store_lookup(s, &c[i].key, &out, &origin));
		assert_conn_equal(&out, &c[i]);
		assert_int_equal(origin, ORIG_A);
	}
	assert_int_equal(repl_store_foreach(s, lookup_hoff, &c[2]), 1);
	memset(&out, 0, sizeof(out));
	assert_true(repl_store_take(s, &c[1].key, &out, NULL));
	assert_conn_equal(&out, &c[1]);
	/* An update without handoff state (the entry ended its handoff at the
	 * origin): the replica's goes too. */
	c[0].hoff = (struct conn_hoff){ 0 };
	c[0].flags = 0;
	repl_writer_init(&w, buf, sizeof(buf));
	assert_true(repl_put_conn(&w, &c[0]));
	assert_int_equal(repl_decode(buf, w.tlv.len, apply_cb, &ctx), 1);
	assert_true(repl_store_lookup(s, &c[0].key, &out, NULL));
	assert_int_equal(out.hoff.role, CONN_HOFF_NONE);
	assert_int_equal(out.hoff.id, 0);
	assert_int_equal(out.flags, 0);
	repl_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_decode_kat),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_brim),
		cmocka_unit_test(test_writer_refuses_invalid),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_wrong_sizes),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_atomic_and_unknown),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_store_basic),
		cmocka_unit_test(test_store_bulk),
		cmocka_unit_test(test_store_bulk_slots),
		cmocka_unit_test(test_decode_into_store),
		cmocka_unit_test(test_store_100k),
		cmocka_unit_test(test_store_expire),
		cmocka_unit_test(test_hoff_exact_and_round_trip),
		cmocka_unit_test(test_hoff_writer_refuses),
		cmocka_unit_test(test_hoff_brim),
		cmocka_unit_test(test_hoff_cut),
		cmocka_unit_test(test_hoff_refused),
		cmocka_unit_test(test_hoff_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
