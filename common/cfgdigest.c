/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "common/cfgdigest.h"

#define CFGDIGEST_TAG "clusterd-cfgdigest-1"
#define CFGDIGEST_NONE ((size_t)-1)

/* Everything goes straight into the hash: no buffer, nothing to allocate. */
struct cfgdigest_enc {
	crypto_generichash_state st;
};

static void enc_bytes(struct cfgdigest_enc *e, const void *p, size_t len)
{
	crypto_generichash_update(&e->st, p, len);
}

static void enc_u8(struct cfgdigest_enc *e, unsigned v)
{
	uint8_t b = (uint8_t)v;

	enc_bytes(e, &b, 1);
}

static void enc_u16(struct cfgdigest_enc *e, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	enc_bytes(e, b, sizeof(b));
}

static void enc_u32(struct cfgdigest_enc *e, uint64_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	enc_bytes(e, b, sizeof(b));
}

static void enc_str(struct cfgdigest_enc *e, const char *s)
{
	size_t n = strlen(s);

	enc_u32(e, n);
	enc_bytes(e, s, n);
}

static void enc_addr(struct cfgdigest_enc *e, const struct ip_addr *a)
{
	enc_u8(e, a->family == AF_INET ? 4 : a->family == AF_INET6 ? 6 : 0);
	enc_bytes(e, a->b, addr_len(a));
}

/* Fixed numbers, not the C enums' values: reordering an enum must not
 * change the digest. */
static unsigned enc_sync_mode(enum cfg_sync_mode m)
{
	switch (m) {
	case SYNC_EVERY_UPDATE:
		return 0;
	case SYNC_PERIODIC:
		return 1;
	case SYNC_ON_EVENT:
		return 2;
	}
	return 255;
}

static unsigned enc_sched(enum cfg_sched s)
{
	switch (s) {
	case SCHED_MAGLEV:
		return 0;
	case SCHED_ROUND_ROBIN:
		return 1;
	case SCHED_LEAST_CONN:
		return 2;
	}
	return 255;
}

static unsigned enc_hoff_proto(enum cfg_hoff_proto p)
{
	switch (p) {
	case CFG_HOFF_HTTP:
		return 0;
	case CFG_HOFF_TLS:
		return 1;
	}
	return 255;
}

/* Lists whose order the daemon ignores are walked in key order, ties (none
 * in a valid configuration) by position: the smallest entry after prev
 * (CFGDIGEST_NONE: the first).  Quadratic, without allocation; a digest is
 * computed once per (re)load. */
typedef int cfgdigest_cmp(const void *list, size_t a, size_t b);

static bool sorted_after(const void *list, cfgdigest_cmp *cmp, size_t a, size_t b)
{
	int r = cmp(list, a, b);

	return r > 0 || (r == 0 && a > b);
}

static size_t sorted_next(const void *list, size_t n, cfgdigest_cmp *cmp, size_t prev)
{
	size_t best = CFGDIGEST_NONE;

	for (size_t i = 0; i < n; i++) {
		if (prev != CFGDIGEST_NONE && !sorted_after(list, cmp, i, prev))
			continue;
		if (best == CFGDIGEST_NONE || sorted_after(list, cmp, best, i))
			best = i;
	}
	return best;
}

static int cmp_target(const void *list, size_t a, size_t b)
{
	const struct cfg_target *t = list;

	if (t[a].node != t[b].node)
		return t[a].node < t[b].node ? -1 : 1;
	if (t[a].weight != t[b].weight)
		return t[a].weight < t[b].weight ? -1 : 1;
	return 0;
}

static int cmp_service(const void *list, size_t a, size_t b)
{
	const struct cfg_service *s = list;

	if (s[a].proto != s[b].proto)
		return s[a].proto < s[b].proto ? -1 : 1;
	if (s[a].port != s[b].port)
		return s[a].port < s[b].port ? -1 : 1;
	return 0;
}

static int cmp_vipa(const void *list, size_t a, size_t b)
{
	const struct cfg_vipa *v = list;

	if (v[a].addr.family != v[b].addr.family)
		return v[a].addr.family == AF_INET ? -1 : 1;	/* v4 first */
	return memcmp(v[a].addr.b, v[b].addr.b, sizeof(v[a].addr.b));
}

static void enc_targets(struct cfgdigest_enc *e, const struct cfg_target *t, size_t n)
{
	size_t i = CFGDIGEST_NONE;

	enc_u32(e, n);
	for (size_t k = 0; k < n; k++) {
		i = sorted_next(t, n, cmp_target, i);
		enc_u32(e, t[i].node);
		enc_u32(e, t[i].weight);
	}
}

