/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/wire (encode, decode, MAC, replay), sync/key (key file
 * loader) and a loopback check of sync/chan.  Known answers were computed
 * outside libsodium (Python hmac/hashlib). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sync/chan.h"
#include "sync/key.h"
#include "sync/wire.h"

/* key 00 01 .. 1f */
static struct wire_keys keys_a;
/* key 80 81 .. 9f */
static struct wire_keys keys_b;
/* rotation set: sign with b, accept b or a */
static struct wire_keys keys_ba;

static int setup_keys(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(&keys_a, 0, sizeof(keys_a));
	memset(&keys_b, 0, sizeof(keys_b));
	for (int i = 0; i < 32; i++) {
		keys_a.key[0].k[i] = (uint8_t)i;
		keys_b.key[0].k[i] = (uint8_t)(0x80 + i);
	}
	keys_a.n = keys_b.n = 1;
	keys_ba = keys_b;
	keys_ba.key[1] = keys_a.key[0];
	keys_ba.n = 2;
	return 0;
}

static const struct wire_hdr kat_hdr = {
	.type = WIRE_HEARTBEAT, .flags = 0x0102, .sender = 0,
	.epoch = 0x0102030405060708ull, .seq = 42,
	.recipient = 0x0844ecd6u /* wire_node_id("t1") */,
	.recipient_epoch = 0x1112131415161718ull,
};

/* Sizes of the known-answer message: header, TLV node "d1", MAC. */
#define H WIRE_HDR_LEN
#define KAT_END (H + 8)		/* header + body: where the MAC starts */
#define KAT_LEN (KAT_END + WIRE_MAC_LEN)

/* The known-answer message: header + TLV node "d1", key 00..1f. */
static const uint8_t kat_msg[] = {
	0x43, 0x4c, 0x44, 0x31, 0x02, 0x01, 0x01, 0x02,
	0x88, 0x1d, 0x13, 0xe6, 0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x2a, 0x00, 0x34, 0x00, 0x00,
	/* recipient "t1", recipient_epoch */
	0x08, 0x44, 0xec, 0xd6, 0x11, 0x12, 0x13, 0x14,
	0x15, 0x16, 0x17, 0x18,
	/* TLV node "d1" */
	0x00, 0x01, 0x00, 0x02, 0x64, 0x31, 0x00, 0x00,
	/* HMAC-SHA512 truncated to 32 bytes */
	0x2b, 0x37, 0x13, 0xb9, 0xfd, 0x90, 0x37, 0x02,
	0x01, 0x36, 0x5c, 0x88, 0x0c, 0x76, 0x2f, 0xbe,
	0x33, 0xed, 0x0b, 0x33, 0x78, 0xb0, 0x30, 0x28,
	0xa4, 0x41, 0xfa, 0xc3, 0x5c, 0xc2, 0x2a, 0x2b,
};

static size_t build_kat(uint8_t *buf, size_t cap, const struct wire_keys *k)
{
	struct wire_writer w;
	struct wire_hdr h = kat_hdr;

	h.sender = wire_node_id("d1");
	wire_begin(&w, buf, cap, &h);
	wire_put(&w, WIRE_TLV_NODE, "d1", 2);
	return wire_finish(&w, k);
}

/* Re-signs buf[0..body_end) with key a, after a test tampered with it. */
static void resign(uint8_t *buf, size_t body_end)
{
	crypto_auth(buf + body_end, buf, body_end, keys_a.key[0].k);
}

static void test_node_id(void **state)
{
	(void)state;
	/* FNV-1a 32 reference vectors */
	assert_int_equal(wire_node_id(""), 0x811c9dc5u);
	assert_int_equal(wire_node_id("a"), 0xe40c292cu);
	assert_int_equal(wire_node_id("foobar"), 0xbf9cf968u);
	assert_int_equal(wire_node_id("d1"), 0x881d13e6u);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(wire_status_name(WIRE_OK), "ok");
	assert_string_equal(wire_status_name(WIRE_ERR_SHORT), "short");
	assert_string_equal(wire_status_name(WIRE_ERR_LONG), "long");
	assert_string_equal(wire_status_name(WIRE_ERR_MAGIC), "magic");
	assert_string_equal(wire_status_name(WIRE_ERR_VERSION), "version");
	assert_string_equal(wire_status_name(WIRE_ERR_LENGTH), "length");
	assert_string_equal(wire_status_name(WIRE_ERR_MAC), "mac");
	assert_string_equal(wire_status_name(WIRE_ERR_REPLAY), "replay");
	assert_string_equal(wire_status_name(WIRE_ERR_STALE_EPOCH), "stale_epoch");
	assert_string_equal(wire_status_name(WIRE_ERR_TLV), "tlv");
	assert_string_equal(wire_status_name(WIRE_ERR_RECIPIENT), "recipient");
	assert_string_equal(wire_status_name(WIRE_ERR_STALE_RECIPIENT_EPOCH),
			    "stale_recipient_epoch");
	assert_string_equal(wire_status_name(WIRE__MAX), "unknown");
	assert_string_equal(wire_status_name((enum wire_status)-1), "unknown");
}

