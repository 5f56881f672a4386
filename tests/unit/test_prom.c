/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom: the exposition format writer, the stats-name mapping, the HTTP
 * request head parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/prom.h"

/* --- escaping and numbers ------------------------------------------------------ */

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(prom_escape_label(out, sizeof(out), "plain"), 5);
	assert_string_equal(out, "plain");
	assert_int_equal(prom_escape_label(out, sizeof(out), "a\\b\"c\nd"), 10);
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* Truncation never leaves half an escape. */
	assert_int_equal(prom_escape_label(out, 3, "a\"b"), 4);
	assert_string_equal(out, "a");
	assert_int_equal(prom_escape_label(out, 4, "a\"b"), 4);
	assert_string_equal(out, "a\\\"");
	assert_int_equal(prom_escape_label(NULL, 0, "\n\n"), 4);
}

static void test_numbers(void **state)
{
	char out[64];

	(void)state;
	prom_fmt_double(out, sizeof(out), 0);
	assert_string_equal(out, "0");
	prom_fmt_double(out, sizeof(out), 12345);
	assert_string_equal(out, "12345");
	prom_fmt_double(out, sizeof(out), -3);
	assert_string_equal(out, "-3");
	prom_fmt_double(out, sizeof(out), 0.25);
	assert_string_equal(out, "0.25");
	prom_fmt_double(out, sizeof(out), 0.001234);
	assert_string_equal(out, "0.001234");
	prom_fmt_double(out, sizeof(out), 0.1 + 0.2);
	assert_true(strtod(out, NULL) == 0.1 + 0.2);
	prom_fmt_double(out, sizeof(out), INFINITY);
	assert_string_equal(out, "+Inf");
	prom_fmt_double(out, sizeof(out), -INFINITY);
	assert_string_equal(out, "-Inf");
	prom_fmt_double(out, sizeof(out), NAN);
	assert_string_equal(out, "NaN");
	prom_fmt_double(out, sizeof(out), 1e20);
	assert_true(strtod(out, NULL) == 1e20);
}

static void test_writer(void **state)
{
	struct prom_buf b;
	struct prom_label l[2] = { { "vipa", "10.2.0.100" }, { "odd", "x\"y\\z\nw" } };

	(void)state;
	prom_buf_init(&b);
	prom_family(&b, "clusterd_x_total", "counter", "help with \\ and\nnewline \"kept\"");
	prom_sample_u64(&b, "clusterd_x_total", NULL, 0, 18446744073709551615ull);
	prom_sample_u64(&b, "clusterd_x_total", l, 2, 7);
	prom_sample_f(&b, "clusterd_y_seconds", l, 1, 0.5);
	assert_false(b.oom);
	assert_string_equal(b.p,
			    "# HELP clusterd_x_total help with \\\\ and\\nnewline \"kept\"\n"
			    "# TYPE clusterd_x_total counter\n"
			    "clusterd_x_total 18446744073709551615\n"
			    "clusterd_x_total{vipa=\"10.2.0.100\",odd=\"x\\\"y\\\\z\\nw\"} 7\n"
			    "clusterd_y_seconds{vipa=\"10.2.0.100\"} 0.5\n");
	assert_int_equal(b.len, strlen(b.p));
	prom_buf_free(&b);
	assert_null(b.p);
}

