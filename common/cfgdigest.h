/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cfgdigest: a digest of the parts of a configuration every node must share.
 * Pure: buffers in, digest out; no allocation, no globals.
 *
 * Every node puts it in its heartbeats (WIRE_TLV_CFGDIGEST, daemon/dsync.c);
 * a node whose digest differs from ours is shown by `clusterctl status` and
 * logged.  Two nodes with equal digests agree on everything that decides
 * roles, routing and connection state; a digest says nothing about the
 * node-local settings, which may differ freely.
 *
 * Classification of struct cfg (common/config.h), field by field.  A field
 * added to struct cfg or its sub-structs must be classified here, and the
 * encoding below extended for a shared one (tests/unit/test_cfgdigest.c
 * then needs a new golden digest: the encoding version goes up).
 *
 *   Shared (in the digest):
 *     cluster_name               the cluster's identity
 *     sync_group, sync_port      where the sync channel talks (a node with
 *                                another group falls back to unicast, one
 *                                with another port is never heard)
 *     sync_mode, sync_interval_ms  when replication sends: a backup must
 *                                hold what the distributor's mode promises
 *     heartbeat_ms, retry_threshold  failure detection: the CDAT's votes
 *                                and dead intervals assume equal timers
 *     tcp_syn/est/fin_timeout, udp_timeout  a replica expires by the
 *                                backup's own timeouts (daemon/drepl.c):
 *                                a shorter one breaks idle flows at takeover
 *     nodes: name, and each address in order: ip, prefix, mtu, type, cos,
 *                                retry (the CDAT's entries; `retry` as
 *                                resolved, the cluster default included)
 *     vipas: address, alternate address (has_alt, alt), preempt,
 *            distributors (node, own target list with weights),
 *            services: port, protocol, target_port, scheduler, targets with
 *                      weights, handoff (on/off; when on: protocol,
 *                      timeout_ms, request_timeout_ms, max_request, and the
 *                      rules: host, path_prefix, targets with weights)
 *   Node-local (not in it):
 *     path, node_name, self      which file and which node this is
 *     key_file                   a path on this host; the key itself is
 *                                proved by every datagram's MAC
 *     sync_ifname                a device name of this host
 *     workers, queue_base, queue_maxlen, conn_max  this host's threads,
 *                                NFQUEUE numbers and memory
 *     manage_rules, fastpath, control_socket  how this host is run (fastpath:
 *                                whether its replies are rewritten by nft
 *                                rules or queued; the wire is the same)
 *     cfg_vipa.ifname            a device name of this host
 *     every `line`               where a setting is in this file
 *     metrics_addr, metrics_port  the metrics section: this host's endpoint
 *     (log settings, should the file get any: this host's)
 *
 * Order of list entries (decided by what the daemon's behaviour depends on):
 *   counts:  nodes (their order is the node indexes, and the CDAT's
 *            coordinator is the first node not down in that order), a
 *            node's addresses (order of preference), a VIPA's distributors
 *            (order of preference: who holds the VIPA and its alternate),
 *            handoff rules (the first match wins);
 *   ignored: VIPAs (known by address everywhere, on the wire too),
 *            a VIPA's services (known by protocol and port), every target
 *            list (maglev's table depends on the set of names and weights,
 *            the candidates are ordered by rendezvous hashing; round robin
 *            and least-conn are decided by each node alone).  These are
 *            encoded sorted (VIPAs by family and address, services by
 *            protocol and port, targets by node index), so that two files
 *            listing them in another order agree.
 *
 * The encoding (version 1), hashed with unkeyed BLAKE2b to CFGDIGEST_LEN
 * bytes; integers big-endian, no padding, nothing copied from a struct:
 *   "clusterd-cfgdigest-1"                    20 bytes
 *   str cluster_name, addr sync_group, u16 sync_port, u8 sync_mode
 *   (0 every-update, 1 periodic, 2 on-event), u32 sync_interval_ms,
 *   u32 heartbeat_ms, u32 retry_threshold, u32 tcp_syn_timeout,
 *   u32 tcp_est_timeout, u32 tcp_fin_timeout, u32 udp_timeout
 *   u32 n_nodes, per node: str name, u32 n_addrs, per address: addr ip,
 *       u32 prefix, u32 mtu, str type, u32 cos, u32 retry
 *   u32 n_vipas, per VIPA (sorted): addr address, u8 has_alt, [addr alt],
 *       u8 preempt, u32 n_dists, per distributor: u32 node, u8 own list,
 *       [targets], u32 n_svcs, per service (sorted): u16 port, u8 protocol,
 *       u16 target_port, u8 scheduler (0 maglev, 1 round-robin,
 *       2 least-conn), targets, u8 handoff, [when handoff: u8 protocol
 *       (0 http, 1 tls), u32 timeout_ms, u32 request_timeout_ms,
 *       u32 max_request, u32 n_rules, per rule: str host, str path_prefix,
 *       targets]
 *   targets: u32 n, per target (sorted by node): u32 node index, u32 weight
 *   str: u32 length, the bytes;  addr: u8 4 / 6 / 0 (unset), then 4 / 16 /
 *   no bytes. */
#ifndef CLUSTERD_CFGDIGEST_H
#define CLUSTERD_CFGDIGEST_H

#include <stdint.h>

#include "common/config.h"

#define CFGDIGEST_LEN 16
#define CFGDIGEST_HEX (2 * CFGDIGEST_LEN + 1)	/* hex and its NUL */

/* The digest of c's shared parts. */
void cfgdigest_compute(const struct cfg *c, uint8_t out[CFGDIGEST_LEN]);

/* dg in lower-case hex; returns out. */
char *cfgdigest_hex(const uint8_t dg[CFGDIGEST_LEN], char out[CFGDIGEST_HEX]);

#endif
