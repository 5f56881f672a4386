/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/be.h"
#include "nfq/cookie.h"
#include "nfq/csum.h"
#include "nfq/engine.h"
#include "nfq/http.h"
#include "nfq/mangle.h"
#include "nfq/pkt.h"
#include "nfq/reply.h"
#include "nfq/sctp.h"
#include "nfq/tcpseg.h"
#include "nfq/tls.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static enum engine_verdict engine_drop(struct engine *e, enum stats_id why)
{
	stats_inc(e->stats, why);
	stats_inc(e->stats, STAT_DROPPED);
	return ENGINE_DROP;
}

static enum engine_verdict engine_malformed(struct engine *e, enum pkt_status st)
{
	static const enum stats_id map[PKT__MAX] = {
		[PKT_ERR_SHORT] = STAT_M_SHORT,     [PKT_ERR_VERSION] = STAT_M_VERSION,
		[PKT_ERR_HDRLEN] = STAT_M_HDRLEN,   [PKT_ERR_TOTLEN] = STAT_M_TOTLEN,
		[PKT_ERR_EXTHDR] = STAT_M_EXTHDR,   [PKT_ERR_L4SHORT] = STAT_M_L4SHORT,
		[PKT_ERR_L4HDR] = STAT_M_L4HDR,
	};
	if ((unsigned)st < PKT__MAX && map[st])
		stats_inc(e->stats, map[st]);
	/* VIPA traffic we cannot read is dropped, never passed: unrewritten it
	 * would reach the local stack (distributor) or the client from the wrong
	 * address (target). */
	return engine_drop(e, STAT_D_MALFORMED);
}

static enum engine_verdict engine_rewrite(struct engine *e, uint8_t *buf, size_t len,
					  struct pkt *p, enum mangle_side side,
					  const struct ip_addr *a, uint16_t port, bool full)
{
	if (mangle_rewrite(buf, len, p, side, a, port, full) != MANGLE_OK)
		return engine_drop(e, STAT_D_MANGLE);
	stats_inc(e->stats, STAT_REWRITTEN);
	return ENGINE_MANGLED;
}

static void engine_key(struct conn_key *k, uint8_t family, uint8_t proto,
		       const struct ip_addr *caddr, uint16_t cport, const struct ip_addr *vaddr,
		       uint16_t vport)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	k->caddr = *caddr;
	k->cport = cport;
	k->vaddr = *vaddr;
	k->vport = vport;
}

static void engine_event(struct engine *e, int kind, const struct conn *c)
{
	/* An entry that goes takes its map element with it: the kernel would
	 * otherwise forward a flow the table no longer knows (to the old
	 * target, should the client reuse its port).  Also when it left the
	 * map before (fast_ms: it was in once): a packet the kernel was
	 * rewriting while the element was removed may have put it back (the
	 * rule's update adds what its lookup found a moment earlier). */
	if (kind == ENGINE_CONN_DELETE && (c->fast || c->fast_ms) && e->fast)
		e->fast(e->fast_arg, ENGINE_FAST_DEL, c);
	/* A target's handoff entry is its own business: the distributors
	 * replicate their side of it. */
	if (e->conn_event && c->hoff.role != CONN_HOFF_TGT)
		e->conn_event(e->conn_event_arg, kind, c);
}

/* The fast path follows the entry's state: in the map while established
 * (TCP, its handshake done) or a UDP flow, going to its service's target
 * port (the rule rewrites to that constant port); out as soon as it is not
 * (the client's FIN or RST, a SYN reusing the port).  The packets the rule
 * leaves to the queue (SYN, FIN, RST) are the ones that change the state.
 * A flow in the map whose packets still arrive here is put in again, once
 * a second at most (a reload recreated the map, or the kernel refused the
 * change). */
static void engine_fast(struct engine *e, const struct view_service *s, struct conn *c)
{
	bool want = (c->state == CONN_EST || c->state == CONN_UDP) &&
		    c->cls != CONN_C_EMBRYO && c->hoff.role == CONN_HOFF_NONE &&
		    !s->svc->handoff && c->tport == s->tport &&
		    (c->key.proto == IPPROTO_TCP || c->key.proto == IPPROTO_UDP);

	if (!e->fast)
		return;
	if (!want) {
		if (c->fast) {
			e->fast(e->fast_arg, ENGINE_FAST_DEL, c);
			c->fast = 0;
		}
		return;
	}
	if (c->fast) {
		stats_inc(e->stats, STAT_F_REQUEUED);
		if (e->now_ms < c->fast_ms + ENGINE_FAST_READD_MS)
			return;
		stats_inc(e->stats, STAT_F_READDS);
	}
	/* Refused (the fast path went off in a reload, too many changes
	 * waiting): the entry routes its packets itself, and the next one
	 * tries again. */
	c->fast = e->fast(e->fast_arg, ENGINE_FAST_ADD, c);
	if (c->fast)
		c->fast_ms = e->now_ms;
}

void engine_conn_expired(const struct conn *c, void *arg)
{
	struct engine *e = arg;

	stats_inc(e->stats, STAT_CONN_EXPIRED);
	if (c->hoff.role != CONN_HOFF_NONE && e->hoff)
		e->hoff->event(e->hoff_arg, ENGINE_HOFF_END, ENGINE_HOFF_R_EXPIRED, c);
	view_conn_dec(e->view, c->target);
	/* An embryonic entry was never replicated: nothing to delete. */
	if (c->cls != CONN_C_EMBRYO)
		engine_event(e, ENGINE_CONN_DELETE, c);
}

/* Frees c to make room for a new flow. */
static void engine_evict(struct engine *e, struct conn *c)
{
	stats_inc(e->stats, c->cls == CONN_C_EMBRYO ? STAT_CONN_EMBRYO_EVICTED
						     : STAT_CONN_UDP_EVICTED);
	view_conn_dec(e->view, c->target);
	if (c->cls != CONN_C_EMBRYO)
		engine_event(e, ENGINE_CONN_DELETE, c);
	conn_remove(e->conns, c);
}

/* A new entry for k, making room if the table is full: the oldest
 * embryonic entry goes first, then (not for an embryonic newcomer: a SYN
 * is too cheap to forge) the least recently seen UDP entry if idle for
 * CONN_UDP_EVICT_IDLE_MS.  Established TCP entries are never evicted.
 * NULL: no room. */
static struct conn *engine_insert(struct engine *e, const struct conn_key *k, bool embryo)
{
	struct conn *v;

	if (embryo && conn_class_count(e->conns, CONN_C_EMBRYO) >= conn_embryo_cap(e->conns) &&
	    (v = conn_oldest(e->conns, CONN_C_EMBRYO)))
		engine_evict(e, v);
	if (!conn_full(e->conns))
		return conn_insert(e->conns, k, e->now_ms);
	if ((v = conn_oldest(e->conns, CONN_C_EMBRYO)))
		engine_evict(e, v);
	else if (!embryo && (v = conn_oldest(e->conns, CONN_C_UDP)) && e->now_ms >= v->last_ms &&
		 e->now_ms - v->last_ms >= CONN_UDP_EVICT_IDLE_MS)
		engine_evict(e, v);
	return conn_insert(e->conns, k, e->now_ms);
}

/* The target of service s on node `node`, if it is alive. */
static const struct view_target *engine_target_on(const struct view_service *s, uint32_t node)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].node == node)
			return s->targets[i].alive ? &s->targets[i] : NULL;
	return NULL;
}

/* An ICMP error about a VIPA connection reached the distributor (the error
 * was caused by a reply the target sent with the VIPA as source): send it on
 * to the target, the embedded header rewritten to what the target sent. */
static enum engine_verdict engine_icmp_in(struct engine *e, uint8_t *buf, size_t len,
					  struct pkt *p, bool full)
{
	const struct pkt_inner *in = &p->inner;
	struct conn_key k;
	struct conn *c;
	struct ip_addr taddr;
	uint16_t tport;

	if (!in->family || !in->has_ports || in->family != p->family) {
		stats_inc(e->stats, STAT_ACCEPTED);
		return ENGINE_ACCEPT;
	}
	engine_key(&k, in->family, in->proto, &in->dst, in->dport, &in->src, in->sport);
	c = conn_lookup(e->conns, &k);
	if (c && c->hoff.role == CONN_HOFF_FE) {
		enum engine_verdict v;

		/* A handed-off connection: the quoted segment is in our
		 * sequence space; the target's stack checks it against its
		 * own before it believes a "fragmentation needed". */
		v = engine_rewrite(e, buf, len, p, MANGLE_DST, &c->taddr, c->tport, full);
		if (v == ENGINE_MANGLED && in->proto == IPPROTO_TCP &&
		    (size_t)in->l4_off + 8 <= (size_t)in->l3_off + in->len &&
		    (size_t)in->l4_off + 8 <= len) {
			uint8_t *sq = buf + in->l4_off + 4, old[4];
			uint32_t seq = be_get32(sq) - c->hoff.delta;

			memcpy(old, sq, 4);
			be_put32(sq, seq);
			csum_replace(buf + p->l4_off + 2, old, sq, 4);
		}
		if (v == ENGINE_MANGLED)
			stats_inc(e->stats, STAT_ICMP_FWD);
		return v;
	}
	if (c) {
		taddr = c->taddr;
		tport = c->tport;
	} else if (!e->find_other || !e->find_other(e->find_other_arg, &k, &taddr, &tport)) {
		const struct view_service *s = view_find_service(e->view, in->family, in->proto,
								 &in->src, in->sport);
		const struct view_target *t;

		/* A maglev flow may have no entry (its SYN was routed by the
		 * hash, or it was adopted): the hash names its target. */
		if (!s || s->sched != SCHED_MAGLEV ||
		    !(t = view_pick(s, e->view, conn_key_hash(&k)))) {
			/* Not about one of ours (e.g. about the node's own traffic). */
			stats_inc(e->stats, STAT_ACCEPTED);
			return ENGINE_ACCEPT;
		}
		taddr = t->addr;
		tport = s->tport;
	}
	stats_inc(e->stats, STAT_ICMP_FWD);
	return engine_rewrite(e, buf, len, p, MANGLE_DST, &taddr, tport, full);
}