static void test_writer_grows(void **state)
{
	struct prom_buf b;
	char big[10000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	prom_buf_init(&b);
	for (int i = 0; i < 50; i++) {
		struct prom_label l = { "v", big };

		prom_sample_u64(&b, "m", &l, 1, (uint64_t)i);
	}
	assert_false(b.oom);
	assert_int_equal(b.len, 50 * (strlen("m{v=\"\"} 0\n") + sizeof(big) - 1) + 40);
	assert_int_equal(strlen(b.p), b.len);
	prom_buf_free(&b);
}

/* --- the stats-name rule --------------------------------------------------------------- */

static void check_map(const char *stat, const char *family, const char *label,
		      const char *value, enum prom_type type, const char *help)
{
	struct prom_map m;

	assert_true(prom_map_stat(stat, &m));
	assert_string_equal(m.family, family);
	if (label) {
		assert_non_null(m.label);
		assert_string_equal(m.label, label);
		assert_string_equal(m.value, value);
	} else {
		assert_null(m.label);
	}
	assert_int_equal(m.type, type);
	assert_string_equal(m.help, help);
}

static void test_map(void **state)
{
	struct prom_map m;
	char longname[PROM_NAME_MAX + 10];

	(void)state;
	check_map("drops.no_target", "clusterd_packet_drops_total", "reason", "no_target",
		  PROM_COUNTER, "clusterctl stats: drops.{reason}");
	check_map("malformed.short", "clusterd_malformed_packets_total", "reason", "short",
		  PROM_COUNTER, "clusterctl stats: malformed.{reason}");
	check_map("sync.rejected.bad_mac", "clusterd_sync_rejected_total", "reason", "bad_mac",
		  PROM_COUNTER, "clusterctl stats: sync.rejected.{reason}");
	check_map("metrics.errors.not_found", "clusterd_metrics_errors_total", "kind",
		  "not_found", PROM_COUNTER, "clusterctl stats: metrics.errors.{kind}");
	check_map("conns.created", "clusterd_conns_created_total", NULL, NULL, PROM_COUNTER,
		  "clusterctl stats: conns.created");
	check_map("sync.reliable.acks_sent", "clusterd_sync_reliable_acks_sent_total", NULL, NULL,
		  PROM_COUNTER, "clusterctl stats: sync.reliable.acks_sent");
	check_map("queue.overruns", "clusterd_queue_overruns_total", NULL, NULL, PROM_COUNTER,
		  "clusterctl stats: queue.overruns");
	/* Every gauge the daemon shows: no _total. */
	check_map("conns.active", "clusterd_conns_active", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: conns.active");
	check_map("handoff.slots", "clusterd_handoff_slots", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: handoff.slots");
	check_map("handoff.pending", "clusterd_handoff_pending", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: handoff.pending");
	check_map("handoff.fe_pending", "clusterd_handoff_fe_pending", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: handoff.fe_pending");
	check_map("sync.repl.replicas", "clusterd_sync_repl_replicas", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: sync.repl.replicas");
	check_map("sctp.associations", "clusterd_sctp_associations", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: sctp.associations");
	check_map("sctp.associations_unconfirmed", "clusterd_sctp_associations_unconfirmed",
		  NULL, NULL, PROM_GAUGE, "clusterctl stats: sctp.associations_unconfirmed");
	check_map("sctp.table.capacity", "clusterd_sctp_table_capacity", NULL, NULL, PROM_GAUGE,
		  "clusterctl stats: sctp.table.capacity");
	check_map("sctp.probe.listening", "clusterd_sctp_probe_listening", NULL, NULL,
		  PROM_GAUGE, "clusterctl stats: sctp.probe.listening");
	/* ... and the table's counters stay counters. */
	check_map("sctp.table.full", "clusterd_sctp_table_full_total", NULL, NULL, PROM_COUNTER,
		  "clusterctl stats: sctp.table.full");
	assert_true(prom_stat_is_gauge("sctp.backlog"));
	assert_true(prom_stat_is_gauge("sctp.pending"));
	assert_true(prom_stat_is_gauge("sctp.bulks_in_progress"));
	assert_true(prom_stat_is_gauge("sctp.associations_init"));
	assert_true(prom_stat_is_gauge("sctp.probe.ports"));
	assert_true(prom_stat_is_gauge("metrics.clients"));
	assert_true(prom_stat_is_gauge("notify.enabled"));
	assert_true(prom_stat_is_gauge("notify.watchdog_usec"));
	assert_false(prom_stat_is_gauge("notify.sent"));
	assert_false(prom_stat_is_gauge("metrics.requests"));
	assert_false(prom_stat_is_gauge("sctp.inits"));
	assert_false(prom_stat_is_gauge("conns"));
	/* Characters a metric name cannot hold. */
	check_map("odd-name.x y", "clusterd_odd_name_x_y_total", NULL, NULL, PROM_COUNTER,
		  "clusterctl stats: odd-name.x y");
	/* Nothing to map. */
	assert_false(prom_map_stat("", &m));
	assert_false(prom_map_stat(NULL, &m));
	assert_false(prom_map_stat("drops.", &m));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_false(prom_map_stat(longname, &m));
	/* "drops" alone is no labelled name: the plain rule. */
	check_map("drops", "clusterd_drops_total", NULL, NULL, PROM_COUNTER,
		  "clusterctl stats: drops");
}

/* --- HTTP --------------------------------------------------------------------------------- */

static enum prom_http_result parse(const char *s, size_t max, struct prom_http_req *r)
{
	return prom_http_parse(s, strlen(s), max, r);
}

static void test_http_ok(void **state)
{
	struct prom_http_req r;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 4096,
			       &r), PROM_HTTP_OK);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/metrics");
	assert_int_equal(parse("HEAD /metrics?x=1&y HTTP/1.0\n\n", 4096, &r), PROM_HTTP_OK);
	assert_string_equal(r.method, "HEAD");
	assert_string_equal(r.path, "/metrics");
	assert_int_equal(parse("POST / HTTP/1.1\r\n\r\n", 4096, &r), PROM_HTTP_OK);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/");
	/* A body after the head is not ours to read. */
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r\nbody", 4096, &r), PROM_HTTP_OK);
}

static void test_http_incomplete(void **state)
{
	static const char full[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct prom_http_req r;

	(void)state;
	/* Every prefix short of the last byte waits for more. */
	for (size_t n = 0; n < sizeof(full) - 1; n++)
		assert_int_equal(prom_http_parse(full, n, 4096, &r), PROM_HTTP_INCOMPLETE);
	assert_int_equal(prom_http_parse(full, sizeof(full) - 1, 4096, &r), PROM_HTTP_OK);
}

static void test_http_too_large(void **state)
{
	char big[8192];
	struct prom_http_req r;

	(void)state;
	/* A request line that never ends. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(prom_http_parse(big, 4096, 4096, &r), PROM_HTTP_TOO_LARGE);
	assert_int_equal(prom_http_parse(big, sizeof(big), 4096, &r), PROM_HTTP_TOO_LARGE);
	assert_int_equal(prom_http_parse(big, 4095, 4096, &r), PROM_HTTP_INCOMPLETE);
	/* Headers that never end. */
	snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n");
	for (size_t k = strlen(big); k + 8 < sizeof(big); k += 8)
		memcpy(big + k, "X: yyy\r\n", 8);
	assert_int_equal(prom_http_parse(big, 4096, 4096, &r), PROM_HTTP_TOO_LARGE);
	/* The same head within the limit is fine. */
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nX: y\r\n\r\n", 31, &r), PROM_HTTP_OK);
}

static void test_http_bad(void **state)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.1 extra\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",
		"GET /met\trics HTTP/1.1\r\n\r\n",
		"GETTTTTTTTTTTTTTTTTTTTTT /metrics HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02\x01\x01\xfc\x03\x03\n",	/* a TLS ClientHello */
		"SSH-2.0-OpenSSH_9.2\r\n",
		"GET /metrics HTTP/1.x\r\n\r\n",
	};
	struct prom_http_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], 4096, &r), PROM_HTTP_BAD);
		assert_string_equal(r.method, "");
	}
	/* A bad line is known as soon as it ends: no waiting for the head. */
	assert_int_equal(parse("FOO\r\n", 4096, &r), PROM_HTTP_BAD);
	/* A NUL anywhere. */
	assert_int_equal(prom_http_parse("GET /\0 HTTP/1.1\r\n\r\n", 19, 4096, &r),
			 PROM_HTTP_BAD);
	assert_int_equal(prom_http_parse("GET / HTTP/1.1\r\n\0", 17, 4096, &r), PROM_HTTP_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_writer_grows),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_http_ok),
		cmocka_unit_test(test_http_incomplete),
		cmocka_unit_test(test_http_too_large),
		cmocka_unit_test(test_http_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
