/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hoffmsg: handoff's cluster messages (see hoffmsg.h). */
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "sync/hoffmsg.h"
#include "sync/msg.h"
#include "sync/tlv.h"

/* --- shared pieces: the key, window scales --- */

/* The 40 bytes of a key from offset 4 of PARAMS, ACK and END (relative:
 * family 0, proto 1, 2..3 the caller's, ports 4 and 6, addresses 8 and 24). */
#define KEY_LEN 40

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

/* Handoff is TCP only. */
static bool key_ok(const struct conn_key *k)
{
	return (k->family == AF_INET || k->family == AF_INET6) && k->proto == IPPROTO_TCP &&
	       k->cport && k->vport && addr_ok(&k->caddr, k->family) &&
	       addr_ok(&k->vaddr, k->family);
}

static bool ws_ok(int8_t ws)
{
	return ws >= -1 && ws <= 14;
}

/* Writes bytes 0, 1 and 4..39; 2..3 are left alone. */
static void enc_key(uint8_t *out, const struct conn_key *k)
{
	out[0] = k->family == AF_INET ? 4 : 6;
	out[1] = k->proto;
	be_put16(out + 4, k->cport);
	be_put16(out + 6, k->vport);
	memset(out + 8, 0, 32);
	memcpy(out + 8, k->caddr.b, addr_len(&k->caddr));
	memcpy(out + 24, k->vaddr.b, addr_len(&k->vaddr));
}

/* The address bytes are taken whole, so a v4 address with a non-zero tail
 * fails addr_ok. */
static void dec_addr(struct ip_addr *a, uint8_t family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->b, p, 16);
}

static bool dec_key(const uint8_t *v, struct conn_key *k)
{
	struct ip_addr ca, va;
	uint8_t family;

	if (v[0] == 4)
		family = AF_INET;
	else if (v[0] == 6)
		family = AF_INET6;
	else
		return false;
	dec_addr(&ca, family, v + 8);
	dec_addr(&va, family, v + 24);
	if (!addr_ok(&ca, family) || !addr_ok(&va, family))
		return false;
	conn_key_set(k, v[1], &ca, be_get16(v + 4), &va, be_get16(v + 6));
	return key_ok(k);
}

/* The one TLV of type want in a body (unknown types skipped): NULL if the
 * framing is bad, there is none or more than one, or it is not len bytes. */
static const uint8_t *one_tlv(const uint8_t *b, size_t blen, uint16_t want, uint16_t len)
{
	const uint8_t *v;
	uint16_t vlen;

	if (!b || !tlv_framing_ok(b, blen) || tlv_count(b, blen, want) != 1)
		return NULL;
	v = tlv_find(b, blen, want, &vlen);
	return v && vlen == len ? v : NULL;
}

/* --- PARAMS --- */

bool hoff_params_valid(const struct hoff_params *p)
{
	return p && p->id && key_ok(&p->key) && p->tport && p->mss && ws_ok(p->ws_c) &&
	       ws_ok(p->ws_f) && !(p->flags & ~(HOFF_F_SACK | HOFF_F_TS)) &&
	       p->req_len <= HOFF_REQ_MAX;
}

static void enc_params(uint8_t out[HOFF_PARAMS_LEN], const struct hoff_params *p)
{
	memset(out, 0, HOFF_PARAMS_LEN);
	be_put32(out, p->id);
	enc_key(out + 4, &p->key);
	out[6] = p->flags;
	be_put16(out + 44, p->tport);
	be_put16(out + 46, p->mss);
	be_put32(out + 48, p->isn_c);
	be_put32(out + 52, p->isn_f);
	out[56] = (uint8_t)p->ws_c;
	out[57] = (uint8_t)p->ws_f;
	be_put16(out + 58, p->win_c);
	be_put32(out + 60, p->tsval_c);
	be_put32(out + 64, p->tsval_f);
	be_put32(out + 68, p->req_len);
}

static bool dec_params(const uint8_t *v, struct hoff_params *p)
{
	memset(p, 0, sizeof(*p));
	if (v[7] || !dec_key(v + 4, &p->key))
		return false;
	p->id = be_get32(v);
	p->flags = v[6];
	p->tport = be_get16(v + 44);
	p->mss = be_get16(v + 46);
	p->isn_c = be_get32(v + 48);
	p->isn_f = be_get32(v + 52);
	p->ws_c = (int8_t)v[56];
	p->ws_f = (int8_t)v[57];
	p->win_c = be_get16(v + 58);
	p->tsval_c = be_get32(v + 60);
	p->tsval_f = be_get32(v + 64);
	p->req_len = be_get32(v + 68);
	return hoff_params_valid(p);
}

