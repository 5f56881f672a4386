/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for nfq/tls: ClientHellos captured from openssl s_client 3.0 (with
 * -servername, with -noservername, with -tls1_2) and curl 7.88, and hand-built ones: no SNI,
 * SNI split across records, a 2500-byte hello (the size of one with a post-quantum key
 * share) split at every byte, malformed lengths, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nfq/tls.h"

#define MAX 16384

static const char hello_sclient[] =
	"160301013c0100013803035ecb2bcc03727066ffcea94fa2211a608926f8dc0c0e87c22916e44b07"
	"b4692920a8d18487e8e4e16b7736ed5b24fd35b302a90e214689041ecae8fab4134c13e9003e1302"
	"13031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039"
	"c009c0130033009d009c003d003c0035002f00ff010000b100000014001200000f5757572e457861"
	"6d706c652e636f6d000b000403000102000a00160014001d0017001e001900180100010101020103"
	"0104002300000016000000170000000d002a0028040305030603080708080809080a080b08040805"
	"0806040105010601030303010302040205020602002b0009080304030303020301002d0002010100"
	"3300260024001d0020ba3bb60f6ba980cee1ba420b62bb9569222967bd04c3e1b91e429077d9df7c"
	"6a";
static const char hello_nosni[] =
	"16030101240100012003039d892dfd2cc3b8949c8cd80dfe61ffe14c060acf0b7ee54121e4204fbb"
	"97b68620d01b0e247eb82cf2d479391fb91ba88c7d75852fe3fdbd46b15df3cd1e07cae5003e1302"
	"13031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039"
	"c009c0130033009d009c003d003c0035002f00ff01000099000b000403000102000a00160014001d"
	"0017001e0019001801000101010201030104002300000016000000170000000d002a002804030503"
	"0603080708080809080a080b080408050806040105010601030303010302040205020602002b0009"
	"080304030303020301002d00020101003300260024001d0020300ea042c447edb2ec6d37030718d8"
	"efd83270fe42cd8df6d4517901b979c226";
static const char hello_tls12[] =
	"16030100cf010000cb03031a2c9245ce1ac3d191bbabcbfe3b5559a1a675ac0b8364510f312ebda9"
	"353b90000038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac014"
	"0039c009c0130033009d009c003d003c0035002f00ff0100006a00000014001200000f6170692e65"
	"78616d706c652e636f6d000b000403000102000a000c000a001d0017001e00190018002300000016"
	"000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601"
	"030303010302040205020602";
static const char hello_curl[] =
	"1603010200010001fc0303adf8346e69772649845229a54244ea63c0af7e599a91b33cd72c703785"
	"99243a203895262101b9008eb1cc084caaff7ab53e5f698bc2d994a966241862c3c0b706003e1302"
	"13031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039"
	"c009c0130033009d009c003d003c0035002f00ff010001750000001700150000127365637572652e"
	"6578616d706c652e6f7267000b000403000102000a00160014001d0017001e001900180100010101"
	"02010301040010000e000c02683208687474702f312e31001600000017000000310000000d002a00"
	"28040305030603080708080809080a080b0804080508060401050106010303030103020402050206"
	"02002b0009080304030303020301002d00020101003300260024001d00203b2b860a8fa51ba2c6c4"
	"9a51ecee9cf9286bb7d451e750110b218ea025a1725d001500ab0000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2, i;

	for (i = 0; i < n; i++) {
		char x[3] = { h[2 * i], h[2 * i + 1], 0 };

		out[i] = (uint8_t)strtoul(x, NULL, 16);
	}
	return n;
}

/* tls_sni on an exactly sized heap copy, so that ASan sees any overread. */
static enum tls_status sni(const uint8_t *b, size_t n, size_t max, char host[256], size_t *used)
{
	uint8_t *c = malloc(n ? n : 1);
	enum tls_status s;

	assert_non_null(c);
	memcpy(c, b, n);
	s = tls_sni(c, n, max, host, used);
	free(c);
	return s;
}

