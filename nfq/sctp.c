/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sctp: bounded chunk walk, INIT / INIT ACK reader, INIT ACK address rewrite, the
 * middlebox's answer to a packet without state, and the listener probe's packets. */
#include <string.h>

#include "common/be.h"
#include "nfq/csum.h"
#include "nfq/sctp.h"

#define IPV4_HDRLEN	20
#define IPV6_HDRLEN	40
#define PARAM_HDRLEN	4
#define CAUSE_HDRLEN	4
#define CAUSE_STALE_COOKIE	3	/* RFC 9260 3.3.10.3 */
#define ADDR_TYPE_V4	5	/* Supported Address Types lists parameter types */
#define ADDR_TYPE_V6	6
#define ADDR_TYPE_HOST	11

static const char *const sctp_status_names[SCTP__MAX] = {
	[SCTP_OK] = "ok",
	[SCTP_ERR_NOTSCTP] = "notsctp",
	[SCTP_ERR_FRAGMENT] = "fragment",
	[SCTP_ERR_NOCHUNK] = "nochunk",
	[SCTP_ERR_CHUNKLEN] = "chunklen",
	[SCTP_ERR_BUNDLE] = "bundle",
	[SCTP_ERR_NOTINIT] = "notinit",
	[SCTP_ERR_INITLEN] = "initlen",
	[SCTP_ERR_PARAMLEN] = "paramlen",
	[SCTP_ERR_ADDR] = "addr",
	[SCTP_ERR_CAP] = "cap",
	[SCTP_ERR_TOOBIG] = "toobig",
};

const char *sctp_status_name(enum sctp_status s)
{
	if ((unsigned int)s >= SCTP__MAX)
		return "unknown";
	return sctp_status_names[s];
}

static uint32_t pad4(uint32_t n)
{
	return (n + 3) & ~3u;
}

/* ---- chunk walk ---- */

enum sctp_status sctp_iter_init(struct sctp_iter *it, const uint8_t *buf, const struct pkt *p)
{
	memset(it, 0, sizeof(*it));
	it->buf = buf;
	it->err = SCTP_ERR_NOTSCTP;
	if (p->proto != IPPROTO_SCTP)
		return it->err;
	/* a first fragment has the header but not every chunk: nothing here is safe */
	if (p->fragment)
		return it->err = SCTP_ERR_FRAGMENT;
	if (p->l4_hdrlen != SCTP_COMMON_HDRLEN || p->l4_off > p->ip_len ||
	    p->ip_len - p->l4_off < SCTP_COMMON_HDRLEN)
		return it->err;
	it->off = p->l4_off + SCTP_COMMON_HDRLEN;
	it->end = p->ip_len;
	if (it->off == it->end)
		return it->err = SCTP_ERR_NOCHUNK;
	return it->err = SCTP_OK;
}

int sctp_iter_next(struct sctp_iter *it, struct sctp_chunk *c)
{
	uint32_t left, len;

	if (it->err != SCTP_OK)
		return -1;
	if (it->off >= it->end)
		return 0;
	left = it->end - it->off;
	if (left < SCTP_CHUNK_HDRLEN) {	/* stray bytes that cannot be a chunk */
		it->err = SCTP_ERR_CHUNKLEN;
		return -1;
	}
	len = be_get16(it->buf + it->off + 2);
	if (len < SCTP_CHUNK_HDRLEN || len > left) {
		it->err = SCTP_ERR_CHUNKLEN;
		return -1;
	}
	c->type = it->buf[it->off];
	c->flags = it->buf[it->off + 1];
	c->len = (uint16_t)len;
	c->off = it->off;
	/* the last chunk's padding may be absent: then off lands past end, which is fine */
	it->off += pad4(len);
	return 1;
}

static bool must_be_alone(uint8_t type)
{
	return type == SCTP_CHUNK_INIT || type == SCTP_CHUNK_INIT_ACK ||
	       type == SCTP_CHUNK_SHUTDOWN_COMPLETE;
}

enum sctp_status sctp_walk(const uint8_t *buf, const struct pkt *p, struct sctp_info *si)
{
	struct sctp_iter it;
	struct sctp_chunk c;
	enum sctp_status st;
	bool alone = false;
	int r;

