/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sprobe: the SCTP listener probe (daemon/sprobe.h).  One raw IPPROTO_SCTP
 * socket per family; per SCTP port this node serves (d->self_listen) a probe
 * every period, a few in flight: an INIT from the node's own address (the
 * first of the family in the configuration: where distributors send) to
 * itself, a fresh Initiate Tag and source port each time.  The packets are
 * built and matched by nfq/sctp (pure); this file only sends, receives and
 * keeps the answers. */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "daemon/ctx.h"
#include "daemon/log.h"
#include "daemon/sprobe.h"
#include "daemon/subsys.h"
#include "nfq/pkt.h"
#include "nfq/sctp.h"

/* One probe per port per listener scan (main.c's SCAN_MS): the scan that
 * follows reads the answer. */
#define SPROBE_PERIOD_MS 250
/* An INIT ACK from the node itself comes back in microseconds; the margin is
 * for a loaded machine, where a false "not listening" would take the target
 * out of the service. */
#define SPROBE_TIMEOUT_MS 1000
/* Probes in flight per port: a new one goes every period whatever the
 * others became, so a server that starts is seen within a period, not a
 * timeout. */
#define SPROBE_FLIGHTS (SPROBE_TIMEOUT_MS / SPROBE_PERIOD_MS + 1)
/* Source ports: the dynamic range (RFC 6335 6); the raw sockets' filter
 * passes only packets to it. */
#define SPROBE_PORT_MIN 49152u
#define SPROBE_PORT_N (65536u - SPROBE_PORT_MIN)
/* Packets read per wake-up at most: the loop never stays here long (epoll
 * is level-triggered: what is left wakes it again). */
#define SPROBE_DRAIN 64
/* Probes in a row without an answer before a server that answered counts
 * as gone: one lost or late INIT ACK on a loaded machine must not take the
 * target out of its services (an ABORT says so at once). */
#define SPROBE_MISSES 2
#define SPROBE_V6_HDR 40

#define SPROBE_STATS_LIST(X) \
	X(probes_sent) X(answers) X(aborts) X(timeouts) X(send_errors) X(stray)

struct sprobe_flight {
	bool used;
	uint32_t itag;		/* its Initiate Tag (0: its send failed) */
	uint16_t sport;
	uint64_t sent_ms;
};

struct sprobe_port {
	uint8_t family;		/* AF_INET / AF_INET6 */
	uint16_t port;		/* the service's target_port */
	int8_t answer;		/* -1 not yet, 0 nobody, 1 a server answered */
	uint8_t misses;		/* probes in a row unanswered while answer is 1 */
	/* The answer is that of the latest probe decided: a late timeout or
	 * answer of an older one changes nothing. */
	uint64_t decided_ms;	/* sent_ms of the probe `answer` comes from */
	uint64_t next_ms;	/* when the next probe goes */
	struct ip_addr addr;	/* the probes' source and destination */
	struct sprobe_flight fl[SPROBE_FLIGHTS];
};

struct sprobe {
	int fd[2];		/* raw IPPROTO_SCTP: [0] IPv4, [1] IPv6; -1 none */
	struct sprobe_port ports[MEMBER_MAX_LISTEN];
	size_t n_ports;
	uint64_t rand_state;	/* when getrandom cannot answer */
	struct log_rl rl_send, rl_recv;
	struct {
#define SPROBE_FIELD(f) uint64_t f;
		SPROBE_STATS_LIST(SPROBE_FIELD)
#undef SPROBE_FIELD
	} st;
	/* IPv6: the header the kernel kept, rebuilt in front of the payload
	 * so nfq/pkt parses both families alike. */
	uint8_t buf[SPROBE_V6_HDR + 65536];
};

static int fam_index(uint8_t family)
{
	return family == AF_INET ? 0 : 1;
}

/* Random bytes for tags and ports: getrandom, never blocking; a splitmix64
 * sequence seeded at open if the kernel cannot answer (early boot). */
static void sprobe_random(struct sprobe *s, void *out, size_t n)
{
	uint8_t *o = out;

	if (getrandom(out, n, GRND_NONBLOCK) == (ssize_t)n)
		return;
	while (n) {
		uint64_t z = (s->rand_state += 0x9e3779b97f4a7c15ull);
		size_t k = n < 8 ? n : 8;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(o, &z, k);
		o += k;
		n -= k;
	}
}

