/* SPDX-License-Identifier: GPL-2.0-or-later */
/* assoc: the SCTP association table of one distributor worker (DESIGN.md,
 * "SCTP association failover").  Pure: no locks (the owning worker
 * serialises calls), no clock (time is a parameter), no logging, allocation
 * only in assoc_table_new().
 *
 * The distributor sees one direction only: the client's INIT (verification
 * tag 0, the client's Initiate Tag itag_c inside), then every later packet
 * with the target's Initiate Tag itag_t as its verification tag, which it
 * learns only from the target's clusterd (assoc_learn).  Entries are keyed
 * by ports and tags, never by addresses, so every path of a multihomed peer
 * (to the VIPA or to its alternate address) finds the same association:
 *   - the tag index: (ep, ports, itag_t), established and closed entries;
 *   - the client-tag index: (ep, ports, itag_c), every entry whose itag_c
 *     is known (an INIT's entry; the T-bit ABORT and SHUTDOWN-COMPLETE,
 *     whose verification tag is the client's own);
 *   - the path index: (ep, ports, client address) of established entries
 *     only.  It never routes a packet: it only tells a new INIT (a restart,
 *     RFC 9260 5.2.4, or an INIT collision) from the INIT of another client
 *     that happens to use the same ports.
 * ep is the caller's id of the endpoint (the VIPA's index, the same for the
 * VIPA and its alternate address; 0 when there is one), so that two VIPAs
 * never share an association.
 *
 * Memory is a fixed pool, and state from the network is cheap to refuse.
 * An INIT entry is as cheap to forge as a SYN, and so is an established
 * entry that is not confirmed yet: the target's stack answers every INIT
 * (statelessly, with a State Cookie), so a flood of spoofed INITs makes its
 * clusterd report a tag for each (assoc_learn).  Such an entry is
 * UNCONFIRMED until the client shows it has the association: a packet whose
 * verification tag is the entry's itag_t (assoc_seen: the COOKIE ECHO or
 * anything later), which a spoofer never sees, or a peer's record saying so
 * (assoc_confirm); then it has ASSOC_F_CONFIRMED.  Unconfirmed entries route
 * exactly like confirmed ones.  "Pending" entries (INIT and unconfirmed
 * ones) share one cap (init_cap) and one age list: the oldest is evicted
 * for a new one at the cap; they expire after the INIT timeout.  When the
 * pool is full, closed entries are evicted first, then pending ones; a
 * confirmed association is never evicted (only removed, ended or expired
 * after the established timeout). */
#ifndef CLUSTERD_ASSOC_H
#define CLUSTERD_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define ASSOC_PATHS		4		/* client addresses remembered per association */
#define ASSOC_NO_TARGET		UINT32_MAX	/* no target chosen / known */
#define ASSOC_TABLE_MAX		(1u << 22)	/* largest pool assoc_table_new() accepts */
#define ASSOC_INIT_DIV		4		/* default INIT cap: capacity / 4 (>= 1) */

/* The client's and the VIPA's ports (host order) of an endpoint ep. */
struct assoc_ports {
	uint32_t ep;
	uint16_t cport, vport;
};

enum assoc_state {
	ASSOC_FREE = 0,		/* internal: a pool slot not in use */
	ASSOC_INIT,		/* an INIT was routed; the target's tag not known yet */
	ASSOC_EST,		/* both tags known (itag_c may be 0: see ASSOC_F_TGT_INIT);
				 * unconfirmed until ASSOC_F_CONFIRMED */
	ASSOC_CLOSED,		/* ABORT or SHUTDOWN-COMPLETE seen: kept briefly for late packets */
};

/* flags */
#define ASSOC_F_RESTART		0x01	/* made by an INIT that restarts an older association */
#define ASSOC_F_COLLISION	0x02	/* an INIT of the client met an association the target began */
#define ASSOC_F_TGT_INIT	0x04	/* learned without the client's INIT (itag_c may be 0) */
#define ASSOC_F_RETARGET	0x08	/* a learn named another target than the INIT went to */
/* The client showed it has the association (an established or closed
 * entry): set by assoc_seen() and assoc_confirm() only (never by hand: the
 * table's class and counters would not follow), never cleared; replication
 * carries it (an importer that receives it calls assoc_confirm()). */