	memset(si, 0, sizeof(*si));
	st = sctp_iter_init(&it, buf, p);
	if (st != SCTP_OK)
		return st;
	si->sport = be_get16(buf + p->l4_off);
	si->dport = be_get16(buf + p->l4_off + 2);
	si->vtag = be_get32(buf + p->l4_off + 4);
	while ((r = sctp_iter_next(&it, &c)) == 1) {
		if (si->n_chunks == 0) {
			si->first_type = c.type;
			alone = must_be_alone(c.type);
			if (c.type == SCTP_CHUNK_INIT || c.type == SCTP_CHUNK_INIT_ACK) {
				if (c.len < SCTP_INIT_FIXEDLEN)
					return SCTP_ERR_INITLEN;
				si->itag = be_get32(buf + c.off + 4);
			}
		} else if (alone || must_be_alone(c.type)) {
			return SCTP_ERR_BUNDLE;
		}
		si->n_chunks++;
		si->types[c.type >> 6] |= 1ull << (c.type & 63);
		if ((c.type == SCTP_CHUNK_ABORT || c.type == SCTP_CHUNK_SHUTDOWN_COMPLETE) &&
		    (c.flags & SCTP_FLAG_T))
			si->t_bit = true;
		if ((c.type == SCTP_CHUNK_ABORT || c.type == SCTP_CHUNK_ERROR) &&
		    (c.flags & SCTP_FLAG_M))
			si->m_bit = true;
	}
	return r < 0 ? it.err : SCTP_OK;
}

bool sctp_crc_ok(const uint8_t *buf, const struct pkt *p)
{
	static const uint8_t zero[4];
	const uint8_t *sh;
	uint32_t crc, len;

	if (p->proto != IPPROTO_SCTP || p->l4_off > p->ip_len ||
	    p->ip_len - p->l4_off < SCTP_COMMON_HDRLEN)
		return false;
	sh = buf + p->l4_off;
	len = p->ip_len - p->l4_off;
	crc = csum_crc32c(0, sh, 8);
	crc = csum_crc32c(crc, zero, 4);
	crc = csum_crc32c(crc, sh + 12, len - 12);
	return sh[8] == (uint8_t)crc && sh[9] == (uint8_t)(crc >> 8) &&
	       sh[10] == (uint8_t)(crc >> 16) && sh[11] == (uint8_t)(crc >> 24);
}

/* ---- INIT / INIT ACK ---- */

/* A cursor over the parameters of an INIT / INIT ACK: from off to end (the chunk's end
 * per its length field). */
struct param_iter {
	const uint8_t *buf;
	uint32_t off, end;
};

/* 1: a parameter at *poff, type *ptype, length *plen (header included) inside the chunk;
 * 0: no more; -1: malformed.  As for chunks, the chunk length need not cover the last
 * parameter's padding (RFC 9260 3.2). */
static int param_next(struct param_iter *pi, uint32_t *poff, uint16_t *ptype, uint16_t *plen)
{
	uint32_t left, len;

	if (pi->off >= pi->end)
		return 0;
	left = pi->end - pi->off;
	if (left < PARAM_HDRLEN)
		return -1;
	len = be_get16(pi->buf + pi->off + 2);
	if (len < PARAM_HDRLEN || len > left)
		return -1;
	*poff = pi->off;
	*ptype = be_get16(pi->buf + pi->off);
	*plen = (uint16_t)len;
	pi->off += pad4(len);
	return 1;
}

/* The lone INIT / INIT ACK chunk of the packet: *c. */
static enum sctp_status lone_init(const uint8_t *buf, const struct pkt *p, uint8_t want,
				  struct sctp_chunk *c)
{
	struct sctp_info si;
	struct sctp_iter it;
	enum sctp_status st;

	st = sctp_walk(buf, p, &si);
	if (st != SCTP_OK)
		return st;
	if (si.first_type != SCTP_CHUNK_INIT && si.first_type != SCTP_CHUNK_INIT_ACK)
		return SCTP_ERR_NOTINIT;
	if (want && si.first_type != want)
		return SCTP_ERR_NOTINIT;
	/* the walk succeeded and an INIT/INIT ACK is alone: its first chunk is the one */
	sctp_iter_init(&it, buf, p);
	sctp_iter_next(&it, c);
	return SCTP_OK;
}

enum sctp_status sctp_parse_init(const uint8_t *buf, const struct pkt *p, uint8_t want,
				 struct sctp_init *in)
{
	struct param_iter pi;
	struct sctp_chunk c;
	enum sctp_status st;
	uint32_t off, i;
	uint16_t type, len;
	int r;

