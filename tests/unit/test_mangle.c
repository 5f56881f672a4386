/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/mangle: every rewrite is compared byte for byte with the packet built
 * from scratch with the new values, and every checksum is verified by a plain sum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/mangle.h"
#include "nfq/pkt.h"
#include "tests/unit/pktbuild.h"

static const uint8_t ext5[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_AH,
				IPPROTO_DSTOPTS };
static const uint8_t ext_dst[] = { IPPROTO_DSTOPTS };

#define C4	"10.0.0.1"
#define V4	"10.2.0.100"
#define T4	"10.2.0.21"
#define C6	"2001:db8::1"
#define V6	"2001:db8:2::100"
#define T6	"2001:db8:3::21"

/* Checks the IPv4 header checksum and the L4 checksum of a whole packet. */
static void assert_csums(const uint8_t *b, size_t n)
{
	struct pkt p;

	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	if (p.family == AF_INET)
		assert_int_equal(pb_ip4_sum(b), 0xffff);
	if (p.later_fragment)
		return;
	switch (p.proto) {
	case IPPROTO_UDP:
		if (be_get16(b + p.l4_off + 6) == 0)
			break;
		/* fall through */
	case IPPROTO_TCP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		assert_int_equal(pb_l4_sum(b, p.family, p.l4_off, p.ip_len, p.proto), 0xffff);
		break;
	case IPPROTO_SCTP:
		assert_int_equal(pb_crc32c_field(b + p.l4_off, p.ip_len - p.l4_off), 0);
		break;
	}
}

/* Parses, rewrites, compares with want, and checks p against a fresh parse. */
static void rewrite_and_compare(uint8_t *b, size_t n, enum mangle_side side, const char *addr,
				uint16_t port, bool full, const uint8_t *want, size_t wn)
{
	struct ip_addr a = pb_addr(addr);
	struct pkt p, q;

	assert_int_equal(n, wn);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(mangle_rewrite(b, n, &p, side, &a, port, full), MANGLE_OK);
	assert_memory_equal(b, want, n);
	assert_csums(b, n);
	assert_int_equal(pkt_parse(b, n, &q), PKT_OK);
	assert_true(addr_eq(&p.src, &q.src));
	assert_true(addr_eq(&p.dst, &q.dst));
	assert_int_equal(p.sport, q.sport);
	assert_int_equal(p.dport, q.dport);
	assert_int_equal(p.inner.family, q.inner.family);
	if (p.inner.family) {
		assert_true(addr_eq(&p.inner.src, &q.inner.src));
		assert_true(addr_eq(&p.inner.dst, &q.inner.dst));
		assert_int_equal(p.inner.sport, q.inner.sport);
		assert_int_equal(p.inner.dport, q.inner.dport);
	}
}

static const struct pb_spec base_specs[] = {
	{ .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP, .sport = 40000,
	  .dport = 80, .seq = 0x01020304, .ack = 0xa0b0c0d0, .flags = 0x18, .payload = 33 },
	{ .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP, .v4_opt = 8,
	  .sport = 40001, .dport = 80, .flags = 0x02 },
	{ .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_UDP, .sport = 5000,
	  .dport = 53, .payload = 17 },
	{ .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_UDP, .v4_opt = 40,
	  .sport = 5001, .dport = 53, .payload = 300 },
	{ .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_TCP, .sport = 40000,
	  .dport = 80, .seq = 7, .ack = 9, .flags = 0x10, .payload = 1001 },
	{ .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_TCP, .ext = ext5,
	  .n_ext = 5, .sport = 40002, .dport = 80, .payload = 1 },
	{ .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_UDP, .ext = ext5,
	  .n_ext = 5, .sport = 5002, .dport = 53, .payload = 64 },
	{ .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_UDP, .sport = 5003,
	  .dport = 53 },
};

#define N_SPECS (sizeof(base_specs) / sizeof(base_specs[0]))

