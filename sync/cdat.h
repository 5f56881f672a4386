/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cdat: the cluster destination address table and its distribution.
 *
 * The table holds every node by name with its addresses in the file's
 * order (messages prefer the lowest class of service: cdat_current_addr);
 * each address carries adapter information that is the same on every node
 * (covered by the digest) and this node's own observations of it (status,
 * misses, smoothed response time; not covered), and each node this node's
 * suspicion and the votes of the others (cdat_agreed).
 *
 * Distribution (cdat, doc/architecture.md) is a pure state machine: every
 * node reports its own entry to the coordinator (the first node of the
 * table, in configuration order, that is not down); the coordinator merges
 * the reports and, when its table differs from the committed one, PROPOSEs
 * it with version = max(versions seen) + 1; nodes ACK with the digest they
 * computed; when every node not down has acked that digest the coordinator
 * sends COMMIT and everyone installs the table.  The functions append what
 * is to be sent to an outbox; the daemon sends it over the reliable channel.
 *
 * Pure: no sockets, no clock (now is a parameter, in ms), no globals.
 * Tables are allocated (not a packet hot path); nothing else is. */
#ifndef CLUSTERD_CDAT_H
#define CLUSTERD_CDAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "sync/msg.h"
#include "sync/tlv.h"
#include "sync/wire.h"

struct cfg;

#define CDAT_MAX_ADDRS 8
#define CDAT_MAX_NODES 256
_Static_assert(CDAT_MAX_ADDRS >= CFG_MAX_NODE_ADDRS && CDAT_MAX_NODES >= CFG_MAX_NODES,
	       "every configuration the parser accepts fits the CDAT");
#define CDAT_NAME_MAX 64	/* with the NUL: names are 1..63 bytes */
#define CDAT_TYPE_MAX 16	/* with the NUL: types are 0..15 bytes */
#define CDAT_DIGEST_LEN 32
/* A table version grows by one per commit: one at or above this bound can
 * only be forged or corrupt, and refused as such (v + 1 must never wrap). */
#define CDAT_VERSION_LIMIT (UINT64_C(1) << 62)
#define CDAT_MAX_EVENTS 64
/* A message body (TLVs) that fits one wire datagram with header and MAC. */
/* Leaves room for the reliable channel's sequence TLV (sync/reliable.h,
 * REL_BODY_MAX) and the byte of message type it stores with the body. */
#define CDAT_BODY_MAX (WIRE_MAX - WIRE_HDR_LEN - WIRE_MAC_LEN - 64)

/* TLVs (sync/tlv.h framing; the numbers, CDAT_TLV_*, in sync/msg.h).  A
 * node entry is flat: a CDAT_TLV_NODE followed by its CDAT_TLV_ADDR TLVs in
 * the file's order; the next NODE starts the next entry.  Receivers skip TLV types they do not know.
 *
 *   CDAT_TLV_NODE     name, 1..63 bytes, printable, no NUL
 *   CDAT_TLV_ADDR     exactly 40 bytes:
 *                       0 family u8 (4 or 6)   1 prefix u8 (<= 32 / 128)
 *                       2 mtu u16 (>= 68)      4 cos u8   5 retry u8 (>= 1)
 *                       6 reserved u16, zero   8 ip 16 bytes (v4: 4, then zero)
 *                      24 type, 16 bytes, NUL-padded, at most 15 used
 *   CDAT_TLV_VERSION  u64 table version
 *   CDAT_TLV_DIGEST   32 bytes
 *   CDAT_TLV_PART     8 bytes: part u16, parts u16, first u16, n_nodes u16:
 *                     this PROPOSE fragment holds entries first.. of a table
 *                     of n_nodes entries sent in `parts` fragments */

#define CDAT_ADDR_LEN 40
#define CDAT_PART_LEN 8

