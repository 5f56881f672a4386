#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# perf_bench.sh: upload, download, new connections/s and 1-byte request/response latency
# through a VIPA, for three paths on one namespace topology (client - router - LAN with d1
# distributing VIPA 10.2.0.100 to t1), one after the other in one run (issue 14):
#   kernel  the same stateless rewrite done by nftables rules (vipa_bench.sh's, nt_knat_on)
#   off     clusterd on d1 and t1, daemon.fastpath = false (every packet through NFQUEUE)
#   on      clusterd on d1 and t1, daemon.fastpath = true (skipped, with a note, when the
#           daemon refuses the option)
# Prints a table with the ratios to the kernel path, writes OUTDIR/perf.tsv and, when gnuplot
# is installed, a PNG (ratios to the kernel path; latency).  Never fails on figures; exits 1
# when a tool it needs is missing, 2 on bad options.
#
#   bench/perf_bench.sh [-t SECONDS] [-c WRK_CONNS] [-n CONNECTIONS] [-r REQUESTS]
#                       [-o OUTDIR] [-p PNG]
#   bench/perf_bench.sh -P TSV [-p PNG]      (only the plot, from a data file of a run)
#   defaults: 10 s per throughput run, 16 wrk connections, 2000 sequential connections (the
#   python loop, without wrk and nginx), 20000 round trips, OUTDIR bench/, PNG OUTDIR/perf.png
#   env: CLUSTERD, CLUSTERCTL, RR (default: bench/rr of CLUSTERD's build directory),
#        NT_WORKERS (clusterd's workers, 2), PB_NGINX_WORKERS (2), PB_CONNS=python (the
#        python loop even where wrk and nginx are installed), PB_PERF=FILE (perf record -g
#        of d1's clusterd for SECONDS from the start of measurement PB_PERF_RUN (up, down,
#        conn, rr; default up) of path PB_PERF_PATH (off, on; default off), into FILE)
secs=10
wconns=16
nconn=2000
nreq=20000
outdir=
png=
plot_from=
while getopts "t:c:n:r:o:p:P:h" o; do
	case $o in
	t) secs=$OPTARG ;;
	c) wconns=$OPTARG ;;
	n) nconn=$OPTARG ;;
	r) nreq=$OPTARG ;;
	o) outdir=$OPTARG ;;
	p) png=$OPTARG ;;
	P) plot_from=$OPTARG ;;
	*) sed -n '2,26p' "$0"; exit 2 ;;
	esac
done
case "$secs$wconns$nconn$nreq" in
*[!0-9]*) echo "perf_bench.sh: -t, -c, -n and -r take numbers" >&2; exit 2 ;;
esac
if [ "$secs" -lt 1 ] || [ "$secs" -gt 600 ] || [ "$wconns" -lt 1 ] || [ "$wconns" -gt 1000 ] ||
   [ "$nconn" -lt 1 ] || [ "$nconn" -gt 1000000 ] || [ "$nreq" -lt 1 ] ||
   [ "$nreq" -gt 10000000 ]; then
	echo "perf_bench.sh: -t 1..600, -c 1..1000, -n 1..1000000, -r 1..10000000" >&2
	exit 2
fi
# ---------------------------------------------------------------- figures and plot
# (before the harness: -P draws from a data file alone, without root)

PATHS="kernel off on"
declare -A V	# V[PATH.METRIC]: the figures of a path (kernel, off, on)

# METRICS: key|unit|label of every row of the table and the data file; up, down and conn are
# "higher is better" and plotted as ratios to the kernel path, rr_median and rr_p99 as they are.
METRICS="up|Mbit/s|upload (iperf3)
down|Mbit/s|download (iperf3 -R)
conn|1/s|new connections
rr_median|us|latency median (rr)
rr_p99|us|latency p99 (rr)
added_median|us|added latency median
added_p99|us|added latency p99
q1_conn|pkts|d1 queued per connection
qt_conn|pkts|t1 queued per connection
q1_up|%|d1 queued, upload packets
qt_down|%|t1 queued, download packets
q1_rr|pkts|d1 queued per round trip
qt_rr|pkts|t1 queued per round trip
up_rtx|segs|retransmitted, upload
down_rtx|segs|retransmitted, download
qdrop_up|pkts|dropped at the queues, upload
qdrop_down|pkts|dropped at the queues, download
qdrop_conn|pkts|dropped at the queues, connections
cpu_up|s|clusterd CPU d1+t1, upload
cpu_down|s|clusterd CPU d1+t1, download
cpu_conn|s|clusterd CPU d1+t1, connections"

