/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ifinfo.h"
#include "daemon/log.h"
#include "common/alloc.h"
#include "daemon/dsync.h"
#include "daemon/subsys.h"
#include "sync/hbgroup.h"

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
	return d->peers[n].mn.heard && (d->peers[n].mn.flags & WIRE_F_LEAVING);
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

	if (n >= d->n_peers)
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
		.sender = d->peers[d->cfg->self].id,
		.epoch = d->epoch,
		/* One sequence number per datagram keeps replay windows exact.
		 * One counter for all peers is enough: the recipient is under
		 * the MAC, so each peer's window sees only its own datagrams
		 * (with gaps, which a window accepts). */
		.seq = ++d->seq,
		.recipient = d->peers[to].id,
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
	tlv_put_tlvs(&w.body, b + 1, len - 1);	/* the body, already encoded */
	to = dsync_current_addr(d, e->node);
	dsync_send(d, &w, to, dsync_src(d, e->node, to));
	d->sync.state_tx++;
}

int dsync_send_state(struct daemon *d, size_t node, uint8_t type, const uint8_t *body,
		     size_t len)
{
	uint8_t blob[REL_BODY_MAX];

	if (node >= d->n_peers || !d->peers[node].tx || len + 1 > sizeof(blob))
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

/* A state message, in order: to the subsystem that registered its type. */
static void dsync_deliver_state(void *arg, uint64_t seq, const void *blob, size_t len)
{
	struct dsync_deliver *dl = arg;
	struct daemon *d = dl->d;
	const uint8_t *b = blob;
	const struct subsys *s;

	(void)seq;
	if (len < 1)
		return;
	d->sync.state_rx++;
	s = subsys_for_type(d->subsys, d->n_subsys, b[0]);
	if (s && s->input)
		s->input(d, dl->node, b[0], b + 1, len - 1);
}

/* The CDAT protocol's messages (this subsystem's input hook); its answers
 * go out on the reliable channels at once. */
static void dsync_cdat_input(struct daemon *d, size_t node, uint8_t type, const uint8_t *b,
			     size_t len)
{
	struct cdat_out msgs[OUTBOX_CAP];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX_CAP };
	uint64_t before = d->cdat.cur.version;
	int r;

	r = cdat_proto_input(&d->cdat, d->peers[node].name, type, b, len, daemon_now_ms(), &ob);
	if (r < 0 && r != CDAT_ERR_STALE) {
		d->sync.cdat_errors++;
		log_rl(&dsync_rl_cdat, 5, LOG_WARNING, "CDAT message from %s refused: %s",
		       d->peers[node].name, cdat_err_name(r));
	}
	if (d->cdat.cur.version != before)
		log_info("CDAT version %llu committed (coordinator %s)",
			 (unsigned long long)d->cdat.cur.version,
			 cdat_proto_coordinator(&d->cdat) >= 0 ?
			 d->cdat.cur.nodes[cdat_proto_coordinator(&d->cdat)].name : "?");
	dsync_flush_outbox(d, &ob);
}

static bool dsync_group_alive_defer(struct daemon *d, size_t n, uint64_t now);

