/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine, SCTP association failover (issue 13): a distributor engine (node d1,
 * ENGINE_PRE) that routes by association tag, and a target engine (node t1,
 * ENGINE_OUT) that makes its stack's packets look like the VIPA's.  The
 * configuration (written to a temporary file) has a VIPA with an alternate
 * address and an SCTP service with two targets, in IPv4 and IPv6; every case
 * runs in both families.  Packets are built byte by byte here; CRC32c is
 * checked both by nfq/sctp (sctp_crc_ok) and by pktbuild's bit-by-bit
 * reference.  Events go to a recording engine_sctp_ops, and the target's tag
 * is taught to the distributor with assoc_learn, as the daemon does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/view.h"
#include "nfq/assoc.h"
#include "nfq/engine.h"
#include "nfq/pkt.h"
#include "nfq/sctp.h"
#include "tests/unit/pktbuild.h"

/* Node indexes of the configuration below. */
enum { N_D1 = 0, N_D2, N_T1, N_T2, N_NODES };

static const char CONF[] =
	"node = \"d1\";\n"
	"cluster = { name = \"test\"; key_file = \"/nonexistent/cluster.key\"; };\n"
	"nodes = (\n"
	"  { name = \"d1\"; addresses = ( { ip = \"10.2.0.11\"; }, { ip = \"fd02::11\"; } ); },\n"
	"  { name = \"d2\"; addresses = ( { ip = \"10.2.0.12\"; }, { ip = \"fd02::12\"; } ); },\n"
	"  { name = \"t1\"; addresses = ( { ip = \"10.2.0.21\"; }, { ip = \"fd02::21\"; } ); },\n"
	"  { name = \"t2\"; addresses = ( { ip = \"10.2.0.22\"; }, { ip = \"fd02::22\"; } ); }\n"
	");\n"
	"vipas = (\n"
	"  { address = \"10.2.0.100\"; alternate_address = \"10.2.0.101\"; interface = \"lan0\";\n"
	"    distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	"    services = ( { port = 5000; protocol = \"sctp\"; targets = ( \"t1\", \"t2\" );\n"
	"                   target_port = 5001; } ); },\n"
	"  { address = \"fd02::100\"; alternate_address = \"fd02::101\"; interface = \"lan0\";\n"
	"    distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	"    services = ( { port = 5000; protocol = \"sctp\"; targets = ( \"t1\", \"t2\" );\n"
	"                   target_port = 5001; } ); }\n"
	");\n";

#define VPORT	5000
#define TPORT	5001
#define CPORT	40000

/* The addresses of one family. */
struct fam {
	int family;
	uint32_t ep;			/* the VIPA's index in the configuration */
	const char *vipa, *alt;
	const char *c1, *c2;		/* two addresses of a multihomed client */
	const char *tgt[N_NODES];	/* node addresses (targets: N_T1, N_T2) */
};

static const struct fam F4 = {
	AF_INET, 0, "10.2.0.100", "10.2.0.101", "10.1.0.2", "10.3.0.2",
	{ "10.2.0.11", "10.2.0.12", "10.2.0.21", "10.2.0.22" },
};
static const struct fam F6 = {
	AF_INET6, 1, "fd02::100", "fd02::101", "2001:db8:1::2", "2001:db8:3::2",
	{ "fd02::11", "fd02::12", "fd02::21", "fd02::22" },
};

#define MAX_EV 32

/* One engine of one node, with the daemon's side faked. */
struct side {
	const struct fam *fm;
	struct cfg *cfg;
	struct view *view;
	struct conn_table *conns;
	struct assoc_table *assocs;
	struct stats stats;
	struct engine e;
	bool alive[N_NODES], listening[N_NODES], drained[N_NODES];
	struct engine_sctp_ev ev[MAX_EV];	/* what the engine reported */
	size_t n_ev;
	uint8_t out[2048];			/* e.out */
	/* the last run() */
	uint8_t reply[ENGINE_REPLY_MAX];
	size_t reply_len;
	struct ip_addr reply_to;
};

/* ---- the fake daemon ---- */

static void rec_event(void *arg, const struct engine_sctp_ev *ev)
{
	struct side *s = arg;

	assert_true(s->n_ev < MAX_EV);
	s->ev[s->n_ev++] = *ev;
}

static const struct engine_sctp_ops rec_ops = { .event = rec_event };

static bool side_listening(void *arg, size_t node, uint8_t family, uint8_t proto, uint16_t port)
{
	struct side *s = arg;

	assert_int_equal(proto, IPPROTO_SCTP);
	assert_int_equal(port, TPORT);
	(void)family;
	return node < N_NODES && s->listening[node];
}

/* A new view from alive / listening / drained, as the daemon builds one when a
 * node dies or a listener goes. */
static void side_rebuild(struct side *s)
{
	struct view_input in = {
		.cfg = s->cfg, .self = s->cfg->self, .alive = s->alive, .drained = s->drained,
		.listening = side_listening, .arg = s, .prev = s->view, .generation = 1,
	};
	struct view *nv = view_build(&in);

	assert_non_null(nv);
	view_free(s->view);
	s->view = nv;
	s->e.view = nv;
}

static struct side *side_new(const struct fam *fm, const char *node)
{
	struct side *s = calloc(1, sizeof(*s));
	const char *tmp = getenv("TMPDIR");
	char path[1024], err[CFG_ERR_MAX];
	int fd;

	assert_non_null(s);
	s->fm = fm;
	snprintf(path, sizeof(path), "%s/test_engine_sctp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CONF, sizeof(CONF) - 1), (ssize_t)(sizeof(CONF) - 1));
	close(fd);
	s->cfg = cfg_load(path, node, err, sizeof(err));
	unlink(path);
	if (!s->cfg)
		fail_msg("%s", err);
	for (int i = 0; i < N_NODES; i++) {
		s->alive[i] = true;
		s->listening[i] = true;
	}
	s->conns = conn_table_new(64);
	assert_non_null(s->conns);
	s->assocs = assoc_table_new(64, 0);
	assert_non_null(s->assocs);
	s->e.conns = s->conns;
	s->e.stats = &s->stats;
	s->e.now_ms = 1000;
	s->e.wall_ms = 1700000000000ull;
	s->e.timeouts = (struct conn_timeouts){ 30, 900, 30, 10, 60 };
	s->e.assocs = s->assocs;
	s->e.assoc_to = (struct assoc_timeouts){ .init_s = 5, .est_s = 300, .closed_s = 2 };
	s->e.sctp = &rec_ops;
	s->e.sctp_arg = s;
	s->e.out = s->out;
	s->e.out_cap = sizeof(s->out);
	s->e.sctp_ready = true;
	side_rebuild(s);
	return s;
}

static void side_free(struct side *s)
{
	view_free(s->view);
	conn_table_free(s->conns);
	assoc_table_free(s->assocs);
	cfg_free(s->cfg);
	free(s);
}

/* The prestate is the family. */
static int setup_dist(void **state)
{
	*state = side_new(*state, "d1");
	return 0;
}

static int setup_tgt(void **state)
{
	*state = side_new(*state, "t1");
	return 0;
}

static int teardown(void **state)
{
	side_free(*state);
	return 0;
}

/* ---- SCTP packets, byte by byte ---- */

/* Chunks of a packet, or parameters of an INIT / INIT ACK. */
struct cb {
	uint8_t b[1400];
	size_t n;
};

static void cb_put(struct cb *c, const void *p, size_t n)
{
	assert_true(c->n + n <= sizeof(c->b));
	if (n)
		memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void cb_pad(struct cb *c)
{
	static const uint8_t z[3];

	cb_put(c, z, (4 - c->n % 4) % 4);
}

/* A chunk (or, with a 16-bit type, a parameter) with len_field written as given
 * (0: the right one), then padding. */
static void cb_tlv(struct cb *c, uint16_t type16, bool param, uint8_t flags, const void *val,
		   size_t vlen, uint16_t len_field)
{
	uint8_t h[4];

	if (param) {
		be_put16(h, type16);
	} else {
		h[0] = (uint8_t)type16;
		h[1] = flags;
	}
	be_put16(h + 2, len_field ? len_field : (uint16_t)(4 + vlen));
	cb_put(c, h, 4);
	cb_put(c, val, vlen);
	cb_pad(c);
}

static void cb_chunk(struct cb *c, uint8_t type, uint8_t flags, const void *val, size_t vlen)
{
	cb_tlv(c, type, false, flags, val, vlen, 0);
}

static void cb_param(struct cb *c, uint16_t type, const void *val, size_t vlen)
{
	cb_tlv(c, type, true, 0, val, vlen, 0);
}

static void cb_addr(struct cb *c, const char *a)
{
	struct ip_addr x = pb_addr(a);

	cb_param(c, x.family == AF_INET ? SCTP_PARAM_IPV4 : SCTP_PARAM_IPV6, x.b, addr_len(&x));
}

/* An INIT or INIT ACK chunk: the fixed part, then the parameters prm. */
static void cb_init(struct cb *c, uint8_t type, uint32_t itag, const struct cb *prm)
{
	uint8_t f[16];

	be_put32(f, itag);
	be_put32(f + 4, 131072);	/* a_rwnd */
	be_put16(f + 8, 10);		/* outbound streams */
	be_put16(f + 10, 10);		/* maximum inbound streams */
	be_put32(f + 12, itag ^ 0x5555);	/* initial TSN */
	{
		uint8_t h[4] = { type, 0 };

		be_put16(h + 2, (uint16_t)(4 + sizeof(f) + prm->n));
		cb_put(c, h, 4);
	}
	cb_put(c, f, sizeof(f));
	cb_put(c, prm->b, prm->n);
}

/* A whole IP packet src:sport -> dst:dport with verification tag vtag and the
 * chunks ch, CRC32c by pktbuild's reference.  Returns its length. */
static size_t build(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		    uint32_t vtag, const struct cb *ch)
{
	struct pb_spec s = {
		.family = strchr(src, ':') ? AF_INET6 : AF_INET, .src = src, .dst = dst,
	};
	uint32_t off = pb_build_ip(b, &s, IPPROTO_SCTP, (uint32_t)(SCTP_COMMON_HDRLEN + ch->n));
	uint8_t *sh = b + off;
	uint32_t crc;

	be_put16(sh, sport);
	be_put16(sh + 2, dport);
	be_put32(sh + 4, vtag);
	memset(sh + 8, 0, 4);
	memcpy(sh + SCTP_COMMON_HDRLEN, ch->b, ch->n);
	crc = pb_crc32c(sh, SCTP_COMMON_HDRLEN + ch->n);
	sh[8] = (uint8_t)crc;
	sh[9] = (uint8_t)(crc >> 8);
	sh[10] = (uint8_t)(crc >> 16);
	sh[11] = (uint8_t)(crc >> 24);
	return off + SCTP_COMMON_HDRLEN + ch->n;
}

/* The client's INIT (tag 0): its two addresses listed, as a multihomed client does. */
static size_t build_init(uint8_t *b, const struct fam *fm, const char *src, const char *dst,
			 uint16_t cport, uint32_t itag_c)
{
	struct cb prm = { .n = 0 }, ch = { .n = 0 };
	const uint8_t sat[] = { 0, 5, 0, 6 };

	cb_addr(&prm, fm->c1);
	cb_addr(&prm, fm->c2);
	cb_param(&prm, SCTP_PARAM_SUPPORTED_ADDR, sat, sizeof(sat));
	cb_init(&ch, SCTP_CHUNK_INIT, itag_c, &prm);
	return build(b, src, cport, dst, VPORT, 0, &ch);
}

/* One DATA chunk (B and E bits) of 6 payload bytes. */
static size_t build_data(uint8_t *b, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, uint32_t vtag)
{
	struct cb ch = { .n = 0 };
	uint8_t v[18] = { 0 };

	be_put32(v, 0x100);		/* TSN */
	be_put32(v + 8, 46);		/* PPID */
	memcpy(v + 12, "hello!", 6);
	cb_chunk(&ch, SCTP_CHUNK_DATA, 0x03, v, sizeof(v));
	return build(b, src, sport, dst, dport, vtag, &ch);
}

/* A HEARTBEAT (path verification: what a client sends to the alternate address). */
static size_t build_heartbeat(uint8_t *b, const char *src, const char *dst, uint32_t vtag)
{
	struct cb prm = { .n = 0 }, ch = { .n = 0 };
	const uint8_t info[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	cb_param(&prm, 1, info, sizeof(info));	/* Heartbeat Info */
	cb_chunk(&ch, SCTP_CHUNK_HEARTBEAT, 0, prm.b, prm.n);
	return build(b, src, CPORT, dst, VPORT, vtag, &ch);
}

/* A chunk without value: ABORT (no cause) or SHUTDOWN COMPLETE with flags. */
static size_t build_bare(uint8_t *b, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, uint32_t vtag, uint8_t type, uint8_t flags)
{
	struct cb ch = { .n = 0 };

	cb_chunk(&ch, type, flags, NULL, 0);
	return build(b, src, sport, dst, dport, vtag, &ch);
}

static const uint8_t COOKIE[] = "the target's state cookie, 41 bytes long";	/* + NUL */

static size_t build_cookie_echo(uint8_t *b, const char *src, const char *dst, uint32_t vtag)
{
	struct cb ch = { .n = 0 };

	cb_chunk(&ch, SCTP_CHUNK_COOKIE_ECHO, 0, COOKIE, sizeof(COOKIE));
	return build(b, src, CPORT, dst, VPORT, vtag, &ch);
}

/* The target stack's INIT ACK to the client: the State Cookie (odd length: padded),
 * the target's own addresses (its node address and one more), an unknown parameter
 * and ECN capable. */
static size_t build_init_ack(uint8_t *b, const char *src, const char *dst, uint32_t vtag,
			     uint32_t itag_t, const char *own2)
{
	struct cb prm = { .n = 0 }, ch = { .n = 0 };
	const uint8_t ext[] = { 0xc1, 0x80, 0x0f };

	cb_param(&prm, SCTP_PARAM_STATE_COOKIE, COOKIE, sizeof(COOKIE));
	cb_addr(&prm, src);
	if (own2)
		cb_addr(&prm, own2);
	cb_param(&prm, 0x8008, ext, sizeof(ext));	/* supported extensions */
	cb_param(&prm, 0x8000, NULL, 0);		/* ECN capable */
	cb_init(&ch, SCTP_CHUNK_INIT_ACK, itag_t, &prm);
	return build(b, src, TPORT, dst, CPORT, vtag, &ch);
}

/* ---- checks ---- */

static void parse_ok(const uint8_t *b, size_t n, struct pkt *p)
{
	assert_int_equal(pkt_parse(b, n, p), PKT_OK);
	assert_int_equal(p->proto, IPPROTO_SCTP);
	assert_int_equal(p->ip_len, n);
}

/* Right CRC32c by both nfq/sctp and the reference, right IPv4 header sum. */
static void check_crc(const uint8_t *b, size_t n)
{
	struct pkt p;

	parse_ok(b, n, &p);
	assert_true(sctp_crc_ok(b, &p));
	assert_int_equal(pb_crc32c_field(b + p.l4_off, n - p.l4_off), 0);
	if (p.family == AF_INET)
		assert_int_equal(pb_ip4_sum(b), 0xffff);
}

static void check_ends(const uint8_t *b, size_t n, const char *src, uint16_t sport,
		       const char *dst, uint16_t dport)
{
	struct pkt p;

	parse_ok(b, n, &p);
	pb_assert_addr(&p.src, src);
	pb_assert_addr(&p.dst, dst);
	assert_int_equal(p.sport, sport);
	assert_int_equal(p.dport, dport);
}

static enum engine_verdict run(struct side *s, enum engine_hook h, uint8_t *b, size_t len)
{
	s->reply_len = 0;
	memset(&s->reply_to, 0, sizeof(s->reply_to));
	return engine_packet(&s->e, h, b, len, false, s->reply, &s->reply_len, &s->reply_to);
}

static uint64_t st(const struct side *s, enum stats_id id)
{
	return stats_get(&s->stats, id);
}

/* Which target (N_T1 / N_T2) the packet b now goes to, by its destination; fails on
 * any other address.  The port must be the target port, the CRC right. */
static int routed_to(const struct side *s, const uint8_t *b, size_t n)
{
	struct pkt p;
	int i;

	check_crc(b, n);
	parse_ok(b, n, &p);
	assert_int_equal(p.dport, TPORT);
	for (i = N_T1; i <= N_T2; i++) {
		struct ip_addr a = pb_addr(s->fm->tgt[i]);

		if (addr_eq(&p.dst, &a))
			return i;
	}
	fail_msg("routed to an address that is no target");
	return -1;
}

/* The reply (s->reply) is the middlebox's ABORT from `from` to the client at cport:
 * vtag, T bit as told, M bit, one Missing State cause; CRC right. */
static void check_abort_reply(const struct side *s, const char *from, const char *client,
			      uint16_t cport, uint32_t vtag, bool tbit)
{
	const uint8_t *r = s->reply, *ch;
	struct sctp_info si;
	struct pkt p;

	assert_true(s->reply_len > 0);
	check_crc(r, s->reply_len);
	check_ends(r, s->reply_len, from, VPORT, client, cport);
	pb_assert_addr(&s->reply_to, client);
	parse_ok(r, s->reply_len, &p);
	assert_int_equal(sctp_walk(r, &p, &si), SCTP_OK);
	assert_int_equal(si.vtag, vtag);
	assert_int_equal(si.first_type, SCTP_CHUNK_ABORT);
	assert_int_equal(si.n_chunks, 1);
	assert_true(si.m_bit);
	assert_int_equal(si.t_bit, tbit);
	ch = r + p.l4_off + SCTP_COMMON_HDRLEN;
	assert_int_equal(ch[1], SCTP_FLAG_M | (tbit ? SCTP_FLAG_T : 0));
	assert_int_equal(be_get16(ch + 4), SCTP_CAUSE_MISSING_STATE);
}

static struct assoc_ports ports(const struct side *s, uint16_t cport)
{
	return (struct assoc_ports){ .ep = s->fm->ep, .cport = cport, .vport = VPORT };
}

/* Sends the client's INIT from c1 to the VIPA; returns the target it went to. */
static int init_routed(struct side *s, uint16_t cport, uint32_t itag_c)
{
	uint8_t b[512];
	size_t n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, cport, itag_c);

	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	return routed_to(s, b, n);
}

/* The daemon applies the target's TAG message: assoc_learn on the worker's table with
 * the target's node index and the client address the target answered. */
static void learn(struct side *s, uint16_t cport, uint32_t itag_c, uint32_t itag_t, int target,
		  enum assoc_learn_res want)
{
	struct assoc_ports ap = ports(s, cport);
	struct ip_addr c1 = pb_addr(s->fm->c1);
	enum assoc_learn_res res;

	assert_non_null(assoc_learn(s->assocs, &ap, itag_c, itag_t, (uint32_t)target, &c1,
				    s->e.now_ms, &res));
	assert_int_equal(res, want);
}

/* INIT routed, then the target's tag learnt: an established association. */
static int establish(struct side *s, uint16_t cport, uint32_t itag_c, uint32_t itag_t)
{
	int tgt = init_routed(s, cport, itag_c);

	learn(s, cport, itag_c, itag_t, tgt, ASSOC_L_EST);
	s->n_ev = 0;
	return tgt;
}

static enum assoc_find lookup(struct side *s, uint16_t cport, uint32_t vtag, bool tbit,
			      struct assoc **a)
{
	struct assoc_ports ap = ports(s, cport);

	return assoc_lookup(s->assocs, &ap, vtag, tbit, a, NULL);
}

/* The other target. */
static int other(int tgt)
{
	return tgt == N_T1 ? N_T2 : N_T1;
}

/* Takes tgt out of new associations (drained: alive, no new flows) so that a fresh
 * pick can only name the other one: a packet still routed to tgt was routed by its
 * association, not by a hash that happens to agree. */
static void drain(struct side *s, int tgt)
{
	s->drained[tgt] = true;
	side_rebuild(s);
}

static void check_ev_head(const struct side *s, const struct engine_sctp_ev *ev, int kind,
			  uint16_t cport)
{
	assert_int_equal(ev->kind, kind);
	assert_int_equal(ev->family, s->fm->family);
	assert_int_equal(ev->ep, s->fm->ep);
	assert_int_equal(ev->cport, cport);
	assert_int_equal(ev->vport, VPORT);
}

#define ITAG_C	0xc1c1c1c1u
#define ITAG_T	0x7a7a7a7au

/* ================================================================ distributor */

/* INIT to the VIPA: to a target's address and target port, the client's address and
 * port kept, CRC32c recomputed (the port changed); an INIT entry names that target,
 * nothing is replicated yet; the retransmitted INIT goes to the same target even when
 * a fresh pick would not. */
static void test_init_routed(void **state)
{
	struct side *s = *state;
	uint8_t b[512], b2[512];
	size_t n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C);
	struct assoc_ports ap = ports(s, CPORT);
	struct assoc *a;
	int tgt;

	memcpy(b2, b, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	tgt = routed_to(s, b, n);
	check_ends(b, n, s->fm->c1, CPORT, s->fm->tgt[tgt], TPORT);
	assert_ptr_equal(s->e.hit_vipa, &s->cfg->vipas[s->fm->ep]);
	assert_int_equal(s->e.out_len, 0);
	a = assoc_find_init(s->assocs, &ap, ITAG_C);
	assert_non_null(a);
	assert_int_equal(a->state, ASSOC_INIT);
	assert_int_equal(a->target, tgt);
	assert_int_equal(st(s, STAT_S_INIT), 1);
	assert_int_equal(st(s, STAT_REWRITTEN), 1);
	assert_int_equal(s->n_ev, 0);	/* an INIT entry is not replicated */

	/* the retransmission: its entry's target, though the hash now says the other */
	drain(s, tgt);
	memcpy(b, b2, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(st(s, STAT_S_INIT_RETRANS), 1);
	assert_int_equal(assoc_count(s->assocs), 1);
	/* ... while a new association goes to the other one */
	assert_int_equal(init_routed(s, CPORT + 1, ITAG_C + 1), other(tgt));
	assert_int_equal(st(s, STAT_S_INIT), 2);
	assert_int_equal(s->n_ev, 0);
}

/* An INIT to the alternate address is the same service. */
static void test_init_to_alt(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n = build_init(b, s->fm, s->fm->c2, s->fm->alt, CPORT, ITAG_C);
	struct assoc_ports ap = ports(s, CPORT);
	int tgt;

	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	tgt = routed_to(s, b, n);
	check_ends(b, n, s->fm->c2, CPORT, s->fm->tgt[tgt], TPORT);
	assert_non_null(assoc_find_init(s->assocs, &ap, ITAG_C));
	assert_int_equal(st(s, STAT_S_INIT), 1);
}

/* The target's tag learnt: DATA to the VIPA from one client address and a HEARTBEAT to
 * the alternate address from the other both go to the association's target (drained
 * meanwhile: no hash could agree by chance); the second path is replicated. */
static void test_route_by_tag(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);
	const struct engine_sctp_ev *ev;
	struct assoc *a;

	drain(s, tgt);
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	check_ends(b, n, s->fm->c1, CPORT, s->fm->tgt[tgt], TPORT);
	assert_ptr_equal(s->e.hit_vipa, &s->cfg->vipas[s->fm->ep]);
	/* c1 was known from the learn: no new path; but the client's first
	 * packet with the target's tag confirms the association (replicated) */
	assert_int_equal(s->n_ev, 1);
	check_ev_head(s, &s->ev[0], ENGINE_SCTP_UPDATE, CPORT);
	assert_true(s->ev[0].flags & ASSOC_F_CONFIRMED);
	s->n_ev = 0;

	n = build_heartbeat(b, s->fm->c2, s->fm->alt, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	check_ends(b, n, s->fm->c2, CPORT, s->fm->tgt[tgt], TPORT);
	assert_int_equal(st(s, STAT_S_FORWARDED), 2);
	assert_int_equal(st(s, STAT_S_ALT), 1);

	assert_int_equal(s->n_ev, 1);
	ev = &s->ev[0];
	check_ev_head(s, ev, ENGINE_SCTP_UPDATE, CPORT);
	assert_int_equal(ev->state, ASSOC_EST);
	assert_int_equal(ev->itag_c, ITAG_C);
	assert_int_equal(ev->itag_t, ITAG_T);
	assert_int_equal(ev->target, tgt);
	assert_int_equal(ev->n_paths, 2);
	pb_assert_addr(&ev->paths[0], s->fm->c1);
	pb_assert_addr(&ev->paths[1], s->fm->c2);

	/* the packets were counted on the association */
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_HIT);
	assert_true(a->packets >= 2);

	/* a known path again: nothing new to replicate */
	n = build_data(b, s->fm->c2, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(s->n_ev, 1);
}

/* A COOKIE ECHO whose tag the target has not reported yet goes where the INIT went. */
static void test_cookie_echo_hinted(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	int tgt = init_routed(s, CPORT, ITAG_C);

	drain(s, tgt);
	n = build_cookie_echo(b, s->fm->c1, s->fm->vipa, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	check_ends(b, n, s->fm->c1, CPORT, s->fm->tgt[tgt], TPORT);
	assert_int_equal(st(s, STAT_S_HINTED), 1);
	assert_int_equal(s->n_ev, 0);
}

/* No association and no INIT: the middlebox's ABORT (M and T bits, Missing State),
 * from the address the packet was sent to; dropped silently until the node is ready. */
/* A tag first seen is held back ENGINE_SCTP_GRACE_MS (dropped: the target's
 * report may be on its way), then answered. */
static void hold_then_abort(struct side *s, uint8_t *b, size_t n)
{
	uint64_t held = st(s, STAT_S_NO_STATE_HELD);
	uint8_t copy[512];

	memcpy(copy, b, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(st(s, STAT_S_NO_STATE_HELD), held + 1);
	s->e.now_ms += ENGINE_SCTP_GRACE_MS - 1;
	memcpy(b, copy, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(st(s, STAT_S_NO_STATE_HELD), held + 2);
	s->e.now_ms += 1;
	memcpy(b, copy, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	assert_int_equal(st(s, STAT_S_NO_STATE_HELD), held + 2);
}

static void test_no_state(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;

	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, 0xdeadbeef);
	hold_then_abort(s, b, n);
	check_abort_reply(s, s->fm->vipa, s->fm->c1, CPORT, 0xdeadbeef, true);
	assert_int_equal(st(s, STAT_S_NO_STATE), 3);
	assert_int_equal(st(s, STAT_REPLIES), 1);

	n = build_heartbeat(b, s->fm->c2, s->fm->alt, 0xfeedf00d);
	hold_then_abort(s, b, n);
	check_abort_reply(s, s->fm->alt, s->fm->c2, CPORT, 0xfeedf00d, true);
	assert_int_equal(st(s, STAT_S_NO_STATE), 6);

	/* Not ready: never answered, however long it lasts. */
	s->e.sctp_ready = false;
	for (int i = 0; i < 3; i++) {
		n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, 0xdeadbeef);
		assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
		assert_int_equal(s->reply_len, 0);
		s->e.now_ms += ENGINE_SCTP_GRACE_MS;
	}
	assert_int_equal(st(s, STAT_S_NO_STATE), 9);
	assert_int_equal(st(s, STAT_REPLIES), 2);
	assert_int_equal(st(s, STAT_DROPPED), 9);
	assert_int_equal(assoc_count(s->assocs), 0);
	assert_int_equal(s->n_ev, 0);
}

/* Checks the single UPDATE event of a closed association. */
static void check_closed_ev(const struct side *s, uint16_t cport, uint32_t itag_c,
			    uint32_t itag_t, int tgt)
{
	const struct engine_sctp_ev *ev = &s->ev[0];

	assert_int_equal(s->n_ev, 1);
	check_ev_head(s, ev, ENGINE_SCTP_UPDATE, cport);
	assert_int_equal(ev->state, ASSOC_CLOSED);
	assert_int_equal(ev->itag_c, itag_c);
	assert_int_equal(ev->itag_t, itag_t);
	assert_int_equal(ev->target, tgt);
}

/* ABORT from the client (T bit clear: the target's tag): forwarded, the entry closed
 * and replicated as closed; late packets of its tags still routed.  SHUTDOWN COMPLETE
 * likewise, and an ABORT with the T bit (the client's own tag reflected). */
static void test_client_ends(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	struct assoc *a;
	int tgt;

	tgt = establish(s, CPORT, ITAG_C, ITAG_T);
	n = build_bare(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T, SCTP_CHUNK_ABORT, 0);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	check_closed_ev(s, CPORT, ITAG_C, ITAG_T, tgt);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_HIT);
	assert_int_equal(a->state, ASSOC_CLOSED);
	assert_int_equal(st(s, STAT_S_ENDED), 1);
	/* a late packet: still its target, no new event */
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(s->n_ev, 1);

	s->n_ev = 0;
	tgt = establish(s, CPORT + 1, ITAG_C + 1, ITAG_T + 1);
	n = build_bare(b, s->fm->c2, CPORT + 1, s->fm->alt, VPORT, ITAG_T + 1,
		       SCTP_CHUNK_SHUTDOWN_COMPLETE, 0);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	/* the closing packet came on a new path: the one event shows it */
	check_closed_ev(s, CPORT + 1, ITAG_C + 1, ITAG_T + 1, tgt);
	assert_int_equal(s->ev[0].n_paths, 2);
	pb_assert_addr(&s->ev[0].paths[1], s->fm->c2);
	assert_int_equal(lookup(s, CPORT + 1, ITAG_T + 1, false, &a), ASSOC_HIT);
	assert_int_equal(a->state, ASSOC_CLOSED);
	assert_int_equal(st(s, STAT_S_ENDED), 2);

	s->n_ev = 0;
	tgt = establish(s, CPORT + 2, ITAG_C + 2, ITAG_T + 2);
	n = build_bare(b, s->fm->c1, CPORT + 2, s->fm->vipa, VPORT, ITAG_C + 2, SCTP_CHUNK_ABORT,
		       SCTP_FLAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	check_closed_ev(s, CPORT + 2, ITAG_C + 2, ITAG_T + 2, tgt);
	assert_int_equal(st(s, STAT_S_ENDED), 3);
}

/* The association's target dies: the next packet gets the middlebox's ABORT, the entry
 * goes (DELETE replicated); a new INIT goes to the survivor. */
static void test_target_dies(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	struct assoc *a;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);

	s->alive[tgt] = false;
	side_rebuild(s);
	/* the settled view says it is dead: ended at once; the other
	 * distributors judge the target themselves: no event */
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	check_abort_reply(s, s->fm->vipa, s->fm->c1, CPORT, ITAG_T, true);
	assert_int_equal(s->n_ev, 0);
	assert_int_equal(st(s, STAT_S_ABORTS), 1);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_NONE);
	assert_int_equal(assoc_count(s->assocs), 0);
	assert_int_equal(st(s, STAT_S_TARGET_GONE), 1);

	/* the client starts over: the survivor */
	assert_int_equal(init_routed(s, CPORT, ITAG_C + 7), other(tgt));
}

/* A dead target's associations leave the table without a packet (the sweep), the
 * others stay; nothing is replicated. */
static void test_sweep_dead(void **state)
{
	struct side *s = *state;
	struct assoc *a;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);
	int tgt2 = establish(s, CPORT + 1, ITAG_C + 1, ITAG_T + 1);
	size_t gone = 0, n;
	uint8_t b[512];

	if (tgt2 == tgt) {
		/* both on one target: move the second to the other */
		assert_int_equal(lookup(s, CPORT + 1, ITAG_T + 1, false, &a), ASSOC_HIT);
		a->target = (uint32_t)other(tgt);
	}
	assert_int_equal(engine_sctp_sweep(&s->e, 64), 0);
	s->alive[tgt] = false;
	side_rebuild(s);
	for (int i = 0; i < 4; i++)
		gone += engine_sctp_sweep(&s->e, 64);
	assert_int_equal(gone, 1);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_NONE);
	assert_int_equal(lookup(s, CPORT + 1, ITAG_T + 1, false, &a), ASSOC_HIT);
	assert_int_equal(st(s, STAT_S_TARGET_GONE), 1);
	assert_int_equal(s->n_ev, 0);
	/* its client's next packet: the ABORT at once, no grace */
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	check_abort_reply(s, s->fm->vipa, s->fm->c1, CPORT, ITAG_T, true);
}

/* A target the view does not list at all (a reload removed it, or renumbered the
 * table before this worker took the new view): held back for the grace, then ended
 * like a dead one. */
static void test_target_unlisted(void **state)
{
	struct side *s = *state;
	uint8_t b[512], copy[512];
	size_t n;
	struct assoc *a;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);

	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_HIT);
	a->target = 99;
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	memcpy(copy, b, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(s->n_ev, 0);
	assert_int_equal(st(s, STAT_S_NO_STATE_HELD), 1);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_HIT);
	/* the new view comes in time: routed again */
	a->target = (uint32_t)tgt;
	memcpy(b, copy, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	/* it never does: held for a whole grace again (the routed packet ended
	 * the first wait: a stale first sighting never cuts a later one
	 * short), then ended */
	a->target = 99;
	s->e.now_ms += ENGINE_SCTP_GRACE_MS;
	memcpy(b, copy, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(st(s, STAT_S_NO_STATE_HELD), 2);
	s->e.now_ms += ENGINE_SCTP_GRACE_MS;
	memcpy(b, copy, n);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	check_abort_reply(s, s->fm->vipa, s->fm->c1, CPORT, ITAG_T, true);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_NONE);
	assert_int_equal(st(s, STAT_S_TARGET_GONE), 1);
}

/* The client restarts (a new INIT with a new Initiate Tag from a path of the live
 * association): the old target, although a fresh pick would choose the other; once
 * the new tags are in use the old association goes (DELETE replicated). */
static void test_restart(void **state)
{
	struct side *s = *state, *scratch = side_new(s->fm, "d1");
	uint32_t itag2 = 0;
	uint8_t b[512];
	size_t n;
	struct assoc *a;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);

	/* a new tag that a fresh engine sends to the other target */
	for (uint32_t c = 0x1000; c < 0x1040 && !itag2; c++)
		if (init_routed(scratch, CPORT, c) == other(tgt))
			itag2 = c;
	side_free(scratch);
	assert_int_not_equal(itag2, 0);

	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, itag2);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(st(s, STAT_S_RESTART), 1);

	/* the target answers the restart with a new tag */
	learn(s, CPORT, itag2, ITAG_T + 9, tgt, ASSOC_L_EST);
	s->n_ev = 0;
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T + 9);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(st(s, STAT_S_REPLACED), 1);
	/* the old one deleted, the new one confirmed by its first packet */
	assert_int_equal(s->n_ev, 2);
	check_ev_head(s, &s->ev[0], ENGINE_SCTP_DELETE, CPORT);
	assert_int_equal(s->ev[0].itag_t, ITAG_T);
	check_ev_head(s, &s->ev[1], ENGINE_SCTP_UPDATE, CPORT);
	assert_true(s->ev[1].flags & ASSOC_F_CONFIRMED);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_NONE);
	assert_int_equal(lookup(s, CPORT, ITAG_T + 9, false, &a), ASSOC_HIT);
	assert_int_equal(a->target, tgt);
}

