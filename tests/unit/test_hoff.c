/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/hoff: the front-end's buffering slots (insert, lookup,
 * remove, the age list, eviction order) and request reassembly in
 * sequence space (in order, retransmitted, overlapping, gaps, overflow,
 * wrap-around). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/hoff.h"

static void nkey(struct conn_key *k, uint32_t i)
{
	struct ip_addr ca, va;

	assert_true(addr_parse(&va, "10.2.0.100"));
	assert_true(addr_parse(&ca, "10.1.0.2"));
	ca.v4.s_addr ^= (i >> 16) << 8;
	conn_key_set(k, 6, &ca, (uint16_t)(1024 + (i & 0xffff)), &va, 80);
}

static void test_insert_lookup_remove(void **st)
{
	struct hoff_table *t = hoff_table_new(64, 42);
	struct conn_key k;
	struct hoff_slot *s;

	(void)st;
	assert_non_null(t);
	for (uint32_t i = 0; i < 64; i++) {
		nkey(&k, i);
		s = hoff_insert(t, &k, 100, i);
		assert_non_null(s);
		assert_int_equal(s->phase, HOFF_BUFFER);
		assert_int_equal(s->created_ms, i);
		assert_int_equal(s->cap, 100);
		/* A key is present once. */
		assert_null(hoff_insert(t, &k, 100, i));
	}
	assert_int_equal(hoff_count(t), 64);
	nkey(&k, 64);
	assert_null(hoff_insert(t, &k, 100, 0));	/* full */
	for (uint32_t i = 0; i < 64; i++) {
		nkey(&k, i);
		s = hoff_lookup(t, &k);
		assert_non_null(s);
		assert_true(conn_key_eq(&s->key, &k));
	}
	/* The age list gives the oldest first; HANDING slots are not offered
	 * for eviction. */
	s = hoff_first(t);
	assert_int_equal(s->created_ms, 0);
	s->phase = HOFF_HANDING;
	assert_int_equal(hoff_oldest_buffering(t)->created_ms, 1);
	for (uint32_t i = 0; i < 64; i += 2) {
		nkey(&k, i);
		hoff_remove(t, hoff_lookup(t, &k));
	}
	assert_int_equal(hoff_count(t), 32);
	for (uint32_t i = 0; i < 64; i++) {
		nkey(&k, i);
		if (i & 1)
			assert_non_null(hoff_lookup(t, &k));
		else
			assert_null(hoff_lookup(t, &k));
	}
	assert_int_equal(hoff_first(t)->created_ms, 1);
	/* Freed slots are reused. */
	nkey(&k, 1000);
	assert_non_null(hoff_insert(t, &k, 10, 99));
	size_t n = 0;
	uint64_t last = 0;
	for (s = hoff_first(t); s; s = s->next, n++) {
		assert_true(s->created_ms >= last);
		last = s->created_ms;
	}
	assert_int_equal(n, 33);
	hoff_table_free(t);
}

static void test_append(void **st)
{
	struct hoff_table *t = hoff_table_new(4, 1);
	struct conn_key k;
	struct hoff_slot *s;
	const uint8_t *m = (const uint8_t *)"GET / HTTP/1.1\r\n";

	(void)st;
	nkey(&k, 1);
	s = hoff_insert(t, &k, 20, 0);
	assert_non_null(s);
	s->rcv_nxt = 0xfffffffcu;	/* the request crosses the sequence wrap */
	assert_int_equal(hoff_append(s, 0xfffffffcu, m, 6), HOFF_APPENDED);
	assert_int_equal(s->len, 6);
	assert_int_equal(s->rcv_nxt, 2);
	/* A retransmission of held bytes adds nothing. */
	assert_int_equal(hoff_append(s, 0xfffffffcu, m, 6), HOFF_OLD);
	/* A gap is not held. */
	assert_int_equal(hoff_append(s, 3, m + 7, 3), HOFF_GAP);
	assert_int_equal(s->len, 6);
	/* An overlap contributes its new part only. */
	assert_int_equal(hoff_append(s, 0, m + 4, 6), HOFF_APPENDED);
	assert_int_equal(s->len, 10);
	assert_memory_equal(s->buf, m, 10);
	/* More than the buffer holds: nothing taken. */
	assert_int_equal(hoff_append(s, s->rcv_nxt, m + 10, 11), HOFF_OVERFLOW);
	assert_int_equal(s->len, 10);
	assert_int_equal(hoff_append(s, s->rcv_nxt, m + 10, 6), HOFF_APPENDED);
	assert_memory_equal(s->buf, m, 16);
	assert_int_equal(hoff_append(s, s->rcv_nxt, m, 5), HOFF_OVERFLOW);
	assert_int_equal(hoff_append(s, s->rcv_nxt, m, 4), HOFF_APPENDED);
	assert_int_equal(s->len, 20);
	hoff_table_free(t);	/* frees the buffers of slots in use (ASan) */
}

static void test_bad_sizes(void **st)
{
	(void)st;
	assert_null(hoff_table_new(0, 0));
	assert_null(hoff_table_new((1u << 20) + 1, 0));
	struct hoff_table *t = hoff_table_new(1, 0);
	struct conn_key k;

	nkey(&k, 5);
	assert_null(hoff_insert(t, &k, 0, 0));
	hoff_table_free(t);
	hoff_table_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
