/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpmap: element changes of the fast-path maps as nfnetlink batches
 * (libnftnl + libmnl); see rules/fpmap.h.
 *
 * A flush is one BEGIN .. END batch (more only when the socket's send buffer
 * cannot take it whole), sent without NLM_F_ACK: the kernel applies the batch
 * inside sendmsg() and queues an answer only for a message it refuses (and
 * for a failed commit, under the BEGIN's sequence number).  Nothing is read
 * back at the time; the next flush, fpmap_poll() or fpmap_get() reads those
 * answers without blocking and counts the batches they belong to.
 *
 * Sequence numbers: a batch part's messages take consecutive numbers from
 * a block of 2^shift that starts at a multiple of it, so that an error's
 * sequence number tells its part (block) and a part refused for several
 * messages is counted once.  fpmap_get()'s requests have the top bit set,
 * so a late answer to one is never taken for a batch's. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "common/errbuf.h"
#include "rules/fpmap.h"
#include "rules/rules.h"

#define FP_TABLE	RULES_TABLE

/* NFT_MSG_DESTROYSETELEM (kernel 6.3): the uapi headers this builds with may
 * predate it, and it is an enum there, so it is spelled out.  Like
 * DELSETELEM, but an element that is absent is no error. */
#define FP_MSG_DESTROYSETELEM	30

/* Sizes that bound what the builder writes (checked in fpmap_open's
 * arithmetic, never exceeded): an element is at most 4 (its nest) + 28 (key
 * nest, 20 bytes) + 24 (data nest, 16 bytes) + 12 (timeout) + 12
 * (expiration) = 80 bytes; a message's header and table and set names stay
 * below 100. */
#define ELEM_MAX	128
#define MSG_OVERHEAD	256
#define NEST_MAX	65535		/* an attribute's length is 16 bits */
#define CTRL_LEN	NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct nfgenmsg))
#define PART_CAP	(4u << 20)	/* a part's bytes, at most */
#define RBUF_LEN	16384
#define GET_WAIT_MS	100
#define GET_SEQ_BIT	0x80000000u

enum { OP_ADD, OP_DEL };

struct change {
	char name[FPMAP_NAME_MAX];
	uint8_t key[20];
	uint8_t val[16];
	uint32_t timeout_ms;
	uint8_t op, klen, vlen;
};

struct fpmap {
	struct mnl_socket *nl;
	int fd;
	struct change *pend;
	size_t n_pend, max_pending;
	char *buf;			/* one batch part */
	size_t limit;			/* bytes a part may take */
	char *rbuf;
	uint32_t block;			/* the next part's block number */
	unsigned int shift;		/* log2 of a block's sequence numbers */
	uint32_t gseq;
	struct fpmap_stats st;
};

/* Reading answers. */

struct rx {
	bool have_block;		/* a refused part was counted in this read */
	uint32_t last_block;
	bool waiting;			/* for the answer to get_seq */
	uint32_t get_seq;
	bool done;
	int error;			/* the get's -errno */
	bool found;
	uint64_t expires_ms;
	int counted;			/* refused parts counted */
};

static void
count_refusal(struct fpmap *m, struct rx *rx, uint32_t seq, int error)
{
	uint32_t block = seq >> m->shift;

	m->st.last_error = error;
	/* Answers come in order, and all of one part's before sendmsg() of
	 * that part returned, so they are consecutive within one read. */
	if (rx->have_block && rx->last_block == block)
		return;
	rx->have_block = true;
	rx->last_block = block;
	m->st.batch_errors++;
	rx->counted++;
}

/* The element's time left in a GETSETELEM answer (NEWSETELEM). */
static bool
parse_elem(const struct nlmsghdr *nlh, uint64_t *expires_ms)
{
	const struct nlattr *a, *e, *f;

	*expires_ms = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a) {
			mnl_attr_for_each_nested(f, e) {
				if (mnl_attr_get_type(f) == NFTA_SET_ELEM_EXPIRATION &&
				    mnl_attr_get_payload_len(f) == sizeof(uint64_t))
					*expires_ms = be64toh(mnl_attr_get_u64(f));
			}
			return true;
		}
	}
	return false;
}

