/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine: the verdict for one queued packet.  Pure: given the packet bytes,
 * the worker's connection table and the current routing view, it rewrites the
 * buffer in place and says what to do with it.  No sockets; the queue glue
 * sends the verdict and any reply the engine built. */
#ifndef CLUSTERD_ENGINE_H
#define CLUSTERD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/view.h"
#include "nfq/conn.h"
#include "nfq/hoff.h"
#include "nfq/stats.h"

enum engine_hook {
	ENGINE_PRE,	/* prerouting: traffic to a VIPA (distributor role) */
	ENGINE_OUT,	/* output: replies leaving a target (target role) */
};

enum engine_verdict {
	ENGINE_ACCEPT,	/* pass unchanged */
	ENGINE_MANGLED,	/* pass the rewritten buffer */
	ENGINE_DROP,
	ENGINE_REPLY,	/* drop, and send the packet built in reply[] */
};

struct engine {
	struct conn_table *conns;	/* this worker's */
	struct stats *stats;		/* this worker's */
	const struct view *view;
	struct conn_timeouts timeouts;
	uint64_t now_ms;
	/* ICMP errors are spread over workers by the outer addresses only, so
	 * the flow they quote may live in another worker's table: this looks
	 * there (NULL: only our own table). */
	bool (*find_other)(void *arg, const struct conn_key *k, struct ip_addr *taddr,
			   uint16_t *tport);
	void *find_other_arg;
	/* Replication (NULL: none).  conn_event: an entry was created or
	 * changed state (ENGINE_CONN_UPDATE) or went (ENGINE_CONN_DELETE);
	 * never about an embryonic entry (CONN_C_EMBRYO): a SYN is logged
	 * with its handshake's end.
	 * find_replica: the entry the previous distributor of the VIPA had for
	 * this flow, taken out of the replica (target, state filled in). */
	void (*conn_event)(void *arg, int kind, const struct conn *c);
	void *conn_event_arg;
	bool (*find_replica)(void *arg, const struct conn_key *k, struct conn *out);
	void *find_replica_arg;
	/* Content-aware handoff (handoff, doc/architecture.md); hoff NULL:
	 * handoff services are refused (their packets dropped, counted). */
	const struct engine_hoff_ops *hoff;
	void *hoff_arg;
	struct hoff_table *slots;	/* this worker's buffering slots */
	uint8_t cookie_key[16];		/* the cluster's SYN-cookie secret */
	uint64_t wall_ms;		/* SYN cookies and TS values use the wall clock:
					 * every distributor of a VIPA agrees on it */
	unsigned idx;			/* worker index: the top byte of handoff ids */
	uint32_t hoff_serial;
	/* Out: the VIPA the last packet was forwarded for (ENGINE_MANGLED at
	 * ENGINE_PRE), else NULL.  The caller times takeovers with it. */
	const struct cfg_vipa *hit_vipa;
};

enum { ENGINE_CONN_UPDATE = 1, ENGINE_CONN_DELETE = 2 };

/* What the engine needs from the daemon for handoff.  All called with the
 * worker's lock held: none may block. */
enum { ENGINE_HOFF_READY = 1, ENGINE_HOFF_END = 2 };
struct engine_hoff_ops {
	/* FE: a complete request for the main thread (it owns r from then on);
	 * false: no room, r stays the caller's. */
	bool (*request)(void *arg, struct hoff_req *r);
	/* TGT: takes the pending request of k (its bytes: *data, malloc'd; the
	 * engine frees it). */
	bool (*claim)(void *arg, const struct conn_key *k, struct hoff_params *p,
		      uint32_t *fe_peer, uint8_t **data);
	/* READY (TGT: the stack acknowledged the request) or END (either end:
	 * the entry went, reason a HOFF_R_* of sync/hoffmsg.h). */
	void (*event)(void *arg, int kind, uint8_t reason, const struct conn *c);
	/* Sends a complete IP packet: into this node's own stack (marked so
	 * that no rule queues it) or to a client. */
	void (*inject)(void *arg, const uint8_t *pkt, size_t len, const struct ip_addr *to);
};

/* HOFF_R_* values the engine passes to ops->event (the same numbers as
 * sync/hoffmsg.h's enum hoff_reason, which the daemon sends). */
#define ENGINE_HOFF_R_RST	1
#define ENGINE_HOFF_R_EXPIRED	2
#define ENGINE_HOFF_R_SUPERSEDED 3
#define ENGINE_HOFF_R_FIN	6

#define ENGINE_REPLY_MAX 1280

/* Decides about one packet.  buf may be rewritten in place (same length).
 * csum_notready: the kernel left a partial L4 checksum (NFQA_SKB_CSUMNOTREADY).
 * When ENGINE_REPLY is returned, *reply_len bytes of reply (ENGINE_REPLY_MAX)
 * hold a complete IP packet to send and *reply_to its destination. */
enum engine_verdict engine_packet(struct engine *e, enum engine_hook hook, uint8_t *buf,
				  size_t len, bool csum_notready, uint8_t *reply,
				  size_t *reply_len, struct ip_addr *reply_to);

/* The main thread's answers to a front-end's request (the worker's
 * inbox).  ACK: the target took connection k: the slot becomes a
 * forwarding entry; false when no slot waits for it (the client went, or
 * the table is full): the caller tells the target to let go.  FAIL: no
 * target took it: the client gets a 503 (the packet in reply[], to *to;
 * 0 when there is nothing to send).  END: the other end ended the entry
 * (a target entry also gets a RST into its stack, in reply[]). */
bool engine_hoff_ack(struct engine *e, const struct conn_key *k, uint32_t id, uint32_t target,
		     uint32_t peer, const struct ip_addr *taddr, uint16_t tport, uint32_t delta,
		     uint32_t tsoff, int8_t ws_t);
size_t engine_hoff_fail(struct engine *e, const struct conn_key *k, uint32_t id, uint8_t *reply,
			struct ip_addr *to);
size_t engine_hoff_end(struct engine *e, const struct conn_key *k, uint32_t id, uint8_t reason,
		       uint8_t *reply, struct ip_addr *to);
/* Request heads not complete in time get a 408 (sent through ops->inject),
 * and requests the main thread never answered are dropped; at most
 * `budget` slots looked at.  Returns the number of slots freed. */
size_t engine_hoff_expire(struct engine *e, size_t budget);

/* Expiry callback for conn_expire(): keeps the per-node counts right. */
void engine_conn_expired(const struct conn *c, void *engine);

#endif
