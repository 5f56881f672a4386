/* SPDX-License-Identifier: GPL-2.0-or-later */
/* repl: connection-table replication (takeover, doc/architecture.md).  The distributor of a VIPA
 * sends its connection table to the backup distributor(s) as records in
 * reliable state messages; a target reports the connections it holds to a
 * new distributor; every receiver keeps the replicas in a store, ready for a
 * takeover.  Pure: no sockets, no clock, no globals, no locks (the owner
 * serialises calls); the store allocates at creation only.
 *
 * Records are TLVs (sync/tlv.h framing, big-endian integers; the numbers,
 * REPL_TLV_* and REPL_MSG_*, in sync/msg.h):
 *
 *   REPL_TLV_CONN        exactly 64 bytes: a connection, added or updated
 *                          0 family u8 (4 or 6)    1 proto u8 (6, 17, 132)
 *                          2 state u8 (enum conn_state: TCP: SYN..CLOSED,
 *                            UDP and SCTP: CONN_UDP)
 *                          3 flags u8 (REPL_F_*; unknown bits are kept)
 *                          4 client port u16       6 VIPA port u16
 *                          8 client address, 16 bytes (v4: 4, then zero)
 *                         24 VIPA address, 16 bytes
 *                         40 target address, 16 bytes (the key's family)
 *                         56 target port u16      58 reserved u16, zero
 *                         60 target node u32 (wire_node_id of its name)
 *   REPL_TLV_DEL         exactly 40 bytes: the key of a connection the
 *                        distributor removed: bytes 0..39 as in CONN, with
 *                        bytes 2..3 reserved, zero
 *   REPL_TLV_BULK_BEGIN  exactly 4 bytes: bulk id u32.  A full dump of the
 *                        sender's table follows
 *   REPL_TLV_BULK_END    exactly 8 bytes: bulk id u32, count u32 (CONN
 *                        records the dump held): the dump is complete
 *   REPL_TLV_VIPA        exactly 20 bytes: family u8 (4 or 6), 3 zero bytes,
 *                        address, 16 bytes (v4: 4, then zero)
 *   REPL_TLV_HOFF        exactly 24 bytes: the handoff state (struct conn_hoff)
 *                        of the CONN record right before it, which has
 *                        REPL_F_HANDOFF; the front-end's entries only:
 *                          0 id u32 (never 0)      4 delta u32
 *                          8 tsoff u32            12 peer u32
 *                         16 flags u8 (HOFF_F_*, no other bit)
 *                         17 ws_t i8   18 ws_f i8 (-1..14; -1 none)
 *                         19 role u8 (CONN_HOFF_FE, no other)
 *                         20 ws_c i8 (the client's, -1..14)
 *                         21 reserved, 3 zero bytes
 *                        A CONN with REPL_F_HANDOFF and its HOFF come as a
 *                        pair, in one body, nothing between: a CONN with the
 *                        flag not followed by a HOFF, or a HOFF after
 *                        anything else, is REPL_ERR_FORMAT.  The writer sets
 *                        the flag from hoff.role (clears it for any other
 *                        role); the decoder delivers the pair as one CONN
 *                        record whose hoff it filled (req_end, phase zero).
 *
 * Ports are never zero, addresses never all zero.  Receivers skip TLV types
 * they do not know (REL_TLV_SEQ among them). */
#ifndef CLUSTERD_REPL_H
#define CLUSTERD_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nfq/conn.h"
#include "sync/msg.h"
#include "sync/reliable.h"
#include "sync/tlv.h"

#define REPL_CONN_LEN 64
#define REPL_DEL_LEN 40
#define REPL_BULK_BEGIN_LEN 4
#define REPL_BULK_END_LEN 8
#define REPL_VIPA_LEN 20
#define REPL_HOFF_LEN 24

/* Message types (the wire header's type; reliable state messages; the
 * numbers in sync/msg.h).
 *   UPDATE      any mix of CONN, DEL, BULK_BEGIN and BULK_END, in order
 *   REPORT      a target's connections for a VIPA: CONN records
 *   REPORT_REQ  a new distributor asks targets to report: one VIPA
 *   BULK_REQ    the receiver of an incomplete bulk asks for another: no
 *               records */

