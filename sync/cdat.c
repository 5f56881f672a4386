/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cdat: the cluster destination address table, reachability of its
 * addresses and its distribution protocol.  Pure code: see cdat.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "common/be.h"
#include "common/config.h"
#include "sync/cdat.h"

static_assert(crypto_generichash_BYTES <= CDAT_DIGEST_LEN &&
	      crypto_generichash_BYTES_MAX >= CDAT_DIGEST_LEN, "digest size");
static_assert(CDAT_NAME_MAX == CFG_NAME_MAX, "node name size");

#define DEF_ACK_TIMEOUT_MS 1000
#define DEF_HOLDOFF_MS 1000
#define DEF_REPORT_EVERY_MS 1000
#define MIN_MTU 68

const char *cdat_err_name(int err)
{
	switch (err) {
	case CDAT_OK: return "ok";
	case CDAT_ERR_NOMEM: return "nomem";
	case CDAT_ERR_INVAL: return "inval";
	case CDAT_ERR_TLV: return "tlv";
	case CDAT_ERR_FORMAT: return "format";
	case CDAT_ERR_LIMIT: return "limit";
	case CDAT_ERR_DUP: return "dup";
	case CDAT_ERR_SPACE: return "space";
	case CDAT_ERR_UNKNOWN: return "unknown";
	case CDAT_ERR_STALE: return "stale";
	}
	return "?";
}

static unsigned max_prefix(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

/* --- the table --- */

void cdat_init(struct cdat *t)
{
	memset(t, 0, sizeof(*t));
	cdat_update_digest(t);
}

void cdat_free(struct cdat *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

static int table_alloc(struct cdat *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	if (n > CDAT_MAX_NODES)
		return CDAT_ERR_LIMIT;
	t->nodes = calloc(n ? n : 1, sizeof(*t->nodes));
	if (!t->nodes)
		return CDAT_ERR_NOMEM;
	t->n = n;
	return CDAT_OK;
}

static void set_type(char dst[CDAT_TYPE_MAX], const char *src)
{
	/* NUL-padded, so that encoding and comparing never see stale bytes. */
	memset(dst, 0, CDAT_TYPE_MAX);
	memcpy(dst, src, strnlen(src, CDAT_TYPE_MAX - 1));
}

int cdat_from_cfg(struct cdat *t, const struct cfg *c)
{
	int r;

	if (!c)
		return CDAT_ERR_INVAL;
	r = table_alloc(t, c->n_nodes);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_nodes; i++) {
		const struct cfg_node *cn = &c->nodes[i];
		struct cdat_node *n = &t->nodes[i];
		size_t len = strnlen(cn->name, CFG_NAME_MAX);

		r = CDAT_ERR_FORMAT;
		if (len == 0 || len >= CDAT_NAME_MAX)
			goto fail;
		memcpy(n->name, cn->name, len);
		r = CDAT_ERR_LIMIT;
		if (cn->n_addrs > CDAT_MAX_ADDRS)
			goto fail;
		r = CDAT_ERR_FORMAT;
		for (size_t j = 0; j < cn->n_addrs; j++) {
			const struct cfg_addr *ca = &cn->addrs[j];
			struct cdat_addr *a = &n->addrs[j];

			if (ca->ip.family != AF_INET && ca->ip.family != AF_INET6)
				goto fail;
			if (ca->prefix < 0 || (unsigned)ca->prefix > max_prefix(ca->ip.family) ||
			    ca->mtu < MIN_MTU || ca->mtu > 65535 || ca->cos < 0 ||
			    ca->cos > 255 || ca->retry < 1 || ca->retry > 255)
				goto fail;
			a->ip = ca->ip;
			a->prefix = (uint8_t)ca->prefix;
			a->mtu = (uint16_t)ca->mtu;
			set_type(a->type, ca->type);
			a->cos = (uint8_t)ca->cos;
			a->retry = (uint8_t)ca->retry;
			a->status = CDAT_UNKNOWN;
		}
		n->n_addrs = cn->n_addrs;
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->nodes[j].name, n->name) == 0) {
				r = CDAT_ERR_DUP;
				goto fail;
			}
	}
	cdat_update_digest(t);
	return CDAT_OK;
fail:
	cdat_free(t);
	return r;
}

int cdat_copy(struct cdat *dst, const struct cdat *src)
{
	struct cdat t;
	int r = table_alloc(&t, src->n);

	if (r < 0)
		return r;
	if (src->n)
		memcpy(t.nodes, src->nodes, src->n * sizeof(*t.nodes));
	t.version = src->version;
	memcpy(t.digest, src->digest, CDAT_DIGEST_LEN);
	cdat_free(dst);
	*dst = t;
	return CDAT_OK;
}

static int check_adapter(const struct cdat_addr *a, uint8_t prefix, uint16_t mtu,
			 const char *type)
{
	if (prefix > max_prefix(a->ip.family) || mtu < MIN_MTU)
		return CDAT_ERR_INVAL;
	if (type && strnlen(type, CDAT_TYPE_MAX) >= CDAT_TYPE_MAX)
		return CDAT_ERR_INVAL;
	return CDAT_OK;
}

int cdat_set_adapter(struct cdat *t, size_t node, size_t ai, uint8_t prefix, uint16_t mtu,
		     const char *type)
{
	struct cdat_addr *a;
	int r;

	if (node >= t->n || ai >= t->nodes[node].n_addrs)
		return CDAT_ERR_INVAL;
	a = &t->nodes[node].addrs[ai];
	r = check_adapter(a, prefix, mtu, type);
	if (r < 0)
		return r;
	a->prefix = prefix;
	a->mtu = mtu;
	if (type)
		set_type(a->type, type);
	cdat_update_digest(t);
	return CDAT_OK;
}

/* The 40-byte CDAT_TLV_ADDR value: also the canonical form for the digest. */
static void enc_addr(uint8_t v[CDAT_ADDR_LEN], const struct cdat_addr *a)
{
	memset(v, 0, CDAT_ADDR_LEN);
	v[0] = a->ip.family == AF_INET ? 4 : 6;
	v[1] = a->prefix;
	be_put16(v + 2, a->mtu);
	v[4] = a->cos;
	v[5] = a->retry;
	memcpy(v + 8, a->ip.b, addr_len(&a->ip));
	memcpy(v + 24, a->type, strnlen(a->type, CDAT_TYPE_MAX - 1));
}

static int dec_addr(const uint8_t *v, uint16_t len, struct cdat_addr *a)
{
	size_t alen, tlen;
	int family;

	if (len != CDAT_ADDR_LEN)
		return CDAT_ERR_FORMAT;
	if (v[0] != 4 && v[0] != 6)
		return CDAT_ERR_FORMAT;
	family = v[0] == 4 ? AF_INET : AF_INET6;
	alen = v[0] == 4 ? 4 : 16;
	if (v[1] > alen * 8 || be_get16(v + 2) < MIN_MTU || v[5] == 0 || v[6] || v[7])
		return CDAT_ERR_FORMAT;
	for (size_t i = 8 + alen; i < 24; i++)
		if (v[i])
			return CDAT_ERR_FORMAT;
	/* One encoding per value: the type is NUL-terminated and NUL-padded. */
	tlen = strnlen((const char *)v + 24, CDAT_TYPE_MAX);
	if (tlen >= CDAT_TYPE_MAX)
		return CDAT_ERR_FORMAT;
	for (size_t i = 24 + tlen; i < CDAT_ADDR_LEN; i++)
		if (v[i])
			return CDAT_ERR_FORMAT;
	memset(a, 0, sizeof(*a));
	addr_from_bytes(&a->ip, family, v + 8);
	a->prefix = v[1];
	a->mtu = be_get16(v + 2);
	a->cos = v[4];
	a->retry = v[5];
	memcpy(a->type, v + 24, tlen);
	a->status = CDAT_UNKNOWN;
	return CDAT_OK;
}

