/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes the seed corpora of the fuzz targets: small, meaningful inputs made
 * by the project's own encoders (and by the packet builder of the unit
 * tests).  Run once by `make fuzz-corpus`; its output is committed under
 * tests/fuzz/corpus/<target>/.  Deterministic: running it again writes the
 * same files.
 *
 *   gen_corpus DIR     (DIR/<target>/ must not need to exist) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "common/be.h"
#include "nfq/hoff.h"
#include "sync/cdat.h"
#include "sync/reliable.h"
#include "sync/repl.h"
#include "sync/wire.h"
#include "tests/fuzz/fuzz_cdat.h"
#include "tests/unit/pktbuild.h"

static const char *outdir;
static unsigned n_written;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put_file(const char *target, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path);
	n_written++;
}

/* A growing input. */
struct buf {
	uint8_t b[65536];
	size_t n;
};

static void b_u8(struct buf *b, uint8_t v)
{
	if (b->n >= sizeof(b->b)) {
		fprintf(stderr, "gen_corpus: input too large\n");
		exit(1);
	}
	b->b[b->n++] = v;
}

static void b_u16(struct buf *b, uint16_t v)
{
	b_u8(b, (uint8_t)(v >> 8));
	b_u8(b, (uint8_t)v);
}

static void b_u64(struct buf *b, uint64_t v)
{
	for (int i = 56; i >= 0; i -= 8)
		b_u8(b, (uint8_t)(v >> i));
}

static void b_mem(struct buf *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b_u8(b, ((const uint8_t *)p)[i]);
}

/* ---- pkt ---- */

static void gen_pkt(void)
{
	static const uint8_t ext[] = { 0, 60, 43 };	/* hop-by-hop, dest opts, routing */
	static const struct {
		const char *name;
		struct pb_spec s;
	} specs[] = {
		{ "tcp4_syn", { AF_INET, "10.0.0.1", "10.2.0.100", IPPROTO_TCP, .sport = 40000,
				.dport = 80, .seq = 1, .flags = 0x02 } },
		{ "tcp4_data_opts", { AF_INET, "10.0.0.1", "10.2.0.100", IPPROTO_TCP, .v4_opt = 8,
				      .sport = 40000, .dport = 80, .seq = 2, .ack = 9,
				      .flags = 0x18, .payload = 100 } },
		{ "udp4", { AF_INET, "192.168.1.5", "10.2.0.100", IPPROTO_UDP, .sport = 5353,
			    .dport = 53, .payload = 30 } },
		{ "udp4_nocsum", { AF_INET, "192.168.1.5", "10.2.0.100", IPPROTO_UDP,
				   .sport = 5353, .dport = 53, .payload = 3, .udp_nocsum = true } },
		{ "sctp4", { AF_INET, "10.0.0.9", "10.2.0.100", IPPROTO_SCTP, .sport = 3868,
			     .dport = 3868, .payload = 20 } },
		{ "tcp6_fin", { AF_INET6, "2001:db8::1", "2001:db8:2::100", IPPROTO_TCP,
				.sport = 50000, .dport = 443, .seq = 5, .ack = 6, .flags = 0x11 } },
		{ "udp6_ext", { AF_INET6, "2001:db8::1", "2001:db8:2::100", IPPROTO_UDP,
				.ext = ext, .n_ext = 3, .sport = 1000, .dport = 53,
				.payload = 17 } },
		{ "sctp6", { AF_INET6, "fd00::5", "fd00::100", IPPROTO_SCTP, .sport = 9,
			     .dport = 3868, .payload = 40 } },
	};
	uint8_t b[2048], err[2048], inner[128];
	size_t i, n, qn;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		n = pb_build_pkt(b, &specs[i].s);
		put_file("pkt", specs[i].name, b, n);
	}
	/* ICMP errors quoting a packet the VIPA sent */
	{
		struct pb_spec in4 = { AF_INET, "10.2.0.100", "10.0.0.1", IPPROTO_TCP,
				       .sport = 80, .dport = 40000, .seq = 7, .flags = 0x12 };
		struct pb_spec out4 = { AF_INET, "10.9.9.9", "10.2.0.100", .proto = 0 };
		struct pb_spec in6 = { AF_INET6, "2001:db8:2::100", "2001:db8::1", IPPROTO_UDP,
				       .sport = 53, .dport = 5000, .payload = 4 };
		struct pb_spec out6 = { AF_INET6, "2001:db8::9", "2001:db8:2::100", .proto = 0 };

		qn = pb_build_pkt(inner, &in4);
		n = pb_build_icmp_err(err, &out4, 3, 4, 1400, inner, qn);
		put_file("pkt", "icmp4_frag_needed", err, n);
		n = pb_build_icmp_err(err, &out4, 11, 0, 0, inner, 28);
		put_file("pkt", "icmp4_ttl_short_quote", err, n);
		qn = pb_build_pkt(inner, &in6);
		n = pb_build_icmp_err(err, &out6, 2, 0, 1280, inner, qn);
		put_file("pkt", "icmp6_too_big", err, n);
		n = pb_build_icmp_err(err, &out6, 1, 4, 0, inner, qn);
		put_file("pkt", "icmp6_port_unreach", err, n);
	}
	/* a first fragment */
	{
		struct pb_spec s = { AF_INET, "10.0.0.1", "10.2.0.100", IPPROTO_UDP,
				     .sport = 1, .dport = 53, .payload = 64 };

		n = pb_build_pkt(b, &s);
		b[6] |= 0x20;	/* more fragments */
		pb_fix_ip4(b);
		put_file("pkt", "udp4_first_fragment", b, n);
	}
}

