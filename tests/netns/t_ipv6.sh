#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_ipv6: t_spread over the IPv6 VIPA.
. "$(dirname "$0")/lib.sh"
N=120
nt_cluster_up
nt_wait_listening d1 3 80 tcp 10 "$NT_VIP6" || nt_log "d1 sees fewer than 3 targets for $NT_VIP6"

out=$NT_WORK/v6.out
nt_curl_loop $N "http://[$NT_VIP6]/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers: $(nt_tally "$out" | tr '\n' ' ')"
errs=$(grep '^ERR:' "$out" | sort | uniq -c | tr '\n' ' ')
nt_check v6_requests_all_succeed "$ok/$N succeeded (curl errors: $errs)" \
	[ "$ok" -eq $N ]
for t in $NT_TARGETS; do
	n=$(nt_count "$out" "$t")
	nt_check "v6_spread_$t" "$t served $n of $N (want > 15 %)" [ $((n * 100)) -gt $((N * 15)) ]
done
logged=0 foreign=0
for t in $NT_TARGETS; do
	f=$NT_WORK/access-$t-8080.log
	logged=$((logged + $(wc -l <"$f")))
	foreign=$((foreign + $(awk '$1 != "fd01::2"' "$f" | wc -l)))
done
nt_check v6_servers_logged_all "servers logged $logged requests, want $N" [ "$logged" -eq $N ]
nt_check v6_servers_see_real_client "$foreign requests logged from an address other than fd01::2" \
	[ "$foreign" -eq 0 -a "$logged" -gt 0 ]
nt_finish
