/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <string.h>

#include "nfq/engine.h"
#include "nfq/mangle.h"
#include "nfq/pkt.h"
#include "nfq/reply.h"

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
	if (e->conn_event)
		e->conn_event(e->conn_event_arg, kind, c);
}

void engine_conn_expired(const struct conn *c, void *arg)
{
	struct engine *e = arg;

	stats_inc(e->stats, STAT_CONN_EXPIRED);
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
	engine_key(&k, p->family, p->proto, &p->src, p->sport, &p->dst, p->dport);
	c = conn_lookup(e->conns, &k);
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
