/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for sync/hoffmsg: a request cut into bodies and reassembled
 * (sizes 0 to HOFF_REQ_MAX at two body sizes, exact bytes, interleaved
 * requests, duplicates, gaps, limits, expiry, every truncation of every
 * body, bad values), and the ACK, END and NAK bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "sync/hoffmsg.h"
#include "sync/msg.h"
#include "sync/tlv.h"

static void ip(struct ip_addr *a, const char *s)
{
	assert_true(addr_parse(a, s));
}

static void mk_key(struct conn_key *k, int family, uint32_t i)
{
	struct ip_addr ca, va;

	if (family == AF_INET) {
		ip(&ca, "198.51.100.7");
		ip(&va, "10.2.0.100");
	} else {
		ip(&ca, "2001:db8::7");
		ip(&va, "2001:db8:100::1");
	}
	ca.b[3] ^= (uint8_t)(i << 4);
	conn_key_set(k, IPPROTO_TCP, &ca, (uint16_t)(40000 + i), &va, 80);
}

static void mk_params(struct hoff_params *p, int family, uint32_t i, uint32_t req_len)
{
	memset(p, 0, sizeof(*p));
	p->id = (2u << 24) | (i + 1);
	mk_key(&p->key, family, i);
	p->tport = 8080;
	p->isn_c = 0x11223344u + i;
	p->isn_f = 0xfedcba98u - i;
	p->mss = 1460;
	p->ws_c = (int8_t)(i % 16 - 1);
	p->ws_f = HOFF_FE_WSCALE;
	p->flags = (uint8_t)(i % 4);
	p->tsval_c = 0xa0000000u + i;
	p->tsval_f = 0x0b000000u + i;
	p->win_c = (uint16_t)(64000 - i);
	p->req_len = req_len;
}

static void assert_params_equal(const struct hoff_params *a, const struct hoff_params *b)
{
	assert_int_equal(a->id, b->id);
	assert_true(conn_key_eq(&a->key, &b->key));
	assert_int_equal(a->key.family, b->key.family);
	assert_int_equal(a->key.proto, b->key.proto);
	assert_int_equal(a->tport, b->tport);
	assert_int_equal(a->isn_c, b->isn_c);
	assert_int_equal(a->isn_f, b->isn_f);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->ws_c, b->ws_c);
	assert_int_equal(a->ws_f, b->ws_f);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->tsval_c, b->tsval_c);
	assert_int_equal(a->tsval_f, b->tsval_f);
	assert_int_equal(a->win_c, b->win_c);
	assert_int_equal(a->req_len, b->req_len);
}

static uint8_t *mk_data(size_t n, uint32_t seed)
{
	uint8_t *d = malloc(n ? n : 1);

	assert_non_null(d);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
	return d;
}

/* The bodies of one request, each an exact heap copy (ASan sees overreads). */
struct bodies {
	uint8_t **b;
	size_t *len;
	size_t n, cap;
	size_t body_max;
	size_t stop_at;		/* emit returns 7 at this body (if nonzero) */
};

static int collect(void *arg, const uint8_t *body, size_t len)
{
	struct bodies *bs = arg;

	assert_true(len <= bs->body_max);
	assert_true(len <= HOFF_BODY_CAP);
	assert_true(tlv_framing_ok(body, len));
	if (bs->n == bs->cap) {
		bs->cap = bs->cap ? 2 * bs->cap : 8;
		bs->b = realloc(bs->b, bs->cap * sizeof(*bs->b));
		bs->len = realloc(bs->len, bs->cap * sizeof(*bs->len));
		assert_non_null(bs->b);
		assert_non_null(bs->len);
	}
	bs->b[bs->n] = malloc(len);
	assert_non_null(bs->b[bs->n]);
	memcpy(bs->b[bs->n], body, len);
	bs->len[bs->n++] = len;
	if (bs->stop_at && bs->n == bs->stop_at)
		return 7;
	return 0;
}

static void bodies_free(struct bodies *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		free(bs->b[i]);
	free(bs->b);
	free(bs->len);
	memset(bs, 0, sizeof(*bs));
}

static void encode(struct bodies *bs, const struct hoff_params *p, const uint8_t *data,
		   size_t body_max)
{
	memset(bs, 0, sizeof(*bs));
	bs->body_max = body_max;
	assert_int_equal(hoff_req_encode(p, data, body_max, collect, bs), 0);
	assert_int_equal(bs->n, hoff_req_bodies(p->req_len, body_max));
}

/* Feeds bodies [from, to) of bs; all MORE except a DONE at the very last body. */
static void feed(struct hoff_rx *rx, const struct bodies *bs, size_t from, size_t to,
		 uint64_t now, struct hoff_params *p, uint8_t **data)
{
	for (size_t i = from; i < to; i++) {
		int rc = hoff_rx_input(rx, bs->b[i], bs->len[i], now, p, data);

		assert_int_equal(rc, i + 1 == bs->n ? HOFF_RX_DONE : HOFF_RX_MORE);
	}
}

/* Feeds all bodies of bs: the request comes out whole. */
static void feed_all(struct hoff_rx *rx, const struct bodies *bs)
{
	struct hoff_params got;
	uint8_t *out = NULL;

	feed(rx, bs, 0, bs->n, 1, &got, &out);
	assert_non_null(out);
	free(out);
}

/* --- round trips --- */

