/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpkey: the pure part of rules/fpmap.h (map names and element keys), which
 * rules/rules.c shares without linking netlink. */
#include <stdio.h>
#include <string.h>

#include "rules/fpmap.h"

int fpmap_name(char *buf, size_t len, uint8_t family, uint8_t proto,
	       const struct ip_addr *vaddr, uint16_t vport)
{
	char hex[33];
	size_t n, i;
	int r;

	if ((family != AF_INET && family != AF_INET6) || vaddr->family != family ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return -1;
	n = addr_len(vaddr);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", vaddr->b[i]);
	r = snprintf(buf, len, "fp%c%c_%s_%u", family == AF_INET ? '4' : '6',
		     proto == IPPROTO_TCP ? 't' : 'u', hex, vport);
	return r < 0 || (size_t)r >= len ? -1 : r;
}

size_t fpmap_key_bytes(const struct fpmap_key *k, uint8_t out[20])
{
	uint8_t port[2] = { (uint8_t)(k->cport >> 8), (uint8_t)k->cport };

	memset(out, 0, 20);
	if (k->family == AF_INET && k->caddr.family == AF_INET) {
		memcpy(out, k->caddr.b, 4);
		memcpy(out + 4, port, 2);
		return 8;
	}
	if (k->family == AF_INET6 && k->caddr.family == AF_INET6) {
		memcpy(out, port, 2);
		memcpy(out + 4, k->caddr.b, 16);
		return 20;
	}
	return 0;
}