/* Message types (the wire header's type; CDAT_MSG_* in sync/msg.h).  Bodies:
 *   REPORT   VERSION, DIGEST (the sender's committed table), its own entry
 *   PROPOSE  VERSION, PART, entries (one fragment of the whole table)
 *   ACK      VERSION, DIGEST: the digest computed from the proposal; or, to
 *            refuse an older proposal, the receiver's committed ones
 *   COMMIT   VERSION, DIGEST
 * Heartbeats carry VERSION and DIGEST of the committed table
 * (cdat_put_summary / cdat_get_summary). */

enum cdat_err {
	CDAT_OK = 0,
	CDAT_ERR_NOMEM = -1,
	CDAT_ERR_INVAL = -2,	/* bad argument or index */
	CDAT_ERR_TLV = -3,	/* body does not split into TLVs exactly */
	CDAT_ERR_FORMAT = -4,	/* a TLV has the wrong size, a bad value or is misplaced */
	CDAT_ERR_LIMIT = -5,	/* too many nodes or addresses */
	CDAT_ERR_DUP = -6,	/* a node name twice */
	CDAT_ERR_SPACE = -7,	/* does not fit the message */
	CDAT_ERR_UNKNOWN = -8,	/* sender or node not in the table */
	CDAT_ERR_STALE = -9,	/* well-formed but stale or unexpected: ignored */
};

const char *cdat_err_name(int err);

enum cdat_status { CDAT_REACHABLE = 0, CDAT_UNREACHABLE, CDAT_UNKNOWN };

struct cdat_addr {
	/* distributed, identical on every node (covered by the digest): */
	struct ip_addr ip;
	uint8_t prefix;
	uint16_t mtu;
	char type[CDAT_TYPE_MAX];	/* NUL-padded */
	uint8_t cos;
	uint8_t retry;			/* misses before UNREACHABLE */
	/* local observations of THIS node about that address: */
	uint8_t status;			/* enum cdat_status */
	bool outstanding;		/* last heartbeat not answered nor counted yet */
	uint32_t misses;
	uint32_t rtt_us;		/* smoothed normal response time (SRTT) */
	uint32_t rtt_var_us;		/* its mean deviation (RTTVAR) */
	uint64_t last_ok_ms, last_sent_ms;
	uint64_t slot_ms;		/* the schedule slot of the last heartbeat */
};

struct cdat_node {
	char name[CDAT_NAME_MAX];
	struct cdat_addr addrs[CDAT_MAX_ADDRS];
	size_t n_addrs;
	/* local: */
	bool suspected;			/* every address unreachable from here */
	uint64_t suspected_since_ms;
	bool down;			/* suspected, and the voters agreed (cdat_tick) */
	uint64_t down_since_ms;
	/* As a voter: the nodes (bit i: nodes[i] of this table) its last
	 * proven heartbeat, at voted_ms, said it suspects (cdat_set_suspects). */
	bool voted;
	uint64_t voted_ms;
	uint8_t suspects[CDAT_MAX_NODES / 8];
	bool heard;			/* heartbeat summary below is valid */
	uint64_t heard_version, heard_ms;
	uint8_t heard_digest[CDAT_DIGEST_LEN];
};

struct cdat {
	uint64_t version;
	uint8_t digest[CDAT_DIGEST_LEN];	/* kept current by every function that edits */
	struct cdat_node *nodes;		/* configuration order */
	size_t n;
};

/* --- the table --- */

/* Empty table (version 0). */
void cdat_init(struct cdat *t);
void cdat_free(struct cdat *t);
/* The starting table: names and addresses from the file, the per-address keys as the
 * first adapter information.  Version 0, every status UNKNOWN. */
int cdat_from_cfg(struct cdat *t, const struct cfg *c);
/* Deep copy into dst (freed first); local observations included. */
int cdat_copy(struct cdat *dst, const struct cdat *src);
/* What a node learned of its own interface; type may be NULL (unchanged). */
int cdat_set_adapter(struct cdat *t, size_t node, size_t ai, uint8_t prefix, uint16_t mtu,
		     const char *type);