static void round_trip(int family, uint32_t i, size_t req_len, size_t body_max)
{
	struct hoff_rx *rx = hoff_rx_new(4, HOFF_REQ_MAX);
	struct hoff_params p, got;
	struct bodies bs;
	uint8_t *data = mk_data(req_len, i), *out = NULL;
	size_t total = 0;

	assert_non_null(rx);
	mk_params(&p, family, i, (uint32_t)req_len);
	encode(&bs, &p, data, body_max);
	for (size_t k = 0; k < bs.n; k++)
		total += bs.len[k];
	/* No body is wasted: all but the last are nearly full. */
	for (size_t k = 0; k + 1 < bs.n; k++)
		assert_true(bs.len[k] + 4 > (body_max < HOFF_BODY_CAP ? body_max : HOFF_BODY_CAP));
	feed(rx, &bs, 0, bs.n, 5, &got, &out);
	assert_non_null(out);
	assert_params_equal(&got, &p);
	if (req_len)
		assert_memory_equal(out, data, req_len);
	assert_int_equal(hoff_rx_pending(rx), 0);
	assert_int_equal(hoff_rx_bytes(rx), 0);
	free(out);
	free(data);
	bodies_free(&bs);
	hoff_rx_free(rx);
	assert_true(total >= req_len);
}

static void test_round_trip(void **state)
{
	static const size_t bms[] = { 256, 1300 };

	for (size_t b = 0; b < 2; b++) {
		size_t bm = bms[b];
		/* first body: bm - 76 (PARAMS) - 4 (DATA header) - 8, rounded */
		size_t first = ((bm - 76 - 4) & ~(size_t)3) - 8;
		size_t next = ((bm - 4) & ~(size_t)3) - 8;
		const size_t sizes[] = {
			0, 1, 2, 3, 4, 5, first - 1, first, first + 1, bm - 1, bm, bm + 1,
			first + next - 1, first + next, first + next + 1, 16384, HOFF_REQ_MAX - 1,
			HOFF_REQ_MAX,
		};

		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			round_trip(s % 2 ? AF_INET6 : AF_INET, (uint32_t)s, sizes[s], bm);
			if (sizes[s] <= first)
				assert_int_equal(hoff_req_bodies(sizes[s], bm), 1);
			else
				assert_int_equal(hoff_req_bodies(sizes[s], bm),
						 1 + (sizes[s] - first + next - 1) / next);
		}
		assert_int_equal(hoff_req_bodies(first, bm), 1);
		assert_int_equal(hoff_req_bodies(first + 1, bm), 2);
		assert_int_equal(hoff_req_bodies(first + next, bm), 2);
		assert_int_equal(hoff_req_bodies(first + next + 1, bm), 3);
	}
	assert_int_equal(hoff_req_bodies(0, 256), 1);
	assert_int_equal(hoff_req_bodies(168, 256), 1);
	assert_int_equal(hoff_req_bodies(169, 256), 2);
	assert_int_equal(hoff_req_bodies(HOFF_REQ_MAX + 1, 256), 0);
	assert_int_equal(hoff_req_bodies(10, 255), 0);
	/* A body_max above the cap counts as the cap. */
	assert_int_equal(hoff_req_bodies(HOFF_REQ_MAX, 1 << 20),
			 hoff_req_bodies(HOFF_REQ_MAX, HOFF_BODY_CAP));
	round_trip(AF_INET6, 9, HOFF_REQ_MAX, 1 << 20);
	round_trip(AF_INET, 10, 5000, HOFF_BODY_CAP);
}

/* The first body, byte by byte, as the layout in hoffmsg.h says. */
static const uint8_t kat_first[] = {
	0x04, 0x00, 0x00, 0x48,			/* PARAMS, len 72 */
	0x05, 0x00, 0x00, 0x07,			/* id */
	4, 6, 0x03, 0,				/* family, tcp, flags, zero */
	0xc3, 0x50, 0x00, 0x50,			/* cport 50000, vport 80 */
	198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x1f, 0x90, 0x05, 0xb4,			/* tport 8080, mss 1460 */
	0x01, 0x02, 0x03, 0x04,			/* isn_c */
	0xa1, 0xa2, 0xa3, 0xa4,			/* isn_f */
	0xff, 7, 0xfa, 0xf0,			/* ws_c -1, ws_f 7, win_c 64240 */
	0x00, 0x00, 0x12, 0x34,			/* tsval_c */
	0x80, 0x00, 0x00, 0x01,			/* tsval_f */
	0x00, 0x00, 0x00, 0x05,			/* req_len 5 */
	0x04, 0x01, 0x00, 0x0d,			/* DATA, len 13 */
	0x05, 0x00, 0x00, 0x07, 0, 0, 0, 0,	/* id, offset 0 */
	'G', 'E', 'T', ' ', '/', 0, 0, 0,	/* bytes, padding */
};

static void test_exact_bytes(void **state)
{
	struct hoff_params p, got;
	struct hoff_rx *rx = hoff_rx_new(1, 0);
	struct bodies bs;
	uint8_t *out = NULL;
	struct ip_addr ca, va;

	memset(&p, 0, sizeof(p));
	p.id = (5u << 24) | 7;
	ip(&ca, "198.51.100.7");
	ip(&va, "10.2.0.100");
	conn_key_set(&p.key, IPPROTO_TCP, &ca, 50000, &va, 80);
	p.flags = HOFF_F_SACK | HOFF_F_TS;
	p.tport = 8080;
	p.mss = 1460;
	p.isn_c = 0x01020304;
	p.isn_f = 0xa1a2a3a4;
	p.ws_c = -1;
	p.ws_f = 7;
	p.win_c = 64240;
	p.tsval_c = 0x1234;
	p.tsval_f = 0x80000001;
	p.req_len = 5;
	encode(&bs, &p, (const uint8_t *)"GET /", 256);
	assert_int_equal(bs.n, 1);
	assert_int_equal(bs.len[0], sizeof(kat_first));
	assert_memory_equal(bs.b[0], kat_first, sizeof(kat_first));
	/* And back (max_bytes 0: a request complete at once needs no room). */
	assert_int_equal(hoff_rx_input(rx, kat_first, sizeof(kat_first), 1, &got, &out),
			 HOFF_RX_DONE);
	assert_params_equal(&got, &p);
	assert_memory_equal(out, "GET /", 5);
	free(out);
	bodies_free(&bs);
	hoff_rx_free(rx);
}