static void hash_node(crypto_generichash_state *st, const struct cdat_node *n)
{
	uint8_t v[CDAT_ADDR_LEN];
	uint8_t len = (uint8_t)strnlen(n->name, CDAT_NAME_MAX - 1);
	uint8_t na = (uint8_t)n->n_addrs;

	crypto_generichash_update(st, &len, 1);
	crypto_generichash_update(st, (const uint8_t *)n->name, len);
	crypto_generichash_update(st, &na, 1);
	for (size_t i = 0; i < n->n_addrs && i < CDAT_MAX_ADDRS; i++) {
		enc_addr(v, &n->addrs[i]);
		crypto_generichash_update(st, v, sizeof(v));
	}
}

void cdat_digest(const struct cdat *t, uint8_t out[CDAT_DIGEST_LEN])
{
	static const uint8_t tag[] = "clusterd-cdat-1";
	crypto_generichash_state st;
	const char *prev = NULL;
	uint8_t cnt[2];

	crypto_generichash_init(&st, NULL, 0, CDAT_DIGEST_LEN);
	crypto_generichash_update(&st, tag, sizeof(tag));
	be_put16(cnt, (uint16_t)t->n);
	crypto_generichash_update(&st, cnt, sizeof(cnt));
	/* Name order without sorting (no allocation): names are unique and
	 * tables small, so n passes each picking the next larger name. */
	for (size_t k = 0; k < t->n; k++) {
		const struct cdat_node *best = NULL;

		for (size_t i = 0; i < t->n; i++) {
			const struct cdat_node *n = &t->nodes[i];

			if (prev && strcmp(n->name, prev) <= 0)
				continue;
			if (!best || strcmp(n->name, best->name) < 0)
				best = n;
		}
		if (!best)
			break;
		hash_node(&st, best);
		prev = best->name;
	}
	crypto_generichash_final(&st, out, CDAT_DIGEST_LEN);
}

void cdat_update_digest(struct cdat *t)
{
	cdat_digest(t, t->digest);
}

