/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sctpmsg: SCTP association failover's cluster messages (see sctpmsg.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "sync/msg.h"
#include "sync/sctpmsg.h"
#include "sync/wire.h"

static const char *const err_names[] = { "ok", "inval", "tlv", "format" };

const char *sctp_err_name(int err)
{
	if (err > 0 || (size_t)-err >= sizeof(err_names) / sizeof(err_names[0]))
		return "unknown";
	return err_names[-err];
}

/* --- validation --- */

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

/* Set, of that family, nothing after a v4 address. */
static bool addr_ok(const struct ip_addr *a, uint8_t family)
{
	size_t n = family == AF_INET ? 4 : 16;

	return a->family == family && !zero(a->b, n) && zero(a->b + n, 16 - n);
}

bool sctp_tag_valid(const struct sctp_tag *t)
{
	return t && family_ok(t->family) && t->cport && t->vport && t->itag_t &&
	       addr_ok(&t->client, t->family);
}

bool sctp_gone_valid(const struct sctp_gone *g)
{
	return g && family_ok(g->family) && g->cport && g->vport && (g->itag_c || g->itag_t);
}

bool sctp_upd_valid(const struct sctp_upd *u)
{
	if (!u || !family_ok(u->family) || !u->cport || !u->vport || !u->itag_t ||
	    (u->state != ASSOC_EST && u->state != ASSOC_CLOSED) || (u->flags & ~SCTP_F_KNOWN) ||
	    u->n_paths > ASSOC_PATHS)
		return false;
	for (unsigned i = 0; i < u->n_paths; i++) {
		if (!addr_ok(&u->paths[i], u->family))
			return false;
		/* Distinct, as the table keeps them: a repeat would be a
		 * second encoding of the same record. */
		for (unsigned j = 0; j < i; j++)
			if (addr_eq(&u->paths[i], &u->paths[j]))
				return false;
	}
	return true;
}

bool sctp_del_valid(const struct sctp_del *x)
{
	return x && x->cport && x->vport && x->itag_t;
}

/* --- pieces --- */

static uint8_t fam_wire(uint8_t family)
{
	return family == AF_INET ? 4 : 6;
}

static bool fam_host(uint8_t w, uint8_t *family)
{
	if (w == 4)
		*family = AF_INET;
	else if (w == 6)
		*family = AF_INET6;
	else
		return false;
	return true;
}

static void enc_addr(uint8_t *out, const struct ip_addr *a)
{
	memset(out, 0, 16);
	memcpy(out, a->b, addr_len(a));
}

/* The bytes are taken whole, so a v4 address with a non-zero tail fails
 * addr_ok. */
static void dec_addr(struct ip_addr *a, uint8_t family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->b, p, 16);
}

/* Bytes 0..19 of TAG and GONE. */
static void enc_head(uint8_t *v, uint32_t ep, uint8_t family, uint16_t cport, uint16_t vport,
		     uint32_t itag_c, uint32_t itag_t)
{
	be_put32(v, ep);
	v[4] = fam_wire(family);
	v[5] = 0;
	be_put16(v + 6, cport);
	be_put16(v + 8, vport);
	be_put16(v + 10, 0);
	be_put32(v + 12, itag_c);
	be_put32(v + 16, itag_t);
}

static bool dec_head(const uint8_t *v, uint32_t *ep, uint8_t *family, uint16_t *cport,
		     uint16_t *vport, uint32_t *itag_c, uint32_t *itag_t)
{
	if (v[5] || be_get16(v + 10) || !fam_host(v[4], family))
		return false;
	*ep = be_get32(v);
	*cport = be_get16(v + 6);
	*vport = be_get16(v + 8);
	*itag_c = be_get32(v + 12);
	*itag_t = be_get32(v + 16);
	return true;
}

static size_t put_one(uint8_t *out, size_t cap, uint16_t type, const uint8_t *v, size_t len)
{
	struct tlv_writer w;

	tlv_writer_init(&w, out, cap);
	return tlv_put(&w, type, v, len) ? w.len : 0;
}

/* The one TLV of type want in a body of TAG or GONE, exactly len bytes;
 * NULL for bad framing, none, more than one, or any ASSOC record beside. */
