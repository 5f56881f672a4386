/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/assoc: the life of one association, clients sharing
 * ports, INIT floods, restart, collision, T-bit ABORT, budgeted expiry,
 * iteration and keyed hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/assoc.h"

static const struct assoc_ports P = { .ep = 1, .cport = 2905, .vport = 2905 };
static const struct assoc_timeouts TO = { .init_s = 5, .est_s = 300, .closed_s = 2 };

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	assert_true(addr_parse(&a, s));
	return a;
}

/* An INIT that must be new; the caller's scheduler picks target. */
static struct assoc *init_new(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			      const char *src, uint32_t target, uint64_t now)
{
	struct ip_addr a = ip(src);
	enum assoc_init_res r;
	struct assoc *e = assoc_init(t, p, itag_c, &a, now, &r);

	assert_non_null(e);
	assert_int_equal(r, ASSOC_I_NEW);
	assert_int_equal(e->target, ASSOC_NO_TARGET);
	e->target = target;
	return e;
}

static struct assoc *est(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			 uint32_t itag_t, const char *src, uint32_t target, uint64_t now)
{
	enum assoc_learn_res r;
	struct assoc *e;

	init_new(t, p, itag_c, src, target, now);
	e = assoc_learn(t, p, itag_c, itag_t, target, NULL, now, &r);
	assert_non_null(e);
	assert_int_equal(r, ASSOC_L_EST);
	return e;
}

static struct assoc *hit(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag,
			 bool tbit)
{
	struct assoc *a;

	assert_int_equal(assoc_lookup(t, p, vtag, tbit, &a, NULL), ASSOC_HIT);
	assert_non_null(a);
	return a;
}

static void miss(struct assoc_table *t, const struct assoc_ports *p, uint32_t vtag, bool tbit)
{
	struct assoc *a = (struct assoc *)1;

	assert_int_equal(assoc_lookup(t, p, vtag, tbit, &a, NULL), ASSOC_NONE);
	assert_null(a);
}

static void test_life(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr c1 = ip("192.0.2.1"), c2 = ip("198.51.100.1");
	enum assoc_init_res ir;
	enum assoc_learn_res lr;
	struct assoc *a, *b, *x;
	uint32_t hint;

	(void)state;
	assert_non_null(t);
	a = init_new(t, &P, 0x1111, "192.0.2.1", 3, 1000);
	assert_int_equal(a->state, ASSOC_INIT);
	assert_int_equal(a->n_paths, 1);
	assert_true(addr_eq(&a->paths[0], &c1));
	/* A retransmitted INIT finds the same entry and target. */
	b = assoc_init(t, &P, 0x1111, &c1, 2000, &ir);
	assert_ptr_equal(b, a);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	assert_int_equal(b->target, 3);
	assert_int_equal(b->inits, 2);
	assert_ptr_equal(assoc_find_init(t, &P, 0x1111), a);
	/* The COOKIE-ECHO overtook the learn: told apart from no state. */
	assert_int_equal(assoc_lookup(t, &P, 0xaaaa, false, &x, &hint), ASSOC_UNKNOWN_TAG);
	assert_null(x);
	assert_int_equal(hint, 3);
	/* The target's clusterd tells its tag. */
	b = assoc_learn(t, &P, 0x1111, 0xaaaa, 3, NULL, 2100, &lr);
	assert_ptr_equal(b, a);
	assert_int_equal(lr, ASSOC_L_EST);
	assert_int_equal(a->state, ASSOC_EST);
	assert_int_equal(a->itag_t, 0xaaaa);
	assert_int_equal(a->est_ms, 2100);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 0);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 1);
	/* No INIT pending any more: an unknown tag has no state. */
	miss(t, &P, 0xbbbb, false);
	/* Every path (VIPA or alternate, any client address) finds it. */
	x = hit(t, &P, 0xaaaa, false);
	assert_ptr_equal(x, a);
	assert_false(assoc_seen(t, x, 0xaaaa, &c2, 100, 2200, NULL));
	assert_false(assoc_seen(t, x, 0xaaaa, &c1, 60, 2300, NULL));
	assert_int_equal(a->n_paths, 2);
	assert_true(addr_eq(&a->paths[1], &c2));
	assert_int_equal(a->packets, 2);
	assert_int_equal(a->bytes, 160);
	assert_int_equal(a->last_ms, 2300);
	/* Learning twice changes nothing. */
	assert_ptr_equal(assoc_learn(t, &P, 0x1111, 0xaaaa, 3, NULL, 2400, &lr), a);
	assert_int_equal(lr, ASSOC_L_DUP);
	assert_int_equal(assoc_count(t), 1);
	/* Other ports or another endpoint id: not this association. */
	miss(t, &(struct assoc_ports){ .ep = 1, .cport = 2906, .vport = 2905 }, 0xaaaa, false);
	miss(t, &(struct assoc_ports){ .ep = 2, .cport = 2905, .vport = 2905 }, 0xaaaa, false);
	/* Idle less than est_s: kept. */
	assert_int_equal(assoc_expire(t, 2300 + 300 * 1000, &TO, 64, NULL, NULL), 0);
	/* SHUTDOWN-COMPLETE: closed, still routes a late packet. */
	assoc_end(t, a, 5000);
	assert_int_equal(a->state, ASSOC_CLOSED);
	assert_ptr_equal(hit(t, &P, 0xaaaa, false), a);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 0);
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), 1);
	assert_int_equal(assoc_expire(t, 5000 + 2000, &TO, 64, NULL, NULL), 0);
	assert_int_equal(assoc_expire(t, 5000 + 2001, &TO, 64, NULL, NULL), 1);
	assert_int_equal(assoc_count(t), 0);
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), 0);
	miss(t, &P, 0xaaaa, false);
	assert_int_equal(assoc_counters(t)->expired, 1);
	assoc_table_free(t);
}

