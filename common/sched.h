/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched: picking a target for a new connection.  Pure: no globals, no
 * logging; only sched_maglev_build() allocates.
 *
 * Maglev (Eisenbud et al., NSDI 2016): a lookup table of a prime size in
 * which every target owns slots in the order of its own permutation, derived
 * from its name, so that the table depends only on the set of names and
 * weights and changes little when a target comes or goes. */
#ifndef CLUSTERD_SCHED_H
#define CLUSTERD_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct sched_target {
	const char *name;	/* node name: the maglev permutation depends on it, so
				   that the table is stable across reloads and node
				   renumbering */
	uint32_t id;		/* opaque, returned to the caller */
	unsigned weight;	/* >= 1; 0 = drained, gets no new connections */
};

#define SCHED_MAGLEV_SIZE	65537u		/* prime */
#define SCHED_MAGLEV_MAX_SIZE	(1u << 24)
#define SCHED_MAGLEV_MAX_TARGETS 65535u		/* indexes are uint16 */
#define SCHED_NONE		((size_t)-1)

struct sched_maglev;

/* Builds the table: offset and skip from two independent hashes of each
 * name, targets take turns filling their next preferred free slot, a target
 * of weight w takes w turns per round.  Turns go in name order, so the table
 * depends on the set of names and weights, not on their order.  size 0 means
 * SCHED_MAGLEV_SIZE; size must be prime, <= SCHED_MAGLEV_MAX_SIZE and >= n.
 * n == 0 (or all weights 0) gives a table whose lookups return -1.  NULL on
 * bad arguments (size, n, a NULL name) or allocation failure. */
struct sched_maglev *sched_maglev_build(const struct sched_target *t, size_t n, size_t size);
void sched_maglev_free(struct sched_maglev *m);
/* Index into the targets array given to the build, or -1. */
int sched_maglev_lookup(const struct sched_maglev *m, uint32_t flow_hash);
size_t sched_maglev_size(const struct sched_maglev *m);
/* The owner of slot i (i < size), or -1: for tests and `clusterctl`. */
int sched_maglev_slot(const struct sched_maglev *m, size_t i);

/* Round robin: counter % n, SCHED_NONE if n == 0. */
size_t sched_rr_next(uint64_t counter, size_t n);
/* Index of the target with the lowest active[i] / weight[i], skipping weight
 * 0; ties go to the first one met scanning from `start` (mod n) upwards, so
 * that a caller rotating `start` does not always favour target 0.  -1 when
 * n == 0 or every weight is 0. */
int sched_least_conn(const struct sched_target *t, const uint32_t *active, size_t n, size_t start);

#endif
