/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view: the routing view the packet engine reads, built from the immutable
 * configuration plus what the cluster knows right now (which nodes are alive,
 * where an application listens, which nodes the operator drained).
 *
 * A view is immutable once built, except for the per-node connection counts
 * and round-robin cursors, which are atomics.  The daemon builds a new view
 * whenever an input changes and swaps it in; workers never see half a
 * change, and established connections keep the target in their entry. */
#ifndef CLUSTERD_VIEW_H
#define CLUSTERD_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/sched.h"

struct view_target {
	size_t node;			/* index into cfg->nodes */
	const char *name;
	struct ip_addr addr;		/* the node's address in the VIPA's family */
	unsigned weight;
	bool listening, alive, drained;
	bool active;			/* takes new connections */
	uint64_t name_hash;		/* of name: rendezvous hashing (view_hoff_cands) */
};

/* A service this node distributes (it is in the VIPA's distributors). */
struct view_service {
	const struct cfg_vipa *vipa;
	const struct cfg_service *svc;
	struct ip_addr vaddr;
	/* SCTP: the VIPA's alternate address (has_alt), where the same
	 * service answers; ep is the VIPA's index in cfg->vipas, the endpoint
	 * both addresses belong to (nfq/assoc's ep). */
	struct ip_addr alt;
	bool has_alt;
	uint32_t ep;
	uint16_t port, tport;
	uint8_t proto;
	enum cfg_sched sched;
	struct view_target *targets;	/* every candidate of this distributor */
	size_t n_targets;
	struct sched_target *active;	/* the active ones, id = index in targets */
	size_t n_active;
	struct sched_maglev *maglev;	/* over active[] */
	/* Handoff: the targets of the service's rules that are not in
	 * targets[], with the same state; candidates of a rule only, never
	 * of the scheduler. */
	struct view_target *rtargets;
	size_t n_rtargets;
	uint64_t rr;			/* round-robin cursor (atomic) */
	/* Every candidate that may be alive has been heard from: the active
	 * set is the real one, not a node's first guess after a start.  Until
	 * then a Maglev table may lack a target that serves established
	 * flows, so mid-flow packets are not adopted by it. */
	bool settled;
};

/* A service this node is a target of (by any list: the service's, a
 * distributor's own, a handoff rule's): replies from tport go out as
 * vaddr:port. */
struct view_rev {
	uint8_t family, proto;
	uint16_t tport, port;
	struct ip_addr vaddr;
	struct ip_addr alt;	/* SCTP: the VIPA's alternate address, if has_alt */
	bool has_alt;
	uint32_t ep;		/* the VIPA's index in cfg->vipas */
	bool handoff;		/* the service hands off: its replies need the per-connection
				 * translation (sequence, timestamps, window) */
};

struct view {
	const struct cfg *cfg;
	uint64_t generation;
	/* Bumped by every reload: tells configurations apart where a pointer
	 * cannot (a freed one's address comes back). */
	uint64_t cfg_gen;
	struct view_service *svcs;
	size_t n_svcs;
	struct view_rev *revs;
	size_t n_revs;
	uint32_t *node_conns;		/* active connections per node (atomic) */
	size_t n_nodes;
};

struct view_input {
	const struct cfg *cfg;
	long self;
	const bool *alive;		/* [n_nodes] */
	const bool *drained;		/* [n_nodes] */
	/* Does node n have an application on (family, proto, port)? */
	bool (*listening)(void *arg, size_t node, uint8_t family, uint8_t proto, uint16_t port);
	/* Has node n told us where it listens since we started?  NULL: all. */
	bool (*heard)(void *arg, size_t node);
	void *arg;
	const struct view *prev;	/* connection counts carry over when the cfg is the same */
	uint64_t generation;
	uint64_t cfg_gen;		/* which configuration cfg is, never reused */
};

struct view *view_build(const struct view_input *in);
void view_free(struct view *v);

/* The service of (family, proto) whose VIPA, or for SCTP whose VIPA's
 * alternate address, is daddr with port dport; NULL when none. */
const struct view_service *view_find_service(const struct view *v, uint8_t family, uint8_t proto,
					     const struct ip_addr *daddr, uint16_t dport);
const struct view_rev *view_find_rev(const struct view *v, uint8_t family, uint8_t proto,
				     uint16_t sport);

/* Picks a target for a new flow with the given hash; NULL when none is active. */
const struct view_target *view_pick(const struct view_service *s, const struct view *v,
				    uint32_t flow_hash);

/* The candidates for a handed-off request: the nodes of list (rule targets; NULL/0: every
 * target of s) that are active in s, ordered by rendezvous hashing of (hash, node name) with
 * their weights, at most max.  nodes[i]: node index; addrs[i]: its address in the VIPA's
 * family.  Returns the count.
 *
 * Each node scores weight / -ln(u), u uniform in (0, 1) from (hash, name): a node wins
 * with a chance proportional to its weight, and a node that goes or comes moves only the
 * requests it wins.  Ties (equal scores) go to the lower node index.  The weights are
 * list's (a rule's own) when given, else the targets'. */
size_t view_hoff_cands(const struct view_service *s, const struct cfg_target *list, size_t n,
		       uint32_t hash, uint32_t *nodes, struct ip_addr *addrs, size_t max);

void view_conn_inc(const struct view *v, size_t node);
void view_conn_dec(const struct view *v, size_t node);

#endif
