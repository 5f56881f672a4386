/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/conn: round trips, full table, TCP tracking, expiry
 * with a fake clock and budgeted scans, hash values and spread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/conn.h"

static void mkkey(struct conn_key *k, uint8_t proto, const char *c, uint16_t cport,
		  const char *v, uint16_t vport)
{
	struct ip_addr ca, va;

	assert_true(addr_parse(&ca, c));
	assert_true(addr_parse(&va, v));
	conn_key_set(k, proto, &ca, cport, &va, vport);
}

/* Distinct v4 keys: client 10.x.y.z, port from i. */
static void nkey(struct conn_key *k, uint32_t i)
{
	struct ip_addr ca, va;
	uint8_t b[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

	addr_from_bytes(&ca, AF_INET, b);
	assert_true(addr_parse(&va, "10.2.0.100"));
	conn_key_set(k, IPPROTO_TCP, &ca, (uint16_t)(1024 + (i % 50000)), &va, 80);
}

/* Expected values from CPython 3.11, whose bytes hash is SipHash-1-3 and
 * whose key is zero under PYTHONHASHSEED=0:
 *   PYTHONHASHSEED=0 python3 -c 'import socket, struct
 *   b = struct.pack("<BBHHxx", 2, 6, 40000, 80) + socket.inet_aton("192.0.2.1")
 *       + bytes(12) + socket.inet_aton("10.2.0.100") + bytes(12)
 *   h = hash(b) % 2**64; print(hex((h ^ (h >> 32)) % 2**32))'
 * and likewise for the v6 key (AF_INET6 = 10, inet_pton). */
static void test_hash_known_values(void **state)
{
	struct conn_key k;

	mkkey(&k, IPPROTO_TCP, "192.0.2.1", 40000, "10.2.0.100", 80);
	assert_int_equal(conn_key_hash(&k), 0xa1bdd941u);
	mkkey(&k, IPPROTO_UDP, "2001:db8::1", 5353, "2001:db8:1::100", 53);
	assert_int_equal(conn_key_hash(&k), 0xe1a458e3u);
}

static void test_hash_ignores_padding(void **state)
{
	struct conn_key clean, dirty;
	struct conn_table *t = conn_table_new(8);
	struct conn *c;

	assert_non_null(t);
	mkkey(&clean, IPPROTO_TCP, "192.0.2.1", 40000, "10.2.0.100", 80);
	/* Garbage in the struct padding and behind the v4 addresses. */
	memset(&dirty, 0xa5, sizeof(dirty));
	dirty.family = AF_INET;
	dirty.proto = IPPROTO_TCP;
	dirty.cport = 40000;
	dirty.vport = 80;
	dirty.caddr.family = AF_INET;
	dirty.vaddr.family = AF_INET;
	memcpy(dirty.caddr.b, clean.caddr.b, 4);
	memcpy(dirty.vaddr.b, clean.vaddr.b, 4);
	assert_int_equal(conn_key_hash(&dirty), conn_key_hash(&clean));
	assert_true(conn_key_eq(&dirty, &clean));
	c = conn_insert(t, &dirty, 1);
	assert_non_null(c);
	assert_ptr_equal(conn_lookup(t, &clean), c);
	/* The stored copy is normalised: byte-equal to the clean key. */
	assert_memory_equal(&c->key, &clean, sizeof(clean));
	conn_table_free(t);
}

static void test_round_trip(void **state)
{
	struct conn_table *t = conn_table_new(16);
	struct conn_key k[6];
	struct conn *c[6];
	size_t i;

	assert_non_null(t);
	assert_int_equal(conn_capacity(t), 16);
	assert_int_equal(conn_buckets(t), 32);
	mkkey(&k[0], IPPROTO_TCP, "192.0.2.1", 40000, "10.2.0.100", 80);
	mkkey(&k[1], IPPROTO_UDP, "192.0.2.1", 40000, "10.2.0.100", 80);
	mkkey(&k[2], IPPROTO_TCP, "192.0.2.1", 40001, "10.2.0.100", 80);
	mkkey(&k[3], IPPROTO_TCP, "2001:db8::1", 40000, "2001:db8::100", 80);
	mkkey(&k[4], IPPROTO_UDP, "2001:db8::1", 40000, "2001:db8::100", 80);
	/* Same bytes as k[0]'s addresses in the first 4 bytes, but v6. */
	mkkey(&k[5], IPPROTO_TCP, "c000:201::", 40000, "a02:64::", 80);

	for (i = 0; i < 6; i++) {
		assert_null(conn_lookup(t, &k[i]));
		c[i] = conn_insert(t, &k[i], 1000 + i);
		assert_non_null(c[i]);
		c[i]->tport = (uint16_t)(8080 + i);
		c[i]->target = (uint32_t)i;
		assert_int_equal(conn_count(t), i + 1);
	}
	for (i = 0; i < 6; i++) {
		assert_ptr_equal(conn_lookup(t, &k[i]), c[i]);
		assert_true(conn_key_eq(&c[i]->key, &k[i]));
		assert_int_equal(c[i]->tport, 8080 + i);
		assert_int_equal(c[i]->created_ms, 1000 + i);
		assert_int_equal(c[i]->last_ms, 1000 + i);
		assert_int_equal(c[i]->packets, 0);
		assert_int_equal(c[i]->state,
				 k[i].proto == IPPROTO_TCP ? CONN_SYN : CONN_UDP);
	}
	/* A second insert of a present key is refused. */
	assert_null(conn_insert(t, &k[3], 5));
	assert_int_equal(conn_count(t), 6);

	conn_touch(c[1], 2000, 100);
	conn_touch(c[1], 1500, 60);	/* late timestamp: counted, clock kept */
	assert_int_equal(c[1]->packets, 2);
	assert_int_equal(c[1]->bytes, 160);
	assert_int_equal(c[1]->last_ms, 2000);

	conn_remove(t, c[3]);
	assert_int_equal(conn_count(t), 5);
	assert_null(conn_lookup(t, &k[3]));
	/* Removing a free entry again changes nothing. */
	conn_remove(t, c[3]);
	assert_int_equal(conn_count(t), 5);
	for (i = 0; i < 6; i++)
		if (i != 3)
			assert_ptr_equal(conn_lookup(t, &k[i]), c[i]);
	c[3] = conn_insert(t, &k[3], 3000);
	assert_non_null(c[3]);
	assert_int_equal(c[3]->tport, 0);	/* fresh entry, old data gone */
	assert_int_equal(c[3]->created_ms, 3000);
	for (i = 0; i < 6; i++)
		conn_remove(t, c[i]);
	assert_int_equal(conn_count(t), 0);
	for (i = 0; i < 6; i++)
		assert_null(conn_lookup(t, &k[i]));
	conn_table_free(t);
}

static void test_full_table(void **state)
{
	struct conn_table *t = conn_table_new(4);
	struct conn_key k;
	struct conn *c[4];
	uint32_t i;

	assert_null(conn_table_new(0));
	assert_null(conn_table_new((size_t)CONN_TABLE_MAX + 1));
	assert_non_null(t);
	assert_int_equal(conn_buckets(t), 8);
	for (i = 0; i < 4; i++) {
		nkey(&k, i);
		c[i] = conn_insert(t, &k, 0);
		assert_non_null(c[i]);
	}
	nkey(&k, 4);
	assert_null(conn_insert(t, &k, 0));
	assert_int_equal(conn_count(t), 4);
	conn_remove(t, c[2]);
	assert_non_null(conn_insert(t, &k, 0));
	assert_int_equal(conn_count(t), 4);
	nkey(&k, 2);
	assert_null(conn_lookup(t, &k));
	assert_null(conn_insert(t, &k, 0));
	conn_table_free(t);
	conn_table_free(NULL);
}

/* Many inserts and removals in a shuffled order; the table must agree
 * with a plain array model at every step. */
static void test_churn(void **state)
{
	enum { N = 4096 };
	struct conn_table *t = conn_table_new(N);
	static struct conn *model[N * 2];
	struct conn_key k;
	uint32_t x = 12345, i, j;
	size_t live = 0;

	assert_non_null(t);
	memset(model, 0, sizeof(model));
	for (i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		j = (x >> 8) % (N * 2);
		nkey(&k, j);
		if (model[j]) {
			assert_ptr_equal(conn_lookup(t, &k), model[j]);
			conn_remove(t, model[j]);
			model[j] = NULL;
			live--;
		} else {
			model[j] = conn_insert(t, &k, i);
			if (live == N) {
				assert_null(model[j]);
			} else {
				assert_non_null(model[j]);
				live++;
			}
		}
		assert_int_equal(conn_count(t), live);
	}
	for (j = 0; j < N * 2; j++) {
		nkey(&k, j);
		assert_ptr_equal(conn_lookup(t, &k), model[j]);
	}
	conn_table_free(t);
}

static void test_tcp_track(void **state)
{
	struct conn c;
	struct conn_timeouts to = { .syn_s = 5, .est_s = 100, .fin_s = 10, .closed_s = 2,
				    .udp_s = 30 };

	memset(&c, 0, sizeof(c));
	c.key.proto = IPPROTO_TCP;
	c.state = CONN_SYN;
	conn_tcp_track(&c, CONN_TCP_SYN);
	assert_int_equal(c.state, CONN_SYN);
	assert_int_equal(conn_timeout_s(&c, &to), 5);
	conn_tcp_track(&c, CONN_TCP_ACK);
	assert_int_equal(c.state, CONN_EST);
	assert_int_equal(conn_timeout_s(&c, &to), 100);
	conn_tcp_track(&c, CONN_TCP_ACK | 0x08);	/* PSH|ACK: data */
	assert_int_equal(c.state, CONN_EST);
	conn_tcp_track(&c, CONN_TCP_FIN | CONN_TCP_ACK);
	assert_int_equal(c.state, CONN_FIN);
	assert_int_equal(conn_timeout_s(&c, &to), 10);
	conn_tcp_track(&c, CONN_TCP_ACK);
	assert_int_equal(c.state, CONN_FIN);
	conn_tcp_track(&c, CONN_TCP_RST);
	assert_int_equal(c.state, CONN_CLOSED);
	assert_int_equal(conn_timeout_s(&c, &to), 2);
	conn_tcp_track(&c, CONN_TCP_FIN | CONN_TCP_ACK);	/* stays closed */
	assert_int_equal(c.state, CONN_CLOSED);
	conn_tcp_track(&c, CONN_TCP_ACK);
	assert_int_equal(c.state, CONN_CLOSED);
	/* The tuple reused by a new connection. */
	conn_tcp_track(&c, CONN_TCP_SYN);
	assert_int_equal(c.state, CONN_SYN);
	conn_tcp_track(&c, CONN_TCP_RST | CONN_TCP_ACK);
	assert_int_equal(c.state, CONN_CLOSED);
	/* FIN straight from SYN. */
	c.state = CONN_SYN;
	conn_tcp_track(&c, CONN_TCP_FIN);
	assert_int_equal(c.state, CONN_FIN);

	/* UDP entries do not move. */
	c.key.proto = IPPROTO_UDP;
	c.state = CONN_UDP;
	conn_tcp_track(&c, CONN_TCP_RST);
	assert_int_equal(c.state, CONN_UDP);
	assert_int_equal(conn_timeout_s(&c, &to), 30);
	c.state = 77;
	assert_int_equal(conn_timeout_s(&c, &to), 0);
}

struct expire_log {
	size_t n;
	uint16_t cport[16];
};

static void log_cb(const struct conn *c, void *arg)
{
	struct expire_log *l = arg;

	/* The entry is still intact when the callback sees it. */
	assert_int_equal(c->key.vport, 80);
	if (l->n < 16)
		l->cport[l->n] = c->key.cport;
	l->n++;
}

static void test_expire_per_state(void **state)
{
	const struct conn_timeouts to = { .syn_s = 5, .est_s = 100, .fin_s = 10, .closed_s = 2,
					  .udp_s = 30 };
	struct conn_table *t = conn_table_new(16);
	struct expire_log log = { 0 };
	struct conn_key k;
	struct conn *c;
	size_t all;
	int s;

	assert_non_null(t);
	all = conn_buckets(t);
	/* One entry per state, cport = 1000 + state, all idle since t = 0. */
	for (s = CONN_SYN; s <= CONN_UDP; s++) {
		mkkey(&k, s == CONN_UDP ? IPPROTO_UDP : IPPROTO_TCP, "192.0.2.7",
		      (uint16_t)(1000 + s), "10.2.0.100", 80);
		c = conn_insert(t, &k, 0);
		assert_non_null(c);
		c->state = (uint8_t)s;
	}
	/* Exactly at a timeout nothing goes; one millisecond later it does. */
	assert_int_equal(conn_expire(t, 2000, &to, all, log_cb, &log), 0);
	assert_int_equal(conn_expire(t, 2001, &to, all, log_cb, &log), 1);
	assert_int_equal(log.cport[0], 1000 + CONN_CLOSED);
	assert_int_equal(conn_expire(t, 5000, &to, all, log_cb, &log), 0);
	assert_int_equal(conn_expire(t, 5001, &to, all, log_cb, &log), 1);
	assert_int_equal(log.cport[1], 1000 + CONN_SYN);
	assert_int_equal(conn_expire(t, 10001, &to, all, log_cb, &log), 1);
	assert_int_equal(log.cport[2], 1000 + CONN_FIN);
	/* Traffic on the EST entry pushes its deadline. */
	mkkey(&k, IPPROTO_TCP, "192.0.2.7", 1000 + CONN_EST, "10.2.0.100", 80);
	c = conn_lookup(t, &k);
	assert_non_null(c);
	conn_touch(c, 90000, 1500);
	assert_int_equal(conn_expire(t, 30001, &to, all, log_cb, &log), 1);
	assert_int_equal(log.cport[3], 1000 + CONN_UDP);
	assert_int_equal(conn_expire(t, 100001, &to, all, NULL, NULL), 0);
	/* A clock that goes back expires nothing. */
	assert_int_equal(conn_expire(t, 0, &to, all, NULL, NULL), 0);
	assert_int_equal(conn_expire(t, 190000, &to, all, log_cb, &log), 0);
	assert_int_equal(conn_expire(t, 190001, &to, all, log_cb, &log), 1);
	assert_int_equal(log.cport[4], 1000 + CONN_EST);
	assert_int_equal(log.n, 5);
	assert_int_equal(conn_count(t), 0);
	conn_table_free(t);
}

/* The kernel's answer about fast-pathed entries: what ask() says per
 * client port (0: gone), and how often it was asked. */
struct ask_log {
	uint64_t seen[4];
	unsigned asked[4];
};

static uint64_t ask_cb(const struct conn *c, void *arg)
{
	struct ask_log *a = arg;
	unsigned i = c->key.cport - 2000u;

	assert_true(i < 4);
	a->asked[i]++;
	return a->seen[i];
}

/* conn_expire_ask: only fast entries past their timeout are asked; a later
 * time keeps the entry (seen then), 0 or an older time removes it. */
static void test_expire_ask(void **state)
{
	const struct conn_timeouts to = { .syn_s = 5, .est_s = 100, .fin_s = 10, .closed_s = 2,
					  .udp_s = 30 };
	struct conn_table *t = conn_table_new(16);
	struct expire_log log = { 0 };
	struct ask_log a = { .seen = { 120000, 0, 5000, 0 } };
	struct conn_key k;
	struct conn *c;
	size_t all;
	int i;

	(void)state;
	assert_non_null(t);
	all = conn_buckets(t);
	/* 2000: UDP, fast, still in the map (last seen at 120 s);
	 * 2001: UDP, fast, gone from the map;
	 * 2002: UDP, fast, the map's time older than ours: no help;
	 * 2003: UDP, not fast: never asked. */
	for (i = 0; i < 4; i++) {
		mkkey(&k, IPPROTO_UDP, "192.0.2.9", (uint16_t)(2000 + i), "10.2.0.100", 80);
		c = conn_insert(t, &k, 10000);
		assert_non_null(c);
		c->state = CONN_UDP;
		c->fast = i < 3;
	}
	/* Before the timeout nobody is asked. */
	assert_int_equal(conn_expire_ask(t, 40000, &to, all, ask_cb, &a, log_cb, &log), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(a.asked[i], 0);
	assert_int_equal(conn_expire_ask(t, 40001, &to, all, ask_cb, &a, log_cb, &log), 3);
	assert_int_equal(a.asked[0], 1);
	assert_int_equal(a.asked[1], 1);
	assert_int_equal(a.asked[2], 1);
	assert_int_equal(a.asked[3], 0);
	assert_int_equal(conn_count(t), 1);
	mkkey(&k, IPPROTO_UDP, "192.0.2.9", 2000, "10.2.0.100", 80);
	c = conn_lookup(t, &k);
	assert_non_null(c);
	assert_int_equal(c->last_ms, 120000);
	/* Kept until its new deadline, then asked again: now gone. */
	assert_int_equal(conn_expire_ask(t, 150000, &to, all, ask_cb, &a, log_cb, &log), 0);
	assert_int_equal(a.asked[0], 1);
	a.seen[0] = 0;
	assert_int_equal(conn_expire_ask(t, 150001, &to, all, ask_cb, &a, log_cb, &log), 1);
	assert_int_equal(a.asked[0], 2);
	assert_int_equal(log.n, 4);
	assert_int_equal(conn_count(t), 0);
	/* Without ask, a fast entry expires like any other. */
	mkkey(&k, IPPROTO_UDP, "192.0.2.9", 2000, "10.2.0.100", 80);
	c = conn_insert(t, &k, 0);
	assert_non_null(c);
	c->state = CONN_UDP;
	c->fast = 1;
	assert_int_equal(conn_expire_ask(t, 30001, &to, all, NULL, NULL, NULL, NULL), 1);
	conn_table_free(t);
}

/* Budgeted scans: with the default (zero) seed the bucket of a key is
 * conn_key_hash() & (buckets - 1), so each call's removals are known. */
static void test_expire_budget(void **state)
{
	enum { N = 1000, BUDGET = 100 };
	const struct conn_timeouts to = { .syn_s = 5, .est_s = 100, .fin_s = 10, .closed_s = 2,
					  .udp_s = 30 };
	struct conn_table *t = conn_table_new(1024);
	static size_t per_bucket[2048], fresh_per_bucket[2048];
	struct conn_key k;
	struct conn *c;
	size_t nb, b, calls, removed = 0, want, fresh = 0;
	uint32_t i;

	assert_non_null(t);
	nb = conn_buckets(t);
	assert_int_equal(nb, 2048);
	memset(per_bucket, 0, sizeof(per_bucket));
	memset(fresh_per_bucket, 0, sizeof(fresh_per_bucket));
	for (i = 0; i < N; i++) {
		nkey(&k, i);
		k.proto = IPPROTO_UDP;
		c = conn_insert(t, &k, 0);
		assert_non_null(c);
		b = conn_key_hash(&k) & (nb - 1);
		/* Every third entry saw traffic late: it must survive. */
		if (i % 3 == 0) {
			conn_touch(c, 20000, 1);
			fresh_per_bucket[b]++;
			fresh++;
		} else {
			per_bucket[b]++;
		}
	}
	for (calls = 0; calls * BUDGET < nb; calls++) {
		want = 0;
		for (b = calls * BUDGET; b < (calls + 1) * BUDGET && b < nb; b++)
			want += per_bucket[b];
		assert_int_equal(conn_expire(t, 30001, &to, BUDGET, NULL, NULL), want);
		removed += want;
		assert_int_equal(conn_count(t), N - removed);
	}
	assert_int_equal(calls, 21);
	assert_int_equal(removed, N - fresh);
	assert_int_equal(conn_count(t), fresh);
	for (i = 0; i < N; i++) {
		nkey(&k, i);
		k.proto = IPPROTO_UDP;
		if (i % 3 == 0)
			assert_non_null(conn_lookup(t, &k));
		else
			assert_null(conn_lookup(t, &k));
	}
	/* The cursor now stands at bucket 52 (21 * 100 - 2048); 21 more calls
	 * cover every bucket again, wrapping round the end. */
	removed = 0;
	for (calls = 0; calls < 21; calls++)
		removed += conn_expire(t, 50001, &to, BUDGET, NULL, NULL);
	assert_int_equal(removed, fresh);
	assert_int_equal(conn_count(t), 0);
	/* A zero budget visits nothing. */
	nkey(&k, 1);
	assert_non_null(conn_insert(t, &k, 0));
	assert_int_equal(conn_expire(t, 999999, &to, 0, NULL, NULL), 0);
	assert_int_equal(conn_expire(t, 999999, &to, (size_t)-1, NULL, NULL), 1);
	conn_table_free(t);
}

static int count_cb(const struct conn *c, void *arg)
{
	size_t *n = arg;

	(*n)++;
	return *n == 7 ? 42 : 0;
}

static void bump_target_cb(struct conn *c, void *arg)
{
	c->target++;
	(*(size_t *)arg)++;
}

static void test_foreach_and_seed(void **state)
{
	struct conn_table *t = conn_table_new(64);
	struct conn_key k;
	size_t n = 0;
	uint32_t i;

	assert_non_null(t);
	assert_int_equal(conn_table_set_seed(t, 0x0123456789abcdefULL, 0xfedcba9876543210ULL), 0);
	for (i = 0; i < 50; i++) {
		nkey(&k, i);
		assert_non_null(conn_insert(t, &k, 0));
	}
	assert_int_equal(conn_table_set_seed(t, 1, 2), -EBUSY);
	for (i = 0; i < 50; i++) {
		nkey(&k, i);
		assert_non_null(conn_lookup(t, &k));
	}
	/* Stops at the seventh entry with the callback's value. */
	assert_int_equal(conn_foreach(t, count_cb, &n), 42);
	assert_int_equal(n, 7);
	n = 100;
	assert_int_equal(conn_foreach(t, count_cb, &n), 0);
	assert_int_equal(n, 150);
	/* conn_walk writes, every entry once per walk */
	n = 0;
	conn_walk(t, bump_target_cb, &n);
	conn_walk(t, bump_target_cb, &n);
	assert_int_equal(n, 100);
	for (i = 0; i < 50; i++) {
		nkey(&k, i);
		assert_int_equal(conn_lookup(t, &k)->target, 2);
	}
	conn_table_free(t);
}

/* 65536 keys that differ little (one client network, consecutive ports) in
 * 65536 buckets: a random function leaves e^-1 = 36.8% of them empty and
 * loads none beyond about 9. */
static void test_hash_spread(void **state)
{
	enum { N = 65536 };
	static uint16_t load[N];
	size_t bits[32], empty = 0, max = 0;
	struct conn_key k;
	uint32_t i, h;
	int b;

	memset(load, 0, sizeof(load));
	memset(bits, 0, sizeof(bits));
	for (i = 0; i < N; i++) {
		mkkey(&k, IPPROTO_TCP, "192.0.2.1", (uint16_t)i, "10.2.0.100", 443);
		h = conn_key_hash(&k);
		load[h & (N - 1)]++;
		for (b = 0; b < 32; b++)
			bits[b] += (h >> b) & 1;
	}
	for (i = 0; i < N; i++) {
		if (!load[i])
			empty++;
		if (load[i] > max)
			max = load[i];
	}
	printf("hash spread: %zu empty buckets of %d (%.2f%%), max load %zu\n", empty, N,
	       100.0 * (double)empty / N, max);
	assert_in_range(empty, N * 35 / 100, N * 385 / 1000);
	assert_true(max <= 10);
	for (b = 0; b < 32; b++)
		assert_in_range(bits[b], N / 2 - 1000, N / 2 + 1000);
	/* One field changed: the hash changes. */
	mkkey(&k, IPPROTO_TCP, "192.0.2.1", 1, "10.2.0.100", 443);
	h = conn_key_hash(&k);
	k.proto = IPPROTO_UDP;
	assert_int_not_equal(conn_key_hash(&k), h);
	k.proto = IPPROTO_TCP;
	k.vport = 444;
	assert_int_not_equal(conn_key_hash(&k), h);
}

/* Eviction classes: lists in last-seen order, counts, removal unlinks. */
static void test_classes(void **state)
{
	struct conn_table *t = conn_table_new(16);
	struct conn *c[6];
	struct conn_key k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(conn_embryo_cap(t), 16 / CONN_EMBRYO_DIV);
	for (uint32_t i = 0; i < 6; i++) {
		nkey(&k, i);
		c[i] = conn_insert(t, &k, 1000 + i);
		assert_non_null(c[i]);
		assert_int_equal(c[i]->cls, CONN_C_NONE);
	}
	assert_null(conn_oldest(t, CONN_C_EMBRYO));
	assert_null(conn_oldest(t, CONN_C_NONE));
	for (int i = 0; i < 3; i++)
		conn_set_class(t, c[i], CONN_C_EMBRYO);
	conn_set_class(t, c[3], CONN_C_UDP);
	conn_set_class(t, c[4], CONN_C_UDP);
	assert_int_equal(conn_class_count(t, CONN_C_EMBRYO), 3);
	assert_int_equal(conn_class_count(t, CONN_C_UDP), 2);
	assert_int_equal(conn_class_count(t, CONN_C_NONE), 1);
	assert_ptr_equal(conn_oldest(t, CONN_C_EMBRYO), c[0]);
	/* seen again: c[0] becomes the newest, c[1] the oldest */
	conn_seen(t, c[0], 2000);
	assert_int_equal(c[0]->last_ms, 2000);
	assert_ptr_equal(conn_oldest(t, CONN_C_EMBRYO), c[1]);
	/* a clock going back does not move last_ms back */
	conn_seen(t, c[0], 1500);
	assert_int_equal(c[0]->last_ms, 2000);
	/* promotion and removal unlink */
	conn_set_class(t, c[1], CONN_C_NONE);
	assert_ptr_equal(conn_oldest(t, CONN_C_EMBRYO), c[2]);
	conn_remove(t, c[2]);
	assert_ptr_equal(conn_oldest(t, CONN_C_EMBRYO), c[0]);
	conn_remove(t, c[0]);
	assert_null(conn_oldest(t, CONN_C_EMBRYO));
	assert_int_equal(conn_class_count(t, CONN_C_EMBRYO), 0);
	assert_ptr_equal(conn_oldest(t, CONN_C_UDP), c[3]);
	conn_remove(t, c[3]);
	assert_ptr_equal(conn_oldest(t, CONN_C_UDP), c[4]);
	assert_int_equal(conn_count(t), 3);
	assert_int_equal(conn_class_count(t, CONN_C_NONE), 2);
	/* a freed entry comes back as NONE, on no list */
	nkey(&k, 100);
	assert_non_null(c[0] = conn_insert(t, &k, 3000));
	assert_int_equal(c[0]->cls, CONN_C_NONE);
	assert_int_equal(conn_class_count(t, CONN_C_UDP), 1);
	/* embryonic entries time out within a few seconds whatever the state's */
	{
		struct conn_timeouts to = { 30, 900, 30, 10, 60 };

		conn_set_class(t, c[0], CONN_C_EMBRYO);
		assert_int_equal(conn_timeout_s(c[0], &to), CONN_EMBRYO_TIMEOUT_S);
		conn_set_class(t, c[0], CONN_C_NONE);
		assert_int_equal(conn_timeout_s(c[0], &to), 30);
	}
	conn_table_free(t);
}

/* The SYN memory: what was noted is found once; an unknown flow is not. */
static void test_syn_memory(void **state)
{
	struct conn_table *t = conn_table_new(1024);
	struct conn_key k, o;
	uint32_t target = 0, gen = 0;
	unsigned found = 0;

	(void)state;
	assert_non_null(t);
	mkkey(&k, IPPROTO_TCP, "192.0.2.1", 40000, "10.2.0.100", 80);
	mkkey(&o, IPPROTO_TCP, "192.0.2.1", 40001, "10.2.0.100", 80);
	assert_false(conn_syn_take(t, &k, &target, &gen));
	conn_syn_note(t, &k, 7, 3);
	assert_false(conn_syn_take(t, &o, &target, &gen));
	assert_true(conn_syn_take(t, &k, &target, &gen));
	assert_int_equal(target, 7);
	assert_int_equal(gen, 3);
	assert_false(conn_syn_take(t, &k, &target, &gen));	/* taken */
	/* no entry is used */
	assert_int_equal(conn_count(t), 0);
	/* 200 SYNs in 256 slots: a newer one overwrites an older one sharing
	 * its slot (about 140 slots end up used) */
	for (uint32_t i = 0; i < 200; i++) {
		nkey(&k, i);
		conn_syn_note(t, &k, i, 0);
	}
	for (uint32_t i = 0; i < 200; i++) {
		nkey(&k, i);
		if (conn_syn_take(t, &k, &target, &gen)) {
			assert_int_equal(target, i);
			found++;
		}
	}
	assert_in_range(found, 110, 170);
	conn_table_free(t);
}

/* A walk in chunks visits every entry once. */
static int count_one(const struct conn *c, void *arg)
{
	(void)c;
	(*(size_t *)arg)++;
	return 1;	/* ignored */
}

static void test_foreach_chunk(void **state)
{
	struct conn_table *t = conn_table_new(500);
	struct conn_key k;
	size_t n = 0, next = 0, calls = 0;

	(void)state;
	assert_non_null(t);
	for (uint32_t i = 0; i < 500; i++) {
		nkey(&k, i);
		assert_non_null(conn_insert(t, &k, 1));
	}
	do {
		next = conn_foreach_chunk(t, next, 100, count_one, &n);
		calls++;
	} while (next < conn_buckets(t));
	assert_int_equal(n, 500);
	assert_int_equal(calls, (conn_buckets(t) + 99) / 100);
	assert_int_equal(conn_foreach_chunk(t, conn_buckets(t), 100, count_one, &n),
			 conn_buckets(t));
	assert_int_equal(n, 500);
	conn_table_free(t);
}

/* The count of service (vaddr, vport, proto) in out[0, n), 0 when absent. */
static size_t svc_n(const struct conn_svc *out, size_t n, uint8_t proto, const char *v,
		    uint16_t vport)
{
	struct ip_addr va;

	assert_true(addr_parse(&va, v));
	for (size_t i = 0; i < n; i++)
		if (out[i].family == va.family && out[i].proto == proto &&
		    out[i].vport == vport && addr_eq(&out[i].vaddr, &va))
			return out[i].n;
	return 0;
}

/* Entries by service: kept exact through inserts, removals, expiry and a
 * full set of slots (the rest in "other"), slots reused once empty. */
static void test_svc_counts(void **state)
{
	struct conn_table *t = conn_table_new(4096);
	struct conn_svc out[CONN_SVC_MAX + 1];
	struct conn_timeouts to = { 1, 1, 1, 1, 1 };
	struct conn_key k;
	struct conn *c[10];
	size_t n, other = 99;
	char v[32];

	(void)state;
	assert_non_null(t);
	assert_int_equal(conn_svc_counts(t, out, CONN_SVC_MAX, &other), 0);
	assert_int_equal(other, 0);
	for (int i = 0; i < 10; i++) {
		mkkey(&k, IPPROTO_TCP, "192.0.2.1", (uint16_t)(1000 + i), "10.2.0.100",
		      i < 7 ? 80 : 443);
		assert_non_null(c[i] = conn_insert(t, &k, 1));
	}
	mkkey(&k, IPPROTO_UDP, "192.0.2.1", 1000, "10.2.0.100", 80);
	assert_non_null(conn_insert(t, &k, 1));
	mkkey(&k, IPPROTO_TCP, "2001:db8::1", 1000, "fd02::100", 80);
	assert_non_null(conn_insert(t, &k, 1000000));
	/* A duplicate is refused and not counted. */
	assert_null(conn_insert(t, &k, 1));
	n = conn_svc_counts(t, out, CONN_SVC_MAX, &other);
	assert_int_equal(n, 4);
	assert_int_equal(other, 0);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "10.2.0.100", 80), 7);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "10.2.0.100", 443), 3);
	assert_int_equal(svc_n(out, n, IPPROTO_UDP, "10.2.0.100", 80), 1);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "fd02::100", 80), 1);
	/* Removals; a removed entry removed again changes nothing. */
	conn_remove(t, c[0]);
	conn_remove(t, c[0]);
	for (int i = 7; i < 10; i++)
		conn_remove(t, c[i]);
	n = conn_svc_counts(t, out, CONN_SVC_MAX, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "10.2.0.100", 80), 6);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "10.2.0.100", 443), 0);
	/* Expiry removes through the same path: everything but the v6 entry
	 * (seen much later) goes. */
	conn_expire(t, 500000, &to, conn_buckets(t), NULL, NULL);
	n = conn_svc_counts(t, out, CONN_SVC_MAX, &other);
	assert_int_equal(n, 1);
	assert_int_equal(svc_n(out, n, IPPROTO_TCP, "fd02::100", 80), 1);
	assert_int_equal(conn_count(t), 1);
	/* More keys than slots: the rest is "other", and the sum is the table's. */
	for (int i = 0; i < CONN_SVC_MAX + 5; i++) {
		snprintf(v, sizeof(v), "10.3.%d.%d", i / 200, i % 200 + 1);
		mkkey(&k, IPPROTO_TCP, "192.0.2.9", 5000, v, 80);
		assert_non_null(conn_insert(t, &k, 1000000));
	}
	n = conn_svc_counts(t, out, CONN_SVC_MAX + 1, &other);
	assert_int_equal(n, CONN_SVC_MAX);
	assert_int_equal(other, 6);
	{
		size_t sum = other;

		for (size_t i = 0; i < n; i++)
			sum += out[i].n;
		assert_int_equal(sum, conn_count(t));
	}
	/* A short out gets the first slots only. */
	assert_int_equal(conn_svc_counts(t, out, 2, NULL), 2);
	/* Everything goes: every count back to 0, other included. */
	conn_expire(t, 10000000, &to, conn_buckets(t), NULL, NULL);
	assert_int_equal(conn_count(t), 0);
	assert_int_equal(conn_svc_counts(t, out, CONN_SVC_MAX, &other), 0);
	assert_int_equal(other, 0);
	/* Slots are free again for new keys. */
	mkkey(&k, IPPROTO_SCTP, "192.0.2.1", 1, "10.2.0.101", 38412);
	assert_non_null(conn_insert(t, &k, 1));
	n = conn_svc_counts(t, out, CONN_SVC_MAX, &other);
	assert_int_equal(n, 1);
	assert_int_equal(other, 0);
	assert_int_equal(svc_n(out, n, IPPROTO_SCTP, "10.2.0.101", 38412), 1);
	conn_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known_values),
		cmocka_unit_test(test_hash_ignores_padding),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_tcp_track),
		cmocka_unit_test(test_expire_per_state),
		cmocka_unit_test(test_expire_budget),
		cmocka_unit_test(test_expire_ask),
		cmocka_unit_test(test_foreach_and_seed),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_syn_memory),
		cmocka_unit_test(test_foreach_chunk),
		cmocka_unit_test(test_svc_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
