/* SPDX-License-Identifier: GPL-2.0-or-later */
/* queue: one NFQUEUE through libnetfilter_queue's libmnl API.  Thin glue:
 * it receives packets, hands each to a callback and sends the verdicts of a
 * whole drain in one sendmsg.  No packet logic here. */
#ifndef CLUSTERD_QUEUE_H
#define CLUSTERD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfq/stats.h"

struct queue_pkt {
	uint32_t id;
	uint8_t hook;		/* NF_INET_* */
	bool csum_notready;	/* NFQA_SKB_CSUMNOTREADY */
	uint8_t *data;		/* may be rewritten in place */
	size_t len;
};

enum queue_verdict { QUEUE_ACCEPT, QUEUE_ACCEPT_MANGLED, QUEUE_DROP };

typedef enum queue_verdict (*queue_cb)(void *arg, struct queue_pkt *p);

struct queue;

/* Binds queue `num`, copy mode packet, queue length maxlen, GSO on, fail-open
 * off (with no reader or a full queue the kernel drops: TCP retransmits),
 * rcvbuf forced to rcvbuf bytes. */
struct queue *queue_open(uint16_t num, uint32_t maxlen, int rcvbuf, char *err, size_t errlen);
void queue_close(struct queue *q);
int queue_fd(const struct queue *q);

/* Drains up to `budget` netlink messages, calls cb per packet, sends the
 * verdicts.  Returns packets handled, or -errno on a socket error. */
int queue_process(struct queue *q, unsigned budget, queue_cb cb, void *arg, struct stats *st);

#endif