static enum engine_verdict engine_no_target(struct engine *e, const uint8_t *buf,
					    const struct pkt *p, uint8_t *reply,
					    size_t *reply_len, struct ip_addr *reply_to)
{
	size_t n = 0;

	stats_inc(e->stats, STAT_D_NO_TARGET);
	stats_inc(e->stats, STAT_DROPPED);
	/* Tell the client at once rather than let it retry into the void. */
	if (p->proto == IPPROTO_TCP)
		n = reply_tcp_rst(buf, p, reply, ENGINE_REPLY_MAX);
	else if (p->proto == IPPROTO_UDP)
		n = reply_icmp_port_unreach(buf, p, reply, ENGINE_REPLY_MAX);
	if (!n)
		return ENGINE_DROP;
	*reply_len = n;
	*reply_to = p->src;
	stats_inc(e->stats, STAT_REPLIES);
	return ENGINE_REPLY;
}

/* ---------------------------------------------------------------- handoff
 * (handoff, doc/architecture.md)  The front-end (FE) answers a handoff
 * service's SYNs with SYN cookies, buffers the first request head in a
 * slot, and hands it to the main thread; once a target took it, the FE
 * translates the client's packets towards the target's stack.  On the
 * target (TGT) the engine replays the request into its own stack and
 * translates the stack's replies so that the client sees the FE's
 * connection. */

#define ENGINE_HOFF_MSS4	1460	/* the most the FE's SYN-ACK offers */
#define ENGINE_HOFF_MSS6	1440
#define ENGINE_HOFF_HANDING_MS	5000	/* beyond its candidates' timeouts: a request
					 * the main thread never answered */
#define ENGINE_HOFF_INJECT_MAX	32768	/* request bytes per injected segment */

static uint32_t engine_ts_now(const struct engine *e)
{
	return (uint32_t)e->wall_ms;
}

static uint16_t engine_tcp_window(const uint8_t *buf, const struct pkt *p)
{
	const uint8_t *t = buf + p->l4_off;

	return (uint16_t)(t[14] << 8 | t[15]);
}

/* A segment from the FE to the client of slot sl: seq just past its
 * SYN-ACK, acknowledging everything held. */
static size_t engine_hoff_seg(struct engine *e, struct hoff_slot *sl, uint8_t flags,
			      const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	struct tcpseg_spec sp;
	size_t room = sl->cap > sl->len ? sl->cap - sl->len : 0;
	uint32_t ts = engine_ts_now(e);

	memset(&sp, 0, sizeof(sp));
	sp.src = sl->key.vaddr;
	sp.dst = sl->key.caddr;
	sp.sport = sl->key.vport;
	sp.dport = sl->key.cport;
	sp.seq = sl->isn_f + 1;
	sp.ack = sl->rcv_nxt;
	sp.flags = flags;
	/* Our window is the room left in the buffer: the client never sends
	 * more than a head may take. */
	/* Rounded up: a window that rounds the last bytes away would leave
	 * the client waiting on a zero window with a head just short of the
	 * limit (it would get 408, not 400). */
	if (sl->ws_f > 0)
		room = (room + ((size_t)1 << sl->ws_f) - 1) >> sl->ws_f;
	sp.win = room > 65535 ? 65535 : (uint16_t)room;
	sp.mss = -1;
	sp.ws = -1;
	if (sl->flags & HOFF_F_TS) {
		/* Never step back: the client's PAWS would drop us.  While the
		 * request is on its way, stand still: the target continues
		 * from the TSval the request carries, and a later one seen by
		 * the client would make it drop the target's first segments. */
		if (sl->phase == HOFF_BUFFER && (int32_t)(ts - sl->tsval_f) > 0)
			sl->tsval_f = ts;
		sp.ts = true;
		sp.tsval = sl->tsval_f;
		sp.tsecr = sl->tsval_c;
	}
	sp.payload = payload;
	sp.plen = plen;
	return tcpseg_build(out, cap, &sp);
}

static enum engine_verdict engine_hoff_reply(struct engine *e, size_t n, const struct ip_addr *to,
					     size_t *reply_len, struct ip_addr *reply_to)
{
	stats_inc(e->stats, STAT_DROPPED);
	if (!n)
		return ENGINE_DROP;
	*reply_len = n;
	*reply_to = *to;
	stats_inc(e->stats, STAT_REPLIES);
	return ENGINE_REPLY;
}

/* The FE's own answer (400, 408, 503; a TLS service gets a RST) and the
 * slot goes: nothing of the connection is kept. */
static size_t engine_hoff_answer(struct engine *e, struct hoff_slot *sl,
				 const struct cfg_service *svc, int code, uint8_t *out,
				 struct ip_addr *to)
{
	char text[256];
	size_t n = 0, tl;

	*to = sl->key.caddr;
	if (svc && svc->hoff_proto == CFG_HOFF_TLS)
		n = engine_hoff_seg(e, sl, PKT_TCP_RST | PKT_TCP_ACK, NULL, 0, out, ENGINE_REPLY_MAX);
	else if ((tl = http_error(code, text, sizeof(text))))
		n = engine_hoff_seg(e, sl, PKT_TCP_ACK | PKT_TCP_PSH | PKT_TCP_FIN,
				    (const uint8_t *)text, tl, out, ENGINE_REPLY_MAX);
	hoff_remove(e->slots, sl);
	return n;
}

/* The flow a SYN cookie is made for: the client's side first. */
static void engine_cookie_flow(const struct pkt *p, struct cookie_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->saddr = p->src;
	f->daddr = p->dst;
	f->sport = p->sport;
	f->dport = p->dport;
}

/* A SYN to a handoff service: the SYN-ACK carries everything we must
 * remember in its ISN (MSS) and TSval (window scale, SACK). */
static enum engine_verdict engine_hoff_syn(struct engine *e, const struct view_service *s,
					   const uint8_t *buf, struct pkt *p, uint8_t *reply,
					   size_t *reply_len, struct ip_addr *reply_to)
{
	struct tcpseg_opts o;
	struct tcpseg_spec sp;
	struct cookie_flow f;
	uint16_t mss, cap = p->family == AF_INET ? ENGINE_HOFF_MSS4 : ENGINE_HOFF_MSS6;

	if (!tcpseg_opts_parse(buf + p->l4_off, p->l4_hdrlen, &o))
		return engine_drop(e, STAT_D_MALFORMED);
	engine_cookie_flow(p, &f);
	memset(&sp, 0, sizeof(sp));
	sp.seq = cookie_make(e->cookie_key, &f, p->seq, o.mss > 0 ? (uint16_t)o.mss : 0,
			     e->wall_ms / 1000, &mss);
	sp.src = p->dst;
	sp.dst = p->src;
	sp.sport = p->dport;
	sp.dport = p->sport;
	sp.ack = p->seq + 1;
	sp.flags = PKT_TCP_SYN | PKT_TCP_ACK;
	/* No more than a head may take. */
	sp.win = s->svc->hoff_max_request < 65535 ? (uint16_t)s->svc->hoff_max_request : 65535;
	sp.mss = mss < cap ? mss : cap;
	sp.ws = -1;
	if (o.ts) {
		/* Without timestamps there is nowhere to keep the window scale
		 * and SACK-permitted: then neither is offered (as Linux does). */
		sp.ts = true;
		sp.tsval = cookie_tsval(engine_ts_now(e), o.ws, o.sackok);
		sp.tsecr = o.tsval;
		sp.sackok = o.sackok;
		if (o.ws >= 0)
			sp.ws = HOFF_FE_WSCALE;
	}
	stats_inc(e->stats, STAT_H_SYN_COOKIES);
	return engine_hoff_reply(e, tcpseg_build(reply, ENGINE_REPLY_MAX, &sp), &p->src, reply_len,
				 reply_to);
}

/* Whether p acknowledges a SYN cookie of ours (the handshake's ACK, or a
 * first data segment); *mss: the MSS the cookie kept. */
static bool engine_cookie_ok(const struct engine *e, const struct pkt *p, uint16_t *mss)
{
	struct cookie_flow f;

	engine_cookie_flow(p, &f);
	return (p->tcp_flags & PKT_TCP_ACK) &&
	       cookie_check(e->cookie_key, &f, p->seq - 1, p->ack - 1, e->wall_ms / 1000, mss);
}

/* The first handshake ACK of a connection we answered: a slot, if the
 * cookie is ours.  NULL: the packet was answered or dropped (*v). */
static struct hoff_slot *engine_hoff_accept(struct engine *e, const struct view_service *s,
					    const struct conn_key *k, const uint8_t *buf,
					    struct pkt *p, const struct tcpseg_opts *o,
					    uint8_t *reply, size_t *reply_len,
					    struct ip_addr *reply_to, enum engine_verdict *v)
{
	struct hoff_slot *sl, *old;
	uint16_t mss;

	if (!engine_cookie_ok(e, p, &mss)) {
		/* Not a connection of ours (or one we already answered and
		 * forgot): reset it, as a stack would. */
		stats_inc(e->stats, STAT_H_COOKIE_INVALID);
		*v = engine_hoff_reply(e, reply_tcp_rst(buf, p, reply, ENGINE_REPLY_MAX), &p->src,
				       reply_len, reply_to);
		return NULL;
	}
	if (hoff_count(e->slots) >= hoff_capacity(e->slots)) {
		old = hoff_oldest_buffering(e->slots);
		if (!old) {
			/* Every slot is being handed off: the client's next
			 * segment brings the same cookie again. */
			stats_inc(e->stats, STAT_H_SLOT_FULL);
			*v = engine_drop(e, STAT_D_TABLE_FULL);
			return NULL;
		}
		stats_inc(e->stats, STAT_H_SLOT_EVICTED);
		hoff_remove(e->slots, old);
	}
	sl = hoff_insert(e->slots, k, s->svc->hoff_max_request, e->now_ms);
	if (!sl) {
		*v = engine_drop(e, STAT_D_TABLE_FULL);
		return NULL;
	}
	sl->isn_c = p->seq - 1;
	sl->isn_f = p->ack - 1;
	sl->rcv_nxt = p->seq;
	sl->mss = mss;
	sl->ws_c = sl->ws_f = -1;
	if (o->ts) {
		bool sack;

		cookie_ts_decode(o->tsecr, &sl->ws_c, &sack);
		sl->flags |= HOFF_F_TS | (sack ? HOFF_F_SACK : 0);
		if (sl->ws_c >= 0)
			sl->ws_f = HOFF_FE_WSCALE;
		sl->tsval_c = o->tsval;
		sl->tsval_f = o->tsecr;
	}
	stats_inc(e->stats, STAT_H_ACCEPTED);
	return sl;
}