static void dsync_send_ctrl(struct daemon *d, size_t n, uint64_t now)
{
	struct peer *p = &d->peers[n];
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
	if (!dsync_group_alive_defer(d, n, now) && rel_tx_alive(p->tx, now, &first, &next)) {
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

static int dsync_group_open(struct daemon *d, char *err, size_t errlen);
static void dsync_group_close(struct daemon *d);

int dsync_open(struct daemon *d, char *err, size_t errlen)
{
	const struct cfg *c = d->cfg;

	d->chan = chan_open(c->sync_port, &c->sync_group, c->sync_ifname, err, errlen);
	if (!d->chan)
		return -1;
	if (dsync_group_open(d, err, errlen) < 0) {
		chan_close(d->chan);
		d->chan = NULL;
		return -1;
	}
	return 0;
}

void dsync_close(struct daemon *d)
{
	/* The channels live in the peer table (daemon/peer.h), freed with it. */
	dsync_group_close(d);
	chan_close(d->chan);
	d->chan = NULL;
	if (d->cdat_ready)
		cdat_proto_free(&d->cdat);
	d->cdat_ready = false;
	if (d->cdat_pending_set)
		cdat_free(&d->cdat_pending);
	d->cdat_pending_set = false;
}

/* A reload's table into the CDAT protocol (the coordinator proposes it).
 * cdat_proto_reload copies it, which may fail: then the table waits in
 * cdat_pending and the next try is a second later (dsync_own_adapters);
 * meanwhile the committed table rules, as it does anyway until the
 * coordinator commits the new one. */
static void dsync_cdat_reload(struct daemon *d)
{
	if (!d->cdat_pending_set)
		return;
	if (cdat_proto_reload(&d->cdat, &d->cdat_pending, daemon_now_ms()) < 0) {
		log_rl(&dsync_rl_cdat, 1, LOG_WARNING, "CDAT: out of memory taking the reloaded "
		       "node list (retrying)");
		return;
	}
	cdat_free(&d->cdat_pending);
	d->cdat_pending_set = false;
}

/* Our own adapter information, as the kernel has it (cdat, doc/architecture.md). */
static void dsync_own_adapters(struct daemon *d)
{
	const struct cfg_node *me = &d->cfg->nodes[d->cfg->self];

	dsync_cdat_reload(d);

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

/* --- the subsystem: the CDAT follows the configuration ------------------------ */

struct dsync_prep {
	bool init;			/* first load: a whole protocol state */
	struct cdat_proto proto;	/* init */
	struct cdat table;		/* reload: the file's nodes and addresses */
	uint8_t cfg_digest[CFGDIGEST_LEN];	/* of the new configuration */
};

static void dsync_cfg_check(struct daemon *d, size_t n, bool news);

static int dsync_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			 size_t len)
{
	struct dsync_prep *p = cd_calloc(1, sizeof(*p));
	int r;

	if (!p) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	cdat_init(&p->table);
	p->init = !d->cdat_ready;
	cfgdigest_compute(nc, p->cfg_digest);
	if (cd_alloc_fault())
		r = CDAT_ERR_NOMEM;
	else if (p->init)
		r = cdat_proto_init_cfg(&p->proto, nc, daemon_now_ms());
	else
		r = cdat_from_cfg(&p->table, nc);
	if (r < 0) {
		if (!p->init)
			cdat_free(&p->table);
		free(p);
		if (r == CDAT_ERR_LIMIT)
			snprintf(err, len, "the cluster destination address table holds at most %d "
				 "nodes of %d addresses each", CDAT_MAX_NODES, CDAT_MAX_ADDRS);
		else
			snprintf(err, len, "the cluster destination address table: %s",
				 cdat_err_name(r));
		return -1;
	}
	*prep = p;
	return 0;
}

static void dsync_abort(struct daemon *d, void *prep)
{
	struct dsync_prep *p = prep;

	(void)d;
	if (p->init)
		cdat_proto_free(&p->proto);
	else
		cdat_free(&p->table);
	free(p);
}

static void dsync_commit(struct daemon *d, void *prep)
{
	struct dsync_prep *p = prep;

	if (p->init) {
		d->cdat = p->proto;
		d->cdat_ready = true;
	} else {
		/* A newer file supersedes a table still waiting. */
		if (d->cdat_pending_set)
			cdat_free(&d->cdat_pending);
		d->cdat_pending = p->table;
		d->cdat_pending_set = true;
	}
	/* Our digest follows the file: every peer is measured against the new
	 * one (the peer table committed before us, its digests carried). */
	if (memcmp(d->cfg_digest, p->cfg_digest, CFGDIGEST_LEN)) {
		memcpy(d->cfg_digest, p->cfg_digest, CFGDIGEST_LEN);
		for (size_t n = 0; n < d->n_peers; n++)
			dsync_cfg_check(d, n, true);
	}
	free(p);
	dsync_own_adapters(d);	/* takes the pending table first */
}

static const uint8_t dsync_types[] = {
	CDAT_MSG_REPORT, CDAT_MSG_PROPOSE, CDAT_MSG_ACK, CDAT_MSG_COMMIT,
};

/* The reliable channel's counters summed over the peers: direction, field of
 * struct rel_stats, name under "sync.reliable.". */
#define DSYNC_REL_STATS(X)                                                          \
	X(tx, pushed, "queued") X(tx, sent, "sent") X(tx, resent, "resent")        \
	X(tx, acked, "acked") X(tx, nacks_recv, "nacks_received")                 \
	X(tx, resyncs, "resyncs") X(rx, delivered, "delivered")                   \
	X(rx, dups, "duplicates") X(rx, out_of_order, "out_of_order")             \
	X(rx, restarts, "peer_restarts") X(rx, nacks_sent, "nacks_sent")          \
	X(rx, acks_sent, "acks_sent")

enum {
#define DSYNC_REL_ENUM(dir, f, name) DSYNC_REL_##dir##_##f,
	DSYNC_REL_STATS(DSYNC_REL_ENUM)
#undef DSYNC_REL_ENUM
	DSYNC_REL__MAX
};

/* The sync subsystem's counters: struct sync_stats (SYNC_STATS_LIST) and the
 * reliable channels, under "sync.". */
static void dsync_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	uint64_t rel[DSYNC_REL__MAX] = { 0 };
	char name[96];

#define DSYNC_SYNC_FIELD(f, n) emit(arg, "sync." n, d->sync.f);
#define DSYNC_SYNC_ARRAY(f, cnt, n)                                                       \
	for (int k = 1; k < (cnt); k++) {                                               \
		snprintf(name, sizeof(name), "sync." n ".%s",                           \
			 wire_status_name((enum wire_status)k));                        \
		emit(arg, name, d->sync.f[k]);                                          \
	}
	SYNC_STATS_LIST(DSYNC_SYNC_FIELD, DSYNC_SYNC_ARRAY)
#undef DSYNC_SYNC_FIELD
#undef DSYNC_SYNC_ARRAY
	for (size_t n = 0; n < d->n_peers; n++) {
		const struct rel_stats *tx, *rx;

		if (!d->peers[n].tx || !d->peers[n].rx)
			continue;
		tx = rel_tx_stats(d->peers[n].tx);
		rx = rel_rx_stats(d->peers[n].rx);
#define DSYNC_REL_SUM(dir, f, n) rel[DSYNC_REL_##dir##_##f] += dir->f;
		DSYNC_REL_STATS(DSYNC_REL_SUM)
#undef DSYNC_REL_SUM
	}
#define DSYNC_REL_EMIT(dir, f, n) emit(arg, "sync.reliable." n, rel[DSYNC_REL_##dir##_##f]);
	DSYNC_REL_STATS(DSYNC_REL_EMIT)
#undef DSYNC_REL_EMIT
}

/* The loop's tick: heartbeats now when d->hb_now asks (a listener or a
 * claim changed, we leave), and the view follows a node going or coming. */
static void dsync_tick_hook(struct daemon *d, uint64_t now, uint64_t *next)
{
	bool force = d->hb_now;

	(void)now;	/* dsync_tick reads the clock itself */
	d->hb_now = false;
	if (dsync_tick(d, force, next))
		d->view_dirty = true;
}

const struct subsys dsync_subsys = {
	.name = "sync",
	.types = dsync_types,
	.n_types = sizeof(dsync_types),
	.prepare = dsync_prepare,
	.commit = dsync_commit,
	.abort = dsync_abort,
	.input = dsync_cdat_input,
	.tick = dsync_tick_hook,
	.stats = dsync_stats,
};

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
	room = wire_room(w) > 2 * TLV_HDR_LEN + ECHO_LEN ?
	       wire_room(w) - 2 * TLV_HDR_LEN - ECHO_LEN : 0;
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
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	struct ip_addr src;

	wire_tlv_begin(&it, m);
	while (tlv_next(&it, &type, &val, &vlen)) {
		if (type != WIRE_TLV_SRC || vlen != WIRE_OWN_LEN || (val[0] != 4 && val[0] != 6))
			continue;
		addr_from_bytes(&src, val[0] == 4 ? AF_INET : AF_INET6, val + 4);
		return addr_eq(&src, from);
	}
	return false;
}

/* What every heartbeat says, unicast or group: where we listen, our roles,
 * the CDAT summary, our suspicions, and ECHO: our send time (ms) and which
 * address ai of the recipient (unicast) or of ours (group) it is for. */
static void dsync_put_hb_body(struct daemon *d, struct wire_writer *w, uint64_t now, uint8_t ai)
{
	uint8_t echo[ECHO_LEN] = { 0 };

	dsync_put_listen(d, w);
	dsync_put_roles(d, w);
	/* Before the suspects, which take the room left. */
	wire_put(w, WIRE_TLV_CFGDIGEST, d->cfg_digest, CFGDIGEST_LEN);
	if (d->cdat_ready)
		cdat_put_summary(&w->body, d->cdat.cur.version, d->cdat.cur.digest);
	dsync_put_suspects(d, w);
	for (int i = 0; i < 8; i++)
		echo[i] = (uint8_t)(now >> (56 - 8 * i));
	echo[8] = ai;
	wire_put(w, WIRE_TLV_ECHO, echo, sizeof(echo));
}

static void dsync_heartbeat(struct daemon *d, size_t n, const struct ip_addr *to, uint8_t ai,
			    uint64_t now)
{
	uint8_t buf[WIRE_MAX];
	const struct ip_addr *src = dsync_src(d, n, to);
	struct wire_writer w;

	dsync_begin(d, &w, buf, sizeof(buf), WIRE_HEARTBEAT, n);
	dsync_put_src(&w, src);
	dsync_put_hb_body(d, &w, now, (uint8_t)ai);
	dsync_send(d, &w, to, src);
	d->sync.hb_tx++;
}

/* Heartbeats to every address of every node at the end of this round
 * (dsync_handshake): news that should not wait a heartbeat period. */
