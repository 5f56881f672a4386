/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HTTP/1.x request head parser: see http.h.  The head is read line by line; a line not yet
 * ended is checked as far as it goes ("partial"), with exactly the rules a complete one gets,
 * so that garbage is refused at once and a good head is never refused early. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "nfq/http.h"

#define HTTP_METHOD_MAX 15
#define HTTP_NAME_MAX 253
#define HTTP_LABEL_MAX 63

static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool http_dns_name(const uint8_t *p, size_t l, char out[HTTP_HOST_MAX])
{
	size_t i, lab = 0;

	out[0] = 0;
	if (l && p[l - 1] == '.')
		l--;
	if (!l || l > HTTP_NAME_MAX)
		return false;
	for (i = 0; i < l; i++) {
		uint8_t c = lower(p[i]);

		if (c == '.') {
			if (!lab)
				return false;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			if (++lab > HTTP_LABEL_MAX)
				return false;
		} else {
			return false;
		}
		out[i] = (char)c;
	}
	if (!lab) {
		out[0] = 0;
		return false;
	}
	out[l] = 0;
	return true;
}

/* host[:port] (RFC 3986 authority without userinfo; port = *DIGIT up to 65535), normalized
 * into out.  Empty is allowed only when empty_ok (a Host header may be empty). */
