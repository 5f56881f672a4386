/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/pkt: every field of the view, every error, and truncation at
 * every length inside exactly sized heap buffers (ASan catches any overread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/pkt.h"
#include "tests/unit/pktbuild.h"

static const uint8_t ext5[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_AH,
				IPPROTO_DSTOPTS };
static const uint8_t ext_frag[] = { IPPROTO_FRAGMENT };
static const uint8_t ext_dst[] = { IPPROTO_DSTOPTS };

static const struct pb_spec v4tcp = {
	.family = AF_INET, .src = "10.0.0.1", .dst = "10.2.0.100", .proto = IPPROTO_TCP,
	.sport = 40000, .dport = 80, .seq = 1000, .ack = 2000,
	.flags = PKT_TCP_ACK | PKT_TCP_PSH, .payload = 10,
};

static const struct pb_spec v6udp = {
	.family = AF_INET6, .src = "2001:db8::1", .dst = "2001:db8:2::100", .proto = IPPROTO_UDP,
	.ext = ext5, .n_ext = 5, .sport = 5353, .dport = 53, .payload = 13,
};

/* Parses len bytes from a heap buffer of exactly that size. */
static enum pkt_status parse_exact(const uint8_t *b, size_t len, struct pkt *p)
{
	uint8_t *h = malloc(len ? len : 1);
	enum pkt_status st;

	assert_non_null(h);
	memcpy(h, b, len);
	st = pkt_parse(h, len, p);
	free(h);
	return st;
}

/* What any PKT_OK view must satisfy for a buffer of n bytes. */
static void assert_consistent(const struct pkt *p, size_t n)
{
	const struct pkt_inner *in = &p->inner;

	assert_true(p->family == AF_INET || p->family == AF_INET6);
	assert_true(p->ip_len <= n);
	assert_true(p->l4_off <= p->ip_len);
	assert_true(p->l4_hdrlen <= p->ip_len - p->l4_off);
	if (p->later_fragment)
		assert_int_equal(p->l4_hdrlen, 0);
	if (!p->icmp_error) {
		assert_int_equal(in->family, 0);
		return;
	}
	if (!in->family)
		return;
	assert_int_equal(in->family, p->family);
	assert_true(in->l3_off == p->l4_off + 8);
	assert_true(in->l3_off + in->len <= p->ip_len);
	assert_true(in->l4_off <= in->l3_off + in->len);
	assert_true(in->len >= (in->family == AF_INET ? 20u : 40u));
	if (in->has_ports)
		assert_true(in->l3_off + in->len - in->l4_off >= 4);
}

static void test_v4_tcp(void **state)
{
	uint8_t b[128];
	struct pkt p;
	size_t n = pb_build_pkt(b, &v4tcp);

	assert_int_equal(n, 50);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.ip_len, 50);
	assert_int_equal(p.l4_hdrlen, 20);
	assert_false(p.fragment);
	assert_false(p.later_fragment);
	pb_assert_addr(&p.src, "10.0.0.1");
	pb_assert_addr(&p.dst, "10.2.0.100");
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.seq, 1000);
	assert_int_equal(p.ack, 2000);
	assert_int_equal(p.tcp_flags, 0x18);
	assert_false(p.icmp_error);
	assert_int_equal(p.inner.family, 0);

	/* link-layer padding after the datagram is not part of it */
	memset(b + n, 0xee, 6);
	assert_int_equal(parse_exact(b, n + 6, &p), PKT_OK);
	assert_int_equal(p.ip_len, 50);
}

static void test_v4_options(void **state)
{
	struct pb_spec s = v4tcp;
	uint8_t b[128];
	struct pkt p;
	size_t n;

	s.v4_opt = 8;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_off, 28);
	assert_int_equal(p.ip_len, 58);
	assert_int_equal(p.sport, 40000);

	s.v4_opt = 40;		/* IHL 15 */
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_off, 60);
	assert_int_equal(p.dport, 80);

	/* option length running past the header */
	b[21] = 41;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	/* option length below 2 */
	b[21] = 1;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	/* only NOPs */
	memset(b + 20, 1 /* NOP */, 40);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	/* a lone option type byte at the very end */
	b[59] = 7;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
}

static void test_v4_errors(void **state)
{
	uint8_t b[128];
	struct pkt p;
	size_t n = pb_build_pkt(b, &v4tcp);

	assert_int_equal(parse_exact(b, 0, &p), PKT_ERR_SHORT);
	assert_int_equal(parse_exact(b, 19, &p), PKT_ERR_SHORT);
	b[0] = 0x55;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_VERSION);
	b[0] = 0x44;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	b[0] = 0x4f;		/* 60-byte header in a 50-byte buffer */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	b[0] = 0x45;
	be_put16(b + 2, 19);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	be_put16(b + 2, 51);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	be_put16(b + 2, 50);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
}