/* The restart's old target died: the restart is a new association, on the survivor. */
static void test_restart_target_dead(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	int tgt = establish(s, CPORT, ITAG_C, ITAG_T);

	s->alive[tgt] = false;
	side_rebuild(s);
	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C + 5);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), other(tgt));
}

/* The target's stack began the association (TAG with itag_c 0, learnt with the
 * address it sent to); the client's INIT from that address meets it (an INIT
 * collision, RFC 9260 5.2.1): the same target, though a fresh pick would not. */
static void test_collision(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;
	int tgt = N_T2;

	learn(s, CPORT, 0, ITAG_T, tgt, ASSOC_L_CREATED);
	drain(s, tgt);
	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(st(s, STAT_S_COLLISION), 1);
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
}

/* The target's stack began the association (its INIT seen leaving: itag_c unknown);
 * the client's INIT ACK through the VIPA tells its tag, so that the client's T-bit
 * ABORT (its own tag reflected) finds the association. */
static void test_client_init_ack(void **state)
{
	struct side *s = *state;
	struct cb prm = { .n = 0 }, ch = { .n = 0 };
	uint8_t b[512];
	size_t n;
	struct assoc *a;
	int tgt = N_T1;

	learn(s, CPORT, 0, ITAG_T, tgt, ASSOC_L_CREATED);
	cb_param(&prm, SCTP_PARAM_STATE_COOKIE, COOKIE, sizeof(COOKIE));
	cb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG_C, &prm);
	n = build(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T, &ch);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(lookup(s, CPORT, ITAG_T, false, &a), ASSOC_HIT);
	assert_int_equal(a->itag_c, ITAG_C);
	/* one UPDATE: the client's tag and the confirmation together */
	assert_int_equal(s->n_ev, 1);
	check_ev_head(s, &s->ev[0], ENGINE_SCTP_UPDATE, CPORT);
	assert_int_equal(s->ev[0].itag_c, ITAG_C);
	assert_true(s->ev[0].flags & ASSOC_F_CONFIRMED);
	s->n_ev = 0;
	n = build_bare(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_C, SCTP_CHUNK_ABORT,
		       SCTP_FLAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(s, b, n), tgt);
	assert_int_equal(a->state, ASSOC_CLOSED);
}

