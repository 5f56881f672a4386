/* SPDX-License-Identifier: GPL-2.0-or-later */
/* member: where the other nodes' applications listen, from their
 * heartbeats.  Pure table logic.  Whether a node is alive is the CDAT's
 * business (sync/cdat: per-address reachability). */
#ifndef CLUSTERD_MEMBER_H
#define CLUSTERD_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define MEMBER_MAX_LISTEN 64
#define MEMBER_MAX_OWN 32

struct member_listen {
	uint8_t family, proto;	/* AF_INET / AF_INET6 */
	uint16_t port;
	bool listening;
};

struct member_node {
	bool heard;		/* at least one heartbeat since we started */
	uint64_t last_ms;
	uint64_t epoch;
	struct member_listen listen[MEMBER_MAX_LISTEN];
	size_t n_listen;
	uint32_t flags;			/* WIRE_F_* of its last heartbeat */
	struct ip_addr owns[MEMBER_MAX_OWN];	/* VIPAs it says it distributes */
	size_t n_owns;
	struct ip_addr yields[MEMBER_MAX_OWN];	/* VIPAs it gave away */
	size_t n_yields;
};

/* A heartbeat from that node arrived, with its listeners. */
void member_heard(struct member_node *mn, uint64_t epoch, uint64_t now_ms,
		  const struct member_listen *l, size_t nl);
/* Its last heartbeat says it listens there. */
bool member_listening(const struct member_node *mn, uint8_t family, uint8_t proto, uint16_t port);

#endif
