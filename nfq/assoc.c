/* SPDX-License-Identifier: GPL-2.0-or-later */
/* assoc: the SCTP association table of one distributor worker (see assoc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/assoc.h"
#include "nfq/cookie.h"

/* Age lists: pending entries (INIT and unconfirmed established ones:
 * capped, evicted oldest first) and closed ones. */
enum { L_PEND = 0, L_CLOSED = 1, L_N };

/* Hash domains, so that the indexes and the pending slots never share a
 * hash value. */
enum { H_TAG = 1, H_CTAG, H_PATH, H_PEND };

struct pend_slot {
	uint32_t n;		/* INIT entries whose ports hash here */
	uint32_t newest;	/* pool index + 1 of the newest of them (a hint) */
};

struct assoc_table {
	struct assoc *pool;
	size_t max, fresh, count;	/* pool[fresh..max) never used */
	struct assoc *free;		/* through tnext */
	struct assoc **tb, **cb;	/* tag and client-tag buckets */
	struct assoc_pnode **pb;	/* path buckets */
	size_t mask;
	struct pend_slot *pend;
	size_t pmask;
	uint8_t key[COOKIE_KEY_LEN];
	struct assoc *lhead[L_N], *ltail[L_N];
	size_t lcount[L_N];
	size_t nstate[4];
	size_t unconf;			/* unconfirmed established entries */
	size_t init_cap, cursor;
	struct assoc_counters ctr;
	struct assoc_remap_plan *staged;	/* oldest first, through ->next */
};

/* --- hashing --- */

static size_t put_ports(uint8_t *m, unsigned dom, const struct assoc_ports *p)
{
	m[0] = (uint8_t)dom;
	m[1] = (uint8_t)p->ep;
	m[2] = (uint8_t)(p->ep >> 8);
	m[3] = (uint8_t)(p->ep >> 16);
	m[4] = (uint8_t)(p->ep >> 24);
	m[5] = (uint8_t)p->cport;
	m[6] = (uint8_t)(p->cport >> 8);
	m[7] = (uint8_t)p->vport;
	m[8] = (uint8_t)(p->vport >> 8);
	return 9;
}

static uint64_t hash_tag(const struct assoc_table *t, unsigned dom, const struct assoc_ports *p,
			 uint32_t tag)
{
	uint8_t m[16];
	size_t n = put_ports(m, dom, p);

	m[n++] = (uint8_t)tag;
	m[n++] = (uint8_t)(tag >> 8);
	m[n++] = (uint8_t)(tag >> 16);
	m[n++] = (uint8_t)(tag >> 24);
	return cookie_siphash(t->key, m, n);
}

static uint64_t hash_path(const struct assoc_table *t, const struct assoc_ports *p,
			  const struct ip_addr *a)
{
	uint8_t m[32];
	size_t n = put_ports(m, H_PATH, p);
	size_t alen = addr_len(a);

	m[n++] = a->family;
	memcpy(m + n, a->b, alen);
	return cookie_siphash(t->key, m, n + alen);
}

static inline bool ports_eq(const struct assoc_ports *a, const struct assoc_ports *b)
{
	return a->ep == b->ep && a->cport == b->cport && a->vport == b->vport;
}

static inline bool path_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	size_t alen = addr_len(a);

	return a->family == b->family && memcmp(a->b, b->b, alen) == 0;
}

static struct pend_slot *pend_of(struct assoc_table *t, const struct assoc_ports *p)
{
	uint8_t m[16];

	return &t->pend[cookie_siphash(t->key, m, put_ports(m, H_PEND, p)) & t->pmask];
}

/* --- table --- */

struct assoc_table *assoc_table_new(size_t max, size_t init_cap)
{
	struct assoc_table *t;
	size_t nb, ns;

