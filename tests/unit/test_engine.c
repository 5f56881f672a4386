/* Engine: one verdict per packet, driven with packets built here and a view
 * built from tests/unit/data/engine.conf.  Checksums are verified with an
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

/* --- independent packet building and checking ------------------------------ */

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Valid when header and L4 (with pseudo-header) each sum to 0xffff. */
static void check_csums(const uint8_t *b, size_t len)
{
	uint32_t s;

	if ((b[0] >> 4) == 4) {
		size_t ihl = (size_t)(b[0] & 15) * 4;
		uint8_t proto = b[9];

		assert_int_equal(ref_fold(ref_sum(b, ihl, 0)), 0xffff);
		if (proto == IPPROTO_ICMP) {
			assert_int_equal(ref_fold(ref_sum(b + ihl, len - ihl, 0)), 0xffff);
			return;
		}
		s = ref_sum(b + 12, 8, 0) + proto + (uint32_t)(len - ihl);
		assert_int_equal(ref_fold(ref_sum(b + ihl, len - ihl, s)), 0xffff);
	} else {
		uint8_t proto = b[6];

		s = ref_sum(b + 8, 32, 0) + proto + (uint32_t)(len - 40);
		assert_int_equal(ref_fold(ref_sum(b + 40, len - 40, s)), 0xffff);
	}
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void set_l4_csum(uint8_t *b, size_t len)
{
	bool v4 = (b[0] >> 4) == 4;
	size_t off = v4 ? (size_t)(b[0] & 15) * 4 : 40;
	uint8_t proto = v4 ? b[9] : b[6];
	size_t cso = proto == IPPROTO_TCP ? 16 : 6;
	uint32_t s;

	put16(b + off + cso, 0);
	if (v4)
		s = ref_sum(b + 12, 8, 0);
	else
		s = ref_sum(b + 8, 32, 0);
	s += proto + (uint32_t)(len - off);
	put16(b + off + cso, (uint16_t)~ref_fold(ref_sum(b + off, len - off, s)));
}

/* IPv4 TCP or UDP packet with 4 payload bytes. */
static size_t build4(uint8_t *b, uint8_t proto, const char *src, uint16_t sport,
		     const char *dst, uint16_t dport, uint8_t flags)
{
	size_t l4 = proto == IPPROTO_TCP ? 20 : 8, len = 20 + l4 + 4;

	memset(b, 0, len);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)len);
	b[8] = 64;
	b[9] = proto;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	put16(b + 10, (uint16_t)~ref_fold(ref_sum(b, 20, 0)));
	put16(b + 20, sport);
	put16(b + 22, dport);
	if (proto == IPPROTO_TCP) {
		b[24] = 0x11; b[25] = 0x22; b[26] = 0x33; b[27] = 0x44;
		b[32] = 5 << 4;
		b[33] = flags;
		put16(b + 34, 65535);
	} else {
		put16(b + 24, (uint16_t)(8 + 4));
	}
	memcpy(b + 20 + l4, "ping", 4);
	set_l4_csum(b, len);
	return len;
}

static size_t build6(uint8_t *b, const char *src, uint16_t sport, const char *dst,
		     uint16_t dport, uint8_t flags)
{
	size_t len = 40 + 20 + 4;

	memset(b, 0, len);
	b[0] = 0x60;
	put16(b + 4, 24);
	b[6] = IPPROTO_TCP;
	b[7] = 64;
	inet_pton(AF_INET6, src, b + 8);
	inet_pton(AF_INET6, dst, b + 24);
	put16(b + 40, sport);
	put16(b + 42, dport);
	b[52] = 5 << 4;
	b[53] = flags;
	memcpy(b + 60, "ping", 4);
	set_l4_csum(b, len);
	return len;
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
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	char a[INET_ADDRSTRLEN];

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	dst4(b, a);
	assert_true(!strcmp(a, "10.2.0.21") || !strcmp(a, "10.2.0.22") ||
		    !strcmp(a, "10.2.0.23"));
	assert_int_equal(get16(b + 22), 8080);
	/* the client address is kept: the application sees the real client */
	assert_int_equal(memcmp(b + 12, "\x0a\x01\x00\x02", 4), 0);
	check_csums(b, len);
	assert_int_equal(conn_count(f->conns), 1);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_NEW), 1);
}

