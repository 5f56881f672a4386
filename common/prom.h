/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom: the Prometheus text exposition format (version 0.0.4) and the little
 * of HTTP/1.x the metrics endpoint needs.  Pure: buffers in, results out, no
 * sockets, no clock.
 *
 *  - prom_buf: a growable text buffer; families (HELP and TYPE lines) and
 *    samples with label values escaped (\\, \", \n) and numbers formatted
 *    the way the format wants (integers as such, +Inf/-Inf/NaN).  Running out
 *    of memory sets `oom` and makes every later write a no-op: the caller
 *    checks once at the end.
 *  - prom_map_stat: the one rule mapping a `clusterctl stats` name to a
 *    family, a label and a type (see the function).
 *  - prom_http_parse: the request line of an HTTP/1.x request head. */
#ifndef CLUSTERD_PROM_H
#define CLUSTERD_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_buf {
	char *p;		/* NUL-terminated while len < cap */
	size_t len, cap;
	bool oom;
};

struct prom_label {
	const char *name, *value;
};

void prom_buf_init(struct prom_buf *b);
void prom_buf_free(struct prom_buf *b);
/* Appends printf-style text (no escaping). */
void prom_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n"; help escaped (\\ and \n).
 * type: "counter" or "gauge". */
void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help);
/* name{l[0].name="l[0].value",...} v\n; label values escaped. */
void prom_sample_u64(struct prom_buf *b, const char *name, const struct prom_label *l, size_t nl,
		     uint64_t v);
void prom_sample_f(struct prom_buf *b, const char *name, const struct prom_label *l, size_t nl,
		   double v);

/* A label value escaped for the format into out (always NUL-terminated,
 * truncated to cap - 1 bytes without splitting an escape); returns the
 * length it needs in full (snprintf-like). */
size_t prom_escape_label(char *out, size_t cap, const char *in);
/* A double as the format writes it: integers without a fraction, +Inf,
 * -Inf, NaN, otherwise the shortest of %.17g that reads back the same. */
void prom_fmt_double(char *out, size_t cap, double v);

/* ---- `clusterctl stats` names ---- */

enum prom_type { PROM_COUNTER = 0, PROM_GAUGE };

#define PROM_NAME_MAX 160

struct prom_map {
	char family[PROM_NAME_MAX];	/* clusterd_... */
	const char *label;		/* NULL: no label */
	char value[PROM_NAME_MAX];	/* the label's value */
	enum prom_type type;
	/* HELP text: "clusterctl stats: NAME" or, with a label,
	 * "clusterctl stats: PREFIX.{label}". */
	char help[PROM_NAME_MAX + 32];
};

/* The rule, for a stats name (dots between lowercase words):
 *   drops.X          -> clusterd_packet_drops_total{reason="X"}
 *   malformed.X      -> clusterd_malformed_packets_total{reason="X"}
 *   sync.rejected.X  -> clusterd_sync_rejected_total{reason="X"}
 *   metrics.errors.X -> clusterd_metrics_errors_total{kind="X"}
 *   a gauge (prom_stat_is_gauge) -> clusterd_ + name, '.' -> '_'
 *   anything else    -> clusterd_ + name, '.' -> '_', + _total (a counter)
 * Characters a metric name cannot hold become '_'.  false when name is
 * empty, too long, or a labelled prefix without a value. */
bool prom_map_stat(const char *name, struct prom_map *m);
/* The stats names that are gauges (a level, not a count of events). */
bool prom_stat_is_gauge(const char *name);

/* ---- HTTP ---- */

enum prom_http_result {
	PROM_HTTP_INCOMPLETE = 0,	/* the head is not all there yet */
	PROM_HTTP_OK,			/* method and path filled */
	PROM_HTTP_BAD,			/* not an HTTP/1.x request: 400 */
	PROM_HTTP_TOO_LARGE,		/* no end of head within max bytes: 431 */
};

struct prom_http_req {
	char method[16];
	char path[256];		/* without the query string */
};

/* Parses the request head in buf[0, len): the request line "METHOD SP
 * TARGET SP HTTP/1.x" and the end of the head (an empty line, CRLF or LF).
 * A bad request line is BAD as soon as the line is complete; a NUL byte or
 * a control character in it too.  len >= max without the head's end is
 * TOO_LARGE (BAD when the request line itself is already bad). */
enum prom_http_result prom_http_parse(const char *buf, size_t len, size_t max,
				      struct prom_http_req *r);

#endif
