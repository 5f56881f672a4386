/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload transaction without sockets: the real peer table (daemon/peer.c)
 * as a subsystem beside fake ones, driven by daemon/subsys.c, with the
 * allocation hook (common/alloc.h) failing each allocation in turn.  The
 * CDAT (dsync) and VIPA (roles) subsystems need the daemon's sockets and
 * are not linked here: a fake subsystem that allocates and can fail stands
 * for them.  Leaks are LeakSanitizer's (make check with the sanitizers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/alloc.h"
#include "daemon/ctx.h"
#include "daemon/peer.h"
#include "daemon/subsys.h"

/* --- configurations -------------------------------------------------------- */

static const char conf_a[] =
	"node = \"d1\";\n"
	"cluster = { name = \"t\"; key_file = \"/nonexistent/k\"; };\n"
	"nodes = (\n"
	"  { name = \"d1\"; addresses = ( { ip = \"10.9.0.1\"; } ); },\n"
	"  { name = \"d2\"; addresses = ( { ip = \"10.9.0.2\"; } ); },\n"
	"  { name = \"d3\"; addresses = ( { ip = \"10.9.0.3\"; } ); },\n"
	"  { name = \"d4\"; addresses = ( { ip = \"10.9.0.4\"; } ); }\n"
	");\n"
	"vipas = ( { address = \"10.9.0.100\"; interface = \"lan0\";\n"
	"  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	"  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"d3\" ); } ); } );\n";

/* d4 removed, d5 added, d2 and d3 at other indexes. */
static const char conf_b[] =
	"node = \"d1\";\n"
	"cluster = { name = \"t\"; key_file = \"/nonexistent/k\"; };\n"
	"nodes = (\n"
	"  { name = \"d1\"; addresses = ( { ip = \"10.9.0.1\"; } ); },\n"
	"  { name = \"d5\"; addresses = ( { ip = \"10.9.0.5\"; } ); },\n"
	"  { name = \"d3\"; addresses = ( { ip = \"10.9.0.3\"; } ); },\n"
	"  { name = \"d2\"; addresses = ( { ip = \"10.9.0.2\"; } ); }\n"
	");\n"
	"vipas = ( { address = \"10.9.0.100\"; interface = \"lan0\";\n"
	"  distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );\n"
	"  services = ( { port = 80; protocol = \"tcp\"; targets = ( \"d3\" ); } ); } );\n";

static struct cfg *load(const char *text)
{
	char path[] = "/tmp/test_reload.XXXXXX", err[CFG_ERR_MAX];
	int fd = mkstemp(path);
	struct cfg *c;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = cfg_load(path, NULL, err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	return c;
}

/* --- a fake subsystem: allocates in prepare, can refuse, counts ------------- */

struct fake {
	int prepared, committed, aborted;
	bool refuse;		/* prepare fails (a reason other than memory) */
	void *held;		/* what the last commit made live */
};

static struct fake fake_state;

static int fake_prepare(struct daemon *d, const struct cfg *nc, void **prep, char *err,
			size_t len)
{
	(void)d;
	(void)nc;
	if (fake_state.refuse) {
		snprintf(err, len, "refused on purpose");
		return -1;
	}
	*prep = cd_malloc(64);
	if (!*prep) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	fake_state.prepared++;
	return 0;
}

static void fake_commit(struct daemon *d, void *prep)
{
	(void)d;
	free(fake_state.held);
	fake_state.held = prep;
	fake_state.committed++;
}

static void fake_abort(struct daemon *d, void *prep)
{
	(void)d;
	free(prep);
	fake_state.aborted++;
}

static const uint8_t fake_types[] = { 200, 201 };

static const struct subsys fake_subsys = {
	.name = "fake",
	.types = fake_types,
	.n_types = sizeof(fake_types),
	.prepare = fake_prepare,
	.commit = fake_commit,
	.abort = fake_abort,
};

static const struct subsys *const tab[] = { &peer_subsys, &fake_subsys };
#define N_TAB (sizeof(tab) / sizeof(tab[0]))

/* --- helpers ---------------------------------------------------------------- */

struct fx {
	struct daemon d;
	struct cfg *a, *b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	void *prep[SUBSYS_MAX];
	char err[256];

