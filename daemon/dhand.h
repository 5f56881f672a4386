/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dhand: the daemon side of content-aware handoff (handoff,
 * doc/architecture.md); the `handoff` subsystem (daemon/subsys.h).
 *
 * Front-end (the VIPA's distributor): a worker that has read a complete
 * request head pushes it (struct hoff_req, nfq/hoff.h) to its out ring;
 * the main thread sends it to the first candidate as HOFF_REQ fragments on
 * the reliable channel (sync/hoffmsg.h), waits up to the service's
 * handoff.timeout_ms for HOFF_ACK, then tries the next candidate (telling
 * the slow one HOFF_END), and tells the worker through its inbox: ACK
 * (forward from now on, with these deltas) or FAIL (answer 503).
 *
 * Target: a HOFF_REQ, reassembled, waits in the pending table while the
 * main thread injects the client's SYN into this node's stack (raw socket,
 * marked DHAND_MARK); the worker that sees the stack's SYN-ACK claims it
 * (dhand_claim), injects the ACK and the request itself, and pushes
 * TGT_READY once the stack acknowledged the request: the main thread sends
 * HOFF_ACK.  Unclaimed pending requests expire (HOFF_NAK).
 *
 * Either side: a worker whose handoff entry ends pushes END; the main
 * thread sends HOFF_END to the other side (the target: to every
 * distributor of the VIPA, since the front-end may have changed), and
 * hands a HOFF_END received to the workers (END in their inboxes).
 *
 * Threads: rings are single-producer single-consumer and lock-free (a
 * full one refuses: counted as handoff.ring_full); an out-ring push wakes
 * the main loop through one eventfd (dhand_wake_fd) the connlog way, an
 * inbox push writes the worker's stop_fd (the worker reads it back, then
 * pops).  The pending table is under its own mutex, a leaf lock held for
 * one lookup or a bounded batch and never across I/O (a worker calls
 * dhand_claim holding its own lock); nothing here takes a worker's lock.
 * Everything else (the front-end's requests in flight, the reassemblies)
 * belongs to the main thread. */
#ifndef CLUSTERD_DHAND_H
#define CLUSTERD_DHAND_H

#include <stdbool.h>
#include <stdint.h>

#include "nfq/conn.h"
#include "nfq/hoff.h"
#include "rules/rules.h"

struct daemon;

/* The skb mark of the packets dhand and the workers inject into the local
 * stack (SO_MARK): the target's output chain leaves them alone (the
 * ruleset's `meta mark ... notrack accept`, rules/rules.h). */
#define DHAND_MARK RULES_INJECT_MARK

/* Worker -> main thread. */
enum dhand_ev_kind {
	DHAND_EV_REQUEST = 1,	/* FE: r is a complete request (ownership passes) */
	DHAND_EV_TGT_READY,	/* TGT: the stack acknowledged the request: send HOFF_ACK */
	DHAND_EV_END,		/* FE or TGT: the entry ended: send HOFF_END */
};

/* Main thread -> worker (its inbox). */
enum dhand_in_kind {
	DHAND_IN_ACK = 1,	/* FE: the target took it: forward with these values */
	DHAND_IN_FAIL,		/* FE: no candidate took it: answer 503 */
	DHAND_IN_END,		/* FE or TGT: the other side ended the entry (id, key) */
};

struct dhand_in {
	uint8_t kind;		/* enum dhand_in_kind */
	uint8_t reason;
	uint32_t id;
	struct conn_key key;
	/* ACK only: */
	uint32_t target;	/* node index in the current configuration */
	uint32_t peer;		/* wire_node_id of the target */
	struct ip_addr taddr;
	uint16_t tport;
	uint32_t delta, tsoff;
	int8_t ws_t;
};

/* What a target worker claims: the parameters and the request bytes
 * (data: malloc'd, the worker frees it). */
struct dhand_claim {
	struct hoff_params p;
	uint32_t fe_peer;	/* wire_node_id of the front-end */
	uint8_t *data;
};

/* Opened at start (before capabilities are dropped: raw sockets), closed
 * at exit.  -1 and a message on failure. */
int dhand_open(struct daemon *d, char *err, size_t errlen);
void dhand_close(struct daemon *d);
/* The eventfd the main loop polls: a worker pushed to its out ring. */
int dhand_wake_fd(const struct daemon *d);
/* Main loop: drain every worker's out ring (send requests, ACKs, ENDs). */
void dhand_drain(struct daemon *d);

/* Workers (any worker thread, its own index).  False when the ring is
 * full: the caller answers 503 (request) or counts the loss.  On false
 * the request stays the caller's. */
bool dhand_push_request(struct daemon *d, unsigned worker, struct hoff_req *r);
/* kind: DHAND_EV_TGT_READY or DHAND_EV_END; reason: a HOFF_R_* (END). */
bool dhand_push_event(struct daemon *d, unsigned worker, int kind, uint8_t reason,
		      const struct conn *c);
/* The next inbox entry of worker `worker`, false when empty. */
bool dhand_inbox_pop(struct daemon *d, unsigned worker, struct dhand_in *out);
/* Target: takes the pending request for key k out of the pending table. */
bool dhand_claim(struct daemon *d, const struct conn_key *k, struct dhand_claim *out);
/* The SYN-cookie secret of this cluster (derived from the cluster key, so
 * that every distributor of a VIPA checks the cookies of the others). */
void dhand_cookie_key(const struct daemon *d, uint8_t key[16]);

extern const struct subsys dhand_subsys;

#endif
