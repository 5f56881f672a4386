/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for sync/key: the key file text.
 *
 * key_parse must accept exactly the texts that hold an even number (>= 64)
 * of hex digits and otherwise only whitespace, and yield the key a plain
 * re-implementation computes (32 bytes as is, more hashed); a refusal
 * leaves the keys zeroed and says why.  key_load of the same bytes in a
 * private file (a memfd of mode 0600) must agree with key_parse. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sync/key.h"
#include "tests/fuzz/fuzz.h"

static int memfd = -1;

static int ref_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The reference: bytes of the key, or -1 if the text is not a key. */
static int ref_parse(const uint8_t *t, size_t n, uint8_t *bytes)
{
	size_t i, d = 0;
	int v;

	for (i = 0; i < n; i++) {
		if (strchr(" \t\n\r\v\f", t[i]) && t[i])
			continue;
		v = ref_hex(t[i]);
		if (v < 0)
			return -1;
		if (d % 2 == 0)
			bytes[d / 2] = (uint8_t)(v << 4);
		else
			bytes[d / 2] |= (uint8_t)v;
		d++;
	}
	return d % 2 || d < 64 ? -1 : (int)(d / 2);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bytes[KEY_FILE_MAX];
	struct wire_keys k, k2;
	uint8_t want[32];
	char err[256], err2[256], path[64];
	int rc, rc2, n;

	if (sodium_init() < 0)
		abort();
	rc = key_parse("fuzz.key", data, size, &k, err, sizeof(err));
	FUZZ_CHECK(memchr(err, 0, sizeof(err)));
	if (size > KEY_FILE_MAX) {
		FUZZ_CHECK(rc == -EFBIG && all_zero(&k, sizeof(k)) && err[0]);
	} else {
		n = ref_parse(data, size, bytes);
		if (n < 0) {
			FUZZ_CHECK(rc == -EINVAL && all_zero(&k, sizeof(k)) && err[0]);
		} else {
			FUZZ_CHECK(rc == 0 && k.n == 1 && err[0] == '\0');
			if (n == 32)
				memcpy(want, bytes, 32);
			else
				crypto_generichash(want, 32, bytes, (size_t)n, NULL, 0);
			FUZZ_CHECK(memcmp(want, k.key[0].k, 32) == 0);
			FUZZ_CHECK(all_zero(&k.key[1], sizeof(k.key[1])));
		}
	}
	/* a tiny error buffer truncates, never overruns */
	key_parse("fuzz.key", data, size, &k2, err2, 8);
	FUZZ_CHECK(memchr(err2, 0, 8));

	/* the same through a file */
	if (memfd < 0) {
		memfd = memfd_create("fuzz-key", MFD_CLOEXEC);
		FUZZ_CHECK(memfd >= 0);
		FUZZ_CHECK(fchmod(memfd, 0600) == 0);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	rc2 = key_load(path, &k2, err2, sizeof(err2));
	FUZZ_CHECK(rc2 == rc);
	FUZZ_CHECK(memcmp(&k, &k2, sizeof(k)) == 0);
	return 0;
}