/* ---- wire ---- */

static void keys_fz(struct wire_keys *k)
{
	memset(k, 0, sizeof(*k));
	memset(k->key[0].k, 0x11, 32);	/* as fuzz_wire.c */
	k->n = 1;
}

static void wire_file(const char *name, uint8_t mode, const uint8_t *dg, size_t n)
{
	struct buf b = { .n = 0 };

	b_u8(&b, mode);
	b_mem(&b, dg, n);
	put_file("wire", name, b.b, b.n);
}

static void gen_wire(void)
{
	struct wire_hdr h = { .type = WIRE_HEARTBEAT, .sender = 0, .epoch = 1700000000,
			      .seq = 42 };
	struct wire_listen l4 = { AF_INET, IPPROTO_TCP, 80, 1 };
	struct wire_listen l6 = { AF_INET6, IPPROTO_SCTP, 3868, 0 };
	uint8_t dg[WIRE_MAX], v[24], echo[16] = { 0, 0, 1, 0x8b, 0, 0, 0, 5, 1 };
	struct wire_writer w;
	struct wire_keys k;
	struct buf ops = { .n = 0 };
	size_t n;

	keys_fz(&k);
	h.sender = wire_node_id("d1");
	/* a heartbeat with every kind of TLV */
	wire_begin(&w, dg, sizeof(dg), &h);
	wire_put(&w, WIRE_TLV_NODE, "d1", 2);
	wire_put_listen(&w, &l4);
	wire_put_listen(&w, &l6);
	wire_put(&w, WIRE_TLV_ECHO, echo, sizeof(echo));
	be_put32(v, WIRE_F_READY);
	wire_put(&w, WIRE_TLV_FLAGS, v, 4);
	memset(v, 0, sizeof(v));
	v[0] = 4;
	v[4] = 10, v[5] = 2, v[7] = 100;
	wire_put(&w, WIRE_TLV_OWN, v, WIRE_OWN_LEN);
	v[0] = 6;
	v[4] = 0x20, v[5] = 0x01, v[6] = 0x0d, v[7] = 0xb8, v[19] = 1;
	wire_put(&w, WIRE_TLV_YIELD, v, WIRE_OWN_LEN);
	rel_enc_ack(v, 1700000001, 17);
	wire_put(&w, REL_TLV_ACK, v, REL_ACK_LEN);
	rel_enc_alive(v, 3, 9);
	wire_put(&w, REL_TLV_ALIVE, v, REL_ALIVE_LEN);
	n = wire_finish(&w, &k);
	wire_file("heartbeat_signed", 0, dg, n);
	wire_file("heartbeat_remac", 1, dg, n);
	wire_file("heartbeat_key2", 3, dg, n);
	/* the same, tampered: refused by the MAC */
	dg[40] ^= 1;
	wire_file("heartbeat_bad_mac", 0, dg, n);
	/* an answer, a state message, an empty body */
	h.type = WIRE_HEARTBEAT_ACK;
	wire_begin(&w, dg, sizeof(dg), &h);
	wire_put(&w, WIRE_TLV_NODE, "t1", 2);
	wire_put(&w, WIRE_TLV_ECHO, echo, sizeof(echo));
	n = wire_finish(&w, &k);
	wire_file("heartbeat_ack", 0, dg, n);
	h.type = 32;
	wire_begin(&w, dg, sizeof(dg), &h);
	rel_enc_seq(v, 5);
	wire_put(&w, REL_TLV_SEQ, v, REL_SEQ_LEN);
	wire_put(&w, 0x7777, "unknown tlv", 11);
	rel_enc_nack(v, 1700000001, 2, 4);
	wire_put(&w, REL_TLV_NACK, v, REL_NACK_LEN);
	n = wire_finish(&w, &k);
	wire_file("state_seq_unknown_tlv", 1, dg, n);
	h.type = WIRE_REL_CTRL;
	wire_begin(&w, dg, sizeof(dg), &h);
	n = wire_finish(&w, &k);
	wire_file("empty_body", 0, dg, n);
	/* a bad TLV length, made authentic by mode 1 */
	wire_begin(&w, dg, sizeof(dg), &h);
	wire_put(&w, WIRE_TLV_NODE, "abcd", 4);
	n = wire_finish(&w, &k);
	dg[WIRE_HDR_LEN + 3] = 9;
	wire_file("tlv_overrun", 1, dg, n);
	/* replay window operations (mode 0x80): op, d */
	{
		static const uint8_t seq[] = {
			0x03, 5,	/* epoch 5, seq top + 5 */
			0x00, 1, 0x00, 1, 0x04, 1,	/* forward, then one back */
			0x04, 1,	/* again: a replay */
			0x00, 70,	/* jump past the window */
			0x04, 64, 0x04, 63, 0x04, 0,
			0x02, 0,	/* older epoch */
			0x01, 0,	/* newer epoch: resets */
			0x08, 0, 0x0c, 3, 0x40, 9,
		};

		b_u8(&ops, 0x80);
		b_mem(&ops, seq, sizeof(seq));
		put_file("wire", "replay_window", ops.b, ops.n);
	}
}