	if (max == 0 || max > ASSOC_TABLE_MAX)
		return NULL;
	if (init_cap == 0)
		init_cap = max / ASSOC_INIT_DIV ? max / ASSOC_INIT_DIV : 1;
	if (init_cap > max)
		init_cap = max;
	for (nb = 2; nb < max; nb <<= 1)
		;
	/* Twice the INIT cap (64 .. 1M): few false "pending" answers unless
	 * a flood fills the cap. */
	for (ns = 64; ns < 2 * init_cap && ns < (1u << 20); ns <<= 1)
		;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pool = calloc(max, sizeof(*t->pool));
	t->tb = calloc(nb, sizeof(*t->tb));
	t->cb = calloc(nb, sizeof(*t->cb));
	t->pb = calloc(nb, sizeof(*t->pb));
	t->pend = calloc(ns, sizeof(*t->pend));
	if (!t->pool || !t->tb || !t->cb || !t->pb || !t->pend) {
		assoc_table_free(t);
		return NULL;
	}
	t->max = max;
	t->mask = nb - 1;
	t->pmask = ns - 1;
	t->init_cap = init_cap;
	return t;
}

void assoc_table_free(struct assoc_table *t)
{
	if (!t)
		return;
	free(t->pool);
	free(t->tb);
	free(t->cb);
	free(t->pb);
	free(t->pend);
	free(t);
}

int assoc_table_set_seed(struct assoc_table *t, uint64_t seed0, uint64_t seed1)
{
	if (t->count)
		return -EBUSY;
	for (int i = 0; i < 8; i++) {
		t->key[i] = (uint8_t)(seed0 >> (8 * i));
		t->key[8 + i] = (uint8_t)(seed1 >> (8 * i));
	}
	return 0;
}

size_t assoc_count(const struct assoc_table *t)
{
	return t->count;
}

size_t assoc_count_state(const struct assoc_table *t, enum assoc_state s)
{
	return s > ASSOC_FREE && s <= ASSOC_CLOSED ? t->nstate[s] : 0;
}

size_t assoc_capacity(const struct assoc_table *t)
{
	return t->max;
}

size_t assoc_init_cap(const struct assoc_table *t)
{
	return t->init_cap;
}

size_t assoc_count_unconfirmed(const struct assoc_table *t)
{
	return t->unconf;
}

const struct assoc_counters *assoc_counters(const struct assoc_table *t)
{
	return &t->ctr;
}

size_t assoc_bucket(const struct assoc_table *t, const struct assoc_ports *p, uint32_t tag)
{
	return (size_t)hash_tag(t, H_TAG, p, tag) & t->mask;
}

size_t assoc_buckets(const struct assoc_table *t)
{
	return t->mask + 1;
}

size_t assoc_slots(const struct assoc_table *t)
{
	return t->fresh;
}

/* --- indexes --- */

static void tag_link(struct assoc_table *t, struct assoc *a)
{
	struct assoc **head = &t->tb[hash_tag(t, H_TAG, &a->p, a->itag_t) & t->mask];

	a->tnext = *head;
	if (*head)
		(*head)->tpprev = &a->tnext;
	a->tpprev = head;
	*head = a;
}

static void tag_unlink(struct assoc *a)
{
	if (!a->tpprev)
		return;
	*a->tpprev = a->tnext;
	if (a->tnext)
		a->tnext->tpprev = a->tpprev;
	a->tnext = NULL;
	a->tpprev = NULL;
}

static void ctag_link(struct assoc_table *t, struct assoc *a)
{
	struct assoc **head = &t->cb[hash_tag(t, H_CTAG, &a->p, a->itag_c) & t->mask];

	a->cnext = *head;
	if (*head)
		(*head)->cpprev = &a->cnext;
	a->cpprev = head;
	*head = a;
}

static void ctag_unlink(struct assoc *a)
{
	if (!a->cpprev)
		return;
	*a->cpprev = a->cnext;
	if (a->cnext)
		a->cnext->cpprev = a->cpprev;
	a->cnext = NULL;
	a->cpprev = NULL;
}

static void path_link(struct assoc_table *t, struct assoc *a, unsigned i)
{
	struct assoc_pnode *n = &a->pn[i];
	struct assoc_pnode **head = &t->pb[hash_path(t, &a->p, &a->paths[i]) & t->mask];

	n->owner = a;
	n->next = *head;
	if (*head)
		(*head)->pprev = &n->next;
	n->pprev = head;
	*head = n;
}

static void path_unlink(struct assoc_pnode *n)
{
	if (!n->pprev)
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}

