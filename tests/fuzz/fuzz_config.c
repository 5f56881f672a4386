/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for common/config (libconfig text to struct cfg), and
 * what the daemon builds from a loaded configuration: the CDAT
 * (cdat_from_cfg) and the nftables ruleset (rules_build, rules_render).
 *
 * cfg_load reads a file and has no buffer API: the input goes to a memfd,
 * loaded as /proc/self/fd/N.  Inputs with an @include directive are
 * skipped: they would read other files of the machine.
 *
 * Invariants: a refusal says why ("path...: message"); a loaded
 * configuration has unique node names (cfg_node_index finds each at its
 * place), self is the index of node_name, every address has a family and
 * its node is found by cfg_node_by_addr, every target and distributor names
 * a node; cdat_from_cfg accepts it, with a current digest; the ruleset of
 * every node builds and renders. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "common/config.h"
#include "rules/rules.h"
#include "sync/cdat.h"
#include "tests/fuzz/fuzz.h"

static int memfd = -1;

static void check_targets(const struct cfg *c, const struct cfg_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(t[i].node < c->n_nodes);
		FUZZ_CHECK(t[i].weight >= 1 && t[i].weight <= 256);
	}
}

static void check_cfg(const struct cfg *c)
{
	struct rules_opts o = { .workers = 2, .queue_base = 10 };
	uint8_t digest[CDAT_DIGEST_LEN];
	struct cdat t;
	size_t i, j;
	long self;

	FUZZ_CHECK(memchr(c->node_name, 0, sizeof(c->node_name)));
	self = cfg_node_index(c, c->node_name);
	FUZZ_CHECK(c->self == self);
	for (i = 0; i < c->n_nodes; i++) {
		const struct cfg_node *n = &c->nodes[i];

		FUZZ_CHECK(memchr(n->name, 0, sizeof(n->name)) && n->name[0]);
		FUZZ_CHECK(cfg_node_index(c, n->name) == (long)i);
		FUZZ_CHECK(n->n_addrs >= 1);
		for (j = 0; j < n->n_addrs; j++) {
			const struct ip_addr *a = &n->addrs[j].ip;

			FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
			FUZZ_CHECK(cfg_node_by_addr(c, a) == (long)i);
		}
	}
	for (i = 0; i < c->n_vipas; i++) {
		const struct cfg_vipa *v = &c->vipas[i];

		FUZZ_CHECK(v->addr.family == AF_INET || v->addr.family == AF_INET6);
		FUZZ_CHECK(v->n_dists >= 1);
		for (j = 0; j < v->n_dists; j++) {
			FUZZ_CHECK(v->dists[j].node < c->n_nodes);
			check_targets(c, v->dists[j].targets, v->dists[j].n_targets);
		}
		for (j = 0; j < v->n_svcs; j++) {
			const struct cfg_service *s = &v->svcs[j];

			check_targets(c, s->targets, s->n_targets);
			/* handoff: tcp only, with rules; no distributor among any targets */
			FUZZ_CHECK(s->handoff == (s->n_rules > 0));
			FUZZ_CHECK(!s->handoff || s->proto == IPPROTO_TCP);
			for (size_t k = 0; k < s->n_rules; k++) {
				check_targets(c, s->rules[k].targets, s->rules[k].n_targets);
				FUZZ_CHECK(s->hoff_proto == CFG_HOFF_HTTP ||
					   !s->rules[k].path_prefix[0]);
				for (size_t d = 0; d < v->n_dists; d++)
					for (size_t x = 0; x < s->rules[k].n_targets; x++)
						FUZZ_CHECK(s->rules[k].targets[x].node !=
							   v->dists[d].node);
			}
			FUZZ_CHECK(s->hoff_timeout_ms >= 100 && s->hoff_timeout_ms <= 60000);
			FUZZ_CHECK(s->hoff_max_request >= 1024 && s->hoff_max_request <= 65536);
		}
	}

	cdat_init(&t);
	FUZZ_CHECK(cdat_from_cfg(&t, c) == CDAT_OK);
	FUZZ_CHECK(t.n == c->n_nodes && t.version == 0);
	cdat_digest(&t, digest);
	FUZZ_CHECK(memcmp(digest, t.digest, sizeof(digest)) == 0);
	cdat_free(&t);

	for (self = -1; self <= (long)c->n_nodes && self < 4; self++) {
		struct rules *r = rules_build(c, self, &o);
		char *text;

		FUZZ_CHECK(r);
		for (i = 0; i < rules_count(r); i++) {
			const struct rules_match *m = rules_get(r, i);

			FUZZ_CHECK(m->n_addrs >= 1);
			for (j = 0; j < m->n_addrs; j++)
				FUZZ_CHECK(m->addrs[j].family == m->family);
		}
		text = rules_render(r);
		FUZZ_CHECK(text);
		free(text);
		rules_free(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[CFG_ERR_MAX];
	struct cfg *c;

	if (size > 65536 || memmem(data, size, "@include", 8))
		return 0;
	if (sodium_init() < 0)
		abort();
	if (memfd < 0) {
		memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
		FUZZ_CHECK(memfd >= 0);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);

	c = cfg_load(path, NULL, err, sizeof(err));
	FUZZ_CHECK(memchr(err, 0, sizeof(err)));
	if (!c) {
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		return 0;
	}
	FUZZ_CHECK(err[0] == '\0');
	check_cfg(c);
	cfg_free(c);
	return 0;
}
