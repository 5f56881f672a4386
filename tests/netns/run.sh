#!/bin/bash
# run.sh: runs every t_*.sh of this directory (or those named) in sequence, each with a timeout,
# and ends with exactly one line "N passed, N failed"; exits non-zero if any failed.
#
#   tests/netns/run.sh [t_spread.sh ...]      env: CLUSTERD, CLUSTERCTL, NT_TIMEOUT (s, 240)
dir=$(cd "$(dirname "$0")" && pwd)
timeout_s=${NT_TIMEOUT:-240}
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: needs root (network namespaces)" >&2
	exit 2
fi
if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do tests+=("$dir/$(basename "$t")"); done
else
	tests=("$dir"/t_*.sh)
fi
pass=0 fail=0 failed=""
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "=== $name"
	start=$(date +%s)
	# its own process group, so that a timeout takes the whole test down (its EXIT trap
	# cleans the namespaces on TERM)
	timeout -k 20 "$timeout_s" setsid bash "$t" </dev/null
	rc=$?
	echo "=== $name: exit $rc ($(($(date +%s) - start)) s)"
	[ $rc -eq 124 ] && echo "FAIL: $name: timed out after $timeout_s s"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $name"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