	memset(&fake_state, 0, sizeof(fake_state));
	cd_alloc_fail_after(0);
	f->a = load(conf_a);
	f->b = load(conf_b);
	f->d.epoch = 7;
	f->d.cfg = f->a;
	/* Start: the same transaction from nothing. */
	assert_int_equal(subsys_prepare_all(&f->d, tab, N_TAB, f->a, prep, err, sizeof(err)), 0);
	subsys_commit_all(&f->d, tab, N_TAB, prep);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cd_alloc_fail_after(0);
	peer_table_free(f->d.peers, f->d.n_peers);
	free(fake_state.held);
	cfg_free(f->a);
	cfg_free(f->b);
	free(f);
	return 0;
}

static long idx(const struct daemon *d, const char *name)
{
	return peer_by_name(d->peers, d->n_peers, name);
}

/* State a running daemon would have for node `name`: a queued message on
 * its channel, a replay window, heartbeat data, a backlog entry. */
static void dirty(struct daemon *d, const char *name, uint64_t epoch_seen)
{
	long n = idx(d, name);
	struct peer *p;
	uint8_t body[8] = { 1, 2, 3 };

	assert_true(n >= 0);
	p = &d->peers[n];
	p->drained = true;
	p->mn.heard = true;
	p->mn.epoch = epoch_seen;
	p->epoch_seen = epoch_seen;
	p->replay.valid = true;
	p->replay.top = epoch_seen * 10;
	p->bulk_from = true;
	p->path_max = 1400;
	assert_non_null(p->tx);
	assert_true(rel_tx_push(p->tx, body, sizeof(body), 1000) != 0);
	p->backlog.q = malloc(16);
	p->backlog.cap = 1;
	p->backlog.n = 1;
}

/* --- tests -------------------------------------------------------------------- */

static void test_start(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->d.n_peers, 4);
	for (size_t i = 0; i < 4; i++) {
		const struct peer *p = &f->d.peers[i];

		assert_string_equal(p->name, f->a->nodes[i].name);
		assert_ptr_equal(p->name, f->a->nodes[i].name);
		assert_int_equal(p->id, wire_node_id(p->name));
		assert_int_equal(p->self, (long)i == f->a->self);
		/* A channel to every other node, none to ourselves. */
		assert_int_equal(p->tx != NULL, !p->self);
		assert_int_equal(p->rx != NULL, !p->self);
	}
	assert_int_equal(peer_by_id(f->d.peers, f->d.n_peers, wire_node_id("d3")), 2);
	assert_int_equal(peer_by_id(f->d.peers, f->d.n_peers, wire_node_id("nope")), -1);
	assert_int_equal(fake_state.committed, 1);
}

