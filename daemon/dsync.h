/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sync: the daemon side of cluster messaging.
 *
 * - Unicast (no cluster.sync.group): heartbeats go to every address of
 *   every other node, every heartbeat_ms (measuring all addresses all the
 *   time finds a dead alternate before it is needed and a healed primary at
 *   once); the node answers each one from where it came (HEARTBEAT_ACK),
 *   which measures that address's response time and counts misses
 *   (sync/cdat: after `retry` misses an address is unreachable, a node with
 *   every address unreachable is suspected, and down when the voters agree:
 *   cdat_agreed).
 * - Multicast (group set): one heartbeat per own address and period goes to
 *   the group out of that address's interface; the others list it in their
 *   own next group heartbeat (sync/hbgroup: token and time held), which
 *   measures the response time without an answer each, and carry the idle
 *   reliable channels' ALIVEs.  A group datagram lists every recipient with
 *   its boot epoch under the MAC.  A peer address whose group heartbeats we
 *   do not hear (another subnet, the other family) gets unicast ones.
 * - Heartbeats of both kinds also carry where this node's applications
 *   listen, the summary (version, digest) of its committed CDAT and the nodes
 *   it suspects (its vote); a change of suspicion sends heartbeats at once.
 * - State messages (the CDAT's report / propose / ack / commit, replication)
 *   go to a node's current address (its reachable one of lowest cos) over the
 *   reliable channel (sync/reliable: per-peer sequence numbers, ACK, NACK,
 *   resend).  In multicast mode, what one round of the channels owes alike
 *   to two or more peers the group reaches goes once to the group, with each
 *   peer's sequence number in a GSEQ list; ACK, NACK stay per peer.
 * - Every datagram names its recipient and the recipient's boot epoch as we
 *   last heard it (peers[n].epoch_seen, only ever raised), under the MAC.
 *   A datagram for another node or an earlier boot of ours is refused; one
 *   whose sender has not heard this boot yet (recipient epoch 0) is
 *   "unproven": it teaches the sender's epoch and makes us send it a
 *   heartbeat at once, nothing more.  So after a start or restart the two
 *   sides are proven to each other within a round trip, and a recording
 *   replayed after a restart counts for nothing.  The reliable channel to a
 *   node waits until its epoch is known.
 * - Datagrams from an address that is no node's are dropped before the MAC.
 *   Every datagram leaves from one of this node's configured addresses
 *   (chosen with IP_PKTINFO); heartbeats and answers state it, and credit a
 *   path only when they really come from there.
 * Wire format and MAC in sync/wire, sockets in sync/chan. */
#ifndef CLUSTERD_DSYNC_H
#define CLUSTERD_DSYNC_H

#include "daemon/ctx.h"

int dsync_open(struct daemon *d, char *err, size_t errlen);
void dsync_close(struct daemon *d);
/* The subsystem (daemon/subsys.h): "sync", the CDAT_MSG_* types; its
 * prepare and commit make the CDAT follow a configuration (re)load (the
 * channels are in the peer table, daemon/peer.h). */
extern const struct subsys dsync_subsys;
/* Timers: heartbeats, misses, CDAT protocol, reliable resends and acks.
 * force_hb sends heartbeats now (a listener changed).  Lowers *next to when
 * it must run again (daemon_now_ms clock).  Returns true when a node went
 * down or came back. */
bool dsync_tick(struct daemon *d, bool force_hb, uint64_t *next);
/* Reads every pending message; true when something the view depends on changed. */
bool dsync_receive(struct daemon *d);
/* A node is alive unless the CDAT says it is down: every one of its
 * addresses unreachable and the voters agree (or it said it is leaving).  A
 * node not heard yet counts as alive until its heartbeats go unanswered
 * `retry` times. */
bool dsync_node_alive(const struct daemon *d, size_t node);
/* When node went down (daemon_now_ms clock); 0 while it is alive. */
uint64_t dsync_node_down_since(const struct daemon *d, size_t node);
/* The largest state body (without its type byte) for node n: REL_BODY_MAX - 1,
 * or less when the adapter MTUs of the paths to n (the CDAT's, theirs and
 * ours) make a full datagram too big; never below 256 bytes.  Writers that
 * batch records for one node (daemon/drepl.c) size their bodies with it. */
size_t dsync_state_body_max(const struct daemon *d, size_t n);
/* Queues a state message [type][body] on node n's reliable channel:
 * 0, or -1 when the channel's queue is full (try again later). */
int dsync_send_state(struct daemon *d, size_t n, uint8_t type, const uint8_t *body, size_t len);

/* Configuration agreement (common/cfgdigest.h): what node's heartbeats say
 * of its configuration's shared parts against ours.  UNKNOWN until a
 * heartbeat with a digest came (and for this node itself). */
enum dsync_cfg_agree { DSYNC_CFG_UNKNOWN, DSYNC_CFG_SAME, DSYNC_CFG_DIFFERENT };
enum dsync_cfg_agree dsync_config_agreement(const struct daemon *d, size_t node);

#endif
