/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/tcpseg: option parsing, segment building (checked by pkt_parse and
 * by the plain sums of pktbuild.h, never by nfq/csum itself) and the handoff translation,
 * whose every result is compared with the packet built from scratch with the translated
 * values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/pkt.h"
#include "nfq/tcpseg.h"
#include "tests/unit/pktbuild.h"

#define C4	"10.0.0.1"
#define V4	"10.2.0.100"
#define T4	"10.2.0.21"
#define C6	"2001:db8::1"
#define V6	"2001:db8:2::100"
#define T6	"2001:db8:3::21"

#define BIG	(65536 + 128)

static const uint8_t ext3[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING };

/* ---- a TCP segment built byte by byte (independent of tcpseg_build) ---- */

struct tseg {
	struct pb_spec ip;	/* family, src, dst, v4_opt, ext, n_ext */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t opt[40];
	size_t olen;		/* padded with EOL (0) to a multiple of 4 */
	size_t payload;		/* byte i is i * 13 + 1 */
};

static size_t mk(uint8_t *b, const struct tseg *s)
{
	size_t thl = 20 + ((s->olen + 3) & ~(size_t)3), i;
	uint32_t off;
	uint8_t *th;

	off = pb_build_ip(b, &s->ip, IPPROTO_TCP, (uint32_t)(thl + s->payload));
	th = b + off;
	memset(th, 0, thl);
	be_put16(th, s->sport);
	be_put16(th + 2, s->dport);
	be_put32(th + 4, s->seq);
	be_put32(th + 8, s->ack);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = s->flags;
	be_put16(th + 14, s->win);
	memcpy(th + 20, s->opt, s->olen);
	for (i = 0; i < s->payload; i++)
		th[thl + i] = (uint8_t)(i * 13 + 1);
	pb_fix_l4(b, s->ip.family, off, (uint32_t)(off + thl + s->payload), IPPROTO_TCP, 16);
	return off + thl + s->payload;
}

/* Option appenders: each returns the offset in s->opt of the option's first value. */
static uint32_t o_put(struct tseg *s, const uint8_t *bytes, size_t n)
{
	assert_true(s->olen + n <= sizeof(s->opt));
	memcpy(s->opt + s->olen, bytes, n);
	s->olen += n;
	return (uint32_t)(s->olen - n + 2);
}

static void o_nop(struct tseg *s)
{
	static const uint8_t nop = 1;

	o_put(s, &nop, 1);
}

static uint32_t o_ts(struct tseg *s, uint32_t val, uint32_t ecr)
{
	uint8_t o[10] = { 8, 10 };

	be_put32(o + 2, val);
	be_put32(o + 6, ecr);
	return o_put(s, o, sizeof(o));
}

static uint32_t o_sack(struct tseg *s, unsigned int n, const uint32_t e[][2])
{
	uint8_t o[34] = { 5 };
	unsigned int k;

	o[1] = (uint8_t)(2 + 8 * n);
	for (k = 0; k < n; k++) {
		be_put32(o + 2 + 8 * k, e[k][0]);
		be_put32(o + 6 + 8 * k, e[k][1]);
	}
	return o_put(s, o, 2 + 8 * n);
}

static void o_mss(struct tseg *s, uint16_t mss)
{
	uint8_t o[4] = { 2, 4 };

	be_put16(o + 2, mss);
	o_put(s, o, 4);
}

static void o_ws(struct tseg *s, uint8_t ws)
{
	uint8_t o[3] = { 3, 3, ws };

	o_put(s, o, 3);
}

static void o_sackok(struct tseg *s)
{
	static const uint8_t o[2] = { 4, 2 };

	o_put(s, o, 2);
}

static void o_unknown(struct tseg *s, uint8_t len)
{
	uint8_t o[8] = { 30, len, 0xde, 0xad, 0xbe, 0xef, 0x55, 0xaa };

	assert_true(len >= 2 && len <= 8);
	o_put(s, o, len);
}

static void set_ip(struct tseg *s, int family, const char *src, const char *dst)
{
	s->ip.family = family;
	s->ip.src = src;
	s->ip.dst = dst;
	s->ip.proto = IPPROTO_TCP;
}

/* ---- checks ---- */

static void assert_csums(const uint8_t *b, size_t n)
{
	struct pkt p;

	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, IPPROTO_TCP);
	if (p.family == AF_INET)
		assert_int_equal(pb_ip4_sum(b), 0xffff);
	assert_int_equal(pb_l4_sum(b, p.family, p.l4_off, p.ip_len, IPPROTO_TCP), 0xffff);
}

static void assert_pkt_fields(const struct pkt *p, const struct pkt *q)
{
	assert_int_equal(p->family, q->family);
	assert_true(addr_eq(&p->src, &q->src));
	assert_true(addr_eq(&p->dst, &q->dst));
	assert_int_equal(p->sport, q->sport);
	assert_int_equal(p->dport, q->dport);
	assert_int_equal(p->seq, q->seq);
	assert_int_equal(p->ack, q->ack);
	assert_int_equal(p->tcp_flags, q->tcp_flags);
	assert_int_equal(p->l4_off, q->l4_off);
	assert_int_equal(p->l4_hdrlen, q->l4_hdrlen);
	assert_int_equal(p->ip_len, q->ip_len);
}

/* Writes the partial pseudo-header sum the kernel leaves in a CHECKSUM_PARTIAL packet. */
static void make_partial(uint8_t *b, const struct pkt *p)
{
	uint32_t s = pb_pseudo(p->family, p->src.b, p->dst.b, IPPROTO_TCP, p->ip_len - p->l4_off);

	be_put16(b + p->l4_off + 16, pb_fold(s));
}

/* Translates b (n bytes) with x and compares it with want: every byte but the TCP checksum,
 * which is verified from scratch; p must describe the result. */
