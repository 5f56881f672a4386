#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_failover: t1's primary path is cut for cluster traffic only (UDP to and from the sync
# port of 10.3.0.21, in t1's namespace).  Within (retry + 1) x heartbeat + 500 ms d1 marks
# that address unreachable and makes the alternate current; t1 stays up on every node, no
# role moves, and the VIPA keeps serving (t1 included: data still uses the primary).  Healed,
# the primary is reachable and current again within 2 s.
. "$(dirname "$0")/lib.sh"
LIMIT_MS=$(( (NT2_RETRY + 1) * NT2_HB + 500 ))
HEAL_MS=2000
N=50
nt_cluster2_up
pri=${NT2_PRI[t1]} alt=${NT2_ALT[t1]}
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15

# the timeout per heartbeat adapts to the measured response time (rtt + 4 x rtt_var, at least
# heartbeat_ms): shown, since it stretches the detection time
nt_log "before the cut, d1 sees t1's primary: $(nt2_cdat d1 "'rtt_ms=%s rtt_var_ms=%s' % (
	addr(j, 't1', '$pri')['rtt_ms'], addr(j, 't1', '$pri')['rtt_var_ms'])")"
out=$NT_WORK/failover.out
nt_curl_loop $N "http://$NT_VIP4/" >"$out" &
curls=$!
for h in $NT_HOSTS; do wc -l <"$NT_WORK/clusterd-$h.log" >"$NT_WORK/lines0.$h"; done
t0=$(nt_now_ms)
nt2_sync_drop t1 cutpri own "$pri"
ms=$(nt2_time d1 5 "$t0" "addr(j, 't1', '$pri').get('status') == 'unreachable' and
	addr(j, 't1', '$alt').get('current') is True and
	addr(j, 't1', '$pri').get('current') is False")
echo "d1 shows t1's primary unreachable and its alternate current after $ms ms (limit $LIMIT_MS)"
nt_check primary_failed_over "took $ms ms (limit $LIMIT_MS, -1 = not within 5 s; $(nt_load))" \
	[ "$ms" -ge 0 -a "$ms" -le $LIMIT_MS ]
# hold the cut a little past detection, with the requests still going
nt_wait_until 10 nt_gone $curls
wait $curls
for h in d1 d2 t2; do
	s=$(nt2_cdat "$h" "status(j, 't1')")
	nt_check "t1_up_on_$h" "t1 is '$s' on $h" [ "$s" = up ]
	a=$(nt2_cdat "$h" "addr(j, 't1', '$alt').get('status')")
	nt_check "t1_alt_reachable_on_$h" "t1's alternate is '$a' on $h" [ "$a" = reachable ]
done
for h in $NT_HOSTS; do
	l0=$(cat "$NT_WORK/lines0.$h")
	downs=$(tail -n +$((l0 + 1)) "$NT_WORK/clusterd-$h.log" | grep 'node t1 is down')
	nt_check "t1_never_down_$h" "$h logged during the cut: $downs" [ -z "$downs" ]
done
nt_check d1_distributor "d1's role: $(nt2_vipa_role d1)" [ "$(nt2_vipa_role d1)" = distributor ]
nt_check d2_backup "d2's role: $(nt2_vipa_role d2)" [ "$(nt2_vipa_role d2)" = backup ]
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers during the cut: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_all_succeed "$ok/$N succeeded" [ "$ok" -eq $N ]
nt_check t1_served "t1 answered $(nt_count "$out" t1)" [ "$(nt_count "$out" t1)" -gt 0 ]
# messages reached t1 over the alternate meanwhile: state and answers still flow
rx0=$(nt_stat t1 "j['sync']['rx']")
t1_rx() { nt_stat t1 "j['sync']['rx']"; }
if nt_wait_until 2 eval '[ "$(t1_rx)" -gt "$rx0" ]'; then
	nt_pass t1_still_hears
else
	nt_fail t1_still_hears "t1's sync.rx stayed at $rx0 for 2 s (now $(t1_rx))"
fi

t0=$(nt_now_ms)
nt2_sync_heal t1 cutpri
ms=$(nt2_time d1 5 "$t0" "addr(j, 't1', '$pri').get('status') == 'reachable' and
	addr(j, 't1', '$pri').get('current') is True")
echo "healed: d1 shows t1's primary reachable and current after $ms ms (limit $HEAL_MS)"
nt_check primary_back "took $ms ms (limit $HEAL_MS)" [ "$ms" -ge 0 -a "$ms" -le $HEAL_MS ]
nt_finish
