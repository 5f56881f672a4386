/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/ctl.h"
#include "daemon/log.h"
#include "daemon/dsync.h"
#include "daemon/drepl.h"
#include "daemon/worker.h"

#define CTL_CONNS_MAX 100000	/* rows in one `conns` answer */

/* Clients are served without blocking, beside the heartbeats: each one may
 * take up to CTL_CLIENT_MS to send its line and read its answer. */
#define CTL_CLIENTS_MAX 32
#define CTL_CLIENT_MS 5000
#define CTL_LINE_MAX 512
#define CTL_JOBS_MAX 2		/* conns answers formatted at once */
#define CTL_CONNS_MS 10000	/* a conns answer is cut off when not read by then */

struct ctl_client {
	int fd;			/* -1: free slot */
	uint64_t since_ms;
	char in[CTL_LINE_MAX];
	size_t got;
	char *out;		/* the answer, once the line is in */
	size_t off, len;
};

struct ctl_server {
	int ep;			/* epoll: the listener and the clients */
	int lfd;
	char path[108];
	struct ctl_client c[CTL_CLIENTS_MAX];
	uint64_t dropped;	/* clients closed for being slow or too many */
	unsigned busy;		/* conns answers being written by threads (atomic) */
};

/* The socket's directory (/run/clusterd by default) is made by systemd's
 * RuntimeDirectory= under the unit; run by hand, the daemon makes it, one
 * level only, like a runtime directory. */
static void ctl_make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return;	/* bind() says what is wrong */
}

struct ctl_server *ctl_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CTL_CLIENTS_MAX };
	struct ctl_server *s;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "control socket: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		s->c[i].fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	strcpy(sun.sun_path, path);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->ep < 0 || s->lfd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	ctl_make_dir(path);
	unlink(path);	/* a stale socket left by a crash */
	if (bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(s->lfd, 16) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	chmod(path, 0600);
	return s;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->ep >= 0)
		close(s->ep);
	free(s);
	return NULL;
}

int ctl_fd(const struct ctl_server *s)
{
	return s->ep;
}

