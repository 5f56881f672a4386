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

/* ---- test helpers: packets built byte by byte, checksums by the book ---- */

static uint32_t ref_sum(uint32_t s, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t ref_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   uint32_t len)
{
	uint8_t ph[40] = { 0 };

	if (family == AF_INET) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		return ref_sum(0, ph, 12);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = proto;
	return ref_sum(0, ph, 40);
}

/* Sum of pseudo-header (not for ICMPv4) and L4 bytes: 0xffff when the checksum is right. */
static uint16_t ref_l4_sum(const uint8_t *b, int family, uint32_t l4_off, uint32_t ip_len,
			   uint8_t proto)
{
	const uint8_t *src = b + (family == AF_INET ? 12 : 8);
	const uint8_t *dst = b + (family == AF_INET ? 16 : 24);
	uint32_t s = 0;

	if (proto != IPPROTO_ICMP)
		s = ref_pseudo(family, src, dst, proto, ip_len - l4_off);
	return ref_fold(ref_sum(s, b + l4_off, ip_len - l4_off));
}

static void ref_fix_l4(uint8_t *b, int family, uint32_t l4_off, uint32_t ip_len, uint8_t proto,
		       uint32_t csoff)
{
	uint16_t c;

	b[l4_off + csoff] = b[l4_off + csoff + 1] = 0;
	c = (uint16_t)~ref_l4_sum(b, family, l4_off, ip_len, proto);
	if (c == 0 && proto == IPPROTO_UDP)
		c = 0xffff;
	b[l4_off + csoff] = (uint8_t)(c >> 8);
	b[l4_off + csoff + 1] = (uint8_t)c;
}

static uint16_t ref_ip4_sum(const uint8_t *b)
{
	return ref_fold(ref_sum(0, b, (size_t)(b[0] & 0x0f) * 4));
}

static void ref_fix_ip4(uint8_t *b)
{
	uint16_t c;

	b[10] = b[11] = 0;
	c = (uint16_t)~ref_ip4_sum(b);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
}

/* Bit by bit CRC32c, reflected polynomial 0x82f63b78. */
static uint32_t ref_crc32c(const uint8_t *b, size_t n)
{
	uint32_t c = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= b[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

struct spec {
	int family;
	const char *src, *dst;
	uint8_t proto;
	unsigned int v4_opt;		/* bytes of IPv4 options, multiple of 4 */
	const uint8_t *ext;		/* IPv6 extension header types, in order */
	unsigned int n_ext;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	unsigned int payload;
	bool udp_nocsum;
};

static void parse_addr(const char *s, uint8_t *out)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	memcpy(out, a.b, addr_len(&a));
}

/* Writes the IP header (+ options / extension headers) ending with next protocol proto and
 * l4len bytes to follow; returns the L4 offset. */
static uint32_t build_ip(uint8_t *b, const struct spec *s, uint8_t proto, uint32_t l4len)
{
	uint32_t off, i, hl;
	uint8_t *nh;

	if (s->family == AF_INET) {
		hl = 20 + s->v4_opt;
		memset(b, 0, hl);
		b[0] = (uint8_t)(0x40 | hl / 4);
		put16(b + 2, (uint16_t)(hl + l4len));
		put16(b + 4, 0x1234);
		b[8] = 61;
		b[9] = proto;
		parse_addr(s->src, b + 12);
		parse_addr(s->dst, b + 16);
		if (s->v4_opt) {	/* record route, then EOL padding */
			b[20] = 7;
			b[21] = (uint8_t)(s->v4_opt - 1);
			b[22] = 4;
		}
		ref_fix_ip4(b);
		return hl;
	}
	memset(b, 0, 40);
	b[0] = 0x60;
	b[7] = 61;
	parse_addr(s->src, b + 8);
	parse_addr(s->dst, b + 24);
	nh = b + 6;
	off = 40;
	for (i = 0; i < s->n_ext; i++) {
		hl = s->ext[i] == IPPROTO_AH ? 16 : 8;
		memset(b + off, 0, hl);
		*nh = s->ext[i];
		nh = b + off;
		if (s->ext[i] == IPPROTO_AH)
			b[off + 1] = 2;
		else if (s->ext[i] == IPPROTO_FRAGMENT)
			put32(b + off + 4, 0xabcdef01);
		else
			b[off + 2] = 1;	/* a PadN option / routing type 1 */
		off += hl;
	}
	*nh = proto;
	put16(b + 4, (uint16_t)(off - 40 + l4len));
	return off;
}

static uint32_t l4_hdr_len(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_SCTP:
		return 12;
	default:
		return 8;
	}
}

