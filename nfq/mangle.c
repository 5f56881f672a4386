/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mangle: address and port rewriting with checksum upkeep. */
#include <string.h>

#include "common/be.h"
#include "nfq/csum.h"
#include "nfq/mangle.h"

static const char *const mangle_status_names[MANGLE__MAX] = {
	[MANGLE_OK] = "ok",
	[MANGLE_ERR_FAMILY] = "family",
	[MANGLE_ERR_PROTO] = "proto",
	[MANGLE_ERR_SHORT] = "short",
};

const char *mangle_status_name(enum mangle_status s)
{
	if ((unsigned int)s >= MANGLE__MAX)
		return "unknown";
	return mangle_status_names[s];
}

/* Writes n (even, <= 16) bytes at dst and adjusts each non-NULL checksum field that
 * covers them. */
static void patch(uint8_t *dst, const void *new_, size_t n, uint8_t *c1, uint8_t *c2,
		  uint8_t *c3)
{
	uint8_t old[16];

	memcpy(old, dst, n);
	memcpy(dst, new_, n);
	if (c1)
		csum_replace(c1, old, dst, n);
	if (c2)
		csum_replace(c2, old, dst, n);
	if (c3)
		csum_replace(c3, old, dst, n);
}

static uint32_t addr_off(int family, enum mangle_side side)
{
	if (family == AF_INET)
		return side == MANGLE_SRC ? 12 : 16;
	return side == MANGLE_SRC ? 8 : 24;
}

/* Where the L4 checksum of proto sits, if it has one made of ones' complement
 * words and covering the addresses (pseudo-header) or the ports. */
static bool l4_csum_off(int family, uint8_t proto, uint32_t *off)
{
	switch (proto) {
	case IPPROTO_TCP:
		*off = 16;
		return true;
	case IPPROTO_UDP:
		*off = 6;
		return true;
	case IPPROTO_ICMP:
		*off = 2;
		return family == AF_INET;
	case IPPROTO_ICMPV6:
		*off = 2;
		return family == AF_INET6;
	default:
		return false;
	}
}

/* Full checksum over pseudo-header (not for ICMPv4) and the seg bytes at l4. */
static void l4_csum_full(const struct pkt *p, uint8_t *buf, uint32_t csoff)
{
	uint8_t *l4 = buf + p->l4_off;
	uint32_t seg = p->ip_len - p->l4_off, sum = 0;
	uint16_t c;

	be_put16(l4 + csoff, 0);
	if (p->proto != IPPROTO_ICMP)
		sum = csum_pseudo(p->family, p->src.b, p->dst.b, p->proto, seg);
	c = csum_fold(csum_add(sum, l4, seg));
	if (c == 0 && p->proto == IPPROTO_UDP)
		c = 0xffff;	/* RFC 768: zero means no checksum */
	be_put16(l4 + csoff, c);
}

/* The embedded packet of an ICMP error: its `side` address and port; icmp_cs is the
 * outer ICMP checksum field, NULL when it will be recomputed anyway. */
static void mangle_inner(uint8_t *buf, struct pkt_inner *in, enum mangle_side side,
			 const struct ip_addr *addr, uint16_t port, uint8_t *icmp_cs)
{
	uint32_t end = in->l3_off + in->len, csoff = 0, alen = (uint32_t)addr_len(addr);
	uint8_t *ip_cs = NULL, *l4_cs = NULL, *l4 = buf + in->l4_off;
	uint8_t old_ip_cs[2], old_l4_cs[2], nport[2];

	if (in->family == AF_INET)
		ip_cs = buf + in->l3_off + 10;
	if (!in->later_fragment && l4_csum_off(in->family, in->proto, &csoff) &&
	    in->l4_off <= end && end - in->l4_off >= csoff + 2) {
		l4_cs = l4 + csoff;
		if (in->proto == IPPROTO_UDP && be_get16(l4_cs) == 0)
			l4_cs = NULL;
		/* ICMPv4 does not cover the addresses */
		if (in->proto == IPPROTO_ICMP)
			l4_cs = NULL;
	}
	if (ip_cs)
		memcpy(old_ip_cs, ip_cs, 2);
	if (l4_cs)
		memcpy(old_l4_cs, l4_cs, 2);

	patch(buf + in->l3_off + addr_off(in->family, side), addr->b, alen, ip_cs, l4_cs,
	      icmp_cs);
	if (side == MANGLE_SRC)
		in->src = *addr;
	else
		in->dst = *addr;
	if (port && in->has_ports) {
		be_put16(nport, port);
		patch(l4 + (side == MANGLE_SRC ? 0 : 2), nport, 2,
		      in->proto == IPPROTO_SCTP ? NULL : l4_cs, icmp_cs, NULL);
		if (side == MANGLE_SRC)
			in->sport = port;
		else
			in->dport = port;
	}
	if (l4_cs && in->proto == IPPROTO_UDP && be_get16(l4_cs) == 0)
		be_put16(l4_cs, 0xffff);
	/* the checksum fields themselves are part of the ICMP message */
	if (icmp_cs && ip_cs)
		csum_replace(icmp_cs, old_ip_cs, ip_cs, 2);
	if (icmp_cs && l4_cs)
		csum_replace(icmp_cs, old_l4_cs, l4_cs, 2);
}

