/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify: the pure parts of systemd's notification protocol (sd_notify(3)
 * without libsystemd).  A notification is one datagram of newline-separated
 * KEY=VALUE lines sent to the AF_UNIX address in $NOTIFY_SOCKET; the
 * watchdog asks for WATCHDOG=1 at least every $WATCHDOG_USEC.  Strings in,
 * results out: the daemon glue (daemon/notify) reads the environment, owns
 * the socket and fills the inputs. */
#ifndef CLUSTERD_SDNOTIFY_H
#define CLUSTERD_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The longest datagram built here; STATUS= is cut to fit. */
#define SDN_MSG_MAX 1024
/* The longest STATUS= text (without the key). */
#define SDN_STATUS_MAX 512

/* $NOTIFY_SOCKET into an address: an absolute path, or an abstract name when
 * it starts with '@' (the '@' becomes the leading NUL).  *len: the length
 * to pass to sendto (the path's NUL included; an abstract name has none).
 * -1 with a message in err when empty, relative, or too long for sun_path. */
int sdn_parse_socket(const char *s, struct sockaddr_un *sa, socklen_t *len, char *err,
		     size_t errlen);

/* The watchdog from $WATCHDOG_USEC and $WATCHDOG_PID (NULL: unset) for the
 * process `self`: 1 and *usec when it is ours, 0 when there is none (no
 * WATCHDOG_USEC, or WATCHDOG_PID names another process), -1 with a message
 * in err when a value is not a positive decimal number. */
int sdn_parse_watchdog(const char *usec_s, const char *pid_s, long self, uint64_t *usec,
		       char *err, size_t errlen);

/* Whether the workers made progress between two looks: worker i did when its
 * loop counter moved (passes[i] != prev[i]) or it is idle, blocked waiting
 * for packets (idle[i]).  False when one did neither: busy without getting
 * round its loop for the whole interval; *stalled (if not NULL) is then the
 * first such worker.  No workers: true. */
bool sdn_workers_progress(const uint64_t *passes, const uint64_t *prev, const bool *idle,
			  size_t n, size_t *stalled);

/* The node's role in one VIPA. */
enum sdn_role {
	SDN_NONE,		/* not one of its distributors */
	SDN_DISTRIBUTOR,	/* it holds the VIPA */
	SDN_BACKUP,		/* it takes the VIPA over if its holder goes */
	SDN_STANDBY,		/* a distributor further down the list */
};

struct sdn_vipa {
	const char *addr;	/* as text */
	enum sdn_role role;
	bool target;		/* this node serves one of its services */
	/* SDN_DISTRIBUTOR: distinct target nodes taking new connections, of
	 * those of its services */
	unsigned targets_active, targets;
};

enum sdn_phase {
	SDN_STARTING,		/* not ready: waiting for the peers' tables */
	SDN_RUNNING,
	SDN_LEAVING,		/* SIGTERM: the backup takes over */
};

struct sdn_status {
	enum sdn_phase phase;
	/* SDN_STARTING: the nodes whose tables it waits for ("" or NULL: the
	 * grace for a distributor to show up), comma-separated */
	const char *waiting_for;
	const struct sdn_vipa *vipas;
	size_t n_vipas;
	unsigned alive, nodes;	/* nodes alive (this one included), configured */
	const char *note;	/* appended after "; " (a refused reload), or NULL */
};

/* The STATUS= text, e.g. "distributor of 10.2.0.100 (3 of 3 targets
 * active); backup of 10.2.0.200; 4 of 5 nodes alive", "starting: waiting
 * for the tables of d1; ...", "leaving".  NUL-terminated, cut at len - 1 (at
 * most SDN_STATUS_MAX - 1 characters); no newline ever.  Returns its length. */
size_t sdn_status_text(const struct sdn_status *in, char *buf, size_t len);

/* What one notification says (the keys in this order). */
#define SDN_F_READY 0x1u
#define SDN_F_RELOADING 0x2u	/* with MONOTONIC_USEC= */
#define SDN_F_STOPPING 0x4u
#define SDN_F_WATCHDOG 0x8u

/* The datagram: "RELOADING=1\nMONOTONIC_USEC=...\nREADY=1\nSTOPPING=1\n
 * WATCHDOG=1\nSTATUS=...\n" as flags and status (NULL: none) ask.  A newline
 * in status becomes a space; a status too long is cut.  Returns the length
 * (at most SDN_MSG_MAX - 1, NUL-terminated), 0 when there is nothing to say
 * or buf is shorter than the fixed lines. */
size_t sdn_format(char *buf, size_t len, unsigned flags, uint64_t monotonic_usec,
		  const char *status);

#endif
