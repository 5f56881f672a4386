/* SPDX-License-Identifier: GPL-2.0-or-later */
/* peer: everything this node keeps about one other node (and a slot for
 * itself), in one place, indexed like cfg->nodes and keyed once: by name
 * (what the configuration says) and wire id (what datagrams say).
 *
 * A reload maps the old peers to the new configuration's nodes by name, in
 * one function (peer_table_prepare): a node that stays keeps its channels,
 * replay window, membership, drain flag, replication backlog and last
 * configuration digest whatever its new index; a new node gets fresh
 * channels; a removed one is freed.
 * The prepare step allocates and changes nothing live; commit moves and
 * cannot fail; abort frees what prepare made.  No sockets: unit-tested. */
#ifndef CLUSTERD_PEER_H
#define CLUSTERD_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfgdigest.h"
#include "common/config.h"
#include "common/member.h"
#include "sync/reliable.h"
#include "sync/wire.h"

struct drepl_body;	/* daemon/drepl.c */
struct subsys;

/* Replication messages waiting for room in the peer's reliable queue,
 * oldest first (a ring; daemon/drepl.c fills and drains it). */
struct peer_backlog {
	struct drepl_body *q;
	size_t head, n, cap;
	unsigned bulk_asks;	/* incomplete bulks from that node asked again */
};

struct peer {
	const char *name;	/* the configuration's cfg->nodes[i].name */
	uint32_t id;		/* wire_node_id(name) */
	bool self;		/* this node's own slot: no channel */

	/* What its heartbeats say (listeners, flags, claims). */
	struct member_node mn;
	bool drained;		/* clusterctl drain: no new flows to it */

	/* Sync (daemon/dsync.c).  The highest boot epoch of the peer seen in
	 * an authenticated datagram addressed to us (0: none yet), sent back
	 * as recipient_epoch; never lowered.  hb_soon: it just grew, send the
	 * peer a heartbeat now.  path_max: the largest datagram every path to
	 * the peer carries (adapter MTUs in the CDAT), as last logged; 0 = not
	 * yet. */
	struct wire_replay replay;
	struct rel_tx *tx;
	struct rel_rx *rx;
	uint64_t epoch_seen;
	bool hb_soon;
	size_t path_max;

	/* Configuration agreement (daemon/dsync.c): the digest of the shared
	 * configuration its last heartbeat carried (cfg_known: it carried one;
	 * a node that sends none stays unknown), and the agreement last
	 * reported in the log (enum dsync_cfg_agree), so that a change is
	 * logged once. */
	uint8_t cfg_digest[CFGDIGEST_LEN];
	bool cfg_known;
	uint8_t cfg_logged;

	/* Replication (daemon/drepl.c): send it our whole table; a complete
	 * bulk came from it; what waits for its channel. */
	bool bulk_pending, bulk_from;
	struct peer_backlog backlog;
};

/* A new peer table for nc, prepared against the live one. */
struct peer_prep {
	struct peer *v;		/* [n], new slots; carried state moves in at commit */
	size_t n;
	long *from;		/* [n]: index of the same node in the old table, or -1 */
	bool *moved;		/* [n_old]: carried into the new table */
};

/* The reliable channel's timers for a configuration (heartbeat_ms). */
void peer_rel_cfg(const struct cfg *c, struct rel_cfg *rc);

/* Prepares the table for nc from old[0..n_old): the mapping by name and a
 * fresh channel (epoch: our boot epoch) for every node that needs one.
 * 0, or -1 with err set (out of memory); old is not touched. */
int peer_table_prepare(const struct peer *old, size_t n_old, const struct cfg *nc,
		       uint64_t epoch, struct peer_prep *p, char *err, size_t len);
/* Moves the state of the nodes that stay into the prepared table, frees the
 * rest of the old one and makes the prepared table live (*live, *n_live). */
void peer_table_commit(struct peer **live, size_t *n_live, struct peer_prep *p);
/* Frees what peer_table_prepare made. */
void peer_table_abort(struct peer_prep *p);
/* Frees a live table and everything its peers hold. */
void peer_table_free(struct peer *v, size_t n);

/* The index of the peer with that wire id / name, or -1. */
long peer_by_id(const struct peer *v, size_t n, uint32_t id);
long peer_by_name(const struct peer *v, size_t n, const char *name);

/* A heartbeat from p arrived, with its listeners. */
void peer_heard(struct peer *p, uint64_t epoch, uint64_t now_ms, const struct member_listen *l,
		size_t nl);
/* Its last heartbeat says it listens there. */
bool peer_listening(const struct peer *p, uint8_t family, uint8_t proto, uint16_t port);

/* The peer table (d->peers, d->n_peers) as a subsystem (daemon/subsys.h):
 * first in the daemon's table, so that the others commit after it. */
extern const struct subsys peer_subsys;

#endif
