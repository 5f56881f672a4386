/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify: the systemd notification protocol's pure parts (placeholder). */
#ifndef CLUSTERD_SDNOTIFY_H
#define CLUSTERD_SDNOTIFY_H

#endif
