#!/bin/sh
# Builds the Qt interop peers: OUTDIR/qtpeer5 (Qt5Core) and OUTDIR/qtpeer6 (Qt6Core, Qt 6.0 … 6.5).
# A Qt whose pkg-config module is missing is skipped (message on stderr, exit 0) unless CI=true (then exit 1).
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
src=$(cd "$(dirname "$0")" && pwd)/peer.cpp
mkdir -p "$out"
CXX=${CXX:-g++}
status=0
for v in 5 6; do
    mod=Qt${v}Core
    if ! pkg-config --exists "$mod"; then
        if [ "${CI:-}" = true ]; then
            echo "build.sh: pkg-config module $mod not found (CI=true: failing)" >&2
            status=1
        else
            echo "build.sh: pkg-config module $mod not found; skipping qtpeer$v" >&2
        fi
        continue
    fi
    # shellcheck disable=SC2046
    "$CXX" -std=c++17 -fPIC -O2 -Wall -Wextra -Werror -o "$out/qtpeer$v" "$src" \
        $(pkg-config --cflags --libs "$mod")
    echo "build.sh: built $out/qtpeer$v ($mod $(pkg-config --modversion "$mod"))" >&2
done
exit $status
