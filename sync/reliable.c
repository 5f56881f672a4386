/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reliable: sequence numbers, ACK/NACK, resend queue and reorder buffer for
 * cluster state messages.  Pure code: see reliable.h for the protocol. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "sync/reliable.h"

/* ---- TLV values ---- */

void rel_enc_seq(uint8_t out[REL_SEQ_LEN], uint64_t seq)
{
	be_put64(out, seq);
}

void rel_enc_ack(uint8_t out[REL_ACK_LEN], uint64_t epoch, uint64_t upto)
{
	be_put64(out, epoch);
	be_put64(out + 8, upto);
}

void rel_enc_nack(uint8_t out[REL_NACK_LEN], uint64_t epoch, uint64_t from, uint64_t to)
{
	be_put64(out, epoch);
	be_put64(out + 8, from);
	be_put64(out + 16, to);
}

void rel_enc_alive(uint8_t out[REL_ALIVE_LEN], uint64_t first, uint64_t next)
{
	be_put64(out, first);
	be_put64(out + 8, next);
}

bool rel_dec_seq(const uint8_t *val, uint16_t len, uint64_t *seq)
{
	if (!val || len < REL_SEQ_LEN)
		return false;
	*seq = be_get64(val);
	return *seq != 0;
}

bool rel_dec_ack(const uint8_t *val, uint16_t len, uint64_t *epoch, uint64_t *upto)
{
	if (!val || len < REL_ACK_LEN)
		return false;
	*epoch = be_get64(val);
	*upto = be_get64(val + 8);
	return true;
}

bool rel_dec_nack(const uint8_t *val, uint16_t len, uint64_t *epoch, uint64_t *from,
		  uint64_t *to)
{
	if (!val || len < REL_NACK_LEN)
		return false;
	*epoch = be_get64(val);
	*from = be_get64(val + 8);
	*to = be_get64(val + 16);
	return *from != 0 && *from <= *to;
}

bool rel_dec_alive(const uint8_t *val, uint16_t len, uint64_t *first, uint64_t *next)
{
	if (!val || len < REL_ALIVE_LEN)
		return false;
	*first = be_get64(val);
	*next = be_get64(val + 8);
	return *first != 0 && *first <= *next;
}

/* ---- configuration ---- */

void rel_cfg_default(struct rel_cfg *c)
{
	c->queue_max = 1024;
	c->bytes_max = 512 * 1024;
	c->rto_ms = 200;
	c->burst = 64;
	c->alive_ms = 100;
	c->ack_ms = 50;
	c->ack_every = 32;
	c->nack_ms = 50;
	c->window = 128;
}

bool rel_cfg_valid(const struct rel_cfg *c)
{
	return c && c->queue_max && c->bytes_max >= REL_BODY_MAX && c->rto_ms && c->burst &&
	       c->alive_ms && c->ack_ms && c->ack_every && c->nack_ms && c->window &&
	       c->window <= REL_WINDOW_MAX;
}

/* At least ms since then; false if the clock went backwards. */
static bool elapsed(uint64_t now, uint64_t then, uint32_t ms)
{
	return now >= then && now - then >= ms;
}

/* ---- sender ---- */

struct rel_ent {
	uint64_t sent_ms;	/* last (re)transmission */
	uint64_t pushed_ms;	/* queued (rel_tx_oldest_ms) */
	size_t off;		/* body in the arena, may wrap around its end */
	uint32_t len;
};

struct rel_tx {
	struct rel_cfg cfg;
	uint64_t epoch;
	/* Queued: [first, next); sent at least once: [first, unsent). */
	uint64_t first, unsent, next;
	uint64_t floor;		/* first as of the last resync */
	bool floor_pending;	/* the peer has not confirmed the floor yet */
	bool alive_force;
	uint64_t peer_epoch;	/* newest seen in an ACK or NACK */
	uint64_t ack_epoch;	/* newest that acknowledged: it holds [1, first) */
	uint64_t last_tx_ms;
	struct rel_ent *ents;	/* ring: seq first + i at (head + i) % queue_max */
	uint32_t head, count;
	uint8_t *arena;		/* byte ring of bytes_max, bodies in seq order */
	size_t arena_head, bytes;
	uint8_t scratch[REL_BODY_MAX];	/* a body that wraps, made contiguous */
	struct rel_stats st;
};

