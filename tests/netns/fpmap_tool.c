/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpmap_tool: drives rules/fpmap.c against the kernel for
 * tests/netns/t_fpmap.sh (run it inside a network namespace).
 *
 *   fpmap_tool probe          prints 1 (DESTROYSETELEM known) or 0
 *   fpmap_tool name FAMILY PROTO VIPA VPORT
 *   fpmap_tool add FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT TARGET TIMEOUT_MS PER_FLUSH
 *   fpmap_tool del FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT PER_FLUSH
 *   fpmap_tool mix FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT TARGET TIMEOUT_MS
 *   fpmap_tool get FAMILY PROTO VIPA VPORT CLIENT CPORT
 *   fpmap_tool script MAX_PENDING     (commands from stdin, see below)
 *
 * FAMILY is 4 or 6, PROTO tcp or udp.  add and del cover COUNT flows: the
 * client CLIENT with ports CPORT0, CPORT0 + 1, ... (wrapping into the next
 * address after port 65535), PER_FLUSH changes per fpmap_flush().  mix
 * queues, in ONE flush, a removal and an add for each of COUNT flows
 * (removal of flow i, then add of flow i): how a flow changes its target,
 * and removals of absent flows must not refuse the batch.  TIMEOUT_MS 0:
 * the map's timeout.
 *
 * add, del and mix print one line of figures and the stats:
 *   op add n 10000 flushes 40 us 6123 us_per_elem 0.61
 *   stats adds 10000 dels 0 batches 40 batch_errors 0 send_errors 0 gets 0 get_errors 0 last_error 0
 * get prints "present EXPIRES_MS" or "absent", then the stats.  As
 * commands of their own, add, del and mix end with fpmap_poll(), so the
 * stats include the refusal of their last batch.
 *
 * script: one instance for all the lines of stdin, each one of the commands
 * add, del, mix, get (words as above, without "fpmap_tool") or "poll"
 * (fpmap_poll(), prints "poll N" and the stats).  There add, del and mix do
 * NOT poll at the end: a refusal is counted by whatever reads next (the next
 * flush, get or poll), as it is in the daemon.
 *
 * Exit status: 0, 1 on a usage or setup error, 2 when get failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "rules/fpmap.h"
#include "rules/nft.h"

/* The sanitizer runtimes read these before UBSAN_OPTIONS and ASAN_OPTIONS
 * (which still override them): a test's tool stops at the first report. */
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

static void
usage(void)
{
	fprintf(stderr,
		"usage: fpmap_tool probe\n"
		"       fpmap_tool name FAMILY PROTO VIPA VPORT\n"
		"       fpmap_tool add FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT TARGET TIMEOUT_MS PER_FLUSH\n"
		"       fpmap_tool del FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT PER_FLUSH\n"
		"       fpmap_tool mix FAMILY PROTO VIPA VPORT CLIENT CPORT0 COUNT TARGET TIMEOUT_MS\n"
		"       fpmap_tool get FAMILY PROTO VIPA VPORT CLIENT CPORT\n"
		"       fpmap_tool script MAX_PENDING   (commands from stdin)\n");
	exit(1);
}

static unsigned long
num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "fpmap_tool: bad number '%s' (0..%lu)\n", s, max);
		exit(1);
	}
	return v;
}

static unsigned long
pos(unsigned long v)
{
	return v ? v : 1;
}

static void
parse_addr(struct ip_addr *a, const char *s, uint8_t family)
{
	if (!addr_parse(a, s) || a->family != family) {
		fprintf(stderr, "fpmap_tool: bad address '%s' for the family\n", s);
		exit(1);
	}
}

/* argv: FAMILY PROTO VIPA VPORT CLIENT CPORT */
static void
parse_key(struct fpmap_key *k, char **argv)
{
	memset(k, 0, sizeof(*k));
	if (strcmp(argv[0], "4") == 0)
		k->family = AF_INET;
	else if (strcmp(argv[0], "6") == 0)
		k->family = AF_INET6;
	else
		usage();
	if (strcmp(argv[1], "tcp") == 0)
		k->proto = IPPROTO_TCP;
	else if (strcmp(argv[1], "udp") == 0)
		k->proto = IPPROTO_UDP;
	else
		usage();
	parse_addr(&k->vaddr, argv[2], k->family);
	k->vport = (uint16_t)num(argv[3], 65535);
	parse_addr(&k->caddr, argv[4], k->family);
	k->cport = (uint16_t)num(argv[5], 65535);
}

