/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctx: the daemon's top-level context.  The only mutable state outside a
 * function's locals lives here, owned by the main thread except where a
 * field says otherwise. */
#ifndef CLUSTERD_CTX_H
#define CLUSTERD_CTX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/cfgdigest.h"
#include "common/config.h"
#include "common/member.h"
#include "daemon/clock.h"
#include "daemon/peer.h"
#include "daemon/vipaddr.h"
#include "common/view.h"
#include "nfq/conn.h"
#include "nfq/engine.h"
#include "nfq/queue.h"
#include "nfq/stats.h"
#include "sync/cdat.h"
#include "sync/chan.h"
#include "sync/reliable.h"
#include "sync/repl.h"
#include "daemon/connlog.h"
#include "rules/fpmap.h"
#include "sync/wire.h"

struct daemon;
struct rules_nft_sock;

struct worker {
	struct daemon *d;
	unsigned idx;
	uint16_t qnum;
	pthread_t thr;
	bool started;
	struct queue *q;
	/* conns: written by this worker only; read under lock by the control
	 * socket, replication and the other workers (ICMP errors).  The
	 * worker holds it for one packet (or one expiry step) at a time, and
	 * nobody waits for a worker's lock while holding another's. */
	pthread_mutex_t lock;
	struct conn_table *conns;
	/* view->cfg_gen of the configuration whose node indexes the entries'
	 * targets are. */
	uint64_t table_cfg_gen;
	struct stats stats;
	struct engine eng;
	/* Quiescent-state marker for view/config swaps: 0 while the worker
	 * holds no view (blocked in poll), else the generation it read. */
	uint64_t online_gen;
	/* The watchdog's view of it (daemon/notify): passes counts the loop's
	 * rounds, waiting is set while it sleeps in poll for packets (atomic,
	 * written by the worker only). */
	uint64_t passes;
	bool waiting;
	int raw4, raw6;		/* raw sockets for RST / ICMP replies */
	int stop_fd;		/* eventfd: worker_join wakes it out of poll */
	struct connlog *log;	/* what the table did, for replication */
	/* Token bucket of the ICMP errors this worker looks up (worker.c):
	 * thousandths of a token, and when it was last filled. */
	uint64_t icmp_tokens, icmp_fill_ms;
	/* Packets the engine sends while the table's lock is held (handoff's
	 * replays, answers, releases), sent once it is let go (worker.c):
	 * nothing does I/O holding a lock.  This thread's only. */
	struct worker_outbox *outbox;
	/* SCTP: the association table (the SCTP worker only, idx 0: rules/
	 * queue every SCTP packet there; NULL elsewhere), under `lock` like
	 * conns; and room for a packet that grows (engine.out). */
	struct assoc_table *assocs;
	uint8_t *out;
	/* The distributor's fast path (rules/fpmap.h): this worker's own
	 * netlink socket and pending element changes (NULL: none); the rules'
	 * epoch whose maps it filled, and the bucket its refill after a
	 * reinstall has reached (resyncing while it runs); the fpmap counters
	 * already added to stats. */
	struct fpmap *fp;
	uint64_t fp_epoch;
	size_t fp_resync;
	bool fp_resyncing;
	bool fp_urgent;		/* a removal waits: flush it before the verdict */
	struct fpmap_stats fp_seen;
};

/* The sync counters: field, name under "sync." in `clusterctl stats`, in the
 * order shown; XA: an array of n, shown as an object keyed by
 * wire_status_name() from 1.  A line here is all a new counter needs. */
