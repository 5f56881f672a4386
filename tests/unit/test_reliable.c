/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/reliable: TLV values, in-order delivery, duplicates,
 * reordering, the window, go-back-N and NACK resends, resync and the
 * floor, new epochs, the count and byte bounds, and a lossy, reordering
 * link driven by a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/reliable.h"

#define TX_EPOCH 100
#define PEER_EPOCH 7

/* Records what a callback saw. */
#define REC_MAX 64
struct rec {
	size_t n;
	uint64_t seq[REC_MAX];
	size_t len[REC_MAX];
	uint8_t body[REC_MAX][REL_BODY_MAX];
};

static void rec_fn(void *arg, uint64_t seq, const void *body, size_t len)
{
	struct rec *r = arg;

	assert_true(r->n < REC_MAX);
	assert_true(len <= REL_BODY_MAX);
	r->seq[r->n] = seq;
	r->len[r->n] = len;
	if (len)
		memcpy(r->body[r->n], body, len);
	r->n++;
}

static struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

static void small_cfg(struct rel_cfg *c)
{
	rel_cfg_default(c);
	c->queue_max = 16;
	c->bytes_max = 16 * 1024;
	c->rto_ms = 100;
	c->burst = 8;
	c->alive_ms = 100;
	c->ack_ms = 50;
	c->ack_every = 3;
	c->nack_ms = 40;
	c->window = 8;
}

/* Body i: its length and bytes depend on i only. */
static size_t mkbody(uint8_t *b, uint64_t i)
{
	size_t len = 8 + (size_t)(i % 97) * 3;

	for (size_t k = 0; k < len; k++)
		b[k] = (uint8_t)(i * 31 + k * 7 + (i >> 8));
	return len;
}

static void test_tlv_values(void **state)
{
	static const uint8_t nack[REL_NACK_LEN] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0, 0, 0, 0, 0, 0, 0, 5,
		0, 0, 0, 1, 0, 0, 0, 9,
	};
	uint8_t b[32], longer[40];
	uint64_t e, x, y;

	/* 1412 - 44 header - 32 MAC - 4 TLV header - 8 seq */
	assert_int_equal(REL_BODY_MAX, 1324);
	rel_enc_nack(b, 0x0102030405060708ull, 5, 0x100000009ull);
	assert_memory_equal(b, nack, sizeof(nack));
	assert_true(rel_dec_nack(b, REL_NACK_LEN, &e, &x, &y));
	assert_true(e == 0x0102030405060708ull && x == 5 && y == 0x100000009ull);
	assert_false(rel_dec_nack(b, REL_NACK_LEN - 1, &e, &x, &y));
	rel_enc_nack(b, 1, 9, 5);		/* from > to */
	assert_false(rel_dec_nack(b, REL_NACK_LEN, &e, &x, &y));
	rel_enc_nack(b, 1, 0, 5);		/* from 0 */
	assert_false(rel_dec_nack(b, REL_NACK_LEN, &e, &x, &y));

	rel_enc_seq(b, 0xfedcba9876543210ull);
	assert_memory_equal(b, "\xfe\xdc\xba\x98\x76\x54\x32\x10", 8);
	assert_true(rel_dec_seq(b, REL_SEQ_LEN, &x));
	assert_true(x == 0xfedcba9876543210ull);
	assert_false(rel_dec_seq(b, 7, &x));
	assert_false(rel_dec_seq(NULL, 8, &x));
	rel_enc_seq(b, 0);
	assert_false(rel_dec_seq(b, REL_SEQ_LEN, &x));

	rel_enc_ack(b, 42, 0);
	assert_memory_equal(b, "\0\0\0\0\0\0\0\x2a\0\0\0\0\0\0\0\0", 16);
	assert_true(rel_dec_ack(b, REL_ACK_LEN, &e, &x));
	assert_true(e == 42 && x == 0);
	assert_false(rel_dec_ack(b, 15, &e, &x));

	/* Longer values are accepted: later versions may append fields. */
	memset(longer, 0xee, sizeof(longer));
	rel_enc_alive(longer, 3, 3);
	assert_true(rel_dec_alive(longer, sizeof(longer), &x, &y));
	assert_true(x == 3 && y == 3);
	rel_enc_alive(b, 4, 3);
	assert_false(rel_dec_alive(b, REL_ALIVE_LEN, &x, &y));
	rel_enc_alive(b, 0, 3);
	assert_false(rel_dec_alive(b, REL_ALIVE_LEN, &x, &y));
}