/* --- cutting a request --- */

static size_t clip_body(size_t body_max)
{
	return body_max < HOFF_BODY_CAP ? body_max : HOFF_BODY_CAP;
}

/* Request bytes a DATA TLV can carry in room bytes (room >= 16). */
static size_t data_fits(size_t room)
{
	return ((room - TLV_HDR_LEN) & ~(size_t)3) - HOFF_DATA_HDR_LEN;
}

static size_t first_chunk(size_t bm)
{
	return data_fits(bm - tlv_space(HOFF_PARAMS_LEN));
}

size_t hoff_req_bodies(size_t req_len, size_t body_max)
{
	size_t bm = clip_body(body_max), first, next;

	if (body_max < HOFF_BODY_MIN || req_len > HOFF_REQ_MAX)
		return 0;
	first = first_chunk(bm);
	next = data_fits(bm);
	if (req_len <= first)
		return 1;
	return 1 + (req_len - first + next - 1) / next;
}

int hoff_req_encode(const struct hoff_params *p, const uint8_t *data, size_t body_max,
		    int (*emit)(void *arg, const uint8_t *body, size_t len), void *arg)
{
	uint8_t body[HOFF_BODY_CAP], val[HOFF_BODY_CAP], prm[HOFF_PARAMS_LEN];
	size_t bm = clip_body(body_max), off = 0, n;
	struct tlv_writer w;
	int rc;

	if (!hoff_params_valid(p) || (!data && p->req_len) || body_max < HOFF_BODY_MIN || !emit)
		return -1;
	enc_params(prm, p);
	be_put32(val, p->id);
	do {
		tlv_writer_init(&w, body, bm);
		if (off == 0) {
			tlv_put(&w, HOFF_TLV_PARAMS, prm, sizeof(prm));
			n = first_chunk(bm);
		} else {
			n = data_fits(bm);
		}
		if (n > p->req_len - off)
			n = p->req_len - off;
		be_put32(val + 4, (uint32_t)off);
		if (n)
			memcpy(val + HOFF_DATA_HDR_LEN, data + off, n);
		tlv_put(&w, HOFF_TLV_DATA, val, HOFF_DATA_HDR_LEN + n);
		if (w.overflow)		/* cannot happen: the sizes above fit */
			return -1;
		off += n;
		rc = emit(arg, body, w.len);
		if (rc)
			return rc;
	} while (off < p->req_len);
	return 0;
}

/* --- reassembly --- */

struct rx_slot {
	bool used;
	struct hoff_params p;
	uint8_t *buf;		/* p.req_len bytes */
	uint32_t got;		/* bytes received, in order */
	uint64_t begun_ms;
};

struct hoff_rx {
	size_t max_pending, max_bytes;
	size_t n, bytes;	/* in progress: requests, their req_len summed */
	struct rx_slot *slot;	/* max_pending */
};

struct hoff_rx *hoff_rx_new(size_t max_pending, size_t max_bytes)
{
	struct hoff_rx *rx;

	if (!max_pending || max_pending > HOFF_RX_PENDING_MAX)
		return NULL;
	rx = calloc(1, sizeof(*rx));
	if (!rx)
		return NULL;
	rx->slot = calloc(max_pending, sizeof(*rx->slot));
	if (!rx->slot) {
		free(rx);
		return NULL;
	}
	rx->max_pending = max_pending;
	rx->max_bytes = max_bytes;
	return rx;
}

static void slot_drop(struct hoff_rx *rx, struct rx_slot *s)
{
	free(s->buf);
	rx->n--;
	rx->bytes -= s->p.req_len;
	memset(s, 0, sizeof(*s));
}

void hoff_rx_free(struct hoff_rx *rx)
{
	if (!rx)
		return;
	for (size_t i = 0; i < rx->max_pending; i++)
		free(rx->slot[i].buf);
	free(rx->slot);
	free(rx);
}

static struct rx_slot *slot_find(struct hoff_rx *rx, uint32_t id)
{
	if (!rx->n)
		return NULL;
	for (size_t i = 0; i < rx->max_pending; i++)
		if (rx->slot[i].used && rx->slot[i].p.id == id)
			return &rx->slot[i];
	return NULL;
}

