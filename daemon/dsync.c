/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ifinfo.h"
#include "daemon/log.h"
#include "daemon/drepl.h"
#include "daemon/dsync.h"

/* Unreachable addresses are probed as often as reachable ones: after a
 * partition heals, the two sides must see each other within one heartbeat
 * so that a VIPA never has two owners for longer (a few bytes per address
 * and heartbeat are cheap). */
#define PROBE_EVERY 1
#define OUTBOX_CAP 32
#define ECHO_LEN 16
#define NO_ADDR 0xff	/* ECHO address index of a node not in the CDAT yet */
/* A state body never shrinks below this for a small path MTU: a record or
 * a CDAT entry must fit one message; IP fragments what exceeds the path. */
#define DSYNC_BODY_MIN 256
/* Smallest path (UDP payload) that carries every message whole: a CDAT
 * REPORT of a node with eight addresses and a heartbeat with several
 * listeners stay below it (an IPv4 576-byte MTU). */
#define DSYNC_PATH_WARN 548

static struct log_rl dsync_rl, dsync_rl_cdat;

/* --- helpers --------------------------------------------------------------- */

static long dsync_cdat_index(const struct daemon *d, size_t n)
{
	if (!d->cdat_ready)
		return -1;
	return cdat_find_node(&d->cdat.cur, d->cfg->nodes[n].name);
}

bool dsync_node_alive(const struct daemon *d, size_t n)
{
	long ci;

	if ((long)n == d->cfg->self)
		return true;
	ci = dsync_cdat_index(d, n);
	return ci < 0 || !d->cdat.cur.nodes[ci].down;
}

uint64_t dsync_node_down_since(const struct daemon *d, size_t n)
{
	long ci;

	if ((long)n == d->cfg->self)
		return 0;
	ci = dsync_cdat_index(d, n);
	return ci < 0 || !d->cdat.cur.nodes[ci].down ? 0 : d->cdat.cur.nodes[ci].down_since_ms;
}

/* Where state messages to node n go now: its reachable address of lowest cos. */
static const struct ip_addr *dsync_current_addr(const struct daemon *d, size_t n);

/* A node that announced it is leaving is down for the rules, but still
 * waits for our acknowledgements of its final sync: its primary address. */
static bool dsync_leaving(const struct daemon *d, size_t n)
{
	return d->member.nodes[n].heard && (d->member.nodes[n].flags & WIRE_F_LEAVING);
}

static const struct ip_addr *dsync_current_addr(const struct daemon *d, size_t n)
{
	long ci = dsync_cdat_index(d, n), ai;

	if (ci >= 0) {
		ai = cdat_current_addr(&d->cdat.cur, (size_t)ci);
		if (ai < 0)
			return dsync_leaving(d, n) ? &d->cfg->nodes[n].addrs[0].ip : NULL;
		return &d->cdat.cur.nodes[ci].addrs[ai].ip;
	}
	return &d->cfg->nodes[n].addrs[0].ip;
}

/* The largest datagram for node n that every path to it carries (its
 * addresses' adapter MTUs and ours, from the CDAT); WIRE_MAX for a node
 * not in the table yet. */
static size_t dsync_path_max(const struct daemon *d, size_t n)
{
	long ci = dsync_cdat_index(d, n);
	long self = d->cfg->self >= 0 ? dsync_cdat_index(d, (size_t)d->cfg->self) : -1;
	size_t m;

	if (ci < 0)
		return WIRE_MAX;
	m = cdat_path_max(&d->cdat.cur, self, (size_t)ci);
	return m ? m : WIRE_MAX;
}

size_t dsync_state_body_max(const struct daemon *d, size_t n)
{
	/* A state datagram is its body plus header, sequence TLV and MAC:
	 * WIRE_MAX - REL_BODY_MAX bytes, and the type byte the queue keeps
	 * with the body travels in the header. */
	size_t path = dsync_path_max(d, n), over = WIRE_MAX - REL_BODY_MAX, m;

	if (n >= d->n_known)
		return REL_BODY_MAX - 1;
	m = path > over + DSYNC_BODY_MIN ? path - over : DSYNC_BODY_MIN;
	return m < REL_BODY_MAX - 1 ? m : REL_BODY_MAX - 1;
}

/* Every datagram names the node it is for (`to`) and that node's boot epoch
 * as we last heard it, under the MAC: another node refuses it, and so does
 * a later boot of the same node. */
static void dsync_begin_bare(struct daemon *d, struct wire_writer *w, uint8_t *buf, size_t cap,
			     uint8_t type, size_t to)
{
	struct wire_hdr h = {
		.type = type,
		.sender = d->node_ids[d->cfg->self],
		.epoch = d->epoch,
		/* One sequence number per datagram keeps replay windows exact.
		 * One counter for all peers is enough: the recipient is under
		 * the MAC, so each peer's window sees only its own datagrams
		 * (with gaps, which a window accepts). */
		.seq = ++d->seq,
		.recipient = d->node_ids[to],
		.recipient_epoch = d->peers[to].epoch_seen,
	};

	wire_begin(w, buf, cap, &h);
}

/* Best-effort messages name their sender for the logs of tools like tcpdump;
 * state messages do not (the header's sender id says it), so that a full
 * body (REL_BODY_MAX) always fits one datagram. */
static void dsync_begin(struct daemon *d, struct wire_writer *w, uint8_t *buf, size_t cap,
			uint8_t type, size_t to)
{
	dsync_begin_bare(d, w, buf, cap, type, to);
	wire_put(w, WIRE_TLV_NODE, d->cfg->node_name, (uint16_t)strlen(d->cfg->node_name));
}

/* The source for a datagram to address `to` of node n: our own configured
 * address with the index `to` has in n's list, if of the same family, else
 * our first of that family; NULL when we have none (the kernel chooses).
 * Receivers drop datagrams from addresses that are no node's, so what the
 * kernel would pick (a VIPA, an address not in the configuration) must not
 * be used; heartbeats state it (WIRE_TLV_SRC). */
