/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon/dhand.h"
typedef int dhand_placeholder_;
