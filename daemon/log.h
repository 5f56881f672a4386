/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log: one logging module for the daemon (stderr in the foreground, syslog
 * otherwise), rate-limited per call site so a packet flood cannot flood the
 * log.  Pure modules never log: they return errors. */
#ifndef CLUSTERD_LOG_H
#define CLUSTERD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_open(const char *ident, bool to_stderr, int max_level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At most `burst` messages per second from one call site. */
struct log_rl {
	long sec;
	unsigned n;
	unsigned suppressed;
};
void log_rl(struct log_rl *rl, unsigned burst, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
