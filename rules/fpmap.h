/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpmap: the distributor's fast-path maps, element by element.
 *
 * rules/ installs, for each plain TCP or UDP service (no handoff) of a VIPA
 * this node distributes, one nftables map in table inet clusterd, keyed by
 * the client's side of a flow, whose value is the target address; a rule
 * ahead of the service's queue rules rewrites a packet whose flow is in the
 * map (daddr from the map, dport to the service's constant target port),
 * refreshes the element's timeout and accepts it.  SYN, FIN and RST never
 * take that rule.  The workers put a flow into the map once the engine
 * decided it (the handshake completed) and take it out when it ends; this
 * module is how: one instance per worker (its own netlink socket, never
 * shared), which gathers element changes and sends them as one nfnetlink
 * batch.
 *
 * Names and keys are fixed here and used by rules/ too:
 *   name   "fp" family('4'|'6') proto('t'|'u') "_" hex(VIPA bytes) "_" port
 *          e.g. fp4t_0a020064_80 for 10.2.0.100 tcp 80
 *   key    IPv4: client address (4 bytes) . client port (2 bytes + 2 zero)
 *                = 8 bytes, nft type ipv4_addr . inet_service
 *          IPv6: client port (2 bytes + 2 zero) . client address (16 bytes)
 *                = 20 bytes, nft type inet_service . ipv6_addr (the port
 *                first: see rules/nft.c on nft 1.0.6)
 *          both in network byte order
 *   value  the target address (4 or 16 bytes)
 *
 * Batches are built so that they cannot fail element by element: adds are
 * NEWSETELEM without NLM_F_EXCL (re-adding the same value refreshes the
 * timeout), removals are DESTROYSETELEM (no error when absent; kernel 6.3
 * and later: rules_nft_probe_destroy() tells).  A batch the kernel refuses all the same
 * (the map is full, or gone in a reload) is lost whole: counted, and the
 * flows stay on the queue path, where the worker adds them again.
 *
 * Not thread-safe: one instance belongs to one thread. */
#ifndef CLUSTERD_FPMAP_H
#define CLUSTERD_FPMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define FPMAP_NAME_MAX 48	/* "fp6t_" + 32 hex + "_65535" + NUL fits */

/* One flow of one service, as the map sees it. */
struct fpmap_key {
	uint8_t family;			/* AF_INET / AF_INET6 */
	uint8_t proto;			/* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t vport;			/* the service's port, host order */
	uint16_t cport;			/* the client's port, host order */
	struct ip_addr vaddr;		/* the VIPA */
	struct ip_addr caddr;		/* the client */
};

/* The map's name for (family, proto, vaddr, vport) into buf; its length,
 * or -1 when it does not fit or proto/family are not TCP/UDP, v4/v6. */
int fpmap_name(char *buf, size_t len, uint8_t family, uint8_t proto,
	       const struct ip_addr *vaddr, uint16_t vport);
/* The element key's bytes (layout above) into out; their count (8 or 20),
 * or 0 for a bad family. */
size_t fpmap_key_bytes(const struct fpmap_key *k, uint8_t out[20]);

struct fpmap_stats {
	uint64_t adds;		/* elements sent for adding */
	uint64_t dels;		/* elements sent for removal */
	uint64_t batches;	/* batches sent */
	uint64_t batch_errors;	/* batches the kernel refused (each lost whole) */
	uint64_t send_errors;	/* batches that could not be sent at all */
	uint64_t gets;		/* fpmap_get() calls */
	uint64_t get_errors;	/* fpmap_get() that got neither the element nor ENOENT */
	int last_error;		/* errno of the last refusal, 0 if none */
};

struct fpmap;

/* A netlink socket of its own (non-blocking) and room for `max_pending`
 * element changes.  NULL with a sentence in err. */
struct fpmap *fpmap_open(size_t max_pending, char *err, size_t errlen);
void fpmap_close(struct fpmap *m);

/* Queue a change; sent by fpmap_flush().  0, -ENOSPC when max_pending
 * changes wait already (the caller flushes and retries, or counts it),
 * -EINVAL for a bad key (or a target of another family).
 * timeout_ms: the element's timeout, sent with an expiration of the same
 * value, so that re-adding an element that is there with the same target
 * restarts its expiry (the kernel does so only when the timeout changes or
 * an expiration is given; kernels without upstream commit 4201f3938914,
 * 6.1 among them, accept the re-add and leave the expiry alone).  0: the
 * map's timeout, and then a re-add does not restart the expiry.  Adding a
 * key that is there with ANOTHER target refuses the whole batch (EEXIST):
 * queue fpmap_del() of it first, in the same batch. */
int fpmap_add(struct fpmap *m, const struct fpmap_key *k, const struct ip_addr *target,
	      uint32_t timeout_ms);
int fpmap_del(struct fpmap *m, const struct fpmap_key *k);
size_t fpmap_pending(const struct fpmap *m);

/* Sends what is pending as one batch, in the order it was queued, without
 * waiting for an answer (the kernel applies a batch inside sendmsg());
 * reads, without blocking, the errors of earlier batches and counts them.
 * Returns the number of changes sent, or -errno when the batch could not be
 * sent (the changes are dropped and counted).
 *
 * The batch carries no NLM_F_ACK: the kernel answers only a refusal, and the
 * refusal of this flush is counted (stats batch_errors, last_error) by the
 * next fpmap_flush(), fpmap_poll() or fpmap_get(), not by this one.  A
 * refused batch is lost whole (every change of it, adds and removals).  The
 * batch is split into several (each its own BEGIN..END, each applied or
 * refused on its own) only when the socket's send buffer cannot take it.
 * With nothing pending it only reads (and returns 0).  It never waits for
 * the kernel, but a refusal is slow inside sendmsg() itself: the kernel's
 * abort took 5 to 15 ms on 6.18 (an applied batch of 256 adds, about
 * 0.25 ms), so batches that can be refused (a full map) stall the caller. */
int fpmap_flush(struct fpmap *m);

/* Reads, without blocking, the answers the kernel left on the socket and
 * counts the refused batches among them (and ENOBUFS, the answers lost when
 * the socket overran, as one).  Returns how many it counted, or -errno. */
int fpmap_poll(struct fpmap *m);

/* Looks one element up (a synchronous round trip on the socket, a few
 * microseconds: the answer is ready when sendmsg() returns; it waits 100 ms
 * at most).  1 and *expires_ms (time left before it expires; 0 if it has no
 * timeout) when present, 0 when absent (or its map or table is), -errno on
 * another error.  Refusals of earlier batches read on the way are counted as
 * fpmap_poll() does. */
int fpmap_get(struct fpmap *m, const struct fpmap_key *k, uint64_t *expires_ms);

const struct fpmap_stats *fpmap_stats(const struct fpmap *m);

#endif