static void test_known_answer(void **state)
{
	uint8_t buf[WIRE_MAX];
	size_t n;

	(void)state;
	memset(buf, 0xee, sizeof(buf));	/* padding must be written as zeros */
	n = build_kat(buf, sizeof(buf), &keys_a);
	assert_int_equal(n, sizeof(kat_msg));
	assert_memory_equal(buf, kat_msg, sizeof(kat_msg));
}

static void test_roundtrip(void **state)
{
	static const struct wire_listen ls[3] = {
		{ AF_INET, IPPROTO_TCP, 80, 1 },
		{ AF_INET6, IPPROTO_UDP, 53, 0 },
		{ AF_INET, 132 /* SCTP */, 3868, 1 },
	};
	struct wire_hdr h = {
		.type = WIRE_HEARTBEAT, .flags = 0xa55a, .sender = wire_node_id("t1"),
		.epoch = 1700000000123456789ull, .seq = 0xfedcba9876543210ull,
		.recipient = 0xdeadbeefu, .recipient_epoch = 0x8877665544332211ull,
	};
	uint8_t buf[WIRE_MAX];
	struct wire_writer w;
	struct wire_msg m;
	struct tlv_iter it;
	struct wire_listen l;
	const uint8_t *val;
	uint16_t type, len;
	unsigned n_node = 0, n_listen = 0;
	size_t n;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	wire_begin(&w, buf, sizeof(buf), &h);
	wire_put(&w, WIRE_TLV_NODE, "t1", 2);
	for (int i = 0; i < 3; i++)
		wire_put_listen(&w, &ls[i]);
	n = wire_finish(&w, &keys_a);
	/* 44 header + 8 node + 3 * 12 listen + 32 MAC */
	assert_int_equal(n, H + 8 + 36 + 32);
	/* second listen TLV, exact bytes: type 2, len 8, 6, 17, port 53, 0, pad */
	static const uint8_t l2[12] = { 0, 2, 0, 8, 6, 17, 0, 53, 0, 0, 0, 0 };
	assert_memory_equal(buf + H + 8 + 12, l2, sizeof(l2));

	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_OK);
	assert_int_equal(m.hdr.type, WIRE_HEARTBEAT);
	assert_int_equal(m.hdr.flags, 0xa55a);
	assert_int_equal(m.hdr.sender, wire_node_id("t1"));
	assert_true(m.hdr.epoch == 1700000000123456789ull);
	assert_true(m.hdr.seq == 0xfedcba9876543210ull);
	assert_int_equal(m.hdr.recipient, 0xdeadbeefu);
	assert_true(m.hdr.recipient_epoch == 0x8877665544332211ull);
	assert_ptr_equal(m.body, buf + H);
	assert_int_equal(m.body_len, 44);

	wire_tlv_begin(&it, &m);
	while (tlv_next(&it, &type, &val, &len)) {
		if (type == WIRE_TLV_NODE) {
			assert_int_equal(len, 2);
			assert_memory_equal(val, "t1", 2);
			n_node++;
		} else {
			assert_int_equal(type, WIRE_TLV_LISTEN);
			assert_int_equal(len, WIRE_LISTEN_LEN);
			assert_true(n_listen < 3);
			assert_true(wire_get_listen(val, len, &l));
			assert_int_equal(l.family, ls[n_listen].family);
			assert_int_equal(l.proto, ls[n_listen].proto);
			assert_int_equal(l.port, ls[n_listen].port);
			assert_int_equal(l.listening, ls[n_listen].listening);
			n_listen++;
		}
	}
	assert_int_equal(n_node, 1);
	assert_int_equal(n_listen, 3);
}

static void test_get_listen_bad(void **state)
{
	static const uint8_t ok[8] = { 4, 6, 0x1f, 0x90, 1, 0, 0, 0 };
	static const uint8_t fam[8] = { 5, 6, 0x1f, 0x90, 1, 0, 0, 0 };
	struct wire_listen l;

	(void)state;
	assert_true(wire_get_listen(ok, 8, &l));
	assert_int_equal(l.family, AF_INET);
	assert_int_equal(l.port, 8080);
	assert_false(wire_get_listen(ok, 7, &l));
	assert_false(wire_get_listen(fam, 8, &l));
}

