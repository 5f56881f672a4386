#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds clusterd out of tree: scripts/build.sh rel|san|tsan [DIR]  ->  DIR (default build/KIND)
#   rel:  the normal build (-O2 -g), what the demo and the benches run
#   san:  AddressSanitizer + UndefinedBehaviorSanitizer (configure --enable-sanitizers): the unit
#         tests and the integration tests
#   tsan: ThreadSanitizer (configure --enable-tsan): the unit tests and the multi-worker
#         integration tests
# san and tsan are the test builds (tests/run, CI): configured with --enable-werror, so that a
# warning fails them; rel, like a user's ./configure, does not stop on one.
set -euo pipefail
kind=${1:-rel}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top/build/$kind}
case $kind in
rel | san | tsan) ;;
*)
	echo "usage: scripts/build.sh rel|san|tsan [DIR]" >&2
	exit 2
	;;
esac
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
fi
mkdir -p "$out"
cd "$out"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	case $kind in
	san) "$top/configure" -q --enable-sanitizers --enable-werror ;;
	tsan)
		# configure ignores an --enable it does not know (a warning): ask it first, and
		# give the flags directly to a configure without the option
		if "$top/configure" --help | grep -q -- --enable-tsan; then
			"$top/configure" -q --enable-tsan --enable-werror
		else
			"$top/configure" -q CFLAGS="-fsanitize=thread -g -O2" LDFLAGS=-fsanitize=thread
		fi
		;;
	*) "$top/configure" -q ;;
	esac
fi
# a build that silently lost its sanitizer would pass every test it is meant to check
case $kind in
san) want=-fsanitize=address ;;
tsan) want=-fsanitize=thread ;;
*) want= ;;
esac
if [ -n "$want" ] && ! grep -q -- "$want" Makefile; then
	echo "build.sh: $out/Makefile has no $want: configure did not take it" >&2
	exit 1
fi
# ARFLAGS: automake's "cru" makes ar warn that u is ignored
make -s -j"$(nproc)" ARFLAGS=cr >/dev/null