static const struct ip_addr *dsync_src(const struct daemon *d, size_t n, const struct ip_addr *to)
{
	const struct cfg_node *me = &d->cfg->nodes[d->cfg->self], *peer = &d->cfg->nodes[n];

	if (!to)
		return NULL;
	for (size_t i = 0; i < peer->n_addrs && i < me->n_addrs; i++)
		if (addr_eq(&peer->addrs[i].ip, to) && me->addrs[i].ip.family == to->family)
			return &me->addrs[i].ip;
	for (size_t i = 0; i < me->n_addrs; i++)
		if (me->addrs[i].ip.family == to->family)
			return &me->addrs[i].ip;
	return NULL;
}

static void dsync_send(struct daemon *d, struct wire_writer *w, const struct ip_addr *to,
		       const struct ip_addr *src)
{
	size_t len = wire_finish(w, &d->keys), ni, ai;
	int r;

	if (!len) {
		d->sync.tx_errors++;	/* did not fit: a bug, but never silent */
		return;
	}
	if (!to)
		return;
	/* Sized before the path's MTU shrank (a queued state message): IP
	 * fragments it; counted so that it is not silent. */
	if (d->cdat_ready && cdat_find_addr(&d->cdat.cur, to, &ni, &ai) &&
	    len > cdat_path_max(&d->cdat.cur, cdat_find_node(&d->cdat.cur, d->cfg->node_name), ni))
		d->sync.tx_over_path++;
	r = chan_send_from(d->chan, src, to, d->cfg->sync_port, w->buf, len);
	/* Our address is gone from the host (being reconfigured): let the
	 * kernel choose; a heartbeat then states a source it does not come
	 * from and is not credited, which is the truth. */
	if (r == -EINVAL || r == -EADDRNOTAVAIL)
		r = chan_send(d->chan, to, d->cfg->sync_port, w->buf, len);
	if (r < 0) {
		d->sync.tx_errors++;
		return;
	}
	d->sync.tx++;
}

/* Appends TLVs that are already encoded (a CDAT body). */
static void dsync_put_raw(struct wire_writer *w, const uint8_t *p, size_t len)
{
	if (w->overflow || w->len + len > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, len);
	w->len += len;
}

/* --- the reliable channel ------------------------------------------------------ */

struct dsync_emit {
	struct daemon *d;
	size_t node;
};

/* A queued state message is [type][body]: send it with its sequence number. */
static void dsync_emit_state(void *arg, uint64_t seq, const void *blob, size_t len)
{
	struct dsync_emit *e = arg;
	struct daemon *d = e->d;
	const uint8_t *b = blob;
	uint8_t buf[WIRE_MAX], sq[REL_SEQ_LEN];
	const struct ip_addr *to;
	struct wire_writer w;

	if (len < 1)
		return;
	dsync_begin_bare(d, &w, buf, sizeof(buf), b[0], e->node);
	rel_enc_seq(sq, seq);
	wire_put(&w, REL_TLV_SEQ, sq, sizeof(sq));
	dsync_put_raw(&w, b + 1, len - 1);
	to = dsync_current_addr(d, e->node);
	dsync_send(d, &w, to, dsync_src(d, e->node, to));
	d->sync.state_tx++;
}

int dsync_send_state(struct daemon *d, size_t node, uint8_t type, const uint8_t *body,
		     size_t len)
{
	uint8_t blob[REL_BODY_MAX];

	if (node >= d->n_known || !d->peers[node].tx || len + 1 > sizeof(blob))
		return 0;	/* nowhere to send: not a failure to retry */
	blob[0] = type;
	memcpy(blob + 1, body, len);
	if (!rel_tx_push(d->peers[node].tx, blob, len + 1, daemon_now_ms())) {
		d->sync.rel_overflow++;
		return -1;
	}
	return 0;
}

static void dsync_push(struct daemon *d, size_t node, uint8_t type, const uint8_t *body,
		       size_t len)
{
	dsync_send_state(d, node, type, body, len);
}

static void dsync_flush_outbox(struct daemon *d, struct cdat_outbox *ob)
{
	for (size_t i = 0; i < ob->n; i++) {
		long n = cfg_node_index(d->cfg, ob->msg[i].to);

		if (n >= 0 && n != d->cfg->self)
			dsync_push(d, (size_t)n, ob->msg[i].type, ob->msg[i].body, ob->msg[i].len);
	}
	if (ob->overflow)
		d->sync.outbox_overflow++;
	ob->n = 0;
	ob->overflow = false;
}

struct dsync_deliver {
	struct daemon *d;
	size_t node;
	struct cdat_outbox *ob;
};

static void dsync_deliver_state(void *arg, uint64_t seq, const void *blob, size_t len)
{
	struct dsync_deliver *dl = arg;
	struct daemon *d = dl->d;
	const uint8_t *b = blob;
	int r;

	(void)seq;
	if (len < 1)
		return;
	d->sync.state_rx++;
	if (b[0] >= REPL_MSG_UPDATE && b[0] <= REPL_MSG_BULK_REQ) {
		drepl_input(d, dl->node, b[0], b + 1, len - 1);
		return;
	}
	if (b[0] >= CDAT_MSG_REPORT && b[0] <= CDAT_MSG_COMMIT) {
		uint64_t before = d->cdat.cur.version;

		r = cdat_proto_input(&d->cdat, d->cfg->nodes[dl->node].name, b[0], b + 1, len - 1,
				     daemon_now_ms(), dl->ob);
		if (r < 0 && r != CDAT_ERR_STALE) {
			d->sync.cdat_errors++;
			log_rl(&dsync_rl_cdat, 5, LOG_WARNING, "CDAT message from %s refused: %s",
			       d->cfg->nodes[dl->node].name, cdat_err_name(r));
		}
		if (d->cdat.cur.version != before)
			log_info("CDAT version %llu committed (coordinator %s)",
				 (unsigned long long)d->cdat.cur.version,
				 cdat_proto_coordinator(&d->cdat) >= 0 ?
				 d->cdat.cur.nodes[cdat_proto_coordinator(&d->cdat)].name : "?");
	}
}