/* The i-th flow after the base: ports first, then the address's last bytes. */
static void
nth_key(struct fpmap_key *k, const struct fpmap_key *base, unsigned long i)
{
	unsigned long p = base->cport + i;
	unsigned long carry = p / 65536;
	size_t n = addr_len(&base->caddr);
	int j;

	*k = *base;
	k->cport = (uint16_t)(p % 65536);
	for (j = (int)n - 1; j >= 0 && carry; j--) {
		unsigned long b = k->caddr.b[j] + carry;

		k->caddr.b[j] = (uint8_t)(b & 0xff);
		carry = b >> 8;
	}
}

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void
print_stats(const struct fpmap *m)
{
	const struct fpmap_stats *s = fpmap_stats(m);

	printf("stats adds %llu dels %llu batches %llu batch_errors %llu send_errors %llu "
	       "gets %llu get_errors %llu last_error %d\n",
	       (unsigned long long)s->adds, (unsigned long long)s->dels,
	       (unsigned long long)s->batches, (unsigned long long)s->batch_errors,
	       (unsigned long long)s->send_errors, (unsigned long long)s->gets,
	       (unsigned long long)s->get_errors, s->last_error);
}

static struct fpmap *
open_map(size_t per_flush)
{
	char err[256];
	struct fpmap *m = fpmap_open(per_flush, err, sizeof(err));

	if (m == NULL) {
		fprintf(stderr, "fpmap_tool: %s\n", err);
		exit(1);
	}
	return m;
}

static bool
flush_ok(struct fpmap *m)
{
	int r = fpmap_flush(m);

	if (r < 0) {
		fprintf(stderr, "fpmap_tool: flush: %s\n", strerror(-r));
		print_stats(m);
		return false;
	}
	return true;
}

/* add / del / mix over COUNT flows, PER_FLUSH changes per flush; poll: read
 * the answers after the last flush (else the next command's flush does). */
static int
run_changes(struct fpmap *m, const char *op, const struct fpmap_key *base, unsigned long count,
	    const struct ip_addr *target, uint32_t timeout_ms, unsigned long per_flush, bool poll)
{
	bool mix = strcmp(op, "mix") == 0, add = strcmp(op, "add") == 0;
	unsigned long i, flushes = 0;
	double t0, us;

	t0 = now_us();
	for (i = 0; i < count; i++) {
		struct fpmap_key k;
		int r;

		nth_key(&k, base, i);
		if (mix && (r = fpmap_del(m, &k)) < 0)
			goto bad;
		r = add || mix ? fpmap_add(m, &k, target, timeout_ms) : fpmap_del(m, &k);
		if (r < 0)
			goto bad;
		if (!mix && fpmap_pending(m) >= per_flush) {
			if (!flush_ok(m))
				return 1;
			flushes++;
		}
		continue;
bad:
		fprintf(stderr, "fpmap_tool: queueing flow %lu: %s\n", i, strerror(-r));
		return 1;
	}
	if (fpmap_pending(m) > 0) {
		if (!flush_ok(m))
			return 1;
		flushes++;
	}
	us = now_us() - t0;
	if (poll)
		fpmap_poll(m);
	printf("op %s n %lu flushes %lu us %.0f us_per_elem %.2f\n", op, count, flushes, us,
	       count ? us / (double)count : 0.0);
	print_stats(m);
	return 0;
}