/* Distributor (dst VIPA:80 -> T:8080) then target (src T:8080 -> VIPA:80) on the reply. */
static void test_tcp_udp_matrix(void **state)
{
	uint8_t b[2048], want[2048];
	struct pb_spec s, w;
	size_t n, wn, i;
	bool v4;

	for (i = 0; i < N_SPECS; i++) {
		s = base_specs[i];
		v4 = s.family == AF_INET;
		n = pb_build_pkt(b, &s);
		w = s;
		w.dst = v4 ? T4 : T6;
		w.dport = 8080;
		wn = pb_build_pkt(want, &w);
		rewrite_and_compare(b, n, MANGLE_DST, w.dst, 8080, false, want, wn);

		/* the reply leaving the target */
		s.src = v4 ? T4 : T6;
		s.dst = v4 ? C4 : C6;
		s.sport = 8080;
		s.dport = base_specs[i].sport;
		n = pb_build_pkt(b, &s);
		w = s;
		w.src = v4 ? V4 : V6;
		w.sport = base_specs[i].dport;
		wn = pb_build_pkt(want, &w);
		rewrite_and_compare(b, n, MANGLE_SRC, w.src, w.sport, false, want, wn);

		/* address only: port 0 leaves the port */
		w.src = v4 ? "192.0.2.7" : "2001:db8:77::7";
		wn = pb_build_pkt(want, &w);
		rewrite_and_compare(b, n, MANGLE_SRC, w.src, 0, false, want, wn);
	}
}

/* Kernel CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum only. */
static void set_partial(uint8_t *b)
{
	struct pkt p;
	uint32_t off;
	uint16_t c;

	assert_int_equal(pkt_parse(b, 65535, &p), PKT_OK);
	off = p.l4_off + (p.proto == IPPROTO_TCP ? 16 : p.proto == IPPROTO_UDP ? 6 : 2);
	c = pb_fold(pb_pseudo(p.family, p.src.b, p.dst.b, p.proto, p.ip_len - p.l4_off));
	be_put16(b + off, c);
}

static void test_full_csum(void **state)
{
	uint8_t b[2048], want[2048];
	struct pb_spec s, w;
	size_t n, wn, i;

	for (i = 0; i < N_SPECS; i++) {
		s = w = base_specs[i];
		n = pb_build_pkt(b, &s);
		set_partial(b);
		w.dst = s.family == AF_INET ? T4 : T6;
		w.dport = 8080;
		wn = pb_build_pkt(want, &w);
		rewrite_and_compare(b, n, MANGLE_DST, w.dst, 8080, true, want, wn);
	}
}

static void test_udp_zero_csum(void **state)
{
	uint8_t b[256], want[256];
	struct pb_spec s = base_specs[2], w;
	size_t n, wn;

	s.udp_nocsum = true;
	w = s;
	w.dst = T4;
	w.dport = 8080;
	n = pb_build_pkt(b, &s);
	wn = pb_build_pkt(want, &w);
	assert_int_equal(be_get16(want + 26), 0);
	rewrite_and_compare(b, n, MANGLE_DST, T4, 8080, false, want, wn);
	assert_int_equal(be_get16(b + 26), 0);
}

/* An update whose result is 0x0000 must be sent as 0xffff (RFC 768). */
static void test_udp_result_ffff(void **state)
{
	uint8_t b[256], want[256];
	struct pb_spec s = base_specs[2], w;
	size_t n, wn;
	uint16_t word;

	w = s;
	w.dst = T4;
	w.dport = 8080;
	wn = pb_build_pkt(want, &w);
	/* choose the first payload word so that the new packet sums to 0xffff unaided */
	be_put16(want + 28, 0);
	be_put16(want + 26, 0);
	word = (uint16_t)(0xffff - pb_l4_sum(want, AF_INET, 20, (uint32_t)wn, IPPROTO_UDP));
	be_put16(want + 28, word);
	pb_fix_l4(want, AF_INET, 20, (uint32_t)wn, IPPROTO_UDP, 6);
	assert_int_equal(be_get16(want + 26), 0xffff);

	n = pb_build_pkt(b, &s);
	be_put16(b + 28, word);
	pb_fix_l4(b, AF_INET, 20, (uint32_t)n, IPPROTO_UDP, 6);
	assert_int_not_equal(be_get16(b + 26), 0xffff);
	rewrite_and_compare(b, n, MANGLE_DST, T4, 8080, false, want, wn);
}

