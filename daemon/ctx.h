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

#include "common/config.h"
#include "common/member.h"
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
#include "sync/wire.h"

struct daemon;

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
	int raw4, raw6;		/* raw sockets for RST / ICMP replies */
	struct connlog *log;	/* what the table did, for replication */
	/* Token bucket of the ICMP errors this worker looks up (worker.c):
	 * thousandths of a token, and when it was last filled. */
	uint64_t icmp_tokens, icmp_fill_ms;
};

struct sync_stats {
	uint64_t tx, rx, tx_errors, unknown_sender;
	uint64_t rejected[WIRE__MAX];
	uint64_t hb_tx, hb_ack_tx, hb_ack_rx, state_tx, state_rx, ctrl_tx;
	uint64_t rel_overflow, outbox_overflow, cdat_errors;
	/* unproven: authenticated, for us, but not echoing our boot epoch (only
	 * its sender's epoch is learnt); foreign_source: from an address that is
	 * no node's, dropped before the MAC; hb_src_mismatch: a heartbeat or
	 * answer whose real source is not the one it states (relayed): it
	 * measures no path. */
	uint64_t unproven, foreign_source, hb_src_mismatch;
	/* Agreement (sync/cdat.h cdat_agreed): nodes this node suspected,
	 * suspicions that ended before the voters agreed (a one-way or
	 * passing failure that moved nothing), nodes declared down. */
	uint64_t suspected, suspect_cleared, declared_down;
	/* Datagrams larger than the path's adapter MTUs allow (queued before
	 * an MTU shrank): IP fragments them. */
	uint64_t tx_over_path;
};

/* Reliable channel to one peer (indexed like cfg->nodes). */
struct dsync_peer {
	struct rel_tx *tx;
	struct rel_rx *rx;
	/* The highest boot epoch of the peer seen in an authenticated datagram
	 * addressed to us (0: none yet), sent back as recipient_epoch; never
	 * lowered.  hb_soon: it just grew, send the peer a heartbeat now. */
	uint64_t epoch_seen;
	bool hb_soon;
	/* The largest datagram every path to the peer carries (adapter MTUs
	 * in the CDAT), as last logged; 0 = not yet. */
	size_t path_max;
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
	/* Threads other than the workers and the main thread that read the
	 * workers' tables (conns answers): worker_fini() waits for them
	 * (atomic; see worker_tables_enter()). */
	unsigned table_readers;
	uint16_t queue_base;

	bool native_queue;
	bool rules_installed;

	struct member member;
	bool *drained;		/* [cfg->n_nodes] */
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
	struct wire_keys keys;
	uint64_t epoch, seq;
	struct wire_replay *replay;	/* [cfg->n_nodes] */
	uint32_t *node_ids;		/* wire_node_id of each node */
	size_t n_known;			/* entries in replay / node_ids */
	struct sync_stats sync;
	struct dsync_peer *peers;	/* [n_known] */
	struct cdat_proto cdat;		/* cdat.cur: the committed table + reachability */
	bool cdat_ready;

	/* Takeover (seed 002).  ready: this node holds the replicated tables
	 * and may distribute; a starting node waits for the bulk of the node
	 * that distributes its VIPAs, or for start_ms + grace when none does. */
	bool ready, leaving;
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
	bool *bulk_pending;		/* [n_known]: send that node our whole table */
	bool *bulk_from;		/* [n_known]: a complete bulk came from it */

	/* Replication (daemon/drepl).  The replica store is written by the
	 * main thread and taken from by workers: under replica_lock. */
	pthread_mutex_t replica_lock;
	struct repl_store *replica;
	size_t replica_count;		/* atomic: workers skip the lock when 0 */
	struct drepl_backlog *backlog;	/* [backlog_n]: bodies waiting for the channel */
	size_t backlog_n;
	uint32_t bulk_id;
	bool in_bulk;
	uint64_t last_repl_ms, last_expire_ms;
	struct drepl_stats {
		uint64_t records_sent, records_received, bulks_sent, bulks_received;
		uint64_t bulks_incomplete, reports_sent, reports_received, log_dropped;
		uint64_t store_full, backlog_dropped, bulk_requests, replicas_expired;
		uint64_t report_conns_added;
	} repl;

	time_t started;
	uint64_t reloads;
	uint64_t last_hb_ms, last_scan_ms, last_adapters_ms;
	bool view_dirty;
	bool fatal;		/* stop the main loop now, exit 1 */
};

uint64_t daemon_now_ms(void);
/* CLOCK_REALTIME in ms: for stamps an operator compares with other clocks. */
uint64_t daemon_wall_ms(void);

#endif
