#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_ctl_human: clusterctl's text output (no --json) against running daemons, read the way a
# person reads it: a small cluster (d1 distributes 10.2.0.100, d2 backs it up, targets t1 and t2
# on :8080; a long-lived connection to t1 through the VIPA; 10.2.0.101 distributed by d2 alone,
# so that d1 shows a VIPA without backup that it never owned).
#
# Each read command (status, cdat, conns, targets, stats) is asked with --json, as text, and with
# --json again; the text must show what the JSON says, where it belongs: the header lines, the
# tables (parsed by their headings: every row has a cell under every heading, so an empty cell
# shows), node names, the VIPA with role, owner and backup, alive/down, target rows with their
# state, the connection's client and target, counters (between the two JSON answers).  Nowhere
# "(null)", raw JSON, or a line that ends in blanks.  Also on d2 (the backup) and after t2's
# daemon stopped (t2 down everywhere it shows).
#
# The acting commands: drain/undrain (their message, exit 0, the targets table after),
# reload (the new generation), failover (the VIPA moves to d2 and the text says so), the refusals
# (exit 1, the daemon's message on stderr, nothing on stdout).  Usage errors: an unknown command
# (exit 2, usage on stderr), bad arguments (exit 2); no daemon (exit 3, a message that names the
# socket).
. "$(dirname "$0")/lib.sh"
NT_HOSTS="d1 d2 t1 t2"
NT_TARGETS="t1 t2"
nt_need_daemon
unset CLUSTERD_SOCKET
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_key
cat >"$NT_WORK/clusterd.conf" <<EOF
# t_ctl_human's cluster, run $NT_ID
cluster = {
  name = "human";
  key_file = "$NT_WORK/cluster.key";
  sync = { $(nt_sync_group)port = 7788; interface = "lan0"; };
  heartbeat_ms = 100;
  retry_threshold = 3;
};
daemon = { workers = ${NT_WORKERS:-2};$(nt_fastpath_opt) };
nodes = (
  { name = "d1"; addresses = ( { ip = "10.2.0.11"; } ); },
  { name = "d2"; addresses = ( { ip = "10.2.0.12"; } ); },
  { name = "t1"; addresses = ( { ip = "10.2.0.21"; } ); },
  { name = "t2"; addresses = ( { ip = "10.2.0.22"; } ); }
);
vipas = (
  { address = "$NT_VIP4"; interface = "lan0";
    distributors = ( { node = "d1"; }, { node = "d2"; } );
    services = (
      { port = 80; protocol = "tcp"; targets = ( "t1", "t2" ); target_port = 8080; },
      { port = 5353; protocol = "udp"; targets = ( "t1", { node = "t2"; weight = 3; } ); }
    ); },
  { address = "10.2.0.101"; interface = "lan0";
    distributors = ( { node = "d2"; } );
    services = ( { port = 81; protocol = "tcp"; targets = ( "t1" ); target_port = 8181; } ); }
);
EOF
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
nt_wait_listening d1 2 80 tcp 30 "$NT_VIP4" ||
	{ nt_fail setup "d1 does not see t1 and t2 listening"; nt_finish; }
# d1 owns the VIPA alone before the connection is made (both may claim it for a moment at start)
roles_settled()
{
	[ "$(nt2_vipa_role d1)" = distributor ] && [ "$(nt2_vipa_role d2)" = backup ]
}
nt_wait_until 15 roles_settled || nt_fail setup "d1 $(nt2_vipa_role d1), d2 $(nt2_vipa_role d2)"
nt_keepalive_start ka "$NT_VIP4" t1 ||
	{ nt_fail setup "no long-lived connection to t1: $(tail -n 2 "$NT_WORK/ka.log")"; nt_finish; }
kaport=$(nt_x c ss -Htn state established "dst $NT_VIP4:80" | awk '{ print $3 }' |
	sed 's/.*://' | head -n 1)
[ -n "$kaport" ] || nt_fail setup "no established socket to $NT_VIP4:80 on the client"
nt_curl_loop 4 "http://$NT_VIP4/" >/dev/null

