/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config: load and validate the configuration file.
 *
 * libconfig does the syntax; this file does the meaning.  Every group is
 * checked for unknown keys (a typo must not pass as a default), every value
 * for its type and range, every node name is resolved, and the cross checks
 * (duplicates, address families, reply ambiguity) run before the object is
 * returned.  Errors name the file and the line of the offending setting.
 * No globals, no logging: the caller prints err. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include <libconfig.h>

#include "common/config.h"

/* Defaults that config.h does not spell out. */
#define DEF_CLUSTER_NAME	"clusterd"
/* Makefile.am: $(runstatedir)/clusterd/clusterd.sock, shared with clusterctl */
#define DEF_CONTROL_SOCKET	CLUSTERD_SOCKET_PATH

/* A setting that may be a list ( ... ) or an array [ ... ] of names. */
#define T_NAMES			(-1)

struct ld {
	const char *path;
	char *err;
	size_t errlen;
	struct cfg *c;
};

/* libconfig names an @include file as written; it was found in the directory
 * of the main file.  Returns how much of path to print before file. */
static int incl_dirlen(const char *path, const char *file)
{
	const char *slash = strrchr(path, '/');

	if (file == path || strcmp(file, path) == 0 || file[0] == '/' || !slash)
		return 0;
	return (int)(slash - path + 1);
}

static int __attribute__((format(printf, 3, 4)))
fail(struct ld *ld, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = ld->path;
	char msg[CFG_ERR_MAX];
	unsigned line = 0;
	int dirlen;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s) {
		line = config_setting_source_line(s);
		if (config_setting_source_file(s))
			file = config_setting_source_file(s);
	}
	dirlen = incl_dirlen(ld->path, file);
	if (!ld->err || !ld->errlen)
		return -1;
	if (line)
		snprintf(ld->err, ld->errlen, "%.*s%s:%u: %s", dirlen, ld->path, file, line, msg);
	else
		snprintf(ld->err, ld->errlen, "%.*s%s: %s", dirlen, ld->path, file, msg);
	return -1;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean (true or false)";
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case T_NAMES:
		return "a list of names ( \"a\", \"b\" )";
	}
	return "a setting";
}

static bool type_ok(const config_setting_t *s, int type)
{
	int t = config_setting_type(s);

	switch (type) {
	case CONFIG_TYPE_INT:
		return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case T_NAMES:
		return t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY;
	}
	return t == type;
}

/* Refuses any member of group g whose name is not in keys (NULL-ended). */
static int check_keys(struct ld *ld, const config_setting_t *g, const char *const *keys,
		      const char *where)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *k;

		if (!name)
			continue;
		for (k = keys; *k; k++)
			if (strcmp(*k, name) == 0)
				break;
		if (!*k)
			return fail(ld, m, "unknown key '%s' in %s", name, where);
	}
	return 0;
}

/* Finds member key of g and checks its type.  Returns 1 and sets *out when
 * present, 0 when absent and optional, -1 on error. */
static int member(struct ld *ld, const config_setting_t *g, const char *key, int type, bool req,
		  const char *where, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(g, key);

	*out = NULL;
	if (!s) {
		if (req)
			return fail(ld, g, "missing required key '%s' in %s", key, where);
		return 0;
	}
	if (!type_ok(s, type))
		return fail(ld, s, "'%s' in %s must be %s", key, where, type_name(type));
	*out = s;
	return 1;
}

static int get_int(struct ld *ld, const config_setting_t *g, const char *key, long long min,
		   long long max, bool req, const char *where, long long *v)
{
	config_setting_t *s;
	long long x;
	int r;

	r = member(ld, g, key, CONFIG_TYPE_INT, req, where, &s);
	if (r <= 0)
		return r;
	x = config_setting_get_int64(s);
	if (x < min || x > max)
		return fail(ld, s, "'%s' in %s must be %lld..%lld, not %lld", key, where, min,
			    max, x);
	*v = x;
	return 1;
}

static int get_bool(struct ld *ld, const config_setting_t *g, const char *key, const char *where,
		    bool *v)
{
	config_setting_t *s;
	int r;

	r = member(ld, g, key, CONFIG_TYPE_BOOL, false, where, &s);
	if (r <= 0)
		return r;
	*v = config_setting_get_bool(s) != 0;
	return 1;
}

/* Gets a non-empty string that fits in buf (len includes the NUL). */
static int get_str(struct ld *ld, const config_setting_t *g, const char *key, char *buf,
		   size_t len, bool req, const char *where, config_setting_t **sp)
{
	config_setting_t *s;
	const char *v;
	size_t n;
	int r;

	r = member(ld, g, key, CONFIG_TYPE_STRING, req, where, &s);
	if (sp)
		*sp = s;
	if (r <= 0)
		return r;
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0)
		return fail(ld, s, "'%s' in %s must not be empty", key, where);
	if (n >= len)
		return fail(ld, s, "'%s' in %s is too long (at most %zu characters)", key, where,
			    len - 1);
	memcpy(buf, v, n + 1);
	return 1;
}

