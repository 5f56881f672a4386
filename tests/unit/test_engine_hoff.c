/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine, content-aware handoff: a front-end engine (node d1) and a target
 * engine (node t1) of tests/unit/data/hoff.conf, wired together by fake
 * daemon hooks, carry one connection from the client's SYN to the
 * translated replies and back, byte by byte; plus the refusals (bad cookie,
 * bad request, SYN flood) and the timeouts.  Packets are checked with
 * pktbuild's independent checksums. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/view.h"
#include "nfq/engine.h"
#include "nfq/pkt.h"
#include "nfq/tcpseg.h"
#include "tests/unit/pktbuild.h"

struct side {
	struct cfg *cfg;
	struct view *view;
	struct conn_table *conns;
	struct stats stats;
	struct engine e;
};

struct fx {
	struct side fe, tgt;
	/* What the fake daemon saw. */
	struct hoff_req *req;		/* FE -> main thread */
	bool claimed;			/* the target took req (as dhand_claim: once) */
	int ready, ends;
	uint8_t end_reason;
	struct conn last_event;
	uint8_t inj[70000];		/* the last packet injected */
	size_t inj_len, n_inj;
	struct ip_addr inj_to;
};

static bool fx_listening(void *arg, size_t node, uint8_t family, uint8_t proto, uint16_t port)
{
	(void)arg; (void)node; (void)family; (void)proto; (void)port;
	return true;
}

static bool ops_request(void *arg, struct hoff_req *r)
{
	struct fx *f = arg;

	free(f->req);
	f->req = r;
	f->claimed = false;
	return true;
}

/* The target claims what the front-end sent: the request in flight. */
static bool ops_claim(void *arg, const struct conn_key *k, struct hoff_params *p,
		      uint32_t *fe_peer, uint8_t **data)
{
	struct fx *f = arg;

	if (!f->req || f->claimed || !conn_key_eq(&f->req->p.key, k))
		return false;
	f->claimed = true;
	*p = f->req->p;
	*fe_peer = 77;
	*data = malloc(p->req_len ? p->req_len : 1);
	memcpy(*data, f->req->data, p->req_len);
	return true;
}

static void ops_event(void *arg, int kind, uint8_t reason, const struct conn *c)
{
	struct fx *f = arg;

	if (kind == ENGINE_HOFF_READY)
		f->ready++;
	else
		f->ends++;
	f->end_reason = reason;
	f->last_event = *c;
}

static void ops_inject(void *arg, const uint8_t *pkt, size_t len, const struct ip_addr *to)
{
	struct fx *f = arg;

	assert_true(len <= sizeof(f->inj));
	memcpy(f->inj, pkt, len);
	f->inj_len = len;
	f->inj_to = *to;
	f->n_inj++;
}

static const struct engine_hoff_ops fx_ops = {
	.request = ops_request, .claim = ops_claim, .event = ops_event, .inject = ops_inject,
};

static void side_init(struct fx *f, struct side *s, const char *node, unsigned idx)
{
	const char *dir = getenv("CD_TEST_DATA");
	char path[1024], err[CFG_ERR_MAX];
	bool alive[8] = { true, true, true, true, true, true, true, true };
	bool drained[8] = { false };
	struct view_input in;

	snprintf(path, sizeof(path), "%s/hoff.conf", dir ? dir : "tests/unit/data");
	s->cfg = cfg_load(path, node, err, sizeof(err));
	if (!s->cfg)
		fail_msg("%s", err);
	memset(&in, 0, sizeof(in));
	in.cfg = s->cfg;
	in.self = s->cfg->self;
	in.alive = alive;
	in.drained = drained;
	in.listening = fx_listening;
	in.arg = f;
	in.generation = 1;
	s->view = view_build(&in);
	assert_non_null(s->view);
	s->conns = conn_table_new(1024);
	s->e.conns = s->conns;
	s->e.stats = &s->stats;
	s->e.view = s->view;
	s->e.now_ms = 1000;
	s->e.wall_ms = 1700000000000ull;
	s->e.timeouts = (struct conn_timeouts){ 30, 900, 30, 10, 60 };
	s->e.hoff = &fx_ops;
	s->e.hoff_arg = f;
	s->e.slots = hoff_table_new(8, 99);
	s->e.idx = idx;
	memset(s->e.cookie_key, 0x5a, sizeof(s->e.cookie_key));
}