static void test_writer_overflow(void **state)
{
	uint8_t buf[WIRE_MAX + 100], val[100];
	struct wire_writer w;
	struct wire_listen bad = { 7, IPPROTO_TCP, 80, 1 };

	(void)state;
	memset(val, 0x5a, sizeof(val));
	/* 1412 - 32 MAC - 44 header = 1336 body: twelve 104-byte TLVs fit */
	wire_begin(&w, buf, sizeof(buf), &kat_hdr);
	assert_int_equal(wire_room(&w), 1336);
	/* a smaller buffer: its own size less header and MAC */
	{
		struct wire_writer s2;

		wire_begin(&s2, buf, 200, &kat_hdr);
		assert_int_equal(wire_room(&s2), 200 - H - WIRE_MAC_LEN);
		wire_put(&s2, WIRE_TLV_NODE, "d1", 2);
		assert_int_equal(wire_room(&s2), 200 - H - WIRE_MAC_LEN - 8);
	}
	for (int i = 0; i < 12; i++)
		wire_put(&w, 9, val, sizeof(val));
	assert_false(w.body.overflow);
	assert_int_equal(wire_finish(&w, &keys_a), H + 12 * 104 + 32);

	wire_begin(&w, buf, sizeof(buf), &kat_hdr);
	for (int i = 0; i < 13; i++)
		wire_put(&w, 9, val, sizeof(val));
	assert_true(w.body.overflow);
	assert_int_equal(wire_finish(&w, &keys_a), 0);

	/* a buffer smaller than the message */
	wire_begin(&w, buf, KAT_LEN - 1, &kat_hdr);
	wire_put(&w, WIRE_TLV_NODE, "d1", 2);
	assert_int_equal(wire_finish(&w, &keys_a), 0);
	wire_begin(&w, buf, KAT_LEN, &kat_hdr);
	wire_put(&w, WIRE_TLV_NODE, "d1", 2);
	assert_int_equal(wire_finish(&w, &keys_a), KAT_LEN);

	/* no room for even the header */
	wire_begin(&w, buf, H + WIRE_MAC_LEN - 1, &kat_hdr);
	assert_true(w.body.overflow);
	assert_int_equal(wire_finish(&w, &keys_a), 0);

	/* bad family, no key */
	wire_begin(&w, buf, sizeof(buf), &kat_hdr);
	wire_put_listen(&w, &bad);
	assert_int_equal(wire_finish(&w, &keys_a), 0);
	wire_begin(&w, buf, sizeof(buf), &kat_hdr);
	struct wire_keys none = { .n = 0 };
	assert_int_equal(wire_finish(&w, &none), 0);
}

static void test_reject_short(void **state)
{
	uint8_t buf[WIRE_MAX];
	struct wire_msg m;

	(void)state;
	memcpy(buf, kat_msg, sizeof(kat_msg));
	assert_int_equal(wire_decode(buf, 0, &keys_a, &m), WIRE_ERR_SHORT);
	assert_int_equal(wire_decode(buf, WIRE_HDR_LEN + WIRE_MAC_LEN - 1, &keys_a, &m),
			 WIRE_ERR_SHORT);
	/* the smallest valid message: header, no body */
	struct wire_writer w;
	wire_begin(&w, buf, sizeof(buf), &kat_hdr);
	assert_int_equal(wire_finish(&w, &keys_a), H + WIRE_MAC_LEN);
	assert_int_equal(wire_decode(buf, H + WIRE_MAC_LEN, &keys_a, &m), WIRE_OK);
	assert_int_equal(m.body_len, 0);
}

static void test_reject_long(void **state)
{
	uint8_t buf[WIRE_MAX + 1];
	struct wire_msg m;

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, kat_msg, sizeof(kat_msg));
	assert_int_equal(wire_decode(buf, WIRE_MAX + 1, &keys_a, &m), WIRE_ERR_LONG);
}

static void test_reject_magic(void **state)
{
	uint8_t buf[sizeof(kat_msg)];
	struct wire_msg m;

	(void)state;
	memcpy(buf, kat_msg, sizeof(buf));
	buf[3] = '2';
	resign(buf, KAT_END);
	assert_int_equal(wire_decode(buf, sizeof(buf), &keys_a, &m), WIRE_ERR_MAGIC);
}

static void test_reject_version(void **state)
{
	uint8_t buf[sizeof(kat_msg)];
	struct wire_msg m;

	(void)state;
	memcpy(buf, kat_msg, sizeof(buf));
	buf[4] = 1;	/* the layout before the recipient fields */
	resign(buf, KAT_END);
	assert_int_equal(wire_decode(buf, sizeof(buf), &keys_a, &m), WIRE_ERR_VERSION);
}

