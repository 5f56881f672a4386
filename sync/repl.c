/* SPDX-License-Identifier: GPL-2.0-or-later */
/* repl: replication records and the replica store (see repl.h). */
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "nfq/hoff.h"
#include "sync/repl.h"
#include "sync/tlv.h"
#include "sync/wire.h"

static const char *const err_names[] = {
	"ok", "inval", "tlv", "format", "full", "notfound", "limit", "stale", "incomplete",
};

const char *repl_err_name(int err)
{
	if (err > 0 || (size_t)-err >= sizeof(err_names) / sizeof(err_names[0]))
		return "unknown";
	return err_names[-err];
}

/* --- validation, shared by the writer, the decoder and the store --- */

static bool proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* The states conn.c gives each protocol: TCP is tracked, others stay UDP. */
static bool state_ok(uint8_t proto, uint8_t state)
{
	if (proto == IPPROTO_TCP)
		return state == CONN_SYN || state == CONN_EST || state == CONN_FIN ||
		       state == CONN_CLOSED;
	return state == CONN_UDP;
}

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Set, of that family, nothing after a v4 address. */
static bool addr_ok(const struct ip_addr *a, uint8_t family)
{
	size_t n = family == AF_INET ? 4 : 16;

	return a->family == family && !zero(a->b, n) && zero(a->b + n, 16 - n);
}

static bool key_ok(const struct conn_key *k)
{
	if (k->family != AF_INET && k->family != AF_INET6)
		return false;
	return proto_ok(k->proto) && k->cport && k->vport && addr_ok(&k->caddr, k->family) &&
	       addr_ok(&k->vaddr, k->family);
}

static bool ws_ok(int8_t ws)
{
	return ws >= -1 && ws <= 14;
}

/* What REPL_TLV_HOFF can carry: only the front-end's entries travel. */
static bool hoff_ok(const struct conn_hoff *h, uint8_t proto)
{
	if (h->role != CONN_HOFF_FE)
		return h->role <= CONN_HOFF_TGT;
	return proto == IPPROTO_TCP && h->id && !(h->flags & ~(HOFF_F_SACK | HOFF_F_TS)) &&
	       ws_ok(h->ws_t) && ws_ok(h->ws_f) && ws_ok(h->ws_c);
}

bool repl_conn_valid(const struct repl_conn *c)
{
	return c && key_ok(&c->key) && state_ok(c->key.proto, c->state) && c->tport &&
	       addr_ok(&c->taddr, c->key.family) && hoff_ok(&c->hoff, c->key.proto);
}

void repl_conn_from(struct repl_conn *c, const struct conn *e)
{
	memset(c, 0, sizeof(*c));
	c->key = e->key;
	c->taddr = e->taddr;
	c->tport = e->tport;
	c->target = e->target;
	c->state = e->state;
	c->flags = e->repl.flags;
	c->hoff = e->hoff;
}

/* --- encoding --- */

static void enc_key(uint8_t out[REPL_DEL_LEN], const struct conn_key *k)
{
	memset(out, 0, REPL_DEL_LEN);
	out[0] = k->family == AF_INET ? 4 : 6;
	out[1] = k->proto;
	be_put16(out + 4, k->cport);
	be_put16(out + 6, k->vport);
	memcpy(out + 8, k->caddr.b, addr_len(&k->caddr));
	memcpy(out + 24, k->vaddr.b, addr_len(&k->vaddr));
}

static void enc_conn(uint8_t out[REPL_CONN_LEN], const struct repl_conn *c)
{
	enc_key(out, &c->key);	/* the first 40 bytes, zeros in 2..3 */
	memset(out + REPL_DEL_LEN, 0, REPL_CONN_LEN - REPL_DEL_LEN);
	out[2] = c->state;
	/* The flag says a HOFF follows: it is the role's, whatever c says. */
	out[3] = (uint8_t)((c->flags & ~REPL_F_HANDOFF) |
			   (c->hoff.role == CONN_HOFF_FE ? REPL_F_HANDOFF : 0));
	memcpy(out + 40, c->taddr.b, addr_len(&c->taddr));
	be_put16(out + 56, c->tport);
	be_put32(out + 60, c->target);
}

static void enc_hoff(uint8_t out[REPL_HOFF_LEN], const struct conn_hoff *h)
{
	memset(out, 0, REPL_HOFF_LEN);
	be_put32(out, h->id);
	be_put32(out + 4, h->delta);
	be_put32(out + 8, h->tsoff);
	be_put32(out + 12, h->peer);
	out[16] = h->flags;
	out[17] = (uint8_t)h->ws_t;
	out[18] = (uint8_t)h->ws_f;
	out[19] = h->role;
	out[20] = (uint8_t)h->ws_c;
}