static void test_v4_fragments(void **state)
{
	uint8_t b[128];
	struct pkt p;
	size_t n = pb_build_pkt(b, &v4tcp);

	be_put16(b + 6, 0x2000);	/* MF, offset 0: first fragment, L4 header here */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_false(p.later_fragment);
	assert_int_equal(p.sport, 40000);

	be_put16(b + 6, 185);	/* offset 1480, last fragment */
	b[32] = 0x00;		/* garbage doff: must not be looked at */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_true(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.l4_hdrlen, 0);

	be_put16(b + 6, 0x4000);	/* DF alone is no fragment */
	b[32] = 0x50;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_false(p.fragment);
}

static void test_v6_ext(void **state)
{
	struct pb_spec s = v6udp;
	uint8_t b[256];
	struct pkt p;
	size_t n = pb_build_pkt(b, &s);

	assert_int_equal(n, 40 + 48 + 8 + 13);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 88);
	assert_int_equal(p.ip_len, n);
	assert_int_equal(p.l4_hdrlen, 8);
	assert_false(p.fragment);
	pb_assert_addr(&p.src, "2001:db8::1");
	pb_assert_addr(&p.dst, "2001:db8:2::100");
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.dport, 53);

	/* payload length beyond the buffer */
	be_put16(b + 4, (uint16_t)(n - 40 + 1));
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	/* payload length ending inside the AH header */
	be_put16(b + 4, 24 + 10);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);
	assert_int_equal(parse_exact(b, 39, &p), PKT_ERR_SHORT);
	b[0] = 0x70;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_VERSION);
}

static void test_v6_ext_limits(void **state)
{
	uint8_t ext[9], b[256];
	struct pb_spec s = v6udp;
	struct pkt p;
	size_t n;

	memset(ext, IPPROTO_DSTOPTS, sizeof(ext));
	s.ext = ext;
	s.n_ext = 8;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_off, 40 + 64);
	s.n_ext = 9;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);

	/* hop-by-hop options only first */
	ext[0] = IPPROTO_DSTOPTS;
	ext[1] = IPPROTO_HOPOPTS;
	s.n_ext = 2;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);
}

static void test_v6_fragments(void **state)
{
	struct pb_spec s = v6udp;
	uint8_t b[256];
	struct pkt p;
	size_t n;

	s.ext = ext_frag;
	s.n_ext = 1;
	n = pb_build_pkt(b, &s);
	be_put16(b + 42, 0x0001);	/* offset 0, M: first fragment */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_false(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 48);
	assert_int_equal(p.dport, 53);

	be_put16(b + 42, 0x05c8);	/* offset 185 * 8, last */
	be_put16(b + 52, 3);	/* a UDP length that would be refused in a header */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_true(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 48);
	assert_int_equal(p.dport, 0);
}

static void test_l4_errors(void **state)
{
	struct pb_spec s = v4tcp;
	uint8_t b[128];
	struct pkt p;
	size_t n;

	s.payload = 0;
	n = pb_build_pkt(b, &s);
	b[32] = 4 << 4;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	b[32] = 6 << 4;		/* 24-byte header in a 20-byte segment */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	b[32] = 5 << 4;
	be_put16(b + 2, 39);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4SHORT);

	s.proto = IPPROTO_UDP;
	s.payload = 4;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_hdrlen, 8);
	be_put16(b + 24, 13);	/* UDP length past the segment */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	be_put16(b + 24, 7);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	be_put16(b + 2, 27);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4SHORT);

	s.proto = IPPROTO_SCTP;
	s.payload = 16;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, IPPROTO_SCTP);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.l4_hdrlen, 12);
	be_put16(b + 2, 31);
	assert_int_equal(parse_exact(b, 31, &p), PKT_ERR_L4SHORT);

	/* unknown protocol: L3 only */
	s.proto = 47;
	n = pb_build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, 47);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.l4_hdrlen, 0);
}

/* Router 10.9.9.9 tells the VIPA its packet to the client was too big. */
static size_t icmp4_frag_needed(uint8_t *b, size_t qlen)
{
	struct pb_spec in = { .family = AF_INET, .src = "10.2.0.100", .dst = "10.0.0.1",
			      .proto = IPPROTO_TCP, .v4_opt = 4, .sport = 80, .dport = 40000,
			      .seq = 77, .ack = 99, .flags = PKT_TCP_ACK, .payload = 1400 };
	struct pb_spec out = { .family = AF_INET, .src = "10.9.9.9", .dst = "10.2.0.100" };
	uint8_t inner[1500];
	size_t n = pb_build_pkt(inner, &in);

	assert_true(qlen <= n);
	return pb_build_icmp_err(b, &out, 3, 4, 1400, inner, qlen);
}

