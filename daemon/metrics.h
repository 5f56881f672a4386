/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics: the Prometheus endpoint, `metrics = { listen = "ADDR:PORT"; }`.
 *
 * GET /metrics (HEAD too) answers the text exposition format 0.0.4
 * (common/prom.h), built once per request from what `clusterctl stats` reads
 * (ctl_stats_walk) and the daemon's state, then written as the socket takes
 * it.  Served from the main loop and never blocking it: non-blocking
 * sockets, at most METRICS_CLIENTS_MAX clients (the oldest goes when one
 * more comes), METRICS_CLIENT_MS for a client to send its request and read
 * the answer, a request head of at most METRICS_REQ_MAX bytes (431 beyond),
 * 400 for what is not HTTP/1.x, 404 for other paths, 405 for other methods;
 * every answer ends the connection.
 *
 * A subsystem (daemon/subsys.h): the reload binds a changed address before
 * the old listener closes (a bind failure refuses the reload), keeps the
 * socket of an unchanged one, closes it when the section goes; its tick
 * closes clients whose time is up; its counters show as metrics.* in
 * `clusterctl stats`.  metrics_fd() is an epoll fd of the listener and the
 * clients, the same fd from the first (re)load to metrics_close(). */
#ifndef CLUSTERD_METRICS_H
#define CLUSTERD_METRICS_H

#include "daemon/ctx.h"

#define METRICS_CLIENTS_MAX 16
#define METRICS_CLIENT_MS 5000
#define METRICS_REQ_MAX 4096

extern const struct subsys metrics_subsys;

/* The epoll fd to put in the main loop's set (readable when a client
 * connects, sends, or can take more of its answer); -1 before the first
 * configuration was applied. */
int metrics_fd(const struct daemon *d);
/* Serves what is ready, without blocking. */
void metrics_serve(struct daemon *d);
/* Closes the listener, the clients and the epoll fd. */
void metrics_close(struct daemon *d);

#endif