/* ---- repl ---- */

static void mk_conn(struct repl_conn *c, int v6, uint8_t proto, uint8_t state, unsigned i)
{
	char ca[64], va[64], ta[64];
	struct ip_addr a, b;

	memset(c, 0, sizeof(*c));
	snprintf(ca, sizeof(ca), v6 ? "2001:db8::%x" : "10.0.0.%u", i + 1);
	snprintf(va, sizeof(va), v6 ? "2001:db8:2::100" : "10.2.0.100");
	snprintf(ta, sizeof(ta), v6 ? "2001:db8:3::%x" : "10.3.0.%u", i % 3 + 1);
	addr_parse(&a, ca);
	addr_parse(&b, va);
	conn_key_set(&c->key, proto, &a, (uint16_t)(40000 + i), &b, 80);
	addr_parse(&c->taddr, ta);
	c->tport = 8080;
	c->target = wire_node_id(i % 2 ? "t1" : "t2");
	c->state = state;
	if (i % 5 == 4 && proto == IPPROTO_TCP) {
		/* A handed-off connection: CONN and HOFF records in pairs. */
		c->hoff.role = CONN_HOFF_FE;
		c->hoff.id = 0x01000000u | i;
		c->hoff.delta = 0x9e3779b9u * (i + 1);
		c->hoff.tsoff = 1000u * i;
		c->hoff.peer = c->target;
		c->hoff.flags = HOFF_F_TS | HOFF_F_SACK;
		c->hoff.ws_t = 9;
		c->hoff.ws_f = 7;
	}
}

/* One repl fuzz message: origin, dt, len, body. */
static void repl_msg(struct buf *b, uint8_t ob, uint8_t dt, const struct repl_writer *w)
{
	b_u8(b, ob);
	b_u8(b, dt);
	b_u16(b, (uint16_t)w->tlv.len);
	b_mem(b, w->tlv.buf, w->tlv.len);
}

