/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/tls.h"
typedef int tls_placeholder_;