/* crypto_generichash (32 bytes) of the distributed fields, nodes in name
 * order, addresses in the file's order.  cdat_update_digest stores it. */
void cdat_digest(const struct cdat *t, uint8_t out[CDAT_DIGEST_LEN]);
void cdat_update_digest(struct cdat *t);
long cdat_find_node(const struct cdat *t, const char *name);
bool cdat_find_addr(const struct cdat *t, const struct ip_addr *ip, size_t *node, size_t *ai);

/* Encoding into any TLV writer (a datagram's: &wire_writer.body; errors
 * set w->overflow). */
void cdat_put_node(struct tlv_writer *w, const struct cdat_node *n);
/* VERSION, DIGEST and every entry: only for tables that fit one message
 * (PROPOSE fragments larger ones). */
void cdat_put_table(struct tlv_writer *w, const struct cdat *t);
void cdat_put_summary(struct tlv_writer *w, uint64_t version, const uint8_t *digest);

/* Decoding of a body (the TLVs after the wire header).  Strict: every
 * length is checked, known TLVs must have their exact size and valid
 * values, an ADDR must follow a NODE, every entry has 1..CDAT_MAX_ADDRS
 * addresses, names are unique.  Unknown TLVs are skipped. */
int cdat_decode_nodes(const uint8_t *body, size_t len, struct cdat_node *out, size_t cap,
		      size_t *n);
/* Allocates t (cdat_free it); exactly one VERSION and one DIGEST, and the
 * DIGEST must match the decoded entries (so a truncated table fails). */
int cdat_decode_table(const uint8_t *body, size_t len, struct cdat *t);
/* VERSION and DIGEST of a heartbeat or other body; false if either is
 * missing or malformed. */
bool cdat_get_summary(const uint8_t *body, size_t len, uint64_t *version,
		      uint8_t digest[CDAT_DIGEST_LEN]);

/* --- reachability (normal response time and retry threshold) --- */

enum cdat_event_kind {
	CDAT_EV_ADDR_DOWN = 1,
	CDAT_EV_ADDR_UP = 2,
	CDAT_EV_NODE_DOWN = 4,		/* the voters agreed it is down */
	CDAT_EV_NODE_UP = 8,		/* a down node answers again */
	CDAT_EV_NODE_SUSPECT = 16,	/* every address unreachable from here */
	CDAT_EV_NODE_CLEAR = 32,	/* a suspected node answers before it was down */
};

struct cdat_event {
	unsigned kind;
	size_t node, addr;	/* addr is meaningless for NODE events */
};

/* Filled by the functions below when not NULL; zero it before. */
struct cdat_events {
	struct cdat_event ev[CDAT_MAX_EVENTS];
	size_t n;
	bool overflow;
};

/* A heartbeat went to that address at now, for the slot cdat_probe_due
 * returned (0: now). */
void cdat_sent(struct cdat *t, size_t node, size_t ai, uint64_t now, uint64_t slot);
/* The answer to the heartbeat sent at sent_ms came at now: updates the
 * response time (TCP SRTT/RTTVAR), misses = 0, REACHABLE.  Returns the
 * event bits it caused. */
unsigned cdat_answered(struct cdat *t, size_t node, size_t ai, uint64_t sent_ms, uint64_t now,
		       struct cdat_events *ev);
/* A message from that address arrived (the node's own heartbeat): the
 * path works, whatever became of our last heartbeat.  Resets the misses and
 * marks it REACHABLE without touching the response time.  With loss on the
 * link, the node's heartbeats and the answers to ours are two chances per
 * period instead of one. */
unsigned cdat_heard(struct cdat *t, size_t node, size_t ai, uint64_t now, struct cdat_events *ev);
/* How long an answer may take: srtt + 4 * rttvar, within [heartbeat_ms,
 * 2 * heartbeat_ms]. */
uint64_t cdat_timeout_ms(const struct cdat_addr *a, unsigned heartbeat_ms);
/* The silence after which an address counts as `retry` heartbeats lost:
 * retry * heartbeat_ms plus a jitter margin (a quarter heartbeat, at least
 * 20 ms). */
