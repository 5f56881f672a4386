#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_fastpath_target: a target's replies stay in the kernel (daemon.fastpath, issue 14).
#
# With the fast path on, an iperf3 download (-R: t1 sends, VIPA:5201 -> t1:5201), HTTP over
# IPv4 and IPv6 (VIPA:80 -> :8080, the port rewritten too) and UDP (VIPA:5354 -> t3:5355)
# complete; t1's and t3's queues see none of their reply packets (the workers' packets.received
# does not move), their fastpath.target_packets / target_bytes do (bytes at least what iperf3
# received); the client's capture shows every reply from VIPA:PORT with a correct checksum
# (t1's and t3's tx checksum offload is turned off, so the checksums on the wire are the ones
# the kernel fixed after the rewrite: GSO packets are segmented and summed in software), and
# the client counts no TcpInCsumErrors/UdpInCsumErrors.  Then a reload with fastpath = false
# puts the replies back on the queue (the workers' counters move, no rewrite rule, the
# fastpath counters 0), the same download and capture checks pass, and a reload back to true
# brings the rules back.  The test sets fastpath itself: NT_FASTPATH does not change it.
. "$(dirname "$0")/lib.sh"
nt_need iperf3 tcpdump nstat
NT_FASTPATH=on
nt_cluster_up
nt_bg t1 iperf3-t1 iperf3 -s -p 5201
nt_wait_until 10 nt_listening t1 tcp 5201 || nt_fail setup "iperf3 server on t1"
nt_udp_start t3 5355 || nt_fail setup "udp echo on t3:5355"
nt_wait_listening d1 1 5201 tcp 30 "$NT_VIP4" || nt_fail setup "d1 does not see t1 on 5201"
nt_wait_listening d1 1 5354 udp 30 "$NT_VIP4" || nt_fail setup "d1 does not see t3 on 5354"

# tx_csum_off HOST: lan0's transmit checksum offload off (ETHTOOL_STXCSUM through SIOCETHTOOL;
# ethtool itself may be missing), and checked with ETHTOOL_GTXCSUM.  Prints the value read back.
tx_csum_off()
{
	nt_x "$1" "$PY" -c '
import array, fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def ethtool(cmd, data):
    buf = array.array("B", struct.pack("II", cmd, data))
    addr, _ = buf.buffer_info()
    fcntl.ioctl(s.fileno(), 0x8946, struct.pack("16sP", b"lan0", addr))  # SIOCETHTOOL
    return struct.unpack("II", buf.tobytes())[1]
ethtool(0x17, 0)            # ETHTOOL_STXCSUM off
print(ethtool(0x16, 0))     # ETHTOOL_GTXCSUM
'
}
for h in t1 t3; do
	v=$(tx_csum_off "$h" 2>&1)
	nt_check "tx_csum_off_$h" "lan0's tx checksum offload on $h: $v" [ "$v" = 0 ]
done

# the client's observer: every reply from port 5201, and those not from the VIPA
nt_x c nft -f - <<NFT || nt_fail setup "observer table on c"
table inet obs {
	counter replies { }
	counter stray { }
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		tcp sport 5201 counter name replies
		tcp sport 5201 ip saddr != $NT_VIP4 counter name stray
		tcp sport 5201 meta nfproto ipv6 counter name stray
	}
}
NFT

csum_errs() { nt_x c nstat -az TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors |
	awk '/InCsumErrors/ { n += $2 } END { print n + 0 }'; }
rx() { nt_stat "$1" "j['packets']['received']"; }
fp() { nt_stat "$1" "j['fastpath']['target_$2']"; }
# (the replies' source rewrites only: a distributor's fast-path rules set the destination)
rewrites() { nt_x "$1" nft list table inet clusterd 2>/dev/null | grep -c ' saddr set ' || true; }

# download TAG: iperf3 -R for 2 s through the VIPA, captured at the client; prints nothing,
# leaves $NT_WORK/TAG.json and TAG.pcap.
download()
{
	# whole packets (tcpdump verifies a checksum only then), the first 3000
	nt_bg c "cap-$1" tcpdump -i eth0 -nn -U -s 0 -c 3000 -w "$NT_WORK/$1.pcap" \
		'tcp src port 5201'
	nt_wait_until 10 eval "grep -q 'listening on' '$NT_WORK/cap-$1.log'" ||
		nt_log "tcpdump on c did not start: $(cat "$NT_WORK/cap-$1.log")"
	nt_x c nft reset counters table inet obs >/dev/null
	nt_x c timeout 30 iperf3 -c "$NT_VIP4" -p 5201 -R -t 2 -J >"$NT_WORK/$1.json" 2>&1
	echo $? >"$NT_WORK/$1.rc"
	nt_stop "cap-$1"
}