static void test_two_clients_same_ports(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr cb = ip("192.0.2.2");
	enum assoc_init_res ir;
	struct assoc *a, *b, *n;

	(void)state;
	a = est(t, &P, 0x1001, 0xa001, "192.0.2.1", 1, 100);
	/* Another client with the same ports: a new association, not a
	 * restart of the first. */
	n = assoc_init(t, &P, 0x2002, &cb, 200, &ir);
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_int_equal(n->target, ASSOC_NO_TARGET);
	assert_int_equal(n->replaces, 0);
	n->target = 2;
	b = assoc_learn(t, &P, 0x2002, 0xb002, 2, NULL, 300, &(enum assoc_learn_res){ 0 });
	assert_ptr_equal(b, n);
	assert_ptr_equal(hit(t, &P, 0xa001, false), a);
	assert_ptr_equal(hit(t, &P, 0xb002, false), b);
	assert_int_equal(hit(t, &P, 0xa001, false)->target, 1);
	assert_int_equal(hit(t, &P, 0xb002, false)->target, 2);
	/* T-bit: by the client's own tag. */
	assert_ptr_equal(hit(t, &P, 0x1001, true), a);
	assert_ptr_equal(hit(t, &P, 0x2002, true), b);
	/* A client tag is not a target tag, and the reverse. */
	miss(t, &P, 0x1001, false);
	miss(t, &P, 0xa001, true);
	/* Both retransmit their INITs: each finds its own. */
	assert_ptr_equal(assoc_init(t, &P, 0x1001, &cb, 400, &ir), a);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	assert_ptr_equal(assoc_init(t, &P, 0x2002, &cb, 400, &ir), b);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	/* Ending one leaves the other. */
	assoc_end(t, a, 500);
	assert_int_equal(hit(t, &P, 0xb002, false)->state, ASSOC_EST);
	assoc_table_free(t);
}

static void test_init_flood(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 16);
	struct assoc *e[10];
	struct ip_addr src = ip("192.0.2.1");
	enum assoc_init_res ir;
	enum assoc_learn_res lr;
	uint32_t x = 12345;

	(void)state;
	assert_int_equal(assoc_init_cap(t), 16);
	for (uint32_t i = 0; i < 10; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(3000 + i), .vport = 2905 };

		e[i] = est(t, &p, 0x100 + i, 0x200 + i, "192.0.2.1", i, 1);
	}
	/* A flood of forged INITs (one of them aimed at ports and an address
	 * of an established association: a forged restart). */
	for (uint32_t i = 0; i < 1000; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(3000 + i % 20), .vport = 2905 };

		x = x * 1103515245u + 12345u;
		assert_non_null(assoc_init(t, &p, x | 1, &src, 10 + i, &ir));
		assert_true(assoc_count_state(t, ASSOC_INIT) <= 16);
	}
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 16);
	assert_int_equal(assoc_counters(t)->evicted_init, 1000 - 16);
	for (uint32_t i = 0; i < 10; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(3000 + i), .vport = 2905 };

		assert_ptr_equal(hit(t, &p, 0x200 + i, false), e[i]);
		assert_int_equal(e[i]->state, ASSOC_EST);
		assert_int_equal(e[i]->target, i);
	}
	/* Fill the pool with established associations learned without their
	 * INIT: each takes an INIT entry's room once the pool is full. */
	for (uint32_t i = 0; i < 54; i++) {
		struct assoc_ports p = { .ep = 2, .cport = (uint16_t)(4000 + i), .vport = 2905 };

		assert_non_null(assoc_learn(t, &p, 0x300 + i, 0x400 + i, 7, NULL, 2000, &lr));
		assert_int_equal(lr, ASSOC_L_CREATED);
	}
	assert_int_equal(assoc_count(t), 64);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 64);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 0);
	/* Nothing evictable: INITs and learns are refused, nothing lost. */
	assert_null(assoc_init(t, &P, 0x777, &src, 3000, &ir));
	assert_int_equal(ir, ASSOC_I_FULL);
	assert_null(assoc_learn(t, &P, 0x777, 0x888, 7, NULL, 3000, &lr));
	assert_int_equal(lr, ASSOC_L_FULL);
	assert_int_equal(assoc_counters(t)->full, 2);
	for (uint32_t i = 0; i < 10; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(3000 + i), .vport = 2905 };

		assert_ptr_equal(hit(t, &p, 0x200 + i, false), e[i]);
	}
	/* A closed one makes room again. */
	assoc_end(t, e[0], 3000);
	assert_non_null(assoc_init(t, &P, 0x777, &src, 3001, &ir));
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_int_equal(assoc_counters(t)->evicted_closed, 1);
	assoc_table_free(t);
}

static void test_restart(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr x = ip("192.0.2.1"), y = ip("192.0.2.9"), x2 = ip("203.0.113.1");
	enum assoc_init_res ir;
	enum assoc_learn_res lr;
	struct assoc *old, *n, *f, gone;

	(void)state;
	old = est(t, &P, 0xc1, 0x71, "192.0.2.1", 5, 100);
	assoc_seen(t, old, 0x71, &x2, 100, 150, NULL);	/* a second path */
	/* The client restarts (new itag_c) from its second address: the
	 * INIT goes to the stack that holds the old association. */
	n = assoc_init(t, &P, 0xc2, &x2, 200, &ir);
	assert_non_null(n);
	assert_int_equal(ir, ASSOC_I_RESTART);
	assert_int_equal(n->target, 5);
	assert_int_equal(n->replaces, 0x71);
	assert_true(n->flags & ASSOC_F_RESTART);
	assert_int_equal(n->state, ASSOC_INIT);
	/* Another client with these ports: a new association. */
	f = assoc_init(t, &P, 0xc3, &y, 210, &ir);
	assert_int_equal(ir, ASSOC_I_NEW);
	assoc_remove(t, f);
	/* The old association routes until the new tags are used. */
	assert_ptr_equal(hit(t, &P, 0x71, false), old);
	n = assoc_learn(t, &P, 0xc2, 0x72, 5, NULL, 300, &lr);
	assert_int_equal(lr, ASSOC_L_EST);
	assert_ptr_equal(hit(t, &P, 0x71, false), old);
	/* A packet of the old tags does not end it... */
	assert_false(assoc_seen(t, old, 0x71, &x, 10, 350, NULL));
	assert_ptr_equal(hit(t, &P, 0x71, false), old);
	/* ...the COOKIE-ECHO with the new tag does. */
	f = hit(t, &P, 0x72, false);
	assert_ptr_equal(f, n);
	assert_true(assoc_seen(t, f, 0x72, &x, 200, 400, &gone));
	assert_int_equal(gone.itag_t, 0x71);
	assert_int_equal(gone.itag_c, 0xc1);
	assert_int_equal(gone.target, 5);
	assert_null(gone.tnext);
	miss(t, &P, 0x71, false);
	miss(t, &P, 0xc1, true);
	assert_int_equal(n->replaces, 0);
	assert_int_equal(assoc_count(t), 1);
	assert_int_equal(assoc_counters(t)->replaced, 1);
	assert_false(assoc_seen(t, f, 0x72, &x, 200, 500, NULL));
	assoc_table_free(t);
}

