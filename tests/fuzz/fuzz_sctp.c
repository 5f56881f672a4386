/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder (issue 13) */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