/* The newest entry of p with itag_t tag (any state). */
static struct assoc *tag_find(struct assoc_table *t, const struct assoc_ports *p, uint32_t tag)
{
	for (struct assoc *a = t->tb[hash_tag(t, H_TAG, p, tag) & t->mask]; a; a = a->tnext)
		if (a->itag_t == tag && ports_eq(&a->p, p))
			return a;
	return NULL;
}

/* The newest entry of p with itag_c tag; live: not a closed one. */
static struct assoc *ctag_find(struct assoc_table *t, const struct assoc_ports *p, uint32_t tag,
			       bool live)
{
	for (struct assoc *a = t->cb[hash_tag(t, H_CTAG, p, tag) & t->mask]; a; a = a->cnext)
		if (a->itag_c == tag && ports_eq(&a->p, p) && (!live || a->state != ASSOC_CLOSED))
			return a;
	return NULL;
}

/* An established association of p with client address src: one the
 * target began without itag_c first (a collision), else the most recently
 * seen. */
static struct assoc *path_find(struct assoc_table *t, const struct assoc_ports *p,
			       const struct ip_addr *src)
{
	struct assoc *best = NULL;

	for (struct assoc_pnode *n = t->pb[hash_path(t, p, src) & t->mask]; n; n = n->next) {
		struct assoc *a = n->owner;

		if (a->state != ASSOC_EST || !ports_eq(&a->p, p) ||
		    !path_eq(&a->paths[n - a->pn], src))
			continue;
		if (!best || (a->itag_c == 0 && best->itag_c != 0) ||
		    ((a->itag_c == 0) == (best->itag_c == 0) && a->last_ms > best->last_ms))
			best = a;
	}
	return best;
}

/* --- age lists and states --- */

/* The age list a belongs in: its class.  An entry's list is remembered
 * (lk), so that a flag set by hand never leaves it on a list it is not
 * counted in. */
static int list_of(const struct assoc *a)
{
	switch (a->state) {
	case ASSOC_INIT:
		return L_PEND;
	case ASSOC_EST:
		return a->flags & ASSOC_F_CONFIRMED ? -1 : L_PEND;
	case ASSOC_CLOSED:
		return L_CLOSED;
	}
	return -1;
}

static bool pending(const struct assoc *a)
{
	return a->lk == L_PEND + 1;
}

static void list_unlink(struct assoc_table *t, struct assoc *a)
{
	int k = (int)a->lk - 1;

	if (k < 0)
		return;
	if (k == L_PEND && a->state == ASSOC_EST)
		t->unconf--;
	if (a->lprev)
		a->lprev->lnext = a->lnext;
	else
		t->lhead[k] = a->lnext;
	if (a->lnext)
		a->lnext->lprev = a->lprev;
	else
		t->ltail[k] = a->lprev;
	a->lprev = a->lnext = NULL;
	a->lk = 0;
	t->lcount[k]--;
}

static void list_append(struct assoc_table *t, struct assoc *a)
{
	int k = list_of(a);

	if (k < 0)
		return;
	if (k == L_PEND && a->state == ASSOC_EST)
		t->unconf++;
	a->lk = (uint8_t)(k + 1);
	a->lnext = NULL;
	a->lprev = t->ltail[k];
	if (t->ltail[k])
		t->ltail[k]->lnext = a;
	else
		t->lhead[k] = a;
	t->ltail[k] = a;
	t->lcount[k]++;
}

/* An INIT entry a leaves (enters) the pending slot of its ports. */
static void pend_leave(struct assoc_table *t, struct assoc *a)
{
	struct pend_slot *ps = pend_of(t, &a->p);

	if (ps->n)
		ps->n--;
	if (ps->newest == (uint32_t)(a - t->pool) + 1)
		ps->newest = 0;
}

static void pend_enter(struct assoc_table *t, struct assoc *a)
{
	struct pend_slot *ps = pend_of(t, &a->p);

	ps->n++;
	ps->newest = (uint32_t)(a - t->pool) + 1;
}

