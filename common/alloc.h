/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alloc: allocation with a fault-injection hook, for code whose failure
 * paths must be tested (the reload's prepare step).  cd_alloc_fault() counts
 * as one allocation too: called right before an allocating constructor of
 * another module (rel_tx_new, cdat_from_cfg...) it lets the test fail that
 * one as well. */
#ifndef CLUSTERD_ALLOC_H
#define CLUSTERD_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *cd_calloc(size_t n, size_t size);
void *cd_malloc(size_t size);
/* True when the allocation this stands for must fail (the hook fired). */
bool cd_alloc_fault(void);

/* Tests only: the k-th allocation from now fails (k >= 1), and every later
 * one succeeds; 0 turns the hook off.  Returns how many allocations went
 * through the hook since the last call (to know when a loop over k is done). */
unsigned long cd_alloc_fail_after(unsigned long k);

#endif
