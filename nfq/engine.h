/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine: the verdict for one queued packet.  Pure: given the packet bytes,
 * the worker's connection table and the current routing view, it rewrites the
 * buffer in place and says what to do with it.  No sockets; the queue glue
 * sends the verdict and any reply the engine built. */
#ifndef CLUSTERD_ENGINE_H
#define CLUSTERD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/view.h"
#include "nfq/conn.h"
#include "nfq/stats.h"

enum engine_hook {
	ENGINE_PRE,	/* prerouting: traffic to a VIPA (distributor role) */
	ENGINE_OUT,	/* output: replies leaving a target (target role) */
};

enum engine_verdict {
	ENGINE_ACCEPT,	/* pass unchanged */
	ENGINE_MANGLED,	/* pass the rewritten buffer */
	ENGINE_DROP,
	ENGINE_REPLY,	/* drop, and send the packet built in reply[] */
};

struct engine {
	struct conn_table *conns;	/* this worker's */
	struct stats *stats;		/* this worker's */
	const struct view *view;
	struct conn_timeouts timeouts;
	uint64_t now_ms;
	/* ICMP errors are spread over workers by the outer addresses only, so
	 * the flow they quote may live in another worker's table: this looks
	 * there (NULL: only our own table). */
	bool (*find_other)(void *arg, const struct conn_key *k, struct ip_addr *taddr,
			   uint16_t *tport);
	void *find_other_arg;
	/* Replication (NULL: none).  conn_event: an entry was created or
	 * changed state (ENGINE_CONN_UPDATE) or went (ENGINE_CONN_DELETE);
	 * never about an embryonic entry (CONN_C_EMBRYO): a SYN is logged
	 * with its handshake's end.
	 * find_replica: the entry the previous distributor of the VIPA had for
	 * this flow, taken out of the replica (target, state filled in). */
	void (*conn_event)(void *arg, int kind, const struct conn *c);
	void *conn_event_arg;
	bool (*find_replica)(void *arg, const struct conn_key *k, struct conn *out);
	void *find_replica_arg;
	/* Out: the VIPA the last packet was forwarded for (ENGINE_MANGLED at
	 * ENGINE_PRE), else NULL.  The caller times takeovers with it. */
	const struct cfg_vipa *hit_vipa;
};

enum { ENGINE_CONN_UPDATE = 1, ENGINE_CONN_DELETE = 2 };

#define ENGINE_REPLY_MAX 1280

/* Decides about one packet.  buf may be rewritten in place (same length).
 * csum_notready: the kernel left a partial L4 checksum (NFQA_SKB_CSUMNOTREADY).
 * When ENGINE_REPLY is returned, *reply_len bytes of reply (ENGINE_REPLY_MAX)
 * hold a complete IP packet to send and *reply_to its destination. */
enum engine_verdict engine_packet(struct engine *e, enum engine_hook hook, uint8_t *buf,
				  size_t len, bool csum_notready, uint8_t *reply,
				  size_t *reply_len, struct ip_addr *reply_to);

/* Expiry callback for conn_expire(): keeps the per-node counts right. */
void engine_conn_expired(const struct conn *c, void *engine);

#endif
