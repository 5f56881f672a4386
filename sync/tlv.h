/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tlv: the one TLV codec of every cluster message body (wire, cdat,
 * reliable, repl), over any caller buffer.  Pure: no allocation, no globals.
 *
 * A TLV is {type u16, len u16, value (len bytes), zero padding to 4}, all
 * integers big-endian; a body is TLVs back to back with nothing left over.
 * Nothing nests: a structured record (a CDAT entry) is a run of flat TLVs.
 *
 * Writer, in the manner of libmnl's mnl_attr_put: any error (no room, bad
 * argument) sets overflow, which sticks; nothing is ever written past cap,
 * and a put that fails leaves len unchanged, so callers check once at the
 * end.  A caller that wants to stop at the first record that does not fit
 * asks tlv_fits first (the writer is then never spoilt). */
#ifndef CLUSTERD_TLV_H
#define CLUSTERD_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLV_HDR_LEN 4
#define TLV_VAL_MAX UINT16_MAX

/* A value's length rounded up to the 4-byte alignment of the next TLV. */
static inline size_t tlv_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Bytes a TLV with a value of len bytes takes, header and padding included. */
static inline size_t tlv_space(size_t len)
{
	return TLV_HDR_LEN + tlv_pad4(len);
}

struct tlv_writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

/* A NULL buf is a writer of capacity 0. */
void tlv_writer_init(struct tlv_writer *w, uint8_t *buf, size_t cap);
/* Bytes still free. */
size_t tlv_room(const struct tlv_writer *w);
/* Would a value of len bytes fit now (false once overflowed)? */
bool tlv_fits(const struct tlv_writer *w, size_t len);
/* Appends one TLV; val may be NULL only when len is 0.  False (and
 * overflow) when it does not fit, len exceeds TLV_VAL_MAX, or the writer
 * has already overflowed. */
bool tlv_put(struct tlv_writer *w, uint16_t type, const void *val, size_t len);
bool tlv_put_u8(struct tlv_writer *w, uint16_t type, uint8_t v);
bool tlv_put_u16(struct tlv_writer *w, uint16_t type, uint16_t v);
bool tlv_put_u32(struct tlv_writer *w, uint16_t type, uint32_t v);
bool tlv_put_u64(struct tlv_writer *w, uint16_t type, uint64_t v);
/* A string without its NUL. */
bool tlv_put_str(struct tlv_writer *w, uint16_t type, const char *s);
/* Appends TLVs already encoded (a body built elsewhere): refused, with
 * overflow, unless tlv_framing_ok(p, len). */
bool tlv_put_tlvs(struct tlv_writer *w, const uint8_t *p, size_t len);

/* Every TLV header and padded value lies inside [p, p + len) and nothing is
 * left over: after this, walking the TLVs cannot stop early.  Every decoder
 * of bodies checks this first. */
bool tlv_framing_ok(const uint8_t *p, size_t len);

struct tlv_iter {
	const uint8_t *p, *end;
};

void tlv_iter_init(struct tlv_iter *it, const uint8_t *p, size_t len);
/* Next TLV; false at the end, or on a malformed TLV (and for good after
 * that: an iterator never reads past end). */
bool tlv_next(struct tlv_iter *it, uint16_t *type, const uint8_t **val, uint16_t *len);
/* What the iterator has not walked yet (a tail of whole TLVs when the body
 * is well framed). */
size_t tlv_iter_rest(const struct tlv_iter *it, const uint8_t **p);

/* The first TLV of type want in a body (NULL if none; stops at a framing
 * error), and how many there are. */
const uint8_t *tlv_find(const uint8_t *p, size_t len, uint16_t want, uint16_t *vlen);
size_t tlv_count(const uint8_t *p, size_t len, uint16_t want);

#endif
