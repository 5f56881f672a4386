/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/http: real request heads (captured from curl 7.88, wget 1.21, ab 2.3 and
 * wrk against a local listener; browser heads as Chrome 131 and Firefox 133 send them),
 * pipelining, every split point, every BAD case, TOO_LARGE, Host forms, absolute form, rules,
 * error answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/http.h"

#define MAX 16384

static enum http_status parse(const char *s, struct http_req *r)
{
	return http_parse((const uint8_t *)s, strlen(s), MAX, r);
}

/* Every proper prefix of the head is INCOMPLETE, the head and anything longer OK with the
 * same result (checked on exactly sized heap copies, so that ASan sees any overread). */
static void check_splits(const char *s, size_t head_len)
{
	size_t n = strlen(s), k;
	struct http_req r, full;
	uint8_t *b;

	assert_int_equal(parse(s, &full), HTTP_OK);
	for (k = 0; k <= n; k++) {
		b = malloc(k ? k : 1);
		assert_non_null(b);
		memcpy(b, s, k);
		if (k < head_len) {
			assert_int_equal(http_parse(b, k, MAX, &r), HTTP_INCOMPLETE);
		} else {
			assert_int_equal(http_parse(b, k, MAX, &r), HTTP_OK);
			assert_int_equal(r.head_len, full.head_len);
			assert_string_equal(r.host, full.host);
			assert_int_equal(r.path_off, full.path_off);
			assert_int_equal(r.path_len, full.path_len);
		}
		free(b);
	}
}

struct real {
	const char *name, *head, *method, *path, *host;
	uint8_t minor;
	size_t body;	/* bytes after the head */
};

