/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written (issue 12) */
#ifndef CLUSTERD_TCPSEG_H
#define CLUSTERD_TCPSEG_H
#endif
