/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sctp_peer: a small SCTP echo server and client on usrsctp (Debian libusrsctp-dev), for the
 * namespace tests of SCTP association failover (this machine's kernel has no SCTP).
 *
 *   sctp_peer server --bind ADDR[,ADDR2...] --port P [--timers LIST] [--nodelay]
 *   sctp_peer client --connect ADDR[,ADDR2...] --port P --count N --interval-ms M
 *                    [--bind ADDR[,...]] [--timeout-ms T] [--timers LIST]
 *                    [--local-port LP] [--abort] [--go-file PATH] [--nodelay]
 *   LIST: rto_min=MS,rto_max=MS,rto_initial=MS,hb_interval=MS,path_max_retrans=N,
 *         assoc_max_retrans=N (each optional; the others keep usrsctp's defaults)
 *
 * The client's local port is P unless --local-port LP says otherwise (several clients of one
 * namespace, each a usrsctp stack of its own, can then be told apart by port; LP needs --bind).
 * --abort: the client ends its association with an ABORT instead of a SHUTDOWN.
 * --nodelay: SCTP_NODELAY (no Nagle): without it, with usrsctp's delayed SACKs, one echo in ten
 * or so waits 100..200 ms, which would hide a failover's gap of the same size.
 * --go-file PATH: the client prints "ready" once its stack is up (blackhole set, see below) and
 * connects only when PATH exists (at most 120 s later, else it exits 2): a test starts
 * several clients, waits for every "ready", then lets them go, so that no client's stack is
 * still starting (the window before blackhole) while another client's packets fly.
 *
 * Every line it prints on stdout is one JSON object with an "event" member:
 *   timers   the values in force (read back from the socket or association)
 *   ready    (client, --go-file) the stack is up; waiting for PATH
 *   up       (client) the association is up: "paddrs" (usrsctp_getpaddrs), "laddrs", "lport"
 *   peer     (server) an association's first message: its "assoc" id, the client's "addr"
 *            and "port"
 *   close    (client) how it ended the association: "how" = "shutdown" or "abort"
 *   path     a peer address changed state (SCTP_PEER_ADDR_CHANGE): addr, state, t_ms
 *   assoc    SCTP_ASSOC_CHANGE (comm_up, comm_lost, restart, shutdown_comp, cant_start)
 *   shutdown the peer sent SHUTDOWN;  send_failed, remote_error: those notifications
 *   listening (server) bound and listening: port, addrs
 *   timeout  (client) message seq's echo did not come within --timeout-ms (it may still come)
 *   send_error (client), echo_failed (server): usrsctp_sendv failed, with errno
 *   summary  client: sent, echoed, lost, max_gap_ms, median_gap_ms, slow ([seq, sent t_ms,
 *            gap ms] of the first 16 messages whose echo took 100 ms or more), comm_lost, bad (echoes
 *            malformed, duplicated or on the wrong stream), paths (each peer address with its
 *            state, RTO and smoothed RTT); server: assocs, echoed, bad
 * t_ms counts from the program's start.  A message's gap is the time from its send to its
 * echo: the round trip normally, the stall when its path fails under it.  The client sends
 * message i+1 only after message i's echo (or its timeout) and M ms of pause; the message
 * text is "seq I" on stream I % 4, and the echo must come back on that stream.  The client
 * exits 0 when every message was echoed with no COMM_LOST, 1 otherwise, 2 on a usage or
 * setup error; the server runs until SIGTERM or SIGINT and exits 0.
 *
 * Caveats of usrsctp met here (see also DESIGN.md, "Facts about the machines"):
 * - Raw-IP mode: usrsctp_init(0, ...) sends and receives IP protocol 132 on raw sockets
 *   (needs root or CAP_NET_RAW).  The kernel hands every SCTP packet of the namespace to
 *   every raw socket, so every usrsctp process in a namespace sees every SCTP packet there.
 *   A process that finds no association for a packet would answer it with an ABORT ("out of
 *   the blue") and kill another process's association: both modes set sctp_blackhole=2 (no
 *   ABORT for any unknown packet).  blackhole is set right after usrsctp_init, which already
 *   started the receive threads: a packet arriving in between could still be answered.  An
 *   unknown SHUTDOWN-ACK is still answered by a SHUTDOWN-COMPLETE whatever blackhole says.
 * - Never the wildcard: a socket bound to the wildcard takes (and lists in its INIT or
 *   INIT-ACK) every address of the namespace, and would answer the INITs meant for another
 *   process's endpoint on the same port too (the peer then gets two INIT-ACKs).  Both modes
 *   bind exactly the addresses given (usrsctp_bindx); the client needs --bind when its
 *   namespace has several addresses.
 * - Local addresses are read once, at usrsctp_init: an address added later cannot be bound,
 *   and one the kernel removes stays in usrsctp's list (IPv6 addresses go when their link
 *   goes down unless net.ipv6.conf.*.keep_addr_on_down=1).
 * - An address on an interface whose name begins with "lo" counts as a loopback address: it
 *   is never the source towards another host, and an association bound to it alone never
 *   comes up (nothing is sent).  Put a client's own address on another interface (a veth
 *   whose peer stays in the namespace will do; this kernel has no dummy interfaces).
 * - No route lookup.  IPv4: the packet is built with IP_HDRINCL, its source an address the
 *   endpoint is bound to, picked without regard to the interface the kernel then routes it out
 *   of, so a multihomed endpoint's packets may leave one link with the other link's address as
 *   source: turn rp_filter off on the receiving side.  IPv6: usrsctp drops the header it built
 *   and the kernel picks the source by its own rules, whatever the endpoint is bound to: unless
 *   the routes say `src BOUND-ADDRESS`, packets leave with a source the endpoint is not bound
 *   to and the answers go there (a client's INIT-ACK never reaches its association, which
 *   does not come up).  The MTU is taken as 1500 on every path.
 * - With a receive callback, usrsctp_connect does not wait for the association: the client
 *   waits for COMM_UP (at most --timeout-ms).
 * - The kernel's sock_diag cannot see these sockets (no SCTP in the kernel).
 * - An ABORT with the M bit and a "missing state" cause (the SCTP NAT draft's, what clusterd
 *   sends for a packet it has no state for) does not end the association: usrsctp (AUTH on, its
 *   default) sends an ASCONF to re-create the state instead, and with Debian's libusrsctp
 *   0.9.5.0 the ASCONF ACK that answers it crashes the process (SEGV in
 *   sctp_handle_asconf_ack).  The tests treat any such ABORT from the cluster as the defect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <usrsctp.h>

