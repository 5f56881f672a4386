/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics: the Prometheus endpoint (see metrics.h).
 *
 * A client goes through three states: reading its request head (EPOLLIN),
 * writing the answer (EPOLLOUT, what the socket takes at each wake-up),
 * then, its answer sent and our side shut down, reading whatever it still
 * sends until it closes (closing at once with unread bytes would make the
 * kernel send a RST that can destroy the answer in flight, e.g. after a 431
 * for a request we did not read to its end).  Every state ends at the
 * client's deadline. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "common/prom.h"
#include "daemon/ctl.h"
#include "daemon/dsctp.h"
#include "daemon/drepl.h"
#include "daemon/dsync.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/subsys.h"

/* Its counters, "metrics." in `clusterctl stats`: field, name. */
#define METRICS_STATS_LIST(X)                                                    \
	X(requests, "requests")			/* scrapes answered (200) */    \
	X(bad_request, "errors.bad_request")	/* not HTTP/1.x: 400 */         \
	X(too_large, "errors.too_large")	/* head over METRICS_REQ_MAX: 431 */ \
	X(not_found, "errors.not_found")	/* another path: 404 */         \
	X(method, "errors.method")		/* another method: 405 */       \
	X(timeout, "errors.timeout")		/* not answered in time: closed */ \
	X(io, "errors.io")			/* a read or write failed */    \
	X(no_memory, "errors.no_memory")	/* the answer could not be built */ \
	X(clients_dropped, "clients_dropped")	/* the oldest, for a new one */

struct metrics_stats {
#define METRICS_STATS_FIELD(f, n) uint64_t f;
	METRICS_STATS_LIST(METRICS_STATS_FIELD)
#undef METRICS_STATS_FIELD
};

enum metrics_phase { MC_READ = 0, MC_WRITE, MC_DRAIN };

struct metrics_client {
	int fd;			/* -1: free slot */
	enum metrics_phase phase;
	uint64_t since_ms, deadline_ms;
	char in[METRICS_REQ_MAX];
	size_t got;
	char *out;		/* the answer: out[off, len) still to write */
	size_t off, len;
};

struct metrics {
	int ep;			/* the listener (u32 METRICS_CLIENTS_MAX) and the clients */
	int lfd;		/* -1: no listener */
	struct ip_addr addr;
	uint16_t port;
	struct metrics_client c[METRICS_CLIENTS_MAX];
	struct metrics_stats st;
};

/* What a reload prepared. */
struct metrics_prep {
	struct metrics *fresh;	/* the first (re)load: the whole thing */
	int lfd;		/* a new listener (in the epoll set already), or -1 */
	bool close_old;		/* the old listener goes at commit */
	struct ip_addr addr;
	uint16_t port;
};

#define METRICS_LISTENER METRICS_CLIENTS_MAX

/* --- sockets ------------------------------------------------------------------ */

static int metrics_listen(const struct ip_addr *a, uint16_t port, char *err, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char ep[ADDR_STRLEN + 8];
	int one = 1, fd;

	addr_fmt_ep(a, port, ep, sizeof(ep));
	/* Binding a port below 1024 needs CAP_NET_BIND_SERVICE, which the
	 * daemon drops after start: a reload could never bind one again. */
	if (port < 1024) {
		snprintf(err, len, "metrics.listen %s: ports below 1024 need "
			 "CAP_NET_BIND_SERVICE, which clusterd does not keep; use a port of 1024 "
			 "or above (9677 is usual)", ep);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->b, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->b, 16);
		sl = sizeof(*s6);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "metrics.listen %s: socket: %s", ep, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0) {
		snprintf(err, len, "metrics.listen %s: %s", ep, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void metrics_drop(struct metrics *m, struct metrics_client *c)
{
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static struct metrics *metrics_new(char *err, size_t len)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, len, "metrics: out of memory");
		return NULL;
	}
	m->lfd = -1;
	for (size_t i = 0; i < METRICS_CLIENTS_MAX; i++)
		m->c[i].fd = -1;
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->ep < 0) {
		snprintf(err, len, "metrics: epoll: %s", strerror(errno));
		free(m);
		return NULL;
	}
	return m;
}

