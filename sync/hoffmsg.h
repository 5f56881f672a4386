/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written (issue 12) */
#ifndef CLUSTERD_HOFFMSG_H
#define CLUSTERD_HOFFMSG_H
#include "nfq/hoff.h"
#endif
