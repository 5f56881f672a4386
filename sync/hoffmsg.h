/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hoffmsg: the cluster messages of content-aware handoff (handoff,
 * doc/architecture.md): HOFF_REQ (a request, cut into bodies, and its
 * reassembly), HOFF_ACK, HOFF_NAK and HOFF_END.  All are reliable state
 * messages (numbers in sync/msg.h).  Pure: no sockets, no clock (time is a
 * parameter), no globals, no locks (the owner serialises calls on one
 * struct hoff_rx); allocation in hoff_rx only.
 *
 * Bodies are TLVs (sync/tlv.h framing, big-endian integers).  Receivers
 * skip TLV types they do not know (REL_TLV_SEQ among them); a known TLV of
 * the wrong size or with a bad value refuses the body.
 *
 *   HOFF_TLV_PARAMS  exactly 72 bytes, the first body of a request:
 *                      0 id u32 (never 0)
 *                      4 family u8 (4 or 6)   5 proto u8 (6: TCP only)
 *                      6 flags u8 (HOFF_F_*, no other bit)   7 zero
 *                      8 client port u16     10 VIPA port u16
 *                     12 client address, 16 bytes (v4: 4, then zero)
 *                     28 VIPA address, 16 bytes
 *                     44 tport u16 (target port)   46 mss u16
 *                     48 isn_c u32           52 isn_f u32
 *                     56 ws_c i8             57 ws_f i8 (-1..14; -1 none)
 *                     58 win_c u16
 *                     60 tsval_c u32         64 tsval_f u32
 *                     68 req_len u32 (<= HOFF_REQ_MAX)
 *                    Ports, mss and addresses are never zero.
 *   HOFF_TLV_DATA    8 bytes and more: id u32, offset u32 (of the first
 *                    byte in the request), then the bytes.  Exactly one in
 *                    every REQ body; in the first (with PARAMS, same id),
 *                    offset 0, and maybe no bytes (req_len 0).
 *   HOFF_TLV_ACK     exactly 56 bytes (HOFF_ACK bodies):
 *                      0 id u32   4 family u8   5 proto u8   6 zero u16
 *                      8 client port u16   10 VIPA port u16
 *                     12 client address, 16 bytes   28 VIPA address, 16
 *                     44 delta u32   48 tsoff u32   52 ws_t i8 (-1..14)
 *                     53 three zero bytes
 *   HOFF_TLV_END     exactly 44 bytes (HOFF_END and HOFF_NAK bodies):
 *                      0 id u32   4 family u8   5 proto u8
 *                      6 reason u8 (enum hoff_reason)   7 zero
 *                      8..43 ports and addresses as in ACK
 *
 * ACK, END and NAK bodies hold exactly one ACK or END TLV. */
#ifndef CLUSTERD_HOFFMSG_H
#define CLUSTERD_HOFFMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfq/conn.h"
#include "nfq/hoff.h"

#define HOFF_PARAMS_LEN	72
#define HOFF_DATA_HDR_LEN 8	/* id, offset: the bytes follow */
#define HOFF_ACK_LEN	56
#define HOFF_END_LEN	44
/* Smallest body_max hoff_req_encode takes; bodies it makes are also never
 * larger than HOFF_BODY_CAP bytes (the sync channel's bodies are smaller). */
#define HOFF_BODY_MIN	256
#define HOFF_BODY_CAP	4096

/* A request: HOFF_MSG_REQ bodies.  The first holds HOFF_TLV_PARAMS (every field of struct
 * hoff_params, fixed size, big-endian) and a HOFF_TLV_DATA; later ones a HOFF_TLV_DATA each
 * (id u32, offset u32, bytes).  The reliable channel delivers a peer's bodies in order, but a
 * sender may interleave two requests' bodies: reassembly is by id. */
#define HOFF_REQ_MAX 65536	/* request bytes one handoff may carry */

/* True if p would encode: id, key (TCP, families, ports, addresses), tport,
 * mss, window scales, flags, req_len <= HOFF_REQ_MAX. */
bool hoff_params_valid(const struct hoff_params *p);

/* Cuts the request into bodies of at most body_max bytes (>= 256) and calls emit for each in
 * order; stops at emit's first non-zero return and returns it; 0 when all went; -1 bad args.
 * (Bad args: p invalid, data NULL with p->req_len > 0, body_max < HOFF_BODY_MIN, emit NULL.
 * A body_max above HOFF_BODY_CAP counts as HOFF_BODY_CAP.  body is valid during the call.) */
