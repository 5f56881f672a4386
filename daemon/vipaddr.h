/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vipaddr: own a VIPA on an interface and announce it.
 *
 * Adapter: rtnetlink (libmnl) to add, delete and look up the address, an
 * AF_PACKET socket for gratuitous ARP and a raw ICMPv6 socket for the
 * unsolicited neighbour advertisement.  Every call opens and closes its own
 * netlink socket; the announcement sockets need CAP_NET_RAW, so the daemon
 * opens them once at start (struct vipaddr_ann), keeps them and drops the
 * capability.  Nothing is global.  Errors come back as -errno with a
 * message in err (err may be NULL). */
#ifndef CLUSTERD_VIPADDR_H
#define CLUSTERD_VIPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* Adds addr as a host address (/32 or /128) to ifname.  IPv6 gets
 * IFA_F_NODAD and IFA_F_NOPREFIXROUTE.  Already present = success. */
int vipaddr_add(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen);

/* Removes addr from ifname.  Absent = success; a missing interface is -ENODEV. */
int vipaddr_del(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen);

/* True when ifname carries addr (any prefix length, any flags). */
bool vipaddr_present(const char *ifname, const struct ip_addr *addr);

/* The announcement sockets, both send-only and bound to no interface: one
 * pair serves every VIPA, including those a reload adds.  -1: not open. */
struct vipaddr_ann {
	int pkt;	/* AF_PACKET: gratuitous ARP */
	int icmp6;	/* raw ICMPv6: neighbour advertisements */
};

/* Opens whichever of the two is not open yet (needs CAP_NET_RAW).  On
 * failure the other one may still be open: close with vipaddr_ann_close. */
int vipaddr_ann_open(struct vipaddr_ann *a, char *err, size_t errlen);
void vipaddr_ann_close(struct vipaddr_ann *a);

/* IPv4: a gratuitous ARP request and reply, both broadcast.  IPv6: an
 * unsolicited neighbour advertisement to ff02::1 (override set, target
 * link-layer address option), hop limit 255, from addr when it is already
 * ours.  The interface must be up.  A socket of a that is not open is
 * opened first (which fails once CAP_NET_RAW is gone). */
int vipaddr_ann_send(struct vipaddr_ann *a, const char *ifname, const struct ip_addr *addr,
		     char *err, size_t errlen);

/* vipaddr_ann_send with sockets of its own, closed before it returns. */
int vipaddr_announce(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen);

/* Pure frame builders, exported for the tests. */
#define VIPADDR_ARP_FRAME_LEN	60	/* Ethernet + ARP, padded to ETH_ZLEN */
#define VIPADDR_NA_MAX_LEN	32	/* ICMPv6 NA + Ethernet TLLA option */

/* Writes an Ethernet ARP frame (broadcast; request when reply is false)
 * announcing ip4 at mac into buf.  Returns the frame length or -ENOSPC. */
int vipaddr_build_garp(uint8_t *buf, size_t len, const uint8_t mac[6],
		       const struct in_addr *ip4, bool reply);

/* Writes an unsolicited NA body (checksum 0: the kernel fills it in on a
 * raw ICMPv6 socket) for target; a target link-layer address option is
 * added when hwlen is 1..8 bytes (6 on Ethernet).  Returns the length,
 * -ENOSPC or -EINVAL. */
int vipaddr_build_na(uint8_t *buf, size_t len, const struct in6_addr *target,
		     const uint8_t *hw, size_t hwlen);

#endif
