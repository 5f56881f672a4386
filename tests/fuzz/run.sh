#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the libFuzzer targets one after the other:
#   tests/fuzz/run.sh BUILDDIR [SECONDS [TARGET...]]
# BUILDDIR was configured with CC=clang --enable-fuzzing and has run `make fuzz`.
# Each target starts from a copy of its seed corpus (tests/fuzz/corpus/NAME, left
# as it is) in BUILDDIR/fuzz-work/NAME; crashes go to BUILDDIR/fuzz-work/crashes/.
# A crash does not stop the run (-fork=1 -ignore_crashes=1).  Low priority: nice 19.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: tests/fuzz/run.sh BUILDDIR [SECONDS [TARGET...]]}" && pwd)
secs=${2:-600}
shift $(($# < 2 ? $# : 2))
targets=${*:-pkt wire cdat repl reliable config key http tls hoffmsg sctp}
work=$build/fuzz-work
mkdir -p "$work/crashes"
export LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp
for t in $targets; do
	mkdir -p "$work/$t"
	cp -n "$top/tests/fuzz/corpus/$t"/* "$work/$t/" 2>/dev/null || true
	echo "== $t: $secs s" >&2
	nice -n 19 "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -fork=1 \
		-ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -rss_limit_mb=1536 \
		-artifact_prefix="$work/crashes/$t-" "$work/$t" >"$work/$t.log" 2>&1 || true
	grep -E '^#[0-9]+: cov:' "$work/$t.log" | tail -1 >&2 || true
done
