/* SPDX-License-Identifier: GPL-2.0-or-later */
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
#include "tests/unit/pktbuild.h"

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
static size_t make(uint8_t *b, const struct pb_spec *s, struct pkt *p)
{
	size_t n = pb_build_pkt(b, s);

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
		assert_int_equal(be_get16(r + 2), 40);
		assert_int_equal(be_get16(r + 6), 0x4000);
		assert_int_equal(r[8], 64);
		assert_int_equal(r[9], IPPROTO_TCP);
		assert_addr_bytes(r + 12, V4);
		assert_addr_bytes(r + 16, C4);
		assert_int_equal(pb_ip4_sum(r), 0xffff);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(be_get16(r + 4), 20);
		assert_int_equal(r[6], IPPROTO_TCP);
		assert_int_equal(r[7], 64);
		assert_addr_bytes(r + 8, V6);
		assert_addr_bytes(r + 24, C6);
	}
	assert_int_equal(pb_l4_sum(r, family, (uint32_t)hl, (uint32_t)rn, IPPROTO_TCP), 0xffff);
	assert_int_equal(be_get16(r + hl), 80);
	assert_int_equal(be_get16(r + hl + 2), 40000);
	assert_int_equal(r[hl + 12], 0x50);
	assert_int_equal(be_get16(r + hl + 14), 0);	/* window */
	assert_int_equal(be_get16(r + hl + 18), 0);	/* urgent pointer */
	/* and our own parser agrees */
	assert_int_equal(pkt_parse(r, rn, &q), PKT_OK);
	assert_int_equal(q.sport, 80);
	assert_int_equal(q.dport, 40000);
	return r + hl;
}

static void test_rst_to_syn(void **state)
{
	struct pb_spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
			     .v4_opt = 8, .sport = 40000, .dport = 80, .seq = 0xfffffffe,
			     .flags = PKT_TCP_SYN };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET);
	assert_int_equal(be_get32(th + 4), 0);
	assert_int_equal(be_get32(th + 8), 0xffffffff);	/* seq + SYN */
	assert_int_equal(th[13], PKT_TCP_RST | PKT_TCP_ACK);
}

static void test_rst_to_data_fin(void **state)
{
	struct pb_spec s = { .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_TCP,
			     .sport = 40000, .dport = 80, .seq = 0xfffffff0,
			     .flags = PKT_TCP_FIN | PKT_TCP_PSH, .payload = 100 };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET6);
	assert_int_equal(be_get32(th + 4), 0);
	assert_int_equal(be_get32(th + 8), 0x55);	/* seq + 100 + FIN, wrapped */
	assert_int_equal(th[13], PKT_TCP_RST | PKT_TCP_ACK);
}

static void test_rst_to_ack(void **state)
{
	struct pb_spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
			     .sport = 40000, .dport = 80, .seq = 5, .ack = 0x89abcdef,
			     .flags = PKT_TCP_ACK | PKT_TCP_PSH, .payload = 20 };
	uint8_t b[256], r[128];
	const uint8_t *th;
	struct pkt p;
	size_t rn;

	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET);
	assert_int_equal(be_get32(th + 4), 0x89abcdef);
	assert_int_equal(be_get32(th + 8), 0);
	assert_int_equal(th[13], PKT_TCP_RST);

	s.family = AF_INET6;
	s.src = C6;
	s.dst = V6;
	make(b, &s, &p);
	rn = reply_tcp_rst(b, &p, r, sizeof(r));
	th = check_rst(r, rn, AF_INET6);
	assert_int_equal(be_get32(th + 4), 0x89abcdef);
	assert_int_equal(th[13], PKT_TCP_RST);
}

static void test_rst_refusals(void **state)
{
	struct pb_spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_TCP,
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
		assert_int_equal(be_get16(r + 2), rn);
		assert_int_equal(r[8], 64);
		assert_int_equal(r[9], IPPROTO_ICMP);
		assert_addr_bytes(r + 12, V4);
		assert_addr_bytes(r + 16, C4);
		assert_int_equal(pb_ip4_sum(r), 0xffff);
		assert_int_equal(r[20], 3);
		assert_int_equal(r[21], 3);
		assert_int_equal(pb_l4_sum(r, AF_INET, 20, (uint32_t)rn, IPPROTO_ICMP), 0xffff);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(be_get16(r + 4), rn - 40);
		assert_int_equal(r[6], IPPROTO_ICMPV6);
		assert_int_equal(r[7], 64);
		assert_addr_bytes(r + 8, V6);
		assert_addr_bytes(r + 24, C6);
		assert_int_equal(r[40], 1);
		assert_int_equal(r[41], 4);
		assert_int_equal(pb_l4_sum(r, AF_INET6, 40, (uint32_t)rn, IPPROTO_ICMPV6),
				 0xffff);
	}
	assert_int_equal(be_get32(r + hl + 4), 0);
	assert_memory_equal(r + hl + 8, b, q);
}

static void test_unreach_v4(void **state)
{
	struct pb_spec s = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_UDP,
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
	struct pb_spec s = { .family = AF_INET6, .src = C6, .dst = V6, .proto = IPPROTO_UDP,
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
	struct pb_spec s = { .family = AF_INET, .src = C4, .dst = "224.0.0.251",
			     .proto = IPPROTO_UDP, .sport = 5353, .dport = 5353, .payload = 8 };
	struct pb_spec e = { .family = AF_INET6, .src = C6, .dst = V6 };
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
	n = pb_build_icmp_err(b, &e, 2, 0, 1280, quote, sizeof(quote));
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	n = pb_build_icmp_err(b, &e, 100, 0, 0, quote, sizeof(quote));
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(reply_icmp_port_unreach(b, &p, r, sizeof(r)), 0);
	/* but an echo request may be answered */
	n = pb_build_icmp_err(b, &e, 128, 0, 0, quote, sizeof(quote));
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