static void test_sctp(void **state)
{
	uint8_t b[256], want[256];
	struct pb_spec s = base_specs[6], w;
	size_t n, wn;

	s.proto = IPPROTO_SCTP;
	s.sport = 3868;
	s.dport = 3868;
	w = s;
	w.dst = T6;
	w.dport = 3869;
	n = pb_build_pkt(b, &s);
	wn = pb_build_pkt(want, &w);
	rewrite_and_compare(b, n, MANGLE_DST, T6, 3869, false, want, wn);

	/* address only: no pseudo-header, the CRC stays as it was */
	n = pb_build_pkt(b, &s);
	w.dport = 3868;
	wn = pb_build_pkt(want, &w);
	assert_memory_equal(b + 88 + 8, want + 88 + 8, 4);
	rewrite_and_compare(b, n, MANGLE_DST, T6, 0, false, want, wn);

	/* full_csum: the CRC is recomputed whatever the field held */
	n = pb_build_pkt(b, &s);
	b[88 + 8] ^= 0xff;
	rewrite_and_compare(b, n, MANGLE_DST, T6, 0, true, want, wn);
}

/* The distributor gets a router's error about a packet VIPA:80 -> C (sent by the target):
 * outer dst VIPA -> T, inner src VIPA:80 -> T:8080. */
static size_t icmp_err(uint8_t *b, int family, const char *osrc, const char *odst,
		       const char *isrc, uint16_t isport, const char *idst, uint16_t idport,
		       uint8_t iproto, bool nocsum, size_t qlen, bool *has_csum_field)
{
	struct pb_spec in = { .family = family, .src = isrc, .dst = idst, .proto = iproto,
			      .sport = isport, .dport = idport, .seq = 77, .ack = 99,
			      .flags = PKT_TCP_ACK, .payload = 1300, .udp_nocsum = nocsum };
	struct pb_spec out = { .family = family, .src = osrc, .dst = odst };
	uint8_t inner[1600];
	size_t n;

	if (family == AF_INET) {
		in.v4_opt = 4;
	} else {
		in.ext = ext_dst;
		in.n_ext = 1;
	}
	n = pb_build_pkt(inner, &in);
	if (qlen > n)
		qlen = n;
	if (has_csum_field)
		*has_csum_field = qlen >= (family == AF_INET ? 24u : 48u) +
				  (iproto == IPPROTO_TCP ? 18 : 8);
	if (family == AF_INET)
		return pb_build_icmp_err(b, &out, 3, 4, 1400, inner, qlen);
	return pb_build_icmp_err(b, &out, 2, 0, 1280, inner, qlen);
}

static void test_icmp_errors(void **state)
{
	/* whole quotes, cut inside the IPv6 extension header, before, inside and after the
	 * L4 checksum field */
	static const size_t qlens[] = { 548, 1232, 24 + 8, 44, 48 + 8, 24 + 18, 48 + 18,
					24 + 100 };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	uint8_t b[1600], want[1600];
	unsigned int f, q, pr, full;
	const char *c, *v, *t, *r;
	size_t n, wn;
	int fam;

	for (f = 0; f < 2; f++) {
		fam = f ? AF_INET6 : AF_INET;
		c = f ? C6 : C4;
		v = f ? V6 : V4;
		t = f ? T6 : T4;
		r = f ? "2001:db8:9::9" : "10.9.9.9";
		for (q = 0; q < sizeof(qlens) / sizeof(qlens[0]); q++) {
			if (qlens[q] < (f ? 40u : 20u))
				continue;	/* no inner header: test_errors_leave_packet */
			for (pr = 0; pr < 2; pr++) {
				for (full = 0; full < 2; full++) {
					/* distributor: outer DST, inner SRC + sport */
					n = icmp_err(b, fam, r, v, v, 80, c, 40000, protos[pr],
						     false, qlens[q], NULL);
					wn = icmp_err(want, fam, r, t, t, 8080, c, 40000,
						      protos[pr], false, qlens[q], NULL);
					if (full)
						set_partial(b);
					rewrite_and_compare(b, n, MANGLE_DST, t, 8080, full,
							    want, wn);
					/* outer SRC, inner DST + dport */
					n = icmp_err(b, fam, c, r, r, 40000, c, 80, protos[pr],
						     false, qlens[q], NULL);
					wn = icmp_err(want, fam, t, r, r, 40000, t, 8080,
						      protos[pr], false, qlens[q], NULL);
					rewrite_and_compare(b, n, MANGLE_SRC, t, 8080, full,
							    want, wn);
				}
			}
		}
	}
}

