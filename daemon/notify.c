/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/sdnotify.h"
#include "daemon/ctx.h"
#include "daemon/dsync.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/subsys.h"

#define NOTIFY_STATUS_MS 500	/* how often the status text is looked at */

/* Counters: field, name under "notify." in `clusterctl stats`. */
#define NOTIFY_STATS_LIST(X)                                                     \
	X(sent, "sent")                     /* datagrams sent */                \
	X(send_errors, "send_errors")       /* datagrams the socket refused */   \
	X(status_sent, "status_sent")       /* of them, with a new STATUS= */    \
	X(watchdog_sent, "watchdog_sent")                                        \
	/* a watchdog period with a worker busy without progress: no ping */    \
	X(watchdog_withheld, "watchdog_withheld")                               \
	X(watchdog_stalls, "watchdog_stalls")  /* such runs of periods */

struct notify {
	int fd;			/* -1: no $NOTIFY_SOCKET, everything is off */
	struct sockaddr_un sa;
	socklen_t sa_len;
	bool failing;		/* the last send failed (logged once) */
	bool ready_sent;
	uint64_t wd_usec;	/* 0: no watchdog */
	uint64_t wd_next;	/* daemon_now_ms() of the next look */
	bool wd_primed;		/* prev[] holds a first look */
	bool wd_stalled;	/* a stall is on (logged once) */
	size_t n_workers;
	uint64_t *passes, *prev;
	bool *idle;
	uint64_t status_next;
	char status[SDN_STATUS_MAX];	/* the text last sent */
	char note[256];			/* a refused reload, until the next good one */
	struct {
#define NOTIFY_STATS_FIELD(f, name) uint64_t f;
		NOTIFY_STATS_LIST(NOTIFY_STATS_FIELD)
#undef NOTIFY_STATS_FIELD
	} st;
};

static bool notify_on(const struct daemon *d)
{
	return d->notify && d->notify->fd >= 0;
}

/* One datagram, never blocking: a full or missing socket is counted and
 * logged at the first failure of a run, and not retried (the next timer
 * sends again). */
static void notify_send(struct daemon *d, unsigned flags, const char *status)
{
	struct notify *n = d->notify;
	char msg[SDN_MSG_MAX];
	uint64_t mono = 0;
	struct timespec ts;
	size_t len;

	if (flags & SDN_F_RELOADING) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		mono = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	len = sdn_format(msg, sizeof(msg), flags, mono, status);
	if (!len)
		return;
	if (sendto(n->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&n->sa,
		   n->sa_len) < 0) {
		n->st.send_errors++;
		if (!n->failing)
			log_warn("systemd notification: sending to %s%s: %s (counted as "
				 "notify.send_errors, not logged again until one goes through)",
				 n->sa.sun_path[0] ? "" : "@",
				 n->sa.sun_path[0] ? n->sa.sun_path : n->sa.sun_path + 1,
				 strerror(errno));
		n->failing = true;
		return;
	}
	if (n->failing)
		log_info("systemd notification: sending works again");
	n->failing = false;
	n->st.sent++;
	if (flags & SDN_F_WATCHDOG)
		n->st.watchdog_sent++;
	if (status) {
		n->st.status_sent++;
		if (status != n->status)
			snprintf(n->status, sizeof(n->status), "%s", status);
	}
}

/* An environment variable, copied (it is unset next); NULL when unset. */
static const char *notify_env(const char *name, char *buf, size_t len)
{
	const char *v = getenv(name);

	if (!v)
		return NULL;
	snprintf(buf, len, "%s", v);	/* cut: still too long for a socket or a number */
	return buf;
}

void notify_open(struct daemon *d)
{
	char sbuf[512], ubuf[32], pbuf[32];
	const char *sock = notify_env("NOTIFY_SOCKET", sbuf, sizeof(sbuf));
	const char *wu = notify_env("WATCHDOG_USEC", ubuf, sizeof(ubuf));
	const char *wp = notify_env("WATCHDOG_PID", pbuf, sizeof(pbuf));
	struct notify *n = calloc(1, sizeof(*n));
	char err[256];
	int r;

	/* Ours alone: nothing we might start must talk to systemd for us. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (!n) {
		log_err("systemd notification: out of memory: off");
		return;
	}
	n->fd = -1;
	d->notify = n;
	if (!sock)
		return;
	if (sdn_parse_socket(sock, &n->sa, &n->sa_len, err, sizeof(err)) < 0) {
		log_err("systemd notification: %s: off", err);
		return;
	}
	r = sdn_parse_watchdog(wu, wp, (long)getpid(), &n->wd_usec, err, sizeof(err));
	if (r < 0)
		log_err("systemd notification: %s: no watchdog", err);
	if (r <= 0)
		n->wd_usec = 0;
	else if (n->wd_usec < 2000)
		n->wd_usec = 2000;	/* a 1 ms period: the loop's clock is ms */
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		log_err("systemd notification: socket: %s: off", strerror(errno));
		return;
	}
	if (n->wd_usec)
		log_info("systemd notification to %s%s, watchdog every %llu ms",
			 sock[0] == '@' ? "abstract " : "", sock,
			 (unsigned long long)(n->wd_usec / 2000));
	else
		log_info("systemd notification to %s%s, no watchdog%s",
			 sock[0] == '@' ? "abstract " : "", sock,
			 wu && r == 0 ? " (WATCHDOG_PID is another process)" : "");
}