static bool name_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* The kernel's dev_valid_name(): no '/', ':' or white space, not . or .. */
static bool ifname_valid(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int get_ifname(struct ld *ld, const config_setting_t *g, const char *key, bool req,
		      const char *where, char *buf)
{
	config_setting_t *s;
	int r;

	r = member(ld, g, key, CONFIG_TYPE_STRING, req, where, &s);
	if (r <= 0)
		return r;
	if (strlen(config_setting_get_string(s)) >= IF_NAMESIZE)
		return fail(ld, s, "interface name '%s' is too long (at most %d characters)",
			    config_setting_get_string(s), IF_NAMESIZE - 1);
	if (!ifname_valid(config_setting_get_string(s)))
		return fail(ld, s, "'%s' is not a valid interface name",
			    config_setting_get_string(s));
	strcpy(buf, config_setting_get_string(s));
	return 1;
}

static int get_ip(struct ld *ld, const config_setting_t *g, const char *key, bool req,
		  const char *where, struct ip_addr *a, config_setting_t **sp)
{
	config_setting_t *s;
	int r;

	r = member(ld, g, key, CONFIG_TYPE_STRING, req, where, &s);
	if (sp)
		*sp = s;
	if (r <= 0)
		return r;
	if (!addr_parse(a, config_setting_get_string(s)))
		return fail(ld, s, "'%s' in %s is not an IPv4 or IPv6 address: '%s'", key, where,
			    config_setting_get_string(s));
	return 1;
}

/* Looks up a string in a NULL-ended table; returns its index or -1. */
static int lookup(const char *const *tab, const char *s)
{
	int i;

	for (i = 0; tab[i]; i++)
		if (strcmp(tab[i], s) == 0)
			return i;
	return -1;
}

static int get_enum(struct ld *ld, const config_setting_t *g, const char *key,
		    const char *const *tab, const char *choices, const char *where, int *v)
{
	config_setting_t *s;
	int r, i;

	r = member(ld, g, key, CONFIG_TYPE_STRING, false, where, &s);
	if (r <= 0)
		return r;
	i = lookup(tab, config_setting_get_string(s));
	if (i < 0)
		return fail(ld, s, "'%s' in %s must be one of %s, not '%s'", key, where, choices,
			    config_setting_get_string(s));
	*v = i;
	return 1;
}

static const char *fam_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* cluster = { ... } */

static const char *const sync_modes[] = { "every-update", "periodic", "on-event", NULL };
static const char *const scheds[] = { "maglev", "round-robin", "least-conn", NULL };

static bool is_multicast(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return IN_MULTICAST(ntohl(a->v4.s_addr));
	return IN6_IS_ADDR_MULTICAST(&a->v6);
}

static int parse_sync(struct ld *ld, const config_setting_t *g)
{
	static const char *const keys[] = {
		"group", "port", "interface", "mode", "interval_ms", NULL
	};
	struct cfg *c = ld->c;
	config_setting_t *s;
	long long v;
	int mode, r;

	if (check_keys(ld, g, keys, "cluster.sync") < 0)
		return -1;
	r = get_ip(ld, g, "group", false, "cluster.sync", &c->sync_group, &s);
	if (r < 0)
		return -1;
	if (r == 1 && !is_multicast(&c->sync_group))
		return fail(ld, s, "sync group '%s' is not a multicast address",
			    config_setting_get_string(s));
	if (get_int(ld, g, "port", 1, 65535, false, "cluster.sync", &v) < 0)
		return -1;
	c->sync_port = (uint16_t)v;
	if (get_ifname(ld, g, "interface", false, "cluster.sync", c->sync_ifname) < 0)
		return -1;
	mode = c->sync_mode;
	if (get_enum(ld, g, "mode", sync_modes, "every-update, periodic, on-event",
		     "cluster.sync", &mode) < 0)
		return -1;
	c->sync_mode = (enum cfg_sync_mode)mode;
	v = c->sync_interval_ms;
	if (get_int(ld, g, "interval_ms", 1, 3600000, false, "cluster.sync", &v) < 0)
		return -1;
	c->sync_interval_ms = (unsigned)v;
	return 0;
}

static int parse_cluster(struct ld *ld, const config_setting_t *g)
{
	static const char *const keys[] = {
		"name", "key_file", "sync", "heartbeat_ms", "retry_threshold", NULL
	};
	struct cfg *c = ld->c;
	config_setting_t *s;
	const char *slash;
	char kf[sizeof(c->key_file)];
	long long v;
	int r;

	if (check_keys(ld, g, keys, "cluster") < 0)
		return -1;
	if (get_str(ld, g, "name", c->cluster_name, sizeof(c->cluster_name), false, "cluster",
		    &s) < 0)
		return -1;
	if (s && !name_valid(c->cluster_name))
		return fail(ld, s, "cluster name '%s' may only contain letters, digits, "
			    "'.', '_' and '-'", c->cluster_name);
	if (get_str(ld, g, "key_file", kf, sizeof(kf), true, "cluster", &s) < 0)
		return -1;
	/* A relative key file is found beside the configuration file, not in
	 * whatever directory the daemon happens to run in. */
	slash = strrchr(ld->path, '/');
	if (kf[0] != '/' && slash) {
		r = snprintf(c->key_file, sizeof(c->key_file), "%.*s/%s",
			     (int)(slash - ld->path), ld->path, kf);
		if (r < 0 || (size_t)r >= sizeof(c->key_file))
			return fail(ld, s, "key_file path is too long");
	} else {
		strcpy(c->key_file, kf);
	}
	r = member(ld, g, "sync", CONFIG_TYPE_GROUP, false, "cluster", &s);
	if (r < 0 || (r == 1 && parse_sync(ld, s) < 0))
		return -1;
	v = c->heartbeat_ms;
	if (get_int(ld, g, "heartbeat_ms", 1, 60000, false, "cluster", &v) < 0)
		return -1;
	c->heartbeat_ms = (unsigned)v;
	v = c->retry_threshold;
	if (get_int(ld, g, "retry_threshold", 1, 100, false, "cluster", &v) < 0)
		return -1;
	c->retry_threshold = (unsigned)v;
	return 0;
}

/* daemon = { ... } */

static int parse_timeouts(struct ld *ld, const config_setting_t *g)
{
	static const char *const keys[] = {
		"tcp_syn", "tcp_established", "tcp_fin", "udp", NULL
	};
	static const char *w = "daemon.timeouts";
	struct cfg *c = ld->c;
	long long v;

	if (check_keys(ld, g, keys, w) < 0)
		return -1;
	v = c->tcp_syn_timeout;
	if (get_int(ld, g, "tcp_syn", 1, 604800, false, w, &v) < 0)
		return -1;
	c->tcp_syn_timeout = (unsigned)v;
	v = c->tcp_est_timeout;
	if (get_int(ld, g, "tcp_established", 1, 604800, false, w, &v) < 0)
		return -1;
	c->tcp_est_timeout = (unsigned)v;
	v = c->tcp_fin_timeout;
	if (get_int(ld, g, "tcp_fin", 1, 604800, false, w, &v) < 0)
		return -1;
	c->tcp_fin_timeout = (unsigned)v;
	v = c->udp_timeout;
	if (get_int(ld, g, "udp", 1, 604800, false, w, &v) < 0)
		return -1;
	c->udp_timeout = (unsigned)v;
	return 0;
}

static int parse_daemon(struct ld *ld, const config_setting_t *g)
{
	static const char *const keys[] = {
		"workers", "queue", "queue_maxlen", "manage_rules", "control_socket",
		"conn_max", "timeouts", "fastpath", NULL
	};
	struct cfg *c = ld->c;
	config_setting_t *s, *qs;
	long long v;
	int r;

	if (check_keys(ld, g, keys, "daemon") < 0)
		return -1;
	v = c->workers;
	if (get_int(ld, g, "workers", 0, 1024, false, "daemon", &v) < 0)
		return -1;
	c->workers = (unsigned)v;
	v = c->queue_base;
	if (get_int(ld, g, "queue", 0, 65535, false, "daemon", &v) < 0)
		return -1;
	c->queue_base = (uint16_t)v;
	/* One queue per worker; the last one must still be a queue number. */
	qs = config_setting_get_member(g, "queue");
	if (qs && c->workers && (unsigned)c->queue_base + c->workers - 1 > 65535)
		return fail(ld, qs, "queues %u..%u do not fit below 65536", c->queue_base,
			    c->queue_base + c->workers - 1);
	v = c->queue_maxlen;
	if (get_int(ld, g, "queue_maxlen", 1, 1048576, false, "daemon", &v) < 0)
		return -1;
	c->queue_maxlen = (uint32_t)v;
	if (get_bool(ld, g, "manage_rules", "daemon", &c->manage_rules) < 0)
		return -1;
	if (get_bool(ld, g, "fastpath", "daemon", &c->fastpath) < 0)
		return -1;
	if (get_str(ld, g, "control_socket", c->control_socket, sizeof(c->control_socket),
		    false, "daemon", &s) < 0)
		return -1;
	if (s && c->control_socket[0] != '/')
		return fail(ld, s, "control_socket must be an absolute path");
	v = c->conn_max;
	if (get_int(ld, g, "conn_max", 1, 67108864, false, "daemon", &v) < 0)
		return -1;
	c->conn_max = (unsigned)v;
	r = member(ld, g, "timeouts", CONFIG_TYPE_GROUP, false, "daemon", &s);
	if (r < 0 || (r == 1 && parse_timeouts(ld, s) < 0))
		return -1;
	return 0;
}

/* metrics = { ... } */

/* "10.0.0.1:9677" or "[fd00::1]:9677" */
static bool parse_host_port(const char *v, struct ip_addr *a, uint16_t *port)
{
	char host[ADDR_STRLEN + 2];
	const char *colon, *p;
	size_t hl;
	unsigned long n = 0;

	if (v[0] == '[') {
		const char *rb = strchr(v, ']');

		if (!rb || rb[1] != ':')
			return false;
		hl = (size_t)(rb - v - 1);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, v + 1, hl);
		host[hl] = 0;
		colon = rb + 1;
		if (!addr_parse(a, host) || a->family != AF_INET6)
			return false;
	} else {
		colon = strrchr(v, ':');
		if (!colon || (size_t)(colon - v) >= sizeof(host))
			return false;
		hl = (size_t)(colon - v);
		memcpy(host, v, hl);
		host[hl] = 0;
		if (!addr_parse(a, host) || a->family != AF_INET)
			return false;
	}
	if (!colon[1])
		return false;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > 65535)
			return false;
	}
	if (n == 0)
		return false;
	*port = (uint16_t)n;
	return true;
}

