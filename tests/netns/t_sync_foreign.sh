#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sync_foreign: the sync port takes datagrams only from the nodes' addresses (defect 9 of the
# security review).  From t3 (10.3.0.23: built, but no node of the configuration) d1 gets
# random bytes and authentic cluster messages (captured from d2 to d1, replayed).
#   1. With clusterd's nftables table in place, its input chain drops every one of them
#      before the socket: a counter before that chain sees them all, one after it none, and
#      the daemon counts nothing.
#   2. With that chain flushed (as when the table is not installed), they reach the socket
#      and the daemon drops each before any MAC: sync.foreign_source grows by exactly their
#      number and no rejected.* counter moves (no MAC was computed, no replay window
#      consulted).  (Before, each cost a MAC, or two during a key rotation, and the replays
#      were counted as such.)
# d1's CDAT and view of every node stay as they were.
# Unicast sync: the attack captures and replays unicast datagrams; a group datagram's
# binding (every recipient and its boot epoch under the MAC) is tests/unit/test_hbgroup.c's.
NT_SYNC_MODE=unicast
. "$(dirname "$0")/lib.sh"
N_RANDOM=5
N_TIMES=4
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
committed() { [ "$(nt2_cdat "$1" "j['version']")" -ge 1 ]; }
nt_wait_until 10 committed d1
nt_wait_until 5 nt2_converged $NT_HOSTS
d1=${NT2_PRI[d1]} d2=${NT2_PRI[d2]} t3=${NT2_PRI[t3]}
pcap=$NT_WORK/sync.pcap

nt_x d2 timeout 10 tcpdump -q -n -U -i lan0 -c 5 -w "$pcap" \
	"udp port $NT_SYNC_PORT and src host $d2 and dst host $d1" 2>"$NT_WORK/tcpdump.log"
n=$(nt_x t3 "$PY" "$NT_DIR/forge.py" info "$pcap" | grep -c '^type')
nt_check captured "captured $n messages, want 5" [ "$n" -eq 5 ]
F=$((N_RANDOM + 5 * N_TIMES))

# t3's datagrams to d1's sync port, counted before clusterd's input chain (priority raw, -300)
# and after it
nt_x d1 nft -f - <<NFT
table ip ntcount {
	chain before {
		type filter hook input priority -400; policy accept;
		ip saddr $t3 udp dport $NT_SYNC_PORT counter
	}
	chain after {
		type filter hook input priority -20; policy accept;
		ip saddr $t3 udp dport $NT_SYNC_PORT counter
	}
}
NFT
seen() { nt_x d1 nft list chain ip ntcount "$1" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
snap()
{
	nt2_cdat d1 "'%d %d %d' % (j['sync']['foreign_source'], sum(j['sync']['rejected'].values()),
		j['sync']['unknown_sender'])" stats
}
state() { nt2_cdat d1 "'%s %s %s' % (j['version'], j['digest'],
	sorted((n['name'], n['status'], [a['status'] for a in n['addresses']])
	for n in j['nodes']))"; }
send_all()
{
	nt_x t3 "$PY" "$NT_DIR/forge.py" random --count $N_RANDOM --len 200 --to "$d1" \
		--port $NT_SYNC_PORT >/dev/null
	nt_x t3 "$PY" "$NT_DIR/forge.py" replay "$pcap" --times $N_TIMES --to "$d1" \
		--port $NT_SYNC_PORT >/dev/null
}

state0=$(state)
# 1: dropped by the table
read -r f0 r0 k0 <<<"$(snap)"
send_all
NT_EXPECT=$F nt_wait_until 3 nt_is seen before
nt_check table_saw "before clusterd's chain: $(seen before), want $F" [ "$(seen before)" -eq $F ]
nt_check table_dropped "after clusterd's chain: $(seen after), want 0" [ "$(seen after)" -eq 0 ]
read -r f1 r1 k1 <<<"$(snap)"
nt_check daemon_saw_none "foreign_source +$((f1 - f0)), rejected +$((r1 - r0))" \
	[ "$f1" -eq "$f0" -a "$r1" -eq "$r0" -a "$k1" -eq "$k0" ]

# 2: the chain flushed: dropped by the daemon, before the MAC
nt_x d1 nft flush chain inet clusterd input
send_all
NT_EXPECT=$((f1 + F)) nt_wait_until 3 nt_is eval 'snap | cut -d" " -f1'
read -r f2 r2 k2 <<<"$(snap)"
echo "d1: foreign_source +$((f2 - f1)) (sent $F), rejected +$((r2 - r1)), unknown_sender +$((k2 - k1))"
nt_check reached_socket "after clusterd's chain: $(seen after), want $F" [ "$(seen after)" -eq $F ]
nt_check foreign_counted "foreign_source +$((f2 - f1)), want +$F" [ $((f2 - f1)) -eq $F ]
nt_check no_mac_tried "rejected.* +$((r2 - r1)), unknown_sender +$((k2 - k1)), want +0" \
	[ "$r2" -eq "$r1" -a "$k2" -eq "$k1" ]
state1=$(state)
nt_check cdat_unchanged "before: $state0; after: $state1" [ "$state0" = "$state1" ]
nt_finish
