/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/hbgroup: echo entries, tokens, the recipient vector,
 * the heard table (coverage, echoes owed, rotation when they do not fit). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sync/hbgroup.h"

static void test_echo_roundtrip(void **state)
{
	struct hbg_echo e[2] = {
		{ .node = 0xdeadbeef, .ai = 3, .held_ms = 513, .token = 0x01020304 },
		{ .node = 7, .ai = 0, .held_ms = 65535, .token = 0xffffffff },
	}, g;
	uint8_t buf[2 * HBG_ECHO_LEN];

	(void)state;
	assert_int_equal(hbg_echo_enc(buf, sizeof(buf), e, 2), 2 * HBG_ECHO_LEN);
	/* One byte short: nothing written, 0. */
	assert_int_equal(hbg_echo_enc(buf, sizeof(buf) - 1, e, 2), 0);
	assert_int_equal(hbg_echo_count(sizeof(buf)), 2);
	assert_int_equal(hbg_echo_count(0), 0);
	assert_int_equal(hbg_echo_count(13), -1);
	hbg_echo_get(buf, 0, &g);
	assert_int_equal(g.node, 0xdeadbeef);
	assert_int_equal(g.ai, 3);
	assert_int_equal(g.held_ms, 513);
	assert_int_equal(g.token, 0x01020304);
	hbg_echo_get(buf, 1, &g);
	assert_int_equal(g.node, 7);
	assert_int_equal(g.held_ms, 65535);
	assert_int_equal(g.token, 0xffffffff);
}

static void test_token_time(void **state)
{
	uint64_t sent = 0, now = 0x100000010ull;	/* the low 32 bits wrapped */

	(void)state;
	/* Sent 0x20 ms before now: 0xfffffff0 in the low bits. */
	assert_true(hbg_token_time(0xfffffff0u, 5, now, 1000, &sent));
	assert_int_equal(sent, now - 0x20);
	/* Held longer than its age: from the future of now - held. */
	assert_false(hbg_token_time(0xfffffff0u, 0x21, now, 1000, &sent));
	/* Older than max_age. */
	assert_false(hbg_token_time((uint32_t)(now - 2000), 0, now, 1000, &sent));
	/* From the future (a token ahead of now reads as ~2^32 ms old). */
	assert_false(hbg_token_time((uint32_t)(now + 5), 0, now, 1000, &sent));
	/* Before the clock started. */
	assert_false(hbg_token_time(0xffffff00u, 0, 100, 1u << 31, &sent));
	assert_true(hbg_token_time(60, 10, 100, 1000, &sent));
	assert_int_equal(sent, 60);
}

static void test_rcpt(void **state)
{
	uint8_t v[3 * HBG_RCPT_LEN];

	(void)state;
	hbg_rcpt_put(v, 11, 0x100000005ull);
	hbg_rcpt_put(v + HBG_RCPT_LEN, 22, 0);
	hbg_rcpt_put(v + 2 * HBG_RCPT_LEN, 33, 9);
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 11, 0x100000005ull), HBG_PROVEN);
	/* Listed with another boot of ours: stale (a replay after a restart). */
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 11, 0x100000006ull), HBG_STALE);
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 11, 5), HBG_STALE);
	/* Listed with 0: the sender has not heard this boot. */
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 22, 4), HBG_UNPROVEN);
	/* Not listed, or no vector at all. */
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 44, 9), HBG_UNPROVEN);
	assert_int_equal(hbg_rcpt_check(NULL, 0, 33, 9), HBG_UNPROVEN);
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 33, 9), HBG_PROVEN);
	/* Our epoch 0 (none yet) is never proven. */
	assert_int_equal(hbg_rcpt_check(v, sizeof(v), 22, 0), HBG_UNPROVEN);
	assert_int_equal(hbg_rcpt_check(v, sizeof(v) - 1, 11, 0x100000005ull), HBG_BAD);
}

static void test_coverage(void **state)
{
	struct hbg g;
	int ifx = 0;

	(void)state;
	assert_int_equal(hbg_init(&g, 3), 0);
	assert_false(hbg_covered(&g, 1, 0, 1000, 400, &ifx));
	hbg_heard(&g, 1, 0, 77, 1000, 5);
	assert_true(hbg_covered(&g, 1, 0, 1000, 400, &ifx));
	assert_int_equal(ifx, 5);
	assert_true(hbg_covered(&g, 1, 0, 1400, 400, NULL));
	/* Past the dead interval: not covered, unicast takes over. */
	assert_false(hbg_covered(&g, 1, 0, 1401, 400, NULL));
	assert_false(hbg_covered(&g, 1, 1, 1000, 400, NULL));
	/* Out of range: never covered, never written. */
	hbg_heard(&g, 3, 0, 1, 1000, 5);
	hbg_heard(&g, 0, HBG_MAX_ADDRS, 1, 1000, 5);
	assert_false(hbg_covered(&g, 3, 0, 1000, 400, NULL));
	assert_false(hbg_covered(&g, 0, HBG_MAX_ADDRS, 1000, 400, NULL));
	hbg_free(&g);
	assert_null(g.slot);
}

