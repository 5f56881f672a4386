/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dsctp: SCTP associations across the cluster (daemon/dsctp.h).
 *
 * Threads: workers push events into one ring (dsctp_push, the connlog way:
 * one producer, worker 0 being the only SCTP worker, a try-lock in case
 * another ever pushes; one consumer, the main thread).  Everything else is
 * the main thread's.
 * The association table is worker 0's (d->workers[0].assocs), taken under
 * d->workers[0].lock for one message, one event or one bulk chunk at a
 * time, never across I/O.
 *
 * Sending: every message to a peer goes through its FIFO backlog (empty
 * almost always: then straight into the reliable channel), so TAG, GONE and
 * ASSOC bodies keep their order.  TAG and GONE go at once, whatever the
 * replication mode: the distributors need the tag before the client's
 * COOKIE ECHO.  UPDATE and DELETE records wait in a coalescing set
 * (sync/sctpmsg's sctp_pend) until the mode says so.
 *
 * Node ids on the wire: an UPDATE names its target by wire_node_id of the
 * node's name, as connection replication does (sync/repl.h), so that two
 * nodes whose configurations number the nodes differently for a moment (a
 * reload on one of them) still agree.  The TAG's and GONE's target is the
 * message's sender. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <netinet/in.h>

#include "daemon/ctx.h"
#include "daemon/dsctp.h"
#include "daemon/dsync.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/subsys.h"
#include "nfq/assoc.h"
#include "sync/msg.h"
#include "sync/sctpmsg.h"

#define DSCTP_RING	8192	/* worker events waiting for the main thread: power of two */
#define DSCTP_PEND_MAX	16384	/* records waiting for the mode's moment (coalesced); more
				 * sends what waits at once */
#define DSCTP_BACKLOG_MAX 16384	/* bodies waiting for a peer's reliable channel; more: the
				 * body is lost (counted) and the peer gets a bulk */
#define DSCTP_DRAIN_MAX	1024	/* events handled per main-loop pass */
#define DSCTP_BULK_CHUNK 1024	/* pool slots a bulk walks per hold of worker 0's lock */
#define DSCTP_BULK_AHEAD 64	/* a bulk waits while its peer's backlog holds this many */

/* The counters, under "sctp." in `clusterctl stats` (after the gauges).
 * Main thread only, except events and events_dropped (workers: atomic). */
#define DSCTP_STATS_LIST(X)                                                       \
	X(events)		/* pushed by the workers */                      \
	X(events_dropped)	/* the ring was full: lost (peers get bulks) */  \
	X(tag_sent)		/* target: SCTP_MSG_TAG, one per distributor */  \
	X(tag_received)                                                           \
	X(tag_local)		/* target and distributor: applied to our own table */ \
	X(tag_learned)		/* a TAG made or completed an association */     \
	X(tag_dup)		/* a TAG we knew already */                      \
	X(tag_refused)		/* the table said no: full, or nothing to learn into */ \
	X(unreachable_skipped)	/* a TAG or GONE not sent: that distributor is down */ \
	X(tag_ignored)		/* not our VIPA, not its target, no table */     \
	X(gone_sent)                                                              \
	X(gone_received)                                                          \
	X(gone_ended)		/* a GONE closed an association */               \
	X(gone_unknown)		/* a GONE for no association we hold */          \
	X(gone_ignored)		/* not our VIPA, or from another than its target */ \
	X(assoc_records_sent)	/* UPDATE and DELETE records, one per peer */   \
	X(assoc_records_received)                                                 \
	X(imported)		/* records applied to our table */               \
	X(import_failed)	/* an UPDATE the table refused (full) */        \
	X(import_ignored)	/* a record of a VIPA we do not both distribute */ \
	X(coalesced)		/* records that replaced a waiting one */        \
	X(bulks_sent)                                                             \
	X(bulks_received)                                                         \
	X(flushes)                                                                \
	X(flush_records)                                                          \
	X(backlog_dropped)	/* bodies lost to a full backlog */              \
	X(decode_errors)	/* TAG, GONE or ASSOC bodies refused */

struct dsctp_stats {
#define DSCTP_STATS_FIELD(f) uint64_t f;
	DSCTP_STATS_LIST(DSCTP_STATS_FIELD)
#undef DSCTP_STATS_FIELD
};

/* A body waiting for a peer's reliable channel. */
struct dsctp_msg {
	uint8_t type;
	uint16_t len;
	uint8_t *b;
};

/* What this node keeps about one other node, indexed like d->peers and
 * carried across a reload by wire id. */
struct dsctp_peer {
	uint32_t id;
	struct dsctp_msg *q;	/* backlog ring, oldest first */
	size_t head, n, cap;
	/* A bulk in progress: our table between BULK_BEGIN and BULK_END, a
	 * chunk of pool slots per tick. */
	bool bulk;
	bool bulk_begun;	/* BULK_BEGIN went */
	uint32_t bulk_id, bulk_count;
	size_t cursor;
	/* Receiving: a whole table came from it (BULK_END after BULK_BEGIN). */
	bool bulk_from;
};

struct dsctp {
	/* Workers -> main thread (daemon/connlog.h explains the handshake). */
	struct engine_sctp_ev *ring;	/* [DSCTP_RING] */
	uint64_t head, tail;
	/* Producers: worker 0 alone by the rules (every SCTP packet is queued
	 * to it); a try-lock keeps the ring whole should another worker ever
	 * push, without making any of them wait (it would drop, counted). */
	pthread_mutex_t push_lock;
	int want_wake;
	int wake_fd;
	uint64_t dropped_seen;	/* events_dropped when last looked at */

	struct sctp_pend *pend;
	uint64_t last_send_ms;

	struct dsctp_peer peers[CFG_MAX_NODES];
	size_t n_peers;
	uint32_t bulk_seq;
	struct sctp_upd *chunk;	/* [DSCTP_BULK_CHUNK]: a bulk's records, copied under the lock */
	/* Reloads' renumberings staged in worker 0's table and not logged yet
	 * (dsctp_stage), oldest first. */
	struct dsctp_prep *plans;

	struct dsctp_stats st;
};

static struct log_rl dsctp_rl_send, dsctp_rl_rx, dsctp_rl_drop;

/* --- configuration helpers --------------------------------------------------- */

static bool dsctp_is_dist(const struct cfg_vipa *vp, long node)
{
	for (size_t k = 0; k < vp->n_dists; k++)
		if ((long)vp->dists[k].node == node)
			return true;
	return false;
}

/* The VIPA of ep if it is one of ours to distribute, else NULL. */
static const struct cfg_vipa *dsctp_our_vipa(const struct daemon *d, uint32_t ep, uint8_t family)
{
	const struct cfg *c = d->cfg;
	const struct cfg_vipa *vp;

	if (ep >= c->n_vipas)
		return NULL;
	vp = &c->vipas[ep];
	return vp->addr.family == family && dsctp_is_dist(vp, c->self) ? vp : NULL;
}

/* Node n may serve the SCTP service of vp on vport. */
static bool dsctp_serves(const struct cfg_vipa *vp, uint16_t vport, size_t n)
{
	for (size_t i = 0; i < vp->n_svcs; i++)
		if (vp->svcs[i].proto == IPPROTO_SCTP && vp->svcs[i].port == vport)
			return cfg_serves(vp, &vp->svcs[i], n);
	return false;
}

static bool dsctp_has_sctp(const struct cfg_vipa *vp)
{
	for (size_t i = 0; i < vp->n_svcs; i++)
		if (vp->svcs[i].proto == IPPROTO_SCTP)
			return true;
	return false;
}

/* Node n gets our records about VIPA ep: we both distribute it. */
static bool dsctp_peer_wants(const struct daemon *d, size_t n, uint32_t ep)
{
	const struct cfg *c = d->cfg;

	return ep < c->n_vipas && (long)n != c->self && dsctp_is_dist(&c->vipas[ep], c->self) &&
	       dsctp_is_dist(&c->vipas[ep], (long)n);
}

/* Any SCTP VIPA we both distribute: node n wants our table. */
bool dsctp_peer_shares(const struct daemon *d, size_t n)
{
	for (size_t i = 0; i < d->cfg->n_vipas; i++)
		if (dsctp_has_sctp(&d->cfg->vipas[i]) && dsctp_peer_wants(d, n, (uint32_t)i))
			return true;
	return false;
}

static bool dsctp_reachable(const struct daemon *d, size_t n)
{
	return n < d->n_peers && (long)n != d->cfg->self && d->peers[n].tx &&
	       dsync_node_alive(d, n);
}

static const char *dsctp_name(const struct daemon *d, size_t n)
{
	return n < d->cfg->n_nodes ? d->cfg->nodes[n].name : "?";
}

static struct assoc_table *dsctp_table(const struct daemon *d)
{
	return d->workers && d->n_workers ? d->workers[0].assocs : NULL;
}

/* A table entry's node index (the configuration of the time) as a wire
 * id; 0: none. */
static uint32_t dsctp_wire_target(const struct daemon *d, uint32_t target)
{
	return target < d->n_peers ? d->peers[target].id : 0;
}

static uint32_t dsctp_index_target(const struct daemon *d, uint32_t id)
{
	long n = id ? peer_by_id(d->peers, d->n_peers, id) : -1;

	return n >= 0 ? (uint32_t)n : ASSOC_NO_TARGET;
}

/* --- backlogs and sending ------------------------------------------------------ */

static void dsctp_backlog_clear(struct dsctp_peer *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->q[(p->head + i) % p->cap].b);
	p->head = p->n = 0;
}

