/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clusterctl - query and steer a running clusterd over its control socket.
 *
 * Protocol (common/ctlproto.h, which also lists the commands): connect to a
 * unix stream socket, write one line, read one JSON object until the server
 * closes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <jansson.h>

#include "common/ctlproto.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Makefile.am: $(runstatedir)/clusterd/clusterd.sock, the daemon's default too */
#define CTL_SOCKET_DEFAULT	CLUSTERD_SOCKET_PATH
#define CTL_SOCKET_ENV		"CLUSTERD_SOCKET"
#define CTL_TIMEOUT_S		5
#define CTL_REPLY_MAX		(64u << 20)	/* the conns reply can be large */
#define CTL_REPLY_CHUNK		(64u << 10)
#define CTL_ARG_MAX		CTLPROTO_ARG_MAX

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,	/* daemon said ok:false, or its reply is unusable */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_CONNECT = 3,	/* cannot connect, or the exchange broke off */
	CTL_EXIT_BUSY = 4,	/* daemon said ok:false, busy:true: try again later */
};

/* How a reply is printed as text, by command (ctlproto.h's order). */
typedef void ctl_render_fn(const json_t *reply, FILE *out);

/* One column of a table: the JSON key, its heading, layout facts. */
struct ctl_col {
	const char	*key;
	char		*head;
	size_t		width;
	bool		numeric;
};

struct ctl_colspec {
	const char	*key;
	const char	*head;
};

#define CTL_RENDER_DECL(id, word, nargs, streamed, arg, help) static ctl_render_fn ctl_render_##word;
CTLPROTO_CMDS(CTL_RENDER_DECL)
#undef CTL_RENDER_DECL

/* Generated from the command list: a command without its ctl_render_<word>
 * does not build. */
static ctl_render_fn *const ctl_renderers[CTLPROTO__MAX] = {
#define CTL_RENDER_ENTRY(id, word, nargs, streamed, arg, help) [CTLPROTO_##id] = ctl_render_##word,
	CTLPROTO_CMDS(CTL_RENDER_ENTRY)
#undef CTL_RENDER_ENTRY
};

static const struct ctl_colspec ctl_target_cols[] = {
	{ "vipa", "VIPA" }, { "port", "PORT" }, { "protocol", "PROTO" },
	{ "node", "NODE" }, { "address", "ADDRESS" }, { "target_port", "TPORT" },
	{ "weight", "WEIGHT" }, { "listening", "LISTENING" }, { "drained", "DRAINED" },
	{ "active", "ACTIVE" }, { "conns", "CONNS" },
};

static const struct ctl_colspec ctl_conn_cols[] = {
	{ "protocol", "PROTO" }, { "client", "CLIENT" }, { "vipa", "VIPA" },
	{ "target", "TARGET" }, { "target_address", "TARGET_ADDRESS" },
	{ "state", "STATE" }, { "age_s", "AGE_S" }, { "idle_s", "IDLE_S" },
	{ "packets", "PACKETS" }, { "bytes", "BYTES" }, { "fast", "FAST" },
	{ "handoff", "HANDOFF" },
};

static const struct ctl_colspec ctl_assoc_cols[] = {
	{ "vipa", "VIPA" }, { "port", "PORT" }, { "client_port", "CLIENT_PORT" },
	{ "client_tag", "CLIENT_TAG" }, { "target_tag", "TARGET_TAG" }, { "state", "STATE" },
	{ "target", "TARGET" }, { "paths", "PATHS" }, { "packets", "PACKETS" },
	{ "bytes", "BYTES" }, { "idle_ms", "IDLE_MS" }, { "age_ms", "AGE_MS" },
	{ "flags", "FLAGS" },
};

static const struct ctl_colspec ctl_vipa_cols[] = {
	{ "address", "VIPA" }, { "interface", "INTERFACE" }, { "role", "ROLE" },
	{ "owner", "OWNER" }, { "backup", "BACKUP" }, { "alternate", "ALTERNATE" },
	{ "since", "SINCE" }, { "services", "SERVICES" },
};