/* Like nl_tool: a test's tool stops at its first sanitizer report, with a failing status. */
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

#define SP_MAX_ADDRS 8
#define SP_STREAMS 4
#define SP_MSG_MAX 64
#define SP_SLOW_MS 100.0  /* a message whose echo took this long is listed in "slow" */
#define SP_SLOW_MAX 16

/* --timers: 0 means "not given, keep the default". */
struct sp_timers {
	uint32_t rto_min, rto_max, rto_initial, hb_interval;
	uint32_t path_max_retrans, assoc_max_retrans;
};

struct sp_opts {
	int server;
	struct sockaddr_storage bind[SP_MAX_ADDRS];
	int nbind;
	struct sockaddr_storage conn[SP_MAX_ADDRS];
	int nconn;
	int family;
	uint16_t port;
	unsigned long count;
	unsigned long interval_ms;
	unsigned long timeout_ms;
	struct sp_timers timers;
	uint16_t local_port;      /* client: 0 = the same as port */
	int abort;                /* client: end with an ABORT */
	const char *go_file;      /* client: connect once this file exists */
	int nodelay;              /* SCTP_NODELAY */
};

/* What the receive callback (usrsctp's thread) shares with the main thread. */
struct sp_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	double *echo_ms;          /* client: per sequence number, time of the echo, < 0 if none */
	unsigned long count;
	unsigned long echoed;     /* client: distinct echoes; server: messages echoed */
	unsigned long bad;        /* echoes that were malformed, unknown, duplicated or on the wrong stream */
	unsigned long assocs;     /* server: associations that came up */
	sctp_assoc_t seen[256];   /* server: associations whose first message was reported */
	unsigned nseen;
	int comm_lost;
	int ended;                /* client: association gone (COMM_LOST, SHUTDOWN, EOF) */
};

static struct sp_state sp_st = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_mutex_t sp_out_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec sp_t0;

static double sp_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - sp_t0.tv_sec) * 1e3 + (double)(t.tv_nsec - sp_t0.tv_nsec) / 1e6;
}

/* sp_emit: one JSON line on stdout, whole (the callback thread prints too). */
__attribute__((format(printf, 1, 2))) static void sp_emit(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&sp_out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&sp_out_lock);
}

static const char *sp_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?family%u", (unsigned)sa->sa_family);
	return buf;
}

static socklen_t sp_salen(int family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* ---------------------------------------------------------------- arguments */

static int usage(void)
{
	fprintf(stderr,
		"usage: sctp_peer server --bind ADDR[,ADDR2...] --port P [--timers LIST] [--nodelay]\n"
		"       sctp_peer client --connect ADDR[,ADDR2...] --port P --count N --interval-ms M\n"
		"                        [--bind ADDR[,...]] [--timeout-ms T] [--timers LIST]\n"
		"                        [--local-port LP] [--abort] [--go-file PATH] [--nodelay]\n"
		"  LIST: rto_min=MS,rto_max=MS,rto_initial=MS,hb_interval=MS,path_max_retrans=N,\n"
		"        assoc_max_retrans=N\n");
	return 2;
}

static int sp_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* sp_addrs LIST OUT N FAMILY: parses "A[,B...]" (one family for all, set in *family). */
static int sp_addrs(const char *list, struct sockaddr_storage *out, int *n, int *family)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage *ss;
		int fam = strchr(tok, ':') ? AF_INET6 : AF_INET;

		if (*n >= SP_MAX_ADDRS || (*family && *family != fam)) {
			fprintf(stderr, "sctp_peer: %s: at most %d addresses, all of one family\n",
				tok, SP_MAX_ADDRS);
			return -1;
		}
		*family = fam;
		ss = &out[(*n)++];
		memset(ss, 0, sizeof(*ss));
		ss->ss_family = (sa_family_t)fam;
		if (inet_pton(fam, tok, fam == AF_INET6 ?
			      (void *)&((struct sockaddr_in6 *)(void *)ss)->sin6_addr :
			      (void *)&((struct sockaddr_in *)(void *)ss)->sin_addr) != 1) {
			fprintf(stderr, "sctp_peer: %s: not an address\n", tok);
			return -1;
		}
	}
	return *n > 0 ? 0 : -1;
}