/* A TLS rule's host against the ClientHello's name (lower case, its one
 * trailing dot already gone): case-insensitive, the rule's trailing dot
 * ignored as http_rule_match does. */
static bool engine_sni_match(const char *rule, const char *sni)
{
	size_t n = strlen(rule);

	if (!n)
		return true;
	if (rule[n - 1] == '.')
		n--;
	return strlen(sni) == n && !strncasecmp(rule, sni, n);
}

/* The head is complete: pick the candidates and hand the request over. */
static size_t engine_hoff_request(struct engine *e, const struct view_service *s,
				  struct hoff_slot *sl, const struct http_req *hr, const char *sni,
				  uint8_t *out, struct ip_addr *to)
{
	const struct cfg_service *svc = s->svc;
	const struct cfg_target *list = NULL;
	size_t nl = 0, n;
	struct hoff_req *r;

	for (size_t i = 0; i < svc->n_rules; i++) {
		const struct cfg_handoff_rule *ru = &svc->rules[i];
		bool m = hr ? http_rule_match(ru->host, ru->path_prefix, sl->buf, hr)
			    : engine_sni_match(ru->host, sni);

		if (m) {
			list = ru->targets;
			nl = ru->n_targets;
			break;
		}
	}
	r = malloc(sizeof(*r) + sl->len);
	if (!r)
		goto unavailable;
	memset(r, 0, sizeof(*r));
	n = view_hoff_cands(s, list, nl, conn_key_hash(&sl->key), r->cand, r->cand_addr,
			    HOFF_CAND_MAX);
	if (!n) {
		free(r);
		goto unavailable;
	}
	r->n_cand = n;
	r->cfg_gen = e->view->cfg_gen;
	r->timeout_ms = svc->hoff_timeout_ms;
	if (!(++e->hoff_serial & HOFF_ID_SERIAL))
		++e->hoff_serial;
	sl->id = (uint32_t)e->idx << HOFF_ID_SHIFT | (e->hoff_serial & HOFF_ID_SERIAL);
	/* The ACK we send below carries the TSval the target must continue
	 * from: take it now. */
	if ((sl->flags & HOFF_F_TS) && (int32_t)(engine_ts_now(e) - sl->tsval_f) > 0)
		sl->tsval_f = engine_ts_now(e);
	r->p.id = sl->id;
	r->p.key = sl->key;
	r->p.tport = s->tport;
	r->p.isn_c = sl->isn_c;
	r->p.isn_f = sl->isn_f;
	r->p.mss = sl->mss;
	r->p.ws_c = sl->ws_c;
	r->p.ws_f = sl->ws_f;
	r->p.flags = sl->flags;
	r->p.tsval_c = sl->tsval_c;
	r->p.tsval_f = sl->tsval_f;
	r->p.win_c = sl->win_c;
	r->p.req_len = (uint32_t)sl->len;
	memcpy(r->data, sl->buf, sl->len);
	if (!e->hoff->request(e->hoff_arg, r)) {
		free(r);
		goto unavailable;
	}
	sl->phase = HOFF_HANDING;
	sl->last_ms = e->now_ms;
	stats_inc(e->stats, STAT_H_REQUESTS);
	*to = sl->key.caddr;
	return engine_hoff_seg(e, sl, PKT_TCP_ACK, NULL, 0, out, ENGINE_REPLY_MAX);
unavailable:
	stats_inc(e->stats, STAT_H_NO_TARGET);
	return engine_hoff_answer(e, sl, svc, 503, out, to);
}

/* A client segment while its slot reads the head. */
static enum engine_verdict engine_hoff_buffer(struct engine *e, const struct view_service *s,
					      struct hoff_slot *sl, const uint8_t *buf,
					      struct pkt *p, bool full, const struct tcpseg_opts *o,
					      uint8_t *reply, size_t *reply_len,
					      struct ip_addr *reply_to)
{
	const struct cfg_service *svc = s->svc;
	size_t plen = tcpseg_payload_len(p), n = 0;
	struct ip_addr to = sl->key.caddr;
	enum hoff_append ap = HOFF_OLD;
	bool cut = false;	/* the segment went past max_request: the head must be in */
	struct http_req hr;
	char sni[256];
	size_t used;
	int st;

	if (p->tcp_flags & PKT_TCP_RST) {
		stats_inc(e->stats, STAT_H_CLIENT_GONE);
		hoff_remove(e->slots, sl);
		return engine_drop(e, STAT_D_NO_CONN);
	}
	sl->last_ms = e->now_ms;
	if (o->ts && (int32_t)(o->tsval - sl->tsval_c) > 0)
		sl->tsval_c = o->tsval;
	sl->win_c = engine_tcp_window(buf, p);
	if (sl->phase == HOFF_HANDING) {
		/* The request is on its way.  What the client sends now (often
		 * the ACK of a response that overtook the target's answer to
		 * us) is kept and sent on once the target took it; beyond what
		 * a slot keeps, TCP sends it again.  A retransmission of the
		 * request means our ACK was lost: say it again. */
		if (hoff_hold(sl, buf, p->ip_len, full))
			stats_inc(e->stats, STAT_H_HELD);
		else
			stats_inc(e->stats, STAT_H_HELD_DROPPED);
		if (plen && (int32_t)(p->seq - sl->rcv_nxt) < 0)
			n = engine_hoff_seg(e, sl, PKT_TCP_ACK, NULL, 0, reply, ENGINE_REPLY_MAX);
		return engine_hoff_reply(e, n, &to, reply_len, reply_to);
	}
	if (plen) {
		const uint8_t *data = buf + p->l4_off + p->l4_hdrlen;
		size_t before = sl->len;

		ap = hoff_append(sl, p->seq, data, plen);
		if (ap == HOFF_OVERFLOW) {
			/* Take what fits: a head that ends inside it is whole (the
			 * rest, a body, comes again after the handoff); one that
			 * does not is too large. */
			int32_t held = (int32_t)(sl->rcv_nxt - p->seq);
			size_t fit = (size_t)held + (sl->cap - sl->len);

			if (held >= 0 && fit < plen && fit > (size_t)held) {
				ap = hoff_append(sl, p->seq, data, fit);
				cut = true;
			}
			if (ap != HOFF_APPENDED) {
				stats_inc(e->stats, STAT_H_TOO_LARGE);
				return engine_hoff_reply(e, engine_hoff_answer(e, sl, svc, 400, reply,
									       &to),
							 &to, reply_len, reply_to);
			}
		}
		if (ap == HOFF_APPENDED)
			stats_add(e->stats, STAT_H_REQ_BYTES, sl->len - before);
	}
	/* An HTTP head can only complete on a LF: parse the first bytes (to
	 * refuse garbage at once) and then only segments that bring one, so
	 * a client sending a byte at a time does not make us read the whole
	 * head again for each. */
	if (ap == HOFF_APPENDED &&
	    (svc->hoff_proto == CFG_HOFF_TLS || sl->len == plen || cut ||
	     memchr(buf + p->l4_off + p->l4_hdrlen, '\n', plen))) {
		if (svc->hoff_proto == CFG_HOFF_TLS)
			st = (int)tls_sni(sl->buf, sl->len, sl->cap, sni, &used);
		else
			st = (int)http_parse(sl->buf, sl->len, sl->cap, &hr);
		/* The two status enums share their numbers' meaning. */
		if (st == HTTP_OK)
			return engine_hoff_reply(
				e,
				engine_hoff_request(e, s, sl, svc->hoff_proto == CFG_HOFF_TLS ? NULL : &hr,
						    sni, reply, &to),
				&to, reply_len, reply_to);
		if (st == HTTP_BAD || st == HTTP_TOO_LARGE || cut) {
			stats_inc(e->stats, st == HTTP_BAD ? STAT_H_BAD_REQUEST : STAT_H_TOO_LARGE);
			return engine_hoff_reply(e, engine_hoff_answer(e, sl, svc, 400, reply, &to),
						 &to, reply_len, reply_to);
		}
	}
	if ((p->tcp_flags & PKT_TCP_FIN) && p->seq + (uint32_t)plen == sl->rcv_nxt) {
		/* The client is done sending (the FIN is in order: nothing is
		 * missing before it) and the head is not complete: it never
		 * will be.  Nothing sent at all (a connect-and-close probe):
		 * closed without an answer. */
		if (!sl->len) {
			stats_inc(e->stats, STAT_H_CLIENT_GONE);
			n = engine_hoff_seg(e, sl, PKT_TCP_RST | PKT_TCP_ACK, NULL, 0, reply,
					    ENGINE_REPLY_MAX);
			hoff_remove(e->slots, sl);
			return engine_hoff_reply(e, n, &to, reply_len, reply_to);
		}
		stats_inc(e->stats, STAT_H_BAD_REQUEST);
		return engine_hoff_reply(e, engine_hoff_answer(e, sl, svc, 400, reply, &to), &to,
					 reply_len, reply_to);
	}
	if (p->tcp_flags & PKT_TCP_FIN)
		plen = plen ? plen : 1;	/* out of order: a duplicate ACK says where the gap is */
	/* New bytes, a retransmission or a gap: acknowledge what we hold (a
	 * duplicate ACK tells the client where the gap starts).  A bare ACK
	 * needs no answer. */
	if (plen)
		n = engine_hoff_seg(e, sl, PKT_TCP_ACK, NULL, 0, reply, ENGINE_REPLY_MAX);
	return engine_hoff_reply(e, n, &to, reply_len, reply_to);
}

/* Either end: tracks and accounts one packet of a handed-off entry and
 * translates it; false (dropped, counted) when it cannot be. */
static bool engine_hoff_apply(struct engine *e, struct conn *c, uint8_t *buf, size_t len,
			      struct pkt *p, const struct tcpseg_xlate *x, bool full)
{
	conn_tcp_track(c, p->tcp_flags);
	conn_seen(e->conns, c, e->now_ms);
	c->packets++;
	c->bytes += p->ip_len;
	if (tcpseg_xlate(buf, len, p, x, full) != MANGLE_OK) {
		engine_drop(e, STAT_D_MANGLE);
		return false;
	}
	stats_inc(e->stats, STAT_REWRITTEN);
	return true;
}