/* OK with want and used == n, and every proper prefix INCOMPLETE; bytes after it change
 * nothing. */
static void check_all_prefixes(const uint8_t *b, size_t n, const char *want)
{
	char host[256];
	size_t used, k;
	uint8_t *more;

	assert_int_equal(sni(b, n, MAX, host, &used), TLS_OK);
	assert_string_equal(host, want);
	assert_int_equal(used, n);
	for (k = 0; k < n; k++) {
		assert_int_equal(sni(b, k, MAX, host, &used), TLS_INCOMPLETE);
		assert_int_equal(used, 0);
	}
	more = malloc(n + 11);
	assert_non_null(more);
	memcpy(more, b, n);
	/* a ChangeCipherSpec record and early data after the hello */
	memcpy(more + n, "\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x20", 11);
	assert_int_equal(sni(more, n + 11, MAX, host, &used), TLS_OK);
	assert_string_equal(host, want);
	assert_int_equal(used, n);
	free(more);
}

static void test_captured(void **state)
{
	static const struct {
		const char *hex, *host;
	} v[] = {
		{ hello_sclient, "www.example.com" },	/* -servername WWW.Example.com */
		{ hello_nosni, "" },
		{ hello_tls12, "api.example.com" },
		{ hello_curl, "secure.example.org" },
	};
	uint8_t b[1024];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = unhex(v[i].hex, b);
		check_all_prefixes(b, n, v[i].host);
	}
}

/* A hand-built ClientHello handshake message (header included): TLS 1.3 style, with a
 * server_name extension when sni is not NULL (its entries as given: names[] of types[]),
 * then an opaque key_share of ks bytes.  Offsets used by the tests below. */
#define OFF_SID_LEN 38
#define OFF_CS_LEN 71
#define OFF_COMP_LEN 79
#define OFF_EXT_LEN 81
#define OFF_SNI_EXT_LEN 85
#define OFF_SNI_LIST_LEN 87
#define OFF_SNI_NAME_LEN 90

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t hello_n(uint8_t *h, const char *const *names, const uint8_t *types, size_t nn,
		      size_t ks)
{
	size_t n = 4, ext, sni, i;

	h[n++] = 3;
	h[n++] = 3;
	for (i = 0; i < 32; i++)
		h[n++] = (uint8_t)(0xa0 + i);
	h[n++] = 32;			/* session id */
	for (i = 0; i < 32; i++)
		h[n++] = (uint8_t)i;
	put16(h + n, 6);		/* three cipher suites */
	memcpy(h + n + 2, "\x13\x01\x13\x02\x13\x03", 6);
	n += 8;
	h[n++] = 1;			/* compression: null */
	h[n++] = 0;
	ext = n;
	n += 2;
	if (nn) {
		put16(h + n, 0);	/* server_name */
		sni = n + 2;
		n += 6;
		for (i = 0; i < nn; i++) {
			size_t l = strlen(names[i]);

			h[n] = types[i];
			put16(h + n + 1, l);
			memcpy(h + n + 3, names[i], l);
			n += 3 + l;
		}
		put16(h + sni, n - sni - 2);
		put16(h + sni + 2, n - sni - 4);
	}
	put16(h + n, 51);		/* key_share: group 0x11ec (X25519MLKEM768) */
	put16(h + n + 2, ks);
	for (i = 0; i < ks; i++)
		h[n + 4 + i] = (uint8_t)(i * 7);
	n += 4 + ks;
	put16(h + n, 43);		/* supported_versions: TLS 1.3 */
	memcpy(h + n + 2, "\x00\x03\x02\x03\x04", 5);
	n += 7;
	put16(h + ext, n - ext - 2);
	h[0] = 1;
	h[1] = (uint8_t)((n - 4) >> 16);
	h[2] = (uint8_t)((n - 4) >> 8);
	h[3] = (uint8_t)(n - 4);
	return n;
}

