/* SPDX-License-Identifier: GPL-2.0-or-later */
/* roles: who distributes each VIPA (takeover, doc/architecture.md).  Pure functions
 * over a snapshot the daemon fills from what it knows: the configuration,
 * per node whether it is alive (CDAT), heard, ready or leaving, and per
 * node and VIPA whether it claims or yields it.
 *
 * The rule.  A node is ready when it holds the replicated tables and is not
 * leaving; a peer counts as ready only once heard (its heartbeat said
 * READY, not LEAVING).  The distributor of a VIPA is the first node of its
 * list that is alive, ready and does not yield it (clusterctl failover).
 * With preempt = false a node of the list that already claims the VIPA
 * (alive, not yielding) keeps it, the first such in list order, so both
 * sides of a healed partition pick the same one.  Our own claim ends the
 * moment we leave.  Every node computes this from the same inputs carried
 * by heartbeats, so after a change every node agrees within a heartbeat:
 * a starting backup (not ready) never grabs a VIPA its primary holds, and
 * a restarted primary takes its VIPAs back only once ready.
 *
 * A starting node becomes ready (roles_ready) once every alive node of its
 * VIPAs' lists that claims one of them has sent it a complete table, or
 * after one dead interval ((retry + 1) heartbeats) when none claims, or
 * after ROLES_READY_MAX_MS whatever happens: a peer that never sends its
 * table must not keep a VIPA from its primary for ever. */
#ifndef CLUSTERD_ROLES_H
#define CLUSTERD_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define ROLES_READY_MAX_MS 10000

/* What one node looks like.  For cfg->self: alive and heard are not read
 * (we are alive and know ourselves), ready and leaving are our own state,
 * bulk is not read.  For a peer: ready and leaving are the WIRE_F_READY
 * and WIRE_F_LEAVING flags of its last heartbeat, bulk that a complete
 * table came from it since it (or we) started. */
struct roles_node {
	bool alive;	/* some address of it answers (CDAT) */
	bool heard;	/* a heartbeat from it since we started */
	bool ready, leaving, bulk;
};

/* Per node and VIPA: self: the address is on our interface / we gave it
 * away; peer: its heartbeats list it as owned / yielded. */
#define ROLES_CLAIMS 0x1u
#define ROLES_YIELDS 0x2u

struct roles_snap {
	const struct cfg *cfg;		/* vipas[].dists and preempt, self (listed:
					 * >= 0), heartbeat_ms and retry_threshold */
	const struct roles_node *nodes;	/* [cfg->n_nodes] */
	const uint8_t *bits;		/* [cfg->n_vipas * cfg->n_nodes]: VIPA v, node n
					 * at bits[v * n_nodes + n], ROLES_* */
};

/* The node that distributes VIPA vipa, never `skip` (-1: none), or -1 when
 * no node of its list qualifies.  skip = the owner gives its backup. */
long roles_pick(const struct roles_snap *s, size_t vipa, long skip);

static inline long roles_owner(const struct roles_snap *s, size_t vipa)
{
	return roles_pick(s, vipa, -1);
}

/* An alive peer claims VIPA vipa (whatever the rule says): when the rule
 * gives it to us, announce it again (after a partition the router may have
 * learnt the other node's MAC). */
bool roles_contested(const struct roles_snap *s, size_t vipa);

enum roles_ready {
	ROLES_READY_ALREADY,	/* nothing to decide: self is ready */
	ROLES_READY_LEAVING,	/* nothing to decide: self leaves, never ready */
	ROLES_WAIT_TABLE,	/* a claiming distributor has not sent its table */
	ROLES_WAIT_GRACE,	/* none claims: one dead interval in case one does */
	ROLES_READY_TABLE,	/* every claiming distributor sent its table */
	ROLES_READY_GRACE,	/* none claimed for a dead interval */
	ROLES_READY_FORCED,	/* ROLES_READY_MAX_MS passed still waiting */
};

/* The starting node's ready decision at now_ms, having started at
 * start_ms (same clock).  While waiting lowers *next (if next) to the time
 * the answer changes unless a message changes it first. */
enum roles_ready roles_ready(const struct roles_snap *s, uint64_t start_ms, uint64_t now_ms,
			     uint64_t *next);

/* The decision became "ready" (ROLES_READY_TABLE, _GRACE or _FORCED). */
static inline bool roles_ready_now(enum roles_ready r)
{
	return r == ROLES_READY_TABLE || r == ROLES_READY_GRACE || r == ROLES_READY_FORCED;
}

/* For logs: "table received", ... */
const char *roles_ready_str(enum roles_ready r);

#endif