/* Leaves a's state (lists, pending slot, path index) and enters s. */
static void set_state(struct assoc_table *t, struct assoc *a, enum assoc_state s)
{
	switch (a->state) {
	case ASSOC_INIT:
		pend_leave(t, a);
		break;
	case ASSOC_EST:
		for (unsigned i = 0; i < a->n_paths; i++)
			path_unlink(&a->pn[i]);
		break;
	default:
		break;
	}
	list_unlink(t, a);
	if (a->state != ASSOC_FREE)
		t->nstate[a->state]--;
	a->state = (uint8_t)s;
	if (s != ASSOC_FREE)
		t->nstate[s]++;
	list_append(t, a);
	switch (s) {
	case ASSOC_INIT:
		pend_enter(t, a);
		break;
	case ASSOC_EST:
		for (unsigned i = 0; i < a->n_paths; i++)
			path_link(t, a, i);
		break;
	default:
		break;
	}
}

static bool in_pool(const struct assoc_table *t, const struct assoc *a)
{
	return a >= t->pool && a < t->pool + t->fresh && a->state != ASSOC_FREE;
}

void assoc_remove(struct assoc_table *t, struct assoc *a)
{
	if (!a || !in_pool(t, a))
		return;
	set_state(t, a, ASSOC_FREE);
	tag_unlink(a);
	ctag_unlink(a);
	a->tnext = t->free;
	t->free = a;
	t->count--;
}

/* The oldest pending entry goes, counted by its state. */
static void evict_pending(struct assoc_table *t)
{
	struct assoc *a = t->lhead[L_PEND];

	if (a->state == ASSOC_INIT)
		t->ctr.evicted_init++;
	else
		t->ctr.evicted_unconfirmed++;
	assoc_remove(t, a);
}

/* A free entry for p, making room if need be; the new entry will be
 * pending (an INIT, or a learn's unconfirmed one).  At the cap the oldest
 * pending entry goes; in a full pool the oldest closed entry, else the
 * oldest pending one.  Confirmed entries are never taken. */
static struct assoc *entry_new(struct assoc_table *t, const struct assoc_ports *p,
			       uint64_t now_ms)
{
	struct assoc *a;

	if (t->lcount[L_PEND] >= t->init_cap && t->lhead[L_PEND])
		evict_pending(t);
	if (!t->free && t->fresh == t->max) {
		if (t->lhead[L_CLOSED]) {
			assoc_remove(t, t->lhead[L_CLOSED]);
			t->ctr.evicted_closed++;
		} else if (t->lhead[L_PEND]) {
			evict_pending(t);
		} else {
			t->ctr.full++;
			return NULL;
		}
	}
	if (t->free) {
		a = t->free;
		t->free = a->tnext;
	} else {
		a = &t->pool[t->fresh++];
	}
	memset(a, 0, sizeof(*a));
	a->p = *p;
	a->target = ASSOC_NO_TARGET;
	a->created_ms = now_ms;
	a->last_ms = now_ms;
	t->count++;
	return a;
}

bool assoc_add_path(struct assoc_table *t, struct assoc *a, const struct ip_addr *addr)
{
	unsigned i;

	if (!addr || (addr->family != AF_INET && addr->family != AF_INET6))
		return false;
	for (i = 0; i < a->n_paths; i++)
		if (path_eq(&a->paths[i], addr))
			return false;
	if (a->n_paths >= ASSOC_PATHS)
		return false;
	addr_from_bytes(&a->paths[i], addr->family, addr->b);
	a->n_paths++;
	if (a->state == ASSOC_EST)
		path_link(t, a, i);
	return true;
}

/* --- INIT --- */

struct assoc *assoc_find_init(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c)
{
	return itag_c ? ctag_find(t, p, itag_c, true) : NULL;
}

/* Activity: a pending entry becomes the youngest of its list. */
static void touch(struct assoc_table *t, struct assoc *a, uint64_t now_ms)
{
	if (now_ms > a->last_ms)
		a->last_ms = now_ms;
	if (pending(a) && t->ltail[L_PEND] != a) {
		list_unlink(t, a);
		list_append(t, a);
	}
}

struct assoc *assoc_init(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			 const struct ip_addr *src, uint64_t now_ms, enum assoc_init_res *res)
{
	struct assoc *a, *old = NULL;