static size_t icmp6_too_big(uint8_t *b, size_t qlen)
{
	struct pb_spec in = { .family = AF_INET6, .src = "2001:db8:2::100", .dst = "2001:db8::1",
			      .proto = IPPROTO_TCP, .ext = ext_dst, .n_ext = 1, .sport = 80,
			      .dport = 40000, .seq = 77, .ack = 99, .flags = PKT_TCP_ACK,
			      .payload = 1400 };
	struct pb_spec out = { .family = AF_INET6, .src = "2001:db8:9::9",
			       .dst = "2001:db8:2::100" };
	uint8_t inner[1500];
	size_t n = pb_build_pkt(inner, &in);

	assert_true(qlen <= n);
	return pb_build_icmp_err(b, &out, 2, 0, 1280, inner, qlen);
}

static void test_icmp4_error(void **state)
{
	uint8_t b[1600];
	struct pkt p;
	size_t n = icmp4_frag_needed(b, 24 + 8);

	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, IPPROTO_ICMP);
	assert_int_equal(p.icmp_type, 3);
	assert_int_equal(p.icmp_code, 4);
	assert_true(p.icmp_error);
	assert_int_equal(p.l4_hdrlen, 8);
	assert_int_equal(p.inner.family, AF_INET);
	assert_int_equal(p.inner.proto, IPPROTO_TCP);
	pb_assert_addr(&p.inner.src, "10.2.0.100");
	pb_assert_addr(&p.inner.dst, "10.0.0.1");
	assert_true(p.inner.has_ports);
	assert_int_equal(p.inner.sport, 80);
	assert_int_equal(p.inner.dport, 40000);
	assert_int_equal(p.inner.l3_off, 28);
	assert_int_equal(p.inner.l4_off, 28 + 24);
	assert_int_equal(p.inner.len, 32);
	assert_false(p.inner.later_fragment);
	assert_consistent(&p, n);

	/* only 2 bytes of the quoted TCP header: addresses, no ports */
	n = icmp4_frag_needed(b, 24 + 2);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.family, AF_INET);
	assert_false(p.inner.has_ports);

	/* a quote that is no IPv4 header: outer still fine, inner unusable */
	n = icmp4_frag_needed(b, 24 + 8);
	b[28] = 0x65;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.icmp_error);
	assert_int_equal(p.inner.family, 0);
	b[28] = 0x43;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.family, 0);

	/* the quoted datagram is shorter than the quote (trailing bytes) */
	n = icmp4_frag_needed(b, 24 + 8);
	be_put16(b + 28 + 2, 24 + 4);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.len, 28);
	assert_true(p.inner.has_ports);

	/* quoted later fragment: no ports */
	be_put16(b + 28 + 2, 1424);
	be_put16(b + 28 + 6, 100);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.inner.later_fragment);
	assert_false(p.inner.has_ports);

	/* echo request is no error */
	b[20] = 8;
	b[21] = 0;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_false(p.icmp_error);
	assert_int_equal(p.inner.family, 0);
}

static void test_icmp6_error(void **state)
{
	uint8_t b[1600];
	struct pkt p;
	size_t n = icmp6_too_big(b, 1232);

	assert_int_equal(n, 1280);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, IPPROTO_ICMPV6);
	assert_int_equal(p.icmp_type, 2);
	assert_true(p.icmp_error);
	assert_int_equal(p.inner.family, AF_INET6);
	assert_int_equal(p.inner.proto, IPPROTO_TCP);
	assert_int_equal(p.inner.l3_off, 48);
	assert_int_equal(p.inner.l4_off, 48 + 48);
	assert_int_equal(p.inner.len, 1232);
	pb_assert_addr(&p.inner.src, "2001:db8:2::100");
	pb_assert_addr(&p.inner.dst, "2001:db8::1");
	assert_true(p.inner.has_ports);
	assert_int_equal(p.inner.sport, 80);
	assert_int_equal(p.inner.dport, 40000);
	assert_consistent(&p, n);

	/* quote cut inside the destination options header */
	n = icmp6_too_big(b, 44);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.family, AF_INET6);
	assert_false(p.inner.has_ports);
	assert_int_equal(p.inner.proto, IPPROTO_DSTOPTS);

	/* echo request */
	n = icmp6_too_big(b, 60);
	b[40] = 128;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_false(p.icmp_error);
	assert_int_equal(p.inner.family, 0);

	/* ICMPv4 protocol number inside IPv6 is not parsed as ICMP */
	b[6] = IPPROTO_ICMP;
	b[40] = 3;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_false(p.icmp_error);
	assert_int_equal(p.l4_hdrlen, 0);
}

typedef size_t (*maker)(uint8_t *b);

