/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl: the control socket.  One line in ("stats\n"), one JSON object out,
 * then close; up to 32 clients at once, served from the main loop without
 * blocking it.  The protocol is documented in clusterctl(8). */
#ifndef CLUSTERD_CTL_H
#define CLUSTERD_CTL_H

#include "daemon/ctx.h"

struct ctl_server;

/* Listens on path (mode 0600, a stale socket replaced). */
struct ctl_server *ctl_open(const char *path, char *err, size_t errlen);
/* Readable when a client connects, sends or can be written to: poll it and
 * call ctl_serve(), which never blocks. */
int ctl_fd(const struct ctl_server *s);
/* Serves what is ready; closes clients that took more than 5 s. */
void ctl_serve(struct daemon *d, struct ctl_server *s);
void ctl_close(struct ctl_server *s);

/* Provided by the daemon (main.c). */
int daemon_reload(struct daemon *d, char *err, size_t errlen);
void daemon_mark_dirty(struct daemon *d);
int daemon_failover(struct daemon *d, const char *vipa, char *err, size_t errlen);

#endif
