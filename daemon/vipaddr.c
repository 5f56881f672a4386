/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vipaddr: add, delete, look up and announce a VIPA (see vipaddr.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "common/be.h"
#include "common/errbuf.h"
#include "daemon/vipaddr.h"

#define ARP_HDR_LEN	28
#define ND_OPT_TLLA	2	/* target link-layer address option */
#define NA_FLAG_OVERRIDE 0x20	/* first byte of the flags word */
/* The kernel fills dump messages up to 32 KiB (libmnl 1.0.4 lacks MNL_SOCKET_DUMP_SIZE). */
#define NL_DUMP_SIZE	32768

int vipaddr_build_garp(uint8_t *buf, size_t len, const uint8_t mac[6],
		       const struct in_addr *ip4, bool reply)
{
	uint8_t *arp;

	if (len < VIPADDR_ARP_FRAME_LEN)
		return -ENOSPC;
	memset(buf, 0, VIPADDR_ARP_FRAME_LEN);
	memset(buf, 0xff, ETH_ALEN);
	memcpy(buf + ETH_ALEN, mac, ETH_ALEN);
	be_put16(buf + 2 * ETH_ALEN, ETHERTYPE_ARP);

	arp = buf + ETH_HLEN;
	be_put16(arp, ARPHRD_ETHER);
	be_put16(arp + 2, ETHERTYPE_IP);
	arp[4] = ETH_ALEN;
	arp[5] = 4;
	be_put16(arp + 6, reply ? ARPOP_REPLY : ARPOP_REQUEST);
	memcpy(arp + 8, mac, ETH_ALEN);
	memcpy(arp + 14, &ip4->s_addr, 4);
	/* Target MAC: zero in the request (RFC 5227 announcement), ours in
	 * the reply (as arping -A sends it); some stacks only learn from one. */
	if (reply)
		memcpy(arp + 18, mac, ETH_ALEN);
	memcpy(arp + 24, &ip4->s_addr, 4);
	/* The rest stays zero: padding up to the Ethernet minimum. */
	return VIPADDR_ARP_FRAME_LEN;
}

int vipaddr_build_na(uint8_t *buf, size_t len, const struct in6_addr *target,
		     const uint8_t *hw, size_t hwlen)
{
	size_t optlen = 0, need;

	if (hwlen > 8)
		return -EINVAL;
	if (hwlen)
		optlen = (2 + hwlen + 7) & ~(size_t)7;	/* options come in 8-byte units */
	need = 24 + optlen;
	if (len < need)
		return -ENOSPC;
	memset(buf, 0, need);
	buf[0] = ND_NEIGHBOR_ADVERT;
	/* Unsolicited, so not S; a host, so not R; O replaces stale entries. */
	buf[4] = NA_FLAG_OVERRIDE;
	memcpy(buf + 8, target, 16);
	if (hwlen) {
		buf[24] = ND_OPT_TLLA;
		buf[25] = (uint8_t)(optlen / 8);
		memcpy(buf + 26, hw, hwlen);
	}
	return (int)need;
}

/* One request, answered by an ACK or a dump; cb sees each data message. */
static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_DUMP_SIZE];
	struct mnl_socket *nl;
	unsigned int portid, seq;
	ssize_t n;
	int ret, e;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		mnl_socket_close(nl);
		return e;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned int)time(NULL);
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		e = -errno;
		mnl_socket_close(nl);
		return e;
	}
	ret = MNL_CB_OK;
	while (ret > MNL_CB_STOP) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -1;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	}
	e = ret < 0 ? -errno : 0;
	mnl_socket_close(nl);
	/* mnl_cb_run fails with errno 0 only on malformed input. */
	return ret < 0 && e == 0 ? -EPROTO : e;
}

static int addr_request(int type, const char *ifname, const struct ip_addr *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned int idx;
	size_t alen = addr_len(addr);

	if (!alen)
		return -EAFNOSUPPORT;
	idx = if_nametoindex(ifname);
	if (!idx)
		return -ENODEV;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = addr->family;
	ifa->ifa_prefixlen = (uint8_t)(alen * 8);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr->b);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->b);
	if (addr->family == AF_INET6 && type == RTM_NEWADDR) {
		/* DAD would leave the VIPA tentative (deaf to neighbour
		 * solicitations) for a second; and a /128 needs no route. */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	}
	return nl_talk(nlh, NULL, NULL);
}

