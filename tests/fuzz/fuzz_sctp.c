/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for nfq/sctp.  Input: one mode byte (bits 0-1: how many addresses the
 * INIT ACK rewrite gets, 0-3; bit 4: IPv6 addresses, else IPv4), then an IP packet.
 *
 * Besides "no crash, no overread" (the packet is an exactly sized heap copy) it checks:
 * the chunk cursor and the walk agree; a rewrite that succeeds gives a packet that parses,
 * has the right lengths, IPv4 header checksum and CRC32c, lists exactly the addresses given
 * and no hostname, and keeps the State Cookie; a rewrite into one byte less fails cleanly;
 * an answer without state parses, has a right CRC, fits its limit and swaps the ports.
 * Built by `make fuzz` (tests/fuzz/fuzz_sctp) and, for the corpus replay of `make check`,
 * with tests/fuzz/standalone.c (tests/fuzz/replay_sctp). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/be.h"
#include "nfq/csum.h"
#include "nfq/pkt.h"
#include "nfq/sctp.h"
#include "tests/fuzz/fuzz.h"

#define OUT_MAX	(0xffff + 64)

static void check_cursor(const uint8_t *b, const struct pkt *p, const struct sctp_info *si,
			 enum sctp_status st)
{
	struct sctp_iter it;
	struct sctp_chunk c;
	unsigned int n = 0;
	int r;

	if (sctp_iter_init(&it, b, p) != SCTP_OK) {
		FUZZ_CHECK(st != SCTP_OK);
		return;
	}
	while ((r = sctp_iter_next(&it, &c)) == 1) {
		FUZZ_CHECK(c.len >= 4 && c.off + c.len <= p->ip_len);
		FUZZ_CHECK(c.off >= p->l4_off + 12);
		n++;
	}
	/* the walk may stop earlier, at a chunk that breaks a rule the cursor does not check */
	if (r < 0) {
		FUZZ_CHECK(st == it.err || st == SCTP_ERR_BUNDLE || st == SCTP_ERR_INITLEN);
		FUZZ_CHECK(sctp_iter_next(&it, &c) == -1);
	} else if (st == SCTP_OK) {
		FUZZ_CHECK(n == si->n_chunks && n > 0);
	} else {
		FUZZ_CHECK(st == SCTP_ERR_BUNDLE || st == SCTP_ERR_INITLEN);
	}
}

static bool ip4_sum_ok(const uint8_t *b, size_t hl)
{
	return csum_fold(csum_add(0, b, hl)) == 0;
}

static void check_rewrite(const uint8_t *b, const struct pkt *p, const struct ip_addr *a,
			  unsigned int n)
{
	struct sctp_init in, oi;
	struct pkt q;
	size_t olen, olen2 = 1;
	enum sctp_status st;
	uint8_t *out = malloc(OUT_MAX);
	unsigned int i;

	if (!out)
		abort();
	st = sctp_rewrite_init_ack(b, p, a, n, out, OUT_MAX, &olen);
	if (st != SCTP_OK) {
		FUZZ_CHECK(olen == 0);
		free(out);
		return;
	}
	FUZZ_CHECK(sctp_parse_init(b, p, SCTP_CHUNK_INIT_ACK, &in) == SCTP_OK);
	FUZZ_CHECK(olen <= OUT_MAX && (olen - p->l4_off) % 4 == 0);
	FUZZ_CHECK(pkt_parse(out, olen, &q) == PKT_OK);
	FUZZ_CHECK(q.ip_len == olen && q.l4_off == p->l4_off && q.proto == IPPROTO_SCTP);
	if (q.family == AF_INET)
		FUZZ_CHECK(ip4_sum_ok(out, q.l4_off));
	FUZZ_CHECK(sctp_crc_ok(out, &q));
	FUZZ_CHECK(sctp_parse_init(out, &q, SCTP_CHUNK_INIT_ACK, &oi) == SCTP_OK);
	FUZZ_CHECK(oi.n_addrs == n && !oi.hostname);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(addr_eq(&oi.addrs[i], &a[i]));
	FUZZ_CHECK(oi.cookie == in.cookie && oi.cookie_len == in.cookie_len);
	if (in.cookie)
		FUZZ_CHECK(!memcmp(out + oi.cookie_off, b + in.cookie_off, in.cookie_len));
	/* addresses and hostnames out (maybe several hostnames), the given ones in */
	FUZZ_CHECK(oi.n_params + in.n_addrs + in.hostname <= in.n_params + n);
	FUZZ_CHECK(oi.itag == in.itag && oi.a_rwnd == in.a_rwnd && oi.init_tsn == in.init_tsn);
	/* one byte short: a clean refusal */
	FUZZ_CHECK(sctp_rewrite_init_ack(b, p, a, n, out, olen - 1, &olen2) == SCTP_ERR_CAP);
	FUZZ_CHECK(olen2 == 0);
	free(out);
}

