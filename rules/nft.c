/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nft: the ruleset into the kernel as one nfnetlink batch (libnftnl + libmnl).
 *
 * Rules are built expression by expression exactly as nft 1.0.6 compiles the
 * text that rules_render() prints (checked with `nft --debug=netlink`), so
 * `nft list table inet clusterd` reads back the rendering.  One deliberate
 * difference: the IPv6 fast rule's map update takes its data from NFT_REG_3,
 * where nft 1.0.6 miscompiles it into NFT_REG_2 (e_fastmap). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/errbuf.h"
#include "rules/nft.h"

#define PROBE_TABLE	"clusterd_probe"
#define PROBE_CHAIN	"probe"
#define DESC_LEN	64

/* nft's datatype numbers (src/datatype.h), so that `nft list` prints the
 * anonymous sets' elements as addresses and ICMP type names. */
#define NFT_TYPE_IPADDR		7
#define NFT_TYPE_IP6ADDR	8
#define NFT_TYPE_INET_SERVICE	13
/* A concatenation's type: its members' types, 6 bits each, first member
 * highest (nft's concat_type_alloc). */
#define NFT_TYPE_CONCAT2(a, b)	((uint32_t)(a) << 6 | (b))
#define NFT_TYPE_ICMP_TYPE	14
#define NFT_TYPE_ICMP6_TYPE	29
#define NFT_BYTEORDER_HOST	1
#define NFT_BYTEORDER_BIG	2

/* One batch under construction.  The buffer is twice the limit: libmnl lets a
 * message cross the limit once (then reports overflow) and each message is far
 * smaller than the limit, so nothing is ever written past the buffer. */
struct nb {
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t seq0, seq;
	uint32_t set_id;
	char (*desc)[DESC_LEN];		/* what message seq0 + i carries */
	size_t n_desc, cap_desc;
	struct nlmsghdr *cur;
	int err;			/* first build error, sticky */
};

static int
nb_init(struct nb *nb, size_t limit)
{
	memset(nb, 0, sizeof(*nb));
	nb->buf = malloc(limit * 2);
	if (nb->buf == NULL)
		return -ENOMEM;
	nb->b = mnl_nlmsg_batch_start(nb->buf, limit);
	if (nb->b == NULL) {
		free(nb->buf);
		return -ENOMEM;
	}
	nb->seq0 = nb->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(mnl_nlmsg_batch_current(nb->b), nb->seq++);
	mnl_nlmsg_batch_next(nb->b);
	return 0;
}

static void
nb_fini(struct nb *nb)
{
	if (nb->b != NULL)
		mnl_nlmsg_batch_stop(nb->b);
	free(nb->buf);
	free(nb->desc);
}

/* Starts a message; the caller fills the payload and calls nb_next(). */
static struct nlmsghdr *
nb_msg(struct nb *nb, uint16_t type, uint16_t flags, const char *desc)
{
	if (nb->err)
		return NULL;
	if (nb->n_desc == nb->cap_desc) {
		size_t cap = nb->cap_desc ? nb->cap_desc * 2 : 64;
		void *p = reallocarray(nb->desc, cap, sizeof(*nb->desc));

		if (p == NULL) {
			nb->err = -ENOMEM;
			return NULL;
		}
		nb->desc = p;
		nb->cap_desc = cap;
	}
	snprintf(nb->desc[nb->n_desc++], DESC_LEN, "%s", desc);
	nb->cur = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(nb->b), type, NFPROTO_INET,
					flags | NLM_F_ACK, nb->seq++);
	return nb->cur;
}

static void
nb_next(struct nb *nb)
{
	if (nb->err)
		return;
	if (!mnl_nlmsg_batch_next(nb->b))
		nb->err = -EMSGSIZE;
}

static void
nb_end(struct nb *nb)
{
	if (nb->err)
		return;
	nftnl_batch_end(mnl_nlmsg_batch_current(nb->b), nb->seq++);
	if (!mnl_nlmsg_batch_next(nb->b))
		nb->err = -EMSGSIZE;
}

static const char *
nb_desc(const struct nb *nb, uint32_t seq)
{
	uint32_t i = seq - nb->seq0 - 1;	/* seq0 is the batch begin */

	return i < nb->n_desc ? nb->desc[i] : "batch";
}

struct ack {
	const struct nb *nb;
	size_t answered;
	int error;			/* first -errno */
	uint32_t error_seq;
	char extack[128];
};

