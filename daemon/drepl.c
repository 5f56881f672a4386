/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/drepl.h"
#include "daemon/dsctp.h"
#include "daemon/dsync.h"
#include "daemon/subsys.h"

#define BACKLOG_MAX 65536	/* messages waiting per peer: a bulk of ~1M entries */
#define DREPL_COALESCE_MS 5	/* every-update mode: drains of the workers' logs at most this often */
#define DREPL_BULK_CHUNK 4096	/* buckets a bulk walks per hold of a worker's lock */

struct drepl_body {
	uint8_t type;
	uint16_t len;
	uint8_t b[REPL_BODY_MAX];
};

/* An incomplete bulk (records dropped by a full store or backlog) is asked
 * for again this many times; then what came is used, and the targets'
 * reports fill the gaps when this node distributes. */
#define DREPL_BULK_ASKS 3

static struct log_rl drepl_rl;

/* --- helpers ------------------------------------------------------------- */

static long drepl_vipa_index(const struct cfg *c, const struct ip_addr *a)
{
	for (size_t i = 0; i < c->n_vipas; i++)
		if (addr_eq(&c->vipas[i].addr, a))
			return (long)i;
	return -1;
}

static bool drepl_is_dist(const struct cfg_vipa *vp, long node)
{
	for (size_t k = 0; k < vp->n_dists; k++)
		if ((long)vp->dists[k].node == node)
			return true;
	return false;
}

/* Does node n get our records about VIPA vaddr: we both distribute it. */
static bool drepl_peer_wants(const struct daemon *d, size_t n, const struct ip_addr *vaddr)
{
	const struct cfg *c = d->cfg;
	long v = drepl_vipa_index(c, vaddr);

	return v >= 0 && (long)n != c->self && drepl_is_dist(&c->vipas[v], c->self) &&
	       drepl_is_dist(&c->vipas[v], (long)n);
}

static bool drepl_peer_is_dist(const struct daemon *d, size_t n)
{
	for (size_t i = 0; i < d->cfg->n_vipas; i++)
		if (drepl_is_dist(&d->cfg->vipas[i], d->cfg->self) &&
		    drepl_is_dist(&d->cfg->vipas[i], (long)n))
			return true;
	return false;
}

/* Workers only: a worker reads the configuration of its view, which is
 * not the main thread's peer table (peer_by_id) for a moment after a
 * reload. */
static long drepl_node_by_id(const struct cfg *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		if (wire_node_id(c->nodes[i].name) == id)
			return (long)i;
	return -1;
}

/* The wire id of the node a flow goes to, by its address: an entry's node
 * index belongs to the configuration of the view its worker last used,
 * which after a reload may not be d->cfg yet.  0 when no node has the
 * address. */
static uint32_t drepl_target_id(const struct daemon *d, const struct ip_addr *taddr)
{
	long n = cfg_node_by_addr(d->cfg, taddr);

	return n >= 0 ? d->peers[n].id : 0;
}

/* --- backlog and sending -------------------------------------------------- */

static void drepl_queue(struct daemon *d, size_t n, uint8_t type, const uint8_t *b, size_t len)
{
	struct peer_backlog *bl = &d->peers[n].backlog;
	struct drepl_body *e;

	if (bl->n == bl->cap) {
		size_t cap = bl->cap ? bl->cap * 2 : 16;
		struct drepl_body *q;

		if (cap > BACKLOG_MAX || !(q = malloc(cap * sizeof(*q)))) {
			/* The peer will be out of date: it gets a bulk later
			 * (unless this is the bulk: then it stays incomplete and
			 * the peer's sweep keeps what it had). */
			d->repl.backlog_dropped++;
			if (!d->in_bulk)
				d->peers[n].bulk_pending = true;
			return;
		}
		for (size_t i = 0; i < bl->n; i++)
			q[i] = bl->q[(bl->head + i) % bl->cap];
		free(bl->q);
		bl->q = q;
		bl->head = 0;
		bl->cap = cap;
	}
	e = &bl->q[(bl->head + bl->n) % bl->cap];
	e->type = type;
	e->len = (uint16_t)len;
	memcpy(e->b, b, len);
	bl->n++;
}

static void drepl_backlog_drop_updates(struct peer_backlog *bl)
{
	size_t kept = 0;

	for (size_t i = 0; i < bl->n; i++) {
		const struct drepl_body *e = &bl->q[(bl->head + i) % bl->cap];

		if (e->type != REPL_MSG_UPDATE)
			bl->q[(bl->head + kept++) % bl->cap] = *e;
	}
	bl->n = kept;
}

