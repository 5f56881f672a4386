/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "daemon/log.h"
#include "daemon/dhand.h"
#include "daemon/drepl.h"
#include "daemon/dsctp.h"
#include "daemon/worker.h"
#include "nfq/pkt.h"

#define WORKER_BUDGET 64	/* netlink messages per drain */
#define WORKER_EXPIRE_BUDGET 256	/* conn buckets scanned per wakeup */
/* SCTP (worker 0 only): the association table's size, the pool slots
 * looked at per expiry step, and the idle timeouts.  An idle association
 * still sends a HEARTBEAT every 30 s by default (RFC 9260 8.3): 600 s of
 * silence means it is gone.  An INIT's entry waits for the COOKIE ECHO. */
#define WORKER_ASSOC_MAX 65536
#define WORKER_ASSOC_EXPIRE_BUDGET 1024
#define WORKER_ASSOC_INIT_S 30
#define WORKER_ASSOC_EST_S 600
#define WORKER_ASSOC_CLOSED_S 10
/* A packet that grows (an INIT ACK with a new address list): at most an
 * IP datagram. */
#define WORKER_OUT_MAX 65535
#define WORKER_EXPIRE_MS 100	/* expiry step while the table holds entries */
#define WORKER_HOFF_SLOTS 1024	/* handoff buffering slots per worker */
#define WORKER_HOFF_EXPIRE_BUDGET WORKER_HOFF_SLOTS	/* every slot, every step: cheap */

/* Per thread: the rate limiter's counters are plain fields. */
static __thread struct log_rl worker_rl_reply;

static void worker_send_reply(struct worker *w, const uint8_t *pkt, size_t len,
			      const struct ip_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (to->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = to->v4;
		sl = sizeof(*sin);
		fd = w->raw4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = to->v6;
		sl = sizeof(*sin6);
		fd = w->raw6;
	}
	if (fd < 0 || sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		stats_inc(&w->stats, STAT_D_REPLY_FAIL);
		log_rl(&worker_rl_reply, 5, LOG_WARNING, "worker %u: sending reply: %s", w->idx,
		       strerror(errno));
	}
}

/* The outbox: what the engine sends under the lock waits here until the
 * lock is let go (worker_flush).  Full (a 64 KiB replay, many answers in
 * one expiry step): the packet goes at once, the raw socket being
 * non-blocking, and is counted. */
#define WORKER_OUTBOX_BYTES (192u << 10)
#define WORKER_OUTBOX_PKTS 128

struct worker_outbox {
	size_t n, used;
	struct {
		size_t off, len;
		struct ip_addr to;
	} pkt[WORKER_OUTBOX_PKTS];
	uint8_t bytes[WORKER_OUTBOX_BYTES];
};

static void worker_flush(struct worker *w)
{
	struct worker_outbox *o = w->outbox;

	for (size_t i = 0; o && i < o->n; i++)
		worker_send_reply(w, o->bytes + o->pkt[i].off, o->pkt[i].len, &o->pkt[i].to);
	if (o)
		o->n = o->used = 0;
}

/* ICMP errors are queued by their outer addresses, so the flow one quotes
 * may be in another worker's table.  The engine calls this from worker_cb(),
 * our lock held: we let go of it before taking another worker's, so that no
 * thread ever waits for a lock while holding one (two workers looking into
 * each other's tables would otherwise wait on each other).  Letting go in
 * the middle of a packet is safe: only this thread writes our table, the
 * others only read it.  Every lock is held for one packet or one bounded
 * chunk of rows, so the waits are short; the rate limit bounds how often a
 * worker looks. */
static bool worker_find_other(void *arg, const struct conn_key *k, struct ip_addr *taddr,
			      uint16_t *tport)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	bool found = false;

	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < d->n_workers && !found; i++) {
		struct worker *o = &d->workers[i];
		const struct conn *c;

		if (o == w || !o->conns)
			continue;
		pthread_mutex_lock(&o->lock);
		c = conn_lookup(o->conns, k);
		if (c) {
			*taddr = c->taddr;
			*tport = c->tport;
			found = true;
		}
		pthread_mutex_unlock(&o->lock);
	}
	pthread_mutex_lock(&w->lock);
	return found;
}

/* ICMP errors about VIPA flows (the ones the engine looks up, in every
 * worker's table if need be, and forwards) are limited per worker: a flood
 * of them must not take the time of the flows themselves.  Over the rate
 * they are dropped and counted (drops.icmp_rate_limited). */
