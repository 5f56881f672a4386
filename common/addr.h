/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr: one IPv4 or IPv6 address, the type every module shares.
 * Pure header-only helpers; no allocation. */
#ifndef CLUSTERD_ADDR_H
#define CLUSTERD_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#define ADDR_STRLEN INET6_ADDRSTRLEN

struct ip_addr {
	uint8_t family;		/* AF_INET or AF_INET6; 0 = unset */
	union {
		uint8_t b[16];	/* v4 uses the first 4 bytes, rest zero */
		struct in_addr v4;
		struct in6_addr v6;
	};
};

static inline size_t addr_len(const struct ip_addr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

static inline bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

static inline void addr_from_bytes(struct ip_addr *a, int family, const void *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->b, bytes, family == AF_INET ? 4 : 16);
}

/* Parses dotted-quad or IPv6 text; returns false on anything else. */
static inline bool addr_parse(struct ip_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a->v6) == 1) {
		a->family = AF_INET6;
		return true;
	}
	return false;
}

static inline const char *addr_fmt(const struct ip_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* "10.0.0.1:80" or "[2001:db8::1]:80" */
static inline const char *addr_fmt_ep(const struct ip_addr *a, uint16_t port, char *buf,
				      size_t len)
{
	char ab[ADDR_STRLEN];

	addr_fmt(a, ab, sizeof(ab));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ab, port);
	else
		snprintf(buf, len, "%s:%u", ab, port);
	return buf;
}

#endif
