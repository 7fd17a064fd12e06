#!/bin/sh
# Builds the Qt programs for Qt 5 and Qt 6 (Qt 6.0 … 6.5) into OUTDIR:
#   qtpeer5, qtpeer6   the interop peer (peer.cpp; QtCore)
#   seed5, seed6       the tutorial's program (../seed/seed.cpp; QtCore and QtGui)
#   qdspeer5, qdspeer6 the QDataStream peer of the qdatastream tests (../qdatastream/peer.cpp; QtCore and QtGui)
# A Qt whose pkg-config modules are missing is skipped (message on stderr, exit 0) unless CI=true (then exit 1).
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
CXX=${CXX:-g++}
status=0
# build NAME SOURCE MODULE...: NAME from SOURCE against the pkg-config MODULEs.
build() {
    name=$1 src=$2
    shift 2
    if ! pkg-config --exists "$@"; then
        if [ "${CI:-}" = true ]; then
            echo "build.sh: pkg-config modules $* not found (CI=true: failing)" >&2
            status=1
        else
            echo "build.sh: pkg-config modules $* not found; skipping $name" >&2
        fi
        return
    fi
    # shellcheck disable=SC2046
    "$CXX" -std=c++17 -fPIC -O2 -Wall -Wextra -Werror -o "$out/$name" "$src" $(pkg-config --cflags --libs "$@")
    echo "build.sh: built $out/$name ($* $(pkg-config --modversion "$1"))" >&2
}
for v in 5 6; do
    build "qtpeer$v" "$here/peer.cpp" "Qt${v}Core"
    build "seed$v" "$here/../seed/seed.cpp" "Qt${v}Core" "Qt${v}Gui"
    build "qdspeer$v" "$here/../qdatastream/peer.cpp" "Qt${v}Core" "Qt${v}Gui"
done
exit $status