static void ctl_drop(struct ctl_server *s, struct ctl_client *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void ctl_close(struct ctl_server *s)
{
	if (!s)
		return;
	/* A conns thread stops writing after CTL_CONNS_MS (and one 5 s send
	 * timeout): wait 7 s for it, or leave the server to it rather than
	 * free what it uses. */
	for (int i = 0; i < 700 && __atomic_load_n(&s->busy, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	if (__atomic_load_n(&s->busy, __ATOMIC_SEQ_CST))
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->c[i].fd >= 0)
			ctl_drop(s, &s->c[i]);
	close(s->lfd);
	close(s->ep);
	unlink(s->path);
	free(s);
}

static const char *ctl_fmt_ep(const struct ip_addr *a, uint16_t port, char *buf, size_t len)
{
	char ab[ADDR_STRLEN];

	addr_fmt(a, ab, sizeof(ab));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ab, port);
	else
		snprintf(buf, len, "%s:%u", ab, port);
	return buf;
}

static const char *ctl_state_name(uint8_t s)
{
	static const char *names[] = { "SYN", "EST", "FIN", "CLOSED", "UDP" };

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const struct view *ctl_view(struct daemon *d)
{
	/* The main thread is the only writer of d->view: no swap can race. */
	return d->view;
}

static json_t *ctl_status(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	const struct view *v = ctl_view(d);
	json_t *o = json_object(), *vips = json_array(), *nodes = json_array();
	uint64_t now = daemon_now_ms();

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(c->node_name));
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "uptime_s", json_integer(time(NULL) - d->started));
	json_object_set_new(o, "config", json_string(c->path));
	json_object_set_new(o, "generation", json_integer((json_int_t)v->generation));
	json_object_set_new(o, "reloads", json_integer((json_int_t)d->reloads));
	json_object_set_new(o, "workers", json_integer(d->n_workers));
	json_object_set_new(o, "queue_base", json_integer(d->queue_base));
	json_object_set_new(o, "queue_kind", json_string(d->native_queue ? "native" : "xt"));
	json_object_set_new(o, "rules", json_string(c->manage_rules ? "managed" : "external"));
	json_object_set_new(o, "ready", json_boolean(d->ready));
	json_object_set_new(o, "leaving", json_boolean(d->leaving));
	if (d->takeover.at_ms) {
		json_t *t = json_object(), *vs = json_array();
		uint64_t f = __atomic_load_n(&d->takeover.first_fwd_ms, __ATOMIC_SEQ_CST);
		unsigned fv = __atomic_load_n(&d->takeover.fwd_vipa, __ATOMIC_SEQ_CST);
		char ab[ADDR_STRLEN];

		/* The VIPAs taken in the last takeover, when (wall clock ms),
		 * and the first packet forwarded for one of them (0: none yet;
		 * indexes of the running configuration). */
		for (size_t i = 0; i < c->n_vipas && i < 64; i++)
			if (d->takeover.mask & (1ull << i))
				json_array_append_new(vs, json_string(addr_fmt(&c->vipas[i].addr,
									 ab, sizeof(ab))));
		json_object_set_new(t, "vipas", vs);
		json_object_set_new(t, "at_ms", json_integer((json_int_t)d->takeover.at_ms));
		json_object_set_new(t, "first_forward_ms", json_integer((json_int_t)f));
		json_object_set_new(t, "first_forward_vipa",
				    f && fv < c->n_vipas ?
				    json_string(addr_fmt(&c->vipas[fv].addr, ab, sizeof(ab))) :
				    json_null());
		json_object_set_new(t, "first_forward_after_ms",
				    f >= d->takeover.at_ms ? json_integer((json_int_t)(f -
						d->takeover.at_ms)) : json_null());
		json_object_set_new(o, "last_takeover", t);
	}
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		const struct vipa_state *vs = &d->vipas[i];
		json_t *jv = json_object(), *svcs = json_array();
		char ab[ADDR_STRLEN], since[32] = "";
		const char *role = "none";

		for (size_t k = 0; k < vp->n_dists; k++)
			if ((long)vp->dists[k].node == c->self)
				role = vs->owned ? "distributor" : "backup";
		if (vs->since)
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&vs->since));
		json_object_set_new(jv, "address", json_string(addr_fmt(&vp->addr, ab, sizeof(ab))));
		json_object_set_new(jv, "interface", json_string(vp->ifname));
		json_object_set_new(jv, "role", json_string(role));
		json_object_set_new(jv, "owner", json_string(vs->owner));
		json_object_set_new(jv, "backup", json_string(vs->backup));
		json_object_set_new(jv, "yielded", json_boolean(vs->yield));
		json_object_set_new(jv, "since", json_string(since));
		json_object_set_new(jv, "changed_ms", json_integer((json_int_t)vs->changed_ms));
		for (size_t k = 0; k < vp->n_svcs; k++) {
			const struct cfg_service *s = &vp->svcs[k];
			const struct view_service *vsv =
				view_find_service(v, vp->addr.family, s->proto, &vp->addr, s->port);
			json_t *js = json_object();

			json_object_set_new(js, "port", json_integer(s->port));
			json_object_set_new(js, "protocol", json_string(cfg_proto_name(s->proto)));
			json_object_set_new(js, "target_port", json_integer(s->target_port));
			json_object_set_new(js, "scheduler", json_string(cfg_sched_name(s->sched)));
			json_object_set_new(js, "targets_up",
					    json_integer(vsv ? (json_int_t)vsv->n_active : 0));
			json_object_set_new(js, "targets",
					    json_integer(vsv ? (json_int_t)vsv->n_targets
							     : (json_int_t)s->n_targets));
			json_array_append_new(svcs, js);
		}
		json_object_set_new(jv, "services", svcs);
		json_array_append_new(vips, jv);
	}
	json_object_set_new(o, "vipas", vips);
	for (size_t n = 0; n < c->n_nodes; n++) {
		json_t *jn = json_object();
		const struct member_node *mn = &d->member.nodes[n];

		json_object_set_new(jn, "name", json_string(c->nodes[n].name));
		json_object_set_new(jn, "alive", json_boolean(dsync_node_alive(d, n)));
		json_object_set_new(jn, "self", json_boolean((long)n == c->self));
		json_object_set_new(jn, "drained", json_boolean(d->drained[n]));
		if ((long)n != c->self && mn->heard)
			json_object_set_new(jn, "last_heard_ms",
					    json_integer((json_int_t)(now - mn->last_ms)));
		json_array_append_new(nodes, jn);
	}
	json_object_set_new(o, "nodes", nodes);
	return o;
}

static json_t *ctl_targets(struct daemon *d)
{
	const struct view *v = ctl_view(d);
	json_t *o = json_object(), *arr = json_array();

	json_object_set_new(o, "ok", json_true());
	for (size_t i = 0; i < v->n_svcs; i++) {
		const struct view_service *s = &v->svcs[i];

		for (size_t k = 0; k < s->n_targets; k++) {
			const struct view_target *t = &s->targets[k];
			json_t *jt = json_object();
			char ab[ADDR_STRLEN];

			json_object_set_new(jt, "vipa",
					    json_string(addr_fmt(&s->vaddr, ab, sizeof(ab))));
			json_object_set_new(jt, "port", json_integer(s->port));
			json_object_set_new(jt, "protocol", json_string(cfg_proto_name(s->proto)));
			json_object_set_new(jt, "node", json_string(t->name));
			json_object_set_new(jt, "address",
					    json_string(addr_fmt(&t->addr, ab, sizeof(ab))));
			json_object_set_new(jt, "target_port", json_integer(s->tport));
			json_object_set_new(jt, "weight", json_integer(t->weight));
			json_object_set_new(jt, "alive", json_boolean(t->alive));
			json_object_set_new(jt, "listening", json_boolean(t->listening));
			json_object_set_new(jt, "drained", json_boolean(t->drained));
			json_object_set_new(jt, "active", json_boolean(t->active));
			json_object_set_new(jt, "conns", json_integer(__atomic_load_n(
				&v->node_conns[t->node], __ATOMIC_RELAXED)));
			json_array_append_new(arr, jt);
		}
	}
	json_object_set_new(o, "targets", arr);
	return o;
}