/* --- reassembly: interleaving, order, limits, expiry --- */

static void test_interleaved(void **state)
{
	enum { N = 3 };
	static const size_t lens[N] = { 3000, 700, 16384 };
	struct hoff_rx *rx = hoff_rx_new(N, 3 * 16384);
	struct hoff_params p[N], got;
	struct bodies bs[N];
	uint8_t *data[N], *out;
	size_t next[N] = { 0 }, done = 0;

	assert_non_null(rx);
	for (int i = 0; i < N; i++) {
		mk_params(&p[i], i == 1 ? AF_INET6 : AF_INET, (uint32_t)i, (uint32_t)lens[i]);
		data[i] = mk_data(lens[i], (uint32_t)i + 100);
		encode(&bs[i], &p[i], data[i], 256);
	}
	/* Round robin over the requests, one body each. */
	while (done < N) {
		for (int i = 0; i < N; i++) {
			int rc;

			if (next[i] == bs[i].n)
				continue;
			out = NULL;
			rc = hoff_rx_input(rx, bs[i].b[next[i]], bs[i].len[next[i]], 1, &got,
					   &out);
			next[i]++;
			if (next[i] < bs[i].n) {
				assert_int_equal(rc, HOFF_RX_MORE);
				assert_null(out);
				continue;
			}
			assert_int_equal(rc, HOFF_RX_DONE);
			assert_params_equal(&got, &p[i]);
			assert_memory_equal(out, data[i], lens[i]);
			free(out);
			done++;
		}
	}
	assert_int_equal(hoff_rx_pending(rx), 0);
	for (int i = 0; i < N; i++) {
		free(data[i]);
		bodies_free(&bs[i]);
	}
	hoff_rx_free(rx);
}

/* One request of n bodies and a fresh receiver. */
struct one {
	struct hoff_rx *rx;
	struct hoff_params p;
	struct bodies bs;
	uint8_t *data;
};

static void one_new(struct one *o, size_t req_len, size_t max_pending, size_t max_bytes)
{
	o->rx = hoff_rx_new(max_pending, max_bytes);
	assert_non_null(o->rx);
	mk_params(&o->p, AF_INET, 3, (uint32_t)req_len);
	o->data = mk_data(req_len, 3);
	encode(&o->bs, &o->p, o->data, 256);
}

static void one_free(struct one *o)
{
	hoff_rx_free(o->rx);
	bodies_free(&o->bs);
	free(o->data);
}

static int input(struct hoff_rx *rx, const struct bodies *bs, size_t k, uint64_t now)
{
	struct hoff_params got;
	uint8_t *out = NULL;
	int rc = hoff_rx_input(rx, bs->b[k], bs->len[k], now, &got, &out);

	if (rc == HOFF_RX_DONE) {
		assert_non_null(out);
		free(out);
	} else {
		assert_null(out);
	}
	return rc;
}

static void test_duplicates_gaps(void **state)
{
	struct one o;

	/* A later body twice: the second is an overlap; the request is gone. */
	one_new(&o, 1000, 4, 65536);
	assert_true(o.bs.n >= 4);
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_MORE);
	assert_int_equal(input(o.rx, &o.bs, 1, 1), HOFF_RX_MORE);
	assert_int_equal(input(o.rx, &o.bs, 1, 1), HOFF_RX_ERR_ORDER);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	assert_int_equal(hoff_rx_bytes(o.rx), 0);
	assert_int_equal(input(o.rx, &o.bs, 2, 1), HOFF_RX_ERR_ORDER);	/* unknown id now */
	/* It may start again from its first body. */
	feed_all(o.rx, &o.bs);
	one_free(&o);

	/* The first body twice: refused and the request dropped. */
	one_new(&o, 1000, 4, 65536);
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_MORE);
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_ERR_ORDER);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	assert_int_equal(input(o.rx, &o.bs, 1, 1), HOFF_RX_ERR_ORDER);
	one_free(&o);

	/* A gap. */
	one_new(&o, 1000, 4, 65536);
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_MORE);
	assert_int_equal(input(o.rx, &o.bs, 2, 1), HOFF_RX_ERR_ORDER);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	assert_int_equal(input(o.rx, &o.bs, 1, 1), HOFF_RX_ERR_ORDER);
	/* Data before its first body. */
	assert_int_equal(input(o.rx, &o.bs, 3, 1), HOFF_RX_ERR_ORDER);
	/* A completed request's last body again: unknown id. */
	feed_all(o.rx, &o.bs);
	assert_int_equal(input(o.rx, &o.bs, o.bs.n - 1, 1), HOFF_RX_ERR_ORDER);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	one_free(&o);
}