static int parse_metrics(struct ld *ld, const config_setting_t *g)
{
	static const char *const keys[] = { "listen", NULL };
	struct cfg *c = ld->c;
	config_setting_t *s;
	char v[ADDR_STRLEN + 16];

	if (check_keys(ld, g, keys, "metrics") < 0)
		return -1;
	if (get_str(ld, g, "listen", v, sizeof(v), true, "metrics", &s) < 0)
		return -1;
	if (!parse_host_port(v, &c->metrics_addr, &c->metrics_port))
		return fail(ld, s, "metrics.listen '%s' is not ADDRESS:PORT (\"10.0.0.1:9677\" or "
			    "\"[fd00::1]:9677\", port 1-65535)", v);
	return 0;
}

/* nodes = ( ... ) */

static int parse_addr(struct ld *ld, const config_setting_t *g, const char *where,
		      struct cfg_addr *a)
{
	static const char *const keys[] = {
		"ip", "prefix", "mtu", "type", "cos", "retry", NULL
	};
	bool v6;
	long long v;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each address of %s must be a group { ip = ...; }", where);
	if (check_keys(ld, g, keys, where) < 0)
		return -1;
	if (get_ip(ld, g, "ip", true, where, &a->ip, NULL) < 0)
		return -1;
	v6 = a->ip.family == AF_INET6;
	v = v6 ? 64 : 24;
	if (get_int(ld, g, "prefix", 1, v6 ? 128 : 32, false, where, &v) < 0)
		return -1;
	a->prefix = (int)v;
	v = 1500;
	if (get_int(ld, g, "mtu", v6 ? 1280 : 68, 65535, false, where, &v) < 0)
		return -1;
	a->mtu = (int)v;
	strcpy(a->type, "ethernet");
	if (get_str(ld, g, "type", a->type, sizeof(a->type), false, where, NULL) < 0)
		return -1;
	v = 0;
	if (get_int(ld, g, "cos", 0, 255, false, where, &v) < 0)
		return -1;
	a->cos = (int)v;
	v = ld->c->retry_threshold;
	if (get_int(ld, g, "retry", 1, 100, false, where, &v) < 0)
		return -1;
	a->retry = (int)v;
	return 0;
}

static int parse_node(struct ld *ld, const config_setting_t *g, size_t idx)
{
	static const char *const keys[] = { "name", "addresses", NULL };
	struct cfg *c = ld->c;
	struct cfg_node *n = &c->nodes[idx];
	config_setting_t *s, *as;
	char where[CFG_NAME_MAX + 16];
	size_t i;
	int len;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each entry of nodes must be a group { name = ...; }");
	n->line = config_setting_source_line(g);
	if (get_str(ld, g, "name", n->name, sizeof(n->name), true, "nodes entry", &s) < 0)
		return -1;
	if (!name_valid(n->name))
		return fail(ld, s, "node name '%s' may only contain letters, digits, "
			    "'.', '_' and '-'", n->name);
	for (i = 0; i < idx; i++)
		if (strcmp(c->nodes[i].name, n->name) == 0)
			return fail(ld, s, "duplicate node name '%s' (first on line %d)",
				    n->name, c->nodes[i].line);
	snprintf(where, sizeof(where), "node '%s'", n->name);
	if (check_keys(ld, g, keys, where) < 0)
		return -1;
	if (member(ld, g, "addresses", CONFIG_TYPE_LIST, true, where, &as) < 0)
		return -1;
	len = config_setting_length(as);
	if (len <= 0)
		return fail(ld, as, "node '%s' needs at least one address", n->name);
	if (len > CFG_MAX_NODE_ADDRS)
		return fail(ld, as, "node '%s' has %d addresses; at most %d", n->name, len,
			    CFG_MAX_NODE_ADDRS);
	n->addrs = calloc((size_t)len, sizeof(*n->addrs));
	if (!n->addrs)
		return fail(ld, as, "out of memory");
	n->n_addrs = (size_t)len;
	for (i = 0; i < n->n_addrs; i++)
		if (parse_addr(ld, config_setting_get_elem(as, (unsigned)i), where,
			       &n->addrs[i]) < 0)
			return -1;
	return 0;
}

