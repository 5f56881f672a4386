/* SPDX-License-Identifier: GPL-2.0-or-later */
/* csum: Internet checksum (RFC 1071, incremental per RFC 1624) and CRC32c (SCTP).
 * Pure: no state, no allocation. */
#ifndef CLUSTERD_CSUM_H
#define CLUSTERD_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Ones'-complement accumulate of 16-bit big-endian words of buf into sum.  An odd
 * tail is padded with a zero byte, so only the last piece of a chained sum may have
 * an odd length.  The result is folded to 16 bits (not complemented) and may be fed
 * back in as sum. */
uint32_t csum_add(uint32_t sum, const void *buf, size_t len);

/* Folds sum to 16 bits and complements it: the value of a checksum field, in host
 * order (store it with htons()). */
uint16_t csum_fold(uint32_t sum);

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').  field is the 2-byte checksum in network
 * order, updated in place; old and new_ are the len (even) bytes replaced, as they
 * appear in the packet (network order), word-aligned with the checksummed data. */
void csum_replace(uint8_t *field, const void *old, const void *new_, size_t len);

/* Sum (not complemented) of the TCP/UDP/ICMPv6 pseudo-header: family AF_INET (src
 * and dst 4 bytes) or AF_INET6 (16 bytes), l4len the L4 header + payload length. */
uint32_t csum_pseudo(int family, const void *src, const void *dst, uint8_t proto,
		     uint32_t l4len);

/* CRC32c (Castagnoli, reflected, as SCTP uses it).  Chainable the zlib way: start
 * with crc = 0, pass the result back in for the next piece.  csum_crc32c(0,
 * "123456789", 9) == 0xe3069283. */
uint32_t csum_crc32c(uint32_t crc, const void *buf, size_t len);

/* Computes the SCTP checksum over the len bytes of an SCTP packet at sh (common
 * header included, len >= 12) and stores it in the header.  Returns -1 if len is too
 * short, 0 otherwise. */
int csum_sctp_set(uint8_t *sh, size_t len);

#endif