static json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* conns: a thread of its own per answer copies the rows out of the workers'
 * tables (each worker's lock taken for CTL_COPY_BUCKETS buckets at a time),
 * names the targets and formats and writes the JSON, so that neither a worker
 * nor the main loop (the heartbeats) waits for 100000 rows.  The main thread
 * only hands the client over, with a copy of the node names; when
 * CTL_JOBS_MAX answers are under way it answers "busy" at once. */
#define CTL_COPY_BUCKETS 4096

struct ctl_row {
	struct conn c;
	char target[CFG_NAME_MAX];
};

/* A node's address and name, copied from the configuration by the main
 * thread: a reload may free the configuration while the thread runs. */
struct ctl_node_addr {
	struct ip_addr ip;
	char name[CFG_NAME_MAX];
};

struct ctl_conns_job {
	struct daemon *d;		/* workers and stop only (fixed, atomic) */
	struct ctl_node_addr *names;
	size_t n_names;
	struct ctl_row *rows;
	size_t n, cap, total;
	uint64_t now;
	int fd;				/* the client, blocking, 5 s send timeout */
	unsigned *busy;			/* the server's count of jobs (atomic) */
};

static int ctl_conn_copy(const struct conn *c, void *arg)
{
	struct ctl_conns_job *j = arg;

	if (j->n == j->cap)
		return 1;
	j->rows[j->n++].c = *c;
	return 0;
}

/* One worker's rows, a chunk of buckets per lock. */
static void ctl_conns_copy_worker(struct ctl_conns_job *j, struct worker *w)
{
	size_t b = 0, nb, count;

	pthread_mutex_lock(&w->lock);
	nb = conn_buckets(w->conns);
	pthread_mutex_unlock(&w->lock);
	while (b < nb && j->n < j->cap) {
		pthread_mutex_lock(&w->lock);
		b = conn_foreach_chunk(w->conns, b, CTL_COPY_BUCKETS, ctl_conn_copy, j);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_lock(&w->lock);
	count = conn_count(w->conns);
	pthread_mutex_unlock(&w->lock);
	j->total += count;
}

/* The rows of every worker's table, names resolved; NULL, or the error to
 * answer. */
static json_t *ctl_conns_collect(struct ctl_conns_job *j)
{
	struct daemon *d = j->d;
	size_t hint = 0;

	if (!worker_tables_enter(d))
		return ctl_error("the daemon is stopping");
	/* A size hint, with room for some growth; the copy stops at cap. */
	for (unsigned i = 0; i < d->n_workers; i++) {
		pthread_mutex_lock(&d->workers[i].lock);
		hint += conn_count(d->workers[i].conns);
		pthread_mutex_unlock(&d->workers[i].lock);
	}
	hint += hint / 8 + 64;
	j->cap = hint < CTL_CONNS_MAX ? hint : CTL_CONNS_MAX;
	j->rows = malloc(j->cap * sizeof(*j->rows));
	if (!j->rows) {
		worker_tables_leave(d);
		return ctl_error("out of memory for %zu rows", j->cap);
	}
	j->n = j->total = 0;
	j->now = daemon_now_ms();
	for (unsigned i = 0; i < d->n_workers; i++)
		ctl_conns_copy_worker(j, &d->workers[i]);
	worker_tables_leave(d);
	/* Rows added while copying may outnumber the counts read. */
	if (j->total < j->n)
		j->total = j->n;
	for (size_t i = 0; i < j->n; i++) {
		/* By address: right even before a worker renumbered its table
		 * after a reload. */
		const char *name = "?";

		for (size_t k = 0; k < j->n_names; k++)
			if (addr_eq(&j->names[k].ip, &j->rows[i].c.taddr)) {
				name = j->names[k].name;
				break;
			}
		snprintf(j->rows[i].target, sizeof(j->rows[i].target), "%s", name);
	}
	return NULL;
}

/* The answer is written as it is formatted: the client reads the first rows
 * while the last are made, and no JSON tree of 100000 objects is built. */
struct ctl_out {
	int fd;
	bool failed;		/* gone, too slow, or past the deadline */
	uint64_t deadline_ms;	/* the job slot is not held longer */
	size_t len;
	char buf[64 << 10];
};

static void ctl_out_flush(struct ctl_out *o)
{
	size_t off = 0;

	while (!o->failed && off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || daemon_now_ms() > o->deadline_ms)
			o->failed = true;
		else
			off += (size_t)n;
	}
	o->len = 0;
}

static void ctl_out_printf(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One piece of at most 2 KiB (a row is less than 1). */
static void ctl_out_printf(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sizeof(o->buf) - o->len < 2048)
		ctl_out_flush(o);
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n
							       : sizeof(o->buf) - o->len - 1;
}

/* s as a JSON string (a node name from the configuration: any bytes). */
static void ctl_json_str(char *out, size_t cap, const char *s)
{
	size_t k = 0;

	out[k++] = '"';
	for (; *s && k + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[k++] = '\\';
			out[k++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			/* Not UTF-8 checked: anything outside ASCII is escaped
			 * byte by byte. */
			k += (size_t)snprintf(out + k, cap - k, "\\u%04x", ch);
		} else {
			out[k++] = (char)ch;
		}
	}
	out[k++] = '"';
	out[k] = 0;
}

static void ctl_conns_write(const struct ctl_conns_job *j, struct ctl_out *o)
{
	ctl_out_printf(o, "{\"ok\":true,\"total\":%zu,\"truncated\":%s,\"conns\":[", j->total,
		       j->n < j->total ? "true" : "false");
	for (size_t i = 0; i < j->n && !o->failed; i++) {
		const struct conn *c = &j->rows[i].c;
		char cl[ADDR_STRLEN + 16], vi[ADDR_STRLEN + 16], ta[ADDR_STRLEN + 16];
		char name[6 * CFG_NAME_MAX + 3];

		ctl_json_str(name, sizeof(name), j->rows[i].target);
		ctl_out_printf(o, "%s{\"protocol\":\"%s\",\"client\":\"%s\",\"vipa\":\"%s\","
			       "\"target\":%s,\"target_address\":\"%s\",\"state\":\"%s\","
			       "\"age_s\":%" PRIu64 ",\"idle_s\":%" PRIu64 ",\"packets\":%" PRIu64
			       ",\"bytes\":%" PRIu64 "}", i ? "," : "",
			       cfg_proto_name(c->key.proto),
			       ctl_fmt_ep(&c->key.caddr, c->key.cport, cl, sizeof(cl)),
			       ctl_fmt_ep(&c->key.vaddr, c->key.vport, vi, sizeof(vi)), name,
			       ctl_fmt_ep(&c->taddr, c->tport, ta, sizeof(ta)),
			       ctl_state_name(c->state),
			       j->now > c->created_ms ? (j->now - c->created_ms) / 1000 : 0,
			       j->now > c->last_ms ? (j->now - c->last_ms) / 1000 : 0,
			       c->packets, c->bytes);
	}
	ctl_out_printf(o, "]}\n");
	ctl_out_flush(o);
}

static void *ctl_conns_thread(void *arg)
{
	struct ctl_conns_job *j = arg;
	json_t *err = ctl_conns_collect(j);
	struct ctl_out o = { .fd = j->fd, .deadline_ms = daemon_now_ms() + CTL_CONNS_MS };

	if (err) {
		char *s = json_dumps(err, JSON_COMPACT);

		if (s)
			ctl_out_printf(&o, "%.900s\n", s);
		free(s);
		ctl_out_flush(&o);
	} else {
		ctl_conns_write(j, &o);
	}
	json_decref(err);
	free(j->rows);
	free(j->names);
	close(j->fd);
	__atomic_fetch_sub(j->busy, 1, __ATOMIC_SEQ_CST);
	free(j);
	return NULL;
}

/* "section.key" counter names become nested objects. */
static void ctl_put_counter(json_t *root, const char *name, uint64_t val)
{
	char sec[64];
	const char *dot = strchr(name, '.');
	json_t *s;

	if (!dot || (size_t)(dot - name) >= sizeof(sec)) {
		json_object_set_new(root, name, json_integer((json_int_t)val));
		return;
	}
	memcpy(sec, name, (size_t)(dot - name));
	sec[dot - name] = 0;
	s = json_object_get(root, sec);
	if (!s) {
		s = json_object();
		json_object_set_new(root, sec, s);
	}
	json_object_set_new(s, dot + 1, json_integer((json_int_t)val));
}

/* Kernel-side drops of a queue: /proc/net/netfilter/nfnetlink_queue columns
 * are queue, portid, waiting, copy mode, copy range, queue dropped, user
 * dropped, last id, 1. */
static bool ctl_kernel_queue(uint16_t num, uint64_t *waiting, uint64_t *qdrop,
			     uint64_t *udrop)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	unsigned q, pid, mode, range;
	unsigned long long wt, qd, ud, id, one;
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%u %u %llu %u %u %llu %llu %llu %llu", &q, &pid, &wt, &mode, &range,
		      &qd, &ud, &id, &one) == 9) {
		if (q == num) {
			*waiting = wt;
			*qdrop = qd;
			*udrop = ud;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static json_t *ctl_stats(struct daemon *d)
{
	json_t *o = json_object(), *workers = json_array(), *sync, *rej;
	uint64_t tot[STAT__MAX] = { 0 };
	uint64_t overruns = 0, conns = 0;

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(d->cfg->node_name));
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		uint64_t waiting = 0, qdrop = 0, udrop = 0;
		json_t *jw = json_object();
		size_t n;

		for (int k = 0; k < STAT__MAX; k++)
			tot[k] += stats_get(&w->stats, (enum stats_id)k);
		pthread_mutex_lock(&w->lock);
		n = conn_count(w->conns);
		pthread_mutex_unlock(&w->lock);
		conns += n;
		ctl_kernel_queue(w->qnum, &waiting, &qdrop, &udrop);
		overruns += qdrop + udrop;
		json_object_set_new(jw, "queue", json_integer(w->qnum));
		json_object_set_new(jw, "packets",
				    json_integer((json_int_t)stats_get(&w->stats, STAT_RX)));
		json_object_set_new(jw, "conns", json_integer((json_int_t)n));
		json_object_set_new(jw, "kernel_waiting", json_integer((json_int_t)waiting));
		json_object_set_new(jw, "kernel_queue_dropped", json_integer((json_int_t)qdrop));
		json_object_set_new(jw, "kernel_user_dropped", json_integer((json_int_t)udrop));
		json_array_append_new(workers, jw);
	}
	for (int k = 0; k < STAT__MAX; k++)
		ctl_put_counter(o, stats_name((enum stats_id)k), tot[k]);
	ctl_put_counter(o, "queue.overruns", overruns + tot[STAT_Q_ENOBUFS]);
	ctl_put_counter(o, "conns.active", conns);
	if (d->ctl)
		ctl_put_counter(o, "ctl.clients_dropped", d->ctl->dropped);
	sync = json_object();
	rej = json_object();
	json_object_set_new(sync, "tx", json_integer((json_int_t)d->sync.tx));
	json_object_set_new(sync, "tx_errors", json_integer((json_int_t)d->sync.tx_errors));
	json_object_set_new(sync, "rx", json_integer((json_int_t)d->sync.rx));
	json_object_set_new(sync, "unknown_sender",
			    json_integer((json_int_t)d->sync.unknown_sender));
	for (int k = 1; k < WIRE__MAX; k++)
		json_object_set_new(rej, wire_status_name((enum wire_status)k),
				    json_integer((json_int_t)d->sync.rejected[k]));
	json_object_set_new(sync, "rejected", rej);
	{
		struct {
			const char *name;
			uint64_t v;
		} sv[] = {
			{ "heartbeats_sent", d->sync.hb_tx }, { "heartbeat_answers_sent", d->sync.hb_ack_tx },
			{ "heartbeat_answers_received", d->sync.hb_ack_rx },
			{ "state_sent", d->sync.state_tx }, { "state_received", d->sync.state_rx },
			{ "control_sent", d->sync.ctrl_tx },
			{ "reliable_queue_full", d->sync.rel_overflow },
			{ "outbox_overflow", d->sync.outbox_overflow },
			{ "cdat_refused", d->sync.cdat_errors },
			{ "unproven", d->sync.unproven },
			{ "foreign_source", d->sync.foreign_source },
			{ "heartbeat_source_mismatch", d->sync.hb_src_mismatch },
			{ "nodes_suspected", d->sync.suspected },
			{ "suspicions_cleared", d->sync.suspect_cleared },
			{ "nodes_declared_down", d->sync.declared_down },
			{ "datagrams_over_path_mtu", d->sync.tx_over_path },
		};
		struct rel_stats tx = { 0 }, rx = { 0 };
		json_t *jr = json_object();

		for (size_t k = 0; k < sizeof(sv) / sizeof(sv[0]); k++)
			json_object_set_new(sync, sv[k].name, json_integer((json_int_t)sv[k].v));
		for (size_t n = 0; n < d->n_known; n++) {
			const struct rel_stats *a, *b;

			if (!d->peers[n].tx)
				continue;
			a = rel_tx_stats(d->peers[n].tx);
			b = rel_rx_stats(d->peers[n].rx);
			tx.pushed += a->pushed; tx.sent += a->sent; tx.resent += a->resent;
			tx.acked += a->acked; tx.nacks_recv += a->nacks_recv;
			tx.resyncs += a->resyncs; tx.overflow += a->overflow;
			rx.delivered += b->delivered; rx.dups += b->dups;
			rx.out_of_order += b->out_of_order; rx.restarts += b->restarts;
			rx.nacks_sent += b->nacks_sent; rx.acks_sent += b->acks_sent;
		}
		json_object_set_new(jr, "queued", json_integer((json_int_t)tx.pushed));
		json_object_set_new(jr, "sent", json_integer((json_int_t)tx.sent));
		json_object_set_new(jr, "resent", json_integer((json_int_t)tx.resent));
		json_object_set_new(jr, "acked", json_integer((json_int_t)tx.acked));
		json_object_set_new(jr, "nacks_received", json_integer((json_int_t)tx.nacks_recv));
		json_object_set_new(jr, "resyncs", json_integer((json_int_t)tx.resyncs));
		json_object_set_new(jr, "delivered", json_integer((json_int_t)rx.delivered));
		json_object_set_new(jr, "duplicates", json_integer((json_int_t)rx.dups));
		json_object_set_new(jr, "out_of_order", json_integer((json_int_t)rx.out_of_order));
		json_object_set_new(jr, "peer_restarts", json_integer((json_int_t)rx.restarts));
		json_object_set_new(jr, "nacks_sent", json_integer((json_int_t)rx.nacks_sent));
		json_object_set_new(jr, "acks_sent", json_integer((json_int_t)rx.acks_sent));
		json_object_set_new(sync, "reliable", jr);
	}
	json_object_set_new(o, "sync", sync);
	{
		json_t *jr = json_object();

		json_object_set_new(jr, "replicas", json_integer((json_int_t)drepl_replicas(d)));
		json_object_set_new(jr, "records_sent", json_integer((json_int_t)d->repl.records_sent));
		json_object_set_new(jr, "records_received",
				    json_integer((json_int_t)d->repl.records_received));
		json_object_set_new(jr, "bulks_sent", json_integer((json_int_t)d->repl.bulks_sent));
		json_object_set_new(jr, "bulks_received",
				    json_integer((json_int_t)d->repl.bulks_received));
		json_object_set_new(jr, "bulks_incomplete",
				    json_integer((json_int_t)d->repl.bulks_incomplete));
		json_object_set_new(jr, "reports_sent", json_integer((json_int_t)d->repl.reports_sent));
		json_object_set_new(jr, "reports_received",
				    json_integer((json_int_t)d->repl.reports_received));
		json_object_set_new(jr, "log_dropped", json_integer((json_int_t)d->repl.log_dropped));
		json_object_set_new(jr, "store_full", json_integer((json_int_t)d->repl.store_full));
		json_object_set_new(jr, "backlog_dropped",
				    json_integer((json_int_t)d->repl.backlog_dropped));
		json_object_set_new(jr, "bulk_requests",
				    json_integer((json_int_t)d->repl.bulk_requests));
		json_object_set_new(jr, "replicas_expired",
				    json_integer((json_int_t)d->repl.replicas_expired));
		json_object_set_new(jr, "report_conns_added",
				    json_integer((json_int_t)d->repl.report_conns_added));
		json_object_set_new(sync, "repl", jr);
	}
	json_object_set_new(o, "workers", workers);
	return o;
}

