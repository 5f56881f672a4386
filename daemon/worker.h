/* worker: one thread per NFQUEUE, driving the engine. */
#ifndef CLUSTERD_WORKER_H
#define CLUSTERD_WORKER_H

#include "daemon/ctx.h"

int worker_init(struct daemon *d, struct worker *w, unsigned idx, char *err, size_t errlen);
int worker_start(struct worker *w);
void worker_join(struct worker *w);
void worker_fini(struct worker *w);

/* Publishes a new view and waits until no worker can still hold the old
 * one; returns the old view for the caller to free. */
struct view *worker_swap_view(struct daemon *d, struct view *nv);

#endif