static void test_limits(void **state)
{
	struct hoff_rx *rx;
	struct hoff_params p[4], got;
	struct bodies bs[4];
	uint8_t *data = mk_data(20000, 1), *out = NULL;

	assert_null(hoff_rx_new(0, 100));
	assert_null(hoff_rx_new(HOFF_RX_PENDING_MAX + 1, 100));
	hoff_rx_free(NULL);

	/* Two in progress at most, 2000 bytes at most. */
	rx = hoff_rx_new(2, 2000);
	assert_non_null(rx);
	mk_params(&p[0], AF_INET, 0, 1000);
	mk_params(&p[1], AF_INET, 1, 900);
	mk_params(&p[2], AF_INET, 2, 500);
	mk_params(&p[3], AF_INET6, 3, 100);	/* one body: no limit applies */
	for (int i = 0; i < 4; i++)
		encode(&bs[i], &p[i], data, 256);
	assert_int_equal(bs[3].n, 1);
	assert_int_equal(input(rx, &bs[0], 0, 1), HOFF_RX_MORE);
	assert_int_equal(hoff_rx_bytes(rx), 1000);
	assert_int_equal(input(rx, &bs[1], 0, 1), HOFF_RX_MORE);
	assert_int_equal(hoff_rx_pending(rx), 2);
	assert_int_equal(hoff_rx_bytes(rx), 1900);
	/* A third: too many. */
	assert_int_equal(input(rx, &bs[2], 0, 1), HOFF_RX_ERR_FULL);
	assert_int_equal(input(rx, &bs[2], 1, 1), HOFF_RX_ERR_ORDER);
	assert_int_equal(hoff_rx_pending(rx), 2);
	/* A single-body request still goes through. */
	assert_int_equal(input(rx, &bs[3], 0, 1), HOFF_RX_DONE);
	/* Finish the first: room for the third by count, not by bytes
	 * (900 + 500 <= 2000) - so it goes. */
	feed(rx, &bs[0], 1, bs[0].n, 1, &got, &out);
	assert_params_equal(&got, &p[0]);
	free(out);
	assert_int_equal(hoff_rx_pending(rx), 1);
	assert_int_equal(input(rx, &bs[2], 0, 1), HOFF_RX_MORE);
	assert_int_equal(hoff_rx_bytes(rx), 1400);
	/* By bytes: 1000 more would make 2400 > 2000. */
	assert_int_equal(input(rx, &bs[0], 0, 1), HOFF_RX_ERR_FULL);
	feed(rx, &bs[1], 1, bs[1].n, 1, &got, &out);
	free(out);
	assert_int_equal(input(rx, &bs[0], 0, 1), HOFF_RX_MORE);	/* 1500 */
	assert_int_equal(hoff_rx_bytes(rx), 1500);
	hoff_rx_free(rx);	/* with two in progress: nothing leaks */
	for (int i = 0; i < 4; i++)
		bodies_free(&bs[i]);

	/* Exactly max_bytes is allowed. */
	rx = hoff_rx_new(1, 1000);
	mk_params(&p[0], AF_INET, 0, 1000);
	encode(&bs[0], &p[0], data, 256);
	feed(rx, &bs[0], 0, bs[0].n, 1, &got, &out);
	free(out);
	mk_params(&p[0], AF_INET, 0, 1001);
	bodies_free(&bs[0]);
	encode(&bs[0], &p[0], data, 256);
	assert_int_equal(input(rx, &bs[0], 0, 1), HOFF_RX_ERR_FULL);
	bodies_free(&bs[0]);
	hoff_rx_free(rx);
	free(data);
}

static void test_expiry(void **state)
{
	struct hoff_rx *rx = hoff_rx_new(8, 65536);
	struct hoff_params p[3];
	struct bodies bs[3];
	uint8_t *data = mk_data(2000, 5);

	assert_non_null(rx);
	for (int i = 0; i < 3; i++) {
		mk_params(&p[i], AF_INET, (uint32_t)i, 2000);
		encode(&bs[i], &p[i], data, 1300);
		assert_int_equal(bs[i].n, 2);
	}
	assert_int_equal(input(rx, &bs[0], 0, 1000), HOFF_RX_MORE);
	assert_int_equal(input(rx, &bs[1], 0, 1500), HOFF_RX_MORE);
	assert_int_equal(input(rx, &bs[2], 0, 2000), HOFF_RX_MORE);
	assert_int_equal(hoff_rx_expire(rx, 500, 100), 0);	/* clock behind: nothing */
	assert_int_equal(hoff_rx_expire(rx, 2000, 1000), 0);	/* exactly max_age */
	assert_int_equal(hoff_rx_expire(rx, 2001, 1000), 1);
	assert_int_equal(hoff_rx_pending(rx), 2);
	assert_int_equal(hoff_rx_bytes(rx), 4000);
	assert_int_equal(input(rx, &bs[0], 1, 2001), HOFF_RX_ERR_ORDER);
	/* A later body does not restart the clock: begun is what counts. */
	assert_int_equal(hoff_rx_expire(rx, 2501, 1000), 1);
	assert_int_equal(input(rx, &bs[2], 1, 2501), HOFF_RX_DONE);
	assert_int_equal(hoff_rx_pending(rx), 0);
	assert_int_equal(hoff_rx_expire(rx, 1u << 30, 0), 0);
	assert_int_equal(hoff_rx_expire(NULL, 1, 0), 0);
	for (int i = 0; i < 3; i++)
		bodies_free(&bs[i]);
	free(data);
	hoff_rx_free(rx);
}

/* Every proper prefix of every body, in a buffer of exactly that size,
 * after the bodies before it: refused (FORMAT); ASan checks reads and
 * leaks.  A prefix that is still well framed (PARAMS without its DATA)
 * names no request; a cut DATA cannot be read: whatever partial state
 * there was stays until it expires, and nothing leaks. */
