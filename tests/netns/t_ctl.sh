#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_ctl: clusterctl against a running clusterd, and against a fake one for what a daemon never
# sends.
#
# Part 1, the real daemon (d1 of lib.sh's cluster, with a long-lived connection to t1 and a few
# short ones done): every read command (status, targets, conns, stats, cdat) as text, with
# --json before and after the command and with -j.  The JSON must parse, say "ok": true and hold
# what the cluster is (d1 distributes 10.2.0.100 with backup d2, t1..t3 listen on :8080, the
# long-lived connection is EST to t1, packets were rewritten, the CDAT names every node); the text
# must show the same values; --json must be the daemon's own reply (compared with the reply read
# from the socket directly).  A refused command (unknown node, not a VIPA): exit 1, the daemon's
# message on stderr, the object with "ok": false under --json.
#
# Part 2, a fake clusterd (a python unix socket server in $NT_WORK): usage errors (exit 2,
# nothing sent), no daemon (exit 3), replies that are not JSON or lack "ok", a reply split in
# 7-byte pieces, indented over several lines or without a final newline (each one the real
# daemon's targets reply recorded in part 1, so the rendering must equal the real one), a reply
# of 50000 rows, one over 64 MiB, and the 5 s read and connect timeouts.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
S=$(nt_sock d1)
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=99
unset CLUSTERD_SOCKET

# run ARGS...: clusterctl (not inside a namespace: the socket is a file), sets out, err, rc.
run()
{
	"$CLUSTERCTL" "$@" >"$NT_WORK/out" 2>"$NT_WORK/err"
	rc=$?
	out=$(cat "$NT_WORK/out")
	err=$(cat "$NT_WORK/err")
}

# expect NAME RC STDOUT STDERR: exact comparison ("*" skips a stream).
expect()
{
	local why=""
	[ "$rc" = "$2" ] || why="exit $rc, want $2 (stderr: $(head -c 200 <<<"$err"))"
	if [ -z "$why" ] && [ "$3" != "*" ] && [ "$out" != "$3" ]; then
		why="stdout differs: $(diff <(printf '%s\n' "$3") <(printf '%s\n' "$out") | head -n 8 |
			tr '\n' '|')"
	fi
	if [ -z "$why" ] && [ "$4" != "*" ] && [ "$err" != "$4" ]; then
		why="stderr differs: want '$4', got '$(head -c 300 <<<"$err")'"
	fi
	if [ -z "$why" ]; then nt_pass "$1"; else nt_fail "$1" "$why"; fi
}

# contains NAME HAYSTACK NEEDLE
contains()
{
	case "$2" in
	*"$3"*) nt_pass "$1" ;;
	*) nt_fail "$1" "'$3' not in '$(head -c 300 <<<"$2")'" ;;
	esac
}

# ---------------------------------------------------------------- part 1: the real daemon

# the roles settled first: both distributors may claim the VIPA for a moment at start (the
# later one releases it), and a handshake whose SYN went to d2 then would reach d1 as an
# adopted flow, not a created one (the counters checked below)
d1_sole_owner()
{
	local mac
	[ "$(nt2_vipa_role d1)" = distributor ] && [ "$(nt2_vipa_role d2)" = backup ] || return 1
	mac=$(nt_x d1 cat /sys/class/net/lan0/address)
	# the router sends the VIPA to d1, or has no entry yet (then only d1 answers its ARP)
	! nt_x r ip -4 neigh show "$NT_VIP4" dev lan0 | grep -q lladdr ||
		nt_x r ip -4 neigh show "$NT_VIP4" dev lan0 | grep -qi " lladdr $mac "
}
nt_wait_until 15 d1_sole_owner || nt_fail setup "d1 is not the VIPA's only distributor: \
d1 $(nt2_vipa_role d1), d2 $(nt2_vipa_role d2), router $(nt_x r ip -4 neigh show "$NT_VIP4" dev lan0)"
nt_keepalive_start ka "$NT_VIP4" t1 ||
	{ nt_fail setup "no long-lived connection to t1: $(tail -n 2 "$NT_WORK/ka.log")"; nt_finish; }