static void drepl_flush_backlog(struct daemon *d, size_t n)
{
	struct peer_backlog *bl = &d->peers[n].backlog;

	while (bl->n) {
		const struct drepl_body *e = &bl->q[bl->head];

		if (dsync_send_state(d, n, e->type, e->b, e->len) < 0)
			return;		/* queue full: later */
		bl->head = (bl->head + 1) % bl->cap;
		bl->n--;
	}
}

/* One writer per peer while draining the logs or building a bulk. */
struct drepl_out {
	struct repl_writer w;
	uint8_t buf[REPL_BODY_MAX];
	bool used;
	uint8_t type;		/* REPL_MSG_UPDATE or REPL_MSG_REPORT */
};

static void drepl_out_flush(struct daemon *d, size_t n, struct drepl_out *o)
{
	if (o->w.tlv.len) {
		drepl_queue(d, n, o->type ? o->type : REPL_MSG_UPDATE, o->buf, o->w.tlv.len);
		d->repl.records_sent += o->w.n;
	}
	repl_writer_init(&o->w, o->buf, dsync_state_body_max(d, n));
}

static void drepl_out_conn(struct daemon *d, size_t n, struct drepl_out *o,
			   const struct repl_conn *rc)
{
	if (!o->used) {
		repl_writer_init(&o->w, o->buf, dsync_state_body_max(d, n));
		o->used = true;
	}
	if (!repl_put_conn(&o->w, rc)) {
		if (o->w.err)
			return;		/* invalid: never sent */
		drepl_out_flush(d, n, o);
		repl_put_conn(&o->w, rc);
	}
}

static void drepl_out_del(struct daemon *d, size_t n, struct drepl_out *o,
			  const struct conn_key *k)
{
	if (!o->used) {
		repl_writer_init(&o->w, o->buf, dsync_state_body_max(d, n));
		o->used = true;
	}
	if (!repl_put_del(&o->w, k)) {
		if (o->w.err)
			return;
		drepl_out_flush(d, n, o);
		repl_put_del(&o->w, k);
	}
}

/* --- set-up ------------------------------------------------------------------ */

int drepl_init(struct daemon *d)
{
	uint64_t seed[2];

	pthread_mutex_init(&d->replica_lock, NULL);
	/* As large as all our workers' tables together: a peer with the same
	 * configuration and CPU count holds at most that many; any excess is
	 * counted (store_full).  Untouched entries cost no memory. */
	d->replica = repl_store_new((size_t)d->cfg->conn_max * (d->n_workers ? d->n_workers : 1));
	if (!d->replica)
		return -1;
	if (getrandom(seed, sizeof(seed), 0) == sizeof(seed))
		repl_store_set_seed(d->replica, seed[0], seed[1]);
	return 0;
}

void drepl_fini(struct daemon *d)
{
	/* The backlogs go with the peers (peer_table_free). */
	repl_store_free(d->replica);
	d->replica = NULL;
	pthread_mutex_destroy(&d->replica_lock);
}

size_t drepl_backlog_len(const struct daemon *d, size_t n)
{
	return n < d->n_peers ? d->peers[n].backlog.n : 0;
}

size_t drepl_replicas(struct daemon *d)
{
	size_t n;

	pthread_mutex_lock(&d->replica_lock);
	n = repl_store_count(d->replica);
	pthread_mutex_unlock(&d->replica_lock);
	return n;
}

/* --- worker side --------------------------------------------------------------- */

void drepl_conn_event(void *arg, int kind, const struct conn *c)
{
	struct worker *w = arg;

	connlog_push(w->log, kind == ENGINE_CONN_DELETE ? CONNLOG_DELETE : CONNLOG_UPDATE, c);
}

bool drepl_find_replica(void *arg, const struct conn_key *k, struct conn *out)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	struct repl_conn rc;
	uint32_t origin;
	long n;
	bool found;

	/* Cheap when empty: the usual case on a distributor that never took over. */
	if (!__atomic_load_n(&d->replica_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&d->replica_lock);
	found = repl_store_take(d->replica, k, &rc, &origin);
	__atomic_store_n(&d->replica_count, repl_store_count(d->replica), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d->replica_lock);
	if (!found)
		return false;
	memset(out, 0, sizeof(*out));
	out->key = *k;
	out->taddr = rc.taddr;
	out->tport = rc.tport;
	out->state = rc.state;
	out->hoff = rc.hoff;
	/* The record names the target by its wire id; the view's
	 * configuration (the one this worker reads) gives its index. */
	n = drepl_node_by_id(w->eng.view->cfg, rc.target);
	out->target = n >= 0 ? (uint32_t)n : UINT32_MAX;
	return true;
}