long cdat_find_node(const struct cdat *t, const char *name)
{
	for (size_t i = 0; name && i < t->n; i++)
		if (strcmp(t->nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

bool cdat_find_addr(const struct cdat *t, const struct ip_addr *ip, size_t *node, size_t *ai)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->nodes[i].n_addrs; j++)
			if (addr_eq(&t->nodes[i].addrs[j].ip, ip)) {
				*node = i;
				*ai = j;
				return true;
			}
	return false;
}

/* --- encoding and decoding --- */

void cdat_put_node(struct tlv_writer *w, const struct cdat_node *n)
{
	uint8_t v[CDAT_ADDR_LEN];
	size_t len = strnlen(n->name, CDAT_NAME_MAX);

	if (len == 0 || len >= CDAT_NAME_MAX || n->n_addrs == 0 || n->n_addrs > CDAT_MAX_ADDRS) {
		w->overflow = true;
		return;
	}
	tlv_put(w, CDAT_TLV_NODE, n->name, len);
	for (size_t i = 0; i < n->n_addrs; i++) {
		enc_addr(v, &n->addrs[i]);
		tlv_put(w, CDAT_TLV_ADDR, v, sizeof(v));
	}
}

void cdat_put_summary(struct tlv_writer *w, uint64_t version, const uint8_t *digest)
{
	tlv_put_u64(w, CDAT_TLV_VERSION, version);
	tlv_put(w, CDAT_TLV_DIGEST, digest, CDAT_DIGEST_LEN);
}

void cdat_put_table(struct tlv_writer *w, const struct cdat *t)
{
	cdat_put_summary(w, t->version, t->digest);
	for (size_t i = 0; i < t->n; i++)
		cdat_put_node(w, &t->nodes[i]);
}

static bool name_ok(const uint8_t *v, uint16_t len)
{
	if (len == 0 || len >= CDAT_NAME_MAX)
		return false;
	for (uint16_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return false;
	return true;
}

/* Checks the size of the fixed-size TLVs this module knows. */
static bool fixed_len_ok(uint16_t type, uint16_t len)
{
	switch (type) {
	case CDAT_TLV_VERSION: return len == 8;
	case CDAT_TLV_DIGEST: return len == CDAT_DIGEST_LEN;
	case CDAT_TLV_PART: return len == CDAT_PART_LEN;
	default: return true;
	}
}

int cdat_decode_nodes(const uint8_t *body, size_t len, struct cdat_node *out, size_t cap,
		      size_t *n)
{
	struct tlv_iter it;
	struct cdat_node *cur = NULL;
	const uint8_t *v;
	uint16_t type, vlen;
	size_t k = 0;
	int r;

	*n = 0;
	if ((!body && len) || (!out && cap))
		return CDAT_ERR_INVAL;
	if (!body || !tlv_framing_ok(body, len))
		return body ? CDAT_ERR_TLV : CDAT_OK;
	tlv_iter_init(&it, body, len);
	while (tlv_next(&it, &type, &v, &vlen)) {
		if (!fixed_len_ok(type, vlen))
			return CDAT_ERR_FORMAT;
		if (type == CDAT_TLV_NODE) {
			if (cur && cur->n_addrs == 0)
				return CDAT_ERR_FORMAT;
			if (k >= cap)
				return CDAT_ERR_LIMIT;
			if (!name_ok(v, vlen))
				return CDAT_ERR_FORMAT;
			cur = &out[k++];
			memset(cur, 0, sizeof(*cur));
			memcpy(cur->name, v, vlen);
			for (size_t j = 0; j + 1 < k; j++)
				if (strcmp(out[j].name, cur->name) == 0)
					return CDAT_ERR_DUP;
		} else if (type == CDAT_TLV_ADDR) {
			struct cdat_addr *a;

			if (!cur)
				return CDAT_ERR_FORMAT;
			if (cur->n_addrs >= CDAT_MAX_ADDRS)
				return CDAT_ERR_LIMIT;
			a = &cur->addrs[cur->n_addrs];
			r = dec_addr(v, vlen, a);
			if (r < 0)
				return r;
			for (size_t j = 0; j < cur->n_addrs; j++)
				if (addr_eq(&cur->addrs[j].ip, &a->ip))
					return CDAT_ERR_DUP;
			cur->n_addrs++;
		}
	}
	if (cur && cur->n_addrs == 0)
		return CDAT_ERR_FORMAT;
	*n = k;
	return CDAT_OK;
}

/* First TLV of that type; its size already checked by fixed_len_ok. */
static const uint8_t *find_tlv(const uint8_t *body, size_t len, uint16_t want, uint16_t *vlen)
{
	const uint8_t *v = tlv_find(body, len, want, vlen);

	return v && fixed_len_ok(want, *vlen) ? v : NULL;
}

bool cdat_get_summary(const uint8_t *body, size_t len, uint64_t *version,
		      uint8_t digest[CDAT_DIGEST_LEN])
{
	const uint8_t *v, *d;
	uint16_t vl;

	if (!body || !tlv_framing_ok(body, len))
		return false;
	v = find_tlv(body, len, CDAT_TLV_VERSION, &vl);
	d = find_tlv(body, len, CDAT_TLV_DIGEST, &vl);
	if (!v || !d)
		return false;
	*version = be_get64(v);
	if (*version >= CDAT_VERSION_LIMIT)
		return false;
	memcpy(digest, d, CDAT_DIGEST_LEN);
	return true;
}

int cdat_decode_table(const uint8_t *body, size_t len, struct cdat *t)
{
	const uint8_t *v, *d;
	uint16_t vl;
	size_t k;
	int r;

	memset(t, 0, sizeof(*t));
	if (!body || !tlv_framing_ok(body, len))
		return body ? CDAT_ERR_TLV : CDAT_ERR_INVAL;
	k = tlv_count(body, len, CDAT_TLV_NODE);
	r = table_alloc(t, k);
	if (r < 0)
		return r;
	r = cdat_decode_nodes(body, len, t->nodes, k, &t->n);
	if (r < 0)
		goto fail;
	r = CDAT_ERR_FORMAT;
	if (t->n != k)
		goto fail;
	v = find_tlv(body, len, CDAT_TLV_VERSION, &vl);
	d = find_tlv(body, len, CDAT_TLV_DIGEST, &vl);
	if (!v || !d || tlv_count(body, len, CDAT_TLV_VERSION) != 1 ||
	    tlv_count(body, len, CDAT_TLV_DIGEST) != 1)
		goto fail;
	t->version = be_get64(v);
	if (t->version >= CDAT_VERSION_LIMIT)
		goto fail;
	cdat_update_digest(t);
	/* The digest covers every entry: a body cut at a TLV boundary fails. */
	if (memcmp(d, t->digest, CDAT_DIGEST_LEN) != 0)
		goto fail;
	return CDAT_OK;
fail:
	cdat_free(t);
	return r;
}

/* --- reachability --- */

static unsigned event(struct cdat_events *ev, unsigned kind, size_t node, size_t ai)
{
	if (ev && ev->n < CDAT_MAX_EVENTS) {
		ev->ev[ev->n].kind = kind;
		ev->ev[ev->n].node = node;
		ev->ev[ev->n].addr = ai;
		ev->n++;
	} else if (ev) {
		ev->overflow = true;
	}
	return kind;
}

static struct cdat_addr *get_addr(struct cdat *t, size_t node, size_t ai)
{
	if (node >= t->n || ai >= t->nodes[node].n_addrs)
		return NULL;
	return &t->nodes[node].addrs[ai];
}

void cdat_sent(struct cdat *t, size_t node, size_t ai, uint64_t now, uint64_t slot)
{
	struct cdat_addr *a = get_addr(t, node, ai);

	if (!a)
		return;
	a->last_sent_ms = now;
	a->slot_ms = slot && slot <= now ? slot : now;
	a->outstanding = true;
}

unsigned cdat_answered(struct cdat *t, size_t node, size_t ai, uint64_t sent_ms, uint64_t now,
		       struct cdat_events *ev)
{
	struct cdat_addr *a = get_addr(t, node, ai);
	uint64_t r, srtt, var, dev;

	/* An answer to something we never sent proves nothing. */
	if (!a || sent_ms > now || sent_ms > a->last_sent_ms)
		return 0;
	r = (now - sent_ms) * 1000;
	if (r > UINT32_MAX / 2)
		r = UINT32_MAX / 2;
	if (a->rtt_us == 0 && a->rtt_var_us == 0) {
		/* First sample (RFC 6298 2.2). */
		srtt = r;
		var = r / 2;
	} else {
		srtt = a->rtt_us;
		dev = srtt > r ? srtt - r : r - srtt;
		var = (3 * (uint64_t)a->rtt_var_us + dev) / 4;
		srtt = (7 * srtt + r) / 8;
	}
	a->rtt_us = (uint32_t)srtt;
	a->rtt_var_us = (uint32_t)var;
	if (sent_ms == a->last_sent_ms)
		a->outstanding = false;
	/* Then as for any sign of life from that address. */
	return cdat_heard(t, node, ai, now, ev);
}

unsigned cdat_heard(struct cdat *t, size_t node, size_t ai, uint64_t now, struct cdat_events *ev)
{
	struct cdat_addr *a = get_addr(t, node, ai);
	struct cdat_node *n;
	unsigned bits = 0;

	if (!a)
		return 0;
	n = &t->nodes[node];
	/* The outstanding heartbeat stays outstanding: its answer (or its
	 * timeout) still measures the round trip. */
	a->misses = 0;
	a->last_ok_ms = now;
	if (a->status == CDAT_UNREACHABLE)
		bits |= event(ev, CDAT_EV_ADDR_UP, node, ai);
	a->status = CDAT_REACHABLE;
	if (n->down) {
		n->down = false;
		n->down_since_ms = 0;
		bits |= event(ev, CDAT_EV_NODE_UP, node, 0);
	} else if (n->suspected) {
		bits |= event(ev, CDAT_EV_NODE_CLEAR, node, 0);
	}
	n->suspected = false;
	n->suspected_since_ms = 0;
	return bits;
}

uint64_t cdat_silence_ms(unsigned retry, unsigned heartbeat_ms)
{
	/* The margin covers the senders' scheduling jitter and the path's: with heartbeats on a grid, `retry - 1` losses in a
	 * row leave a silence of retry heartbeats plus that jitter, which
	 * must not count as `retry` losses. */
	uint64_t margin = heartbeat_ms / 4 > 20 ? heartbeat_ms / 4 : 20;

	return (uint64_t)retry * heartbeat_ms + margin;
}

uint64_t cdat_timeout_ms(const struct cdat_addr *a, unsigned heartbeat_ms)
{
	uint64_t t = ((uint64_t)a->rtt_us + 4 * (uint64_t)a->rtt_var_us + 999) / 1000;

	/* At most two heartbeats: samples taken while the cluster starts (or a
	 * burst of load) inflate the estimate, and failure detection must stay
	 * near retry heartbeats.  Paths slower than that need a longer
	 * heartbeat_ms. */
	if (t > 2 * (uint64_t)heartbeat_ms)
		t = 2 * (uint64_t)heartbeat_ms;
	return t > heartbeat_ms ? t : heartbeat_ms;
}

static unsigned max_retry(const struct cdat_node *n)
{
	unsigned r = 1;

	for (size_t j = 0; j < n->n_addrs; j++)
		if (n->addrs[j].retry > r)
			r = n->addrs[j].retry;
	return r;
}

bool cdat_suspects(const struct cdat *t, size_t node, size_t x)
{
	if (node >= t->n || x >= t->n)
		return false;
	return t->nodes[node].suspects[x / 8] & (1u << (x % 8));
}

bool cdat_agreed(const struct cdat *t, size_t x, uint64_t now, unsigned heartbeat_ms,
		 size_t *voters, size_t *votes)
{
	size_t nv = 1, yes = 1;	/* this node, which suspects x */

	for (size_t i = 0; x < t->n && i < t->n; i++) {
		const struct cdat_node *v = &t->nodes[i];

		/* Only the nodes we still hear, and whose word is fresh: a voter
		 * we cannot hear is on the other side of whatever failed. */
		if (i == x || v->down || v->suspected || !v->voted || now < v->voted_ms ||
		    now - v->voted_ms > cdat_silence_ms(max_retry(v), heartbeat_ms))
			continue;
		nv++;
		yes += cdat_suspects(t, i, x);
	}
	if (voters)
		*voters = nv;
	if (votes)
		*votes = yes;
	/* Two nodes: the other one is the one in question, nobody else can
	 * tell a dead peer from a cut link, so decide alone (as VRRP). */
	if (t->n <= 2)
		return true;
	return 2 * yes > nv;
}

/* Every suspected node the voters agree on goes down. */
static unsigned decide(struct cdat *t, uint64_t now, unsigned heartbeat_ms, struct cdat_events *ev)
{
	unsigned bits = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct cdat_node *n = &t->nodes[i];

		if (!n->suspected || n->down || !cdat_agreed(t, i, now, heartbeat_ms, NULL, NULL))
			continue;
		n->down = true;
		n->down_since_ms = now;
		bits |= event(ev, CDAT_EV_NODE_DOWN, i, 0);
	}
	return bits;
}

unsigned cdat_set_suspects(struct cdat *t, size_t node, const uint32_t *ids, size_t n_ids,
			   uint64_t now, unsigned heartbeat_ms, struct cdat_events *ev)
{
	struct cdat_node *v;

	if (node >= t->n || (n_ids && !ids))
		return 0;
	v = &t->nodes[node];
	v->voted = true;
	v->voted_ms = now;
	memset(v->suspects, 0, sizeof(v->suspects));
	/* A few ids of a few nodes: hashing every name per heartbeat costs
	 * less than keeping a map in step with reloads. */
	for (size_t i = 0; i < t->n; i++) {
		uint32_t id = wire_node_id(t->nodes[i].name);

		for (size_t k = 0; k < n_ids; k++)
			if (ids[k] == id) {
				v->suspects[i / 8] |= (uint8_t)(1u << (i % 8));
				break;
			}
	}
	return decide(t, now, heartbeat_ms, ev);
}

unsigned cdat_leaving(struct cdat *t, size_t node, uint64_t now, struct cdat_events *ev)
{
	struct cdat_node *n;

	if (node >= t->n)
		return 0;
	n = &t->nodes[node];
	for (size_t j = 0; j < n->n_addrs; j++) {
		n->addrs[j].status = CDAT_UNREACHABLE;
		n->addrs[j].outstanding = false;
	}
	if (!n->suspected) {
		n->suspected = true;
		n->suspected_since_ms = now;
	}
	if (n->down)
		return 0;
	n->down = true;
	n->down_since_ms = now;
	return event(ev, CDAT_EV_NODE_DOWN, node, 0);
}

unsigned cdat_tick(struct cdat *t, uint64_t now, unsigned heartbeat_ms, struct cdat_events *ev)
{
	unsigned bits = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct cdat_node *n = &t->nodes[i];
		size_t unreach = 0;

		for (size_t j = 0; j < n->n_addrs; j++) {
			struct cdat_addr *a = &n->addrs[j];

			/* Timed from the heartbeat's slot, not from when a late
			 * loop sent it: a miss then leaves the next slot where the
			 * grid has it, and losses do not push heartbeats later. */
			if (a->outstanding && now >= a->slot_ms &&
			    now - a->slot_ms >= cdat_timeout_ms(a, heartbeat_ms)) {
				a->outstanding = false;
				if (a->misses < UINT32_MAX)
					a->misses++;
			}
			/* `retry` heartbeats without an answer, counted either way:
			 * misses, or the silence since the last sign of life.  The
			 * second does not depend on where in a heartbeat period the
			 * path failed, as VRRP's master-down timer. */
			if (a->status == CDAT_REACHABLE && a->last_ok_ms && now >= a->last_ok_ms &&
			    now - a->last_ok_ms > cdat_silence_ms(a->retry, heartbeat_ms) &&
			    a->misses < a->retry)
				a->misses = a->retry;
			if (a->misses >= a->retry && a->status != CDAT_UNREACHABLE) {
				a->status = CDAT_UNREACHABLE;
				bits |= event(ev, CDAT_EV_ADDR_DOWN, i, j);
			}
			unreach += a->status == CDAT_UNREACHABLE;
		}
		if (!n->suspected && n->n_addrs && unreach == n->n_addrs) {
			n->suspected = true;
			n->suspected_since_ms = now;
			bits |= event(ev, CDAT_EV_NODE_SUSPECT, i, 0);
		}
	}
	/* Then the votes, once every node's suspicion is current: in a
	 * partition the far side's nodes stop being voters in the same tick
	 * as they become suspected. */
	return bits | decide(t, now, heartbeat_ms, ev);
}

