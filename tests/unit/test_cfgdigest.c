/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for common/cfgdigest.c: every shared field changes the digest,
 * no node-local one does; the order of the lists that count changes it, the
 * order of the others does not; the encoding is the one cfgdigest.h
 * documents (built here by hand for a small file) and stays stable (a
 * golden digest of a fixed file). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cfgdigest.h"

/* --- the files --------------------------------------------------------------- */

#define HEAD \
	"cluster = {\n" \
	"  name = \"web\";\n" \
	"  key_file = \"/etc/clusterd/cluster.key\";\n" \
	"  sync = { group = \"239.255.77.1\"; port = 7788; interface = \"lan0\";\n" \
	"           mode = \"periodic\"; interval_ms = 200; };\n" \
	"  heartbeat_ms = 100;\n" \
	"  retry_threshold = 3;\n" \
	"};\n" \
	"daemon = { workers = 2; queue = 10; queue_maxlen = 512; manage_rules = true;\n" \
	"           control_socket = \"/run/clusterd/x.sock\"; conn_max = 1000;\n" \
	"           timeouts = { tcp_syn = 31; tcp_established = 901; tcp_fin = 32; udp = 61; }; };\n"

#define D1 "{ name = \"d1\"; addresses = ( { ip = \"10.2.0.11\"; prefix = 24; mtu = 1500; " \
	"type = \"ethernet\"; cos = 1; retry = 4; }, { ip = \"10.3.0.11\"; } ); }"
#define D1_REV "{ name = \"d1\"; addresses = ( { ip = \"10.3.0.11\"; }, { ip = \"10.2.0.11\"; " \
	"prefix = 24; mtu = 1500; type = \"ethernet\"; cos = 1; retry = 4; } ); }"
#define D2 "{ name = \"d2\"; addresses = ( { ip = \"10.2.0.12\"; } ); }"
#define T1 "{ name = \"t1\"; addresses = ( { ip = \"10.2.0.21\"; } ); }"
#define T2 "{ name = \"t2\"; addresses = ( { ip = \"10.2.0.22\"; } ); }"

#define DISTS "( { node = \"d1\"; }, { node = \"d2\"; targets = ( \"t2\", { node = \"t1\"; weight = 5; } ); } )"
#define DISTS_SWAP "( { node = \"d2\"; targets = ( \"t2\", { node = \"t1\"; weight = 5; } ); }, { node = \"d1\"; } )"
#define DISTS_TREV "( { node = \"d1\"; }, { node = \"d2\"; targets = ( { node = \"t1\"; weight = 5; }, \"t2\" ); } )"

#define RULE1 "{ path_prefix = \"/static/\"; targets = ( \"t1\" ); }"
#define RULE2 "{ host = \"api.example.com\"; targets = ( \"t2\", \"t1\" ); }"
#define RULE2_TREV "{ host = \"api.example.com\"; targets = ( \"t1\", \"t2\" ); }"
#define SVC80(r1, r2) "{ port = 80; protocol = \"tcp\"; targets = ( \"t1\", { node = \"t2\"; weight = 3; } ); " \
	"target_port = 8080; handoff = { timeout_ms = 2000; request_timeout_ms = 6000; " \
	"max_request = 4096; rules = ( " r1 ", " r2 " ); }; }"
#define SVC53 "{ port = 53; protocol = \"udp\"; targets = ( \"t1\", \"t2\" ); scheduler = \"round-robin\"; }"
#define SVC53_TREV "{ port = 53; protocol = \"udp\"; targets = ( \"t2\", \"t1\" ); scheduler = \"round-robin\"; }"
#define SVC3868 "{ port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); }"

#define VIPA_A(dists, svcs) "{ address = \"10.2.0.100\"; alternate_address = \"10.2.0.101\"; " \
	"interface = \"lan0\"; distributors = " dists "; services = ( " svcs " ); }"
#define VIPA_B "{ address = \"10.2.0.200\"; interface = \"lan0\"; preempt = false; " \
	"distributors = ( { node = \"d2\"; }, { node = \"d1\"; } ); " \
	"services = ( { port = 443; protocol = \"tcp\"; targets = ( \"t2\" ); scheduler = \"least-conn\"; } ); }"

#define CONF(nodes, vipas) HEAD "nodes = ( " nodes " );\nvipas = ( " vipas " );\n"

#define BASE_NODES D1 ", " D2 ", " T1 ", " T2
#define BASE_A VIPA_A(DISTS, SVC80(RULE1, RULE2) ", " SVC53 ", " SVC3868)
#define BASE CONF(BASE_NODES, BASE_A ", " VIPA_B)

