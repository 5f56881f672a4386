/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "common/view.h"

/* Which entry of the VIPA's distributors list is this node, or -1. */
static long view_dist_index(const struct cfg_vipa *vp, long self)
{
	for (size_t i = 0; i < vp->n_dists; i++)
		if ((long)vp->dists[i].node == self)
			return (long)i;
	return -1;
}

static bool view_is_target(const struct cfg_vipa *vp, const struct cfg_service *s, long self)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if ((long)s->targets[i].node == self)
			return true;
	for (size_t d = 0; d < vp->n_dists; d++)
		for (size_t i = 0; i < vp->dists[d].n_targets; i++)
			if ((long)vp->dists[d].targets[i].node == self)
				return true;
	return false;
}

static int view_build_service(struct view_service *vs, const struct view_input *in,
			      const struct cfg_vipa *vp, const struct cfg_service *s, long di)
{
	const struct cfg *c = in->cfg;
	const struct cfg_distributor *d = &vp->dists[di];
	/* A distributor with its own candidate list uses it (distribution, doc/architecture.md). */
	const struct cfg_target *cand = d->n_targets ? d->targets : s->targets;
	size_t n = d->n_targets ? d->n_targets : s->n_targets;
	int fam = vp->addr.family;

	memset(vs, 0, sizeof(*vs));
	vs->vipa = vp;
	vs->svc = s;
	vs->vaddr = vp->addr;
	vs->port = s->port;
	vs->tport = s->target_port;
	vs->proto = s->proto;
	vs->sched = s->sched;
	vs->settled = true;
	vs->targets = calloc(n ? n : 1, sizeof(*vs->targets));
	vs->active = calloc(n ? n : 1, sizeof(*vs->active));
	if (!vs->targets || !vs->active)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct view_target *t = &vs->targets[i];
		const struct ip_addr *a = cfg_node_addr(c, cand[i].node, fam);

		t->node = cand[i].node;
		t->name = c->nodes[t->node].name;
		t->weight = cand[i].weight ? cand[i].weight : 1;
		if (a)
			t->addr = *a;
		t->alive = in->alive ? in->alive[t->node] : true;
		t->drained = in->drained ? in->drained[t->node] : false;
		t->listening = in->listening &&
			in->listening(in->arg, t->node, (uint8_t)fam, s->proto, s->target_port);
		t->active = a && t->alive && t->listening && !t->drained;
		if (t->alive && in->heard && !in->heard(in->arg, t->node))
			vs->settled = false;
		if (t->active) {
			vs->active[vs->n_active].name = t->name;
			vs->active[vs->n_active].id = (uint32_t)i;
			vs->active[vs->n_active].weight = t->weight;
			vs->n_active++;
		}
	}
	vs->n_targets = n;
	if (vs->sched == SCHED_MAGLEV) {
		vs->maglev = sched_maglev_build(vs->active, vs->n_active, SCHED_MAGLEV_SIZE);
		if (!vs->maglev)
			return -1;
	}
	return 0;
}

struct view *view_build(const struct view_input *in)
{
	const struct cfg *c = in->cfg;
	struct view *v = calloc(1, sizeof(*v));
	size_t nsvc = 0;

	if (!v)
		return NULL;
	v->cfg = c;
	v->generation = in->generation;
	v->cfg_gen = in->cfg_gen;
	v->n_nodes = c->n_nodes;
	v->node_conns = calloc(c->n_nodes ? c->n_nodes : 1, sizeof(*v->node_conns));
	for (size_t i = 0; i < c->n_vipas; i++)
		nsvc += c->vipas[i].n_svcs;
	v->svcs = calloc(nsvc ? nsvc : 1, sizeof(*v->svcs));
	v->revs = calloc(nsvc ? nsvc : 1, sizeof(*v->revs));
	if (!v->node_conns || !v->svcs || !v->revs)
		goto fail;
	if (in->prev && in->prev->cfg == c)
		for (size_t i = 0; i < c->n_nodes; i++)
			v->node_conns[i] = __atomic_load_n(&in->prev->node_conns[i],
							   __ATOMIC_RELAXED);

	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		long di = view_dist_index(vp, in->self);

		for (size_t j = 0; j < vp->n_svcs; j++) {
			const struct cfg_service *s = &vp->svcs[j];

			if (di >= 0) {
				if (view_build_service(&v->svcs[v->n_svcs++], in, vp, s, di) < 0)
					goto fail;
			}
			if (in->self >= 0 && view_is_target(vp, s, in->self)) {
				struct view_rev *r = &v->revs[v->n_revs++];

				r->family = vp->addr.family;
				r->proto = s->proto;
				r->tport = s->target_port;
				r->port = s->port;
				r->vaddr = vp->addr;
			}
		}
	}
	return v;
fail:
	view_free(v);
	return NULL;
}

void view_free(struct view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_svcs; i++) {
		free(v->svcs[i].targets);
		free(v->svcs[i].active);
		sched_maglev_free(v->svcs[i].maglev);
	}
	free(v->svcs);
	free(v->revs);
	free(v->node_conns);
	free(v);
}

const struct view_service *view_find_service(const struct view *v, uint8_t family, uint8_t proto,
					     const struct ip_addr *daddr, uint16_t dport)
{
	/* A handful of services per node: a linear scan beats a hash here. */
	for (size_t i = 0; i < v->n_svcs; i++) {
		const struct view_service *s = &v->svcs[i];

		if (s->port == dport && s->proto == proto && s->vaddr.family == family &&
		    addr_eq(&s->vaddr, daddr))
			return s;
	}
	return NULL;
}

const struct view_rev *view_find_rev(const struct view *v, uint8_t family, uint8_t proto,
				     uint16_t sport)
{
	for (size_t i = 0; i < v->n_revs; i++) {
		const struct view_rev *r = &v->revs[i];

		if (r->tport == sport && r->proto == proto && r->family == family)
			return r;
	}
	return NULL;
}

const struct view_target *view_pick(const struct view_service *s, const struct view *v,
				    uint32_t flow_hash)
{
	int idx = -1;

	if (!s->n_active)
		return NULL;
	switch (s->sched) {
	case SCHED_MAGLEV:
		idx = sched_maglev_lookup(s->maglev, flow_hash);
		break;
	case SCHED_ROUND_ROBIN: {
		uint64_t n = __atomic_fetch_add((uint64_t *)&s->rr, 1, __ATOMIC_RELAXED);

		idx = (int)sched_rr_next(n, s->n_active);
		break;
	}
	case SCHED_LEAST_CONN: {
		uint32_t act[s->n_active];

		for (size_t i = 0; i < s->n_active; i++)
			act[i] = __atomic_load_n(&v->node_conns[s->targets[s->active[i].id].node],
						 __ATOMIC_RELAXED);
		idx = sched_least_conn(s->active, act, s->n_active, flow_hash % s->n_active);
		break;
	}
	}
	if (idx < 0 || (size_t)idx >= s->n_active)
		return NULL;
	return &s->targets[s->active[idx].id];
}

void view_conn_inc(const struct view *v, size_t node)
{
	if (node < v->n_nodes)
		__atomic_fetch_add(&v->node_conns[node], 1, __ATOMIC_RELAXED);
}

void view_conn_dec(const struct view *v, size_t node)
{
	uint32_t cur;

	if (node >= v->n_nodes)
		return;
	/* Never wrap below zero: counts are approximate across a reload. */
	cur = __atomic_load_n(&v->node_conns[node], __ATOMIC_RELAXED);
	while (cur && !__atomic_compare_exchange_n(&v->node_conns[node], &cur, cur - 1, false,
						   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}