/* A forged restart INIT is an INIT entry only: evicted or expired, it
 * never takes the established association with it. */
static void test_forged_restart(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr x = ip("192.0.2.1");
	enum assoc_init_res ir;
	struct assoc *old, *n;

	(void)state;
	old = est(t, &P, 0xc1, 0x71, "192.0.2.1", 5, 100);
	n = assoc_init(t, &P, 0xdead, &x, 200, &ir);
	assert_int_equal(ir, ASSOC_I_RESTART);
	assert_int_equal(n->replaces, 0x71);
	/* The real client goes on with the old tags. */
	assert_false(assoc_seen(t, hit(t, &P, 0x71, false), 0x71, &x, 100, 210, NULL));
	assert_int_equal(assoc_count(t), 2);
	assert_int_equal(assoc_expire(t, 200 + 5001, &TO, assoc_slots(t), NULL, NULL), 1);
	assert_null(assoc_find_init(t, &P, 0xdead));
	assert_ptr_equal(hit(t, &P, 0x71, false), old);
	assoc_table_free(t);
}

static void test_collision(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr x = ip("2001:db8::1"), y = ip("2001:db8::2");
	enum assoc_init_res ir;
	enum assoc_learn_res lr;
	struct assoc *a, *b, *i;

	(void)state;
	/* The target began the association: its clusterd saw its INIT leave
	 * with tag 0x7a to client x; the client's tag is not known. */
	a = assoc_learn(t, &P, 0, 0x7a, 7, &x, 100, &lr);
	assert_non_null(a);
	assert_int_equal(lr, ASSOC_L_CREATED);
	assert_true(a->flags & ASSOC_F_TGT_INIT);
	assert_int_equal(a->itag_c, 0);
	miss(t, &P, 0xc1, true);
	/* The client's INIT crossed it: same association, same target. */
	b = assoc_init(t, &P, 0xc1, &x, 110, &ir);
	assert_ptr_equal(b, a);
	assert_int_equal(ir, ASSOC_I_COLLISION);
	assert_int_equal(b->target, 7);
	assert_int_equal(b->itag_c, 0xc1);
	assert_true(b->flags & ASSOC_F_COLLISION);
	assert_int_equal(assoc_count(t), 1);
	assert_ptr_equal(hit(t, &P, 0xc1, true), a);
	assert_ptr_equal(assoc_init(t, &P, 0xc1, &x, 120, &ir), a);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	/* Learning the pair later is the same news. */
	assert_ptr_equal(assoc_learn(t, &P, 0xc1, 0x7a, 7, NULL, 130, &lr), a);
	assert_int_equal(lr, ASSOC_L_DUP);

	/* The other way: the client's INIT-ACK (vtag 0x7b) tells its tag. */
	b = assoc_learn(t, &P, 0, 0x7b, 8, &y, 200, &lr);
	assert_int_equal(lr, ASSOC_L_CREATED);
	assert_ptr_equal(hit(t, &P, 0x7b, false), b);
	assert_int_equal(assoc_set_itag_c(t, b, 0xc2), 0);
	assert_int_equal(assoc_set_itag_c(t, b, 0xc3), -EEXIST);
	assert_int_equal(assoc_set_itag_c(t, b, 0), -EINVAL);
	assert_ptr_equal(hit(t, &P, 0xc2, true), b);

	/* The INIT went to target 1, but target 2 answered it: the learn
	 * (from the node whose stack has the association) wins. */
	i = init_new(t, &P, 0xc9, "2001:db8::9", 1, 300);
	assert_ptr_equal(assoc_learn(t, &P, 0xc9, 0x79, 2, NULL, 310, &lr), i);
	assert_int_equal(lr, ASSOC_L_EST);
	assert_int_equal(i->target, 2);
	assert_true(i->flags & ASSOC_F_RETARGET);
	assoc_table_free(t);
}

static void test_tbit_abort(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr c = ip("192.0.2.1");
	enum assoc_init_res ir;
	struct assoc *a, *n;

	(void)state;
	a = est(t, &P, 0xc1, 0x71, "192.0.2.1", 4, 100);
	/* ABORT with the T bit: its tag is the client's own. */
	miss(t, &P, 0xc1, false);
	assert_ptr_equal(hit(t, &P, 0xc1, true), a);
	assoc_end(t, a, 200);
	assert_int_equal(a->state, ASSOC_CLOSED);
	/* Late packets of either tag still reach the same target. */
	assert_ptr_equal(hit(t, &P, 0xc1, true), a);
	assert_ptr_equal(hit(t, &P, 0x71, false), a);
	assoc_end(t, a, 300);	/* twice: no change */
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), 1);
	/* Closed is not a restart candidate and not matched by an INIT. */
	assert_null(assoc_find_init(t, &P, 0xc1));
	n = assoc_init(t, &P, 0xc1, &c, 400, &ir);
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_ptr_not_equal(n, a);
	assert_ptr_equal(hit(t, &P, 0xc1, true), n);	/* the newest */
	/* An ABORT of a pending INIT (T bit) finds it too. */
	assoc_end(t, n, 500);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 0);
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), 2);
	miss(t, &P, 0x99, false);	/* no pending INIT left */
	assoc_table_free(t);
}

