/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written (issue 12) */
#ifndef CLUSTERD_TLS_H
#define CLUSTERD_TLS_H
#endif
