/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SYN cookies: see cookie.h for the layout. */
#include <string.h>

#include "nfq/cookie.h"

const uint16_t cookie_mss_v4[COOKIE_MSS_N] = { 536, 1300, 1440, 1460 };
const uint16_t cookie_mss_v6[COOKIE_MSS_N] = { 1220, 1280, 1420, 1440 };

#define COOKIE_HASH_MASK 0xfffffff0u
#define COOKIE_T_SHIFT 2
#define COOKIE_T_MASK 3u
#define COOKIE_MSS_MASK 3u
#define COOKIE_TS_MASK ((1u << COOKIE_TS_BITS) - 1)
#define COOKIE_TS_WS_NONE 15u
#define COOKIE_TS_SACK 0x10u

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return x << b | x >> (64 - b);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                       \
	do {                                                                           \
		v0 += v1;                                                              \
		v1 = rotl64(v1, 13);                                                   \
		v1 ^= v0;                                                              \
		v0 = rotl64(v0, 32);                                                   \
		v2 += v3;                                                              \
		v3 = rotl64(v3, 16);                                                   \
		v3 ^= v2;                                                              \
		v0 += v3;                                                              \
		v3 = rotl64(v3, 21);                                                   \
		v3 ^= v0;                                                              \
		v2 += v1;                                                              \
		v1 = rotl64(v1, 17);                                                   \
		v1 ^= v2;                                                              \
		v2 = rotl64(v2, 32);                                                   \
	} while (0)

uint64_t cookie_siphash(const uint8_t key[COOKIE_KEY_LEN], const void *msg, size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = get_le64(key), k1 = get_le64(key + 8), m;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint8_t tail[8] = { 0 };
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = get_le64(p + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	if (left)
		memcpy(tail, p + i, left);
	tail[7] = (uint8_t)len;
	m = get_le64(tail);
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static const uint16_t *mss_table(const struct cookie_flow *f)
{
	return f->saddr.family == AF_INET6 ? cookie_mss_v6 : cookie_mss_v4;
}

/* The 28 hash bits, in place (low 4 bits zero).  The message is built field by field in a
 * fixed layout, so that padding or the unused bytes of a v4 address never matter. */
static uint32_t cookie_hash(const uint8_t key[COOKIE_KEY_LEN], const struct cookie_flow *f,
			    uint32_t isn_c, uint64_t t, unsigned mssi)
{
	uint8_t m[52] = { 0 };
	size_t al = f->saddr.family == AF_INET6 ? 16 : 4;
	int i;

	memcpy(m, f->saddr.b, al);
	memcpy(m + 16, f->daddr.b, al);
	m[32] = (uint8_t)(f->sport >> 8);
	m[33] = (uint8_t)f->sport;
	m[34] = (uint8_t)(f->dport >> 8);
	m[35] = (uint8_t)f->dport;
	m[36] = f->saddr.family;
	m[37] = (uint8_t)mssi;
	for (i = 0; i < 4; i++)
		m[40 + i] = (uint8_t)(isn_c >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		m[44 + i] = (uint8_t)(t >> (56 - 8 * i));
	return (uint32_t)cookie_siphash(key, m, sizeof(m)) & COOKIE_HASH_MASK;
}

uint32_t cookie_make(const uint8_t key[COOKIE_KEY_LEN], const struct cookie_flow *f,
		     uint32_t isn_c, uint16_t mss, uint64_t now_s, uint16_t *mss_out)
{
	const uint16_t *tab = mss_table(f);
	uint64_t t = now_s / COOKIE_PERIOD_S;
	unsigned mssi = 0, i;

	for (i = 1; i < COOKIE_MSS_N; i++)
		if (tab[i] <= mss)
			mssi = i;
	if (mss_out)
		*mss_out = tab[mssi];
	return cookie_hash(key, f, isn_c, t, mssi) |
	       (uint32_t)(t & COOKIE_T_MASK) << COOKIE_T_SHIFT | mssi;
}

bool cookie_check(const uint8_t key[COOKIE_KEY_LEN], const struct cookie_flow *f, uint32_t isn_c,
		  uint32_t cookie, uint64_t now_s, uint16_t *mss_out)
{
	uint64_t now_t = now_s / COOKIE_PERIOD_S, age, t;
	unsigned mssi = cookie & COOKIE_MSS_MASK;

	/* the counter the cookie was made at, as the latest one <= now with its low bits;
	 * a future counter comes out as an old one and fails the age or the hash */
	age = (now_t - (cookie >> COOKIE_T_SHIFT)) & COOKIE_T_MASK;
	if (age >= COOKIE_MAX_AGE || age > now_t)
		return false;
	t = now_t - age;
	if (cookie_hash(key, f, isn_c, t, mssi) != (cookie & COOKIE_HASH_MASK))
		return false;
	if (mss_out)
		*mss_out = mss_table(f)[mssi];
	return true;
}

uint32_t cookie_tsval(uint32_t now_ms, int8_t ws, bool sackok)
{
	uint32_t opt = ws < 0 ? COOKIE_TS_WS_NONE : ws > 14 ? 14u : (uint32_t)ws, ts;

	if (sackok)
		opt |= COOKIE_TS_SACK;
	ts = (now_ms & ~COOKIE_TS_MASK) | opt;
	if ((int32_t)(ts - now_ms) > 0)
		ts -= 1u << COOKIE_TS_BITS;
	return ts;
}

void cookie_ts_decode(uint32_t tsecr, int8_t *ws, bool *sackok)
{
	uint32_t w = tsecr & 0xf;

	*ws = w == COOKIE_TS_WS_NONE ? -1 : (int8_t)w;
	*sackok = (tsecr & COOKIE_TS_SACK) != 0;
}
