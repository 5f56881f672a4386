/* chan: one dual-stack UDP socket for cluster messages (see chan.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/chan.h"

struct chan {
	int fd;
	uint16_t port;
};

static int setopt_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

/* IPv4 options apply to the v4-mapped side of an AF_INET6 socket on Linux. */
static int join_v4(int fd, const struct ip_addr *g, int ifindex, char *err, size_t errlen)
{
	struct ip_mreqn mr;

	memset(&mr, 0, sizeof(mr));
	mr.imr_multiaddr = g->v4;
	mr.imr_ifindex = ifindex;
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		snprintf(err, errlen, "sync: IP_ADD_MEMBERSHIP: %s", strerror(errno));
		return -1;
	}
	if (ifindex && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0) {
		snprintf(err, errlen, "sync: IP_MULTICAST_IF: %s", strerror(errno));
		return -1;
	}
	if (setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) < 0 ||
	    setopt_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1) < 0) {
		snprintf(err, errlen, "sync: IPv4 multicast options: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int join_v6(int fd, const struct ip_addr *g, int ifindex, char *err, size_t errlen)
{
	struct ipv6_mreq mr;

	memset(&mr, 0, sizeof(mr));
	mr.ipv6mr_multiaddr = g->v6;
	mr.ipv6mr_interface = (unsigned)ifindex;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0) {
		snprintf(err, errlen, "sync: IPV6_JOIN_GROUP: %s", strerror(errno));
		return -1;
	}
	if (ifindex && setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) < 0) {
		snprintf(err, errlen, "sync: IPV6_MULTICAST_IF: %s", strerror(errno));
		return -1;
	}
	if (setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0 ||
	    setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1) < 0) {
		snprintf(err, errlen, "sync: IPv6 multicast options: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct chan *chan_open(uint16_t port, const struct ip_addr *mcast_group, const char *ifname,
		       char *err, size_t errlen)
{
	struct sockaddr_in6 sa;
	socklen_t salen = sizeof(sa);
	struct chan *c;
	int ifindex = 0;

	if (errlen)
		err[0] = '\0';
	if (ifname && ifname[0]) {
		ifindex = (int)if_nametoindex(ifname);
		if (!ifindex) {
			snprintf(err, errlen, "sync: interface %s: %s", ifname, strerror(errno));
			return NULL;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "sync: out of memory");
		return NULL;
	}
	c->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (c->fd < 0) {
		snprintf(err, errlen, "sync: socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	if (setopt_int(c->fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) < 0 ||
	    setopt_int(c->fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) {
		snprintf(err, errlen, "sync: socket options: %s", strerror(errno));
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_any;
	sa.sin6_port = htons(port);
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "sync: bind to port %u: %s", port, strerror(errno));
		goto fail;
	}
	if (getsockname(c->fd, (struct sockaddr *)&sa, &salen) < 0) {
		snprintf(err, errlen, "sync: getsockname: %s", strerror(errno));
		goto fail;
	}
	c->port = ntohs(sa.sin6_port);
	if (mcast_group && mcast_group->family == AF_INET &&
	    join_v4(c->fd, mcast_group, ifindex, err, errlen) < 0)
		goto fail;
	if (mcast_group && mcast_group->family == AF_INET6 &&
	    join_v6(c->fd, mcast_group, ifindex, err, errlen) < 0)
		goto fail;
	return c;
fail:
	close(c->fd);
	free(c);
	return NULL;
}

int chan_fd(const struct chan *c)
{
	return c->fd;
}

uint16_t chan_port(const struct chan *c)
{
	return c->port;
}

int chan_send(struct chan *c, const struct ip_addr *to, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in6 sa;
	ssize_t n;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(port);
	if (to->family == AF_INET) {
		sa.sin6_addr.s6_addr[10] = 0xff;
		sa.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa.sin6_addr.s6_addr[12], &to->v4, 4);
	} else if (to->family == AF_INET6) {
		sa.sin6_addr = to->v6;
	} else {
		return -EAFNOSUPPORT;
	}
	do {
		n = sendto(c->fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

ssize_t chan_recv_port(struct chan *c, void *buf, size_t cap, struct ip_addr *from,
		       uint16_t *from_port)
{
	struct sockaddr_in6 sa;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		memset(&sa, 0, sizeof(sa));
		mh.msg_name = &sa;
		mh.msg_namelen = sizeof(sa);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		n = recvmsg(c->fd, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		/* An empty datagram would read as "nothing pending": skip it. */
		if (n > 0)
			break;
	}
	if (from) {
		if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr))
			addr_from_bytes(from, AF_INET, &sa.sin6_addr.s6_addr[12]);
		else
			addr_from_bytes(from, AF_INET6, &sa.sin6_addr);
	}
	if (from_port)
		*from_port = ntohs(sa.sin6_port);
	return n;
}

ssize_t chan_recv(struct chan *c, void *buf, size_t cap, struct ip_addr *from)
{
	return chan_recv_port(c, buf, cap, from, NULL);
}

void chan_close(struct chan *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}
