/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ifinfo: the adapter information of one of this node's own addresses
 * (prefix, adapter type, MTU: cdat, doc/architecture.md), read from the kernel. */
#ifndef CLUSTERD_IFINFO_H
#define CLUSTERD_IFINFO_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct ifinfo {
	char ifname[IF_NAMESIZE];
	uint8_t prefix;
	uint32_t mtu;
	char type[16];		/* "ethernet", "loopback", "infiniband", "none", "arphrd-N" */
};

/* 0 when the address is configured on an interface of this host, -ENOENT
 * when it is not, another -errno on failure. */
int ifinfo_lookup(const struct ip_addr *a, struct ifinfo *out, char *err, size_t errlen);

#endif