	memset(in, 0, sizeof(*in));
	st = lone_init(buf, p, want, &c);
	if (st != SCTP_OK)
		return st;
	in->type = c.type;
	in->itag = be_get32(buf + c.off + 4);
	in->a_rwnd = be_get32(buf + c.off + 8);
	in->n_out = be_get16(buf + c.off + 12);
	in->n_in = be_get16(buf + c.off + 14);
	in->init_tsn = be_get32(buf + c.off + 16);
	pi.buf = buf;
	pi.off = c.off + SCTP_INIT_FIXEDLEN;
	pi.end = c.off + c.len;
	while ((r = param_next(&pi, &off, &type, &len)) == 1) {
		in->n_params++;
		switch (type) {
		case SCTP_PARAM_IPV4:
		case SCTP_PARAM_IPV6:
			if (len != PARAM_HDRLEN + (type == SCTP_PARAM_IPV4 ? 4 : 16))
				return SCTP_ERR_PARAMLEN;
			if (in->n_addrs < SCTP_MAX_ADDRS)
				addr_from_bytes(&in->addrs[in->n_addrs],
						type == SCTP_PARAM_IPV4 ? AF_INET : AF_INET6,
						buf + off + PARAM_HDRLEN);
			in->n_addrs++;
			break;
		case SCTP_PARAM_HOSTNAME:
			in->hostname = true;
			break;
		case SCTP_PARAM_SUPPORTED_ADDR:
			if ((len - PARAM_HDRLEN) % 2)
				return SCTP_ERR_PARAMLEN;
			in->supported_types = true;
			for (i = off + PARAM_HDRLEN; i < off + len; i += 2) {
				uint16_t t = be_get16(buf + i);

				in->sat_v4 |= t == ADDR_TYPE_V4;
				in->sat_v6 |= t == ADDR_TYPE_V6;
				in->sat_hostname |= t == ADDR_TYPE_HOST;
			}
			break;
		case SCTP_PARAM_STATE_COOKIE:
			if (!in->cookie) {
				in->cookie = true;
				in->cookie_off = off + PARAM_HDRLEN;
				in->cookie_len = (uint16_t)(len - PARAM_HDRLEN);
			}
			break;
		default:
			break;
		}
	}
	return r < 0 ? SCTP_ERR_PARAMLEN : SCTP_OK;
}

/* ---- INIT ACK rewrite ---- */

static bool is_addr_param(uint16_t type)
{
	return type == SCTP_PARAM_IPV4 || type == SCTP_PARAM_IPV6 || type == SCTP_PARAM_HOSTNAME;
}

/* Appends the address parameters; o is the write offset, checked by the caller. */
static uint32_t put_addrs(uint8_t *out, uint32_t o, const struct ip_addr *addrs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t alen = (uint16_t)addr_len(&addrs[i]);

		be_put16(out + o, addrs[i].family == AF_INET ? SCTP_PARAM_IPV4 : SCTP_PARAM_IPV6);
		be_put16(out + o + 2, (uint16_t)(PARAM_HDRLEN + alen));
		memcpy(out + o + PARAM_HDRLEN, addrs[i].b, alen);
		o += PARAM_HDRLEN + alen;	/* 8 or 20: already aligned */
	}
	return o;
}

