#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# repl_bench.sh: replication at scale (issue 14): how many connection updates per second the
# sync channel carries from the distributor d1 to its backup d2, and with what lag, while d1
# distributes as many new connections per second as this machine can make.  One run of the
# namespace topology of tests/netns/lib.sh (client c - router r - LAN with d1, d2, t1-t3;
# VIPA 10.2.0.100:80 -> t1, t2, t3:8080, nginx on each), once per sync mode.
#
# For each mode: wrk (`Connection: close`, every request a new connection) for SECONDS; a
# sampler in d1's namespace reads d1's and d2's /metrics every SAMPLE_MS (20) during the load
# and after it; then it reports d1's records sent to d2 per second, d2's records received,
# the lag (clusterd_replication_lag_seconds{node="d2"}: median, p99, max over the load), the
# backlog, drops, retransmissions, the time from the end of the load until d2's replica count
# equals d1's table (bounded by SETTLE s), and the CPU seconds of every process of the run.
# Prints a table with the ratios to the issue's goal (50,000 updates/s, lag under 50 ms) and
# says whether it was met.  Never fails on figures; exits 1 when a tool or the daemon is
# missing, 2 on bad options.
#
#   bench/repl_bench.sh [-t SECONDS] [-P PARALLEL] [-w WRK_THREADS] [-m MODES] [-W SETTLE]
#                       [-s SAMPLE_MS] [-S RATE [-g PROCS]]
#   defaults: 10 s of load per mode, 64 parallel connections over 2 wrk threads, MODES
#   "every-update,periodic,on-event", SETTLE 30 s, SAMPLE_MS 20
#   -S RATE: synthetic connections instead of wrk: bench/synconns.py in PROCS processes (2)
#   sends SYN, ACK, FIN of RATE connections/s in all from raw sockets, the targets drop them
#   (nftables in their namespaces): only d1's side of a connection, without the client's,
#   the targets' and nginx's TCP work, to drive the replication harder than real
#   connections can on this machine.
#   env: CLUSTERD, CLUSTERCTL (release build for figures), NT_WORKERS (clusterd's workers, 2),
#        NT_FASTPATH (on, the default; off), RB_NGINX_WORKERS (nginx workers per target, 1),
#        RB_INTERVAL_MS (sync.interval_ms of the periodic mode, 200), RB_KEEP_DIR=DIR (copy
#        the samples, wrk output and stats of every mode there)
secs=10
par=64
wthreads=2
modes="every-update,periodic,on-event"
settle=30
sample_ms=20
syn_rate=0
syn_procs=2
while getopts "t:P:w:m:W:s:S:g:h" o; do
	case $o in
	t) secs=$OPTARG ;;
	P) par=$OPTARG ;;
	w) wthreads=$OPTARG ;;
	m) modes=$OPTARG ;;
	W) settle=$OPTARG ;;
	s) sample_ms=$OPTARG ;;
	S) syn_rate=$OPTARG ;;
	g) syn_procs=$OPTARG ;;
	*) sed -n '2,31p' "$0"; exit 2 ;;
	esac
done
case "$secs$par$wthreads$settle$sample_ms$syn_rate$syn_procs" in
*[!0-9]*) echo "repl_bench.sh: -t, -P, -w, -W, -s, -S and -g take numbers" >&2; exit 2 ;;
esac
if [ "$secs" -lt 1 ] || [ "$secs" -gt 600 ] || [ "$par" -lt 1 ] || [ "$par" -gt 10000 ] ||
   [ "$wthreads" -lt 1 ] || [ "$wthreads" -gt 64 ] || [ "$wthreads" -gt "$par" ] ||
   [ "$settle" -lt 1 ] || [ "$settle" -gt 600 ] || [ "$sample_ms" -lt 5 ] ||
   [ "$sample_ms" -gt 1000 ] || [ "$syn_rate" -gt 1000000 ] || [ "$syn_procs" -lt 1 ] ||
   [ "$syn_procs" -gt 16 ]; then
	echo "repl_bench.sh: -t 1..600, -P 1..10000, -w 1..64 (at most -P), -W 1..600," \
		"-s 5..1000, -S 0..1000000, -g 1..16" >&2
	exit 2
fi
modes=$(echo "$modes" | tr ',' ' ')
for m in $modes; do
	case $m in every-update | periodic | on-event) ;;
	*) echo "repl_bench.sh: -m: every-update, periodic, on-event (comma-separated)" >&2
	   exit 2 ;;
	esac
done

GOAL_RATE=50000		# issue 14: updates/s carried to a backup ...
GOAL_LAG_MS=50		# ... with under this lag
MPORT=9677		# every node's metrics endpoint (its own namespace)

cmdline="$0 $*"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/netns/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "repl_bench.sh: needs root (network namespaces)" >&2; exit 1; }

miss=""
for c in ip nft wrk nginx timeout "$PY"; do
	command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
done
if [ -n "$miss" ]; then
	echo "repl_bench.sh: missing:$miss (Debian: apt-get install iproute2 nftables wrk" \
		"nginx-light python3)" >&2
	exit 1
fi
if [ ! -x "$CLUSTERD" ] || [ ! -x "$CLUSTERCTL" ]; then
	echo "repl_bench.sh: no clusterd binaries (CLUSTERD=$CLUSTERD CLUSTERCTL=$CLUSTERCTL):" \
		"build them (configure && make) or set CLUSTERD and CLUSTERCTL" >&2
	exit 1
