/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: the SCTP subsystem arrives in the next commits. */
#include "daemon/ctx.h"
#include "daemon/dsctp.h"
#include "daemon/subsys.h"
#include "sync/msg.h"

static const uint8_t dsctp_types[] = { SCTP_MSG_TAG, SCTP_MSG_GONE, SCTP_MSG_ASSOC };

const struct subsys dsctp_subsys = {
	.name = "sctp",
	.types = dsctp_types,
	.n_types = sizeof(dsctp_types),
};

int dsctp_open(struct daemon *d)
{
	(void)d;
	return 0;
}

void dsctp_close(struct daemon *d)
{
	(void)d;
}

int dsctp_wake_fd(const struct daemon *d)
{
	(void)d;
	return -1;
}

void dsctp_drain(struct daemon *d)
{
	(void)d;
}

void dsctp_push(struct daemon *d, const struct engine_sctp_ev *ev)
{
	(void)d;
	(void)ev;
}

uint64_t dsctp_flush(struct daemon *d, const char *why)
{
	(void)d;
	(void)why;
	return 0;
}