static void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < METRICS_CLIENTS_MAX; i++)
		if (m->c[i].fd >= 0)
			metrics_drop(m, &m->c[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	close(m->ep);
	free(m);
}

/* --- the subsystem: reload ---------------------------------------------------------- */

static int metrics_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			   size_t len)
{
	struct metrics_prep *p = calloc(1, sizeof(*p));
	struct metrics *m = d->metrics;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = METRICS_LISTENER };

	if (!p) {
		snprintf(err, len, "metrics: out of memory");
		return -1;
	}
	p->lfd = -1;
	p->addr = nc->metrics_addr;
	p->port = nc->metrics_port;
	if (!m) {
		m = p->fresh = metrics_new(err, len);
		if (!m) {
			free(p);
			return -1;
		}
	}
	if (m->lfd >= 0 && nc->metrics_port == m->port && addr_eq(&nc->metrics_addr, &m->addr)) {
		*prep = p;	/* the same address: the same socket */
		return 0;
	}
	p->close_old = m->lfd >= 0;
	if (nc->metrics_port) {
		/* Bound (and in the epoll set) before the old one closes: a
		 * failure leaves the running endpoint as it was. */
		p->lfd = metrics_listen(&nc->metrics_addr, nc->metrics_port, err, len);
		if (p->lfd >= 0 && epoll_ctl(m->ep, EPOLL_CTL_ADD, p->lfd, &ev) < 0) {
			snprintf(err, len, "metrics: epoll: %s", strerror(errno));
			close(p->lfd);
			p->lfd = -1;
		}
		if (p->lfd < 0) {
			metrics_free(p->fresh);
			free(p);
			return -1;
		}
	}
	*prep = p;
	return 0;
}

static void metrics_commit(struct daemon *d, void *prep)
{
	struct metrics_prep *p = prep;
	struct metrics *m;
	char ep[ADDR_STRLEN + 8];

	if (p->fresh)
		d->metrics = p->fresh;
	m = d->metrics;
	if (p->close_old) {
		epoll_ctl(m->ep, EPOLL_CTL_DEL, m->lfd, NULL);
		close(m->lfd);
		m->lfd = -1;
		log_info("metrics: no longer listening on %s",
			 addr_fmt_ep(&m->addr, m->port, ep, sizeof(ep)));
	}
	if (p->lfd >= 0) {
		m->lfd = p->lfd;
		m->addr = p->addr;
		m->port = p->port;
		log_info("metrics: serving http://%s/metrics",
			 addr_fmt_ep(&m->addr, m->port, ep, sizeof(ep)));
	}
	free(p);
}

static void metrics_abort(struct daemon *d, void *prep)
{
	struct metrics_prep *p = prep;

	if (p->lfd >= 0) {
		struct metrics *m = p->fresh ? p->fresh : d->metrics;

		epoll_ctl(m->ep, EPOLL_CTL_DEL, p->lfd, NULL);
		close(p->lfd);
	}
	metrics_free(p->fresh);
	free(p);
}

/* A client that is not done by its deadline goes; one still waiting for
 * its answer counts as a timeout. */
static void metrics_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct metrics *m = d->metrics;

	if (!m)
		return;
	for (size_t i = 0; i < METRICS_CLIENTS_MAX; i++) {
		struct metrics_client *c = &m->c[i];

		if (c->fd < 0)
			continue;
		if (now >= c->deadline_ms) {
			if (c->phase != MC_DRAIN)
				m->st.timeout++;
			metrics_drop(m, c);
		} else if (c->deadline_ms < *next) {
			*next = c->deadline_ms;
		}
	}
}

static void metrics_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	struct metrics *m = d->metrics;
	struct metrics_stats st = { 0 };
	uint64_t clients = 0;

	if (m) {
		st = m->st;
		for (size_t i = 0; i < METRICS_CLIENTS_MAX; i++)
			clients += m->c[i].fd >= 0;
	}
	/* a gauge: connections open now */
	emit(arg, "metrics.clients", clients);