# fig PATH METRIC: the figure or "-".
# RATIOS: the metrics whose ratio to the kernel path means something (the others: "-").
RATIOS=" up down conn rr_median rr_p99 "
fig() { local v=${V[$1.$2]:-}; echo "${v:--}"; }
# ratio A B: A / B with 2 decimals, "-" when either is missing.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && a + 0 > 0 && b + 0 > 0)
		printf "%.2f", a / b; else printf "-" }'
}
# diff1 A B: A - B (1 decimal), "-" when either is missing.
diff1()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && a != "" && b != "")
		printf "%.1f", a - b; else printf "-" }'
}
# per A B [FMT]: A / B, "-" when B is 0 or missing.
per()
{
	awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0)
		printf f, a / b; else printf "-" }'
}
# ran PATH: PATH has a figure.
ran() { [ "$(fig "$1" up)" != - ] || [ "$(fig "$1" conn)" != - ] || [ "$(fig "$1" rr_median)" != - ]; }

# pb_block NAME KEYS RATIO COLS: a gnuplot data block, one row per metric key: its short
# name, then one column per path of COLS (the ratio to the kernel path when RATIO is 1, else
# the figure itself); with RATIO, also the kernel's figure and unit (for the axis).
pb_block()
{
	local k p v
	echo "\$$1 << EOD"
	for k in $2; do
		printf '"%s"' "$(grep "^$k|" <<<"$METRICS" | cut -d'|' -f3 |
			sed 's/ (.*//; s/latency //; s/new connections/new conn\/s/')"
		for p in $4; do
			if [ "$3" = 1 ]; then v=$(ratio "$(fig "$p" "$k")" "$(fig kernel "$k")")
			else v=$(fig "$p" "$k"); fi
			printf ' %s' "$v"
		done
		[ "$3" = 1 ] && printf ' "%s" "%s"' "$(fig kernel "$k")" \
			"$(grep "^$k|" <<<"$METRICS" | cut -d'|' -f2 | sed 's|^1/s|/s|')"
		echo
	done
	echo EOD
}

# pb_plot PNG TITLE: draws the figures of the paths that ran: left, upload, download and new
# connections as ratios to the kernel path; right, the latency's median and p99.  Prints
# gnuplot's complaints; non-zero if it failed.
pb_plot()
{
	local png=$1 title=$2 gp cols="" titles="" p t n i x rc blk fmt
	for p in $PATHS; do
		ran "$p" || continue
		case $p in kernel) t="kernel (nft)" ;; *) t="clusterd fastpath=$p" ;; esac
		cols="$cols $p" titles="$titles|$t"
	done
	n=$(echo $cols | wc -w)
	[ "$n" -gt 0 ] || { echo "no figures to plot"; return 1; }
	gp=$(mktemp) || return 1
	{
		echo "set terminal pngcairo size 1200,560 font 'sans,10'"
		echo "set output '$png'"
		pb_block ratios "up down conn" 1 "$cols"
		pb_block lat "rr_median rr_p99" 0 "$cols"
		cat <<EOF
set datafile missing '-'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 1
set grid ytics
set key top left
set yrange [0:*]
set bmargin 5
set multiplot layout 1,2 title "$title"
set title "throughput and new connections: ratio to the kernel path (higher is better)"
set ylabel "path / kernel"
set offsets 0, 0, graph 0.1, 0
EOF
		for blk in ratios lat; do
			if [ "$blk" = lat ]; then
				cat <<EOF
set title "request/response latency, 1 byte (lower is better)"
set ylabel "microseconds"
EOF
			fi
			i=0
			for p in $cols; do
				t=$(echo "$titles" | cut -d'|' -f$((i + 2)))
				# the centre of bar i of n in a cluster (gap 1: bars 1/(n+1) wide)
				x="(\$0 + ($i - ($n - 1) / 2.0) / ($n + 1.0))"
				if [ "$i" != 0 ]; then
					printf ', \\\n\t$%s using %d title "%s"' "$blk" $((i + 2)) "$t"
				elif [ "$blk" = ratios ]; then
					printf 'plot $ratios using 2:xtic(sprintf("%%s\\nkernel:\\n%%s %%s", strcol(1), strcol(%d), strcol(%d))) title "%s"' \
						$((n + 2)) $((n + 3)) "$t"
				else
					printf 'plot $lat using 2:xtic(1) title "%s"' "$t"
				fi
				fmt='%.2f'
				[ "$blk" = lat ] && fmt='%.0f'
				printf ', \\\n\t$%s using %s:%d:(sprintf("%s", $%d)) with labels offset 0,0.6 notitle' \
					"$blk" "$x" $((i + 2)) "$fmt" $((i + 2))
				i=$((i + 1))
			done
			echo
		done
		echo "unset multiplot"
	} >"$gp"
	gnuplot "$gp" 2>&1
	rc=$?
	rm -f "$gp"
	return $rc
}