/* --- main thread: logs ------------------------------------------------------------ */

static bool drepl_wanted(const struct daemon *d, const struct connlog_ev *e)
{
	/* on-event: a connection is replicated when it is established and when
	 * it ends; its closing handshake in between (FIN) is not an event worth
	 * a message (a replica left at EST still ends with the DELETE, or at
	 * the established idle timeout).  No mode replicates a handshake: the
	 * engine logs nothing before it completes. */
	return !(d->cfg->sync_mode == SYNC_ON_EVENT && e->kind == CONNLOG_UPDATE &&
		 e->state == CONN_FIN);
}

static void drepl_drain_logs(struct daemon *d)
{
	struct drepl_out *outs = calloc(d->n_peers ? d->n_peers : 1, sizeof(*outs));

	if (!outs)
		return;
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct connlog *l = d->workers[i].log;
		const struct connlog_ev *e;

		uint64_t lost = __atomic_exchange_n(&l->dropped, 0, __ATOMIC_RELAXED);

		if (lost) {
			/* Events were lost: every peer gets the whole table again. */
			d->repl.log_dropped += lost;
			for (size_t n = 0; n < d->n_peers; n++)
				d->peers[n].bulk_pending = true;
		}
		while ((e = connlog_peek(l))) {
			struct repl_conn rc;

			memset(&rc, 0, sizeof(rc));
			rc.key = e->key;
			rc.taddr = e->taddr;
			rc.tport = e->tport;
			rc.state = e->state;
			rc.hoff = e->hoff;
			rc.target = drepl_target_id(d, &e->taddr);
			for (size_t n = 0; drepl_wanted(d, e) && n < d->n_peers; n++) {
				if (!drepl_peer_wants(d, n, &e->key.vaddr) ||
				    !dsync_node_alive(d, n))
					continue;
				if (e->kind == CONNLOG_DELETE)
					drepl_out_del(d, n, &outs[n], &e->key);
				else
					drepl_out_conn(d, n, &outs[n], &rc);
			}
			connlog_done(l);
		}
	}
	for (size_t n = 0; n < d->n_peers; n++)
		if (outs[n].used)
			drepl_out_flush(d, n, &outs[n]);
	free(outs);
}

/* --- main thread: bulks --------------------------------------------------------------- */

struct drepl_bulk {
	struct daemon *d;
	size_t n;
	struct drepl_out *o;
	uint32_t count;
};

static int drepl_bulk_conn(const struct conn *e, void *arg)
{
	struct drepl_bulk *b = arg;
	struct repl_conn rc;

	/* Embryonic entries stay local: a spoofed SYN must cost the peers
	 * nothing. */
	if (e->cls == CONN_C_EMBRYO || e->hoff.role == CONN_HOFF_TGT ||
	    !drepl_peer_wants(b->d, b->n, &e->key.vaddr))
		return 0;
	repl_conn_from(&rc, e);
	rc.target = drepl_target_id(b->d, &e->taddr);
	drepl_out_conn(b->d, b->n, b->o, &rc);
	b->count++;
	return 0;
}

static int drepl_bulk_replica(const struct repl_conn *rc, uint32_t origin, void *arg)
{
	struct drepl_bulk *b = arg;

	(void)origin;
	if (!drepl_peer_wants(b->d, b->n, &rc->key.vaddr))
		return 0;
	drepl_out_conn(b->d, b->n, b->o, rc);
	b->count++;
	return 0;
}

/* Everything node n should hold of our VIPAs: the workers' entries and the
 * replicas nobody adopted yet (after a takeover, the idle connections of the
 * node that returns are among them). */
