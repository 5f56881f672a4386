/* sync: the daemon side of cluster messaging: heartbeats that carry where
 * this node's applications listen, and their reception into the member
 * table.  Wire format and MAC in sync/wire, sockets in sync/chan. */
#ifndef CLUSTERD_DSYNC_H
#define CLUSTERD_DSYNC_H

#include "daemon/ctx.h"

int dsync_open(struct daemon *d, char *err, size_t errlen);
void dsync_close(struct daemon *d);
/* (Re)build per-node tables after a configuration (re)load. */
int dsync_config(struct daemon *d);
void dsync_send_heartbeats(struct daemon *d);
/* Reads every pending message; true when something the view depends on changed. */
bool dsync_receive(struct daemon *d);

#endif