static size_t hello(uint8_t *h, const char *name, size_t ks)
{
	static const uint8_t t0 = 0;

	return hello_n(h, name ? &name : NULL, &t0, name ? 1 : 0, ks);
}

/* Puts the handshake bytes hs[0..n) in records cut at cuts[] (ascending, in (0, n)). */
static size_t records(const uint8_t *hs, size_t n, const size_t *cuts, size_t nc, uint8_t *out)
{
	size_t o = 0, from = 0, i, to;

	for (i = 0; i <= nc; i++) {
		to = i < nc ? cuts[i] : n;
		out[o] = 22;
		out[o + 1] = 3;
		out[o + 2] = 1;
		put16(out + o + 3, to - from);
		memcpy(out + o + 5, hs + from, to - from);
		o += 5 + to - from;
		from = to;
	}
	return o;
}

static void test_built(void **state)
{
	uint8_t h[4096], r[4200];
	size_t n, rn, cut[3];

	/* no server_name extension */
	n = hello(h, NULL, 32);
	rn = records(h, n, NULL, 0, r);
	check_all_prefixes(r, rn, "");
	/* one, normalized */
	n = hello(h, "Mixed.Case.Example.", 32);
	rn = records(h, n, NULL, 0, r);
	check_all_prefixes(r, rn, "mixed.case.example");
	/* the name split across two records, and each header byte in a record of its own */
	cut[0] = OFF_SNI_NAME_LEN + 5;
	rn = records(h, n, cut, 1, r);
	check_all_prefixes(r, rn, "mixed.case.example");
	cut[0] = 1;
	cut[1] = 2;
	cut[2] = 3;
	rn = records(h, n, cut, 3, r);
	check_all_prefixes(r, rn, "mixed.case.example");
	/* a name type other than host_name is stepped over */
	{
		static const char *const names[] = { "opaque-other", "a.example" };
		static const uint8_t types[] = { 7, 0 };

		n = hello_n(h, names, types, 2, 32);
		rn = records(h, n, NULL, 0, r);
		check_all_prefixes(r, rn, "a.example");
	}
}

/* A 2500-byte hello, as one with a post-quantum key share: split in two records at every
 * byte, and as TCP would split it, at every byte. */
static void test_big_every_split(void **state)
{
	uint8_t h[4096], r[4200];
	char host[256];
	size_t n, rn, used, k;

	n = hello(h, "pq.example.net", 2500 - 117);	/* 117: the rest of it */
	assert_int_equal(n, 2500);
	for (k = 1; k < n; k++) {
		rn = records(h, n, &k, 1, r);
		assert_int_equal(rn, n + 10);
		assert_int_equal(sni(r, rn, MAX, host, &used), TLS_OK);
		assert_string_equal(host, "pq.example.net");
		assert_int_equal(used, rn);
		/* one byte short in either record */
		assert_int_equal(sni(r, k + 4, MAX, host, &used), TLS_INCOMPLETE);
		assert_int_equal(sni(r, rn - 1, MAX, host, &used), TLS_INCOMPLETE);
	}
	k = 1400;
	rn = records(h, n, &k, 1, r);
	check_all_prefixes(r, rn, "pq.example.net");
	rn = records(h, n, NULL, 0, r);
	check_all_prefixes(r, rn, "pq.example.net");
}

static void expect(const uint8_t *b, size_t n, enum tls_status want)
{
	char host[256] = "junk";
	size_t used = 99;

	assert_int_equal(sni(b, n, MAX, host, &used), want);
	if (want != TLS_OK) {
		assert_string_equal(host, "");
		assert_int_equal(used, 0);
	}
}

/* The hand-built hello with byte at off set to v (in one record). */
static void bad_at(size_t off, uint8_t v, enum tls_status want)
{
	uint8_t h[512], r[600];
	size_t n = hello(h, "a.example", 32);

	h[off] = v;
	n = records(h, n, NULL, 0, r);
	print_message("byte %zu = %u\n", off, v);
	expect(r, n, want);
}

