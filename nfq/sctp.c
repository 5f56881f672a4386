/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nfq/sctp.h"
typedef int sctp_placeholder_;
