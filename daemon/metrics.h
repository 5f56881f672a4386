/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics: the Prometheus endpoint (placeholder). */
#ifndef CLUSTERD_METRICS_H
#define CLUSTERD_METRICS_H

#endif
