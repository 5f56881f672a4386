/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/cdat: the table, its encoding, reachability and the
 * distribution protocol (a simulated cluster exchanging outbox messages in
 * random order, with dead nodes and a partition that heals).  The known
 * digest and entry bytes were computed outside libsodium (Python hashlib
 * blake2b over the canonical encoding described in cdat.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/config.h"
#include "sync/cdat.h"
#include "sync/wire.h"

/* --- a table by hand: "b" (10.0.0.2), then "a" (10.0.0.1 ib, fd00::1) --- */

static struct cfg_addr kat_a_addrs[2], kat_b_addrs[1];
static struct cfg_node kat_nodes[2];
static struct cfg kat_cfg;

static void set_caddr(struct cfg_addr *a, const char *ip, int prefix, int mtu, const char *type,
		      int cos, int retry)
{
	memset(a, 0, sizeof(*a));
	assert_true(addr_parse(&a->ip, ip));
	a->prefix = prefix;
	a->mtu = mtu;
	snprintf(a->type, sizeof(a->type), "%s", type);
	a->cos = cos;
	a->retry = retry;
}

static const struct cfg *kat_config(void)
{
	memset(&kat_cfg, 0, sizeof(kat_cfg));
	memset(kat_nodes, 0, sizeof(kat_nodes));
	set_caddr(&kat_a_addrs[0], "10.0.0.1", 24, 9000, "ib", 2, 5);
	set_caddr(&kat_a_addrs[1], "fd00::1", 64, 1500, "ethernet", 0, 3);
	set_caddr(&kat_b_addrs[0], "10.0.0.2", 24, 1500, "ethernet", 0, 3);
	strcpy(kat_nodes[0].name, "b");
	kat_nodes[0].addrs = kat_b_addrs;
	kat_nodes[0].n_addrs = 1;
	strcpy(kat_nodes[1].name, "a");
	kat_nodes[1].addrs = kat_a_addrs;
	kat_nodes[1].n_addrs = 2;
	kat_cfg.nodes = kat_nodes;
	kat_cfg.n_nodes = 2;
	kat_cfg.retry_threshold = 3;
	strcpy(kat_cfg.node_name, "a");
	return &kat_cfg;
}

static const uint8_t kat_digest[CDAT_DIGEST_LEN] = {
	0x7f, 0xc2, 0x10, 0xb7, 0xc5, 0xe8, 0x2e, 0x81, 0xb2, 0x9f, 0x8f, 0xb8, 0xd1, 0x92,
	0x56, 0x8d, 0x1a, 0xe4, 0x79, 0x30, 0x7f, 0xb5, 0x73, 0x9d, 0x34, 0x2e, 0xbf, 0x30,
	0x23, 0xbb, 0x29, 0x16,
};

/* The TLVs of node "a". */
static const uint8_t kat_entry_a[96] = {
	0x02, 0x00, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x28, 0x04, 0x18,
	0x23, 0x28, 0x02, 0x05, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x69, 0x62, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x28,
	0x06, 0x40, 0x05, 0xdc, 0x00, 0x03, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x65, 0x74, 0x68, 0x65,
	0x72, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* A body as large as a datagram's: a TLV writer, no header. */
struct body {
	struct tlv_writer w;
	uint8_t buf[WIRE_MAX - WIRE_HDR_LEN - WIRE_MAC_LEN];
};

static void body_begin(struct body *b)
{
	tlv_writer_init(&b->w, b->buf, sizeof(b->buf));
}

static const uint8_t *body_of(const struct body *b, size_t *len)
{
	assert_false(b->w.overflow);
	*len = b->w.len;
	return b->buf;
}

/* --- the table --- */

static void test_from_cfg(void **state)
{
	struct cdat t;
	char s[ADDR_STRLEN];

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.version, 0);
	assert_string_equal(t.nodes[0].name, "b");
	assert_string_equal(t.nodes[1].name, "a");
	assert_int_equal(t.nodes[1].n_addrs, 2);
	assert_string_equal(addr_fmt(&t.nodes[1].addrs[1].ip, s, sizeof(s)), "fd00::1");
	assert_int_equal(t.nodes[1].addrs[0].mtu, 9000);
	assert_int_equal(t.nodes[1].addrs[0].cos, 2);
	assert_int_equal(t.nodes[1].addrs[0].retry, 5);
	assert_string_equal(t.nodes[1].addrs[0].type, "ib");
	assert_int_equal(t.nodes[1].addrs[1].prefix, 64);
	assert_int_equal(t.nodes[0].addrs[0].status, CDAT_UNKNOWN);
	assert_memory_equal(t.digest, kat_digest, CDAT_DIGEST_LEN);
	assert_int_equal(cdat_find_node(&t, "a"), 1);
	assert_int_equal(cdat_find_node(&t, "c"), -1);
	{
		struct ip_addr ip;
		size_t n = 9, ai = 9;

		addr_parse(&ip, "fd00::1");
		assert_true(cdat_find_addr(&t, &ip, &n, &ai));
		assert_int_equal(n, 1);
		assert_int_equal(ai, 1);
		addr_parse(&ip, "10.0.0.3");
		assert_false(cdat_find_addr(&t, &ip, &n, &ai));
	}
	cdat_free(&t);

	/* Bad values and duplicates are refused. */
	kat_config();
	kat_a_addrs[0].retry = 0;
	assert_int_equal(cdat_from_cfg(&t, &kat_cfg), CDAT_ERR_FORMAT);
	kat_config();
	kat_a_addrs[0].prefix = 33;
	assert_int_equal(cdat_from_cfg(&t, &kat_cfg), CDAT_ERR_FORMAT);
	kat_config();
	strcpy(kat_nodes[0].name, "a");
	assert_int_equal(cdat_from_cfg(&t, &kat_cfg), CDAT_ERR_DUP);
	assert_null(t.nodes);
}

static void test_digest(void **state)
{
	struct cdat t, u;
	uint8_t d0[CDAT_DIGEST_LEN], d[CDAT_DIGEST_LEN];

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	memcpy(d0, t.digest, sizeof(d0));
	cdat_init(&u);
	assert_int_equal(cdat_copy(&u, &t), CDAT_OK);

	/* Local observations do not change it. */
	u.nodes[0].addrs[0].status = CDAT_UNREACHABLE;
	u.nodes[0].addrs[0].misses = 7;
	u.nodes[0].addrs[0].rtt_us = 1234;
	u.nodes[0].addrs[0].last_sent_ms = 99;
	u.nodes[0].down = true;
	u.nodes[1].heard = true;
	u.version = 42;
	cdat_digest(&u, d);
	assert_memory_equal(d, d0, sizeof(d));

	/* Neither does the table order (the digest walks names in order). */
	{
		struct cdat_node tmp = u.nodes[0];

		u.nodes[0] = u.nodes[1];
		u.nodes[1] = tmp;
		cdat_digest(&u, d);
		assert_memory_equal(d, d0, sizeof(d));
	}

	/* Every distributed field does. */
#define CHANGES(stmt) do {						\
		assert_int_equal(cdat_copy(&u, &t), CDAT_OK);		\
		stmt;							\
		cdat_digest(&u, d);					\
		assert_memory_not_equal(d, d0, sizeof(d));		\
	} while (0)
	CHANGES(u.nodes[1].addrs[0].prefix = 25);
	CHANGES(u.nodes[1].addrs[0].mtu = 9001);
	CHANGES(u.nodes[1].addrs[0].type[0] = 'I');
	CHANGES(u.nodes[1].addrs[0].cos = 3);
	CHANGES(u.nodes[1].addrs[0].retry = 4);
	CHANGES(u.nodes[1].addrs[0].ip.b[3] = 9);
	CHANGES(u.nodes[1].name[0] = 'c');
	CHANGES(u.nodes[1].n_addrs = 1);
	CHANGES({
		struct cdat_addr x = u.nodes[1].addrs[0];

		u.nodes[1].addrs[0] = u.nodes[1].addrs[1];
		u.nodes[1].addrs[1] = x;
	});
	CHANGES(u.n = 1);
#undef CHANGES

	/* set_adapter changes it and keeps t->digest current. */
	assert_int_equal(cdat_copy(&u, &t), CDAT_OK);
	assert_int_equal(cdat_set_adapter(&u, 0, 0, 24, 9000, "ethernet"), CDAT_OK);
	assert_int_equal(u.nodes[0].addrs[0].mtu, 9000);
	assert_memory_not_equal(u.digest, d0, sizeof(d0));
	cdat_digest(&u, d);
	assert_memory_equal(u.digest, d, sizeof(d));
	assert_int_equal(cdat_set_adapter(&u, 0, 0, 24, 1500, NULL), CDAT_OK);
	assert_memory_equal(u.digest, d0, sizeof(d0));
	assert_int_equal(cdat_set_adapter(&u, 0, 1, 24, 1500, NULL), CDAT_ERR_INVAL);
	assert_int_equal(cdat_set_adapter(&u, 2, 0, 24, 1500, NULL), CDAT_ERR_INVAL);
	assert_int_equal(cdat_set_adapter(&u, 0, 0, 33, 1500, NULL), CDAT_ERR_INVAL);
	assert_int_equal(cdat_set_adapter(&u, 0, 0, 24, 67, NULL), CDAT_ERR_INVAL);
	assert_int_equal(cdat_set_adapter(&u, 0, 0, 24, 1500, "0123456789abcdef"),
			 CDAT_ERR_INVAL);
	assert_int_equal(cdat_set_adapter(&u, 1, 1, 128, 1280, "0123456789abcde"), CDAT_OK);
	cdat_free(&u);
	cdat_free(&t);
}

/* --- encoding and decoding --- */

static void encode_kat_table(struct body *b, struct cdat *t)
{
	assert_int_equal(cdat_from_cfg(t, kat_config()), CDAT_OK);
	t->version = 0x0102030405060708ull;
	body_begin(b);
	cdat_put_table(&b->w, t);
}