#define ASSOC_F_CONFIRMED	0x10

struct assoc {
	struct assoc_ports p;
	uint32_t itag_c;	/* the client's Initiate Tag; 0: not known yet */
	uint32_t itag_t;	/* the target's Initiate Tag; 0 while ASSOC_INIT */
	uint32_t target;	/* node id; ASSOC_NO_TARGET until set (by the caller after
				 * ASSOC_I_NEW, or by a learn that names one) */
	/* The itag_t of an older association of the same ports that this one
	 * restarts or re-tags (0: none).  The older one is removed by
	 * assoc_seen() when a packet with this entry's itag_t shows that the
	 * peer moved on; until then both route. */
	uint32_t replaces;
	uint8_t state;		/* enum assoc_state */
	uint8_t flags;		/* ASSOC_F_* */
	uint8_t n_paths;
	struct ip_addr paths[ASSOC_PATHS];	/* client addresses seen, first one first */
	uint64_t created_ms, est_ms, last_ms;	/* est_ms: 0 until ASSOC_EST */
	uint64_t packets, bytes;		/* counted by assoc_seen() */
	uint32_t inits;		/* INITs seen for it (1 + retransmissions) */

	/* Internal to the table. */
	struct assoc *tnext, **tpprev;		/* tag index */
	struct assoc *cnext, **cpprev;		/* client-tag index */
	struct assoc_pnode {
		struct assoc_pnode *next, **pprev;	/* path index (ASSOC_EST only) */
		struct assoc *owner;
	} pn[ASSOC_PATHS];
	struct assoc *lprev, *lnext;		/* pending or closed age list, oldest first */
	uint8_t lk;				/* which age list: 0 none, else list + 1 */
	uint32_t hinted;			/* INIT entry: the tag of a packet routed by
						 * its hint (assoc_hinted), 0: none */
};

struct assoc_timeouts {
	uint32_t init_s, est_s, closed_s;
};

/* Events of the table an operator may want counted (cumulative). */
struct assoc_counters {
	uint64_t evicted_init;		/* INIT entries evicted for newer ones */
	uint64_t evicted_unconfirmed;	/* unconfirmed established entries evicted */
	uint64_t confirmed;		/* established entries confirmed */
	uint64_t evicted_closed;	/* closed entries evicted to make room */
	uint64_t full;			/* refusals: nothing evictable */
	uint64_t replaced;		/* older associations removed by a restart */
	uint64_t expired;		/* removed by assoc_expire() */
};

struct assoc_table;

/* A pool of max entries (1 .. ASSOC_TABLE_MAX) of which at most init_cap
 * (0: max / ASSOC_INIT_DIV, at least 1; above max: max) are pending: INIT
 * entries and unconfirmed established ones together.  NULL on bad sizes or
 * out of memory. */
struct assoc_table *assoc_table_new(size_t max, size_t init_cap);
void assoc_table_free(struct assoc_table *t);
/* Keys the hashes with a secret (e.g. from getrandom()) so that peers
 * cannot aim tags or ports at one chain.  Only while the table is empty:
 * -EBUSY otherwise, 0 on success. */
int assoc_table_set_seed(struct assoc_table *t, uint64_t seed0, uint64_t seed1);
size_t assoc_count(const struct assoc_table *t);
size_t assoc_count_state(const struct assoc_table *t, enum assoc_state s);
size_t assoc_capacity(const struct assoc_table *t);
size_t assoc_init_cap(const struct assoc_table *t);
/* Established entries not confirmed yet (counted in ASSOC_EST too). */
size_t assoc_count_unconfirmed(const struct assoc_table *t);
const struct assoc_counters *assoc_counters(const struct assoc_table *t);
/* The tag-index bucket of (p, tag): only for tests and diagnostics. */
size_t assoc_bucket(const struct assoc_table *t, const struct assoc_ports *p, uint32_t tag);
size_t assoc_buckets(const struct assoc_table *t);

