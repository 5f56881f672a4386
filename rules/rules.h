/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rules: the nftables ruleset of one node, as data, and its nft text.
 *
 * Pure: built once from the configuration, then either rendered as an
 * `nft -f` file (--print-rules, the drop-in) or sent as one libnftnl batch
 * by rules/nft.c.  Both read the same matches, so they cannot drift apart.
 *
 * Everything lives in `table inet clusterd`, three base chains of type filter
 * at priority raw (-300), policy accept, and (rules_opts.fastpath_dist) the
 * distributor's fast-path maps, declared ahead of the chains:
 *   prerouting  distributor, fast path (rules_opts.fastpath_dist): for each
 *               plain TCP or UDP service (no handoff) of a VIPA self
 *               distributes, one match with `fastmap` set, placed right
 *               before that service's queue rules (it accepts, so order
 *               matters), rendered as (v4 TCP; UDP without the flags match)
 *                 ip daddr VIPA tcp dport P tcp flags ! fin,syn,rst notrack
 *                 ip daddr set ip saddr . tcp sport map @M tcp dport set TP
 *                 update @M { ip saddr . tcp sport timeout T : ip daddr }
 *                 counter accept
 *               and for IPv6 with the key `tcp sport . ip6 saddr` (the port
 *               first: rules/fpmap.h, rules/nft.c).  M is fpmap_name()'s map,
 *               `map M { type ipv4_addr . inet_service : ipv4_addr; size N;
 *               flags dynamic,timeout; timeout T; }` (v6: `type inet_service
 *               . ipv6_addr : ipv6_addr`), which the workers fill (rules/
 *               fpmap.h); a flow that misses the map falls through to the
 *               queue rules unchanged.  `tcp dport set TP` only where TP
 *               differs from P; T is fp_tcp_timeout_ms or fp_udp_timeout_ms
 *               (0: no timeout), N fp_map_size (0: no size).  The maps are
 *               declared in the order of their matches.  nft 1.0.6 lists
 *               what rules/nft.c installs as this text, but cannot load the
 *               IPv6 rule's text back correctly (rules.c, render_fastmap);
 *               distributor: VIPA traffic and ICMP errors to the VIPA, queued;
 *               with an alternate_address and SCTP services, also SCTP to the
 *               alternate address on each SCTP service port and ICMP errors
 *               to it, queued (the distributor that holds it must see them);
 *               target: traffic to self's addresses on the target port,
 *               notrack only (the flow is asymmetric);
 *   output      target of a handoff service: first `meta mark RULES_INJECT_MARK
 *               notrack accept`, so that what clusterd injects into its own
 *               stack is neither queued nor tracked;
 *               target, fast path (rules_opts.fastpath): replies of a plain
 *               TCP or UDP service (no handoff) from self's addresses on the
 *               target port, rewritten in place by a static rule
 *               `ip saddr A tcp sport TPORT notrack ip saddr set VIPA
 *               tcp sport set PORT counter accept` (the kernel fixes the IP
 *               and L4 checksums, the pseudo-header included, GSO too) and
 *               never queued.  These rules come before every queue rule of
 *               the chain and accept, so nothing can shadow them;
 *               target: the other replies from self's addresses on the
 *               target port (handoff needs its per-connection translation,
 *               SCTP its chunk work; without fastpath, all of them) and
 *               ICMP errors from self (the quoted header needs rewriting
 *               too), queued.  A (family, protocol, target port) that two
 *               services self serves share, which the configuration refuses
 *               (check_ambiguity) but a hand-built one might not, stays
 *               queued for both: a static rule could name one VIPA only,
 *               while the engine (view_find_rev) takes the first service;
 *   input       UDP to the sync port from a source that is no node's address,
 *               dropped: a flood from elsewhere never reaches the daemon's
 *               socket (where each datagram would cost MACs and could push
 *               heartbeats out of the buffer).
 * A queued TCP, UDP or ICMP match becomes W rules, one per worker queue,
 * chosen by a jhash of the client side of the flow with a fixed seed (same on
 * every node and restart).  A queued SCTP match, in either chain, to the VIPA
 * or to its alternate, becomes ONE rule `... queue num queue_base`: every
 * SCTP packet goes to worker 0, which owns the association table, because a
 * multihomed client's paths have different addresses and an address hash
 * would split one association over workers (rules_match_queues()).  No
 * bypass, no fanout: without a reader the kernel drops. */
#ifndef CLUSTERD_RULES_H
#define CLUSTERD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/addr.h"
#include "rules/fpmap.h"

#define RULES_TABLE		"clusterd"
#define RULES_CHAIN_PRE		"prerouting"
#define RULES_CHAIN_OUT		"output"
#define RULES_CHAIN_IN		"input"
#define RULES_PRIORITY		(-300)		/* raw: before conntrack (-200) */
#define RULES_HASH_SEED		0u
#define RULES_WORKERS_MAX	1024u		/* queue numbers are 16 bits */
/* The SO_MARK of clusterd's raw socket on a handoff target: the client's SYN,
 * ACK and request bytes it replays into its own stack (and the RSTs that
 * clear them) carry it.  "CLHD". */