# run HOST ARGS...: clusterctl against HOST's socket (a file: no namespace needed); sets out,
# err, rc and leaves them in $NT_WORK/out, err.
run()
{
	local h=$1
	shift
	"$CLUSTERCTL" -s "$(nt_sock "$h")" "$@" >"$NT_WORK/out" 2>"$NT_WORK/err"
	rc=$?
	out=$(cat "$NT_WORK/out")
	err=$(cat "$NT_WORK/err")
}

# expect NAME RC STDOUT STDERR: exact ("*": any).
expect()
{
	local why=""
	[ "$rc" = "$2" ] || why="exit $rc, want $2 (stderr: $(head -c 200 <<<"$err"))"
	[ -z "$why" ] && [ "$3" != "*" ] && [ "$out" != "$3" ] &&
		why="stdout '$(head -c 300 <<<"$out" | tr '\n' '|')', want '$(tr '\n' '|' <<<"$3")'"
	[ -z "$why" ] && [ "$4" != "*" ] && [ "$err" != "$4" ] &&
		why="stderr '$(head -c 300 <<<"$err" | tr '\n' '|')', want '$4'"
	if [ -z "$why" ]; then nt_pass "$1"; else nt_fail "$1" "$why"; fi
}

# The checker: argv CMD HOST TEXT JSON_BEFORE JSON_AFTER VIPA KAPORT CASE; prints one line per
# failed check, nothing when all hold.
cat >"$NT_WORK/human.py" <<'PY'
import json, re, sys
cmd, host, txtf, j1f, j2f, vip, kaport, case = sys.argv[1:9]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
text = open(txtf).read()
lines = text.splitlines()
j1, j2 = json.load(open(j1f)), json.load(open(j2f))
def yn(b):
    return "yes" if b is True else "no" if b is False else str(b)
def either(key_fn, got, what):
    """the text shows the value of the first or the second JSON answer"""
    a, b = key_fn(j1), key_fn(j2)
    need(got in (a, b), "%s: text %r, --json %r / %r" % (what, got, a, b))

# everywhere: something, no "(null)", no raw JSON, no blanks at the end of a line
need(text.strip() != "", "no output")
need("(null)" not in text, "(null) in the text")
need(not re.search(r'[{\[]"|":|\{\s*$|^\s*[{}\]]', text, re.M), "raw JSON in the text")
need(not [l for l in lines if l != l.rstrip()],
     "lines ending in blanks: %r" % [l for l in lines if l != l.rstrip()][:2])

def table(head_word):
    """the table whose heading line starts with head_word: (headings, [row dicts]); cells are
    separated by two blanks or more, so a row with an empty cell has too few"""
    for i, l in enumerate(lines):
        if l.split()[:1] == [head_word] and l == l.upper():
            heads = re.split(r"\s{2,}", l.strip())
            rows = []
            for r in lines[i + 1:]:
                if not r.strip() or re.match(r"^[a-z_.\[\]0-9]+: ", r) or \
                        re.match(r"^\d+ connections?", r):
                    break
                cells = re.split(r"\s{2,}", r.strip())
                need(len(cells) == len(heads), "%s table: row %r has %d cells for %d headings"
                     % (head_word, r, len(cells), len(heads)))
                rows.append(dict(zip(heads, cells)))
            return heads, rows
    bad.append("no table with heading %s" % head_word)
    return [], []
def kv(key):
    for l in lines:
        if l.startswith(key + ": "):
            return l[len(key) + 2:]
    return None