#define METRICS_EMIT(f, n) emit(arg, "metrics." n, st.f);
	METRICS_STATS_LIST(METRICS_EMIT)
#undef METRICS_EMIT
}

const struct subsys metrics_subsys = {
	.name = "metrics",
	.prepare = metrics_prepare,
	.commit = metrics_commit,
	.abort = metrics_abort,
	.tick = metrics_tick,
	.stats = metrics_stats,
};

int metrics_fd(const struct daemon *d)
{
	return d->metrics ? d->metrics->ep : -1;
}

void metrics_close(struct daemon *d)
{
	metrics_free(d->metrics);
	d->metrics = NULL;
}

/* --- the exposition -------------------------------------------------------------------- */

/* The `clusterctl stats` counters, as ctl_stats_walk gives them. */
struct metrics_stat {
	struct prom_map map;
	uint64_t v;
	size_t order;
};

struct metrics_stat_vec {
	struct metrics_stat *v;
	size_t n, cap;
	bool oom;
};

static void metrics_collect(void *arg, const char *name, uint64_t value)
{
	struct metrics_stat_vec *s = arg;
	struct metrics_stat *e;

	if (s->oom)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct metrics_stat *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n];
	if (!prom_map_stat(name, &e->map))
		return;	/* not a name a metric can carry: `clusterctl stats` has it */
	e->v = value;
	e->order = s->n++;
}

