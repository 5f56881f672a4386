/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/sctp.  The packets are built here chunk by chunk, their CRC32c by the
 * bit-by-bit reference of pktbuild.h (never nfq/csum), and every packet nfq/sctp writes is
 * checked by recomputing that CRC, the IPv4 header sum and the lengths independently.
 *
 *   test_sctp                      runs the tests
 *   test_sctp --write-corpus DIR   writes the seeds of tests/fuzz/corpus/sctp into DIR */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/pkt.h"
#include "nfq/sctp.h"
#include "tests/unit/pktbuild.h"

#define C4	"10.0.0.1"
#define V4	"10.2.0.100"
#define A4	"10.2.0.101"	/* the alternate address */
#define T4	"10.3.0.7"	/* the target's own addresses */
#define T4B	"10.3.1.7"
#define T4C	"192.168.9.7"
#define C6	"2001:db8::1"
#define V6	"2001:db8:2::100"
#define A6	"2001:db8:2::101"
#define T6	"2001:db8:3::7"
#define T6B	"2001:db8:3:1::7"
#define T6C	"fd00::7"

#define CPORT	40000
#define SPORT	3868
#define VTAG	0xa1b2c3d4u
#define ITAG	0x5566aabbu

/* ---- builders ---- */

/* The chunks of a packet, or the parameters of an INIT, as they grow. */
struct sb {
	uint8_t b[70000];
	size_t n;
};

static void sb_put(struct sb *s, const void *p, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	if (n)
		memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void sb_zero(struct sb *s, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	memset(s->b + s->n, 0, n);
	s->n += n;
}

static size_t padlen(size_t n)
{
	return (4 - n % 4) % 4;
}

/* A TLV (chunk or parameter header: type 1 byte + flags 1 byte, or type 2 bytes) with its
 * value; len_field overrides the length written when not 0; pad adds the padding. */
static void sb_chunk_raw(struct sb *s, uint8_t type, uint8_t flags, const void *val,
			 size_t vlen, uint16_t len_field, bool pad)
{
	uint8_t h[4] = { type, flags };

	be_put16(h + 2, len_field ? len_field : (uint16_t)(4 + vlen));
	sb_put(s, h, 4);
	sb_put(s, val, vlen);
	if (pad)
		sb_zero(s, padlen(vlen));
}

static void sb_chunk(struct sb *s, uint8_t type, uint8_t flags, const void *val, size_t vlen)
{
	sb_chunk_raw(s, type, flags, val, vlen, 0, true);
}

static void sb_param(struct sb *s, uint16_t type, const void *val, size_t vlen)
{
	uint8_t h[4];

	be_put16(h, type);
	be_put16(h + 2, (uint16_t)(4 + vlen));
	sb_put(s, h, 4);
	sb_put(s, val, vlen);
	sb_zero(s, padlen(vlen));
}

static void sb_addr(struct sb *s, const char *a)
{
	struct ip_addr x = pb_addr(a);

	sb_param(s, x.family == AF_INET ? 5 : 6, x.b, addr_len(&x));
}

/* Fixed part of an INIT / INIT ACK followed by the parameters prm; the chunk length
 * leaves out the last parameter's padding when trim_last_pad (the RFC's way). */
static void sb_init(struct sb *s, uint8_t type, uint32_t itag, const struct sb *prm,
		    size_t last_pad)
{
	uint8_t f[16];

	be_put32(f, itag);
	be_put32(f + 4, 131072);	/* a_rwnd */
	be_put16(f + 8, 10);		/* OS */
	be_put16(f + 10, 65535);	/* MIS */
	be_put32(f + 12, 0x01020304);	/* initial TSN */
	{
		uint8_t h[4] = { type, 0 };

		be_put16(h + 2, (uint16_t)(4 + 16 + prm->n - last_pad));
		sb_put(s, h, 4);
	}
	sb_put(s, f, 16);
	sb_put(s, prm->b, prm->n);
}

/* A whole packet: IP header (per s: family, addresses, options or extension headers),
 * common header with vtag, the chunks, CRC32c by the reference.  Returns its length. */
static size_t build(uint8_t *b, const struct pb_spec *s, uint32_t vtag, const struct sb *ch)
{
	uint32_t off = pb_build_ip(b, s, IPPROTO_SCTP, (uint32_t)(12 + ch->n)), crc;
	uint8_t *sh = b + off;

	be_put16(sh, s->sport);
	be_put16(sh + 2, s->dport);
	be_put32(sh + 4, vtag);
	memset(sh + 8, 0, 4);
	memcpy(sh + 12, ch->b, ch->n);
	crc = pb_crc32c(sh, 12 + ch->n);
	sh[8] = (uint8_t)crc;
	sh[9] = (uint8_t)(crc >> 8);
	sh[10] = (uint8_t)(crc >> 16);
	sh[11] = (uint8_t)(crc >> 24);
	return off + 12 + ch->n;
}

static struct pb_spec spec(int family, bool to_vipa)
{
	struct pb_spec s = { .family = family, .proto = IPPROTO_SCTP };

	if (family == AF_INET) {
		s.src = to_vipa ? C4 : T4;
		s.dst = to_vipa ? V4 : C4;
	} else {
		s.src = to_vipa ? C6 : T6;
		s.dst = to_vipa ? V6 : C6;
	}
	s.sport = to_vipa ? CPORT : SPORT;
	s.dport = to_vipa ? SPORT : CPORT;
	return s;
}

static const uint8_t cookie_val[] = "a state cookie of 37 bytes, odd size!";	/* + NUL: 38 */

/* The parameters of an INIT ACK from a target: the state cookie, an unknown parameter
 * the peer must see unchanged, n own addresses of family, a hostname if asked, ECN. */
static void init_ack_params(struct sb *prm, int family, unsigned int n, bool hostname,
			    bool cookie_last)
{
	static const char *own4[] = { T4, T4B, T4C }, *own6[] = { T6, T6B, T6C };
	static const uint8_t unknown[6] = { 1, 2, 3, 4, 5, 6 };
	unsigned int i;

	prm->n = 0;
	if (!cookie_last)
		sb_param(prm, SCTP_PARAM_STATE_COOKIE, cookie_val, sizeof(cookie_val));
	for (i = 0; i < n; i++)
		sb_addr(prm, family == AF_INET ? own4[i] : own6[i]);
	sb_param(prm, 0x8008, unknown, sizeof(unknown));	/* supported extensions */
	if (hostname)
		sb_param(prm, SCTP_PARAM_HOSTNAME, "target.example\0", 16);
	sb_param(prm, 0x8000, NULL, 0);				/* ECN capable */
	if (cookie_last)
		sb_param(prm, SCTP_PARAM_STATE_COOKIE, cookie_val, sizeof(cookie_val));
}

/* An INIT ACK from the target to the client. */
static size_t build_init_ack(uint8_t *b, const struct pb_spec *s, unsigned int n_addr,
			     bool hostname, bool cookie_last)
{
	static struct sb prm, ch;

	init_ack_params(&prm, s->family, n_addr, hostname, cookie_last);
	ch.n = 0;
	sb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG, &prm,
		cookie_last ? padlen(sizeof(cookie_val)) : 0);
	return build(b, s, VTAG, &ch);
}

/* An INIT from the client: two addresses, supported types v4+v6, a hostname. */
static size_t build_init(uint8_t *b, const struct pb_spec *s, uint32_t itag)
{
	static struct sb prm, ch;
	const uint8_t sat[] = { 0, 5, 0, 6 };

	prm.n = 0;
	sb_addr(&prm, s->family == AF_INET ? C4 : C6);
	sb_addr(&prm, s->family == AF_INET ? "10.0.1.1" : "2001:db8:1::1");
	sb_param(&prm, SCTP_PARAM_SUPPORTED_ADDR, sat, sizeof(sat));
	sb_param(&prm, 9, "\0\0\0\x10", 4);	/* cookie preservative */
	ch.n = 0;
	sb_init(&ch, SCTP_CHUNK_INIT, itag, &prm, 0);
	return build(b, s, 0, &ch);
}

static void parse_ok(const uint8_t *b, size_t n, struct pkt *p)
{
	assert_int_equal(pkt_parse(b, n, p), PKT_OK);
	assert_int_equal(p->proto, IPPROTO_SCTP);
}

/* ---- independent checks of a packet nfq/sctp wrote ---- */

struct tlv {
	uint16_t type;
	uint16_t len;
	size_t off;		/* in the chunk */
	const uint8_t *val;
};

