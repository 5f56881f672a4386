/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/member.h"

int member_init(struct member *m, size_t n_nodes)
{
	memset(m, 0, sizeof(*m));
	m->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*m->nodes));
	if (!m->nodes)
		return -1;
	m->n = n_nodes;
	return 0;
}

void member_free(struct member *m)
{
	free(m->nodes);
	m->nodes = NULL;
	m->n = 0;
}

void member_heard(struct member *m, size_t n, uint64_t epoch, uint64_t now_ms,
		  const struct member_listen *l, size_t nl)
{
	struct member_node *mn;

	if (n >= m->n)
		return;
	mn = &m->nodes[n];
	mn->heard = true;
	mn->last_ms = now_ms;
	mn->epoch = epoch;
	if (nl > MEMBER_MAX_LISTEN)
		nl = MEMBER_MAX_LISTEN;
	memcpy(mn->listen, l, nl * sizeof(*l));
	mn->n_listen = nl;
}

bool member_listening(const struct member *m, size_t n, uint8_t family, uint8_t proto,
		      uint16_t port)
{
	const struct member_node *mn;

	if (n >= m->n)
		return false;
	mn = &m->nodes[n];
	for (size_t i = 0; i < mn->n_listen; i++)
		if (mn->listen[i].family == family && mn->listen[i].proto == proto &&
		    mn->listen[i].port == port)
			return mn->listen[i].listening;
	return false;
}
