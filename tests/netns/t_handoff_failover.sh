#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_failover: a download through a handed-off connection survives the front-end's
# death.  A 20 MiB file from t1 (rule /static/), paced by the server at 2.5 MB/s (about 8 s), is
# in progress when
#   1. d1's clusterd is killed (SIGKILL): d2 takes the VIPA over and, with the replica of the
#      handoff entry (its sequence and timestamp deltas), goes on translating the client's
#      packets to t1: the download completes byte-exact (sha256);
#   2. (d1 restarted and distributing again) d1's link goes down: the same.
# d2's handoff.forwarded grows in each case: it is d2 that carried the client's ACKs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"
MB=${HOFF_FAILOVER_MB:-20}
RATE=${HOFF_FAILOVER_RATE:-2500000}

nt_need curl sha256sum
hoff_cluster_up
hoff_mkfile slow.bin "$MB"
sha=$(hoff_sha "$HOFF_WWW/slow.bin")
url="http://$NT_VIP4/static/slow.bin?rate=$RATE"

# dl_start NAME: the download in the background, to $NT_WORK/NAME.out; waits (15 s) until 2 MiB
# have arrived.
dl_start()
{
	rm -f "$NT_WORK/$1.out"
	nt_bg c "$1" curl -sS -m 90 --connect-timeout 5 -o "$NT_WORK/$1.out" \
		-w 'http %{http_code} size %{size_download} time %{time_total}\n' "$url"
	nt_wait_until 15 eval '[ "$(stat -c %s "$NT_WORK/'"$1"'.out" 2>/dev/null || echo 0)" -ge 2097152 ]'
}

# dl_finish NAME TAG T0: waits (90 s) for the download to end; checks it byte-exact.
dl_finish()
{
	local got
	nt_wait_until 90 eval '! nt_alive '"$1"
	nt_stop "$1"
	got=$([ -f "$NT_WORK/$1.out" ] && hoff_sha "$NT_WORK/$1.out")
	nt_log "$2: $(cat "$NT_WORK/$1.log"), done $(( $(nt_now_ms) - $3 )) ms after the event"
	nt_check "${2}_byte_exact" "sha256 ${got:-none} (want $sha), $(stat -c %s "$NT_WORK/$1.out" \
2>/dev/null || echo 0) of $((MB * 1048576)) bytes; curl: $(tr '\n' ' ' <"$NT_WORK/$1.log")" \
		[ "$got" = "$sha" ]
}

# in_flight TAG: the download is going and handed off (d1 lists its entry).
in_flight()
{
	nt_check "${1}_in_progress" "fewer than 2 MiB arrived within 15 s: \
$(stat -c %s "$NT_WORK/$1.out" 2>/dev/null || echo 0) bytes" \
		[ "$(stat -c %s "$NT_WORK/$1.out" 2>/dev/null || echo 0)" -ge 2097152 ]
	nt_check "${1}_d1_handoff_entry" "d1 lists no handoff entry for the client: \
$(hoff_rows d1 "${NT_IP4[c]}")" eval '[ -n "$(hoff_conns d1 "${NT_IP4[c]}")" ]'
	nt_log "$1: d2 holds $(nt_stat d2 "j['sync']['repl']['replicas']") replicas"
}

# --- 1. SIGKILL
fwd0=$(hoff_stat d2 forwarded)
dl_start dl1
in_flight dl1
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_log "d1's clusterd killed"
nt_check kill_d2_takes_over "d2: $(hoff_state d2 "$NT_VIP4") 10 s after the kill" \
	nt_wait_until 10 eval '[ "$(hoff_state d2 $NT_VIP4)" = "distributor d2" ]'
dl_finish dl1 kill "$t0"
nt_check kill_d2_forwarded "d2's handoff.forwarded $fwd0 -> $(hoff_stat d2 forwarded)" \
	hoff_delta_ge d2 forwarded "$fwd0" 10
nt_log "d2: $(hoff_stats d2)"

# --- 2. link down
nt_cd_start d1 || { nt_fail restart_d1 "d1's clusterd did not come back"; nt_finish; }
if ! nt_wait_until 30 eval '[ "$(hoff_state d1 $NT_VIP4)" = "distributor d1" ] &&
	[ "$(hoff_state d2 $NT_VIP4)" = "backup d1" ]'; then
	nt_fail restart_d1 "30 s after its restart: d1 $(hoff_state d1 "$NT_VIP4"), d2 \
$(hoff_state d2 "$NT_VIP4")"
	nt_finish
fi
# the handoff must work through d1 again before it fails
w=$(hoff_who "http://$NT_VIP4/static/again")
nt_check restarted_d1_hands_off "/static/ answered by $w after d1's restart (want t1)" [ "$w" = t1 ]
nt_sysctl d1 net.ipv6.conf.lan0.keep_addr_on_down=1
fwd0=$(hoff_stat d2 forwarded)
dl_start dl2
in_flight dl2
t0=$(nt_now_ms)
nt_x d1 ip link set lan0 down
nt_log "d1's link is down"
nt_check linkdown_d2_takes_over "d2: $(hoff_state d2 "$NT_VIP4") 10 s after the link went down" \
	nt_wait_until 10 eval '[ "$(hoff_state d2 $NT_VIP4)" = "distributor d2" ]'
dl_finish dl2 linkdown "$t0"
nt_check linkdown_d2_forwarded "d2's handoff.forwarded $fwd0 -> $(hoff_stat d2 forwarded)" \
	hoff_delta_ge d2 forwarded "$fwd0" 10
nt_log "d2: $(hoff_stats d2)"
nt_x d1 ip link set lan0 up
nt_x d1 ip route replace default via 10.2.0.1
nt_x d1 ip -6 route replace default via fd02::1
nt_finish
