/* SPDX-License-Identifier: GPL-2.0-or-later */
/* epoch: a boot epoch that grows across restarts, whatever the wall clock does.
 *
 * Peers reject a message whose epoch is lower than the last one they saw from
 * the sender (WIRE_ERR_STALE_EPOCH).  An epoch taken from CLOCK_REALTIME alone
 * goes backwards when the clock is stepped back (wrong RTC, NTP correction, a
 * VM restored from a snapshot) and cuts the node off until the clock catches
 * up, so the last epoch is kept in a small state file and the next one is
 * max(now, last + 1).
 *
 * The file holds one decimal uint64 and a newline, nothing else.  It is
 * replaced atomically and durably: a temporary "<path>.tmp" in the same
 * directory is written, fsync'ed and renamed over path, then the directory is
 * fsync'ed.  No globals, no logging, no allocation; safe from any thread as
 * long as no two callers share a path. */
#ifndef CLUSTERD_EPOCH_H
#define CLUSTERD_EPOCH_H

#include <stddef.h>
#include <stdint.h>

/* Reads the last epoch from path (a missing file is a first start), stores
 * max(now_ns, last + 1) back into path durably and only then into *out.
 * Returns 0 with err set to "" (or to a warning when only the final fsync
 * of the directory failed: the file holds the new value, so it is used), or
 * -1 with "file: what is wrong" in err (err may be NULL) and *out untouched;
 * path is then left as it was, and a temporary this call created is removed.
 * Errors: path unreadable or not a regular file, contents corrupt (empty,
 * not a plain decimal number, overflow, missing newline, trailing junk,
 * longer than 21 bytes), last == UINT64_MAX (cannot grow), any open, write,
 * fsync or rename failure before the rename, path empty, ending in '/' or
 * too long.
 *
 * Contract with the caller: nothing is silently ignored here; the daemon
 * logs err and falls back to now_ns for this boot.  A corrupt file is left
 * as it is for the operator to inspect; every later start fails the same way
 * until it is removed. */
int epoch_next(const char *path, uint64_t now_ns, uint64_t *out, char *err, size_t errlen);

#endif
