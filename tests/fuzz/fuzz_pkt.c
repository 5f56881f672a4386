/* libFuzzer harness for nfq/pkt, nfq/mangle and nfq/reply.
 *
 * Besides "no crash, no overread", it checks that an incremental rewrite keeps a right
 * L4 checksum right: the input's checksum is first made right by a full_csum rewrite.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. nfq/csum.c nfq/pkt.c \
 *         nfq/mangle.c nfq/reply.c tests/fuzz/fuzz_pkt.c -o fuzz_pkt
 *   gcc -DFUZZ_STANDALONE -fsanitize=address,undefined -I. ... -o fuzz_pkt  (runs files
 *         given as arguments, or a built-in pseudo-random corpus without arguments)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/csum.h"
#include "nfq/mangle.h"
#include "nfq/pkt.h"
#include "nfq/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool l4_csum_ok(const uint8_t *b, const struct pkt *p)
{
	uint32_t seg = p->ip_len - p->l4_off, sum = 0;
	const uint8_t *l4 = b + p->l4_off;
	uint8_t c[4];

	switch (p->proto) {
	case IPPROTO_SCTP:
		memcpy(c, l4 + 8, 4);
		sum = csum_crc32c(0, l4, 8);
		sum = csum_crc32c(sum, "\0\0\0\0", 4);
		sum = csum_crc32c(sum, l4 + 12, seg - 12);
		return (c[0] | c[1] << 8 | c[2] << 16 | (uint32_t)c[3] << 24) == sum;
	case IPPROTO_UDP:
		if (!l4[6] && !l4[7])
			return true;
		/* fall through */
	case IPPROTO_TCP:
	case IPPROTO_ICMPV6:
		sum = csum_pseudo(p->family, p->src.b, p->dst.b, p->proto, seg);
		/* fall through */
	case IPPROTO_ICMP:
		return csum_fold(csum_add(sum, l4, seg)) == 0;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b, out[REPLY_ICMP_MAX_V6];
	struct ip_addr a;
	struct pkt p, q;
	size_t i, n;

	if (size > 0xffff + 40)
		return 0;
	/* an exactly sized copy: any overread is caught, and mangle may write */
	b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	if (pkt_parse(b, size, &p) != PKT_OK)
		goto out;

	n = reply_tcp_rst(b, &p, out, sizeof(out));
	if (n && pkt_parse(out, n, &q) != PKT_OK)
		abort();
	n = reply_icmp_port_unreach(b, &p, out, sizeof(out));
	if (n && pkt_parse(out, n, &q) != PKT_OK)
		abort();

	memset(&a, 0, sizeof(a));
	a.family = p.family;
	for (i = 0; i < addr_len(&a); i++)
		a.b[i] = (uint8_t)(0xa5 ^ i ^ size);
	if (mangle_rewrite(b, size, &p, MANGLE_DST, &p.dst, 0, true) != MANGLE_OK)
		goto out;
	if (!p.later_fragment && !p.fragment && !l4_csum_ok(b, &p))
		abort();
	if (mangle_rewrite(b, size, &p, MANGLE_DST, &a, 8080, false) != MANGLE_OK)
		abort();
	if (!p.later_fragment && !p.fragment && !l4_csum_ok(b, &p))
		abort();
	if (mangle_rewrite(b, size, &p, MANGLE_SRC, &a, 443, false) != MANGLE_OK)
		abort();
	if (!p.later_fragment && !p.fragment && !l4_csum_ok(b, &p))
		abort();
	/* the rewritten packet still parses, with the new addresses */
	if (pkt_parse(b, size, &q) != PKT_OK || !addr_eq(&q.src, &a) || !addr_eq(&q.dst, &a))
		abort();
out:
	free(b);
	return 0;
}

#ifdef FUZZ_STANDALONE
static void run_file(const char *path)
{
	static uint8_t buf[0xffff + 40];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
}

/* Without files: mutated IPv4/IPv6 TCP, UDP and ICMP error skeletons. */
static void run_random(unsigned long rounds)
{
	static const uint8_t v4[] = {
		0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 9, 9, 9, 10, 2, 0, 100,
		3, 4, 0, 0, 0, 0, 5, 0x78,
		0x45, 0, 5, 0xdc, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 2, 0, 100, 10, 0, 0, 1,
		0, 80, 0x9c, 0x40, 0, 0, 0, 1 };
	static const uint8_t v6[] = {
		0x60, 0, 0, 0, 0, 28, 0, 64, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 1, 0x20, 1, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
		60, 0, 1, 4, 0, 0, 0, 0,
		17, 0, 0, 0, 0, 0, 0, 0, 0x13, 0x88, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4 };
	uint8_t buf[256];
	unsigned long r;
	uint32_t st = 1;
	size_t n, k, j;

	for (r = 0; r < rounds; r++) {
		const uint8_t *base = r & 1 ? v6 : v4;

		n = r & 1 ? sizeof(v6) : sizeof(v4);
		memcpy(buf, base, n);
		for (k = 0; k < 1 + r % 4; k++) {
			st = st * 1103515245u + 12345u;
			j = (st >> 8) % n;
			st = st * 1103515245u + 12345u;
			buf[j] = (uint8_t)(st >> 16);
		}
		st = st * 1103515245u + 12345u;
		LLVMFuzzerTestOneInput(buf, (st >> 8) % 8 ? n : (st >> 12) % (n + 1));
	}
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		run_random(200000);
		return 0;
	}
	for (i = 1; i < argc; i++)
		run_file(argv[i]);
	return 0;
}
#endif
