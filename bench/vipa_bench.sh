#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vipa_bench.sh: throughput and new-connection rate through a VIPA, clusterd's userspace rewrite
# against the same rewrite done by nftables in the kernel, on one namespace topology
# (client - router - LAN with d1 distributing to t1).  Prints a table; never fails on figures.
#
#   bench/vipa_bench.sh [-t SECONDS] [-n CONNECTIONS]      env: CLUSTERD, CLUSTERCTL
secs=10
nconn=2000
while getopts "t:n:h" o; do
	case $o in
	t) secs=$OPTARG ;;
	n) nconn=$OPTARG ;;
	*) sed -n '2,7p' "$0"; exit 2 ;;
	esac
done
. "$(dirname "$0")/../tests/netns/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "vipa_bench.sh: needs root" >&2; exit 2; }

# bench_iperf: prints the received bitrate (bit/s) of an upload client -> VIPA:5201.
bench_iperf()
{
	nt_x c timeout $((secs + 15)) iperf3 -c "$NT_VIP4" -p 5201 -t "$secs" -J \
		>"$NT_WORK/iperf-$1.json" 2>&1
	nt_json "int(j['end']['sum_received']['bits_per_second'])" <"$NT_WORK/iperf-$1.json" \
		2>/dev/null || echo 0
}

# bench_conns: "connections/s failures" for $nconn connect/send/recv/close to VIPA:80.
bench_conns()
{
	nt_x c timeout 120 "$PY" -c 'import socket, sys, time
vip, n = sys.argv[1], int(sys.argv[2])
ok = bad = 0
t0 = time.monotonic()
for i in range(n):
	try:
		s = socket.create_connection((vip, 80), timeout=2)
		s.sendall(b"x")
		if s.recv(16) == b"y":
			ok += 1
		else:
			bad += 1
		s.close()
	except OSError:
		bad += 1
dt = time.monotonic() - t0
print("%d %d" % (ok / dt, bad))' "$NT_VIP4" "$nconn" || echo "0 $nconn"
}

nt_topo_up || { echo "vipa_bench.sh: topology failed" >&2; exit 1; }
NT_TARGETS80='"t1"' nt_write_config
nt_bg t1 iperf3 iperf3 -s -p 5201
nt_bg t1 tinysrv "$PY" -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080))
s.listen(1024)
while True:
	c, _ = s.accept()
	try:
		c.recv(16)
		c.sendall(b"y")
	except OSError:
		pass
	c.close()'
nt_wait_until 5 nt_listening t1 tcp 5201 && nt_wait_until 5 nt_listening t1 tcp 8080 ||
	{ echo "vipa_bench.sh: servers did not start" >&2; exit 1; }

bps_a=- cps_a=- bad_a=-
if [ -x "$CLUSTERD" ] && [ -x "$CLUSTERCTL" ]; then
	nt_log "(a) clusterd on d1 and t1"
	if nt_cd_start d1 && nt_cd_start t1 &&
	   nt_wait_listening d1 1 80 tcp 10 "$NT_VIP4"; then
		NT_EXPECT=True nt_wait_until 5 nt_is nt_target_listening d1 t1 5201 tcp
		bps_a=$(bench_iperf a)
		read -r cps_a bad_a <<<"$(bench_conns)"
		nt_ctl d1 stats >"$NT_WORK/stats-d1.txt" 2>&1
	else
		nt_log "(a) clusterd did not come up; skipping"
	fi
	nt_cd_stop d1
	nt_cd_stop t1
	# in case the daemon left anything behind
	nt_x d1 ip addr del "$NT_VIP4/32" dev lan0 2>/dev/null
else
	nt_log "(a) no clusterd binary ($CLUSTERD): skipped"
fi

nt_log "(b) nftables in the kernel"
nt_knat_on t1 80 8080 && nt_knat_on t1 5201 5201
bps_b=$(bench_iperf b)
read -r cps_b bad_b <<<"$(bench_conns)"
nt_knat_off t1

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b;
		else printf "-" }'
}
mbit() { awk -v b="$1" 'BEGIN { if (b + 0 > 0) printf "%.0f", b / 1e6; else printf "-" }'; }

echo
echo "clusterd VIPA benchmark ($(uname -r), $(nproc) CPUs, iperf3 ${secs} s upload," \
	"$nconn sequential connections)"
printf '%-28s %14s %14s %10s\n' "" "clusterd" "nft (kernel)" "ratio"
printf '%-28s %14s %14s %10s\n' "iperf3 upload (Mbit/s)" "$(mbit "$bps_a")" "$(mbit "$bps_b")" \
	"$(ratio "$bps_a" "$bps_b")"
printf '%-28s %14s %14s %10s\n' "new connections (/s)" "$cps_a" "$cps_b" \
	"$(ratio "$cps_a" "$cps_b")"
printf '%-28s %14s %14s\n' "failed connections" "$bad_a" "$bad_b"
if [ -f "$NT_WORK/stats-d1.txt" ]; then
	echo
	echo "d1 stats after (a):"
	sed 's/^/  /' "$NT_WORK/stats-d1.txt"
fi
exit 0
