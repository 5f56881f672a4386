/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conn: the connection table of one worker.  Pure: no locks (the owning
 * worker serialises calls), no logging, allocation only in conn_table_new().
 * A fixed pool of entries with a free list, chained in a power-of-two bucket
 * array about twice the pool size: insert, lookup and remove are O(1). */
#ifndef CLUSTERD_CONN_H
#define CLUSTERD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* The client side of a VIPA connection.  Padding must be zero: build keys
 * with conn_key_set(), or memset() the key first. */
struct conn_key {
	uint8_t family, proto;		/* AF_INET/AF_INET6, IPPROTO_TCP/UDP/SCTP */
	uint16_t cport, vport;		/* host order */
	struct ip_addr caddr, vaddr;
};

enum conn_state { CONN_SYN = 0, CONN_EST, CONN_FIN, CONN_CLOSED, CONN_UDP };

/* Which end of a handoff an entry is: FE translates the client's packets
 * to the target, TGT translates the target stack's replies to the client. */
enum conn_hoff_role { CONN_HOFF_NONE = 0, CONN_HOFF_FE, CONN_HOFF_TGT };
/* TGT: INJECTED: the request went into the stack, its ACK not seen yet;
 * READY: the stack acknowledged it, the FE was told. */
enum conn_hoff_phase { CONN_HOFF_INJECTED = 0, CONN_HOFF_READY };

/* What may be evicted to make room, each class kept on its own list in the
 * order its entries were last seen (oldest first).  NONE: never evicted
 * (established TCP, SCTP, replicas).  EMBRYO: a SYN's entry that no
 * handshake completed yet (stateful schedulers only): never replicated,
 * capped, evicted first.  UDP: evicted when idle long enough. */
enum conn_class { CONN_C_NONE = 0, CONN_C_EMBRYO, CONN_C_UDP };

/* Embryonic entries: at most capacity / CONN_EMBRYO_DIV of them (at least
 * 1), idle timeout at most CONN_EMBRYO_TIMEOUT_S whatever their state's. */
#define CONN_EMBRYO_DIV		4
#define CONN_EMBRYO_TIMEOUT_S	5
/* A full table gives a new flow the room of a UDP entry idle this long. */
#define CONN_UDP_EVICT_IDLE_MS	1000

struct conn {
	struct conn_key key;
	struct ip_addr taddr;		/* target address and port the flow is rewritten to */
	uint16_t tport;
	uint32_t target;		/* opaque target id (node index) for least-conn */
	uint8_t state;			/* enum conn_state */
	uint8_t cls;			/* enum conn_class: set with conn_set_class() */
	uint64_t created_ms, last_ms;
	uint64_t packets, bytes;
	/* Fast path (rules/fpmap.h): the worker put the flow into the
	 * kernel's map at fast_ms, which forwards its packets from then on
	 * without queueing them (so last_ms and the counters stop moving). */
	uint8_t fast;
	uint64_t fast_ms;
	/* Handoff (handoff, doc/architecture.md): a connection whose first
	 * request the front-end read and handed to a target's own stack.  All
	 * zero (role CONN_HOFF_NONE) for any other connection. */
	struct conn_hoff {
		uint32_t id;		/* the front-end's handoff id (nfq/hoff.h) */
		uint32_t delta;		/* front-end ISN - target stack's ISN (mod 2^32) */
		uint32_t tsoff;		/* front-end TSval - target TSval at the handshake */
		uint32_t peer;		/* wire_node_id of the other end (FE: target, TGT: FE) */
		uint32_t req_end;	/* TGT: client seq just past the request bytes */
		uint8_t role;		/* enum conn_hoff_role */
		uint8_t flags;		/* HOFF_F_* (nfq/hoff.h): TS, SACK negotiated */
		int8_t ws_t, ws_f;	/* window scale of the target's stack / the FE's SYN-ACK; -1 none */
		int8_t ws_c;		/* FE: the client's window scale (-1 none) */
		uint8_t phase;		/* TGT: enum conn_hoff_phase */
	} hoff;
	/* Replication (sync/repl.h): where a replica came from and the replica
	 * store's bulk mark; all zero in a worker's own table. */
	struct conn_repl {
		uint32_t origin;	/* wire_node_id of the node that sent it */
		uint8_t flags;		/* REPL_F_* of the record */
		uint8_t stale;		/* not refreshed since its origin's bulk began */
	} repl;

