/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rules_tool: drives rules/ against the kernel for tests/netns/t_rules.sh.
 *
 *   rules_tool probe
 *   rules_tool print   NODE WORKERS QBASE
 *   rules_tool install NODE WORKERS QBASE [auto|native|compat]
 *   rules_tool remove
 *   rules_tool counters     (the fast path's: "packets P bytes B rules R" for
 *                            the target's rewrites, then "dist packets P bytes
 *                            B rules R" for the distributor's fast rules)
 *
 * RULES_FASTPATH=1 in the environment sets rules_opts.fastpath (print and
 * install): the targets' TCP and UDP replies get the static rewrite.
 * RULES_FASTPATH_DIST=1 sets rules_opts.fastpath_dist (print and install):
 * the distributors' maps and fast rules, TCP timeout 900 s, UDP 30 s, maps
 * of size 65536.
 *
 * It reads no file: the configuration is the fixed one below (etc's example
 * with handoff on tcp 80 and alternate_address 10.2.0.101, plus an IPv6 VIPA
 * distributed by d1 and d2, with alternate_address fd00::101, where d1 is
 * both distributor and target; and for the distributors' fast path a plain
 * tcp 8000 -> 8001 on the v4 VIPA (t2 only) and udp 53 -> 5353 on the v6
 * VIPA (d2 only), so that both families and protocols have a fast rule), so
 * the test does not depend on the parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "rules/nft.h"
#include "rules/rules.h"

/* The sanitizer runtimes read these before UBSAN_OPTIONS and ASAN_OPTIONS (which still override
 * them).  t_rules.sh builds this tool with -fsanitize=undefined, which prints an error and goes
 * on unless told to halt: a test's tool must stop at the first one, with a failing status. */
const char *__ubsan_default_options(void);
const char *__asan_default_options(void);

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

const char *__asan_default_options(void)
{
	return "halt_on_error=1:detect_leaks=1";
}

enum { D1, D2, T1, T2, N_NODES };

static struct cfg_addr a_d1[3], a_d2[2], a_t1[2], a_t2[1];
static struct cfg_node nodes[N_NODES];
static struct cfg_target tg_t1t2[2] = { { T1, 1 }, { T2, 1 } };
static struct cfg_target tg_t2[1] = { { T2, 1 } };
static struct cfg_target tg_t1d1[2] = { { T1, 1 }, { D1, 1 } };
static struct cfg_target tg_d2[1] = { { D2, 1 } };
static struct cfg_distributor dists4[2] = {
	{ D1, NULL, 0 },
	{ D2, tg_t2, 1 },
};
static struct cfg_distributor dists6[2] = { { D1, NULL, 0 }, { D2, NULL, 0 } };
static struct cfg_service svcs4[4], svcs6[3];
static struct cfg_vipa vipas[2];
static struct cfg cfg;

static void
set_addr(struct cfg_addr *a, const char *s)
{
	if (!addr_parse(&a->ip, s)) {
		fprintf(stderr, "bad address %s\n", s);
		exit(2);
	}
}

static void
set_svc(struct cfg_service *s, uint16_t port, uint8_t proto, uint16_t tport,
	struct cfg_target *t, size_t n)
{
	s->port = port;
	s->proto = proto;
	s->target_port = tport;
	s->targets = t;
	s->n_targets = n;
}

static void
build_cfg(void)
{
	set_addr(&a_d1[0], "10.2.0.11");
	set_addr(&a_d1[1], "10.3.0.11");
	set_addr(&a_d1[2], "fd00::11");
	set_addr(&a_d2[0], "10.2.0.12");
	set_addr(&a_d2[1], "fd00::12");
	set_addr(&a_t1[0], "10.2.0.21");
	set_addr(&a_t1[1], "fd00::21");
	set_addr(&a_t2[0], "10.2.0.22");
	snprintf(nodes[D1].name, CFG_NAME_MAX, "d1");
	nodes[D1].addrs = a_d1;
	nodes[D1].n_addrs = 3;
	snprintf(nodes[D2].name, CFG_NAME_MAX, "d2");
	nodes[D2].addrs = a_d2;
	nodes[D2].n_addrs = 2;
	snprintf(nodes[T1].name, CFG_NAME_MAX, "t1");
	nodes[T1].addrs = a_t1;
	nodes[T1].n_addrs = 2;
	snprintf(nodes[T2].name, CFG_NAME_MAX, "t2");
	nodes[T2].addrs = a_t2;
	nodes[T2].n_addrs = 1;

	set_svc(&svcs4[0], 80, IPPROTO_TCP, 8080, tg_t1t2, 2);
	svcs4[0].handoff = true;	/* t1, t2: the inject mark rule first in output */
	set_svc(&svcs4[1], 53, IPPROTO_UDP, 53, tg_t1t2, 2);
	set_svc(&svcs4[2], 3868, IPPROTO_SCTP, 3868, tg_t1d1, 2);
	set_svc(&svcs4[3], 8000, IPPROTO_TCP, 8001, tg_t2, 1);
	addr_parse(&vipas[0].addr, "10.2.0.100");
	/* SCTP to it is queued by d1 and d2 like to the VIPA, to one queue */
	addr_parse(&vipas[0].alt, "10.2.0.101");
	vipas[0].has_alt = true;
	vipas[0].dists = dists4;
	vipas[0].n_dists = 2;
	vipas[0].svcs = svcs4;
	vipas[0].n_svcs = 4;

	set_svc(&svcs6[0], 443, IPPROTO_TCP, 8443, tg_t1d1, 2);
	set_svc(&svcs6[1], 3868, IPPROTO_SCTP, 3868, tg_t1d1, 2);
	set_svc(&svcs6[2], 53, IPPROTO_UDP, 5353, tg_d2, 1);
	addr_parse(&vipas[1].addr, "fd00::100");
	addr_parse(&vipas[1].alt, "fd00::101");
	vipas[1].has_alt = true;
	vipas[1].dists = dists6;
	vipas[1].n_dists = 2;
	vipas[1].svcs = svcs6;
	vipas[1].n_svcs = 3;

	cfg.nodes = nodes;
	cfg.n_nodes = N_NODES;
	cfg.vipas = vipas;
	cfg.n_vipas = 2;
}

static long
node_index(const char *name)
{
	size_t i;

	for (i = 0; i < cfg.n_nodes; i++)
		if (strcmp(cfg.nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: rules_tool probe | remove | print NODE W QBASE |"
		" install NODE W QBASE [auto|native|compat] | counters\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct rules_opts o = { 0 };
	char err[512] = "";
	struct rules *r;
	bool native = false;
	int ret;

	build_cfg();
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "probe") == 0) {
		ret = rules_nft_probe(&native, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "probe: %s\n", err);
			return 1;
		}
		printf("%s\n", native ? "native" : "compat");
		return 0;
	}
	if (strcmp(argv[1], "remove") == 0) {
		ret = rules_nft_remove(err, sizeof(err));
		if (ret)
			fprintf(stderr, "%s\n", err);
		return ret ? 1 : 0;
	}
	if (strcmp(argv[1], "counters") == 0) {
		struct rules_nft_fastpath fp;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = rules_nft_fastpath_read(&fp, RULES_NFT_FP_TARGET | RULES_NFT_FP_DIST, err,
					      sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ret) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("packets %llu bytes %llu rules %u\n", (unsigned long long)fp.packets,
		       (unsigned long long)fp.bytes, fp.rules);
		printf("dist packets %llu bytes %llu rules %u\n",
		       (unsigned long long)fp.dist_packets, (unsigned long long)fp.dist_bytes,
		       fp.dist_rules);
		fprintf(stderr, "dump took %ld us\n",
			(long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
		return 0;
	}
	if (argc < 5)
		return usage();
	o.fastpath = getenv("RULES_FASTPATH") && strcmp(getenv("RULES_FASTPATH"), "1") == 0;
	if (getenv("RULES_FASTPATH_DIST") && strcmp(getenv("RULES_FASTPATH_DIST"), "1") == 0) {
		o.fastpath_dist = true;
		o.fp_tcp_timeout_ms = 900000;
		o.fp_udp_timeout_ms = 30000;
		o.fp_map_size = 65536;
	}
	o.workers = (unsigned)strtoul(argv[3], NULL, 10);
	o.queue_base = (uint16_t)strtoul(argv[4], NULL, 10);
	if (strcmp(argv[1], "install") == 0) {
		const char *mode = argc > 5 ? argv[5] : "auto";

		if (strcmp(mode, "auto") == 0) {
			ret = rules_nft_probe(&native, err, sizeof(err));
			if (ret) {
				fprintf(stderr, "probe: %s\n", err);
				return 1;
			}
		} else {
			native = strcmp(mode, "native") == 0;
		}
	}
	o.native_queue = native;
	r = rules_build(&cfg, node_index(argv[2]), &o);
	if (r == NULL) {
		fprintf(stderr, "rules_build failed\n");
		return 1;
	}
	if (strcmp(argv[1], "print") == 0) {
		char *s = rules_render(r);

		ret = s == NULL;
		if (s != NULL)
			fputs(s, stdout);
		free(s);
	} else if (strcmp(argv[1], "install") == 0) {
		ret = rules_nft_install(r, err, sizeof(err));
		if (ret)
			fprintf(stderr, "%s\n", err);
	} else {
		ret = usage();
	}
	rules_free(r);
	return ret ? 1 : 0;
}
