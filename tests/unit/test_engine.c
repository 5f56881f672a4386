/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine: one verdict per packet, driven with packets from pktbuild.h and a view
 * built from tests/unit/data/engine.conf.  Checksums are verified with pktbuild's
 * independent one's-complement sum, not with nfq/csum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/view.h"
#include "nfq/engine.h"
#include "tests/unit/pktbuild.h"

struct fixture {
	struct cfg *cfg;
	struct view *view;
	struct conn_table *conns;
	struct stats stats;
	struct engine e;
	bool listening[8];	/* by node index */
	bool drained[8];
	bool unheard[8];	/* not heard since the start */
};

static bool fx_heard(void *arg, size_t node)
{
	struct fixture *f = arg;

	return node >= 8 || !f->unheard[node];
}

static bool fx_listening(void *arg, size_t node, uint8_t family, uint8_t proto, uint16_t port)
{
	struct fixture *f = arg;

	(void)family; (void)proto; (void)port;
	return node < 8 && f->listening[node];
}

static void fx_rebuild(struct fixture *f)
{
	bool alive[8] = { true, true, true, true, true, true, true, true };
	struct view_input in = {
		.cfg = f->cfg, .self = f->cfg->self, .alive = alive, .drained = f->drained,
		.listening = fx_listening, .heard = fx_heard, .arg = f, .prev = f->view,
		.generation = 1,
	};
	struct view *nv = view_build(&in);

	assert_non_null(nv);
	view_free(f->view);
	f->view = nv;
	f->e.view = nv;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("CD_TEST_DATA");
	char path[1024], err[CFG_ERR_MAX];

	snprintf(path, sizeof(path), "%s/engine.conf", dir ? dir : "tests/unit/data");
	f->cfg = cfg_load(path, NULL, err, sizeof(err));
	if (!f->cfg)
		fail_msg("%s", err);
	for (int i = 0; i < 8; i++)
		f->listening[i] = true;
	f->conns = conn_table_new(1024);
	assert_non_null(f->conns);
	f->e.conns = f->conns;
	f->e.stats = &f->stats;
	f->e.now_ms = 1000;
	f->e.timeouts = (struct conn_timeouts){ 30, 900, 30, 10, 60 };
	fx_rebuild(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	view_free(f->view);
	conn_table_free(f->conns);
	cfg_free(f->cfg);
	free(f);
	return 0;
}

/* --- packets from tests/unit/pktbuild.h, checked by its independent sums ---- */

/* Valid when header and L4 (with pseudo-header) each sum to 0xffff. */
static void check_csums(const uint8_t *b, size_t len)
{
	if ((b[0] >> 4) == 4) {
		uint32_t ihl = (uint32_t)(b[0] & 15) * 4;

		assert_int_equal(pb_ip4_sum(b), 0xffff);
		assert_int_equal(pb_l4_sum(b, AF_INET, ihl, (uint32_t)len, b[9]), 0xffff);
	} else {
		assert_int_equal(pb_l4_sum(b, AF_INET6, 40, (uint32_t)len, b[6]), 0xffff);
	}
}

/* TCP or UDP packet with 4 payload bytes; the family follows the addresses. */
static size_t build(uint8_t *b, uint8_t proto, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, uint8_t flags)
{
	struct pb_spec s = {
		.family = strchr(src, ':') ? AF_INET6 : AF_INET, .src = src, .dst = dst,
		.proto = proto, .sport = sport, .dport = dport, .seq = 0x11223344,
		.flags = flags, .payload = 4,
	};

	return pb_build_pkt(b, &s);
}

/* A router's fragmentation-needed (MTU 1400) to the VIPA quoting IP header + 8 bytes of
 * inner, as routers quote. */
static size_t build_frag_needed(uint8_t *b, const uint8_t *inner)
{
	struct pb_spec s = { .family = AF_INET, .src = "10.1.0.1", .dst = "10.2.0.100" };

	return pb_build_icmp_err(b, &s, 3, 4, 1400, inner, 28);
}

static enum engine_verdict run(struct fixture *f, enum engine_hook h, uint8_t *b, size_t len,
			       uint8_t *reply, size_t *rlen)
{
	struct ip_addr to;
	size_t dummy;

	return engine_packet(&f->e, h, b, len, false, reply, rlen ? rlen : &dummy, &to);
}

static const char *dst4(const uint8_t *b, char *s)
{
	return inet_ntop(AF_INET, b + 16, s, INET_ADDRSTRLEN);
}

/* The state of the TCP entry client:cport -> 10.2.0.100:vport, -1 if none. */
static int conn_lookup_state(struct fixture *f, const char *client, uint16_t cport,
			     uint16_t vport)
{
	struct ip_addr ca, va;
	struct conn_key k;
	const struct conn *c;

	addr_parse(&ca, client);
	addr_parse(&va, "10.2.0.100");
	conn_key_set(&k, IPPROTO_TCP, &ca, cport, &va, vport);
	c = conn_lookup(f->e.conns, &k);
	return c ? c->state : -1;
}

/* Replaces the table by an empty one of n entries. */
static void fx_table(struct fixture *f, size_t n)
{
	conn_table_free(f->conns);
	f->conns = f->e.conns = conn_table_new(n);
	assert_non_null(f->conns);
}

/* Sends one packet client:cport -> 10.2.0.100:vport and returns the verdict;
 * *tgt (may be NULL) gets the last byte of the destination after it. */
static enum engine_verdict send1(struct fixture *f, uint8_t proto, const char *client,
				 uint16_t cport, uint16_t vport, uint8_t flags, uint8_t *tgt)
{
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, proto, client, cport, "10.2.0.100", vport, flags);
	enum engine_verdict v = run(f, ENGINE_PRE, b, len, r, NULL);

	if (tgt)
		*tgt = b[19];
	return v;
}

/* --- tests ----------------------------------------------------------------- */