static void dsctp_peer_free(struct dsctp_peer *p)
{
	dsctp_backlog_clear(p);
	free(p->q);
	memset(p, 0, sizeof(*p));
}

/* Sends what waits for node n, in order, while its channel takes it. */
static void dsctp_backlog_flush(struct daemon *d, size_t n)
{
	struct dsctp_peer *p = &d->sctp->peers[n];

	while (p->n) {
		struct dsctp_msg *m = &p->q[p->head];

		if (dsync_send_state(d, n, m->type, m->b, m->len) < 0)
			return;		/* full: an acknowledgement makes room */
		free(m->b);
		p->head = (p->head + 1) % p->cap;
		p->n--;
	}
}

/* Appends a body to node n's backlog and sends what its channel takes.
 * False when it was lost (no room, out of memory). */
static bool dsctp_send(struct daemon *d, size_t n, uint8_t type, const uint8_t *b, size_t len)
{
	struct dsctp *s = d->sctp;
	struct dsctp_peer *p = &s->peers[n];
	struct dsctp_msg *m;

	if (!p->n && dsync_send_state(d, n, type, b, len) == 0)
		return true;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct dsctp_msg *q;

		if (cap > DSCTP_BACKLOG_MAX || !(q = malloc(cap * sizeof(*q))))
			goto lost;
		for (size_t i = 0; i < p->n; i++)
			q[i] = p->q[(p->head + i) % p->cap];
		free(p->q);
		p->q = q;
		p->head = 0;
		p->cap = cap;
	}
	m = &p->q[(p->head + p->n) % p->cap];
	if (!(m->b = malloc(len ? len : 1)))
		goto lost;
	memcpy(m->b, b, len);
	m->type = type;
	m->len = (uint16_t)len;
	p->n++;
	dsctp_backlog_flush(d, n);
	return true;
lost:
	s->st.backlog_dropped++;
	log_rl(&dsctp_rl_send, 2, LOG_WARNING, "sctp: the channel to %s is full: a %s message "
	       "was lost", dsctp_name(d, n), msg_type_name(type));
	/* Its table will be out of date: send it ours again (after what
	 * waits). */
	if (!p->bulk && dsctp_peer_shares(d, n))
		dsctp_peer_up(d, n);
	return false;
}

/* One ASSOC body being filled per peer. */
struct dsctp_out {
	struct sctp_writer w;
	uint8_t buf[REL_BODY_MAX];
	bool used;
};

static void dsctp_out_init(struct daemon *d, size_t n, struct dsctp_out *o)
{
	size_t max = dsync_state_body_max(d, n);

	sctp_writer_init(&o->w, o->buf, max < sizeof(o->buf) ? max : sizeof(o->buf));
	o->used = true;
}

/* Sends the body (if any) and begins the next; the records it held. */
static unsigned dsctp_out_flush(struct daemon *d, size_t n, struct dsctp_out *o)
{
	unsigned recs = o->w.n;

	if (o->w.tlv.len)
		dsctp_send(d, n, SCTP_MSG_ASSOC, o->buf, o->w.tlv.len);
	dsctp_out_init(d, n, o);
	return recs;
}

/* One record into node n's body; a full body goes first.  The records
 * sent (UPDATE and DELETE, not the bulk markers) are counted. */
static void dsctp_out_rec(struct daemon *d, size_t n, struct dsctp_out *o, const struct sctp_rec *r)
{
	bool ok;

	if (!o->used)
		dsctp_out_init(d, n, o);
	for (int tries = 0; tries < 2; tries++) {
		switch (r->type) {
		case SCTP_TLV_UPDATE: ok = sctp_put_update(&o->w, &r->upd); break;
		case SCTP_TLV_DELETE: ok = sctp_put_delete(&o->w, &r->del); break;
		case SCTP_TLV_BULK_BEGIN: ok = sctp_put_bulk_begin(&o->w, r->bulk.id); break;
		default: ok = sctp_put_bulk_end(&o->w, r->bulk.id, r->bulk.count); break;
		}
		if (ok) {
			if (r->type == SCTP_TLV_UPDATE || r->type == SCTP_TLV_DELETE)
				d->sctp->st.assoc_records_sent++;
			return;
		}
		if (o->w.err)
			return;		/* invalid: never sent (sctp_pend checked it) */
		dsctp_out_flush(d, n, o);
	}
}

/* --- replication ---------------------------------------------------------------- */

