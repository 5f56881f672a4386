/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listen: which ports have a listening application.
 *
 * Adapter: NETLINK_SOCK_DIAG (inet_diag) through libmnl.  Each call opens its
 * own netlink socket and does at most one dump per (family, protocol) pair
 * it needs, whatever the number of queries; nothing is global or cached. */
#ifndef CLUSTERD_LISTEN_H
#define CLUSTERD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct listen_query {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;		/* host byte order */
};

/* The answer to one listen_query. */
struct listen_answer {
	bool listening;
	/* 0: answered.  Else the -errno of the sock_diag dump that would have
	 * answered (listening is then false and means "unknown"); see
	 * listen_unsupported. */
	int err;
};

/* Answers each query: a[i].listening is true when a socket of q[i]'s family
 * and protocol listens on (TCP, SCTP: LISTEN) or is bound to (UDP:
 * unconnected) port q[i].port, on the wildcard address or a non-loopback
 * local address.  A dual-stack AF_INET6 socket on :: (IPV6_V6ONLY off) and
 * one bound to a v4-mapped address count for AF_INET.  Loopback-only sockets
 * never count: cluster traffic cannot reach them.
 *
 * One protocol the kernel cannot be asked about (SCTP without sctp_diag, say)
 * never stops the others: every query of a protocol whose dump failed gets
 * that dump's error in a[i].err, the other queries are answered (err then
 * names the first failed dump and why).  Returns 0, or -EINVAL for a bad
 * argument (no arrays, a family or protocol not listed above), with a[]
 * unspecified. */
int listen_scan(const struct listen_query *q, size_t n, struct listen_answer *a,
		char *err, size_t errlen);

/* Whether a dump error (negative errno) means that this kernel cannot answer
 * that kind of query at all (no such protocol, no sock_diag handler for it:
 * ENOENT, EINVAL, EOPNOTSUPP, EPROTONOSUPPORT, EAFNOSUPPORT) rather than a
 * passing failure (ENOBUFS, EINTR, ENOMEM...). */
bool listen_unsupported(int err);

/* One connection an application holds on a local port (its peer is the
 * client: the distributor rewrites the destination only). */
struct listen_conn {
	uint8_t family;		/* AF_INET or AF_INET6, of local and remote */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	struct ip_addr local, remote;
	uint16_t lport, rport;	/* host byte order */
	uint8_t tcp_state;	/* TCP_* from <netinet/tcp.h>; UDP: TCP_ESTABLISHED */
};

/* Every TCP socket in ESTABLISHED, SYN_RECV, FIN_WAIT1/2, CLOSE_WAIT,
 * LAST_ACK or CLOSING (and, for UDP, every connected socket) of the given
 * family and protocol whose local port is `port` (host order).  An AF_INET6
 * socket with a v4-mapped remote counts as AF_INET, reported with plain v4
 * addresses (and never for AF_INET6).  The kernel filters on the port
 * (inet_diag bytecode): one dump for AF_INET6, two for AF_INET.  Calls cb for
 * each (cb may be NULL to count only); a non-zero return from cb stops the
 * walk.  Returns the number of connections passed to cb (including the one
 * that stopped it), -EOPNOTSUPP for IPPROTO_SCTP (associations are not
 * listed yet), -EINVAL for a bad argument or -errno from netlink. */
int listen_conns(uint8_t family, uint8_t proto, uint16_t port,
		 int (*cb)(const struct listen_conn *c, void *arg), void *arg,
		 char *err, size_t errlen);

#endif
