/* sync: the daemon side of cluster messaging.
 *
 * - Heartbeats go to every address of every other node, every heartbeat_ms
 *   (the seed sends to the primary and fails over on timeout; measuring all
 *   addresses all the time finds a dead alternate before it is needed and a
 *   healed primary at once); the node answers
 *   each one from where it came (HEARTBEAT_ACK), which measures that
 *   address's response time and counts misses (sync/cdat: after `retry`
 *   misses an address is unreachable, a node with every address unreachable
 *   is down).  Heartbeats also carry where this node's applications listen
 *   and the summary (version, digest) of its committed CDAT.
 * - State messages (the CDAT's report / propose / ack / commit) go to a
 *   node's current address (its first reachable one) over the reliable
 *   channel (sync/reliable: per-peer sequence numbers, ACK, NACK, resend).
 * Wire format and MAC in sync/wire, sockets in sync/chan. */
#ifndef CLUSTERD_DSYNC_H
#define CLUSTERD_DSYNC_H

#include "daemon/ctx.h"

int dsync_open(struct daemon *d, char *err, size_t errlen);
void dsync_close(struct daemon *d);
/* (Re)build the per-node state and the CDAT after a configuration (re)load. */
int dsync_config(struct daemon *d);
/* Timers: heartbeats, misses, CDAT protocol, reliable resends and acks.
 * force_hb sends heartbeats now (a listener changed).  Returns true when a
 * node went down or came back. */
bool dsync_tick(struct daemon *d, bool force_hb);
/* Reads every pending message; true when something the view depends on changed. */
bool dsync_receive(struct daemon *d);
/* A node is alive unless the CDAT says every one of its addresses is
 * unreachable.  A node not heard yet counts as alive until its heartbeats
 * go unanswered `retry` times. */
bool dsync_node_alive(const struct daemon *d, size_t node);
/* When node went down (daemon_now_ms clock); 0 while it is alive. */
uint64_t dsync_node_down_since(const struct daemon *d, size_t node);
/* Queues a state message [type][body] on node n's reliable channel:
 * 0, or -1 when the channel's queue is full (try again later). */
int dsync_send_state(struct daemon *d, size_t n, uint8_t type, const uint8_t *body, size_t len);

#endif