static void gen_repl(void)
{
	uint8_t body[REPL_BODY_MAX];
	struct repl_writer w;
	struct repl_conn c;
	struct ip_addr vipa;
	struct buf b;
	unsigned i;

	/* one of each record */
	b.n = 0;
	repl_writer_init(&w, body, sizeof(body));
	mk_conn(&c, 0, IPPROTO_TCP, CONN_EST, 0);
	repl_put_conn(&w, &c);
	mk_conn(&c, 1, IPPROTO_UDP, CONN_UDP, 1);
	repl_put_conn(&w, &c);
	mk_conn(&c, 0, IPPROTO_SCTP, CONN_UDP, 4);
	repl_put_conn(&w, &c);
	repl_put_del(&w, &c.key);
	repl_put_bulk_begin(&w, 7);
	repl_put_bulk_end(&w, 7, 0);
	addr_parse(&vipa, "10.2.0.100");
	repl_put_vipa(&w, &vipa);
	repl_msg(&b, 0, 0, &w);
	put_file("repl", "every_record", b.b, b.n);

	/* a bulk dump from origin 1 over two messages, then a DEL from 2 */
	b.n = 0;
	repl_writer_init(&w, body, sizeof(body));
	repl_put_bulk_begin(&w, 1);
	for (i = 0; i < 10; i++) {
		mk_conn(&c, (int)(i & 1), IPPROTO_TCP, (uint8_t)(i % 4), i);
		repl_put_conn(&w, &c);
	}
	repl_msg(&b, 0, 1, &w);
	repl_writer_init(&w, body, sizeof(body));
	for (i = 10; i < 14; i++) {
		mk_conn(&c, 0, IPPROTO_UDP, CONN_UDP, i);
		repl_put_conn(&w, &c);
	}
	repl_put_bulk_end(&w, 1, 14);
	repl_msg(&b, 0, 1, &w);
	repl_writer_init(&w, body, sizeof(body));
	mk_conn(&c, 0, IPPROTO_UDP, CONN_UDP, 12);
	repl_put_del(&w, &c.key);
	repl_msg(&b, 1, 2, &w);
	put_file("repl", "bulk_two_messages", b.b, b.n);

	/* an incomplete bulk, a second bulk restarting, an origin stopping */
	b.n = 0;
	repl_writer_init(&w, body, sizeof(body));
	for (i = 0; i < 6; i++) {
		mk_conn(&c, 1, IPPROTO_TCP, CONN_EST, i);
		repl_put_conn(&w, &c);
	}
	repl_msg(&b, 2, 0, &w);
	repl_writer_init(&w, body, sizeof(body));
	repl_put_bulk_begin(&w, 2);
	mk_conn(&c, 1, IPPROTO_TCP, CONN_EST, 0);
	repl_put_conn(&w, &c);
	repl_put_bulk_end(&w, 2, 3);
	repl_put_bulk_begin(&w, 3);
	repl_put_bulk_end(&w, 3, 0);
	repl_msg(&b, 2, 5, &w);
	repl_writer_init(&w, body, sizeof(body));
	repl_msg(&b, 0x82, 200, &w);	/* expiry pass, origin 3 stopped */
	repl_msg(&b, 0xf2, 200, &w);	/* expire_origin */
	put_file("repl", "bulk_incomplete_expire", b.b, b.n);

	/* more than the store holds (32) */
	b.n = 0;
	repl_writer_init(&w, body, sizeof(body));
	for (i = 0; i < 20; i++) {
		mk_conn(&c, 0, IPPROTO_TCP, CONN_SYN, i);
		repl_put_conn(&w, &c);
	}
	repl_msg(&b, 0, 0, &w);
	repl_writer_init(&w, body, sizeof(body));
	for (i = 20; i < 40; i++) {
		mk_conn(&c, 1, IPPROTO_UDP, CONN_UDP, i);
		repl_put_conn(&w, &c);
	}
	repl_msg(&b, 1, 0, &w);
	put_file("repl", "store_full", b.b, b.n);

	/* a bad record: the whole body is refused */
	b.n = 0;
	repl_writer_init(&w, body, sizeof(body));
	mk_conn(&c, 0, IPPROTO_TCP, CONN_EST, 0);
	repl_put_conn(&w, &c);
	body[TLV_HDR_LEN] = 5;	/* family 5 */
	repl_msg(&b, 0, 0, &w);
	put_file("repl", "bad_family", b.b, b.n);
}