/* One command on m; argv[0] is its name.  -1: not a command. */
static int
run_cmd(struct fpmap *m, int argc, char **argv, bool poll)
{
	struct fpmap_key k;
	struct ip_addr target;

	if (strcmp(argv[0], "add") == 0 && argc == 11) {
		parse_key(&k, argv + 1);
		parse_addr(&target, argv[8], k.family);
		return run_changes(m, "add", &k, num(argv[7], 1000000), &target,
				   (uint32_t)num(argv[9], UINT32_MAX), pos(num(argv[10], 1u << 20)),
				   poll);
	}
	if (strcmp(argv[0], "del") == 0 && argc == 9) {
		parse_key(&k, argv + 1);
		return run_changes(m, "del", &k, num(argv[7], 1000000), NULL, 0,
				   pos(num(argv[8], 1u << 20)), poll);
	}
	if (strcmp(argv[0], "mix") == 0 && argc == 10) {
		parse_key(&k, argv + 1);
		parse_addr(&target, argv[8], k.family);
		return run_changes(m, "mix", &k, pos(num(argv[7], 1u << 19)), &target,
				   (uint32_t)num(argv[9], UINT32_MAX), 0, poll);
	}
	if (strcmp(argv[0], "get") == 0 && argc == 7) {
		uint64_t exp;
		int r;

		parse_key(&k, argv + 1);
		r = fpmap_get(m, &k, &exp);
		if (r > 0)
			printf("present %llu\n", (unsigned long long)exp);
		else if (r == 0)
			printf("absent\n");
		else
			fprintf(stderr, "fpmap_tool: get: %s\n", strerror(-r));
		print_stats(m);
		return r < 0 ? 2 : 0;
	}
	if (strcmp(argv[0], "poll") == 0 && argc == 1) {
		printf("poll %d\n", fpmap_poll(m));
		print_stats(m);
		return 0;
	}
	return -1;
}

/* The changes a command queues before it flushes. */
static size_t
cmd_pending(int argc, char **argv)
{
	if (strcmp(argv[0], "add") == 0 && argc == 11)
		return pos(num(argv[10], 1u << 20));
	if (strcmp(argv[0], "del") == 0 && argc == 9)
		return pos(num(argv[8], 1u << 20));
	if (strcmp(argv[0], "mix") == 0 && argc == 10)
		return 2 * pos(num(argv[7], 1u << 19));
	return 1;
}

/* script MAX_PENDING: commands from stdin, one per line, on one instance. */
static int
run_script(size_t max_pending)
{
	struct fpmap *m = open_map(max_pending);
	char line[512];
	int ret = 0;

	while (ret == 0 && fgets(line, sizeof(line), stdin) != NULL) {
		char *av[16], *save = NULL, *w;
		int ac = 0;

		for (w = strtok_r(line, " \t\n", &save); w != NULL && ac < 16;
		     w = strtok_r(NULL, " \t\n", &save))
			av[ac++] = w;
		if (ac == 0 || av[0][0] == '#')
			continue;
		ret = run_cmd(m, ac, av, false);
		if (ret < 0) {
			fprintf(stderr, "fpmap_tool: script: bad command '%s'\n", av[0]);
			ret = 1;
		}
		fflush(stdout);
	}
	fpmap_close(m);
	return ret;
}

int main(int argc, char **argv)
{
	struct fpmap_key k;
	struct fpmap *m;
	char err[256];
	int r;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "probe") == 0 && argc == 2) {
		r = rules_nft_probe_destroy(err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "fpmap_tool: %s\n", err);
			return 1;
		}
		printf("%d\n", r);
		return 0;
	}
	if (strcmp(argv[1], "name") == 0 && argc == 6) {
		char name[FPMAP_NAME_MAX];
		char *a[6] = { argv[2], argv[3], argv[4], argv[5], argv[4], (char *)"0" };

		parse_key(&k, a);
		if (fpmap_name(name, sizeof(name), k.family, k.proto, &k.vaddr, k.vport) < 0)
			return 1;
		printf("%s\n", name);
		return 0;
	}
	if (strcmp(argv[1], "script") == 0 && argc == 3)
		return run_script(num(argv[2], 1u << 20));
	m = open_map(cmd_pending(argc - 1, argv + 1));
	r = run_cmd(m, argc - 1, argv + 1, true);
	fpmap_close(m);
	if (r < 0)
		usage();
	return r;
}