static void test_roundtrip(void **state)
{
	struct cdat t, u;
	struct body b;
	const uint8_t *body;
	size_t len;

	(void)state;
	encode_kat_table(&b, &t);
	body = body_of(&b, &len);
	/* VERSION (12) + DIGEST (36) + "b" (8 + 44) + "a" (96). */
	assert_int_equal(len, 12 + 36 + 52 + 96);
	assert_memory_equal(body + 12 + 36 + 52, kat_entry_a, sizeof(kat_entry_a));
	assert_memory_equal(body + 12 + 4, kat_digest, CDAT_DIGEST_LEN);

	assert_int_equal(cdat_decode_table(body, len, &u), CDAT_OK);
	assert_int_equal(u.version, 0x0102030405060708ull);
	assert_int_equal(u.n, 2);
	assert_memory_equal(u.digest, kat_digest, CDAT_DIGEST_LEN);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(u.nodes[i].name, t.nodes[i].name);
		assert_int_equal(u.nodes[i].n_addrs, t.nodes[i].n_addrs);
		for (size_t j = 0; j < t.nodes[i].n_addrs; j++) {
			const struct cdat_addr *x = &t.nodes[i].addrs[j], *y = &u.nodes[i].addrs[j];

			assert_true(addr_eq(&x->ip, &y->ip));
			assert_int_equal(x->prefix, y->prefix);
			assert_int_equal(x->mtu, y->mtu);
			assert_memory_equal(x->type, y->type, CDAT_TYPE_MAX);
			assert_int_equal(x->cos, y->cos);
			assert_int_equal(x->retry, y->retry);
			assert_int_equal(y->status, CDAT_UNKNOWN);
		}
	}

	{
		uint64_t v;
		uint8_t d[CDAT_DIGEST_LEN];

		assert_true(cdat_get_summary(body, len, &v, d));
		assert_int_equal(v, 0x0102030405060708ull);
		assert_memory_equal(d, kat_digest, sizeof(d));
		assert_false(cdat_get_summary(body + 12, len - 12, &v, d));
	}
	{
		struct cdat_node n[2];
		size_t k = 9;

		assert_int_equal(cdat_decode_nodes(body, len, n, 2, &k), CDAT_OK);
		assert_int_equal(k, 2);
		assert_int_equal(cdat_decode_nodes(body, len, n, 1, &k), CDAT_ERR_LIMIT);
		assert_int_equal(k, 0);
	}
	cdat_free(&u);
	cdat_free(&t);
}

static void test_truncation(void **state)
{
	struct cdat t, u;
	struct body b;
	const uint8_t *body;
	uint8_t *copy;
	size_t len;

	(void)state;
	encode_kat_table(&b, &t);
	body = body_of(&b, &len);
	/* Every shorter body, in a buffer of exactly that size (ASan sees any
	 * read past it), is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, body, cut);
		assert_true(cdat_decode_table(copy, cut, &u) < 0);
		assert_null(u.nodes);
		free(copy);
	}
	/* A TLV length that runs past the end. */
	copy = malloc(len);
	memcpy(copy, body, len);
	copy[12 + 36 + 52 + 2] = 0x01;	/* name TLV of "a": len 0x0101 */
	assert_int_equal(cdat_decode_table(copy, len, &u), CDAT_ERR_TLV);
	free(copy);
	cdat_free(&t);
}

/* One NODE "x" with one ADDR whose bytes the caller spoils. */
static size_t one_entry(uint8_t *buf, const uint8_t addr[CDAT_ADDR_LEN], uint16_t alen)
{
	static const uint8_t node[] = { 0x02, 0x00, 0x00, 0x01, 'x', 0, 0, 0 };

	memcpy(buf, node, sizeof(node));
	buf[8] = 0x02;
	buf[9] = 0x01;
	buf[10] = (uint8_t)(alen >> 8);
	buf[11] = (uint8_t)alen;
	memset(buf + 12, 0, (alen + 3u) & ~3u);
	memcpy(buf + 12, addr, alen < CDAT_ADDR_LEN ? alen : CDAT_ADDR_LEN);
	return 12 + ((alen + 3u) & ~3u);
}

static void good_addr(uint8_t v[CDAT_ADDR_LEN])
{
	memcpy(v, kat_entry_a + 12, CDAT_ADDR_LEN);	/* 10.0.0.1/24 9000 ib 2 5 */
}

static void test_decode_rejects(void **state)
{
	struct cdat_node n[4];
	uint8_t v[CDAT_ADDR_LEN], buf[1024];
	size_t len, k;

	(void)state;
	good_addr(v);
	len = one_entry(buf, v, CDAT_ADDR_LEN);
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_OK);
	assert_int_equal(k, 1);
	assert_int_equal(n[0].addrs[0].mtu, 9000);

#define REJECT(stmt, alen, err) do {					\
		good_addr(v);						\
		stmt;							\
		len = one_entry(buf, v, alen);				\
		assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), err); \
	} while (0)
	REJECT((void)0, CDAT_ADDR_LEN - 1, CDAT_ERR_FORMAT);
	REJECT((void)0, CDAT_ADDR_LEN + 1, CDAT_ERR_FORMAT);
	REJECT(v[0] = 5, CDAT_ADDR_LEN, CDAT_ERR_FORMAT);
	REJECT(v[1] = 33, CDAT_ADDR_LEN, CDAT_ERR_FORMAT);
	REJECT((v[2] = 0, v[3] = 67), CDAT_ADDR_LEN, CDAT_ERR_FORMAT);
	REJECT(v[5] = 0, CDAT_ADDR_LEN, CDAT_ERR_FORMAT);
	REJECT(v[7] = 1, CDAT_ADDR_LEN, CDAT_ERR_FORMAT);
	REJECT(v[12] = 1, CDAT_ADDR_LEN, CDAT_ERR_FORMAT);	/* v4 with bytes past 4 */
	REJECT(memset(v + 24, 'a', 16), CDAT_ADDR_LEN, CDAT_ERR_FORMAT);	/* no NUL */
	REJECT(v[30] = 'z', CDAT_ADDR_LEN, CDAT_ERR_FORMAT);	/* bytes after the NUL */
#undef REJECT
	/* v6 with prefix 128 is fine, 129 is not. */
	good_addr(v);
	v[0] = 6;
	v[1] = 128;
	len = one_entry(buf, v, CDAT_ADDR_LEN);
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_OK);
	v[1] = 129;
	len = one_entry(buf, v, CDAT_ADDR_LEN);
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_ERR_FORMAT);

	/* ADDR before any NODE. */
	good_addr(v);
	len = one_entry(buf, v, CDAT_ADDR_LEN);
	assert_int_equal(cdat_decode_nodes(buf + 8, len - 8, n, 4, &k), CDAT_ERR_FORMAT);
	/* NODE without addresses, at the end and before another NODE. */
	assert_int_equal(cdat_decode_nodes(buf, 8, n, 4, &k), CDAT_ERR_FORMAT);
	memcpy(buf + len, buf, len);
	assert_int_equal(cdat_decode_nodes(buf + 0, 8, n, 4, &k), CDAT_ERR_FORMAT);
	/* The same name twice. */
	assert_int_equal(cdat_decode_nodes(buf, 2 * len, n, 4, &k), CDAT_ERR_DUP);
	/* The same address twice in one entry. */
	memcpy(buf + len, buf + 8, len - 8);
	assert_int_equal(cdat_decode_nodes(buf, 2 * len - 8, n, 4, &k), CDAT_ERR_DUP);
	/* A control character or an empty name. */
	len = one_entry(buf, v, CDAT_ADDR_LEN);
	buf[4] = '\n';
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_ERR_FORMAT);
	buf[4] = 'x';
	buf[3] = 0;	/* empty name; "x\0\0\0" then reads as an unknown TLV */
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_ERR_FORMAT);
	buf[3] = 5;	/* a length that does not frame the rest */
	assert_int_equal(cdat_decode_nodes(buf, len, n, 4, &k), CDAT_ERR_TLV);
	buf[3] = 0;
	memmove(buf + 4, buf + 8, len - 8);
	assert_int_equal(cdat_decode_nodes(buf, len - 4, n, 4, &k), CDAT_ERR_FORMAT);
	/* A 64-byte name. */
	{
		struct body b;
		const uint8_t *body;
		char name[64];

		memset(name, 'n', sizeof(name));
		body_begin(&b);
		tlv_put(&b.w, CDAT_TLV_NODE, name, 64);
		tlv_put(&b.w, CDAT_TLV_ADDR, v, CDAT_ADDR_LEN);
		body = body_of(&b, &len);
		assert_int_equal(cdat_decode_nodes(body, len, n, 4, &k), CDAT_ERR_FORMAT);
		body_begin(&b);
		tlv_put(&b.w, CDAT_TLV_NODE, name, 63);
		tlv_put(&b.w, CDAT_TLV_ADDR, v, CDAT_ADDR_LEN);
		body = body_of(&b, &len);
		assert_int_equal(cdat_decode_nodes(body, len, n, 4, &k), CDAT_OK);
		assert_int_equal(strlen(n[0].name), 63);
		/* Nine addresses. */
		body_begin(&b);
		tlv_put(&b.w, CDAT_TLV_NODE, "x", 1);
		for (int i = 0; i < 9; i++) {
			v[11] = (uint8_t)(i + 1);
			tlv_put(&b.w, CDAT_TLV_ADDR, v, CDAT_ADDR_LEN);
		}
		body = body_of(&b, &len);
		assert_int_equal(cdat_decode_nodes(body, len, n, 4, &k), CDAT_ERR_LIMIT);
		/* Eight are fine, and unknown TLVs are skipped. */
		assert_int_equal(cdat_decode_nodes(body, len - 44, n, 4, &k), CDAT_OK);
		assert_int_equal(n[0].n_addrs, 8);
		tlv_put(&b.w, 0x2ff, "zz", 2);
		/* A known fixed-size TLV with the wrong size. */
		body_begin(&b);
		tlv_put(&b.w, CDAT_TLV_VERSION, "1234567", 7);
		body = body_of(&b, &len);
		assert_int_equal(cdat_decode_nodes(body, len, n, 4, &k), CDAT_ERR_FORMAT);
	}
}

