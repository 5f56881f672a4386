/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_rules: the ruleset model and its nft text, on hand-built configurations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "rules/rules.h"

/* A small configuration builder: up to 8 nodes, 4 VIPAs, 4 services each. */
struct tcfg {
	struct cfg c;
	struct cfg_node nodes[8];
	struct cfg_addr addrs[8][4];
	struct cfg_vipa vipas[4];
	struct cfg_distributor dists[4][4];
	struct cfg_target dtargets[4][4][4];
	struct cfg_service svcs[4][4];
	struct cfg_target stargets[4][4][8];
};

static struct tcfg *
tcfg_new(void)
{
	struct tcfg *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->c.nodes = t->nodes;
	t->c.vipas = t->vipas;
	t->c.sync_port = 7788;
	return t;
}

/* Node with up to 4 addresses; returns its index. */
static size_t
add_node(struct tcfg *t, const char *name, const char *a0, const char *a1, const char *a2)
{
	size_t n = t->c.n_nodes++;
	const char *a[3] = { a0, a1, a2 };
	size_t i;

	snprintf(t->nodes[n].name, CFG_NAME_MAX, "%s", name);
	t->nodes[n].addrs = t->addrs[n];
	for (i = 0; i < 3 && a[i] != NULL; i++)
		assert_true(addr_parse(&t->addrs[n][t->nodes[n].n_addrs++].ip, a[i]));
	return n;
}

static size_t
add_vipa(struct tcfg *t, const char *addr)
{
	size_t v = t->c.n_vipas++;

	assert_true(addr_parse(&t->vipas[v].addr, addr));
	t->vipas[v].dists = t->dists[v];
	t->vipas[v].svcs = t->svcs[v];
	return v;
}

static void
add_dist(struct tcfg *t, size_t v, size_t node, const size_t *own, size_t n_own)
{
	size_t d = t->vipas[v].n_dists++, i;

	t->dists[v][d].node = node;
	if (n_own > 0) {
		t->dists[v][d].targets = t->dtargets[v][d];
		t->dists[v][d].n_targets = n_own;
		for (i = 0; i < n_own; i++)
			t->dtargets[v][d][i] = (struct cfg_target){ own[i], 1 };
	}
}

static void
add_svc(struct tcfg *t, size_t v, uint16_t port, uint8_t proto, uint16_t tport,
	const size_t *targets, size_t n)
{
	size_t s = t->vipas[v].n_svcs++, i;

	t->svcs[v][s].port = port;
	t->svcs[v][s].proto = proto;
	t->svcs[v][s].target_port = tport;
	t->svcs[v][s].targets = t->stargets[v][s];
	t->svcs[v][s].n_targets = n;
	for (i = 0; i < n; i++)
		t->stargets[v][s][i] = (struct cfg_target){ targets[i], 1 };
}

/* etc's example: d1, d2 (own list: t2), t1, t2; VIPA 10.2.0.100 with
 * tcp 80 -> 8080, udp 53, sctp 3868 (t1 only). */
enum { D1, D2, T1, T2 };

static struct tcfg *
example(void)
{
	struct tcfg *t = tcfg_new();
	const size_t t1t2[] = { T1, T2 }, t1[] = { T1 }, t2[] = { T2 };
	size_t v;

	add_node(t, "d1", "10.2.0.11", "10.3.0.11", NULL);
	add_node(t, "d2", "10.2.0.12", NULL, NULL);
	add_node(t, "t1", "10.2.0.21", NULL, NULL);
	add_node(t, "t2", "10.2.0.22", NULL, NULL);
	v = add_vipa(t, "10.2.0.100");
	add_dist(t, v, D1, NULL, 0);
	add_dist(t, v, D2, t2, 1);
	add_svc(t, v, 80, IPPROTO_TCP, 8080, t1t2, 2);
	add_svc(t, v, 53, IPPROTO_UDP, 53, t1t2, 2);
	add_svc(t, v, 3868, IPPROTO_SCTP, 3868, t1, 1);
	return t;
}

static char *
render(const struct cfg *c, long self, unsigned w, uint16_t qbase)
{
	struct rules_opts o = { .workers = w, .queue_base = qbase, .native_queue = false };
	struct rules *r = rules_build(c, self, &o);
	char *s;

	assert_non_null(r);
	s = rules_render(r);
	assert_non_null(s);
	rules_free(r);
	return s;
}

#define ICMP4 "icmp type { destination-unreachable, source-quench, time-exceeded, " \
	"parameter-problem }"
#define ICMP6 "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, " \
	"parameter-problem }"
/* A queued rule's tail for W > 1: hash of the client side, one queue each. */
#define JH(key, w, i, q) " notrack jhash " key " mod " #w " seed 0x0 == " #i \
	" queue num " #q "\n"
#define HEAD "table inet clusterd {\n\tchain prerouting {\n" \
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
#define MID "\t}\n\tchain output {\n\t\ttype filter hook output priority raw; policy accept;\n"
/* The input chain: the sync port takes only the nodes' addresses. */
#define SYNC(v4, v6) "\tchain input {\n" \
	"\t\ttype filter hook input priority raw; policy accept;\n" \
	"\t\t" v4 " udp dport 7788 drop\n" \
	"\t\t" v6 " udp dport 7788 drop\n" \
	"\t}\n"
#define NO_V6 "meta nfproto ipv6"
/* example()'s nodes, sorted */
#define EX_V4 "ip saddr != { 10.2.0.11, 10.2.0.12, 10.2.0.21, 10.2.0.22, 10.3.0.11 }"
#define TAIL_OF(v4, v6) "\t}\n" SYNC(v4, v6) "}\n"
#define TAIL TAIL_OF(EX_V4, NO_V6)

static void
test_distributor_w1(void **state)
{
	struct tcfg *t = example();
	char *s = render(&t->c, D1, 1, 0);

	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.100 tcp dport 80 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 udp dport 53 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 sctp dport 3868 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 " notrack queue num 0\n"
		MID TAIL);
	free(s);
	free(t);
}

static void
test_distributor_w4(void **state)
{
	struct tcfg *t = example();
	char *s = render(&t->c, D2, 4, 100);

	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 3, 103)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 3, 103)
		/* SCTP: one rule, worker 0's queue (it owns the association table) */
		"\t\tip daddr 10.2.0.100 sctp dport 3868 notrack queue num 100\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 3, 103)
		MID TAIL);
	free(s);
	free(t);
}