static void test_syn_rewritten_to_target(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	char a[INET_ADDRSTRLEN];

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	dst4(b, a);
	assert_true(!strcmp(a, "10.2.0.21") || !strcmp(a, "10.2.0.22") ||
		    !strcmp(a, "10.2.0.23"));
	assert_int_equal(be_get16(b + 22), 8080);
	/* the client address is kept: the application sees the real client */
	assert_int_equal(memcmp(b + 12, "\x0a\x01\x00\x02", 4), 0);
	check_csums(b, len);
	/* maglev routes a SYN by the hash alone: no entry yet */
	assert_int_equal(conn_count(f->conns), 0);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_SYN_STATELESS), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 0);
	/* the VIPA it was forwarded for, as the worker times takeovers */
	assert_non_null(f->e.hit_vipa);
	assert_int_equal(memcmp(&f->e.hit_vipa->addr.v4, "\x0a\x02\x00\x64", 4), 0);
	/* the ACK completing the handshake creates the entry, same target */
	{
		uint8_t first = b[19];

		len = build(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x10);
		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
		assert_int_equal(b[19], first);
	}
	assert_int_equal(conn_count(f->conns), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 0);
	assert_int_equal(conn_lookup_state(f, "10.1.0.2", 40000, 80), CONN_EST);
}

static void test_flow_sticks_and_spreads(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	unsigned hits[3] = { 0 };

	for (uint16_t port = 20000; port < 20600; port++) {
		size_t len = build(b, IPPROTO_TCP, "10.1.0.2", port, "10.2.0.100", 80, 0x02);
		uint8_t first;

		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
		first = b[19];
		hits[first - 21]++;
		/* the rest of the connection goes to the same target */
		for (int k = 0; k < 3; k++) {
			len = build(b, IPPROTO_TCP, "10.1.0.2", port, "10.2.0.100", 80, 0x10);
			assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
			assert_int_equal(b[19], first);
			check_csums(b, len);
		}
	}
	for (int i = 0; i < 3; i++)
		assert_in_range(hits[i], 150, 250);	/* 200 each on average */
	assert_int_equal(conn_count(f->conns), 600);
}

static void test_no_target_gets_rst(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t rlen = 0, len;

	for (int i = 0; i < 8; i++)
		f->listening[i] = false;
	fx_rebuild(f);
	len = build(b, IPPROTO_TCP, "10.1.0.2", 40001, "10.2.0.100", 80, 0x02);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, &rlen), ENGINE_REPLY);
	assert_int_equal(rlen, 40);
	assert_int_equal(memcmp(r + 12, "\x0a\x02\x00\x64", 4), 0);	/* from the VIPA */
	assert_int_equal(memcmp(r + 16, "\x0a\x01\x00\x02", 4), 0);	/* to the client */
	assert_int_equal(be_get16(r + 20), 80);
	assert_int_equal(be_get16(r + 22), 40001);
	assert_true(r[33] & 0x04);					/* RST */
	check_csums(r, rlen);
	assert_int_equal(stats_get(&f->stats, STAT_D_NO_TARGET), 1);
	assert_int_equal(conn_count(f->conns), 0);
	assert_null(f->e.hit_vipa);	/* answered, not forwarded */
}

static void test_udp_no_target_gets_port_unreachable(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t rlen = 0, len;

	for (int i = 0; i < 8; i++)
		f->listening[i] = false;
	fx_rebuild(f);
	len = build(b, IPPROTO_UDP, "10.1.0.2", 5000, "10.2.0.100", 53, 0);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, &rlen), ENGINE_REPLY);
	assert_int_equal(r[9], IPPROTO_ICMP);
	assert_int_equal(r[20], 3);	/* destination unreachable */
	assert_int_equal(r[21], 3);	/* port unreachable */
	assert_int_equal(memcmp(r + 12, "\x0a\x02\x00\x64", 4), 0);
	check_csums(r, rlen);
}

static void test_midflow_adopted_by_maglev(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], b2[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.9", 33333, "10.2.0.100", 80, 0x02);

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	/* forget the entry, as after a restart: an ACK must go to the same target */
	conn_table_free(f->conns);
	f->conns = f->e.conns = conn_table_new(1024);
	len = build(b2, IPPROTO_TCP, "10.1.0.9", 33333, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b2, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b2[19], b[19]);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 1);
	assert_non_null(f->e.hit_vipa);
}

/* A restarted distributor that has not heard every target yet must not adopt:
 * its hash over a partial target set would send established flows elsewhere. */
static void test_midflow_waits_until_settled(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], b2[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.9", 33335, "10.2.0.100", 80, 0x10);
	size_t node = 0;

	/* not heard yet: it is no active target, so its name is in no reply */
	for (size_t i = 0; i < f->view->n_svcs; i++)
		if (f->view->svcs[i].port == 80 && f->view->svcs[i].n_targets > 1)
			node = f->view->svcs[i].targets[1].node;
	f->unheard[node] = true;
	f->listening[node] = false;
	fx_rebuild(f);
	memcpy(b2, b, sizeof(b));
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_UNSETTLED), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 0);
	/* a SYN still goes to a target that listens */
	len = build(b, IPPROTO_TCP, "10.1.0.9", 33336, "10.2.0.100", 80, 0x02);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	/* heard: the retransmission is adopted */
	f->unheard[node] = false;
	f->listening[node] = true;
	fx_rebuild(f);
	len = build(b2, IPPROTO_TCP, "10.1.0.9", 33335, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b2, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 1);
}

static void test_midflow_dropped_without_maglev(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.9", 33334, "10.2.0.100", 81, 0x10);

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_NO_CONN), 1);
	assert_null(f->e.hit_vipa);
}