/* --- sockets --------------------------------------------------------------- */

/* Only what can answer a probe reaches the socket (the kernel hands every
 * SCTP packet of the node to every raw SCTP socket): destination port in
 * SPROBE_PORT_MIN.., first chunk an INIT ACK or an ABORT.  IPv4 sockets
 * see the IP header at offset 0, IPv6 ones the SCTP header. */
static int sprobe_filter(int fd, bool v4)
{
	struct sock_filter f4[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),			/* X = IHL * 4 */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),			/* dport */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SPROBE_PORT_MIN, 0, 3),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, SCTP_COMMON_HDRLEN),	/* chunk type */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCTP_CHUNK_INIT_ACK, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCTP_CHUNK_ABORT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_filter f6[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SPROBE_PORT_MIN, 0, 3),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SCTP_COMMON_HDRLEN),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCTP_CHUNK_INIT_ACK, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCTP_CHUNK_ABORT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_fprog prog = {
		.len = v4 ? sizeof(f4) / sizeof(f4[0]) : sizeof(f6) / sizeof(f6[0]),
		.filter = v4 ? f4 : f6,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int sprobe_socket(int family, char *err, size_t errlen)
{
	const char *what = family == AF_INET ? "IPv4" : "IPv6";
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_SCTP);
	int one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "raw %s SCTP socket: %s", what, strerror(errno));
		return -1;
	}
	/* IPv4: the probe is sent whole (its source is the configured address,
	 * whatever the route would pick).  IPv6: the kernel builds the header,
	 * the source comes with each packet (IPV6_PKTINFO), and the
	 * destination of what arrives too. */
	if ((family == AF_INET ?
	     setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) :
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))) < 0 ||
	    sprobe_filter(fd, family == AF_INET) < 0) {
		snprintf(err, errlen, "raw %s SCTP socket: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int sprobe_open(struct daemon *d, char *err, size_t errlen)
{
	struct sprobe *s = calloc(1, sizeof(*s));
	char e6[160];
	struct timespec ts;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	s->rand_state = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
			(uint64_t)getpid() << 32;
	/* Needs CAP_NET_RAW: called before the capabilities go. */
	s->fd[0] = sprobe_socket(AF_INET, err, errlen);
	s->fd[1] = sprobe_socket(AF_INET6, e6, sizeof(e6));
	if (s->fd[0] < 0 && s->fd[1] < 0) {
		free(s);
		return -1;
	}
	if (s->fd[0] < 0 || s->fd[1] < 0)
		log_warn("SCTP listener probes: %s (no probes for %s)",
			 s->fd[0] < 0 ? err : e6, s->fd[0] < 0 ? "IPv4" : "IPv6");
	err[0] = '\0';
	d->probe = s;
	return 0;
}

void sprobe_close(struct daemon *d)
{
	struct sprobe *s = d->probe;

	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	free(s);
	d->probe = NULL;
}

int sprobe_fd(const struct daemon *d, int family_index)
{
	if (!d->probe || family_index < 0 || family_index > 1)
		return -1;
	return d->probe->fd[family_index];
}

/* --- sending --------------------------------------------------------------- */

static int sprobe_send(struct sprobe *s, const struct sctp_ends *e, const uint8_t *pkt,
		       size_t len)
{
	int fd = s->fd[fam_index(e->src.family)];
	ssize_t r;

	if (e->src.family == AF_INET) {
		struct sockaddr_in to = { .sin_family = AF_INET };

		memcpy(&to.sin_addr, e->dst.b, 4);
		r = sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
	} else {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
		union {
			struct cmsghdr h;
			uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		} cm;
		struct in6_pktinfo pi;
		struct iovec iov = {
			.iov_base = (void *)(pkt + SPROBE_V6_HDR),
			.iov_len = len - SPROBE_V6_HDR,
		};
		struct msghdr m = {
			.msg_name = &to, .msg_namelen = sizeof(to),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
		};
		struct cmsghdr *c;

		memcpy(&to.sin6_addr, e->dst.b, 16);
		memset(&cm, 0, sizeof(cm));
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, e->src.b, 16);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		/* the kernel's header is the one we built, minus what it
		 * fills: the SCTP part (CRC32c included) goes as it is */
		r = sendmsg(fd, &m, 0);
	}
	if (r == (ssize_t)(e->src.family == AF_INET ? len : len - SPROBE_V6_HDR))
		return 0;
	s->st.send_errors++;
	log_rl(&s->rl_send, 1, LOG_WARNING, "SCTP listener probe to port %u: %s", e->dport,
	       r < 0 ? strerror(errno) : "short send");
	return -1;
}

/* A source port in the dynamic range that no SCTP service of this node
 * uses (its packets would be the service's). */
static uint16_t sprobe_sport(struct sprobe *s, uint16_t r)
{
	for (unsigned tries = 0; tries < 8; tries++, r += 7919) {
		uint16_t p = (uint16_t)(SPROBE_PORT_MIN + r % SPROBE_PORT_N);
		bool used = false;

		for (size_t i = 0; i < s->n_ports; i++)
			used |= s->ports[i].port == p;
		if (!used)
			return p;
	}
	return (uint16_t)(SPROBE_PORT_MIN + r % SPROBE_PORT_N);
}

/* The addresses and ports of a probe in flight. */
static struct sctp_ends sprobe_ends(const struct sprobe_port *sp, const struct sprobe_flight *f)
{
	struct sctp_ends e;

	memset(&e, 0, sizeof(e));
	e.src = sp->addr;
	e.dst = sp->addr;
	e.sport = f->sport;
	e.dport = sp->port;
	return e;
}

/* A probe's outcome: the port's answer unless a later probe decided it.
 * answer -1: no answer (timeout, send failure): "nobody" only after
 * SPROBE_MISSES of them in a row when a server answered before. */
static void sprobe_decide(struct sprobe_port *sp, struct sprobe_flight *f, int8_t answer)
{
	if (sp->answer < 0 || f->sent_ms >= sp->decided_ms) {
		sp->decided_ms = f->sent_ms;
		if (answer < 0 && sp->answer == 1 && ++sp->misses < SPROBE_MISSES) {
			f->used = false;
			return;
		}
		sp->misses = 0;
		sp->answer = answer < 0 ? 0 : answer;
	}
	f->used = false;
}

static void sprobe_probe(struct sprobe *s, struct sprobe_port *sp, uint64_t now)
{
	uint8_t pkt[SCTP_PROBE_INIT_MAX];
	struct sprobe_flight *f = &sp->fl[0];
	struct sctp_ends e;
	struct {
		uint32_t itag, tsn;
		uint16_t port;
	} r;
	size_t n;

	/* A free slot.  All taken cannot be (SPROBE_FLIGHTS periods are more
	 * than a timeout); if it were, the oldest would go as timed out. */
	for (size_t i = 0; i < SPROBE_FLIGHTS; i++) {
		if (!sp->fl[i].used) {
			f = &sp->fl[i];
			break;
		}
		if (sp->fl[i].sent_ms < f->sent_ms)
			f = &sp->fl[i];
	}
	if (f->used) {
		s->st.timeouts++;
		sprobe_decide(sp, f, -1);
	}
	sprobe_random(s, &r, sizeof(r));
	if (!r.itag)
		r.itag = 1;
	f->used = true;
	f->sport = sprobe_sport(s, r.port);
	f->sent_ms = now;
	e = sprobe_ends(sp, f);
	n = sctp_build_init(&e, r.itag, r.tsn, pkt, sizeof(pkt));
	/* A probe that could not go is one nobody answers: it times out
	 * (tag 0 matches nothing), as it would have if sent and lost. */
	f->itag = n && sprobe_send(s, &e, pkt, n) == 0 ? r.itag : 0;
	if (f->itag)
		s->st.probes_sent++;
}

/* The node's own address of the family, as the configuration lists it: the
 * one distributors rewrite to (common/view). */
static const struct ip_addr *sprobe_own(const struct cfg *c, uint8_t family)
{
	if (c->self < 0 || (size_t)c->self >= c->n_nodes)
		return NULL;
	return cfg_node_addr(c, (size_t)c->self, family);
}

/* The ports to probe: the SCTP entries of d->self_listen (a reload changes
 * them), each keeping its state when it was there before. */
static void sprobe_sync(struct daemon *d, struct sprobe *s)
{
	struct sprobe_port old[MEMBER_MAX_LISTEN];
	size_t n_old = s->n_ports;

	memcpy(old, s->ports, n_old * sizeof(old[0]));
	s->n_ports = 0;
	for (size_t i = 0; i < d->n_self_listen && s->n_ports < MEMBER_MAX_LISTEN; i++) {
		const struct member_listen *l = &d->self_listen[i];
		struct sprobe_port *sp;

		if (l->proto != IPPROTO_SCTP ||
		    (l->family != AF_INET && l->family != AF_INET6))
			continue;
		sp = &s->ports[s->n_ports++];
		memset(sp, 0, sizeof(*sp));
		sp->family = l->family;
		sp->port = l->port;
		sp->answer = -1;
		for (size_t k = 0; k < n_old; k++)
			if (old[k].family == l->family && old[k].port == l->port)
				*sp = old[k];
	}
}

static bool sprobe_overdue(const struct sprobe *s, uint64_t now)
{
	for (size_t i = 0; i < s->n_ports; i++)
		for (size_t k = 0; k < SPROBE_FLIGHTS; k++)
			if (s->ports[i].fl[k].used &&
			    now - s->ports[i].fl[k].sent_ms >= SPROBE_TIMEOUT_MS)
				return true;
	return false;
}

static void sprobe_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct sprobe *s = d->probe;

	if (!s)
		return;
	sprobe_sync(d, s);
	/* Answers that came while the loop was busy elsewhere are read before
	 * their probes are given up. */
	if (sprobe_overdue(s, now)) {
		sprobe_input(d, s->fd[0]);
		sprobe_input(d, s->fd[1]);
	}
	for (size_t i = 0; i < s->n_ports; i++) {
		struct sprobe_port *sp = &s->ports[i];
		const struct ip_addr *own = sprobe_own(d->cfg, sp->family);

		if (!own || s->fd[fam_index(sp->family)] < 0) {
			/* Nothing to probe from: no answer (main.c then goes
			 * by sock_diag alone). */
			sp->answer = -1;
			memset(sp->fl, 0, sizeof(sp->fl));
			continue;
		}
		if (!addr_eq(&sp->addr, own)) {
			/* first probe, or a reload moved the address: the
			 * answers to the old one say nothing of the new */
			memset(sp->fl, 0, sizeof(sp->fl));
			sp->addr = *own;
			sp->next_ms = now;
		}
		for (size_t k = 0; k < SPROBE_FLIGHTS; k++) {
			struct sprobe_flight *f = &sp->fl[k];

			if (!f->used)
				continue;
			if (now - f->sent_ms >= SPROBE_TIMEOUT_MS) {
				s->st.timeouts++;
				sprobe_decide(sp, f, -1);
			} else if (f->sent_ms + SPROBE_TIMEOUT_MS < *next) {
				*next = f->sent_ms + SPROBE_TIMEOUT_MS;
			}
		}
		if (now >= sp->next_ms) {
			sprobe_probe(s, sp, now);
			sp->next_ms = now + SPROBE_PERIOD_MS;
		}
		if (sp->next_ms < *next)
			*next = sp->next_ms;
	}
}