/* Random corruption of a valid table never reads out of bounds, and a
 * decoded result is always internally consistent. */
static void test_decode_fuzz(void **state)
{
	struct cdat t, u;
	struct body b;
	const uint8_t *body;
	uint8_t *copy;
	size_t len;

	(void)state;
	srand(1);
	encode_kat_table(&b, &t);
	body = body_of(&b, &len);
	for (int i = 0; i < 20000; i++) {
		size_t l = len - (size_t)(rand() % 8 == 0 ? rand() % (int)len : 0);

		copy = malloc(l ? l : 1);
		memcpy(copy, body, l);
		for (int j = rand() % 4; j >= 0 && l; j--)
			copy[rand() % (int)l] = (uint8_t)rand();
		if (cdat_decode_table(copy, l, &u) == CDAT_OK) {
			uint8_t d[CDAT_DIGEST_LEN];

			cdat_digest(&u, d);
			assert_memory_equal(d, u.digest, sizeof(d));
			cdat_free(&u);
		}
		free(copy);
	}
	cdat_free(&t);
}

/* --- reachability --- */

static void test_rtt(void **state)
{
	struct cdat t;
	struct cdat_addr *a;

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	a = &t.nodes[1].addrs[0];
	cdat_sent(&t, 1, 0, 1000, 1000);
	assert_true(a->outstanding);
	assert_int_equal(cdat_answered(&t, 1, 0, 1000, 1010, NULL), 0);
	assert_int_equal(a->rtt_us, 10000);
	assert_int_equal(a->rtt_var_us, 5000);
	assert_int_equal(a->status, CDAT_REACHABLE);
	assert_false(a->outstanding);
	cdat_sent(&t, 1, 0, 2000, 2000);
	cdat_answered(&t, 1, 0, 2000, 2030, NULL);
	/* RTTVAR = 3/4 * 5000 + 1/4 * |10000 - 30000|, SRTT = 7/8 * 10000 + 1/8 * 30000 */
	assert_int_equal(a->rtt_var_us, 8750);
	assert_int_equal(a->rtt_us, 12500);
	assert_int_equal(cdat_timeout_ms(a, 100), 100);
	assert_int_equal(cdat_timeout_ms(a, 30), 48);	/* 12.5 + 35 ms, rounded up */
	assert_int_equal(cdat_timeout_ms(a, 10), 20);	/* capped at two heartbeats */
	/* An answer to a heartbeat never sent, or from the future, is ignored. */
	assert_int_equal(cdat_answered(&t, 1, 0, 2500, 2600, NULL), 0);
	assert_int_equal(a->rtt_us, 12500);
	assert_int_equal(cdat_answered(&t, 1, 0, 2000, 1999, NULL), 0);
	assert_int_equal(a->last_ok_ms, 2030);
	/* A slow path: misses are counted only after srtt + 4 rttvar (here
	 * 150 ms with heartbeats of 100 ms)... */
	a->rtt_us = 90000;
	a->rtt_var_us = 15000;
	a->last_ok_ms = 2990;	/* just answered: the silence rule stays out of it */
	cdat_sent(&t, 1, 0, 3000, 3000);
	cdat_tick(&t, 3100, 100, NULL);
	assert_true(a->outstanding);
	cdat_tick(&t, 3149, 100, NULL);
	assert_int_equal(a->misses, 0);
	cdat_tick(&t, 3150, 100, NULL);
	assert_int_equal(a->misses, 1);
	assert_false(a->outstanding);
	/* ...but never later than two heartbeats, however slow it looked. */
	a->rtt_us = 300000;
	a->rtt_var_us = 50000;
	a->last_ok_ms = 3990;
	cdat_sent(&t, 1, 0, 4000, 4000);
	cdat_tick(&t, 4199, 100, NULL);
	assert_int_equal(a->misses, 1);
	cdat_tick(&t, 4200, 100, NULL);
	assert_int_equal(a->misses, 2);
	cdat_free(&t);
}

/* Heartbeats keep to a grid: a sender that wakes late does not delay the
 * next one; one over a period late starts a new grid. */
static void test_probe_grid(void **state)
{
	struct cdat t;
	uint64_t now = 1000, slot;

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	assert_int_equal(cdat_probe_due(&t, 1, 0, now, 100, 4), now);	/* never sent */
	cdat_sent(&t, 1, 0, now, now);
	assert_int_equal(cdat_probe_due(&t, 1, 0, 1005, 100, 4), 0);	/* outstanding */
	for (int i = 1; i <= 20; i++) {
		cdat_answered(&t, 1, 0, now, now + 1, NULL);
		assert_int_equal(cdat_probe_due(&t, 1, 0, 1000 + 100 * i - 1, 100, 4), 0);
		now = 1000 + 100 * (uint64_t)i + 9;		/* every wake-up 9 ms late */
		slot = cdat_probe_due(&t, 1, 0, now, 100, 4);
		assert_int_equal(slot, 1000 + 100 * (uint64_t)i);
		cdat_sent(&t, 1, 0, now, slot);
	}
	/* 20 heartbeats 9 ms late each: the 21st is due at 3100, not 3280 */
	cdat_answered(&t, 1, 0, now, now + 1, NULL);
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3100, 100, 4), 3100);
	/* a stall of two periods: a new grid from now, no burst */
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3250, 100, 4), 3250);
	cdat_sent(&t, 1, 0, 3250, 3250);
	cdat_answered(&t, 1, 0, 3250, 3251, NULL);
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3349, 100, 4), 0);
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3350, 100, 4), 3350);
	/* unreachable: every probe_every heartbeats */
	t.nodes[1].addrs[0].status = CDAT_UNREACHABLE;
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3500, 100, 4), 0);
	assert_int_equal(cdat_probe_due(&t, 1, 0, 3650, 100, 4), 3650);
	cdat_free(&t);
}


/* One run of a loop that wakes every 10 to 10 + jitter ms (a pseudo-random
 * sequence from seed), sends what is due and gets an answer 1 ms later,
 * except for `lost` heartbeats in a row from the 20th: whether the address
 * was marked unreachable, and after how long a silence. */
static bool lossy_run(unsigned seed, unsigned jitter, unsigned lost, uint64_t *silence)
{
	struct cdat t;
	uint64_t now = 1000, last_ok = 0;
	unsigned sent = 0, x = seed * 2654435761u + 1;
	bool down = false;

	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	t.nodes[1].addrs[0].retry = 3;
	while (now < 1000 + 40 * 100 && !down) {
		uint64_t slot;

		x = x * 1103515245u + 12345u;
		now += 10 + (x >> 16) % (jitter + 1);
		cdat_tick(&t, now, 100, NULL);
		down = t.nodes[1].addrs[0].status == CDAT_UNREACHABLE;
		slot = cdat_probe_due(&t, 1, 0, now, 100, 1);
		if (down || !slot)
			continue;
		cdat_sent(&t, 1, 0, now, slot);
		if (++sent >= 20 && sent < 20 + lost)
			continue;
		cdat_answered(&t, 1, 0, now, now + 1, NULL);
		last_ok = now + 1;
	}
	*silence = now - last_ok;
	cdat_free(&t);
	return down;
}

/* Two heartbeats lost in a row are not three, however late the loop wakes
 * (up to 20 ms): each heartbeat keeps its slot, and a miss is timed from it.
 * Three are, within the silence limit plus a wake-up. */
static void test_loss_late_loop(void **state)
{
	uint64_t silence, worst = 0;

	(void)state;
	for (unsigned seed = 0; seed < 2000; seed++) {
		assert_false(lossy_run(seed, 10, 2, &silence));
		assert_true(lossy_run(seed, 10, 3, &silence));
		assert_true(silence <= cdat_silence_ms(3, 100) + 20);
		if (silence > worst)
			worst = silence;
	}
	assert_true(worst > cdat_silence_ms(3, 100));
}

/* Silence: an address whose last answer is older than retry heartbeats and
 * a quarter is unreachable, however the misses fell in the periods. */
static void test_silence(void **state)
{
	struct cdat t;
	struct cdat_addr *a;
	struct cdat_events ev;
	uint64_t now, slot;

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	a = &t.nodes[1].addrs[0];
	a->retry = 3;
	cdat_sent(&t, 1, 0, 1000, 1000);
	cdat_answered(&t, 1, 0, 1000, 1001, NULL);
	/* The path fails just after that answer; heartbeats go on. */
	for (now = 1100; now <= 1320; now += 10) {
		memset(&ev, 0, sizeof(ev));
		cdat_tick(&t, now, 100, &ev);
		slot = cdat_probe_due(&t, 1, 0, now, 100, 1);
		if (slot)
			cdat_sent(&t, 1, 0, now, slot);
		assert_int_equal(a->status, CDAT_REACHABLE);
	}
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(cdat_silence_ms(3, 100), 325);
	cdat_tick(&t, 1327, 100, &ev);		/* 1001 + 325 < 1327 */
	assert_int_equal(a->status, CDAT_UNREACHABLE);
	assert_int_equal(a->misses, 3);
	assert_true(ev.n >= 1);
	assert_int_equal(ev.ev[0].kind, CDAT_EV_ADDR_DOWN);
	/* an answer brings it back */
	cdat_sent(&t, 1, 0, 1400, 1400);
	cdat_answered(&t, 1, 0, 1400, 1401, NULL);
	assert_int_equal(a->status, CDAT_REACHABLE);
	assert_int_equal(a->misses, 0);
	/* so does the node's own heartbeat from that address, and it keeps
	 * the silence from counting while our heartbeats are lost */
	cdat_sent(&t, 1, 0, 1500, 1500);
	memset(&ev, 0, sizeof(ev));
	cdat_tick(&t, 1600, 100, &ev);
	assert_int_equal(a->misses, 1);
	assert_int_equal(cdat_heard(&t, 1, 0, 1610, NULL), 0);
	assert_int_equal(a->misses, 0);
	assert_int_equal(a->last_ok_ms, 1610);
	assert_int_equal(a->rtt_us, 1000);	/* untouched: one sample of 1 ms */
	a->status = CDAT_UNREACHABLE;
	t.nodes[1].down = false;
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(cdat_heard(&t, 1, 0, 1620, &ev), CDAT_EV_ADDR_UP);
	assert_int_equal(a->status, CDAT_REACHABLE);
	assert_int_equal(cdat_heard(&t, 1, 9, 1620, NULL), 0);	/* no such address */
	cdat_free(&t);
}