/* A whole TCP/UDP/SCTP packet with right checksums; returns its length. */
static size_t build_pkt(uint8_t *b, const struct spec *s)
{
	uint32_t hl = l4_hdr_len(s->proto), l4len = hl + s->payload, off, i, crc;
	uint8_t *l4;

	off = build_ip(b, s, s->proto, l4len);
	l4 = b + off;
	memset(l4, 0, hl);
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	for (i = 0; i < s->payload; i++)
		l4[hl + i] = (uint8_t)(i * 7 + 3);
	switch (s->proto) {
	case IPPROTO_TCP:
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		put16(l4 + 14, 0xfaf0);
		ref_fix_l4(b, s->family, off, off + l4len, IPPROTO_TCP, 16);
		break;
	case IPPROTO_UDP:
		put16(l4 + 4, (uint16_t)l4len);
		if (!s->udp_nocsum)
			ref_fix_l4(b, s->family, off, off + l4len, IPPROTO_UDP, 6);
		break;
	case IPPROTO_SCTP:
		put32(l4 + 4, 0x11223344);
		crc = ref_crc32c(l4, l4len);
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
		break;
	}
	return off + l4len;
}

/* ICMP(v6) error from s->src to s->dst quoting the first qlen bytes of inner. */
static size_t build_icmp_err(uint8_t *b, const struct spec *s, uint8_t type, uint8_t code,
			     uint32_t info, const uint8_t *inner, size_t qlen)
{
	uint8_t proto = s->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint32_t off = build_ip(b, s, proto, 8 + (uint32_t)qlen);

	b[off] = type;
	b[off + 1] = code;
	b[off + 2] = b[off + 3] = 0;
	put32(b + off + 4, info);
	memcpy(b + off + 8, inner, qlen);
	ref_fix_l4(b, s->family, off, off + 8 + (uint32_t)qlen, proto, 2);
	return off + 8 + qlen;
}

/* ---- end of helpers ---- */

static const uint8_t ext5[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_AH,
				IPPROTO_DSTOPTS };
static const uint8_t ext_frag[] = { IPPROTO_FRAGMENT };
static const uint8_t ext_dst[] = { IPPROTO_DSTOPTS };

static const struct spec v4tcp = {
	.family = AF_INET, .src = "10.0.0.1", .dst = "10.2.0.100", .proto = IPPROTO_TCP,
	.sport = 40000, .dport = 80, .seq = 1000, .ack = 2000,
	.flags = PKT_TCP_ACK | PKT_TCP_PSH, .payload = 10,
};

static const struct spec v6udp = {
	.family = AF_INET6, .src = "2001:db8::1", .dst = "2001:db8:2::100", .proto = IPPROTO_UDP,
	.ext = ext5, .n_ext = 5, .sport = 5353, .dport = 53, .payload = 13,
};

