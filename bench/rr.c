/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rr: request/response latency probe for the benchmarks (placeholder). */
int main(void)
{
	return 0;
}