static const struct ctl_colspec ctl_node_cols[] = {
	{ "name", "NODE" }, { "alive", "ALIVE" }, { "self", "SELF" },
	{ "last_heard_ms", "LAST_HEARD_MS" }, { "config", "CONFIG" },
};

static const struct ctl_colspec ctl_cdat_cols[] = {
	{ "node", "NODE" }, { "node_status", "NODE_STATUS" }, { "suspected", "SUSPECTED" },
	{ "ip", "ADDRESS" },
	{ "status", "STATUS" }, { "current", "CURRENT" }, { "prefix", "PREFIX" },
	{ "mtu", "MTU" }, { "type", "TYPE" }, { "cos", "COS" }, { "retry", "RETRY" },
	{ "misses", "MISSES" }, { "rtt_ms", "RTT_MS" }, { "rtt_var_ms", "RTT_VAR_MS" },
	{ "last_ok_ms_ago", "LAST_OK_MS_AGO" },
};

#define CTL_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void __attribute__((noreturn)) ctl_oom(void)
{
	fputs("clusterctl: out of memory\n", stderr);
	exit(CTL_EXIT_FAIL);
}

static void *ctl_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		ctl_oom();
	return p;
}

static char *ctl_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		ctl_oom();
	return p;
}

static void ctl_usage(FILE *f)
{
	fputs("usage: clusterctl [-s SOCKET] [--json] COMMAND [ARG]\n"
	      "\n"
	      "commands:\n", f);
	for (size_t i = 0; i < CTLPROTO__MAX; i++) {
		const struct ctlproto_info *c = &ctlproto_cmds[i];
		char word[32];

		snprintf(word, sizeof(word), "%s%s%s", c->name, c->arg ? " " : "",
			 c->arg ? c->arg : "");
		fprintf(f, "  %-16s%s\n", word, c->help);
	}
	fputs("\n"
	      "options:\n"
	      "  -s, --socket PATH  control socket (default $" CTL_SOCKET_ENV
	      ", else " CTL_SOCKET_DEFAULT ")\n"
	      "  -j, --json         print the daemon's JSON reply\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      print the version\n", f);
}

/* The protocol is one space-separated line: an argument must not be able to
 * add words or lines of its own. */
static bool ctl_arg_ok(const char *s)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n > CTL_ARG_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* Copies s to out with control characters replaced, so that a string from
 * the daemon cannot drive the terminal. */
static void ctl_put_clean(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < ' ' || c == 0x7f ? '?' : c, out);
	}
}

static void ctl_put_scalar(FILE *out, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		ctl_put_clean(out, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(out, "%.6g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", out);
		break;
	case JSON_FALSE:
		fputs("no", out);
		break;
	case JSON_NULL:
		fputs("-", out);
		break;
	default: {
		/* Nested values inside a table cell: compact JSON, cleaned. */
		char *s = json_dumps(v, JSON_COMPACT);

		if (s == NULL)
			ctl_oom();
		ctl_put_clean(out, s);
		free(s);
		break;
	}
	}
}

static bool ctl_is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/*
 * A cell's text.  Numbers, booleans and a missing value ("-") are formatted
 * into buf; a string is returned in place (print it with ctl_put_clean, which
 * keeps its length); arrays of scalars ("a,b,c") and nested values go to a
 * string in *dyn that the caller frees.  No allocation for the common cells:
 * the conns table can have millions.
 */
static const char *ctl_cell_text(const json_t *v, char *buf, size_t size, char **dyn)
{
	size_t len = 0, i;
	bool flat = true;
	FILE *f;

	*dyn = NULL;
	if (v == NULL)
		return "-";
	switch (json_typeof(v)) {
	case JSON_STRING:
		/* "" is what the daemon does not know (a VIPA's owner or backup,
		 * a since): "-" like a missing value, so a row keeps its columns. */
		return json_string_length(v) > 0 ? json_string_value(v) : "-";
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, size, "%.6g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "yes";
	case JSON_FALSE:
		return "no";
	case JSON_NULL:
		return "-";
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return "-";
		break;
	case JSON_OBJECT:
		break;
	}

	f = open_memstream(dyn, &len);
	if (f == NULL)
		ctl_oom();
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			if (!ctl_is_scalar(json_array_get(v, i)))
				flat = false;
	} else {
		flat = false;
	}
	if (flat) {
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				fputc(',', f);
			ctl_put_scalar(f, json_array_get(v, i));
		}
	} else {
		ctl_put_scalar(f, v);
	}
	if (fclose(f) != 0 || *dyn == NULL)
		ctl_oom();
	return *dyn;
}

