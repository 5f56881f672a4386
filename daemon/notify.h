/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: systemd's notification protocol, spoken by the daemon itself (no
 * libsystemd; the pure parts are common/sdnotify).  Without $NOTIFY_SOCKET
 * every call here does nothing.
 *
 *   READY=1 (with STATUS=)  once: from the main loop, when the node is ready
 *                           (d->ready: the peers' tables, or the grace) and
 *                           start-up is over (workers running, queues bound,
 *                           rules installed when manage_rules);
 *   STATUS=                 the node's role, when its text changes (looked
 *                           at every NOTIFY_STATUS_MS);
 *   RELOADING=1 + MONOTONIC_USEC=, then READY=1   around a reload once
 *                           READY was sent (a refusal goes in STATUS=);
 *   STOPPING=1              when SIGTERM/SIGINT starts the leave;
 *   WATCHDOG=1              every $WATCHDOG_USEC / 2 (when $WATCHDOG_PID is
 *                           unset or ours) while every worker makes
 *                           progress: it went round its loop since the last
 *                           look, or it is blocked waiting for packets.
 *
 * Datagrams are sent non-blocking; a failure is counted and logged once per
 * run of failures, never retried.  Counters under "notify." in `clusterctl
 * stats`. */
#ifndef CLUSTERD_NOTIFY_H
#define CLUSTERD_NOTIFY_H

#include <stddef.h>

struct daemon;
struct subsys;

/* Reads (and unsets: no child inherits them) $NOTIFY_SOCKET, $WATCHDOG_USEC
 * and $WATCHDOG_PID, opens the socket.  Never fatal: a bad value is logged
 * and that part is off.  Call after daemon() (the pid must be final). */
void notify_open(struct daemon *d);
void notify_close(struct daemon *d);

/* The main loop, every pass: sends READY=1 the first time the node is ready
 * and started. */
void notify_ready(struct daemon *d);
/* Around a reload (daemon_reload): RELOADING=1 before; READY=1 after, with
 * the refusal (err, NULL when it succeeded) in STATUS=. */
void notify_reloading(struct daemon *d);
void notify_reloaded(struct daemon *d, const char *err);
/* The leave begins. */
void notify_stopping(struct daemon *d);

/* The subsystem: its tick runs the watchdog and the status timers, its
 * stats show the counters. */
extern const struct subsys notify_subsys;

#endif