static const config_setting_t *addr_setting(const config_setting_t *ns, size_t n, size_t a)
{
	const config_setting_t *g = config_setting_get_elem(ns, (unsigned)n);

	return config_setting_get_elem(config_setting_get_member(g, "addresses"), (unsigned)a);
}

/* An address must identify one node: messages and roles follow it. */
static int check_node_addrs(struct ld *ld, const config_setting_t *ns)
{
	const struct cfg *c = ld->c;
	size_t i, j, k, l;
	char ab[ADDR_STRLEN];

	for (i = 0; i < c->n_nodes; i++) {
		for (j = 0; j < c->nodes[i].n_addrs; j++) {
			const struct ip_addr *a = &c->nodes[i].addrs[j].ip;

			for (k = 0; k <= i; k++) {
				for (l = 0; l < (k == i ? j : c->nodes[k].n_addrs); l++) {
					if (!addr_eq(a, &c->nodes[k].addrs[l].ip))
						continue;
					return fail(ld, addr_setting(ns, i, j),
						    "duplicate address %s: node '%s' and node '%s'",
						    addr_fmt(a, ab, sizeof(ab)),
						    c->nodes[k].name, c->nodes[i].name);
				}
			}
		}
	}
	return 0;
}

static int parse_nodes(struct ld *ld, const config_setting_t *ns)
{
	struct cfg *c = ld->c;
	size_t i;
	int len;

	len = config_setting_length(ns);
	if (len <= 0)
		return fail(ld, ns, "nodes must list at least one node");
	if (len > CFG_MAX_NODES)
		return fail(ld, ns, "nodes lists %d nodes; a cluster has at most %d", len,
			    CFG_MAX_NODES);
	c->nodes = calloc((size_t)len, sizeof(*c->nodes));
	if (!c->nodes)
		return fail(ld, ns, "out of memory");
	c->n_nodes = (size_t)len;
	for (i = 0; i < c->n_nodes; i++)
		if (parse_node(ld, config_setting_get_elem(ns, (unsigned)i), i) < 0)
			return -1;
	return check_node_addrs(ld, ns);
}

/* vipas = ( ... ) */

/* Resolves a node name at setting s; the node needs an address of the VIPA's
 * family, else the rewritten packets could not reach it. */
static int resolve(struct ld *ld, const config_setting_t *s, const char *name,
		   const struct ip_addr *vipa, size_t *idx)
{
	long n = cfg_node_index(ld->c, name);
	char ab[ADDR_STRLEN];

	if (n < 0)
		return fail(ld, s, "unknown node '%s'", name);
	if (!cfg_node_addr(ld->c, (size_t)n, vipa->family))
		return fail(ld, s, "node '%s' has no %s address for vipa %s", name,
			    fam_name(vipa->family), addr_fmt(vipa, ab, sizeof(ab)));
	*idx = (size_t)n;
	return 0;
}

static int parse_target(struct ld *ld, const config_setting_t *e, const char *where,
			const struct ip_addr *vipa, struct cfg_target *t)
{
	static const char *const keys[] = { "node", "weight", NULL };
	config_setting_t *ns;
	long long w = 1;

	if (config_setting_type(e) == CONFIG_TYPE_STRING) {
		t->weight = 1;
		return resolve(ld, e, config_setting_get_string(e), vipa, &t->node);
	}
	if (config_setting_type(e) != CONFIG_TYPE_GROUP)
		return fail(ld, e, "each target in %s must be a node name or "
			    "{ node = \"...\"; weight = N; }", where);
	if (check_keys(ld, e, keys, "target") < 0)
		return -1;
	if (member(ld, e, "node", CONFIG_TYPE_STRING, true, "target", &ns) < 0)
		return -1;
	if (get_int(ld, e, "weight", 1, 256, false, "target", &w) < 0)
		return -1;
	t->weight = (unsigned)w;
	return resolve(ld, ns, config_setting_get_string(ns), vipa, &t->node);
}

static int parse_targets(struct ld *ld, const config_setting_t *ts, const char *where,
			 const struct ip_addr *vipa, struct cfg_target **out, size_t *nout)
{
	struct cfg_target *t;
	size_t i, j, n;
	int len;

	len = config_setting_length(ts);
	if (len <= 0)
		return fail(ld, ts, "targets in %s must name at least one node", where);
	n = (size_t)len;
	t = calloc(n, sizeof(*t));
	if (!t)
		return fail(ld, ts, "out of memory");
	*out = t;
	*nout = n;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(ts, (unsigned)i);

		if (parse_target(ld, e, where, vipa, &t[i]) < 0)
			return -1;
		for (j = 0; j < i; j++)
			if (t[j].node == t[i].node)
				return fail(ld, e, "node '%s' is listed twice in targets of %s",
					    ld->c->nodes[t[i].node].name, where);
	}
	return 0;
}

static bool in_targets(const struct cfg_target *t, size_t n, size_t node)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].node == node)
			return true;
	return false;
}

bool cfg_serves(const struct cfg_vipa *vp, const struct cfg_service *sv, size_t node)
{
	size_t i;

	if (in_targets(sv->targets, sv->n_targets, node))
		return true;
	for (i = 0; i < vp->n_dists; i++)
		if (in_targets(vp->dists[i].targets, vp->dists[i].n_targets, node))
			return true;
	for (i = 0; i < sv->n_rules; i++)
		if (in_targets(sv->rules[i].targets, sv->rules[i].n_targets, node))
			return true;
	return false;
}