/* --- an INIT from the client (verification tag 0) --- */

enum assoc_init_res {
	ASSOC_I_NEW = 0,	/* a new INIT entry; the caller picks the target and sets ->target
				 * (or removes the entry when it has none) */
	ASSOC_I_RETRANS,	/* an entry with this itag_c exists (INIT or established): same target */
	ASSOC_I_RESTART,	/* a new INIT entry for a restart of the established association of
				 * these ports and client address: ->target is the old one's */
	ASSOC_I_COLLISION,	/* the established association the target began with this client
				 * (itag_c unknown) now knows itag_c: same target */
	ASSOC_I_FULL,		/* no room: nothing evictable (NULL returned) */
	ASSOC_I_BAD,		/* itag_c 0 is invalid (RFC 9260 3.3.2): NULL returned */
};

/* An INIT with Initiate Tag itag_c from client address src at now_ms.
 * Returns the entry the INIT goes with and *res says how it was found.
 * src (may be NULL: then no restart or collision is recognised) is matched
 * against the paths of the established associations of these ports: a
 * restart or a collision is recognised only from an address the
 * association was seen from (or, for one the target began, the address the
 * target's INIT went to).  On ASSOC_I_RESTART the caller should check that
 * ->target still serves, and pick another one (and clear ->replaces)
 * otherwise.
 * A new entry may evict the oldest pending entry (INIT or unconfirmed, at
 * the cap) or, in a full pool, the oldest closed one, then the oldest
 * pending one; never a confirmed one.  A closed entry is not matched (a new
 * association). */
struct assoc *assoc_init(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			 const struct ip_addr *src, uint64_t now_ms, enum assoc_init_res *res);
/* The newest entry (any state but closed) with this itag_c, or NULL; no change. */
struct assoc *assoc_find_init(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c);

/* --- the target's clusterd told its tag --- */

enum assoc_learn_res {
	ASSOC_L_EST = 0,	/* the INIT entry of itag_c became established */
	ASSOC_L_CREATED,	/* no INIT entry (evicted, never seen, or the target began the
				 * association: itag_c 0): a new established entry for target */
	ASSOC_L_RETAG,		/* an established association of itag_c had another itag_t (an INIT
				 * answered while established): a new entry that replaces it */
	ASSOC_L_DUP,		/* (p, itag_t) already known: nothing new (itag_c filled if it was 0) */
	ASSOC_L_UNKNOWN,	/* nothing to learn into and target was ASSOC_NO_TARGET: NULL */
	ASSOC_L_FULL,		/* no room for a new entry: NULL */
	ASSOC_L_BAD,		/* itag_t 0: NULL */
};

/* The target's Initiate Tag itag_t for the client's itag_c (0: the target
 * began the association and only its INIT was seen leaving).  target (the
 * node that told, or ASSOC_NO_TARGET) is authoritative: it replaces the
 * target an INIT entry had (ASSOC_F_RETARGET).  client (may be NULL): the
 * client's address as the target saw it, recorded as a path.  The entry
 * (ASSOC_L_EST, _CREATED, _RETAG) is established but unconfirmed, unless a
 * packet with tag itag_t was already routed by its INIT entry's hint
 * (assoc_hinted): then confirmed at once.  ASSOC_L_DUP changes no entry's
 * class.  A new entry is pending: at the cap it evicts the oldest pending
 * entry, in a full pool a closed one, else the oldest pending one; never a
 * confirmed one.  An importer of a record with ASSOC_F_CONFIRMED calls
 * assoc_confirm() on the entry returned (any result but NULL). */
struct assoc *assoc_learn(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			  uint32_t itag_t, uint32_t target, const struct ip_addr *client,
			  uint64_t now_ms, enum assoc_learn_res *res);
/* Fills an established entry's unknown itag_c (from the client's INIT-ACK
 * in a collision); -EEXIST if a is not established or itag_c is already set,
 * -EINVAL for 0. */
int assoc_set_itag_c(struct assoc_table *t, struct assoc *a, uint32_t itag_c);