/* --- receiving ------------------------------------------------------------- */

/* One packet read into s->buf (IPv6: behind the header rebuilt from the
 * addresses); its length, 0 when nothing is left, -1 for one to skip. */
static ssize_t sprobe_read(struct sprobe *s, int fd, bool v4)
{
	struct sockaddr_in6 from;
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
	} cm;
	struct iovec iov = {
		.iov_base = s->buf + (v4 ? 0 : SPROBE_V6_HDR),
		.iov_len = sizeof(s->buf) - (v4 ? 0 : SPROBE_V6_HDR),
	};
	struct msghdr m = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = v4 ? 0 : sizeof(cm.b),
	};
	const struct in6_pktinfo *pi = NULL;
	ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT | (v4 ? 0 : MSG_TRUNC));
	uint8_t *h = s->buf;

	if (r < 0) {
		/* the signals go to a signalfd: no EINTR here */
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_rl(&s->rl_recv, 1, LOG_WARNING, "SCTP listener probe: %s",
			       strerror(errno));
		return 0;
	}
	if (v4)
		return r;
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || r > 0xffff ||
	    m.msg_namelen < sizeof(from) || from.sin6_family != AF_INET6)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*pi)))
			pi = (const struct in6_pktinfo *)(const void *)CMSG_DATA(c);
	if (!pi)
		return -1;
	memset(h, 0, SPROBE_V6_HDR);
	h[0] = 0x60;
	h[4] = (uint8_t)(r >> 8);
	h[5] = (uint8_t)r;
	h[6] = IPPROTO_SCTP;
	h[7] = 64;
	memcpy(h + 8, &from.sin6_addr, 16);
	memcpy(h + 24, &pi->ipi6_addr, 16);
	return r + SPROBE_V6_HDR;
}