/* ---- reliable: operations, see fuzz_reliable.c ---- */

enum { R_PUSH, R_POLL, R_ALIVE, R_FWD, R_RXPOLL, R_BACK, R_TIME, R_RESTART };
#define R_KEEP 8
#define R_LOSE 0x10

static void rop(struct buf *b, uint8_t op, uint8_t arg)
{
	b_u8(b, op);
	b_u8(b, arg);
}

static void gen_reliable(void)
{
	struct buf b;
	int i;

	/* in order, acknowledged */
	b.n = 0;
	for (i = 0; i < 3; i++)
		rop(&b, R_PUSH, (uint8_t)(10 + i));
	rop(&b, R_POLL, 0);
	for (i = 0; i < 3; i++)
		rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	put_file("reliable", "in_order", b.b, b.n);

	/* a loss, a NACK, a resend after the NACK holdoff */
	b.n = 0;
	for (i = 0; i < 5; i++)
		rop(&b, R_PUSH, (uint8_t)(i * 40));
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD | R_LOSE, 0);
	for (i = 0; i < 4; i++)
		rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_TIME, 60);
	rop(&b, R_BACK, 1);
	rop(&b, R_BACK, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	put_file("reliable", "loss_nack", b.b, b.n);

	/* duplicates and reordering */
	b.n = 0;
	for (i = 0; i < 6; i++)
		rop(&b, R_PUSH, 7);
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD | R_KEEP, 3);
	rop(&b, R_FWD, 3);
	rop(&b, R_FWD, 5);
	rop(&b, R_FWD | R_KEEP, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_FWD, 1);
	rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK | R_KEEP, 0);
	rop(&b, R_BACK, 0);
	put_file("reliable", "dup_reorder", b.b, b.n);

	/* retransmission after rto, ALIVE of an idle sender */
	b.n = 0;
	rop(&b, R_PUSH, 100);
	rop(&b, R_PUSH, 200);
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD | R_LOSE, 0);
	rop(&b, R_FWD | R_LOSE, 0);
	rop(&b, R_TIME | 8, 13);	/* 208 ms */
	rop(&b, R_POLL, 0);
	rop(&b, R_ALIVE, 0);
	rop(&b, R_FWD, 2);
	rop(&b, R_FWD, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	rop(&b, R_TIME, 150);
	rop(&b, R_ALIVE, 0);
	rop(&b, R_FWD, 0);
	put_file("reliable", "rto_alive", b.b, b.n);

	/* the queue overflows: a resync */
	b.n = 0;
	for (i = 0; i < 70; i++)
		rop(&b, R_PUSH | 8, 60);
	rop(&b, R_POLL, 0);
	rop(&b, R_TIME | R_LOSE, 1);
	rop(&b, R_ALIVE, 0);
	put_file("reliable", "overflow_resync", b.b, b.n);

	/* the receiver restarts after acknowledging */
	b.n = 0;
	for (i = 0; i < 4; i++)
		rop(&b, R_PUSH, 30);
	rop(&b, R_POLL, 0);
	for (i = 0; i < 4; i++)
		rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	rop(&b, R_RESTART | 8, 0);
	rop(&b, R_PUSH, 30);
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	rop(&b, R_BACK, 0);
	put_file("reliable", "rx_restart", b.b, b.n);

	/* the sender restarts with messages in flight */
	b.n = 0;
	for (i = 0; i < 3; i++)
		rop(&b, R_PUSH, 30);
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_RESTART, 0);
	rop(&b, R_PUSH, 1);
	rop(&b, R_POLL, 0);
	rop(&b, R_FWD, 2);
	rop(&b, R_FWD, 0);
	rop(&b, R_FWD, 0);
	rop(&b, R_RXPOLL, 0);
	rop(&b, R_BACK, 0);
	put_file("reliable", "tx_restart", b.b, b.n);

	/* bodies of every size up to REL_BODY_MAX: the arena wraps */
	b.n = 0;
	for (i = 0; i < 12; i++) {
		rop(&b, R_PUSH | 8, 255);
		rop(&b, R_POLL, 0);
		rop(&b, R_FWD, 0);
		rop(&b, R_RXPOLL, 0);
		rop(&b, R_BACK, 0);
		rop(&b, R_PUSH, (uint8_t)(i * 21));
	}
	put_file("reliable", "arena_wrap", b.b, b.n);
}