static const uint8_t *one_tlv(const uint8_t *b, size_t blen, uint16_t want, uint16_t len)
{
	struct tlv_iter it;
	const uint8_t *v, *found = NULL;
	uint16_t type, vlen;

	if (!b || blen > WIRE_MAX || !tlv_framing_ok(b, blen))
		return NULL;
	tlv_iter_init(&it, b, blen);
	while (tlv_next(&it, &type, &v, &vlen)) {
		if (type == want) {
			if (found || vlen != len)
				return NULL;
			found = v;
		} else if (type >= SCTP_TLV_TAG && type <= SCTP_TLV_BULK_END) {
			return NULL;	/* ours, but not of this message */
		}
	}
	return found;
}

/* --- TAG and GONE --- */

size_t sctp_tag_encode(const struct sctp_tag *t, uint8_t *out, size_t cap)
{
	uint8_t v[SCTP_TAG_LEN];

	if (!sctp_tag_valid(t) || !out)
		return 0;
	enc_head(v, t->ep, t->family, t->cport, t->vport, t->itag_c, t->itag_t);
	enc_addr(v + 20, &t->client);
	return put_one(out, cap, SCTP_TLV_TAG, v, sizeof(v));
}

bool sctp_tag_decode(const uint8_t *b, size_t len, struct sctp_tag *t)
{
	const uint8_t *v = one_tlv(b, len, SCTP_TLV_TAG, SCTP_TAG_LEN);
	struct sctp_tag x;

	memset(&x, 0, sizeof(x));
	if (!v || !t || !dec_head(v, &x.ep, &x.family, &x.cport, &x.vport, &x.itag_c, &x.itag_t))
		return false;
	dec_addr(&x.client, x.family, v + 20);
	if (!sctp_tag_valid(&x))
		return false;
	*t = x;
	return true;
}

size_t sctp_gone_encode(const struct sctp_gone *g, uint8_t *out, size_t cap)
{
	uint8_t v[SCTP_GONE_LEN];

	if (!sctp_gone_valid(g) || !out)
		return 0;
	enc_head(v, g->ep, g->family, g->cport, g->vport, g->itag_c, g->itag_t);
	return put_one(out, cap, SCTP_TLV_GONE, v, sizeof(v));
}

bool sctp_gone_decode(const uint8_t *b, size_t len, struct sctp_gone *g)
{
	const uint8_t *v = one_tlv(b, len, SCTP_TLV_GONE, SCTP_GONE_LEN);
	struct sctp_gone x;

	memset(&x, 0, sizeof(x));
	if (!v || !g || !dec_head(v, &x.ep, &x.family, &x.cport, &x.vport, &x.itag_c, &x.itag_t) ||
	    !sctp_gone_valid(&x))
		return false;
	*g = x;
	return true;
}

/* --- the writer --- */

void sctp_writer_init(struct sctp_writer *w, uint8_t *buf, size_t cap)
{
	tlv_writer_init(&w->tlv, buf, cap);
	w->n = 0;
	w->err = SCTP_OK;
}

/* Never spoils the writer: a record that does not fit is refused whole. */
static bool put_rec(struct sctp_writer *w, uint16_t type, const uint8_t *v, size_t len)
{
	if (!tlv_fits(&w->tlv, len) || !tlv_put(&w->tlv, type, v, len))
		return false;
	w->n++;
	return true;
}

static bool refuse(struct sctp_writer *w)
{
	w->err = SCTP_ERR_INVAL;
	return false;
}

static size_t enc_upd(uint8_t *v, const struct sctp_upd *u)
{
	be_put32(v, u->ep);
	v[4] = fam_wire(u->family);
	v[5] = u->state;
	be_put16(v + 6, u->cport);
	be_put16(v + 8, u->vport);
	v[10] = u->flags;
	v[11] = u->n_paths;
	be_put32(v + 12, u->itag_c);
	be_put32(v + 16, u->itag_t);
	be_put32(v + 20, u->target);
	for (unsigned i = 0; i < u->n_paths; i++)
		enc_addr(v + SCTP_UPDATE_LEN + i * SCTP_PATH_LEN, &u->paths[i]);
	return SCTP_UPDATE_LEN + (size_t)u->n_paths * SCTP_PATH_LEN;
}

bool sctp_put_update(struct sctp_writer *w, const struct sctp_upd *u)
{
	uint8_t v[SCTP_UPDATE_MAX_LEN];

	if (!sctp_upd_valid(u))
		return refuse(w);
	return put_rec(w, SCTP_TLV_UPDATE, v, enc_upd(v, u));
}

bool sctp_put_delete(struct sctp_writer *w, const struct sctp_del *x)
{
	uint8_t v[SCTP_DELETE_LEN] = { 0 };

	if (!sctp_del_valid(x))
		return refuse(w);
	be_put32(v, x->ep);
	be_put16(v + 6, x->cport);
	be_put16(v + 8, x->vport);
	be_put32(v + 12, x->itag_t);
	return put_rec(w, SCTP_TLV_DELETE, v, sizeof(v));
}

