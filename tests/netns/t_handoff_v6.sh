#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_v6: t_handoff_basic and t_handoff_large (a 10 MiB file) over the IPv6 VIPA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"

nt_need curl sha256sum
hoff_cluster_up
hoff_basic_checks "$NT_VIP6" "${NT_IP6[c]}" v6
HOFF_DL_S=30 hoff_large_checks "$NT_VIP6" 10 v6_large
nt_finish