/* cdat_next_ms names the first time cdat_tick changes something by time
 * alone: a tick one millisecond before it changes nothing, a tick at it
 * does (an answer's timeout, then a silence). */
static void test_next_ms(void **state)
{
	struct cdat t;
	struct cdat_addr *a;
	uint64_t next;

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	assert_true(cdat_next_ms(&t, 0, 100) == UINT64_MAX);	/* nothing pending */
	a = &t.nodes[1].addrs[0];
	a->retry = 3;
	/* an outstanding heartbeat: its timeout */
	cdat_sent(&t, 1, 0, 1000, 1000);
	next = cdat_next_ms(&t, 1000, 100);
	assert_true(next == 1000 + cdat_timeout_ms(a, 100));
	cdat_tick(&t, next - 1, 100, NULL);
	assert_true(a->outstanding);
	assert_int_equal(a->misses, 0);
	cdat_tick(&t, next, 100, NULL);
	assert_false(a->outstanding);
	assert_int_equal(a->misses, 1);
	/* an answer, then silence: retry heartbeats and the margin */
	cdat_sent(&t, 1, 0, 1000, 1000);
	cdat_answered(&t, 1, 0, 1000, 1001, NULL);
	next = cdat_next_ms(&t, 1001, 100);
	assert_true(next == 1001 + cdat_silence_ms(3, 100) + 1);
	cdat_tick(&t, next - 1, 100, NULL);
	assert_int_equal(a->status, CDAT_REACHABLE);
	assert_int_equal(a->misses, 0);
	cdat_tick(&t, next, 100, NULL);
	assert_int_equal(a->status, CDAT_UNREACHABLE);
	/* unreachable, nothing outstanding: nothing pending for it */
	assert_true(cdat_next_ms(&t, next, 100) == UINT64_MAX);
	cdat_free(&t);
}

/* Node "a": primary 10.0.0.1 (retry 5 in the kat config: set to 3 here)
 * and alternate fd00::1 (retry 3); heartbeats every 100 ms, unreachable
 * addresses probed every 4th heartbeat. */
static void test_failover(void **state)
{
	struct cdat t;
	struct cdat_events ev;
	bool up[2] = { true, true };
	uint64_t now = 0;
	unsigned bits;
	int down_at = -1;

	(void)state;
	assert_int_equal(cdat_from_cfg(&t, kat_config()), CDAT_OK);
	t.nodes[1].addrs[0].retry = 3;
	t.nodes[1].addrs[0].cos = 0;	/* equal classes: the file's order */
	assert_int_equal(cdat_current_addr(&t, 1), 0);	/* UNKNOWN counts as usable */

	/* One step: tick, then send what is due, then the answers come. */
#define STEP() do {							\
		now += 100;						\
		bits = cdat_tick(&t, now, 100, &ev);			\
		for (size_t j = 0; j < 2; j++)				\
			if (cdat_probe_due(&t, 1, j, now, 100, 4)) {	\
				cdat_sent(&t, 1, j, now, 0);		\
				if (up[j])				\
					bits |= cdat_answered(&t, 1, j, now, now + 1, &ev); \
			}						\
	} while (0)
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 3; i++)
		STEP();
	assert_int_equal(t.nodes[1].addrs[0].status, CDAT_REACHABLE);
	assert_int_equal(ev.n, 0);

	/* The primary stops answering: the first lost heartbeat is the one
	 * sent at the step it failed; misses at the 3 following ticks. */
	up[0] = false;
	for (int i = 1; i <= 6; i++) {
		memset(&ev, 0, sizeof(ev));
		STEP();
		if (bits & CDAT_EV_ADDR_DOWN) {
			assert_int_equal(down_at, -1);
			down_at = i;
			assert_int_equal(ev.n, 1);
			assert_int_equal(ev.ev[0].kind, CDAT_EV_ADDR_DOWN);
			assert_int_equal(ev.ev[0].node, 1);
			assert_int_equal(ev.ev[0].addr, 0);
		}
		if (i < 4)
			assert_int_equal(cdat_current_addr(&t, 1), 0);
		assert_false(bits & CDAT_EV_NODE_DOWN);
	}
	assert_int_equal(down_at, 4);	/* sent at 1, missed at 2, 3, 4 */
	assert_int_equal(t.nodes[1].addrs[0].misses, 3);
	assert_int_equal(t.nodes[1].addrs[0].status, CDAT_UNREACHABLE);
	assert_int_equal(cdat_current_addr(&t, 1), 1);
	assert_false(t.nodes[1].down);

	/* Probed every 4th heartbeat only. */
	{
		uint64_t last = t.nodes[1].addrs[0].last_sent_ms;
		int sent = 0;

		for (int i = 0; i < 12; i++) {
			STEP();
			if (t.nodes[1].addrs[0].last_sent_ms != last) {
				assert_true(t.nodes[1].addrs[0].last_sent_ms - last >= 400);
				last = t.nodes[1].addrs[0].last_sent_ms;
				sent++;
			}
		}
		/* A probe is counted missed 100 ms after it went, the next one
		 * goes 400 ms after it: 3 in 1200 ms. */
		assert_int_equal(sent, 3);
	}

	/* The alternate fails too: the node is down. */
	up[1] = false;
	bits = 0;
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 5 && !(bits & CDAT_EV_NODE_DOWN); i++)
		STEP();
	assert_true(bits & CDAT_EV_NODE_DOWN);
	assert_true(t.nodes[1].down);
	assert_int_equal(t.nodes[1].down_since_ms, now);
	assert_int_equal(cdat_current_addr(&t, 1), -1);

	/* The primary answers a probe again: up, and traffic goes back to it. */
	up[0] = true;
	bits = 0;
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 6 && !(bits & CDAT_EV_ADDR_UP); i++)
		STEP();
	assert_true(bits & CDAT_EV_ADDR_UP);
	assert_true(bits & CDAT_EV_NODE_UP);
	assert_int_equal(ev.n, 2);
	assert_false(t.nodes[1].down);
	assert_int_equal(cdat_current_addr(&t, 1), 0);
	assert_int_equal(t.nodes[1].addrs[0].misses, 0);
#undef STEP
	cdat_free(&t);
}

/* --- distribution: a simulated cluster --- */

#define SIM_MAX 6
#define SIM_Q 8192
#define SIM_HB 100
#define SIM_PROBE 5

struct qmsg {
	size_t from;
	struct cdat_out m;
};

struct sim {
	size_t n;
	struct cdat_proto p[SIM_MAX];
	bool alive[SIM_MAX];
	int side[SIM_MAX];
	uint64_t now;
	struct qmsg *q;
	size_t qn;
	struct cdat_out *ob;
	uint64_t proposed[64];	/* distinct PROPOSE versions seen on the wire */
	size_t n_proposed;
	unsigned max_parts;	/* most fragments of one PROPOSE seen */
};

static struct sim_addr_set {
	struct cfg_addr a[CDAT_MAX_ADDRS];
} sim_addrs[SIM_MAX];
static struct cfg_node sim_nodes[SIM_MAX];
static struct cfg sim_cfg;

/* n nodes named names[i] (NULL: "n0", "n1"...), each with n_addrs
 * addresses: 10.<a>.0.<i+1> and fd0<a>::<i+1>, alternately. */
static const struct cfg *sim_config(size_t n, const char *const *names, size_t n_addrs)
{
	char ip[64];

	memset(&sim_cfg, 0, sizeof(sim_cfg));
	for (size_t i = 0; i < n; i++) {
		if (names)
			snprintf(sim_nodes[i].name, CFG_NAME_MAX, "%s", names[i]);
		else
			snprintf(sim_nodes[i].name, CFG_NAME_MAX, "n%zu", i);
		for (size_t a = 0; a < n_addrs; a++) {
			if (a % 2 == 0) {
				snprintf(ip, sizeof(ip), "10.%zu.0.%zu", a / 2, i + 1);
				set_caddr(&sim_addrs[i].a[a], ip, 24, 1500, "ethernet", 0, 3);
			} else {
				snprintf(ip, sizeof(ip), "fd0%zu::%zu", a / 2, i + 1);
				set_caddr(&sim_addrs[i].a[a], ip, 64, 1500, "ethernet", 0, 3);
			}
		}
		sim_nodes[i].addrs = sim_addrs[i].a;
		sim_nodes[i].n_addrs = n_addrs;
	}
	sim_cfg.nodes = sim_nodes;
	sim_cfg.n_nodes = n;
	sim_cfg.retry_threshold = 3;
	return &sim_cfg;
}

static void sim_init_with(struct sim *s, size_t n, const char *const *names, size_t n_addrs)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->q = calloc(SIM_Q, sizeof(*s->q));
	s->ob = calloc(SIM_Q, sizeof(*s->ob));
	assert_non_null(s->q);
	assert_non_null(s->ob);
	sim_config(n, names, n_addrs);
	for (size_t i = 0; i < n; i++) {
		snprintf(sim_cfg.node_name, CFG_NAME_MAX, "%.*s", CFG_NAME_MAX - 1, sim_nodes[i].name);
		assert_int_equal(cdat_proto_init_cfg(&s->p[i], &sim_cfg, 0), CDAT_OK);
		s->alive[i] = true;
	}
}