if [ -n "$plot_from" ]; then
	[ -f "$plot_from" ] || { echo "perf_bench.sh: no data file $plot_from" >&2; exit 1; }
	command -v gnuplot >/dev/null 2>&1 ||
		{ echo "perf_bench.sh: gnuplot missing (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
	while IFS=$'\t' read -r k _ a b c _; do
		case $k in '' | '#'* | metric) continue ;; esac
		V[kernel.$k]=$a V[off.$k]=$b V[on.$k]=$c
	done <"$plot_from"
	title=$(sed -n 's/^# plot-title: //p' "$plot_from")
	png=${png:-$(dirname "$plot_from")/perf.png}
	pb_plot "$png" "${title:-clusterd against the kernel path}" || exit 1
	echo "plot: $png"
	exit 0
fi

cmdline="$0 $*"
here=$(cd "$(dirname "$0")" && pwd)
outdir=${outdir:-$here}
. "$here/../tests/netns/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "perf_bench.sh: needs root (network namespaces)" >&2; exit 1; }
RR=${RR:-$(dirname "$CLUSTERD")/bench/rr}

# ---------------------------------------------------------------- tools

miss=""
for c in ip nft iperf3 ss timeout "$PY"; do
	command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
done
if [ -n "$miss" ]; then
	echo "perf_bench.sh: missing:$miss (Debian: apt-get install iproute2 nftables iperf3" \
		"python3)" >&2
	exit 1
fi
if [ -n "${PB_PERF:-}" ] && ! command -v perf >/dev/null 2>&1; then
	echo "perf_bench.sh: PB_PERF set but perf missing (Debian: apt-get install linux-perf)" >&2
	exit 1
fi
if [ ! -x "$CLUSTERD" ] || [ ! -x "$CLUSTERCTL" ]; then
	echo "perf_bench.sh: no clusterd binaries (CLUSTERD=$CLUSTERD CLUSTERCTL=$CLUSTERCTL):" \
		"build them (configure && make) or set CLUSTERD and CLUSTERCTL" >&2
	exit 1
fi
if [ ! -x "$RR" ]; then
	echo "perf_bench.sh: no latency probe at $RR: \`make bench-tools\` in the build" \
		"directory of $CLUSTERD, or set RR" >&2
	exit 1
fi
mkdir -p "$outdir" || { echo "perf_bench.sh: cannot create $outdir" >&2; exit 1; }
outdir=$(cd "$outdir" && pwd)
png=${png:-$outdir/perf.png}
if [ "${PB_CONNS:-}" = python ]; then
	conn_mode=python
elif command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1; then
	conn_mode=wrk
else
	conn_mode=python
	nt_log "wrk or nginx missing (Debian: apt-get install wrk nginx-light): new connections" \
		"are measured with the python loop of vipa_bench.sh ($nconn sequential connections)"
fi
have_gnuplot=0
command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1 ||
	nt_log "gnuplot missing (Debian: apt-get install gnuplot-nox): no PNG"

# pb_build: what the daemon was linked with (a sanitizer build is much slower).
pb_build()
{
	if grep -aq __asan_init "$CLUSTERD" 2>/dev/null; then
		echo "ASan+UBSan build (slower than a release build)"
	elif grep -aq __tsan_init "$CLUSTERD" 2>/dev/null; then
		echo "TSan build (slower than a release build)"
	else
		echo "release build"
	fi
}

RRPORT=7007		# the latency probe's service: VIPA:7007 -> t1:7007
HZ=$(getconf CLK_TCK)
CLIENT=${NT_IP4[c]}

# ---------------------------------------------------------------- probes

# pb_rx HOST: HOST's packets.received (packets its workers read from the queue); 0 without a
# daemon.
pb_rx()
{
	nt_alive "clusterd-$1" || { echo 0; return; }
	nt_stat "$1" "j['packets']['received']" 2>/dev/null || echo 0
}

# pb_cpu HOST: utime + stime of HOST's clusterd (all threads) in clock ticks; 0 without one.
pb_cpu()
{
	local v=0
	[ -f "$NT_WORK/clusterd-$1.pid" ] &&
		v=$(sed 's/.*) //' "/proc/$(cat "$NT_WORK/clusterd-$1.pid")/stat" 2>/dev/null |
			awk '{print $12 + $13}')
	echo "${v:-0}"
}

