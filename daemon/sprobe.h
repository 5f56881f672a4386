/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sprobe: is an SCTP server listening on this node, when the kernel cannot
 * say (no kernel SCTP, or a userspace stack such as usrsctp whose sockets
 * sock_diag cannot see)?  The node sends an INIT from its own address to
 * its own address and the service's target_port; an INIT ACK means a
 * server listens (the probe is then aborted), an ABORT or silence means none.
 * Adapter: one raw IPPROTO_SCTP socket per family, opened at start (before
 * CAP_NET_RAW is dropped), read from the main loop; never blocks.
 *
 * Which ports: the SCTP entries of d->self_listen, re-read at every tick (a
 * reload changes them); from and to the node's first address of the family
 * in the configuration (where distributors send).  A probe per port every
 * 250 ms (main.c's listener scan period), each with a fresh Initiate Tag and
 * source port (49152..65535) from getrandom; no answer within 1 s counts as
 * "none"; the port's answer is that of the latest probe decided, so a late
 * verdict of an older one changes nothing.  An answer must match exactly
 * (addresses, ports, tag, CRC32c: nfq/sctp's sctp_probe_answer); the BPF
 * filter of the sockets passes only INIT ACKs and ABORTs to ports 49152 and
 * up, since the kernel copies every SCTP packet of the node to every raw
 * SCTP socket.
 * Counters under "sctp.probe." in `clusterctl stats`. */
#ifndef CLUSTERD_SPROBE_H
#define CLUSTERD_SPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct subsys;

/* Opens the sockets (0; -1 and err on failure: the daemon goes on without
 * probes, SCTP services then count as not listening where the kernel
 * cannot answer). */
int sprobe_open(struct daemon *d, char *err, size_t errlen);
void sprobe_close(struct daemon *d);
/* The subsystem: its tick sends the probes, its stats count them. */
extern const struct subsys sprobe_subsys;
/* The socket to watch for answers (-1: none), and what to do when readable.
 * fd is one of the sockets; called once per readable fd. */
int sprobe_fd(const struct daemon *d, int family_index);
void sprobe_input(struct daemon *d, int fd);
/* The last answer for an SCTP server on (family, port): 1 one answered, 0 none
 * did, -1 not probed yet. */
int sprobe_listening(const struct daemon *d, uint8_t family, uint16_t port);

#endif