#define SYNC_STATS_LIST(X, XA)                                                   \
	X(tx, "tx")                                                              \
	X(tx_errors, "tx_errors")                                                \
	X(rx, "rx")                                                              \
	X(unknown_sender, "unknown_sender")                                      \
	XA(rejected, WIRE__MAX, "rejected")                                      \
	X(hb_tx, "heartbeats_sent")                                              \
	X(hb_ack_tx, "heartbeat_answers_sent")                                   \
	X(hb_ack_rx, "heartbeat_answers_received")                               \
	X(state_tx, "state_sent")                                                \
	X(state_rx, "state_received")                                            \
	X(ctrl_tx, "control_sent")                                               \
	X(rel_overflow, "reliable_queue_full")                                   \
	X(outbox_overflow, "outbox_overflow")                                    \
	X(cdat_errors, "cdat_refused")                                           \
	/* authenticated, for us, but not echoing our boot epoch (only its       \
	 * sender's epoch is learnt) */                                          \
	X(unproven, "unproven")                                                  \
	/* from an address that is no node's, dropped before the MAC */          \
	X(foreign_source, "foreign_source")                                      \
	/* a heartbeat or answer whose real source is not the one it states      \
	 * (relayed): it measures no path */                                     \
	X(hb_src_mismatch, "heartbeat_source_mismatch")                          \
	/* agreement (sync/cdat.h cdat_agreed): nodes this node suspected,       \
	 * suspicions that ended before the voters agreed (a one-way or passing  \
	 * failure that moved nothing), nodes declared down */                   \
	X(suspected, "nodes_suspected")                                          \
	X(suspect_cleared, "suspicions_cleared")                                 \
	X(declared_down, "nodes_declared_down")                                  \
	/* datagrams larger than the path's adapter MTUs allow (queued before an \
	 * MTU shrank): IP fragments them */                                     \
	X(tx_over_path, "datagrams_over_path_mtu")                               \
	/* multicast mode (sync/hbgroup.h): group heartbeats sent and received,  \
	 * echoes of our heartbeats in them (a path of ours measured), heartbeats\
	 * sent by unicast to a peer address the group does not cover, group     \
	 * sends that failed, group heartbeats for an earlier boot of ours */    \
	X(hb_group_tx, "group_heartbeats_sent")                                  \
	X(hb_group_rx, "group_heartbeats_received")                              \
	X(echo_credited, "group_echoes_credited")                                \
	X(hb_unicast_fallback, "unicast_fallback_heartbeats")                    \
	X(group_tx_errors, "group_tx_errors")                                    \
	X(group_stale, "group_stale_recipient_epoch")                            \
	/* multicast state messages: group datagrams sent, the unicast copies   \
	 * they replaced, received for us, received not listing us (ignored)  */ \
	X(group_state_sent, "group_state_sent")                                  \
	X(group_state_copies_saved, "group_state_copies_saved")                  \
	X(group_state_received, "group_state_received")                          \
	X(group_state_not_listed, "group_state_not_listed")                      \
	/* configuration agreement (common/cfgdigest.h): a node seen with a     \
	 * digest other than ours (once per change), digest TLVs of a wrong     \
	 * length (ignored: the node counts as not reporting one) */            \
	X(cfg_mismatch, "config_mismatches")                                     \
	X(cfg_digest_bad, "config_digest_malformed")

struct sync_stats {
#define SYNC_STATS_FIELD(f, name) uint64_t f;
#define SYNC_STATS_ARRAY(f, n, name) uint64_t f[n];
	SYNC_STATS_LIST(SYNC_STATS_FIELD, SYNC_STATS_ARRAY)
#undef SYNC_STATS_FIELD
#undef SYNC_STATS_ARRAY
};

struct vipa_state {
	bool owned;		/* the address is on our interface */
	char owner[CFG_NAME_MAX];
	time_t since;
	uint64_t changed_ms;	/* wall clock ms of the last take or release */
	/* Gratuitous ARP / unsolicited NA: a few after taking the VIPA (one
	 * can be lost), and again whenever another node claims it (after a
	 * partition the router may have learnt the other node's MAC). */
	unsigned announce_left;
	uint64_t next_announce_ms;
	bool yield;		/* clusterctl failover: we do not distribute it */
	char backup[CFG_NAME_MAX];
	/* The alternate address (cfg_vipa.alt): held by the node after the
	 * owner by the roles rule (the owner itself when it is alone). */
	bool alt_owned;
	char alt_holder[CFG_NAME_MAX];
	unsigned alt_announce_left;
	uint64_t alt_next_announce_ms;
};

struct daemon {
	const char *conf_path;
	const char *node_override;
	const char *state_dir;		/* the boot epoch's file lives there */
	struct ctl_server *ctl;		/* the control socket (daemon/ctl) */
	char sock_path[108];
	bool foreground;

	struct cfg *cfg;
	/* The configuration the current view uses, when a reload could not
	 * build its own view: freed with that view. */
	struct cfg *cfg_retired;
	uint64_t cfg_gen;	/* bumped by every reload (view.h) */
	uint64_t cfg_loaded_ms;	/* daemon_now_ms() of the last (re)load */
	struct view *view;	/* read by workers: atomic load/store */
	uint64_t gen;		/* bumped after every view swap (atomic) */
	struct worker_retired *retired;	/* old views waiting for the workers */
	int stop;		/* workers poll it (atomic) */

	struct worker *workers;
	unsigned n_workers;
	uint16_t queue_base;

	bool native_queue;
	bool rules_installed;
	/* The distributor's fast path: the kernel can have it (rules_nft_probe_destroy);
	 * the installed rules have its maps (atomic, read by the workers);
	 * bumped after every install with maps, once the view matches them,
	 * so that the workers put their flows back into the new (empty) maps. */
	bool fp_dist_ok;
	bool fp_dist;
	uint64_t fp_epoch;
	/* The netlink socket the stats read the fast path's counters on, kept
	 * open (rules/nft.h says why); NULL: one per read. */
	struct rules_nft_sock *fp_ctr;