static void lower(uint64_t *next, uint64_t t)
{
	if (t < *next)
		*next = t;
}

uint64_t cdat_next_ms(const struct cdat *t, uint64_t now, unsigned heartbeat_ms)
{
	uint64_t next = UINT64_MAX;

	/* cdat_tick's rules, one by one. */
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->nodes[i].n_addrs; j++) {
			const struct cdat_addr *a = &t->nodes[i].addrs[j];

			if (a->outstanding)
				lower(&next, a->slot_ms + cdat_timeout_ms(a, heartbeat_ms));
			if (a->status == CDAT_REACHABLE && a->last_ok_ms && a->misses < a->retry)
				lower(&next, a->last_ok_ms +
					     cdat_silence_ms(a->retry, heartbeat_ms) + 1);
		}
	/* decide(): a suspected node goes down when the voters agree, which a
	 * voter whose word grows stale may bring about. */
	for (size_t x = 0; x < t->n; x++) {
		if (!t->nodes[x].suspected || t->nodes[x].down)
			continue;
		for (size_t i = 0; i < t->n; i++) {
			const struct cdat_node *v = &t->nodes[i];
			uint64_t stale;

			if (i == x || v->down || v->suspected || !v->voted || now < v->voted_ms)
				continue;
			stale = v->voted_ms + cdat_silence_ms(max_retry(v), heartbeat_ms) + 1;
			if (stale > now)
				lower(&next, stale);
		}
	}
	return next;
}

long cdat_current_addr(const struct cdat *t, size_t node)
{
	long best = -1;

	if (node >= t->n)
		return -1;
	for (size_t j = 0; j < t->nodes[node].n_addrs; j++) {
		const struct cdat_addr *a = &t->nodes[node].addrs[j];

		/* Strictly lower only: among equals the file's order decides. */
		if (a->status != CDAT_UNREACHABLE &&
		    (best < 0 || a->cos < t->nodes[node].addrs[best].cos))
			best = (long)j;
	}
	return best;
}

size_t cdat_path_max(const struct cdat *t, long self, size_t node)
{
	size_t best = WIRE_MAX;

	if (node >= t->n || (self >= 0 && (size_t)self >= t->n))
		return 0;
	for (size_t j = 0; j < t->nodes[node].n_addrs; j++) {
		const struct cdat_addr *a = &t->nodes[node].addrs[j];
		size_t mtu = a->mtu, hdr = a->ip.family == AF_INET ? 20 + 8 : 40 + 8;

		/* Our source may be any address of that family (the daemon falls
		 * back to the first): the smallest of them bounds the path. */
		for (size_t k = 0; self >= 0 && k < t->nodes[self].n_addrs; k++) {
			const struct cdat_addr *o = &t->nodes[self].addrs[k];

			if (o->ip.family == a->ip.family && o->mtu < mtu)
				mtu = o->mtu;
		}
		mtu = mtu > hdr ? mtu - hdr : 0;
		if (mtu < best)
			best = mtu;
	}
	return best;
}

