/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/reliable: a sender and a receiver joined by a
 * network that the input drives (it delays, drops, duplicates and reorders
 * in both directions; either end may restart), then a drain with a
 * faithful network.
 *
 * Invariants:
 *   - every body the sender emits, and every body the receiver delivers, is
 *     the one pushed under that sender epoch and seq (bodies are a pattern of
 *     epoch and seq, their lengths are recorded at push);
 *   - the receiver delivers in order, exactly once per receiver lifetime:
 *     from rel_rx_input the seq it expected and its successors, from
 *     rel_rx_alive possibly further on (it skips what a resync dropped);
 *   - the sender holds at most queue_max messages and bytes_max bytes, seqs
 *     only grow; NACK ranges are ordered and disjoint;
 *   - after the drain the sender's queue is empty and every message pushed
 *     since its last resync was delivered to the current receiver.
 * Also: every REL_TLV_* decoder on the raw input, and encode/decode round
 * trips of values from the input. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sync/reliable.h"
#include "tests/fuzz/fuzz.h"

#define MAX_EPOCHS 8		/* sender lifetimes */
#define MAX_SEQ 2048		/* pushes per sender lifetime */
#define NET_MAX 64
#define TX_EPOCH0 100
#define RX_EPOCH0 7

enum item_kind { IT_MSG, IT_ALIVE, IT_ACK, IT_NACK };

struct item {
	enum item_kind kind;
	uint64_t epoch;		/* MSG/ALIVE: the sender's; ACK/NACK: the one answered */
	uint64_t peer_epoch;	/* ACK/NACK: the receiver's */
	uint64_t a, b;		/* MSG: seq; ALIVE: first, next; ACK: upto; NACK: from, to */
};

struct net {
	struct item it[NET_MAX];
	size_t n;
};

struct sim {
	struct rel_cfg cfg;
	struct rel_tx *tx;
	struct rel_rx *rx;
	uint64_t tx_epoch, rx_epoch, now;
	uint64_t last_next;			/* rel_tx_next_seq seen last */
	uint16_t len[MAX_EPOCHS][MAX_SEQ];	/* pushed body lengths + 1, 0: not pushed */
	/* receiver side, per lifetime of rx */
	uint64_t d_epoch, d_last;		/* epoch and seq delivered last */
	uint64_t d_next;			/* seq the receiver delivers next */
	bool d_any, in_alive;
	uint8_t delivered[MAX_SEQ / 8];		/* seqs of tx_epoch delivered */
	/* the application */
	uint64_t floor;				/* next seq at the last resync */
	bool resync_due;			/* a push overflowed or the peer restarted */
	struct net fwd, back;
};

static uint8_t pat(uint64_t epoch, uint64_t seq, size_t i)
{
	return (uint8_t)(epoch * 131 + seq * 31 + i * 7);
}

static void check_body(struct sim *s, uint64_t epoch, uint64_t seq, const uint8_t *b, size_t n)
{
	size_t i;

	FUZZ_CHECK(epoch >= TX_EPOCH0 && epoch < TX_EPOCH0 + MAX_EPOCHS);
	FUZZ_CHECK(seq >= 1 && seq < MAX_SEQ);
	FUZZ_CHECK(s->len[epoch - TX_EPOCH0][seq] == n + 1);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(b[i] == pat(epoch, seq, i));
}

static void net_add(struct net *nt, const struct item *it)
{
	if (nt->n < NET_MAX)
		nt->it[nt->n++] = *it;
}

static void on_emit(void *arg, uint64_t seq, const void *body, size_t len)
{
	struct sim *s = arg;
	struct item it = { .kind = IT_MSG, .epoch = s->tx_epoch, .a = seq };

	check_body(s, s->tx_epoch, seq, body, len);
	FUZZ_CHECK(seq < rel_tx_next_seq(s->tx));
	net_add(&s->fwd, &it);
}