static void test_malformed_and_fragments_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);

	/* truncated in the TCP header */
	assert_int_equal(run(f, ENGINE_PRE, b, 30, r, NULL), ENGINE_DROP);
	/* total length beyond the buffer */
	len = build(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	be_put16(b + 2, 1000);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	/* not IP at all */
	memset(b, 0xff, 64);
	assert_int_equal(run(f, ENGINE_PRE, b, 64, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_MALFORMED), 3);
	/* a later fragment: no ports, cannot be mapped */
	len = build(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	be_put16(b + 6, 0x0010);
	pb_fix_ip4(b);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_FRAGMENT), 1);
	assert_int_equal(conn_count(f->conns), 0);
}

static void test_target_reply_comes_from_vipa(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	/* d1 is a target of udp/53: its reply leaves as VIPA:53 */
	size_t len = build(b, IPPROTO_UDP, "10.2.0.11", 53, "10.1.0.2", 5000, 0);

	assert_int_equal(run(f, ENGINE_OUT, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(memcmp(b + 12, "\x0a\x02\x00\x64", 4), 0);
	assert_int_equal(be_get16(b + 20), 53);
	check_csums(b, len);
	/* anything else leaving the node is not ours */
	len = build(b, IPPROTO_TCP, "10.2.0.11", 22, "10.1.0.2", 5000, 0x10);
	assert_int_equal(run(f, ENGINE_OUT, b, len, r, NULL), ENGINE_ACCEPT);
}

static void test_drained_target_keeps_flows(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 41000, "10.2.0.100", 80, 0x02);
	uint8_t first;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	first = b[19];
	f->drained[first - 21 + 1] = true;	/* node index: t1 = 1 */
	fx_rebuild(f);
	len = build(b, IPPROTO_TCP, "10.1.0.2", 41000, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], first);
	for (uint16_t p = 42000; p < 42300; p++) {
		len = build(b, IPPROTO_TCP, "10.1.0.2", p, "10.2.0.100", 80, 0x02);
		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
		assert_int_not_equal(b[19], first);
	}
}

static void test_ipv6_vipa(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build(b, IPPROTO_TCP, "fd01::2", 50000, "fd02::100", 80, 0x02);
	struct in6_addr t1, t2;

	inet_pton(AF_INET6, "fd02::21", &t1);
	inet_pton(AF_INET6, "fd02::22", &t2);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_true(!memcmp(b + 24, &t1, 16) || !memcmp(b + 24, &t2, 16));
	assert_int_equal(be_get16(b + 42), 8080);
	check_csums(b, len);
}

/* ICMP fragmentation-needed about a VIPA flow reaches the distributor (the
 * target's reply was too big): it goes on to the target, embedded header
 * rewritten to what the target sent. */
static void test_icmp_error_forwarded(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256], r[ENGINE_REPLY_MAX], inner[64];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 40100, "10.2.0.100", 80, 0x02);
	uint8_t tgt;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	tgt = b[19];
	/* what the client saw: VIPA:80 -> client:40100 */
	build(inner, IPPROTO_TCP, "10.2.0.100", 80, "10.1.0.2", 40100, 0x10);
	len = build_frag_needed(b, inner);
	assert_int_equal(len, 56);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], tgt);			/* outer dst: the target */
	assert_int_equal(b[28 + 15], tgt);		/* embedded src: the target */
	assert_int_equal(be_get16(b + 48), 8080);		/* embedded sport: target_port */
	assert_int_equal(pb_fold(pb_sum(0, b + 28, 20)), 0xffff);
	check_csums(b, len);
	assert_int_equal(stats_get(&f->stats, STAT_ICMP_FWD), 1);
}

static struct conn_table *other_table;

static bool find_in_other(void *arg, const struct conn_key *k, struct ip_addr *taddr,
			  uint16_t *tport)
{
	struct conn *c = conn_lookup(other_table, k);

	(void)arg;
	if (!c)
		return false;
	*taddr = c->taddr;
	*tport = c->tport;
	return true;
}

/* The ICMP error lands on another worker than the flow: found there. */
static void test_icmp_error_other_worker(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256], copy[256], r[ENGINE_REPLY_MAX], inner[64];
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 40200, "10.2.0.100", 81, 0x02);
	uint8_t tgt;

	/* round robin (port 81): the entry is the only way to the target */
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	tgt = b[19];
	other_table = f->conns;
	f->e.conns = conn_table_new(64);
	f->e.find_other = find_in_other;
	build(inner, IPPROTO_TCP, "10.2.0.100", 81, "10.1.0.2", 40200, 0x10);
	len = build_frag_needed(b, inner);
	assert_int_equal(len, 56);
	memcpy(copy, b, sizeof(copy));
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], tgt);
	check_csums(b, len);
	/* and without the lookup, the error is left to the local stack */
	f->e.find_other = NULL;
	assert_int_equal(run(f, ENGINE_PRE, copy, len, r, NULL), ENGINE_ACCEPT);
	assert_int_equal(memcmp(copy + 16, "\x0a\x02\x00\x64", 4), 0);
	conn_table_free(f->e.conns);
	f->e.conns = f->conns;
}

/* --- replication hooks --- */

struct ev_log {
	int kind[16];
	uint8_t state[16];
	int n;
};

static void log_event(void *arg, int kind, const struct conn *c)
{
	struct ev_log *l = arg;

	if (l->n < 16) {
		l->kind[l->n] = kind;
		l->state[l->n] = c->state;
		l->n++;
	}
}

/* Creations and state changes are reported, plain packets are not. */
static void test_events_on_changes_only(void **state)
{
	struct fixture *f = *state;
	struct ev_log l = { .n = 0 };
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	static const uint8_t flags[] = { 0x02, 0x10, 0x18, 0x10, 0x11 };
	size_t len;

	f->e.conn_event = log_event;
	f->e.conn_event_arg = &l;
	for (size_t i = 0; i < sizeof(flags); i++) {
		len = build(b, IPPROTO_TCP, "10.1.0.2", 45000, "10.2.0.100", 80, flags[i]);
		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	}
	/* the SYN made no entry: the first event is the handshake's end */
	assert_int_equal(l.n, 2);
	assert_int_equal(l.kind[0], ENGINE_CONN_UPDATE);
	assert_int_equal(l.state[0], CONN_EST);
	assert_int_equal(l.state[1], CONN_FIN);
	/* expiry is reported as a deletion */
	f->e.now_ms += 3600 * 1000;
	conn_expire(f->conns, f->e.now_ms, &f->e.timeouts, 1 << 20, engine_conn_expired, &f->e);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.kind[2], ENGINE_CONN_DELETE);
}