fi

# rb_build: what the daemon was linked with (a sanitizer build is much slower).
rb_build()
{
	if grep -aq __asan_init "$CLUSTERD" 2>/dev/null; then
		echo "ASan+UBSan build (slower than a release build)"
	elif grep -aq __tsan_init "$CLUSTERD" 2>/dev/null; then
		echo "TSan build (slower than a release build)"
	else
		echo "release build"
	fi
}

# ---------------------------------------------------------------- helpers (python)

# rb_write_sampler FILE: the sampler.  In d1's namespace, every SAMPLE_MS it reads d1's
# /metrics (127.0.0.1) and then d2's (over the LAN), and prints one line per round:
# "S <wall clock, ms> <d1 values...> <d2 values...>" ("-" for a value missing or a failed
# read; a name ending in "{*" sums the family's series).  Stops when the file STOP exists or
# after MAX seconds.  Its cost: two HTTP requests per round, answered by the daemons' main
# loops; with the fast path on, each of d1's also dumps its fast-path chains, which contends
# with the workers' map transactions (README: take rates with the fast path on from -s 200).
rb_write_sampler()
{
	cat >"$1" <<'EOF'
import socket, sys, time, os
d1, d2, port, every_ms, stop, maxs = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
K1 = ['clusterd_replication_lag_seconds{node="d2"}',
      'clusterd_replication_backlog_records{node="d2"}',
      'clusterd_sync_repl_records_sent_total', 'clusterd_conns_active',
      'clusterd_conns_created_total', 'clusterd_sync_repl_log_dropped_total',
      'clusterd_sync_repl_backlog_dropped_total', 'clusterd_sync_reliable_resent_total',
      'clusterd_sync_reliable_queue_full_total', 'clusterd_sync_reliable_sent_total',
      'clusterd_conns_reused_total', 'clusterd_sync_reliable_nacks_received_total',
      'clusterd_queue_kernel_dropped_total{*', 'clusterd_queue_packets_total{*',
      'clusterd_sync_nodes_declared_down_total']
K2 = ['clusterd_sync_repl_replicas', 'clusterd_sync_repl_records_received_total',
      'clusterd_sync_repl_store_full_total', 'clusterd_sync_reliable_nacks_sent_total',
      'clusterd_sync_nodes_declared_down_total', 'clusterd_sync_repl_replicas_expired_total']
def get(addr, keys):
    try:
        s = socket.create_connection((addr, port), timeout=1)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        buf = []
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf.append(d)
        s.close()
    except OSError:
        return ["-"] * len(keys)
    v = {}
    for line in b"".join(buf).decode(errors="replace").split("\n"):
        if line and line[0] != "#":
            k, _, x = line.rpartition(" ")
            v[k] = x
    def one(k):
        if not k.endswith("*"):
            return v.get(k, "-")
        # the sum of every series of the family (e.g. of every queue)
        x = [float(y) for n, y in v.items() if n.startswith(k[:-1])]
        return "%.0f" % sum(x) if x else "-"
    return [one(k) for k in keys]
print("H t_ms " + " ".join("d1:" + k for k in K1) + " " + " ".join("d2:" + k for k in K2),
      flush=True)
t0 = time.monotonic()
nxt = t0
while not os.path.exists(stop) and time.monotonic() - t0 < maxs:
    a = get(d1, K1)
    b = get(d2, K2)
    print("S %.0f %s %s" % (time.time() * 1000, " ".join(a), " ".join(b)), flush=True)
    nxt += every_ms / 1000
    w = nxt - time.monotonic()
    if w > 0:
        time.sleep(w)
    else:
        nxt = time.monotonic()
EOF
}

# rb_cpu_snap FILE: one line per thread of every process in this run's namespaces: "host pid
# tid comm ticks" (utime + stime of the thread; comm: the process's), and the machine's
# /proc/stat cpu line ("cpu ...").
rb_cpu_snap()
{
	local ns h p t c n x
	{
		echo "t $(date +%s%3N)"
		grep '^cpu ' /proc/stat
		# packets dropped by the kernel's per-CPU input backlogs (veth, every namespace)
		n=0
		while read -r _ x _; do n=$((n + 0x$x)); done </proc/net/softnet_stat
		echo "softnet $n"
		# the UDP errors of d1 and d2 (the sync channel's datagrams among them)
		for h in d1 d2; do
			nt_x "$h" awk -v h="$h" '$1 == "Udp:" { if (!n) { for (i = 2; i <= NF; i++)
				f[$i] = i; n = 1 } else print "udp", h, $f["InErrors"],
				$f["RcvbufErrors"], $f["SndbufErrors"] }' /proc/net/snmp
		done
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NT_ID-"); do
			h=${ns#"$NT_ID"-}
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
				for t in /proc/"$p"/task/*; do
					# after "(comm) ": state is field 1, utime 12, stime 13
					sed 's/.*) //' "$t/stat" 2>/dev/null | awk -v h="$h" -v p="$p" \
						-v t="${t##*/}" -v c="${c// /_}" \
						'{ print h, p, t, c, $12 + $13 }'
				done
			done
		done
	} >"$1" 2>/dev/null
}