	if (itag_c == 0) {
		*res = ASSOC_I_BAD;
		return NULL;
	}
	a = ctag_find(t, p, itag_c, true);
	if (a) {
		/* The client resends its INIT until an INIT-ACK reaches it,
		 * with the same tag: the same target must answer. */
		a->inits++;
		touch(t, a, now_ms);
		*res = ASSOC_I_RETRANS;
		return a;
	}
	if (src && src->family)
		old = path_find(t, p, src);
	if (old && old->itag_c == 0) {
		/* The target's INIT and the client's crossed (RFC 9260 5.2.1):
		 * both ends keep their tags, so this is the same association. */
		old->itag_c = itag_c;
		ctag_link(t, old);
		old->flags |= ASSOC_F_COLLISION;
		old->inits++;
		touch(t, old, now_ms);
		*res = ASSOC_I_COLLISION;
		return old;
	}
	a = entry_new(t, p, now_ms);
	if (!a) {
		*res = ASSOC_I_FULL;
		return NULL;
	}
	/* An unconfirmed old one may have been the oldest pending entry,
	 * evicted for this one (its slot even reused): nothing to restart. */
	if (old && !in_pool(t, old))
		old = NULL;
	a->itag_c = itag_c;
	a->inits = 1;
	assoc_add_path(t, a, src);
	if (old) {
		/* A restart (RFC 9260 5.2.4 A) must reach the stack that holds
		 * the old TCB.  The old entry stays until the new tags are used:
		 * an INIT is cheap to forge, its answer's tag is not. */
		a->target = old->target;
		a->replaces = old->itag_t;
		a->flags |= ASSOC_F_RESTART;
	}
	ctag_link(t, a);
	set_state(t, a, ASSOC_INIT);
	*res = old ? ASSOC_I_RESTART : ASSOC_I_NEW;
	return a;
}

/* --- confirmation --- */

/* The client has a: it leaves the pending class for good.  1: it changed. */
static int confirm(struct assoc_table *t, struct assoc *a)
{
	if (a->state == ASSOC_EST && pending(a)) {
		list_unlink(t, a);
		a->flags |= ASSOC_F_CONFIRMED;
		t->ctr.confirmed++;
		return 1;
	}
	if (a->flags & ASSOC_F_CONFIRMED)
		return 0;
	a->flags |= ASSOC_F_CONFIRMED;
	return 1;
}

int assoc_confirm(struct assoc_table *t, struct assoc *a)
{
	if (!a || !in_pool(t, a) || (a->state != ASSOC_EST && a->state != ASSOC_CLOSED))
		return -EINVAL;
	return confirm(t, a);
}

void assoc_hinted(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag)
{
	struct pend_slot *ps = pend_of(t, p);
	struct assoc *a;

	if (!vtag || !ps->n || !ps->newest)
		return;
	a = &t->pool[ps->newest - 1];
	if (a->state == ASSOC_INIT && ports_eq(&a->p, p))
		a->hinted = vtag;
}

/* --- learn --- */

struct assoc *assoc_learn(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			  uint32_t itag_t, uint32_t target, const struct ip_addr *client,
			  uint64_t now_ms, enum assoc_learn_res *res)
{
	struct assoc *a, *i = NULL;

	if (itag_t == 0) {
		*res = ASSOC_L_BAD;
		return NULL;
	}
	a = tag_find(t, p, itag_t);
	if (a) {
		/* The same news again (retransmitted, or replicated twice). */
		if (a->itag_c == 0 && itag_c != 0 && a->state == ASSOC_EST) {
			a->itag_c = itag_c;
			ctag_link(t, a);
		}
		if (a->state == ASSOC_EST)
			assoc_add_path(t, a, client);
		*res = ASSOC_L_DUP;
		return a;
	}
	if (itag_c)
		i = ctag_find(t, p, itag_c, true);
	if (i && i->state == ASSOC_INIT) {
		i->itag_t = itag_t;
		tag_link(t, i);
		if (target != ASSOC_NO_TARGET) {
			if (i->target != ASSOC_NO_TARGET && i->target != target)
				i->flags |= ASSOC_F_RETARGET;
			i->target = target;
		}
		i->est_ms = now_ms;
		if (now_ms > i->last_ms)
			i->last_ms = now_ms;
		set_state(t, i, ASSOC_EST);
		/* The COOKIE ECHO with this tag went by the hint already. */
		if (i->hinted == itag_t)
			confirm(t, i);
		i->hinted = 0;
		assoc_add_path(t, i, client);
		*res = ASSOC_L_EST;
		return i;
	}
	if (!i && target == ASSOC_NO_TARGET) {
		*res = ASSOC_L_UNKNOWN;
		return NULL;
	}
	if (i && target == ASSOC_NO_TARGET)
		target = i->target;
	a = entry_new(t, p, now_ms);
	if (!a) {
		*res = ASSOC_L_FULL;
		return NULL;
	}
	/* An unconfirmed i may have been evicted for a (its slot even
	 * reused): then there is nothing to replace. */
	if (i && !in_pool(t, i))
		i = NULL;
	a->itag_c = itag_c;
	a->itag_t = itag_t;
	a->est_ms = now_ms;
	if (i) {
		/* The target answered a second INIT of an established
		 * association with a new tag (RFC 9260 5.2.2): the client may
		 * move to it; the old entry routes until it does. */
		a->target = target;
		a->replaces = i->itag_t;
		for (unsigned k = 0; k < i->n_paths; k++)
			assoc_add_path(t, a, &i->paths[k]);
		*res = ASSOC_L_RETAG;
	} else {
		a->target = target;
		if (!itag_c)
			a->flags |= ASSOC_F_TGT_INIT;
		*res = ASSOC_L_CREATED;
	}
	assoc_add_path(t, a, client);
	tag_link(t, a);
	if (itag_c)
		ctag_link(t, a);
	set_state(t, a, ASSOC_EST);
	return a;
}

