/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rr: a 1-byte request/response latency probe for the benchmarks (bench/README.md).
 *
 *   rr server PORT [-b ADDR]
 *   rr client ADDR PORT -n N [-w WARMUP] [-T TIMEOUT_MS]
 *
 * The server accepts TCP connections (IPv6 and IPv4 on one socket when the host has IPv6,
 * else IPv4 only; -b binds one address) and echoes every byte it reads, with TCP_NODELAY,
 * until SIGTERM or SIGINT.  It serves many connections from one poll loop.
 *
 * The client opens one connection (TCP_NODELAY), does WARMUP round trips unmeasured (default
 * 100), then N measured ones: send 1 byte, wait for 1 byte, CLOCK_MONOTONIC around each.  It
 * prints one line
 *   n=N median_us=M p90_us=P p99_us=Q max_us=X min_us=Y mean_us=Z
 * (percentiles by nearest rank over the sorted samples, microseconds with one decimal) and
 * exits 0; on any error (connect, a round trip longer than TIMEOUT_MS, default 5000, the
 * peer closing) it says what failed on stderr and exits 1.  Usage errors exit 2. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define RR_MAX_N 10000000L	/* 10^7 samples: 80 MB of doubles at most */
#define RR_MAX_CONNS 1024	/* server: connections served at once, the rest are closed */

static volatile sig_atomic_t rr_stop;

static void rr_on_signal(int sig)
{
	(void)sig;
	rr_stop = 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: rr server PORT [-b ADDR]\n"
		"       rr client ADDR PORT -n N [-w WARMUP] [-T TIMEOUT_MS]\n");
	return 2;
}

/* rr_num: a decimal in [lo, hi]; -1 (and a message naming WHAT) otherwise. */
static long rr_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "rr: %s: '%s' is not a number from %ld to %ld\n", what, s, lo, hi);
		return -1;
	}
	return v;
}

static void rr_nodelay(int fd)
{
	int one = 1;

	/* a failure only costs latency, which the figures then show */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		fprintf(stderr, "rr: TCP_NODELAY: %s\n", strerror(errno));
}

/* ------------------------------------------------------------------ server */

/* rr_listen: a listening socket on PORT (ADDR, or every address of both families); -1 and a
 * message on failure. */
static int rr_listen(const char *addr, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, one = 1, zero = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* without an address: IPv6 first, as a dual-stack socket serves both families */
	hints.ai_family = addr ? AF_UNSPEC : AF_INET6;
	rc = getaddrinfo(addr, port, &hints, &res);
	if (rc && !addr) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(addr, port, &hints, &res);
	}
	if (rc) {
		fprintf(stderr, "rr: %s port %s: %s\n", addr ? addr : "any", port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0 && !addr && ai->ai_family == AF_INET6 && errno == EAFNOSUPPORT) {
			/* a host without IPv6: listen on IPv4 alone */
			freeaddrinfo(res);
			hints.ai_family = AF_INET;
			if ((rc = getaddrinfo(NULL, port, &hints, &res))) {
				fprintf(stderr, "rr: port %s: %s\n", port, gai_strerror(rc));
				return -1;
			}
			ai = res;
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		}
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !addr)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		fprintf(stderr, "rr: bind/listen %s port %s: %s\n", addr ? addr : "any", port,
			strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "rr: no socket to listen on port %s\n", port);
	return fd;
}

static int rr_server(int argc, char **argv)
{
	struct pollfd pfd[RR_MAX_CONNS + 1];
	const char *addr = NULL;
	struct sigaction sa;
	int nfd = 1, i, lfd;
	char buf[4096];

	if (argc < 3)
		return usage();
	if (rr_num(argv[2], 1, 65535, "PORT") < 0)
		return 2;
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-b") && i + 1 < argc)
			addr = argv[++i];
		else
			return usage();
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rr_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = rr_listen(addr, argv[2]);
	if (lfd < 0)
		return 1;
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	while (!rr_stop) {
		int n = poll(pfd, nfd, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "rr: poll: %s\n", strerror(errno));
			break;
		}
		/* connections first: slot 0's accept may append one, served from the next poll */
		for (i = 1; i < nfd; i++) {
			ssize_t r, w = 0, off = 0;

			if (!pfd[i].revents)
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			/* echo all of it: a request is 1 byte, but the peer may have sent several */
			while (r > 0 && off < r) {
				w = write(pfd[i].fd, buf + off, (size_t)(r - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				off += w;
			}
			if (r <= 0 || w < 0) {
				/* closed, reset or broken: drop it, the last slot takes its place */
				close(pfd[i].fd);
				pfd[i] = pfd[--nfd];
				i--;
			}
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c < 0) {
				if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
					fprintf(stderr, "rr: accept: %s\n", strerror(errno));
			} else if (nfd > RR_MAX_CONNS) {
				fprintf(stderr, "rr: more than %d connections: closing one\n",
					RR_MAX_CONNS);
				close(c);
			} else {
				rr_nodelay(c);
				pfd[nfd].fd = c;
				pfd[nfd].events = POLLIN;
				pfd[nfd].revents = 0;
				nfd++;
			}
		}
	}
	for (i = 0; i < nfd; i++)
		close(pfd[i].fd);
	return 0;
}