int hoff_req_encode(const struct hoff_params *p, const uint8_t *data, size_t body_max,
		    int (*emit)(void *arg, const uint8_t *body, size_t len), void *arg);
/* How many bodies hoff_req_encode makes (so a sender can check the room first).
 * 0 for req_len > HOFF_REQ_MAX or body_max < HOFF_BODY_MIN. */
size_t hoff_req_bodies(size_t req_len, size_t body_max);

/* Reassembly of one sender's requests; bounded: at most max_pending requests and max_bytes
 * request bytes in progress (a request that would exceed them is refused: HOFF_RX_ERR_FULL).
 * A request complete in its first body is never in progress (no limit applies to it).
 * hoff_rx_new: NULL when max_pending is 0 or above HOFF_RX_PENDING_MAX, or out of memory. */
#define HOFF_RX_PENDING_MAX 65536
struct hoff_rx;
struct hoff_rx *hoff_rx_new(size_t max_pending, size_t max_bytes);
void hoff_rx_free(struct hoff_rx *rx);
enum { HOFF_RX_MORE = 0, HOFF_RX_DONE = 1, HOFF_RX_ERR_FORMAT = -1, HOFF_RX_ERR_FULL = -2,
       HOFF_RX_ERR_ORDER = -3 /* data for an unknown id, a gap or overlap */ };
/* One REQ body at now_ms.  DONE: *p and *data (malloc'd, p->req_len bytes, the caller frees it)
 * hold a whole request.  An error drops that request's partial state.
 * (*data is never NULL on DONE, even for req_len 0; p and data are untouched otherwise.
 * FORMAT: a bad body (framing, sizes, values, not exactly one DATA, PARAMS and DATA of two
 * ids, bytes past req_len); ORDER also for a second PARAMS of an id in progress (the old
 * state is dropped, the new one refused); FULL also when out of memory.  "That request" is
 * the one the body's DATA names: a body whose DATA cannot be read (bad framing, no DATA,
 * shorter than its header) names none and drops nothing: hoff_rx_expire() does.  Later
 * bodies of a refused or dropped request come back ERR_ORDER.) */
int hoff_rx_input(struct hoff_rx *rx, const uint8_t *body, size_t len, uint64_t now_ms,
		  struct hoff_params *p, uint8_t **data);
/* Drops the requests begun more than max_age_ms before now_ms; returns how many. */
size_t hoff_rx_expire(struct hoff_rx *rx, uint64_t now_ms, uint64_t max_age_ms);
size_t hoff_rx_pending(const struct hoff_rx *rx);
/* Request bytes held by the requests in progress (their req_len summed). */
size_t hoff_rx_bytes(const struct hoff_rx *rx);

struct hoff_ack { uint32_t id; struct conn_key key; uint32_t delta, tsoff; int8_t ws_t; };
enum hoff_reason { HOFF_R_NONE = 0, HOFF_R_RST, HOFF_R_EXPIRED, HOFF_R_SUPERSEDED,
		   HOFF_R_NO_STACK /* the stack did not answer the SYN */, HOFF_R_NO_ROOM,
		   HOFF_R_FIN, HOFF_R__MAX };
const char *hoff_reason_name(unsigned r);	/* "none", "rst", "expired", "superseded", ... */
/* ("no_stack", "no_room", "fin"; "unknown" from HOFF_R__MAX on.) */
struct hoff_end { uint32_t id; struct conn_key key; uint8_t reason; };	/* END and NAK bodies */
/* Encoders write one body (a single TLV) into out; decoders take a whole body, skip unknown
 * TLVs and fill the key with conn_key_set().  Valid: id != 0, a TCP key of family AF_INET or
 * AF_INET6 with ports and addresses set, ws_t in -1..14, reason < HOFF_R__MAX. */
size_t hoff_ack_encode(const struct hoff_ack *a, uint8_t *out, size_t cap);	/* 0: no room/bad */
bool hoff_ack_decode(const uint8_t *b, size_t len, struct hoff_ack *a);
size_t hoff_end_encode(const struct hoff_end *e, uint8_t *out, size_t cap);
bool hoff_end_decode(const uint8_t *b, size_t len, struct hoff_end *e);

#endif