uint64_t cdat_probe_due(const struct cdat *t, size_t node, size_t ai, uint64_t now,
			unsigned heartbeat_ms, unsigned probe_every)
{
	const struct cdat_addr *a;
	uint64_t iv = heartbeat_ms ? heartbeat_ms : 1, slot;

	if (node >= t->n || ai >= t->nodes[node].n_addrs || !now)
		return 0;
	a = &t->nodes[node].addrs[ai];
	/* One heartbeat in flight per address: cdat_tick resolves it first. */
	if (a->outstanding)
		return 0;
	if (a->status == CDAT_UNREACHABLE)
		iv *= probe_every ? probe_every : 1;
	if (a->slot_ms == 0)
		return now;
	slot = a->slot_ms + iv;
	if (now < slot)
		return 0;
	/* More than a period late (a stall, a slow answer): a new grid from
	 * now rather than a burst of catch-up heartbeats. */
	return now - slot >= iv ? now : slot;
}
/* --- distribution --- */

/* Copies adapter information (prefix, mtu, type) of the addresses of src
 * into the same addresses (by IP) of dst; returns whether anything changed.
 * Addresses themselves, cos and retry come from the file only. */
static bool merge_addrs(struct cdat_node *dst, const struct cdat_node *src, bool apply)
{
	bool changed = false;

	for (size_t i = 0; i < src->n_addrs; i++) {
		const struct cdat_addr *s = &src->addrs[i];

		for (size_t j = 0; j < dst->n_addrs; j++) {
			struct cdat_addr *d = &dst->addrs[j];

			if (!addr_eq(&d->ip, &s->ip))
				continue;
			if (d->prefix == s->prefix && d->mtu == s->mtu &&
			    memcmp(d->type, s->type, CDAT_TYPE_MAX) == 0)
				break;
			changed = true;
			if (apply) {
				d->prefix = s->prefix;
				d->mtu = s->mtu;
				memcpy(d->type, s->type, CDAT_TYPE_MAX);
			}
			break;
		}
	}
	return changed;
}

static bool merge_entry(struct cdat *t, const struct cdat_node *src)
{
	long i = cdat_find_node(t, src->name);

	if (i < 0 || !merge_addrs(&t->nodes[i], src, true))
		return false;
	cdat_update_digest(t);
	return true;
}

/* Local observations (reachability, heartbeat summaries) of old carried
 * over to the same nodes and addresses of t. */
static void carry_local(struct cdat *t, const struct cdat *old)
{
	for (size_t i = 0; i < t->n; i++) {
		struct cdat_node *n = &t->nodes[i];
		long k = cdat_find_node(old, n->name);
		const struct cdat_node *o;
		size_t unreach = 0;

		if (k < 0)
			continue;
		o = &old->nodes[k];
		n->heard = o->heard;
		n->heard_version = o->heard_version;
		n->heard_ms = o->heard_ms;
		memcpy(n->heard_digest, o->heard_digest, CDAT_DIGEST_LEN);
		for (size_t j = 0; j < n->n_addrs; j++) {
			struct cdat_addr *a = &n->addrs[j];

			for (size_t m = 0; m < o->n_addrs; m++) {
				const struct cdat_addr *b = &o->addrs[m];

				if (!addr_eq(&a->ip, &b->ip))
					continue;
				a->status = b->status;
				a->outstanding = b->outstanding;
				a->misses = b->misses;
				a->rtt_us = b->rtt_us;
				a->rtt_var_us = b->rtt_var_us;
				a->last_ok_ms = b->last_ok_ms;
				a->last_sent_ms = b->last_sent_ms;
				a->slot_ms = b->slot_ms;
				break;
			}
			unreach += a->status == CDAT_UNREACHABLE;
		}
		n->suspected = n->n_addrs && unreach == n->n_addrs;
		n->suspected_since_ms = n->suspected ? o->suspected_since_ms : 0;
		/* Agreed down stays down; a node the new table gives a new
		 * (untested) address is neither suspected nor down. */
		n->down = n->suspected && o->down;
		n->down_since_ms = n->down ? o->down_since_ms : 0;
		n->voted = o->voted;
		n->voted_ms = o->voted_ms;
		memset(n->suspects, 0, sizeof(n->suspects));
		/* The votes are by index: renumber them in the new table. */
		for (size_t x = 0; x < old->n; x++) {
			long nx;

			if (!(o->suspects[x / 8] & (1u << (x % 8))))
				continue;
			nx = cdat_find_node(t, old->nodes[x].name);
			if (nx >= 0)
				n->suspects[nx / 8] |= (uint8_t)(1u << (nx % 8));
		}
	}
}

static void own_from(struct cdat_proto *p, const struct cdat *t)
{
	long s = cdat_find_node(t, p->self);

	p->has_self = s >= 0;
	if (s >= 0) {
		struct cdat_node old = p->own;

		p->own = t->nodes[s];
		merge_addrs(&p->own, &old, true);
	}
}

int cdat_proto_init(struct cdat_proto *p, const struct cdat *table, const char *self,
		    uint64_t now)
{
	int r;

	memset(p, 0, sizeof(*p));
	if (!self || strnlen(self, CDAT_NAME_MAX) >= CDAT_NAME_MAX)
		return CDAT_ERR_INVAL;
	strcpy(p->self, self);
	r = cdat_copy(&p->cur, table);
	if (r == CDAT_OK)
		r = cdat_copy(&p->work, table);
	if (r < 0) {
		cdat_proto_free(p);
		return r;
	}
	cdat_update_digest(&p->cur);
	cdat_update_digest(&p->work);
	own_from(p, table);
	p->max_seen = p->cur.version;
	p->ack_timeout_ms = DEF_ACK_TIMEOUT_MS;
	p->holdoff_ms = DEF_HOLDOFF_MS;
	p->report_every_ms = DEF_REPORT_EVERY_MS;
	p->changed_ms = now;
	p->commit_ms = now;
	return CDAT_OK;
}

int cdat_proto_init_cfg(struct cdat_proto *p, const struct cfg *c, uint64_t now)
{
	struct cdat t;
	int r;

	memset(p, 0, sizeof(*p));
	r = cdat_from_cfg(&t, c);
	if (r < 0)
		return r;
	r = cdat_proto_init(p, &t, c->node_name, now);
	cdat_free(&t);
	return r;
}

/* Sets a node-name field to `name`, whole: the rest of the field is zeroed,
 * so a shorter name never keeps the tail of a longer one. */
static void name_set(char dst[CDAT_NAME_MAX], const char *name)
{
	memset(dst, 0, CDAT_NAME_MAX);
	memcpy(dst, name, strnlen(name, CDAT_NAME_MAX - 1));
}

static void pend_reset(struct cdat_proto *p)
{
	cdat_free(&p->pend);
	free(p->pend_have);
	p->pend_have = NULL;
	memset(p->pend_from, 0, sizeof(p->pend_from));
	p->pend_parts = 0;
	memset(p->pend_seen, 0, sizeof(p->pend_seen));
	p->pend_complete = false;
}

static void prop_reset(struct cdat_proto *p)
{
	cdat_free(&p->prop);
	free(p->acked);
	p->acked = NULL;
	p->proposing = false;
}

