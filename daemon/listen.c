/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listen: listening sockets through NETLINK_SOCK_DIAG (see listen.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <libmnl/libmnl.h>

#include "common/errbuf.h"
#include "daemon/listen.h"

/* The kernel fills dump messages up to 32 KiB; a bigger buffer is wasted. */
#define LISTEN_DUMP_SIZE 32768

struct scan_ctx {
	const struct listen_query *q;
	size_t n;
	struct listen_answer *a;
	uint8_t family;		/* of the dump */
	uint8_t proto;
};

static void mark(struct scan_ctx *c, uint8_t family, uint16_t port)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->q[i].family == family && c->q[i].proto == c->proto &&
		    c->q[i].port == port)
			c->a[i].listening = true;
}

static int v6only_attr_cb(const struct nlattr *attr, void *data)
{
	int *v6only = data;

	if (mnl_attr_get_type(attr) == INET_DIAG_SKV6ONLY &&
	    mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
		*v6only = mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

static int scan_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan_ctx *c = data;
	const struct inet_diag_msg *m;
	struct in6_addr a6;
	uint16_t port;
	uint32_t a4;
	int v6only = 0;	/* the Linux default (net.ipv6.bindv6only = 0) */

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != c->family)
		return MNL_CB_OK;
	/* SCTP reports a listening endpoint as TCP_LISTEN (SCTP_SS_LISTENING). */
	if (c->proto == IPPROTO_UDP ? m->id.idiag_dport != 0 : m->idiag_state != TCP_LISTEN)
		return MNL_CB_OK;
	port = ntohs(m->id.idiag_sport);

	if (c->family == AF_INET) {
		memcpy(&a4, m->id.idiag_src, 4);
		if ((ntohl(a4) >> 24) != 127)
			mark(c, AF_INET, port);
		return MNL_CB_OK;
	}
	memcpy(&a6, m->id.idiag_src, 16);
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* Bound to ::ffff:a.b.c.d: an IPv4-only socket in disguise. */
		if (a6.s6_addr[12] != 127)
			mark(c, AF_INET, port);
		return MNL_CB_OK;
	}
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return MNL_CB_OK;
	mark(c, AF_INET6, port);
	if (IN6_IS_ADDR_UNSPECIFIED(&a6)) {
		mnl_attr_parse(nlh, sizeof(*m), v6only_attr_cb, &v6only);
		if (!v6only)
			mark(c, AF_INET, port);
	}
	return MNL_CB_OK;
}

/* The kernel ends a dump with NLMSG_DONE carrying the dump's status: a
 * protocol without a sock_diag handler (SCTP without sctp_diag) answers an
 * empty dump whose DONE holds -ENOENT.  libmnl's default ignores that status,
 * which would read as "nothing listens"; here it is the dump's error. */
static int diag_done_cb(const struct nlmsghdr *nlh, void *data)
{
	int status;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(status))
		return MNL_CB_STOP;
	memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status < 0) {
		errno = -status;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int diag_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlmsgerr e;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e.error == 0)
		return MNL_CB_STOP;
	errno = e.error < 0 ? -e.error : e.error;
	return MNL_CB_ERROR;
}

/* One SOCK_DIAG_BY_FAMILY dump of (family, proto) sockets in `states`, each
 * message handed to cb.  A non-zero sport adds an inet_diag bytecode filter
 * so the kernel only returns sockets with that local port. */
static int diag_dump(struct mnl_socket *nl, char *buf, uint8_t family, uint8_t proto,
		     uint32_t states, uint16_t sport, mnl_cb_t cb, void *data)
{
	struct {
		struct inet_diag_bc_op op;
		struct inet_diag_bc_op port;
	} bc;
	mnl_cb_t ctl[NLMSG_DONE + 1] = { [NLMSG_ERROR] = diag_error_cb,
					 [NLMSG_DONE] = diag_done_cb };
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned int seq, portid = mnl_socket_get_portid(nl);
	ssize_t len;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq = (unsigned int)time(NULL) + family + proto;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	req->idiag_states = states;
	if (sport) {
		/* "sport == P": true jumps to the end (accept), false jumps
		 * 4 bytes past it (reject); the port operand is host order. */
		memset(&bc, 0, sizeof(bc));
		bc.op.code = INET_DIAG_BC_S_EQ;
		bc.op.yes = sizeof(bc);
		bc.op.no = sizeof(bc) + 4;
		bc.port.no = sport;
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(bc), &bc);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(nl, buf, LISTEN_DUMP_SIZE);
		if (len < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)len, seq, portid, cb, data, ctl,
				  NLMSG_DONE + 1);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return errno ? -errno : -EPROTO;
	return 0;
}