static void drepl_send_bulk(struct daemon *d, size_t n)
{
	struct drepl_out o;
	struct drepl_bulk b = { .d = d, .n = n, .o = &o };
	uint32_t id = ++d->bulk_id;

	/* The bulk replaces the updates waiting for that peer (requests and
	 * reports stay); a bulk that does not fit either must not schedule
	 * another one at once. */
	drepl_backlog_drop_updates(&d->peers[n].backlog);
	d->in_bulk = true;
	memset(&o, 0, sizeof(o));
	/* Bodies no larger than the paths to n carry (adapter MTUs). */
	repl_writer_init(&o.w, o.buf, dsync_state_body_max(d, n));
	o.used = true;
	repl_put_bulk_begin(&o.w, id);
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		size_t next = 0, nb;

		if (!w->conns)
			continue;
		/* In chunks of buckets: the worker gets its lock back between
		 * two, so a large table does not stall its packets.  An entry
		 * created or removed meanwhile reaches the peer as an update or
		 * delete after BULK_END, which the peer applies on top. */
		nb = conn_buckets(w->conns);
		do {
			pthread_mutex_lock(&w->lock);
			next = conn_foreach_chunk(w->conns, next, DREPL_BULK_CHUNK, drepl_bulk_conn,
						  &b);
			pthread_mutex_unlock(&w->lock);
		} while (next < nb);
	}
	pthread_mutex_lock(&d->replica_lock);
	repl_store_foreach(d->replica, drepl_bulk_replica, &b);
	pthread_mutex_unlock(&d->replica_lock);
	if (!repl_put_bulk_end(&o.w, id, b.count)) {
		drepl_out_flush(d, n, &o);
		repl_put_bulk_end(&o.w, id, b.count);
	}
	drepl_out_flush(d, n, &o);
	d->in_bulk = false;
	d->repl.bulks_sent++;
	log_info("sent node %s our table: %u connections", d->cfg->nodes[n].name, b.count);
}

/* When origin stopped speaking for its replicas (repl_store_expire): never
 * while it is a live distributor that replicates to us (its DELs and bulks
 * keep them true); a down node since it went down; a target's report, or an
 * origin no longer configured, from the start (the record's own time). */
static uint64_t drepl_origin_stopped(uint32_t origin, void *arg)
{
	struct daemon *d = arg;
	long n = peer_by_id(d->peers, d->n_peers, origin);
	uint64_t since;

	/* Not (or no longer) a distributor beside us: its replicas are
	 * reports, or it stopped being one at the last (re)load at the
	 * latest. */
	if (n < 0 || !drepl_peer_is_dist(d, (size_t)n))
		return d->cfg_loaded_ms;
	if (dsync_node_alive(d, (size_t)n))
		return 0;
	since = dsync_node_down_since(d, (size_t)n);
	return since ? since : d->cfg_loaded_ms;
}

#define DREPL_EXPIRE_MS 100	/* replica expiry step */
#define DREPL_EXPIRE_BUDGET 4096	/* buckets per step */

static void drepl_expire(struct daemon *d, uint64_t now)
{
	const struct cfg *c = d->cfg;
	struct conn_timeouts to = {
		.syn_s = c->tcp_syn_timeout, .est_s = c->tcp_est_timeout,
		.fin_s = c->tcp_fin_timeout, .closed_s = 10, .udp_s = c->udp_timeout,
	};
	size_t n;

	if (now - d->last_expire_ms < DREPL_EXPIRE_MS ||
	    !__atomic_load_n(&d->replica_count, __ATOMIC_RELAXED))
		return;
	d->last_expire_ms = now;
	pthread_mutex_lock(&d->replica_lock);
	n = repl_store_expire(d->replica, now, &to, DREPL_EXPIRE_BUDGET, drepl_origin_stopped, d);
	__atomic_store_n(&d->replica_count, repl_store_count(d->replica), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d->replica_lock);
	d->repl.replicas_expired += n;
}

uint64_t drepl_flush(struct daemon *d, const char *why)
{
	uint64_t before = d->repl.records_sent, sent;

	/* Every mode: on-event and every-update hold a log for at most
	 * DREPL_COALESCE_MS, periodic for up to interval_ms, longer than a
	 * leave lasts.  The next period counts from now. */
	d->last_repl_ms = daemon_now_ms();
	drepl_drain_logs(d);
	/* Into the reliable queues now, not at the next tick: ahead of the
	 * heartbeat that lets the backup take the VIPA. */
	for (size_t n = 0; n < d->n_peers; n++)
		if ((long)n != d->cfg->self && dsync_node_alive(d, n))
			drepl_flush_backlog(d, n);
	/* The SCTP associations too (counted as sctp.flush_records). */
	dsctp_flush(d, why);
	sent = d->repl.records_sent - before;
	d->repl.flushes++;
	d->repl.flush_records += sent;
	if (sent)
		log_info("replication flushed (%s): %llu records", why, (unsigned long long)sent);
	else
		log_debug("replication flushed (%s): nothing pending", why);
	return sent;
}