/* The same, as a string of its own (cleaned) for the caller to free. */
static char *ctl_cell(const json_t *v)
{
	char buf[64], *dyn, *s, *p;

	s = ctl_strdup(ctl_cell_text(v, buf, sizeof(buf), &dyn));
	free(dyn);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return s;
}

static bool ctl_all_objects(const json_t *arr)
{
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return false;
	for (i = 0; i < json_array_size(arr); i++)
		if (!json_is_object(json_array_get(arr, i)))
			return false;
	return true;
}

static char *ctl_upper(const char *s)
{
	char *h = ctl_strdup(s);
	char *p;

	for (p = h; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	}
	return h;
}

static void ctl_pad(FILE *out, size_t n)
{
	while (n-- > 0)
		fputc(' ', out);
}

static bool ctl_col_has(const struct ctl_col *cols, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cols[i].key, key) == 0)
			return true;
	return false;
}

/*
 * Prints an array of objects as an aligned table: the preferred columns first
 * (those present in some row), then every other key in order of appearance, so
 * that fields the daemon grows later still show.  Numeric columns are right
 * aligned.  rows must hold objects only.
 */
static void ctl_table(FILE *out, const json_t *rows, const struct ctl_colspec *pref,
		      size_t npref)
{
	size_t nrows = json_array_size(rows);
	size_t maxcols = npref, ncols = 0;
	struct ctl_col *cols;
	size_t r, c;

	for (r = 0; r < nrows; r++)
		maxcols += json_object_size(json_array_get(rows, r));
	cols = ctl_calloc(maxcols, sizeof(*cols));

	for (c = 0; c < npref; c++) {
		for (r = 0; r < nrows; r++)
			if (json_object_get(json_array_get(rows, r), pref[c].key) != NULL)
				break;
		if (r == nrows)
			continue;
		cols[ncols].key = pref[c].key;
		cols[ncols].head = ctl_strdup(pref[c].head);
		ncols++;
	}
	for (r = 0; r < nrows; r++) {
		const char *key;
		json_t *v;

		json_object_foreach(json_array_get(rows, r), key, v) {
			if (ctl_col_has(cols, ncols, key))
				continue;
			cols[ncols].key = key;
			cols[ncols].head = ctl_upper(key);
			ncols++;
		}
	}

	/* Two passes over the rows, widths then output, rather than keeping a
	 * formatted copy of every cell. */
	for (c = 0; c < ncols; c++) {
		cols[c].width = strlen(cols[c].head);
		cols[c].numeric = true;
	}
	for (r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);

		for (c = 0; c < ncols; c++) {
			const json_t *v = json_object_get(row, cols[c].key);
			char buf[64], *dyn;
			size_t w = strlen(ctl_cell_text(v, buf, sizeof(buf), &dyn));

			free(dyn);
			if (v != NULL && !json_is_number(v))
				cols[c].numeric = false;
			if (w > cols[c].width)
				cols[c].width = w;
		}
	}

	for (r = 0; r <= nrows; r++) {
		const json_t *row = r > 0 ? json_array_get(rows, r - 1) : NULL;

		for (c = 0; c < ncols; c++) {
			char buf[64], *dyn = NULL;
			const char *s;
			size_t w;

			if (row == NULL)
				s = cols[c].head;
			else
				s = ctl_cell_text(json_object_get(row, cols[c].key), buf,
						  sizeof(buf), &dyn);
			w = strlen(s);
			if (c > 0)
				fputs("  ", out);
			if (cols[c].numeric)
				ctl_pad(out, cols[c].width - w);
			ctl_put_clean(out, s);
			if (!cols[c].numeric && c + 1 < ncols)
				ctl_pad(out, cols[c].width - w);
			free(dyn);
		}
		fputc('\n', out);
	}

	for (c = 0; c < ncols; c++)
		free(cols[c].head);
	free(cols);
}