static int sp_parse_timers(const char *list, struct sp_timers *t)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned long max;
	} keys[] = {
		{ "rto_min", offsetof(struct sp_timers, rto_min), 600000 },
		{ "rto_max", offsetof(struct sp_timers, rto_max), 600000 },
		{ "rto_initial", offsetof(struct sp_timers, rto_initial), 600000 },
		{ "hb_interval", offsetof(struct sp_timers, hb_interval), 600000 },
		{ "path_max_retrans", offsetof(struct sp_timers, path_max_retrans), 65535 },
		{ "assoc_max_retrans", offsetof(struct sp_timers, assoc_max_retrans), 65535 },
	};
	char buf[512], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long v;
		size_t i;

		if (!eq)
			goto bad;
		*eq = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(tok, keys[i].name))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]) || sp_ulong(eq + 1, keys[i].max, &v) || !v)
			goto bad;
		*(uint32_t *)(void *)((char *)t + keys[i].off) = (uint32_t)v;
		continue;
bad:
		fprintf(stderr, "sctp_peer: --timers: bad item %s (NAME=VALUE, VALUE > 0)\n", tok);
		return -1;
	}
	return 0;
}

static int sp_parse(int argc, char **argv, struct sp_opts *o)
{
	int i, cfam = 0, bfam = 0;
	unsigned long v;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 10000;
	if (argc < 2)
		return -1;
	if (!strcmp(argv[1], "server"))
		o->server = 1;
	else if (strcmp(argv[1], "client"))
		return -1;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--abort")) {
			o->abort = 1;
			continue;
		}
		if (!strcmp(a, "--nodelay")) {
			o->nodelay = 1;
			continue;
		}
		if (!val)
			return -1;
		i++;
		if (!strcmp(a, "--bind")) {
			if (sp_addrs(val, o->bind, &o->nbind, &bfam))
				return -1;
		} else if (!strcmp(a, "--connect")) {
			if (sp_addrs(val, o->conn, &o->nconn, &cfam))
				return -1;
		} else if (!strcmp(a, "--port")) {
			if (sp_ulong(val, 65535, &v) || !v)
				return -1;
			o->port = (uint16_t)v;
		} else if (!strcmp(a, "--count")) {
			if (sp_ulong(val, 1000000, &o->count) || !o->count)
				return -1;
		} else if (!strcmp(a, "--interval-ms")) {
			if (sp_ulong(val, 60000, &o->interval_ms))
				return -1;
		} else if (!strcmp(a, "--timeout-ms")) {
			if (sp_ulong(val, 600000, &o->timeout_ms) || !o->timeout_ms)
				return -1;
		} else if (!strcmp(a, "--timers")) {
			if (sp_parse_timers(val, &o->timers))
				return -1;
		} else if (!strcmp(a, "--go-file")) {
			o->go_file = val;
		} else if (!strcmp(a, "--local-port")) {
			if (sp_ulong(val, 65535, &v) || !v)
				return -1;
			o->local_port = (uint16_t)v;
		} else {
			return -1;
		}
	}
	if (!o->port || (o->server && (!o->nbind || o->nconn)) ||
	    (!o->server && (!o->nconn || !o->count)) || (bfam && cfam && bfam != cfam) ||
	    (o->server && (o->local_port || o->abort || o->go_file)) || (o->local_port && !o->nbind)) {
		fprintf(stderr, "sctp_peer: server needs --bind and --port; client --connect, --port "
				"and --count (--local-port needs --bind); one address family\n");
		return -1;
	}
	o->family = cfam ? cfam : bfam;
	for (i = 0; i < o->nbind; i++)
		((struct sockaddr_in *)(void *)&o->bind[i])->sin_port =
			htons(o->local_port ? o->local_port : o->port);
	for (i = 0; i < o->nconn; i++)
		((struct sockaddr_in *)(void *)&o->conn[i])->sin_port = htons(o->port);
	/* the port sits at the same offset in sockaddr_in and sockaddr_in6 */
	return 0;
}

/* ---------------------------------------------------------------- socket options */

/* sp_set_timers: the given timers as defaults for associations to come. */
static int sp_set_timers(struct socket *so, int family, const struct sp_timers *t)
{
	if (t->rto_min || t->rto_max || t->rto_initial) {
		struct sctp_rtoinfo r = { .srto_assoc_id = SCTP_FUTURE_ASSOC };
		socklen_t len = sizeof(r);

		/* usrsctp refuses the whole option unless min <= initial <= max holds for the
		 * values given together with the defaults of those not given: say so clearly */
		if (usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_RTOINFO, &r, &len) < 0) {
			perror("sctp_peer: getsockopt SCTP_RTOINFO");
			return -1;
		}
		if (t->rto_min)
			r.srto_min = t->rto_min;
		if (t->rto_max)
			r.srto_max = t->rto_max;
		if (t->rto_initial)
			r.srto_initial = t->rto_initial;
		r.srto_assoc_id = SCTP_FUTURE_ASSOC;
		if (!(r.srto_min <= r.srto_initial && r.srto_initial <= r.srto_max)) {
			fprintf(stderr, "sctp_peer: --timers: need rto_min %u <= rto_initial %u <= "
					"rto_max %u\n", r.srto_min, r.srto_initial, r.srto_max);
			return -1;
		}
		if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RTOINFO, &r, sizeof(r)) < 0) {
			perror("sctp_peer: setsockopt SCTP_RTOINFO");
			return -1;
		}
	}
	if (t->hb_interval || t->path_max_retrans) {
		struct sctp_paddrparams p;

		memset(&p, 0, sizeof(p));
		p.spp_assoc_id = SCTP_FUTURE_ASSOC;
		/* the wildcard address of the family: every path */
		p.spp_address.ss_family = (sa_family_t)family;
		if (t->hb_interval) {
			p.spp_hbinterval = t->hb_interval;
			p.spp_flags = SPP_HB_ENABLE;
		}
		p.spp_pathmaxrxt = (uint16_t)t->path_max_retrans;
		if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &p, sizeof(p)) < 0) {
			perror("sctp_peer: setsockopt SCTP_PEER_ADDR_PARAMS");
			return -1;
		}
	}
	if (t->assoc_max_retrans) {
		struct sctp_assocparams a;

		memset(&a, 0, sizeof(a));
		a.sasoc_assoc_id = SCTP_FUTURE_ASSOC;
		a.sasoc_asocmaxrxt = (uint16_t)t->assoc_max_retrans;
		if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_ASSOCINFO, &a, sizeof(a)) < 0) {
			perror("sctp_peer: setsockopt SCTP_ASSOCINFO");
			return -1;
		}
	}
	return 0;
}