static void on_deliver(void *arg, uint64_t seq, const void *body, size_t len)
{
	struct sim *s = arg;

	/* d_epoch and d_next were set by rx_call: in order from what the
	 * receiver expected; only an ALIVE may skip ahead */
	if (s->in_alive)
		FUZZ_CHECK(seq >= s->d_next);
	else
		FUZZ_CHECK(seq == s->d_next);
	if (s->d_any)
		FUZZ_CHECK(seq > s->d_last);
	s->d_any = true;
	s->d_last = seq;
	s->d_next = seq + 1;
	check_body(s, s->d_epoch, seq, body, len);
	if (s->d_epoch == s->tx_epoch)
		s->delivered[seq / 8] |= (uint8_t)(1u << seq % 8);
}

/* Before a call into rx with epoch: a first or newer epoch restarts the
 * receiver, and delivery with it, from seq 1.  d_epoch follows the
 * receiver's epoch. */
static void rx_call(struct sim *s, uint64_t epoch, bool alive)
{
	if (!rel_rx_expected(s->rx) || epoch > s->d_epoch) {
		s->d_any = false;
		s->d_epoch = epoch;
		s->d_next = 1;
		if (epoch == s->tx_epoch)
			memset(s->delivered, 0, sizeof(s->delivered));
	} else {
		s->d_next = rel_rx_expected(s->rx);
	}
	s->in_alive = alive;
}

static void check_tx(struct sim *s)
{
	uint64_t next = rel_tx_next_seq(s->tx);

	FUZZ_CHECK(next >= s->last_next);
	s->last_next = next;
	FUZZ_CHECK(rel_tx_queued(s->tx) <= s->cfg.queue_max);
	FUZZ_CHECK(rel_tx_queued_bytes(s->tx) <= s->cfg.bytes_max);
	FUZZ_CHECK(rel_tx_queued(s->tx) < next);
}

static void push(struct sim *s, size_t len)
{
	uint8_t body[REL_BODY_MAX];
	uint64_t next = rel_tx_next_seq(s->tx), seq;
	size_t i;

	if (next >= MAX_SEQ - 1)
		return;
	if (len > REL_BODY_MAX)
		len = REL_BODY_MAX;
	for (i = 0; i < len; i++)
		body[i] = pat(s->tx_epoch, next, i);
	seq = rel_tx_push(s->tx, body, len, s->now);
	if (seq) {
		FUZZ_CHECK(seq == next);
		s->len[s->tx_epoch - TX_EPOCH0][seq] = (uint16_t)(len + 1);
	} else {
		FUZZ_CHECK(rel_tx_next_seq(s->tx) == next);
		s->resync_due = true;
	}
	check_tx(s);
}

static void resync(struct sim *s)
{
	rel_tx_resync(s->tx);
	FUZZ_CHECK(rel_tx_queued(s->tx) == 0 && rel_tx_queued_bytes(s->tx) == 0);
	FUZZ_CHECK(rel_tx_resyncing(s->tx));
	s->floor = rel_tx_next_seq(s->tx);
	s->resync_due = false;
}

static void deliver_fwd(struct sim *s, const struct item *it)
{
	uint8_t body[REL_BODY_MAX];
	unsigned f;
	size_t i, len;

	if (it->kind == IT_MSG) {
		len = s->len[it->epoch - TX_EPOCH0][it->a] - 1u;
		for (i = 0; i < len; i++)
			body[i] = pat(it->epoch, it->a, i);
		rx_call(s, it->epoch, false);
		f = rel_rx_input(s->rx, it->epoch, it->a, body, len, s->now, on_deliver, s);
	} else {
		rx_call(s, it->epoch, true);
		f = rel_rx_alive(s->rx, it->epoch, it->a, it->b, s->now, on_deliver, s);
	}
	FUZZ_CHECK(!(f & REL_RX_INVALID));
	FUZZ_CHECK(!(f & REL_RX_STALE) == (it->epoch == s->d_epoch));
}

static void deliver_back(struct sim *s, const struct item *it)
{
	enum rel_nack_result r;

	if (it->kind == IT_ACK) {
		rel_tx_ack(s->tx, it->peer_epoch, it->epoch, it->a);
	} else {
		r = rel_tx_nack(s->tx, it->peer_epoch, it->epoch, it->a, it->b, s->now, on_emit, s);
		if (r == REL_NACK_RESYNC)
			resync(s);
	}
	check_tx(s);
}