static struct cfg *load_text(const char *text, const char *node)
{
	char path[64], err[CFG_ERR_MAX];
	size_t n = strlen(text);
	struct cfg *c;
	int fd;

	snprintf(path, sizeof(path), "/tmp/cd_test_cfgdigest_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = cfg_load(path, node, err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	return c;
}

static void digest_of(const char *text, const char *node, uint8_t out[CFGDIGEST_LEN])
{
	struct cfg *c = load_text(text, node);

	cfgdigest_compute(c, out);
	cfg_free(c);
}

/* --- fields ------------------------------------------------------------------ */

struct mut {
	const char *what;
	void (*fn)(struct cfg *c);
	void (*undo)(struct cfg *c);	/* what cfg_free needs back, or NULL */
};

static struct cfg_vipa *va(struct cfg *c)
{
	assert_true(c->n_vipas == 2 && c->vipas[0].addr.b[3] == 100);
	return &c->vipas[0];
}

static struct cfg_service *s80(struct cfg *c)
{
	struct cfg_service *s = &va(c)->svcs[0];

	assert_true(s->port == 80 && s->handoff && s->n_rules == 2);
	return s;
}

/* Shared: each one changes the digest. */
#define SHARED(name, body) static void sh_##name(struct cfg *c) { body; }
SHARED(cluster_name, strcpy(c->cluster_name, "web2"))
SHARED(sync_group, c->sync_group.b[3] ^= 1)
SHARED(sync_group_unset, memset(&c->sync_group, 0, sizeof(c->sync_group)))
SHARED(sync_port, c->sync_port++)
SHARED(sync_mode, c->sync_mode = SYNC_ON_EVENT)
SHARED(sync_interval, c->sync_interval_ms++)
SHARED(heartbeat, c->heartbeat_ms++)
SHARED(retry_threshold, c->retry_threshold++)
SHARED(tcp_syn, c->tcp_syn_timeout++)
SHARED(tcp_est, c->tcp_est_timeout++)
SHARED(tcp_fin, c->tcp_fin_timeout++)
SHARED(udp, c->udp_timeout++)
SHARED(node_name, strcpy(c->nodes[3].name, "t3"))
SHARED(node_dropped, c->n_nodes--)
static void un_node_dropped(struct cfg *c) { c->n_nodes++; }
SHARED(addr_dropped, c->nodes[0].n_addrs--)
SHARED(addr_ip, c->nodes[0].addrs[1].ip.b[3]++)
SHARED(addr_prefix, c->nodes[0].addrs[0].prefix++)
SHARED(addr_mtu, c->nodes[0].addrs[0].mtu = 9000)
SHARED(addr_type, strcpy(c->nodes[0].addrs[0].type, "infiniband"))
SHARED(addr_cos, c->nodes[0].addrs[0].cos++)
SHARED(addr_retry, c->nodes[0].addrs[1].retry++)
SHARED(vipa_addr, va(c)->addr.b[3]++)
SHARED(vipa_dropped, c->n_vipas--)
static void un_vipa_dropped(struct cfg *c) { c->n_vipas++; }
SHARED(vipa_alt, va(c)->alt.b[3]++)
SHARED(vipa_no_alt, va(c)->has_alt = false)
SHARED(vipa_preempt, va(c)->preempt = false)
SHARED(dist_node, va(c)->dists[0].node = 2)
SHARED(dist_dropped, va(c)->n_dists--)
static void un_dist_dropped(struct cfg *c) { c->vipas[0].n_dists++; }
/* The list moves to a spare slot cfg_free does not know: undo puts it back. */
static struct cfg_target *own_saved;
SHARED(dist_own_none, own_saved = va(c)->dists[1].targets; va(c)->dists[1].targets = NULL)
static void un_dist_own_none(struct cfg *c) { c->vipas[0].dists[1].targets = own_saved; }
SHARED(dist_own_weight, va(c)->dists[1].targets[1].weight++)
SHARED(dist_own_node, va(c)->dists[1].targets[0].node = 0)
SHARED(svc_dropped, va(c)->n_svcs--)
static void un_svc_dropped(struct cfg *c) { c->vipas[0].n_svcs++; }
SHARED(svc_port, s80(c)->port++)
SHARED(svc_proto, va(c)->svcs[1].proto = IPPROTO_TCP)
SHARED(svc_target_port, s80(c)->target_port++)
SHARED(svc_sched, s80(c)->sched = SCHED_LEAST_CONN)
SHARED(svc_target_node, va(c)->svcs[2].targets[0].node = 3)
SHARED(svc_target_weight, s80(c)->targets[0].weight++)
SHARED(svc_target_dropped, s80(c)->n_targets--)
SHARED(svc_handoff, s80(c)->handoff = false)
SHARED(hoff_proto, s80(c)->hoff_proto = CFG_HOFF_TLS)
SHARED(hoff_timeout, s80(c)->hoff_timeout_ms++)
SHARED(hoff_req_timeout, s80(c)->hoff_request_timeout_ms++)
SHARED(hoff_max_request, s80(c)->hoff_max_request++)
SHARED(rule_host, strcpy(s80(c)->rules[1].host, "www.example.com"))
SHARED(rule_path, strcpy(s80(c)->rules[0].path_prefix, "/img/"))
SHARED(rule_dropped, s80(c)->n_rules--)
static void un_rule_dropped(struct cfg *c) { c->vipas[0].svcs[0].n_rules++; }
SHARED(rule_target, s80(c)->rules[0].targets[0].node = 3)
SHARED(rule_weight, s80(c)->rules[0].targets[0].weight++)
SHARED(vipa_b_preempt, c->vipas[1].preempt = true)
SHARED(vipa_b_sched, c->vipas[1].svcs[0].sched = SCHED_MAGLEV)
#undef SHARED

#define M(name) { #name, sh_##name, NULL }
#define MU(name) { #name, sh_##name, un_##name }
static const struct mut shared[] = {
	M(cluster_name), M(sync_group), M(sync_group_unset), M(sync_port), M(sync_mode),
	M(sync_interval), M(heartbeat), M(retry_threshold), M(tcp_syn), M(tcp_est), M(tcp_fin),
	M(udp), M(node_name), MU(node_dropped), M(addr_dropped), M(addr_ip), M(addr_prefix),
	M(addr_mtu), M(addr_type), M(addr_cos), M(addr_retry), M(vipa_addr), MU(vipa_dropped),
	M(vipa_alt), M(vipa_no_alt), M(vipa_preempt), M(dist_node), MU(dist_dropped),
	MU(dist_own_none), M(dist_own_weight), M(dist_own_node), MU(svc_dropped), M(svc_port),
	M(svc_proto), M(svc_target_port), M(svc_sched), M(svc_target_node),
	M(svc_target_weight), M(svc_target_dropped), M(svc_handoff), M(hoff_proto),
	M(hoff_timeout), M(hoff_req_timeout), M(hoff_max_request), M(rule_host), M(rule_path),
	MU(rule_dropped), M(rule_target), M(rule_weight), M(vipa_b_preempt), M(vipa_b_sched),
};
#undef M
#undef MU

/* Node-local: none changes it. */
#define LOCAL(name, body) static void lo_##name(struct cfg *c) { body; }
LOCAL(path, strcpy(c->path, "/elsewhere.conf"))
LOCAL(node_name, strcpy(c->node_name, "t2"))
LOCAL(self, c->self = 3)
LOCAL(key_file, strcpy(c->key_file, "/etc/other.key"))
LOCAL(sync_ifname, strcpy(c->sync_ifname, "eth7"))
LOCAL(workers, c->workers = 64)
LOCAL(queue_base, c->queue_base = 500)
LOCAL(queue_maxlen, c->queue_maxlen = 99)
LOCAL(manage_rules, c->manage_rules = !c->manage_rules)
LOCAL(fastpath, c->fastpath = !c->fastpath)
LOCAL(control_socket, strcpy(c->control_socket, "/tmp/y.sock"))
LOCAL(conn_max, c->conn_max = 7)
LOCAL(vipa_ifname, strcpy(va(c)->ifname, "bond0"))
LOCAL(metrics, addr_parse(&c->metrics_addr, "10.2.0.11"); c->metrics_port = 9677)
LOCAL(lines, c->nodes[1].line += 3; va(c)->line += 3; s80(c)->line += 3;
      s80(c)->rules[0].line += 3)
/* Without handoff its settings are not used. */
LOCAL(hoff_unused, c->vipas[1].svcs[0].hoff_timeout_ms = 12345;
      c->vipas[1].svcs[0].hoff_proto = CFG_HOFF_TLS)
#undef LOCAL

#define M(name) { #name, lo_##name, NULL }
static const struct mut local[] = {
	M(path), M(node_name), M(self), M(key_file), M(sync_ifname), M(workers), M(queue_base),
	M(queue_maxlen), M(manage_rules), M(fastpath), M(control_socket), M(conn_max), M(vipa_ifname),
	M(lines), M(hoff_unused), M(metrics),
};
#undef M

static void test_shared_fields(void **state)
{
	uint8_t base[CFGDIGEST_LEN], dg[CFGDIGEST_LEN];

	(void)state;
	digest_of(BASE, "d1", base);
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct cfg *c = load_text(BASE, "d1");

		cfgdigest_compute(c, dg);
		assert_memory_equal(dg, base, CFGDIGEST_LEN);
		shared[i].fn(c);
		cfgdigest_compute(c, dg);
		if (!memcmp(dg, base, CFGDIGEST_LEN))
			fail_msg("shared field %s: the digest did not change", shared[i].what);
		if (shared[i].undo)
			shared[i].undo(c);	/* else cfg_free would leak */
		cfg_free(c);
	}
}

