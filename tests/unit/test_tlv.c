/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/tlv (the one TLV codec) and sync/msg.h (the one table
 * of type numbers): exact bytes and padding, round trips, overflow at every
 * capacity, malformed framing, zero-length values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sync/msg.h"
#include "sync/tlv.h"

static void test_pad(void **state)
{
	(void)state;
	assert_int_equal(tlv_pad4(0), 0);
	assert_int_equal(tlv_pad4(1), 4);
	assert_int_equal(tlv_pad4(3), 4);
	assert_int_equal(tlv_pad4(4), 4);
	assert_int_equal(tlv_pad4(5), 8);
	assert_int_equal(tlv_space(0), 4);
	assert_int_equal(tlv_space(5), 12);
	assert_int_equal(tlv_space(65535), 4 + 65536);
}

/* Exact bytes: big-endian header, the value, zero padding over whatever the
 * buffer held before. */
static void test_exact_bytes(void **state)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0, 0,			/* type 0x1234, empty */
		0, 1, 0, 1, 'a', 0, 0, 0,		/* 1 byte, 3 pad */
		0, 2, 0, 3, 'b', 'c', 'd', 0,		/* 3 bytes, 1 pad */
		0, 3, 0, 4, 'e', 'f', 'g', 'h',		/* 4 bytes, no pad */
		0, 4, 0, 5, 'i', 'j', 'k', 'l', 'm', 0, 0, 0,
		0x01, 0x00, 0, 1, 0xfe, 0, 0, 0,	/* u8 */
		0x01, 0x01, 0, 2, 0xbe, 0xef, 0, 0,	/* u16 */
		0x01, 0x02, 0, 4, 0xde, 0xad, 0xbe, 0xef,	/* u32 */
		0x01, 0x03, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,	/* u64 */
		0xff, 0xff, 0, 2, 'd', '1', 0, 0,	/* string without NUL */
	};
	uint8_t buf[sizeof(want) + 16];
	struct tlv_writer w;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	tlv_writer_init(&w, buf, sizeof(buf));
	assert_true(tlv_put(&w, 0x1234, NULL, 0));
	assert_true(tlv_put(&w, 1, "a", 1));
	assert_true(tlv_put(&w, 2, "bcd", 3));
	assert_true(tlv_put(&w, 3, "efgh", 4));
	assert_true(tlv_put(&w, 4, "ijklm", 5));
	assert_true(tlv_put_u8(&w, 0x100, 0xfe));
	assert_true(tlv_put_u16(&w, 0x101, 0xbeef));
	assert_true(tlv_put_u32(&w, 0x102, 0xdeadbeefu));
	assert_true(tlv_put_u64(&w, 0x103, 0x0102030405060708ull));
	assert_true(tlv_put_str(&w, 0xffff, "d1"));
	assert_false(w.overflow);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* nothing written past len */
	for (size_t i = sizeof(want); i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
	assert_int_equal(tlv_room(&w), 16);
	assert_true(tlv_framing_ok(buf, w.len));
}

/* What the writer wrote, the iterator reads back in order. */
static void test_round_trip(void **state)
{
	uint8_t buf[2048], val[600];
	struct tlv_writer w;
	struct tlv_iter it;
	const uint8_t *v;
	uint16_t type, len;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)(i * 7 + 1);
	tlv_writer_init(&w, buf, sizeof(buf));
	for (size_t l = 0; l < 40; l++)
		assert_true(tlv_put(&w, (uint16_t)(0x300 + l), val, l));
	assert_true(tlv_put(&w, 7, val, sizeof(val)));
	assert_true(tlv_framing_ok(buf, w.len));
	tlv_iter_init(&it, buf, w.len);
	while (tlv_next(&it, &type, &v, &len)) {
		size_t want = n < 40 ? n : sizeof(val);

		assert_int_equal(type, n < 40 ? 0x300 + n : 7);
		assert_int_equal(len, want);
		assert_ptr_not_equal(v, NULL);
		assert_memory_equal(v, val, want);
		n++;
	}
	assert_int_equal(n, 41);
	/* stopped at the end, and stays there */
	assert_false(tlv_next(&it, &type, &v, &len));
	assert_int_equal(tlv_iter_rest(&it, &v), 0);
}

