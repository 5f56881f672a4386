/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for nfq/tls.
 *
 * Input: max (2 bytes, big-endian; 0 means 16384), a record size (1 byte), then the bytes
 * the client sent.  Besides "no crash, no overread" it checks: an OK result lies within the
 * bytes and within max, its host is a normalized name; every proper prefix answers
 * INCOMPLETE or what the whole answers (and an OK one the same host and length), every
 * prefix shorter than an OK hello is INCOMPLETE; an OK hello put in records of another size
 * gives the same host.  Built by `make fuzz` (tests/fuzz/fuzz_tls) and, for the corpus
 * replay of `make check`, with tests/fuzz/standalone.c (tests/fuzz/replay_tls). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/tls.h"
#include "tests/fuzz/fuzz.h"

#define ALL_PREFIXES 512
#define SOME_PREFIXES 64

static enum tls_status sni_copy(const uint8_t *d, size_t n, size_t max, char host[256],
				size_t *used)
{
	uint8_t *b = fz_dup(d, n);
	enum tls_status s = tls_sni(b, n, max, host, used);

	free(b);
	return s;
}

static void check_host(const char *h)
{
	size_t l, i;

	FUZZ_CHECK(memchr(h, 0, 256));
	l = strlen(h);
	FUZZ_CHECK(l <= 253);
	FUZZ_CHECK(!l || (h[0] != '.' && h[l - 1] != '.'));
	for (i = 0; i < l; i++)
		FUZZ_CHECK(islower((unsigned char)h[i]) || isdigit((unsigned char)h[i]) ||
			   h[i] == '.' || h[i] == '-' || h[i] == '_');
}

/* The handshake bytes of the records in b[0..used), put in records of rs bytes. */
static void rerecord(const uint8_t *b, size_t used, size_t rs, const char *host)
{
	uint8_t *hs = malloc(used), *out, *exact;
	size_t hn = 0, off = 0, l, o = 0, i, u;
	char h2[256];

	if (!hs)
		abort();
	while (off < used) {
		l = (size_t)b[off + 3] << 8 | b[off + 4];
		memcpy(hs + hn, b + off + 5, l);
		hn += l;
		off += 5 + l;
	}
	FUZZ_CHECK(off == used);
	out = malloc(hn + 5 * (hn / rs + 1));
	if (!out)
		abort();
	for (i = 0; i < hn; i += l) {
		l = hn - i < rs ? hn - i : rs;
		out[o] = 22;
		out[o + 1] = 3;
		out[o + 2] = 3;
		out[o + 3] = (uint8_t)(l >> 8);
		out[o + 4] = (uint8_t)l;
		memcpy(out + o + 5, hs + i, l);
		o += 5 + l;
	}
	exact = fz_dup(out, o);
	FUZZ_CHECK(tls_sni(exact, o, o, h2, &u) == TLS_OK);
	FUZZ_CHECK(u == o && !strcmp(h2, host));
	free(exact);
	free(out);
	free(hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	size_t max = fz_u16(&f), rs = fz_u8(&f), n, k, step, used, u2;
	char host[256], h2[256];
	enum tls_status s, sp;
	const uint8_t *b;

	if (!max)
		max = 16384;
	n = fz_bytes(&f, &b, f.n);
	s = sni_copy(b, n, max, host, &used);
	FUZZ_CHECK(s == TLS_INCOMPLETE || s == TLS_OK || s == TLS_BAD || s == TLS_TOO_LARGE);
	check_host(host);
	if (s != TLS_OK)
		FUZZ_CHECK(!host[0] && !used);
	if (s == TLS_INCOMPLETE)
		FUZZ_CHECK(n < max);
	if (s == TLS_OK) {
		FUZZ_CHECK(used >= 5 + 4 + 38 && used <= n && used <= max && b[0] == 22);
		FUZZ_CHECK(sni_copy(b, used, used, h2, &u2) == TLS_OK);
		FUZZ_CHECK(u2 == used && !strcmp(h2, host));
		rerecord(b, used, rs ? rs : 256, host);
	}
	step = n <= ALL_PREFIXES ? 1 : n / SOME_PREFIXES;
	for (k = 0; k < n; k += step) {
		sp = sni_copy(b, k, max, h2, &u2);
		FUZZ_CHECK(sp == TLS_INCOMPLETE || sp == s);
		if (s == TLS_OK && k < used)
			FUZZ_CHECK(sp == TLS_INCOMPLETE);
		if (sp == TLS_OK)
			FUZZ_CHECK(u2 == used && !strcmp(h2, host));
	}
	return 0;
}
