/* SPDX-License-Identifier: GPL-2.0-or-later */
/* subsys: the daemon's subsystems and the hooks they plug in with.
 *
 * A subsystem (CDAT and the sync channel, replication, VIPA roles; later
 * handoff, SCTP) is one `struct subsys`: the state message types it
 * receives, how it follows a configuration reload, its timers and its
 * counters.  main.c lists them in one table (d->subsys); dsync routes every
 * state message to the subsystem that registered its type.
 *
 * A reload is a transaction (subsys_reload below):
 *   prepare(d, nc, &prep)  may fail, changes NOTHING live: allocations, the
 *                          new arrays sized for nc, tables built from nc;
 *   commit(d, prep)        cannot fail: pointer swaps, moves, frees.  It runs
 *                          after every prepare succeeded, with d->cfg already
 *                          pointing to nc (the old configuration is still
 *                          alive: a prepare that needs it keeps a pointer);
 *   abort(d, prep)         undoes one successful prepare (frees what it made)
 *                          when another subsystem's prepare failed.
 * Any hook may be NULL (nothing to do).  prep may be NULL after a successful
 * prepare; commit and abort get it as it was left.
 *
 * Deadlines (tick): `now` and `*next` are daemon_now_ms() milliseconds; a
 * tick lowers *next to the earliest time it must run again and leaves it
 * alone when nothing is pending. */
#ifndef CLUSTERD_SUBSYS_H
#define CLUSTERD_SUBSYS_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct cfg;

typedef void subsys_emit(void *arg, const char *name, uint64_t value);

struct subsys {
	const char *name;
	const uint8_t *types;	/* state message types it receives */
	size_t n_types;
	int (*prepare)(struct daemon *d, const struct cfg *nc, void **prep, char *err,
		       size_t len);
	void (*commit)(struct daemon *d, void *prep);
	void (*abort)(struct daemon *d, void *prep);
	/* A state message from node `node` (index in d->cfg->nodes / d->peers),
	 * delivered in order by the reliable channel; body without the type. */
	void (*input)(struct daemon *d, size_t node, uint8_t type, const uint8_t *b, size_t len);
	void (*tick)(struct daemon *d, uint64_t now, uint64_t *next);
	void (*stats)(struct daemon *d, subsys_emit *emit, void *arg);
};

/* Most subsystems a table holds (the reload keeps their preps on the stack). */
#define SUBSYS_MAX 16

/* The subsystem that registered `type`, or NULL. */
const struct subsys *subsys_for_type(const struct subsys *const *tab, size_t n, uint8_t type);

/* The table is well formed: at most SUBSYS_MAX entries, every one named, no
 * message type registered twice.  -1 and a message in err otherwise. */
int subsys_check(const struct subsys *const *tab, size_t n, char *err, size_t len);

/* Prepares every subsystem for nc in table order.  On the first failure the
 * ones already prepared are aborted in reverse order, err says which
 * subsystem failed and why, and -1 is returned: nothing live changed.  On
 * success prep[0..n-1] hold the prepared states for subsys_commit_all. */
int subsys_prepare_all(struct daemon *d, const struct subsys *const *tab, size_t n,
		       const struct cfg *nc, void **prep, char *err, size_t len);
/* Commits what subsys_prepare_all prepared, in table order. */
void subsys_commit_all(struct daemon *d, const struct subsys *const *tab, size_t n,
		       void **prep);
/* Every subsystem's timers (the main loop: one call). */
void subsys_tick_all(struct daemon *d, const struct subsys *const *tab, size_t n, uint64_t now,
		     uint64_t *next);
/* Every subsystem's counters. */
void subsys_stats_all(struct daemon *d, const struct subsys *const *tab, size_t n,
		      subsys_emit *emit, void *arg);

#endif
