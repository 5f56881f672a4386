/* SPDX-License-Identifier: GPL-2.0-or-later */
/* errbuf: the one way modules report an error to their caller, as text in a
 * caller's buffer (err, errlen), which may be NULL. */
#ifndef CLUSTERD_ERRBUF_H
#define CLUSTERD_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
