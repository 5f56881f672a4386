/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/roles.h"

static bool roles_is_self(const struct roles_snap *s, size_t n)
{
	return (long)n == s->cfg->self;
}

static uint8_t roles_bits(const struct roles_snap *s, size_t vipa, size_t n)
{
	return s->bits[vipa * s->cfg->n_nodes + n];
}

static bool roles_alive(const struct roles_snap *s, size_t n)
{
	return roles_is_self(s, n) || s->nodes[n].alive;
}

static bool roles_node_ready(const struct roles_snap *s, size_t n)
{
	const struct roles_node *rn = &s->nodes[n];

	return (roles_is_self(s, n) || rn->heard) && rn->ready && !rn->leaving;
}

/* A peer's claim stands while it is alive: a leaving peer is down for the
 * rule already (it is marked down when its LEAVING heartbeat arrives). */
static bool roles_claims(const struct roles_snap *s, size_t n, size_t vipa)
{
	if (!(roles_bits(s, vipa, n) & ROLES_CLAIMS))
		return false;
	return !roles_is_self(s, n) || !s->nodes[n].leaving;
}

static bool roles_yields(const struct roles_snap *s, size_t n, size_t vipa)
{
	return roles_bits(s, vipa, n) & ROLES_YIELDS;
}

long roles_pick(const struct roles_snap *s, size_t vipa, long skip)
{
	const struct cfg_vipa *vp = &s->cfg->vipas[vipa];

	/* preempt = false: whoever holds it keeps it. */
	if (!vp->preempt)
		for (size_t k = 0; k < vp->n_dists; k++) {
			size_t n = vp->dists[k].node;

			if ((long)n != skip && roles_alive(s, n) && roles_claims(s, n, vipa) &&
			    !roles_yields(s, n, vipa))
				return (long)n;
		}
	for (size_t k = 0; k < vp->n_dists; k++) {
		size_t n = vp->dists[k].node;

		if ((long)n != skip && roles_alive(s, n) && roles_node_ready(s, n) &&
		    !roles_yields(s, n, vipa))
			return (long)n;
	}
	return -1;
}

bool roles_contested(const struct roles_snap *s, size_t vipa)
{
	for (size_t n = 0; n < s->cfg->n_nodes; n++)
		if (!roles_is_self(s, n) && roles_alive(s, n) && roles_claims(s, n, vipa))
			return true;
	return false;
}

static void roles_lower(uint64_t *next, uint64_t t)
{
	if (next && t < *next)
		*next = t;
}

enum roles_ready roles_ready(const struct roles_snap *s, uint64_t start_ms, uint64_t now_ms,
			     uint64_t *next)
{
	const struct cfg *c = s->cfg;
	uint64_t grace = (uint64_t)(c->retry_threshold + 1) * c->heartbeat_ms;
	uint64_t waited = now_ms >= start_ms ? now_ms - start_ms : 0;
	bool waiting = false, got = false;

	if (c->self >= 0 && s->nodes[c->self].leaving)
		return ROLES_READY_LEAVING;
	if (c->self >= 0 && s->nodes[c->self].ready)
		return ROLES_READY_ALREADY;
	/* The tables come from whoever distributes one of our VIPAs now. */
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		bool mine = false;

		for (size_t k = 0; k < vp->n_dists; k++)
			mine |= (long)vp->dists[k].node == c->self;
		for (size_t k = 0; mine && k < vp->n_dists; k++) {
			size_t n = vp->dists[k].node;

			if (roles_is_self(s, n) || !roles_alive(s, n) || !roles_claims(s, n, i))
				continue;
			if (s->nodes[n].bulk)
				got = true;
			else
				waiting = true;
		}
	}
	if (waiting) {
		if (waited >= ROLES_READY_MAX_MS)
			return ROLES_READY_FORCED;
		roles_lower(next, start_ms + ROLES_READY_MAX_MS);
		return ROLES_WAIT_TABLE;
	}
	if (got)
		return ROLES_READY_TABLE;
	/* Nobody claims: wait one dead interval, a distributor may be heard. */
	if (waited >= grace || waited >= ROLES_READY_MAX_MS)
		return ROLES_READY_GRACE;
	roles_lower(next, start_ms + (grace < ROLES_READY_MAX_MS ? grace : ROLES_READY_MAX_MS));
	return ROLES_WAIT_GRACE;
}

#define ROLES_STR_(x) #x
#define ROLES_STR(x) ROLES_STR_(x)

const char *roles_ready_str(enum roles_ready r)
{
	switch (r) {
	case ROLES_READY_ALREADY:
		return "ready";
	case ROLES_READY_LEAVING:
		return "leaving";
	case ROLES_WAIT_TABLE:
		return "waiting for the distributor's table";
	case ROLES_WAIT_GRACE:
		return "waiting one dead interval for a distributor";
	case ROLES_READY_TABLE:
		return "table received";
	case ROLES_READY_GRACE:
		return "no distributor to take a table from";
	case ROLES_READY_FORCED:
		return "no table from the distributor after " ROLES_STR(ROLES_READY_MAX_MS)
		       " ms: ready anyway";
	}
	return "?";
}
