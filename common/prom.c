/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom: the Prometheus text exposition format (see prom.h). */
#include <inttypes.h>
#include <math.h>	/* isnan, isinf: macros, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

/* --- buffer ------------------------------------------------------------------ */

void prom_buf_init(struct prom_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void prom_buf_free(struct prom_buf *b)
{
	free(b->p);
	prom_buf_init(b);
}

static bool prom_reserve(struct prom_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void prom_put(struct prom_buf *b, const char *s, size_t n)
{
	if (!prom_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !prom_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* --- escaping and numbers ------------------------------------------------------------ */

/* Escapes in into out; `quote`: also \" (label values; HELP leaves quotes). */
static size_t prom_escape(char *out, size_t cap, const char *in, bool quote)
{
	size_t need = 0, k = 0;

	for (; *in; in++) {
		char e = *in == '\\' ? '\\' : *in == '\n' ? 'n' : quote && *in == '"' ? '"' : 0;
		size_t w = e ? 2 : 1;

		if (cap && k + w < cap) {
			if (e) {
				out[k++] = '\\';
				out[k++] = e;
			} else {
				out[k++] = *in;
			}
		} else if (cap) {
			cap = k + 1;	/* full: nothing more, not half an escape */
		}
		need += w;
	}
	if (cap)
		out[k] = 0;
	return need;
}

size_t prom_escape_label(char *out, size_t cap, const char *in)
{
	return prom_escape(out, cap, in, true);
}

void prom_fmt_double(char *out, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(out, cap, "NaN");
	} else if (isinf(v)) {
		snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
	} else if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		snprintf(out, cap, "%.0f", v);
	} else {
		/* The shortest precision that reads back the same value. */
		for (int p = 6; p <= 17; p++) {
			snprintf(out, cap, "%.*g", p, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

/* Appends in escaped (label value or HELP text). */
static void prom_put_escaped(struct prom_buf *b, const char *in, bool quote)
{
	size_t n = prom_escape(NULL, 0, in, quote);

	if (!prom_reserve(b, n))
		return;
	prom_escape(b->p + b->len, n + 1, in, quote);
	b->len += n;
}

void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s ", name);
	prom_put_escaped(b, help, false);
	prom_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void prom_labels(struct prom_buf *b, const char *name, const struct prom_label *l,
			size_t nl)
{
	prom_put(b, name, strlen(name));
	if (!nl)
		return;
	prom_put(b, "{", 1);
	for (size_t i = 0; i < nl; i++) {
		prom_printf(b, "%s%s=\"", i ? "," : "", l[i].name);
		prom_put_escaped(b, l[i].value ? l[i].value : "", true);
		prom_put(b, "\"", 1);
	}
	prom_put(b, "}", 1);
}

void prom_sample_u64(struct prom_buf *b, const char *name, const struct prom_label *l, size_t nl,
		     uint64_t v)
{
	prom_labels(b, name, l, nl);
	prom_printf(b, " %" PRIu64 "\n", v);
}

void prom_sample_f(struct prom_buf *b, const char *name, const struct prom_label *l, size_t nl,
		   double v)
{
	char num[64];

	prom_fmt_double(num, sizeof(num), v);
	prom_labels(b, name, l, nl);
	prom_printf(b, " %s\n", num);
}

/* --- stats names -------------------------------------------------------------------- */

/* The levels among the `clusterctl stats` names: daemon/ctl.c's table gauges
 * and the subsystems' (daemon/dhand.c, drepl.c, dsctp.c, sprobe.c, metrics.c,
 * notify.c).  A new gauge needs its line here; anything else is a counter. */
static const char *const prom_gauges[] = {
	"conns.active",
	"handoff.slots", "handoff.pending", "handoff.fe_pending",
	"sync.repl.replicas",
	"sctp.associations", "sctp.associations_init", "sctp.associations_established",
	"sctp.associations_closed", "sctp.associations_unconfirmed",
	"sctp.table.capacity",
	"sctp.pending", "sctp.backlog", "sctp.bulks_in_progress",
	"sctp.probe.ports", "sctp.probe.listening",
	"metrics.clients",
	"notify.enabled", "notify.watchdog_usec",
	NULL
};

bool prom_stat_is_gauge(const char *name)
{
	for (size_t i = 0; prom_gauges[i]; i++)
		if (!strcmp(prom_gauges[i], name))
			return true;
	return false;
}

/* Prefixes whose last word becomes a label of one family. */
static const struct {
	const char *prefix, *family, *label;
} prom_labelled[] = {
	{ "drops.", "clusterd_packet_drops_total", "reason" },
	{ "malformed.", "clusterd_malformed_packets_total", "reason" },
	{ "sync.rejected.", "clusterd_sync_rejected_total", "reason" },
	{ "metrics.errors.", "clusterd_metrics_errors_total", "kind" },
};

/* s with every character a metric name cannot hold as '_', after `pre`. */
static bool prom_name(char *out, size_t cap, const char *pre, const char *s, const char *post)
{
	size_t k = strlen(pre), n = strlen(s), m = strlen(post);

	if (k + n + m >= cap)
		return false;
	memcpy(out, pre, k);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		out[k++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' ? c : '_';
	}
	memcpy(out + k, post, m + 1);
	return true;
}

bool prom_map_stat(const char *name, struct prom_map *m)
{
	memset(m, 0, sizeof(*m));
	if (!name || !*name || strlen(name) >= PROM_NAME_MAX)
		return false;
	for (size_t i = 0; i < sizeof(prom_labelled) / sizeof(prom_labelled[0]); i++) {
		size_t n = strlen(prom_labelled[i].prefix);

		if (strncmp(name, prom_labelled[i].prefix, n))
			continue;
		if (!name[n])
			return false;
		snprintf(m->family, sizeof(m->family), "%s", prom_labelled[i].family);
		m->label = prom_labelled[i].label;
		snprintf(m->value, sizeof(m->value), "%s", name + n);
		m->type = PROM_COUNTER;
		snprintf(m->help, sizeof(m->help), "clusterctl stats: %s{%s}",
			 prom_labelled[i].prefix, m->label);
		return true;
	}
	m->type = prom_stat_is_gauge(name) ? PROM_GAUGE : PROM_COUNTER;
	if (!prom_name(m->family, sizeof(m->family), "clusterd_", name,
		       m->type == PROM_COUNTER ? "_total" : ""))
		return false;
	snprintf(m->help, sizeof(m->help), "clusterctl stats: %s", name);
	return true;
}

/* --- HTTP ------------------------------------------------------------------------------ */

static bool prom_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The request line line[0, n) (without its CR LF). */
static bool prom_request_line(const char *line, size_t n, struct prom_http_req *r)
{
	const char *sp1 = memchr(line, ' ', n), *sp2, *end = line + n, *q;
	size_t ml, tl;

	if (!sp1)
		return false;
	ml = (size_t)(sp1 - line);
	if (!ml || ml >= sizeof(r->method))
		return false;
	for (size_t i = 0; i < ml; i++)
		if (!prom_tchar(line[i]))
			return false;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2)
		return false;
	tl = (size_t)(sp2 - sp1 - 1);
	if (!tl || sp1[1] != '/')
		return false;
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)sp1[1 + i] <= 0x20 || sp1[1 + i] == 0x7f)
			return false;
	/* HTTP/1.0 or HTTP/1.1 (any 1.x), nothing after it. */
	if ((size_t)(end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    sp2[8] < '0' || sp2[8] > '9')
		return false;
	memcpy(r->method, line, ml);
	r->method[ml] = 0;
	q = memchr(sp1 + 1, '?', tl);
	if (q)
		tl = (size_t)(q - sp1 - 1);
	if (tl >= sizeof(r->path))
		tl = sizeof(r->path) - 1;	/* a long path is no path of ours: 404 */
	memcpy(r->path, sp1 + 1, tl);
	r->path[tl] = 0;
	return true;
}

enum prom_http_result prom_http_parse(const char *buf, size_t len, size_t max,
				      struct prom_http_req *r)
{
	const char *nl;
	size_t ll;

	memset(r, 0, sizeof(*r));
	if (len > max)
		len = max;
	if (memchr(buf, 0, len))
		return PROM_HTTP_BAD;
	nl = memchr(buf, '\n', len);
	if (!nl)
		return len >= max ? PROM_HTTP_TOO_LARGE : PROM_HTTP_INCOMPLETE;
	ll = (size_t)(nl - buf);
	if (ll && buf[ll - 1] == '\r')
		ll--;
	for (size_t i = 0; i < ll; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return PROM_HTTP_BAD;
	if (!prom_request_line(buf, ll, r)) {
		memset(r, 0, sizeof(*r));
		return PROM_HTTP_BAD;
	}
	/* The end of the head: an empty line (LF or CR LF) after the request
	 * line or a header. */
	for (const char *p = nl + 1; p < buf + len;) {
		const char *e = memchr(p, '\n', (size_t)(buf + len - p));

		if (!e)
			break;
		if (e == p || (e == p + 1 && *p == '\r'))
			return PROM_HTTP_OK;
		p = e + 1;
	}
	return len >= max ? PROM_HTTP_TOO_LARGE : PROM_HTTP_INCOMPLETE;
}