/*
 * Prints "prefix.key: value" lines for every scalar below v.  With tables set,
 * a non-empty array of objects becomes a table under a "key:" line instead.
 */
static void ctl_flatten(FILE *out, const char *prefix, const json_t *v, bool tables)
{
	char *sub;

	if (json_is_object(v)) {
		const char *key;
		json_t *child;

		json_object_foreach((json_t *)v, key, child) {
			if (prefix == NULL && strcmp(key, "ok") == 0)
				continue;
			if (prefix == NULL)
				sub = ctl_strdup(key);
			else if (asprintf(&sub, "%s.%s", prefix, key) < 0)
				ctl_oom();
			ctl_flatten(out, sub, child, tables);
			free(sub);
		}
	} else if (json_is_array(v) && tables && ctl_all_objects(v)) {
		ctl_put_clean(out, prefix);
		fputs(":\n", out);
		ctl_table(out, v, NULL, 0);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		size_t i;
		bool flat = true;

		for (i = 0; i < json_array_size(v); i++)
			if (!ctl_is_scalar(json_array_get(v, i)))
				flat = false;
		if (flat) {
			char *s = ctl_cell(v);

			ctl_put_clean(out, prefix);
			fprintf(out, ": %s\n", s);
			free(s);
			return;
		}
		for (i = 0; i < json_array_size(v); i++) {
			if (asprintf(&sub, "%s[%zu]", prefix, i) < 0)
				ctl_oom();
			ctl_flatten(out, sub, json_array_get(v, i), tables);
			free(sub);
		}
	} else {
		char *s = ctl_cell(v);

		ctl_put_clean(out, prefix);
		fprintf(out, ": %s\n", s);
		free(s);
	}
}

static void ctl_render_generic(const json_t *reply, FILE *out)
{
	/* Only "ok" (drain, reload...): say so rather than print nothing. */
	if (json_object_size(reply) <= 1) {
		fputs("ok\n", out);
		return;
	}
	ctl_flatten(out, NULL, reply, true);
}

/* Commands whose reply is only "ok" or a few fields. */
static void ctl_render_drain(const json_t *reply, FILE *out)
{
	ctl_render_generic(reply, out);
}

static void ctl_render_undrain(const json_t *reply, FILE *out)
{
	ctl_render_generic(reply, out);
}

static void ctl_render_failover(const json_t *reply, FILE *out)
{
	ctl_render_generic(reply, out);
}

static void ctl_render_reload(const json_t *reply, FILE *out)
{
	ctl_render_generic(reply, out);
}

static void ctl_render_stats(const json_t *reply, FILE *out)
{
	ctl_flatten(out, NULL, reply, false);
}

static void ctl_render_list(FILE *out, const json_t *reply, const char *key,
			    const struct ctl_colspec *cols, size_t ncols, const char *none)
{
	const json_t *rows = json_object_get(reply, key);

	if (json_is_array(rows) && json_array_size(rows) == 0)
		fprintf(out, "%s\n", none);
	else if (ctl_all_objects(rows))
		ctl_table(out, rows, cols, ncols);
	else if (rows != NULL)
		ctl_flatten(out, key, rows, true);
}

/* One row per address, the node's name and status repeated: a table an
 * operator can grep, rather than nested JSON in a cell. */
