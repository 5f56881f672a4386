/* Unit tests for nfq/reply: RST and port unreachable checked field by field and by sum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/pkt.h"
#include "nfq/reply.h"

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

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)get16(b) << 16 | get16(b + 2);
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

#define C4	"10.0.0.1"
#define V4	"10.2.0.100"
#define C6	"2001:db8::1"
#define V6	"2001:db8:2::100"

static void assert_addr_bytes(const uint8_t *b, const char *s)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	assert_memory_equal(b, a.b, addr_len(&a));
}

/* Parses the n bytes of a TCP packet built from s. */
static size_t make(uint8_t *b, const struct spec *s, struct pkt *p)
{
	size_t n = build_pkt(b, s);

	assert_int_equal(pkt_parse(b, n, p), PKT_OK);
	return n;
}

/* Common checks on a RST from V to C; returns the TCP header. */
static const uint8_t *check_rst(const uint8_t *r, size_t rn, int family)
{
	struct pkt q;
	size_t hl = family == AF_INET ? 20 : 40;

	assert_int_equal(rn, hl + 20);
	if (family == AF_INET) {
		assert_int_equal(r[0], 0x45);
		assert_int_equal(get16(r + 2), 40);
		assert_int_equal(get16(r + 6), 0x4000);
		assert_int_equal(r[8], 64);
		assert_int_equal(r[9], IPPROTO_TCP);
		assert_addr_bytes(r + 12, V4);
		assert_addr_bytes(r + 16, C4);
		assert_int_equal(ref_ip4_sum(r), 0xffff);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(get16(r + 4), 20);
		assert_int_equal(r[6], IPPROTO_TCP);
		assert_int_equal(r[7], 64);
		assert_addr_bytes(r + 8, V6);
		assert_addr_bytes(r + 24, C6);
	}
	assert_int_equal(ref_l4_sum(r, family, (uint32_t)hl, (uint32_t)rn, IPPROTO_TCP), 0xffff);
	assert_int_equal(get16(r + hl), 80);
	assert_int_equal(get16(r + hl + 2), 40000);
	assert_int_equal(r[hl + 12], 0x50);
	assert_int_equal(get16(r + hl + 14), 0);	/* window */
	assert_int_equal(get16(r + hl + 18), 0);	/* urgent pointer */
	/* and our own parser agrees */
	assert_int_equal(pkt_parse(r, rn, &q), PKT_OK);
	assert_int_equal(q.sport, 80);
	assert_int_equal(q.dport, 40000);
	return r + hl;
}

static void test_rst_to_syn(void **state)
{
	struct spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
			  .v4_opt = 8, .sport = 40000, .dport = 80, .seq = 0xfffffffe,
			  .flags = PKT_TCP_SYN };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET);
	assert_int_equal(get32(th + 4), 0);
	assert_int_equal(get32(th + 8), 0xffffffff);	/* seq + SYN */
	assert_int_equal(th[13], PKT_TCP_RST | PKT_TCP_ACK);
}

static void test_rst_to_data_fin(void **state)
{
	struct spec s = { .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_TCP,
			  .sport = 40000, .dport = 80, .seq = 0xfffffff0,
			  .flags = PKT_TCP_FIN | PKT_TCP_PSH, .payload = 100 };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET6);
	assert_int_equal(get32(th + 4), 0);
	assert_int_equal(get32(th + 8), 0x55);	/* seq + 100 + FIN, wrapped */
	assert_int_equal(th[13], PKT_TCP_RST | PKT_TCP_ACK);
}

static void test_rst_to_ack(void **state)
{
	struct spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
			  .sport = 40000, .dport = 80, .seq = 5, .ack = 0x89abcdef,
			  .flags = PKT_TCP_ACK | PKT_TCP_PSH, .payload = 20 };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET);
	assert_int_equal(get32(th + 4), 0x89abcdef);
	assert_int_equal(get32(th + 8), 0);
	assert_int_equal(th[13], PKT_TCP_RST);

	s.family = AF_INET6;
	s.src = C6;
	s.dst = V6;
	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET6);
	assert_int_equal(get32(th + 4), 0x89abcdef);
	assert_int_equal(th[13], PKT_TCP_RST);
}

static void test_rst_refusals(void **state)
{
	struct spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
			  .sport = 40000, .dport = 80, .flags = PKT_TCP_RST | PKT_TCP_ACK };
	uint8_t b[256], r[128];
	struct pkt p;

	memset(r, 0xaa, sizeof(r));
	make(b, &s, &p);
	assert_int_equal(reply_tcp_rst(b, &p, r, sizeof(r)), 0);	/* never RST a RST */
	s.flags = PKT_TCP_SYN;
	make(b, &s, &p);
	assert_int_equal(reply_tcp_rst(b, &p, r, 39), 0);
	assert_int_equal(reply_tcp_rst(b, &p, r, 40), 40);
	s.proto = IPPROTO_UDP;
	make(b, &s, &p);
	assert_int_equal(reply_tcp_rst(b, &p, r, sizeof(r)), 0);
}