/* --- any other packet from the client --- */

enum assoc_find {
	ASSOC_HIT = 0,		/* *out is the association */
	ASSOC_UNKNOWN_TAG,	/* no such tag, but an INIT of these ports waits for its learn:
				 * likely a COOKIE-ECHO that overtook it (hold it, or route it to
				 * the hint); may be a false positive (hashed ports) */
	ASSOC_NONE,		/* no state (ABORT with the M-bit, RFC 9260 3.3.7 / NAT draft) */
};

/* A packet of p with verification tag vtag; tbit: its ABORT or
 * SHUTDOWN-COMPLETE chunk has the T bit, so vtag is the client's own tag
 * (matched against itag_c).  *out the entry on ASSOC_HIT (else NULL);
 * *hint (may be NULL) the target of the newest INIT of these ports on
 * ASSOC_UNKNOWN_TAG, else ASSOC_NO_TARGET.  vtag 0 (an INIT's) is NONE:
 * INITs go to assoc_init().  No change to the table. */
enum assoc_find assoc_lookup(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag,
			     bool tbit, struct assoc **out, uint32_t *hint);

/* A packet of len bytes with verification tag vtag from client address src
 * (may be NULL) was routed with a at now_ms: counters, last_ms, src added
 * to the paths (up to ASSOC_PATHS).  vtag equal to a's itag_t (a is
 * established) confirms a (ASSOC_F_CONFIRMED; the caller sees the flag
 * appear and replicates the entry); no other tag does.  When a replaces an
 * older association and vtag is a's itag_t (the peer uses the new tags),
 * the older one is removed: copied to *old (may be NULL) first; returns
 * true then. */
bool assoc_seen(struct assoc_table *t, struct assoc *a, uint32_t vtag, const struct ip_addr *src,
		size_t len, uint64_t now_ms, struct assoc *old);
/* A peer's record says that the client has association a: it becomes
 * confirmed, as assoc_seen() with its itag_t would make it, without
 * touching counters or times.  1: it was not confirmed and now is (an
 * established entry leaves the pending class; a closed one only takes the
 * flag); 0: already confirmed; -EINVAL: a is not an established or closed
 * entry of t (an INIT entry has no itag_t to confirm). */
int assoc_confirm(struct assoc_table *t, struct assoc *a);
/* assoc_lookup() said ASSOC_UNKNOWN_TAG for a packet of p with tag vtag and
 * the caller routed it by the hint (a COOKIE ECHO that overtook the
 * target's report): the newest INIT entry of p remembers vtag, and the
 * learn that brings that very itag_t confirms the entry at once, as the
 * packet would have.  A spoofer, who never sees itag_t, matches it by
 * chance only (2^-32 a try).  No-op when no INIT entry of p waits or vtag
 * is 0. */
void assoc_hinted(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag);
/* Adds a client address to a's paths (a no-op when known or when there is
 * no room); true when added. */
bool assoc_add_path(struct assoc_table *t, struct assoc *a, const struct ip_addr *addr);
/* ABORT or SHUTDOWN-COMPLETE: a becomes ASSOC_CLOSED (evictable, expires
 * after closed_s) and still routes late packets of its tags. */
void assoc_end(struct assoc_table *t, struct assoc *a, uint64_t now_ms);
/* a must be an entry of t in use; otherwise nothing happens. */
void assoc_remove(struct assoc_table *t, struct assoc *a);

/* Removes entries idle longer than their class's timeout (now_ms - last_ms
 * > timeout * 1000: init_s for INIT and unconfirmed entries, est_s for
 * confirmed ones, closed_s for closed ones; a clock gone back expires
 * nothing), visiting at most budget pool slots per call from a cursor kept
 * in the table, so a timer may call it often without long pauses; a
 * budget of assoc_slots() makes a full pass.  cb (may be NULL) sees each
 * entry before it goes.  Returns the number removed. */
size_t assoc_expire(struct assoc_table *t, uint64_t now_ms, const struct assoc_timeouts *to,
		    size_t budget, void (*cb)(const struct assoc *a, void *arg), void *arg);

