/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SNI of a TLS ClientHello: see tls.h.  Two passes: the first walks the record headers
 * (checking each as soon as its bytes are there, so that garbage is refused at once) until
 * the records hold the whole ClientHello; the second reads the hello through a reader that
 * steps over the record headers, so that nothing is copied. */
#include <string.h>

#include "nfq/http.h"
#include "nfq/tls.h"

_Static_assert(TLS_INCOMPLETE == (int)HTTP_INCOMPLETE && TLS_OK == (int)HTTP_OK &&
		       TLS_BAD == (int)HTTP_BAD && TLS_TOO_LARGE == (int)HTTP_TOO_LARGE,
	       "enum tls_status is numbered as enum http_status");

#define TLS_REC_HDR 5
#define TLS_REC_MAX 16384		/* 2^14 (RFC 8446 5.1) */
#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_HDR 4
/* version 2, random 32, session_id 1, cipher_suites 2, compression_methods 1 */
#define TLS_HELLO_MIN 38
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME 0

/* The handshake stream as the records carry it.  pos: next byte in buf; end: end of the
 * current fragment; lp: bytes read so far; lim: bytes there are (the whole message).  The
 * first pass made sure that every record up to lim is there and not empty. */
struct rd {
	const uint8_t *b;
	size_t pos, end, lp, lim;
	bool err;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->lp >= r->lim) {
		r->err = true;
		return 0;
	}
	if (r->pos == r->end) {
		r->end = r->pos + TLS_REC_HDR + ((size_t)r->b[r->pos + 3] << 8 | r->b[r->pos + 4]);
		r->pos += TLS_REC_HDR;
	}
	r->lp++;
	return r->b[r->pos++];
}

static size_t rd_u16(struct rd *r)
{
	size_t v = rd_u8(r);

	return v << 8 | rd_u8(r);
}

/* Skips n bytes; false when there are not that many. */
static bool rd_skip(struct rd *r, size_t n)
{
	if (n > r->lim - r->lp) {
		r->err = true;
		return false;
	}
	while (n--)
		rd_u8(r);
	return true;
}

/* The server_name extension of ext_len bytes (RFC 6066 3): one host_name entry at most. */
static enum tls_status parse_sni(struct rd *r, size_t ext_len, char host[TLS_HOST_MAX])
{
	size_t list, end, nl, i;
	uint8_t name[TLS_HOST_MAX], type;
	bool have = false;

	if (ext_len < 2)
		return TLS_BAD;
	list = rd_u16(r);
	if (list + 2 != ext_len || !list)
		return TLS_BAD;
	end = r->lp + list;
	while (r->lp < end) {
		if (end - r->lp < 3)
			return TLS_BAD;
		type = rd_u8(r);
		nl = rd_u16(r);
		if (nl > end - r->lp)
			return TLS_BAD;
		if (type != TLS_SNI_HOST_NAME) {
			rd_skip(r, nl);
			continue;
		}
		if (have || !nl || nl >= sizeof(name))
			return TLS_BAD;
		for (i = 0; i < nl; i++)
			name[i] = rd_u8(r);
		if (!http_dns_name(name, nl, host))
			return TLS_BAD;
		have = true;
	}
	return r->err ? TLS_BAD : TLS_OK;
}

/* The ClientHello body (after the 4-byte handshake header). */
static enum tls_status parse_hello(struct rd *r, char host[TLS_HOST_MAX])
{
	size_t l, ext_end, type, el;
	bool seen_sni = false;
	enum tls_status s;