static int metrics_stat_cmp(const void *a, const void *b)
{
	const struct metrics_stat *x = a, *y = b;
	int r = strcmp(x->map.family, y->map.family);

	if (r)
		return r;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Every stats counter, each family's samples together under one HELP/TYPE. */
static void metrics_put_stats(struct prom_buf *b, struct metrics_stat_vec *s)
{
	qsort(s->v, s->n, sizeof(*s->v), metrics_stat_cmp);
	for (size_t i = 0; i < s->n; i++) {
		const struct prom_map *m = &s->v[i].map;
		struct prom_label l = { m->label, m->value };

		if (!i || strcmp(m->family, s->v[i - 1].map.family))
			prom_family(b, m->family, m->type == PROM_GAUGE ? "gauge" : "counter",
				    m->help);
		prom_sample_u64(b, m->family, &l, m->label ? 1 : 0, s->v[i].v);
	}
}

static void metrics_put_queues(struct prom_buf *b, const struct ctl_queue_stats *q,
			       unsigned n)
{
	char (*names)[8] = calloc(n ? n : 1, sizeof(*names));

	if (!names) {
		b->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "%u", q[i].queue);
	prom_family(b, "clusterd_queue_packets_total", "counter",
		    "Packets a worker read from its NFQUEUE queue (clusterctl stats: "
		    "workers[].packets)");
	for (unsigned i = 0; i < n; i++) {
		struct prom_label l = { "queue", names[i] };

		prom_sample_u64(b, "clusterd_queue_packets_total", &l, 1, q[i].packets);
	}
	prom_family(b, "clusterd_queue_verdicts_total", "counter",
		    "Verdicts a worker gave, by kind (the queue's share of clusterctl stats: "
		    "packets.rewritten, packets.accepted, packets.dropped)");
	for (unsigned i = 0; i < n; i++) {
		static const char *const v[3] = { "rewritten", "accepted", "dropped" };
		uint64_t val[3] = { q[i].rewritten, q[i].accepted, q[i].dropped };

		for (int k = 0; k < 3; k++) {
			struct prom_label l[2] = { { "queue", names[i] }, { "verdict", v[k] } };

			prom_sample_u64(b, "clusterd_queue_verdicts_total", l, 2, val[k]);
		}
	}
	prom_family(b, "clusterd_queue_kernel_dropped_total", "counter",
		    "Packets the kernel dropped before the worker read them: the queue was "
		    "full, or the netlink socket overran (/proc/net/netfilter/nfnetlink_queue; "
		    "clusterctl stats: workers[].kernel_queue_dropped, kernel_user_dropped)");
	for (unsigned i = 0; i < n; i++) {
		struct prom_label l[2] = { { "queue", names[i] }, { "reason", "queue_full" } };

		prom_sample_u64(b, "clusterd_queue_kernel_dropped_total", l, 2,
				q[i].queue_dropped);
		l[1].value = "user";
		prom_sample_u64(b, "clusterd_queue_kernel_dropped_total", l, 2,
				q[i].user_dropped);
	}
	prom_family(b, "clusterd_queue_waiting_packets", "gauge",
		    "Packets waiting in the kernel for the worker (clusterctl stats: "
		    "workers[].kernel_waiting)");
	for (unsigned i = 0; i < n; i++) {
		struct prom_label l = { "queue", names[i] };

		prom_sample_u64(b, "clusterd_queue_waiting_packets", &l, 1, q[i].waiting);
	}
	free(names);
}

static void metrics_put_vipas(struct prom_buf *b, struct daemon *d)
{
	const struct cfg *c = d->cfg;
	char ab[ADDR_STRLEN];
	bool any_alt = false;

	prom_family(b, "clusterd_vipa_owned", "gauge",
		    "1 while this node holds the VIPA (distributes it), else 0");
	for (size_t i = 0; i < c->n_vipas; i++) {
		struct prom_label l = { "vipa", addr_fmt(&c->vipas[i].addr, ab, sizeof(ab)) };

		prom_sample_u64(b, "clusterd_vipa_owned", &l, 1, d->vipas[i].owned);
		any_alt |= c->vipas[i].has_alt;
	}
	if (any_alt) {
		prom_family(b, "clusterd_vipa_alternate_held", "gauge",
			    "1 while this node holds the VIPA's alternate address, else 0");
		for (size_t i = 0; i < c->n_vipas; i++) {
			struct prom_label l = { "vipa",
						addr_fmt(&c->vipas[i].addr, ab, sizeof(ab)) };

			if (c->vipas[i].has_alt)
				prom_sample_u64(b, "clusterd_vipa_alternate_held", &l, 1,
						d->vipas[i].alt_owned);
		}
	}
	prom_family(b, "clusterd_ready", "gauge",
		    "1 once this node holds the replicated tables and may distribute");
	prom_sample_u64(b, "clusterd_ready", NULL, 0, d->ready);
	prom_family(b, "clusterd_leaving", "gauge",
		    "1 while this node leaves the cluster (after SIGTERM)");
	prom_sample_u64(b, "clusterd_leaving", NULL, 0, d->leaving);
}

/* The connections of every worker's table by service: each worker's
 * per-service counts (nfq/conn.h), copied under its lock. */
static void metrics_put_services(struct prom_buf *b, struct daemon *d)
{
	const struct cfg *c = d->cfg;
	const struct view *v = d->view;
	struct conn_svc svc[CONN_SVC_MAX];
	size_t n_svcs = 0, k = 0;
	uint64_t *conns, other = 0;

	for (size_t i = 0; i < c->n_vipas; i++)
		n_svcs += c->vipas[i].n_svcs;
	conns = calloc(n_svcs ? n_svcs : 1, sizeof(*conns));
	if (!conns) {
		b->oom = true;
		return;
	}
	for (unsigned w = 0; w < d->n_workers; w++) {
		struct worker *wk = &d->workers[w];
		size_t n = 0, o = 0;

		pthread_mutex_lock(&wk->lock);
		if (wk->conns)
			n = conn_svc_counts(wk->conns, svc, CONN_SVC_MAX, &o);
		pthread_mutex_unlock(&wk->lock);
		other += o;
		for (size_t s = 0; s < n; s++) {
			bool found = false;

			k = 0;
			for (size_t i = 0; i < c->n_vipas && !found; i++) {
				const struct cfg_vipa *vp = &c->vipas[i];

				for (size_t j = 0; j < vp->n_svcs; j++, k++) {
					if (svc[s].family == vp->addr.family &&
					    svc[s].proto == vp->svcs[j].proto &&
					    svc[s].vport == vp->svcs[j].port &&
					    addr_eq(&svc[s].vaddr, &vp->addr)) {
						conns[k] += svc[s].n;
						found = true;
						break;
					}
				}
			}
			if (!found)
				other += svc[s].n;
		}
	}
	prom_family(b, "clusterd_service_connections", "gauge",
		    "Entries of the workers' connection tables for the service (TCP and UDP "
		    "flows; SCTP associations are clusterd_sctp_associations)");
	k = 0;
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		char ab[ADDR_STRLEN], port[8];

		addr_fmt(&vp->addr, ab, sizeof(ab));
		for (size_t j = 0; j < vp->n_svcs; j++, k++) {
			struct prom_label l[3] = { { "vipa", ab }, { "port", port },
						   { "protocol", cfg_proto_name(vp->svcs[j].proto) } };

			snprintf(port, sizeof(port), "%u", vp->svcs[j].port);
			prom_sample_u64(b, "clusterd_service_connections", l, 3, conns[k]);
		}
	}
	prom_family(b, "clusterd_service_connections_other", "gauge",
		    "Entries of the connection tables counted under no configured service (a "
		    "service removed by a reload, or more distinct services than a table counts)");
	prom_sample_u64(b, "clusterd_service_connections_other", NULL, 0, other);
	free(conns);
	/* The targets, as `clusterctl status` shows them. */
	for (int pass = 0; pass < 2; pass++) {
		const char *fam = pass ? "clusterd_service_targets_current" :
					 "clusterd_service_targets";

		prom_family(b, fam, "gauge", pass ?
			    "Targets the service sends new connections to now: alive, listening, "
			    "not drained (clusterctl status: targets_up)" :
			    "Targets of the service (clusterctl status: targets)");
		for (size_t i = 0; i < c->n_vipas; i++) {
			const struct cfg_vipa *vp = &c->vipas[i];
			char ab[ADDR_STRLEN], port[8];

			addr_fmt(&vp->addr, ab, sizeof(ab));
			for (size_t j = 0; j < vp->n_svcs; j++) {
				const struct cfg_service *s = &vp->svcs[j];
				const struct view_service *vs =
					view_find_service(v, vp->addr.family, s->proto, &vp->addr,
							  s->port);
				struct prom_label l[3] = { { "vipa", ab }, { "port", port },
							   { "protocol", cfg_proto_name(s->proto) } };

				snprintf(port, sizeof(port), "%u", s->port);
				prom_sample_u64(b, fam, l, 3, pass ? (vs ? vs->n_active : 0) :
						vs ? vs->n_targets : s->n_targets);
			}
		}
	}
}