static void check_reply(const uint8_t *b, const struct pkt *p)
{
	uint8_t out[SCTP_REPLY_MAX_V6], again[SCTP_REPLY_MAX_V6];
	enum sctp_reply kind;
	struct sctp_info si;
	struct pkt q;
	size_t n;

	n = sctp_reply_no_state(b, p, out, sizeof(out), &kind);
	if (!n) {
		FUZZ_CHECK(kind == SCTP_REPLY_NONE);
		return;
	}
	FUZZ_CHECK(kind != SCTP_REPLY_NONE);
	FUZZ_CHECK(n <= (p->family == AF_INET ? SCTP_REPLY_MAX_V4 : SCTP_REPLY_MAX_V6));
	FUZZ_CHECK(pkt_parse(out, n, &q) == PKT_OK && q.ip_len == n);
	if (q.family == AF_INET)
		FUZZ_CHECK(ip4_sum_ok(out, q.l4_off));
	FUZZ_CHECK(sctp_crc_ok(out, &q));
	FUZZ_CHECK(sctp_walk(out, &q, &si) == SCTP_OK && si.n_chunks == 1);
	FUZZ_CHECK(si.sport == p->dport && si.dport == p->sport);
	FUZZ_CHECK(addr_eq(&q.src, &p->dst) && addr_eq(&q.dst, &p->src));
	FUZZ_CHECK(si.first_type == (kind == SCTP_REPLY_ABORT ? SCTP_CHUNK_ABORT :
				     SCTP_CHUNK_SHUTDOWN_COMPLETE));
	/* the answer to an answer is silence */
	FUZZ_CHECK(sctp_reply_no_state(out, &q, again, sizeof(again), &kind) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t v4[3][4] = { { 10, 2, 0, 100 }, { 10, 2, 0, 101 }, { 1, 2, 3, 4 } };
	static const uint8_t v6[3][16] = { { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0x10 },
					   { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0x11 },
					   { 0xfd, [15] = 1 } };
	struct ip_addr a[3];
	struct sctp_info si;
	struct sctp_init in;
	enum sctp_status st;
	unsigned int n, i;
	struct pkt p;
	uint8_t mode, *b;

	if (size < 1 || size > 0xffff + 41)
		return 0;
	mode = data[0];
	n = mode & 3;
	for (i = 0; i < n; i++)
		addr_from_bytes(&a[i], mode & 0x10 ? AF_INET6 : AF_INET,
				mode & 0x10 ? v6[i] : v4[i]);
	b = fz_dup(data + 1, size - 1);
	if (pkt_parse(b, size - 1, &p) != PKT_OK)
		goto out;
	st = sctp_walk(b, &p, &si);
	check_cursor(b, &p, &si, st);
	(void)sctp_crc_ok(b, &p);
	if (sctp_parse_init(b, &p, 0, &in) == SCTP_OK) {
		FUZZ_CHECK(st == SCTP_OK && si.n_chunks == 1 && si.itag == in.itag);
		FUZZ_CHECK(in.type == si.first_type);
		if (in.cookie)
			FUZZ_CHECK(in.cookie_off + in.cookie_len <= p.ip_len);
	}
	check_rewrite(b, &p, a, n);
	check_reply(b, &p);
out:
	free(b);
	return 0;
}