static void xlate_check(uint8_t *b, size_t n, const struct tcpseg_xlate *x, bool full,
			const uint8_t *want, size_t wn)
{
	struct pkt p, q;
	uint32_t cso;

	assert_int_equal(n, wn);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	if (full)
		make_partial(b, &p);
	assert_int_equal(tcpseg_xlate(b, n, &p, x, full), MANGLE_OK);
	cso = p.l4_off + 16;
	assert_memory_equal(b, want, cso);
	assert_memory_equal(b + cso + 2, want + cso + 2, n - cso - 2);
	assert_csums(b, n);
	assert_int_equal(pkt_parse(b, n, &q), PKT_OK);
	assert_pkt_fields(&p, &q);
}

/* Both checksum modes on copies of the packet s. */
static void xlate_both(const struct tseg *s, const struct tcpseg_xlate *x, const struct tseg *w)
{
	static uint8_t b[BIG], want[BIG];
	size_t n, wn;
	int full;

	for (full = 0; full < 2; full++) {
		n = mk(b, s);
		wn = mk(want, w);
		xlate_check(b, n, x, full, want, wn);
	}
}

static uint16_t ref_win(uint16_t w, int from, int to)
{
	uint64_t v = (uint64_t)w;

	if (from > 14)
		from = 14;
	if (to > 14)
		to = 14;
	v = v * ((uint64_t)1 << from) / ((uint64_t)1 << to);
	return v > 65535 ? 65535 : (uint16_t)v;
}

/* ---- options ---- */

static bool parse_opts(const struct tseg *s, struct tcpseg_opts *o)
{
	uint8_t h[60] = { 0 };
	size_t hl = 20 + ((s->olen + 3) & ~(size_t)3);

	memcpy(h + 20, s->opt, s->olen);
	return tcpseg_opts_parse(h, hl, o);
}

static void test_opts_none(void **state)
{
	struct tcpseg_opts o;
	uint8_t h[20] = { 0 };

	(void)state;
	memset(&o, 0x5a, sizeof(o));
	assert_true(tcpseg_opts_parse(h, 20, &o));
	assert_int_equal(o.mss, -1);
	assert_int_equal(o.ws, -1);
	assert_false(o.sackok);
	assert_false(o.ts);
	assert_int_equal(o.n_sack, 0);
	assert_false(tcpseg_opts_parse(h, 19, &o));
	assert_false(tcpseg_opts_parse(h, 0, &o));
}

static void test_opts_each(void **state)
{
	static const uint32_t e[4][2] = { { 1000, 2000 }, { 0xfffffff0, 0x10 }, { 5, 6 },
					  { 0x80000000, 0x80000100 } };
	struct tcpseg_opts o;
	struct tseg s;
	unsigned int n, k;

	(void)state;
	/* a Linux SYN: MSS, SACK-permitted, TS, NOP, WS */
	memset(&s, 0, sizeof(s));
	o_mss(&s, 1460);
	o_sackok(&s);
	o_ts(&s, 0x01020304, 0);
	o_nop(&s);
	o_ws(&s, 7);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.mss, 1460);
	assert_int_equal(o.ws, 7);
	assert_true(o.sackok);
	assert_true(o.ts);
	assert_int_equal(o.tsval, 0x01020304);
	assert_int_equal(o.tsecr, 0);
	assert_int_equal(o.n_sack, 0);

	/* NOPs, an unknown option, TS with an odd offset, WS 0 and MSS 0 are values */
	memset(&s, 0, sizeof(s));
	o_nop(&s);
	o_unknown(&s, 5);
	o_ts(&s, 0xffffffff, 0xdeadbeef);
	o_ws(&s, 0);
	o_mss(&s, 0);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.mss, 0);
	assert_int_equal(o.ws, 0);
	assert_false(o.sackok);
	assert_true(o.ts);
	assert_int_equal(o.tsval, 0xffffffff);
	assert_int_equal(o.tsecr, 0xdeadbeef);

	/* window scale above 14 counts as 14 (RFC 7323 2.3) */
	memset(&s, 0, sizeof(s));
	o_ws(&s, 15);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.ws, 14);
	memset(&s, 0, sizeof(s));
	o_ws(&s, 255);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.ws, 14);
	memset(&s, 0, sizeof(s));
	o_ws(&s, 14);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.ws, 14);

	/* SACK with 1..4 blocks (4 blocks leave room for 2 NOPs only) */
	for (n = 1; n <= 4; n++) {
		memset(&s, 0, sizeof(s));
		o_nop(&s);
		o_nop(&s);
		o_sack(&s, n, e);
		assert_true(parse_opts(&s, &o));
		assert_int_equal(o.n_sack, n);
		for (k = 0; k < n; k++) {
			assert_int_equal(o.sack[k][0], e[k][0]);
			assert_int_equal(o.sack[k][1], e[k][1]);
		}
		assert_false(o.ts);
	}
	/* SACK after TS, as Linux sends them */
	memset(&s, 0, sizeof(s));
	o_nop(&s);
	o_nop(&s);
	o_ts(&s, 7, 8);
	o_nop(&s);
	o_nop(&s);
	o_sack(&s, 3, e);
	assert_true(parse_opts(&s, &o));
	assert_true(o.ts);
	assert_int_equal(o.tsval, 7);
	assert_int_equal(o.tsecr, 8);
	assert_int_equal(o.n_sack, 3);
	assert_int_equal(o.sack[2][1], 6);

	/* an option twice: the last one counts */
	memset(&s, 0, sizeof(s));
	o_mss(&s, 1000);
	o_mss(&s, 536);
	o_ts(&s, 1, 2);
	o_ts(&s, 3, 4);
	assert_true(parse_opts(&s, &o));
	assert_int_equal(o.mss, 536);
	assert_int_equal(o.tsval, 3);
	assert_int_equal(o.tsecr, 4);
}

