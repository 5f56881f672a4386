/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt: parse an IPv4/IPv6 packet (options, extension headers, TCP, UDP, SCTP,
 * ICMP/ICMPv6 and the packet quoted in an ICMP error) into a view of offsets and
 * fields.  Pure: reads the buffer only, never past len; no allocation. */
#ifndef CLUSTERD_PKT_H
#define CLUSTERD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define PKT_IPV6_MAX_EXTHDR	8	/* longer chains are refused */

#define PKT_TCP_FIN	0x01
#define PKT_TCP_SYN	0x02
#define PKT_TCP_RST	0x04
#define PKT_TCP_PSH	0x08
#define PKT_TCP_ACK	0x10

enum pkt_status {
	PKT_OK = 0,
	PKT_ERR_SHORT,		/* shorter than an IP header */
	PKT_ERR_VERSION,
	PKT_ERR_HDRLEN,		/* bad IHL / options */
	PKT_ERR_TOTLEN,		/* total/payload length > buffer or < header */
	PKT_ERR_EXTHDR,		/* IPv6 ext header chain truncated/too long */
	PKT_ERR_L4SHORT,	/* L4 header truncated */
	PKT_ERR_L4HDR,		/* e.g. TCP doff < 5 or > segment, UDP length bad */
	PKT__MAX
};

/* "ok", "short", "version", "hdrlen", "totlen", "exthdr", "l4short", "l4hdr": stable,
 * used as counter names.  "unknown" out of range. */
const char *pkt_status_name(enum pkt_status s);

struct pkt_inner {		/* the packet quoted in an ICMP/ICMPv6 error */
	uint8_t family;		/* 0: nothing usable quoted */
	uint8_t proto;		/* L4 protocol, or where the ext header walk stopped */
	struct ip_addr src, dst;
	uint16_t sport, dport;	/* host order; valid when has_ports */
	bool has_ports;		/* first 4 bytes of TCP/UDP/SCTP header present */
	bool later_fragment;	/* quoted packet is a non-first fragment: l4_off is data */
	uint32_t l3_off, l4_off; /* offsets in the outer buffer */
	uint32_t len;		/* bytes of the quoted packet present in the buffer */
};

struct pkt {
	uint8_t family;		/* AF_INET / AF_INET6 */
	uint8_t proto;		/* final L4 protocol (after IPv6 ext headers) */
	uint32_t l4_off;	/* offset of L4 header (IPv4 IHL*4, IPv6 40 + ext headers) */
	uint32_t ip_len;	/* length per the IP header (buffer may be longer: padding) */
	bool fragment;		/* MF set or offset != 0 (v4); fragment header (v6) */
	bool later_fragment;	/* fragment offset != 0: no L4 header here */
	struct ip_addr src, dst;
	uint16_t sport, dport;	/* host order; TCP, UDP, SCTP */
	uint8_t tcp_flags;	/* TCP: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 (ECE, CWR) */
	uint32_t seq, ack;	/* TCP, host order */
	uint8_t icmp_type, icmp_code;
	bool icmp_error;	/* v4: types 3,4,5,11,12; v6: types 1..4 */
	uint16_t l4_hdrlen;	/* TCP doff*4, UDP/ICMP 8, SCTP 12; 0 if no L4 header parsed */
	struct pkt_inner inner;	/* valid when icmp_error and inner.family != 0 */
};

/* Parses the len bytes at buf into *p (always fully overwritten).  Checksums are not
 * verified.  On error the fields of p are unspecified. */
enum pkt_status pkt_parse(const uint8_t *buf, size_t len, struct pkt *p);

#endif