static void test_learn_cases(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr c = ip("192.0.2.1");
	enum assoc_learn_res lr;
	enum assoc_init_res ir;
	struct assoc *a, *b, *f, gone;

	(void)state;
	assert_null(assoc_learn(t, &P, 0xc1, 0, 1, NULL, 1, &lr));
	assert_int_equal(lr, ASSOC_L_BAD);
	assert_null(assoc_init(t, &P, 0, &c, 1, &ir));
	assert_int_equal(ir, ASSOC_I_BAD);
	/* Unknown INIT (evicted, or a replica): created only with a target. */
	assert_null(assoc_learn(t, &P, 0xc1, 0x71, ASSOC_NO_TARGET, NULL, 1, &lr));
	assert_int_equal(lr, ASSOC_L_UNKNOWN);
	assert_int_equal(assoc_count(t), 0);
	a = assoc_learn(t, &P, 0xc1, 0x71, 3, &c, 1, &lr);
	assert_int_equal(lr, ASSOC_L_CREATED);
	assert_int_equal(a->target, 3);
	assert_int_equal(a->n_paths, 1);
	assert_ptr_equal(assoc_init(t, &P, 0xc1, &c, 2, &ir), a);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	/* The target answered that INIT again with a new tag (RFC 9260
	 * 5.2.2): a second entry replaces the first once the tag is used. */
	b = assoc_learn(t, &P, 0xc1, 0x72, ASSOC_NO_TARGET, NULL, 3, &lr);
	assert_int_equal(lr, ASSOC_L_RETAG);
	assert_int_equal(b->target, 3);
	assert_int_equal(b->replaces, 0x71);
	assert_int_equal(b->n_paths, 1);
	assert_ptr_equal(hit(t, &P, 0x71, false), a);
	/* A packet by the client's tag (T bit) does not say which tags the
	 * client uses: the old entry stays. */
	f = hit(t, &P, 0xc1, true);
	assert_ptr_equal(f, b);
	assert_false(assoc_seen(t, f, 0xc1, NULL, 1, 4, NULL));
	assert_ptr_equal(hit(t, &P, 0x71, false), a);
	f = hit(t, &P, 0x72, false);
	assert_true(assoc_seen(t, f, 0x72, NULL, 1, 4, &gone));
	assert_int_equal(gone.itag_t, 0x71);
	miss(t, &P, 0x71, false);
	assert_ptr_equal(hit(t, &P, 0xc1, true), b);
	/* Bad pointers are ignored. */
	assoc_remove(t, NULL);
	assoc_remove(t, &gone);
	assert_int_equal(assoc_count(t), 1);
	assoc_table_free(t);
	assert_null(assoc_table_new(0, 0));
	assert_null(assoc_table_new(ASSOC_TABLE_MAX + 1, 0));
	t = assoc_table_new(3, 0);
	assert_int_equal(assoc_init_cap(t), 1);
	assoc_table_free(t);
	t = assoc_table_new(3, 10);
	assert_int_equal(assoc_init_cap(t), 3);
	assoc_table_free(t);
}

struct exp_ctx {
	size_t n;
	uint32_t last_tag;
};

static void exp_cb(const struct assoc *a, void *arg)
{
	struct exp_ctx *x = arg;

	x->n++;
	x->last_tag = a->itag_t;
}

static void test_expiry_budget(void **state)
{
	struct assoc_table *t = assoc_table_new(128, 0);
	struct exp_ctx x = { 0 };
	size_t removed = 0, calls = 0, n;

	(void)state;
	for (uint32_t i = 0; i < 100; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(1000 + i), .vport = 2905 };

		est(t, &p, 0x1000 + i, 0x2000 + i, "192.0.2.1", 1, i < 50 ? 1000 : 200000);
	}
	assert_int_equal(assoc_slots(t), 100);
	/* A clock gone back expires nothing. */
	assert_int_equal(assoc_expire(t, 500, &TO, 1000, NULL, NULL), 0);
	/* At 302000 ms only the first 50 (idle 301 s > 300) are due; a
	 * budget of 7 slots removes at most 7 per call. */
	for (calls = 0; removed < 50 && calls < 100; calls++) {
		n = assoc_expire(t, 302000, &TO, 7, exp_cb, &x);
		assert_true(n <= 7);
		removed += n;
	}
	/* The 50 due entries are slots 0..49: 7 per call, 8 calls. */
	assert_int_equal(calls, 8);
	assert_int_equal(removed, 50);
	assert_int_equal(x.n, 50);
	assert_int_equal(assoc_count(t), 50);
	/* Budget 0 does nothing; the rest are not due. */
	assert_int_equal(assoc_expire(t, 900000, &TO, 0, NULL, NULL), 0);
	assert_int_equal(assoc_expire(t, 200000 + 300000, &TO, 1000, NULL, NULL), 0);
	assert_int_equal(assoc_expire(t, 200000 + 300001, &TO, 1000, NULL, NULL), 50);
	assert_int_equal(assoc_count(t), 0);
	assoc_table_free(t);
}

static void count_cb(const struct assoc *a, void *arg)
{
	uint8_t *seen = arg;

	seen[a->itag_t - 0x2000]++;
}

static void test_iterate_chunks(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	uint8_t seen[40] = { 0 };
	size_t pos = 0, calls = 0;

	(void)state;
	for (uint32_t i = 0; i < 40; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(1000 + i), .vport = 2905 };

		est(t, &p, 0x1000 + i, 0x2000 + i, "192.0.2.1", 1, 1);
	}
	/* Removed slots are skipped, and reused without moving others. */
	assoc_remove(t, hit(t, &(struct assoc_ports){ .ep = 1, .cport = 1005, .vport = 2905 },
			    0x2005, false));
	while (pos < assoc_slots(t)) {
		pos = assoc_foreach_chunk(t, pos, 6, count_cb, seen);
		calls++;
	}
	assert_int_equal(calls, 7);
	for (int i = 0; i < 40; i++)
		assert_int_equal(seen[i], i == 5 ? 0 : 1);
	assert_int_equal(assoc_foreach_chunk(t, 1000, 6, count_cb, seen), assoc_slots(t));
	assoc_table_free(t);
}

static void test_seeds(void **state)
{
	struct assoc_table *a = assoc_table_new(1024, 0), *b = assoc_table_new(1024, 0);
	struct assoc_table *c = assoc_table_new(1024, 0);
	size_t differ = 0, used = 0;
	uint8_t hit_b[1024] = { 0 };

	(void)state;
	assert_int_equal(assoc_table_set_seed(b, 0x0123456789abcdefULL, 0xfedcba9876543210ULL), 0);
	assert_int_equal(assoc_table_set_seed(c, 0x0123456789abcdefULL, 0xfedcba9876543210ULL), 0);
	/* The keys an attacker would aim at one chain: one port pair,
	 * consecutive tags. */
	for (uint32_t tag = 1; tag <= 1000; tag++) {
		size_t ba = assoc_bucket(a, &P, tag), bb = assoc_bucket(b, &P, tag);

		assert_true(bb < assoc_buckets(b));
		differ += ba != bb;
		assert_int_equal(assoc_bucket(c, &P, tag), bb);
		if (!hit_b[bb]++)
			used++;
	}
	assert_true(differ > 900);
	/* 1000 keys in 1024 buckets: ~632 distinct expected. */
	assert_true(used > 550);
	/* Reseeding only while empty. */
	est(a, &P, 1, 2, "192.0.2.1", 1, 1);
	assert_int_equal(assoc_table_set_seed(a, 1, 2), -EBUSY);
	assoc_table_free(a);
	assoc_table_free(b);
	assoc_table_free(c);
}

