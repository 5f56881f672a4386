#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sync_replay: recordings replayed into a restart count for nothing (defect 3 of the security
# review).  d1 restarts while d2's own traffic cannot reach it (cut at d1), so d1's replay
# window for d2 is empty, as after any restart.  Then d1 gets, from t1's address (a node's,
# so nothing drops it early), heartbeats of d2's current boot flagged LEAVING, with sequence
# numbers d1 has never seen, as a recording holds them:
#   - one addressed to d1's previous boot: refused (sync.rejected.stale_recipient_epoch);
#   - one from before d2 had heard from d1 (recipient_epoch 0): authentic and fresh, but
#     unproven (sync.unproven): it may teach d2's epoch, nothing else.
# d1 must not take the flag ("node d2 is leaving the cluster": d2 counted down at once), and
# once the cut heals the two
# complete the handshake within a few heartbeats and d1 sees d2 alive.  Then d2 itself
# restarts, and d1 hears its new boot within a few heartbeats too.  (Before, an empty window
# accepted any epoch and sequence: d1 took the LEAVING flag and counted d2 down.)
# 50 misses (5 s) before a silent node counts down: the recordings arrive while d1 still
# counts d2 alive, as they would in the moments after a restart without the cut
NT2_RETRY=50
. "$(dirname "$0")/lib.sh"
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
d1=${NT2_PRI[d1]}
epoch_of() { cat "$NT_WORK/state-$1/epoch"; }
st() { nt2_cdat d1 "j['sync']$1" stats; }
# d2_heard: d1 has processed a (proven) heartbeat of d2 since its start
d2_heard() { nt2_cdat d1 "'last_heard_ms' in [n for n in j['nodes'] if n['name'] == 'd2'][0]" \
	status; }
d2_alive() { nt2_cdat d1 "[n['alive'] for n in j['nodes'] if n['name'] == 'd2'][0]" status; }

e1_old=$(epoch_of d1) e2=$(epoch_of d2)
nt2_sync_drop d1 ntcut peer "${NT2_PRI[d2]}" "${NT2_ALT[d2]}"
nt_cd_stop d1 KILL
nt_cd_launch d1
nt_check d1_restarted "d1 does not answer" nt_wait_until 30 nt_ctl d1 status
e1=$(epoch_of d1)
nt_check new_epoch "epoch $e1_old -> $e1" [ "$e1" -gt "$e1_old" ]

s0=$(st "['rejected']['stale_recipient_epoch']") u0=$(st "['unproven']")
forge() { nt_x t1 "$PY" "$NT_DIR/forge.py" build --key "$NT_WORK/cluster.key" --sender d2 \
	--recipient d1 --epoch "$e2" --flags leaving --to "$d1" --port $NT_SYNC_PORT "$@"; }
forge --seq 1 --recipient-epoch "$e1_old"
forge --seq 2 --recipient-epoch 0
NT_EXPECT=$((s0 + 1)) nt_wait_until 3 nt_is st "['rejected']['stale_recipient_epoch']"
NT_EXPECT=$((u0 + 1)) nt_wait_until 3 nt_is st "['unproven']"
s1=$(st "['rejected']['stale_recipient_epoch']") u1=$(st "['unproven']")
nt_check old_boot_refused "stale_recipient_epoch +$((s1 - s0)), want +1" [ $((s1 - s0)) -eq 1 ]
nt_check unproven_counted "unproven +$((u1 - u0)), want +1" [ $((u1 - u0)) -eq 1 ]
nt_check not_leaving "d1 took d2's recorded LEAVING flag" \
	bash -c "! grep -q 'node d2 is leaving' '$NT_WORK/clusterd-d1.log'"
nt_check not_heard "d1 processed a heartbeat of d2 through the cut" [ "$(d2_heard)" = False ]
nt_check still_alive "d1 counts d2 down already: the replay came too late to tell" \
	nt_is_true d2_alive

# heal: the handshake (an unproven heartbeat each way teaches the epoch, the answer to it is
# proven) completes within a few heartbeats
t0=$(nt_now_ms)
nt2_sync_heal d1 ntcut
nt_wait_until 5 nt_is_true d2_heard
ms=$(( $(nt_now_ms) - t0 ))
echo "d1 heard d2 ${ms} ms after the cut healed (heartbeat ${NT2_HB} ms)"
nt_check heard_after_heal "d1 has not heard d2 ($ms ms)" nt_is_true d2_heard
nt_check handshake_fast "${ms} ms > 10 heartbeats" [ "$ms" -le $((10 * NT2_HB)) ]
nt_check alive_after_heal "d1 sees d2 alive: $(d2_alive)" nt_is_true d2_alive
nt_check still_not_leaving "d1 logged d2 leaving" \
	bash -c "! grep -q 'node d2 is leaving' '$NT_WORK/clusterd-d1.log'"

# d2 restarts (SIGKILL: no LEAVING): d1 refuses what d2 sends before it hears d1 as unproven
# and hears its new boot within a few heartbeats
u0=$(st "['unproven']")
nt_cd_stop d2 KILL
t0=$(nt_now_ms)
nt_cd_launch d2
d2_restart_seen() { grep -q 'node d2 restarted' "$NT_WORK/clusterd-d1.log"; }
nt_wait_until 30 d2_restart_seen
ms=$(( $(nt_now_ms) - t0 ))
echo "d1 saw d2's new boot ${ms} ms after it was launched; unproven +$(($(st "['unproven']") - u0))"
nt_check d2_restart_seen "d1 did not log d2's restart" d2_restart_seen
nt_check d2_alive_again "d1 sees d2 alive: $(d2_alive)" nt_wait_until 5 nt_is_true d2_alive
nt_check converged_again "CDATs differ after d2's restart" nt_wait_until 10 nt2_converged $NT_HOSTS
nt_finish