static const struct real reals[] = {
	{ "curl", "GET /index.html?x=1 HTTP/1.1\r\n"
		  "Host: 127.0.0.1:18080\r\n"
		  "User-Agent: curl/7.88.1\r\n"
		  "Accept: */*\r\n"
		  "\r\n",
	  "GET", "/index.html?x=1", "127.0.0.1", 1, 0 },
	{ "curl -x (absolute form)", "GET http://Www.Example.COM:8080/a/b?c=d HTTP/1.1\r\n"
				     "Host: Www.Example.COM:8080\r\n"
				     "User-Agent: curl/7.88.1\r\n"
				     "Accept: */*\r\n"
				     "Proxy-Connection: Keep-Alive\r\n"
				     "\r\n",
	  "GET", "/a/b?c=d", "www.example.com", 1, 0 },
	{ "curl -6", "GET /v6 HTTP/1.1\r\n"
		     "Host: [::1]:18080\r\n"
		     "User-Agent: curl/7.88.1\r\n"
		     "Accept: */*\r\n"
		     "\r\n",
	  "GET", "/v6", "[::1]", 1, 0 },
	{ "curl -d", "POST /api HTTP/1.1\r\n"
		     "Host: api.example.com:18080\r\n"
		     "User-Agent: curl/7.88.1\r\n"
		     "Accept: */*\r\n"
		     "X-Empty:\r\n"
		     "Content-Length: 7\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\n"
		     "\r\n"
		     "a=1&b=2",
	  "POST", "/api", "api.example.com", 1, 7 },
	{ "wget", "GET /static/logo.png HTTP/1.1\r\n"
		  "Host: localhost:18080\r\n"
		  "User-Agent: Wget/1.21.3\r\n"
		  "Accept: */*\r\n"
		  "Accept-Encoding: identity\r\n"
		  "Connection: Keep-Alive\r\n"
		  "\r\n",
	  "GET", "/static/logo.png", "localhost", 1, 0 },
	{ "ab", "GET /ab HTTP/1.0\r\n"
		"Host: 127.0.0.1:18080\r\n"
		"User-Agent: ApacheBench/2.3\r\n"
		"Accept: */*\r\n"
		"\r\n",
	  "GET", "/ab", "127.0.0.1", 0, 0 },
	{ "wrk", "GET /wrk HTTP/1.1\r\n"
		 "Host: 127.0.0.1:18080\r\n"
		 "\r\n",
	  "GET", "/wrk", "127.0.0.1", 1, 0 },
	{ "chrome", "GET /static/app.js?v=3 HTTP/1.1\r\n"
		    "Host: www.example.com\r\n"
		    "Connection: keep-alive\r\n"
		    "sec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", "
		    "\"Not_A Brand\";v=\"24\"\r\n"
		    "sec-ch-ua-mobile: ?0\r\n"
		    "sec-ch-ua-platform: \"Linux\"\r\n"
		    "Upgrade-Insecure-Requests: 1\r\n"
		    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
		    "Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
		    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
		    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
		    "Sec-Fetch-Site: none\r\n"
		    "Sec-Fetch-Mode: navigate\r\n"
		    "Sec-Fetch-User: ?1\r\n"
		    "Sec-Fetch-Dest: document\r\n"
		    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
		    "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n"
		    "Cookie: session=4f2a9c; theme=dark\r\n"
		    "\r\n",
	  "GET", "/static/app.js?v=3", "www.example.com", 1, 0 },
	{ "firefox", "GET /caf%C3%A9/ HTTP/1.1\r\n"
		     "Host: Example.ORG.\r\n"
		     "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 "
		     "Firefox/133.0\r\n"
		     "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		     "Accept-Language: en-US,en;q=0.5\r\n"
		     "Accept-Encoding: gzip, deflate, br, zstd\r\n"
		     "Connection: keep-alive\r\n"
		     "Upgrade-Insecure-Requests: 1\r\n"
		     "Sec-Fetch-Dest: document\r\n"
		     "Sec-Fetch-Mode: navigate\r\n"
		     "Sec-Fetch-Site: none\r\n"
		     "Sec-Fetch-User: ?1\r\n"
		     "Priority: u=0, i\r\n"
		     "\r\n",
	  "GET", "/caf%C3%A9/", "example.org", 1, 0 },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", "OPTIONS", "*", "a.example",
	  1, 0 },
	{ "HTTP/1.0 without Host", "GET /old HTTP/1.0\r\n\r\n", "GET", "/old", "", 0, 0 },
	{ "bare LF", "GET /lf HTTP/1.1\nHost: lf.example\nAccept: */*\n\n", "GET", "/lf",
	  "lf.example", 1, 0 },
	{ "mixed line ends", "GET /mix HTTP/1.1\r\nHost: mix.example\nX: y\r\n\n", "GET", "/mix",
	  "mix.example", 1, 0 },
	{ "leading empty lines", "\r\n\nGET /lead HTTP/1.1\r\nHost: lead.example\r\n\r\n", "GET",
	  "/lead", "lead.example", 1, 0 },
	{ "tabs and obs-text in values", "GET / HTTP/1.1\r\nHost:\tt.example \t\r\n"
					 "X-Name: caf\xc3\xa9\tau lait\r\n\r\n",
	  "GET", "/", "t.example", 1, 0 },
	{ "token method", "M-SEARCH~1 /x HTTP/1.1\r\nHost: h\r\n\r\n", "M-SEARCH~1", "/x", "h", 1,
	  0 },
	{ "empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", "", 1, 0 },
};

static void test_real_heads(void **state)
{
	struct http_req r;
	size_t i, hl;

	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		const struct real *t = &reals[i];

		print_message("%s\n", t->name);
		hl = strlen(t->head) - t->body;
		assert_int_equal(parse(t->head, &r), HTTP_OK);
		assert_int_equal(r.head_len, hl);
		assert_string_equal(r.method, t->method);
		assert_int_equal(r.minor, t->minor);
		assert_int_equal(r.path_len, strlen(t->path));
		assert_memory_equal(t->head + r.path_off, t->path, r.path_len);
		assert_string_equal(r.host, t->host);
		check_splits(t->head, hl);
	}
}

static void test_pipelined(void **state)
{
	static const char two[] = "GET /first HTTP/1.1\r\nHost: one.example\r\n\r\n"
				  "GET /second HTTP/1.1\r\nHost: two.example\r\n\r\n";
	struct http_req r;

	assert_int_equal(parse(two, &r), HTTP_OK);
	assert_int_equal(r.head_len, strlen("GET /first HTTP/1.1\r\nHost: one.example\r\n\r\n"));
	assert_string_equal(r.host, "one.example");
	assert_memory_equal(two + r.path_off, "/first", 6);
	assert_int_equal(r.path_len, 6);
	/* garbage after the first head does not matter */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n\x16\x03\x01\r\r\0", &r), HTTP_OK);
	assert_int_equal(r.head_len, 18);
}

