/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pktbuild: packets built byte by byte for the unit tests, and reference checksums.
 * The sums here are a plain add of 16-bit words, written apart from nfq/csum on purpose:
 * a test that checked csum against itself could not fail.  Header-only, tests only;
 * the helpers assert (cmocka) on bad input instead of returning errors. */
#ifndef CLUSTERD_PKTBUILD_H
#define CLUSTERD_PKTBUILD_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "common/addr.h"
#include "common/be.h"

/* ---- reference checksums ---- */

/* Adds the big-endian 16-bit words of b to s; an odd last byte is padded with zero. */
static inline uint32_t pb_sum(uint32_t s, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static inline uint16_t pb_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Unfolded sum of the TCP/UDP/ICMPv6 pseudo-header. */
static inline uint32_t pb_pseudo(int family, const uint8_t *src, const uint8_t *dst,
				 uint8_t proto, uint32_t len)
{
	uint8_t ph[40] = { 0 };

	if (family == AF_INET) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		return pb_sum(0, ph, 12);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = proto;
	return pb_sum(0, ph, 40);
}

/* Sum of pseudo-header (not for ICMPv4) and L4 bytes: 0xffff when the checksum is right. */
static inline uint16_t pb_l4_sum(const uint8_t *b, int family, uint32_t l4_off,
				 uint32_t ip_len, uint8_t proto)
{
	const uint8_t *src = b + (family == AF_INET ? 12 : 8);
	const uint8_t *dst = b + (family == AF_INET ? 16 : 24);
	uint32_t s = 0;

	if (proto != IPPROTO_ICMP)
		s = pb_pseudo(family, src, dst, proto, ip_len - l4_off);
	return pb_fold(pb_sum(s, b + l4_off, ip_len - l4_off));
}

/* Writes the right L4 checksum at l4_off + csoff (UDP sends 0 as 0xffff). */
static inline void pb_fix_l4(uint8_t *b, int family, uint32_t l4_off, uint32_t ip_len,
			     uint8_t proto, uint32_t csoff)
{
	uint16_t c;

	b[l4_off + csoff] = b[l4_off + csoff + 1] = 0;
	c = (uint16_t)~pb_l4_sum(b, family, l4_off, ip_len, proto);
	if (c == 0 && proto == IPPROTO_UDP)
		c = 0xffff;
	be_put16(b + l4_off + csoff, c);
}

/* Sum of the IPv4 header as long as its IHL says: 0xffff when the checksum is right. */
static inline uint16_t pb_ip4_sum(const uint8_t *b)
{
	return pb_fold(pb_sum(0, b, (size_t)(b[0] & 0x0f) * 4));
}

static inline void pb_fix_ip4(uint8_t *b)
{
	b[10] = b[11] = 0;
	be_put16(b + 10, (uint16_t)~pb_ip4_sum(b));
}

/* Bit by bit CRC32c, reflected polynomial 0x82f63b78. */
static inline uint32_t pb_crc32c(const uint8_t *b, size_t n)
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

/* 0 when the CRC32c stored (least significant byte first) at offset 8 of the n-byte SCTP
 * packet sh is right. */
static inline uint32_t pb_crc32c_field(const uint8_t *sh, size_t n)
{
	uint8_t c[2048];
	uint32_t want, got;

	assert_true(n >= 12 && n <= sizeof(c));
	memcpy(c, sh, n);
	memset(c + 8, 0, 4);
	want = pb_crc32c(c, n);
	got = (uint32_t)sh[8] | (uint32_t)sh[9] << 8 | (uint32_t)sh[10] << 16 |
	      (uint32_t)sh[11] << 24;
	return want ^ got;
}

/* ---- builders ---- */

struct pb_spec {
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

static inline struct ip_addr pb_addr(const char *s)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	return a;
}

static inline void pb_assert_addr(const struct ip_addr *a, const char *s)
{
	struct ip_addr b = pb_addr(s);

	assert_true(addr_eq(a, &b));
}

static inline void pb_parse_addr(const char *s, uint8_t *out)
{
	struct ip_addr a = pb_addr(s);

	memcpy(out, a.b, addr_len(&a));
}

/* Writes the IP header (+ options / extension headers) ending with next protocol proto and
 * l4len bytes to follow; returns the L4 offset. */
static inline uint32_t pb_build_ip(uint8_t *b, const struct pb_spec *s, uint8_t proto,
				   uint32_t l4len)
{
	uint32_t off, i, hl;
	uint8_t *nh;

	if (s->family == AF_INET) {
		hl = 20 + s->v4_opt;
		memset(b, 0, hl);
		b[0] = (uint8_t)(0x40 | hl / 4);
		be_put16(b + 2, (uint16_t)(hl + l4len));
		be_put16(b + 4, 0x1234);
		b[8] = 61;
		b[9] = proto;
		pb_parse_addr(s->src, b + 12);
		pb_parse_addr(s->dst, b + 16);
		if (s->v4_opt) {	/* record route, then EOL padding */
			b[20] = 7;
			b[21] = (uint8_t)(s->v4_opt - 1);
			b[22] = 4;
		}
		pb_fix_ip4(b);
		return hl;
	}
	memset(b, 0, 40);
	b[0] = 0x60;
	b[7] = 61;
	pb_parse_addr(s->src, b + 8);
	pb_parse_addr(s->dst, b + 24);
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
			be_put32(b + off + 4, 0xabcdef01);
		else
			b[off + 2] = 1;	/* a PadN option / routing type 1 */
		off += hl;
	}
	*nh = proto;
	be_put16(b + 4, (uint16_t)(off - 40 + l4len));
	return off;
}