/* The fast-path hook: every change, and whether to take it. */
struct fast_log {
	int op[32];
	uint16_t cport[32];
	int n;
	bool refuse;
};

static bool log_fast(void *arg, int op, const struct conn *c)
{
	struct fast_log *l = arg;

	if (l->n < 32) {
		l->op[l->n] = op;
		l->cport[l->n] = c->key.cport;
		l->n++;
	}
	return !l->refuse;
}

/* A flow enters the map when its handshake completes (never on a SYN, which
 * anyone can forge), leaves it on the client's FIN or RST and when its
 * entry goes; a flow in the map whose packets still come is put in again
 * once a second at most; a refused change is tried again at the next
 * packet. */
static void test_fast_follows_state(void **state)
{
	struct fixture *f = *state;
	struct fast_log l = { .n = 0 };
	const struct conn *c;
	struct conn_key k;
	struct ip_addr ca, va;

	f->e.fast = log_fast;
	f->e.fast_arg = &l;
	/* maglev service: SYN, then the handshake's ACK */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 0);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x10, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.op[0], ENGINE_FAST_ADD);
	assert_int_equal(l.cport[0], 46000);
	addr_parse(&ca, "10.1.0.2");
	addr_parse(&va, "10.2.0.100");
	conn_key_set(&k, IPPROTO_TCP, &ca, 46000, &va, 80);
	c = conn_lookup(f->conns, &k);
	assert_non_null(c);
	assert_int_equal(c->fast, 1);
	assert_int_equal(c->fast_ms, f->e.now_ms);
	/* still queued within the second (already in the kernel's queue):
	 * counted, not put in again */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x18, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 1);
	assert_int_equal(stats_get(&f->stats, STAT_F_REQUEUED), 1);
	/* a second later: the map must have lost it: put in again */
	f->e.now_ms += ENGINE_FAST_READD_MS;
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x18, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.op[1], ENGINE_FAST_ADD);
	assert_int_equal(stats_get(&f->stats, STAT_F_READDS), 1);
	/* a refused re-add (the fast path went off): no longer in the map,
	 * so the next packet asks again at once */
	f->e.now_ms += ENGINE_FAST_READD_MS;
	l.refuse = true;
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x18, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 3);
	assert_int_equal(c->fast, 0);
	l.refuse = false;
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x18, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.op[3], ENGINE_FAST_ADD);
	assert_int_equal(c->fast, 1);
	assert_int_equal(stats_get(&f->stats, STAT_F_READDS), 2);
	l.n = 2;	/* the indexes below as before */
	/* the client's FIN takes it out */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x11, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.op[2], ENGINE_FAST_DEL);
	assert_int_equal(c->fast, 0);
	/* the closing ACKs: nothing more */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46000, 80, 0x10, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 3);

	/* round-robin: the embryonic entry is not put in, its ACK is; RST out */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46001, 81, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 3);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46001, 81, 0x10, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.op[3], ENGINE_FAST_ADD);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46001, 81, 0x04, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.op[4], ENGINE_FAST_DEL);
	assert_int_equal(l.cport[4], 46001);

	/* UDP: in at the first packet; a refusal is retried by the next one */
	l.refuse = true;
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.2", 46002, 53, 0, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 6);
	assert_int_equal(l.op[5], ENGINE_FAST_ADD);
	l.refuse = false;
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.2", 46002, 53, 0, NULL), ENGINE_MANGLED);
	assert_int_equal(l.n, 7);
	assert_int_equal(l.op[6], ENGINE_FAST_ADD);
	assert_int_equal(stats_get(&f->stats, STAT_F_READDS), 2);
	/* expiry takes each entry that was ever in the map out of it (again:
	 * a packet the kernel rewrote while the element went may have put it
	 * back), the UDP flow's and the two closed connections' */
	f->e.now_ms += 3600 * 1000;
	conn_expire(f->conns, f->e.now_ms, &f->e.timeouts, 1 << 20, engine_conn_expired, &f->e);
	assert_int_equal(conn_count(f->conns), 0);
	assert_int_equal(l.n, 10);
	{
		bool seen[3] = { false, false, false };

		for (int i = 7; i < 10; i++) {
			assert_int_equal(l.op[i], ENGINE_FAST_DEL);
			assert_true(l.cport[i] >= 46000 && l.cport[i] <= 46002);
			seen[l.cport[i] - 46000] = true;
		}
		assert_true(seen[0] && seen[1] && seen[2]);
	}
	/* an entry never in the map asks for nothing when it goes */
	l.n = 0;
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 46003, 81, 0x02, NULL), ENGINE_MANGLED);
	f->e.now_ms += 3600 * 1000;
	conn_expire(f->conns, f->e.now_ms, &f->e.timeouts, 1 << 20, engine_conn_expired, &f->e);
	assert_int_equal(conn_count(f->conns), 0);
	assert_int_equal(l.n, 0);
}

static bool replica_has_t3(void *arg, const struct conn_key *k, struct conn *out)
{
	int *calls = arg;

	(*calls)++;
	if (k->cport != 46000)
		return false;
	memset(out, 0, sizeof(*out));
	out->key = *k;
	addr_parse(&out->taddr, "10.2.0.23");
	out->tport = 8080;
	out->target = 3;
	out->state = CONN_EST;
	return true;
}

