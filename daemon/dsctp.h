/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dsctp: SCTP associations across the cluster (SCTP association failover,
 * doc/architecture.md).
 *
 * - A target's worker sees its stack answer an INIT (or end an
 *   association) and pushes the event (dsctp_push, worker thread); the main
 *   thread sends it as SCTP_MSG_TAG / SCTP_MSG_GONE to every alive
 *   distributor of the VIPA (and applies it to its own table when this node
 *   is one of them): the distributors never see the target's packets.
 * - A distributor applies TAG and GONE to the association table of the
 *   SCTP worker (d->workers[0].assocs, under that worker's lock): learn the
 *   target's tag, end the association.
 * - A distributor replicates its associations (the engine's UPDATE and
 *   DELETE events) to the other distributors of the VIPA in SCTP_MSG_ASSOC
 *   messages, in the replication mode of the configuration (every update,
 *   periodic, on event), sends its whole table to a peer that comes up, and
 *   flushes what is pending at once when it lets a VIPA go (dsctp_flush,
 *   called by drepl_flush).  The receiver imports them into its live table:
 *   the node holding the alternate address routes with it now, not after a
 *   takeover. */
#ifndef CLUSTERD_DSCTP_H
#define CLUSTERD_DSCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfq/engine.h"

struct daemon;
struct subsys;

/* Before the workers start: the event ring and its eventfd.  0 or -1. */
int dsctp_open(struct daemon *d);
/* After the workers are joined. */
void dsctp_close(struct daemon *d);
/* The subsystem (daemon/subsys.h): "sctp", the SCTP_MSG_* types. */
extern const struct subsys dsctp_subsys;
/* The eventfd that wakes the main loop when a worker pushed events (-1 if
 * none); dsctp_drain handles them and resets it. */
int dsctp_wake_fd(const struct daemon *d);
void dsctp_drain(struct daemon *d);
/* Worker thread, with its table lock held: never blocks.  A full ring drops
 * the event (counted). */
void dsctp_push(struct daemon *d, const struct engine_sctp_ev *ev);
/* Replication once on impending failure: what is pending goes now (see
 * drepl_flush).  Returns the records sent. */
uint64_t dsctp_flush(struct daemon *d, const char *why);
/* Node n came up, restarted or must be resynchronised (drepl's bulk_pending
 * path, a reload): it gets our whole table (of the SCTP VIPAs we both
 * distribute) between BULK_BEGIN and BULK_END, a chunk per tick.  Nothing
 * when we share no SCTP VIPA with it. */
void dsctp_peer_up(struct daemon *d, size_t n);
/* Messages waiting for room in node n's reliable queue (a leave waits for
 * them as for drepl's backlog). */
size_t dsctp_backlog_len(const struct daemon *d, size_t n);
/* A whole table (BULK_BEGIN .. BULK_END) came from node n since its last
 * BULK_BEGIN: what a starting node may wait for before it answers unknown
 * associations with ABORTs (only nodes we share an SCTP VIPA with send
 * one). */
bool dsctp_bulk_from(const struct daemon *d, size_t n);
/* Node n distributes a VIPA with SCTP services with us: it sends us its
 * whole association table when we come up. */
bool dsctp_peer_shares(const struct daemon *d, size_t n);

#endif