static inline uint32_t pb_l4_hdr_len(uint8_t proto)
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

/* A whole TCP/UDP/SCTP packet with right checksums (any other proto gets an 8-byte
 * zero header); payload byte i is i * 7 + 3.  Returns its length. */
static inline size_t pb_build_pkt(uint8_t *b, const struct pb_spec *s)
{
	uint32_t hl = pb_l4_hdr_len(s->proto), l4len = hl + s->payload, off, i, crc;
	uint8_t *l4;

	off = pb_build_ip(b, s, s->proto, l4len);
	l4 = b + off;
	memset(l4, 0, hl);
	be_put16(l4, s->sport);
	be_put16(l4 + 2, s->dport);
	for (i = 0; i < s->payload; i++)
		l4[hl + i] = (uint8_t)(i * 7 + 3);
	switch (s->proto) {
	case IPPROTO_TCP:
		be_put32(l4 + 4, s->seq);
		be_put32(l4 + 8, s->ack);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		be_put16(l4 + 14, 0xfaf0);
		pb_fix_l4(b, s->family, off, off + l4len, IPPROTO_TCP, 16);
		break;
	case IPPROTO_UDP:
		be_put16(l4 + 4, (uint16_t)l4len);
		if (!s->udp_nocsum)
			pb_fix_l4(b, s->family, off, off + l4len, IPPROTO_UDP, 6);
		break;
	case IPPROTO_SCTP:
		be_put32(l4 + 4, 0x11223344);
		crc = pb_crc32c(l4, l4len);
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
		break;
	}
	return off + l4len;
}

/* ICMP(v6) message from s->src to s->dst: type, code, 4 bytes of info, then the first qlen
 * bytes of inner; returns its length. */
static inline size_t pb_build_icmp_err(uint8_t *b, const struct pb_spec *s, uint8_t type,
				       uint8_t code, uint32_t info, const uint8_t *inner,
				       size_t qlen)
{
	uint8_t proto = s->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint32_t off = pb_build_ip(b, s, proto, 8 + (uint32_t)qlen);

	b[off] = type;
	b[off + 1] = code;
	b[off + 2] = b[off + 3] = 0;
	be_put32(b + off + 4, info);
	memcpy(b + off + 8, inner, qlen);
	pb_fix_l4(b, s->family, off, off + 8 + (uint32_t)qlen, proto, 2);
	return off + 8 + qlen;
}

#endif
