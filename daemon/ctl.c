/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl: the control socket, served from the main loop (see ctl.h).
 *
 * Commands come from common/ctlproto.h's table: ctl_cmds[] below is generated
 * from it, one ctl_cmd_<word> per command.
 *
 * Lock order (every mutex of the daemon):
 *   - struct worker.lock, one per worker: guards its connection table (and
 *     worker 0's, its SCTP association table too).  The worker holds it for
 *     one packet or one expiry step; any other thread for one bounded chunk
 *     of buckets or pool slots, or one lookup.
 *   - struct daemon.replica_lock: guards the replica store (daemon/drepl.c).
 *   - dhand's pend_lock: guards a target's pending handoff requests
 *     (daemon/dhand.c), a leaf: nothing is taken while it is held.
 * The only nesting allowed is a worker's own lock, then replica_lock (a
 * worker taking a replica over, drepl_find_replica) or pend_lock (a worker
 * claiming a replayed handoff, dhand_claim).  Never replica_lock then
 * a worker's lock, and never two workers' locks at once: a worker looking into
 * another's table (ICMP errors, worker_find_other) lets go of its own first;
 * the main thread (stats, conns dumps, bulks, reports) takes one lock at a
 * time and holds none while it waits.  Nothing tries a lock in a loop
 * (no trylock anywhere), and nothing sleeps or does I/O holding one.
 *
 * conns answers are streamed: a dumping client has a cursor (worker, bucket);
 * each time its socket is writable and what was formatted is gone, one step
 * copies at most CTL_STEP_BUCKETS buckets, CTL_LOCK_BUCKETS at a time under
 * that worker's lock, stopping early at CTL_STEP_ROWS rows, formats them and
 * writes what the socket takes.  The SCTP associations (worker 0's table)
 * follow the same way, by pool slot (CTL_LOCK_SLOTS a hold).  A slow reader
 * costs nothing but its buffer: its socket stays unwritable and the loop does
 * not wake for it. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
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

#include "common/ctlproto.h"
#include "daemon/ctl.h"
#include "daemon/log.h"
#include "daemon/dsync.h"
#include "daemon/drepl.h"
#include "daemon/subsys.h"
#include "daemon/worker.h"
#include "nfq/assoc.h"

#define CTL_CONNS_MAX 100000	/* rows in one `conns` answer */

/* Clients are served without blocking, beside the heartbeats: each one may
 * take up to CTL_CLIENT_MS to send its line and read its answer. */
#define CTL_CLIENTS_MAX 32
#define CTL_CLIENT_MS 5000
#define CTL_LINE_MAX CTLPROTO_LINE_MAX
#define CTL_DUMPS_MAX 2		/* streamed answers under way at once */
#define CTL_DUMP_MS 10000	/* a streamed answer is cut off when not read by then */
#define CTL_LOCK_BUCKETS 2048	/* buckets per hold of a worker's lock */
#define CTL_STEP_BUCKETS 65536	/* buckets per step of one dump */
#define CTL_STEP_ROWS 512	/* a step stops once it holds this many rows */
#define CTL_ASSOCS_MAX 100000	/* associations in one `conns` answer */
#define CTL_LOCK_SLOTS 1024	/* association pool slots per hold of worker 0's lock */
#define CTL_ASSOC_STEP_SLOTS 65536	/* association slots per step of one dump */
/* The association rows of one step: a hold never visits more slots than
 * there is room left for, so nothing is allocated under the lock. */
#define CTL_ASSOC_COPY (CTL_STEP_ROWS + CTL_LOCK_SLOTS)

/* An SCTP association as `conns` shows it: what is copied out of the table
 * under the lock (the entry itself carries the table's index links). */
struct ctl_assoc_row {
	struct assoc_ports p;
	uint32_t itag_c, itag_t, target;
	uint8_t state, flags, n_paths;
	struct ip_addr paths[ASSOC_PATHS];
	uint64_t created_ms, last_ms, packets, bytes;
};

/* A streamed answer under way: the connections of every worker, then the
 * associations of worker 0's table. */
struct ctl_dump {
	unsigned worker;	/* cursor: the worker's table being read */
	size_t bucket;		/* and its next bucket */
	size_t rows;		/* rows formatted so far */
	size_t total;		/* entries of the tables read to the end */
	bool done;		/* the whole answer is in the buffer */
	/* The rows of one step, copied under the lock, formatted after. */
	struct conn *copy;
	size_t n_copy, cap_copy;
	bool lost;		/* a row could not be copied (no memory) */
	/* The associations, once the connections are written: a slot cursor
	 * into the table, rows formatted, the table's count at the end. */
	bool in_assocs;
	size_t slot, a_rows, a_total;
	struct ctl_assoc_row *a_copy;	/* CTL_ASSOC_COPY rows */
	size_t a_n_copy;
};

struct ctl_client {
	int fd;			/* -1: free slot */
	uint64_t since_ms;	/* connected */
	uint64_t deadline_ms;	/* closed then, answered or not */
	char in[CTL_LINE_MAX];
	size_t got;
	bool answering;		/* the line is in: only writes from now on */
	char *out;		/* what is to be written: out[off, len) */
	size_t off, len, cap;
	struct ctl_dump *dump;	/* a streamed answer, or NULL */
};

struct ctl_server {
	const struct ctl_ops *ops;
	int ep;			/* epoll: the listener and the clients */
	int lfd;
	char path[108];
	struct ctl_client c[CTL_CLIENTS_MAX];
	uint64_t dropped;	/* clients closed for being slow or too many */
	unsigned dumps;		/* clients with a dump */
};

/* One request being handled. */
struct ctl_req {
	struct daemon *d;
	struct ctl_server *s;
	struct ctl_client *c;
	const char *arg;	/* NULL for a command without argument */
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

struct ctl_server *ctl_open(const char *path, const struct ctl_ops *ops, char *err,
			    size_t errlen)
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
	s->ops = ops;
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
	if (c->dump) {
		free(c->dump->copy);
		free(c->dump->a_copy);
		free(c->dump);
		s->dumps--;
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void ctl_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->c[i].fd >= 0)
			ctl_drop(s, &s->c[i]);
	close(s->lfd);
	close(s->ep);
	unlink(s->path);
	free(s);
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
	char dg[CFGDIGEST_HEX];

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(c->node_name));
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "uptime_s", json_integer(time(NULL) - d->started));
	json_object_set_new(o, "config", json_string(c->path));
	json_object_set_new(o, "generation", json_integer((json_int_t)v->generation));
	json_object_set_new(o, "reloads", json_integer((json_int_t)d->reloads));
	json_object_set_new(o, "workers", json_integer(d->n_workers));
	json_object_set_new(o, "queue_base", json_integer(d->queue_base));
	/* With external rules no probe ran: the operator's ruleset decides. */
	json_object_set_new(o, "queue_kind", json_string(!c->manage_rules ? "external" :
							 d->native_queue ? "native" : "xt"));
	json_object_set_new(o, "rules", json_string(c->manage_rules ? "managed" : "external"));
	/* on: the distributor's maps too; target: the targets' static
	 * rewrites only (external rules, or a kernel without DESTROYSETELEM). */
	json_object_set_new(o, "fastpath",
			    json_string(!c->fastpath ? "off" :
					__atomic_load_n(&d->fp_dist, __ATOMIC_RELAXED) ? "on" : "target"));
	json_object_set_new(o, "ready", json_boolean(d->ready));
	json_object_set_new(o, "leaving", json_boolean(d->leaving));
	/* Configuration agreement (common/cfgdigest.h): ours, and per node
	 * below what its heartbeats say. */
	json_object_set_new(o, "config_digest", json_string(cfgdigest_hex(d->cfg_digest, dg)));
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
		if (vp->has_alt) {
			/* The alternate address (SCTP association failover): held
			 * by the distributor after the owner; holder null while no
			 * node is known to hold it. */
			json_t *ja = json_object();

			json_object_set_new(ja, "address",
					    json_string(addr_fmt(&vp->alt, ab, sizeof(ab))));
			json_object_set_new(ja, "held", json_boolean(vs->alt_owned));
			json_object_set_new(ja, "holder", vs->alt_holder[0] ?
					    json_string(vs->alt_holder) : json_null());
			json_object_set_new(jv, "alternate", ja);
		}
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
		const struct member_node *mn = &d->peers[n].mn;

		json_object_set_new(jn, "name", json_string(c->nodes[n].name));
		json_object_set_new(jn, "alive", json_boolean(dsync_node_alive(d, n)));
		json_object_set_new(jn, "self", json_boolean((long)n == c->self));
		json_object_set_new(jn, "drained", json_boolean(d->peers[n].drained));
		if ((long)n != c->self && mn->heard)
			json_object_set_new(jn, "last_heard_ms",
					    json_integer((json_int_t)(now - mn->last_ms)));
		if ((long)n == c->self) {
			json_object_set_new(jn, "config_digest",
					    json_string(cfgdigest_hex(d->cfg_digest, dg)));
			json_object_set_new(jn, "config", json_string("self"));
		} else {
			enum dsync_cfg_agree ag = dsync_config_agreement(d, n);

			json_object_set_new(jn, "config_digest", d->peers[n].cfg_known ?
					    json_string(cfgdigest_hex(d->peers[n].cfg_digest, dg)) :
					    json_null());
			json_object_set_new(jn, "config", json_string(
				ag == DSYNC_CFG_SAME ? "same" :
				ag == DSYNC_CFG_DIFFERENT ? "different" : "unknown"));
		}
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

		/* The candidates, then the targets only a handoff rule names. */
		for (size_t k = 0; k < s->n_targets + s->n_rtargets; k++) {
			bool rule = k >= s->n_targets;
			const struct view_target *t =
				rule ? &s->rtargets[k - s->n_targets] : &s->targets[k];
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
			json_object_set_new(jt, "handoff_rule_only", json_boolean(rule));
			json_object_set_new(jt, "conns", json_integer(__atomic_load_n(
				&v->node_conns[t->node], __ATOMIC_RELAXED)));
			json_array_append_new(arr, jt);
		}
	}
	json_object_set_new(o, "targets", arr);
	return o;
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