	/* Internal to the table: bucket chain (hlist style) or free list. */
	uint8_t svc;			/* its per-service count: slot + 1, 0: "other" */
	struct conn *hnext;
	struct conn **hpprev;		/* NULL while the entry is free */
	struct conn *lprev, *lnext;	/* the list of its class (not NONE) */
};

struct conn_timeouts {
	uint32_t syn_s, est_s, fin_s, closed_s, udp_s;
};

/* TCP flag bits as in the TCP header's flags byte. */
#define CONN_TCP_FIN	0x01
#define CONN_TCP_SYN	0x02
#define CONN_TCP_RST	0x04
#define CONN_TCP_ACK	0x10

/* Largest pool conn_table_new() accepts. */
#define CONN_TABLE_MAX	(1u << 28)

struct conn_table;

/* NULL when max_entries is 0 or above CONN_TABLE_MAX, or on allocation failure. */
struct conn_table *conn_table_new(size_t max_entries);
void conn_table_free(struct conn_table *t);
size_t conn_count(const struct conn_table *t);
size_t conn_capacity(const struct conn_table *t);
/* Keys the bucket hash with a secret (e.g. from getrandom()) so that clients
 * cannot aim their ports at one chain.  Only while the table is empty:
 * returns -EBUSY otherwise, 0 on success. */
int conn_table_set_seed(struct conn_table *t, uint64_t seed0, uint64_t seed1);

/* Zeroes *k (padding included) and fills it; the family is caddr's. */
void conn_key_set(struct conn_key *k, uint8_t proto, const struct ip_addr *caddr,
		  uint16_t cport, const struct ip_addr *vaddr, uint16_t vport);
/* SipHash-1-3 of all key fields with a fixed key: deterministic across runs,
 * hosts and byte orders, so it can also serve as the scheduler's flow hash.
 * For AF_INET only the first 4 address bytes count. */
uint32_t conn_key_hash(const struct conn_key *k);
int conn_key_eq(const struct conn_key *a, const struct conn_key *b);

struct conn *conn_lookup(struct conn_table *t, const struct conn_key *k);
/* Inserts a new entry for k with created_ms = last_ms = now_ms, counters 0,
 * state CONN_SYN for TCP and CONN_UDP otherwise, class CONN_C_NONE; the
 * caller fills the target.
 * NULL when the table is full or k is already present. */
struct conn *conn_insert(struct conn_table *t, const struct conn_key *k, uint64_t now_ms);
/* c must be an entry of t that is in use. */
void conn_remove(struct conn_table *t, struct conn *c);
/* No free entry left: conn_insert() would return NULL. */
bool conn_full(const struct conn_table *t);

/* Entries by service: the table counts its entries by (family, VIPA
 * address, VIPA port, protocol) as they are inserted and removed, so that a
 * reader (the metrics) needs no walk.  At most CONN_SVC_MAX keys at once (a
 * slot is free again when its count falls to 0); entries of keys beyond
 * those are counted together as "other". */
#define CONN_SVC_MAX 64

struct conn_svc {
	uint8_t family, proto;
	uint16_t vport;			/* host order */
	struct ip_addr vaddr;
	size_t n;			/* entries */
};

/* Copies the counts in use (n > 0) into out[0, max), returns how many it
 * copied; *other (may be NULL): the entries no slot counts. */
size_t conn_svc_counts(const struct conn_table *t, struct conn_svc *out, size_t max,
		       size_t *other);

/* Moves c (in use in t) to the list of cls, as the most recently seen. */
void conn_set_class(struct conn_table *t, struct conn *c, enum conn_class cls);
/* Entries of class cls in t. */
size_t conn_class_count(const struct conn_table *t, enum conn_class cls);
/* The most embryonic entries t should hold: capacity / CONN_EMBRYO_DIV, >= 1. */
size_t conn_embryo_cap(const struct conn_table *t);
/* The least recently seen entry of class cls (not NONE), or NULL. */
struct conn *conn_oldest(struct conn_table *t, enum conn_class cls);
/* A packet of c was seen at now_ms: last_ms, and c becomes the most recent
 * of its class. */
