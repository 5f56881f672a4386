/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hbgroup: echo lists, recipient vectors, coverage (see hbgroup.h). */
#include <stdlib.h>
#include <string.h>

#include "sync/hbgroup.h"

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t hbg_echo_enc(uint8_t *out, size_t room, const struct hbg_echo *e, size_t n)
{
	if (n > room / HBG_ECHO_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = out + i * HBG_ECHO_LEN;

		put_u32(p, e[i].node);
		p[4] = e[i].ai;
		p[5] = 0;
		p[6] = (uint8_t)(e[i].held_ms >> 8);
		p[7] = (uint8_t)e[i].held_ms;
		put_u32(p + 8, e[i].token);
	}
	return n * HBG_ECHO_LEN;
}

long hbg_echo_count(size_t len)
{
	return len % HBG_ECHO_LEN ? -1 : (long)(len / HBG_ECHO_LEN);
}

void hbg_echo_get(const uint8_t *val, size_t i, struct hbg_echo *e)
{
	const uint8_t *p = val + i * HBG_ECHO_LEN;

	e->node = get_u32(p);
	e->ai = p[4];
	e->held_ms = (uint16_t)(p[6] << 8 | p[7]);
	e->token = get_u32(p + 8);
}

bool hbg_token_time(uint32_t token, uint16_t held_ms, uint64_t now, uint64_t max_age_ms,
		    uint64_t *sent_ms)
{
	/* Tokens are recent: the age is the 32-bit difference, which stays
	 * right across a wrap of the low bits. */
	uint64_t age = (uint32_t)((uint32_t)now - token);

	if (age > now || age > max_age_ms || age < held_ms)
		return false;
	*sent_ms = now - age;
	return true;
}

void hbg_rcpt_put(uint8_t *out, uint32_t id, uint64_t epoch)
{
	put_u32(out, id);
	put_u32(out + 4, (uint32_t)(epoch >> 32));
	put_u32(out + 8, (uint32_t)epoch);
}

void hbg_gseq_put(uint8_t *out, uint32_t id, uint64_t seq)
{
	put_u32(out, id);
	put_u32(out + 4, (uint32_t)(seq >> 32));
	put_u32(out + 8, (uint32_t)seq);
}

int hbg_gseq_find(const uint8_t *val, size_t len, uint32_t self_id, uint64_t *seq)
{
	if (len % HBG_GSEQ_LEN)
		return -1;
	for (size_t i = 0; i < len / HBG_GSEQ_LEN; i++) {
		const uint8_t *p = val + i * HBG_GSEQ_LEN;
		uint64_t s;

		if (get_u32(p) != self_id)
			continue;
		s = (uint64_t)get_u32(p + 4) << 32 | get_u32(p + 8);
		if (!s)
			return -1;	/* reliable seqs start at 1 */
		*seq = s;
		return 1;
	}
	return 0;
}

size_t hbg_same_blobs(const uint8_t *const *blob, const size_t *len, size_t n, size_t *same)
{
	size_t kinds = 0;

	/* A round holds a few dozen blobs at most: quadratic is fine. */
	for (size_t i = 0; i < n; i++) {
		same[i] = i;
		for (size_t j = 0; j < i; j++)
			if (same[j] == j && len[j] == len[i] &&
			    (!len[i] || memcmp(blob[j], blob[i], len[i]) == 0)) {
				same[i] = j;
				break;
			}
		if (same[i] == i)
			kinds++;
	}
	return kinds;
}

enum hbg_rcpt hbg_rcpt_check(const uint8_t *val, size_t len, uint32_t self_id,
			     uint64_t self_epoch)
{
	if (len % HBG_RCPT_LEN)
		return HBG_BAD;
	for (size_t i = 0; i < len / HBG_RCPT_LEN; i++) {
		const uint8_t *p = val + i * HBG_RCPT_LEN;
		uint64_t ep;

		if (get_u32(p) != self_id)
			continue;
		ep = (uint64_t)get_u32(p + 4) << 32 | get_u32(p + 8);
		if (!ep)
			return HBG_UNPROVEN;
		return ep == self_epoch && self_epoch ? HBG_PROVEN : HBG_STALE;
	}
	return HBG_UNPROVEN;
}

int hbg_init(struct hbg *g, size_t n_nodes)
{
	memset(g, 0, sizeof(*g));
	if (!n_nodes)
		return 0;
	g->slot = calloc(n_nodes * HBG_MAX_ADDRS, sizeof(*g->slot));
	if (!g->slot)
		return -1;
	g->n_nodes = n_nodes;
	return 0;
}

void hbg_free(struct hbg *g)
{
	free(g->slot);
	memset(g, 0, sizeof(*g));
}

static struct hbg_slot *slot_of(struct hbg *g, size_t node, size_t ai)
{
	if (node >= g->n_nodes || ai >= HBG_MAX_ADDRS)
		return NULL;
	return &g->slot[node * HBG_MAX_ADDRS + ai];
}

void hbg_heard(struct hbg *g, size_t node, size_t ai, uint32_t token, uint64_t now, int ifindex)
{
	struct hbg_slot *s = slot_of(g, node, ai);

	if (!s || !now)
		return;
	s->heard_ms = now;
	s->token = token;
	s->ifindex = ifindex;
	s->pending = true;
	s->echoed = false;	/* a newer token: the echo of the old one is moot */
}

bool hbg_covered(const struct hbg *g, size_t node, size_t ai, uint64_t now, uint64_t dead_ms,
		 int *ifindex)
{
	const struct hbg_slot *s;

	if (node >= g->n_nodes || ai >= HBG_MAX_ADDRS)
		return false;
	s = &g->slot[node * HBG_MAX_ADDRS + ai];
	if (!s->heard_ms || now < s->heard_ms || now - s->heard_ms > dead_ms)
		return false;
	if (ifindex)
		*ifindex = s->ifindex;
	return true;
}

size_t hbg_collect(struct hbg *g, int ifindex, uint64_t now, uint64_t max_hold_ms,
		   const uint32_t *ids, struct hbg_echo *out, size_t max)
{
	size_t total = g->n_nodes * HBG_MAX_ADDRS, k, n = 0;

	if (!total)
		return 0;
	for (k = 0; k < total; k++) {
		size_t idx = (g->cursor + k) % total;
		struct hbg_slot *s = &g->slot[idx];
		uint64_t held;

		if (!s->pending || (ifindex && s->ifindex != ifindex))
			continue;
		held = now >= s->heard_ms ? now - s->heard_ms : 0;
		if (held > max_hold_ms || held > HBG_HELD_MAX) {
			s->pending = false;	/* too old to measure anything */
			continue;
		}
		if (n == max) {
			g->next_cursor = idx;
			break;
		}
		out[n].node = ids[idx / HBG_MAX_ADDRS];
		out[n].ai = (uint8_t)(idx % HBG_MAX_ADDRS);
		out[n].held_ms = (uint16_t)held;
		out[n].token = s->token;
		s->echoed = true;
		n++;
	}
	return n;
}

void hbg_round_done(struct hbg *g)
{
	for (size_t i = 0; i < g->n_nodes * HBG_MAX_ADDRS; i++)
		if (g->slot[i].echoed) {
			g->slot[i].pending = false;
			g->slot[i].echoed = false;
		}
	g->cursor = g->next_cursor;
}