static struct rx_slot *slot_free(struct hoff_rx *rx)
{
	for (size_t i = 0; i < rx->max_pending; i++)
		if (!rx->slot[i].used)
			return &rx->slot[i];
	return NULL;
}

/* One REQ body, parsed. */
struct req_body {
	bool has_id;		/* the DATA header was read: id is the request's */
	bool has_params;
	struct hoff_params p;
	uint32_t id, off;
	const uint8_t *bytes;
	size_t n;
};

static int parse_req(const uint8_t *b, size_t len, struct req_body *q)
{
	struct tlv_iter it;
	const uint8_t *v, *pv = NULL, *dv = NULL;
	uint16_t type, vlen, dlen = 0;
	size_t np = 0, nd = 0;

	memset(q, 0, sizeof(*q));
	if ((!b && len) || !tlv_framing_ok(b, len))
		return HOFF_RX_ERR_FORMAT;
	tlv_iter_init(&it, b, len);
	while (tlv_next(&it, &type, &v, &vlen)) {
		if (type == HOFF_TLV_PARAMS) {
			if (vlen != HOFF_PARAMS_LEN)
				return HOFF_RX_ERR_FORMAT;
			pv = v;
			np++;
		} else if (type == HOFF_TLV_DATA) {
			dv = v;
			dlen = vlen;
			nd++;
		}
	}
	if (nd != 1 || np > 1 || dlen < HOFF_DATA_HDR_LEN)
		return HOFF_RX_ERR_FORMAT;
	q->has_id = true;
	q->id = be_get32(dv);
	q->off = be_get32(dv + 4);
	q->bytes = dv + HOFF_DATA_HDR_LEN;
	q->n = dlen - HOFF_DATA_HDR_LEN;
	if (!q->id)
		return HOFF_RX_ERR_FORMAT;
	if (pv) {
		q->has_params = true;
		if (!dec_params(pv, &q->p) || q->p.id != q->id || q->off != 0 ||
		    q->n > q->p.req_len)
			return HOFF_RX_ERR_FORMAT;
	}
	return 0;
}

/* A copy of n bytes the caller frees; never NULL unless out of memory. */
static uint8_t *dup_bytes(const uint8_t *b, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, b, n);
	return d;
}

static int rx_first(struct hoff_rx *rx, const struct req_body *q, uint64_t now_ms,
		    struct hoff_params *p, uint8_t **data)
{
	struct rx_slot *s;
	uint8_t *d;

	if (q->n == q->p.req_len) {	/* whole in one body */
		if (!(d = dup_bytes(q->bytes, q->n)))
			return HOFF_RX_ERR_FULL;
		*p = q->p;
		*data = d;
		return HOFF_RX_DONE;
	}
	if (rx->n >= rx->max_pending || q->p.req_len > rx->max_bytes - rx->bytes ||
	    !(s = slot_free(rx)))
		return HOFF_RX_ERR_FULL;
	if (!(s->buf = malloc(q->p.req_len)))
		return HOFF_RX_ERR_FULL;
	if (q->n)
		memcpy(s->buf, q->bytes, q->n);
	s->used = true;
	s->p = q->p;
	s->got = (uint32_t)q->n;
	s->begun_ms = now_ms;
	rx->n++;
	rx->bytes += q->p.req_len;
	return HOFF_RX_MORE;
}

int hoff_rx_input(struct hoff_rx *rx, const uint8_t *body, size_t len, uint64_t now_ms,
		  struct hoff_params *p, uint8_t **data)
{
	struct req_body q;
	struct rx_slot *s;
	int rc;

	if (!rx || !p || !data)
		return HOFF_RX_ERR_FORMAT;
	rc = parse_req(body, len, &q);
	s = q.has_id ? slot_find(rx, q.id) : NULL;
	if (rc < 0) {
		if (s)
			slot_drop(rx, s);
		return rc;
	}
	if (q.has_params) {
		if (s) {	/* the start of a request already begun */
			slot_drop(rx, s);
			return HOFF_RX_ERR_ORDER;
		}
		return rx_first(rx, &q, now_ms, p, data);
	}
	if (!s)
		return HOFF_RX_ERR_ORDER;
	if (q.off != s->got) {
		slot_drop(rx, s);
		return HOFF_RX_ERR_ORDER;
	}
	if (!q.n || q.n > s->p.req_len - s->got) {
		slot_drop(rx, s);
		return HOFF_RX_ERR_FORMAT;
	}
	memcpy(s->buf + s->got, q.bytes, q.n);
	s->got += (uint32_t)q.n;
	if (s->got < s->p.req_len)
		return HOFF_RX_MORE;
	*p = s->p;
	*data = s->buf;
	s->buf = NULL;
	slot_drop(rx, s);
	return HOFF_RX_DONE;
}