static void sim_init(struct sim *s, size_t n)
{
	sim_init_with(s, n, NULL, 2);
}

static void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++)
		cdat_proto_free(&s->p[i]);
	free(s->q);
	free(s->ob);
}

static bool sim_link(const struct sim *s, size_t a, size_t b)
{
	return s->alive[a] && s->alive[b] && s->side[a] == s->side[b];
}

static void sim_collect(struct sim *s, size_t from, struct cdat_outbox *ob)
{
	assert_false(ob->overflow);
	for (size_t i = 0; i < ob->n; i++) {
		assert_true(s->qn < SIM_Q);
		s->q[s->qn].from = from;
		s->q[s->qn++].m = ob->msg[i];
		if (ob->msg[i].type == CDAT_MSG_PROPOSE) {
			/* The first TLV of a PROPOSE is its VERSION. */
			const uint8_t *b = ob->msg[i].body;
			uint64_t v = 0;
			size_t k;

			assert_true(ob->msg[i].len >= 12);
			assert_int_equal(b[0] << 8 | b[1], CDAT_TLV_VERSION);
			for (k = 4; k < 12; k++)
				v = v << 8 | b[k];
			/* Then PART: part, parts, first, count. */
			assert_true(ob->msg[i].len >= 24);
			assert_int_equal(b[12] << 8 | b[13], CDAT_TLV_PART);
			if ((unsigned)(b[18] << 8 | b[19]) > s->max_parts)
				s->max_parts = (unsigned)(b[18] << 8 | b[19]);
			for (k = 0; k < s->n_proposed && s->proposed[k] != v; k++)
				;
			if (k == s->n_proposed && k < 64)
				s->proposed[s->n_proposed++] = v;
		}
	}
	ob->n = 0;
}

static long sim_index(const struct sim *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->p[i].self, name) == 0)
			return (long)i;
	return -1;
}

static void sim_step(struct sim *s)
{
	struct cdat_outbox ob = { .msg = s->ob, .cap = SIM_Q };

	s->now += SIM_HB;
	for (size_t i = 0; i < s->n; i++) {
		struct cdat *c = &s->p[i].cur;

		if (!s->alive[i])
			continue;
		cdat_tick(c, s->now, SIM_HB, NULL);
		for (size_t j = 0; j < s->n; j++) {
			long k = cdat_find_node(c, s->p[j].self);
			size_t kk = (size_t)k;

			if (j == i || k < 0)
				continue;
			for (size_t a = 0; a < c->nodes[k].n_addrs; a++)
				if (cdat_probe_due(c, kk, a, s->now, SIM_HB, SIM_PROBE)) {
					cdat_sent(c, kk, a, s->now, 0);
					if (sim_link(s, i, j))
						cdat_answered(c, kk, a, s->now, s->now, NULL);
				}
			if (sim_link(s, i, j))
				cdat_proto_heard(&s->p[i], s->p[j].self, s->p[j].cur.version,
						 s->p[j].cur.digest, s->now);
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!s->alive[i])
			continue;
		cdat_proto_tick(&s->p[i], s->now, &ob);
		sim_collect(s, i, &ob);
	}
	/* Deliver in random order until nothing is left (replies included). */
	while (s->qn) {
		size_t r = (size_t)rand() % s->qn;
		struct qmsg m = s->q[r];
		long to = sim_index(s, m.m.to);
		int rc;

		s->q[r] = s->q[--s->qn];
		assert_true(to >= 0);
		if (!sim_link(s, m.from, (size_t)to))
			continue;
		rc = cdat_proto_input(&s->p[to], s->p[m.from].self, m.m.type, m.m.body, m.m.len,
				      s->now, &ob);
		/* Well-formed messages are never refused as malformed. */
		assert_true(rc == CDAT_OK || rc == CDAT_ERR_STALE || rc == CDAT_ERR_UNKNOWN);
		sim_collect(s, (size_t)to, &ob);
	}
}

/* Every live node of side `side` (or every live node when side < 0) has the
 * same committed version and digest; returns that version. */
static uint64_t sim_agree(const struct sim *s, int side)
{
	const struct cdat *ref = NULL;

	for (size_t i = 0; i < s->n; i++) {
		uint8_t d[CDAT_DIGEST_LEN];

		if (!s->alive[i] || (side >= 0 && s->side[i] != side))
			continue;
		cdat_digest(&s->p[i].cur, d);
		assert_memory_equal(d, s->p[i].cur.digest, sizeof(d));
		if (!ref) {
			ref = &s->p[i].cur;
			continue;
		}
		assert_int_equal(s->p[i].cur.version, ref->version);
		assert_memory_equal(s->p[i].cur.digest, ref->digest, CDAT_DIGEST_LEN);
		assert_false(s->p[i].proposing);
	}
	assert_non_null(ref);
	return ref->version;
}

static uint16_t sim_mtu(const struct sim *s, size_t at, size_t node)
{
	long k = cdat_find_node(&s->p[at].cur, s->p[node].self);

	assert_true(k >= 0);
	return s->p[at].cur.nodes[k].addrs[0].mtu;
}

static void test_sim_converge(void **state)
{
	static const int dead[] = { -1, 0, 2, 5 };

	(void)state;
	for (unsigned seed = 1; seed <= 12; seed++) {
		struct sim s;
		int d = dead[seed % 4];
		uint64_t v;

		srand(seed);
		sim_init(&s, 6);
		if (d >= 0)
			s.alive[d] = false;
		for (size_t i = 0; i < s.n; i++)
			assert_int_equal(cdat_proto_set_own(&s.p[i], 0, 24,
							    (uint16_t)(1500 + 100 * i), "eth"),
					 CDAT_OK);
		for (int i = 0; i < 40; i++)
			sim_step(&s);
		v = sim_agree(&s, -1);
		assert_true(v >= 1);
		for (size_t i = 0; i < s.n; i++) {
			if (!s.alive[i])
				continue;
			assert_true(cdat_proto_is_coordinator(&s.p[i]) ==
				    ((d == 0 && i == 1) || (d != 0 && i == 0)));
			for (size_t j = 0; j < s.n; j++)
				assert_int_equal(sim_mtu(&s, i, j),
						 (int)j == d ? 1500 : 1500 + 100 * j);
		}
		/* Quiet once converged: no further proposals. */
		s.n_proposed = 0;
		for (int i = 0; i < 20; i++)
			sim_step(&s);
		assert_int_equal(s.n_proposed, 0);
		assert_int_equal(sim_agree(&s, -1), v);

		/* The dead node comes back: it gets the table. */
		if (d >= 0) {
			s.alive[d] = true;
			for (int i = 0; i < 40; i++)
				sim_step(&s);
			v = sim_agree(&s, -1);
			assert_int_equal(sim_mtu(&s, 3, (size_t)d), 1500 + 100 * d);
		}
		sim_free(&s);
	}
}

static void test_sim_partition(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 8; seed++) {
		struct sim s;
		uint64_t va, vb, v;
		uint8_t da[CDAT_DIGEST_LEN];

		srand(seed * 7919);
		sim_init(&s, 6);
		for (int i = 0; i < 30; i++)
			sim_step(&s);
		sim_agree(&s, -1);

		/* Cut {n0 n1 n2} from {n3 n4 n5}; each half makes its change. */
		s.side[3] = s.side[4] = s.side[5] = 1;
		for (int i = 0; i < 10; i++)
			sim_step(&s);
		assert_true(cdat_proto_is_coordinator(&s.p[0]));
		assert_true(cdat_proto_is_coordinator(&s.p[3]));
		assert_int_equal(cdat_proto_set_own(&s.p[1], 0, 24, 9000, "ib"), CDAT_OK);
		assert_int_equal(cdat_proto_set_own(&s.p[4], 1, 64, 8000, "ethernet"), CDAT_OK);
		for (int i = 0; i < 30; i++)
			sim_step(&s);
		va = sim_agree(&s, 0);
		vb = sim_agree(&s, 1);
		memcpy(da, s.p[0].cur.digest, sizeof(da));
		assert_memory_not_equal(da, s.p[3].cur.digest, sizeof(da));
		assert_int_equal(sim_mtu(&s, 2, 1), 9000);
		assert_int_equal(sim_mtu(&s, 2, 4), 1500);
		assert_int_equal(s.p[5].cur.nodes[4].addrs[1].mtu, 8000);
		assert_int_equal(s.p[5].cur.nodes[1].addrs[0].mtu, 1500);

		/* Heal: one propose/ack/commit round gives one table. */
		s.side[3] = s.side[4] = s.side[5] = 0;
		s.n_proposed = 0;
		for (int i = 0; i < 40; i++)
			sim_step(&s);
		v = sim_agree(&s, -1);
		assert_int_equal(s.n_proposed, 1);
		assert_int_equal(s.proposed[0], v);
		assert_int_equal(v, (va > vb ? va : vb) + 1);
		for (size_t i = 0; i < s.n; i++) {
			assert_int_equal(sim_mtu(&s, i, 1), 9000);
			assert_string_equal(s.p[i].cur.nodes[1].addrs[0].type, "ib");
			assert_int_equal(s.p[i].cur.nodes[4].addrs[1].mtu, 8000);
		}
		sim_free(&s);
	}
}

/* A table too large for one message goes in fragments, reassembled in any
 * order; stale and malformed proposals are refused. */