static void dsync_send_ctrl(struct daemon *d, size_t n, uint64_t now)
{
	struct dsync_peer *p = &d->peers[n];
	struct rel_ctl ctl;
	uint64_t first, next;
	uint8_t buf[WIRE_MAX], v[REL_NACK_LEN];
	struct wire_writer w;
	const struct ip_addr *to;
	bool any = false;

	dsync_begin(d, &w, buf, sizeof(buf), WIRE_REL_CTRL, n);
	if (rel_rx_poll(p->rx, now, &ctl)) {
		if (ctl.ack) {
			rel_enc_ack(v, ctl.epoch, ctl.ack_upto);
			wire_put(&w, REL_TLV_ACK, v, REL_ACK_LEN);
			any = true;
		}
		for (unsigned i = 0; i < ctl.n_nack; i++) {
			rel_enc_nack(v, ctl.epoch, ctl.nack[i].from, ctl.nack[i].to);
			wire_put(&w, REL_TLV_NACK, v, REL_NACK_LEN);
			any = true;
		}
	}
	if (rel_tx_alive(p->tx, now, &first, &next)) {
		rel_enc_alive(v, first, next);
		wire_put(&w, REL_TLV_ALIVE, v, REL_ALIVE_LEN);
		any = true;
	}
	if (!any)
		return;
	to = dsync_current_addr(d, n);
	dsync_send(d, &w, to, dsync_src(d, n, to));
	d->sync.ctrl_tx++;
}

/* --- configuration -------------------------------------------------------------- */

int dsync_open(struct daemon *d, char *err, size_t errlen)
{
	const struct cfg *c = d->cfg;

	d->chan = chan_open(c->sync_port, &c->sync_group, c->sync_ifname, err, errlen);
	return d->chan ? 0 : -1;
}

void dsync_close(struct daemon *d)
{
	chan_close(d->chan);
	d->chan = NULL;
	for (size_t i = 0; d->peers && i < d->n_known; i++) {
		rel_tx_free(d->peers[i].tx);
		rel_rx_free(d->peers[i].rx);
	}
	free(d->peers);
	free(d->replay);
	free(d->node_ids);
	free(d->bulk_pending);
	free(d->bulk_from);
	d->bulk_pending = d->bulk_from = NULL;
	d->peers = NULL;
	d->replay = NULL;
	d->node_ids = NULL;
	d->n_known = 0;
	if (d->cdat_ready)
		cdat_proto_free(&d->cdat);
	d->cdat_ready = false;
}

static void dsync_rel_cfg(const struct cfg *c, struct rel_cfg *rc)
{
	rel_cfg_default(rc);
	/* Resend after two heartbeats without an ACK; ALIVE every heartbeat
	 * when idle, so that a lost tail is noticed at heartbeat speed. */
	rc->rto_ms = 2 * c->heartbeat_ms;
	rc->alive_ms = c->heartbeat_ms;
	rc->ack_ms = c->heartbeat_ms / 2 ? c->heartbeat_ms / 2 : 1;
	rc->nack_ms = c->heartbeat_ms;
}

/* Our own adapter information, as the kernel has it (seed 001). */
static void dsync_own_adapters(struct daemon *d)
{
	const struct cfg_node *me = &d->cfg->nodes[d->cfg->self];

	for (size_t ai = 0; ai < me->n_addrs; ai++) {
		struct ifinfo inf;
		char err[128], ab[ADDR_STRLEN];

		if (ifinfo_lookup(&me->addrs[ai].ip, &inf, err, sizeof(err)) < 0) {
			log_warn("address %s of this node: %s", addr_fmt(&me->addrs[ai].ip, ab,
									   sizeof(ab)), err);
			continue;
		}
		cdat_proto_set_own(&d->cdat, ai, inf.prefix,
				   (uint16_t)(inf.mtu > 65535 ? 65535 : inf.mtu), inf.type);
	}
}

int dsync_config(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	size_t n = c->n_nodes ? c->n_nodes : 1;
	struct wire_replay *rp = calloc(n, sizeof(*rp));
	uint32_t *ids = calloc(n, sizeof(*ids));
	struct dsync_peer *peers = calloc(n, sizeof(*peers));
	bool *bp = calloc(n, sizeof(*bp)), *bf = calloc(n, sizeof(*bf));
	struct rel_cfg rc;
	uint64_t now = daemon_now_ms();

	if (!rp || !ids || !peers || !bp || !bf)
		goto nomem;
	dsync_rel_cfg(c, &rc);
	for (size_t i = 0; i < c->n_nodes; i++) {
		ids[i] = wire_node_id(c->nodes[i].name);
		/* Keep the replay window and the channel of nodes we knew. */
		for (size_t j = 0; d->node_ids && j < d->n_known; j++) {
			if (d->node_ids[j] != ids[i])
				continue;
			rp[i] = d->replay[j];
			peers[i] = d->peers[j];
			bp[i] = d->bulk_pending[j];
			bf[i] = d->bulk_from[j];
			d->peers[j].tx = NULL;
			d->peers[j].rx = NULL;
		}
		if ((long)i == c->self)
			continue;
		if (!peers[i].tx)
			peers[i].tx = rel_tx_new(&rc, d->epoch);
		if (!peers[i].rx)
			peers[i].rx = rel_rx_new(&rc);
		if (!peers[i].tx || !peers[i].rx)
			goto nomem;
	}
	for (size_t j = 0; d->peers && j < d->n_known; j++) {
		rel_tx_free(d->peers[j].tx);
		rel_rx_free(d->peers[j].rx);
	}
	free(d->replay);
	free(d->node_ids);
	free(d->peers);
	free(d->bulk_pending);
	free(d->bulk_from);
	d->replay = rp;
	d->node_ids = ids;
	d->peers = peers;
	d->bulk_pending = bp;
	d->bulk_from = bf;
	d->n_known = c->n_nodes;

	if (!d->cdat_ready) {
		if (cdat_proto_init_cfg(&d->cdat, c, now) < 0)
			return -1;
		d->cdat_ready = true;
	} else {
		struct cdat t;

		cdat_init(&t);
		if (cdat_from_cfg(&t, c) < 0 || cdat_proto_reload(&d->cdat, &t, now) < 0) {
			cdat_free(&t);
			return -1;
		}
		cdat_free(&t);
	}
	dsync_own_adapters(d);
	return 0;
nomem:
	if (peers)
		for (size_t i = 0; i < n; i++) {
			rel_tx_free(peers[i].tx);
			rel_rx_free(peers[i].rx);
		}
	free(rp);
	free(ids);
	free(peers);
	free(bp);
	free(bf);
	return -1;
}