/* FE: a client packet of a connection a target took. */
static enum engine_verdict engine_hoff_fwd(struct engine *e, struct conn *c, uint8_t *buf,
					   size_t len, struct pkt *p, bool full)
{
	struct tcpseg_xlate x;
	uint8_t before = c->state;
	size_t plen = tcpseg_payload_len(p);

	memset(&x, 0, sizeof(x));
	x.side = MANGLE_DST;
	x.addr = &c->taddr;
	x.port = c->tport;
	x.ack_sub = c->hoff.delta;
	x.tsecr_sub = c->hoff.tsoff;
	x.ws_from = x.ws_to = -1;
	if (c->hoff.ws_t < 0 && c->hoff.ws_c > 0) {
		/* The target's stack does no window scaling (its SYN-ACK had no
		 * WS, so neither side scales for it), the client does (with
		 * us): its windows, in units of 2^ws_c, go over in bytes. */
		x.ws_from = c->hoff.ws_c;
		x.ws_to = 0;
	}
	/* A RST goes on to the target's stack, which checks its sequence
	 * number (RFC 5961): a forged one changes nothing there, so it
	 * changes nothing here either but the state (the entry then lives
	 * closed_s); more traffic shows the connection is alive. */
	if (c->state == CONN_CLOSED && !(p->tcp_flags & (PKT_TCP_RST | PKT_TCP_SYN)))
		c->state = CONN_EST;
	if (!engine_hoff_apply(e, c, buf, len, p, &x, full))
		return ENGINE_DROP;
	stats_inc(e->stats, STAT_H_FORWARDED);
	stats_add(e->stats, STAT_H_FWD_BYTES, plen);
	e->hit_vipa = NULL;
	if (c->state != before)
		engine_event(e, ENGINE_CONN_UPDATE, c);
	return ENGINE_MANGLED;
}

static enum engine_verdict engine_hoff_pre(struct engine *e, const struct view_service *s,
					   uint8_t *buf, size_t len, struct pkt *p, bool full,
					   uint8_t *reply, size_t *reply_len,
					   struct ip_addr *reply_to)
{
	struct conn_key k;
	struct conn *c;
	struct hoff_slot *sl;
	struct tcpseg_opts o;
	enum engine_verdict v;

	if (!e->hoff || !e->slots)
		return engine_drop(e, STAT_D_NO_TARGET);
	engine_key(&k, p->family, p->proto, &p->src, p->sport, &p->dst, p->dport);
	c = conn_lookup(e->conns, &k);
	if (c && (p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN &&
	    (c->state == CONN_FIN || c->state == CONN_CLOSED || c->hoff.role != CONN_HOFF_FE)) {
		/* The client reuses its port: a new connection, answered anew.
		 * A SYN on an established entry goes on to the target's stack,
		 * whose challenge ACK lets a real client reset the old one (a
		 * forged SYN must not end a connection). */
		if (e->hoff && c->hoff.role == CONN_HOFF_FE)
			e->hoff->event(e->hoff_arg, ENGINE_HOFF_END, ENGINE_HOFF_R_FIN, c);
		view_conn_dec(e->view, c->target);
		engine_event(e, ENGINE_CONN_DELETE, c);
		conn_remove(e->conns, c);
		stats_inc(e->stats, STAT_CONN_REUSED);
		c = NULL;
	}
	/* A SYN starts a connection: no replica to look for (and a flood of
	 * them must not take replica_lock each). */
	if (!c && e->find_replica && !(p->tcp_flags & PKT_TCP_SYN) && !hoff_lookup(e->slots, &k)) {
		struct conn r;
		uint16_t mss;

		/* The previous front-end handed this connection off: its
		 * replica carries the translation. */
		if (e->find_replica(e->find_replica_arg, &k, &r) && r.hoff.role == CONN_HOFF_FE &&
		    !((r.state == CONN_FIN || r.state == CONN_CLOSED) && engine_cookie_ok(e, p, &mss))) {
			/* (A closing replica does not take the handshake of a new
			 * connection on its tuple: that one is answered anew.) */
			c = engine_insert(e, &k, false);
			if (!c)
				return engine_drop(e, STAT_D_TABLE_FULL);
			c->taddr = r.taddr;
			c->tport = r.tport;
			c->target = r.target;
			c->state = r.state;
			c->hoff = r.hoff;
			view_conn_inc(e->view, c->target);
			stats_inc(e->stats, STAT_CONN_FROM_REPLICA);
			engine_event(e, ENGINE_CONN_UPDATE, c);
		}
	}
	if (c) {
		if (c->hoff.role != CONN_HOFF_FE) {
			/* A connection routed before a reload turned handoff on:
			 * it keeps its plain forwarding. */
			uint8_t before = c->state;

			conn_tcp_track(c, p->tcp_flags);
			conn_seen(e->conns, c, e->now_ms);
			if (c->state != before)
				engine_event(e, ENGINE_CONN_UPDATE, c);
			e->hit_vipa = s->vipa;
			return engine_rewrite(e, buf, len, p, MANGLE_DST, &c->taddr, c->tport, full);
		}
		e->hit_vipa = s->vipa;
		v = engine_hoff_fwd(e, c, buf, len, p, full);
		if (v == ENGINE_MANGLED)
			e->hit_vipa = s->vipa;
		return v;
	}
	if ((p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST)) == PKT_TCP_SYN) {
		/* A SYN retransmitted while its slot exists is answered again
		 * by the same cookie: nothing to keep. */
		return engine_hoff_syn(e, s, buf, p, reply, reply_len, reply_to);
	}
	if (p->tcp_flags & PKT_TCP_SYN)
		return engine_drop(e, STAT_D_NO_CONN);
	if (!tcpseg_opts_parse(buf + p->l4_off, p->l4_hdrlen, &o))
		return engine_drop(e, STAT_D_MALFORMED);
	sl = hoff_lookup(e->slots, &k);
	if (!sl) {
		if (p->tcp_flags & PKT_TCP_RST)
			return engine_drop(e, STAT_D_NO_CONN);
		sl = engine_hoff_accept(e, s, &k, buf, p, &o, reply, reply_len, reply_to, &v);
		if (!sl)
			return v;
	}
	return engine_hoff_buffer(e, s, sl, buf, p, full, &o, reply, reply_len, reply_to);
}

bool engine_hoff_ack(struct engine *e, const struct conn_key *k, uint32_t id, uint32_t target,
		     uint32_t peer, const struct ip_addr *taddr, uint16_t tport, uint32_t delta,
		     uint32_t tsoff, int8_t ws_t)
{
	struct hoff_slot *sl = e->slots ? hoff_lookup(e->slots, k) : NULL;
	struct conn *c;

	if (!sl || sl->phase != HOFF_HANDING || sl->id != id) {
		stats_inc(e->stats, STAT_H_ORPHAN_ACK);
		return false;
	}
	c = engine_insert(e, k, false);
	if (!c) {
		stats_inc(e->stats, STAT_D_TABLE_FULL);
		hoff_remove(e->slots, sl);
		return false;
	}
	c->taddr = *taddr;
	c->tport = tport;
	c->target = target;
	c->state = CONN_EST;
	c->hoff.role = CONN_HOFF_FE;
	c->hoff.id = id;
	c->hoff.delta = delta;
	c->hoff.tsoff = tsoff;
	c->hoff.peer = peer;
	c->hoff.flags = sl->flags;
	c->hoff.ws_t = ws_t;
	c->hoff.ws_f = sl->ws_f;
	c->hoff.ws_c = sl->ws_c;
	view_conn_inc(e->view, target);
	stats_inc(e->stats, STAT_CONN_NEW);
	stats_inc(e->stats, STAT_H_ESTABLISHED);
	engine_event(e, ENGINE_CONN_UPDATE, c);
	/* What the client sent meanwhile goes on, in order, translated. */
	for (unsigned i = 0; i < sl->n_held; i++) {
		struct hoff_held *h = &sl->held[i];
		struct pkt p;

		if (pkt_parse(h->pkt, h->len, &p) != PKT_OK || p.proto != IPPROTO_TCP)
			continue;
		if (engine_hoff_fwd(e, c, h->pkt, h->len, &p, h->csum_notready) == ENGINE_MANGLED &&
		    e->hoff) {
			e->hoff->inject(e->hoff_arg, h->pkt, h->len, taddr);
			stats_inc(e->stats, STAT_H_HELD_SENT);
		}
	}
	hoff_remove(e->slots, sl);
	return true;
}

size_t engine_hoff_fail(struct engine *e, const struct conn_key *k, uint32_t id, uint8_t *reply,
			struct ip_addr *to)
{
	struct hoff_slot *sl = e->slots ? hoff_lookup(e->slots, k) : NULL;
	const struct view_service *s;

	if (!sl || sl->id != id)
		return 0;
	stats_inc(e->stats, STAT_H_NO_TARGET);
	s = view_find_service(e->view, k->family, k->proto, &k->vaddr, k->vport);
	return engine_hoff_answer(e, sl, s ? s->svc : NULL, 503, reply, to);
}

/* A RST into our own stack for a target entry, at the next byte it
 * expects from the client (nothing but the request went to it, or the
 * client's own RST already did). */
static size_t engine_hoff_kill(const struct conn *c, uint8_t *out, struct ip_addr *to,
			       const struct ip_addr *self)
{
	struct tcpseg_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.src = c->key.caddr;
	sp.sport = c->key.cport;
	sp.dst = *self;
	sp.dport = c->tport;
	sp.seq = c->hoff.req_end;
	sp.flags = PKT_TCP_RST;
	sp.mss = -1;
	sp.ws = -1;
	*to = *self;
	return tcpseg_build(out, ENGINE_REPLY_MAX, &sp);
}

