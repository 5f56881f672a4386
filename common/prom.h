/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom: the Prometheus text exposition format (placeholder until it lands). */
#ifndef CLUSTERD_PROM_H
#define CLUSTERD_PROM_H

#endif