	if (rd_u8(r) != 3)		/* legacy_version 3.x */
		return TLS_BAD;
	rd_skip(r, 1 + 32);		/* its minor, random */
	l = rd_u8(r);			/* legacy_session_id <0..32> */
	if (l > 32 || !rd_skip(r, l))
		return TLS_BAD;
	l = rd_u16(r);			/* cipher_suites <2..2^16-2> */
	if (l < 2 || l % 2 || !rd_skip(r, l))
		return TLS_BAD;
	l = rd_u8(r);			/* legacy_compression_methods <1..2^8-1> */
	if (l < 1 || !rd_skip(r, l))
		return TLS_BAD;
	if (r->err)
		return TLS_BAD;
	if (r->lp == r->lim)		/* no extensions at all (before TLS 1.2) */
		return TLS_OK;
	l = rd_u16(r);
	if (r->err || l != r->lim - r->lp)
		return TLS_BAD;
	ext_end = r->lim;
	while (r->lp < ext_end) {
		if (ext_end - r->lp < 4)
			return TLS_BAD;
		type = rd_u16(r);
		el = rd_u16(r);
		if (el > ext_end - r->lp)
			return TLS_BAD;
		if (type != TLS_EXT_SERVER_NAME) {
			rd_skip(r, el);
			continue;
		}
		if (seen_sni)
			return TLS_BAD;	/* RFC 8446 4.2: one extension of a type */
		seen_sni = true;
		l = r->lp + el;
		s = parse_sni(r, el, host);
		if (s != TLS_OK || r->lp != l)
			return TLS_BAD;
	}
	return r->err ? TLS_BAD : TLS_OK;
}

/* Not decided yet: more bytes would tell, unless max of them are there already. */
static enum tls_status more(size_t len, size_t max)
{
	return len >= max ? TLS_TOO_LARGE : TLS_INCOMPLETE;
}

enum tls_status tls_sni(const uint8_t *buf, size_t len, size_t max, char host[256], size_t *used)
{
	size_t n = len < max ? len : max, off = 0, got = 0, need = 0, rlen, fe, p, after;
	uint8_t hh[TLS_HS_HDR];
	struct rd r;
	enum tls_status s;

	host[0] = 0;
	*used = 0;
	for (;;) {
		if (off == n)
			return more(len, max);
		if (buf[off] != TLS_CT_HANDSHAKE)
			return TLS_BAD;	/* also: another type before the hello's end */
		if (n - off >= 2 && buf[off + 1] != 3)
			return TLS_BAD;
		if (n - off >= 3 && buf[off + 2] > 4)
			return TLS_BAD;
		if (n - off < TLS_REC_HDR)
			return more(len, max);
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (!rlen || rlen > TLS_REC_MAX)
			return TLS_BAD;
		fe = off + TLS_REC_HDR + rlen;
		/* the handshake header, as soon as its bytes are there */
		for (p = off + TLS_REC_HDR; p < n && p < fe && got + (p - off - TLS_REC_HDR) <
						   TLS_HS_HDR; p++) {
			size_t i = got + (p - off - TLS_REC_HDR);

			hh[i] = buf[p];
			if (i == 0 && hh[0] != TLS_HS_CLIENT_HELLO)
				return TLS_BAD;
			if (i == TLS_HS_HDR - 1) {
				need = TLS_HS_HDR + ((size_t)hh[1] << 16 | (size_t)hh[2] << 8 | hh[3]);
				if (need < TLS_HS_HDR + TLS_HELLO_MIN)
					return TLS_BAD;
			}
		}
		if (need) {
			/* nothing may follow the hello in its last record: the client waits for
			 * the server now, and TLS 1.3 wants a record boundary before early data */
			if (got + rlen > need)
				return TLS_BAD;
			after = need - got - rlen;
			if (fe + (after ? TLS_REC_HDR + after : 0) > max)
				return TLS_TOO_LARGE;
		}
		if (fe > n)
			return more(len, max);
		got += rlen;
		off = fe;
		if (need && got == need)
			break;
	}
	r = (struct rd){ .b = buf, .pos = TLS_REC_HDR,
			 .end = TLS_REC_HDR + ((size_t)buf[3] << 8 | buf[4]), .lim = need };
	rd_skip(&r, TLS_HS_HDR);
	s = parse_hello(&r, host);
	if (s != TLS_OK) {
		host[0] = 0;
		return s;
	}
	*used = off;
	return TLS_OK;
}