/* After a takeover the replica decides, for mid-flow packets and SYNs alike. */
static void test_replica_keeps_target(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	int calls = 0;
	size_t len;

	f->e.find_replica = replica_has_t3;
	f->e.find_replica_arg = &calls;
	/* only t1 listens: without the replica the flow would go to t1 */
	f->listening[2] = f->listening[3] = false;
	fx_rebuild(f);
	len = build(b, IPPROTO_TCP, "10.1.0.2", 46000, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], 23);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_FROM_REPLICA), 1);
	/* the entry is ours now: the replica is not asked again */
	len = build(b, IPPROTO_TCP, "10.1.0.2", 46000, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], 23);
	assert_int_equal(calls, 1);
	/* a flow the replica does not know is scheduled as usual */
	len = build(b, IPPROTO_TCP, "10.1.0.2", 46001, "10.2.0.100", 80, 0x02);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], 21);
}

/* --- new-connection state: SYN floods (defect 5) --- */

struct ev_count {
	unsigned update, del, syn_state;
};

static void count_event(void *arg, int kind, const struct conn *c)
{
	struct ev_count *n = arg;

	if (kind == ENGINE_CONN_UPDATE)
		n->update++;
	else
		n->del++;
	if (c->state == CONN_SYN || c->cls == CONN_C_EMBRYO)
		n->syn_state++;
}

static void fx_count_events(struct fixture *f, struct ev_count *n)
{
	memset(n, 0, sizeof(*n));
	f->e.conn_event = count_event;
	f->e.conn_event_arg = n;
}

static const char *spoofed(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "10.%u.%u.%u", 100 + i / 65536, (i / 256) % 256, i % 256);
	return buf;
}

/* A flood of SYNs from forged sources at a maglev service: every one is
 * forwarded, none leaves an entry or an event behind. */
static void test_maglev_syn_flood_no_entries(void **state)
{
	struct fixture *f = *state;
	struct ev_count ev;
	char src[32];
	uint8_t t1, t2;

	fx_count_events(f, &ev);
	for (unsigned i = 0; i < 5000; i++)
		assert_int_equal(send1(f, IPPROTO_TCP, spoofed(i, src, sizeof(src)),
				       (uint16_t)(1024 + i), 80, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(conn_count(f->conns), 0);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_SYN_STATELESS), 5000);
	assert_int_equal(stats_get(&f->stats, STAT_D_TABLE_FULL), 0);
	assert_int_equal(ev.update + ev.del, 0);
	/* a retransmitted SYN goes where the first one went */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.7", 5555, 80, 0x02, &t1), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.7", 5555, 80, 0x02, &t2), ENGINE_MANGLED);
	assert_int_equal(t1, t2);
	assert_int_equal(conn_count(f->conns), 0);
	/* a real client completes its handshake: one entry, one event */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.7", 5555, 80, 0x10, &t2), ENGINE_MANGLED);
	assert_int_equal(t1, t2);
	assert_int_equal(conn_count(f->conns), 1);
	assert_int_equal(ev.update, 1);
	assert_int_equal(ev.syn_state, 0);
}

/* The target set changes between the SYN and its ACK: the ACK follows the
 * SYN (remembered), not the new hash.  A forged ACK with no SYN before it
 * makes no entry (adopted statelessly). */
static void test_maglev_ack_follows_syn(void **state)
{
	struct fixture *f = *state;
	uint8_t first, t;
	unsigned moved = 0;

	for (uint16_t port = 30000; port < 30050; port++) {
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.3", port, 80, 0x02, &first),
				 ENGINE_MANGLED);
		/* drain the SYN's target: the hash now gives another */
		memset(f->drained, 0, sizeof(f->drained));
		f->drained[first - 21 + 1] = true;
		fx_rebuild(f);
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.3", port, 80, 0x10, &t),
				 ENGINE_MANGLED);
		assert_int_equal(t, first);
		/* and the entry keeps it */
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.3", port, 80, 0x18, &t),
				 ENGINE_MANGLED);
		assert_int_equal(t, first);
		moved++;
		memset(f->drained, 0, sizeof(f->drained));
		fx_rebuild(f);
	}
	assert_int_equal(conn_count(f->conns), moved);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), moved);
	/* forged ACKs: forwarded by the hash, no entry */
	for (uint16_t port = 31000; port < 31100; port++)
		assert_int_equal(send1(f, IPPROTO_TCP, "10.9.0.3", port, 80, 0x10, NULL),
				 ENGINE_MANGLED);
	assert_int_equal(conn_count(f->conns), moved);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 100);
}

/* Round robin must remember its choice: a SYN makes an embryonic entry,
 * never replicated, capped at a quarter of the table (the oldest gives way),
 * established (and replicated) by the handshake's ACK. */
static void test_rr_embryonic_capped(void **state)
{
	struct fixture *f = *state;
	struct ev_count ev;
	uint8_t t;

	fx_table(f, 16);	/* embryonic cap 4 */
	fx_count_events(f, &ev);
	for (uint16_t port = 1000; port < 1010; port++)
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.4", port, 81, 0x02, NULL),
				 ENGINE_MANGLED);
	assert_int_equal(conn_count(f->conns), 4);
	assert_int_equal(conn_class_count(f->conns, CONN_C_EMBRYO), 4);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_EMBRYO_CREATED), 10);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_EMBRYO_EVICTED), 6);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 0);
	assert_int_equal(ev.update + ev.del, 0);
	/* the oldest went: its ACK has nowhere to go */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.4", 1000, 81, 0x10, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_NO_CONN), 1);
	/* a retransmitted SYN refreshes its entry: 1006 is now the newest */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.4", 1006, 81, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.4", 1010, 81, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(conn_lookup_state(f, "10.1.0.4", 1006, 81), CONN_SYN);
	assert_int_equal(conn_lookup_state(f, "10.1.0.4", 1007, 81), -1);
	/* the newest completes its handshake: established and replicated */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.4", 1009, 81, 0x10, &t), ENGINE_MANGLED);
	assert_int_equal(t, 21);
	assert_int_equal(conn_lookup_state(f, "10.1.0.4", 1009, 81), CONN_EST);
	assert_int_equal(conn_class_count(f->conns, CONN_C_EMBRYO), 3);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 1);
	assert_int_equal(ev.update, 1);
	assert_int_equal(ev.syn_state, 0);
	/* an embryonic entry expires after a few seconds, silently */
	f->e.now_ms += (CONN_EMBRYO_TIMEOUT_S + 1) * 1000;
	conn_expire(f->conns, f->e.now_ms, &f->e.timeouts, 1 << 20, engine_conn_expired, &f->e);
	assert_int_equal(conn_class_count(f->conns, CONN_C_EMBRYO), 0);
	assert_int_equal(conn_count(f->conns), 1);
	assert_int_equal(ev.del, 0);
}