static void test_reject_length(void **state)
{
	uint8_t buf[sizeof(kat_msg) + 4];
	struct wire_msg m;

	(void)state;
	memcpy(buf, kat_msg, sizeof(kat_msg));
	/* datagram one byte shorter / longer than the length field says */
	assert_int_equal(wire_decode(buf, sizeof(kat_msg) - 1, &keys_a, &m), WIRE_ERR_LENGTH);
	assert_int_equal(wire_decode(buf, sizeof(kat_msg) + 1, &keys_a, &m), WIRE_ERR_LENGTH);
	/* length field below the header size */
	buf[28] = 0;
	buf[29] = 16;
	assert_int_equal(wire_decode(buf, 16 + 32, &keys_a, &m), WIRE_ERR_SHORT);
	assert_int_equal(wire_decode(buf, sizeof(kat_msg), &keys_a, &m), WIRE_ERR_LENGTH);
	/* length field one TLV longer than the datagram, even if re-signed */
	buf[29] = KAT_END + 4;
	resign(buf, KAT_END);
	assert_int_equal(wire_decode(buf, sizeof(kat_msg), &keys_a, &m), WIRE_ERR_LENGTH);
}

static void flip_and_check(size_t byte, uint8_t bit)
{
	uint8_t buf[sizeof(kat_msg)];
	struct wire_msg m;

	memcpy(buf, kat_msg, sizeof(buf));
	assert_int_equal(wire_decode(buf, sizeof(buf), &keys_a, &m), WIRE_OK);
	buf[byte] ^= bit;
	assert_int_equal(wire_decode(buf, sizeof(buf), &keys_a, &m), WIRE_ERR_MAC);
}

static void test_reject_mac_header(void **state)
{
	(void)state;
	flip_and_check(5, 0x02);	/* type */
	flip_and_check(8, 0x80);	/* sender */
	flip_and_check(27, 0x01);	/* seq */
	flip_and_check(30, 0x01);	/* reserved is covered too */
	flip_and_check(35, 0x01);	/* recipient */
	flip_and_check(43, 0x01);	/* recipient_epoch */
}

static void test_reject_mac_body(void **state)
{
	(void)state;
	flip_and_check(H + 4, 0x01);	/* 'd' */
	flip_and_check(H + 7, 0x10);	/* padding */
}

static void test_reject_mac_trailer(void **state)
{
	(void)state;
	flip_and_check(KAT_END, 0x01);
	flip_and_check(KAT_LEN - 1, 0x80);
}

static void test_reject_wrong_key(void **state)
{
	struct wire_msg m;
	struct wire_keys none = { .n = 0 };

	(void)state;
	assert_int_equal(wire_decode(kat_msg, sizeof(kat_msg), &keys_b, &m), WIRE_ERR_MAC);
	assert_int_equal(wire_decode(kat_msg, sizeof(kat_msg), &none, &m), WIRE_ERR_MAC);
}

static void test_second_key(void **state)
{
	uint8_t buf[WIRE_MAX];
	struct wire_msg m;
	size_t n;

	(void)state;
	/* old sender (key a) -> rotating receiver (b, a) */
	assert_int_equal(wire_decode(kat_msg, sizeof(kat_msg), &keys_ba, &m), WIRE_OK);
	assert_int_equal(m.hdr.seq, 42);
	/* rotating sender signs with b: new receiver accepts, old one does not */
	n = build_kat(buf, sizeof(buf), &keys_ba);
	assert_int_equal(n, sizeof(kat_msg));
	assert_memory_not_equal(buf + KAT_END, kat_msg + KAT_END, 32);
	assert_int_equal(wire_decode(buf, n, &keys_b, &m), WIRE_OK);
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_ERR_MAC);
	assert_int_equal(wire_decode(buf, n, &keys_ba, &m), WIRE_OK);
}

/* Builds header + raw body, signed with key a; returns the datagram size. */
static size_t raw_msg(uint8_t *buf, const uint8_t *body, size_t body_len)
{
	memcpy(buf, kat_msg, WIRE_HDR_LEN);
	memcpy(buf + WIRE_HDR_LEN, body, body_len);
	buf[28] = (uint8_t)((WIRE_HDR_LEN + body_len) >> 8);
	buf[29] = (uint8_t)(WIRE_HDR_LEN + body_len);
	resign(buf, WIRE_HDR_LEN + body_len);
	return WIRE_HDR_LEN + body_len + WIRE_MAC_LEN;
}

