/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon/notify.h"