/* A table full of established connections: a SYN evicts an embryonic entry
 * if there is one, else is refused; established entries are never evicted. */
static void test_rr_full_table_keeps_established(void **state)
{
	struct fixture *f = *state;

	fx_table(f, 8);
	for (uint16_t port = 2000; port < 2007; port++) {
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", port, 81, 0x02, NULL),
				 ENGINE_MANGLED);
		assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", port, 81, 0x10, NULL),
				 ENGINE_MANGLED);
	}
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2100, 81, 0x02, NULL), ENGINE_MANGLED);
	assert_true(conn_full(f->conns));
	/* full: the next SYN takes the embryonic entry's place */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2101, 81, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(conn_lookup_state(f, "10.1.0.5", 2100, 81), -1);
	assert_int_equal(conn_lookup_state(f, "10.1.0.5", 2101, 81), CONN_SYN);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_EMBRYO_EVICTED), 1);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2101, 81, 0x10, NULL), ENGINE_MANGLED);
	/* eight established: SYNs and new UDP flows are refused */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2102, 81, 0x02, NULL), ENGINE_DROP);
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.5", 2103, 53, 0, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_TABLE_FULL), 2);
	for (uint16_t port = 2000; port < 2007; port++)
		assert_int_equal(conn_lookup_state(f, "10.1.0.5", port, 81), CONN_EST);
	/* maglev still forwards the end of a handshake, untracked */
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2104, 80, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.5", 2104, 80, 0x10, NULL), ENGINE_MANGLED);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_UNTRACKED), 1);
	assert_int_equal(conn_count(f->conns), 8);
}

/* UDP: the first datagram makes an entry; a full table gives a new flow the
 * place of the least recently seen UDP entry idle for a second, else refuses. */
static void test_udp_idle_eviction(void **state)
{
	struct fixture *f = *state;
	struct ev_count ev;

	fx_table(f, 8);
	fx_count_events(f, &ev);
	for (uint16_t port = 3000; port < 3008; port++)
		assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", port, 53, 0, NULL),
				 ENGINE_MANGLED);
	assert_int_equal(conn_class_count(f->conns, CONN_C_UDP), 8);
	/* nobody idle long enough yet */
	f->e.now_ms += CONN_UDP_EVICT_IDLE_MS / 2;
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3100, 53, 0, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_TABLE_FULL), 1);
	/* 3000 speaks again: 3001 is now the least recently seen */
	f->e.now_ms += CONN_UDP_EVICT_IDLE_MS;
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3000, 53, 0, NULL), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3101, 53, 0, NULL), ENGINE_MANGLED);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_UDP_EVICTED), 1);
	assert_int_equal(ev.del, 1);	/* replicated, so its removal is too */
	assert_int_equal(conn_count(f->conns), 8);
	{
		struct ip_addr ca, va;
		struct conn_key k;

		addr_parse(&ca, "10.1.0.6");
		addr_parse(&va, "10.2.0.100");
		conn_key_set(&k, IPPROTO_UDP, &ca, 3001, &va, 53);
		assert_null(conn_lookup(f->conns, &k));
		conn_key_set(&k, IPPROTO_UDP, &ca, 3000, &va, 53);
		assert_non_null(conn_lookup(f->conns, &k));
	}
	/* an established TCP connection is never given up for a UDP flow */
	fx_table(f, 2);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.6", 3200, 80, 0x02, NULL), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.6", 3200, 80, 0x10, NULL), ENGINE_MANGLED);
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3201, 53, 0, NULL), ENGINE_MANGLED);
	f->e.now_ms += 10 * CONN_UDP_EVICT_IDLE_MS;
	/* the UDP entry goes for the new flow... */
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3202, 53, 0, NULL), ENGINE_MANGLED);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_UDP_EVICTED), 2);
	/* ...and then nothing can */
	f->e.now_ms += 500;
	assert_int_equal(send1(f, IPPROTO_UDP, "10.1.0.6", 3203, 53, 0, NULL), ENGINE_DROP);
	assert_int_equal(conn_lookup_state(f, "10.1.0.6", 3200, 80), CONN_EST);
}

/* An ICMP error about a maglev flow that has no entry (SYN just routed, or
 * adopted) still reaches the flow's target: the hash names it. */
static void test_icmp_error_maglev_without_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256], r[ENGINE_REPLY_MAX], inner[64];
	uint8_t tgt;
	size_t len;

	assert_int_equal(send1(f, IPPROTO_TCP, "10.1.0.2", 40300, 80, 0x02, &tgt), ENGINE_MANGLED);
	assert_int_equal(conn_count(f->conns), 0);
	build(inner, IPPROTO_TCP, "10.2.0.100", 80, "10.1.0.2", 40300, 0x10);
	len = build_frag_needed(b, inner);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], tgt);
	assert_int_equal(be_get16(b + 48), 8080);
	check_csums(b, len);
	/* round robin has no hash to ask */
	build(inner, IPPROTO_TCP, "10.2.0.100", 81, "10.1.0.2", 40301, 0x10);
	len = build_frag_needed(b, inner);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_ACCEPT);
}

/* --- view: handoff candidates and the reply side (data/hoff_view.conf) ----------------- */

enum { HV_D1, HV_T1, HV_T2, HV_T3, HV_T4, HV_N };

