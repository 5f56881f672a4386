/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/assoc: the life of one association, clients sharing
 * ports, INIT floods, restart, collision, T-bit ABORT, budgeted expiry,
 * iteration and keyed hashing, reload renumbering, and the unconfirmed
 * class that keeps a spoofed INIT flood's learns evictable (issue 13). */
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

#define PORTS(e, c) (&(struct assoc_ports){ .ep = (e), .cport = (c), .vport = 3868 })

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

/* An association the client has: INIT, the target's tag, then confirmed
 * (as its COOKIE ECHO would, without counting a packet). */
static struct assoc *est(struct assoc_table *t, const struct assoc_ports *p, uint32_t itag_c,
			 uint32_t itag_t, const char *src, uint32_t target, uint64_t now)
{
	enum assoc_learn_res r;
	struct assoc *e;

	init_new(t, p, itag_c, src, target, now);
	e = assoc_learn(t, p, itag_c, itag_t, target, NULL, now, &r);
	assert_non_null(e);
	assert_int_equal(r, ASSOC_L_EST);
	assert_false(e->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_confirm(t, e), 1);
	assert_true(e->flags & ASSOC_F_CONFIRMED);
	return e;
}

/* A learn without an INIT entry, confirmed by a peer's record. */
static struct assoc *learn_confirmed(struct assoc_table *t, const struct assoc_ports *p,
				     uint32_t itag_c, uint32_t itag_t, uint32_t target,
				     uint64_t now)
{
	enum assoc_learn_res r;
	struct assoc *e = assoc_learn(t, p, itag_c, itag_t, target, NULL, now, &r);

	assert_non_null(e);
	assert_int_equal(r, ASSOC_L_CREATED);
	assert_int_equal(assoc_confirm(t, e), 1);
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
	/* Fill the pool with confirmed associations learned without their
	 * INIT (a peer's records): each takes a pending entry's room once the
	 * pool is full. */
	for (uint32_t i = 0; i < 54; i++) {
		struct assoc_ports p = { .ep = 2, .cport = (uint16_t)(4000 + i), .vport = 2905 };

		learn_confirmed(t, &p, 0x300 + i, 0x400 + i, 7, 2000);
	}
	assert_int_equal(assoc_count(t), 64);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 64);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
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

/* --- issue 13: a spoofed INIT flood must not fill the table for good --- */

/* The target's stack answers every INIT, so each spoofed INIT brings its
 * learn: the entries it makes are unconfirmed, pending like INITs, capped
 * and evicted oldest first; confirmed ones are never touched, and a new
 * client still gets in after the flood. */
static void test_learn_flood(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 16);
	struct ip_addr src = ip("198.51.100.7");
	struct assoc *e[10], *a, *legit;
	enum assoc_init_res ir;
	enum assoc_learn_res lr;
	uint32_t x = 777;
	uint64_t now = 1000;

	(void)state;
	for (uint32_t i = 0; i < 10; i++)
		e[i] = est(t, PORTS(1, (uint16_t)(3000 + i)), 0x100 + i, 0x200 + i, "192.0.2.1",
			   i, 10);
	/* On the distributor that routes the INITs: INIT, then its learn. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct assoc_ports p = *PORTS(1, (uint16_t)(5000 + i % 3000));
		uint32_t ctag, ttag;

		x = x * 1103515245u + 12345u;
		ctag = x | 1;
		x = x * 1103515245u + 12345u;
		ttag = x | 1;
		a = assoc_init(t, &p, ctag, &src, ++now, &ir);
		assert_non_null(a);
		assert_int_equal(ir, ASSOC_I_NEW);
		a->target = 1;
		assert_ptr_equal(assoc_learn(t, &p, ctag, ttag, 1, &src, ++now, &lr), a);
		assert_int_equal(lr, ASSOC_L_EST);
		assert_false(a->flags & ASSOC_F_CONFIRMED);
		/* It routes like any established association. */
		assert_ptr_equal(hit(t, &p, ttag, false), a);
		assert_true(assoc_count_state(t, ASSOC_INIT) + assoc_count_unconfirmed(t) <= 16);
	}
	/* On the other distributors: learns without an INIT. */
	for (uint32_t i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		a = assoc_learn(t, PORTS(2, (uint16_t)(5000 + i)), 0x9000 + i, x | 1, 1, &src, ++now,
				&lr);
		assert_non_null(a);
		assert_int_equal(lr, ASSOC_L_CREATED);
		assert_true(assoc_count_unconfirmed(t) <= 16);
	}
	assert_int_equal(assoc_count_unconfirmed(t), 16);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 0);
	assert_int_equal(assoc_count(t), 10 + 16);
	assert_int_equal(assoc_counters(t)->evicted_unconfirmed, 2000 - 16);
	assert_int_equal(assoc_counters(t)->full, 0);
	/* The oldest went: the newest 16 learns are the ones left. */
	assert_non_null(assoc_find_init(t, PORTS(2, 5999), 0x9000 + 999));
	assert_null(assoc_find_init(t, PORTS(2, 5983), 0x9000 + 983));
	assert_non_null(assoc_find_init(t, PORTS(2, 5984), 0x9000 + 984));
	for (uint32_t i = 0; i < 10; i++) {
		assert_ptr_equal(hit(t, PORTS(1, (uint16_t)(3000 + i)), 0x200 + i, false), e[i]);
		assert_true(e[i]->flags & ASSOC_F_CONFIRMED);
	}
	/* A real client: its COOKIE ECHO (the target's tag) confirms it, and
	 * the flood goes on without it. */
	legit = init_new(t, PORTS(1, 4000), 0xc0ffee, "203.0.113.5", 2, ++now);
	assert_ptr_equal(assoc_learn(t, PORTS(1, 4000), 0xc0ffee, 0xbeef, 2, NULL, ++now, &lr),
			 legit);
	assert_false(assoc_seen(t, legit, 0xbeef, &src, 100, ++now, NULL));
	assert_true(legit->flags & ASSOC_F_CONFIRMED);
	for (uint32_t i = 0; i < 100; i++)
		assert_non_null(assoc_learn(t, PORTS(3, (uint16_t)(5000 + i)), 0x7000 + i, 0x8000 + i,
					    1, NULL, ++now, &lr));
	assert_ptr_equal(hit(t, PORTS(1, 4000), 0xbeef, false), legit);
	/* Fill the pool with confirmed associations: the flood's entries
	 * make room; new INITs and learns still get in, each evicting the
	 * oldest pending entry, never a confirmed one. */
	for (uint32_t i = 0; assoc_count(t) - assoc_count_unconfirmed(t) < 64; i++)
		learn_confirmed(t, PORTS(4, (uint16_t)(100 + i)), 0x5000 + i, 0x6000 + i, 1, ++now);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
	assert_null(assoc_init(t, PORTS(1, 4001), 0x4242, &src, ++now, &ir));
	assert_int_equal(ir, ASSOC_I_FULL);
	assert_int_equal(assoc_counters(t)->full, 1);
	assoc_table_free(t);
}

