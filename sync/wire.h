/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire: the authenticated cluster message format.  Pure: buffers in,
 * results out; no sockets, no allocation, no globals.
 *
 * A message is a fixed header, a body of typed TLVs and a MAC trailer:
 *
 *   0      magic    u32  "CLD1"
 *   4      version  u8   WIRE_VERSION
 *   5      type     u8   enum msg_type (sync/msg.h)
 *   6      flags    u16
 *   8      sender   u32  wire_node_id(name)
 *   12     epoch    u64  boot id of the sender, grows across restarts
 *   20     seq      u64  per sender+epoch, strictly increasing (one counter
 *                        for every recipient: see recipient)
 *   28     length   u16  header + body, without the MAC
 *   30     reserved u16  zero when sent, ignored when received
 *   32     recipient u32 wire_node_id of the node the datagram is for
 *   36     recipient_epoch u64  the recipient's boot epoch as the sender last
 *                        learnt it; 0 = not known yet
 *   44     body     TLVs (sync/tlv.h): {type u16, len u16, value, zero
 *                        padding to 4}
 *   length MAC      32 bytes: crypto_auth (HMAC-SHA512-256) of header+body
 *
 * The MAC covers the recipient and its epoch: a datagram cannot be relayed
 * to another node (wire_check_recipient refuses it there), nor replayed into
 * a later boot of its recipient (its epoch no longer matches).  So one
 * sequence counter per sender suffices: a replay window only ever sees the
 * datagrams addressed to its own node, gaps included.
 *
 * All integers are in network byte order.  New message types and TLVs are
 * added without a version bump; receivers skip TLVs they do not know.  The
 * version changes only if the header layout does (2: recipient fields). */
#ifndef CLUSTERD_WIRE_H
#define CLUSTERD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/msg.h"
#include "sync/tlv.h"

#define WIRE_MAGIC 0x434c4431u	/* "CLD1" */
#define WIRE_VERSION 2
#define WIRE_HDR_LEN 44
#define WIRE_MAC_LEN 32
/* Whole datagram, MAC included: fits one 1500-byte frame with the IPv6 and
 * UDP headers (1460).  Version 2 grew the header by 12 bytes and WIRE_MAX
 * with it, so that bodies (REL_BODY_MAX, CDAT_BODY_MAX) kept their size. */
#define WIRE_MAX 1412
#define WIRE_LISTEN_LEN 8
#define WIRE_REPLAY_WINDOW 64
/* The recipient of a multicast heartbeat (sync/hbgroup.h): every node of
 * the group.  wire_check_recipient refuses it; its WIRE_TLV_RCPTS says whom
 * it proves itself to.  No node may have this id (the configuration's
 * wire_node_id of a name). */
#define WIRE_GROUP 0xffffffffu

/* Message types (enum msg_type) and the TLV types of this layer (enum
 * msg_tlv: WIRE_TLV_*) are numbered in sync/msg.h.  Bodies:
 *   WIRE_HEARTBEAT      NODE, SRC, LISTEN*, FLAGS, OWN*, YIELD*, CDAT summary,
 *                       SUSPECT, ECHO
 *   WIRE_HEARTBEAT_ACK  NODE, SRC, ECHO: the answer that measures an address
 *   WIRE_REL_CTRL       REL_ACK / REL_NACK / REL_ALIVE when no heartbeat is due
 *   16..127             state messages: REL_TLV_SEQ, then the body
 * TLVs:
 *   WIRE_TLV_NODE     sender's name, string without NUL
 *   WIRE_TLV_LISTEN   struct wire_listen
 *   WIRE_TLV_ECHO     16 bytes: sent_ms u64, address index u8, 7 pad: echoed back
 *   WIRE_TLV_FLAGS    u32: WIRE_F_* of the sender
 *   WIRE_TLV_OWN      20 bytes: family u8 (4|6), 3 pad, address (16): a VIPA
 *                     the sender distributes now
 *   WIRE_TLV_YIELD    20 bytes, same layout: a VIPA the sender gave away
 *                     (clusterctl failover) and will not distribute
 *   WIRE_TLV_SRC      20 bytes, same layout: the source address the sender
 *                     sent this heartbeat or answer from (under the MAC)
 *   WIRE_TLV_SUSPECT  n * u32: wire_node_id of the nodes the sender suspects
 *                     (every address unreachable from it): its vote before a
 *                     node is declared down (sync/cdat.h)
 *   WIRE_TLV_RCPTS    n * 12 bytes: (node id u32, its boot epoch u64) of every
 *                     peer, in a heartbeat to WIRE_GROUP (sync/hbgroup.h)
 *   WIRE_TLV_GECHO    n * 12 bytes: the group heartbeats the sender heard
 *                     since its last one, echoed (sync/hbgroup.h)
 *   WIRE_TLV_GALIVE   n * 20 bytes: (node id u32, REL_TLV_ALIVE value): the
 *                     reliable channels' ALIVEs to the nodes the group
 *                     reaches, in a heartbeat to WIRE_GROUP */

#define WIRE_F_READY 1u		/* holds the replicated tables: may distribute */
#define WIRE_F_LEAVING 2u	/* stopping: count it down now, do not wait for misses */
#define WIRE_OWN_LEN 20

/* A listener announcement.  family is AF_INET or AF_INET6 in memory, 4 or 6
 * on the wire (8 bytes: family u8, proto u8, port u16, listening u8, 3 pad). */
