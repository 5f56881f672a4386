/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sync/hoffmsg.h"
typedef int hoffmsg_placeholder_;