void cdat_proto_free(struct cdat_proto *p)
{
	cdat_free(&p->cur);
	cdat_free(&p->work);
	prop_reset(p);
	pend_reset(p);
}

int cdat_proto_reload(struct cdat_proto *p, const struct cdat *table, uint64_t now)
{
	struct cdat t;
	int r;

	cdat_init(&t);
	r = cdat_copy(&t, table);
	if (r < 0)
		return r;
	/* Keep what nodes told us about their adapters. */
	for (size_t i = 0; i < p->work.n; i++) {
		long k = cdat_find_node(&t, p->work.nodes[i].name);

		if (k >= 0)
			merge_addrs(&t.nodes[k], &p->work.nodes[i], true);
	}
	own_from(p, &t);
	if (p->has_self)
		merge_entry(&t, &p->own);
	t.version = p->work.version;
	cdat_update_digest(&t);
	cdat_free(&p->work);
	p->work = t;
	p->changed_ms = now;
	return CDAT_OK;
}

int cdat_proto_set_own(struct cdat_proto *p, size_t ai, uint8_t prefix, uint16_t mtu,
		       const char *type)
{
	struct cdat_addr *a;
	int r;

	if (!p->has_self || ai >= p->own.n_addrs)
		return CDAT_ERR_INVAL;
	a = &p->own.addrs[ai];
	r = check_adapter(a, prefix, mtu, type);
	if (r < 0)
		return r;
	a->prefix = prefix;
	a->mtu = mtu;
	if (type)
		set_type(a->type, type);
	return CDAT_OK;
}

long cdat_proto_coordinator(const struct cdat_proto *p)
{
	for (size_t i = 0; i < p->cur.n; i++) {
		const struct cdat_node *n = &p->cur.nodes[i];

		/* This node never considers itself down. */
		if (!n->down || (p->has_self && strcmp(n->name, p->self) == 0))
			return (long)i;
	}
	return -1;
}

bool cdat_proto_is_coordinator(const struct cdat_proto *p)
{
	long c = cdat_proto_coordinator(p);

	return p->has_self && c >= 0 && strcmp(p->cur.nodes[c].name, p->self) == 0;
}

void cdat_proto_heard(struct cdat_proto *p, const char *from, uint64_t version,
		      const uint8_t digest[CDAT_DIGEST_LEN], uint64_t now)
{
	long i = cdat_find_node(&p->cur, from);
	struct cdat_node *n;

	if (i < 0 || !digest || version >= CDAT_VERSION_LIMIT)
		return;
	n = &p->cur.nodes[i];
	/* A peer whose table changed: let the cluster settle before acting. */
	if (!n->heard || n->heard_version != version ||
	    memcmp(n->heard_digest, digest, CDAT_DIGEST_LEN) != 0)
		p->changed_ms = now;
	n->heard = true;
	n->heard_version = version;
	n->heard_ms = now;
	memcpy(n->heard_digest, digest, CDAT_DIGEST_LEN);
	if (version > p->max_seen)
		p->max_seen = version;
}

/* A body under construction, as large as an outbox message may be. */
struct body {
	struct tlv_writer w;
	uint8_t buf[CDAT_BODY_MAX];
};

static void body_begin(struct body *b)
{
	tlv_writer_init(&b->w, b->buf, sizeof(b->buf));
}

static void body_send(struct body *b, struct cdat_outbox *out, const char *to, uint8_t type)
{
	struct cdat_out *m;
	size_t len;

	if (!out)
		return;
	if (b->w.overflow || out->n >= out->cap || !out->msg) {
		out->overflow = true;
		return;
	}
	len = b->w.len;
	m = &out->msg[out->n++];
	name_set(m->to, to);
	m->type = type;
	m->len = (uint16_t)len;
	memcpy(m->body, b->buf, len);
}

static void send_summary(struct cdat_outbox *out, const char *to, uint8_t type,
			 uint64_t version, const uint8_t *digest)
{
	struct body b;

	body_begin(&b);
	cdat_put_summary(&b.w, version, digest);
	body_send(&b, out, to, type);
}

static void send_report(struct cdat_proto *p, const char *to, uint64_t now,
			struct cdat_outbox *out)
{
	struct body b;

	body_begin(&b);
	cdat_put_summary(&b.w, p->cur.version, p->cur.digest);
	cdat_put_node(&b.w, &p->own);
	body_send(&b, out, to, CDAT_MSG_REPORT);
	name_set(p->reported_to, to);
	p->report_ms = now;
}

static size_t entry_size(const struct cdat_node *n)
{
	return tlv_space(strnlen(n->name, CDAT_NAME_MAX)) + n->n_addrs * tlv_space(CDAT_ADDR_LEN);
}

/* Room for entries in a PROPOSE fragment after its VERSION and PART. */
#define FRAG_HEAD (tlv_space(8) + tlv_space(CDAT_PART_LEN))
#define FRAG_ROOM (CDAT_BODY_MAX - FRAG_HEAD)
/* A state datagram's bytes around a CDAT body: header, MAC, the reliable
 * channel's sequence TLV (CDAT_BODY_MAX leaves room for it). */
#define DGRAM_OVERHEAD (WIRE_MAX - CDAT_BODY_MAX)

/* Room for entries in a fragment to `to`: FRAG_ROOM, or less when the
 * adapter MTUs of the path (cdat_path_max on the proposed table, which
 * holds our own adapters and the reports) make a full datagram too big. */
static size_t frag_room(const struct cdat_proto *p, const char *to)
{
	long self = cdat_find_node(&p->prop, p->self), n = cdat_find_node(&p->prop, to);
	size_t path, room;

	if (n < 0)
		return FRAG_ROOM;
	path = cdat_path_max(&p->prop, self, (size_t)n);
	if (path <= DGRAM_OVERHEAD + FRAG_HEAD)
		return 1;	/* one entry per fragment, IP fragments the rest */
	room = path - DGRAM_OVERHEAD - FRAG_HEAD;
	return room < FRAG_ROOM ? room : FRAG_ROOM;
}

/* Sends the proposal in as many fragments as it takes; each fragment holds
 * whole entries, at least one (an entry is at most ~420 bytes, well below
 * FRAG_ROOM; only a path below ~550 bytes gets a fragment larger than its
 * room). */
static void send_proposal(struct cdat_proto *p, const char *to, struct cdat_outbox *out)
{
	const struct cdat *t = &p->prop;
	size_t parts = 0, first, i, used = 0, room = frag_room(p, to);
	uint8_t part[CDAT_PART_LEN];
	struct body b;

	for (i = 0; i < t->n; i++) {
		size_t sz = entry_size(&t->nodes[i]);

		if (parts == 0 || (used && used + sz > room)) {
			parts++;
			used = 0;
		}
		used += sz;
	}
	if (!parts)
		parts = 1;
	for (size_t k = 0, start = 0; k < parts; k++) {
		first = start;
		used = 0;
		while (start < t->n && (used == 0 || used + entry_size(&t->nodes[start]) <= room))
			used += entry_size(&t->nodes[start++]);
		be_put16(part, (uint16_t)k);
		be_put16(part + 2, (uint16_t)parts);
		be_put16(part + 4, (uint16_t)first);
		be_put16(part + 6, (uint16_t)t->n);
		body_begin(&b);
		tlv_put_u64(&b.w, CDAT_TLV_VERSION, t->version);
		tlv_put(&b.w, CDAT_TLV_PART, part, sizeof(part));
		for (i = first; i < start; i++)
			cdat_put_node(&b.w, &t->nodes[i]);
		body_send(&b, out, to, CDAT_MSG_PROPOSE);
	}
}

