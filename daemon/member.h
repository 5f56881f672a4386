/* member: what this node knows of the others, from their heartbeats: alive
 * or not, and where their applications listen.  Pure table logic with an
 * explicit clock; the daemon feeds it and the CDAT issue extends it with
 * per-address reachability. */
#ifndef CLUSTERD_MEMBER_H
#define CLUSTERD_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMBER_MAX_LISTEN 64

struct member_listen {
	uint8_t family, proto;	/* AF_INET / AF_INET6 */
	uint16_t port;
	bool listening;
};

struct member_node {
	bool heard;		/* at least one heartbeat since we started */
	bool was_alive;		/* as of the daemon's last look: edge detection */
	uint64_t last_ms;
	uint64_t epoch;
	struct member_listen listen[MEMBER_MAX_LISTEN];
	size_t n_listen;
};

struct member {
	struct member_node *nodes;
	size_t n;
	long self;
	uint64_t start_ms;
	uint64_t dead_after_ms;	/* silence after which a node is down */
};

int member_init(struct member *m, size_t n_nodes, long self, uint64_t now_ms,
		uint64_t dead_after_ms);
void member_free(struct member *m);

/* A heartbeat from node n arrived. */
void member_heard(struct member *m, size_t n, uint64_t epoch, uint64_t now_ms,
		  const struct member_listen *l, size_t nl);

/* Alive: self, or heard within dead_after.  `presume` additionally treats a
 * node never heard as alive until dead_after has passed since we started,
 * so that a restarting backup does not grab a VIPA its primary holds. */
bool member_alive(const struct member *m, size_t n, uint64_t now_ms, bool presume);

bool member_listening(const struct member *m, size_t n, uint8_t family, uint8_t proto,
		      uint16_t port);

#endif
