/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chan: the cluster's UDP socket, a thin adapter under the wire layer.
 *
 * One dual-stack socket (AF_INET6, IPV6_V6ONLY off, IPv4 peers as v4-mapped
 * addresses) bound to the sync port on any address, SO_REUSEADDR,
 * nonblocking, close-on-exec.  When a multicast group is given, loopback is
 * off and the TTL / hop limit 1; it is joined on the interface if one is
 * given, else on each interface the caller names (chan_join).  Unicast
 * works with or without a group.  Receiving says on which interface and to
 * which address a datagram arrived (IPV6_RECVPKTINFO).  Its buffers are
 * large (CHAN_RCVBUF, CHAN_SNDBUF). */
#ifndef CLUSTERD_CHAN_H
#define CLUSTERD_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/addr.h"

struct chan;

/* The socket's buffers (asked for with SO_RCVBUFFORCE / SO_SNDBUFFORCE,
 * else what rmem_max / wmem_max allow): room for the bursts a busy
 * distributor's reliable channels release at once. */
#define CHAN_RCVBUF (4 << 20)
#define CHAN_SNDBUF (1 << 20)

/* mcast_group may be NULL or family 0 (no multicast); ifname may be NULL or
 * "".  Returns NULL with a message in err on failure. */
struct chan *chan_open(uint16_t port, const struct ip_addr *mcast_group, const char *ifname,
		       char *err, size_t errlen);
int chan_fd(const struct chan *c);
/* The port the socket is bound to (useful when opened with port 0). */
uint16_t chan_port(const struct chan *c);
/* Sends one datagram; 0 on success, -errno on error (-EAGAIN when the
 * socket buffer is full: the datagram is not sent). */
int chan_send(struct chan *c, const struct ip_addr *to, uint16_t port, const void *buf, size_t len);
/* The same from source address src (NULL or family 0: the kernel's choice),
 * which must be one of this host's addresses, of to's family (else -EINVAL;
 * the kernel says -EINVAL or -EADDRNOTAVAIL for an address it does not
 * have).  Set with IP_PKTINFO / IPV6_PKTINFO on this one datagram: a
 * receiver that checks where a datagram comes from sees src. */
int chan_send_from(struct chan *c, const struct ip_addr *src, const struct ip_addr *to,
		   uint16_t port, const void *buf, size_t len);
/* Receives one datagram: its size, 0 when nothing is pending, -errno on
 * error (-EMSGSIZE: a datagram larger than cap was dropped).  from (may be
 * NULL) is the sender, v4-mapped turned back into AF_INET; from_port (may
 * be NULL) its port. */
ssize_t chan_recv(struct chan *c, void *buf, size_t cap, struct ip_addr *from);
ssize_t chan_recv_port(struct chan *c, void *buf, size_t cap, struct ip_addr *from,
		       uint16_t *from_port);
/* Joins group on interface ifindex (> 0): 0 (also when already joined),
 * or -errno with a message in err. */
int chan_join(struct chan *c, const struct ip_addr *group, int ifindex, char *err,
	      size_t errlen);
/* Sends one datagram to group out of interface ifindex (> 0), from src (as
 * chan_send_from; NULL: the kernel's choice). */
int chan_send_group(struct chan *c, const struct ip_addr *src, int ifindex,
		    const struct ip_addr *group, uint16_t port, const void *buf, size_t len);
struct chan_rx_info {
	int ifindex;		/* where it arrived; 0: unknown */
	struct ip_addr dst;	/* to which address (a group's, or ours) */
};
/* chan_recv_port, and (info, may be NULL) where the datagram arrived. */
ssize_t chan_recv_info(struct chan *c, void *buf, size_t cap, struct ip_addr *from,
		       uint16_t *from_port, struct chan_rx_info *info);
void chan_close(struct chan *c);

#endif