/* Largest body: the reliable channel stores the message type in one byte
 * beside the body. */
#define REPL_BODY_MAX (REL_BODY_MAX - 1)

/* Record flags. */
#define REPL_F_HANDOFF	0x01	/* handed off (handoff, doc/architecture.md): the target translates sequences */

enum repl_err {
	REPL_OK = 0,
	REPL_ERR_INVAL = -1,		/* bad argument or record */
	REPL_ERR_TLV = -2,		/* body does not split into TLVs exactly */
	REPL_ERR_FORMAT = -3,		/* a known TLV has the wrong size or a bad value */
	REPL_ERR_FULL = -4,		/* the store is full */
	REPL_ERR_NOTFOUND = -5,		/* no replica for that key */
	REPL_ERR_LIMIT = -6,		/* too many origins in a bulk at once */
	REPL_ERR_STALE = -7,		/* BULK_END of a bulk that was not begun: ignored */
	REPL_ERR_INCOMPLETE = -8,	/* BULK_END: fewer records than its count: no sweep */
};

/* Stable names: "ok", "inval", "tlv", "format", "full", "notfound",
 * "limit", "stale", "incomplete"; "unknown" otherwise. */
const char *repl_err_name(int err);

/* One connection as replicated. */
struct repl_conn {
	struct conn_key key;	/* build with conn_key_set() */
	struct ip_addr taddr;	/* same family as the key */
	uint16_t tport;		/* host order */
	uint32_t target;	/* wire_node_id of the target's name */
	uint8_t state;		/* enum conn_state */
	uint8_t flags;		/* REPL_F_* */
	struct conn_hoff hoff;	/* role CONN_HOFF_FE: replicated (REPL_TLV_HOFF) */
};

/* True if c would encode: family, protocol, state for the protocol, ports,
 * addresses set and of the key's family; for hoff.role CONN_HOFF_FE, a TCP
 * key and a valid hoff (id, flags, window scales as REPL_TLV_HOFF). */
bool repl_conn_valid(const struct repl_conn *c);
/* Fills c from a worker's table entry (flags from e->repl.flags, hoff
 * from e->hoff). */
void repl_conn_from(struct repl_conn *c, const struct conn *e);

/* --- writing a body --- */

/* A tlv_writer over a caller buffer, cap clipped to REPL_BODY_MAX, that
 * counts records.  The put functions return false when the record does not
 * fit (send the body, start a new one) or is invalid: then err is
 * REPL_ERR_INVAL; either way the body is unchanged and the writer still
 * takes records that fit (it never overflows). */
struct repl_writer {
	struct tlv_writer tlv;	/* tlv.len: the body's length */
	unsigned n;		/* records written */
	int err;		/* last refusal of an invalid record, else REPL_OK */
};

void repl_writer_init(struct repl_writer *w, uint8_t *buf, size_t cap);
/* With hoff.role CONN_HOFF_FE, the CONN and its HOFF together, or neither. */
bool repl_put_conn(struct repl_writer *w, const struct repl_conn *c);
bool repl_put_del(struct repl_writer *w, const struct conn_key *k);
bool repl_put_bulk_begin(struct repl_writer *w, uint32_t bulk_id);
bool repl_put_bulk_end(struct repl_writer *w, uint32_t bulk_id, uint32_t count);
bool repl_put_vipa(struct repl_writer *w, const struct ip_addr *vipa);

/* --- reading a body --- */

struct repl_rec {
	uint16_t type;		/* REPL_TLV_* */
	union {
		struct repl_conn conn;		/* CONN (with its HOFF) */
		struct conn_key key;		/* DEL */
		struct {
			uint32_t id, count;	/* count: BULK_END only */
		} bulk;
		struct ip_addr vipa;		/* VIPA */
	};
};

typedef int (*repl_rec_fn)(const struct repl_rec *r, void *arg);

/* Checks the whole body first (TLV framing, exact sizes and valid values of
 * every known TLV; unknown TLVs are skipped), so a bad body delivers
 * nothing; then calls fn (may be NULL) for each record in order.  Returns
 * the number of records, a REPL_ERR_* if the body is bad, or the first
 * negative value fn returned (which stops the walk). */
