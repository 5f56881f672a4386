/* SPDX-License-Identifier: GPL-2.0-or-later */
/* epoch: the persistent boot epoch (see epoch.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "daemon/epoch.h"

/* "18446744073709551615\n" is 21 bytes; anything longer is not ours. */
#define EPOCH_TEXT_MAX	21
#define EPOCH_TMP_SUFFIX ".tmp"

/* Strict parse: digits, then exactly one newline, then the end.  No sign, no
 * blanks, no base prefix: strtoull would accept all of those. */
static int parse(const char *path, const char *text, size_t len, uint64_t *v,
		 char *err, size_t errlen)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0) {
		errbuf_set(err, errlen, "%s: empty file, expected a decimal epoch", path);
		return -1;
	}
	for (i = 0; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		unsigned d = (unsigned)(text[i] - '0');

		if (n > (UINT64_MAX - d) / 10) {
			errbuf_set(err, errlen, "%s: epoch does not fit in 64 bits", path);
			return -1;
		}
		n = n * 10 + d;
	}
	if (i == 0) {
		errbuf_set(err, errlen, "%s: not a decimal epoch (byte 0x%02x at offset 0)", path,
			   (unsigned char)text[0]);
		return -1;
	}
	if (i == len) {
		errbuf_set(err, errlen, "%s: epoch is not terminated by a newline", path);
		return -1;
	}
	if (text[i] != '\n' || i + 1 != len) {
		errbuf_set(err, errlen, "%s: trailing junk after the epoch at offset %zu", path, i);
		return -1;
	}
	*v = n;
	return 0;
}

/* Returns 1 with *last set, 0 when path does not exist, -1 on error. */
static int read_last(const char *path, uint64_t *last, char *err, size_t errlen)
{
	char text[EPOCH_TEXT_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		errbuf_set(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* One byte past the limit tells "longest valid" from "too long". */
	while (len < sizeof(text)) {
		n = read(fd, text + len, sizeof(text) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errbuf_set(err, errlen, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > EPOCH_TEXT_MAX) {
		errbuf_set(err, errlen, "%s: longer than %d bytes, not an epoch", path,
			   EPOCH_TEXT_MAX);
		return -1;
	}
	if (parse(path, text, len, last, err, errlen) < 0)
		return -1;
	return 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory holding path: "." without a slash, "/" for "/name". */
static int dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (!slash)
		return snprintf(dir, dirlen, ".") < (int)dirlen ? 0 : -1;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= dirlen)
		return -1;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return 0;
}

/* Writes tmp and renames it over path; the rename is the commit point. */
static int store(const char *path, const char *tmp, uint64_t v, char *err, size_t errlen)
{
	char text[EPOCH_TEXT_MAX + 1];
	int fd, len;

	len = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v);
	if (len < 0 || (size_t)len >= sizeof(text)) {
		errbuf_set(err, errlen, "%s: cannot format epoch", path);
		return -1;
	}
	/* O_TRUNC, not O_EXCL: a temporary left by a crash must not block
	 * every later start.  O_NOFOLLOW: never write through a link. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The umask must not decide the mode. */
	if (fchmod(fd, 0644) < 0) {
		errbuf_set(err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (write_all(fd, text, (size_t)len) < 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fsync(fd) < 0) {
		errbuf_set(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		errbuf_set(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Makes the rename itself durable. */
static int sync_dir(const char *dir, char *err, size_t errlen)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot open directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		errbuf_set(err, errlen, "cannot fsync directory %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int epoch_next(const char *path, uint64_t now_ns, uint64_t *out, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	uint64_t last = 0, v;
	int n, have;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !path[0] || path[strlen(path) - 1] == '/') {
		errbuf_set(err, errlen, "epoch file path '%s' is not a file name",
			   path ? path : "(null)");
		return -1;
	}
	n = snprintf(tmp, sizeof(tmp), "%s%s", path, EPOCH_TMP_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(tmp) || dir_of(path, dir, sizeof(dir)) < 0) {
		errbuf_set(err, errlen, "epoch file path too long: %.64s...", path);
		return -1;
	}
	have = read_last(path, &last, err, errlen);
	if (have < 0)
		return -1;
	if (have && last == UINT64_MAX) {
		errbuf_set(err, errlen, "%s: epoch is %llu, it cannot grow any more", path,
			   (unsigned long long)last);
		return -1;
	}
	v = have && last >= now_ns ? last + 1 : now_ns;
	if (store(path, tmp, v, err, errlen) < 0)
		return -1;
	/* The file holds v whatever the directory's fsync says: use v, or a
	 * clock that went back would be refused although the file is right.
	 * err keeps the warning for a caller that wants it. */
	sync_dir(dir, err, errlen);
	*out = v;
	return 0;
}