static void ctl_hex(char *out, const uint8_t *b, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = 0;
}

static const char *ctl_addr_status(uint8_t s)
{
	return s == CDAT_REACHABLE ? "reachable" : s == CDAT_UNREACHABLE ? "unreachable"
									  : "unknown";
}

/* The committed CDAT, with this node's observations of every address. */
static json_t *ctl_cdat(struct daemon *d)
{
	const struct cdat *t = &d->cdat.cur;
	json_t *o = json_object(), *nodes = json_array(), *cnt = json_object();
	char hex[2 * CDAT_DIGEST_LEN + 1], ab[ADDR_STRLEN];
	long coord = cdat_proto_coordinator(&d->cdat);
	uint64_t now = daemon_now_ms();

	ctl_hex(hex, t->digest, CDAT_DIGEST_LEN);
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(d->cfg->node_name));
	json_object_set_new(o, "version", json_integer((json_int_t)t->version));
	json_object_set_new(o, "digest", json_string(hex));
	json_object_set_new(o, "coordinator", json_string(coord >= 0 ? t->nodes[coord].name : ""));
	json_object_set_new(o, "proposing", json_boolean(d->cdat.proposing));
	for (size_t i = 0; i < t->n; i++) {
		const struct cdat_node *n = &t->nodes[i];
		json_t *jn = json_object(), *addrs = json_array();
		long cur = cdat_current_addr(t, i);
		bool self = !strcmp(n->name, d->cfg->node_name);

		json_object_set_new(jn, "name", json_string(n->name));
		json_object_set_new(jn, "self", json_boolean(self));
		json_object_set_new(jn, "status", json_string(self ? "self" : n->down ? "down" : "up"));
		/* Agreement: do we suspect it, which voters' last heartbeats say
		 * they do, and how the vote stands (sync/cdat.h cdat_agreed). */
		json_object_set_new(jn, "suspected", json_boolean(!self && n->suspected));
		{
			json_t *by = json_array();
			size_t voters = 0, votes = 0;

			for (size_t k = 0; k < t->n; k++)
				if (k != i && t->nodes[k].voted && cdat_suspects(t, k, i))
					json_array_append_new(by, json_string(t->nodes[k].name));
			json_object_set_new(jn, "suspected_by", by);
			if (!self) {
				cdat_agreed(t, i, now, d->cfg->heartbeat_ms, &voters, &votes);
				json_object_set_new(jn, "voters", json_integer((json_int_t)voters));
				json_object_set_new(jn, "votes", json_integer((json_int_t)(n->suspected ?
						    votes : votes - 1)));
			}
		}
		for (size_t k = 0; k < n->n_addrs; k++) {
			const struct cdat_addr *a = &n->addrs[k];
			json_t *ja = json_object();

			json_object_set_new(ja, "ip", json_string(addr_fmt(&a->ip, ab, sizeof(ab))));
			json_object_set_new(ja, "status", json_string(self ? "self"
							     : ctl_addr_status(a->status)));
			json_object_set_new(ja, "current", json_boolean(!self && (long)k == cur));
			json_object_set_new(ja, "prefix", json_integer(a->prefix));
			json_object_set_new(ja, "mtu", json_integer(a->mtu));
			json_object_set_new(ja, "type", json_string(a->type));
			json_object_set_new(ja, "cos", json_integer(a->cos));
			json_object_set_new(ja, "retry", json_integer(a->retry));
			json_object_set_new(ja, "misses", json_integer(a->misses));
			json_object_set_new(ja, "rtt_ms", json_real(a->rtt_us / 1000.0));
			json_object_set_new(ja, "rtt_var_ms", json_real(a->rtt_var_us / 1000.0));
			if (a->last_ok_ms)
				json_object_set_new(ja, "last_ok_ms_ago",
						    json_integer((json_int_t)(now - a->last_ok_ms)));
			json_array_append_new(addrs, ja);
		}
		json_object_set_new(jn, "addresses", addrs);
		json_array_append_new(nodes, jn);
	}
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(cnt, "proposed", json_integer((json_int_t)d->cdat.n_proposed));
	json_object_set_new(cnt, "committed", json_integer((json_int_t)d->cdat.n_committed));
	json_object_set_new(cnt, "refused", json_integer((json_int_t)d->cdat.n_refused));
	json_object_set_new(cnt, "bad", json_integer((json_int_t)d->cdat.n_bad));
	json_object_set_new(o, "counters", cnt);
	return o;
}