static void test_opts_eol(void **state)
{
	struct tcpseg_opts o;
	uint8_t h[40] = { 0 };

	(void)state;
	/* MSS, EOL, then garbage that would be malformed: not looked at */
	h[20] = 2;
	h[21] = 4;
	be_put16(h + 22, 1400);
	h[24] = 0;
	h[25] = 8;
	h[26] = 1;
	h[27] = 3;
	h[28] = 3;
	h[29] = 9;
	assert_true(tcpseg_opts_parse(h, 32, &o));
	assert_int_equal(o.mss, 1400);
	assert_int_equal(o.ws, -1);
	assert_false(o.ts);

	/* EOL first: nothing */
	memset(h, 0, sizeof(h));
	h[21] = 2;
	h[22] = 4;
	assert_true(tcpseg_opts_parse(h, 24, &o));
	assert_int_equal(o.mss, -1);

	/* all NOPs */
	memset(h + 20, 1, 20);
	assert_true(tcpseg_opts_parse(h, 40, &o));
	assert_int_equal(o.mss, -1);
}

static void test_opts_malformed(void **state)
{
	/* each is padded with NOPs to 20 bytes of options (header 40) */
	static const struct {
		uint8_t b[20];
		size_t n;
	} bad[] = {
		{ { 30, 0 }, 2 },			/* length 0 */
		{ { 30, 1 }, 2 },			/* length 1 */
		{ { 2, 0 }, 2 },
		{ { 8, 1 }, 2 },
		{ { 1, 1, 30, 19 }, 4 },		/* past the header by 1 */
		{ { 1, 1, 30, 255 }, 4 },
		{ { 2, 3, 5 }, 3 },			/* MSS 3 */
		{ { 2, 5, 5, 180, 0 }, 5 },		/* MSS 5 */
		{ { 3, 2 }, 2 },			/* WS 2 */
		{ { 3, 4, 7, 0 }, 4 },			/* WS 4 */
		{ { 4, 3, 0 }, 3 },			/* SACK-permitted 3 */
		{ { 8, 9 }, 9 },			/* TS 9 */
		{ { 8, 11 }, 11 },			/* TS 11 */
		{ { 5, 2 }, 2 },			/* SACK without a block */
		{ { 5, 9 }, 9 },
		{ { 5, 11 }, 11 },
		{ { 5, 17 }, 17 },
	};
	struct tcpseg_opts o;
	uint8_t h[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(h, 0, 20);
		memset(h + 20, 1, 40);
		memcpy(h + 20, bad[i].b, bad[i].n);
		assert_false(tcpseg_opts_parse(h, 40, &o));
	}
	/* a kind in the last byte, no room for its length */
	memset(h + 20, 1, 40);
	h[39] = 2;
	assert_false(tcpseg_opts_parse(h, 40, &o));
	h[39] = 30;
	assert_false(tcpseg_opts_parse(h, 40, &o));
	h[39] = 0;	/* EOL there is fine */
	assert_true(tcpseg_opts_parse(h, 40, &o));
	/* TS running past the header by one byte, then exactly to its end */
	memset(h + 20, 1, 40);
	h[31] = 8;
	h[32] = 10;
	assert_false(tcpseg_opts_parse(h, 40, &o));
	h[31] = 1;
	h[30] = 8;
	h[31] = 10;
	assert_true(tcpseg_opts_parse(h, 40, &o));
	assert_true(o.ts);
	/* SACK of 5 blocks does not fit in 40 bytes: refused even with a longer header */
	memset(h, 0, sizeof(h));
	h[20] = 5;
	h[21] = 42;
	assert_false(tcpseg_opts_parse(h, 64, &o));
	assert_false(tcpseg_opts_parse(h, 60, &o));
	/* SACK of 4.5 blocks in a full header */
	h[21] = 38;
	assert_false(tcpseg_opts_parse(h, 60, &o));
}

/* ---- build ---- */

static uint8_t pl[65536];

static void fill_payload(void)
{
	size_t i;

	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 31 + 7);
}

/* Builds s, checks it through pkt_parse, the plain sums and tcpseg_opts_parse; returns the
 * length and leaves the option bytes in *opt / *olen. */
static size_t build_check(uint8_t *b, size_t cap, const struct tcpseg_spec *s)
{
	size_t n, hl = s->src.family == AF_INET ? 20 : 40;
	struct tcpseg_opts o;
	struct pkt p;

	n = tcpseg_build(b, cap, s);
	assert_true(n > 0);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(p.ip_len, n);
	assert_int_equal(p.family, s->src.family);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_off, hl);
	assert_false(p.fragment);
	assert_true(addr_eq(&p.src, &s->src));
	assert_true(addr_eq(&p.dst, &s->dst));
	assert_int_equal(p.sport, s->sport);
	assert_int_equal(p.dport, s->dport);
	assert_int_equal(p.seq, s->seq);
	assert_int_equal(p.ack, s->ack);
	assert_int_equal(p.tcp_flags, s->flags);
	assert_int_equal(be_get16(b + hl + 14), s->win);
	assert_int_equal(be_get16(b + hl + 18), 0);	/* urgent pointer */
	assert_int_equal(p.l4_hdrlen % 4, 0);
	assert_int_equal(tcpseg_payload_len(&p), s->plen);
	if (s->plen)
		assert_memory_equal(b + hl + p.l4_hdrlen, s->payload, s->plen);
	assert_csums(b, n);
	if (s->src.family == AF_INET) {
		assert_int_equal(b[0], 0x45);
		assert_int_equal(be_get16(b + 4), 0);		/* id */
		assert_int_equal(be_get16(b + 6), 0x4000);	/* DF */
		assert_int_equal(b[8], s->ttl ? s->ttl : 64);
	} else {
		assert_int_equal(b[0], 0x60);
		assert_int_equal(b[7], s->ttl ? s->ttl : 64);
		assert_int_equal(be_get16(b + 4), n - 40);
	}
	assert_true(tcpseg_opts_parse(b + hl, p.l4_hdrlen, &o));
	assert_int_equal(o.mss, s->mss < 0 ? -1 : s->mss);
	assert_int_equal(o.ws, s->ws < 0 ? -1 : s->ws);
	assert_int_equal(o.sackok, s->sackok);
	assert_int_equal(o.ts, s->ts);
	if (s->ts) {
		assert_int_equal(o.tsval, s->tsval);
		assert_int_equal(o.tsecr, s->tsecr);
	}
	assert_int_equal(o.n_sack, 0);
	return n;
}