enum mangle_status mangle_rewrite(uint8_t *buf, size_t len, struct pkt *p, enum mangle_side side,
				  const struct ip_addr *addr, uint16_t port, bool full_csum)
{
	uint32_t seg = 0, csoff = 0, alen = (uint32_t)addr_len(addr);
	uint8_t *ip_cs = NULL, *l4_cs = NULL, *l4 = NULL;
	bool has_csum = false, crc = false, icmp_err;
	const struct pkt_inner *in = &p->inner;
	uint8_t nport[2];

	if (!alen || addr->family != p->family)
		return MANGLE_ERR_FAMILY;
	if (p->ip_len > len || p->l4_off > p->ip_len ||
	    p->ip_len < (p->family == AF_INET ? 20u : 40u))
		return MANGLE_ERR_SHORT;
	if (p->family == AF_INET)
		ip_cs = buf + 10;
	if (p->later_fragment) {
		patch(buf + addr_off(p->family, side), addr->b, alen, ip_cs, NULL, NULL);
		goto done_addr;
	}

	l4 = buf + p->l4_off;
	seg = p->ip_len - p->l4_off;
	has_csum = l4_csum_off(p->family, p->proto, &csoff);
	if (!has_csum && p->proto != IPPROTO_SCTP)
		return MANGLE_ERR_PROTO;
	if (p->l4_hdrlen == 0 || seg < p->l4_hdrlen)
		return MANGLE_ERR_SHORT;
	icmp_err = (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) && p->icmp_error;
	/* p comes from pkt_parse, but a wrong p must not make us write out of bounds */
	if (icmp_err && (in->family != p->family || in->l3_off < p->l4_off ||
			 in->l3_off + in->len > p->ip_len ||
			 in->len < (in->family == AF_INET ? 20 : 40) ||
			 (in->has_ports && (in->l4_off > in->l3_off + in->len ||
					    in->l3_off + in->len - in->l4_off < 4))))
		return MANGLE_ERR_SHORT;
	if (p->proto == IPPROTO_SCTP && (port || full_csum)) {
		if (p->fragment)
			return MANGLE_ERR_SHORT;
		crc = true;
	}
	if (p->fragment)
		full_csum = false;

	if (has_csum && !full_csum) {
		l4_cs = l4 + csoff;
		if (p->proto == IPPROTO_UDP && be_get16(l4_cs) == 0)
			l4_cs = NULL;
	}
	if (icmp_err)
		mangle_inner(buf, &p->inner, side == MANGLE_DST ? MANGLE_SRC : MANGLE_DST, addr,
			     port, l4_cs);
	/* ICMPv4 has no pseudo-header: its checksum ignores the outer addresses */
	patch(buf + addr_off(p->family, side), addr->b, alen, ip_cs,
	      p->proto == IPPROTO_ICMP ? NULL : l4_cs, NULL);
	if (port && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
		     p->proto == IPPROTO_SCTP)) {
		be_put16(nport, port);
		patch(l4 + (side == MANGLE_SRC ? 0 : 2), nport, 2, l4_cs, NULL, NULL);
		if (side == MANGLE_SRC)
			p->sport = port;
		else
			p->dport = port;
	}
	if (l4_cs && p->proto == IPPROTO_UDP && be_get16(l4_cs) == 0)
		be_put16(l4_cs, 0xffff);

done_addr:
	if (side == MANGLE_SRC)
		p->src = *addr;
	else
		p->dst = *addr;
	/* after p holds the new addresses: the pseudo-header needs them */
	if (!p->later_fragment && has_csum && full_csum)
		l4_csum_full(p, buf, csoff);
	if (crc)
		csum_sctp_set(l4, seg);
	return MANGLE_OK;
}
