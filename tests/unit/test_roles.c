/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for common/roles: the ownership rule and the ready decision,
 * one table row per cluster snapshot.  Nodes are letters (a = node 0), a
 * VIPA's list is a string of them ("ab": a first; "~ab": preempt = false),
 * expected owners and backups one letter per VIPA ('-': none). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/roles.h"

#define MAXN 4
#define MAXV 3

/* Node state (for self, A and H are ignored by the rule). */
#define A 0x01u	/* alive: some address answers */
#define H 0x02u	/* heard: a heartbeat came */
#define R 0x04u	/* ready (self) / READY flag (peer) */
#define L 0x08u	/* leaving (self) / LEAVING flag (peer) */
#define B 0x10u	/* its complete table came */
#define PEER (A | H | R)	/* an alive, heard, ready peer */

/* Per-VIPA bits of a node: claims (owns) and yields (clusterctl failover). */
#define C(v) (1u << (v))
#define Y(v) (1u << (v))

struct nrow {
	unsigned st, claims, yields;
};

struct row {
	const char *name;
	char self;		/* 'a'.. */
	size_t n;		/* nodes */
	const char *v[MAXV];	/* VIPA lists, up to the first NULL */
	struct nrow node[MAXN];
	const char *owner, *backup;	/* a letter per VIPA, '-' for none */
	const char *contested;		/* 'y'/'n' per VIPA; NULL: not checked */
};

/* The snapshot a row describes, in the types the daemon fills. */
struct fixture {
	struct cfg cfg;
	struct cfg_vipa vipas[MAXV];
	struct cfg_distributor dists[MAXV][MAXN];
	struct roles_node nodes[MAXN];
	uint8_t bits[MAXV * MAXN];
	struct roles_snap snap;
};

static void fixture_fill(struct fixture *f, char self, size_t n, const char *const *v,
			 const struct nrow *node, unsigned heartbeat_ms)
{
	memset(f, 0, sizeof(*f));
	f->cfg.self = self - 'a';
	f->cfg.n_nodes = n;
	f->cfg.heartbeat_ms = heartbeat_ms ? heartbeat_ms : 100;
	f->cfg.retry_threshold = 3;
	f->cfg.vipas = f->vipas;
	for (size_t i = 0; i < MAXV && v[i]; i++) {
		const char *p = v[i];

		f->vipas[i].preempt = *p != '~';
		p += *p == '~';
		f->vipas[i].dists = f->dists[i];
		for (; *p; p++) {
			assert_true((size_t)(*p - 'a') < n);
			f->dists[i][f->vipas[i].n_dists++].node = (size_t)(*p - 'a');
		}
		f->cfg.n_vipas++;
	}
	for (size_t k = 0; k < n; k++) {
		f->nodes[k].alive = node[k].st & A;
		f->nodes[k].heard = node[k].st & H;
		f->nodes[k].ready = node[k].st & R;
		f->nodes[k].leaving = node[k].st & L;
		f->nodes[k].bulk = node[k].st & B;
		for (size_t i = 0; i < f->cfg.n_vipas; i++)
			f->bits[i * n + k] = (uint8_t)((node[k].claims & C(i) ? ROLES_CLAIMS : 0) |
						       (node[k].yields & Y(i) ? ROLES_YIELDS : 0));
	}
	f->snap.cfg = &f->cfg;
	f->snap.nodes = f->nodes;
	f->snap.bits = f->bits;
}

static char letter(long n)
{
	return n < 0 ? '-' : (char)('a' + n);
}

