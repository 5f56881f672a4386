/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify: $NOTIFY_SOCKET and the watchdog's variables, the workers'
 * progress predicate, the STATUS= text and the datagram's format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "common/sdnotify.h"

static void test_socket_path(void **state)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	char err[256];

	(void)state;
	assert_int_equal(sdn_parse_socket("/run/systemd/notify", &sa, &len, err, sizeof(err)), 0);
	assert_int_equal(sa.sun_family, AF_UNIX);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	/* the path and its NUL */
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
}

static void test_socket_abstract(void **state)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	char err[256];

	(void)state;
	assert_int_equal(sdn_parse_socket("@org/notify", &sa, &len, err, sizeof(err)), 0);
	/* '@' becomes the NUL; the length counts the name exactly, no NUL after */
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "org/notify", 10);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 11);
}

static void test_socket_refused(void **state)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	char err[256], longp[200];

	(void)state;
	err[0] = '\0';
	assert_int_equal(sdn_parse_socket("", &sa, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(sdn_parse_socket(NULL, &sa, &len, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_socket("@", &sa, &len, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_socket("run/notify", &sa, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute"));
	/* sun_path is 108 bytes: a path of 107 fits with its NUL, 108 does not */
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[107] = '\0';
	assert_int_equal(sdn_parse_socket(longp, &sa, &len, err, sizeof(err)), 0);
	longp[107] = 'a';
	longp[108] = '\0';
	assert_int_equal(sdn_parse_socket(longp, &sa, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most"));
	/* an abstract name has no NUL: '@' and 107 characters fit, 108 do not */
	longp[0] = '@';
	assert_int_equal(sdn_parse_socket(longp, &sa, &len, err, sizeof(err)), 0);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 108);
	longp[108] = 'a';
	longp[109] = '\0';
	assert_int_equal(sdn_parse_socket(longp, &sa, &len, err, sizeof(err)), -1);
}

static void test_watchdog(void **state)
{
	uint64_t u = 7;
	char err[256];

	(void)state;
	/* none */
	assert_int_equal(sdn_parse_watchdog(NULL, NULL, 42, &u, err, sizeof(err)), 0);
	assert_int_equal(sdn_parse_watchdog(NULL, "42", 42, &u, err, sizeof(err)), 0);
	/* ours: no pid given, or ours */
	assert_int_equal(sdn_parse_watchdog("1000000", NULL, 42, &u, err, sizeof(err)), 1);
	assert_int_equal(u, 1000000);
	u = 0;
	assert_int_equal(sdn_parse_watchdog("30000000", "42", 42, &u, err, sizeof(err)), 1);
	assert_int_equal(u, 30000000);
	/* another process's */
	u = 5;
	assert_int_equal(sdn_parse_watchdog("1000000", "1", 42, &u, err, sizeof(err)), 0);
	assert_int_equal(u, 5);
	/* garbage, zero, overflow, sign, spaces */
	assert_int_equal(sdn_parse_watchdog("", NULL, 42, &u, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog("0", NULL, 42, &u, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog("12ms", NULL, 42, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "WATCHDOG_USEC"));
	assert_int_equal(sdn_parse_watchdog("-5", NULL, 42, &u, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog(" 5", NULL, 42, &u, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog("18446744073709551616", NULL, 42, &u, err,
					    sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog("18446744073709551615", NULL, 42, &u, err,
					    sizeof(err)), 1);
	assert_int_equal(sdn_parse_watchdog("1000", "x", 42, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "WATCHDOG_PID"));
	assert_int_equal(sdn_parse_watchdog("1000", "0", 42, &u, err, sizeof(err)), -1);
	assert_int_equal(sdn_parse_watchdog("1000", "99999999999", 42, &u, err, sizeof(err)), -1);
}

static void test_progress(void **state)
{
	const uint64_t prev[3] = { 10, 20, 30 };
	uint64_t now[3] = { 11, 25, 31 };
	bool idle[3] = { false, false, false };
	size_t stalled = 99;

	(void)state;
	/* every one went round its loop */
	assert_true(sdn_workers_progress(now, prev, idle, 3, &stalled));
	assert_int_equal(stalled, 99);
	/* worker 1 did not and is not waiting for packets: stuck */
	now[1] = 20;
	assert_false(sdn_workers_progress(now, prev, idle, 3, &stalled));
	assert_int_equal(stalled, 1);
	/* the same counter, but asleep in poll: idle, fine */
	idle[1] = true;
	assert_true(sdn_workers_progress(now, prev, idle, 3, NULL));
	/* the first one that is stuck is named */
	idle[1] = false;
	now[2] = 30;
	assert_false(sdn_workers_progress(now, prev, idle, 3, &stalled));
	assert_int_equal(stalled, 1);
	/* a counter that wrapped still moved */
	{
		const uint64_t p1[1] = { UINT64_MAX };
		const uint64_t n1[1] = { 0 };
		const bool i1[1] = { false };

		assert_true(sdn_workers_progress(n1, p1, i1, 1, NULL));
	}
	/* no workers: nothing to wait for */
	assert_true(sdn_workers_progress(NULL, NULL, NULL, 0, NULL));
}

static void test_status_running(void **state)
{
	const struct sdn_vipa v[] = {
		{ .addr = "10.2.0.100", .role = SDN_DISTRIBUTOR, .targets_active = 3,
		  .targets = 3 },
		{ .addr = "10.2.0.200", .role = SDN_BACKUP },
		{ .addr = "fd02::100", .role = SDN_DISTRIBUTOR, .targets_active = 0,
		  .targets = 1 },
		{ .addr = "10.2.0.250", .role = SDN_STANDBY },
		{ .addr = "10.9.9.9", .role = SDN_NONE },
	};
	struct sdn_status in = {
		.phase = SDN_RUNNING, .vipas = v, .n_vipas = 5, .alive = 4, .nodes = 5,
	};
	char buf[SDN_STATUS_MAX];
	size_t n;

	(void)state;
	n = sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "distributor of 10.2.0.100 (3 of 3 targets active), fd02::100 "
				 "(0 of 1 target active); backup of 10.2.0.200; standby "
				 "distributor of 10.2.0.250; 4 of 5 nodes alive");
	assert_int_equal(n, strlen(buf));
}

static void test_status_target_and_none(void **state)
{
	const struct sdn_vipa v[] = {
		{ .addr = "10.2.0.100", .role = SDN_NONE, .target = true },
		{ .addr = "fd02::100", .role = SDN_NONE, .target = true },
	};
	struct sdn_status in = {
		.phase = SDN_RUNNING, .vipas = v, .n_vipas = 2, .alive = 1, .nodes = 1,
	};
	char buf[SDN_STATUS_MAX];

	(void)state;
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "target of 10.2.0.100, fd02::100; 1 of 1 node alive");
	in.n_vipas = 0;
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "no role; 1 of 1 node alive");
}

static void test_status_phases(void **state)
{
	const struct sdn_vipa v[] = {
		{ .addr = "10.2.0.100", .role = SDN_STANDBY },
	};
	struct sdn_status in = {
		.phase = SDN_STARTING, .waiting_for = "d1", .vipas = v, .n_vipas = 1,
		.alive = 2, .nodes = 5,
	};
	char buf[SDN_STATUS_MAX];

	(void)state;
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "starting: waiting for the tables of d1; standby distributor "
				 "of 10.2.0.100; 2 of 5 nodes alive");
	in.waiting_for = "";
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "starting: waiting for the peers; standby distributor of "
				 "10.2.0.100; 2 of 5 nodes alive");
	in.phase = SDN_LEAVING;
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "leaving");
	/* a refused reload, its message on one line */
	in.phase = SDN_RUNNING;
	in.note = "last reload refused: /etc/clusterd.conf:3: bad\nthing";
	sdn_status_text(&in, buf, sizeof(buf));
	assert_string_equal(buf, "standby distributor of 10.2.0.100; 2 of 5 nodes alive; last "
				 "reload refused: /etc/clusterd.conf:3: bad thing");
}

static void test_status_cut(void **state)
{
	struct sdn_vipa v[64];
	struct sdn_status in = { .phase = SDN_RUNNING, .vipas = v, .n_vipas = 64 };
	char big[SDN_STATUS_MAX + 100], small[20];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 64; i++)
		v[i] = (struct sdn_vipa){ .addr = "fd02:1234:5678:9abc::100",
					  .role = SDN_DISTRIBUTOR, .targets = 9 };
	memset(big, 'x', sizeof(big));
	n = sdn_status_text(&in, big, sizeof(big));
	assert_int_equal(n, SDN_STATUS_MAX - 1);
	assert_int_equal(strlen(big), n);
	n = sdn_status_text(&in, small, sizeof(small));
	assert_int_equal(n, sizeof(small) - 1);
	assert_string_equal(small, "distributor of fd02");
	assert_int_equal(sdn_status_text(&in, small, 0), 0);
}

static void test_format(void **state)
{
	char buf[SDN_MSG_MAX];
	size_t n;

	(void)state;
	n = sdn_format(buf, sizeof(buf), SDN_F_READY, 0, "distributor of 10.2.0.100");
	assert_string_equal(buf, "READY=1\nSTATUS=distributor of 10.2.0.100\n");
	assert_int_equal(n, strlen(buf));
	n = sdn_format(buf, sizeof(buf), SDN_F_WATCHDOG, 0, NULL);
	assert_string_equal(buf, "WATCHDOG=1\n");
	n = sdn_format(buf, sizeof(buf), SDN_F_RELOADING, 123456789, NULL);
	assert_string_equal(buf, "RELOADING=1\nMONOTONIC_USEC=123456789\n");
	n = sdn_format(buf, sizeof(buf), SDN_F_STOPPING, 0, "leaving");
	assert_string_equal(buf, "STOPPING=1\nSTATUS=leaving\n");
	/* a status alone; a newline in it cannot start a line of its own */
	n = sdn_format(buf, sizeof(buf), 0, 0, "a\nREADY=1");
	assert_string_equal(buf, "STATUS=a READY=1\n");
	assert_int_equal(n, strlen(buf));
	/* nothing to say, or no room for the fixed lines */
	assert_int_equal(sdn_format(buf, sizeof(buf), 0, 0, NULL), 0);
	assert_int_equal(sdn_format(buf, 10, SDN_F_READY, 0, NULL), 0);
}

static void test_format_cut(void **state)
{
	char buf[200], status[SDN_STATUS_MAX * 2];
	size_t n;

	(void)state;
	memset(status, 's', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	/* a short buffer: the status is cut, the datagram still ends its line */
	n = sdn_format(buf, sizeof(buf), SDN_F_READY, 0, status);
	assert_int_equal(n, sizeof(buf) - 1);
	assert_int_equal(strlen(buf), n);
	assert_memory_equal(buf, "READY=1\nSTATUS=sss", 18);
	assert_int_equal(buf[n - 1], '\n');
	/* a long one: the status is cut at SDN_STATUS_MAX - 1 characters */
	{
		char big[SDN_MSG_MAX];

		n = sdn_format(big, sizeof(big), 0, 0, status);
		assert_int_equal(n, strlen("STATUS=") + SDN_STATUS_MAX - 1 + 1);
		assert_int_equal(big[n - 1], '\n');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_path),
		cmocka_unit_test(test_socket_abstract),
		cmocka_unit_test(test_socket_refused),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_status_running),
		cmocka_unit_test(test_status_target_and_none),
		cmocka_unit_test(test_status_phases),
		cmocka_unit_test(test_status_cut),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