/* The largest value a TLV can hold. */
static void test_max_value(void **state)
{
	size_t cap = tlv_space(TLV_VAL_MAX);
	uint8_t *buf = malloc(cap), *val = calloc(1, TLV_VAL_MAX + 1);
	struct tlv_writer w;
	const uint8_t *v;
	uint16_t type, len;

	(void)state;
	assert_non_null(buf);
	assert_non_null(val);
	tlv_writer_init(&w, buf, cap);
	assert_false(tlv_put(&w, 1, val, TLV_VAL_MAX + 1));	/* len does not fit u16 */
	assert_true(w.overflow);
	tlv_writer_init(&w, buf, cap);
	assert_true(tlv_put(&w, 1, val, TLV_VAL_MAX));
	assert_int_equal(w.len, cap);
	assert_int_equal(tlv_room(&w), 0);
	assert_non_null(tlv_find(buf, w.len, 1, &len));
	assert_int_equal(len, TLV_VAL_MAX);
	assert_false(tlv_fits(&w, 0));
	(void)type;
	(void)v;
	free(buf);
	free(val);
}

/* One fixed sequence of puts into a buffer of every size from 0 to the
 * whole: the writer keeps exactly the TLVs that fit before the first one
 * that did not, sets overflow then and only then, and writes nothing past
 * cap (the buffer is allocated to cap exactly: ASan sees any stray byte). */
static void test_overflow_every_cap(void **state)
{
	static const size_t lens[] = { 0, 1, 7, 4, 0, 13, 2, 32, 3 };
	uint8_t ref[256], val[32];
	struct tlv_writer w;
	size_t full, ends[sizeof(lens) / sizeof(lens[0]) + 1], n = sizeof(lens) / sizeof(lens[0]);

	(void)state;
	memset(val, 0xa5, sizeof(val));
	tlv_writer_init(&w, ref, sizeof(ref));
	ends[0] = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(tlv_put(&w, (uint16_t)i, val, lens[i]));
		ends[i + 1] = w.len;
	}
	full = w.len;
	for (size_t cap = 0; cap <= full; cap++) {
		uint8_t *buf = cap ? malloc(cap) : NULL;
		size_t fit = 0;
		bool ok_all = true;

		if (cap)
			assert_non_null(buf);
		while (fit < n && ends[fit + 1] <= cap)
			fit++;
		tlv_writer_init(&w, buf, cap);
		for (size_t i = 0; i < n; i++) {
			bool fits = tlv_fits(&w, lens[i]);
			bool ok = tlv_put(&w, (uint16_t)i, val, lens[i]);

			assert_true(fits == ok);
			assert_true(ok == (ok_all && i < fit));
			ok_all = ok_all && ok;
		}
		assert_int_equal(w.len, ends[fit]);
		assert_true(w.overflow == (fit < n));
		assert_true(w.len <= cap);
		if (w.len)
			assert_memory_equal(buf, ref, w.len);
		/* sticky: even an empty TLV is refused after an overflow */
		if (w.overflow) {
			assert_false(tlv_put(&w, 99, NULL, 0));
			assert_int_equal(w.len, ends[fit]);
		}
		free(buf);
	}
}

/* tlv_fits asks without spoiling the writer; bad arguments overflow. */
static void test_fits_and_arguments(void **state)
{
	uint8_t buf[16];
	struct tlv_writer w;

	(void)state;
	tlv_writer_init(&w, buf, sizeof(buf));
	assert_true(tlv_fits(&w, 12));
	assert_false(tlv_fits(&w, 13));
	assert_false(w.overflow);
	assert_true(tlv_put(&w, 1, "abcdefgh", 8));
	assert_false(tlv_fits(&w, 1));	/* 4 bytes left: a header alone */
	assert_true(tlv_fits(&w, 0));
	assert_false(w.overflow);
	/* a value pointer is needed for a non-empty value */
	assert_false(tlv_put(&w, 1, NULL, 1));
	assert_true(w.overflow);
	assert_int_equal(w.len, 12);
	tlv_writer_init(&w, buf, sizeof(buf));
	assert_false(tlv_put_str(&w, 1, NULL));
	assert_true(w.overflow);
	/* no buffer: capacity 0 */
	tlv_writer_init(&w, NULL, 100);
	assert_int_equal(tlv_room(&w), 0);
	assert_false(tlv_put(&w, 1, NULL, 0));
	assert_true(w.overflow);
}

