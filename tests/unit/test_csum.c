/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/csum: known vectors and checks against a by-the-book sum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "nfq/csum.h"

static uint32_t ref_sum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Deterministic byte source, so failures reproduce. */
static uint32_t lcg(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

/* RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2. */
static void test_rfc1071_vector(void **state)
{
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	assert_int_equal(csum_add(0, v, sizeof(v)), 0xddf2);
	assert_int_equal(csum_fold(csum_add(0, v, sizeof(v))), 0x220d);
	/* the same words split in two chained pieces */
	assert_int_equal(csum_add(csum_add(0, v, 4), v + 4, 4), 0xddf2);
}

/* A captured IPv4 header whose checksum field is 0xb861. */
static void test_ipv4_header_vector(void **state)
{
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	assert_int_equal(csum_fold(csum_add(0, h, 20)), 0);
	h[10] = h[11] = 0;
	assert_int_equal(csum_fold(csum_add(0, h, 20)), 0xb861);
}

static void test_odd_and_carries(void **state)
{
	static const uint8_t odd[] = { 0x01, 0x02, 0x03 };
	static uint8_t ff[65536];

	assert_int_equal(csum_add(0, odd, 3), 0x0402);
	assert_int_equal(csum_add(0, odd, 0), 0);
	assert_int_equal(csum_add(0x1234, odd, 0), 0x1234);
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(csum_add(0, ff, sizeof(ff)), 0xffff);
	/* a sum passed in is carried over: 0xffff + 0x0100 = 0x100ff -> 0x0100 */
	assert_int_equal(csum_add(0xffff, odd, 1), 0x0100);
	assert_int_equal(csum_fold(0x1fffe), 0);
	assert_int_equal(csum_fold(0), 0xffff);
}

static void test_random_vs_reference(void **state)
{
	uint8_t b[1501];
	uint32_t st = 1, n, i;
	int round;

	for (round = 0; round < 200; round++) {
		n = lcg(&st) % sizeof(b);
		for (i = 0; i < n; i++)
			b[i] = (uint8_t)lcg(&st);
		assert_int_equal(csum_add(0, b, n), ref_sum(b, n));
	}
}

/* RFC 1624 section 4 (eqn. 3 gives 0x0000 where eqn. 2 gives 0xffff). */
static void test_replace_rfc1624(void **state)
{
	uint8_t field[2] = { 0xdd, 0x2f };
	static const uint8_t m[2] = { 0x55, 0x55 }, m2[2] = { 0x32, 0x85 };

	csum_replace(field, m, m2, 2);
	assert_int_equal(field[0], 0x00);
	assert_int_equal(field[1], 0x00);
}

/* Incremental updates keep a message valid for every length and position. */
static void test_replace_random(void **state)
{
	uint8_t b[256], nv[16];
	uint32_t st = 7, n, off, len, i;
	uint16_t c;
	int round;

	for (round = 0; round < 2000; round++) {
		n = 32 + 2 * (lcg(&st) % 100);
		for (i = 0; i < n; i++)
			b[i] = (uint8_t)lcg(&st);
		if (round % 5 == 0)
			memset(b, 0, n);	/* degenerate all-zero data */
		b[0] = b[1] = 0;	/* checksum field at offset 0 */
		c = (uint16_t)~ref_sum(b, n);
		b[0] = (uint8_t)(c >> 8);
		b[1] = (uint8_t)c;
		assert_int_equal(ref_sum(b, n), 0xffff);

		len = 2 * (1 + lcg(&st) % 8);
		off = 2 + 2 * (lcg(&st) % ((n - 2 - len) / 2));
		for (i = 0; i < len; i++)
			nv[i] = (uint8_t)lcg(&st);
		csum_replace(b, b + off, nv, len);
		memcpy(b + off, nv, len);
		assert_int_equal(ref_sum(b, n), 0xffff);
	}
}

static void test_pseudo(void **state)
{
	static const uint8_t s4[4] = { 10, 0, 0, 1 }, d4[4] = { 10, 2, 0, 100 };
	uint8_t s6[16], d6[16], ph[40];
	uint32_t i;

	/* 0x0a00 + 0x0001 + 0x0a02 + 0x0064 + 0x0006 + 0x0014 */
	assert_int_equal(csum_pseudo(AF_INET, s4, d4, 6, 20), 0x1481);

	for (i = 0; i < 16; i++) {
		s6[i] = (uint8_t)(0x20 + i * 3);
		d6[i] = (uint8_t)(0xf0 - i * 5);
	}
	memset(ph, 0, sizeof(ph));
	memcpy(ph, s6, 16);
	memcpy(ph + 16, d6, 16);
	ph[33] = 0x01;		/* length 0x10203 (jumbo-sized, uses the high half) */
	ph[34] = 0x02;
	ph[35] = 0x03;
	ph[39] = 58;
	assert_int_equal(csum_pseudo(AF_INET6, s6, d6, 58, 0x10203), ref_sum(ph, 40));
}

static void test_crc32c_vectors(void **state)
{
	uint8_t b[32];
	uint32_t i, c;

	assert_int_equal(csum_crc32c(0, "123456789", 9), 0xe3069283);
	/* chained in two pieces */
	c = csum_crc32c(0, "1234", 4);
	assert_int_equal(csum_crc32c(c, "56789", 5), 0xe3069283);
	/* RFC 3720 B.4 */
	memset(b, 0, 32);
	assert_int_equal(csum_crc32c(0, b, 32), 0x8a9136aa);
	memset(b, 0xff, 32);
	assert_int_equal(csum_crc32c(0, b, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(csum_crc32c(0, b, 32), 0x46dd794e);
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	assert_int_equal(csum_crc32c(0, b, 32), 0x113fdb5c);
}

static void test_sctp_set(void **state)
{
	uint8_t sh[28], copy[28];
	uint32_t i, c;

	for (i = 0; i < sizeof(sh); i++)
		sh[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(csum_sctp_set(sh, sizeof(sh)), 0);
	memcpy(copy, sh, sizeof(sh));
	copy[8] = copy[9] = copy[10] = copy[11] = 0;
	c = csum_crc32c(0, copy, sizeof(copy));
	/* least significant byte first on the wire */
	assert_int_equal(sh[8], c & 0xff);
	assert_int_equal(sh[9], (c >> 8) & 0xff);
	assert_int_equal(sh[10], (c >> 16) & 0xff);
	assert_int_equal(sh[11], c >> 24);
	/* the old field content does not matter */
	memcpy(copy, sh, sizeof(sh));
	sh[8] ^= 0x5a;
	assert_int_equal(csum_sctp_set(sh, sizeof(sh)), 0);
	assert_memory_equal(sh, copy, sizeof(sh));
	assert_int_equal(csum_sctp_set(sh, 11), -1);
	assert_memory_equal(sh, copy, sizeof(sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_vector),
		cmocka_unit_test(test_ipv4_header_vector),
		cmocka_unit_test(test_odd_and_carries),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_replace_rfc1624),
		cmocka_unit_test(test_replace_random),
		cmocka_unit_test(test_pseudo),
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_sctp_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
