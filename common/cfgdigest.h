/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cfgdigest: a digest of the parts of a configuration every node must share
 * (owner: the config-agreement work; placeholder until it lands). */
#ifndef CLUSTERD_CFGDIGEST_H
#define CLUSTERD_CFGDIGEST_H

#include <stdint.h>

#include "common/config.h"

#define CFGDIGEST_LEN 16

#endif