static void test_put_tlvs(void **state)
{
	uint8_t body[32], out[64];
	struct tlv_writer b, w;
	const uint8_t *v;
	uint16_t len;

	(void)state;
	tlv_writer_init(&b, body, sizeof(body));
	tlv_put_u32(&b, 5, 7);
	tlv_put(&b, 6, "xyz", 3);
	tlv_writer_init(&w, out, sizeof(out));
	assert_true(tlv_put_u64(&w, 1, 42));
	assert_true(tlv_put_tlvs(&w, body, b.len));
	assert_true(tlv_put_tlvs(&w, NULL, 0));
	assert_int_equal(w.len, 12 + b.len);
	assert_memory_equal(out + 12, body, b.len);
	assert_non_null(v = tlv_find(out, w.len, 6, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(v, "xyz", 3);
	/* refused: not whole TLVs, or too long; the writer then overflows */
	assert_false(tlv_put_tlvs(&w, body, b.len - 1));
	assert_true(w.overflow);
	assert_int_equal(w.len, 12 + b.len);
	tlv_writer_init(&w, out, b.len - 1);
	assert_false(tlv_put_tlvs(&w, body, b.len));
	assert_true(w.overflow);
	assert_int_equal(w.len, 0);
}

/* Bodies that must not frame: truncated headers, values or padding past
 * the end, trailing bytes.  The iterator stops at the same place and stays
 * stopped. */
static void test_malformed(void **state)
{
	static const struct {
		uint8_t b[16];
		size_t n;
	} bad[] = {
		{ { 0 }, 1 },					/* 1-byte header */
		{ { 0, 1, 0 }, 3 },				/* 3-byte header */
		{ { 0, 1, 0, 1 }, 4 },				/* value missing */
		{ { 0, 1, 0, 1, 'x' }, 5 },			/* padding missing */
		{ { 0, 1, 0, 1, 'x', 0, 0 }, 7 },		/* padding short */
		{ { 0, 1, 0, 5, 1, 2, 3, 4, 5, 0, 0 }, 11 },	/* pads to 12 */
		{ { 0, 1, 0xff, 0xff, 0, 0, 0, 0 }, 8 },	/* length 65535 */
		{ { 0, 1, 0, 0, 0, 2 }, 6 },			/* trailing bytes */
		{ { 0, 1, 0, 4, 1, 2, 3, 4, 0, 2, 0, 9, 0, 0, 0, 0 }, 16 },
	};
	struct tlv_iter it;
	const uint8_t *v;
	uint16_t type, len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t seen = 0;

		assert_false(tlv_framing_ok(bad[i].b, bad[i].n));
		tlv_iter_init(&it, bad[i].b, bad[i].n);
		while (tlv_next(&it, &type, &v, &len)) {
			/* only whole TLVs, padding included */
			assert_true(v + tlv_pad4(len) <= bad[i].b + bad[i].n);
			seen++;
		}
		assert_true(seen <= 1);
		assert_false(tlv_next(&it, &type, &v, &len));
		assert_null(tlv_find(bad[i].b, bad[i].n, 0x0909, &len));
	}
	/* every cut of a good body but the TLV boundaries is malformed */
	{
		uint8_t buf[64];
		struct tlv_writer w;

		tlv_writer_init(&w, buf, sizeof(buf));
		tlv_put(&w, 1, "abcde", 5);	/* 12 */
		tlv_put(&w, 2, NULL, 0);	/* 16 */
		tlv_put(&w, 3, "fg", 2);	/* 24 */
		for (size_t n = 0; n <= w.len; n++)
			assert_true(tlv_framing_ok(buf, n) == (n == 0 || n == 12 || n == 16 || n == 24));
	}
	/* the empty body frames; a NULL one walks as empty */
	assert_true(tlv_framing_ok(NULL, 0));
	tlv_iter_init(&it, NULL, 0);
	assert_false(tlv_next(&it, &type, &v, &len));
}

/* Zero-length values frame as a bare header, wherever they are. */
static void test_zero_length(void **state)
{
	static const uint8_t body[] = { 0, 7, 0, 0, 0, 8, 0, 0, 0x12, 0x34, 0, 1, 'x', 0, 0, 0,
					0, 9, 0, 0 };
	struct tlv_iter it;
	const uint8_t *v, *rest;
	uint16_t type, len;

	(void)state;
	assert_true(tlv_framing_ok(body, sizeof(body)));
	assert_int_equal(tlv_count(body, sizeof(body), 8), 1);
	assert_int_equal(tlv_count(body, sizeof(body), 0x55), 0);
	tlv_iter_init(&it, body, sizeof(body));
	assert_true(tlv_next(&it, &type, &v, &len));
	assert_int_equal(type, 7);
	assert_int_equal(len, 0);
	assert_int_equal(tlv_iter_rest(&it, &rest), sizeof(body) - 4);
	assert_ptr_equal(rest, body + 4);
	assert_true(tlv_next(&it, &type, &v, &len));
	assert_int_equal(type, 8);
	assert_int_equal(len, 0);
	assert_true(tlv_next(&it, &type, &v, &len));
	assert_int_equal(type, 0x1234);
	assert_int_equal(len, 1);
	assert_int_equal(v[0], 'x');
	assert_true(tlv_next(&it, &type, &v, &len));
	assert_int_equal(type, 9);
	assert_int_equal(len, 0);
	assert_false(tlv_next(&it, &type, &v, &len));
}

/* The table keeps the numbers peers and the seed corpora use, and names
 * every entry once. */
static void test_msg_table(void **state)
{
#define NAME_(name, num, str) str,
	static const char *const types[] = { MSG_TYPES(NAME_) };
	static const char *const tlvs[] = { MSG_TLVS(NAME_) };
#undef NAME_
	(void)state;
	assert_int_equal(WIRE_HEARTBEAT, 1);
	assert_int_equal(WIRE_HEARTBEAT_ACK, 3);
	assert_int_equal(WIRE_REL_CTRL, 4);
	assert_int_equal(CDAT_MSG_REPORT, 16);
	assert_int_equal(CDAT_MSG_COMMIT, 19);
	assert_int_equal(REPL_MSG_UPDATE, 32);
	assert_int_equal(REPL_MSG_BULK_REQ, 35);
	assert_int_equal(WIRE_TLV_NODE, 1);
	assert_int_equal(WIRE_TLV_SUSPECT, 8);
	assert_int_equal(REL_TLV_SEQ, 0x100);
	assert_int_equal(REL_TLV_ALIVE, 0x103);
	assert_int_equal(CDAT_TLV_NODE, 0x200);
	assert_int_equal(CDAT_TLV_PART, 0x204);
	assert_int_equal(REPL_TLV_CONN, 0x300);
	assert_int_equal(REPL_TLV_VIPA, 0x304);
	assert_string_equal(msg_type_name(WIRE_HEARTBEAT), "heartbeat");
	assert_string_equal(msg_type_name(REPL_MSG_REPORT_REQ), "repl_report_req");
	assert_string_equal(msg_type_name(200), "unknown");
	assert_string_equal(msg_tlv_name(CDAT_TLV_DIGEST), "cdat_digest");
	assert_string_equal(msg_tlv_name(0x7777), "unknown");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		for (size_t j = i + 1; j < sizeof(types) / sizeof(types[0]); j++)
			assert_string_not_equal(types[i], types[j]);
	for (size_t i = 0; i < sizeof(tlvs) / sizeof(tlvs[0]); i++)
		for (size_t j = i + 1; j < sizeof(tlvs) / sizeof(tlvs[0]); j++)
			assert_string_not_equal(tlvs[i], tlvs[j]);
	/* every state message lies in the range the daemon routes as state */
	assert_true(CDAT_MSG_REPORT >= MSG_CDAT_MIN && CDAT_MSG_COMMIT <= MSG_CDAT_MAX);
	assert_true(REPL_MSG_UPDATE >= MSG_REPL_MIN && REPL_MSG_BULK_REQ <= MSG_REPL_MAX);
	assert_true(MSG_REPL_MAX <= WIRE_STATE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pad),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_max_value),
		cmocka_unit_test(test_overflow_every_cap),
		cmocka_unit_test(test_fits_and_arguments),
		cmocka_unit_test(test_put_tlvs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_msg_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
