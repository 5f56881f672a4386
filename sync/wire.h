/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire: the authenticated cluster message format.  Pure: buffers in,
 * results out; no sockets, no allocation, no globals.
 *
 * A message is a fixed header, a body of typed TLVs and a MAC trailer:
 *
 *   0      magic    u32  "CLD1"
 *   4      version  u8   WIRE_VERSION
 *   5      type     u8   enum wire_type
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
 *   44     body     TLVs {type u16, len u16, value, zero padding to 4}
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

#define WIRE_MAGIC 0x434c4431u	/* "CLD1" */
#define WIRE_VERSION 2
#define WIRE_HDR_LEN 44
#define WIRE_MAC_LEN 32
/* Whole datagram, MAC included: fits one 1500-byte frame with the IPv6 and
 * UDP headers (1460).  Version 2 grew the header by 12 bytes and WIRE_MAX
 * with it, so that bodies (REL_BODY_MAX, CDAT_BODY_MAX) kept their size. */
#define WIRE_MAX 1412
#define WIRE_TLV_HDR_LEN 4
#define WIRE_LISTEN_LEN 8
#define WIRE_REPLAY_WINDOW 64

/* Message types.  1..15: best effort; 16..127: reliable state messages,
 * whose body starts with a REL_TLV_SEQ (sync/reliable.h): 16..31 are the
 * CDAT's (sync/cdat.h), the connection table's come next. */
enum wire_type {
	WIRE_HEARTBEAT = 1,	/* NODE, SRC, LISTEN*, FLAGS, OWN*, YIELD*, CDAT summary,
				 * SUSPECT, ECHO */
	WIRE_LISTEN = 2,	/* reserved */
	WIRE_HEARTBEAT_ACK = 3,	/* NODE, SRC, ECHO: the answer that measures an address */
	WIRE_REL_CTRL = 4,	/* REL_ACK / REL_NACK / REL_ALIVE when no heartbeat is due */
	WIRE_STATE_MIN = 16,
	WIRE_STATE_MAX = 127,
};

enum wire_tlv {
	WIRE_TLV_NODE = 1,	/* sender's name, string without NUL */
	WIRE_TLV_LISTEN = 2,	/* struct wire_listen */
	WIRE_TLV_ECHO = 3,	/* 16 bytes: sent_ms u64, address index u8, 7 pad: echoed back */
	WIRE_TLV_FLAGS = 4,	/* u32: WIRE_F_* of the sender */
	WIRE_TLV_OWN = 5,	/* 20 bytes: family u8 (4|6), 3 pad, address (16): a VIPA the
				 * sender distributes now */
	WIRE_TLV_YIELD = 6,	/* 20 bytes, same layout: a VIPA the sender gave away
				 * (clusterctl failover) and will not distribute */
	WIRE_TLV_SRC = 7,	/* 20 bytes, same layout: the source address the sender
				 * sent this heartbeat or answer from (under the MAC) */
	WIRE_TLV_SUSPECT = 8,	/* n * u32: wire_node_id of the nodes the sender
				 * suspects (every address unreachable from it): its
				 * vote before a node is declared down (sync/cdat.h) */
};

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

/* Encoder.  Any error (no room, bad argument) sets overflow; it sticks and
 * makes wire_finish return 0, so callers check once at the end. */
struct wire_writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

void wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap, const struct wire_hdr *h);
void wire_put(struct wire_writer *w, uint16_t type, const void *val, uint16_t len);
void wire_put_listen(struct wire_writer *w, const struct wire_listen *l);
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

/* Every TLV header and padded value of a body lies inside it, nothing left
 * over: after this, walking the TLVs cannot stop early.  Shared by every
 * decoder of bodies (wire, cdat, repl). */
bool wire_tlv_framing_ok(const uint8_t *p, size_t len);

struct wire_tlv_iter {
	const uint8_t *p, *end;
};

void wire_tlv_begin(struct wire_tlv_iter *it, const struct wire_msg *m);
/* Next TLV; false at the end of the body (or on a malformed TLV, which
 * wire_decode has already refused). */
bool wire_tlv_next(struct wire_tlv_iter *it, uint16_t *type, const uint8_t **val, uint16_t *len);
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