# pb_nft HOST: packets of HOST's counter `seen` (d1: everything to the VIPA, at prerouting
# before any other chain; t1: everything t1 sends to the client, at output before any other).
pb_nft()
{
	nt_x "$1" nft list counter inet perfbench seen 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# pb_tcp NAME: a counter of the Tcp line of the client's /proc/net/snmp.
pb_tcp()
{
	nt_x c awk -v n="$1" '$1 == "Tcp:" { if (!k) { for (i = 2; i <= NF; i++)
		if ($i == n) k = i } else { print $k; exit } }' /proc/net/snmp
}

# pb_qdrop HOST: packets the kernel dropped at HOST's queues (queue full, or the daemon's
# netlink socket full: queue_dropped + user_dropped of every queue there).
pb_qdrop()
{
	nt_x "$1" awk '{ n += $6 + $7 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue \
		2>/dev/null || echo 0
}

# pb_snap: "d1rx t1rx d1nft t1nft d1cpu t1cpu opens qdrops" now.
pb_snap()
{
	echo "$(pb_rx d1) $(pb_rx t1) $(pb_nft d1) $(pb_nft t1) $(pb_cpu d1) $(pb_cpu t1)" \
		"$(pb_tcp ActiveOpens) $(( $(pb_qdrop d1) + $(pb_qdrop t1) ))"
}