void drepl_tick(struct daemon *d, uint64_t *next)
{
	const struct cfg *c = d->cfg;
	uint64_t now = daemon_now_ms(), period;

	drepl_expire(d, now);
	/* Deadlines: the expiry steps while replicas remain; the workers' logs
	 * wake the loop themselves (connlog.h), to wait for the period only in
	 * periodic mode.  A bulk goes whole and a backlog moves on an ACK
	 * (a message): neither needs a timer. */
	if (__atomic_load_n(&d->replica_count, __ATOMIC_RELAXED) &&
	    d->last_expire_ms + DREPL_EXPIRE_MS < *next)
		*next = d->last_expire_ms + DREPL_EXPIRE_MS;

	/* Leaving: the signal flushed the logs (drepl_flush); what the workers
	 * log while we still forward goes at every pass, so that the peers
	 * acknowledge it before we stop (periodic mode too).  Every-update
	 * mode drains at most every DREPL_COALESCE_MS: the first change after
	 * a quiet spell goes at once, a burst behind it fills batches
	 * (path-MTU sized) instead of one datagram per wake-up. */
	period = c->sync_mode == SYNC_PERIODIC ? c->sync_interval_ms : DREPL_COALESCE_MS;
	if (d->leaving || now - d->last_repl_ms >= period) {
		d->last_repl_ms = now;
		drepl_drain_logs(d);
	}
	for (unsigned i = 0; i < d->n_workers; i++)
		if (d->workers[i].log && connlog_pending(d->workers[i].log) &&
		    d->last_repl_ms + period < *next)
			*next = d->last_repl_ms + period;
	for (size_t n = 0; n < d->n_peers; n++) {
		if ((long)n == c->self)
			continue;
		if (d->peers[n].bulk_pending && dsync_node_alive(d, n) && d->peers[n].mn.heard) {
			d->peers[n].bulk_pending = false;
			dsctp_peer_up(d, n);	/* our SCTP associations too */
			if (drepl_peer_is_dist(d, n))
				drepl_send_bulk(d, n);
		}
		if (dsync_node_alive(d, n))
			drepl_flush_backlog(d, n);
	}
}

/* --- reception ------------------------------------------------------------------------- */

struct drepl_rx {
	struct daemon *d;
	size_t n;
	uint32_t origin;
	bool report;
	size_t i;			/* the record's position in the body */
	bool routed[REPL_BODY_MAX];	/* reports: by position (a record takes >= 1 byte) */
};

/* Whether a worker's table holds k.  Lock order: a worker takes
 * replica_lock under its own lock (drepl_find_replica), so this is called
 * holding no lock at all, and may then wait for each worker's. */
static bool drepl_routed(struct daemon *d, const struct conn_key *k)
{
	bool found = false;

	for (unsigned i = 0; i < d->n_workers && !found; i++) {
		struct worker *w = &d->workers[i];

		if (!w->conns)
			continue;
		pthread_mutex_lock(&w->lock);
		found = conn_lookup(w->conns, k) != NULL;
		pthread_mutex_unlock(&w->lock);
	}
	return found;
}

/* A report's first pass, before replica_lock is taken: which of its
 * records (by position) a worker already routes.  A flow a worker starts
 * or ends between the two passes costs at most a replica that expires. */
static int drepl_rx_routed(const struct repl_rec *r, void *arg)
{
	struct drepl_rx *x = arg;

	if (x->i < sizeof(x->routed))
		x->routed[x->i] = r->type == REPL_TLV_CONN && drepl_routed(x->d, &r->conn.key);
	x->i++;
	return 0;
}

