/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nft: the ruleset into the kernel, through libnftnl and libmnl.
 *
 * Every change is one nfnetlink batch, so the kernel applies all of it or
 * nothing.  Errors come back as -errno with a sentence in err that names the
 * object the kernel refused. */
#ifndef CLUSTERD_NFT_H
#define CLUSTERD_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h"

/* Finds out whether the kernel has the native nft `queue` expression
 * (CONFIG_NFT_QUEUE); if not, checks that the xtables NFQUEUE target works
 * through nft_compat.  Leaves nothing behind.  0 (and *native_queue set) or
 * -errno when neither works. */
int rules_nft_probe(bool *native_queue, char *err, size_t errlen);

/* Whether the kernel has NFT_MSG_DESTROYSETELEM (6.3 and later), without
 * which a removal from a fast-path map (rules/fpmap.h) could refuse a whole
 * batch for one missing element.  1 yes, 0 no, -errno (and err) when the
 * answer could not be had (no nf_tables, no CAP_NET_ADMIN).  Leaves nothing
 * behind. */
int rules_nft_probe_destroy(char *err, size_t errlen);

/* One batch: delete table inet clusterd if it exists, add it with everything.
 * Atomic: on any error nothing changes.  Uses the queue statement that
 * rules_options(r)->native_queue names. */
int rules_nft_install(const struct rules *r, char *err, size_t errlen);

/* Table gone afterwards; absent is OK. */
int rules_nft_remove(char *err, size_t errlen);

/* What the fast path's rules counted, summed, and how many there are:
 * the target's rewrites (rules/rules.h: a payload write and a counter in the
 * output chain) in packets, bytes, rules; the distributor's fast rules (a
 * map update and a counter in the prerouting chain) in dist_*.  One dump
 * per chain asked for (`which`: RULES_NFT_FP_TARGET and/or
 * RULES_NFT_FP_DIST) of table inet clusterd, which is ours and small (a few
 * dozen rules); every wait is bounded (200 ms).  The table or chain absent
 * (fastpath off, rules not installed yet): zeros and 0.  What was not asked
 * for stays 0. */
struct rules_nft_fastpath {
	uint64_t packets, bytes;
	unsigned rules;
	uint64_t dist_packets, dist_bytes;
	unsigned dist_rules;
};
#define RULES_NFT_FP_TARGET	1u	/* the output chain's rewrites */
#define RULES_NFT_FP_DIST	2u	/* the prerouting chain's fast rules */
int rules_nft_fastpath_read(struct rules_nft_fastpath *fp, unsigned which, char *err,
			    size_t errlen);

/* The same on a netlink socket kept open (rules_nft_sock_open): a caller
 * that reads often (the daemon's stats) must not open and close one each
 * time, for the kernel's release of an nf_tables socket takes the commit
 * mutex and waits for the destruction of what recent batches removed (an
 * RCU grace period).  One caller at a time per socket. */
struct rules_nft_sock;
struct rules_nft_sock *rules_nft_sock_open(char *err, size_t errlen);
void rules_nft_sock_close(struct rules_nft_sock *s);
int rules_nft_fastpath_read_on(struct rules_nft_sock *s, struct rules_nft_fastpath *fp,
			       unsigned which, char *err, size_t errlen);
/* rules_nft_fastpath_read(fp, RULES_NFT_FP_TARGET, ...): one dump. */
int rules_nft_fastpath_counters(struct rules_nft_fastpath *fp, char *err, size_t errlen);

#endif
