/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpmap: see rules/fpmap.h.  (Being written.) */
#include "rules/fpmap.h"