static void test_local_fields(void **state)
{
	uint8_t base[CFGDIGEST_LEN], dg[CFGDIGEST_LEN];

	(void)state;
	digest_of(BASE, "d1", base);
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		struct cfg *c = load_text(BASE, "d1");

		local[i].fn(c);
		cfgdigest_compute(c, dg);
		if (memcmp(dg, base, CFGDIGEST_LEN))
			fail_msg("node-local field %s: the digest changed", local[i].what);
		cfg_free(c);
	}
}

/* The same file read as another node (`node`, -n): the same digest. */
static void test_same_file_every_node(void **state)
{
	uint8_t a[CFGDIGEST_LEN], b[CFGDIGEST_LEN];
	const char *names[] = { "d2", "t1", "t2", "nobody" };

	(void)state;
	digest_of(BASE, "d1", a);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		digest_of(BASE, names[i], b);
		assert_memory_equal(a, b, CFGDIGEST_LEN);
	}
}

/* --- list order ---------------------------------------------------------------- */

static bool same_digest(const char *x, const char *y)
{
	uint8_t a[CFGDIGEST_LEN], b[CFGDIGEST_LEN];

	digest_of(x, "d1", a);
	digest_of(y, "d1", b);
	return !memcmp(a, b, CFGDIGEST_LEN);
}

