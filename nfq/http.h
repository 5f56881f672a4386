/* SPDX-License-Identifier: GPL-2.0-or-later */
/* http: the head of the first HTTP/1.x request of a connection, as the handoff front-end
 * needs it to pick a target (host, path), and the front-end's own error answers.
 *
 * Strict where a lenient parse would let the FE and the target read a request differently
 * (RFC 9112): single SP between the parts of the request line, no whitespace before a
 * header's ':', no obs-fold, no control characters but HTAB in values, no bare CR, exactly
 * one valid Host (none is allowed in HTTP/1.0, and in HTTP/1.1 only with an absolute-form
 * target, as nginx does).  Lenient as nginx is: a line may end in a bare LF instead of CRLF,
 * and empty lines before the request line are skipped (RFC 9112 2.2).
 * Pure: no state, no allocation. */
#ifndef CLUSTERD_HTTP_H
#define CLUSTERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HOST_MAX 256	/* size of a normalized host, NUL included */

enum http_status { HTTP_INCOMPLETE = 0, HTTP_OK, HTTP_BAD, HTTP_TOO_LARGE };

struct http_req {
	size_t head_len;	/* request line + headers + blank line */
	char method[16];	/* a token of 1..15 characters (longer ones are BAD) */
	uint8_t minor;		/* HTTP/1.<minor> (0 or 1) */
	size_t path_off, path_len;	/* the path in buf (origin-form target, or the path of an
					 * absolute-form one, query included); "*" for OPTIONS *.
					 * Empty for an absolute-form target without a path
					 * ("http://h" or "http://h?q"), which means "/" (RFC 9110
					 * 4.2.3): http_rule_match takes it so. */
	char host[HTTP_HOST_MAX];	/* lower case, ":port" and one trailing dot stripped; an
					 * IPv6 literal as "[" inet_ntop form "]"; "" if none */
};

/* Looks at the len bytes received so far (the head may be incomplete).  HTTP_OK: *r filled.
 * Else *r is all zero.  HTTP_TOO_LARGE: no end of head within max bytes.  HTTP_BAD: not an HTTP/1.0 or 1.1 request
 * head (bad request line, method not a token, a target that is not origin-form, absolute-form
 * http(s) without userinfo, or "*" with OPTIONS, control characters, obs-fold, a header line
 * without ':' or with whitespace before it, two Host headers, no Host in 1.1, Host not a valid
 * host[:port], bare CR, ...); an absolute-form target's authority overrides Host (RFC 9112
 * 3.2.2).  Lines end in CRLF or, as nginx accepts, a bare LF.  Bad bytes are seen as soon as
 * they arrive: a BAD prefix stays BAD whatever follows, and every prefix of a good head is
 * INCOMPLETE.  Never reads past len (nor past max). */
enum http_status http_parse(const uint8_t *buf, size_t len, size_t max, struct http_req *r);

/* A handoff rule matches: host "" (or NULL) or equal to r->host (case-insensitive, rule given
 * in any case, one trailing dot ignored); path_prefix "" (or NULL) or a byte prefix of the
 * path.  buf and r as http_parse returned HTTP_OK with them. */
bool http_rule_match(const char *host, const char *path_prefix, const uint8_t *buf,
		     const struct http_req *r);

/* The front-end's own answer for code 400, 408 or 503 (HTTP/1.1, Content-Type text/plain,
 * Content-Length, Connection: close, a one-line body).  Length, 0 if cap is too small or code
 * unknown; out is NUL-terminated when cap leaves room for it. */
size_t http_error(int code, char *out, size_t cap);

/* Normalizes a host name (no port) of l bytes at p into out: letters, digits, '-', '_',
 * dot-separated non-empty labels of at most 63 bytes, at most 253 bytes once one trailing
 * dot is stripped, lower-cased.  False (out "") when it is not such a name.  Shared with
 * nfq/tls (the SNI). */
bool http_dns_name(const uint8_t *p, size_t l, char out[HTTP_HOST_MAX]);

#endif