static void metrics_put_nodes(struct prom_buf *b, struct daemon *d, uint64_t now)
{
	const struct cfg *c = d->cfg;
	const struct cdat *t = &d->cdat.cur;
	bool any = false;

	prom_family(b, "clusterd_node_up", "gauge",
		    "1 while the node counts as alive (clusterctl status: alive), else 0");
	for (size_t n = 0; n < c->n_nodes; n++) {
		struct prom_label l = { "node", c->nodes[n].name };

		prom_sample_u64(b, "clusterd_node_up", &l, 1, dsync_node_alive(d, n));
	}
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++)
		any |= (long)n != c->self && d->peers[n].mn.heard;
	if (any) {
		prom_family(b, "clusterd_node_last_heard_seconds", "gauge",
			    "Seconds since the node's last heartbeat (absent before the first)");
		for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++) {
			const struct member_node *mn = &d->peers[n].mn;
			struct prom_label l = { "node", c->nodes[n].name };

			if ((long)n != c->self && mn->heard)
				prom_sample_f(b, "clusterd_node_last_heard_seconds", &l, 1,
					      now > mn->last_ms ? (double)(now - mn->last_ms) / 1000 :
					      0);
		}
	}
	any = false;
	for (size_t n = 0; n < c->n_nodes; n++)
		any |= (long)n != c->self && dsync_config_agreement(d, n) != DSYNC_CFG_UNKNOWN;
	if (any) {
		prom_family(b, "clusterd_node_config_agrees", "gauge",
			    "1 when the shared parts of the node's configuration are the same as "
			    "ours, 0 when they differ (absent while unknown)");
		for (size_t n = 0; n < c->n_nodes; n++) {
			enum dsync_cfg_agree a = dsync_config_agreement(d, n);
			struct prom_label l = { "node", c->nodes[n].name };

			if ((long)n != c->self && a != DSYNC_CFG_UNKNOWN)
				prom_sample_u64(b, "clusterd_node_config_agrees", &l, 1,
						a == DSYNC_CFG_SAME);
		}
	}
	/* Reachability of the other nodes' addresses: this node's own
	 * observations, from the committed CDAT (clusterctl cdat). */
	for (int pass = 0; pass < 2; pass++) {
		const char *fam = pass ? "clusterd_address_rtt_seconds" :
					 "clusterd_address_reachable";

		prom_family(b, fam, "gauge", pass ?
			    "Smoothed heartbeat round trip to the address (clusterctl cdat: rtt_ms; "
			    "absent before an answer)" :
			    "1 when the address answers heartbeats, 0 when it does not (clusterctl "
			    "cdat: status; absent while unknown)");
		for (size_t i = 0; i < t->n; i++) {
			const struct cdat_node *cn = &t->nodes[i];

			if (!strcmp(cn->name, c->node_name))
				continue;
			for (size_t k = 0; k < cn->n_addrs; k++) {
				const struct cdat_addr *a = &cn->addrs[k];
				char ab[ADDR_STRLEN];
				struct prom_label l[2] = { { "node", cn->name },
							   { "address",
							     addr_fmt(&a->ip, ab, sizeof(ab)) } };

				if (!pass && a->status != CDAT_UNKNOWN)
					prom_sample_u64(b, fam, l, 2, a->status == CDAT_REACHABLE);
				if (pass && a->last_ok_ms)
					prom_sample_f(b, fam, l, 2, a->rtt_us / 1e6);
			}
		}
	}
}