static json_t *ctl_error(const char *fmt, ...)
{
	json_t *o = json_object();
	char msg[CFG_ERR_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(msg));
	return o;
}

static json_t *ctl_drain(struct daemon *d, const char *node, bool on)
{
	long n = node ? cfg_node_index(d->cfg, node) : -1;
	json_t *o;

	if (n < 0)
		return ctl_error("unknown node '%s'", node ? node : "");
	d->drained[n] = on;
	daemon_mark_dirty(d);
	log_info("node %s %s", node, on ? "drained: no new connections" : "undrained");
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(node));
	json_object_set_new(o, "drained", json_boolean(on));
	return o;
}

static json_t *ctl_dispatch(struct daemon *d, char *line)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
	char *arg = strtok_r(NULL, " \t\r\n", &save);
	char err[CFG_ERR_MAX];

	if (!cmd)
		return ctl_error("empty command");
	if (!strcmp(cmd, "status"))
		return ctl_status(d);
	if (!strcmp(cmd, "targets"))
		return ctl_targets(d);
	if (!strcmp(cmd, "stats"))
		return ctl_stats(d);
	if (!strcmp(cmd, "drain"))
		return ctl_drain(d, arg, true);
	if (!strcmp(cmd, "undrain"))
		return ctl_drain(d, arg, false);
	if (!strcmp(cmd, "reload")) {
		if (daemon_reload(d, err, sizeof(err)) < 0)
			return ctl_error("%s", err);
		json_t *o = json_object();

		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "generation", json_integer((json_int_t)d->view->generation));
		return o;
	}
	if (!strcmp(cmd, "cdat"))
		return ctl_cdat(d);
	if (!strcmp(cmd, "failover")) {
		json_t *o;

		if (daemon_failover(d, arg, err, sizeof(err)) < 0)
			return ctl_error("%s", err);
		o = json_object();
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "vipa", json_string(arg));
		return o;
	}
	return ctl_error("unknown command '%s'", cmd);
}