static void test_cfg(void **state)
{
	struct rel_cfg c;

	rel_cfg_default(&c);
	assert_true(rel_cfg_valid(&c));
	c.window = REL_WINDOW_MAX + 1;
	assert_false(rel_cfg_valid(&c));
	rel_cfg_default(&c);
	c.bytes_max = REL_BODY_MAX - 1;
	assert_false(rel_cfg_valid(&c));
	rel_cfg_default(&c);
	c.ack_every = 0;
	assert_false(rel_cfg_valid(&c));
	errno = 0;
	assert_null(rel_tx_new(&c, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(rel_rx_new(&c));
	assert_int_equal(errno, EINVAL);
	assert_false(rel_cfg_valid(NULL));
}

static void test_in_order(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rel_rx *r;
	struct rec *out = rec_new(), *got = rec_new();
	struct rel_ctl ctl;
	uint8_t b[REL_BODY_MAX];
	size_t len;

	small_cfg(&c);
	t = rel_tx_new(&c, TX_EPOCH);
	r = rel_rx_new(&c);
	assert_non_null(t);
	assert_non_null(r);
	assert_int_equal(rel_tx_next_seq(t), 1);
	assert_int_equal(rel_rx_expected(r), 0);
	for (uint64_t i = 0; i < 3; i++) {
		len = mkbody(b, i);
		assert_int_equal(rel_tx_push(t, b, len, 1000), i + 1);
	}
	assert_int_equal(rel_tx_queued(t), 3);
	assert_int_equal(rel_tx_queued_bytes(t), 8 + 11 + 14);
	assert_int_equal(rel_tx_poll(t, 1000, rec_fn, out), 3);
	assert_int_equal(rel_tx_poll(t, 1099, rec_fn, out), 0);	/* rto not reached */
	assert_int_equal(out->n, 3);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(out->seq[k], k + 1);
		len = mkbody(b, k);
		assert_int_equal(out->len[k], len);
		assert_memory_equal(out->body[k], b, len);
		assert_int_equal(rel_rx_input(r, TX_EPOCH, out->seq[k], out->body[k], out->len[k],
					      1000, rec_fn, got),
				 k == 0 ? REL_RX_RESTARTED : 0);
	}
	assert_int_equal(got->n, 3);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(got->seq[k], k + 1);
		assert_memory_equal(got->body[k], out->body[k], out->len[k]);
	}
	/* ack_every = 3: due now. */
	assert_true(rel_rx_poll(r, 1000, &ctl));
	assert_true(ctl.ack && !ctl.n_nack);
	assert_int_equal(ctl.epoch, TX_EPOCH);
	assert_int_equal(ctl.ack_upto, 3);
	assert_false(rel_rx_poll(r, 1001, &ctl));
	/* ACKs for another sender epoch, or for what was never sent, do nothing. */
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH + 1, 3), 0);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 4), 0);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 3), 3);
	assert_int_equal(rel_tx_queued(t), 0);
	assert_int_equal(rel_tx_queued_bytes(t), 0);
	assert_int_equal(rel_tx_stats(t)->acked, 3);
	assert_int_equal(rel_tx_stats(t)->sent, 3);
	assert_int_equal(rel_tx_stats(t)->resent, 0);
	assert_int_equal(rel_rx_stats(r)->delivered, 3);

	/* ACK by timer: one delivery, ack_ms after the last ACK. */
	len = mkbody(b, 3);
	assert_int_equal(rel_rx_input(r, TX_EPOCH, 4, b, len, 1010, rec_fn, got), 0);
	assert_false(rel_rx_poll(r, 1049, &ctl));
	assert_true(rel_rx_poll(r, 1050, &ctl));
	assert_true(ctl.ack && ctl.ack_upto == 4);
	assert_int_equal(rel_rx_stats(r)->acks_sent, 2);
	rel_tx_free(t);
	rel_rx_free(r);
	free(out);
	free(got);
}

static void test_duplicates(void **state)
{
	struct rel_cfg c;
	struct rel_rx *r;
	struct rec *got = rec_new();
	struct rel_ctl ctl;

	small_cfg(&c);
	c.ack_every = 100;
	r = rel_rx_new(&c);
	assert_non_null(r);
	assert_int_equal(rel_rx_input(r, 5, 1, "a", 1, 0, rec_fn, got), REL_RX_RESTARTED);
	assert_true(rel_rx_poll(r, 100, &ctl) && ctl.ack && ctl.ack_upto == 1);
	assert_int_equal(rel_rx_input(r, 5, 1, "a", 1, 101, rec_fn, got), REL_RX_DUP);
	/* A duplicate means our ACK was lost: repeat it now, before ack_ms. */
	assert_true(rel_rx_poll(r, 102, &ctl) && ctl.ack && ctl.ack_upto == 1 && !ctl.n_nack);
	/* A duplicate of a buffered message. */
	assert_int_equal(rel_rx_input(r, 5, 3, "c", 1, 103, rec_fn, got), REL_RX_GAP);
	assert_int_equal(rel_rx_input(r, 5, 3, "c", 1, 103, rec_fn, got),
			 REL_RX_DUP | REL_RX_GAP);
	assert_int_equal(rel_rx_input(r, 5, 2, "b", 1, 104, rec_fn, got), 0);
	assert_int_equal(rel_rx_input(r, 5, 3, "c", 1, 105, rec_fn, got), REL_RX_DUP);
	assert_int_equal(got->n, 3);
	assert_memory_equal(got->body[0], "a", 1);
	assert_memory_equal(got->body[1], "b", 1);
	assert_memory_equal(got->body[2], "c", 1);
	assert_int_equal(rel_rx_stats(r)->dups, 3);
	assert_int_equal(rel_rx_stats(r)->delivered, 3);
	/* Seq 0 and oversized bodies are refused. */
	assert_int_equal(rel_rx_input(r, 5, 0, "x", 1, 106, rec_fn, got), REL_RX_INVALID);
	assert_int_equal(rel_rx_input(r, 5, 4, got->body[0], REL_BODY_MAX + 1, 106, rec_fn, got),
			 REL_RX_INVALID);
	assert_int_equal(rel_rx_expected(r), 4);
	rel_rx_free(r);
	free(got);
}

