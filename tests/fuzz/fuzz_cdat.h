/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster that fuzz_cdat runs in, shared with the corpus generator so
 * that recorded message streams replay to the same states.
 *
 * Input format: byte 0 picks the node under test (self = FZC_NAMES[b % 3]),
 * then operations until the input ends:
 *   op u8: kind = op & 3, sender = FZC_NAMES[op >> 2 & 3] ("zz" is not in
 *          the table)
 *   dt u8: the clock advances dt * 10 ms first
 *   FZC_INPUT: type u8, len u16, body: cdat_proto_input
 *   FZC_HEARD: version u64, digest 32 bytes: cdat_proto_heard
 *   FZC_TICK:  nothing more: cdat_proto_tick
 *   FZC_OWN:   ai u8, prefix u8, mtu u16: cdat_proto_set_own (type "fz")
 * Integers are big-endian. */
#ifndef CLUSTERD_FUZZ_CDAT_H
#define CLUSTERD_FUZZ_CDAT_H

#include <string.h>

#include "common/config.h"
#include "sync/cdat.h"

enum { FZC_INPUT = 0, FZC_HEARD = 1, FZC_TICK = 2, FZC_OWN = 3 };

#define FZC_NODES 3
#define FZC_T0 1000
static const char *const FZC_NAMES[4] = { "a", "b", "c", "zz" };

/* a: 10.0.0.1 and fd00::1; b: 10.0.0.2; c: 10.0.0.3 */
static inline int fzc_table(struct cdat *t)
{
	static const char *const ips[FZC_NODES][2] = {
		{ "10.0.0.1", "fd00::1" }, { "10.0.0.2", NULL }, { "10.0.0.3", NULL },
	};
	struct cfg_addr addrs[FZC_NODES][2];
	struct cfg_node nodes[FZC_NODES];
	struct cfg c;
	size_t i, j;

	memset(&c, 0, sizeof(c));
	memset(nodes, 0, sizeof(nodes));
	memset(addrs, 0, sizeof(addrs));
	for (i = 0; i < FZC_NODES; i++) {
		strcpy(nodes[i].name, FZC_NAMES[i]);
		nodes[i].addrs = addrs[i];
		for (j = 0; j < 2 && ips[i][j]; j++) {
			struct cfg_addr *a = &addrs[i][j];

			if (!addr_parse(&a->ip, ips[i][j]))
				return -1;
			a->prefix = a->ip.family == AF_INET ? 24 : 64;
			a->mtu = 1500;
			strcpy(a->type, "ethernet");
			a->retry = 3;
			nodes[i].n_addrs++;
		}
	}
	c.nodes = nodes;
	c.n_nodes = FZC_NODES;
	c.retry_threshold = 3;
	cdat_init(t);
	return cdat_from_cfg(t, &c);
}

#endif