static size_t mk_v4tcp_opt(uint8_t *b)
{
	struct pb_spec s = v4tcp;

	s.v4_opt = 12;
	return pb_build_pkt(b, &s);
}

static size_t mk_v6udp(uint8_t *b)
{
	return pb_build_pkt(b, &v6udp);
}

static size_t mk_v6sctp(uint8_t *b)
{
	struct pb_spec s = v6udp;

	s.proto = IPPROTO_SCTP;
	s.ext = ext_dst;
	s.n_ext = 1;
	return pb_build_pkt(b, &s);
}

static size_t mk_icmp4(uint8_t *b)
{
	return icmp4_frag_needed(b, 24 + 40);
}

static size_t mk_icmp6(uint8_t *b)
{
	return icmp6_too_big(b, 40 + 8 + 30);
}

static const maker makers[] = { mk_v4tcp_opt, mk_v6udp, mk_v6sctp, mk_icmp4, mk_icmp6 };

/* Set the IP length field to n, as if the packet had been sent that short. */
static void set_len(uint8_t *b, size_t n)
{
	if (n < 6)
		return;
	if (b[0] >> 4 == 4)
		be_put16(b + 2, (uint16_t)n);
	else if (n >= 40)
		be_put16(b + 4, (uint16_t)(n - 40));
}

static void test_truncation(void **state)
{
	uint8_t b[1600], t[1600];
	unsigned int m, oks;
	struct pkt p, full;
	size_t n, i;

	for (m = 0; m < sizeof(makers) / sizeof(makers[0]); m++) {
		n = makers[m](b);
		assert_int_equal(parse_exact(b, n, &full), PKT_OK);
		oks = 0;
		for (i = 0; i <= n; i++) {
			/* cut short, lengths untouched: always an error until complete */
			if (parse_exact(b, i, &p) == PKT_OK) {
				assert_int_equal(i, n);
				assert_consistent(&p, i);
			}
			/* cut short with lengths saying so */
			memcpy(t, b, n);
			set_len(t, i);
			if (parse_exact(t, i, &p) == PKT_OK) {
				assert_consistent(&p, i);
				assert_int_equal(p.ip_len, i);
				assert_int_equal(p.proto, full.proto);
				oks++;
			}
		}
		/* from the end of the L4 header on, every length parses, except that a
		 * UDP length field left as it was refuses any cut */
		if (full.proto == IPPROTO_UDP)
			assert_int_equal(oks, 1);
		else
			assert_int_equal(oks, n - (full.l4_off + full.l4_hdrlen) + 1);
	}
}

static void test_byte_flips(void **state)
{
	static const uint8_t vals[] = { 0x00, 0xff, 0x01, 0x80 };
	uint8_t b[1600];
	unsigned int m, v;
	struct pkt p;
	size_t n, i;
	uint8_t o;

	for (m = 0; m < sizeof(makers) / sizeof(makers[0]); m++) {
		n = makers[m](b);
		for (i = 0; i < n && i < 160; i++) {
			o = b[i];
			for (v = 0; v < sizeof(vals); v++) {
				b[i] = vals[v];
				if (parse_exact(b, n, &p) == PKT_OK)
					assert_consistent(&p, n);
				b[i] = (uint8_t)(o ^ vals[v]);
				if (parse_exact(b, n, &p) == PKT_OK)
					assert_consistent(&p, n);
			}
			b[i] = o;
		}
	}
}

static void test_status_names(void **state)
{
	assert_string_equal(pkt_status_name(PKT_OK), "ok");
	assert_string_equal(pkt_status_name(PKT_ERR_SHORT), "short");
	assert_string_equal(pkt_status_name(PKT_ERR_VERSION), "version");
	assert_string_equal(pkt_status_name(PKT_ERR_HDRLEN), "hdrlen");
	assert_string_equal(pkt_status_name(PKT_ERR_TOTLEN), "totlen");
	assert_string_equal(pkt_status_name(PKT_ERR_EXTHDR), "exthdr");
	assert_string_equal(pkt_status_name(PKT_ERR_L4SHORT), "l4short");
	assert_string_equal(pkt_status_name(PKT_ERR_L4HDR), "l4hdr");
	assert_string_equal(pkt_status_name(PKT__MAX), "unknown");
	assert_string_equal(pkt_status_name((enum pkt_status)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp),
		cmocka_unit_test(test_v4_options),
		cmocka_unit_test(test_v4_errors),
		cmocka_unit_test(test_v4_fragments),
		cmocka_unit_test(test_v6_ext),
		cmocka_unit_test(test_v6_ext_limits),
		cmocka_unit_test(test_v6_fragments),
		cmocka_unit_test(test_l4_errors),
		cmocka_unit_test(test_icmp4_error),
		cmocka_unit_test(test_icmp6_error),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