/* Replication towards every other node: what waits for it, and how long
 * the oldest message it has not acknowledged has waited. */
static void metrics_put_replication(struct prom_buf *b, struct daemon *d, uint64_t now)
{
	const struct cfg *c = d->cfg;

	prom_family(b, "clusterd_replication_backlog_records", "gauge",
		    "State messages for the node not acknowledged yet: queued on its reliable "
		    "channel, plus the replication and SCTP backlogs waiting for room there");
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++) {
		const struct peer *p = &d->peers[n];
		struct prom_label l = { "node", c->nodes[n].name };

		if (p->self || !p->tx)
			continue;
		prom_sample_u64(b, "clusterd_replication_backlog_records", &l, 1,
				(uint64_t)rel_tx_queued(p->tx) + drepl_backlog_len(d, n) +
				dsctp_backlog_len(d, n));
	}
	prom_family(b, "clusterd_replication_lag_seconds", "gauge",
		    "Age of the oldest state message sent to the node that it has not "
		    "acknowledged on the reliable channel; 0 when it has everything");
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++) {
		const struct peer *p = &d->peers[n];
		struct prom_label l = { "node", c->nodes[n].name };
		uint64_t at = 0;

		if (p->self || !p->tx)
			continue;
		prom_sample_f(b, "clusterd_replication_lag_seconds", &l, 1,
			      rel_tx_oldest_ms(p->tx, &at) && now > at ?
			      (double)(now - at) / 1000 : 0);
	}
}

