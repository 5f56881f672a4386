/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nl_tool: a tiny driver for daemon/vipaddr.c and daemon/listen.c, used by
 * t_nl.sh inside a scratch network namespace.
 *
 *   nl_tool add|del|present|announce IFNAME ADDR
 *   nl_tool listen tcp4:PORT|tcp6:PORT|udp4:PORT|udp6:PORT|sctp4:PORT|sctp6:PORT ...
 *   nl_tool conns tcp4:PORT|tcp6:PORT|udp4:PORT|udp6:PORT [MAX]
 *
 * present exits 0 when the address is there, 1 when not.  listen prints
 * "SPEC 0|1" per query, from one listen_scan() call, or "SPEC ? -ERRNO" for a
 * query the kernel did not answer.  conns prints one line
 * "4|6 LOCAL LPORT REMOTE RPORT STATE" per connection listen_conns() reports,
 * then "count N" (its return value); with MAX the callback stops the walk
 * after MAX connections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "daemon/listen.h"
#include "daemon/vipaddr.h"

/* The sanitizer runtimes read these before UBSAN_OPTIONS and ASAN_OPTIONS (which still override
 * them).  t_nl.sh builds this tool with -fsanitize=undefined, which prints an error and goes
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

static int usage(void)
{
	fprintf(stderr, "usage: nl_tool add|del|present|announce IFNAME ADDR\n"
			"       nl_tool listen {tcp,udp,sctp}{4,6}:PORT ...\n"
			"       nl_tool conns {tcp,udp}{4,6}:PORT [MAX]\n");
	return 2;
}

static int parse_spec(const char *s, struct listen_query *q)
{
	char *end;
	unsigned long port;

	if (!strncmp(s, "sctp", 4)) {
		q->proto = IPPROTO_SCTP;
		s += 4;
	} else if (!strncmp(s, "tcp", 3) || !strncmp(s, "udp", 3)) {
		q->proto = s[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		s += 3;
	} else {
		return -1;
	}
	/* then "4:PORT" or "6:PORT" */
	if (strlen(s) < 3 || s[1] != ':')
		return -1;
	if (s[0] == '4')
		q->family = AF_INET;
	else if (s[0] == '6')
		q->family = AF_INET6;
	else
		return -1;
	errno = 0;
	port = strtoul(s + 2, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return -1;
	q->port = (uint16_t)port;
	return 0;
}

static int do_listen(int argc, char **argv)
{
	struct listen_query *q;
	char err[256] = "";
	struct listen_answer *res;
	int i, n = argc - 2, ret;

	if (n < 1)
		return usage();
	q = calloc((size_t)n, sizeof(*q));
	res = calloc((size_t)n, sizeof(*res));
	if (!q || !res) {
		free(q);
		free(res);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (parse_spec(argv[i + 2], &q[i]) < 0) {
			fprintf(stderr, "nl_tool: bad query %s\n", argv[i + 2]);
			free(q);
			free(res);
			return 2;
		}
	}
	ret = listen_scan(q, (size_t)n, res, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "nl_tool: %s (%d)\n", err, ret);
	else
		for (i = 0; i < n; i++)
			if (res[i].err)
				printf("%s ? %d\n", argv[i + 2], res[i].err);
			else
				printf("%s %d\n", argv[i + 2], res[i].listening);
	free(q);
	free(res);
	return ret < 0;
}

struct conns_arg {
	unsigned long seen, max;	/* max 0: no limit */
};

static int print_conn(const struct listen_conn *c, void *arg)
{
	struct conns_arg *a = arg;
	char l[ADDR_STRLEN], r[ADDR_STRLEN];

	printf("%c %s %u %s %u %u\n", c->family == AF_INET ? '4' : '6',
	       addr_fmt(&c->local, l, sizeof(l)), c->lport,
	       addr_fmt(&c->remote, r, sizeof(r)), c->rport, c->tcp_state);
	a->seen++;
	return a->max && a->seen >= a->max;
}

static int do_conns(int argc, char **argv)
{
	struct conns_arg a = { 0, 0 };
	struct listen_query q;
	char err[256] = "", *end;
	int ret;

	if (argc < 3 || argc > 4 || parse_spec(argv[2], &q) < 0)
		return usage();
	if (argc == 4) {
		errno = 0;
		a.max = strtoul(argv[3], &end, 10);
		if (errno || *end || a.max == 0)
			return usage();
	}
	ret = listen_conns(q.family, q.proto, q.port, print_conn, &a, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "nl_tool: %s (%d)\n", err, ret);
		return 1;
	}
	if ((unsigned long)ret != a.seen) {
		fprintf(stderr, "nl_tool: listen_conns returned %d, callback saw %lu\n",
			ret, a.seen);
		return 1;
	}
	printf("count %d\n", ret);
	return 0;
}

int main(int argc, char **argv)
{
	struct ip_addr a;
	char err[256] = "";
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "listen"))
		return do_listen(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "conns"))
		return do_conns(argc, argv);
	if (argc != 4)
		return usage();
	if (!addr_parse(&a, argv[3])) {
		fprintf(stderr, "nl_tool: bad address %s\n", argv[3]);
		return 2;
	}
	if (!strcmp(argv[1], "present"))
		return vipaddr_present(argv[2], &a) ? 0 : 1;
	if (!strcmp(argv[1], "add"))
		ret = vipaddr_add(argv[2], &a, err, sizeof(err));
	else if (!strcmp(argv[1], "del"))
		ret = vipaddr_del(argv[2], &a, err, sizeof(err));
	else if (!strcmp(argv[1], "announce"))
		ret = vipaddr_announce(argv[2], &a, err, sizeof(err));
	else
		return usage();
	if (ret < 0) {
		fprintf(stderr, "nl_tool: %s (%d)\n", err, ret);
		return 1;
	}
	return 0;
}
