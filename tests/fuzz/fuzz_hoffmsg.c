/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/hoffmsg: request reassembly, and the ACK,
 * END and NAK bodies.
 *
 * Input: {pending u8, max_bytes u16}, then operations {op u8, ...}:
 *   op % 4 == 0  a raw REQ body {len u16, bytes} into the receiver; a
 *                request that comes out must be valid and come out again,
 *                the same, from its own encoding
 *   op % 4 == 1  a request built from the input {fields, req_len, body_max,
 *                mutation}: it encodes iff its parameters are valid; its
 *                bodies, fed to a fresh receiver, give it back; then they go
 *                to the shared receiver, one dropped, doubled or altered
 *   op % 4 == 2  time passes {dt u16, max_age u16} and requests expire
 *   op % 4 == 3  an ACK or END body {len u8, bytes}: one that decodes
 *                encodes again and decodes to the same
 * The receiver never holds more than its limits; nothing leaks. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sync/hoffmsg.h"
#include "sync/tlv.h"
#include "tests/fuzz/fuzz.h"

struct bodies {
	uint8_t *b[300];
	size_t len[300];
	size_t n;
};

static int collect(void *arg, const uint8_t *body, size_t len)
{
	struct bodies *bs = arg;

	FUZZ_CHECK(bs->n < 300);
	bs->b[bs->n] = fz_dup(body, len);
	bs->len[bs->n++] = len;
	return 0;
}

static void bodies_free(struct bodies *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		free(bs->b[i]);
	bs->n = 0;
}

static bool params_same(const struct hoff_params *a, const struct hoff_params *b)
{
	return a->id == b->id && conn_key_eq(&a->key, &b->key) && a->key.proto == b->key.proto &&
	       a->tport == b->tport && a->isn_c == b->isn_c && a->isn_f == b->isn_f &&
	       a->mss == b->mss && a->ws_c == b->ws_c && a->ws_f == b->ws_f &&
	       a->flags == b->flags && a->tsval_c == b->tsval_c && a->tsval_f == b->tsval_f &&
	       a->win_c == b->win_c && a->req_len == b->req_len;
}

static void check_rx(const struct hoff_rx *rx, size_t max_pending, size_t max_bytes)
{
	FUZZ_CHECK(hoff_rx_pending(rx) <= max_pending);
	FUZZ_CHECK(hoff_rx_bytes(rx) <= max_bytes);
}

/* p and data, encoded at body_max, come back whole from a fresh receiver. */
static void round_trip(const struct hoff_params *p, const uint8_t *data, size_t body_max)
{
	static struct bodies bs;
	struct hoff_rx *rx = hoff_rx_new(1, 0);
	struct hoff_params got;
	uint8_t *out = NULL;
	size_t cap = body_max < HOFF_BODY_CAP ? body_max : HOFF_BODY_CAP;
	int rc = HOFF_RX_MORE;

	FUZZ_CHECK(rx);
	FUZZ_CHECK(hoff_req_encode(p, data, body_max, collect, &bs) == 0);
	FUZZ_CHECK(bs.n == hoff_req_bodies(p->req_len, body_max));
	/* max_bytes 0: only a one-body request fits; a fresh receiver with
	 * room otherwise */
	if (bs.n > 1) {
		hoff_rx_free(rx);
		rx = hoff_rx_new(1, HOFF_REQ_MAX);
		FUZZ_CHECK(rx);
	}
	for (size_t i = 0; i < bs.n; i++) {
		FUZZ_CHECK(bs.len[i] <= cap && tlv_framing_ok(bs.b[i], bs.len[i]));
		rc = hoff_rx_input(rx, bs.b[i], bs.len[i], 1, &got, &out);
		FUZZ_CHECK(rc == (i + 1 == bs.n ? HOFF_RX_DONE : HOFF_RX_MORE));
	}
	FUZZ_CHECK(out && params_same(&got, p));
	FUZZ_CHECK(!p->req_len || memcmp(out, data, p->req_len) == 0);
	free(out);
	FUZZ_CHECK(hoff_rx_pending(rx) == 0);
	bodies_free(&bs);
	hoff_rx_free(rx);
}

static void op_raw(struct fz *f, struct hoff_rx *rx, uint64_t now)
{
	const uint8_t *p;
	size_t len = fz_bytes(f, &p, fz_u16(f) % (HOFF_BODY_CAP + 64));
	uint8_t *body = fz_dup(p, len), *out = NULL;
	struct hoff_params got;
	size_t before = hoff_rx_pending(rx);
	int rc = hoff_rx_input(rx, body, len, now, &got, &out);

	FUZZ_CHECK(rc >= HOFF_RX_ERR_ORDER && rc <= HOFF_RX_DONE);
	if (rc == HOFF_RX_DONE) {
		FUZZ_CHECK(out && hoff_params_valid(&got));
		round_trip(&got, out, 256 + (now % 1200));
		free(out);
	} else {
		FUZZ_CHECK(!out);
		/* at most one request begins per body */
		FUZZ_CHECK(hoff_rx_pending(rx) <= before + (rc == HOFF_RX_MORE));
	}
	free(body);
}