static void test_truncation(void **state)
{
	struct one o;

	one_new(&o, 900, 2, 65536);
	assert_true(o.bs.n >= 4);
	for (size_t k = 0; k < o.bs.n; k++) {
		for (size_t len = 0; len < o.bs.len[k]; len++) {
			struct hoff_rx *rx = hoff_rx_new(2, 65536);
			struct hoff_params got;
			uint8_t *cut = malloc(len ? len : 1), *out = NULL;

			assert_non_null(rx);
			assert_non_null(cut);
			memcpy(cut, o.bs.b[k], len);
			feed(rx, &o.bs, 0, k, 1, &got, &out);
			assert_int_equal(hoff_rx_input(rx, cut, len, 1, &got, &out),
					 HOFF_RX_ERR_FORMAT);
			assert_null(out);
			assert_int_equal(hoff_rx_pending(rx), k > 0);
			assert_int_equal(hoff_rx_expire(rx, 3, 1), k > 0);
			free(cut);
			hoff_rx_free(rx);
		}
	}
	/* And the whole still goes. */
	feed_all(o.rx, &o.bs);
	one_free(&o);
}

/* --- bad bodies --- */

static size_t raw_tlv(uint8_t *p, uint16_t type, const uint8_t *v, uint16_t len)
{
	size_t pl = (len + 3u) & ~3u;

	be_put16(p, type);
	be_put16(p + 2, len);
	memset(p + 4, 0, pl);
	if (len)
		memcpy(p + 4, v, len);
	return 4 + pl;
}

/* A first body built by hand from a PARAMS value and a DATA value. */
static int first_with(const uint8_t *params, uint16_t plen, const uint8_t *dv, uint16_t dlen)
{
	struct hoff_rx *rx = hoff_rx_new(4, 65536);
	struct hoff_params got;
	uint8_t body[1024], *out = NULL;
	size_t n = 0;
	int rc;

	assert_non_null(rx);
	if (params)
		n += raw_tlv(body + n, HOFF_TLV_PARAMS, params, plen);
	if (dv)
		n += raw_tlv(body + n, HOFF_TLV_DATA, dv, dlen);
	rc = hoff_rx_input(rx, body, n, 1, &got, &out);
	if (rc == HOFF_RX_DONE)
		free(out);
	else
		assert_null(out);
	hoff_rx_free(rx);
	return rc;
}

static int params_with(size_t off, uint8_t val)
{
	uint8_t v[HOFF_PARAMS_LEN];

	memcpy(v, kat_first + 4, HOFF_PARAMS_LEN);
	v[off] = val;
	return first_with(v, HOFF_PARAMS_LEN, kat_first + 80, 13);
}

static void test_bad_values(void **state)
{
	const uint8_t *pv = kat_first + 4, *dv = kat_first + 80;
	uint8_t v[HOFF_PARAMS_LEN + 8], d[64];

	assert_int_equal(first_with(pv, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_DONE);
	/* PARAMS sizes */
	memcpy(v, pv, HOFF_PARAMS_LEN);
	memset(v + HOFF_PARAMS_LEN, 0, 8);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN - 1, dv, 13), HOFF_RX_ERR_FORMAT);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN + 4, dv, 13), HOFF_RX_ERR_FORMAT);
	assert_int_equal(first_with(v, 0, dv, 13), HOFF_RX_ERR_FORMAT);
	/* values: id, family, proto, flags, zero byte, ports, addresses */
	assert_int_equal(params_with(3, 0), HOFF_RX_ERR_FORMAT);	/* id: DATA's differs */
	assert_int_equal(params_with(4, 5), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(4, AF_INET), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(5, IPPROTO_UDP), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(6, 0x04), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(6, 0x00), HOFF_RX_DONE);
	assert_int_equal(params_with(7, 1), HOFF_RX_ERR_FORMAT);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	v[8] = v[9] = 0;
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	v[10] = v[11] = 0;
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	memset(v + 12, 0, 4);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	memset(v + 28, 0, 4);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(12 + 4, 1), HOFF_RX_ERR_FORMAT);	/* v4 tail */
	assert_int_equal(params_with(28 + 15, 1), HOFF_RX_ERR_FORMAT);
	/* tport, mss */
	memcpy(v, pv, HOFF_PARAMS_LEN);
	v[44] = v[45] = 0;
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	v[46] = v[47] = 0;
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	/* window scales: -1..14 */
	assert_int_equal(params_with(56, 14), HOFF_RX_DONE);
	assert_int_equal(params_with(56, 15), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(56, 0xfe), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(57, 0xff), HOFF_RX_DONE);
	assert_int_equal(params_with(57, 0x80), HOFF_RX_ERR_FORMAT);
	/* req_len: fewer than the bytes, above the maximum */
	assert_int_equal(params_with(71, 4), HOFF_RX_ERR_FORMAT);
	assert_int_equal(params_with(71, 6), HOFF_RX_MORE);
	memcpy(v, pv, HOFF_PARAMS_LEN);
	be_put32(v + 68, HOFF_REQ_MAX + 1);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_ERR_FORMAT);
	be_put32(v + 68, HOFF_REQ_MAX);
	assert_int_equal(first_with(v, HOFF_PARAMS_LEN, dv, 13), HOFF_RX_MORE);

	/* DATA: missing, too short, other id, offset not 0, id 0, two of them */
	assert_int_equal(first_with(pv, HOFF_PARAMS_LEN, NULL, 0), HOFF_RX_ERR_FORMAT);
	assert_int_equal(first_with(pv, HOFF_PARAMS_LEN, dv, 7), HOFF_RX_ERR_FORMAT);
	memcpy(d, dv, 13);
	d[3] ^= 1;
	assert_int_equal(first_with(pv, HOFF_PARAMS_LEN, d, 13), HOFF_RX_ERR_FORMAT);
	memcpy(d, dv, 13);
	d[7] = 1;
	assert_int_equal(first_with(pv, HOFF_PARAMS_LEN, d, 13), HOFF_RX_ERR_FORMAT);
	memset(d, 0, 8);
	assert_int_equal(first_with(NULL, 0, d, 13), HOFF_RX_ERR_FORMAT);
	{
		struct hoff_rx *rx = hoff_rx_new(4, 65536);
		struct hoff_params got;
		uint8_t body[512], *out = NULL, junk[5] = { 1, 2, 3, 4, 5 };
		size_t n;

		/* two DATA */
		n = raw_tlv(body, HOFF_TLV_PARAMS, pv, HOFF_PARAMS_LEN);
		n += raw_tlv(body + n, HOFF_TLV_DATA, dv, 13);
		n += raw_tlv(body + n, HOFF_TLV_DATA, dv, 13);
		assert_int_equal(hoff_rx_input(rx, body, n, 1, &got, &out), HOFF_RX_ERR_FORMAT);
		/* two PARAMS */
		n = raw_tlv(body, HOFF_TLV_PARAMS, pv, HOFF_PARAMS_LEN);
		n += raw_tlv(body + n, HOFF_TLV_PARAMS, pv, HOFF_PARAMS_LEN);
		n += raw_tlv(body + n, HOFF_TLV_DATA, dv, 13);
		assert_int_equal(hoff_rx_input(rx, body, n, 1, &got, &out), HOFF_RX_ERR_FORMAT);
		/* unknown TLVs (a SEQ among them) are skipped, in any place */
		n = raw_tlv(body, REL_TLV_SEQ, junk, 5);
		n += raw_tlv(body + n, HOFF_TLV_DATA, dv, 13);
		n += raw_tlv(body + n, 0x4ff, junk, 3);
		n += raw_tlv(body + n, HOFF_TLV_PARAMS, pv, HOFF_PARAMS_LEN);
		n += raw_tlv(body + n, 0x7777, NULL, 0);
		assert_int_equal(hoff_rx_input(rx, body, n, 1, &got, &out), HOFF_RX_DONE);
		free(out);
		out = NULL;
		/* bad framing, NULL body */
		assert_int_equal(hoff_rx_input(rx, body, n - 1, 1, &got, &out),
				 HOFF_RX_ERR_FORMAT);
		assert_int_equal(hoff_rx_input(rx, NULL, 4, 1, &got, &out), HOFF_RX_ERR_FORMAT);
		assert_int_equal(hoff_rx_input(rx, NULL, 0, 1, &got, &out), HOFF_RX_ERR_FORMAT);
		assert_int_equal(hoff_rx_input(NULL, body, n, 1, &got, &out), HOFF_RX_ERR_FORMAT);
		assert_int_equal(hoff_rx_input(rx, body, n, 1, NULL, &out), HOFF_RX_ERR_FORMAT);
		assert_int_equal(hoff_rx_input(rx, body, n, 1, &got, NULL), HOFF_RX_ERR_FORMAT);
		assert_null(out);
		hoff_rx_free(rx);
	}
}

