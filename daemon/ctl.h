/* ctl: the control socket.  One line in ("stats\n"), one JSON object out,
 * then close.  The protocol is documented in clusterctl(8). */
#ifndef CLUSTERD_CTL_H
#define CLUSTERD_CTL_H

#include "daemon/ctx.h"

int ctl_open(const char *path, char *err, size_t errlen);
void ctl_close(int fd, const char *path);
void ctl_serve(struct daemon *d, int lfd);

/* Provided by the daemon (main.c). */
int daemon_reload(struct daemon *d, char *err, size_t errlen);
void daemon_mark_dirty(struct daemon *d);
int daemon_failover(struct daemon *d, const char *vipa, char *err, size_t errlen);

#endif