/* --- a reload renumbering VIPAs (ep) and nodes (target) --- */

#define PORTS(e, c) (&(struct assoc_ports){ .ep = (e), .cport = (c), .vport = 3868 })

/* Two VIPAs swap indexes, a third goes, targets are renumbered or gone:
 * each entry is found by each of its keys under its new ep only, with its
 * state, paths, counters and times. */
static void test_remap_swap(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct assoc_ports a0 = *PORTS(0, 100), a1 = *PORTS(1, 100), i0 = *PORTS(0, 101),
			   i1 = *PORTS(1, 101), c0 = *PORTS(0, 102), d2 = *PORTS(2, 100);
	/* ep 0 <-> 1; ep 2 gone.  Node 0 -> 2, 1 -> 0, 2 gone, 5 out of range. */
	const uint32_t ep_map[] = { 1, 0, UINT32_MAX }, node_map[] = { 2, 0, UINT32_MAX };
	struct ip_addr x1 = ip("192.0.2.1"), x2 = ip("192.0.2.2");
	struct assoc_remap_res res;
	struct assoc *a, *b, *ia, *ib, *c, *d, *f;
	enum assoc_init_res ir;
	uint32_t hint;
	size_t n_init, n_closed;

	(void)state;
	/* The same ports and tags in ep 0 and ep 1: A's new key is B's old one. */
	a = est(t, &a0, 0x10, 0x20, "192.0.2.1", 1, 100);
	assert_true(assoc_add_path(t, a, &x2));
	assert_false(assoc_seen(t, a, 0x20, &x1, 500, 150, NULL));
	b = est(t, &a1, 0x10, 0x20, "192.0.2.1", 2, 110);
	ia = init_new(t, &i0, 0x11, "192.0.2.1", 0, 120);
	ib = init_new(t, &i1, 0x12, "192.0.2.2", 1, 130);
	c = est(t, &c0, 0x13, 0x23, "192.0.2.1", 5, 140);
	assoc_end(t, c, 160);
	d = est(t, &d2, 0x10, 0x20, "192.0.2.1", 0, 170);
	(void)d;
	assert_int_equal(assoc_count(t), 6);
	n_init = assoc_count_state(t, ASSOC_INIT);
	n_closed = assoc_count_state(t, ASSOC_CLOSED);

	assoc_remap(t, ep_map, 3, node_map, 3, &res);
	assert_int_equal(res.moved, 5);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.retargeted, 3);	/* a 1->0, ia 0->2, ib 1->0 */
	assert_int_equal(res.untargeted, 2);	/* b (node 2 gone), c (node 5 unknown) */
	assert_int_equal(assoc_count(t), 5);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 2);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), n_init);
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), n_closed);

	/* By the target's tag, the client's tag (T bit), under the new eps. */
	assert_ptr_equal(hit(t, &a1, 0x20, false), a);
	assert_ptr_equal(hit(t, &a0, 0x20, false), b);
	assert_ptr_equal(hit(t, &a1, 0x10, true), a);
	assert_ptr_equal(hit(t, &a0, 0x10, true), b);
	assert_int_equal(a->p.ep, 1);
	assert_int_equal(b->p.ep, 0);
	assert_int_equal(a->target, 0);
	assert_int_equal(b->target, ASSOC_NO_TARGET);
	/* Nothing else about them changed. */
	assert_int_equal(a->state, ASSOC_EST);
	assert_int_equal(a->n_paths, 2);
	assert_true(addr_eq(&a->paths[0], &x1));
	assert_true(addr_eq(&a->paths[1], &x2));
	assert_int_equal(a->packets, 1);
	assert_int_equal(a->bytes, 500);
	assert_int_equal(a->created_ms, 100);
	assert_int_equal(a->est_ms, 100);
	assert_int_equal(a->last_ms, 150);
	assert_int_equal(a->itag_c, 0x10);
	assert_int_equal(a->itag_t, 0x20);
	/* The VIPA that went took its association. */
	miss(t, &d2, 0x20, false);
	miss(t, &d2, 0x10, true);
	/* The closed one still routes late packets, under its new ep. */
	f = hit(t, PORTS(1, 102), 0x23, false);
	assert_ptr_equal(f, c);
	assert_int_equal(f->state, ASSOC_CLOSED);
	assert_int_equal(f->target, ASSOC_NO_TARGET);
	miss(t, &c0, 0x23, false);
	/* INIT entries: retransmissions find them, their pending slot moved
	 * with them (a COOKIE ECHO before the learn gets the INIT's target). */
	assert_ptr_equal(assoc_find_init(t, PORTS(1, 101), 0x11), ia);
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 101), 0x12), ib);
	assert_null(assoc_find_init(t, &i0, 0x11));
	assert_int_equal(assoc_lookup(t, PORTS(1, 101), 0x9999, false, &f, &hint),
			 ASSOC_UNKNOWN_TAG);
	assert_int_equal(hint, 2);
	assert_int_equal(assoc_lookup(t, PORTS(0, 101), 0x9999, false, &f, &hint),
			 ASSOC_UNKNOWN_TAG);
	assert_int_equal(hint, 0);
	assert_ptr_equal(assoc_init(t, PORTS(1, 101), 0x11, &x1, 200, &ir), ia);
	assert_int_equal(ir, ASSOC_I_RETRANS);
	/* The path index moved too: an INIT from a path of A is a restart of A. */
	f = assoc_init(t, &a1, 0x77, &x2, 210, &ir);
	assert_non_null(f);
	assert_int_equal(ir, ASSOC_I_RESTART);
	assert_int_equal(f->replaces, 0x20);
	assert_int_equal(f->target, 0);
	/* And only under the new ep: B has no path x2, so no restart in ep 0. */
	f = assoc_init(t, &a0, 0x78, &x2, 220, &ir);
	assert_int_equal(ir, ASSOC_I_NEW);
	/* A learn completes a moved INIT entry under its new key. */
	f = assoc_learn(t, PORTS(0, 101), 0x12, 0x32, 0, NULL, 230, &(enum assoc_learn_res){ 0 });
	assert_ptr_equal(f, ib);
	assert_ptr_equal(hit(t, PORTS(0, 101), 0x32, false), ib);
	/* Renumbering back: everything where it was. */
	assoc_remap(t, (const uint32_t[]){ 1, 0 }, 2, NULL, 0, &res);
	assert_int_equal(res.removed, 0);
	assert_int_equal(res.retargeted + res.untargeted, 0);
	assert_ptr_equal(hit(t, &a0, 0x20, false), a);
	assert_ptr_equal(hit(t, &a1, 0x20, false), b);
	assert_ptr_equal(hit(t, &i1, 0x32, false), ib);
	assoc_table_free(t);
}