static int
extack_cb(const struct nlattr *a, void *data)
{
	struct ack *ack = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(ack->extack, sizeof(ack->extack), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static void
parse_acks(struct ack *ack, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			continue;
		e = mnl_nlmsg_get_payload(nlh);
		ack->answered++;
		if (e->error == 0 || ack->error)
			continue;
		ack->error = e->error;
		ack->error_seq = nlh->nlmsg_seq;
		/* With NETLINK_CAP_ACK the refused message is echoed as its header
		 * only, so the extended ack attributes follow struct nlmsgerr. */
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
			mnl_attr_parse((struct nlmsghdr *)nlh, sizeof(*e), extack_cb, ack);
	}
}

/* Sends the batch; the kernel processes it in sendmsg() and queues one ack or
 * error per message before sendmsg() returns, so a short poll suffices. */
static int
nb_send(struct nb *nb, const char *what, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	struct ack ack = { .nb = nb };
	size_t len, expect;
	char *rbuf = NULL;
	int one = 1, sz, ret = 0;
	struct pollfd pfd;

	if (nb->err) {
		errbuf_set(err, errlen, "%s: building the batch: %s", what, strerror(-nb->err));
		return nb->err;
	}
	len = mnl_nlmsg_batch_size(nb->b);
	expect = nb->n_desc;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (nl == NULL) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: netlink socket: %s", what, strerror(errno));
		return ret;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: netlink bind: %s", what, strerror(errno));
		goto out;
	}
	/* Best effort: small acks, error strings, room for the batch and acks. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	sz = len > INT32_MAX / 2 ? INT32_MAX / 2 : (int)len * 2;
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	sz = (int)(expect * 256 + 65536);
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));

	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(nb->b), len) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: netlink send: %s", what, strerror(errno));
		goto out;
	}
	rbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (rbuf == NULL) {
		ret = -ENOMEM;
		errbuf_set(err, errlen, "%s: out of memory", what);
		goto out;
	}
	pfd.fd = mnl_socket_get_fd(nl);
	pfd.events = POLLIN;
	while (ack.answered < expect) {
		ssize_t n;

		if (poll(&pfd, 1, 1000) <= 0)
			break;
		n = recv(pfd.fd, rbuf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			errbuf_set(err, errlen, "%s: netlink receive: %s", what, strerror(errno));
			goto out;
		}
		parse_acks(&ack, rbuf, (size_t)n);
	}
	if (ack.error) {
		ret = ack.error;
		errbuf_set(err, errlen, "%s: kernel refused %s: %s%s%s", what,
			   nb_desc(nb, ack.error_seq), strerror(-ack.error),
			   ack.extack[0] ? ": " : "", ack.extack);
	} else if (ack.answered < expect) {
		ret = -ETIMEDOUT;
		errbuf_set(err, errlen, "%s: %zu of %zu messages unanswered", what,
			   expect - ack.answered, expect);
	}
out:
	free(rbuf);
	mnl_socket_close(nl);
	return ret;
}

/* Tables and chains. */

static void
put_table(struct nb *nb, uint16_t type, uint16_t flags, const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	char desc[DESC_LEN];

	if (t == NULL) {
		nb->err = nb->err ? nb->err : -ENOMEM;
		return;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	snprintf(desc, sizeof(desc), "%s table inet %s",
		 type == NFT_MSG_DELTABLE ? "deleting" : "adding", name);
	nlh = nb_msg(nb, type, flags, desc);
	if (nlh != NULL) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		nb_next(nb);
	}
	nftnl_table_free(t);
}

static void
put_chain(struct nb *nb, const char *table, const char *name, uint32_t hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char desc[DESC_LEN];

	if (c == NULL) {
		nb->err = nb->err ? nb->err : -ENOMEM;
		return;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, RULES_PRIORITY);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	snprintf(desc, sizeof(desc), "chain %s", name);
	nlh = nb_msg(nb, NFT_MSG_NEWCHAIN, NLM_F_CREATE, desc);
	if (nlh != NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nb_next(nb);
	}
	nftnl_chain_free(c);
}

/* Expressions.  Each returns 0 or -ENOMEM; the rule owns what was added. */

static int
add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

/* An empty rule of the inet table `table`, chain `chain`. */
static struct nftnl_rule *
rule_new(const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r == NULL)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static int
e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return add_expr(r, e);
}

static int
e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return add_expr(r, e);
}

static int
e_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return add_expr(r, e);
}

static int
e_cmp_eq(struct nftnl_rule *r, uint32_t sreg, const void *data, uint32_t len)
{
	return e_cmp(r, sreg, NFT_CMP_EQ, data, len);
}

/* inv: the match is "not in the set" (`!= { ... }`). */
static int
e_lookup_inv(struct nftnl_rule *r, uint32_t sreg, uint32_t set_id, bool inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, "__set%d");
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
		if (inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	}
	return add_expr(r, e);
}

static int
e_lookup(struct nftnl_rule *r, uint32_t sreg, uint32_t set_id)
{
	return e_lookup_inv(r, sreg, set_id, false);
}

static int
e_drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	}
	return add_expr(r, e);
}

static int
e_accept(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
	return add_expr(r, e);
}

static int
e_notrack(struct nftnl_rule *r)
{
	return add_expr(r, nftnl_expr_alloc("notrack"));
}

/* `immediate reg dreg DATA`: a constant (address or port) for a write. */
static int
e_imm_data(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	}
	return add_expr(r, e);
}

/* `payload write reg sreg => len @ base + off csum_type ... `, as nft
 * compiles `ip saddr set` (csum_type 1 at the IPv4 header's checksum, 0 for
 * IPv6, with L4 pseudo-header fixing) and `tcp sport set` / `udp sport set`
 * (csum_type 1 at the L4 checksum). */