static void test_flow_sticks_and_spreads(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	unsigned hits[3] = { 0 };

	for (uint16_t port = 20000; port < 20600; port++) {
		size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", port, "10.2.0.100", 80, 0x02);
		uint8_t first;

		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
		first = b[19];
		hits[first - 21]++;
		/* the rest of the connection goes to the same target */
		for (int k = 0; k < 3; k++) {
			len = build4(b, IPPROTO_TCP, "10.1.0.2", port, "10.2.0.100", 80, 0x10);
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
	len = build4(b, IPPROTO_TCP, "10.1.0.2", 40001, "10.2.0.100", 80, 0x02);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, &rlen), ENGINE_REPLY);
	assert_int_equal(rlen, 40);
	assert_int_equal(memcmp(r + 12, "\x0a\x02\x00\x64", 4), 0);	/* from the VIPA */
	assert_int_equal(memcmp(r + 16, "\x0a\x01\x00\x02", 4), 0);	/* to the client */
	assert_int_equal(get16(r + 20), 80);
	assert_int_equal(get16(r + 22), 40001);
	assert_true(r[33] & 0x04);					/* RST */
	check_csums(r, rlen);
	assert_int_equal(stats_get(&f->stats, STAT_D_NO_TARGET), 1);
	assert_int_equal(conn_count(f->conns), 0);
}

static void test_udp_no_target_gets_port_unreachable(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t rlen = 0, len;

	for (int i = 0; i < 8; i++)
		f->listening[i] = false;
	fx_rebuild(f);
	len = build4(b, IPPROTO_UDP, "10.1.0.2", 5000, "10.2.0.100", 53, 0);
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
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.9", 33333, "10.2.0.100", 80, 0x02);

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	/* forget the entry, as after a restart: an ACK must go to the same target */
	conn_table_free(f->conns);
	f->conns = f->e.conns = conn_table_new(1024);
	len = build4(b2, IPPROTO_TCP, "10.1.0.9", 33333, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b2, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b2[19], b[19]);
	assert_int_equal(stats_get(&f->stats, STAT_CONN_ADOPTED), 1);
}

static void test_midflow_dropped_without_maglev(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.9", 33334, "10.2.0.100", 81, 0x10);

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_NO_CONN), 1);
}

static void test_malformed_and_fragments_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);

	/* truncated in the TCP header */
	assert_int_equal(run(f, ENGINE_PRE, b, 30, r, NULL), ENGINE_DROP);
	/* total length beyond the buffer */
	len = build4(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	put16(b + 2, 1000);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	/* not IP at all */
	memset(b, 0xff, 64);
	assert_int_equal(run(f, ENGINE_PRE, b, 64, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_MALFORMED), 3);
	/* a later fragment: no ports, cannot be mapped */
	len = build4(b, IPPROTO_TCP, "10.1.0.2", 40000, "10.2.0.100", 80, 0x02);
	put16(b + 6, 0x0010);
	put16(b + 10, 0);
	put16(b + 10, (uint16_t)~ref_fold(ref_sum(b, 20, 0)));
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_DROP);
	assert_int_equal(stats_get(&f->stats, STAT_D_FRAGMENT), 1);
	assert_int_equal(conn_count(f->conns), 0);
}

static void test_target_reply_comes_from_vipa(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	/* d1 is a target of udp/53: its reply leaves as VIPA:53 */
	size_t len = build4(b, IPPROTO_UDP, "10.2.0.11", 53, "10.1.0.2", 5000, 0);

	assert_int_equal(run(f, ENGINE_OUT, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(memcmp(b + 12, "\x0a\x02\x00\x64", 4), 0);
	assert_int_equal(get16(b + 20), 53);
	check_csums(b, len);
	/* anything else leaving the node is not ours */
	len = build4(b, IPPROTO_TCP, "10.2.0.11", 22, "10.1.0.2", 5000, 0x10);
	assert_int_equal(run(f, ENGINE_OUT, b, len, r, NULL), ENGINE_ACCEPT);
}

static void test_drained_target_keeps_flows(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", 41000, "10.2.0.100", 80, 0x02);
	uint8_t first;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	first = b[19];
	f->drained[first - 21 + 1] = true;	/* node index: t1 = 1 */
	fx_rebuild(f);
	len = build4(b, IPPROTO_TCP, "10.1.0.2", 41000, "10.2.0.100", 80, 0x10);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], first);
	for (uint16_t p = 42000; p < 42300; p++) {
		len = build4(b, IPPROTO_TCP, "10.1.0.2", p, "10.2.0.100", 80, 0x02);
		assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
		assert_int_not_equal(b[19], first);
	}
}

