/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for nfq/http.
 *
 * Input: max (2 bytes, big-endian; 0 means 16384), then the bytes received.  Besides "no
 * crash, no overread" it checks: an OK result lies within the bytes and within max, its path
 * within the head, its host and method are normalized strings; every proper prefix answers
 * INCOMPLETE or what the whole answers (bad bytes are never taken back), and INCOMPLETE when
 * shorter than an OK head; the rule matcher agrees with a plain comparison; error answers
 * fit.
 * Built by `make fuzz` (tests/fuzz/fuzz_http) and, for the corpus replay of `make check`,
 * with tests/fuzz/standalone.c (tests/fuzz/replay_http). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/http.h"
#include "tests/fuzz/fuzz.h"

/* Prefixes checked per input: all of them for short inputs, else a spread. */
#define ALL_PREFIXES 512
#define SOME_PREFIXES 64

static enum http_status parse_copy(const uint8_t *d, size_t n, size_t max, struct http_req *r)
{
	uint8_t *b = fz_dup(d, n);
	enum http_status s = http_parse(b, n, max, r);

	free(b);
	return s;
}

static void check_ok(const uint8_t *b, size_t n, size_t max, const struct http_req *r)
{
	size_t i, hl;

	FUZZ_CHECK(r->head_len > 0 && r->head_len <= n && r->head_len <= max);
	FUZZ_CHECK(b[r->head_len - 1] == '\n');
	FUZZ_CHECK(r->path_off <= r->head_len && r->path_len <= r->head_len - r->path_off);
	FUZZ_CHECK(r->minor <= 1);
	FUZZ_CHECK(memchr(r->method, 0, sizeof(r->method)) && r->method[0]);
	FUZZ_CHECK(memchr(r->host, 0, sizeof(r->host)));
	hl = strlen(r->host);
	if (hl && r->host[0] == '[') {
		FUZZ_CHECK(r->host[hl - 1] == ']');
	} else {
		for (i = 0; i < hl; i++) {
			char c = r->host[i];

			FUZZ_CHECK(islower((unsigned char)c) || isdigit((unsigned char)c) ||
				   c == '.' || c == '-' || c == '_');
		}
	}
	FUZZ_CHECK(!hl || r->host[hl - 1] != '.');
	/* the path never holds a line end or a space */
	for (i = 0; i < r->path_len; i++)
		FUZZ_CHECK(b[r->path_off + i] > ' ' && b[r->path_off + i] != 0x7f);
	/* matching */
	FUZZ_CHECK(http_rule_match("", "", b, r));
	FUZZ_CHECK(http_rule_match(NULL, NULL, b, r));
	if (hl)
		FUZZ_CHECK(http_rule_match(r->host, "", b, r));
	if (r->path_len && (b[r->path_off] == '/' || b[r->path_off] == '*')) {
		char pre[64];
		size_t pl = r->path_len < sizeof(pre) - 1 ? r->path_len : sizeof(pre) - 1;

		memcpy(pre, b + r->path_off, pl);
		pre[pl] = 0;
		if (!memchr(pre, 0, pl))
			FUZZ_CHECK(http_rule_match(r->host, pre, b, r));
	}
	FUZZ_CHECK(!http_rule_match(hl ? "" : "x", "\x01", b, r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct http_req r, q;
	const uint8_t *b;
	enum http_status s, sp;
	size_t max = fz_u16(&f), n, k, step;
	char out[512];
	static const int codes[] = { 400, 408, 503 };

	if (!max)
		max = 16384;
	n = fz_bytes(&f, &b, f.n);
	s = parse_copy(b, n, max, &r);
	FUZZ_CHECK(s == HTTP_INCOMPLETE || s == HTTP_OK || s == HTTP_BAD || s == HTTP_TOO_LARGE);
	if (s == HTTP_OK)
		check_ok(b, n, max, &r);
	if (s == HTTP_INCOMPLETE)
		FUZZ_CHECK(n < max);
	if (s == HTTP_TOO_LARGE)
		FUZZ_CHECK(n >= max);
	/* the same bytes with room to spare, or more bytes after an OK head: the same answer */
	if (s == HTTP_OK) {
		FUZZ_CHECK(parse_copy(b, r.head_len, r.head_len, &q) == HTTP_OK);
		FUZZ_CHECK(q.head_len == r.head_len && q.path_off == r.path_off &&
			   q.path_len == r.path_len && !strcmp(q.host, r.host) &&
			   !strcmp(q.method, r.method) && q.minor == r.minor);
	}
	step = n <= ALL_PREFIXES ? 1 : n / SOME_PREFIXES;
	for (k = 0; k < n; k += step) {
		if (s == HTTP_OK && k >= r.head_len)
			break;
		sp = parse_copy(b, k, max, &q);
		/* a prefix is undecided or decided as the whole */
		FUZZ_CHECK(sp == HTTP_INCOMPLETE || sp == s);
		if (s == HTTP_OK)
			FUZZ_CHECK(sp == HTTP_INCOMPLETE);
	}
	for (k = 0; k < 3; k++) {
		size_t len = http_error(codes[k], out, sizeof(out));

		FUZZ_CHECK(len > 0 && len < sizeof(out) && out[len] == 0);
		FUZZ_CHECK(http_error(codes[k], out, len) == len);
		FUZZ_CHECK(http_error(codes[k], out, len - 1) == 0);
	}
	return 0;
}
