/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness for nfq/pkt, nfq/mangle and nfq/reply.
 *
 * Besides "no crash, no overread", it checks that an incremental rewrite keeps a right
 * L4 checksum right: the input's checksum is first made right by a full_csum rewrite.
 * Built by `make fuzz` (tests/fuzz/fuzz_pkt) and, for the corpus replay of `make check`,
 * with tests/fuzz/standalone.c (tests/fuzz/replay_pkt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq/csum.h"
#include "nfq/mangle.h"
#include "nfq/pkt.h"
#include "nfq/reply.h"
#include "tests/fuzz/fuzz.h"

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
