#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_fastpath_reload: the distributor's fast-path maps across reloads (issue 14).
#
# A reload installs the rules again, and with them new, empty maps.  16 long-lived connections
# (longconn.py, a request every 100 ms) run through d1's map for VIPA:80.  Then:
#   1  a reload (nothing changed): the workers put the 16 flows back into the new map
#      (fastpath.resynced grows by at least 16, the map holds 16 elements again);
#   2  a reload with `fastpath = false`: no map any more, status says "off", every entry's
#      FAST goes false (a refused re-add clears it), the requests go on through the queue;
#   3  a reload back to `fastpath = true`: the map is back, each flow's next queued packet puts
#      it in again (16 elements, every entry FAST), status "on";
# and at the end none of the 16 connections was lost, none stalled for a second.
# NT_FASTPATH=off: skipped (the test turns the fast path on and off itself, from on).
. "$(dirname "$0")/lib.sh"
nt_fastpath_on || nt_skip "NT_FASTPATH=off: this test starts with the fast path on"
N=16
MAP=fp4t_0a020064_80
nt_cluster_up || { nt_fail setup "cluster"; nt_finish; }

# elements: how many elements d1's map holds (-1: no such map).
elements()
{
	nt_x d1 nft -j list map inet clusterd "$MAP" 2>/dev/null | "$PY" -c '
import json, sys
try:
    j = json.load(sys.stdin)
except ValueError:
    print(-1); sys.exit(0)
for o in j.get("nftables", []):
    if "map" in o:
        print(len(o["map"].get("elem", []))); break
else:
    print(-1)'
}
# fast_entries: "FAST NOTFAST" counts of d1's TCP entries for VIPA:80 in clusterctl conns.
fast_entries()
{
	nt_ctl d1 conns --json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
cs = [c for c in j["conns"] if c["protocol"] == "tcp" and c["vipa"].endswith(":80")
      and c["state"] == "EST"]
print(sum(1 for c in cs if c["fast"]), sum(1 for c in cs if not c["fast"]))'
}
fp_status() { nt_ctl d1 status --json | nt_json "j['fastpath']"; }
reload() { nt_ctl d1 reload >/dev/null; }
set_fastpath()
{
	sed -i -e 's/ fastpath = \(true\|false\);//' \
		-e "s/^daemon = { \\(.*\\) };\$/daemon = { \\1 fastpath = $1; };/" "$NT_WORK/clusterd.conf"
	grep -q "fastpath = $1;" "$NT_WORK/clusterd.conf"
}

rm -f "$NT_WORK/lc.stop"
nt_bg c lc "$PY" -u "$NT_DIR/longconn.py" "$NT_VIP4" --conns "$N" --rate 0 --duration 120 \
	--stop-file "$NT_WORK/lc.stop" --out "$NT_WORK/lc.json"
nt_wait_until 20 grep -q -e '^READY' -e '^DONE' "$NT_WORK/lc.log"
grep -q "^READY [0-9]* $N\$" "$NT_WORK/lc.log" || nt_fail setup "longconn: $(cat "$NT_WORK/lc.log")"
NT_EXPECT=$N nt_wait_until 10 nt_is elements
nt_check start_elements "d1's $MAP holds $(elements) elements, want $N" [ "$(elements)" = "$N" ]
nt_check start_status "status fastpath $(fp_status), want on" [ "$(fp_status)" = on ]

# 1: a plain reload
r0=$(nt_stat d1 "j['fastpath']['resynced']")
reload || nt_fail reload1 "clusterctl reload"
# the new map exists at once; the flows come back within a few worker rounds
NT_EXPECT=$N nt_wait_until 10 nt_is elements
r1=$(nt_stat d1 "j['fastpath']['resynced']")
e=$(elements)
ok=false; [ "$e" = "$N" ] && [ $((r1 - r0)) -ge "$N" ] && ok=true
nt_check reload_refilled "after a reload: $e elements, resynced $r0 -> $r1 (want $N, +$N)" $ok
nt_check reload_all_fast "entries FAST/not: $(fast_entries), want $N 0" [ "$(fast_entries)" = "$N 0" ]

# 2: fast path off
set_fastpath false || nt_fail setup "fastpath = false not written"
reload || nt_fail reload2 "clusterctl reload (fastpath = false)"
NT_EXPECT=-1 nt_wait_until 10 nt_is elements
nt_check off_no_map "after fastpath = false: elements $(elements), want no map (-1)" \
	[ "$(elements)" = -1 ]
nt_check off_status "status fastpath $(fp_status), want off" [ "$(fp_status)" = off ]
NT_EXPECT="0 $N" nt_wait_until 10 nt_is fast_entries
nt_check off_not_fast "entries FAST/not: $(fast_entries), want 0 $N" [ "$(fast_entries)" = "0 $N" ]
q0=$(nt_stat d1 "j['packets']['received']")
sleep 1
q1=$(nt_stat d1 "j['packets']['received']")
# 16 connections, a request every 100 ms: about 160 client packets a second, all queued now
nt_check off_queued "d1's workers received $((q1 - q0)) packets in 1 s, want >= $((N * 5))" \
	[ $((q1 - q0)) -ge $((N * 5)) ]

# 3: fast path on again
set_fastpath true || nt_fail setup "fastpath = true not written"
reload || nt_fail reload3 "clusterctl reload (fastpath = true)"
NT_EXPECT=$N nt_wait_until 10 nt_is elements
nt_check on_again_elements "after fastpath = true: $(elements) elements, want $N" \
	[ "$(elements)" = "$N" ]
NT_EXPECT="$N 0" nt_wait_until 10 nt_is fast_entries
nt_check on_again_fast "entries FAST/not: $(fast_entries), want $N 0" [ "$(fast_entries)" = "$N 0" ]
nt_check on_again_status "status fastpath $(fp_status), want on" [ "$(fp_status)" = on ]
q0=$(nt_stat d1 "j['packets']['received']")
sleep 1
q1=$(nt_stat d1 "j['packets']['received']")
nt_check on_again_kernel "d1's workers received $((q1 - q0)) packets in 1 s, want < $N" \
	[ $((q1 - q0)) -lt "$N" ]

touch "$NT_WORK/lc.stop"
nt_wait_until 30 test -s "$NT_WORK/lc.json" || nt_fail lc "no summary from longconn.py"
sum=$(nt_json "'%d %d %d %d' % (j['long']['established'], j['long']['lost'], \
j['long']['stalled_over_1s'], j['long']['requests_ok'])" <"$NT_WORK/lc.json")
read -r est lost stalled oks <<<"$sum"
ok=false; [ "$est" = "$N" ] && [ "$lost" = 0 ] && [ "$stalled" = 0 ] && ok=true
nt_check none_lost "longconn: $est established, $lost lost, $stalled stalled over 1 s, $oks requests" \
	$ok
nt_finish