	/* Everything about each node, indexed like cfg->nodes (daemon/peer.h):
	 * carried across a reload by name. */
	struct peer *peers;		/* [n_peers] */
	size_t n_peers;
	/* The subsystems (daemon/subsys.h), in the order a reload prepares and
	 * commits them; dsync routes state messages by their types. */
	const struct subsys *const *subsys;
	size_t n_subsys;
	struct vipa_state *vipas;	/* [cfg->n_vipas] */
	/* Gratuitous ARP / NA sockets: opened at start, before CAP_NET_RAW is
	 * dropped, for the takeovers that come later. */
	struct vipaddr_ann ann;
	/* Our own listeners, one per view_rev of the current view. */
	struct member_listen self_listen[MEMBER_MAX_LISTEN];
	size_t n_self_listen;
	/* A listener scan the kernel cannot answer for this protocol (tcp, udp,
	 * sctp) was logged: said once, again after the kernel answered. */
	bool scan_unsupported[3];

	struct chan *chan;
	struct dsync_group *group;	/* multicast heartbeats (dsync.c); NULL: unicast */
	/* The digest of our configuration's shared parts (common/cfgdigest.h),
	 * sent in every heartbeat: set by dsync's commit at every (re)load. */
	uint8_t cfg_digest[CFGDIGEST_LEN];
	struct wire_keys keys;
	uint64_t epoch, seq;
	struct sync_stats sync;
	struct cdat_proto cdat;		/* cdat.cur: the committed table + reachability */
	bool cdat_ready;
	/* A reloaded file's table the CDAT protocol could not take yet (out of
	 * memory at commit): dsync retries, the coordinator proposes it then. */
	struct cdat cdat_pending;
	bool cdat_pending_set;

	/* Takeover (takeover, doc/architecture.md).  ready: this node holds the replicated tables
	 * and may distribute; a starting node waits for the bulk of the node
	 * that distributes its VIPAs, or for start_ms + grace when none does. */
	bool ready, leaving;
	/* ready as the workers read it (atomic): an SCTP packet without an
	 * association gets the no-state ABORT only then (nfq/engine.h). */
	bool sctp_ready;
	bool reannounce;		/* a node came back: announce what we hold */
	/* The last takeover: the VIPAs this node took in one step (bit i:
	 * cfg->vipas[i], the first 64), when (wall clock ms), and the first
	 * packet a worker forwarded for one of them (a worker stamps it and
	 * clears `armed`): how long a takeover took to carry traffic, shown by
	 * clusterctl status. */
	struct {
		uint64_t mask, at_ms;
		uint64_t armed, first_fwd_ms;	/* atomic */
		unsigned fwd_vipa;		/* atomic: the index it was for */
	} takeover;
	uint64_t start_ms, leave_ms;

	/* Replication (daemon/drepl).  The replica store is written by the
	 * main thread and taken from by workers: under replica_lock. */
	pthread_mutex_t replica_lock;
	struct repl_store *replica;
	size_t replica_count;		/* atomic: workers skip the lock when 0 */
	uint32_t bulk_id;
	bool in_bulk;
	uint64_t last_repl_ms, last_expire_ms;
	/* Replication counters, shown under "sync.repl." by the field's name
	 * (after "replicas", the store's size), in this order. */
#define DREPL_STATS_LIST(X)                                                       \
	X(records_sent) X(records_received) X(bulks_sent) X(bulks_received)      \
	X(bulks_incomplete) X(reports_sent) X(reports_received) X(log_dropped)   \
	X(store_full) X(backlog_dropped) X(bulk_requests) X(replicas_expired)    \
	X(report_conns_added) X(flushes) X(flush_records)
	struct drepl_stats {
#define DREPL_STATS_FIELD(f) uint64_t f;
		DREPL_STATS_LIST(DREPL_STATS_FIELD)
#undef DREPL_STATS_FIELD
	} repl;

	/* Handoff (daemon/dhand): the workers' rings, the front-end's requests
	 * in flight, the target's pending table (its own mutex); NULL until
	 * dhand_open. */
	struct dhand *hand;
	/* SCTP (daemon/dsctp, daemon/sprobe): NULL until opened. */
	struct dsctp *sctp;
	struct sprobe *probe;
	/* systemd notification (daemon/notify): NULL until notify_open. */
	struct notify *notify;
	/* The Prometheus endpoint (daemon/metrics): NULL until the first
	 * configuration is applied. */
	struct metrics *metrics;

	time_t started;
	uint64_t reloads;
	uint64_t last_hb_ms, last_scan_ms, last_adapters_ms;
	bool view_dirty;
	bool hb_now;		/* heartbeats at the next tick (dsync) */
	bool fatal;		/* stop the main loop now, exit 1 */
};


#endif
