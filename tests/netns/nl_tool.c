/* nl_tool: a tiny driver for daemon/vipaddr.c and daemon/listen.c, used by
 * t_nl.sh inside a scratch network namespace.
 *
 *   nl_tool add|del|present|announce IFNAME ADDR
 *   nl_tool listen tcp4:PORT|tcp6:PORT|udp4:PORT|udp6:PORT ...
 *
 * present exits 0 when the address is there, 1 when not.  listen prints
 * "SPEC 0|1" per query, from one listen_scan() call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "daemon/listen.h"
#include "daemon/vipaddr.h"

static int usage(void)
{
	fprintf(stderr, "usage: nl_tool add|del|present|announce IFNAME ADDR\n"
			"       nl_tool listen {tcp,udp}{4,6}:PORT ...\n");
	return 2;
}

static int parse_spec(const char *s, struct listen_query *q)
{
	char *end;
	unsigned long port;

	if (strlen(s) < 6 || s[4] != ':')
		return -1;
	if (!strncmp(s, "tcp", 3))
		q->proto = IPPROTO_TCP;
	else if (!strncmp(s, "udp", 3))
		q->proto = IPPROTO_UDP;
	else
		return -1;
	if (s[3] == '4')
		q->family = AF_INET;
	else if (s[3] == '6')
		q->family = AF_INET6;
	else
		return -1;
	errno = 0;
	port = strtoul(s + 5, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return -1;
	q->port = (uint16_t)port;
	return 0;
}

static int do_listen(int argc, char **argv)
{
	struct listen_query *q;
	char err[256] = "";
	bool *res;
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
			printf("%s %d\n", argv[i + 2], res[i]);
	free(q);
	free(res);
	return ret < 0;
}

int main(int argc, char **argv)
{
	struct ip_addr a;
	char err[256] = "";
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "listen"))
		return do_listen(argc, argv);
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
