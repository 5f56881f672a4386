/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire: encode, decode and authenticate cluster messages; replay window.
 * Pure code: see wire.h for the layout. */
#include <assert.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "common/be.h"
#include "sync/wire.h"

static_assert(crypto_auth_BYTES == WIRE_MAC_LEN, "MAC size");
static_assert(crypto_auth_KEYBYTES == sizeof(struct wire_key), "key size");

/* Largest header + body: the MAC must still fit in WIRE_MAX. */
#define WIRE_BODY_END (WIRE_MAX - WIRE_MAC_LEN)

static const char *const status_names[WIRE__MAX] = {
	[WIRE_OK] = "ok",
	[WIRE_ERR_SHORT] = "short",
	[WIRE_ERR_LONG] = "long",
	[WIRE_ERR_MAGIC] = "magic",
	[WIRE_ERR_VERSION] = "version",
	[WIRE_ERR_LENGTH] = "length",
	[WIRE_ERR_MAC] = "mac",
	[WIRE_ERR_REPLAY] = "replay",
	[WIRE_ERR_STALE_EPOCH] = "stale_epoch",
	[WIRE_ERR_TLV] = "tlv",
	[WIRE_ERR_RECIPIENT] = "recipient",
	[WIRE_ERR_STALE_RECIPIENT_EPOCH] = "stale_recipient_epoch",
};

const char *wire_status_name(enum wire_status s)
{
	if ((unsigned)s >= WIRE__MAX)
		return "unknown";
	return status_names[s];
}

uint32_t wire_node_id(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

/* Room for header + body, leaving space for the MAC. */
static size_t dgram_limit(const uint8_t *buf, size_t cap)
{
	size_t lim = !buf ? 0 : cap < WIRE_MAX ? cap : WIRE_MAX;

	return lim >= WIRE_MAC_LEN ? lim - WIRE_MAC_LEN : 0;
}

void wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap, const struct wire_hdr *h)
{
	size_t lim = dgram_limit(buf, cap);

	w->buf = buf;
	if (lim < WIRE_HDR_LEN) {
		tlv_writer_init(&w->body, NULL, 0);
		w->body.overflow = true;
		return;
	}
	be_put32(buf, WIRE_MAGIC);
	buf[4] = WIRE_VERSION;
	buf[5] = h->type;
	be_put16(buf + 6, h->flags);
	be_put32(buf + 8, h->sender);
	be_put64(buf + 12, h->epoch);
	be_put64(buf + 20, h->seq);
	be_put16(buf + 28, 0);	/* length: set by wire_finish */
	be_put16(buf + 30, 0);
	be_put32(buf + 32, h->recipient);
	be_put64(buf + 36, h->recipient_epoch);
	tlv_writer_init(&w->body, buf + WIRE_HDR_LEN, lim - WIRE_HDR_LEN);
}

void wire_put_listen(struct wire_writer *w, const struct wire_listen *l)
{
	uint8_t v[WIRE_LISTEN_LEN] = { 0 };

	if (l->family == AF_INET || l->family == 4) {
		v[0] = 4;
	} else if (l->family == AF_INET6 || l->family == 6) {
		v[0] = 6;
	} else {
		w->body.overflow = true;
		return;
	}
	v[1] = l->proto;
	be_put16(v + 2, l->port);
	v[4] = l->listening ? 1 : 0;
	wire_put(w, WIRE_TLV_LISTEN, v, sizeof(v));
}

size_t wire_finish(struct wire_writer *w, const struct wire_keys *keys)
{
	size_t len = WIRE_HDR_LEN + w->body.len;

	if (w->body.overflow || !w->body.buf || !keys || keys->n < 1)
		return 0;
	/* dgram_limit() guarantees both the u16 length and the MAC fit. */
	be_put16(w->buf + 28, (uint16_t)len);
	crypto_auth(w->buf + len, w->buf, len, keys->key[0].k);
	return len + WIRE_MAC_LEN;
}

enum wire_status wire_decode(const uint8_t *buf, size_t len, const struct wire_keys *keys,
			     struct wire_msg *m)
{
	size_t body_end;
	unsigned ok = 0;