static void ctl_accept(struct ctl_server *s, uint64_t now)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int sndbuf = 8 << 20;
		struct epoll_event ev = { .events = EPOLLIN };
		size_t i;

		if (fd < 0)
			return;
		for (i = 0; i < CTL_CLIENTS_MAX && s->c[i].fd >= 0; i++)
			;
		if (i == CTL_CLIENTS_MAX) {
			/* Full of clients that say nothing: the oldest goes, so
			 * an operator still gets an answer. */
			i = 0;
			for (size_t k = 1; k < CTL_CLIENTS_MAX; k++)
				if (s->c[k].since_ms < s->c[i].since_ms)
					i = k;
			s->dropped++;
			ctl_drop(s, &s->c[i]);
		}
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		/* Big answers (conns) go out in one write when they can. */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		s->c[i].fd = fd;
		s->c[i].since_ms = now;
	}
}

/* Writes what the socket takes; true when the client is done with. */
static bool ctl_flush(struct ctl_server *s, struct ctl_client *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->out + c->off, c->len - c->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.u32 = (uint32_t)(c - s->c) };

			epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
			return false;
		}
		if (n <= 0)
			return true;	/* gone: nothing more to do */
		c->off += (size_t)n;
	}
	return true;
}

/* An answer that says "try again", with "busy": true for scripts. */
static json_t *ctl_busy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *ctl_busy(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = ctl_error("%s", msg);
	json_object_set_new(o, "busy", json_true());
	return o;
}

