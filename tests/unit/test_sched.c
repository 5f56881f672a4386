/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for common/sched: Maglev shares, weights, disruption and
 * determinism; round robin; least-connections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sched.h"

#define M SCHED_MAGLEV_SIZE

static void count_slots(const struct sched_maglev *m, size_t n, size_t *cnt)
{
	size_t i;
	int o;

	memset(cnt, 0, n * sizeof(*cnt));
	for (i = 0; i < M; i++) {
		o = sched_maglev_slot(m, i);
		assert_true(o >= 0 && (size_t)o < n);
		/* lookup() is slot[hash % size]: the same answer by both paths. */
		assert_int_equal(sched_maglev_lookup(m, (uint32_t)i), o);
		cnt[o]++;
	}
}

static void test_maglev_equal_shares(void **state)
{
	const struct sched_target t[3] = {
		{ "t1", 10, 1 }, { "t2", 11, 1 }, { "t3", 12, 1 },
	};
	struct sched_maglev *m = sched_maglev_build(t, 3, 0);
	size_t cnt[3], i;

	assert_non_null(m);
	assert_int_equal(sched_maglev_size(m), M);
	count_slots(m, 3, cnt);
	assert_int_equal(cnt[0] + cnt[1] + cnt[2], M);
	for (i = 0; i < 3; i++) {
		/* Required: within 1% of a third.  Turn taking gives more:
		 * 65537 = 3 * 21845 + 2, so every share is 21845 or 21846. */
		assert_true(cnt[i] * 100 >= (M / 3) * 99 && cnt[i] * 100 <= (M / 3) * 101);
		assert_in_range(cnt[i], 21845, 21846);
	}
	/* Lookups with well-spread hashes land on a third each too. */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 300000; i++) {
		uint32_t h = (uint32_t)(i * 2654435761u);

		cnt[sched_maglev_lookup(m, h)]++;
	}
	for (i = 0; i < 3; i++)
		assert_in_range(cnt[i], 99000, 101000);
	sched_maglev_free(m);
}

static void test_maglev_weights(void **state)
{
	const struct sched_target t[2] = { { "light", 1, 1 }, { "heavy", 2, 2 } };
	struct sched_maglev *m = sched_maglev_build(t, 2, 0);
	size_t cnt[2];

	assert_non_null(m);
	count_slots(m, 2, cnt);
	/* One turn against two per round: M / 3 and 2 M / 3 to a slot. */
	assert_in_range(cnt[0], M / 3 - 1, M / 3 + 1);
	assert_in_range(cnt[1], 2 * M / 3 - 1, 2 * M / 3 + 1);
	assert_int_equal(cnt[0] + cnt[1], M);
	sched_maglev_free(m);
}

static void test_maglev_remove_and_restore(void **state)
{
	const struct sched_target three[3] = {
		{ "t1", 1, 1 }, { "t2", 2, 1 }, { "t3", 3, 1 },
	};
	const struct sched_target two[2] = { { "t1", 1, 1 }, { "t3", 3, 1 } };
	struct sched_maglev *a = sched_maglev_build(three, 3, 0);
	struct sched_maglev *b = sched_maglev_build(two, 2, 0);
	struct sched_maglev *c = sched_maglev_build(three, 3, 0);
	size_t i, moved = 0, lost = 0;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	for (i = 0; i < M; i++) {
		uint32_t before = three[sched_maglev_slot(a, i)].id;
		uint32_t after = two[sched_maglev_slot(b, i)].id;

		assert_int_not_equal(after, 2);
		if (before == 2)
			lost++;
		else if (before != after)
			moved++;
	}
	printf("maglev: removing 1 of 3 targets: %zu of %u slots of t2 reassigned, "
	       "%zu slots (%.3f%%) moved between surviving targets\n",
	       lost, M, moved, 100.0 * (double)moved / M);
	assert_in_range(lost, 21845, 21846);
	assert_true(moved * 100 < (size_t)M * 5);

	/* Adding the target back gives exactly the original table. */
	for (i = 0; i < M; i++)
		assert_int_equal(sched_maglev_slot(a, i), sched_maglev_slot(c, i));
	sched_maglev_free(a);
	sched_maglev_free(b);
	sched_maglev_free(c);
}

static void test_maglev_order_independent(void **state)
{
	const struct sched_target abc[3] = {
		{ "alpha", 7, 1 }, { "beta", 8, 2 }, { "gamma", 9, 1 },
	};
	const struct sched_target cab[3] = {
		{ "gamma", 9, 1 }, { "alpha", 7, 1 }, { "beta", 8, 2 },
	};
	struct sched_maglev *x = sched_maglev_build(abc, 3, 0);
	struct sched_maglev *y = sched_maglev_build(cab, 3, 0);
	size_t i;

	assert_non_null(x);
	assert_non_null(y);
	/* Indexes differ with the order; the owners (ids) must not. */
	for (i = 0; i < M; i++)
		assert_int_equal(abc[sched_maglev_slot(x, i)].id, cab[sched_maglev_slot(y, i)].id);
	sched_maglev_free(x);
	sched_maglev_free(y);
}

