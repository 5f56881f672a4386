/* SPDX-License-Identifier: GPL-2.0-or-later */
/* replicate: the connection table travels to the other distributors of a
 * VIPA, so that a backup can take the VIPA over without losing a connection
 * (takeover, doc/architecture.md).
 *
 * - Workers log what their tables do (daemon/connlog); the main thread
 *   drains the logs into UPDATE messages for every other distributor of
 *   the VIPA concerned (mode every-update: as soon as a worker logs, its
 *   eventfd waking the event loop;
 *   periodic: every sync.interval_ms; on-event: only established, closing
 *   and removed connections), over the reliable channel.  Embryonic entries
 *   (a SYN's, round-robin and least-conn) never travel: the engine logs an
 *   entry once its handshake completed, and bulks skip them.  Whatever the
 *   mode, what is pending goes at once when this node lets a VIPA go
 *   (drepl_flush: SIGTERM, clusterctl failover, a release).
 * - A node that comes up or restarts gets a bulk: the whole table (the
 *   workers' entries and the replicas not adopted yet) between BULK_BEGIN
 *   and BULK_END; the receiver sweeps what the dump did not repeat.  A
 *   starting distributor is ready (may take its VIPAs back) once the
 *   distributor of its VIPAs has sent it a complete bulk.
 * - A new distributor asks the targets to report the connections they hold
 *   for the VIPA (sock_diag): what replication missed is rebuilt from them.
 * - Workers adopt a replica the first time a packet of its flow arrives. */
#ifndef CLUSTERD_REPLICATE_H
#define CLUSTERD_REPLICATE_H

#include "daemon/ctx.h"

/* The replica store (sized at start: conn_max and the worker count). */
int drepl_init(struct daemon *d);
void drepl_fini(struct daemon *d);
/* The subsystem (daemon/subsys.h): "repl", the REPL_MSG_* types. */
extern const struct subsys drepl_subsys;
/* Drains the workers' logs, sends bulks and backlogs; lowers *next to when
 * it must run again. */
void drepl_tick(struct daemon *d, uint64_t *next);
/* Replication once on impending failure: what the workers logged and did
 * not send yet (periodic mode holds it up to interval_ms) goes now, in
 * UPDATEs to the reliable queues (or backlogs) of the live peers, which a
 * leave waits to see acknowledged.  Called where this node lets a VIPA go:
 * SIGTERM (before the heartbeat that says we leave), clusterctl failover
 * (before the one that says we yield), a release.  why: for the log.
 * Counted (sync.repl.flushes, sync.repl.flush_records); returns the records
 * sent (one per record and peer). */
uint64_t drepl_flush(struct daemon *d, const char *why);
/* This node now distributes VIPA i: ask its targets for their connections. */
void drepl_request_reports(struct daemon *d, size_t vipa);
/* Worker callbacks (engine hooks). */
bool drepl_find_replica(void *worker, const struct conn_key *k, struct conn *out);
void drepl_conn_event(void *worker, int kind, const struct conn *c);
size_t drepl_replicas(struct daemon *d);
/* Messages waiting for room in node n's reliable queue. */
size_t drepl_backlog_len(const struct daemon *d, size_t n);

#endif