static int
e_payload_write(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t sreg,
		uint32_t csum_type, uint32_t csum_off, uint32_t flags)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, csum_type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, csum_off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, flags);
	}
	return add_expr(r, e);
}

static int
e_counter(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("counter");

	if (e != NULL) {
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	}
	return add_expr(r, e);
}

/* The fast path's tail after notrack: the source address (and port unless
 * it stays) written with the kernel fixing the checksums, counted, accepted. */
static int
e_rewrite(struct nftnl_rule *r, const struct rules_match *m)
{
	bool v4 = m->family == AF_INET;
	uint32_t alen = v4 ? 4 : 16, saddr_off = v4 ? 12 : 8;
	uint16_t port = htons(m->to_port);
	int err = 0;

	err = err ? err : e_imm_data(r, NFT_REG_1, m->to.b, alen);
	err = err ? err : e_payload_write(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off, alen, NFT_REG_1,
					  v4 ? NFT_PAYLOAD_CSUM_INET : NFT_PAYLOAD_CSUM_NONE,
					  v4 ? 10 : 0, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
	if (m->to_port != m->port) {
		err = err ? err : e_imm_data(r, NFT_REG_1, &port, 2);
		err = err ? err : e_payload_write(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1,
						  NFT_PAYLOAD_CSUM_INET,
						  m->proto == IPPROTO_TCP ? 16 : 6, 0);
	}
	err = err ? err : e_counter(r);
	err = err ? err : e_accept(r);
	return err;
}

/* `bitwise reg = (reg & mask) ^ 0` over len bytes, as nft compiles a flag
 * test such as `tcp flags & (fin|syn|rst) == 0`. */
static int
e_bitwise_and(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return add_expr(r, e);
}

/* `lookup reg sreg set NAME dreg dreg`: a named map's value into dreg; a
 * miss ends the rule (NFT_BREAK) before anything after it. */
static int
e_map_lookup(struct nftnl_rule *r, uint32_t sreg, const char *set, uint32_t set_id,
	     uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	}
	return add_expr(r, e);
}

/* `dynset update reg_key key set NAME sreg_data data timeout T`: the
 * element's expiry restarts (it is created when absent). */
static int
e_dynset_update(struct nftnl_rule *r, uint32_t key, uint32_t data, const char *set,
		uint32_t set_id, uint64_t timeout_ms)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, data);
		nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
		if (timeout_ms)
			nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);
	}
	return add_expr(r, e);
}

/* The client side, the fast map's key (rules/fpmap.h), from NFT_REG_1 on:
 * v4 the address (word 0) then the port (word 1, NFT_REG32_01); v6 the port
 * (word 0) then the address (words 1..4).  The port first for IPv6 because
 * nft 1.0.6 cannot list a concatenation that starts in NFT_REG32_00 with a
 * 2-byte field (netlink_delinearize.c asserts), nor compile the address-first
 * one: what it lists back must be `tcp sport . ip6 saddr`. */
static int
e_fast_key(struct nftnl_rule *r, bool v4)
{
	int err = 0;

	if (v4) {
		err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
		err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_01);
	} else {
		err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
		err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG32_01);
	}
	return err;
}

/* The distributor's fast rule after notrack (rules/rules.h), as nft 1.0.6
 * compiles `ip daddr set ip saddr . tcp sport map @M tcp dport set TP update
 * @M { ip saddr . tcp sport timeout T : ip daddr } counter accept`, except
 * for IPv6: there nft puts the update's data in NFT_REG_2 (words 4..7),
 * over the 20-byte key's last word, and every packet then adds a bogus
 * element; here it goes to NFT_REG_3 (words 8..11), clear of the key.  The
 * destination address write fixes the IPv4 header checksum (at 10) and the
 * L4 checksum's pseudo-header; the port write the L4 checksum. */
static int
e_fastmap(struct nftnl_rule *r, const struct rules_match *m, uint32_t set_id)
{
	bool v4 = m->family == AF_INET;
	uint32_t alen = v4 ? 4 : 16, daddr_off = v4 ? 16 : 24;
	uint16_t port = htons(m->to_port);
	int err = 0;

	err = err ? err : e_fast_key(r, v4);
	err = err ? err : e_map_lookup(r, NFT_REG_1, m->map, set_id, NFT_REG_1);
	err = err ? err : e_payload_write(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off, alen, NFT_REG_1,
					  v4 ? NFT_PAYLOAD_CSUM_INET : NFT_PAYLOAD_CSUM_NONE,
					  v4 ? 10 : 0, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
	if (m->to_port != m->port) {
		err = err ? err : e_imm_data(r, NFT_REG_1, &port, 2);
		err = err ? err : e_payload_write(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1,
						  NFT_PAYLOAD_CSUM_INET,
						  m->proto == IPPROTO_TCP ? 16 : 6, 0);
	}
	/* The key again (the registers were overwritten), the new destination
	 * as the data: the element's timeout restarts. */
	err = err ? err : e_fast_key(r, v4);
	err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off, alen,
				    v4 ? NFT_REG_2 : NFT_REG_3);
	err = err ? err : e_dynset_update(r, NFT_REG_1, v4 ? NFT_REG_2 : NFT_REG_3, m->map, set_id,
					  m->timeout_ms);
	err = err ? err : e_counter(r);
	err = err ? err : e_accept(r);
	return err;
}

