#!/bin/bash
# clusterctl against a fake clusterd: a python3 server on a unix socket in /tmp
# that answers canned JSON (tests/unit/data/ctl).  Checks the request line,
# the human rendering, --json passthrough, exit codes and timeouts.
#
# usage: tests/netns/t_ctl.sh          (builds clusterctl with ASan+UBSan)
#        CLUSTERCTL=./clusterctl tests/netns/t_ctl.sh
# Exit 0 pass, 1 fail, 77 skip (automake convention).

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
data=$top/tests/unit/data/ctl
tmp=$(mktemp -d /tmp/ctl_smoke.XXXXXX)
pids=()
fails=0
checks=0

cleanup() {
	local p

	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

if [ -z "${CLUSTERCTL:-}" ]; then
	CLUSTERCTL=$tmp/clusterctl
	gcc -std=gnu11 -D_GNU_SOURCE -I"$top" -Wall -Wextra -Werror -Wshadow -Wformat=2 \
		-Wmissing-prototypes -Wno-unused-parameter -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined -g "$top/clusterctl/clusterctl.c" -ljansson \
		-o "$CLUSTERCTL" || { echo "FAIL: build"; exit 1; }
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
unset CLUSTERD_SOCKET

cat > "$tmp/fake.py" <<'EOF'
import json, os, socket, sys, time
path, data, mode, log = sys.argv[1:5]
CANNED = {
    "status": "status.json", "targets": "targets.json", "conns": "conns.json",
    "stats": "stats.json", "cdat": "cdat_unsupported.json", "drain t1": "drain.json",
    "undrain t1": "drain.json", "failover 10.2.0.100": "failover.json",
}
INLINE = {
    "drain nosuch": {"ok": False, "error": "no such node: nosuch"},
    "reload": {"ok": True, "generation": 2},
}
def canned(line):
    with open(os.path.join(data, CANNED[line])) as f:
        return json.load(f)
def reply_for(line):
    if mode == "indent":
        return json.dumps(canned(line), indent=4) + "\n"
    if mode == "noeol":
        return json.dumps(canned(line))
    if mode == "garbage":
        return "this is not json\n"
    if mode == "nook":
        return '{"result":1}\n'
    if mode == "array":
        return '[1,2]\n'
    if mode == "emptyconns":
        return json.dumps(json.load(open(os.path.join(data, "conns_empty.json")))) + "\n"
    if mode == "cdat":
        return json.dumps(json.load(open(os.path.join(data, "cdat.json")))) + "\n"
    if mode in ("big", "huge"):
        return BULK
    if line in INLINE:
        return json.dumps(INLINE[line]) + "\n"
    if line in CANNED:
        return json.dumps(canned(line), separators=(",", ":")) + "\n"
    return json.dumps({"ok": False, "error": "unknown command: " + line}) + "\n"
def bulk(n, pad):
    # Built once, before the socket is ready, so that the client's 5 s read
    # timeout measures the transfer only.
    row = json.dumps({"protocol": "tcp", "client": "10.1.0.2:40000",
                      "vipa": "10.2.0.100:80", "target": "t1",
                      "target_address": "10.2.0.21:8080", "state": "EST", "age_s": 3,
                      "idle_s": 0, "packets": 10, "bytes": 1200, "pad": "x" * pad})
    return ('{"ok": true, "total": %d, "truncated": false, "conns": [' % n
            + ", ".join([row] * n) + "]}\n")
if mode == "big":
    BULK = bulk(50000, 150)
elif mode == "huge":
    BULK = bulk(400000, 60)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
if mode == "stale":
    # A socket file nobody listens on: connect() gets ECONNREFUSED.
    s.close()
    open(path + ".ready", "w").close()
    sys.exit(0)
s.listen(0)
open(path + ".ready", "w").close()
if mode == "noaccept":
    # Backlog 0, never accepted: the first client waits for a reply, the
    # next one for a free backlog slot.
    time.sleep(60)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    with open(log, "ab") as f:
        f.write(repr(buf).encode() + b"\n")
    line = buf.decode(errors="replace").rstrip("\n")
    try:
        if mode == "hang":
            time.sleep(8)
        elif mode == "empty":
            pass
        elif mode == "slow":
            out = reply_for(line).encode()
            for i in range(0, len(out), 7):
                c.sendall(out[i:i + 7])
                time.sleep(0.0005)
        else:
            c.sendall(reply_for(line).encode())
    except (BrokenPipeError, ConnectionResetError):
        pass
    c.close()
EOF

# start_server MODE: a fake clusterd on $tmp/MODE.sock, request log $tmp/MODE.log
start_server() {
	local i

	python3 "$tmp/fake.py" "$tmp/$1.sock" "$data" "$1" "$tmp/$1.log" &
	pids+=($!)
	for i in $(seq 100); do
		[ -e "$tmp/$1.sock.ready" ] && return 0
		sleep 0.05
	done
	echo "FAIL: fake server $1 did not start"
	exit 1
}

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run ARGS...: runs clusterctl, sets $out $err $rc
run() {
	local _t0=$(date +%s.%N)
	"$CLUSTERCTL" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	[ -n "${CTL_TIMING:-}" ] && echo "$(echo "$(date +%s.%N) - $_t0" | bc) $*" >&2
}

# expect NAME RC STDOUT STDERR: exact comparison ("*" skips a stream)
expect() {
	checks=$((checks + 1))
	[ "$rc" = "$2" ] || fail "$1: exit $rc, want $2 (stderr: $err)"
	if [ "$3" != "*" ] && [ "$out" != "$3" ]; then
		fail "$1: stdout differs"
		diff <(printf '%s\n' "$3") <(printf '%s\n' "$out") | sed 's/^/    /'
	fi
	if [ "$4" != "*" ] && [ "$err" != "$4" ]; then
		fail "$1: stderr differs"
		diff <(printf '%s\n' "$4") <(printf '%s\n' "$err") | sed 's/^/    /'
	fi
}

# contains NAME HAYSTACK NEEDLE
contains() {
	checks=$((checks + 1))
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in '$2'" ;;
	esac
}

# --- usage errors: exit 2, nothing sent -------------------------------------
run -h
expect "-h" 0 "*" ""
contains "-h" "$out" "usage: clusterctl [-s SOCKET] [--json] COMMAND [ARG]"
contains "-h lists failover" "$out" "failover VIPA"
run
expect "no command" 2 "" "*"
contains "no command" "$err" "clusterctl: missing command"
run frobnicate
expect "unknown command" 2 "" "*"
contains "unknown command" "$err" "unknown command 'frobnicate'"
run drain
expect "drain without node" 2 "" "*"
contains "drain without node" "$err" "drain takes one argument"
run status extra
expect "status with argument" 2 "" "*"
run drain "t1 reload"
expect "argument with space" 2 "" "*"
run drain $'t1\nreload'
expect "argument with newline" 2 "" "*"
run --bogus status
expect "unknown option" 2 "" "*"
run -s "/tmp/$(printf 'x%.0s' $(seq 120))" status
expect "socket path too long" 2 "" "*"

# --- cannot connect: exit 3 --------------------------------------------------
run -s "$tmp/none.sock" status
expect "missing socket" 3 "" \
	"clusterctl: cannot connect to $tmp/none.sock: No such file or directory (is clusterd running?)"
start_server stale
run -s "$tmp/stale.sock" status
expect "stale socket" 3 "" \
	"clusterctl: cannot connect to $tmp/stale.sock: Connection refused (is clusterd running?)"

# --- canned replies ----------------------------------------------------------
start_server canned
S=(-s "$tmp/canned.sock")

run "${S[@]}" status
expect status 0 "node d1, clusterd 0.1.0, up 1h02m05s
config /etc/clusterd.conf, generation 1
workers 2, queues 0-1, kind xt, rules managed

VIPA        INTERFACE  ROLE         OWNER  SINCE                 SERVICES
10.2.0.100  lan0       distributor  d1     2026-11-28T07:00:00Z  80/tcp 2/3 up, 53/udp 2/2 up
fd00::100   lan0       backup       d2     2026-11-28T07:01:00Z  -

NODE  ALIVE  SELF  LAST_HEARD_MS
d1    yes    yes               0
t1    no     no             5300" ""

# Unknown field "zone" shows as an extra column; numbers are right aligned.
run "${S[@]}" targets
expect targets 0 \
"VIPA        PORT  PROTO  NODE  ADDRESS    TPORT  WEIGHT  LISTENING  DRAINED  ACTIVE  CONNS  ZONE
10.2.0.100    80  tcp    t1    10.2.0.21   8080       1  yes        no       yes         3  -
10.2.0.100    80  tcp    t2    10.2.0.22   8080      10  no         yes      no          0  b" ""

run "${S[@]}" conns
expect conns 0 \
"PROTO  CLIENT          VIPA            TARGET  TARGET_ADDRESS  STATE  AGE_S  IDLE_S  PACKETS  BYTES
tcp    10.1.0.2:40000  10.2.0.100:80   t1      10.2.0.21:8080  EST        3       0       10   1200
udp    [fd00::2]:5353  [fd00::100]:53  t2      [fd00::22]:53   -        120       7        2    140
5 connections, 2 shown (truncated)" ""

run "${S[@]}" stats
expect stats 0 "node: d1
packets.received: 100
packets.rewritten: 90
packets.accepted: 5
packets.dropped: 5
packets.replies_sent: 0
drops.malformed: 1
drops.fragment: 0
drops.no_conn: 2
drops.no_target: 1
drops.table_full: 0
drops.checksum: 1
queue.overruns: 0
queue.enobufs: 0
conns.active: 2
conns.created: 7
conns.expired: 5
sync.tx: 40
sync.rx: 38
sync.rejected.mac: 1
sync.rejected.replay: 0
workers[0].queue: 0
workers[0].packets: 60
workers[0].conns: 1
workers[1].queue: 1
workers[1].packets: 40
workers[1].conns: 1" ""

run "${S[@]}" cdat
expect "cdat not supported" 1 "" "clusterctl: not supported yet"
run "${S[@]}" drain t1
expect "drain t1" 0 "ok" ""
run "${S[@]}" undrain t1
expect "undrain t1" 0 "ok" ""
run "${S[@]}" drain nosuch
expect "drain nosuch" 1 "" "clusterctl: no such node: nosuch"
run "${S[@]}" failover 10.2.0.100
expect failover 0 "vipa: 10.2.0.100
from: d1
to: d2" ""
run "${S[@]}" reload
expect reload 0 "generation: 2" ""

checks=$((checks + 1))
want="b'status\\n'
b'targets\\n'
b'conns\\n'
b'stats\\n'
b'cdat\\n'
b'drain t1\\n'
b'undrain t1\\n'
b'drain nosuch\\n'
b'failover 10.2.0.100\\n'
b'reload\\n'"
[ "$(cat "$tmp/canned.log")" = "$want" ] || {
	fail "request lines differ"
	diff <(printf '%s\n' "$want") "$tmp/canned.log" | sed 's/^/    /'
}

# --- --json: the object re-dumped with an indent of 2, before or after -------
for f in status targets conns stats; do
	python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2))' \
		"$data/$f.json" > "$tmp/want.json"
	run "${S[@]}" --json "$f"
	expect "--json $f" 0 "$(cat "$tmp/want.json")" ""
	run "$f" "${S[@]}" --json
	expect "$f --json" 0 "$(cat "$tmp/want.json")" ""
