# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh: the network-namespace test cluster of clusterd (sourced by t_*.sh, demo.sh, the bench).
#
# Topology (every name carries a per-run id, so parallel or leftover runs never collide):
#
#   C (10.1.0.2, fd01::2) -- R (10.1.0.1 | 10.2.0.1, fd01::1 | fd02::1) -- LAN bridge
#   LAN bridge: R, d1 (.11/::11), d2 (.12/::12), t1 (.21/::21), t2 (.22/::22), t3 (.23/::23)
#
# Every LAN host has one interface, lan0.  VIPAs 10.2.0.100 and fd02::100 (see nt_write_config).
# nt_cleanup runs on EXIT: it kills every process started here and deletes every namespace.
#
# Environment: CLUSTERD, CLUSTERCTL (binaries), NT_KEEP=1 (leave everything on exit),
# NT_ID (force the run id), NT_VERBOSE=1 (trace helper commands), NT_SAVE_LOGS=DIR (copy the
# logs and sanitizer reports there on exit), NT_WORKERS (worker threads per daemon, default 2),
# NT_STOP_S (how long nt_stop waits after its signal before SIGKILL, default 20),
# NT_SYNC_MODE (multicast, the default: the configurations set cluster.sync.group, heartbeats go
# to the group; unicast: no group, every message unicast), NT_FASTPATH (on, the default: the
# daemon's default daemon.fastpath = true; off: every configuration written here, and by the
# tests that write their own, says `fastpath = false;`, so every target's replies are queued).
#
# Exit status of a test: 0 passed, 1 failed, 77 skipped (a tool it needs is missing: nt_need).

NT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NT_TOP=$(cd "$NT_DIR/../.." && pwd)
CLUSTERD=${CLUSTERD:-$NT_TOP/clusterd}
# the Makefile builds the CLI as clusterctl/clusterctl (clusterctl/ is its source folder)
if [ -z "${CLUSTERCTL:-}" ]; then
	CLUSTERCTL=$NT_TOP/clusterctl/clusterctl
	[ -f "$NT_TOP/clusterctl" ] && CLUSTERCTL=$NT_TOP/clusterctl
fi
# the SCTP test peer (tests/netns/sctp_peer.c, built only with libusrsctp-dev): SCTP_PEER
# (tests/run), else beside $CLUSTERD; the SCTP tests skip when it is not there
SCTP_PEER=${SCTP_PEER:-$(dirname "$CLUSTERD")/tests/netns/sctp_peer}
# the system python3: a version manager's shim can cost a second per start, which would
# swamp the timings the tests measure
if [ -z "${PY:-}" ]; then
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(python3 -c 'import sys; print(sys.executable)')
fi

NT_ID=${NT_ID:-cd$$x$RANDOM}
NT_SYNC_MODE=${NT_SYNC_MODE:-multicast}
NT_SYNC_GROUP=239.255.77.1
NT_WORK=${NT_WORK:-/tmp/clusterd-netns.$NT_ID}
NT_HOSTS="d1 d2 t1 t2 t3"
NT_TARGETS="t1 t2 t3"
NT_VIP4=10.2.0.100
NT_VIP6=fd02::100
NT_PASS=0
NT_FAIL=0
NT_UP=0

declare -A NT_IP4=([c]=10.1.0.2 [r]=10.2.0.1 [d1]=10.2.0.11 [d2]=10.2.0.12
	[t1]=10.2.0.21 [t2]=10.2.0.22 [t3]=10.2.0.23)
declare -A NT_IP6=([c]=fd01::2 [r]=fd02::1 [d1]=fd02::11 [d2]=fd02::12
	[t1]=fd02::21 [t2]=fd02::22 [t3]=fd02::23)

# ---------------------------------------------------------------- the fast path knob

NT_FASTPATH=${NT_FASTPATH:-on}
# nt_fastpath_opt: what goes into a configuration's daemon group for NT_FASTPATH, after its
# other settings: " fastpath = false;" when off, nothing when on (the default, the daemon's own).
nt_fastpath_opt() { [ "$NT_FASTPATH" = off ] && printf ' fastpath = false;'; return 0; }
# nt_fastpath_on: the configurations of this run leave the fast path on.
nt_fastpath_on() { [ "$NT_FASTPATH" != off ]; }

# ---------------------------------------------------------------- reporting

nt_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
nt_pass() { NT_PASS=$((NT_PASS + 1)); echo "PASS: $1"; }
nt_fail() { NT_FAIL=$((NT_FAIL + 1)); echo "FAIL: $1: $2"; }

# nt_check NAME WHY CMD...: PASS if CMD succeeds, else FAIL with WHY.
nt_check()
{
	local name=$1 why=$2
	shift 2
	if "$@"; then nt_pass "$name"; else nt_fail "$name" "$why"; fi
}

# nt_finish: print the summary of this script and exit with its status.
nt_finish()
{
	nt_sanitizer_check
	echo "# $(basename "$0"): $NT_PASS checks passed, $NT_FAIL failed"
	[ "$NT_FAIL" -eq 0 ] && [ "$NT_PASS" -gt 0 ]
	exit $?
}

# nt_skip WHY: this test cannot run here (not a failure, not a pass): exit 77, which run.sh
# counts as skipped.
nt_skip()
{
	echo "SKIP: $(basename "$0" .sh): $*"
	exit 77
}

# nt_need CMD...: skips the test unless every CMD is installed.
nt_need()
{
	local c miss=""
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || miss="$miss $c"; done
	[ -z "$miss" ] || nt_skip "missing:$miss"
}

# nt_need_daemon: a test that needs the daemon fails clearly when it is missing (a missing
# build is a failure, not a skip); skips when a system tool every cluster test uses is missing.
nt_need_daemon()
{
	if [ ! -x "$CLUSTERD" ] || [ ! -x "$CLUSTERCTL" ]; then
		nt_fail "$(basename "$0" .sh)" "no binaries: CLUSTERD=$CLUSTERD CLUSTERCTL=$CLUSTERCTL"
		exit 1
	fi
	nt_need ip nft ss curl "$PY"
}