static void test_reject_tlv(void **state)
{
	/* value length 5 needs 8 bytes of value; only 4 follow */
	static const uint8_t overrun[] = { 0, 1, 0, 5, 'a', 'b', 'c', 'd' };
	/* a good TLV then two stray bytes: not a TLV header */
	static const uint8_t stray[] = { 0, 1, 0, 2, 'd', '1', 0, 0, 0, 9 };
	/* length 0xffff */
	static const uint8_t huge[] = { 0, 1, 0xff, 0xff, 0, 0, 0, 0 };
	/* zero-length TLVs and an unknown type are fine */
	static const uint8_t good[] = { 0, 7, 0, 0, 0x12, 0x34, 0, 1, 'x', 0, 0, 0 };
	uint8_t buf[WIRE_MAX];
	struct wire_msg m;
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, len;
	size_t n;

	(void)state;
	n = raw_msg(buf, overrun, sizeof(overrun));
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_ERR_TLV);
	n = raw_msg(buf, stray, sizeof(stray));
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_ERR_TLV);
	n = raw_msg(buf, huge, sizeof(huge));
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_ERR_TLV);

	n = raw_msg(buf, good, sizeof(good));
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_OK);
	wire_tlv_begin(&it, &m);
	assert_true(tlv_next(&it, &type, &val, &len));
	assert_int_equal(type, 7);
	assert_int_equal(len, 0);
	assert_true(tlv_next(&it, &type, &val, &len));
	assert_int_equal(type, 0x1234);
	assert_int_equal(len, 1);
	assert_int_equal(val[0], 'x');
	assert_false(tlv_next(&it, &type, &val, &len));

	/* the iterator alone also stops on a malformed body */
	m.body = overrun;
	m.body_len = sizeof(overrun);
	wire_tlv_begin(&it, &m);
	assert_false(tlv_next(&it, &type, &val, &len));
}

static void test_replay_in_order(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	for (uint64_t s = 1; s <= 200; s++) {
		assert_int_equal(wire_replay_check(&r, 5, s), WIRE_OK);
		wire_replay_accept(&r, 5, s);
		assert_int_equal(wire_replay_check(&r, 5, s), WIRE_ERR_REPLAY);
	}
	assert_true(r.top == 200);
	assert_true(r.bitmap == ~0ull);
}

static void test_replay_reorder(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	wire_replay_accept(&r, 5, 100);
	/* 37 and 99 are within the window (100 - 63 = 37) */
	assert_int_equal(wire_replay_check(&r, 5, 99), WIRE_OK);
	assert_int_equal(wire_replay_check(&r, 5, 37), WIRE_OK);
	wire_replay_accept(&r, 5, 99);
	wire_replay_accept(&r, 5, 37);
	assert_true(r.bitmap == (1ull | 1ull << 1 | 1ull << 63));
	assert_int_equal(wire_replay_check(&r, 5, 98), WIRE_OK);
	/* a jump of 10 keeps the older bits */
	wire_replay_accept(&r, 5, 110);
	assert_int_equal(wire_replay_check(&r, 5, 100), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 5, 99), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 5, 98), WIRE_OK);
	assert_int_equal(wire_replay_check(&r, 5, 105), WIRE_OK);
	/* 37 fell out of the window: now too old */
	assert_int_equal(wire_replay_check(&r, 5, 37), WIRE_ERR_REPLAY);
}

static void test_replay_duplicate(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	wire_replay_accept(&r, 5, 10);
	wire_replay_accept(&r, 5, 8);
	assert_int_equal(wire_replay_check(&r, 5, 10), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 5, 8), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 5, 9), WIRE_OK);
	/* accepting a duplicate changes nothing */
	struct wire_replay before = r;
	wire_replay_accept(&r, 5, 8);
	assert_memory_equal(&r, &before, sizeof(r));
}

static void test_replay_too_old(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	wire_replay_accept(&r, 5, 1000);
	assert_int_equal(wire_replay_check(&r, 5, 937), WIRE_OK);		/* top - 63 */
	assert_int_equal(wire_replay_check(&r, 5, 936), WIRE_ERR_REPLAY);	/* top - 64 */
	assert_int_equal(wire_replay_check(&r, 5, 0), WIRE_ERR_REPLAY);
	/* a jump past the window clears the bitmap */
	wire_replay_accept(&r, 5, 2000);
	assert_true(r.bitmap == 1);
	assert_int_equal(wire_replay_check(&r, 5, 1999), WIRE_OK);
	assert_int_equal(wire_replay_check(&r, 5, 1000), WIRE_ERR_REPLAY);
}