void repl_writer_init(struct repl_writer *w, uint8_t *buf, size_t cap)
{
	tlv_writer_init(&w->tlv, buf, cap < REPL_BODY_MAX ? cap : REPL_BODY_MAX);
	w->n = 0;
	w->err = REPL_OK;
}

/* Asks first, so that a record that does not fit leaves the writer usable
 * for a smaller one (the caller sends the body and starts another). */
static bool put_tlv(struct repl_writer *w, uint16_t type, const uint8_t *val, uint16_t len)
{
	if (!tlv_fits(&w->tlv, len) || !tlv_put(&w->tlv, type, val, len))
		return false;
	w->n++;
	return true;
}

static bool refuse(struct repl_writer *w)
{
	w->err = REPL_ERR_INVAL;
	return false;
}

bool repl_put_conn(struct repl_writer *w, const struct repl_conn *c)
{
	uint8_t v[REPL_CONN_LEN], h[REPL_HOFF_LEN];

	if (!repl_conn_valid(c))
		return refuse(w);
	enc_conn(v, c);
	if (c->hoff.role != CONN_HOFF_FE)
		return put_tlv(w, REPL_TLV_CONN, v, sizeof(v));
	/* Both or neither: a CONN whose HOFF went to the next body would
	 * refuse this one whole at the receiver. */
	if (!tlv_fits(&w->tlv, tlv_space(REPL_CONN_LEN) + REPL_HOFF_LEN))
		return false;
	enc_hoff(h, &c->hoff);
	if (!tlv_put(&w->tlv, REPL_TLV_CONN, v, sizeof(v)) ||
	    !tlv_put(&w->tlv, REPL_TLV_HOFF, h, sizeof(h)))
		return false;	/* cannot happen: it fitted */
	w->n++;
	return true;
}

bool repl_put_del(struct repl_writer *w, const struct conn_key *k)
{
	uint8_t v[REPL_DEL_LEN];

	if (!k || !key_ok(k))
		return refuse(w);
	enc_key(v, k);
	return put_tlv(w, REPL_TLV_DEL, v, sizeof(v));
}

bool repl_put_bulk_begin(struct repl_writer *w, uint32_t bulk_id)
{
	uint8_t v[REPL_BULK_BEGIN_LEN];

	be_put32(v, bulk_id);
	return put_tlv(w, REPL_TLV_BULK_BEGIN, v, sizeof(v));
}

bool repl_put_bulk_end(struct repl_writer *w, uint32_t bulk_id, uint32_t count)
{
	uint8_t v[REPL_BULK_END_LEN];

	be_put32(v, bulk_id);
	be_put32(v + 4, count);
	return put_tlv(w, REPL_TLV_BULK_END, v, sizeof(v));
}

bool repl_put_vipa(struct repl_writer *w, const struct ip_addr *vipa)
{
	uint8_t v[REPL_VIPA_LEN] = { 0 };

	if (!vipa || (vipa->family != AF_INET && vipa->family != AF_INET6) ||
	    !addr_ok(vipa, vipa->family))
		return refuse(w);
	v[0] = vipa->family == AF_INET ? 4 : 6;
	memcpy(v + 4, vipa->b, addr_len(vipa));
	return put_tlv(w, REPL_TLV_VIPA, v, sizeof(v));
}

/* --- decoding --- */

static bool dec_family(uint8_t wire, uint8_t *family)
{
	if (wire == 4)
		*family = AF_INET;
	else if (wire == 6)
		*family = AF_INET6;
	else
		return false;
	return true;
}

/* The address bytes are copied whole, so a v4 address with a non-zero
 * tail fails addr_ok. */
static void dec_addr(struct ip_addr *a, uint8_t family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->b, p, 16);
}

/* The 40 key bytes of CONN and DEL; bytes 2..3 are the caller's. */
static bool dec_key(const uint8_t *v, struct conn_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!dec_family(v[0], &k->family))
		return false;
	k->proto = v[1];
	k->cport = be_get16(v + 4);
	k->vport = be_get16(v + 6);
	dec_addr(&k->caddr, k->family, v + 8);
	dec_addr(&k->vaddr, k->family, v + 24);
	return key_ok(k);
}