# ---------------------------------------------------------------- sanitizers
#
# clusterd, clusterctl and the tools a test builds may carry ASan+UBSan (build/san) or TSan
# (build/tsan).  Every process of a test stops at its first report (halt_on_error=1), exits with
# NT_SAN_EXIT and writes the report to a file of $NT_WORK (log_path, the sanitizer appends
# .PID): clusterd-HOST.san.PID for HOST's daemon, other.san.PID for anything else (gcc's UBSan
# beside ASan ignores log_path: its reports go to stderr, the daemon's log).  nt_finish,
# or nt_cleanup for a test that ends otherwise, stops the daemons with SIGTERM (so LeakSanitizer
# checks their exit) and fails the test on any report, on a daemon that exited with NT_SAN_EXIT
# and on one that SIGTERM did not stop.  A build without sanitizers ignores all of it.  The
# caller's ASAN_OPTIONS, UBSAN_OPTIONS and TSAN_OPTIONS are kept after ours, so they override
# ours (e.g. ASAN_OPTIONS=detect_leaks=0), log_path excepted.
NT_SAN_EXIT=86
NT_SAN_RE='ERROR: [A-Za-z]*Sanitizer|WARNING: ThreadSanitizer|runtime error:'
NT_USER_ASAN=${NT_USER_ASAN-${ASAN_OPTIONS:-}}
NT_USER_UBSAN=${NT_USER_UBSAN-${UBSAN_OPTIONS:-}}
NT_USER_TSAN=${NT_USER_TSAN-${TSAN_OPTIONS:-}}

# nt_san_vars LOGBASE: sets NT_SAN_ENV to the three *SAN_OPTIONS=... assignments, reports to
# LOGBASE.PID.
nt_san_vars()
{
	local c="halt_on_error=1:exitcode=$NT_SAN_EXIT" l=log_path=$1
	NT_SAN_ENV=("ASAN_OPTIONS=$c:abort_on_error=0:detect_leaks=1${NT_USER_ASAN:+:$NT_USER_ASAN}:$l"
		"UBSAN_OPTIONS=$c:print_stacktrace=1${NT_USER_UBSAN:+:$NT_USER_UBSAN}:$l"
		"TSAN_OPTIONS=$c:second_deadlock_stack=1${NT_USER_TSAN:+:$NT_USER_TSAN}:$l")
}

# nt_san_export: every process started from now on reports to $NT_WORK/other.san.PID.
nt_san_export()
{
	local v
	nt_san_vars "$NT_WORK/other.san"
	for v in "${NT_SAN_ENV[@]}"; do export "${v?}"; done
}