static void rx_poll(struct sim *s)
{
	struct rel_ctl ctl;
	struct item it = { .peer_epoch = s->rx_epoch };
	uint64_t exp = rel_rx_expected(s->rx);
	unsigned i;

	if (!rel_rx_poll(s->rx, s->now, &ctl)) {
		FUZZ_CHECK(!ctl.ack && !ctl.n_nack);
		return;
	}
	it.epoch = ctl.epoch;
	FUZZ_CHECK(ctl.n_nack <= REL_NACK_MAX);
	if (ctl.ack) {
		FUZZ_CHECK(ctl.ack_upto + 1 == exp);
		it.kind = IT_ACK;
		it.a = ctl.ack_upto;
		net_add(&s->back, &it);
	}
	for (i = 0; i < ctl.n_nack; i++) {
		FUZZ_CHECK(ctl.nack[i].from >= exp && ctl.nack[i].from <= ctl.nack[i].to);
		FUZZ_CHECK(ctl.nack[i].to - exp < s->cfg.window);
		if (i)
			FUZZ_CHECK(ctl.nack[i].from > ctl.nack[i - 1].to + 1);
		it.kind = IT_NACK;
		it.a = ctl.nack[i].from;
		it.b = ctl.nack[i].to;
		net_add(&s->back, &it);
	}
}

static void tx_alive(struct sim *s)
{
	struct item it = { .kind = IT_ALIVE, .epoch = s->tx_epoch };

	if (rel_tx_alive(s->tx, s->now, &it.a, &it.b)) {
		FUZZ_CHECK(it.a >= 1 && it.a <= it.b && it.b <= rel_tx_next_seq(s->tx));
		net_add(&s->fwd, &it);
	}
}

/* Takes item i out of nt (or leaves it there: a duplicate). */
static struct item net_take(struct net *nt, size_t i, bool keep)
{
	struct item it = nt->it[i];

	if (!keep)
		nt->it[i] = nt->it[--nt->n];
	return it;
}

static void codecs(const uint8_t *data, size_t size)
{
	uint8_t buf[REL_NACK_LEN] = { 0 }, out[REL_NACK_LEN];
	uint16_t n = (uint16_t)(size < sizeof(buf) ? size : sizeof(buf));
	uint64_t a, b, c;

	memcpy(buf, data, n);
	if (rel_dec_seq(buf, n, &a)) {
		rel_enc_seq(out, a);
		FUZZ_CHECK(a >= 1 && memcmp(out, buf, REL_SEQ_LEN) == 0);
	}
	if (rel_dec_ack(buf, n, &a, &b)) {
		rel_enc_ack(out, a, b);
		FUZZ_CHECK(memcmp(out, buf, REL_ACK_LEN) == 0);
	}
	if (rel_dec_nack(buf, n, &a, &b, &c)) {
		rel_enc_nack(out, a, b, c);
		FUZZ_CHECK(b >= 1 && b <= c && memcmp(out, buf, REL_NACK_LEN) == 0);
	}
	if (rel_dec_alive(buf, n, &a, &b)) {
		rel_enc_alive(out, a, b);
		FUZZ_CHECK(a >= 1 && a <= b && memcmp(out, buf, REL_ALIVE_LEN) == 0);
	}
	/* shorter than the value: refused */
	FUZZ_CHECK(!rel_dec_nack(buf, REL_NACK_LEN - 1, &a, &b, &c));
}

