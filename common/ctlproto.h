/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctlproto: the control socket's commands, one table for the daemon
 * (daemon/ctl.c: dispatch) and clusterctl (parsing, usage, rendering).
 *
 * Protocol: one line in ("drain t1\n": the command and its arguments separated
 * by single spaces), one JSON object out, then the server closes.  Every
 * reply carries "ok"; when it is false, "error" says why, and "busy": true
 * means: try again later.
 *
 * Adding a command is one line in CTLPROTO_CMDS plus a handler in ctl.c
 * (ctl_cmd_<word>) and a renderer in clusterctl.c (ctl_render_<word>): both
 * tables are generated from this list, so a side that lacks its function does
 * not build. */
#ifndef CLUSTERD_CTLPROTO_H
#define CLUSTERD_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* X(ID, word, nargs, streamed, argument name, one-line help)
 * word: what is sent; streamed: the answer is written from the event loop a
 * chunk at a time (the daemon allows a few at once and answers "busy"
 * beyond); argument name: for the usage text, NULL without argument. */
#define CTLPROTO_CMDS(X)                                                                 \
	X(STATUS, status, 0, false, NULL, "node, uptime, VIPAs and their roles, cluster nodes") \
	X(TARGETS, targets, 0, false, NULL, "targets of every service and their state")  \
	X(CONNS, conns, 0, true, NULL, "the connection table and the SCTP associations") \
	X(STATS, stats, 0, false, NULL, "packet, drop, queue, connection and sync counters") \
	X(CDAT, cdat, 0, false, NULL, "the cluster destination address table")           \
	X(DRAIN, drain, 1, false, "NODE", "send no new connections to target NODE")      \
	X(UNDRAIN, undrain, 1, false, "NODE", "let target NODE take new connections again") \
	X(FAILOVER, failover, 1, false, "VIPA", "hand VIPA to its next distributor")     \
	X(RELOAD, reload, 0, false, NULL, "reread the configuration file (like SIGHUP)")

enum ctlproto_cmd {
#define CTLPROTO_ENUM(id, word, nargs, streamed, arg, help) CTLPROTO_##id,
	CTLPROTO_CMDS(CTLPROTO_ENUM)
#undef CTLPROTO_ENUM
	CTLPROTO__MAX
};

struct ctlproto_info {
	const char *name;
	unsigned nargs;		/* 0 or 1 */
	bool streamed;
	const char *arg;	/* NULL when nargs is 0 */
	const char *help;
};

/* A request line holds the command, one space, the argument, "\n". */
#define CTLPROTO_ARG_MAX 255
#define CTLPROTO_LINE_MAX 512

static const struct ctlproto_info ctlproto_cmds[CTLPROTO__MAX] = {
#define CTLPROTO_INFO(id, word, nargs, streamed, arg, help) \
	[CTLPROTO_##id] = { #word, nargs, streamed, arg, help },
	CTLPROTO_CMDS(CTLPROTO_INFO)
#undef CTLPROTO_INFO
};

/* The command called name: its index, -1 when there is none. */
static inline int ctlproto_find(const char *name)
{
	for (int i = 0; i < CTLPROTO__MAX; i++)
		if (strcmp(ctlproto_cmds[i].name, name) == 0)
			return i;
	return -1;
}

#endif
