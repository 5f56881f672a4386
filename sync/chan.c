/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chan: one dual-stack UDP socket for cluster messages (see chan.h). */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
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
	if (ifindex >= 0 && setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 &&
	    errno != EADDRINUSE) {
		snprintf(err, errlen, "sync: IP_ADD_MEMBERSHIP: %s", strerror(errno));
		return -1;
	}
	mr.imr_ifindex = ifindex > 0 ? ifindex : 0;
	if (ifindex > 0 && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0) {
		snprintf(err, errlen, "sync: IP_MULTICAST_IF: %s", strerror(errno));
		return -1;
	}
	/* An AF_INET6 socket's IPv4 multicast loops by the IPv6 option
	 * (sk_mc_loop): both off, or each node hears its own heartbeats. */
	if (setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) < 0 ||
	    setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0 ||
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
	mr.ipv6mr_interface = ifindex > 0 ? (unsigned)ifindex : 0;
	if (ifindex >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0 &&
	    errno != EADDRINUSE) {
		snprintf(err, errlen, "sync: IPV6_JOIN_GROUP: %s", strerror(errno));
		return -1;
	}
	if (ifindex > 0 && setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) < 0) {
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
	/* RECVPKTINFO: where a datagram arrived (a group heartbeat's
	 * interface); it covers the v4-mapped side too. */
	if (setopt_int(c->fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) < 0 ||
	    setopt_int(c->fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    setopt_int(c->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0) {
		snprintf(err, errlen, "sync: socket options: %s", strerror(errno));
		goto fail;
	}
	/* The reliable channel releases up to a window of messages at once,
	 * and a busy distributor sends many such bursts: the default buffer
	 * (about 200 KiB) overflowed on a backup at 50k updates/s (each loss
	 * then waits for a NACK or a retransmission).  FORCE passes
	 * rmem_max/wmem_max with CAP_NET_ADMIN (the daemon keeps it); without
	 * it the plain option gets what the sysctl allows.  Not fatal. */
	if (setopt_int(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, CHAN_RCVBUF) < 0)
		(void)setopt_int(c->fd, SOL_SOCKET, SO_RCVBUF, CHAN_RCVBUF);
	if (setopt_int(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, CHAN_SNDBUF) < 0)
		(void)setopt_int(c->fd, SOL_SOCKET, SO_SNDBUF, CHAN_SNDBUF);
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
	/* Without an interface, the options only (ifindex -1): the caller
	 * joins on its interfaces (chan_join). */
	if (!ifindex)
		ifindex = -1;
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

int chan_join(struct chan *c, const struct ip_addr *group, int ifindex, char *err,
	      size_t errlen)
{
	struct ip_mreqn m4;
	struct ipv6_mreq m6;
	int r;

	if (errlen)
		err[0] = '\0';
	if (ifindex <= 0)
		return -EINVAL;
	if (group->family == AF_INET) {
		memset(&m4, 0, sizeof(m4));
		m4.imr_multiaddr = group->v4;
		m4.imr_ifindex = ifindex;
		r = setsockopt(c->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m4, sizeof(m4));
	} else if (group->family == AF_INET6) {
		memset(&m6, 0, sizeof(m6));
		m6.ipv6mr_multiaddr = group->v6;
		m6.ipv6mr_interface = (unsigned)ifindex;
		r = setsockopt(c->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof(m6));
	} else {
		return -EAFNOSUPPORT;
	}
	if (r < 0 && errno != EADDRINUSE) {
		r = -errno;
		snprintf(err, errlen, "sync: joining the group on interface %d: %s", ifindex,
			 strerror(errno));
		return r;
	}
	return 0;
}

static int chan_sendmsg(struct chan *c, const struct ip_addr *src, int ifindex,
			const struct ip_addr *to, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in6 sa;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
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
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &sa;
	mh.msg_namelen = sizeof(sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if ((src && src->family) || ifindex > 0) {
		struct cmsghdr *ch;

		if (src && src->family && src->family != to->family)
			return -EINVAL;
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		ch = (struct cmsghdr *)cm.b;
		/* A v4-mapped destination takes the IPv4 path of the socket,
		 * which reads IP_PKTINFO; ipi_spec_dst is the source. */
		if (to->family == AF_INET) {
			struct in_pktinfo pi;

			memset(&pi, 0, sizeof(pi));
			if (src && src->family)
				pi.ipi_spec_dst = src->v4;
			pi.ipi_ifindex = ifindex > 0 ? ifindex : 0;
			ch->cmsg_level = IPPROTO_IP;
			ch->cmsg_type = IP_PKTINFO;
			ch->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(ch), &pi, sizeof(pi));
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		} else {
			struct in6_pktinfo pi;

			memset(&pi, 0, sizeof(pi));
			if (src && src->family)
				pi.ipi6_addr = src->v6;
			pi.ipi6_ifindex = ifindex > 0 ? (unsigned)ifindex : 0;
			ch->cmsg_level = IPPROTO_IPV6;
			ch->cmsg_type = IPV6_PKTINFO;
			ch->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(ch), &pi, sizeof(pi));
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		}
	}
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int chan_send_from(struct chan *c, const struct ip_addr *src, const struct ip_addr *to,
		   uint16_t port, const void *buf, size_t len)
{
	return chan_sendmsg(c, src, 0, to, port, buf, len);
}

int chan_send_group(struct chan *c, const struct ip_addr *src, int ifindex,
		    const struct ip_addr *group, uint16_t port, const void *buf, size_t len)
{
	if (ifindex <= 0)
		return -EINVAL;
	return chan_sendmsg(c, src, ifindex, group, port, buf, len);
}

int chan_send(struct chan *c, const struct ip_addr *to, uint16_t port, const void *buf, size_t len)
{
	return chan_send_from(c, NULL, to, port, buf, len);
}

ssize_t chan_recv_info(struct chan *c, void *buf, size_t cap, struct ip_addr *from,
		       uint16_t *from_port, struct chan_rx_info *info)
{
	struct sockaddr_in6 sa;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		memset(&sa, 0, sizeof(sa));
		mh.msg_name = &sa;
		mh.msg_namelen = sizeof(sa);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
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
	if (info) {
		struct cmsghdr *ch;

		memset(info, 0, sizeof(*info));
		for (ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch)) {
			struct in6_pktinfo pi;

			if (ch->cmsg_level != IPPROTO_IPV6 || ch->cmsg_type != IPV6_PKTINFO ||
			    ch->cmsg_len < CMSG_LEN(sizeof(pi)))
				continue;
			memcpy(&pi, CMSG_DATA(ch), sizeof(pi));
			info->ifindex = (int)pi.ipi6_ifindex;
			if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr))
				addr_from_bytes(&info->dst, AF_INET, &pi.ipi6_addr.s6_addr[12]);
			else
				addr_from_bytes(&info->dst, AF_INET6, &pi.ipi6_addr);
		}
	}
	return n;
}

ssize_t chan_recv_port(struct chan *c, void *buf, size_t cap, struct ip_addr *from,
		       uint16_t *from_port)
{
	return chan_recv_info(c, buf, cap, from, from_port, NULL);
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