/* Removes d4, adds d5, moves d2 and d3: state follows the name. */
static void test_reload_carries_by_name(void **state)
{
	struct fx *f = *state;
	void *prep[SUBSYS_MAX];
	char err[256];
	struct rel_tx *tx2 = f->d.peers[idx(&f->d, "d2")].tx;
	struct rel_rx *rx3 = f->d.peers[idx(&f->d, "d3")].rx;
	struct peer *old = f->d.peers;

	dirty(&f->d, "d2", 42);
	dirty(&f->d, "d3", 43);
	dirty(&f->d, "d4", 44);	/* goes: everything it holds is freed (LSan) */
	assert_int_equal(subsys_prepare_all(&f->d, tab, N_TAB, f->b, prep, err, sizeof(err)), 0);
	/* Prepared, not committed: nothing live moved. */
	assert_ptr_equal(f->d.peers, old);
	assert_int_equal(f->d.n_peers, 4);
	assert_ptr_equal(f->d.peers[1].tx, tx2);
	f->d.cfg = f->b;
	subsys_commit_all(&f->d, tab, N_TAB, prep);

	assert_int_equal(f->d.n_peers, 4);
	assert_int_equal(idx(&f->d, "d4"), -1);
	assert_int_equal(idx(&f->d, "d2"), 3);
	assert_int_equal(idx(&f->d, "d3"), 2);
	for (size_t i = 0; i < 4; i++) {
		assert_ptr_equal(f->d.peers[i].name, f->b->nodes[i].name);
		assert_int_equal(f->d.peers[i].id, wire_node_id(f->b->nodes[i].name));
	}
	{
		const struct peer *p2 = &f->d.peers[3], *p3 = &f->d.peers[2];

		assert_ptr_equal(p2->tx, tx2);
		assert_int_equal(rel_tx_queued(p2->tx), 1);
		assert_int_equal(p2->epoch_seen, 42);
		assert_int_equal(p2->replay.top, 420);
		assert_true(p2->drained && p2->mn.heard && p2->bulk_from);
		assert_int_equal(p2->path_max, 1400);
		assert_int_equal(p2->backlog.n, 1);
		assert_ptr_equal(p3->rx, rx3);
		assert_int_equal(p3->epoch_seen, 43);
	}
	{
		const struct peer *p5 = &f->d.peers[1];

		/* New: a fresh channel, nothing heard. */
		assert_string_equal(p5->name, "d5");
		assert_non_null(p5->tx);
		assert_non_null(p5->rx);
		assert_ptr_not_equal(p5->tx, tx2);
		assert_int_equal(rel_tx_queued(p5->tx), 0);
		assert_int_equal(p5->epoch_seen, 0);
		assert_false(p5->drained || p5->mn.heard || p5->replay.valid);
		assert_int_equal(p5->backlog.n, 0);
	}
	assert_true(f->d.peers[0].self);
	assert_null(f->d.peers[0].tx);
	assert_int_equal(fake_state.committed, 2);
	assert_int_equal(fake_state.aborted, 0);
}

/* The k-th allocation fails, for every k until the reload goes through:
 * each time the error names the subsystem, the live state is the same
 * (same array, same channels, same bytes, same config) and whatever was
 * prepared is aborted. */
static void test_reload_alloc_failure(void **state)
{
	struct fx *f = *state;
	struct peer *old = f->d.peers, snap[4];
	struct rel_tx *tx[4];
	unsigned long k, used;
	int failures = 0;

	dirty(&f->d, "d2", 42);
	dirty(&f->d, "d4", 44);
	memcpy(snap, f->d.peers, sizeof(snap));
	for (size_t i = 0; i < 4; i++)
		tx[i] = f->d.peers[i].tx;
	for (k = 1; k < 1000; k++) {
		void *prep[SUBSYS_MAX];
		char err[256] = "";
		int prepared = fake_state.prepared, aborted = fake_state.aborted;
		int r;

		cd_alloc_fail_after(k);
		r = subsys_prepare_all(&f->d, tab, N_TAB, f->b, prep, err, sizeof(err));
		used = cd_alloc_fail_after(0);
		if (r == 0) {
			/* Fewer allocations than k: the hook never fired. */
			assert_true(used < k);
			f->d.cfg = f->b;
			subsys_commit_all(&f->d, tab, N_TAB, prep);
			break;
		}
		failures++;
		assert_int_equal(r, -1);
		assert_true(strstr(err, "out of memory") != NULL);
		assert_true(!strncmp(err, "peers: ", 7) || !strncmp(err, "fake: ", 6));
		/* Nothing live changed. */
		assert_ptr_equal(f->d.peers, old);
		assert_int_equal(f->d.n_peers, 4);
		assert_ptr_equal(f->d.cfg, f->a);
		assert_memory_equal(f->d.peers, snap, sizeof(snap));
		for (size_t i = 0; i < 4; i++)
			assert_ptr_equal(f->d.peers[i].tx, tx[i]);
		assert_int_equal(rel_tx_queued(f->d.peers[idx(&f->d, "d2")].tx), 1);
		/* A fake that prepared was aborted; none committed. */
		assert_int_equal(fake_state.prepared - prepared, fake_state.aborted - aborted);
		assert_int_equal(fake_state.committed, 1);
	}
	/* Peer array, mapping, moved flags, two channels per new node, the
	 * fake's block: every one of them was made to fail once. */
	assert_true(failures >= 5);
	assert_int_equal(fake_state.committed, 2);
	assert_ptr_equal(f->d.peers[idx(&f->d, "d2")].tx, tx[1]);
	assert_int_equal(f->d.peers[idx(&f->d, "d2")].epoch_seen, 42);
	assert_int_equal(idx(&f->d, "d4"), -1);
}