int assoc_set_itag_c(struct assoc_table *t, struct assoc *a, uint32_t itag_c)
{
	if (!itag_c)
		return -EINVAL;
	if (!in_pool(t, a) || a->state != ASSOC_EST || a->itag_c)
		return -EEXIST;
	a->itag_c = itag_c;
	ctag_link(t, a);
	return 0;
}

/* --- packets --- */

enum assoc_find assoc_lookup(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag,
			     bool tbit, struct assoc **out, uint32_t *hint)
{
	struct assoc *a = NULL;
	struct pend_slot *ps;

	*out = NULL;
	if (hint)
		*hint = ASSOC_NO_TARGET;
	if (vtag == 0)
		return ASSOC_NONE;
	a = tbit ? ctag_find(t, p, vtag, false) : tag_find(t, p, vtag);
	if (a) {
		*out = a;
		return ASSOC_HIT;
	}
	if (tbit)
		return ASSOC_NONE;
	ps = pend_of(t, p);
	if (!ps->n)
		return ASSOC_NONE;
	if (hint && ps->newest) {
		a = &t->pool[ps->newest - 1];
		if (a->state == ASSOC_INIT && ports_eq(&a->p, p))
			*hint = a->target;
	}
	return ASSOC_UNKNOWN_TAG;
}

bool assoc_seen(struct assoc_table *t, struct assoc *a, uint32_t vtag, const struct ip_addr *src,
		size_t len, uint64_t now_ms, struct assoc *old)
{
	struct assoc *o;

	if (!in_pool(t, a))
		return false;
	a->packets++;
	a->bytes += len;
	if (a->state != ASSOC_CLOSED)
		touch(t, a, now_ms);
	assoc_add_path(t, a, src);
	if (a->state != ASSOC_EST || vtag != a->itag_t)
		return false;
	/* Only the client (or one on its path) knows itag_t. */
	confirm(t, a);
	if (!a->replaces)
		return false;
	o = tag_find(t, &a->p, a->replaces);
	a->replaces = 0;
	if (!o || o == a)
		return false;
	if (old) {
		*old = *o;
		old->tnext = old->cnext = old->lprev = old->lnext = NULL;
		old->tpprev = old->cpprev = NULL;
		memset(old->pn, 0, sizeof(old->pn));
	}
	assoc_remove(t, o);
	t->ctr.replaced++;
	return true;
}

void assoc_end(struct assoc_table *t, struct assoc *a, uint64_t now_ms)
{
	if (!in_pool(t, a) || a->state == ASSOC_CLOSED)
		return;
	if (now_ms > a->last_ms)
		a->last_ms = now_ms;
	set_state(t, a, ASSOC_CLOSED);
}

/* --- a reload's renumbering --- */

/* a's ep after the remap; UINT32_MAX: its VIPA is gone. */
static uint32_t remap_ep(const struct assoc *a, const uint32_t *ep_map, size_t n_ep)
{
	if (!ep_map)
		return a->p.ep;
	return a->p.ep < n_ep ? ep_map[a->p.ep] : UINT32_MAX;
}