static void test_ipv6_vipa(void **state)
{
	struct fixture *f = *state;
	uint8_t b[128], r[ENGINE_REPLY_MAX];
	size_t len = build6(b, "fd01::2", 50000, "fd02::100", 80, 0x02);
	struct in6_addr t1, t2;

	inet_pton(AF_INET6, "fd02::21", &t1);
	inet_pton(AF_INET6, "fd02::22", &t2);
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_true(!memcmp(b + 24, &t1, 16) || !memcmp(b + 24, &t2, 16));
	assert_int_equal(get16(b + 42), 8080);
	check_csums(b, len);
}

/* ICMP fragmentation-needed about a VIPA flow reaches the distributor (the
 * target's reply was too big): it goes on to the target, embedded header
 * rewritten to what the target sent. */
static void test_icmp_error_forwarded(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256], r[ENGINE_REPLY_MAX], inner[64];
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", 40100, "10.2.0.100", 80, 0x02), ilen;
	uint8_t tgt;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	tgt = b[19];
	/* what the client saw: VIPA:80 -> client:40100 */
	ilen = build4(inner, IPPROTO_TCP, "10.2.0.100", 80, "10.1.0.2", 40100, 0x10);
	memset(b, 0, sizeof(b));
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + 8 + 28));
	b[8] = 64;
	b[9] = IPPROTO_ICMP;
	inet_pton(AF_INET, "10.1.0.1", b + 12);
	inet_pton(AF_INET, "10.2.0.100", b + 16);
	put16(b + 10, (uint16_t)~ref_fold(ref_sum(b, 20, 0)));
	b[20] = 3;
	b[21] = 4;
	put16(b + 26, 1400);
	memcpy(b + 28, inner, 28);	/* IP header + 8 bytes, as routers quote */
	(void)ilen;
	put16(b + 22, (uint16_t)~ref_fold(ref_sum(b + 20, 36, 0)));
	len = 56;
	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], tgt);			/* outer dst: the target */
	assert_int_equal(b[28 + 15], tgt);		/* embedded src: the target */
	assert_int_equal(get16(b + 48), 8080);		/* embedded sport: target_port */
	assert_int_equal(ref_fold(ref_sum(b + 28, 20, 0)), 0xffff);
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
	size_t len = build4(b, IPPROTO_TCP, "10.1.0.2", 40200, "10.2.0.100", 80, 0x02);
	uint8_t tgt;

	assert_int_equal(run(f, ENGINE_PRE, b, len, r, NULL), ENGINE_MANGLED);
	tgt = b[19];
	other_table = f->conns;
	f->e.conns = conn_table_new(64);
	f->e.find_other = find_in_other;
	build4(inner, IPPROTO_TCP, "10.2.0.100", 80, "10.1.0.2", 40200, 0x10);
	memset(b, 0, sizeof(b));
	b[0] = 0x45;
	put16(b + 2, 56);
	b[8] = 64;
	b[9] = IPPROTO_ICMP;
	inet_pton(AF_INET, "10.1.0.1", b + 12);
	inet_pton(AF_INET, "10.2.0.100", b + 16);
	put16(b + 10, (uint16_t)~ref_fold(ref_sum(b, 20, 0)));
	b[20] = 3;
	b[21] = 4;
	put16(b + 26, 1400);
	memcpy(b + 28, inner, 28);
	put16(b + 22, (uint16_t)~ref_fold(ref_sum(b + 20, 36, 0)));
	memcpy(copy, b, sizeof(copy));
	assert_int_equal(run(f, ENGINE_PRE, b, 56, r, NULL), ENGINE_MANGLED);
	assert_int_equal(b[19], tgt);
	check_csums(b, 56);
	/* and without the lookup, the error is left to the local stack */
	f->e.find_other = NULL;
	assert_int_equal(run(f, ENGINE_PRE, copy, 56, r, NULL), ENGINE_ACCEPT);
	assert_int_equal(memcmp(copy + 16, "\x0a\x02\x00\x64", 4), 0);
	conn_table_free(f->e.conns);
	f->e.conns = f->conns;
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