struct hv {
	struct cfg *cfg;
	bool alive[HV_N], drained[HV_N], listening[HV_N];
};

static bool hv_listening(void *arg, size_t node, uint8_t family, uint8_t proto, uint16_t port)
{
	const struct hv *h = arg;

	(void)family; (void)proto; (void)port;
	return node < HV_N && h->listening[node];
}

static void hv_init(struct hv *h)
{
	const char *dir = getenv("CD_TEST_DATA");
	char path[1024], err[CFG_ERR_MAX];

	memset(h, 0, sizeof(*h));
	snprintf(path, sizeof(path), "%s/hoff_view.conf", dir ? dir : "tests/unit/data");
	h->cfg = cfg_load(path, NULL, err, sizeof(err));
	if (!h->cfg)
		fail_msg("%s", err);
	assert_int_equal(h->cfg->n_nodes, HV_N);
	for (int i = 0; i < HV_N; i++)
		h->alive[i] = h->listening[i] = true;
}

static struct view *hv_view(struct hv *h, long self)
{
	struct view_input in = {
		.cfg = h->cfg, .self = self, .alive = h->alive, .drained = h->drained,
		.listening = hv_listening, .arg = h, .generation = 1,
	};
	struct view *v = view_build(&in);

	assert_non_null(v);
	return v;
}

static const struct view_service *hv_svc(const struct view *v, const char *vipa)
{
	struct ip_addr a;
	const struct view_service *s;

	assert_true(addr_parse(&a, vipa));
	s = view_find_service(v, a.family, IPPROTO_TCP, &a, 80);
	assert_non_null(s);
	assert_true(s->svc->handoff);
	return s;
}

/* The candidates for hash h, max 8, with their addresses checked against the
 * configuration; returns the count. */
static size_t hv_cands(const struct hv *hv, const struct view_service *s,
		       const struct cfg_target *list, size_t n, uint32_t h, uint32_t *nodes)
{
	struct ip_addr addrs[8];
	size_t k = view_hoff_cands(s, list, n, h, nodes, addrs, 8);

	assert_true(k <= 8);
	for (size_t i = 0; i < k; i++) {
		const struct ip_addr *a = cfg_node_addr(hv->cfg, nodes[i], s->vaddr.family);

		assert_non_null(a);
		assert_true(addr_eq(&addrs[i], a));
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(nodes[j], nodes[i]);
	}
	return k;
}

static bool hv_has(const uint32_t *nodes, size_t n, uint32_t node)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i] == node)
			return true;
	return false;
}

/* Only active nodes are candidates: not drained, alive, listening, and for a rule's list a
 * node that is not a target of the service (t4) has its own state too. */
static void test_view_hoff_cands_active(void **state)
{
	const struct cfg_target not_target[1] = { { HV_D1, 1 } };
	struct hv hv;
	struct view *v;
	const struct view_service *s;
	const struct cfg_handoff_rule *r0;
	uint32_t nodes[8], one[8];
	struct ip_addr addrs[8];
	size_t k;

	(void)state;
	hv_init(&hv);
	v = hv_view(&hv, HV_D1);
	s = hv_svc(v, "10.2.0.100");
	r0 = &s->svc->rules[0];
	for (uint32_t h = 0; h < 200; h++) {
		k = hv_cands(&hv, s, NULL, 0, h, nodes);
		assert_int_equal(k, 3);
		assert_true(hv_has(nodes, k, HV_T1) && hv_has(nodes, k, HV_T2) &&
			    hv_has(nodes, k, HV_T3));
		/* a rule's list: t4 (a rule target only) and t1 */
		k = hv_cands(&hv, s, r0->targets, r0->n_targets, h, nodes);
		assert_int_equal(k, 2);
		assert_true(hv_has(nodes, k, HV_T4) && hv_has(nodes, k, HV_T1));
		/* at most max, the best first */
		k = hv_cands(&hv, s, NULL, 0, h, nodes);
		assert_int_equal(view_hoff_cands(s, NULL, 0, h, one, addrs, 1), 1);
		assert_int_equal(one[0], nodes[0]);
		assert_int_equal(view_hoff_cands(s, NULL, 0, h, one, addrs, 2), 2);
		assert_memory_equal(one, nodes, 2 * sizeof(*one));
		assert_int_equal(view_hoff_cands(s, NULL, 0, h, one, addrs, 0), 0);
		/* a node the service does not know is nobody's candidate */
		assert_int_equal(view_hoff_cands(s, not_target, 1, h, one, addrs, 8), 0);
	}
	view_free(v);

	hv.drained[HV_T2] = true;
	hv.alive[HV_T3] = false;
	hv.listening[HV_T4] = false;
	v = hv_view(&hv, HV_D1);
	s = hv_svc(v, "10.2.0.100");
	r0 = &s->svc->rules[0];
	for (uint32_t h = 0; h < 200; h++) {
		k = hv_cands(&hv, s, NULL, 0, h, nodes);
		assert_int_equal(k, 1);
		assert_int_equal(nodes[0], HV_T1);
		k = hv_cands(&hv, s, r0->targets, r0->n_targets, h, nodes);
		assert_int_equal(k, 1);
		assert_int_equal(nodes[0], HV_T1);
	}
	/* the second rule's only target is drained: none */
	assert_int_equal(hv_cands(&hv, s, s->svc->rules[1].targets, s->svc->rules[1].n_targets, 7,
				  nodes), 0);
	view_free(v);
	cfg_free(hv.cfg);
}

/* The same hash gives the same order, call after call and view after view; a node that goes
 * away leaves the others in their order (only the requests it won move); the order
 * depends on the hash. */