static void base_spec(struct tcpseg_spec *s, int family)
{
	memset(s, 0, sizeof(*s));
	s->src = pb_addr(family == AF_INET ? V4 : V6);
	s->dst = pb_addr(family == AF_INET ? C4 : C6);
	s->sport = 80;
	s->dport = 40000;
	s->seq = 0x11223344;
	s->ack = 0xfffffffe;
	s->win = 64240;
	s->mss = -1;
	s->ws = -1;
}

static void test_build_synack(void **state)
{
	static const uint8_t all[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xa1, 0xa2, 0xa3, 0xa4,
					 0xb1, 0xb2, 0xb3, 0xb4, 1, 3, 3, 7 };
	static const uint8_t nots[12] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
	static const uint8_t tsonly[12] = { 1, 1, 8, 10, 0xa1, 0xa2, 0xa3, 0xa4,
					    0xb1, 0xb2, 0xb3, 0xb4 };
	static const uint8_t mss_only[4] = { 2, 4, 0x02, 0x18 };
	struct tcpseg_spec s;
	uint8_t b[200];
	int fam, hl;
	size_t n;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;

		hl = fam ? 40 : 20;
		base_spec(&s, family);
		s.flags = PKT_TCP_SYN | PKT_TCP_ACK;
		s.mss = 1460;
		s.sackok = true;
		s.ts = true;
		s.tsval = 0xa1a2a3a4;
		s.tsecr = 0xb1b2b3b4;
		s.ws = 7;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 40);
		assert_memory_equal(b + hl + 20, all, sizeof(all));

		s.ts = false;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 32);
		assert_memory_equal(b + hl + 20, nots, sizeof(nots));

		s.ts = true;
		s.sackok = false;
		s.mss = -1;
		s.ws = -1;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 32);
		assert_memory_equal(b + hl + 20, tsonly, sizeof(tsonly));

		s.ts = false;
		s.mss = 536;
		s.ttl = 255;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 24);
		assert_memory_equal(b + hl + 20, mss_only, sizeof(mss_only));

		/* WS 0 is an option, as is MSS 0 */
		s.mss = 0;
		s.ws = 0;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 28);
	}
}

static void test_build_ack_data_fin(void **state)
{
	static uint8_t b[BIG];
	struct tcpseg_spec s;
	struct pkt p;
	int fam, hl;
	size_t n;

	(void)state;
	fill_payload();
	for (fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;

		hl = fam ? 40 : 20;
		/* pure ACK from the front-end to the client */
		base_spec(&s, family);
		s.flags = PKT_TCP_ACK;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 20);
		assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
		assert_int_equal(tcpseg_seq_len(&p), 0);

		/* ACK with TS */
		s.ts = true;
		s.tsval = 1;
		s.tsecr = 0xffffffff;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 32);

		/* data + FIN (a 400 answer) */
		s.flags = PKT_TCP_ACK | PKT_TCP_PSH | PKT_TCP_FIN;
		s.payload = pl;
		s.plen = 1001;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 32 + 1001);
		assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
		assert_int_equal(tcpseg_payload_len(&p), 1001);
		assert_int_equal(tcpseg_seq_len(&p), 1002);

		/* an odd length of 1 and no options */
		s.ts = false;
		s.plen = 1;
		s.flags = PKT_TCP_ACK | PKT_TCP_PSH;
		n = build_check(b, sizeof(b), &s);
		assert_int_equal(n, hl + 21);
	}
}

static void test_build_limits(void **state)
{
	static uint8_t b[BIG];
	struct tcpseg_spec s;
	size_t n, cap;

	(void)state;
	fill_payload();
	base_spec(&s, AF_INET);
	s.flags = PKT_TCP_ACK | PKT_TCP_SYN;
	s.mss = 1460;
	s.ts = true;
	s.ws = 7;
	s.sackok = true;
	s.payload = pl;
	s.plen = 10;
	n = tcpseg_build(b, sizeof(b), &s);
	assert_int_equal(n, 20 + 40 + 10);
	/* every cap too small: 0, and nothing written */
	for (cap = 0; cap < n; cap++) {
		memset(b, 0xa5, 200);
		assert_int_equal(tcpseg_build(b, cap, &s), 0);
		for (size_t i = 0; i < 200; i++)
			assert_int_equal(b[i], 0xa5);
	}
	assert_int_equal(tcpseg_build(b, n, &s), n);

	/* families differ / none */
	s.dst = pb_addr(C6);
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);
	memset(&s.src, 0, sizeof(s.src));
	memset(&s.dst, 0, sizeof(s.dst));
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);

	/* 65535 bytes at most, both families */
	base_spec(&s, AF_INET);
	s.flags = PKT_TCP_ACK;
	s.payload = pl;
	s.ts = true;
	s.plen = 65535 - 20 - 32;
	assert_int_equal(build_check(b, sizeof(b), &s), 65535);
	s.plen++;
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);
	base_spec(&s, AF_INET6);
	s.flags = PKT_TCP_ACK;
	s.payload = pl;
	s.plen = 65535 - 40 - 20;
	assert_int_equal(build_check(b, sizeof(b), &s), 65535);
	s.plen++;
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);
	s.plen = SIZE_MAX - 10;	/* no wrap-around in the size arithmetic */
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);

	/* MSS that does not fit its field; payload missing */
	base_spec(&s, AF_INET);
	s.mss = 65536;
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);
	s.mss = 65535;
	assert_int_equal(build_check(b, sizeof(b), &s), 44);
	s.plen = 3;
	assert_int_equal(tcpseg_build(b, sizeof(b), &s), 0);

	/* the payload may already sit in out, where the headers go */
	base_spec(&s, AF_INET6);
	s.flags = PKT_TCP_ACK;
	s.ts = true;
	memcpy(b, pl, 500);
	s.payload = b;
	s.plen = 500;
	n = tcpseg_build(b, sizeof(b), &s);
	assert_int_equal(n, 40 + 32 + 500);
	assert_memory_equal(b + 72, pl, 500);
	assert_csums(b, n);
}

