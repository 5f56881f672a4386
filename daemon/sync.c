#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/sync.h"

static struct log_rl dsync_rl;

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
	free(d->replay);
	free(d->node_ids);
	d->replay = NULL;
	d->node_ids = NULL;
}

int dsync_config(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	struct wire_replay *rp = calloc(c->n_nodes ? c->n_nodes : 1, sizeof(*rp));
	uint32_t *ids = calloc(c->n_nodes ? c->n_nodes : 1, sizeof(*ids));

	if (!rp || !ids) {
		free(rp);
		free(ids);
		return -1;
	}
	for (size_t i = 0; i < c->n_nodes; i++) {
		ids[i] = wire_node_id(c->nodes[i].name);
		/* Keep replay windows of nodes we already knew. */
		for (size_t j = 0; d->node_ids && d->replay && j < d->n_known; j++)
			if (d->node_ids[j] == ids[i])
				rp[i] = d->replay[j];
	}
	free(d->replay);
	free(d->node_ids);
	d->replay = rp;
	d->node_ids = ids;
	d->n_known = c->n_nodes;
	return 0;
}

void dsync_send_heartbeats(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	uint8_t buf[WIRE_MAX];
	struct wire_writer w;
	struct wire_hdr h = {
		.type = WIRE_HEARTBEAT,
		.sender = d->node_ids[d->cfg->self],
		.epoch = d->epoch,
	};
	size_t len;

	for (size_t n = 0; n < c->n_nodes; n++) {
		if ((long)n == c->self)
			continue;
		/* One sequence number per message, so replay windows stay exact. */
		h.seq = ++d->seq;
		wire_begin(&w, buf, sizeof(buf), &h);
		wire_put(&w, WIRE_TLV_NODE, c->node_name, (uint16_t)strlen(c->node_name));
		for (size_t i = 0; i < d->n_self_listen; i++) {
			const struct member_listen *ml = &d->self_listen[i];
			struct wire_listen wl = {
				.family = ml->family,
				.proto = ml->proto,
				.port = ml->port,
				.listening = ml->listening,
			};
			wire_put_listen(&w, &wl);
		}
		len = wire_finish(&w, &d->keys);
		if (!len)
			continue;
		/* The primary address; failing over to alternates is the CDAT's. */
		if (chan_send(d->chan, &c->nodes[n].addrs[0].ip, c->sync_port, buf, len) < 0) {
			d->sync.tx_errors++;
			continue;
		}
		d->sync.tx++;
	}
}

static bool dsync_handle(struct daemon *d, const uint8_t *buf, size_t len)
{
	const struct cfg *c = d->cfg;
	struct member_listen ls[MEMBER_MAX_LISTEN];
	size_t nl = 0;
	struct wire_msg m;
	struct wire_tlv_iter it;
	enum wire_status st;
	uint16_t type, vlen;
	const uint8_t *val;
	long n = -1;
	bool changed;

	memset(ls, 0, sizeof(ls));	/* compared with memcmp below */
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
	st = wire_replay_check(&d->replay[n], m.hdr.epoch, m.hdr.seq);
	if (st != WIRE_OK) {
		d->sync.rejected[st]++;
		return false;
	}
	wire_replay_accept(&d->replay[n], m.hdr.epoch, m.hdr.seq);
	d->sync.rx++;
	if (m.hdr.type != WIRE_HEARTBEAT)
		return false;
	wire_tlv_begin(&it, &m);
	while (wire_tlv_next(&it, &type, &val, &vlen)) {
		struct wire_listen wl;

		if (type != WIRE_TLV_LISTEN || nl >= MEMBER_MAX_LISTEN ||
		    !wire_get_listen(val, vlen, &wl))
			continue;
		ls[nl].family = wl.family;	/* AF_INET / AF_INET6 in memory */
		ls[nl].proto = wl.proto;
		ls[nl].port = wl.port;
		ls[nl].listening = wl.listening;
		nl++;
	}
	changed = !member_alive(&d->member, (size_t)n, daemon_now_ms(), false);
	{
		const struct member_node *mn = &d->member.nodes[n];

		changed = changed || mn->n_listen != nl ||
			  memcmp(mn->listen, ls, nl * sizeof(*ls)) != 0;
	}
	member_heard(&d->member, (size_t)n, m.hdr.epoch, daemon_now_ms(), ls, nl);
	return changed;
}

bool dsync_receive(struct daemon *d)
{
	uint8_t buf[WIRE_MAX + 64];
	struct ip_addr from;
	bool changed = false;

	for (int i = 0; i < 256; i++) {
		ssize_t n = chan_recv(d->chan, buf, sizeof(buf), &from);

		if (n <= 0)
			break;
		changed |= dsync_handle(d, buf, (size_t)n);
	}
	return changed;
}