static void test_reorder(void **state)
{
	static const uint64_t order[] = { 3, 5, 4, 2, 1, 6 };
	static const unsigned flags[] = { REL_RX_RESTARTED | REL_RX_GAP, REL_RX_GAP, REL_RX_GAP,
					  REL_RX_GAP, 0, 0 };
	struct rel_cfg c;
	struct rel_rx *r;
	struct rec *got = rec_new();
	struct rel_ctl ctl;
	char b[2] = "x";

	small_cfg(&c);
	c.ack_every = 100;
	r = rel_rx_new(&c);
	assert_non_null(r);
	for (size_t i = 0; i < 6; i++) {
		b[0] = (char)('0' + order[i]);
		assert_int_equal(rel_rx_input(r, 9, order[i], b, 1, 1000, rec_fn, got), flags[i]);
		if (i == 0) {
			/* Gap detected: NACK [1, 2] at once; a new sender gets
			 * an ACK at once too. */
			assert_true(rel_rx_poll(r, 1000, &ctl));
			assert_true(ctl.n_nack == 1 && ctl.ack && ctl.ack_upto == 0);
			assert_true(ctl.nack[0].from == 1 && ctl.nack[0].to == 2);
		}
		if (i == 1) {
			/* Same gap: not again before nack_ms ... */
			assert_false(rel_rx_poll(r, 1039, &ctl));
			/* ... then every hole: 1-2 and 4. */
			assert_true(rel_rx_poll(r, 1040, &ctl));
			assert_true(ctl.n_nack == 2 && !ctl.ack);
			assert_true(ctl.nack[0].from == 1 && ctl.nack[0].to == 2);
			assert_true(ctl.nack[1].from == 4 && ctl.nack[1].to == 4);
		}
		if (i < 4)
			assert_int_equal(got->n, 0);
	}
	assert_int_equal(got->n, 6);
	for (size_t k = 0; k < 6; k++) {
		assert_int_equal(got->seq[k], k + 1);
		assert_int_equal(got->body[k][0], '1' + k);
	}
	assert_int_equal(rel_rx_stats(r)->out_of_order, 4);
	assert_int_equal(rel_rx_stats(r)->nacks_sent, 3);	/* ranges */
	/* No gap left: only the ACK. */
	assert_true(rel_rx_poll(r, 1050, &ctl) && !ctl.n_nack && ctl.ack && ctl.ack_upto == 6);
	rel_rx_free(r);
	free(got);
}

static void test_too_far(void **state)
{
	struct rel_cfg c;
	struct rel_rx *r;
	struct rec *got = rec_new();
	struct rel_ctl ctl;

	small_cfg(&c);
	c.window = 4;
	r = rel_rx_new(&c);
	assert_non_null(r);
	assert_int_equal(rel_rx_input(r, 9, 1, "1", 1, 0, rec_fn, got), REL_RX_RESTARTED);
	/* expected 2, window 4: 2..5 fit, 6 does not. */
	assert_int_equal(rel_rx_input(r, 9, 6, "6", 1, 0, rec_fn, got),
			 REL_RX_TOO_FAR | REL_RX_GAP);
	assert_int_equal(rel_rx_input(r, 9, 5, "5", 1, 0, rec_fn, got), REL_RX_GAP);
	assert_true(rel_rx_poll(r, 0, &ctl) && ctl.n_nack == 1);
	/* Capped to the window: 2..5, and 5 is buffered. */
	assert_true(ctl.nack[0].from == 2 && ctl.nack[0].to == 4);
	assert_int_equal(rel_rx_stats(r)->too_far, 1);
	for (uint64_t s = 2; s <= 4; s++)
		assert_int_equal(rel_rx_input(r, 9, s, "x", 1, 1, rec_fn, got), REL_RX_GAP);
	/* 6 was dropped: still missing. */
	assert_int_equal(got->n, 5);
	assert_true(rel_rx_poll(r, 1, &ctl) && ctl.n_nack == 1);
	assert_true(ctl.nack[0].from == 6 && ctl.nack[0].to == 6);
	assert_int_equal(rel_rx_input(r, 9, 6, "6", 1, 2, rec_fn, got), 0);
	assert_int_equal(got->n, 6);
	rel_rx_free(r);
	free(got);
}

static void test_rto_go_back_n(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rec *out = rec_new();
	uint64_t first, next;

	small_cfg(&c);
	c.burst = 2;
	t = rel_tx_new(&c, TX_EPOCH);
	assert_non_null(t);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rel_tx_push(t, "abcd", 4, 0), i + 1);
	/* Never sent before: an ALIVE is due at once, announcing nothing sent. */
	assert_true(rel_tx_alive(t, 1000, &first, &next));
	assert_true(first == 1 && next == 1);
	assert_int_equal(rel_tx_poll(t, 1000, rec_fn, out), 5);
	assert_false(rel_tx_alive(t, 1050, &first, &next));
	assert_int_equal(rel_tx_poll(t, 1099, rec_fn, out), 0);
	/* rto: the oldest ones again, at most burst. */
	assert_int_equal(rel_tx_poll(t, 1100, rec_fn, out), 2);
	assert_true(out->seq[5] == 1 && out->seq[6] == 2);
	/* The oldest was just resent: go-back-N waits for it. */
	assert_int_equal(rel_tx_poll(t, 1150, rec_fn, out), 0);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 2), 2);
	/* 3..5 were sent at 1000: due. */
	assert_int_equal(rel_tx_poll(t, 1150, rec_fn, out), 2);
	assert_true(out->seq[7] == 3 && out->seq[8] == 4);
	assert_int_equal(rel_tx_stats(t)->resent, 4);
	assert_int_equal(rel_tx_stats(t)->sent, 5);
	/* Idle for alive_ms after the last transmission: ALIVE [3, 6). */
	assert_false(rel_tx_alive(t, 1249, &first, &next));
	assert_true(rel_tx_alive(t, 1250, &first, &next));
	assert_true(first == 3 && next == 6);
	assert_int_equal(rel_tx_stats(t)->alives_sent, 2);
	rel_tx_free(t);
	free(out);
}

/* rel_tx_oldest_ms: when the oldest unacknowledged message was queued,
 * whatever its retransmissions; nothing once all are acknowledged or a
 * resync dropped them. */