static void op_request(struct fz *f, struct hoff_rx *rx, uint8_t op, uint64_t now)
{
	static struct bodies bs;
	static uint8_t data[HOFF_REQ_MAX + 1];
	struct hoff_params p, got;
	struct ip_addr ca, va;
	uint8_t a[16] = { 0 }, b[16] = { 0 }, *out;
	size_t body_max, n;
	const uint8_t *src;
	uint16_t cport, vport;
	uint32_t big;
	uint8_t m;
	int fam = op & 0x10 ? AF_INET6 : AF_INET, rc;

	memset(&p, 0, sizeof(p));
	p.id = fz_u32(f);
	for (size_t i = 0; i < (fam == AF_INET ? 4u : 16u); i++) {
		a[i] = fz_u8(f);
		b[i] = fz_u8(f);
	}
	addr_from_bytes(&ca, fam, a);
	addr_from_bytes(&va, fam, b);
	cport = fz_u16(f);
	vport = fz_u16(f);
	conn_key_set(&p.key, op & 0x20 ? IPPROTO_UDP : IPPROTO_TCP, &ca, cport, &va, vport);
	p.tport = fz_u16(f);
	p.isn_c = fz_u32(f);
	p.isn_f = fz_u32(f);
	p.mss = fz_u16(f);
	p.ws_c = (int8_t)fz_u8(f);
	p.ws_f = (int8_t)fz_u8(f);
	p.flags = fz_u8(f);
	p.tsval_c = fz_u32(f);
	p.tsval_f = fz_u32(f);
	p.win_c = fz_u16(f);
	p.req_len = fz_u16(f);
	big = fz_u8(f);
	if (op & 0x40)		/* up to HOFF_REQ_MAX and past it */
		p.req_len += big & 1 ? 0x10000u : 0;
	body_max = fz_u16(f) % (HOFF_BODY_CAP + 300);
	m = fz_u8(f);
	/* request bytes: from the input, then a pattern */
	n = fz_bytes(f, &src, p.req_len <= HOFF_REQ_MAX ? p.req_len : 0);
	memcpy(data, src, n);
	for (size_t i = n; i < p.req_len && i <= HOFF_REQ_MAX; i++)
		data[i] = (uint8_t)(i * 7);

	rc = hoff_req_encode(&p, data, body_max, collect, &bs);
	FUZZ_CHECK((rc == 0) == (hoff_params_valid(&p) && body_max >= HOFF_BODY_MIN));
	FUZZ_CHECK(rc == 0 || bs.n == 0);
	if (rc != 0)
		return;
	bodies_free(&bs);
	round_trip(&p, data, body_max);
	/* The same into the shared receiver, spoilt by m. */
	FUZZ_CHECK(hoff_req_encode(&p, data, body_max, collect, &bs) == 0);
	for (size_t i = 0; i < bs.n; i++) {
		size_t k = (m >> 2) % bs.n;
		int times = (m & 3) == 1 && i == k ? 0 : (m & 3) == 2 && i == k ? 2 : 1;

		if ((m & 3) == 3 && i == k)
			bs.b[i][fz_u16(f) % bs.len[i]] ^= (uint8_t)(1u << (m % 8));
		while (times--) {
			out = NULL;
			rc = hoff_rx_input(rx, bs.b[i], bs.len[i], now, &got, &out);
			FUZZ_CHECK(rc >= HOFF_RX_ERR_ORDER && rc <= HOFF_RX_DONE);
			FUZZ_CHECK((rc == HOFF_RX_DONE) == (out != NULL));
			if (out) {
				FUZZ_CHECK(hoff_params_valid(&got));
				/* unspoilt, it is ours */
				if (!(m & 3))
					FUZZ_CHECK(params_same(&got, &p) &&
						   (!p.req_len ||
						    memcmp(out, data, p.req_len) == 0));
				free(out);
			}
		}
	}
	bodies_free(&bs);
}

static void op_ack_end(struct fz *f)
{
	const uint8_t *p;
	size_t len = fz_bytes(f, &p, fz_u8(f));
	uint8_t *body = fz_dup(p, len), again[128];
	struct hoff_ack a, a2;
	struct hoff_end e, e2;
	size_t n;

	if (hoff_ack_decode(body, len, &a)) {
		n = hoff_ack_encode(&a, again, sizeof(again));
		FUZZ_CHECK(n == 4 + HOFF_ACK_LEN && n <= len);
		FUZZ_CHECK(hoff_ack_decode(again, n, &a2));
		FUZZ_CHECK(a.id == a2.id && conn_key_eq(&a.key, &a2.key) &&
			   a.delta == a2.delta && a.tsoff == a2.tsoff && a.ws_t == a2.ws_t);
	}
	if (hoff_end_decode(body, len, &e)) {
		n = hoff_end_encode(&e, again, sizeof(again));
		FUZZ_CHECK(n == 4 + HOFF_END_LEN && n <= len);
		FUZZ_CHECK(hoff_end_decode(again, n, &e2));
		FUZZ_CHECK(e.id == e2.id && conn_key_eq(&e.key, &e2.key) &&
			   e.reason == e2.reason);
		FUZZ_CHECK(strcmp(hoff_reason_name(e.reason), "unknown") != 0);
	}
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct hoff_rx *rx;
	size_t max_pending, max_bytes;
	uint64_t now = 1;

	if (size > 256 * 1024)
		return 0;
	max_pending = 1 + (fz_u8(&f) & 7);
	max_bytes = (size_t)fz_u16(&f) * 2;
	rx = hoff_rx_new(max_pending, max_bytes);
	FUZZ_CHECK(rx);
	while (f.n) {
		uint8_t op = fz_u8(&f);

		switch (op % 4) {
		case 0:
			op_raw(&f, rx, now);
			break;
		case 1:
			op_request(&f, rx, op, now);
			break;
		case 2: {
			size_t before = hoff_rx_pending(rx), gone;

			now += fz_u16(&f);
			gone = hoff_rx_expire(rx, now, fz_u16(&f));
			FUZZ_CHECK(gone <= before && hoff_rx_pending(rx) == before - gone);
			break;
		}
		default:
			op_ack_end(&f);
			break;
		}
		check_rx(rx, max_pending, max_bytes);
	}
	hoff_rx_free(rx);
	return 0;
}