/* The parameters of the INIT/INIT ACK chunk at ch, by a walk of its own. */
static size_t list_params(const uint8_t *ch, struct tlv *t, size_t max)
{
	size_t n = 0, off = 20, end = be_get16(ch + 2);

	while (off + 4 <= end) {
		assert_true(n < max);
		t[n].type = be_get16(ch + off);
		t[n].len = be_get16(ch + off + 2);
		assert_true(t[n].len >= 4 && off + t[n].len <= end);
		t[n].off = off;
		t[n].val = ch + off + 4;
		off += (t[n].len + 3u) & ~3u;
		n++;
	}
	assert_true(off >= end);
	return n;
}

/* Lengths, checksums and CRC of the packet r (rn bytes), with its IP header of family. */
static void check_wire(const uint8_t *r, size_t rn, int family, size_t l4_off)
{
	struct pkt q;

	assert_int_equal(pkt_parse(r, rn, &q), PKT_OK);
	assert_int_equal(q.ip_len, rn);
	assert_int_equal(q.l4_off, l4_off);
	if (family == AF_INET) {
		assert_int_equal(be_get16(r + 2), rn);
		assert_int_equal(pb_ip4_sum(r), 0xffff);
	} else {
		assert_int_equal(be_get16(r + 4), rn - 40);
	}
	assert_int_equal(pb_crc32c_field(r + l4_off, rn - l4_off), 0);
	assert_true(sctp_crc_ok(r, &q));
	assert_int_equal((rn - l4_off) % 4, 0);	/* chunks padded */
}

/* ---- walk ---- */

static void test_walk_data_sack(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[512], data[20] = { 0 }, sack[12] = { 0 };
	struct sctp_info si;
	struct sb ch = { .n = 0 };
	struct pkt p;
	size_t n;
	int i;

	(void)state;
	sb_chunk(&ch, SCTP_CHUNK_DATA, 0x03, data, 13);	/* 17 bytes: padded to 20 */
	sb_chunk(&ch, SCTP_CHUNK_SACK, 0, sack, sizeof(sack));
	for (i = 0; i < 2; i++) {
		struct pb_spec s = spec(fam[i], true);

		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_true(sctp_crc_ok(b, &p));
		assert_int_equal(sctp_walk(b, &p, &si), SCTP_OK);
		assert_int_equal(si.vtag, VTAG);
		assert_int_equal(si.sport, CPORT);
		assert_int_equal(si.dport, SPORT);
		assert_int_equal(si.n_chunks, 2);
		assert_int_equal(si.first_type, SCTP_CHUNK_DATA);
		assert_true(sctp_has(&si, SCTP_CHUNK_DATA));
		assert_true(sctp_has(&si, SCTP_CHUNK_SACK));
		assert_false(sctp_has(&si, SCTP_CHUNK_ABORT));
		assert_false(sctp_has(&si, SCTP_CHUNK_ASCONF));
		assert_false(si.t_bit);
		assert_false(si.m_bit);
		assert_int_equal(si.itag, 0);
		b[n - 1] ^= 1;	/* the CRC now fails */
		assert_false(sctp_crc_ok(b, &p));
	}
}

static void test_walk_cookie_echo_and_asconf(void **state)
{
	struct pb_spec s = spec(AF_INET6, true);
	uint8_t b[512], data[16] = { 0 };
	struct sctp_info si;
	struct sctp_iter it;
	struct sctp_chunk c;
	struct sb ch = { .n = 0 };
	struct pkt p;
	size_t n;

	(void)state;
	sb_chunk(&ch, SCTP_CHUNK_COOKIE_ECHO, 0, cookie_val, sizeof(cookie_val));
	sb_chunk(&ch, SCTP_CHUNK_DATA, 0x03, data, sizeof(data));
	sb_chunk(&ch, SCTP_CHUNK_ASCONF, 0, data, 8);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_OK);
	assert_int_equal(si.n_chunks, 3);
	assert_int_equal(si.first_type, SCTP_CHUNK_COOKIE_ECHO);
	assert_true(sctp_has(&si, SCTP_CHUNK_COOKIE_ECHO));
	assert_true(sctp_has(&si, SCTP_CHUNK_ASCONF));
	assert_false(sctp_has(&si, SCTP_CHUNK_ASCONF_ACK));
	/* the cursor gives the same chunks, offsets inside the packet */
	assert_int_equal(sctp_iter_init(&it, b, &p), SCTP_OK);
	assert_int_equal(sctp_iter_next(&it, &c), 1);
	assert_int_equal(c.type, SCTP_CHUNK_COOKIE_ECHO);
	assert_int_equal(c.len, 4 + sizeof(cookie_val));
	assert_int_equal(c.off, 40 + 12);
	assert_memory_equal(b + c.off + 4, cookie_val, sizeof(cookie_val));
	assert_int_equal(sctp_iter_next(&it, &c), 1);
	assert_int_equal(c.type, SCTP_CHUNK_DATA);
	assert_int_equal(c.flags, 0x03);
	assert_int_equal(c.off, 40 + 12 + 4 + 40);
	assert_int_equal(sctp_iter_next(&it, &c), 1);
	assert_int_equal(c.type, SCTP_CHUNK_ASCONF);
	assert_int_equal(sctp_iter_next(&it, &c), 0);
	assert_int_equal(sctp_iter_next(&it, &c), 0);
}

static void test_walk_abort_shutdown_complete_flags(void **state)
{
	static const struct {
		uint8_t type, flags;
		bool t, m;
	} cases[] = {
		{ SCTP_CHUNK_ABORT, 0, false, false },
		{ SCTP_CHUNK_ABORT, SCTP_FLAG_T, true, false },
		{ SCTP_CHUNK_ABORT, SCTP_FLAG_T | SCTP_FLAG_M, true, true },
		{ SCTP_CHUNK_SHUTDOWN_COMPLETE, 0, false, false },
		{ SCTP_CHUNK_SHUTDOWN_COMPLETE, SCTP_FLAG_T, true, false },
		{ SCTP_CHUNK_ERROR, SCTP_FLAG_M, false, true },
		/* the same bits on other chunks mean other things */
		{ SCTP_CHUNK_DATA, 0x03, false, false },
		{ SCTP_CHUNK_SHUTDOWN_ACK, 0x03, false, false },
	};
	struct sctp_info si;
	struct pkt p;
	uint8_t b[256], cause[4] = { 0, 12, 0, 4 };	/* user initiated abort */
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_spec s = spec(i % 2 ? AF_INET6 : AF_INET, true);
		struct sb ch = { .n = 0 };

		sb_chunk(&ch, cases[i].type, cases[i].flags, cause,
			 cases[i].type == SCTP_CHUNK_SHUTDOWN_COMPLETE ? 0 : 4);
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_walk(b, &p, &si), SCTP_OK);
		assert_int_equal(si.first_type, cases[i].type);
		assert_int_equal(si.t_bit, cases[i].t);
		assert_int_equal(si.m_bit, cases[i].m);
	}
}

static void test_walk_bundling_rules(void **state)
{
	struct pb_spec s = spec(AF_INET, true);
	uint8_t b[512], v[16] = { 0 };
	struct sctp_info si;
	struct pkt p;
	size_t n;
	struct sb ch;

	(void)state;
	/* INIT + DATA */
	n = build_init(b, &s, ITAG);
	ch.n = 0;
	sb_put(&ch, b + 32, n - 32);
	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 16);
	n = build(b, &s, 0, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_BUNDLE);
	/* DATA + SHUTDOWN COMPLETE */
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 16);
	sb_chunk(&ch, SCTP_CHUNK_SHUTDOWN_COMPLETE, 0, NULL, 0);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_BUNDLE);
	/* SACK + DATA + ABORT is allowed */
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_SACK, 0, v, 12);
	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 16);
	sb_chunk(&ch, SCTP_CHUNK_ABORT, 0, NULL, 0);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_OK);
	assert_int_equal(si.n_chunks, 3);
}

/* Walks a packet carrying the n raw bytes chunks after its common header. */
static enum sctp_status walk_raw(int family, const void *chunks, size_t n)
{
	struct pb_spec s = spec(family, true);
	static uint8_t b[4096];
	struct sctp_info si;
	struct sb ch = { .n = 0 };
	struct pkt p;
	size_t len;

	sb_put(&ch, chunks, n);
	len = build(b, &s, VTAG, &ch);
	parse_ok(b, len, &p);
	return sctp_walk(b, &p, &si);
}