/* Two VIPAs never share an association (ep): the same ports and tag to the VIPA of
 * the other family have no state. */
static void test_ep_separate(void **state)
{
	struct side *s = *state;
	const struct fam *o = s->fm->family == AF_INET ? &F6 : &F4;
	uint8_t b[512];
	size_t n;

	establish(s, CPORT, ITAG_C, ITAG_T);
	n = build_data(b, o->c1, CPORT, o->vipa, VPORT, ITAG_T);
	hold_then_abort(s, b, n);
	check_abort_reply(s, o->vipa, o->c1, CPORT, ITAG_T, true);
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_MANGLED);
}

/* Chunks that do not parse are dropped and counted, never answered; an INIT with a
 * verification tag is malformed too (RFC 9260 8.5.1 (A)). */
static void test_malformed(void **state)
{
	struct side *s = *state;
	uint8_t b[512], v[8] = { 0 };
	struct cb ch = { .n = 0 };
	size_t n;

	init_routed(s, CPORT, ITAG_C);	/* an INIT waits: a hint must not save it */
	cb_tlv(&ch, SCTP_CHUNK_DATA, false, 3, v, sizeof(v), 200);	/* past the packet */
	n = build(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T, &ch);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(st(s, STAT_D_SCTP_MALFORMED), 1);

	ch.n = 0;
	cb_tlv(&ch, SCTP_CHUNK_DATA, false, 3, v, sizeof(v), 2);	/* shorter than a header */
	n = build(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T, &ch);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(st(s, STAT_D_SCTP_MALFORMED), 2);

	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C + 1);
	be_put32(b + (s->fm->family == AF_INET ? 20 : 40) + 4, 0x12345678);
	{
		struct pkt p;
		uint32_t off, crc;

		parse_ok(b, n, &p);
		off = p.l4_off;
		memset(b + off + 8, 0, 4);
		crc = pb_crc32c(b + off, n - off);
		b[off + 8] = (uint8_t)crc;
		b[off + 9] = (uint8_t)(crc >> 8);
		b[off + 10] = (uint8_t)(crc >> 16);
		b[off + 11] = (uint8_t)(crc >> 24);
	}
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(st(s, STAT_D_SCTP_MALFORMED), 3);
	assert_int_equal(st(s, STAT_S_INIT), 1);
	assert_int_equal(s->n_ev, 0);
}