int repl_decode(const uint8_t *body, size_t len, repl_rec_fn fn, void *arg);

/* --- the replica store --- */

struct repl_store;

/* Most origins with a bulk in progress at once. */
#define REPL_BULK_SLOTS 64

/* NULL when max_entries is 0 or above CONN_TABLE_MAX, or out of memory. */
struct repl_store *repl_store_new(size_t max_entries);
void repl_store_free(struct repl_store *s);
/* conn_table_set_seed() of the underlying table: while empty only. */
int repl_store_set_seed(struct repl_store *s, uint64_t seed0, uint64_t seed1);
size_t repl_store_count(const struct repl_store *s);

/* A CONN from origin at now_ms: inserts or updates (the origin becomes the
 * sender's, the stale mark goes, the idle clock restarts; hoff is kept
 * as given, and lookup, take and foreach return it).  REPL_ERR_INVAL
 * for an invalid record, REPL_ERR_FULL when a new entry finds no room. */
int repl_store_apply_conn(struct repl_store *s, uint32_t origin, const struct repl_conn *c,
			  uint64_t now_ms);
/* A DEL: removes the replica whatever its origin (the last writer owns it).
 * REPL_ERR_NOTFOUND if there was none. */
int repl_store_apply_del(struct repl_store *s, const struct conn_key *k);
/* Marks every replica of origin stale; a second BEGIN of the same origin
 * restarts its bulk.  REPL_ERR_LIMIT when REPL_BULK_SLOTS origins are
 * already in a bulk. */
int repl_store_bulk_begin(struct repl_store *s, uint32_t origin, uint32_t bulk_id);
/* Ends origin's bulk bulk_id: removes its replicas still stale, so the dump
 * replaces what the origin had, and stores the number in *swept (may be
 * NULL).  REPL_ERR_STALE (nothing done) if that bulk is not in progress;
 * REPL_ERR_INCOMPLETE (bulk ended, nothing removed: ask for a new dump) if
 * fewer than count CONNs came from origin during the bulk. */
int repl_store_bulk_end(struct repl_store *s, uint32_t origin, uint32_t bulk_id, uint32_t count,
			size_t *swept);
/* One decoded record from origin (a VIPA record is ignored: REPL_OK). */
int repl_store_apply(struct repl_store *s, uint32_t origin, const struct repl_rec *r,
		     uint64_t now_ms);

/* Copies the replica out (out may be NULL); false if none. */
bool repl_store_lookup(struct repl_store *s, const struct conn_key *k, struct repl_conn *out,
		       uint32_t *origin);
/* REPL_OK or REPL_ERR_NOTFOUND. */
int repl_store_remove(struct repl_store *s, const struct conn_key *k);
/* Lookup and remove: a worker adopts the connection. */
bool repl_store_take(struct repl_store *s, const struct conn_key *k, struct repl_conn *out,
		     uint32_t *origin);
/* Visits every replica (read only); stops when cb returns non-zero and
 * returns that value, 0 when all were visited. */
int repl_store_foreach(struct repl_store *s,
		       int (*cb)(const struct repl_conn *c, uint32_t origin, void *arg), void *arg);
/* Removes every replica of origin (a node gone for good) and any bulk of
 * it in progress; returns the number removed. */
size_t repl_store_expire_origin(struct repl_store *s, uint32_t origin);
/* Replicas nobody will remove: while its origin is up, the origin's DELs
 * and bulks keep a replica true; once it is down, only a worker adopting
 * the flow takes it.  stopped(origin, arg) returns 0 while the origin is up,
 * else when it stopped (ms, the clock of now_ms).  A replica of a stopped
 * origin idle, since its last record or the stop whichever is later, longer
 * than conn_timeout_s() of its state goes: its flow would have expired at
 * the origin too.  Visits at most budget buckets from a cursor (as
 * conn_expire); returns the number removed. */
size_t repl_store_expire(struct repl_store *s, uint64_t now_ms, const struct conn_timeouts *to,
			 size_t budget, uint64_t (*stopped)(uint32_t origin, void *arg), void *arg);

#endif