static int drepl_rx_rec(const struct repl_rec *r, void *arg)
{
	struct drepl_rx *x = arg;
	struct daemon *d = x->d;
	size_t pos = x->i++;
	int ret;

	if (r->type == REPL_TLV_CONN) {
		d->repl.records_received++;
		/* A target's report only fills gaps: what the distributor
		 * replicated is newer, and a flow a worker already routes
		 * needs nothing.  Except a replica still in SYN (periodic
		 * replication missed the handshake's end): the target knows
		 * better, and a SYN replica would expire with the SYN timeout. */
		if (x->report) {
			struct repl_conn cur;

			if (pos < sizeof(x->routed) && x->routed[pos])
				return 0;
			if (repl_store_lookup(d->replica, &r->conn.key, &cur, NULL) &&
			    !(cur.state == CONN_SYN && r->conn.state != CONN_SYN))
				return 0;
		}
	}
	ret = repl_store_apply(d->replica, x->origin, r, daemon_now_ms());
	if (x->report && r->type == REPL_TLV_CONN && ret == REPL_OK)
		d->repl.report_conns_added++;
	if (r->type == REPL_TLV_BULK_END) {
		struct peer_backlog *bl = &d->peers[x->n].backlog;

		d->repl.bulks_received++;
		if (ret == REPL_ERR_INCOMPLETE) {
			static const uint8_t none[1];

			d->repl.bulks_incomplete++;
			if (bl->bulk_asks < DREPL_BULK_ASKS) {
				/* Not ready on an incomplete table: ask again. */
				bl->bulk_asks++;
				log_warn("bulk from %s incomplete: asking for another (%u/%u)",
					 d->cfg->nodes[x->n].name, bl->bulk_asks,
					 DREPL_BULK_ASKS);
				drepl_queue(d, x->n, REPL_MSG_BULK_REQ, none, 0);
				return 0;
			}
			log_warn("bulk from %s incomplete %u times: using what came (the "
				 "targets' reports fill the gaps)", d->cfg->nodes[x->n].name,
				 DREPL_BULK_ASKS + 1);
		}
		bl->bulk_asks = 0;
		d->peers[x->n].bulk_from = true;
	}
	if (ret == REPL_ERR_FULL)
		d->repl.store_full++;
	return 0;
}

struct drepl_report {
	struct daemon *d;
	size_t to;
	const struct cfg_vipa *vp;
	const struct cfg_service *s;
	struct drepl_out *o;
	unsigned count;
};

static int drepl_report_conn(const struct listen_conn *lc, void *arg)
{
	struct drepl_report *r = arg;
	const struct cfg *c = r->d->cfg;
	const struct ip_addr *mine = cfg_node_addr(c, (size_t)c->self, r->vp->addr.family);
	struct repl_conn rc;

	if (!mine || lc->family != r->vp->addr.family || !addr_eq(&lc->local, mine))
		return 0;
	memset(&rc, 0, sizeof(rc));
	conn_key_set(&rc.key, r->s->proto, &lc->remote, lc->rport, &r->vp->addr, r->s->port);
	rc.taddr = *mine;
	rc.tport = r->s->target_port;
	rc.target = r->d->peers[c->self].id;
	rc.state = r->s->proto == IPPROTO_TCP ? CONN_EST : CONN_UDP;
	drepl_out_conn(r->d, r->to, r->o, &rc);
	r->count++;
	return 0;
}

/* Targets' reports rebuild a new distributor's table (takeover, doc/architecture.md). */
static void drepl_send_report(struct daemon *d, size_t to, const struct ip_addr *vaddr)
{
	const struct cfg *c = d->cfg;
	long v = drepl_vipa_index(c, vaddr);
	struct drepl_out o;
	struct drepl_report r = { .d = d, .to = to, .o = &o };
	char err[128];

	if (v < 0)
		return;
	memset(&o, 0, sizeof(o));
	repl_writer_init(&o.w, o.buf, dsync_state_body_max(d, to));
	o.used = true;
	o.type = REPL_MSG_REPORT;	/* every chunk of it, not only the last */
	r.vp = &c->vipas[v];
	for (size_t i = 0; i < r.vp->n_svcs; i++) {
		r.s = &r.vp->svcs[i];
		if (listen_conns(r.vp->addr.family, r.s->proto, r.s->target_port, drepl_report_conn,
				 &r, err, sizeof(err)) < 0)
			log_rl(&drepl_rl, 2, LOG_WARNING, "connection report: %s", err);
	}
	drepl_out_flush(d, to, &o);
	d->repl.reports_sent++;
	{
		char ab[ADDR_STRLEN];

		log_info("reported %u connections for VIPA %s to %s", r.count,
			 addr_fmt(vaddr, ab, sizeof(ab)), c->nodes[to].name);
	}
}