void assoc_remap(struct assoc_table *t, const uint32_t *ep_map, size_t n_ep,
		 const uint32_t *node_map, size_t n_node, struct assoc_remap_res *res)
{
	struct assoc_remap_res r = { 0 };
	struct assoc *moving = NULL, *a, *next;
	size_t i;

	/* 1: the entries of VIPAs that are gone go; targets follow their node. */
	for (i = 0; i < t->fresh; i++) {
		a = &t->pool[i];
		if (a->state == ASSOC_FREE)
			continue;
		if (remap_ep(a, ep_map, n_ep) == UINT32_MAX) {
			assoc_remove(t, a);
			r.removed++;
			continue;
		}
		if (node_map && a->target != ASSOC_NO_TARGET) {
			uint32_t nt = a->target < n_node ? node_map[a->target] : ASSOC_NO_TARGET;

			if (nt != a->target) {
				if (nt == ASSOC_NO_TARGET)
					r.untargeted++;
				else
					r.retargeted++;
				a->target = nt;
			}
		}
	}
	/* 2: the movers leave their pending slots, and the client-tag chains
	 * holding one: their movers leave, pushed on a list (through cnext)
	 * that so holds each chain's movers last first.  Pushing them back at
	 * the heads in list order (4) keeps the order of the entries of one
	 * key (newest first: ctag_find's answer), whatever the pool's order.
	 * Every ep is still the old one here: every pass agrees on who moves. */
	for (i = 0; i < t->fresh; i++) {
		a = &t->pool[i];
		if (a->state == ASSOC_FREE || remap_ep(a, ep_map, n_ep) == a->p.ep)
			continue;
		/* Every mover leaves its pending slot before any enters one:
		 * a slot's hint is never cleared by a later leaver. */
		if (a->state == ASSOC_INIT)
			pend_leave(t, a);
		if (!a->cpprev)
			continue;
		for (struct assoc *c = t->cb[hash_tag(t, H_CTAG, &a->p, a->itag_c) & t->mask]; c;
		     c = next) {
			next = c->cnext;
			if (remap_ep(c, ep_map, n_ep) == c->p.ep)
				continue;
			ctag_unlink(c);
			c->cnext = moving;
			moving = c;
		}
	}
	/* 3: each mover takes its new key in the tag and path indexes and the
	 * pending slots (an INIT entry enters its new one).  Unlinking goes by pointers, not hashes: an entry
	 * taking the key another one still has (two VIPAs swapping indexes)
	 * breaks no chain.  Keys of the tag index are unique: order is moot. */
	for (i = 0; i < t->fresh; i++) {
		uint32_t ne;
		bool tagged;

		a = &t->pool[i];
		if (a->state == ASSOC_FREE || (ne = remap_ep(a, ep_map, n_ep)) == a->p.ep)
			continue;
		tagged = a->tpprev != NULL;
		tag_unlink(a);
		if (a->state == ASSOC_EST)
			for (unsigned k = 0; k < a->n_paths; k++)
				path_unlink(&a->pn[k]);
		a->p.ep = ne;
		if (tagged)
			tag_link(t, a);
		if (a->state == ASSOC_EST)
			for (unsigned k = 0; k < a->n_paths; k++)
				path_link(t, a, k);
		if (a->state == ASSOC_INIT) {
			/* The slot's hint stays the newest INIT, whatever the
			 * order the pool gives. */
			struct pend_slot *ps = pend_of(t, &a->p);
			const struct assoc *h = ps->newest ? &t->pool[ps->newest - 1] : NULL;

			ps->n++;
			if (!h || h->state != ASSOC_INIT || h->created_ms <= a->created_ms)
				ps->newest = (uint32_t)(a - t->pool) + 1;
		}
		r.moved++;
	}
	/* 4: back into the client-tag index under the new keys. */
	for (a = moving; a; a = next) {
		next = a->cnext;
		a->cnext = NULL;
		ctag_link(t, a);
	}
	if (res)
		*res = r;
}

void assoc_remap_stage(struct assoc_table *t, struct assoc_remap_plan *p)
{
	struct assoc_remap_plan **pp = &t->staged;

	while (*pp)
		pp = &(*pp)->next;
	p->next = NULL;
	memset(&p->res, 0, sizeof(p->res));
	*pp = p;
}