/* A conns request goes to a thread: NULL when one took the client (its slot
 * is free again), else the answer to give at once.  Never formatted here. */
static json_t *ctl_conns_start(struct daemon *d, struct ctl_server *s, struct ctl_client *c)
{
	struct timeval tv = { .tv_sec = CTL_CLIENT_MS / 1000 };
	struct ctl_conns_job *j;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)(c - s->c) };
	const struct cfg *cf = d->cfg;
	pthread_attr_t attr;
	pthread_t t;
	size_t n = 0;
	int fl, rc;

	if (__atomic_load_n(&s->busy, __ATOMIC_SEQ_CST) >= CTL_JOBS_MAX)
		return ctl_busy("busy: %d conns answers are being written, try again",
				CTL_JOBS_MAX);
	for (size_t k = 0; k < cf->n_nodes; k++)
		n += cf->nodes[k].n_addrs;
	j = calloc(1, sizeof(*j));
	if (j)
		j->names = calloc(n ? n : 1, sizeof(*j->names));
	if (!j || !j->names) {
		free(j);
		return ctl_error("out of memory");
	}
	for (size_t k = 0; k < cf->n_nodes; k++)
		for (size_t i = 0; i < cf->nodes[k].n_addrs; i++) {
			j->names[j->n_names].ip = cf->nodes[k].addrs[i].ip;
			snprintf(j->names[j->n_names].name, sizeof(j->names[j->n_names].name),
				 "%s", cf->nodes[k].name);
			j->n_names++;
		}
	j->d = d;
	j->fd = c->fd;
	j->busy = &s->busy;
	/* The thread writes blocking, for 5 s at most. */
	fl = fcntl(c->fd, F_GETFL);
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	__atomic_fetch_add(&s->busy, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, ctl_conns_thread, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		__atomic_fetch_sub(&s->busy, 1, __ATOMIC_SEQ_CST);
		fcntl(c->fd, F_SETFL, fl);
		epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev);
		free(j->names);
		free(j);
		return ctl_busy("busy: cannot start a thread for the answer (%s), try again",
				strerror(rc));
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	return NULL;
}