static int
e_jhash(struct nftnl_rule *r, uint32_t sreg, uint32_t len, uint32_t mod, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("hash");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, dreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, mod);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_SEED, RULES_HASH_SEED);
	}
	return add_expr(r, e);
}

/* No flags: no bypass, no fanout.  Without a reader the kernel drops. */
static int
e_queue(struct nftnl_rule *r, uint16_t num, bool native)
{
	struct xt_NFQ_info_v3 *info;
	struct nftnl_expr *e;

	if (native) {
		e = nftnl_expr_alloc("queue");
		if (e != NULL) {
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, num);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
		}
		return add_expr(r, e);
	}
	/* xt_check_target() wants the info padded to XT_ALIGN; libnftnl takes
	 * ownership of the buffer and frees it with the expression. */
	info = calloc(1, XT_ALIGN(sizeof(*info)));
	if (info == NULL)
		return -ENOMEM;
	info->queuenum = num;
	info->queues_total = 1;
	info->flags = 0;
	e = nftnl_expr_alloc("target");
	if (e == NULL) {
		free(info);
		return -ENOMEM;
	}
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, XT_ALIGN(sizeof(*info)));
	return add_expr(r, e);
}

/* An anonymous constant set, as nft makes for `{ a, b }`; returns its id. */
static uint32_t
put_set(struct nb *nb, uint32_t key_type, uint32_t key_len, uint32_t byteorder,
	const void *keys, size_t stride, size_t n, const char *desc)
{
	struct nftnl_udata_buf *ud = NULL;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	uint32_t id = ++nb->set_id;
	size_t i;

	s = nftnl_set_alloc();
	ud = nftnl_udata_buf_alloc(64);
	if (s == NULL || ud == NULL ||
	    !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, byteorder))
		goto oom;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, RULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "__set%d");
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)n);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	nlh = nb_msg(nb, NFT_MSG_NEWSET, NLM_F_CREATE, desc);
	if (nlh != NULL) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nb_next(nb);
	}
	for (i = 0; i < n; i++) {
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();

		if (el == NULL)
			goto oom;
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, (const char *)keys + i * stride,
				   key_len);
		nftnl_set_elem_add(s, el);
	}
	nlh = nb_msg(nb, NFT_MSG_NEWSETELEM, NLM_F_CREATE, desc);
	if (nlh != NULL) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nb_next(nb);
	}
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
	return id;
oom:
	nb->err = nb->err ? nb->err : -ENOMEM;
	if (ud != NULL)
		nftnl_udata_buf_free(ud);
	if (s != NULL)
		nftnl_set_free(s);
	return 0;
}

/* The map of fast match m (rules/rules.h): a named map with flags
 * dynamic,timeout, as nft 1.0.6 sends `map M { type ipv4_addr . inet_service
 * : ipv4_addr; flags dynamic,timeout; timeout T; size N; }` (v6: type
 * inet_service . ipv6_addr : ipv6_addr), without nft's userdata (which the
 * listing does not need: the types say it all).  Returns its set id. */
static uint32_t
put_fastmap(struct nb *nb, const struct rules_match *m, const struct rules_opts *o)
{
	bool v4 = m->family == AF_INET;
	uint32_t id = ++nb->set_id;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	char desc[DESC_LEN];

	s = nftnl_set_alloc();
	if (s == NULL) {
		nb->err = nb->err ? nb->err : -ENOMEM;
		return 0;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, RULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, m->map);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  v4 ? NFT_TYPE_CONCAT2(NFT_TYPE_IPADDR, NFT_TYPE_INET_SERVICE)
			     : NFT_TYPE_CONCAT2(NFT_TYPE_INET_SERVICE, NFT_TYPE_IP6ADDR));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v4 ? 8 : 20);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, v4 ? 4 : 16);
	if (m->timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, m->timeout_ms);
	if (o->fp_map_size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, o->fp_map_size);
	snprintf(desc, sizeof(desc), "map %s", m->map);
	nlh = nb_msg(nb, NFT_MSG_NEWSET, NLM_F_CREATE, desc);
	if (nlh != NULL) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nb_next(nb);
	}
	nftnl_set_free(s);
	return id;
}

/* Register number of the 32-bit word `word` of the register file. */
static uint32_t
reg32(uint32_t word)
{
	return NFT_REG32_00 + word - 4;
}

/* One rule for match m; queue index qi < 0 means notrack only, else the
 * rule is the qi-th of the nq that split m over queues (rules_match_queues). */