nt_curl_loop 6 "http://$NT_VIP4/" >"$NT_WORK/short.out"
# the client port of the long-lived connection, from the client's own socket
kaport=$(nt_x c ss -Htn state established "dst $NT_VIP4:80" | awk '{ print $3 }' |
	sed 's/.*://' | head -n 1)
[ -n "$kaport" ] || nt_fail setup "no established socket to $NT_VIP4:80 on the client"
# every node heard and the CDAT converged: the digests compared below hold still
nt_wait_until 10 nt2_converged $NT_HOSTS || nt_log "CDATs differ after 10 s"

# raw CMD: the daemon's reply to CMD, read from the socket without clusterctl.
raw()
{
	"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
b = b""
while True:
	d = s.recv(65536)
	if not d:
		break
	b += d
sys.stdout.write(b.decode())' "$S" "$1"
}

# The checks of one read command, over its text (argv 2), its --json output (argv 3) and the
# daemon's raw reply (argv 4); prints one line per failed check, nothing when all hold.
cat >"$NT_WORK/ctlcheck.py" <<'PY'
import json, re, sys
cmd, txt, jf, rawf, vip, kaport = sys.argv[1:7]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
text = open(txt).read()
lines = [re.sub(r"\s+", " ", l.strip()) for l in text.splitlines()]
try:
    j = json.load(open(jf))
except ValueError as e:
    print("--json output is not JSON: %s" % e)
    sys.exit(0)
need(isinstance(j, dict) and j.get("ok") is True, "--json: no \"ok\": true")
if not isinstance(j, dict):
    print("; ".join(bad))
    sys.exit(0)
try:
    r = json.loads(open(rawf).read())
except ValueError as e:
    r = None
    bad.append("the daemon's raw reply is not JSON: %s" % e)
# --json is the daemon's object: the same keys, and the same values for what holds still
if r is not None:
    need(sorted(r) == sorted(j), "--json keys %s, daemon's %s" % (sorted(j), sorted(r)))
def row(*cells):
    """a text line that starts with these cells, in this order"""
    p = " ".join(str(c) for c in cells)
    return any(l == p or l.startswith(p + " ") for l in lines)
def kv(key):
    for l in lines:
        if l.startswith(key + ": "):
            return l[len(key) + 2:]
    return None
if cmd == "status":
    need(j.get("node") == "d1", "node %r" % j.get("node"))
    need(lines and lines[0].startswith("node d1, clusterd %s, up " % j.get("version")),
         "first line %r" % (lines[0] if lines else ""))
    if r is not None:
        for k in ("node", "version", "config", "generation", "workers", "queue_kind", "rules"):
            need(r.get(k) == j.get(k), "%s: --json %r, daemon %r" % (k, j.get(k), r.get(k)))
    need(any(l.startswith("config %s, generation %s" % (j.get("config"), j.get("generation")))
             for l in lines), "no 'config FILE, generation N' line")
    v = [x for x in j.get("vipas", []) if x.get("address") == vip]
    need(len(v) == 1, "vipa %s in --json %d times" % (vip, len(v)))
    if v:
        v = v[0]
        need((v.get("role"), v.get("owner"), v.get("backup")) == ("distributor", "d1", "d2"),
             "vipa %s: role/owner/backup %r" % (vip, (v.get("role"), v.get("owner"),
                                                      v.get("backup"))))
        s80 = [s for s in v.get("services", []) if s.get("port") == 80]
        need(s80 and s80[0].get("targets_up") == 3 and s80[0].get("targets") == 3,
             "vipa %s:80 services %r" % (vip, s80))
        need(row(vip, "lan0", "distributor", "d1", "d2"), "no text row for %s" % vip)
        need(any(l.startswith(vip + " ") and "80/tcp 3/3 up" in l for l in lines),
             "no '80/tcp 3/3 up' on the %s row" % vip)
    names = sorted(n.get("name") for n in j.get("nodes", []))
    need(names == ["d1", "d2", "t1", "t2", "t3"], "nodes %r" % names)
    for n in j.get("nodes", []):
        need(row(n["name"], "yes" if n.get("alive") else "no", "yes" if n.get("self") else "no"),
             "no text row for node %s" % n.get("name"))
    need([n["name"] for n in j.get("nodes", []) if n.get("self")] == ["d1"], "self is not d1")