static void test_oldest(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rec *out = rec_new();
	uint64_t at = 0;

	(void)state;
	small_cfg(&c);
	t = rel_tx_new(&c, TX_EPOCH);
	assert_non_null(t);
	assert_false(rel_tx_oldest_ms(t, &at));
	assert_int_equal(rel_tx_push(t, "a", 1, 1000), 1);
	assert_int_equal(rel_tx_push(t, "b", 1, 1500), 2);
	assert_int_equal(rel_tx_push(t, "c", 1, 2000), 3);
	assert_true(rel_tx_oldest_ms(t, &at));
	assert_int_equal(at, 1000);
	/* Sent, then resent after rto: still queued at 1000. */
	assert_int_equal(rel_tx_poll(t, 2000, rec_fn, out), 3);
	assert_true(rel_tx_poll(t, 2200, rec_fn, out) > 0);
	assert_true(rel_tx_oldest_ms(t, &at));
	assert_int_equal(at, 1000);
	/* The peer has 1: the oldest is 2's. */
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 1), 1);
	assert_true(rel_tx_oldest_ms(t, &at));
	assert_int_equal(at, 1500);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 3), 2);
	assert_false(rel_tx_oldest_ms(t, &at));
	/* A resync drops the queue: nothing is owed. */
	assert_int_equal(rel_tx_push(t, "d", 1, 3000), 4);
	assert_true(rel_tx_oldest_ms(t, &at));
	assert_int_equal(at, 3000);
	rel_tx_resync(t);
	assert_false(rel_tx_oldest_ms(t, &at));
	rel_tx_free(t);
	free(out);
}

/* New messages go out only within window of the oldest unacknowledged. */
static void test_send_window(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rec *out = rec_new();

	small_cfg(&c);			/* window 8, queue_max 16 */
	t = rel_tx_new(&c, TX_EPOCH);
	assert_non_null(t);
	for (int i = 0; i < 12; i++)
		assert_int_equal(rel_tx_push(t, "w", 1, 0), i + 1);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 8);
	assert_int_equal(out->seq[7], 8);
	assert_int_equal(rel_tx_poll(t, 1, rec_fn, out), 0);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 3), 3);
	assert_int_equal(rel_tx_poll(t, 2, rec_fn, out), 3);
	assert_true(out->seq[8] == 9 && out->seq[10] == 11);
	assert_int_equal(rel_tx_stats(t)->sent, 11);
	assert_int_equal(rel_tx_queued(t), 9);
	rel_tx_free(t);
	free(out);
}

static void test_nack_resend(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rec *out = rec_new();
	uint8_t b[REL_BODY_MAX];
	size_t len;

	small_cfg(&c);
	c.burst = 3;
	t = rel_tx_new(&c, TX_EPOCH);
	assert_non_null(t);
	for (uint64_t i = 0; i < 8; i++) {
		len = mkbody(b, i);
		assert_int_equal(rel_tx_push(t, b, len, 0), i + 1);
	}
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 8);
	out->n = 0;
	/* Not ours, never sent, malformed: ignored. */
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH - 1, 3, 4, 1, rec_fn, out),
			 REL_NACK_IGNORED);
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 9, 9, 1, rec_fn, out),
			 REL_NACK_IGNORED);
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 4, 3, 1, rec_fn, out),
			 REL_NACK_IGNORED);
	assert_int_equal(out->n, 0);
	/* [3, 7] with burst 3: 3, 4, 5; nothing is acknowledged. */
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 3, 7, 40, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 3);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(out->seq[k], k + 3);
		len = mkbody(b, k + 2);
		assert_int_equal(out->len[k], len);
		assert_memory_equal(out->body[k], b, len);
	}
	assert_int_equal(rel_tx_queued(t), 8);
	assert_int_equal(rel_tx_stats(t)->acked, 0);
	assert_int_equal(rel_tx_stats(t)->nacks_recv, 1);
	/* A range past what was sent is clipped. */
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 8, 50, 41, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 4);
	assert_int_equal(out->seq[3], 8);
	/* From an older incarnation of the peer: ignored. */
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH - 1, TX_EPOCH, 8, 8, 2, rec_fn, out),
			 REL_NACK_IGNORED);
	/* A message resent on a NACK is not resent again within nack_ms:
	 * the receiver repeats its NACK no sooner. */
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 3, 5, 79, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 4);
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 3, 5, 80, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 7);
	assert_int_equal(out->seq[6], 5);
	assert_int_equal(rel_tx_stats(t)->resent, 7);
	assert_int_equal(rel_tx_queued(t), 8);
	rel_tx_free(t);
	free(out);
}

/* The peer restarts: its NACK asks for what its old incarnation had
 * acknowledged; the sender resyncs, the receiver skips to the floor. */