static void
put_rule(struct nb *nb, const struct rules_match *m, const struct rules_opts *o, int qi,
	 unsigned nq, size_t idx, uint32_t map_id)
{
	bool v4 = m->family == AF_INET, pre = m->hook == RULES_HOOK_PREROUTING;
	const char *chain = pre ? RULES_CHAIN_PRE : RULES_CHAIN_OUT;
	uint32_t alen = v4 ? 4 : 16;
	uint32_t saddr_off = v4 ? 12 : 8, daddr_off = v4 ? 16 : 24;
	bool icmp = m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6;
	uint8_t nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t addr_set = 0, icmp_set = 0;
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	char desc[DESC_LEN];
	uint16_t port;
	int err = 0;

	snprintf(desc, sizeof(desc), "set of match %zu in chain %s", idx, chain);
	if (m->n_addrs > 1)
		addr_set = put_set(nb, v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR, alen,
				   NFT_BYTEORDER_BIG, m->addrs[0].b, sizeof(m->addrs[0]),
				   m->n_addrs, desc);
	if (icmp) {
		size_t n;
		const uint8_t *types = rules_icmp_errors(m->family, &n);

		icmp_set = put_set(nb, v4 ? NFT_TYPE_ICMP_TYPE : NFT_TYPE_ICMP6_TYPE, 1,
				   NFT_BYTEORDER_HOST, types, 1, n, desc);
	}
	if (nb->err)
		return;

	r = rule_new(RULES_TABLE, chain);
	if (r == NULL) {
		nb->err = -ENOMEM;
		return;
	}

	err = err ? err : e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &nfproto, 1);
	err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, pre ? daddr_off : saddr_off,
				    alen, NFT_REG_1);
	if (m->n_addrs > 1)
		err = err ? err : e_lookup(r, NFT_REG_1, addr_set);
	else
		err = err ? err : e_cmp_eq(r, NFT_REG_1, m->addrs[0].b, alen);
	err = err ? err : e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &m->proto, 1);
	if (icmp) {
		err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
		err = err ? err : e_lookup(r, NFT_REG_1, icmp_set);
	} else {
		port = htons(m->port);
		err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, pre ? 2 : 0, 2,
					    NFT_REG_1);
		err = err ? err : e_cmp_eq(r, NFT_REG_1, &port, 2);
	}
	if (m->fastmap && m->proto == IPPROTO_TCP) {
		/* tcp flags & (fin|syn|rst) == 0: th+13, bits 0..2 */
		uint8_t fsr = 0x07, zero = 0;

		err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
		err = err ? err : e_bitwise_and(r, NFT_REG_1, &fsr, 1);
		err = err ? err : e_cmp_eq(r, NFT_REG_1, &zero, 1);
	}
	err = err ? err : e_notrack(r);
	if (m->rewrite)
		err = err ? err : e_rewrite(r, m);
	if (m->fastmap)
		err = err ? err : e_fastmap(r, m, map_id);
	if (qi >= 0 && nq > 1) {
		/* The client side, concatenated from NFT_REG_2 on: the address,
		 * then the port in the next 32-bit word, as nft lays it out. */
		uint32_t hlen = alen, hv = (uint32_t)qi;

		err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER,
					    pre ? saddr_off : daddr_off, alen, NFT_REG_2);
		if (!icmp) {
			err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, pre ? 0 : 2,
						    2, reg32(8 + alen / 4));
			hlen += 4;
		}
		err = err ? err : e_jhash(r, NFT_REG_2, hlen, nq, NFT_REG_1);
		err = err ? err : e_cmp_eq(r, NFT_REG_1, &hv, sizeof(hv));
	}
	if (qi >= 0)
		err = err ? err : e_queue(r, (uint16_t)(o->queue_base + qi), o->native_queue);
	if (err) {
		nb->err = err;
		nftnl_rule_free(r);
		return;
	}
	snprintf(desc, sizeof(desc), "match %zu in chain %s (queue %d)", idx, chain,
		 qi >= 0 ? (int)(o->queue_base + qi) : -1);
	nlh = nb_msg(nb, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, desc);
	if (nlh != NULL) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nb_next(nb);
	}
	nftnl_rule_free(r);
}

/* `meta mark RULES_INJECT_MARK notrack accept`: what clusterd injects into a
 * handoff target's own stack is neither queued nor tracked. */
static void
put_inject_rule(struct nb *nb)
{
	uint32_t mark = RULES_INJECT_MARK;	/* the meta register holds host order */
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	int err = 0;

	r = rule_new(RULES_TABLE, RULES_CHAIN_OUT);
	if (r == NULL) {
		nb->err = -ENOMEM;
		return;
	}
	err = err ? err : e_meta(r, NFT_META_MARK, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &mark, sizeof(mark));
	err = err ? err : e_notrack(r);
	err = err ? err : e_accept(r);
	if (err) {
		nb->err = err;
		nftnl_rule_free(r);
		return;
	}
	nlh = nb_msg(nb, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "inject mark rule");
	if (nlh != NULL) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nb_next(nb);
	}
	nftnl_rule_free(r);
}

