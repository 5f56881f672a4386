/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats: per-worker packet counters.  Each worker writes only its own array
 * (relaxed atomics so readers never see torn values); the control socket sums
 * them when asked. */
#ifndef CLUSTERD_STATS_H
#define CLUSTERD_STATS_H

#include <stdint.h>

#define STATS_LIST(X)                                                          \
	X(RX, "packets.received")                                              \
	X(REWRITTEN, "packets.rewritten")                                      \
	X(ACCEPTED, "packets.accepted")          /* passed unchanged */        \
	X(DROPPED, "packets.dropped")                                          \
	X(REPLIES, "packets.replies_sent")       /* RST / ICMP we answered */  \
	X(ICMP_FWD, "packets.icmp_errors_forwarded")                           \
	X(UNMATCHED, "packets.unmatched")        /* queued, no service: accepted */ \
	X(CONN_NEW, "conns.created")                                           \
	X(CONN_ADOPTED, "conns.adopted")         /* mid-flow, re-hashed by maglev */ \
	X(CONN_EXPIRED, "conns.expired")                                       \
	X(CONN_REUSED, "conns.reused")           /* new SYN on a closed entry */ \
	X(CONN_FROM_REPLICA, "conns.from_replica") /* taken over from the replica */ \
	X(CONN_SYN_STATELESS, "conns.syn_stateless") /* SYN routed by maglev, no entry */ \
	X(CONN_EMBRYO_CREATED, "conns.embryonic_created") /* SYN entry (rr, least-conn) */ \
	X(CONN_EMBRYO_EVICTED, "conns.embryonic_evicted") /* oldest SYN entry made room */ \
	X(CONN_UDP_EVICTED, "conns.udp_evicted") /* idle UDP entry made room */ \
	X(CONN_UNTRACKED, "conns.untracked")     /* maglev, table full: no entry */ \
	X(D_MALFORMED, "drops.malformed")                                      \
	X(D_FRAGMENT, "drops.fragment")                                        \
	X(D_NO_CONN, "drops.no_conn")                                          \
	X(D_NO_TARGET, "drops.no_target")                                      \
	X(D_TABLE_FULL, "drops.table_full")                                    \
	X(D_UNSETTLED, "drops.unsettled")        /* mid-flow, targets not all heard yet */ \
	X(D_MANGLE, "drops.mangle_error")                                      \
	X(D_REPLY_FAIL, "drops.reply_send_failed")                             \
	X(D_ICMP_RATE, "drops.icmp_rate_limited") /* ICMP errors over the worker's rate */ \
	X(M_SHORT, "malformed.short")                                          \
	X(M_VERSION, "malformed.version")                                      \
	X(M_HDRLEN, "malformed.header_length")                                 \
	X(M_TOTLEN, "malformed.total_length")                                  \
	X(M_EXTHDR, "malformed.ext_header")                                    \
	X(M_L4SHORT, "malformed.l4_short")                                     \
	X(M_L4HDR, "malformed.l4_header")                                      \
	X(H_SYN_COOKIES, "handoff.syn_cookies_sent")                           \
	X(H_COOKIE_INVALID, "handoff.cookie_invalid") /* ACK with no slot, no valid cookie */ \
	X(H_ACCEPTED, "handoff.accepted")        /* handshake completed into a slot */ \
	X(H_REQ_BYTES, "handoff.request_bytes")  /* request bytes buffered */  \
	X(H_BAD_REQUEST, "handoff.bad_request")  /* 400 (TLS: RST) */          \
	X(H_TOO_LARGE, "handoff.too_large")      /* head over max_request: 400 */ \
	X(H_REQ_TIMEOUT, "handoff.request_timeout") /* 408 */                  \
	X(H_NO_TARGET, "handoff.no_target")      /* 503: no candidate, or none took it */ \
	X(H_SLOT_EVICTED, "handoff.slot_evicted") /* oldest buffering slot made room */ \
	X(H_SLOT_FULL, "handoff.slot_full")      /* every slot handing off: ACK dropped */ \
	X(H_CLIENT_GONE, "handoff.client_gone")  /* RST before the handoff completed */ \
	X(H_HELD, "handoff.held")                /* client packets kept while handing off */ \
	X(H_HELD_SENT, "handoff.held_sent")      /* ... sent on once the target took it */ \
	X(H_HELD_DROPPED, "handoff.held_dropped") /* ... beyond what a slot keeps: dropped */ \
	X(H_REQUESTS, "handoff.requests")        /* requests handed to the main thread */ \
	X(H_ESTABLISHED, "handoff.established")  /* FE: a target took one: forwarding */ \
	X(H_ORPHAN_ACK, "handoff.orphan_acks")   /* a target's ACK found no slot */ \
	X(H_FORWARDED, "handoff.forwarded")      /* FE: client packets translated */ \
	X(H_FWD_BYTES, "handoff.forwarded_payload_bytes") /* FE: client payload bytes */ \
	X(H_TGT_CLAIMED, "handoff.tgt_claimed")  /* TGT: SYN-ACK of an injected SYN */ \
	X(H_TGT_REPLAYED, "handoff.tgt_replayed") /* TGT: ACK + request replayed again */ \
	X(H_TGT_XLATED, "handoff.tgt_translated") /* TGT: replies translated */ \
	X(H_TGT_BYTES, "handoff.tgt_payload_bytes") /* TGT: response payload bytes sent */ \
	X(H_TGT_SWALLOWED, "handoff.tgt_swallowed") /* TGT: SYN-ACK and ACK of the replay */ \
	X(H_TGT_NO_STATE, "handoff.tgt_no_state") /* TGT: reply with no entry: plain rewrite (SYN-ACK: dropped) */ \
	X(H_ENDED, "handoff.ended")              /* entries ended by the other end */ \
	X(H_SENT_LOCKED, "handoff.sent_outbox_full") /* sent at once: the outbox was full */ \
	X(S_INIT, "sctp.inits")                  /* DIST: INITs routed (new associations) */ \
	X(S_INIT_RETRANS, "sctp.init_retransmits") /* DIST: INITs of a known association */ \
	X(S_RESTART, "sctp.restarts")            /* DIST: INITs restarting an association */ \
	X(S_COLLISION, "sctp.init_collisions")   /* DIST: the client's INIT met the target's */ \
	X(S_FORWARDED, "sctp.forwarded")         /* DIST: packets of known associations */ \
	X(S_ALT, "sctp.via_alternate")           /* DIST: ... of which to the alternate address */ \
	X(S_HINTED, "sctp.unknown_tag_routed")   /* DIST: tag not learnt yet: the INIT's target */ \
	X(S_NO_STATE, "sctp.no_state")           /* DIST: packets with no association */ \
	X(S_NO_STATE_HELD, "sctp.no_state_held") /* ... or no live target: dropped, grace not over */ \
	X(S_NOT_READY, "sctp.not_ready")         /* ... dropped: this node is not ready */ \
	X(S_ABORTS, "sctp.aborts_sent")          /* DIST: ABORTs (M bit, Missing State) sent */ \
	X(S_TARGET_GONE, "sctp.target_gone")     /* DIST: its target died: removed (ABORT) */ \
	X(S_ENDED, "sctp.ended")                 /* DIST: ABORT / SHUTDOWN COMPLETE from the client */ \
	X(S_REPLACED, "sctp.replaced")           /* DIST: older association gone after a restart */ \
	X(S_EXPIRED, "sctp.expired")             /* DIST: idle associations removed */ \
	X(S_INIT_ACK, "sctp.init_acks_rewritten") /* TGT: INIT ACK: VIPA addresses listed */ \
	X(S_TGT_INIT, "sctp.target_inits")       /* TGT: INIT sent by the target's stack */ \
	X(S_TGT_GONE, "sctp.target_ended")       /* TGT: ABORT / SHUTDOWN COMPLETE from the stack */ \
	X(S_TGT_XLATED, "sctp.target_rewritten") /* TGT: packets sent as the VIPA */ \
	X(S_LOCAL, "sctp.local")                 /* TGT: to this node itself (the probe): passed */ \
	X(D_SCTP_MALFORMED, "drops.sctp_malformed") /* chunks that do not parse */ \
	X(D_SCTP_WORKER, "drops.sctp_wrong_worker") /* SCTP queued to a worker without the table */ \
	X(D_SCTP_REWRITE, "drops.sctp_rewrite")  /* INIT ACK that cannot be rewritten */ \
	X(F_ADDS, "fastpath.adds")               /* flows put into the kernel's map */ \
	X(F_DELS, "fastpath.dels")               /* ... taken out (end, reuse, expiry) */ \
	X(F_BATCHES, "fastpath.batches")         /* batches of changes sent */ \
	X(F_BATCH_ERRORS, "fastpath.batch_errors") /* ... the kernel refused (lost whole) */ \
	X(F_PENDING_FULL, "fastpath.pending_full") /* change not queued: too many waiting */ \
	X(F_REQUEUED, "fastpath.requeued")       /* packets of a flow in the map, queued anyway */ \
	X(F_READDS, "fastpath.readds")           /* ... so put in again (1 s after the last) */ \
	X(F_RESYNCED, "fastpath.resynced")       /* put in again: the rules were reinstalled */ \
	X(F_ALIVE_CHECKS, "fastpath.alive_checks") /* idle entries whose map element was asked */ \
	X(F_ALIVE_KEPT, "fastpath.alive_kept")   /* ... still in the map: kept */ \
	X(F_ALIVE_ERRORS, "fastpath.alive_errors") /* ... no answer: kept */ \
	X(Q_ENOBUFS, "queue.enobufs")            /* netlink socket overran */  \
	X(Q_VERDICT_ERR, "queue.verdict_errors")                               \
	X(Q_TOO_BIG, "queue.payload_truncated")

enum stats_id {
#define STATS_ENUM(id, name) STAT_##id,
	STATS_LIST(STATS_ENUM)
#undef STATS_ENUM
	STAT__MAX
};

struct stats {
	uint64_t v[STAT__MAX];
};

static inline void stats_inc(struct stats *s, enum stats_id id)
{
	__atomic_fetch_add(&s->v[id], 1, __ATOMIC_RELAXED);
}

static inline void stats_add(struct stats *s, enum stats_id id, uint64_t n)
{
	__atomic_fetch_add(&s->v[id], n, __ATOMIC_RELAXED);
}

static inline uint64_t stats_get(const struct stats *s, enum stats_id id)
{
	return __atomic_load_n(&s->v[id], __ATOMIC_RELAXED);
}

static inline const char *stats_name(enum stats_id id)
{
	static const char *const names[] = {
#define STATS_NAME(id, name) name,
		STATS_LIST(STATS_NAME)
#undef STATS_NAME
	};
	return id < STAT__MAX ? names[id] : "?";
}

#endif