static void assert_addr(const struct ip_addr *a, const char *s)
{
	struct ip_addr b;

	assert_true(addr_parse(&b, s));
	assert_true(addr_eq(a, &b));
}

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
	size_t n = build_pkt(b, &v4tcp);

	assert_int_equal(n, 50);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.ip_len, 50);
	assert_int_equal(p.l4_hdrlen, 20);
	assert_false(p.fragment);
	assert_false(p.later_fragment);
	assert_addr(&p.src, "10.0.0.1");
	assert_addr(&p.dst, "10.2.0.100");
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
	struct spec s = v4tcp;
	uint8_t b[128];
	struct pkt p;
	size_t n;

	s.v4_opt = 8;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_off, 28);
	assert_int_equal(p.ip_len, 58);
	assert_int_equal(p.sport, 40000);

	s.v4_opt = 40;		/* IHL 15 */
	n = build_pkt(b, &s);
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
	size_t n = build_pkt(b, &v4tcp);

	assert_int_equal(parse_exact(b, 0, &p), PKT_ERR_SHORT);
	assert_int_equal(parse_exact(b, 19, &p), PKT_ERR_SHORT);
	b[0] = 0x55;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_VERSION);
	b[0] = 0x44;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	b[0] = 0x4f;		/* 60-byte header in a 50-byte buffer */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_HDRLEN);
	b[0] = 0x45;
	put16(b + 2, 19);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	put16(b + 2, 51);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	put16(b + 2, 50);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
}

static void test_v4_fragments(void **state)
{
	uint8_t b[128];
	struct pkt p;
	size_t n = build_pkt(b, &v4tcp);

	put16(b + 6, 0x2000);	/* MF, offset 0: first fragment, L4 header here */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_false(p.later_fragment);
	assert_int_equal(p.sport, 40000);

	put16(b + 6, 185);	/* offset 1480, last fragment */
	b[32] = 0x00;		/* garbage doff: must not be looked at */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_true(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.l4_hdrlen, 0);

	put16(b + 6, 0x4000);	/* DF alone is no fragment */
	b[32] = 0x50;
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_false(p.fragment);
}

static void test_v6_ext(void **state)
{
	struct spec s = v6udp;
	uint8_t b[256];
	struct pkt p;
	size_t n = build_pkt(b, &s);

	assert_int_equal(n, 40 + 48 + 8 + 13);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 88);
	assert_int_equal(p.ip_len, n);
	assert_int_equal(p.l4_hdrlen, 8);
	assert_false(p.fragment);
	assert_addr(&p.src, "2001:db8::1");
	assert_addr(&p.dst, "2001:db8:2::100");
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.dport, 53);

	/* payload length beyond the buffer */
	put16(b + 4, (uint16_t)(n - 40 + 1));
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_TOTLEN);
	/* payload length ending inside the AH header */
	put16(b + 4, 24 + 10);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);
	assert_int_equal(parse_exact(b, 39, &p), PKT_ERR_SHORT);
	b[0] = 0x70;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_VERSION);
}

static void test_v6_ext_limits(void **state)
{
	uint8_t ext[9], b[256];
	struct spec s = v6udp;
	struct pkt p;
	size_t n;

	memset(ext, IPPROTO_DSTOPTS, sizeof(ext));
	s.ext = ext;
	s.n_ext = 8;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_off, 40 + 64);
	s.n_ext = 9;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);

	/* hop-by-hop options only first */
	ext[0] = IPPROTO_DSTOPTS;
	ext[1] = IPPROTO_HOPOPTS;
	s.n_ext = 2;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_EXTHDR);
}

static void test_v6_fragments(void **state)
{
	struct spec s = v6udp;
	uint8_t b[256];
	struct pkt p;
	size_t n;

	s.ext = ext_frag;
	s.n_ext = 1;
	n = build_pkt(b, &s);
	put16(b + 42, 0x0001);	/* offset 0, M: first fragment */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_false(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 48);
	assert_int_equal(p.dport, 53);

	put16(b + 42, 0x05c8);	/* offset 185 * 8, last */
	put16(b + 52, 3);	/* a UDP length that would be refused in a header */
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_true(p.fragment);
	assert_true(p.later_fragment);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.l4_off, 48);
	assert_int_equal(p.dport, 0);
}