/* Sends the waiting records to every other live distributor of their VIPA. */
static void dsctp_send_pending(struct daemon *d)
{
	struct dsctp *s = d->sctp;
	size_t np = d->n_peers, cnt = sctp_pend_count(s->pend);
	struct dsctp_out *outs;

	s->last_send_ms = daemon_now_ms();
	if (!cnt)
		return;
	outs = calloc(np ? np : 1, sizeof(*outs));
	if (!outs)
		return;		/* they wait for the next time */
	for (size_t i = 0; i < cnt; i++) {
		const struct sctp_rec *r = sctp_pend_get(s->pend, i);
		uint32_t ep = r->type == SCTP_TLV_UPDATE ? r->upd.ep : r->del.ep;

		if (ep >= d->cfg->n_vipas)
			continue;
		for (size_t k = 0; k < d->cfg->vipas[ep].n_dists; k++) {
			size_t n = d->cfg->vipas[ep].dists[k].node;

			if (dsctp_peer_wants(d, n, ep) && dsctp_reachable(d, n))
				dsctp_out_rec(d, n, &outs[n], r);
		}
	}
	for (size_t n = 0; n < np; n++)
		if (outs[n].used)
			dsctp_out_flush(d, n, &outs[n]);
	free(outs);
	sctp_pend_clear(s->pend);
}

/* A change of our table to replicate (not an import's: those never go
 * back).  Established and closed entries only: an INIT's entry is this
 * node's alone. */
static void dsctp_pend_ev(struct daemon *d, const struct engine_sctp_ev *ev)
{
	struct dsctp *s = d->sctp;
	struct sctp_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!ev->itag_t)
		return;
	if (ev->kind == ENGINE_SCTP_UPDATE) {
		if (ev->state != ASSOC_EST && ev->state != ASSOC_CLOSED)
			return;
		r.type = SCTP_TLV_UPDATE;
		r.upd.ep = ev->ep;
		r.upd.family = ev->family;
		r.upd.state = ev->state;
		r.upd.flags = ev->flags & SCTP_F_KNOWN;
		r.upd.cport = ev->cport;
		r.upd.vport = ev->vport;
		r.upd.itag_c = ev->itag_c;
		r.upd.itag_t = ev->itag_t;
		r.upd.target = dsctp_wire_target(d, ev->target);
		/* The table keeps its paths distinct, of the VIPA's family. */
		for (unsigned i = 0; i < ev->n_paths && i < ASSOC_PATHS; i++)
			if (ev->paths[i].family == ev->family)
				r.upd.paths[r.upd.n_paths++] = ev->paths[i];
	} else {
		r.type = SCTP_TLV_DELETE;
		r.del.ep = ev->ep;
		r.del.cport = ev->cport;
		r.del.vport = ev->vport;
		r.del.itag_t = ev->itag_t;
	}
	rc = sctp_pend_put(s->pend, &r);
	if (rc == -ENOSPC) {
		dsctp_send_pending(d);
		rc = sctp_pend_put(s->pend, &r);
	}
	if (rc == 0)
		s->st.coalesced++;
}

/* The mode says when the waiting records go: every-update and on-event at
 * every drain (a burst of events drained at once fills bodies), periodic
 * every interval; all modes at every pass while leaving. */
static void dsctp_maybe_send(struct daemon *d, uint64_t now)
{
	struct dsctp *s = d->sctp;

	if (!sctp_pend_count(s->pend))
		return;
	if (d->cfg->sync_mode != SYNC_PERIODIC || d->leaving ||
	    now - s->last_send_ms >= d->cfg->sync_interval_ms)
		dsctp_send_pending(d);
}

/* --- TAG and GONE: applying them ------------------------------------------------ */

/* A TAG from node n (ourselves when we are the target), to our table. */
static void dsctp_apply_tag(struct daemon *d, size_t n, const struct sctp_tag *t)
{
	struct dsctp *s = d->sctp;
	const struct cfg_vipa *vp = dsctp_our_vipa(d, t->ep, t->family);
	struct assoc_table *tab = dsctp_table(d);
	struct assoc_ports p = { .ep = t->ep, .cport = t->cport, .vport = t->vport };
	enum assoc_learn_res res = ASSOC_L_BAD;
	struct engine_sctp_ev ev;
	uint32_t target = (uint32_t)n;
	struct worker *w;
	struct assoc *a = NULL;
	bool repl = false, known;

	if (!vp || !tab || !dsctp_serves(vp, t->vport, n)) {
		s->st.tag_ignored++;
		log_rl(&dsctp_rl_rx, 2, LOG_INFO, "sctp: a tag from %s ignored: %s",
		       dsctp_name(d, n), !tab ? "no association table" :
		       !vp ? "not a VIPA of ours" : "not a target of that service");
		return;
	}
	w = &d->workers[0];
	pthread_mutex_lock(&w->lock);
	/* The table may still have the numbering of before a reload (until
	 * worker 0 takes the new view): the VIPA and the node in its own. */
	known = assoc_remap_back(tab, &p.ep, &target);
	if (known)
		a = assoc_learn(tab, &p, t->itag_c, t->itag_t, target, &t->client,
				daemon_now_ms(), &res);
	/* Every distributor gets the TAG itself: an entry goes to the others
	 * once the client confirmed it (the engine's UPDATE then), so that a
	 * flood of spoofed INITs costs no replication (nfq/assoc.h). */
	if (a && res != ASSOC_L_DUP && (a->flags & ASSOC_F_CONFIRMED)) {
		engine_sctp_ev_from(&ev, ENGINE_SCTP_UPDATE, a, t->family);
		repl = assoc_remap_fwd(tab, &ev.ep, &ev.target);
	}
	pthread_mutex_unlock(&w->lock);
	if (!known) {
		s->st.tag_ignored++;
		log_rl(&dsctp_rl_rx, 2, LOG_INFO, "sctp: a tag from %s ignored: its VIPA or node "
		       "is new in a reload the SCTP worker has not taken yet", dsctp_name(d, n));
		return;
	}
	switch (res) {
	case ASSOC_L_EST:
	case ASSOC_L_CREATED:
	case ASSOC_L_RETAG:
		s->st.tag_learned++;
		break;
	case ASSOC_L_DUP:
		s->st.tag_dup++;
		break;
	default:
		s->st.tag_refused++;
		log_rl(&dsctp_rl_rx, 2, LOG_WARNING, "sctp: a tag from %s not learned (%s)",
		       dsctp_name(d, n), res == ASSOC_L_FULL ? "the table is full" :
		       res == ASSOC_L_UNKNOWN ? "no INIT waits for it" : "bad tag");
		break;
	}
	if (repl)
		dsctp_pend_ev(d, &ev);
}

