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

#include "daemon/config.h"
#include "daemon/view.h"
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
};

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
		.listening = fx_listening, .arg = f, .prev = f->view, .generation = 1,
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
	assert_int_equal(conn_count(f->conns), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 1);
	/* the VIPA it was forwarded for, as the worker times takeovers */
	assert_non_null(f->e.hit_vipa);
	assert_int_equal(memcmp(&f->e.hit_vipa->addr.v4, "\x0a\x02\x00\x64", 4), 0);
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
	size_t len = build(b, IPPROTO_TCP, "10.1.0.2", 40200, "10.2.0.100", 80, 0x02);
	uint8_t tgt;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	tgt = b[19];
	other_table = f->conns;
	f->e.conns = conn_table_new(64);
	f->e.find_other = find_in_other;
	build(inner, IPPROTO_TCP, "10.2.0.100", 80, "10.1.0.2", 40200, 0x10);
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
	assert_int_equal(l.n, 3);
	assert_int_equal(l.kind[0], ENGINE_CONN_UPDATE);
	assert_int_equal(l.state[0], CONN_SYN);
	assert_int_equal(l.state[1], CONN_EST);
	assert_int_equal(l.state[2], CONN_FIN);
	/* expiry is reported as a deletion */
	f->e.now_ms += 3600 * 1000;
	conn_expire(f->conns, f->e.now_ms, &f->e.timeouts, 1 << 20, engine_conn_expired, &f->e);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.kind[3], ENGINE_CONN_DELETE);
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
		cmocka_unit_test_setup_teardown(test_replica_keeps_target, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
