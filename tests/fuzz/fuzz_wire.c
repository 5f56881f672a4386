/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/wire: wire_decode, the TLV iterator,
 * wire_get_listen, tlv_framing_ok and the replay window.
 *
 * Input: a mode byte, then data.
 *   mode & 0x80: data is a sequence of replay-window operations, checked
 *                against a plain model (a list of the seqs accepted).
 *   otherwise:   data is a datagram.  mode & 1 makes it authentic first
 *                (magic, version, length and MAC rewritten) so that the
 *                fuzzer gets past the MAC; mode & 2 signs it with the second
 *                key of a rotation.  A decoded message must walk its TLVs
 *                exactly, and encode again (wire_begin/put/finish) to a
 *                datagram of the same size that decodes to the same header
 *                and TLVs.  The data is also checked as a bare TLV body:
 *                tlv_framing_ok is true exactly when the iterator
 *                consumes all of it. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "common/be.h"
#include "sync/wire.h"
#include "tests/fuzz/fuzz.h"

static void fill_keys(struct wire_keys *k)
{
	memset(k, 0, sizeof(*k));
	memset(k->key[0].k, 0x11, sizeof(k->key[0].k));
	memset(k->key[1].k, 0x22, sizeof(k->key[1].k));
	k->n = 2;
}

/* The bare body: framing_ok agrees with a walk of the iterator. */
static void check_framing(const uint8_t *p, size_t len)
{
	struct wire_msg m = { .body = p, .body_len = len };
	struct tlv_iter it;
	const uint8_t *val;
	uint16_t type, vlen;
	size_t used = 0;

	wire_tlv_begin(&it, &m);
	while (tlv_next(&it, &type, &val, &vlen)) {
		FUZZ_CHECK(val == p + used + TLV_HDR_LEN);
		used += TLV_HDR_LEN + tlv_pad4(vlen);
		FUZZ_CHECK(used <= len);
	}
	/* a stopped iterator stays stopped */
	FUZZ_CHECK(!tlv_next(&it, &type, &val, &vlen));
	FUZZ_CHECK(tlv_framing_ok(p, len) == (used == len));
}

#define MAX_TLVS (WIRE_MAX / TLV_HDR_LEN)

struct tlv {
	uint16_t type, len;
	const uint8_t *val;
};

static size_t walk(const struct wire_msg *m, struct tlv *t)
{
	struct tlv_iter it;
	struct wire_listen l;
	size_t n = 0, used = 0;

	wire_tlv_begin(&it, m);
	while (n < MAX_TLVS && tlv_next(&it, &t[n].type, &t[n].val, &t[n].len)) {
		FUZZ_CHECK(t[n].val == m->body + used + TLV_HDR_LEN);
		used += TLV_HDR_LEN + tlv_pad4(t[n].len);
		FUZZ_CHECK(used <= m->body_len);
		if (t[n].type == WIRE_TLV_LISTEN && wire_get_listen(t[n].val, t[n].len, &l)) {
			FUZZ_CHECK(t[n].len >= WIRE_LISTEN_LEN);
			FUZZ_CHECK(l.family == AF_INET || l.family == AF_INET6);
			FUZZ_CHECK(l.family == (t[n].val[0] == 4 ? AF_INET : AF_INET6));
			FUZZ_CHECK(l.port == be_get16(t[n].val + 2));
			FUZZ_CHECK(l.listening == (t[n].val[4] != 0));
		}
		n++;
	}
	/* wire_decode checked the framing: the walk cannot stop early */
	FUZZ_CHECK(used == m->body_len);
	return n;
}

