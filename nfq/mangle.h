/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mangle: rewrite one side's address and port of a parsed packet in place, keeping
 * every checksum right (IPv4 header, TCP/UDP/ICMPv6 with pseudo-header, SCTP CRC32c,
 * and the packet quoted in an ICMP error).  Pure: no allocation. */
#ifndef CLUSTERD_MANGLE_H
#define CLUSTERD_MANGLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nfq/pkt.h"

enum mangle_side { MANGLE_SRC, MANGLE_DST };

enum mangle_status {
	MANGLE_OK = 0,
	MANGLE_ERR_FAMILY,	/* addr is not of the packet's family */
	MANGLE_ERR_PROTO,	/* protocol mangle does not know: nothing changed */
	MANGLE_ERR_SHORT,	/* p does not fit buf, or the rewrite needs bytes not there */
	MANGLE__MAX
};

/* "ok", "family", "proto", "short"; "unknown" out of range. */
const char *mangle_status_name(enum mangle_status s);

/* Rewrites the address (always) and the port (when port != 0, host order) on one side of the
 * packet parsed into p from buf, fixing the IPv4 header checksum and the L4 checksum.
 * full_csum=false: incremental updates (RFC 1624) of the existing checksums.
 * full_csum=true: the L4 checksum field holds only a partial pseudo-header sum
 * (NFQA_SKB_CSUMNOTREADY); recompute the whole L4 checksum over pseudo-header + L4 bytes
 * (ip_len - l4_off bytes).  UDP with checksum 0 stays 0 (incremental case).
 * ICMP / ICMPv6 errors: rewrite the outer address on `side` and, in the embedded packet, the
 * opposite side (outer DST => inner SRC address and sport; outer SRC => inner DST address and
 * dport), fixing the embedded IPv4 header checksum, the embedded L4 checksum if the whole embedded
 * L4 checksum field is present (incremental), and the outer ICMP checksum (ICMPv6: includes the
 * pseudo-header, so an outer address change changes it too).  Updates p (addresses, ports) to the
 * new values.
 *
 * Details: protocols handled are TCP, UDP, SCTP, ICMP (v4) and ICMPv6; anything else is
 * MANGLE_ERR_PROTO.  Non-error ICMP has no ports: port is ignored.  A later fragment gets its
 * address rewritten only; a first fragment is always updated incrementally (the full L4 bytes
 * are not there).  SCTP: the CRC32c has no pseudo-header, so it is recomputed over the whole
 * SCTP packet only when the port changes or full_csum is set (a fragmented SCTP packet whose
 * port must change is MANGLE_ERR_SHORT).  In a quoted packet the port is rewritten only when
 * inner.has_ports, and an SCTP CRC is left alone (the quote is truncated).  An ICMP error
 * with nothing usable quoted (inner.family == 0) is MANGLE_ERR_SHORT.  On any error the
 * buffer and p are unchanged. */
enum mangle_status mangle_rewrite(uint8_t *buf, size_t len, struct pkt *p, enum mangle_side side,
				  const struct ip_addr *addr, uint16_t port, bool full_csum);

#endif