void drepl_request_reports(struct daemon *d, size_t vipa)
{
	const struct cfg *c = d->cfg;
	const struct cfg_vipa *vp = &c->vipas[vipa];
	uint8_t buf[REPL_BODY_MAX];
	struct repl_writer w;
	bool asked[c->n_nodes ? c->n_nodes : 1];

	memset(asked, 0, sizeof(asked));
	repl_writer_init(&w, buf, sizeof(buf));
	repl_put_vipa(&w, &vp->addr);
	for (size_t i = 0; i < vp->n_svcs; i++)
		for (size_t n = 0; n < c->n_nodes; n++)
			asked[n] |= cfg_serves(vp, &vp->svcs[i], n);
	for (size_t n = 0; n < c->n_nodes; n++)
		if (asked[n] && (long)n != c->self && dsync_node_alive(d, n))
			drepl_queue(d, n, REPL_MSG_REPORT_REQ, buf, w.tlv.len);
}

static int drepl_req_vipa(const struct repl_rec *r, void *arg)
{
	if (r->type == REPL_TLV_VIPA)
		*(struct ip_addr *)arg = r->vipa;
	return 0;
}

/* A replication message from node n (the reliable channel, by type). */
static void drepl_input(struct daemon *d, size_t n, uint8_t type, const uint8_t *body,
			size_t len)
{
	struct drepl_rx x = { .d = d, .n = n, .origin = d->peers[n].id };
	int r;

	if (type == REPL_MSG_BULK_REQ) {
		/* It found our last bulk incomplete. */
		if (drepl_peer_is_dist(d, n)) {
			d->peers[n].bulk_pending = true;
			d->repl.bulk_requests++;
		}
		return;
	}
	if (type == REPL_MSG_REPORT_REQ) {
		struct ip_addr vaddr = { 0 };

		if (repl_decode(body, len, drepl_req_vipa, &vaddr) > 0 && vaddr.family)
			drepl_send_report(d, n, &vaddr);
		return;
	}
	x.report = type == REPL_MSG_REPORT;
	if (x.report) {
		d->repl.reports_received++;
		/* Workers' locks first, replica_lock after: never the other
		 * way round (see drepl_routed). */
		if (repl_decode(body, len, drepl_rx_routed, &x) < 0)
			memset(x.routed, 0, sizeof(x.routed));
		x.i = 0;
	}
	pthread_mutex_lock(&d->replica_lock);
	r = repl_decode(body, len, drepl_rx_rec, &x);
	__atomic_store_n(&d->replica_count, repl_store_count(d->replica), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d->replica_lock);
	if (r < 0)
		log_rl(&drepl_rl, 5, LOG_WARNING, "replication message from %s refused: %s",
		       d->cfg->nodes[n].name, repl_err_name(r));
}

/* --- the subsystem ---------------------------------------------------------------------- */

/* A reload may change who distributes which VIPA beside us: the updates
 * waiting in a peer's backlog (carried with the peer) go, and every peer
 * gets our whole table again if it still distributes beside us; the
 * requests and reports waiting stay.  Nothing to allocate: the backlogs
 * moved with their peers. */
static void drepl_commit(struct daemon *d, void *prep)
{
	(void)prep;
	for (size_t n = 0; n < d->n_peers; n++) {
		drepl_backlog_drop_updates(&d->peers[n].backlog);
		if (!d->peers[n].self)
			d->peers[n].bulk_pending = true;
	}
}

/* drepl_tick reads the clock itself (it may run long: a bulk). */
static void drepl_tick_hook(struct daemon *d, uint64_t now, uint64_t *next)
{
	(void)now;
	drepl_tick(d, next);
}

static const uint8_t drepl_types[] = {
	REPL_MSG_UPDATE, REPL_MSG_REPORT, REPL_MSG_REPORT_REQ, REPL_MSG_BULK_REQ,
};

/* Counters, under "sync.repl." (clusterctl stats). */
static void drepl_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	emit(arg, "sync.repl.replicas", drepl_replicas(d));
#define DREPL_EMIT(f) emit(arg, "sync.repl." #f, d->repl.f);
	DREPL_STATS_LIST(DREPL_EMIT)
#undef DREPL_EMIT
}

const struct subsys drepl_subsys = {
	.name = "repl",
	.types = drepl_types,
	.n_types = sizeof(drepl_types),
	.commit = drepl_commit,
	.input = drepl_input,
	.tick = drepl_tick_hook,
	.stats = drepl_stats,
};