static const struct row rows[] = {
	/* --- preempt on ------------------------------------------------------ */
	{ "preempt: the first alive+ready node of each list, seen from a", 'a', 2,
	  { "ab", "ba" },
	  { { R, C(0), 0 }, { PEER, C(1), 0 } },
	  "ab", "ba", "ny" },
	{ "preempt: the same seen from b", 'b', 2,
	  { "ab", "ba" },
	  { { PEER, C(0), 0 }, { R, C(1), 0 } },
	  "ab", "ba", "yn" },
	{ "preempt: primary dead, the backup takes over", 'b', 2,
	  { "ab" },
	  { { H | R, C(0), 0 }, { R, 0, 0 } },
	  "b", "-", "n" },
	{ "preempt: returning primary not ready yet, the backup keeps it", 'b', 2,
	  { "ab" },
	  { { A | H, 0, 0 }, { R, C(0), 0 } },
	  "b", "-", "n" },
	{ "preempt: returning primary ready, takes it back", 'b', 2,
	  { "ab" },
	  { { PEER, 0, 0 }, { R, C(0), 0 } },
	  "a", "b", "n" },
	{ "preempt: the returning primary (not ready) sees the backup keep it", 'a', 2,
	  { "ab" },
	  { { 0, 0, 0 }, { PEER, C(0), 0 } },
	  "b", "-", "y" },
	{ "preempt: a starting backup never grabs what its primary holds", 'b', 2,
	  { "ab" },
	  { { PEER, C(0), 0 }, { 0, 0, 0 } },
	  "a", "-", "y" },
	{ "preempt: the primary sees the starting backup as no backup yet", 'a', 2,
	  { "ab" },
	  { { R, C(0), 0 }, { A | H, 0, 0 } },
	  "a", "-", "n" },
	{ "preempt: starting backup, primary dead: nobody until it is ready", 'b', 2,
	  { "ab" },
	  { { 0, 0, 0 }, { 0, 0, 0 } },
	  "-", "-", "n" },
	{ "preempt: three nodes, the second not ready: the third is the backup", 'a', 3,
	  { "abc" },
	  { { R, C(0), 0 }, { A | H, 0, 0 }, { PEER, 0, 0 } },
	  "a", "c", "n" },
	{ "preempt: three nodes, first dead: second owns, third backs up", 'c', 3,
	  { "abc" },
	  { { H | R, C(0), 0 }, { PEER, 0, 0 }, { R, 0, 0 } },
	  "b", "c", "n" },

	/* --- preempt off ----------------------------------------------------- */
	{ "no preempt: the claimer keeps it over a ready primary", 'a', 2,
	  { "~ab" },
	  { { R, 0, 0 }, { PEER, C(0), 0 } },
	  "b", "a", "y" },
	{ "no preempt: the same seen from the claimer", 'b', 2,
	  { "~ab" },
	  { { PEER, 0, 0 }, { R, C(0), 0 } },
	  "b", "a", "n" },
	{ "no preempt: no claimer, the first alive+ready", 'b', 2,
	  { "~ab" },
	  { { PEER, 0, 0 }, { R, 0, 0 } },
	  "a", "b", "n" },
	{ "no preempt: the claimer is dead, the first alive+ready", 'a', 2,
	  { "~ab" },
	  { { R, 0, 0 }, { H | R, C(0), 0 } },
	  "a", "-", "n" },
	{ "no preempt: an alive claimer keeps it even while not ready", 'a', 2,
	  { "~ab" },
	  { { R, 0, 0 }, { A | H, C(0), 0 } },
	  "b", "a", "y" },
	{ "no preempt: a starting node does not take it from the claimer", 'a', 2,
	  { "~ab" },
	  { { 0, 0, 0 }, { PEER, C(0), 0 } },
	  "b", "-", "y" },
	{ "no preempt, three nodes: the claimer is second of the list", 'c', 3,
	  { "~abc" },
	  { { PEER, 0, 0 }, { PEER, C(0), 0 }, { R, 0, 0 } },
	  "b", "a", "y" },

	/* --- leaving ----------------------------------------------------------- */
	{ "self leaving gives it up (preempt)", 'a', 2,
	  { "ab" },
	  { { R | L, C(0), 0 }, { PEER, 0, 0 } },
	  "b", "-", "n" },
	{ "self leaving gives it up (no preempt)", 'a', 2,
	  { "~ab" },
	  { { R | L, C(0), 0 }, { PEER, 0, 0 } },
	  "b", "-", "n" },
	{ "self leaving, nobody else: nobody", 'a', 2,
	  { "ab" },
	  { { R | L, C(0), 0 }, { H | R, 0, 0 } },
	  "-", "-", "n" },
	{ "peer flagged LEAVING (still alive): not ready, we take it", 'b', 2,
	  { "ab" },
	  { { A | H | R | L, C(0), 0 }, { R, 0, 0 } },
	  "b", "-", "y" },
	{ "peer flagged LEAVING and marked down: we take it (no preempt)", 'b', 2,
	  { "~ab" },
	  { { H | R | L, C(0), 0 }, { R, 0, 0 } },
	  "b", "-", "n" },

	/* --- clusterctl failover ---------------------------------------------- */
	{ "failover: the owner yields, the backup owns", 'a', 2,
	  { "ab" },
	  { { R, C(0), Y(0) }, { PEER, 0, 0 } },
	  "b", "-", "n" },
	{ "failover: seen from the backup", 'b', 2,
	  { "ab" },
	  { { PEER, C(0), Y(0) }, { R, 0, 0 } },
	  "b", "-", "y" },
	{ "failover with no preempt: the yielding claimer does not keep it", 'a', 2,
	  { "~ab" },
	  { { R, C(0), Y(0) }, { PEER, 0, 0 } },
	  "b", "-", "n" },
	{ "failover of one VIPA leaves the other", 'a', 2,
	  { "ab", "ab" },
	  { { R, C(0) | C(1), Y(1) }, { PEER, 0, 0 } },
	  "ab", "b-", "nn" },
	{ "failover: no other ready node, nobody", 'a', 2,
	  { "ab" },
	  { { R, C(0), Y(0) }, { A | H, 0, 0 } },
	  "-", "-", "n" },

	/* --- partitions ------------------------------------------------------- */
	{ "partition, side a: b looks dead, a takes both", 'a', 2,
	  { "ab", "ba" },
	  { { R, C(0), 0 }, { H | R, C(1), 0 } },
	  "aa", "--", "nn" },
	{ "partition, side b: a looks dead, b takes both", 'b', 2,
	  { "ab", "ba" },
	  { { H | R, C(0), 0 }, { R, C(1), 0 } },
	  "bb", "--", "nn" },
	{ "partition healed (preempt), seen from a: both claim both", 'a', 2,
	  { "ab", "ba" },
	  { { R, C(0) | C(1), 0 }, { PEER, C(0) | C(1), 0 } },
	  "ab", "ba", "yy" },
	{ "partition healed (preempt), seen from b: the same answer", 'b', 2,
	  { "ab", "ba" },
	  { { PEER, C(0) | C(1), 0 }, { R, C(0) | C(1), 0 } },
	  "ab", "ba", "yy" },
	{ "partition healed (no preempt), seen from a: first claimer of the list", 'a', 2,
	  { "~ab", "~ba" },
	  { { R, C(0) | C(1), 0 }, { PEER, C(0) | C(1), 0 } },
	  "ab", "ba", "yy" },
	{ "partition healed (no preempt), seen from b: the same answer", 'b', 2,
	  { "~ab", "~ba" },
	  { { PEER, C(0) | C(1), 0 }, { R, C(0) | C(1), 0 } },
	  "ab", "ba", "yy" },
	{ "partition a | bc, side c: b owns, c backs up", 'c', 3,
	  { "abc" },
	  { { H | R, C(0), 0 }, { PEER, C(0), 0 }, { R, 0, 0 } },
	  "b", "c", "y" },
	{ "partition a | bc, side a: a keeps it alone", 'a', 3,
	  { "abc" },
	  { { R, C(0), 0 }, { H | R, C(0), 0 }, { H | R, 0, 0 } },
	  "a", "-", "n" },

	/* --- heard, nobody ------------------------------------------------------ */
	{ "peer alive but not heard yet: not ready", 'b', 2,
	  { "ab" },
	  { { A | R, 0, 0 }, { R, 0, 0 } },
	  "b", "-", "n" },
	{ "peer heard, ready: it is the primary", 'b', 2,
	  { "ab" },
	  { { A | H | R, 0, 0 }, { R, 0, 0 } },
	  "a", "b", "n" },
	{ "no alive distributor: nobody", 'c', 3,
	  { "ab", "~ba" },
	  { { H | R, C(0), 0 }, { H | R, C(1), 0 }, { R, 0, 0 } },
	  "--", "--", "nn" },
	{ "self in no list: the others' answer", 'c', 3,
	  { "ab" },
	  { { PEER, C(0), 0 }, { PEER, 0, 0 }, { R, 0, 0 } },
	  "a", "b", "y" },
};