static void test_walk_malformed_lengths(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t c[64];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(c, 0, sizeof(c));
		/* no chunk at all */
		assert_int_equal(walk_raw(fam[i], c, 0), SCTP_ERR_NOCHUNK);
		/* length 0, 1, 3: shorter than a chunk header (and would loop forever) */
		be_put16(c + 2, 0);
		assert_int_equal(walk_raw(fam[i], c, 8), SCTP_ERR_CHUNKLEN);
		be_put16(c + 2, 3);
		assert_int_equal(walk_raw(fam[i], c, 8), SCTP_ERR_CHUNKLEN);
		/* past the end of the packet */
		be_put16(c + 2, 21);
		assert_int_equal(walk_raw(fam[i], c, 20), SCTP_ERR_CHUNKLEN);
		be_put16(c + 2, 0xffff);
		assert_int_equal(walk_raw(fam[i], c, 20), SCTP_ERR_CHUNKLEN);
		/* exactly the packet: fine; final padding missing: fine */
		be_put16(c + 2, 20);
		assert_int_equal(walk_raw(fam[i], c, 20), SCTP_OK);
		be_put16(c + 2, 17);
		assert_int_equal(walk_raw(fam[i], c, 17), SCTP_OK);
		/* a second chunk cut short: 1..3 stray bytes, or a header claiming more */
		be_put16(c + 2, 17);
		assert_int_equal(walk_raw(fam[i], c, 22), SCTP_ERR_CHUNKLEN);
		c[20] = SCTP_CHUNK_SACK;
		be_put16(c + 22, 16);
		assert_int_equal(walk_raw(fam[i], c, 24), SCTP_ERR_CHUNKLEN);
		be_put16(c + 22, 4);
		assert_int_equal(walk_raw(fam[i], c, 24), SCTP_OK);
		/* an INIT too short for its fixed part */
		memset(c, 0, sizeof(c));
		c[0] = SCTP_CHUNK_INIT;
		be_put16(c + 2, 16);
		assert_int_equal(walk_raw(fam[i], c, 16), SCTP_ERR_INITLEN);
	}
}

static void test_walk_not_sctp_or_fragment(void **state)
{
	struct pb_spec u = { .family = AF_INET, .src = C4, .dst = V4, .proto = IPPROTO_UDP,
			     .sport = 1, .dport = 2, .payload = 30 };
	static const uint8_t frag_ext[] = { IPPROTO_FRAGMENT };
	struct pb_spec s4 = spec(AF_INET, true), s6 = spec(AF_INET6, true);
	uint8_t b[512], v[16] = { 0 };
	struct sctp_info si;
	struct sb ch = { .n = 0 };
	struct pkt p;
	size_t n;

	(void)state;
	n = pb_build_pkt(b, &u);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_NOTSCTP);
	assert_false(sctp_crc_ok(b, &p));

	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 16);
	n = build(b, &s4, VTAG, &ch);
	be_put16(b + 6, 0x2000);	/* MF: a first fragment */
	pb_fix_ip4(b);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_FRAGMENT);
	be_put16(b + 6, 0x0010);	/* a later fragment */
	pb_fix_ip4(b);
	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_FRAGMENT);

	s6.ext = frag_ext;
	s6.n_ext = 1;
	n = build(b, &s6, VTAG, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_walk(b, &p, &si), SCTP_ERR_FRAGMENT);
}

/* Every prefix of valid packets, the IP length saying so (the buffer exactly as long, on the
 * heap, so that ASan sees any overread): an error, unless the cut falls on a chunk end. */
static void test_truncated(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[1024], v[40] = { 0 }, out[1024];
	struct sctp_info si;
	struct sctp_init in;
	struct pkt p;
	size_t n, cut, hl, olen;
	int i, k;

	(void)state;
	for (i = 0; i < 2; i++) {
		hl = fam[i] == AF_INET ? 20 : 40;
		for (k = 0; k < 3; k++) {
			struct pb_spec s = spec(fam[i], k != 1);
			struct sb ch = { .n = 0 };

			if (k == 0) {
				n = build_init(b, &s, ITAG);
			} else if (k == 1) {
				n = build_init_ack(b, &s, 3, true, true);
			} else {
				sb_chunk(&ch, SCTP_CHUNK_SACK, 0, v, 12);
				sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 23);
				n = build(b, &s, VTAG, &ch);
			}
			for (cut = hl; cut < n; cut++) {
				uint8_t *t = malloc(cut);
				enum sctp_status st;

				assert_non_null(t);
				memcpy(t, b, cut);
				if (fam[i] == AF_INET) {
					be_put16(t + 2, (uint16_t)cut);
					pb_fix_ip4(t);
				} else {
					be_put16(t + 4, (uint16_t)(cut - 40));
				}
				if (pkt_parse(t, cut, &p) != PKT_OK) {	/* < SCTP header */
					assert_true(cut < hl + 12);
					free(t);
					continue;
				}
				st = sctp_walk(t, &p, &si);
				if (k == 2 && (cut == hl + 12 + 16 || cut == hl + 12 + 16 + 27 ||
					       cut == hl + 12 + 16 + 28))
					assert_int_equal(st, SCTP_OK);
				else if (cut == hl + 12)
					assert_int_equal(st, SCTP_ERR_NOCHUNK);
				else if (k == 1 && cut >= n - 2)	/* only chunk padding lost */
					assert_int_equal(st, SCTP_OK);
				else
					assert_int_not_equal(st, SCTP_OK);
				st = sctp_parse_init(t, &p, 0, &in);
				if (k == 1 && cut >= n - 2)
					assert_int_equal(st, SCTP_OK);
				else
					assert_int_not_equal(st, SCTP_OK);
				st = sctp_rewrite_init_ack(t, &p, NULL, 0, out, sizeof(out), &olen);
				if (k == 1 && cut >= n - 2)
					assert_int_equal(st, SCTP_OK);
				else
					assert_int_not_equal(st, SCTP_OK);
				free(t);
			}
		}
	}
}

/* ---- INIT / INIT ACK ---- */

static void test_parse_init(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[512];
	struct sctp_info si;
	struct sctp_init in;
	struct pkt p;
	size_t n;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct pb_spec s = spec(fam[i], true);

		n = build_init(b, &s, ITAG);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_walk(b, &p, &si), SCTP_OK);
		assert_int_equal(si.vtag, 0);
		assert_int_equal(si.itag, ITAG);
		assert_int_equal(si.first_type, SCTP_CHUNK_INIT);
		assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT, &in), SCTP_OK);
		assert_int_equal(sctp_parse_init(b, &p, 0, &in), SCTP_OK);
		assert_int_equal(in.type, SCTP_CHUNK_INIT);
		assert_int_equal(in.itag, ITAG);
		assert_int_equal(in.a_rwnd, 131072);
		assert_int_equal(in.n_out, 10);
		assert_int_equal(in.n_in, 65535);
		assert_int_equal(in.init_tsn, 0x01020304);
		assert_int_equal(in.n_params, 4);
		assert_int_equal(in.n_addrs, 2);
		pb_assert_addr(&in.addrs[0], fam[i] == AF_INET ? C4 : C6);
		pb_assert_addr(&in.addrs[1], fam[i] == AF_INET ? "10.0.1.1" : "2001:db8:1::1");
		assert_true(in.supported_types);
		assert_true(in.sat_v4);
		assert_true(in.sat_v6);
		assert_false(in.sat_hostname);
		assert_false(in.hostname);
		assert_false(in.cookie);
		assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT_ACK, &in),
				 SCTP_ERR_NOTINIT);
	}
	/* Supported Address Types listing IPv6 and host names only */
	{
		struct pb_spec s = spec(AF_INET6, true);
		static struct sb prm, ch;
		const uint8_t sat[] = { 0, 6, 0, 11 };

		prm.n = ch.n = 0;
		sb_param(&prm, SCTP_PARAM_SUPPORTED_ADDR, sat, sizeof(sat));
		sb_init(&ch, SCTP_CHUNK_INIT, ITAG, &prm, 0);
		n = build(b, &s, 0, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT, &in), SCTP_OK);
		assert_int_equal(in.n_addrs, 0);
		assert_true(in.supported_types);
		assert_false(in.sat_v4);
		assert_true(in.sat_v6);
		assert_true(in.sat_hostname);
	}
}