/* Quoted UDP without checksum keeps it 0; a half-present TCP checksum field is left. */
static void test_icmp_inner_csum_edges(void **state)
{
	uint8_t b[1600], want[1600], orig[1600];
	struct ip_addr t = pb_addr(T4);
	bool has_field;
	struct pkt p;
	size_t n, wn;

	n = icmp_err(b, AF_INET, "10.9.9.9", V4, V4, 53, C4, 5000, IPPROTO_UDP, true, 500, NULL);
	wn = icmp_err(want, AF_INET, "10.9.9.9", T4, T4, 5353, C4, 5000, IPPROTO_UDP, true, 500,
		      NULL);
	rewrite_and_compare(b, n, MANGLE_DST, T4, 5353, false, want, wn);
	assert_int_equal(be_get16(b + 28 + 24 + 6), 0);

	/* 17 bytes of the quoted TCP header: checksum field cut in half */
	n = icmp_err(b, AF_INET, "10.9.9.9", V4, V4, 80, C4, 40000, IPPROTO_TCP, false, 24 + 17,
		     &has_field);
	assert_false(has_field);
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t, 8080, false), MANGLE_OK);
	assert_csums(b, n);
	assert_int_equal(pb_ip4_sum(b + 28), 0xffff);
	assert_memory_equal(b + 16, t.b, 4);
	assert_memory_equal(b + 28 + 12, t.b, 4);
	assert_int_equal(be_get16(b + 28 + 24), 8080);
	assert_int_equal(b[28 + 24 + 16], orig[28 + 24 + 16]);
	pb_assert_addr(&p.inner.src, T4);
	assert_int_equal(p.inner.sport, 8080);
	pb_assert_addr(&p.dst, T4);
}

static void test_later_fragment(void **state)
{
	uint8_t b[256], orig[256];
	struct ip_addr t = pb_addr(T4);
	struct pb_spec s = base_specs[0];
	struct pkt p;
	size_t n;

	n = pb_build_pkt(b, &s);
	be_put16(b + 6, 100);
	pb_fix_ip4(b);
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_true(p.later_fragment);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t, 8080, false), MANGLE_OK);
	assert_int_equal(pb_ip4_sum(b), 0xffff);
	assert_memory_equal(b + 16, t.b, 4);
	assert_memory_equal(b + 20, orig + 20, n - 20);
	assert_int_equal(p.dport, 0);
	pb_assert_addr(&p.dst, T4);
}

static void test_icmp6_echo(void **state)
{
	struct pb_spec s = { .family = AF_INET6, .src = C6, .dst = V6 };
	uint8_t b[256], want[256], quote[32];
	size_t n, wn;

	memset(quote, 0x5a, sizeof(quote));
	n = pb_build_icmp_err(b, &s, 128, 0, 0x00010002, quote, sizeof(quote));
	s.dst = T6;
	wn = pb_build_icmp_err(want, &s, 128, 0, 0x00010002, quote, sizeof(quote));
	rewrite_and_compare(b, n, MANGLE_DST, T6, 8080, false, want, wn);

	/* ICMPv4 echo: the checksum has no pseudo-header and stays */
	s.family = AF_INET;
	s.src = C4;
	s.dst = V4;
	n = pb_build_icmp_err(b, &s, 8, 0, 0x00010002, quote, sizeof(quote));
	s.dst = T4;
	wn = pb_build_icmp_err(want, &s, 8, 0, 0x00010002, quote, sizeof(quote));
	assert_memory_equal(b + 22, want + 22, 2);
	rewrite_and_compare(b, n, MANGLE_DST, T4, 0, false, want, wn);
}

