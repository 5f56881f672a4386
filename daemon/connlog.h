/* SPDX-License-Identifier: GPL-2.0-or-later */
/* connlog: what a worker's connection table did, for replication.  One
 * single-producer (the worker) single-consumer (the main thread) ring per
 * worker; no locks.  When the ring is full the event is dropped and counted,
 * and the consumer schedules a bulk resync instead.
 *
 * Wake-up: the main loop sleeps until its next deadline, so a consumer that
 * found the ring empty asks to be woken (want_wake) and the producer's next
 * push writes once to wake_fd (an eventfd in the main loop's epoll set).  One
 * write per empty -> non-empty transition, never one per event, and never a
 * blocking one (the eventfd is non-blocking).  Both sides write their flag
 * and then read the other's, sequentially consistent: either the consumer
 * sees the new event or the producer sees the request; none is lost. */
#ifndef CLUSTERD_CONNLOG_H
#define CLUSTERD_CONNLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "nfq/conn.h"

#define CONNLOG_SIZE 8192	/* power of two */

enum connlog_kind { CONNLOG_UPDATE = 1, CONNLOG_DELETE = 2 };

struct connlog_ev {
	uint8_t kind;		/* enum connlog_kind */
	uint8_t state;		/* enum conn_state */
	uint16_t tport;
	uint32_t target;	/* node index in the configuration of the time */
	struct conn_key key;
	struct ip_addr taddr;
	struct conn_hoff hoff;	/* a handed-off connection's translation */
};

struct connlog {
	struct connlog_ev ev[CONNLOG_SIZE];
	uint64_t head;		/* written by the producer */
	uint64_t tail;		/* written by the consumer */
	uint64_t dropped;	/* producer: ring full */
	int wake_fd;		/* eventfd, or -1; set before the producer starts */
	int want_wake;		/* the consumer found it empty (atomic) */
};

static inline bool connlog_push(struct connlog *l, uint8_t kind, const struct conn *c)
{
	uint64_t h = __atomic_load_n(&l->head, __ATOMIC_RELAXED);
	uint64_t t = __atomic_load_n(&l->tail, __ATOMIC_ACQUIRE);
	struct connlog_ev *e;

	if (h - t >= CONNLOG_SIZE) {
		__atomic_fetch_add(&l->dropped, 1, __ATOMIC_RELAXED);
		return false;
	}
	e = &l->ev[h & (CONNLOG_SIZE - 1)];
	e->kind = kind;
	e->state = c->state;
	e->tport = c->tport;
	e->target = c->target;
	e->key = c->key;
	e->taddr = c->taddr;
	e->hoff = c->hoff;
	__atomic_store_n(&l->head, h + 1, __ATOMIC_SEQ_CST);
	/* The plain load first: the exchange (a locked instruction) only on
	 * the one push after the consumer went to sleep. */
	if (__atomic_load_n(&l->want_wake, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&l->want_wake, 0, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ssize_t r = l->wake_fd >= 0 ? write(l->wake_fd, &one, sizeof(one)) : 0;

		(void)r;	/* non-blocking: EAGAIN only when the counter is full */
	}
	return true;
}

/* Between the consumer's look at an empty ring and its request for a
 * wake-up: where a push would be missed without the second look.  The unit
 * test widens it; nothing else defines it. */
#ifndef CONNLOG_RACE_GAP
#define CONNLOG_RACE_GAP() do { } while (0)
#endif

/* Consumer: the next event or NULL; call connlog_done after using it.  NULL
 * also asks the producer to signal wake_fd at its next push. */
static inline const struct connlog_ev *connlog_peek(struct connlog *l)
{
	uint64_t t = __atomic_load_n(&l->tail, __ATOMIC_RELAXED);

	if (t != __atomic_load_n(&l->head, __ATOMIC_ACQUIRE))
		return &l->ev[t & (CONNLOG_SIZE - 1)];
	CONNLOG_RACE_GAP();
	__atomic_store_n(&l->want_wake, 1, __ATOMIC_SEQ_CST);
	/* A push between the two loads saw no request: take its event now
	 * (the request stays: at worst one spurious wake-up). */
	if (t != __atomic_load_n(&l->head, __ATOMIC_SEQ_CST))
		return &l->ev[t & (CONNLOG_SIZE - 1)];
	return NULL;
}

/* Consumer: whether the ring holds an event (asks for no wake-up). */
static inline bool connlog_pending(const struct connlog *l)
{
	return __atomic_load_n(&l->tail, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->head, __ATOMIC_ACQUIRE);
}

static inline void connlog_done(struct connlog *l)
{
	__atomic_store_n(&l->tail, __atomic_load_n(&l->tail, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

#endif