/* One TLV into r: 1 for a record, 0 for a TLV to skip, REPL_ERR_FORMAT. */
static int dec_tlv(uint16_t type, const uint8_t *v, uint16_t len, struct repl_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	switch (type) {
	case REPL_TLV_CONN:
		if (len != REPL_CONN_LEN || !dec_key(v, &r->conn.key))
			return REPL_ERR_FORMAT;
		r->conn.state = v[2];
		r->conn.flags = v[3];
		dec_addr(&r->conn.taddr, r->conn.key.family, v + 40);
		r->conn.tport = be_get16(v + 56);
		r->conn.target = be_get32(v + 60);
		if (be_get16(v + 58) != 0 || !repl_conn_valid(&r->conn))
			return REPL_ERR_FORMAT;
		return 1;
	case REPL_TLV_DEL:
		if (len != REPL_DEL_LEN || be_get16(v + 2) != 0 || !dec_key(v, &r->key))
			return REPL_ERR_FORMAT;
		return 1;
	case REPL_TLV_BULK_BEGIN:
		if (len != REPL_BULK_BEGIN_LEN)
			return REPL_ERR_FORMAT;
		r->bulk.id = be_get32(v);
		return 1;
	case REPL_TLV_BULK_END:
		if (len != REPL_BULK_END_LEN)
			return REPL_ERR_FORMAT;
		r->bulk.id = be_get32(v);
		r->bulk.count = be_get32(v + 4);
		return 1;
	case REPL_TLV_VIPA:
		if (len != REPL_VIPA_LEN || !dec_family(v[0], &r->vipa.family) ||
		    !zero(v + 1, 3))
			return REPL_ERR_FORMAT;
		dec_addr(&r->vipa, r->vipa.family, v + 4);
		return addr_ok(&r->vipa, r->vipa.family) ? 1 : REPL_ERR_FORMAT;
	case REPL_TLV_HOFF:
		/* Not a record of its own: walk() pairs it with its CONN. */
		return len == REPL_HOFF_LEN ? 1 : REPL_ERR_FORMAT;
	default:
		return 0;
	}
}

/* A HOFF's value into the CONN c before it (flag set, role not yet). */
static int dec_hoff(const uint8_t *v, struct repl_conn *c)
{
	struct conn_hoff *h = &c->hoff;

	memset(h, 0, sizeof(*h));
	h->id = be_get32(v);
	h->delta = be_get32(v + 4);
	h->tsoff = be_get32(v + 8);
	h->peer = be_get32(v + 12);
	h->flags = v[16];
	h->ws_t = (int8_t)v[17];
	h->ws_f = (int8_t)v[18];
	h->role = v[19];
	h->ws_c = (int8_t)v[20];
	if (h->role != CONN_HOFF_FE || !zero(v + 21, 3) || !repl_conn_valid(c))
		return REPL_ERR_FORMAT;
	return 1;
}

/* One pass over a framed body: counts records, calls fn if given. */
static int walk(const uint8_t *body, size_t len, repl_rec_fn fn, void *arg)
{
	struct tlv_iter it;
	struct repl_rec r;
	const uint8_t *v;
	uint16_t type, vlen;
	struct repl_rec held;	/* a CONN with REPL_F_HANDOFF waiting for its HOFF */
	bool holding = false;
	int n = 0, rc;

	tlv_iter_init(&it, body, len);
	while (tlv_next(&it, &type, &v, &vlen)) {
		/* The pair is adjacent: anything but a HOFF after a flagged
		 * CONN, or a HOFF after anything else, is malformed. */
		if (holding != (type == REPL_TLV_HOFF))
			return REPL_ERR_FORMAT;
		if (holding) {
			rc = dec_tlv(type, v, vlen, &r);
			if (rc < 0 || (rc = dec_hoff(v, &held.conn)) < 0)
				return REPL_ERR_FORMAT;
			r = held;
			holding = false;
		} else {
			rc = dec_tlv(type, v, vlen, &r);
			if (rc < 0)
				return rc;
			if (rc == 0)
				continue;
			if (r.type == REPL_TLV_CONN && (r.conn.flags & REPL_F_HANDOFF)) {
				held = r;
				holding = true;
				continue;
			}
		}
		if (fn && (rc = fn(&r, arg)) < 0)
			return rc;
		n++;
	}
	return holding ? REPL_ERR_FORMAT : n;
}