uint64_t cdat_silence_ms(unsigned retry, unsigned heartbeat_ms);
/* Counts a miss for each outstanding heartbeat older than its timeout;
 * after `retry` misses, or cdat_silence_ms() without any sign of life, the
 * address is UNREACHABLE; a node whose addresses are all UNREACHABLE is
 * suspected, and down when the voters agree (cdat_agreed).  Returns the
 * event bits. */
unsigned cdat_tick(struct cdat *t, uint64_t now, unsigned heartbeat_ms, struct cdat_events *ev);
/* The earliest time after now at which cdat_tick would change something by
 * the passing of time alone: an outstanding heartbeat's timeout, a silence
 * reaching cdat_silence_ms, a voter's word going stale while a node is
 * suspected.  UINT64_MAX when nothing is pending.  For a caller that sleeps
 * until its next deadline. */
uint64_t cdat_next_ms(const struct cdat *t, uint64_t now, unsigned heartbeat_ms);

/* Agreement before a node is expelled (cdat, doc/architecture.md): no node is
 * expelled on the word of one; the nodes that still hear each other agree.
 * Each node's proven heartbeats list the nodes it suspects.  The voters
 * about node x are this node and every node that is not x, not down, not
 * suspected by us, and whose proven heartbeat came within
 * cdat_silence_ms(its largest retry) (the nodes we still hear: in a
 * partition, our side).  x is down when a strict majority of the voters
 * suspect it: our suspicion, plus each voter whose last heartbeat listed x.
 * A table of two nodes or fewer decides alone (no third opinion exists).
 * This node is never a voter of its own table entry: it hears no heartbeat
 * of its own.  Counts into *voters and *votes (either may be NULL, our own
 * vote included, as if we suspected x); true when that is a majority. */
bool cdat_agreed(const struct cdat *t, size_t x, uint64_t now, unsigned heartbeat_ms,
		 size_t *voters, size_t *votes);
/* A proven heartbeat from voter `node` listed the nodes ids (wire_node_id of
 * their names; unknown ids are ignored): records them and declares down
 * every suspected node the voters now agree on.  Returns the event bits. */
unsigned cdat_set_suspects(struct cdat *t, size_t node, const uint32_t *ids, size_t n_ids,
			   uint64_t now, unsigned heartbeat_ms, struct cdat_events *ev);
/* Does voter `node`'s last heartbeat list node x? */
bool cdat_suspects(const struct cdat *t, size_t node, size_t x);
/* The node announced it is leaving: down at once, without a vote. */
unsigned cdat_leaving(struct cdat *t, size_t node, uint64_t now, struct cdat_events *ev);

/* The address to send to now: among those not UNREACHABLE, the one of
 * lowest class of service (cos), the first in the file's order among
 * equals; -1 when every one is UNREACHABLE. */
long cdat_current_addr(const struct cdat *t, size_t node);
/* The largest datagram (UDP payload) that fits every path to `node`, by
 * the adapter MTUs of the table: for each of its addresses, the smaller of
 * that address's MTU and the smallest MTU of self's addresses of the same
 * family (self < 0: ignored), minus the IP (20 / 40) and UDP (8) headers;
 * the smallest over its addresses, at most WIRE_MAX.  0 for a bad index. */
size_t cdat_path_max(const struct cdat *t, long self, size_t node);
/* Whether to send a heartbeat to that address now: none outstanding, and
 * its slot reached.  Slots are heartbeat_ms apart (unreachable: probe_every
 * heartbeats), on a fixed grid: a sender that wakes late does not push the
 * next heartbeat later, so `retry` periods of silence mean `retry` lost
 * heartbeats.  Returns the slot (pass it to cdat_sent), 0 if not due. */
uint64_t cdat_probe_due(const struct cdat *t, size_t node, size_t ai, uint64_t now,
			unsigned heartbeat_ms, unsigned probe_every);