/* The sync port filter's rule of family f (0: IPv4, 1: IPv6), as nft
 * compiles `ip saddr != { ... } udp dport P drop`. */
static void
put_sync_rule(struct nb *nb, const struct rules_sync *sy, int f)
{
	bool v4 = f == 0;
	uint8_t nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, udp = IPPROTO_UDP;
	uint32_t alen = v4 ? 4 : 16, saddr_off = v4 ? 12 : 8, set = 0;
	uint16_t port = htons(sy->port);
	size_t n = sy->n[f];
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	char desc[DESC_LEN];
	int err = 0;

	snprintf(desc, sizeof(desc), "sync port filter (%s)", v4 ? "ip" : "ip6");
	if (n > 1)
		set = put_set(nb, v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR, alen, NFT_BYTEORDER_BIG,
			      sy->addrs[f][0].b, sizeof(sy->addrs[f][0]), n, desc);
	if (nb->err)
		return;
	r = rule_new(RULES_TABLE, RULES_CHAIN_IN);
	if (r == NULL) {
		nb->err = -ENOMEM;
		return;
	}
	err = err ? err : e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &nfproto, 1);
	if (n > 0)
		err = err ? err : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off, alen,
					    NFT_REG_1);
	if (n > 1)
		err = err ? err : e_lookup_inv(r, NFT_REG_1, set, true);
	else if (n == 1)
		err = err ? err : e_cmp(r, NFT_REG_1, NFT_CMP_NEQ, sy->addrs[f][0].b, alen);
	err = err ? err : e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &udp, 1);
	err = err ? err : e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	err = err ? err : e_cmp_eq(r, NFT_REG_1, &port, 2);
	err = err ? err : e_drop(r);
	if (err) {
		nb->err = err;
		nftnl_rule_free(r);
		return;
	}
	nlh = nb_msg(nb, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, desc);
	if (nlh != NULL) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nb_next(nb);
	}
	nftnl_rule_free(r);
}

int
rules_nft_install(const struct rules *r, char *err, size_t errlen)
{
	const struct rules_sync *sy = rules_sync_filter(r);
	const struct rules_opts *o = rules_options(r);
	size_t i, n = rules_count(r), limit = 65536;
	uint32_t *map_ids;
	struct nb nb;
	unsigned q;
	int ret;

	/* A generous bound of the batch: every message is well under 1 KiB
	 * plus its set elements. */
	for (i = 0; i < n; i++)
		limit += (size_t)o->workers * (2048 + rules_get(r, i)->n_addrs * 128);
	limit += 2 * 2048 + (sy->n[0] + sy->n[1]) * 128;
	map_ids = calloc(n ? n : 1, sizeof(*map_ids));
	ret = map_ids ? nb_init(&nb, limit) : -ENOMEM;
	if (ret) {
		free(map_ids);
		errbuf_set(err, errlen, "install: out of memory");
		return ret;
	}
	/* Adding first makes the delete succeed when the table is absent. */
	put_table(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, RULES_TABLE);
	put_table(&nb, NFT_MSG_DELTABLE, 0, RULES_TABLE);
	put_table(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, RULES_TABLE);
	/* The fast maps, empty (a reload starts them afresh: the workers add
	 * their flows again as packets miss), in the order rules_render()
	 * declares them, ahead of the rules that name them. */
	for (i = 0; i < n && !nb.err; i++)
		if (rules_get(r, i)->fastmap)
			map_ids[i] = put_fastmap(&nb, rules_get(r, i), o);
	put_chain(&nb, RULES_TABLE, RULES_CHAIN_PRE, NF_INET_PRE_ROUTING);
	put_chain(&nb, RULES_TABLE, RULES_CHAIN_OUT, NF_INET_LOCAL_OUT);
	if (rules_inject_accept(r))
		put_inject_rule(&nb);
	for (i = 0; i < n && !nb.err; i++) {
		const struct rules_match *m = rules_get(r, i);
		unsigned nq = rules_match_queues(r, m);

		if (nq == 0) {
			put_rule(&nb, m, o, -1, 0, i, map_ids[i]);
			continue;
		}
		for (q = 0; q < nq && !nb.err; q++)
			put_rule(&nb, m, o, (int)q, nq, i, 0);
	}
	if (sy->on) {
		put_chain(&nb, RULES_TABLE, RULES_CHAIN_IN, NF_INET_LOCAL_IN);
		put_sync_rule(&nb, sy, 0);
		put_sync_rule(&nb, sy, 1);
	}
	nb_end(&nb);
	ret = nb_send(&nb, "install", err, errlen);
	nb_fini(&nb);
	free(map_ids);
	return ret;
}

int
rules_nft_remove(char *err, size_t errlen)
{
	struct nb nb;
	int ret;

	ret = nb_init(&nb, 16384);
	if (ret) {
		errbuf_set(err, errlen, "remove: out of memory");
		return ret;
	}
	put_table(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, RULES_TABLE);
	put_table(&nb, NFT_MSG_DELTABLE, 0, RULES_TABLE);
	nb_end(&nb);
	ret = nb_send(&nb, "remove", err, errlen);
	nb_fini(&nb);
	return ret;
}

