#!/usr/bin/env bash
# Build the stand-in bcryptprimitives.dll, create/initialise the Wine prefix
# (headless) and start a persistent wineserver for it.
#   QIPC_WINEPREFIX  prefix dir (default: <repo>/build/wineprefix)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! qipc_find_wine; then echo "setup.sh: wine64/wineserver not found" >&2; exit 1; fi
if ! command -v "$QIPC_MINGW_CC" >/dev/null 2>&1; then echo "setup.sh: $QIPC_MINGW_CC not found" >&2; exit 1; fi

mkdir -p "$QIPC_WINE_BUILD" "$(dirname "$WINEPREFIX")"
# Serialise concurrent setups (parallel `go test` binaries may all call us).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$QIPC_WINE_BUILD/setup.lock"
    flock 9
fi

qipc_build_dll

if [ ! -f "$WINEPREFIX/system.reg" ] || [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
    echo "setup.sh: initialising Wine prefix $WINEPREFIX" >&2
    "$QIPC_WINE" wineboot -i </dev/null >/dev/null 2>&1 9>&- || true
    "$QIPC_WINESERVER" -w 9>&-   # wait for wineboot's wineserver to finish writing the registry
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        echo "setup.sh: wineboot failed to initialise $WINEPREFIX" >&2; exit 1
    fi
fi

# Also drop the DLL into system32 so Go binaries run outside the exec wrapper
# (e.g. `wine64 foo.exe`) work too. The wrapper copies it next to the .exe anyway.
cp -f "$QIPC_STANDIN_DLL" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

# Persistent wineserver (+ Wine's system daemons, stdio on /dev/null): later
# wine invocations attach to it instead of paying startup each time. Stays
# until teardown.sh (`wineserver -k`). See qipc_ensure_server in common.sh.
qipc_ensure_server 9>&-
echo "setup.sh: ready (WINEPREFIX=$WINEPREFIX, wine=$QIPC_WINE)" >&2