/* t1 is a target of all three services: notrack in, queue out, ICMP out. */
static void
test_target_w1(void **state)
{
	struct tcfg *t = example();
	char *s = render(&t->c, T1, 1, 7);

	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.21 tcp dport 8080 notrack\n"
		"\t\tip daddr 10.2.0.21 udp dport 53 notrack\n"
		"\t\tip daddr 10.2.0.21 sctp dport 3868 notrack\n"
		MID
		"\t\tip saddr 10.2.0.21 tcp sport 8080 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 udp sport 53 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 sctp sport 3868 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 " ICMP4 " notrack queue num 7\n"
		TAIL);
	free(s);
	free(t);
}

/* t2 is not a target of sctp 3868 but is in d2's own list, which covers every
 * service of the VIPA. */
static void
test_target_via_distributor_list_w2(void **state)
{
	struct tcfg *t = example();
	char *s = render(&t->c, T2, 2, 0);

	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.22 tcp dport 8080 notrack\n"
		"\t\tip daddr 10.2.0.22 udp dport 53 notrack\n"
		"\t\tip daddr 10.2.0.22 sctp dport 3868 notrack\n"
		MID
		"\t\tip saddr 10.2.0.22 tcp sport 8080" JH("ip daddr . tcp dport", 2, 0, 0)
		"\t\tip saddr 10.2.0.22 tcp sport 8080" JH("ip daddr . tcp dport", 2, 1, 1)
		"\t\tip saddr 10.2.0.22 udp sport 53" JH("ip daddr . udp dport", 2, 0, 0)
		"\t\tip saddr 10.2.0.22 udp sport 53" JH("ip daddr . udp dport", 2, 1, 1)
		"\t\tip saddr 10.2.0.22 sctp sport 3868 notrack queue num 0\n"
		"\t\tip saddr 10.2.0.22 " ICMP4 JH("ip daddr", 2, 0, 0)
		"\t\tip saddr 10.2.0.22 " ICMP4 JH("ip daddr", 2, 1, 1)
		TAIL);
	free(s);
	free(t);
}

/* d1 both distributes and serves, with two v4 addresses (a set) and one v6
 * address that no v4 rule may pick up. */
static void
test_both_roles(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t d1[] = { 0 };
	size_t v;
	char *s;

	add_node(t, "d1", "10.2.0.11", "fd00::11", "10.3.0.11");
	v = add_vipa(t, "10.2.0.100");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 80, IPPROTO_TCP, 8080, d1, 1);
	s = render(&t->c, 0, 1, 0);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.100 tcp dport 80 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 " notrack queue num 0\n"
		"\t\tip daddr { 10.2.0.11, 10.3.0.11 } tcp dport 8080 notrack\n"
		MID
		"\t\tip saddr { 10.2.0.11, 10.3.0.11 } tcp sport 8080 notrack queue num 0\n"
		"\t\tip saddr { 10.2.0.11, 10.3.0.11 } " ICMP4 " notrack queue num 0\n"
		TAIL_OF("ip saddr != { 10.2.0.11, 10.3.0.11 }", "ip6 saddr != fd00::11"));
	free(s);
	free(t);
}

static void
test_v6_vipa(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t tg[] = { 1 };
	size_t v;
	char *s;

	add_node(t, "d1", "10.2.0.11", "2001:db8::11", NULL);
	add_node(t, "t1", "2001:db8::21", "10.2.0.21", "2001:db8:1::21");
	v = add_vipa(t, "2001:db8::100");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 443, IPPROTO_TCP, 8443, tg, 1);
	add_svc(t, v, 53, IPPROTO_UDP, 53, tg, 1);

#define V6_TAIL TAIL_OF("ip saddr != { 10.2.0.11, 10.2.0.21 }", \
	"ip6 saddr != { 2001:db8::11, 2001:db8::21, 2001:db8:1::21 }")
	s = render(&t->c, 0, 2, 4);
	assert_string_equal(s, HEAD
		"\t\tip6 daddr 2001:db8::100 tcp dport 443" JH("ip6 saddr . tcp sport", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 tcp dport 443" JH("ip6 saddr . tcp sport", 2, 1, 5)
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 1, 5)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 1, 5)
		MID V6_TAIL);
	free(s);

	s = render(&t->c, 1, 1, 0);
	assert_string_equal(s, HEAD
		"\t\tip6 daddr { 2001:db8::21, 2001:db8:1::21 } tcp dport 8443 notrack\n"
		"\t\tip6 daddr { 2001:db8::21, 2001:db8:1::21 } udp dport 53 notrack\n"
		MID
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } tcp sport 8443 notrack"
		" queue num 0\n"
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } udp sport 53 notrack queue num 0\n"
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } " ICMP6 " notrack queue num 0\n"
		V6_TAIL);
	free(s);
	free(t);
}

/* alternate_address 10.2.0.101 on the example's VIPA: each distributor
 * queues SCTP to it on the SCTP port and ICMP errors to it, like to the VIPA;
 * TCP and UDP stay on the VIPA alone; every SCTP rule is one rule to
 * queue_base, whatever the worker count. */
static void
test_alternate_w1(void **state)
{
	struct tcfg *t = example();
	char *s;

	assert_true(addr_parse(&t->vipas[0].alt, "10.2.0.101"));
	t->vipas[0].has_alt = true;
	s = render(&t->c, D1, 1, 0);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.100 tcp dport 80 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 udp dport 53 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 sctp dport 3868 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.101 sctp dport 3868 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 " notrack queue num 0\n"
		"\t\tip daddr 10.2.0.101 " ICMP4 " notrack queue num 0\n"
		MID TAIL);
	free(s);
	/* a target (t1 serves sctp 3868) has nothing to do with the alternate */
	s = render(&t->c, T1, 1, 7);
	assert_null(strstr(s, "10.2.0.101"));
	free(s);
	free(t);
}