static void test_order_ignored(void **state)
{
	(void)state;
	/* VIPAs */
	assert_true(same_digest(BASE, CONF(BASE_NODES, VIPA_B ", " BASE_A)));
	/* services of a VIPA */
	assert_true(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS, SVC3868 ", " SVC53 ", "
								SVC80(RULE1, RULE2)) ", " VIPA_B)));
	/* a service's targets */
	assert_true(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS, SVC80(RULE1, RULE2) ", "
								SVC53_TREV ", " SVC3868) ", " VIPA_B)));
	/* a distributor's own targets */
	assert_true(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS_TREV, SVC80(RULE1, RULE2) ", "
								SVC53 ", " SVC3868) ", " VIPA_B)));
	/* a handoff rule's targets */
	assert_true(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS, SVC80(RULE1, RULE2_TREV) ", "
								SVC53 ", " SVC3868) ", " VIPA_B)));
	/* white space, comments, defaults spelt out: not the file's bytes */
	assert_true(same_digest(BASE, "# a comment\n" CONF(BASE_NODES, BASE_A ",\n\n " VIPA_B)));
}

static void test_order_counts(void **state)
{
	(void)state;
	/* nodes: their indexes, the CDAT's coordinator */
	assert_false(same_digest(BASE, CONF(D2 ", " D1 ", " T1 ", " T2, BASE_A ", " VIPA_B)));
	/* a node's addresses: preference */
	assert_false(same_digest(BASE, CONF(D1_REV ", " D2 ", " T1 ", " T2, BASE_A ", " VIPA_B)));
	/* distributors: preference */
	assert_false(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS_SWAP, SVC80(RULE1, RULE2) ", "
								 SVC53 ", " SVC3868) ", " VIPA_B)));
	/* handoff rules: the first match wins */
	assert_false(same_digest(BASE, CONF(BASE_NODES, VIPA_A(DISTS, SVC80(RULE2, RULE1) ", "
								 SVC53 ", " SVC3868) ", " VIPA_B)));
}

/* --- the encoding ------------------------------------------------------------- */

#define SMALL \
	"cluster = { name = \"c\"; key_file = \"/k\"; };\n" \
	"nodes = ( { name = \"a\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n" \
	"          { name = \"b\"; addresses = ( { ip = \"10.0.0.2\"; } ); } );\n" \
	"vipas = ( { address = \"10.0.0.100\"; interface = \"eth0\";\n" \
	"            distributors = ( { node = \"a\"; } );\n" \
	"            services = ( { port = 80; protocol = \"tcp\"; targets = ( \"b\" ); } ); } );\n"

