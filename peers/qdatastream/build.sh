#!/bin/sh
# Builds the QDataStream peers of the qdatastream tests: OUTDIR/qdspeer5
# (Qt5Core + Qt5Gui) and OUTDIR/qdspeer6 (Qt6Core + Qt6Gui).
# A Qt whose pkg-config modules are missing is skipped (message on stderr,
# exit 0) unless CI=true (then exit 1).
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
    mods="Qt${v}Core Qt${v}Gui"
    # shellcheck disable=SC2086
    if ! pkg-config --exists $mods; then
        if [ "${CI:-}" = true ]; then
            echo "build.sh: pkg-config modules $mods not found (CI=true: failing)" >&2
            status=1
        else
            echo "build.sh: pkg-config modules $mods not found; skipping qdspeer$v" >&2
        fi
        continue
    fi
    # shellcheck disable=SC2046,SC2086
    "$CXX" -std=c++17 -fPIC -O1 -Wall -Wextra -Werror -o "$out/qdspeer$v" "$src" \
        $(pkg-config --cflags --libs $mods)
    echo "build.sh: built $out/qdspeer$v ($(pkg-config --modversion Qt${v}Core))" >&2
done
exit $status