static void test_resync(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rel_rx *r;
	struct rec *out = rec_new(), *got = rec_new();
	struct rel_ctl ctl;
	uint64_t first, next;

	small_cfg(&c);
	t = rel_tx_new(&c, TX_EPOCH);
	r = rel_rx_new(&c);
	assert_non_null(t);
	assert_non_null(r);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rel_tx_push(t, "old", 3, 0), i + 1);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 6);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 4), 4);
	/* A late NACK of the same incarnation: no resync, ALIVE and the queued
	 * part of the range again. */
	out->n = 0;
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH, TX_EPOCH, 2, 6, 40, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 2);
	assert_true(out->seq[0] == 5 && out->seq[1] == 6);
	assert_true(rel_tx_alive(t, 40, &first, &next));
	assert_true(first == 5 && next == 7);
	assert_int_equal(rel_tx_stats(t)->resyncs, 0);

	/* The peer restarted (epoch 8): its fresh receiver sees 6 and NACKs
	 * from 1. */
	assert_int_equal(rel_rx_input(r, TX_EPOCH, 6, "old", 3, 120, rec_fn, got),
			 REL_RX_RESTARTED | REL_RX_GAP);
	assert_true(rel_rx_poll(r, 120, &ctl) && ctl.n_nack == 1);
	assert_true(ctl.epoch == TX_EPOCH && ctl.nack[0].from == 1 && ctl.nack[0].to == 5);
	out->n = 0;
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH + 1, ctl.epoch, ctl.nack[0].from,
				     ctl.nack[0].to, 120, rec_fn, out),
			 REL_NACK_RESYNC);
	assert_int_equal(out->n, 0);
	rel_tx_resync(t);
	assert_true(rel_tx_resyncing(t));
	assert_int_equal(rel_tx_queued(t), 0);
	assert_int_equal(rel_tx_queued_bytes(t), 0);
	assert_int_equal(rel_tx_push(t, "full", 4, 120), 7);
	assert_int_equal(rel_tx_poll(t, 120, rec_fn, out), 1);
	assert_true(rel_tx_alive(t, 120, &first, &next));
	assert_true(first == 7 && next == 8);
	/* The NACK again (the ALIVE was lost, say): no second resync. */
	out->n = 0;
	assert_int_equal(rel_tx_nack(t, PEER_EPOCH + 1, TX_EPOCH, 1, 5, 130, rec_fn, out),
			 REL_NACK_RESENT);
	assert_int_equal(out->n, 0);
	assert_true(rel_tx_alive(t, 130, &first, &next));
	assert_true(first == 7 && next == 8);

	/* The receiver gets 7, buffers it, then the ALIVE: skips to 7. */
	assert_int_equal(rel_rx_input(r, TX_EPOCH, 7, "full", 4, 131, rec_fn, got), REL_RX_GAP);
	assert_int_equal(got->n, 0);
	assert_int_equal(rel_rx_alive(r, TX_EPOCH, first, next, 131, rec_fn, got), REL_RX_SKIPPED);
	assert_int_equal(got->n, 1);
	assert_int_equal(got->seq[0], 7);
	assert_memory_equal(got->body[0], "full", 4);
	assert_int_equal(rel_rx_stats(r)->skipped, 6);
	assert_true(rel_rx_poll(r, 131, &ctl) && ctl.ack && !ctl.n_nack && ctl.ack_upto == 7);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH + 1, ctl.epoch, ctl.ack_upto), 1);
	assert_false(rel_tx_resyncing(t));
	assert_int_equal(rel_tx_stats(t)->resyncs, 1);
	rel_tx_free(t);
	rel_rx_free(r);
	free(out);
	free(got);
}

static void test_overflow(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rec *out = rec_new();

	small_cfg(&c);
	c.queue_max = 4;
	t = rel_tx_new(&c, TX_EPOCH);
	assert_non_null(t);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rel_tx_push(t, "m", 1, 0), i + 1);
	assert_int_equal(rel_tx_push(t, "m", 1, 0), 0);
	assert_int_equal(rel_tx_stats(t)->overflow, 1);
	assert_int_equal(rel_tx_next_seq(t), 5);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 4);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 2), 2);
	assert_int_equal(rel_tx_push(t, "m", 1, 0), 5);
	assert_int_equal(rel_tx_push(t, "m", 1, 0), 6);
	assert_int_equal(rel_tx_push(t, "m", 1, 0), 0);
	assert_int_equal(rel_tx_stats(t)->overflow, 2);
	assert_int_equal(rel_tx_queued(t), 4);
	/* Too large for any datagram. */
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 4), 2);
	assert_int_equal(rel_tx_push(t, "m", REL_BODY_MAX + 1, 0), 0);
	assert_int_equal(rel_tx_stats(t)->overflow, 3);
	/* The bulk resync that follows starts with an empty queue. */
	rel_tx_resync(t);
	assert_int_equal(rel_tx_queued(t), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rel_tx_push(t, "s", 1, 0), 7 + i);
	rel_tx_free(t);
	free(out);
}

static void test_byte_bound(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rel_rx *r;
	struct rec *out = rec_new(), *got = rec_new();
	uint8_t a[REL_BODY_MAX], b[REL_BODY_MAX];

	small_cfg(&c);
	c.queue_max = 100;
	c.bytes_max = REL_BODY_MAX + 100;	/* 1424 */
	t = rel_tx_new(&c, TX_EPOCH);
	r = rel_rx_new(&c);
	assert_non_null(t);
	assert_non_null(r);
	memset(a, 0xa1, sizeof(a));
	assert_int_equal(rel_tx_push(t, a, 700, 0), 1);
	assert_int_equal(rel_tx_push(t, a, 500, 0), 2);
	assert_int_equal(rel_tx_push(t, a, 225, 0), 0);	/* 1425 > 1424 */
	assert_int_equal(rel_tx_push(t, a, 224, 0), 3);	/* exactly full */
	assert_int_equal(rel_tx_queued_bytes(t), 1424);
	assert_int_equal(rel_tx_push(t, a, 0, 0), 4);	/* empty bodies cost nothing */
	assert_int_equal(rel_tx_push(t, a, 1, 0), 0);
	assert_int_equal(rel_tx_stats(t)->overflow, 2);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 4);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 4), 4);
	assert_int_equal(rel_tx_queued_bytes(t), 0);

	/* Free space split by the arena's end: a body wraps around it. */
	assert_int_equal(rel_tx_push(t, a, 1000, 0), 5);
	assert_int_equal(rel_tx_push(t, a, 300, 0), 6);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 2);
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 5), 1);
	assert_int_equal(rel_tx_queued_bytes(t), 300);
	for (size_t k = 0; k < 900; k++)
		b[k] = (uint8_t)(k * 13 + 5);
	assert_int_equal(rel_tx_push(t, b, 900, 0), 7);	/* 124 at the end, 776 at 0 */
	assert_int_equal(rel_tx_push(t, a, 225, 0), 0);
	assert_int_equal(rel_tx_push(t, a, 224, 0), 8);
	assert_int_equal(rel_tx_queued_bytes(t), 1424);
	assert_int_equal(rel_tx_stats(t)->overflow, 3);
	assert_int_equal(rel_tx_poll(t, 0, rec_fn, out), 2);
	assert_int_equal(out->seq[6], 7);
	assert_int_equal(out->len[6], 900);
	assert_memory_equal(out->body[6], b, 900);
	/* Retransmitted after rto, intact. */
	assert_int_equal(rel_tx_poll(t, 1000, rec_fn, out), 3);
	assert_int_equal(out->seq[9], 7);
	assert_memory_equal(out->body[9], b, 900);
	assert_int_equal(out->len[10], 224);
	assert_memory_equal(out->body[10], a, 224);

	for (size_t k = 0; k < 8; k++)
		rel_rx_input(r, TX_EPOCH, out->seq[k], out->body[k], out->len[k], 0, rec_fn, got);
	assert_int_equal(got->n, 8);
	assert_int_equal(got->len[2], 224);
	assert_int_equal(got->len[3], 0);
	assert_int_equal(got->len[4], 1000);
	assert_int_equal(got->seq[6], 7);
	assert_memory_equal(got->body[6], b, 900);
	rel_tx_free(t);
	rel_rx_free(r);
	free(out);
	free(got);
}

