#!/usr/bin/env bash
# `make test-windows`: cross-compile the tests for windows/amd64 with mingw
# cgo and run them under Wine. Extra args go to `go test` (e.g. -run X -v).
#   QIPC_TEST_PKGS   packages to test (default ./...)
#   QIPC_WINEPREFIX  wine prefix (default <repo>/build/wineprefix)
#   CI=true          missing tools are an error instead of a skip
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$QIPC_REPO_ROOT"

missing=()
qipc_find_wine || missing+=("wine64 (Debian packages: wine wine64)")
command -v "$QIPC_MINGW_CC" >/dev/null 2>&1 || missing+=("$QIPC_MINGW_CC (Debian package: gcc-mingw-w64-x86-64)")
if [ ${#missing[@]} -gt 0 ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "test-windows: FAIL: missing ${missing[*]}" >&2
        echo "test-windows: install with: apt-get install -y wine wine64 gcc-mingw-w64-x86-64" >&2
        exit 1
    fi
    echo "test-windows: SKIP: missing ${missing[*]}" >&2
    echo "test-windows: install with: apt-get install -y wine wine64 gcc-mingw-w64-x86-64" >&2
    exit 0
fi

trap '"$QIPC_WINE_DIR/teardown.sh"' EXIT
"$QIPC_WINE_DIR/setup.sh"

# The Go peer for the tests against other processes (systest), with the
# stand-in DLL every Go program needs under this Wine beside it.
winpeer=$QIPC_WINE_BUILD/gopeer
mkdir -p "$winpeer"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC="$QIPC_MINGW_CC" go build -o "$winpeer/gopeer.exe" ./peers/go
cp -f "$QIPC_STANDIN_DLL" "$winpeer/"
export QIPC_GOPEER=$winpeer/gopeer.exe

# shellcheck disable=SC2086  # QIPC_TEST_PKGS is a word list
PATH="$QIPC_WINE_DIR:$PATH" CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC="$QIPC_MINGW_CC" \
    go test -count=1 "$@" ${QIPC_TEST_PKGS:-./...}