static int dump(struct mnl_socket *nl, char *buf, struct scan_ctx *c)
{
	/* TCP, SCTP: listeners only (for SCTP, endpoints without their
	 * associations).  UDP: every state; scan_cb keeps the unconnected ones
	 * (a connected UDP socket serves one peer). */
	return diag_dump(nl, buf, c->family, c->proto,
			 c->proto == IPPROTO_UDP ? ~0U : 1U << TCP_LISTEN, 0, scan_cb, c);
}

/* A bound sock_diag socket, or NULL with *ret = -errno and err set. */
static struct mnl_socket *listen_diag_open(int *ret, char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);

	if (!nl) {
		*ret = -errno;
		errbuf_set(err, errlen, "sock_diag socket: %s", strerror(-*ret));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*ret = -errno;
		errbuf_set(err, errlen, "sock_diag bind: %s", strerror(-*ret));
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

bool listen_unsupported(int err)
{
	return err == -ENOENT || err == -EINVAL || err == -EOPNOTSUPP ||
	       err == -EPROTONOSUPPORT || err == -EAFNOSUPPORT;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "sctp";
}

/* The dumps of one protocol: IPv4 when asked, IPv6 for IPv6 queries and for
 * IPv4 ones too (dual-stack sockets).  Returns 0 or the first dump's error. */
static int scan_proto(struct mnl_socket *nl, char *buf, struct scan_ctx *c)
{
	bool need4 = false, need6 = false;
	int ret;

	for (size_t i = 0; i < c->n; i++) {
		if (c->q[i].proto != c->proto)
			continue;
		if (c->q[i].family == AF_INET)
			need4 = true;
		else
			need6 = true;
	}
	if (need4) {
		c->family = AF_INET;
		ret = dump(nl, buf, c);
		if (ret < 0)
			return ret;
	}
	if (need4 || need6) {
		c->family = AF_INET6;
		ret = dump(nl, buf, c);
		/* A kernel without IPv6 has no dual-stack sockets either. */
		if (!need6 && (ret == -ENOENT || ret == -EAFNOSUPPORT))
			ret = 0;
		if (ret < 0)
			return ret;
	}
	return 0;
}

int listen_scan(const struct listen_query *q, size_t n, struct listen_answer *a,
		char *err, size_t errlen)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	char buf[LISTEN_DUMP_SIZE];
	struct scan_ctx c = { .q = q, .n = n, .a = a };
	struct mnl_socket *nl = NULL;
	size_t i, p;
	bool failed = false;
	int ret;

	if (n == 0)
		return 0;
	if (!q || !a) {
		errbuf_set(err, errlen, "listen_scan: no query or answer array");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if ((q[i].family != AF_INET && q[i].family != AF_INET6) ||
		    (q[i].proto != IPPROTO_TCP && q[i].proto != IPPROTO_UDP &&
		     q[i].proto != IPPROTO_SCTP)) {
			errbuf_set(err, errlen, "listen_scan: query %zu: family %u protocol %u",
				   i, q[i].family, q[i].proto);
			return -EINVAL;
		}
		a[i].listening = false;
		a[i].err = 0;
	}

	for (p = 0; p < sizeof(protos); p++) {
		for (i = 0; i < n && q[i].proto != protos[p]; i++)
			;
		if (i == n)
			continue;
		if (!nl) {
			nl = listen_diag_open(&ret, err, errlen);
			if (!nl) {
				/* No socket: nothing can be answered. */
				for (i = 0; i < n; i++)
					a[i].err = ret;
				return 0;
			}
		}
		c.proto = protos[p];
		ret = scan_proto(nl, buf, &c);
		if (ret == 0)
			continue;
		/* This protocol is unknown; the others go on, on a fresh
		 * socket (a dump cut short may have left messages behind). */
		for (i = 0; i < n; i++)
			if (q[i].proto == protos[p]) {
				a[i].listening = false;
				a[i].err = ret;
			}
		if (!failed) {
			failed = true;
			errbuf_set(err, errlen, "sock_diag dump (%s, %s): %s",
				   c.family == AF_INET ? "ipv4" : "ipv6", proto_name(c.proto),
				   strerror(-ret));
		}
		mnl_socket_close(nl);
		nl = NULL;
	}
	if (nl)
		mnl_socket_close(nl);
	return 0;
}

/* Not in the userspace headers: the state of request sockets, which the
 * kernel only dumps when asked for it (it reports them as SYN_RECV). */
#ifndef TCP_NEW_SYN_RECV
#define TCP_NEW_SYN_RECV 12
#endif

#define CONN_TCP_STATES	((1U << TCP_ESTABLISHED) | (1U << TCP_SYN_RECV) |		\
			 (1U << TCP_NEW_SYN_RECV) | (1U << TCP_FIN_WAIT1) |		\
			 (1U << TCP_FIN_WAIT2) | (1U << TCP_CLOSE_WAIT) |		\
			 (1U << TCP_LAST_ACK) | (1U << TCP_CLOSING))