static void test_new_epoch(void **state)
{
	struct rel_cfg c;
	struct rel_rx *r;
	struct rec *got = rec_new();
	struct rel_ctl ctl;

	small_cfg(&c);
	r = rel_rx_new(&c);
	assert_non_null(r);
	assert_false(rel_rx_poll(r, 0, &ctl));	/* no sender yet */
	assert_int_equal(rel_rx_input(r, 5, 1, "a", 1, 0, rec_fn, got), REL_RX_RESTARTED);
	assert_int_equal(rel_rx_input(r, 5, 2, "b", 1, 0, rec_fn, got), 0);
	assert_int_equal(rel_rx_input(r, 5, 4, "OLD", 3, 0, rec_fn, got), REL_RX_GAP);
	assert_int_equal(rel_rx_expected(r), 3);
	/* The sender restarted: its seqs start over at 1. */
	assert_int_equal(rel_rx_input(r, 6, 1, "A", 1, 1, rec_fn, got), REL_RX_RESTARTED);
	assert_int_equal(rel_rx_expected(r), 2);
	assert_true(rel_rx_poll(r, 1, &ctl));
	assert_true(ctl.epoch == 6 && ctl.ack && ctl.ack_upto == 1 && !ctl.n_nack);
	/* The old epoch's buffered 4 is gone: 2, 3 deliver and 4 is awaited. */
	assert_int_equal(rel_rx_input(r, 6, 2, "B", 1, 2, rec_fn, got), 0);
	assert_int_equal(rel_rx_input(r, 6, 3, "C", 1, 2, rec_fn, got), 0);
	assert_int_equal(got->n, 5);
	assert_int_equal(rel_rx_expected(r), 4);
	/* The old epoch is stale now. */
	assert_int_equal(rel_rx_input(r, 5, 4, "OLD", 3, 3, rec_fn, got), REL_RX_STALE);
	assert_int_equal(rel_rx_alive(r, 5, 1, 9, 3, rec_fn, got), REL_RX_STALE);
	assert_int_equal(rel_rx_input(r, 6, 4, "D", 1, 3, rec_fn, got), 0);
	assert_int_equal(got->n, 6);
	for (size_t k = 0; k < 6; k++)
		assert_int_equal(got->body[k][0], "abABCD"[k]);
	assert_int_equal(got->seq[5], 4);
	assert_int_equal(rel_rx_stats(r)->restarts, 2);
	assert_int_equal(rel_rx_stats(r)->stale, 2);
	/* An ALIVE of a new epoch resets too, and announces a gap. */
	assert_int_equal(rel_rx_alive(r, 7, 1, 3, 4, rec_fn, got), REL_RX_RESTARTED | REL_RX_GAP);
	assert_true(rel_rx_poll(r, 4, &ctl));
	assert_true(ctl.epoch == 7 && ctl.ack && ctl.ack_upto == 0);
	assert_true(ctl.n_nack == 1 && ctl.nack[0].from == 1 && ctl.nack[0].to == 2);
	rel_rx_free(r);
	free(got);
}

/* ---- a lossy, reordering link ---- */

static uint64_t prng_state;

static uint64_t prng(void)
{
	/* xorshift64*: good enough for loss and delays, and seeded. */
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545f4914f6cdd1dull;
}

enum { P_DATA, P_ALIVE, P_CTL };

/* TLV values encoded with the rel_enc_* helpers, as a datagram carries them. */
struct pkt {
	uint64_t due;
	int kind;
	uint16_t tlv_len;
	uint8_t tlv[REL_ALIVE_LEN];	/* P_DATA: seq; P_ALIVE */
	size_t len;
	uint8_t body[REL_BODY_MAX];
	bool ack;			/* P_CTL */
	uint8_t ack_tlv[REL_ACK_LEN];
	unsigned n_nack;
	uint8_t nack_tlv[REL_NACK_MAX][REL_NACK_LEN];
};

struct link {
	struct pkt *q;
	size_t n, cap;
	unsigned loss;		/* percent */
	uint64_t now, lost, carried;
};

struct sim {
	struct link ab, ba;	/* data and ALIVE a -> b; ACK and NACK b -> a */
	uint64_t want;		/* next message index b must see */
	uint64_t n;
};

#define TICK_MS 5

static struct pkt *link_send(struct link *l, int kind)
{
	struct pkt *p;

	if (prng() % 100 < l->loss) {
		l->lost++;
		return NULL;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->q = realloc(l->q, l->cap * sizeof(*l->q));
		assert_non_null(l->q);
	}
	p = &l->q[l->n++];
	/* 1 to 4 ticks on the way: packets overtake each other. */
	p->due = l->now + TICK_MS * (1 + prng() % 4);
	p->kind = kind;
	l->carried++;
	return p;
}

/* Removes and returns in p the first packet due, in queue order. */
static bool link_recv(struct link *l, struct pkt *p)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->q[i].due > l->now)
			continue;
		*p = l->q[i];
		memmove(&l->q[i], &l->q[i + 1], (l->n - i - 1) * sizeof(*l->q));
		l->n--;
		return true;
	}
	return false;
}