/* --- heartbeats ---------------------------------------------------------------- */

static void dsync_put_listen(struct daemon *d, struct wire_writer *w)
{
	for (size_t i = 0; i < d->n_self_listen; i++) {
		const struct member_listen *ml = &d->self_listen[i];
		struct wire_listen wl = {
			.family = ml->family,
			.proto = ml->proto,
			.port = ml->port,
			.listening = ml->listening,
		};

		wire_put_listen(w, &wl);
	}
}

/* Encodes an address as the OWN / YIELD / SRC TLVs carry it. */
static void dsync_enc_addr(uint8_t v[WIRE_OWN_LEN], const struct ip_addr *a)
{
	memset(v, 0, WIRE_OWN_LEN);
	v[0] = a->family == AF_INET ? 4 : 6;
	memcpy(v + 4, a->b, 16);
}

/* What the ownership rule of the other nodes needs from us: are we ready
 * (holding the tables), are we leaving, which VIPAs do we distribute. */
static void dsync_put_roles(struct daemon *d, struct wire_writer *w)
{
	uint32_t f = (d->ready && !d->leaving ? WIRE_F_READY : 0) |
		     (d->leaving ? WIRE_F_LEAVING : 0);
	uint8_t v[4] = { (uint8_t)(f >> 24), (uint8_t)(f >> 16), (uint8_t)(f >> 8), (uint8_t)f };

	wire_put(w, WIRE_TLV_FLAGS, v, sizeof(v));
	for (size_t i = 0; d->vipas && i < d->cfg->n_vipas; i++) {
		const struct ip_addr *a = &d->cfg->vipas[i].addr;
		uint8_t own[WIRE_OWN_LEN];

		if (!d->vipas[i].owned && !d->vipas[i].yield)
			continue;
		dsync_enc_addr(own, a);
		if (d->vipas[i].owned)
			wire_put(w, WIRE_TLV_OWN, own, sizeof(own));
		if (d->vipas[i].yield)
			wire_put(w, WIRE_TLV_YIELD, own, sizeof(own));
	}
}

/* A node said it is leaving: count it down now rather than after misses,
 * without a vote (it said so itself). */
static void dsync_mark_down(struct daemon *d, size_t n)
{
	long ci = dsync_cdat_index(d, n);

	if (ci < 0)
		return;
	if (cdat_leaving(&d->cdat.cur, (size_t)ci, daemon_now_ms(), NULL))
		log_info("node %s is leaving the cluster", d->cdat.cur.nodes[ci].name);
}

/* The nodes we suspect (WIRE_TLV_SUSPECT): our vote on each.  In the room
 * the heartbeat has left before its ECHO; a list cut short only delays an
 * agreement (a missing vote is a "no"). */
static void dsync_put_suspects(struct daemon *d, struct wire_writer *w)
{
	const struct cdat *t = &d->cdat.cur;
	uint8_t v[CDAT_MAX_NODES * 4];
	size_t k = 0, room;

	if (!d->cdat_ready)
		return;
	room = w->cap > w->len + 2 * WIRE_TLV_HDR_LEN + ECHO_LEN + WIRE_MAC_LEN ?
	       w->cap - w->len - 2 * WIRE_TLV_HDR_LEN - ECHO_LEN - WIRE_MAC_LEN : 0;
	for (size_t i = 0; i < t->n && (k + 1) * 4 <= room && k < CDAT_MAX_NODES; i++) {
		uint32_t id;

		if (!t->nodes[i].suspected || !strcmp(t->nodes[i].name, d->cfg->node_name))
			continue;
		id = wire_node_id(t->nodes[i].name);
		v[4 * k] = (uint8_t)(id >> 24);
		v[4 * k + 1] = (uint8_t)(id >> 16);
		v[4 * k + 2] = (uint8_t)(id >> 8);
		v[4 * k + 3] = (uint8_t)id;
		k++;
	}
	/* Always present, even empty: "suspects nobody" is a vote too. */
	wire_put(w, WIRE_TLV_SUSPECT, v, (uint16_t)(4 * k));
}

/* Where a heartbeat or its answer comes from, under the MAC: the receiver
 * credits the path only if the datagram really comes from there (a copy
 * relayed from elsewhere says nothing about that path). */
static void dsync_put_src(struct wire_writer *w, const struct ip_addr *src)
{
	uint8_t v[WIRE_OWN_LEN];

	if (!src)
		return;
	dsync_enc_addr(v, src);
	wire_put(w, WIRE_TLV_SRC, v, sizeof(v));
}

/* The stated source (WIRE_TLV_SRC) is the datagram's real one. */
static bool dsync_src_ok(const struct wire_msg *m, const struct ip_addr *from)
{
	struct wire_tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	struct ip_addr src;

	wire_tlv_begin(&it, m);
	while (wire_tlv_next(&it, &type, &val, &vlen)) {
		if (type != WIRE_TLV_SRC || vlen != WIRE_OWN_LEN || (val[0] != 4 && val[0] != 6))
			continue;
		addr_from_bytes(&src, val[0] == 4 ? AF_INET : AF_INET6, val + 4);
		return addr_eq(&src, from);
	}
	return false;
}

static void dsync_heartbeat(struct daemon *d, size_t n, const struct ip_addr *to, uint8_t ai,
			    uint64_t now)
{
	uint8_t buf[WIRE_MAX], echo[ECHO_LEN] = { 0 };
	const struct ip_addr *src = dsync_src(d, n, to);
	struct wire_writer w;

	dsync_begin(d, &w, buf, sizeof(buf), WIRE_HEARTBEAT, n);
	dsync_put_src(&w, src);
	dsync_put_listen(d, &w);
	dsync_put_roles(d, &w);
	if (d->cdat_ready)
		cdat_put_summary(&w, d->cdat.cur.version, d->cdat.cur.digest);
	dsync_put_suspects(d, &w);
	for (int i = 0; i < 8; i++)
		echo[i] = (uint8_t)(now >> (56 - 8 * i));
	echo[8] = ai;
	wire_put(&w, WIRE_TLV_ECHO, echo, sizeof(echo));
	dsync_send(d, &w, to, src);
	d->sync.hb_tx++;
}