static void metrics_put_daemon(struct prom_buf *b, struct daemon *d)
{
	struct prom_label info[3] = {
		{ "node", d->cfg->node_name },
		{ "version", PACKAGE_VERSION },
		{ "cluster", d->cfg->cluster_name },
	};

	prom_family(b, "clusterd_info", "gauge", "This node's name, version and cluster");
	prom_sample_u64(b, "clusterd_info", info, 3, 1);
	prom_family(b, "clusterd_start_time_seconds", "gauge",
		    "When the daemon started (Unix time)");
	prom_sample_u64(b, "clusterd_start_time_seconds", NULL, 0, (uint64_t)d->started);
	prom_family(b, "clusterd_config_reloads_total", "counter",
		    "Configuration reloads that took effect (clusterctl status: reloads)");
	prom_sample_u64(b, "clusterd_config_reloads_total", NULL, 0, d->reloads);
	if (d->takeover.at_ms) {
		uint64_t f = __atomic_load_n(&d->takeover.first_fwd_ms, __ATOMIC_SEQ_CST);

		prom_family(b, "clusterd_last_takeover_timestamp_seconds", "gauge",
			    "When this node last took VIPAs over (Unix time; clusterctl status: "
			    "last_takeover.at_ms)");
		prom_sample_f(b, "clusterd_last_takeover_timestamp_seconds", NULL, 0,
			      (double)d->takeover.at_ms / 1000);
		if (f && f >= d->takeover.at_ms) {
			prom_family(b, "clusterd_last_takeover_first_forward_seconds", "gauge",
				    "From the last takeover to the first packet forwarded for a "
				    "VIPA it took (clusterctl status: "
				    "last_takeover.first_forward_after_ms)");
			prom_sample_f(b, "clusterd_last_takeover_first_forward_seconds", NULL, 0,
				      (double)(f - d->takeover.at_ms) / 1000);
		}
	}
}

/* The whole exposition, built at once: a consistent snapshot, written
 * afterwards as the client takes it.  false: out of memory. */
static bool metrics_build(struct daemon *d, struct prom_buf *b)
{
	struct metrics_stat_vec s = { 0 };
	struct ctl_queue_stats *q = calloc(d->n_workers ? d->n_workers : 1, sizeof(*q));
	uint64_t now = daemon_now_ms();

	if (!q)
		return false;
	/* The metrics' own counters are in the walk: count this one first. */
	d->metrics->st.requests++;
	ctl_stats_walk(d, metrics_collect, &s, q);
	if (s.oom) {
		free(s.v);
		free(q);
		return false;
	}
	metrics_put_daemon(b, d);
	metrics_put_vipas(b, d);
	metrics_put_services(b, d);
	metrics_put_queues(b, q, d->n_workers);
	metrics_put_nodes(b, d, now);
	metrics_put_replication(b, d, now);
	metrics_put_stats(b, &s);
	free(s.v);
	free(q);
	return !b->oom;
}

/* --- HTTP ------------------------------------------------------------------------------ */

/* Makes the answer the client's output and starts writing it. */
static bool metrics_answer(struct metrics *m, struct metrics_client *c, int code,
			   const char *reason, const char *extra, const struct prom_buf *body,
			   bool head_only)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - m->c) };
	struct prom_buf out;

	prom_buf_init(&out);
	prom_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n%s\r\n", code, reason,
		    code == 200 ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
		    body->len, extra ? extra : "");
	if (!head_only && body->len)
		prom_printf(&out, "%.*s", (int)body->len, body->p);
	if (out.oom) {
		prom_buf_free(&out);
		m->st.no_memory++;
		return false;
	}
	c->out = out.p;
	c->len = out.len;
	c->off = 0;
	c->phase = MC_WRITE;
	epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

static bool metrics_error(struct metrics *m, struct metrics_client *c, int code,
			  const char *reason, const char *extra)
{
	struct prom_buf body;
	bool ok;

	prom_buf_init(&body);
	prom_printf(&body, "%d %s\n", code, reason);
	ok = !body.oom && metrics_answer(m, c, code, reason, extra, &body, false);
	prom_buf_free(&body);
	return ok;
}

/* The request head is in: answer it. false: drop the client. */
static bool metrics_request(struct daemon *d, struct metrics *m, struct metrics_client *c,
			    enum prom_http_result r, const struct prom_http_req *req)
{
	struct prom_buf body;
	bool head, ok;

