/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/tcpseg.h"
typedef int tcpseg_placeholder_;