/* ------------------------------------------------------------------ client */

static double rr_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* rr_connect: a connected, blocking socket to ADDR PORT; -1 and a message on failure. */
static int rr_connect(const char *addr, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(addr, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "rr: %s port %s: %s\n", addr, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "rr: connect %s port %s: %s\n", addr, port, strerror(err));
	return fd;
}

/* rr_round: one round trip on FD: 1 byte out, 1 byte back within TIMEOUT_MS.  Returns the
 * microseconds it took, or -1 with a message. */
static double rr_round(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 'r';
	double t0 = rr_now_us(), left;
	ssize_t r;

	for (;;) {
		r = write(fd, &c, 1);
		if (r == 1)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		fprintf(stderr, "rr: send: %s\n", r < 0 ? strerror(errno) : "nothing sent");
		return -1;
	}
	for (;;) {
		left = timeout_ms - (rr_now_us() - t0) / 1000.0;
		if (left <= 0) {
			fprintf(stderr, "rr: no answer within %d ms\n", timeout_ms);
			return -1;
		}
		/* blocking in poll, not read: the timeout bounds every round trip */
		r = poll(&p, 1, (int)left + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "rr: poll: %s\n", strerror(errno));
			return -1;
		}
		if (r == 0)
			continue;
		r = read(fd, &c, 1);
		if (r == 1)
			return rr_now_us() - t0;
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		fprintf(stderr, "rr: receive: %s\n", r < 0 ? strerror(errno) : "connection closed");
		return -1;
	}
}

static int rr_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* rr_pct: the nearest-rank P-th percentile of the N sorted samples S. */
static double rr_pct(const double *s, long n, double p)
{
	long k = (long)((p / 100.0) * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return s[k - 1];
}

static int rr_client(int argc, char **argv)
{
	long n = 0, warm = 100, to = 5000, i, v;
	double *s, sum = 0, d;
	int fd, ok = 1;

	if (argc < 4)
		return usage();
	if (rr_num(argv[3], 1, 65535, "PORT") < 0)
		return 2;
	for (i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "-n"))
			v = n = rr_num(argv[++i], 1, RR_MAX_N, "-n");
		else if (!strcmp(argv[i], "-w"))
			v = warm = rr_num(argv[++i], 0, RR_MAX_N, "-w");
		else if (!strcmp(argv[i], "-T"))
			v = to = rr_num(argv[++i], 1, 600000, "-T");
		else
			return usage();
		if (v < 0)
			return 2;
	}
	if (n < 1) {
		fprintf(stderr, "rr: client needs -n N\n");
		return usage();
	}
	signal(SIGPIPE, SIG_IGN);
	s = malloc(sizeof(*s) * (size_t)n);
	if (!s) {
		fprintf(stderr, "rr: no memory for %ld samples\n", n);
		return 1;
	}
	fd = rr_connect(argv[2], argv[3]);
	if (fd < 0) {
		free(s);
		return 1;
	}
	rr_nodelay(fd);
	for (i = 0; i < warm && ok; i++) {
		ok = rr_round(fd, (int)to) >= 0;
		if (!ok)
			fprintf(stderr, "rr: warm-up round trip %ld of %ld failed\n", i + 1, warm);
	}
	for (i = 0; i < n && ok; i++) {
		d = rr_round(fd, (int)to);
		if (d < 0) {
			fprintf(stderr, "rr: round trip %ld of %ld failed\n", i + 1, n);
			ok = 0;
			break;
		}
		s[i] = d;
		sum += d;
	}
	close(fd);
	if (!ok) {
		free(s);
		return 1;
	}
	qsort(s, (size_t)n, sizeof(*s), rr_cmp);
	printf("n=%ld median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f min_us=%.1f "
	       "mean_us=%.1f\n", n, rr_pct(s, n, 50), rr_pct(s, n, 90), rr_pct(s, n, 99),
	       s[n - 1], s[0], sum / (double)n);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return rr_server(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return rr_client(argc, argv);
	return usage();
}