	if (r == PROM_HTTP_BAD) {
		m->st.bad_request++;
		return metrics_error(m, c, 400, "Bad Request", NULL);
	}
	if (r == PROM_HTTP_TOO_LARGE) {
		m->st.too_large++;
		return metrics_error(m, c, 431, "Request Header Fields Too Large", NULL);
	}
	if (strcmp(req->path, "/metrics")) {
		m->st.not_found++;
		return metrics_error(m, c, 404, "Not Found", NULL);
	}
	head = !strcmp(req->method, "HEAD");
	if (!head && strcmp(req->method, "GET")) {
		m->st.method++;
		return metrics_error(m, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
	}
	prom_buf_init(&body);
	if (!metrics_build(d, &body)) {
		prom_buf_free(&body);
		m->st.no_memory++;
		return metrics_error(m, c, 503, "Service Unavailable", NULL);
	}
	ok = metrics_answer(m, c, 200, "OK", NULL, &body, head);
	prom_buf_free(&body);
	return ok;
}

/* Writes what the socket takes; once all is out, our side shuts down and
 * the client's last bytes are read until it closes.  false: drop it. */
static bool metrics_write(struct metrics *m, struct metrics_client *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)(c - m->c) };

	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			m->st.io++;
			return false;
		}
		c->off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->off = c->len = 0;
	c->phase = MC_DRAIN;
	shutdown(c->fd, SHUT_WR);
	epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

/* Reads what came.  false: drop the client. */
static bool metrics_read(struct daemon *d, struct metrics *m, struct metrics_client *c)
{
	for (;;) {
		char sink[4096];
		struct prom_http_req req;
		enum prom_http_result r;
		ssize_t n;

		if (c->phase == MC_DRAIN) {
			n = read(c->fd, sink, sizeof(sink));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return true;
			if (n <= 0)
				return false;	/* it closed: done */
			continue;
		}
		n = read(c->fd, c->in + c->got, sizeof(c->in) - c->got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0) {
			m->st.io++;
			return false;
		}
		if (n == 0 && !c->got)
			return false;	/* connected and closed: nothing to answer */
		c->got += (size_t)n;
		r = prom_http_parse(c->in, c->got, sizeof(c->in), &req);
		if (r == PROM_HTTP_INCOMPLETE && n == 0)
			r = PROM_HTTP_BAD;	/* closed before the end of its head */
		if (r == PROM_HTTP_INCOMPLETE)
			continue;
		if (!metrics_request(d, m, c, r, &req))
			return false;
		return metrics_write(m, c);
	}
}

static void metrics_accept(struct metrics *m, uint64_t now)
{
	/* Bounded per pass: the listener stays readable (level-triggered), so
	 * a burst of connections cannot hold the main loop here. */
	for (unsigned round = 0; round < 2 * METRICS_CLIENTS_MAX; round++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		size_t i;

		if (fd < 0)
			return;
		for (i = 0; i < METRICS_CLIENTS_MAX && m->c[i].fd >= 0; i++)
			;
		if (i == METRICS_CLIENTS_MAX) {
			/* Full: the oldest goes, so that a scrape gets through
			 * whatever idle connections pile up. */
			i = 0;
			for (size_t k = 1; k < METRICS_CLIENTS_MAX; k++)
				if (m->c[k].since_ms < m->c[i].since_ms)
					i = k;
			m->st.clients_dropped++;
			metrics_drop(m, &m->c[i]);
		}
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			m->st.io++;
			close(fd);
			continue;
		}
		m->c[i].fd = fd;
		m->c[i].phase = MC_READ;
		m->c[i].got = 0;
		m->c[i].since_ms = now;
		m->c[i].deadline_ms = now + METRICS_CLIENT_MS;
	}
}

void metrics_serve(struct daemon *d)
{
	struct metrics *m = d->metrics;
	struct epoll_event evs[METRICS_CLIENTS_MAX + 1];
	uint64_t now = daemon_now_ms();
	int n;

	if (!m)
		return;
	n = epoll_wait(m->ep, evs, METRICS_CLIENTS_MAX + 1, 0);
	for (int i = 0; i < n; i++) {
		uint32_t k = evs[i].data.u32;
		struct metrics_client *c;
		bool keep;

		if (k == METRICS_LISTENER) {
			if (m->lfd >= 0)
				metrics_accept(m, now);
			continue;
		}
		if (k >= METRICS_CLIENTS_MAX || m->c[k].fd < 0)
			continue;
		c = &m->c[k];
		if (c->phase == MC_WRITE)
			keep = metrics_write(m, c);
		else
			keep = metrics_read(d, m, c);
		if (!keep)
			metrics_drop(m, c);
	}
}
