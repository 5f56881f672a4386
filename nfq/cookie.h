/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written (issue 12) */
#ifndef CLUSTERD_COOKIE_H
#define CLUSTERD_COOKIE_H
#endif
