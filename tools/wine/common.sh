# shellcheck shell=bash
# Shared settings for tools/wine/*.sh and go_windows_amd64_exec. Sourced, not run.

QIPC_WINE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QIPC_REPO_ROOT="$(cd "$QIPC_WINE_DIR/../.." && pwd)"

export WINEPREFIX="${QIPC_WINEPREFIX:-$QIPC_REPO_ROOT/build/wineprefix}"
export WINEARCH=win64
export WINEDEBUG="${QIPC_WINEDEBUG:--all}"
# Don't pop up Gecko/Mono installers or winemenubuilder; no display needed.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;winemenubuilder.exe=d}"
unset DISPLAY WAYLAND_DISPLAY

QIPC_WINE_BUILD="${QIPC_WINE_BUILD:-$QIPC_REPO_ROOT/build/wine}"
QIPC_STANDIN_DLL="$QIPC_WINE_BUILD/bcryptprimitives.dll"
QIPC_MINGW_CC="${QIPC_MINGW_CC:-x86_64-w64-mingw32-gcc}"

# qipc_find_wine: sets QIPC_WINE (64-bit loader) and QIPC_WINESERVER, or returns 1.
qipc_find_wine() {
    QIPC_WINE=""
    local c
    for c in "${QIPC_WINE64:-}" wine64 /usr/lib/wine/wine64 /usr/lib/x86_64-linux-gnu/wine/wine64 wine; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1; then QIPC_WINE="$(command -v "$c")"; break; fi
    done
    QIPC_WINESERVER=""
    for c in "${QIPC_WINESERVER:-}" wineserver /usr/lib/wine/wineserver; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1; then QIPC_WINESERVER="$(command -v "$c")"; break; fi
    done
    [ -n "$QIPC_WINE" ] && [ -n "$QIPC_WINESERVER" ]
}

# qipc_build_dll: (re)build the stand-in bcryptprimitives.dll if out of date.
qipc_build_dll() {
    local src="$QIPC_WINE_DIR/bcryptprimitives.c" def="$QIPC_WINE_DIR/bcryptprimitives.def"
    if [ -f "$QIPC_STANDIN_DLL" ] && [ "$QIPC_STANDIN_DLL" -nt "$src" ] && [ "$QIPC_STANDIN_DLL" -nt "$def" ]; then
        return 0
    fi
    mkdir -p "$QIPC_WINE_BUILD"
    local tmp="$QIPC_STANDIN_DLL.tmp.$$"
    "$QIPC_MINGW_CC" -shared -O2 -s -o "$tmp" "$src" "$def" -lbcrypt && mv -f "$tmp" "$QIPC_STANDIN_DLL"
}

# qipc_ensure_server: make sure a persistent wineserver runs for $WINEPREFIX
# and that Wine's per-session system processes (services.exe, explorer.exe
# /desktop, winedevice.exe, plugplay.exe, rpcss.exe...) are already up.
#
# Why: the first Wine process of a wineserver session launches those daemons,
# and they inherit its stdout/stderr. If that first process is a test binary
# run by `go test`, the daemons keep go test's output pipes open for as long
# as the (persistent) wineserver lives, and go test fails with
# "Test I/O incomplete 1m0s after exiting". So we start them ourselves, with
# stdio on /dev/null, under a lock so parallel test binaries don't race.
# Cost when already running: ~2ms. Cold: ~0.4s.
qipc_ensure_server() {
    mkdir -p "$QIPC_WINE_BUILD"
    (
        if command -v flock >/dev/null 2>&1; then
            exec 8>"$QIPC_WINE_BUILD/server.lock"
            flock 8
        fi
        # rc 0 = we started a new server; rc 2 = one already runs for this prefix.
        if "$QIPC_WINESERVER" -p </dev/null >/dev/null 2>&1 8>&-; then
            "$QIPC_WINE" cmd.exe /c exit 0 </dev/null >/dev/null 2>&1 8>&- || true
        fi
    )
}
