#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_restart_adopt: a distributor that is restarted with no backup to take over keeps the
# established connections.  clusterd runs on d1, t1, t2 and t3 only (d2, the VIPA's second
# distributor in the file, never starts: nobody takes over).  48 long-lived HTTP connections
# (longconn.py) go through d1 to t1..t3 (maglev, the default scheduler); at t0 clusterd on d1 is
# SIGKILLed (its rules stay: what reaches d1 meanwhile is dropped, and TCP retransmits it) and
# started again at once.  The restarted d1 has no entry for any of them, and learns none from the
# targets: their reports of the connections they hold (sync message REPORT, type 33, the byte at
# offset 5 of the datagram, in clear) are dropped on their way to d1 from before the kill to the
# end, so maglev alone must keep them: every packet of a flow without an entry is re-hashed to the
# same target and forwarded (conns.adopted).  Every connection goes on to its first target: none
# lost, none answered by another target (longconn.py counts a change as a loss), answers flow again
# within the stall limit (TCP's retransmission backoff makes it seconds).
#
# TA_SCHED=round-robin runs the same with a scheduler that cannot re-hash, the check of the test
# itself: its connections are lost.  TA_REPORTS=1 lets the reports through (then they rebuild d1's
# table, whatever the scheduler).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
TA_SCHED=${TA_SCHED:-maglev}
TA_HOSTS="d1 t1 t2 t3"
TA_STALL_MS=${TA_STALL_MS:-8000}	# kill + restart + TCP's backoff (0.2, 0.4, 0.8, 1.6, 3.2 s)
NTO_DURATION=${NTO_DURATION:-14}
TA_REPORTS=${TA_REPORTS:-0}

# ta_block_reports: on every target, drops (and counts) the REPORT messages sent to d1.
ta_block_reports()
{
	local h
	for h in $NT_TARGETS; do
		nt_x "$h" nft -f - <<NFT || return 1
table inet tablock {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr ${NT_IP4[d1]} udp dport $NTO_SYNC_PORT @th,104,8 33 counter drop
		ip6 daddr ${NT_IP6[d1]} udp dport $NTO_SYNC_PORT @th,104,8 33 counter drop
	}
}
NFT
	done
}

