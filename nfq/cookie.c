/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/cookie.h"
typedef int cookie_placeholder_;