/* The probe this packet answers, and how. */
static void sprobe_match(struct sprobe *s, const struct pkt *p)
{
	uint8_t abort_pkt[SCTP_PROBE_ABORT_MAX];

	for (size_t i = 0; i < s->n_ports; i++) {
		struct sprobe_port *sp = &s->ports[i];

		if (sp->family != p->family || sp->port != p->sport)
			continue;
		for (size_t k = 0; k < SPROBE_FLIGHTS; k++) {
			struct sprobe_flight *f = &sp->fl[k];
			struct sctp_ends e;
			uint32_t peer = 0;
			enum sctp_answer a;
			size_t n;

			if (!f->used || !f->itag)
				continue;
			e = sprobe_ends(sp, f);
			a = sctp_probe_answer(s->buf, p, &e, f->itag, &peer);
			if (a == SCTP_ANSWER_NONE)
				continue;
			if (a == SCTP_ANSWER_ABORT) {
				s->st.aborts++;
				sprobe_decide(sp, f, 0);
				return;
			}
			s->st.answers++;
			sprobe_decide(sp, f, 1);
			/* The server keeps nothing for an INIT ACK (its state
			 * is in the cookie), but an ABORT with its tag says
			 * we are done. */
			n = sctp_build_abort(&e, peer, abort_pkt, sizeof(abort_pkt));
			if (n)
				sprobe_send(s, &e, abort_pkt, n);
			return;
		}
	}
	s->st.stray++;
}