static void test_parse_init_ack(void **state)
{
	struct pb_spec s = spec(AF_INET6, false);
	uint8_t b[512];
	struct sctp_init in;
	struct pkt p;
	size_t n;

	(void)state;
	n = build_init_ack(b, &s, 3, true, false);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT_ACK, &in), SCTP_OK);
	assert_int_equal(in.type, SCTP_CHUNK_INIT_ACK);
	assert_int_equal(in.itag, ITAG);
	assert_int_equal(in.n_params, 7);
	assert_int_equal(in.n_addrs, 3);
	pb_assert_addr(&in.addrs[0], T6);
	pb_assert_addr(&in.addrs[1], T6B);
	pb_assert_addr(&in.addrs[2], T6C);
	assert_true(in.hostname);
	assert_false(in.supported_types);
	assert_true(in.cookie);
	assert_int_equal(in.cookie_len, sizeof(cookie_val));
	assert_int_equal(in.cookie_off, 40 + 12 + 20 + 4);
	assert_memory_equal(b + in.cookie_off, cookie_val, sizeof(cookie_val));
	assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT, &in), SCTP_ERR_NOTINIT);
}

/* More address parameters than SCTP_MAX_ADDRS: all counted, the first ones kept. */
static void test_parse_init_many_addrs(void **state)
{
	struct pb_spec s = spec(AF_INET, false);
	static struct sb prm, ch;
	uint8_t b[1024], a[4] = { 10, 3, 0, 0 };
	struct sctp_init in;
	struct pkt p;
	size_t n;
	unsigned int i;

	(void)state;
	prm.n = ch.n = 0;
	for (i = 0; i < SCTP_MAX_ADDRS + 5; i++) {
		a[3] = (uint8_t)i;
		sb_param(&prm, SCTP_PARAM_IPV4, a, 4);
	}
	sb_param(&prm, SCTP_PARAM_STATE_COOKIE, cookie_val, 8);
	sb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG, &prm, 0);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_parse_init(b, &p, 0, &in), SCTP_OK);
	assert_int_equal(in.n_addrs, SCTP_MAX_ADDRS + 5);
	pb_assert_addr(&in.addrs[SCTP_MAX_ADDRS - 1], "10.3.0.15");
}

static enum sctp_status parse_params(const struct sb *prm, size_t last_pad)
{
	struct pb_spec s = spec(AF_INET, false);
	static struct sb ch;
	static uint8_t b[2048];
	struct sctp_init in;
	struct pkt p;
	size_t n;

	ch.n = 0;
	sb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG, prm, last_pad);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	return sctp_parse_init(b, &p, 0, &in);
}

static void test_parse_init_malformed_params(void **state)
{
	static struct sb prm;
	uint8_t raw[32] = { 0 };

	(void)state;
	/* an IPv4 address parameter 12 bytes long, an IPv6 one 8 bytes long */
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_IPV4, raw, 8);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_IPV6, raw, 4);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	/* supported address types with an odd number of bytes */
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_SUPPORTED_ADDR, raw, 3);
	assert_int_equal(parse_params(&prm, 1), SCTP_ERR_PARAMLEN);
	/* parameter length 2, and 0 (would loop) */
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_STATE_COOKIE, raw, 4);
	be_put16(prm.b + 2, 2);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	be_put16(prm.b + 2, 0);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	/* past the chunk's end (but inside the packet: the chunk length is what counts) */
	be_put16(prm.b + 2, 12);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	/* 2 stray bytes after the last parameter */
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_STATE_COOKIE, raw, 4);
	sb_put(&prm, raw, 2);
	assert_int_equal(parse_params(&prm, 0), SCTP_ERR_PARAMLEN);
	/* a well-formed list, last padding in or out of the chunk length: fine */
	prm.n = 0;
	sb_param(&prm, SCTP_PARAM_STATE_COOKIE, raw, 5);
	assert_int_equal(parse_params(&prm, 0), SCTP_OK);
	assert_int_equal(parse_params(&prm, 3), SCTP_OK);
}

/* ---- INIT ACK rewrite ---- */

/* Rewrites the INIT ACK in b (n bytes) with addrs, checks everything, returns the length. */
static size_t rewrite_and_check(const uint8_t *b, size_t n, const char *const *addrs,
				unsigned int n_addrs, uint8_t *out, size_t cap)
{
	struct ip_addr a[SCTP_MAX_ADDRS];
	struct tlv ti[64], to[64];
	struct sctp_init in, oi;
	struct pkt p, q;
	size_t olen, nti, nto, i, j, l4, clen, kept_before = 0, first_new = 0;
	bool seen_addr = false;
	unsigned int k;

	for (k = 0; k < n_addrs; k++)
		a[k] = pb_addr(addrs[k]);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_parse_init(b, &p, SCTP_CHUNK_INIT_ACK, &in), SCTP_OK);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, n_addrs, out, cap, &olen), SCTP_OK);
	l4 = p.l4_off;
	check_wire(out, olen, p.family, l4);
	parse_ok(out, olen, &q);
	/* IP header (but the length and checksum), ports and tag: unchanged */
	if (p.family == AF_INET) {
		assert_memory_equal(out, b, 2);
		assert_memory_equal(out + 4, b + 4, 6);
		assert_memory_equal(out + 12, b + 12, l4 - 12);
	} else {
		assert_memory_equal(out, b, 4);
		assert_memory_equal(out + 6, b + 6, l4 - 6);
	}
	assert_memory_equal(out + l4, b + l4, 8);
	/* the fixed part of the chunk too */
	assert_int_equal(out[l4 + 12], SCTP_CHUNK_INIT_ACK);
	assert_memory_equal(out + l4 + 16, b + l4 + 16, 16);
	/* our parser sees exactly the new addresses and no hostname */
	assert_int_equal(sctp_parse_init(out, &q, SCTP_CHUNK_INIT_ACK, &oi), SCTP_OK);
	assert_int_equal(oi.n_addrs, n_addrs);
	for (k = 0; k < n_addrs; k++)
		assert_true(addr_eq(&oi.addrs[k], &a[k]));
	assert_false(oi.hostname);
	assert_int_equal(oi.cookie_len, in.cookie_len);
	assert_memory_equal(out + oi.cookie_off, b + in.cookie_off, in.cookie_len);
	/* an independent walk: the other parameters identical and in order, addresses
	 * exactly those given, in a row */
	nti = list_params(b + l4 + 12, ti, 64);
	nto = list_params(out + l4 + 12, to, 64);
	for (i = j = 0; i < nti; i++) {
		if (ti[i].type == 5 || ti[i].type == 6 || ti[i].type == 11)
			continue;
		while (j < nto && (to[j].type == 5 || to[j].type == 6))
			j++;
		assert_true(j < nto);
		assert_int_equal(to[j].type, ti[i].type);
		assert_int_equal(to[j].len, ti[i].len);
		assert_memory_equal(to[j].val, ti[i].val, ti[i].len - 4u);
		j++;
	}
	/* the new addresses stand where the first old one (or hostname) was, else first */
	for (i = 0; i < nti && ti[i].type != 5 && ti[i].type != 6 && ti[i].type != 11; i++)
		kept_before++;
	if (i == nti)
		kept_before = 0;
	for (i = k = 0; i < nto; i++) {
		assert_int_not_equal(to[i].type, 11);
		if (to[i].type != 5 && to[i].type != 6)
			continue;
		if (!seen_addr)
			first_new = i;
		seen_addr = true;
		assert_int_equal(to[i].type, a[k].family == AF_INET ? 5 : 6);
		assert_int_equal(to[i].len, 4 + addr_len(&a[k]));
		assert_memory_equal(to[i].val, a[k].b, addr_len(&a[k]));
		if (k)	/* consecutive */
			assert_true(to[i - 1].type == to[i].type);
		k++;
	}
	assert_int_equal(k, n_addrs);
	if (n_addrs)
		assert_int_equal(first_new, kept_before);
	assert_int_equal(nto, nti - (in.n_addrs + (in.hostname ? 1 : 0)) + n_addrs);
	/* chunk length: the chunk without its final padding (RFC 9260 3.2), i.e. up to the
	 * end of the last parameter */
	clen = be_get16(out + l4 + 12 + 2);
	assert_int_equal(clen, nto ? to[nto - 1].off + to[nto - 1].len : 20);
	assert_true(clen <= olen - l4 - 12 && olen - l4 - 12 - clen < 4);
	assert_int_equal((clen + 3) & ~(size_t)3, olen - l4 - 12);
	return olen;
}

