#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sctp_bench.sh: SCTP echo round trips through the VIPA against the same echoes sent straight to
# the target, on the SCTP namespace topology of tests/netns/sctp_lib.sh (client C - router R -
# LAN with d1 distributing the VIPA, d2 its backup, t1 the one target; usrsctp peers, issue 13).
# Prints a table; never fails on figures.
#
#   bench/sctp_bench.sh [-n MESSAGES] [-c CLIENTS]    env: CLUSTERD, CLUSTERCTL, SCTP_PEER
#
# Four runs on one cluster, one after the other, each client sending its next message as soon
# as the echo of the last one is in (sctp_peer --interval-ms 0, SCTP_NODELAY on every peer):
#   vipa      one client, MESSAGES messages to VIPA:3868 (d1 forwards to t1, t1's daemon sends
#             the replies as the VIPA)
#   direct    one client, MESSAGES messages to t1's own address, port 3869: a second server on
#             t1 that no service names, so no rule of either daemon queues its packets (checked:
#             d1's sctp.forwarded and t1's sctp.target_rewritten must not move)
#   vipa xC   CLIENTS clients at once through the VIPA, MESSAGES each (all SCTP is on worker 0)
#   direct xC the same straight to t1:3869 (what the parallel run's ratio compares with)
# For each: messages/s, the per-message round trip (mean from the span, median and max from
# sctp_peer's summary, which gives no other percentile), the CPU time of clusterd on d1 and t1
# over the run (utime + stime from /proc/PID/stat), in all and per 1000 messages.
# SCTP_FAMILY=6 uses the IPv6 VIPA and addresses.
msgs=20000
nclients=4
while getopts "n:c:h" o; do
	case $o in
	n) msgs=$OPTARG ;;
	c) nclients=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
case $msgs$nclients in *[!0-9]*) echo "sctp_bench.sh: -n and -c take numbers" >&2; exit 2 ;; esac
if [ "$msgs" -lt 1 ] || [ "$msgs" -gt 1000000 ] || [ "$nclients" -lt 1 ] ||
   [ "$nclients" -gt 16 ]; then
	echo "sctp_bench.sh: -n 1..1000000, -c 1..16" >&2
	exit 2
fi
cmdline="$0 $*"
. "$(dirname "$0")/../tests/netns/lib.sh"
. "$(dirname "$0")/../tests/netns/sctp_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "sctp_bench.sh: needs root" >&2; exit 2; }
for c in ip nft; do
	command -v "$c" >/dev/null 2>&1 || { echo "sctp_bench.sh: missing $c" >&2; exit 2; }
done
if [ ! -x "$CLUSTERD" ] || [ ! -x "$CLUSTERCTL" ] || [ ! -x "$SCTP_PEER" ]; then
	echo "sctp_bench.sh: needs CLUSTERD ($CLUSTERD), CLUSTERCTL ($CLUSTERCTL) and SCTP_PEER" \
		"($SCTP_PEER: make netns-tools, with libusrsctp-dev at configure time)" >&2
	exit 2
fi

# One target: every association through the VIPA reaches t1, the host of the direct server
# (sctp_lib.sh and lib.sh read these).
# shellcheck disable=SC2034
{
	NT_HOSTS="d1 d2 t1"
	NT_TARGETS=t1
	ST_SVC_TARGETS=t1
}
DPORT=$((ST_PORT + 1))
T1_ADDR=$(st_addr t1 "$SCTP_FAMILY")
HZ=$(getconf CLK_TCK)
# a client's bound on the whole run: ASan builds on a loaded machine do ~1000 messages/s
CL_TIMEOUT=$((120 + msgs / 100))