static void sim_emit(void *arg, uint64_t seq, const void *body, size_t len)
{
	struct sim *s = arg;
	struct pkt *p = link_send(&s->ab, P_DATA);

	if (!p)
		return;
	rel_enc_seq(p->tlv, seq);
	p->tlv_len = REL_SEQ_LEN;
	p->len = len;
	memcpy(p->body, body, len);
}

static void sim_deliver(void *arg, uint64_t seq, const void *body, size_t len)
{
	struct sim *s = arg;
	uint8_t b[REL_BODY_MAX];
	size_t blen = mkbody(b, s->want);

	/* In order, exactly once, intact: message i has seq i + 1. */
	assert_int_equal(seq, s->want + 1);
	assert_int_equal(len, blen);
	assert_memory_equal(body, b, len);
	s->want++;
}

static void run_lossy(unsigned loss, uint64_t seed, uint64_t n, uint64_t max_rounds)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rel_rx *r;
	struct sim *s = calloc(1, sizeof(*s));
	struct pkt *p = malloc(sizeof(*p));
	struct rel_ctl ctl;
	uint8_t b[REL_BODY_MAX];
	uint64_t pushed = 0, rounds = 0, now = 0, x, y, z, due;
	size_t len;
	bool emitted;

	assert_non_null(s);
	assert_non_null(p);
	prng_state = seed;
	rel_cfg_default(&c);
	c.queue_max = 256;
	c.bytes_max = 64 * 1024;
	c.rto_ms = 150;
	c.burst = 64;
	c.alive_ms = 50;
	c.ack_ms = 20;
	c.ack_every = 16;
	c.nack_ms = 30;
	c.window = 128;
	t = rel_tx_new(&c, TX_EPOCH);
	r = rel_rx_new(&c);
	assert_non_null(t);
	assert_non_null(r);
	s->ab.loss = s->ba.loss = loss;
	s->n = n;
	while (s->want < n || rel_tx_queued(t)) {
		assert_true(rounds < max_rounds);
		rounds++;
		now += TICK_MS;
		s->ab.now = s->ba.now = now;
		/* The application: up to 32 new messages a tick, as the queue allows. */
		for (int k = 0; k < 32 && pushed < n && rel_tx_queued(t) < c.queue_max; k++) {
			len = mkbody(b, pushed);
			assert_int_equal(rel_tx_push(t, b, len, now), pushed + 1);
			pushed++;
		}
		/* The deadlines say exactly when there is work: never later
		 * (an event loop would sleep through it), never sooner than
		 * needed (it would spin), and poll leaves nothing due. */
		due = rel_tx_next_ms(t, now, true);
		emitted = rel_tx_poll(t, now, sim_emit, s) > 0;
		if (rel_tx_alive(t, now, &x, &y)) {
			struct pkt *a = link_send(&s->ab, P_ALIVE);

			emitted = true;
			if (a) {
				rel_enc_alive(a->tlv, x, y);
				a->tlv_len = REL_ALIVE_LEN;
			}
		}
		assert_int_equal(due <= now, emitted);
		assert_true(rel_tx_next_ms(t, now, true) > now);
		while (link_recv(&s->ab, p)) {
			if (p->kind == P_DATA) {
				assert_true(rel_dec_seq(p->tlv, p->tlv_len, &x));
				rel_rx_input(r, TX_EPOCH, x, p->body, p->len, now, sim_deliver, s);
			} else {
				assert_true(rel_dec_alive(p->tlv, p->tlv_len, &x, &y));
				rel_rx_alive(r, TX_EPOCH, x, y, now, sim_deliver, s);
			}
		}
		due = rel_rx_next_ms(r, now);
		emitted = rel_rx_poll(r, now, &ctl);
		assert_int_equal(due <= now, emitted);
		assert_true(rel_rx_next_ms(r, now) > now);
		if (emitted) {
			struct pkt *a = link_send(&s->ba, P_CTL);

			if (a) {
				a->ack = ctl.ack;
				rel_enc_ack(a->ack_tlv, ctl.epoch, ctl.ack_upto);
				a->n_nack = ctl.n_nack;
				for (unsigned k = 0; k < ctl.n_nack; k++)
					rel_enc_nack(a->nack_tlv[k], ctl.epoch, ctl.nack[k].from,
						     ctl.nack[k].to);
			}
		}
		while (link_recv(&s->ba, p)) {
			if (p->ack) {
				assert_true(rel_dec_ack(p->ack_tlv, REL_ACK_LEN, &x, &y));
				rel_tx_ack(t, PEER_EPOCH, x, y);
			}
			for (unsigned k = 0; k < p->n_nack; k++) {
				assert_true(rel_dec_nack(p->nack_tlv[k], REL_NACK_LEN, &x, &y, &z));
				assert_int_equal(rel_tx_nack(t, PEER_EPOCH, x, y, z, now, sim_emit,
							     s),
						 REL_NACK_RESENT);
			}
		}
	}
	assert_int_equal(s->want, n);
	assert_int_equal(rel_rx_stats(r)->delivered, n);
	assert_int_equal(rel_tx_stats(t)->pushed, n);
	assert_int_equal(rel_tx_stats(t)->sent, n);
	assert_int_equal(rel_tx_stats(t)->acked, n);
	assert_int_equal(rel_tx_stats(t)->overflow, 0);
	assert_int_equal(rel_tx_stats(t)->resyncs, 0);
	assert_int_equal(rel_rx_stats(r)->skipped, 0);
	assert_int_equal(rel_rx_stats(r)->restarts, 1);
	/* With loss, something must have been resent. */
	assert_true(rel_tx_stats(t)->resent > 0);
	printf("# loss %u%%: %llu messages in %llu rounds (%llu ms), resent %llu, "
	       "dups %llu, out of order %llu, too far %llu, acks %llu, nacks %llu, "
	       "alives %llu, lost %llu/%llu\n",
	       loss, (unsigned long long)n, (unsigned long long)rounds,
	       (unsigned long long)now, (unsigned long long)rel_tx_stats(t)->resent,
	       (unsigned long long)rel_rx_stats(r)->dups,
	       (unsigned long long)rel_rx_stats(r)->out_of_order,
	       (unsigned long long)rel_rx_stats(r)->too_far,
	       (unsigned long long)rel_rx_stats(r)->acks_sent,
	       (unsigned long long)rel_rx_stats(r)->nacks_sent,
	       (unsigned long long)rel_tx_stats(t)->alives_sent,
	       (unsigned long long)(s->ab.lost + s->ba.lost),
	       (unsigned long long)(s->ab.lost + s->ba.lost + s->ab.carried + s->ba.carried));
	rel_tx_free(t);
	rel_rx_free(r);
	free(s->ab.q);
	free(s->ba.q);
	free(s);
	free(p);
}