static void test_replay_epoch(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	wire_replay_accept(&r, 5, 1000);
	/* the sender restarted: seq starts again, window resets */
	assert_int_equal(wire_replay_check(&r, 6, 1), WIRE_OK);
	wire_replay_accept(&r, 6, 1);
	assert_true(r.epoch == 6 && r.top == 1 && r.bitmap == 1);
	assert_int_equal(wire_replay_check(&r, 6, 1), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 6, 2), WIRE_OK);
	/* messages from the old boot are stale, whatever their seq */
	assert_int_equal(wire_replay_check(&r, 5, 1001), WIRE_ERR_STALE_EPOCH);
	assert_int_equal(wire_replay_check(&r, 5, 1), WIRE_ERR_STALE_EPOCH);
	wire_replay_accept(&r, 5, 1001);
	assert_true(r.epoch == 6 && r.top == 1);
}

/* Defect 2 of the review: d2's datagram to t1, relayed to d1, was accepted
 * there.  The recipient under the MAC makes d1 refuse it, and a datagram
 * for an earlier boot of ours is refused too. */
static void test_recipient(void **state)
{
	uint32_t t1 = wire_node_id("t1"), d1 = wire_node_id("d1");
	uint64_t now = 0x1112131415161718ull;
	struct wire_msg m;

	(void)state;
	assert_int_equal(wire_decode(kat_msg, sizeof(kat_msg), &keys_a, &m), WIRE_OK);
	assert_int_equal(m.hdr.recipient, t1);
	assert_true(m.hdr.recipient_epoch == now);
	/* for t1 in that boot: accepted and proven */
	assert_int_equal(wire_check_recipient(&m.hdr, t1, now), WIRE_OK);
	assert_true(wire_proven(&m.hdr, now));
	/* relayed to d1: refused, whatever d1's epoch */
	assert_int_equal(wire_check_recipient(&m.hdr, d1, now), WIRE_ERR_RECIPIENT);
	assert_int_equal(wire_check_recipient(&m.hdr, d1, 1), WIRE_ERR_RECIPIENT);
	/* replayed at t1 after a restart (a later epoch): refused */
	assert_int_equal(wire_check_recipient(&m.hdr, t1, now + 1),
			 WIRE_ERR_STALE_RECIPIENT_EPOCH);
	assert_false(wire_proven(&m.hdr, now + 1));
	/* nor may a datagram name a future boot of ours */
	assert_int_equal(wire_check_recipient(&m.hdr, t1, now - 1),
			 WIRE_ERR_STALE_RECIPIENT_EPOCH);
}

/* recipient_epoch 0: the sender has not heard from us yet.  Accepted (it
 * teaches the sender's epoch) but not proven. */
static void test_recipient_unproven(void **state)
{
	struct wire_hdr h = kat_hdr;
	uint8_t buf[WIRE_MAX];
	struct wire_writer w;
	struct wire_msg m;
	size_t n;

	(void)state;
	h.recipient_epoch = 0;
	wire_begin(&w, buf, sizeof(buf), &h);
	n = wire_finish(&w, &keys_a);
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_OK);
	assert_true(m.hdr.recipient_epoch == 0);
	assert_int_equal(wire_check_recipient(&m.hdr, kat_hdr.recipient, 77), WIRE_OK);
	assert_false(wire_proven(&m.hdr, 77));
	assert_int_equal(wire_check_recipient(&m.hdr, kat_hdr.recipient + 1, 77),
			 WIRE_ERR_RECIPIENT);
	/* an epoch of ours of 0 (never the case) proves nothing either */
	assert_false(wire_proven(&m.hdr, 0));
	/* changing the recipient fields breaks the MAC */
	buf[36] ^= 0x01;
	assert_int_equal(wire_decode(buf, n, &keys_a, &m), WIRE_ERR_MAC);
}

/* One counter for every recipient: the window of one recipient sees gaps
 * (the numbers sent to others) and accepts them as before. */
static void test_replay_gaps(void **state)
{
	struct wire_replay r = { 0 };

	(void)state;
	for (uint64_t s = 3; s <= 300; s += 3) {
		assert_int_equal(wire_replay_check(&r, 5, s), WIRE_OK);
		wire_replay_accept(&r, 5, s);
	}
	assert_int_equal(wire_replay_check(&r, 5, 300), WIRE_ERR_REPLAY);
	assert_int_equal(wire_replay_check(&r, 5, 297), WIRE_ERR_REPLAY);
	/* one sent to us but reordered behind the others */
	assert_int_equal(wire_replay_check(&r, 5, 298), WIRE_OK);
	assert_int_equal(wire_replay_check(&r, 5, 238), WIRE_OK);	/* top - 62 */
	assert_int_equal(wire_replay_check(&r, 5, 237), WIRE_ERR_REPLAY);	/* seen */
	assert_int_equal(wire_replay_check(&r, 5, 236), WIRE_ERR_REPLAY);	/* top - 64 */
}