void notify_close(struct daemon *d)
{
	struct notify *n = d->notify;

	if (!n)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n->passes);
	free(n->prev);
	free(n->idle);
	free(n);
	d->notify = NULL;
}

/* --- status ----------------------------------------------------------------- */

/* Distinct target nodes of VIPA addr's services in the current view, and
 * those of them taking new connections. */
static void notify_targets(const struct view *v, const struct ip_addr *addr, unsigned *active,
			   unsigned *total)
{
	size_t nn = v->cfg->n_nodes;
	uint8_t *seen = calloc(nn ? nn : 1, 1);	/* bit 0: a target, bit 1: active */

	*active = *total = 0;
	if (!seen)
		return;
	for (size_t s = 0; s < v->n_svcs; s++) {
		const struct view_service *vs = &v->svcs[s];

		if (!addr_eq(&vs->vaddr, addr))
			continue;
		for (size_t t = 0; t < vs->n_targets; t++)
			if (vs->targets[t].node < nn)
				seen[vs->targets[t].node] |= 1 | (vs->targets[t].active ? 2 : 0);
	}
	for (size_t i = 0; i < nn; i++) {
		*total += seen[i] & 1;
		*active += (seen[i] >> 1) & 1;
	}
	free(seen);
}

/* The STATUS= text now. */
static void notify_status_text(struct daemon *d, char *buf, size_t len)
{
	const struct cfg *c = d->cfg;
	const struct view *v = __atomic_load_n(&d->view, __ATOMIC_SEQ_CST);
	struct sdn_vipa *vv = calloc(c->n_vipas ? c->n_vipas : 1, sizeof(*vv));
	char (*addrs)[ADDR_STRLEN] = calloc(c->n_vipas ? c->n_vipas : 1, ADDR_STRLEN);
	char waiting[256] = "";
	struct sdn_status in = {
		.phase = d->leaving ? SDN_LEAVING : d->ready ? SDN_RUNNING : SDN_STARTING,
		.n_vipas = c->n_vipas,
		.nodes = (unsigned)c->n_nodes,
		.alive = 1,
		.note = d->notify->note,
	};

	if (!vv || !addrs) {
		snprintf(buf, len, "%s", d->leaving ? "leaving" : d->ready ? "running" : "starting");
		free(vv);
		free(addrs);
		return;
	}
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++)
		if ((long)n != c->self && dsync_node_alive(d, n))
			in.alive++;
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		const struct vipa_state *vs = d->vipas ? &d->vipas[i] : NULL;
		bool dist = false;

		for (size_t k = 0; k < vp->n_dists; k++)
			dist |= (long)vp->dists[k].node == c->self;
		vv[i].addr = addr_fmt(&vp->addr, addrs[i], ADDR_STRLEN);
		if (vs && vs->owned)
			vv[i].role = SDN_DISTRIBUTOR;
		else if (vs && vs->owner[0] && !strcmp(vs->backup, c->node_name))
			vv[i].role = SDN_BACKUP;
		else
			vv[i].role = dist ? SDN_STANDBY : SDN_NONE;
		if (vv[i].role == SDN_DISTRIBUTOR && v)
			notify_targets(v, &vp->addr, &vv[i].targets_active, &vv[i].targets);
		for (size_t r = 0; v && r < v->n_revs; r++)
			vv[i].target |= addr_eq(&v->revs[r].vaddr, &vp->addr);
	}
	/* Starting: the holders of VIPAs of ours whose tables have not come yet
	 * (the ready rule, common/roles.h). */
	for (size_t n = 0; in.phase == SDN_STARTING && d->vipas && n < d->n_peers &&
			   n < c->n_nodes; n++) {
		bool wait = false;
		size_t wl = strlen(waiting);

		if ((long)n == c->self || d->peers[n].bulk_from)
			continue;
		for (size_t i = 0; i < c->n_vipas; i++)
			wait |= vv[i].role != SDN_NONE && !strcmp(d->vipas[i].owner, c->nodes[n].name);
		if (wait)
			snprintf(waiting + wl, sizeof(waiting) - wl, "%s%s", wl ? ", " : "",
				 c->nodes[n].name);
	}
	in.vipas = vv;
	in.waiting_for = waiting;
	sdn_status_text(&in, buf, len);
	free(vv);
	free(addrs);
}

/* Sends flags with the current status text (STATUS= always). */
static void notify_with_status(struct daemon *d, unsigned flags)
{
	char text[SDN_STATUS_MAX];

	notify_status_text(d, text, sizeof(text));
	notify_send(d, flags, text);
}

/* --- READY, RELOADING, STOPPING --------------------------------------------------- */

