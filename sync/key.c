/* SPDX-License-Identifier: GPL-2.0-or-later */
/* key: the cluster key file loader.  Reads one file; no other side effects.
 * Key material on the stack is wiped on every path out. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sync/key.h"

#define KEY_MIN_DIGITS (2 * sizeof(struct wire_key))

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads the whole file into text; returns its length or -errno. */
static ssize_t read_file(const char *path, uint8_t *text, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: cannot open key file: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: cannot stat key file: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: key file is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: key file is accessible by group or others (mode %04o); "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	/* Read one byte past the limit to tell "exactly full" from "too big". */
	for (;;) {
		n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			snprintf(err, errlen, "%s: cannot read key file: %s", path, strerror(e));
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			break;
	}
	close(fd);
	if (len == cap) {
		snprintf(err, errlen, "%s: key file larger than %d bytes", path, KEY_FILE_MAX);
		return -EFBIG;
	}
	return (ssize_t)len;
}

/* Hex text to bytes, skipping whitespace; returns the byte count or -EINVAL. */
static int parse_hex(const char *path, const uint8_t *text, size_t len, uint8_t *bytes,
		     char *err, size_t errlen)
{
	size_t digits = 0, line = 1, col = 0;
	int v;

	for (size_t i = 0; i < len; i++) {
		col++;
		if (text[i] == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (is_space(text[i]))
			continue;
		v = hexval(text[i]);
		if (v < 0 && text[i] >= 0x20 && text[i] < 0x7f) {
			snprintf(err, errlen, "%s: key file is not hex: '%c' at byte %zu "
				 "(line %zu, column %zu)", path, text[i], i + 1, line, col);
			return -EINVAL;
		}
		if (v < 0) {
			snprintf(err, errlen, "%s: key file is not hex: byte 0x%02x at byte %zu "
				 "(line %zu, column %zu)", path, text[i], i + 1, line, col);
			return -EINVAL;
		}
		/* bytes holds len / 2 + 1: never overrun. */
		if (digits % 2 == 0)
			bytes[digits / 2] = (uint8_t)(v << 4);
		else
			bytes[digits / 2] |= (uint8_t)v;
		digits++;
	}
	if (digits % 2) {
		snprintf(err, errlen, "%s: key file has an odd number of hex digits (%zu)", path,
			 digits);
		return -EINVAL;
	}
	if (digits < KEY_MIN_DIGITS) {
		snprintf(err, errlen, "%s: key file has %zu hex digits, needs at least %zu "
			 "(32 bytes)", path, digits, KEY_MIN_DIGITS);
		return -EINVAL;
	}
	return (int)(digits / 2);
}

/* Text to key; text holds at most KEY_FILE_MAX bytes. */
static int key_from_text(const char *name, const uint8_t *text, size_t len, struct wire_keys *out,
			 char *err, size_t errlen)
{
	uint8_t bytes[KEY_FILE_MAX / 2 + 1];
	int n;

	n = parse_hex(name, text, len, bytes, err, errlen);
	if (n < 0)
		goto out;
	if ((size_t)n == sizeof(out->key[0].k))
		memcpy(out->key[0].k, bytes, sizeof(out->key[0].k));
	else
		crypto_generichash(out->key[0].k, sizeof(out->key[0].k), bytes, (size_t)n,
				   NULL, 0);
	out->n = 1;
	n = 0;
out:
	sodium_memzero(bytes, sizeof(bytes));
	return n;
}

int key_parse(const char *name, const void *text, size_t len, struct wire_keys *out, char *err,
	      size_t errlen)
{
	sodium_memzero(out, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium failed to initialise", name);
		return -ENOSYS;
	}
	if (len > KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: key file larger than %d bytes", name, KEY_FILE_MAX);
		return -EFBIG;
	}
	return key_from_text(name, text, len, out, err, errlen);
}

int key_load(const char *path, struct wire_keys *out, char *err, size_t errlen)
{
	uint8_t text[KEY_FILE_MAX + 1];
	ssize_t len;
	int rc;

	sodium_memzero(out, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium failed to initialise", path);
		return -ENOSYS;
	}
	len = read_file(path, text, sizeof(text), err, errlen);
	rc = len < 0 ? (int)len : key_from_text(path, text, (size_t)len, out, err, errlen);
	sodium_memzero(text, sizeof(text));
	return rc;
}
