/* SPDX-License-Identifier: GPL-2.0-or-later */
/* clusterd: main, the event loop, roles and reload.
 *
 * The main thread owns the configuration, the member table, the VIPA
 * addresses, the ruleset and the control socket; worker threads own one
 * NFQUEUE each and only read the current view. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sodium.h>

#include "common/alloc.h"
#include "common/cfgdigest.h"
#include "common/roles.h"
#include "daemon/ctl.h"
#include "daemon/ctx.h"
#include "daemon/dhand.h"
#include "daemon/epoch.h"
#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/dsync.h"
#include "daemon/drepl.h"
#include "daemon/peer.h"
#include "daemon/subsys.h"
#include "daemon/dsctp.h"
#include "daemon/sprobe.h"
#include "daemon/vipaddr.h"
#include "daemon/worker.h"
#include "rules/nft.h"
#include "rules/fpmap.h"
#include "rules/rules.h"
#include "sync/key.h"

#define SCAN_MS 250		/* listener scan period: a change is known within 1 s */
#define DEFAULT_CONF SYSCONFDIR "/clusterd.conf"

static void daemon_mark_dirty(struct daemon *d)
{
	d->view_dirty = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: clusterd [-f FILE] [-n NODE] [-s SOCKET] [--state-dir DIR] [--foreground]\n"
		"                [-d]\n"
		"       clusterd --check-config [-f FILE] [-n NODE]\n"
		"       clusterd --print-rules [-f FILE] [-n NODE]\n"
		"       clusterd -V | -h\n"
		"  -f, --config FILE    configuration file (default %s)\n"
		"  -n, --node NODE      this node's name (default: `node` in FILE, else host name)\n"
		"  -s, --socket PATH    control socket (default: daemon.control_socket)\n"
		"      --state-dir DIR  where the boot epoch is kept (default %s)\n"
		"      --foreground     stay in the foreground, log to stderr\n"
		"  -d, --debug          log debug messages\n",
		DEFAULT_CONF, STATEDIR);
}

/* --- listeners ------------------------------------------------------------ */

static bool daemon_listening_cb(void *arg, size_t node, uint8_t family, uint8_t proto,
				uint16_t port)
{
	struct daemon *d = arg;

	if ((long)node == d->cfg->self) {
		for (size_t i = 0; i < d->n_self_listen; i++) {
			const struct member_listen *l = &d->self_listen[i];

			if (l->family == family && l->proto == proto && l->port == port)
				return l->listening;
		}
		return false;
	}
	return node < d->n_peers && peer_listening(&d->peers[node], family, proto, port);
}

static bool daemon_heard_cb(void *arg, size_t node)
{
	struct daemon *d = arg;

	return (long)node == d->cfg->self || (node < d->n_peers && d->peers[node].mn.heard);
}

/* The (family, proto, port) triples this node serves as a target. */
static void daemon_self_queries(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	struct member_listen old[MEMBER_MAX_LISTEN];
	size_t n_old = d->n_self_listen;

	memcpy(old, d->self_listen, sizeof(old));
	d->n_self_listen = 0;
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];

		for (size_t j = 0; j < vp->n_svcs; j++) {
			const struct cfg_service *s = &vp->svcs[j];
			/* A target by any list, a handoff rule's included. */
			bool mine = c->self >= 0 && cfg_serves(vp, s, (size_t)c->self), dup = false;

			if (!mine)
				continue;
			for (size_t k = 0; k < d->n_self_listen; k++) {
				const struct member_listen *l = &d->self_listen[k];

				dup |= l->family == vp->addr.family && l->proto == s->proto &&
				       l->port == s->target_port;
			}
			if (dup || d->n_self_listen >= MEMBER_MAX_LISTEN)
				continue;
			struct member_listen *l = &d->self_listen[d->n_self_listen++];

			memset(l, 0, sizeof(*l));
			l->family = vp->addr.family;
			l->proto = s->proto;
			l->port = s->target_port;
			/* Keep the last known answer until the next scan. */
			for (size_t k = 0; k < n_old; k++)
				if (old[k].family == l->family && old[k].proto == l->proto &&
				    old[k].port == l->port)
					l->listening = old[k].listening;
		}
	}
}

/* Returns true when a listener appeared or went.  A query the kernel cannot
 * answer at all (SCTP without sctp_diag) counts as not listening, said once
 * per protocol; a passing scan failure keeps the last answer. */
static bool daemon_scan(struct daemon *d)
{
	struct listen_query q[MEMBER_MAX_LISTEN];
	struct listen_answer res[MEMBER_MAX_LISTEN];
	char err[256];
	bool changed = false, answered[3] = { false, false, false };
	static struct log_rl rl;
	bool *said_unsupported = d->scan_unsupported;

	if (!d->n_self_listen)
		return false;
	for (size_t i = 0; i < d->n_self_listen; i++) {
		q[i].family = d->self_listen[i].family;
		q[i].proto = d->self_listen[i].proto;
		q[i].port = d->self_listen[i].port;
	}
	if (listen_scan(q, d->n_self_listen, res, err, sizeof(err)) < 0) {
		log_rl(&rl, 1, LOG_WARNING, "listener scan: %s", err);
		return false;
	}
	for (size_t i = 0; i < d->n_self_listen; i++) {
		size_t k = q[i].proto == IPPROTO_TCP ? 0 : q[i].proto == IPPROTO_UDP ? 1 : 2;
		bool now = res[i].listening;
		/* SCTP: the kernel sees its own sockets only; a userspace stack
		 * (usrsctp) answers the INIT probe (daemon/sprobe). */
		int probed = k == 2 ? sprobe_listening(d, q[i].family, q[i].port) : -1;

		if (probed == 1)
			now = true;
		if (k == 2 && probed >= 0 && res[i].err && listen_unsupported(res[i].err)) {
			answered[k] = true;	/* the probe answers for the kernel */
		} else if (res[i].err && listen_unsupported(res[i].err)) {
			if (!said_unsupported[k]) {
				said_unsupported[k] = true;
				if (k == 2)
					log_warn("SCTP listeners cannot be queried on this kernel "
						 "(sock_diag: %s; no SCTP or no sctp_diag module): "
						 "this node's SCTP services count as listening only "
						 "when a server answers the INIT probe",
						 strerror(-res[i].err));
				else
					log_warn("%s listeners cannot be queried on this kernel "
						 "(sock_diag: %s): this node's %s services count as "
						 "not listening", cfg_proto_name(q[i].proto),
						 strerror(-res[i].err), cfg_proto_name(q[i].proto));
			}
		} else if (res[i].err) {
			log_rl(&rl, 1, LOG_WARNING, "listener scan: %s (last answer kept)", err);
			continue;
		} else {
			answered[k] = true;
		}
		if (d->self_listen[i].listening != now) {
			log_info("application %s on %s port %u/%s",
				 now ? "listens" : "no longer listens",
				 q[i].family == AF_INET ? "IPv4" : "IPv6", q[i].port,
				 cfg_proto_name(q[i].proto));
			changed = true;
		}
		d->self_listen[i].listening = now;
	}
	/* Said again if the kernel stops answering after it answered. */
	for (size_t k = 0; k < 3; k++)
		if (answered[k])
			said_unsupported[k] = false;
	return changed;
}