static void test_payload_len(void **state)
{
	uint8_t b[300];
	struct tseg s;
	struct pkt p;
	size_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET6, C6, V6);
	s.ip.ext = ext3;
	s.ip.n_ext = 3;
	s.flags = PKT_TCP_SYN;
	o_mss(&s, 1440);
	n = mk(b, &s);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(tcpseg_payload_len(&p), 0);
	assert_int_equal(tcpseg_seq_len(&p), 1);
	s.payload = 77;
	s.flags = PKT_TCP_ACK | PKT_TCP_FIN;
	n = mk(b, &s);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(tcpseg_payload_len(&p), 77);
	assert_int_equal(tcpseg_seq_len(&p), 78);
	/* inconsistent views */
	p.ip_len = p.l4_off + p.l4_hdrlen - 1;
	assert_int_equal(tcpseg_payload_len(&p), 0);
	p.ip_len = p.l4_off - 1;
	assert_int_equal(tcpseg_payload_len(&p), 0);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	p.l4_hdrlen = 0;
	assert_int_equal(tcpseg_payload_len(&p), 0);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	p.proto = IPPROTO_UDP;
	assert_int_equal(tcpseg_payload_len(&p), 0);
	assert_int_equal(tcpseg_seq_len(&p), 0);
}

/* ---- translation ---- */

/* The front-end on a client packet: to the target, ack -= delta, SACK -= delta, TSecr -= tsoff. */
static void test_xlate_frontend(void **state)
{
	static const uint32_t e[3][2] = { { 0x50000100, 0x50000200 }, { 0x50000300, 0x50000400 },
					  { 0x00000010, 0x00000020 } };
	const uint32_t delta = 0x40000000, tsoff = 0x12345678;
	struct ip_addr t4 = pb_addr(T4), t6 = pb_addr(T6);
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t k, tso, sko, nb;
	int fam, v;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		for (v = 0; v < 4; v++) {	/* variants: ACK+TS+SACK, data+TS, no TS, IP opts */
			memset(&s, 0, sizeof(s));
			if (fam)
				set_ip(&s, AF_INET6, C6, V6);
			else
				set_ip(&s, AF_INET, C4, V4);
			s.sport = 40000;
			s.dport = 80;
			s.seq = 0x01020304;
			s.ack = 0x50000001;
			s.flags = PKT_TCP_ACK;
			s.win = 502;
			tso = sko = 0;
			nb = 0;
			if (v != 2) {
				o_nop(&s);
				o_nop(&s);
				tso = o_ts(&s, 0x0a0b0c0d, 0x22222222);
			}
			if (v == 0 || v == 3) {
				nb = v == 0 ? 3 : 2;
				o_nop(&s);
				o_nop(&s);
				sko = o_sack(&s, nb, e);
			}
			if (v == 1) {
				s.payload = 517;
				s.flags |= PKT_TCP_PSH;
			}
			if (v == 3) {
				if (fam) {
					s.ip.ext = ext3;
					s.ip.n_ext = 3;
				} else {
					s.ip.v4_opt = 8;
				}
				s.flags |= PKT_TCP_FIN;
			}
			memset(&x, 0, sizeof(x));
			x.side = MANGLE_DST;
			x.addr = fam ? &t6 : &t4;
			x.port = 8080;
			x.ack_sub = delta;
			x.tsecr_sub = tsoff;
			x.ws_from = x.ws_to = -1;

			w = s;
			w.ip.dst = fam ? T6 : T4;
			w.dport = 8080;
			w.ack = s.ack - delta;
			if (tso)
				be_put32(w.opt + tso + 4, 0x22222222 - tsoff);
			for (k = 0; k < nb; k++) {
				be_put32(w.opt + sko + 8 * k, e[k][0] - delta);
				be_put32(w.opt + sko + 8 * k + 4, e[k][1] - delta);
			}
			xlate_both(&s, &x, &w);
		}
	}
}

/* The target on a reply: from VIPA:80, seq += delta, TSval += tsoff, window rescaled. */
static void test_xlate_target(void **state)
{
	static const struct {
		int8_t from, to;
		uint16_t win, want;
	} ws[] = {
		{ -1, -1, 1000, 1000 },
		{ 7, 7, 1000, 1000 },
		{ 9, 7, 1000, 4000 },		/* up */
		{ 9, 7, 16383, 65532 },
		{ 9, 7, 16384, 65535 },		/* clamped */
		{ 14, 0, 2, 32768 },
		{ 14, 0, 4, 65535 },
		{ 7, 9, 1000, 250 },		/* down */
		{ 7, 9, 3, 0 },
		{ 7, 9, 65535, 16383 },
		{ 0, 14, 65535, 3 },
		{ -1, 7, 1000, 1000 },		/* an absent scale: no change */
		{ 7, -1, 1000, 1000 },
		{ 20, 14, 1000, 1000 },		/* 20 counts as 14 */
		{ 20, 12, 1000, 4000 },
	};
	const uint32_t delta = 0x9abcdef0, tsoff = 0xfedcba98;
	struct ip_addr v4 = pb_addr(V4), v6 = pb_addr(V6);
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t tso;
	size_t i;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		for (i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
			memset(&s, 0, sizeof(s));
			if (fam)
				set_ip(&s, AF_INET6, T6, C6);
			else
				set_ip(&s, AF_INET, T4, C4);
			s.sport = 8080;
			s.dport = 40000;
			s.seq = 0x00001000;
			s.ack = 0x01020305;
			s.flags = PKT_TCP_ACK | PKT_TCP_PSH;
			s.win = ws[i].win;
			s.payload = 1448 + i;
			o_nop(&s);
			o_nop(&s);
			tso = o_ts(&s, 0x00000100, 0x0a0b0c0d);

			memset(&x, 0, sizeof(x));
			x.side = MANGLE_SRC;
			x.addr = fam ? &v6 : &v4;
			x.port = 80;
			x.seq_add = delta;
			x.tsval_add = tsoff;
			x.ws_from = ws[i].from;
			x.ws_to = ws[i].to;

			w = s;
			w.ip.src = fam ? V6 : V4;
			w.sport = 80;
			w.seq = s.seq + delta;
			w.win = ws[i].want;
			if (ws[i].from >= 0 && ws[i].to >= 0)	/* the table agrees with the formula */
				assert_int_equal(ref_win(ws[i].win, ws[i].from, ws[i].to), ws[i].want);
			be_put32(w.opt + tso, 0x00000100 + tsoff);
			xlate_both(&s, &x, &w);

			/* a SYN-ACK keeps its window (it is never scaled) */
			s.flags = PKT_TCP_SYN | PKT_TCP_ACK;
			s.payload = 0;
			w.flags = s.flags;
			w.payload = 0;
			w.win = s.win;
			xlate_both(&s, &x, &w);
		}
	}
}

