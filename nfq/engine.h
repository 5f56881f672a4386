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
#include "nfq/assoc.h"
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

#define ENGINE_SCTP_UNKNOWN 256
#define ENGINE_SCTP_GRACE_MS 1000

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
	/* SCTP (SCTP association failover, doc/architecture.md).  assocs:
	 * the association table, in the one worker that every SCTP packet is
	 * queued to (rules/); NULL in the others, which drop SCTP (counted).
	 * sctp: the daemon's hooks (NULL: no events).  out: room for a packet
	 * that changes length (an INIT ACK whose address list is rewritten),
	 * out_cap bytes; after ENGINE_MANGLED with out_len != 0 the packet to
	 * pass on is out[0 .. out_len), not buf. */
	struct assoc_table *assocs;
	struct assoc_timeouts assoc_to;
	const struct engine_sctp_ops *sctp;
	void *sctp_arg;
	uint8_t *out;
	size_t out_cap, out_len;
	/* This node holds every association it should (it is ready): only then
	 * does a packet without one get the no-state ABORT (else dropped). */
	bool sctp_ready;
	size_t sctp_sweep;	/* engine_sctp_sweep's cursor */
	/* Tags seen without an association, and since when: the ABORT waits
	 * ENGINE_SCTP_GRACE_MS, for a target's report may still be on its way
	 * (the client's first HEARTBEAT to the alternate address can overtake
	 * it).  Direct-mapped: a flood of made-up tags only overwrites slots. */
	struct engine_sctp_unknown {
		uint64_t key;		/* ep, ports and tag, hashed; 0: free */
		uint64_t first_ms;
	} sctp_unknown[ENGINE_SCTP_UNKNOWN];
	/* Fast path (rules/fpmap.h; NULL: none).  fast(arg, ENGINE_FAST_ADD,
	 * c): c, established TCP or a UDP flow routed to its service's target
	 * port, may be forwarded by the kernel from now on; true when the
	 * change was taken (c->fast is then set, and fast_ms).  ENGINE_FAST_DEL:
	 * it must come out (it closes, its port is reused, it is removed; a
	 * removed entry that was ever in the map is taken out again).  Called
	 * with the worker's lock held: must not block. */
	bool (*fast)(void *arg, int op, const struct conn *c);
	void *fast_arg;
	/* Out: the VIPA the last packet was forwarded for (ENGINE_MANGLED at
	 * ENGINE_PRE), else NULL.  The caller times takeovers with it. */
	const struct cfg_vipa *hit_vipa;
};

enum { ENGINE_CONN_UPDATE = 1, ENGINE_CONN_DELETE = 2 };
enum { ENGINE_FAST_ADD = 1, ENGINE_FAST_DEL = 2 };
/* A packet of a flow put into the map this long ago still reaching the
 * queue (the map was recreated by a reload, or the kernel refused the
 * change): put it in again. */
#define ENGINE_FAST_READD_MS 1000

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

/* What the engine tells the daemon about SCTP associations.
 * On a target (from its stack's packets, ENGINE_OUT):
 *   TAG   the stack answered an INIT (INIT ACK): itag_c = the client's Initiate Tag
 *         (the INIT ACK's verification tag), itag_t = the stack's; or the stack
 *         sent an INIT itself (itag_c 0).  client: the packet's destination.  The
 *         distributors of VIPA ep must learn it: they never see the target's packets.
 *   GONE  the stack ended an association (ABORT or SHUTDOWN COMPLETE sent): one of
 *         itag_c / itag_t is known (the other 0), from the verification tag and the
 *         T bit.
 * On a distributor (ENGINE_PRE, and the daemon's own table changes):
 *   UPDATE an association became established, gained a path, changed target or
 *          closed: state, flags, target and paths as the table has them;
 *   DELETE it was removed (expired, replaced by a restart, its target died).
 * ep, ports and family always set. */
enum engine_sctp_kind {
	ENGINE_SCTP_TAG = 1,
	ENGINE_SCTP_GONE,
	ENGINE_SCTP_UPDATE,
	ENGINE_SCTP_DELETE,
};

struct engine_sctp_ev {
	uint8_t kind;		/* enum engine_sctp_kind */
	uint8_t family;		/* AF_INET / AF_INET6 */
	uint8_t state;		/* enum assoc_state (UPDATE) */
	uint8_t flags;		/* ASSOC_F_* (UPDATE) */
	uint32_t ep;		/* the VIPA's index in cfg->vipas */
	uint16_t cport, vport;	/* the client's port, the VIPA's port (host order) */
	uint32_t itag_c, itag_t;
	uint32_t target;	/* node index (UPDATE, DELETE); ASSOC_NO_TARGET if none */
	struct ip_addr client;	/* TAG: the client address the stack answered */
	uint8_t n_paths;	/* UPDATE */
	struct ip_addr paths[ASSOC_PATHS];
};

struct engine_sctp_ops {
	/* Worker thread, table lock held: must not block. */
	void (*event)(void *arg, const struct engine_sctp_ev *ev);
};

/* An association table change made outside a packet (expiry, the daemon's
 * imports) as an UPDATE or DELETE event: the same record a packet makes. */
void engine_sctp_ev_from(struct engine_sctp_ev *ev, int kind, const struct assoc *a,
			 uint8_t family);

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

/* Expiry callback for assoc_expire(): counts (expiry is local: not
 * replicated). */
void engine_assoc_expired(const struct assoc *a, void *engine);
/* Removes the associations whose target the current (settled) view lists as
 * not alive: dead with it; each distributor judges that itself, nothing is
 * replicated.  Looks at most `budget` pool slots (64 at most) from a cursor
 * kept in the engine; returns the number removed. */
size_t engine_sctp_sweep(struct engine *e, size_t budget);

/* Expiry callback for conn_expire(): keeps the per-node counts right. */
void engine_conn_expired(const struct conn *c, void *engine);

#endif
