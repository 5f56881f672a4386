/* SPDX-License-Identifier: GPL-2.0-or-later */
/* connlog: what a worker's connection table did, for replication.  One
 * single-producer (the worker) single-consumer (the main thread) ring per
 * worker; no locks.  When the ring is full the event is dropped and counted,
 * and the consumer schedules a bulk resync instead. */
#ifndef CLUSTERD_CONNLOG_H
#define CLUSTERD_CONNLOG_H

#include <stdbool.h>
#include <stdint.h>

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
};

struct connlog {
	struct connlog_ev ev[CONNLOG_SIZE];
	uint64_t head;		/* written by the producer */
	uint64_t tail;		/* written by the consumer */
	uint64_t dropped;	/* producer: ring full */
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
	__atomic_store_n(&l->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

/* Consumer: the next event or NULL; call connlog_done after using it. */
static inline const struct connlog_ev *connlog_peek(struct connlog *l)
{
	uint64_t t = __atomic_load_n(&l->tail, __ATOMIC_RELAXED);

	if (t == __atomic_load_n(&l->head, __ATOMIC_ACQUIRE))
		return NULL;
	return &l->ev[t & (CONNLOG_SIZE - 1)];
}

static inline void connlog_done(struct connlog *l)
{
	__atomic_store_n(&l->tail, __atomic_load_n(&l->tail, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

#endif
