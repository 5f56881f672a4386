#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_candidates: a distributor's own candidate list (distribution, doc/architecture.md).  The IPv4 VIPA's backup d2 lists
# only t3 as its targets; the service lists t1, t2 and t3.  While d1 distributes, new
# connections spread over all three; once d1 is stopped (SIGTERM: d2 takes over), every new
# connection goes to t3, and a connection established to t1 before the takeover carries on
# through d2 to t1 (its target comes from the replica, not from d2's list).
. "$(dirname "$0")/lib.sh"
nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
# the first VIPA's distributors: d2 with its own list
sed -i '0,/distributors = ( { node = "d1"; }, { node = "d2"; } );/s//distributors = ( { node = "d1"; }, { node = "d2"; targets = ( "t3" ); } );/' \
	"$NT_WORK/clusterd.conf"
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
nt_wait_listening d1 3 80 tcp 10 "$NT_VIP4" ||
	{ nt_fail setup "d1 does not see 3 listening targets"; nt_finish; }
# What each daemon took from the file: the targets its view holds for VIPA:80 (d2: its own
# list, d1: the service's), and what its status counts for the service.
cands() { nt_ctl "$1" targets --json | nt_json "' '.join(sorted(t['node'] for t in j['targets']
	if t['vipa'] == '$NT_VIP4' and t['port'] == 80 and t['protocol'] == 'tcp'))"; }
svc_targets() { nt_ctl "$1" status --json | nt_json "[s['targets'] for v in j['vipas']
	if v['address'] == '$NT_VIP4' for s in v['services'] if s['port'] == 80][0]"; }
nt_check d2_own_candidates "d2's view of $NT_VIP4:80 holds: $(cands d2)" \
	[ "$(cands d2)" = t3 ]
nt_check d2_status_counts_one "d2's status counts $(svc_targets d2) targets for $NT_VIP4:80" \
	[ "$(svc_targets d2)" = 1 ]
nt_check d1_service_candidates "d1's view of $NT_VIP4:80 holds: $(cands d1)" \
	[ "$(cands d1)" = "t1 t2 t3" ]
role() { nt_ctl "$1" status --json | nt_json "[v['role'] for v in j['vipas']
	if v['address'] == '$NT_VIP4'][0]"; }

out=$NT_WORK/before.out
nt_curl_loop 60 "http://$NT_VIP4/" >"$out"
nt_log "d1 distributing: $(nt_tally "$out" | tr '\n' ' ')"
for t in t1 t2 t3; do
	nt_check "before_$t" "$t answered $(nt_count "$out" "$t") of 60 while d1 distributes" \
		[ "$(nt_count "$out" "$t")" -ge 5 ]
done

nt_keepalive_start ka "$NT_VIP4" t1 ||
	{ nt_fail keepalive_setup "$(tail -n 3 "$NT_WORK/ka.log")"; nt_finish; }
nt_wait_until 3 eval '[ $(nt_keepalive_oks ka) -ge 3 ]'
k0=$(nt_keepalive_oks ka)

nt_cd_stop d1 TERM
NT_EXPECT=distributor nt_wait_until 5 nt_is role d2
nt_check d2_distributes "d2's role: $(role d2)" [ "$(role d2)" = distributor ]
out=$NT_WORK/after.out
nt_curl_loop 40 "http://$NT_VIP4/" >"$out"
nt_log "d2 distributing: $(nt_tally "$out" | tr '\n' ' ')"
nt_check after_all_t3 "after the takeover: $(nt_tally "$out" | tr '\n' ' ')" \
	[ "$(nt_count "$out" t3)" -eq 40 ]

k1=$(nt_keepalive_oks ka)
nt_wait_until 3 eval "[ \$(nt_keepalive_oks ka) -ge $((k1 + 5)) ]"
k2=$(nt_keepalive_oks ka)
echo "connection to t1: $k0 answers before the takeover, $k2 now"
nt_check established_to_t1_carries_on "answers: $k0 -> $k2; $(grep '^ERR' "$NT_WORK/ka.log")" \
	eval "[ $k2 -gt $((k1 + 4)) ] && ! grep -q '^ERR' '$NT_WORK/ka.log'"
nt_check keepalive_clean "$(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')" nt_keepalive_stop ka
nt_finish
