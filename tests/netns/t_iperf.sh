#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_iperf: an iperf3 upload through the VIPA (tcp 5201 -> t1) succeeds with a non-zero bitrate.
. "$(dirname "$0")/lib.sh"
nt_need iperf3
nt_cluster_up
nt_bg t1 iperf3-t1 iperf3 -s -p 5201
nt_wait_until 5 nt_listening t1 tcp 5201 || nt_fail setup "iperf3 server"
NT_EXPECT=True nt_wait_until 5 nt_is nt_target_listening d1 t1 5201 tcp ||
	nt_log "d1 does not see t1 listening on 5201"

nt_x c timeout 20 iperf3 -c "$NT_VIP4" -p 5201 -t 3 -J >"$NT_WORK/iperf.json" 2>&1
rc=$?
bps=$(nt_json "int(j['end']['sum_received']['bits_per_second'])" <"$NT_WORK/iperf.json" 2>/dev/null)
echo "iperf3 exit $rc, received $(awk -v b="${bps:-0}" 'BEGIN { printf "%.1f Mbit/s", b / 1e6 }')"
[ $rc -ne 0 ] && nt_json "j.get('error')" <"$NT_WORK/iperf.json" 2>/dev/null
nt_check iperf_ok "iperf3 exit $rc" [ $rc -eq 0 ]
nt_check iperf_bitrate "bitrate ${bps:-none}" [ "${bps:-0}" -gt 0 ]
nt_finish