# sb_build: "ASan+UBSan", "TSan" or "release" (what the daemon was linked with), and the
# configure command of its build directory (its config.log), when there is one.
sb_build()
{
	local b=release log
	if grep -aq __asan_init "$CLUSTERD" 2>/dev/null; then
		b="ASan+UBSan (a sanitizer build: slower and costlier than a release build)"
	elif grep -aq __tsan_init "$CLUSTERD" 2>/dev/null; then
		b="TSan (a sanitizer build: slower and costlier than a release build)"
	fi
	log=$(dirname "$CLUSTERD")/config.log
	[ -f "$log" ] && b="$b; configure: $(sed -n 's/^  \$ .*configure /configure /p' "$log" |
		head -n 1)"
	echo "$b"
}

# sb_cpu PID...: utime + stime of the processes (all their threads), in clock ticks.
sb_cpu()
{
	local p t=0 v
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# sb_tasks PID: "TID ticks" of each thread of PID (utime + stime).
sb_tasks()
{
	local f
	for f in /proc/"$1"/task/*/stat; do
		sed 's/.*) //' "$f" 2>/dev/null | awk -v t="$(basename "$(dirname "$f")")" \
			'{ print t, $12 + $13 }'
	done
}

# sb_split PID BEFORE AFTER: the CPU seconds of PID's threads between the snapshots of sb_tasks
# in the files BEFORE and AFTER: "main S" (the event loop: TID = PID), then the other threads
# (workers and helpers, by TID) with a share of at least 0.01 s.
sb_split()
{
	awk -v pid="$1" -v hz="$HZ" 'NR == FNR { b[$1] = $2; next }
		{ d = ($2 - b[$1]) / hz
		  if ($1 == pid) m = d
		  else if (d >= 0.01) o = o sprintf(" %.2f", d) }
		END { printf "main %.2f, others%s", m, (o == "" ? " 0" : o) }' "$2" "$3"
}

# sb_stat HOST KEY: a counter of HOST's stats (dotted key; empty when the daemon does not
# answer or lacks it).
sb_stat() { st_flat_stats "$1" | awk -v k="$2" '$1 == k && !s { print $2; s = 1 }'; }

# sb_delta BEFORE AFTER: AFTER - BEFORE, or "?" when either is missing (so that the bypass
# check cannot pass on a daemon that stopped answering).
sb_delta()
{
	case $1$2 in
	*[!0-9]* | "") echo "?" ;;
	*) [ -n "$1" ] && [ -n "$2" ] && echo $(($2 - $1)) || echo "?" ;;
	esac
}

# sb_client NAME LPORT ADDR PORT: a usrsctp client on C (log NAME.log), $msgs messages back to
# back; it connects only once NAME.go exists (sctp_lib.sh's st_client says why).
sb_client()
{
	local name=$1 lport=$2 addr=$3 port=$4
	rm -f "$NT_WORK/$name.go"
	nt_bg c "$name" timeout "$CL_TIMEOUT" "$SCTP_PEER" client --bind "$ST_CLIENT" \
		--local-port "$lport" --connect "$addr" --port "$port" --count "$msgs" \
		--interval-ms 0 --timeout-ms 5000 --timers "$SCTP_TIMERS" \
		--go-file "$NT_WORK/$name.go" ${ST_NODELAY_OPT:+"$ST_NODELAY_OPT"}
}

# sb_figures NAME...: over the logs of the clients NAME: "echoed lost rate_per_s mean_ms
# median_ms max_ms slow failed": echoed messages, lost ones, messages/s (all echoes over the
# longest client's span from its association's COMM_UP to its close: the clients start within
# a few ms of each other), the mean round trip (a client's span over its echoes: one message
# at a time; averaged over the clients), the median of the clients' median round trips (0.1 ms
# steps: sctp_peer prints one decimal), the largest round trip,
# messages of 100 ms or more (sctp_peer lists 16 per client at most), clients without a
# clean end.
sb_figures()
{
	"$PY" - "$NT_WORK" "$@" <<'PY'
import json, statistics, sys
work, names = sys.argv[1], sys.argv[2:]
echoed = lost = slow = failed = 0
span = 0.0
meds, means, mx = [], [], 0.0
for n in names:
	up = close = summ = None
	try:
		for line in open("%s/%s.log" % (work, n)):
			try:
				o = json.loads(line)
			except ValueError:
				continue
			ev = o.get("event")
			if ev == "up":
				up = o["t_ms"]
			elif ev == "close":
				close = o["t_ms"]
			elif ev == "summary":
				summ = o
	except OSError:
		pass
	if not summ or up is None or close is None:
		failed += 1
		continue
	echoed += summ["echoed"]
	lost += summ["lost"]
	if summ["lost"] or summ["comm_lost"] or summ["bad"]:
		failed += 1
	span = max(span, (close - up) / 1000.0)
	if summ["echoed"]:
		means.append((close - up) / summ["echoed"])
	meds.append(summ["median_gap_ms"])
	mx = max(mx, summ["max_gap_ms"])
	slow += len(summ.get("slow") or [])
rate = "%.0f" % (echoed / span) if span > 0 and echoed else "-"
med = "%.1f" % statistics.median(meds) if meds else "-"
mean = "%.3f" % statistics.mean(means) if means else "-"
print(echoed, lost, rate, mean, med, "%.1f" % mx if meds else "-", slow, failed)
PY
}

# sb_run LABEL ADDR PORT N: N clients at once to ADDR:PORT ($msgs messages each); sets R_*: the
# figures of sb_figures, R_D1 and R_T1 (clusterd CPU ticks of d1 and t1 over the run), R_FWD
# (d1's sctp.forwarded delta), R_TGT (t1's sctp.target_rewritten delta), R_WALL (seconds from
# the go to the last client's exit), R_SPLIT (their CPU by thread: sb_split).
sb_run()
{
	local label=$1 addr=$2 port=$3 n=$4 i names="" d0 t0 f0 g0 w0 name
	for i in $(seq 1 "$n"); do
		name=$label-$i
		sb_client "$name" $((45000 + RUN_NO * 100 + i)) "$addr" "$port"
		names="$names $name"
	done
	RUN_NO=$((RUN_NO + 1))
	for name in $names; do
		nt_wait_until 30 grep -q '"event":"ready"' "$NT_WORK/$name.log" ||
			nt_log "client $name not ready: $(head -c 300 "$NT_WORK/$name.log")"
	done
	f0=$(sb_stat d1 sctp.forwarded)
	g0=$(sb_stat t1 sctp.target_rewritten)
	d0=$(sb_cpu "$D1_PID")
	t0=$(sb_cpu "$T1_PID")
	sb_tasks "$D1_PID" >"$NT_WORK/tasks-d1.0"
	sb_tasks "$T1_PID" >"$NT_WORK/tasks-t1.0"
	w0=$(nt_now_ms)
	for name in $names; do : >"$NT_WORK/$name.go"; done
	for name in $names; do
		st_client_wait "$name" "$CL_TIMEOUT"
		[ "$ST_RC" = 0 ] || nt_log "client $name exit $ST_RC: $(st_summary "$name")"
	done
	R_WALL=$(awk -v a="$w0" -v b="$(nt_now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
	R_D1=$(( $(sb_cpu "$D1_PID") - d0 ))
	R_T1=$(( $(sb_cpu "$T1_PID") - t0 ))
	sb_tasks "$D1_PID" >"$NT_WORK/tasks-d1.1"
	sb_tasks "$T1_PID" >"$NT_WORK/tasks-t1.1"
	# shellcheck disable=SC2034 # sb_keep reads it
	R_SPLIT="d1 $(sb_split "$D1_PID" "$NT_WORK"/tasks-d1.[01]); t1 $(sb_split "$T1_PID" \
"$NT_WORK"/tasks-t1.[01])"
	R_FWD=$(sb_delta "$f0" "$(sb_stat d1 sctp.forwarded)")
	R_TGT=$(sb_delta "$g0" "$(sb_stat t1 sctp.target_rewritten)")
	# shellcheck disable=SC2086,SC2034 # names is a list; sb_keep reads the R_*
	read -r R_ECHOED R_LOST R_RATE R_MEAN R_MED R_MAX R_SLOW R_FAILED <<<"$(sb_figures $names)"
	nt_log "$label x$n: $R_ECHOED echoed, $R_LOST lost, $R_RATE/s, mean $R_MEAN ms," \
		"median $R_MED ms, max $R_MAX ms, d1 $R_D1 ticks, t1 $R_T1 ticks, d1 forwarded $R_FWD," \
		"t1 rewritten $R_TGT, $R_WALL s"
}

# sb_per1k TICKS ECHOED: CPU milliseconds per 1000 messages.
sb_per1k()
{
	awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n + 0 > 0) printf "%.1f", t * 1e6 / hz / n;
		else printf "-" }'
}
sb_secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }
sb_ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b;
		else printf "-" }'
}

# ---------------------------------------------------------------- the cluster
build=$(sb_build)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
nt_log "sctp_bench: $msgs messages a client, $nclients parallel clients; $build"
st_print_timers >&2
st_topo_up || { echo "sctp_bench.sh: topology failed" >&2; exit 1; }
st_write_config
"$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 >"$NT_WORK/check.out" 2>&1 ||
	{ echo "sctp_bench.sh: configuration refused: $(head -c 400 "$NT_WORK/check.out")" >&2; exit 1; }
st_server_start t1 "$SCTP_FAMILY" || exit 1
nt_bg t1 srvdirect "$SCTP_PEER" server --bind "$T1_ADDR" --port "$DPORT" \
	--timers "$SCTP_SERVER_TIMERS" ${ST_NODELAY_OPT:+"$ST_NODELAY_OPT"}
nt_wait_until 10 grep -q '"event":"listening"' "$NT_WORK/srvdirect.log" ||
	{ echo "sctp_bench.sh: the direct server did not start: $(head -c 300 \
"$NT_WORK/srvdirect.log")" >&2; exit 1; }
nt_cd_start_all || { echo "sctp_bench.sh: clusterd did not start" >&2; exit 1; }
nt_wait_until 30 st_placed d1 d2 "$SCTP_FAMILY" ||
	{ echo "sctp_bench.sh: the VIPA is not in place 30 s after the start: $(st_where)" >&2; exit 1; }
nt_wait_listening d1 1 "$ST_PORT" sctp 30 "$ST_VIP" ||
	{ echo "sctp_bench.sh: d1 does not see t1 listening on $ST_PORT/sctp" >&2; exit 1; }
D1_PID=$(cat "$NT_WORK/clusterd-d1.pid")
T1_PID=$(cat "$NT_WORK/clusterd-t1.pid")
RUN_NO=0

# R holds every run's figures: R[RUN.KEY], RUN one of vipa1 direct1 vipaN directN.
declare -A R
# sb_keep RUN: files the R_* figures of the last sb_run under RUN.
sb_keep()
{
	local k
	for k in ECHOED LOST RATE MEAN MED MAX SLOW FAILED D1 T1 FWD TGT WALL SPLIT; do
		eval "R[$1.$k]=\$R_$k"
	done
}
sb_run vipa "$ST_VIP" "$ST_PORT" 1; sb_keep vipa1
sb_run direct "$T1_ADDR" "$DPORT" 1; sb_keep direct1
sb_run vipap "$ST_VIP" "$ST_PORT" "$nclients"; sb_keep vipaN
sb_run directp "$T1_ADDR" "$DPORT" "$nclients"; sb_keep directN
nt_stop srvdirect
nt_stop "srv$SCTP_FAMILY-t1"

bypass=yes
for r in direct1 directN; do
	[ "${R[$r.FWD]}" = 0 ] && [ "${R[$r.TGT]}" = 0 ] || bypass=NO
done
echo
echo "# command: CLUSTERD=$CLUSTERD CLUSTERCTL=$CLUSTERCTL SCTP_PEER=$SCTP_PEER $cmdline"
echo "# build: $build"
echo "# $(uname -r), $(nproc) CPUs, load average $load0 at the start, $(cut -d' ' -f1-3 \
/proc/loadavg) at the end; IPv$SCTP_FAMILY; $msgs messages a client, back to back"
st_print_timers
echo "# the direct runs bypass clusterd: $bypass (d1 sctp.forwarded +${R[direct1.FWD]}" \
	"+${R[directN.FWD]}, t1 sctp.target_rewritten +${R[direct1.TGT]} +${R[directN.TGT]})"
fmt='%-18s %8s %7s %7s %7s %5s %5s %6s %7s %7s %7s %7s\n'
# shellcheck disable=SC2059 # fmt is the table's format
printf "$fmt" path "msgs/s" mean median max slow lost ratio "d1 CPU" "t1 CPU" "d1 CPU" "t1 CPU"
# shellcheck disable=SC2059
printf "$fmt" "" "" "rtt ms" "rtt ms" "rtt ms" ">=100" "" /direct s s "ms/1k" "ms/1k"
# sb_row LABEL RUN DIRECT_RUN
sb_row()
{
	local r=$2
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "${R[$r.RATE]}" "${R[$r.MEAN]}" "${R[$r.MED]}" "${R[$r.MAX]}" \
		"${R[$r.SLOW]}" "${R[$r.LOST]}" "$(sb_ratio "${R[$r.RATE]}" "${R[$3.RATE]}")" \
		"$(sb_secs "${R[$r.D1]}")" "$(sb_secs "${R[$r.T1]}")" \
		"$(sb_per1k "${R[$r.D1]}" "${R[$r.ECHOED]}")" "$(sb_per1k "${R[$r.T1]}" "${R[$r.ECHOED]}")"
}
sb_row "VIPA, 1 client" vipa1 direct1
sb_row "direct, 1 client" direct1 direct1
sb_row "VIPA, $nclients clients" vipaN directN
sb_row "direct, $nclients clients" directN directN
echo "# packets per message: d1 forwarded $(sb_ratio "${R[vipa1.FWD]}" "${R[vipa1.ECHOED]}")" \
	"(1 client), $(sb_ratio "${R[vipaN.FWD]}" "${R[vipaN.ECHOED]}") ($nclients clients); t1" \
	"rewrote $(sb_ratio "${R[vipa1.TGT]}" "${R[vipa1.ECHOED]}")," \
	"$(sb_ratio "${R[vipaN.TGT]}" "${R[vipaN.ECHOED]}")"
echo "# clusterd CPU s by thread, VIPA 1 client: ${R[vipa1.SPLIT]}"
echo "# clusterd CPU s by thread, VIPA $nclients clients: ${R[vipaN.SPLIT]}"
echo "# seconds from the go to the last client's exit: ${R[vipa1.WALL]} ${R[direct1.WALL]}" \
	"${R[vipaN.WALL]} ${R[directN.WALL]}"
failed=0
for r in vipa1 direct1 vipaN directN; do failed=$((failed + ${R[$r.FAILED]:-1})); done
[ "$failed" -gt 0 ] &&
	echo "# clients without a clean end (lost messages, COMM_LOST or bad echoes): $failed"
cat <<EOT
# msgs/s: echoes over the longest client's span from COMM_UP to its close; mean rtt: span over
# echoes (one message in flight a client); median (0.1 ms steps) and max from sctp_peer's
# summary (it has no p99); slow: round trips of 100 ms or more (16 a client listed at most).
# CPU: clusterd's utime + stime on d1 and t1 over the run; the direct rows show the daemons'
# idle cost (heartbeats, probes, replication) over a run of that length.  It includes kernel
# work done in the daemon's calls: the verdict's sendto carries the packet on, often as far as
# its delivery to the sockets of the next namespace.  Every usrsctp process on C sees every
# SCTP packet of C (raw sockets): with $nclients clients each packet is handled $nclients times
# on the client side, for both paths alike.
EOT
exit 0
