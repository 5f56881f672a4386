/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <time.h>

#include "daemon/clock.h"

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t daemon_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t daemon_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