enum sctp_status sctp_rewrite_init_ack(const uint8_t *buf, const struct pkt *p,
				       const struct ip_addr *addrs, unsigned int n,
				       uint8_t *out, size_t cap, size_t *out_len)
{
	struct sctp_init in;
	struct param_iter pi;
	struct sctp_chunk c;
	enum sctp_status st;
	uint32_t off, total, addr_bytes = 0, body, o, chunk_off, last_pad = 0;
	uint16_t type, len;
	bool placed = false;
	unsigned int i;

	*out_len = 0;
	/* validates the chunk and every parameter once, so the loops below cannot fail */
	st = sctp_parse_init(buf, p, SCTP_CHUNK_INIT_ACK, &in);
	if (st != SCTP_OK)
		return st;
	if (n > SCTP_MAX_ADDRS)
		return SCTP_ERR_ADDR;
	for (i = 0; i < n; i++) {
		if (addrs[i].family != p->family)
			return SCTP_ERR_ADDR;
		addr_bytes += PARAM_HDRLEN + (uint32_t)addr_len(&addrs[i]);
	}
	lone_init(buf, p, SCTP_CHUNK_INIT_ACK, &c);

	/* size first: kept parameters with their padding, then the new addresses */
	body = addr_bytes;
	pi.buf = buf;
	pi.off = c.off + SCTP_INIT_FIXEDLEN;
	pi.end = c.off + c.len;
	while (param_next(&pi, &off, &type, &len) == 1)
		if (!is_addr_param(type))
			body += pad4(len);
	chunk_off = p->l4_off + SCTP_COMMON_HDRLEN;
	total = chunk_off + SCTP_INIT_FIXEDLEN + body;
	if (p->family == AF_INET ? total > 0xffff : total - IPV6_HDRLEN > 0xffff)
		return SCTP_ERR_TOOBIG;
	if (cap < total)
		return SCTP_ERR_CAP;

	/* IP header (options, extension headers), common header, fixed part: as they are */
	memcpy(out, buf, chunk_off + SCTP_INIT_FIXEDLEN);
	o = chunk_off + SCTP_INIT_FIXEDLEN;
	pi.off = c.off + SCTP_INIT_FIXEDLEN;
	while (param_next(&pi, &off, &type, &len) == 1) {
		if (is_addr_param(type)) {
			if (!placed) {
				o = put_addrs(out, o, addrs, n);
				placed = true;
				if (n)	/* an address is the last parameter so far */
					last_pad = 0;
			}
			continue;
		}
		memcpy(out + o, buf + off, len);
		memset(out + o + len, 0, pad4(len) - len);
		o += pad4(len);
		last_pad = pad4(len) - len;
	}
	if (!placed) {
		/* none to replace: the new ones go right after the fixed part */
		memmove(out + chunk_off + SCTP_INIT_FIXEDLEN + addr_bytes,
			out + chunk_off + SCTP_INIT_FIXEDLEN, o - chunk_off - SCTP_INIT_FIXEDLEN);
		put_addrs(out, chunk_off + SCTP_INIT_FIXEDLEN, addrs, n);
		o += addr_bytes;
	}
	/* o == total.  RFC 9260 3.2: the chunk length leaves out the last parameter's
	 * padding, which stays in the packet as the chunk's own padding. */
	be_put16(out + chunk_off + 2, (uint16_t)(o - chunk_off - last_pad));
	if (p->family == AF_INET) {
		be_put16(out + 2, (uint16_t)o);
		out[10] = out[11] = 0;
		be_put16(out + 10, csum_fold(csum_add(0, out, p->l4_off)));
	} else {
		be_put16(out + 4, (uint16_t)(o - IPV6_HDRLEN));
	}
	csum_sctp_set(out + p->l4_off, o - p->l4_off);
	*out_len = o;
	return SCTP_OK;
}

/* ---- answer without state ---- */

static bool unicast(const struct ip_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return a->b[0] < 224 && memcmp(a->b, zero, 4) != 0;
	return a->b[0] != 0xff && memcmp(a->b, zero, 16) != 0;
}

/* RFC 9260 8.4 (7): an ERROR reporting a stale cookie is not answered; draft 6.4.1: nor an
 * ERROR from a middlebox (M bit), or two middleboxes could answer each other forever. */
static bool error_unanswerable(const uint8_t *buf, const struct sctp_chunk *c)
{
	uint32_t off = c->off + SCTP_CHUNK_HDRLEN, end = c->off + c->len, len;

	if (c->flags & SCTP_FLAG_M)
		return true;
	while (off < end && end - off >= CAUSE_HDRLEN) {
		if (be_get16(buf + off) == CAUSE_STALE_COOKIE)
			return true;
		len = be_get16(buf + off + 2);
		if (len < CAUSE_HDRLEN)
			break;
		off += pad4(len);
	}
	return false;
}

/* IP header and common header of a packet of `total` bytes from e; returns the offset of
 * the common header.  The CRC and the IPv4 header sum are set by finish(). */
