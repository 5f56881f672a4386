/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for daemon/connlog.h's wake-up: the consumer that found the
 * ring empty is woken by the producer's next push, once per empty ->
 * non-empty transition, and never misses an event: a producer thread and a
 * consumer that sleeps in poll() on the eventfd, with a timeout that only a
 * lost wake-up reaches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Every other time, the consumer pauses between its look at an empty ring
 * and its request for a wake-up: where a push the protocol did not account
 * for is lost.  (The other times it goes to sleep at once.) */
#include <sched.h>
static unsigned race_gaps;
#define CONNLOG_RACE_GAP() do { if (race_gaps++ % 2) sched_yield(); } while (0)
#include "daemon/connlog.h"

static struct connlog *log_new(void)
{
	struct connlog *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(l->wake_fd >= 0);
	return l;
}

static void log_free(struct connlog *l)
{
	close(l->wake_fd);
	free(l);
}

/* The eventfd's counter (the writes since the last read), reset. */
static uint64_t wakes(struct connlog *l)
{
	uint64_t v = 0;

	if (read(l->wake_fd, &v, sizeof(v)) < 0)
		assert_int_equal(errno, EAGAIN);
	return v;
}

static void push(struct connlog *l, uint16_t port)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.tport = port;
	assert_true(connlog_push(l, CONNLOG_UPDATE, &c));
}

static unsigned drain(struct connlog *l)
{
	const struct connlog_ev *e;
	unsigned n = 0;

	while ((e = connlog_peek(l))) {
		n++;
		connlog_done(l);
	}
	return n;
}

static void test_one_write_per_transition(void **state)
{
	struct connlog *l = log_new();

	(void)state;
	/* Nobody asked yet (the consumer never found it empty): no write. */
	push(l, 1);
	push(l, 2);
	assert_int_equal(wakes(l), 0);
	assert_true(connlog_pending(l));
	/* Drained to empty: the next push wakes, the ones after it do not. */
	assert_int_equal(drain(l), 2);
	assert_false(connlog_pending(l));
	assert_int_equal(wakes(l), 0);
	for (uint16_t i = 0; i < 100; i++)
		push(l, i);
	assert_int_equal(wakes(l), 1);
	/* Looking without draining asks for nothing. */
	assert_true(connlog_pending(l));
	assert_int_equal(drain(l), 100);
	push(l, 7);
	assert_int_equal(wakes(l), 1);
	assert_int_equal(drain(l), 1);
	log_free(l);
}

static void test_no_fd(void **state)
{
	struct connlog *l = calloc(1, sizeof(*l));

	(void)state;
	assert_non_null(l);
	l->wake_fd = -1;
	assert_int_equal(drain(l), 0);
	push(l, 1);		/* asked, but nowhere to write: fine */
	assert_int_equal(drain(l), 1);
	free(l);
}

#define RACE_ROUNDS 20000u
#define RACE_WAIT_MS 1000	/* orders of magnitude above a drain's time */

struct race {
	struct connlog *l;
	unsigned seed;
	uint32_t pushed;
	int lost;		/* the consumer slept with events pending (atomic) */
	int done;		/* atomic */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Rounds of a burst of events, then a wait until the consumer took them
 * all.  The next burst starts the moment the ring is empty: while the
 * consumer is between its last look and its sleep, where a wake-up is lost
 * if the protocol is wrong. */
static void *race_producer(void *arg)
{
	struct race *r = arg;
	struct conn c;

	memset(&c, 0, sizeof(c));
	for (unsigned round = 0; round < RACE_ROUNDS; round++) {
		uint64_t until;

		r->seed = r->seed * 1103515245u + 12345u;
		for (unsigned k = 0; k < 1 + (r->seed >> 16) % 8; k++) {
			c.target = r->pushed++;
			assert_true(connlog_push(r->l, CONNLOG_UPDATE, &c));
		}
		until = mono_ms() + RACE_WAIT_MS;
		while (__atomic_load_n(&r->l->tail, __ATOMIC_ACQUIRE) != r->pushed) {
			if (mono_ms() > until) {
				__atomic_store_n(&r->lost, 1, __ATOMIC_SEQ_CST);
				goto out;
			}
			sched_yield();
		}
	}
out:
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	/* Wake the consumer to see `done`, whatever the protocol did. */
	{
		uint64_t one = 1;
		ssize_t w = write(r->l->wake_fd, &one, sizeof(one));

		(void)w;
	}
	return NULL;
}

/* The consumer drains, then sleeps in poll() on the eventfd, as the main
 * loop does. */
static void test_no_lost_wakeup(void **state)
{
	struct race r = { .l = log_new(), .seed = 12345 };
	pthread_t thr;
	uint32_t want = 0;
	unsigned sleeps = 0;

	(void)state;
	assert_int_equal(pthread_create(&thr, NULL, race_producer, &r), 0);
	for (;;) {
		const struct connlog_ev *e;
		struct pollfd p = { .fd = r.l->wake_fd, .events = POLLIN };

		while ((e = connlog_peek(r.l))) {
			assert_int_equal(e->target, want);
			want++;
			connlog_done(r.l);
		}
		if (__atomic_load_n(&r.done, __ATOMIC_SEQ_CST))
			break;
		sleeps++;
		poll(&p, 1, 5000);
		wakes(r.l);
	}
	pthread_join(thr, NULL);
	printf("# %u rounds, %u events, %u sleeps\n", RACE_ROUNDS, want, sleeps);
	assert_int_equal(r.lost, 0);
	assert_int_equal(want, r.pushed);
	assert_true(sleeps > 0);
	log_free(r.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_write_per_transition),
		cmocka_unit_test(test_no_fd),
		cmocka_unit_test(test_no_lost_wakeup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