/* Options at odd offsets (no NOP alignment): the incremental update must cover the words
 * the field straddles. */
static void test_xlate_odd_offsets(void **state)
{
	static const uint32_t e[2][2] = { { 0x01020304, 0x05060708 }, { 0xf0f1f2f3, 0xf4f5f6f7 } };
	struct ip_addr t4 = pb_addr(T4);
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t tso, sko, k;

	(void)state;
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET, C4, V4);
	s.sport = 1234;
	s.dport = 80;
	s.seq = 77;
	s.ack = 0x8000ffff;
	s.flags = PKT_TCP_ACK;
	s.win = 0x1234;
	s.payload = 3;
	o_nop(&s);
	tso = o_ts(&s, 0x11111111, 0x89abcdef);
	sko = o_sack(&s, 2, e);
	assert_true(tso % 2 == 1 && sko % 2 == 1);

	memset(&x, 0, sizeof(x));
	x.side = MANGLE_DST;
	x.addr = &t4;
	x.ack_sub = 0x7f0f0f0f;
	x.tsval_add = 0x01010101;
	x.tsecr_sub = 0x0f0f0f0f;
	x.seq_add = 0xfedcba98;
	x.ws_from = 2;
	x.ws_to = 1;
	w = s;
	w.ip.dst = T4;
	w.seq = s.seq + x.seq_add;
	w.ack = s.ack - x.ack_sub;
	w.win = 0x2468;
	be_put32(w.opt + tso, 0x11111111 + 0x01010101);
	be_put32(w.opt + tso + 4, 0x89abcdef - 0x0f0f0f0f);
	for (k = 0; k < 2; k++) {
		be_put32(w.opt + sko + 8 * k, e[k][0] - x.ack_sub);
		be_put32(w.opt + sko + 8 * k + 4, e[k][1] - x.ack_sub);
	}
	xlate_both(&s, &x, &w);
}

/* Sequence arithmetic is mod 2^32 everywhere. */
static void test_xlate_wrap(void **state)
{
	static const uint32_t e[1][2] = { { 0x00000005, 0x00000105 } };
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t tso, sko;

	(void)state;
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET6, C6, V6);
	s.sport = 1;
	s.dport = 2;
	s.seq = 0xfffffff0;
	s.ack = 0x00000004;
	s.flags = PKT_TCP_ACK;
	s.win = 1;
	o_nop(&s);
	o_nop(&s);
	tso = o_ts(&s, 0xfffffffe, 0x00000001);
	o_nop(&s);
	o_nop(&s);
	sko = o_sack(&s, 1, e);

	memset(&x, 0, sizeof(x));
	x.seq_add = 0x20;
	x.ack_sub = 0x10;
	x.tsval_add = 3;
	x.tsecr_sub = 2;
	x.ws_from = x.ws_to = -1;
	w = s;
	w.seq = 0x00000010;
	w.ack = 0xfffffff4;
	be_put32(w.opt + tso, 0x00000001);
	be_put32(w.opt + tso + 4, 0xffffffff);
	be_put32(w.opt + sko, 0xfffffff5);
	be_put32(w.opt + sko + 4, 0x000000f5);
	xlate_both(&s, &x, &w);
}

/* What must stay: TSecr 0, ack and SACK without the ACK flag, absent TS, nothing to do. */
static void test_xlate_untouched(void **state)
{
	static const uint32_t e[1][2] = { { 100, 200 } };
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t tso;

	(void)state;
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET, C4, V4);
	s.sport = 5;
	s.dport = 80;
	s.seq = 1000;
	s.ack = 2000;
	s.flags = PKT_TCP_ACK;
	s.win = 99;
	o_nop(&s);
	o_nop(&s);
	tso = o_ts(&s, 0x1000, 0);
	memset(&x, 0, sizeof(x));
	x.tsval_add = 5;
	x.tsecr_sub = 7;
	x.ack_sub = 9;
	x.ws_from = x.ws_to = -1;
	w = s;
	w.ack = 2000 - 9;
	be_put32(w.opt + tso, 0x1005);		/* TSecr 0 stays 0 */
	xlate_both(&s, &x, &w);

	/* no ACK flag (an RST): ack and SACK stay */
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET, C4, V4);
	s.flags = PKT_TCP_RST;
	s.seq = 1000;
	s.ack = 2000;
	o_nop(&s);
	o_nop(&s);
	o_sack(&s, 1, e);
	w = s;
	xlate_both(&s, &x, &w);

	/* nothing asked: incremental leaves every byte as it was */
	memset(&x, 0, sizeof(x));
	x.ws_from = x.ws_to = -1;
	s.flags = PKT_TCP_ACK;
	s.payload = 99;
	w = s;
	xlate_both(&s, &x, &w);
	{
		uint8_t b[400], c[400];
		struct pkt p;
		size_t n = mk(b, &s);

		memcpy(c, b, n);
		assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
		assert_int_equal(tcpseg_xlate(b, n, &p, &x, false), MANGLE_OK);
		assert_memory_equal(b, c, n);
	}
}