static void
rx_msgs(struct fpmap *m, struct rx *rx, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		bool mine = rx->waiting && nlh->nlmsg_seq == rx->get_seq;

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			if (mine) {
				rx->done = true;
				rx->error = e->error;
			} else if (e->error != 0 && !(nlh->nlmsg_seq & GET_SEQ_BIT)) {
				count_refusal(m, rx, nlh->nlmsg_seq, -e->error);
			}
			/* else: a late answer to an earlier get, or an ack */
		} else if (mine && nlh->nlmsg_type ==
			   ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM)) {
			rx->done = true;
			rx->found = parse_elem(nlh, &rx->expires_ms);
			if (!rx->found)
				rx->error = -EPROTO;
		}
	}
}

/* One datagram, without blocking: 1 read (or an overrun counted), 0 nothing
 * there, -errno. */
static int
rx_one(struct fpmap *m, struct rx *rx)
{
	ssize_t n = recv(m->fd, m->rbuf, RBUF_LEN, MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return 1;
		if (errno == ENOBUFS) {
			/* The receive buffer overran: answers were lost, of
			 * at least one refused batch. */
			m->st.batch_errors++;
			m->st.last_error = ENOBUFS;
			rx->counted++;
			rx->have_block = false;
			return 1;
		}
		return -errno;
	}
	rx_msgs(m, rx, m->rbuf, (size_t)n);
	return 1;
}

int fpmap_poll(struct fpmap *m)
{
	struct rx rx = { 0 };
	int r;

	while ((r = rx_one(m, &rx)) > 0)
		;
	return r < 0 ? r : rx.counted;
}

/* Opening. */

static unsigned int
log2_ceil(size_t n)
{
	unsigned int s = 0;

	while (((size_t)1 << s) < n)
		s++;
	return s;
}

static int
sock_size(int fd, int force, int plain, size_t want)
{
	int v = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;
	socklen_t l = sizeof(v);

	/* FORCE needs CAP_NET_ADMIN, which the daemon has; else the sysctl
	 * maximum applies. */
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, plain, &v, &l) < 0)
		return 0;
	return v;
}

struct fpmap *fpmap_open(size_t max_pending, char *err, size_t errlen)
{
	struct fpmap *m;
	size_t want, min, msgs;
	int one = 1, sndbuf;

