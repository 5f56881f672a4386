/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msg: every message type and every TLV type of the sync channel, in one
 * table, each with a stable name for logs and stats.  The numbers are
 * defined here only; wire.h, reliable.h, cdat.h and repl.h describe the
 * layouts.  Two rows with one number do not compile (the switches of
 * msg_type_name / msg_tlv_name would hold a case twice).
 *
 * Message types (the wire header's type byte): 1..15 best effort; 16..127
 * reliable state messages, whose body starts with a REL_TLV_SEQ: 16..31 the
 * CDAT's, 32..47 the connection table's, 48..63 handoff's (hoffmsg.h),
 * 64..79 SCTP associations' (sctpmsg.h).
 *
 * TLV types: 0x00xx datagram (wire.h), 0x01xx reliable channel
 * (reliable.h), 0x02xx CDAT (cdat.h), 0x03xx replication (repl.h), 0x04xx
 * handoff (hoffmsg.h), 0x05xx SCTP associations (sctpmsg.h).
 * Receivers skip TLV types they do not know, so new ones need no version
 * bump. */
#ifndef CLUSTERD_MSG_H
#define CLUSTERD_MSG_H

/* X(name, number, "stats/log name") */
#define MSG_TYPES(X) \
	X(WIRE_HEARTBEAT, 1, "heartbeat") \
	X(WIRE_LISTEN, 2, "listen")	/* reserved */ \
	X(WIRE_HEARTBEAT_ACK, 3, "heartbeat_ack") \
	X(WIRE_REL_CTRL, 4, "rel_ctrl") \
	X(CDAT_MSG_REPORT, 16, "cdat_report") \
	X(CDAT_MSG_PROPOSE, 17, "cdat_propose") \
	X(CDAT_MSG_ACK, 18, "cdat_ack") \
	X(CDAT_MSG_COMMIT, 19, "cdat_commit") \
	X(REPL_MSG_UPDATE, 32, "repl_update") \
	X(REPL_MSG_REPORT, 33, "repl_report") \
	X(REPL_MSG_REPORT_REQ, 34, "repl_report_req") \
	X(REPL_MSG_BULK_REQ, 35, "repl_bulk_req") \
	X(HOFF_MSG_REQ, 48, "hoff_req") \
	X(HOFF_MSG_ACK, 49, "hoff_ack") \
	X(HOFF_MSG_NAK, 50, "hoff_nak") \
	X(HOFF_MSG_END, 51, "hoff_end") \
	X(SCTP_MSG_TAG, 64, "sctp_tag") \
	X(SCTP_MSG_GONE, 65, "sctp_gone") \
	X(SCTP_MSG_ASSOC, 66, "sctp_assoc")

#define MSG_TLVS(X) \
	X(WIRE_TLV_NODE, 0x001, "node") \
	X(WIRE_TLV_LISTEN, 0x002, "listen") \
	X(WIRE_TLV_ECHO, 0x003, "echo") \
	X(WIRE_TLV_FLAGS, 0x004, "flags") \
	X(WIRE_TLV_OWN, 0x005, "own") \
	X(WIRE_TLV_YIELD, 0x006, "yield") \
	X(WIRE_TLV_SRC, 0x007, "src") \
	X(WIRE_TLV_SUSPECT, 0x008, "suspect") \
	X(WIRE_TLV_RCPTS, 0x009, "rcpts")	/* sync/hbgroup.h */ \
	X(WIRE_TLV_GECHO, 0x00a, "gecho")	/* sync/hbgroup.h */ \
	X(WIRE_TLV_GALIVE, 0x00b, "galive")	/* sync/hbgroup.h */ \
	X(WIRE_TLV_GSEQ, 0x00c, "gseq")	/* sync/hbgroup.h */ \
	X(WIRE_TLV_CFGDIGEST, 0x00d, "cfgdigest")	/* common/cfgdigest.h */ \
	X(REL_TLV_SEQ, 0x100, "rel_seq") \
	X(REL_TLV_ACK, 0x101, "rel_ack") \
	X(REL_TLV_NACK, 0x102, "rel_nack") \
	X(REL_TLV_ALIVE, 0x103, "rel_alive") \
	X(CDAT_TLV_NODE, 0x200, "cdat_node") \
	X(CDAT_TLV_ADDR, 0x201, "cdat_addr") \
	X(CDAT_TLV_VERSION, 0x202, "cdat_version") \
	X(CDAT_TLV_DIGEST, 0x203, "cdat_digest") \
	X(CDAT_TLV_PART, 0x204, "cdat_part") \
	X(REPL_TLV_CONN, 0x300, "repl_conn") \
	X(REPL_TLV_DEL, 0x301, "repl_del") \
	X(REPL_TLV_BULK_BEGIN, 0x302, "repl_bulk_begin") \
	X(REPL_TLV_BULK_END, 0x303, "repl_bulk_end") \
	X(REPL_TLV_VIPA, 0x304, "repl_vipa") \
	X(REPL_TLV_HOFF, 0x305, "repl_hoff") \
	X(HOFF_TLV_PARAMS, 0x400, "hoff_params") \
	X(HOFF_TLV_DATA, 0x401, "hoff_data") \
	X(HOFF_TLV_ACK, 0x402, "hoff_ack") \
	X(HOFF_TLV_END, 0x403, "hoff_end") \
	X(SCTP_TLV_TAG, 0x500, "sctp_tag") \
	X(SCTP_TLV_GONE, 0x501, "sctp_gone") \
	X(SCTP_TLV_UPDATE, 0x502, "sctp_update") \
	X(SCTP_TLV_DELETE, 0x503, "sctp_delete") \
	X(SCTP_TLV_BULK_BEGIN, 0x504, "sctp_bulk_begin") \
	X(SCTP_TLV_BULK_END, 0x505, "sctp_bulk_end")

#define MSG_ENUM_(name, num, str) name = num,
enum msg_type {
	MSG_TYPES(MSG_ENUM_)
	/* ranges, not types */
	WIRE_STATE_MIN = 16,	/* reliable state messages */
	WIRE_STATE_MAX = 127,
	MSG_CDAT_MIN = 16,
	MSG_CDAT_MAX = 31,
	MSG_REPL_MIN = 32,
	MSG_REPL_MAX = 47,
	MSG_HOFF_MIN = 48,
	MSG_HOFF_MAX = 63,
	MSG_SCTP_MIN = 64,
	MSG_SCTP_MAX = 79,
};

enum msg_tlv {
	MSG_TLVS(MSG_ENUM_)
};
#undef MSG_ENUM_

#define MSG_CASE_(name, num, str) case name: return str;
/* "unknown" for a number not in the table. */
static inline const char *msg_type_name(unsigned type)
{
	switch (type) {
	MSG_TYPES(MSG_CASE_)
	}
	return "unknown";
}

static inline const char *msg_tlv_name(unsigned type)
{
	switch (type) {
	MSG_TLVS(MSG_CASE_)
	}
	return "unknown";
}
#undef MSG_CASE_

#endif