static bool is_self(const struct cdat_proto *p, const char *name)
{
	return p->has_self && strcmp(p->self, name) == 0;
}

/* A node the coordinator need not wait for: down in our table, or not in
 * it (added by a reload) and silent past the ack timeout. */
static bool prop_down(const struct cdat_proto *p, const char *name, uint64_t now)
{
	long i = cdat_find_node(&p->cur, name);

	if (i >= 0)
		return p->cur.nodes[i].down;
	return now - p->prop_ms >= p->ack_timeout_ms;
}

/* Installs t (moved, t is left empty) as the committed table. */
static void install(struct cdat_proto *p, struct cdat *t, uint64_t now)
{
	carry_local(t, &p->cur);
	cdat_free(&p->cur);
	p->cur = *t;
	memset(t, 0, sizeof(*t));
	if (p->cur.version > p->max_seen)
		p->max_seen = p->cur.version;
	p->commit_ms = now;
	p->changed_ms = now;
	p->n_committed++;
	/* A coordinator keeps reports merged meanwhile; others start over from
	 * the committed table if they become coordinator. */
	if (!cdat_proto_is_coordinator(p))
		cdat_copy(&p->work, &p->cur);
}

static void check_commit(struct cdat_proto *p, uint64_t now, struct cdat_outbox *out)
{
	if (!p->proposing)
		return;
	for (size_t i = 0; i < p->prop.n; i++) {
		const char *name = p->prop.nodes[i].name;

		if (!is_self(p, name) && !p->acked[i] && !prop_down(p, name, now))
			return;
	}
	for (size_t i = 0; i < p->prop.n; i++)
		if (!is_self(p, p->prop.nodes[i].name) && p->acked[i])
			send_summary(out, p->prop.nodes[i].name, CDAT_MSG_COMMIT,
				     p->prop.version, p->prop.digest);
	free(p->acked);
	p->acked = NULL;
	p->proposing = false;
	install(p, &p->prop, now);
}

static void propose(struct cdat_proto *p, uint64_t now, struct cdat_outbox *out)
{
	uint64_t v = p->max_seen > p->cur.version ? p->max_seen : p->cur.version;

	prop_reset(p);
	if (v + 1 >= CDAT_VERSION_LIMIT)
		return;	/* cannot happen: every version taken in is below it */
	if (cdat_copy(&p->prop, &p->work) < 0)
		return;
	p->acked = calloc(p->prop.n ? p->prop.n : 1, sizeof(*p->acked));
	if (!p->acked) {
		cdat_free(&p->prop);
		return;
	}
	p->prop.version = v + 1;
	p->max_seen = v + 1;
	cdat_update_digest(&p->prop);
	p->proposing = true;
	p->prop_ms = now;
	p->n_proposed++;
	for (size_t i = 0; i < p->prop.n; i++) {
		const char *name = p->prop.nodes[i].name;

		if (!is_self(p, name) && !prop_down(p, name, now))
			send_proposal(p, name, out);
	}
	check_commit(p, now, out);
}

/* A peer not down whose heartbeats, well after our last commit, still
 * show another table: it missed a commit or comes from another partition. */
static bool peer_mismatch(const struct cdat_proto *p)
{
	for (size_t i = 0; i < p->cur.n; i++) {
		const struct cdat_node *n = &p->cur.nodes[i];

		if (is_self(p, n->name) || n->down || !n->heard)
			continue;
		if (n->heard_ms < p->commit_ms + p->holdoff_ms)
			continue;
		if (n->heard_version != p->cur.version ||
		    memcmp(n->heard_digest, p->cur.digest, CDAT_DIGEST_LEN) != 0)
			return true;
	}
	return false;
}

void cdat_proto_tick(struct cdat_proto *p, uint64_t now, struct cdat_outbox *out)
{
	long c = cdat_proto_coordinator(p);
	bool coord = cdat_proto_is_coordinator(p);

	if (p->proposing && !coord)
		prop_reset(p);
	if (p->has_self && coord) {
		if (merge_entry(&p->work, &p->own))
			p->changed_ms = now;
	} else if (p->has_self && c >= 0) {
		const char *cn = p->cur.nodes[c].name;
		long s = cdat_find_node(&p->cur, p->self);
		bool stale = s < 0 || merge_addrs(&p->cur.nodes[s], &p->own, false);

		/* Report to every new coordinator, and again while the committed
		 * table does not show what we reported. */
		if (strcmp(p->reported_to, cn) != 0 ||
		    (stale && now - p->report_ms >= p->report_every_ms))
			send_report(p, cn, now, out);
	}
	if (!coord)
		return;
	if (p->proposing) {
		check_commit(p, now, out);
		if (!p->proposing || now - p->prop_ms < p->ack_timeout_ms)
			return;
		for (size_t i = 0; i < p->prop.n; i++) {
			const char *name = p->prop.nodes[i].name;

			if (!is_self(p, name) && !p->acked[i] && !prop_down(p, name, now))
				send_proposal(p, name, out);
		}
		p->prop_ms = now;
		return;
	}
	if (now - p->changed_ms < p->holdoff_ms)
		return;
	if (memcmp(p->work.digest, p->cur.digest, CDAT_DIGEST_LEN) != 0 || peer_mismatch(p))
		propose(p, now, out);
}

uint64_t cdat_proto_next_ms(const struct cdat_proto *p, uint64_t now)
{
	bool coord = cdat_proto_is_coordinator(p);
	uint64_t next = UINT64_MAX;

	/* A participant repeats its report while the committed table does not
	 * show it; whether it does is left to the tick (at worst one early
	 * wake-up a report period). */
	if (p->has_self && !coord && cdat_proto_coordinator(p) >= 0 &&
	    p->report_ms + p->report_every_ms > now)
		lower(&next, p->report_ms + p->report_every_ms);
	if (coord && p->proposing)
		lower(&next, p->prop_ms + p->ack_timeout_ms);
	if (coord && !p->proposing) {
		if (p->changed_ms + p->holdoff_ms > now)
			lower(&next, p->changed_ms + p->holdoff_ms);
		if (p->commit_ms + p->holdoff_ms > now)
			lower(&next, p->commit_ms + p->holdoff_ms);
	}
	return next;
}

static int get_summary_strict(const uint8_t *body, size_t len, uint64_t *version,
			      const uint8_t **digest)
{
	const uint8_t *v, *d;
	uint16_t vl;

	v = find_tlv(body, len, CDAT_TLV_VERSION, &vl);
	d = find_tlv(body, len, CDAT_TLV_DIGEST, &vl);
	if (!v || !d)
		return CDAT_ERR_FORMAT;
	*version = be_get64(v);
	if (*version >= CDAT_VERSION_LIMIT)
		return CDAT_ERR_FORMAT;
	*digest = d;
	return CDAT_OK;
}