/* sp_print_timers: the values in force for association ID (SCTP_FUTURE_ASSOC: the defaults
 * of associations to come). */
static void sp_print_timers(struct socket *so, int family, sctp_assoc_t id, const char *scope)
{
	struct sctp_rtoinfo r;
	struct sctp_paddrparams p;
	struct sctp_assocparams a;
	socklen_t len;
	int ok = 1;

	memset(&r, 0, sizeof(r));
	memset(&p, 0, sizeof(p));
	memset(&a, 0, sizeof(a));
	r.srto_assoc_id = p.spp_assoc_id = a.sasoc_assoc_id = id;
	p.spp_address.ss_family = (sa_family_t)family;
	len = sizeof(r);
	ok &= usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_RTOINFO, &r, &len) == 0;
	len = sizeof(p);
	ok &= usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &p, &len) == 0;
	len = sizeof(a);
	ok &= usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_ASSOCINFO, &a, &len) == 0;
	sp_emit("{\"event\":\"timers\",\"scope\":\"%s\",\"ok\":%s,\"rto_min\":%u,\"rto_max\":%u,"
		"\"rto_initial\":%u,\"hb_interval\":%u,\"hb_enabled\":%s,\"path_max_retrans\":%u,"
		"\"assoc_max_retrans\":%u}",
		scope, ok ? "true" : "false", r.srto_min, r.srto_max, r.srto_initial,
		p.spp_hbinterval, (p.spp_flags & SPP_HB_ENABLE) ? "true" : "false",
		p.spp_pathmaxrxt, a.sasoc_asocmaxrxt);
}

static int sp_nodelay(struct socket *so, const struct sp_opts *o)
{
	int on = 1;

	if (o->nodelay &&
	    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on)) < 0) {
		perror("sctp_peer: setsockopt SCTP_NODELAY");
		return -1;
	}
	return 0;
}