size_t hoff_rx_expire(struct hoff_rx *rx, uint64_t now_ms, uint64_t max_age_ms)
{
	size_t dropped = 0;

	if (!rx)
		return 0;
	for (size_t i = 0; i < rx->max_pending && rx->n; i++) {
		struct rx_slot *s = &rx->slot[i];

		if (s->used && now_ms > s->begun_ms && now_ms - s->begun_ms > max_age_ms) {
			slot_drop(rx, s);
			dropped++;
		}
	}
	return dropped;
}

size_t hoff_rx_pending(const struct hoff_rx *rx)
{
	return rx ? rx->n : 0;
}

size_t hoff_rx_bytes(const struct hoff_rx *rx)
{
	return rx ? rx->bytes : 0;
}

/* --- ACK, END, NAK --- */

static const char *const reason_names[HOFF_R__MAX] = {
	[HOFF_R_NONE] = "none",
	[HOFF_R_RST] = "rst",
	[HOFF_R_EXPIRED] = "expired",
	[HOFF_R_SUPERSEDED] = "superseded",
	[HOFF_R_NO_STACK] = "no_stack",
	[HOFF_R_NO_ROOM] = "no_room",
	[HOFF_R_FIN] = "fin",
};

const char *hoff_reason_name(unsigned r)
{
	return r < HOFF_R__MAX ? reason_names[r] : "unknown";
}

/* One TLV of type/len into out: its size, 0 when it does not fit. */
static size_t put_one(uint8_t *out, size_t cap, uint16_t type, const uint8_t *v, uint16_t len)
{
	struct tlv_writer w;

	tlv_writer_init(&w, out, cap);
	return tlv_put(&w, type, v, len) ? w.len : 0;
}

size_t hoff_ack_encode(const struct hoff_ack *a, uint8_t *out, size_t cap)
{
	uint8_t v[HOFF_ACK_LEN] = { 0 };

	if (!a || !a->id || !key_ok(&a->key) || !ws_ok(a->ws_t) || !out)
		return 0;
	be_put32(v, a->id);
	enc_key(v + 4, &a->key);
	be_put32(v + 44, a->delta);
	be_put32(v + 48, a->tsoff);
	v[52] = (uint8_t)a->ws_t;
	return put_one(out, cap, HOFF_TLV_ACK, v, sizeof(v));
}

bool hoff_ack_decode(const uint8_t *b, size_t len, struct hoff_ack *a)
{
	const uint8_t *v = one_tlv(b, len, HOFF_TLV_ACK, HOFF_ACK_LEN);
	struct hoff_ack x;

	memset(&x, 0, sizeof(x));
	if (!v || !a || be_get16(v + 6) || !zero(v + 53, 3) || !dec_key(v + 4, &x.key))
		return false;
	x.id = be_get32(v);
	x.delta = be_get32(v + 44);
	x.tsoff = be_get32(v + 48);
	x.ws_t = (int8_t)v[52];
	if (!x.id || !ws_ok(x.ws_t))
		return false;
	*a = x;
	return true;
}

size_t hoff_end_encode(const struct hoff_end *e, uint8_t *out, size_t cap)
{
	uint8_t v[HOFF_END_LEN] = { 0 };

	if (!e || !e->id || !key_ok(&e->key) || e->reason >= HOFF_R__MAX || !out)
		return 0;
	be_put32(v, e->id);
	enc_key(v + 4, &e->key);
	v[6] = e->reason;
	return put_one(out, cap, HOFF_TLV_END, v, sizeof(v));
}

bool hoff_end_decode(const uint8_t *b, size_t len, struct hoff_end *e)
{
	const uint8_t *v = one_tlv(b, len, HOFF_TLV_END, HOFF_END_LEN);
	struct hoff_end x;

	memset(&x, 0, sizeof(x));
	if (!v || !e || v[7] || !dec_key(v + 4, &x.key))
		return false;
	x.id = be_get32(v);
	x.reason = v[6];
	if (!x.id || x.reason >= HOFF_R__MAX)
		return false;
	*e = x;
	return true;
}
