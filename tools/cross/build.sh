#!/usr/bin/env bash
# The cross-build check of make test: for every platform the package claims
# but this machine cannot run natively, build the package, its test binary
# and cmd/qipc with cgo on, and run go vet and staticcheck for it.
# The 32-bit Linux targets (386, arm: armhf, GOARM=7, where embedded Qt
# applications run) check that sizes, stat fields and constants fit an
# int of 32 bits; their POSIX semaphores always go through glibc.
# C compilers: zig (pip install ziglang) for macOS, FreeBSD and 32-bit Linux, Debian's
# gcc-aarch64-linux-gnu for linux/arm64, mingw-w64 for Windows.
set -uo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
zigcc=$PWD/tools/cross/zigcc
status=0
missing() {
    if [ "${CI:-}" = true ]; then echo "cross-build: $1"; status=1; else echo "skip: $1"; fi
}
have_zig=false
python3 -m ziglang version >/dev/null 2>&1 && have_zig=true
for target in darwin/amd64:x86_64-macos darwin/arm64:aarch64-macos freebsd/amd64:x86_64-freebsd \
    linux/arm64:aarch64-linux-gnu-gcc linux/386:x86-linux-gnu linux/arm:arm-linux-gnueabihf \
    windows/amd64:x86_64-w64-mingw32-gcc; do
    platform=${target%%:*} cc=${target#*:}
    export GOOS=${platform%/*} GOARCH=${platform#*/} CGO_ENABLED=1 GOARM=7
    case $cc in
    *-gcc)
        command -v "$cc" >/dev/null || { missing "$platform needs $cc (apt-get install gcc-aarch64-linux-gnu gcc-mingw-w64-x86-64)"; continue; }
        export CC=$cc ;;
    *)
        $have_zig || { missing "$platform needs zig (pip install ziglang)"; continue; }
        export CC=$zigcc QIPC_ZIG_TARGET=$cc ;;
    esac
    ldflags=
    [ "$GOOS" = darwin ] && ldflags=-w # Go would run the host's strip on a Mach-O file
    out=$(
        $GO build -ldflags="$ldflags" ./... 2>&1 &&
            $GO test -c -ldflags="$ldflags" -o /dev/null . 2>&1 &&
            $GO test -c -ldflags="$ldflags" -o /dev/null ./cmd/qipc 2>&1 &&
            $GO test -c -ldflags="$ldflags" -o /dev/null ./systest 2>&1 &&
            $GO build -ldflags="$ldflags" -o /dev/null ./peers/go 2>&1 &&
            $GO build -ldflags="$ldflags" -o /dev/null ./cmd/qipc 2>&1 &&
            $GO vet ./... 2>&1 &&
            { ! command -v staticcheck >/dev/null || staticcheck ./... 2>&1; }
    )
    if [ $? -ne 0 ]; then
        echo "cross-build: $platform failed:"
        echo "$out" | head -30
        status=1
    else
        echo "cross-build: $platform: package, test binaries, cmd/qipc and the Go peer built; vet and staticcheck clean"
    fi
done
rm -f -- -.o # zig's clang leaves it when cgo probes it with input from stdin
exit $status