/* ---- cdat: a three-node cluster, recorded as seen by one node ---- */

#define SIMQ 512

struct simq {
	size_t from;
	struct cdat_out m;
};

static void cdat_record(size_t x, bool c_dead, const char *name)
{
	static struct cdat_out obm[64];
	static struct simq q[SIMQ];
	struct cdat_outbox ob = { .msg = obm, .cap = 64 };
	struct cdat_proto p[FZC_NODES];
	struct cdat t;
	struct buf b;
	uint64_t now = FZC_T0, last = FZC_T0;
	size_t i, j, k, qh, qt, nn = c_dead ? 2 : FZC_NODES;
	int step;

	b.n = 0;
	b_u8(&b, (uint8_t)x);
	if (fzc_table(&t) != CDAT_OK)
		exit(1);
	for (i = 0; i < FZC_NODES; i++)
		if (cdat_proto_init(&p[i], &t, FZC_NAMES[i], now) != CDAT_OK)
			exit(1);
	cdat_free(&t);
#define OP(kind, from)                                                          \
	do {                                                                    \
		b_u8(&b, (uint8_t)((kind) | (from) << 2));                      \
		b_u8(&b, (uint8_t)((now - last) / 10));                          \
		last = now;                                                     \
	} while (0)
	for (i = 0; i < nn; i++) {
		cdat_proto_set_own(&p[i], 0, 16, (uint16_t)(9000 - i), "fz");
		if (i == x) {
			OP(FZC_OWN, 0);
			b_u8(&b, 0);
			b_u8(&b, 16);
			b_u16(&b, (uint16_t)(9000 - i));
		}
	}
	for (step = 0; step < 40; step++) {
		now += 100;
		qh = qt = 0;
		for (i = 0; i < nn; i++) {
			for (j = 0; j < nn; j++) {
				if (j == i)
					continue;
				cdat_proto_heard(&p[i], FZC_NAMES[j], p[j].cur.version,
						 p[j].cur.digest, now);
				if (i == x) {
					OP(FZC_HEARD, j);
					b_u64(&b, p[j].cur.version);
					b_mem(&b, p[j].cur.digest, CDAT_DIGEST_LEN);
				}
			}
			cdat_proto_tick(&p[i], now, &ob);
			if (i == x)
				OP(FZC_TICK, 0);
			for (k = 0; k < ob.n && qt < SIMQ; k++, qt++) {
				q[qt].from = i;
				q[qt].m = ob.msg[k];
			}
			ob.n = 0;
		}
		for (; qh < qt; qh++) {
			long to = -1;

			for (i = 0; i < nn; i++)
				if (strcmp(q[qh].m.to, FZC_NAMES[i]) == 0)
					to = (long)i;
			if (to < 0)
				continue;
			cdat_proto_input(&p[to], FZC_NAMES[q[qh].from], q[qh].m.type,
					 q[qh].m.body, q[qh].m.len, now, &ob);
			if ((size_t)to == x) {
				OP(FZC_INPUT, q[qh].from);
				b_u8(&b, q[qh].m.type);
				b_u16(&b, q[qh].m.len);
				b_mem(&b, q[qh].m.body, q[qh].m.len);
			}
			for (k = 0; k < ob.n && qt < SIMQ; k++, qt++) {
				q[qt].from = (size_t)to;
				q[qt].m = ob.msg[k];
			}
			ob.n = 0;
		}
	}
#undef OP
	fprintf(stderr, "cdat %s: node %s committed version %llu\n", name, FZC_NAMES[x],
		(unsigned long long)p[x].cur.version);
	for (i = 0; i < FZC_NODES; i++)
		cdat_proto_free(&p[i]);
	put_file("cdat", name, b.b, b.n);
}

