#!/bin/bash
# Builds clusterd out of tree: scripts/build.sh rel|san  ->  build/rel or build/san
#   rel: the normal build (-O2 -g), what the integration tests and the demo run
#   san: AddressSanitizer + UndefinedBehaviorSanitizer, for the unit tests
set -euo pipefail
kind=${1:-rel}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
fi
mkdir -p "build/$kind"
cd "build/$kind"
if [ ! -f Makefile ] || [ ../../configure -nt Makefile ]; then
	case $kind in
	san) ../../configure -q --enable-sanitizers ;;
	*) ../../configure -q ;;
	esac
fi
make -s -j"$(nproc)" >/dev/null