/* The command word of a request line. */
static bool ctl_is_cmd(const char *line, const char *cmd)
{
	char w[16];

	return sscanf(line, "%15s", w) == 1 && !strcmp(w, cmd);
}

static bool ctl_input(struct daemon *d, struct ctl_server *s, struct ctl_client *c)
{
	json_t *reply;
	char *out;

	if (c->out)
		return ctl_flush(s, c);
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->got, sizeof(c->in) - 1 - c->got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;	/* the rest of the line later */
		if (n < 0)
			return true;
		c->got += (size_t)n;
		/* A line, the end of the stream, or a full buffer: answer. */
		if (n == 0 || memchr(c->in, '\n', c->got) || c->got == sizeof(c->in) - 1)
			break;
	}
	c->in[c->got] = 0;
	if (ctl_is_cmd(c->in, "conns")) {
		reply = ctl_conns_start(d, s, c);
		if (!reply)
			return false;	/* a thread has the client now */
	} else {
		reply = ctl_dispatch(d, c->in);
	}
	out = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!out)
		return true;
	c->len = strlen(out);
	c->out = realloc(out, c->len + 1);
	if (!c->out) {
		free(out);
		return true;
	}
	c->out[c->len++] = '\n';
	return ctl_flush(s, c);
}

void ctl_serve(struct daemon *d, struct ctl_server *s)
{
	struct epoll_event evs[CTL_CLIENTS_MAX + 1];
	uint64_t now = daemon_now_ms();
	int n = epoll_wait(s->ep, evs, CTL_CLIENTS_MAX + 1, 0);

	for (int i = 0; i < n; i++) {
		uint32_t k = evs[i].data.u32;

		if (k == CTL_CLIENTS_MAX)
			ctl_accept(s, now);
		else if (k < CTL_CLIENTS_MAX && s->c[k].fd >= 0 && ctl_input(d, s, &s->c[k]))
			ctl_drop(s, &s->c[k]);
	}
	/* A client that neither sends its line nor reads its answer goes. */
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->c[i].fd >= 0 && now - s->c[i].since_ms > CTL_CLIENT_MS) {
			s->dropped++;
			ctl_drop(s, &s->c[i]);
		}
}