	if (max_pending == 0 || max_pending > (1u << 20)) {
		errbuf_set(err, errlen, "fpmap: %zu pending changes: out of range (1..%u)",
			   max_pending, 1u << 20);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto oom;
	m->fd = -1;
	m->max_pending = max_pending;
	m->pend = calloc(max_pending, sizeof(*m->pend));
	m->rbuf = malloc(RBUF_LEN);
	if (m->pend == NULL || m->rbuf == NULL)
		goto oom;
	/* Room for the worst case (every change a message of its own) plus one
	 * full message, so that all max_pending changes go in one part when
	 * the send buffer allows it. */
	want = 2 * CTRL_LEN + max_pending * (MSG_OVERHEAD + ELEM_MAX) + MSG_OVERHEAD +
	       NEST_MAX + ELEM_MAX;
	if (want > PART_CAP)
		want = PART_CAP;
	min = 2 * CTRL_LEN + MSG_OVERHEAD + NEST_MAX + 2 * ELEM_MAX;

	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (m->nl == NULL) {
		errbuf_set(err, errlen, "fpmap: netlink socket: %s", strerror(errno));
		goto fail;
	}
	m->fd = mnl_socket_get_fd(m->nl);
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		errbuf_set(err, errlen, "fpmap: netlink bind: %s", strerror(errno));
		goto fail;
	}
	/* A refused message comes back as its header only, not its 64 KiB. */
	mnl_socket_setsockopt(m->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* netlink_sendmsg() refuses a datagram above sk_sndbuf - 32. */
	sndbuf = sock_size(m->fd, SO_SNDBUFFORCE, SO_SNDBUF, want + 64);
	if (sndbuf - 64 < (int)want)
		want = sndbuf > 64 ? (size_t)sndbuf - 64 : 0;
	if (want < min) {
		errbuf_set(err, errlen, "fpmap: netlink send buffer of %d bytes, %zu needed",
			   sndbuf, min + 64);
		goto fail;
	}
	m->limit = want;
	/* Answers: at most one per message of the parts sent between two
	 * reads, each charged about 1 KiB (an skb); an overrun is counted. */
	msgs = max_pending + 2;
	sock_size(m->fd, SO_RCVBUFFORCE, SO_RCVBUF,
		  msgs * 1024 < 262144 ? 262144 : msgs * 1024 > (32u << 20) ? 32u << 20 :
		  msgs * 1024);
	m->buf = malloc(m->limit);
	if (m->buf == NULL)
		goto oom;
	/* Messages of a part: BEGIN, END, one per change at most, and one per
	 * 64 KiB split (fewer than the changes). */
	m->shift = log2_ceil(2 * max_pending + 4);
	m->block = 1;
	return m;
oom:
	errbuf_set(err, errlen, "fpmap: out of memory");
fail:
	fpmap_close(m);
	return NULL;
}

void fpmap_close(struct fpmap *m)
{
	if (m == NULL)
		return;
	if (m->nl != NULL)
		mnl_socket_close(m->nl);
	free(m->buf);
	free(m->rbuf);
	free(m->pend);
	free(m);
}

/* Queueing. */

static int
queue_change(struct fpmap *m, uint8_t op, const struct fpmap_key *k,
	     const struct ip_addr *target, uint32_t timeout_ms)
{
	struct change *c;

	if (m->n_pend >= m->max_pending)
		return -ENOSPC;
	c = &m->pend[m->n_pend];
	if (fpmap_name(c->name, sizeof(c->name), k->family, k->proto, &k->vaddr,
		       k->vport) < 0)
		return -EINVAL;
	c->klen = (uint8_t)fpmap_key_bytes(k, c->key);
	if (c->klen == 0)
		return -EINVAL;
	c->op = op;
	c->vlen = 0;
	c->timeout_ms = 0;
	if (op == OP_ADD) {
		if (target == NULL || target->family != k->family)
			return -EINVAL;
		c->vlen = (uint8_t)addr_len(target);
		memcpy(c->val, target->b, c->vlen);
		c->timeout_ms = timeout_ms;
	}
	m->n_pend++;
	return 0;
}

int fpmap_add(struct fpmap *m, const struct fpmap_key *k, const struct ip_addr *target,
	      uint32_t timeout_ms)
{
	return queue_change(m, OP_ADD, k, target, timeout_ms);
}

int fpmap_del(struct fpmap *m, const struct fpmap_key *k)
{
	return queue_change(m, OP_DEL, k, NULL, 0);
}

size_t fpmap_pending(const struct fpmap *m)
{
	return m->n_pend;
}

/* Sending. */

struct part {
	size_t pos;
	uint32_t seq;
	size_t msgs;			/* element messages in it */
	uint64_t adds, dels;		/* elements in it */
};

static void
part_begin(struct fpmap *m, struct part *p)
{
	memset(p, 0, sizeof(*p));
	p->seq = (m->block << m->shift) & ~GET_SEQ_BIT;
	m->block++;
	if (((m->block << m->shift) & ~GET_SEQ_BIT) == 0)
		m->block = 1;		/* wrapped: keep block 0 unused */
	nftnl_batch_begin(m->buf, p->seq++);
	p->pos = CTRL_LEN;
}

/* Ends and sends the part; 0 or -errno (its changes then count as lost). */
static int
part_send(struct fpmap *m, struct part *p)
{
	nftnl_batch_end(m->buf + p->pos, p->seq++);
	p->pos += CTRL_LEN;
	if (mnl_socket_sendto(m->nl, m->buf, p->pos) < 0) {
		int e = errno;

		m->st.send_errors++;
		m->st.last_error = e;
		return -e;
	}
	m->st.batches++;
	m->st.adds += p->adds;
	m->st.dels += p->dels;
	return 0;
}

static size_t
count_elems(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *e;
	size_t n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			n++;
	}
	return n;
}

/* The changes [i0, i1), one map and one op, as NEWSETELEM or DESTROYSETELEM
 * messages of at most 64 KiB of elements each; a part that has no room for
 * the next message is sent first.  0 or -errno. */
