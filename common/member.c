/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <sys/socket.h>

#include "common/member.h"

void member_heard(struct member_node *mn, uint64_t epoch, uint64_t now_ms,
		  const struct member_listen *l, size_t nl)
{
	mn->heard = true;
	mn->last_ms = now_ms;
	mn->epoch = epoch;
	if (nl > MEMBER_MAX_LISTEN)
		nl = MEMBER_MAX_LISTEN;
	memcpy(mn->listen, l, nl * sizeof(*l));
	mn->n_listen = nl;
}

bool member_listening(const struct member_node *mn, uint8_t family, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < mn->n_listen; i++)
		if (mn->listen[i].family == family && mn->listen[i].proto == proto &&
		    mn->listen[i].port == port)
			return mn->listen[i].listening;
	return false;
}