static void enc_service(struct cfgdigest_enc *e, const struct cfg_service *s)
{
	enc_u16(e, s->port);
	enc_u8(e, s->proto);
	enc_u16(e, s->target_port);
	enc_u8(e, enc_sched(s->sched));
	enc_targets(e, s->targets, s->n_targets);
	enc_u8(e, s->handoff);
	/* Without handoff its settings are unused defaults. */
	if (!s->handoff)
		return;
	enc_u8(e, enc_hoff_proto(s->hoff_proto));
	enc_u32(e, s->hoff_timeout_ms);
	enc_u32(e, s->hoff_request_timeout_ms);
	enc_u32(e, s->hoff_max_request);
	enc_u32(e, s->n_rules);
	for (size_t r = 0; r < s->n_rules; r++) {
		enc_str(e, s->rules[r].host);
		enc_str(e, s->rules[r].path_prefix);
		enc_targets(e, s->rules[r].targets, s->rules[r].n_targets);
	}
}

static void enc_vipa(struct cfgdigest_enc *e, const struct cfg_vipa *v)
{
	size_t i = CFGDIGEST_NONE;

	enc_addr(e, &v->addr);
	enc_u8(e, v->has_alt);
	if (v->has_alt)
		enc_addr(e, &v->alt);
	enc_u8(e, v->preempt);
	enc_u32(e, v->n_dists);
	for (size_t k = 0; k < v->n_dists; k++) {
		const struct cfg_distributor *ds = &v->dists[k];

		enc_u32(e, ds->node);
		enc_u8(e, ds->targets != NULL);
		if (ds->targets)
			enc_targets(e, ds->targets, ds->n_targets);
	}
	enc_u32(e, v->n_svcs);
	for (size_t k = 0; k < v->n_svcs; k++) {
		i = sorted_next(v->svcs, v->n_svcs, cmp_service, i);
		enc_service(e, &v->svcs[i]);
	}
}

void cfgdigest_compute(const struct cfg *c, uint8_t out[CFGDIGEST_LEN])
{
	struct cfgdigest_enc e;
	size_t i = CFGDIGEST_NONE;

	crypto_generichash_init(&e.st, NULL, 0, CFGDIGEST_LEN);
	enc_bytes(&e, CFGDIGEST_TAG, strlen(CFGDIGEST_TAG));

	enc_str(&e, c->cluster_name);
	enc_addr(&e, &c->sync_group);
	enc_u16(&e, c->sync_port);
	enc_u8(&e, enc_sync_mode(c->sync_mode));
	enc_u32(&e, c->sync_interval_ms);
	enc_u32(&e, c->heartbeat_ms);
	enc_u32(&e, c->retry_threshold);
	enc_u32(&e, c->tcp_syn_timeout);
	enc_u32(&e, c->tcp_est_timeout);
	enc_u32(&e, c->tcp_fin_timeout);
	enc_u32(&e, c->udp_timeout);

	enc_u32(&e, c->n_nodes);
	for (size_t n = 0; n < c->n_nodes; n++) {
		const struct cfg_node *nd = &c->nodes[n];

		enc_str(&e, nd->name);
		enc_u32(&e, nd->n_addrs);
		for (size_t a = 0; a < nd->n_addrs; a++) {
			const struct cfg_addr *ca = &nd->addrs[a];

			enc_addr(&e, &ca->ip);
			enc_u32(&e, (uint32_t)ca->prefix);
			enc_u32(&e, (uint32_t)ca->mtu);
			enc_str(&e, ca->type);
			enc_u32(&e, (uint32_t)ca->cos);
			enc_u32(&e, (uint32_t)ca->retry);
		}
	}

	enc_u32(&e, c->n_vipas);
	for (size_t k = 0; k < c->n_vipas; k++) {
		i = sorted_next(c->vipas, c->n_vipas, cmp_vipa, i);
		enc_vipa(&e, &c->vipas[i]);
	}
	crypto_generichash_final(&e.st, out, CFGDIGEST_LEN);
}

char *cfgdigest_hex(const uint8_t dg[CFGDIGEST_LEN], char out[CFGDIGEST_HEX])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < CFGDIGEST_LEN; i++) {
		out[2 * i] = hex[dg[i] >> 4];
		out[2 * i + 1] = hex[dg[i] & 15];
	}
	out[2 * CFGDIGEST_LEN] = '\0';
	return out;
}
