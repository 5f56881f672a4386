/* SPDX-License-Identifier: GPL-2.0-or-later */
/* worker: one thread per NFQUEUE, driving the engine. */
#ifndef CLUSTERD_WORKER_H
#define CLUSTERD_WORKER_H

#include "daemon/ctx.h"

int worker_init(struct daemon *d, struct worker *w, unsigned idx, char *err, size_t errlen);
int worker_start(struct worker *w);
void worker_join(struct worker *w);
/* Frees the worker's table once no other thread reads it (see below). */
void worker_fini(struct worker *w);

/* A thread other than the workers and the main thread (a conns answer)
 * that reads the workers' tables brackets its reads with these, taking each
 * worker's lock for one bounded chunk at a time.  false: the daemon is
 * stopping, the tables may be freed: read nothing. */
bool worker_tables_enter(struct daemon *d);
void worker_tables_leave(struct daemon *d);

/* Publishes a new view; the old one (and old_cfg, if not NULL) is freed by
 * worker_reclaim() once no worker can hold it. */
void worker_swap_view(struct daemon *d, struct view *nv, struct cfg *old_cfg);
/* Frees what no worker can hold any more; call it from the main loop. */
void worker_reclaim(struct daemon *d);

#endif
