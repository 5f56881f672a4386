/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for rules/fpkey.c: the fast-path maps' names and element keys,
 * byte for byte (rules/ builds the maps' key types from the same layout, and
 * tests/netns/t_fpmap.sh checks it against what nft lists). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <netinet/in.h>

#include "rules/fpmap.h"

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	return a;
}

static void test_name_v4(void **state)
{
	struct ip_addr v = ip("10.2.0.100");
	char buf[FPMAP_NAME_MAX];

	(void)state;
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_TCP, &v, 80), 16);
	assert_string_equal(buf, "fp4t_0a020064_80");
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_UDP, &v, 53), 16);
	assert_string_equal(buf, "fp4u_0a020064_53");
	v = ip("255.0.1.16");
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_UDP, &v, 65535), 19);
	assert_string_equal(buf, "fp4u_ff000110_65535");
}

static void test_name_v6(void **state)
{
	struct ip_addr v = ip("fd00::100");
	char buf[FPMAP_NAME_MAX];

	(void)state;
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET6, IPPROTO_TCP, &v, 443), 41);
	assert_string_equal(buf, "fp6t_fd000000000000000000000000000100_443");
	v = ip("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe");
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET6, IPPROTO_UDP, &v, 65535), 43);
	assert_string_equal(buf, "fp6u_20010db8fffffffffffffffffffffffe_65535");
	/* the longest name fits FPMAP_NAME_MAX (and nft's 256) with room */
	assert_true(43 < FPMAP_NAME_MAX);
}

static void test_name_bad(void **state)
{
	struct ip_addr v4 = ip("10.2.0.100"), v6 = ip("fd00::100"), none;
	char buf[FPMAP_NAME_MAX];

	(void)state;
	memset(&none, 0, sizeof(none));
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_SCTP, &v4, 80), -1);
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, &v4, 80), -1);
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_UNIX, IPPROTO_TCP, &v4, 80), -1);
	assert_int_equal(fpmap_name(buf, sizeof(buf), 0, IPPROTO_TCP, &none, 80), -1);
	/* the VIPA's family must be the map's */
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET, IPPROTO_TCP, &v6, 80), -1);
	assert_int_equal(fpmap_name(buf, sizeof(buf), AF_INET6, IPPROTO_TCP, &v4, 80), -1);
}

static void test_name_small_buffer(void **state)
{
	struct ip_addr v = ip("10.2.0.100");
	char buf[FPMAP_NAME_MAX];

	(void)state;
	/* "fp4t_0a020064_80" is 16 characters: 17 bytes with the NUL */
	assert_int_equal(fpmap_name(buf, 17, AF_INET, IPPROTO_TCP, &v, 80), 16);
	assert_int_equal(fpmap_name(buf, 16, AF_INET, IPPROTO_TCP, &v, 80), -1);
	assert_int_equal(fpmap_name(buf, 1, AF_INET, IPPROTO_TCP, &v, 80), -1);
	assert_int_equal(fpmap_name(buf, 0, AF_INET, IPPROTO_TCP, &v, 80), -1);
}

static void test_key_v4(void **state)
{
	static const uint8_t want[8] = { 10, 9, 0, 2, 0x9c, 0x41, 0, 0 };
	struct fpmap_key k = {
		.family = AF_INET, .proto = IPPROTO_TCP, .vport = 80, .cport = 40001,
	};
	uint8_t out[20];

	(void)state;
	k.vaddr = ip("10.9.0.100");
	k.caddr = ip("10.9.0.2");
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(fpmap_key_bytes(&k, out), 8);
	/* address, then the port in network order and two zero bytes */
	assert_memory_equal(out, want, 8);
	/* the rest of the buffer is zeroed, not left as it was */
	for (size_t i = 8; i < 20; i++)
		assert_int_equal(out[i], 0);
	/* the service does not enter the key (it names the map) */
	k.vport = 443;
	k.proto = IPPROTO_UDP;
	k.vaddr = ip("10.9.0.101");
	assert_int_equal(fpmap_key_bytes(&k, out), 8);
	assert_memory_equal(out, want, 8);
}

static void test_key_v6(void **state)
{
	static const uint8_t want[20] = {
		0x00, 0x35, 0, 0,				/* port 53, padded */
		0xfd, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
	};
	struct fpmap_key k = {
		.family = AF_INET6, .proto = IPPROTO_UDP, .vport = 53, .cport = 53,
	};
	uint8_t out[20];

	(void)state;
	k.vaddr = ip("fd09::100");
	k.caddr = ip("fd09::1234");
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(fpmap_key_bytes(&k, out), 20);
	assert_memory_equal(out, want, 20);
	k.cport = 0xfffe;
	assert_int_equal(fpmap_key_bytes(&k, out), 20);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xfe);
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], 0);
}

static void test_key_bad(void **state)
{
	struct fpmap_key k = { .family = AF_INET, .proto = IPPROTO_TCP, .cport = 1 };
	uint8_t out[20];

	(void)state;
	k.vaddr = ip("10.9.0.100");
	k.caddr = ip("fd09::2");		/* client of the other family */
	assert_int_equal(fpmap_key_bytes(&k, out), 0);
	k.family = AF_INET6;
	k.caddr = ip("10.9.0.2");
	assert_int_equal(fpmap_key_bytes(&k, out), 0);
	k.family = 0;
	assert_int_equal(fpmap_key_bytes(&k, out), 0);
	memset(&k.caddr, 0, sizeof(k.caddr));
	k.family = AF_INET;
	assert_int_equal(fpmap_key_bytes(&k, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_v4),
		cmocka_unit_test(test_name_v6),
		cmocka_unit_test(test_name_bad),
		cmocka_unit_test(test_name_small_buffer),
		cmocka_unit_test(test_key_v4),
		cmocka_unit_test(test_key_v6),
		cmocka_unit_test(test_key_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