static void dsync_hb_all_soon(struct daemon *d)
{
	for (size_t n = 0; n < d->n_peers; n++)
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
			if (n >= 0)
				d->peers[n].bulk_pending = true;
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
	for (size_t n = 0; n < d->n_peers; n++) {
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

static void dsync_lower(uint64_t *next, uint64_t t)
{
	if (t < *next)
		*next = t;
}

/* --- multicast heartbeats (sync/hbgroup.h) --------------------------------------- */

/* Echo entries one group heartbeat carries at most (the rest rotate), and
 * the size its echoes do not push it past. */
#define GROUP_ECHO_MAX 96
#define GROUP_DGRAM_MAX WIRE_MAX
#define DSYNC_GALIVE_LEN (4 + REL_ALIVE_LEN)

/* A state message a round emitted to a covered peer: [type][body] (as
 * queued), for node `node` with its reliable seq. */
#define GSTATE_MAX 64
struct dsync_gstate {
	size_t node;
	uint64_t seq;
	size_t len;
	uint8_t blob[REL_BODY_MAX];
};

/* Where cluster.sync.group is set: one heartbeat per own address and period
 * to the group, out of that address's interface; the receivers echo it in
 * their own next group heartbeat.  A peer address whose group heartbeats we
 * have heard within the dead interval is covered: our group heartbeat counts
 * as the one sent to it (cdat_sent) and its echo as the answer
 * (cdat_answered); any other address gets today's unicast heartbeat and
 * HEARTBEAT_ACK (routed subnets, a switch that drops multicast). */
struct dsync_group {
	struct ip_addr group;
	int only_if;			/* cluster.sync.interface's index; 0: any */
	int ifindex[HBG_MAX_ADDRS];	/* of our own addresses; 0: none (yet) */
	const struct cfg *cfg;		/* the configuration hbg is indexed by */
	struct hbg hbg;
	/* The datagram being handled: where it arrived. */
	int rx_ifindex;
	/* Per node (config index): the sender epoch of the last ALIVE handed
	 * to its receiving channel from a group heartbeat. */
	uint64_t alive_epoch[CDAT_MAX_NODES];
	/* Per node: the last round had room for its channel's ALIVE. */
	bool alive_round[CDAT_MAX_NODES];
	/* The last round: interfaces it went out of. */
	int sent_if[HBG_MAX_ADDRS];
	size_t n_sent_if;
	/* State messages of one round of the reliable channels, held until
	 * the round is over to send the ones alike once (dsync_gstate_*). */
	struct dsync_gstate st[GSTATE_MAX];
	size_t n_st;
	size_t st_ai;		/* our address (and its interface) they go from */
};

static uint64_t dsync_dead_ms(const struct cfg *c)
{
	return (uint64_t)(c->retry_threshold + 1) * c->heartbeat_ms;
}

/* The interfaces of our own addresses, joined to the group (once a second:
 * an address may come later, an interface may be renamed or recreated). */
static void dsync_group_refresh(struct daemon *d)
{
	struct dsync_group *g = d->group;
	const struct cfg_node *me;

	if (!g || d->cfg->self < 0)
		return;
	me = &d->cfg->nodes[d->cfg->self];
	for (size_t ai = 0; ai < HBG_MAX_ADDRS; ai++) {
		struct ifinfo inf;
		char err[128];
		int idx = 0;

		if (ai < me->n_addrs && me->addrs[ai].ip.family == g->group.family &&
		    ifinfo_lookup(&me->addrs[ai].ip, &inf, err, sizeof(err)) == 0)
			idx = (int)if_nametoindex(inf.ifname);
		if (g->only_if && idx != g->only_if)
			idx = 0;	/* cluster.sync.interface: that one only */
		if (idx && idx != g->ifindex[ai] &&
		    chan_join(d->chan, &g->group, idx, err, sizeof(err)) < 0) {
			log_rl(&dsync_rl, 5, LOG_WARNING, "%s", err);
			idx = 0;
		}
		g->ifindex[ai] = idx;
	}
}

static int dsync_group_open(struct daemon *d, char *err, size_t errlen)
{
	const struct cfg *c = d->cfg;
	struct dsync_group *g;

	d->group = NULL;
	if (!c->sync_group.family)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "sync: out of memory");
		return -1;
	}
	g->group = c->sync_group;
	if (c->sync_ifname[0])
		g->only_if = (int)if_nametoindex(c->sync_ifname);
	d->group = g;
	dsync_group_refresh(d);
	return 0;
}

static void dsync_group_close(struct daemon *d)
{
	if (!d->group)
		return;
	hbg_free(&d->group->hbg);
	free(d->group);
	d->group = NULL;
}

/* The table follows the configuration's node indexes: a reload starts it
 * afresh (a period of unicast fallback, nothing worse). */
static bool dsync_group_ready(struct daemon *d)
{
	struct dsync_group *g = d->group;

	if (!g)
		return false;
	if (g->cfg != d->cfg) {
		hbg_free(&g->hbg);
		/* The arrays indexed by node (ids, alive_*) hold CDAT_MAX_NODES,
		 * the most a CDAT takes. */
		if (hbg_init(&g->hbg, d->cfg->n_nodes < CDAT_MAX_NODES ? d->cfg->n_nodes :
			     CDAT_MAX_NODES) < 0) {
			g->cfg = NULL;
			return false;
		}
		g->cfg = d->cfg;
		memset(g->alive_epoch, 0, sizeof(g->alive_epoch));
	}
	return true;
}

/* Does the group reach address ai (CDAT index) of node n (config index)?
 * *ifindex: where its heartbeats arrive. */
static bool dsync_group_covers(struct daemon *d, size_t n, size_t ai, uint64_t now, int *ifindex)
{
	if (!dsync_group_ready(d))
		return false;
	return hbg_covered(&d->group->hbg, n, ai, now, dsync_dead_ms(d->cfg), ifindex);
}

/* Every address of node n (in the CDAT) is covered. */
static bool dsync_group_covers_node(struct daemon *d, size_t n, uint64_t now)
{
	long ci = dsync_cdat_index(d, n);

	if (ci < 0 || !d->cdat.cur.nodes[ci].n_addrs)
		return false;
	for (size_t ai = 0; ai < d->cdat.cur.nodes[ci].n_addrs; ai++)
		if (!dsync_group_covers(d, n, ai, now, NULL))
			return false;
	return true;
}

static bool dsync_group_sent_on(const struct dsync_group *g, int ifindex)
{
	for (size_t i = 0; i < g->n_sent_if; i++)
		if (g->sent_if[i] == ifindex)
			return true;
	return false;
}

/* Does the group reach some address of node n through interface ifindex? */
static bool dsync_group_reaches(struct daemon *d, size_t n, int ifindex, uint64_t now)
{
	long ci = dsync_cdat_index(d, n);
	int gif;

	for (size_t ai = 0; ci >= 0 && ai < d->cdat.cur.nodes[ci].n_addrs; ai++)
		if (dsync_group_covers(d, n, ai, now, &gif) && gif == ifindex)
			return true;
	return false;
}

/* The largest group datagram every peer's path carries (the CDAT's adapter
 * MTUs: a bridge does not fragment), below GROUP_DGRAM_MAX.  Only what may
 * wait (echoes, ALIVEs) is cut to it; the rest is what a heartbeat is. */
static size_t dsync_group_lim(const struct daemon *d)
{
	size_t lim = GROUP_DGRAM_MAX;

	for (size_t n = 0; n < d->cfg->n_nodes; n++) {
		size_t m;

		if ((long)n == d->cfg->self)
			continue;
		m = dsync_path_max(d, n);
		if (m < lim)
			lim = m;
	}
	return lim;
}

