/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: systemd readiness, status and watchdog (placeholder). */
#ifndef CLUSTERD_NOTIFY_H
#define CLUSTERD_NOTIFY_H

#endif