static int parse_rule(struct ld *ld, const config_setting_t *g, const char *where,
		      const struct ip_addr *vipa, bool tls, struct cfg_handoff_rule *r)
{
	static const char *const keys[] = { "host", "path_prefix", "targets", NULL };
	config_setting_t *s;
	const char *p;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each handoff rule of %s must be a group { ... }", where);
	r->line = config_setting_source_line(g);
	if (check_keys(ld, g, keys, "handoff rule") < 0)
		return -1;
	if (get_str(ld, g, "host", r->host, sizeof(r->host), false, "handoff rule", &s) < 0)
		return -1;
	for (p = r->host; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/')
			return fail(ld, s, "host '%s' is not a host name", r->host);
	if (get_str(ld, g, "path_prefix", r->path_prefix, sizeof(r->path_prefix), false,
		    "handoff rule", &s) < 0)
		return -1;
	/* The front-end reads only the ClientHello of a TLS connection: the
	 * server name is there, the request's path is encrypted. */
	if (s && tls)
		return fail(ld, s, "path_prefix cannot be matched with handoff protocol \"tls\" "
			    "(%s): a TLS ClientHello carries the host name only", where);
	if (s && r->path_prefix[0] != '/')
		return fail(ld, s, "path_prefix '%s' must start with '/'", r->path_prefix);
	for (p = r->path_prefix; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return fail(ld, s, "path_prefix must not contain white space");
	if (member(ld, g, "targets", T_NAMES, true, "handoff rule", &s) < 0)
		return -1;
	return parse_targets(ld, s, where, vipa, &r->targets, &r->n_targets);
}

static const char *const hoff_protos[] = { "http", "tls", NULL };

static int parse_handoff(struct ld *ld, const config_setting_t *g, const char *where,
			 const struct ip_addr *vipa, struct cfg_service *sv)
{
	static const char *const keys[] = {
		"rules", "protocol", "timeout_ms", "request_timeout_ms", "max_request", NULL
	};
	config_setting_t *rs;
	long long v;
	size_t i;
	int len, p;

	/* Handoff replays a TCP handshake; nothing to hand off otherwise. */
	if (sv->proto != IPPROTO_TCP)
		return fail(ld, g, "handoff needs protocol tcp, not %s (%s)",
			    cfg_proto_name(sv->proto), where);
	if (check_keys(ld, g, keys, "handoff") < 0)
		return -1;
	p = CFG_HOFF_HTTP;
	if (get_enum(ld, g, "protocol", hoff_protos, "http, tls", "handoff", &p) < 0)
		return -1;
	sv->hoff_proto = (enum cfg_hoff_proto)p;
	v = CFG_HOFF_TIMEOUT_MS;
	if (get_int(ld, g, "timeout_ms", CFG_HOFF_TIMEOUT_MIN, CFG_HOFF_TIMEOUT_MAX, false,
		    "handoff", &v) < 0)
		return -1;
	sv->hoff_timeout_ms = (unsigned)v;
	v = CFG_HOFF_REQ_TIMEOUT_MS;
	if (get_int(ld, g, "request_timeout_ms", CFG_HOFF_REQ_TIMEOUT_MIN,
		    CFG_HOFF_REQ_TIMEOUT_MAX, false, "handoff", &v) < 0)
		return -1;
	sv->hoff_request_timeout_ms = (unsigned)v;
	v = CFG_HOFF_MAX_REQUEST;
	if (get_int(ld, g, "max_request", CFG_HOFF_MAX_REQUEST_MIN, CFG_HOFF_MAX_REQUEST_MAX,
		    false, "handoff", &v) < 0)
		return -1;
	sv->hoff_max_request = (unsigned)v;
	if (member(ld, g, "rules", CONFIG_TYPE_LIST, true, "handoff", &rs) < 0)
		return -1;
	len = config_setting_length(rs);
	if (len <= 0)
		return fail(ld, rs, "handoff of %s needs at least one rule", where);
	sv->rules = calloc((size_t)len, sizeof(*sv->rules));
	if (!sv->rules)
		return fail(ld, rs, "out of memory");
	sv->n_rules = (size_t)len;
	for (i = 0; i < sv->n_rules; i++)
		if (parse_rule(ld, config_setting_get_elem(rs, (unsigned)i), where, vipa,
			       sv->hoff_proto == CFG_HOFF_TLS, &sv->rules[i]) < 0)
			return -1;
	sv->handoff = true;
	return 0;
}

/* A handoff goes from the front-end to another node's clusterd, which
 * replays the connection into its own stack; handing a connection to the
 * front-end's own stack is not supported.  Any distributor may become the
 * front-end (takeover), so none may be a target by any list.  Refused at the
 * handoff group, naming the node. */
static int check_hoff_roles(struct ld *ld, const config_setting_t *g, const char *where,
			    const struct cfg_vipa *vp, const struct cfg_service *sv)
{
	char ab[ADDR_STRLEN];

	for (size_t i = 0; i < vp->n_dists; i++) {
		size_t n = vp->dists[i].node;

		if (!cfg_serves(vp, sv, n))
			continue;
		return fail(ld, g, "node '%s' is both a distributor of vipa %s and a target of "
			    "the handoff %s: handing a connection to the distributor's own "
			    "stack is not supported; take it out of the targets (the "
			    "service's, the distributors' own lists and the rules')",
			    ld->c->nodes[n].name, addr_fmt(&vp->addr, ab, sizeof(ab)), where);
	}
	return 0;
}

static const char *const protos[] = { "tcp", "udp", "sctp", NULL };
static const uint8_t proto_nums[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

static int parse_service(struct ld *ld, const config_setting_t *g, struct cfg_vipa *vp,
			 size_t idx, const char *vwhere)
{
	static const char *const keys[] = {
		"port", "protocol", "targets", "target_port", "scheduler", "handoff", NULL
	};
	struct cfg_service *sv = &vp->svcs[idx];
	char where[128], ep[ADDR_STRLEN + 8];
	config_setting_t *s;
	long long v;
	size_t i;
	int r, p;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each service of %s must be a group { port = ...; }", vwhere);
	sv->line = config_setting_source_line(g);
	snprintf(where, sizeof(where), "service of %s", vwhere);
	if (get_int(ld, g, "port", 1, 65535, true, where, &v) < 0)
		return -1;
	sv->port = (uint16_t)v;
	if (member(ld, g, "protocol", CONFIG_TYPE_STRING, true, where, &s) < 0)
		return -1;
	p = lookup(protos, config_setting_get_string(s));
	if (p < 0)
		return fail(ld, s, "'protocol' in %s must be one of tcp, udp, sctp, not '%s'",
			    where, config_setting_get_string(s));
	sv->proto = proto_nums[p];
	snprintf(where, sizeof(where), "service %s/%s",
		 addr_fmt_ep(&vp->addr, sv->port, ep, sizeof(ep)), protos[p]);
	for (i = 0; i < idx; i++)
		if (vp->svcs[i].port == sv->port && vp->svcs[i].proto == sv->proto)
			return fail(ld, g, "duplicate %s (first on line %d)", where,
				    vp->svcs[i].line);
	if (check_keys(ld, g, keys, where) < 0)
		return -1;
	v = sv->port;
	if (get_int(ld, g, "target_port", 1, 65535, false, where, &v) < 0)
		return -1;
	sv->target_port = (uint16_t)v;
	p = SCHED_MAGLEV;
	if (get_enum(ld, g, "scheduler", scheds, "maglev, round-robin, least-conn", where,
		     &p) < 0)
		return -1;
	sv->sched = (enum cfg_sched)p;
	if (member(ld, g, "targets", T_NAMES, true, where, &s) < 0)
		return -1;
	if (parse_targets(ld, s, where, &vp->addr, &sv->targets, &sv->n_targets) < 0)
		return -1;
	sv->hoff_proto = CFG_HOFF_HTTP;
	sv->hoff_timeout_ms = CFG_HOFF_TIMEOUT_MS;
	sv->hoff_request_timeout_ms = CFG_HOFF_REQ_TIMEOUT_MS;
	sv->hoff_max_request = CFG_HOFF_MAX_REQUEST;
	r = member(ld, g, "handoff", CONFIG_TYPE_GROUP, false, where, &s);
	if (r < 0 || (r == 1 && (parse_handoff(ld, s, where, &vp->addr, sv) < 0 ||
				 check_hoff_roles(ld, s, where, vp, sv) < 0)))
		return -1;
	return 0;
}

static int parse_dist(struct ld *ld, const config_setting_t *g, struct cfg_vipa *vp,
		      size_t idx, const char *vwhere)
{
	static const char *const keys[] = { "node", "targets", NULL };
	struct cfg_distributor *d = &vp->dists[idx];
	char where[128];
	config_setting_t *s;
	size_t i;
	int r;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each distributor of %s must be a group { node = ...; }",
			    vwhere);
	snprintf(where, sizeof(where), "distributor of %s", vwhere);
	if (check_keys(ld, g, keys, where) < 0)
		return -1;
	if (member(ld, g, "node", CONFIG_TYPE_STRING, true, where, &s) < 0)
		return -1;
	if (resolve(ld, s, config_setting_get_string(s), &vp->addr, &d->node) < 0)
		return -1;
	for (i = 0; i < idx; i++)
		if (vp->dists[i].node == d->node)
			return fail(ld, s, "node '%s' is listed twice in distributors of %s",
				    ld->c->nodes[d->node].name, vwhere);
	r = member(ld, g, "targets", T_NAMES, false, where, &s);
	if (r < 0 || (r == 1 && parse_targets(ld, s, where, &vp->addr, &d->targets,
					      &d->n_targets) < 0))
		return -1;
	return 0;
}

/* alternate_address: a second address of the VIPA's SCTP endpoint, held by
 * another node than the VIPA (the next alive distributor), so it must name
 * nothing else: not the VIPA, not a node, not another VIPA or alternate.  The
 * distributor count is checked by the caller once the list is parsed. */
static int parse_alt(struct ld *ld, const config_setting_t *g, size_t idx, const char *where,
		     config_setting_t **sp)
{
	struct cfg *c = ld->c;
	struct cfg_vipa *vp = &c->vipas[idx];
	char ab[ADDR_STRLEN], vb[ADDR_STRLEN];
	config_setting_t *s;
	size_t i, j;
	int r;

	r = get_ip(ld, g, "alternate_address", false, where, &vp->alt, &s);
	*sp = s;
	if (r <= 0)
		return r;
	addr_fmt(&vp->alt, ab, sizeof(ab));
	addr_fmt(&vp->addr, vb, sizeof(vb));
	if (vp->alt.family != vp->addr.family)
		return fail(ld, s, "alternate_address %s of vipa %s must be an %s address like "
			    "the vipa", ab, vb, fam_name(vp->addr.family));
	if (addr_eq(&vp->alt, &vp->addr))
		return fail(ld, s, "alternate_address of vipa %s is the vipa itself; it must be "
			    "a second address", vb);
	for (i = 0; i < c->n_nodes; i++)
		for (j = 0; j < c->nodes[i].n_addrs; j++)
			if (addr_eq(&c->nodes[i].addrs[j].ip, &vp->alt))
				return fail(ld, s, "alternate_address %s of vipa %s is also an "
					    "address of node '%s'", ab, vb, c->nodes[i].name);
	for (i = 0; i < idx; i++) {
		const struct cfg_vipa *o = &c->vipas[i];
		char ob[ADDR_STRLEN];

		addr_fmt(&o->addr, ob, sizeof(ob));
		if (addr_eq(&o->addr, &vp->alt))
			return fail(ld, s, "alternate_address %s of vipa %s is also vipa %s "
				    "(line %d)", ab, vb, ob, o->line);
		if (o->has_alt && addr_eq(&o->alt, &vp->alt))
			return fail(ld, s, "alternate_address %s of vipa %s is also the "
				    "alternate_address of vipa %s (line %d)", ab, vb, ob, o->line);
	}
	vp->has_alt = true;
	return 1;
}

static int parse_vipa(struct ld *ld, const config_setting_t *g, size_t idx)
{
	static const char *const keys[] = {
		"address", "alternate_address", "interface", "preempt", "distributors",
		"services", NULL
	};
	struct cfg *c = ld->c;
	struct cfg_vipa *vp = &c->vipas[idx];
	char where[ADDR_STRLEN + 8], ab[ADDR_STRLEN], nb[ADDR_STRLEN];
	config_setting_t *s, *as, *alts;
	size_t i, j;
	int len;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "each entry of vipas must be a group { address = ...; }");
	vp->line = config_setting_source_line(g);
	if (get_ip(ld, g, "address", true, "vipas entry", &vp->addr, &as) < 0)
		return -1;
	addr_fmt(&vp->addr, ab, sizeof(ab));
	snprintf(where, sizeof(where), "vipa %s", ab);
	for (i = 0; i < idx; i++) {
		if (addr_eq(&c->vipas[i].addr, &vp->addr))
			return fail(ld, as, "duplicate vipa %s (first on line %d)", ab,
				    c->vipas[i].line);
		if (c->vipas[i].has_alt && addr_eq(&c->vipas[i].alt, &vp->addr))
			return fail(ld, as, "vipa %s is also the alternate_address of vipa %s "
				    "(line %d)", ab, addr_fmt(&c->vipas[i].addr, nb, sizeof(nb)),
				    c->vipas[i].line);
	}
	for (i = 0; i < c->n_nodes; i++)
		for (j = 0; j < c->nodes[i].n_addrs; j++)
			if (addr_eq(&c->nodes[i].addrs[j].ip, &vp->addr))
				return fail(ld, as, "vipa %s is also an address of node '%s'",
					    ab, c->nodes[i].name);
	if (check_keys(ld, g, keys, where) < 0)
		return -1;
	if (parse_alt(ld, g, idx, where, &alts) < 0)
		return -1;
	if (get_ifname(ld, g, "interface", true, where, vp->ifname) < 0)
		return -1;
	vp->preempt = true;
	if (get_bool(ld, g, "preempt", where, &vp->preempt) < 0)
		return -1;

	if (member(ld, g, "distributors", CONFIG_TYPE_LIST, true, where, &s) < 0)
		return -1;
	len = config_setting_length(s);
	if (len <= 0)
		return fail(ld, s, "%s needs at least one distributor", where);
	vp->dists = calloc((size_t)len, sizeof(*vp->dists));
	if (!vp->dists)
		return fail(ld, s, "out of memory");
	vp->n_dists = (size_t)len;
	for (i = 0; i < vp->n_dists; i++)
		if (parse_dist(ld, config_setting_get_elem(s, (unsigned)i), vp, i, where) < 0)
			return -1;
	/* The next alive distributor after the VIPA's holder takes the
	 * alternate: with a single one there is never a second node. */
	if (vp->has_alt && vp->n_dists < 2)
		return fail(ld, alts, "alternate_address of %s needs at least two distributors: "
			    "the next alive one after the vipa's holder holds it, and with one "
			    "there is no second node",
			    where);

	if (member(ld, g, "services", CONFIG_TYPE_LIST, true, where, &s) < 0)
		return -1;
	len = config_setting_length(s);
	if (len <= 0)
		return fail(ld, s, "%s needs at least one service", where);
	vp->svcs = calloc((size_t)len, sizeof(*vp->svcs));
	if (!vp->svcs)
		return fail(ld, s, "out of memory");
	vp->n_svcs = (size_t)len;
	for (i = 0; i < vp->n_svcs; i++)
		if (parse_service(ld, config_setting_get_elem(s, (unsigned)i), vp, i, where) < 0)
			return -1;
	return 0;
}

static const config_setting_t *svc_setting(const config_setting_t *vs, size_t v, size_t s)
{
	const config_setting_t *g = config_setting_get_elem(vs, (unsigned)v);

	return config_setting_get_elem(config_setting_get_member(g, "services"), (unsigned)s);
}

/* A target rewrites the source of its replies from (protocol, target_port,
 * family) alone; two (vipa, port) pairs sharing those on one node would be
 * indistinguishable there. */
static int check_ambiguity(struct ld *ld, const config_setting_t *vs)
{
	const struct cfg *c = ld->c;
	size_t v1, s1, v2, s2, n;
	char e1[ADDR_STRLEN + 8], e2[ADDR_STRLEN + 8];

	for (v2 = 0; v2 < c->n_vipas; v2++) {
		const struct cfg_vipa *b = &c->vipas[v2];

		for (s2 = 0; s2 < b->n_svcs; s2++) {
			const struct cfg_service *y = &b->svcs[s2];

			for (v1 = 0; v1 <= v2; v1++) {
				const struct cfg_vipa *a = &c->vipas[v1];

				for (s1 = 0; s1 < (v1 == v2 ? s2 : a->n_svcs); s1++) {
					const struct cfg_service *x = &a->svcs[s1];

					if (x->proto != y->proto ||
					    x->target_port != y->target_port ||
					    a->addr.family != b->addr.family)
						continue;
					for (n = 0; n < c->n_nodes; n++)
						if (cfg_serves(a, x, n) && cfg_serves(b, y, n))
							break;
					if (n == c->n_nodes)
						continue;
					return fail(ld, svc_setting(vs, v2, s2),
						    "node %s serves %s/%s and %s/%s on the same "
						    "target_port %u; give one a distinct "
						    "target_port",
						    c->nodes[n].name,
						    addr_fmt_ep(&a->addr, x->port, e1, sizeof(e1)),
						    cfg_proto_name(x->proto),
						    addr_fmt_ep(&b->addr, y->port, e2, sizeof(e2)),
						    cfg_proto_name(y->proto), y->target_port);
				}
			}
		}
	}
	return 0;
}

static int parse_vipas(struct ld *ld, const config_setting_t *vs)
{
	struct cfg *c = ld->c;
	size_t i;
	int len;

	len = config_setting_length(vs);
	if (len > 0) {
		c->vipas = calloc((size_t)len, sizeof(*c->vipas));
		if (!c->vipas)
			return fail(ld, vs, "out of memory");
		c->n_vipas = (size_t)len;
	}
	for (i = 0; i < c->n_vipas; i++)
		if (parse_vipa(ld, config_setting_get_elem(vs, (unsigned)i), i) < 0)
			return -1;
	return check_ambiguity(ld, vs);
}

/* The whole file */

static void set_defaults(struct cfg *c)
{
	strcpy(c->cluster_name, DEF_CLUSTER_NAME);
	/* No group (family 0): unicast sync; a group is an explicit choice. */
	c->sync_port = 7788;
	c->sync_mode = SYNC_EVERY_UPDATE;
	c->sync_interval_ms = 200;
	c->heartbeat_ms = 100;
	c->retry_threshold = 3;
	c->workers = 0;
	c->queue_base = 0;
	c->queue_maxlen = 4096;
	c->manage_rules = true;
	c->fastpath = true;
	strcpy(c->control_socket, DEF_CONTROL_SOCKET);
	c->tcp_syn_timeout = 30;
	c->tcp_est_timeout = 900;
	c->tcp_fin_timeout = 30;
	c->udp_timeout = 60;
	c->conn_max = 262144;
	c->self = -1;
}

static int set_name(struct ld *ld, const config_setting_t *s, const char *name)
{
	if (!*name)
		return fail(ld, s, "node name must not be empty");
	if (strlen(name) >= sizeof(ld->c->node_name))
		return fail(ld, s, "node name '%s' is too long (at most %zu characters)", name,
			    sizeof(ld->c->node_name) - 1);
	if (!name_valid(name))
		return fail(ld, s, "node name '%s' may only contain letters, digits, "
			    "'.', '_' and '-'", name);
	strcpy(ld->c->node_name, name);
	return 0;
}

static int parse_root(struct ld *ld, const config_setting_t *root, const char *node_override)
{
	static const char *const keys[] = {
		"node", "cluster", "daemon", "nodes", "vipas", "metrics", NULL
	};
	static const char *w = "the top level";
	config_setting_t *s;
	char host[256];
	int r;

	if (check_keys(ld, root, keys, w) < 0)
		return -1;
	r = member(ld, root, "node", CONFIG_TYPE_STRING, false, w, &s);
	if (r < 0)
		return -1;
	if (node_override) {
		if (set_name(ld, NULL, node_override) < 0)
			return -1;
	} else if (r == 1) {
		if (set_name(ld, s, config_setting_get_string(s)) < 0)
			return -1;
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			return fail(ld, NULL, "gethostname: %s", strerror(errno));
		host[sizeof(host) - 1] = '\0';
		if (set_name(ld, NULL, host) < 0)
			return -1;
	}
	if (member(ld, root, "cluster", CONFIG_TYPE_GROUP, true, w, &s) < 0 ||
	    parse_cluster(ld, s) < 0)
		return -1;
	r = member(ld, root, "daemon", CONFIG_TYPE_GROUP, false, w, &s);
	if (r < 0 || (r == 1 && parse_daemon(ld, s) < 0))
		return -1;
	r = member(ld, root, "metrics", CONFIG_TYPE_GROUP, false, w, &s);
	if (r < 0 || (r == 1 && parse_metrics(ld, s) < 0))
		return -1;
	if (member(ld, root, "nodes", CONFIG_TYPE_LIST, true, w, &s) < 0 ||
	    parse_nodes(ld, s) < 0)
		return -1;
	r = member(ld, root, "vipas", CONFIG_TYPE_LIST, false, w, &s);
	if (r < 0 || (r == 1 && parse_vipas(ld, s) < 0))
		return -1;
	ld->c->self = cfg_node_index(ld->c, ld->c->node_name);
	return 0;
}

struct cfg *cfg_load(const char *path, const char *node_override, char *err, size_t errlen)
{
	struct ld ld = { .path = path, .err = err, .errlen = errlen };
	char dir[sizeof(ld.c->path)];
	const char *slash;
	config_t lc;
	FILE *f;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path) {
		ld.path = "(null)";
		fail(&ld, NULL, "no configuration file given");
		return NULL;
	}
	if (strlen(path) >= sizeof(ld.c->path)) {
		fail(&ld, NULL, "path is too long");
		return NULL;
	}
	/* libconfig reports a missing file without errno; say why here. */
	f = fopen(path, "r");
	if (!f) {
		fail(&ld, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	fclose(f);

	ld.c = calloc(1, sizeof(*ld.c));
	if (!ld.c) {
		fail(&ld, NULL, "out of memory");
		return NULL;
	}
	strcpy(ld.c->path, path);
	set_defaults(ld.c);

	config_init(&lc);
	/* @include "x" is relative to the file that includes it. */
	slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		config_set_include_dir(&lc, slash == path ? "/" : dir);
	}
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		const char *file = config_error_file(&lc) ? config_error_file(&lc) : path;
		const char *text = config_error_text(&lc) ? config_error_text(&lc) : "parse error";

		if (!err || !errlen)
			goto fail;
		if (config_error_line(&lc) > 0)
			snprintf(err, errlen, "%.*s%s:%d: %s", incl_dirlen(path, file), path, file,
				 config_error_line(&lc), text);
		else
			snprintf(err, errlen, "%.*s%s: %s", incl_dirlen(path, file), path, file,
				 text);
		goto fail;
	}
	if (parse_root(&ld, config_root_setting(&lc), node_override) < 0)
		goto fail;
	config_destroy(&lc);
	return ld.c;
fail:
	config_destroy(&lc);
	cfg_free(ld.c);
	return NULL;
}