static int in_report(struct cdat_proto *p, const char *from, const uint8_t *body, size_t len,
		     uint64_t now)
{
	struct cdat_node n;
	const uint8_t *d;
	uint64_t version;
	size_t k;
	int r;

	r = get_summary_strict(body, len, &version, &d);
	if (r < 0)
		return r;
	r = cdat_decode_nodes(body, len, &n, 1, &k);
	if (r < 0)
		return r;
	/* A node reports its own entry only. */
	if (k != 1 || strcmp(n.name, from) != 0)
		return CDAT_ERR_FORMAT;
	if (version > p->max_seen)
		p->max_seen = version;
	if (cdat_find_node(&p->work, from) < 0)
		return CDAT_ERR_UNKNOWN;
	if (merge_entry(&p->work, &n))
		p->changed_ms = now;
	return CDAT_OK;
}

static void pend_ack(struct cdat_proto *p, const char *from, struct cdat_outbox *out)
{
	if (p->pend.version == p->cur.version &&
	    memcmp(p->pend.digest, p->cur.digest, CDAT_DIGEST_LEN) != 0) {
		/* Same version, other content: refuse, the coordinator goes higher. */
		p->n_refused++;
		send_summary(out, from, CDAT_MSG_ACK, p->cur.version, p->cur.digest);
		return;
	}
	send_summary(out, from, CDAT_MSG_ACK, p->pend.version, p->pend.digest);
}

static int in_propose(struct cdat_proto *p, const char *from, const uint8_t *body, size_t len,
		      struct cdat_outbox *out)
{
	const uint8_t *v, *pt;
	uint16_t vl, part, parts, first, nn;
	uint64_t version;
	size_t k, have;
	int r;

	v = find_tlv(body, len, CDAT_TLV_VERSION, &vl);
	pt = find_tlv(body, len, CDAT_TLV_PART, &vl);
	if (!v || !pt)
		return CDAT_ERR_FORMAT;
	version = be_get64(v);
	if (version >= CDAT_VERSION_LIMIT)
		return CDAT_ERR_FORMAT;
	part = be_get16(pt);
	parts = be_get16(pt + 2);
	first = be_get16(pt + 4);
	nn = be_get16(pt + 6);
	if (nn == 0 || nn > CDAT_MAX_NODES || parts == 0 || parts > nn || part >= parts ||
	    first >= nn)
		return CDAT_ERR_FORMAT;
	if (version > p->max_seen)
		p->max_seen = version;
	if (version < p->cur.version) {
		/* Refused with our version, so that the coordinator catches up. */
		p->n_refused++;
		send_summary(out, from, CDAT_MSG_ACK, p->cur.version, p->cur.digest);
		return CDAT_ERR_STALE;
	}
	if (p->pend.nodes && version < p->pend.version)
		return CDAT_ERR_STALE;
	if (!p->pend.nodes || version != p->pend.version ||
	    strncmp(p->pend_from, from, CDAT_NAME_MAX) != 0 || nn != p->pend.n ||
	    parts != p->pend_parts) {
		pend_reset(p);
		r = table_alloc(&p->pend, nn);
		if (r < 0)
			return r;
		p->pend_have = calloc(nn, sizeof(*p->pend_have));
		if (!p->pend_have) {
			pend_reset(p);
			return CDAT_ERR_NOMEM;
		}
		p->pend.version = version;
		p->pend_parts = parts;
		name_set(p->pend_from, from);
	}
	if (p->pend_complete) {
		/* A resend: the coordinator did not get our ACK.  One ACK per
		 * resend of the whole table, not one per fragment. */
		if (part == 0)
			pend_ack(p, from, out);
		return CDAT_OK;
	}
	r = cdat_decode_nodes(body, len, p->pend.nodes + first, (size_t)(nn - first), &k);
	if (r == CDAT_OK && k == 0)
		r = CDAT_ERR_FORMAT;
	if (r < 0) {
		pend_reset(p);
		return r;
	}
	for (size_t i = first; i < first + k; i++)
		p->pend_have[i] = true;
	p->pend_seen[part / 8] |= (uint8_t)(1u << (part % 8));
	have = 0;
	for (size_t i = 0; i < nn; i++)
		have += p->pend_have[i];
	for (uint16_t i = 0; i < parts; i++)
		if (!(p->pend_seen[i / 8] & (1u << (i % 8))))
			return CDAT_OK;
	if (have != nn) {
		pend_reset(p);
		return CDAT_ERR_FORMAT;
	}
	for (size_t i = 0; i < nn; i++)
		for (size_t j = i + 1; j < nn; j++)
			if (strcmp(p->pend.nodes[i].name, p->pend.nodes[j].name) == 0) {
				pend_reset(p);
				return CDAT_ERR_DUP;
			}
	cdat_update_digest(&p->pend);
	p->pend_complete = true;
	pend_ack(p, from, out);
	return CDAT_OK;
}

static int in_ack(struct cdat_proto *p, const char *from, const uint8_t *body, size_t len,
		  uint64_t now, struct cdat_outbox *out)
{
	const uint8_t *d;
	uint64_t version;
	long i;
	int r;

	r = get_summary_strict(body, len, &version, &d);
	if (r < 0)
		return r;
	if (version > p->max_seen)
		p->max_seen = version;
	if (!p->proposing)
		return CDAT_ERR_STALE;
	i = cdat_find_node(&p->prop, from);
	if (i < 0)
		return CDAT_ERR_UNKNOWN;
	if (version < p->prop.version)
		return CDAT_ERR_STALE;
	if (version == p->prop.version && memcmp(d, p->prop.digest, CDAT_DIGEST_LEN) == 0) {
		p->acked[i] = true;
		check_commit(p, now, out);
		return CDAT_OK;
	}
	/* Refused (it has a newer table) or another digest: go above it. */
	p->n_refused++;
	propose(p, now, out);
	return CDAT_OK;
}

static int in_commit(struct cdat_proto *p, const uint8_t *body, size_t len, uint64_t now)
{
	const uint8_t *d;
	uint64_t version;
	int r;

	r = get_summary_strict(body, len, &version, &d);
	if (r < 0)
		return r;
	if (version > p->max_seen)
		p->max_seen = version;
	if (version == p->cur.version && memcmp(d, p->cur.digest, CDAT_DIGEST_LEN) == 0)
		return CDAT_OK;
	if (!p->pend_complete || p->pend.version != version || version <= p->cur.version ||
	    memcmp(d, p->pend.digest, CDAT_DIGEST_LEN) != 0)
		return CDAT_ERR_STALE;
	install(p, &p->pend, now);
	pend_reset(p);
	return CDAT_OK;
}

int cdat_proto_input(struct cdat_proto *p, const char *from, uint8_t type, const uint8_t *body,
		     size_t len, uint64_t now, struct cdat_outbox *out)
{
	int r;

	if (!from || !body || len > CDAT_BODY_MAX || strnlen(from, CDAT_NAME_MAX) >= CDAT_NAME_MAX)
		return CDAT_ERR_INVAL;
	if (!tlv_framing_ok(body, len)) {
		p->n_bad++;
		return CDAT_ERR_TLV;
	}
	switch (type) {
	case CDAT_MSG_REPORT:
		r = in_report(p, from, body, len, now);
		break;
	case CDAT_MSG_PROPOSE:
		r = in_propose(p, from, body, len, out);
		break;
	case CDAT_MSG_ACK:
		r = in_ack(p, from, body, len, now, out);
		break;
	case CDAT_MSG_COMMIT:
		r = in_commit(p, body, len, now);
		break;
	default:
		return CDAT_ERR_INVAL;
	}
	if (r < 0 && r != CDAT_ERR_STALE)
		p->n_bad++;
	return r;
}