size_t engine_hoff_end(struct engine *e, const struct conn_key *k, uint32_t id, uint8_t reason,
		       uint8_t *reply, struct ip_addr *to)
{
	struct conn *c = conn_lookup(e->conns, k);
	size_t n = 0;

	if (!c || c->hoff.role == CONN_HOFF_NONE || (id && c->hoff.id != id))
		return 0;
	stats_inc(e->stats, STAT_H_ENDED);
	if (c->hoff.role == CONN_HOFF_TGT && reason != ENGINE_HOFF_R_RST)
		n = engine_hoff_kill(c, reply, to, &c->taddr);
	view_conn_dec(e->view, c->target);
	if (c->hoff.role == CONN_HOFF_FE)
		engine_event(e, ENGINE_CONN_DELETE, c);
	conn_remove(e->conns, c);
	return n;
}

size_t engine_hoff_expire(struct engine *e, size_t budget)
{
	struct hoff_slot *sl, *next;
	size_t freed = 0;

	if (!e->slots)
		return 0;
	for (sl = hoff_first(e->slots); sl && budget; sl = next, budget--) {
		const struct view_service *s =
			view_find_service(e->view, sl->key.family, sl->key.proto, &sl->key.vaddr,
					  sl->key.vport);
		uint64_t age = e->now_ms > sl->created_ms ? e->now_ms - sl->created_ms : 0;
		uint8_t out[ENGINE_REPLY_MAX];
		struct ip_addr to;
		size_t n;

		next = sl->next;
		if (sl->phase == HOFF_HANDING) {
			/* The main thread answers every request (ACK or FAIL)
			 * within its candidates' time; this only catches one it
			 * lost (a full inbox): the client gets its 503. */
			uint64_t limit = ENGINE_HOFF_HANDING_MS;

			if (s && s->svc->handoff)
				limit += (uint64_t)s->svc->hoff_timeout_ms * HOFF_CAND_MAX;
			if (e->now_ms - sl->last_ms <= limit)
				continue;
			stats_inc(e->stats, STAT_H_NO_TARGET);
			n = engine_hoff_answer(e, sl, s ? s->svc : NULL, 503, out, &to);
			if (n && e->hoff)
				e->hoff->inject(e->hoff_arg, out, n, &to);
			freed++;
			continue;
		}
		if (s && s->svc->handoff && age <= s->svc->hoff_request_timeout_ms)
			continue;
		stats_inc(e->stats, STAT_H_REQ_TIMEOUT);
		n = engine_hoff_answer(e, sl, s ? s->svc : NULL, 408, out, &to);
		if (n && e->hoff)
			e->hoff->inject(e->hoff_arg, out, n, &to);
		freed++;
	}
	return freed;
}

/* TGT: the stack's SYN-ACK of a SYN the daemon injected: learn its ISN,
 * swallow it, replay the handshake's ACK with the request. */
static enum engine_verdict engine_hoff_claim(struct engine *e, const struct view_rev *r,
					     const struct conn_key *k, const uint8_t *buf,
					     struct pkt *p, struct conn *old)
{
	struct hoff_params hp;
	struct tcpseg_opts o;
	struct tcpseg_spec sp;
	uint32_t fe_peer;
	uint8_t *data = NULL;
	struct conn *c;
	uint8_t *pkt;
	size_t off;

	if (!e->hoff || !tcpseg_opts_parse(buf + p->l4_off, p->l4_hdrlen, &o) ||
	    !e->hoff->claim(e->hoff_arg, k, &hp, &fe_peer, &data)) {
		if (old) {
			/* The stack repeats its SYN-ACK: our replay is under way. */
			stats_inc(e->stats, STAT_H_TGT_SWALLOWED);
			stats_inc(e->stats, STAT_DROPPED);
			return ENGINE_DROP;
		}
		return engine_drop(e, STAT_H_TGT_NO_STATE);
	}
	if (old && old->hoff.id == hp.id) {
		/* The stack repeats its SYN-ACK to our replay: the replayed
		 * ACK and request were lost (e.g. its accept queue was full):
		 * replay them again, as the client's TCP would send them. */
		if (old->hoff.phase != CONN_HOFF_INJECTED) {
			free(data);
			stats_inc(e->stats, STAT_H_TGT_SWALLOWED);
			stats_inc(e->stats, STAT_DROPPED);
			return ENGINE_DROP;
		}
		c = old;
		stats_inc(e->stats, STAT_H_TGT_REPLAYED);
	} else {
		if (old) {
			/* A new connection on the tuple of one that ended (the
			 * client reused its port): the old entry goes. */
			e->hoff->event(e->hoff_arg, ENGINE_HOFF_END, ENGINE_HOFF_R_FIN, old);
			conn_remove(e->conns, old);
		}
		c = engine_insert(e, k, false);
		if (!c) {
			free(data);
			return engine_drop(e, STAT_D_TABLE_FULL);
		}
		stats_inc(e->stats, STAT_H_TGT_CLAIMED);
	}
	pkt = malloc(ENGINE_HOFF_INJECT_MAX + 128);
	if (!pkt) {
		free(data);
		if (c != old)
			conn_remove(e->conns, c);
		return engine_drop(e, STAT_D_TABLE_FULL);
	}
	c->taddr = p->src;		/* our own address: where the replay goes */
	c->tport = r->tport;
	c->target = UINT32_MAX;
	/* Handshake state until the stack took the request: the SYN timeout
	 * applies, not the established one. */
	c->state = CONN_SYN;
	c->hoff.role = CONN_HOFF_TGT;
	c->hoff.phase = CONN_HOFF_INJECTED;
	c->hoff.id = hp.id;
	c->hoff.peer = fe_peer;
	c->hoff.delta = hp.isn_f - p->seq;
	c->hoff.tsoff = o.ts ? hp.tsval_f - o.tsval : 0;
	c->hoff.flags = hp.flags;
	c->hoff.ws_t = o.ws;
	c->hoff.ws_f = hp.ws_f;
	c->hoff.req_end = hp.isn_c + 1 + hp.req_len;
	/* The request, in segments the loopback carries whole. */
	off = 0;
	do {
		size_t n = hp.req_len - off, len;

		if (n > ENGINE_HOFF_INJECT_MAX)
			n = ENGINE_HOFF_INJECT_MAX;
		memset(&sp, 0, sizeof(sp));
		sp.src = k->caddr;
		sp.sport = k->cport;
		sp.dst = p->src;
		sp.dport = p->sport;
		sp.seq = hp.isn_c + 1 + (uint32_t)off;
		sp.ack = p->seq + 1;
		sp.flags = PKT_TCP_ACK | (off + n == hp.req_len && n ? PKT_TCP_PSH : 0);
		sp.win = hp.win_c;
		sp.mss = -1;
		sp.ws = -1;
		if ((hp.flags & HOFF_F_TS) && o.ts) {
			sp.ts = true;
			sp.tsval = hp.tsval_c;
			sp.tsecr = o.tsval;
		}
		sp.payload = data + off;
		sp.plen = n;
		len = tcpseg_build(pkt, ENGINE_HOFF_INJECT_MAX + 128, &sp);
		if (len)
			e->hoff->inject(e->hoff_arg, pkt, len, &p->src);
		off += n;
	} while (off < hp.req_len);
	free(pkt);
	free(data);
	stats_inc(e->stats, STAT_H_TGT_SWALLOWED);
	stats_inc(e->stats, STAT_DROPPED);
	return ENGINE_DROP;
}

/* TGT: a reply of a handed-off connection, from the stack to the client. */
static enum engine_verdict engine_hoff_out(struct engine *e, const struct view_rev *r,
					   uint8_t *buf, size_t len, struct pkt *p, bool full)
{
	struct tcpseg_xlate x;
	struct conn_key k;
	struct conn *c;
	size_t plen = tcpseg_payload_len(p);

	engine_key(&k, p->family, p->proto, &p->dst, p->dport, &r->vaddr, r->port);
	c = conn_lookup(e->conns, &k);
	if (c && c->hoff.role != CONN_HOFF_TGT)
		return engine_drop(e, STAT_H_TGT_NO_STATE);
	if ((p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == (PKT_TCP_SYN | PKT_TCP_ACK))
		return engine_hoff_claim(e, r, &k, buf, p, c);
	if (!c && !(p->tcp_flags & PKT_TCP_SYN)) {
		/* No handoff entry: a connection routed before a reload
		 * turned handoff on gets its plain rewrite (one this node's
		 * clusterd lost in a restart cannot be saved either way). */
		stats_inc(e->stats, STAT_H_TGT_NO_STATE);
		return engine_rewrite(e, buf, len, p, MANGLE_SRC, &r->vaddr, r->port, full);
	}
	if (!c)
		return engine_drop(e, STAT_H_TGT_NO_STATE);
	if (c->hoff.phase == CONN_HOFF_INJECTED && (p->tcp_flags & PKT_TCP_ACK) &&
	    (int32_t)(p->ack - c->hoff.req_end) >= 0) {
		/* The stack has the whole request: the FE may forward now. */
		c->hoff.phase = CONN_HOFF_READY;
		c->state = CONN_EST;
		if (e->hoff)
			e->hoff->event(e->hoff_arg, ENGINE_HOFF_READY, 0, c);
		if (!plen && !(p->tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST))) {
			stats_inc(e->stats, STAT_H_TGT_SWALLOWED);
			stats_inc(e->stats, STAT_DROPPED);
			return ENGINE_DROP;
		}
	} else if (c->hoff.phase == CONN_HOFF_INJECTED && !plen &&
		   !(p->tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST))) {
		/* An ACK of part of the replayed request: the client must not
		 * see it (it acknowledges bytes the FE already did). */
		stats_inc(e->stats, STAT_H_TGT_SWALLOWED);
		stats_inc(e->stats, STAT_DROPPED);
		return ENGINE_DROP;
	}
	/* What the stack expects next from the client: a RST that must end
	 * the connection in its stack (engine_hoff_kill) carries it. */
	if ((p->tcp_flags & PKT_TCP_ACK) && (int32_t)(p->ack - c->hoff.req_end) > 0)
		c->hoff.req_end = p->ack;
	memset(&x, 0, sizeof(x));
	x.side = MANGLE_SRC;
	x.addr = &r->vaddr;
	x.port = r->port;
	x.seq_add = c->hoff.delta;
	x.tsval_add = c->hoff.tsoff;
	/* The client reads our windows in units of 2^ws_f; a stack that does
	 * no scaling writes bytes. */
	x.ws_from = c->hoff.ws_f >= 0 && c->hoff.ws_t < 0 ? 0 : c->hoff.ws_t;
	x.ws_to = c->hoff.ws_f;
	if (!engine_hoff_apply(e, c, buf, len, p, &x, full))
		return ENGINE_DROP;
	stats_inc(e->stats, STAT_H_TGT_XLATED);
	stats_add(e->stats, STAT_H_TGT_BYTES, plen);
	if (c->state == CONN_CLOSED) {
		if (e->hoff)
			e->hoff->event(e->hoff_arg, ENGINE_HOFF_END, ENGINE_HOFF_R_RST, c);
		conn_remove(e->conns, c);
	}
	return ENGINE_MANGLED;
}