#define WORKER_ICMP_RATE 200	/* per second */
#define WORKER_ICMP_BURST 100

/* True when the bucket had a token for one more error at now_ms. */
static bool worker_icmp_token(struct worker *w, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)WORKER_ICMP_BURST * 1000;

	if (!w->icmp_fill_ms) {
		w->icmp_tokens = cap;
	} else if (now_ms > w->icmp_fill_ms) {
		uint64_t add = (now_ms - w->icmp_fill_ms) * WORKER_ICMP_RATE;

		w->icmp_tokens = add >= cap - w->icmp_tokens ? cap : w->icmp_tokens + add;
	}
	w->icmp_fill_ms = now_ms;
	if (w->icmp_tokens < 1000)
		return false;
	w->icmp_tokens -= 1000;
	return true;
}

/* Whether a packet at prerouting is an ICMP error the engine would look up
 * (as engine_icmp_in() sees it): parsed only when its IP header could carry
 * ICMP, so other traffic pays one byte compare. */
static bool worker_is_icmp_lookup(const uint8_t *buf, size_t len)
{
	struct pkt p;

	if (len < 20)
		return false;
	if (buf[0] >> 4 == 4) {
		if (buf[9] != IPPROTO_ICMP)
			return false;
	} else if (buf[0] >> 4 == 6) {
		/* Extension headers may come before ICMPv6: parse those too. */
		if (len < 40 || buf[6] == IPPROTO_TCP || buf[6] == IPPROTO_UDP ||
		    buf[6] == IPPROTO_SCTP)
			return false;
	} else {
		return false;
	}
	if (pkt_parse(buf, len, &p) != PKT_OK || p.fragment || !p.icmp_error)
		return false;
	return p.inner.family && p.inner.has_ports && p.inner.family == p.family;
}

/* The first packet forwarded for a VIPA this node just took: one relaxed
 * load per packet otherwise. */
static void worker_takeover_stamp(struct worker *w)
{
	struct daemon *d = w->d;
	uint64_t armed = __atomic_load_n(&d->takeover.armed, __ATOMIC_RELAXED);
	size_t i = (size_t)(w->eng.hit_vipa - w->eng.view->cfg->vipas);

	if (!armed || i >= 64 || !(armed & (1ull << i)))
		return;
	if (__atomic_compare_exchange_n(&d->takeover.armed, &armed, 0, false, __ATOMIC_SEQ_CST,
					__ATOMIC_RELAXED)) {
		__atomic_store_n(&d->takeover.fwd_vipa, (unsigned)i, __ATOMIC_SEQ_CST);
		__atomic_store_n(&d->takeover.first_fwd_ms, daemon_wall_ms(), __ATOMIC_SEQ_CST);
	}
}

/* ---- the distributor's fast path (rules/fpmap.h) ---- */

/* Element changes a worker gathers between two flushes: one burst of
 * packets (WORKER_BUDGET), one expiry step and one refill chunk make far
 * fewer; beyond it a change is counted and left to the next packet. */
#define WORKER_FP_PENDING 4096
#define WORKER_FP_RESYNC_BUCKETS 256	/* table buckets refilled per round */

static void worker_fp_key(struct fpmap_key *k, const struct conn *c)
{
	memset(k, 0, sizeof(*k));
	k->family = c->key.family;
	k->proto = c->key.proto;
	k->vport = c->key.vport;
	k->cport = c->key.cport;
	k->vaddr = c->key.vaddr;
	k->caddr = c->key.caddr;
}

static bool worker_fp_on(const struct worker *w)
{
	return w->fp && __atomic_load_n(&w->d->fp_dist, __ATOMIC_RELAXED);
}

/* The engine's hook: queue the change; the worker flushes it once the
 * packet burst is done (worker_fp_flush), outside the table's lock. */
static bool worker_fast(void *arg, int op, const struct conn *c)
{
	struct worker *w = arg;
	struct fpmap_key k;
	uint32_t to_s = c->key.proto == IPPROTO_TCP ? w->eng.timeouts.est_s : w->eng.timeouts.udp_s;
	int r;

	if (!worker_fp_on(w))
		return false;
	worker_fp_key(&k, c);
	if (op == ENGINE_FAST_ADD)
		r = fpmap_add(w->fp, &k, &c->taddr, to_s * 1000u);
	else
		r = fpmap_del(w->fp, &k);
	if (r == -ENOSPC)
		stats_inc(&w->stats, STAT_F_PENDING_FULL);
	if (r == 0)
		stats_inc(&w->stats, op == ENGINE_FAST_ADD ? STAT_F_ADDS : STAT_F_DELS);
	/* A removal goes before the packet's verdict (worker_cb): the
	 * client's FIN or RST must not reach the target, and the client's
	 * answer to the target's FIN come back, while the element is still
	 * in the kernel: the rule's update could put it back. */
	if (r == 0 && op == ENGINE_FAST_DEL)
		w->fp_urgent = true;
	return r == 0;
}