static void test_collect(void **state)
{
	uint32_t ids[3] = { 100, 200, 300 };
	struct hbg_echo out[8];
	struct hbg g;
	size_t n;

	(void)state;
	assert_int_equal(hbg_init(&g, 3), 0);
	hbg_heard(&g, 0, 1, 11, 1000, 5);
	hbg_heard(&g, 2, 0, 22, 1010, 6);
	hbg_heard(&g, 1, 0, 33, 900, 5);	/* too old at 1100 with max_hold 150 */
	/* Interface 5 only. */
	n = hbg_collect(&g, 5, 1100, 150, ids, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].node, 100);
	assert_int_equal(out[0].ai, 1);
	assert_int_equal(out[0].token, 11);
	assert_int_equal(out[0].held_ms, 100);
	/* A second heartbeat of the same round (another of our addresses on
	 * the same interface) echoes it again. */
	assert_int_equal(hbg_collect(&g, 5, 1100, 150, ids, out, 8), 1);
	n = hbg_collect(&g, 6, 1100, 150, ids, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].node, 300);
	assert_int_equal(out[0].held_ms, 90);
	hbg_round_done(&g);
	/* Echoed once: no longer owed. */
	assert_int_equal(hbg_collect(&g, 0, 1100, 150, ids, out, 8), 0);
	/* A new heartbeat of the same address: owed again, its new token. */
	hbg_heard(&g, 0, 1, 12, 1200, 5);
	n = hbg_collect(&g, 0, 1200, 150, ids, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].token, 12);
	assert_int_equal(out[0].held_ms, 0);
	hbg_free(&g);
}

/* More owed than one heartbeat carries: what did not fit goes first next
 * round, so every peer is echoed within a few rounds. */
static void test_rotation(void **state)
{
	uint32_t ids[4] = { 1, 2, 3, 4 };
	struct hbg_echo out[2];
	bool seen[5] = { false };
	struct hbg g;

	(void)state;
	assert_int_equal(hbg_init(&g, 4), 0);
	for (uint64_t round = 0; round < 2; round++) {
		for (size_t i = 0; i < 4; i++)
			hbg_heard(&g, i, 0, (uint32_t)round, 1000 + 100 * round, 1);
		size_t n = hbg_collect(&g, 1, 1000 + 100 * round, 1000, ids, out, 2);

		assert_int_equal(n, 2);
		for (size_t k = 0; k < n; k++)
			seen[out[k].node] = true;
		hbg_round_done(&g);
	}
	assert_true(seen[1] && seen[2] && seen[3] && seen[4]);
	hbg_free(&g);
}

static void test_empty(void **state)
{
	struct hbg g;
	struct hbg_echo out[1];

	(void)state;
	assert_int_equal(hbg_init(&g, 0), 0);
	assert_int_equal(hbg_collect(&g, 0, 5, 5, NULL, out, 1), 0);
	hbg_round_done(&g);
	assert_false(hbg_covered(&g, 0, 0, 5, 5, NULL));
	hbg_free(&g);
}

static void test_gseq(void **state)
{
	uint8_t v[3 * HBG_GSEQ_LEN];
	uint64_t seq = 0;

	(void)state;
	hbg_gseq_put(v, 7, 1);
	hbg_gseq_put(v + HBG_GSEQ_LEN, 0xdeadbeef, 0x0102030405060708ull);
	hbg_gseq_put(v + 2 * HBG_GSEQ_LEN, 9, 0);
	assert_int_equal(hbg_gseq_find(v, 2 * HBG_GSEQ_LEN, 0xdeadbeef, &seq), 1);
	assert_true(seq == 0x0102030405060708ull);
	assert_int_equal(hbg_gseq_find(v, 2 * HBG_GSEQ_LEN, 7, &seq), 1);
	assert_true(seq == 1);
	/* Not listed: not for us. */
	assert_int_equal(hbg_gseq_find(v, 2 * HBG_GSEQ_LEN, 8, &seq), 0);
	assert_int_equal(hbg_gseq_find(NULL, 0, 8, &seq), 0);
	/* Listed with seq 0, or a value that does not split: bad. */
	assert_int_equal(hbg_gseq_find(v, 3 * HBG_GSEQ_LEN, 9, &seq), -1);
	assert_int_equal(hbg_gseq_find(v, 2 * HBG_GSEQ_LEN - 1, 7, &seq), -1);
	/* The byte order is the wire's. */
	assert_int_equal(v[HBG_GSEQ_LEN], 0xde);
	assert_int_equal(v[2 * HBG_GSEQ_LEN - 1], 0x08);
}

static void test_same_blobs(void **state)
{
	const uint8_t a[] = { 17, 1, 2, 3 }, b[] = { 17, 1, 2, 3 }, c[] = { 17, 1, 2, 4 },
		      e[] = { 19, 1, 2, 3 };
	const uint8_t *blob[] = { a, c, b, a, e, a };
	size_t len[] = { 4, 4, 4, 3, 4, 4 }, same[6];

	(void)state;
	/* Same bytes at another place are the same; a shorter prefix, another
	 * byte or another type is not. */
	assert_int_equal(hbg_same_blobs(blob, len, 6, same), 4);
	assert_int_equal(same[0], 0);
	assert_int_equal(same[1], 1);
	assert_int_equal(same[2], 0);
	assert_int_equal(same[3], 3);
	assert_int_equal(same[4], 4);
	assert_int_equal(same[5], 0);
	assert_int_equal(hbg_same_blobs(blob, len, 0, same), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_roundtrip),
		cmocka_unit_test(test_token_time),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_gseq),
		cmocka_unit_test(test_same_blobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