# rb_wchan HOST SECONDS FILE: where HOST's clusterd threads are, every 100 ms for SECONDS:
# one line per thread and look, "main|worker STATE WCHAN" (R: running or runnable, S/D:
# asleep in the kernel function WCHAN).  Shows a thread that waits rather than computes.
rb_wchan()
{
	local pid n t st wc
	pid=$(cat "$NT_WORK/clusterd-$1.pid" 2>/dev/null) || return 0
	n=$(( $2 * 10 ))
	for ((; n > 0; n--)); do
		for t in /proc/"$pid"/task/*; do
			st=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)
			[ -n "$st" ] || continue
			wc=$(cat "$t/wchan" 2>/dev/null)
			[ "$st" = R ] && wc=-
			if [ "${t##*/}" = "$pid" ]; then echo "main $st ${wc:-0}"
			else echo "worker $st ${wc:-0}"; fi
		done
		sleep 0.1
	done >"$3"
}

# rb_analyse MODE: the figures of one mode from its files; prints "key value" lines.
rb_analyse()
{
	"$PY" - "$1" "$NT_WORK" "$secs" "$settle" "$HZ" "$(nproc)" <<'EOF'
import sys, os
mode, work, secs, settle, hz, ncpu = sys.argv[1], sys.argv[2], float(sys.argv[3]), \
    float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
P = os.path.join(work, "rb-" + mode)
out = {}
def put(k, v):
    out[k] = v
def num(x):
    try:
        return float(x)
    except ValueError:
        return None
# times of the load (ms on the sampler's clock), written by the script
marks = {}
for line in open(P + ".marks"):
    k, v = line.split()
    marks[k] = float(v)
hdr, rows = None, []
for line in open(P + ".samples"):
    w = line.split()
    if w and w[0] == "H":
        hdr = w[1:]
    elif w and w[0] == "S" and hdr and len(w) - 1 == len(hdr):
        rows.append([num(x) for x in w[1:]])
col = {k: i for i, k in enumerate(hdr or [])}
def series(k):
    i = col[k]
    return [(r[0], r[i]) for r in rows if r[i] is not None]
def at(k, t):
    """the last value of k sampled at or before t"""
    v = None
    for tt, x in series(k):
        if tt <= t:
            v = x
        else:
            break
    return v
def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]
t0, t1 = marks.get("load_start"), marks.get("load_end")
put("samples", len(rows))
if not rows or t0 is None or t1 is None:
    for k, v in out.items():
        print(k, v)
    sys.exit(0)
dur = (t1 - t0) / 1000.0
put("load_s", "%.1f" % dur)
def delta(k):
    a, b = at(k, t0), at(k, t1)
    return None if a is None or b is None else b - a
D1, D2 = "d1:", "d2:"
sent = delta(D1 + "clusterd_sync_repl_records_sent_total")
recv = delta(D2 + "clusterd_sync_repl_records_received_total")
# a new connection on a 4-tuple whose entry is still there (FIN) is "reused", not "created"
created = delta(D1 + "clusterd_conns_created_total")
reused = delta(D1 + "clusterd_conns_reused_total")
if created is not None and reused is not None:
    created += reused
put("sent_rate", "%.0f" % (sent / dur) if sent is not None else "-")
put("recv_rate", "%.0f" % (recv / dur) if recv is not None else "-")
put("created_rate", "%.0f" % (created / dur) if created is not None else "-")
put("sent_per_conn", "%.2f" % (sent / created) if sent is not None and created else "-")
put("recv_per_conn", "%.2f" % (recv / created) if recv is not None and created else "-")
# the best whole second of d1's sending during the load
best = None
s = [(t, x) for t, x in series(D1 + "clusterd_sync_repl_records_sent_total") if t0 <= t <= t1]
j = 0
for i in range(len(s)):
    while s[i][0] - s[j][0] > 1000:
        j += 1
    if s[i][0] - s[j][0] >= 900:
        r = (s[i][1] - s[j][1]) * 1000.0 / (s[i][0] - s[j][0])
        best = r if best is None or r > best else best
put("sent_rate_best1s", "%.0f" % best if best is not None else "-")
# lag and backlog during the load
lag = [x * 1000 for t, x in series(D1 + 'clusterd_replication_lag_seconds{node="d2"}')
       if t0 <= t <= t1]
bl = [x for t, x in series(D1 + 'clusterd_replication_backlog_records{node="d2"}')
      if t0 <= t <= t1]
put("lag_n", len(lag))
for p, name in ((50, "median"), (99, "p99")):
    v = pct(lag, p)
    put("lag_" + name, "%.1f" % v if v is not None else "-")
put("lag_max", "%.1f" % max(lag) if lag else "-")
put("lag_over_goal", "%.1f" % (100.0 * sum(1 for x in lag if x >= 50) / len(lag)) if lag else "-")
put("backlog_median", "%.0f" % pct(bl, 50) if bl else "-")
put("backlog_max", "%.0f" % max(bl) if bl else "-")
# the whole run (load and settling): sampling intervals
ts = [r[0] for r in rows if t0 <= r[0] <= t1]
gaps = [b - a for a, b in zip(ts, ts[1:])]
put("sample_gap_median", "%.0f" % pct(gaps, 50) if gaps else "-")
put("sample_gap_max", "%.0f" % max(gaps) if gaps else "-")
# from the end of the load until d2's replicas equal d1's table, both read in one round
e2e = None
for r in rows:
    if r[0] < t1:
        continue
    a, b = r[col[D1 + "clusterd_conns_active"]], r[col[D2 + "clusterd_sync_repl_replicas"]]
    if a is not None and b is not None and a == b:
        e2e = r[0] - t1
        break