/* Each of these is BAD, and each of its prefixes INCOMPLETE or BAD, never OK. */
static const char *const bads[] = {
	"GET / HTTP/1.1\r\n\r\n",			/* no Host in 1.1 */
	"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", /* two Host headers */
	"GET / HTTP/1.1\r\nHost: a\r\nhOsT: b\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : a\r\n\r\n",		/* space before ':' */
	"GET / HTTP/1.1\r\nHost: a\r\nX-Y z: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", /* header line without ':' */
	"GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n continued\r\n\r\n", /* obs-fold */
	"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tcontinued\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: a\r\n\r\n",		/* whitespace before the first header */
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01 b\r\n\r\n", /* control characters */
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",	 /* bare CR */
	"GET / HTTP/1.1\rHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
	"\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
	"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",		/* method not a token */
	"G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n",
	" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: a\r\n\r\n", /* 16 characters */
	"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",		/* bad request lines */
	"GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
	"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /\r\nHost: a\r\n\r\n",
	"GET / \r\nHost: a\r\n\r\n",
	"GET HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
	"GET / http/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
	"GET / HTTP/1\r\nHost: a\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",		/* the HTTP/2 preface */
	"GET * HTTP/1.1\r\nHost: a\r\n\r\n",		/* "*" is for OPTIONS only */
	"OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n",
	"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", /* authority-form */
	"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http:// HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",	/* absolute form, empty host */
	"GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n", /* userinfo */
	"GET http://a:99999/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",		/* invalid Host values */
	"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: .a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: .\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a.b..\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]:\x31\x30\x30\x30\x30\x30\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [v1.x]\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: []\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n",
	"GET http://[::1/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://a/x HTTP/1.1\r\nHost: a b\r\n\r\n", /* Host is still checked */
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
	"SSH-2.0-OpenSSH_9.2p1\r\n",
};

static void test_bad(void **state)
{
	char label[64];
	struct http_req r;
	size_t i, k, n;
	uint8_t *b;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		n = strlen(bads[i]);
		snprintf(label, sizeof(label), "bad %zu", i);
		print_message("%s\n", label);
		assert_int_equal(http_parse((const uint8_t *)bads[i], n, MAX, &r), HTTP_BAD);
		for (k = 0; k < n; k++) {
			enum http_status s;

			b = malloc(k ? k : 1);
			assert_non_null(b);
			memcpy(b, bads[i], k);
			s = http_parse(b, k, MAX, &r);
			free(b);
			assert_true(s == HTTP_INCOMPLETE || s == HTTP_BAD);
		}
	}
	/* a NUL anywhere */
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 28, MAX,
				    &r),
			 HTTP_BAD);
	assert_int_equal(http_parse((const uint8_t *)"GET /\0 HTTP/1.1\r\n", 17, MAX, &r), HTTP_BAD);
	/* early: garbage is refused before any line end */
	assert_int_equal(http_parse((const uint8_t *)"\x16\x03\x01", 3, MAX, &r), HTTP_BAD);
	assert_int_equal(http_parse((const uint8_t *)"GET /\x01", 6, MAX, &r), HTTP_BAD);
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/2", 12, MAX, &r), HTTP_BAD);
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/1.1\r\nX\x01", 18, MAX, &r),
			 HTTP_BAD);
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/1.1\r\nX: a\rb", 22, MAX, &r),
			 HTTP_BAD);
	/* while a CR at the very end may still become CRLF */
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/1.1\r\nX: a\r", 21, MAX, &r),
			 HTTP_INCOMPLETE);
	/* the longest method fits */
	assert_int_equal(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: a\r\n\r\n", &r), HTTP_OK);
	assert_string_equal(r.method, "ABCDEFGHIJKLMNO");
}