/* GSO-sized segments: 60000 bytes (v4) and 65535 (v6), both checksum modes. */
static void test_xlate_big(void **state)
{
	struct ip_addr v4 = pb_addr(V4), v6 = pb_addr(V6);
	struct tcpseg_xlate x;
	struct tseg s, w;
	uint32_t tso;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		memset(&s, 0, sizeof(s));
		if (fam)
			set_ip(&s, AF_INET6, T6, C6);
		else
			set_ip(&s, AF_INET, T4, C4);
		s.sport = 8080;
		s.dport = 33333;
		s.seq = 0xffff0000;
		s.ack = 0x01020305;
		s.flags = PKT_TCP_ACK | PKT_TCP_PSH;
		s.win = 4000;
		o_nop(&s);
		o_nop(&s);
		tso = o_ts(&s, 0x00000100, 0x0a0b0c0d);
		s.payload = fam ? 65535 - 40 - 32 : 60000 - 20 - 32;
		memset(&x, 0, sizeof(x));
		x.side = MANGLE_SRC;
		x.addr = fam ? &v6 : &v4;
		x.port = 80;
		x.seq_add = 0x00020000;
		x.tsval_add = 0xffffff00;
		x.ws_from = 9;
		x.ws_to = 7;
		w = s;
		w.ip.src = fam ? V6 : V4;
		w.sport = 80;
		w.seq = 0x00010000;
		w.win = 16000;
		be_put32(w.opt + tso, 0x00000000);
		xlate_both(&s, &x, &w);
	}
}

/* Bad input: an error, and neither the buffer nor p changed. */
static void expect_error(uint8_t *b, size_t len, struct pkt *p, const struct tcpseg_xlate *x,
			 enum mangle_status want)
{
	static uint8_t copy[BIG];
	struct pkt pc;
	int full;

	for (full = 0; full < 2; full++) {
		memcpy(copy, b, len);
		memcpy(&pc, p, sizeof(pc));
		assert_int_equal(tcpseg_xlate(b, len, p, x, full), want);
		assert_memory_equal(b, copy, len);
		assert_memory_equal(p, &pc, sizeof(pc));
	}
}

static void test_xlate_errors(void **state)
{
	struct ip_addr t4 = pb_addr(T4), t6 = pb_addr(T6);
	struct tcpseg_xlate x;
	struct pb_spec u;
	uint8_t b[400];
	struct tseg s;
	struct pkt p;
	size_t n;

	(void)state;
	memset(&x, 0, sizeof(x));
	x.side = MANGLE_DST;
	x.addr = &t4;
	x.port = 8080;
	x.seq_add = 1;
	x.ack_sub = 2;
	x.tsval_add = 3;
	x.tsecr_sub = 4;
	x.ws_from = 9;
	x.ws_to = 7;

	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET, C4, V4);
	s.flags = PKT_TCP_ACK;
	s.seq = s.ack = 1000;
	s.payload = 40;
	o_nop(&s);
	o_nop(&s);
	o_ts(&s, 10, 20);
	n = mk(b, &s);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);

	/* truncated: the buffer is shorter than the packet */
	expect_error(b, n - 1, &p, &x, MANGLE_ERR_SHORT);
	expect_error(b, 30, &p, &x, MANGLE_ERR_SHORT);
	/* address of the other family */
	x.addr = &t6;
	expect_error(b, n, &p, &x, MANGLE_ERR_FAMILY);
	x.addr = &t4;
	/* p that does not match the buffer */
	p.l4_hdrlen = 20;
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);
	p.l4_hdrlen = 0;
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	p.ip_len = p.l4_off + 10;
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	p.l4_off = p.ip_len + 1;
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);

	/* malformed options (TS of length 9, checksum right) */
	s.olen = 0;
	o_nop(&s);
	o_nop(&s);
	o_ts(&s, 10, 20);
	s.opt[3] = 9;
	n = mk(b, &s);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);
	s.opt[3] = 0;	/* length 0 */
	n = mk(b, &s);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);
	s.opt[3] = 10;

	/* a later fragment has no TCP header */
	n = mk(b, &s);
	be_put16(b + 6, 0x0004);
	pb_fix_ip4(b);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_true(p.later_fragment);
	expect_error(b, n, &p, &x, MANGLE_ERR_SHORT);

	/* not TCP */
	memset(&u, 0, sizeof(u));
	u.family = AF_INET;
	u.src = C4;
	u.dst = V4;
	u.proto = IPPROTO_UDP;
	u.sport = 5000;
	u.dport = 53;
	u.payload = 30;
	n = pb_build_pkt(b, &u);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	expect_error(b, n, &p, &x, MANGLE_ERR_PROTO);
	x.addr = NULL;
	expect_error(b, n, &p, &x, MANGLE_ERR_PROTO);
}

/* A first fragment (MF) holds the TCP header and only part of the segment its checksum
 * covers: updated incrementally even when full_csum is asked. */
static void test_xlate_first_fragment(void **state)
{
	struct ip_addr t4 = pb_addr(T4);
	struct tcpseg_xlate x;
	uint8_t b[400], want[400];
	struct tseg s, w;
	struct pkt p;
	size_t n, wn;

	(void)state;
	memset(&s, 0, sizeof(s));
	set_ip(&s, AF_INET, C4, V4);
	s.flags = PKT_TCP_ACK;
	s.seq = 5;
	s.ack = 6;
	s.payload = 200;
	memset(&x, 0, sizeof(x));
	x.side = MANGLE_DST;
	x.addr = &t4;
	x.ack_sub = 3;
	x.ws_from = x.ws_to = -1;
	w = s;
	w.ip.dst = T4;
	w.ack = 3;
	n = mk(b, &s);
	wn = mk(want, &w);
	assert_int_equal(n, wn);
	/* keep the first 20 + 20 + 96 bytes, MF set */
	n = wn = 136;
	be_put16(b + 2, (uint16_t)n);
	be_put16(b + 6, 0x2000);
	pb_fix_ip4(b);
	be_put16(want + 2, (uint16_t)wn);
	be_put16(want + 6, 0x2000);
	pb_fix_ip4(want);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_false(p.later_fragment);
	assert_int_equal(tcpseg_xlate(b, n, &p, &x, true), MANGLE_OK);
	assert_memory_equal(b, want, n);
	assert_int_equal(pb_ip4_sum(b), 0xffff);
}