last = rows[-1]
put("e2e_ms", "%.0f" % e2e if e2e is not None else "-")
put("end_d1_conns", "%.0f" % last[col[D1 + "clusterd_conns_active"]]
    if last[col[D1 + "clusterd_conns_active"]] is not None else "-")
put("end_d2_replicas", "%.0f" % last[col[D2 + "clusterd_sync_repl_replicas"]]
    if last[col[D2 + "clusterd_sync_repl_replicas"]] is not None else "-")
# d1's table and d2's replicas when the load stopped
put("stop_d1_conns", "%.0f" % (at(D1 + "clusterd_conns_active", t1) or 0))
put("stop_d2_replicas", "%.0f" % (at(D2 + "clusterd_sync_repl_replicas", t1) or 0))
# counters over the whole run (load and settling)
for k, name in (("clusterd_sync_repl_log_dropped_total", "log_dropped"),
                ("clusterd_sync_repl_backlog_dropped_total", "backlog_dropped"),
                ("clusterd_sync_reliable_queue_full_total", "queue_full"),
                ("clusterd_sync_reliable_resent_total", "resent"),
                ("clusterd_sync_reliable_sent_total", "rel_sent")):
    v = series(D1 + k)
    put(name, "%.0f" % (v[-1][1] - v[0][1]) if v else "-")
v = series(D1 + "clusterd_queue_kernel_dropped_total{*")
put("queue_drops", "%.0f" % (v[-1][1] - v[0][1]) if v else "-")
q = delta(D1 + "clusterd_queue_packets_total{*")
put("queue_pps", "%.0f" % (q / dur) if q is not None else "-")
v = series(D1 + "clusterd_sync_reliable_nacks_received_total")
put("nacks", "%.0f" % (v[-1][1] - v[0][1]) if v else "-")
for k, name in ((D1 + "clusterd_sync_nodes_declared_down_total", "down_d1"),
                (D2 + "clusterd_sync_nodes_declared_down_total", "down_d2"),
                (D2 + "clusterd_sync_repl_replicas_expired_total", "expired_d2")):
    v = series(k)
    put(name, "%.0f" % (v[-1][1] - v[0][1]) if v else "-")
v = series(D2 + "clusterd_sync_repl_store_full_total")
put("store_full", "%.0f" % (v[-1][1] - v[0][1]) if v else "-")
# CPU: every thread of the run's namespaces between the load's two snapshots
def snap(f):
    cpu, th = None, {}
    for line in open(f):
        w = line.split()
        if w[0] == "t":
            th["t"] = ("", int(w[1]))
        elif w[0] == "softnet":
            th["softnet"] = ("", int(w[1]))
        elif w[0] == "udp":
            th[("udp", w[1])] = ("", [int(x) for x in w[2:5]])
        elif w[0] == "cpu":
            cpu = [int(x) for x in w[1:]]
        elif len(w) >= 5:
            th[(w[0], w[1], w[2])] = (w[3], int(w[4]))
    return cpu, th
ca, ta = snap(P + ".cpu0")
cb, tb = snap(P + ".cpu1")
if ca and cb:
    d = [b - a for a, b in zip(ca, cb)]
    tot = sum(d[:8]) or 1
    idle = d[3] + d[4]
    put("machine_busy_pct", "%.0f" % (100.0 * (tot - idle) / tot))
    put("machine_softirq_pct", "%.0f" % (100.0 * d[6] / tot))
    put("machine_sys_pct", "%.0f" % (100.0 * d[2] / tot))
    put("machine_user_pct", "%.0f" % (100.0 * (d[0] + d[1]) / tot))
    put("machine_cpu_s", "%.1f" % ((tot - idle) / hz))
win = (tb.get("t", ("", 0))[1] - ta.get("t", ("", 0))[1]) / 1000.0
put("cpu_window_s", "%.1f" % win)
tb.pop("t", None)
if "softnet" in ta and "softnet" in tb:
    put("softnet_drops", tb["softnet"][1] - ta["softnet"][1])
ta.pop("softnet", None)
tb.pop("softnet", None)
for h in ("d1", "d2"):
    a, b = ta.pop(("udp", h), ("", None))[1], tb.pop(("udp", h), ("", None))[1]
    put("udp_err_" + h, "/".join(str(y - x) for x, y in zip(a, b)) if a and b else "-")
per_proc, per_thr = {}, {}
for key, (comm, b) in tb.items():
    a = ta.get(key, (comm, 0))[1]
    h, pid, tid = key
    if comm == "clusterd":
        name = "%s clusterd %s" % (h, "main" if pid == tid else "thread " + tid)
        per_thr[name] = per_thr.get(name, 0) + b - a
        pname = "%s clusterd" % h
    else:
        pname = "%s %s" % (h, comm)
    per_proc[pname] = per_proc.get(pname, 0) + b - a