/* A worker without the association table drops SCTP (rules/ queues it elsewhere). */
static void test_wrong_worker(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n;

	s->e.assocs = NULL;
	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	n = build_data(b, s->fm->c1, CPORT, s->fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_DROP);
	assert_int_equal(s->reply_len, 0);
	assert_int_equal(st(s, STAT_D_SCTP_WORKER), 2);
	assert_int_equal(st(s, STAT_DROPPED), 2);
	s->e.assocs = s->assocs;
	assert_int_equal(assoc_count(s->assocs), 0);
}

/* No target listens: the INIT gets an ABORT with the M bit, T bit clear and the INIT's
 * Initiate Tag as verification tag; no entry is left. */
static void test_init_no_target(void **state)
{
	struct side *s = *state;
	struct assoc_ports ap = ports(s, CPORT);
	uint8_t b[512];
	size_t n;

	s->listening[N_T1] = s->listening[N_T2] = false;
	side_rebuild(s);
	n = build_init(b, s->fm, s->fm->c1, s->fm->vipa, CPORT, ITAG_C);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	check_abort_reply(s, s->fm->vipa, s->fm->c1, CPORT, ITAG_C, false);
	assert_int_equal(st(s, STAT_D_NO_TARGET), 1);
	assert_null(assoc_find_init(s->assocs, &ap, ITAG_C));

	n = build_init(b, s->fm, s->fm->c2, s->fm->alt, CPORT, ITAG_C + 1);
	assert_int_equal(run(s, ENGINE_PRE, b, n), ENGINE_REPLY);
	check_abort_reply(s, s->fm->alt, s->fm->c2, CPORT, ITAG_C + 1, false);
	assert_int_equal(assoc_count(s->assocs), 0);
	assert_int_equal(s->n_ev, 0);
}