/* A GONE from node n (or ourselves): the association ends here too. */
static void dsctp_apply_gone(struct daemon *d, size_t n, const struct sctp_gone *g)
{
	struct dsctp *s = d->sctp;
	const struct cfg_vipa *vp = dsctp_our_vipa(d, g->ep, g->family);
	struct assoc_table *tab = dsctp_table(d);
	struct assoc_ports p = { .ep = g->ep, .cport = g->cport, .vport = g->vport };
	struct engine_sctp_ev ev;
	struct assoc *a = NULL;
	struct worker *w;
	uint32_t target = (uint32_t)n;
	bool tbit = !g->itag_t, repl = false, other = false;

	if (!vp || !tab) {
		s->st.gone_ignored++;
		return;
	}
	w = &d->workers[0];
	pthread_mutex_lock(&w->lock);
	/* itag_t keys every established entry; the client's own tag (the
	 * T bit's) is all the target knows after some ABORTs.
	 * In the table's numbering (assoc_remap_back: a reload worker 0 has
	 * not taken yet); a VIPA or node it does not know has no entry. */
	if (assoc_remap_back(tab, &p.ep, &target) &&
	    assoc_lookup(tab, &p, tbit ? g->itag_c : g->itag_t, tbit, &a, NULL) == ASSOC_HIT) {
		if (a->target != target) {
			other = true;	/* only its target ends an association */
		} else if (a->state != ASSOC_CLOSED) {
			assoc_end(tab, a, daemon_now_ms());
			engine_sctp_ev_from(&ev, ENGINE_SCTP_UPDATE, a, g->family);
			repl = assoc_remap_fwd(tab, &ev.ep, &ev.target);
		}
	} else {
		a = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	if (other)
		s->st.gone_ignored++;
	else if (!a)
		s->st.gone_unknown++;
	else if (repl)
		s->st.gone_ended++;
	if (repl)
		dsctp_pend_ev(d, &ev);
}

/* --- events from the workers ---------------------------------------------------- */

/* This node is the target: every live distributor of the VIPA must know. */
static void dsctp_ev_target(struct daemon *d, const struct engine_sctp_ev *ev)
{
	struct dsctp *s = d->sctp;
	const struct cfg *c = d->cfg;
	const struct cfg_vipa *vp;
	uint8_t b[64];
	size_t len;
	struct sctp_tag t = {
		.ep = ev->ep, .family = ev->family, .cport = ev->cport, .vport = ev->vport,
		.itag_c = ev->itag_c, .itag_t = ev->itag_t, .client = ev->client,
	};
	struct sctp_gone g = {
		.ep = ev->ep, .family = ev->family, .cport = ev->cport, .vport = ev->vport,
		.itag_c = ev->itag_c, .itag_t = ev->itag_t,
	};
	bool tag = ev->kind == ENGINE_SCTP_TAG;

	if (ev->ep >= c->n_vipas || c->self < 0)
		return;
	vp = &c->vipas[ev->ep];
	len = tag ? sctp_tag_encode(&t, b, sizeof(b)) : sctp_gone_encode(&g, b, sizeof(b));
	if (!len) {
		log_rl(&dsctp_rl_rx, 2, LOG_WARNING, "sctp: a %s event the messages cannot carry",
		       tag ? "tag" : "gone");
		return;
	}
	for (size_t k = 0; k < vp->n_dists; k++) {
		size_t n = vp->dists[k].node;

		if ((long)n == c->self) {
			s->st.tag_local += tag;
			if (tag)
				dsctp_apply_tag(d, n, &t);
			else
				dsctp_apply_gone(d, n, &g);
			continue;
		}
		if (!dsctp_reachable(d, n)) {
			/* It gets our associations' state from the others'
			 * dump when it comes back. */
			s->st.unreachable_skipped++;
			continue;
		}
		if (dsctp_send(d, n, tag ? SCTP_MSG_TAG : SCTP_MSG_GONE, b, len)) {
			if (tag)
				s->st.tag_sent++;
			else
				s->st.gone_sent++;
		}
	}
}

static void dsctp_handle(struct daemon *d, const struct engine_sctp_ev *ev)
{
	switch (ev->kind) {
	case ENGINE_SCTP_TAG:
	case ENGINE_SCTP_GONE:
		dsctp_ev_target(d, ev);
		break;
	case ENGINE_SCTP_UPDATE:
	case ENGINE_SCTP_DELETE:
		dsctp_pend_ev(d, ev);
		break;
	default:
		break;
	}
}

void dsctp_push(struct daemon *d, const struct engine_sctp_ev *ev)
{
	struct dsctp *s = d->sctp;
	uint64_t h, t;

	if (!s || !ev)
		return;
	if (pthread_mutex_trylock(&s->push_lock) != 0) {
		__atomic_fetch_add(&s->st.events_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	h = __atomic_load_n(&s->head, __ATOMIC_RELAXED);
	t = __atomic_load_n(&s->tail, __ATOMIC_ACQUIRE);
	if (h - t >= DSCTP_RING) {
		pthread_mutex_unlock(&s->push_lock);
		__atomic_fetch_add(&s->st.events_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	s->ring[h & (DSCTP_RING - 1)] = *ev;
	__atomic_store_n(&s->head, h + 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&s->push_lock);
	__atomic_fetch_add(&s->st.events, 1, __ATOMIC_RELAXED);
	/* One write per empty -> non-empty transition the consumer asked
	 * about (daemon/connlog.h). */
	if (__atomic_load_n(&s->want_wake, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&s->want_wake, 0, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ssize_t r = write(s->wake_fd, &one, sizeof(one));

		(void)r;	/* non-blocking: EAGAIN only when the counter is full */
	}
}

/* Consumer: the next event or NULL (then asks for a wake-up). */
static const struct engine_sctp_ev *dsctp_peek(struct dsctp *s)
{
	uint64_t t = __atomic_load_n(&s->tail, __ATOMIC_RELAXED);

	if (t != __atomic_load_n(&s->head, __ATOMIC_ACQUIRE))
		return &s->ring[t & (DSCTP_RING - 1)];
	__atomic_store_n(&s->want_wake, 1, __ATOMIC_SEQ_CST);
	if (t != __atomic_load_n(&s->head, __ATOMIC_SEQ_CST))
		return &s->ring[t & (DSCTP_RING - 1)];
	return NULL;
}

static void dsctp_done(struct dsctp *s)
{
	__atomic_store_n(&s->tail, __atomic_load_n(&s->tail, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

/* The events waiting, at most `budget` of them: a target flooded with
 * INITs pushes one per INIT ACK, and the main loop must get back to its
 * heartbeats.  True when some are left (the tick asks to run again at once).
 * A lost one (full ring) costs every peer a bulk. */
static bool dsctp_drain_ring(struct daemon *d, size_t budget)
{
	struct dsctp *s = d->sctp;
	const struct engine_sctp_ev *e = NULL;
	uint64_t dropped;

	while (budget && (e = dsctp_peek(s))) {
		struct engine_sctp_ev ev = *e;

		dsctp_done(s);
		dsctp_handle(d, &ev);
		budget--;
	}
	dropped = __atomic_load_n(&s->st.events_dropped, __ATOMIC_RELAXED);
	if (dropped != s->dropped_seen) {
		log_rl(&dsctp_rl_drop, 1, LOG_WARNING, "sctp: %llu association events lost (the "
		       "ring was full): the other distributors get our whole table again",
		       (unsigned long long)(dropped - s->dropped_seen));
		s->dropped_seen = dropped;
		for (size_t n = 0; n < d->n_peers; n++)
			if (dsctp_peer_shares(d, n))
				dsctp_peer_up(d, n);
	}
	return !budget && __atomic_load_n(&s->tail, __ATOMIC_RELAXED) !=
				  __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
}

int dsctp_wake_fd(const struct daemon *d)
{
	return d->sctp ? d->sctp->wake_fd : -1;
}

void dsctp_drain(struct daemon *d)
{
	struct dsctp *s = d->sctp;
	uint64_t v;

	if (!s)
		return;
	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_rl(&dsctp_rl_drop, 1, LOG_WARNING, "sctp: reading the wake-up: %s",
		       strerror(errno));
	dsctp_drain_ring(d, DSCTP_DRAIN_MAX);	/* the rest: the tick */
	dsctp_maybe_send(d, daemon_now_ms());
}

uint64_t dsctp_flush(struct daemon *d, const char *why)
{
	struct dsctp *s = d->sctp;
	uint64_t before, sent;

	if (!s)
		return 0;
	before = s->st.assoc_records_sent;
	/* Everything, however long: the node is letting go. */
	dsctp_drain_ring(d, DSCTP_RING);
	dsctp_send_pending(d);
	for (size_t n = 0; n < d->n_peers; n++)
		if (dsctp_reachable(d, n))
			dsctp_backlog_flush(d, n);
	sent = s->st.assoc_records_sent - before;
	s->st.flushes++;
	s->st.flush_records += sent;
	if (sent)
		log_info("sctp associations flushed (%s): %llu records", why,
			 (unsigned long long)sent);
	return sent;
}

/* --- bulks ------------------------------------------------------------------------ */

void dsctp_peer_up(struct daemon *d, size_t n)
{
	struct dsctp *s = d->sctp;
	struct dsctp_peer *p;

	if (!s || n >= d->n_peers || (long)n == d->cfg->self || !dsctp_table(d) ||
	    !dsctp_peer_shares(d, n))
		return;
	p = &s->peers[n];
	/* A bulk in progress starts again: the peer restarted meanwhile. */
	p->bulk = true;
	p->bulk_begun = false;
	p->bulk_id = ++s->bulk_seq;
	p->bulk_count = 0;
	p->cursor = 0;
}

struct dsctp_collect {
	struct daemon *d;
	const struct assoc_table *tab;
	size_t n;
	size_t got;
};

/* Under worker 0's lock: a copy of what node n should hold. */
static void dsctp_collect_one(const struct assoc *a, void *arg)
{
	struct dsctp_collect *c = arg;
	struct sctp_upd *u;
	const struct cfg *cfg = c->d->cfg;
	uint32_t ep = a->p.ep, target = a->target;

	/* In the running configuration's numbering (the table may still have
	 * the one of before a reload: dsctp_stage). */
	if ((a->state != ASSOC_EST && a->state != ASSOC_CLOSED) || !a->itag_t ||
	    !assoc_remap_fwd(c->tab, &ep, &target) || !dsctp_peer_wants(c->d, c->n, ep) ||
	    c->got >= DSCTP_BULK_CHUNK)
		return;
	u = &c->d->sctp->chunk[c->got];
	memset(u, 0, sizeof(*u));
	u->ep = ep;
	u->family = cfg->vipas[ep].addr.family;
	u->state = a->state;
	u->flags = a->flags & SCTP_F_KNOWN;
	u->cport = a->p.cport;
	u->vport = a->p.vport;
	u->itag_c = a->itag_c;
	u->itag_t = a->itag_t;
	u->target = dsctp_wire_target(c->d, target);
	for (unsigned i = 0; i < a->n_paths && i < ASSOC_PATHS; i++)
		if (a->paths[i].family == u->family)
			u->paths[u->n_paths++] = a->paths[i];
	c->got++;
}

/* One chunk of node n's bulk. */
static void dsctp_bulk_step(struct daemon *d, size_t n)
{
	struct dsctp *s = d->sctp;
	struct dsctp_peer *p = &s->peers[n];
	struct assoc_table *tab = dsctp_table(d);
	struct dsctp_collect c = { .d = d, .tab = tab, .n = n };
	struct dsctp_out o = { .used = false };
	struct sctp_rec r;
	size_t next, end;

	if (!tab) {
		p->bulk = false;
		return;
	}
	memset(&r, 0, sizeof(r));
	if (!p->bulk_begun) {
		r.type = SCTP_TLV_BULK_BEGIN;
		r.bulk.id = p->bulk_id;
		dsctp_out_rec(d, n, &o, &r);
		p->bulk_begun = true;
	}
	pthread_mutex_lock(&d->workers[0].lock);
	next = assoc_foreach_chunk(tab, p->cursor, DSCTP_BULK_CHUNK, dsctp_collect_one, &c);
	end = assoc_slots(tab);
	pthread_mutex_unlock(&d->workers[0].lock);
	p->cursor = next;
	r.type = SCTP_TLV_UPDATE;
	for (size_t i = 0; i < c.got; i++) {
		r.upd = s->chunk[i];
		dsctp_out_rec(d, n, &o, &r);
	}
	p->bulk_count += (uint32_t)c.got;
	if (next >= end) {
		memset(&r, 0, sizeof(r));
		r.type = SCTP_TLV_BULK_END;
		r.bulk.id = p->bulk_id;
		r.bulk.count = p->bulk_count;
		dsctp_out_rec(d, n, &o, &r);
		p->bulk = false;
		s->st.bulks_sent++;
		log_info("sent node %s our SCTP associations: %u", dsctp_name(d, n),
			 p->bulk_count);
	}
	if (o.used)
		dsctp_out_flush(d, n, &o);
}

/* --- reception --------------------------------------------------------------------- */

struct dsctp_rx {
	struct daemon *d;
	size_t n;
	struct assoc_table *tab;
	uint64_t now;
	/* Bulk markers seen, logged once the lock is let go (syslog may
	 * block: never under worker 0's lock). */
	bool begun, ended;
	uint32_t bulk_id, bulk_count;
};

/* Under worker 0's lock. */
static int dsctp_rx_rec(const struct sctp_rec *r, void *arg)
{
	struct dsctp_rx *x = arg;
	struct daemon *d = x->d;
	struct dsctp *s = d->sctp;

	switch (r->type) {
	case SCTP_TLV_UPDATE: {
		const struct sctp_upd *u = &r->upd;
		struct assoc_ports p = { .ep = u->ep, .cport = u->cport, .vport = u->vport };
		uint32_t target = dsctp_index_target(d, u->target);
		enum assoc_learn_res res;
		struct assoc *a;

		s->st.assoc_records_received++;
		/* The table's numbering: a reload worker 0 has not taken yet
		 * (a VIPA or node it adds has none there until then). */
		if (!dsctp_our_vipa(d, u->ep, u->family) || !dsctp_peer_wants(d, x->n, u->ep) ||
		    !assoc_remap_back(x->tab, &p.ep, &target)) {
			s->st.import_ignored++;
			return 0;
		}
		a = assoc_learn(x->tab, &p, u->itag_c, u->itag_t, target,
				u->n_paths ? &u->paths[0] : NULL, x->now, &res);
		if (!a) {
			s->st.import_failed++;
			return 0;
		}
		for (unsigned i = 1; i < u->n_paths; i++)
			assoc_add_path(x->tab, a, &u->paths[i]);
		/* The sender's table moved the association to another target
		 * (ASSOC_F_RETARGET): the last writer is right. */
		if (res == ASSOC_L_DUP && target != ASSOC_NO_TARGET && a->target != target &&
		    a->state == ASSOC_EST) {
			a->target = target;
			a->flags |= ASSOC_F_RETARGET;
		}
		/* The sender saw the client use the association: so keep it
		 * (not evictable, est_s), here too. */
		if (u->flags & ASSOC_F_CONFIRMED)
			assoc_confirm(x->tab, a);
		if (u->state == ASSOC_CLOSED)
			assoc_end(x->tab, a, x->now);
		s->st.imported++;
		return 0;
	}
	case SCTP_TLV_DELETE: {
		struct assoc_ports p = { .ep = r->del.ep, .cport = r->del.cport,
					 .vport = r->del.vport };
		struct assoc *a;

		s->st.assoc_records_received++;
		if (!dsctp_peer_wants(d, x->n, r->del.ep) ||
		    !assoc_remap_back(x->tab, &p.ep, NULL)) {
			s->st.import_ignored++;
			return 0;
		}
		if (assoc_lookup(x->tab, &p, r->del.itag_t, false, &a, NULL) == ASSOC_HIT) {
			assoc_remove(x->tab, a);
			s->st.imported++;
		}
		return 0;
	}
	case SCTP_TLV_BULK_BEGIN:
		s->peers[x->n].bulk_from = false;
		x->begun = true;
		x->bulk_id = r->bulk.id;
		return 0;
	case SCTP_TLV_BULK_END:
		s->st.bulks_received++;
		s->peers[x->n].bulk_from = true;
		x->ended = true;
		x->bulk_count = r->bulk.count;
		return 0;
	default:
		return 0;
	}
}

static void dsctp_input(struct daemon *d, size_t n, uint8_t type, const uint8_t *b, size_t len)
{
	struct dsctp *s = d->sctp;
	bool ok = true;

	if (!s || n >= d->n_peers || (long)n == d->cfg->self)
		return;
	switch (type) {
	case SCTP_MSG_TAG: {
		struct sctp_tag t;

		s->st.tag_received++;
		if ((ok = sctp_tag_decode(b, len, &t)))
			dsctp_apply_tag(d, n, &t);
		break;
	}
	case SCTP_MSG_GONE: {
		struct sctp_gone g;

		s->st.gone_received++;
		if ((ok = sctp_gone_decode(b, len, &g)))
			dsctp_apply_gone(d, n, &g);
		break;
	}
	case SCTP_MSG_ASSOC: {
		struct dsctp_rx x = { .d = d, .n = n, .tab = dsctp_table(d),
				      .now = daemon_now_ms() };
		int r;

		if (!x.tab) {
			/* Still checked: a bad body is counted as such. */
			r = sctp_assoc_decode(b, len, NULL, NULL);
			if (r > 0)
				s->st.import_ignored += (uint64_t)r;
		} else {
			pthread_mutex_lock(&d->workers[0].lock);
			r = sctp_assoc_decode(b, len, dsctp_rx_rec, &x);
			pthread_mutex_unlock(&d->workers[0].lock);
			if (x.begun)
				log_debug("sctp: associations of %s follow (bulk %u)",
					  dsctp_name(d, n), x.bulk_id);
			if (x.ended)
				log_info("received the SCTP associations of %s: %u",
					 dsctp_name(d, n), x.bulk_count);
		}
		ok = r >= 0;
		break;
	}
	default:
		return;
	}
	if (!ok) {
		s->st.decode_errors++;
		log_rl(&dsctp_rl_rx, 2, LOG_WARNING, "sctp: a %s message from %s refused (bad "
		       "body)", msg_type_name(type), dsctp_name(d, n));
	}
}

/* --- timers ------------------------------------------------------------------------- */

static void dsctp_plans_tick(struct daemon *d);

static void dsctp_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct dsctp *s = d->sctp;
	const struct cfg *c;

	if (!s)
		return;
	c = d->cfg;
	/* Events whose wake-up the loop has not read yet (the eventfd stays
	 * set: the loop reads it at its next wait). */
	if (dsctp_drain_ring(d, DSCTP_DRAIN_MAX))
		*next = now;	/* more: after the other fds' turn */
	dsctp_plans_tick(d);
	dsctp_maybe_send(d, now);
	if (sctp_pend_count(s->pend) && c->sync_mode == SYNC_PERIODIC &&
	    s->last_send_ms + c->sync_interval_ms < *next)
		*next = s->last_send_ms + c->sync_interval_ms;
	for (size_t n = 0; n < d->n_peers; n++) {
		struct dsctp_peer *p = &s->peers[n];

		if ((long)n == c->self)
			continue;
		if (!dsctp_reachable(d, n)) {
			/* Down: what waits is stale; it gets a bulk when it is
			 * back (drepl's node-up path calls dsctp_peer_up). */
			dsctp_backlog_clear(p);
			p->bulk = false;
			continue;
		}
		dsctp_backlog_flush(d, n);
		/* A chunk per pass while the channel keeps up; an
		 * acknowledgement (a message) wakes the loop for the rest. */
		if (p->bulk && p->n < DSCTP_BULK_AHEAD) {
			dsctp_bulk_step(d, n);
			if (p->bulk && p->n < DSCTP_BULK_AHEAD)
				*next = now;
		}
	}
}

/* --- reloads -------------------------------------------------------------------------- */

/* A reload that renumbers the VIPAs (the eps of worker 0's table, of the
 * waiting records and of the ring's events) or the nodes (the entries' and
 * events' targets): each old index's new one, UINT32_MAX when it is gone.
 * Made by prepare (allocations), used by commit (which cannot fail).
 *
 * The table is not renumbered by the commit: worker 0 keeps routing with
 * the old view until main.c has built and swapped the new one and the
 * worker has taken it, and a table in the new numbering would meanwhile
 * meet a view in the old one (a live association's target index unknown
 * to the view, or another node's: held back, or ended).  So the commit
 * stages the plan in the table (assoc_remap_stage) and worker 0 applies it
 * as it takes the new view (worker_renumber), under its lock.  Until then
 * this thread, already in the new numbering, crosses over at the table's
 * edge (assoc_remap_back to look up or learn, assoc_remap_fwd for what it
 * reads), and the worker's events are moved to the new numbering as they
 * are pushed (worker_sctp_event); the events pushed before the commit are
 * renumbered here.  The tick wakes worker 0 once the new view is out (an
 * idle worker would sleep on) and logs what the renumbering did. */
struct dsctp_prep {
	struct assoc_remap_plan plan;	/* staged in worker 0's table */
	uint32_t *ep_map;	/* [n_ep]: old VIPA index -> new */
	size_t n_ep;
	uint32_t *node_map;	/* [n_node]: old node index -> new */
	size_t n_node;
	bool ep_moves, node_moves;	/* not the identity */
	bool woken;			/* worker 0 was woken to take the new view */
	struct sctp_pend *pend;		/* the waiting records again, new eps (ep_moves) */
	size_t recs, evs, gone;		/* renumbered at the commit; dropped (VIPA gone) */
	struct dsctp_prep *next;	/* d->sctp->plans: staged or applied, oldest first */
};

static void dsctp_prep_free(struct dsctp_prep *x)
{
	if (!x)
		return;
	free(x->ep_map);
	free(x->node_map);
	sctp_pend_free(x->pend);
	free(x);
}

/* A VIPA is the same one when its address and interface are; a node when
 * its name is (as the peers are carried, daemon/peer.h). */
static int dsctp_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			 size_t len)
{
	const struct cfg *oc = d->cfg;
	struct dsctp_prep *x;

	*prep = NULL;
	if (!d->sctp || !oc || oc == nc)
		return 0;	/* the start: nothing numbered yet */
	x = calloc(1, sizeof(*x));
	if (!x)
		goto oom;
	x->n_ep = oc->n_vipas;
	x->n_node = oc->n_nodes;
	x->ep_map = calloc(x->n_ep ? x->n_ep : 1, sizeof(*x->ep_map));
	x->node_map = calloc(x->n_node ? x->n_node : 1, sizeof(*x->node_map));
	if (!x->ep_map || !x->node_map)
		goto oom;
	for (size_t i = 0; i < x->n_ep; i++) {
		const struct cfg_vipa *ov = &oc->vipas[i];

		x->ep_map[i] = UINT32_MAX;
		for (size_t j = 0; j < nc->n_vipas; j++)
			if (addr_eq(&ov->addr, &nc->vipas[j].addr) &&
			    !strcmp(ov->ifname, nc->vipas[j].ifname)) {
				x->ep_map[i] = (uint32_t)j;
				break;
			}
		x->ep_moves |= x->ep_map[i] != i;
	}
	for (size_t i = 0; i < x->n_node; i++) {
		x->node_map[i] = ASSOC_NO_TARGET;
		for (size_t j = 0; j < nc->n_nodes; j++)
			if (!strcmp(oc->nodes[i].name, nc->nodes[j].name)) {
				x->node_map[i] = (uint32_t)j;
				break;
			}
		x->node_moves |= x->node_map[i] != i;
	}
	if (!x->ep_moves && !x->node_moves) {
		dsctp_prep_free(x);
		return 0;
	}
	/* Re-keying the waiting records needs a second set (their key holds
	 * the ep): as large as the first, so every record fits. */
	if (x->ep_moves && !(x->pend = sctp_pend_new(DSCTP_PEND_MAX)))
		goto oom;
	*prep = x;
	return 0;
oom:
	dsctp_prep_free(x);
	snprintf(err, len, "out of memory renumbering the SCTP associations");
	return -1;
}

static void dsctp_abort(struct daemon *d, void *prep)
{
	(void)d;
	dsctp_prep_free(prep);
}

/* An old VIPA index in the new configuration: false when it is gone. */
static bool dsctp_remap_ep(const struct dsctp_prep *x, uint32_t *ep)
{
	if (!x->ep_moves)
		return true;
	if (*ep >= x->n_ep || x->ep_map[*ep] == UINT32_MAX)
		return false;
	*ep = x->ep_map[*ep];
	return true;
}

/* The waiting records and the events pushed before the commit take the
 * new numbering (those of a VIPA that is gone are dropped); worker 0's
 * table gets the plan, to apply with the new view. */
static void dsctp_stage(struct daemon *d, struct dsctp_prep *x)
{
	struct dsctp *s = d->sctp;
	struct assoc_table *tab = dsctp_table(d);
	const struct engine_sctp_ev *e;
	uint64_t old_end;

	x->plan.ep_map = x->ep_moves ? x->ep_map : NULL;
	x->plan.n_ep = x->n_ep;
	x->plan.node_map = x->node_moves ? x->node_map : NULL;
	x->plan.n_node = x->n_node;
	/* main.c counts the generation up right after the commits: the
	 * views of this configuration carry d->cfg_gen + 1. */
	x->plan.gen = d->cfg_gen + 1;
	if (x->ep_moves) {
		struct sctp_pend *old = s->pend;

		for (size_t i = 0; i < sctp_pend_count(old); i++) {
			struct sctp_rec r = *sctp_pend_get(old, i);
			uint32_t *ep = r.type == SCTP_TLV_UPDATE ? &r.upd.ep : &r.del.ep;

			if (!dsctp_remap_ep(x, ep)) {
				x->gone++;
				continue;
			}
			/* As large as old: it fits. */
			if (sctp_pend_put(x->pend, &r) >= 0)
				x->recs++;
		}
		s->pend = x->pend;
		x->pend = old;
	}
	/* Worker 0 pushes only with its lock held: every event before old_end
	 * was pushed before the plan was staged (the old numbering), every
	 * later one after (worker_sctp_event renumbers it). */
	if (tab) {
		pthread_mutex_lock(&d->workers[0].lock);
		assoc_remap_stage(tab, &x->plan);
		old_end = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
		pthread_mutex_unlock(&d->workers[0].lock);
	} else {
		old_end = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
	}
	while (__atomic_load_n(&s->tail, __ATOMIC_RELAXED) != old_end && (e = dsctp_peek(s))) {
		struct engine_sctp_ev ev = *e;

		dsctp_done(s);
		if (!dsctp_remap_ep(x, &ev.ep)) {
			x->gone++;
			continue;
		}
		if (x->node_moves && ev.target != ASSOC_NO_TARGET)
			ev.target = ev.target < x->n_node ? x->node_map[ev.target]
							  : ASSOC_NO_TARGET;
		x->evs++;
		dsctp_handle(d, &ev);
	}
}

/* Logs and frees the plans worker 0 has applied; wakes it once the view
 * the oldest one waits for is out. */
static void dsctp_plans_tick(struct daemon *d)
{
	struct dsctp *s = d->sctp;
	struct assoc_table *tab = dsctp_table(d);
	const struct assoc_remap_plan *staged;
	struct dsctp_prep *x;

	if (!s->plans)
		return;
	if (tab) {
		pthread_mutex_lock(&d->workers[0].lock);
		staged = assoc_remap_staged(tab);
		pthread_mutex_unlock(&d->workers[0].lock);
	} else {
		staged = NULL;	/* no table: nothing waits */
	}
	while ((x = s->plans) && &x->plan != staged) {
		const struct assoc_remap_res *r = &x->plan.res;

		log_info("reload: SCTP associations renumbered (%s%s%s) as the SCTP worker took "
			 "the new view: %zu moved to their VIPA's new index, %zu dropped (their "
			 "VIPA is gone), %zu retargeted, %zu without their target now; %zu "
			 "waiting records and %zu events renumbered, %zu dropped",
			 x->ep_moves ? "VIPAs" : "", x->ep_moves && x->node_moves ? " and " : "",
			 x->node_moves ? "nodes" : "", r->moved, r->removed, r->retargeted,
			 r->untargeted, x->recs, x->evs, x->gone);
		s->plans = x->next;
		dsctp_prep_free(x);
	}
	if (x && !x->woken && d->view && d->view->cfg_gen >= x->plan.gen) {
		/* The view is out: an idle worker would take it only with its
		 * next packet (daemon/worker.c's wait). */
		struct worker *w = &d->workers[0];
		uint64_t one = 1;

		x->woken = true;
		if (w->started && w->stop_fd >= 0 && write(w->stop_fd, &one, sizeof(one)) < 0)
			log_rl(&dsctp_rl_drop, 1, LOG_WARNING, "sctp: waking the SCTP worker: %s",
			       strerror(errno));
	}
}

/* The peer table is committed first (daemon/peer.h): d->peers is the new
 * one.  Our per-peer state follows it by wire id; a node that left loses
 * its backlog (bodies already encoded: they keep the numbering of their
 * time).  Then what holds VIPA or node indexes follows the reload
 * (dsctp_stage).  Every peer gets our table again anyway (drepl's commit
 * asks for bulks, which reach dsctp_peer_up). */
static void dsctp_commit(struct daemon *d, void *prep)
{
	struct dsctp *s = d->sctp;
	struct dsctp_prep *x = prep, **pp;
	struct dsctp_peer *old;
	size_t n_old;

	if (!s) {
		dsctp_prep_free(prep);
		return;
	}
	n_old = s->n_peers;
	old = malloc(sizeof(s->peers));
	if (!old) {
		/* Cannot fail: keep the slots, drop what waits. */
		for (size_t i = 0; i < CFG_MAX_NODES; i++) {
			dsctp_peer_free(&s->peers[i]);
			if (i < d->n_peers)
				s->peers[i].id = d->peers[i].id;
		}
		s->n_peers = d->n_peers;
		goto renumber;
	}
	memcpy(old, s->peers, sizeof(s->peers));
	memset(s->peers, 0, sizeof(s->peers));
	for (size_t i = 0; i < d->n_peers && i < CFG_MAX_NODES; i++) {
		s->peers[i].id = d->peers[i].id;
		for (size_t j = 0; j < n_old; j++) {
			if (old[j].id && old[j].id == d->peers[i].id) {
				s->peers[i] = old[j];
				s->peers[i].bulk = false;	/* restarted by drepl's commit */
				memset(&old[j], 0, sizeof(old[j]));
				break;
			}
		}
	}
	for (size_t j = 0; j < n_old; j++)
		dsctp_peer_free(&old[j]);
	free(old);
	s->n_peers = d->n_peers < CFG_MAX_NODES ? d->n_peers : CFG_MAX_NODES;
renumber:
	if (!x)
		return;
	dsctp_stage(d, x);
	if (!dsctp_table(d)) {
		dsctp_prep_free(x);
		return;
	}
	for (pp = &s->plans; *pp; pp = &(*pp)->next)
		;
	*pp = x;
}

/* --- open / close ---------------------------------------------------------------------- */

int dsctp_open(struct daemon *d)
{
	struct dsctp *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->wake_fd = -1;
	/* Ring pages untouched until used cost no memory. */
	s->ring = calloc(DSCTP_RING, sizeof(*s->ring));
	s->chunk = calloc(DSCTP_BULK_CHUNK, sizeof(*s->chunk));
	s->pend = sctp_pend_new(DSCTP_PEND_MAX);
	if (!s->ring || !s->chunk || !s->pend)
		goto fail;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		goto fail;
	/* Until the first drain the consumer has asked for a wake-up. */
	s->want_wake = 1;
	pthread_mutex_init(&s->push_lock, NULL);
	s->n_peers = d->n_peers < CFG_MAX_NODES ? d->n_peers : CFG_MAX_NODES;
	for (size_t i = 0; i < s->n_peers; i++)
		s->peers[i].id = d->peers[i].id;
	s->last_send_ms = daemon_now_ms();
	d->sctp = s;
	return 0;
fail:
	free(s->ring);
	free(s->chunk);
	sctp_pend_free(s->pend);
	free(s);
	return -1;
}

/* After the workers are joined: nothing pushes any more. */
void dsctp_close(struct daemon *d)
{
	struct dsctp *s = d->sctp;

	if (!s)
		return;
	/* Worker 0's table, which may point at them, is gone already. */
	while (s->plans) {
		struct dsctp_prep *x = s->plans;

		s->plans = x->next;
		dsctp_prep_free(x);
	}
	for (size_t i = 0; i < CFG_MAX_NODES; i++)
		dsctp_peer_free(&s->peers[i]);
	pthread_mutex_destroy(&s->push_lock);
	close(s->wake_fd);
	free(s->ring);
	free(s->chunk);
	sctp_pend_free(s->pend);
	free(s);
	d->sctp = NULL;
}

bool dsctp_bulk_from(const struct daemon *d, size_t n)
{
	return d->sctp && n < d->sctp->n_peers && d->sctp->peers[n].bulk_from;
}

size_t dsctp_backlog_len(const struct daemon *d, size_t n)
{
	return d->sctp && n < d->sctp->n_peers ? d->sctp->peers[n].n : 0;
}

/* --- the subsystem ------------------------------------------------------------------------ */

static void dsctp_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	struct dsctp *s = d->sctp;
	size_t backlog = 0, bulks = 0;

	/* The table's own gauges and counters (sctp.associations*,
	 * sctp.table.*) are the control socket's (daemon/ctl.c). */
	if (!s)
		return;
	for (size_t n = 0; n < s->n_peers; n++) {
		backlog += s->peers[n].n;
		bulks += s->peers[n].bulk;
	}
	emit(arg, "sctp.pending", sctp_pend_count(s->pend));
	emit(arg, "sctp.backlog", backlog);
	emit(arg, "sctp.bulks_in_progress", bulks);
#define DSCTP_EMIT(f) emit(arg, "sctp." #f, __atomic_load_n(&s->st.f, __ATOMIC_RELAXED));
	DSCTP_STATS_LIST(DSCTP_EMIT)
#undef DSCTP_EMIT
}

static const uint8_t dsctp_types[] = { SCTP_MSG_TAG, SCTP_MSG_GONE, SCTP_MSG_ASSOC };

const struct subsys dsctp_subsys = {
	.name = "sctp",
	.types = dsctp_types,
	.n_types = sizeof(dsctp_types),
	.prepare = dsctp_prepare,
	.commit = dsctp_commit,
	.abort = dsctp_abort,
	.input = dsctp_input,
	.tick = dsctp_tick,
	.stats = dsctp_stats,
};