bool sctp_put_bulk_begin(struct sctp_writer *w, uint32_t id)
{
	uint8_t v[SCTP_BULK_BEGIN_LEN];

	be_put32(v, id);
	return put_rec(w, SCTP_TLV_BULK_BEGIN, v, sizeof(v));
}

bool sctp_put_bulk_end(struct sctp_writer *w, uint32_t id, uint32_t count)
{
	uint8_t v[SCTP_BULK_END_LEN];

	be_put32(v, id);
	be_put32(v + 4, count);
	return put_rec(w, SCTP_TLV_BULK_END, v, sizeof(v));
}

/* --- reading ASSOC bodies --- */

static bool dec_upd(const uint8_t *v, uint16_t len, struct sctp_upd *u)
{
	memset(u, 0, sizeof(*u));
	if (len < SCTP_UPDATE_LEN || !fam_host(v[4], &u->family))
		return false;
	u->n_paths = v[11];
	if (u->n_paths > ASSOC_PATHS ||
	    len != SCTP_UPDATE_LEN + (size_t)u->n_paths * SCTP_PATH_LEN)
		return false;
	u->ep = be_get32(v);
	u->state = v[5];
	u->cport = be_get16(v + 6);
	u->vport = be_get16(v + 8);
	u->flags = v[10];
	u->itag_c = be_get32(v + 12);
	u->itag_t = be_get32(v + 16);
	u->target = be_get32(v + 20);
	for (unsigned i = 0; i < u->n_paths; i++)
		dec_addr(&u->paths[i], u->family, v + SCTP_UPDATE_LEN + i * SCTP_PATH_LEN);
	return sctp_upd_valid(u);
}

static bool dec_del(const uint8_t *v, uint16_t len, struct sctp_del *x)
{
	memset(x, 0, sizeof(*x));
	if (len != SCTP_DELETE_LEN || be_get16(v + 4) || be_get16(v + 10))
		return false;
	x->ep = be_get32(v);
	x->cport = be_get16(v + 6);
	x->vport = be_get16(v + 8);
	x->itag_t = be_get32(v + 12);
	return sctp_del_valid(x);
}

/* 1: a record in *r; 0: a TLV to skip; SCTP_ERR_FORMAT. */
static int dec_tlv(uint16_t type, const uint8_t *v, uint16_t len, struct sctp_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	switch (type) {
	case SCTP_TLV_UPDATE:
		return dec_upd(v, len, &r->upd) ? 1 : SCTP_ERR_FORMAT;
	case SCTP_TLV_DELETE:
		return dec_del(v, len, &r->del) ? 1 : SCTP_ERR_FORMAT;
	case SCTP_TLV_BULK_BEGIN:
		if (len != SCTP_BULK_BEGIN_LEN)
			return SCTP_ERR_FORMAT;
		r->bulk.id = be_get32(v);
		return 1;
	case SCTP_TLV_BULK_END:
		if (len != SCTP_BULK_END_LEN)
			return SCTP_ERR_FORMAT;
		r->bulk.id = be_get32(v);
		r->bulk.count = be_get32(v + 4);
		return 1;
	case SCTP_TLV_TAG:
	case SCTP_TLV_GONE:
		return SCTP_ERR_FORMAT;	/* not an ASSOC record */
	default:
		return 0;
	}
}

static int walk(const uint8_t *body, size_t len, sctp_rec_fn fn, void *arg)
{
	struct tlv_iter it;
	struct sctp_rec r;
	const uint8_t *v;
	uint16_t type, vlen;
	int n = 0, rc;

	tlv_iter_init(&it, body, len);
	while (tlv_next(&it, &type, &v, &vlen)) {
		rc = dec_tlv(type, v, vlen, &r);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (fn && (rc = fn(&r, arg)) < 0)
			return rc;
		n++;
	}
	return n;
}

int sctp_assoc_decode(const uint8_t *body, size_t len, sctp_rec_fn fn, void *arg)
{
	int n;

	if (!body)
		return len ? SCTP_ERR_INVAL : 0;
	/* A body fits one datagram: the count cannot overflow an int. */
	if (len > WIRE_MAX)
		return SCTP_ERR_INVAL;
	if (!tlv_framing_ok(body, len))
		return SCTP_ERR_TLV;
	n = walk(body, len, NULL, NULL);
	if (n < 0 || !fn)
		return n;
	return walk(body, len, fn, arg);
}