/* Value bytes one more TLV may take in w and stay within lim bytes. */
static size_t dsync_group_room(const struct wire_writer *w, size_t lim)
{
	size_t used = WIRE_HDR_LEN + w->body.len + WIRE_MAC_LEN + TLV_HDR_LEN;
	size_t room = wire_room(w) > TLV_HDR_LEN ? wire_room(w) - TLV_HDR_LEN : 0;

	if (used + room > lim)
		room = used < lim ? lim - used : 0;
	return room;
}

/* The reliable channels' periodic ALIVEs (sync/reliable.h) to the nodes
 * this heartbeat reaches ride in it: idle channels then cost no datagram
 * per peer and period.  An ALIVE due between rounds (a resync, a NACK, an
 * ALIVE after data) still goes alone (dsync_send_ctrl); the periodic ones
 * fall due with the rounds, both being heartbeat_ms apart. */
static void dsync_group_put_alive(struct daemon *d, struct wire_writer *w, int ifindex,
				  uint64_t now, size_t lim)
{
	const struct cfg *c = d->cfg;
	uint8_t v[CDAT_MAX_NODES * DSYNC_GALIVE_LEN];
	size_t k = 0, room = dsync_group_room(w, lim);

	for (size_t n = 0; n < c->n_nodes && n < d->n_peers; n++) {
		struct peer *p = &d->peers[n];
		uint64_t first, next;

		if ((long)n == c->self || !p->tx || !p->epoch_seen || n >= CDAT_MAX_NODES ||
		    (!dsync_node_alive(d, n) && !dsync_leaving(d, n)) ||
		    !dsync_group_reaches(d, n, ifindex, now))
			continue;
		if ((k + 1) * DSYNC_GALIVE_LEN > room)
			continue;	/* alone, as on unicast (alive_round false) */
		d->group->alive_round[n] = true;
		if (!rel_tx_alive(p->tx, now, &first, &next))
			continue;
		v[k * DSYNC_GALIVE_LEN] = (uint8_t)(p->id >> 24);
		v[k * DSYNC_GALIVE_LEN + 1] = (uint8_t)(p->id >> 16);
		v[k * DSYNC_GALIVE_LEN + 2] = (uint8_t)(p->id >> 8);
		v[k * DSYNC_GALIVE_LEN + 3] = (uint8_t)p->id;
		rel_enc_alive(v + k * DSYNC_GALIVE_LEN + 4, first, next);
		k++;
	}
	if (k)
		wire_put(w, WIRE_TLV_GALIVE, v, (uint16_t)(k * DSYNC_GALIVE_LEN));
}

/* The ALIVE of node n's channel waits for the next round (<= one
 * heartbeat) when the last round reached n: so it stays in step with the
 * rounds, whatever shifted it (an extra round, a late tick).  Only a
 * resync's ALIVE goes alone at once; one made due by a NACK below the queue
 * waits at most a heartbeat. */
static bool dsync_group_alive_defer(struct daemon *d, size_t n, uint64_t now)
{
	struct peer *p = &d->peers[n];

	(void)now;
	return d->group && n < CDAT_MAX_NODES && d->group->alive_round[n] && p->tx &&
	       !rel_tx_resyncing(p->tx);
}

/* One group heartbeat from our address ai: what a unicast one says, the
 * recipient vector instead of a recipient, and the echoes owed for what
 * arrived on that interface. */
static int dsync_group_heartbeat(struct daemon *d, size_t ai, uint64_t now)
{
	struct dsync_group *g = d->group;
	const struct cfg *c = d->cfg;
	const struct ip_addr *src = &c->nodes[c->self].addrs[ai].ip;
	uint8_t buf[WIRE_MAX];
	uint32_t ids[CDAT_MAX_NODES] = { 0 };
	uint8_t rcpt[CDAT_MAX_NODES * HBG_RCPT_LEN], gecho[GROUP_ECHO_MAX * HBG_ECHO_LEN];
	struct hbg_echo owed[GROUP_ECHO_MAX];
	size_t nr = 0, ne, room, len, lim;
	struct wire_writer w;
	struct wire_hdr h = {
		.type = WIRE_HEARTBEAT,
		.sender = d->peers[c->self].id,
		.epoch = d->epoch,
		.seq = ++d->seq,
		.recipient = WIRE_GROUP,
	};
	int r;

	wire_begin(&w, buf, sizeof(buf), &h);
	wire_put(&w, WIRE_TLV_NODE, c->node_name, (uint16_t)strlen(c->node_name));
	dsync_put_src(&w, src);
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers && n < CDAT_MAX_NODES; n++) {
		ids[n] = d->peers[n].id;
		if ((long)n != c->self)
			hbg_rcpt_put(rcpt + HBG_RCPT_LEN * nr++, d->peers[n].id,
				     d->peers[n].epoch_seen);
	}
	wire_put(&w, WIRE_TLV_RCPTS, rcpt, (uint16_t)(nr * HBG_RCPT_LEN));
	/* Nobody answers a group heartbeat alone: its ECHO is the token the
	 * others list in their own. */
	dsync_put_hb_body(d, &w, now, (uint8_t)ai);
	lim = dsync_group_lim(d);
	dsync_group_put_alive(d, &w, g->ifindex[ai], now, lim);
	/* The echoes fill what room is left; the rest go next period. */
	room = dsync_group_room(&w, lim) / HBG_ECHO_LEN;
	ne = hbg_collect(&g->hbg, g->ifindex[ai], now, dsync_dead_ms(c), ids,
			 owed, room < GROUP_ECHO_MAX ? room : GROUP_ECHO_MAX);
	if (ne) {
		hbg_echo_enc(gecho, sizeof(gecho), owed, ne);
		wire_put(&w, WIRE_TLV_GECHO, gecho, (uint16_t)(ne * HBG_ECHO_LEN));
	}
	len = wire_finish(&w, &d->keys);
	if (!len) {
		d->sync.tx_errors++;
		return -1;
	}
	r = chan_send_group(d->chan, src, g->ifindex[ai], &g->group, c->sync_port, buf, len);
	if (r < 0) {
		d->sync.group_tx_errors++;
		log_rl(&dsync_rl, 5, LOG_WARNING, "sync: heartbeat to the group: %s", strerror(-r));
		return -1;
	}
	d->sync.tx++;
	d->sync.hb_tx++;
	d->sync.hb_group_tx++;
	return 0;
}

/* A group heartbeat from each of our addresses that has an interface in
 * the group; g->sent_if says where they went. */
static void dsync_group_round(struct daemon *d, uint64_t now)
{
	struct dsync_group *g = d->group;
	const struct cfg_node *me = &d->cfg->nodes[d->cfg->self];

	g->n_sent_if = 0;
	memset(g->alive_round, 0, sizeof(g->alive_round));
	if (!dsync_group_ready(d))
		return;
	for (size_t ai = 0; ai < me->n_addrs && ai < HBG_MAX_ADDRS; ai++) {
		if (!g->ifindex[ai] || dsync_group_heartbeat(d, ai, now) < 0)
			continue;
		if (!dsync_group_sent_on(g, g->ifindex[ai]))
			g->sent_if[g->n_sent_if++] = g->ifindex[ai];
	}
	hbg_round_done(&g->hbg);
}

/* --- multicast state messages --------------------------------------------------- */

/* A round of the reliable channels begins: true when the group can carry
 * its state messages (then g->st_ai is the address they go from). */
