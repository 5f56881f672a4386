/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for common/config.c: the full example (data/design.conf) and a file that sets
 * every key load with the expected values; every refusal names the right
 * file and line.  Refusal inputs are written to temporary files; the line of
 * the offending setting is the line that carries the marker comment "#!". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/config.h"

/* $CD_TEST_DATA (make check), else data/ beside this source file. */
static void data_path(char *buf, size_t len, const char *name)
{
	const char *d = getenv("CD_TEST_DATA"), *slash;
	int n;

	if (d && *d) {
		n = snprintf(buf, len, "%s/%s", d, name);
	} else {
		slash = strrchr(__FILE__, '/');
		n = snprintf(buf, len, "%.*sdata/%s", slash ? (int)(slash - __FILE__ + 1) : 0,
			     __FILE__, name);
	}
	assert_true(n > 0 && (size_t)n < len);
}

static struct cfg *load_data(const char *name, const char *node)
{
	char path[4096], err[CFG_ERR_MAX];
	struct cfg *c;

	data_path(path, sizeof(path), name);
	c = cfg_load(path, node, err, sizeof(err));
	if (!c)
		fail_msg("%s: %s", name, err);
	return c;
}

/* Writes text to a fresh temporary file; path receives its name. */
static void write_tmp(char *path, size_t len, const char *text)
{
	int fd;
	size_t n = strlen(text);

	assert_true(len > 32);
	snprintf(path, len, "/tmp/cd_test_config_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static void assert_addr(const struct ip_addr *a, const char *text)
{
	struct ip_addr b;

	assert_true(addr_parse(&b, text));
	assert_int_equal(a->family, b.family);
	assert_memory_equal(a->b, b.b, 16);
}

/* Loaded configurations */

static void test_design_example(void **state)
{
	struct cfg *c = load_data("design.conf", NULL);
	const struct cfg_vipa *v;
	const struct cfg_service *s;
	const struct cfg_addr *a;
	char path[4096];

	data_path(path, sizeof(path), "design.conf");
	assert_string_equal(c->path, path);
	assert_string_equal(c->node_name, "d1");
	assert_int_equal(c->self, 0);

	assert_string_equal(c->cluster_name, "web");
	assert_string_equal(c->key_file, "/etc/clusterd/cluster.key");
	assert_addr(&c->sync_group, "239.255.77.1");
	assert_int_equal(c->sync_port, 7788);
	assert_string_equal(c->sync_ifname, "lan0");
	assert_int_equal(c->sync_mode, SYNC_EVERY_UPDATE);
	assert_int_equal(c->sync_interval_ms, 200);
	assert_int_equal(c->heartbeat_ms, 100);
	assert_int_equal(c->retry_threshold, 3);

	/* daemon = { } is absent: every default */
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->queue_base, 0);
	assert_int_equal(c->queue_maxlen, 4096);
	assert_true(c->manage_rules);
	assert_true(c->fastpath);
	assert_string_equal(c->control_socket, CLUSTERD_SOCKET_PATH);
	assert_int_equal(c->tcp_syn_timeout, 30);
	assert_int_equal(c->tcp_est_timeout, 900);
	assert_int_equal(c->tcp_fin_timeout, 30);
	assert_int_equal(c->udp_timeout, 60);
	assert_int_equal(c->conn_max, 262144);

	assert_int_equal(c->n_nodes, 4);
	assert_string_equal(c->nodes[0].name, "d1");
	assert_string_equal(c->nodes[1].name, "d2");
	assert_string_equal(c->nodes[2].name, "t1");
	assert_string_equal(c->nodes[3].name, "t2");
	assert_int_equal(c->nodes[0].line, 13);
	assert_int_equal(c->nodes[3].line, 17);
	assert_int_equal(c->nodes[0].n_addrs, 2);
	a = &c->nodes[0].addrs[0];
	assert_addr(&a->ip, "10.2.0.11");
	assert_int_equal(a->prefix, 24);
	assert_int_equal(a->mtu, 1500);
	assert_string_equal(a->type, "ethernet");
	assert_int_equal(a->cos, 0);
	assert_int_equal(a->retry, 3);
	a = &c->nodes[0].addrs[1];		/* all defaults */
	assert_addr(&a->ip, "10.3.0.11");
	assert_int_equal(a->prefix, 24);
	assert_int_equal(a->mtu, 1500);
	assert_string_equal(a->type, "ethernet");
	assert_int_equal(a->cos, 0);
	assert_int_equal(a->retry, 3);
	assert_int_equal(c->nodes[1].n_addrs, 1);
	assert_addr(&c->nodes[1].addrs[0].ip, "10.2.0.12");
	assert_addr(&c->nodes[2].addrs[0].ip, "10.2.0.21");
	assert_addr(&c->nodes[3].addrs[0].ip, "10.2.0.22");

	assert_int_equal(c->n_vipas, 1);
	v = &c->vipas[0];
	assert_true(v->preempt);	/* default */
	assert_addr(&v->addr, "10.2.0.100");
	assert_string_equal(v->ifname, "lan0");
	assert_int_equal(v->line, 20);
	assert_int_equal(v->n_dists, 2);
	assert_int_equal(v->dists[0].node, 0);
	assert_null(v->dists[0].targets);
	assert_int_equal(v->dists[0].n_targets, 0);
	assert_int_equal(v->dists[1].node, 1);
	assert_int_equal(v->dists[1].n_targets, 1);
	assert_int_equal(v->dists[1].targets[0].node, 3);
	assert_int_equal(v->dists[1].targets[0].weight, 1);

	assert_int_equal(v->n_svcs, 3);
	s = &v->svcs[0];
	assert_int_equal(s->line, 24);
	assert_int_equal(s->port, 80);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->target_port, 8080);
	assert_int_equal(s->sched, SCHED_MAGLEV);
	assert_int_equal(s->n_targets, 2);
	assert_int_equal(s->targets[0].node, 2);
	assert_int_equal(s->targets[0].weight, 1);
	assert_int_equal(s->targets[1].node, 3);
	assert_int_equal(s->targets[1].weight, 1);
	assert_int_equal(s->n_rules, 0);	/* handoff: see test_design_handoff */
	assert_null(s->rules);
	assert_false(s->handoff);

	s = &v->svcs[1];
	assert_int_equal(s->port, 53);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->target_port, 53);	/* defaults to port */
	assert_int_equal(s->sched, SCHED_MAGLEV);
	assert_int_equal(s->n_targets, 2);
	assert_int_equal(s->n_rules, 0);
	assert_null(s->rules);

	s = &v->svcs[2];
	assert_int_equal(s->port, 3868);
	assert_int_equal(s->proto, IPPROTO_SCTP);
	assert_int_equal(s->target_port, 3868);
	assert_int_equal(s->n_targets, 1);
	assert_int_equal(s->targets[0].node, 2);

	cfg_free(c);
}