/* A subsystem refuses the new configuration (not memory): the peer table
 * prepared before it is aborted, the error says who and why. */
static void test_reload_refused(void **state)
{
	struct fx *f = *state;
	struct peer *old = f->d.peers, snap[4];
	void *prep[SUBSYS_MAX];
	char err[256];

	dirty(&f->d, "d3", 43);
	memcpy(snap, f->d.peers, sizeof(snap));
	fake_state.refuse = true;
	assert_int_equal(subsys_prepare_all(&f->d, tab, N_TAB, f->b, prep, err, sizeof(err)), -1);
	assert_string_equal(err, "fake: refused on purpose");
	assert_ptr_equal(f->d.peers, old);
	assert_memory_equal(f->d.peers, snap, sizeof(snap));
	assert_int_equal(fake_state.committed, 1);
	/* And the next reload goes through. */
	fake_state.refuse = false;
	assert_int_equal(subsys_prepare_all(&f->d, tab, N_TAB, f->b, prep, err, sizeof(err)), 0);
	f->d.cfg = f->b;
	subsys_commit_all(&f->d, tab, N_TAB, prep);
	assert_int_equal(f->d.peers[idx(&f->d, "d3")].epoch_seen, 43);
}

/* Reloading the same file keeps every peer's state in place. */
static void test_reload_same(void **state)
{
	struct fx *f = *state;
	struct cfg *a2 = load(conf_a);
	void *prep[SUBSYS_MAX];
	char err[256];
	struct rel_tx *tx[4];

	dirty(&f->d, "d4", 44);
	for (size_t i = 0; i < 4; i++)
		tx[i] = f->d.peers[i].tx;
	assert_int_equal(subsys_prepare_all(&f->d, tab, N_TAB, a2, prep, err, sizeof(err)), 0);
	f->d.cfg = a2;
	subsys_commit_all(&f->d, tab, N_TAB, prep);
	for (size_t i = 0; i < 4; i++) {
		assert_ptr_equal(f->d.peers[i].tx, tx[i]);
		assert_ptr_equal(f->d.peers[i].name, a2->nodes[i].name);
	}
	assert_int_equal(f->d.peers[3].epoch_seen, 44);
	cfg_free(f->a);
	f->a = a2;
}

static void test_subsys_table(void **state)
{
	static const uint8_t t1[] = { 16, 17 }, t2[] = { 32, 17 }, t3[] = { 40, 40 };
	static const struct subsys a = { .name = "a", .types = t1, .n_types = 2 };
	static const struct subsys b = { .name = "b", .types = t2, .n_types = 2 };
	static const struct subsys c = { .name = "c", .types = t3, .n_types = 2 };
	static const struct subsys nameless = { .name = NULL };
	const struct subsys *ok[] = { &a, &fake_subsys }, *dup[] = { &a, &b },
			    *self_dup[] = { &c }, *anon[] = { &nameless };
	char err[128];

	(void)state;
	assert_int_equal(subsys_check(ok, 2, err, sizeof(err)), 0);
	assert_ptr_equal(subsys_for_type(ok, 2, 17), &a);
	assert_ptr_equal(subsys_for_type(ok, 2, 201), &fake_subsys);
	assert_null(subsys_for_type(ok, 2, 33));
	assert_int_equal(subsys_check(dup, 2, err, sizeof(err)), -1);
	assert_string_equal(err, "message type 17 registered twice (b)");
	assert_int_equal(subsys_check(self_dup, 1, err, sizeof(err)), -1);
	assert_int_equal(subsys_check(anon, 1, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_carries_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_alloc_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_same, setup, teardown),
		cmocka_unit_test(test_subsys_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