/* --- view ----------------------------------------------------------------- */

static int daemon_rebuild_view(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	bool alive[c->n_nodes ? c->n_nodes : 1], drained[c->n_nodes ? c->n_nodes : 1];
	struct view *nv;
	struct view_input in = {
		.cfg = c,
		.self = c->self,
		.alive = alive,
		.drained = drained,
		.listening = daemon_listening_cb,
		.heard = daemon_heard_cb,
		.arg = d,
		.prev = d->view,
		.generation = d->view ? d->view->generation + 1 : 1,
		.cfg_gen = d->cfg_gen,
	};

	for (size_t n = 0; n < c->n_nodes; n++) {
		alive[n] = dsync_node_alive(d, n);
		drained[n] = d->peers[n].drained;
	}
	nv = view_build(&in);
	if (!nv) {
		log_err("out of memory building the routing view");
		return -1;
	}
	if (!d->view) {
		d->view = nv;
		/* Generation 1, not 0: a worker announces the generation it
		 * read (worker.h), and 0 means "holds no view"; a worker busy
		 * with the first view would otherwise let the first swap free
		 * it under its feet (seen: a target's first probe answers). */
		__atomic_store_n(&d->gen, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	/* A reload whose view could not be built left its predecessor's
	 * configuration to go with the view that used it. */
	worker_swap_view(d, nv, d->cfg_retired);
	d->cfg_retired = NULL;
	d->view_dirty = false;
	return 0;
}

/* --- VIPA ownership --------------------------------------------------------- */

/* The alternate address (SCTP association failover, doc/architecture.md). */
static void daemon_alt_release(const struct cfg_vipa *vp, struct vipa_state *vs)
{
	char err[256], ab[ADDR_STRLEN];

	if (!vs->alt_owned)
		return;
	if (vipaddr_del(vp->ifname, &vp->alt, err, sizeof(err)) < 0)
		log_err("removing alternate address %s: %s", addr_fmt(&vp->alt, ab, sizeof(ab)),
			err);
	else
		log_info("released alternate address %s on %s",
			 addr_fmt(&vp->alt, ab, sizeof(ab)), vp->ifname);
	vs->alt_owned = false;
	vs->alt_announce_left = 0;
}

static void daemon_vipa_release(struct daemon *d, const struct cfg_vipa *vp,
				struct vipa_state *vs)
{
	char err[256], ab[ADDR_STRLEN];

	if (!vs->owned)
		return;
	if (vipaddr_del(vp->ifname, &vp->addr, err, sizeof(err)) < 0)
		log_err("removing VIPA %s: %s", addr_fmt(&vp->addr, ab, sizeof(ab)), err);
	else
		log_info("released VIPA %s on %s", addr_fmt(&vp->addr, ab, sizeof(ab)),
			 vp->ifname);
	vs->owned = false;
	vs->since = time(NULL);
	vs->changed_ms = daemon_wall_ms();
}

/* --- roles (distribution and takeover, doc/architecture.md) ------------------------------------------------
 *
 * The ownership rule and the ready decision are common/roles (pure, unit
 * tested): here the daemon fills their snapshot from what it knows (CDAT
 * reachability, the READY/LEAVING flags and VIPA claims carried by
 * heartbeats, our own state) and acts on the answers.  A node not heard yet
 * counts as alive until its heartbeats go unanswered `retry` times, but not
 * as ready. */

/* The rule's inputs now, in one allocation (a few bytes per node and VIPA,
 * read within the call): false when out of memory, and the caller keeps
 * things as they are until its next pass. */
static bool daemon_roles_snap(const struct daemon *d, struct roles_snap *s)
{
	const struct cfg *c = d->cfg;
	size_t nn = c->n_nodes, nv = c->n_vipas;
	struct roles_node *nodes;
	uint8_t *bits;

	nodes = calloc(nn ? nn : 1, sizeof(*nodes) + nv);
	if (!nodes)
		return false;
	bits = (uint8_t *)(nodes + nn);
	for (size_t n = 0; n < nn; n++) {
		struct roles_node *rn = &nodes[n];
		const struct member_node *mn;

		if ((long)n == c->self) {
			rn->alive = rn->heard = true;
			rn->ready = d->ready;
			rn->leaving = d->leaving;
			for (size_t i = 0; d->vipas && i < nv; i++)
				bits[i * nn + n] = (d->vipas[i].owned ? ROLES_CLAIMS : 0) |
						   (d->vipas[i].yield ? ROLES_YIELDS : 0);
			continue;
		}
		if (n >= d->n_peers)
			continue;	/* no slot (a reload half done): not alive */
		mn = &d->peers[n].mn;
		rn->alive = dsync_node_alive(d, n);
		rn->heard = mn->heard;
		rn->ready = mn->flags & WIRE_F_READY;
		rn->leaving = mn->flags & WIRE_F_LEAVING;
		/* And its associations, where it has some for us: a node that
		 * distributes before it has them would abort live ones. */
		rn->bulk = d->peers[n].bulk_from &&
			   (!dsctp_peer_shares(d, n) || dsctp_bulk_from(d, n));
		for (size_t i = 0; i < nv; i++) {
			const struct ip_addr *a = &c->vipas[i].addr;

			for (size_t k = 0; k < mn->n_owns; k++)
				if (addr_eq(&mn->owns[k], a))
					bits[i * nn + n] |= ROLES_CLAIMS;
			for (size_t k = 0; k < mn->n_yields; k++)
				if (addr_eq(&mn->yields[k], a))
					bits[i * nn + n] |= ROLES_YIELDS;
		}
	}
	*s = (struct roles_snap){ .cfg = c, .nodes = nodes, .bits = bits };
	return true;
}

static void daemon_roles_snap_free(struct roles_snap *s)
{
	free((void *)s->nodes);
	s->nodes = NULL;
	s->bits = NULL;
}

static int daemon_failover(struct daemon *d, const char *vipa, char *err, size_t errlen)
{
	struct roles_snap s;
	struct ip_addr a;
	long i = -1, backup;

	if (!vipa || !addr_parse(&a, vipa)) {
		snprintf(err, errlen, "failover: give a VIPA address");
		return -1;
	}
	for (size_t k = 0; k < d->cfg->n_vipas; k++)
		if (addr_eq(&d->cfg->vipas[k].addr, &a))
			i = (long)k;
	if (i < 0) {
		snprintf(err, errlen, "%s is not a VIPA of this cluster", vipa);
		return -1;
	}
	if (!d->vipas[i].owned) {
		snprintf(err, errlen, "this node does not distribute %s (%s does): run failover there",
			 vipa, d->vipas[i].owner[0] ? d->vipas[i].owner : "nobody");
		return -1;
	}
	if (!daemon_roles_snap(d, &s)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	backup = roles_pick(&s, (size_t)i, d->cfg->self);
	daemon_roles_snap_free(&s);
	if (backup < 0) {
		snprintf(err, errlen, "no other distributor of %s is alive and ready", vipa);
		return -1;
	}
	/* The replica is already there (replication), but for what the workers
	 * logged since the last period: it goes now, ahead of the heartbeat
	 * that says we yield.  The backup takes over as soon as that heartbeat
	 * comes; we keep forwarding stragglers. */
	drepl_flush(d, "failover");
	d->vipas[i].yield = true;
	log_info("failover of VIPA %s to %s asked", vipa, d->cfg->nodes[backup].name);
	return 0;
}

/* A starting node becomes ready once the distributors of its VIPAs sent it
 * their tables (roles_ready says when).  Lowers *next (NULL: not asked) to
 * the time the answer changes by the passing of time alone. */
static void daemon_update_ready(struct daemon *d, uint64_t *next)
{
	struct roles_snap s;
	enum roles_ready r;

	if (d->ready || d->leaving)
		return;
	if (!daemon_roles_snap(d, &s))
		return;		/* out of memory: the next pass asks again */
	r = roles_ready(&s, d->start_ms, daemon_now_ms(), next);
	daemon_roles_snap_free(&s);
	if (!roles_ready_now(r))
		return;
	d->ready = true;
	__atomic_store_n(&d->sctp_ready, true, __ATOMIC_RELAXED);
	if (r == ROLES_READY_FORCED)
		log_warn("ready to distribute: %s", roles_ready_str(r));
	else
		log_info("ready to distribute (%s)", roles_ready_str(r));
}

#define ANNOUNCE_COUNT 5	/* announcements after taking a VIPA, a heartbeat apart: a
				 * link that just came up may lose the first ones */

static void daemon_announce(struct daemon *d, size_t i, bool contested)
{
	const struct cfg_vipa *vp = &d->cfg->vipas[i];
	struct vipa_state *vs = &d->vipas[i];
	uint64_t now = daemon_now_ms();
	char err[256], ab[ADDR_STRLEN];

	if (contested && !vs->announce_left) {
		/* Someone else says it is ours too (a partition that healed):
		 * the rule gives it to us, so make the network agree. */
		log_info("VIPA %s also claimed by another node: announcing it again",
			 addr_fmt(&vp->addr, ab, sizeof(ab)));
		vs->announce_left = ANNOUNCE_COUNT;
	}
	if (!vs->announce_left || now < vs->next_announce_ms)
		return;
	if (vipaddr_ann_send(&d->ann, vp->ifname, &vp->addr, err, sizeof(err)) < 0)
		log_warn("announcing VIPA %s: %s", addr_fmt(&vp->addr, ab, sizeof(ab)), err);
	vs->announce_left--;
	vs->next_announce_ms = now + d->cfg->heartbeat_ms;
}

/* The alternate address goes to `holder`: the node after the VIPA's owner
 * by the same rule (the owner itself when it is alone), so that the client
 * sees two addresses of one endpoint on two nodes.  True when ours changed. */
static bool daemon_alt_role(struct daemon *d, size_t i, long holder)
{
	const struct cfg *c = d->cfg;
	const struct cfg_vipa *vp = &c->vipas[i];
	struct vipa_state *vs = &d->vipas[i];
	uint64_t now = daemon_now_ms();
	char err[256], ab[ADDR_STRLEN];
	bool changed = false;

	snprintf(vs->alt_holder, sizeof(vs->alt_holder), "%s",
		 holder >= 0 ? c->nodes[holder].name : "");
	if (holder == c->self && !vs->alt_owned) {
		if (vipaddr_add(vp->ifname, &vp->alt, err, sizeof(err)) < 0) {
			log_err("adding alternate address %s to %s: %s",
				addr_fmt(&vp->alt, ab, sizeof(ab)), vp->ifname, err);
			return false;
		}
		vs->alt_owned = true;
		vs->alt_announce_left = ANNOUNCE_COUNT;
		vs->alt_next_announce_ms = 0;
		log_info("now holding alternate address %s of VIPA %s on %s",
			 addr_fmt(&vp->alt, ab, sizeof(ab)), addr_fmt(&vp->addr, err, sizeof(err)),
			 vp->ifname);
		changed = true;
	} else if (holder != c->self && vs->alt_owned) {
		/* Whoever takes it must know our associations. */
		drepl_flush(d, "alternate address let go");
		daemon_alt_release(vp, vs);
		changed = true;
	}
	if (vs->alt_owned && d->reannounce && !vs->alt_announce_left)
		vs->alt_announce_left = ANNOUNCE_COUNT;
	if (vs->alt_owned && vs->alt_announce_left && now >= vs->alt_next_announce_ms) {
		if (vipaddr_ann_send(&d->ann, vp->ifname, &vp->alt, err, sizeof(err)) < 0)
			log_warn("announcing alternate address %s: %s",
				 addr_fmt(&vp->alt, ab, sizeof(ab)), err);
		vs->alt_announce_left--;
		vs->alt_next_announce_ms = now + c->heartbeat_ms;
	}
	return changed;
}

static bool daemon_roles(struct daemon *d)
{
	static struct log_rl rl;
	const struct cfg *c = d->cfg;
	bool changed = false;
	uint64_t taken = 0;
	struct roles_snap s;

	/* One snapshot for all VIPAs: taking or releasing VIPA i changes
	 * only VIPA i's inputs. */
	if (!daemon_roles_snap(d, &s)) {
		log_rl(&rl, 1, LOG_ERR, "roles: out of memory: VIPAs stay as they are");
		return false;
	}
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *vp = &c->vipas[i];
		struct vipa_state *vs = &d->vipas[i];
		long owner = roles_owner(&s, i);
		long backup = owner < 0 ? -1 : roles_pick(&s, i, owner);
		char err[256], ab[ADDR_STRLEN];

		snprintf(vs->owner, sizeof(vs->owner), "%s",
			 owner >= 0 ? c->nodes[owner].name : "");
		snprintf(vs->backup, sizeof(vs->backup), "%s",
			 owner >= 0 && backup >= 0 ? c->nodes[backup].name : "");
		if (owner == c->self && !vs->owned) {
			if (vipaddr_add(vp->ifname, &vp->addr, err, sizeof(err)) < 0) {
				log_err("adding VIPA %s to %s: %s",
					addr_fmt(&vp->addr, ab, sizeof(ab)), vp->ifname, err);
				continue;
			}
			vs->announce_left = ANNOUNCE_COUNT;
			vs->next_announce_ms = 0;
			vs->owned = true;
			vs->since = time(NULL);
			vs->changed_ms = daemon_wall_ms();
			if (i < 64)
				taken |= 1ull << i;
			log_info("now distributing VIPA %s on %s",
				 addr_fmt(&vp->addr, ab, sizeof(ab)), vp->ifname);
			/* Tell the others at once, and rebuild what replication
			 * may have missed from the targets (takeover, doc/architecture.md). */
			drepl_request_reports(d, i);
			changed = true;
		} else if (owner != c->self && vs->owned) {
			/* The new owner must know our last connections (a
			 * takeback by preemption: periodic mode may hold them). */
			drepl_flush(d, "VIPA let go");
			daemon_vipa_release(d, vp, vs);
			changed = true;
		}
		if (vs->owned && d->reannounce && !vs->announce_left)
			vs->announce_left = ANNOUNCE_COUNT;
		if (vs->owned)
			daemon_announce(d, i, roles_contested(&s, i));
		if (vp->has_alt && daemon_alt_role(d, i, owner < 0 ? -1 : backup >= 0 ? backup : owner))
			changed = true;
	}
	daemon_roles_snap_free(&s);
	d->reannounce = false;
	if (taken) {
		/* Time the takeover: disarm, describe, arm (workers read only
		 * `armed` and write the stamps). */
		__atomic_store_n(&d->takeover.armed, 0, __ATOMIC_SEQ_CST);
		d->takeover.mask = taken;
		d->takeover.at_ms = daemon_wall_ms();
		__atomic_store_n(&d->takeover.first_fwd_ms, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&d->takeover.armed, taken, __ATOMIC_SEQ_CST);
	}
	return changed;
}

/* Leaving: done once every peer acknowledged what we replicated (the
 * final sync) and the others had two heartbeats to see us leave; at most
 * LEAVE_MS after the signal. */
#define LEAVE_MS 2000

static bool daemon_left(struct daemon *d, uint64_t now)
{
	if (now - d->leave_ms >= LEAVE_MS)
		return true;
	if (now - d->leave_ms < 2 * (uint64_t)d->cfg->heartbeat_ms)
		return false;
	for (size_t n = 0; n < d->n_peers; n++)
		if (d->peers[n].tx && dsync_node_alive(d, n) &&
		    (rel_tx_queued(d->peers[n].tx) || drepl_backlog_len(d, n) ||
		     dsctp_backlog_len(d, n)))
			return false;
	return true;
}

/* --- rules ------------------------------------------------------------------ */

/* Room in each fast-path map: every worker's table full of that service's
 * flows, which no map can exceed; capped so that a huge conn_max does not
 * overflow the kernel's u32. */
static uint32_t daemon_fp_map_size(const struct daemon *d)
{
	uint64_t n = (uint64_t)d->cfg->conn_max * (d->n_workers ? d->n_workers : 1);

	return n > (1u << 26) ? 1u << 26 : (uint32_t)n;
}

static int daemon_install_rules(struct daemon *d, char *err, size_t errlen)
{
	struct rules_opts o = {
		.workers = d->n_workers,
		.queue_base = d->queue_base,
		.native_queue = d->native_queue,
		.fastpath = d->cfg->fastpath,
		.fastpath_dist = d->cfg->fastpath && d->fp_dist_ok,
		.fp_tcp_timeout_ms = d->cfg->tcp_est_timeout * 1000u,
		.fp_udp_timeout_ms = d->cfg->udp_timeout * 1000u,
		.fp_map_size = daemon_fp_map_size(d),
	};
	struct rules *r;
	int ret;

	if (!d->cfg->manage_rules)
		return 0;
	r = rules_build(d->cfg, d->cfg->self, &o);
	if (!r) {
		snprintf(err, errlen, "out of memory building the ruleset");
		return -1;
	}
	ret = rules_nft_install(r, err, errlen);
	rules_free(r);
	if (ret == 0) {
		d->rules_installed = true;
		__atomic_store_n(&d->fp_dist, o.fastpath_dist, __ATOMIC_SEQ_CST);
	}
	return ret;
}

/* The workers' flows go back into the maps the rules just recreated:
 * called once the view that matches those rules is the workers'. */
static void daemon_fp_refill(struct daemon *d)
{
	if (__atomic_load_n(&d->fp_dist, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&d->fp_epoch, 1, __ATOMIC_SEQ_CST);
		for (unsigned i = 0; i < d->n_workers; i++) {
			uint64_t one = 1;

			if (d->workers[i].stop_fd >= 0 &&
			    write(d->workers[i].stop_fd, &one, sizeof(one)) < 0)
				log_debug("waking worker %u: %s", i, strerror(errno));
		}
	}
}

/* --- the roles subsystem: VIPA state follows the configuration ------------- */

struct vipas_prep {
	struct vipa_state *vs;		/* [nc->n_vipas], zeroed */
	const struct cfg *oc;		/* the configuration d->vipas follows */
};

static int vipas_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			 size_t len)
{
	struct vipas_prep *p = cd_calloc(1, sizeof(*p));

	if (p)
		p->vs = cd_calloc(nc->n_vipas ? nc->n_vipas : 1, sizeof(*p->vs));
	if (!p || !p->vs) {
		free(p);
		snprintf(err, len, "out of memory for %zu VIPAs", nc->n_vipas);
		return -1;
	}
	p->oc = d->cfg;
	*prep = p;
	return 0;
}

static void vipas_abort(struct daemon *d, void *prep)
{
	struct vipas_prep *p = prep;

	(void)d;
	free(p->vs);
	free(p);
}

/* Carries each VIPA's state by address and interface; one the new file no
 * longer has (or moved to another interface) is released. */
static void vipas_commit(struct daemon *d, void *prep)
{
	struct vipas_prep *p = prep;
	const struct cfg *oc = p->oc, *nc = d->cfg;

	for (size_t i = 0; d->vipas && i < oc->n_vipas; i++) {
		bool kept = false;

		for (size_t j = 0; j < nc->n_vipas; j++) {
			if (addr_eq(&oc->vipas[i].addr, &nc->vipas[j].addr) &&
			    !strcmp(oc->vipas[i].ifname, nc->vipas[j].ifname)) {
				p->vs[j] = d->vipas[i];
				kept = true;
			}
		}
		if (!kept) {
			daemon_vipa_release(d, &oc->vipas[i], &d->vipas[i]);
			daemon_alt_release(&oc->vipas[i], &d->vipas[i]);
		} else {
			/* An alternate address the new file changed or removed. */
			for (size_t j = 0; j < nc->n_vipas; j++)
				if (addr_eq(&oc->vipas[i].addr, &nc->vipas[j].addr) &&
				    !strcmp(oc->vipas[i].ifname, nc->vipas[j].ifname) &&
				    d->vipas[i].alt_owned &&
				    (!nc->vipas[j].has_alt ||
				     !addr_eq(&nc->vipas[j].alt, &oc->vipas[i].alt))) {
					daemon_alt_release(&oc->vipas[i], &p->vs[j]);
				}
		}
	}
	free(d->vipas);
	d->vipas = p->vs;
	free(p);
}

static const struct subsys vipas_subsys = {
	.name = "roles",
	.prepare = vipas_prepare,
	.commit = vipas_commit,
	.abort = vipas_abort,
};

/* --- the fast path's counters ---------------------------------------------- */

/* What the target's static reply rewrites (rules/rules.h) counted: read
 * from the kernel at each stats walk of a target, one small dump of our own
 * output chain (also with manage_rules = false: the operator's table has
 * the same name);
 * well under a millisecond for a few dozen rules.  The kernel's counters
 * start again at 0 whenever the table is replaced (start, reload).  Off:
 * zeros, nothing asked. */
static bool fastpath_has_rules(const struct cfg *c)
{
	if (!c->fastpath || c->self < 0)
		return false;
	for (size_t v = 0; v < c->n_vipas; v++)
		for (size_t s = 0; s < c->vipas[v].n_svcs; s++) {
			const struct cfg_service *sv = &c->vipas[v].svcs[s];

			if ((sv->proto == IPPROTO_TCP || sv->proto == IPPROTO_UDP) && !sv->handoff &&
			    cfg_serves(&c->vipas[v], sv, (size_t)c->self))
				return true;
		}
	return false;
}

static void fastpath_stats(struct daemon *d, subsys_emit *emit, void *arg)
{
	struct rules_nft_fastpath fp = { 0 };
	char err[256];

	/* A node with neither a target's rewrite rules nor a distributor's
	 * maps has nothing to ask.  Otherwise one dump per chain at each walk:
	 * about half a millisecond, no more than building the answer costs,
	 * and never stale. */
	unsigned which = (fastpath_has_rules(d->cfg) ? RULES_NFT_FP_TARGET : 0) |
			 (__atomic_load_n(&d->fp_dist, __ATOMIC_RELAXED) ? RULES_NFT_FP_DIST : 0);

	if (which && !d->fp_ctr)
		d->fp_ctr = rules_nft_sock_open(err, sizeof(err));	/* once, else per read */
	if (which && (d->fp_ctr ? rules_nft_fastpath_read_on(d->fp_ctr, &fp, which, err,
							      sizeof(err))
				: rules_nft_fastpath_read(&fp, which, err, sizeof(err))) < 0)
		log_debug("stats: %s", err);
	emit(arg, "fastpath.target_packets", fp.packets);
	emit(arg, "fastpath.target_bytes", fp.bytes);
	emit(arg, "fastpath.dist_packets", fp.dist_packets);
	emit(arg, "fastpath.dist_bytes", fp.dist_bytes);
}

static const struct subsys fastpath_subsys = {
	.name = "fastpath",
	.stats = fastpath_stats,
};

/* The subsystems, in the order a (re)load prepares and commits them: the
 * peer table first (the others index it), then the sync channel and CDAT,
 * replication, handoff, roles. */
static const struct subsys *const daemon_subsys[] = {
	&peer_subsys, &dsync_subsys, &drepl_subsys, &dhand_subsys, &dsctp_subsys, &sprobe_subsys,
	&vipas_subsys, &notify_subsys, &metrics_subsys, &fastpath_subsys,
};

/* --- reload ------------------------------------------------------------------ */

/* Makes nc the configuration: every subsystem prepared for it, or none
 * changed.  At start d->cfg is nc already (nothing to carry). */
static int daemon_apply(struct daemon *d, struct cfg *nc, char *err, size_t errlen)
{
	void *prep[SUBSYS_MAX];
	size_t n = sizeof(daemon_subsys) / sizeof(daemon_subsys[0]);

	if (subsys_prepare_all(d, daemon_subsys, n, nc, prep, err, errlen) < 0)
		return -1;
	d->cfg = nc;
	subsys_commit_all(d, daemon_subsys, n, prep);
	return 0;
}

static int daemon_reload_try(struct daemon *d, char *err, size_t errlen)
{
	struct cfg *nc, *oc = d->cfg;
	struct view *old;
	char why[CFG_ERR_MAX];

	nc = cfg_load(d->conf_path, d->node_override, err, errlen);
	if (!nc)
		return -1;
	if (nc->self < 0) {
		snprintf(err, errlen, "%s: node '%s' is not in nodes", nc->path, nc->node_name);
		cfg_free(nc);
		return -1;
	}
	if (nc->queue_base != oc->queue_base || nc->sync_port != oc->sync_port ||
	    (nc->workers && nc->workers != d->n_workers) ||
	    !addr_eq(&nc->sync_group, &oc->sync_group) ||
	    strcmp(nc->sync_ifname, oc->sync_ifname))
		log_warn("reload: changes to workers, queue_base and cluster.sync's port, group "
			 "and interface take effect at restart");

	/* Everything prepared, or nothing changed: the old configuration
	 * stays whole and in effect. */
	if (daemon_apply(d, nc, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: cannot apply: %s", nc->path, why);
		cfg_free(nc);
		return -1;
	}
	d->cfg_gen++;
	d->cfg_loaded_ms = daemon_now_ms();
	d->reloads++;
	daemon_self_queries(d);
	daemon_scan(d);
	if (d->rules_installed || nc->manage_rules) {
		if (daemon_install_rules(d, err, errlen) < 0)
			log_err("reload: installing rules: %s (previous rules stay)", err);
	}
	if (!nc->manage_rules && d->rules_installed) {
		rules_nft_remove(err, errlen);
		d->rules_installed = false;
	}
	/* Swap the view; the old configuration goes with the old view, once no
	 * worker can hold it. */
	old = d->view;
	{
		struct view_input in;
		bool alive[nc->n_nodes ? nc->n_nodes : 1], drained[nc->n_nodes ? nc->n_nodes : 1];
		struct view *nv;

		for (size_t n = 0; n < nc->n_nodes; n++) {
			alive[n] = dsync_node_alive(d, n);
			drained[n] = d->peers[n].drained;
		}
		in = (struct view_input){ .cfg = nc, .self = nc->self, .alive = alive,
					  .drained = drained, .listening = daemon_listening_cb,
					  .heard = daemon_heard_cb, .arg = d, .prev = NULL,
					  .generation = old->generation + 1,
					  .cfg_gen = d->cfg_gen };
		nv = view_build(&in);
		if (!nv) {
			/* The configuration is in effect; the workers keep the
			 * old view (and its configuration) until the main loop
			 * builds the new one: no half state. */
			if (d->cfg_retired)
				cfg_free(oc);	/* no view ever used it */
			else
				d->cfg_retired = oc;
			d->view_dirty = true;
			log_err("reload: out of memory building the routing view; the previous "
				"one routes until it can be built");
		} else {
			worker_swap_view(d, nv, d->cfg_retired ? d->cfg_retired : oc);
			if (d->cfg_retired) {
				cfg_free(oc);	/* between two views: no worker saw it */
				d->cfg_retired = NULL;
			}
		}
	}
	daemon_fp_refill(d);
	daemon_roles(d);
	log_info("configuration reloaded from %s (generation %llu)", nc->path,
		 (unsigned long long)d->view->generation);
	return 0;
}

/* SIGHUP and clusterctl reload: a refusal is logged here and returned. */
static int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	/* systemd: RELOADING=1 now, READY=1 after, refused or not (the daemon
	 * runs on; a refusal goes in STATUS=). */
	notify_reloading(d);
	if (daemon_reload_try(d, err, errlen) == 0) {
		notify_reloaded(d, NULL);
		return 0;
	}
	log_err("reload refused, keeping the running configuration: %s", err);
	notify_reloaded(d, err);
	return -1;
}

/* --- the daemon ------------------------------------------------------------- */

static unsigned daemon_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/* Past start-up the daemon needs CAP_NET_ADMIN only: the ruleset (reload,
 * exit), the VIPA address (takeover), NFQUEUE verdicts (nfnetlink checks
 * the sending thread).  Its raw sockets are open by then, so everything
 * else goes, CAP_NET_RAW included, from the bounding set too (as root an
 * exec would get them back).  Capabilities are per thread: this runs
 * before any thread starts.  Uses the raw syscalls, no libcap. */
static void daemon_drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];
	const unsigned ki = CAP_TO_INDEX(CAP_NET_ADMIN);
	const uint32_t km = CAP_TO_MASK(CAP_NET_ADMIN);
	unsigned dropped = 0;
	bool raw, admin;

	if (syscall(SYS_capget, &h, c) < 0) {
		log_warn("capabilities: capget: %s (none dropped)", strerror(errno));
		return;
	}
	admin = c[ki].permitted & km;
	raw = c[CAP_TO_INDEX(CAP_NET_RAW)].permitted & CAP_TO_MASK(CAP_NET_RAW);
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes next.  Without it (not root) every call fails with EPERM;
	 * EINVAL means past the kernel's last capability. */
	for (int cap = 0; cap < 64; cap++)
		if (cap != CAP_NET_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno == EINVAL)
			break;
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t keep = i == ki ? km : 0;

		dropped += (unsigned)__builtin_popcount(c[i].permitted & ~keep);
		c[i].effective &= keep;
		c[i].permitted &= keep;	/* the ambient set follows */
		c[i].inheritable &= keep;
	}
	if (syscall(SYS_capset, &h, c) < 0) {
		log_warn("capabilities: capset: %s (none dropped)", strerror(errno));
		return;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_info("capabilities: keeping %s; dropped %u%s", admin ? "CAP_NET_ADMIN" :
		 "none (CAP_NET_ADMIN missing)", dropped, raw ? ", CAP_NET_RAW among them" : "");
}