static void gen_cdat(void)
{
	struct cdat t;
	uint8_t body[WIRE_MAX - WIRE_HDR_LEN - WIRE_MAC_LEN];
	struct tlv_writer w;
	struct buf b;

	cdat_record(0, false, "as_a_coordinator");
	cdat_record(1, false, "as_b");
	cdat_record(2, false, "as_c");
	cdat_record(0, true, "as_a_c_dead");
	cdat_record(1, true, "as_b_c_dead");
	/* a whole table as one body, from a stranger and from a peer */
	if (fzc_table(&t) != CDAT_OK)
		exit(1);
	tlv_writer_init(&w, body, sizeof(body));
	cdat_put_table(&w, &t);
	if (w.overflow)
		exit(1);
	cdat_free(&t);
	b.n = 0;
	b_u8(&b, 1);
	b_u8(&b, FZC_INPUT | 3 << 2);
	b_u8(&b, 1);
	b_u8(&b, CDAT_MSG_REPORT);
	b_u16(&b, (uint16_t)w.len);
	b_mem(&b, body, w.len);
	b_u8(&b, FZC_INPUT | 0 << 2);
	b_u8(&b, 1);
	b_u8(&b, CDAT_MSG_COMMIT);
	b_u16(&b, (uint16_t)w.len);
	b_mem(&b, body, w.len);
	put_file("cdat", "table_body", b.b, b.n);
}

/* ---- key ---- */

#define KEYFILE(name, text) put_file("key", name, text, sizeof(text) - 1)

static void gen_key(void)
{
	KEYFILE("hex32", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	KEYFILE("hex32_newline",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	KEYFILE("hex32_upper_spaced", "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF\n"
		"00112233445566778899AABBCCDDEEFF\r\n");
	KEYFILE("hex64_hashed",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
		"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
	KEYFILE("short", "0011223344\n");
	KEYFILE("odd_digits", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n");
	KEYFILE("not_hex", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeexx\n");
	KEYFILE("nul_byte", "00112233445566778899aabbccddeeff\0"
		"00112233445566778899aabbccddeeff");
	KEYFILE("empty", "");
}

/* ---- config: small ones here; the Makefile copies the example files ---- */

static void gen_config(void)
{
	static const char minimal[] =
		"node = \"a\";\n"
		"cluster = { name = \"c\"; key_file = \"k\"; };\n"
		"nodes = ( { name = \"a\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n"
		"          { name = \"b\"; addresses = ( { ip = \"fd00::2\"; prefix = 64; } ); } );\n";
	static const char vipa6[] =
		"node = \"b\";\n"
		"cluster = { name = \"c\"; key_file = \"/k\"; heartbeat_ms = 50; retry_threshold = 2;\n"
		"  sync = { group = \"ff02::77\"; port = 7000; interface = \"eth1\";\n"
		"           mode = \"periodic\"; interval_ms = 100; }; };\n"
		"daemon = { workers = 2; queue_base = 4; manage_rules = false; };\n"
		"nodes = ( { name = \"a\"; addresses = ( { ip = \"fd00::1\"; mtu = 9000; cos = 1; } ); },\n"
		"          { name = \"b\"; addresses = ( { ip = \"fd00::2\"; type = \"ib\"; retry = 5; },\n"
		"                                         { ip = \"10.0.0.2\"; } ); } );\n"
		"vipas = ( { address = \"fd00::100\"; interface = \"eth0\"; preempt = false;\n"
		"  distributors = ( { node = \"a\"; }, { node = \"b\"; targets = ( \"a\" ); } );\n"
		"  services = ( { port = 443; protocol = \"tcp\"; scheduler = \"least-conn\";\n"
		"                 targets = ( { node = \"a\"; weight = 3; }, \"b\" ); },\n"
		"               { port = 53; protocol = \"udp\"; targets = ( \"b\" );\n"
		"                 scheduler = \"round-robin\"; target_port = 5353; } ); } );\n";
	static const char bad[] =
		"nodes = ( { name = \"a\"; addresses = ( { ip = \"10.0.0.1\"; } ); },\n"
		"          { name = \"a\"; addresses = ( { ip = \"10.0.0.1\"; } ); } );\n";

	put_file("config", "minimal.conf", minimal, sizeof(minimal) - 1);
	put_file("config", "vipa6.conf", vipa6, sizeof(vipa6) - 1);
	put_file("config", "duplicate_node.conf", bad, sizeof(bad) - 1);
	put_file("config", "syntax_error.conf", "nodes = ( { name = ; ", 21);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
		die(outdir);
	gen_pkt();
	gen_wire();
	gen_repl();
	gen_reliable();
	gen_cdat();
	gen_key();
	gen_config();
	printf("gen_corpus: %u files under %s\n", n_written, outdir);
	return 0;
}
