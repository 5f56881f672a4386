/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>

#include "daemon/log.h"

/* Set once at start-up before any thread exists. */
static bool log_stderr = true;
static int log_max = LOG_INFO;

void log_open(const char *ident, bool to_stderr, int max_level)
{
	log_stderr = to_stderr;
	log_max = max_level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void log_v(int level, const char *fmt, va_list ap)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
				       "warning", "notice", "info", "debug" };
	if (level > log_max)
		return;
	if (log_stderr) {
		char line[1024];
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "clusterd[%s]: %s\n", names[level & 7], line);
	} else {
		vsyslog(level, fmt, ap);
	}
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(level, fmt, ap);
	va_end(ap);
}

void log_rl(struct log_rl *rl, unsigned burst, int level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Racy counters across threads only make the limit approximate. */
	if (ts.tv_sec != rl->sec) {
		if (rl->suppressed)
			log_msg(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->sec = ts.tv_sec;
		rl->n = 0;
		rl->suppressed = 0;
	}
	if (rl->n >= burst) {
		rl->suppressed++;
		return;
	}
	rl->n++;
	va_start(ap, fmt);
	log_v(level, fmt, ap);
	va_end(ap);
}
