/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcpseg: TCP option parsing, segment building and handoff translation. */
#include <string.h>

#include "common/be.h"
#include "nfq/csum.h"
#include "nfq/tcpseg.h"

#define IPV4_HDRLEN	20
#define IPV6_HDRLEN	40
#define TCP_HDRLEN	20
#define IP_MAXLEN	65535
#define DEFAULT_TTL	64

#define OPT_EOL		0
#define OPT_NOP		1
#define OPT_MSS		2
#define OPT_WS		3
#define OPT_SACKOK	4
#define OPT_SACK	5
#define OPT_TS		8

/* Where, in the TCP header, the fields xlate rewrites sit: 0 when absent. */
struct opt_locs {
	uint32_t sack;		/* first left edge */
	uint32_t ts;		/* TSval (TSecr follows) */
};

static bool opts_walk(const uint8_t *tcp, size_t hdrlen, struct tcpseg_opts *o,
		      struct opt_locs *loc)
{
	size_t i = TCP_HDRLEN, olen, k;

	memset(o, 0, sizeof(*o));
	memset(loc, 0, sizeof(*loc));
	o->mss = -1;
	o->ws = -1;
	if (hdrlen < TCP_HDRLEN)
		return false;
	while (i < hdrlen) {
		if (tcp[i] == OPT_EOL)
			break;
		if (tcp[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (hdrlen - i < 2)
			return false;
		olen = tcp[i + 1];
		if (olen < 2 || olen > hdrlen - i)
			return false;
		switch (tcp[i]) {
		case OPT_MSS:
			if (olen != 4)
				return false;
			o->mss = be_get16(tcp + i + 2);
			break;
		case OPT_WS:
			if (olen != 3)
				return false;
			o->ws = (int8_t)(tcp[i + 2] > TCPSEG_WS_MAX ? TCPSEG_WS_MAX : tcp[i + 2]);
			break;
		case OPT_SACKOK:
			if (olen != 2)
				return false;
			o->sackok = true;
			break;
		case OPT_SACK:
			if (olen < 10 || (olen - 2) % 8 || (olen - 2) / 8 > TCPSEG_SACK_MAX)
				return false;
			o->n_sack = (uint8_t)((olen - 2) / 8);
			for (k = 0; k < o->n_sack; k++) {
				o->sack[k][0] = be_get32(tcp + i + 2 + k * 8);
				o->sack[k][1] = be_get32(tcp + i + 6 + k * 8);
			}
			loc->sack = (uint32_t)(i + 2);
			break;
		case OPT_TS:
			if (olen != 10)
				return false;
			o->ts = true;
			o->tsval = be_get32(tcp + i + 2);
			o->tsecr = be_get32(tcp + i + 6);
			loc->ts = (uint32_t)(i + 2);
			break;
		default:
			break;
		}
		i += olen;
	}
	return true;
}

bool tcpseg_opts_parse(const uint8_t *tcp, size_t hdrlen, struct tcpseg_opts *o)
{
	struct opt_locs loc;

	return opts_walk(tcp, hdrlen, o, &loc);
}

size_t tcpseg_payload_len(const struct pkt *p)
{
	if (p->proto != IPPROTO_TCP || p->later_fragment || p->l4_hdrlen < TCP_HDRLEN ||
	    p->l4_off > p->ip_len || p->ip_len - p->l4_off < p->l4_hdrlen)
		return 0;
	return p->ip_len - p->l4_off - p->l4_hdrlen;
}

uint32_t tcpseg_seq_len(const struct pkt *p)
{
	if (p->proto != IPPROTO_TCP || p->later_fragment || p->l4_hdrlen < TCP_HDRLEN)
		return 0;
	return (uint32_t)tcpseg_payload_len(p) + !!(p->tcp_flags & PKT_TCP_SYN) +
	       !!(p->tcp_flags & PKT_TCP_FIN);
}

/* The option bytes of s at opt (room for 20); returns their length, a multiple of 4.
 * Each option is padded on its own, as Linux lays them out, so every 32-bit field
 * (TSval, TSecr) is aligned. */
static size_t build_opts(const struct tcpseg_spec *s, uint8_t *opt)
{
	size_t n = 0;

	if (s->mss >= 0) {
		opt[n++] = OPT_MSS;
		opt[n++] = 4;
		be_put16(opt + n, (uint16_t)s->mss);
		n += 2;
	}
	if (s->ts) {
		if (s->sackok) {
			opt[n++] = OPT_SACKOK;
			opt[n++] = 2;
		} else {
			opt[n++] = OPT_NOP;
			opt[n++] = OPT_NOP;
		}
		opt[n++] = OPT_TS;
		opt[n++] = 10;
		be_put32(opt + n, s->tsval);
		be_put32(opt + n + 4, s->tsecr);
		n += 8;
	} else if (s->sackok) {
		opt[n++] = OPT_NOP;
		opt[n++] = OPT_NOP;
		opt[n++] = OPT_SACKOK;
		opt[n++] = 2;
	}
	if (s->ws >= 0) {
		opt[n++] = OPT_NOP;
		opt[n++] = OPT_WS;
		opt[n++] = 3;
		opt[n++] = (uint8_t)s->ws;
	}
	return n;
}

size_t tcpseg_build(uint8_t *out, size_t cap, const struct tcpseg_spec *s)
{
	size_t hl, thl, total;
	uint8_t opt[20], *th;
	uint32_t sum;

	if (s->src.family != s->dst.family)
		return 0;
	if (s->src.family == AF_INET)
		hl = IPV4_HDRLEN;
	else if (s->src.family == AF_INET6)
		hl = IPV6_HDRLEN;
	else
		return 0;
	if (s->mss > 0xffff || (s->plen && !s->payload))
		return 0;
	thl = TCP_HDRLEN + build_opts(s, opt);
	if (s->plen > IP_MAXLEN - hl - thl)
		return 0;
	total = hl + thl + s->plen;
	if (cap < total)
		return 0;

	/* first: the payload may sit where the headers go */
	if (s->plen)
		memmove(out + hl + thl, s->payload, s->plen);
	if (hl == IPV4_HDRLEN) {
		memset(out, 0, IPV4_HDRLEN);
		out[0] = 0x45;
		be_put16(out + 2, (uint16_t)total);
		be_put16(out + 6, 0x4000);	/* DF, id 0 */
		out[8] = s->ttl ? s->ttl : DEFAULT_TTL;
		out[9] = IPPROTO_TCP;
		memcpy(out + 12, s->src.b, 4);
		memcpy(out + 16, s->dst.b, 4);
		be_put16(out + 10, csum_fold(csum_add(0, out, IPV4_HDRLEN)));
	} else {
		memset(out, 0, IPV6_HDRLEN);
		out[0] = 0x60;
		be_put16(out + 4, (uint16_t)(total - IPV6_HDRLEN));
		out[6] = IPPROTO_TCP;
		out[7] = s->ttl ? s->ttl : DEFAULT_TTL;
		memcpy(out + 8, s->src.b, 16);
		memcpy(out + 24, s->dst.b, 16);
	}
	th = out + hl;
	memset(th, 0, TCP_HDRLEN);
	be_put16(th, s->sport);
	be_put16(th + 2, s->dport);
	be_put32(th + 4, s->seq);
	be_put32(th + 8, s->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = s->flags;
	be_put16(th + 14, s->win);
	memcpy(th + TCP_HDRLEN, opt, thl - TCP_HDRLEN);
	sum = csum_pseudo(s->src.family, s->src.b, s->dst.b, IPPROTO_TCP,
			  (uint32_t)(thl + s->plen));
	be_put16(th + 16, csum_fold(csum_add(sum, th, thl + s->plen)));
	return total;
}

/* Stores v at th + off and updates the checksum field cs (NULL: none) over the 16-bit
 * words the n (2 or 4) bytes touch: options may put a field at an odd offset. */
static void put_csum(uint8_t *th, uint32_t off, uint32_t v, size_t n, uint8_t *cs)
{
	uint32_t a = off & ~1u, w = ((off + (uint32_t)n + 1) & ~1u) - a;
	uint8_t old[6];

	memcpy(old, th + a, w);
	if (n == 4)
		be_put32(th + off, v);
	else
		be_put16(th + off, (uint16_t)v);
	if (cs)
		csum_replace(cs, old, th + a, w);
}

static uint32_t ws_clamp(int8_t ws)
{
	return ws > TCPSEG_WS_MAX ? TCPSEG_WS_MAX : (uint32_t)ws;
}

enum mangle_status tcpseg_xlate(uint8_t *buf, size_t len, struct pkt *p,
				const struct tcpseg_xlate *x, bool full_csum)
{
	uint32_t seg, seq, ack, off, v, k, from, to;
	struct tcpseg_opts o;
	struct opt_locs loc;
	enum mangle_status st;
	uint8_t *th, *cs;
	uint64_t win;
	bool has_ack;

	if (x->addr && (!addr_len(x->addr) || x->addr->family != p->family))
		return MANGLE_ERR_FAMILY;
	if ((p->family != AF_INET && p->family != AF_INET6) || p->ip_len > len ||
	    p->l4_off > p->ip_len || p->ip_len < (p->family == AF_INET ? 20u : 40u))
		return MANGLE_ERR_SHORT;
	if (p->proto != IPPROTO_TCP)
		return MANGLE_ERR_PROTO;
	seg = p->ip_len - p->l4_off;
	th = buf + p->l4_off;
	/* p comes from pkt_parse, but a wrong p must not make us write out of bounds */
	if (p->later_fragment || p->l4_hdrlen < TCP_HDRLEN || seg < p->l4_hdrlen ||
	    (uint32_t)(th[12] >> 4) * 4 != p->l4_hdrlen)
		return MANGLE_ERR_SHORT;
	if (!opts_walk(th, p->l4_hdrlen, &o, &loc))
		return MANGLE_ERR_SHORT;
	if (p->fragment)
		full_csum = false;	/* the rest of the segment is not here */

	/* Nothing has been written yet; mangle_rewrite cannot fail on what was checked
	 * above, and it writes nothing when it does. */
	if (x->addr) {
		st = mangle_rewrite(buf, len, p, x->side, x->addr, x->port, false);
		if (st != MANGLE_OK)
			return st;
	}
	cs = full_csum ? NULL : th + 16;	/* full: recomputed at the end */
	has_ack = th[13] & PKT_TCP_ACK;

	seq = be_get32(th + 4);
	if (x->seq_add) {
		seq += x->seq_add;
		put_csum(th, 4, seq, 4, cs);
	}
	ack = be_get32(th + 8);
	if (has_ack && x->ack_sub) {
		ack -= x->ack_sub;
		put_csum(th, 8, ack, 4, cs);
		for (k = 0; loc.sack && k < o.n_sack; k++) {
			off = loc.sack + k * 8;
			put_csum(th, off, be_get32(th + off) - x->ack_sub, 4, cs);
			put_csum(th, off + 4, be_get32(th + off + 4) - x->ack_sub, 4, cs);
		}
	}
	if (loc.ts && x->tsval_add)
		put_csum(th, loc.ts, o.tsval + x->tsval_add, 4, cs);
	if (loc.ts && x->tsecr_sub && o.tsecr != 0)
		put_csum(th, loc.ts + 4, o.tsecr - x->tsecr_sub, 4, cs);
	if (x->ws_from >= 0 && x->ws_to >= 0 && !(th[13] & PKT_TCP_SYN)) {
		from = ws_clamp(x->ws_from);
		to = ws_clamp(x->ws_to);
		if (from != to) {
			win = ((uint64_t)be_get16(th + 14) << from) >> to;
			v = win > 0xffff ? 0xffff : (uint32_t)win;
			put_csum(th, 14, v, 2, cs);
		}
	}
	if (full_csum) {
		be_put16(th + 16, 0);
		be_put16(th + 16, csum_fold(csum_add(csum_pseudo(p->family, p->src.b, p->dst.b,
								 IPPROTO_TCP, seg), th, seg)));
	}
	p->seq = seq;
	p->ack = ack;
	return MANGLE_OK;
}
