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

#include "nfq/addr.h"

struct listen_query {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;		/* host byte order */
};

/* Sets result[i] true when a socket of q[i]'s family and protocol listens on
 * (TCP: LISTEN) or is bound to (UDP: unconnected) port q[i].port, on the
 * wildcard address or a non-loopback local address.  A dual-stack AF_INET6
 * socket on :: (IPV6_V6ONLY off) and one bound to a v4-mapped address count
 * for AF_INET.  Loopback-only sockets never count: cluster traffic cannot
 * reach them.  Returns 0, -EINVAL for a bad query, or -errno from netlink;
 * on error result[] is unspecified. */
int listen_scan(const struct listen_query *q, size_t n, bool *result, char *err, size_t errlen);

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
 * that stopped it), -EINVAL for a bad argument or -errno from netlink. */
int listen_conns(uint8_t family, uint8_t proto, uint16_t port,
		 int (*cb)(const struct listen_conn *c, void *arg), void *arg,
		 char *err, size_t errlen);

#endif