# nt_san_reports: the files of $NT_WORK that hold a sanitizer report, one a line.
nt_san_reports()
{
	local f
	for f in "$NT_WORK"/*.san.* "$NT_WORK"/clusterd-*.log; do
		[ -f "$f" ] && grep -qE "$NT_SAN_RE" "$f" && echo "$f"
	done
	return 0
}

# nt_sanitizer_check: (once) stops the daemons with SIGTERM (a clean exit, so leaks get reported
# too) and fails the test if a process left a sanitizer report, a daemon died of one (exit
# status NT_SAN_EXIT) or a daemon did not exit within NT_STOP_S of SIGTERM.
nt_sanitizer_check()
{
	local f bad="" n pid rc how sig
	[ -z "${NT_SAN_DONE:-}" ] || return 0
	NT_SAN_DONE=1
	[ -d "$NT_WORK" ] || return 0
	# all at once: their exits (leak checks included) overlap
	for f in "$NT_WORK"/clusterd-*.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	for f in "$NT_WORK"/clusterd-*.pid; do
		[ -f "$f" ] && nt_stop "$(basename "$f" .pid)"
	done
	if [ -f "$NT_WORK/exits" ]; then
		while read -r n pid rc how sig; do
			case $n in clusterd-*) ;; *) continue ;; esac
			if [ "$rc" = "$NT_SAN_EXIT" ]; then
				nt_fail sanitizer "$n (pid $pid) exited with $rc, the sanitizers' status"
			elif [ "$how" = killed ]; then
				nt_fail daemon_exit "$n (pid $pid) still ran ${NT_STOP_S:-20} s after \
SIG$sig: killed"
			fi
		done <"$NT_WORK/exits"
	fi
	bad=$(nt_san_reports)
	if [ -n "$bad" ]; then
		nt_fail sanitizer "reports in $(echo $bad | sed "s|$NT_WORK/||g")"
		for f in $bad; do
			echo "----- $(basename "$f")"
			grep -m1 -A30 -E "$NT_SAN_RE" "$f"
		done
	fi
}

# ---------------------------------------------------------------- time and waiting

nt_now_ms() { date +%s%3N; }

# nt_wait_until TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds; 1 on timeout.
nt_wait_until()
{
	local deadline
	deadline=$(( $(nt_now_ms) + ${1%.*} * 1000 + 0 ))
	[ "${1#*.}" != "$1" ] && deadline=$((deadline + ${1#*.} * 100))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(nt_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# ---------------------------------------------------------------- namespaces

# nt_x HOST CMD...: runs CMD inside HOST's namespace (c r lan d1 d2 t1 t2 t3).
nt_x()
{
	local h=$1
	shift
	[ -n "${NT_VERBOSE:-}" ] && nt_log "[$h] $*"
	ip netns exec "$NT_ID-$h" "$@"
}

# nt_bg HOST NAME CMD...: starts CMD in HOST's namespace in the background, output to
# $NT_WORK/NAME.log; remembers its pid in $NT_WORK/NAME.pid and in the kill list.
nt_bg()
{
	local h=$1 name=$2 pid
	shift 2
	ip netns exec "$NT_ID-$h" "$@" >"$NT_WORK/$name.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$NT_WORK/$name.pid"
	echo "$pid" >>"$NT_WORK/all.pids"
}

# nt_stop NAME [SIGNAL]: stops a process started by nt_bg and waits (NT_STOP_S, 20 s: a
# sanitizer build's exit on a loaded machine) until it is gone, then SIGKILL.  Appends "NAME PID
# STATUS exited|killed SIGNAL" to $NT_WORK/exits (the status is 127 for a process this shell
# cannot wait for).
nt_stop()
{
	local name=$1 sig=${2:-TERM} pid rc how=exited
	[ -f "$NT_WORK/$name.pid" ] || return 0
	pid=$(cat "$NT_WORK/$name.pid")
	kill -"$sig" "$pid" 2>/dev/null
	if ! nt_wait_until "${NT_STOP_S:-20}" nt_gone "$pid"; then
		nt_log "$name (pid $pid) still runs ${NT_STOP_S:-20} s after SIG$sig: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		nt_wait_until 5 nt_gone "$pid"
		how=killed
	fi
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	echo "$name $pid $rc $how $sig" >>"$NT_WORK/exits"
	rm -f "$NT_WORK/$name.pid"
	return 0
}

nt_gone() { ! kill -0 "$1" 2>/dev/null; }
nt_alive() { [ -f "$NT_WORK/$1.pid" ] && kill -0 "$(cat "$NT_WORK/$1.pid")" 2>/dev/null; }

# nt_ping HOST ADDR: one ICMP echo from HOST to ADDR answered within 1 s (no ping binary needed).
nt_ping()
{
	nt_x "$1" "$PY" -c 'import socket, sys, struct, select
a = sys.argv[1]
v6 = ":" in a
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
		  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
def csum(b):
	if len(b) % 2:
		b += b"\0"
	t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	t = (t >> 16) + (t & 0xffff)
	t += t >> 16
	return ~t & 0xffff
typ = 128 if v6 else 8
pkt = struct.pack("!BBHHH", typ, 0, 0, 0x4e54, 1) + b"clusterd"
if not v6:
	pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
s.sendto(pkt, (a, 0))
while True:
	r, _, _ = select.select([s], [], [], 1.0)
	if not r:
		sys.exit(1)
	d, peer = s.recvfrom(2048)
	if not v6:
		d = d[(d[0] & 15) * 4:]
	if d[0] == (129 if v6 else 0) and d[4:6] == b"\x4e\x54":
		sys.exit(0)' "$2"
}

nt_sysctl() { nt_x "$1" sysctl -qw "$2" >/dev/null 2>&1 || nt_log "sysctl $2 failed in $1"; }

# nt_lan_host HOST IP4 IP6: a LAN host with interface lan0 on the bridge.
nt_lan_host()
{
	local h=$1 a4=$2 a6=$3
	ip netns add "$NT_ID-$h"
	nt_x "$h" ip link set lo up
	nt_x lan ip link add "p-$h" type veth peer name lan0 netns "$NT_ID-$h"
	nt_x lan ip link set "p-$h" master br0 up
	nt_sysctl "$h" net.ipv6.conf.all.accept_dad=0
	nt_sysctl "$h" net.ipv6.conf.default.accept_dad=0
	nt_sysctl "$h" net.ipv6.conf.lan0.accept_dad=0
	nt_x "$h" ip addr add "$a4/24" dev lan0
	nt_x "$h" ip addr add "$a6/64" dev lan0 nodad
	nt_x "$h" ip link set lan0 up
}

# nt_topo_up: builds the whole topology; returns non-zero (and says why) on failure.
nt_topo_up()
{
	local h
	mkdir -p "$NT_WORK" || return 1
	: >"$NT_WORK/all.pids"
	nt_san_export
	NT_UP=1
	trap nt_cleanup EXIT
	trap 'exit 130' INT TERM

	ip netns add "$NT_ID-lan" || return 1
	nt_x lan ip link set lo up
	nt_x lan ip link add br0 type bridge mcast_snooping 0
	nt_x lan ip link set br0 up
	# br_netfilter would run the LAN's frames through this namespace's (empty) iptables and
	# drop IPv4 packets with a bad header checksum: the bridge must stay a plain switch.
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 >/dev/null 2>&1
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1

	# client and router
	ip netns add "$NT_ID-c" || return 1
	nt_x c ip link set lo up
	nt_lan_host r "${NT_IP4[r]}" "${NT_IP6[r]}"
	nt_x r ip link add eth1 type veth peer name eth0 netns "$NT_ID-c"
	nt_sysctl c net.ipv6.conf.all.accept_dad=0
	nt_sysctl c net.ipv6.conf.eth0.accept_dad=0
	nt_sysctl r net.ipv6.conf.eth1.accept_dad=0
	nt_x r ip addr add 10.1.0.1/24 dev eth1
	nt_x r ip addr add fd01::1/64 dev eth1 nodad
	nt_x r ip link set eth1 up
	nt_sysctl r net.ipv4.ip_forward=1
	nt_sysctl r net.ipv6.conf.all.forwarding=1
	nt_x c ip addr add 10.1.0.2/24 dev eth0
	nt_x c ip addr add fd01::2/64 dev eth0 nodad
	nt_x c ip link set eth0 up
	nt_x c ip route add default via 10.1.0.1
	nt_x c ip -6 route add default via fd01::1

	for h in $NT_HOSTS; do
		nt_lan_host "$h" "${NT_IP4[$h]}" "${NT_IP6[$h]}" || return 1
		nt_x "$h" ip route add default via 10.2.0.1
		nt_x "$h" ip -6 route add default via fd02::1
	done
	for h in d1 d2; do
		nt_sysctl "$h" net.ipv4.ip_forward=1
		nt_sysctl "$h" net.ipv6.conf.all.forwarding=1
		nt_sysctl "$h" net.ipv4.conf.all.send_redirects=0
		nt_sysctl "$h" net.ipv4.conf.lan0.send_redirects=0
		nt_sysctl "$h" net.ipv4.conf.all.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.lan0.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.default.rp_filter=0
	done
	# forwarding=1 turns router advertisements' acceptance off; static routes are used anyway.

	# Bounded check that the plumbing works both ways before anyone relies on it.
	for h in $NT_HOSTS; do
		nt_wait_until 15 nt_ping c "${NT_IP4[$h]}" ||
			{ nt_log "topology: no IPv4 path to $h"; return 1; }
		nt_wait_until 15 nt_ping c "${NT_IP6[$h]}" ||
			{ nt_log "topology: no IPv6 path to $h"; return 1; }
	done
	return 0
}

# nt_cleanup: kill everything started, delete every namespace of this run, remove the work dir.
# A test that ends without nt_finish still gets its daemons stopped cleanly and its sanitizer
# reports checked: a report turns its exit status into a failure.
nt_cleanup()
{
	local rc=$? pid ns p f0=$NT_FAIL
	trap - EXIT
	[ "$NT_UP" = 1 ] || exit $rc
	nt_sanitizer_check
	[ "$NT_FAIL" -gt "$f0" ] && [ "$rc" -eq 0 -o "$rc" -eq 77 ] && rc=1
	if [ -n "${NT_KEEP:-}" ]; then
		nt_log "NT_KEEP set: leaving namespaces $NT_ID-* and $NT_WORK"
		exit $rc
	fi
	if [ -f "$NT_WORK/all.pids" ]; then
		while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <"$NT_WORK/all.pids"
	fi
	# anything still running inside our namespaces was started by this run
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NT_ID-"); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	if [ -f "$NT_WORK/all.pids" ]; then
		while read -r pid; do
			nt_wait_until 3 nt_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		done <"$NT_WORK/all.pids"
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NT_ID-"); do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${NT_SAVE_LOGS:-}" ]; then
		mkdir -p "$NT_SAVE_LOGS" && cp "$NT_WORK"/*.log "$NT_WORK"/*.san.* "$NT_WORK"/exits \
			"$NT_SAVE_LOGS"/ 2>/dev/null
	fi
	rm -rf "$NT_WORK"
	exit $rc
}

# nt_dump_logs [NAME...]: prints the tail of the named logs (debugging a failure).
nt_dump_logs()
{
	local n
	for n in "$@"; do
		[ -f "$NT_WORK/$n.log" ] || continue
		echo "----- $n.log (tail)"
		tail -n 30 "$NT_WORK/$n.log"
	done
}

# ---------------------------------------------------------------- servers

# nt_http_start HOST [PORT]: the logging HTTP server answering "HOST\n".
nt_http_start()
{
	local h=$1 port=${2:-8080}
	nt_bg "$h" "http-$h-$port" "$PY" -u "$NT_DIR/http_server.py" --port "$port" --name "$h" \
		--log "$NT_WORK/access-$h-$port.log"
	nt_wait_until 15 nt_listening "$h" tcp "$port" ||
		{ nt_log "http server on $h:$port did not start"; nt_dump_logs "http-$h-$port"; return 1; }
}

nt_http_stop() { nt_stop "http-$1-${2:-8080}"; }

# nt_listening HOST tcp|udp PORT: something listens on PORT inside HOST.
nt_listening()
{
	local opt=-ltn
	[ "$2" = udp ] && opt=-lun
	nt_x "$1" ss -H $opt "sport = :$3" | grep -q .
}

nt_udp_start()
{
	local h=$1 port=${2:-5353}
	nt_bg "$h" "udp-$h-$port" "$PY" -u "$NT_DIR/udp_echo.py" --port "$port" --name "$h"
	nt_wait_until 15 nt_listening "$h" udp "$port"
}

nt_servers_start()
{
	local h
	for h in $NT_TARGETS; do nt_http_start "$h" || return 1; done
}

# ---------------------------------------------------------------- configuration

nt_write_key()
{
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$NT_WORK/cluster.key"
	chmod 0600 "$NT_WORK/cluster.key"
}

# nt_sync_group: the group setting of NT_SYNC_MODE, for a configuration's sync line.
nt_sync_group()
{
	case $NT_SYNC_MODE in
	multicast) printf 'group = "%s"; ' "$NT_SYNC_GROUP" ;;
	unicast) ;;
	*) nt_log "NT_SYNC_MODE=$NT_SYNC_MODE: multicast or unicast"; return 1 ;;
	esac
}

# nt_write_config [FILE]: the one configuration of every node.  NT_TARGETS80 overrides the
# targets of VIPA:80 (a libconfig list body, e.g. '"t1", "t2"').
nt_write_config()
{
	local f=${1:-$NT_WORK/clusterd.conf} h nodes="" sep=""
	local t80=${NT_TARGETS80:-'"t1", "t2", "t3"'}
	[ -f "$NT_WORK/cluster.key" ] || nt_write_key
	for h in $NT_HOSTS; do
		nodes="$nodes$sep  { name = \"$h\"; addresses = ( { ip = \"${NT_IP4[$h]}\"; },"
		nodes="$nodes { ip = \"${NT_IP6[$h]}\"; } ); }"
		sep=$',\n'
	done
	cat >"$f" <<EOF
# generated by tests/netns/lib.sh for run $NT_ID
cluster = {
  name = "nt";
  key_file = "$NT_WORK/cluster.key";
  sync = { $(nt_sync_group)port = 7788; interface = "lan0";
           mode = "every-update"; interval_ms = 200; };
  heartbeat_ms = 100;
  retry_threshold = 3;
};
daemon = { workers = ${NT_WORKERS:-2};$(nt_fastpath_opt) };
nodes = (
$nodes
);
vipas = (
  { address = "$NT_VIP4"; interface = "lan0";
    distributors = ( { node = "d1"; }, { node = "d2"; } );
    services = (
      { port = 80; protocol = "tcp"; targets = ( $t80 ); target_port = 8080;
        scheduler = "maglev"; },
      { port = 5353; protocol = "udp"; targets = ( "t1", "t2", "t3" ); },
      { port = 5201; protocol = "tcp"; targets = ( "t1" ); },
      { port = 81; protocol = "tcp"; targets = ( "t3" ); target_port = 8181; },
      { port = 5354; protocol = "udp"; targets = ( "t3" ); target_port = 5355; }
    ); },
  { address = "$NT_VIP6"; interface = "lan0";
    distributors = ( { node = "d1"; }, { node = "d2"; } );
    services = (
      { port = 80; protocol = "tcp"; targets = ( $t80 ); target_port = 8080;
        scheduler = "maglev"; }
    ); }
);
EOF
}

# ---------------------------------------------------------------- clusterd

nt_sock() { echo "$NT_WORK/$1.sock"; }

# nt_ctl HOST ARGS...: clusterctl against HOST's daemon.
nt_ctl() { local h=$1; shift; nt_x "$h" "$CLUSTERCTL" -s "$(nt_sock "$h")" "$@"; }

# nt_json EXPR: evaluates a python expression over the JSON object on stdin (bound to j).
nt_json()
{
	"$PY" -c 'import json, sys
j = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$1"
}

# nt_cd_launch HOST: starts clusterd on HOST (no wait); a sanitizer report of its goes to
# $NT_WORK/clusterd-HOST.san.PID.
nt_cd_launch()
{
	local h=$1 NT_SAN_ENV
	rm -f "$(nt_sock "$h")"
	nt_san_vars "$NT_WORK/clusterd-$h.san"
	nt_bg "$h" "clusterd-$h" env "${NT_SAN_ENV[@]}" "$CLUSTERD" -f "$NT_WORK/clusterd.conf" \
		-n "$h" -s "$(nt_sock "$h")" --state-dir "$NT_WORK/state-$h" --foreground
}

# nt_cd_ready HOST: waits (NT_START_S, 30 s: a sanitizer build on a loaded machine) until HOST's
# control socket answers.
nt_cd_ready()
{
	local h=$1
	if ! nt_wait_until "${NT_START_S:-30}" nt_ctl "$h" status; then
		nt_log "clusterd on $h does not answer within ${NT_START_S:-30} s"
		nt_dump_logs "clusterd-$h"
		return 1
	fi
}

# nt_cd_start HOST: starts clusterd on HOST and waits until it answers.
nt_cd_start() { nt_cd_launch "$1" && nt_cd_ready "$1"; }

nt_cd_stop() { nt_stop "clusterd-$1" "${2:-TERM}"; }

nt_cd_start_all()
{
	local h
	for h in $NT_HOSTS; do nt_cd_launch "$h"; done
	for h in $NT_HOSTS; do nt_cd_ready "$h" || return 1; done
}

# nt_listening_count HOST PORT PROTO [VIPA]: targets listed as listening by HOST's daemon.
nt_listening_count()
{
	nt_ctl "$1" targets --json | nt_json "sum(1 for t in j.get('targets', [])
		if t.get('port') == $2 and t.get('protocol') == '$3'
		and ('${4:-}' == '' or t.get('vipa') == '${4:-}') and t.get('listening'))"
}

# nt_target_listening HOST NODE PORT PROTO: prints True/False (as HOST's daemon sees NODE).
nt_target_listening()
{
	nt_ctl "$1" targets --json | nt_json "any(t.get('listening') for t in j.get('targets', [])
		if t.get('node') == '$2' and t.get('port') == $3 and t.get('protocol') == '$4')"
}

nt_is() { [ "$("$@" 2>/dev/null)" = "$NT_EXPECT" ]; }

# nt_wait_listening HOST N PORT PROTO [TIMEOUT [VIPA]]: until HOST sees N listening targets.
nt_wait_listening()
{
	local h=$1 n=$2 port=$3 proto=$4 to=${5:-10} vipa=${6:-}
	NT_EXPECT=$n nt_wait_until "$to" nt_is nt_listening_count "$h" "$port" "$proto" "$vipa"
}

# nt_stat HOST PYEXPR: a value from HOST's stats (e.g. "j['drops']['malformed']").
nt_stat() { nt_ctl "$1" stats --json | nt_json "$2"; }

# nt_cluster_up: the whole thing: topology, servers, config, daemons, targets known on d1.
nt_cluster_up()
{
	nt_need_daemon
	nt_topo_up || { nt_fail setup "topology"; nt_finish; }
	nt_write_config
	nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
	nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
	if ! nt_wait_listening d1 3 80 tcp 30 "$NT_VIP4"; then
		nt_fail setup "d1 does not see 3 listening targets for $NT_VIP4:80 within 30 s"
		nt_ctl d1 targets
		nt_finish
	fi
}

# ---------------------------------------------------------------- clients

# nt_curl_loop N URL [CURL_OPTS...]: N sequential requests from the client, one line each:
# the body (the target's name) or "ERR:<curl exit code>".
nt_curl_loop()
{
	local n=$1 url=$2
	shift 2
	nt_x c bash -c 'n=$1; url=$2; shift 2
		for ((i = 0; i < n; i++)); do
			out=$(curl -sS -m 3 --connect-timeout 2 "$@" "$url" 2>/dev/null)
			rc=$?
			if [ $rc -eq 0 ]; then echo "$out"; else echo "ERR:$rc"; fi
		done' _ "$n" "$url" "$@"
}

# nt_tally FILE: "name count" lines, sorted by name.
nt_tally() { sort "$1" | uniq -c | awk '{print $2, $1}'; }

# nt_count FILE WORD: exact lines equal to WORD.
nt_count() { grep -cx -- "$2" "$1" || true; }

# ---------------------------------------------------------------- in-kernel reference path

# nt_knat_on TARGET [PORT [TPORT]]: the same rewrite clusterd does, done by nftables alone (the
# bench's reference and the harness's self-check): d1 owns the VIPA and rewrites the
# destination VIPA:PORT -> TARGET:TPORT in raw prerouting; TARGET rewrites its replies' source
# back in raw output.  Untracked, like clusterd's traffic.
nt_knat_on()
{
	local t=$1 port=${2:-80} tport=${3:-${2:-80}} ta=${NT_IP4[$1]}
	nt_x d1 ip addr add "$NT_VIP4/32" dev lan0 2>/dev/null
	nt_x d1 nft -f - <<NFT || return 1
table ip ntknat {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip daddr $NT_VIP4 tcp dport $port notrack ip daddr set $ta tcp dport set $tport
	}
}
NFT
	nt_x "$t" nft -f - <<NFT || return 1
table ip ntknat {
	chain out {
		type filter hook output priority raw; policy accept;
		ip saddr $ta tcp sport $tport notrack ip saddr set $NT_VIP4 tcp sport set $port
	}
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip daddr $ta tcp dport $tport notrack
	}
}
NFT
	nt_x r ip neigh flush dev lan0 2>/dev/null
	return 0
}

nt_knat_off()
{
	local t=$1
	nt_x d1 nft delete table ip ntknat 2>/dev/null
	nt_x "$t" nft delete table ip ntknat 2>/dev/null
	nt_x d1 ip addr del "$NT_VIP4/32" dev lan0 2>/dev/null
	nt_x r ip neigh flush dev lan0 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- long-lived connection

# nt_keepalive_start NAME URL_HOST WANT: from the client, opens HTTP/1.1 connections to
# URL_HOST:80 until one is served by WANT, then sends a request on it every 100 ms until
# $NT_WORK/NAME.stop exists.  Log $NT_WORK/NAME.log: "ESTABLISHED WANT", then "OK n body"
# lines; "ERR ..." and exit 1 at the first failure.  Waits (20 s) until it is established.
nt_keepalive_start()
{
	local name=$1 host=$2 want=$3
	rm -f "$NT_WORK/$name.stop"
	nt_bg c "$name" "$PY" -u -c 'import http.client, os, sys, time
host, want, stop = sys.argv[1:4]
for attempt in range(100):
	c = http.client.HTTPConnection(host, 80, timeout=3)
	c.request("GET", "/ka")
	body = c.getresponse().read().decode().strip()
	if body == want:
		break
	c.close()
else:
	print("ERR no connection landed on", want)
	sys.exit(1)
print("ESTABLISHED", want, "after", attempt + 1, "tries")
n = 0
while not os.path.exists(stop):
	time.sleep(0.1)
	try:
		c.request("GET", "/ka")
		body = c.getresponse().read().decode().strip()
	except Exception as e:
		print("ERR", n, repr(e))
		sys.exit(1)
	n += 1
	print("OK", n, body)
	if body != want:
		print("ERR answered by", body)
		sys.exit(1)
print("DONE", n)' "$host" "$want" "$NT_WORK/$name.stop"
	nt_wait_until 20 grep -q -e '^ESTABLISHED' -e '^ERR' "$NT_WORK/$name.log"
	grep -q '^ESTABLISHED' "$NT_WORK/$name.log"
}

# nt_keepalive_oks NAME: requests answered so far on the long-lived connection.
nt_keepalive_oks() { grep -c '^OK' "$NT_WORK/$1.log"; }

# nt_keepalive_stop NAME: stops it; 0 if it never failed ("DONE" and no "ERR").
nt_keepalive_stop()
{
	local name=$1
	touch "$NT_WORK/$name.stop"
	nt_wait_until 15 grep -q -e '^DONE' -e '^ERR' "$NT_WORK/$name.log"
	nt_stop "$name"
	grep -q '^DONE' "$NT_WORK/$name.log" && ! grep -q '^ERR' "$NT_WORK/$name.log"
}

# nt_time_listening HOST NODE PORT PROTO WANT TIMEOUT_S: polls `clusterctl targets --json` on
# HOST every 20 ms from one python process (a python start per poll would make the steps
# ~100 ms coarse) until NODE's listening flag for PORT/PROTO on the IPv4 VIPA equals WANT
# (True or False); prints the milliseconds since the call, python's start-up included (the
# figure errs long, never short), or -1 on timeout.
nt_time_listening()
{
	nt_x "$1" "$PY" -c 'import json, subprocess, sys, time
ctl, sock, node, port, proto, want, to, vipa, t0 = sys.argv[1:10]
want = want == "True"
t0 = int(t0) / 1000.0
while time.time() - t0 < float(to):
	r = subprocess.run([ctl, "-s", sock, "targets", "--json"], capture_output=True)
	if r.returncode == 0:
		j = json.loads(r.stdout)
		v = any(t.get("listening") for t in j.get("targets", []) if t.get("node") == node
			and t.get("port") == int(port) and t.get("protocol") == proto
			and t.get("vipa") == vipa)
		if v == want:
			print(int((time.time() - t0) * 1000))
			sys.exit(0)
	time.sleep(0.02)
print(-1)' "$CLUSTERCTL" "$(nt_sock "$1")" "$2" "$3" "$4" "$5" "$6" "$NT_VIP4" "$(nt_now_ms)"
}

# ---------------------------------------------------------------- two routed subnets (CDAT)
#
#   C (10.1.0.2) -- R1 (10.1.0.1 | LAN A 10.2.0.1 | LAN B 10.3.0.1)
#   LAN A 10.2.0.0/24 (lan0): R1, d1 .11, d2 .12       LAN B 10.3.0.0/24 (lan0): R1, t1 .21,
#                                                        t2 .22, t3 .23
#   ALT A 10.4.0.0/24 (alt0): R2 .1, d1 .11, d2 .12    ALT B 10.5.0.0/24 (alt0): R2 .1, t1 .21,
#                                                        t2 .22, t3 .23
#   R2 (10.4.0.1 | 10.5.0.1) joins the alternates; primaries and the client go through R1.
#
# Every node has two addresses, primary (lan0) first.  t2's alt0 has MTU 1400, unlike the
# file's 1500, so its adapter report makes the coordinator commit a version > 0.  t3 is built
# but left out of the configuration (NT2_NODES) until a test adds it.  IPv4 only.

declare -A NT2_PRI=([d1]=10.2.0.11 [d2]=10.2.0.12 [t1]=10.3.0.21 [t2]=10.3.0.22 [t3]=10.3.0.23)
declare -A NT2_ALT=([d1]=10.4.0.11 [d2]=10.4.0.12 [t1]=10.5.0.21 [t2]=10.5.0.22 [t3]=10.5.0.23)
NT2_ALL="d1 d2 t1 t2 t3"
NT2_NODES=${NT2_NODES:-"d1 d2 t1 t2"}
NT2_HB=${NT2_HB:-100}
NT2_RETRY=${NT2_RETRY:-3}
NT2_ALT_MTU=1400
NT_SYNC_PORT=7788

# nt2_side HOST: A (distributors) or B (targets).
nt2_side() { case $1 in d*) echo A ;; *) echo B ;; esac; }

# nt2_port BRIDGE HOST IFNAME ADDR/LEN [MTU]: HOST's interface IFNAME on bridge BRIDGE of the lan
# namespace (port names carry the bridge, so a host can sit on several).
nt2_port()
{
	local br=$1 h=$2 ifn=$3 a=$4 mtu=${5:-1500} p
	p="$br-$h"
	nt_x lan ip link add "$p" type veth peer name "$ifn" netns "$NT_ID-$h" || return 1
	nt_x lan ip link set "$p" mtu "$mtu" master "$br" up
	nt_x "$h" ip link set "$ifn" mtu "$mtu"
	nt_x "$h" ip addr add "$a" dev "$ifn"
	nt_x "$h" ip link set "$ifn" up
}

# nt_topo2_up: builds the two-subnet topology; non-zero (and says why) on failure.
nt_topo2_up()
{
	local h br mtu
	NT_HOSTS=$NT2_NODES
	NT_TARGETS="t1 t2"
	for h in $NT2_ALL; do NT_IP4[$h]=${NT2_PRI[$h]}; done
	mkdir -p "$NT_WORK" || return 1
	: >"$NT_WORK/all.pids"
	nt_san_export
	NT_UP=1
	trap nt_cleanup EXIT
	trap 'exit 130' INT TERM

	ip netns add "$NT_ID-lan" || return 1
	nt_x lan ip link set lo up
	for br in bra brb bralt brbalt; do
		nt_x lan ip link add "$br" type bridge mcast_snooping 0
		nt_x lan ip link set "$br" up
	done
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 >/dev/null 2>&1
	nt_x lan sysctl -qw net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1

	for h in c r r2 $NT2_ALL; do
		ip netns add "$NT_ID-$h" || return 1
		nt_x "$h" ip link set lo up
		# routers and distributors see asymmetric paths (direct server return) by design
		nt_sysctl "$h" net.ipv4.conf.all.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.default.rp_filter=0
	done
	# R1: client, LAN A, LAN B
	nt_x r ip link add eth1 type veth peer name eth0 netns "$NT_ID-c"
	nt_x r ip addr add 10.1.0.1/24 dev eth1
	nt_x r ip link set eth1 up
	nt_x c ip addr add 10.1.0.2/24 dev eth0
	nt_x c ip link set eth0 up
	nt_x c ip route add default via 10.1.0.1
	nt2_port bra r lan0 10.2.0.1/24 || return 1
	nt2_port brb r lan1 10.3.0.1/24 || return 1
	nt_sysctl r net.ipv4.ip_forward=1
	# R2: the alternates
	nt2_port bralt r2 lan0 10.4.0.1/24 || return 1
	nt2_port brbalt r2 lan1 10.5.0.1/24 || return 1
	nt_sysctl r2 net.ipv4.ip_forward=1
	for h in r r2; do
		nt_sysctl "$h" net.ipv4.conf.lan0.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.lan1.rp_filter=0
	done

	for h in $NT2_ALL; do
		mtu=1500
		[ "$h" = t2 ] && mtu=$NT2_ALT_MTU
		if [ "$(nt2_side "$h")" = A ]; then
			nt2_port bra "$h" lan0 "${NT2_PRI[$h]}/24" || return 1
			nt2_port bralt "$h" alt0 "${NT2_ALT[$h]}/24" "$mtu" || return 1
			nt_x "$h" ip route add default via 10.2.0.1
			nt_x "$h" ip route add 10.5.0.0/24 via 10.4.0.1
		else
			nt2_port brb "$h" lan0 "${NT2_PRI[$h]}/24" || return 1
			nt2_port brbalt "$h" alt0 "${NT2_ALT[$h]}/24" "$mtu" || return 1
			nt_x "$h" ip route add default via 10.3.0.1
			nt_x "$h" ip route add 10.4.0.0/24 via 10.5.0.1
		fi
		nt_sysctl "$h" net.ipv4.conf.lan0.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.alt0.rp_filter=0
	done
	for h in d1 d2; do
		nt_sysctl "$h" net.ipv4.ip_forward=1
		nt_sysctl "$h" net.ipv4.conf.all.send_redirects=0
		nt_sysctl "$h" net.ipv4.conf.lan0.send_redirects=0
	done

	# Bounded check of the paths the tests rely on: the client to every primary, and each
	# side's alternates through R2.
	for h in $NT2_ALL; do
		nt_wait_until 15 nt_ping c "${NT2_PRI[$h]}" ||
			{ nt_log "topology: no path from the client to $h"; return 1; }
	done
	nt_wait_until 15 nt_ping d1 "${NT2_ALT[t1]}" ||
		{ nt_log "topology: no alternate path d1 -> t1"; return 1; }
	nt_wait_until 15 nt_ping t2 "${NT2_ALT[d2]}" ||
		{ nt_log "topology: no alternate path t2 -> d2"; return 1; }
	return 0
}

# nt_write_config2 [FILE]: the one configuration of the two-subnet cluster: the nodes of
# NT2_NODES with primary and alternate addresses, VIPA 10.2.0.100:80 -> t1, t2 port 8080.
# Written to a temporary file and renamed, so a daemon reloading never reads half of it.
nt_write_config2()
{
	local f=${1:-$NT_WORK/clusterd.conf} h nodes="" sep=""
	[ -f "$NT_WORK/cluster.key" ] || nt_write_key
	for h in $NT2_NODES; do
		nodes="$nodes$sep  { name = \"$h\"; addresses = ( { ip = \"${NT2_PRI[$h]}\"; },"
		nodes="$nodes { ip = \"${NT2_ALT[$h]}\"; } ); }"
		sep=$',\n'
	done
	cat >"$f.tmp" <<EOF
# generated by tests/netns/lib.sh (two subnets) for run $NT_ID
cluster = {
  name = "nt2";
  key_file = "$NT_WORK/cluster.key";
  sync = { $(nt_sync_group)port = $NT_SYNC_PORT;
           mode = "every-update"; interval_ms = 200; };
  heartbeat_ms = $NT2_HB;
  retry_threshold = $NT2_RETRY;
};
daemon = { workers = ${NT_WORKERS:-2};$(nt_fastpath_opt) };
nodes = (
$nodes
);
vipas = (
  { address = "$NT_VIP4"; interface = "lan0";
    distributors = ( { node = "d1"; }, { node = "d2"; } );
    services = (
      { port = 80; protocol = "tcp"; targets = ( "t1", "t2" ); target_port = 8080;
        scheduler = "maglev"; }
    ); }
);
EOF
	mv "$f.tmp" "$f"
}

# nt_cluster2_up: topology, servers on t1 and t2, configuration, the daemons of NT2_NODES,
# both targets listening as d1 sees them.
nt_cluster2_up()
{
	nt_need_daemon
	nt_topo2_up || { nt_fail setup "two-subnet topology"; nt_finish; }
	nt_write_config2
	nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
	nt2_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
	if ! nt_wait_listening d1 2 80 tcp 30 "$NT_VIP4"; then
		nt_fail setup "d1 does not see 2 listening targets for $NT_VIP4:80 within 30 s"
		nt_ctl d1 targets
		nt_finish
	fi
}

# nt2_cd_start_all: like nt_cd_start_all, but waits up to NT2_START_S (30) per daemon: a
# sanitizer build on a loaded machine can take longer than 10 s to answer.
nt2_cd_start_all()
{
	local h
	for h in $NT_HOSTS; do nt_cd_launch "$h"; done
	for h in $NT_HOSTS; do
		if ! nt_wait_until "${NT2_START_S:-30}" nt_ctl "$h" status; then
			nt_log "clusterd on $h does not answer within ${NT2_START_S:-30} s"
			nt_dump_logs "clusterd-$h"
			return 1
		fi
	done
}

# NT2_PY: python helpers over a CDAT, for the expressions of nt2_cdat and nt2_time:
# node(j, NAME), addr(j, NAME, IP) and status(j, NAME).
NT2_PY='
def node(j, n):
	for x in j.get("nodes", []):
		if x.get("name") == n:
			return x
	return None
def addr(j, n, ip):
	x = node(j, n)
	for a in (x or {}).get("addresses", []):
		if a.get("ip") == ip:
			return a
	return {}
def status(j, n):
	x = node(j, n)
	return x.get("status") if x else None
'

# nt2_cdat HOST PYEXPR [CMD]: a value from HOST's `clusterctl CMD --json` (default cdat).
nt2_cdat()
{
	nt_ctl "$1" "${3:-cdat}" --json | "$PY" -c "import json, sys
$NT2_PY
j = json.load(sys.stdin)
r = eval('(' + sys.argv[1] + '\n)')
print(json.dumps(r) if isinstance(r, (dict, list)) else r)" "$2"
}

# nt2_time HOST TIMEOUT_S T0_MS PYEXPR [CMD]: polls `clusterctl CMD --json` (default cdat) on
# HOST every 20 ms from one python process until PYEXPR (over j) is true; prints the
# milliseconds since T0_MS (epoch ms), or -1 on timeout.
nt2_time()
{
	nt_x "$1" "$PY" -c "import json, subprocess, sys, time
$NT2_PY
ctl, sock, to, t0, expr, cmd = sys.argv[1:7]
t0 = int(t0) / 1000.0
while True:
	r = subprocess.run([ctl, '-s', sock, cmd, '--json'], capture_output=True)
	if r.returncode == 0:
		try:
			j = json.loads(r.stdout)
			if eval('(' + expr + '\n)'):
				print(int((time.time() - t0) * 1000))
				sys.exit(0)
		except (ValueError, KeyError, TypeError, IndexError, AttributeError):
			pass
	if time.time() - t0 > float(to):
		break
	time.sleep(0.02)
print(-1)" "$CLUSTERCTL" "$(nt_sock "$1")" "$2" "$3" "$4" "${5:-cdat}"
}

# nt2_sync_drop HOST TABLE own|peer ADDR...: drops cluster traffic (UDP to or from the sync
# port) in HOST's namespace: "own": traffic of HOST's own addresses ADDR (that path of HOST is
# cut), group datagrams arriving on their interfaces included; "peer": traffic exchanged with
# the peers' addresses ADDR, and every group datagram HOST sends (a group datagram cannot spare
# some peers: the others measure HOST by unicast, which passes).  Data traffic is untouched.
# Each cut is its own nft table, healed by nt2_sync_heal HOST TABLE.
nt2_sync_drop()
{
	local h=$1 name=$2 kind=$3 set in out a ifn extra="" extra_out=""
	shift 3
	set=$(echo "$*" | sed 's/ /, /g')
	if [ "$kind" = own ]; then
		in="ip daddr { $set }" out="ip saddr { $set }"
		for a in "$@"; do
			ifn=$(nt_x "$h" ip -o -4 addr show to "$a" | awk '{print $2; exit}')
			[ -n "$ifn" ] && extra="$extra
		iifname \"$ifn\" ip daddr 224.0.0.0/4 udp dport $NT_SYNC_PORT drop"
		done
		extra_out=""
	else
		in="ip saddr { $set }" out="ip daddr { $set }"
		extra_out="ip daddr 224.0.0.0/4 udp dport $NT_SYNC_PORT drop"
	fi
	nt_x "$h" nft -f - <<NFT
table ip $name {
	chain in {
		type filter hook input priority -10; policy accept;
		$in udp dport $NT_SYNC_PORT drop
		$in udp sport $NT_SYNC_PORT drop$extra
	}
	chain out {
		type filter hook output priority -10; policy accept;
		$out udp dport $NT_SYNC_PORT drop
		$out udp sport $NT_SYNC_PORT drop
		$extra_out
	}
}
NFT
}

nt2_sync_heal() { nt_x "$1" nft delete table ip "$2"; }

# nt2_sync_loss HOST PCT: drops PCT % of the cluster traffic at random, in and out, on HOST.
nt2_sync_loss()
{
	nt_x "$1" nft -f - <<NFT
table ip ntloss {
	chain in {
		type filter hook input priority -10; policy accept;
		udp dport $NT_SYNC_PORT numgen random mod 100 < $2 counter drop
	}
	chain out {
		type filter hook output priority -10; policy accept;
		udp dport $NT_SYNC_PORT numgen random mod 100 < $2 counter drop
	}
}
NFT
}

# nt2_digests HOST...: "version digest" per host, one line each.
nt2_digests()
{
	local h
	for h in "$@"; do nt2_cdat "$h" "'%s %s' % (j['version'], j['digest'])"; done
}

# nt2_converged HOST...: every host reports the same version and digest.
nt2_converged()
{
	local d
	d=$(nt2_digests "$@" 2>/dev/null) || return 1
	[ "$(echo "$d" | grep -c .)" -eq $# ] && [ "$(echo "$d" | sort -u | grep -c .)" -eq 1 ]
}

# nt2_time_each TIMEOUT_S T0_MS PYEXPR HOST...: nt2_time on every HOST at once (so no
# figure waits for another poller); prints "HOST MS" lines in the order given.  NT2_CMD
# chooses the clusterctl command (default cdat).
nt2_time_each()
{
	local to=$1 t0=$2 e=$3 h pids=""
	shift 3
	for h in "$@"; do
		nt2_time "$h" "$to" "$t0" "$e" "${NT2_CMD:-cdat}" >"$NT_WORK/time.$h" &
		pids="$pids $!"
	done
	for h in $pids; do wait "$h"; done
	for h in "$@"; do echo "$h $(cat "$NT_WORK/time.$h")"; done
}

# nt2_vipa_role HOST: HOST's role for the IPv4 VIPA (distributor, backup, none).
nt2_vipa_role()
{
	nt2_cdat "$1" "[v['role'] for v in j['vipas'] if v['address'] == '$NT_VIP4'][0]" status
}

# nt2_settle [TIMEOUT_S]: waits until every node's CDAT has converged and, on every node, every
# other address answers within its heartbeat (rtt + 4 x rtt_var < heartbeat_ms, the daemon's
# per-heartbeat timeout): the first answers after a start measure the start-up, and the
# inflated timeout they leave would stretch a detection time for a few seconds.  Prints how
# long it took; non-zero if not settled.
nt2_settle()
{
	local to=${1:-15} t0 h e ok=0
	t0=$(nt_now_ms)
	nt_wait_until "$to" nt2_converged $NT_HOSTS || { nt_log "settle: CDATs differ"; return 1; }
	e="all(a['status'] == 'reachable' and a['rtt_ms'] + 4 * a['rtt_var_ms'] < $NT2_HB
		for n in j['nodes'] if not n['self'] for a in n['addresses'])"
	for h in $NT_HOSTS; do
		[ "$(nt2_time "$h" "$to" "$t0" "$e")" -ge 0 ] || ok=1
	done
	nt_log "settled after $(( $(nt_now_ms) - t0 )) ms (status $ok)"
	return $ok
}

# nt_is_true CMD...: CMD prints True.
nt_is_true() { [ "$("$@" 2>/dev/null)" = True ]; }

# nt2_watch_start HOST: samples HOST's CDAT every 50 ms (one python process) until
# $NT_WORK/watch.stop exists; then writes $NT_WORK/watch-HOST.out: "addr IP MS" for each
# address with the longest time it stayed unreachable (ms), "node NAME MS" the same for down.
nt2_watch_start()
{
	rm -f "$NT_WORK/watch.stop"
	nt_bg "$1" "watch-$1" "$PY" -c 'import json, os, subprocess, sys, time
ctl, sock, stop, out = sys.argv[1:5]
since, worst = {}, {}
while not os.path.exists(stop):
	now = time.time()
	r = subprocess.run([ctl, "-s", sock, "cdat", "--json"], capture_output=True)
	if r.returncode == 0:
		j = json.loads(r.stdout)
		for n in j["nodes"]:
			keys = [("node " + n["name"], n["status"] == "down")]
			keys += [("addr " + a["ip"], a["status"] == "unreachable")
				 for a in n["addresses"]]
			for k, bad in keys:
				if bad:
					since.setdefault(k, now)
				elif k in since:
					worst[k] = max(worst.get(k, 0), now - since.pop(k))
				worst.setdefault(k, 0)
	time.sleep(0.05)
for k, t in since.items():
	worst[k] = max(worst.get(k, 0), time.time() - t)
with open(out, "w") as f:
	for k in sorted(worst):
		f.write("%s %d\n" % (k, worst[k] * 1000))' "$CLUSTERCTL" "$(nt_sock "$1")" \
		"$NT_WORK/watch.stop" "$NT_WORK/watch-$1.out"
}

# nt2_watch_stop HOST...: stops the watchers (their .out files are then complete).
nt2_watch_stop()
{
	local h
	touch "$NT_WORK/watch.stop"
	for h in "$@"; do
		nt_wait_until 15 test -s "$NT_WORK/watch-$h.out"
		nt_stop "watch-$h"
	done
}

# nt_quiet CMD...: CMD with its standard output discarded (for nt_check).
nt_quiet() { "$@" >/dev/null; }

# nt_load: the 1-minute load average and the CPU count, for timing failures ("load 3.2/2").
nt_load() { echo "load $(cut -d' ' -f1 /proc/loadavg)/$(nproc)"; }