static void datagram(uint8_t mode, const uint8_t *data, size_t size)
{
	static struct tlv t1[MAX_TLVS], t2[MAX_TLVS];
	uint8_t out[WIRE_MAX];
	struct wire_keys keys, one;
	struct wire_writer w;
	struct wire_msg m, m2;
	enum wire_status st;
	size_t n1, n2, i, n;
	uint8_t *b = fz_dup(data, size);

	fill_keys(&keys);
	if ((mode & 1) && size >= WIRE_HDR_LEN + WIRE_MAC_LEN && size <= WIRE_MAX) {
		be_put32(b, WIRE_MAGIC);
		b[4] = WIRE_VERSION;
		be_put16(b + 28, (uint16_t)(size - WIRE_MAC_LEN));
		crypto_auth(b + size - WIRE_MAC_LEN, b, size - WIRE_MAC_LEN,
			    keys.key[mode & 2 ? 1 : 0].k);
	}
	st = wire_decode(b, size, &keys, &m);
	FUZZ_CHECK(st < WIRE__MAX);
	FUZZ_CHECK(strcmp(wire_status_name(st), "unknown") != 0);
	if (st != WIRE_OK)
		goto out;
	FUZZ_CHECK(m.body == b + WIRE_HDR_LEN);
	FUZZ_CHECK(m.body_len + WIRE_HDR_LEN + WIRE_MAC_LEN == size);
	FUZZ_CHECK(m.hdr.type == b[5] && m.hdr.seq == be_get64(b + 20));
	/* the same datagram with the other key alone: only one of them signed it */
	one = keys;
	one.n = 1;
	if (mode & 2) {
		one.key[0] = keys.key[1];
		one.key[1] = keys.key[0];
	}
	n1 = walk(&m, t1);

	/* encode again with the first key: same size, same content */
	wire_begin(&w, out, sizeof(out), &m.hdr);
	for (i = 0; i < n1; i++)
		wire_put(&w, t1[i].type, t1[i].val, t1[i].len);
	n = wire_finish(&w, &one);
	FUZZ_CHECK(n == size);
	FUZZ_CHECK(wire_decode(out, n, &one, &m2) == WIRE_OK);
	FUZZ_CHECK(m2.hdr.type == m.hdr.type && m2.hdr.flags == m.hdr.flags &&
		   m2.hdr.sender == m.hdr.sender && m2.hdr.epoch == m.hdr.epoch &&
		   m2.hdr.seq == m.hdr.seq);
	n2 = walk(&m2, t2);
	FUZZ_CHECK(n1 == n2);
	for (i = 0; i < n1; i++)
		FUZZ_CHECK(t1[i].type == t2[i].type && t1[i].len == t2[i].len &&
			   memcmp(t1[i].val, t2[i].val, t1[i].len) == 0);
	/* the header and TLVs are signed: a flipped bit fails the MAC */
	out[5 + size % 23] ^= 0x40;
	FUZZ_CHECK(wire_decode(out, n, &keys, &m2) == WIRE_ERR_MAC);
out:
	free(b);
}

/* The model: the highest seq, and the seqs accepted within the window. */
struct model {
	bool valid;
	uint64_t epoch, top;
	uint64_t seen[WIRE_REPLAY_WINDOW + 1];
	size_t n_seen;
};

static enum wire_status model_check(const struct model *md, uint64_t epoch, uint64_t seq)
{
	size_t i;

	if (!md->valid || epoch > md->epoch)
		return WIRE_OK;
	if (epoch < md->epoch)
		return WIRE_ERR_STALE_EPOCH;
	if (seq > md->top)
		return WIRE_OK;
	if (md->top - seq >= WIRE_REPLAY_WINDOW)
		return WIRE_ERR_REPLAY;
	for (i = 0; i < md->n_seen; i++)
		if (md->seen[i] == seq)
			return WIRE_ERR_REPLAY;
	return WIRE_OK;
}

static void model_accept(struct model *md, uint64_t epoch, uint64_t seq)
{
	size_t i, j;

	if (!md->valid || epoch > md->epoch) {
		md->valid = true;
		md->epoch = epoch;
		md->top = seq;
		md->n_seen = 0;
	}
	if (seq > md->top)
		md->top = seq;
	md->seen[md->n_seen++] = seq;
	for (i = j = 0; i < md->n_seen; i++)
		if (md->top - md->seen[i] < WIRE_REPLAY_WINDOW)
			md->seen[j++] = md->seen[i];
	md->n_seen = j;
}

static void replay(struct fz *f)
{
	struct wire_replay r;
	struct model md;
	enum wire_status st;
	uint64_t epoch = 0, seq;
	unsigned ops = 0;

	memset(&r, 0, sizeof(r));
	memset(&md, 0, sizeof(md));
	while (f->n && ops++ < 512) {
		uint8_t op = fz_u8(f), d = fz_u8(f);

		switch (op & 3) {
		case 1:
			epoch++;
			break;
		case 2:
			epoch -= epoch > 0;
			break;
		case 3:
			epoch = d & 0x80 ? UINT64_MAX - (d & 3) : d;
			break;
		}
		switch (op >> 2 & 3) {
		case 0:
			seq = md.top + d;
			break;
		case 1:
			seq = md.top >= d ? md.top - d : 0;
			break;
		case 2:
			seq = UINT64_MAX - d;
			break;
		default:
			seq = (uint64_t)d << (op >> 4);
			break;
		}
		st = wire_replay_check(&r, epoch, seq);
		FUZZ_CHECK(st == model_check(&md, epoch, seq));
		if (st == WIRE_OK && (op & 0x40) == 0) {
			wire_replay_accept(&r, epoch, seq);
			model_accept(&md, epoch, seq);
			FUZZ_CHECK(wire_replay_check(&r, epoch, seq) == WIRE_ERR_REPLAY);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode;

	if (size > 8 * WIRE_MAX || sodium_init() < 0)
		return 0;
	mode = fz_u8(&f);
	if (mode & 0x80) {
		replay(&f);
		return 0;
	}
	check_framing(f.p, f.n);
	datagram(mode, f.p, f.n);
	return 0;
}