/* Only the target's tag confirms: an INIT (tag 0), a packet with the
 * client's own tag (T bit) or any other tag does not. */
static void test_confirm_by_tag(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr c = ip("192.0.2.1");
	enum assoc_learn_res lr;
	enum assoc_init_res ir;
	struct assoc *a, *b, *n, gone;

	(void)state;
	a = init_new(t, &P, 0xc1, "192.0.2.1", 1, 100);
	assert_false(assoc_seen(t, a, 0, &c, 10, 110, NULL));	/* the INIT itself */
	assert_false(a->flags & ASSOC_F_CONFIRMED);
	assert_ptr_equal(assoc_learn(t, &P, 0xc1, 0x71, 1, NULL, 120, &lr), a);
	assert_int_equal(assoc_count_unconfirmed(t), 1);
	assert_ptr_equal(assoc_init(t, &P, 0xc1, &c, 130, &ir), a);	/* retransmitted */
	assert_int_equal(ir, ASSOC_I_RETRANS);
	assert_false(assoc_seen(t, a, 0, &c, 10, 130, NULL));
	assert_false(assoc_seen(t, hit(t, &P, 0xc1, true), 0xc1, &c, 10, 140, NULL));
	assert_false(assoc_seen(t, a, 0x72, &c, 10, 150, NULL));
	assert_false(a->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 1);
	assert_int_equal(assoc_counters(t)->confirmed, 0);
	/* The COOKIE ECHO. */
	assert_false(assoc_seen(t, hit(t, &P, 0x71, false), 0x71, &c, 10, 160, NULL));
	assert_true(a->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
	assert_int_equal(assoc_counters(t)->confirmed, 1);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 1);
	/* Once: later packets count nothing more. */
	assert_false(assoc_seen(t, a, 0x71, &c, 10, 170, NULL));
	assert_int_equal(assoc_counters(t)->confirmed, 1);
	/* A learn again (DUP) leaves it confirmed. */
	assert_ptr_equal(assoc_learn(t, &P, 0xc1, 0x71, 1, NULL, 180, &lr), a);
	assert_int_equal(lr, ASSOC_L_DUP);
	assert_true(a->flags & ASSOC_F_CONFIRMED);
	/* A re-tag (the target answered an INIT again) is unconfirmed until
	 * the client uses its tag, which also ends the old one. */
	b = assoc_learn(t, &P, 0xc1, 0x73, 1, NULL, 190, &lr);
	assert_int_equal(lr, ASSOC_L_RETAG);
	assert_false(b->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 1);
	assert_true(assoc_seen(t, b, 0x73, &c, 10, 200, &gone));
	assert_true(b->flags & ASSOC_F_CONFIRMED);
	assert_true(gone.flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
	/* The target began one (itag_c 0): the client's INIT ACK carries
	 * the target's tag and confirms it. */
	n = assoc_learn(t, PORTS(1, 7), 0, 0x7a, 2, &c, 210, &lr);
	assert_int_equal(lr, ASSOC_L_CREATED);
	assert_false(n->flags & ASSOC_F_CONFIRMED);
	assert_false(assoc_seen(t, n, 0x7a, &c, 10, 220, NULL));
	assert_true(n->flags & ASSOC_F_CONFIRMED);
	assoc_table_free(t);
}

/* Unconfirmed entries expire after init_s, confirmed ones after est_s. */
static void test_unconfirmed_expiry(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct ip_addr c = ip("192.0.2.1");
	struct assoc *u, *v, *k;
	struct exp_ctx x = { 0 };

	(void)state;
	k = est(t, PORTS(1, 1), 0x11, 0x21, "192.0.2.1", 1, 1000);
	u = assoc_learn(t, PORTS(1, 2), 0x12, 0x22, 1, NULL, 1000, &(enum assoc_learn_res){ 0 });
	v = assoc_learn(t, PORTS(1, 3), 0x13, 0x23, 1, NULL, 1000, &(enum assoc_learn_res){ 0 });
	assert_non_null(u);
	assert_non_null(v);
	/* A packet that does not confirm still counts as activity. */
	assert_false(assoc_seen(t, v, 0x13, &c, 10, 3000, NULL));
	assert_false(v->flags & ASSOC_F_CONFIRMED);
	/* init_s = 5: u idle 5 s is kept, 5.001 s is gone. */
	assert_int_equal(assoc_expire(t, 1000 + 5000, &TO, assoc_slots(t), NULL, NULL), 0);
	assert_int_equal(assoc_expire(t, 1000 + 5001, &TO, assoc_slots(t), exp_cb, &x), 1);
	assert_int_equal(x.last_tag, 0x22);
	miss(t, PORTS(1, 2), 0x22, false);
	assert_int_equal(assoc_expire(t, 3000 + 5001, &TO, assoc_slots(t), exp_cb, &x), 1);
	assert_int_equal(x.last_tag, 0x23);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
	/* The confirmed one waits est_s (300 s). */
	assert_ptr_equal(hit(t, PORTS(1, 1), 0x21, false), k);
	assert_int_equal(assoc_expire(t, 1000 + 300000, &TO, assoc_slots(t), NULL, NULL), 0);
	assert_int_equal(assoc_expire(t, 1000 + 300001, &TO, assoc_slots(t), NULL, NULL), 1);
	assert_int_equal(assoc_count(t), 0);
	assoc_table_free(t);
}

/* A peer's record confirms (assoc_confirm): the entry leaves the pending
 * class as a COOKIE ECHO would make it, without counting a packet. */
static void test_assoc_confirm(void **state)
{
	struct assoc_table *t = assoc_table_new(8, 2);
	struct ip_addr c = ip("192.0.2.1");
	struct assoc *a, *b, *i, *cl, copy;
	enum assoc_init_res ir;

	(void)state;
	assert_int_equal(assoc_confirm(t, NULL), -EINVAL);
	a = assoc_learn(t, PORTS(1, 1), 0x11, 0x21, 1, &c, 100, &(enum assoc_learn_res){ 0 });
	b = assoc_learn(t, PORTS(1, 2), 0x12, 0x22, 1, &c, 110, &(enum assoc_learn_res){ 0 });
	assert_int_equal(assoc_count_unconfirmed(t), 2);
	assert_int_equal(assoc_confirm(t, a), 1);
	assert_true(a->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(a->packets, 0);
	assert_int_equal(a->last_ms, 100);
	assert_int_equal(assoc_confirm(t, a), 0);
	assert_int_equal(assoc_count_unconfirmed(t), 1);
	assert_int_equal(assoc_counters(t)->confirmed, 1);
	/* An INIT entry has no tag to confirm. */
	i = init_new(t, PORTS(1, 3), 0x13, "192.0.2.1", 1, 120);
	assert_int_equal(assoc_confirm(t, i), -EINVAL);
	assert_int_equal(i->state, ASSOC_INIT);
	/* At the cap (2 pending: b, i), INITs evict b then i, never a. */
	assert_non_null(assoc_init(t, PORTS(1, 4), 0x14, &c, 130, &ir));
	assert_int_equal(assoc_counters(t)->evicted_unconfirmed, 1);
	miss(t, PORTS(1, 2), 0x22, false);
	assert_non_null(assoc_init(t, PORTS(1, 5), 0x15, &c, 140, &ir));
	assert_int_equal(assoc_counters(t)->evicted_init, 1);
	assert_null(assoc_find_init(t, PORTS(1, 3), 0x13));
	assert_ptr_equal(hit(t, PORTS(1, 1), 0x21, false), a);
	/* A closed entry takes the flag only (a record of a closed,
	 * confirmed association); it stays closed and evictable. */
	cl = assoc_learn(t, PORTS(1, 6), 0x16, 0x26, 1, &c, 150, &(enum assoc_learn_res){ 0 });
	assoc_end(t, cl, 160);
	assert_int_equal(assoc_confirm(t, cl), 1);
	assert_int_equal(assoc_confirm(t, cl), 0);
	assert_int_equal(cl->state, ASSOC_CLOSED);
	assert_int_equal(assoc_count_state(t, ASSOC_CLOSED), 1);
	assert_int_equal(assoc_expire(t, 160 + 2001, &TO, assoc_slots(t), NULL, NULL), 1);
	/* Not an entry of the table (a copy, a removed one): refused. */
	copy = *a;
	assert_int_equal(assoc_confirm(t, &copy), -EINVAL);
	assoc_remove(t, b);	/* already evicted: ignored */
	i = assoc_learn(t, PORTS(1, 7), 0x17, 0x27, 1, &c, 170, &(enum assoc_learn_res){ 0 });
	assoc_remove(t, i);
	assert_int_equal(assoc_confirm(t, i), -EINVAL);
	assoc_table_free(t);
}

/* The entry a restart INIT or a re-tag learn refers to may be unconfirmed,
 * hence the oldest pending one that their new entry evicts: what it was
 * is read before, and the answer says what is left. */
static void test_evicted_referent(void **state)
{
	struct assoc_table *t = assoc_table_new(8, 2);
	struct ip_addr c = ip("192.0.2.1");
	enum assoc_learn_res lr;
	enum assoc_init_res ir;
	struct assoc *u, *v, *n;

	(void)state;
	/* u (unconfirmed, seen from c) is the oldest pending of two. */
	u = assoc_learn(t, PORTS(1, 1), 0x11, 0x21, 4, &c, 100, &lr);
	v = assoc_learn(t, PORTS(1, 2), 0x12, 0x22, 5, &c, 110, &lr);
	assert_non_null(u);
	assert_non_null(v);
	/* An INIT from u's address and ports would restart u, but its entry
	 * takes u's room: a new association, not a restart of nothing. */
	n = assoc_init(t, PORTS(1, 1), 0x13, &c, 120, &ir);
	assert_non_null(n);
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_int_equal(n->target, ASSOC_NO_TARGET);
	assert_int_equal(n->replaces, 0);
	assert_false(n->flags & ASSOC_F_RESTART);
	miss(t, PORTS(1, 1), 0x11, true);
	assert_int_equal(assoc_lookup(t, PORTS(1, 1), 0x21, false, &u, NULL), ASSOC_UNKNOWN_TAG);
	assert_int_equal(assoc_counters(t)->evicted_unconfirmed, 1);
	/* v is now the oldest pending: a re-tag of v evicts it, and keeps its
	 * target (the record named none). */
	n = assoc_learn(t, PORTS(1, 2), 0x12, 0x23, ASSOC_NO_TARGET, NULL, 130, &lr);
	assert_non_null(n);
	assert_int_equal(lr, ASSOC_L_CREATED);
	assert_int_equal(n->target, 5);
	assert_int_equal(n->replaces, 0);
	assert_int_equal(n->itag_t, 0x23);
	assert_int_equal(n->itag_c, 0x12);
	miss(t, PORTS(1, 2), 0x22, false);
	assert_ptr_equal(hit(t, PORTS(1, 2), 0x12, true), n);
	/* Confirmed, the same re-tag keeps both, the old one routing. */
	assert_int_equal(assoc_confirm(t, n), 1);
	v = assoc_learn(t, PORTS(1, 2), 0x12, 0x24, ASSOC_NO_TARGET, NULL, 140, &lr);
	assert_int_equal(lr, ASSOC_L_RETAG);
	assert_int_equal(v->target, 5);
	assert_int_equal(v->replaces, 0x23);
	assert_ptr_equal(hit(t, PORTS(1, 2), 0x23, false), n);
	assoc_table_free(t);
}

/* The COOKIE ECHO overtook the target's report and went by the INIT's
 * hint: the learn of that very tag confirms at once; another tag does
 * not. */
static void test_hinted(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	enum assoc_learn_res lr;
	struct assoc *a, *b, *x;
	uint32_t hint;

	(void)state;
	assoc_hinted(t, &P, 0x71);	/* nothing waits: no-op */
	a = init_new(t, &P, 0xc1, "192.0.2.1", 3, 100);
	assert_int_equal(assoc_lookup(t, &P, 0x71, false, &x, &hint), ASSOC_UNKNOWN_TAG);
	assert_int_equal(hint, 3);
	assoc_hinted(t, &P, 0x71);
	assoc_hinted(t, &P, 0);		/* ignored */
	assert_ptr_equal(assoc_learn(t, &P, 0xc1, 0x71, 3, NULL, 120, &lr), a);
	assert_int_equal(lr, ASSOC_L_EST);
	assert_true(a->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 0);
	assert_int_equal(assoc_counters(t)->confirmed, 1);
	/* A guessed tag (a spoofer's packet after its INIT) confirms nothing. */
	b = init_new(t, PORTS(1, 9), 0xc2, "192.0.2.1", 3, 130);
	assoc_hinted(t, PORTS(1, 9), 0x1234);
	assoc_hinted(t, PORTS(1, 8), 0x72);	/* other ports */
	assert_ptr_equal(assoc_learn(t, PORTS(1, 9), 0xc2, 0x72, 3, NULL, 140, &lr), b);
	assert_false(b->flags & ASSOC_F_CONFIRMED);
	assert_int_equal(assoc_count_unconfirmed(t), 1);
	assoc_table_free(t);
}

/* A remap keeps each entry's class: the pending list (INIT and unconfirmed
 * entries, oldest first) and the confirmed ones, their flags, timeouts and
 * confirmation by the target's tag under the new ep. */
static void test_remap_class(void **state)
{
	struct assoc_table *t = assoc_table_new(16, 4);
	struct ip_addr c = ip("192.0.2.1");
	struct assoc *k0, *k1, *u0, *i0, *u1, *i1;
	enum assoc_init_res ir;
	struct assoc_remap_res res;

	(void)state;
	k0 = est(t, PORTS(0, 1), 0x11, 0x21, "192.0.2.1", 1, 100);
	k1 = est(t, PORTS(1, 2), 0x12, 0x22, "192.0.2.1", 2, 100);
	/* Pending, oldest first: u0, i0, u1, i1. */
	u0 = assoc_learn(t, PORTS(0, 3), 0x13, 0x23, 1, &c, 110, &(enum assoc_learn_res){ 0 });
	i0 = init_new(t, PORTS(1, 4), 0x14, "192.0.2.1", 1, 120);
	u1 = assoc_learn(t, PORTS(1, 5), 0x15, 0x25, 2, &c, 130, &(enum assoc_learn_res){ 0 });
	i1 = init_new(t, PORTS(0, 6), 0x16, "192.0.2.1", 2, 140);
	assert_int_equal(assoc_count_unconfirmed(t), 2);
	assert_int_equal(i0->state, ASSOC_INIT);

	assoc_remap(t, (const uint32_t[]){ 1, 0 }, 2, (const uint32_t[]){ 0, 2, 1 }, 3, &res);
	assert_int_equal(res.moved, 6);
	assert_int_equal(assoc_count_unconfirmed(t), 2);
	assert_int_equal(assoc_count_state(t, ASSOC_INIT), 2);
	assert_int_equal(assoc_count_state(t, ASSOC_EST), 4);
	assert_true(k0->flags & ASSOC_F_CONFIRMED);
	assert_true(k1->flags & ASSOC_F_CONFIRMED);
	assert_false(u0->flags & ASSOC_F_CONFIRMED);
	assert_false(u1->flags & ASSOC_F_CONFIRMED);
	assert_ptr_equal(hit(t, PORTS(1, 3), 0x23, false), u0);
	assert_ptr_equal(hit(t, PORTS(0, 5), 0x25, false), u1);
	assert_int_equal(u1->target, 1);
	/* The pending order survived: new INITs at the cap evict u0, i0. */
	assert_non_null(assoc_init(t, PORTS(0, 7), 0x17, &c, 200, &ir));
	assert_int_equal(assoc_counters(t)->evicted_unconfirmed, 1);
	miss(t, PORTS(1, 3), 0x23, false);
	assert_non_null(assoc_init(t, PORTS(0, 8), 0x18, &c, 210, &ir));
	assert_int_equal(assoc_counters(t)->evicted_init, 1);
	assert_null(assoc_find_init(t, PORTS(0, 4), 0x14));
	assert_ptr_equal(assoc_find_init(t, PORTS(1, 6), 0x16), i1);
	/* u1 is confirmed by its tag under its new ep, then no longer
	 * evictable: the next INITs take i1 and the newer INITs. */
	assert_false(assoc_seen(t, hit(t, PORTS(0, 5), 0x25, false), 0x25, &c, 10, 220, NULL));
	assert_true(u1->flags & ASSOC_F_CONFIRMED);
	for (uint32_t n = 0; n < 8; n++)
		assert_non_null(assoc_init(t, PORTS(0, (uint16_t)(20 + n)), 0x30 + n, &c, 230 + n,
					   &ir));
	assert_ptr_equal(hit(t, PORTS(0, 5), 0x25, false), u1);
	assert_ptr_equal(hit(t, PORTS(1, 1), 0x21, false), k0);
	assert_ptr_equal(hit(t, PORTS(0, 2), 0x22, false), k1);
	assert_null(assoc_find_init(t, PORTS(1, 6), 0x16));
	/* Timeouts by class: the pending ones go at init_s, not the others. */
	assert_int_equal(assoc_expire(t, 240 + 5001, &TO, assoc_slots(t), NULL, NULL), 4);
	assert_int_equal(assoc_count(t), 3);
	assoc_table_free(t);
}

/* --- a reload renumbering VIPAs (ep) and nodes (target) --- */

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
 * (their own order, not the pool's or the new eps'), then closed ones.
 * (Adjusted for issue 13's flood fix: the established entries are made
 * confirmed and before the INITs, since a learn now makes a pending entry
 * that counts against the cap; the last step confirms the two new INITs'
 * learns so that the cap is not what evicts.) */
static void test_remap_eviction_order(void **state)
{
	struct assoc_table *t = assoc_table_new(6, 3);
	struct ip_addr src = ip("192.0.2.1");
	struct assoc *i[3], *c[2], *e, *f, *g;
	enum assoc_init_res ir;

	(void)state;
	/* Confirmed associations learned without an INIT entry. */
	c[0] = learn_confirmed(t, PORTS(0, 4), 0, 0x204, 0, 90);
	c[1] = learn_confirmed(t, PORTS(1, 5), 0, 0x205, 0, 91);
	e = learn_confirmed(t, PORTS(1, 6), 0, 0x206, 0, 92);
	assoc_end(t, c[1], 93);	/* closed first: the oldest closed */
	assoc_end(t, c[0], 94);
	/* INITs, oldest first, in eps 1, 0, 1; touched in another order. */
	i[0] = init_new(t, PORTS(1, 1), 0x101, "192.0.2.1", 0, 100);
	i[1] = init_new(t, PORTS(0, 2), 0x102, "192.0.2.1", 0, 110);
	i[2] = init_new(t, PORTS(1, 3), 0x103, "192.0.2.1", 0, 120);
	/* A retransmission makes i[0] the youngest: order 1, 2, 0. */
	assert_ptr_equal(assoc_init(t, PORTS(1, 1), 0x101, &src, 130, &ir), i[0]);
	assert_int_equal(assoc_count(t), 6);

	assoc_remap(t, (const uint32_t[]){ 1, 0 }, 2, NULL, 0, NULL);

	/* At the INIT cap a new INIT evicts i[1], then i[2], then i[0]. */
	g = assoc_init(t, PORTS(0, 7), 0x107, &src, 200, &ir);
	assert_non_null(g);
	assert_int_equal(ir, ASSOC_I_NEW);
	assert_int_equal(assoc_counters(t)->evicted_init, 1);
	assert_null(assoc_find_init(t, PORTS(1, 2), 0x102));
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 3), 0x103), i[2]);
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 1), 0x101), i[0]);
	f = assoc_init(t, PORTS(0, 8), 0x108, &src, 210, &ir);
	assert_non_null(f);
	assert_null(assoc_find_init(t, PORTS(0, 3), 0x103));
	assert_ptr_equal(assoc_find_init(t, PORTS(0, 1), 0x101), i[0]);
	/* The two new ones become confirmed associations: one pending entry
	 * (i[0]) is left, below the cap. */
	assert_ptr_equal(assoc_learn(t, PORTS(0, 7), 0x107, 0x307, 0, NULL, 215,
				     &(enum assoc_learn_res){ 0 }), g);
	assert_ptr_equal(assoc_learn(t, PORTS(0, 8), 0x108, 0x308, 0, NULL, 215,
				     &(enum assoc_learn_res){ 0 }), f);
	assert_int_equal(assoc_confirm(t, g), 1);
	assert_int_equal(assoc_confirm(t, f), 1);
	/* The pool is full: a learn without an INIT takes the oldest closed
	 * one's room (c[1]), then c[0]'s, then the pending i[0]'s; never e's. */
	learn_confirmed(t, PORTS(0, 9), 0, 0x209, 0, 220);
	assert_int_equal(assoc_counters(t)->evicted_closed, 1);
	miss(t, PORTS(0, 5), 0x205, false);
	assert_ptr_equal(hit(t, PORTS(1, 4), 0x204, false), c[0]);
	learn_confirmed(t, PORTS(0, 10), 0, 0x210, 0, 230);
	assert_int_equal(assoc_counters(t)->evicted_closed, 2);
	miss(t, PORTS(1, 4), 0x204, false);
	learn_confirmed(t, PORTS(0, 11), 0, 0x211, 0, 240);
	assert_int_equal(assoc_counters(t)->evicted_init, 3);
	assert_null(assoc_find_init(t, PORTS(0, 1), 0x101));
	assert_ptr_equal(hit(t, PORTS(0, 6), 0x206, false), e);
	/* Nothing evictable is left. */
	assert_null(assoc_learn(t, PORTS(0, 12), 0, 0x212, 0, NULL, 250,
				&(enum assoc_learn_res){ 0 }));
	assoc_table_free(t);
}