done
run "${S[@]}" -j drain nosuch
expect "--json ok:false" 1 '{
  "ok": false,
  "error": "no such node: nosuch"
}' "clusterctl: no such node: nosuch"

# --- socket from the environment, -s wins over it ----------------------------
CLUSTERD_SOCKET=$tmp/canned.sock run reload
expect "CLUSTERD_SOCKET" 0 "generation: 2" ""
CLUSTERD_SOCKET=$tmp/none.sock run "${S[@]}" reload
expect "-s over CLUSTERD_SOCKET" 0 "generation: 2" ""

# --- reply framing and bad replies -------------------------------------------
start_server indent
run -s "$tmp/indent.sock" targets
expect "multi-line reply" 0 "$("$CLUSTERCTL" -s "$tmp/canned.sock" targets)" ""
start_server noeol
run -s "$tmp/noeol.sock" drain t1
expect "reply without newline" 0 "ok" ""
start_server slow
run -s "$tmp/slow.sock" stats
expect "reply in 7-byte pieces" 0 "$("$CLUSTERCTL" -s "$tmp/canned.sock" stats)" ""
start_server emptyconns
run -s "$tmp/emptyconns.sock" conns
expect "no connections" 0 "no connections" ""
start_server cdat
run -s "$tmp/cdat.sock" cdat
expect "cdat table" 0 "node: d1
version: 4
digest: 44141c69bd67149e
coordinator: d1
NODE  NODE_STATUS  ADDRESS    STATUS       CURRENT  PREFIX   MTU  TYPE      COS  RETRY  MISSES  RTT_MS  RTT_VAR_MS  LAST_OK_MS_AGO
d1    self         10.2.0.11  self         no           24  1500  ethernet    0      3       0       0           0               -
t1    up           10.3.0.21  unreachable  no           24  1500  ethernet    0      3       3     1.5        0.25             900
t1    up           10.5.0.21  reachable    yes          24  1400  ethernet    0      3       0    0.75         0.5              20
counters.proposed: 0
counters.committed: 4
counters.refused: 0
counters.bad: 0" ""
start_server garbage
run -s "$tmp/garbage.sock" status
expect "garbage reply" 1 "" "*"
contains "garbage reply" "$err" "clusterctl: invalid reply from clusterd"
start_server nook
run -s "$tmp/nook.sock" status
expect "reply without ok" 1 "" 'clusterctl: invalid reply from clusterd: no "ok" field'
start_server array
run -s "$tmp/array.sock" status
expect "reply not an object" 1 "" 'clusterctl: invalid reply from clusterd: no "ok" field'
start_server empty
run -s "$tmp/empty.sock" status
expect "closed without reply" 3 "" \
	"clusterctl: $tmp/empty.sock: connection closed without a reply"