static void test_too_large(void **state)
{
	static const char h[] = "GET /big HTTP/1.1\r\nHost: big.example\r\nX-Pad: 0123456789\r\n\r\n";
	size_t n = strlen(h);
	struct http_req r;
	char *big;

	assert_int_equal(http_parse((const uint8_t *)h, n, n, &r), HTTP_OK);
	assert_int_equal(r.head_len, n);
	assert_int_equal(http_parse((const uint8_t *)h, n, n - 1, &r), HTTP_TOO_LARGE);
	assert_int_equal(http_parse((const uint8_t *)h, n, 10, &r), HTTP_TOO_LARGE);
	assert_int_equal(http_parse((const uint8_t *)h, n - 1, n - 1, &r), HTTP_TOO_LARGE);
	assert_int_equal(http_parse((const uint8_t *)h, n - 1, n, &r), HTTP_INCOMPLETE);
	assert_int_equal(http_parse((const uint8_t *)h, 0, 0, &r), HTTP_TOO_LARGE);
	/* BAD within max wins */
	assert_int_equal(http_parse((const uint8_t *)"GET / HTTP/3.0\r\nX: yyyyyyyy", 27, 20, &r),
			 HTTP_BAD);
	/* 16 KiB of headers without an end, and the same with an end just inside */
	big = malloc(MAX + 64);
	assert_non_null(big);
	memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
	memset(big + 28, 'x', MAX + 64 - 28);
	assert_int_equal(http_parse((const uint8_t *)big, MAX + 64, MAX, &r), HTTP_TOO_LARGE);
	assert_int_equal(http_parse((const uint8_t *)big, MAX - 1, MAX, &r), HTTP_INCOMPLETE);
	memcpy(big + MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(http_parse((const uint8_t *)big, MAX + 64, MAX, &r), HTTP_OK);
	assert_int_equal(r.head_len, MAX);
	free(big);
}

static void test_host_forms(void **state)
{
	static const struct {
		const char *host, *want;
	} v[] = {
		{ "WWW.Example.COM", "www.example.com" },
		{ "www.example.com.", "www.example.com" },
		{ "www.example.com.:8080", "www.example.com" },
		{ "Example.com:80", "example.com" },
		{ "example.com:", "example.com" },
		{ "192.0.2.1:80", "192.0.2.1" },
		{ "[::1]:80", "[::1]" },
		{ "[::1]", "[::1]" },
		{ "[2001:DB8:0:0::1]:443", "[2001:db8::1]" },
		{ "[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]" },
		{ "under_score.example", "under_score.example" },
		{ "xn--caf-dma.example", "xn--caf-dma.example" },
		{ "a", "a" },
	};
	char head[512];
	struct http_req r;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nhOST:  %s \r\n\r\n", v[i].host);
		assert_int_equal(parse(head, &r), HTTP_OK);
		assert_string_equal(r.host, v[i].want);
		/* the same as the authority of an absolute-form target */
		snprintf(head, sizeof(head), "GET hTTp://%s/p HTTP/1.1\r\nHost: other\r\n\r\n",
			 v[i].host);
		assert_int_equal(parse(head, &r), HTTP_OK);
		assert_string_equal(r.host, v[i].want);
		assert_int_equal(r.path_len, 2);
		assert_memory_equal(head + r.path_off, "/p", 2);
	}
	/* a 63-byte label and a 253-byte name are the limits */
	memset(head, 0, sizeof(head));
	strcpy(head, "GET / HTTP/1.1\r\nHost: ");
	memset(head + strlen(head), 'a', 63);
	strcat(head, ".b\r\n\r\n");
	assert_int_equal(parse(head, &r), HTTP_OK);
	memset(head, 0, sizeof(head));
	strcpy(head, "GET / HTTP/1.1\r\nHost: ");
	memset(head + strlen(head), 'a', 64);
	strcat(head, ".b\r\n\r\n");
	assert_int_equal(parse(head, &r), HTTP_BAD);
	for (i = 0; i < 2; i++) {
		size_t j, at;

		memset(head, 0, sizeof(head));
		strcpy(head, "GET / HTTP/1.1\r\nHost: ");
		at = strlen(head);
		for (j = 0; j < 253 + i; j++)
			head[at + j] = (j % 2) ? '.' : 'x';
		head[at + 252 + i] = 'y';
		strcat(head, ".:1\r\n\r\n");
		assert_int_equal(parse(head, &r), i ? HTTP_BAD : HTTP_OK);
		if (!i)
			assert_int_equal(strlen(r.host), 253);
	}
}