void conn_seen(struct conn_table *t, struct conn *c, uint64_t now_ms);

/* The SYN memory: a fixed array of slots, indexed and tagged by a keyed
 * hash of the flow, where a SYN routed without an entry leaves the target
 * it went to.  A newer SYN hashing to the same slot overwrites it: nothing
 * to evict, no refusal, constant memory.  conn_syn_note() records k ->
 * (target, gen); conn_syn_take() tells whether k's slot still holds k (and
 * clears it), filling *target and *gen. */
void conn_syn_note(struct conn_table *t, const struct conn_key *k, uint32_t target,
		   uint32_t gen);
bool conn_syn_take(struct conn_table *t, const struct conn_key *k, uint32_t *target,
		   uint32_t *gen);

/* Accounts one packet of len bytes seen at now_ms. */
void conn_touch(struct conn *c, uint64_t now_ms, size_t len);
/* TCP state from the client's flags only (the distributor sees one
 * direction): RST -> CLOSED; SYN -> SYN (a new connection on the same tuple);
 * FIN -> FIN; ACK without SYN while in SYN -> EST.  Non-TCP entries are left
 * alone. */
void conn_tcp_track(struct conn *c, uint8_t tcp_flags);
/* The idle timeout for c's state (embryonic: at most CONN_EMBRYO_TIMEOUT_S);
 * 0 for an unknown state. */
uint32_t conn_timeout_s(const struct conn *c, const struct conn_timeouts *to);

/* Removes entries idle longer than their timeout (now_ms - last_ms >
 * timeout), visiting at most `budget` buckets per call from a cursor kept in
 * the table, so a timer can call it often without long pauses; a budget of at
 * least conn_buckets() makes one full pass.  cb (may be NULL) sees each
 * removed entry before it is freed.  Returns the number removed. */
size_t conn_expire(struct conn_table *t, uint64_t now_ms, const struct conn_timeouts *to,
		   size_t budget, void (*cb)(const struct conn *c, void *arg), void *arg);
/* conn_expire() with a second opinion for the entries the table no longer
 * sees (c->fast: the kernel forwards their packets): such an entry past its
 * timeout is asked about, ask(c, ask_arg) giving the time its flow was last
 * seen elsewhere, or 0 when the flow is gone.  A time after last_ms keeps
 * the entry (conn_seen() at that time); 0 or an older time removes it like
 * any other.  ask NULL: conn_expire(). */
size_t conn_expire_ask(struct conn_table *t, uint64_t now_ms, const struct conn_timeouts *to,
		       size_t budget, uint64_t (*ask)(const struct conn *c, void *arg),
		       void *ask_arg, void (*cb)(const struct conn *c, void *arg), void *arg);
/* The same walk with the caller's rule: removes the entries for which
 * dead(c, arg) is true. */
size_t conn_sweep(struct conn_table *t, size_t budget,
		  bool (*dead)(const struct conn *c, void *arg), void *arg);
size_t conn_buckets(const struct conn_table *t);

/* Visits every entry, writable: for fields outside the key only. */
void conn_walk(struct conn_table *t, void (*cb)(struct conn *c, void *arg), void *arg);
/* Visits every entry (read only); stops when cb returns non-zero, and
 * returns that value (0 when all were visited). */
int conn_foreach(struct conn_table *t, int (*cb)(const struct conn *c, void *arg), void *arg);
/* Visits the entries of buckets [start, start + n) only (cb's value is
 * ignored), so that a caller may drop its lock between chunks; returns the
 * next bucket to visit, conn_buckets() when the walk is complete.  Entries inserted or removed between two calls
 * may or may not be visited; the others are visited exactly once (an entry
 * never changes bucket). */
size_t conn_foreach_chunk(struct conn_table *t, size_t start, size_t n,
			  int (*cb)(const struct conn *c, void *arg), void *arg);

#endif