static void test_proto_fragments(void **state)
{
	static struct cfg_addr addrs[40][CDAT_MAX_ADDRS];
	static struct cfg_node nodes[40];
	struct cfg c;
	struct cdat_proto p0, p1;
	struct cdat_out *ob = calloc(256, sizeof(*ob));
	struct cdat_outbox out = { .msg = ob, .cap = 256 };
	struct cdat_out *frag;
	size_t nfrag;
	char ip[64];
	uint64_t now = 0;
	int rc;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < 40; i++) {
		snprintf(nodes[i].name, CFG_NAME_MAX, "node-with-a-longer-name-%02zu", i);
		for (size_t j = 0; j < CDAT_MAX_ADDRS; j++) {
			snprintf(ip, sizeof(ip), "10.%zu.0.%zu", j, i + 1);
			set_caddr(&addrs[i][j], ip, 24, 1500, "ethernet", 0, 3);
		}
		nodes[i].addrs = addrs[i];
		nodes[i].n_addrs = CDAT_MAX_ADDRS;
	}
	c.nodes = nodes;
	c.n_nodes = 40;
	strcpy(c.node_name, nodes[0].name);
	assert_int_equal(cdat_proto_init_cfg(&p0, &c, 0), CDAT_OK);
	strcpy(c.node_name, nodes[1].name);
	assert_int_equal(cdat_proto_init_cfg(&p1, &c, 0), CDAT_OK);
	/* Only n0 and n1 are up. */
	for (size_t i = 2; i < 40; i++) {
		p0.cur.nodes[i].down = p1.cur.nodes[i].down = true;
		for (size_t j = 0; j < CDAT_MAX_ADDRS; j++)
			p0.cur.nodes[i].addrs[j].status = p1.cur.nodes[i].addrs[j].status =
				CDAT_UNREACHABLE;
	}
	p1.cur.nodes[0].addrs[0].rtt_us = 777;

	assert_int_equal(cdat_proto_set_own(&p1, 3, 20, 9000, "ib"), CDAT_OK);
	cdat_proto_tick(&p1, now, &out);
	assert_int_equal(out.n, 1);
	assert_int_equal(ob[0].type, CDAT_MSG_REPORT);
	assert_string_equal(ob[0].to, nodes[0].name);
	assert_int_equal(cdat_proto_input(&p0, nodes[1].name, ob[0].type, ob[0].body, ob[0].len,
					  now, NULL), CDAT_OK);
	/* Not a report about itself: refused. */
	assert_int_equal(cdat_proto_input(&p0, nodes[2].name, ob[0].type, ob[0].body, ob[0].len,
					  now, NULL), CDAT_ERR_FORMAT);
	out.n = 0;
	cdat_proto_tick(&p0, now + 500, &out);
	assert_int_equal(out.n, 0);	/* holdoff */
	now += 1000;
	cdat_proto_tick(&p0, now, &out);
	assert_true(p0.proposing);
	nfrag = out.n;
	/* 40 entries of ~384 bytes: 3 per fragment. */
	assert_int_equal(nfrag, 14);
	frag = calloc(nfrag, sizeof(*frag));
	memcpy(frag, ob, nfrag * sizeof(*frag));
	out.n = 0;
	/* Reverse order; the first fragment twice. */
	for (size_t i = nfrag; i-- > 0;) {
		assert_int_equal(frag[i].type, CDAT_MSG_PROPOSE);
		assert_true(frag[i].len <= CDAT_BODY_MAX);
		rc = cdat_proto_input(&p1, nodes[0].name, frag[i].type, frag[i].body, frag[i].len,
				      now, &out);
		assert_int_equal(rc, CDAT_OK);
		assert_int_equal(out.n, i == 0 ? 1 : 0);
	}
	assert_int_equal(ob[0].type, CDAT_MSG_ACK);
	assert_memory_equal(ob[0].body + 16, p0.prop.digest, CDAT_DIGEST_LEN);
	rc = cdat_proto_input(&p1, nodes[0].name, frag[0].type, frag[0].body, frag[0].len, now,
			      &out);
	assert_int_equal(out.n, 2);	/* re-acked */
	out.n = 1;
	/* A truncated fragment is refused. */
	out.n = 0;
	assert_int_equal(cdat_proto_input(&p1, nodes[0].name, frag[0].type, frag[0].body,
					  (size_t)frag[0].len - 1, now, &out), CDAT_ERR_TLV);
	assert_int_equal(out.n, 0);
	/* A fragment with an impossible PART (first past the end) too. */
	{
		struct cdat_out bad = frag[1];

		bad.body[12 + 4 + 4] = 0x01;	/* first = 0x01xx > 40 */
		assert_int_equal(cdat_proto_input(&p1, nodes[0].name, bad.type, bad.body, bad.len,
						  now, &out), CDAT_ERR_FORMAT);
	}
	/* Neither touched the assembled proposal: a resend is acked once. */
	for (size_t i = 0; i < nfrag; i++)
		cdat_proto_input(&p1, nodes[0].name, frag[i].type, frag[i].body, frag[i].len, now,
				 &out);
	assert_int_equal(out.n, 1);

	/* ACK -> COMMIT -> installed on both. */
	{
		struct cdat_out ack = ob[0];

		out.n = 0;
		assert_int_equal(cdat_proto_input(&p0, nodes[1].name, ack.type, ack.body, ack.len,
						  now, &out), CDAT_OK);
	}
	assert_int_equal(out.n, 1);
	assert_int_equal(ob[0].type, CDAT_MSG_COMMIT);
	assert_false(p0.proposing);
	assert_int_equal(p0.cur.version, 1);
	assert_int_equal(cdat_proto_input(&p1, nodes[0].name, ob[0].type, ob[0].body, ob[0].len,
					  now, NULL), CDAT_OK);
	assert_int_equal(p1.cur.version, 1);
	assert_memory_equal(p1.cur.digest, p0.cur.digest, CDAT_DIGEST_LEN);
	assert_int_equal(p1.cur.nodes[1].addrs[3].mtu, 9000);
	assert_int_equal(p1.cur.nodes[1].addrs[3].prefix, 20);
	/* Local observations survived the install. */
	assert_true(p1.cur.nodes[5].down);
	assert_int_equal(p1.cur.nodes[5].addrs[7].status, CDAT_UNREACHABLE);
	assert_int_equal(p1.cur.nodes[0].addrs[0].rtt_us, 777);
	assert_int_equal(cdat_proto_coordinator(&p1), 0);

	/* A proposal older than the committed table is refused with our version. */
	out.n = 0;
	frag[0].body[11] = 0;	/* version 1 -> 0 */
	rc = cdat_proto_input(&p1, nodes[0].name, frag[0].type, frag[0].body, frag[0].len, now,
			      &out);
	assert_int_equal(rc, CDAT_ERR_STALE);
	assert_int_equal(out.n, 1);
	assert_int_equal(ob[0].type, CDAT_MSG_ACK);
	{
		uint64_t v;
		uint8_t d[CDAT_DIGEST_LEN];

		assert_true(cdat_get_summary(ob[0].body, ob[0].len, &v, d));
		assert_int_equal(v, 1);
		assert_memory_equal(d, p1.cur.digest, sizeof(d));
	}
	/* Garbage of every kind is refused without effect. */
	{
		static const uint8_t junk[] = { 0x02, 0x02, 0x00, 0x08, 1, 2, 3 };

		assert_int_equal(cdat_proto_input(&p1, nodes[0].name, CDAT_MSG_PROPOSE, junk,
						  sizeof(junk), now, NULL), CDAT_ERR_TLV);
		assert_int_equal(cdat_proto_input(&p1, nodes[0].name, CDAT_MSG_COMMIT, junk, 0,
						  now, NULL), CDAT_ERR_FORMAT);
		assert_int_equal(cdat_proto_input(&p1, nodes[0].name, 99, junk, 0, now, NULL),
				 CDAT_ERR_INVAL);
		assert_int_equal(p1.cur.version, 1);
	}
	/* Corrupted messages of every type never read out of bounds. */
	srand(3);
	for (int i = 0; i < 5000; i++) {
		struct cdat_out m = frag[(size_t)rand() % nfrag];
		size_t l = m.len - (size_t)(rand() % 4 == 0 ? rand() % (int)m.len : 0);
		uint8_t *copy = malloc(l ? l : 1);

		memcpy(copy, m.body, l);
		for (int j = rand() % 3; j >= 0 && l; j--)
			copy[rand() % (int)l] = (uint8_t)rand();
		out.n = 0;
		cdat_proto_input(i % 2 ? &p1 : &p0, nodes[i % 3].name,
				 (uint8_t)(CDAT_MSG_REPORT + rand() % 4), copy, l, now, &out);
		free(copy);
	}
	free(frag);
	free(ob);
	cdat_proto_free(&p0);
	cdat_proto_free(&p1);
}

/* A coordinator change from a long node name to a shorter one: the shorter
 * coordinator's fragmented proposal is reassembled, acknowledged and
 * committed (the name of the previous proposer must not linger). */
/* A version near 2^64 (found by fuzz_cdat: 2^64-1 made the next proposal
 * wrap to 0, which every peer refuses as older, and the coordinator could
 * never commit again) is refused wherever it comes in, and proposals go on. */
static void test_version_limit(void **state)
{
	struct body b;
	const uint8_t *body;
	uint8_t digest[CDAT_DIGEST_LEN] = { 1 }, got[CDAT_DIGEST_LEN];
	uint64_t v = 0, before;
	size_t len;
	struct sim s;

	(void)state;
	body_begin(&b);
	cdat_put_summary(&b.w, UINT64_MAX, digest);
	body = body_of(&b, &len);
	assert_false(cdat_get_summary(body, len, &v, got));
	body_begin(&b);
	cdat_put_summary(&b.w, CDAT_VERSION_LIMIT - 1, digest);
	body = body_of(&b, &len);
	assert_true(cdat_get_summary(body, len, &v, got));
	assert_int_equal(v, CDAT_VERSION_LIMIT - 1);

	sim_init(&s, 3);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(cdat_proto_set_own(&s.p[i], 0, 24, 1500, "eth"), CDAT_OK);
	for (int i = 0; i < 40; i++)
		sim_step(&s);
	before = sim_agree(&s, -1);
	assert_true(before >= 1);
	cdat_proto_heard(&s.p[0], s.p[1].cur.nodes[1].name, UINT64_MAX, digest, s.now);
	assert_true(s.p[0].max_seen < CDAT_VERSION_LIMIT);
	/* a change still commits, with a higher version */
	assert_int_equal(cdat_proto_set_own(&s.p[2], 0, 24, 9000, "eth"), CDAT_OK);
	for (int i = 0; i < 40; i++)
		sim_step(&s);
	assert_true(sim_agree(&s, -1) > before);
	sim_free(&s);
}