static size_t put_headers(const struct sctp_ends *e, uint32_t vtag, size_t total, uint8_t *out)
{
	size_t hl;
	uint8_t *sh;

	if (e->src.family == AF_INET) {
		hl = IPV4_HDRLEN;
		memset(out, 0, IPV4_HDRLEN);
		out[0] = 0x45;
		be_put16(out + 2, (uint16_t)total);
		be_put16(out + 6, 0x4000);	/* DF */
		out[8] = SCTP_REPLY_TTL;
		out[9] = IPPROTO_SCTP;
		memcpy(out + 12, e->src.b, 4);
		memcpy(out + 16, e->dst.b, 4);
	} else {
		hl = IPV6_HDRLEN;
		memset(out, 0, IPV6_HDRLEN);
		out[0] = 0x60;
		be_put16(out + 4, (uint16_t)(total - IPV6_HDRLEN));
		out[6] = IPPROTO_SCTP;
		out[7] = SCTP_REPLY_TTL;
		memcpy(out + 8, e->src.b, 16);
		memcpy(out + 24, e->dst.b, 16);
	}
	sh = out + hl;
	be_put16(sh, e->sport);
	be_put16(sh + 2, e->dport);
	be_put32(sh + 4, vtag);
	memset(sh + 8, 0, 4);
	return hl;
}

static void finish(const struct sctp_ends *e, uint8_t *out, size_t hl, size_t total)
{
	if (e->src.family == AF_INET)
		be_put16(out + 10, csum_fold(csum_add(0, out, IPV4_HDRLEN)));
	csum_sctp_set(out + hl, total - hl);
}

size_t sctp_reply_no_state(const uint8_t *buf, const struct pkt *p, uint8_t *out, size_t cap,
			   enum sctp_reply *kind)
{
	enum sctp_reply k = SCTP_REPLY_ABORT;
	struct sctp_info si;
	struct sctp_iter it;
	struct sctp_chunk c;
	struct sctp_ends e;
	size_t hl, limit, q = 0, total, clen;
	uint32_t vtag;
	uint8_t flags, *sh, *ch;

	if (kind)
		*kind = SCTP_REPLY_NONE;
	if (sctp_walk(buf, p, &si) != SCTP_OK || !unicast(&p->src) || !unicast(&p->dst))
		return 0;
	if (sctp_has(&si, SCTP_CHUNK_ABORT) || sctp_has(&si, SCTP_CHUNK_SHUTDOWN_COMPLETE) ||
	    sctp_has(&si, SCTP_CHUNK_COOKIE_ACK) || sctp_has(&si, SCTP_CHUNK_INIT_ACK))
		return 0;
	if (sctp_has(&si, SCTP_CHUNK_ERROR)) {
		sctp_iter_init(&it, buf, p);
		while (sctp_iter_next(&it, &c) == 1)
			if (c.type == SCTP_CHUNK_ERROR && error_unanswerable(buf, &c))
				return 0;
	}
	/* RFC 9260 8.5.1 (A): tag 0 is for a lone INIT only, and an INIT has tag 0 */
	if ((si.vtag == 0) != (si.first_type == SCTP_CHUNK_INIT))
		return 0;
	if (si.first_type == SCTP_CHUNK_INIT) {
		if (!si.itag)	/* RFC 9260 3.3.2: such an INIT is silently discarded */
			return 0;
		vtag = si.itag;
		flags = SCTP_FLAG_M;
	} else if (sctp_has(&si, SCTP_CHUNK_SHUTDOWN_ACK)) {
		k = SCTP_REPLY_SHUTDOWN_COMPLETE;
		vtag = si.vtag;
		flags = SCTP_FLAG_T;
	} else {
		vtag = si.vtag;
		flags = SCTP_FLAG_M | SCTP_FLAG_T;
	}

	hl = p->family == AF_INET ? IPV4_HDRLEN : IPV6_HDRLEN;
	limit = p->family == AF_INET ? SCTP_REPLY_MAX_V4 : SCTP_REPLY_MAX_V6;
	if (cap < limit)
		limit = cap;
	clen = SCTP_CHUNK_HDRLEN;
	if (k == SCTP_REPLY_ABORT)
		clen += CAUSE_HDRLEN;
	if (limit < hl + SCTP_COMMON_HDRLEN + clen)
		return 0;
	if (k == SCTP_REPLY_ABORT) {
		/* the quote: truncated to whole 4-byte words, so no padding when it is cut */
		q = (limit - hl - SCTP_COMMON_HDRLEN - clen) & ~(size_t)3;
		if (q > p->ip_len)
			q = p->ip_len;
		clen += q;
	}
	total = hl + SCTP_COMMON_HDRLEN + pad4((uint32_t)clen);