elif cmd == "targets":
    t = [x for x in j.get("targets", []) if x.get("vipa") == vip and x.get("port") == 80
         and x.get("protocol") == "tcp"]
    need(sorted(x.get("node") for x in t) == ["t1", "t2", "t3"], "%s:80 targets %r"
         % (vip, [x.get("node") for x in t]))
    for x in t:
        need(x.get("listening") is True and x.get("target_port") == 8080
             and x.get("address") == "10.2.0.%d" % (20 + int(x["node"][1])),
             "target %r" % x)
    for x in j.get("targets", []):
        need(row(x["vipa"], x["port"], x["protocol"], x["node"], x["address"],
                 x["target_port"], x["weight"], "yes" if x.get("listening") else "no"),
             "no text row for %s:%s/%s %s" % (x["vipa"], x["port"], x["protocol"], x["node"]))
    need(lines and lines[0].startswith("VIPA PORT PROTO NODE ADDRESS TPORT WEIGHT LISTENING"),
         "header %r" % (lines[0] if lines else ""))
elif cmd == "conns":
    c = [x for x in j.get("conns", []) if x.get("client") == "10.1.0.2:" + kaport]
    need(len(c) == 1, "the long-lived connection (client port %s) in --json %d times"
         % (kaport, len(c)))
    if c:
        c = c[0]
        need((c.get("protocol"), c.get("vipa"), c.get("target"), c.get("target_address"),
              c.get("state")) == ("tcp", vip + ":80", "t1", "10.2.0.21:8080", "EST"),
             "the long-lived connection: %r" % c)
    need(row("tcp", "10.1.0.2:" + kaport, vip + ":80", "t1", "10.2.0.21:8080", "EST"),
         "no text row for the long-lived connection")
    need(isinstance(j.get("total"), int) and j["total"] >= 1 and j.get("truncated") is False,
         "total %r truncated %r" % (j.get("total"), j.get("truncated")))
    need(lines and re.match(r"^\d+ connections?$", lines[-1]) is not None,
         "footer %r" % (lines[-1] if lines else ""))
elif cmd == "stats":
    need(j.get("node") == "d1" and kv("node") == "d1", "node: --json %r, text %r"
         % (j.get("node"), kv("node")))
    leaves = []
    def walk(o, p):
        if isinstance(o, dict):
            for k, x in o.items():
                walk(x, p + "." + k if p else k)
        elif isinstance(o, list):
            for i, x in enumerate(o):
                walk(x, "%s[%d]" % (p, i))
        elif p not in ("ok", "node"):
            leaves.append((p, o))
    walk(j, "")
    need(len(leaves) >= 20, "only %d counters" % len(leaves))
    for k, x in leaves:
        t = kv(k)
        need(t is not None and re.match(r"^-?\d+$", t) is not None,
             "text has no number for %s: %r" % (k, t))
        # the text came first: a counter never goes down
        if t is not None and re.match(r"^-?\d+$", t) and isinstance(x, int) and \
                re.match(r"^(packets|drops|malformed)\.|^conns\.created$|^sync\.(tx|rx)$", k):
            need(int(t) <= x, "%s: text %s, later --json %s" % (k, t, x))
    p = j.get("packets", {})
    need(p.get("rewritten", 0) > 0 and j.get("conns", {}).get("created", 0) >= 6,
         "packets.rewritten %r conns.created %r" % (p.get("rewritten"),
                                                    j.get("conns", {}).get("created")))
elif cmd == "cdat":
    need(j.get("node") == "d1" and kv("node") == "d1", "node %r" % j.get("node"))
    need(j.get("digest") and kv("digest") == j.get("digest"), "digest: text %r, --json %r"
         % (kv("digest"), j.get("digest")))
    need(kv("version") == str(j.get("version")), "version: text %r, --json %r"
         % (kv("version"), j.get("version")))
    names = sorted(n.get("name") for n in j.get("nodes", []))
    need(names == ["d1", "d2", "t1", "t2", "t3"], "nodes %r" % names)
    for n in j.get("nodes", []):
        for a in n.get("addresses", []):
            need(row(n["name"], n.get("status"), "yes" if n.get("suspected") else "no",
                     a.get("ip"), a.get("status")),
                 "no text row for %s %s" % (n["name"], a.get("ip")))
    for n in j.get("nodes", []):
        if n.get("name") != "d1":
            need(n.get("status") == "up", "%s is %r" % (n.get("name"), n.get("status")))
