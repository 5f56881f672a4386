/* SPDX-License-Identifier: GPL-2.0-or-later */
/* (Being written.) */
#include "rules/fpmap.h"
int main(void)
{
	return 77;
}
