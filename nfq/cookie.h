/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cookie: SYN cookies for the handoff front-end, which answers a SYN without keeping any
 * state and learns of the connection only from the client's ACK (DESIGN.md, handoff).
 *
 * The 32-bit ISN of the SYN-ACK is
 *	bits 31..4	28 bits of SipHash-2-4(key; family, client and VIPA addresses and
 *			ports, the client's ISN, the time counter, the MSS index)
 *	bits  3..2	the time counter mod 4 (which counter to try when checking)
 *	bits  1..0	the MSS index in the per-family table
 * The time counter is the wall-clock second / COOKIE_PERIOD_S.  The hash covers the whole
 * counter and the MSS index, so that a forged or altered cookie passes with probability
 * 2^-28 per try.  The TCP options the client asked for (window scale, SACK-permitted) go
 * in the low bits of the SYN-ACK's TSval, as Linux does, and come back as the TS echo.
 * Pure: no state, no allocation. */
#ifndef CLUSTERD_COOKIE_H
#define CLUSTERD_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

#define COOKIE_KEY_LEN 16
#define COOKIE_PERIOD_S 64	/* one step of the time counter */
#define COOKIE_MAX_AGE 2	/* a cookie is good for counters now-1 and now */
#define COOKIE_MSS_N 4		/* entries of each MSS table */
#define COOKIE_TS_BITS 6	/* low TSval bits that carry the options */

struct cookie_flow {			/* as the client's SYN has it */
	struct ip_addr saddr, daddr;	/* client, VIPA (same family) */
	uint16_t sport, dport;		/* host order */
};

/* The MSS values a cookie can encode, ascending, for AF_INET (536: the RFC 9293 default;
 * 1300: tunnels, VPNs; 1440: PPPoE-ish paths; 1460: Ethernet) and AF_INET6 (1220: the
 * 1280-byte minimum MTU; 1280; 1420; 1440: Ethernet).  Any other family uses the v4 one. */
extern const uint16_t cookie_mss_v4[COOKIE_MSS_N], cookie_mss_v6[COOKIE_MSS_N];

/* SipHash-2-4 of the len bytes at msg under key (the reference function of Aumasson and
 * Bernstein; exposed for its test vectors). */
uint64_t cookie_siphash(const uint8_t key[COOKIE_KEY_LEN], const void *msg, size_t len);

/* The ISN of the SYN-ACK answering a SYN of flow f with sequence number isn_c and MSS option mss
 * (0: none), made at wall-clock second now_s.  The ISN encodes the largest MSS of the family's
 * table that is <= mss (the smallest if none) in *mss_out (may be NULL), and the time
 * counter now_s / COOKIE_PERIOD_S. */
uint32_t cookie_make(const uint8_t key[COOKIE_KEY_LEN], const struct cookie_flow *f,
		     uint32_t isn_c, uint16_t mss, uint64_t now_s, uint16_t *mss_out);

/* An ACK of flow f: isn_c = its seq - 1, cookie = its ack - 1.  True when cookie_make made that
 * cookie for this flow and isn_c at a counter of now_s or the one before (not in the future);
 * *mss_out (may be NULL) then the MSS it encodes. */
bool cookie_check(const uint8_t key[COOKIE_KEY_LEN], const struct cookie_flow *f, uint32_t isn_c,
		  uint32_t cookie, uint64_t now_s, uint16_t *mss_out);

/* TSval of the SYN-ACK: the ms clock now_ms with its low 6 bits replaced by the client's window
 * scale in bits 3..0 (0..14, larger values as 14 (RFC 7323 2.3); -1 = no WS option, encoded 15)
 * and SACK-permitted in bit 4 (bit 5 is 0).  Never after now_ms in sequence space: steps back
 * one 64-unit when needed, as Linux does, so the client never sees the clock jump ahead. */
uint32_t cookie_tsval(uint32_t now_ms, int8_t ws, bool sackok);

/* The client's echo of it (TS ecr of its ACK): *ws -1 when the SYN had no WS option. */
void cookie_ts_decode(uint32_t tsecr, int8_t *ws, bool *sackok);

#endif
