#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_forged: d1 gets, from d2's namespace (a node's address: anything else is dropped
# before the MAC, see t_sync_foreign), random bytes, real cluster messages (captured on d2
# with tcpdump) replayed verbatim, and the same messages with one bit flipped in the body or
# in the MAC.  Each is rejected and counted where it belongs (magic, replay, mac), exactly;
# sync.rx does not count them; the CDAT and every node's status stay as they were.
. "$(dirname "$0")/lib.sh"
nt_need tcpdump
N_RANDOM=3
N_TIMES=10
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
d1=${NT2_PRI[d1]} d2=${NT2_PRI[d2]}
pcap=$NT_WORK/sync.pcap

# five real messages from d2 to d1 (or to the group, in multicast mode: most of what d2 sends d1)
nt_x d2 timeout 10 tcpdump -q -n -U -i lan0 -c 5 -w "$pcap" \
	"udp port $NT_SYNC_PORT and src host $d2 and (dst host $d1 or dst net 224.0.0.0/4)" \
	2>"$NT_WORK/tcpdump.log"
nt_x d2 "$PY" "$NT_DIR/forge.py" info "$pcap" | sed 's/^/  captured: /'
n=$(nt_x d2 "$PY" "$NT_DIR/forge.py" info "$pcap" | grep -c '^type')
nt_check captured "captured $n messages, want 5" [ "$n" -eq 5 ]

# every datagram reaching d1's sync port, counted by the kernel (d1's accounting must add up)
nt_x d1 nft -f - <<NFT
table ip ntcount {
	chain in {
		type filter hook input priority -20; policy accept;
		udp dport $NT_SYNC_PORT counter
	}
}
NFT
arrived() { nt_x d1 nft list chain ip ntcount in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
REJ="short long magic version length mac replay stale_epoch tlv recipient stale_recipient_epoch"
NREJ=$(echo $REJ | wc -w)
snap()
{
	nt2_cdat d1 "' '.join(str(j['sync']['rejected'][k]) for k in '$REJ'.split())
		+ ' %d %d %d' % (j['sync']['rx'], j['sync']['unknown_sender'],
		j['sync']['foreign_source'])" stats
}
rx_of() { nt2_cdat d1 "j['sync']['rx']" stats; }
state() { nt2_cdat d1 "'%s %s %s %s' % (j['version'], j['digest'], j['counters'],
	sorted((n['name'], n['status'], [a['status'] for a in n['addresses']])
	for n in j['nodes']))"; }

state0=$(state)
# kernel counter outside the daemon's (a0 before s0, s1 before a1): whatever the daemon counts
# between s0 and s1 arrived between a0 and a1
a0=$(arrived)
s0=$(snap)
forge() { nt_x d2 "$PY" "$NT_DIR/forge.py" "$@" --to "$d1" --port $NT_SYNC_PORT; }
forge random --count $N_RANDOM --len 200
forge replay "$pcap" --times $N_TIMES
forge flip "$pcap" --where body
forge flip "$pcap" --where mac
F=$((N_RANDOM + 5 * N_TIMES + 5 + 5))
want_mac=10 want_replay=$((5 * N_TIMES)) want_magic=$N_RANDOM

# read s1 once the counters have reached the expected totals (or 3 s), and again after d1 has
# accepted 20 more genuine datagrams (every forged one was read before them, so a rejection
# counted twice or late would show by then)
rej_total() { snap | awk -v n=$NREJ '{ s = 0; for (i = 1; i <= n; i++) s += $i; print s }'; }
base=$(echo "$s0" | awk -v n=$NREJ '{ s = 0; for (i = 1; i <= n; i++) s += $i; print s }')
NT_EXPECT=$((base + F)) nt_wait_until 3 nt_is rej_total
rx_mark=$(rx_of)
rx_past() { [ "$(rx_of)" -ge $((rx_mark + 20)) ]; }
nt_wait_until 5 rx_past
s1=$(snap)
a1=$(arrived)
read -r -a v0 <<<"$s0"
read -r -a v1 <<<"$s1"
i=0
for k in $REJ; do
	d=$((v1[i] - v0[i]))
	w=0
	case $k in mac) w=$want_mac ;; replay) w=$want_replay ;; magic) w=$want_magic ;; esac
	echo "rejected.$k: +$d (want +$w)"
	nt_check "rejected_$k" "+$d, want +$w" [ "$d" -eq "$w" ]
	i=$((i + 1))
done
rx=$((v1[NREJ] - v0[NREJ])) unk=$((v1[NREJ + 1] - v0[NREJ + 1]))
foreign=$((v1[NREJ + 2] - v0[NREJ + 2])) in=$((a1 - a0))
legit=$((in - F))
echo "d1: $in datagrams arrived ($F forged, $legit genuine); sync.rx +$rx, unknown_sender +$unk"
nt_check unknown_sender_same "+$unk" [ "$unk" -eq 0 ]
nt_check foreign_source_same "+$foreign (d2's address is a node's)" [ "$foreign" -eq 0 ]
# upper bound: the genuine datagrams (+2 for one in flight at each end); had the forged ones
# been counted, rx would exceed it by up to F.  Lower bound: what arrived in the few ms
# between the reads of the two counters, at each end (~150 ms each), is missing from rx: only
# shows genuine traffic is still accepted.
nt_check rx_counts_only_genuine "sync.rx +$rx, genuine datagrams $legit" \
	[ "$rx" -le $((legit + 2)) -a "$rx" -ge $((legit / 2)) ]

state1=$(state)
nt_check cdat_unchanged "before: $state0; after: $state1" [ "$state0" = "$state1" ]
nt_check all_up_reachable "d1 sees: $state1" \
	bash -c "! echo '$state1' | grep -q -e down -e unreachable"
nt_finish