if bad:
    print("; ".join(bad))
PY

for cmd in status targets conns stats cdat; do
	run -s "$S" "$cmd"
	cp "$NT_WORK/out" "$NT_WORK/$cmd.txt"
	expect "${cmd}_text_runs" 0 "*" ""
	[ -s "$NT_WORK/$cmd.txt" ] || nt_fail "${cmd}_text_runs" "no output"
	run -s "$S" --json "$cmd"
	cp "$NT_WORK/out" "$NT_WORK/$cmd.json"
	expect "${cmd}_json_runs" 0 "*" ""
	raw "$cmd" >"$NT_WORK/$cmd.raw" 2>&1
	bad=$("$PY" "$NT_WORK/ctlcheck.py" "$cmd" "$NT_WORK/$cmd.txt" "$NT_WORK/$cmd.json" \
		"$NT_WORK/$cmd.raw" "$NT_VIP4" "${kaport:-none}" 2>&1)
	if [ -z "$bad" ]; then nt_pass "${cmd}_content"; else nt_fail "${cmd}_content" "$bad"; fi
	# the option's place does not matter, nor its short form: the same object (the keys; the
	# values of a counter move between two questions)
	for form in "$cmd --json" "-j $cmd"; do
		# shellcheck disable=SC2086
		run -s "$S" $form
		keys=$("$PY" -c 'import json, sys
print(sorted(json.load(open(sys.argv[1]))))' "$NT_WORK/out" 2>&1)
		want=$("$PY" -c 'import json, sys
print(sorted(json.load(open(sys.argv[1]))))' "$NT_WORK/$cmd.json" 2>&1)
		if [ "$rc" -eq 0 ] && [ -z "$err" ] && [ "$keys" = "$want" ]; then
			nt_pass "${cmd}_json_form_${form%% *}"
		else
			nt_fail "${cmd}_json_form_${form%% *}" "clusterctl $form: exit $rc, keys $keys \
(want $want), stderr $(head -c 200 <<<"$err")"
		fi
	done
	# --json prints the object indented by two spaces (numbers aside: a float's digits differ
	# between jansson and python)
	"$PY" -c 'import json, re, sys
num = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
want = json.dumps(json.load(open(sys.argv[1])), indent=2).splitlines()
got = open(sys.argv[1]).read().splitlines()
for a, b in zip(want, got):
	if num.sub("N", a) != num.sub("N", b):
		print("want %r, got %r" % (a, b))
		break
else:
	if len(want) != len(got):
		print("%d lines, want %d" % (len(got), len(want)))' "$NT_WORK/$cmd.json" \
		>"$NT_WORK/$cmd.indent" 2>&1
	nt_check "${cmd}_json_indent_2" "--json is not the object indented by 2: \
$(cat "$NT_WORK/$cmd.indent")" [ ! -s "$NT_WORK/$cmd.indent" ]
done

# the raw reply of a command whose answer holds still, for the fake server's framing tests
raw targets >"$NT_WORK/targets.reply"
run -s "$S" targets
cp "$NT_WORK/out" "$NT_WORK/targets.now"

# refusals: exit 1, the daemon's message, the object under --json
run -s "$S" drain nosuch
expect drain_unknown_node 1 "" "clusterctl: unknown node 'nosuch'"
run -s "$S" --json drain nosuch
expect drain_unknown_node_json 1 "*" "clusterctl: unknown node 'nosuch'"
bad=$("$PY" -c 'import json, sys
j = json.loads(sys.argv[1])
print("" if j.get("ok") is False and "nosuch" in j.get("error", "") else repr(j))' "$out" 2>&1)
nt_check drain_unknown_node_object "the --json object: $bad" [ -z "$bad" ]
run -s "$S" failover 10.9.9.9
expect failover_not_a_vipa 1 "" "clusterctl: 10.9.9.9 is not a VIPA of this cluster"
# the socket from the environment; -s wins over it
CLUSTERD_SOCKET=$S run status
expect clusterd_socket_env 0 "*" ""
contains clusterd_socket_env_node "$out" "node d1,"
CLUSTERD_SOCKET=$NT_WORK/none.sock run -s "$S" status
expect socket_option_over_env 0 "*" ""
nt_keepalive_stop ka || nt_fail keepalive "$(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')"

# ---------------------------------------------------------------- part 2: a fake clusterd

cat >"$NT_WORK/fake.py" <<'EOF'
import json, os, socket, sys, time
path, mode, log, reply = sys.argv[1:5]
def framed():
    o = json.loads(open(reply).read())
    if mode == "indent":
        return json.dumps(o, indent=4) + "\n"
    if mode == "noeol":
        return json.dumps(o)
    return json.dumps(o, separators=(",", ":")) + "\n"
def bulk(n, pad):
    # built before the socket is ready, so the client's 5 s read timeout measures the transfer
    row = json.dumps({"protocol": "tcp", "client": "10.1.0.2:40000",
                      "vipa": "10.2.0.100:80", "target": "t1",
                      "target_address": "10.2.0.21:8080", "state": "EST", "age_s": 3,
                      "idle_s": 0, "packets": 10, "bytes": 1200, "pad": "x" * pad})
    return ('{"ok": true, "total": %d, "truncated": false, "conns": [' % n
            + ", ".join([row] * n) + "]}\n")
BULK = bulk(50000, 150) if mode == "big" else bulk(400000, 60) if mode == "huge" else None
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
if mode == "stale":
    # a socket file nobody listens on: connect() gets ECONNREFUSED
    s.close()
    open(path + ".ready", "w").close()
    sys.exit(0)
s.listen(0)
open(path + ".ready", "w").close()
if mode == "noaccept":
    # backlog 0, never accepted: the first client waits for a reply, the next one for room
    time.sleep(60)
    sys.exit(0)
end = time.time() + 120
while time.time() < end:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    with open(log, "ab") as f:
        f.write(repr(buf).encode() + b"\n")
    try:
        if mode == "hang":
            time.sleep(8)
        elif mode == "empty":
            pass
        elif mode == "garbage":
            c.sendall(b"this is not json\n")
        elif mode == "nook":
            c.sendall(b'{"result":1}\n')
        elif mode == "array":
            c.sendall(b"[1,2]\n")
        elif mode in ("big", "huge"):
            c.sendall(BULK.encode())
        elif mode == "slow":
            out = framed().encode()
            for i in range(0, len(out), 7):
                c.sendall(out[i:i + 7])
                time.sleep(0.0005)
        else:
            c.sendall(framed().encode())
    except (BrokenPipeError, ConnectionResetError):
        pass
    c.close()
EOF

# start_fake MODE: a fake clusterd on $NT_WORK/MODE.sock (requests logged to MODE.req), replying
# with the real daemon's recorded targets reply in the framing modes.
start_fake()
{
	nt_bg c "fake-$1" "$PY" "$NT_WORK/fake.py" "$NT_WORK/$1.sock" "$1" "$NT_WORK/$1.req" \
		"$NT_WORK/targets.reply"
	nt_wait_until 10 test -e "$NT_WORK/$1.sock.ready" ||
		{ nt_fail "fake_$1" "the fake server did not start"; return 1; }
}

# usage errors: exit 2, nothing sent
start_fake plain
F=$NT_WORK/plain.sock
run -h
expect help 0 "*" ""
contains help_usage "$out" "usage: clusterctl [-s SOCKET] [--json] COMMAND [ARG]"
contains help_failover "$out" "failover VIPA"
run -s "$F"
expect no_command 2 "" "*"
contains no_command_msg "$err" "clusterctl: missing command"
run -s "$F" frobnicate
expect unknown_command 2 "" "*"
contains unknown_command_msg "$err" "unknown command 'frobnicate'"
run -s "$F" drain
expect drain_without_node 2 "" "*"
contains drain_without_node_msg "$err" "drain takes one argument"
run -s "$F" status extra
expect status_with_argument 2 "" "*"
run -s "$F" drain "t1 reload"
expect argument_with_space 2 "" "*"
run -s "$F" drain $'t1\nreload'
expect argument_with_newline 2 "" "*"
run -s "$F" --bogus status
expect unknown_option 2 "" "*"
run -s "/tmp/$(printf 'x%.0s' $(seq 120))" status
expect socket_path_too_long 2 "" "*"
nt_check usage_errors_send_nothing "the fake server got: $(cat "$NT_WORK/plain.req" 2>/dev/null)" \
	[ ! -s "$NT_WORK/plain.req" ]
run -s "$F" undrain t2
expect request_line 0 "*" "*"
nt_check request_line_sent "the fake server got: $(cat "$NT_WORK/plain.req" 2>/dev/null)" \
	[ "$(cat "$NT_WORK/plain.req" 2>/dev/null)" = "b'undrain t2\\n'" ]

# cannot connect: exit 3
run -s "$NT_WORK/none.sock" status
expect missing_socket 3 "" \
	"clusterctl: cannot connect to $NT_WORK/none.sock: No such file or directory (is clusterd running?)"
start_fake stale
run -s "$NT_WORK/stale.sock" status
expect stale_socket 3 "" \
	"clusterctl: cannot connect to $NT_WORK/stale.sock: Connection refused (is clusterd running?)"

# framing: the real reply in pieces, indented, without newline renders as the real one did
for m in slow indent noeol; do
	start_fake "$m" || continue
	run -s "$NT_WORK/$m.sock" targets
	expect "framing_$m" 0 "$(cat "$NT_WORK/targets.now")" ""
done

# bad replies
start_fake garbage
run -s "$NT_WORK/garbage.sock" status
expect garbage_reply 1 "" "*"
contains garbage_reply_msg "$err" "clusterctl: invalid reply from clusterd"
start_fake nook
run -s "$NT_WORK/nook.sock" status
expect reply_without_ok 1 "" 'clusterctl: invalid reply from clusterd: no "ok" field'
start_fake array
run -s "$NT_WORK/array.sock" status
expect reply_not_an_object 1 "" 'clusterctl: invalid reply from clusterd: no "ok" field'
start_fake empty
run -s "$NT_WORK/empty.sock" status
expect closed_without_reply 3 "" \
	"clusterctl: $NT_WORK/empty.sock: connection closed without a reply"

# size bounds
start_fake big
run -s "$NT_WORK/big.sock" conns
expect big_conns 0 "*" ""
nt_check big_conns_lines "$(printf '%s\n' "$out" | wc -l) lines, want 50002" \
	[ "$(printf '%s\n' "$out" | wc -l)" = 50002 ]
nt_check big_conns_footer "footer: $(printf '%s\n' "$out" | tail -n 1)" \
	[ "$(printf '%s\n' "$out" | tail -n 1)" = "50000 connections" ]
start_fake huge
run -s "$NT_WORK/huge.sock" conns
expect reply_over_64mib 3 "" "clusterctl: $NT_WORK/huge.sock: reply larger than 64 MiB"

# timeouts (5 s)
start_fake hang
t0=$(nt_now_ms)
run -s "$NT_WORK/hang.sock" status
t1=$(nt_now_ms)
expect no_reply 3 "" "clusterctl: $NT_WORK/hang.sock: no reply within 5 s"
nt_check read_timeout_5s "took $((t1 - t0)) ms" [ $((t1 - t0)) -ge 4500 -a $((t1 - t0)) -le 7000 ]

start_fake noaccept
"$CLUSTERCTL" -s "$NT_WORK/noaccept.sock" status >/dev/null 2>&1 &
first=$!
# the first client fills the backlog: the listening socket's accept queue (ss: Recv-Q) holds it
# (asked in the fake server's namespace: socket diagnostics are per namespace)
queued() { nt_x c ss -Hxl src "$NT_WORK/noaccept.sock" | awk '{ print $3 }'; }
nt_check noaccept_backlog_full "the first client is not queued on the fake server's socket" \
	nt_wait_until 5 eval '[ "$(queued)" -ge 1 ]'
t0=$(nt_now_ms)
run -s "$NT_WORK/noaccept.sock" status
t1=$(nt_now_ms)
wait "$first"
expect connect_timeout 3 "" \
	"clusterctl: cannot connect to $NT_WORK/noaccept.sock: timed out after 5 s (is clusterd running?)"
nt_check connect_timeout_5s "took $((t1 - t0)) ms" [ $((t1 - t0)) -ge 4500 -a $((t1 - t0)) -le 7000 ]
nt_finish
