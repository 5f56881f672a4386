/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched: Maglev, round robin and least-connections (see sched.h). */
#include <stdlib.h>
#include <string.h>

#include "common/sched.h"

#define MAGLEV_EMPTY	0xffffu

struct sched_maglev {
	size_t size;
	uint16_t *slot;		/* size entries; NULL when no target can be chosen */
};

/* The finaliser of MurmurHash3 / SplitMix: every input bit reaches every
 * output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a from a seeded basis, then mixed: two seeds give the two
 * independent hashes Maglev asks for (offset and skip). */
static uint64_t name_hash(const char *s, uint64_t seed)
{
	uint64_t x = 0xcbf29ce484222325ULL ^ mix64(seed);

	for (; *s; s++) {
		x ^= (uint8_t)*s;
		x *= 0x100000001b3ULL;
	}
	return mix64(x ^ seed);
}

static int is_prime(size_t n)
{
	size_t d;

	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

struct maglev_turn {
	const char *name;
	size_t idx;		/* into the caller's array */
	size_t pos, skip;
};

static int turn_cmp(const void *a, const void *b)
{
	const struct maglev_turn *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void maglev_fill(uint16_t *slot, size_t size, const struct sched_target *t, size_t n,
			struct maglev_turn *turn)
{
	size_t filled = 0, i;
	unsigned w;

	for (i = 0; i < n; i++) {
		turn[i].name = t[i].name;
		turn[i].idx = i;
		turn[i].pos = name_hash(t[i].name, 1) % size;
		turn[i].skip = name_hash(t[i].name, 2) % (size - 1) + 1;
	}
	/* Turns in name order, not array order, so that the table depends
	 * only on the set of names and weights. */
	qsort(turn, n, sizeof(*turn), turn_cmp);
	memset(slot, 0xff, size * sizeof(*slot));
	/* Each turn fills one slot, and a prime size makes every permutation
	 * visit all slots, so the loop ends once the table is full. */
	for (;;) {
		for (i = 0; i < n; i++) {
			struct maglev_turn *tu = &turn[i];

			for (w = 0; w < t[tu->idx].weight; w++) {
				while (slot[tu->pos] != MAGLEV_EMPTY) {
					tu->pos += tu->skip;
					if (tu->pos >= size)
						tu->pos -= size;
				}
				slot[tu->pos] = (uint16_t)tu->idx;
				if (++filled == size)
					return;
			}
		}
	}
}

struct sched_maglev *sched_maglev_build(const struct sched_target *t, size_t n, size_t size)
{
	struct sched_maglev *m;
	struct maglev_turn *turn;
	size_t i;
	int any = 0;

	if (size == 0)
		size = SCHED_MAGLEV_SIZE;
	if (size > SCHED_MAGLEV_MAX_SIZE || !is_prime(size) || n > SCHED_MAGLEV_MAX_TARGETS ||
	    n > size || (n && !t))
		return NULL;
	for (i = 0; i < n; i++) {
		if (!t[i].name)
			return NULL;
		if (t[i].weight)
			any = 1;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->size = size;
	if (!any)
		return m;
	m->slot = malloc(size * sizeof(*m->slot));
	turn = calloc(n, sizeof(*turn));
	if (!m->slot || !turn) {
		free(turn);
		sched_maglev_free(m);
		return NULL;
	}
	maglev_fill(m->slot, size, t, n, turn);
	free(turn);
	return m;
}

void sched_maglev_free(struct sched_maglev *m)
{
	if (!m)
		return;
	free(m->slot);
	free(m);
}

int sched_maglev_lookup(const struct sched_maglev *m, uint32_t flow_hash)
{
	if (!m || !m->slot)
		return -1;
	return m->slot[flow_hash % m->size];
}

size_t sched_maglev_size(const struct sched_maglev *m)
{
	return m->size;
}

int sched_maglev_slot(const struct sched_maglev *m, size_t i)
{
	if (!m->slot || i >= m->size)
		return -1;
	return m->slot[i];
}

size_t sched_rr_next(uint64_t counter, size_t n)
{
	if (n == 0)
		return SCHED_NONE;
	return (size_t)(counter % n);
}

int sched_least_conn(const struct sched_target *t, const uint32_t *active, size_t n, size_t start)
{
	size_t k, i;
	int best = -1;

	if (n == 0 || n > (size_t)INT32_MAX)
		return -1;
	for (k = 0; k < n; k++) {
		i = (start % n + k) % n;
		if (!t[i].weight)
			continue;
		/* active[i]/weight[i] < active[b]/weight[b], in integers. */
		if (best < 0 || (uint64_t)active[i] * t[best].weight <
				(uint64_t)active[best] * t[i].weight)
			best = (int)i;
	}
	return best;
}