/* Before expiring an entry whose packets the kernel forwards, ask the
 * kernel when it last saw the flow: the element's time left says so (its
 * timeout is the entry's, refreshed by every packet).  Absent: gone.  No
 * answer: kept for another round rather than cut a live flow. */
static uint64_t worker_fp_ask(const struct conn *c, void *arg)
{
	struct worker *w = arg;
	uint64_t now = w->eng.now_ms, left = 0, t_ms;
	struct fpmap_key k;
	int r;

	if (!worker_fp_on(w))
		return 0;	/* no maps: its packets came here, last_ms is true */
	stats_inc(&w->stats, STAT_F_ALIVE_CHECKS);
	worker_fp_key(&k, c);
	r = fpmap_get(w->fp, &k, &left);
	if (r < 0) {
		stats_inc(&w->stats, STAT_F_ALIVE_ERRORS);
		return now;
	}
	if (r == 0)
		return 0;
	stats_inc(&w->stats, STAT_F_ALIVE_KEPT);
	t_ms = (uint64_t)conn_timeout_s(c, &w->eng.timeouts) * 1000;
	return left >= t_ms || now < t_ms - left ? now : now - (t_ms - left);
}

/* Sends what the engine queued (no lock held: the kernel applies the batch
 * inside sendmsg, under its own mutex) and adds fpmap's counters to ours. */
static void worker_fp_flush(struct worker *w)
{
	const struct fpmap_stats *fs;

	if (!w->fp)
		return;
	if (fpmap_pending(w->fp) && fpmap_flush(w->fp) < 0)
		log_rl(&worker_rl_reply, 5, LOG_WARNING, "worker %u: fast path: sending: %s",
		       w->idx, strerror(fpmap_stats(w->fp)->last_error));
	fs = fpmap_stats(w->fp);
	if (fs->batches != w->fp_seen.batches)
		stats_add(&w->stats, STAT_F_BATCHES, fs->batches - w->fp_seen.batches);
	if (fs->batch_errors + fs->send_errors !=
	    w->fp_seen.batch_errors + w->fp_seen.send_errors) {
		stats_add(&w->stats, STAT_F_BATCH_ERRORS,
			  fs->batch_errors + fs->send_errors - w->fp_seen.batch_errors -
				  w->fp_seen.send_errors);
		log_rl(&worker_rl_reply, 5, LOG_WARNING,
		       "worker %u: fast path: the kernel refused a batch of map changes: %s "
		       "(those flows stay on the queue)", w->idx, strerror(fs->last_error));
	}
	w->fp_seen = *fs;
}

struct worker_fp_refill {
	struct worker *w;
	const struct view *v;
};

static int worker_fp_refill_one(const struct conn *c, void *arg)
{
	struct worker_fp_refill *x = arg;
	const struct view_service *s;
	struct fpmap_key k;

	if (!c->fast)
		return 0;
	/* Only into a map the installed rules have: one change naming a map
	 * that is not there would lose its whole batch. */
	s = view_find_service(x->v, c->key.family, c->key.proto, &c->key.vaddr, c->key.vport);
	if (!s || s->svc->handoff || c->tport != s->tport)
		return 0;
	worker_fp_key(&k, c);
	if (fpmap_add(x->w->fp, &k, &c->taddr,
		      (c->key.proto == IPPROTO_TCP ? x->w->eng.timeouts.est_s
						  : x->w->eng.timeouts.udp_s) * 1000u) == 0)
		stats_inc(&x->w->stats, STAT_F_RESYNCED);
	else
		stats_inc(&x->w->stats, STAT_F_PENDING_FULL);
	return 0;
}

/* The rules were installed again (start, reload): their maps are new and
 * empty.  Put every flow of ours that was in the old ones back, a chunk
 * of the table per round; until then its packets take the queue, which
 * handles them as before. */
