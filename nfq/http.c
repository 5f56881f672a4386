/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/http.h"
typedef int http_placeholder_;
