#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_failover: `clusterctl failover VIPA` moves a VIPA to its backup on purpose
# (maintenance) without losing an established connection; only the node that
# distributes the VIPA accepts it.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
nt_keepalive_start ka "$NT_VIP4" t1

out=$(nt_ctl d2 failover "$NT_VIP4" 2>&1)
rc=$?
nt_check refused_on_backup "rc $rc: $out" [ "$rc" -eq 1 ]
nt_check refusal_names_owner "$out" grep -q "d1 does" <<<"$out"
nt_check bad_vipa_refused "accepted" eval "! nt_ctl d1 failover 10.9.9.9"

vip() { nt_ctl "$1" status --json | nt_json "[v['$2'] for v in j['vipas'] if v['address'] == '$NT_VIP4'][0]"; }
owner() { vip "$1" owner; }
# d2 must hold the table first (it says so by becoming the backup).
nt_check d2_is_backup "backup on d1: $(vip d1 backup)" nt_wait_until 5 eval '[ "$(vip d1 backup)" = d2 ]'
out=$(nt_ctl d1 failover "$NT_VIP4" 2>&1)
nt_check failover_accepted "$out" [ $? -eq 0 ]
nt_check d2_takes_it "owner on d2: $(owner d2)" nt_wait_until 3 eval '[ "$(owner d2)" = d2 ]'
nt_check d1_agrees "owner on d1: $(owner d1)" nt_wait_until 3 eval '[ "$(owner d1)" = d2 ]'
nt_check router_follows "neighbour entry" nt_wait_until 3 eval \
	'[ "$(nt_x r ip neigh show '"$NT_VIP4"' | awk "{print \$5}")" = "$(nt_x d2 cat /sys/class/net/lan0/address)" ]'
n=$(nt_curl_loop 20 "http://$NT_VIP4/" | grep -vc '^ERR')
nt_check new_requests_served "$n of 20" [ "$n" -eq 20 ]
nt_check keepalive_survives "see $NT_WORK/ka.log" nt_keepalive_stop ka
nt_finish