size_t assoc_remap_take(struct assoc_table *t, uint64_t gen)
{
	size_t n = 0;

	while (t->staged && t->staged->gen <= gen) {
		struct assoc_remap_plan *p = t->staged;

		assoc_remap(t, p->ep_map, p->n_ep, p->node_map, p->n_node, &p->res);
		t->staged = p->next;
		n++;
	}
	return n;
}

const struct assoc_remap_plan *assoc_remap_staged(const struct assoc_table *t)
{
	return t->staged;
}

/* One plan forward: false when the VIPA is gone. */
static bool remap_fwd_one(const struct assoc_remap_plan *p, uint32_t *ep, uint32_t *node)
{
	if (ep && p->ep_map) {
		if (*ep >= p->n_ep || p->ep_map[*ep] == UINT32_MAX)
			return false;
		*ep = p->ep_map[*ep];
	}
	if (node && p->node_map && *node != ASSOC_NO_TARGET)
		*node = *node < p->n_node ? p->node_map[*node] : ASSOC_NO_TARGET;
	return true;
}

bool assoc_remap_fwd(const struct assoc_table *t, uint32_t *ep, uint32_t *node)
{
	for (const struct assoc_remap_plan *p = t->staged; p; p = p->next)
		if (!remap_fwd_one(p, ep, node))
			return false;
	return true;
}

/* The old index that map sends to x (maps are one to one, and short: a
 * configuration's VIPAs or nodes); UINT32_MAX when none does. */
static uint32_t remap_inverse(const uint32_t *map, size_t n, uint32_t x)
{
	if (!map)
		return x;
	for (size_t i = 0; i < n; i++)
		if (map[i] == x)
			return (uint32_t)i;
	return UINT32_MAX;
}

/* Plans p and after, newest first. */
static bool remap_back_from(const struct assoc_remap_plan *p, uint32_t *ep, uint32_t *node)
{
	if (!p)
		return true;
	if (!remap_back_from(p->next, ep, node))
		return false;
	if (ep && (*ep = remap_inverse(p->ep_map, p->n_ep, *ep)) == UINT32_MAX)
		return false;
	if (node && *node != ASSOC_NO_TARGET &&
	    (*node = remap_inverse(p->node_map, p->n_node, *node)) == UINT32_MAX)
		return false;
	return true;
}

bool assoc_remap_back(const struct assoc_table *t, uint32_t *ep, uint32_t *node)
{
	return remap_back_from(t->staged, ep, node);
}

/* --- expiry and iteration --- */

static uint32_t timeout_s(const struct assoc *a, const struct assoc_timeouts *to)
{
	switch (a->state) {
	case ASSOC_INIT:
		return to->init_s;
	case ASSOC_EST:
		return pending(a) ? to->init_s : to->est_s;
	case ASSOC_CLOSED:
		return to->closed_s;
	}
	return 0;
}

size_t assoc_expire(struct assoc_table *t, uint64_t now_ms, const struct assoc_timeouts *to,
		    size_t budget, void (*cb)(const struct assoc *a, void *arg), void *arg)
{
	size_t removed = 0;

	if (budget > t->fresh)
		budget = t->fresh;
	while (budget--) {
		struct assoc *a;

		if (t->cursor >= t->fresh)
			t->cursor = 0;
		a = &t->pool[t->cursor++];
		if (a->state == ASSOC_FREE || now_ms <= a->last_ms ||
		    now_ms - a->last_ms <= (uint64_t)timeout_s(a, to) * 1000)
			continue;
		if (cb)
			cb(a, arg);
		assoc_remove(t, a);
		t->ctr.expired++;
		removed++;
	}
	return removed;
}

size_t assoc_foreach_chunk(struct assoc_table *t, size_t start, size_t n,
			   void (*cb)(const struct assoc *a, void *arg), void *arg)
{
	size_t end;

	if (start >= t->fresh)
		return t->fresh;
	end = n < t->fresh - start ? start + n : t->fresh;
	for (; start < end; start++)
		if (t->pool[start].state != ASSOC_FREE)
			cb(&t->pool[start], arg);
	return end;
}