/* Identity maps change nothing; a NULL map is the identity. */
static void test_remap_identity(void **state)
{
	struct assoc_table *t = assoc_table_new(16, 0);
	struct assoc_remap_res res;
	struct assoc *a;

	(void)state;
	a = est(t, &P, 0x10, 0x20, "192.0.2.1", 1, 100);
	assoc_remap(t, (const uint32_t[]){ 0, 1 }, 2, (const uint32_t[]){ 0, 1 }, 2, &res);
	assert_int_equal(res.moved + res.removed + res.retargeted + res.untargeted, 0);
	assoc_remap(t, NULL, 0, NULL, 0, NULL);
	assert_ptr_equal(hit(t, &P, 0x20, false), a);
	assert_int_equal(a->target, 1);
	/* ASSOC_NO_TARGET stays, whatever the map. */
	a->target = ASSOC_NO_TARGET;
	assoc_remap(t, NULL, 0, (const uint32_t[]){ 3, 4 }, 2, &res);
	assert_int_equal(a->target, ASSOC_NO_TARGET);
	assert_int_equal(res.retargeted + res.untargeted, 0);
	/* An ep beyond the map is a VIPA that is gone. */
	assoc_remap(t, (const uint32_t[]){ 0 }, 1, NULL, 0, &res);
	assert_int_equal(res.removed, 1);
	assert_int_equal(assoc_count(t), 0);
	miss(t, &P, 0x20, false);
	assoc_table_free(t);
}

/* Entries of one client tag (a re-tag: the old association and the one
 * that replaces it) keep their order in the index: the T-bit lookup still
 * answers the newest, even when the pool holds the newer one first. */
static void test_remap_same_key_order(void **state)
{
	struct assoc_table *t = assoc_table_new(16, 0);
	struct assoc_ports p0 = *PORTS(0, 100), p1 = *PORTS(1, 100);
	enum assoc_learn_res lr;
	struct assoc *dummy, *e, *n;

	(void)state;
	dummy = est(t, &p0, 0x1, 0x2, "192.0.2.9", 1, 10);	/* slot 0 */
	e = est(t, &p0, 0x10, 0x20, "192.0.2.1", 1, 20);	/* slot 1 */
	assoc_remove(t, dummy);
	n = assoc_learn(t, &p0, 0x10, 0x21, 1, NULL, 30, &lr);	/* slot 0 again */
	assert_int_equal(lr, ASSOC_L_RETAG);
	assert_true(n < e);
	assert_ptr_equal(hit(t, &p0, 0x10, true), n);
	assoc_remap(t, (const uint32_t[]){ 1, 0 }, 2, NULL, 0, NULL);
	assert_ptr_equal(hit(t, &p1, 0x10, true), n);
	assert_ptr_equal(hit(t, &p1, 0x20, false), e);
	assert_ptr_equal(hit(t, &p1, 0x21, false), n);
	/* The client moves to the new tags: the old one goes, as before. */
	assert_true(assoc_seen(t, n, 0x21, NULL, 10, 40, NULL));
	miss(t, &p1, 0x20, false);
	assert_ptr_equal(hit(t, &p1, 0x10, true), n);
	assoc_table_free(t);
}

/* The age lists survive a remap: INIT entries are evicted oldest first
 * (their own order, not the pool's or the new eps'), then closed ones. */
static void test_remap_eviction_order(void **state)
{
	struct assoc_table *t = assoc_table_new(6, 3);
	struct ip_addr src = ip("192.0.2.1");
	struct assoc *i[3], *c[2], *e, *f;
	enum assoc_init_res ir;

	(void)state;
	/* INITs, oldest first, in eps 1, 0, 1; touched in another order. */
	i[0] = init_new(t, PORTS(1, 1), 0x101, "192.0.2.1", 0, 100);
	i[1] = init_new(t, PORTS(0, 2), 0x102, "192.0.2.1", 0, 110);
	i[2] = init_new(t, PORTS(1, 3), 0x103, "192.0.2.1", 0, 120);
	/* A retransmission makes i[0] the youngest: order 1, 2, 0. */
	assert_ptr_equal(assoc_init(t, PORTS(1, 1), 0x101, &src, 130, &ir), i[0]);
	/* Learned without an INIT entry: est() would evict one. */
	c[0] = assoc_learn(t, PORTS(0, 4), 0, 0x204, 0, NULL, 140, &(enum assoc_learn_res){ 0 });
	c[1] = assoc_learn(t, PORTS(1, 5), 0, 0x205, 0, NULL, 150, &(enum assoc_learn_res){ 0 });
	assoc_end(t, c[1], 160);	/* closed first: the oldest closed */
	assoc_end(t, c[0], 170);
	e = assoc_learn(t, PORTS(1, 6), 0, 0x206, 0, NULL, 180, &(enum assoc_learn_res){ 0 });
	assert_int_equal(assoc_count(t), 6);

	assoc_remap(t, (const uint32_t[]){ 1, 0 }, 2, NULL, 0, NULL);

	/* At the INIT cap a new INIT evicts i[1], then i[2], then i[0]. */
	assert_non_null(assoc_init(t, PORTS(0, 7), 0x107, &src, 200, &ir));
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_int_equal(assoc_counters(t)->evicted_init, 1);
	assert_null(assoc_find_init(t, PORTS(1, 2), 0x102));
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 3), 0x103), i[2]);
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 1), 0x101), i[0]);
	f = assoc_init(t, PORTS(0, 8), 0x108, &src, 210, &ir);
	assert_non_null(f);
	assert_null(assoc_find_init(t, PORTS(0, 3), 0x103));
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 1), 0x101), i[0]);
	/* The pool is full: a learn without an INIT takes the oldest closed
	 * one's room (c[1]), then c[0]'s; never e's. */
	assert_non_null(assoc_learn(t, PORTS(0, 9), 0, 0x209, 0, NULL, 220,
				    &(enum assoc_learn_res){ 0 }));
	assert_int_equal(assoc_counters(t)->evicted_closed, 1);
	miss(t, PORTS(0, 5), 0x205, false);
	assert_ptr_equal(hit(t, PORTS(1, 4), 0x204, false), c[0]);
	assert_non_null(assoc_learn(t, PORTS(0, 10), 0, 0x210, 0, NULL, 230,
				    &(enum assoc_learn_res){ 0 }));
	assert_int_equal(assoc_counters(t)->evicted_closed, 2);
	miss(t, PORTS(1, 4), 0x204, false);
	assert_ptr_equal(hit(t, PORTS(0, 6), 0x206, false), e);
	assoc_table_free(t);
}