static void test_rewrite(void **state)
{
	static const char *const v4_1[] = { V4 }, *const v4_2[] = { V4, A4 };
	static const char *const v6_1[] = { V6 }, *const v6_2[] = { V6, A6 };
	static const uint8_t dst_ext[] = { IPPROTO_DSTOPTS };
	uint8_t b[1024], out[1024];
	unsigned int n_own, want, opt;
	int hostname, last;
	size_t n, olen;

	(void)state;
	for (opt = 0; opt < 2; opt++)
		for (n_own = 0; n_own <= 3; n_own += n_own == 1 ? 2 : 1)
			for (hostname = 0; hostname < 2; hostname++)
				for (last = 0; last < 2; last++)
					for (want = 1; want <= 2; want++) {
						struct pb_spec s4 = spec(AF_INET, false);
						struct pb_spec s6 = spec(AF_INET6, false);

						s4.v4_opt = opt ? 8 : 0;
						s6.ext = opt ? dst_ext : NULL;
						s6.n_ext = opt;
						n = build_init_ack(b, &s4, n_own, hostname, last);
						olen = rewrite_and_check(b, n, want == 1 ? v4_1 : v4_2,
									 want, out, sizeof(out));
						/* size: own addresses out, the new in */
						assert_int_equal(olen, n - 8 * n_own -
								 (hostname ? 20 : 0) + 8 * want);
						n = build_init_ack(b, &s6, n_own, hostname, last);
						olen = rewrite_and_check(b, n, want == 1 ? v6_1 : v6_2,
									 want, out, sizeof(out));
						assert_int_equal(olen, n - 20 * n_own -
								 (hostname ? 20 : 0) + 20 * want);
					}
}

/* Rewriting the result again with the same addresses changes nothing; with none removes
 * them all. */
static void test_rewrite_idempotent_and_empty(void **state)
{
	static const char *const v4_2[] = { V4, A4 };
	struct pb_spec s = spec(AF_INET, false);
	uint8_t b[1024], o1[1024], o2[1024];
	struct ip_addr a[2];
	struct pkt p;
	size_t n, l1, l2;

	(void)state;
	a[0] = pb_addr(V4);
	a[1] = pb_addr(A4);
	n = build_init_ack(b, &s, 3, true, false);
	l1 = rewrite_and_check(b, n, v4_2, 2, o1, sizeof(o1));
	parse_ok(o1, l1, &p);
	assert_int_equal(sctp_rewrite_init_ack(o1, &p, a, 2, o2, sizeof(o2), &l2), SCTP_OK);
	assert_int_equal(l2, l1);
	assert_memory_equal(o1, o2, l1);
	l2 = rewrite_and_check(b, n, NULL, 0, o2, sizeof(o2));
	assert_int_equal(l2, n - 3 * 8 - 20);
	/* the addresses last, after a parameter with padding: removing them all leaves that
	 * parameter last, and its padding out of the chunk length */
	{
		static struct sb prm, ch;

		prm.n = ch.n = 0;
		sb_param(&prm, SCTP_PARAM_STATE_COOKIE, cookie_val, sizeof(cookie_val));
		sb_addr(&prm, T4);
		sb_addr(&prm, T4B);
		sb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG, &prm, 0);
		n = build(b, &s, VTAG, &ch);
		l2 = rewrite_and_check(b, n, NULL, 0, o2, sizeof(o2));
		assert_int_equal(be_get16(o2 + 20 + 12 + 2), 20 + 4 + sizeof(cookie_val));
		l2 = rewrite_and_check(b, n, v4_2, 2, o2, sizeof(o2));
		assert_int_equal(l2, n);
	}
}

static void test_rewrite_errors(void **state)
{
	struct pb_spec s = spec(AF_INET, false), s6 = spec(AF_INET6, false);
	uint8_t b[1024], out[1024];
	struct ip_addr a[SCTP_MAX_ADDRS + 1];
	struct pkt p;
	size_t n, olen, need;
	unsigned int i;

	(void)state;
	for (i = 0; i <= SCTP_MAX_ADDRS; i++)
		a[i] = pb_addr(V4);
	n = build_init_ack(b, &s, 1, false, false);
	parse_ok(b, n, &p);
	/* cap: one byte short fails and writes no length; exact works */
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, sizeof(out), &need), SCTP_OK);
	olen = 12345;
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, need - 1, &olen), SCTP_ERR_CAP);
	assert_int_equal(olen, 0);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, 0, &olen), SCTP_ERR_CAP);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, need, &olen), SCTP_OK);
	assert_int_equal(olen, need);
	/* addresses: too many, or of the other family */
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, SCTP_MAX_ADDRS, out, sizeof(out), &olen),
			 SCTP_OK);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, SCTP_MAX_ADDRS + 1, out, sizeof(out),
					       &olen), SCTP_ERR_ADDR);
	a[1] = pb_addr(A6);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, sizeof(out), &olen),
			 SCTP_ERR_ADDR);
	n = build_init_ack(b, &s6, 1, false, false);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 1, out, sizeof(out), &olen),
			 SCTP_ERR_ADDR);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a + 1, 1, out, sizeof(out), &olen),
			 SCTP_OK);
	/* not an INIT ACK */
	n = build_init(b, &s, ITAG);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 1, out, sizeof(out), &olen),
			 SCTP_ERR_NOTINIT);
	assert_string_equal(sctp_status_name(SCTP_ERR_CAP), "cap");
	assert_string_equal(sctp_status_name(SCTP_ERR_BUNDLE), "bundle");
	assert_string_equal(sctp_status_name(SCTP__MAX), "unknown");
}

/* A result longer than the IPv4 total length can say. */
static void test_rewrite_too_big(void **state)
{
	struct pb_spec s = spec(AF_INET, false);
	static struct sb prm, ch;
	static uint8_t b[70000], out[70000];
	struct ip_addr a[SCTP_MAX_ADDRS];
	struct pkt p;
	size_t n, olen;
	unsigned int i;

	(void)state;
	for (i = 0; i < SCTP_MAX_ADDRS; i++)
		a[i] = pb_addr(V4);
	prm.n = ch.n = 0;
	{
		/* 65524 bytes in all: one more address fits, two do not */
		static uint8_t big[65524 - 20 - 12 - 20 - 4];

		sb_param(&prm, SCTP_PARAM_STATE_COOKIE, big, sizeof(big));
	}
	sb_init(&ch, SCTP_CHUNK_INIT_ACK, ITAG, &prm, 0);
	n = build(b, &s, VTAG, &ch);
	assert_true(n <= 65535);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 1, out, sizeof(out), &olen), SCTP_OK);
	assert_int_equal(olen, n + 8);
	assert_int_equal(sctp_rewrite_init_ack(b, &p, a, 2, out, sizeof(out), &olen),
			 SCTP_ERR_TOOBIG);
}

/* ---- answers without state ---- */

/* Common checks on an answer from the VIPA to the client; returns the chunk. */
static const uint8_t *check_reply(const uint8_t *r, size_t rn, const uint8_t *orig, int family,
				  uint32_t vtag, uint8_t type, uint8_t flags)
{
	size_t hl = family == AF_INET ? 20 : 40;
	struct sctp_info si;
	struct pkt q;
	const uint8_t *ch = r + hl + 12;

	assert_true(rn <= (family == AF_INET ? 576u : 1280u));
	check_wire(r, rn, family, hl);
	parse_ok(r, rn, &q);
	if (family == AF_INET) {
		assert_int_equal(r[0], 0x45);
		assert_int_equal(be_get16(r + 6), 0x4000);
		assert_int_equal(r[8], 64);
		assert_memory_equal(r + 12, orig + 16, 4);	/* swapped */
		assert_memory_equal(r + 16, orig + 12, 4);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(r[7], 64);
		assert_memory_equal(r + 8, orig + 24, 16);
		assert_memory_equal(r + 24, orig + 8, 16);
	}
	assert_int_equal(be_get16(r + hl), SPORT);
	assert_int_equal(be_get16(r + hl + 2), CPORT);
	assert_int_equal(be_get32(r + hl + 4), vtag);
	assert_int_equal(ch[0], type);
	assert_int_equal(ch[1], flags);
	assert_int_equal(sctp_walk(r, &q, &si), SCTP_OK);
	assert_int_equal(si.n_chunks, 1);
	assert_int_equal(si.t_bit, !!(flags & SCTP_FLAG_T));
	assert_int_equal(si.m_bit, !!(flags & SCTP_FLAG_M));
	return ch;
}

/* The Missing State cause of the ABORT at ch quotes the start of orig; returns its length. */
static size_t check_quote(const uint8_t *ch, const uint8_t *orig, size_t orig_len)
{
	size_t clen = be_get16(ch + 2), q;

	assert_int_equal(be_get16(ch + 4), 0x00b1);	/* draft 5.2.2: Missing State */
	assert_int_equal(be_get16(ch + 6), clen - 4);
	q = clen - 8;
	assert_true(q <= orig_len);
	assert_memory_equal(ch + 8, orig, q);
	return q;
}