static bool host_port(const uint8_t *p, size_t l, bool empty_ok, char out[HTTP_HOST_MAX])
{
	char a6[INET6_ADDRSTRLEN + 1], txt[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	size_t hl, i;
	unsigned long port = 0;

	out[0] = 0;
	if (!l)
		return empty_ok;
	if (p[0] == '[') {
		const uint8_t *e = memchr(p, ']', l);

		if (!e)
			return false;
		hl = (size_t)(e - p) + 1;
		if (hl - 2 >= sizeof(a6))
			return false;
		memcpy(a6, p + 1, hl - 2);
		a6[hl - 2] = 0;
		if (inet_pton(AF_INET6, a6, &in6) != 1 || !inet_ntop(AF_INET6, &in6, txt, sizeof(txt)))
			return false;
		snprintf(out, HTTP_HOST_MAX, "[%s]", txt);
	} else {
		const uint8_t *e = memchr(p, ':', l);

		hl = e ? (size_t)(e - p) : l;
		if (!http_dns_name(p, hl, out))
			return false;
	}
	if (hl == l)
		return true;
	if (p[hl] != ':' || l - hl - 1 > 5)
		goto bad;
	for (i = hl + 1; i < l; i++) {
		if (p[i] < '0' || p[i] > '9')
			goto bad;
		port = port * 10 + (p[i] - '0');
	}
	if (port <= 65535)
		return true;
bad:
	out[0] = 0;
	return false;
}

struct hstate {
	bool absolute;			/* absolute-form target: its authority is the host */
	bool have_host;			/* a Host header was seen */
	char auth[HTTP_HOST_MAX];	/* the target's host */
};

/* The target of a complete request line: origin-form, absolute-form (http or https, no
 * userinfo) or "*" (OPTIONS only). */
static bool parse_target(const uint8_t *buf, size_t t, size_t tl, struct http_req *r,
			 struct hstate *hs)
{
	const uint8_t *p = buf + t;
	size_t sl, a, al;

	r->path_off = t;
	r->path_len = tl;
	if (p[0] == '/')
		return true;
	if (tl == 1 && p[0] == '*')
		return strcmp(r->method, "OPTIONS") == 0;
	if (tl > 7 && !strncasecmp((const char *)p, "http://", 7))
		sl = 7;
	else if (tl > 8 && !strncasecmp((const char *)p, "https://", 8))
		sl = 8;
	else
		return false;	/* authority-form (CONNECT) or anything else */
	for (al = 0; sl + al < tl; al++) {
		uint8_t c = p[sl + al];

		if (c == '/' || c == '?' || c == '#')
			break;
		if (c == '@')
			return false;	/* userinfo (RFC 9110 4.2.4) */
	}
	a = sl;
	if (!host_port(p + a, al, false, hs->auth))
		return false;
	hs->absolute = true;
	r->path_off = t + a + al;
	r->path_len = tl - a - al;
	return true;
}

/* The request line [s, e) without its line end; partial: more of it may come (a last CR
 * then may be the start of CRLF). */
static bool parse_reqline(const uint8_t *buf, size_t s, size_t e, bool partial,
			  struct http_req *r, struct hstate *hs)
{
	static const char ver[] = "HTTP/1.";
	size_t i = s, t, vl;

	if (partial && e > s && buf[e - 1] == '\r')
		e--;
	while (i < e && is_tchar(buf[i]))
		i++;
	if (i - s > HTTP_METHOD_MAX)
		return false;
	if (i == e)
		return partial;
	if (buf[i] != ' ' || i == s)
		return false;
	memcpy(r->method, buf + s, i - s);
	r->method[i - s] = 0;
	t = ++i;
	while (i < e && buf[i] != ' ') {
		if (is_ctl(buf[i]))
			return false;
		i++;
	}
	if (i == e)
		return partial;
	if (i == t)
		return false;
	vl = e - ++i;
	if (vl > 8 || memcmp(buf + i, ver, vl < 7 ? vl : 7) ||
	    (vl == 8 && buf[i + 7] != '0' && buf[i + 7] != '1'))
		return false;
	if (vl < 8)
		return partial;
	if (partial)
		return true;
	r->minor = (uint8_t)(buf[i + 7] - '0');
	return parse_target(buf, t, i - 1 - t, r, hs);
}

/* A header line [s, e) (not the first, not empty).  partial as for parse_reqline. */
static bool parse_header(const uint8_t *buf, size_t s, size_t e, bool partial,
			 struct http_req *r, struct hstate *hs)
{
	size_t i = s, v;

	if (partial && e > s && buf[e - 1] == '\r')
		e--;
	if (i < e && (buf[i] == ' ' || buf[i] == '\t'))
		return false;	/* obs-fold, or whitespace before the first header */
	while (i < e && is_tchar(buf[i]))
		i++;
	if (i == e)
		return partial;
	if (buf[i] != ':' || i == s)
		return false;
	for (v = i + 1; v < e; v++)
		if (is_ctl(buf[v]) && buf[v] != '\t')
			return false;
	if (partial)
		return true;
	if (i - s == 4 && !strncasecmp((const char *)buf + s, "host", 4)) {
		if (hs->have_host)
			return false;
		hs->have_host = true;
		v = i + 1;
		while (v < e && (buf[v] == ' ' || buf[v] == '\t'))
			v++;
		while (e > v && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		return host_port(buf + v, e - v, true, r->host);
	}
	return true;
}

static enum http_status parse(const uint8_t *buf, size_t len, size_t max, struct http_req *r)
{
	struct hstate hs = { .absolute = false };
	size_t n = len < max ? len : max, pos = 0, e;
	const uint8_t *lf;
	bool first = true;

	memset(r, 0, sizeof(*r));
	/* empty lines before the request line are skipped */
	while (pos < n && (buf[pos] == '\n' || buf[pos] == '\r')) {
		if (buf[pos] == '\n')
			pos++;
		else if (pos + 1 == n)
			break;
		else if (buf[pos + 1] == '\n')
			pos += 2;
		else
			return HTTP_BAD;
	}
	for (;;) {
		lf = pos < n ? memchr(buf + pos, '\n', n - pos) : NULL;
		if (!lf) {
			/* a bare CR is a control character to the line checks: refused */
			if (first ? !parse_reqline(buf, pos, n, true, r, &hs)
				  : !parse_header(buf, pos, n, true, r, &hs))
				return HTTP_BAD;
			return len >= max ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
		}
		e = (size_t)(lf - buf);
		if (e > pos && buf[e - 1] == '\r')
			e--;
		if (first) {
			if (!parse_reqline(buf, pos, e, false, r, &hs))
				return HTTP_BAD;
			first = false;
		} else if (e == pos) {
			break;
		} else if (!parse_header(buf, pos, e, false, r, &hs)) {
			return HTTP_BAD;
		}
		pos = (size_t)(lf - buf) + 1;
	}
	r->head_len = (size_t)(lf - buf) + 1;
	if (hs.absolute)
		memcpy(r->host, hs.auth, sizeof(r->host));
	else if (!hs.have_host && r->minor == 1)
		return HTTP_BAD;
	return HTTP_OK;
}

enum http_status http_parse(const uint8_t *buf, size_t len, size_t max, struct http_req *r)
{
	enum http_status s = parse(buf, len, max, r);

	if (s != HTTP_OK)
		memset(r, 0, sizeof(*r));
	return s;
}

bool http_rule_match(const char *host, const char *path_prefix, const uint8_t *buf,
		     const struct http_req *r)
{
	const uint8_t *path = buf + r->path_off;
	size_t pl = r->path_len, hl, xl;

	if (host && *host) {
		hl = strlen(host);
		if (hl > 1 && host[hl - 1] == '.')
			hl--;
		if (hl != strlen(r->host) || strncasecmp(host, r->host, hl))
			return false;
	}
	if (!path_prefix || !*path_prefix)
		return true;
	xl = strlen(path_prefix);
	if (!pl || path[0] == '?') {
		/* an absolute-form target without a path: the path is "/" */
		if (path_prefix[0] != '/')
			return false;
		path_prefix++;
		xl--;
	}
	return xl <= pl && !memcmp(path, path_prefix, xl);
}

size_t http_error(int code, char *out, size_t cap)
{
	const char *reason;
	char body[64], msg[256];
	int bl, n;

	switch (code) {
	case 400:
		reason = "Bad Request";
		break;
	case 408:
		reason = "Request Timeout";
		break;
	case 503:
		reason = "Service Unavailable";
		break;
	default:
		return 0;
	}
	bl = snprintf(body, sizeof(body), "%d %s\n", code, reason);
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		     "Connection: close\r\n\r\n%s",
		     code, reason, bl, body);
	if (n < 0 || (size_t)n > cap)
		return 0;
	memcpy(out, msg, (size_t)n);
	if ((size_t)n < cap)
		out[n] = 0;
	return (size_t)n;
}