static void ctl_render_cdat(const json_t *reply, FILE *out)
{
	const json_t *nodes = json_object_get(reply, "nodes"), *n, *a, *v;
	json_t *rows = json_array(), *counters, *av;
	const char *k;
	size_t i, j;

	if (!rows)
		ctl_oom();
	for (i = 0; i < 4; i++) {
		static const char *const head[] = { "node", "version", "digest", "coordinator" };
		char *cell;

		v = json_object_get(reply, head[i]);
		if (!v)
			continue;
		cell = ctl_cell(v);
		fprintf(out, "%s: %s\n", head[i], cell);
		free(cell);
	}
	json_array_foreach(nodes, i, n) {
		json_array_foreach(json_object_get(n, "addresses"), j, a) {
			json_t *row = json_object();

			if (!row)
				ctl_oom();
			json_object_set(row, "node", json_object_get(n, "name"));
			json_object_set(row, "node_status", json_object_get(n, "status"));
			/* Every address of it unreachable from here: our vote to
			 * declare it down (it is down once a majority agrees). */
			if (json_object_get(n, "suspected"))
				json_object_set(row, "suspected", json_object_get(n, "suspected"));
			json_object_foreach((json_t *)a, k, av)
				json_object_set(row, k, av);
			json_array_append_new(rows, row);
		}
	}
	if (json_array_size(rows))
		ctl_table(out, rows, ctl_cdat_cols, CTL_NELEM(ctl_cdat_cols));
	json_decref(rows);
	counters = json_object_get(reply, "counters");
	if (counters)
		ctl_flatten(out, "counters", counters, false);
}

static void ctl_render_targets(const json_t *reply, FILE *out)
{
	ctl_render_list(out, reply, "targets", ctl_target_cols, CTL_NELEM(ctl_target_cols),
			"no targets");
}

static void ctl_render_conns(const json_t *reply, FILE *out)
{
	const json_t *conns = json_object_get(reply, "conns");
	const json_t *total = json_object_get(reply, "total");
	const json_t *assocs;

	ctl_render_list(out, reply, "conns", ctl_conn_cols, CTL_NELEM(ctl_conn_cols),
			"no connections");
	if (!json_is_integer(total))
		return;
	if (json_is_true(json_object_get(reply, "truncated")))
		fprintf(out, "%" JSON_INTEGER_FORMAT " connections, %zu shown (truncated)\n",
			json_integer_value(total), json_array_size(conns));
	else if (json_array_size(conns) > 0)
		fprintf(out, "%" JSON_INTEGER_FORMAT " connections\n",
			json_integer_value(total));

	/* The SCTP associations: a second table, when there are any (a node
	 * without SCTP prints what it always did). */
	assocs = json_object_get(reply, "associations");
	total = json_object_get(reply, "associations_total");
	if (json_array_size(assocs) == 0 &&
	    !(json_is_integer(total) && json_integer_value(total) > 0))
		return;
	fputc('\n', out);
	ctl_render_list(out, reply, "associations", ctl_assoc_cols, CTL_NELEM(ctl_assoc_cols),
			"no associations shown");
	if (!json_is_integer(total))
		return;
	if (json_is_true(json_object_get(reply, "associations_truncated")))
		fprintf(out, "%" JSON_INTEGER_FORMAT " associations, %zu shown (truncated)\n",
			json_integer_value(total), json_array_size(assocs));
	else
		fprintf(out, "%" JSON_INTEGER_FORMAT " associations\n",
			json_integer_value(total));
}

static void ctl_put_duration(FILE *out, json_int_t s)
{
	if (s < 0)
		fputs("-", out);
	else if (s >= 86400)
		fprintf(out, "%" JSON_INTEGER_FORMAT "d%02dh%02dm", s / 86400,
			(int)(s % 86400 / 3600), (int)(s % 3600 / 60));
	else if (s >= 3600)
		fprintf(out, "%dh%02dm%02ds", (int)(s / 3600), (int)(s % 3600 / 60),
			(int)(s % 60));
	else if (s >= 60)
		fprintf(out, "%dm%02ds", (int)(s / 60), (int)(s % 60));
	else
		fprintf(out, "%ds", (int)s);
}

/* "label value" when the key is there, nothing otherwise. */
static void ctl_put_field(FILE *out, const json_t *obj, const char *key, const char *label,
			  bool *first)
{
	const json_t *v = json_object_get(obj, key);
	char *s;

	if (v == NULL)
		return;
	s = ctl_cell(v);
	fprintf(out, "%s%s %s", *first ? "" : ", ", label, s);
	*first = false;
	free(s);
}