/* ---------------------------------------------------------------- SCTP
 * (SCTP association failover, doc/architecture.md)  The distributor routes
 * by association (ports and verification tag, nfq/assoc), never by address,
 * so every path of a multihomed client, to the VIPA or to its alternate
 * address, reaches the same target.  The target makes its stack's packets
 * look like the VIPA's: the INIT ACK lists the VIPA and the alternate
 * address only, every packet leaves from the VIPA, and it tells the
 * distributors the tags they cannot see (events to the daemon). */

void engine_sctp_ev_from(struct engine_sctp_ev *ev, int kind, const struct assoc *a,
			 uint8_t family)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = (uint8_t)kind;
	ev->family = family;
	ev->state = a->state;
	ev->flags = a->flags;
	ev->ep = a->p.ep;
	ev->cport = a->p.cport;
	ev->vport = a->p.vport;
	ev->itag_c = a->itag_c;
	ev->itag_t = a->itag_t;
	ev->target = a->target;
	ev->n_paths = a->n_paths <= ASSOC_PATHS ? a->n_paths : ASSOC_PATHS;
	memcpy(ev->paths, a->paths, ev->n_paths * sizeof(ev->paths[0]));
}

static void engine_sctp_event(struct engine *e, int kind, const struct assoc *a, uint8_t family)
{
	struct engine_sctp_ev ev;

	if (!e->sctp || !e->sctp->event)
		return;
	engine_sctp_ev_from(&ev, kind, a, family);
	e->sctp->event(e->sctp_arg, &ev);
}

void engine_assoc_expired(const struct assoc *a, void *arg)
{
	struct engine *e = arg;

	(void)a;
	/* Local, never replicated: a distributor that sees none of the
	 * association's packets (the client does not use its address) would
	 * otherwise delete it on the nodes that do. */
	stats_inc(e->stats, STAT_S_EXPIRED);
}

/* No association for the packet (or its target is dead): a middlebox's
 * answer, an ABORT with the M bit and a Missing State cause (nfq/sctp), so
 * that the client gives up at once rather than after its retransmissions.
 * Not before this node is ready: a starting distributor has not received
 * the others' associations yet and would abort live ones. */
static enum engine_verdict engine_sctp_no_state(struct engine *e, const uint8_t *buf,
						const struct pkt *p, enum stats_id why,
						uint8_t *reply, size_t *reply_len,
						struct ip_addr *reply_to)
{
	size_t n = 0;

	stats_inc(e->stats, why);
	stats_inc(e->stats, STAT_DROPPED);
	if (e->sctp_ready)
		n = sctp_reply_no_state(buf, p, reply, ENGINE_REPLY_MAX, NULL);
	else
		stats_inc(e->stats, STAT_S_NOT_READY);
	if (!n)
		return ENGINE_DROP;
	stats_inc(e->stats, STAT_S_ABORTS);
	*reply_len = n;
	*reply_to = p->src;
	stats_inc(e->stats, STAT_REPLIES);
	return ENGINE_REPLY;
}

/* The grace slot of (ap, vtag) and its key. */
static struct engine_sctp_unknown *engine_sctp_slot(struct engine *e,
						   const struct assoc_ports *ap, uint32_t vtag,
						   uint64_t *key)
{
	uint64_t k = ((uint64_t)ap->ep << 48 ^ (uint64_t)ap->cport << 32 ^
		      (uint64_t)ap->vport << 16 ^ vtag) * 0x9e3779b97f4a7c15ull;

	*key = k ? k : 1;
	return &e->sctp_unknown[(*key >> 56) % ENGINE_SCTP_UNKNOWN];
}

/* An association this node ended itself (its target died): the next
 * packet of its tag gets the ABORT at once, no grace. */
static void engine_sctp_mark_gone(struct engine *e, const struct assoc_ports *ap, uint32_t vtag)
{
	uint64_t k;
	struct engine_sctp_unknown *u = engine_sctp_slot(e, ap, vtag, &k);

	u->key = k;
	u->first_ms = e->now_ms >= ENGINE_SCTP_GRACE_MS ? e->now_ms - ENGINE_SCTP_GRACE_MS : 0;
}

/* A tag this node does not know, ENGINE_SCTP_GRACE_MS after it first saw
 * it: only then is it answered with the no-state ABORT (true).  Before, the
 * packet is dropped and the client retransmits; by then the target's
 * report has usually come. */
static bool engine_sctp_grace_over(struct engine *e, const struct assoc_ports *ap,
				   uint32_t vtag)
{
	uint64_t k;
	struct engine_sctp_unknown *u = engine_sctp_slot(e, ap, vtag, &k);

	if (u->key != k || e->now_ms < u->first_ms) {
		u->key = k;
		u->first_ms = e->now_ms;
		return false;
	}
	if (e->now_ms - u->first_ms < ENGINE_SCTP_GRACE_MS)
		return false;
	u->key = 0;	/* answered: a later one waits again */
	return true;
}

/* A packet of (ap, vtag) was routed: a wait that began before is over, so
 * that a later one (another failover, a reload) gets its whole grace
 * instead of being answered at once from a stale first sighting. */
static void engine_sctp_grace_clear(struct engine *e, const struct assoc_ports *ap,
				    uint32_t vtag)
{
	uint64_t k;
	struct engine_sctp_unknown *u = engine_sctp_slot(e, ap, vtag, &k);

	if (u->key == k)
		u->key = 0;
}

/* The target of a new association: the scheduler over the current targets,
 * by a hash of the client's port and Initiate Tag (never its address: the
 * INIT may come on any of its paths). */
static const struct view_target *engine_sctp_pick(struct engine *e, const struct view_service *s,
						  const struct assoc_ports *ap, uint32_t itag_c)
{
	uint32_t h = ((uint32_t)ap->cport << 16 | ap->vport) * 0x9e3779b1u ^ itag_c;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return view_pick(s, e->view, h);
}

/* Node `node` is a candidate of s that is not alive. */
static bool engine_sctp_dead(const struct view_service *s, uint32_t node)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].node == node)
			return !s->targets[i].alive;
	return false;
}

struct engine_sweep {
	const struct view *v;
	struct assoc *dead[64];
	size_t n;
};

static void engine_sweep_one(const struct assoc *a, void *arg)
{
	struct engine_sweep *w = arg;

	if (w->n == sizeof(w->dead) / sizeof(w->dead[0]) || a->target == ASSOC_NO_TARGET)
		return;
	for (size_t i = 0; i < w->v->n_svcs; i++) {
		const struct view_service *s = &w->v->svcs[i];

		if (s->proto == IPPROTO_SCTP && s->ep == a->p.ep && s->port == a->p.vport) {
			if (s->settled && engine_sctp_dead(s, a->target))
				w->dead[w->n++] = (struct assoc *)a;	/* ours: the table's pool */
			return;
		}
	}
}

size_t engine_sctp_sweep(struct engine *e, size_t budget)
{
	struct engine_sweep w = { .v = e->view };
	size_t n = budget < 64 ? budget : 64;

	if (!e->assocs || !e->view || !assoc_count(e->assocs))
		return 0;
	/* A chunk of pool slots per call, at most 64 removals: the cursor
	 * comes round to the rest. */
	e->sctp_sweep = assoc_foreach_chunk(e->assocs, e->sctp_sweep, n, engine_sweep_one, &w);
	if (e->sctp_sweep >= assoc_slots(e->assocs))
		e->sctp_sweep = 0;
	for (size_t i = 0; i < w.n; i++) {
		/* Its client's next packet gets the ABORT at once, as if the
		 * entry were still here. */
		engine_sctp_mark_gone(e, &w.dead[i]->p, w.dead[i]->itag_t);
		assoc_remove(e->assocs, w.dead[i]);
		stats_inc(e->stats, STAT_S_TARGET_GONE);
	}
	return w.n;
}

static enum engine_verdict engine_sctp_init(struct engine *e, const struct view_service *s,
					    uint8_t *buf, size_t len, struct pkt *p,
					    const struct sctp_info *si, const struct assoc_ports *ap,
					    bool full, uint8_t *reply, size_t *reply_len,
					    struct ip_addr *reply_to)
{
	const struct view_target *t = NULL;
	enum assoc_init_res res;
	struct assoc *a;
	uint8_t paths;

	if (si->vtag != 0)	/* RFC 9260 8.5.1 (A): an INIT's tag is 0 */
		return engine_drop(e, STAT_D_SCTP_MALFORMED);
	a = assoc_init(e->assocs, ap, si->itag, &p->src, e->now_ms, &res);
	switch (res) {
	case ASSOC_I_FULL:
		return engine_drop(e, STAT_D_TABLE_FULL);
	case ASSOC_I_BAD:
		return engine_drop(e, STAT_D_SCTP_MALFORMED);
	case ASSOC_I_NEW:
		stats_inc(e->stats, STAT_S_INIT);
		break;
	case ASSOC_I_RETRANS:
		stats_inc(e->stats, STAT_S_INIT_RETRANS);
		break;
	case ASSOC_I_RESTART:
		stats_inc(e->stats, STAT_S_RESTART);
		break;
	case ASSOC_I_COLLISION:
		stats_inc(e->stats, STAT_S_COLLISION);
		break;
	}
	if (a->target != ASSOC_NO_TARGET)
		t = engine_target_on(s, a->target);
	if (!t && a->state == ASSOC_EST) {
		/* An INIT for an association whose target died: that one is
		 * gone; the INIT starts a new one.  Each distributor judges a
		 * target's death itself: not replicated. */
		assoc_remove(e->assocs, a);
		stats_inc(e->stats, STAT_S_TARGET_GONE);
		a = assoc_init(e->assocs, ap, si->itag, &p->src, e->now_ms, &res);
		if (!a)
			return engine_drop(e, STAT_D_TABLE_FULL);
	}
	if (!t) {
		/* A new association, or a restart whose old target is gone:
		 * so is the association it restarts. */
		struct assoc *o = NULL;

		if (a->replaces &&
		    assoc_lookup(e->assocs, ap, a->replaces, false, &o, NULL) == ASSOC_HIT && o != a) {
			assoc_remove(e->assocs, o);
			stats_inc(e->stats, STAT_S_TARGET_GONE);
		}
		a->replaces = 0;
		t = engine_sctp_pick(e, s, ap, si->itag);
		if (!t) {
			assoc_remove(e->assocs, a);
			return engine_sctp_no_state(e, buf, p, STAT_D_NO_TARGET, reply, reply_len,
						    reply_to);
		}
		a->target = (uint32_t)t->node;
	}
	paths = a->n_paths;
	assoc_seen(e->assocs, a, 0, &p->src, p->ip_len, e->now_ms, NULL);
	if (a->n_paths != paths && a->state == ASSOC_EST)
		engine_sctp_event(e, ENGINE_SCTP_UPDATE, a, p->family);
	e->hit_vipa = s->vipa;
	return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
}