/* Counters of one chain's dump.  In output, a rule that writes the payload
 * and counts is one of the target's rewrites; in prerouting, a rule with a
 * dynset (the map update) that counts is one of the distributor's fast
 * rules. */
struct fp_dump {
	uint64_t packets, bytes;
	unsigned rules;
	bool dist;		/* prerouting: count the fast rules */
	int err;
};

static int
fp_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fp_dump *st = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	uint64_t pk = 0, by = 0;
	bool ours = false, counted = false;

	if (r == NULL) {
		st->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_OK;	/* not a rule we can read: not ours to count */
	}
	it = nftnl_expr_iter_create(r);
	if (it == NULL) {
		nftnl_rule_free(r);
		st->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (name == NULL)
			continue;
		if (!st->dist && strcmp(name, "payload") == 0 &&
		    nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG))
			ours = true;
		else if (st->dist && strcmp(name, "dynset") == 0)
			ours = true;
		else if (strcmp(name, "counter") == 0) {
			counted = true;
			pk = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			by = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		}
	}
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
	if (ours && counted) {
		st->packets += pk;
		st->bytes += by;
		st->rules++;
	}
	return MNL_CB_OK;
}

/* A netlink socket kept open for the counters: closing an nf_tables socket
 * is not free.  The kernel's release hook takes the commit mutex and waits
 * for the pending destruction of removed objects (an RCU grace period):
 * with the workers removing map elements all the time, a socket opened and
 * closed per stats request held the main thread in flush_work for most of
 * a busy run. */
struct rules_nft_sock {
	struct mnl_socket *nl;
	uint32_t seq;
};

struct rules_nft_sock *
rules_nft_sock_open(char *err, size_t errlen)
{
	struct rules_nft_sock *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		errbuf_set(err, errlen, "netlink socket: out of memory");
		return NULL;
	}
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (s->nl == NULL || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		errbuf_set(err, errlen, "netlink socket: %s", strerror(errno));
		rules_nft_sock_close(s);
		return NULL;
	}
	s->seq = (uint32_t)time(NULL);
	return s;
}

void
rules_nft_sock_close(struct rules_nft_sock *s)
{
	if (s == NULL)
		return;
	if (s->nl != NULL)
		mnl_socket_close(s->nl);
	free(s);
}

/* One dump of chain `chain` of table inet clusterd into st, on s.  The table
 * or chain absent: zeros, 0. */
static int
fp_dump_chain(struct rules_nft_sock *s, const char *chain, struct fp_dump *st, char *err,
	      size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = s->nl;
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	struct pollfd pfd;
	uint32_t seq = ++s->seq, portid;
	int ret = 0, rounds;

	/* What an earlier dump left unread (it timed out, or failed half
	 * way) would fail this one's sequence check: drop it. */
	while (recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	r = rule_new(RULES_TABLE, chain);
	if (r == NULL) {
		errbuf_set(err, errlen, "fastpath counters: out of memory");
		return -ENOMEM;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "fastpath counters: netlink: %s", strerror(errno));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	pfd.fd = mnl_socket_get_fd(nl);
	pfd.events = POLLIN;
	/* A few dozen rules fit in one or two reads; the bound only stops a
	 * runaway (someone else's giant chain of the same name cannot exist:
	 * the table is ours). */
	for (rounds = 0; rounds < 256; rounds++) {
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0) {
			ret = -ETIMEDOUT;
			errbuf_set(err, errlen, "fastpath counters: no answer to the dump of %s",
				   chain);
			goto out;
		}
		n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			errbuf_set(err, errlen, "fastpath counters: netlink receive: %s",
				   strerror(errno));
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, fp_rule_cb, st);
		if (ret == MNL_CB_STOP) {
			ret = 0;
			goto out;
		}
		if (ret < 0) {
			/* No table or chain: nothing installed, nothing counted. */
			if (errno == ENOENT) {
				st->packets = st->bytes = 0;
				st->rules = 0;
				ret = 0;
			} else {
				ret = st->err ? st->err : -errno;
				errbuf_set(err, errlen, "fastpath counters: dump of %s: %s", chain,
					   strerror(-ret));
			}
			goto out;
		}
	}
	ret = -E2BIG;
	errbuf_set(err, errlen, "fastpath counters: the dump of %s did not end", chain);
out:
	return ret;
}

int
rules_nft_fastpath_read_on(struct rules_nft_sock *s, struct rules_nft_fastpath *fp,
			   unsigned which, char *err, size_t errlen)
{
	struct fp_dump st;
	int ret;

	memset(fp, 0, sizeof(*fp));
	if (which & RULES_NFT_FP_TARGET) {
		memset(&st, 0, sizeof(st));
		ret = fp_dump_chain(s, RULES_CHAIN_OUT, &st, err, errlen);
		if (ret)
			return ret;
		fp->packets = st.packets;
		fp->bytes = st.bytes;
		fp->rules = st.rules;
	}
	if (which & RULES_NFT_FP_DIST) {
		memset(&st, 0, sizeof(st));
		st.dist = true;
		ret = fp_dump_chain(s, RULES_CHAIN_PRE, &st, err, errlen);
		if (ret)
			return ret;
		fp->dist_packets = st.packets;
		fp->dist_bytes = st.bytes;
		fp->dist_rules = st.rules;
	}
	return 0;
}