static void test_full(void **state)
{
	struct cfg *c = load_data("full.conf", "b");
	const struct cfg_vipa *v;
	const struct cfg_service *s;
	const struct cfg_addr *a;
	char kf[4096];

	assert_string_equal(c->node_name, "b");
	assert_int_equal(c->self, 1);
	assert_string_equal(c->cluster_name, "api-pool");
	data_path(kf, sizeof(kf), "keys/cluster.key");
	assert_string_equal(c->key_file, kf);
	assert_addr(&c->sync_group, "ff02::77");
	assert_int_equal(c->sync_port, 7799);
	assert_string_equal(c->sync_ifname, "eth1");
	assert_int_equal(c->sync_mode, SYNC_PERIODIC);
	assert_int_equal(c->sync_interval_ms, 50);
	assert_int_equal(c->heartbeat_ms, 250);
	assert_int_equal(c->retry_threshold, 5);

	assert_int_equal(c->workers, 8);
	assert_int_equal(c->queue_base, 100);
	assert_int_equal(c->queue_maxlen, 1024);
	assert_false(c->manage_rules);
	assert_false(c->fastpath);
	assert_string_equal(c->control_socket, "/run/clusterd/ctl.sock");
	assert_int_equal(c->conn_max, 1000);
	assert_int_equal(c->tcp_syn_timeout, 10);
	assert_int_equal(c->tcp_est_timeout, 3600);
	assert_int_equal(c->tcp_fin_timeout, 20);
	assert_int_equal(c->udp_timeout, 30);

	assert_int_equal(c->n_nodes, 3);
	a = &c->nodes[0].addrs[0];
	assert_addr(&a->ip, "2001:db8::1");
	assert_int_equal(a->prefix, 64);	/* IPv6 default */
	assert_int_equal(a->retry, 5);		/* cluster.retry_threshold */
	a = &c->nodes[0].addrs[1];
	assert_addr(&a->ip, "192.168.1.1");
	assert_int_equal(a->prefix, 16);
	assert_int_equal(a->mtu, 9000);
	assert_string_equal(a->type, "infiniband");
	assert_int_equal(a->cos, 5);
	assert_int_equal(a->retry, 7);
	a = &c->nodes[1].addrs[0];
	assert_int_equal(a->prefix, 48);
	assert_int_equal(a->mtu, 1280);

	assert_int_equal(c->n_vipas, 2);
	v = &c->vipas[0];
	assert_true(v->preempt);
	assert_addr(&v->addr, "2001:db8::100");
	assert_int_equal(v->n_dists, 2);
	assert_int_equal(v->dists[0].node, 1);
	assert_int_equal(v->dists[0].n_targets, 1);
	assert_int_equal(v->dists[0].targets[0].node, 0);
	assert_int_equal(v->dists[0].targets[0].weight, 3);
	assert_int_equal(v->dists[1].node, 0);
	s = &v->svcs[0];
	assert_int_equal(s->port, 443);
	assert_int_equal(s->sched, SCHED_LEAST_CONN);
	assert_int_equal(s->n_targets, 2);	/* array syntax [ ... ] */
	assert_int_equal(s->targets[0].node, 0);
	assert_int_equal(s->targets[1].node, 1);
	s = &v->svcs[1];
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->port, 5060);
	assert_int_equal(s->target_port, 15060);
	assert_int_equal(s->sched, SCHED_ROUND_ROBIN);
	assert_int_equal(s->targets[0].node, 1);
	assert_int_equal(s->targets[0].weight, 256);
	assert_int_equal(s->targets[1].node, 0);
	assert_int_equal(s->targets[1].weight, 1);
	/* Same node, proto and target_port as vipas[0] 443 but another family:
	 * replies are told apart by family, so it is accepted. */
	v = &c->vipas[1];
	assert_false(v->preempt);
	assert_addr(&v->addr, "192.168.1.100");
	assert_int_equal(v->svcs[0].targets[0].node, 0);
	assert_int_equal(v->svcs[0].targets[1].node, 2);

	assert_addr(cfg_node_addr(c, 0, AF_INET), "192.168.1.1");
	assert_addr(cfg_node_addr(c, 0, AF_INET6), "2001:db8::1");
	assert_null(cfg_node_addr(c, 1, AF_INET));
	assert_null(cfg_node_addr(c, 2, AF_INET6));
	assert_null(cfg_node_addr(c, 3, AF_INET));
	assert_int_equal(cfg_node_index(c, "c"), 2);
	assert_int_equal(cfg_node_index(c, "x"), -1);
	assert_int_equal(cfg_node_by_addr(c, cfg_node_addr(c, 0, AF_INET6)), 0);
	{
		struct ip_addr ip;

		assert_true(addr_parse(&ip, "192.168.1.1"));
		assert_int_equal(cfg_node_by_addr(c, &ip), 0);
		assert_true(addr_parse(&ip, "192.168.1.99"));
		assert_int_equal(cfg_node_by_addr(c, &ip), -1);
	}
	cfg_free(c);
}

static const char minimal[] =
	"cluster = { key_file = \"/k\"; };\n"
	"nodes = ( { name = \"n1\"; addresses = ( { ip = \"10.0.0.1\"; } ); } );\n";

static void test_minimal_defaults(void **state)
{
	char path[64], err[CFG_ERR_MAX], host[256];
	struct cfg *c;

	write_tmp(path, sizeof(path), minimal);
	c = cfg_load(path, NULL, err, sizeof(err));
	unlink(path);
	assert_non_null(c);
	/* no -n, no node key: the host name */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_string_equal(c->node_name, host);
	assert_int_equal(c->self, strcmp(host, "n1") == 0 ? 0 : -1);
	assert_string_equal(c->cluster_name, "clusterd");
	assert_int_equal(c->sync_group.family, 0);	/* no group: unicast */
	assert_int_equal(c->sync_port, 7788);
	assert_string_equal(c->sync_ifname, "");
	assert_int_equal(c->sync_mode, SYNC_EVERY_UPDATE);
	assert_int_equal(c->sync_interval_ms, 200);
	assert_int_equal(c->heartbeat_ms, 100);
	assert_int_equal(c->retry_threshold, 3);
	assert_int_equal(c->n_vipas, 0);
	assert_null(c->vipas);
	assert_int_equal(c->nodes[0].addrs[0].retry, 3);
	cfg_free(c);
}

/* The full example with its handoff group (data/handoff.conf): the rules in order, with
 * their targets resolved, and the handoff keys at their defaults. */
static void test_design_handoff(void **state)
{
	struct cfg *c = load_data("handoff.conf", NULL);
	const struct cfg_service *s = &c->vipas[0].svcs[0];

	assert_true(s->handoff);
	assert_int_equal(s->hoff_proto, CFG_HOFF_HTTP);
	assert_int_equal(s->hoff_timeout_ms, 1000);
	assert_int_equal(s->hoff_request_timeout_ms, 5000);
	assert_int_equal(s->hoff_max_request, 16384);
	assert_int_equal(s->n_rules, 2);
	assert_string_equal(s->rules[0].path_prefix, "/static/");
	assert_string_equal(s->rules[0].host, "");
	assert_int_equal(s->rules[0].line, 26);
	assert_int_equal(s->rules[0].n_targets, 1);
	assert_int_equal(s->rules[0].targets[0].node, 2);	/* t1 */
	assert_string_equal(s->rules[1].host, "api.example.com");
	assert_string_equal(s->rules[1].path_prefix, "");
	assert_int_equal(s->rules[1].line, 27);
	assert_int_equal(s->rules[1].n_targets, 1);
	assert_int_equal(s->rules[1].targets[0].node, 3);	/* t2 */
	/* the other services have no handoff, and the defaults */
	assert_false(c->vipas[0].svcs[1].handoff);
	assert_int_equal(c->vipas[0].svcs[1].n_rules, 0);
	assert_int_equal(c->vipas[0].svcs[1].hoff_timeout_ms, 1000);
	assert_false(c->vipas[0].svcs[2].handoff);
	cfg_free(c);
}

/* Every handoff key away from its default (data/handoff_keys.conf): an IPv6 VIPA, a TLS
 * service whose rules name hosts only, an HTTP one at the upper limits, weighted rule
 * targets, a distributor's own list. */
