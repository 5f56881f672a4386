#!/bin/bash
# run.sh: runs every t_*.sh of this directory (or those named) in sequence, each with a timeout,
# and ends with exactly one line "N passed, N failed"; exits non-zero if any failed.
#
#   tests/netns/run.sh [t_spread.sh ...]
#   env: CLUSTERD, CLUSTERCTL (binaries), NT_TIMEOUT (seconds per test, default 240),
#        NT_SAVE_LOGS=DIR (keep every test's daemon and server logs under DIR/TEST/)
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

# reap ID: whatever a killed test left behind (its EXIT trap normally does this).
reap()
{
	local ns p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1-"); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "/tmp/clusterd-netns.$1"
}

pass=0 fail=0 failed="" n=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	n=$((n + 1))
	id=cdr$$x$n
	echo "=== $name"
	start=$(date +%s)
	save=
	[ -n "${NT_SAVE_LOGS:-}" ] && save=$NT_SAVE_LOGS/$name
	# in its own session and process group, so a timeout can stop all of it at once
	NT_ID=$id NT_SAVE_LOGS=$save setsid bash "$t" </dev/null &
	pid=$!
	deadline=$((start + timeout_s))
	while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: $name: timed out after $timeout_s s"
		kill -TERM -- "-$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	reap "$id"
	echo "=== $name: exit $rc ($(($(date +%s) - start)) s)"
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
