/* SPDX-License-Identifier: GPL-2.0-or-later */
/* subsys: the generic part of the subsystem table (no daemon internals, so
 * that the reload transaction is unit-tested without sockets). */
#include <stdbool.h>
#include <stdio.h>

#include "daemon/subsys.h"

const struct subsys *subsys_for_type(const struct subsys *const *tab, size_t n, uint8_t type)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < tab[i]->n_types; k++)
			if (tab[i]->types[k] == type)
				return tab[i];
	return NULL;
}

int subsys_check(const struct subsys *const *tab, size_t n, char *err, size_t len)
{
	if (n > SUBSYS_MAX) {
		snprintf(err, len, "%zu subsystems, at most %d", n, SUBSYS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!tab[i] || !tab[i]->name) {
			snprintf(err, len, "subsystem %zu has no name", i);
			return -1;
		}
		for (size_t k = 0; k < tab[i]->n_types; k++) {
			uint8_t t = tab[i]->types[k];
			bool dup = subsys_for_type(tab, i, t) != NULL;

			for (size_t j = 0; j < k; j++)
				dup |= tab[i]->types[j] == t;
			if (dup) {
				snprintf(err, len, "message type %u registered twice (%s)", t,
					 tab[i]->name);
				return -1;
			}
		}
	}
	return 0;
}

int subsys_prepare_all(struct daemon *d, const struct subsys *const *tab, size_t n,
		       const struct cfg *nc, void **prep, char *err, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		char why[256];

		prep[i] = NULL;
		if (!tab[i]->prepare)
			continue;
		why[0] = '\0';
		if (tab[i]->prepare(d, nc, &prep[i], why, sizeof(why)) == 0)
			continue;
		snprintf(err, len, "%s: %s", tab[i]->name, why[0] ? why : "cannot prepare");
		while (i-- > 0)
			if (tab[i]->abort)
				tab[i]->abort(d, prep[i]);
		return -1;
	}
	return 0;
}

void subsys_commit_all(struct daemon *d, const struct subsys *const *tab, size_t n, void **prep)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i]->commit)
			tab[i]->commit(d, prep[i]);
}

void subsys_tick_all(struct daemon *d, const struct subsys *const *tab, size_t n, uint64_t now,
		     uint64_t *next)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i]->tick)
			tab[i]->tick(d, now, next);
}

void subsys_stats_all(struct daemon *d, const struct subsys *const *tab, size_t n,
		      subsys_emit *emit, void *arg)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i]->stats)
			tab[i]->stats(d, emit, arg);
}
