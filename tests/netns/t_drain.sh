#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_drain: a drained target gets no new connection while its established ones keep working;
# undrained, it gets new connections again.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

nt_keepalive_start ka "$NT_VIP4" t1 ||
	{ nt_fail keepalive_setup "$(tail -n 3 "$NT_WORK/ka.log")"; nt_finish; }
nt_wait_until 3 eval '[ $(nt_keepalive_oks ka) -ge 3 ]'
nt_ctl d1 drain t1 >"$NT_WORK/drain.out" 2>&1
rc=$?
nt_check drain_accepted "clusterctl drain t1: exit $rc: $(cat "$NT_WORK/drain.out")" [ $rc -eq 0 ]
k0=$(nt_keepalive_oks ka)

out=$NT_WORK/drained.out
nt_curl_loop 100 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers while t1 is drained: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_while_drained "$ok/100 succeeded" [ "$ok" -eq 100 ]
nt_check none_to_drained "t1 answered $(nt_count "$out" t1) new connections" \
	[ "$(nt_count "$out" t1)" -eq 0 ]

# the established connection kept working during all this
k1=$(nt_keepalive_oks ka)
nt_wait_until 3 eval "[ \$(nt_keepalive_oks ka) -ge $((k1 + 5)) ]"
k2=$(nt_keepalive_oks ka)
echo "long-lived connection to t1: $k0 requests before the drain, $k2 now"
nt_check established_survives_drain \
	"requests on the long-lived connection: $k0 -> $k2; $(grep '^ERR' "$NT_WORK/ka.log")" \
	eval "[ $k2 -gt $k0 ] && ! grep -q '^ERR' '$NT_WORK/ka.log'"
nt_check keepalive_clean "$(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')" nt_keepalive_stop ka

nt_ctl d1 undrain t1 >"$NT_WORK/undrain.out" 2>&1
rc=$?
nt_check undrain_accepted "clusterctl undrain t1: exit $rc: $(cat "$NT_WORK/undrain.out")" \
	[ $rc -eq 0 ]
out=$NT_WORK/undrained.out
nt_curl_loop 60 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers after undrain: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_after_undrain "$ok/60 succeeded" [ "$ok" -eq 60 ]
nt_check undrained_gets_requests "t1 answered $(nt_count "$out" t1)" \
	[ "$(nt_count "$out" t1)" -gt 0 ]
nt_finish