void cfg_free(struct cfg *c)
{
	size_t i, j, k;

	if (!c)
		return;
	for (i = 0; i < c->n_nodes; i++)
		free(c->nodes[i].addrs);
	free(c->nodes);
	for (i = 0; i < c->n_vipas; i++) {
		struct cfg_vipa *vp = &c->vipas[i];

		for (j = 0; j < vp->n_dists; j++)
			free(vp->dists[j].targets);
		free(vp->dists);
		for (j = 0; j < vp->n_svcs; j++) {
			for (k = 0; k < vp->svcs[j].n_rules; k++)
				free(vp->svcs[j].rules[k].targets);
			free(vp->svcs[j].rules);
			free(vp->svcs[j].targets);
		}
		free(vp->svcs);
	}
	free(c->vipas);
	free(c);
}

long cfg_node_index(const struct cfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_nodes; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

const struct ip_addr *cfg_node_addr(const struct cfg *c, size_t n, int family)
{
	size_t i;

	if (n >= c->n_nodes)
		return NULL;
	for (i = 0; i < c->nodes[n].n_addrs; i++)
		if (c->nodes[n].addrs[i].ip.family == family)
			return &c->nodes[n].addrs[i].ip;
	return NULL;
}

long cfg_node_by_addr(const struct cfg *c, const struct ip_addr *a)
{
	for (size_t n = 0; n < c->n_nodes; n++)
		for (size_t i = 0; i < c->nodes[n].n_addrs; i++)
			if (addr_eq(&c->nodes[n].addrs[i].ip, a))
				return (long)n;
	return -1;
}

const char *cfg_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return "?";
}

const char *cfg_hoff_proto_name(enum cfg_hoff_proto p)
{
	return p == CFG_HOFF_TLS ? "tls" : "http";
}

const char *cfg_sched_name(enum cfg_sched s)
{
	switch (s) {
	case SCHED_MAGLEV:
		return "maglev";
	case SCHED_ROUND_ROBIN:
		return "round-robin";
	case SCHED_LEAST_CONN:
		return "least-conn";
	}
	return "?";
}