put("cpu_d1", "%.2f" % (per_proc.get("d1 clusterd", 0) / hz))
put("cpu_d2", "%.2f" % (per_proc.get("d2 clusterd", 0) / hz))
put("cpu_d1_main", "%.2f" % (per_thr.get("d1 clusterd main", 0) / hz))
def pc(v):
    return "%.0f" % (100.0 * v / hz / win) if win > 0 else "-"
put("d1_cpu_pct", pc(per_proc.get("d1 clusterd", 0)))
put("d2_cpu_pct", pc(per_proc.get("d2 clusterd", 0)))
put("d1_main_pct", pc(per_thr.get("d1 clusterd main", 0)))
put("d2_main_pct", pc(per_thr.get("d2 clusterd main", 0)))
put("d1_threads_pct", ",".join(pc(v) for v, k in sorted(
    ((v, k) for k, v in per_thr.items() if k.startswith("d1 ") and "main" not in k),
    reverse=True)) or "-")
thr = sorted(((v, k) for k, v in per_thr.items() if k.startswith("d1 ") and "main" not in k),
             reverse=True)
put("cpu_d1_threads", ",".join("%.2f" % (v / hz) for v, k in thr) or "-")
put("cpu_d2_main", "%.2f" % (per_thr.get("d2 clusterd main", 0) / hz))
top = sorted(((v, k) for k, v in per_proc.items()), reverse=True)[:10]
put("cpu_top", ";".join("%s=%s%%" % (k.replace(" ", "_"), pc(v)) for v, k in top if v > 0))
# where d1's threads were (rb_wchan): the three most frequent looks per kind of thread
try:
    looks = {}
    for line in open(P + ".wchan"):
        w = line.split()
        if len(w) == 3:
            d = looks.setdefault(w[0], {})
            k = "running" if w[1] == "R" else w[2]
            d[k] = d.get(k, 0) + 1
    for kind, d in looks.items():
        n = sum(d.values())
        put("wchan_" + kind, ",".join("%s:%.0f%%" % (k, 100.0 * v / n)
                                        for k, v in sorted(d.items(), key=lambda x: -x[1])[:4]))
except OSError:
    pass
for k, v in out.items():
    print(k, v)
EOF
}

HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- set-up

nt_topo_up || { echo "repl_bench.sh: topology failed" >&2; exit 1; }
rb_write_sampler "$NT_WORK/sampler.py"
nt_log "repl_bench: $(rb_build), $(nt_load), work dir $NT_WORK"
# Many short connections from one client address: wide port range, TIME-WAIT reuse.
for h in c t1 t2 t3; do
	nt_x "$h" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" >/dev/null
	nt_x "$h" sysctl -qw net.ipv4.tcp_tw_reuse=1 >/dev/null
done
for h in t1 t2 t3; do
	nt_x "$h" sysctl -qw net.core.somaxconn=4096 >/dev/null
	nt_x "$h" sysctl -qw net.ipv4.tcp_max_syn_backlog=4096 >/dev/null
done

# nginx on every target: an 11-byte page on 8080 (VIPA:80's target_port)
chmod 755 "$NT_WORK"
mkdir -p "$NT_WORK/www"
printf 'repl_bench\n' >"$NT_WORK/www/index.html"
chmod -R a+rX "$NT_WORK/www"
for h in t1 t2 t3; do
	mkdir -p "$NT_WORK/nginx-$h"
	cat >"$NT_WORK/nginx-$h/nginx.conf" <<EOF
worker_processes ${RB_NGINX_WORKERS:-1};
pid $NT_WORK/nginx-$h/nginx.pid;
error_log $NT_WORK/nginx-$h/error.log warn;
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
	nt_bg "$h" "nginx-$h" nginx -c "$NT_WORK/nginx-$h/nginx.conf" -g 'daemon off;'
done
for h in t1 t2 t3; do
	nt_wait_until 10 nt_listening "$h" tcp 8080 || {
		echo "repl_bench.sh: no nginx on $h:8080" >&2
		nt_dump_logs "nginx-$h" >&2
		exit 1; }
done
# wrk's summary, exactly: "WRK requests duration_us connect read write timeout non-2xx"
cat >"$NT_WORK/count.lua" <<'EOF'
done = function(s, latency, requests)
	local e = s.errors
	io.write(string.format("WRK %d %d %d %d %d %d %d\n", s.requests, s.duration,
		e.connect, e.read, e.write, e.timeout, e.status))
end
EOF

# synthetic load: the targets drop what comes to 8080 before their stack sees it
if [ "$syn_rate" -gt 0 ]; then
	for h in t1 t2 t3; do
		nt_x "$h" nft -f - <<NFT || { echo "repl_bench.sh: nft drop on $h failed" >&2; exit 1; }
table ip rbdrop {
	chain pre {
		type filter hook prerouting priority raw - 10; policy accept;
		tcp dport 8080 drop
	}
}
NFT
	done
fi