int vipaddr_add(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen)
{
	char s[ADDR_STRLEN];
	int ret;

	ret = addr_request(RTM_NEWADDR, ifname, addr);
	if (ret == -EEXIST)
		return 0;
	if (ret < 0)
		errbuf_set(err, errlen, "add %s/%zu to %s: %s", addr_fmt(addr, s, sizeof(s)),
			   addr_len(addr) * 8, ifname, strerror(-ret));
	return ret;
}

int vipaddr_del(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen)
{
	char s[ADDR_STRLEN];
	int ret;

	ret = addr_request(RTM_DELADDR, ifname, addr);
	if (ret == -EADDRNOTAVAIL)
		return 0;
	if (ret < 0)
		errbuf_set(err, errlen, "delete %s from %s: %s", addr_fmt(addr, s, sizeof(s)),
			   ifname, strerror(-ret));
	return ret;
}

struct present_ctx {
	const struct ip_addr *addr;
	unsigned int idx;
	bool found;
};

static int present_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFA_LOCAL || type == IFA_ADDRESS)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int present_cb(const struct nlmsghdr *nlh, void *data)
{
	struct present_ctx *c = data;
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *a;
	const struct ifaddrmsg *ifa;
	size_t alen = addr_len(c->addr);

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_index != c->idx || ifa->ifa_family != c->addr->family)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), present_attr_cb, tb) < 0)
		return MNL_CB_OK;
	/* IFA_LOCAL is the own address where both exist (point-to-point);
	 * IPv6 usually sends only IFA_ADDRESS. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a && mnl_attr_get_payload_len(a) == alen &&
	    memcmp(mnl_attr_get_payload(a), c->addr->b, alen) == 0)
		c->found = true;
	return MNL_CB_OK;
}

bool vipaddr_present(const char *ifname, const struct ip_addr *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct present_ctx c = { .addr = addr };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!addr_len(addr))
		return false;
	c.idx = if_nametoindex(ifname);
	if (!c.idx)
		return false;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = addr->family;
	if (nl_talk(nlh, present_cb, &c) < 0)
		return false;
	return c.found;
}

/* The interface's hardware address and type (ARPHRD_*). */
static int if_hwaddr(int fd, const char *ifname, uint8_t mac[6], unsigned short *hwtype)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENODEV;
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	*hwtype = ifr.ifr_hwaddr.sa_family;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* Protocol 0: the socket only sends, nothing is queued to it; unbound, so
 * one socket serves every interface (sll_ifindex picks it per frame). */
static int ann_open4(int *fd, char *err, size_t errlen)
{
	int e;

	*fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		e = errno;
		errbuf_set(err, errlen, "packet socket: %s", strerror(e));
		return -e;
	}
	return 0;
}

/* Send only, to any interface: the interface and the source come with each
 * message (IPV6_PKTINFO), so nothing here is per interface. */
static int ann_open6(int *fd, char *err, size_t errlen)
{
	struct icmp6_filter filt;
	int s, ret, hops = 255, off = 0;
	const char *what;

	s = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (s < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "icmpv6 socket: %s", strerror(-ret));
		return ret;
	}
	/* Let no received ICMPv6 queue up on this socket. */
	ICMP6_FILTER_SETBLOCKALL(&filt);
	what = "ICMP6_FILTER";
	if (setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0)
		goto fail;
	/* Receivers drop neighbour discovery with any other hop limit. */
	what = "IPV6_MULTICAST_HOPS";
	if (setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0)
		goto fail;
	what = "IPV6_MULTICAST_LOOP";
	if (setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0)
		goto fail;
	*fd = s;
	return 0;
fail:
	ret = -errno;
	errbuf_set(err, errlen, "icmpv6 socket: %s: %s", what, strerror(-ret));
	close(s);
	return ret;
}

int vipaddr_ann_open(struct vipaddr_ann *a, char *err, size_t errlen)
{
	char e4[128] = "", e6[128] = "";
	int r4 = 0, r6 = 0;

	if (a->pkt < 0)
		r4 = ann_open4(&a->pkt, e4, sizeof(e4));
	if (a->icmp6 < 0)
		r6 = ann_open6(&a->icmp6, e6, sizeof(e6));
	if (r4 < 0 || r6 < 0)
		errbuf_set(err, errlen, "%s%s%s", e4, e4[0] && e6[0] ? "; " : "", e6);
	return r4 < 0 ? r4 : r6;
}

void vipaddr_ann_close(struct vipaddr_ann *a)
{
	if (a->pkt >= 0)
		close(a->pkt);
	if (a->icmp6 >= 0)
		close(a->icmp6);
	a->pkt = a->icmp6 = -1;
}