static json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- output buffer ------------------------------------------------------------- */

static bool ctl_out_reserve(struct ctl_client *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 64 << 10;
	char *n;

	while (cap - c->len <= more)
		cap *= 2;
	if (cap == c->cap)
		return true;
	n = realloc(c->out, cap);
	if (!n)
		return false;
	c->out = n;
	c->cap = cap;
	return true;
}

static bool ctl_out_printf(struct ctl_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends to the client's answer; false when out of memory. */
static bool ctl_out_printf(struct ctl_client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctl_out_reserve(c, 0))
		return false;
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->len, c->cap - c->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n >= c->cap - c->len) {
		if (!ctl_out_reserve(c, (size_t)n))
			return false;
		va_start(ap, fmt);
		vsnprintf(c->out + c->len, c->cap - c->len, fmt, ap);
		va_end(ap);
	}
	c->len += (size_t)n;
	return true;
}

/* Writes what the socket takes: 1 all of it, 0 the socket is full, -1 the
 * client is gone. */
static int ctl_write(struct ctl_client *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->out + c->off, c->len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

/* --- conns: streamed from the event loop ---------------------------------------- */

static int ctl_dump_copy(const struct conn *c, void *arg)
{
	struct ctl_dump *x = arg;

	if (x->rows + x->n_copy >= CTL_CONNS_MAX)
		return 0;	/* counted in the total, not shown: truncated */
	if (x->n_copy == x->cap_copy) {
		/* Seldom: a lock hold's buckets held more rows than usual.
		 * Growing under the lock beats losing the row. */
		size_t cap = x->cap_copy * 2;
		struct conn *n = realloc(x->copy, cap * sizeof(*n));

		if (!n) {
			x->lost = true;
			return 0;
		}
		x->copy = n;
		x->cap_copy = cap;
	}
	x->copy[x->n_copy++] = *c;
	return 0;
}

/* The node a target address belongs to, in the running configuration. */
static const char *ctl_target_name(const struct cfg *cf, const struct ip_addr *a)
{
	for (size_t k = 0; k < cf->n_nodes; k++)
		for (size_t i = 0; i < cf->nodes[k].n_addrs; i++)
			if (addr_eq(&cf->nodes[k].addrs[i].ip, a))
				return cf->nodes[k].name;
	return "?";
}

static bool ctl_dump_row(struct ctl_client *c, const struct cfg *cf, const struct conn *cn,
			 uint64_t now, bool first)
{
	char cl[ADDR_STRLEN + 16], vi[ADDR_STRLEN + 16], ta[ADDR_STRLEN + 16];
	char name[6 * CFG_NAME_MAX + 3];
	char hoff[256] = "";

	ctl_json_str(name, sizeof(name), ctl_target_name(cf, &cn->taddr));
	if (cn->hoff.role != CONN_HOFF_NONE)
		/* handoff (doc/architecture.md): which end, how far, the numbers
		 * it translates by. */
		snprintf(hoff, sizeof(hoff),
			 ",\"handoff\":{\"role\":\"%s\",\"phase\":\"%s\",\"id\":%" PRIu32
			 ",\"seq_delta\":%" PRIu32 ",\"ts_offset\":%" PRIu32
			 ",\"wscale_target\":%d,\"wscale_frontend\":%d,\"timestamps\":%s}",
			 cn->hoff.role == CONN_HOFF_FE ? "front-end" : "target",
			 cn->hoff.role == CONN_HOFF_FE		   ? "forwarding"
			 : cn->hoff.phase == CONN_HOFF_INJECTED ? "replayed"
								  : "ready",
			 cn->hoff.id, cn->hoff.delta, cn->hoff.tsoff, cn->hoff.ws_t, cn->hoff.ws_f,
			 cn->hoff.flags & HOFF_F_TS ? "true" : "false");
	return ctl_out_printf(c, "%s{\"protocol\":\"%s\",\"client\":\"%s\",\"vipa\":\"%s\","
			      "\"target\":%s,\"target_address\":\"%s\",\"state\":\"%s\","
			      "\"age_s\":%" PRIu64 ",\"idle_s\":%" PRIu64 ",\"packets\":%" PRIu64
			      ",\"bytes\":%" PRIu64 ",\"fast\":%s%s}", first ? "" : ",",
			      cfg_proto_name(cn->key.proto),
			      addr_fmt_ep(&cn->key.caddr, cn->key.cport, cl, sizeof(cl)),
			      addr_fmt_ep(&cn->key.vaddr, cn->key.vport, vi, sizeof(vi)), name,
			      addr_fmt_ep(&cn->taddr, cn->tport, ta, sizeof(ta)),
			      ctl_state_name(cn->state),
			      now > cn->created_ms ? (now - cn->created_ms) / 1000 : 0,
			      now > cn->last_ms ? (now - cn->last_ms) / 1000 : 0,
			      cn->packets, cn->bytes, cn->fast ? "true" : "false", hoff);
}

static bool ctl_assoc_step(struct daemon *d, struct ctl_client *c);

/* One step of a dump: copies the rows of up to CTL_STEP_BUCKETS buckets, a
 * lock hold of CTL_LOCK_BUCKETS at a time, stopping at CTL_STEP_ROWS rows,
 * and formats them into the client's buffer (empty on entry).  Each lock hold
 * is a consistent view of its buckets; rows added or removed during the dump
 * may or may not show, the others show once.  false: out of memory. */
static bool ctl_dump_step(struct daemon *d, struct ctl_client *c)
{
	struct ctl_dump *x = c->dump;
	size_t budget = CTL_STEP_BUCKETS;
	uint64_t now;

	if (x->in_assocs)
		return ctl_assoc_step(d, c);
	x->n_copy = 0;
	while (budget && x->n_copy < CTL_STEP_ROWS && x->worker < d->n_workers) {
		struct worker *w = &d->workers[x->worker];
		size_t n = budget < CTL_LOCK_BUCKETS ? budget : CTL_LOCK_BUCKETS;
		bool end = true;

		if (w->conns) {
			pthread_mutex_lock(&w->lock);
			/* Full: only the count is wanted from here on. */
			if (x->rows + x->n_copy < CTL_CONNS_MAX)
				x->bucket = conn_foreach_chunk(w->conns, x->bucket, n,
							       ctl_dump_copy, x);
			end = x->rows + x->n_copy >= CTL_CONNS_MAX ||
			      x->bucket >= conn_buckets(w->conns);
			if (end)
				x->total += conn_count(w->conns);
			pthread_mutex_unlock(&w->lock);
		}
		budget -= n;
		if (end) {
			x->worker++;
			x->bucket = 0;
		}
	}
	now = daemon_now_ms();
	for (size_t i = 0; i < x->n_copy; i++)
		if (!ctl_dump_row(c, d->cfg, &x->copy[i], now, x->rows + i == 0))
			return false;
	x->rows += x->n_copy;
	if (x->worker < d->n_workers)
		return true;
	/* Rows added while reading may outnumber the counts read. */
	if (x->total < x->rows)
		x->total = x->rows;
	/* Truncated: rows left out for the limit (or for want of memory), not
	 * rows that came in behind the cursor.  The associations follow, from
	 * the next step on. */
	if (!ctl_out_printf(c, "],\"total\":%zu,\"truncated\":%s,\"associations\":[",
			    x->total, x->lost || (x->rows >= CTL_CONNS_MAX && x->total > x->rows) ?
			    "true" : "false"))
		return false;
	x->in_assocs = true;
	return true;
}

/* --- conns: the SCTP associations, after the connections ------------------------------ */

static void ctl_assoc_copy(const struct assoc *a, void *arg)
{
	struct ctl_dump *x = arg;
	struct ctl_assoc_row *r;

	/* Past the limit: counted in the total, not shown (truncated).  The
	 * second bound cannot be reached (a hold visits no more slots than
	 * there is room for) but keeps the copy inside its array. */
	if (x->a_rows + x->a_n_copy >= CTL_ASSOCS_MAX || x->a_n_copy >= CTL_ASSOC_COPY)
		return;
	r = &x->a_copy[x->a_n_copy++];
	r->p = a->p;
	r->itag_c = a->itag_c;
	r->itag_t = a->itag_t;
	r->target = a->target;
	r->state = a->state;
	r->flags = a->flags;
	r->n_paths = a->n_paths <= ASSOC_PATHS ? a->n_paths : ASSOC_PATHS;
	memcpy(r->paths, a->paths, r->n_paths * sizeof(r->paths[0]));
	r->created_ms = a->created_ms;
	r->last_ms = a->last_ms;
	r->packets = a->packets;
	r->bytes = a->bytes;
}

static const char *ctl_assoc_state_name(uint8_t s)
{
	switch (s) {
	case ASSOC_INIT:
		return "init";
	case ASSOC_EST:
		return "established";
	case ASSOC_CLOSED:
		return "closed";
	default:
		return "?";
	}
}

static bool ctl_assoc_row(struct ctl_client *c, const struct cfg *cf,
			  const struct ctl_assoc_row *a, uint64_t now, bool first)
{
	static const struct { uint8_t bit; const char *name; } flags[] = {
		{ ASSOC_F_RESTART, "restart" }, { ASSOC_F_COLLISION, "collision" },
		{ ASSOC_F_TGT_INIT, "target_init" }, { ASSOC_F_RETARGET, "retarget" },
	};
	char vipa[ADDR_STRLEN + 2] = "null", name[6 * CFG_NAME_MAX + 3] = "null";
	char paths[ASSOC_PATHS * (ADDR_STRLEN + 3) + 1] = "", fl[64] = "";
	size_t k = 0;

	/* Indexes of the running configuration: a reload may have removed the
	 * VIPA or the node since (null then). */
	if (a->p.ep < cf->n_vipas) {
		char ab[ADDR_STRLEN];

		snprintf(vipa, sizeof(vipa), "\"%s\"",
			 addr_fmt(&cf->vipas[a->p.ep].addr, ab, sizeof(ab)));
	}
	if (a->target != ASSOC_NO_TARGET && a->target < cf->n_nodes)
		ctl_json_str(name, sizeof(name), cf->nodes[a->target].name);
	for (size_t i = 0; i < a->n_paths; i++) {
		char ab[ADDR_STRLEN];

		k += (size_t)snprintf(paths + k, sizeof(paths) - k, "%s\"%s\"", i ? "," : "",
				      addr_fmt(&a->paths[i], ab, sizeof(ab)));
	}
	k = 0;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (a->flags & flags[i].bit)
			k += (size_t)snprintf(fl + k, sizeof(fl) - k, "%s\"%s\"", k ? "," : "",
					      flags[i].name);
	return ctl_out_printf(c, "%s{\"vipa\":%s,\"port\":%u,\"client_port\":%u,"
			      "\"client_tag\":\"0x%08" PRIx32 "\",\"target_tag\":\"0x%08" PRIx32
			      "\",\"state\":\"%s\",\"target\":%s,\"paths\":[%s],\"packets\":%"
			      PRIu64 ",\"bytes\":%" PRIu64 ",\"idle_ms\":%" PRIu64 ",\"age_ms\":%"
			      PRIu64 ",\"flags\":[%s]}", first ? "" : ",", vipa, a->p.vport,
			      a->p.cport, a->itag_c, a->itag_t, ctl_assoc_state_name(a->state), name,
			      paths, a->packets, a->bytes,
			      now > a->last_ms ? now - a->last_ms : 0,
			      now > a->created_ms ? now - a->created_ms : 0, fl);
}

/* One step of the associations: up to CTL_ASSOC_STEP_SLOTS pool slots of
 * worker 0's table (every SCTP packet is queued to it), CTL_LOCK_SLOTS a
 * hold, stopping at CTL_STEP_ROWS rows, formatted after the lock is let go.
 * Rows added or removed during the dump may or may not show (entries never
 * move in the pool); the others show once.  false: out of memory. */
static bool ctl_assoc_step(struct daemon *d, struct ctl_client *c)
{
	struct ctl_dump *x = c->dump;
	struct worker *w = d->n_workers ? &d->workers[0] : NULL;
	size_t budget = CTL_ASSOC_STEP_SLOTS;
	bool end = !w;
	uint64_t now;

	x->a_n_copy = 0;
	while (!end && budget && x->a_n_copy < CTL_STEP_ROWS) {
		size_t n = CTL_ASSOC_COPY - x->a_n_copy;

		if (n > CTL_LOCK_SLOTS)
			n = CTL_LOCK_SLOTS;
		if (n > budget)
			n = budget;
		pthread_mutex_lock(&w->lock);
		if (!w->assocs) {
			end = true;	/* no table (no SCTP worker): no associations */
		} else {
			size_t first = x->a_n_copy;

			/* Full: only the count is wanted from here on. */
			if (x->a_rows + x->a_n_copy < CTL_ASSOCS_MAX)
				x->slot = assoc_foreach_chunk(w->assocs, x->slot, n,
							      ctl_assoc_copy, x);
			/* A reload the SCTP worker has not taken yet (daemon/dsctp):
			 * the rows in the running configuration's numbering (a VIPA
			 * that is gone shows as null). */
			for (size_t i = first; i < x->a_n_copy; i++)
				if (!assoc_remap_fwd(w->assocs, &x->a_copy[i].p.ep,
						     &x->a_copy[i].target))
					x->a_copy[i].p.ep = UINT32_MAX;
			end = x->a_rows + x->a_n_copy >= CTL_ASSOCS_MAX ||
			      x->slot >= assoc_slots(w->assocs);
			if (end)
				x->a_total = assoc_count(w->assocs);
		}
		pthread_mutex_unlock(&w->lock);
		budget -= n;
	}
	now = daemon_now_ms();
	for (size_t i = 0; i < x->a_n_copy; i++)
		if (!ctl_assoc_row(c, d->cfg, &x->a_copy[i], now, x->a_rows + i == 0))
			return false;
	x->a_rows += x->a_n_copy;
	if (!end)
		return true;
	if (x->a_total < x->a_rows)
		x->a_total = x->a_rows;
	if (!ctl_out_printf(c, "],\"associations_total\":%zu,\"associations_truncated\":%s}\n",
			    x->a_total, x->a_rows >= CTL_ASSOCS_MAX && x->a_total > x->a_rows ?
			    "true" : "false"))
		return false;
	x->done = true;
	return true;
}

static json_t *ctl_cmd_conns(const struct ctl_req *r)
{
	struct ctl_dump *x = calloc(1, sizeof(*x));

	if (x) {
		x->cap_copy = CTL_STEP_ROWS + CTL_LOCK_BUCKETS;
		x->copy = malloc(x->cap_copy * sizeof(*x->copy));
		x->a_copy = malloc(CTL_ASSOC_COPY * sizeof(*x->a_copy));
	}
	if (!x || !x->copy || !x->a_copy || !ctl_out_printf(r->c, "{\"ok\":true,\"conns\":[")) {
		if (x) {
			free(x->copy);
			free(x->a_copy);
		}
		free(x);
		r->c->len = 0;
		return ctl_error("out of memory");
	}
	r->c->dump = x;
	r->s->dumps++;
	r->c->deadline_ms = daemon_now_ms() + CTL_DUMP_MS;
	return NULL;
}

/* --- stats ----------------------------------------------------------------------- */

/* "section.key" counter names become nested objects. */
static void ctl_put_counter(void *arg, const char *name, uint64_t val)
{
	json_t *o = arg;
	const char *dot;
	char sec[64];

	while ((dot = strchr(name, '.')) && (size_t)(dot - name) < sizeof(sec)) {
		json_t *sub;

		memcpy(sec, name, (size_t)(dot - name));
		sec[dot - name] = 0;
		sub = json_object_get(o, sec);
		if (!json_is_object(sub)) {
			sub = json_object();
			json_object_set_new(o, sec, sub);
		}
		o = sub;
		name = dot + 1;
	}
	json_object_set_new(o, name, json_integer((json_int_t)val));
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

/* The SCTP association table (worker 0's): gauges (its entries, by state)
 * and its own counters, read in one hold of the lock.  Zeros without a
 * table, so that the names are always there. */
static void ctl_sctp_stats(struct daemon *d, subsys_emit *emit, void *o)
{
	struct worker *w = d->n_workers ? &d->workers[0] : NULL;
	struct assoc_counters ac = { 0 };
	size_t n = 0, cap = 0, st[3] = { 0 }, unconf = 0;

	if (w) {
		pthread_mutex_lock(&w->lock);
		if (w->assocs) {
			n = assoc_count(w->assocs);
			st[0] = assoc_count_state(w->assocs, ASSOC_INIT);
			st[1] = assoc_count_state(w->assocs, ASSOC_EST);
			st[2] = assoc_count_state(w->assocs, ASSOC_CLOSED);
			unconf = assoc_count_unconfirmed(w->assocs);
			cap = assoc_capacity(w->assocs);
			ac = *assoc_counters(w->assocs);
		}
		pthread_mutex_unlock(&w->lock);
	}
	emit(o, "sctp.associations", n);
	emit(o, "sctp.associations_init", st[0]);
	emit(o, "sctp.associations_established", st[1]);
	emit(o, "sctp.associations_closed", st[2]);
	/* of the established ones: the client has not used the target's tag
	 * yet (a spoofed INIT's look like this), evictable (nfq/assoc.h) */
	emit(o, "sctp.associations_unconfirmed", unconf);
	emit(o, "sctp.table.capacity", cap);
	emit(o, "sctp.table.evicted_init", ac.evicted_init);
	emit(o, "sctp.table.evicted_closed", ac.evicted_closed);
	emit(o, "sctp.table.full", ac.full);
	emit(o, "sctp.table.replaced", ac.replaced);
	emit(o, "sctp.table.expired", ac.expired);
	emit(o, "sctp.table.evicted_unconfirmed", ac.evicted_unconfirmed);
	emit(o, "sctp.table.confirmed", ac.confirmed);
}

void ctl_stats_walk(struct daemon *d, subsys_emit *emit, void *arg,
		    struct ctl_queue_stats *q)
{
	uint64_t tot[STAT__MAX] = { 0 };
	uint64_t overruns = 0, conns = 0, slots = 0;

	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		uint64_t waiting = 0, qdrop = 0, udrop = 0;
		size_t n;

		for (int k = 0; k < STAT__MAX; k++)
			tot[k] += stats_get(&w->stats, (enum stats_id)k);
		pthread_mutex_lock(&w->lock);
		n = conn_count(w->conns);
		slots += w->eng.slots ? hoff_count(w->eng.slots) : 0;
		pthread_mutex_unlock(&w->lock);
		conns += n;
		ctl_kernel_queue(w->qnum, &waiting, &qdrop, &udrop);
		overruns += qdrop + udrop;
		if (q)
			q[i] = (struct ctl_queue_stats){
				.queue = w->qnum,
				.packets = stats_get(&w->stats, STAT_RX),
				.rewritten = stats_get(&w->stats, STAT_REWRITTEN),
				.accepted = stats_get(&w->stats, STAT_ACCEPTED),
				.dropped = stats_get(&w->stats, STAT_DROPPED),
				.conns = n,
				.waiting = waiting,
				.queue_dropped = qdrop,
				.user_dropped = udrop,
			};
	}
	/* The workers' counters: nfq/stats.h's STATS_LIST. */
	for (int k = 0; k < STAT__MAX; k++)
		emit(arg, stats_name((enum stats_id)k), tot[k]);
	/* A gauge: handoff's buffering slots in use (reading a head, or
	 * waiting for a target's answer). */
	emit(arg, "handoff.slots", slots);
	emit(arg, "queue.overruns", overruns + tot[STAT_Q_ENOBUFS]);
	emit(arg, "conns.active", conns);
	ctl_sctp_stats(d, emit, arg);
	emit(arg, "ctl.clients_dropped", d->ctl ? d->ctl->dropped : 0);
	/* The subsystems' counters (their stats hooks, daemon/subsys.h). */
	subsys_stats_all(d, d->subsys, d->n_subsys, emit, arg);
}

static json_t *ctl_cmd_stats(const struct ctl_req *r)
{
	struct daemon *d = r->d;
	json_t *o = json_object(), *workers = json_array();
	struct ctl_queue_stats *q = calloc(d->n_workers ? d->n_workers : 1, sizeof(*q));

	if (!q) {
		json_decref(o);
		json_decref(workers);
		return ctl_error("out of memory");
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(d->cfg->node_name));
	ctl_stats_walk(d, ctl_put_counter, o, q);
	for (unsigned i = 0; i < d->n_workers; i++) {
		json_t *jw = json_object();

		json_object_set_new(jw, "queue", json_integer(q[i].queue));
		json_object_set_new(jw, "packets", json_integer((json_int_t)q[i].packets));
		json_object_set_new(jw, "conns", json_integer((json_int_t)q[i].conns));
		json_object_set_new(jw, "kernel_waiting", json_integer((json_int_t)q[i].waiting));
		json_object_set_new(jw, "kernel_queue_dropped",
				    json_integer((json_int_t)q[i].queue_dropped));
		json_object_set_new(jw, "kernel_user_dropped",
				    json_integer((json_int_t)q[i].user_dropped));
		json_array_append_new(workers, jw);
	}
	free(q);
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

static json_t *ctl_drain(const struct ctl_req *r, bool on)
{
	struct daemon *d = r->d;
	const char *node = r->arg;
	long n = node ? cfg_node_index(d->cfg, node) : -1;
	json_t *o;

	if (n < 0)
		return ctl_error("unknown node '%s'", node ? node : "");
	d->peers[n].drained = on;
	r->s->ops->mark_dirty(d);
	log_info("node %s %s", node, on ? "drained: no new connections" : "undrained");
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "node", json_string(node));
	json_object_set_new(o, "drained", json_boolean(on));
	return o;
}

/* --- the other commands ------------------------------------------------------------ */

static json_t *ctl_cmd_status(const struct ctl_req *r)
{
	return ctl_status(r->d);
}

static json_t *ctl_cmd_targets(const struct ctl_req *r)
{
	return ctl_targets(r->d);
}

static json_t *ctl_cmd_cdat(const struct ctl_req *r)
{
	return ctl_cdat(r->d);
}

static json_t *ctl_cmd_drain(const struct ctl_req *r)
{
	return ctl_drain(r, true);
}

static json_t *ctl_cmd_undrain(const struct ctl_req *r)
{
	return ctl_drain(r, false);
}

static json_t *ctl_cmd_reload(const struct ctl_req *r)
{
	char err[CFG_ERR_MAX];
	json_t *o;

	if (r->s->ops->reload(r->d, err, sizeof(err)) < 0)
		return ctl_error("%s", err);
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "generation", json_integer((json_int_t)r->d->view->generation));
	return o;
}