# rb_conf MODE: the harness's configuration with sync.mode MODE (periodic: interval
# RB_INTERVAL_MS) and every node's metrics endpoint on all its addresses.
rb_conf()
{
	local f=$NT_WORK/clusterd.conf
	nt_write_config "$f"
	sed -i "s/mode = \"every-update\"; interval_ms = [0-9]*;/mode = \"$1\"; interval_ms = ${RB_INTERVAL_MS:-200};/" "$f"
	grep -q "mode = \"$1\"" "$f" || { echo "no sync mode line in the configuration"; return 1; }
	echo "metrics = { listen = \"0.0.0.0:$MPORT\"; };" >>"$f"
	"$CLUSTERD" --check-config -f "$f" -n d1 2>&1
}

# rb_metric HOST NAME: one series of HOST's /metrics (from its own namespace).
rb_metric()
{
	nt_x "$1" "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
b = b""
while True:
	d = s.recv(65536)
	if not d:
		break
	b += d
for l in b.decode().split("\n"):
	if l.startswith(sys.argv[2] + " "):
		print(l.split()[-1])' "$MPORT" "$2" 2>/dev/null
}
rb_d2_ready() { [ "$(rb_metric d2 clusterd_sync_repl_bulks_received_total)" -ge 1 ] 2>/dev/null; }

declare -A R NOTE

# rb_mode MODE: one run of MODE: daemons up, load, settling, figures into R[MODE.KEY].
rb_mode()
{
	local m=$1 msg h t0 t1 line req dur ec er ew et st P=$NT_WORK/rb-$1
	if ! msg=$(rb_conf "$m"); then
		NOTE[$m]="the daemon refuses the configuration: $(echo "$msg" | head -n 2 | tr '\n' ' ')"
		return 1
	fi
	for h in d1 d2 t1 t2 t3; do nt_cd_launch "$h"; done
	for h in d1 d2 t1 t2 t3; do
		nt_cd_ready "$h" || { NOTE[$m]="clusterd on $h did not start"; rb_mode_stop; return 1; }
	done
	if ! nt_wait_listening d1 3 80 tcp 30 "$NT_VIP4"; then
		NOTE[$m]="d1 does not see 3 listening targets for VIPA:80"
		nt_ctl d1 targets >&2
		rb_mode_stop
		return 1
	fi
	# d2 holds d1's table (its bulk came) before the load starts
	nt_wait_until 20 rb_d2_ready || nt_log "$m: d2 received no bulk from d1 within 20 s"
	nt_x r ip neigh flush dev lan0 2>/dev/null
	rm -f "$P.stop"
	nt_bg d1 "sampler-$m" "$PY" "$NT_WORK/sampler.py" 127.0.0.1 "${NT_IP4[d2]}" "$MPORT" \
		"$sample_ms" "$P.stop" $((secs + settle + 30))
	# the sampler's clock starts with its first line: marks are taken on the same clock
	nt_wait_until 5 grep -q '^S ' "$NT_WORK/sampler-$m.log"
	sleep 0.5
	t0=$(date +%s%3N)
	local pids="" g lo span
	if [ "$syn_rate" -gt 0 ]; then
		nt_log "$m: synconns.py, $syn_rate conn/s in $syn_procs processes for ${secs} s"
		# each process its own slice of the source ports
		span=$(( 64512 / syn_procs ))
		for ((g = 0; g < syn_procs; g++)); do
			lo=$(( 1024 + g * span ))
			nt_bg c "syn-$m-$g" timeout $((secs + 30)) "$PY" "$here/synconns.py" \
				"${NT_IP4[c]}" "$NT_VIP4" 80 --secs "$secs" \
				--rate "$(awk -v r="$syn_rate" -v n="$syn_procs" 'BEGIN { print r / n }')" \
				--sport-lo "$lo" --sport-hi $(( lo + span - 1 ))
			pids="$pids $(cat "$NT_WORK/syn-$m-$g.pid")"
		done
	else
		nt_log "$m: wrk -t $wthreads -c $par -d ${secs}s (Connection: close) to VIPA:80"
		nt_bg c "wrk-$m" timeout $((secs + 30)) wrk -t "$wthreads" -c "$par" -d "${secs}s" \
			--timeout 5s -H "Connection: close" -s "$NT_WORK/count.lua" "http://$NT_VIP4/"
		pids=$(cat "$NT_WORK/wrk-$m.pid")
	fi
	# CPU of every thread of the run while wrk runs (from 0.5 s in to 0.5 s before its
	# end, so that wrk's own threads are counted too)
	if [ "$secs" -ge 2 ]; then
		sleep 0.5
		rb_cpu_snap "$P.cpu0"
		rb_wchan d1 $((secs - 1)) "$P.wchan" &
		# the second snapshot 0.8 s before the load's planned end
		sleep "$(awk -v e=$((t0 + secs * 1000 - 800)) -v n="$(date +%s%3N)" \
			'BEGIN { d = (e - n) / 1000; print (d > 0 ? d : 0) }')"
		rb_cpu_snap "$P.cpu1"
		wait $!
	else
		rb_cpu_snap "$P.cpu0"
		rb_cpu_snap "$P.cpu1"
	fi
	for g in $pids; do nt_wait_until $((secs + 35)) nt_gone "$g"; done
	t1=$(date +%s%3N)
	cat "$NT_WORK"/wrk-"$m".log "$NT_WORK"/syn-"$m"-*.log >"$P.wrk" 2>/dev/null
	# settling: until d2's replicas equal d1's table (the analysis finds when), bounded
	local deadline=$(( $(date +%s) + settle ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		line=$(tail -n 1 "$NT_WORK/sampler-$m.log")
		# "S t d1values(15) d2values(6)": d1's conns_active is field 6, d2's replicas 18
		set -- $line
		[ "$#" -ge 23 ] && [ "$6" != - ] && [ "$6" = "${18}" ] &&
			[ "$2" -gt "$t1" ] && break
		sleep 0.2
	done
	sleep 0.5
	touch "$P.stop"
	nt_wait_until 5 nt_gone "$(cat "$NT_WORK/sampler-$m.pid")"
	cp "$NT_WORK/sampler-$m.log" "$P.samples"
	# the load's start and end (wall clock, ms: the sampler's clock)
	printf 'load_start %s\nload_end %s\n' "$t0" "$t1" >"$P.marks"
	nt_ctl d1 stats --json >"$P.d1.json" 2>/dev/null
	nt_ctl d2 stats --json >"$P.d2.json" 2>/dev/null
	line=$(grep '^WRK ' "$P.wrk" | tail -n 1)
	if [ "$syn_rate" -gt 0 ]; then
		# "SYN sent N connections in S s: ...": the sum of N over the longest S
		R[$m.conn_rate]=$(awk '$1 == "SYN" && $2 == "sent" { n += $3; if ($6 > s) s = $6 }
			END { if (s > 0) printf "%.0f", n / s; else print "-" }' "$P.wrk")
		R[$m.conn_err]=-
		[ "$(grep -c '^SYN sent' "$P.wrk")" = "$syn_procs" ] ||
			nt_log "$m: a generator failed: $(grep -v '^SYN sent' "$P.wrk" | head -c 300)"
	elif [ -n "$line" ]; then
		read -r _ req dur ec er ew et st <<<"$line"
		R[$m.conn_rate]=$(awk -v r="$req" -v d="$dur" \
			'BEGIN { printf "%.0f", (d > 0 ? r * 1e6 / d : 0) }')
		R[$m.conn_err]=$((ec + er + ew + et + st))
	else
		nt_log "$m: wrk printed no summary: $(head -c 300 "$P.wrk")"
	fi
	while read -r k v; do R[$m.$k]=$v; done < <(rb_analyse "$m")
	rb_mode_stop
	[ -z "${RB_KEEP_DIR:-}" ] || { mkdir -p "$RB_KEEP_DIR" && cp "$P".* "$RB_KEEP_DIR"/; }
	nt_log "$m: ${R[$m.conn_rate]:--} conn/s, d1 sent ${R[$m.sent_rate]:--} records/s," \
		"lag median ${R[$m.lag_median]:--} p99 ${R[$m.lag_p99]:--}" \
		"max ${R[$m.lag_max]:--} ms, settled after ${R[$m.e2e_ms]:--} ms"
	return 0
}

rb_mode_stop()
{
	local h
	for h in d1 d2 t1 t2 t3; do nt_cd_stop "$h"; done
	nt_x d1 ip addr del "$NT_VIP4/32" dev lan0 2>/dev/null
	nt_x d2 ip addr del "$NT_VIP4/32" dev lan0 2>/dev/null
	nt_x r ip neigh flush dev lan0 2>/dev/null
}

for m in $modes; do
	nt_log "mode $m"
	rb_mode "$m" || nt_log "$m: ${NOTE[$m]:-failed}"
done

# ---------------------------------------------------------------- report

r() { local v=${R[$1.$2]:-}; echo "${v:--}"; }
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a != "" && b + 0 > 0)
		printf "%.2f", a / b; else printf "-" }'
}