static int sp_subscribe(struct socket *so)
{
	static const uint16_t types[] = {
		SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_SHUTDOWN_EVENT,
		SCTP_SEND_FAILED_EVENT, SCTP_REMOTE_ERROR,
	};
	struct sctp_event ev;
	size_t i;
	int on = 1;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.se_assoc_id = SCTP_FUTURE_ASSOC;
		ev.se_type = types[i];
		ev.se_on = 1;
		if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev)) < 0) {
			perror("sctp_peer: setsockopt SCTP_EVENT");
			return -1;
		}
	}
	if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on)) < 0) {
		perror("sctp_peer: setsockopt SCTP_RECVRCVINFO");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- notifications */

static const char *sp_path_state(uint32_t s)
{
	switch (s) {
	case SCTP_ADDR_AVAILABLE: return "available";
	case SCTP_ADDR_UNREACHABLE: return "unreachable";
	case SCTP_ADDR_REMOVED: return "removed";
	case SCTP_ADDR_ADDED: return "added";
	case SCTP_ADDR_MADE_PRIM: return "made_primary";
	case SCTP_ADDR_CONFIRMED: return "confirmed";
	default: return "other";
	}
}

static const char *sp_assoc_state(uint16_t s)
{
	switch (s) {
	case SCTP_COMM_UP: return "comm_up";
	case SCTP_COMM_LOST: return "comm_lost";
	case SCTP_RESTART: return "restart";
	case SCTP_SHUTDOWN_COMP: return "shutdown_comp";
	case SCTP_CANT_STR_ASSOC: return "cant_start";
	default: return "other";
	}
}

static void sp_notification(const void *data, size_t len)
{
	const union sctp_notification *n = data;
	char buf[INET6_ADDRSTRLEN + 16];

	if (len < sizeof(n->sn_header) || n->sn_header.sn_length > len)
		return;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE:
		if (len < sizeof(n->sn_assoc_change))
			return;
		sp_emit("{\"event\":\"assoc\",\"state\":\"%s\",\"assoc\":%u,\"error\":%u,\"t_ms\":%.1f}",
			sp_assoc_state(n->sn_assoc_change.sac_state),
			(unsigned)n->sn_assoc_change.sac_assoc_id,
			(unsigned)n->sn_assoc_change.sac_error, sp_now_ms());
		pthread_mutex_lock(&sp_st.lock);
		switch (n->sn_assoc_change.sac_state) {
		case SCTP_COMM_UP:
		case SCTP_RESTART:
			sp_st.assocs++;
			break;
		case SCTP_COMM_LOST:
		case SCTP_CANT_STR_ASSOC:
			sp_st.comm_lost = 1;
			sp_st.ended = 1;
			break;
		case SCTP_SHUTDOWN_COMP:
			sp_st.ended = 1;
			break;
		default:
			break;
		}
		pthread_cond_broadcast(&sp_st.cond);
		pthread_mutex_unlock(&sp_st.lock);
		break;
	case SCTP_PEER_ADDR_CHANGE:
		if (len < sizeof(n->sn_paddr_change))
			return;
		sp_emit("{\"event\":\"path\",\"addr\":\"%s\",\"state\":\"%s\",\"error\":%u,"
			"\"assoc\":%u,\"t_ms\":%.1f}",
			sp_ntop((const struct sockaddr *)&n->sn_paddr_change.spc_aaddr, buf, sizeof(buf)),
			sp_path_state(n->sn_paddr_change.spc_state),
			(unsigned)n->sn_paddr_change.spc_error,
			(unsigned)n->sn_paddr_change.spc_assoc_id, sp_now_ms());
		break;
	case SCTP_SHUTDOWN_EVENT:
		sp_emit("{\"event\":\"shutdown\",\"t_ms\":%.1f}", sp_now_ms());
		pthread_mutex_lock(&sp_st.lock);
		sp_st.ended = 1;
		pthread_cond_broadcast(&sp_st.cond);
		pthread_mutex_unlock(&sp_st.lock);
		break;
	case SCTP_SEND_FAILED_EVENT:
		sp_emit("{\"event\":\"send_failed\",\"t_ms\":%.1f}", sp_now_ms());
		break;
	case SCTP_REMOTE_ERROR:
		sp_emit("{\"event\":\"remote_error\",\"t_ms\":%.1f}", sp_now_ms());
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- server */

/* sp_server_peer: a "peer" line for an association's first message (which client port it
 * serves: the tests match a server's associations with the clients). */
static void sp_server_peer(union sctp_sockstore addr, sctp_assoc_t id)
{
	char buf[INET6_ADDRSTRLEN + 16];
	unsigned i, port;
	int fresh = 1;

	pthread_mutex_lock(&sp_st.lock);
	for (i = 0; i < sp_st.nseen; i++)
		if (sp_st.seen[i] == id)
			fresh = 0;
	if (fresh) {
		/* a full list forgets the oldest: at worst a repeated line */
		if (sp_st.nseen == sizeof(sp_st.seen) / sizeof(sp_st.seen[0])) {
			memmove(sp_st.seen, sp_st.seen + 1, sizeof(sp_st.seen) - sizeof(sp_st.seen[0]));
			sp_st.nseen--;
		}
		sp_st.seen[sp_st.nseen++] = id;
	}
	pthread_mutex_unlock(&sp_st.lock);
	if (!fresh)
		return;
	port = ntohs(addr.sa.sa_family == AF_INET6 ? addr.sin6.sin6_port : addr.sin.sin_port);
	sp_emit("{\"event\":\"peer\",\"assoc\":%u,\"addr\":\"%s\",\"port\":%u,\"t_ms\":%.1f}",
		(unsigned)id, sp_ntop(&addr.sa, buf, sizeof(buf)), port, sp_now_ms());
}

/* Runs in usrsctp's thread: echoes every whole message on its stream and association. */
static int sp_server_cb(struct socket *so, union sctp_sockstore addr, void *data, size_t len,
			struct sctp_rcvinfo rcv, int flags, void *ulp)
{
	struct sctp_sndinfo snd;

	(void)addr;
	(void)ulp;
	if (!data)
		return 1;
	if (flags & MSG_NOTIFICATION) {
		sp_notification(data, len);
	} else if (!(flags & MSG_EOR)) {
		/* the client's messages are small: a partial one is a defect worth seeing */
		pthread_mutex_lock(&sp_st.lock);
		sp_st.bad++;
		pthread_mutex_unlock(&sp_st.lock);
	} else {
		sp_server_peer(addr, rcv.rcv_assoc_id);
		memset(&snd, 0, sizeof(snd));
		snd.snd_sid = rcv.rcv_sid;
		snd.snd_ppid = rcv.rcv_ppid;
		snd.snd_assoc_id = rcv.rcv_assoc_id;
		if (usrsctp_sendv(so, data, len, NULL, 0, &snd, sizeof(snd), SCTP_SENDV_SNDINFO, 0) < 0)
			sp_emit("{\"event\":\"echo_failed\",\"errno\":%d,\"t_ms\":%.1f}", errno, sp_now_ms());
		else {
			pthread_mutex_lock(&sp_st.lock);
			sp_st.echoed++;
			pthread_mutex_unlock(&sp_st.lock);
		}
	}
	free(data);
	return 1;
}

static int sp_bind(struct socket *so, const struct sp_opts *o)
{
	/* bindx wants the addresses packed one after the other */
	unsigned char packed[SP_MAX_ADDRS * sizeof(struct sockaddr_in6)];
	socklen_t sl = sp_salen(o->family);
	int i;

	for (i = 0; i < o->nbind; i++)
		memcpy(packed + (size_t)i * sl, &o->bind[i], sl);
	if (usrsctp_bindx(so, (struct sockaddr *)(void *)packed, o->nbind, SCTP_BINDX_ADD_ADDR) < 0) {
		perror("sctp_peer: bindx (is every address on an interface of this namespace?)");
		return -1;
	}
	return 0;
}

static int sp_server(const struct sp_opts *o)
{
	struct socket *so;
	sigset_t set;
	int sig, i;
	char buf[INET6_ADDRSTRLEN + 16];

	so = usrsctp_socket(o->family, SOCK_SEQPACKET, IPPROTO_SCTP, sp_server_cb, NULL, 0, NULL);
	if (!so) {
		perror("sctp_peer: usrsctp_socket");
		return 2;
	}
	if (sp_subscribe(so) || sp_set_timers(so, o->family, &o->timers) || sp_nodelay(so, o) ||
	    sp_bind(so, o))
		return 2;
	if (usrsctp_listen(so, 16) < 0) {
		perror("sctp_peer: listen");
		return 2;
	}
	sp_print_timers(so, o->family, SCTP_FUTURE_ASSOC, "defaults");
	pthread_mutex_lock(&sp_out_lock);
	printf("{\"event\":\"listening\",\"port\":%u,\"addrs\":[", (unsigned)o->port);
	for (i = 0; i < o->nbind; i++)
		printf("%s\"%s\"", i ? "," : "",
		       sp_ntop((const struct sockaddr *)&o->bind[i], buf, sizeof(buf)));
	printf("]}\n");
	fflush(stdout);
	pthread_mutex_unlock(&sp_out_lock);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	usrsctp_close(so);
	pthread_mutex_lock(&sp_st.lock);
	sp_emit("{\"event\":\"summary\",\"assocs\":%lu,\"echoed\":%lu,\"bad\":%lu}", sp_st.assocs,
		sp_st.echoed, sp_st.bad);
	pthread_mutex_unlock(&sp_st.lock);
	return 0;
}

/* ---------------------------------------------------------------- client */

static int sp_client_cb(struct socket *so, union sctp_sockstore addr, void *data, size_t len,
			struct sctp_rcvinfo rcv, int flags, void *ulp)
{
	char msg[SP_MSG_MAX + 1];
	unsigned long seq;

	(void)so;
	(void)addr;
	(void)ulp;
	if (!data) {
		/* the association is gone (the socket reads EOF) */
		pthread_mutex_lock(&sp_st.lock);
		sp_st.ended = 1;
		pthread_cond_broadcast(&sp_st.cond);
		pthread_mutex_unlock(&sp_st.lock);
		return 1;
	}
	if (flags & MSG_NOTIFICATION) {
		sp_notification(data, len);
		free(data);
		return 1;
	}
	pthread_mutex_lock(&sp_st.lock);
	if (len > SP_MSG_MAX || !(flags & MSG_EOR)) {
		sp_st.bad++;
	} else {
		memcpy(msg, data, len);
		msg[len] = '\0';
		if (sscanf(msg, "seq %lu", &seq) != 1 || seq < 1 || seq > sp_st.count ||
		    rcv.rcv_sid != seq % SP_STREAMS || sp_st.echo_ms[seq - 1] >= 0) {
			sp_st.bad++;
		} else {
			sp_st.echo_ms[seq - 1] = sp_now_ms();
			sp_st.echoed++;
		}
	}
	pthread_cond_broadcast(&sp_st.cond);
	pthread_mutex_unlock(&sp_st.lock);
	free(data);
	return 1;
}

static void sp_deadline(struct timespec *ts, unsigned long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* sp_paddrs_json: the JSON array of the peer addresses (usrsctp_getpaddrs), each with its state
 * and RTO (SCTP_GET_PEER_ADDR_INFO) when WITH_STATE. */
static void sp_paddrs_json(struct socket *so, char *out, size_t outlen, int with_state)
{
	struct sockaddr *addrs = NULL;
	size_t used = 0;
	char buf[INET6_ADDRSTRLEN + 16];
	int n, i;
	unsigned char *p;

	out[0] = '\0';
	n = usrsctp_getpaddrs(so, 0, &addrs);
	used += (size_t)snprintf(out, outlen, "[");
	p = (unsigned char *)addrs;
	for (i = 0; i < n && used < outlen; i++) {
		struct sockaddr *sa = (struct sockaddr *)(void *)p;
		socklen_t sl = sp_salen(sa->sa_family);

		if (with_state) {
			struct sctp_paddrinfo pi;
			socklen_t len = sizeof(pi);
			const char *st = "?";

			memset(&pi, 0, sizeof(pi));
			memcpy(&pi.spinfo_address, sa, sl);
			if (usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_GET_PEER_ADDR_INFO, &pi, &len) == 0)
				st = pi.spinfo_state == SCTP_ACTIVE ? "active" :
				     pi.spinfo_state == SCTP_INACTIVE ? "inactive" :
				     pi.spinfo_state == SCTP_UNCONFIRMED ? "unconfirmed" : "other";
			used += (size_t)snprintf(out + used, outlen - used,
						 "%s{\"addr\":\"%s\",\"state\":\"%s\",\"rto_ms\":%u,\"srtt_ms\":%u}",
						 i ? "," : "", sp_ntop(sa, buf, sizeof(buf)), st,
						 pi.spinfo_rto, pi.spinfo_srtt);
		} else {
			used += (size_t)snprintf(out + used, outlen - used, "%s\"%s\"", i ? "," : "",
						 sp_ntop(sa, buf, sizeof(buf)));
		}
		p += sl;
	}
	if (used < outlen)
		snprintf(out + used, outlen - used, "]");
	if (n > 0)
		usrsctp_freepaddrs(addrs);
}

static void sp_laddrs_json(struct socket *so, char *out, size_t outlen)
{
	struct sockaddr *addrs = NULL;
	size_t used;
	char buf[INET6_ADDRSTRLEN + 16];
	int n, i;
	unsigned char *p;

	n = usrsctp_getladdrs(so, 0, &addrs);
	used = (size_t)snprintf(out, outlen, "[");
	p = (unsigned char *)addrs;
	for (i = 0; i < n && used < outlen; i++) {
		struct sockaddr *sa = (struct sockaddr *)(void *)p;

		used += (size_t)snprintf(out + used, outlen - used, "%s\"%s\"", i ? "," : "",
					 sp_ntop(sa, buf, sizeof(buf)));
		p += sp_salen(sa->sa_family);
	}
	if (used < outlen)
		snprintf(out + used, outlen - used, "]");
	if (n > 0)
		usrsctp_freeladdrs(addrs);
}

static int sp_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* sp_wait_go: "ready", then waits (polls, 120 s at most) until --go-file exists. */
static int sp_wait_go(const struct sp_opts *o)
{
	unsigned long waited;

	sp_emit("{\"event\":\"ready\",\"t_ms\":%.1f}", sp_now_ms());
	for (waited = 0; access(o->go_file, F_OK) != 0; waited += 5) {
		if (waited >= 120000) {
			fprintf(stderr, "sctp_peer: %s did not appear within 120 s\n", o->go_file);
			return -1;
		}
		usleep(5000);
	}
	return 0;
}

/* sp_client_run: the client with its arrays (o->count each) allocated. */
static int sp_client_run(const struct sp_opts *o, double *send_ms, double *gaps)
{
	struct socket *so;
	double max_gap = 0, median = 0;
	char slow[SP_SLOW_MAX * 48] = "";
	size_t used = 0;
	unsigned nslow = 0;
	unsigned long i, sent = 0, echoed, ngaps = 0;
	unsigned char packed[SP_MAX_ADDRS * sizeof(struct sockaddr_in6)];
	socklen_t sl = sp_salen(o->family);
	char paddrs[2048], laddrs[1024];
	struct timespec ts;
	int k, rc, comm_lost;

	so = usrsctp_socket(o->family, SOCK_STREAM, IPPROTO_SCTP, sp_client_cb, NULL, 0, NULL);
	if (!so) {
		perror("sctp_peer: usrsctp_socket");
		return 2;
	}
	if (sp_subscribe(so) || sp_set_timers(so, o->family, &o->timers) || sp_nodelay(so, o) ||
	    (o->nbind && sp_bind(so, o))) {
		usrsctp_close(so);
		return 2;
	}
	if (o->go_file && sp_wait_go(o)) {
		usrsctp_close(so);
		return 2;
	}
	for (k = 0; k < o->nconn; k++)
		memcpy(packed + (size_t)k * sl, &o->conn[k], sl);
	if (usrsctp_connectx(so, (struct sockaddr *)(void *)packed, o->nconn, NULL) < 0 &&
	    errno != EINPROGRESS) {
		perror("sctp_peer: connect");
		sp_emit("{\"event\":\"summary\",\"sent\":0,\"echoed\":0,\"lost\":%lu,\"max_gap_ms\":0,"
			"\"median_gap_ms\":0,\"comm_lost\":1,\"bad\":0,\"paths\":[]}", o->count);
		usrsctp_close(so);
		return 1;
	}
	/* with a receive callback usrsctp's connect does not wait: COMM_UP does */
	sp_deadline(&ts, o->timeout_ms);
	pthread_mutex_lock(&sp_st.lock);
	while (!sp_st.assocs && !sp_st.ended)
		if (pthread_cond_timedwait(&sp_st.cond, &sp_st.lock, &ts) == ETIMEDOUT)
			break;
	rc = sp_st.assocs > 0 && !sp_st.ended;
	pthread_mutex_unlock(&sp_st.lock);
	if (!rc) {
		sp_emit("{\"event\":\"summary\",\"sent\":0,\"echoed\":0,\"lost\":%lu,\"max_gap_ms\":0,"
			"\"median_gap_ms\":0,\"comm_lost\":1,\"bad\":0,\"paths\":[],"
			"\"error\":\"no association within %lu ms\"}", o->count, o->timeout_ms);
		usrsctp_close(so);
		return 1;
	}
	sp_paddrs_json(so, paddrs, sizeof(paddrs), 0);
	sp_laddrs_json(so, laddrs, sizeof(laddrs));
	sp_emit("{\"event\":\"up\",\"paddrs\":%s,\"laddrs\":%s,\"lport\":%u,\"t_ms\":%.1f}",
		paddrs, laddrs, (unsigned)(o->local_port ? o->local_port : o->port), sp_now_ms());
	sp_print_timers(so, o->family, 0, "association");

	for (i = 1; i <= o->count; i++) {
		char msg[SP_MSG_MAX];
		struct sctp_sndinfo snd;
		int len = snprintf(msg, sizeof(msg), "seq %lu", i);

		pthread_mutex_lock(&sp_st.lock);
		rc = sp_st.ended;
		pthread_mutex_unlock(&sp_st.lock);
		if (rc)
			break;
		memset(&snd, 0, sizeof(snd));
		snd.snd_sid = (uint16_t)(i % SP_STREAMS);
		send_ms[i - 1] = sp_now_ms();
		if (usrsctp_sendv(so, msg, (size_t)len, NULL, 0, &snd, sizeof(snd), SCTP_SENDV_SNDINFO,
				  0) < 0) {
			sp_emit("{\"event\":\"send_error\",\"seq\":%lu,\"errno\":%d,\"t_ms\":%.1f}", i,
				errno, sp_now_ms());
			break;
		}
		sent = i;
		/* its echo, or the timeout, or the association's end */
		sp_deadline(&ts, o->timeout_ms);
		pthread_mutex_lock(&sp_st.lock);
		while (sp_st.echo_ms[i - 1] < 0 && !sp_st.ended)
			if (pthread_cond_timedwait(&sp_st.cond, &sp_st.lock, &ts) == ETIMEDOUT)
				break;
		rc = sp_st.echo_ms[i - 1] >= 0;
		pthread_mutex_unlock(&sp_st.lock);
		if (!rc)
			sp_emit("{\"event\":\"timeout\",\"seq\":%lu,\"t_ms\":%.1f}", i, sp_now_ms());
		if (o->interval_ms && i < o->count) {
			struct timespec d = { .tv_sec = (time_t)(o->interval_ms / 1000),
					      .tv_nsec = (long)(o->interval_ms % 1000) * 1000000L };
			while (nanosleep(&d, &d) < 0 && errno == EINTR)
				;
		}
	}

	/* late echoes of timed-out messages still count, for one more timeout */
	sp_deadline(&ts, o->timeout_ms);
	pthread_mutex_lock(&sp_st.lock);
	while (sp_st.echoed < sent && !sp_st.ended)
		if (pthread_cond_timedwait(&sp_st.cond, &sp_st.lock, &ts) == ETIMEDOUT)
			break;
	for (i = 0; i < sent; i++) {
		if (sp_st.echo_ms[i] < 0)
			continue;
		gaps[ngaps] = sp_st.echo_ms[i] - send_ms[i];
		/* the long waits, where they were: a failover's among them, or the stack's own */
		if (gaps[ngaps] >= SP_SLOW_MS && nslow < SP_SLOW_MAX)
			used += (size_t)snprintf(slow + used, sizeof(slow) - used, "%s[%lu,%.1f,%.1f]",
						 nslow++ ? "," : "", i + 1, send_ms[i], gaps[ngaps]);
		ngaps++;
	}
	echoed = sp_st.echoed;
	comm_lost = sp_st.comm_lost;
	pthread_mutex_unlock(&sp_st.lock);
	if (ngaps) {
		qsort(gaps, ngaps, sizeof(*gaps), sp_cmp_double);
		max_gap = gaps[ngaps - 1];
		median = ngaps % 2 ? gaps[ngaps / 2] : (gaps[ngaps / 2 - 1] + gaps[ngaps / 2]) / 2;
	}
	sp_paddrs_json(so, paddrs, sizeof(paddrs), 1);
	pthread_mutex_lock(&sp_st.lock);
	sp_emit("{\"event\":\"summary\",\"sent\":%lu,\"echoed\":%lu,\"lost\":%lu,\"max_gap_ms\":%.1f,"
		"\"median_gap_ms\":%.1f,\"comm_lost\":%d,\"bad\":%lu,\"paths\":%s,\"slow\":[%s]}",
		sent, echoed, o->count - echoed, max_gap, median, comm_lost, sp_st.bad, paddrs, slow);
	rc = comm_lost || echoed != o->count || sp_st.bad ? 1 : 0;
	pthread_mutex_unlock(&sp_st.lock);

	if (o->abort) {
		/* SO_LINGER with a zero time: the close sends an ABORT */
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		if (usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0) {
			perror("sctp_peer: setsockopt SO_LINGER");
			rc = 1;
		}
	}
	sp_emit("{\"event\":\"close\",\"how\":\"%s\",\"t_ms\":%.1f}",
		o->abort ? "abort" : "shutdown", sp_now_ms());
	/* a graceful SHUTDOWN (or the ABORT); usrsctp_finish (in main) waits for it a little */
	usrsctp_close(so);
	return rc;
}

static int sp_client(const struct sp_opts *o)
{
	double *send_ms, *gaps;
	unsigned long i;
	int rc = 2;

	send_ms = calloc(o->count, sizeof(*send_ms));
	gaps = calloc(o->count, sizeof(*gaps));
	sp_st.echo_ms = calloc(o->count, sizeof(*sp_st.echo_ms));
	if (send_ms && gaps && sp_st.echo_ms) {
		for (i = 0; i < o->count; i++)
			sp_st.echo_ms[i] = -1;
		sp_st.count = o->count;
		rc = sp_client_run(o, send_ms, gaps);
	} else {
		fprintf(stderr, "sctp_peer: out of memory\n");
	}
	free(send_ms);
	free(gaps);
	return rc;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct sp_opts o;
	sigset_t set;
	pthread_condattr_t ca;
	int rc, i;

	if (sp_parse(argc, argv, &o))
		return usage();
	clock_gettime(CLOCK_MONOTONIC, &sp_t0);
	/* the waits' deadlines are on the monotonic clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp_st.cond, &ca);
	pthread_condattr_destroy(&ca);
	/* usrsctp's threads inherit this mask: SIGTERM and SIGINT reach the server's sigwait */
	if (o.server) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	usrsctp_init(0, NULL, NULL);
	usrsctp_sysctl_set_sctp_blackhole(2);
	rc = o.server ? sp_server(&o) : sp_client(&o);
	/* usrsctp_finish fails while associations still close: give them a bounded while */
	for (i = 0; i < 300 && usrsctp_finish() != 0; i++)
		usleep(10000);
	free(sp_st.echo_ms);
	return rc;
}