static void test_handoff_keys(void **state)
{
	struct cfg *c = load_data("handoff_keys.conf", NULL);
	const struct cfg_vipa *v = &c->vipas[0];
	const struct cfg_service *s;

	assert_int_equal(v->addr.family, AF_INET6);
	s = &v->svcs[0];
	assert_true(s->handoff);
	assert_int_equal(s->hoff_proto, CFG_HOFF_TLS);
	assert_int_equal(s->hoff_timeout_ms, 100);
	assert_int_equal(s->hoff_request_timeout_ms, 100);
	assert_int_equal(s->hoff_max_request, 1024);
	assert_int_equal(s->n_rules, 2);
	assert_string_equal(s->rules[0].host, "a.example");
	assert_int_equal(s->rules[0].n_targets, 2);
	assert_int_equal(s->rules[0].targets[0].node, 3);	/* t2 */
	assert_int_equal(s->rules[0].targets[0].weight, 5);
	assert_int_equal(s->rules[0].targets[1].node, 2);	/* t1 */
	assert_int_equal(s->rules[0].targets[1].weight, 1);
	assert_string_equal(s->rules[1].host, "b.example");
	s = &v->svcs[1];
	assert_true(s->handoff);
	assert_int_equal(s->hoff_proto, CFG_HOFF_HTTP);
	assert_int_equal(s->hoff_timeout_ms, 60000);
	assert_int_equal(s->hoff_request_timeout_ms, 600000);
	assert_int_equal(s->hoff_max_request, 65536);
	assert_int_equal(s->n_rules, 1);
	assert_string_equal(s->rules[0].host, "c.example");
	assert_string_equal(s->rules[0].path_prefix, "/x?y=1");
	/* who serves: t1 by the service's list, t2 by a rule only, t3 by d2's own list, the
	 * distributors not at all */
	assert_true(cfg_serves(v, &v->svcs[1], 2));
	assert_true(cfg_serves(v, &v->svcs[1], 3));
	assert_true(cfg_serves(v, &v->svcs[1], 4));
	assert_false(cfg_serves(v, &v->svcs[1], 0));
	assert_false(cfg_serves(v, &v->svcs[1], 1));
	assert_string_equal(cfg_hoff_proto_name(CFG_HOFF_HTTP), "http");
	assert_string_equal(cfg_hoff_proto_name(CFG_HOFF_TLS), "tls");
	cfg_free(c);
}

static void test_node_selection(void **state)
{
	struct cfg *c;

	c = load_data("design.conf", "t2");	/* -n beats the node key */
	assert_string_equal(c->node_name, "t2");
	assert_int_equal(c->self, 3);
	cfg_free(c);
	c = load_data("design.conf", "elsewhere");	/* not listed: -1, still loads */
	assert_string_equal(c->node_name, "elsewhere");
	assert_int_equal(c->self, -1);
	cfg_free(c);
}

static void test_node_override_bad(void **state)
{
	char path[4096], err[CFG_ERR_MAX], exp[4200];

	data_path(path, sizeof(path), "design.conf");
	assert_null(cfg_load(path, "bad name", err, sizeof(err)));
	snprintf(exp, sizeof(exp), "%s: node name 'bad name' may only contain", path);
	assert_memory_equal(err, exp, strlen(exp));
}

static void test_default_file(void **state)
{
	char path[4096];
	struct cfg *c;

	/* etc/clusterd.conf must load as shipped */
	data_path(path, sizeof(path), "../../../etc/clusterd.conf");
	{
		char err[CFG_ERR_MAX];

		c = cfg_load(path, "d1", err, sizeof(err));
		if (!c)
			fail_msg("%s", err);
	}
	assert_string_equal(c->node_name, "d1");
	assert_int_equal(c->self, 0);
	assert_int_equal(c->n_nodes, 4);
	assert_int_equal(c->n_vipas, 1);
	assert_int_equal(c->vipas[0].n_svcs, 3);
	assert_int_equal(c->vipas[0].svcs[0].n_rules, 0);	/* its handoff group is commented */
	assert_false(c->vipas[0].svcs[0].handoff);
	assert_int_equal(c->queue_maxlen, 4096);
	cfg_free(c);
}