/* ================================================================ target */

/* The stack's INIT ACK lists the target's own addresses: rebuilt in e->out, from the
 * VIPA and its port, listing exactly the VIPA and the alternate address, the State
 * Cookie and every other parameter unchanged, CRC32c right; the distributors hear the
 * tags (TAG).  With one own address the packet grows by one address parameter, with
 * two it keeps its length. */
static void test_tgt_init_ack(void **state)
{
	struct side *s = *state;
	const char *self = s->fm->tgt[N_T1];
	const char *own2 = s->fm->family == AF_INET ? "10.2.9.21" : "fd02:9::21";
	size_t alen = s->fm->family == AF_INET ? 8 : 20;

	for (int k = 0; k < 2; k++) {
		uint8_t b[512], orig[512];
		size_t n = build_init_ack(b, self, s->fm->c1, ITAG_C + k, ITAG_T + k,
					  k ? own2 : NULL);
		const uint8_t *q = s->out;
		const struct engine_sctp_ev *ev;
		struct sctp_init in, oin;
		struct pkt p, op;

		memcpy(orig, b, n);
		s->n_ev = 0;
		assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_MANGLED);
		assert_int_equal(s->e.out_len, k ? n : n + alen);
		check_crc(q, s->e.out_len);
		check_ends(q, s->e.out_len, s->fm->vipa, VPORT, s->fm->c1, CPORT);
		parse_ok(q, s->e.out_len, &p);
		assert_int_equal(be_get32(q + p.l4_off + 4), ITAG_C + k);
		assert_int_equal(sctp_parse_init(q, &p, SCTP_CHUNK_INIT_ACK, &in), SCTP_OK);
		parse_ok(orig, n, &op);
		assert_int_equal(sctp_parse_init(orig, &op, SCTP_CHUNK_INIT_ACK, &oin), SCTP_OK);
		assert_int_equal(in.itag, ITAG_T + k);
		assert_int_equal(in.a_rwnd, oin.a_rwnd);
		assert_int_equal(in.init_tsn, oin.init_tsn);
		assert_int_equal(in.n_addrs, 2);
		pb_assert_addr(&in.addrs[0], s->fm->vipa);
		pb_assert_addr(&in.addrs[1], s->fm->alt);
		assert_int_equal(in.n_params, oin.n_params + (k ? 0 : 1));
		assert_true(in.cookie);
		assert_int_equal(in.cookie_len, sizeof(COOKIE));
		assert_memory_equal(q + in.cookie_off, COOKIE, sizeof(COOKIE));
		assert_memory_equal(q + in.cookie_off, orig + oin.cookie_off, sizeof(COOKIE));

		assert_int_equal(s->n_ev, 1);
		ev = &s->ev[0];
		check_ev_head(s, ev, ENGINE_SCTP_TAG, CPORT);
		assert_int_equal(ev->itag_c, ITAG_C + k);
		assert_int_equal(ev->itag_t, ITAG_T + k);
		pb_assert_addr(&ev->client, s->fm->c1);
		assert_int_equal(st(s, STAT_S_INIT_ACK), k + 1);
	}
}