static json_t *ctl_cmd_failover(const struct ctl_req *r)
{
	char err[CFG_ERR_MAX];
	json_t *o;

	if (r->s->ops->failover(r->d, r->arg, err, sizeof(err)) < 0)
		return ctl_error("%s", err);
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "vipa", json_string(r->arg));
	return o;
}

/* --- dispatch ---------------------------------------------------------------------- */

/* A handler answers with an object, or NULL when it started a streamed
 * answer (the client's dump). */
typedef json_t *ctl_cmd_fn(const struct ctl_req *r);

#define CTL_CMD_DECL(id, word, nargs, streamed, arg, help) static ctl_cmd_fn ctl_cmd_##word;
CTLPROTO_CMDS(CTL_CMD_DECL)
#undef CTL_CMD_DECL

/* Generated from the command list: a command without its ctl_cmd_<word> does
 * not build. */
static ctl_cmd_fn *const ctl_cmds[CTLPROTO__MAX] = {
#define CTL_CMD_ENTRY(id, word, nargs, streamed, arg, help) [CTLPROTO_##id] = ctl_cmd_##word,
	CTLPROTO_CMDS(CTL_CMD_ENTRY)
#undef CTL_CMD_ENTRY
};

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

static json_t *ctl_dispatch(struct daemon *d, struct ctl_server *s, struct ctl_client *c)
{
	char *save = NULL, *cmd = strtok_r(c->in, " \t\r\n", &save);
	char *arg = strtok_r(NULL, " \t\r\n", &save);
	struct ctl_req r = { .d = d, .s = s, .c = c, .arg = arg };
	const struct ctlproto_info *ci;
	int id;

	if (!cmd)
		return ctl_error("empty command");
	id = ctlproto_find(cmd);
	if (id < 0)
		return ctl_error("unknown command '%s'", cmd);
	ci = &ctlproto_cmds[id];
	if ((arg ? 1u : 0u) != ci->nargs || strtok_r(NULL, " \t\r\n", &save))
		return ctl_error("%s takes %s", ci->name, ci->nargs ? "one argument" : "no argument");
	if (ci->streamed && s->dumps >= CTL_DUMPS_MAX)
		return ctl_busy("busy: %d %s answers are being written, try again", CTL_DUMPS_MAX,
				ci->name);
	return ctl_cmds[id](&r);
}