if cmd == "status":
    j = j2
    need(re.match(r"^node %s, clusterd %s, up (\d+d\d\dh\d\dm|\d+h\d\dm\d\ds|\d+m\d\ds|\d+s)$"
                  % (re.escape(j["node"]), re.escape(j["version"])), lines[0] if lines else ""),
         "first line %r" % (lines[0] if lines else None))
    need(j["node"] == host, "node %r" % j["node"])
    m = [re.match(r"^config (.*?), generation (\d+)(, .*)?$", l) for l in lines]
    m = [x for x in m if x]
    need(len(m) == 1, "no 'config FILE, generation N' line")
    if m:
        need(m[0].group(1) == j["config"], "config %r, --json %r" % (m[0].group(1), j["config"]))
        either(lambda o: o["generation"], int(m[0].group(2)), "generation")
    w, b = j["workers"], j["queue_base"]
    want = "workers %d, queues %d-%d, kind %s, rules %s, fast path %s" % (
        w, b, b + w - 1, j["queue_kind"], j["rules"], j["fastpath"])
    need(want in lines, "no line %r" % want)
    either(lambda o: str(o["reloads"]), kv("reloads"), "reloads")
    need(kv("ready") == yn(j["ready"]) and kv("leaving") == yn(j["leaving"]),
         "ready/leaving: %r %r" % (kv("ready"), kv("leaving")))
    heads, rows = table("VIPA")
    need(heads[:7] == ["VIPA", "INTERFACE", "ROLE", "OWNER", "BACKUP", "SINCE", "SERVICES"],
         "VIPA headings %r" % heads)
    for v in j["vipas"]:
        r = [x for x in rows if x.get("VIPA") == v["address"]]
        need(len(r) == 1, "VIPA %s: %d rows" % (v["address"], len(r)))
        if not r:
            continue
        r = r[0]
        for h, k in (("INTERFACE", "interface"), ("ROLE", "role"), ("OWNER", "owner"),
                     ("BACKUP", "backup"), ("SINCE", "since")):
            need(r.get(h) == (v[k] or "-"), "VIPA %s %s: text %r, --json %r"
                 % (v["address"], h, r.get(h), v[k]))
        svc = ", ".join("%d/%s %d/%d up" % (s["port"], s["protocol"], s["targets_up"],
                                             s["targets"]) for s in v["services"])
        need(r.get("SERVICES") == svc, "services %r, want %r" % (r.get("SERVICES"), svc))
    if case == "d1":
        v = [x for x in j["vipas"] if x["address"] == vip]
        need(v and (v[0]["role"], v[0]["owner"], v[0]["backup"]) == ("distributor", "d1", "d2"),
             "d1's view of %s: %r" % (vip, v))
        need(v and [s["targets_up"] for s in v[0]["services"]] == [2, 0],
             "targets up %r" % ([s["targets_up"] for s in v[0]["services"]] if v else None))
        # d1 has no part in 10.2.0.101 (d2 alone distributes it): no backup, never owned
        # here, so the daemon sends "" for both (the text must show "-", not an empty cell)
        v = [x for x in j["vipas"] if x["address"] == "10.2.0.101"]
        need(v and (v[0]["owner"], v[0]["backup"], v[0]["since"]) == ("d2", "", ""),
             "d1's view of 10.2.0.101: %r" % v)
    elif case == "d2":
        v = [x for x in j["vipas"] if x["address"] == vip]
        need(v and (v[0]["role"], v[0]["owner"]) == ("backup", "d1"), "d2's view: %r" % v)
    heads, rows = table("NODE")
    need(heads[:4] == ["NODE", "ALIVE", "SELF", "LAST_HEARD_MS"], "node headings %r" % heads)
    need(sorted(r.get("NODE") for r in rows) == sorted(n["name"] for n in j["nodes"]),
         "node rows %r" % [r.get("NODE") for r in rows])
    for n in j["nodes"]:
        r = [x for x in rows if x.get("NODE") == n["name"]]
        if r:
            need((r[0].get("ALIVE"), r[0].get("SELF")) == (yn(n["alive"]), yn(n["self"])),
                 "node %s: text %r, --json alive %r self %r" % (n["name"], r[0], n["alive"],
                                                                 n["self"]))
            lh = n.get("last_heard_ms")
            need(r[0].get("LAST_HEARD_MS") == ("-" if lh is None else r[0].get("LAST_HEARD_MS"))
                 and (lh is None or re.match(r"^\d+$", r[0].get("LAST_HEARD_MS", ""))),
                 "node %s last heard %r (--json %r)" % (n["name"], r[0].get("LAST_HEARD_MS"), lh))
    alive = {n["name"]: n["alive"] for n in j["nodes"]}
    if case == "t2down":
        need(alive.get("t2") is False and alive.get("t1") is True, "alive %r" % alive)
    else:
        need(all(alive.values()), "alive %r" % alive)
