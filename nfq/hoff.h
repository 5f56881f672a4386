/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hoff: the front-end's side of content-aware handoff (handoff,
 * doc/architecture.md) before a connection is handed off: one worker's
 * buffering slots, where a connection whose handshake the front-end
 * completed with a SYN cookie waits until its first request head is
 * complete.  Pure: no locks (the owning worker serialises calls), no clock
 * (time is a parameter), allocation only in hoff_table_new().
 *
 * A slot costs its buffer (max_request bytes): the table is a fixed pool,
 * capped, and its oldest slot may always be evicted for a new one, so a
 * flood of completed handshakes creates nothing that cannot be evicted. */
#ifndef CLUSTERD_HOFF_H
#define CLUSTERD_HOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfq/conn.h"

#define HOFF_FE_WSCALE	7	/* window scale the front-end's SYN-ACK offers */
#define HOFF_CAND_MAX	8	/* candidates a request carries, in order of preference */
#define HOFF_HELD_MAX	8	/* client packets a slot keeps while handing off */
#define HOFF_HELD_LEN	2048	/* the largest it keeps (bigger ones: TCP resends) */
#define HOFF_F_SACK	0x01	/* SACK-permitted negotiated */
#define HOFF_F_TS	0x02	/* timestamps negotiated */
/* A handoff id: the worker's index (up to 1023) in the top bits, a serial
 * of that worker below: unique without a lock. */
#define HOFF_ID_SHIFT	22
#define HOFF_ID_SERIAL	((1u << HOFF_ID_SHIFT) - 1)

/* What the target's clusterd needs to replay the connection into its own
 * stack.  Sequence numbers and TS values as on the wire, host order. */
struct hoff_params {
	uint32_t id;		/* (worker index << HOFF_ID_SHIFT) | serial, never 0 */
	struct conn_key key;	/* the client and the VIPA */
	uint16_t tport;		/* the service's target_port */
	uint32_t isn_c;		/* the client's ISN */
	uint32_t isn_f;		/* the front-end's (cookie) ISN */
	uint16_t mss;		/* the client's MSS as the cookie kept it */
	int8_t ws_c, ws_f;	/* window scale of the client / of the FE's SYN-ACK; -1 none */
	uint8_t flags;		/* HOFF_F_* */
	uint32_t tsval_c;	/* the client's latest TSval (flags & HOFF_F_TS) */
	uint32_t tsval_f;	/* the FE's latest TSval sent to the client */
	uint16_t win_c;		/* the client's latest window field (scaled by ws_c) */
	uint32_t req_len;	/* request bytes that follow */
};

/* A complete request, from a front-end worker to its main thread (which
 * owns it from then on and frees it with free()). */
struct hoff_req {
	struct hoff_params p;
	size_t n_cand;
	uint32_t cand[HOFF_CAND_MAX];	/* node indexes in the configuration of cfg_gen */
	struct ip_addr cand_addr[HOFF_CAND_MAX];	/* their addresses in the VIPA's family */
	uint64_t cfg_gen;
	uint32_t timeout_ms;		/* the service's handoff.timeout_ms: per candidate */
	uint8_t data[];			/* p.req_len bytes */
};


/* --- the buffering slots --- */

enum hoff_phase {
	HOFF_BUFFER = 0,	/* reading the request head */
	HOFF_HANDING,		/* the request went to a target; waiting for its answer */
};

struct hoff_slot {
	struct conn_key key;
	uint8_t phase;		/* enum hoff_phase */
	uint8_t flags;		/* HOFF_F_* */
	int8_t ws_c, ws_f;
	uint16_t mss;
	uint16_t win_c;		/* the client's latest window field */
	uint32_t isn_c, isn_f;
	uint32_t rcv_nxt;	/* the next client sequence number expected */
	uint32_t tsval_c;	/* the client's latest TSval */
	uint32_t tsval_f;	/* our latest TSval sent */
	uint32_t id;		/* HANDING: the request's id */
	uint64_t created_ms, last_ms;
	size_t len, cap;	/* request bytes held, buffer size */
	uint8_t *buf;
	/* HANDING: client packets that came before the target's answer
	 * (the ACK of a response that overtook it, a FIN, more data), sent on
	 * once the target took the connection. */
	struct hoff_held {
		uint8_t *pkt;
		uint16_t len;
		bool csum_notready;
	} held[HOFF_HELD_MAX];
	uint8_t n_held;

	/* Internal: bucket chain and the age list (oldest first). */
	struct hoff_slot *hnext, **hpprev;
	struct hoff_slot *prev, *next;
};

struct hoff_table;

/* A table of at most n slots (n >= 1); NULL when out of memory.  seed keys
 * the bucket hash. */
struct hoff_table *hoff_table_new(size_t n, uint64_t seed);
void hoff_table_free(struct hoff_table *t);
size_t hoff_count(const struct hoff_table *t);
size_t hoff_capacity(const struct hoff_table *t);
struct hoff_slot *hoff_lookup(struct hoff_table *t, const struct conn_key *k);
/* A new slot for k with a buffer of cap bytes (allocated here, freed by
 * hoff_remove), phase BUFFER, everything else zero but created_ms =
 * last_ms = now_ms.  NULL when the table is full, k is present or out of
 * memory. */
struct hoff_slot *hoff_insert(struct hoff_table *t, const struct conn_key *k, size_t cap,
			      uint64_t now_ms);
void hoff_remove(struct hoff_table *t, struct hoff_slot *s);
/* The oldest slot in phase BUFFER (the one to evict for a newcomer), or NULL. */
struct hoff_slot *hoff_oldest_buffering(struct hoff_table *t);
/* The oldest slot of all (expiry walks from it with ->next), or NULL. */
struct hoff_slot *hoff_first(struct hoff_table *t);

enum hoff_append {
	HOFF_APPENDED = 0,	/* the bytes were the next ones: held */
	HOFF_OLD,		/* already held (a retransmission): nothing new */
	HOFF_GAP,		/* they start past the next expected byte: not held */
	HOFF_OVERFLOW,		/* more than the buffer holds: not held */
};
/* Keeps a copy of a client packet while the slot hands off; false when it
 * is full, the packet too large, or out of memory (the caller drops it:
 * TCP sends it again). */
bool hoff_hold(struct hoff_slot *s, const uint8_t *pkt, size_t len, bool csum_notready);

/* Offers n payload bytes that start at client sequence number seq; a
 * segment that overlaps what is held contributes its new part only. */
enum hoff_append hoff_append(struct hoff_slot *s, uint32_t seq, const uint8_t *data, size_t n);

#endif