	/* From where the packet went to where it came from. */
	e.src = p->dst;
	e.dst = p->src;
	e.sport = si.dport;
	e.dport = si.sport;
	sh = out + put_headers(&e, vtag, total, out);
	ch = sh + SCTP_COMMON_HDRLEN;
	ch[0] = k == SCTP_REPLY_ABORT ? SCTP_CHUNK_ABORT : SCTP_CHUNK_SHUTDOWN_COMPLETE;
	ch[1] = flags;
	be_put16(ch + 2, (uint16_t)clen);
	if (k == SCTP_REPLY_ABORT) {
		be_put16(ch + 4, SCTP_CAUSE_MISSING_STATE);
		be_put16(ch + 6, (uint16_t)(CAUSE_HDRLEN + q));
		memcpy(ch + 8, buf, q);
	}
	memset(ch + clen, 0, pad4((uint32_t)clen) - clen);
	finish(&e, out, hl, total);
	if (kind)
		*kind = k;
	return total;
}

/* ---- the listener probe ---- */

static bool ends_ok(const struct sctp_ends *e)
{
	return (e->src.family == AF_INET || e->src.family == AF_INET6) &&
	       e->src.family == e->dst.family;
}

size_t sctp_build_init(const struct sctp_ends *e, uint32_t itag, uint32_t tsn, uint8_t *out,
		       size_t cap)
{
	size_t total, hl, alen;
	uint8_t *ch;

	if (!ends_ok(e) || !itag)
		return 0;
	total = e->src.family == AF_INET ? SCTP_PROBE_INIT_V4 : SCTP_PROBE_INIT_V6;
	if (cap < total)
		return 0;
	alen = addr_len(&e->src);
	hl = put_headers(e, 0, total, out);
	ch = out + hl + SCTP_COMMON_HDRLEN;
	ch[0] = SCTP_CHUNK_INIT;
	ch[1] = 0;
	be_put16(ch + 2, (uint16_t)(SCTP_INIT_FIXEDLEN + PARAM_HDRLEN + alen));
	be_put32(ch + 4, itag);
	be_put32(ch + 8, SCTP_PROBE_RWND);
	be_put16(ch + 12, 1);	/* outbound streams */
	be_put16(ch + 14, 1);	/* maximum inbound streams */
	be_put32(ch + 16, tsn);
	/* 8 or 20 bytes: no padding */
	put_addrs(ch, SCTP_INIT_FIXEDLEN, &e->src, 1);
	finish(e, out, hl, total);
	return total;
}

size_t sctp_build_abort(const struct sctp_ends *e, uint32_t vtag, uint8_t *out, size_t cap)
{
	size_t total, hl;
	uint8_t *ch;

	if (!ends_ok(e))
		return 0;
	hl = e->src.family == AF_INET ? IPV4_HDRLEN : IPV6_HDRLEN;
	total = hl + SCTP_COMMON_HDRLEN + SCTP_CHUNK_HDRLEN;
	if (cap < total)
		return 0;
	put_headers(e, vtag, total, out);
	ch = out + hl + SCTP_COMMON_HDRLEN;
	ch[0] = SCTP_CHUNK_ABORT;
	ch[1] = 0;
	be_put16(ch + 2, SCTP_CHUNK_HDRLEN);
	finish(e, out, hl, total);
	return total;
}

enum sctp_answer sctp_probe_answer(const uint8_t *buf, const struct pkt *p,
				   const struct sctp_ends *sent, uint32_t itag,
				   uint32_t *peer_tag)
{
	struct sctp_init in;
	struct sctp_info si;

	if (!itag || p->proto != IPPROTO_SCTP || p->family != sent->src.family ||
	    !addr_eq(&p->src, &sent->dst) || !addr_eq(&p->dst, &sent->src) ||
	    p->sport != sent->dport || p->dport != sent->sport)
		return SCTP_ANSWER_NONE;
	if (sctp_walk(buf, p, &si) != SCTP_OK || si.vtag != itag || !sctp_crc_ok(buf, p))
		return SCTP_ANSWER_NONE;
	if (si.first_type == SCTP_CHUNK_INIT_ACK) {
		if (sctp_parse_init(buf, p, SCTP_CHUNK_INIT_ACK, &in) != SCTP_OK || !in.itag)
			return SCTP_ANSWER_NONE;
		if (peer_tag)
			*peer_tag = in.itag;
		return SCTP_ANSWER_INIT_ACK;
	}
	return sctp_has(&si, SCTP_CHUNK_ABORT) ? SCTP_ANSWER_ABORT : SCTP_ANSWER_NONE;
}
