/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config: the immutable configuration object.
 *
 * cfg_load() parses /etc/clusterd.conf (libconfig syntax, the contract keys
 * of clusterd.conf(5), daemon keys included), resolves every reference (node
 * names in vipas/services/distributors), validates everything and returns a
 * complete object, or NULL with "file:line: what is wrong" in err.  Nothing
 * outside this module ever sees a half-valid configuration.  A reload builds
 * a new object and swaps it in; objects are never modified after load. */
#ifndef CLUSTERD_CONFIG_H
#define CLUSTERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "common/addr.h"

#define CFG_NAME_MAX 64
#define CFG_ERR_MAX 512

enum cfg_sched { SCHED_MAGLEV = 0, SCHED_ROUND_ROBIN, SCHED_LEAST_CONN };
enum cfg_sync_mode { SYNC_EVERY_UPDATE = 0, SYNC_PERIODIC, SYNC_ON_EVENT };

struct cfg_addr {
	struct ip_addr ip;
	int prefix;		/* default 24 (v4) / 64 (v6) */
	int mtu;		/* default 1500 */
	char type[16];		/* default "ethernet" */
	int cos;		/* default 0 */
	int retry;		/* default: cluster.retry_threshold */
};

/* What the cluster destination address table carries (sync/cdat.h). */
#define CFG_MAX_NODES 256
#define CFG_MAX_NODE_ADDRS 8

struct cfg_node {
	char name[CFG_NAME_MAX];
	struct cfg_addr *addrs;	/* in order of preference, >= 1 */
	size_t n_addrs;
	int line;
};

/* A target of a service: a node index into cfg.nodes and a weight. */
struct cfg_target {
	size_t node;
	unsigned weight;	/* 1..256, default 1 */
};

struct cfg_handoff_rule {
	char host[256];		/* "" = any */
	char path_prefix[256];	/* "" = any */
	struct cfg_target *targets;
	size_t n_targets;
	int line;
};

/* Defaults and bounds of the handoff group's keys (clusterd.conf(5)). */
#define CFG_HOFF_TIMEOUT_MS		1000u	/* per candidate, for its acknowledgement */
#define CFG_HOFF_TIMEOUT_MIN		100u
#define CFG_HOFF_TIMEOUT_MAX		60000u
#define CFG_HOFF_REQ_TIMEOUT_MS		5000u	/* request head not complete by then: 408 */
#define CFG_HOFF_REQ_TIMEOUT_MIN	100u
#define CFG_HOFF_REQ_TIMEOUT_MAX	600000u
#define CFG_HOFF_MAX_REQUEST		16384u	/* larger request heads: 400 */
#define CFG_HOFF_MAX_REQUEST_MIN	1024u
#define CFG_HOFF_MAX_REQUEST_MAX	65536u

struct cfg_service {
	uint16_t port;
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t target_port;	/* default: port */
	enum cfg_sched sched;	/* default maglev */
	struct cfg_target *targets;
	size_t n_targets;
	/* handoff = { ... }: content-aware handoff (tcp only).  The rules are
	 * tried in order, the first match wins; none: the targets above.  No
	 * node is both a distributor of the VIPA and a target (any list). */
	bool handoff;
	enum cfg_hoff_proto { CFG_HOFF_HTTP = 0, CFG_HOFF_TLS } hoff_proto;	/* default http;
					 * tls: rules match the ClientHello's server name, host only */
	unsigned hoff_timeout_ms;	/* default CFG_HOFF_TIMEOUT_MS */
	unsigned hoff_request_timeout_ms;	/* default CFG_HOFF_REQ_TIMEOUT_MS */
	unsigned hoff_max_request;	/* bytes, default CFG_HOFF_MAX_REQUEST */
	struct cfg_handoff_rule *rules;	/* >= 1 when handoff */
	size_t n_rules;
	int line;
};

struct cfg_distributor {
	size_t node;			/* index into cfg.nodes */
	struct cfg_target *targets;	/* own candidate list, NULL = the service's */
	size_t n_targets;
};

struct cfg_vipa {
	struct ip_addr addr;
	/* alternate_address (SCTP association failover, doc/architecture.md):
	 * a second address of the same family, held by the next distributor
	 * after the VIPA's holder; the VIPA's SCTP services answer on it too. */
	struct ip_addr alt;
	bool has_alt;
	char ifname[IF_NAMESIZE];
	bool preempt;			/* default true: the VIPA moves back to a returning
					 * earlier distributor; false: it stays */
	struct cfg_distributor *dists;	/* in order of preference, >= 1 */
	size_t n_dists;
	struct cfg_service *svcs;
	size_t n_svcs;
	int line;
};

struct cfg {
	char path[4096];
	char node_name[CFG_NAME_MAX];	/* -n, else `node`, else host name */
	long self;			/* index of this node in nodes, -1 if not listed */

	/* cluster = { ... } */
	char cluster_name[CFG_NAME_MAX];
	char key_file[4096];
	struct ip_addr sync_group;
	uint16_t sync_port;		/* default 7788 */
	char sync_ifname[IF_NAMESIZE];
	enum cfg_sync_mode sync_mode;
	unsigned sync_interval_ms;	/* default 200 */
	unsigned heartbeat_ms;		/* default 100 */
	unsigned retry_threshold;	/* default 3 */

	/* daemon = { ... } (optional; all have defaults) */
	unsigned workers;		/* 0 = one per CPU (resolved by the daemon) */
	uint16_t queue_base;		/* first NFQUEUE number, default 0 */
	uint32_t queue_maxlen;		/* default 4096 */
	bool manage_rules;		/* default true */
	/* default true: a target's replies of plain TCP/UDP services are rewritten
	 * by static nftables rules (rules/rules.h), not queued */
	bool fastpath;
	char control_socket[108];	/* default /run/clusterd/clusterd.sock */
	unsigned tcp_syn_timeout;	/* seconds, default 30 */
	unsigned tcp_est_timeout;	/* default 900 */
	unsigned tcp_fin_timeout;	/* default 30 */
	unsigned udp_timeout;		/* default 60 */
	unsigned conn_max;		/* per worker, default 262144 */

	/* metrics = { listen = "ADDR:PORT"; } (optional): the Prometheus
	 * endpoint (daemon/metrics).  metrics_port 0: no section, no listener. */
	struct ip_addr metrics_addr;
	uint16_t metrics_port;

	struct cfg_node *nodes;
	size_t n_nodes;
	struct cfg_vipa *vipas;
	size_t n_vipas;
};

/* Loads and validates FILE.  node_override (-n) may be NULL.  On error
 * returns NULL and writes "file:line: message" (or "file: message") to err. */
struct cfg *cfg_load(const char *path, const char *node_override, char *err, size_t errlen);
void cfg_free(struct cfg *c);

/* Index of node NAME, or -1. */
long cfg_node_index(const struct cfg *c, const char *name);

/* Whether node n may receive connections of service sv of vipa vp, by any
 * list: the service's targets, a distributor's own list, a handoff rule's. */
bool cfg_serves(const struct cfg_vipa *vp, const struct cfg_service *sv, size_t n);

/* First address of node n in the given family, or NULL. */
const struct ip_addr *cfg_node_addr(const struct cfg *c, size_t n, int family);
/* The node one of whose addresses is a; -1 if none. */
long cfg_node_by_addr(const struct cfg *c, const struct ip_addr *a);

const char *cfg_proto_name(uint8_t proto);
const char *cfg_sched_name(enum cfg_sched s);
/* "http" or "tls" */
const char *cfg_hoff_proto_name(enum cfg_hoff_proto p);

#endif