static void drain(struct sim *s)
{
	struct item it;
	unsigned round;
	size_t i;

	if (s->resync_due)
		resync(s);
	s->fwd.n = s->back.n = 0;
	for (round = 0; round < 1000; round++) {
		s->now += 60;
		rel_tx_poll(s->tx, s->now, on_emit, s);
		tx_alive(s);
		for (i = 0; i < s->fwd.n; i++)
			deliver_fwd(s, &s->fwd.it[i]);
		s->fwd.n = 0;
		rx_poll(s);
		for (i = 0; i < s->back.n; i++) {
			it = s->back.it[i];
			deliver_back(s, &it);
		}
		s->back.n = 0;
		if (rel_tx_queued(s->tx) == 0 && !rel_tx_resyncing(s->tx) &&
		    s->d_epoch == s->tx_epoch && rel_rx_expected(s->rx) == rel_tx_next_seq(s->tx))
			break;
	}
	FUZZ_CHECK(rel_tx_queued(s->tx) == 0);
	FUZZ_CHECK(!rel_tx_resyncing(s->tx));
	FUZZ_CHECK(s->d_epoch == s->tx_epoch);
	FUZZ_CHECK(rel_rx_expected(s->rx) == rel_tx_next_seq(s->tx));
	for (uint64_t q = s->floor; q < rel_tx_next_seq(s->tx); q++)
		FUZZ_CHECK(s->delivered[q / 8] & (1u << q % 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim sim;
	struct sim *s = &sim;
	struct fz f = { data, size };
	unsigned ops = 0, restarts = 0;
	struct item it;

	if (size > 16384)
		return 0;
	codecs(data, size);
	memset(s, 0, sizeof(*s));
	rel_cfg_default(&s->cfg);
	s->cfg.queue_max = 64;
	s->cfg.bytes_max = 4 * REL_BODY_MAX;
	s->cfg.burst = 4;
	s->cfg.ack_every = 4;
	s->cfg.window = 8;
	FUZZ_CHECK(rel_cfg_valid(&s->cfg));
	s->tx_epoch = TX_EPOCH0;
	s->rx_epoch = RX_EPOCH0;
	s->now = 1000;
	s->floor = 1;
	s->tx = rel_tx_new(&s->cfg, s->tx_epoch);
	s->rx = rel_rx_new(&s->cfg);
	FUZZ_CHECK(s->tx && s->rx);
	FUZZ_CHECK(rel_rx_expected(s->rx) == 0);

	while (f.n && ops++ < 4096) {
		uint8_t op = fz_u8(&f), arg = fz_u8(&f);

		switch (op & 7) {
		case 0:
			push(s, (size_t)arg * (op & 8 ? 23 : 1));
			break;
		case 1:
			rel_tx_poll(s->tx, s->now, on_emit, s);
			check_tx(s);
			break;
		case 2:
			tx_alive(s);
			break;
		case 3:
			if (s->fwd.n) {
				it = net_take(&s->fwd, arg % s->fwd.n, op & 8);
				if (!(op & 0x10))	/* else lost */
					deliver_fwd(s, &it);
			}
			break;
		case 4:
			rx_poll(s);
			break;
		case 5:
			if (s->back.n) {
				it = net_take(&s->back, arg % s->back.n, op & 8);
				if (!(op & 0x10))
					deliver_back(s, &it);
			}
			break;
		case 6:
			s->now += (uint64_t)arg * (op & 8 ? 16 : 1);
			if (op & 0x10 && s->resync_due)
				resync(s);
			break;
		case 7:
			if (restarts++ >= MAX_EPOCHS - 1)
				break;
			if (op & 8) {
				/* the receiver restarts: it lost everything; the
				 * application resyncs when it hears of it */
				rel_rx_free(s->rx);
				s->rx = rel_rx_new(&s->cfg);
				FUZZ_CHECK(s->rx);
				s->rx_epoch++;
				s->d_any = false;
				s->d_epoch = 0;
				memset(s->delivered, 0, sizeof(s->delivered));
				s->resync_due = true;
			} else {
				rel_tx_free(s->tx);
				s->tx_epoch++;
				s->tx = rel_tx_new(&s->cfg, s->tx_epoch);
				FUZZ_CHECK(s->tx);
				s->last_next = 0;
				s->floor = 1;
				s->resync_due = false;
			}
			break;
		}
	}
	drain(s);
	rel_tx_free(s->tx);
	rel_rx_free(s->rx);
	return 0;
}