static void test_sim_shorter_coordinator(void **state)
{
	static const char *const names[] = { "coordinator-long", "c2", "n2", "n3", "n4", "n5" };
	struct sim s;
	uint64_t v1, v2;

	(void)state;
	srand(7);
	/* Eight addresses per node: the table needs several fragments. */
	sim_init_with(&s, 6, names, CDAT_MAX_ADDRS);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(cdat_proto_set_own(&s.p[i], 0, 24, (uint16_t)(1500 + 100 * i),
						    "eth"), CDAT_OK);
	for (int i = 0; i < 40; i++)
		sim_step(&s);
	v1 = sim_agree(&s, -1);
	assert_true(v1 >= 1);
	assert_true(cdat_proto_is_coordinator(&s.p[0]));
	assert_true(s.max_parts > 1);
	assert_int_equal(sim_mtu(&s, 5, 3), 1800);

	/* The coordinator dies; "c2" takes over and a node reports a change. */
	s.alive[0] = false;
	s.max_parts = 0;
	assert_int_equal(cdat_proto_set_own(&s.p[3], 0, 24, 9000, "eth"), CDAT_OK);
	for (int i = 0; i < 60; i++)
		sim_step(&s);
	assert_true(cdat_proto_is_coordinator(&s.p[1]));
	assert_true(s.max_parts > 1);
	v2 = sim_agree(&s, -1);
	assert_true(v2 > v1);
	for (size_t i = 1; i < s.n; i++)
		assert_int_equal(sim_mtu(&s, i, 3), 9000);
	sim_free(&s);
}

/* --- agreement before a node is expelled --- */

#define VS_MAX 6
#define VS_HB 100

/* n nodes, each with its own table; link[a][b]: a's datagrams reach b.
 * A step: every node ticks; then heartbeats (probes) go out, each answered
 * when both directions work; then every node's heartbeat, with the list of
 * what it suspects, reaches the nodes it can reach (as in the daemon: a
 * heartbeat is a sign of life of the path and a vote). */
struct vsim {
	size_t n;
	struct cdat t[VS_MAX];
	bool link[VS_MAX][VS_MAX];
	uint64_t now;
	unsigned bits[VS_MAX];	/* events of the last step, per node */
};

static void vsim_init(struct vsim *v, size_t n)
{
	memset(v, 0, sizeof(*v));
	v->n = n;
	sim_config(n, NULL, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cdat_from_cfg(&v->t[i], &sim_cfg), CDAT_OK);
		for (size_t j = 0; j < n; j++)
			v->link[i][j] = true;
	}
}

static void vsim_free(struct vsim *v)
{
	for (size_t i = 0; i < v->n; i++)
		cdat_free(&v->t[i]);
}

static void vsim_cut(struct vsim *v, size_t a)
{
	for (size_t j = 0; j < v->n; j++)
		v->link[a][j] = v->link[j][a] = false;
}

static void vsim_step(struct vsim *v)
{
	uint32_t ids[VS_MAX][VS_MAX];
	size_t n_ids[VS_MAX];

	v->now += VS_HB;
	for (size_t i = 0; i < v->n; i++)
		v->bits[i] = cdat_tick(&v->t[i], v->now, VS_HB, NULL);
	for (size_t i = 0; i < v->n; i++) {
		n_ids[i] = 0;
		for (size_t x = 0; x < v->n; x++)
			if (x != i && v->t[i].nodes[x].suspected)
				ids[i][n_ids[i]++] = wire_node_id(v->t[i].nodes[x].name);
	}
	for (size_t i = 0; i < v->n; i++)
		for (size_t j = 0; j < v->n; j++) {
			if (j == i)
				continue;
			for (size_t a = 0; a < v->t[i].nodes[j].n_addrs; a++)
				if (cdat_probe_due(&v->t[i], j, a, v->now, VS_HB, 1)) {
					cdat_sent(&v->t[i], j, a, v->now, 0);
					if (v->link[i][j] && v->link[j][i])
						v->bits[i] |= cdat_answered(&v->t[i], j, a, v->now,
									    v->now + 1, NULL);
				}
			/* j's heartbeat to i */
			if (v->link[j][i]) {
				v->bits[i] |= cdat_heard(&v->t[i], j, 0, v->now + 1, NULL);
				v->bits[i] |= cdat_set_suspects(&v->t[i], j, ids[j], n_ids[j],
								v->now + 1, VS_HB, NULL);
			}
		}
}

/* Pure decision: voters heard recently, our suspicion, theirs arriving. */
static void test_agree_votes(void **state)
{
	struct cdat t;
	struct cdat_events ev;
	uint32_t id2;
	size_t voters, votes;
	unsigned bits = 0;
	uint64_t now = 0;

	(void)state;
	sim_config(4, NULL, 1);
	assert_int_equal(cdat_from_cfg(&t, &sim_cfg), CDAT_OK);
	/* We are n0; n1 and n3 vote (suspecting nobody), n2 stops answering. */
	id2 = wire_node_id("n2");
	for (int k = 0; k < 10 && !(bits & CDAT_EV_NODE_SUSPECT); k++) {
		now += 100;
		memset(&ev, 0, sizeof(ev));
		bits = cdat_tick(&t, now, 100, &ev);
		for (size_t j = 1; j < 4; j++)
			if (cdat_probe_due(&t, j, 0, now, 100, 1)) {
				cdat_sent(&t, j, 0, now, 0);
				if (j != 2)
					bits |= cdat_answered(&t, j, 0, now, now + 1, &ev);
			}
		bits |= cdat_set_suspects(&t, 1, NULL, 0, now + 1, 100, &ev);
		bits |= cdat_set_suspects(&t, 3, NULL, 0, now + 1, 100, &ev);
	}
	assert_true(bits & CDAT_EV_NODE_SUSPECT);
	assert_false(bits & CDAT_EV_NODE_DOWN);
	assert_true(t.nodes[2].suspected);
	assert_false(t.nodes[2].down);
	assert_false(cdat_agreed(&t, 2, now + 1, 100, &voters, &votes));
	assert_int_equal(voters, 3);
	assert_int_equal(votes, 1);
	/* n1 suspects n2 too: 2 of 3. */
	memset(&ev, 0, sizeof(ev));
	bits = cdat_set_suspects(&t, 1, &id2, 1, now + 2, 100, &ev);
	assert_int_equal(bits, CDAT_EV_NODE_DOWN);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.ev[0].node, 2);
	assert_true(t.nodes[2].down);
	assert_true(cdat_suspects(&t, 1, 2));
	assert_false(cdat_suspects(&t, 3, 2));
	/* Down stays down whatever the votes do; an answer brings it back. */
	bits = cdat_set_suspects(&t, 1, NULL, 0, now + 3, 100, NULL);
	assert_int_equal(bits, 0);
	assert_true(t.nodes[2].down);
	bits = cdat_heard(&t, 2, 0, now + 4, NULL);
	assert_true(bits & CDAT_EV_NODE_UP);
	assert_false(t.nodes[2].down);
	assert_false(t.nodes[2].suspected);

	/* Voters whose word is stale are no voters: n1 and n3 silent for more
	 * than retry heartbeats leave us alone, and alone we decide. */
	t.nodes[2].suspected = true;
	assert_false(cdat_agreed(&t, 2, now + 300, 100, &voters, &votes));
	assert_int_equal(voters, 3);
	assert_true(cdat_agreed(&t, 2, now + 400, 100, &voters, &votes));
	assert_int_equal(voters, 1);
	/* A voter we suspect ourselves is no voter either. */
	t.nodes[3].suspected = true;
	assert_false(cdat_agreed(&t, 2, now + 5, 100, &voters, &votes));
	assert_int_equal(voters, 2);	/* n0, n1 */
	assert_int_equal(votes, 1);	/* n1 took its suspicion back */
	/* Bad indexes. */
	assert_int_equal(cdat_set_suspects(&t, 9, NULL, 0, now, 100, NULL), 0);
	assert_false(cdat_suspects(&t, 9, 0));
	assert_int_equal(cdat_leaving(&t, 9, now, NULL), 0);
	cdat_free(&t);
}

/* d1 -> d2 drops (one direction only): d2 suspects d1, nobody else does,
 * and d1 stays up everywhere. */
static void test_agree_oneway(void **state)
{
	struct vsim v;
	size_t voters, votes;

	(void)state;
	vsim_init(&v, 4);
	for (int k = 0; k < 5; k++)
		vsim_step(&v);
	v.link[0][1] = false;
	for (int k = 0; k < 40; k++) {
		vsim_step(&v);
		for (size_t i = 0; i < 4; i++)
			for (size_t x = 0; x < 4; x++)
				assert_false(v.t[i].nodes[x].down);
	}
	assert_true(v.t[1].nodes[0].suspected);
	assert_false(v.t[0].nodes[1].suspected);	/* d1 hears d2's heartbeats */
	assert_false(v.t[2].nodes[0].suspected);
	assert_false(v.t[3].nodes[0].suspected);
	assert_false(cdat_agreed(&v.t[1], 0, v.now + 1, VS_HB, &voters, &votes));
	assert_int_equal(voters, 3);
	assert_int_equal(votes, 1);
	/* The others saw d2's vote. */
	assert_true(cdat_suspects(&v.t[2], 1, 0));
	/* Healed: the suspicion ends, nothing else happened. */
	v.link[0][1] = true;
	vsim_step(&v);
	vsim_step(&v);
	assert_false(v.t[1].nodes[0].suspected);
	assert_false(v.t[1].nodes[0].down);
	vsim_free(&v);
}