static void worker_fp_resync(struct worker *w, const struct view *v, uint64_t ep)
{
	struct worker_fp_refill x = { .w = w, .v = v };

	if (ep != w->fp_epoch) {
		w->fp_epoch = ep;
		w->fp_resync = 0;
		w->fp_resyncing = true;
	}
	if (!w->fp_resyncing || !worker_fp_on(w)) {
		w->fp_resyncing = false;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->fp_resync = conn_foreach_chunk(w->conns, w->fp_resync, WORKER_FP_RESYNC_BUCKETS,
					  worker_fp_refill_one, &x);
	if (w->fp_resync >= conn_buckets(w->conns))
		w->fp_resyncing = false;
	pthread_mutex_unlock(&w->lock);
	worker_fp_flush(w);
}

static enum queue_verdict worker_cb(void *arg, struct queue_pkt *p)
{
	struct worker *w = arg;
	uint8_t reply[ENGINE_REPLY_MAX];
	size_t rlen = 0;
	struct ip_addr to;
	enum engine_hook hook;
	enum engine_verdict v;

	switch (p->hook) {
	case NF_INET_PRE_ROUTING:
		hook = ENGINE_PRE;
		break;
	case NF_INET_LOCAL_OUT:
		hook = ENGINE_OUT;
		break;
	default:
		stats_inc(&w->stats, STAT_UNMATCHED);
		return QUEUE_ACCEPT;
	}
	if (hook == ENGINE_PRE && worker_is_icmp_lookup(p->data, p->len) &&
	    !worker_icmp_token(w, daemon_now_ms())) {
		stats_inc(&w->stats, STAT_RX);
		stats_inc(&w->stats, STAT_D_ICMP_RATE);
		stats_inc(&w->stats, STAT_DROPPED);
		return QUEUE_DROP;
	}
	/* The lock covers one packet: readers of the table (and other
	 * workers looking up an ICMP error's flow) wait for one at most. */
	pthread_mutex_lock(&w->lock);
	v = engine_packet(&w->eng, hook, p->data, p->len, p->csum_notready, reply, &rlen, &to);
	pthread_mutex_unlock(&w->lock);
	worker_flush(w);
	if (w->fp_urgent) {
		w->fp_urgent = false;
		worker_fp_flush(w);
	}
	switch (v) {
	case ENGINE_ACCEPT:
		return QUEUE_ACCEPT;
	case ENGINE_MANGLED:
		if (w->eng.hit_vipa)
			worker_takeover_stamp(w);
		if (w->eng.out_len) {
			/* It changed length: the verdict carries the copy. */
			p->data = w->out;
			p->len = w->eng.out_len;
		}
		return QUEUE_ACCEPT_MANGLED;
	case ENGINE_REPLY:
		worker_send_reply(w, reply, rlen, &to);
		return QUEUE_DROP;
	case ENGINE_DROP:
	default:
		return QUEUE_DROP;
	}
}

static void worker_renumber_one(struct conn *e, void *arg)
{
	const struct view *v = arg;
	long n;

	if (e->hoff.role == CONN_HOFF_TGT)
		return;		/* its taddr is our own address, not a target */
	n = cfg_node_by_addr(v->cfg, &e->taddr);

	e->target = n >= 0 ? (uint32_t)n : UINT32_MAX;
	view_conn_inc(v, e->target);
}

/* A reload may renumber the nodes: each entry finds its target's node
 * again by address, and is counted in the new view (whose counts start at
 * zero), before any packet is handled with it. */
static void worker_renumber(struct worker *w, const struct view *v)
{
	if (w->table_cfg_gen && w->table_cfg_gen != v->cfg_gen)
		conn_walk(w->conns, worker_renumber_one, (void *)v);
	w->table_cfg_gen = v->cfg_gen;
	/* The association table takes the renumbering the reload staged
	 * (daemon/dsctp) now, with the view: never a packet routed with one
	 * numbering against a table in the other. */
	if (w->assocs)
		assoc_remap_take(w->assocs, v->cfg_gen);
}

/* Waits for a packet (true), the stop signal or the expiry step.  An empty
 * table has nothing to expire: the worker then sleeps until a packet comes
 * or worker_join wakes it, so an idle worker costs no wake-ups. */
static bool worker_wait(struct worker *w)
{
	struct pollfd p[2] = {
		{ .fd = queue_fd(w->q), .events = POLLIN },
		{ .fd = w->stop_fd, .events = POLLIN },
	};
	/* Only this thread writes the connection table: no lock to read its count. */
	bool assocs = false;
	int timeout;
	uint64_t cnt;
	int r;

	/* The SCTP worker's table is also written by the main thread (what
	 * the targets report): its count is read under the lock. */
	if (w->assocs) {
		pthread_mutex_lock(&w->lock);
		assocs = assoc_count(w->assocs) != 0;
		pthread_mutex_unlock(&w->lock);
	}
	timeout = conn_count(w->conns) || (w->eng.slots && hoff_count(w->eng.slots)) || assocs
			  ? WORKER_EXPIRE_MS : -1;
	if (w->fp_resyncing)
		timeout = 0;	/* the refill goes on between packets */

	if (w->stop_fd < 0 && timeout < 0)
		timeout = WORKER_EXPIRE_MS;	/* no eventfd: look at d->stop now and then */
	/* Asleep here the worker is idle, not stuck: the watchdog
	 * (daemon/notify) counts that as progress. */
	__atomic_store_n(&w->waiting, true, __ATOMIC_RELAXED);
	r = poll(p, w->stop_fd >= 0 ? 2 : 1, timeout);
	__atomic_store_n(&w->waiting, false, __ATOMIC_RELAXED);
	if (r <= 0)
		return false;
	/* The eventfd also says the handoff inbox has news: clear it. */
	if (w->stop_fd >= 0 && (p[1].revents & POLLIN) &&
	    read(w->stop_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_rl(&worker_rl_reply, 5, LOG_WARNING, "worker %u: eventfd: %s", w->idx,
		       strerror(errno));
	return p[0].revents & (POLLIN | POLLERR);
}

/* ---- handoff (handoff, doc/architecture.md): the engine's hooks ---- */

static bool worker_hoff_request(void *arg, struct hoff_req *r)
{
	struct worker *w = arg;

	return dhand_push_request(w->d, w->idx, r);
}

static bool worker_hoff_claim(void *arg, const struct conn_key *k, struct hoff_params *p,
			      uint32_t *fe_peer, uint8_t **data)
{
	struct worker *w = arg;
	struct dhand_claim cl;

	if (!dhand_claim(w->d, k, &cl))
		return false;
	*p = cl.p;
	*fe_peer = cl.fe_peer;
	*data = cl.data;
	return true;
}

static void worker_hoff_event(void *arg, int kind, uint8_t reason, const struct conn *c)
{
	struct worker *w = arg;

	if (!dhand_push_event(w->d, w->idx,
			      kind == ENGINE_HOFF_READY ? DHAND_EV_TGT_READY : DHAND_EV_END, reason,
			      c))
		log_rl(&worker_rl_reply, 5, LOG_WARNING,
		       "worker %u: handoff ring full: an event for the other end is lost", w->idx);
}

static void worker_hoff_inject(void *arg, const uint8_t *pkt, size_t len, const struct ip_addr *to)
{
	struct worker *w = arg;
	struct worker_outbox *o = w->outbox;

	if (!o || o->n == WORKER_OUTBOX_PKTS || len > WORKER_OUTBOX_BYTES - o->used) {
		stats_inc(&w->stats, STAT_H_SENT_LOCKED);
		worker_send_reply(w, pkt, len, to);
		return;
	}
	memcpy(o->bytes + o->used, pkt, len);
	o->pkt[o->n].off = o->used;
	o->pkt[o->n].len = len;
	o->pkt[o->n].to = *to;
	o->n++;
	o->used += len;
}

/* SCTP (SCTP association failover, doc/architecture.md): what the engine
 * learnt goes to the main thread's ring (daemon/dsctp). */
static void worker_sctp_event(void *arg, const struct engine_sctp_ev *ev)
{
	struct worker *w = arg;
	struct engine_sctp_ev e;

	/* A reload committed but this worker still routes with the old view
	 * (and its table has the old numbering): the main thread reads the
	 * event in the new one. */
	if (w->assocs && assoc_remap_staged(w->assocs)) {
		e = *ev;
		if (!assoc_remap_fwd(w->assocs, &e.ep, &e.target))
			return;		/* its VIPA is gone */
		ev = &e;
	}
	dsctp_push(w->d, ev);
}

static const struct engine_sctp_ops worker_sctp_ops = {
	.event = worker_sctp_event,
};

static const struct engine_hoff_ops worker_hoff_ops = {
	.request = worker_hoff_request,
	.claim = worker_hoff_claim,
	.event = worker_hoff_event,
	.inject = worker_hoff_inject,
};

/* What the main thread answered about our handoffs (dhand's inbox). */
static void worker_hoff_inbox(struct worker *w)
{
	struct dhand_in in;
	uint8_t out[ENGINE_REPLY_MAX];
	struct ip_addr to;
	unsigned budget = 256;

	while (dhand_inbox_pop(w->d, w->idx, &in)) {
		size_t n = 0;
		bool ok = true;

		pthread_mutex_lock(&w->lock);
		switch (in.kind) {
		case DHAND_IN_ACK:
			ok = engine_hoff_ack(&w->eng, &in.key, in.id, in.target, in.peer, &in.taddr,
					     in.tport, in.delta, in.tsoff, in.ws_t);
			break;
		case DHAND_IN_FAIL:
			n = engine_hoff_fail(&w->eng, &in.key, in.id, out, &to);
			break;
		case DHAND_IN_END:
			n = engine_hoff_end(&w->eng, &in.key, in.id, in.reason, out, &to);
			break;
		}
		pthread_mutex_unlock(&w->lock);
		worker_flush(w);
		if (n)
			worker_send_reply(w, out, n, &to);
		if (!ok) {
			/* The client went while the target took it: the target
			 * must let go of its replay. */
			struct conn c;

			memset(&c, 0, sizeof(c));
			c.key = in.key;
			c.hoff.role = CONN_HOFF_FE;
			c.hoff.id = in.id;
			c.hoff.peer = in.peer;
			worker_hoff_event(w, ENGINE_HOFF_END, ENGINE_HOFF_R_SUPERSEDED, &c);
		}
		if (!--budget) {
			/* Packets wait too: the rest after them.  The inbox
			 * is only looked at after a wake-up, so wake us again. */
			uint64_t one = 1;

			if (w->stop_fd >= 0 && write(w->stop_fd, &one, sizeof(one)) < 0)
				stats_inc(&w->stats, STAT_D_REPLY_FAIL);
			break;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;

	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		bool ready;
		const struct view *v;
		const struct cfg *c;

		uint64_t fp_epoch;

		__atomic_add_fetch(&w->passes, 1, __ATOMIC_RELAXED);	/* the watchdog's */
		__atomic_store_n(&w->online_gen, 0, __ATOMIC_SEQ_CST);
		ready = worker_wait(w);
		/* Announce which generation we read before reading the view:
		 * the swapper waits for us in worker_swap_view(). */
		__atomic_store_n(&w->online_gen, __atomic_load_n(&d->gen, __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
		/* The rules' epoch before the view: the main thread bumps it
		 * after it swapped in the view that matches those rules. */
		fp_epoch = __atomic_load_n(&d->fp_epoch, __ATOMIC_SEQ_CST);
		v = __atomic_load_n(&d->view, __ATOMIC_SEQ_CST);
		c = v->cfg;
		/* The engine's fields are this thread's own; the lock guards the
		 * table only, taken per packet in worker_cb(). */
		pthread_mutex_lock(&w->lock);
		if (v->cfg_gen != w->table_cfg_gen)
			worker_renumber(w, v);
		pthread_mutex_unlock(&w->lock);
		w->eng.view = v;
		w->eng.now_ms = daemon_now_ms();
		w->eng.wall_ms = daemon_wall_ms();
		w->eng.timeouts = (struct conn_timeouts){
			.syn_s = c->tcp_syn_timeout, .est_s = c->tcp_est_timeout,
			.fin_s = c->tcp_fin_timeout, .closed_s = 10, .udp_s = c->udp_timeout,
		};
		w->eng.sctp_ready = __atomic_load_n(&d->sctp_ready, __ATOMIC_RELAXED);
		if (ready) {
			int n = queue_process(w->q, WORKER_BUDGET, worker_cb, w, &w->stats);

			if (n < 0)
				log_rl(&worker_rl_reply, 5, LOG_ERR, "queue %u: receive: %s",
				       w->qnum, strerror(-n));
		}
		worker_hoff_inbox(w);
		/* The burst's map changes go before the expiry step asks the
		 * kernel about any flow. */
		worker_fp_flush(w);
		if (fp_epoch != w->fp_epoch || w->fp_resyncing)
			worker_fp_resync(w, v, fp_epoch);
		pthread_mutex_lock(&w->lock);
		conn_expire_ask(w->conns, w->eng.now_ms, &w->eng.timeouts, WORKER_EXPIRE_BUDGET,
				w->fp ? worker_fp_ask : NULL, w, engine_conn_expired, &w->eng);
		engine_hoff_expire(&w->eng, WORKER_HOFF_EXPIRE_BUDGET);
		if (w->assocs) {
			assoc_expire(w->assocs, w->eng.now_ms, &w->eng.assoc_to,
				     WORKER_ASSOC_EXPIRE_BUDGET, engine_assoc_expired, &w->eng);
			engine_sctp_sweep(&w->eng, 64);
		}
		pthread_mutex_unlock(&w->lock);
		worker_flush(w);
		worker_fp_flush(w);
	}
	__atomic_store_n(&w->online_gen, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

int worker_init(struct daemon *d, struct worker *w, unsigned idx, char *err, size_t errlen)
{
	int one = 1;

	memset(w, 0, sizeof(*w));
	w->d = d;
	w->idx = idx;
	w->qnum = (uint16_t)(d->queue_base + idx);
	w->raw4 = w->raw6 = -1;
	pthread_mutex_init(&w->lock, NULL);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stop_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", idx, strerror(errno));
		return -1;
	}
	w->conns = conn_table_new(d->cfg->conn_max);
	if (!w->conns) {
		snprintf(err, errlen, "worker %u: cannot allocate a table of %u connections", idx,
			 d->cfg->conn_max);
		return -1;
	}
	{
		/* Random bucket seed: clients cannot aim at one hash chain. */
		uint64_t seed[2];

		if (getrandom(seed, sizeof(seed), 0) == sizeof(seed))
			conn_table_set_seed(w->conns, seed[0], seed[1]);
	}
	w->eng.conns = w->conns;
	w->eng.stats = &w->stats;
	w->eng.find_other = worker_find_other;
	w->eng.find_other_arg = w;
	w->log = calloc(1, sizeof(*w->log));
	if (!w->log) {
		snprintf(err, errlen, "worker %u: out of memory", idx);
		return -1;
	}
	/* The main loop polls it: replication drains the log (connlog.h). */
	w->log->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->log->wake_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", idx, strerror(errno));
		return -1;
	}
	w->eng.conn_event = drepl_conn_event;
	w->eng.conn_event_arg = w;
	w->eng.find_replica = drepl_find_replica;
	w->eng.find_replica_arg = w;
	{
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)(uintptr_t)w;
		w->eng.slots = hoff_table_new(WORKER_HOFF_SLOTS, seed);
		if (!w->eng.slots) {
			snprintf(err, errlen, "worker %u: out of memory (handoff slots)", idx);
			return -1;
		}
	}
	w->outbox = calloc(1, sizeof(*w->outbox));
	if (!w->outbox) {
		snprintf(err, errlen, "worker %u: out of memory (outbox)", idx);
		return -1;
	}
	w->eng.hoff = &worker_hoff_ops;
	w->eng.hoff_arg = w;
	if (idx == 0) {
		/* Every SCTP packet is queued to the first worker (rules/): a
		 * multihomed client's paths have different addresses, which an
		 * address hash would spread over workers. */
		uint64_t seed[2] = { 0, 0 };

		w->assocs = assoc_table_new(WORKER_ASSOC_MAX, 0);
		w->out = malloc(WORKER_OUT_MAX);
		if (!w->assocs || !w->out) {
			snprintf(err, errlen, "worker %u: out of memory (SCTP associations)", idx);
			return -1;
		}
		if (getrandom(seed, sizeof(seed), 0) == sizeof(seed))
			assoc_table_set_seed(w->assocs, seed[0], seed[1]);
		w->eng.assocs = w->assocs;
		w->eng.assoc_to = (struct assoc_timeouts){
			.init_s = WORKER_ASSOC_INIT_S, .est_s = WORKER_ASSOC_EST_S,
			.closed_s = WORKER_ASSOC_CLOSED_S,
		};
		w->eng.out = w->out;
		w->eng.out_cap = WORKER_OUT_MAX;
	}
	w->eng.sctp = &worker_sctp_ops;
	w->eng.sctp_arg = w;
	if (d->cfg->manage_rules) {
		/* Opened whatever the configuration says: a reload may turn
		 * the fast path on.  Without it the queue does all the work. */
		char fperr[256];

		w->fp = fpmap_open(WORKER_FP_PENDING, fperr, sizeof(fperr));
		if (!w->fp)
			log_warn("worker %u: fast path: %s (its flows stay on the queue)", idx, fperr);
		w->eng.fast = worker_fast;
		w->eng.fast_arg = w;
	}
	w->eng.idx = idx;
	dhand_cookie_key(d, w->eng.cookie_key);
	w->q = queue_open(w->qnum, d->cfg->queue_maxlen, 8 << 20, err, errlen);
	if (!w->q)
		return -1;
	/* Non-blocking: a full socket buffer drops the packet (counted)
	 * instead of putting the worker to sleep (and an outbox too full
	 * for a packet sends it with the table's lock held). */
	w->raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	w->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	if (w->raw6 >= 0)
		setsockopt(w->raw6, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one));
	if (w->raw4 < 0 || w->raw6 < 0)
		log_warn("worker %u: raw socket: %s (no RST / ICMP replies)", idx,
			 strerror(errno));
	{
		/* What a worker injects into its own stack (handoff) must not be
		 * queued again by the output chain: the mark says so (rules/). */
		uint32_t mark = DHAND_MARK;

		if ((w->raw4 >= 0 &&
		     setsockopt(w->raw4, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) ||
		    (w->raw6 >= 0 &&
		     setsockopt(w->raw6, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0))
			log_warn("worker %u: SO_MARK: %s", idx, strerror(errno));
	}
	return 0;
}

int worker_start(struct worker *w)
{
	int e = pthread_create(&w->thr, NULL, worker_main, w);

	if (e)
		return -e;
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	uint64_t one = 1;

	/* d->stop is set: wake the worker out of poll to see it. */
	if (w->started && w->stop_fd >= 0 && write(w->stop_fd, &one, sizeof(one)) < 0)
		log_warn("worker %u: waking it to stop: %s", w->idx, strerror(errno));
	if (w->started)
		pthread_join(w->thr, NULL);
	w->started = false;
}

void worker_fini(struct worker *w)
{
	/* Every worker is joined (they look into each other's tables) and the
	 * main thread, the only other reader (stats, conns answers,
	 * replication), is the caller: nobody reads the table any more. */
	queue_close(w->q);
	w->q = NULL;
	fpmap_close(w->fp);
	w->fp = NULL;
	if (w->raw4 >= 0)
		close(w->raw4);
	if (w->raw6 >= 0)
		close(w->raw6);
	conn_table_free(w->conns);
	w->conns = NULL;
	hoff_table_free(w->eng.slots);
	w->eng.slots = NULL;
	assoc_table_free(w->assocs);
	w->assocs = w->eng.assocs = NULL;
	free(w->out);
	w->out = w->eng.out = NULL;
	free(w->outbox);
	w->outbox = NULL;
	close(w->log->wake_fd);
	free(w->log);
	w->log = NULL;
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	w->stop_fd = -1;
	pthread_mutex_destroy(&w->lock);
}

/* Old views (and configurations) are freed once no worker can hold them:
 * a worker holds at most the view of the generation it announced.  The
 * main thread never waits for a worker: it retires the old view and frees
 * it on a later tick (a worker slowed down by a loaded machine must not
 * stall heartbeats). */
struct worker_retired {
	struct view *v;
	struct cfg *cfg;	/* freed with the view: a configuration replaced by a reload */
	uint64_t gen;
	struct worker_retired *next;
};

void worker_swap_view(struct daemon *d, struct view *nv, struct cfg *old_cfg)
{
	struct view *old = __atomic_exchange_n(&d->view, nv, __ATOMIC_SEQ_CST);
	uint64_t gen = __atomic_add_fetch(&d->gen, 1, __ATOMIC_SEQ_CST);
	struct worker_retired *r = calloc(1, sizeof(*r));

	if (!r) {
		/* Leaking beats a use after free. */
		log_err("out of memory retiring a view: %zu bytes kept", sizeof(*old));
		return;
	}
	r->v = old;
	r->cfg = old_cfg;
	r->gen = gen;
	r->next = d->retired;
	d->retired = r;
	worker_reclaim(d);
}

bool worker_reclaim(struct daemon *d)
{
	struct worker_retired **pp = &d->retired;

	while (*pp) {
		struct worker_retired *r = *pp;
		bool quiet = true;

		for (unsigned i = 0; i < d->n_workers && quiet; i++) {
			uint64_t g = __atomic_load_n(&d->workers[i].online_gen, __ATOMIC_SEQ_CST);

			quiet = !d->workers[i].started || g == 0 || g >= r->gen;
		}
		if (!quiet) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		view_free(r->v);
		cfg_free(r->cfg);
		free(r);
	}
	return d->retired != NULL;
}
