/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hbgroup: the pure parts of multicast heartbeats.  Buffers in, results
 * out; the one allocation is the table of hbg_init.
 *
 * In multicast mode a node sends, each heartbeat period, one heartbeat per
 * own address to the group (recipient WIRE_GROUP).  Nobody answers it
 * alone: each receiver lists what it heard in its own next group heartbeat
 * (WIRE_TLV_GECHO), and the first sender computes the response time as
 * now - sent - held.  So a node sends (its own addresses) datagrams per
 * period, whatever the size of the cluster.
 *
 *  - Echo entries (HBG_ECHO_LEN bytes each, network order): the id of the
 *    node heard (wire_node_id), the index of its address the heartbeat came
 *    from, the low 32 bits of that heartbeat's send time (its own clock, ms:
 *    the token) and how long the echoing node held it (ms, at most 65535).
 *  - Recipient vector (WIRE_TLV_RCPTS, HBG_RCPT_LEN bytes each): every
 *    peer's id and its boot epoch as the sender last learnt it (0: not
 *    yet), under the MAC: hbg_rcpt_check says what the header's recipient
 *    fields say for unicast (proven, another boot of ours, or unproven).
 *  - The table (one slot per node and address): the group heartbeats heard
 *    from each peer address (its token, when, on which interface), which
 *    are both the echoes owed and the coverage: a peer address is covered
 *    by the group while its group heartbeats arrived within the dead
 *    interval; an address not covered is measured by unicast heartbeats. */
#ifndef CLUSTERD_HBGROUP_H
#define CLUSTERD_HBGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HBG_ECHO_LEN 12
#define HBG_RCPT_LEN 12
#define HBG_MAX_ADDRS 8		/* = CDAT_MAX_ADDRS */
#define HBG_HELD_MAX 65535u

struct hbg_echo {
	uint32_t node;		/* wire_node_id of the node heard */
	uint8_t ai;		/* index of its address the heartbeat came from */
	uint16_t held_ms;	/* how long the echoing node held it */
	uint32_t token;		/* low 32 bits of its send time (ms) */
};

/* Writes n entries at out (room bytes); returns the bytes written, 0 if
 * they do not all fit. */
size_t hbg_echo_enc(uint8_t *out, size_t room, const struct hbg_echo *e, size_t n);
/* Number of entries in a value, or -1 when its length is not a multiple
 * of HBG_ECHO_LEN. */
long hbg_echo_count(size_t len);
/* Entry i of a value holding hbg_echo_count(len) entries. */
void hbg_echo_get(const uint8_t *val, size_t i, struct hbg_echo *e);

/* The send time a token stands for, seen at now: false when it would be in
 * the future of now - held_ms or older than max_age_ms (stale or forged: the
 * MAC vouches for the echoing node, not for what it echoes). */
bool hbg_token_time(uint32_t token, uint16_t held_ms, uint64_t now, uint64_t max_age_ms,
		    uint64_t *sent_ms);

enum hbg_rcpt {
	HBG_UNPROVEN = 0,	/* we are not listed, or listed with epoch 0 */
	HBG_PROVEN,		/* listed with self_epoch */
	HBG_STALE,		/* listed with another epoch: for an earlier boot of ours */
	HBG_BAD,		/* the value does not split into entries */
};

/* One entry (id, epoch) at out (HBG_RCPT_LEN bytes). */
void hbg_rcpt_put(uint8_t *out, uint32_t id, uint64_t epoch);
/* What a recipient vector says to node self_id in boot self_epoch.  A
 * missing vector is HBG_UNPROVEN. */
enum hbg_rcpt hbg_rcpt_check(const uint8_t *val, size_t len, uint32_t self_id,
			     uint64_t self_epoch);

/* State messages to the group (WIRE_TLV_GSEQ, HBG_GSEQ_LEN bytes each):
 * when one round of the reliable channels emits the same state blob to
 * several covered peers, it goes once to the group, listing for each of
 * them (peer wire id u32, that peer's reliable seq u64): each receiver
 * hands (its seq, the body) to its channel from the sender as if it had
 * come by unicast. */
#define HBG_GSEQ_LEN 12

void hbg_gseq_put(uint8_t *out, uint32_t id, uint64_t seq);
/* 1 and *seq when the vector lists self_id (the first entry), 0 when it
 * does not, -1 when the value does not split into entries or the seq is 0. */
int hbg_gseq_find(const uint8_t *val, size_t len, uint32_t self_id, uint64_t *seq);

/* Grouping a round's state blobs: same[i] = the first j <= i whose blob
 * (len[j] bytes at blob[j]) equals blob i; same[i] == i for the first of
 * each kind.  Returns the number of kinds. */
size_t hbg_same_blobs(const uint8_t *const *blob, const size_t *len, size_t n, size_t *same);

struct hbg_slot {
	uint64_t heard_ms;	/* last group heartbeat from that address; 0: never */
	uint32_t token;
	int ifindex;		/* where it arrived */
	bool pending;		/* not echoed yet */
	bool echoed;		/* put into a heartbeat of the round in progress */
};

struct hbg {
	struct hbg_slot *slot;	/* [n_nodes * HBG_MAX_ADDRS] */
	size_t n_nodes;
	size_t cursor, next_cursor;	/* rotation when not all fit */
};

/* 0, or -1 when out of memory (g then empty). */
int hbg_init(struct hbg *g, size_t n_nodes);
void hbg_free(struct hbg *g);
/* A group heartbeat from address ai of node arrived at now on ifindex,
 * carrying token: owed an echo, and the address is covered. */
void hbg_heard(struct hbg *g, size_t node, size_t ai, uint32_t token, uint64_t now, int ifindex);
/* Did group heartbeats of that address arrive within dead_ms?  Then *ifindex
 * (may be NULL) is where the last one arrived. */
bool hbg_covered(const struct hbg *g, size_t node, size_t ai, uint64_t now, uint64_t dead_ms,
		 int *ifindex);
/* The echoes owed for heartbeats that arrived on ifindex (0: any), oldest
 * rotation first, at most max; ids[node] names the nodes.  Entries held
 * longer than max_hold_ms are dropped.  Marks them echoed for hbg_round_done. */
size_t hbg_collect(struct hbg *g, int ifindex, uint64_t now, uint64_t max_hold_ms,
		   const uint32_t *ids, struct hbg_echo *out, size_t max);
/* The round's heartbeats are out: what was echoed is no longer owed; what
 * did not fit goes first next time. */
void hbg_round_done(struct hbg *g);

#endif
