/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conn: the connection table of one worker (see conn.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/conn.h"

struct conn_table {
	struct conn *pool;		/* max entries, allocated once */
	struct conn **buckets;		/* mask + 1 chain heads */
	struct conn *free;		/* free list through hnext: entries removed */
	size_t fresh;			/* pool[fresh..max) never used yet */
	size_t max, count;
	size_t mask;
	size_t cursor;			/* next bucket conn_expire() visits */
	uint64_t seed0, seed1;
	/* Per class (index CONN_C_*; NONE unused): list head (oldest) and
	 * tail (newest), count. */
	struct conn *lhead[3], *ltail[3];
	size_t lcount[3];
	/* The SYN memory: smask + 1 slots of (tag, target, gen); tag 0 = empty. */
	uint32_t (*syn)[3];
	size_t smask;
	/* Entries by service (conn_svc_counts): slots, the last slot hit
	 * (most tables serve few services), the entries no slot counts. */
	struct conn_svc svc[CONN_SVC_MAX];
	unsigned svc_hint;
	size_t svc_other;
};

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);	\
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);	\
} while (0)

/* SipHash-1-3 (Aumasson, Bernstein) over n little-endian 64-bit words, i.e.
 * over a message of 8 * n bytes. */
static uint64_t siphash13_words(uint64_t k0, uint64_t k1, const uint64_t *m, size_t n)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)(n * 8) << 56;
	size_t i;

	for (i = 0; i < n; i++) {
		v3 ^= m[i];
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

/* The hashed serialisation, 40 bytes: family, proto, cport (LE), vport (LE),
 * two zero bytes, caddr[16], vaddr[16].  Built from the fields, never from
 * the struct's memory, so padding and byte order do not matter. */
static uint64_t key_hash64(const struct conn_key *k, uint64_t k0, uint64_t k1)
{
	uint8_t a[32];
	uint64_t m[5];
	size_t alen = k->family == AF_INET ? 4 : 16;

	memset(a, 0, sizeof(a));
	memcpy(a, k->caddr.b, alen);
	memcpy(a + 16, k->vaddr.b, alen);
	m[0] = (uint64_t)k->family | (uint64_t)k->proto << 8 | (uint64_t)k->cport << 16 |
	       (uint64_t)k->vport << 32;
	m[1] = le64(a);
	m[2] = le64(a + 8);
	m[3] = le64(a + 16);
	m[4] = le64(a + 24);
	return siphash13_words(k0, k1, m, 5);
}

static inline uint32_t fold32(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t conn_key_hash(const struct conn_key *k)
{
	return fold32(key_hash64(k, 0, 0));
}

int conn_key_eq(const struct conn_key *a, const struct conn_key *b)
{
	size_t alen = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->proto == b->proto && a->cport == b->cport &&
	       a->vport == b->vport && memcmp(a->caddr.b, b->caddr.b, alen) == 0 &&
	       memcmp(a->vaddr.b, b->vaddr.b, alen) == 0;
}

void conn_key_set(struct conn_key *k, uint8_t proto, const struct ip_addr *caddr,
		  uint16_t cport, const struct ip_addr *vaddr, uint16_t vport)
{
	memset(k, 0, sizeof(*k));
	k->family = caddr->family;
	k->proto = proto;
	k->cport = cport;
	k->vport = vport;
	addr_from_bytes(&k->caddr, caddr->family, caddr->b);
	addr_from_bytes(&k->vaddr, vaddr->family, vaddr->b);
}

/* Stored keys are normalised (zero padding, zero tail after a v4 address)
 * so that readers may copy or compare them byte-wise. */
static void key_copy(struct conn_key *dst, const struct conn_key *src)
{
	size_t alen = src->family == AF_INET ? 4 : 16;

	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	dst->proto = src->proto;
	dst->cport = src->cport;
	dst->vport = src->vport;
	dst->caddr.family = src->caddr.family;
	dst->vaddr.family = src->vaddr.family;
	memcpy(dst->caddr.b, src->caddr.b, alen);
	memcpy(dst->vaddr.b, src->vaddr.b, alen);
}

static inline struct conn **bucket_of(struct conn_table *t, const struct conn_key *k)
{
	return &t->buckets[fold32(key_hash64(k, t->seed0, t->seed1)) & t->mask];
}

struct conn_table *conn_table_new(size_t max_entries)
{
	struct conn_table *t;
	size_t nb, ns;

	if (max_entries == 0 || max_entries > CONN_TABLE_MAX)
		return NULL;
	for (nb = 1; nb < 2 * max_entries; nb <<= 1)
		;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pool = calloc(max_entries, sizeof(*t->pool));
	t->buckets = calloc(nb, sizeof(*t->buckets));
	/* A quarter of the entries (64 .. 1M slots): a SYN's slot survives
	 * until that many other SYNs came, which at flood rates is still far
	 * longer than a handshake's round trip. */
	for (ns = 64; ns < max_entries / 4 && ns < (1u << 20); ns <<= 1)
		;
	t->syn = calloc(ns, sizeof(*t->syn));
	if (!t->pool || !t->buckets || !t->syn) {
		conn_table_free(t);
		return NULL;
	}
	t->max = max_entries;
	t->mask = nb - 1;
	t->smask = ns - 1;
	/* Entries are handed out in pool order and never touched before:
	 * a large table costs address space, not memory, until it fills. */
	t->fresh = 0;
	return t;
}

void conn_table_free(struct conn_table *t)
{
	if (!t)
		return;
	free(t->pool);
	free(t->buckets);
	free(t->syn);
	free(t);
}

size_t conn_count(const struct conn_table *t)
{
	return t->count;
}

size_t conn_capacity(const struct conn_table *t)
{
	return t->max;
}

size_t conn_buckets(const struct conn_table *t)
{
	return t->mask + 1;
}

int conn_table_set_seed(struct conn_table *t, uint64_t seed0, uint64_t seed1)
{
	if (t->count)
		return -EBUSY;
	t->seed0 = seed0;
	t->seed1 = seed1;
	return 0;
}

struct conn *conn_lookup(struct conn_table *t, const struct conn_key *k)
{
	struct conn *c;

	for (c = *bucket_of(t, k); c; c = c->hnext)
		if (conn_key_eq(&c->key, k))
			return c;
	return NULL;
}

static bool svc_match(const struct conn_svc *s, const struct conn_key *k)
{
	return s->n && s->family == k->family && s->proto == k->proto && s->vport == k->vport &&
	       !memcmp(s->vaddr.b, k->vaddr.b, k->family == AF_INET ? 4 : 16);
}

/* Counts c (just inserted) under its service's slot, a new slot, or other. */
static void svc_add(struct conn_table *t, struct conn *c)
{
	const struct conn_key *k = &c->key;
	unsigned i, free_slot = CONN_SVC_MAX;

	if (svc_match(&t->svc[t->svc_hint], k)) {
		i = t->svc_hint;
	} else {
		for (i = 0; i < CONN_SVC_MAX; i++) {
			if (svc_match(&t->svc[i], k))
				break;
			if (!t->svc[i].n && free_slot == CONN_SVC_MAX)
				free_slot = i;
		}
		if (i == CONN_SVC_MAX) {
			if (free_slot == CONN_SVC_MAX) {
				t->svc_other++;
				c->svc = 0;
				return;
			}
			i = free_slot;
			memset(&t->svc[i], 0, sizeof(t->svc[i]));
			t->svc[i].family = k->family;
			t->svc[i].proto = k->proto;
			t->svc[i].vport = k->vport;
			t->svc[i].vaddr = k->vaddr;
		}
		t->svc_hint = i;
	}
	t->svc[i].n++;
	c->svc = (uint8_t)(i + 1);
}

static void svc_del(struct conn_table *t, const struct conn *c)
{
	if (c->svc && c->svc <= CONN_SVC_MAX && t->svc[c->svc - 1].n)
		t->svc[c->svc - 1].n--;
	else if (t->svc_other)
		t->svc_other--;
}

size_t conn_svc_counts(const struct conn_table *t, struct conn_svc *out, size_t max,
		       size_t *other)
{
	size_t k = 0;

	for (size_t i = 0; i < CONN_SVC_MAX && k < max; i++)
		if (t->svc[i].n)
			out[k++] = t->svc[i];
	if (other)
		*other = t->svc_other;
	return k;
}

struct conn *conn_insert(struct conn_table *t, const struct conn_key *k, uint64_t now_ms)
{
	struct conn **head = bucket_of(t, k);
	struct conn *c;

	if (!t->free && t->fresh == t->max)
		return NULL;
	for (c = *head; c; c = c->hnext)
		if (conn_key_eq(&c->key, k))
			return NULL;
	if (t->free) {
		c = t->free;
		t->free = c->hnext;
	} else {
		c = &t->pool[t->fresh++];
	}
	memset(c, 0, sizeof(*c));
	key_copy(&c->key, k);
	c->state = k->proto == IPPROTO_TCP ? CONN_SYN : CONN_UDP;
	c->created_ms = now_ms;
	c->last_ms = now_ms;
	c->hnext = *head;
	if (*head)
		(*head)->hpprev = &c->hnext;
	c->hpprev = head;
	*head = c;
	t->count++;
	svc_add(t, c);
	return c;
}

void conn_remove(struct conn_table *t, struct conn *c)
{
	/* An entry outside the pool or already free would corrupt the lists. */
	if (c < t->pool || c >= t->pool + t->max || !c->hpprev)
		return;
	conn_set_class(t, c, CONN_C_NONE);
	*c->hpprev = c->hnext;
	if (c->hnext)
		c->hnext->hpprev = c->hpprev;
	c->hpprev = NULL;
	c->hnext = t->free;
	t->free = c;
	t->count--;
	svc_del(t, c);
}

bool conn_full(const struct conn_table *t)
{
	return !t->free && t->fresh == t->max;
}

static void class_unlink(struct conn_table *t, struct conn *c)
{
	unsigned k = c->cls;

	if (c->lprev)
		c->lprev->lnext = c->lnext;
	else
		t->lhead[k] = c->lnext;
	if (c->lnext)
		c->lnext->lprev = c->lprev;
	else
		t->ltail[k] = c->lprev;
	c->lprev = c->lnext = NULL;
	t->lcount[k]--;
}

static void class_append(struct conn_table *t, struct conn *c)
{
	unsigned k = c->cls;

	c->lnext = NULL;
	c->lprev = t->ltail[k];
	if (t->ltail[k])
		t->ltail[k]->lnext = c;
	else
		t->lhead[k] = c;
	t->ltail[k] = c;
	t->lcount[k]++;
}

void conn_set_class(struct conn_table *t, struct conn *c, enum conn_class cls)
{
	if ((unsigned)cls > CONN_C_UDP)
		return;
	if (c->cls != CONN_C_NONE)
		class_unlink(t, c);
	c->cls = (uint8_t)cls;
	if (cls != CONN_C_NONE)
		class_append(t, c);
}

size_t conn_class_count(const struct conn_table *t, enum conn_class cls)
{
	if (cls == CONN_C_NONE)
		return t->count - t->lcount[CONN_C_EMBRYO] - t->lcount[CONN_C_UDP];
	return (unsigned)cls <= CONN_C_UDP ? t->lcount[cls] : 0;
}

size_t conn_embryo_cap(const struct conn_table *t)
{
	size_t cap = t->max / CONN_EMBRYO_DIV;

	return cap ? cap : 1;
}

struct conn *conn_oldest(struct conn_table *t, enum conn_class cls)
{
	if (cls == CONN_C_NONE || (unsigned)cls > CONN_C_UDP)
		return NULL;
	return t->lhead[cls];
}

void conn_seen(struct conn_table *t, struct conn *c, uint64_t now_ms)
{
	if (now_ms > c->last_ms)
		c->last_ms = now_ms;
	if (c->cls != CONN_C_NONE && t->ltail[c->cls] != c) {
		class_unlink(t, c);
		class_append(t, c);
	}
}

/* Slot index from the low bits, tag from the high 32 (never 0), with a
 * key of its own so that the slot says nothing about the bucket. */
static void syn_slot(const struct conn_table *t, const struct conn_key *k, size_t *i,
		     uint32_t *tag)
{
	uint64_t h = key_hash64(k, t->seed0 ^ 0x5359e3a1c0ffee11ULL,
				t->seed1 ^ 0x9e3779b97f4a7c15ULL);

	*i = (size_t)h & t->smask;
	*tag = (uint32_t)(h >> 32) | 1;
}

void conn_syn_note(struct conn_table *t, const struct conn_key *k, uint32_t target,
		   uint32_t gen)
{
	size_t i;
	uint32_t tag;

	syn_slot(t, k, &i, &tag);
	t->syn[i][0] = tag;
	t->syn[i][1] = target;
	t->syn[i][2] = gen;
}

bool conn_syn_take(struct conn_table *t, const struct conn_key *k, uint32_t *target,
		   uint32_t *gen)
{
	size_t i;
	uint32_t tag;

	syn_slot(t, k, &i, &tag);
	if (t->syn[i][0] != tag)
		return false;
	*target = t->syn[i][1];
	*gen = t->syn[i][2];
	t->syn[i][0] = 0;
	return true;
}

void conn_touch(struct conn *c, uint64_t now_ms, size_t len)
{
	if (now_ms > c->last_ms)
		c->last_ms = now_ms;
	c->packets++;
	c->bytes += len;
}

void conn_tcp_track(struct conn *c, uint8_t tcp_flags)
{
	if (c->key.proto != IPPROTO_TCP)
		return;
	if (tcp_flags & CONN_TCP_RST)
		c->state = CONN_CLOSED;
	else if (tcp_flags & CONN_TCP_SYN)
		c->state = CONN_SYN;
	else if (tcp_flags & CONN_TCP_FIN) {
		if (c->state != CONN_CLOSED)
			c->state = CONN_FIN;
	} else if ((tcp_flags & CONN_TCP_ACK) && c->state == CONN_SYN)
		c->state = CONN_EST;
}

static uint32_t state_timeout_s(const struct conn *c, const struct conn_timeouts *to)
{
	switch (c->state) {
	case CONN_SYN:
		return to->syn_s;
	case CONN_EST:
		return to->est_s;
	case CONN_FIN:
		return to->fin_s;
	case CONN_CLOSED:
		return to->closed_s;
	case CONN_UDP:
		return to->udp_s;
	}
	return 0;
}

uint32_t conn_timeout_s(const struct conn *c, const struct conn_timeouts *to)
{
	uint32_t s = state_timeout_s(c, to);

	/* A handshake that has not completed in a few seconds is retried by
	 * the client (and may be rescheduled) or was never one. */
	if (c->cls == CONN_C_EMBRYO && s > CONN_EMBRYO_TIMEOUT_S)
		s = CONN_EMBRYO_TIMEOUT_S;
	return s;
}

static int conn_expired(const struct conn *c, uint64_t now_ms, const struct conn_timeouts *to)
{
	/* A clock that went back (now < last) never expires anything. */
	return now_ms > c->last_ms &&
	       now_ms - c->last_ms > (uint64_t)conn_timeout_s(c, to) * 1000;
}

/* The budgeted walk from the table's cursor that conn_sweep() and
 * conn_expire_ask() share: removes each entry dead() says is dead (dead()
 * may also update an entry it keeps: conn_seen()). */
static size_t sweep(struct conn_table *t, size_t budget,
		    bool (*dead)(struct conn_table *t, struct conn *c, void *arg), void *arg)
{
	size_t removed = 0, nb = t->mask + 1;
	struct conn *c, *next;

	if (budget > nb)
		budget = nb;
	while (budget--) {
		for (c = t->buckets[t->cursor]; c; c = next) {
			next = c->hnext;
			if (!dead(t, c, arg))
				continue;
			conn_remove(t, c);
			removed++;
		}
		t->cursor = (t->cursor + 1) & t->mask;
	}
	return removed;
}

struct sweep_ctx {
	bool (*dead)(const struct conn *c, void *arg);
	void *arg;
};

static bool sweep_dead(struct conn_table *t, struct conn *c, void *arg)
{
	const struct sweep_ctx *x = arg;

	(void)t;
	return x->dead(c, x->arg);
}

size_t conn_sweep(struct conn_table *t, size_t budget,
		  bool (*dead)(const struct conn *c, void *arg), void *arg)
{
	struct sweep_ctx x = { .dead = dead, .arg = arg };

	return sweep(t, budget, sweep_dead, &x);
}

struct expire_ctx {
	uint64_t now_ms;
	const struct conn_timeouts *to;
	uint64_t (*ask)(const struct conn *c, void *arg);
	void *ask_arg;
	void (*cb)(const struct conn *c, void *arg);
	void *arg;
};

static bool expire_dead(struct conn_table *t, struct conn *c, void *arg)
{
	const struct expire_ctx *x = arg;

	if (!conn_expired(c, x->now_ms, x->to))
		return false;
	if (x->ask && c->fast) {
		uint64_t seen = x->ask(c, x->ask_arg);

		if (seen > c->last_ms) {
			conn_seen(t, c, seen);
			return false;
		}
	}
	if (x->cb)
		x->cb(c, x->arg);
	return true;
}

size_t conn_expire_ask(struct conn_table *t, uint64_t now_ms, const struct conn_timeouts *to,
		       size_t budget, uint64_t (*ask)(const struct conn *c, void *arg),
		       void *ask_arg, void (*cb)(const struct conn *c, void *arg), void *arg)
{
	struct expire_ctx x = { .now_ms = now_ms, .to = to, .ask = ask, .ask_arg = ask_arg,
				.cb = cb, .arg = arg };

	return sweep(t, budget, expire_dead, &x);
}

size_t conn_expire(struct conn_table *t, uint64_t now_ms, const struct conn_timeouts *to,
		   size_t budget, void (*cb)(const struct conn *c, void *arg), void *arg)
{
	return conn_expire_ask(t, now_ms, to, budget, NULL, NULL, cb, arg);
}

void conn_walk(struct conn_table *t, void (*cb)(struct conn *c, void *arg), void *arg)
{
	for (size_t i = 0; i <= t->mask; i++)
		for (struct conn *c = t->buckets[i]; c; c = c->hnext)
			cb(c, arg);
}

int conn_foreach(struct conn_table *t, int (*cb)(const struct conn *c, void *arg), void *arg)
{
	const struct conn *c;
	size_t i;
	int rc;

	for (i = 0; i <= t->mask; i++)
		for (c = t->buckets[i]; c; c = c->hnext)
			if ((rc = cb(c, arg)) != 0)
				return rc;
	return 0;
}

size_t conn_foreach_chunk(struct conn_table *t, size_t start, size_t n,
			  int (*cb)(const struct conn *c, void *arg), void *arg)
{
	size_t nb = t->mask + 1, end;
	const struct conn *c;

	if (start >= nb)
		return nb;
	end = n < nb - start ? start + n : nb;
	for (; start < end; start++)
		for (c = t->buckets[start]; c; c = c->hnext)
			(void)cb(c, arg);
	return end;
}