static void test_malformed(void **state)
{
	uint8_t h[512], r[600];
	size_t n, rn, k, used;
	char host[256];

	n = hello(h, "a.example", 32);
	rn = records(h, n, NULL, 0, r);
	expect(r, rn, TLS_OK);
	/* handshake length: one more waits for a record that cannot complete it well; one less
	 * leaves a byte after the hello in its record */
	bad_at(3, (uint8_t)(h[3] + 1), TLS_INCOMPLETE);
	bad_at(3, (uint8_t)(h[3] - 1), TLS_BAD);
	bad_at(1, 1, TLS_TOO_LARGE);		/* 64 KiB more: over max at once */
	bad_at(0, 2, TLS_BAD);			/* a ServerHello */
	bad_at(4, 2, TLS_BAD);			/* legacy_version 2.3 */
	bad_at(OFF_SID_LEN, 33, TLS_BAD);
	bad_at(OFF_SID_LEN, 200, TLS_BAD);
	bad_at(OFF_CS_LEN + 1, 5, TLS_BAD);	/* odd */
	bad_at(OFF_CS_LEN + 1, 0, TLS_BAD);
	bad_at(OFF_CS_LEN, 1, TLS_BAD);
	bad_at(OFF_COMP_LEN, 0, TLS_BAD);
	bad_at(OFF_COMP_LEN, 2, TLS_BAD);
	bad_at(OFF_EXT_LEN + 1, (uint8_t)(h[OFF_EXT_LEN + 1] + 1), TLS_BAD);
	bad_at(OFF_EXT_LEN + 1, (uint8_t)(h[OFF_EXT_LEN + 1] - 1), TLS_BAD);
	bad_at(OFF_EXT_LEN, 0xff, TLS_BAD);
	bad_at(OFF_SNI_EXT_LEN + 1, (uint8_t)(h[OFF_SNI_EXT_LEN + 1] + 1), TLS_BAD);
	bad_at(OFF_SNI_EXT_LEN + 1, (uint8_t)(h[OFF_SNI_EXT_LEN + 1] - 1), TLS_BAD);
	bad_at(OFF_SNI_EXT_LEN + 1, 1, TLS_BAD);
	bad_at(OFF_SNI_EXT_LEN + 1, 0, TLS_BAD);
	bad_at(OFF_SNI_LIST_LEN + 1, (uint8_t)(h[OFF_SNI_LIST_LEN + 1] + 1), TLS_BAD);
	bad_at(OFF_SNI_LIST_LEN + 1, (uint8_t)(h[OFF_SNI_LIST_LEN + 1] - 1), TLS_BAD);
	bad_at(OFF_SNI_NAME_LEN + 1, (uint8_t)(h[OFF_SNI_NAME_LEN + 1] + 1), TLS_BAD);
	bad_at(OFF_SNI_NAME_LEN + 1, (uint8_t)(h[OFF_SNI_NAME_LEN + 1] - 1), TLS_BAD);
	bad_at(OFF_SNI_NAME_LEN + 3, '_' + 1, TLS_BAD);	/* not a DNS name: "a`example" */
	bad_at(OFF_SNI_NAME_LEN + 4, '.', TLS_BAD);	/* "a..xample" */
	bad_at(OFF_SNI_NAME_LEN + 2, 0, TLS_BAD);
	bad_at(OFF_SNI_NAME_LEN + 2, 0xc3, TLS_BAD);
	/* a 33-byte session id, lengths otherwise right */
	n = hello(h, "a.example", 32);
	memmove(h + OFF_CS_LEN + 1, h + OFF_CS_LEN, n - OFF_CS_LEN);
	h[OFF_SID_LEN] = 33;
	h[3]++;
	expect(r, records(h, n + 1, NULL, 0, r), TLS_BAD);
	/* a hello shorter than its fixed part */
	memcpy(r, "\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00", 13);
	expect(r, 13, TLS_BAD);
	/* an empty name, two host_names, two server_name extensions */
	{
		static const char *const two[] = { "a.example", "b.example" };
		static const char *const empty[] = { "" };
		static const uint8_t types[] = { 0, 0 };

		n = hello_n(h, two, types, 2, 32);
		expect(r, records(h, n, NULL, 0, r), TLS_BAD);
		n = hello_n(h, empty, types, 1, 32);
		expect(r, records(h, n, NULL, 0, r), TLS_BAD);
		/* a key_share holding the bytes of the server_name extension: fine as such,
		 * BAD once it is a second server_name */
		n = hello(h, "a.example", 14);
		memcpy(h + n - 7 - 14, h + OFF_SNI_LIST_LEN, 14);
		expect(r, records(h, n, NULL, 0, r), TLS_OK);
		put16(h + n - 7 - 18, 0);
		expect(r, records(h, n, NULL, 0, r), TLS_BAD);
	}
	/* record layer: type, version, length */
	n = hello(h, "a.example", 32);
	rn = records(h, n, NULL, 0, r);
	r[0] = 23;
	expect(r, rn, TLS_BAD);
	expect(r, 1, TLS_BAD);
	r[0] = 22;
	r[1] = 2;
	expect(r, 2, TLS_BAD);
	r[1] = 3;
	r[2] = 5;
	expect(r, 3, TLS_BAD);
	r[2] = 0;
	expect(r, rn, TLS_OK);			/* SSL 3.0 record version */
	r[3] = 0;
	r[4] = 0;
	expect(r, 5, TLS_BAD);			/* empty record */
	put16(r + 3, 16385);
	expect(r, 5, TLS_BAD);			/* over 2^14 */
	/* an alert between two fragments */
	k = 50;
	rn = records(h, n, &k, 1, r);
	memmove(r + 55 + 7, r + 55, rn - 55);
	memcpy(r + 55, "\x15\x03\x03\x00\x02\x02\x28", 7);
	expect(r, rn + 7, TLS_BAD);
	/* SSLv2 compatible hello; HTTP */
	expect((const uint8_t *)"\x80\x2e\x01\x03\x01", 5, TLS_BAD);
	expect((const uint8_t *)"GET / HTTP/1.1\r\n", 16, TLS_BAD);
	expect((const uint8_t *)"", 0, TLS_INCOMPLETE);
	(void)used;
	(void)host;
}

