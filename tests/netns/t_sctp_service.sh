#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_service: an SCTP service never takes its targets' other services down.  The IPv4 VIPA
# carries HTTP on t1..t3 and, like etc/clusterd.conf, an SCTP service (3868) on t1 and t2.  The
# listener scan answers TCP on t1 and t2 although the kernel may not answer SCTP (no SCTP here:
# CONFIG_IP_SCTP unset): d1 sees three HTTP targets, 300 requests spread over all three, and a
# kernel that cannot report SCTP listeners is said once, not at every scan.  With SCTP in the
# kernel, a listener on t1 must be seen instead.
. "$(dirname "$0")/lib.sh"
N=300
nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
# The SCTP service goes right before the IPv4 VIPA's UDP service (that line is unique).
sed -i '/{ port = 5353; protocol = "udp"; targets/i\      { port = 3868; protocol = "sctp"; targets = ( "t1", "t2" ); },' \
	"$NT_WORK/clusterd.conf"
if ! grep -q 'protocol = "sctp"' "$NT_WORK/clusterd.conf" ||
	! "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 >"$NT_WORK/check.out" 2>&1; then
	nt_fail setup "configuration with an SCTP service: $(head -c 300 "$NT_WORK/check.out")"
	nt_finish
fi
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }

# Whether this kernel has SCTP at all (an SCTP socket can be made in a namespace).
has_sctp=0
nt_x t1 "$PY" -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()' 2>/dev/null &&
	has_sctp=1
nt_log "kernel SCTP: $has_sctp"
if [ $has_sctp = 1 ]; then
	# An SCTP listener on t1 only: t1 must be seen listening, t2 not.
	nt_bg t1 sctp-t1 "$PY" -u -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.bind(("0.0.0.0", 3868))
s.listen(8)
print("listening", flush=True)
time.sleep(600)'
	nt_wait_until 5 grep -q listening "$NT_WORK/sctp-t1.log" ||
		nt_log "sctp listener on t1 did not start: $(head -c 200 "$NT_WORK/sctp-t1.log")"
fi

nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }

# listen_scan itself, in one call on t1: TCP is answered whatever the kernel says about SCTP.
# tests/netns/nl_tool (make netns-tools): NL_TOOL (tests/run), else beside $CLUSTERD.
tool=${NL_TOOL:-$(dirname "$CLUSTERD")/tests/netns/nl_tool}
if [ -x "$tool" ]; then
	scan=$(nt_x t1 "$tool" listen tcp4:8080 sctp4:3868 udp4:5353 2>&1 | tr '\n' ' ')
	nt_log "one listen_scan on t1: $scan"
	# unknown SCTP: "sctp4:3868 ? -ERRNO"
	want="^tcp4:8080 1 sctp4:3868 [?] -[0-9]+ udp4:5353 0 \$"
	[ $has_sctp = 1 ] && want="^tcp4:8080 1 sctp4:3868 1 udp4:5353 0 \$"
	nt_check scan_answers_tcp_beside_sctp "got '$scan', want /$want/" \
		grep -qE "$want" <<<"$scan"
else
	nt_log "SKIP scan_answers_tcp_beside_sctp: no nl_tool at $tool (make netns-tools, NL_TOOL=PATH)"
fi

# The defect: t1 and t2 (SCTP targets) reported no listener at all, so d1 saw only t3.
if nt_wait_listening d1 3 80 tcp 15 "$NT_VIP4"; then
	nt_pass d1_sees_three_http_targets
else
	nt_fail d1_sees_three_http_targets \
		"d1 sees $(nt_listening_count d1 80 tcp "$NT_VIP4") listening targets for $NT_VIP4:80"
	nt_ctl d1 targets
fi
for t in t1 t2 t3; do
	nt_check "d1_sees_${t}_http" "d1 does not see $t listening on 80/tcp" \
		nt_is_true nt_target_listening d1 "$t" 80 tcp
done

out=$NT_WORK/spread.out
nt_curl_loop $N "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_all_succeed "$ok/$N succeeded" [ "$ok" -eq $N ]
for t in $NT_TARGETS; do
	n=$(nt_count "$out" "$t")
	nt_check "spread_$t" "$t served $n of $N (want > 15 %)" [ $((n * 100)) -gt $((N * 15)) ]
done

# The SCTP service itself: listening targets as the kernel can tell.
if [ $has_sctp = 1 ]; then
	nt_check sctp_listener_seen "d1 does not see t1 listening on 3868/sctp" \
		nt_wait_until 10 nt_is_true nt_target_listening d1 t1 3868 sctp
	nt_check sctp_t2_not_listening "d1 sees t2 listening on 3868/sctp (nothing listens there)" \
		[ "$(nt_target_listening d1 t2 3868 sctp)" = False ]
else
	n=$(nt_listening_count d1 3868 sctp "$NT_VIP4")
	nt_check sctp_unknown_not_listening "d1 sees $n SCTP targets listening, want 0" [ "$n" = 0 ]
	# Many scans (every 250 ms) have run by now: the reason is logged once per SCTP target.
	for t in t1 t2; do
		c=$(grep -c 'SCTP listeners cannot be queried' "$NT_WORK/clusterd-$t.log")
		nt_check "sctp_said_once_$t" "$t logged the SCTP reason $c times, want 1" [ "$c" -eq 1 ]
	done
	c=$(grep -c 'listener scan:' "$NT_WORK/clusterd-t1.log")
	nt_check no_scan_failures "t1 logged $c listener scan failures" [ "$c" -eq 0 ]
fi
nt_finish