/* --- random operations against the table's invariants --- */

struct shadow {
	bool est[5][256];	/* [cport][itag_t]: established associations we made */
};

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static void shadow_drop(struct shadow *sh, const struct assoc *a)
{
	if (a->state == ASSOC_EST && a->itag_t < 256)
		sh->est[a->p.cport][a->itag_t] = false;
}

static void drop_cb(const struct assoc *a, void *arg)
{
	shadow_drop(arg, a);
}

struct check_ctx {
	struct assoc_table *t;
	size_t n;
};

static void check_cb(const struct assoc *a, void *arg)
{
	struct check_ctx *x = arg;
	struct assoc *f;

	x->n++;
	assert_true(a->state >= ASSOC_INIT && a->state <= ASSOC_CLOSED);
	assert_true(a->n_paths <= ASSOC_PATHS);
	if (a->state != ASSOC_INIT) {
		assert_int_not_equal(a->itag_t, 0);
		assert_int_equal(assoc_lookup(x->t, &a->p, a->itag_t, false, &f, NULL), ASSOC_HIT);
		assert_ptr_equal(f, a);	/* one entry per (ports, itag_t) */
	} else {
		assert_int_equal(a->itag_t, 0);
		assert_int_not_equal(a->itag_c, 0);
		/* A pending INIT makes an unknown tag of its ports "unknown". */
		assert_int_equal(assoc_lookup(x->t, &a->p, 0xfffffff0u, false, &f, NULL),
				 ASSOC_UNKNOWN_TAG);
	}
	if (a->itag_c) {
		assert_int_equal(assoc_lookup(x->t, &a->p, a->itag_c, true, &f, NULL), ASSOC_HIT);
		assert_int_equal(f->itag_c, a->itag_c);
	}
}

static void check_all(struct assoc_table *t, const struct shadow *sh)
{
	struct check_ctx x = { .t = t };
	size_t pos = 0;

	while (pos < assoc_slots(t))
		pos = assoc_foreach_chunk(t, pos, 5, check_cb, &x);
	assert_int_equal(x.n, assoc_count(t));
	assert_int_equal(assoc_count(t), assoc_count_state(t, ASSOC_INIT) +
					 assoc_count_state(t, ASSOC_EST) +
					 assoc_count_state(t, ASSOC_CLOSED));
	assert_true(assoc_count(t) <= assoc_capacity(t));
	assert_true(assoc_count_state(t, ASSOC_INIT) <= assoc_init_cap(t));
	/* No established association is lost but by our own doing. */
	for (uint16_t c = 1; c < 5; c++)
		for (uint32_t tag = 1; tag < 256; tag++) {
			struct assoc_ports p = { .ep = 1, .cport = c, .vport = 1 };
			struct assoc *f;

			if (!sh->est[c][tag])
				continue;
			assert_int_equal(assoc_lookup(t, &p, tag, false, &f, NULL), ASSOC_HIT);
			assert_int_equal(f->state, ASSOC_EST);
		}
}

