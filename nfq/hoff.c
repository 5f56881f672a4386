/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/hoff.h"
typedef int hoff_placeholder_;