static void test_missing_file(void **state)
{
	char err[CFG_ERR_MAX];

	assert_null(cfg_load("/nonexistent/clusterd.conf", NULL, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/clusterd.conf: cannot open: "
			    "No such file or directory");
}

static void test_directory(void **state)
{
	char err[CFG_ERR_MAX];

	assert_null(cfg_load("/tmp", NULL, err, sizeof(err)));
	assert_string_equal(err, "/tmp: file I/O error");
}

static void test_include(void **state)
{
	char dir[] = "/tmp/cd_test_config_dirXXXXXX", main_path[64], inc_path[64];
	char err[CFG_ERR_MAX];
	struct cfg *c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/nodes.inc", dir);
	f = fopen(inc_path, "w");
	assert_non_null(f);
	fputs("nodes = ( { name = \"n1\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n"
	      "          { name = \"n1\"; addresses = ( { ip = \"10.0.0.2\"; } ); } );\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	assert_non_null(f);
	fputs("cluster = { key_file = \"k\"; };\n@include \"nodes.inc\"\n", f);
	fclose(f);
	c = cfg_load(main_path, "n1", err, sizeof(err));
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
	assert_null(c);
	/* the error names the included file and its line */
	assert_string_equal(err + strlen(dir), "/nodes.inc:2: duplicate node name 'n1' "
			    "(first on line 1)");
	assert_memory_equal(err, dir, strlen(dir));

	/* a syntax error inside an included file names that file too */
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/cd_test_config_dirXXXXXX")));
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/nodes.inc", dir);
	f = fopen(inc_path, "w");
	assert_non_null(f);
	fputs("\n\nnodes = ( { name = ; } );\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	assert_non_null(f);
	fputs("cluster = { key_file = \"k\"; };\n@include \"nodes.inc\"\n", f);
	fclose(f);
	c = cfg_load(main_path, "n1", err, sizeof(err));
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
	assert_null(c);
	assert_memory_equal(err, dir, strlen(dir));
	assert_string_equal(err + strlen(dir), "/nodes.inc:3: syntax error");
}

/* Refusals */

#define CLUSTER "cluster = { key_file = \"/k\"; };\n"
#define NODES \
	"nodes = (\n" \
	"  { name = \"d1\"; addresses = ( { ip = \"10.0.0.11\"; } ); },\n" \
	"  { name = \"d2\"; addresses = ( { ip = \"10.0.0.12\"; } ); },\n" \
	"  { name = \"t1\"; addresses = ( { ip = \"10.0.0.21\"; } ); },\n" \
	"  { name = \"t2\"; addresses = ( { ip = \"10.0.0.22\"; } ); },\n" \
	"  { name = \"t6\"; addresses = ( { ip = \"2001:db8::26\"; } ); }\n" \
	");\n"
#define VIPA_HEAD \
	"vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n" \
	"  distributors = ( { node = \"d1\"; } );\n" \
	"  services = (\n"
#define VIPA_TAIL "  ); } );\n"
#define SVC(body) VIPA_HEAD body VIPA_TAIL
#define BASE CLUSTER NODES

struct rcase {
	const char *name;
	const char *text;
	const char *msg;	/* must appear right after "file:line: " */
};

static const struct rcase rcases[] = {
	{ "syntax_error",
	  CLUSTER "nodes = ( { name = \"d1\"; = } ); #!\n",
	  "syntax error" },
	{ "unknown_key_top",
	  BASE "vipa = ( ); #!\n",
	  "unknown key 'vipa' in the top level" },
	{ "unknown_key_cluster",
	  "cluster = { key_file = \"/k\";\n hartbeat_ms = 100; #!\n};\n" NODES,
	  "unknown key 'hartbeat_ms' in cluster" },
	{ "unknown_key_sync",
	  "cluster = { key_file = \"/k\";\n sync = { grop = \"239.1.1.1\"; }; #!\n};\n" NODES,
	  "unknown key 'grop' in cluster.sync" },
	{ "unknown_key_daemon",
	  BASE "daemon = { worker = 2; }; #!\n",
	  "unknown key 'worker' in daemon" },
	{ "unknown_key_timeouts",
	  BASE "daemon = { timeouts = { tcp = 2; }; }; #!\n",
	  "unknown key 'tcp' in daemon.timeouts" },
	{ "unknown_key_node",
	  CLUSTER "nodes = ( { name = \"n\"; adresses = ( ); } ); #!\n",
	  "unknown key 'adresses' in node 'n'" },
	{ "unknown_key_address",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"10.0.0.1\"; mask = 24; } ) "
	  "} ); #!\n",
	  "unknown key 'mask' in node 'n'" },
	{ "unknown_key_vipa",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interfce = \"lan0\"; } ); #!\n",
	  "unknown key 'interfce' in vipa 10.0.0.100" },
	{ "unknown_key_distributor",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; weight = 2; } ); #!\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); } );\n",
	  "unknown key 'weight' in distributor of vipa 10.0.0.100" },
	{ "unknown_key_service",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); schedular = \"x\"; }"
	    " #!\n"),
	  "unknown key 'schedular' in service 10.0.0.100:80/tcp" },
	{ "unknown_key_handoff",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   "  handoff = { rule = ( ); }; } #!\n"),
	  "unknown key 'rule' in handoff" },
	{ "unknown_key_rule",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   "  handoff = { rules = ( { path = \"/\"; targets = ( \"t1\" ); } ); }; } #!\n"),
	  "unknown key 'path' in handoff rule" },
	{ "unknown_key_target",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n"
		   "  targets = ( { node = \"t1\"; wieght = 2; } ); } #!\n"),
	  "unknown key 'wieght' in target" },

	{ "type_int",
	  BASE SVC("{ port = \"80\"; #!\n protocol = \"tcp\"; targets = ( \"t1\" ); }\n"),
	  "'port' in service of vipa 10.0.0.100 must be an integer" },
	{ "type_float",
	  "cluster = { key_file = \"/k\";\n heartbeat_ms = 1.5; #!\n};\n" NODES,
	  "'heartbeat_ms' in cluster must be an integer" },
	{ "type_bool",
	  BASE "daemon = { manage_rules = 1; }; #!\n",
	  "'manage_rules' in daemon must be a boolean" },
	{ "type_bool_fastpath",
	  BASE "daemon = {\n fastpath = \"yes\"; #!\n};\n",
	  "'fastpath' in daemon must be a boolean" },
	{ "type_string",
	  BASE "node = 5; #!\n",
	  "'node' in the top level must be a string" },
	{ "type_group",
	  "cluster = ( ); #!\n" NODES,
	  "'cluster' in the top level must be a group" },
	{ "type_list",
	  CLUSTER "nodes = { }; #!\n",
	  "'nodes' in the top level must be a list" },
	{ "type_targets",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = \"t1\"; } #!\n"),
	  "'targets' in service 10.0.0.100:80/tcp must be a list of names" },
	{ "type_target_elem",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( 5 ); } #!\n"),
	  "each target in service 10.0.0.100:80/tcp must be a node name" },

	{ "missing_cluster",
	  NODES,
	  "missing required key 'cluster' in the top level" },
	{ "missing_key_file",
	  "cluster = { name = \"c\"; }; #!\n" NODES,
	  "missing required key 'key_file' in cluster" },
	{ "missing_nodes",
	  CLUSTER,
	  "missing required key 'nodes' in the top level" },
	{ "empty_nodes",
	  CLUSTER "nodes = ( ); #!\n",
	  "nodes must list at least one node" },
	{ "missing_node_name",
	  CLUSTER "nodes = ( { addresses = ( { ip = \"10.0.0.1\"; } ); } ); #!\n",
	  "missing required key 'name' in nodes entry" },
	{ "missing_addresses",
	  CLUSTER "nodes = ( { name = \"n\"; } ); #!\n",
	  "missing required key 'addresses' in node 'n'" },
	{ "empty_addresses",
	  CLUSTER "nodes = ( { name = \"n\"; addresses = ( ); } ); #!\n",
	  "node 'n' needs at least one address" },
	{ "nine_addresses",
	  CLUSTER "nodes = ( { name = \"n\"; addresses = ( { ip = \"10.9.0.1\"; }, #!\n"
	  " { ip = \"10.9.0.2\"; }, { ip = \"10.9.0.3\"; }, { ip = \"10.9.0.4\"; },\n"
	  " { ip = \"10.9.0.5\"; }, { ip = \"10.9.0.6\"; }, { ip = \"10.9.0.7\"; },\n"
	  " { ip = \"10.9.0.8\"; }, { ip = \"10.9.0.9\"; } ); } );\n",
	  "node 'n' has 9 addresses; at most 8" },
	{ "missing_ip",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { prefix = 24; } ); } ); #!\n",
	  "missing required key 'ip' in node 'n'" },
	{ "missing_vipa_address",
	  BASE "vipas = ( { interface = \"lan0\"; } ); #!\n",
	  "missing required key 'address' in vipas entry" },
	{ "missing_vipa_interface",
	  BASE "vipas = ( { address = \"10.0.0.100\"; } ); #!\n",
	  "missing required key 'interface' in vipa 10.0.0.100" },
	{ "missing_distributors",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\"; #!\n"
	  " services = ( ); } );\n",
	  "missing required key 'distributors' in vipa 10.0.0.100" },
	{ "empty_distributors",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  " distributors = ( ); #!\n services = ( ); } );\n",
	  "vipa 10.0.0.100 needs at least one distributor" },
	{ "missing_services",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\"; #!\n"
	  " distributors = ( { node = \"d1\"; } ); } );\n",
	  "missing required key 'services' in vipa 10.0.0.100" },
	{ "empty_services",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  " distributors = ( { node = \"d1\"; } );\n services = ( ); } ); #!\n",
	  "vipa 10.0.0.100 needs at least one service" },
	{ "missing_port",
	  BASE SVC("{ protocol = \"tcp\"; targets = ( \"t1\" ); } #!\n"),
	  "missing required key 'port' in service of vipa 10.0.0.100" },
	{ "missing_protocol",
	  BASE SVC("{ port = 80; targets = ( \"t1\" ); } #!\n"),
	  "missing required key 'protocol' in service of vipa 10.0.0.100" },
	{ "missing_targets",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; } #!\n"),
	  "missing required key 'targets' in service 10.0.0.100:80/tcp" },
	{ "empty_targets",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( ); } #!\n"),
	  "targets in service 10.0.0.100:80/tcp must name at least one node" },
	{ "missing_target_node",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( { weight = 2; } ); } #!\n"),
	  "missing required key 'node' in target" },
	{ "missing_rule_targets",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { host = \"a\"; } ); }; } #!\n"),
	  "missing required key 'targets' in handoff rule" },

	{ "bad_ip_node",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"10.0.0.300\"; } ); } ); #!\n",
	  "'ip' in node 'n' is not an IPv4 or IPv6 address: '10.0.0.300'" },
	{ "bad_ip_vipa",
	  BASE "vipas = ( { address = \"vip\"; } ); #!\n",
	  "'address' in vipas entry is not an IPv4 or IPv6 address: 'vip'" },
	{ "bad_ip_sync",
	  "cluster = { key_file = \"/k\";\n sync = { group = \"239.1.1\"; }; #!\n};\n" NODES,
	  "'group' in cluster.sync is not an IPv4 or IPv6 address" },
	{ "prefix_v4",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"10.0.0.1\"; prefix = 33;"
	    " } ); "
	  "} ); #!\n",
	  "'prefix' in node 'n' must be 1..32, not 33" },
	{ "prefix_v6",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"fd00::1\"; prefix = 129;"
	    " } ); "
	  "} ); #!\n",
	  "'prefix' in node 'n' must be 1..128, not 129" },
	{ "prefix_zero",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"fd00::1\"; prefix = 0; } ); "
	  "} ); #!\n",
	  "'prefix' in node 'n' must be 1..128, not 0" },
	{ "mtu_v6",
	  CLUSTER "nodes = ( { name = \"n\";\n addresses = ( { ip = \"fd00::1\"; mtu = 1000; } ); "
	  "} ); #!\n",
	  "'mtu' in node 'n' must be 1280..65535, not 1000" },
	{ "port_zero",
	  BASE SVC("{ port = 0; #!\n protocol = \"tcp\"; targets = ( \"t1\" ); }\n"),
	  "'port' in service of vipa 10.0.0.100 must be 1..65535, not 0" },
	{ "port_big",
	  BASE SVC("{ port = 65536; #!\n protocol = \"tcp\"; targets = ( \"t1\" ); }\n"),
	  "'port' in service of vipa 10.0.0.100 must be 1..65535, not 65536" },
	{ "port_int64",
	  BASE SVC("{ port = 4294967376L; #!\n protocol = \"tcp\"; targets = ( \"t1\" ); }\n"),
	  "'port' in service of vipa 10.0.0.100 must be 1..65535, not 4294967376" },
	{ "target_port_zero",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n target_port = 0; }"
	    " #!\n"),
	  "'target_port' in service 10.0.0.100:80/tcp must be 1..65535, not 0" },
	{ "sync_port_big",
	  "cluster = { key_file = \"/k\";\n sync = { port = 70000; }; #!\n};\n" NODES,
	  "'port' in cluster.sync must be 1..65535, not 70000" },

	{ "dup_node_name",
	  CLUSTER "nodes = (\n { name = \"n\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n"
	  " { name = \"n\"; addresses = ( { ip = \"10.0.0.2\"; } ); } ); #!\n",
	  "duplicate node name 'n' (first on line 3)" },
	{ "dup_addr_nodes",
	  CLUSTER "nodes = (\n { name = \"a\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n"
	  " { name = \"b\"; addresses = ( { ip = \"10.0.0.2\"; }, { ip = \"10.0.0.1\"; } ); }"
	  " ); #!\n",
	  "duplicate address 10.0.0.1: node 'a' and node 'b'" },
	{ "dup_addr_one_node",
	  CLUSTER "nodes = (\n { name = \"a\"; addresses = ( { ip = \"fd00::1\"; },\n"
	  "   { ip = \"fd00:0::1\"; } ); } ); #!\n",
	  "duplicate address fd00::1: node 'a' and node 'a'" },
	{ "bad_node_name",
	  CLUSTER "nodes = ( { name = \"a b\"; #!\n addresses = ( { ip = \"10.0.0.1\"; } ); } );\n",
	  "node name 'a b' may only contain letters" },
	{ "unknown_node_distributor",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d9\"; } ); #!\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); } );\n",
	  "unknown node 'd9'" },
	{ "unknown_node_target",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( \"t1\", \"t3\" ); } #!\n"),
	  "unknown node 't3'" },
	{ "unknown_node_weighted_target",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( { node = \"t3\"; } ); } #!\n"),
	  "unknown node 't3'" },
	{ "unknown_node_dist_target",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; targets = ( \"x\" ); } ); #!\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); } );\n",
	  "unknown node 'x'" },
	{ "unknown_node_handoff",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { host = \"a\"; targets = ( \"zz\" ); } ); }; } #!\n"),
	  "unknown node 'zz'" },
	{ "dup_vipa",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; } );\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); },\n"
	  " { address = \"10.0.0.100\"; interface = \"lan0\"; } ); #!\n",
	  "duplicate vipa 10.0.0.100 (first on line 9)" },
	{ "vipa_is_node_addr",
	  BASE "vipas = ( { address = \"10.0.0.21\"; interface = \"lan0\"; } ); #!\n",
	  "vipa 10.0.0.21 is also an address of node 't1'" },
	{ "dup_service",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); },\n"
		   "{ port = 80; protocol = \"udp\"; targets = ( \"t1\" ); },\n"
		   "{ port = 80; protocol = \"tcp\"; targets = ( \"t2\" ); } #!\n"),
	  "duplicate service 10.0.0.100:80/tcp (first on line 12)" },
	{ "dup_target",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( \"t1\", \"t1\" ); } #!\n"),
	  "node 't1' is listed twice in targets of service 10.0.0.100:80/tcp" },
	{ "dup_distributor",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d1\"; } ); #!\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); } );\n",
	  "node 'd1' is listed twice in distributors of vipa 10.0.0.100" },
	{ "target_family",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( \"t1\", \"t6\" ); } #!\n"),
	  "node 't6' has no IPv4 address for vipa 10.0.0.100" },
	{ "distributor_family",
	  BASE "vipas = ( { address = \"2001:db8::100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; } ); #!\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t6\" ); } ); } );\n",
	  "node 'd1' has no IPv6 address for vipa 2001:db8::100" },
	{ "handoff_target_family",
	  BASE "vipas = ( { address = \"2001:db8::100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"t6\"; } );\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t6\" );\n"
	  "    handoff = { rules = ( { host = \"h\"; targets = ( \"t2\" ); } ); }; } ); } ); #!\n",
	  "node 't2' has no IPv6 address for vipa 2001:db8::100" },
	{ "ifname_long",
	  BASE "vipas = ( { address = \"10.0.0.100\";\n interface = \"abcdefghijklmnop\"; } );"
	    " #!\n",
	  "interface name 'abcdefghijklmnop' is too long (at most 15 characters)" },
	{ "ifname_sync_long",
	  "cluster = { key_file = \"/k\";\n sync = { interface = \"0123456789abcdef\"; }; #!\n};\n"
	  NODES,
	  "interface name '0123456789abcdef' is too long" },
	{ "ifname_bad",
	  BASE "vipas = ( { address = \"10.0.0.100\";\n interface = \"eth/0\"; } ); #!\n",
	  "'eth/0' is not a valid interface name" },
	{ "heartbeat_zero",
	  "cluster = { key_file = \"/k\";\n heartbeat_ms = 0; #!\n};\n" NODES,
	  "'heartbeat_ms' in cluster must be 1..60000, not 0" },
	{ "retry_threshold_zero",
	  "cluster = { key_file = \"/k\";\n retry_threshold = 0; #!\n};\n" NODES,
	  "'retry_threshold' in cluster must be 1..100, not 0" },
	{ "workers_big",
	  BASE "daemon = { workers = 1025; }; #!\n",
	  "'workers' in daemon must be 0..1024, not 1025" },
	{ "queues_overflow",
	  BASE "daemon = { workers = 8;\n queue = 65530; }; #!\n",
	  "queues 65530..65537 do not fit below 65536" },
	{ "control_socket_relative",
	  BASE "daemon = { control_socket = \"ctl.sock\"; }; #!\n",
	  "control_socket must be an absolute path" },
	{ "metrics_no_port",
	  BASE "metrics = {\n listen = \"10.0.0.1\"; }; #!\n",
	  "metrics.listen '10.0.0.1' is not ADDRESS:PORT" },
	{ "metrics_bad_addr",
	  BASE "metrics = {\n listen = \"10.0.0.300:9677\"; }; #!\n",
	  "metrics.listen '10.0.0.300:9677' is not ADDRESS:PORT" },
	{ "metrics_v6_unbracketed",
	  BASE "metrics = {\n listen = \"fd00::1:9677\"; }; #!\n",
	  "metrics.listen 'fd00::1:9677' is not ADDRESS:PORT" },
	{ "metrics_port_zero",
	  BASE "metrics = {\n listen = \"[fd00::1]:0\"; }; #!\n",
	  "metrics.listen '[fd00::1]:0' is not ADDRESS:PORT" },
	{ "metrics_port_big",
	  BASE "metrics = {\n listen = \"10.0.0.1:65536\"; }; #!\n",
	  "metrics.listen '10.0.0.1:65536' is not ADDRESS:PORT" },
	{ "metrics_port_text",
	  BASE "metrics = {\n listen = \"10.0.0.1:http\"; }; #!\n",
	  "metrics.listen '10.0.0.1:http' is not ADDRESS:PORT" },
	{ "metrics_bracket_v4",
	  BASE "metrics = {\n listen = \"[10.0.0.1]:9677\"; }; #!\n",
	  "metrics.listen '[10.0.0.1]:9677' is not ADDRESS:PORT" },
	{ "metrics_no_listen",
	  BASE "metrics = { }; #!\n",
	  "missing required key 'listen' in metrics" },
	{ "metrics_unknown_key",
	  BASE "metrics = {\n listen = \"10.0.0.1:9677\";\n path = \"/m\"; }; #!\n",
	  "unknown key 'path' in metrics" },
	{ "sync_group_unicast",
	  "cluster = { key_file = \"/k\";\n sync = { group = \"10.1.1.1\"; }; #!\n};\n" NODES,
	  "sync group '10.1.1.1' is not a multicast address" },
	{ "sync_group_unicast_v6",
	  "cluster = { key_file = \"/k\";\n sync = { group = \"fd00::1\"; }; #!\n};\n" NODES,
	  "sync group 'fd00::1' is not a multicast address" },
	{ "sync_mode_bad",
	  "cluster = { key_file = \"/k\";\n sync = { mode = \"always\"; }; #!\n};\n" NODES,
	  "'mode' in cluster.sync must be one of every-update, periodic, on-event, not 'always'" },
	{ "protocol_bad",
	  BASE SVC("{ port = 80; protocol = \"TCP\"; #!\n targets = ( \"t1\" ); }\n"),
	  "'protocol' in service of vipa 10.0.0.100 must be one of tcp, udp, sctp, not 'TCP'" },
	{ "scheduler_bad",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " scheduler = \"random\"; } #!\n"),
	  "'scheduler' in service 10.0.0.100:80/tcp must be one of maglev, round-robin, "
	  "least-conn, not 'random'" },
	{ "weight_zero",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( { node = \"t1\"; weight = 0;"
	    " } ); "
		   "} #!\n"),
	  "'weight' in target must be 1..256, not 0" },
	{ "weight_big",
	  BASE SVC("{ port = 80; protocol = \"tcp\";\n targets = ( { node = \"t1\"; weight ="
	    " 257; } "
		   "); } #!\n"),
	  "'weight' in target must be 1..256, not 257" },
	{ "handoff_udp",
	  BASE SVC("{ port = 53; protocol = \"udp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; } #!\n"),
	  "handoff needs protocol tcp, not udp (service 10.0.0.100:53/udp)" },
	{ "handoff_sctp",
	  BASE SVC("{ port = 3868; protocol = \"sctp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; } #!\n"),
	  "handoff needs protocol tcp, not sctp" },
	{ "handoff_no_rules",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( ); }; } #!\n"),
	  "handoff of service 10.0.0.100:80/tcp needs at least one rule" },
	{ "handoff_protocol_bad",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { protocol = \"https\"; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'protocol' in handoff must be one of http, tls, not 'https'" },
	/* A ClientHello has no path: the rule's path_prefix line is named. */
	{ "handoff_tls_path_prefix",
	  BASE SVC("{ port = 443; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { protocol = \"tls\";\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); },\n"
		   "     { path_prefix = \"/s/\"; #!\n"
		   "       targets = ( \"t2\" ); } ); }; }\n"),
	  "path_prefix cannot be matched with handoff protocol \"tls\" (service "
	  "10.0.0.100:443/tcp): a TLS ClientHello carries the host name only" },
	{ "handoff_timeout_low",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { timeout_ms = 99; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'timeout_ms' in handoff must be 100..60000, not 99" },
	{ "handoff_timeout_high",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { timeout_ms = 60001; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'timeout_ms' in handoff must be 100..60000, not 60001" },
	{ "handoff_request_timeout_low",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { request_timeout_ms = 99; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'request_timeout_ms' in handoff must be 100..600000, not 99" },
	{ "handoff_request_timeout_high",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { request_timeout_ms = 600001; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'request_timeout_ms' in handoff must be 100..600000, not 600001" },
	{ "handoff_max_request_low",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { max_request = 1023; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'max_request' in handoff must be 1024..65536, not 1023" },
	{ "handoff_max_request_high",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { max_request = 65537; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'max_request' in handoff must be 1024..65536, not 65537" },
	{ "handoff_max_request_type",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { max_request = \"16k\"; #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "'max_request' in handoff must be an integer" },
	/* A distributor that is also a target, by each of the three lists: refused at the
	 * handoff group. */
	{ "handoff_distributor_in_service_targets",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\", \"d1\" );\n"
		   " handoff = { #!\n"
		   "   rules = ( { host = \"a\"; targets = ( \"t1\" ); } ); }; }\n"),
	  "node 'd1' is both a distributor of vipa 10.0.0.100 and a target of the handoff "
	  "service 10.0.0.100:80/tcp: handing a connection to the distributor's own stack is not "
	  "supported" },
	{ "handoff_distributor_in_rule",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { host = \"a\"; targets = ( \"t1\" ); }, #!\n"
		   "   { host = \"b\"; targets = ( \"t2\", \"d1\" ); } ); }; }\n"),
	  "node 'd1' is both a distributor of vipa 10.0.0.100 and a target of the handoff "
	  "service 10.0.0.100:80/tcp" },
	{ "handoff_distributor_in_own_list",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; targets = ( \"d1\" ); } );\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
	  "    handoff = { rules = ( { host = \"h\"; targets = ( \"t2\" ); } ); }; } ); } ); #!\n",
	  "node 'd1' is both a distributor of vipa 10.0.0.100 and a target of the handoff "
	  "service 10.0.0.100:80/tcp" },
	{ "handoff_backup_distributor_target",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\", \"d2\" );\n"
	  "    handoff = { rules = ( { host = \"h\"; targets = ( \"t2\" ); } ); }; } ); } ); #!\n",
	  "node 'd2' is both a distributor of vipa 10.0.0.100 and a target of the handoff "
	  "service 10.0.0.100:80/tcp" },
	{ "path_prefix_relative",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		   " handoff = { rules = ( { path_prefix = \"static\"; targets = ( \"t1\" ); }"
		   " ); }; "
		   "} #!\n"),
	  "path_prefix 'static' must start with '/'" },

	/* alternate_address (SCTP association failover) */
	{ "alt_bad_ip",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"10.0.0.300\"; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "'alternate_address' in vipa 10.0.0.100 is not an IPv4 or IPv6 address: "
	  "'10.0.0.300'" },
	{ "alt_type",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = 5; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "'alternate_address' in vipa 10.0.0.100 must be a string" },
	{ "alt_family",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"2001:db8::101\"; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "alternate_address 2001:db8::101 of vipa 10.0.0.100 must be an IPv4 address like "
	  "the vipa" },
	{ "alt_family_v6",
	  BASE "vipas = ( { address = \"2001:db8::100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"10.0.0.101\"; #!\n"
	  "  distributors = ( { node = \"t6\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t6\" ); } ); } );\n",
	  "alternate_address 10.0.0.101 of vipa 2001:db8::100 must be an IPv6 address like "
	  "the vipa" },
	{ "alt_is_vipa",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"10.0.0.100\"; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "alternate_address of vipa 10.0.0.100 is the vipa itself; it must be a second "
	  "address" },
	/* the same address written another way is still the same */
	{ "alt_is_vipa_v6",
	  CLUSTER "nodes = (\n"
	  "  { name = \"d1\"; addresses = ( { ip = \"2001:db8::11\"; } ); },\n"
	  "  { name = \"d2\"; addresses = ( { ip = \"2001:db8::12\"; } ); } );\n"
	  "vipas = ( { address = \"2001:db8::100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"2001:db8:0:0::100\"; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"d2\" ); } ); } );\n",
	  "alternate_address of vipa 2001:db8::100 is the vipa itself" },
	{ "alt_is_node_addr",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"10.0.0.12\"; #!\n"
	  "  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "alternate_address 10.0.0.12 of vipa 10.0.0.100 is also an address of node 'd2'" },
	{ "alt_is_other_vipa",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\"; distributors = ( { node = \"d1\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); },\n"
	  " { address = \"10.0.0.2\"; interface = \"lan0\";\n"
	  "   alternate_address = \"10.0.0.1\"; #!\n"
	  "   distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "   services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t2\" ); } ); } );\n",
	  "alternate_address 10.0.0.1 of vipa 10.0.0.2 is also vipa 10.0.0.1 (line 10)" },
	/* a later VIPA that is an earlier VIPA's alternate: refused at its address */
	{ "vipa_is_other_alt",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\"; alternate_address = \"10.0.0.2\";\n"
	  "   distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "   services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); },\n"
	  " { address = \"10.0.0.2\"; #!\n"
	  "   interface = \"lan0\"; distributors = ( { node = \"d1\"; } );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t2\" ); } ); } );\n",
	  "vipa 10.0.0.2 is also the alternate_address of vipa 10.0.0.1 (line 10)" },
	{ "alt_is_other_alt",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\"; alternate_address = \"10.0.0.9\";\n"
	  "   distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	  "   services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); },\n"
	  " { address = \"10.0.0.2\"; interface = \"lan0\";\n"
	  "   alternate_address = \"10.0.0.9\"; #!\n"
	  "   distributors = ( { node = \"d2\"; }, { node = \"d1\"; } );\n"
	  "   services = ( { port = 3869; protocol = \"sctp\"; targets = ( \"t2\" ); } ); } );\n",
	  "alternate_address 10.0.0.9 of vipa 10.0.0.2 is also the alternate_address of vipa "
	  "10.0.0.1 (line 10)" },
	{ "alt_one_distributor",
	  BASE "vipas = ( { address = \"10.0.0.100\"; interface = \"lan0\";\n"
	  "  alternate_address = \"10.0.0.101\"; #!\n"
	  "  distributors = ( { node = \"d1\"; } );\n"
	  "  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\" ); } ); } );\n",
	  "alternate_address of vipa 10.0.0.100 needs at least two distributors: the next "
	  "alive one after the vipa's holder holds it, and with one there is no second node" },

	/* The brief's own example: two VIPAs, one target, one target_port. */
	{ "ambiguous_two_vipas",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\"; distributors = ( { node = \"d1\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\", \"t2\" );\n"
	  "                  target_port = 8080; } ); },\n"
	  " { address = \"10.0.0.2\"; interface = \"lan0\"; distributors = ( { node = \"d2\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); #!\n"
	  "                  target_port = 8080; } ); } );\n",
	  "node t1 serves 10.0.0.1:80/tcp and 10.0.0.2:80/tcp on the same target_port 8080; "
	  "give one a distinct target_port" },
	{ "ambiguous_one_vipa",
	  BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); },\n"
		   "{ port = 81; protocol = \"tcp\"; targets = ( \"t2\", \"t1\" ); target_port"
		   " = 80; } "
		   "#!\n"),
	  "node t1 serves 10.0.0.100:80/tcp and 10.0.0.100:81/tcp on the same target_port 80" },
	{ "ambiguous_via_distributor",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\";\n"
	  "   distributors = ( { node = \"d1\"; }, { node = \"d2\"; targets = ( \"t2\" ); } );\n"
	  "   services = ( { port = 80; protocol = \"udp\"; targets = ( \"t1\" ); } ); },\n"
	  " { address = \"10.0.0.2\"; interface = \"lan0\"; distributors = ( { node = \"d2\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"udp\"; targets = ( \"t2\" ); } ); } ); #!\n",
	  "node t2 serves 10.0.0.1:80/udp and 10.0.0.2:80/udp on the same target_port 80" },
	{ "ambiguous_via_handoff",
	  BASE "vipas = (\n"
	  " { address = \"10.0.0.1\"; interface = \"lan0\"; distributors = ( { node = \"d1\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
	  "     handoff = { rules = ( { host = \"h\"; targets = ( \"t2\" ); } ); }; } ); },\n"
	  " { address = \"10.0.0.2\"; interface = \"lan0\"; distributors = ( { node = \"d2\"; }"
	  " );\n"
	  "   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t2\" ); } ); } ); #!\n",
	  "node t2 serves 10.0.0.1:80/tcp and 10.0.0.2:80/tcp on the same target_port 80" },
};

/* The line carrying "#!", or 0 when the error has no line. */
static unsigned marker_line(const char *text)
{
	const char *m = strstr(text, "#!"), *p;
	unsigned line = 1;

	if (!m)
		return 0;
	for (p = text; p < m; p++)
		if (*p == '\n')
			line++;
	return line;
}

static void run_refusal(void **state)
{
	const struct rcase *rc = *state;
	char path[64], err[CFG_ERR_MAX], exp[CFG_ERR_MAX];
	unsigned line = marker_line(rc->text);
	struct cfg *c;

	write_tmp(path, sizeof(path), rc->text);
	memset(err, 'x', sizeof(err));
	c = cfg_load(path, "d1", err, sizeof(err));
	unlink(path);
	if (c) {
		cfg_free(c);
		fail_msg("%s: loaded, expected \"%s\"", rc->name, rc->msg);
	}
	if (line)
		snprintf(exp, sizeof(exp), "%s:%u: %s", path, line, rc->msg);
	else
		snprintf(exp, sizeof(exp), "%s: %s", path, rc->msg);
	if (strncmp(err, exp, strlen(exp)) != 0)
		fail_msg("%s:\n  got      \"%s\"\n  expected \"%s...\"", rc->name, err, exp);
}

/* Near misses of the refusals above that must load. */
static void test_accepts(void **state)
{
	static const char *const ok[] = {
		/* different target_port on the same node */
		BASE "vipas = (\n"
		" { address = \"10.0.0.1\"; interface = \"lan0\"; distributors = ( { node ="
		" \"d1\"; } );\n"
		"   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); },\n"
		" { address = \"10.0.0.2\"; interface = \"lan0\"; distributors = ( { node ="
		" \"d2\"; } );\n"
		"   services = ( { port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		"                  target_port = 8081; } ); } );\n",
		/* same target_port, other protocol */
		BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); },\n"
			 "{ port = 80; protocol = \"udp\"; targets = ( \"t1\" ); }\n"),
		/* same target_port, disjoint targets */
		BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); },\n"
			 "{ port = 81; protocol = \"tcp\"; targets = ( \"t2\" ); target_port ="
			 " 80; }\n"),
		/* a distributor that serves the same VIPA without handoff, next to a
		 * handoff service whose targets are other nodes */
		BASE SVC("{ port = 80; protocol = \"tcp\"; targets = ( \"t1\" );\n"
			 "  handoff = { rules = ( { host = \"a\"; targets = ( \"t2\" ); } ); }; },\n"
			 "{ port = 81; protocol = \"tcp\"; targets = ( \"d1\", \"t1\" ); }\n"),
		/* tls with host rules; the handoff keys at their limits */
		BASE SVC("{ port = 443; protocol = \"tcp\"; targets = ( \"t1\" );\n"
			 "  handoff = { protocol = \"tls\"; timeout_ms = 100; request_timeout_ms = "
			 "600000; max_request = 65536;\n"
			 "    rules = ( { host = \"a\"; targets = ( \"t2\" ); } ); }; }\n"),
		/* limits */
		BASE "daemon = { workers = 1024; queue = 64512; };\n"
		SVC("{ port = 65535; protocol = \"sctp\"; target_port = 1;\n"
		    "  targets = ( { node = \"t1\"; weight = 256; }, { node = \"t2\"; weight ="
		    " 1; } ); }\n"),
	};
	char path[64], err[CFG_ERR_MAX];
	struct cfg *c;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		write_tmp(path, sizeof(path), ok[i]);
		c = cfg_load(path, "d1", err, sizeof(err));
		unlink(path);
		if (!c)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(c->self, 0);
		cfg_free(c);
	}
}