# obs NAME: packets the client's observer counted (replies from port 5201: all, not the VIPA's)
obs() { nt_x c nft list counter inet obs "$1" | awk '/packets/ { print $2 }'; }

# capture_check TAG: every reply of the download came from VIPA:5201 (the client's observer
# counted them all) and every captured one has a correct TCP checksum.
capture_check()
{
	local all vip bad ok inc oall ofor
	oall=$(obs replies) ofor=$(obs stray)
	echo "$1: the client received $oall replies from port 5201, $ofor not from $NT_VIP4"
	nt_check "${1}_all_replies_from_vipa" "$ofor of $oall replies not from $NT_VIP4:5201" \
		[ "${oall:-0}" -gt 1000 -a "$ofor" = 0 ]
	all=$(tcpdump -r "$NT_WORK/$1.pcap" -nn 2>/dev/null | wc -l)
	vip=$(tcpdump -r "$NT_WORK/$1.pcap" -nn "src host $NT_VIP4 and src port 5201" 2>/dev/null |
		wc -l)
	tcpdump -r "$NT_WORK/$1.pcap" -nn -vv 2>/dev/null >"$NT_WORK/$1.txt"
	ok=$(grep -c 'cksum 0x[0-9a-f]* (correct)' "$NT_WORK/$1.txt" || true)
	inc=$(grep -c 'incorrect\|bad cksum' "$NT_WORK/$1.txt" || true)
	echo "$1: captured $all replies, $vip from $NT_VIP4:5201, checksums $ok correct, $inc incorrect"
	nt_check "${1}_replies_captured" "only $all replies captured" [ "$all" -gt 1000 ]
	nt_check "${1}_replies_from_vipa" "$((all - vip)) of $all replies not from $NT_VIP4:5201" \
		[ "$vip" -eq "$all" ]
	nt_check "${1}_checksums_correct" "$inc incorrect, $ok correct of $all" \
		[ "$inc" -eq 0 -a "$ok" -eq "$all" ]
}

iperf_bytes() { nt_json "int(j['end']['sum_received']['bytes'])" <"$NT_WORK/$1.json" 2>/dev/null; }

# ---------------------------------------------------------------- fast path on
nt_check rules_on_t1 "t1 has $(rewrites t1) rewrite rules, not 4 (3 v4 services, 1 v6)" \
	[ "$(rewrites t1)" = 4 ]
nt_check no_rewrite_on_d1 "d1 (a distributor only) has rewrite rules" [ "$(rewrites d1)" = 0 ]
cs0=$(csum_errs)
rx0=$(rx t1) fpp0=$(fp t1 packets) fpb0=$(fp t1 bytes)
download on
rx1=$(rx t1) fpp1=$(fp t1 packets) fpb1=$(fp t1 bytes)
bytes=$(iperf_bytes on)
echo "on: iperf3 exit $(cat "$NT_WORK/on.rc"), $bytes bytes; t1 queue packets $rx0 -> $rx1;" \
	"t1 fastpath packets $fpp0 -> $fpp1, bytes $fpb0 -> $fpb1"
nt_check on_download_completes "iperf3 exit $(cat "$NT_WORK/on.rc"): $(tail -c 300 \
	"$NT_WORK/on.json")" [ "$(cat "$NT_WORK/on.rc")" = 0 -a "${bytes:-0}" -gt 1000000 ]
nt_check on_queue_untouched "t1's workers received $((rx1 - rx0)) packets" [ "$rx1" = "$rx0" ]
nt_check on_fastpath_counted "t1 fastpath packets $fpp0 -> $fpp1, bytes $fpb0 -> $fpb1 \
(iperf3: $bytes)" [ "$fpp1" -gt "$fpp0" -a "$((fpb1 - fpb0))" -ge "${bytes:-1}" ]
capture_check on

# HTTP over both families (80 -> 8080 on t1..t3) and UDP (5354 -> t3:5355), port rewritten
nt_curl_loop 20 "http://$NT_VIP4/" >"$NT_WORK/http4.out"
nt_curl_loop 20 "http://[$NT_VIP6]/" >"$NT_WORK/http6.out"
nt_check on_http4 "$(grep -c ERR "$NT_WORK/http4.out") of 20 failed" \
	eval '! grep -q ERR "$NT_WORK/http4.out"'