/* Later bodies with bad contents drop the request they name. */
static void test_bad_later(void **state)
{
	struct one o;
	struct hoff_params got;
	uint8_t body[512], d[300], *out = NULL;
	size_t n;
	const uint8_t *dv;
	uint16_t dlen;

	one_new(&o, 600, 4, 65536);
	assert_int_equal(o.bs.n, 3);
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_MORE);
	dv = tlv_find(o.bs.b[1], o.bs.len[1], HOFF_TLV_DATA, &dlen);
	assert_non_null(dv);
	/* A DATA without bytes. */
	n = raw_tlv(body, HOFF_TLV_DATA, dv, HOFF_DATA_HDR_LEN);
	assert_int_equal(hoff_rx_input(o.rx, body, n, 1, &got, &out), HOFF_RX_ERR_FORMAT);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	/* Bytes past req_len. */
	assert_int_equal(input(o.rx, &o.bs, 0, 1), HOFF_RX_MORE);
	assert_int_equal(input(o.rx, &o.bs, 1, 1), HOFF_RX_MORE);
	dv = tlv_find(o.bs.b[2], o.bs.len[2], HOFF_TLV_DATA, &dlen);
	assert_non_null(dv);
	memcpy(d, dv, dlen);
	d[dlen] = 'x';
	n = raw_tlv(body, HOFF_TLV_DATA, d, (uint16_t)(dlen + 1));
	assert_int_equal(hoff_rx_input(o.rx, body, n, 1, &got, &out), HOFF_RX_ERR_FORMAT);
	assert_int_equal(hoff_rx_pending(o.rx), 0);
	/* The same request again, whole. */
	feed(o.rx, &o.bs, 0, o.bs.n, 1, &got, &out);
	assert_memory_equal(out, o.data, 600);
	free(out);
	one_free(&o);
}

