/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder (issue 13): skipped until written */
int main(void)
{
	return 77;
}
