/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/cookie: SipHash vectors, round trips, every field bound, age, MSS table,
 * the TSval option bits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "nfq/cookie.h"

static const uint8_t key1[COOKIE_KEY_LEN] = "0123456789abcdef";
static const uint8_t key2[COOKIE_KEY_LEN] = "0123456789abcdeF";

static struct cookie_flow flow(const char *s, uint16_t sp, const char *d, uint16_t dp)
{
	struct cookie_flow f;

	memset(&f, 0, sizeof(f));
	assert_true(addr_parse(&f.saddr, s));
	assert_true(addr_parse(&f.daddr, d));
	f.sport = sp;
	f.dport = dp;
	return f;
}

/* The reference vectors (key 00..0f, message 00..n-1) of the SipHash paper's code. */
static void test_siphash_vectors(void **state)
{
	static const struct {
		size_t n;
		uint64_t h;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ull },  { 1, 0x74f839c593dc67fdull },
		{ 2, 0x0d6c8009d9a94f5aull },  { 7, 0xab0200f58b01d137ull },
		{ 8, 0x93f5f5799a932462ull },  { 9, 0x9e0082df0ba9e4b0ull },
		{ 12, 0x751e8fbc860ee5fbull }, { 15, 0xa129ca6149be45e5ull },
	};
	uint8_t k[16], m[16];
	size_t i;

	for (i = 0; i < 16; i++)
		k[i] = m[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_true(cookie_siphash(k, m, v[i].n) == v[i].h);
}

static void roundtrip(const struct cookie_flow *f, const uint16_t *tab)
{
	uint64_t now = 1765000000;
	uint32_t isn, c;
	uint16_t mss, mss2;
	int i;

	for (i = 0; i < COOKIE_MSS_N; i++) {
		isn = 0x12345678u * (uint32_t)(i + 1);
		c = cookie_make(key1, f, isn, tab[i], now, &mss);
		assert_int_equal(mss, tab[i]);
		mss2 = 0;
		assert_true(cookie_check(key1, f, isn, c, now, &mss2));
		assert_int_equal(mss2, tab[i]);
		assert_true(cookie_check(key1, f, isn, c, now + 1, NULL));
		assert_true(cookie_make(key1, f, isn, tab[i], now, NULL) == c);
	}
}

static void test_roundtrip_v4(void **state)
{
	struct cookie_flow f = flow("192.0.2.7", 40000, "198.51.100.1", 80);

	roundtrip(&f, cookie_mss_v4);
}

static void test_roundtrip_v6(void **state)
{
	struct cookie_flow f = flow("2001:db8::7", 40000, "2001:db8:1::1", 443);

	roundtrip(&f, cookie_mss_v6);
}

/* Any change of the flow, the client's ISN, the key or one bit of the cookie fails. */
static void test_every_field_bound(void **state)
{
	struct cookie_flow f4 = flow("192.0.2.7", 40000, "198.51.100.1", 80);
	struct cookie_flow f6 = flow("2001:db8::7", 40000, "2001:db8:1::1", 80);
	struct cookie_flow *fs[2] = { &f4, &f6 }, g;
	uint64_t now = 1765000123;
	uint32_t isn = 0xfffffff0u, c;
	size_t j, b;

	for (j = 0; j < 2; j++) {
		const struct cookie_flow *f = fs[j];

		c = cookie_make(key1, f, isn, 1460, now, NULL);
		assert_true(cookie_check(key1, f, isn, c, now, NULL));
		for (b = 0; b < 32; b++) {
			assert_false(cookie_check(key1, f, isn, c ^ (1u << b), now, NULL));
			assert_false(cookie_check(key1, f, isn ^ (1u << b), c, now, NULL));
		}
		for (b = 0; b < 8 * addr_len(&f->saddr); b++) {
			g = *f;
			g.saddr.b[b / 8] ^= (uint8_t)(1u << (b % 8));
			assert_false(cookie_check(key1, &g, isn, c, now, NULL));
			g = *f;
			g.daddr.b[b / 8] ^= (uint8_t)(1u << (b % 8));
			assert_false(cookie_check(key1, &g, isn, c, now, NULL));
		}
		for (b = 0; b < 16; b++) {
			g = *f;
			g.sport ^= (uint16_t)(1u << b);
			assert_false(cookie_check(key1, &g, isn, c, now, NULL));
			g = *f;
			g.dport ^= (uint16_t)(1u << b);
			assert_false(cookie_check(key1, &g, isn, c, now, NULL));
		}
		/* swapped ports, swapped addresses */
		g = *f;
		g.sport = f->dport;
		g.dport = f->sport;
		assert_false(cookie_check(key1, &g, isn, c, now, NULL));
		g = *f;
		g.saddr = f->daddr;
		g.daddr = f->saddr;
		assert_false(cookie_check(key1, &g, isn, c, now, NULL));
		assert_false(cookie_check(key2, f, isn, c, now, NULL));
	}
	/* the same v4 bytes under the other family */
	g = f4;
	g.saddr.family = g.daddr.family = AF_INET6;
	assert_false(cookie_check(key1, &g, isn, cookie_make(key1, &f4, isn, 0, now, NULL), now,
				  NULL));
}