static enum engine_verdict engine_sctp_pre(struct engine *e, const struct view_service *s,
					   uint8_t *buf, size_t len, struct pkt *p, bool full,
					   uint8_t *reply, size_t *reply_len,
					   struct ip_addr *reply_to)
{
	struct assoc_ports ap = { .ep = s->ep, .cport = p->sport, .vport = p->dport };
	const struct view_target *t;
	struct sctp_info si;
	struct assoc *a = NULL, old;
	uint32_t hint = ASSOC_NO_TARGET;
	uint8_t paths, confirmed;
	bool learnt;

	if (!e->assocs)
		return engine_drop(e, STAT_D_SCTP_WORKER);
	if (sctp_walk(buf, p, &si) != SCTP_OK)
		return engine_drop(e, STAT_D_SCTP_MALFORMED);
	if (si.first_type == SCTP_CHUNK_INIT)
		return engine_sctp_init(e, s, buf, len, p, &si, &ap, full, reply, reply_len,
					reply_to);
	switch (assoc_lookup(e->assocs, &ap, si.vtag, si.t_bit, &a, &hint)) {
	case ASSOC_HIT:
		break;
	case ASSOC_UNKNOWN_TAG:
		/* Most likely the COOKIE ECHO, overtaking the target's report
		 * of its tag: it goes where the INIT went. */
		t = hint != ASSOC_NO_TARGET ? engine_target_on(s, hint) : NULL;
		if (!t)
			return engine_drop(e, STAT_D_NO_TARGET);
		/* The learn that brings this tag confirms the association at
		 * once: the client has shown it holds it (nfq/assoc). */
		assoc_hinted(e->assocs, &ap, si.vtag);
		stats_inc(e->stats, STAT_S_HINTED);
		e->hit_vipa = s->vipa;
		return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
	case ASSOC_NONE:
	default:
		if (!engine_sctp_grace_over(e, &ap, si.vtag)) {
			stats_inc(e->stats, STAT_S_NO_STATE_HELD);
			return engine_drop(e, STAT_S_NO_STATE);
		}
		return engine_sctp_no_state(e, buf, p, STAT_S_NO_STATE, reply, reply_len,
					    reply_to);
	}
	t = engine_target_on(s, a->target);
	if (!t && (!s->settled || !engine_sctp_dead(s, a->target)) &&
	    !engine_sctp_grace_over(e, &ap, si.vtag)) {
		/* Its target is not in this view at all (a reload removed
		 * it), or the view is not settled (a start: not every target
		 * heard yet): held back for the grace, the retransmission
		 * finds a better view.  A target the settled view lists as
		 * not alive is dead (the cluster agreed): the association
		 * ends at once. */
		stats_inc(e->stats, STAT_S_NO_STATE_HELD);
		return engine_drop(e, STAT_D_NO_TARGET);
	}
	if (!t) {
		/* Its target died: so did the association.  Not replicated:
		 * each distributor judges a target's death itself. */
		assoc_remove(e->assocs, a);
		return engine_sctp_no_state(e, buf, p, STAT_S_TARGET_GONE, reply, reply_len,
					    reply_to);
	}
	engine_sctp_grace_clear(e, &ap, si.vtag);
	paths = a->n_paths;
	confirmed = a->flags & ASSOC_F_CONFIRMED;
	if (assoc_seen(e->assocs, a, si.vtag, &p->src, p->ip_len, e->now_ms, &old)) {
		stats_inc(e->stats, STAT_S_REPLACED);
		engine_sctp_event(e, ENGINE_SCTP_DELETE, &old, p->family);
	}
	/* The client answers an INIT of the target's stack: its tag, which
	 * its T-bit ABORT and SHUTDOWN COMPLETE will carry. */
	learnt = si.first_type == SCTP_CHUNK_INIT_ACK && a->itag_c == 0 && si.itag &&
		 assoc_set_itag_c(e->assocs, a, si.itag) == 0;
	stats_inc(e->stats, STAT_S_FORWARDED);
	if (s->has_alt && addr_eq(&p->dst, &s->alt))
		stats_inc(e->stats, STAT_S_ALT);
	if (a->state != ASSOC_CLOSED &&
	    (sctp_has(&si, SCTP_CHUNK_ABORT) || sctp_has(&si, SCTP_CHUNK_SHUTDOWN_COMPLETE))) {
		/* Still routes the late packets of its tags until it expires. */
		assoc_end(e->assocs, a, e->now_ms);
		stats_inc(e->stats, STAT_S_ENDED);
		engine_sctp_event(e, ENGINE_SCTP_UPDATE, a, p->family);
	} else if (a->state == ASSOC_EST &&
		   (learnt || a->n_paths != paths ||
		    confirmed != (a->flags & ASSOC_F_CONFIRMED))) {
		/* A new path, or the client's first packet with the target's
		 * tag: the other distributors keep it from now on. */
		engine_sctp_event(e, ENGINE_SCTP_UPDATE, a, p->family);
	}
	e->hit_vipa = s->vipa;
	return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
}

/* The target's stack sends: everything leaves from the VIPA, the INIT ACK
 * lists the VIPA's addresses only, and the distributors hear the tags. */
static enum engine_verdict engine_sctp_out(struct engine *e, const struct view_rev *r,
					   uint8_t *buf, size_t len, struct pkt *p, bool full)
{
	struct engine_sctp_ev ev;
	struct sctp_info si;

	if (addr_eq(&p->src, &p->dst)) {
		/* The node talking to itself (the listener probe's INIT
		 * ACK, daemon/sprobe): not a client's. */
		stats_inc(e->stats, STAT_S_LOCAL);
		stats_inc(e->stats, STAT_ACCEPTED);
		return ENGINE_ACCEPT;
	}
	if (sctp_walk(buf, p, &si) != SCTP_OK)
		return engine_drop(e, STAT_D_SCTP_MALFORMED);
	memset(&ev, 0, sizeof(ev));
	ev.family = p->family;
	ev.ep = r->ep;
	ev.cport = p->dport;
	ev.vport = r->port;
	ev.target = ASSOC_NO_TARGET;
	ev.client = p->dst;
	if (si.first_type == SCTP_CHUNK_INIT_ACK) {
		const struct ip_addr addrs[2] = { r->vaddr, r->alt };
		struct pkt q;
		size_t n = 0;

		/* The address list changes the packet's length: it is built in
		 * e->out and passed from there. */
		if (!e->out ||
		    sctp_rewrite_init_ack(buf, p, addrs, r->has_alt ? 2 : 1, e->out, e->out_cap,
					  &n) != SCTP_OK ||
		    pkt_parse(e->out, n, &q) != PKT_OK ||
		    mangle_rewrite(e->out, n, &q, MANGLE_SRC, &r->vaddr, r->port, full) !=
			    MANGLE_OK)
			return engine_drop(e, STAT_D_SCTP_REWRITE);
		e->out_len = n;
		ev.kind = ENGINE_SCTP_TAG;
		ev.itag_c = si.vtag;	/* an INIT ACK carries the INIT's tag */
		ev.itag_t = si.itag;
		if (e->sctp && e->sctp->event)
			e->sctp->event(e->sctp_arg, &ev);
		stats_inc(e->stats, STAT_S_INIT_ACK);
		stats_inc(e->stats, STAT_REWRITTEN);
		return ENGINE_MANGLED;
	}
	if (si.first_type == SCTP_CHUNK_INIT) {
		/* The stack begins an association itself (or answers the
		 * client's INIT with its own in a collision): its tag, the
		 * client's not known. */
		ev.kind = ENGINE_SCTP_TAG;
		ev.itag_t = si.itag;
		stats_inc(e->stats, STAT_S_TGT_INIT);
	} else if (sctp_has(&si, SCTP_CHUNK_ABORT) || sctp_has(&si, SCTP_CHUNK_SHUTDOWN_COMPLETE)) {
		/* T bit: the tag is reflected, the stack's own; else the
		 * client's (RFC 9260 3.3.7). */
		ev.kind = ENGINE_SCTP_GONE;
		if (si.t_bit)
			ev.itag_t = si.vtag;
		else
			ev.itag_c = si.vtag;
		stats_inc(e->stats, STAT_S_TGT_GONE);
	}
	if (ev.kind && (ev.itag_c || ev.itag_t) && e->sctp && e->sctp->event)
		e->sctp->event(e->sctp_arg, &ev);
	stats_inc(e->stats, STAT_S_TGT_XLATED);
	return engine_rewrite(e, buf, len, p, MANGLE_SRC, &r->vaddr, r->port, full);
}