/* One cell for all services of a VIPA: "80/tcp 2/3 up, 53/udp 2/2 up". */
static json_t *ctl_services_summary(const json_t *services)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;
	json_t *s;

	f = open_memstream(&buf, &len);
	if (f == NULL)
		ctl_oom();
	for (i = 0; i < json_array_size(services); i++) {
		const json_t *svc = json_array_get(services, i);
		char *port = ctl_cell(json_object_get(svc, "port"));
		char *proto = ctl_cell(json_object_get(svc, "protocol"));
		char *up = ctl_cell(json_object_get(svc, "targets_up"));
		char *all = ctl_cell(json_object_get(svc, "targets"));

		fprintf(f, "%s%s/%s %s/%s up", i > 0 ? ", " : "", port, proto, up, all);
		free(port);
		free(proto);
		free(up);
		free(all);
	}
	if (fclose(f) != 0 || buf == NULL)
		ctl_oom();
	s = json_string(len > 0 ? buf : "-");
	free(buf);
	if (s == NULL)
		ctl_oom();
	return s;
}

/* One cell for a VIPA's alternate address: "ADDR (HOLDER)", the holder "-"
 * while none is known. */
static json_t *ctl_alternate_summary(const json_t *alt)
{
	char *addr = ctl_cell(json_object_get(alt, "address"));
	char *holder = ctl_cell(json_object_get(alt, "holder"));
	char *buf;
	json_t *s;

	if (asprintf(&buf, "%s (%s)", addr, holder) < 0)
		ctl_oom();
	s = json_string(buf);
	free(buf);
	free(addr);
	free(holder);
	if (s == NULL)
		ctl_oom();
	return s;
}

/* The nodes' table: a node whose configuration differs from this one's
 * (common/cfgdigest.h) shows DIFFERENT, and a line below names them all;
 * the digests themselves stay in the JSON. */
static void ctl_render_nodes(FILE *out, const json_t *nodes)
{
	json_t *rows = json_array();
	size_t i, ndiff = 0, k = 0;

	if (rows == NULL)
		ctl_oom();
	for (i = 0; i < json_array_size(nodes); i++) {
		json_t *row = json_deep_copy(json_array_get(nodes, i));

		if (row == NULL)
			ctl_oom();
		json_object_del(row, "config_digest");
		if (json_is_string(json_object_get(row, "config")) &&
		    strcmp(json_string_value(json_object_get(row, "config")), "different") == 0) {
			if (json_object_set_new(row, "config", json_string("DIFFERENT")) != 0)
				ctl_oom();
			ndiff++;
		}
		if (json_array_append_new(rows, row) != 0)
			ctl_oom();
	}
	fputc('\n', out);
	ctl_table(out, rows, ctl_node_cols, CTL_NELEM(ctl_node_cols));
	json_decref(rows);
	if (ndiff == 0)
		return;
	fputs("configuration differs from:", out);
	for (i = 0; i < json_array_size(nodes); i++) {
		const json_t *n = json_array_get(nodes, i);
		const json_t *cf = json_object_get(n, "config");
		char *name;

		if (!json_is_string(cf) || strcmp(json_string_value(cf), "different") != 0)
			continue;
		name = ctl_cell(json_object_get(n, "name"));
		fprintf(out, "%s %s", k++ ? "," : "", name);
		free(name);
	}
	fputc('\n', out);
}

