#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_mtu: cluster datagrams fit the path's adapter MTUs.  d2's lan0 has MTU 1280 (set
# before the daemons start), every other adapter 1500; d2 reports its MTU into the CDAT, and
# d1 (the coordinator) commits it.  Under the load of the takeover tests (d1 distributes and
# replicates its connection table to d2), d1 says its datagrams to d2 are limited, not one
# datagram d1 sends to d2 on the sync port is larger than 1280 bytes (counted by an nft rule in
# d1's output: d2's link would drop it, and the reliable channel would resend it forever), d2
# receives the records d1 sent, and after d1 is SIGKILLed d2 carries every connection on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
MTU=1280
# v4: 1280 - 20 - 8, v6: 1280 - 40 - 8; d2 has both: the smaller bounds its datagrams
LIMIT=$(( MTU - 48 ))

# before any daemon reads its interfaces
NTO_CONF_EDIT="nt_x d2 ip link set lan0 mtu $MTU"
d2_mtu_committed() { [ "$(nt2_cdat d1 "sorted(set(a['mtu'] for a in node(j, 'd2')['addresses']))
	")" = "[$MTU]" ]; }
# the load starts once d1's table has d2's MTU (before, d1 knows only the file's 1500)
NTO_PRELOAD='nt_wait_until 10 d2_mtu_committed'
nto_begin
nt_check d2_mtu_in_cdat "d2's MTUs in d1's CDAT: $(nt2_cdat d1 \
	"[a['mtu'] for a in node(j, 'd2')['addresses']]")" d2_mtu_committed
nt_x d1 nft -f - <<NFT
table inet mtucheck {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr ${NT_IP4[d2]} udp dport $NTO_SYNC_PORT meta length > $MTU counter
		ip6 daddr ${NT_IP6[d2]} udp dport $NTO_SYNC_PORT meta length > $MTU counter
		ip daddr ${NT_IP4[d2]} udp dport $NTO_SYNC_PORT meta length > 1100 counter
		ip6 daddr ${NT_IP6[d2]} udp dport $NTO_SYNC_PORT meta length > 1100 counter
	}
}
NFT
nt_check d1_logs_limit "d1's log has no line on d2's limit" grep -q \
	"node d2: cluster datagrams of at most $LIMIT bytes" "$NT_WORK/clusterd-d1.log"

# a second load burst: 48 more connections opened at once make full batches of records
t_burst=$(nt_now_ms)
NTO_CONNS=48 nto_lc_start lc2 || nt_fail load2 "$(tail -n 3 "$NT_WORK/lc2.log" | tr '\n' ' ')"
counts() { nt_x d1 nft list table inet mtucheck | grep -o 'packets [0-9]*' | awk '{print $2}' |
	tr '\n' ' '; }
# until the burst's records made full batches (bounded: the check below says if none came)
full_batches() { local a b c d; read -r a b c d < <(counts); [ "$((c + d))" -gt 0 ]; }
nt_wait_until 10 full_batches
read -r over4 over6 big4 big6 < <(counts)
echo "d1 -> d2 sync datagrams over $MTU bytes: IPv4 $over4, IPv6 $over6; over 1100 bytes:" \
	"IPv4 $big4, IPv6 $big6 (full batches, which fit)"
nt_check none_over_mtu "datagrams over $MTU bytes: $over4 + $over6" \
	[ "$((over4 + over6))" -eq 0 ]
nt_check batches_were_full "no datagram over 1100 bytes: the load made no full batch, the check \
above proves nothing" [ "$((big4 + big6))" -gt 0 ]
sent=$(nt_stat d1 "j['sync']['repl']['records_sent']")
recv() { nt_stat d2 "j['sync']['repl']['records_received']"; }
nt_wait_until 5 eval '[ "$(recv)" -ge "$sent" ]'
r=$(recv)
echo "replication: d1 sent $sent records, d2 received $r"
nt_check d2_received_records "d1 sent $sent records, d2 received $r" [ "$r" -ge "$sent" ]
nt_check no_over_path "d1's sync.datagrams_over_path_mtu: \
$(nt_stat d1 "j['sync']['datagrams_over_path_mtu']")" \
	[ "$(nt_stat d1 "j['sync']['datagrams_over_path_mtu']")" = 0 ]

t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nto_check_takeover "$t0"
touch "$NT_WORK/lc2.stop"
nto_end "$t0"
nt_wait_until 60 test -s "$NT_WORK/lc2.json"
nto_lc_report lc2 "$t0"
nt_finish