echo
echo "repl_bench.sh: replication d1 -> d2 under new connections ($(uname -r), $(nproc) CPUs," \
	"$(nt_load) at the end; $(rb_build), ${NT_WORKERS:-2} workers, fastpath ${NT_FASTPATH})"
echo "  command: $cmdline"
if [ "$syn_rate" -gt 0 ]; then
	echo "  load: synthetic, bench/synconns.py at $syn_rate conn/s in $syn_procs processes for" \
		"${secs}s (SYN, ACK, FIN from raw sockets to VIPA:80; the targets drop them)"
	gen=synconns
else
	echo "  load: wrk -t $wthreads -c $par -d ${secs}s, Connection: close, to VIPA:80 (nginx" \
		"on t1, t2, t3)"
	gen=wrk
fi
echo "  d1's and d2's /metrics sampled every $sample_ms ms; settling bounded by $settle s;" \
	"periodic: interval_ms ${RB_INTERVAL_MS:-200}"
for m in $modes; do [ -z "${NOTE[$m]:-}" ] || echo "  $m: ${NOTE[$m]}"; done
printf '%-44s' ""
for m in $modes; do printf ' %14s' "$m"; done
echo
row()
{
	local label=$1 key=$2 m
	printf '%-44s' "$label"
	for m in $modes; do printf ' %14s' "$(r "$m" "$key")"; done
	echo
}
for m in $modes; do
	# per connection of the load generator (wrk's requests, synconns.py's connections)
	R[$m.sent_per_conn]=$(ratio "$(r "$m" sent_rate)" "$(r "$m" conn_rate)")
	R[$m.recv_per_conn]=$(ratio "$(r "$m" recv_rate)" "$(r "$m" conn_rate)")
	R[$m.rate_ratio]=$(ratio "$(r "$m" sent_rate)" $GOAL_RATE)
	R[$m.lag_ratio]=$(ratio "$(r "$m" lag_p99)" $GOAL_LAG_MS)
	R[$m.lag_med_ratio]=$(ratio "$(r "$m" lag_median)" $GOAL_LAG_MS)
