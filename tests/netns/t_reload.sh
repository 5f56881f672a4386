#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_reload: SIGHUP with a configuration that removes t3 from VIPA:80: the connection established
# to t3 before continues, new connections avoid t3.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

nt_keepalive_start ka "$NT_VIP4" t3 ||
	{ nt_fail keepalive_setup "$(tail -n 3 "$NT_WORK/ka.log")"; nt_finish; }
nt_wait_until 3 eval '[ $(nt_keepalive_oks ka) -ge 3 ]'
k0=$(nt_keepalive_oks ka)

# The new file also lists the nodes in the reverse order: every node index changes.
NT_HOSTS=$(echo $NT_HOSTS | tr ' ' '\n' | tac | tr '\n' ' ') NT_TARGETS80='"t1", "t2"' \
	nt_write_config
pid=$(cat "$NT_WORK/clusterd-d1.pid")
kill -HUP "$pid"
# the reload is visible in d1's target list: t3 is no longer a target of VIPA:80
t_t3_listed() { nt_ctl d1 targets --json | nt_json "sum(1 for t in j.get('targets', [])
	if t.get('node') == 't3' and t.get('port') == 80 and t.get('vipa') == '$NT_VIP4')"; }
NT_EXPECT=0 nt_wait_until 5 nt_is t_t3_listed
nt_check daemon_alive_after_hup "clusterd on d1 died on SIGHUP" nt_alive clusterd-d1
nt_check reloaded "t3 still listed as a target of $NT_VIP4:80 5 s after SIGHUP" \
	[ "$(t_t3_listed)" = 0 ]
# The table's entries follow their nodes to the new indexes: the long-lived connection is still
# t3's, in conns and in the per-node counts (which a reload starts from zero).
# (each worker renumbers when it next wakes: within its 100 ms queue wait)
t3_counted() { nt_ctl d1 targets --json | nt_json "max([t['conns'] for t in j['targets']
	if t['node'] == 't3'] + [0]) >= 1"; }
nt_wait_until 2 nt_is_true t3_counted
ka_target=$(nt_ctl d1 conns --json | nt_json "sorted(set(c['target'] for c in j['conns']
	if c['target_address'] == '${NT_IP4[t3]}:8080'))")
nt_check conns_names_after_reorder "connections to ${NT_IP4[t3]}:8080 named: $ka_target" \
	[ "$ka_target" = '["t3"]' ]
counts=$(nt_ctl d1 targets --json | nt_json "sorted(set((t['node'], t['conns'])
	for t in j['targets']))")
active=$(nt_ctl d1 stats --json | nt_json "j['conns']['active']")
nt_log "per-node counts after the reload: $counts; entries: $active"
nt_check counts_after_reorder "t3 counts no connection: $counts" \
	"$PY" -c 'import sys; c = dict(eval(sys.argv[1])); sys.exit(0 if c.get("t3", 0) >= 1 else 1)' \
	"$counts"
nt_check counts_sum_after_reorder "per-node counts $counts do not add up to $active entries" \
	"$PY" -c 'import sys; c = dict(eval(sys.argv[1]))
sys.exit(0 if sum(c.values()) == int(sys.argv[2]) else 1)' "$counts" "$active"
out=$NT_WORK/reloaded.out
nt_curl_loop 100 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers after the reload: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_after_reload "$ok/100 succeeded" [ "$ok" -eq 100 ]
nt_check none_to_removed "t3 answered $(nt_count "$out" t3) new connections" \
	[ "$(nt_count "$out" t3)" -eq 0 ]

k1=$(nt_keepalive_oks ka)
nt_wait_until 3 eval "[ \$(nt_keepalive_oks ka) -ge $((k1 + 5)) ]"
k2=$(nt_keepalive_oks ka)
echo "long-lived connection to t3: $k0 requests before the reload, $k2 now"
nt_check established_survives_reload \
	"requests: $k0 -> $k2; $(grep '^ERR' "$NT_WORK/ka.log")" \
	eval "[ $k2 -gt $k0 ] && ! grep -q '^ERR' '$NT_WORK/ka.log'"
nt_check keepalive_clean "$(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')" nt_keepalive_stop ka

# A file that cannot be applied: t3 with ten addresses, more than a CDAT entry holds (8).  The
# reload is refused with the reason and file:line, and the running configuration stays whole:
# same reload count and view, the cluster still synchronised, traffic still served; a good file
# after it loads.  (Before, the parser let it through and the failed rebuild made the daemon
# exit; a failure past the parser, in a subsystem's prepare, is tests/unit/test_reload.c's.)
conf=$NT_WORK/clusterd.conf
t_status() { nt_ctl d1 status --json | nt_json "(j['reloads'], j['generation'])"; }
t_alive_nodes() { nt_ctl d1 cdat --json |
	nt_json "sum(1 for n in j['nodes'] if n['status'] != 'down')"; }
before=$(t_status)
alive0=$(t_alive_nodes)
cp "$conf" "$NT_WORK/good.conf"
extra=""
for i in 1 2 3 4 5 6 7 8; do extra="$extra { ip = \"192.0.2.$i\"; },"; done
sed -i "s/{ name = \"t3\"; addresses = ( /&$extra /" "$conf"
nt_check bad_conf_written "t3 not given 10 addresses" [ "$(grep -c '192.0.2.8' "$conf")" -eq 1 ]
out=$(nt_ctl d1 reload 2>&1); rc=$?
nt_log "reload of a file that cannot be applied: rc=$rc: $out"
nt_check bad_reload_refused "clusterctl reload succeeded (rc=$rc): $out" [ "$rc" -ne 0 ]
nt_check bad_reload_says_why "no reason given: $out" \
	eval "echo \"\$out\" | grep -q 'clusterd.conf:[0-9]*:.*node .t3. has 10 addresses; at most 8'"
after=$(t_status)
nt_check bad_reload_kept_config "reloads, generation: $before before, $after after" \
	[ "$after" = "$before" ]
nt_check bad_reload_kept_peers "nodes alive: $alive0 before, $(t_alive_nodes) after" \
	[ "$(t_alive_nodes)" = "$alive0" ]
nt_curl_loop 20 "http://$NT_VIP4/" >"$NT_WORK/after_bad.out"
ok=$(grep -vc '^ERR:' "$NT_WORK/after_bad.out")
nt_check requests_after_bad_reload "$ok/20 succeeded" [ "$ok" -eq 20 ]
nt_check daemon_alive_after_bad_reload "clusterd on d1 died on a reload it could not apply" \
	nt_alive clusterd-d1
cp "$NT_WORK/good.conf" "$conf"
out=$(nt_ctl d1 reload 2>&1); rc=$?
nt_check good_reload_after_bad "reload of the good file: rc=$rc: $out" [ "$rc" -eq 0 ]
nt_finish