static bool dsync_gstate_begin(struct daemon *d)
{
	struct dsync_group *g = d->group;
	const struct cfg_node *me;

	if (!g || d->cfg->self < 0 || !dsync_group_ready(d))
		return false;
	g->n_st = 0;
	me = &d->cfg->nodes[d->cfg->self];
	for (size_t ai = 0; ai < me->n_addrs && ai < HBG_MAX_ADDRS; ai++)
		if (g->ifindex[ai]) {
			g->st_ai = ai;
			return true;
		}
	return false;
}

static void dsync_gstate_flush(struct daemon *d);

/* rel_tx_poll's emit for a peer the group reaches: held for the flush at
 * the end of the round (a full table is flushed first: a burst keeps its
 * order). */
static void dsync_gstate_collect(void *arg, uint64_t seq, const void *blob, size_t len)
{
	struct dsync_emit *e = arg;
	struct dsync_group *g = e->d->group;
	struct dsync_gstate *s;

	if (len < 1 || len > sizeof(s->blob)) {
		dsync_emit_state(arg, seq, blob, len);
		return;
	}
	if (g->n_st >= GSTATE_MAX)
		dsync_gstate_flush(e->d);
	s = &g->st[g->n_st++];
	s->node = e->node;
	s->seq = seq;
	s->len = len;
	memcpy(s->blob, blob, len);
}

/* One group datagram for the held messages alike to st[first] (same[j] ==
 * first), one per peer; marks done what it carried.  -1 (nothing marked)
 * when fewer than two peers, it does not fit every peer's path, or the
 * send failed: they go unicast. */
static int dsync_gstate_send(struct daemon *d, size_t first, const size_t *same, bool *done)
{
	struct dsync_group *g = d->group;
	const struct cfg *c = d->cfg;
	const struct dsync_gstate *s0 = &g->st[first];
	const struct ip_addr *src = &c->nodes[c->self].addrs[g->st_ai].ip;
	uint8_t buf[WIRE_MAX], rcpt[CDAT_MAX_NODES * HBG_RCPT_LEN],
		gseq[GSTATE_MAX * HBG_GSEQ_LEN];
	bool in[GSTATE_MAX] = { false }, listed[CDAT_MAX_NODES] = { false };
	size_t k = 0, nr = 0, len, lim;
	struct wire_writer w;
	struct wire_hdr h = {
		.type = s0->blob[0],
		.sender = d->peers[c->self].id,
		.epoch = d->epoch,
		.recipient = WIRE_GROUP,
	};
	int r;

	for (size_t j = first; j < g->n_st; j++) {
		size_t n = g->st[j].node;

		/* One entry per peer: the same bytes queued twice for a peer
		 * (two seqs) send the second unicast. */
		if (same[j] != first || done[j] || n >= CDAT_MAX_NODES || listed[n])
			continue;
		hbg_gseq_put(gseq + k * HBG_GSEQ_LEN, d->peers[n].id, g->st[j].seq);
		listed[n] = in[j] = true;
		k++;
	}
	if (k < 2)
		return -1;
	for (size_t n = 0; n < c->n_nodes && n < d->n_peers && n < CDAT_MAX_NODES; n++)
		if ((long)n != c->self)
			hbg_rcpt_put(rcpt + HBG_RCPT_LEN * nr++, d->peers[n].id,
				     d->peers[n].epoch_seen);
	lim = dsync_group_lim(d);
	if (WIRE_HDR_LEN + 2 * TLV_HDR_LEN + nr * HBG_RCPT_LEN + k * HBG_GSEQ_LEN +
	    (s0->len - 1) + WIRE_MAC_LEN > (lim < WIRE_MAX ? lim : WIRE_MAX))
		return -1;
	h.seq = ++d->seq;
	wire_begin(&w, buf, sizeof(buf), &h);
	wire_put(&w, WIRE_TLV_RCPTS, rcpt, (uint16_t)(nr * HBG_RCPT_LEN));
	wire_put(&w, WIRE_TLV_GSEQ, gseq, (uint16_t)(k * HBG_GSEQ_LEN));
	tlv_put_tlvs(&w.body, s0->blob + 1, s0->len - 1);	/* the body, already encoded */
	len = wire_finish(&w, &d->keys);
	if (!len) {
		d->sync.tx_errors++;
		return -1;
	}
	r = chan_send_group(d->chan, src, g->ifindex[g->st_ai], &g->group, c->sync_port, buf,
			    len);
	if (r < 0) {
		d->sync.group_tx_errors++;
		log_rl(&dsync_rl, 5, LOG_WARNING, "sync: state message to the group: %s",
		       strerror(-r));
		return -1;
	}
	for (size_t j = first; j < g->n_st; j++)
		if (in[j])
			done[j] = true;
	d->sync.tx++;
	d->sync.state_tx += k;
	d->sync.group_state_sent++;
	d->sync.group_state_copies_saved += k;
	return 0;
}

/* The round is over: what two or more peers are owed alike goes once to
 * the group, the rest unicast, in the order the channels emitted it (a
 * peer may see its messages reordered across kinds: its channel buffers
 * them). */
static void dsync_gstate_flush(struct daemon *d)
{
	struct dsync_group *g = d->group;
	const uint8_t *blob[GSTATE_MAX];
	size_t len[GSTATE_MAX], same[GSTATE_MAX];
	bool done[GSTATE_MAX] = { false };

	for (size_t i = 0; i < g->n_st; i++) {
		blob[i] = g->st[i].blob;
		len[i] = g->st[i].len;
	}
	hbg_same_blobs(blob, len, g->n_st, same);
	for (size_t i = 0; i < g->n_st; i++) {
		struct dsync_emit e = { .d = d, .node = g->st[i].node };

		if (same[i] == i && !done[i])
			dsync_gstate_send(d, i, same, done);
		if (!done[i])
			dsync_emit_state(&e, g->st[i].seq, g->st[i].blob, g->st[i].len);
		done[i] = true;
	}
	g->n_st = 0;
}

static bool dsync_on_heartbeat(struct daemon *d, size_t n, const struct wire_msg *m,
			       const struct ip_addr *from);
static void dsync_learn_epoch(struct daemon *d, size_t n, uint64_t epoch);
static void dsync_state_input(struct daemon *d, size_t n, const struct wire_msg *m,
			      uint64_t seq, const uint8_t *body, size_t len,
			      struct cdat_outbox *ob);

/* A proven group state message from node n: our entry of its GSEQ is the
 * seq on our channel from n; the body goes where a unicast one would. */
static void dsync_on_group_state(struct daemon *d, size_t n, const struct wire_msg *m,
				 struct cdat_outbox *ob)
{
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen = 0;
	uint64_t seq = 0;
	size_t rest;
	int r;

	val = tlv_find(m->body, m->body_len, WIRE_TLV_GSEQ, &vlen);
	r = val ? hbg_gseq_find(val, vlen, d->peers[d->cfg->self].id, &seq) : -1;
	if (r < 0) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	if (r == 0) {
		d->sync.group_state_not_listed++;
		return;
	}
	/* RCPTS, GSEQ, then the body. */
	wire_tlv_begin(&it, m);
	do {
		if (!tlv_next(&it, &type, &val, &vlen))
			type = 0;
	} while (type == WIRE_TLV_RCPTS);
	if (type != WIRE_TLV_GSEQ) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	rest = tlv_iter_rest(&it, &val);
	d->sync.group_state_received++;
	dsync_state_input(d, n, m, seq, val, rest, ob);
}