/* Age in counter periods: 0 and 1 pass, 2 and more fail, the future fails. */
static void test_age(void **state)
{
	struct cookie_flow f = flow("192.0.2.7", 1234, "198.51.100.1", 80);
	uint64_t p = COOKIE_PERIOD_S, t0 = 27576562 * p; /* a counter multiple of 4 */
	uint64_t off, made, k;
	uint32_t c;

	for (off = 0; off < 4 * p; off += p / 2) {
		made = t0 + off;
		c = cookie_make(key1, &f, 77, 1460, made, NULL);
		/* the whole period of making, and the next one */
		assert_true(cookie_check(key1, &f, 77, c, made - made % p, NULL));
		assert_true(cookie_check(key1, &f, 77, c, made - made % p + p - 1, NULL));
		assert_true(cookie_check(key1, &f, 77, c, made - made % p + 2 * p - 1, NULL));
		/* two and more periods later */
		for (k = 2; k < 12; k++)
			assert_false(cookie_check(key1, &f, 77, c, made - made % p + k * p, NULL));
		/* the period before making, and earlier */
		for (k = 1; k < 12; k++)
			assert_false(cookie_check(key1, &f, 77, c, made - made % p - k * p, NULL));
	}
	/* near the epoch: counter 0 has no predecessor to wrap to */
	c = cookie_make(key1, &f, 77, 1460, 5, NULL);
	assert_true(cookie_check(key1, &f, 77, c, 0, NULL));
	assert_true(cookie_check(key1, &f, 77, c, p + 5, NULL));
	assert_false(cookie_check(key1, &f, 77, c, 2 * p, NULL));
	c = cookie_make(key1, &f, 77, 1460, 4 * p, NULL);
	assert_false(cookie_check(key1, &f, 77, c, 0, NULL));
	assert_false(cookie_check(key1, &f, 77, c, 3 * p, NULL));
}

static void test_mss_table(void **state)
{
	struct cookie_flow f4 = flow("192.0.2.7", 1234, "198.51.100.1", 80);
	struct cookie_flow f6 = flow("2001:db8::7", 1234, "2001:db8::1", 80);
	static const struct {
		uint16_t in, v4, v6;
	} v[] = {
		{ 0, 536, 1220 },      { 1, 536, 1220 },	{ 535, 536, 1220 },
		{ 536, 536, 1220 },    { 1219, 536, 1220 },	{ 1220, 536, 1220 },
		{ 1279, 536, 1220 },   { 1280, 536, 1280 },	{ 1299, 536, 1280 },
		{ 1300, 1300, 1280 },  { 1419, 1300, 1280 },	{ 1420, 1300, 1420 },
		{ 1439, 1300, 1420 },  { 1440, 1440, 1440 },	{ 1459, 1440, 1440 },
		{ 1460, 1460, 1440 },  { 9000, 1460, 1440 },	{ 65535, 1460, 1440 },
	};
	uint16_t m, m2;
	uint32_t c;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		c = cookie_make(key1, &f4, (uint32_t)i, v[i].in, 1000, &m);
		assert_int_equal(m, v[i].v4);
		assert_true(cookie_check(key1, &f4, (uint32_t)i, c, 1000, &m2));
		assert_int_equal(m2, v[i].v4);
		c = cookie_make(key1, &f6, (uint32_t)i, v[i].in, 1000, &m);
		assert_int_equal(m, v[i].v6);
		assert_true(cookie_check(key1, &f6, (uint32_t)i, c, 1000, &m2));
		assert_int_equal(m2, v[i].v6);
	}
}

static void test_tsval(void **state)
{
	static const uint32_t nows[] = { 0, 1, 63, 64, 65, 127, 128, 1000, 123456789,
					 0x7fffffff, 0x80000000u, 0xffffffc0u, 0xffffffffu };
	int8_t ws, got;
	bool gsack;
	uint32_t ts;
	size_t i;
	int s;

	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
		for (ws = -1; ws <= 14; ws++)
			for (s = 0; s < 2; s++) {
				ts = cookie_tsval(nows[i], ws, s);
				/* never ahead of the clock, at most one step behind */
				assert_true((int32_t)(ts - nows[i]) <= 0);
				assert_true(nows[i] - ts < 64);
				if (nows[i] >= 64)
					assert_true(ts <= nows[i]);
				cookie_ts_decode(ts, &got, &gsack);
				assert_int_equal(got, ws);
				assert_int_equal(gsack, s);
			}
	/* an out-of-range scale is encoded as 14 (RFC 7323 2.3) */
	cookie_ts_decode(cookie_tsval(1000, 15, false), &got, &gsack);
	assert_int_equal(got, 14);
	cookie_ts_decode(cookie_tsval(1000, 100, true), &got, &gsack);
	assert_int_equal(got, 14);
	assert_true(gsack);
	/* the clock's own low bits are used when they are not smaller */
	assert_int_equal(cookie_tsval(64 * 1000 + 63, 7, true), 64 * 1000 + 0x17);
	assert_int_equal(cookie_tsval(64 * 1000 + 5, 7, true), 64 * 999 + 0x17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6),
		cmocka_unit_test(test_every_field_bound),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_mss_table),
		cmocka_unit_test(test_tsval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