static void test_reply_to_data(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[512], r[2048], v[16] = { 0 };
	enum sctp_reply kind;
	struct pkt p;
	size_t n, rn;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct pb_spec s = spec(fam[i], true);
		struct sb ch = { .n = 0 };
		const uint8_t *c;

		sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 13);
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
		assert_int_equal(kind, SCTP_REPLY_ABORT);
		/* RFC 9260 8.4 (8): tag reflected, T; draft 5.1.1: M */
		c = check_reply(r, rn, b, fam[i], VTAG, SCTP_CHUNK_ABORT,
				SCTP_FLAG_M | SCTP_FLAG_T);
		assert_int_equal(check_quote(c, b, n), n);	/* all of it fits */
		assert_int_equal(rn, (fam[i] == AF_INET ? 20 : 40) + 12 + 8 + ((n + 3) & ~3u));
	}
}

static void test_reply_to_init(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[512], r[2048];
	enum sctp_reply kind;
	struct pkt p;
	size_t n, rn;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct pb_spec s = spec(fam[i], true);
		const uint8_t *c;

		n = build_init(b, &s, ITAG);
		parse_ok(b, n, &p);
		rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
		assert_int_equal(kind, SCTP_REPLY_ABORT);
		/* RFC 9260 8.4 (3): the INIT's Initiate Tag, T clear */
		c = check_reply(r, rn, b, fam[i], ITAG, SCTP_CHUNK_ABORT, SCTP_FLAG_M);
		check_quote(c, b, n);
		/* an INIT with Initiate Tag 0 gets nothing */
		n = build_init(b, &s, 0);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		assert_int_equal(kind, SCTP_REPLY_NONE);
	}
}

static void test_reply_to_cookie_echo_and_shutdown_ack(void **state)
{
	struct pb_spec s = spec(AF_INET6, true);
	uint8_t b[512], r[2048];
	enum sctp_reply kind;
	struct sb ch = { .n = 0 };
	struct pkt p;
	size_t n, rn;
	const uint8_t *c;

	(void)state;
	sb_chunk(&ch, SCTP_CHUNK_COOKIE_ECHO, 0, cookie_val, sizeof(cookie_val));
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
	assert_int_equal(kind, SCTP_REPLY_ABORT);
	c = check_reply(r, rn, b, AF_INET6, VTAG, SCTP_CHUNK_ABORT, SCTP_FLAG_M | SCTP_FLAG_T);
	check_quote(c, b, n);
	/* RFC 9260 8.4 (5): SHUTDOWN ACK -> SHUTDOWN COMPLETE, T, tag reflected */
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_SHUTDOWN_ACK, 0, NULL, 0);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	rn = sctp_reply_no_state(b, &p, r, sizeof(r), NULL);
	assert_int_equal(rn, 40 + 12 + 4);
	c = check_reply(r, rn, b, AF_INET6, VTAG, SCTP_CHUNK_SHUTDOWN_COMPLETE, SCTP_FLAG_T);
	assert_int_equal(be_get16(c + 2), 4);
	rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
	assert_int_equal(kind, SCTP_REPLY_SHUTDOWN_COMPLETE);
	/* an ERROR that is neither a middlebox's nor a stale cookie: answered */
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_ERROR, 0, "\0\x06\0\x08\x80\0\0\x04", 8);
	n = build(b, &s, VTAG, &ch);
	parse_ok(b, n, &p);
	rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
	assert_int_equal(kind, SCTP_REPLY_ABORT);
	check_reply(r, rn, b, AF_INET6, VTAG, SCTP_CHUNK_ABORT, SCTP_FLAG_M | SCTP_FLAG_T);
}

static void test_reply_none(void **state)
{
	static const struct {
		uint8_t type, flags;
		const char *val;
		size_t vlen;
	} quiet[] = {
		{ SCTP_CHUNK_ABORT, 0, NULL, 0 },			/* 8.4 (2) */
		{ SCTP_CHUNK_ABORT, SCTP_FLAG_T | SCTP_FLAG_M, NULL, 0 },
		{ SCTP_CHUNK_SHUTDOWN_COMPLETE, SCTP_FLAG_T, NULL, 0 },	/* 8.4 (6) */
		{ SCTP_CHUNK_COOKIE_ACK, 0, NULL, 0 },			/* 8.4 (7) */
		{ SCTP_CHUNK_ERROR, 0, "\0\x03\0\x08\0\0\0\x10", 8 },	/* stale cookie */
		{ SCTP_CHUNK_ERROR, SCTP_FLAG_M, "\0\xb1\0\x04", 4 },	/* draft 6.4.1 */
	};
	struct pb_spec s = spec(AF_INET, true);
	uint8_t b[512], r[2048], v[16] = { 0 };
	enum sctp_reply kind;
	struct pkt p;
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		struct sb ch = { .n = 0 };

		/* also when bundled after a chunk that alone would be answered */
		if (quiet[i].type != SCTP_CHUNK_SHUTDOWN_COMPLETE)	/* must be alone */
			sb_chunk(&ch, SCTP_CHUNK_SACK, 0, v, 12);
		sb_chunk(&ch, quiet[i].type, quiet[i].flags, quiet[i].val, quiet[i].vlen);
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		kind = SCTP_REPLY_ABORT;
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		assert_int_equal(kind, SCTP_REPLY_NONE);
	}
	/* an INIT ACK (draft 6.4.1) */
	n = build_init_ack(b, &s, 1, false, false);
	parse_ok(b, n, &p);
	assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
	/* tag 0 on a DATA, tag not 0 on an INIT (RFC 9260 8.5.1 (A)) */
	{
		struct sb ch = { .n = 0 };

		sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 16);
		n = build(b, &s, 0, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		n = build_init(b, &s, ITAG);
		be_put32(b + 24, 7);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		/* to a multicast or broadcast address, from an unspecified one */
		s.dst = "224.0.0.18";
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		s.dst = "255.255.255.255";
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		s.dst = V4;
		s.src = "0.0.0.0";
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		s = spec(AF_INET6, true);
		s.dst = "ff02::5";
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		s.dst = V6;
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		assert_int_not_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
		/* malformed: a chunk running past the end */
		be_put16(b + 40 + 12 + 2, 200);
		assert_int_equal(sctp_reply_no_state(b, &p, r, sizeof(r), &kind), 0);
	}
}

/* The quote is cut to fit 576 / 1280 bytes and cap; below the chunk itself, nothing. */
static void test_reply_sizes(void **state)
{
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t b[4096], r[4096], v[2000] = { 0 };
	enum sctp_reply kind;
	struct pkt p;
	size_t n, rn, hl, q, cap;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct pb_spec s = spec(fam[i], true);
		struct sb ch = { .n = 0 };
		const uint8_t *c;
		size_t max = fam[i] == AF_INET ? 576 : 1280;

		hl = fam[i] == AF_INET ? 20 : 40;
		sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 1401);
		n = build(b, &s, VTAG, &ch);
		parse_ok(b, n, &p);
		rn = sctp_reply_no_state(b, &p, r, sizeof(r), &kind);
		assert_int_equal(rn, max);
		c = check_reply(r, rn, b, fam[i], VTAG, SCTP_CHUNK_ABORT, SCTP_FLAG_M | SCTP_FLAG_T);
		q = check_quote(c, b, n);
		assert_int_equal(q, max - hl - 12 - 8);
		/* a smaller cap: the quote shrinks, in whole words */
		for (cap = hl + 12 + 8; cap < hl + 12 + 8 + 9; cap++) {
			memset(r, 0xee, sizeof(r));
			rn = sctp_reply_no_state(b, &p, r, cap, &kind);
			assert_int_equal(kind, SCTP_REPLY_ABORT);
			assert_true(rn <= cap);
			assert_int_equal(r[rn], 0xee);	/* nothing written past it */
			c = check_reply(r, rn, b, fam[i], VTAG, SCTP_CHUNK_ABORT,
					SCTP_FLAG_M | SCTP_FLAG_T);
			q = check_quote(c, b, n);
			assert_int_equal(q, (cap - hl - 12 - 8) & ~(size_t)3);
		}
		assert_int_equal(sctp_reply_no_state(b, &p, r, hl + 12 + 7, &kind), 0);
		assert_int_equal(kind, SCTP_REPLY_NONE);
		assert_int_equal(sctp_reply_no_state(b, &p, r, 0, &kind), 0);
	}
}

/* ---- the listener probe's packets ---- */

#define PPORT	50123		/* the probe's source port */
#define PTAG	0x0badf00du	/* the probe's Initiate Tag */
#define PTSN	0x11223344u