static void ctl_render_status(const json_t *reply, FILE *out)
{
	static const char *const known[] = {
		"ok", "node", "version", "uptime_s", "config", "generation", "workers",
		"queue_base", "queue_kind", "rules", "vipas", "nodes", "config_digest",
		"fastpath",
	};
	const json_t *v, *vipas, *nodes, *workers, *base;
	const char *key;
	bool first = true;
	size_t i;

	ctl_put_field(out, reply, "node", "node", &first);
	ctl_put_field(out, reply, "version", "clusterd", &first);
	v = json_object_get(reply, "uptime_s");
	if (json_is_integer(v)) {
		fprintf(out, "%sup ", first ? "" : ", ");
		ctl_put_duration(out, json_integer_value(v));
		first = false;
	}
	if (!first)
		fputc('\n', out);

	first = true;
	ctl_put_field(out, reply, "config", "config", &first);
	ctl_put_field(out, reply, "generation", "generation", &first);
	ctl_put_field(out, reply, "config_digest", "digest", &first);
	if (!first)
		fputc('\n', out);

	first = true;
	workers = json_object_get(reply, "workers");
	base = json_object_get(reply, "queue_base");
	if (json_is_integer(workers) && json_is_integer(base) && json_integer_value(workers) > 0) {
		fprintf(out, "workers %" JSON_INTEGER_FORMAT ", queues %" JSON_INTEGER_FORMAT
			"-%" JSON_INTEGER_FORMAT, json_integer_value(workers),
			json_integer_value(base),
			json_integer_value(base) + json_integer_value(workers) - 1);
		first = false;
	} else {
		ctl_put_field(out, reply, "workers", "workers", &first);
		ctl_put_field(out, reply, "queue_base", "queue base", &first);
	}
	ctl_put_field(out, reply, "queue_kind", "kind", &first);
	ctl_put_field(out, reply, "rules", "rules", &first);
	ctl_put_field(out, reply, "fastpath", "fast path", &first);
	if (!first)
		fputc('\n', out);

	/* Fields added later: show them rather than hide them. */
	json_object_foreach((json_t *)reply, key, v) {
		for (i = 0; i < CTL_NELEM(known); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == CTL_NELEM(known))
			ctl_flatten(out, key, v, true);
	}

	vipas = json_object_get(reply, "vipas");
	if (ctl_all_objects(vipas)) {
		json_t *rows = json_array();

		if (rows == NULL)
			ctl_oom();
		for (i = 0; i < json_array_size(vipas); i++) {
			json_t *row = json_deep_copy(json_array_get(vipas, i));
			const json_t *svc, *alt;

			if (row == NULL)
				ctl_oom();
			svc = json_object_get(row, "services");
			if (json_is_array(svc) &&
			    json_object_set_new(row, "services", ctl_services_summary(svc)) != 0)
				ctl_oom();
			alt = json_object_get(row, "alternate");
			if (json_is_object(alt) &&
			    json_object_set_new(row, "alternate", ctl_alternate_summary(alt)) != 0)
				ctl_oom();
			if (json_array_append_new(rows, row) != 0)
				ctl_oom();
		}
		fputc('\n', out);
		ctl_table(out, rows, ctl_vipa_cols, CTL_NELEM(ctl_vipa_cols));
		json_decref(rows);
	} else if (json_is_array(vipas)) {
		fputs("\nno VIPAs\n", out);
	}

	nodes = json_object_get(reply, "nodes");
	if (ctl_all_objects(nodes))
		ctl_render_nodes(out, nodes);
}

/* Connects with SO_SNDTIMEO/SO_RCVTIMEO set: a unix connect() that waits for
 * a full backlog honours the send timeout, reads the receive timeout. */
static int ctl_connect(const char *path)
{
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	struct sockaddr_un sun;
	int fd, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);	/* length checked by caller */

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int ctl_send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until EOF into a growing buffer of at most CTL_REPLY_MAX bytes.
 * Returns 0, -EMSGSIZE when the reply is larger, or -errno. */
static int ctl_recv_all(int fd, char **bufp, size_t *lenp)
{
	size_t cap = CTL_REPLY_CHUNK, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= CTL_REPLY_MAX) {
				free(buf);
				return -EMSGSIZE;
			}
			cap = cap * 2 > CTL_REPLY_MAX ? CTL_REPLY_MAX : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			free(buf);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* One exchange; on failure prints why and returns the exit code. */
