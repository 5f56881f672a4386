/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written (issue 13) */
#ifndef CLUSTERD_ASSOC_H
#define CLUSTERD_ASSOC_H
#endif