/* The probe's ends: from the node's own address to itself (a and b differ to catch a
 * swap; the daemon uses a == b). */
static struct sctp_ends probe_ends(const char *a, const char *b)
{
	struct sctp_ends e;

	memset(&e, 0, sizeof(e));
	e.src = pb_addr(a);
	e.dst = pb_addr(b);
	e.sport = PPORT;
	e.dport = SPORT;
	return e;
}

/* The IP header of a packet nfq/sctp built for e: addresses, TTL, DF, lengths, sums. */
static void check_probe_ip(const uint8_t *r, size_t rn, const struct sctp_ends *e)
{
	size_t hl = e->src.family == AF_INET ? 20 : 40;

	check_wire(r, rn, e->src.family, hl);
	if (e->src.family == AF_INET) {
		assert_int_equal(r[0], 0x45);
		assert_int_equal(be_get16(r + 6), 0x4000);	/* DF, no fragment */
		assert_int_equal(r[8], 64);
		assert_int_equal(r[9], IPPROTO_SCTP);
		assert_memory_equal(r + 12, e->src.b, 4);
		assert_memory_equal(r + 16, e->dst.b, 4);
	} else {
		assert_int_equal(r[0], 0x60);
		assert_int_equal(r[6], IPPROTO_SCTP);
		assert_int_equal(r[7], 64);
		assert_memory_equal(r + 8, e->src.b, 16);
		assert_memory_equal(r + 24, e->dst.b, 16);
	}
	assert_int_equal(be_get16(r + hl), e->sport);
	assert_int_equal(be_get16(r + hl + 2), e->dport);
}

static void test_build_init(void **state)
{
	static const char *const a[2][2] = { { T4, T4B }, { T6, T6B } };
	static const int fam[] = { AF_INET, AF_INET6 };
	uint8_t r[256], q[2048];
	struct sctp_ends e;
	struct sctp_init in;
	struct sctp_info si;
	enum sctp_reply kind;
	struct pkt p;
	size_t n, want;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		e = probe_ends(a[i][0], a[i][1]);
		want = fam[i] == AF_INET ? SCTP_PROBE_INIT_V4 : SCTP_PROBE_INIT_V6;
		memset(r, 0xee, sizeof(r));
		n = sctp_build_init(&e, PTAG, PTSN, r, sizeof(r));
		assert_int_equal(n, want);
		assert_true(n <= SCTP_PROBE_INIT_MAX);
		assert_int_equal(r[n], 0xee);	/* nothing written past it */
		check_probe_ip(r, n, &e);
		parse_ok(r, n, &p);
		assert_int_equal(sctp_walk(r, &p, &si), SCTP_OK);
		assert_int_equal(si.vtag, 0);
		assert_int_equal(si.n_chunks, 1);
		assert_int_equal(si.first_type, SCTP_CHUNK_INIT);
		assert_int_equal(si.itag, PTAG);
		assert_int_equal(sctp_parse_init(r, &p, SCTP_CHUNK_INIT, &in), SCTP_OK);
		assert_int_equal(in.itag, PTAG);
		assert_int_equal(in.a_rwnd, SCTP_PROBE_RWND);
		assert_true(in.a_rwnd >= 1500);
		assert_int_equal(in.n_out, 1);
		assert_int_equal(in.n_in, 1);
		assert_int_equal(in.init_tsn, PTSN);
		assert_int_equal(in.n_params, 1);
		assert_int_equal(in.n_addrs, 1);
		pb_assert_addr(&in.addrs[0], a[i][0]);
		/* the chunk length by hand: fixed part + one address parameter */
		assert_int_equal(be_get16(r + p.l4_off + 12 + 2), 20 + 4 + (i ? 16 : 4));
		/* a middlebox would answer it as RFC 9260 8.4 (3) says: the probe's tag */
		assert_true(sctp_reply_no_state(r, &p, q, sizeof(q), &kind) > 0);
		assert_int_equal(kind, SCTP_REPLY_ABORT);
		assert_int_equal(be_get32(q + p.l4_off + 4), PTAG);

		/* refused: a tag of 0, cap one byte short, mixed or unknown families */
		assert_int_equal(sctp_build_init(&e, 0, PTSN, r, sizeof(r)), 0);
		assert_int_equal(sctp_build_init(&e, PTAG, PTSN, r, want - 1), 0);
		e.dst = pb_addr(i ? T4 : T6);
		assert_int_equal(sctp_build_init(&e, PTAG, PTSN, r, sizeof(r)), 0);
		e.dst.family = e.src.family = 0;
		assert_int_equal(sctp_build_init(&e, PTAG, PTSN, r, sizeof(r)), 0);
	}
}

static void test_build_abort(void **state)
{
	static const char *const a[2][2] = { { T4, T4B }, { T6, T6B } };
	uint8_t r[256];
	struct sctp_ends e;
	struct sctp_info si;
	struct pkt p;
	size_t n, hl;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		e = probe_ends(a[i][0], a[i][1]);
		hl = i ? 40 : 20;
		memset(r, 0xee, sizeof(r));
		n = sctp_build_abort(&e, VTAG, r, sizeof(r));
		assert_int_equal(n, hl + 12 + 4);
		assert_true(n <= SCTP_PROBE_ABORT_MAX);
		assert_int_equal(r[n], 0xee);
		check_probe_ip(r, n, &e);
		parse_ok(r, n, &p);
		assert_int_equal(sctp_walk(r, &p, &si), SCTP_OK);
		assert_int_equal(si.vtag, VTAG);
		assert_int_equal(si.n_chunks, 1);
		assert_int_equal(si.first_type, SCTP_CHUNK_ABORT);
		assert_false(si.t_bit);	/* the peer's own tag: T clear */
		assert_false(si.m_bit);
		assert_int_equal(r[hl + 12 + 1], 0);	/* no flag at all */
		assert_int_equal(be_get16(r + hl + 12 + 2), 4);	/* no cause */
		/* nobody answers an ABORT */
		assert_int_equal(sctp_reply_no_state(r, &p, r + 128, 128, NULL), 0);

		assert_int_equal(sctp_build_abort(&e, VTAG, r, n - 1), 0);
		e.src = pb_addr(i ? T4 : T6);
		assert_int_equal(sctp_build_abort(&e, VTAG, r, sizeof(r)), 0);
	}
}

/* An INIT ACK from the server (e's destination, port dport) to the probe, with
 * verification tag vtag and Initiate Tag itag. */
static size_t build_probe_init_ack(uint8_t *b, int family, const char *from, const char *to,
				   uint16_t sport, uint16_t dport, uint32_t vtag, uint32_t itag)
{
	static struct sb prm, ch;
	struct pb_spec s = { .family = family, .proto = IPPROTO_SCTP, .src = from, .dst = to,
			     .sport = sport, .dport = dport };

	init_ack_params(&prm, family, 1, false, false);
	ch.n = 0;
	sb_init(&ch, SCTP_CHUNK_INIT_ACK, itag, &prm, 0);
	return build(b, &s, vtag, &ch);
}

static enum sctp_answer answer(const uint8_t *b, size_t n, const struct sctp_ends *e,
			       uint32_t itag, uint32_t *peer)
{
	struct pkt p;

	parse_ok(b, n, &p);
	return sctp_probe_answer(b, &p, e, itag, peer);
}

/* The same for any packet, SCTP or not. */
static enum sctp_answer answer_any(const uint8_t *b, size_t n, const struct sctp_ends *e,
				   uint32_t itag)
{
	struct pkt p;

	assert_int_equal(pkt_parse(b, n, &p), PKT_OK);
	return sctp_probe_answer(b, &p, e, itag, NULL);
}