elif cmd == "cdat":
    j = j2
    for k in ("node", "digest", "coordinator"):
        either(lambda o: str(o.get(k)), kv(k), k)
    either(lambda o: str(o["version"]), kv("version"), "version")
    heads, rows = table("NODE")
    need(heads[:5] == ["NODE", "NODE_STATUS", "SUSPECTED", "ADDRESS", "STATUS"],
         "cdat headings %r" % heads)
    for n in j["nodes"]:
        for a in n["addresses"]:
            r = [x for x in rows if x.get("ADDRESS") == a["ip"]]
            need(len(r) == 1, "address %s: %d rows" % (a["ip"], len(r)))
            if r:
                got = (r[0].get("NODE"), r[0].get("NODE_STATUS"), r[0].get("STATUS"))
                need(got == (n["name"], n["status"], a["status"]),
                     "address %s: text %r, --json %r" % (a["ip"], got,
                                                         (n["name"], n["status"], a["status"])))
    st = {n["name"]: n["status"] for n in j["nodes"]}
    want = {"d1": "up", "d2": "up", "t1": "up", "t2": "down" if case == "t2down" else "up"}
    want[host] = "self"
    need(st == want, "node status %r, want %r" % (st, want))
    for k, v in j.get("counters", {}).items():
        need(kv("counters." + k) is not None, "no counters.%s line" % k)
elif cmd == "conns":
    heads, rows = table("PROTO")
    need(heads[:6] == ["PROTO", "CLIENT", "VIPA", "TARGET", "TARGET_ADDRESS", "STATE"],
         "conns headings %r" % heads)
    client = "10.1.0.2:" + kaport
    r = [x for x in rows if x.get("CLIENT") == client]
    need(len(r) == 1, "the long-lived connection %s: %d rows" % (client, len(r)))
    c = [x for x in j2["conns"] if x["client"] == client]
    need(len(c) == 1, "the long-lived connection in --json: %d" % len(c))
    if r and c:
        got = tuple(r[0].get(h) for h in ("PROTO", "VIPA", "TARGET", "TARGET_ADDRESS", "STATE"))
        need(got == (c[0]["protocol"], c[0]["vipa"], c[0]["target"], c[0]["target_address"],
                     c[0]["state"]) == ("tcp", vip + ":80", "t1", "10.2.0.21:8080", "EST"),
             "the connection: text %r, --json %r" % (got, c[0]))
    m = re.match(r"^(\d+) connections?$", lines[-1] if lines else "")
    need(m is not None, "footer %r" % (lines[-1] if lines else None))
    if m:
        either(lambda o: int(o["total"]), int(m.group(1)), "total")
        need(int(m.group(1)) == len(rows), "footer %s, %d rows" % (m.group(1), len(rows)))
elif cmd == "targets":
    heads, rows = table("VIPA")
    need(heads[:11] == ["VIPA", "PORT", "PROTO", "NODE", "ADDRESS", "TPORT", "WEIGHT",
                        "LISTENING", "DRAINED", "ACTIVE", "CONNS"], "targets headings %r" % heads)
    # (the targets of the VIPAs this node distributes: not 10.2.0.101's)
    need(len(rows) == len(j2["targets"]) == 4, "%d rows, %d in --json, want 4"
         % (len(rows), len(j2["targets"])))
    for t in j2["targets"]:
        r = [x for x in rows if (x.get("VIPA"), x.get("PORT"), x.get("PROTO"), x.get("NODE")) ==
             (t["vipa"], str(t["port"]), t["protocol"], t["node"])]
        need(len(r) == 1, "target %s:%s/%s %s: %d rows" % (t["vipa"], t["port"], t["protocol"],
                                                            t["node"], len(r)))
        if not r:
            continue
        want = (t["address"], str(t["target_port"]), str(t["weight"]), yn(t["listening"]),
                yn(t["drained"]), yn(t["active"]))
        got = tuple(r[0].get(h) for h in ("ADDRESS", "TPORT", "WEIGHT", "LISTENING", "DRAINED",
                                           "ACTIVE"))
        need(got == want, "target %s/%s %s: text %r, --json %r" % (t["port"], t["protocol"],
                                                                   t["node"], got, want))
    st = {(t["port"], t["node"]): (t["listening"], t["drained"], t["active"])
          for t in j2["targets"] if t["vipa"] == vip}
    want = {(80, "t1"): (True, False, True), (80, "t2"): (True, False, True),
            (5353, "t1"): (False, False, False), (5353, "t2"): (False, False, False)}
    if case == "drained":
        want[(80, "t2")] = (True, True, False)
        want[(5353, "t2")] = (False, True, False)
    if case == "t2down":
        want[(80, "t2")] = (True, False, False)
    need(st == want, "states %r, want %r" % (st, want))
    need([t["weight"] for t in j2["targets"] if t["port"] == 5353] == [1, 3], "weights")
