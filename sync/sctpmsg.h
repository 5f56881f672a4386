/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: the SCTP messages' codec arrives in the next commits. */
#ifndef CLUSTERD_SCTPMSG_H
#define CLUSTERD_SCTPMSG_H
#endif
