#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_pmtu: ICMP errors about a VIPA connection reach the target that holds it.
# The router's link to the client gets MTU 1280; the target sends full-size
# segments (DF) as the VIPA, so the router answers "fragmentation needed" to
# the VIPA, i.e. to the distributor.  Only if d1 forwards that error to t1
# (embedded header rewritten to t1's own address and port) does t1 lower its
# path MTU: otherwise the download stalls in a PMTU black hole.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
nt_bg t1 iperf3-t1 iperf3 -s -p 5201
nt_wait_until 5 nt_listening t1 tcp 5201 || nt_fail setup "iperf3 server"
NT_EXPECT=True nt_wait_until 5 nt_is nt_target_listening d1 t1 5201 tcp ||
	nt_fail setup "d1 does not see t1 listening on 5201"
nt_x r ip link set eth1 mtu 1280

fwd_before=$(nt_stat d1 "j['packets']['icmp_errors_forwarded']")
# -R: t1 sends, so its big segments meet the narrow link.
nt_x c timeout 20 iperf3 -c "$NT_VIP4" -p 5201 -R -t 2 -J >"$NT_WORK/iperf.json" 2>&1
rc=$?
bps=$(nt_json "int(j['end']['sum_received']['bits_per_second'])" <"$NT_WORK/iperf.json" \
	2>/dev/null)
fwd_after=$(nt_stat d1 "j['packets']['icmp_errors_forwarded']")
route=$(nt_x t1 ip -4 route get 10.1.0.2)
echo "iperf3 -R exit $rc, ${bps:-0} bit/s; d1 forwarded ICMP errors $fwd_before -> $fwd_after;" \
	"t1: $route"
nt_check download_completes "iperf3 exit $rc" [ "$rc" -eq 0 ]
nt_check download_rate "bitrate ${bps:-none}" [ "${bps:-0}" -gt 0 ]
nt_check icmp_forwarded "icmp_errors_forwarded $fwd_before -> $fwd_after" \
	[ "${fwd_after:-0}" -gt "${fwd_before:-0}" ]
nt_check target_learned_pmtu "t1 route: $route" grep -q "mtu 1280" <<<"$route"
nt_finish