static void test_encode_args(void **state)
{
	struct hoff_params p;
	struct bodies bs;
	uint8_t *data = mk_data(5000, 1);

	memset(&bs, 0, sizeof(bs));
	bs.body_max = 1300;
	mk_params(&p, AF_INET, 1, 5000);
	assert_int_equal(hoff_req_encode(&p, data, 255, collect, &bs), -1);
	assert_int_equal(hoff_req_encode(&p, NULL, 1300, collect, &bs), -1);
	assert_int_equal(hoff_req_encode(&p, data, 1300, NULL, &bs), -1);
	assert_int_equal(hoff_req_encode(NULL, data, 1300, collect, &bs), -1);
	p.req_len = HOFF_REQ_MAX + 1;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.id = 0;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.ws_c = 15;
	assert_false(hoff_params_valid(&p));
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.key.proto = IPPROTO_UDP;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.mss = 0;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.tport = 0;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	mk_params(&p, AF_INET, 1, 5000);
	p.flags = 0x80;
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), -1);
	assert_int_equal(bs.n, 0);
	/* NULL data is fine for an empty request. */
	mk_params(&p, AF_INET, 1, 0);
	assert_int_equal(hoff_req_encode(&p, NULL, 1300, collect, &bs), 0);
	assert_int_equal(bs.n, 1);
	bodies_free(&bs);
	/* emit's first non-zero stops it. */
	bs.body_max = 1300;
	bs.stop_at = 2;
	mk_params(&p, AF_INET, 1, 5000);
	assert_int_equal(hoff_req_encode(&p, data, 1300, collect, &bs), 7);
	assert_int_equal(bs.n, 2);
	bodies_free(&bs);
	free(data);
}

/* --- ACK, END, NAK --- */

static const uint8_t kat_ack_v6[] = {
	0x04, 0x02, 0x00, 0x38,			/* ACK, len 56 */
	0x01, 0x00, 0x00, 0x09,			/* id */
	6, 6, 0, 0,				/* family, tcp, zero */
	0x9c, 0x41, 0x00, 0x50,			/* cport 40001, vport 80 */
	0x20, 0x01, 0x0d, 0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0xff, 0xff, 0xff, 0xfe,			/* delta */
	0x00, 0x01, 0x00, 0x00,			/* tsoff */
	0xff, 0, 0, 0,				/* ws_t -1, zero */
};

static const uint8_t kat_end_v4[] = {
	0x04, 0x03, 0x00, 0x2c,			/* END, len 44 */
	0x01, 0x00, 0x00, 0x09,			/* id */
	4, 6, HOFF_R_NO_STACK, 0,		/* family, tcp, reason, zero */
	0x9c, 0x41, 0x00, 0x50,			/* cport 40001, vport 80 */
	198, 51, 100, 7 ^ 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	10, 2, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_ack_end(void **state)
{
	struct hoff_ack a, ga;
	struct hoff_end e, ge;
	uint8_t buf[128];
	size_t n;

	memset(&a, 0, sizeof(a));
	a.id = (1u << 24) | 9;
	mk_key(&a.key, AF_INET6, 1);
	a.delta = 0xfffffffe;
	a.tsoff = 0x10000;
	a.ws_t = -1;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), sizeof(kat_ack_v6));
	assert_memory_equal(buf, kat_ack_v6, sizeof(kat_ack_v6));
	assert_true(hoff_ack_decode(kat_ack_v6, sizeof(kat_ack_v6), &ga));
	assert_int_equal(ga.id, a.id);
	assert_true(conn_key_eq(&ga.key, &a.key));
	assert_int_equal(ga.delta, a.delta);
	assert_int_equal(ga.tsoff, a.tsoff);
	assert_int_equal(ga.ws_t, -1);
	for (int ws = -1; ws <= 14; ws++) {
		a.ws_t = (int8_t)ws;
		mk_key(&a.key, ws % 2 ? AF_INET : AF_INET6, (uint32_t)ws + 1);
		n = hoff_ack_encode(&a, buf, sizeof(buf));
		assert_int_equal(n, 4 + HOFF_ACK_LEN);
		assert_true(hoff_ack_decode(buf, n, &ga));
		assert_int_equal(ga.ws_t, ws);
		assert_true(conn_key_eq(&ga.key, &a.key));
	}
	/* Refused: room, values. */
	for (size_t cap = 0; cap < 4 + HOFF_ACK_LEN; cap++)
		assert_int_equal(hoff_ack_encode(&a, buf, cap), 0);
	a.ws_t = 15;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), 0);
	a.ws_t = -2;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), 0);
	a.ws_t = 0;
	a.id = 0;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), 0);
	a.id = 1;
	a.key.proto = IPPROTO_UDP;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), 0);
	a.key.proto = IPPROTO_TCP;
	a.key.cport = 0;
	assert_int_equal(hoff_ack_encode(&a, buf, sizeof(buf)), 0);
	assert_int_equal(hoff_ack_encode(NULL, buf, sizeof(buf)), 0);

	memset(&e, 0, sizeof(e));
	e.id = (1u << 24) | 9;
	mk_key(&e.key, AF_INET, 1);
	e.reason = HOFF_R_NO_STACK;
	assert_int_equal(hoff_end_encode(&e, buf, sizeof(buf)), sizeof(kat_end_v4));
	assert_memory_equal(buf, kat_end_v4, sizeof(kat_end_v4));
	for (unsigned r = 0; r < HOFF_R__MAX; r++) {
		e.reason = (uint8_t)r;
		n = hoff_end_encode(&e, buf, sizeof(buf));
		assert_int_equal(n, 4 + HOFF_END_LEN);
		assert_true(hoff_end_decode(buf, n, &ge));
		assert_int_equal(ge.reason, r);
		assert_int_equal(ge.id, e.id);
		assert_true(conn_key_eq(&ge.key, &e.key));
	}
	for (size_t cap = 0; cap < 4 + HOFF_END_LEN; cap++)
		assert_int_equal(hoff_end_encode(&e, buf, cap), 0);
	e.reason = HOFF_R__MAX;
	assert_int_equal(hoff_end_encode(&e, buf, sizeof(buf)), 0);
	e.reason = 0;
	e.id = 0;
	assert_int_equal(hoff_end_encode(&e, buf, sizeof(buf)), 0);

	assert_string_equal(hoff_reason_name(HOFF_R_NONE), "none");
	assert_string_equal(hoff_reason_name(HOFF_R_RST), "rst");
	assert_string_equal(hoff_reason_name(HOFF_R_EXPIRED), "expired");
	assert_string_equal(hoff_reason_name(HOFF_R_SUPERSEDED), "superseded");
	assert_string_equal(hoff_reason_name(HOFF_R_NO_STACK), "no_stack");
	assert_string_equal(hoff_reason_name(HOFF_R_NO_ROOM), "no_room");
	assert_string_equal(hoff_reason_name(HOFF_R_FIN), "fin");
	assert_string_equal(hoff_reason_name(HOFF_R__MAX), "unknown");
	assert_string_equal(hoff_reason_name(~0u), "unknown");
}

