#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_fpmap: rules/fpmap.c (the distributor's fast-path map elements, batched) against the real
# kernel, in a scratch network namespace, through tests/netns/fpmap_tool.
#
# It creates `table inet clusterd` with maps named and typed as rules/fpmap.h says (v4 tcp,
# v6 tcp, v4 udp with size 100, and a large one) and checks, from `nft -j list map`:
#   - probe says 1 (this kernel has DESTROYSETELEM);
#   - 10,000 v4 elements added in batches of 256 (client ports wrapping into the next address):
#     exactly the expected keys, values and timeouts, none refused;
#   - get: present with 0 < expires <= timeout; absent key, absent map -> absent;
#   - re-adding the same 10,000 refreshes their expiry;
#   - v6 elements listed by nft as "port . address" : target;
#   - an add of another value for an existing key refuses the whole batch (EEXIST): the batch's
#     new keys are absent, the old values stay, batch_errors counts it at the next flush (not
#     before), and the next batch works; a get also counts an earlier refusal;
#   - removal + add of the same key in one batch changes its value; removals of absent keys do
#     not refuse the batch;
#   - a batch refused for each of its 200 messages (no such map) is counted once;
#   - removing 10,500 keys, 500 of them absent, in batches of 256: all gone, nothing refused;
#   - a full map (size 100, 150 added in one flush): refused whole (ENFILE), counted, the next
#     batch works;
#   - 100,000 adds in one flush, more than one send buffer: split into several batches, all there.
# Prints the microseconds per element that the tool measured for add, refresh and del of 10,000.
#
# Usage (root): tests/netns/t_fpmap.sh [path/to/fpmap_tool]
# Without an argument: FPMAP_TOOL, else tests/netns/fpmap_tool beside $CLUSTERD's build
# (`make netns-tools` builds it; tests/run passes it); without one it skips (exit 77).
# shellcheck disable=SC2015  # pass() only prints: "A && pass || fail" is an if-then-else here
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tool=${1:-${FPMAP_TOOL:-$(dirname "${CLUSTERD:-$top/clusterd}")/tests/netns/fpmap_tool}}
for c in nft python3; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: t_fpmap: missing $c"; exit 77; }
done
if [ ! -x "$tool" ]; then
	echo "SKIP: t_fpmap: no fpmap_tool at $tool (make netns-tools, then FPMAP_TOOL=PATH)"
	exit 77
fi