int repl_decode(const uint8_t *body, size_t len, repl_rec_fn fn, void *arg)
{
	int n;

	if (!body)
		return len ? REPL_ERR_INVAL : 0;
	/* A body fits one datagram: larger is not a replication body, and the
	 * count below cannot overflow an int. */
	if (len > WIRE_MAX)
		return REPL_ERR_INVAL;
	if (!tlv_framing_ok(body, len))
		return REPL_ERR_TLV;
	/* Validate everything before delivering anything. */
	n = walk(body, len, NULL, NULL);
	if (n < 0 || !fn)
		return n;
	return walk(body, len, fn, arg);
}

/* --- the replica store --- */

struct bulk_slot {
	uint32_t origin, id;
	uint32_t received;	/* CONNs from origin since its BEGIN */
	bool active;
};

struct repl_store {
	struct conn_table *t;
	struct bulk_slot bulk[REPL_BULK_SLOTS];
};

struct repl_store *repl_store_new(size_t max_entries)
{
	struct repl_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = conn_table_new(max_entries);
	if (!s->t) {
		free(s);
		return NULL;
	}
	return s;
}

void repl_store_free(struct repl_store *s)
{
	if (!s)
		return;
	conn_table_free(s->t);
	free(s);
}

int repl_store_set_seed(struct repl_store *s, uint64_t seed0, uint64_t seed1)
{
	return conn_table_set_seed(s->t, seed0, seed1);
}

size_t repl_store_count(const struct repl_store *s)
{
	return conn_count(s->t);
}

static struct bulk_slot *bulk_find(struct repl_store *s, uint32_t origin)
{
	for (size_t i = 0; i < REPL_BULK_SLOTS; i++)
		if (s->bulk[i].active && s->bulk[i].origin == origin)
			return &s->bulk[i];
	return NULL;
}

int repl_store_apply_conn(struct repl_store *s, uint32_t origin, const struct repl_conn *c,
			  uint64_t now_ms)
{
	struct bulk_slot *b;
	struct conn *e;

	if (!repl_conn_valid(c))
		return REPL_ERR_INVAL;
	e = conn_lookup(s->t, &c->key);
	if (!e && !(e = conn_insert(s->t, &c->key, 0)))
		return REPL_ERR_FULL;
	e->taddr = c->taddr;
	e->tport = c->tport;
	e->target = c->target;
	e->state = c->state;
	e->repl.origin = origin;
	e->repl.flags = c->flags;
	e->repl.stale = 0;
	e->hoff = c->hoff;
	e->last_ms = now_ms;
	b = bulk_find(s, origin);
	if (b && b->received < UINT32_MAX)
		b->received++;
	return REPL_OK;
}

int repl_store_apply_del(struct repl_store *s, const struct conn_key *k)
{
	return repl_store_remove(s, k);
}

struct mark_ctx {
	struct conn_table *t;
	uint32_t origin;
};

static int mark_one(const struct conn *c, void *arg)
{
	struct mark_ctx *m = arg;

	/* foreach hands out const entries: find the writable one by its key. */
	if (c->repl.origin == m->origin)
		conn_lookup(m->t, &c->key)->repl.stale = 1;
	return 0;
}

int repl_store_bulk_begin(struct repl_store *s, uint32_t origin, uint32_t bulk_id)
{
	struct mark_ctx m = { .t = s->t, .origin = origin };
	struct bulk_slot *b = bulk_find(s, origin);

	for (size_t i = 0; !b && i < REPL_BULK_SLOTS; i++)
		if (!s->bulk[i].active)
			b = &s->bulk[i];
	if (!b)
		return REPL_ERR_LIMIT;
	b->active = true;
	b->origin = origin;
	b->id = bulk_id;
	b->received = 0;
	conn_foreach(s->t, mark_one, &m);
	return REPL_OK;
}

/* Removal while walking the table: an entry is removed only when the walk
 * has moved past it (at the next visit, or after the walk), so the walk
 * never stands on a freed entry whichever way it steps to the next. */
struct sweep_ctx {
	struct conn_table *t;
	uint32_t origin;
	bool stale_only;
	struct conn *pending;
	size_t removed;
};

static void sweep_flush(struct sweep_ctx *w)
{
	if (!w->pending)
		return;
	conn_remove(w->t, w->pending);
	w->pending = NULL;
	w->removed++;
}

static int sweep_one(const struct conn *c, void *arg)
{
	struct sweep_ctx *w = arg;

	sweep_flush(w);
	if (c->repl.origin == w->origin && (!w->stale_only || c->repl.stale))
		w->pending = conn_lookup(w->t, &c->key);
	return 0;
}