elif cmd == "stats":
    need(kv("node") == j2["node"] == host, "node %r" % kv("node"))
    leaves = []
    def walk(o, p):
        if isinstance(o, dict):
            for k, x in o.items():
                walk(x, p + "." + k if p else k)
        elif isinstance(o, list):
            for i, x in enumerate(o):
                walk(x, "%s[%d]" % (p, i))
        elif p not in ("ok", "node"):
            leaves.append(p)
    walk(j2, "")
    for k in leaves:
        need(kv(k) is not None, "no line for %s" % k)
    def get(o, path):
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            o = o[int(part[1:-1])] if part.startswith("[") else o[part]
        return o
    for k in ("packets.received", "packets.rewritten", "conns.created", "sync.tx", "sync.rx",
              "sync.heartbeats_sent", "workers[0].packets", "workers[1].packets"):
        t = kv(k)
        a, b = get(j1, k), get(j2, k)
        need(t is not None and re.match(r"^\d+$", t) and a <= int(t) <= b,
             "%s: text %r, --json before %r after %r" % (k, t, a, b))
    for k in ("conns.active", "drops.malformed", "drops.no_target", "queue.overruns"):
        t = kv(k)
        need(t is not None and int(t) in (get(j1, k), get(j2, k)), "%s: text %r, --json %r %r"
             % (k, t, get(j1, k), get(j2, k)))
    if host == "d1":
        need(get(j2, "packets.rewritten") > 0 and get(j2, "conns.active") >= 1,
             "d1 rewrote %r, %r active" % (get(j2, "packets.rewritten"), get(j2, "conns.active")))
if bad:
    print("; ".join(bad))
PY

# read CMD HOST CASE: --json, text, --json; the checker over them.
read_cmd()
{
	local cmd=$1 h=$2 case=$3 name=${4:-$1_$2} ok=1
	run "$h" --json "$cmd"
	cp "$NT_WORK/out" "$NT_WORK/$name.j1"
	[ "$rc" = 0 ] || ok=0
	run "$h" "$cmd"
	cp "$NT_WORK/out" "$NT_WORK/$name.txt"
	[ "$rc" = 0 ] && [ -z "$err" ] || { ok=0; nt_fail "${name}_runs" "exit $rc: $err"; }
	run "$h" --json "$cmd"
	cp "$NT_WORK/out" "$NT_WORK/$name.j2"
	[ "$rc" = 0 ] || ok=0
	[ "$ok" = 1 ] || { nt_fail "$name" "a clusterctl $cmd failed"; return; }
	bad=$("$PY" "$NT_WORK/human.py" "$cmd" "$h" "$NT_WORK/$name.txt" "$NT_WORK/$name.j1" \
		"$NT_WORK/$name.j2" "$NT_VIP4" "${kaport:-none}" "$case" 2>&1)
	if [ -z "$bad" ]; then
		nt_pass "$name"
	else
		nt_fail "$name" "$bad"
		sed 's/^/    | /' "$NT_WORK/$name.txt" | head -n 30
	fi
}

# ---- the read commands, on the distributor and on the backup
for c in status cdat conns targets stats; do read_cmd "$c" d1 d1; done
for c in status cdat stats; do read_cmd "$c" d2 d2; done