struct buf {
	uint8_t b[512];
	size_t n;
};

static void b_put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void b_u8(struct buf *b, uint8_t v)
{
	b_put(b, &v, 1);
}

static void b_u16(struct buf *b, uint16_t v)
{
	b_u8(b, (uint8_t)(v >> 8));
	b_u8(b, (uint8_t)v);
}

static void b_u32(struct buf *b, uint32_t v)
{
	b_u16(b, (uint16_t)(v >> 16));
	b_u16(b, (uint16_t)v);
}

static void b_str(struct buf *b, const char *s)
{
	b_u32(b, (uint32_t)strlen(s));
	b_put(b, s, strlen(s));
}

static void b_v4(struct buf *b, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t a[4] = { x, y, z, w };

	b_u8(b, 4);
	b_put(b, a, 4);
}

/* The bytes cfgdigest.h documents, written out for SMALL with the
 * defaults clusterd.conf(5) gives, hashed here: the module must agree. */
static void test_encoding(void **state)
{
	struct buf b = { .n = 0 };
	uint8_t want[CFGDIGEST_LEN], got[CFGDIGEST_LEN];
	const char *names[] = { "a", "b" };

	(void)state;
	b_put(&b, "clusterd-cfgdigest-1", 20);
	b_str(&b, "c");
	b_u8(&b, 0);		/* no sync group */
	b_u16(&b, 7788);
	b_u8(&b, 0);		/* every-update */
	b_u32(&b, 200);
	b_u32(&b, 100);
	b_u32(&b, 3);
	b_u32(&b, 30);
	b_u32(&b, 900);
	b_u32(&b, 30);
	b_u32(&b, 60);
	b_u32(&b, 2);
	for (int n = 0; n < 2; n++) {
		b_str(&b, names[n]);
		b_u32(&b, 1);
		b_v4(&b, 10, 0, 0, (uint8_t)(n + 1));
		b_u32(&b, 24);
		b_u32(&b, 1500);
		b_str(&b, "ethernet");
		b_u32(&b, 0);
		b_u32(&b, 3);
	}
	b_u32(&b, 1);		/* one VIPA */
	b_v4(&b, 10, 0, 0, 100);
	b_u8(&b, 0);		/* no alternate */
	b_u8(&b, 1);		/* preempt */
	b_u32(&b, 1);		/* one distributor */
	b_u32(&b, 0);		/* a */
	b_u8(&b, 0);		/* no own list */
	b_u32(&b, 1);		/* one service */
	b_u16(&b, 80);
	b_u8(&b, 6);		/* tcp */
	b_u16(&b, 80);
	b_u8(&b, 0);		/* maglev */
	b_u32(&b, 1);
	b_u32(&b, 1);		/* b */
	b_u32(&b, 1);		/* weight */
	b_u8(&b, 0);		/* no handoff */
	assert_int_equal(crypto_generichash(want, sizeof(want), b.b, b.n, NULL, 0), 0);
	digest_of(SMALL, "a", got);
	assert_memory_equal(want, got, CFGDIGEST_LEN);
}

/* A change of the encoding changes every digest, and nodes of two versions
 * would see each other as different: it must be deliberate (a new tag
 * "clusterd-cfgdigest-N" and a new golden value here). */
static void test_golden(void **state)
{
	uint8_t dg[CFGDIGEST_LEN];
	char hex[CFGDIGEST_HEX];

	(void)state;
	digest_of(BASE, "d1", dg);
	assert_string_equal(cfgdigest_hex(dg, hex), "e87cc818676eeb30bc148c85d5e4166c");
}

static void test_hex(void **state)
{
	uint8_t dg[CFGDIGEST_LEN];
	char hex[CFGDIGEST_HEX];

	(void)state;
	for (size_t i = 0; i < CFGDIGEST_LEN; i++)
		dg[i] = (uint8_t)(i * 17);
	assert_string_equal(cfgdigest_hex(dg, hex), "00112233445566778899aabbccddeeff");
	assert_int_equal(strlen(hex), 2 * CFGDIGEST_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_fields),
		cmocka_unit_test(test_local_fields),
		cmocka_unit_test(test_same_file_every_node),
		cmocka_unit_test(test_order_ignored),
		cmocka_unit_test(test_order_counts),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_hex),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