/* A proven group heartbeat from node n: the address it came from is
 * covered and owed an echo; its echoes of our heartbeats measure the path
 * from us to that address and back; the rest is any heartbeat's news. */
static bool dsync_on_group_heartbeat(struct daemon *d, size_t n, const struct wire_msg *m,
				     const struct ip_addr *from, struct cdat_outbox *ob)
{
	struct dsync_group *g = d->group;
	const uint8_t *val;
	uint16_t vlen;
	long ci = dsync_cdat_index(d, n);
	size_t cn, ai;
	bool changed = false;
	uint64_t now = daemon_now_ms();

	/* Only a path the datagram really took (its stated source is its real
	 * one) and an address of that node in the table. */
	if (ci >= 0 && dsync_src_ok(m, from) && cdat_find_addr(&d->cdat.cur, from, &cn, &ai) &&
	    (long)cn == ci && dsync_group_ready(d)) {
		struct cdat_events ev;
		uint32_t self_id = d->peers[d->cfg->self].id;

		val = tlv_find(m->body, m->body_len, WIRE_TLV_ECHO, &vlen);
		if (val && vlen == ECHO_LEN)
			hbg_heard(&g->hbg, n, ai, (uint32_t)val[4] << 24 | (uint32_t)val[5] << 16 |
				  (uint32_t)val[6] << 8 | val[7], now, g->rx_ifindex);
		memset(&ev, 0, sizeof(ev));
		val = tlv_find(m->body, m->body_len, WIRE_TLV_GECHO, &vlen);
		for (long k = 0; val && k < hbg_echo_count(vlen); k++) {
			struct hbg_echo e;
			uint64_t sent;

			hbg_echo_get(val, (size_t)k, &e);
			if (e.node != self_id ||
			    !hbg_token_time(e.token, e.held_ms, now, 2 * dsync_dead_ms(d->cfg), &sent))
				continue;
			cdat_answered(&d->cdat.cur, cn, ai, sent, now - e.held_ms, &ev);
			d->sync.echo_credited++;
		}
		dsync_log_events(d, &ev, &changed);
	}
	/* The ALIVE of its reliable channel to us, if it rides here. */
	val = tlv_find(m->body, m->body_len, WIRE_TLV_GALIVE, &vlen);
	for (size_t k = 0; val && d->peers[n].rx && k < vlen / DSYNC_GALIVE_LEN; k++) {
		const uint8_t *e = val + k * DSYNC_GALIVE_LEN;
		struct dsync_deliver dl = { .d = d, .node = n, .ob = ob };
		uint64_t a, b;

		if (((uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3]) !=
		    d->peers[d->cfg->self].id || !rel_dec_alive(e + 4, REL_ALIVE_LEN, &a, &b))
			continue;
		/* An idle channel's ALIVE that tells nothing new (same sender
		 * boot, everything up to `next` received) is not answered: its
		 * ACK would cost a datagram per peer and period.  A lost tail,
		 * a resync floor or a restart is answered as on unicast. */
		if (g->alive_epoch[n] == m->hdr.epoch && a <= b &&
		    rel_rx_expected(d->peers[n].rx) == b)
			break;
		g->alive_epoch[n] = m->hdr.epoch;
		rel_rx_alive(d->peers[n].rx, m->hdr.epoch, a, b, now, dsync_deliver_state, &dl);
		break;
	}
	return dsync_on_heartbeat(d, n, m, from) || changed;
}

/* A datagram to the group (recipient WIRE_GROUP) from node n: only
 * heartbeats and state messages, proven by their recipient vector (as unicast ones by their
 * header), past the sender's replay window. */
static bool dsync_group_input(struct daemon *d, size_t n, const struct wire_msg *m,
			      const struct ip_addr *from, struct cdat_outbox *ob)
{
	const uint8_t *val;
	uint16_t vlen = 0;
	enum hbg_rcpt rc;
	enum wire_status st;

	bool state = m->hdr.type >= WIRE_STATE_MIN && m->hdr.type <= WIRE_STATE_MAX;

	if (m->hdr.type != WIRE_HEARTBEAT && !state) {
		d->sync.rejected[WIRE_ERR_RECIPIENT]++;
		return false;
	}
	val = tlv_find(m->body, m->body_len, WIRE_TLV_RCPTS, &vlen);
	rc = hbg_rcpt_check(val, val ? vlen : 0, d->peers[d->cfg->self].id, d->epoch);
	if (rc == HBG_BAD) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return false;
	}
	if (rc == HBG_STALE) {
		/* For an earlier boot of ours (as a unicast one would be): only
		 * the sender's epoch is learnt. */
		d->sync.rejected[WIRE_ERR_STALE_RECIPIENT_EPOCH]++;
		d->sync.group_stale++;
		dsync_learn_epoch(d, n, m->hdr.epoch);
		return false;
	}
	st = wire_replay_check(&d->peers[n].replay, m->hdr.epoch, m->hdr.seq);
	if (st != WIRE_OK) {
		d->sync.rejected[st]++;
		log_rl(&dsync_rl, 5, LOG_WARNING, "group message from %s rejected: %s",
		       d->cfg->nodes[n].name, wire_status_name(st));
		return false;
	}
	wire_replay_accept(&d->peers[n].replay, m->hdr.epoch, m->hdr.seq);
	d->sync.rx++;
	if (!state)
		d->sync.hb_group_rx++;
	dsync_learn_epoch(d, n, m->hdr.epoch);
	if (rc != HBG_PROVEN) {
		d->sync.unproven++;
		return false;
	}
	if (state) {
		dsync_on_group_state(d, n, m, ob);
		return false;
	}
	return dsync_on_group_heartbeat(d, n, m, from, ob);
}

/* When dsync_tick next has work, for the main loop's sleep: the timers it
 * runs, after it ran them (so nothing here is due now unless work is left).
 * It mirrors the rules of sync/cdat (cdat_probe_due, cdat_tick, cdat_agreed,
 * cdat_proto_tick) and sync/reliable (rel_*_next_ms): a rule changed there
 * must change here, or the loop sleeps through it (bounded by the adapter
 * check, every second). */