/* A connected UDP socket is in TCP_ESTABLISHED. */
#define CONN_UDP_STATES	(1U << TCP_ESTABLISHED)

struct conns_ctx {
	uint8_t family;		/* asked for */
	uint8_t proto;
	uint8_t dump_family;	/* of the dump being read */
	uint16_t port;
	int (*cb)(const struct listen_conn *c, void *arg);
	void *arg;
	int count;
	bool stopped;
};

static int conns_cb(const struct nlmsghdr *nlh, void *data)
{
	struct conns_ctx *x = data;
	const struct inet_diag_msg *m;
	struct listen_conn c;
	struct in6_addr src, dst;
	uint32_t states;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	/* The kernel filtered already; check again so that a kernel that
	 * ignored the filter or the state mask cannot leak other sockets. */
	states = x->proto == IPPROTO_TCP ? CONN_TCP_STATES : CONN_UDP_STATES;
	if (m->idiag_family != x->dump_family || m->idiag_state >= 32 ||
	    !(states & (1U << m->idiag_state)) || ntohs(m->id.idiag_sport) != x->port ||
	    m->id.idiag_dport == 0)
		return MNL_CB_OK;

	memset(&c, 0, sizeof(c));
	c.proto = x->proto;
	c.lport = x->port;
	c.rport = ntohs(m->id.idiag_dport);
	c.tcp_state = m->idiag_state;
	if (m->idiag_family == AF_INET) {
		c.family = AF_INET;
		addr_from_bytes(&c.local, AF_INET, m->id.idiag_src);
		addr_from_bytes(&c.remote, AF_INET, m->id.idiag_dst);
	} else {
		memcpy(&src, m->id.idiag_src, 16);
		memcpy(&dst, m->id.idiag_dst, 16);
		if (IN6_IS_ADDR_V4MAPPED(&dst)) {
			/* An IPv4 peer on a dual-stack socket: the local end
			 * is mapped too, or unbound (UDP). */
			if (!IN6_IS_ADDR_V4MAPPED(&src) && !IN6_IS_ADDR_UNSPECIFIED(&src))
				return MNL_CB_OK;
			c.family = AF_INET;
			addr_from_bytes(&c.local, AF_INET, &src.s6_addr[12]);
			addr_from_bytes(&c.remote, AF_INET, &dst.s6_addr[12]);
		} else {
			c.family = AF_INET6;
			addr_from_bytes(&c.local, AF_INET6, &src);
			addr_from_bytes(&c.remote, AF_INET6, &dst);
		}
	}
	if (c.family != x->family)
		return MNL_CB_OK;
	if (x->count == INT_MAX)
		return MNL_CB_OK;
	x->count++;
	if (x->cb && x->cb(&c, x->arg)) {
		x->stopped = true;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

int listen_conns(uint8_t family, uint8_t proto, uint16_t port,
		 int (*cb)(const struct listen_conn *c, void *arg), void *arg,
		 char *err, size_t errlen)
{
	char buf[LISTEN_DUMP_SIZE];
	struct conns_ctx x = { .family = family, .proto = proto, .port = port,
			       .cb = cb, .arg = arg };
	struct mnl_socket *nl;
	uint32_t states;
	int ret;

	if (proto == IPPROTO_SCTP) {
		errbuf_set(err, errlen, "listen_conns: port %u/sctp: connections are listed for "
			   "tcp and udp only (SCTP associations are a later feature)", port);
		return -EOPNOTSUPP;
	}
	if ((family != AF_INET && family != AF_INET6) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP) || port == 0) {
		errbuf_set(err, errlen, "listen_conns: family %u protocol %u port %u",
			   family, proto, port);
		return -EINVAL;
	}
	states = proto == IPPROTO_TCP ? CONN_TCP_STATES : CONN_UDP_STATES;

	nl = listen_diag_open(&ret, err, errlen);
	if (!nl)
		return ret;
	ret = 0;
	if (family == AF_INET) {
		x.dump_family = AF_INET;
		ret = diag_dump(nl, buf, AF_INET, proto, states, port, conns_cb, &x);
	}
	/* IPv4 peers also sit on dual-stack IPv6 sockets. */
	if (ret == 0 && !x.stopped) {
		x.dump_family = AF_INET6;
		ret = diag_dump(nl, buf, AF_INET6, proto, states, port, conns_cb, &x);
		/* A kernel without IPv6 has no dual-stack sockets either. */
		if (family == AF_INET && (ret == -ENOENT || ret == -EAFNOSUPPORT))
			ret = 0;
	}
	if (ret < 0)
		errbuf_set(err, errlen, "sock_diag dump (%s, %s): %s",
			   x.dump_family == AF_INET ? "ipv4" : "ipv6",
			   proto_name(proto), strerror(-ret));
	else
		ret = x.count;
	mnl_socket_close(nl);
	return ret;
}