/* Common checks on a port unreachable from V to C quoting q bytes of b. */
static void check_unreach(const uint8_t *r, size_t rn, int family, const uint8_t *b, size_t q)
{
	size_t hl = family == AF_INET ? 20 : 40;

	assert_int_equal(rn, hl + 8 + q);
	if (family == AF_INET) {
		assert_int_equal(r[0], 0x45);
		assert_int_equal(get16(r + 2), rn);
		assert_int_equal(r[8], 64);
		assert_int_equal(r[9], IPPROTO_ICMP);
		assert_addr_bytes(r + 12, V4);
		assert_addr_bytes(r + 16, C4);
		assert_int_equal(ref_ip4_sum(r), 0xffff);
		assert_int_equal(r[20], 3);
		assert_int_equal(r[21], 3);
		assert_int_equal(ref_l4_sum(r, AF_INET, 20, (uint32_t)rn, IPPROTO_ICMP), 0xffff);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(get16(r + 4), rn - 40);
		assert_int_equal(r[6], IPPROTO_ICMPV6);
		assert_int_equal(r[7], 64);
		assert_addr_bytes(r + 8, V6);
		assert_addr_bytes(r + 24, C6);
		assert_int_equal(r[40], 1);
		assert_int_equal(r[41], 4);
		assert_int_equal(ref_l4_sum(r, AF_INET6, 40, (uint32_t)rn, IPPROTO_ICMPV6),
				 0xffff);
	}
	assert_int_equal(get32(r + hl + 4), 0);
	assert_memory_equal(r + hl + 8, b, q);
}

static void test_unreach_v4(void **state)
{
	struct spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_UDP,
			  .v4_opt = 4, .sport = 5000, .dport = 53, .payload = 30 };
	uint8_t b[2048], r[2048];
	struct pkt p, q;
	size_t n, rn;

	n = make(b, &s, &p);
	rn = reply_icmp_port_unreach(b, &p, r, sizeof(r));
	check_unreach(r, rn, AF_INET, b, n);
	assert_int_equal(pkt_parse(r, rn, &q), PKT_OK);
	assert_true(q.icmp_error);
	assert_int_equal(q.inner.sport, 5000);
	assert_int_equal(q.inner.dport, 53);

	/* a big datagram: the answer stops at 576 bytes */
	s.payload = 1400;
	n = make(b, &s, &p);
	rn = reply_icmp_port_unreach(b, &p, r, sizeof(r));
	check_unreach(r, rn, AF_INET, b, 576 - 28);

	/* a small cap shortens the quote down to IP header + 8 bytes */
	rn = reply_icmp_port_unreach(b, &p, r, 28 + 24 + 8);
	check_unreach(r, rn, AF_INET, b, 24 + 8);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, 28 + 24 + 7), 0);
}

static void test_unreach_v6(void **state)
{
	static const uint8_t ext[] = { IPPROTO_DSTOPTS };
	struct spec s = { .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_UDP,
			  .ext = ext, .n_ext = 1, .sport = 5000, .dport = 53, .payload = 30 };
	uint8_t b[2048], r[2048];
	size_t n, rn;
	struct pkt p;

	n = make(b, &s, &p);
	rn = reply_icmp_port_unreach(b, &p, r, sizeof(r));
	check_unreach(r, rn, AF_INET6, b, n);

	s.payload = 1400;
	n = make(b, &s, &p);
	assert_true(n > 1280);
	rn = reply_icmp_port_unreach(b, &p, r, sizeof(r));
	check_unreach(r, rn, AF_INET6, b, 1280 - 48);
}

static void test_unreach_refusals(void **state)
{
	struct spec s = { .family = AF_INET, .src = C4, .dst = "224.0.0.251",
			  .proto = IPPROTO_UDP, .sport = 5353, .dport = 5353, .payload = 8 };
	struct spec e = { .family = AF_INET6, .src = C6, .dst = V6 };
	uint8_t b[2048], r[2048], quote[48];
	struct pkt p;
	size_t n;

	make(b, &s, &p);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	s.dst = V4;
	s.src = "0.0.0.0";
	make(b, &s, &p);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	s.family = AF_INET6;
	s.src = C6;
	s.dst = "ff02::fb";
	make(b, &s, &p);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);

	/* no error about an error (or any ICMPv6 error type) */
	memset(quote, 0, sizeof(quote));
	quote[0] = 0x60;
	n = build_icmp_err(b, &e, 2, 0, 1280, quote, sizeof(quote));
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	n = build_icmp_err(b, &e, 100, 0, 0, quote, sizeof(quote));
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	/* but an echo request may be answered */
	n = build_icmp_err(b, &e, 128, 0, 0, quote, sizeof(quote));
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 40 + 8 + n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_to_syn),
		cmocka_unit_test(test_rst_to_data_fin),
		cmocka_unit_test(test_rst_to_ack),
		cmocka_unit_test(test_rst_refusals),
		cmocka_unit_test(test_unreach_v4),
		cmocka_unit_test(test_unreach_v6),
		cmocka_unit_test(test_unreach_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