void notify_ready(struct daemon *d)
{
	struct notify *n = d->notify;

	if (!notify_on(d) || n->ready_sent || !d->ready || d->leaving || !d->ctl)
		return;
	if (d->cfg->manage_rules && !d->rules_installed)
		return;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (!d->workers[i].started)
			return;
	n->ready_sent = true;
	notify_with_status(d, SDN_F_READY);
	log_info("systemd notified: ready");
}

void notify_reloading(struct daemon *d)
{
	/* Before the first READY systemd still waits for the start: a reload
	 * then is part of it. */
	if (notify_on(d) && d->notify->ready_sent)
		notify_send(d, SDN_F_RELOADING, NULL);
}

void notify_reloaded(struct daemon *d, const char *err)
{
	struct notify *n = d->notify;

	if (!n)
		return;
	if (err)
		snprintf(n->note, sizeof(n->note), "last reload refused: %s", err);
	else
		n->note[0] = '\0';
	if (notify_on(d) && n->ready_sent)
		notify_with_status(d, SDN_F_READY);
}

void notify_stopping(struct daemon *d)
{
	if (notify_on(d))
		notify_with_status(d, SDN_F_STOPPING);
}

/* --- the watchdog ---------------------------------------------------------------- */

/* The workers' progress since the last look (then this look becomes the
 * last).  False when one was busy without going round its loop. */
static bool notify_workers_progress(struct daemon *d, size_t *stalled)
{
	struct notify *n = d->notify;
	bool ok;

	if (n->n_workers != d->n_workers) {
		free(n->passes);
		free(n->prev);
		free(n->idle);
		n->n_workers = d->n_workers;
		n->passes = calloc(n->n_workers ? n->n_workers : 1, sizeof(*n->passes));
		n->prev = calloc(n->n_workers ? n->n_workers : 1, sizeof(*n->prev));
		n->idle = calloc(n->n_workers ? n->n_workers : 1, sizeof(*n->idle));
		n->wd_primed = false;
		if (!n->passes || !n->prev || !n->idle) {
			n->n_workers = (size_t)-1;	/* try again next time */
			return true;	/* cannot tell: the watchdog is not ours to fail */
		}
	}
	for (size_t i = 0; i < n->n_workers; i++) {
		const struct worker *w = &d->workers[i];

		n->passes[i] = __atomic_load_n(&w->passes, __ATOMIC_RELAXED);
		/* A worker not running has nothing to do with liveness. */
		n->idle[i] = !w->started || __atomic_load_n(&w->waiting, __ATOMIC_RELAXED);
	}
	ok = !n->wd_primed ||
	     sdn_workers_progress(n->passes, n->prev, n->idle, n->n_workers, stalled);
	memcpy(n->prev, n->passes, n->n_workers * sizeof(*n->prev));
	n->wd_primed = true;
	return ok;
}

static void notify_watchdog(struct daemon *d, uint64_t now)
{
	struct notify *n = d->notify;
	uint64_t period = n->wd_usec / 2000;
	size_t stalled = 0;

	if (now < n->wd_next)
		return;
	n->wd_next = now + period;
	if (notify_workers_progress(d, &stalled)) {
		if (n->wd_stalled)
			log_info("watchdog: the workers make progress again");
		n->wd_stalled = false;
		notify_send(d, SDN_F_WATCHDOG, NULL);
		return;
	}
	n->st.watchdog_withheld++;
	if (!n->wd_stalled) {
		n->st.watchdog_stalls++;
		log_warn("watchdog: worker %zu (queue %u) is busy without progress for %llu ms: "
			 "WATCHDOG=1 withheld while it lasts", stalled,
			 (unsigned)d->workers[stalled].qnum, (unsigned long long)period);
	}
	n->wd_stalled = true;
}

static void notify_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct notify *n = d->notify;

	if (!notify_on(d))
		return;
	if (n->wd_usec) {
		notify_watchdog(d, now);
		if (n->wd_next < *next)
			*next = n->wd_next;
	}
	if (now >= n->status_next) {
		char text[SDN_STATUS_MAX];

		n->status_next = now + NOTIFY_STATUS_MS;
		notify_status_text(d, text, sizeof(text));
		if (strcmp(text, n->status))
			notify_send(d, 0, text);
	}
	/* Only a change needs the look: no wake-up of its own for it. */
}

static void notify_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	const struct notify *n = d->notify;

	if (!n)
		return;
	/* gauges: whether $NOTIFY_SOCKET is in use, the watchdog's period */
	emit(arg, "notify.enabled", n->fd >= 0);
	emit(arg, "notify.watchdog_usec", n->fd >= 0 ? n->wd_usec : 0);
#define NOTIFY_EMIT(f, name) emit(arg, "notify." name, n->st.f);
	NOTIFY_STATS_LIST(NOTIFY_EMIT)
#undef NOTIFY_EMIT
}

const struct subsys notify_subsys = {
	.name = "notify",
	.tick = notify_tick,
	.stats = notify_stats,
};