static void dsync_next(struct daemon *d, uint64_t now, uint64_t *next)
{
	const struct cfg *c = d->cfg;
	const struct cdat *t = &d->cdat.cur;
	const struct cdat_proto *p = &d->cdat;
	const unsigned hb = c->heartbeat_ms;

	dsync_lower(next, d->last_adapters_ms + 1000);
	/* Multicast: the group heartbeats go every period (a round). */
	if (d->group)
		dsync_lower(next, d->last_hb_ms + hb);
	/* Heartbeats: on the CDAT's grid, or every period to a node not in it. */
	for (size_t n = 0; n < c->n_nodes; n++) {
		long ci;

		if ((long)n == c->self)
			continue;
		ci = dsync_cdat_index(d, n);
		if (ci < 0) {
			if (c->nodes[n].n_addrs)
				dsync_lower(next, d->last_hb_ms + hb);
			continue;
		}
		for (size_t ai = 0; ai < t->nodes[ci].n_addrs; ai++) {
			const struct cdat_addr *a = &t->nodes[ci].addrs[ai];
			uint64_t iv = hb ? hb : 1;

			if (a->outstanding)
				continue;	/* cdat_tick resolves it first: below */
			/* Covered by the group: with the group's next round. */
			if (d->group && dsync_group_covers(d, n, ai, now, NULL)) {
				dsync_lower(next, d->last_hb_ms + hb);
				continue;
			}
			if (a->status == CDAT_UNREACHABLE)
				iv *= PROBE_EVERY;
			dsync_lower(next, a->slot_ms ? a->slot_ms + iv : now);
		}
	}
	/* Misses, silences and votes (cdat_tick), the CDAT protocol's timers
	 * (cdat_proto_tick). */
	dsync_lower(next, cdat_next_ms(t, now, hb));
	dsync_lower(next, cdat_proto_next_ms(p, now));
	/* The reliable channels, as dsync_tick drives them. */
	for (size_t n = 0; n < c->n_nodes; n++) {
		uint64_t tx_next;
		bool alive;

		if ((long)n == c->self || !d->peers[n].tx || !d->peers[n].epoch_seen)
			continue;
		alive = dsync_node_alive(d, n);
		if (!alive && !dsync_leaving(d, n))
			continue;
		tx_next = rel_tx_next_ms(d->peers[n].tx, now, alive);
		/* Its ALIVE waits for the group's round: when the ALIVE is the
		 * channel's earliest deadline, the round is. */
		if (dsync_group_alive_defer(d, n, now) &&
		    tx_next == rel_tx_next_ms(d->peers[n].tx, now, false) &&
		    tx_next < d->last_hb_ms + hb)
			tx_next = d->last_hb_ms + hb;
		dsync_lower(next, tx_next);
		dsync_lower(next, rel_rx_next_ms(d->peers[n].rx, now));
	}
}