static void test_maglev_empty_and_bad(void **state)
{
	const struct sched_target t[2] = { { "a", 1, 0 }, { "b", 2, 0 } };
	const struct sched_target one[1] = { { "a", 1, 1 } };
	const struct sched_target noname[1] = { { NULL, 1, 1 } };
	struct sched_maglev *m;

	m = sched_maglev_build(NULL, 0, 0);
	assert_non_null(m);
	assert_int_equal(sched_maglev_lookup(m, 0), -1);
	assert_int_equal(sched_maglev_lookup(m, 12345), -1);
	assert_int_equal(sched_maglev_slot(m, 0), -1);
	sched_maglev_free(m);

	/* All drained: nobody to pick. */
	m = sched_maglev_build(t, 2, 0);
	assert_non_null(m);
	assert_int_equal(sched_maglev_lookup(m, 99), -1);
	sched_maglev_free(m);

	/* A drained target gets no slot at all. */
	{
		const struct sched_target d[2] = { { "a", 1, 1 }, { "b", 2, 0 } };
		size_t i;

		m = sched_maglev_build(d, 2, 13);
		assert_non_null(m);
		for (i = 0; i < 13; i++)
			assert_int_equal(sched_maglev_slot(m, i), 0);
		sched_maglev_free(m);
	}

	assert_null(sched_maglev_build(one, 1, 65536));	/* not prime */
	assert_null(sched_maglev_build(one, 1, 1));
	assert_null(sched_maglev_build(one, 1, SCHED_MAGLEV_MAX_SIZE + 1));
	assert_null(sched_maglev_build(t, 2, 2 - 1));	/* n > size */
	assert_null(sched_maglev_build(noname, 1, 0));
	assert_int_equal(sched_maglev_lookup(NULL, 1), -1);
	sched_maglev_free(NULL);
}

static void test_maglev_small_prime(void **state)
{
	const struct sched_target t[3] = { { "x", 1, 1 }, { "y", 2, 1 }, { "z", 3, 1 } };
	struct sched_maglev *m = sched_maglev_build(t, 3, 7);
	size_t cnt[3] = { 0, 0, 0 }, i;

	assert_non_null(m);
	assert_int_equal(sched_maglev_size(m), 7);
	for (i = 0; i < 7; i++)
		cnt[sched_maglev_slot(m, i)]++;
	/* 7 slots, turns x y z x y z x: 3, 2, 2. */
	assert_int_equal(cnt[0], 3);
	assert_int_equal(cnt[1], 2);
	assert_int_equal(cnt[2], 2);
	assert_int_equal(sched_maglev_slot(m, 7), -1);
	assert_int_equal(sched_maglev_lookup(m, 7 + 3), sched_maglev_slot(m, 3));
	sched_maglev_free(m);
}

static void test_rr(void **state)
{
	assert_int_equal(sched_rr_next(0, 3), 0);
	assert_int_equal(sched_rr_next(1, 3), 1);
	assert_int_equal(sched_rr_next(5, 3), 2);
	assert_int_equal(sched_rr_next(UINT64_MAX, 10), 5);	/* 18446744073709551615 */
	assert_true(sched_rr_next(7, 0) == SCHED_NONE);
}

static void test_least_conn(void **state)
{
	const struct sched_target eq[3] = { { "a", 1, 1 }, { "b", 2, 1 }, { "c", 3, 1 } };
	const struct sched_target w[3] = { { "a", 1, 1 }, { "b", 2, 2 }, { "c", 3, 1 } };
	const struct sched_target z[3] = { { "a", 1, 0 }, { "b", 2, 1 }, { "c", 3, 0 } };
	const uint32_t act1[3] = { 5, 3, 4 };
	const uint32_t act2[3] = { 2, 3, 2 };	/* ratios 2, 1.5, 2 */
	const uint32_t ties[3] = { 1, 1, 1 };
	const uint32_t big[3] = { UINT32_MAX, UINT32_MAX - 1, UINT32_MAX };

	assert_int_equal(sched_least_conn(eq, act1, 3, 0), 1);
	assert_int_equal(sched_least_conn(eq, act1, 3, 2), 1);
	assert_int_equal(sched_least_conn(w, act2, 3, 0), 1);
	/* Without the weight, b's 3 would lose to a's and c's 2. */
	assert_int_equal(sched_least_conn(eq, act2, 3, 1), 2);
	assert_int_equal(sched_least_conn(eq, act2, 3, 0), 0);
	/* Ties: the first met from start. */
	assert_int_equal(sched_least_conn(eq, ties, 3, 0), 0);
	assert_int_equal(sched_least_conn(eq, ties, 3, 1), 1);
	assert_int_equal(sched_least_conn(eq, ties, 3, 2), 2);
	assert_int_equal(sched_least_conn(eq, ties, 3, 4), 1);
	/* Drained targets are skipped even with fewer connections. */
	assert_int_equal(sched_least_conn(z, act1, 3, 0), 1);
	assert_int_equal(sched_least_conn(z, ties, 3, 2), 1);
	/* No overflow near UINT32_MAX with weight 2. */
	assert_int_equal(sched_least_conn(eq, big, 3, 0), 1);
	assert_int_equal(sched_least_conn(w, big, 3, 0), 1);
	assert_int_equal(sched_least_conn(eq, act1, 0, 0), -1);
	{
		const struct sched_target none[2] = { { "a", 1, 0 }, { "b", 2, 0 } };

		assert_int_equal(sched_least_conn(none, ties, 2, 0), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maglev_equal_shares),
		cmocka_unit_test(test_maglev_weights),
		cmocka_unit_test(test_maglev_remove_and_restore),
		cmocka_unit_test(test_maglev_order_independent),
		cmocka_unit_test(test_maglev_empty_and_bad),
		cmocka_unit_test(test_maglev_small_prime),
		cmocka_unit_test(test_rr),
		cmocka_unit_test(test_least_conn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