/* metrics.listen: IPv4 and bracketed IPv6, any port 1-65535 (a low port is
 * refused when bound, not here); absent: port 0. */
static void test_metrics(void **state)
{
	static const struct {
		const char *listen, *addr;
		uint16_t port;
	} ok[] = {
		{ "10.0.0.1:9677", "10.0.0.1", 9677 },
		{ "[fd00::1]:9677", "fd00::1", 9677 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "[::]:65535", "::", 65535 },
	};
	char path[64], err[CFG_ERR_MAX], text[2048];
	struct cfg *c;

	(void)state;
	write_tmp(path, sizeof(path), BASE);
	c = cfg_load(path, "d1", err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->metrics_port, 0);
	cfg_free(c);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "%smetrics = { listen = \"%s\"; };\n", BASE,
			 ok[i].listen);
		write_tmp(path, sizeof(path), text);
		c = cfg_load(path, "d1", err, sizeof(err));
		unlink(path);
		if (!c)
			fail_msg("%s: %s", ok[i].listen, err);
		assert_int_equal(c->metrics_port, ok[i].port);
		assert_addr(&c->metrics_addr, ok[i].addr);
		cfg_free(c);
	}
}

/* alternate_address: loaded into cfg_vipa.alt/has_alt; absent leaves has_alt
 * false; accepted without an SCTP service too (it then serves nothing). */