/* Heartbeats to every address of every node at the end of this round
 * (dsync_handshake): news that should not wait a heartbeat period. */
static void dsync_hb_all_soon(struct daemon *d)
{
	for (size_t n = 0; n < d->n_known; n++)
		d->peers[n].hb_soon = true;
}

static void dsync_handshake(struct daemon *d);

static void dsync_log_events(struct daemon *d, const struct cdat_events *ev, bool *changed)
{
	char ab[ADDR_STRLEN];

	for (size_t i = 0; i < ev->n; i++) {
		const struct cdat_event *e = &ev->ev[i];
		const struct cdat_node *cn = &d->cdat.cur.nodes[e->node];

		switch (e->kind) {
		case CDAT_EV_ADDR_DOWN:
			if (cn->addrs[e->addr].last_ok_ms)
				log_warn("node %s: address %s unreachable (silent for %llu ms)",
					 cn->name, addr_fmt(&cn->addrs[e->addr].ip, ab, sizeof(ab)),
					 (unsigned long long)(daemon_now_ms() -
							      cn->addrs[e->addr].last_ok_ms));
			else
				log_warn("node %s: address %s unreachable (never answered)",
					 cn->name, addr_fmt(&cn->addrs[e->addr].ip, ab, sizeof(ab)));
			break;
		case CDAT_EV_ADDR_UP:
			log_info("node %s: address %s reachable", cn->name,
				 addr_fmt(&cn->addrs[e->addr].ip, ab, sizeof(ab)));
			break;
		case CDAT_EV_NODE_SUSPECT:
			d->sync.suspected++;
			log_warn("node %s suspected: no address answers", cn->name);
			/* Our vote changed: tell the others now, not at the next
			 * heartbeat (agreement then costs a round trip). */
			dsync_hb_all_soon(d);
			break;
		case CDAT_EV_NODE_CLEAR:
			d->sync.suspect_cleared++;
			log_info("node %s answers again: no longer suspected", cn->name);
			dsync_hb_all_soon(d);
			break;
		case CDAT_EV_NODE_DOWN: {
			size_t voters = 0, votes = 0;

			d->sync.declared_down++;
			cdat_agreed(&d->cdat.cur, e->node, daemon_now_ms(), d->cfg->heartbeat_ms,
				    &voters, &votes);
			if (d->cdat.cur.n <= 2)
				log_warn("node %s is down: no address answers", cn->name);
			else
				log_warn("node %s is down: no address answers, %zu of %zu voters "
					 "agree (%llu ms after we suspected it)", cn->name, votes, voters,
					 (unsigned long long)(cn->down_since_ms - cn->suspected_since_ms));
			*changed = true;
			break;
		}
		case CDAT_EV_NODE_UP: {
			long n = cfg_node_index(d->cfg, cn->name);

			dsync_hb_all_soon(d);
			log_info("node %s is up", cn->name);
			/* Whatever it had of our table may be stale: send it all. */
			if (n >= 0 && (size_t)n < d->n_known)
				d->bulk_pending[n] = true;
			/* It may have held our VIPAs while we were apart, and the
			 * router may still send them there. */
			d->reannounce = true;
			*changed = true;
			break;
		}
		}
	}
}

/* Says when the adapter MTUs (the CDAT's) limit what goes to a node:
 * batches shrink to fit (dsync_state_body_max); below DSYNC_PATH_WARN some
 * messages (a CDAT entry, a long heartbeat) do not, and IP fragments them. */
static void dsync_check_paths(struct daemon *d)
{
	for (size_t n = 0; n < d->cfg->n_nodes && n < d->n_known; n++) {
		size_t m;

		if ((long)n == d->cfg->self || dsync_cdat_index(d, n) < 0)
			continue;
		m = dsync_path_max(d, n);
		if (m == d->peers[n].path_max)
			continue;
		if (m < DSYNC_PATH_WARN)
			log_warn("node %s: the adapter MTUs leave %zu bytes per cluster datagram, "
				 "below %d: some messages will be fragmented by IP", d->cfg->nodes[n].name,
				 m, DSYNC_PATH_WARN);
		else if (m < WIRE_MAX || d->peers[n].path_max)
			log_info("node %s: cluster datagrams of at most %zu bytes (adapter MTUs)",
				 d->cfg->nodes[n].name, m);
		d->peers[n].path_max = m;
	}
}

