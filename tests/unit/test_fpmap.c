/* SPDX-License-Identifier: GPL-2.0-or-later */
/* (Being written.) */
int main(void)
{
	return 0;
}