static void test_roles_table(void **state)
{
	struct fixture f;
	size_t bad = 0;

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const struct row *w = &rows[r];

		fixture_fill(&f, w->self, w->n, w->v, w->node, 0);
		assert_int_equal(strlen(w->owner), f.cfg.n_vipas);
		assert_int_equal(strlen(w->backup), f.cfg.n_vipas);
		for (size_t i = 0; i < f.cfg.n_vipas; i++) {
			long owner = roles_owner(&f.snap, i);
			long backup = owner < 0 ? -1 : roles_pick(&f.snap, i, owner);
			bool cont = roles_contested(&f.snap, i);

			/* The backup never is the owner, and the owner is the
			 * pick with nothing skipped. */
			assert_true(owner < 0 || backup != owner);
			if (letter(owner) != w->owner[i] || letter(backup) != w->backup[i] ||
			    (w->contested && cont != (w->contested[i] == 'y'))) {
				print_error("row \"%s\" (self %c), VIPA %zu: owner %c backup %c "
					    "contested %c, want %c %c %c\n",
					    w->name, w->self, i, letter(owner), letter(backup),
					    cont ? 'y' : 'n', w->owner[i], w->backup[i],
					    w->contested ? w->contested[i] : '?');
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* Every node computes the same owners from the same facts: for the
 * symmetric rows the two sides' answers above match by construction; here
 * the rule must not depend on which node asks when the facts agree. */
static void test_roles_same_answer_everywhere(void **state)
{
	static const char *const v[] = { "abc", "~cba", "bca" };
	struct fixture f;

	(void)state;
	/* All alive, heard and ready; c claims VIPA 1, b VIPA 2. */
	for (unsigned mask = 0; mask < 8; mask++) {
		long want[MAXV] = { -2, -2, -2 };

		for (char self = 'a'; self <= 'c'; self++) {
			struct nrow node[MAXN] = {
				{ PEER, 0, 0 }, { PEER, C(2), 0 }, { PEER, C(1), 0 },
			};

			/* mask: who is dead (for everyone, self excepted:
			 * a node always counts itself alive). */
			for (size_t k = 0; k < 3; k++)
				if (mask & (1u << k))
					node[k].st &= ~A;
			if (mask & (1u << (self - 'a')))
				continue;	/* a dead node asks nothing */
			fixture_fill(&f, self, 3, v, node, 0);
			for (size_t i = 0; i < 3; i++) {
				long o = roles_owner(&f.snap, i);

				if (want[i] == -2)
					want[i] = o;
				assert_int_equal(o, want[i]);
			}
		}
	}
}

/* --- the ready decision --------------------------------------------------- */

#define START 1000u
#define NONE UINT64_MAX

struct ready_row {
	const char *name;
	char self;
	size_t n;
	const char *v[MAXV];
	struct nrow node[MAXN];
	unsigned heartbeat_ms;	/* 0: 100 (grace 400 with retry 3) */
	uint64_t waited;	/* now - start */
	enum roles_ready want;
	uint64_t next;		/* *next after, relative to START; NONE: untouched */
};

static const struct ready_row ready_rows[] = {
	{ "already ready", 'b', 2, { "ab" }, { { PEER, C(0), 0 }, { R, 0, 0 } },
	  0, 50, ROLES_READY_ALREADY, NONE },
	{ "leaving: never ready", 'b', 2, { "ab" }, { { PEER, C(0), 0 }, { L, 0, 0 } },
	  0, 20000, ROLES_READY_LEAVING, NONE },
	{ "waiting for the primary's table", 'b', 2, { "ab" },
	  { { PEER, C(0), 0 }, { 0, 0, 0 } }, 0, 50, ROLES_WAIT_TABLE, ROLES_READY_MAX_MS },
	{ "the primary's table came", 'b', 2, { "ab" },
	  { { PEER | B, C(0), 0 }, { 0, 0, 0 } }, 0, 50, ROLES_READY_TABLE, NONE },
	{ "the table of the backup that holds our VIPA came", 'a', 2, { "ab" },
	  { { 0, 0, 0 }, { PEER | B, C(0), 0 } }, 0, 50, ROLES_READY_TABLE, NONE },
	{ "still waiting past the grace: a claimer owes its table", 'b', 2, { "ab" },
	  { { PEER, C(0), 0 }, { 0, 0, 0 } }, 0, 5000, ROLES_WAIT_TABLE, ROLES_READY_MAX_MS },
	{ "one table of two came: waiting for the other", 'c', 3,
	  { "ac", "bc" },
	  { { PEER | B, C(0), 0 }, { PEER, C(1), 0 }, { 0, 0, 0 } },
	  0, 50, ROLES_WAIT_TABLE, ROLES_READY_MAX_MS },
	{ "both tables came", 'c', 3,
	  { "ac", "bc" },
	  { { PEER | B, C(0), 0 }, { PEER | B, C(1), 0 }, { 0, 0, 0 } },
	  0, 50, ROLES_READY_TABLE, NONE },
	{ "READY_MAX just not reached", 'b', 2, { "ab" },
	  { { PEER, C(0), 0 }, { 0, 0, 0 } }, 0, ROLES_READY_MAX_MS - 1, ROLES_WAIT_TABLE,
	  ROLES_READY_MAX_MS },
	{ "READY_MAX reached: ready anyway", 'b', 2, { "ab" },
	  { { PEER, C(0), 0 }, { 0, 0, 0 } }, 0, ROLES_READY_MAX_MS, ROLES_READY_FORCED, NONE },
	{ "nobody claims: waiting one dead interval", 'b', 2, { "ab" },
	  { { PEER, 0, 0 }, { 0, 0, 0 } }, 0, 100, ROLES_WAIT_GRACE, 400 },
	{ "nobody claims, the grace passed", 'b', 2, { "ab" },
	  { { PEER, 0, 0 }, { 0, 0, 0 } }, 0, 400, ROLES_READY_GRACE, NONE },
	{ "the claimer is dead: not waited for", 'b', 2, { "ab" },
	  { { H | R, C(0), 0 }, { 0, 0, 0 } }, 0, 399, ROLES_WAIT_GRACE, 400 },
	{ "a claimer of a VIPA we do not distribute: not waited for", 'b', 3,
	  { "ab", "ac" },
	  { { PEER, 0, 0 }, { 0, 0, 0 }, { PEER, C(1), 0 } }, 0, 100, ROLES_WAIT_GRACE, 400 },
	{ "self in no list: the grace only", 'c', 3, { "ab" },
	  { { PEER, C(0), 0 }, { PEER, 0, 0 }, { 0, 0, 0 } }, 0, 400, ROLES_READY_GRACE, NONE },
	{ "grace longer than READY_MAX: waits READY_MAX", 'b', 2, { "ab" },
	  { { PEER, 0, 0 }, { 0, 0, 0 } }, 5000, 5000, ROLES_WAIT_GRACE, ROLES_READY_MAX_MS },
	{ "grace longer than READY_MAX: ready at READY_MAX", 'b', 2, { "ab" },
	  { { PEER, 0, 0 }, { 0, 0, 0 } }, 5000, ROLES_READY_MAX_MS, ROLES_READY_GRACE, NONE },
};

static void test_roles_ready(void **state)
{
	struct fixture f;
	size_t bad = 0;

	(void)state;
	for (size_t r = 0; r < sizeof(ready_rows) / sizeof(ready_rows[0]); r++) {
		const struct ready_row *w = &ready_rows[r];
		uint64_t next = NONE, want_next = w->next == NONE ? NONE : START + w->next;
		enum roles_ready got;

		fixture_fill(&f, w->self, w->n, w->v, w->node, w->heartbeat_ms);
		got = roles_ready(&f.snap, START, START + w->waited, &next);
		if (got != w->want || next != want_next) {
			print_error("ready row \"%s\": %s, next %llu; want %s, next %llu\n",
				    w->name, roles_ready_str(got), (unsigned long long)next,
				    roles_ready_str(w->want), (unsigned long long)want_next);
			bad++;
		}
		assert_int_equal(roles_ready_now(got), w->want == ROLES_READY_TABLE ||
				 w->want == ROLES_READY_GRACE || w->want == ROLES_READY_FORCED);
		/* A NULL deadline pointer is allowed, an earlier one kept. */
		assert_int_equal(roles_ready(&f.snap, START, START + w->waited, NULL), got);
		next = START;
		roles_ready(&f.snap, START, START + w->waited, &next);
		assert_int_equal(next, START);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_table),
		cmocka_unit_test(test_roles_same_answer_everywhere),
		cmocka_unit_test(test_roles_ready),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
