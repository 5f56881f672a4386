/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt: bounded parser for IPv4/IPv6 packets and the packets ICMP errors quote. */
#include <string.h>
#include <netinet/ip.h>

#include "common/be.h"
#include "nfq/pkt.h"

#define IPV4_HDRLEN	20
#define IPV6_HDRLEN	40
#define ICMP_HDRLEN	8

static const char *const pkt_status_names[PKT__MAX] = {
	[PKT_OK] = "ok",
	[PKT_ERR_SHORT] = "short",
	[PKT_ERR_VERSION] = "version",
	[PKT_ERR_HDRLEN] = "hdrlen",
	[PKT_ERR_TOTLEN] = "totlen",
	[PKT_ERR_EXTHDR] = "exthdr",
	[PKT_ERR_L4SHORT] = "l4short",
	[PKT_ERR_L4HDR] = "l4hdr",
};

const char *pkt_status_name(enum pkt_status s)
{
	if ((unsigned int)s >= PKT__MAX)
		return "unknown";
	return pkt_status_names[s];
}

/* Options are TLVs except EOL and NOP; a length that runs past the header would make
 * the kernel (ip_options_compile) drop the packet, so refuse it here too. */
static bool ipv4_options_ok(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (opt[i] == IPOPT_EOL)
			break;
		if (opt[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i)
			return false;
		i += opt[i + 1];
	}
	return true;
}

struct v6walk {
	uint8_t proto;		/* upper-layer protocol, or where the walk stopped */
	uint32_t off;		/* its offset */
	bool fragment;
	bool later_fragment;
};

/* Walks the extension headers that start at off with next header nh, never past end.
 * proto/off are set also on error, to where the walk stopped. */
static enum pkt_status ipv6_walk(const uint8_t *buf, uint32_t off, uint32_t end, uint8_t nh,
				 struct v6walk *w)
{
	uint32_t hlen;
	int n;

	memset(w, 0, sizeof(*w));
	for (n = 0;; n++) {
		w->proto = nh;
		w->off = off;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			return PKT_OK;
		}
		/* RFC 8200 4.3: hop-by-hop options only right after the IPv6 header. */
		if (n >= PKT_IPV6_MAX_EXTHDR || (nh == IPPROTO_HOPOPTS && n != 0))
			return PKT_ERR_EXTHDR;
		if (end - off < 8)
			return PKT_ERR_EXTHDR;
		if (nh == IPPROTO_FRAGMENT)
			hlen = 8;
		else if (nh == IPPROTO_AH)
			hlen = ((uint32_t)buf[off + 1] + 2) * 4;
		else
			hlen = ((uint32_t)buf[off + 1] + 1) * 8;
		if (end - off < hlen)
			return PKT_ERR_EXTHDR;
		if (nh == IPPROTO_FRAGMENT) {
			w->fragment = true;
			if (be_get16(buf + off + 2) & 0xfff8) {
				/* no upper-layer header in a later fragment */
				w->later_fragment = true;
				w->proto = buf[off];
				w->off = off + hlen;
				return PKT_OK;
			}
		}
		nh = buf[off];
		off += hlen;
	}
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* The quoted packet is usually truncated, so its own lengths only shrink the view;
 * anything malformed leaves in->family 0 (nothing usable) rather than failing the
 * outer packet. */
static void parse_inner(const uint8_t *buf, uint32_t off, uint32_t end, int family,
			struct pkt_inner *in)
{
	uint32_t avail = end - off, hl, l4;
	struct v6walk w;
	bool later, walked = true;
	uint8_t proto;

	memset(in, 0, sizeof(*in));
	if (family == AF_INET) {
		if (avail < IPV4_HDRLEN || buf[off] >> 4 != 4)
			return;
		hl = (uint32_t)(buf[off] & 0x0f) * 4;
		if (hl < IPV4_HDRLEN || hl > avail)
			return;
		if (be_get16(buf + off + 2) >= hl && be_get16(buf + off + 2) < avail)
			avail = be_get16(buf + off + 2);
		proto = buf[off + 9];
		later = (be_get16(buf + off + 6) & 0x1fff) != 0;
		l4 = off + hl;
		addr_from_bytes(&in->src, AF_INET, buf + off + 12);
		addr_from_bytes(&in->dst, AF_INET, buf + off + 16);
	} else {
		if (avail < IPV6_HDRLEN || buf[off] >> 4 != 6)
			return;
		if (IPV6_HDRLEN + (uint32_t)be_get16(buf + off + 4) < avail)
			avail = IPV6_HDRLEN + be_get16(buf + off + 4);
		walked = ipv6_walk(buf, off + IPV6_HDRLEN, off + avail, buf[off + 6], &w) == PKT_OK;
		proto = w.proto;
		later = w.later_fragment;
		l4 = w.off;
		addr_from_bytes(&in->src, AF_INET6, buf + off + 8);
		addr_from_bytes(&in->dst, AF_INET6, buf + off + 24);
	}
	in->family = (uint8_t)family;
	in->proto = proto;
	in->l3_off = off;
	in->l4_off = l4;
	in->len = avail;
	in->later_fragment = later;
	if (walked && !later && proto_has_ports(proto) && off + avail - l4 >= 4) {
		in->has_ports = true;
		in->sport = be_get16(buf + l4);
		in->dport = be_get16(buf + l4 + 2);
	}
}