# pb_around PATH METRIC CMD...: runs CMD (which sets the figure itself) and records, for
# PATH.METRIC, the daemons' queued packets (Q1: d1, QT: t1), the packets the nft counters saw
# (N1, NT), the daemons' CPU seconds (C1, CT) and the client's new connections (OPENS).
pb_around()
{
	local p=$1 m=$2 a b
	shift 2
	read -ra a <<<"$(pb_snap)"
	"$@"
	read -ra b <<<"$(pb_snap)"
	V[$p.$m.q1]=$((b[0] - a[0]))
	V[$p.$m.qt]=$((b[1] - a[1]))
	V[$p.$m.n1]=$((${b[2]:-0} - ${a[2]:-0}))
	V[$p.$m.nt]=$((${b[3]:-0} - ${a[3]:-0}))
	V[$p.$m.c1]=$(awk -v d=$((b[4] - a[4])) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
	V[$p.$m.ct]=$(awk -v d=$((b[5] - a[5])) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
	V[$p.$m.opens]=$((b[6] - a[6]))
	V[$p.$m.qdrop]=$((b[7] - a[7]))
	nt_log "$p $m: queued d1 ${V[$p.$m.q1]} t1 ${V[$p.$m.qt]} of ${V[$p.$m.n1]} to the" \
		"VIPA, ${V[$p.$m.nt]} from t1; clusterd CPU d1 ${V[$p.$m.c1]} s t1" \
		"${V[$p.$m.ct]} s; ${V[$p.$m.opens]} client connections; ${V[$p.$m.qdrop]} dropped" \
		"at the queues"
}

# ---------------------------------------------------------------- measurements

# pb_iperf PATH up|down: iperf3 to VIPA:5201 for $secs s (down: -R, t1 sends); Mbit/s the
# receiver got.
pb_iperf()
{
	local p=$1 d=$2 rev="" f
	[ "$d" = down ] && rev=-R
	f=$NT_WORK/iperf-$p-$d.json
	nt_x c timeout $((secs + 20)) iperf3 -c "$NT_VIP4" -p 5201 -t "$secs" $rev -J >"$f" 2>&1
	V[$p.$d]=$(nt_json "'%.0f' % (j['end']['sum_received']['bits_per_second'] / 1e6)" \
		<"$f" 2>/dev/null) || V[$p.$d]=-
	[ -n "${V[$p.$d]}" ] || V[$p.$d]=-
	# the sender's retransmitted segments (the client's, or t1's with -R)
	V[$p.${d}_rtx]=$(nt_json "j['end']['sum_sent'].get('retransmits', '-')" <"$f" 2>/dev/null) ||
		V[$p.${d}_rtx]=-
	[ "${V[$p.$d]}" = - ] && nt_log "$p $d: iperf3 gave no figure: $(head -c 300 "$f")"
}

# pb_conns PATH: new connections/s to VIPA:80 (t1's nginx, or the tiny server): wrk with
# `Connection: close` for $secs s, else $nconn sequential python connections.  Failed
# connections or requests in V[PATH.conn_err].
pb_conns()
{
	local p=$1 out line req dur ec er ew et st
	out=$NT_WORK/conns-$p.log
	if [ "$conn_mode" = wrk ]; then
		nt_x c timeout $((secs + 30)) wrk -t 2 -c "$wconns" -d "${secs}s" --timeout 5s \
			-H "Connection: close" -s "$NT_WORK/count.lua" "http://$NT_VIP4/" >"$out" 2>&1
		line=$(grep '^WRK ' "$out" | tail -n 1)
		if [ -z "$line" ]; then
			nt_log "$p: wrk printed no summary: $(head -c 300 "$out")"
			V[$p.conn]=- V[$p.conn_err]=-
			return
		fi
		read -r _ req dur ec er ew et st <<<"$line"
		V[$p.conn]=$(awk -v r="$req" -v d="$dur" \
			'BEGIN { printf "%.0f", (d > 0 ? r * 1e6 / d : 0) }')
		V[$p.conn_err]=$((ec + er + ew + et + st))
		V[$p.conn_n]=$req
	else
		nt_x c timeout 300 "$PY" -c 'import socket, sys, time
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
print("PY %d %d %d" % (ok, bad, (time.monotonic() - t0) * 1e6))' "$NT_VIP4" "$nconn" >"$out" 2>&1
		line=$(grep '^PY ' "$out" | tail -n 1)
		if [ -z "$line" ]; then
			nt_log "$p: the connection loop printed nothing: $(head -c 300 "$out")"
			V[$p.conn]=- V[$p.conn_err]=-
			return
		fi
		read -r _ req st dur <<<"$line"
		V[$p.conn]=$(awk -v r="$req" -v d="$dur" \
			'BEGIN { printf "%.0f", (d > 0 ? r * 1e6 / d : 0) }')
		V[$p.conn_err]=$st
		V[$p.conn_n]=$req
	fi
}

# pb_rr PATH: $nreq 1-byte round trips on one connection to VIPA:7007 (rr); median, p90,
# p99, max in microseconds.
pb_rr()
{
	local p=$1 out line k
	out=$NT_WORK/rr-$p.log
	nt_x c timeout 300 "$RR" client "$NT_VIP4" "$RRPORT" -n "$nreq" -w 200 >"$out" 2>&1
	line=$(grep '^n=' "$out" | tail -n 1)
	for k in median p90 p99 max; do
		V[$p.rr_$k]=$(echo "$line" | tr ' ' '\n' | awk -F= -v k="${k}_us" '$1 == k {print $2}')
		[ -n "${V[$p.rr_$k]}" ] || V[$p.rr_$k]=-
	done
	[ -n "$line" ] || nt_log "$p: rr failed: $(head -c 300 "$out")"
}

# pb_prof PATH METRIC CMD...: runs CMD; with PB_PERF set, and PATH and METRIC those of
# PB_PERF_PATH (default off) and PB_PERF_RUN (up, down, conn or rr; default up), under a
# `perf record -g` of d1's daemon for $secs seconds, into the file PB_PERF.
pb_prof()
{
	local p=$1 m=$2 pid
	shift 2
	if [ -z "${PB_PERF:-}" ] || [ "$p" != "${PB_PERF_PATH:-off}" ] ||
	   [ "$m" != "${PB_PERF_RUN:-up}" ]; then
		"$@"
		return
	fi
	perf record -q -g -F "${PB_PERF_HZ:-2000}" -o "$PB_PERF" \
		-p "$(cat "$NT_WORK/clusterd-d1.pid")" -- sleep "$secs" 2>"$NT_WORK/perf.log" &
	pid=$!
	"$@"
	wait "$pid" || nt_log "perf record failed: $(head -c 300 "$NT_WORK/perf.log")"
}

# pb_all PATH: the four measurements on the path that is set up.
pb_all()
{
	local p=$1
	nt_log "$p: upload ($secs s)"
	pb_prof "$p" up pb_around "$p" up pb_iperf "$p" up
	nt_log "$p: download ($secs s)"
	pb_prof "$p" down pb_around "$p" down pb_iperf "$p" down
	nt_log "$p: new connections ($conn_mode)"
	pb_prof "$p" conn pb_around "$p" conn pb_conns "$p"
	nt_log "$p: latency ($nreq round trips)"
	pb_prof "$p" rr pb_around "$p" rr pb_rr "$p"
	nt_log "$p: up ${V[$p.up]} down ${V[$p.down]} Mbit/s, ${V[$p.conn]} conn/s" \
		"(${V[$p.conn_err]} failed), rr median ${V[$p.rr_median]} p99 ${V[$p.rr_p99]} us"
}

# pb_conf on|off FILE: writes the configuration with daemon.fastpath = true|false to FILE and
# has the daemon check it (--check-config); non-zero, with the daemon's words, if it refuses.
pb_conf()
{
	local v=false
	[ "$1" = on ] && v=true
	sed "s/^daemon = { workers = \([0-9]*\);[^}]*};/daemon = { workers = \1; fastpath = $v; };/" \
		"$NT_WORK/base.conf" >"$2"
	grep -q "fastpath = $v;" "$2" || { echo "base configuration has no daemon line"; return 1; }
	"$CLUSTERD" --check-config -f "$2" -n d1 2>&1
}

# pb_clusterd PATH: clusterd on d1 and t1 with PATH's configuration, measured, stopped.
pb_clusterd()
{
	local p=$1 left
	nt_cd_start d1 && nt_cd_start t1 || {
		nt_log "$p: clusterd did not start"; return 1; }
	if ! nt_wait_listening d1 1 80 tcp 20 "$NT_VIP4" ||
	   ! NT_EXPECT=True nt_wait_until 10 nt_is nt_target_listening d1 t1 5201 tcp ||
	   ! NT_EXPECT=True nt_wait_until 10 nt_is nt_target_listening d1 t1 "$RRPORT" tcp; then
		nt_log "$p: d1 does not see t1 listening on 80 (8080), 5201 and $RRPORT"
		nt_ctl d1 targets >&2
	else
		pb_all "$p"
		nt_ctl d1 stats --json >"$NT_WORK/stats-$p-d1.json" 2>/dev/null
		nt_ctl t1 stats --json >"$NT_WORK/stats-$p-t1.json" 2>/dev/null
	fi
	nt_cd_stop d1
	nt_cd_stop t1
	# the next path starts clean: no address, no table left behind by the daemon
	nt_x d1 ip addr del "$NT_VIP4/32" dev lan0 2>/dev/null
	for h in d1 t1; do
		left=$(nt_x "$h" nft list tables 2>/dev/null | grep -v perfbench)
		[ -z "$left" ] || nt_log "$p: left in $h after the daemon stopped: $left"
	done
	nt_x r ip neigh flush dev lan0 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- setup

nt_topo_up || { echo "perf_bench.sh: topology failed" >&2; exit 1; }
nt_log "perf_bench: $(pb_build), $(nt_load), work dir $NT_WORK"
# Many short connections: wide port ranges, TIME-WAIT reuse where connections start.
for h in c t1; do
	nt_x "$h" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" >/dev/null
	nt_x "$h" sysctl -qw net.ipv4.tcp_tw_reuse=1 >/dev/null
done

# The configuration of every clusterd path: the harness's, VIPA:80 to t1 only, and the rr
# service VIPA:RRPORT -> t1:RRPORT.
NT_FASTPATH=on NT_TARGETS80='"t1"' nt_write_config "$NT_WORK/base.conf"
sed -i "/port = 5201; protocol = \"tcp\"/a\\
      { port = $RRPORT; protocol = \"tcp\"; targets = ( \"t1\" ); }," "$NT_WORK/base.conf"
grep -q "port = $RRPORT;" "$NT_WORK/base.conf" ||
	{ echo "perf_bench.sh: could not add the rr service to the configuration" >&2; exit 1; }

# servers on t1: iperf3, rr, and nginx (or the tiny server) on 8080
nt_bg t1 iperf3 iperf3 -s -p 5201
nt_bg t1 rr "$RR" server "$RRPORT"
if [ "$conn_mode" = wrk ]; then
	chmod 755 "$NT_WORK"
	mkdir -p "$NT_WORK/www" "$NT_WORK/nginx"
	printf 'perf_bench\n' >"$NT_WORK/www/index.html"
	chmod -R a+rX "$NT_WORK/www"
	cat >"$NT_WORK/nginx/nginx.conf" <<EOF
worker_processes ${PB_NGINX_WORKERS:-2};
pid $NT_WORK/nginx/nginx.pid;
error_log $NT_WORK/nginx/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	default_type text/plain;
	server {
		listen 8080 reuseport backlog=4096;
		root $NT_WORK/www;
	}
}
EOF
	nt_bg t1 nginx nginx -c "$NT_WORK/nginx/nginx.conf" -g 'daemon off;'
	# wrk's summary, exactly: "WRK requests duration_us connect read write timeout non-2xx"
	cat >"$NT_WORK/count.lua" <<'EOF'
done = function(s, latency, requests)
	local e = s.errors
	io.write(string.format("WRK %d %d %d %d %d %d %d\n", s.requests, s.duration,
		e.connect, e.read, e.write, e.timeout, e.status))
end
EOF
else
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
fi
for port in 5201 8080 "$RRPORT"; do
	nt_wait_until 10 nt_listening t1 tcp "$port" || {
		echo "perf_bench.sh: no server on t1:$port" >&2
		nt_dump_logs iperf3 rr nginx tinysrv >&2
		exit 1; }
done

# counters ahead of every other chain: what d1 receives for the VIPA, what t1 sends the client
nt_x d1 nft -f - <<NFT || { echo "perf_bench.sh: nft counter on d1 failed" >&2; exit 1; }
table inet perfbench {
	counter seen { }
	chain pre {
		type filter hook prerouting priority -500; policy accept;
		ip daddr $NT_VIP4 counter name seen
	}
}
NFT
nt_x t1 nft -f - <<NFT || { echo "perf_bench.sh: nft counter on t1 failed" >&2; exit 1; }
table inet perfbench {
	counter seen { }
	chain out {
		type filter hook output priority -500; policy accept;
		ip daddr $CLIENT counter name seen
	}
}
NFT

# ---------------------------------------------------------------- the three paths

declare -A NOTE

nt_log "kernel: nftables rewrite on d1 and t1"
if nt_knat_on t1 80 8080 && nt_knat_on t1 5201 5201 && nt_knat_on t1 "$RRPORT" "$RRPORT"; then
	pb_all kernel
else
	NOTE[kernel]="the nftables rewrite could not be set up"
fi
nt_knat_off t1

for p in off on; do
	if ! msg=$(pb_conf "$p" "$NT_WORK/clusterd.conf"); then
		if [ "$p" = off ] && echo "$msg" | grep -qi fastpath; then
			# a daemon before the fast path: the queue is its only path
			sed 's/ fastpath = false;//' "$NT_WORK/clusterd.conf" >"$NT_WORK/c.tmp" &&
				mv "$NT_WORK/c.tmp" "$NT_WORK/clusterd.conf"
			NOTE[off]="no fastpath option in this daemon: its only (userspace) path"
		else
			NOTE[$p]="skipped: the daemon refuses fastpath = $([ "$p" = on ] &&
				echo true || echo false): $(echo "$msg" | head -n 2 | tr '\n' ' ')"
			nt_log "$p: ${NOTE[$p]}"
			continue
		fi
	fi
	nt_log "$p: clusterd with fastpath $p"
	pb_clusterd "$p" || NOTE[$p]="clusterd did not start"
done

# ---------------------------------------------------------------- report

# derived figures per path
for p in $PATHS; do
	V[$p.added_median]=$(diff1 "$(fig "$p" rr_median)" "$(fig kernel rr_median)")
	V[$p.added_p99]=$(diff1 "$(fig "$p" rr_p99)" "$(fig kernel rr_p99)")
	if [ "$p" = kernel ] || ! ran "$p"; then
		for k in q1_conn qt_conn q1_up qt_down q1_rr qt_rr cpu_up cpu_down cpu_conn \
			qdrop_up qdrop_down qdrop_conn; do
			V[$p.$k]=-
		done
		[ "$p" = kernel ] && ran kernel && for k in q1_conn qt_conn q1_up qt_down q1_rr qt_rr; do
			V[$p.$k]=0
		done
		continue
	fi
	# connections: the client's TCP ActiveOpens over the run (wrk's last ones may not have
	# finished a request), else the requests that succeeded
	n=$(fig "$p" conn.opens)
	[ "$n" != - ] && [ "$n" -gt 0 ] || n=${V[$p.conn_n]:-0}
	V[$p.q1_conn]=$(per "$(fig "$p" conn.q1)" "$n")
	V[$p.qt_conn]=$(per "$(fig "$p" conn.qt)" "$n")
	# the share of the packets of a transfer that crossed to userspace, in %
	V[$p.q1_up]=$(per "$(( $(fig "$p" up.q1) * 100 ))" "$(fig "$p" up.n1)" %.0f)
	V[$p.qt_down]=$(per "$(( $(fig "$p" down.qt) * 100 ))" "$(fig "$p" down.nt)" %.0f)
	# rr's warm-up round trips (200) went the same way
	V[$p.q1_rr]=$(per "$(fig "$p" rr.q1)" "$((nreq + 200))" %.2f)
	V[$p.qt_rr]=$(per "$(fig "$p" rr.qt)" "$((nreq + 200))" %.2f)
	for m in up down conn; do
		V[$p.qdrop_$m]=$(fig "$p" $m.qdrop)
		V[$p.cpu_$m]=$(awk -v a="$(fig "$p" $m.c1)" -v b="$(fig "$p" $m.ct)" \
			'BEGIN { printf "%.2f", a + b }')
	done
done

if [ "$conn_mode" = wrk ]; then
	conn_how="wrk -t 2 -c $wconns -d ${secs}s, Connection: close, nginx on t1"
else
	conn_how="$nconn sequential python connections to a tiny server on t1"
fi
tsv=$outdir/perf.tsv
{
	echo "# perf_bench.sh $(date -u +%FT%TZ): $cmdline"
	echo "# $(uname -r), $(nproc) CPUs, $(nt_load) at the end, clusterd $(pb_build), $CLUSTERD"
	echo "# iperf3 ${secs} s; new connections: $conn_how; rr: $nreq round trips"
	for p in $PATHS; do [ -z "${NOTE[$p]:-}" ] || echo "# $p: ${NOTE[$p]}"; done
	echo "# plot-title: clusterd against the kernel path ($(nproc) CPUs, $(date -u +%F);" \
		"$(pb_build))"
	printf 'metric\tunit\tkernel\tfastpath_off\tfastpath_on\tratio_off\tratio_on\n'
	while IFS='|' read -r k u _; do
		ro=- rn=-
		if [ "${RATIOS#* $k }" != "$RATIOS" ]; then
			ro=$(ratio "$(fig off "$k")" "$(fig kernel "$k")")
			rn=$(ratio "$(fig on "$k")" "$(fig kernel "$k")")
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$u" "$(fig kernel "$k")" \
			"$(fig off "$k")" "$(fig on "$k")" "$ro" "$rn"
	done <<<"$METRICS"
} >"$tsv"

echo
echo "perf_bench.sh: clusterd against the kernel path ($(uname -r), $(nproc) CPUs," \
	"$(nt_load) at the end; $(pb_build))"
echo "  command: $cmdline"
echo "  iperf3 ${secs} s each way; new connections: $conn_how; rr: $nreq round trips of 1 byte"
for p in $PATHS; do [ -z "${NOTE[$p]:-}" ] || echo "  $p: ${NOTE[$p]}"; done
printf '%-40s %10s %12s %6s %12s %6s\n' "" kernel fastpath=off ratio fastpath=on ratio
while IFS='|' read -r k u l; do
	ro="" rn=""
	if [ "${RATIOS#* $k }" != "$RATIOS" ]; then
		ro=$(ratio "$(fig off "$k")" "$(fig kernel "$k")")
		rn=$(ratio "$(fig on "$k")" "$(fig kernel "$k")")
	fi
	printf '%-40s %10s %12s %6s %12s %6s\n' "$l, $u" "$(fig kernel "$k")" "$(fig off "$k")" \
		"$ro" "$(fig on "$k")" "$rn"
done <<<"$METRICS"
echo "  ratios are path / kernel: above 1 is better for throughput and connections, worse for"
echo "  latency; added latency = path - kernel.  Failed connections: kernel" \
	"$(fig kernel conn_err), off $(fig off conn_err), on $(fig on conn_err)."
# the daemons' own fast-path counters at the end of each clusterd run, where they have any
for f in "$NT_WORK"/stats-*-*.json; do
	[ -f "$f" ] || continue
	line=$("$PY" -c 'import json, sys
def walk(o, pfx):
	if isinstance(o, dict):
		for k, v in o.items():
			yield from walk(v, pfx + [str(k)])
	elif isinstance(o, (int, float)) and not isinstance(o, bool):
		yield ".".join(pfx), o
print(" ".join("%s=%s" % kv for kv in walk(json.load(open(sys.argv[1])), [])
	       if "fast" in kv[0]))' "$f" 2>/dev/null)
	[ -z "$line" ] || echo "  $(basename "$f" .json | sed 's/^stats-//'):" \
		"$line" | fold -s -w 100 | sed '2,$s/^/      /'
done
echo "  data: $tsv"
if [ "$have_gnuplot" = 1 ]; then
	if msg=$(pb_plot "$png" "clusterd against the kernel path ($(nproc) CPUs, $(date -u +%F);\
 $(pb_build))"); then
		echo "  plot: $png"
	else
		echo "  plot: gnuplot failed: $(echo "$msg" | head -c 400)"
	fi
else
	echo "  plot: none (gnuplot missing; Debian: apt-get install gnuplot-nox)"
fi
exit 0
