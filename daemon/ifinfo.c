/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "daemon/ifinfo.h"

#define IFINFO_DUMP_SIZE 32768

struct ifinfo_match {
	const struct ip_addr *want;
	int ifindex;
	uint8_t prefix;
};

static int ifinfo_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifinfo_match *m = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (ifa->ifa_family != m->want->family)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		uint16_t t = mnl_attr_get_type(attr);

		/* IFA_LOCAL is the address itself on point-to-point links. */
		if ((t == IFA_ADDRESS || t == IFA_LOCAL) &&
		    mnl_attr_get_payload_len(attr) == addr_len(m->want) &&
		    !memcmp(mnl_attr_get_payload(attr), m->want->b, addr_len(m->want))) {
			m->ifindex = (int)ifa->ifa_index;
			m->prefix = ifa->ifa_prefixlen;
		}
	}
	return MNL_CB_OK;
}

static const char *ifinfo_type_name(unsigned short hw, char *buf, size_t len)
{
	switch (hw) {
	case ARPHRD_ETHER: return "ethernet";
	case ARPHRD_LOOPBACK: return "loopback";
	case ARPHRD_INFINIBAND: return "infiniband";
	case ARPHRD_NONE: return "none";
	default:
		snprintf(buf, len, "arphrd-%u", hw);
		return buf;
	}
}

int ifinfo_lookup(const struct ip_addr *a, struct ifinfo *out, char *err, size_t errlen)
{
	char buf[IFINFO_DUMP_SIZE], tb[16];
	struct ifinfo_match m = { .want = a, .ifindex = -1 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	struct ifreq ifr;
	unsigned int seq = (unsigned int)time(NULL), portid;
	int ret, fd;

	memset(out, 0, sizeof(*out));
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -errno;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = a->family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		mnl_socket_close(nl);
		return -errno;
	}
	while ((ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, ifinfo_addr_cb, &m);
		if (ret <= MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	if (ret < 0) {
		snprintf(err, errlen, "address dump: %s", strerror(errno));
		return -errno;
	}
	if (m.ifindex < 0 || !if_indextoname((unsigned)m.ifindex, out->ifname)) {
		char ab[ADDR_STRLEN];

		snprintf(err, errlen, "%s is not an address of this host", addr_fmt(a, ab, sizeof(ab)));
		return -ENOENT;
	}
	out->prefix = m.prefix;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", out->ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		out->mtu = (uint32_t)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		snprintf(out->type, sizeof(out->type), "%s",
			 ifinfo_type_name(ifr.ifr_hwaddr.sa_family, tb, sizeof(tb)));
	close(fd);
	return 0;
}
