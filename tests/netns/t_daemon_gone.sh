#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_daemon_gone: with clusterd on d1 killed -9 and its rules left in place, VIPA traffic is
# dropped by the kernel (curl times out) instead of reaching d1's stack (which would RST:
# curl exit 7).  Restarted, it serves again.  d2 (the backup) is stopped first so that no
# takeover hides the result.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
nt_cd_stop d2

out=$NT_WORK/pre.out
nt_curl_loop 5 "http://$NT_VIP4/" >"$out"
nt_check serves_before "$(grep -c '^ERR:' "$out") of 5 failed" [ "$(grep -c '^ERR:' "$out")" -eq 0 ]

nt_cd_stop d1 KILL
rules=$(nt_x d1 nft list ruleset 2>/dev/null | grep -c 'queue')
vip=$(nt_x d1 ip -br addr show dev lan0)
echo "after kill -9: d1 has $rules queue rules; lan0: $vip"
nt_check rules_left "no queue rule left on d1 after kill -9" [ "$rules" -gt 0 ]

t0=$(nt_now_ms)
nt_x c curl -sS -m 3 -o /dev/null "http://$NT_VIP4/" 2>"$NT_WORK/curl.err"
rc=$?
echo "curl with the daemon gone: exit $rc after $(($(nt_now_ms) - t0)) ms" \
	"($(cat "$NT_WORK/curl.err"))"
nt_check dropped_not_refused "curl exit $rc (want 28: timeout; 7 = RST from d1's stack)" \
	[ $rc -eq 28 ]

nt_cd_start d1 || nt_fail restart "clusterd on d1 did not come back"
nt_wait_listening d1 3 80 tcp 10 "$NT_VIP4" || nt_log "d1 sees fewer than 3 targets"
out=$NT_WORK/post.out
nt_curl_loop 20 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_check serves_after_restart "$ok/20 succeeded ($(grep '^ERR:' "$out" | sort | uniq -c))" \
	[ "$ok" -eq 20 ]
nt_finish