	if (len < WIRE_HDR_LEN + WIRE_MAC_LEN)
		return WIRE_ERR_SHORT;
	if (len > WIRE_MAX)
		return WIRE_ERR_LONG;
	if (be_get32(buf) != WIRE_MAGIC)
		return WIRE_ERR_MAGIC;
	if (buf[4] != WIRE_VERSION)
		return WIRE_ERR_VERSION;
	body_end = be_get16(buf + 28);
	if (body_end < WIRE_HDR_LEN || body_end + WIRE_MAC_LEN != len)
		return WIRE_ERR_LENGTH;
	/* Try every key without stopping early, so timing does not tell which
	 * key (or whether the first) matched.  crypto_auth_verify is itself
	 * constant time. */
	for (unsigned i = 0; keys && i < keys->n && i < 2; i++)
		ok |= crypto_auth_verify(buf + body_end, buf, body_end, keys->key[i].k) == 0;
	if (!ok)
		return WIRE_ERR_MAC;
	if (!tlv_framing_ok(buf + WIRE_HDR_LEN, body_end - WIRE_HDR_LEN))
		return WIRE_ERR_TLV;

	m->hdr.type = buf[5];
	m->hdr.flags = be_get16(buf + 6);
	m->hdr.sender = be_get32(buf + 8);
	m->hdr.epoch = be_get64(buf + 12);
	m->hdr.seq = be_get64(buf + 20);
	m->hdr.recipient = be_get32(buf + 32);
	m->hdr.recipient_epoch = be_get64(buf + 36);
	m->body = buf + WIRE_HDR_LEN;
	m->body_len = body_end - WIRE_HDR_LEN;
	return WIRE_OK;
}

void wire_tlv_begin(struct tlv_iter *it, const struct wire_msg *m)
{
	tlv_iter_init(it, m->body, m->body_len);
}

bool wire_get_listen(const uint8_t *val, uint16_t len, struct wire_listen *l)
{
	if (!val || len < WIRE_LISTEN_LEN)
		return false;
	if (val[0] == 4)
		l->family = AF_INET;
	else if (val[0] == 6)
		l->family = AF_INET6;
	else
		return false;
	l->proto = val[1];
	l->port = be_get16(val + 2);
	l->listening = val[4] ? 1 : 0;
	return true;
}

enum wire_status wire_check_recipient(const struct wire_hdr *h, uint32_t self_id,
				      uint64_t self_epoch)
{
	/* A group datagram proves itself by its recipient vector
	 * (sync/hbgroup.h), never by these fields. */
	if (h->recipient != self_id || h->recipient == WIRE_GROUP)
		return WIRE_ERR_RECIPIENT;
	if (h->recipient_epoch && h->recipient_epoch != self_epoch)
		return WIRE_ERR_STALE_RECIPIENT_EPOCH;
	return WIRE_OK;
}

bool wire_proven(const struct wire_hdr *h, uint64_t self_epoch)
{
	return self_epoch && h->recipient_epoch == self_epoch;
}

enum wire_status wire_replay_check(const struct wire_replay *r, uint64_t epoch, uint64_t seq)
{
	uint64_t back;

	if (!r->valid || epoch > r->epoch)
		return WIRE_OK;
	if (epoch < r->epoch)
		return WIRE_ERR_STALE_EPOCH;
	if (seq > r->top)
		return WIRE_OK;
	back = r->top - seq;
	if (back >= WIRE_REPLAY_WINDOW)
		return WIRE_ERR_REPLAY;
	return r->bitmap & (1ull << back) ? WIRE_ERR_REPLAY : WIRE_OK;
}

void wire_replay_accept(struct wire_replay *r, uint64_t epoch, uint64_t seq)
{
	uint64_t d;

	if (!r->valid || epoch > r->epoch) {
		r->valid = true;
		r->epoch = epoch;
		r->top = seq;
		r->bitmap = 1;
		return;
	}
	if (epoch < r->epoch)
		return;
	if (seq > r->top) {
		d = seq - r->top;
		r->bitmap = d >= WIRE_REPLAY_WINDOW ? 1 : r->bitmap << d | 1;
		r->top = seq;
		return;
	}
	d = r->top - seq;
	if (d < WIRE_REPLAY_WINDOW)
		r->bitmap |= 1ull << d;
}