void sprobe_input(struct daemon *d, int fd)
{
	struct sprobe *s = d->probe;
	bool v4;

	if (!s || fd < 0 || (fd != s->fd[0] && fd != s->fd[1]))
		return;
	v4 = fd == s->fd[0];
	for (int k = 0; k < SPROBE_DRAIN; k++) {
		ssize_t n = sprobe_read(s, fd, v4);
		struct pkt p;

		if (n == 0)
			break;
		if (n < 0 || pkt_parse(s->buf, (size_t)n, &p) != PKT_OK ||
		    p.proto != IPPROTO_SCTP) {
			s->st.stray++;
			continue;
		}
		sprobe_match(s, &p);
	}
}

int sprobe_listening(const struct daemon *d, uint8_t family, uint16_t port)
{
	const struct sprobe *s = d->probe;

	if (!s)
		return -1;
	for (size_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].family == family && s->ports[i].port == port)
			return s->ports[i].answer;
	return -1;
}

static void sprobe_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	struct sprobe *s = d->probe;
	uint64_t listening = 0;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_ports; i++)
		listening += s->ports[i].answer == 1;
	/* gauges: the ports probed, those a server answers on */
	emit(arg, "sctp.probe.ports", s->n_ports);
	emit(arg, "sctp.probe.listening", listening);
#define SPROBE_EMIT(f) emit(arg, "sctp.probe." #f, s->st.f);
	SPROBE_STATS_LIST(SPROBE_EMIT)
#undef SPROBE_EMIT
}

const struct subsys sprobe_subsys = {
	.name = "sctp_probe",
	.tick = sprobe_tick,
	.stats = sprobe_stats,
};
