/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sctpmsg: the cluster messages of SCTP association failover (SCTP
 * association failover, doc/architecture.md): SCTP_MSG_TAG, SCTP_MSG_GONE
 * and SCTP_MSG_ASSOC, reliable state messages (numbers in sync/msg.h); and
 * the coalescing set of records a distributor has yet to replicate.  Pure:
 * no sockets, no clock, no globals, no locks; allocation in sctp_pend_new
 * only.
 *
 * Bodies are TLVs (sync/tlv.h framing, big-endian integers).  Receivers
 * skip TLV types they do not know (REL_TLV_SEQ among them); a known TLV of
 * the wrong size, with a bad value or a non-zero reserved byte refuses the
 * whole body, and so does a known TLV in a message it does not belong to.
 * Family: 4 or 6.  Ports are never 0.  An address is set, of the family,
 * and a v4 address is followed by 12 zero bytes.
 *
 *   SCTP_TLV_TAG     exactly 36 bytes (SCTP_MSG_TAG: exactly one):
 *                      0 ep u32 (the VIPA's index in the configuration)
 *                      4 family u8    5 zero
 *                      6 client port u16    8 VIPA port u16   10 zero u16
 *                     12 itag_c u32 (the client's Initiate Tag; 0: the target
 *                        began the association)
 *                     16 itag_t u32 (the target's Initiate Tag, never 0)
 *                     20 client address, 16 bytes
 *                    The target is the message's sender.
 *   SCTP_TLV_GONE    exactly 20 bytes (SCTP_MSG_GONE: exactly one): bytes
 *                    0..19 as in TAG; one of itag_c, itag_t may be 0, not
 *                    both.
 *   SCTP_MSG_ASSOC bodies: any sequence, in order, of
 *   SCTP_TLV_UPDATE  24 + 16 * n_paths bytes, n_paths 0..ASSOC_PATHS:
 *                      0 ep u32
 *                      4 family u8    5 state u8 (ASSOC_EST or ASSOC_CLOSED)
 *                      6 client port u16    8 VIPA port u16
 *                     10 flags u8 (ASSOC_F_*, no other bit)   11 n_paths u8
 *                     12 itag_c u32 (may be 0)   16 itag_t u32 (never 0)
 *                     20 target u32 (wire_node_id of the target's name; 0:
 *                        none)
 *                     24 the client's addresses, 16 bytes each, distinct
 *   SCTP_TLV_DELETE  exactly 16 bytes: 0 ep u32, 4 zero u16, 6 client port
 *                    u16, 8 VIPA port u16, 10 zero u16, 12 itag_t u32 (never
 *                    0)
 *   SCTP_TLV_BULK_BEGIN  exactly 4 bytes: bulk id u32.  The sender's whole
 *                    table (of the VIPAs both distribute) follows
 *   SCTP_TLV_BULK_END    exactly 8 bytes: bulk id u32, count u32 (the UPDATE
 *                    records of the dump) */
#ifndef CLUSTERD_SCTPMSG_H
#define CLUSTERD_SCTPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nfq/assoc.h"
#include "sync/tlv.h"

#define SCTP_TAG_LEN		36
#define SCTP_GONE_LEN		20
#define SCTP_UPDATE_LEN		24	/* without its paths */
#define SCTP_PATH_LEN		16
#define SCTP_DELETE_LEN		16
#define SCTP_BULK_BEGIN_LEN	4
#define SCTP_BULK_END_LEN	8
#define SCTP_UPDATE_MAX_LEN	(SCTP_UPDATE_LEN + ASSOC_PATHS * SCTP_PATH_LEN)
#define SCTP_F_KNOWN		(ASSOC_F_RESTART | ASSOC_F_COLLISION | ASSOC_F_TGT_INIT | \
				 ASSOC_F_RETARGET | ASSOC_F_CONFIRMED)

enum sctp_err {
	SCTP_OK = 0,
	SCTP_ERR_INVAL = -1,	/* bad argument or record */
	SCTP_ERR_TLV = -2,	/* the body does not split into TLVs exactly */
	SCTP_ERR_FORMAT = -3,	/* a known TLV has the wrong size, a bad value or is misplaced */
};

/* "ok", "inval", "tlv", "format"; "unknown" otherwise. */
const char *sctp_err_name(int err);

/* SCTP_MSG_TAG: a target's stack answered an INIT (or sent one). */
struct sctp_tag {
	uint32_t ep;
	uint8_t family;		/* AF_INET / AF_INET6 */
	uint16_t cport, vport;
	uint32_t itag_c, itag_t;
	struct ip_addr client;
};

/* SCTP_MSG_GONE: a target's stack ended an association. */
struct sctp_gone {
	uint32_t ep;
	uint8_t family;
	uint16_t cport, vport;
	uint32_t itag_c, itag_t;
};

/* An UPDATE record: an association as the sender's table has it. */
struct sctp_upd {
	uint32_t ep;
	uint8_t family;
	uint8_t state;		/* ASSOC_EST or ASSOC_CLOSED */
	uint8_t flags;		/* ASSOC_F_* */
	uint8_t n_paths;
	uint16_t cport, vport;
	uint32_t itag_c, itag_t;
	uint32_t target;	/* wire id; 0: none */
	struct ip_addr paths[ASSOC_PATHS];
};

/* A DELETE record: the association (ep, ports, itag_t) is gone. */
struct sctp_del {
	uint32_t ep;
	uint16_t cport, vport;
	uint32_t itag_t;
};

bool sctp_tag_valid(const struct sctp_tag *t);
bool sctp_gone_valid(const struct sctp_gone *g);
bool sctp_upd_valid(const struct sctp_upd *u);
bool sctp_del_valid(const struct sctp_del *x);

/* One body holding one TLV: its length, 0 when invalid or cap too small. */
size_t sctp_tag_encode(const struct sctp_tag *t, uint8_t *out, size_t cap);
size_t sctp_gone_encode(const struct sctp_gone *g, uint8_t *out, size_t cap);
/* A whole body: exactly one TAG (GONE) TLV, unknown TLVs skipped, every
 * check above.  *t is written only on success. */
bool sctp_tag_decode(const uint8_t *b, size_t len, struct sctp_tag *t);
bool sctp_gone_decode(const uint8_t *b, size_t len, struct sctp_gone *g);

/* --- SCTP_MSG_ASSOC bodies --- */

/* A tlv_writer over a caller buffer that counts records.  A put returns
 * false when the record does not fit (send the body, begin another) or is
 * invalid (then err is SCTP_ERR_INVAL); either way the body is unchanged
 * and later records that fit still go in. */
struct sctp_writer {
	struct tlv_writer tlv;	/* tlv.len: the body's length */
	unsigned n;		/* records written */
	int err;
};

void sctp_writer_init(struct sctp_writer *w, uint8_t *buf, size_t cap);
bool sctp_put_update(struct sctp_writer *w, const struct sctp_upd *u);
bool sctp_put_delete(struct sctp_writer *w, const struct sctp_del *x);
bool sctp_put_bulk_begin(struct sctp_writer *w, uint32_t id);
bool sctp_put_bulk_end(struct sctp_writer *w, uint32_t id, uint32_t count);

struct sctp_rec {
	uint16_t type;		/* SCTP_TLV_UPDATE, _DELETE, _BULK_BEGIN, _BULK_END */
	union {
		struct sctp_upd upd;
		struct sctp_del del;
		struct {
			uint32_t id, count;	/* count: BULK_END only */
		} bulk;
	};
};

typedef int (*sctp_rec_fn)(const struct sctp_rec *r, void *arg);

/* Checks the whole body first (framing, sizes, values, reserved bytes of
 * every known TLV; TAG or GONE in it refuse it; unknown TLVs are skipped),
 * so a bad body delivers nothing; then calls fn (may be NULL) for each
 * record in order.  Returns the number of records, an SCTP_ERR_*, or the
 * first negative value fn returned (which stops the walk). */
int sctp_assoc_decode(const uint8_t *body, size_t len, sctp_rec_fn fn, void *arg);

/* --- records waiting to be replicated --- */

/* A set of UPDATE and DELETE records keyed by (ep, ports, itag_t): a
 * record replaces the waiting one of the same association (the newer state
 * wins: a DELETE an UPDATE, an UPDATE a DELETE of an association learned
 * again), so a burst of changes to one association costs one record.
 * Records of different associations keep the order they first came in.
 * Bounded: at most cap records. */
struct sctp_pend;

/* NULL when cap is 0 or above SCTP_PEND_MAX, or out of memory. */
#define SCTP_PEND_MAX (1u << 20)
struct sctp_pend *sctp_pend_new(size_t cap);
void sctp_pend_free(struct sctp_pend *p);
/* Adds r (an UPDATE or DELETE, valid): 1 added, 0 replaced a waiting one,
 * SCTP_ERR_INVAL for another type or an invalid record, -ENOSPC when full
 * (nothing changed: send what waits, then add it again). */
int sctp_pend_put(struct sctp_pend *p, const struct sctp_rec *r);
size_t sctp_pend_count(const struct sctp_pend *p);
/* The i-th waiting record (i < count), in order. */
const struct sctp_rec *sctp_pend_get(const struct sctp_pend *p, size_t i);
/* Forgets every record. */
void sctp_pend_clear(struct sctp_pend *p);

#endif