int
rules_nft_fastpath_read(struct rules_nft_fastpath *fp, unsigned which, char *err,
			size_t errlen)
{
	struct rules_nft_sock *s = rules_nft_sock_open(err, errlen);
	int ret;

	if (s == NULL) {
		memset(fp, 0, sizeof(*fp));
		return -EIO;
	}
	ret = rules_nft_fastpath_read_on(s, fp, which, err, errlen);
	rules_nft_sock_close(s);
	return ret;
}

int
rules_nft_fastpath_counters(struct rules_nft_fastpath *fp, char *err, size_t errlen)
{
	return rules_nft_fastpath_read(fp, RULES_NFT_FP_TARGET, err, errlen);
}

/* A scratch table with one queue rule in a raw prerouting base chain, deleted
 * in the same batch: the kernel checks the expression when it reads the rule,
 * and the table never outlives the batch. */
static int
probe_one(bool native, char *err, size_t errlen)
{
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	struct nb nb;
	int ret;

	ret = nb_init(&nb, 16384);
	if (ret) {
		errbuf_set(err, errlen, "probe: out of memory");
		return ret;
	}
	put_table(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, PROBE_TABLE);
	put_chain(&nb, PROBE_TABLE, PROBE_CHAIN, NF_INET_PRE_ROUTING);
	r = rule_new(PROBE_TABLE, PROBE_CHAIN);
	if (r == NULL) {
		nb.err = -ENOMEM;
	} else {
		if (e_queue(r, 0, native))
			nb.err = -ENOMEM;
		nlh = nb_msg(&nb, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			     native ? "a native queue rule" : "an xt NFQUEUE rule");
		if (nlh != NULL) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nb_next(&nb);
		}
		nftnl_rule_free(r);
	}
	put_table(&nb, NFT_MSG_DELTABLE, 0, PROBE_TABLE);
	nb_end(&nb);
	ret = nb_send(&nb, "probe", err, errlen);
	nb_fini(&nb);
	return ret;
}

/* NFT_MSG_DESTROYSETELEM (kernel 6.3): the uapi headers this builds with may
 * predate it, and it is an enum there, so it is spelled out. */
#define NFT_MSG_DESTROYSETELEM_ 30

/* Whether the kernel knows DESTROYSETELEM: a batch removing one element of a
 * set in a table that does not exist.  nfnetlink_rcv_batch() refuses a type
 * at or above the subsystem's NFT_MSG_MAX with EINVAL before reading any
 * attribute: 6.1 (Debian 12) stops at 24 (DELFLOWTABLE), the DESTROY types
 * (26 to 32) came in 6.3.  A kernel that knows the type looks the table up
 * and answers ENOENT.  The batch changes nothing either way. */
int
rules_nft_probe_destroy(char *err, size_t errlen)
{
	uint8_t key[8] = { 0 };
	struct nftnl_set_elem *e;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	struct nb nb;
	int ret;

	ret = nb_init(&nb, 4096);
	if (ret) {
		errbuf_set(err, errlen, "DESTROYSETELEM probe: out of memory");
		return ret;
	}
	s = nftnl_set_alloc();
	e = nftnl_set_elem_alloc();
	if (s == NULL || e == NULL) {
		nb.err = -ENOMEM;
		nftnl_set_elem_free(e);
	} else {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, PROBE_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, "probe");
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
		nftnl_set_elem_add(s, e);
		nlh = nb_msg(&nb, NFT_MSG_DESTROYSETELEM_, 0, "a DESTROYSETELEM");
		if (nlh != NULL) {
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			nb_next(&nb);
		}
	}
	nftnl_set_free(s);
	nb_end(&nb);
	ret = nb_send(&nb, "DESTROYSETELEM probe", err, errlen);
	nb_fini(&nb);
	if (ret == 0 || ret == -ENOENT)
		return 1;
	return ret == -EINVAL ? 0 : ret;
}

int
rules_nft_probe(bool *native_queue, char *err, size_t errlen)
{
	char nerr[256] = "", cerr[256] = "";
	int ret;

	ret = probe_one(true, nerr, sizeof(nerr));
	if (ret == 0) {
		*native_queue = true;
		return 0;
	}
	/* ENOENT: no nft_queue module; anything else is not about the queue. */
	if (ret != -ENOENT && ret != -EOPNOTSUPP) {
		errbuf_set(err, errlen, "%s", nerr);
		return ret;
	}
	ret = probe_one(false, cerr, sizeof(cerr));
	if (ret == 0) {
		*native_queue = false;
		return 0;
	}
	errbuf_set(err, errlen, "no way to queue: native (%s); compat (%s)", nerr, cerr);
	return ret;
}