/* The deadlines of an idle pair and of one with a message in flight. */
static void test_next_ms(void **state)
{
	struct rel_cfg c;
	struct rel_tx *t;
	struct rel_rx *r;
	struct rec *out = rec_new();
	struct rel_ctl ctl;
	uint64_t first, next;

	small_cfg(&c);		/* alive 100, ack 50, ack_every 3, nack 40 */
	c.rto_ms = 60;
	t = rel_tx_new(&c, TX_EPOCH);
	r = rel_rx_new(&c);
	assert_non_null(t);
	assert_non_null(r);
	/* Before first contact the receiver owes nothing. */
	assert_true(rel_rx_next_ms(r, 1000) == UINT64_MAX);
	/* Idle: an ALIVE alive_ms after the last one. */
	assert_true(rel_tx_alive(t, 1000, &first, &next));
	assert_int_equal(rel_tx_next_ms(t, 1000, true), 1100);
	assert_false(rel_tx_alive(t, 1099, &first, &next));
	/* A message queued: due at once; once sent, its rto (before the ALIVE). */
	assert_int_equal(rel_tx_push(t, "m", 1, 1010), 1);
	assert_int_equal(rel_tx_next_ms(t, 1010, true), 1010);
	assert_int_equal(rel_tx_next_ms(t, 1010, false), 1100);	/* ALIVE only */
	assert_int_equal(rel_tx_poll(t, 1020, rec_fn, out), 1);
	assert_int_equal(rel_tx_next_ms(t, 1020, true), 1080);	/* rto 1020 + 60, before the ALIVE */
	assert_int_equal(rel_tx_poll(t, 1079, rec_fn, out), 0);
	assert_int_equal(rel_tx_poll(t, 1080, rec_fn, out), 1);	/* resent */
	assert_int_equal(rel_tx_next_ms(t, 1080, true), 1140);
	/* The receiver: a new sender, ACK at once; then nothing until more comes. */
	rel_rx_input(r, TX_EPOCH, 1, "m", 1, 1125, rec_fn, out);
	assert_int_equal(rel_rx_next_ms(r, 1125), 1125);
	assert_true(rel_rx_poll(r, 1125, &ctl));
	assert_true(rel_rx_next_ms(r, 1125) == UINT64_MAX);
	/* An ACK acknowledges it: the sender is back to its ALIVE. */
	assert_int_equal(rel_tx_ack(t, PEER_EPOCH, TX_EPOCH, 1), 1);
	assert_int_equal(rel_tx_next_ms(t, 1130, true), 1180);
	/* A hole: NACK at once, then every nack_ms; one delivery: ACK within ack_ms. */
	rel_rx_input(r, TX_EPOCH, 3, "c", 1, 1200, rec_fn, out);
	assert_int_equal(rel_rx_next_ms(r, 1200), 1200);
	assert_true(rel_rx_poll(r, 1200, &ctl));
	assert_int_equal(ctl.n_nack, 1);
	assert_int_equal(rel_rx_next_ms(r, 1200), 1240);
	rel_rx_input(r, TX_EPOCH, 2, "b", 1, 1210, rec_fn, out);	/* fills it: 2, 3 delivered */
	/* ack_ms after the last ACK (1125): already due. */
	assert_int_equal(rel_rx_next_ms(r, 1210), 1175);
	assert_true(rel_rx_poll(r, 1210, &ctl));
	assert_true(ctl.ack && ctl.ack_upto == 3);
	assert_true(rel_rx_next_ms(r, 1210) == UINT64_MAX);
	/* One more delivery: ACK ack_ms after that one (ack_every is 3). */
	rel_rx_input(r, TX_EPOCH, 4, "d", 1, 1220, rec_fn, out);
	assert_int_equal(rel_rx_next_ms(r, 1220), 1260);
	assert_false(rel_rx_poll(r, 1259, &ctl));
	assert_true(rel_rx_poll(r, 1260, &ctl));
	/* A clock that went back: due at once, as the polls see it. */
	assert_int_equal(rel_tx_next_ms(t, 10, true), 10);
	rel_tx_free(t);
	rel_rx_free(r);
	free(out);
}

static void test_lossy_10(void **state)
{
	run_lossy(10, 0x9e3779b97f4a7c15ull, 5000, 1500);
}

static void test_lossy_30(void **state)
{
	run_lossy(30, 0xd1b54a32d192ed03ull, 5000, 3500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlv_values),
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_too_far),
		cmocka_unit_test(test_rto_go_back_n),
		cmocka_unit_test(test_oldest),
		cmocka_unit_test(test_send_window),
		cmocka_unit_test(test_nack_resend),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_new_epoch),
		cmocka_unit_test(test_next_ms),
		cmocka_unit_test(test_lossy_10),
		cmocka_unit_test(test_lossy_30),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