/* No room to rebuild the INIT ACK: dropped, counted, no event. */
static void test_tgt_init_ack_no_out(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n = build_init_ack(b, s->fm->tgt[N_T1], s->fm->c1, ITAG_C, ITAG_T, NULL);

	s->e.out = NULL;
	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_DROP);
	s->e.out = s->out;
	s->e.out_cap = 16;
	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_DROP);
	assert_int_equal(st(s, STAT_D_SCTP_REWRITE), 2);
	assert_int_equal(s->n_ev, 0);
}

/* Any other packet of the stack: from the VIPA and its port, CRC32c right. */
static void test_tgt_data(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n = build_data(b, s->fm->tgt[N_T1], TPORT, s->fm->c2, CPORT, ITAG_C);

	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_MANGLED);
	assert_int_equal(s->e.out_len, 0);
	check_crc(b, n);
	check_ends(b, n, s->fm->vipa, VPORT, s->fm->c2, CPORT);
	assert_int_equal(st(s, STAT_S_TGT_XLATED), 1);
	assert_int_equal(s->n_ev, 0);
}

/* The kernel left the CRC32c to the device (csum_notready): the engine computes it. */
static void test_tgt_csum_notready(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	size_t n = build_data(b, s->fm->tgt[N_T1], TPORT, s->fm->c1, CPORT, ITAG_C);
	struct pkt p;

	parse_ok(b, n, &p);
	memset(b + p.l4_off + 8, 0, 4);
	s->reply_len = 0;
	assert_int_equal(engine_packet(&s->e, ENGINE_OUT, b, n, true, s->reply, &s->reply_len,
				       &s->reply_to),
			 ENGINE_MANGLED);
	check_crc(b, n);
	check_ends(b, n, s->fm->vipa, VPORT, s->fm->c1, CPORT);

	/* the INIT ACK, rebuilt in e->out */
	n = build_init_ack(b, s->fm->tgt[N_T1], s->fm->c1, ITAG_C, ITAG_T, NULL);
	parse_ok(b, n, &p);
	memset(b + p.l4_off + 8, 0, 4);
	assert_int_equal(engine_packet(&s->e, ENGINE_OUT, b, n, true, s->reply, &s->reply_len,
				       &s->reply_to),
			 ENGINE_MANGLED);
	assert_true(s->e.out_len > n);
	check_crc(s->out, s->e.out_len);
	check_ends(s->out, s->e.out_len, s->fm->vipa, VPORT, s->fm->c1, CPORT);
}

