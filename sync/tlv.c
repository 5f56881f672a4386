/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tlv: write and walk TLV bodies (see tlv.h). */
#include <string.h>

#include "common/be.h"
#include "sync/tlv.h"

void tlv_writer_init(struct tlv_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->overflow = false;
}

size_t tlv_room(const struct tlv_writer *w)
{
	return w->len < w->cap ? w->cap - w->len : 0;
}

bool tlv_fits(const struct tlv_writer *w, size_t len)
{
	return !w->overflow && len <= TLV_VAL_MAX && tlv_space(len) <= tlv_room(w);
}

bool tlv_put(struct tlv_writer *w, uint16_t type, const void *val, size_t len)
{
	uint8_t *p;

	if (!tlv_fits(w, len) || (len && !val)) {
		w->overflow = true;
		return false;
	}
	p = w->buf + w->len;
	be_put16(p, type);
	be_put16(p + 2, (uint16_t)len);
	if (len)
		memcpy(p + TLV_HDR_LEN, val, len);
	/* Zero padding: a MAC covers it and receivers see no stale bytes. */
	memset(p + TLV_HDR_LEN + len, 0, tlv_pad4(len) - len);
	w->len += tlv_space(len);
	return true;
}

bool tlv_put_u8(struct tlv_writer *w, uint16_t type, uint8_t v)
{
	return tlv_put(w, type, &v, 1);
}

bool tlv_put_u16(struct tlv_writer *w, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	be_put16(b, v);
	return tlv_put(w, type, b, sizeof(b));
}

bool tlv_put_u32(struct tlv_writer *w, uint16_t type, uint32_t v)
{
	uint8_t b[4];

	be_put32(b, v);
	return tlv_put(w, type, b, sizeof(b));
}

bool tlv_put_u64(struct tlv_writer *w, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	be_put64(b, v);
	return tlv_put(w, type, b, sizeof(b));
}

bool tlv_put_str(struct tlv_writer *w, uint16_t type, const char *s)
{
	if (!s) {
		w->overflow = true;
		return false;
	}
	return tlv_put(w, type, s, strlen(s));
}

bool tlv_put_tlvs(struct tlv_writer *w, const uint8_t *p, size_t len)
{
	if (w->overflow || (len && !p) || len > tlv_room(w) || (len && !tlv_framing_ok(p, len))) {
		w->overflow = true;
		return false;
	}
	if (len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
	return true;
}

bool tlv_framing_ok(const uint8_t *p, size_t len)
{
	while (len) {
		size_t need;

		if (len < TLV_HDR_LEN)
			return false;
		need = tlv_space(be_get16(p + 2));
		if (need > len)
			return false;
		p += need;
		len -= need;
	}
	return true;
}

void tlv_iter_init(struct tlv_iter *it, const uint8_t *p, size_t len)
{
	it->p = p;
	it->end = p ? p + len : NULL;
}

bool tlv_next(struct tlv_iter *it, uint16_t *type, const uint8_t **val, uint16_t *len)
{
	size_t room, n;

	if (!it->p || it->p >= it->end)
		return false;
	room = (size_t)(it->end - it->p);
	if (room < TLV_HDR_LEN)
		goto bad;
	n = be_get16(it->p + 2);
	if (tlv_space(n) > room)
		goto bad;
	*type = be_get16(it->p);
	*len = (uint16_t)n;
	*val = it->p + TLV_HDR_LEN;
	it->p += tlv_space(n);
	return true;
bad:
	it->p = it->end;	/* stop for good */
	return false;
}

size_t tlv_iter_rest(const struct tlv_iter *it, const uint8_t **p)
{
	*p = it->p;
	return it->p && it->p < it->end ? (size_t)(it->end - it->p) : 0;
}

const uint8_t *tlv_find(const uint8_t *p, size_t len, uint16_t want, uint16_t *vlen)
{
	struct tlv_iter it;
	const uint8_t *v;
	uint16_t type;

	tlv_iter_init(&it, p, len);
	while (tlv_next(&it, &type, &v, vlen))
		if (type == want)
			return v;
	return NULL;
}

size_t tlv_count(const uint8_t *p, size_t len, uint16_t want)
{
	struct tlv_iter it;
	const uint8_t *v;
	uint16_t type, vlen;
	size_t k = 0;

	tlv_iter_init(&it, p, len);
	while (tlv_next(&it, &type, &v, &vlen))
		k += type == want;
	return k;
}
