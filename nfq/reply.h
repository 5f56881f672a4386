/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reply: build the answers the daemon sends itself through a raw socket (IP header
 * included): TCP RST and ICMP port unreachable.  Pure: writes only into out. */
#ifndef CLUSTERD_REPLY_H
#define CLUSTERD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "nfq/pkt.h"

#define REPLY_TTL		64
#define REPLY_ICMP_MAX_V4	576	/* RFC 1812 4.3.2.3 */
#define REPLY_ICMP_MAX_V6	1280	/* RFC 4443 2.4 (c) */

/* TCP RST answering segment p (RFC 793: if ACK set, seq = ack of p, flags RST; else seq 0,
 * ack = seq + payload len + SYN + FIN, flags RST|ACK), src/dst swapped, TTL 64, window 0,
 * IPv4 with DF and id 0.  Returns length (40 for IPv4, 60 for IPv6) or 0 if cap is too
 * small, p is not TCP, is a later fragment, or itself carries RST (never answered).
 * buf is not read; it is there for symmetry. */
size_t reply_tcp_rst(const uint8_t *buf, const struct pkt *p, uint8_t *out, size_t cap);

/* ICMP port unreachable (v4 type 3 code 3, quoting IP header + as much as fits in 576 bytes;
 * v6 type 1 code 4, quoting as much as fits in 1280 bytes), from p's dst to p's src, TTL /
 * hop limit 64.  A smaller cap shortens the quote, down to the IP header + 8 bytes.
 * Returns length or 0: cap too small, p is an ICMP error (any ICMPv6 type < 128), a later
 * fragment, or p's source or destination is multicast, broadcast-class or unspecified
 * (RFC 1122 3.2.2, RFC 4443 2.4 (e)).  buf holds the p->ip_len bytes parsed into p and
 * must not overlap out. */
size_t reply_icmp_port_unreach(const uint8_t *buf, const struct pkt *p, uint8_t *out, size_t cap);

#endif
