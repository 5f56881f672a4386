/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the fuzz targets: the libFuzzer entry point, a reader that takes
 * fields off the front of the input, and invariant checks that abort (so
 * libFuzzer and the replay programs report them as crashes). */
#ifndef CLUSTERD_FUZZ_H
#define CLUSTERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                                  \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,     \
				__LINE__, #c);                                         \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* The input as a stream of fields; reads past the end give zeros. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t v = fz_u8(f);

	return (uint16_t)(v << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);

	return v << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v = fz_u32(f);

	return v << 32 | fz_u32(f);
}

/* Up to want bytes, in place; returns how many. */
static inline size_t fz_bytes(struct fz *f, const uint8_t **out, size_t want)
{
	if (want > f->n)
		want = f->n;
	*out = f->p;
	f->p += want;
	f->n -= want;
	return want;
}

/* An exactly sized heap copy, so that any overread is caught (malloc(0)
 * may return NULL: one byte then). */
static inline uint8_t *fz_dup(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		abort();
	if (n)
		memcpy(b, p, n);
	return b;
}

#endif