bool dsync_tick(struct daemon *d, bool force_hb)
{
	const struct cfg *c = d->cfg;
	uint64_t now = daemon_now_ms();
	struct cdat_out msgs[OUTBOX_CAP];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX_CAP };
	struct cdat_events ev;
	bool changed = false, hb_round = force_hb || now - d->last_hb_ms >= c->heartbeat_ms;

	if (hb_round)
		d->last_hb_ms = now;
	/* An MTU or prefix changed under us: the CDAT follows within a second
	 * (the protocol reports only what differs). */
	if (now - d->last_adapters_ms >= 1000) {
		d->last_adapters_ms = now;
		dsync_own_adapters(d);
		dsync_check_paths(d);
	}
	/* Count the misses first: an address whose heartbeat just timed out
	 * gets its next one in this same tick, so `retry` misses take `retry`
	 * timeouts and no more. */
	memset(&ev, 0, sizeof(ev));
	cdat_tick(&d->cdat.cur, now, c->heartbeat_ms, &ev);
	dsync_log_events(d, &ev, &changed);
	for (size_t n = 0; n < c->n_nodes; n++) {
		long ci;

		if ((long)n == c->self)
			continue;
		ci = dsync_cdat_index(d, n);
		if (ci < 0) {
			/* Not in the committed table yet (added by a reload):
			 * heartbeat its configured addresses without measuring. */
			if (hb_round)
				for (size_t ai = 0; ai < c->nodes[n].n_addrs; ai++)
					dsync_heartbeat(d, n, &c->nodes[n].addrs[ai].ip, NO_ADDR,
							now);
			continue;
		}
		for (size_t ai = 0; ai < d->cdat.cur.nodes[ci].n_addrs; ai++) {
			uint64_t slot = cdat_probe_due(&d->cdat.cur, (size_t)ci, ai, now,
						       c->heartbeat_ms, PROBE_EVERY);

			if (!slot)
				continue;
			dsync_heartbeat(d, n, &d->cdat.cur.nodes[ci].addrs[ai].ip, (uint8_t)ai,
					now);
			cdat_sent(&d->cdat.cur, (size_t)ci, ai, now, slot);
		}
		/* A listener changed: tell the node at once, unmeasured. */
		if (force_hb && dsync_current_addr(d, n))
			dsync_heartbeat(d, n, dsync_current_addr(d, n), NO_ADDR, now);
	}
	cdat_proto_tick(&d->cdat, now, &ob);
	dsync_flush_outbox(d, &ob);
	for (size_t n = 0; n < c->n_nodes; n++) {
		struct dsync_emit e = { .d = d, .node = n };

		if ((long)n == c->self || !d->peers[n].tx)
			continue;
		/* Until we know the node's boot epoch it would refuse whatever we
		 * send on the channel as unproven: the queue waits for the
		 * handshake (one heartbeat each way). */
		if (!d->peers[n].epoch_seen)
			continue;
		/* A node that is down gets nothing; its queue waits for it (or is
		 * replaced by a resync when it restarts). */
		if (dsync_node_alive(d, n))
			rel_tx_poll(d->peers[n].tx, now, dsync_emit_state, &e);
		if (dsync_node_alive(d, n) || dsync_leaving(d, n))
			dsync_send_ctrl(d, n, now);
	}
	dsync_handshake(d);
	return changed;
}

/* --- reception --------------------------------------------------------------------- */

static void dsync_answer(struct daemon *d, size_t n, const struct ip_addr *to,
			 const uint8_t *echo)
{
	uint8_t buf[WIRE_MAX];
	const struct ip_addr *src = dsync_src(d, n, to);
	struct wire_writer w;

	dsync_begin(d, &w, buf, sizeof(buf), WIRE_HEARTBEAT_ACK, n);
	dsync_put_src(&w, src);
	wire_put(&w, WIRE_TLV_ECHO, echo, ECHO_LEN);
	dsync_send(d, &w, to, src);
	d->sync.hb_ack_tx++;
}

static bool dsync_on_heartbeat(struct daemon *d, size_t n, const struct wire_msg *m,
			       const struct ip_addr *from)
{
	struct member_listen ls[MEMBER_MAX_LISTEN];
	const struct member_node *mn = &d->member.nodes[n];
	struct wire_tlv_iter it;
	const uint8_t *val, *echo = NULL;
	uint16_t type, vlen;
	size_t nl = 0;
	uint64_t version;
	uint8_t digest[CDAT_DIGEST_LEN];
	bool changed, credit;

	struct ip_addr owns[MEMBER_MAX_OWN], yields[MEMBER_MAX_OWN];
	size_t n_owns = 0, n_yields = 0, n_susp = 0;
	uint32_t susp[CDAT_MAX_NODES];
	bool has_susp = false;
	uint32_t flags = 0;
	bool restarted = mn->heard && mn->epoch != m->hdr.epoch;

	memset(ls, 0, sizeof(ls));	/* compared with memcmp below */
	wire_tlv_begin(&it, m);
	while (wire_tlv_next(&it, &type, &val, &vlen)) {
		struct wire_listen wl;

		if (type == WIRE_TLV_ECHO && vlen == ECHO_LEN) {
			echo = val;
		} else if (type == WIRE_TLV_FLAGS && vlen == 4) {
			flags = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 |
				(uint32_t)val[2] << 8 | val[3];
		} else if (type == WIRE_TLV_OWN && vlen == WIRE_OWN_LEN &&
			   (val[0] == 4 || val[0] == 6) && n_owns < MEMBER_MAX_OWN) {
			addr_from_bytes(&owns[n_owns++], val[0] == 4 ? AF_INET : AF_INET6,
					val + 4);
		} else if (type == WIRE_TLV_YIELD && vlen == WIRE_OWN_LEN &&
			   (val[0] == 4 || val[0] == 6) && n_yields < MEMBER_MAX_OWN) {
			addr_from_bytes(&yields[n_yields++], val[0] == 4 ? AF_INET : AF_INET6,
					val + 4);
		} else if (type == WIRE_TLV_SUSPECT && vlen % 4 == 0 && !has_susp) {
			has_susp = true;
			for (size_t k = 0; k < vlen / 4 && n_susp < CDAT_MAX_NODES; k++)
				susp[n_susp++] = (uint32_t)val[4 * k] << 24 |
						 (uint32_t)val[4 * k + 1] << 16 |
						 (uint32_t)val[4 * k + 2] << 8 | val[4 * k + 3];
		} else if (type == WIRE_TLV_LISTEN && nl < MEMBER_MAX_LISTEN &&
			   wire_get_listen(val, vlen, &wl)) {
			ls[nl].family = wl.family;	/* AF_INET / AF_INET6 in memory */
			ls[nl].proto = wl.proto;
			ls[nl].port = wl.port;
			ls[nl].listening = wl.listening;
			nl++;
		}
	}
	/* The MAC vouches for the stated source, the network for the real one:
	 * only when they agree does this heartbeat say anything about the
	 * path (a copy relayed from elsewhere must not make a cut path look
	 * alive). */
	credit = dsync_src_ok(m, from);
	if (!credit)
		d->sync.hb_src_mismatch++;
	/* A leaving node is not answered: it must stay down for us. */
	if (flags & WIRE_F_LEAVING) {
		dsync_mark_down(d, n);
		echo = NULL;
	} else if (d->leaving || !credit) {
		echo = NULL;	/* nor do we answer while we leave */
	}
	/* Answer from where it came: the answer measures that path. */
	if (echo)
		dsync_answer(d, n, from, echo);
	/* And its heartbeat is itself news that the path from that address
	 * works (unless it is leaving: then it stays down). */
	if (credit && !(flags & WIRE_F_LEAVING) && d->cdat_ready) {
		long ci = dsync_cdat_index(d, n);
		size_t cn, ai;

		if (ci >= 0 && cdat_find_addr(&d->cdat.cur, from, &cn, &ai) && (long)cn == ci) {
			struct cdat_events ev;
			bool up = false;

			memset(&ev, 0, sizeof(ev));
			cdat_heard(&d->cdat.cur, cn, ai, daemon_now_ms(), &ev);
			dsync_log_events(d, &ev, &up);
			if (up)
				d->view_dirty = true;
		}
	}
	if (restarted) {
		/* It lost its tables: it gets ours again. */
		log_info("node %s restarted", d->cfg->nodes[n].name);
		d->bulk_pending[n] = true;
		d->bulk_from[n] = false;
	} else if (!mn->heard) {
		/* First word from it since we started: it may be starting too,
		 * and waits for our table before it may distribute. */
		d->bulk_pending[n] = true;
	}
	if (d->cdat_ready && cdat_get_summary(m->body, m->body_len, &version, digest))
		cdat_proto_heard(&d->cdat, d->cfg->nodes[n].name, version, digest,
				 daemon_now_ms());
	/* Its vote: a proven heartbeat (this one: unproven ones never get
	 * here), relayed or not, says what its sender suspects.  A heartbeat
	 * without the TLV (a node that does not vote) counts as suspecting
	 * nobody. */
	if (d->cdat_ready && !(flags & WIRE_F_LEAVING)) {
		long ci = dsync_cdat_index(d, n);
		struct cdat_events ev;
		bool down = false;

		memset(&ev, 0, sizeof(ev));
		if (ci >= 0)
			cdat_set_suspects(&d->cdat.cur, (size_t)ci, susp, n_susp, daemon_now_ms(),
					  d->cfg->heartbeat_ms, &ev);
		dsync_log_events(d, &ev, &down);
		if (down)
			d->view_dirty = true;
	}
	changed = !mn->heard || mn->n_listen != nl || memcmp(mn->listen, ls, nl * sizeof(*ls)) ||
		  mn->flags != flags || mn->n_owns != n_owns ||
		  memcmp(mn->owns, owns, n_owns * sizeof(*owns)) || mn->n_yields != n_yields ||
		  memcmp(mn->yields, yields, n_yields * sizeof(*yields));
	member_heard(&d->member, n, m->hdr.epoch, daemon_now_ms(), ls, nl);
	d->member.nodes[n].flags = flags;
	memcpy(d->member.nodes[n].owns, owns, n_owns * sizeof(*owns));
	d->member.nodes[n].n_owns = n_owns;
	memcpy(d->member.nodes[n].yields, yields, n_yields * sizeof(*yields));
	d->member.nodes[n].n_yields = n_yields;
	return changed;
}