/* Random packets and translations, checked against a reference computed here. */
static uint32_t rnd_state = 0x2545f491;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void test_xlate_random(void **state)
{
	struct ip_addr t4 = pb_addr(T4), t6 = pb_addr(T6);
	uint32_t tso, sko, tsval, tsecr, e[4][2], k, nb;
	struct tcpseg_xlate x;
	struct tseg s, w;
	int it, fam, from, to;
	bool has_ack;

	(void)state;
	for (it = 0; it < 400; it++) {
		fam = rnd() & 1;
		memset(&s, 0, sizeof(s));
		if (fam)
			set_ip(&s, AF_INET6, C6, V6);
		else
			set_ip(&s, AF_INET, C4, V4);
		if (rnd() % 3 == 0) {
			if (fam) {
				s.ip.ext = ext3;
				s.ip.n_ext = 1 + rnd() % 3;
			} else {
				s.ip.v4_opt = 4 * (1 + rnd() % 3);
			}
		}
		s.sport = (uint16_t)rnd();
		s.dport = (uint16_t)rnd();
		s.seq = rnd();
		s.ack = rnd();
		s.win = (uint16_t)rnd();
		s.flags = (uint8_t)(rnd() & 0x3f);
		if (rnd() % 4)
			s.flags = (uint8_t)((s.flags | PKT_TCP_ACK) & ~(PKT_TCP_SYN | PKT_TCP_RST));
		has_ack = s.flags & PKT_TCP_ACK;
		s.payload = rnd() % 3 ? rnd() % 1500 : 0;
		/* options: random NOPs, unknowns, TS and SACK in random order */
		tso = sko = nb = 0;
		tsval = rnd();
		tsecr = rnd() % 5 ? rnd() : 0;
		nb = rnd() % 3;
		for (k = 0; k < nb; k++) {
			e[k][0] = rnd();
			e[k][1] = rnd();
		}
		while (rnd() % 3 == 0 && s.olen < 4)
			o_nop(&s);
		if (rnd() % 2 && s.olen <= 6)
			o_unknown(&s, (uint8_t)(2 + rnd() % 5));
		if (rnd() % 2) {
			tso = o_ts(&s, tsval, tsecr);
			if (nb && s.olen + 2 + 8 * nb <= 40)
				sko = o_sack(&s, nb, e);
		} else {
			if (nb && s.olen + 2 + 8 * nb <= 40)
				sko = o_sack(&s, nb, e);
			if (rnd() % 2 && s.olen + 10 <= 40)
				tso = o_ts(&s, tsval, tsecr);
		}
		if (!sko)
			nb = 0;
		if (rnd() % 2 && s.olen + 3 <= 40)
			o_ws(&s, (uint8_t)(rnd() % 16));

		memset(&x, 0, sizeof(x));
		x.side = rnd() % 2 ? MANGLE_SRC : MANGLE_DST;
		x.addr = rnd() % 4 == 0 ? NULL : fam ? &t6 : &t4;
		x.port = rnd() % 2 ? (uint16_t)(rnd() | 1) : 0;
		x.seq_add = rnd() % 4 ? rnd() : 0;
		x.ack_sub = rnd() % 4 ? rnd() : 0;
		x.tsval_add = rnd() % 4 ? rnd() : 0;
		x.tsecr_sub = rnd() % 4 ? rnd() : 0;
		x.ws_from = (int8_t)((int)(rnd() % 17) - 1);
		x.ws_to = (int8_t)((int)(rnd() % 17) - 1);

		w = s;
		if (x.addr) {
			if (x.side == MANGLE_SRC) {
				w.ip.src = fam ? T6 : T4;
				if (x.port)
					w.sport = x.port;
			} else {
				w.ip.dst = fam ? T6 : T4;
				if (x.port)
					w.dport = x.port;
			}
		}
		w.seq = s.seq + x.seq_add;
		if (has_ack) {
			w.ack = s.ack - x.ack_sub;
			for (k = 0; k < nb; k++) {
				be_put32(w.opt + sko + 8 * k, e[k][0] - x.ack_sub);
				be_put32(w.opt + sko + 8 * k + 4, e[k][1] - x.ack_sub);
			}
		}
		if (tso) {
			be_put32(w.opt + tso, tsval + x.tsval_add);
			be_put32(w.opt + tso + 4, tsecr ? tsecr - x.tsecr_sub : 0);
		}
		from = x.ws_from > 14 ? 14 : x.ws_from;
		to = x.ws_to > 14 ? 14 : x.ws_to;
		if (from >= 0 && to >= 0 && from != to && !(s.flags & PKT_TCP_SYN))
			w.win = ref_win(s.win, from, to);
		xlate_both(&s, &x, &w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_none),
		cmocka_unit_test(test_opts_each),
		cmocka_unit_test(test_opts_eol),
		cmocka_unit_test(test_opts_malformed),
		cmocka_unit_test(test_build_synack),
		cmocka_unit_test(test_build_ack_data_fin),
		cmocka_unit_test(test_build_limits),
		cmocka_unit_test(test_payload_len),
		cmocka_unit_test(test_xlate_frontend),
		cmocka_unit_test(test_xlate_target),
		cmocka_unit_test(test_xlate_odd_offsets),
		cmocka_unit_test(test_xlate_wrap),
		cmocka_unit_test(test_xlate_untouched),
		cmocka_unit_test(test_xlate_big),
		cmocka_unit_test(test_xlate_errors),
		cmocka_unit_test(test_xlate_first_fragment),
		cmocka_unit_test(test_xlate_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
