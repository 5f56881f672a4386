/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hoff: the front-end's side of content-aware handoff (handoff,
 * doc/architecture.md) before a connection is handed off: one worker's
 * buffering slots, where a connection whose handshake the front-end
 * completed with a SYN cookie waits until its first request head is
 * complete.  Pure: no locks (the owning worker serialises calls), no clock
 * (time is a parameter), allocation only in hoff_table_new().
 *
 * A slot costs its buffer (max_request bytes): the table is a fixed pool,
 * capped, and its oldest slot may always be evicted for a new one, so a
 * flood of completed handshakes creates nothing that cannot be evicted. */
#ifndef CLUSTERD_HOFF_H
#define CLUSTERD_HOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfq/conn.h"

#define HOFF_FE_WSCALE	7	/* window scale the front-end's SYN-ACK offers */
#define HOFF_CAND_MAX	8	/* candidates a request carries, in order of preference */
#define HOFF_F_SACK	0x01	/* SACK-permitted negotiated */
#define HOFF_F_TS	0x02	/* timestamps negotiated */

/* What the target's clusterd needs to replay the connection into its own
 * stack.  Sequence numbers and TS values as on the wire, host order. */
struct hoff_params {
	uint32_t id;		/* (worker index << 24) | serial, never 0 */
	struct conn_key key;	/* the client and the VIPA */
	uint16_t tport;		/* the service's target_port */
	uint32_t isn_c;		/* the client's ISN */
	uint32_t isn_f;		/* the front-end's (cookie) ISN */
	uint16_t mss;		/* the client's MSS as the cookie kept it */
	int8_t ws_c, ws_f;	/* window scale of the client / of the FE's SYN-ACK; -1 none */
	uint8_t flags;		/* HOFF_F_* */
	uint32_t tsval_c;	/* the client's latest TSval (flags & HOFF_F_TS) */
	uint32_t tsval_f;	/* the FE's latest TSval sent to the client */
	uint16_t win_c;		/* the client's latest window field (scaled by ws_c) */
	uint32_t req_len;	/* request bytes that follow */
};

/* A complete request, from a front-end worker to its main thread (which
 * owns it from then on and frees it with free()). */
struct hoff_req {
	struct hoff_params p;
	size_t n_cand;
	uint32_t cand[HOFF_CAND_MAX];	/* node indexes in the configuration of cfg_gen */
	uint64_t cfg_gen;
	uint8_t data[];			/* p.req_len bytes */
};

#endif