struct wire_listen {
	uint8_t family;
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint16_t port;		/* host byte order */
	uint8_t listening;	/* 1 = an application listens, 0 = it stopped */
};

enum wire_status {
	WIRE_OK = 0,
	WIRE_ERR_SHORT,		/* smaller than header + MAC */
	WIRE_ERR_LONG,		/* larger than WIRE_MAX */
	WIRE_ERR_MAGIC,
	WIRE_ERR_VERSION,
	WIRE_ERR_LENGTH,	/* length field disagrees with the datagram */
	WIRE_ERR_MAC,		/* no key authenticates it */
	WIRE_ERR_REPLAY,	/* seq already seen or older than the window */
	WIRE_ERR_STALE_EPOCH,	/* from an older boot of the sender */
	WIRE_ERR_TLV,		/* body does not split into TLVs exactly */
	WIRE_ERR_RECIPIENT,	/* addressed to another node */
	WIRE_ERR_STALE_RECIPIENT_EPOCH,	/* addressed to another boot of ours */
	WIRE__MAX
};

/* Stable counter names: "ok", "short", "long", "magic", "version", "length",
 * "mac", "replay", "stale_epoch", "tlv", "recipient", "stale_recipient_epoch";
 * "unknown" outside the enum. */
const char *wire_status_name(enum wire_status s);

struct wire_key {
	uint8_t k[32];
};

/* Two keys during a key rotation: sign with key[0], accept either. */
struct wire_keys {
	struct wire_key key[2];
	unsigned n;
};

/* FNV-1a 32 of the node name. */
uint32_t wire_node_id(const char *name);

struct wire_hdr {
	uint8_t type;
	uint16_t flags;
	uint32_t sender;
	uint64_t epoch, seq;
	uint32_t recipient;
	uint64_t recipient_epoch;	/* 0: the sender does not know ours yet */
};

/* Encoder: the header, then a tlv_writer over the rest of buf, up to
 * WIRE_MAX less the MAC.  Any error (no room, bad argument) sets
 * body.overflow; it sticks and makes wire_finish return 0, so callers check
 * once at the end. */
struct wire_writer {
	uint8_t *buf;			/* the datagram; the header at buf */
	struct tlv_writer body;		/* the TLVs, from buf + WIRE_HDR_LEN */
};

void wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap, const struct wire_hdr *h);
static inline void wire_put(struct wire_writer *w, uint16_t type, const void *val, uint16_t len)
{
	tlv_put(&w->body, type, val, len);
}
void wire_put_listen(struct wire_writer *w, const struct wire_listen *l);
/* Bytes left for TLVs (headers included) before the MAC. */
static inline size_t wire_room(const struct wire_writer *w)
{
	return tlv_room(&w->body);
}
/* Writes length and MAC (key[0]); returns the total size to send, or 0 on
 * overflow or when keys holds no key. */
size_t wire_finish(struct wire_writer *w, const struct wire_keys *keys);

/* A decoded message; body points into the caller's buffer. */
struct wire_msg {
	struct wire_hdr hdr;
	const uint8_t *body;
	size_t body_len;
};

/* Checks size, magic, version, length, MAC (constant time, any of keys),
 * TLV framing, in that order.  Does not check the recipient
 * (wire_check_recipient) nor replay (see below).  m is filled only on
 * WIRE_OK. */
enum wire_status wire_decode(const uint8_t *buf, size_t len, const struct wire_keys *keys,
			     struct wire_msg *m);

/* Walks the body's TLVs (tlv_next); wire_decode has checked their framing,
 * so the walk cannot stop early. */
void wire_tlv_begin(struct tlv_iter *it, const struct wire_msg *m);
/* Parses a WIRE_TLV_LISTEN value; false if too short or the family is not 4/6.
 * Longer values are accepted: later versions may append fields. */
bool wire_get_listen(const uint8_t *val, uint16_t len, struct wire_listen *l);

/* Is an authenticated header for us, node self_id in boot self_epoch?
 * WIRE_ERR_RECIPIENT if it names another node, WIRE_ERR_STALE_RECIPIENT_EPOCH
 * if it names a boot epoch of ours other than self_epoch, else WIRE_OK.  A
 * WIRE_OK header with recipient_epoch 0 is unproven (wire_proven): the sender
 * had not heard from this boot of ours yet, so it may be a recording of an
 * earlier exchange replayed at us after a restart; only its sender's epoch
 * is worth learning from it. */
enum wire_status wire_check_recipient(const struct wire_hdr *h, uint32_t self_id,
				      uint64_t self_epoch);
/* The header echoes self_epoch (nonzero): the sender heard from this boot. */
bool wire_proven(const struct wire_hdr *h, uint64_t self_epoch);

/* Per-sender replay window: epoch + highest seq + 64-bit bitmap (bit i is
 * top - i).  A higher epoch resets the window (the sender restarted); a lower
 * epoch is WIRE_ERR_STALE_EPOCH; a seq at or below top - 64 or already seen
 * is WIRE_ERR_REPLAY.  check does not modify; accept records (call it only
 * after a WIRE_OK check, and only for authenticated messages).  Zero-filled
 * is the empty window. */
struct wire_replay {
	uint64_t epoch, top, bitmap;
	bool valid;
};

enum wire_status wire_replay_check(const struct wire_replay *r, uint64_t epoch, uint64_t seq);
void wire_replay_accept(struct wire_replay *r, uint64_t epoch, uint64_t seq);

#endif
