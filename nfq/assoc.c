/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/assoc.h"
typedef int assoc_placeholder_;