/* --- key_load --- */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_wire.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *key_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

#define HEX32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_key_good(void **state)
{
	struct wire_keys k;
	char err[512];

	(void)state;
	assert_int_equal(key_load(key_file("good", HEX32 "\n", 0600), &k, err, sizeof(err)), 0);
	assert_int_equal(k.n, 1);
	assert_memory_equal(&k.key[0], &keys_a.key[0], 32);
	/* the loaded key authenticates the known-answer message */
	struct wire_msg m;
	assert_int_equal(wire_decode(kat_msg, sizeof(kat_msg), &k, &m), WIRE_OK);
	/* upper case, mode 0400 */
	assert_int_equal(key_load(key_file("upper",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0400),
		&k, err, sizeof(err)), 0);
	assert_memory_equal(&k.key[0], &keys_a.key[0], 32);
}

static void test_key_mode(void **state)
{
	struct wire_keys k;
	char err[512];
	const char *p;

	(void)state;
	p = key_file("mode", HEX32 "\n", 0644);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "0644"));
	assert_int_equal(k.n, 0);
	p = key_file("mode", HEX32 "\n", 0620);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EPERM);
	p = key_file("mode", HEX32 "\n", 0601);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EPERM);
}

static void test_key_missing(void **state)
{
	struct wire_keys k;
	char err[512], path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/nope", tmpdir);
	assert_int_equal(key_load(path, &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(key_load(tmpdir, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_key_nonhex(void **state)
{
	struct wire_keys k;
	char err[512];
	const char *p;

	(void)state;
	/* 'g' at byte 70: line 2, column 5 */
	p = key_file("nonhex", HEX32 "\n0011g2" HEX32 "\n", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "'g' at byte 70 (line 2, column 5)"));
	p = key_file("nonhex", "0x" HEX32, 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'x' at byte 2"));
	p = key_file("nonhex", HEX32 "\x01", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x01 at byte 65"));
}

static void test_key_short(void **state)
{
	struct wire_keys k;
	char err[512];
	const char *p;

	(void)state;
	p = key_file("short", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",
		     0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "62 hex digits"));
	p = key_file("empty", "", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0 hex digits"));
	p = key_file("odd", HEX32 "a\n", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "odd number of hex digits (65)"));
}

static void test_key_long(void **state)
{
	/* BLAKE2b-256 of bytes 00..27 (Python hashlib.blake2b) */
	static const uint8_t want[32] = {
		0x70, 0xa3, 0x08, 0x2d, 0xfc, 0x75, 0x82, 0xb9, 0xd2, 0x52, 0x93, 0x9a,
		0x47, 0x43, 0x38, 0xdb, 0x1f, 0x94, 0xa6, 0xdc, 0xc7, 0x72, 0x47, 0x09,
		0x37, 0x77, 0x97, 0xd1, 0x7f, 0xf5, 0x1a, 0xc5,
	};
	struct wire_keys k;
	char err[512];
	char *big;
	const char *p;

	(void)state;
	p = key_file("long", HEX32 "2021222324252627\n", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), 0);
	assert_int_equal(k.n, 1);
	assert_memory_equal(k.key[0].k, want, 32);

	/* larger than KEY_FILE_MAX */
	big = malloc(KEY_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', KEY_FILE_MAX + 1);
	big[KEY_FILE_MAX + 1] = '\0';
	p = key_file("big", big, 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), -EFBIG);
	/* exactly KEY_FILE_MAX is fine */
	big[KEY_FILE_MAX] = '\0';
	p = key_file("big", big, 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), 0);
	free(big);
}

static void test_key_whitespace(void **state)
{
	struct wire_keys k;
	char err[512];
	const char *p;

	(void)state;
	p = key_file("ws", "  00 01 02 03 04 05 06 07\t08090a0b0c0d0e0f\r\n"
		     "10111213 14151617\n18191a1b1c1d1e1f\n\n  \n", 0600);
	assert_int_equal(key_load(p, &k, err, sizeof(err)), 0);
	assert_memory_equal(&k.key[0], &keys_a.key[0], 32);
}

/* --- chan over loopback --- */

static void chan_loop(const char *to_text)
{
	struct ip_addr to, from;
	struct chan *a, *b;
	uint8_t buf[WIRE_MAX], rx[WIRE_MAX];
	struct wire_msg m;
	struct pollfd pfd;
	char err[256];
	uint16_t from_port;
	ssize_t n;
	size_t len;

	assert_true(addr_parse(&to, to_text));
	a = chan_open(0, NULL, "", err, sizeof(err));
	assert_non_null(a);
	b = chan_open(0, NULL, NULL, err, sizeof(err));
	assert_non_null(b);
	assert_true(chan_port(b) != 0);
	assert_int_equal(chan_recv(b, rx, sizeof(rx), &from), 0);

	len = build_kat(buf, sizeof(buf), &keys_a);
	assert_int_equal(chan_send(a, &to, chan_port(b), buf, len), 0);
	pfd.fd = chan_fd(b);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	n = chan_recv_port(b, rx, sizeof(rx), &from, &from_port);
	assert_int_equal(n, (ssize_t)len);
	assert_true(addr_eq(&from, &to));
	assert_int_equal(from_port, chan_port(a));
	assert_int_equal(wire_decode(rx, (size_t)n, &keys_a, &m), WIRE_OK);
	assert_int_equal(m.hdr.seq, 42);

	/* a datagram larger than the buffer is dropped, not cut */
	assert_int_equal(chan_send(a, &to, chan_port(b), buf, len), 0);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(chan_recv(b, rx, 10, NULL), -EMSGSIZE);
	assert_int_equal(chan_recv(b, rx, sizeof(rx), NULL), 0);

	chan_close(a);
	chan_close(b);
}

static void test_chan_v4(void **state)
{
	(void)state;
	chan_loop("127.0.0.1");
}

static void test_chan_v6(void **state)
{
	(void)state;
	chan_loop("::1");
}

static void test_chan_errors(void **state)
{
	struct ip_addr none = { 0 };
	struct chan *a;
	char err[256];

	(void)state;
	assert_null(chan_open(0, NULL, "no-such-if0", err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-if0"));
	a = chan_open(0, NULL, "", err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(chan_send(a, &none, 1, "x", 1), -EAFNOSUPPORT);
	chan_close(a);
}

/* chan_send_from: the receiver sees the chosen source (127.0.0.2 is local on
 * lo like all of 127/8), and an address this host does not have is refused. */
static void test_chan_send_from(void **state)
{
	struct chan *a, *b;
	struct ip_addr to, src, from, other6;
	uint8_t rx[16];
	char err[256];
	struct pollfd pfd;

	(void)state;
	a = chan_open(0, NULL, NULL, err, sizeof(err));
	b = chan_open(0, NULL, NULL, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_true(addr_parse(&to, "127.0.0.1"));
	assert_true(addr_parse(&src, "127.0.0.2"));
	assert_int_equal(chan_send_from(a, &src, &to, chan_port(b), "hi", 2), 0);
	pfd.fd = chan_fd(b);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(chan_recv(b, rx, sizeof(rx), &from), 2);
	assert_true(addr_eq(&from, &src));
	/* NULL source: the kernel's choice, as chan_send */
	assert_int_equal(chan_send_from(a, NULL, &to, chan_port(b), "hi", 2), 0);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(chan_recv(b, rx, sizeof(rx), &from), 2);
	assert_true(addr_eq(&from, &to));
	/* a source of the other family, or not ours */
	assert_true(addr_parse(&other6, "::1"));
	assert_int_equal(chan_send_from(a, &other6, &to, chan_port(b), "hi", 2), -EINVAL);
	assert_true(addr_parse(&src, "192.0.2.77"));
	assert_true(chan_send_from(a, &src, &to, chan_port(b), "hi", 2) < 0);
	chan_close(a);
	chan_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_id),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_get_listen_bad),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_reject_short),
		cmocka_unit_test(test_reject_long),
		cmocka_unit_test(test_reject_magic),
		cmocka_unit_test(test_reject_version),
		cmocka_unit_test(test_reject_length),
		cmocka_unit_test(test_reject_mac_header),
		cmocka_unit_test(test_reject_mac_body),
		cmocka_unit_test(test_reject_mac_trailer),
		cmocka_unit_test(test_reject_wrong_key),
		cmocka_unit_test(test_second_key),
		cmocka_unit_test(test_reject_tlv),
		cmocka_unit_test(test_replay_in_order),
		cmocka_unit_test(test_replay_reorder),
		cmocka_unit_test(test_replay_duplicate),
		cmocka_unit_test(test_replay_too_old),
		cmocka_unit_test(test_replay_epoch),
		cmocka_unit_test(test_recipient),
		cmocka_unit_test(test_recipient_unproven),
		cmocka_unit_test(test_replay_gaps),
		cmocka_unit_test_setup_teardown(test_key_good, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_mode, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_missing, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_nonhex, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_short, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_long, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_whitespace, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_chan_v4),
		cmocka_unit_test(test_chan_v6),
		cmocka_unit_test(test_chan_errors),
		cmocka_unit_test(test_chan_send_from),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