static bool icmp_is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

static enum pkt_status parse_l4(const uint8_t *buf, struct pkt *p)
{
	const uint8_t *l4 = buf + p->l4_off;
	uint32_t seg = p->ip_len - p->l4_off, hl;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (seg < 20)
			return PKT_ERR_L4SHORT;
		hl = (uint32_t)(l4[12] >> 4) * 4;
		if (hl < 20 || hl > seg)
			return PKT_ERR_L4HDR;
		p->sport = be_get16(l4);
		p->dport = be_get16(l4 + 2);
		p->seq = be_get32(l4 + 4);
		p->ack = be_get32(l4 + 8);
		p->tcp_flags = l4[13];
		p->l4_hdrlen = (uint16_t)hl;
		break;
	case IPPROTO_UDP:
		if (seg < 8)
			return PKT_ERR_L4SHORT;
		if (be_get16(l4 + 4) < 8 || be_get16(l4 + 4) > seg)
			return PKT_ERR_L4HDR;
		p->sport = be_get16(l4);
		p->dport = be_get16(l4 + 2);
		p->l4_hdrlen = 8;
		break;
	case IPPROTO_SCTP:
		if (seg < 12)
			return PKT_ERR_L4SHORT;
		p->sport = be_get16(l4);
		p->dport = be_get16(l4 + 2);
		p->l4_hdrlen = 12;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* ICMP in IPv6 or ICMPv6 in IPv4 is just an unknown protocol */
		if ((p->proto == IPPROTO_ICMP) != (p->family == AF_INET))
			break;
		if (seg < ICMP_HDRLEN)
			return PKT_ERR_L4SHORT;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->l4_hdrlen = ICMP_HDRLEN;
		p->icmp_error = icmp_is_error(p->family, l4[0]);
		if (p->icmp_error)
			parse_inner(buf, p->l4_off + ICMP_HDRLEN, p->ip_len, p->family, &p->inner);
		break;
	default:
		break;
	}
	return PKT_OK;
}

static enum pkt_status parse_ipv4(const uint8_t *buf, size_t len, struct pkt *p)
{
	uint32_t hl, tot;
	uint16_t frag;

	if (len < IPV4_HDRLEN)
		return PKT_ERR_SHORT;
	hl = (uint32_t)(buf[0] & 0x0f) * 4;
	if (hl < IPV4_HDRLEN || hl > len)
		return PKT_ERR_HDRLEN;
	tot = be_get16(buf + 2);
	if (tot < hl || tot > len)
		return PKT_ERR_TOTLEN;
	if (!ipv4_options_ok(buf + IPV4_HDRLEN, hl - IPV4_HDRLEN))
		return PKT_ERR_HDRLEN;
	frag = be_get16(buf + 6);
	p->family = AF_INET;
	p->fragment = (frag & 0x3fff) != 0;	/* MF or offset */
	p->later_fragment = (frag & 0x1fff) != 0;
	p->proto = buf[9];
	p->l4_off = hl;
	p->ip_len = tot;
	addr_from_bytes(&p->src, AF_INET, buf + 12);
	addr_from_bytes(&p->dst, AF_INET, buf + 16);
	return PKT_OK;
}

static enum pkt_status parse_ipv6(const uint8_t *buf, size_t len, struct pkt *p)
{
	enum pkt_status st;
	struct v6walk w;
	uint32_t tot;

	if (len < IPV6_HDRLEN)
		return PKT_ERR_SHORT;
	tot = IPV6_HDRLEN + (uint32_t)be_get16(buf + 4);
	if (tot > len)
		return PKT_ERR_TOTLEN;
	st = ipv6_walk(buf, IPV6_HDRLEN, tot, buf[6], &w);
	if (st != PKT_OK)
		return st;
	p->family = AF_INET6;
	p->fragment = w.fragment;
	p->later_fragment = w.later_fragment;
	p->proto = w.proto;
	p->l4_off = w.off;
	p->ip_len = tot;
	addr_from_bytes(&p->src, AF_INET6, buf + 8);
	addr_from_bytes(&p->dst, AF_INET6, buf + 24);
	return PKT_OK;
}

enum pkt_status pkt_parse(const uint8_t *buf, size_t len, struct pkt *p)
{
	enum pkt_status st;

	memset(p, 0, sizeof(*p));
	if (len < 1)
		return PKT_ERR_SHORT;
	switch (buf[0] >> 4) {
	case 4:
		st = parse_ipv4(buf, len, p);
		break;
	case 6:
		st = parse_ipv6(buf, len, p);
		break;
	default:
		return PKT_ERR_VERSION;
	}
	if (st != PKT_OK || p->later_fragment)
		return st;
	return parse_l4(buf, p);
}
