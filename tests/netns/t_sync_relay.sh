#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sync_relay: a datagram counts only at the node it was sent to, and a heartbeat or answer
# only measures the path it came by (defect 2 of the security review, and the stated source).
#
# Part 1: every datagram d2 sends to t1 is relayed to d1 the moment it is seen, from d2's own
# address.  The MAC covers the recipient, so d1 refuses each one (sync.rejected.recipient
# grows by exactly the number relayed), counts nothing else, and its CDAT and view of every
# node stay as they were.  (Before, d1 accepted them: d2 numbers its datagrams to all peers
# from one counter, so they were fresh in d1's window, and an ALIVE meant for t1 made d1's
# reliable channel skip messages.)
#
# Part 2: the path between d1's and d2's alternate addresses is cut (at d1, both ways), and
# an attacker relays what d2 sends to d1's alternate to d1's primary address.  Those
# heartbeats are authentic and fresh, but come from d2's primary, not from the alternate
# they state (WIRE_TLV_SRC): d1 counts them (sync.heartbeat_source_mismatch) and answers
# none, so d2 never sees d1's cut alternate reachable while the relay runs.  (Before, d1
# answered to d2's primary, echoing the alternate's index, and d2 credited the alternate.)
# Unicast sync: the attack relays unicast datagrams between chosen addresses; a group datagram's
# binding (every recipient and its boot epoch under the MAC) is tests/unit/test_hbgroup.c's.
NT_SYNC_MODE=unicast
. "$(dirname "$0")/lib.sh"
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
# t2's alternate MTU makes the coordinator commit version 1: wait for it, so that no
# genuine change falls between the snapshots below
committed() { [ "$(nt2_cdat "$1" "j['version']")" -ge 1 ]; }
nt_check committed "no CDAT version 1 within 10 s" nt_wait_until 10 committed d1
nt_wait_until 5 nt2_converged $NT_HOSTS
d1=${NT2_PRI[d1]} d2=${NT2_PRI[d2]} t1=${NT2_PRI[t1]}
d1a=${NT2_ALT[d1]} d2a=${NT2_ALT[d2]}

st() { nt2_cdat "${2:-d1}" "$1" stats; }
rej() { st "j['sync']['rejected']['$1']"; }
rej_others() { st "sum(v for k, v in j['sync']['rejected'].items() if k != '$1')"; }
state() { nt2_cdat d1 "'%s %s %s' % (j['version'], j['digest'],
	sorted((n['name'], n['status'], [a['status'] for a in n['addresses']])
	for n in j['nodes']))"; }

# ---- part 1: relayed to another node
state0=$(state)
r0=$(rej recipient) o0=$(rej_others recipient) u0=$(st "j['sync']['unproven']")
out=$(nt_x d2 "$PY" "$NT_DIR/forge.py" relay --iface lan0 --src "$d2" --dst "$t1" --to "$d1" \
	--port $NT_SYNC_PORT --count 60 --wait 10)
n=$(echo "$out" | sed -n 's/^sent //p')
n_ctrl=$(echo "$out" | grep -c 'relayed: type 4 ')
n_hb=$(echo "$out" | grep -c 'relayed: type 1 ')
echo "relayed $n datagrams of d2 to t1 to d1 ($n_hb heartbeats, $n_ctrl channel controls)"
nt_check relayed "relayed ${n:-0}, want 60" [ "${n:-0}" -eq 60 ]
nt_check relayed_alive "no channel control (ALIVE) among the relayed" [ "$n_ctrl" -gt 0 ]
NT_EXPECT=$((r0 + n)) nt_wait_until 3 nt_is rej recipient
r1=$(rej recipient) o1=$(rej_others recipient) u1=$(st "j['sync']['unproven']")
nt_check rejected_recipient "+$((r1 - r0)), want +$n" [ $((r1 - r0)) -eq "$n" ]
nt_check no_other_rejection "other rejections +$((o1 - o0))" [ "$o1" -eq "$o0" ]
nt_check not_unproven "sync.unproven +$((u1 - u0))" [ "$u1" -eq "$u0" ]
state1=$(state)
nt_check cdat_unchanged "before: $state0; after: $state1" [ "$state0" = "$state1" ]
# d2's reliable channel to d1 still delivers: d1 and d2 agree after a CDAT round trip
nt_check still_converged "CDATs differ after the relay" nt_wait_until 5 nt2_converged $NT_HOSTS

# ---- part 2: relayed from another address
mm() { st "j['sync']['heartbeat_source_mismatch']" "$1"; }
m0=$(mm d1) m2=$(mm d2)
nt_check no_mismatch_before "d1 counted $m0, d2 $m2 source mismatches in genuine traffic" \
	[ "$m0" -eq 0 -a "$m2" -eq 0 ]
nt_x d1 nft -f - <<NFT
table ip ntcut {
	chain in {
		type filter hook input priority -10; policy accept;
		ip saddr $d2a ip daddr $d1a udp dport $NT_SYNC_PORT drop
	}
	chain out {
		type filter hook output priority -10; policy accept;
		ip saddr $d1a ip daddr $d2a udp dport $NT_SYNC_PORT drop
	}
}
NFT
alt_state() { nt2_cdat "$1" "addr(j, '$2', '$3')['status']"; }
# both_alt STATUS: d2 sees d1's alternate, and d1 sees d2's, in STATUS
both_alt() { [ "$(alt_state d2 d1 "$d1a")" = "$1" ] && [ "$(alt_state d1 d2 "$d2a")" = "$1" ]; }
alt_why() { echo "d2 sees d1's $d1a $(alt_state d2 d1 "$d1a"), d1 sees d2's $d2a $(alt_state d1 d2 "$d2a")"; }
nt_wait_until 5 both_alt unreachable
nt_check alt_cut "$(alt_why)" both_alt unreachable
m0=$(mm d1)
t0=$(nt_now_ms)
nt_bg d2 relay2 "$PY" -u "$NT_DIR/forge.py" relay --iface alt0 --src "$d2a" --dst "$d1a" \
	--to "$d1" --port $NT_SYNC_PORT --count 40 --wait 10
# while the relay runs: neither cut alternate may turn reachable
e="any(a['ip'] in ('$d1a', '$d2a') and a['status'] == 'reachable' for x in j['nodes']
	if not x['self'] for a in x['addresses'])"
times=$(nt2_time_each 4 "$t0" "$e" d1 d2)
nt_wait_until 10 grep -q '^sent' "$NT_WORK/relay2.log"
n=$(sed -n 's/^sent //p' "$NT_WORK/relay2.log")
echo "relayed $n datagrams d2 -> d1's alternate to d1's primary; reachable after (ms, -1 never):" \
	$times
nt_check relayed2 "relayed ${n:-0}, want 40" [ "${n:-0}" -eq 40 ]
nt_check alt_never_credited "a cut alternate turned reachable: $times" \
	[ "$(echo "$times" | awk '$2 >= 0' | wc -l)" -eq 0 ]
NT_EXPECT=$((m0 + n)) nt_wait_until 3 nt_is mm d1
nt_check mismatch_counted "d1: +$(($(mm d1) - m0)), want +$n" [ "$(mm d1)" -eq $((m0 + n)) ]
nt_x d1 nft delete table ip ntcut
nt_wait_until 5 both_alt reachable
nt_check alt_healed "$(alt_why)" both_alt reachable
nt_finish