static void test_view_hoff_cands_stable(void **state)
{
	struct hv hv;
	struct view *v, *v2, *v3;
	const struct view_service *s, *s2, *s3;
	uint32_t a[8], b[8], c[8];
	size_t ka, kb, kc, firsts[HV_N] = { 0 };

	(void)state;
	hv_init(&hv);
	v = hv_view(&hv, HV_D1);
	v2 = hv_view(&hv, HV_D1);
	hv.drained[HV_T3] = true;
	v3 = hv_view(&hv, HV_D1);
	s = hv_svc(v, "10.2.0.100");
	s2 = hv_svc(v2, "10.2.0.100");
	s3 = hv_svc(v3, "10.2.0.100");
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t h = i * 2654435761u;

		ka = hv_cands(&hv, s, NULL, 0, h, a);
		kb = hv_cands(&hv, s, NULL, 0, h, b);
		assert_int_equal(ka, 3);
		assert_int_equal(kb, 3);
		assert_memory_equal(a, b, ka * sizeof(*a));
		kb = hv_cands(&hv, s2, NULL, 0, h, b);
		assert_int_equal(kb, 3);
		assert_memory_equal(a, b, ka * sizeof(*a));
		/* without t3: a's order with t3 taken out */
		kc = hv_cands(&hv, s3, NULL, 0, h, c);
		assert_int_equal(kc, 2);
		for (size_t x = 0, y = 0; x < ka; x++)
			if (a[x] != HV_T3)
				assert_int_equal(c[y++], a[x]);
		firsts[a[0]]++;
	}
	for (int n = HV_T1; n <= HV_T3; n++)
		assert_true(firsts[n] > 0);
	view_free(v);
	view_free(v2);
	view_free(v3);
	cfg_free(hv.cfg);
}

/* A node comes first for a share of the hashes proportional to its weight: the targets'
 * weights (1, 3, 4) without a list, the rule's own (t4 1, t1 2) with one. */
static void test_view_hoff_cands_weights(void **state)
{
	enum { N = 40000 };
	struct hv hv;
	struct view *v;
	const struct view_service *s;
	const struct cfg_handoff_rule *r0;
	uint32_t nodes[8];
	size_t first[HV_N] = { 0 }, rfirst[HV_N] = { 0 };

	(void)state;
	hv_init(&hv);
	v = hv_view(&hv, HV_D1);
	s = hv_svc(v, "10.2.0.100");
	r0 = &s->svc->rules[0];
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(hv_cands(&hv, s, NULL, 0, i, nodes), 3);
		first[nodes[0]]++;
		assert_int_equal(hv_cands(&hv, s, r0->targets, r0->n_targets, i, nodes), 2);
		rfirst[nodes[0]]++;
	}
	/* expected N/8, 3N/8, 4N/8 and N/3, 2N/3; 2% of N either way */
	assert_in_range(first[HV_T1], N / 8 - N / 50, N / 8 + N / 50);
	assert_in_range(first[HV_T2], 3 * N / 8 - N / 50, 3 * N / 8 + N / 50);
	assert_in_range(first[HV_T3], 4 * N / 8 - N / 50, 4 * N / 8 + N / 50);
	assert_in_range(rfirst[HV_T4], N / 3 - N / 50, N / 3 + N / 50);
	assert_in_range(rfirst[HV_T1], 2 * N / 3 - N / 50, 2 * N / 3 + N / 50);
	view_free(v);

	/* IPv6: the addresses are the nodes' IPv6 ones (hv_cands checks) */
	v = hv_view(&hv, HV_D1);
	s = hv_svc(v, "fd02::100");
	assert_int_equal(hv_cands(&hv, s, NULL, 0, 1, nodes), 2);
	assert_int_equal(hv_cands(&hv, s, s->svc->rules[0].targets, 1, 1, nodes), 1);
	assert_int_equal(nodes[0], HV_T3);
	view_free(v);
	cfg_free(hv.cfg);
}

/* A target of a handoff service, by the service's list or a rule's only, has a reply
 * entry that says so; other services' entries do not. */
static void test_view_rev_handoff(void **state)
{
	struct hv hv;
	struct view *v;
	const struct view_rev *r;

	(void)state;
	hv_init(&hv);
	v = hv_view(&hv, HV_T1);
	r = view_find_rev(v, AF_INET, IPPROTO_TCP, 8080);
	assert_non_null(r);
	assert_true(r->handoff);
	assert_int_equal(r->port, 80);
	r = view_find_rev(v, AF_INET, IPPROTO_TCP, 8181);
	assert_non_null(r);
	assert_false(r->handoff);
	r = view_find_rev(v, AF_INET6, IPPROTO_TCP, 8080);
	assert_non_null(r);
	assert_true(r->handoff);
	view_free(v);

	/* t4: a target of the first rule only */
	v = hv_view(&hv, HV_T4);
	r = view_find_rev(v, AF_INET, IPPROTO_TCP, 8080);
	assert_non_null(r);
	assert_true(r->handoff);
	assert_null(view_find_rev(v, AF_INET, IPPROTO_TCP, 8181));
	assert_null(view_find_rev(v, AF_INET6, IPPROTO_TCP, 8080));
	view_free(v);

	/* t3: of the IPv6 service by its rule */
	v = hv_view(&hv, HV_T3);
	r = view_find_rev(v, AF_INET6, IPPROTO_TCP, 8080);
	assert_non_null(r);
	assert_true(r->handoff);
	view_free(v);
	cfg_free(hv.cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syn_rewritten_to_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_sticks_and_spreads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_target_gets_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_no_target_gets_port_unreachable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_midflow_adopted_by_maglev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_midflow_dropped_without_maglev, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_and_fragments_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_target_reply_comes_from_vipa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drained_target_keeps_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_vipa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_other_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_on_changes_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_follows_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replica_keeps_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maglev_syn_flood_no_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maglev_ack_follows_syn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rr_embryonic_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rr_full_table_keeps_established, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_udp_idle_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_midflow_waits_until_settled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_maglev_without_entry, setup,
						teardown),
		cmocka_unit_test(test_view_hoff_cands_active),
		cmocka_unit_test(test_view_hoff_cands_stable),
		cmocka_unit_test(test_view_hoff_cands_weights),
		cmocka_unit_test(test_view_rev_handoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