static void
test_alternate_w4(void **state)
{
	struct tcfg *t = example();
	const struct rules_match *m;
	struct rules_opts o = { .workers = 4, .queue_base = 100 };
	struct rules *r;
	char a[ADDR_STRLEN];
	size_t i, n_sctp = 0;
	char *s;

	assert_true(addr_parse(&t->vipas[0].alt, "10.2.0.101"));
	t->vipas[0].has_alt = true;
	/* a second SCTP service: the alternate gets a rule for each port */
	add_svc(t, 0, 2905, IPPROTO_SCTP, 2905, (const size_t[]){ T2 }, 1);
	s = render(&t->c, D2, 4, 100);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 tcp dport 80" JH("ip saddr . tcp sport", 4, 3, 103)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 udp dport 53" JH("ip saddr . udp sport", 4, 3, 103)
		"\t\tip daddr 10.2.0.100 sctp dport 3868 notrack queue num 100\n"
		"\t\tip daddr 10.2.0.101 sctp dport 3868 notrack queue num 100\n"
		"\t\tip daddr 10.2.0.100 sctp dport 2905 notrack queue num 100\n"
		"\t\tip daddr 10.2.0.101 sctp dport 2905 notrack queue num 100\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 0, 100)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 1, 101)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 2, 102)
		"\t\tip daddr 10.2.0.100 " ICMP4 JH("ip saddr", 4, 3, 103)
		"\t\tip daddr 10.2.0.101 " ICMP4 JH("ip saddr", 4, 0, 100)
		"\t\tip daddr 10.2.0.101 " ICMP4 JH("ip saddr", 4, 1, 101)
		"\t\tip daddr 10.2.0.101 " ICMP4 JH("ip saddr", 4, 2, 102)
		"\t\tip daddr 10.2.0.101 " ICMP4 JH("ip saddr", 4, 3, 103)
		MID TAIL);
	free(s);

	/* the model: the same matches, and rules_match_queues() as rendered */
	r = rules_build(&t->c, D2, &o);
	assert_non_null(r);
	assert_int_equal(rules_count(r), 8);
	for (i = 0; i < rules_count(r); i++) {
		m = rules_get(r, i);
		assert_int_equal(m->hook, RULES_HOOK_PREROUTING);
		assert_true(m->queue);
		if (m->proto == IPPROTO_SCTP) {
			n_sctp++;
			assert_int_equal(rules_match_queues(r, m), 1);
		} else {
			assert_int_equal(rules_match_queues(r, m), 4);
		}
		/* TCP and UDP never on the alternate */
		if (m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP)
			assert_string_equal(addr_fmt(&m->addrs[0], a, sizeof(a)), "10.2.0.100");
	}
	assert_int_equal(n_sctp, 4);
	rules_free(r);

	/* no SCTP service: the alternate has nothing to queue, not even ICMP */
	t->vipas[0].n_svcs = 2;
	s = render(&t->c, D1, 4, 0);
	assert_null(strstr(s, "10.2.0.101"));
	assert_null(strstr(s, "sctp"));
	free(s);
	free(t);
}

/* v6: a distributor that also serves the SCTP service; its output SCTP rule is
 * one rule too, and a notrack-only match counts no queue. */
static void
test_alternate_v6(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t tg[] = { 1 };
	struct rules_opts o = { .workers = 2, .queue_base = 4 };
	struct rules *r;
	size_t v;
	char *s;

	add_node(t, "d1", "10.2.0.11", "2001:db8::11", NULL);
	add_node(t, "d2", "2001:db8::12", NULL, NULL);
	v = add_vipa(t, "2001:db8::100");
	assert_true(addr_parse(&t->vipas[v].alt, "2001:db8:1::100"));
	t->vipas[v].has_alt = true;
	add_dist(t, v, 0, NULL, 0);
	add_dist(t, v, 1, NULL, 0);
	add_svc(t, v, 3868, IPPROTO_SCTP, 3869, tg, 1);
	add_svc(t, v, 53, IPPROTO_UDP, 53, tg, 1);

#define V6A_TAIL TAIL_OF("ip saddr != 10.2.0.11", "ip6 saddr != { 2001:db8::11, 2001:db8::12 }")
	s = render(&t->c, 0, 2, 4);
	assert_string_equal(s, HEAD
		"\t\tip6 daddr 2001:db8::100 sctp dport 3868 notrack queue num 4\n"
		"\t\tip6 daddr 2001:db8:1::100 sctp dport 3868 notrack queue num 4\n"
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 1, 5)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 1, 5)
		"\t\tip6 daddr 2001:db8:1::100 " ICMP6 JH("ip6 saddr", 2, 0, 4)
		"\t\tip6 daddr 2001:db8:1::100 " ICMP6 JH("ip6 saddr", 2, 1, 5)
		MID V6A_TAIL);
	free(s);

	/* d2: distributor and the target; its own address notrack in, its
	 * replies out: SCTP one rule, UDP and ICMP split */
	s = render(&t->c, 1, 2, 4);
	assert_string_equal(s, HEAD
		"\t\tip6 daddr 2001:db8::100 sctp dport 3868 notrack queue num 4\n"
		"\t\tip6 daddr 2001:db8:1::100 sctp dport 3868 notrack queue num 4\n"
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 1, 5)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 0, 4)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 1, 5)
		"\t\tip6 daddr 2001:db8:1::100 " ICMP6 JH("ip6 saddr", 2, 0, 4)
		"\t\tip6 daddr 2001:db8:1::100 " ICMP6 JH("ip6 saddr", 2, 1, 5)
		"\t\tip6 daddr 2001:db8::12 sctp dport 3869 notrack\n"
		"\t\tip6 daddr 2001:db8::12 udp dport 53 notrack\n"
		MID
		"\t\tip6 saddr 2001:db8::12 sctp sport 3869 notrack queue num 4\n"
		"\t\tip6 saddr 2001:db8::12 udp sport 53" JH("ip6 daddr . udp dport", 2, 0, 4)
		"\t\tip6 saddr 2001:db8::12 udp sport 53" JH("ip6 daddr . udp dport", 2, 1, 5)
		"\t\tip6 saddr 2001:db8::12 " ICMP6 JH("ip6 daddr", 2, 0, 4)
		"\t\tip6 saddr 2001:db8::12 " ICMP6 JH("ip6 daddr", 2, 1, 5)
		V6A_TAIL);
	free(s);

	r = rules_build(&t->c, 1, &o);
	assert_non_null(r);
	for (size_t i = 0; i < rules_count(r); i++) {
		const struct rules_match *m = rules_get(r, i);

		if (!m->queue)
			assert_int_equal(rules_match_queues(r, m), 0);
	}
	rules_free(r);
	free(t);
}

