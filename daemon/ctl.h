/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl: the control socket.  One line in ("stats\n"), one JSON object out,
 * then close; up to 32 clients at once, served from the main loop without
 * blocking it, `conns` answers streamed a bounded chunk at a time as the
 * client reads them.  The commands are common/ctlproto.h's; the protocol is
 * documented in clusterctl(8). */
#ifndef CLUSTERD_CTL_H
#define CLUSTERD_CTL_H

#include <stdint.h>

#include "daemon/ctx.h"
#include "daemon/subsys.h"

struct ctl_server;

/* What the commands that act ask of the daemon: the daemon hands them in at
 * ctl_open, so the control socket calls nothing in main.c by name. */
struct ctl_ops {
	/* Reload the configuration: 0, or -1 with err (the old one stays). */
	int (*reload)(struct daemon *d, char *err, size_t errlen);
	/* Give the VIPA to its backup: 0, or -1 with err. */
	int (*failover)(struct daemon *d, const char *vipa, char *err, size_t errlen);
	/* A node was drained or undrained: rebuild the routing view. */
	void (*mark_dirty)(struct daemon *d);
};

/* Listens on path (mode 0600, a stale socket replaced). */
struct ctl_server *ctl_open(const char *path, const struct ctl_ops *ops, char *err,
			    size_t errlen);
/* An epoll fd of the listener and the clients: readable when a client
 * connects, sends its line, or can take more of its answer.  Put it in the
 * main loop's set and call ctl_serve() when it is readable. */
int ctl_fd(const struct ctl_server *s);
/* Serves what is ready, never blocking, at most one chunk of a streamed
 * answer per client per call; closes the clients whose time is up. */
void ctl_serve(struct daemon *d, struct ctl_server *s);
/* When ctl_serve() must run even if ctl_fd() stays quiet: the earliest
 * client timeout (daemon_now_ms clock), UINT64_MAX without clients. */
uint64_t ctl_next_deadline(const struct ctl_server *s);
void ctl_close(struct ctl_server *s);

/* One worker's queue, as `clusterctl stats` shows it under "workers": its
 * packet and verdict counters, its table's entries, the kernel's side of
 * the queue (/proc/net/netfilter/nfnetlink_queue). */
struct ctl_queue_stats {
	uint16_t queue;
	uint64_t packets, rewritten, accepted, dropped;
	size_t conns;
	uint64_t waiting, queue_dropped, user_dropped;
};

/* Every counter `clusterctl stats` shows, by the name it shows it under,
 * through emit (the workers' STATS_LIST totals, the tables' gauges, the
 * subsystems' stats hooks); q (NULL: not wanted) gets one row per worker,
 * d->n_workers of them.  The control socket and the metrics endpoint
 * (daemon/metrics) both read the daemon through it.  Main thread; takes
 * each worker's lock once, briefly. */
void ctl_stats_walk(struct daemon *d, subsys_emit *emit, void *arg,
		    struct ctl_queue_stats *q);

#endif