done
row "new connections/s ($gen)" conn_rate
row "  failed requests ($gen)" conn_err
row "  d1 conns.created + conns.reused, per s" created_rate
row "updates sent/s d1->d2 (records_sent)" sent_rate
row "  ratio to the goal ($GOAL_RATE/s)" rate_ratio
row "  best 1 s of the run, updates/s" sent_rate_best1s
row "  per connection" sent_per_conn
row "records received/s by d2 (conn records)" recv_rate
row "  per connection" recv_per_conn
row "lag median, ms (d1's lag_seconds{d2})" lag_median
row "lag p99, ms" lag_p99
row "  p99 ratio to the goal ($GOAL_LAG_MS ms)" lag_ratio
row "lag max, ms" lag_max
row "  samples during the load" lag_n
row "  % of samples at or over $GOAL_LAG_MS ms" lag_over_goal
row "  sampling interval median / max, ms" sample_gap_median
row "                                  max, ms" sample_gap_max
row "backlog median, records (backlog_records)" backlog_median
row "backlog max" backlog_max
row "end of load: d1 table (conns.active)" stop_d1_conns
row "end of load: d2 replicas" stop_d2_replicas
row "d2 replicas = d1 table after, ms" e2e_ms
row "  at the end: d1 table" end_d1_conns
row "  at the end: d2 replicas" end_d2_replicas
row "d1 packets read from its queues/s" queue_pps
row "d1 packets the kernel dropped at its queues" queue_drops
row "ring drops (sync.repl.log_dropped)" log_dropped
row "backlog drops (sync.repl.backlog_dropped)" backlog_dropped
row "reliable queue full (sync.reliable_queue_full)" queue_full
row "reliable messages sent (all peers)" rel_sent
row "retransmissions (sync.reliable.resent)" resent
row "NACKs d1 received (all peers)" nacks
row "UDP errors d2, in/rcvbuf/sndbuf (snmp)" udp_err_d2
row "UDP errors d1, in/rcvbuf/sndbuf" udp_err_d1
row "input backlog drops, machine (softnet_stat)" softnet_drops
row "d2 store full (sync.repl.store_full)" store_full
row "d2 replicas expired (sync.repl.replicas_expired)" expired_d2
row "nodes declared down by d1 (sync.nodes_declared_down)" down_d1
row "nodes declared down by d2" down_d2
row "CPU window while $gen ran, s" cpu_window_s
row "CPU s d1 clusterd (all threads)" cpu_d1
row "  % of one CPU" d1_cpu_pct
row "  d1 main thread, % of one CPU" d1_main_pct
row "  d1 other threads, % of one CPU each" d1_threads_pct
row "CPU s d2 clusterd" cpu_d2
row "  % of one CPU" d2_cpu_pct
row "  d2 main thread, % of one CPU" d2_main_pct
row "machine busy % (all CPUs, /proc/stat)" machine_busy_pct
row "  user %" machine_user_pct
row "  system %" machine_sys_pct
row "  softirq %" machine_softirq_pct
echo "  CPU while $gen ran, % of one CPU, the largest consumers (namespace_process):"
for m in $modes; do
	echo "    $m: $(r "$m" cpu_top | sed 's/;/, /g')"
done
echo "  where d1's threads were (every 100 ms while $gen ran; running, or the kernel function"
echo "  they slept in):"
for m in $modes; do
	echo "    $m: main $(r "$m" wchan_main); workers $(r "$m" wchan_worker)"
done
echo "  lag = the age of the oldest state message d2 has not acknowledged (the reliable"
echo "  channel only: a record's wait in a worker's ring and in d1's backlog is not in it;"
echo "  the backlog rows and 'd2 replicas = d1 table after' show those)."
echo "  goal (issue 14): $GOAL_RATE updates/s carried to the backup with under $GOAL_LAG_MS ms lag."
for m in $modes; do
	s=$(r "$m" sent_rate) p=$(r "$m" lag_p99) rr=$(r "$m" rate_ratio)
	[ "$syn_rate" -gt 0 ] && m="$m (synthetic load)"
	if [ "$s" = - ] || [ "$p" = - ]; then
		echo "  $m: no figures"
	elif awk -v s="$s" -v p="$p" -v g="$GOAL_RATE" -v l="$GOAL_LAG_MS" \
		'BEGIN { exit !(s >= g && p < l) }'; then
		echo "  $m: goal MET on this machine: $s updates/s, lag p99 $p ms"
	elif awk -v p="$p" -v l="$GOAL_LAG_MS" 'BEGIN { exit !(p < l) }'; then
		echo "  $m: goal NOT met on this machine: the load reached $s updates/s" \
			"($rr of the goal), with lag p99 $p ms (under $GOAL_LAG_MS ms" \
			"at that rate)"
	else
		echo "  $m: goal NOT met on this machine: $s updates/s ($rr of the" \
			"goal), lag p99 $p ms (over $GOAL_LAG_MS ms)"
	fi
done
exit 0