# ---- acting commands
run d1 drain t2
expect drain_message 0 $'node: t2\ndrained: yes' ""
read_cmd targets d1 drained targets_drained
run d1 undrain t2
expect undrain_message 0 $'node: t2\ndrained: no' ""
read_cmd targets d1 d1 targets_undrained
run d1 drain nosuch
expect drain_refused 1 "" "clusterctl: unknown node 'nosuch'"
gen=$(nt_ctl d1 status --json | nt_json "j['generation']")
run d1 reload
newgen=$(sed -n 's/^generation: \([0-9]*\)$/\1/p' <<<"$out")
expect reload_message 0 "generation: ${newgen:-none}" ""
nt_check reload_generation "reload said generation '${newgen:-}', before it $gen" \
	[ "${newgen:-0}" -gt "$gen" ]
run d1 failover 10.9.9.9
expect failover_refused 1 "" "clusterctl: 10.9.9.9 is not a VIPA of this cluster"

# ---- usage errors and no daemon
run d1 frobnicate
expect unknown_command 2 "" "*"
nt_check unknown_command_says "stderr: $(head -c 200 <<<"$err")" eval \
	'grep -q "^clusterctl: unknown command '"'"'frobnicate'"'"'$" <<<"$err" &&
	grep -q "^usage: clusterctl \[-s SOCKET\] \[--json\] COMMAND \[ARG\]$" <<<"$err" &&
	grep -q "^  failover VIPA " <<<"$err"'
run d1 drain "t1 t2"
expect bad_argument 2 "" \
	"clusterctl: drain: bad argument (1 to 255 characters, no spaces or control characters)"
run d1 failover
expect missing_argument 2 "" "*"
nt_check missing_argument_says "stderr: $(head -n 1 <<<"$err")" \
	[ "$(head -n 1 <<<"$err")" = "clusterctl: failover takes one argument" ]
"$CLUSTERCTL" -s "$NT_WORK/none.sock" status >"$NT_WORK/out" 2>"$NT_WORK/err"
rc=$? out=$(cat "$NT_WORK/out") err=$(cat "$NT_WORK/err")
expect no_daemon 3 "" \
	"clusterctl: cannot connect to $NT_WORK/none.sock: No such file or directory (is clusterd running?)"

# ---- t2's daemon stops: down in status, cdat and targets on d1
nt_cd_stop t2
t2_down() { [ "$(nt_ctl d1 status --json | nt_json "[n['alive'] for n in j['nodes'] if n['name'] == 't2'][0]")" = False ]; }
nt_check t2_seen_down "d1 still sees t2 alive 10 s after its daemon stopped" nt_wait_until 10 t2_down
nt_wait_until 5 eval '[ "$(nt_ctl d1 cdat --json | nt_json "[n[\"status\"] for n in j[\"nodes\"] if n[\"name\"] == \"t2\"][0]")" = down ]'
for c in status cdat targets; do read_cmd "$c" d1 t2down "${c}_t2down"; done
run t2 status
expect stopped_daemon 3 "" \
	"clusterctl: cannot connect to $(nt_sock t2): No such file or directory (is clusterd running?)"

# ---- failover: the VIPA goes to d2, the text of both says so, the connection lives on
run d1 failover "$NT_VIP4"
expect failover_message 0 "vipa: $NT_VIP4" ""
moved() { [ "$(nt2_vipa_role d2)" = distributor ] && [ "$(nt2_vipa_role d1)" = backup ]; }
nt_check failover_moved "d1 $(nt2_vipa_role d1), d2 $(nt2_vipa_role d2)" nt_wait_until 10 moved
vrow()
{
	nt_ctl "$1" status | awk -v v="$NT_VIP4" '$1 == v { print $3, $4; exit }'
}
nt_check failover_text_d1 "d1's row: '$(vrow d1)'" [ "$(vrow d1)" = "backup d2" ]
nt_check failover_text_d2 "d2's row: '$(vrow d2)'" [ "$(vrow d2)" = "distributor d2" ]
oks=$(nt_keepalive_oks ka)
nt_wait_until 5 eval '[ "$(nt_keepalive_oks ka)" -gt "$((oks + 3))" ]'
nt_check keepalive_survives "the long-lived connection: $(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')" \
	nt_keepalive_stop ka
nt_finish
