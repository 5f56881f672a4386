/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sdnotify.h"

int sdn_parse_socket(const char *s, struct sockaddr_un *sa, socklen_t *len, char *err,
		     size_t errlen)
{
	size_t n = s ? strlen(s) : 0;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET is empty");
		return -1;
	}
	if (s[0] == '@') {
		/* Abstract: the leading NUL and the name, no terminating NUL
		 * (its length is part of the name). */
		if (n == 1) {
			snprintf(err, errlen, "NOTIFY_SOCKET '@' names no abstract socket");
			return -1;
		}
		if (n > sizeof(sa->sun_path)) {
			snprintf(err, errlen, "NOTIFY_SOCKET is %zu bytes, at most %zu", n,
				 sizeof(sa->sun_path));
			return -1;
		}
		memcpy(sa->sun_path + 1, s + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	/* systemd hands an absolute path: a relative one would depend on the
	 * working directory, which daemon() changes. */
	if (s[0] != '/') {
		snprintf(err, errlen, "NOTIFY_SOCKET '%.64s' is neither an absolute path nor "
			 "'@' and an abstract name", s);
		return -1;
	}
	if (n >= sizeof(sa->sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET is %zu bytes, at most %zu", n,
			 sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, s, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* A positive decimal number, nothing around it; -1 otherwise. */
static int sdn_number(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (x > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x == 0)
		return -1;
	*v = x;
	return 0;
}

int sdn_parse_watchdog(const char *usec_s, const char *pid_s, long self, uint64_t *usec,
		       char *err, size_t errlen)
{
	uint64_t u, p;

	if (!usec_s)
		return 0;
	if (sdn_number(usec_s, UINT64_MAX, &u) < 0) {
		snprintf(err, errlen, "WATCHDOG_USEC '%.32s' is not a positive number of "
			 "microseconds", usec_s);
		return -1;
	}
	if (pid_s) {
		if (sdn_number(pid_s, INT32_MAX, &p) < 0) {
			snprintf(err, errlen, "WATCHDOG_PID '%.32s' is not a process id", pid_s);
			return -1;
		}
		/* The watchdog is another process's (we were forked by it, or
		 * it was meant for the service's main process). */
		if ((long)p != self)
			return 0;
	}
	*usec = u;
	return 1;
}

bool sdn_workers_progress(const uint64_t *passes, const uint64_t *prev, const bool *idle,
			  size_t n, size_t *stalled)
{
	for (size_t i = 0; i < n; i++) {
		if (passes[i] != prev[i] || idle[i])
			continue;
		if (stalled)
			*stalled = i;
		return false;
	}
	return true;
}

/* Appends to a bounded buffer: what does not fit is cut, b->len stays
 * below b->cap. */
struct sdn_buf {
	char *p;
	size_t len, cap;
};

static void sdn_put(struct sdn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sdn_put(struct sdn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->cap == 0 || b->len >= b->cap - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* "distributor of A (2 of 3 targets active), B (...)": the VIPAs of one
 * role (target: those it serves instead); "; " before it unless first.
 * True when a part was written. */
static bool sdn_role_part(struct sdn_buf *b, const struct sdn_status *in, enum sdn_role role,
			  bool target, const char *what, bool first)
{
	bool any = false;

	for (size_t i = 0; i < in->n_vipas; i++) {
		const struct sdn_vipa *v = &in->vipas[i];

		if (target ? !v->target : v->role != role)
			continue;
		if (!any)
			sdn_put(b, "%s%s of ", first ? "" : "; ", what);
		else
			sdn_put(b, ", ");
		sdn_put(b, "%s", v->addr ? v->addr : "?");
		if (!target && role == SDN_DISTRIBUTOR)
			sdn_put(b, " (%u of %u target%s active)", v->targets_active, v->targets,
				v->targets == 1 ? "" : "s");
		any = true;
	}
	return any;
}

size_t sdn_status_text(const struct sdn_status *in, char *buf, size_t len)
{
	struct sdn_buf b = { buf, 0, len < SDN_STATUS_MAX ? len : SDN_STATUS_MAX };
	bool first = true;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	switch (in->phase) {
	case SDN_LEAVING:
		sdn_put(&b, "leaving");
		first = false;
		break;
	case SDN_STARTING:
		if (in->waiting_for && in->waiting_for[0])
			sdn_put(&b, "starting: waiting for the tables of %s", in->waiting_for);
		else
			sdn_put(&b, "starting: waiting for the peers");
		first = false;
		break;
	case SDN_RUNNING:
		break;
	}
	if (in->phase != SDN_LEAVING) {
		/* Starting, a node shows the roles it will take. */
		if (sdn_role_part(&b, in, SDN_DISTRIBUTOR, false, "distributor", first))
			first = false;
		if (sdn_role_part(&b, in, SDN_BACKUP, false, "backup", first))
			first = false;
		if (sdn_role_part(&b, in, SDN_STANDBY, false, "standby distributor", first))
			first = false;
		if (sdn_role_part(&b, in, SDN_NONE, true, "target", first))
			first = false;
		if (first) {
			sdn_put(&b, "no role");
			first = false;
		}
		sdn_put(&b, "; %u of %u node%s alive", in->alive, in->nodes,
			in->nodes == 1 ? "" : "s");
	}
	if (in->note && in->note[0])
		sdn_put(&b, "; %s", in->note);
	/* One line: a note may carry anything. */
	for (size_t i = 0; i < b.len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	return b.len;
}

size_t sdn_format(char *buf, size_t len, unsigned flags, uint64_t monotonic_usec,
		  const char *status)
{
	struct sdn_buf b = { buf, 0, len < SDN_MSG_MAX ? len : SDN_MSG_MAX };
	size_t start;

	/* The fixed lines fit whenever buf has room for all of them. */
	if (len < 96 || (!flags && !status))
		return 0;
	buf[0] = '\0';
	if (flags & SDN_F_RELOADING)
		sdn_put(&b, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\n", monotonic_usec);
	if (flags & SDN_F_READY)
		sdn_put(&b, "READY=1\n");
	if (flags & SDN_F_STOPPING)
		sdn_put(&b, "STOPPING=1\n");
	if (flags & SDN_F_WATCHDOG)
		sdn_put(&b, "WATCHDOG=1\n");
	if (status) {
		sdn_put(&b, "STATUS=");
		start = b.len;
		sdn_put(&b, "%.*s", SDN_STATUS_MAX - 1, status);
		/* Room for the final newline: cut the text if need be. */
		if (b.len >= b.cap - 1)
			b.len = b.cap - 2;
		for (size_t i = start; i < b.len; i++)
			if (buf[i] == '\n' || buf[i] == '\r')
				buf[i] = ' ';
		buf[b.len++] = '\n';
		buf[b.len] = '\0';
	}
	return b.len;
}