/* Two VIPAs on one target port: the target's rules appear once. */
static void
test_dedup(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t tg[] = { 1 };
	const struct rules_match *m;
	struct rules_opts o = { .workers = 3, .queue_base = 0 };
	struct rules *r;
	size_t v;
	char *s;

	add_node(t, "d1", "10.0.0.1", NULL, NULL);
	add_node(t, "t1", "10.0.0.2", "10.0.0.2", NULL);	/* duplicate address, too */
	v = add_vipa(t, "10.0.0.100");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 80, IPPROTO_TCP, 8080, tg, 1);
	add_svc(t, v, 80, IPPROTO_UDP, 8080, tg, 1);
	v = add_vipa(t, "10.0.0.101");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 80, IPPROTO_TCP, 8080, tg, 1);

	r = rules_build(&t->c, 1, &o);
	assert_non_null(r);
	/* in: tcp, udp; out: tcp, udp, icmp */
	assert_int_equal(rules_count(r), 5);
	m = rules_get(r, 0);
	assert_int_equal(m->hook, RULES_HOOK_PREROUTING);
	assert_int_equal(m->family, AF_INET);
	assert_int_equal(m->n_addrs, 1);
	assert_int_equal(m->proto, IPPROTO_TCP);
	assert_int_equal(m->port, 8080);
	assert_false(m->queue);
	m = rules_get(r, 4);
	assert_int_equal(m->hook, RULES_HOOK_OUTPUT);
	assert_int_equal(m->proto, IPPROTO_ICMP);
	assert_int_equal(m->port, 0);
	assert_true(m->queue);
	assert_null(rules_get(r, 5));
	s = rules_render(r);
	assert_non_null(s);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.0.0.2 tcp dport 8080 notrack\n"
		"\t\tip daddr 10.0.0.2 udp dport 8080 notrack\n"
		MID
		"\t\tip saddr 10.0.0.2 tcp sport 8080" JH("ip daddr . tcp dport", 3, 0, 0)
		"\t\tip saddr 10.0.0.2 tcp sport 8080" JH("ip daddr . tcp dport", 3, 1, 1)
		"\t\tip saddr 10.0.0.2 tcp sport 8080" JH("ip daddr . tcp dport", 3, 2, 2)
		"\t\tip saddr 10.0.0.2 udp sport 8080" JH("ip daddr . udp dport", 3, 0, 0)
		"\t\tip saddr 10.0.0.2 udp sport 8080" JH("ip daddr . udp dport", 3, 1, 1)
		"\t\tip saddr 10.0.0.2 udp sport 8080" JH("ip daddr . udp dport", 3, 2, 2)
		"\t\tip saddr 10.0.0.2 " ICMP4 JH("ip daddr", 3, 0, 0)
		"\t\tip saddr 10.0.0.2 " ICMP4 JH("ip daddr", 3, 1, 1)
		"\t\tip saddr 10.0.0.2 " ICMP4 JH("ip daddr", 3, 2, 2)
		TAIL_OF("ip saddr != { 10.0.0.1, 10.0.0.2 }", NO_V6));
	free(s);
	rules_free(r);

	/* The distributor of both VIPAs gets one set of rules per VIPA. */
	r = rules_build(&t->c, 0, &o);
	assert_non_null(r);
	assert_int_equal(rules_count(r), 3 + 2);
	rules_free(r);
	free(t);
}

/* A handoff service (tcp 80 of the example, with a rule naming t3, a target of
 * the rule only): its targets' output chains start by letting the packets
 * clusterd injects into their own stack pass, untracked and unqueued; the rule
 * target gets a target's rules too; a distributor and a target of other
 * services only do not. */
#define INJECT "\t\tmeta mark 0x434c4844 notrack accept\n"
static void
test_handoff_target(void **state)
{
	struct tcfg *t = example();
	struct cfg_target rt[1] = { { 4, 1 } };
	struct cfg_handoff_rule rule = { .targets = rt, .n_targets = 1 };
	struct rules_opts o = { .workers = 1 };
	struct rules *r;
	char *s;

	assert_int_equal(add_node(t, "t3", "10.2.0.23", NULL, NULL), 4);
	snprintf(rule.host, sizeof(rule.host), "a.example");
	/* not a handoff service yet: no mark rule anywhere */
	for (long n = 0; n < 5; n++) {
		r = rules_build(&t->c, n, &o);
		assert_non_null(r);
		assert_false(rules_inject_accept(r));
		rules_free(r);
	}
	t->svcs[0][0].handoff = true;
	t->svcs[0][0].rules = &rule;
	t->svcs[0][0].n_rules = 1;

	s = render(&t->c, T1, 1, 7);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.21 tcp dport 8080 notrack\n"
		"\t\tip daddr 10.2.0.21 udp dport 53 notrack\n"
		"\t\tip daddr 10.2.0.21 sctp dport 3868 notrack\n"
		MID INJECT
		"\t\tip saddr 10.2.0.21 tcp sport 8080 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 udp sport 53 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 sctp sport 3868 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 " ICMP4 " notrack queue num 7\n"
		TAIL_OF("ip saddr != { 10.2.0.11, 10.2.0.12, 10.2.0.21, 10.2.0.22, 10.2.0.23, "
			"10.3.0.11 }", NO_V6));
	free(s);

	/* t3 serves tcp 80 through the rule only */
	s = render(&t->c, 4, 2, 0);
	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.23 tcp dport 8080 notrack\n"
		MID INJECT
		"\t\tip saddr 10.2.0.23 tcp sport 8080" JH("ip daddr . tcp dport", 2, 0, 0)
		"\t\tip saddr 10.2.0.23 tcp sport 8080" JH("ip daddr . tcp dport", 2, 1, 1)
		"\t\tip saddr 10.2.0.23 " ICMP4 JH("ip daddr", 2, 0, 0)
		"\t\tip saddr 10.2.0.23 " ICMP4 JH("ip daddr", 2, 1, 1)
		TAIL_OF("ip saddr != { 10.2.0.11, 10.2.0.12, 10.2.0.21, 10.2.0.22, 10.2.0.23, "
			"10.3.0.11 }", NO_V6));
	free(s);

	for (long n = 0; n < 5; n++) {
		r = rules_build(&t->c, n, &o);
		assert_non_null(r);
		/* d1, d2: distributors only */
		if (n == D1 || n == D2)
			assert_false(rules_inject_accept(r));
		else
			assert_true(rules_inject_accept(r));
		rules_free(r);
	}
	/* t2 only through udp 53 and d2's own list: the list covers tcp 80 too */
	t->dists[0][1].n_targets = 0;
	t->dists[0][1].targets = NULL;
	t->svcs[0][0].targets = t->stargets[0][0];
	t->svcs[0][0].n_targets = 1;		/* t1 only */
	r = rules_build(&t->c, T2, &o);
	assert_non_null(r);
	assert_false(rules_inject_accept(r));
	s = rules_render(r);
	assert_non_null(s);
	assert_null(strstr(s, "meta mark"));
	free(s);
	rules_free(r);
	free(t);
}

