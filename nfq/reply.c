/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reply: TCP RST and ICMP port unreachable builders. */
#include <string.h>

#include "common/be.h"
#include "nfq/csum.h"
#include "nfq/reply.h"

#define IPV4_HDRLEN	20
#define IPV6_HDRLEN	40
#define TCP_HDRLEN	20
#define ICMP_HDRLEN	8

/* IP header from p's dst to p's src carrying l4len bytes of proto; returns its length */
static size_t build_ip(const struct pkt *p, uint8_t *out, uint8_t proto, size_t l4len)
{
	if (p->family == AF_INET) {
		memset(out, 0, IPV4_HDRLEN);
		out[0] = 0x45;
		be_put16(out + 2, (uint16_t)(IPV4_HDRLEN + l4len));
		be_put16(out + 6, 0x4000);	/* DF */
		out[8] = REPLY_TTL;
		out[9] = proto;
		memcpy(out + 12, p->dst.b, 4);
		memcpy(out + 16, p->src.b, 4);
		be_put16(out + 10, csum_fold(csum_add(0, out, IPV4_HDRLEN)));
		return IPV4_HDRLEN;
	}
	memset(out, 0, IPV6_HDRLEN);
	out[0] = 0x60;
	be_put16(out + 4, (uint16_t)l4len);
	out[6] = proto;
	out[7] = REPLY_TTL;
	memcpy(out + 8, p->dst.b, 16);
	memcpy(out + 24, p->src.b, 16);
	return IPV6_HDRLEN;
}

static size_t ip_hdrlen(const struct pkt *p)
{
	if (p->family == AF_INET)
		return IPV4_HDRLEN;
	if (p->family == AF_INET6)
		return IPV6_HDRLEN;
	return 0;
}

size_t reply_tcp_rst(const uint8_t *buf, const struct pkt *p, uint8_t *out, size_t cap)
{
	size_t hl = ip_hdrlen(p);
	uint32_t seq, ack, payload;
	uint8_t flags, *th;

	if (!hl || p->proto != IPPROTO_TCP || p->later_fragment || p->l4_hdrlen < TCP_HDRLEN ||
	    (p->tcp_flags & PKT_TCP_RST) || cap < hl + TCP_HDRLEN ||
	    p->ip_len < p->l4_off + p->l4_hdrlen)
		return 0;
	payload = p->ip_len - p->l4_off - p->l4_hdrlen;
	if (p->tcp_flags & PKT_TCP_ACK) {
		seq = p->ack;
		ack = 0;
		flags = PKT_TCP_RST;
	} else {
		seq = 0;
		ack = p->seq + payload + !!(p->tcp_flags & PKT_TCP_SYN) +
		      !!(p->tcp_flags & PKT_TCP_FIN);
		flags = PKT_TCP_RST | PKT_TCP_ACK;
	}
	build_ip(p, out, IPPROTO_TCP, TCP_HDRLEN);
	th = out + hl;
	memset(th, 0, TCP_HDRLEN);
	be_put16(th, p->dport);
	be_put16(th + 2, p->sport);
	be_put32(th + 4, seq);
	be_put32(th + 8, ack);
	th[12] = (TCP_HDRLEN / 4) << 4;
	th[13] = flags;
	be_put16(th + 16, csum_fold(csum_add(csum_pseudo(p->family, p->dst.b, p->src.b, IPPROTO_TCP,
						      TCP_HDRLEN), th, TCP_HDRLEN)));
	return hl + TCP_HDRLEN;
}

/* Addresses an error must not be sent to or about (RFC 1122 3.2.2, RFC 4443 2.4). */
static bool no_error_for(const struct pkt *p)
{
	static const uint8_t zero[16];

	if (p->family == AF_INET)
		return p->dst.b[0] >= 224 || p->src.b[0] >= 224 || !memcmp(p->src.b, zero, 4);
	return p->dst.b[0] == 0xff || p->src.b[0] == 0xff || !memcmp(p->src.b, zero, 16);
}

size_t reply_icmp_port_unreach(const uint8_t *buf, const struct pkt *p, uint8_t *out, size_t cap)
{
	size_t hl = ip_hdrlen(p), limit, minq, q;
	uint8_t proto, *ih;
	uint32_t sum = 0;

	if (!hl || p->later_fragment || p->icmp_error || no_error_for(p) ||
	    p->l4_off > p->ip_len)
		return 0;
	if (p->family == AF_INET6 && p->proto == IPPROTO_ICMPV6 && p->l4_hdrlen &&
	    p->icmp_type < 128)
		return 0;
	limit = p->family == AF_INET ? REPLY_ICMP_MAX_V4 : REPLY_ICMP_MAX_V6;
	if (cap < limit)
		limit = cap;
	/* RFC 792: at least the IP header and 64 bits of data */
	minq = p->l4_off + 8 < p->ip_len ? p->l4_off + 8 : p->ip_len;
	if (limit < hl + ICMP_HDRLEN + minq)
		return 0;
	q = limit - hl - ICMP_HDRLEN;
	if (q > p->ip_len)
		q = p->ip_len;

	proto = p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	build_ip(p, out, proto, ICMP_HDRLEN + q);
	ih = out + hl;
	memset(ih, 0, ICMP_HDRLEN);
	ih[0] = p->family == AF_INET ? 3 : 1;
	ih[1] = p->family == AF_INET ? 3 : 4;
	memcpy(ih + ICMP_HDRLEN, buf, q);
	if (p->family == AF_INET6)
		sum = csum_pseudo(AF_INET6, p->dst.b, p->src.b, IPPROTO_ICMPV6,
				  (uint32_t)(ICMP_HDRLEN + q));
	be_put16(ih + 2, csum_fold(csum_add(sum, ih, ICMP_HDRLEN + q)));
	return hl + ICMP_HDRLEN + q;
}