static void test_random_ops(void **state)
{
	static const char *const addrs[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4" };
	const struct assoc_timeouts to = { .init_s = 2, .est_s = 30, .closed_s = 1 };
	struct assoc_table *t = assoc_table_new(16, 4);
	struct shadow *sh = calloc(1, sizeof(*sh));
	uint64_t s = 0x9e3779b97f4a7c15ULL, now = 1000;

	(void)state;
	assert_non_null(sh);
	for (int i = 0; i < 20000; i++) {
		struct assoc_ports p = { .ep = 1, .cport = (uint16_t)(1 + rnd(&s) % 4), .vport = 1 };
		struct ip_addr src = ip(addrs[rnd(&s) % 4]);
		uint32_t ctag = 1 + rnd(&s) % 12, ttag = 101 + rnd(&s) % 12;
		enum assoc_init_res ir;
		enum assoc_learn_res lr;
		struct assoc *a, old;

		now += rnd(&s) % 300;
		switch (rnd(&s) % 8) {
		case 0:
		case 1:
			a = assoc_init(t, &p, ctag, &src, now, &ir);
			assert_true((a != NULL) == (ir != ASSOC_I_FULL));
			if (ir == ASSOC_I_NEW)
				a->target = rnd(&s) % 3;
			break;
		case 2:
			a = assoc_learn(t, &p, rnd(&s) % 4 ? ctag : 0, ttag,
					rnd(&s) % 4 ? rnd(&s) % 3 : ASSOC_NO_TARGET,
					rnd(&s) % 2 ? &src : NULL, now, &lr);
			if (a) {
				assert_int_equal(a->itag_t, ttag);
				if (a->state == ASSOC_EST)
					sh->est[p.cport][ttag] = true;
			}
			break;
		case 3:
		case 4: {
			bool tbit = rnd(&s) % 4 == 0;
			uint32_t v = tbit ? ctag : ttag;

			if (assoc_lookup(t, &p, v, tbit, &a, NULL) == ASSOC_HIT &&
			    assoc_seen(t, a, v, &src, 100, now, &old)) {
				assert_int_equal(old.p.cport, p.cport);
				shadow_drop(sh, &old);
			}
			break;
		}
		case 5:
			if (assoc_lookup(t, &p, ttag, false, &a, NULL) == ASSOC_HIT) {
				shadow_drop(sh, a);
				if (rnd(&s) % 2)
					assoc_end(t, a, now);
				else
					assoc_remove(t, a);
			}
			break;
		default:
			assoc_expire(t, now, &to, 3, drop_cb, sh);
			break;
		}
		check_all(t, sh);
	}
	assoc_table_free(t);
	free(sh);
}

/* Random operations over three VIPAs, and now and then a reload that
 * permutes them or drops one: every established association we made is
 * found under its VIPA's new index, every entry by each of its keys. */
struct shadow3 {
	bool est[3][5][256];	/* [ep][cport][itag_t] */
};

static void shadow3_drop(struct shadow3 *sh, const struct assoc *a)
{
	if (a->state == ASSOC_EST && a->itag_t < 256 && a->p.ep < 3)
		sh->est[a->p.ep][a->p.cport][a->itag_t] = false;
}

static void drop3_cb(const struct assoc *a, void *arg)
{
	shadow3_drop(arg, a);
}

static void check3(struct assoc_table *t, const struct shadow3 *sh)
{
	struct check_ctx x = { .t = t };
	size_t pos = 0;

	while (pos < assoc_slots(t))
		pos = assoc_foreach_chunk(t, pos, 7, check_cb, &x);
	assert_int_equal(x.n, assoc_count(t));
	assert_int_equal(assoc_count(t), assoc_count_state(t, ASSOC_INIT) +
					 assoc_count_state(t, ASSOC_EST) +
					 assoc_count_state(t, ASSOC_CLOSED));
	assert_true(assoc_count_state(t, ASSOC_INIT) <= assoc_init_cap(t));
	for (uint32_t ep = 0; ep < 3; ep++)
		for (uint16_t c = 1; c < 5; c++)
			for (uint32_t tag = 1; tag < 256; tag++) {
				struct assoc *f;

				if (!sh->est[ep][c][tag])
					continue;
				assert_int_equal(assoc_lookup(t, PORTS(ep, c), tag, false, &f, NULL),
						 ASSOC_HIT);
				assert_int_equal(f->state, ASSOC_EST);
				assert_int_equal(f->p.ep, ep);
			}
}

static void test_remap_random(void **state)
{
	static const char *const addrs[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3" };
	const struct assoc_timeouts to = { .init_s = 2, .est_s = 30, .closed_s = 1 };
	struct assoc_table *t = assoc_table_new(32, 8);
	struct shadow3 *sh = calloc(1, sizeof(*sh)), *nsh = calloc(1, sizeof(*nsh));
	uint64_t s = 0x1234567887654321ULL, now = 1000;
	size_t remaps = 0, moved = 0;

	(void)state;
	assert_non_null(sh);
	assert_non_null(nsh);
	for (int i = 0; i < 20000; i++) {
		struct assoc_ports p = { .ep = rnd(&s) % 3, .cport = (uint16_t)(1 + rnd(&s) % 4),
					 .vport = 3868 };
		struct ip_addr src = ip(addrs[rnd(&s) % 3]);
		uint32_t ctag = 1 + rnd(&s) % 10, ttag = 101 + rnd(&s) % 10;
		enum assoc_init_res ir;
		enum assoc_learn_res lr;
		struct assoc *a, old;

		now += rnd(&s) % 300;
		switch (rnd(&s) % 9) {
		case 0:
		case 1:
			a = assoc_init(t, &p, ctag, &src, now, &ir);
			if (ir == ASSOC_I_NEW)
				a->target = rnd(&s) % 3;
			break;
		case 2:
			a = assoc_learn(t, &p, rnd(&s) % 4 ? ctag : 0, ttag, rnd(&s) % 3,
					rnd(&s) % 2 ? &src : NULL, now, &lr);
			if (a && a->state == ASSOC_EST)
				sh->est[p.ep][p.cport][ttag] = true;
			break;
		case 3:
		case 4: {
			bool tbit = rnd(&s) % 4 == 0;
			uint32_t v = tbit ? ctag : ttag;

			if (assoc_lookup(t, &p, v, tbit, &a, NULL) == ASSOC_HIT &&
			    assoc_seen(t, a, v, &src, 100, now, &old))
				shadow3_drop(sh, &old);
			break;
		}
		case 5:
			if (assoc_lookup(t, &p, ttag, false, &a, NULL) == ASSOC_HIT) {
				shadow3_drop(sh, a);
				assoc_end(t, a, now);
			}
			break;
		case 6:
			assoc_expire(t, now, &to, 3, drop3_cb, sh);
			break;
		default: {
			/* A reload: a random permutation, one VIPA gone now and then. */
			uint32_t map[3] = { 0, 1, 2 }, nodes[3];
			struct assoc_remap_res res;

			for (uint32_t k = 2; k > 0; k--) {
				uint32_t j = rnd(&s) % (k + 1), x = map[k];

				map[k] = map[j];
				map[j] = x;
			}
			if (rnd(&s) % 5 == 0)
				map[rnd(&s) % 3] = UINT32_MAX;
			for (uint32_t k = 0; k < 3; k++)
				nodes[k] = (k + 1) % 3;
			memset(nsh, 0, sizeof(*nsh));
			for (uint32_t e = 0; e < 3; e++)
				if (map[e] != UINT32_MAX)
					memcpy(nsh->est[map[e]], sh->est[e], sizeof(sh->est[e]));
			memcpy(sh, nsh, sizeof(*sh));
			assoc_remap(t, map, 3, nodes, 3, &res);
			remaps++;
			moved += res.moved;
			break;
		}
		}
		check3(t, sh);
	}
	assert_true(remaps > 1000);
	assert_true(moved > 1000);
	assoc_table_free(t);
	free(sh);
	free(nsh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_life),
		cmocka_unit_test(test_two_clients_same_ports),
		cmocka_unit_test(test_init_flood),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_forged_restart),
		cmocka_unit_test(test_collision),
		cmocka_unit_test(test_tbit_abort),
		cmocka_unit_test(test_learn_cases),
		cmocka_unit_test(test_expiry_budget),
		cmocka_unit_test(test_iterate_chunks),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_remap_swap),
		cmocka_unit_test(test_remap_identity),
		cmocka_unit_test(test_remap_same_key_order),
		cmocka_unit_test(test_remap_eviction_order),
		cmocka_unit_test(test_remap_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