struct rel_tx *rel_tx_new(const struct rel_cfg *c, uint64_t epoch)
{
	struct rel_tx *t;

	if (!rel_cfg_valid(c)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *c;
	t->epoch = epoch;
	t->first = t->unsent = t->next = t->floor = 1;
	t->ents = calloc(c->queue_max, sizeof(*t->ents));
	t->arena = malloc(c->bytes_max);
	if (!t->ents || !t->arena) {
		rel_tx_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void rel_tx_free(struct rel_tx *t)
{
	if (!t)
		return;
	free(t->ents);
	free(t->arena);
	free(t);
}

static struct rel_ent *tx_ent(struct rel_tx *t, uint64_t seq)
{
	return &t->ents[(t->head + (seq - t->first)) % t->cfg.queue_max];
}

static const void *tx_body(struct rel_tx *t, const struct rel_ent *e)
{
	size_t room = t->cfg.bytes_max - e->off;

	if (e->len <= room)
		return t->arena + e->off;
	memcpy(t->scratch, t->arena + e->off, room);
	memcpy(t->scratch + room, t->arena, e->len - room);
	return t->scratch;
}

uint64_t rel_tx_push(struct rel_tx *t, const void *body, size_t len, uint64_t now_ms)
{
	struct rel_ent *e;
	size_t off, room;

	if (len > REL_BODY_MAX || (len && !body) || t->count >= t->cfg.queue_max ||
	    len > t->cfg.bytes_max - t->bytes) {
		t->st.overflow++;
		return 0;
	}
	off = (t->arena_head + t->bytes) % t->cfg.bytes_max;
	room = t->cfg.bytes_max - off;
	if (len <= room) {
		memcpy(t->arena + off, body, len);
	} else {
		memcpy(t->arena + off, body, room);
		memcpy(t->arena, (const uint8_t *)body + room, len - room);
	}
	e = &t->ents[(t->head + t->count) % t->cfg.queue_max];
	e->off = off;
	e->len = (uint32_t)len;
	e->sent_ms = now_ms;
	e->pushed_ms = now_ms;
	t->count++;
	t->bytes += len;
	t->st.pushed++;
	return t->next++;
}

static void tx_drop_oldest(struct rel_tx *t)
{
	struct rel_ent *e = &t->ents[t->head];

	t->arena_head = (t->arena_head + e->len) % t->cfg.bytes_max;
	t->bytes -= e->len;
	t->head = (t->head + 1) % t->cfg.queue_max;
	t->count--;
	t->first++;
	if (!t->count) {
		/* Empty: start over at the arena's beginning, fewer wrapped bodies. */
		t->head = 0;
		t->arena_head = 0;
	}
}

static void tx_emit(struct rel_tx *t, uint64_t seq, uint64_t now_ms, rel_msg_fn emit, void *arg)
{
	struct rel_ent *e = tx_ent(t, seq);

	emit(arg, seq, tx_body(t, e), e->len);
	e->sent_ms = now_ms;
	t->last_tx_ms = now_ms;
}

size_t rel_tx_poll(struct rel_tx *t, uint64_t now_ms, rel_msg_fn emit, void *arg)
{
	size_t n = 0;
	uint32_t resent = 0;

	/* Go-back-N: send times grow with seq, so stop at the first one that
	 * is not due yet. */
	for (uint64_t seq = t->first; seq < t->unsent && resent < t->cfg.burst; seq++) {
		if (!elapsed(now_ms, tx_ent(t, seq)->sent_ms, t->cfg.rto_ms))
			break;
		tx_emit(t, seq, now_ms, emit, arg);
		resent++;
	}
	t->st.resent += resent;
	n += resent;
	/* New ones only within the peer's reorder window: it would drop the
	 * rest while a gap holds it back. */
	for (; t->unsent < t->next && t->unsent - t->first < t->cfg.window; t->unsent++, n++) {
		tx_emit(t, t->unsent, now_ms, emit, arg);
		t->st.sent++;
	}
	return n;
}

/* Newest peer epoch so far; false for an answer from an older one. */
static bool tx_peer_epoch(struct rel_tx *t, uint64_t peer_epoch)
{
	if (peer_epoch < t->peer_epoch)
		return false;
	t->peer_epoch = peer_epoch;
	return true;
}

size_t rel_tx_ack(struct rel_tx *t, uint64_t peer_epoch, uint64_t epoch, uint64_t upto)
{
	size_t n = 0;

	if (epoch != t->epoch || upto >= t->unsent || !tx_peer_epoch(t, peer_epoch))
		return 0;
	if (t->ack_epoch < peer_epoch && upto + 1 >= t->first)
		t->ack_epoch = peer_epoch;
	if (upto + 1 >= t->floor)
		t->floor_pending = false;
	while (t->first <= upto) {
		tx_drop_oldest(t);
		n++;
	}
	t->st.acked += n;
	return n;
}

enum rel_nack_result rel_tx_nack(struct rel_tx *t, uint64_t peer_epoch, uint64_t epoch,
				 uint64_t from, uint64_t to, uint64_t now_ms, rel_msg_fn emit,
				 void *arg)
{
	uint32_t n = 0;

	if (epoch != t->epoch || from == 0 || from > to || from >= t->unsent ||
	    !tx_peer_epoch(t, peer_epoch))
		return REL_NACK_IGNORED;
	t->st.nacks_recv++;
	if (to >= t->unsent)
		to = t->unsent - 1;
	if (from < t->first) {
		/* What the peer wants was acknowledged, or dropped by a resync.
		 * A newer incarnation of the peer than the one that acknowledged
		 * lost it; anyone else is late or missed the floor. */
		if (peer_epoch > t->ack_epoch && !t->floor_pending)
			return REL_NACK_RESYNC;
		t->alive_force = true;
		from = t->first;
	}
	for (uint64_t seq = from; seq <= to && n < t->cfg.burst; seq++) {
		/* Sent within nack_ms: more likely overtaken than lost, and
		 * the receiver repeats its NACK after nack_ms if it was lost. */
		if (!elapsed(now_ms, tx_ent(t, seq)->sent_ms, t->cfg.nack_ms))
			continue;
		tx_emit(t, seq, now_ms, emit, arg);
		n++;
	}
	t->st.resent += n;
	return REL_NACK_RESENT;
}

bool rel_tx_alive(struct rel_tx *t, uint64_t now_ms, uint64_t *first, uint64_t *next)
{
	if (!t->alive_force && !elapsed(now_ms, t->last_tx_ms, t->cfg.alive_ms))
		return false;
	t->alive_force = false;
	t->last_tx_ms = now_ms;
	t->st.alives_sent++;
	/* Only what was sent: the rest would draw a NACK before it leaves. */
	*first = t->first;
	*next = t->unsent;
	return true;
}

/* then + ms, or now if the clock went backwards (elapsed() says due then). */
static uint64_t due_at(uint64_t now, uint64_t then, uint32_t ms)
{
	return now < then ? now : then + ms;
}

uint64_t rel_tx_next_ms(const struct rel_tx *t, uint64_t now_ms, bool data)
{
	uint64_t next;

	/* Mirrors rel_tx_alive and rel_tx_poll. */
	if (t->alive_force)
		return now_ms;
	next = due_at(now_ms, t->last_tx_ms, t->cfg.alive_ms);
	if (!data)
		return next;
	if (t->unsent < t->next && t->unsent - t->first < t->cfg.window)
		return now_ms;
	if (t->first < t->unsent) {
		uint64_t rto = due_at(now_ms, t->ents[t->head].sent_ms, t->cfg.rto_ms);

		if (rto < next)
			next = rto;
	}
	return next;
}

void rel_tx_resync(struct rel_tx *t)
{
	while (t->count)
		tx_drop_oldest(t);
	t->first = t->unsent = t->floor = t->next;
	t->floor_pending = true;
	t->alive_force = true;
	t->st.resyncs++;
}

bool rel_tx_resyncing(const struct rel_tx *t)
{
	return t->floor_pending;
}

uint64_t rel_tx_next_seq(const struct rel_tx *t)
{
	return t->next;
}

uint32_t rel_tx_queued(const struct rel_tx *t)
{
	return t->count;
}

size_t rel_tx_queued_bytes(const struct rel_tx *t)
{
	return t->bytes;
}

bool rel_tx_oldest_ms(const struct rel_tx *t, uint64_t *pushed_ms)
{
	if (!t->count)
		return false;
	*pushed_ms = t->ents[t->head].pushed_ms;
	return true;
}

const struct rel_stats *rel_tx_stats(const struct rel_tx *t)
{
	return &t->st;
}

/* ---- receiver ---- */

struct rel_slot {
	uint64_t seq;		/* 0: empty */
	uint32_t len;
};

struct rel_rx {
	struct rel_cfg cfg;
	bool valid;		/* a sender epoch is known */
	uint64_t epoch;
	uint64_t expected;	/* next seq to deliver */
	uint64_t top;		/* highest seq known to exist, 0: none */
	uint64_t acked;		/* upto of the last ACK sent */
	uint64_t ack_last_ms;
	bool ack_now;		/* the sender resends or asks: ACK at once */
	bool nacked;
	uint64_t nack_from, nack_last_ms;
	struct rel_slot *slots;	/* seq s at s % window */
	uint8_t *bufs;		/* window * REL_BODY_MAX */
	uint32_t buffered;
	struct rel_stats st;
};

struct rel_rx *rel_rx_new(const struct rel_cfg *c)
{
	struct rel_rx *r;

	if (!rel_cfg_valid(c)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = *c;
	r->slots = calloc(c->window, sizeof(*r->slots));
	r->bufs = malloc((size_t)c->window * REL_BODY_MAX);
	if (!r->slots || !r->bufs) {
		rel_rx_free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void rel_rx_free(struct rel_rx *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->bufs);
	free(r);
}

static void rx_reset(struct rel_rx *r, uint64_t epoch)
{
	r->valid = true;
	r->epoch = epoch;
	r->expected = 1;
	r->top = 0;
	r->acked = 0;
	r->ack_last_ms = 0;
	r->ack_now = true;	/* tell the new sender at once where we stand */
	r->nacked = false;
	r->nack_from = r->nack_last_ms = 0;
	memset(r->slots, 0, r->cfg.window * sizeof(*r->slots));
	r->buffered = 0;
}

static unsigned rx_epoch(struct rel_rx *r, uint64_t epoch)
{
	if (r->valid && epoch == r->epoch)
		return 0;
	if (r->valid && epoch < r->epoch) {
		r->st.stale++;
		return REL_RX_STALE;
	}
	rx_reset(r, epoch);
	r->st.restarts++;
	return REL_RX_RESTARTED;
}

static struct rel_slot *rx_slot(struct rel_rx *r, uint64_t seq)
{
	return &r->slots[seq % r->cfg.window];
}

static void rx_deliver(struct rel_rx *r, const void *body, size_t len, rel_msg_fn deliver,
		       void *arg)
{
	deliver(arg, r->expected, body, len);
	r->expected++;
	r->st.delivered++;
}

/* Delivers buffered messages that are now in order. */
static void rx_drain(struct rel_rx *r, rel_msg_fn deliver, void *arg)
{
	while (r->buffered) {
		struct rel_slot *s = rx_slot(r, r->expected);

		if (s->seq != r->expected)
			break;
		s->seq = 0;
		r->buffered--;
		rx_deliver(r, r->bufs + (s - r->slots) * REL_BODY_MAX, s->len, deliver, arg);
	}
}

static unsigned rx_gap(const struct rel_rx *r)
{
	return r->top >= r->expected ? REL_RX_GAP : 0;
}

unsigned rel_rx_input(struct rel_rx *r, uint64_t epoch, uint64_t seq, const void *body,
		      size_t len, uint64_t now_ms, rel_msg_fn deliver, void *arg)
{
	struct rel_slot *s;
	unsigned f;

	if (seq == 0 || len > REL_BODY_MAX || (len && !body))
		return REL_RX_INVALID;
	f = rx_epoch(r, epoch);
	if (f & REL_RX_STALE)
		return f;
	if (seq < r->expected) {
		/* The sender missed our ACK: tell it again now. */
		r->st.dups++;
		r->ack_now = true;
		return f | REL_RX_DUP;
	}
	if (seq > r->top)
		r->top = seq;
	if (seq - r->expected >= r->cfg.window) {
		r->st.too_far++;
		return f | REL_RX_TOO_FAR | REL_RX_GAP;
	}
	if (seq == r->expected) {
		rx_deliver(r, body, len, deliver, arg);
		rx_drain(r, deliver, arg);
		return f | rx_gap(r);
	}
	s = rx_slot(r, seq);
	if (s->seq == seq) {
		r->st.dups++;
		return f | REL_RX_DUP | rx_gap(r);
	}
	/* The window check above leaves every slot free for its own seq. */
	s->seq = seq;
	s->len = (uint32_t)len;
	if (len)
		memcpy(r->bufs + (s - r->slots) * REL_BODY_MAX, body, len);
	r->buffered++;
	r->st.out_of_order++;
	return f | REL_RX_GAP;
}

unsigned rel_rx_alive(struct rel_rx *r, uint64_t epoch, uint64_t first, uint64_t next,
		      uint64_t now_ms, rel_msg_fn deliver, void *arg)
{
	unsigned f;

	if (first == 0 || first > next)
		return REL_RX_INVALID;
	f = rx_epoch(r, epoch);
	if (f & REL_RX_STALE)
		return f;
	if (first > r->expected) {
		/* The sender dropped these in a resync; its bulk state follows. */
		for (uint32_t i = 0; i < r->cfg.window && r->buffered; i++) {
			if (r->slots[i].seq && r->slots[i].seq < first) {
				r->slots[i].seq = 0;
				r->buffered--;
			}
		}
		r->st.skipped += first - r->expected;
		r->expected = first;
		rx_drain(r, deliver, arg);
		f |= REL_RX_SKIPPED;
	}
	/* ALIVEs come only from an idle sender: answering each with an ACK is
	 * cheap, confirms a resync floor and repeats an ACK that was lost. */
	r->ack_now = true;
	if (next - 1 > r->top)
		r->top = next - 1;
	return f | rx_gap(r);
}

bool rel_rx_poll(struct rel_rx *r, uint64_t now_ms, struct rel_ctl *ctl)
{
	uint64_t unacked, hi;

	memset(ctl, 0, sizeof(*ctl));
	if (!r->valid)
		return false;
	ctl->epoch = r->epoch;
	unacked = r->expected - 1 - r->acked;
	if (r->ack_now || unacked >= r->cfg.ack_every ||
	    (unacked && elapsed(now_ms, r->ack_last_ms, r->cfg.ack_ms))) {
		ctl->ack = true;
		ctl->ack_upto = r->expected - 1;
		r->acked = ctl->ack_upto;
		r->ack_last_ms = now_ms;
		r->ack_now = false;
		r->st.acks_sent++;
	}
	if (r->top >= r->expected && (!r->nacked || r->nack_from != r->expected ||
				      elapsed(now_ms, r->nack_last_ms, r->cfg.nack_ms))) {
		/* Every hole up to the highest seq known, within the window:
		 * precise ranges draw no duplicates of what is buffered. */
		hi = r->top;
		if (hi - r->expected >= r->cfg.window)
			hi = r->expected + r->cfg.window - 1;
		for (uint64_t s = r->expected; s <= hi && ctl->n_nack < REL_NACK_MAX; s++) {
			struct rel_range *g = &ctl->nack[ctl->n_nack];

			if (rx_slot(r, s)->seq == s)
				continue;
			g->from = s;
			while (s < hi && rx_slot(r, s + 1)->seq != s + 1)
				s++;
			g->to = s;
			ctl->n_nack++;
		}
		r->nacked = true;
		r->nack_from = r->expected;
		r->nack_last_ms = now_ms;
		r->st.nacks_sent += ctl->n_nack;
	}
	return ctl->ack || ctl->n_nack;
}

uint64_t rel_rx_next_ms(const struct rel_rx *r, uint64_t now_ms)
{
	uint64_t unacked, next = UINT64_MAX;

	/* Mirrors rel_rx_poll. */
	if (!r->valid)
		return UINT64_MAX;
	unacked = r->expected - 1 - r->acked;
	if (r->ack_now || unacked >= r->cfg.ack_every)
		return now_ms;
	if (unacked)
		next = due_at(now_ms, r->ack_last_ms, r->cfg.ack_ms);
	if (r->top >= r->expected) {
		uint64_t nack;

		if (!r->nacked || r->nack_from != r->expected)
			return now_ms;
		nack = due_at(now_ms, r->nack_last_ms, r->cfg.nack_ms);
		if (nack < next)
			next = nack;
	}
	return next;
}

uint64_t rel_rx_expected(const struct rel_rx *r)
{
	return r->valid ? r->expected : 0;
}

const struct rel_stats *rel_rx_stats(const struct rel_rx *r)
{
	return &r->st;
}