static void test_absolute_form(void **state)
{
	static const char h[] = "GET https://API.example.com:8443 HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
	struct http_req r;

	/* the authority overrides Host (RFC 9112 3.2.2), the path is empty and means "/" */
	assert_int_equal(parse(h, &r), HTTP_OK);
	assert_string_equal(r.host, "api.example.com");
	assert_int_equal(r.path_len, 0);
	assert_true(http_rule_match("", "/", (const uint8_t *)h, &r));
	assert_false(http_rule_match("", "/x", (const uint8_t *)h, &r));
	assert_true(http_rule_match("api.example.com", "", (const uint8_t *)h, &r));
	assert_false(http_rule_match("www.example.com", "", (const uint8_t *)h, &r));
	/* a query alone */
	assert_int_equal(parse("GET http://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", &r),
			 HTTP_OK);
	assert_int_equal(r.path_len, 4);
	/* HTTP/1.1 without Host is accepted with an absolute-form target (as nginx does) */
	assert_int_equal(parse("GET http://b.example/x HTTP/1.1\r\n\r\n", &r), HTTP_OK);
	assert_string_equal(r.host, "b.example");
	assert_int_equal(parse("GET http://[2001:db8::2]:80/y HTTP/1.0\r\n\r\n", &r), HTTP_OK);
	assert_string_equal(r.host, "[2001:db8::2]");
}

static void test_rule_match(void **state)
{
	static const char h[] = "GET /static/img/a.png?x=1 HTTP/1.1\r\nHost: Static.Example.COM:80\r\n\r\n";
	const uint8_t *b = (const uint8_t *)h;
	struct http_req r;

	assert_int_equal(parse(h, &r), HTTP_OK);
	assert_true(http_rule_match("", "", b, &r));
	assert_true(http_rule_match(NULL, NULL, b, &r));
	assert_true(http_rule_match("static.example.com", "", b, &r));
	assert_true(http_rule_match("STATIC.example.Com", "", b, &r));
	assert_true(http_rule_match("static.example.com.", "", b, &r));
	assert_false(http_rule_match("static.example.co", "", b, &r));
	assert_false(http_rule_match("static.example.com.x", "", b, &r));
	assert_false(http_rule_match("example.com", "", b, &r));
	assert_true(http_rule_match("", "/", b, &r));
	assert_true(http_rule_match("", "/static/", b, &r));
	assert_true(http_rule_match("", "/static/img/a.png?x=1", b, &r));
	assert_false(http_rule_match("", "/static/img/a.png?x=12", b, &r));
	assert_false(http_rule_match("", "/Static/", b, &r));
	assert_false(http_rule_match("", "static/", b, &r));
	assert_true(http_rule_match("static.example.com", "/static/", b, &r));
	assert_false(http_rule_match("other.example.com", "/static/", b, &r));
	assert_false(http_rule_match("static.example.com", "/api/", b, &r));
	/* no Host: only host-less rules */
	assert_int_equal(parse("GET /x HTTP/1.0\r\n\r\n", &r), HTTP_OK);
	assert_false(http_rule_match("a", "", (const uint8_t *)"GET /x HTTP/1.0\r\n\r\n", &r));
	assert_true(http_rule_match("", "/x", (const uint8_t *)"GET /x HTTP/1.0\r\n\r\n", &r));
}

static void test_error(void **state)
{
	static const char want400[] = "HTTP/1.1 400 Bad Request\r\n"
				      "Content-Type: text/plain\r\n"
				      "Content-Length: 16\r\n"
				      "Connection: close\r\n"
				      "\r\n"
				      "400 Bad Request\n";
	static const int codes[] = { 400, 408, 503 };
	char out[512], *p;
	size_t n, i, cl;

	n = http_error(400, out, sizeof(out));
	assert_int_equal(n, strlen(want400));
	assert_memory_equal(out, want400, n);
	for (i = 0; i < 3; i++) {
		n = http_error(codes[i], out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(atoi(out + 9), codes[i]);
		p = strstr(out, "Content-Length: ");
		assert_non_null(p);
		cl = strtoul(p + 16, NULL, 10);
		p = strstr(out, "\r\n\r\n");
		assert_non_null(p);
		assert_int_equal(n - (size_t)(p + 4 - out), cl);
		assert_non_null(strstr(out, "Connection: close\r\n"));
		assert_non_null(strstr(out, "Content-Type: text/plain\r\n"));
		/* room for exactly the bytes, none less */
		assert_int_equal(http_error(codes[i], out, n), n);
		assert_int_equal(http_error(codes[i], out, n - 1), 0);
	}
	assert_int_equal(http_error(404, out, sizeof(out)), 0);
	assert_int_equal(http_error(0, out, sizeof(out)), 0);
	assert_int_equal(http_error(400, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_heads),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_host_forms),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_rule_match),
		cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
