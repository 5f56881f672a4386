/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rules: the ruleset of one node as data, and its nft text.  Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "rules/rules.h"

struct rules {
	struct rules_opts opts;
	struct rules_match *m;
	size_t n, cap;
	struct rules_sync sync;
	bool inject_accept;
};

/* Ascending, as the kernel dumps a bitmap set: the listing then reads alike. */
static const uint8_t icmp4_errors[] = { 3, 4, 11, 12 };
static const char *const icmp4_names[] = {
	"destination-unreachable", "source-quench", "time-exceeded", "parameter-problem",
};
static const uint8_t icmp6_errors[] = { 1, 2, 3, 4 };
static const char *const icmp6_names[] = {
	"destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
};

const uint8_t *
rules_icmp_errors(int family, size_t *n)
{
	if (family == AF_INET) {
		*n = sizeof(icmp4_errors);
		return icmp4_errors;
	}
	if (family == AF_INET6) {
		*n = sizeof(icmp6_errors);
		return icmp6_errors;
	}
	*n = 0;
	return NULL;
}

static bool
match_eq(const struct rules_match *a, const struct rules_match *b)
{
	size_t i;

	if (a->hook != b->hook || a->family != b->family || a->proto != b->proto ||
	    a->port != b->port || a->queue != b->queue || a->n_addrs != b->n_addrs ||
	    a->rewrite != b->rewrite || a->fastmap != b->fastmap)
		return false;
	if (a->rewrite && (!addr_eq(&a->to, &b->to) || a->to_port != b->to_port))
		return false;
	if (a->fastmap && (strcmp(a->map, b->map) != 0 || a->to_port != b->to_port ||
			   a->timeout_ms != b->timeout_ms))
		return false;
	for (i = 0; i < a->n_addrs; i++)
		if (!addr_eq(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

/* Takes ownership of m->addrs in every case. */
static int
rules_add(struct rules *r, struct rules_match *m)
{
	struct rules_match *nm;
	size_t i;

	for (i = 0; i < r->n; i++) {
		/* One map has one rule: a second service on the same VIPA,
		 * protocol and port (which the configuration refuses) would
		 * declare the map twice; the first wins, as in the engine. */
		if (match_eq(&r->m[i], m) ||
		    (m->fastmap && r->m[i].fastmap && strcmp(r->m[i].map, m->map) == 0)) {
			free(m->addrs);
			return 0;
		}
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;

		nm = reallocarray(r->m, cap, sizeof(*nm));
		if (nm == NULL) {
			free(m->addrs);
			return -ENOMEM;
		}
		r->m = nm;
		r->cap = cap;
	}
	r->m[r->n++] = *m;
	return 0;
}

/* A match of addrs (copied), proto and port in hook; the caller sets the
 * rest and adds it (rules_add takes the copy). */
static int
match_init(struct rules_match *m, enum rules_hook hook, const struct ip_addr *addrs,
	   size_t n_addrs, uint8_t proto, uint16_t port)
{
	memset(m, 0, sizeof(*m));
	m->addrs = calloc(n_addrs, sizeof(*m->addrs));
	if (m->addrs == NULL)
		return -ENOMEM;
	memcpy(m->addrs, addrs, n_addrs * sizeof(*addrs));
	m->n_addrs = n_addrs;
	m->hook = hook;
	m->family = addrs[0].family;
	m->proto = proto;
	m->port = port;
	return 0;
}

static int
add_one(struct rules *r, enum rules_hook hook, const struct ip_addr *addrs, size_t n_addrs,
	uint8_t proto, uint16_t port, bool queue)
{
	struct rules_match m;

	if (match_init(&m, hook, addrs, n_addrs, proto, port) < 0)
		return -ENOMEM;
	m.queue = queue;
	return rules_add(r, &m);
}

static uint8_t
icmp_proto(int family)
{
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

static bool
is_distributor(const struct cfg_vipa *v, size_t self)
{
	size_t i;

	for (i = 0; i < v->n_dists; i++)
		if (v->dists[i].node == self)
			return true;
	return false;
}

/* A target of the service itself, of any distributor's own list or of a
 * handoff rule. */
static bool
is_target(const struct cfg_vipa *v, const struct cfg_service *s, size_t self)
{
	return cfg_serves(v, s, self);
}

/* A handoff target gets packets injected into its own stack (the replayed
 * handshake and request): they must pass the output chain untouched. */
static bool
is_hoff_target(const struct cfg *c, size_t self)
{
	size_t v, s;

	for (v = 0; v < c->n_vipas; v++)
		for (s = 0; s < c->vipas[v].n_svcs; s++)
			if (c->vipas[v].svcs[s].handoff &&
			    is_target(&c->vipas[v], &c->vipas[v].svcs[s], self))
				return true;
	return false;
}

/* Self's addresses of one family, without duplicates, into a (capacity n). */
static size_t
self_addrs(const struct cfg_node *nd, int family, struct ip_addr *a)
{
	size_t i, j, n = 0;

	for (i = 0; i < nd->n_addrs; i++) {
		if (nd->addrs[i].ip.family != family)
			continue;
		for (j = 0; j < n; j++)
			if (addr_eq(&a[j], &nd->addrs[i].ip))
				break;
		if (j == n)
			a[n++] = nd->addrs[i].ip;
	}
	return n;
}

/* The distributor's fast rule of service sv of vp (rules.h), when the
 * options ask for it and the service is plain TCP or UDP: handoff translates
 * each connection and SCTP has chunk work, both in userspace. */
static int
add_fastmap(struct rules *r, const struct cfg_vipa *vp, const struct cfg_service *sv)
{
	struct rules_match m;

	if (!r->opts.fastpath_dist || sv->handoff ||
	    (sv->proto != IPPROTO_TCP && sv->proto != IPPROTO_UDP))
		return 0;
	if (match_init(&m, RULES_HOOK_PREROUTING, &vp->addr, 1, sv->proto, sv->port) < 0)
		return -ENOMEM;
	if (fpmap_name(m.map, sizeof(m.map), vp->addr.family, sv->proto, &vp->addr,
		       sv->port) < 0) {
		free(m.addrs);
		return -EINVAL;
	}
	m.fastmap = true;
	m.to_port = sv->target_port;
	m.timeout_ms = sv->proto == IPPROTO_TCP ? r->opts.fp_tcp_timeout_ms
						: r->opts.fp_udp_timeout_ms;
	return rules_add(r, &m);
}

static int
build_distributor(struct rules *r, const struct cfg *c, size_t self)
{
	size_t v, s;
	bool sctp;
	int err;

	for (v = 0; v < c->n_vipas; v++) {
		const struct cfg_vipa *vp = &c->vipas[v];

		if (!is_distributor(vp, self) || vp->n_svcs == 0)
			continue;
		sctp = false;
		for (s = 0; s < vp->n_svcs; s++) {
			/* Before the queue rules: it accepts what it rewrites. */
			err = add_fastmap(r, vp, &vp->svcs[s]);
			if (err)
				return err;
			err = add_one(r, RULES_HOOK_PREROUTING, &vp->addr, 1, vp->svcs[s].proto,
				      vp->svcs[s].port, true);
			if (err)
				return err;
			if (!vp->has_alt || vp->svcs[s].proto != IPPROTO_SCTP)
				continue;
			/* Only SCTP services answer on the alternate address. */
			sctp = true;
			err = add_one(r, RULES_HOOK_PREROUTING, &vp->alt, 1, IPPROTO_SCTP,
				      vp->svcs[s].port, true);
			if (err)
				return err;
		}
		err = add_one(r, RULES_HOOK_PREROUTING, &vp->addr, 1,
			      icmp_proto(vp->addr.family), 0, true);
		if (!err && sctp)
			err = add_one(r, RULES_HOOK_PREROUTING, &vp->alt, 1,
				      icmp_proto(vp->alt.family), 0, true);
		if (err)
			return err;
	}
	return 0;
}

/* Whether the replies of service sv of vp may take the static rewrite on
 * node self: plain TCP or UDP (handoff translates each connection, SCTP has
 * chunk work), and no other service self serves shares its family, protocol
 * and target port (the rule could name one VIPA only). */
static bool
fast_eligible(const struct cfg *c, size_t self, const struct cfg_vipa *vp,
	      const struct cfg_service *sv)
{
	size_t v, s;

	if (sv->handoff || (sv->proto != IPPROTO_TCP && sv->proto != IPPROTO_UDP))
		return false;
	for (v = 0; v < c->n_vipas; v++) {
		const struct cfg_vipa *wp = &c->vipas[v];

		for (s = 0; s < wp->n_svcs; s++) {
			const struct cfg_service *o = &wp->svcs[s];

			if (o == sv || o->proto != sv->proto || o->target_port != sv->target_port ||
			    wp->addr.family != vp->addr.family)
				continue;
			if (is_target(wp, o, self))
				return false;
		}
	}
	return true;
}

static int
add_rewrite(struct rules *r, const struct ip_addr *addrs, size_t n_addrs,
	    const struct cfg_vipa *vp, const struct cfg_service *sv)
{
	struct rules_match m;

	if (match_init(&m, RULES_HOOK_OUTPUT, addrs, n_addrs, sv->proto, sv->target_port) < 0)
		return -ENOMEM;
	m.rewrite = true;
	m.to = vp->addr;
	m.to_port = sv->port;
	return rules_add(r, &m);
}

/* pass 0: inbound notrack; 1: outbound rewrites (fast path); 2: outbound
 * queued replies; 3: outbound ICMP errors.  The rewrites go first: they
 * accept, so no queue rule can take their packets. */
static int
build_target(struct rules *r, const struct cfg *c, size_t self, int pass, struct ip_addr *a)
{
	const struct cfg_node *nd = &c->nodes[self];
	size_t v, s, n;
	bool fast;
	int err;

	for (v = 0; v < c->n_vipas; v++) {
		const struct cfg_vipa *vp = &c->vipas[v];

		for (s = 0; s < vp->n_svcs; s++) {
			const struct cfg_service *sv = &vp->svcs[s];

			if (!is_target(vp, sv, self))
				continue;
			n = self_addrs(nd, vp->addr.family, a);
			if (n == 0)
				continue;	/* unreachable in this family: nothing to match */
			fast = r->opts.fastpath && fast_eligible(c, self, vp, sv);
			if (pass == 0)
				err = add_one(r, RULES_HOOK_PREROUTING, a, n, sv->proto,
					      sv->target_port, false);
			else if (pass == 1)
				err = fast ? add_rewrite(r, a, n, vp, sv) : 0;
			else if (pass == 2)
				err = fast ? 0 : add_one(r, RULES_HOOK_OUTPUT, a, n, sv->proto,
							 sv->target_port, true);
			else
				err = add_one(r, RULES_HOOK_OUTPUT, a, n,
					      icmp_proto(vp->addr.family), 0, true);
			if (err)
				return err;
		}
	}
	return 0;
}

static int
addr_cmp(const void *a, const void *b)
{
	const struct ip_addr *x = a, *y = b;

	return memcmp(x->b, y->b, addr_len(x));
}

/* Every node's addresses, by family, sorted (big-endian bytes compare as
 * the numbers nft sorts by), without duplicates. */
static int
build_sync(struct rules *r, const struct cfg *c)
{
	size_t total = 0, i, k, f;

	r->sync.port = c->sync_port;
	for (i = 0; i < c->n_nodes; i++)
		total += c->nodes[i].n_addrs;
	for (f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;
		struct ip_addr *a = calloc(total ? total : 1, sizeof(*a));
		size_t n = 0, u = 0;

		if (a == NULL)
			return -ENOMEM;
		r->sync.addrs[f] = a;
		for (i = 0; i < c->n_nodes; i++)
			for (k = 0; k < c->nodes[i].n_addrs; k++)
				if (c->nodes[i].addrs[k].ip.family == fam)
					a[n++] = c->nodes[i].addrs[k].ip;
		qsort(a, n, sizeof(*a), addr_cmp);
		for (i = 0; i < n; i++)
			if (u == 0 || !addr_eq(&a[u - 1], &a[i]))
				a[u++] = a[i];
		r->sync.n[f] = u;
	}
	r->sync.on = true;
	return 0;
}

struct rules *
rules_build(const struct cfg *c, long self, const struct rules_opts *o)
{
	struct rules *r;
	struct ip_addr *a = NULL;
	int pass;

	if (o->workers == 0 || o->workers > RULES_WORKERS_MAX ||
	    (unsigned)o->queue_base + o->workers - 1 > UINT16_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->opts = *o;
	if (self < 0 || (size_t)self >= c->n_nodes)
		return r;

	if (c->nodes[self].n_addrs > 0) {
		a = calloc(c->nodes[self].n_addrs, sizeof(*a));
		if (a == NULL)
			goto fail;
	}
	if (build_sync(r, c) || build_distributor(r, c, (size_t)self))
		goto fail;
	r->inject_accept = is_hoff_target(c, (size_t)self);
	for (pass = 0; a != NULL && pass < 4; pass++)
		if (build_target(r, c, (size_t)self, pass, a))
			goto fail;
	free(a);
	return r;
fail:
	free(a);
	rules_free(r);
	return NULL;
}

void
rules_free(struct rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->m[i].addrs);
	free(r->m);
	free(r->sync.addrs[0]);
	free(r->sync.addrs[1]);
	free(r);
}

size_t
rules_count(const struct rules *r)
{
	return r->n;
}

const struct rules_match *
rules_get(const struct rules *r, size_t i)
{
	return i < r->n ? &r->m[i] : NULL;
}

const struct rules_opts *
rules_options(const struct rules *r)
{
	return &r->opts;
}

const struct rules_sync *
rules_sync_filter(const struct rules *r)
{
	return &r->sync;
}

bool
rules_inject_accept(const struct rules *r)
{
	return r->inject_accept;
}

unsigned
rules_match_queues(const struct rules *r, const struct rules_match *m)
{
	if (!m->queue)
		return 0;
	if (m->proto == IPPROTO_SCTP)
		return 1;
	return r->opts.workers;
}

/* A growing string; the first allocation failure sticks. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		size_t cap = b->cap;
		char *np;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static bool
is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* The match part: addresses, protocol and port or ICMP types, then notrack. */
static void
render_match(struct sbuf *b, const struct rules_match *m)
{
	const char *nf = m->family == AF_INET ? "ip" : "ip6";
	const char *dir = m->hook == RULES_HOOK_PREROUTING ? "d" : "s";
	char buf[ADDR_STRLEN];
	size_t i;

	sb_printf(b, "%s %saddr ", nf, dir);
	if (m->n_addrs == 1) {
		sb_printf(b, "%s", addr_fmt(&m->addrs[0], buf, sizeof(buf)));
	} else {
		sb_printf(b, "{ ");
		for (i = 0; i < m->n_addrs; i++) {
			addr_fmt(&m->addrs[i], buf, sizeof(buf));
			sb_printf(b, "%s%s", i ? ", " : "", buf);
		}
		sb_printf(b, " }");
	}
	if (is_icmp(m->proto)) {
		const char *const *names = m->family == AF_INET ? icmp4_names : icmp6_names;

		sb_printf(b, " %s type { ", m->family == AF_INET ? "icmp" : "icmpv6");
		for (i = 0; i < 4; i++)
			sb_printf(b, "%s%s", i ? ", " : "", names[i]);
		sb_printf(b, " }");
	} else {
		sb_printf(b, " %s %sport %u", cfg_proto_name(m->proto), dir, m->port);
	}
	/* SYN, FIN and RST (with any other bit) stay on the queue: the engine
	 * decides and ends connections; nft lists `& (fin|syn|rst) == 0` so. */
	if (m->fastmap && m->proto == IPPROTO_TCP)
		sb_printf(b, " tcp flags ! fin,syn,rst");
	sb_printf(b, " notrack");
}

/* The hash key is the client side: the source in prerouting, the destination
 * in output; ICMP errors hash the address only (the embedded header is not
 * reachable by a payload expression). */
static void
render_hash_key(struct sbuf *b, const struct rules_match *m)
{
	const char *nf = m->family == AF_INET ? "ip" : "ip6";
	const char *dir = m->hook == RULES_HOOK_PREROUTING ? "s" : "d";

	sb_printf(b, "%s %saddr", nf, dir);
	if (!is_icmp(m->proto))
		sb_printf(b, " . %s %sport", cfg_proto_name(m->proto), dir);
}

/* The fast path's tail, as nft 1.0.6 lists it: `ip saddr set V tcp sport set
 * P counter accept` (a listing adds the counter's values). */
static void
render_rewrite(struct sbuf *b, const struct rules_match *m)
{
	char buf[ADDR_STRLEN];

	sb_printf(b, " %s saddr set %s", m->family == AF_INET ? "ip" : "ip6",
		  addr_fmt(&m->to, buf, sizeof(buf)));
	if (m->to_port != m->port)
		sb_printf(b, " %s sport set %u", cfg_proto_name(m->proto), m->to_port);
	sb_printf(b, " counter accept");
}

/* A duration as nft 1.0.6 prints one: `1d2h3m4s5ms`, zero parts left out.
 * The kernel keeps a set's timeouts in jiffies, so a value that is not a
 * whole number of them (HZ 250: 4 ms) reads back shorter; the daemon's are
 * whole seconds. */
static void
render_time(struct sbuf *b, uint64_t ms)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} parts[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" },
	};
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (ms >= parts[i].ms)
			sb_printf(b, "%llu%s", (unsigned long long)(ms / parts[i].ms),
				  parts[i].unit);
		ms %= parts[i].ms;
	}
}

/* The client side of a flow, the fast map's key: `ip saddr . tcp sport`;
 * for IPv6 the port first, `tcp sport . ip6 saddr` (rules/fpmap.h). */
static void
render_fast_key(struct sbuf *b, const struct rules_match *m)
{
	const char *p = cfg_proto_name(m->proto);

	if (m->family == AF_INET)
		sb_printf(b, "ip saddr . %s sport", p);
	else
		sb_printf(b, "%s sport . ip6 saddr", p);
}

/* The distributor's fast rule after notrack, as nft 1.0.6 lists it.
 *
 * The IPv6 text must not be fed back to nft 1.0.6: it compiles the update's
 * data (16 bytes) into a register that overlaps the 20-byte key's last word,
 * so every packet would create a bogus element and never refresh the real
 * one (and with the address first in the key nft aborts).  The daemon
 * installs through libnftnl with the data in NFT_REG_3 (rules/nft.c), which
 * nft lists as this text; --print-rules never renders fast rules. */
static void
render_fastmap(struct sbuf *b, const struct rules_match *m)
{
	const char *nf = m->family == AF_INET ? "ip" : "ip6";

	sb_printf(b, " %s daddr set ", nf);
	render_fast_key(b, m);
	sb_printf(b, " map @%s", m->map);
	if (m->to_port != m->port)
		sb_printf(b, " %s dport set %u", cfg_proto_name(m->proto), m->to_port);
	sb_printf(b, " update @%s { ", m->map);
	render_fast_key(b, m);
	if (m->timeout_ms) {
		sb_printf(b, " timeout ");
		render_time(b, m->timeout_ms);
	}
	sb_printf(b, " : %s daddr } counter accept", nf);
}

/* The maps of the fast rules, in their order, as nft 1.0.6 lists them. */
static void
render_maps(struct sbuf *b, const struct rules *r)
{
	size_t k;

	for (k = 0; k < r->n; k++) {
		const struct rules_match *m = &r->m[k];

		if (!m->fastmap)
			continue;
		sb_printf(b, "\tmap %s {\n", m->map);
		if (m->family == AF_INET)
			sb_printf(b, "\t\ttype ipv4_addr . inet_service : ipv4_addr\n");
		else
			sb_printf(b, "\t\ttype inet_service . ipv6_addr : ipv6_addr\n");
		if (r->opts.fp_map_size)
			sb_printf(b, "\t\tsize %u\n", r->opts.fp_map_size);
		sb_printf(b, "\t\tflags dynamic,timeout\n");
		if (m->timeout_ms) {
			sb_printf(b, "\t\ttimeout ");
			render_time(b, m->timeout_ms);
			sb_printf(b, "\n");
		}
		sb_printf(b, "\t}\n");
	}
}

static void
render_chain(struct sbuf *b, const struct rules *r, enum rules_hook hook)
{
	const char *name = hook == RULES_HOOK_PREROUTING ? RULES_CHAIN_PRE : RULES_CHAIN_OUT;
	unsigned w, i;
	size_t k;

	sb_printf(b, "\tchain %s {\n", name);
	sb_printf(b, "\t\ttype filter hook %s priority raw; policy accept;\n", name);
	if (hook == RULES_HOOK_OUTPUT && r->inject_accept)
		sb_printf(b, "\t\tmeta mark 0x%08x notrack accept\n", RULES_INJECT_MARK);
	for (k = 0; k < r->n; k++) {
		const struct rules_match *m = &r->m[k];

		if (m->hook != hook)
			continue;
		w = rules_match_queues(r, m);
		if (w == 0) {
			sb_printf(b, "\t\t");
			render_match(b, m);
			if (m->rewrite)
				render_rewrite(b, m);
			if (m->fastmap)
				render_fastmap(b, m);
			sb_printf(b, "\n");
			continue;
		}
		for (i = 0; i < w; i++) {
			sb_printf(b, "\t\t");
			render_match(b, m);
			if (w > 1) {
				sb_printf(b, " jhash ");
				render_hash_key(b, m);
				sb_printf(b, " mod %u seed 0x%x == %u", w, RULES_HASH_SEED, i);
			}
			sb_printf(b, " queue num %u\n", r->opts.queue_base + i);
		}
	}
	sb_printf(b, "\t}\n");
}

/* `ip saddr != { a, b } udp dport P drop`, as nft lists it: a single
 * address without braces, none at all as `meta nfproto ipv4`. */
static void
render_sync(struct sbuf *b, const struct rules_sync *sy)
{
	char buf[ADDR_STRLEN];
	size_t f, i;

	if (!sy->on)
		return;
	sb_printf(b, "\tchain %s {\n", RULES_CHAIN_IN);
	sb_printf(b, "\t\ttype filter hook input priority raw; policy accept;\n");
	for (f = 0; f < 2; f++) {
		const char *nf = f ? "ip6" : "ip";

		sb_printf(b, "\t\t");
		if (sy->n[f] == 0) {
			sb_printf(b, "meta nfproto %s", f ? "ipv6" : "ipv4");
		} else if (sy->n[f] == 1) {
			sb_printf(b, "%s saddr != %s", nf, addr_fmt(&sy->addrs[f][0], buf, sizeof(buf)));
		} else {
			sb_printf(b, "%s saddr != { ", nf);
			for (i = 0; i < sy->n[f]; i++)
				sb_printf(b, "%s%s", i ? ", " : "",
					  addr_fmt(&sy->addrs[f][i], buf, sizeof(buf)));
			sb_printf(b, " }");
		}
		sb_printf(b, " udp dport %u drop\n", sy->port);
	}
	sb_printf(b, "\t}\n");
}

char *
rules_render(const struct rules *r)
{
	struct sbuf b = { .cap = 1024 };

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	sb_printf(&b, "table inet %s {\n", RULES_TABLE);
	render_maps(&b, r);
	render_chain(&b, r, RULES_HOOK_PREROUTING);
	render_chain(&b, r, RULES_HOOK_OUTPUT);
	render_sync(&b, &r->sync);
	sb_printf(&b, "}\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