/* Writes what the socket takes and, once all of it is gone, the next step
 * of a dump: one step per call, so one per wake-up.  true when the client is
 * done with. */
static bool ctl_progress(struct daemon *d, struct ctl_client *c)
{
	int r = ctl_write(c);

	if (r > 0 && c->dump && !c->dump->done) {
		if (!ctl_dump_step(d, c))
			return true;	/* out of memory: the client sees a cut answer */
		r = ctl_write(c);
	}
	return r < 0 || (r > 0 && (!c->dump || c->dump->done));
}

static bool ctl_input(struct daemon *d, struct ctl_server *s, struct ctl_client *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - s->c) };
	json_t *reply;
	char *out;

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
	/* From now on the client is only written to, when its socket has room. */
	c->answering = true;
	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
	reply = ctl_dispatch(d, s, c);
	if (reply) {
		out = json_dumps(reply, JSON_COMPACT);
		json_decref(reply);
		if (!out)
			return true;
		free(c->out);
		c->out = out;
		c->len = strlen(out);
		c->cap = c->len + 1;
		c->off = 0;
		if (!ctl_out_printf(c, "\n"))
			return true;
	}
	return ctl_progress(d, c);
}

/* Accepts whoever is waiting and reads their line at once: a client sends it
 * with connect(), and waiting for the next wake-up would cost a pass. */
