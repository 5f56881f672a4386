/* SPDX-License-Identifier: GPL-2.0-or-later */
/* clock: the daemon's two clocks, in milliseconds. */
#ifndef CLUSTERD_CLOCK_H
#define CLUSTERD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: timers, deadlines, ages. */
uint64_t daemon_now_ms(void);
/* CLOCK_REALTIME: for stamps an operator compares with other clocks. */
uint64_t daemon_wall_ms(void);

#endif