static size_t sweep(struct repl_store *s, uint32_t origin, bool stale_only)
{
	struct sweep_ctx w = { .t = s->t, .origin = origin, .stale_only = stale_only };

	conn_foreach(s->t, sweep_one, &w);
	sweep_flush(&w);
	return w.removed;
}

int repl_store_bulk_end(struct repl_store *s, uint32_t origin, uint32_t bulk_id, uint32_t count,
			size_t *swept)
{
	struct bulk_slot *b = bulk_find(s, origin);

	if (swept)
		*swept = 0;
	if (!b || b->id != bulk_id)
		return REPL_ERR_STALE;
	b->active = false;
	/* Records lost on the way: sweeping now would drop live connections.
	 * The stale marks are harmless; the next BEGIN sets them afresh. */
	if (b->received < count)
		return REPL_ERR_INCOMPLETE;
	if (swept)
		*swept = sweep(s, origin, true);
	else
		sweep(s, origin, true);
	return REPL_OK;
}

int repl_store_apply(struct repl_store *s, uint32_t origin, const struct repl_rec *r,
		     uint64_t now_ms)
{
	switch (r->type) {
	case REPL_TLV_CONN:
		return repl_store_apply_conn(s, origin, &r->conn, now_ms);
	case REPL_TLV_DEL:
		return repl_store_apply_del(s, &r->key);
	case REPL_TLV_BULK_BEGIN:
		return repl_store_bulk_begin(s, origin, r->bulk.id);
	case REPL_TLV_BULK_END:
		return repl_store_bulk_end(s, origin, r->bulk.id, r->bulk.count, NULL);
	case REPL_TLV_VIPA:
		return REPL_OK;
	default:
		return REPL_ERR_INVAL;
	}
}

bool repl_store_lookup(struct repl_store *s, const struct conn_key *k, struct repl_conn *out,
		       uint32_t *origin)
{
	const struct conn *e = conn_lookup(s->t, k);

	if (!e)
		return false;
	if (out)
		repl_conn_from(out, e);
	if (origin)
		*origin = e->repl.origin;
	return true;
}

int repl_store_remove(struct repl_store *s, const struct conn_key *k)
{
	struct conn *e = conn_lookup(s->t, k);

	if (!e)
		return REPL_ERR_NOTFOUND;
	conn_remove(s->t, e);
	return REPL_OK;
}

bool repl_store_take(struct repl_store *s, const struct conn_key *k, struct repl_conn *out,
		     uint32_t *origin)
{
	struct conn *e = conn_lookup(s->t, k);

	if (!e)
		return false;
	if (out)
		repl_conn_from(out, e);
	if (origin)
		*origin = e->repl.origin;
	conn_remove(s->t, e);
	return true;
}

struct visit_ctx {
	int (*cb)(const struct repl_conn *c, uint32_t origin, void *arg);
	void *arg;
};

static int visit_one(const struct conn *e, void *arg)
{
	struct visit_ctx *v = arg;
	struct repl_conn c;

	repl_conn_from(&c, e);
	return v->cb(&c, e->repl.origin, v->arg);
}

int repl_store_foreach(struct repl_store *s,
		       int (*cb)(const struct repl_conn *c, uint32_t origin, void *arg), void *arg)
{
	struct visit_ctx v = { .cb = cb, .arg = arg };

	return conn_foreach(s->t, visit_one, &v);
}

size_t repl_store_expire_origin(struct repl_store *s, uint32_t origin)
{
	struct bulk_slot *b = bulk_find(s, origin);

	if (b)
		b->active = false;
	return sweep(s, origin, false);
}

struct expire_ctx {
	uint64_t now_ms;
	const struct conn_timeouts *to;
	uint64_t (*stopped)(uint32_t origin, void *arg);
	void *arg;
};

static bool replica_dead(const struct conn *c, void *arg)
{
	const struct expire_ctx *x = arg;
	uint64_t since = x->stopped(c->repl.origin, x->arg), from;

	if (!since)
		return false;
	from = c->last_ms > since ? c->last_ms : since;
	return x->now_ms > from && x->now_ms - from > (uint64_t)conn_timeout_s(c, x->to) * 1000;
}

size_t repl_store_expire(struct repl_store *s, uint64_t now_ms, const struct conn_timeouts *to,
			 size_t budget, uint64_t (*stopped)(uint32_t origin, void *arg), void *arg)
{
	struct expire_ctx x = { .now_ms = now_ms, .to = to, .stopped = stopped, .arg = arg };

	return conn_sweep(s->t, budget, replica_dead, &x);
}