static void
test_no_role(void **state)
{
	struct tcfg *t = example();
	struct rules_opts o = { .workers = 2 };
	struct rules *r;
	char *s;

	add_node(t, "x", "10.9.9.9", NULL, NULL);
	s = render(&t->c, 4, 2, 0);
	/* no rule of its own, but its sync port takes only the nodes' datagrams */
	assert_string_equal(s, HEAD MID TAIL_OF("ip saddr != { 10.2.0.11, 10.2.0.12, 10.2.0.21, "
		"10.2.0.22, 10.3.0.11, 10.9.9.9 }", NO_V6));
	free(s);
	/* no node at all (out of range): nothing, not even the filter */
	s = render(&t->c, 99, 1, 0);
	assert_string_equal(s, HEAD MID "\t}\n}\n");
	free(s);
	r = rules_build(&t->c, -1, &o);
	assert_non_null(r);
	assert_int_equal(rules_count(r), 0);
	rules_free(r);
	r = rules_build(&t->c, 99, &o);
	assert_non_null(r);
	assert_int_equal(rules_count(r), 0);
	rules_free(r);
	free(t);
}

/* The sync filter as data: every node's addresses by family, sorted as nft
 * lists them, duplicates once; a single address and an empty family. */
static void
test_sync_filter(void **state)
{
	struct tcfg *t = tcfg_new();
	struct rules_opts o = { .workers = 1 };
	const struct rules_sync *sy;
	struct rules *r;
	char a[ADDR_STRLEN];
	char *s;

	add_node(t, "b", "10.0.0.9", "2001:db8::2", NULL);
	add_node(t, "a", "10.0.0.10", "10.0.0.9", "2001:db8::1");	/* 10.0.0.9 twice */
	t->c.sync_port = 4242;
	r = rules_build(&t->c, 0, &o);
	assert_non_null(r);
	sy = rules_sync_filter(r);
	assert_true(sy->on);
	assert_int_equal(sy->port, 4242);
	assert_int_equal(sy->n[0], 2);
	assert_string_equal(addr_fmt(&sy->addrs[0][0], a, sizeof(a)), "10.0.0.9");
	assert_string_equal(addr_fmt(&sy->addrs[0][1], a, sizeof(a)), "10.0.0.10");
	assert_int_equal(sy->n[1], 2);
	assert_string_equal(addr_fmt(&sy->addrs[1][0], a, sizeof(a)), "2001:db8::1");
	assert_string_equal(addr_fmt(&sy->addrs[1][1], a, sizeof(a)), "2001:db8::2");
	/* no match of its own: the filter is all there is */
	assert_int_equal(rules_count(r), 0);
	s = rules_render(r);
	assert_non_null(s);
	assert_non_null(strstr(s, "\t\tip saddr != { 10.0.0.9, 10.0.0.10 } udp dport 4242 drop\n"
				 "\t\tip6 saddr != { 2001:db8::1, 2001:db8::2 } udp dport 4242 drop\n"));
	free(s);
	rules_free(r);

	/* one IPv6 node: a single v4-less cluster */
	t->c.n_nodes = 0;
	memset(t->nodes, 0, sizeof(t->nodes));
	add_node(t, "c", "2001:db8::3", NULL, NULL);
	r = rules_build(&t->c, 0, &o);
	assert_non_null(r);
	s = rules_render(r);
	assert_non_null(s);
	assert_non_null(strstr(s, "\t\tmeta nfproto ipv4 udp dport 4242 drop\n"
				 "\t\tip6 saddr != 2001:db8::3 udp dport 4242 drop\n"));
	free(s);
	rules_free(r);
	free(t);
}

static char *
render_fp(const struct cfg *c, long self, unsigned w, uint16_t qbase, bool fastpath)
{
	struct rules_opts o = { .workers = w, .queue_base = qbase, .fastpath = fastpath };
	struct rules *r = rules_build(c, self, &o);
	char *s;

	assert_non_null(r);
	assert_true(rules_options(r)->fastpath == fastpath);
	s = rules_render(r);
	assert_non_null(s);
	rules_free(r);
	return s;
}

/* How many matches are rewrites; each is an output match that is not queued. */
static size_t
count_rewrites(const struct rules *r)
{
	size_t i, n = 0;

	for (i = 0; i < rules_count(r); i++) {
		const struct rules_match *m = rules_get(r, i);

		if (!m->rewrite)
			continue;
		n++;
		assert_int_equal(m->hook, RULES_HOOK_OUTPUT);
		assert_false(m->queue);
		assert_int_equal(rules_match_queues(r, m), 0);
	}
	return n;
}

/* Fast path, example's t1 (tcp 80 -> 8080, udp 53, sctp 3868): TCP and UDP
 * replies rewritten in the output chain ahead of everything queued (and not
 * queued at all), SCTP and ICMP errors still queued, inbound notrack as
 * before.  The port is set only where it changes. */
static void
test_fastpath_target_v4(void **state)
{
	struct tcfg *t = example();
	char *s = render_fp(&t->c, T1, 2, 7, true);

	assert_string_equal(s, HEAD
		"\t\tip daddr 10.2.0.21 tcp dport 8080 notrack\n"
		"\t\tip daddr 10.2.0.21 udp dport 53 notrack\n"
		"\t\tip daddr 10.2.0.21 sctp dport 3868 notrack\n"
		MID
		"\t\tip saddr 10.2.0.21 tcp sport 8080 notrack ip saddr set 10.2.0.100"
		" tcp sport set 80 counter accept\n"
		"\t\tip saddr 10.2.0.21 udp sport 53 notrack ip saddr set 10.2.0.100"
		" counter accept\n"
		"\t\tip saddr 10.2.0.21 sctp sport 3868 notrack queue num 7\n"
		"\t\tip saddr 10.2.0.21 " ICMP4 JH("ip daddr", 2, 0, 7)
		"\t\tip saddr 10.2.0.21 " ICMP4 JH("ip daddr", 2, 1, 8)
		TAIL);
	free(s);
	/* off: exactly today's rules */
	s = render_fp(&t->c, T1, 1, 7, false);
	assert_null(strstr(s, " set "));
	assert_null(strstr(s, "counter"));
	assert_non_null(strstr(s, "\t\tip saddr 10.2.0.21 tcp sport 8080 notrack queue num 7\n"));
	assert_non_null(strstr(s, "\t\tip saddr 10.2.0.21 udp sport 53 notrack queue num 7\n"));
	free(s);
	/* a distributor only has no rewrite, on or off */
	s = render_fp(&t->c, D1, 1, 0, true);
	assert_null(strstr(s, " set "));
	free(s);
	free(t);
}