static void ctl_accept(struct daemon *d, struct ctl_server *s, uint64_t now)
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
		/* Big answers (conns) go out in few writes when they can. */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		s->c[i].fd = fd;
		s->c[i].since_ms = now;
		s->c[i].deadline_ms = now + CTL_CLIENT_MS;
		if (ctl_input(d, s, &s->c[i]))
			ctl_drop(s, &s->c[i]);
	}
}

void ctl_serve(struct daemon *d, struct ctl_server *s)
{
	struct epoll_event evs[CTL_CLIENTS_MAX + 1];
	uint64_t now = daemon_now_ms();
	int n = epoll_wait(s->ep, evs, CTL_CLIENTS_MAX + 1, 0);

	/* Short requests first, the next chunks of the dumps after them (a dump
	 * started by this batch's line waits for its socket's EPOLLOUT). */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;
			struct ctl_client *c = &s->c[k];

			if (k == CTL_CLIENTS_MAX) {
				if (pass == 0)
					ctl_accept(d, s, now);
			} else if (k < CTL_CLIENTS_MAX && c->fd >= 0 &&
				   (pass == 0 ? !c->dump : c->dump && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) &&
				   (c->answering ? ctl_progress(d, c) : ctl_input(d, s, c))) {
				ctl_drop(s, c);
			}
		}
	/* A client that neither sends its line nor reads its answer goes. */
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->c[i].fd >= 0 && now >= s->c[i].deadline_ms) {
			s->dropped++;
			ctl_drop(s, &s->c[i]);
		}
}

uint64_t ctl_next_deadline(const struct ctl_server *s)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->c[i].fd >= 0 && s->c[i].deadline_ms < next)
			next = s->c[i].deadline_ms;
	return next;
}