static void side_fini(struct side *s)
{
	hoff_table_free(s->e.slots);
	conn_table_free(s->conns);
	view_free(s->view);
	cfg_free(s->cfg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	side_init(f, &f->fe, "d1", 3);
	side_init(f, &f->tgt, "t1", 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	side_fini(&f->fe);
	side_fini(&f->tgt);
	free(f->req);
	free(f);
	return 0;
}

static void check_csums(const uint8_t *b, size_t len)
{
	if ((b[0] >> 4) == 4) {
		uint32_t ihl = (uint32_t)(b[0] & 15) * 4;

		assert_int_equal(pb_ip4_sum(b), 0xffff);
		assert_int_equal(pb_l4_sum(b, AF_INET, ihl, (uint32_t)len, b[9]), 0xffff);
	} else {
		assert_int_equal(pb_l4_sum(b, AF_INET6, 40, (uint32_t)len, b[6]), 0xffff);
	}
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	return a;
}

/* A client segment to VIPA:80. */
static size_t cseg(uint8_t *out, const char *client, const char *vipa, uint32_t seq, uint32_t ack,
		   uint8_t flags, bool ts, uint32_t tsval, uint32_t tsecr, const char *payload)
{
	struct tcpseg_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.src = ip(client);
	sp.dst = ip(vipa);
	sp.sport = 40000;
	sp.dport = 80;
	sp.seq = seq;
	sp.ack = ack;
	sp.flags = flags;
	sp.win = 500;
	sp.mss = (flags & PKT_TCP_SYN) ? 1460 : -1;
	sp.ws = (flags & PKT_TCP_SYN) ? 7 : -1;
	sp.sackok = (flags & PKT_TCP_SYN) != 0;
	sp.ts = ts;
	sp.tsval = tsval;
	sp.tsecr = tsecr;
	sp.payload = (const uint8_t *)payload;
	sp.plen = payload ? strlen(payload) : 0;
	return tcpseg_build(out, 2048, &sp);
}

static enum engine_verdict run(struct side *s, enum engine_hook h, uint8_t *b, size_t len,
			       uint8_t *reply, size_t *rlen)
{
	struct ip_addr to;

	*rlen = 0;
	return engine_packet(&s->e, h, b, len, false, reply, rlen, &to);
}

static void parse(const uint8_t *b, size_t len, struct pkt *p, struct tcpseg_opts *o)
{
	assert_int_equal(pkt_parse(b, len, p), PKT_OK);
	assert_int_equal(p->proto, IPPROTO_TCP);
	assert_true(tcpseg_opts_parse(b + p->l4_off, p->l4_hdrlen, o));
	check_csums(b, len);
}

static uint16_t window(const uint8_t *b, const struct pkt *p)
{
	return (uint16_t)(b[p->l4_off + 14] << 8 | b[p->l4_off + 15]);
}

#define REQ "GET /static/a.css HTTP/1.1\r\nHost: www.example.com\r\n\r\n"

/* Drives one connection through the handshake and the head on the FE;
 * returns the SYN-ACK's ISN and TSval. */
static void fe_handshake(struct fx *f, const char *client, const char *vipa, const char *req,
			 uint32_t *isn_f, uint32_t *ts_f)
{
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;

	len = cseg(b, client, vipa, 1000, 0, PKT_TCP_SYN, true, 555, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_int_equal(p.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(p.ack, 1001);
	assert_true(o.ts);
	assert_int_equal(o.tsecr, 555);
	assert_int_equal(o.ws, HOFF_FE_WSCALE);
	assert_true(o.sackok);
	assert_true(o.mss > 0 && o.mss <= 1460);
	*isn_f = p.seq;
	*ts_f = o.tsval;
	/* No state for a SYN. */
	assert_int_equal(conn_count(f->fe.conns), 0);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
	/* The handshake's ACK makes a slot; nothing to answer. */
	len = cseg(b, client, vipa, 1001, *isn_f + 1, PKT_TCP_ACK, true, 556, *ts_f, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_DROP);
	assert_int_equal(hoff_count(f->fe.e.slots), 1);
	/* The head, in two segments: the first is acknowledged and held. */
	size_t half = strlen(req) / 2;
	char first[512];

	memcpy(first, req, half);
	first[half] = 0;
	len = cseg(b, client, vipa, 1001, *isn_f + 1, PKT_TCP_ACK | PKT_TCP_PSH, true, 557, *ts_f,
		   first);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_int_equal(p.ack, 1001 + half);
	assert_int_equal(p.seq, *isn_f + 1);
	assert_null(f->req);
	len = cseg(b, client, vipa, (uint32_t)(1001 + half), *isn_f + 1, PKT_TCP_ACK | PKT_TCP_PSH,
		   true, 558, *ts_f, req + half);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_int_equal(p.ack, 1001 + strlen(req));
	assert_int_equal(o.tsecr, 558);
	*ts_f = o.tsval;	/* the TSval the target continues from */
}

static void test_whole_connection(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	uint32_t isn_f, ts_f, isn_t = 0x7ffffff0u, ts_t = 90000;
	const uint32_t req_len = (uint32_t)strlen(REQ);
	struct conn *c;
	char s1[64];

	fe_handshake(f, "10.1.0.2", "10.2.0.100", REQ, &isn_f, &ts_f);
	/* The request went to the main thread: /static/ names t1 only. */
	assert_non_null(f->req);
	assert_int_equal(f->req->n_cand, 1);
	assert_string_equal(f->fe.cfg->nodes[f->req->cand[0]].name, "t1");
	assert_int_equal(f->req->p.req_len, req_len);
	assert_memory_equal(f->req->data, REQ, req_len);
	assert_int_equal(f->req->p.isn_c, 1000);
	assert_int_equal(f->req->p.isn_f, isn_f);
	assert_int_equal(f->req->p.ws_c, 7);
	assert_int_equal(f->req->p.tsval_f, ts_f);
	assert_int_equal(f->req->p.tport, 8080);
	assert_int_equal(f->req->p.id >> HOFF_ID_SHIFT, 3);
	/* While it is handed off, client packets wait. */
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001 + req_len, isn_f + 1, PKT_TCP_ACK, true, 559,
		   ts_f, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_DROP);

	/* Target: its stack answers the injected SYN (scale 9, its own ISN
	 * and clock); the engine swallows it and replays ACK + request. */
	{
		struct tcpseg_spec sp;

		memset(&sp, 0, sizeof(sp));
		sp.src = ip("10.2.0.21");
		sp.dst = ip("10.1.0.2");
		sp.sport = 8080;
		sp.dport = 40000;
		sp.seq = isn_t;
		sp.ack = 1001;
		sp.flags = PKT_TCP_SYN | PKT_TCP_ACK;
		sp.win = 65535;
		sp.mss = 1460;
		sp.ws = 9;
		sp.sackok = true;
		sp.ts = true;
		sp.tsval = ts_t;
		sp.tsecr = 558;
		len = tcpseg_build(b, sizeof(b), &sp);
	}
	assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
	assert_int_equal(f->n_inj, 1);
	parse(f->inj, f->inj_len, &p, &o);
	assert_true(addr_eq(&f->inj_to, &(struct ip_addr){ 0 }) == false);
	assert_string_equal(inet_ntop(AF_INET, f->inj + 12, s1, sizeof(s1)), "10.1.0.2");
	assert_string_equal(inet_ntop(AF_INET, f->inj + 16, s1, sizeof(s1)), "10.2.0.21");
	assert_int_equal(p.dport, 8080);
	assert_int_equal(p.seq, 1001);
	assert_int_equal(p.ack, isn_t + 1);
	assert_int_equal(tcpseg_payload_len(&p), req_len);
	assert_memory_equal(f->inj + p.l4_off + p.l4_hdrlen, REQ, req_len);
	assert_int_equal(o.tsecr, ts_t);
	/* The stack acknowledges the request: swallowed, the FE is told. */
	{
		struct tcpseg_spec sp;

		memset(&sp, 0, sizeof(sp));
		sp.src = ip("10.2.0.21");
		sp.dst = ip("10.1.0.2");
		sp.sport = 8080;
		sp.dport = 40000;
		sp.seq = isn_t + 1;
		sp.ack = 1001 + req_len;
		sp.flags = PKT_TCP_ACK;
		sp.win = 100;
		sp.mss = -1;
		sp.ws = -1;
		sp.ts = true;
		sp.tsval = ts_t + 1;
		sp.tsecr = 558;
		len = tcpseg_build(b, sizeof(b), &sp);
	}
	assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
	assert_int_equal(f->ready, 1);
	assert_int_equal(f->last_event.hoff.delta, isn_f - isn_t);
	assert_int_equal(f->last_event.hoff.tsoff, ts_f - ts_t);
	assert_int_equal(f->last_event.hoff.peer, 77);

	/* The FE learns it (the main thread's ACK): the slot becomes an entry. */
	{
		struct conn_key k;
		struct ip_addr t1 = ip("10.2.0.21");

		conn_key_set(&k, IPPROTO_TCP, &(struct ip_addr){ 0 }, 0, &(struct ip_addr){ 0 }, 0);
		k = f->req->p.key;
		assert_true(engine_hoff_ack(&f->fe.e, &k, f->req->p.id, 1, 21, &t1, 8080,
					    f->last_event.hoff.delta, f->last_event.hoff.tsoff, 9));
		assert_int_equal(hoff_count(f->fe.e.slots), 0);
		c = conn_lookup(f->fe.conns, &k);
		assert_non_null(c);
		assert_int_equal(c->hoff.role, CONN_HOFF_FE);
		/* The ACK the client sent while the request was on its way
		 * was kept, and now goes to t1 in the target's numbers. */
		assert_int_equal(f->n_inj, 2);
		assert_int_equal(f->fe.stats.v[STAT_H_HELD], 1);
		assert_int_equal(f->fe.stats.v[STAT_H_HELD_SENT], 1);
		assert_true(addr_eq(&f->inj_to, &t1));
		parse(f->inj, f->inj_len, &p, &o);
		assert_string_equal(inet_ntop(AF_INET, f->inj + 16, s1, sizeof(s1)), "10.2.0.21");
		assert_int_equal(p.dport, 8080);
		assert_int_equal(p.ack, isn_t + 1);
		assert_int_equal(o.tsecr, ts_t);	/* it echoed our TSval */
		/* A second ACK for it finds no slot. */
		assert_false(engine_hoff_ack(&f->fe.e, &k, f->req->p.id, 1, 21, &t1, 8080, 0, 0, 9));
	}

	/* The response: from VIPA:80, in the FE's sequence space and clock,
	 * its window rescaled from 9 to 7. */
	{
		struct tcpseg_spec sp;

		memset(&sp, 0, sizeof(sp));
		sp.src = ip("10.2.0.21");
		sp.dst = ip("10.1.0.2");
		sp.sport = 8080;
		sp.dport = 40000;
		sp.seq = isn_t + 1;
		sp.ack = 1001 + req_len;
		sp.flags = PKT_TCP_ACK | PKT_TCP_PSH;
		sp.win = 100;
		sp.mss = -1;
		sp.ws = -1;
		sp.ts = true;
		sp.tsval = ts_t + 5;
		sp.tsecr = 559;
		sp.payload = (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n";
		sp.plen = 19;
		len = tcpseg_build(b, sizeof(b), &sp);
	}
	assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_MANGLED);
	parse(b, len, &p, &o);
	assert_string_equal(inet_ntop(AF_INET, b + 12, s1, sizeof(s1)), "10.2.0.100");
	assert_int_equal(p.sport, 80);
	assert_int_equal(p.seq, isn_f + 1);
	assert_int_equal(o.tsval, ts_f + 5);
	assert_int_equal(window(b, &p), 400);

	/* The client acknowledges it: to t1:8080 in the target's numbers. */
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001 + req_len, isn_f + 1 + 19, PKT_TCP_ACK, true,
		   560, ts_f + 5, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_MANGLED);
	parse(b, len, &p, &o);
	assert_string_equal(inet_ntop(AF_INET, b + 16, s1, sizeof(s1)), "10.2.0.21");
	assert_int_equal(p.dport, 8080);
	assert_int_equal(p.ack, isn_t + 1 + 19);
	assert_int_equal(o.tsecr, ts_t + 5);
	assert_int_equal(f->fe.stats.v[STAT_H_FORWARDED], 2);

	/* A SYN on the established entry (forged, or a client that lost
	 * the connection) goes on to the target's stack, which answers it
	 * with a challenge ACK: the entry stays. */
	f->ends = 0;
	len = cseg(b, "10.1.0.2", "10.2.0.100", 0xdeadbeef, 0, PKT_TCP_SYN, true, 561, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_MANGLED);
	assert_int_equal(f->ends, 0);
	assert_int_equal(conn_count(f->fe.conns), 1);
	/* The client resets: the RST goes on to the target's stack (which
	 * checks it), the entry is closed and lives closed_s, then goes and
	 * the target is told. */
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001 + req_len, 0, PKT_TCP_RST, true, 561, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_MANGLED);
	assert_int_equal(f->ends, 0);
	c = conn_lookup(f->fe.conns, &f->req->p.key);
	assert_non_null(c);
	assert_int_equal(c->state, CONN_CLOSED);
	f->fe.e.now_ms += 11000;
	assert_int_equal(conn_expire(f->fe.conns, f->fe.e.now_ms, &f->fe.e.timeouts, 4096,
				     engine_conn_expired, &f->fe.e), 1);
	assert_int_equal(f->ends, 1);
	assert_int_equal(f->end_reason, ENGINE_HOFF_R_EXPIRED);
	assert_int_equal(conn_count(f->fe.conns), 0);

	/* The client reuses its port at once: the target still has the old
	 * entry, and its stack's SYN-ACK to the new replay must be claimed,
	 * not taken for a repeat of the old one. */
	free(f->req);
	f->req = NULL;
	fe_handshake(f, "10.1.0.2", "10.2.0.100", REQ, &isn_f, &ts_f);
	assert_non_null(f->req);
	assert_int_equal(conn_count(f->tgt.conns), 1);
	{
		struct tcpseg_spec sp;
		size_t inj0 = f->n_inj;

		memset(&sp, 0, sizeof(sp));
		sp.src = ip("10.2.0.21");
		sp.dst = ip("10.1.0.2");
		sp.sport = 8080;
		sp.dport = 40000;
		sp.seq = isn_t + 100000;
		sp.ack = 1001;
		sp.flags = PKT_TCP_SYN | PKT_TCP_ACK;
		sp.win = 65535;
		sp.mss = 1460;
		sp.ws = 9;
		sp.ts = true;
		sp.tsval = ts_t + 50;
		sp.tsecr = 558;
		len = tcpseg_build(b, sizeof(b), &sp);
		assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
		assert_int_equal(f->n_inj, inj0 + 1);	/* the replay of the new request */
		c = conn_lookup(f->tgt.conns, &f->req->p.key);
		assert_non_null(c);
		assert_int_equal(c->hoff.delta, isn_f - (isn_t + 100000));
		assert_int_equal(c->hoff.phase, CONN_HOFF_INJECTED);
		/* A repeat of that SYN-ACK while the request is still pending
		 * (the stack lost the replay: its accept queue was full) gets
		 * the replay again. */
		f->claimed = false;
		assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
		assert_int_equal(f->n_inj, inj0 + 2);
		assert_int_equal(f->tgt.stats.v[STAT_H_TGT_REPLAYED], 1);
		assert_int_equal(conn_count(f->tgt.conns), 1);
		/* Once nothing is pending (the stack took it), a repeat is
		 * swallowed. */
		assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
		assert_int_equal(f->n_inj, inj0 + 2);
	}
}

/* A head that fits, in a segment that goes past max_request (a body
 * behind it): handed off, not refused.  A FIN that arrives before the
 * segment ahead of it: a duplicate ACK, not a 400. */
static void test_cut_segment_and_early_fin(void **state)
{
	struct fx *f = *state;
	uint8_t b[4096], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	uint32_t isn_f, ts_f;
	char post[1400];
	static const char hd[] = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1300\r\n\r\n";

	memset(post, 'x', sizeof(post));
	memcpy(post, hd, sizeof(hd) - 1);
	post[sizeof(post) - 1] = 0;
	len = cseg(b, "10.1.0.7", "10.2.0.100", 1000, 0, PKT_TCP_SYN, true, 555, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_int_equal(window(r, &p), 1024);	/* no more than a head may take */
	isn_f = p.seq;
	ts_f = o.tsval;
	len = cseg(b, "10.1.0.7", "10.2.0.100", 1001, isn_f + 1, PKT_TCP_ACK | PKT_TCP_PSH, true,
		   556, ts_f, post);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_false(p.tcp_flags & PKT_TCP_FIN);
	assert_int_equal(p.ack, 1001 + 1024);	/* what it took; the rest comes again */
	assert_non_null(f->req);
	assert_int_equal(f->req->p.req_len, 1024);
	assert_int_equal(f->fe.stats.v[STAT_H_TOO_LARGE], 0);
	assert_int_equal(f->fe.stats.v[STAT_H_REQ_BYTES], 1024);

	/* Another connection: its head's last segment, with the FIN, comes
	 * before the one ahead of it. */
	len = cseg(b, "10.1.0.8", "10.2.0.100", 5000, 0, PKT_TCP_SYN, true, 555, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	isn_f = p.seq;
	ts_f = o.tsval;
	len = cseg(b, "10.1.0.8", "10.2.0.100", 5001, isn_f + 1, PKT_TCP_ACK, true, 556, ts_f, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_DROP);
	len = cseg(b, "10.1.0.8", "10.2.0.100", 5001 + 10, isn_f + 1,
		   PKT_TCP_ACK | PKT_TCP_FIN, true, 556, ts_f, "Host: a\r\n\r\n");
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_false(p.tcp_flags & PKT_TCP_FIN);
	assert_int_equal(p.ack, 5001);
	assert_int_equal(tcpseg_payload_len(&p), 0);
	assert_int_equal(f->fe.stats.v[STAT_H_BAD_REQUEST], 0);
}

/* The target's stack does no window scaling (no WS in its SYN-ACK) while
 * the client does with the front-end (7): the windows are converted both
 * ways, so neither end reads the other's window 128 times off. */
static void test_target_without_wscale(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	struct tcpseg_spec sp;
	uint32_t isn_f, ts_f, isn_t = 5000;
	const uint32_t req_len = (uint32_t)strlen(REQ);
	struct ip_addr t1 = ip("10.2.0.21");

	fe_handshake(f, "10.1.0.2", "10.2.0.100", REQ, &isn_f, &ts_f);
	memset(&sp, 0, sizeof(sp));
	sp.src = t1;
	sp.dst = ip("10.1.0.2");
	sp.sport = 8080;
	sp.dport = 40000;
	sp.seq = isn_t;
	sp.ack = 1001;
	sp.flags = PKT_TCP_SYN | PKT_TCP_ACK;
	sp.win = 65535;
	sp.mss = 1460;
	sp.ws = -1;
	sp.ts = true;
	sp.tsval = 77;
	sp.tsecr = 558;
	len = tcpseg_build(b, sizeof(b), &sp);
	assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_DROP);
	/* The stack's reply, window 64000 bytes: the client reads units of 128. */
	sp.seq = isn_t + 1;
	sp.ack = 1001 + req_len;
	sp.flags = PKT_TCP_ACK | PKT_TCP_PSH;
	sp.win = 64000;
	sp.mss = -1;
	sp.tsval = 80;
	sp.payload = (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n";
	sp.plen = 19;
	len = tcpseg_build(b, sizeof(b), &sp);
	assert_int_equal(run(&f->tgt, ENGINE_OUT, b, len, r, &rl), ENGINE_MANGLED);
	parse(b, len, &p, &o);
	assert_int_equal(window(b, &p), 64000 >> 7);
	assert_true(engine_hoff_ack(&f->fe.e, &f->req->p.key, f->req->p.id, 1, 21, &t1, 8080,
				    f->last_event.hoff.delta, f->last_event.hoff.tsoff, -1));
	/* The client's window 500 (x 128) reaches the stack in bytes. */
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001 + req_len, isn_f + 1 + 19, PKT_TCP_ACK, true,
		   560, ts_f + 3, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_MANGLED);
	parse(b, len, &p, &o);
	assert_int_equal(window(b, &p), 64000);
}

static void test_syn_flood_keeps_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	char src[32];

	for (unsigned i = 0; i < 2000; i++) {
		snprintf(src, sizeof(src), "10.1.%u.%u", i / 250, i % 250 + 1);
		len = cseg(b, src, "10.2.0.100", i * 7919u, 0, PKT_TCP_SYN, i & 1, i, 0, NULL);
		assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	}
	assert_int_equal(conn_count(f->fe.conns), 0);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
	assert_int_equal(f->fe.stats.v[STAT_H_SYN_COOKIES], 2000);
}

static void test_bad_cookie_reset(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	uint32_t isn_f, ts_f;

	len = cseg(b, "10.1.0.2", "10.2.0.100", 1000, 0, PKT_TCP_SYN, true, 555, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	isn_f = p.seq;
	ts_f = o.tsval;
	/* One bit off the cookie, or the wrong client ISN: a RST, no slot. */
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001, (isn_f ^ 4) + 1, PKT_TCP_ACK, true, 556, ts_f,
		   NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_true(p.tcp_flags & PKT_TCP_RST);
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1002, isn_f + 1, PKT_TCP_ACK, true, 556, ts_f, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
	assert_int_equal(f->fe.stats.v[STAT_H_COOKIE_INVALID], 2);
	/* The cookie expires with its clock period. */
	f->fe.e.wall_ms += 10ull * 60 * 1000;
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001, isn_f + 1, PKT_TCP_ACK, true, 556, ts_f, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
}

/* The FE answers by itself and keeps nothing. */
static void expect_answer(struct fx *f, const char *req, const char *status)
{
	uint8_t b[4096], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	uint32_t isn_f, ts_f;

	len = cseg(b, "10.1.0.9", "10.2.0.100", 1000, 0, PKT_TCP_SYN, true, 555, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	isn_f = p.seq;
	ts_f = o.tsval;
	len = cseg(b, "10.1.0.9", "10.2.0.100", 1001, isn_f + 1, PKT_TCP_ACK | PKT_TCP_PSH, true,
		   556, ts_f, req);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_true(p.tcp_flags & PKT_TCP_FIN);
	assert_int_equal(p.seq, isn_f + 1);
	assert_true(tcpseg_payload_len(&p) > strlen(status));
	assert_memory_equal(r + p.l4_off + p.l4_hdrlen, status, strlen(status));
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
	assert_int_equal(conn_count(f->fe.conns), 0);
	assert_null(f->req);
}

static void test_bad_requests_answered(void **state)
{
	struct fx *f = *state;
	char big[1500];

	expect_answer(f, "BLAH\r\n\r\n", "HTTP/1.1 400");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	big[sizeof(big) - 1] = 0;
	expect_answer(f, big, "HTTP/1.1 400");	/* over max_request = 1024 */
	assert_int_equal(f->fe.stats.v[STAT_H_BAD_REQUEST] + f->fe.stats.v[STAT_H_TOO_LARGE], 2);
}

static void test_slow_head_gets_408(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048], r[ENGINE_REPLY_MAX];
	size_t len, rl;
	struct pkt p;
	struct tcpseg_opts o;
	uint32_t isn_f;

	len = cseg(b, "10.1.0.2", "10.2.0.100", 1000, 0, PKT_TCP_SYN, false, 0, 0, NULL);
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	parse(r, rl, &p, &o);
	assert_false(o.ts);
	assert_int_equal(o.ws, -1);	/* nowhere to keep it without timestamps */
	isn_f = p.seq;
	len = cseg(b, "10.1.0.2", "10.2.0.100", 1001, isn_f + 1, PKT_TCP_ACK, false, 0, 0, "GET /");
	assert_int_equal(run(&f->fe, ENGINE_PRE, b, len, r, &rl), ENGINE_REPLY);
	assert_int_equal(hoff_count(f->fe.e.slots), 1);
	f->fe.e.now_ms += 1999;
	assert_int_equal(engine_hoff_expire(&f->fe.e, 100), 0);
	f->fe.e.now_ms += 2;
	f->n_inj = 0;
	assert_int_equal(engine_hoff_expire(&f->fe.e, 100), 1);
	assert_int_equal(f->n_inj, 1);
	parse(f->inj, f->inj_len, &p, &o);
	assert_memory_equal(f->inj + p.l4_off + p.l4_hdrlen, "HTTP/1.1 408", 12);
	assert_int_equal(p.ack, 1006);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
}

static void test_no_candidate_503_and_fail(void **state)
{
	struct fx *f = *state;
	uint32_t isn_f, ts_f;
	uint8_t r[ENGINE_REPLY_MAX];
	struct ip_addr to;
	size_t n;
	struct pkt p;
	struct tcpseg_opts o;

	/* The main thread found no candidate that took it: 503. */
	fe_handshake(f, "10.1.0.2", "10.2.0.100", REQ, &isn_f, &ts_f);
	assert_non_null(f->req);
	n = engine_hoff_fail(&f->fe.e, &f->req->p.key, f->req->p.id + 1, r, &to);
	assert_int_equal(n, 0);		/* not its id: nothing */
	n = engine_hoff_fail(&f->fe.e, &f->req->p.key, f->req->p.id, r, &to);
	assert_true(n > 0);
	parse(r, n, &p, &o);
	assert_memory_equal(r + p.l4_off + p.l4_hdrlen, "HTTP/1.1 503", 12);
	assert_int_equal(hoff_count(f->fe.e.slots), 0);
}

static void test_ipv6_handshake(void **state)
{
	struct fx *f = *state;
	uint32_t isn_f, ts_f;

	fe_handshake(f, "fd01::2", "fd02::100", REQ, &isn_f, &ts_f);
	assert_non_null(f->req);
	assert_int_equal(f->req->p.key.family, AF_INET6);
	assert_string_equal(f->fe.cfg->nodes[f->req->cand[0]].name, "t1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_segment_and_early_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_without_wscale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_flood_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cookie_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_head_gets_408, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_candidate_503_and_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_handshake, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