/* The stack's chunks do not parse: dropped, counted, no event. */
static void test_tgt_malformed(void **state)
{
	struct side *s = *state;
	uint8_t b[512], v[8] = { 0 };
	struct cb ch = { .n = 0 };
	size_t n;

	cb_tlv(&ch, SCTP_CHUNK_DATA, false, 3, v, sizeof(v), 300);
	n = build(b, s->fm->tgt[N_T1], TPORT, s->fm->c1, CPORT, ITAG_C, &ch);
	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_DROP);
	assert_int_equal(st(s, STAT_D_SCTP_MALFORMED), 1);
	assert_int_equal(s->n_ev, 0);
}

/* The stack ends an association: GONE with the tag the T bit says it is. */
static void test_tgt_gone(void **state)
{
	struct side *s = *state;
	const char *self = s->fm->tgt[N_T1];
	static const struct {
		uint8_t type, flags;
		uint32_t vtag, want_c, want_t;
	} cases[] = {
		{ SCTP_CHUNK_ABORT, 0, ITAG_C, ITAG_C, 0 },
		{ SCTP_CHUNK_ABORT, SCTP_FLAG_T, ITAG_T, 0, ITAG_T },
		{ SCTP_CHUNK_SHUTDOWN_COMPLETE, 0, ITAG_C, ITAG_C, 0 },
		{ SCTP_CHUNK_SHUTDOWN_COMPLETE, SCTP_FLAG_T, ITAG_T, 0, ITAG_T },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[512];
		size_t n = build_bare(b, self, TPORT, s->fm->c1, CPORT, cases[i].vtag,
				      cases[i].type, cases[i].flags);
		const struct engine_sctp_ev *ev = &s->ev[0];

		s->n_ev = 0;
		assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_MANGLED);
		check_crc(b, n);
		check_ends(b, n, s->fm->vipa, VPORT, s->fm->c1, CPORT);
		assert_int_equal(s->n_ev, 1);
		check_ev_head(s, ev, ENGINE_SCTP_GONE, CPORT);
		assert_int_equal(ev->itag_c, cases[i].want_c);
		assert_int_equal(ev->itag_t, cases[i].want_t);
		assert_int_equal(st(s, STAT_S_TGT_GONE), i + 1);
	}
}

/* The stack begins an association (or answers an INIT with its own): TAG with only its
 * tag. */