/* --- records waiting to be replicated --- */

#define PEND_EMPTY UINT32_MAX

struct sctp_pend {
	size_t cap, n;
	size_t mask;		/* index slots - 1: a power of two >= 2 * cap */
	struct sctp_rec *rec;	/* [cap], in order */
	uint32_t *idx;		/* [mask + 1]: rec index or PEND_EMPTY (open addressing) */
};

struct sctp_pend *sctp_pend_new(size_t cap)
{
	struct sctp_pend *p;
	size_t slots = 2;

	if (!cap || cap > SCTP_PEND_MAX)
		return NULL;
	while (slots < 2 * cap)
		slots <<= 1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->rec = calloc(cap, sizeof(*p->rec));
	p->idx = malloc(slots * sizeof(*p->idx));
	if (!p->rec || !p->idx) {
		sctp_pend_free(p);
		return NULL;
	}
	memset(p->idx, 0xff, slots * sizeof(*p->idx));
	p->cap = cap;
	p->mask = slots - 1;
	return p;
}

void sctp_pend_free(struct sctp_pend *p)
{
	if (!p)
		return;
	free(p->rec);
	free(p->idx);
	free(p);
}

/* The association a record is about: (ep, ports, itag_t). */
static void rec_key(const struct sctp_rec *r, uint32_t *ep, uint16_t *cport, uint16_t *vport,
		    uint32_t *itag_t)
{
	if (r->type == SCTP_TLV_UPDATE) {
		*ep = r->upd.ep;
		*cport = r->upd.cport;
		*vport = r->upd.vport;
		*itag_t = r->upd.itag_t;
	} else {
		*ep = r->del.ep;
		*cport = r->del.cport;
		*vport = r->del.vport;
		*itag_t = r->del.itag_t;
	}
}

static bool same_key(const struct sctp_rec *a, const struct sctp_rec *b)
{
	uint32_t ea, eb, ta, tb;
	uint16_t ca, cb, va, vb;

	rec_key(a, &ea, &ca, &va, &ta);
	rec_key(b, &eb, &cb, &vb, &tb);
	return ea == eb && ca == cb && va == vb && ta == tb;
}

/* Not keyed: the records come from our own table, not from peers. */
static size_t rec_hash(const struct sctp_rec *r)
{
	uint32_t ep, itag_t;
	uint16_t cport, vport;
	uint64_t h;

	rec_key(r, &ep, &cport, &vport, &itag_t);
	h = ((uint64_t)itag_t << 32 | (uint64_t)cport << 16 | vport) ^
	    ((uint64_t)ep * 0x9e3779b97f4a7c15ull);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)h;
}

int sctp_pend_put(struct sctp_pend *p, const struct sctp_rec *r)
{
	size_t i;

	if (!p || !r || (r->type == SCTP_TLV_UPDATE ? !sctp_upd_valid(&r->upd) :
			 r->type == SCTP_TLV_DELETE ? !sctp_del_valid(&r->del) : true))
		return SCTP_ERR_INVAL;
	for (i = rec_hash(r) & p->mask; p->idx[i] != PEND_EMPTY; i = (i + 1) & p->mask) {
		struct sctp_rec *o = &p->rec[p->idx[i]];

		if (same_key(o, r)) {
			*o = *r;
			return 0;
		}
	}
	if (p->n == p->cap)
		return -ENOSPC;
	p->idx[i] = (uint32_t)p->n;
	p->rec[p->n++] = *r;
	return 1;
}

size_t sctp_pend_count(const struct sctp_pend *p)
{
	return p ? p->n : 0;
}

const struct sctp_rec *sctp_pend_get(const struct sctp_pend *p, size_t i)
{
	return p && i < p->n ? &p->rec[i] : NULL;
}

void sctp_pend_clear(struct sctp_pend *p)
{
	if (!p || !p->n)
		return;
	/* Small sets clear their own slots; large ones the whole index. */
	if (p->n < (p->mask + 1) / 16) {
		for (size_t k = 0; k < p->n; k++) {
			size_t i = rec_hash(&p->rec[k]) & p->mask;

			while (p->idx[i] != (uint32_t)k)
				i = (i + 1) & p->mask;
			p->idx[i] = PEND_EMPTY;
		}
	} else {
		memset(p->idx, 0xff, (p->mask + 1) * sizeof(*p->idx));
	}
	p->n = 0;
}