static bool dsync_on_heartbeat_ack(struct daemon *d, size_t n, const struct wire_msg *m,
				   const struct ip_addr *from)
{
	struct wire_tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	struct cdat_events ev;
	bool changed = false;
	long ci = dsync_cdat_index(d, n);

	d->sync.hb_ack_rx++;
	/* An answer relayed from another address did not travel the path it
	 * would measure. */
	if (!dsync_src_ok(m, from)) {
		d->sync.hb_src_mismatch++;
		return false;
	}
	if (ci < 0)
		return false;
	memset(&ev, 0, sizeof(ev));
	wire_tlv_begin(&it, m);
	while (wire_tlv_next(&it, &type, &val, &vlen)) {
		uint64_t sent = 0, now = daemon_now_ms();

		if (type != WIRE_TLV_ECHO || vlen != ECHO_LEN || val[8] == NO_ADDR ||
		    val[8] >= d->cdat.cur.nodes[ci].n_addrs)
			continue;
		for (int i = 0; i < 8; i++)
			sent = sent << 8 | val[i];
		/* An answer from the future or older than our start is forged or
		 * stale: the MAC vouches for the sender, not for its echo. */
		if (sent > now)
			continue;
		cdat_answered(&d->cdat.cur, (size_t)ci, val[8], sent, now, &ev);
	}
	dsync_log_events(d, &ev, &changed);
	return changed;
}

static void dsync_on_ctrl(struct daemon *d, size_t n, const struct wire_msg *m,
			  struct cdat_outbox *ob)
{
	struct dsync_peer *p = &d->peers[n];
	struct dsync_emit e = { .d = d, .node = n };
	struct dsync_deliver dl = { .d = d, .node = n, .ob = ob };
	struct wire_tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	uint64_t now = daemon_now_ms(), a, b, c;

	wire_tlv_begin(&it, m);
	while (wire_tlv_next(&it, &type, &val, &vlen)) {
		if (type == REL_TLV_ACK && rel_dec_ack(val, vlen, &a, &b)) {
			rel_tx_ack(p->tx, m->hdr.epoch, a, b);
		} else if (type == REL_TLV_NACK && rel_dec_nack(val, vlen, &a, &b, &c)) {
			if (rel_tx_nack(p->tx, m->hdr.epoch, a, b, c, now, dsync_emit_state, &e) ==
			    REL_NACK_RESYNC && !rel_tx_resyncing(p->tx)) {
				/* The peer lost what we had queued (it restarted): our
				 * state is the CDAT, which the coordinator re-proposes
				 * when the peer's digest differs. */
				rel_tx_resync(p->tx);
				d->bulk_pending[n] = true;	/* and our table again */
			}
		} else if (type == REL_TLV_ALIVE && rel_dec_alive(val, vlen, &a, &b)) {
			rel_rx_alive(p->rx, m->hdr.epoch, a, b, now, dsync_deliver_state, &dl);
		}
	}
}

static void dsync_on_state(struct daemon *d, size_t n, const struct wire_msg *m,
			   struct cdat_outbox *ob)
{
	struct dsync_deliver dl = { .d = d, .node = n, .ob = ob };
	struct wire_tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	uint8_t blob[REL_BODY_MAX + 1];
	uint64_t seq;
	size_t rest;