static void test_alternate_address(void **state)
{
	static const char v4[] = BASE "vipas = (\n"
		" { address = \"10.0.0.100\"; interface = \"lan0\"; alternate_address = "
		"\"10.0.0.101\";\n"
		"   distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
		"   services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t1\", \"t2\" ); },\n"
		"                { port = 80; protocol = \"tcp\"; targets = ( \"t1\" ); } ); },\n"
		" { address = \"10.0.0.102\"; interface = \"lan0\";\n"
		"   distributors = ( { node = \"d2\"; } );\n"
		"   services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"t2\" );\n"
		"                  target_port = 3869; } ); },\n"
		" { address = \"10.0.0.103\"; interface = \"lan0\"; alternate_address = "
		"\"10.0.0.104\";\n"
		"   distributors = ( { node = \"d2\"; }, { node = \"d1\"; } );\n"
		"   services = ( { port = 81; protocol = \"tcp\"; targets = ( \"t1\" );\n"
		"                  target_port = 81; } ); } );\n";
	static const char v6[] = CLUSTER "nodes = (\n"
		"  { name = \"d1\"; addresses = ( { ip = \"2001:db8::11\"; } ); },\n"
		"  { name = \"d2\"; addresses = ( { ip = \"2001:db8::12\"; } ); } );\n"
		"vipas = ( { address = \"2001:db8::100\"; interface = \"lan0\";\n"
		"  alternate_address = \"2001:db8:1::100\";\n"
		"  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
		"  services = ( { port = 3868; protocol = \"sctp\"; targets = ( \"d2\" ); } ); } );\n";
	char path[64], err[CFG_ERR_MAX];
	struct cfg *c;

	write_tmp(path, sizeof(path), v4);
	c = cfg_load(path, "d1", err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("v4: %s", err);
	assert_int_equal(c->n_vipas, 3);
	assert_true(c->vipas[0].has_alt);
	assert_addr(&c->vipas[0].alt, "10.0.0.101");
	assert_addr(&c->vipas[0].addr, "10.0.0.100");
	assert_int_equal(c->vipas[0].n_dists, 2);
	assert_false(c->vipas[1].has_alt);
	assert_int_equal(c->vipas[1].alt.family, 0);
	assert_true(c->vipas[2].has_alt);	/* no SCTP service: accepted */
	assert_addr(&c->vipas[2].alt, "10.0.0.104");
	cfg_free(c);

	write_tmp(path, sizeof(path), v6);
	c = cfg_load(path, "d1", err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("v6: %s", err);
	assert_true(c->vipas[0].has_alt);
	assert_addr(&c->vipas[0].alt, "2001:db8:1::100");
	cfg_free(c);
}

static void test_names(void **state)
{
	assert_string_equal(cfg_proto_name(IPPROTO_TCP), "tcp");
	assert_string_equal(cfg_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(cfg_proto_name(IPPROTO_SCTP), "sctp");
	assert_string_equal(cfg_proto_name(IPPROTO_ICMP), "?");
	assert_string_equal(cfg_sched_name(SCHED_MAGLEV), "maglev");
	assert_string_equal(cfg_sched_name(SCHED_ROUND_ROBIN), "round-robin");
	assert_string_equal(cfg_sched_name(SCHED_LEAST_CONN), "least-conn");
}

static void test_small_errbuf(void **state)
{
	char path[64], err[8];

	write_tmp(path, sizeof(path), CLUSTER);
	memset(err, 'x', sizeof(err));
	assert_null(cfg_load(path, NULL, err, sizeof(err)));
	assert_null(cfg_load(path, NULL, NULL, 0));
	unlink(path);
	assert_memory_equal(err, path, 7);
	assert_int_equal(err[7], '\0');
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_design_handoff),
		cmocka_unit_test(test_handoff_keys),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_node_selection),
		cmocka_unit_test(test_node_override_bad),
		cmocka_unit_test(test_default_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_alternate_address),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_small_errbuf),
	};
	enum { NF = sizeof(fixed) / sizeof(fixed[0]), NR = sizeof(rcases) / sizeof(rcases[0]) };
	struct CMUnitTest tests[NF + NR];
	size_t i;

	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < NR; i++) {
		memset(&tests[NF + i], 0, sizeof(tests[0]));
		tests[NF + i].name = rcases[i].name;
		tests[NF + i].test_func = run_refusal;
		tests[NF + i].initial_state = (void *)&rcases[i];
	}
	return _cmocka_run_group_tests("config", tests, NF + NR, NULL, NULL);
}