# run.sh reaps namespaces named after its NT_ID if this script is killed.
ns=${NT_ID:-fpmap$$}-fpmap
tmp=$(mktemp -d /tmp/t_fpmap.XXXXXX)
cleanup() {
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
nsx() { ip netns exec "$ns" "$@"; }
ft() { nsx "$tool" "$@"; }

VIP4=10.9.0.100
VIP6=fd09::100
M4=$("$tool" name 4 tcp $VIP4 80)
M6=$("$tool" name 6 tcp $VIP6 443)
MU=$("$tool" name 4 udp $VIP4 53)
MB=$("$tool" name 4 tcp $VIP4 81)
[ "$M4" = fp4t_0a090064_80 ] || fail "map name for $VIP4 tcp 80: '$M4'"
[ "$M6" = fp6t_fd090000000000000000000000000100_443 ] || fail "map name for $VIP6 tcp 443: '$M6'"

nsx nft -f - <<EOF || { echo "FAIL: creating the maps"; exit 1; }
table inet clusterd {
	map $M4 { typeof ip saddr . tcp sport : ip daddr; flags dynamic,timeout; timeout 60s; size 65536; }
	map $M6 { typeof tcp sport . ip6 saddr : ip6 daddr; flags dynamic,timeout; timeout 60s; size 65536; }
	map $MU { typeof ip saddr . udp sport : ip daddr; flags dynamic,timeout; timeout 30s; size 100; }
	map $MB { typeof ip saddr . tcp sport : ip daddr; flags dynamic,timeout; timeout 60s; size 131072; }
}
EOF

# elems MAP: "KEY : VALUE TIMEOUT_S EXPIRES_S" per element, sorted; KEY as nft writes it
# ("10.20.0.1 . 60000", "65534 . fd09::2"), TIMEOUT_S "-" when the element has the map's.
cat >"$tmp/elems.py" <<'EOF'
import json, sys
out = []
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if not m:
        continue
    for k, v in m.get("elem", []):
        t = e = "-"
        if isinstance(k, dict) and "elem" in k:
            t = k["elem"].get("timeout", "-")
            e = k["elem"].get("expires", "-")
            k = k["elem"]["val"]
        if isinstance(k, dict) and "concat" in k:
            k = " . ".join(str(x) for x in k["concat"])
        out.append("%s : %s %s %s" % (k, v, t, e))
for line in sorted(out):
    print(line)
EOF
elems() { nsx nft -j list map inet clusterd "$1" | python3 "$tmp/elems.py"; }
# field NAME LINE: the number after the word NAME in LINE
field() { echo "$2" | awk -v f="$1" '{ for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'; }
# stat_is OUTPUT NAME VALUE: the last "stats" line of OUTPUT has NAME VALUE
stat_of() { field "$2" "$(echo "$1" | grep '^stats' | tail -n 1)"; }

# expected v4 keys: COUNT flows from CLIENT_PREFIX.1:PORT0, the port wrapping into .2
expect4() {
	python3 - "$@" <<'EOF'
import sys
prefix, port0, count, val, tmo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
for i in range(count):
    p = port0 + i
    print("%s.%d . %d : %s %s" % (prefix, 1 + p // 65536, p % 65536, val, tmo))
EOF
}

# 1. probe
p=$(ft probe)
[ "$p" = 1 ] && pass "probe: DESTROYSETELEM known" || fail "probe said '$p', not 1"

# 2. 10,000 v4 adds, 256 per batch; ports 60000.. wrap into 10.20.0.2 after 65535
out=$(ft add 4 tcp $VIP4 80 10.20.0.1 60000 10000 10.9.0.3 50000 256)
echo "$out"
fig_add=$(field us_per_elem "$out")
[ "$(stat_of "$out" adds)" = 10000 ] && [ "$(stat_of "$out" batches)" = 40 ] &&
	[ "$(stat_of "$out" batch_errors)" = 0 ] && [ "$(stat_of "$out" send_errors)" = 0 ] ||
	fail "add 10000: $out"
elems "$M4" >"$tmp/got"
expect4 10.20.0 60000 10000 10.9.0.3 50 | sort >"$tmp/want"
cut -d' ' -f1-6 "$tmp/got" >"$tmp/got.kv"
if diff -q "$tmp/want" "$tmp/got.kv" >/dev/null; then
	pass "10000 v4 elements listed with the right keys, values and timeout 50s"
else
	fail "v4 elements differ from the expected ($(wc -l <"$tmp/got") listed): $(diff "$tmp/want" "$tmp/got.kv" | head -n 6 | tr '\n' ' ')"
fi
grep -q '^10.20.0.2 . 4463 : 10.9.0.3 ' "$tmp/got" && grep -q '^10.20.0.1 . 65535 : ' "$tmp/got" ||
	fail "the port wrap 10.20.0.1:65535 -> 10.20.0.2:4463 is not listed"
awk '{ if ($7 > 50 || $7 < 40) bad++ } END { exit bad > 0 }' "$tmp/got" &&
	pass "expires within 40..50 s" || fail "expires out of 40..50 s: $(awk '$7 > 50 || $7 < 40' "$tmp/got" | head -n 3)"

# 3. get
out=$(ft get 4 tcp $VIP4 80 10.20.0.1 60000)
e=$(field present "$out")
[ -n "$e" ] && [ "$e" -le 50000 ] && [ "$e" -gt 40000 ] &&
	pass "get: present, expires $e ms" || fail "get of a present key: $out"
out=$(ft get 4 tcp $VIP4 80 10.20.0.2 4463)
e=$(field present "$out")
[ -n "$e" ] && [ "$e" -le 50000 ] || fail "get of the last key (after the wrap): $out"
out=$(ft get 4 tcp $VIP4 80 10.20.0.1 59999)
[ "$(echo "$out" | head -n 1)" = absent ] && [ "$(stat_of "$out" get_errors)" = 0 ] &&
	pass "get: absent key -> absent" || fail "get of an absent key: $out"
out=$(ft get 4 tcp $VIP4 9 10.20.0.1 60000)
[ "$(echo "$out" | head -n 1)" = absent ] && pass "get: absent map -> absent" ||
	fail "get in an absent map: $out"
out=$(ft get 6 tcp $VIP6 443 fd09::2 1)
[ "$(echo "$out" | head -n 1)" = absent ] || fail "get of an absent v6 key: $out"

# 4. refresh: wait (bounded) until the first element has lost 1.5 s, re-add the same 10,000
e=50000
for _ in $(seq 60); do
	e=$(field present "$(ft get 4 tcp $VIP4 80 10.20.0.1 60000)")
	[ -n "$e" ] && [ "$e" -le 48500 ] && break
	sleep 0.1
done
[ -n "$e" ] && [ "$e" -le 48500 ] || fail "the element's expiry did not go down: $e"
out=$(ft add 4 tcp $VIP4 80 10.20.0.1 60000 10000 10.9.0.3 50000 256)
echo "${out/op add/op refresh}"
fig_ref=$(field us_per_elem "$out")
[ "$(stat_of "$out" batch_errors)" = 0 ] || fail "refresh refused: $out"
e2=$(field present "$(ft get 4 tcp $VIP4 80 10.20.0.1 60000)")
e3=$(field present "$(ft get 4 tcp $VIP4 80 10.20.0.2 4463)")
[ -n "$e2" ] && [ -n "$e3" ] && [ "$e2" -gt $((e + 1000)) ] && [ "$e3" -gt 48500 ] &&
	pass "re-add of the same value refreshed expires ($e -> $e2 ms)" ||
	fail "re-add did not refresh: before $e, after '$e2' / '$e3'"
[ "$(elems "$M4" | wc -l)" = 10000 ] || fail "refresh changed the element count"

# 5. v6: port first; ports 65534, 65535 of fd09::2 then 0, 1 of fd09::3
out=$(ft add 6 tcp $VIP6 443 fd09::2 65534 4 fd09::33 20000 256)
[ "$(stat_of "$out" batch_errors)" = 0 ] && [ "$(stat_of "$out" adds)" = 4 ] || fail "v6 add: $out"
elems "$M6" | cut -d' ' -f1-6 >"$tmp/got6"
printf '%s\n' "0 . fd09::3 : fd09::33 20" "1 . fd09::3 : fd09::33 20" \
	"65534 . fd09::2 : fd09::33 20" "65535 . fd09::2 : fd09::33 20" | sort >"$tmp/want6"
diff -q "$tmp/want6" "$tmp/got6" >/dev/null && pass "v6 elements listed as port . address : target" ||
	fail "v6 elements: $(tr '\n' ',' <"$tmp/got6")"
out=$(ft get 6 tcp $VIP6 443 fd09::3 1)
e=$(field present "$out")
[ -n "$e" ] && [ "$e" -le 20000 ] && [ "$e" -gt 10000 ] && pass "v6 get: present, expires $e ms" ||
	fail "v6 get: $out"

# 6. another value for an existing key, in one instance (script): 5000..5002 hold 10.9.0.3;
# a batch adding 4998..5002 with 10.9.0.4 is refused whole (EEXIST, 17), counted by the next
# flush; that next batch (4990, 4991) works; a refused batch is then counted by a get.
out=$(ft script 512 <<EOF
add 4 tcp $VIP4 80 10.21.0.1 5000 3 10.9.0.3 30000 256
add 4 tcp $VIP4 80 10.21.0.1 4998 5 10.9.0.4 30000 256
add 4 tcp $VIP4 80 10.21.0.1 4990 2 10.9.0.4 30000 256
poll
add 4 tcp $VIP4 80 10.21.0.1 4998 5 10.9.0.4 30000 256
get 4 tcp $VIP4 80 10.21.0.1 4990
EOF
)
echo "$out"
st=$(echo "$out" | grep '^stats' | awk '{ print $9 "/" $17 }' | tr '\n' ' ')
# batch_errors/last_error after: the first add, the refused add (not read yet), the next add
# (which reads it), poll, the second refused add (not read yet), get (which reads it)
[ "$st" = "0/0 0/0 1/17 1/17 1/17 2/17 " ] &&
	pass "a conflicting value refuses the batch (EEXIST), counted by the next flush, then by a get" ||
	fail "conflict: batch_errors/last_error were '$st', not '0/0 0/0 1/17 1/17 1/17 2/17 '"
elems "$M4" | grep '^10.21.0.1 ' | cut -d' ' -f1-5 >"$tmp/gotc"
printf '%s\n' "10.21.0.1 . 4990 : 10.9.0.4" "10.21.0.1 . 4991 : 10.9.0.4" \
	"10.21.0.1 . 5000 : 10.9.0.3" "10.21.0.1 . 5001 : 10.9.0.3" "10.21.0.1 . 5002 : 10.9.0.3" \
	>"$tmp/wantc"
diff -q "$tmp/wantc" "$tmp/gotc" >/dev/null &&
	pass "the refused batch was lost whole (4998, 4999 absent, 5000..5002 unchanged), the next one applied" ||
	fail "after the conflict: $(tr '\n' ',' <"$tmp/gotc")"

# 7. removal + add in one flush: 4999 (absent), 5000..5002 (10.9.0.3), 5003..5008 (absent)
# all end with 10.9.0.5 and the map's timeout; nothing refused
out=$(ft script 512 <<EOF
mix 4 tcp $VIP4 80 10.21.0.1 4999 10 10.9.0.5 0
poll
EOF
)
[ "$(stat_of "$out" batch_errors)" = 0 ] && [ "$(stat_of "$out" dels)" = 10 ] &&
	[ "$(stat_of "$out" batches)" = 1 ] || fail "mix: $out"
elems "$M4" | grep '^10.21.0.1 ' | cut -d' ' -f1-6 >"$tmp/gotm"
{
	echo "10.21.0.1 . 4990 : 10.9.0.4 30"
	echo "10.21.0.1 . 4991 : 10.9.0.4 30"
	for p in $(seq 4999 5008); do echo "10.21.0.1 . $p : 10.9.0.5 -"; done
} >"$tmp/wantm"
diff -q "$tmp/wantm" "$tmp/gotm" >/dev/null &&
	pass "removal + add in one batch moved 5000..5002 to a new target; absent removals refused nothing" ||
	fail "after mix: $(tr '\n' ',' <"$tmp/gotm")"

# 7b. one batch refused for many messages counts once: 200 messages (removal, add,
# alternately) for a map that does not exist, each answered ENOENT
out=$(ft mix 4 tcp $VIP4 7 10.1.0.1 1 100 10.9.0.3 0)
[ "$(stat_of "$out" batch_errors)" = 1 ] && [ "$(stat_of "$out" last_error)" = 2 ] &&
	pass "a batch refused for each of its 200 messages (no such map) counts once" ||
	fail "200 refusals in one batch: $out"

# 8. remove 10,500 keys of which 500 (10.20.0.1:59500..59999) are absent, 256 per batch
out=$(ft del 4 tcp $VIP4 80 10.20.0.1 59500 10500 256)
echo "$out"
fig_del=$(field us_per_elem "$out")
[ "$(stat_of "$out" dels)" = 10500 ] && [ "$(stat_of "$out" batch_errors)" = 0 ] ||
	fail "del 10500: $out"
n=$(elems "$M4" | grep -c '^10.20.0')
[ "$n" = 0 ] && pass "10000 elements removed, 500 absent ones in the same batches refused nothing" ||
	fail "$n of the 10000 elements left after del"
[ "$(elems "$M4" | wc -l)" = 12 ] || fail "del removed other elements too"

# 9. a full map: size 100, 150 in one flush -> refused whole (ENFILE, 23); 100 then go in
out=$(ft script 256 <<EOF
add 4 udp $VIP4 53 10.30.0.1 1 150 10.9.0.3 0 150
poll
EOF
)
[ "$(stat_of "$out" batch_errors)" = 1 ] && [ "$(stat_of "$out" last_error)" = 23 ] &&
	[ "$(elems "$MU" | wc -l)" = 0 ] &&
	pass "a full map refuses the batch (ENFILE), counted, nothing added" || fail "full map: $out"
out=$(ft add 4 udp $VIP4 53 10.30.0.1 1 100 10.9.0.3 0 100)
[ "$(stat_of "$out" batch_errors)" = 0 ] && [ "$(elems "$MU" | wc -l)" = 100 ] &&
	pass "the next batch filled it to its size" || fail "after the full map: $out"

# 10. 100,000 adds in one flush: more than one send buffer (4 MiB), so several batches
out=$(ft add 4 tcp $VIP4 81 10.40.0.1 1 100000 10.9.0.3 60000 100000)
echo "$out"
b=$(stat_of "$out" batches)
n=$(elems "$MB" | wc -l)
[ "$(stat_of "$out" batch_errors)" = 0 ] && [ "$(stat_of "$out" adds)" = 100000 ] &&
	[ "$b" -ge 2 ] && [ "$n" = 100000 ] &&
	pass "100000 adds in one flush: $b batches, all present" || fail "100000 adds: $n present, $out"

echo "figures (us per element, 10,000 v4 elements, 256 per batch): add $fig_add refresh $fig_ref del $fig_del (10,500, 500 absent)"
if [ $fails -gt 0 ]; then
	echo "t_fpmap: $fails checks failed"
	exit 1
fi
echo "t_fpmap: all checks passed"