static void test_too_large(void **state)
{
	uint8_t h[4096], r[4200];
	char host[256];
	size_t n, rn, used, k;

	n = hello(h, "big.example", 2000);
	rn = records(h, n, NULL, 0, r);
	assert_int_equal(tls_sni(r, rn, rn, host, &used), TLS_OK);
	assert_int_equal(used, rn);
	assert_int_equal(tls_sni(r, rn, rn - 1, host, &used), TLS_TOO_LARGE);
	/* known from the headers alone, long before max bytes are there */
	assert_int_equal(tls_sni(r, 9, rn - 1, host, &used), TLS_TOO_LARGE);
	assert_int_equal(tls_sni(r, 8, rn - 1, host, &used), TLS_INCOMPLETE);
	assert_int_equal(tls_sni(r, 4, 4, host, &used), TLS_TOO_LARGE);
	assert_int_equal(tls_sni(r, 0, 0, host, &used), TLS_TOO_LARGE);
	/* in two records, the second header counts too */
	k = 1000;
	rn = records(h, n, &k, 1, r);
	assert_int_equal(tls_sni(r, rn, rn, host, &used), TLS_OK);
	assert_int_equal(tls_sni(r, rn, rn - 1, host, &used), TLS_TOO_LARGE);
	assert_int_equal(tls_sni(r, 9, rn - 1, host, &used), TLS_TOO_LARGE);
	assert_int_equal(tls_sni(r, 9, rn, host, &used), TLS_INCOMPLETE);
	/* bad bytes within max still say BAD */
	r[5] = 2;
	assert_int_equal(tls_sni(r, rn, 9, host, &used), TLS_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured),
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_big_every_split),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