static void test_tgt_init(void **state)
{
	struct side *s = *state;
	uint8_t b[512];
	struct cb prm = { .n = 0 }, ch = { .n = 0 };
	size_t n;

	cb_addr(&prm, s->fm->tgt[N_T1]);
	cb_init(&ch, SCTP_CHUNK_INIT, ITAG_T, &prm);
	n = build(b, s->fm->tgt[N_T1], TPORT, s->fm->c1, CPORT, 0, &ch);
	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_MANGLED);
	check_crc(b, n);
	check_ends(b, n, s->fm->vipa, VPORT, s->fm->c1, CPORT);
	assert_int_equal(s->n_ev, 1);
	check_ev_head(s, &s->ev[0], ENGINE_SCTP_TAG, CPORT);
	assert_int_equal(s->ev[0].itag_c, 0);
	assert_int_equal(s->ev[0].itag_t, ITAG_T);
	assert_int_equal(st(s, STAT_S_TGT_INIT), 1);
}

/* The node talking to itself (the listener probe's INIT ACK): passed as it is. */
static void test_tgt_local(void **state)
{
	struct side *s = *state;
	const char *self = s->fm->tgt[N_T1];
	uint8_t b[512], orig[512];
	size_t n;

	n = build_init_ack(b, self, self, ITAG_C, ITAG_T, NULL);
	/* the probe's port, not a client's */
	be_put16(b + (s->fm->family == AF_INET ? 20 : 40) + 2, 33333);
	memcpy(orig, b, n);
	assert_int_equal(run(s, ENGINE_OUT, b, n), ENGINE_ACCEPT);
	assert_memory_equal(b, orig, n);
	assert_int_equal(s->e.out_len, 0);
	assert_int_equal(s->n_ev, 0);
	assert_int_equal(st(s, STAT_S_LOCAL), 1);
	assert_int_equal(st(s, STAT_S_INIT_ACK), 0);
}

/* Every case in IPv4 and in IPv6 (the prestate is the family). */
/* ================================================================ both */

/* The daemon's part between the two engines: the target's TAG becomes a learn on the
 * distributor's table, with the target's node index as sender. */
static void apply_tag(struct side *d, const struct engine_sctp_ev *ev, int sender)
{
	struct assoc_ports ap = { .ep = ev->ep, .cport = ev->cport, .vport = ev->vport };
	enum assoc_learn_res res;

	assert_int_equal(ev->kind, ENGINE_SCTP_TAG);
	assert_non_null(assoc_learn(d->assocs, &ap, ev->itag_c, ev->itag_t, (uint32_t)sender,
				    &ev->client, d->e.now_ms, &res));
	assert_int_equal(res, ASSOC_L_EST);
}

/* One association from the INIT to the end, through a distributor (d1) and the target
 * (t1) wired as the daemon wires them: the INIT reaches t1, its INIT ACK leaves as the
 * VIPA's listing the VIPA and the alternate address, its TAG teaches d1 the tags, and
 * the client's COOKIE ECHO, DATA to the VIPA and HEARTBEAT to the alternate address
 * from its second address all reach t1; the stack's ABORT is a GONE for the tag the
 * distributor knows. */
static void test_handshake(void **state)
{
	struct side *d = *state, *t = side_new(d->fm, "t1");
	const struct fam *fm = d->fm;
	uint8_t b[512];
	struct sctp_init in;
	struct assoc_ports ap = ports(d, CPORT);
	struct assoc *a;
	struct pkt p;
	size_t n;

	drain(d, N_T2);		/* the INIT must reach t1, the node t plays */
	assert_int_equal(init_routed(d, CPORT, ITAG_C), N_T1);

	n = build_init_ack(b, fm->tgt[N_T1], fm->c1, ITAG_C, ITAG_T, NULL);
	assert_int_equal(run(t, ENGINE_OUT, b, n), ENGINE_MANGLED);
	parse_ok(t->out, t->e.out_len, &p);
	assert_int_equal(sctp_parse_init(t->out, &p, SCTP_CHUNK_INIT_ACK, &in), SCTP_OK);
	assert_int_equal(in.n_addrs, 2);
	assert_int_equal(t->n_ev, 1);
	apply_tag(d, &t->ev[0], N_T1);

	n = build_cookie_echo(b, fm->c1, fm->vipa, ITAG_T);
	assert_int_equal(run(d, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(d, b, n), N_T1);
	assert_int_equal(st(d, STAT_S_HINTED), 0);	/* by its tag, not by the hint */
	n = build_data(b, fm->c1, CPORT, fm->vipa, VPORT, ITAG_T);
	assert_int_equal(run(d, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(d, b, n), N_T1);
	n = build_heartbeat(b, fm->c2, fm->alt, ITAG_T);
	assert_int_equal(run(d, ENGINE_PRE, b, n), ENGINE_MANGLED);
	assert_int_equal(routed_to(d, b, n), N_T1);
	assert_int_equal(st(d, STAT_S_FORWARDED), 3);
	a = assoc_find_init(d->assocs, &ap, ITAG_C);
	assert_non_null(a);
	assert_int_equal(a->state, ASSOC_EST);
	assert_int_equal(a->n_paths, 2);

	/* the stack aborts (T bit clear: the client's tag); the daemon's GONE receiver
	 * finds the entry with tbit=true for itag_c */
	n = build_bare(b, fm->tgt[N_T1], TPORT, fm->c1, CPORT, ITAG_C, SCTP_CHUNK_ABORT, 0);
	assert_int_equal(run(t, ENGINE_OUT, b, n), ENGINE_MANGLED);
	assert_int_equal(t->n_ev, 2);
	assert_int_equal(t->ev[1].kind, ENGINE_SCTP_GONE);
	ap = (struct assoc_ports){ .ep = t->ev[1].ep, .cport = t->ev[1].cport,
				   .vport = t->ev[1].vport };
	assert_int_equal(assoc_lookup(d->assocs, &ap, t->ev[1].itag_c, true, &a, NULL),
			 ASSOC_HIT);
	assert_int_equal(a->itag_t, ITAG_T);
	assert_int_equal(a->target, N_T1);
	side_free(t);
}

#define BOTH(t, setup)                                          \
	{ #t "/ipv4", t, setup, teardown, (void *)&F4 },        \
	{ #t "/ipv6", t, setup, teardown, (void *)&F6 }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_init_routed, setup_dist),
		BOTH(test_init_to_alt, setup_dist),
		BOTH(test_route_by_tag, setup_dist),
		BOTH(test_cookie_echo_hinted, setup_dist),
		BOTH(test_no_state, setup_dist),
		BOTH(test_client_ends, setup_dist),
		BOTH(test_target_dies, setup_dist),
		BOTH(test_target_unlisted, setup_dist),
		BOTH(test_sweep_dead, setup_dist),
		BOTH(test_client_init_ack, setup_dist),
		BOTH(test_restart, setup_dist),
		BOTH(test_restart_target_dead, setup_dist),
		BOTH(test_collision, setup_dist),
		BOTH(test_ep_separate, setup_dist),
		BOTH(test_malformed, setup_dist),
		BOTH(test_wrong_worker, setup_dist),
		BOTH(test_init_no_target, setup_dist),
		BOTH(test_tgt_init_ack, setup_tgt),
		BOTH(test_handshake, setup_dist),
		BOTH(test_tgt_init_ack_no_out, setup_tgt),
		BOTH(test_tgt_data, setup_tgt),
		BOTH(test_tgt_csum_notready, setup_tgt),
		BOTH(test_tgt_malformed, setup_tgt),
		BOTH(test_tgt_gone, setup_tgt),
		BOTH(test_tgt_init, setup_tgt),
		BOTH(test_tgt_local, setup_tgt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