/* --- random operations against the table's invariants --- */

struct shadow {
	bool est[5][256];	/* [cport][itag_t]: confirmed associations we made */
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
	size_t n, unconf;
};

static void check_cb(const struct assoc *a, void *arg)
{
	struct check_ctx *x = arg;
	struct assoc *f;

	x->n++;
	x->unconf += a->state == ASSOC_EST && !(a->flags & ASSOC_F_CONFIRMED);
	assert_true(a->state >= ASSOC_INIT && a->state <= ASSOC_CLOSED);
	if (a->state == ASSOC_INIT)
		assert_false(a->flags & ASSOC_F_CONFIRMED);
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
	/* Pending entries (INIT and unconfirmed) share the cap. */
	assert_int_equal(x.unconf, assoc_count_unconfirmed(t));
	assert_true(assoc_count_state(t, ASSOC_INIT) + x.unconf <= assoc_init_cap(t));
	/* No confirmed association is lost but by our own doing. */
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
				/* A learn confirms nothing (no hint here). */
				if (lr != ASSOC_L_DUP)
					assert_false(a->flags & ASSOC_F_CONFIRMED);
				/* A peer's record may say it is confirmed. */
				if (a->state == ASSOC_EST && rnd(&s) % 4 == 0)
					assert_true(assoc_confirm(t, a) >= 0);
				if (a->state == ASSOC_EST && (a->flags & ASSOC_F_CONFIRMED))
					sh->est[p.cport][ttag] = true;
			}
			break;
		case 3:
		case 4: {
			bool tbit = rnd(&s) % 4 == 0;
			uint32_t v = tbit ? ctag : ttag;

			if (assoc_lookup(t, &p, v, tbit, &a, NULL) != ASSOC_HIT)
				break;
			if (assoc_seen(t, a, v, &src, 100, now, &old)) {
				assert_int_equal(old.p.cport, p.cport);
				shadow_drop(sh, &old);
			}
			/* The target's tag confirms; the client's own does not. */
			if (a->state == ASSOC_EST && !tbit) {
				assert_true(a->flags & ASSOC_F_CONFIRMED);
				sh->est[p.cport][a->itag_t] = true;
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
	/* Both ways out of the unconfirmed class were taken. */
	assert_true(assoc_counters(t)->evicted_unconfirmed > 100);
	assert_true(assoc_counters(t)->confirmed > 100);
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
	assert_int_equal(x.unconf, assoc_count_unconfirmed(t));
	assert_true(assoc_count_state(t, ASSOC_INIT) + x.unconf <= assoc_init_cap(t));
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
			if (a && a->state == ASSOC_EST && rnd(&s) % 4 == 0)
				assert_true(assoc_confirm(t, a) >= 0);
			if (a && a->state == ASSOC_EST && (a->flags & ASSOC_F_CONFIRMED))
				sh->est[p.ep][p.cport][ttag] = true;
			break;
		case 3:
		case 4: {
			bool tbit = rnd(&s) % 4 == 0;
			uint32_t v = tbit ? ctag : ttag;

			if (assoc_lookup(t, &p, v, tbit, &a, NULL) != ASSOC_HIT)
				break;
			if (assoc_seen(t, a, v, &src, 100, now, &old))
				shadow3_drop(sh, &old);
			if (a->state == ASSOC_EST && !tbit)
				sh->est[p.ep][p.cport][a->itag_t] = true;
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

/* A renumbering staged for the table's owner (a reload's commit, worker 0
 * taking the new view later): nothing moves until assoc_remap_take()
 * reaches its gen; meanwhile fwd and back cross between the table's
 * numbering and the newest one, through every plan staged. */
static void test_remap_staged(void **state)
{
	struct assoc_table *t = assoc_table_new(64, 0);
	struct assoc_ports a0 = *PORTS(0, 100), b1 = *PORTS(1, 200), q;
	/* Plan 1: the two VIPAs swap; nodes 0 -> 2, 1 -> 0, 2 -> 1. */
	const uint32_t ep1[] = { 1, 0 }, node1[] = { 2, 0, 1 };
	/* Plan 2: VIPAs stay; nodes 0 -> 1, 1 -> 3 (one added before it), 2 gone. */
	const uint32_t node2[] = { 1, 3, UINT32_MAX };
	struct assoc_remap_plan p1 = { .ep_map = ep1, .n_ep = 2, .node_map = node1, .n_node = 3,
				       .gen = 5 };
	struct assoc_remap_plan p2 = { .ep_map = NULL, .n_ep = 2, .node_map = node2, .n_node = 3,
				       .gen = 6 };
	struct assoc_remap_plan p3 = { .gen = 7 }, p4 = { .gen = 8 };
	struct assoc *a, *b;
	uint32_t ep, node;

	(void)state;
	a = est(t, &a0, 0x10, 0x20, "192.0.2.1", 1, 100);
	b = est(t, &b1, 0x11, 0x21, "192.0.2.2", 2, 100);
	assert_null(assoc_remap_staged(t));
	/* Nothing staged: both ways are the identity. */
	ep = 1, node = 2;
	assert_true(assoc_remap_fwd(t, &ep, &node));
	assert_true(ep == 1 && node == 2);
	assert_true(assoc_remap_back(t, &ep, &node));
	assert_true(ep == 1 && node == 2);

	p1.next = &p4;	/* whatever the caller left there is reset */
	assoc_remap_stage(t, &p1);
	assert_ptr_equal(assoc_remap_staged(t), &p1);
	assert_null(p1.next);
	/* Staged only: the entries keep their keys and targets. */
	assert_ptr_equal(hit(t, &a0, 0x20, false), a);
	assert_ptr_equal(hit(t, &b1, 0x21, false), b);
	assert_int_equal(a->target, 1);
	/* Table -> new: a's (ep 0, node 1) is (1, 0); b's (1, 2) is (0, 1). */
	ep = 0, node = 1;
	assert_true(assoc_remap_fwd(t, &ep, &node));
	assert_true(ep == 1 && node == 0);
	ep = 1, node = 2;
	assert_true(assoc_remap_fwd(t, &ep, &node));
	assert_true(ep == 0 && node == 1);
	node = ASSOC_NO_TARGET;
	assert_true(assoc_remap_fwd(t, NULL, &node));
	assert_int_equal(node, ASSOC_NO_TARGET);
	ep = 2;	/* no such VIPA before: gone */
	assert_false(assoc_remap_fwd(t, &ep, NULL));
	/* New -> table, the lookup a learn or an import makes meanwhile. */
	ep = 1, node = 0;
	assert_true(assoc_remap_back(t, &ep, &node));
	assert_true(ep == 0 && node == 1);
	q = a0;
	q.ep = 1;
	assert_true(assoc_remap_back(t, &q.ep, NULL));
	assert_ptr_equal(hit(t, &q, 0x20, false), a);
	node = 7;	/* a node the table's numbering does not have */
	assert_false(assoc_remap_back(t, NULL, &node));

	/* A second reload before the owner took the first: queued behind. */
	assoc_remap_stage(t, &p2);
	assert_ptr_equal(assoc_remap_staged(t), &p1);
	assert_ptr_equal(p1.next, &p2);
	ep = 0, node = 1;	/* a: (1, 0) after p1, (1, 1) after p2 */
	assert_true(assoc_remap_fwd(t, &ep, &node));
	assert_true(ep == 1 && node == 1);
	node = 2;		/* b's target: 1 after p1, 3 after p2 */
	assert_true(assoc_remap_fwd(t, NULL, &node));
	assert_int_equal(node, 3);
	node = 0;		/* node 2 after p1, gone after p2 */
	assert_true(assoc_remap_fwd(t, NULL, &node));
	assert_int_equal(node, ASSOC_NO_TARGET);
	ep = 1, node = 3;
	assert_true(assoc_remap_back(t, &ep, &node));
	assert_true(ep == 0 && node == 2);
	node = 0;		/* new in p2: no number in the table's */
	assert_false(assoc_remap_back(t, NULL, &node));

	/* The owner takes the view of gen 4, then 5: p1 only. */
	assert_int_equal(assoc_remap_take(t, 4), 0);
	assert_int_equal(a->p.ep, 0);
	assert_int_equal(assoc_remap_take(t, 5), 1);
	assert_ptr_equal(assoc_remap_staged(t), &p2);
	assert_int_equal(p1.res.moved, 2);
	assert_int_equal(p1.res.retargeted, 2);
	assert_ptr_equal(hit(t, PORTS(1, 100), 0x20, false), a);
	assert_ptr_equal(hit(t, PORTS(0, 200), 0x21, false), b);
	miss(t, &a0, 0x20, false);
	assert_int_equal(a->target, 0);
	assert_int_equal(b->target, 1);
	ep = 1, node = 0;	/* now p2 alone */
	assert_true(assoc_remap_fwd(t, &ep, &node));
	assert_true(ep == 1 && node == 1);

	/* Two plans taken at once, in order, by a later gen. */
	assoc_remap_stage(t, &p3);
	assoc_remap_stage(t, &p4);
	assert_int_equal(assoc_remap_take(t, 100), 3);
	assert_null(assoc_remap_staged(t));
	assert_int_equal(p2.res.retargeted, 2);	/* a 0 -> 1, b 1 -> 3 */
	assert_int_equal(a->target, 1);
	assert_int_equal(b->target, 3);
	assert_int_equal(p3.res.moved + p3.res.retargeted + p4.res.moved, 0);
	assert_int_equal(assoc_count(t), 2);
	assert_int_equal(assoc_remap_take(t, 200), 0);
	assoc_table_free(t);
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
		cmocka_unit_test(test_learn_flood),
		cmocka_unit_test(test_confirm_by_tag),
		cmocka_unit_test(test_unconfirmed_expiry),
		cmocka_unit_test(test_assoc_confirm),
		cmocka_unit_test(test_hinted),
		cmocka_unit_test(test_evicted_referent),
		cmocka_unit_test(test_remap_class),
		cmocka_unit_test(test_remap_staged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