static enum engine_verdict engine_pre(struct engine *e, uint8_t *buf, size_t len,
				      struct pkt *p, bool full, uint8_t *reply,
				      size_t *reply_len, struct ip_addr *reply_to)
{
	const struct view_service *s;
	const struct view_target *t;
	struct conn_key k;
	struct conn *c;
	bool is_syn = p->proto == IPPROTO_TCP &&
		      (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
	bool created = false;
	uint8_t before;

	if (p->icmp_error)
		return engine_icmp_in(e, buf, len, p, full);
	s = view_find_service(e->view, p->family, p->proto, &p->dst, p->dport);
	if (!s) {
		/* Queued but no longer a service (a reload is under way): the
		 * local stack answers, as for any closed port. */
		stats_inc(e->stats, STAT_UNMATCHED);
		stats_inc(e->stats, STAT_ACCEPTED);
		return ENGINE_ACCEPT;
	}
	if (s->svc->handoff && p->proto == IPPROTO_TCP)
		return engine_hoff_pre(e, s, buf, len, p, full, reply, reply_len, reply_to);
	if (p->proto == IPPROTO_SCTP)
		return engine_sctp_pre(e, s, buf, len, p, full, reply, reply_len, reply_to);
	engine_key(&k, p->family, p->proto, &p->src, p->sport, &p->dst, p->dport);
	c = conn_lookup(e->conns, &k);
	if (c && c->hoff.role == CONN_HOFF_FE && !is_syn) {
		/* Handed off before a reload turned handoff off: it still needs
		 * its translation. */
		e->hit_vipa = s->vipa;
		return engine_hoff_fwd(e, c, buf, len, p, full);
	}
	if (c && is_syn && (c->state == CONN_CLOSED || c->state == CONN_FIN)) {
		/* The client reuses its port for a new connection: schedule anew. */
		view_conn_dec(e->view, c->target);
		if (c->cls != CONN_C_EMBRYO)
			engine_event(e, ENGINE_CONN_DELETE, c);
		conn_remove(e->conns, c);
		stats_inc(e->stats, STAT_CONN_REUSED);
		c = NULL;
	}
	if (!c && e->find_replica) {
		struct conn r;

		/* The previous distributor routed this flow (or its SYN just
		 * before it died): keep its target, whatever the packet. */
		/* A new SYN does not follow a replica of a closing connection:
		 * it is a new connection, scheduled anew. */
		if (e->find_replica(e->find_replica_arg, &k, &r) &&
		    !(is_syn && (r.state == CONN_FIN || r.state == CONN_CLOSED))) {
			c = engine_insert(e, &k, false);
			if (!c)
				return engine_drop(e, STAT_D_TABLE_FULL);
			c->taddr = r.taddr;
			c->tport = r.tport;
			c->target = r.target;
			c->state = r.state;
			if (p->proto == IPPROTO_UDP)
				conn_set_class(e->conns, c, CONN_C_UDP);
			view_conn_inc(e->view, c->target);
			stats_inc(e->stats, STAT_CONN_FROM_REPLICA);
			engine_event(e, ENGINE_CONN_UPDATE, c);
		}
	}
	if (!c && p->proto == IPPROTO_TCP) {
		uint32_t node, gen;
		bool hs;

		if (p->tcp_flags & TCP_RST)
			return engine_drop(e, STAT_D_NO_CONN);
		if (!is_syn && s->sched != SCHED_MAGLEV) {
			/* Mid-connection packet with no entry (we restarted, the
			 * flow moved worker, or its SYN's entry was evicted):
			 * stateful schedulers cannot know its target. */
			return engine_drop(e, STAT_D_NO_CONN);
		}
		/* The handshake's ACK of a SYN we routed without an entry goes
		 * where the SYN went, even if the target set changed since. */
		hs = !is_syn && conn_syn_take(e->conns, &k, &node, &gen);
		t = NULL;
		if (hs && gen == (uint32_t)e->view->cfg_gen)
			t = engine_target_on(s, node);
		if (!t)
			t = view_pick(s, e->view, conn_key_hash(&k));
		if (!t) {
			if (!is_syn)
				return engine_drop(e, STAT_D_NO_CONN);
			return engine_no_target(e, buf, p, reply, reply_len, reply_to);
		}
		if (s->sched == SCHED_MAGLEV && is_syn) {
			/* No entry for a SYN: anyone can send SYNs from any
			 * address.  Retransmissions hash the same way. */
			conn_syn_note(e->conns, &k, (uint32_t)t->node, (uint32_t)e->view->cfg_gen);
			stats_inc(e->stats, STAT_CONN_SYN_STATELESS);
			e->hit_vipa = s->vipa;
			return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
		}
		if (!is_syn && !hs && !s->settled) {
			/* We just started and have not heard every target yet:
			 * the hash over a partial target set could send an
			 * established flow elsewhere (a RST).  Dropped instead;
			 * TCP retransmits once the view is settled. */
			return engine_drop(e, STAT_D_UNSETTLED);
		}
		if (!is_syn && !hs) {
			/* Mid-flow with no SYN seen (we restarted, or the flow
			 * moved worker): forwarded without an entry, Maglev
			 * gives the same answer for every packet of the flow,
			 * and spoofed mid-flow packets must not fill the table
			 * (nor the replicas). */
			stats_inc(e->stats, STAT_CONN_ADOPTED);
			e->hit_vipa = s->vipa;
			return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
		}
		/* A stateful scheduler's SYN (embryonic entry), or the end of a
		 * handshake routed by maglev (established entry). */
		c = engine_insert(e, &k, is_syn);
		if (!c) {
			if (is_syn)
				return engine_drop(e, STAT_D_TABLE_FULL);
			/* Maglev still knows the way: only the entry is missing. */
			stats_inc(e->stats, STAT_CONN_UNTRACKED);
			e->hit_vipa = s->vipa;
			return engine_rewrite(e, buf, len, p, MANGLE_DST, &t->addr, s->tport, full);
		}
		c->taddr = t->addr;
		c->tport = s->tport;
		c->target = (uint32_t)t->node;
		c->state = CONN_SYN;
		view_conn_inc(e->view, t->node);
		if (is_syn) {
			conn_set_class(e->conns, c, CONN_C_EMBRYO);
			stats_inc(e->stats, STAT_CONN_EMBRYO_CREATED);
		} else {
			stats_inc(e->stats, STAT_CONN_NEW);
			created = true;
		}
	} else if (!c) {
		t = view_pick(s, e->view, conn_key_hash(&k));
		if (!t)
			return engine_no_target(e, buf, p, reply, reply_len, reply_to);
		c = engine_insert(e, &k, false);
		if (!c)
			return engine_drop(e, STAT_D_TABLE_FULL);
		c->taddr = t->addr;
		c->tport = s->tport;
		c->target = (uint32_t)t->node;
		c->state = CONN_UDP;
		if (p->proto == IPPROTO_UDP)
			conn_set_class(e->conns, c, CONN_C_UDP);
		view_conn_inc(e->view, t->node);
		stats_inc(e->stats, STAT_CONN_NEW);
		created = true;
	}
	before = c->state;
	if (p->proto == IPPROTO_TCP)
		conn_tcp_track(c, p->tcp_flags);
	if (c->cls == CONN_C_EMBRYO && (c->state == CONN_EST || c->state == CONN_FIN)) {
		/* The handshake completed: from now on a connection like any
		 * other, replicated and never evicted. */
		conn_set_class(e->conns, c, CONN_C_NONE);
		stats_inc(e->stats, STAT_CONN_NEW);
		created = true;
	}
	/* Replicate creations and state changes, not every packet, and
	 * nothing embryonic. */
	if (c->cls != CONN_C_EMBRYO && (created || c->state != before))
		engine_event(e, ENGINE_CONN_UPDATE, c);
	engine_fast(e, s, c);
	conn_seen(e->conns, c, e->now_ms);
	c->packets++;
	c->bytes += p->ip_len;
	e->hit_vipa = s->vipa;
	return engine_rewrite(e, buf, len, p, MANGLE_DST, &c->taddr, c->tport, full);
}

static enum engine_verdict engine_out(struct engine *e, uint8_t *buf, size_t len,
				      struct pkt *p, bool full)
{
	const struct view_rev *r;

	if (p->icmp_error) {
		/* This node's stack complains about a packet a client sent to
		 * VIPA:port (rewritten to us): it must come from the VIPA. */
		const struct pkt_inner *in = &p->inner;

		if (!in->family || !in->has_ports || in->family != p->family)
			goto pass;
		r = view_find_rev(e->view, in->family, in->proto, in->dport);
		if (!r)
			goto pass;
		stats_inc(e->stats, STAT_ICMP_FWD);
		return engine_rewrite(e, buf, len, p, MANGLE_SRC, &r->vaddr, r->port, full);
	}
	r = view_find_rev(e->view, p->family, p->proto, p->sport);
	if (!r)
		goto pass;
	if (r->handoff && p->proto == IPPROTO_TCP)
		return engine_hoff_out(e, r, buf, len, p, full);
	if (p->proto == IPPROTO_SCTP)
		return engine_sctp_out(e, r, buf, len, p, full);
	return engine_rewrite(e, buf, len, p, MANGLE_SRC, &r->vaddr, r->port, full);
pass:
	stats_inc(e->stats, STAT_UNMATCHED);
	stats_inc(e->stats, STAT_ACCEPTED);
	return ENGINE_ACCEPT;
}

enum engine_verdict engine_packet(struct engine *e, enum engine_hook hook, uint8_t *buf,
				  size_t len, bool csum_notready, uint8_t *reply,
				  size_t *reply_len, struct ip_addr *reply_to)
{
	struct pkt p;
	enum pkt_status st;

	e->hit_vipa = NULL;
	e->out_len = 0;
	stats_inc(e->stats, STAT_RX);
	st = pkt_parse(buf, len, &p);
	if (st != PKT_OK)
		return engine_malformed(e, st);
	if (p.fragment) {
		/* Later fragments carry no ports, so they cannot be mapped to a
		 * connection; clusterd does not reassemble.  Path MTU discovery
		 * (whose ICMP errors we forward) keeps TCP unfragmented. */
		return engine_drop(e, STAT_D_FRAGMENT);
	}
	switch (p.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		break;
	default:
		stats_inc(e->stats, STAT_UNMATCHED);
		stats_inc(e->stats, STAT_ACCEPTED);
		return ENGINE_ACCEPT;
	}
	if ((p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6) && !p.icmp_error) {
		stats_inc(e->stats, STAT_ACCEPTED);
		return ENGINE_ACCEPT;
	}
	if (hook == ENGINE_PRE)
		return engine_pre(e, buf, len, &p, csum_notready, reply, reply_len, reply_to);
	return engine_out(e, buf, len, &p, csum_notready);
}