# ta_blocked: REPORT datagrams dropped so far, all targets together.
ta_blocked()
{
	local h n=0 c
	for h in $NT_TARGETS; do
		c=$(nt_x "$h" nft list table inet tablock 2>/dev/null | awk '/counter/ {
			for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')
		n=$((n + c))
	done
	echo "$n"
}

nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
sed -i -e "s/scheduler = \"maglev\"/scheduler = \"$TA_SCHED\"/" "$NT_WORK/clusterd.conf"
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
for h in $TA_HOSTS; do nt_cd_launch "$h"; done
for h in $TA_HOSTS; do nt_cd_ready "$h" || { nt_fail setup "clusterd on $h"; nt_finish; }; done
if nt_wait_until 15 eval 'nto_owns d1 && [ "$(nt_listening_count d1 80 tcp "$NT_VIP4")" = 3 ]'
then
	nt_pass d1_distributes
else
	nt_fail d1_distributes "d1: $(nto_state d1), listening targets $(nt_listening_count d1 80 \
tcp "$NT_VIP4")"
	nt_finish
fi
sched=$(nt_ctl d1 status --json | nt_json "[s['scheduler'] for v in j['vipas']
	if v['address'] == '$NT_VIP4' for s in v['services'] if s['port'] == 80][0]")
echo "d1's scheduler for $NT_VIP4:80: $sched"

# the load: long-lived connections, a slow stream of new ones; a request may wait out TCP's
# backoff while d1 is away (--req-timeout), the stall limit below judges it
if nto_lc_start lc --rate 2 --req-timeout 12; then
	nt_pass load_established
else
	nt_fail load_established "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
	nt_finish
fi
ready=$(nto_lc_ready_ms lc)
nto_sleep_until $((ready + 2000))
# every long-lived connection has its entry on d1 (created there, not adopted)
active() { nt_stat d1 "j['conns']['active']"; }
nt_wait_until 5 eval '[ "$(active)" -ge "$NTO_CONNS" ]'
before=$(nt_stat d1 "'created=%d adopted=%d active=%d' % (j['conns']['created'],
	j['conns']['adopted'], j['conns']['active'])")
echo "d1 before the restart: $before"

if [ "$TA_REPORTS" != 1 ]; then
	ta_block_reports || { nt_fail setup "nft refused the REPORT filter"; nt_finish; }
fi
d1pid=$(cat "$NT_WORK/clusterd-d1.pid")
disown "$d1pid" 2>/dev/null	# no job notice for the kill
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_check kill_leaves_rules "no clusterd table left on d1 after SIGKILL: the VIPA's packets \
would reach d1's own stack" nto_has_rules d1
nt_cd_launch d1
if nt_cd_ready d1; then nt_pass d1_restarts; else nt_fail d1_restarts "no answer"; nt_finish; fi
t1=$(nt_now_ms)
nt_check d1_owns_again "d1 after its restart: $(nto_state d1)" nt_wait_until 5 nto_owns d1
echo "clusterd on d1 killed at t0, answering again at t0+$((t1 - t0)) ms"
n=$(nt_x d1 nft list tables 2>/dev/null | grep -c clusterd)
nt_check restart_one_ruleset "d1 holds $n clusterd tables after the restart" [ "$n" -eq 1 ]

# the restarted d1 forwards the flows it has no entry for (a packet of each flow at least)
adopted() { nt_stat d1 "j['conns']['adopted']"; }
nt_wait_until 10 eval '[ "$(adopted)" -ge "$NTO_CONNS" ]'
after=$(nt_stat d1 "'created=%d adopted=%d report_conns_added=%d active=%d drops.no_conn=%d' % (
	j['conns']['created'], j['conns']['adopted'], j['sync']['repl']['report_conns_added'],
	j['conns']['active'], j['drops']['no_conn'])")
echo "d1 after the restart: $after"
nt_check adopted_midflow "d1 forwarded $(adopted) packets by re-hashing (want >= $NTO_CONNS, one \
per connection at least): $after" [ "$(adopted)" -ge "$NTO_CONNS" ]

nto_lc_wait lc || nt_fail load_summary "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
if [ "$TA_REPORTS" != 1 ]; then
	# the reports were held back all along: what kept the connections is the re-hash
	blocked=$(ta_blocked)
	added=$(nt_stat d1 "j['sync']['repl']['report_conns_added']")
	echo "REPORT datagrams to d1 dropped: $blocked; d1's report_conns_added: $added"
	nt_check reports_held_back "the targets' reports reached d1 ($added connections added from \
them; $blocked REPORT datagrams dropped): the test would not show adoption" \
		[ "${added:-1}" -eq 0 -a "$blocked" -gt 0 ]
fi
lost=$(nto_lc lc "j['long']['lost']")
stall=$(nto_lc lc "j['long']['max_stall_ms']")
"$PY" - "$NT_WORK/lc.json" "$t0" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t0 = int(sys.argv[2])
lo = j["long"]
print("load: %d/%d established, %d lost, %d requests, max stall %d ms (ending t0%+d ms), "
      "targets %s" % (lo["established"], lo["connections"], lo["lost"], lo["requests_ok"],
                      lo["max_stall_ms"], (lo["max_stall_end_ms"] or t0) - t0, lo["targets"]))
for c in [c for c in j["connections"] if c["lost"]][:6]:
    print("load: connection %d (port %s, %s) lost at t0%+d ms: %s"
          % (c["index"], c["local_port"], c["target"], c["lost_at_ms"] - t0, c["why"]))
PY
nt_check none_lost "$lost of $NTO_CONNS long-lived connections lost (or moved to another target)" \
	[ "${lost:-1}" -eq 0 ]
nt_check stall_bounded "a connection waited $stall ms for an answer (limit $TA_STALL_MS)" \
	[ "${stall:-99999}" -le "$TA_STALL_MS" ]
# the answers went on after the restart on every connection: the tail of a connection that
# never answered again counts in its stall, so the limit covers that; and each kept its target
nt_check answers_resumed "fewer answers than before the event" \
	[ "$(nto_lc lc "min(c['ok'] for c in j['connections'])")" -gt 40 ]
nt_finish