/* IPv6, a target with two v6 addresses (one rule with a set), both
 * protocols; the model says the same as the text. */
static void
test_fastpath_target_v6(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t tg[] = { 1 };
	struct rules_opts o = { .workers = 1, .fastpath = true };
	const struct rules_match *m;
	struct rules *r;
	size_t v;
	char *s;

	add_node(t, "d1", "10.2.0.11", "2001:db8::11", NULL);
	add_node(t, "t1", "2001:db8::21", "10.2.0.21", "2001:db8:1::21");
	v = add_vipa(t, "2001:db8::100");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 443, IPPROTO_TCP, 8443, tg, 1);
	add_svc(t, v, 53, IPPROTO_UDP, 5353, tg, 1);
	s = render_fp(&t->c, 1, 1, 0, true);
	assert_string_equal(s, HEAD
		"\t\tip6 daddr { 2001:db8::21, 2001:db8:1::21 } tcp dport 8443 notrack\n"
		"\t\tip6 daddr { 2001:db8::21, 2001:db8:1::21 } udp dport 5353 notrack\n"
		MID
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } tcp sport 8443 notrack"
		" ip6 saddr set 2001:db8::100 tcp sport set 443 counter accept\n"
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } udp sport 5353 notrack"
		" ip6 saddr set 2001:db8::100 udp sport set 53 counter accept\n"
		"\t\tip6 saddr { 2001:db8::21, 2001:db8:1::21 } " ICMP6 " notrack queue num 0\n"
		TAIL_OF("ip saddr != { 10.2.0.11, 10.2.0.21 }",
			"ip6 saddr != { 2001:db8::11, 2001:db8::21, 2001:db8:1::21 }"));
	free(s);

	r = rules_build(&t->c, 1, &o);
	assert_non_null(r);
	assert_int_equal(count_rewrites(r), 2);
	for (size_t i = 0; i < rules_count(r); i++) {
		m = rules_get(r, i);
		if (!m->rewrite)
			continue;
		assert_int_equal(m->family, AF_INET6);
		assert_int_equal(m->n_addrs, 2);
		assert_true(addr_eq(&m->to, &t->vipas[0].addr));
		assert_int_equal(m->to_port, m->proto == IPPROTO_TCP ? 443 : 53);
		assert_int_equal(m->port, m->proto == IPPROTO_TCP ? 8443 : 5353);
	}
	rules_free(r);
	free(t);
}

/* What stays queued with the fast path on: SCTP, a handoff service (the
 * inject mark rule still first), ICMP errors; and two services self serves
 * on one (family, protocol, target port), which a static rule cannot tell
 * apart: both on the queue (one rule, deduplicated), no rewrite. */
static void
test_fastpath_stays_queued(void **state)
{
	struct tcfg *t = example();
	struct rules_opts o = { .workers = 1, .fastpath = true };
	const size_t t1[] = { T1 };
	struct rules *r;
	size_t v;
	char *s;

	t->svcs[0][0].handoff = true;		/* tcp 80 */
	s = render_fp(&t->c, T1, 1, 0, true);
	assert_non_null(strstr(s, MID "\t\tmeta mark 0x434c4844 notrack accept\n"
				      "\t\tip saddr 10.2.0.21 udp sport 53 notrack ip saddr set "
				      "10.2.0.100 counter accept\n"
				      "\t\tip saddr 10.2.0.21 tcp sport 8080 notrack queue num 0\n"
				      "\t\tip saddr 10.2.0.21 sctp sport 3868 notrack queue num 0\n"
				      "\t\tip saddr 10.2.0.21 " ICMP4 " notrack queue num 0\n"));
	free(s);
	r = rules_build(&t->c, T1, &o);
	assert_int_equal(count_rewrites(r), 1);
	rules_free(r);

	/* a second VIPA whose udp 53 also lands on t1's port 53 (the parser
	 * refuses this; a hand-built configuration can have it) */
	t->svcs[0][0].handoff = false;
	v = add_vipa(t, "10.2.0.200");
	add_dist(t, v, D1, NULL, 0);
	add_svc(t, v, 53, IPPROTO_UDP, 53, t1, 1);
	s = render_fp(&t->c, T1, 1, 0, true);
	assert_non_null(strstr(s, MID
		"\t\tip saddr 10.2.0.21 tcp sport 8080 notrack ip saddr set 10.2.0.100"
		" tcp sport set 80 counter accept\n"
		"\t\tip saddr 10.2.0.21 udp sport 53 notrack queue num 0\n"
		"\t\tip saddr 10.2.0.21 sctp sport 3868 notrack queue num 0\n"));
	assert_null(strstr(s, "10.2.0.200"));
	/* t2 serves only the first udp 53: its rewrite is unambiguous */
	free(s);
	s = render_fp(&t->c, T2, 1, 0, true);
	assert_non_null(strstr(s, "\t\tip saddr 10.2.0.22 udp sport 53 notrack ip saddr set "
				  "10.2.0.100 counter accept\n"));
	free(s);
	free(t);
}

/* --- The distributor's fast path (rules_opts.fastpath_dist) --------------- */

static struct rules *
build_dist(const struct cfg *c, long self, unsigned w, bool on, uint32_t tcp_ms, uint32_t udp_ms,
	   uint32_t size)
{
	struct rules_opts o = { .workers = w, .fastpath_dist = on, .fp_tcp_timeout_ms = tcp_ms,
				.fp_udp_timeout_ms = udp_ms, .fp_map_size = size };
	struct rules *r = rules_build(c, self, &o);

	assert_non_null(r);
	return r;
}

static char *
render_dist(const struct cfg *c, long self, unsigned w, bool on, uint32_t tcp_ms, uint32_t udp_ms,
	    uint32_t size)
{
	struct rules *r = build_dist(c, self, w, on, tcp_ms, udp_ms, size);
	char *s = rules_render(r);

	assert_non_null(s);
	rules_free(r);
	return s;
}

/* The fast matches of r, each checked against the model's promises: in
 * prerouting, one VIPA, never queued, and immediately followed by the first
 * queue match of the same service. */