bool dsync_tick(struct daemon *d, bool force_hb, uint64_t *next)
{
	const struct cfg *c = d->cfg;
	uint64_t now = daemon_now_ms();
	struct cdat_out msgs[OUTBOX_CAP];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX_CAP };
	struct cdat_events ev;
	bool changed = false, hb_round = force_hb || now - d->last_hb_ms >= c->heartbeat_ms;
	bool gstate;
	int gif = 0;

	if (hb_round)
		d->last_hb_ms = now;
	/* An MTU or prefix changed under us: the CDAT follows within a second
	 * (the protocol reports only what differs). */
	if (now - d->last_adapters_ms >= 1000) {
		d->last_adapters_ms = now;
		dsync_own_adapters(d);
		dsync_check_paths(d);
		dsync_group_refresh(d);
	}
	/* Count the misses first: an address whose heartbeat just timed out
	 * gets its next one in this same tick, so `retry` misses take `retry`
	 * timeouts and no more. */
	memset(&ev, 0, sizeof(ev));
	cdat_tick(&d->cdat.cur, now, c->heartbeat_ms, &ev);
	dsync_log_events(d, &ev, &changed);
	/* Multicast: one heartbeat per own address to the group, each period. */
	if (d->group && hb_round)
		dsync_group_round(d, now);
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
			/* Covered by the group: this round's group heartbeat out of
			 * the interface its heartbeats arrive on is the one sent to
			 * it; between rounds it waits for the next. */
			if (d->group && dsync_group_covers(d, n, ai, now, &gif)) {
				if (!hb_round)
					continue;
				if (dsync_group_sent_on(d->group, gif)) {
					cdat_sent(&d->cdat.cur, (size_t)ci, ai, now, now);
					continue;
				}
			}
			dsync_heartbeat(d, n, &d->cdat.cur.nodes[ci].addrs[ai].ip, (uint8_t)ai,
					now);
			cdat_sent(&d->cdat.cur, (size_t)ci, ai, now, slot);
			if (d->group)
				d->sync.hb_unicast_fallback++;
		}
		/* A listener changed: tell the node at once, unmeasured (the
		 * group round did, where it reaches every address). */
		if (force_hb && d->group && dsync_group_covers_node(d, n, now))
			continue;
		if (force_hb && dsync_current_addr(d, n))
			dsync_heartbeat(d, n, dsync_current_addr(d, n), NO_ADDR, now);
	}
	cdat_proto_tick(&d->cdat, now, &ob);
	dsync_flush_outbox(d, &ob);
	/* Multicast: what this round emits alike to peers the group reaches
	 * goes once to the group (dsync_gstate_flush). */
	gstate = dsync_gstate_begin(d);
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
		if (!dsync_node_alive(d, n))
			continue;
		if (gstate && dsync_group_reaches(d, n, d->group->ifindex[d->group->st_ai], now))
			rel_tx_poll(d->peers[n].tx, now, dsync_gstate_collect, &e);
		else
			rel_tx_poll(d->peers[n].tx, now, dsync_emit_state, &e);
	}
	if (gstate)
		dsync_gstate_flush(d);
	for (size_t n = 0; n < c->n_nodes; n++) {
		if ((long)n == c->self || !d->peers[n].tx || !d->peers[n].epoch_seen)
			continue;
		if (dsync_node_alive(d, n) || dsync_leaving(d, n))
			dsync_send_ctrl(d, n, now);
	}
	dsync_handshake(d);
	dsync_next(d, now, next);
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
	struct peer *p = &d->peers[n];
	const struct member_node *mn = &p->mn;
	struct tlv_iter it;
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
	const uint8_t *cfgdg = NULL;

	memset(ls, 0, sizeof(ls));	/* compared with memcmp below */
	wire_tlv_begin(&it, m);
	while (tlv_next(&it, &type, &val, &vlen)) {
		struct wire_listen wl;

		if (type == WIRE_TLV_ECHO && vlen == ECHO_LEN) {
			echo = val;
		} else if (type == WIRE_TLV_FLAGS && vlen == 4) {
			flags = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 |
				(uint32_t)val[2] << 8 | val[3];
		} else if (type == WIRE_TLV_CFGDIGEST) {
			if (vlen == CFGDIGEST_LEN)
				cfgdg = val;
			else
				d->sync.cfg_digest_bad++;
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
	/* Answer from where it came: the answer measures that path.  A group
	 * heartbeat is answered by our next one (its echo list), not alone. */
	if (echo && m->hdr.recipient != WIRE_GROUP)
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
		p->bulk_pending = true;
		p->bulk_from = false;
	} else if (!mn->heard) {
		/* First word from it since we started: it may be starting too,
		 * and waits for our table before it may distribute. */
		p->bulk_pending = true;
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
	peer_heard(p, m->hdr.epoch, daemon_now_ms(), ls, nl);
	p->mn.flags = flags;
	memcpy(p->mn.owns, owns, n_owns * sizeof(*owns));
	p->mn.n_owns = n_owns;
	memcpy(p->mn.yields, yields, n_yields * sizeof(*yields));
	p->mn.n_yields = n_yields;
	/* Its configuration digest: the last heartbeat's (none: a node that
	 * does not send one, unknown). */
	if (cfgdg) {
		bool news = !p->cfg_known || memcmp(p->cfg_digest, cfgdg, CFGDIGEST_LEN);

		memcpy(p->cfg_digest, cfgdg, CFGDIGEST_LEN);
		p->cfg_known = true;
		dsync_cfg_check(d, n, news);
	} else if (p->cfg_known) {
		p->cfg_known = false;
		dsync_cfg_check(d, n, true);
	}
	return changed;
}

static bool dsync_on_heartbeat_ack(struct daemon *d, size_t n, const struct wire_msg *m,
				   const struct ip_addr *from)
{
	struct tlv_iter it;
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
	while (tlv_next(&it, &type, &val, &vlen)) {
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
	struct peer *p = &d->peers[n];
	struct dsync_emit e = { .d = d, .node = n };
	struct dsync_deliver dl = { .d = d, .node = n, .ob = ob };
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	uint64_t now = daemon_now_ms(), a, b, c;

	wire_tlv_begin(&it, m);
	while (tlv_next(&it, &type, &val, &vlen)) {
		if (type == REL_TLV_ACK && rel_dec_ack(val, vlen, &a, &b)) {
			rel_tx_ack(p->tx, m->hdr.epoch, a, b);
		} else if (type == REL_TLV_NACK && rel_dec_nack(val, vlen, &a, &b, &c)) {
			if (rel_tx_nack(p->tx, m->hdr.epoch, a, b, c, now, dsync_emit_state, &e) ==
			    REL_NACK_RESYNC && !rel_tx_resyncing(p->tx)) {
				/* The peer lost what we had queued (it restarted): our
				 * state is the CDAT, which the coordinator re-proposes
				 * when the peer's digest differs. */
				rel_tx_resync(p->tx);
				p->bulk_pending = true;	/* and our table again */
			}
		} else if (type == REL_TLV_ALIVE && rel_dec_alive(val, vlen, &a, &b)) {
			rel_rx_alive(p->rx, m->hdr.epoch, a, b, now, dsync_deliver_state, &dl);
		}
	}
}

static void dsync_on_state(struct daemon *d, size_t n, const struct wire_msg *m,
			   struct cdat_outbox *ob)
{
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	uint64_t seq;
	size_t rest;

	/* After the sender's NODE comes the reliable sequence number; the rest
	 * is the body. */
	wire_tlv_begin(&it, m);
	do {
		if (!tlv_next(&it, &type, &val, &vlen))
			type = 0;
	} while (type == WIRE_TLV_NODE);
	if (type != REL_TLV_SEQ || !rel_dec_seq(val, vlen, &seq)) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	rest = tlv_iter_rest(&it, &val);
	dsync_state_input(d, n, m, seq, val, rest, ob);
}

/* A state message's (seq, body) from node n, by unicast or from the group:
 * to its receiving channel, which delivers in order. */
static void dsync_state_input(struct daemon *d, size_t n, const struct wire_msg *m,
			      uint64_t seq, const uint8_t *body, size_t len,
			      struct cdat_outbox *ob)
{
	struct dsync_deliver dl = { .d = d, .node = n, .ob = ob };
	uint8_t blob[REL_BODY_MAX + 1];

	if (len + 1 > sizeof(blob)) {
		d->sync.rejected[WIRE_ERR_TLV]++;
		return;
	}
	blob[0] = m->hdr.type;
	memcpy(blob + 1, body, len);
	rel_rx_input(d->peers[n].rx, m->hdr.epoch, seq, blob, len + 1, daemon_now_ms(),
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
	n = peer_by_id(d->peers, d->n_peers, m.hdr.sender);
	if (n < 0 || n == c->self) {
		d->sync.unknown_sender++;
		return false;
	}
	/* To the group: proven by its recipient vector (sync/hbgroup.h). */
	if (m.hdr.recipient == WIRE_GROUP && d->group)
		return dsync_group_input(d, (size_t)n, &m, from, ob);
	st = wire_check_recipient(&m.hdr, d->peers[c->self].id, d->epoch);
	if (st == WIRE_OK)
		st = wire_replay_check(&d->peers[n].replay, m.hdr.epoch, m.hdr.seq);
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
	wire_replay_accept(&d->peers[n].replay, m.hdr.epoch, m.hdr.seq);
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

	bool group = false;

	for (size_t n = 0; n < d->n_peers; n++) {
		if (!d->peers[n].hb_soon)
			continue;
		d->peers[n].hb_soon = false;
		if ((long)n == c->self)
			continue;
		/* Multicast: one group round tells every node it reaches. */
		if (d->group && dsync_group_covers_node(d, n, now)) {
			group = true;
			continue;
		}
		for (size_t ai = 0; ai < c->nodes[n].n_addrs; ai++)
			dsync_heartbeat(d, n, &c->nodes[n].addrs[ai].ip, NO_ADDR, now);
	}
	if (group)
		dsync_group_round(d, now);
}

bool dsync_receive(struct daemon *d)
{
	uint8_t buf[WIRE_MAX + 64];
	struct cdat_out msgs[OUTBOX_CAP];
	struct cdat_outbox ob = { .msg = msgs, .cap = OUTBOX_CAP };
	struct ip_addr from;
	bool changed = false;

	for (int i = 0; i < 256; i++) {
		struct chan_rx_info info;
		ssize_t n = chan_recv_info(d->chan, buf, sizeof(buf), &from, NULL, &info);

		if (n <= 0)
			break;
		if (d->group)
			d->group->rx_ifindex = info.ifindex;
		changed |= dsync_handle(d, buf, (size_t)n, &from, &ob);
		if (ob.n > OUTBOX_CAP / 2)
			dsync_flush_outbox(d, &ob);
	}
	dsync_flush_outbox(d, &ob);
	dsync_handshake(d);
	return changed;
}

/* --- configuration agreement (common/cfgdigest.h) ------------------------------ */

enum dsync_cfg_agree dsync_config_agreement(const struct daemon *d, size_t node)
{
	const struct peer *p;

	if (node >= d->n_peers || (long)node == d->cfg->self)
		return DSYNC_CFG_UNKNOWN;
	p = &d->peers[node];
	if (!p->cfg_known)
		return DSYNC_CFG_UNKNOWN;
	return memcmp(p->cfg_digest, d->cfg_digest, CFGDIGEST_LEN) ? DSYNC_CFG_DIFFERENT
								  : DSYNC_CFG_SAME;
}

/* Node n's agreement may have changed (news: its digest or ours did): said
 * once per change, not per heartbeat.  A differing digest is news even when
 * it differed already (the node or we loaded yet another file). */
static void dsync_cfg_check(struct daemon *d, size_t n, bool news)
{
	struct peer *p = &d->peers[n];
	enum dsync_cfg_agree now = dsync_config_agreement(d, n), was = p->cfg_logged;
	char theirs[CFGDIGEST_HEX], ours[CFGDIGEST_HEX];

	p->cfg_logged = (uint8_t)now;
	if ((long)n == d->cfg->self)
		return;
	cfgdigest_hex(d->cfg_digest, ours);
	if (now == DSYNC_CFG_DIFFERENT && (was != DSYNC_CFG_DIFFERENT || news)) {
		d->sync.cfg_mismatch++;
		log_warn("node %s: configuration differs from ours (digest %s vs %s)", p->name,
			 cfgdigest_hex(p->cfg_digest, theirs), ours);
	} else if (now == DSYNC_CFG_SAME && was == DSYNC_CFG_DIFFERENT) {
		log_info("node %s: configuration agrees with ours again (digest %s)", p->name,
			 ours);
	} else if (now == DSYNC_CFG_UNKNOWN && was == DSYNC_CFG_DIFFERENT) {
		log_info("node %s: no longer reports a configuration digest", p->name);
	}
}