# --- size bounds --------------------------------------------------------------
start_server big
run -s "$tmp/big.sock" conns
expect "50000 connections" 0 "*" ""
checks=$((checks + 1))
[ "$(printf '%s\n' "$out" | wc -l)" = 50002 ] || fail "big conns: wrong line count"
[ "$(printf '%s\n' "$out" | tail -n 1)" = "50000 connections" ] || fail "big conns: footer"
start_server huge
run -s "$tmp/huge.sock" conns
expect "reply over 64 MiB" 3 "" "clusterctl: $tmp/huge.sock: reply larger than 64 MiB"

# --- timeouts (5 s) -----------------------------------------------------------
start_server hang
t0=$(date +%s)
run -s "$tmp/hang.sock" status
t1=$(date +%s)
expect "no reply" 3 "" "clusterctl: $tmp/hang.sock: no reply within 5 s"
checks=$((checks + 1))
[ $((t1 - t0)) -ge 4 ] && [ $((t1 - t0)) -le 7 ] || fail "read timeout took $((t1 - t0)) s"

start_server noaccept
"$CLUSTERCTL" -s "$tmp/noaccept.sock" status > /dev/null 2>&1 &
first=$!
sleep 0.3
t0=$(date +%s)
run -s "$tmp/noaccept.sock" status
t1=$(date +%s)
wait "$first"
expect "connect timeout" 3 "" \
	"clusterctl: cannot connect to $tmp/noaccept.sock: timed out after 5 s (is clusterd running?)"
checks=$((checks + 1))
[ $((t1 - t0)) -ge 4 ] && [ $((t1 - t0)) -le 7 ] || fail "connect timeout took $((t1 - t0)) s"

if [ "$fails" -gt 0 ]; then
	echo "ctl_smoke: $fails of $checks checks failed"
	exit 1
fi
echo "ctl_smoke: PASS ($checks checks)"
exit 0
