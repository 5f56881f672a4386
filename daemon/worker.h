/* SPDX-License-Identifier: GPL-2.0-or-later */
/* worker: one thread per NFQUEUE, driving the engine. */
#ifndef CLUSTERD_WORKER_H
#define CLUSTERD_WORKER_H

#include "daemon/ctx.h"

int worker_init(struct daemon *d, struct worker *w, unsigned idx, char *err, size_t errlen);
int worker_start(struct worker *w);
void worker_join(struct worker *w);
/* Frees the worker's table and sockets; the worker is joined (main thread). */
void worker_fini(struct worker *w);

/* Publishes a new view; the old one (and old_cfg, if not NULL) is freed by
 * worker_reclaim() once no worker can hold it. */
void worker_swap_view(struct daemon *d, struct view *nv, struct cfg *old_cfg);
/* Frees what no worker can hold any more; call it from the main loop.
 * True while something is still retired: call it again soon (a worker
 * lets go of its view within one packet batch or one poll). */
bool worker_reclaim(struct daemon *d);

#endif