#define RULES_INJECT_MARK	0x434c4844u

struct rules_opts {
	unsigned workers;	/* W >= 1: queues queue_base .. queue_base+W-1 */
	uint16_t queue_base;
	bool native_queue;	/* nft `queue` expression; else xt NFQUEUE via nft_compat */
	bool fastpath;		/* daemon.fastpath: the static reply rewrite (above) */
	/* The distributor's maps and fast rules (above).  The daemon sets it
	 * only with daemon.fastpath, manage_rules and a kernel that can delete
	 * elements safely; --print-rules never (the daemon could not fill the
	 * maps, and nft 1.0.6 would miscompile the IPv6 text). */
	bool fastpath_dist;
	uint32_t fp_tcp_timeout_ms;	/* maps and updates of TCP services */
	uint32_t fp_udp_timeout_ms;	/* of UDP services */
	uint32_t fp_map_size;		/* each map's `size`; 0: none */
};

enum rules_hook {
	RULES_HOOK_PREROUTING = 0,
	RULES_HOOK_OUTPUT,
};

/* One match.  The hook fixes the direction: in prerouting the addresses and
 * port are the destination and the hash covers the source (the client); in
 * output the addresses and port are the source and the hash covers the
 * destination.  proto IPPROTO_ICMP / IPPROTO_ICMPV6 means "the ICMP error
 * types of rules_icmp_errors()", with port 0 and a hash of the address only. */
struct rules_match {
	enum rules_hook hook;
	uint8_t family;			/* AF_INET or AF_INET6 */
	struct ip_addr *addrs;		/* >= 1, all of `family`, no duplicates */
	size_t n_addrs;
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6 */
	uint16_t port;			/* host order; 0 for ICMP */
	bool queue;			/* false: notrack only (or a rewrite) */
	/* Output only, never queued: the fast path's static rewrite of the
	 * source to `to`:to_port (to_port == port: the port is left alone),
	 * then `counter accept`. */
	bool rewrite;
	struct ip_addr to;
	uint16_t to_port;	/* rewrite: the VIPA's port; fastmap: the target port */
	/* Prerouting only, never queued, one VIPA (n_addrs 1): the
	 * distributor's fast rule (above) through map `map` (fpmap_name() of
	 * family, proto, addrs[0], port), whose elements and updates time out
	 * after timeout_ms (0: never); the destination port becomes to_port. */
	bool fastmap;
	char map[FPMAP_NAME_MAX];
	uint32_t timeout_ms;
};

/* The sync port filter of the input chain: one rule per family, dropping UDP
 * to `port` whose source is not in addrs[f] (f 0: IPv4, 1: IPv6), the
 * addresses of every configured node, sorted as nft lists them and without
 * duplicates.  A family without any node address drops all its datagrams
 * to the port.  on is false for an empty ruleset (no node). */
struct rules_sync {
	bool on;
	uint16_t port;
	struct ip_addr *addrs[2];
	size_t n[2];
};

struct rules;

/* Builds the ruleset of node `self` (an index into c->nodes; -1 or out of
 * range gives an empty ruleset).  NULL on allocation failure or bad options
 * (workers 0 or > RULES_WORKERS_MAX, queue numbers past 65535). */
struct rules *rules_build(const struct cfg *c, long self, const struct rules_opts *o);
void rules_free(struct rules *r);

/* nft -f syntax, a complete file: `table inet clusterd { ... }`.  No leading
 * delete line: the daemon replaces the table atomically.  malloc'd, NULL on
 * allocation failure. */
char *rules_render(const struct rules *r);

size_t rules_count(const struct rules *r);
const struct rules_match *rules_get(const struct rules *r, size_t i);
const struct rules_opts *rules_options(const struct rules *r);
const struct rules_sync *rules_sync_filter(const struct rules *r);
/* Whether the output chain starts with `meta mark RULES_INJECT_MARK notrack
 * accept`: self is a target (by any list, a rule's included) of a service
 * with handoff. */
bool rules_inject_accept(const struct rules *r);

/* How many rules a match renders, each with its own queue: 0 when it is not
 * queued (notrack only, a rewrite or a fast rule: one rule without a queue),
 * 1 for SCTP (queue_base, no hash), else workers (queue_base + i where the
 * jhash is i).  The nft text and the libnftnl batch both follow it. */
unsigned rules_match_queues(const struct rules *r, const struct rules_match *m);

/* The ICMP (AF_INET) or ICMPv6 (AF_INET6) error types that are queued, in
 * ascending order; *n gets their count.  NULL for another family. */
const uint8_t *rules_icmp_errors(int family, size_t *n);

#endif
