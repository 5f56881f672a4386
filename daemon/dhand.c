/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dhand: the daemon side of content-aware handoff (daemon/dhand.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <sodium.h>

#include "daemon/ctx.h"
#include "daemon/dhand.h"
#include "daemon/dsync.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/subsys.h"
#include "nfq/pkt.h"
#include "nfq/tcpseg.h"
#include "sync/hoffmsg.h"
#include "sync/msg.h"

#define DHAND_RING	4096	/* entries of each out ring and inbox: power of two */
#define DHAND_FE_MAX	16384	/* FE requests in flight: more get FAIL (503) */
#define DHAND_FE_BYTES	(64u << 20)	/* ... and their request bytes */
#define DHAND_FE_BUCKETS 4096	/* FE records hashed by id: power of two */
#define DHAND_PEND_MAX	4096	/* target: pending requests; more get NAK(NO_ROOM) */
#define DHAND_PEND_BUCKETS 8192	/* power of two, about twice the pool */
#define DHAND_PEND_MS	2000	/* target: the stack must have taken the request by then */
#define DHAND_RESYN_MS	200	/* an unclaimed SYN is injected again this often (the stack
				 * drops SYNs while its accept queue is full, as it would a
				 * client's, which TCP would send again) */
#define DHAND_FE_TIMEOUT_MS 1000	/* a request without timeout_ms (should not happen) */
#define DHAND_RX_PENDING 128	/* per sending peer: requests being reassembled */
#define DHAND_RX_BYTES	(4u << 20)	/* ... and their bytes */
#define DHAND_RX_AGE_MS	5000	/* a reassembly not finished by then is dropped */
#define DHAND_WALK_MS	100	/* pending entries whose FE went down: looked for this often */
#define DHAND_EXPIRE_BATCH 64	/* pending entries expired per hold of the mutex */

/* The counters, under "handoff." in `clusterctl stats` (after pending and
 * fe_pending, which are gauges).  Main thread only, except ring_full
 * (workers: atomic). */
#define DHAND_STATS_LIST(X)                                                      \
	X(requests_sent)	/* FE: HOFF_REQ sent to a candidate (retries too) */ \
	X(requests_received)	/* target: HOFF_REQ reassembled */               \
	X(acks_sent)		/* target: HOFF_ACK (the stack took the request) */ \
	X(acks_received)	/* FE: HOFF_ACK of the current candidate */      \
	X(naks)			/* FE: HOFF_NAK of the current candidate */      \
	X(naks_sent)		/* target: HOFF_NAK sent (any reason) */         \
	X(retried)		/* FE: a request sent on to a later candidate */ \
	X(failed)		/* FE: no candidate took it: FAIL (503) */       \
	X(ends_sent)                                                             \
	X(ends_received)                                                         \
	X(lost_in_flight)	/* target: pending requests whose FE went down */ \
	X(syns_resent)		/* target: a SYN injected again (the stack dropped it) */ \
	X(inject_failed)	/* target: the SYN (or RST) could not be sent */ \
	X(ring_full)		/* an out ring or an inbox was full: lost */     \
	X(rx_errors)		/* target: HOFF_REQ bodies refused (format, order, room), \
				 * reassemblies dropped unfinished */                    \
	X(bad_messages)		/* ACK, NAK or END bodies that do not decode */  \
	X(send_failed)		/* a reliable channel's queue was full */

struct dhand_stats {
#define DHAND_STATS_FIELD(f) uint64_t f;
	DHAND_STATS_LIST(DHAND_STATS_FIELD)
#undef DHAND_STATS_FIELD
};

/* --- rings --------------------------------------------------------------- */

/* Worker -> main thread.  One record per event; a REQUEST carries its
 * request (ownership passes), the others copies of the entry's fields. */
struct dhand_out {
	uint8_t kind;		/* enum dhand_ev_kind */
	uint8_t reason;		/* END: enum hoff_reason */
	uint8_t role;		/* END: enum conn_hoff_role of the entry */
	int8_t ws_t;
	uint32_t id, peer, delta, tsoff;
	struct conn_key key;
	struct hoff_req *req;
};

/* Single producer, single consumer, lock-free (the connlog way,
 * daemon/connlog.h): head written by the producer, tail by the consumer. */
struct dhand_oring {
	struct dhand_out ev[DHAND_RING];
	uint64_t head, tail;
	int want_wake;		/* the consumer found it empty (atomic) */
};

struct dhand_iring {
	struct dhand_in ev[DHAND_RING];
	uint64_t head, tail;
};

/* --- front-end: requests in flight (main thread only) --------------------- */

struct dhand_fe {
	struct dhand_fe *hnext;		/* id hash chain */
	struct dhand_fe *prev, *next;	/* every record, oldest first */
	struct hoff_req *req;
	unsigned worker;		/* whose inbox gets the answer */
	size_t cand;			/* req->cand index of the current candidate */
	uint32_t cand_id;		/* its wire id (node indexes move on reload) */
	uint64_t deadline;
};

/* --- target: pending requests (under pend_lock) --------------------------- */

struct dhand_pend {
	struct dhand_pend *hnext;	/* bucket chain, or the free list */
	struct dhand_pend *prev, *next;	/* in use: oldest first = deadline order */
	struct hoff_params p;
	uint32_t fe_id;			/* wire id of the front-end */
	uint8_t *data;
	uint64_t deadline;
	uint64_t resyn;			/* when the SYN goes again, while unclaimed */
	bool claimed;			/* a worker replayed it: kept until READY */
};

/* One reassembly per sending peer, by wire id. */
struct dhand_rx {
	uint32_t peer;
	struct hoff_rx *rx;
};

struct dhand {
	unsigned n_workers;
	struct dhand_oring *out;	/* [n_workers] */
	struct dhand_iring *in;		/* [n_workers] */
	int wake_fd;			/* eventfd: an out ring got an event */
	int raw4, raw6;			/* injection into our own stack */

	/* FE (main thread). */
	struct dhand_fe *fe_hash[DHAND_FE_BUCKETS];
	struct dhand_fe *fe_head, *fe_tail;
	size_t fe_count, fe_bytes;
	uint64_t fe_next;		/* no FE deadline before this */

	/* Target: the pending table.  pend_lock is a leaf: held for one lookup
	 * or one bounded batch, never across I/O, never while taking another
	 * lock (a worker calls dhand_claim holding its own). */
	pthread_mutex_t pend_lock;
	struct dhand_pend *pend_pool;	/* [DHAND_PEND_MAX] */
	struct dhand_pend *pend_free;
	struct dhand_pend *pend_hash[DHAND_PEND_BUCKETS];
	struct dhand_pend *pend_head, *pend_tail;
	size_t pend_count;		/* also read without the lock by stats (atomic) */
	uint64_t pend_walk_ms;
	uint64_t resyn_ms;		/* the last pass that injected SYNs again */

	struct dhand_rx *rx;		/* main thread */
	size_t n_rx;

	struct dhand_stats st;
};

static struct log_rl dhand_rl_send, dhand_rl_rx, dhand_rl_inject, dhand_rl_ring;

/* --- small helpers --------------------------------------------------------- */

static long dhand_node(const struct daemon *d, uint32_t id)
{
	return id ? peer_by_id(d->peers, d->n_peers, id) : -1;
}

static const char *dhand_node_name(const struct daemon *d, size_t n)
{
	return n < d->cfg->n_nodes ? d->cfg->nodes[n].name : "?";
}

static const char *dhand_client(const struct conn_key *k, char *buf, size_t len)
{
	return addr_fmt_ep(&k->caddr, k->cport, buf, len);
}

/* Whether the reliable channel to node n takes `bodies` more bodies of at
 * most body_max bytes (and their type byte) without refusing one. */
static bool dhand_room(const struct daemon *d, size_t n, size_t bodies, size_t body_max)
{
	const struct rel_tx *tx = n < d->n_peers ? d->peers[n].tx : NULL;
	struct rel_cfg rc;

	if (!tx)
		return false;
	peer_rel_cfg(d->cfg, &rc);
	return rel_tx_queued(tx) + bodies <= rc.queue_max &&
	       rel_tx_queued_bytes(tx) + bodies * (body_max + 1) <= rc.bytes_max;
}

static bool dhand_send(struct daemon *d, size_t n, uint8_t type, const uint8_t *b, size_t len)
{
	if (dsync_send_state(d, n, type, b, len) == 0)
		return true;
	d->hand->st.send_failed++;
	log_rl(&dhand_rl_send, 2, LOG_WARNING, "handoff: the channel to %s is full: a %s "
	       "message was not sent", dhand_node_name(d, n), msg_type_name(type));
	return false;
}

static void dhand_send_end(struct daemon *d, size_t n, uint8_t type, uint32_t id,
			   const struct conn_key *k, uint8_t reason)
{
	struct hoff_end e = { .id = id, .key = *k, .reason = reason };
	uint8_t b[128];
	size_t len = hoff_end_encode(&e, b, sizeof(b));

	if (!len || n >= d->n_peers || (long)n == d->cfg->self)
		return;
	if (dhand_send(d, n, type, b, len)) {
		if (type == HOFF_MSG_END)
			d->hand->st.ends_sent++;
		else
			d->hand->st.naks_sent++;
	}
}

/* --- rings ----------------------------------------------------------------- */

static bool dhand_out_push(struct daemon *d, unsigned worker, const struct dhand_out *ev)
{
	struct dhand *h = d->hand;
	struct dhand_oring *r;
	uint64_t hd, tl;

	if (!h || worker >= h->n_workers)
		return false;
	r = &h->out[worker];
	hd = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	tl = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (hd - tl >= DHAND_RING) {
		__atomic_fetch_add(&h->st.ring_full, 1, __ATOMIC_RELAXED);
		return false;
	}
	r->ev[hd & (DHAND_RING - 1)] = *ev;
	__atomic_store_n(&r->head, hd + 1, __ATOMIC_SEQ_CST);
	/* One write per empty -> non-empty transition the consumer asked
	 * about (connlog.h explains the handshake). */
	if (__atomic_load_n(&r->want_wake, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&r->want_wake, 0, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ssize_t w = write(h->wake_fd, &one, sizeof(one));

		(void)w;	/* non-blocking: EAGAIN only when the counter is full */
	}
	return true;
}

/* Consumer: the next event or NULL (then asks for a wake-up). */
static struct dhand_out *dhand_out_peek(struct dhand_oring *r)
{
	uint64_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	if (t != __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
		return &r->ev[t & (DHAND_RING - 1)];
	__atomic_store_n(&r->want_wake, 1, __ATOMIC_SEQ_CST);
	if (t != __atomic_load_n(&r->head, __ATOMIC_SEQ_CST))
		return &r->ev[t & (DHAND_RING - 1)];
	return NULL;
}

static void dhand_out_done(struct dhand_oring *r)
{
	__atomic_store_n(&r->tail, __atomic_load_n(&r->tail, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

/* Main thread -> worker: the worker's stop_fd wakes it out of poll; it
 * reads the eventfd back and pops its inbox. */
static bool dhand_in_push(struct daemon *d, unsigned worker, const struct dhand_in *in)
{
	struct dhand *h = d->hand;
	struct dhand_iring *r;
	uint64_t hd, tl;
	struct worker *w;

	if (worker >= h->n_workers)
		return false;
	r = &h->in[worker];
	hd = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	tl = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (hd - tl >= DHAND_RING) {
		__atomic_fetch_add(&h->st.ring_full, 1, __ATOMIC_RELAXED);
		log_rl(&dhand_rl_ring, 2, LOG_WARNING, "handoff: worker %u's inbox is full: "
		       "an answer was lost", worker);
		return false;
	}
	r->ev[hd & (DHAND_RING - 1)] = *in;
	__atomic_store_n(&r->head, hd + 1, __ATOMIC_RELEASE);
	w = &d->workers[worker];
	if (w->started && w->stop_fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(w->stop_fd, &one, sizeof(one));

		(void)n;	/* non-blocking; a full counter still wakes it */
	}
	return true;
}

bool dhand_inbox_pop(struct daemon *d, unsigned worker, struct dhand_in *out)
{
	struct dhand *h = d->hand;
	struct dhand_iring *r;
	uint64_t t;

	if (!h || worker >= h->n_workers)
		return false;
	r = &h->in[worker];
	t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	if (t == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
		return false;
	*out = r->ev[t & (DHAND_RING - 1)];
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

bool dhand_push_request(struct daemon *d, unsigned worker, struct hoff_req *r)
{
	struct dhand_out ev;

	if (!r)
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.kind = DHAND_EV_REQUEST;
	ev.id = r->p.id;
	ev.key = r->p.key;
	ev.req = r;
	return dhand_out_push(d, worker, &ev);
}

/* Why an entry ended when the worker does not say: from what it left in
 * the entry (a RST closes it, a FIN ends it in FIN, anything else is its
 * idle timeout). */
static uint8_t dhand_end_reason(const struct conn *c)
{
	switch (c->state) {
	case CONN_CLOSED: return HOFF_R_RST;
	case CONN_FIN: return HOFF_R_FIN;
	default: return HOFF_R_EXPIRED;
	}
}

bool dhand_push_event(struct daemon *d, unsigned worker, int kind, uint8_t reason,
		      const struct conn *c)
{
	struct dhand_out ev;

	if (!c || (kind != DHAND_EV_TGT_READY && kind != DHAND_EV_END))
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (uint8_t)kind;
	if (kind == DHAND_EV_END)
		ev.reason = reason != HOFF_R_NONE && reason < HOFF_R__MAX ? reason :
			    dhand_end_reason(c);
	ev.role = c->hoff.role;
	ev.ws_t = c->hoff.ws_t;
	ev.id = c->hoff.id;
	ev.peer = c->hoff.peer;
	ev.delta = c->hoff.delta;
	ev.tsoff = c->hoff.tsoff;
	ev.key = c->key;
	return dhand_out_push(d, worker, &ev);
}

int dhand_wake_fd(const struct daemon *d)
{
	return d->hand ? d->hand->wake_fd : -1;
}

/* --- injection into our own stack ---------------------------------------------- */

/* The client's SYN (rst false) or a RST that clears the half-open socket
 * the SYN made (rst true), from the client to our own address and the
 * service's target port. */
static bool dhand_inject(struct daemon *d, const struct hoff_params *p, bool rst)
{
	struct dhand *h = d->hand;
	const struct ip_addr *me = cfg_node_addr(d->cfg, (size_t)d->cfg->self, p->key.family);
	struct tcpseg_spec s;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t pkt[256];
	size_t len;
	int fd;
	char cb[ADDR_STRLEN + 8];

	if (!me)
		return false;
	memset(&s, 0, sizeof(s));
	s.src = p->key.caddr;
	s.dst = *me;
	s.sport = p->key.cport;
	s.dport = p->tport;
	s.mss = -1;
	s.ws = -1;
	if (rst) {
		s.seq = p->isn_c + 1;
		s.flags = PKT_TCP_RST;
	} else {
		uint32_t win = p->win_c;

		s.seq = p->isn_c;
		s.flags = PKT_TCP_SYN;
		/* The SYN's window is never scaled: the client's current
		 * window in bytes, as much of it as 16 bits say. */
		win <<= p->ws_c > 0 ? (p->ws_c > 14 ? 14 : p->ws_c) : 0;
		s.win = (uint16_t)(win > 65535 ? 65535 : win);
		s.mss = p->mss ? p->mss : -1;
		s.ws = p->ws_c >= 0 ? p->ws_c : -1;
		s.sackok = p->flags & HOFF_F_SACK;
		s.ts = p->flags & HOFF_F_TS;
		s.tsval = p->tsval_c;
		s.tsecr = 0;
	}
	len = tcpseg_build(pkt, sizeof(pkt), &s);
	memset(&ss, 0, sizeof(ss));
	if (me->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = me->v4;
		sl = sizeof(*sin);
		fd = h->raw4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = me->v6;
		sl = sizeof(*sin6);
		fd = h->raw6;
	}
	if (!len || fd < 0 || sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		h->st.inject_failed++;
		log_rl(&dhand_rl_inject, 2, LOG_WARNING, "handoff: injecting the %s of %s: %s",
		       rst ? "RST" : "SYN", dhand_client(&p->key, cb, sizeof(cb)),
		       !len ? "cannot build it" : fd < 0 ? "no raw socket" : strerror(errno));
		return false;
	}
	return true;
}

/* --- front-end ------------------------------------------------------------------- */

static size_t dhand_fe_bucket(uint32_t id)
{
	return (id ^ (id >> 24) ^ (id >> 12)) & (DHAND_FE_BUCKETS - 1);
}

static struct dhand_fe *dhand_fe_find(struct dhand *h, uint32_t id)
{
	for (struct dhand_fe *f = h->fe_hash[dhand_fe_bucket(id)]; f; f = f->hnext)
		if (f->req->p.id == id)
			return f;
	return NULL;
}

static void dhand_fe_free(struct dhand *h, struct dhand_fe *f)
{
	struct dhand_fe **pp = &h->fe_hash[dhand_fe_bucket(f->req->p.id)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		h->fe_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		h->fe_tail = f->prev;
	h->fe_count--;
	h->fe_bytes -= f->req->p.req_len;
	free(f->req);
	free(f);
}

/* The node of candidate i now: its index in req's configuration while it
 * is still ours, else found again by its address; -1 when gone. */
static long dhand_cand_node(const struct daemon *d, const struct hoff_req *r, size_t i)
{
	if (r->cfg_gen == d->cfg_gen)
		return r->cand[i] < d->cfg->n_nodes ? (long)r->cand[i] : -1;
	return cfg_node_by_addr(d->cfg, &r->cand_addr[i]);
}

struct dhand_emit {
	struct daemon *d;
	size_t node;
};

static int dhand_emit_req(void *arg, const uint8_t *body, size_t len)
{
	struct dhand_emit *e = arg;

	return dsync_send_state(e->d, e->node, HOFF_MSG_REQ, body, len);
}

static void dhand_fe_fail(struct daemon *d, struct dhand_fe *f, uint8_t reason)
{
	struct dhand *h = d->hand;
	struct dhand_in in;
	char cb[ADDR_STRLEN + 8];

	memset(&in, 0, sizeof(in));
	in.kind = DHAND_IN_FAIL;
	in.reason = reason;
	in.id = f->req->p.id;
	in.key = f->req->p.key;
	h->st.failed++;
	log_rl(&dhand_rl_send, 2, LOG_NOTICE, "handoff: no target took the request of %s "
	       "(%zu candidate(s)): 503", dhand_client(&f->req->p.key, cb, sizeof(cb)),
	       f->req->n_cand);
	dhand_in_push(d, f->worker, &in);
	dhand_fe_free(h, f);
}

/* Sends f's request to the first usable candidate from index `from` on; none
 * left: FAIL to its worker and f is freed.  A candidate is skipped when it
 * is gone, down, us, or its channel has no room for the whole request. */
static void dhand_fe_try(struct daemon *d, struct dhand_fe *f, size_t from, uint64_t now)
{
	struct dhand *h = d->hand;
	struct hoff_req *r = f->req;

	for (size_t i = from; i < r->n_cand && i < HOFF_CAND_MAX; i++) {
		long n = dhand_cand_node(d, r, i);
		struct dhand_emit e;
		size_t body_max;
		int ret;

		if (n < 0 || n == d->cfg->self || (size_t)n >= d->n_peers ||
		    !dsync_node_alive(d, (size_t)n))
			continue;
		body_max = dsync_state_body_max(d, (size_t)n);
		if (!dhand_room(d, (size_t)n, hoff_req_bodies(r->p.req_len, body_max), body_max)) {
			log_rl(&dhand_rl_send, 2, LOG_WARNING, "handoff: the channel to %s has "
			       "no room for a request: next candidate",
			       dhand_node_name(d, (size_t)n));
			continue;
		}
		e.d = d;
		e.node = (size_t)n;
		ret = hoff_req_encode(&r->p, r->data, body_max, dhand_emit_req, &e);
		if (ret != 0) {
			/* Cannot happen after the room check but for a bad
			 * request; a partial one expires in the target's
			 * reassembly. */
			h->st.send_failed++;
			continue;
		}
		if (f->cand_id)
			h->st.retried++;
		h->st.requests_sent++;
		f->cand = i;
		f->cand_id = d->peers[n].id;
		f->deadline = now + (r->timeout_ms ? r->timeout_ms : DHAND_FE_TIMEOUT_MS);
		if (f->deadline < h->fe_next)
			h->fe_next = f->deadline;
		return;
	}
	dhand_fe_fail(d, f, HOFF_R_NONE);
}

static void dhand_fe_request(struct daemon *d, unsigned worker, struct hoff_req *r)
{
	struct dhand *h = d->hand;
	struct dhand_fe *f = NULL;

	/* Slots are evictable, so requests in flight are not bounded by the
	 * workers' slots: bounded here, in number and bytes. */
	if (h->fe_count < DHAND_FE_MAX && h->fe_bytes + r->p.req_len <= DHAND_FE_BYTES &&
	    r->p.id && !dhand_fe_find(h, r->p.id))
		f = calloc(1, sizeof(*f));
	if (!f) {
		struct dhand_in in;

		memset(&in, 0, sizeof(in));
		in.kind = DHAND_IN_FAIL;
		in.id = r->p.id;
		in.key = r->p.key;
		h->st.failed++;
		log_rl(&dhand_rl_send, 2, LOG_WARNING, "handoff: a request refused (503): %s",
		       h->fe_count >= DHAND_FE_MAX ||
		       h->fe_bytes + r->p.req_len > DHAND_FE_BYTES ? "too many requests in flight" :
		       "its id is in flight already, or out of memory");
		dhand_in_push(d, worker, &in);
		free(r);
		return;
	}
	f->req = r;
	f->worker = worker;
	f->hnext = h->fe_hash[dhand_fe_bucket(r->p.id)];
	h->fe_hash[dhand_fe_bucket(r->p.id)] = f;
	f->prev = h->fe_tail;
	if (h->fe_tail)
		h->fe_tail->next = f;
	else
		h->fe_head = f;
	h->fe_tail = f;
	h->fe_count++;
	h->fe_bytes += r->p.req_len;
	dhand_fe_try(d, f, 0, daemon_now_ms());
}

/* The current candidate did not take it (NAK, END, or its deadline): the
 * next one.  On a deadline the slow one is told to drop it, so that a late
 * success there is torn down. */
static void dhand_fe_next(struct daemon *d, struct dhand_fe *f, bool timed_out, uint64_t now)
{
	if (timed_out) {
		long n = dhand_node(d, f->cand_id);
		char cb[ADDR_STRLEN + 8];

		log_rl(&dhand_rl_send, 2, LOG_INFO, "handoff: %s did not take the request of %s "
		       "within %u ms: next candidate", n >= 0 ? dhand_node_name(d, (size_t)n) : "?",
		       dhand_client(&f->req->p.key, cb, sizeof(cb)),
		       f->req->timeout_ms ? f->req->timeout_ms : DHAND_FE_TIMEOUT_MS);
		if (n >= 0)
			dhand_send_end(d, (size_t)n, HOFF_MSG_END, f->req->p.id, &f->req->p.key,
				       HOFF_R_SUPERSEDED);
	}
	dhand_fe_try(d, f, f->cand + 1, now);
}

/* The FE's record for a message from node n about (id, k): the request in
 * flight to exactly that candidate, else NULL. */
static struct dhand_fe *dhand_fe_match(struct daemon *d, size_t n, uint32_t id,
				       const struct conn_key *k)
{
	struct dhand_fe *f = dhand_fe_find(d->hand, id);

	if (!f || n >= d->n_peers || f->cand_id != d->peers[n].id ||
	    !conn_key_eq(&f->req->p.key, k))
		return NULL;
	return f;
}

static void dhand_rx_ack(struct daemon *d, size_t n, const uint8_t *b, size_t len)
{
	struct dhand *h = d->hand;
	struct hoff_ack a;
	struct dhand_fe *f;
	struct dhand_in in;
	long tn;

	if (!hoff_ack_decode(b, len, &a)) {
		h->st.bad_messages++;
		return;
	}
	f = dhand_fe_match(d, n, a.id, &a.key);
	if (!f) {
		/* A late success after we moved on, or a request we no
		 * longer know: the target drops its entry. */
		dhand_send_end(d, n, HOFF_MSG_END, a.id, &a.key, HOFF_R_SUPERSEDED);
		return;
	}
	h->st.acks_received++;
	tn = (long)n;
	memset(&in, 0, sizeof(in));
	in.kind = DHAND_IN_ACK;
	in.id = a.id;
	in.key = a.key;
	in.target = (uint32_t)tn;
	in.peer = d->peers[n].id;
	in.taddr = f->req->cand_addr[f->cand];
	in.tport = f->req->p.tport;
	in.delta = a.delta;
	in.tsoff = a.tsoff;
	in.ws_t = a.ws_t;
	if (!dhand_in_push(d, f->worker, &in))
		/* The worker will never forward: the target lets it go. */
		dhand_send_end(d, n, HOFF_MSG_END, a.id, &a.key, HOFF_R_NO_ROOM);
	dhand_fe_free(h, f);
}

static void dhand_rx_nak(struct daemon *d, size_t n, const uint8_t *b, size_t len)
{
	struct dhand *h = d->hand;
	struct hoff_end e;
	struct dhand_fe *f;
	char cb[ADDR_STRLEN + 8];

	if (!hoff_end_decode(b, len, &e)) {
		h->st.bad_messages++;
		return;
	}
	f = dhand_fe_match(d, n, e.id, &e.key);
	if (!f)
		return;		/* after its deadline: we moved on already */
	h->st.naks++;
	log_rl(&dhand_rl_rx, 2, LOG_INFO, "handoff: %s refused the request of %s (%s): "
	       "next candidate", dhand_node_name(d, n), dhand_client(&e.key, cb, sizeof(cb)),
	       hoff_reason_name(e.reason));
	dhand_fe_next(d, f, false, daemon_now_ms());
}

static void dhand_fe_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct dhand *h = d->hand;
	uint64_t earliest = UINT64_MAX;

	if (!h->fe_count) {
		h->fe_next = UINT64_MAX;
		return;
	}
	if (now >= h->fe_next) {
		struct dhand_fe *f = h->fe_head;

		/* Every record once: one moved on gets a later deadline (or
		 * is freed), so this ends. */
		while (f) {
			struct dhand_fe *nx = f->next;

			if (f->deadline <= now)
				dhand_fe_next(d, f, true, now);
			f = nx;
		}
		for (f = h->fe_head; f; f = f->next)
			if (f->deadline < earliest)
				earliest = f->deadline;
		h->fe_next = earliest;
	}
	if (h->fe_next < *next)
		*next = h->fe_next;
}

/* --- target: the pending table ------------------------------------------------ */

static size_t dhand_pend_bucket(const struct conn_key *k)
{
	return conn_key_hash(k) & (DHAND_PEND_BUCKETS - 1);
}

/* pend_lock held. */
static struct dhand_pend *dhand_pend_find(struct dhand *h, const struct conn_key *k)
{
	for (struct dhand_pend *e = h->pend_hash[dhand_pend_bucket(k)]; e; e = e->hnext)
		if (conn_key_eq(&e->p.key, k))
			return e;
	return NULL;
}

/* pend_lock held: takes e out of the table (its data stays the caller's). */
static void dhand_pend_unlink(struct dhand *h, struct dhand_pend *e)
{
	struct dhand_pend **pp = &h->pend_hash[dhand_pend_bucket(&e->p.key)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		h->pend_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		h->pend_tail = e->prev;
	e->prev = e->next = NULL;
	e->hnext = h->pend_free;
	h->pend_free = e;
	e->data = NULL;
	__atomic_store_n(&h->pend_count, h->pend_count - 1, __ATOMIC_RELAXED);
}

bool dhand_claim(struct daemon *d, const struct conn_key *k, struct dhand_claim *out)
{
	struct dhand *h = d->hand;
	struct dhand_pend *e;

	if (!h || !__atomic_load_n(&h->pend_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&h->pend_lock);
	e = dhand_pend_find(h, k);
	/* A copy: the entry stays until the stack took the request (READY),
	 * so that a replay the stack dropped is made again when it repeats
	 * its SYN-ACK. */
	if (e && (out->data = malloc(e->p.req_len ? e->p.req_len : 1))) {
		memcpy(out->data, e->data, e->p.req_len);
		out->p = e->p;
		out->fe_peer = e->fe_id;
		e->claimed = true;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&h->pend_lock);
	return e != NULL;
}

enum { DHAND_ADD_OK, DHAND_ADD_DUP, DHAND_ADD_FULL };

/* Adds a pending request (data passes to the table unless DUP or FULL).  A
 * pending entry of the same key with another id is replaced: its old data
 * comes back in *old_data (the caller frees it outside the lock). */
static int dhand_pend_add(struct dhand *h, const struct hoff_params *p, uint8_t *data,
			  uint32_t fe_id, uint64_t deadline, uint8_t **old_data)
{
	struct dhand_pend *e;
	size_t b = dhand_pend_bucket(&p->key);
	int ret = DHAND_ADD_OK;

	*old_data = NULL;
	pthread_mutex_lock(&h->pend_lock);
	e = dhand_pend_find(h, &p->key);
	if (e && e->p.id == p->id && e->fe_id == fe_id) {
		ret = DHAND_ADD_DUP;
	} else {
		if (e) {
			*old_data = e->data;
			dhand_pend_unlink(h, e);
		}
		e = h->pend_free;
		if (!e) {
			ret = DHAND_ADD_FULL;
		} else {
			h->pend_free = e->hnext;
			e->p = *p;
			e->data = data;
			e->fe_id = fe_id;
			e->deadline = deadline;
			e->resyn = daemon_now_ms() + DHAND_RESYN_MS;
			e->claimed = false;
			e->hnext = h->pend_hash[b];
			h->pend_hash[b] = e;
			e->next = NULL;
			e->prev = h->pend_tail;
			if (h->pend_tail)
				h->pend_tail->next = e;
			else
				h->pend_head = e;
			h->pend_tail = e;
			__atomic_store_n(&h->pend_count, h->pend_count + 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&h->pend_lock);
	return ret;
}

/* Takes the pending entry (k, id) out, if still unclaimed. */
static bool dhand_pend_take(struct dhand *h, const struct conn_key *k, uint32_t id,
			    struct hoff_params *p, uint8_t **data)
{
	struct dhand_pend *e;

	if (!__atomic_load_n(&h->pend_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&h->pend_lock);
	e = dhand_pend_find(h, k);
	if (e && (!id || e->p.id == id)) {
		*p = e->p;
		/* A claimed entry comes back without its bytes (freed here): the
		 * caller knows a worker has an entry for it. */
		*data = e->data;
		if (e->claimed) {
			free(e->data);
			*data = NULL;
		}
		dhand_pend_unlink(h, e);
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&h->pend_lock);
	return e != NULL;
}

/* A whole request from node n (its front-end). */
static void dhand_tgt_request(struct daemon *d, size_t n, const struct hoff_params *p,
			      uint8_t *data)
{
	struct dhand *h = d->hand;
	const struct view_rev *rev = NULL;
	uint8_t *old = NULL;
	char cb[ADDR_STRLEN + 8];
	uint8_t why = HOFF_R_NONE;
	int ret;

	h->st.requests_received++;
	if (p->key.proto == IPPROTO_TCP && d->view)
		rev = view_find_rev(d->view, p->key.family, IPPROTO_TCP, p->tport);
	if (!rev || !rev->handoff ||
	    !cfg_node_addr(d->cfg, (size_t)d->cfg->self, p->key.family)) {
		log_rl(&dhand_rl_rx, 2, LOG_WARNING, "handoff: a request of %s from %s for port "
		       "%u, where this node serves no handoff service: refused",
		       dhand_client(&p->key, cb, sizeof(cb)), dhand_node_name(d, n), p->tport);
		why = HOFF_R_NO_STACK;
	} else {
		ret = dhand_pend_add(h, p, data, d->peers[n].id, daemon_now_ms() + DHAND_PEND_MS,
				     &old);
		free(old);
		if (ret == DHAND_ADD_DUP) {
			free(data);
			return;		/* already pending: the SYN went */
		}
		if (ret == DHAND_ADD_FULL) {
			log_rl(&dhand_rl_rx, 2, LOG_WARNING, "handoff: %u requests pending: "
			       "the one of %s is refused", DHAND_PEND_MAX,
			       dhand_client(&p->key, cb, sizeof(cb)));
			why = HOFF_R_NO_ROOM;
		} else {
			struct hoff_params q;

			data = NULL;	/* the table's now */
			if (dhand_inject(d, p, false))
				return;
			/* No SYN went, so no worker can have claimed it. */
			if (dhand_pend_take(h, &p->key, p->id, &q, &data))
				free(data);
			data = NULL;
			why = HOFF_R_NO_STACK;
		}
	}
	free(data);
	dhand_send_end(d, n, HOFF_MSG_NAK, p->id, &p->key, why);
}

/* The reassembly of node n's requests (created on first use); NULL when
 * out of memory. */
static struct hoff_rx *dhand_rx_of(struct daemon *d, size_t n)
{
	struct dhand *h = d->hand;
	uint32_t id = d->peers[n].id;
	struct dhand_rx *v;

	for (size_t i = 0; i < h->n_rx; i++)
		if (h->rx[i].peer == id)
			return h->rx[i].rx;
	if (h->n_rx >= CFG_MAX_NODES)
		return NULL;
	v = realloc(h->rx, (h->n_rx + 1) * sizeof(*v));
	if (!v)
		return NULL;
	h->rx = v;
	v[h->n_rx].peer = id;
	v[h->n_rx].rx = hoff_rx_new(DHAND_RX_PENDING, DHAND_RX_BYTES);
	if (!v[h->n_rx].rx)
		return NULL;
	return v[h->n_rx++].rx;
}

static void dhand_rx_req(struct daemon *d, size_t n, const uint8_t *b, size_t len)
{
	struct dhand *h = d->hand;
	struct hoff_rx *rx = dhand_rx_of(d, n);
	struct hoff_params p;
	uint8_t *data = NULL;
	int r;

	if (!rx) {
		h->st.rx_errors++;
		log_rl(&dhand_rl_rx, 2, LOG_ERR, "handoff: out of memory for the requests of %s",
		       dhand_node_name(d, n));
		return;
	}
	r = hoff_rx_input(rx, b, len, daemon_now_ms(), &p, &data);
	if (r == HOFF_RX_DONE) {
		dhand_tgt_request(d, n, &p, data);
	} else if (r < 0) {
		h->st.rx_errors++;
		log_rl(&dhand_rl_rx, 2, LOG_WARNING, "handoff: a request body from %s refused "
		       "(%s)", dhand_node_name(d, n),
		       r == HOFF_RX_ERR_FULL ? "too many requests in progress" :
		       r == HOFF_RX_ERR_ORDER ? "out of order" : "malformed");
	}
}

/* Frees the reassemblies of peers that went down or left the
 * configuration. */
static void dhand_rx_sweep(struct daemon *d)
{
	struct dhand *h = d->hand;
	size_t k = 0;

	for (size_t i = 0; i < h->n_rx; i++) {
		long n = dhand_node(d, h->rx[i].peer);

		if (n < 0 || !dsync_node_alive(d, (size_t)n)) {
			hoff_rx_free(h->rx[i].rx);
			continue;
		}
		h->rx[k++] = h->rx[i];
	}
	h->n_rx = k;
}

/* An expired or orphaned pending entry, handled outside the lock. */
struct dhand_gone {
	struct hoff_params p;
	uint32_t fe_id;
	uint8_t *data;
	bool lost;		/* its FE went down: nobody to tell */
};

static bool dhand_fe_gone(const struct daemon *d, uint32_t fe_id)
{
	long n = dhand_node(d, fe_id);

	return n < 0 || !dsync_node_alive(d, (size_t)n);
}

/* SYNs the stack did not answer (no worker claimed their SYN-ACK) go
 * again every DHAND_RESYN_MS, a batch per hold of the mutex, injected
 * outside it. */
static void dhand_resyn(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct dhand *h = d->hand;
	struct hoff_params g[DHAND_EXPIRE_BATCH];
	size_t k = 0;

	if (!__atomic_load_n(&h->pend_count, __ATOMIC_RELAXED))
		return;
	if (now < h->resyn_ms + DHAND_RESYN_MS / 2) {
		if (h->resyn_ms + DHAND_RESYN_MS / 2 < *next)
			*next = h->resyn_ms + DHAND_RESYN_MS / 2;
		return;
	}
	h->resyn_ms = now;
	pthread_mutex_lock(&h->pend_lock);
	for (struct dhand_pend *e = h->pend_head; e && k < DHAND_EXPIRE_BATCH; e = e->next) {
		if (e->claimed || e->resyn > now)
			continue;
		e->resyn = now + DHAND_RESYN_MS;
		g[k++] = e->p;
	}
	pthread_mutex_unlock(&h->pend_lock);
	for (size_t i = 0; i < k; i++) {
		h->st.syns_resent++;
		dhand_inject(d, &g[i], false);
	}
	if (h->resyn_ms + DHAND_RESYN_MS / 2 < *next)
		*next = h->resyn_ms + DHAND_RESYN_MS / 2;
}

static void dhand_pend_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct dhand *h = d->hand;
	struct dhand_gone g[DHAND_EXPIRE_BATCH];
	bool walk = false, more = true;

	if (!__atomic_load_n(&h->pend_count, __ATOMIC_RELAXED))
		return;
	/* Look for entries whose FE went away only when some node is. */
	if (now - h->pend_walk_ms >= DHAND_WALK_MS) {
		h->pend_walk_ms = now;
		for (size_t n = 0; n < d->n_peers && !walk; n++)
			walk = !d->peers[n].self && !dsync_node_alive(d, n);
	}
	while (more) {
		size_t k = 0;
		struct dhand_pend *e;

		pthread_mutex_lock(&h->pend_lock);
		e = h->pend_head;
		while (e && k < DHAND_EXPIRE_BATCH) {
			struct dhand_pend *nx = e->next;
			bool expired = e->deadline <= now;
			bool lost = walk && dhand_fe_gone(d, e->fe_id);

			if (!expired && !walk)
				break;	/* deadline order: none later is due */
			if (expired || lost) {
				g[k].p = e->p;
				g[k].fe_id = e->fe_id;
				g[k].data = e->data;
				g[k].lost = lost;
				k++;
				dhand_pend_unlink(h, e);
			}
			e = nx;
		}
		more = e && k == DHAND_EXPIRE_BATCH;
		if (h->pend_head && h->pend_head->deadline < *next)
			*next = h->pend_head->deadline;
		pthread_mutex_unlock(&h->pend_lock);
		for (size_t i = 0; i < k; i++) {
			char cb[ADDR_STRLEN + 8];

			free(g[i].data);
			dhand_inject(d, &g[i].p, true);
			if (g[i].lost) {
				h->st.lost_in_flight++;
				continue;
			}
			log_rl(&dhand_rl_rx, 2, LOG_WARNING, "handoff: the stack did not answer "
			       "the SYN of %s in %u ms: refused",
			       dhand_client(&g[i].p.key, cb, sizeof(cb)), DHAND_PEND_MS);
			dhand_send_end(d, (size_t)dhand_node(d, g[i].fe_id), HOFF_MSG_NAK,
				       g[i].p.id, &g[i].p.key, HOFF_R_NO_STACK);
		}
	}
	if (__atomic_load_n(&h->pend_count, __ATOMIC_RELAXED) &&
	    h->pend_walk_ms + DHAND_WALK_MS < *next)
		*next = h->pend_walk_ms + DHAND_WALK_MS;
	dhand_resyn(d, now, next);
}

/* --- HOFF_END and the workers' events ---------------------------------------------- */

static void dhand_rx_end(struct daemon *d, size_t n, const uint8_t *b, size_t len)
{
	struct dhand *h = d->hand;
	struct hoff_end e;
	struct hoff_params p;
	struct dhand_fe *f;
	struct dhand_in in;
	uint8_t *data;

	if (!hoff_end_decode(b, len, &e)) {
		h->st.bad_messages++;
		return;
	}
	h->st.ends_received++;
	/* The target gave up on a request we are waiting for: next one. */
	f = dhand_fe_match(d, n, e.id, &e.key);
	if (f) {
		dhand_fe_next(d, f, false, daemon_now_ms());
		return;
	}
	/* Still pending here: clear what the SYN made; if a worker replayed
	 * it, its entry goes too (below). */
	if (dhand_pend_take(h, &e.key, e.id, &p, &data)) {
		bool claimed = data == NULL;	/* see dhand_pend_take */

		free(data);
		dhand_inject(d, &p, true);
		if (!claimed)
			return;
	}
	/* An entry: only its owner finds it, the others ignore it. */
	memset(&in, 0, sizeof(in));
	in.kind = DHAND_IN_END;
	in.reason = e.reason;
	in.id = e.id;
	in.key = e.key;
	for (unsigned w = 0; w < h->n_workers; w++)
		dhand_in_push(d, w, &in);
}

static long dhand_vipa(const struct cfg *c, const struct ip_addr *a)
{
	for (size_t i = 0; i < c->n_vipas; i++)
		if (addr_eq(&c->vipas[i].addr, a))
			return (long)i;
	return -1;
}

static void dhand_ev_end(struct daemon *d, const struct dhand_out *ev)
{
	struct dhand *h = d->hand;

	if (ev->role == CONN_HOFF_TGT) {
		/* The front-end may have changed since (a takeover): every
		 * distributor of the VIPA hears it. */
		long v = dhand_vipa(d->cfg, &ev->key.vaddr);

		for (size_t i = 0; v >= 0 && i < d->cfg->vipas[v].n_dists; i++) {
			size_t n = d->cfg->vipas[v].dists[i].node;

			if ((long)n != d->cfg->self && dsync_node_alive(d, n))
				dhand_send_end(d, n, HOFF_MSG_END, ev->id, &ev->key, ev->reason);
		}
		return;
	}
	if (ev->role == CONN_HOFF_FE || ev->role == CONN_HOFF_NONE) {
		/* A request still in flight (the client went first): the
		 * current candidate lets go of it, nobody is answered. */
		struct dhand_fe *f = dhand_fe_find(h, ev->id);
		long n;

		if (f && conn_key_eq(&f->req->p.key, &ev->key)) {
			n = dhand_node(d, f->cand_id);
			if (n >= 0)
				dhand_send_end(d, (size_t)n, HOFF_MSG_END, ev->id, &ev->key,
					       ev->reason);
			dhand_fe_free(h, f);
			return;
		}
		n = dhand_node(d, ev->peer);
		if (n >= 0)
			dhand_send_end(d, (size_t)n, HOFF_MSG_END, ev->id, &ev->key, ev->reason);
	}
}

static void dhand_ev_ready(struct daemon *d, const struct dhand_out *ev)
{
	struct hoff_ack a = { .id = ev->id, .key = ev->key, .delta = ev->delta,
			      .tsoff = ev->tsoff, .ws_t = ev->ws_t };
	long n = dhand_node(d, ev->peer);
	uint8_t b[128];
	size_t len = hoff_ack_encode(&a, b, sizeof(b));
	char cb[ADDR_STRLEN + 8];
	struct hoff_params p;
	uint8_t *data;

	/* The stack has the request: no replay of it is needed any more. */
	if (dhand_pend_take(d->hand, &ev->key, ev->id, &p, &data))
		free(data);
	if (n < 0 || !len) {
		log_rl(&dhand_rl_send, 2, LOG_WARNING, "handoff: the front-end of %s is no "
		       "node of ours any more: no acknowledgement",
		       dhand_client(&ev->key, cb, sizeof(cb)));
		return;
	}
	if (dhand_send(d, (size_t)n, HOFF_MSG_ACK, b, len))
		d->hand->st.acks_sent++;
}

static void dhand_drain_rings(struct daemon *d)
{
	struct dhand *h = d->hand;

	for (unsigned w = 0; w < h->n_workers; w++) {
		struct dhand_oring *r = &h->out[w];
		struct dhand_out *ev;

		while ((ev = dhand_out_peek(r))) {
			struct dhand_out e = *ev;

			dhand_out_done(r);
			switch (e.kind) {
			case DHAND_EV_REQUEST:
				dhand_fe_request(d, w, e.req);
				break;
			case DHAND_EV_TGT_READY:
				dhand_ev_ready(d, &e);
				break;
			case DHAND_EV_END:
				dhand_ev_end(d, &e);
				break;
			default:
				free(e.req);
				break;
			}
		}
	}
}

void dhand_drain(struct daemon *d)
{
	struct dhand *h = d->hand;
	uint64_t v;

	if (!h)
		return;
	if (read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_rl(&dhand_rl_ring, 1, LOG_WARNING, "handoff: reading the wake-up: %s",
		       strerror(errno));
	dhand_drain_rings(d);
}

/* --- open / close ---------------------------------------------------------------------- */

static int dhand_raw(int family, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	uint32_t mark = DHAND_MARK;
	int one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "raw %s socket: %s", family == AF_INET ? "IPv4" : "IPv6",
			 strerror(errno));
		return -1;
	}
	/* IPPROTO_RAW implies IP_HDRINCL on IPv4, not on IPv6. */
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		snprintf(err, errlen, "raw %s socket: %s", family == AF_INET ? "IPv4" : "IPv6",
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int dhand_open(struct daemon *d, char *err, size_t errlen)
{
	struct dhand *h = calloc(1, sizeof(*h));
	unsigned nw = d->n_workers ? d->n_workers : 1;
	char e6[128];

	if (!h) {
		snprintf(err, errlen, "handoff: out of memory");
		return -1;
	}
	h->n_workers = d->n_workers;
	h->wake_fd = h->raw4 = h->raw6 = -1;
	h->fe_next = UINT64_MAX;
	/* Ring pages untouched until used cost no memory. */
	h->out = calloc(nw, sizeof(*h->out));
	h->in = calloc(nw, sizeof(*h->in));
	h->pend_pool = calloc(DHAND_PEND_MAX, sizeof(*h->pend_pool));
	if (!h->out || !h->in || !h->pend_pool) {
		snprintf(err, errlen, "handoff: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < DHAND_PEND_MAX; i++) {
		h->pend_pool[i].hnext = h->pend_free;
		h->pend_free = &h->pend_pool[i];
	}
	/* Until the first drain the consumer has asked for a wake-up. */
	for (unsigned i = 0; i < nw; i++)
		h->out[i].want_wake = 1;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		snprintf(err, errlen, "handoff: eventfd: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&h->pend_lock, NULL);
	/* Raw sockets need CAP_NET_RAW (SO_MARK CAP_NET_ADMIN): now, before
	 * they are dropped.  A node that is no handoff target needs none;
	 * one that is gets a NAK for every request it cannot inject. */
	h->raw4 = dhand_raw(AF_INET, err, errlen);
	h->raw6 = dhand_raw(AF_INET6, e6, sizeof(e6));
	if (h->raw4 < 0 || h->raw6 < 0)
		log_warn("handoff: %s: this node cannot be a handoff target for %s",
			 h->raw4 < 0 ? err : e6,
			 h->raw4 < 0 && h->raw6 < 0 ? "IPv4 and IPv6" :
			 h->raw4 < 0 ? "IPv4" : "IPv6");
	err[0] = '\0';
	d->hand = h;
	return 0;
fail:
	free(h->out);
	free(h->in);
	free(h->pend_pool);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	free(h);
	return -1;
}

/* After the workers stopped: nothing pushes or claims any more. */
void dhand_close(struct daemon *d)
{
	struct dhand *h = d->hand;

	if (!h)
		return;
	for (unsigned w = 0; w < h->n_workers; w++) {
		struct dhand_oring *r = &h->out[w];

		for (uint64_t t = r->tail; t != r->head; t++)
			free(r->ev[t & (DHAND_RING - 1)].req);
	}
	while (h->fe_head)
		dhand_fe_free(h, h->fe_head);
	for (size_t i = 0; i < DHAND_PEND_MAX; i++)
		if (h->pend_pool[i].data)
			free(h->pend_pool[i].data);
	for (size_t i = 0; i < h->n_rx; i++)
		hoff_rx_free(h->rx[i].rx);
	free(h->rx);
	pthread_mutex_destroy(&h->pend_lock);
	if (h->raw4 >= 0)
		close(h->raw4);
	if (h->raw6 >= 0)
		close(h->raw6);
	close(h->wake_fd);
	free(h->out);
	free(h->in);
	free(h->pend_pool);
	free(h);
	d->hand = NULL;
}

void dhand_cookie_key(const struct daemon *d, uint8_t key[16])
{
	static const char label[] = "clusterd handoff cookie";

	/* A keyed hash of a fixed label: every node with the cluster key
	 * gets the same secret, and nothing about the key leaks from it. */
	crypto_generichash(key, 16, (const unsigned char *)label, sizeof(label) - 1,
			   d->keys.key[0].k, sizeof(d->keys.key[0].k));
}

/* --- the subsystem ----------------------------------------------------------------------- */

static void dhand_input(struct daemon *d, size_t n, uint8_t type, const uint8_t *b, size_t len)
{
	if (!d->hand || n >= d->n_peers || (long)n == d->cfg->self)
		return;
	switch (type) {
	case HOFF_MSG_REQ: dhand_rx_req(d, n, b, len); break;
	case HOFF_MSG_ACK: dhand_rx_ack(d, n, b, len); break;
	case HOFF_MSG_NAK: dhand_rx_nak(d, n, b, len); break;
	case HOFF_MSG_END: dhand_rx_end(d, n, b, len); break;
	default: break;
	}
}

static void dhand_tick(struct daemon *d, uint64_t now, uint64_t *next)
{
	struct dhand *h = d->hand;

	if (!h)
		return;
	/* Events whose wake-up the loop has not read yet go now (the eventfd
	 * stays set: the loop reads it at its next wait). */
	dhand_drain_rings(d);
	dhand_fe_tick(d, now, next);
	dhand_pend_tick(d, now, next);
	if (h->n_rx) {
		size_t dropped = 0;

		dhand_rx_sweep(d);
		for (size_t i = 0; i < h->n_rx; i++)
			dropped += hoff_rx_expire(h->rx[i].rx, now, DHAND_RX_AGE_MS);
		h->st.rx_errors += dropped;
		for (size_t i = 0; i < h->n_rx; i++)
			if (hoff_rx_pending(h->rx[i].rx) && now + DHAND_RX_AGE_MS / 10 < *next)
				*next = now + DHAND_RX_AGE_MS / 10;
	}
}

/* A reload: the reassemblies of nodes that left go (the peer table is
 * committed first, so d->peers is the new one). */
static void dhand_commit(struct daemon *d, void *prep)
{
	(void)prep;
	if (d->hand)
		dhand_rx_sweep(d);
}

static void dhand_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	struct dhand *h = d->hand;

	if (!h)
		return;
	emit(arg, "handoff.pending", __atomic_load_n(&h->pend_count, __ATOMIC_RELAXED));
	emit(arg, "handoff.fe_pending", h->fe_count);
#define DHAND_EMIT(f) emit(arg, "handoff." #f, __atomic_load_n(&h->st.f, __ATOMIC_RELAXED));
	DHAND_STATS_LIST(DHAND_EMIT)
#undef DHAND_EMIT
}

static const uint8_t dhand_types[] = {
	HOFF_MSG_REQ, HOFF_MSG_ACK, HOFF_MSG_NAK, HOFF_MSG_END,
};

const struct subsys dhand_subsys = {
	.name = "handoff",
	.types = dhand_types,
	.n_types = sizeof(dhand_types),
	.commit = dhand_commit,
	.input = dhand_input,
	.tick = dhand_tick,
	.stats = dhand_stats,
};
