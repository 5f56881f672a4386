/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reliable: in-order, exactly-once delivery of state messages between two
 * nodes, above the authenticated wire layer, in the manner of conntrackd's
 * FT-FW mode.  Pure: no sockets, no clock (time is a parameter), no globals;
 * memory is allocated at creation only.
 *
 * Every node keeps, per peer, a sender (struct rel_tx) and a receiver
 * (struct rel_rx).  A state message carries a reliable sequence number in a
 * REL_TLV_SEQ TLV; it is distinct from the wire header's anti-replay seq,
 * which changes on every retransmission.  Reliable sequence numbers start
 * at 1 in every sender epoch (the wire header's epoch) and never go back.
 *
 * Sender: rel_tx_push queues a body and numbers it; rel_tx_poll emits what
 * is due (go-back-N retransmissions after rto_ms, then new messages);
 * rel_tx_ack drops what the peer has; rel_tx_nack resends a range.  The
 * messages still queued are always the contiguous range [first, next).
 * When idle the sender announces that range with an ALIVE, so the receiver
 * detects a lost tail and learns the floor below which nothing can be
 * resent.
 *
 * Receiver: rel_rx_input delivers in order, buffers out-of-order messages
 * within `window`, drops duplicates; rel_rx_poll says when an ACK (the
 * highest seq delivered in order) or NACKs (one range per hole) are due.  ACK and NACK name the epoch of the sender they answer, so that a
 * sender that restarted never takes an answer meant for its previous life.
 *
 * Bulk resync (the application sends its full state as new messages) is
 * needed when rel_tx_push refuses a message (queue full), when rel_tx_nack
 * returns REL_NACK_RESYNC (a restarted peer wants what its previous
 * incarnation had acknowledged) and when rel_rx_input or
 * rel_rx_alive report REL_RX_RESTARTED (a new epoch of the peer: it lost
 * what we sent it).  The application starts it with rel_tx_resync, which
 * drops the queue and makes the receiver skip what was dropped, then pushes
 * its state; one resync per peer at a time is enough (rel_tx_resyncing). */
#ifndef CLUSTERD_RELIABLE_H
#define CLUSTERD_RELIABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/wire.h"

/* TLV types (numbered in sync/msg.h), in the wire body of any message type
 * (receivers skip TLVs they do not know).  All values are big-endian u64.
 *   REL_TLV_SEQ    seq                  on a state message, with its TLVs
 *   REL_TLV_ACK    epoch, upto          cumulative: all seq <= upto delivered
 *   REL_TLV_NACK   epoch, from, to      please resend [from, to]
 *   REL_TLV_ALIVE  first, next          sender holds [first, next); the
 *                                       epoch is the wire header's
 * ACK, NACK and ALIVE may ride on any message, a heartbeat for instance. */

#define REL_SEQ_LEN 8
#define REL_ACK_LEN 16
#define REL_NACK_LEN 24
#define REL_ALIVE_LEN 16

/* Largest body (the application's TLVs) that fits one datagram together
 * with the wire header, the REL_TLV_SEQ TLV and the MAC. */
#define REL_BODY_MAX (WIRE_MAX - WIRE_HDR_LEN - WIRE_MAC_LEN - TLV_HDR_LEN - REL_SEQ_LEN)

/* Upper bound for rel_cfg.window: the reorder buffer is window * REL_BODY_MAX. */
#define REL_WINDOW_MAX 1024

/* Encoders write exactly REL_*_LEN bytes.  Decoders check the length (longer
 * values are accepted: later versions may append fields) and the values
 * (seq >= 1, 1 <= from <= to, 1 <= first <= next); false if either fails. */
void rel_enc_seq(uint8_t out[REL_SEQ_LEN], uint64_t seq);
void rel_enc_ack(uint8_t out[REL_ACK_LEN], uint64_t epoch, uint64_t upto);
void rel_enc_nack(uint8_t out[REL_NACK_LEN], uint64_t epoch, uint64_t from, uint64_t to);
void rel_enc_alive(uint8_t out[REL_ALIVE_LEN], uint64_t first, uint64_t next);
bool rel_dec_seq(const uint8_t *val, uint16_t len, uint64_t *seq);
bool rel_dec_ack(const uint8_t *val, uint16_t len, uint64_t *epoch, uint64_t *upto);
bool rel_dec_nack(const uint8_t *val, uint16_t len, uint64_t *epoch, uint64_t *from,
		  uint64_t *to);
bool rel_dec_alive(const uint8_t *val, uint16_t len, uint64_t *first, uint64_t *next);

/* Configuration, shared by both directions.  rel_cfg_default fills values
 * suited to a LAN with 100 ms heartbeats. */
struct rel_cfg {
	uint32_t queue_max;	/* sender: most messages queued unacknowledged */
	size_t bytes_max;	/* sender: most body bytes queued, >= REL_BODY_MAX */
	uint32_t rto_ms;	/* sender: resend the oldest unacked after this */
	uint32_t burst;		/* sender: most retransmissions per poll or NACK */
	uint32_t alive_ms;	/* sender: ALIVE after this long without sending */
	uint32_t ack_ms;	/* receiver: ACK new deliveries at least this often */
	uint32_t ack_every;	/* receiver: ... or after this many deliveries */
	uint32_t nack_ms;	/* receiver: repeat a NACK for one gap at most this often */
	uint32_t window;	/* reorder buffer, 1..REL_WINDOW_MAX messages; the
				 * sender sends no further past its oldest unacked */
};

void rel_cfg_default(struct rel_cfg *c);
/* True if every field is in range (all nonzero, limits above). */
bool rel_cfg_valid(const struct rel_cfg *c);

/* Counters; each direction fills the ones that concern it. */
struct rel_stats {
	/* sender */
	uint64_t pushed;	/* accepted by rel_tx_push */
	uint64_t overflow;	/* refused by rel_tx_push: queue full */
	uint64_t sent;		/* first transmissions */
	uint64_t resent;	/* retransmissions, after rto or on NACK */
	uint64_t acked;		/* messages dropped from the queue by ACKs */
	uint64_t nacks_recv;
	uint64_t resyncs;	/* rel_tx_resync calls */
	uint64_t alives_sent;
	/* receiver */
	uint64_t delivered;
	uint64_t dups;		/* already delivered or already buffered */
	uint64_t out_of_order;	/* buffered ahead of a gap */
	uint64_t too_far;	/* beyond the window: dropped */
	uint64_t skipped;	/* seqs given up on an ALIVE floor (resync covers them) */
	uint64_t stale;		/* from an older epoch: dropped */
	uint64_t restarts;	/* new sender epochs */
	uint64_t acks_sent;
	uint64_t nacks_sent;	/* ranges */
};

/* Called for each message to (re)send or to deliver; body stays valid only
 * during the call, which must not call back into the same rel_tx/rel_rx. */
typedef void (*rel_msg_fn)(void *arg, uint64_t seq, const void *body, size_t len);

/* ---- sender ---- */

struct rel_tx;

/* epoch: this node's boot epoch, as in its wire headers.  NULL (errno
 * EINVAL or ENOMEM) on a bad configuration or no memory. */
struct rel_tx *rel_tx_new(const struct rel_cfg *c, uint64_t epoch);
void rel_tx_free(struct rel_tx *t);

/* Queues a body (len <= REL_BODY_MAX); returns its seq, or 0 when len is
 * too large or the queue would exceed queue_max or bytes_max (counted as
 * overflow: the caller does a bulk resync later). */
uint64_t rel_tx_push(struct rel_tx *t, const void *body, size_t len, uint64_t now_ms);

/* Emits what is due, oldest first: retransmissions from the oldest unacked
 * message sent at least rto_ms ago (go-back-N, at most burst), then the
 * messages not yet sent, as far as window past the oldest unacked (the
 * peer could not buffer more).  Returns the number emitted. */
size_t rel_tx_poll(struct rel_tx *t, uint64_t now_ms, rel_msg_fn emit, void *arg);

/* ACK and NACK name two epochs: peer_epoch is the wire header's (the
 * receiver's boot), epoch the one in the TLV (the sender it answers: ours,
 * or else the answer is ignored).  peer_epoch tells a NACK from a restarted
 * peer, which lost what it had acknowledged, from a late one; answers from
 * an older peer_epoch than seen before are ignored. */

/* A cumulative ACK from the peer: drops every queued seq <= upto.  Ignored
 * if upto was never sent.  Returns the number of messages dropped. */
size_t rel_tx_ack(struct rel_tx *t, uint64_t peer_epoch, uint64_t epoch, uint64_t upto);

enum rel_nack_result {
	REL_NACK_RESENT,	/* what is queued of [from, to] was resent (<= burst) */
	REL_NACK_RESYNC,	/* a restarted peer wants what is no longer queued */
	REL_NACK_IGNORED,	/* not our epoch, stale, or asks for what was never sent */
};

/* A NACK from the peer: resends what is queued of [from, to] (at most
 * burst, skipping what was sent less than nack_ms ago: the peer repeats a
 * NACK no sooner, and a NACK sent at once on a gap is often only
 * reordering) through emit.  It acknowledges nothing: a receiver NACKs every
 * hole, so only the first NACK's from is cumulative, and ACKs say that.  When
 * from is below the queue: from a newer peer_epoch than any that
 * acknowledged (the peer restarted and lost what it had), REL_NACK_RESYNC,
 * unless a resync is already under way; otherwise (a late NACK, or the
 * peer missed the ALIVE of a resync) the ALIVE is made due again and the
 * queued part is resent. */
enum rel_nack_result rel_tx_nack(struct rel_tx *t, uint64_t peer_epoch, uint64_t epoch,
				 uint64_t from, uint64_t to, uint64_t now_ms, rel_msg_fn emit,
				 void *arg);

/* True when an ALIVE is due (nothing sent for alive_ms, a resync began, or
 * a NACK asked below the queue); fills the range to announce: [first, next)
 * of what was sent.  Counts it as sent. */
bool rel_tx_alive(struct rel_tx *t, uint64_t now_ms, uint64_t *first, uint64_t *next);

/* When rel_tx_alive (and, with data, rel_tx_poll) next has something to
 * do, in the clock of now_ms: an ALIVE (alive_ms after the last
 * transmission, or now when one is forced), a retransmission (the oldest
 * unacked + rto_ms), a message not sent yet that the window lets go (now).
 * Never UINT64_MAX: an idle sender still owes its ALIVE.  An event loop
 * sleeps until then; without data for a peer it only sends ALIVEs to. */
uint64_t rel_tx_next_ms(const struct rel_tx *t, uint64_t now_ms, bool data);

/* Starts a bulk resync: drops every queued message (the full state the
 * caller pushes next supersedes them), sets the floor to the next seq and
 * makes an ALIVE due at once, so the peer skips what was dropped. */
void rel_tx_resync(struct rel_tx *t);
/* True from rel_tx_resync until the peer acknowledges the floor. */
bool rel_tx_resyncing(const struct rel_tx *t);

uint64_t rel_tx_next_seq(const struct rel_tx *t);
uint32_t rel_tx_queued(const struct rel_tx *t);		/* messages */
size_t rel_tx_queued_bytes(const struct rel_tx *t);
/* When the oldest message still queued (not acknowledged by the peer) was
 * pushed, in the clock of rel_tx_push's now_ms: false when nothing is
 * queued.  now - that is how far the peer lags behind what we sent. */
bool rel_tx_oldest_ms(const struct rel_tx *t, uint64_t *pushed_ms);
const struct rel_stats *rel_tx_stats(const struct rel_tx *t);

/* ---- receiver ---- */

struct rel_rx;

struct rel_rx *rel_rx_new(const struct rel_cfg *c);
void rel_rx_free(struct rel_rx *r);

/* Flags returned by rel_rx_input and rel_rx_alive. */
enum {
	REL_RX_RESTARTED = 1 << 0,	/* new sender epoch (or first contact): state reset */
	REL_RX_DUP = 1 << 1,		/* already delivered or buffered: dropped */
	REL_RX_GAP = 1 << 2,		/* something is missing: a NACK is due */
	REL_RX_TOO_FAR = 1 << 3,	/* beyond the window: dropped, NACK due */
	REL_RX_STALE = 1 << 4,		/* older epoch: dropped */
	REL_RX_SKIPPED = 1 << 5,	/* ALIVE floor above us: missing seqs given up */
	REL_RX_INVALID = 1 << 6,	/* seq 0 or body larger than REL_BODY_MAX */
};

/* A state message (seq from REL_TLV_SEQ, body = the other TLVs) from the
 * sender's epoch.  Delivers it and any buffered successors in order through
 * deliver; returns REL_RX_* flags (0: delivered or buffered, nothing odd). */
unsigned rel_rx_input(struct rel_rx *r, uint64_t epoch, uint64_t seq, const void *body,
		      size_t len, uint64_t now_ms, rel_msg_fn deliver, void *arg);

/* An ALIVE: the sender holds [first, next).  Seqs below first that are
 * still missing are given up (REL_RX_SKIPPED; buffered ones from first on
 * are delivered through deliver), seqs up to next - 1 that are missing make
 * a NACK due (REL_RX_GAP); an ACK is due in any case.  Returns REL_RX_* flags. */
unsigned rel_rx_alive(struct rel_rx *r, uint64_t epoch, uint64_t first, uint64_t next,
		      uint64_t now_ms, rel_msg_fn deliver, void *arg);

/* Most NACK ranges in one rel_ctl: one per hole, lowest first. */
#define REL_NACK_MAX 16

struct rel_range {
	uint64_t from, to;	/* inclusive */
};

/* Control to send now to the sender of epoch: one REL_TLV_ACK if ack, one
 * REL_TLV_NACK per range (they fit one datagram together). */
struct rel_ctl {
	uint64_t epoch;
	bool ack;
	uint64_t ack_upto;
	unsigned n_nack;
	struct rel_range nack[REL_NACK_MAX];
};

/* True if an ACK and/or NACKs are due; fills ctl and counts them as sent.
 * NACKs name every hole within the window (at most REL_NACK_MAX), as soon
 * as a hole is seen and then at most once per nack_ms while the first hole
 * stays the same. */
bool rel_rx_poll(struct rel_rx *r, uint64_t now_ms, struct rel_ctl *ctl);

/* When rel_rx_poll next has an ACK or NACK to give: now when one is due at
 * once, ack_ms after the last ACK while deliveries are unacknowledged,
 * nack_ms after the last NACK while the same hole stays; UINT64_MAX when
 * nothing is pending (before first contact, or all acknowledged). */
uint64_t rel_rx_next_ms(const struct rel_rx *r, uint64_t now_ms);

/* Next seq expected in order (1 before any message); 0 before first contact. */
uint64_t rel_rx_expected(const struct rel_rx *r);
const struct rel_stats *rel_rx_stats(const struct rel_rx *r);

#endif