	/* After the sender's NODE comes the reliable sequence number; the rest
	 * is the body. */
	wire_tlv_begin(&it, m);
	do {
		if (!wire_tlv_next(&it, &type, &val, &vlen))
			type = 0;
	} while (type == WIRE_TLV_NODE);
	if (type != REL_TLV_SEQ || !rel_dec_seq(val, vlen, &seq)) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	rest = m->body_len - (size_t)(it.p - m->body);
	if (rest + 1 > sizeof(blob)) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	blob[0] = m->hdr.type;
	memcpy(blob + 1, it.p, rest);
	rel_rx_input(d->peers[n].rx, m->hdr.epoch, seq, blob, rest + 1, daemon_now_ms(),
		     dsync_deliver_state, &dl);
}

/* Is a an address of some configured node?  A few nodes of a few addresses:
 * a scan costs less than the MAC it saves. */
static bool dsync_node_addr(const struct cfg *c, const struct ip_addr *a)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		for (size_t k = 0; k < c->nodes[i].n_addrs; k++)
			if (addr_eq(&c->nodes[i].addrs[k].ip, a))
				return true;
	return false;
}

/* An authenticated datagram for us told the sender's boot epoch: remember
 * the highest (a replayed old one must not lower it), and answer a new one
 * with a heartbeat at once, so that the sender learns ours within a round
 * trip and its next datagrams are proven. */
static void dsync_learn_epoch(struct daemon *d, size_t n, uint64_t epoch)
{
	if (epoch > d->peers[n].epoch_seen) {
		d->peers[n].epoch_seen = epoch;
		d->peers[n].hb_soon = true;
	}
}

static bool dsync_handle(struct daemon *d, const uint8_t *buf, size_t len,
			 const struct ip_addr *from, struct cdat_outbox *ob)
{
	const struct cfg *c = d->cfg;
	struct wire_msg m;
	enum wire_status st;
	long n = -1;

	/* Before any MAC: a flood from elsewhere costs a scan, not two MACs
	 * (the nftables table drops it before the socket too). */
	if (!dsync_node_addr(c, from)) {
		d->sync.foreign_source++;
		return false;
	}
	st = wire_decode(buf, len, &d->keys, &m);
	if (st != WIRE_OK) {
		d->sync.rejected[st]++;
		log_rl(&dsync_rl, 5, LOG_WARNING, "cluster message rejected: %s",
		       wire_status_name(st));
		return false;
	}
	for (size_t i = 0; i < c->n_nodes; i++)
		if (d->node_ids[i] == m.hdr.sender)
			n = (long)i;
	if (n < 0 || n == c->self) {
		d->sync.unknown_sender++;
		return false;
	}
	st = wire_check_recipient(&m.hdr, d->node_ids[c->self], d->epoch);
	if (st == WIRE_OK)
		st = wire_replay_check(&d->replay[n], m.hdr.epoch, m.hdr.seq);
	if (st != WIRE_OK) {
		d->sync.rejected[st]++;
		/* For an earlier boot of ours: the sender has not heard from this
		 * one (normal for a round trip after our restart: not worth a
		 * warning).  Its own epoch is authentic (and only raised):
		 * learning it lets our answer be proven at once, even if a
		 * replay taught us an older epoch of the sender first. */
		if (st == WIRE_ERR_STALE_RECIPIENT_EPOCH) {
			dsync_learn_epoch(d, (size_t)n, m.hdr.epoch);
			return false;
		}
		log_rl(&dsync_rl, 5, LOG_WARNING, "cluster message from %s rejected: %s",
		       c->nodes[n].name, wire_status_name(st));
		return false;
	}
	wire_replay_accept(&d->replay[n], m.hdr.epoch, m.hdr.seq);
	d->sync.rx++;
	dsync_learn_epoch(d, (size_t)n, m.hdr.epoch);
	/* Not echoing our boot epoch: the sender has not heard from this boot
	 * of ours, so this may be a recording replayed after our restart.  It
	 * taught us the sender's epoch and nothing else counts: no flags, no
	 * claims, no reachability, no channel, no state. */
	if (!wire_proven(&m.hdr, d->epoch)) {
		d->sync.unproven++;
		return false;
	}
	switch (m.hdr.type) {
	case WIRE_HEARTBEAT:
		return dsync_on_heartbeat(d, (size_t)n, &m, from);
	case WIRE_HEARTBEAT_ACK:
		return dsync_on_heartbeat_ack(d, (size_t)n, &m, from);
	case WIRE_REL_CTRL:
		dsync_on_ctrl(d, (size_t)n, &m, ob);
		return false;
	default:
		if (m.hdr.type >= WIRE_STATE_MIN && m.hdr.type <= WIRE_STATE_MAX)
			dsync_on_state(d, (size_t)n, &m, ob);
		return false;
	}
}

/* Heartbeats (unmeasured) to every address of the nodes whose epoch we just
 * learnt: the handshake takes a round trip, not a heartbeat interval. */
static void dsync_handshake(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	uint64_t now = daemon_now_ms();

	for (size_t n = 0; n < c->n_nodes && n < d->n_known; n++) {
		if (!d->peers[n].hb_soon)
			continue;
		d->peers[n].hb_soon = false;
		if ((long)n == c->self)
			continue;
		for (size_t ai = 0; ai < c->nodes[n].n_addrs; ai++)
			dsync_heartbeat(d, n, &c->nodes[n].addrs[ai].ip, NO_ADDR, now);
	}
}

bool dsync_receive(struct daemon *d)
{
	uint8_t buf[WIRE_MAX + 64];
	struct cdat_out msgs[OUTBOX_CAP];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX_CAP };
	struct ip_addr from;
	bool changed = false;

	for (int i = 0; i < 256; i++) {
		ssize_t n = chan_recv(d->chan, buf, sizeof(buf), &from);

		if (n <= 0)
			break;
		changed |= dsync_handle(d, buf, (size_t)n, &from, &ob);
		if (ob.n > OUTBOX_CAP / 2)
			dsync_flush_outbox(d, &ob);
	}
	dsync_flush_outbox(d, &ob);
	dsync_handshake(d);
	return changed;
}