static void test_errors_leave_packet(void **state)
{
	uint8_t b[1600], orig[1600];
	struct ip_addr t4 = pb_addr(T4), t6 = pb_addr(T6), none;
	struct pb_spec s = base_specs[0];
	struct pkt p, op;
	size_t n;

	n = pb_build_pkt(b, &s);
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	op = p;
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t6, 0, false), MANGLE_ERR_FAMILY);
	memset(&none, 0, sizeof(none));
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &none, 0, false), MANGLE_ERR_FAMILY);
	assert_int_equal(mangle_rewrite(b, n - 1, &p, MANGLE_DST, &t4, 0, false),
			 MANGLE_ERR_SHORT);
	assert_memory_equal(b, orig, n);
	assert_memory_equal(&p, &op, sizeof(p));

	s.proto = 47;		/* GRE */
	n = pb_build_pkt(b, &s);
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t4, 0, false), MANGLE_ERR_PROTO);
	assert_memory_equal(b, orig, n);

	/* ICMP error quoting nothing usable */
	n = icmp_err(b, AF_INET, "10.9.9.9", V4, V4, 80, C4, 40000, IPPROTO_TCP, false, 48,
		     NULL);
	b[28] = 0x75;
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.family, 0);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t4, 8080, false), MANGLE_ERR_SHORT);
	assert_memory_equal(b, orig, n);

	/* SCTP first fragment: the CRC cannot be recomputed */
	s = base_specs[2];
	s.proto = IPPROTO_SCTP;
	n = pb_build_pkt(b, &s);
	be_put16(b + 6, 0x2000);
	pb_fix_ip4(b);
	memcpy(orig, b, n);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t4, 8080, false), MANGLE_ERR_SHORT);
	assert_memory_equal(b, orig, n);
	assert_int_equal(mangle_rewrite(b, n, &p, MANGLE_DST, &t4, 0, false), MANGLE_OK);
	assert_memory_equal(b + 16, t4.b, 4);
	assert_memory_equal(b + 20, orig + 20, n - 20);
}

static uint32_t lcg(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

/* Random packets, random chains of rewrites: every checksum stays right. */
static void test_random_chains(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	uint8_t ext[4], b[2048];
	uint32_t st = 12345, i, k;
	struct ip_addr a;
	struct pb_spec s;
	struct pkt p;
	int round;
	size_t n;

	for (round = 0; round < 400; round++) {
		memset(&s, 0, sizeof(s));
		s.family = lcg(&st) & 1 ? AF_INET6 : AF_INET;
		s.src = s.family == AF_INET ? C4 : C6;
		s.dst = s.family == AF_INET ? V4 : V6;
		s.proto = protos[lcg(&st) % 3];
		s.sport = (uint16_t)lcg(&st);
		s.dport = (uint16_t)lcg(&st);
		s.seq = lcg(&st);
		s.payload = lcg(&st) % 1400;
		s.v4_opt = 4 * (lcg(&st) % 11);
		s.n_ext = lcg(&st) % 4;
		for (i = 0; i < s.n_ext; i++)
			ext[i] = i ? IPPROTO_DSTOPTS : IPPROTO_HOPOPTS;
		s.ext = ext;
		n = pb_build_pkt(b, &s);
		assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
		for (k = 0; k < 6; k++) {
			memset(&a, 0, sizeof(a));
			a.family = (uint8_t)s.family;
			for (i = 0; i < addr_len(&a); i++)
				a.b[i] = (uint8_t)lcg(&st);
			assert_int_equal(mangle_rewrite(b, n, &p, lcg(&st) & 1 ? MANGLE_SRC :
							MANGLE_DST, &a, (uint16_t)lcg(&st),
							lcg(&st) % 4 == 0), MANGLE_OK);
			assert_csums(b, n);
		}
	}
}

static void test_status_names(void **state)
{
	assert_string_equal(mangle_status_name(MANGLE_OK), "ok");
	assert_string_equal(mangle_status_name(MANGLE_ERR_FAMILY), "family");
	assert_string_equal(mangle_status_name(MANGLE_ERR_PROTO), "proto");
	assert_string_equal(mangle_status_name(MANGLE_ERR_SHORT), "short");
	assert_string_equal(mangle_status_name(MANGLE__MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_udp_matrix),
		cmocka_unit_test(test_full_csum),
		cmocka_unit_test(test_udp_zero_csum),
		cmocka_unit_test(test_udp_result_ffff),
		cmocka_unit_test(test_sctp),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_icmp_inner_csum_edges),
		cmocka_unit_test(test_later_fragment),
		cmocka_unit_test(test_icmp6_echo),
		cmocka_unit_test(test_errors_leave_packet),
		cmocka_unit_test(test_random_chains),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