static void test_probe_answer(void **state)
{
	/* self to self (the daemon's case), and two addresses to catch a swap */
	static const struct {
		int family;
		const char *a, *b;
	} cases[] = {
		{ AF_INET, T4, T4 }, { AF_INET, T4, T4B },
		{ AF_INET6, T6, T6 }, { AF_INET6, T6, T6B },
	};
	uint8_t b[2048], r[2048];
	struct sctp_ends e, back;
	struct sb ch;
	struct pkt p;
	uint32_t peer;
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].a, *sv = cases[i].b;
		int f = cases[i].family;

		e = probe_ends(a, sv);
		/* the server's INIT ACK: listening, its tag learnt */
		n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT, PTAG, ITAG);
		peer = 0;
		assert_int_equal(answer(b, n, &e, PTAG, &peer), SCTP_ANSWER_INIT_ACK);
		assert_int_equal(peer, ITAG);
		/* one byte changed: CRC wrong */
		b[n - 1] ^= 1;
		peer = 7;
		assert_int_equal(answer(b, n, &e, PTAG, &peer), SCTP_ANSWER_NONE);
		assert_int_equal(peer, 7);	/* untouched */
		/* another probe's tag, ports or addresses */
		n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT, PTAG + 1, ITAG);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT + 1, PTAG, ITAG);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		n = build_probe_init_ack(b, f, sv, a, SPORT + 1, PPORT, PTAG, ITAG);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		n = build_probe_init_ack(b, f, f == AF_INET ? C4 : C6, a, SPORT, PPORT, PTAG, ITAG);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		n = build_probe_init_ack(b, f, sv, f == AF_INET ? C4 : C6, SPORT, PPORT, PTAG, ITAG);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		if (strcmp(a, sv)) {	/* the INIT ACK the other way round */
			n = build_probe_init_ack(b, f, a, sv, SPORT, PPORT, PTAG, ITAG);
			assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		}
		/* an INIT ACK without a tag of its own is no answer (RFC 9260 3.3.3) */
		n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT, PTAG, 0);
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		/* a probe without tag matches nothing */
		n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT, 0, ITAG);
		assert_int_equal(answer(b, n, &e, 0, NULL), SCTP_ANSWER_NONE);

		/* the probe itself, looped back to the node, and its closing ABORT */
		n = sctp_build_init(&e, PTAG, PTSN, b, sizeof(b));
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		n = sctp_build_abort(&e, PTAG, b, sizeof(b));
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);

		/* refused: an ABORT back, T bit clear (RFC 9260 8.4 (3)) or set */
		back.src = e.dst;
		back.dst = e.src;
		back.sport = e.dport;
		back.dport = e.sport;
		n = sctp_build_abort(&back, PTAG, b, sizeof(b));
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_ABORT);
		n = sctp_build_abort(&back, PTAG ^ 0x100, b, sizeof(b));
		assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		{
			struct pb_spec s = { .family = f, .proto = IPPROTO_SCTP, .src = sv,
					     .dst = a, .sport = SPORT, .dport = PPORT };

			ch.n = 0;
			sb_chunk(&ch, SCTP_CHUNK_ABORT, SCTP_FLAG_T, NULL, 0);
			n = build(b, &s, PTAG, &ch);
			assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_ABORT);
			/* anything else with the right tag: not an answer */
			ch.n = 0;
			sb_chunk(&ch, SCTP_CHUNK_HEARTBEAT, 0, "\0\x01\0\x08\1\2\3\4", 8);
			n = build(b, &s, PTAG, &ch);
			assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
			/* a malformed one neither */
			ch.n = 0;
			sb_chunk_raw(&ch, SCTP_CHUNK_ABORT, 0, NULL, 0, 0x40, true);
			n = build(b, &s, PTAG, &ch);
			assert_int_equal(answer(b, n, &e, PTAG, NULL), SCTP_ANSWER_NONE);
		}
		/* the ABORT a middlebox (M bit) makes of the probe */
		n = sctp_build_init(&e, PTAG, PTSN, b, sizeof(b));
		parse_ok(b, n, &p);
		n = sctp_reply_no_state(b, &p, r, sizeof(r), NULL);
		assert_true(n > 0);
		assert_int_equal(answer(r, n, &e, PTAG, NULL), SCTP_ANSWER_ABORT);
		/* an IPv4 answer to an IPv6 probe or back */
		{
			struct sctp_ends o = probe_ends(f == AF_INET ? T6 : T4,
							f == AF_INET ? T6 : T4);

			n = build_probe_init_ack(b, f, sv, a, SPORT, PPORT, PTAG, ITAG);
			assert_int_equal(answer(b, n, &o, PTAG, NULL), SCTP_ANSWER_NONE);
		}
		/* not SCTP at all */
		{
			struct pb_spec s = { .family = f, .proto = IPPROTO_UDP, .src = sv,
					     .dst = a, .sport = SPORT, .dport = PPORT,
					     .payload = 32 };

			n = pb_build_pkt(b, &s);
			assert_int_equal(answer_any(b, n, &e, PTAG), SCTP_ANSWER_NONE);
		}
	}
}

/* ---- seeds for tests/fuzz/corpus/sctp: a mode byte, then the packet ---- */

static void put_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *b,
		     size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fputc(mode, f) == EOF || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int write_corpus(const char *dir)
{
	static const uint8_t dst_ext[] = { IPPROTO_DSTOPTS };
	uint8_t b[2048], v[64] = { 0 };
	struct pb_spec s4 = spec(AF_INET, false), s6 = spec(AF_INET6, false);
	struct pb_spec c4 = spec(AF_INET, true), c6 = spec(AF_INET6, true);
	struct sb ch = { .n = 0 };

	s4.v4_opt = 8;
	put_seed(dir, "init_ack4_3addr_host", 0x02, b, build_init_ack(b, &s4, 3, true, false));
	s4.v4_opt = 0;
	put_seed(dir, "init_ack4_0addr", 0x01, b, build_init_ack(b, &s4, 0, false, true));
	put_seed(dir, "init_ack6_1addr", 0x12, b, build_init_ack(b, &s6, 1, false, false));
	s6.ext = dst_ext;
	s6.n_ext = 1;
	put_seed(dir, "init_ack6_ext_3addr", 0x13, b, build_init_ack(b, &s6, 3, true, true));
	put_seed(dir, "init4", 0x02, b, build_init(b, &c4, ITAG));
	put_seed(dir, "init6", 0x12, b, build_init(b, &c6, ITAG));
	sb_chunk(&ch, SCTP_CHUNK_COOKIE_ECHO, 0, cookie_val, sizeof(cookie_val));
	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 13);
	put_seed(dir, "cookie_echo_data4", 0x00, b, build(b, &c4, VTAG, &ch));
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_SACK, 0, v, 12);
	sb_chunk(&ch, SCTP_CHUNK_DATA, 3, v, 40);
	put_seed(dir, "sack_data6", 0x10, b, build(b, &c6, VTAG, &ch));
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_ABORT, SCTP_FLAG_T, "\0\x0c\0\x04", 4);
	put_seed(dir, "abort_t4", 0x00, b, build(b, &c4, VTAG, &ch));
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_SHUTDOWN_COMPLETE, SCTP_FLAG_T, NULL, 0);
	put_seed(dir, "shutdown_complete6", 0x10, b, build(b, &c6, VTAG, &ch));
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_SHUTDOWN_ACK, 0, NULL, 0);
	put_seed(dir, "shutdown_ack4", 0x00, b, build(b, &c4, VTAG, &ch));
	ch.n = 0;
	sb_chunk(&ch, SCTP_CHUNK_ERROR, SCTP_FLAG_M, "\0\xb1\0\x04", 4);
	put_seed(dir, "error_m6", 0x10, b, build(b, &c6, VTAG, &ch));
	/* malformed: a chunk length past the end, a parameter past its chunk */
	ch.n = 0;
	sb_chunk_raw(&ch, SCTP_CHUNK_DATA, 3, v, 16, 0xfff0, true);
	put_seed(dir, "bad_chunklen4", 0x00, b, build(b, &c4, VTAG, &ch));
	{
		size_t n = build_init_ack(b, &s4, 1, false, false);

		be_put16(b + 20 + 12 + 20 + 2, 0x0800);	/* the cookie's length */
		put_seed(dir, "bad_paramlen4", 0x01, b, n);
	}
	printf("test_sctp: seeds written to %s\n", dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_data_sack),
		cmocka_unit_test(test_walk_cookie_echo_and_asconf),
		cmocka_unit_test(test_walk_abort_shutdown_complete_flags),
		cmocka_unit_test(test_walk_bundling_rules),
		cmocka_unit_test(test_walk_malformed_lengths),
		cmocka_unit_test(test_walk_not_sctp_or_fragment),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_parse_init),
		cmocka_unit_test(test_parse_init_ack),
		cmocka_unit_test(test_parse_init_many_addrs),
		cmocka_unit_test(test_parse_init_malformed_params),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rewrite_idempotent_and_empty),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_rewrite_too_big),
		cmocka_unit_test(test_reply_to_data),
		cmocka_unit_test(test_reply_to_init),
		cmocka_unit_test(test_reply_to_cookie_echo_and_shutdown_ack),
		cmocka_unit_test(test_reply_none),
		cmocka_unit_test(test_reply_sizes),
		cmocka_unit_test(test_build_init),
		cmocka_unit_test(test_build_abort),
		cmocka_unit_test(test_probe_answer),
	};

	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