/* A reload renumbered the VIPAs or the nodes (their indexes in the
 * configuration).  What assoc_remap() did. */
struct assoc_remap_res {
	size_t moved;		/* entries whose ep changed (re-keyed in every index) */
	size_t removed;		/* entries whose VIPA is gone */
	size_t retargeted;	/* entries whose target's index changed */
	size_t untargeted;	/* entries whose target is gone (now ASSOC_NO_TARGET) */
};

/* Every entry's ep becomes ep_map[ep] and its target node_map[target]
 * (ASSOC_NO_TARGET stays).  An ep at or above n_ep, or mapped to
 * UINT32_MAX, is a VIPA that is gone: the entry is removed.  A target at or
 * above n_node, or mapped to ASSOC_NO_TARGET, is gone: the entry stays,
 * without a target.  A NULL map is the identity.  The map of the eps must
 * be one to one (two old VIPAs never become one).  State, tags, paths,
 * counters, times, flags and the age lists (eviction order, the pending
 * class) are kept; entries of the same key keep their order.  No
 * allocation; O(pool slots ever used).  res (may be NULL): what changed. */
void assoc_remap(struct assoc_table *t, const uint32_t *ep_map, size_t n_ep,
		 const uint32_t *node_map, size_t n_node, struct assoc_remap_res *res);

/* A renumbering the table takes later, when its owner takes the numbering
 * it leads to: the table's numbering must stay that of the routing the
 * owner does, while the one who staged it already uses the new one (a
 * reload's commit on the main thread, the worker taking the new view
 * later).  In between, numbers cross with assoc_remap_fwd/_back.  The plan
 * is the caller's (maps included): it must stay whole and unchanged until
 * applied (assoc_remap_staged() no longer returns it or an earlier one) or
 * until the table is freed. */
struct assoc_remap_plan {
	const uint32_t *ep_map;		/* as assoc_remap()'s; NULL: the identity */
	size_t n_ep;
	const uint32_t *node_map;
	size_t n_node;
	uint64_t gen;		/* the caller's name of the numbering it leads to (rising) */
	struct assoc_remap_res res;	/* what it did, once applied */
	struct assoc_remap_plan *next;	/* the table's: plans staged after it */
};

/* Queues p behind the plans staged before (p->next and p->res are reset). */
void assoc_remap_stage(struct assoc_table *t, struct assoc_remap_plan *p);
/* Applies, in order, every staged plan whose gen is at most gen; returns
 * how many. */
size_t assoc_remap_take(struct assoc_table *t, uint64_t gen);
/* The oldest plan not applied yet (the others follow through ->next), or
 * NULL: the table has the numbering of the last plan staged. */
const struct assoc_remap_plan *assoc_remap_staged(const struct assoc_table *t);
/* An ep and a node index (either pointer may be NULL; ASSOC_NO_TARGET
 * stays) of the table's numbering in the numbering of the last staged
 * plan.  false when the ep's VIPA is gone; a node that is gone becomes
 * ASSOC_NO_TARGET. */
bool assoc_remap_fwd(const struct assoc_table *t, uint32_t *ep, uint32_t *node);
/* The reverse: an ep and a node of the last staged plan's numbering in the
 * table's.  false when one of them (the node unless ASSOC_NO_TARGET) has
 * no number there (a VIPA or a node the reload added). */
bool assoc_remap_back(const struct assoc_table *t, uint32_t *ep, uint32_t *node);

/* Iteration in pool order, for dumps and bulk replication: visits the
 * entries in use of slots [start, start + n) (cb's value is ignored) and
 * returns the next slot, assoc_slots() when done, so a caller may pause
 * between chunks.  An entry never moves: entries neither added nor removed
 * meanwhile are visited exactly once. */
size_t assoc_foreach_chunk(struct assoc_table *t, size_t start, size_t n,
			   void (*cb)(const struct assoc *a, void *arg), void *arg);
/* The end of the pool slots ever used (iteration bound). */
size_t assoc_slots(const struct assoc_table *t);

#endif