static void test_l4_errors(void **state)
{
	struct spec s = v4tcp;
	uint8_t b[128];
	struct pkt p;
	size_t n;

	s.payload = 0;
	n = build_pkt(b, &s);
	b[32] = 4 << 4;
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	b[32] = 6 << 4;		/* 24-byte header in a 20-byte segment */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	b[32] = 5 << 4;
	put16(b + 2, 39);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4SHORT);

	s.proto = IPPROTO_UDP;
	s.payload = 4;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.l4_hdrlen, 8);
	put16(b + 24, 13);	/* UDP length past the segment */
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	put16(b + 24, 7);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4HDR);
	put16(b + 2, 27);
	assert_int_equal(parse_exact(b, n, &p), PKT_ERR_L4SHORT);

	s.proto = IPPROTO_SCTP;
	s.payload = 16;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, IPPROTO_SCTP);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.l4_hdrlen, 12);
	put16(b + 2, 31);
	assert_int_equal(parse_exact(b, 31, &p), PKT_ERR_L4SHORT);

	/* unknown protocol: L3 only */
	s.proto = 47;
	n = build_pkt(b, &s);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.proto, 47);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.l4_hdrlen, 0);
}

/* Router 10.9.9.9 tells the VIPA its packet to the client was too big. */
static size_t icmp4_frag_needed(uint8_t *b, size_t qlen)
{
	struct spec in = { .family = AF_INET, .src = "10.2.0.100", .dst = "10.0.0.1",
			   .proto = IPPROTO_TCP, .v4_opt = 4, .sport = 80, .dport = 40000,
			   .seq = 77, .ack = 99, .flags = PKT_TCP_ACK, .payload = 1400 };
	struct spec out = { .family = AF_INET, .src = "10.9.9.9", .dst = "10.2.0.100" };
	uint8_t inner[1500];
	size_t n = build_pkt(inner, &in);

	assert_true(qlen <= n);
	return build_icmp_err(b, &out, 3, 4, 1400, inner, qlen);
}

static size_t icmp6_too_big(uint8_t *b, size_t qlen)
{
	struct spec in = { .family = AF_INET6, .src = "2001:db8:2::100", .dst = "2001:db8::1",
			   .proto = IPPROTO_TCP, .ext = ext_dst, .n_ext = 1, .sport = 80,
			   .dport = 40000, .seq = 77, .ack = 99, .flags = PKT_TCP_ACK,
			   .payload = 1400 };
	struct spec out = { .family = AF_INET6, .src = "2001:db8:9::9",
			    .dst = "2001:db8:2::100" };
	uint8_t inner[1500];
	size_t n = build_pkt(inner, &in);

	assert_true(qlen <= n);
	return build_icmp_err(b, &out, 2, 0, 1280, inner, qlen);
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
	assert_addr(&p.inner.src, "10.2.0.100");
	assert_addr(&p.inner.dst, "10.0.0.1");
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
	put16(b + 28 + 2, 24 + 4);
	assert_int_equal(parse_exact(b, n, &p), PKT_OK);
	assert_int_equal(p.inner.len, 28);
	assert_true(p.inner.has_ports);

	/* quoted later fragment: no ports */
	put16(b + 28 + 2, 1424);
	put16(b + 28 + 6, 100);
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
	assert_addr(&p.inner.src, "2001:db8:2::100");
	assert_addr(&p.inner.dst, "2001:db8::1");
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
	struct spec s = v4tcp;

	s.v4_opt = 12;
	return build_pkt(b, &s);
}

static size_t mk_v6udp(uint8_t *b)
{
	return build_pkt(b, &v6udp);
}

static size_t mk_v6sctp(uint8_t *b)
{
	struct spec s = v6udp;

	s.proto = IPPROTO_SCTP;
	s.ext = ext_dst;
	s.n_ext = 1;
	return build_pkt(b, &s);
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
		put16(b + 2, (uint16_t)n);
	else if (n >= 40)
		put16(b + 4, (uint16_t)(n - 40));
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
