/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tls: the server name (SNI, RFC 6066 3) of a TLS ClientHello, for content-aware handoff of
 * TLS services (the FE picks the target by name without terminating TLS).
 *
 * Reads the plaintext records the client sent first: handshake records (type 22) whose
 * fragments are put together until the whole ClientHello is there (RFC 8446 5.1: a handshake
 * message may span records; a ClientHello with a post-quantum key share spans two TCP
 * segments).  Any other record type before the end of the ClientHello, a record version
 * not 3.x, an empty or oversized (> 2^14) record, a first handshake message other than a
 * ClientHello, or lengths that do not add up are BAD.
 * Pure: no state, no allocation. */
#ifndef CLUSTERD_TLS_H
#define CLUSTERD_TLS_H

#include <stddef.h>
#include <stdint.h>

#define TLS_HOST_MAX 256	/* size of host, NUL included */

/* Numbered as enum http_status (one caller handles both; tls.c asserts it). */
enum tls_status { TLS_INCOMPLETE = 0, TLS_OK, TLS_BAD, TLS_TOO_LARGE };

/* Looks at the len bytes the client sent so far: TLS records of type handshake (22) whose
 * fragments are reassembled until the whole ClientHello is there.  TLS_OK: host holds the
 * server_name (host_name type, lower case, one trailing dot stripped, validated as a DNS name
 * as http_dns_name does) or "" when there is none; *used = the bytes of the records that held
 * it (up to the end of the record holding its last byte).  TLS_TOO_LARGE: more than max bytes
 * needed.  TLS_BAD: not a TLS handshake starting with a ClientHello, malformed lengths (of the
 * records, the hello, its vectors, the extensions, the server_name list), two server_name
 * extensions, SNI not a valid name.  Never reads past len (nor past max). */
enum tls_status tls_sni(const uint8_t *buf, size_t len, size_t max, char host[256], size_t *used);

#endif
