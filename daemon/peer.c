/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "daemon/ctx.h"
#include "daemon/peer.h"
#include "daemon/subsys.h"

void peer_rel_cfg(const struct cfg *c, struct rel_cfg *rc)
{
	rel_cfg_default(rc);
	/* Resend after two heartbeats without an ACK; ALIVE every heartbeat
	 * when idle, so that a lost tail is noticed at heartbeat speed. */
	rc->rto_ms = 2 * c->heartbeat_ms;
	rc->alive_ms = c->heartbeat_ms;
	rc->ack_ms = c->heartbeat_ms / 2 ? c->heartbeat_ms / 2 : 1;
	rc->nack_ms = c->heartbeat_ms;
}

long peer_by_id(const struct peer *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return (long)i;
	return -1;
}

long peer_by_name(const struct peer *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && !strcmp(v[i].name, name))
			return (long)i;
	return -1;
}

/* Channels through the fault hook: a test makes their allocation fail too. */
static struct rel_tx *peer_tx_new(const struct rel_cfg *rc, uint64_t epoch)
{
	return cd_alloc_fault() ? NULL : rel_tx_new(rc, epoch);
}

static struct rel_rx *peer_rx_new(const struct rel_cfg *rc)
{
	return cd_alloc_fault() ? NULL : rel_rx_new(rc);
}

static void peer_release(struct peer *p)
{
	rel_tx_free(p->tx);
	rel_rx_free(p->rx);
	free(p->backlog.q);
	p->tx = NULL;
	p->rx = NULL;
	memset(&p->backlog, 0, sizeof(p->backlog));
}

void peer_table_abort(struct peer_prep *p)
{
	/* Only what prepare made: the new slots hold nothing carried yet. */
	for (size_t i = 0; p->v && i < p->n; i++)
		peer_release(&p->v[i]);
	free(p->v);
	free(p->from);
	free(p->moved);
	memset(p, 0, sizeof(*p));
}

int peer_table_prepare(const struct peer *old, size_t n_old, const struct cfg *nc,
		       uint64_t epoch, struct peer_prep *p, char *err, size_t len)
{
	size_t n = nc->n_nodes;
	struct rel_cfg rc;

	memset(p, 0, sizeof(*p));
	p->n = n;
	p->v = cd_calloc(n ? n : 1, sizeof(*p->v));
	p->from = cd_calloc(n ? n : 1, sizeof(*p->from));
	p->moved = cd_calloc(n_old ? n_old : 1, sizeof(*p->moved));
	if (!p->v || !p->from || !p->moved)
		goto nomem;
	peer_rel_cfg(nc, &rc);
	for (size_t i = 0; i < n; i++) {
		struct peer *np = &p->v[i];
		long o = peer_by_name(old, n_old, nc->nodes[i].name);
		bool self = (long)i == nc->self;

		np->name = nc->nodes[i].name;
		np->id = wire_node_id(np->name);
		np->self = self;
		p->from[i] = o;
		if (o >= 0)
			p->moved[o] = true;
		/* The one mapping: by name.  A node that stays brings its
		 * channel at commit; only a node without one gets one now. */
		if (self || (o >= 0 && old[o].tx && old[o].rx))
			continue;
		np->tx = peer_tx_new(&rc, epoch);
		np->rx = peer_rx_new(&rc);
		if (!np->tx || !np->rx)
			goto nomem;
	}
	return 0;
nomem:
	peer_table_abort(p);
	snprintf(err, len, "out of memory for the state of %zu nodes", n);
	return -1;
}

void peer_table_commit(struct peer **live, size_t *n_live, struct peer_prep *p)
{
	struct peer *old = *live;

	for (size_t i = 0; i < p->n; i++) {
		struct peer *np = &p->v[i], *op;
		const char *name = np->name;
		uint32_t id = np->id;
		bool self = np->self;
		struct rel_tx *tx = np->tx;
		struct rel_rx *rx = np->rx;

		if (p->from[i] < 0)
			continue;
		op = &old[p->from[i]];
		*np = *op;
		np->name = name;	/* the new configuration's copy */
		np->id = id;
		np->self = self;
		if (self) {
			/* Became this node (another `node` name): no channel. */
			rel_tx_free(np->tx);
			rel_rx_free(np->rx);
			np->tx = NULL;
			np->rx = NULL;
		} else if (tx) {
			/* It had no channel (it was us): the one prepared. */
			rel_tx_free(np->tx);
			rel_rx_free(np->rx);
			np->tx = tx;
			np->rx = rx;
		}
		memset(op, 0, sizeof(*op));	/* moved: freeing old frees nothing of it */
	}
	for (size_t j = 0; j < *n_live; j++)
		if (!p->moved[j])
			peer_release(&old[j]);
	free(old);
	free(p->from);
	free(p->moved);
	*live = p->v;
	*n_live = p->n;
	memset(p, 0, sizeof(*p));
}

void peer_table_free(struct peer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		peer_release(&v[i]);
	free(v);
}

void peer_heard(struct peer *p, uint64_t epoch, uint64_t now_ms, const struct member_listen *l,
		size_t nl)
{
	member_heard(&p->mn, epoch, now_ms, l, nl);
}

bool peer_listening(const struct peer *p, uint8_t family, uint8_t proto, uint16_t port)
{
	return member_listening(&p->mn, family, proto, port);
}

/* --- the peer table as a subsystem: first in the table, so that the others
 * commit against the new peers ------------------------------------------- */

static int peer_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			size_t len)
{
	struct peer_prep *p = cd_calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	if (peer_table_prepare(d->peers, d->n_peers, nc, d->epoch, p, err, len) < 0) {
		free(p);
		return -1;
	}
	*prep = p;
	return 0;
}

static void peer_commit(struct daemon *d, void *prep)
{
	peer_table_commit(&d->peers, &d->n_peers, prep);
	free(prep);
}

static void peer_abort(struct daemon *d, void *prep)
{
	(void)d;
	peer_table_abort(prep);
	free(prep);
}

const struct subsys peer_subsys = {
	.name = "peers",
	.prepare = peer_prepare,
	.commit = peer_commit,
	.abort = peer_abort,
};
