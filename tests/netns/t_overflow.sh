#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_overflow: what a full queue does.  d1's queue holds 8 packets; an iperf3
# upload through the VIPA overflows it.  The kernel must drop (no fail-open):
# the transfer survives on TCP retransmissions, the overruns are counted, and
# d1's own stack never sees a VIPA packet (it would answer with a RST).
. "$(dirname "$0")/lib.sh"
nt_cluster_up
nt_bg t1 iperf3-t1 iperf3 -s -p 5201
nt_wait_until 5 nt_listening t1 tcp 5201 || nt_fail setup "iperf3 server"

# d1 again, with a tiny queue, and the upload on it: without the fast path, which would carry
# an established flow's packets in the kernel, past the queue.
nt_fastpath_on && fp=' fastpath = false;' || fp=''
sed -i "s/^daemon = { workers = 2;\(.*\) };/daemon = { workers = 1; queue_maxlen = 8;\1$fp };/" \
	"$NT_WORK/clusterd.conf"
grep -q "queue_maxlen = 8" "$NT_WORK/clusterd.conf" || nt_fail setup "config not rewritten"
[ "$(grep -c 'fastpath = false' "$NT_WORK/clusterd.conf")" = 1 ] ||
	nt_fail setup "fastpath = false not set once"
nt_cd_stop d1
nt_cd_start d1 || nt_fail setup "d1 restart"
NT_EXPECT=True nt_wait_until 5 nt_is nt_target_listening d1 t1 5201 tcp ||
	nt_fail setup "d1 does not see t1 listening on 5201"

rst_before=$(nt_x d1 nstat -az TcpOutRsts | awk '/TcpOutRsts/ { print $2 }')
nt_x c timeout 30 iperf3 -c "$NT_VIP4" -p 5201 -t 3 -P 4 -J >"$NT_WORK/iperf.json" 2>&1
rc=$?
rst_after=$(nt_x d1 nstat -az TcpOutRsts | awk '/TcpOutRsts/ { print $2 }')
bps=$(nt_json "int(j['end']['sum_received']['bits_per_second'])" <"$NT_WORK/iperf.json" \
	2>/dev/null)
retr=$(nt_json "int(j['end']['sum_sent'].get('retransmits', 0))" <"$NT_WORK/iperf.json" \
	2>/dev/null)
over=$(nt_stat d1 "j['queue']['overruns']")
echo "iperf3 exit $rc, ${bps:-0} bit/s, $retr retransmissions; d1 queue overruns $over;" \
	"d1 RSTs sent $rst_before -> $rst_after"
nt_check transfer_survives "iperf3 exit $rc" [ "$rc" -eq 0 ]
nt_check overflow_happened "queue.overruns = $over" [ "${over:-0}" -gt 0 ]
nt_check overruns_retransmitted "retransmits = $retr" [ "${retr:-0}" -gt 0 ]
nt_check no_rst_from_distributor "TcpOutRsts $rst_before -> $rst_after" \
	[ "${rst_before:-x}" = "${rst_after:-y}" ]
nt_finish
