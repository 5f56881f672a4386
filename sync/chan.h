/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chan: the cluster's UDP socket, a thin adapter under the wire layer.
 *
 * One dual-stack socket (AF_INET6, IPV6_V6ONLY off, IPv4 peers as v4-mapped
 * addresses) bound to the sync port on any address, SO_REUSEADDR,
 * nonblocking, close-on-exec.  When a multicast group is given it is joined
 * on the interface (or the kernel's choice when none), with loopback off and
 * a TTL / hop limit of 1.  Unicast works with or without a group. */
#ifndef CLUSTERD_CHAN_H
#define CLUSTERD_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/addr.h"

struct chan;

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
void chan_close(struct chan *c);

#endif