/* --- distribution --- */

struct cdat_out {
	char to[CDAT_NAME_MAX];	/* node name */
	uint8_t type;		/* CDAT_MSG_* */
	uint16_t len;
	uint8_t body[CDAT_BODY_MAX];
};

/* Caller-owned array; n is appended to; overflow when a message did not
 * fit (the protocol retries on its timers). */
struct cdat_outbox {
	struct cdat_out *msg;
	size_t cap, n;
	bool overflow;
};

struct cdat_proto {
	struct cdat cur;	/* committed table + local observations: use this one */
	struct cdat work;	/* cur + reload + merged reports: what a coordinator proposes */
	struct cdat_node own;	/* this node's entry as it knows it from its interfaces */
	char self[CDAT_NAME_MAX];
	bool has_self;		/* self is in the table */
	uint64_t max_seen;	/* highest version seen anywhere */
	uint64_t ack_timeout_ms, holdoff_ms, report_every_ms;
	uint64_t changed_ms;	/* last change a coordinator should let settle */
	uint64_t commit_ms;
	/* reporting */
	char reported_to[CDAT_NAME_MAX];
	uint64_t report_ms;
	/* coordinator */
	bool proposing;
	struct cdat prop;
	bool *acked;		/* per prop node */
	uint64_t prop_ms;
	/* participant: fragments being assembled */
	struct cdat pend;
	char pend_from[CDAT_NAME_MAX];
	bool *pend_have;	/* per pend node */
	uint16_t pend_parts;
	uint8_t pend_seen[CDAT_MAX_NODES / 8];
	bool pend_complete;
	/* counters */
	uint64_t n_proposed, n_committed, n_refused, n_bad;
};

/* Defaults: ack_timeout 1000, holdoff 1000, report_every 1000 ms.  A
 * coordinator proposes only holdoff_ms after the last change it saw (a
 * report, a peer's new summary, a commit), so that reports batch into one
 * round; after a partition heals, holdoff should exceed the probe interval
 * of unreachable addresses (probe_every * heartbeat_ms) so that both sides
 * see each other and report before the merged coordinator proposes. */
int cdat_proto_init(struct cdat_proto *p, const struct cdat *table, const char *self,
		    uint64_t now);
int cdat_proto_init_cfg(struct cdat_proto *p, const struct cfg *c, uint64_t now);
void cdat_proto_free(struct cdat_proto *p);
/* A reload: the new file's nodes and addresses, with the adapter
 * information learned so far; the coordinator proposes it. */
int cdat_proto_reload(struct cdat_proto *p, const struct cdat *table, uint64_t now);
/* This node learned its own adapter info; reported at the next tick. */
int cdat_proto_set_own(struct cdat_proto *p, size_t ai, uint8_t prefix, uint16_t mtu,
		       const char *type);
/* Index in cur of the coordinator, or -1. */
long cdat_proto_coordinator(const struct cdat_proto *p);
bool cdat_proto_is_coordinator(const struct cdat_proto *p);
/* A heartbeat summary from a peer. */
void cdat_proto_heard(struct cdat_proto *p, const char *from, uint64_t version,
		      const uint8_t digest[CDAT_DIGEST_LEN], uint64_t now);
/* A REPORT, PROPOSE, ACK or COMMIT body from node `from`. */
int cdat_proto_input(struct cdat_proto *p, const char *from, uint8_t type, const uint8_t *body,
		     size_t len, uint64_t now, struct cdat_outbox *out);
/* Timers: reports, proposals, resends, commits. */
void cdat_proto_tick(struct cdat_proto *p, uint64_t now, struct cdat_outbox *out);
/* When cdat_proto_tick next has timed work (a participant's report repeat,
 * a coordinator's resend or holdoff), UINT64_MAX when none.  It may be
 * early (the tick then does nothing), never late. */
uint64_t cdat_proto_next_ms(const struct cdat_proto *p, uint64_t now);

#endif
