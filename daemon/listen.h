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

#endif