nt_check on_http6 "$(grep -c ERR "$NT_WORK/http6.out") of 20 failed" \
	eval '! grep -q ERR "$NT_WORK/http6.out"'
rx3=$(rx t3) fp3=$(fp t3 packets)
udp=$(nt_x c timeout 10 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
ok = 0
for i in range(20):
    s.sendto(b"x%d" % i, (sys.argv[1], 5354))
    try:
        d, a = s.recvfrom(200)
    except socket.timeout:
        continue
    if a == (sys.argv[1], 5354) and d.startswith(b"t3 "):
        ok += 1
print(ok)
' "$NT_VIP4")
rx3b=$(rx t3) fp3b=$(fp t3 packets)
echo "on: udp $udp of 20 answered from $NT_VIP4:5354; t3 queue $rx3 -> $rx3b, fastpath $fp3 -> $fp3b"
nt_check on_udp "$udp of 20 UDP answers from $NT_VIP4:5354" [ "${udp:-0}" = 20 ]
nt_check on_udp_fast "t3's queue took $((rx3b - rx3)), its fast path $((fp3b - fp3)) packets" \
	[ "$rx3b" = "$rx3" -a "$((fp3b - fp3))" -ge 20 ]
cs1=$(csum_errs)
nt_check on_client_csum_errors "client InCsumErrors $cs0 -> $cs1" [ "$cs1" = "$cs0" ]

# ---------------------------------------------------------------- reload: fast path off
generation() { nt_ctl "$1" status --json | nt_json "j['generation']"; }
gen_above() { [ "$(generation "$1")" -gt "$2" ]; }
# reload_all VALUE: fastpath = VALUE in the file, every node reloaded and its generation moved
reload_all()
{
	local h gen
	sed -i "s/^daemon = { \(workers = [0-9]*;\).* };$/daemon = { \1 fastpath = $1; };/" \
		"$NT_WORK/clusterd.conf"
	grep -q "fastpath = $1;" "$NT_WORK/clusterd.conf" || return 1
	for h in $NT_HOSTS; do
		gen=$(generation "$h")
		nt_ctl "$h" reload >/dev/null || return 1
		nt_wait_until 10 gen_above "$h" "$gen" || return 1
	done
}
nt_check reload_off "reload with fastpath = false" reload_all false
nt_check off_no_rules "t1 still has $(rewrites t1) rewrite rules" [ "$(rewrites t1)" = 0 ]
cs0=$(csum_errs)
rx0=$(rx t1) fpp0=$(fp t1 packets)
download off
rx1=$(rx t1) fpp1=$(fp t1 packets) rw1=$(nt_stat t1 "j['packets']['rewritten']")
bytes=$(iperf_bytes off)
echo "off: iperf3 exit $(cat "$NT_WORK/off.rc"), $bytes bytes; t1 queue packets $rx0 -> $rx1" \
	"(rewritten $rw1); t1 fastpath packets $fpp0 -> $fpp1"
nt_check off_download_completes "iperf3 exit $(cat "$NT_WORK/off.rc")" \
	[ "$(cat "$NT_WORK/off.rc")" = 0 -a "${bytes:-0}" -gt 1000000 ]
nt_check off_queue_used "t1's workers received $((rx1 - rx0)) packets, rewrote $rw1" \
	[ "$((rx1 - rx0))" -gt 100 -a "${rw1:-0}" -gt 100 ]
nt_check off_fastpath_zero "t1 fastpath packets $fpp0 -> $fpp1" [ "$fpp0" = 0 -a "$fpp1" = 0 ]
capture_check off
cs1=$(csum_errs)
nt_check off_client_csum_errors "client InCsumErrors $cs0 -> $cs1" [ "$cs1" = "$cs0" ]

# ---------------------------------------------------------------- and back on
nt_check reload_on "reload with fastpath = true" reload_all true
nt_check on_again_rules "t1 has $(rewrites t1) rewrite rules after the reload" \
	[ "$(rewrites t1)" = 4 ]
rx0=$(rx t1)
nt_curl_loop 30 "http://$NT_VIP4/" >"$NT_WORK/http4b.out"
nt_check on_again_http "$(grep -c ERR "$NT_WORK/http4b.out") of 30 failed" \
	eval '! grep -q ERR "$NT_WORK/http4b.out"'
nt_check on_again_fast "t1 fastpath packets $(fp t1 packets), queue $rx0 -> $(rx t1)" \
	[ "$(fp t1 packets)" -gt 0 -a "$(rx t1)" = "$rx0" ]
nt_finish