static int
put_group(struct fpmap *m, struct part *p, size_t i0, size_t i1)
{
	const struct change *c0 = &m->pend[i0];
	uint16_t type = c0->op == OP_ADD ? NFT_MSG_NEWSETELEM : FP_MSG_DESTROYSETELEM;
	/* CREATE without EXCL: an element already there with the same value
	 * is refreshed, not refused. */
	uint16_t flags = c0->op == OP_ADD ? NLM_F_CREATE : 0;
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set *s;
	size_t i, left = i1 - i0;
	int more, ret = 0;

	s = nftnl_set_alloc();
	if (s == NULL)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, FP_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, c0->name);
	for (i = i0; i < i1; i++) {
		const struct change *c = &m->pend[i];
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (e == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, c->key, c->klen);
		if (c->op == OP_ADD) {
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, c->val, c->vlen);
			/* The expiration too: an element already there gets a
			 * new expiry only when its timeout changes or one is
			 * given (6.18: nft_add_set_elem()). */
			if (c->timeout_ms) {
				nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, c->timeout_ms);
				nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, c->timeout_ms);
			}
		}
		nftnl_set_elem_add(s, e);
	}
	it = nftnl_set_elems_iter_create(s);
	if (it == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	do {
		/* The builder writes one element past 64 KiB before it takes
		 * it back, hence NEST_MAX + ELEM_MAX. */
		size_t need = MSG_OVERHEAD + CTRL_LEN +
			      (left * ELEM_MAX < NEST_MAX ? left * ELEM_MAX : NEST_MAX + ELEM_MAX);
		struct nlmsghdr *nlh;
		size_t n;

		if (p->pos + need > m->limit && p->msgs > 0) {
			ret = part_send(m, p);
			part_begin(m, p);
			if (ret < 0)
				goto out;
		}
		nlh = nftnl_nlmsg_build_hdr(m->buf + p->pos, type, NFPROTO_INET, flags, p->seq++);
		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
		n = count_elems(nlh);
		if (n == 0 || n > left) {
			ret = -EPROTO;	/* never: the builder went wrong */
			goto out;
		}
		left -= n;
		if (c0->op == OP_ADD)
			p->adds += n;
		else
			p->dels += n;
		p->pos += NLMSG_ALIGN(nlh->nlmsg_len);
		p->msgs++;
	} while (more > 0 && left > 0);
out:
	if (it != NULL)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return ret;
}

int fpmap_flush(struct fpmap *m)
{
	struct part p;
	size_t i, j, n = m->n_pend;
	int ret = 0;

	fpmap_poll(m);
	if (n == 0)
		return 0;
	part_begin(m, &p);
	for (i = 0; i < n && ret == 0; i = j) {
		for (j = i + 1; j < n; j++)
			if (m->pend[j].op != m->pend[i].op ||
			    strcmp(m->pend[j].name, m->pend[i].name) != 0)
				break;
		ret = put_group(m, &p, i, j);
	}
	if (ret == 0 && p.msgs > 0)
		ret = part_send(m, &p);
	else if (ret == -ENOMEM || ret == -EPROTO)
		m->st.send_errors++;
	m->n_pend = 0;
	return ret < 0 ? ret : (int)n;
}

/* Reading one element back. */

int fpmap_get(struct fpmap *m, const struct fpmap_key *k, uint64_t *expires_ms)
{
	char req[512], name[FPMAP_NAME_MAX];
	uint8_t key[20];
	struct nlattr *n1, *n2, *n3;
	struct nlmsghdr *nlh;
	struct rx rx = { 0 };
	struct timespec t0, t;
	size_t klen;
	int r;

	m->st.gets++;
	*expires_ms = 0;
	klen = fpmap_key_bytes(k, key);
	if (klen == 0 || fpmap_name(name, sizeof(name), k->family, k->proto, &k->vaddr,
				    k->vport) < 0) {
		m->st.get_errors++;
		return -EINVAL;
	}
	rx.waiting = true;
	rx.get_seq = GET_SEQ_BIT | (m->gseq++ & ~GET_SEQ_BIT);
	/* Not a dump: the kernel answers with this one element or an error. */
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, NFPROTO_INET, 0, rx.get_seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, FP_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
	n1 = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	n2 = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	n3 = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, key);
	mnl_attr_nest_end(nlh, n3);
	mnl_attr_nest_end(nlh, n2);
	mnl_attr_nest_end(nlh, n1);
	if (mnl_socket_sendto(m->nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		m->st.get_errors++;
		return r;
	}
	/* The answer is queued before sendmsg() returns; the poll is only a
	 * bound, should the kernel ever answer later. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!rx.done) {
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
		long ms;

		r = rx_one(m, &rx);
		if (r < 0) {
			m->st.get_errors++;
			return r;
		}
		if (r > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= GET_WAIT_MS || poll(&pfd, 1, (int)(GET_WAIT_MS - ms)) == 0) {
			m->st.get_errors++;
			return -ETIMEDOUT;
		}
	}
	if (rx.error == -ENOENT)
		return 0;
	if (rx.error != 0 || !rx.found) {
		m->st.get_errors++;
		return rx.error ? rx.error : -EPROTO;
	}
	*expires_ms = rx.expires_ms;
	return 1;
}

const struct fpmap_stats *fpmap_stats(const struct fpmap *m)
{
	return &m->st;
}