static int ctl_exchange(const char *path, const char *line, char **reply, size_t *len)
{
	int fd, err;

	fd = ctl_connect(path);
	if (fd < 0) {
		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			fprintf(stderr, "clusterctl: cannot connect to %s: timed out after %d s "
				"(is clusterd running?)\n", path, CTL_TIMEOUT_S);
		else
			fprintf(stderr, "clusterctl: cannot connect to %s: %s "
				"(is clusterd running?)\n", path, strerror(-fd));
		return CTL_EXIT_CONNECT;
	}
	err = ctl_send_all(fd, line, strlen(line));
	if (err == 0)
		err = ctl_recv_all(fd, reply, len);
	close(fd);
	if (err == -EAGAIN || err == -EWOULDBLOCK) {
		fprintf(stderr, "clusterctl: %s: no reply within %d s\n", path, CTL_TIMEOUT_S);
		return CTL_EXIT_CONNECT;
	} else if (err == -EMSGSIZE) {
		fprintf(stderr, "clusterctl: %s: reply larger than %u MiB\n", path,
			CTL_REPLY_MAX >> 20);
		return CTL_EXIT_CONNECT;
	} else if (err == -ENOMEM) {
		ctl_oom();
	} else if (err < 0) {
		fprintf(stderr, "clusterctl: %s: %s\n", path, strerror(-err));
		return CTL_EXIT_CONNECT;
	}
	if (*len == 0) {
		fprintf(stderr, "clusterctl: %s: connection closed without a reply\n", path);
		free(*reply);
		return CTL_EXIT_CONNECT;
	}
	return CTL_EXIT_OK;
}

static int ctl_finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "clusterctl: writing output: %s\n", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *path = getenv(CTL_SOCKET_ENV);
	const struct ctlproto_info *cmd;
	int id;
	bool json_out = false;
	char line[64 + CTL_ARG_MAX];
	char *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *reply, *ok;
	int opt, rc;

	if (path == NULL || *path == '\0')
		path = CTL_SOCKET_DEFAULT;
	/* GNU getopt permutes: "clusterctl stats --json" works as well. */
	while ((opt = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return ctl_finish_stdout();
		case 'V':
			printf("clusterctl %s\n", PACKAGE_VERSION);
			return ctl_finish_stdout();
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("clusterctl: missing command\n", stderr);
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	id = ctlproto_find(argv[optind]);
	if (id < 0) {
		fprintf(stderr, "clusterctl: unknown command '%s'\n", argv[optind]);
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cmd = &ctlproto_cmds[id];
	if (argc - optind - 1 != (int)cmd->nargs) {
		fprintf(stderr, "clusterctl: %s takes %s\n", cmd->name,
			cmd->nargs ? "one argument" : "no argument");
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (cmd->nargs == 1 && !ctl_arg_ok(argv[optind + 1])) {
		fprintf(stderr, "clusterctl: %s: bad argument (1 to %d characters, no spaces "
			"or control characters)\n", cmd->name, CTL_ARG_MAX);
		return CTL_EXIT_USAGE;
	}
	if (*path == '\0' || strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		fprintf(stderr, "clusterctl: socket path empty or too long: %s\n", path);
		return CTL_EXIT_USAGE;
	}
	if (cmd->nargs == 1)
		snprintf(line, sizeof(line), "%s %s\n", cmd->name, argv[optind + 1]);
	else
		snprintf(line, sizeof(line), "%s\n", cmd->name);

	rc = ctl_exchange(path, line, &buf, &len);
	if (rc != CTL_EXIT_OK)
		return rc;

	reply = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (reply == NULL) {
		fprintf(stderr, "clusterctl: invalid reply from clusterd: %s (line %d)\n",
			jerr.text, jerr.line);
		return CTL_EXIT_FAIL;
	}
	ok = json_object_get(reply, "ok");
	if (!json_is_object(reply) || !json_is_boolean(ok)) {
		fputs("clusterctl: invalid reply from clusterd: no \"ok\" field\n", stderr);
		json_decref(reply);
		return CTL_EXIT_FAIL;
	}

	/* With --json a script gets the object even when ok is false. */
	if (json_out) {
		/* A failed write shows in ferror(stdout), checked at the end. */
		json_dumpf(reply, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	if (!json_is_true(ok)) {
		const char *msg = json_string_value(json_object_get(reply, "error"));

		fputs("clusterctl: ", stderr);
		ctl_put_clean(stderr, msg != NULL ? msg : "request failed");
		fputc('\n', stderr);
		rc = json_is_true(json_object_get(reply, "busy")) ? CTL_EXIT_BUSY : CTL_EXIT_FAIL;
	} else if (!json_out) {
		ctl_renderers[id](reply, stdout);
	}
	json_decref(reply);
	if (ctl_finish_stdout() != CTL_EXIT_OK)
		return CTL_EXIT_FAIL;
	return rc;
}