static int announce4(int fd, const char *ifname, unsigned int idx, const struct ip_addr *addr,
		     char *err, size_t errlen)
{
	uint8_t frame[VIPADDR_ARP_FRAME_LEN], mac[6];
	struct sockaddr_ll sll;
	unsigned short hwtype;
	int ret, i, len;

	ret = if_hwaddr(fd, ifname, mac, &hwtype);
	if (ret < 0) {
		errbuf_set(err, errlen, "%s: hardware address: %s", ifname, strerror(-ret));
		return ret;
	}
	if (hwtype != ARPHRD_ETHER) {
		errbuf_set(err, errlen, "%s: gratuitous ARP needs an Ethernet link", ifname);
		return -EOPNOTSUPP;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = (int)idx;
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	for (i = 0; i < 2; i++) {
		len = vipaddr_build_garp(frame, sizeof(frame), mac, &addr->v4, i == 1);
		if (len < 0)
			return len;
		if (sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			ret = -errno;
			errbuf_set(err, errlen, "%s: send gratuitous ARP: %s", ifname, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int announce6(int fd, const char *ifname, unsigned int idx, const struct ip_addr *addr,
		     char *err, size_t errlen)
{
	uint8_t body[VIPADDR_NA_MAX_LEN], mac[6];
	struct sockaddr_in6 dst;
	struct in6_pktinfo pi;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *cm;
	unsigned short hwtype;
	int ret, len;

	ret = if_hwaddr(fd, ifname, mac, &hwtype);
	if (ret < 0) {
		errbuf_set(err, errlen, "%s: hardware address: %s", ifname, strerror(-ret));
		return ret;
	}
	len = vipaddr_build_na(body, sizeof(body), &addr->v6, mac,
			       hwtype == ARPHRD_ETHER ? ETH_ALEN : 0);
	if (len < 0)
		return len;
	memset(&dst, 0, sizeof(dst));
	dst.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	dst.sin6_scope_id = idx;
	/* Out of this interface, from the target, as the kernel's own
	 * unsolicited NA goes. */
	memset(&pi, 0, sizeof(pi));
	pi.ipi6_addr = addr->v6;
	pi.ipi6_ifindex = idx;
	for (int tries = 0; tries < 2; tries++) {
		iov.iov_base = body;
		iov.iov_len = (size_t)len;
		memset(&m, 0, sizeof(m));
		memset(&ctl, 0, sizeof(ctl));
		m.msg_name = &dst;
		m.msg_namelen = sizeof(dst);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		if (sendmsg(fd, &m, 0) >= 0)
			return 0;
		ret = -errno;
		/* The address is not (yet) ours: the kernel picks the source. */
		if (tries || (ret != -EINVAL && ret != -EADDRNOTAVAIL))
			break;
		memset(&pi.ipi6_addr, 0, sizeof(pi.ipi6_addr));
	}
	errbuf_set(err, errlen, "%s: send neighbour advertisement: %s", ifname, strerror(-ret));
	return ret;
}

int vipaddr_ann_send(struct vipaddr_ann *a, const char *ifname, const struct ip_addr *addr,
		     char *err, size_t errlen)
{
	unsigned int idx = if_nametoindex(ifname);
	int ret;

	if (!idx) {
		errbuf_set(err, errlen, "%s: no such interface", ifname);
		return -ENODEV;
	}
	if (addr->family == AF_INET) {
		/* Opened at start; trying again costs nothing and works while
		 * the capability is there. */
		if (a->pkt < 0 && (ret = ann_open4(&a->pkt, err, errlen)) < 0)
			return ret;
		return announce4(a->pkt, ifname, idx, addr, err, errlen);
	}
	if (addr->family == AF_INET6) {
		if (a->icmp6 < 0 && (ret = ann_open6(&a->icmp6, err, errlen)) < 0)
			return ret;
		return announce6(a->icmp6, ifname, idx, addr, err, errlen);
	}
	errbuf_set(err, errlen, "announce: address family %u", addr->family);
	return -EAFNOSUPPORT;
}

int vipaddr_announce(const char *ifname, const struct ip_addr *addr, char *err, size_t errlen)
{
	struct vipaddr_ann a = { .pkt = -1, .icmp6 = -1 };
	int ret = vipaddr_ann_send(&a, ifname, addr, err, errlen);

	vipaddr_ann_close(&a);
	return ret;
}
