/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfq/queue.h"

/* A GSO packet can be 64 KiB; one netlink message carries one packet. */
#define QUEUE_RBUF (0xffff + 4096)
/* Verdicts of one drain go out together; flushed early when full. */
#define QUEUE_VBUF (256 * 1024)

struct queue {
	struct mnl_socket *nl;
	uint16_t num;
	uint32_t portid;
	uint8_t *rbuf;
	uint8_t *vbuf;
	size_t vlen;
};

static int queue_cfg_send(struct queue *q, char *err, size_t errlen, const char *what,
			  void (*fill)(struct nlmsghdr *nlh, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	int ret;

	nlh->nlmsg_flags |= NLM_F_ACK;
	fill(nlh, arg);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	ret = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (ret < 0)
		goto fail;
	if (mnl_cb_run(buf, (size_t)ret, 0, q->portid, NULL, NULL) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "queue %u: %s: %s%s", q->num, what, strerror(errno),
		 errno == EBUSY ? " (another process holds this queue: is clusterd already running?)"
				: "");
	return -errno;
}

static void queue_fill_bind(struct nlmsghdr *nlh, void *arg)
{
	(void)arg;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
}

static void queue_fill_params(struct nlmsghdr *nlh, void *arg)
{
	uint32_t maxlen = *(uint32_t *)arg;

	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	/* GSO: no segmentation in the kernel; we honour CSUMNOTREADY.  No
	 * FAIL_OPEN: a full queue drops instead of passing VIPA traffic. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
}

struct queue *queue_open(uint16_t num, uint32_t maxlen, int rcvbuf, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	int one = 1, sndbuf = 4 * QUEUE_VBUF;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->num = num;
	q->rbuf = malloc(QUEUE_RBUF);
	q->vbuf = malloc(QUEUE_VBUF);
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->rbuf || !q->vbuf || !q->nl) {
		snprintf(err, errlen, "queue %u: netlink socket: %s", num, strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "queue %u: bind: %s", num, strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* Counted ENOBUFS is how we see the socket overrun; keep it reported. */
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	/* A verdict batch is one sendmsg: the send buffer must hold it whole
	 * (netlink refuses a message larger than sk_sndbuf). */
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
		       sizeof(sndbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
	setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (queue_cfg_send(q, err, errlen, "bind", queue_fill_bind, NULL) < 0)
		goto fail;
	if (queue_cfg_send(q, err, errlen, "set parameters", queue_fill_params, &maxlen) < 0)
		goto fail;
	return q;
fail:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rbuf);
	free(q->vbuf);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

static int queue_flush(struct queue *q, struct stats *st)
{
	const struct nlmsghdr *nlh;
	int left = (int)q->vlen, ret = 0;

	if (!q->vlen)
		return 0;
	if (mnl_socket_sendto(q->nl, q->vbuf, q->vlen) >= 0) {
		q->vlen = 0;
		return 0;
	}
	/* A packet without a verdict stays queued in the kernel for good:
	 * never lose a batch, send its verdicts one by one. */
	for (nlh = (const struct nlmsghdr *)q->vbuf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
			stats_inc(st, STAT_Q_VERDICT_ERR);
			ret = -errno;
		}
	}
	q->vlen = 0;
	return ret;
}

static void queue_verdict(struct queue *q, struct stats *st, uint32_t id, enum queue_verdict v,
			  const uint8_t *data, size_t len)
{
	size_t need = NLMSG_ALIGN(NLMSG_HDRLEN + 64 + (v == QUEUE_ACCEPT_MANGLED ? len + 8 : 0));
	struct nlmsghdr *nlh;

	if (q->vlen + need > QUEUE_VBUF)
		queue_flush(q, st);
	nlh = nfq_nlmsg_put((char *)q->vbuf + q->vlen, NFQNL_MSG_VERDICT, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, v == QUEUE_DROP ? NF_DROP : NF_ACCEPT);
	if (v == QUEUE_ACCEPT_MANGLED)
		nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
	q->vlen += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void queue_one(struct queue *q, const struct nlmsghdr *nlh, queue_cb cb, void *arg,
		      struct stats *st)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	struct queue_pkt p;
	enum queue_verdict v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&p, 0, sizeof(p));
	p.id = ntohl(ph->packet_id);
	p.hook = ph->hook;
	if (attr[NFQA_SKB_INFO])
		p.csum_notready = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) &
				  NFQA_SKB_CSUMNOTREADY;
	if (!attr[NFQA_PAYLOAD] || (attr[NFQA_CAP_LEN] &&
	    ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) != mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]))) {
		/* We cannot rewrite what we did not get whole. */
		stats_inc(st, STAT_Q_TOO_BIG);
		stats_inc(st, STAT_DROPPED);
		queue_verdict(q, st, p.id, QUEUE_DROP, NULL, 0);
		return;
	}
	p.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	v = cb(arg, &p);
	queue_verdict(q, st, p.id, v, p.data, p.len);
}

int queue_process(struct queue *q, unsigned budget, queue_cb cb, void *arg, struct stats *st)
{
	int handled = 0;

	for (unsigned i = 0; i < budget; i++) {
		ssize_t n = recv(queue_fd(q), q->rbuf, QUEUE_RBUF, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			if (errno == ENOBUFS) {
				/* Packets were lost between kernel and us. */
				stats_inc(st, STAT_Q_ENOBUFS);
				continue;
			}
			queue_flush(q, st);
			return -errno;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)q->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error)
					stats_inc(st, STAT_Q_VERDICT_ERR);
				continue;
			}
			if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
				continue;
			queue_one(q, nlh, cb, arg, st);
			handled++;
		}
	}
	queue_flush(q, st);
	return handled;
}
