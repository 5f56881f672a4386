#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_spread: 300 requests to the IPv4 VIPA all succeed, spread over t1..t3, the servers see the real
# client, and both the distributor and a target rewrote packets (the target: in the kernel, its
# fast path's counters, unless NT_FASTPATH=off: in its queue, packets.rewritten).
. "$(dirname "$0")/lib.sh"
N=300
nt_cluster_up

out=$NT_WORK/spread.out
nt_curl_loop $N "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers: $(nt_tally "$out" | tr '\n' ' ')"
errs=$(grep '^ERR:' "$out" | sort | uniq -c | tr '\n' ' ')
nt_check requests_all_succeed "$ok/$N succeeded (curl errors: $errs)" \
	[ "$ok" -eq $N ]
for t in $NT_TARGETS; do
	n=$(nt_count "$out" "$t")
	nt_check "spread_$t" "$t served $n of $N (want > 15 %)" [ $((n * 100)) -gt $((N * 15)) ]
done

logged=0 foreign=0
for t in $NT_TARGETS; do
	f=$NT_WORK/access-$t-8080.log
	logged=$((logged + $(wc -l <"$f")))
	foreign=$((foreign + $(awk '$1 != "10.1.0.2"' "$f" | wc -l)))
done
nt_check servers_logged_all "servers logged $logged requests, want $N" [ "$logged" -eq $N ]
nt_check servers_see_real_client "$foreign requests logged from an address other than 10.1.0.2" \
	[ "$foreign" -eq 0 -a "$logged" -gt 0 ]

rw_d1=$(nt_stat d1 "j['packets']['rewritten']")
rw_t1=$(nt_stat t1 "j['packets']['rewritten']")
fp_t1=$(nt_stat t1 "j['fastpath']['target_packets']")
nt_log "rewritten: d1=$rw_d1 t1=$rw_t1 (t1's fast path: $fp_t1)"
nt_check d1_rewrote "d1 packets.rewritten = $rw_d1" [ "${rw_d1:-0}" -gt 0 ] 2>/dev/null
if nt_fastpath_on; then
	nt_check t1_rewrote "t1 fastpath.target_packets = $fp_t1" [ "${fp_t1:-0}" -gt 0 ] 2>/dev/null
else
	nt_check t1_rewrote "t1 packets.rewritten = $rw_t1" [ "${rw_t1:-0}" -gt 0 ] 2>/dev/null
fi
nt_finish