/* What clusterctl's acting commands call (daemon/ctl.h). */
static const struct ctl_ops daemon_ctl_ops = {
	.reload = daemon_reload,
	.failover = daemon_failover,
	.mark_dirty = daemon_mark_dirty,
};

static int daemon_run(struct daemon *d)
{
	struct cfg *c = d->cfg;
	char err[CFG_ERR_MAX];
	int ret = 1, sfd = -1, lfd = -1, ep = -1;
	struct ctl_server *ctl = NULL;
	sigset_t mask;
	struct epoll_event ev;
	struct timespec ts;

	if (c->self < 0) {
		log_err("%s: node '%s' is not in nodes (set `node` or use -n)", c->path,
			c->node_name);
		return 1;
	}
	if (key_load(c->key_file, &d->keys, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	d->n_workers = c->workers ? c->workers : daemon_cpus();
	d->queue_base = c->queue_base;
	d->started = time(NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* A boot epoch that grows across restarts, whatever the clock does:
	 * peers reset their replay window for us when it grows, and refuse
	 * every message of ours while it is lower than the last they saw. */
	{
		uint64_t now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		char epath[PATH_MAX];

		if (mkdir(d->state_dir, 0755) < 0 && errno != EEXIST)
			log_warn("creating %s: %s", d->state_dir, strerror(errno));
		snprintf(epath, sizeof(epath), "%s/epoch", d->state_dir);
		if (epoch_next(epath, now_ns, &d->epoch, err, sizeof(err)) < 0) {
			log_warn("%s: boot epoch taken from the clock, which peers refuse if it "
				 "went back since the last start", err);
			d->epoch = now_ns;
		} else if (err[0]) {
			log_warn("%s (the epoch file was written)", err);
		}
	}

	d->subsys = daemon_subsys;
	d->n_subsys = sizeof(daemon_subsys) / sizeof(daemon_subsys[0]);
	if (subsys_check(d->subsys, d->n_subsys, err, sizeof(err)) < 0) {
		log_err("subsystem table: %s", err);	/* a bug */
		return 1;
	}
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (!d->workers || drepl_init(d) < 0) {
		log_err("out of memory");
		return 1;
	}
	/* The same prepare and commit as a reload, from nothing. */
	if (daemon_apply(d, c, err, sizeof(err)) < 0) {
		log_err("%s: %s", c->path, err);
		return 1;
	}
	d->start_ms = d->cfg_loaded_ms = daemon_now_ms();
	/* An address of ours left behind by a crash: we are not ready to
	 * distribute yet, and another node may hold the VIPA by now. */
	for (size_t i = 0; i < c->n_vipas; i++) {
		char ab[ADDR_STRLEN];

		if (c->vipas[i].has_alt && vipaddr_present(c->vipas[i].ifname, &c->vipas[i].alt)) {
			log_warn("removing alternate address %s left on %s",
				 addr_fmt(&c->vipas[i].alt, ab, sizeof(ab)), c->vipas[i].ifname);
			d->vipas[i].alt_owned = true;
			daemon_alt_release(&c->vipas[i], &d->vipas[i]);
		}
		if (!vipaddr_present(c->vipas[i].ifname, &c->vipas[i].addr))
			continue;
		log_warn("removing VIPA %s left on %s", addr_fmt(&c->vipas[i].addr, ab, sizeof(ab)),
			 c->vipas[i].ifname);
		d->vipas[i].owned = true;
		daemon_vipa_release(d, &c->vipas[i], &d->vipas[i]);
	}
	if (dsync_open(d, err, sizeof(err)) < 0) {
		log_err("sync channel: %s", err);
		return 1;
	}
	/* Handoff's rings and raw sockets: before capabilities are dropped. */
	if (dhand_open(d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	/* SCTP: the workers' event ring, and the listener probes' raw sockets
	 * (before capabilities are dropped). */
	if (dsctp_open(d) < 0) {
		log_err("sctp: cannot allocate its event ring");
		return 1;
	}
	if (sprobe_open(d, err, sizeof(err)) < 0)
		log_warn("SCTP listener probes: %s (SCTP servers the kernel cannot see count "
			 "as not listening)", err);
	daemon_self_queries(d);
	daemon_scan(d);
	if (daemon_rebuild_view(d) < 0)
		return 1;

	/* systemd's notification socket: from here on every failure goes
	 * through `out`, which closes it. */
	notify_open(d);

	/* Signals go to the signalfd only; block them before any thread starts
	 * so every thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	/* Queues first: with the rules in place and no reader the kernel drops. */
	for (unsigned i = 0; i < d->n_workers; i++) {
		if (worker_init(d, &d->workers[i], i, err, sizeof(err)) < 0) {
			log_err("%s", err);
			d->n_workers = i + 1;
			goto out;
		}
	}
	/* Every raw socket is open now (workers: RST / ICMP replies; these:
	 * announcements at takeover, however late): CAP_NET_RAW can go. */
	if (vipaddr_ann_open(&d->ann, err, sizeof(err)) < 0)
		log_warn("announcement sockets: %s (VIPAs of that family are taken over "
			 "unannounced)", err);
	daemon_drop_caps();
	for (unsigned i = 0; i < d->n_workers; i++) {
		if (worker_start(&d->workers[i]) < 0) {
			log_err("cannot start worker %u", i);
			goto out;
		}
	}
	if (c->manage_rules) {
		int fp;

		if (rules_nft_probe(&d->native_queue, err, sizeof(err)) < 0) {
			log_err("nftables: %s", err);
			goto out;
		}
		/* The distributor's maps need element removals that cannot fail
		 * (rules/fpmap.h): without them the targets' rewrite still
		 * works, the distributor queues everything. */
		fp = rules_nft_probe_destroy(err, sizeof(err));
		d->fp_dist_ok = fp == 1;
		if (fp == 0)
			log_warn("nftables: this kernel has no DESTROYSETELEM (Linux 6.3 and later "
				 "have it): the distributor's fast path is off, every packet to a "
				 "VIPA is queued");
		else if (fp < 0)
			log_warn("nftables: %s: the distributor's fast path is off", err);
		if (daemon_install_rules(d, err, sizeof(err)) < 0) {
			log_err("nftables: %s", err);
			goto out;
		}
		log_info("ruleset installed (table inet clusterd, %s queue %u-%u)",
			 d->native_queue ? "native" : "xtables", d->queue_base,
			 d->queue_base + d->n_workers - 1);
	} else {
		/* Say whose the table is: an operator who sees no "ruleset
		 * installed" line should not have to guess. */
		log_info("rules are external (manage_rules = false): load them with nft -f "
			 "(clusterd --print-rules); queues %u-%u", d->queue_base,
			 d->queue_base + d->n_workers - 1);
	}
	d->ctl = ctl = ctl_open(d->sock_path[0] ? d->sock_path : c->control_socket,
				&daemon_ctl_ops, err, sizeof(err));
	if (!ctl) {
		log_err("%s", err);
		goto out;
	}
	if (!d->sock_path[0])
		snprintf(d->sock_path, sizeof(d->sock_path), "%s", c->control_socket);

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = lfd = ctl_fd(ctl);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = chan_fd(d->chan);
	epoll_ctl(ep, EPOLL_CTL_ADD, chan_fd(d->chan), &ev);
	/* The workers' connection logs wake the loop (daemon/connlog.h). */
	for (unsigned i = 0; i < d->n_workers; i++) {
		ev.data.fd = d->workers[i].log->wake_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	/* So do their handoff events (daemon/dhand.h). */
	ev.data.fd = dhand_wake_fd(d);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	/* SCTP: the workers' association events, the probes' answers. */
	if ((ev.data.fd = dsctp_wake_fd(d)) >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	for (int f = 0; f < 2; f++)
		if ((ev.data.fd = sprobe_fd(d, f)) >= 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	/* The metrics endpoint: the same epoll fd across reloads, listener or
	 * not (daemon/metrics.h). */
	if ((ev.data.fd = metrics_fd(d)) >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);

	log_info("node %s up: %u workers, queues %u-%u, %zu VIPA(s)", c->node_name, d->n_workers,
		 d->queue_base, d->queue_base + d->n_workers - 1, c->n_vipas);
	daemon_roles(d);
	d->last_scan_ms = daemon_now_ms();

	/* The loop sleeps until the earliest deadline of its timers (each
	 * lowers `next`: heartbeats, misses, the CDAT protocol, the reliable
	 * channels, replication, readiness, announcements, leaving, the
	 * listener scan, the control clients' timeouts) or until an fd wakes
	 * it: a datagram, a signal, the control socket, a worker's log.  Every
	 * pass runs every timer: what is not due does nothing. */
	d->hb_now = true;
	for (bool running = true; running;) {
		struct epoll_event evs[8];
		uint64_t now = daemon_now_ms(), next = UINT64_MAX;
		int n;

		/* The subsystems' timers: liveness changes by the passing of time,
		 * not only by messages (sync), replication drains the workers'
		 * logs. */
		subsys_tick_all(d, d->subsys, d->n_subsys, now, &next);
		daemon_update_ready(d, &next);
		if (d->view_dirty)
			daemon_rebuild_view(d);
		/* A worker lets go of an old view within a batch or a poll. */
		if (worker_reclaim(d) && now + 10 < next)
			next = now + 10;
		if (daemon_roles(d)) {
			d->hb_now = true;	/* our claims changed: say so now */
			next = now;
		}
		/* After the roles: READY=1's STATUS= shows the VIPAs just taken. */
		notify_ready(d);
		c = d->cfg;
		for (size_t i = 0; i < c->n_vipas; i++)
			if (d->vipas[i].owned && d->vipas[i].announce_left &&
			    d->vipas[i].next_announce_ms < next)
				next = d->vipas[i].next_announce_ms;
		for (size_t i = 0; i < c->n_vipas; i++)
			if (d->vipas[i].alt_owned && d->vipas[i].alt_announce_left &&
			    d->vipas[i].alt_next_announce_ms < next)
				next = d->vipas[i].alt_next_announce_ms;
		if (d->leaving) {
			uint64_t t = d->leave_ms + 2 * (uint64_t)c->heartbeat_ms;

			if (daemon_left(d, now))
				break;
			/* Its other condition (every peer acknowledged) comes by
			 * message. */
			t = now < t ? t : d->leave_ms + LEAVE_MS;
			if (t < next)
				next = t;
		}
		if (d->n_self_listen && d->last_scan_ms + SCAN_MS < next)
			next = d->last_scan_ms + SCAN_MS;
		if (ctl_next_deadline(ctl) < next)
			next = ctl_next_deadline(ctl);

		now = daemon_now_ms();
		n = epoll_wait(ep, evs, 8, next <= now ? 0 : next - now > INT_MAX ? INT_MAX :
				   (int)(next - now));
		now = daemon_now_ms();
		for (int i = 0; i < n && !d->fatal; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						daemon_reload(d, err, sizeof(err));	/* logs */
					} else if (!d->leaving) {
						/* Announced failure (takeover, doc/architecture.md): say
						 * so, let the backup take over, keep
						 * forwarding and syncing until it has
						 * everything, then go. */
						log_info("signal %u: leaving the cluster",
							 si.ssi_signo);
						/* Before the heartbeat that says so:
						 * the backup must have our last
						 * connections when it takes over. */
						drepl_flush(d, "leaving");
						d->leaving = true;
						d->leave_ms = now;
						d->hb_now = true;
						notify_stopping(d);
					} else {
						running = false;	/* second signal */
					}
				}
			} else if (fd == metrics_fd(d)) {
				metrics_serve(d);
			} else if (fd == lfd) {
				/* served below, with the clients' timeouts */
			} else if (fd == chan_fd(d->chan)) {
				if (dsync_receive(d))
					d->view_dirty = true;
			} else if (fd == dhand_wake_fd(d)) {
				dhand_drain(d);	/* resets the eventfd */
			} else if (fd == dsctp_wake_fd(d)) {
				dsctp_drain(d);	/* resets the eventfd */
			} else if (fd == sprobe_fd(d, 0) || fd == sprobe_fd(d, 1)) {
				sprobe_input(d, fd);
			} else {
				uint64_t v;

				/* A worker's log: replication drains it in
				 * drepl_tick; this resets the eventfd. */
				if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("reading a worker's wake-up: %s",
						 strerror(errno));
			}
		}
		if (!d->fatal)
			ctl_serve(d, ctl);
		if (d->fatal)
			break;
		c = d->cfg;
		if (d->n_self_listen && now - d->last_scan_ms >= SCAN_MS) {
			d->last_scan_ms = now;
			if (daemon_scan(d)) {
				d->view_dirty = true;
				d->hb_now = true;	/* tell the distributors at once */
			}
		}
	}
	ret = d->fatal ? 1 : 0;
out:
	/* VIPA first (stop attracting traffic), then rules, then the queues. */
	for (size_t i = 0; d->vipas && i < d->cfg->n_vipas; i++) {
		daemon_vipa_release(d, &d->cfg->vipas[i], &d->vipas[i]);
		daemon_alt_release(&d->cfg->vipas[i], &d->vipas[i]);
	}
	if (d->rules_installed && rules_nft_remove(err, sizeof(err)) < 0)
		log_err("removing rules: %s", err);
	__atomic_store_n(&d->stop, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_join(&d->workers[i]);
	for (unsigned i = 0; i < d->n_workers; i++)
		if (d->workers[i].conns)
			worker_fini(&d->workers[i]);
	ctl_close(ctl);
	metrics_close(d);
	rules_nft_sock_close(d->fp_ctr);
	d->fp_ctr = NULL;
	d->ctl = NULL;
	vipaddr_ann_close(&d->ann);
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	worker_reclaim(d);	/* workers joined: everything retired goes */
	dhand_close(d);		/* workers joined: nothing pushes or claims */
	dsctp_close(d);
	sprobe_close(d);
	notify_close(d);
	drepl_fini(d);
	dsync_close(d);
	peer_table_free(d->peers, d->n_peers);
	d->peers = NULL;
	d->n_peers = 0;
	view_free(d->view);
	free(d->workers);
	free(d->vipas);
	sodium_memzero(&d->keys, sizeof(d->keys));
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "node", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "print-rules", no_argument, NULL, 'P' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d;
	const char *path = DEFAULT_CONF, *node = NULL, *sock = NULL, *state_dir = STATEDIR;
	bool check = false, print = false, debug = false, fg = false;
	char err[CFG_ERR_MAX], abspath[PATH_MAX];
	struct cfg *c;
	int o, ret;

	while ((o = getopt_long(argc, argv, "f:n:s:dVh", opts, NULL)) != -1) {
		switch (o) {
		case 'f': path = optarg; break;
		case 'n': node = optarg; break;
		case 's': sock = optarg; break;
		case 'S': state_dir = optarg; break;
		case 'F': fg = true; break;
		case 'C': check = true; break;
		case 'P': print = true; break;
		case 'd': debug = true; break;
		case 'V': printf("clusterd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	c = cfg_load(path, node, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		struct wire_keys k;
		uint8_t dg[CFGDIGEST_LEN];
		char dhex[CFGDIGEST_HEX];

		if (key_load(c->key_file, &k, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			cfg_free(c);
			return 1;
		}
		sodium_memzero(&k, sizeof(k));
		/* The digest heartbeats carry (clusterctl status shows it): files
		 * can be compared before they are deployed. */
		cfgdigest_compute(c, dg);
		printf("%s: OK (%zu nodes, %zu VIPAs; this node: %s%s; digest %s)\n", c->path,
		       c->n_nodes, c->n_vipas, c->node_name, c->self < 0 ? ", not listed" : "",
		       cfgdigest_hex(dg, dhex));
		cfg_free(c);
		return 0;
	}
	if (print) {
		struct rules_opts ro = {
			.workers = c->workers ? c->workers : daemon_cpus(),
			.queue_base = c->queue_base,
			.native_queue = true,	/* nft text can only say `queue` */
			.fastpath = c->fastpath,
		};
		struct rules *r;
		char *text;

		if (c->self < 0) {
			fprintf(stderr, "%s: node '%s' is not in nodes (use -n NODE)\n", c->path,
				c->node_name);
			cfg_free(c);
			return 1;
		}
		r = rules_build(c, c->self, &ro);
		text = r ? rules_render(r) : NULL;
		if (text)
			fputs(text, stdout);
		free(text);
		rules_free(r);
		cfg_free(c);
		return text ? 0 : 1;
	}

	memset(&d, 0, sizeof(d));
	d.ann.pkt = d.ann.icmp6 = -1;
	/* daemon() changes to /: a relative -f would break SIGHUP. */
	if (realpath(path, abspath))
		path = abspath;
	d.conf_path = path;
	d.node_override = node;
	d.state_dir = state_dir;
	d.cfg_gen = 1;
	d.foreground = fg;
	d.cfg = c;
	if (sock)
		snprintf(d.sock_path, sizeof(d.sock_path), "%s", sock);
	log_open("clusterd", fg || isatty(STDERR_FILENO), debug ? LOG_DEBUG : LOG_INFO);
	if (!fg && daemon(0, 0) < 0) {
		log_err("daemon(): %s", strerror(errno));
		return 1;
	}
	if (!fg)
		log_open("clusterd", false, debug ? LOG_DEBUG : LOG_INFO);
	ret = daemon_run(&d);
	cfg_free(d.cfg);
	cfg_free(d.cfg_retired);
	return ret;
}