static size_t
count_fastmaps(const struct rules *r)
{
	size_t i, n = 0;

	for (i = 0; i < rules_count(r); i++) {
		const struct rules_match *m = rules_get(r, i), *q = rules_get(r, i + 1);

		if (!m->fastmap)
			continue;
		n++;
		assert_int_equal(m->hook, RULES_HOOK_PREROUTING);
		assert_false(m->queue);
		assert_false(m->rewrite);
		assert_int_equal(m->n_addrs, 1);
		assert_int_equal(rules_match_queues(r, m), 0);
		assert_true(m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP);
		assert_non_null(q);
		assert_true(q->queue);
		assert_false(q->fastmap);
		assert_int_equal(q->hook, RULES_HOOK_PREROUTING);
		assert_int_equal(q->proto, m->proto);
		assert_int_equal(q->port, m->port);
		assert_true(addr_eq(&q->addrs[0], &m->addrs[0]));
	}
	return n;
}

#define MAP4(name, t) "\tmap " name " {\n" \
	"\t\ttype ipv4_addr . inet_service : ipv4_addr\n" \
	"\t\tsize 65536\n\t\tflags dynamic,timeout\n\t\ttimeout " t "\n\t}\n"
#define MAP6(name, t) "\tmap " name " {\n" \
	"\t\ttype inet_service . ipv6_addr : ipv6_addr\n" \
	"\t\tsize 65536\n\t\tflags dynamic,timeout\n\t\ttimeout " t "\n\t}\n"
#define CHAIN_PRE "\tchain prerouting {\n" \
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"

/* The example's d1: tcp 80 -> 8080 and udp 53 get a map and a fast rule
 * each, right before their queue rules; SCTP none. */
static void
test_fastmap_dist_v4(void **state)
{
	struct tcfg *t = example();
	struct rules *r;
	char *s, *off, *plain;

	s = render_dist(&t->c, D1, 1, true, 900000, 30000, 65536);
	assert_string_equal(s, "table inet clusterd {\n"
		MAP4("fp4t_0a020064_80", "15m")
		MAP4("fp4u_0a020064_53", "30s")
		CHAIN_PRE
		"\t\tip daddr 10.2.0.100 tcp dport 80 tcp flags ! fin,syn,rst notrack"
		" ip daddr set ip saddr . tcp sport map @fp4t_0a020064_80 tcp dport set 8080"
		" update @fp4t_0a020064_80 { ip saddr . tcp sport timeout 15m : ip daddr }"
		" counter accept\n"
		"\t\tip daddr 10.2.0.100 tcp dport 80 notrack queue num 0\n"
		/* udp 53 -> 53: no port rewrite */
		"\t\tip daddr 10.2.0.100 udp dport 53 notrack"
		" ip daddr set ip saddr . udp sport map @fp4u_0a020064_53"
		" update @fp4u_0a020064_53 { ip saddr . udp sport timeout 30s : ip daddr }"
		" counter accept\n"
		"\t\tip daddr 10.2.0.100 udp dport 53 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 sctp dport 3868 notrack queue num 0\n"
		"\t\tip daddr 10.2.0.100 " ICMP4 " notrack queue num 0\n"
		MID TAIL);
	free(s);

	/* the model behind it */
	r = build_dist(&t->c, D1, 4, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 2);
	assert_true(rules_get(r, 0)->fastmap);
	assert_string_equal(rules_get(r, 0)->map, "fp4t_0a020064_80");
	assert_int_equal(rules_get(r, 0)->proto, IPPROTO_TCP);
	assert_int_equal(rules_get(r, 0)->port, 80);
	assert_int_equal(rules_get(r, 0)->to_port, 8080);
	assert_int_equal(rules_get(r, 0)->timeout_ms, 900000);
	assert_true(rules_get(r, 2)->fastmap);
	assert_string_equal(rules_get(r, 2)->map, "fp4u_0a020064_53");
	assert_int_equal(rules_get(r, 2)->to_port, 53);
	assert_int_equal(rules_get(r, 2)->timeout_ms, 30000);
	assert_true(rules_options(r)->fastpath_dist);
	assert_int_equal(rules_options(r)->fp_map_size, 65536);
	rules_free(r);

	/* d2, the backup distributor (with its own target list), too */
	r = build_dist(&t->c, D2, 2, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 2);
	rules_free(r);
	/* a target only: none */
	r = build_dist(&t->c, T1, 2, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 0);
	s = rules_render(r);
	assert_null(strstr(s, "map "));
	assert_null(strstr(s, "update"));
	free(s);
	rules_free(r);

	/* off: exactly today's ruleset, whatever the timeouts say */
	for (long n = D1; n <= T2; n++) {
		off = render_dist(&t->c, n, 2, false, 900000, 30000, 65536);
		plain = render(&t->c, n, 2, 0);
		assert_string_equal(off, plain);
		assert_null(strstr(off, "map"));
		free(off);
		free(plain);
	}
	free(t);
}

/* Handoff and SCTP stay on the queue; a second service on the same VIPA,
 * protocol and port (the parser refuses it) does not declare the map twice. */
static void
test_fastmap_dist_eligible(void **state)
{
	struct tcfg *t = example();
	const size_t t1[] = { T1 };
	struct rules *r;
	char *s;

	t->svcs[0][0].handoff = true;		/* tcp 80 */
	r = build_dist(&t->c, D1, 1, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 1);
	s = rules_render(r);
	assert_null(strstr(s, "fp4t_"));
	assert_non_null(strstr(s, "map fp4u_0a020064_53 {"));
	assert_null(strstr(s, "sctp dport 3868 notrack ip"));
	free(s);
	rules_free(r);

	t->svcs[0][0].handoff = false;
	add_svc(t, 0, 53, IPPROTO_UDP, 5353, t1, 1);
	r = build_dist(&t->c, D1, 1, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 2);
	s = rules_render(r);
	assert_non_null(strstr(s, "map fp4u_0a020064_53 {"));
	assert_null(strstr(strstr(s, "map fp4u_0a020064_53 {") + 1, "map fp4u_0a020064_53 {"));
	assert_null(strstr(s, "udp dport set 5353"));	/* the first one's target port */
	free(s);
	rules_free(r);
	free(t);
}

/* IPv6: the key is `port . address` (rules/fpmap.h), the map's name carries
 * the VIPA's 16 bytes; W > 1 puts the fast rule before the W queue rules. */