/* One byte of a known body changed, or its length: refused. */
static bool ack_with(size_t off, uint8_t val)
{
	uint8_t b[sizeof(kat_ack_v6)];
	struct hoff_ack a;

	memcpy(b, kat_ack_v6, sizeof(b));
	b[off] = val;
	return hoff_ack_decode(b, sizeof(b), &a);
}

static bool end_with(size_t off, uint8_t val)
{
	uint8_t b[sizeof(kat_end_v4)];
	struct hoff_end e;

	memcpy(b, kat_end_v4, sizeof(b));
	b[off] = val;
	return hoff_end_decode(b, sizeof(b), &e);
}

static void test_ack_end_refused(void **state)
{
	struct hoff_ack a;
	struct hoff_end e;
	uint8_t body[256], junk[3] = { 1, 2, 3 };
	size_t n;

	/* Every truncation, in an exact buffer. */
	for (size_t len = 0; len < sizeof(kat_ack_v6); len++) {
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, kat_ack_v6, len);
		assert_false(hoff_ack_decode(p, len, &a));
		free(p);
	}
	for (size_t len = 0; len < sizeof(kat_end_v4); len++) {
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, kat_end_v4, len);
		assert_false(hoff_end_decode(p, len, &e));
		free(p);
	}
	assert_false(hoff_ack_decode(NULL, 0, &a));
	assert_false(hoff_end_decode(NULL, 0, &e));
	assert_false(hoff_ack_decode(kat_ack_v6, sizeof(kat_ack_v6), NULL));
	/* Values. */
	assert_true(ack_with(7, 0x0a));
	{
		uint8_t b[sizeof(kat_ack_v6)];

		memcpy(b, kat_ack_v6, sizeof(b));
		memset(b + 4, 0, 4);				/* id 0 */
		assert_false(hoff_ack_decode(b, sizeof(b), &a));
		memcpy(b, kat_end_v4, sizeof(kat_end_v4));
		memset(b + 4, 0, 4);
		assert_false(hoff_end_decode(b, sizeof(kat_end_v4), &e));
	}
	assert_false(ack_with(8, 4));		/* v6 bytes as v4: tail not zero */
	assert_false(ack_with(8, 5));		/* family */
	assert_false(ack_with(9, IPPROTO_UDP));
	assert_false(ack_with(10, 1));		/* zero */
	assert_false(ack_with(11, 1));
	{
		uint8_t b[sizeof(kat_ack_v6)];

		memcpy(b, kat_ack_v6, sizeof(b));
		b[12] = b[13] = 0;				/* cport 0 */
		assert_false(hoff_ack_decode(b, sizeof(b), &a));
		memcpy(b, kat_ack_v6, sizeof(b));
		memset(b + 16, 0, 16);				/* client address 0 */
		assert_false(hoff_ack_decode(b, sizeof(b), &a));
	}
	assert_true(ack_with(56, 14));
	assert_false(ack_with(56, 15));		/* ws_t */
	assert_false(ack_with(56, 0xfe));
	assert_false(ack_with(57, 1));		/* zero */
	assert_false(ack_with(59, 1));
	assert_false(end_with(10, HOFF_R__MAX));
	assert_true(end_with(10, HOFF_R__MAX - 1));
	assert_false(end_with(11, 1));
	assert_false(end_with(25, 1));		/* tail of a v4 address */
	assert_false(end_with(9, IPPROTO_SCTP));
	/* Wrong size, two of them, the other kind; unknown TLVs skipped. */
	n = raw_tlv(body, HOFF_TLV_ACK, kat_ack_v6 + 4, HOFF_ACK_LEN - 4);
	assert_false(hoff_ack_decode(body, n, &a));
	n = raw_tlv(body, HOFF_TLV_ACK, kat_ack_v6 + 4, HOFF_ACK_LEN);
	n += raw_tlv(body + n, HOFF_TLV_ACK, kat_ack_v6 + 4, HOFF_ACK_LEN);
	assert_false(hoff_ack_decode(body, n, &a));
	assert_false(hoff_end_decode(kat_ack_v6, sizeof(kat_ack_v6), &e));
	assert_false(hoff_ack_decode(kat_end_v4, sizeof(kat_end_v4), &a));
	n = raw_tlv(body, REL_TLV_SEQ, junk, 3);
	n += raw_tlv(body + n, HOFF_TLV_END, kat_end_v4 + 4, HOFF_END_LEN);
	n += raw_tlv(body + n, 0x4ff, junk, 1);
	assert_true(hoff_end_decode(body, n, &e));
	assert_int_equal(e.reason, HOFF_R_NO_STACK);
	assert_false(hoff_end_decode(body, n - 1, &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_duplicates_gaps),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_later),
		cmocka_unit_test(test_encode_args),
		cmocka_unit_test(test_ack_end),
		cmocka_unit_test(test_ack_end_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
