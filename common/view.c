/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
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

static bool view_in(const struct cfg_target *t, size_t n, size_t node)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].node == node)
			return true;
	return false;
}

/* By the service's list, a distributor's own or a handoff rule's. */
static bool view_is_target(const struct cfg_vipa *vp, const struct cfg_service *s, long self)
{
	return self >= 0 && cfg_serves(vp, s, (size_t)self);
}

/* FNV-1a, then a 64-bit finalizer (splitmix64's): names that differ in one
 * character land far apart. */
static uint64_t view_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t view_name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++) {
		h ^= (uint8_t)*name;
		h *= 0x100000001b3ull;
	}
	return view_mix64(h);
}

/* One target's state, as the view sees it now.  Returns whether it is active. */
static bool view_fill_target(struct view_target *t, const struct view_input *in,
			     const struct cfg_vipa *vp, const struct cfg_service *s,
			     const struct cfg_target *ct)
{
	const struct cfg *c = in->cfg;
	int fam = vp->addr.family;
	const struct ip_addr *a = cfg_node_addr(c, ct->node, fam);

	t->node = ct->node;
	t->name = c->nodes[t->node].name;
	t->name_hash = view_name_hash(t->name);
	t->weight = ct->weight ? ct->weight : 1;
	if (a)
		t->addr = *a;
	t->alive = in->alive ? in->alive[t->node] : true;
	t->drained = in->drained ? in->drained[t->node] : false;
	t->listening = in->listening &&
		in->listening(in->arg, t->node, (uint8_t)fam, s->proto, s->target_port);
	t->active = a && t->alive && t->listening && !t->drained;
	return t->active;
}

/* The rule targets that are not in cand[]: each once, in the order the rules
 * name them. */
static int view_build_rtargets(struct view_service *vs, const struct view_input *in,
			       const struct cfg_vipa *vp, const struct cfg_service *s,
			       const struct cfg_target *cand, size_t n)
{
	size_t total = 0;

	for (size_t r = 0; r < s->n_rules; r++)
		total += s->rules[r].n_targets;
	if (!total)
		return 0;
	vs->rtargets = calloc(total, sizeof(*vs->rtargets));
	if (!vs->rtargets)
		return -1;
	for (size_t r = 0; r < s->n_rules; r++)
		for (size_t i = 0; i < s->rules[r].n_targets; i++) {
			const struct cfg_target *ct = &s->rules[r].targets[i];
			bool seen = view_in(cand, n, ct->node);

			for (size_t k = 0; k < vs->n_rtargets && !seen; k++)
				seen = vs->rtargets[k].node == ct->node;
			if (!seen)
				view_fill_target(&vs->rtargets[vs->n_rtargets++], in, vp, s, ct);
		}
	return 0;
}

static int view_build_service(struct view_service *vs, const struct view_input *in,
			      const struct cfg_vipa *vp, const struct cfg_service *s, long di)
{
	const struct cfg_distributor *d = &vp->dists[di];
	/* A distributor with its own candidate list uses it (distribution, doc/architecture.md). */
	const struct cfg_target *cand = d->n_targets ? d->targets : s->targets;
	size_t n = d->n_targets ? d->n_targets : s->n_targets;

	memset(vs, 0, sizeof(*vs));
	vs->vipa = vp;
	vs->svc = s;
	vs->vaddr = vp->addr;
	vs->alt = vp->alt;
	vs->has_alt = vp->has_alt && s->proto == IPPROTO_SCTP;
	vs->ep = (uint32_t)(vp - in->cfg->vipas);
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

		view_fill_target(t, in, vp, s, &cand[i]);
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
	if (view_build_rtargets(vs, in, vp, s, cand, n) < 0)
		return -1;
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
			if (view_is_target(vp, s, in->self)) {
				struct view_rev *r = &v->revs[v->n_revs++];

				r->family = vp->addr.family;
				r->proto = s->proto;
				r->tport = s->target_port;
				r->port = s->port;
				r->vaddr = vp->addr;
				r->alt = vp->alt;
				r->has_alt = vp->has_alt && s->proto == IPPROTO_SCTP;
				r->ep = (uint32_t)(vp - in->cfg->vipas);
				r->handoff = s->handoff;
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
		free(v->svcs[i].rtargets);
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
		    (addr_eq(&s->vaddr, daddr) || (s->has_alt && addr_eq(&s->alt, daddr))))
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

/* The state of node in s: a candidate of the distributor or of a rule. */
static const struct view_target *view_target_of(const struct view_service *s, size_t node)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].node == node)
			return &s->targets[i];
	for (size_t i = 0; i < s->n_rtargets; i++)
		if (s->rtargets[i].node == node)
			return &s->rtargets[i];
	return NULL;
}

/* ln(y / 2^53) for an odd y < 2^53, without libm: y = m * 2^e with m in
 * [1, 2), ln(m) = 2 atanh((m - 1) / (m + 1)) by its series (t <= 1/3: the
 * terms up to t^13 leave an error below 1e-8). */
static double view_ln_unit(uint64_t y)
{
	static const double ln2 = 0.69314718055994530942;
	int e = 63 - __builtin_clzll(y);
	double m = (double)y / (double)(1ull << e);
	double t = (m - 1.0) / (m + 1.0), t2 = t * t, sum = 0.0;

	for (int k = 13; k >= 1; k -= 2)
		sum = sum * t2 + 1.0 / k;
	return (double)(e - 53) * ln2 + 2.0 * t * sum;
}

/* Weighted rendezvous score of a node for hash: weight / -ln(u). */
static double view_hrw_score(uint32_t hash, uint64_t name_hash, unsigned weight)
{
	uint64_t h = view_mix64(name_hash ^ view_mix64(0x9e3779b97f4a7c15ull + hash));
	double nl = -view_ln_unit(((h >> 12) << 1) | 1);	/* u in (0, 1), never 0 or 1 */

	if (nl < 1e-12)
		nl = 1e-12;
	return (double)weight / nl;
}

size_t view_hoff_cands(const struct view_service *s, const struct cfg_target *list, size_t n,
		       uint32_t hash, uint32_t *nodes, struct ip_addr *addrs, size_t max)
{
	size_t cnt = 0, total = list && n ? n : s->n_targets;
	struct { double score; const struct view_target *t; } best[total ? total : 1];

	for (size_t i = 0; i < total; i++) {
		const struct view_target *t;
		unsigned w;

		if (list && n) {
			t = view_target_of(s, list[i].node);
			w = list[i].weight ? list[i].weight : 1;
		} else {
			t = &s->targets[i];
			w = t->weight;
		}
		if (!t || !t->active)
			continue;
		best[cnt].score = view_hrw_score(hash, t->name_hash, w);
		best[cnt].t = t;
		cnt++;
	}
	/* A few candidates: insertion sort, best first, lower node on a tie. */
	for (size_t i = 1; i < cnt; i++) {
		__typeof__(best[0]) x = best[i];
		size_t j = i;

		while (j > 0 && (best[j - 1].score < x.score ||
				 (best[j - 1].score == x.score && best[j - 1].t->node > x.t->node))) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = x;
	}
	if (cnt > max)
		cnt = max;
	for (size_t i = 0; i < cnt; i++) {
		nodes[i] = (uint32_t)best[i].t->node;
		addrs[i] = best[i].t->addr;
	}
	return cnt;
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
