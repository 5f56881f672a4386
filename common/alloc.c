/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "common/alloc.h"

/* A test hook, set only by unit tests (0 in the daemon: never fires); one
 * per thread, so a test arms it for the code it calls and nothing another
 * thread allocates counts or races. */
static _Thread_local struct {
	unsigned long fail_at, count;
} cd_alloc_hook;

bool cd_alloc_fault(void)
{
	cd_alloc_hook.count++;
	return cd_alloc_hook.fail_at && cd_alloc_hook.count == cd_alloc_hook.fail_at;
}

void *cd_calloc(size_t n, size_t size)
{
	return cd_alloc_fault() ? NULL : calloc(n, size);
}

void *cd_malloc(size_t size)
{
	return cd_alloc_fault() ? NULL : malloc(size);
}

unsigned long cd_alloc_fail_after(unsigned long k)
{
	unsigned long n = cd_alloc_hook.count;

	cd_alloc_hook.fail_at = k;
	cd_alloc_hook.count = 0;
	return n;
}