static void
test_fastmap_dist_v6(void **state)
{
	struct tcfg *t = tcfg_new();
	const size_t tg[] = { 1 };
	struct rules *r;
	size_t v;
	char *s;

	add_node(t, "d1", "10.2.0.11", "2001:db8::11", NULL);
	add_node(t, "t1", "2001:db8::21", "10.2.0.21", "2001:db8:1::21");
	v = add_vipa(t, "2001:db8::100");
	add_dist(t, v, 0, NULL, 0);
	add_svc(t, v, 443, IPPROTO_TCP, 8443, tg, 1);
	add_svc(t, v, 53, IPPROTO_UDP, 53, tg, 1);
	s = render_dist(&t->c, 0, 2, true, 900000, 30000, 65536);
#define M6T "fp6t_20010db8000000000000000000000100_443"
#define M6U "fp6u_20010db8000000000000000000000100_53"
	assert_string_equal(s, "table inet clusterd {\n"
		MAP6(M6T, "15m")
		MAP6(M6U, "30s")
		CHAIN_PRE
		"\t\tip6 daddr 2001:db8::100 tcp dport 443 tcp flags ! fin,syn,rst notrack"
		" ip6 daddr set tcp sport . ip6 saddr map @" M6T " tcp dport set 8443"
		" update @" M6T " { tcp sport . ip6 saddr timeout 15m : ip6 daddr }"
		" counter accept\n"
		"\t\tip6 daddr 2001:db8::100 tcp dport 443" JH("ip6 saddr . tcp sport", 2, 0, 0)
		"\t\tip6 daddr 2001:db8::100 tcp dport 443" JH("ip6 saddr . tcp sport", 2, 1, 1)
		"\t\tip6 daddr 2001:db8::100 udp dport 53 notrack"
		" ip6 daddr set udp sport . ip6 saddr map @" M6U
		" update @" M6U " { udp sport . ip6 saddr timeout 30s : ip6 daddr }"
		" counter accept\n"
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 0, 0)
		"\t\tip6 daddr 2001:db8::100 udp dport 53" JH("ip6 saddr . udp sport", 2, 1, 1)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 0, 0)
		"\t\tip6 daddr 2001:db8::100 " ICMP6 JH("ip6 saddr", 2, 1, 1)
		MID V6_TAIL);
	free(s);
	r = build_dist(&t->c, 0, 2, true, 900000, 30000, 65536);
	assert_int_equal(count_fastmaps(r), 2);
	assert_string_equal(rules_get(r, 0)->map, M6T);
	assert_int_equal(rules_get(r, 0)->family, AF_INET6);
	rules_free(r);
	free(t);
}

/* Timeouts as nft prints durations; 0 leaves the timeout out (the map's and
 * the update's), size 0 the size. */
static void
test_fastmap_dist_timeouts(void **state)
{
	struct tcfg *t = example();
	char *s;

	s = render_dist(&t->c, D1, 1, true, 90061001, 1500, 0);
	assert_non_null(strstr(s, "\tmap fp4t_0a020064_80 {\n"
				  "\t\ttype ipv4_addr . inet_service : ipv4_addr\n"
				  "\t\tflags dynamic,timeout\n"
				  "\t\ttimeout 1d1h1m1s1ms\n\t}\n"));
	assert_non_null(strstr(s, "{ ip saddr . tcp sport timeout 1d1h1m1s1ms : ip daddr }"));
	assert_non_null(strstr(s, "\t\ttimeout 1s500ms\n"));
	assert_non_null(strstr(s, "{ ip saddr . udp sport timeout 1s500ms : ip daddr }"));
	assert_null(strstr(s, "size"));
	free(s);
	s = render_dist(&t->c, D1, 1, true, 0, 3600000, 100);
	assert_non_null(strstr(s, "\tmap fp4t_0a020064_80 {\n"
				  "\t\ttype ipv4_addr . inet_service : ipv4_addr\n"
				  "\t\tsize 100\n"
				  "\t\tflags dynamic,timeout\n\t}\n"));
	assert_non_null(strstr(s, "{ ip saddr . tcp sport : ip daddr }"));
	assert_non_null(strstr(s, "\t\ttimeout 1h\n"));
	assert_non_null(strstr(s, "{ ip saddr . udp sport timeout 1h : ip daddr }"));
	free(s);
	free(t);
}

static void
test_bad_opts(void **state)
{
	struct tcfg *t = example();
	struct rules_opts o = { .workers = 0 };
	struct rules *r;

	assert_null(rules_build(&t->c, D1, &o));
	o.workers = RULES_WORKERS_MAX + 1;
	assert_null(rules_build(&t->c, D1, &o));
	o.workers = 2;
	o.queue_base = 65535;
	assert_null(rules_build(&t->c, D1, &o));
	o.queue_base = 65534;
	r = rules_build(&t->c, D1, &o);
	assert_non_null(r);
	assert_int_equal(rules_options(r)->queue_base, 65534);
	assert_int_equal(rules_options(r)->workers, 2);
	rules_free(r);
	free(t);
}

static void
test_icmp_errors(void **state)
{
	const uint8_t *v;
	size_t n;

	v = rules_icmp_errors(AF_INET, &n);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], 3);	/* destination unreachable */
	assert_int_equal(v[1], 4);	/* source quench */
	assert_int_equal(v[2], 11);	/* time exceeded */
	assert_int_equal(v[3], 12);	/* parameter problem */
	v = rules_icmp_errors(AF_INET6, &n);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);	/* packet too big */
	assert_int_equal(v[2], 3);
	assert_int_equal(v[3], 4);
	assert_null(rules_icmp_errors(0, &n));
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distributor_w1),
		cmocka_unit_test(test_distributor_w4),
		cmocka_unit_test(test_target_w1),
		cmocka_unit_test(test_target_via_distributor_list_w2),
		cmocka_unit_test(test_both_roles),
		cmocka_unit_test(test_v6_vipa),
		cmocka_unit_test(test_alternate_w1),
		cmocka_unit_test(test_alternate_w4),
		cmocka_unit_test(test_alternate_v6),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_handoff_target),
		cmocka_unit_test(test_no_role),
		cmocka_unit_test(test_sync_filter),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_fastpath_target_v4),
		cmocka_unit_test(test_fastpath_target_v6),
		cmocka_unit_test(test_fastpath_stays_queued),
		cmocka_unit_test(test_fastmap_dist_v4),
		cmocka_unit_test(test_fastmap_dist_eligible),
		cmocka_unit_test(test_fastmap_dist_v6),
		cmocka_unit_test(test_fastmap_dist_timeouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