/* d1 dies: everyone suspects it, and declares it down once the others'
 * suspicion has arrived, within a step of suspecting it. */
static void test_agree_failure(void **state)
{
	struct vsim v;
	int sus[4] = { -1, -1, -1, -1 }, down[4] = { -1, -1, -1, -1 };

	(void)state;
	vsim_init(&v, 4);
	for (int k = 0; k < 5; k++)
		vsim_step(&v);
	vsim_cut(&v, 0);
	for (int k = 0; k < 20; k++) {
		vsim_step(&v);
		for (size_t i = 1; i < 4; i++) {
			if (sus[i] < 0 && v.t[i].nodes[0].suspected)
				sus[i] = k;
			if (down[i] < 0 && v.t[i].nodes[0].down)
				down[i] = k;
		}
	}
	for (size_t i = 1; i < 4; i++) {
		assert_true(sus[i] >= 0);
		assert_true(down[i] >= sus[i]);
		assert_true(down[i] <= sus[i] + 1);
		assert_false(v.t[i].nodes[1].down || v.t[i].nodes[2].down ||
			     v.t[i].nodes[3].down);
	}
	vsim_free(&v);
}

/* Nodes 0, 1 | 2, 3, 4: each side declares the other side down. */
static void test_agree_partition(void **state)
{
	struct vsim v;

	(void)state;
	vsim_init(&v, 5);
	for (int k = 0; k < 5; k++)
		vsim_step(&v);
	for (size_t a = 0; a < 2; a++)
		for (size_t b = 2; b < 5; b++)
			v.link[a][b] = v.link[b][a] = false;
	for (int k = 0; k < 20; k++)
		vsim_step(&v);
	for (size_t i = 0; i < 5; i++)
		for (size_t x = 0; x < 5; x++) {
			bool far = (i < 2) != (x < 2);

			if (x == i)
				continue;
			assert_true(v.t[i].nodes[x].down == far);
		}
	/* Healed: everything comes back. */
	for (size_t a = 0; a < 5; a++)
		for (size_t b = 0; b < 5; b++)
			v.link[a][b] = true;
	vsim_step(&v);
	vsim_step(&v);
	for (size_t i = 0; i < 5; i++)
		for (size_t x = 0; x < 5; x++)
			assert_false(v.t[i].nodes[x].down || v.t[i].nodes[x].suspected);
	vsim_free(&v);
}

/* Two nodes: nobody else to ask, a one-way failure is decided alone. */
static void test_agree_two_nodes(void **state)
{
	struct vsim v;
	size_t voters, votes;

	(void)state;
	vsim_init(&v, 2);
	for (int k = 0; k < 5; k++)
		vsim_step(&v);
	v.link[0][1] = false;
	for (int k = 0; k < 10; k++)
		vsim_step(&v);
	assert_true(v.t[1].nodes[0].down);
	assert_false(v.t[0].nodes[1].down);
	assert_true(cdat_agreed(&v.t[1], 0, v.now, VS_HB, &voters, &votes));
	assert_int_equal(voters, 1);
	vsim_free(&v);
}

/* A node that says it leaves is down at once, without a vote. */
static void test_agree_leaving(void **state)
{
	struct vsim v;
	struct cdat_events ev;

	(void)state;
	vsim_init(&v, 4);
	for (int k = 0; k < 5; k++)
		vsim_step(&v);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(cdat_leaving(&v.t[1], 0, v.now, &ev), CDAT_EV_NODE_DOWN);
	assert_int_equal(ev.n, 1);
	assert_true(v.t[1].nodes[0].down);
	assert_true(v.t[1].nodes[0].suspected);
	assert_int_equal(cdat_current_addr(&v.t[1], 0), -1);
	assert_int_equal(cdat_leaving(&v.t[1], 0, v.now, NULL), 0);	/* once */
	/* The others still hear it: for them it is up; it comes back on the
	 * next sign of life (a restart). */
	assert_int_equal(cdat_heard(&v.t[1], 0, 0, v.now + 1, NULL) & CDAT_EV_NODE_UP,
			 CDAT_EV_NODE_UP);
	vsim_free(&v);
}

/* Class of service orders a node's addresses: lowest first, the file's
 * order among equals. */
static void test_cos_order(void **state)
{
	struct cdat t;

	(void)state;
	sim_config(2, NULL, 3);
	sim_addrs[1].a[0].cos = 5;
	sim_addrs[1].a[1].cos = 1;
	sim_addrs[1].a[2].cos = 1;
	assert_int_equal(cdat_from_cfg(&t, &sim_cfg), CDAT_OK);
	assert_int_equal(cdat_current_addr(&t, 1), 1);
	t.nodes[1].addrs[1].status = CDAT_UNREACHABLE;
	assert_int_equal(cdat_current_addr(&t, 1), 2);
	t.nodes[1].addrs[2].status = CDAT_UNREACHABLE;
	assert_int_equal(cdat_current_addr(&t, 1), 0);
	t.nodes[1].addrs[0].status = CDAT_UNREACHABLE;
	assert_int_equal(cdat_current_addr(&t, 1), -1);
	/* Equal classes: the file's order. */
	assert_int_equal(cdat_current_addr(&t, 0), 0);
	assert_int_equal(cdat_current_addr(&t, 7), -1);
	cdat_free(&t);
	sim_addrs[1].a[0].cos = sim_addrs[1].a[1].cos = sim_addrs[1].a[2].cos = 0;
}

/* The path limit from the adapter MTUs, and PROPOSE fragments that fit it. */
static void test_path_mtu(void **state)
{
	static struct cfg_addr addrs[12][CDAT_MAX_ADDRS];
	static struct cfg_node nodes[12];
	struct cfg c;
	struct cdat t;
	struct cdat_proto p;
	struct cdat_out *ob = calloc(256, sizeof(*ob));
	struct cdat_outbox out = { .msg = ob, .cap = 256 };
	size_t parts[3] = { 0 }, biggest[3] = { 0 };
	char ip[64];

	(void)state;
	assert_non_null(ob);
	sim_config(2, NULL, 2);		/* v4 then v6 per node */
	assert_int_equal(cdat_from_cfg(&t, &sim_cfg), CDAT_OK);
	assert_int_equal(cdat_path_max(&t, 0, 1), WIRE_MAX);
	assert_int_equal(cdat_set_adapter(&t, 1, 0, 24, 1000, NULL), CDAT_OK);
	assert_int_equal(cdat_path_max(&t, 0, 1), 1000 - 28);
	/* Our own smaller adapter of the same family bounds it too. */
	assert_int_equal(cdat_set_adapter(&t, 0, 1, 64, 900, NULL), CDAT_OK);
	assert_int_equal(cdat_path_max(&t, 0, 1), 900 - 48);
	assert_int_equal(cdat_path_max(&t, -1, 1), 1000 - 28);
	assert_int_equal(cdat_path_max(&t, 0, 5), 0);
	cdat_free(&t);

	/* 12 nodes of 8 addresses; n0 proposes to n1 (MTU 1500), n2 (600),
	 * n3 (a path of 300 bytes: one entry per fragment, each too big). */
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < 12; i++) {
		snprintf(nodes[i].name, CFG_NAME_MAX, "n%zu", i);
		for (size_t j = 0; j < CDAT_MAX_ADDRS; j++) {
			snprintf(ip, sizeof(ip), "10.%zu.0.%zu", j, i + 1);
			set_caddr(&addrs[i][j], ip, 24, i == 2 ? 600 : i == 3 ? 328 : 1500,
				  "ethernet", 0, 3);
		}
		nodes[i].addrs = addrs[i];
		nodes[i].n_addrs = CDAT_MAX_ADDRS;
	}
	c.nodes = nodes;
	c.n_nodes = 12;
	strcpy(c.node_name, "n0");
	assert_int_equal(cdat_proto_init_cfg(&p, &c, 0), CDAT_OK);
	for (size_t i = 4; i < 12; i++)
		p.cur.nodes[i].down = true;
	/* A new adapter type for n0: the coordinator proposes. */
	assert_int_equal(cdat_proto_set_own(&p, 0, 24, 1500, "ib"), CDAT_OK);
	cdat_proto_tick(&p, 0, &out);
	cdat_proto_tick(&p, 2000, &out);
	assert_true(p.proposing);
	for (size_t k = 0; k < out.n; k++) {
		size_t to = (size_t)(ob[k].to[1] - '1');

		assert_int_equal(ob[k].type, CDAT_MSG_PROPOSE);
		assert_true(to < 3);
		parts[to]++;
		if (ob[k].len > biggest[to])
			biggest[to] = ob[k].len;
	}
	/* Datagram = body + header, MAC and sequence TLV (WIRE_MAX - CDAT_BODY_MAX). */
	assert_true(biggest[0] + WIRE_MAX - CDAT_BODY_MAX <= WIRE_MAX);
	assert_true(biggest[1] + WIRE_MAX - CDAT_BODY_MAX <= 600 - 28);
	assert_true(parts[1] > parts[0]);
	assert_int_equal(parts[2], 12);	/* one entry each */
	cdat_proto_free(&p);
	free(ob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_cfg),
		cmocka_unit_test(test_next_ms),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_fuzz),
		cmocka_unit_test(test_version_limit),
		cmocka_unit_test(test_rtt),
		cmocka_unit_test(test_probe_grid),
		cmocka_unit_test(test_loss_late_loop),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_proto_fragments),
		cmocka_unit_test(test_sim_converge),
		cmocka_unit_test(test_sim_partition),
		cmocka_unit_test(test_sim_shorter_coordinator),
		cmocka_unit_test(test_agree_votes),
		cmocka_unit_test(test_agree_oneway),
		cmocka_unit_test(test_agree_failure),
		cmocka_unit_test(test_agree_partition),
		cmocka_unit_test(test_agree_two_nodes),
		cmocka_unit_test(test_agree_leaving),
		cmocka_unit_test(test_cos_order),
		cmocka_unit_test(test_path_mtu),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
