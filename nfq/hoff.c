/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "nfq/hoff.h"

struct hoff_table {
	size_t n, max, mask;
	uint64_t seed;
	struct hoff_slot **buckets;
	struct hoff_slot *pool, *free;
	struct hoff_slot *head, *tail;	/* age list, oldest first */
};

static size_t hoff_bucket(const struct hoff_table *t, const struct conn_key *k)
{
	uint64_t h = (conn_key_hash(k) ^ t->seed) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & t->mask;
}

struct hoff_table *hoff_table_new(size_t n, uint64_t seed)
{
	struct hoff_table *t;
	size_t nb = 2;

	if (!n || n > (1u << 20))
		return NULL;
	while (nb < 2 * n)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	t->pool = calloc(n, sizeof(*t->pool));
	if (!t->buckets || !t->pool) {
		hoff_table_free(t);
		return NULL;
	}
	t->max = n;
	t->mask = nb - 1;
	t->seed = seed;
	for (size_t i = n; i-- > 0;) {
		t->pool[i].next = t->free;
		t->free = &t->pool[i];
	}
	return t;
}

void hoff_table_free(struct hoff_table *t)
{
	if (!t)
		return;
	if (t->pool)
		for (size_t i = 0; i < t->max; i++)
			if (t->pool[i].hpprev) {
				free(t->pool[i].buf);
				for (unsigned j = 0; j < t->pool[i].n_held; j++)
					free(t->pool[i].held[j].pkt);
			}
	free(t->buckets);
	free(t->pool);
	free(t);
}

size_t hoff_count(const struct hoff_table *t)
{
	return t->n;
}

size_t hoff_capacity(const struct hoff_table *t)
{
	return t->max;
}

struct hoff_slot *hoff_lookup(struct hoff_table *t, const struct conn_key *k)
{
	for (struct hoff_slot *s = t->buckets[hoff_bucket(t, k)]; s; s = s->hnext)
		if (conn_key_eq(&s->key, k))
			return s;
	return NULL;
}

struct hoff_slot *hoff_insert(struct hoff_table *t, const struct conn_key *k, size_t cap,
			      uint64_t now_ms)
{
	struct hoff_slot *s = t->free, **b;
	uint8_t *buf;

	if (!s || !cap || hoff_lookup(t, k))
		return NULL;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	t->free = s->next;
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->buf = buf;
	s->cap = cap;
	s->created_ms = s->last_ms = now_ms;
	b = &t->buckets[hoff_bucket(t, k)];
	s->hnext = *b;
	if (*b)
		(*b)->hpprev = &s->hnext;
	*b = s;
	s->hpprev = b;
	s->prev = t->tail;
	if (t->tail)
		t->tail->next = s;
	else
		t->head = s;
	t->tail = s;
	t->n++;
	return s;
}

void hoff_remove(struct hoff_table *t, struct hoff_slot *s)
{
	*s->hpprev = s->hnext;
	if (s->hnext)
		s->hnext->hpprev = s->hpprev;
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		t->tail = s->prev;
	free(s->buf);
	for (unsigned i = 0; i < s->n_held; i++)
		free(s->held[i].pkt);
	memset(s, 0, sizeof(*s));
	s->next = t->free;
	t->free = s;
	t->n--;
}

struct hoff_slot *hoff_oldest_buffering(struct hoff_table *t)
{
	for (struct hoff_slot *s = t->head; s; s = s->next)
		if (s->phase == HOFF_BUFFER)
			return s;
	return NULL;
}

struct hoff_slot *hoff_first(struct hoff_table *t)
{
	return t->head;
}

enum hoff_append hoff_append(struct hoff_slot *s, uint32_t seq, const uint8_t *data, size_t n)
{
	/* Offset of the segment's first byte from the next one expected, in
	 * sequence space: negative is old data. */
	int32_t off = (int32_t)(seq - s->rcv_nxt);
	size_t skip;

	if (off > 0)
		return HOFF_GAP;
	skip = (size_t)-(int64_t)off;
	if (skip >= n)
		return HOFF_OLD;
	data += skip;
	n -= skip;
	if (n > s->cap - s->len)
		return HOFF_OVERFLOW;
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->rcv_nxt += (uint32_t)n;
	return HOFF_APPENDED;
}

bool hoff_hold(struct hoff_slot *s, const uint8_t *pkt, size_t len, bool csum_notready)
{
	uint8_t *c;

	if (s->n_held >= HOFF_HELD_MAX || !len || len > HOFF_HELD_LEN)
		return false;
	c = malloc(len);
	if (!c)
		return false;
	memcpy(c, pkt, len);
	s->held[s->n_held].pkt = c;
	s->held[s->n_held].len = (uint16_t)len;
	s->held[s->n_held].csum_notready = csum_notready;
	s->n_held++;
	return true;
}
