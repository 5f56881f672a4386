/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcpseg: TCP segments for content-aware handoff: option parsing, building whole IP+TCP
 * packets (SYN-ACKs, ACKs, data), and the in-place translation of a handed-off connection's
 * packets (addresses/ports, sequence and acknowledgment numbers, SACK blocks, timestamps,
 * window rescaling) with checksum upkeep.  Pure: buffers in, results out; no allocation. */
#ifndef CLUSTERD_TCPSEG_H
#define CLUSTERD_TCPSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nfq/mangle.h"
#include "nfq/pkt.h"

#define TCPSEG_WS_MAX	14	/* RFC 7323 2.3: larger shift counts are used as 14 */
#define TCPSEG_SACK_MAX	4	/* blocks that fit in 40 bytes of options */

struct tcpseg_opts {
	int32_t mss;		/* -1: absent */
	int8_t ws;		/* -1: absent (value clamped to 14 as RFC 7323 says) */
	bool sackok;
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t n_sack;		/* SACK blocks present (0..4) */
	uint32_t sack[4][2];	/* left, right edges, host order */
};

/* Parses the options of the TCP header at tcp (hdrlen = doff * 4 bytes, >= 20). false: malformed
 * (an option's length < 2 or past the header; a known option with the wrong length).
 * Known options and their lengths: MSS 4, WS 3, SACK-permitted 2, SACK 2 + 8n (n 1..4),
 * TS 10; others are skipped.  EOL ends the list (what follows is not looked at).  An option
 * given twice: the last one counts.  On false the contents of *o are unspecified. */
bool tcpseg_opts_parse(const uint8_t *tcp, size_t hdrlen, struct tcpseg_opts *o);

/* TCP payload bytes of the parsed packet (ip_len - l4_off - l4_hdrlen), 0 if inconsistent. */
size_t tcpseg_payload_len(const struct pkt *p);

/* Sequence space the parsed TCP segment takes: payload bytes + 1 for SYN + 1 for FIN. */
uint32_t tcpseg_seq_len(const struct pkt *p);

struct tcpseg_spec {
	struct ip_addr src, dst;	/* same family: AF_INET builds IPv4 (DF, id 0), AF_INET6 IPv6 */
	uint16_t sport, dport;		/* host order */
	uint32_t seq, ack;
	uint8_t flags;			/* PKT_TCP_* */
	uint16_t win;
	int32_t mss;			/* -1: no MSS option */
	int8_t ws;			/* -1: no window scale option */
	bool sackok;
	bool ts;
	uint32_t tsval, tsecr;
	const uint8_t *payload;
	size_t plen;
	uint8_t ttl;			/* 0: 64 */
};

/* A complete IP packet with IP and TCP checksums computed (options padded with NOP to a multiple
 * of 4, in the order MSS, SACK-permitted, TS, WS like Linux).  Returns its length; 0 when cap is
 * too small, the families differ, or the packet would exceed 65535 bytes.
 * Details: the option bytes are those of a Linux SYN-ACK: MSS (4); SACK-permitted + TS (12),
 * or NOP NOP TS, or NOP NOP SACK-permitted; NOP WS (ws written as given).  Also 0 when mss >
 * 65535 or payload is NULL with plen != 0.  payload may lie inside out (it is moved). */
size_t tcpseg_build(uint8_t *out, size_t cap, const struct tcpseg_spec *s);

struct tcpseg_xlate {
	enum mangle_side side;		/* which address/port to rewrite */
	const struct ip_addr *addr;	/* NULL: no address/port change */
	uint16_t port;			/* 0: keep the port */
	uint32_t seq_add;		/* seq += seq_add */
	uint32_t ack_sub;		/* if ACK set: ack -= ack_sub; every SACK block edge -= ack_sub */
	uint32_t tsval_add;		/* TS option present: tsval += tsval_add */
	uint32_t tsecr_sub;		/*                    tsecr -= tsecr_sub (not when tsecr is 0) */
	int8_t ws_from, ws_to;		/* both >= 0 and different, and not a SYN: window =
					 * min(65535, (window << ws_from) >> ws_to) */
};

/* Applies x to the parsed TCP packet p in buf (len bytes) in place, keeping every checksum right:
 * full_csum=false: incremental updates (RFC 1624) of the IP and TCP checksums;
 * full_csum=true (NFQA_SKB_CSUMNOTREADY: the TCP checksum field holds only the partial
 * pseudo-header sum; the kernel sets CHECKSUM_NONE on a mangled packet): the whole TCP checksum
 * recomputed over pseudo-header + segment, as mangle_rewrite does.  Must work for GSO packets up
 * to 65535 bytes (ip_len is all the segment's bytes).  Updates p (addresses, ports, seq, ack).
 * Errors as mangle_rewrite (MANGLE_ERR_PROTO if not TCP, MANGLE_ERR_SHORT if truncated or the
 * options are malformed); on error buf and p are unchanged.
 * Details: SACK blocks are rewritten only when ACK is set, like the ack field; ws values above
 * 14 count as 14; an option given twice: the last one is translated (as tcpseg_opts_parse
 * reports it).  A later fragment (no TCP header) is MANGLE_ERR_SHORT; a first fragment is
 * always updated incrementally (the rest of its segment is not there).  A p whose
 * l4_hdrlen disagrees with the header in buf is MANGLE_ERR_SHORT.  addr of another family:
 * MANGLE_ERR_FAMILY. */
enum mangle_status tcpseg_xlate(uint8_t *buf, size_t len, struct pkt *p,
				const struct tcpseg_xlate *x, bool full_csum);

#endif
