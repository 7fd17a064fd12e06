#!/usr/bin/env bash
# linux/arm64 under qemu-user. The package's test binary is built for arm64
# and run by qemu-aarch64; the peers it starts (C, Qt 5.15/6.4, PySide6) run
# natively, so the interop cells put an arm64 Go process, its lock-free
# sem_t path included, on the same segments and locks as x86-64 peers.
# QIPC_EXEC_PREFIX makes the tests start their own Go peer through qemu too;
# nothing is registered with the kernel (no binfmt_misc).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
CC_ARM64=${CC_ARM64:-aarch64-linux-gnu-gcc}
SYSROOT=${QIPC_ARM64_SYSROOT:-/usr/aarch64-linux-gnu}
if ! command -v qemu-aarch64 >/dev/null || ! command -v "$CC_ARM64" >/dev/null || [ ! -d "$SYSROOT/lib" ]; then
    msg="linux/arm64 tests need qemu-user, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (apt-get install them)"
    if [ "${CI:-}" = true ]; then echo "test-arm64: $msg" >&2; exit 1; fi
    echo "skip: $msg"
    exit 0
fi
build=$(cd "${QIPC_BUILD:-build}" && pwd)
# The unit tests (the root package, and internal/procs's reading of
# /proc/self/maps, which an emulator fakes), the tests against other
# processes (systest) and the Go peer those start, all for arm64.
arm64() { CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC="$CC_ARM64" "$GO" "$@"; }
arm64 test -c -o "$build/qipc.arm64.test" .
arm64 test -c -o "$build/procs.arm64.test" ./internal/procs
arm64 test -c -o "$build/systest.arm64.test" ./systest
arm64 build -o "$build/gopeer.arm64" ./peers/go
export QIPC_GOPEER=$build/gopeer.arm64
# The crash tests preload the pause library into the peers; the arm64 Go
# peer needs an arm64 one.
"$CC_ARM64" -O2 -Wall -Wextra -Werror -shared -fPIC -o "$build/libqipcpause.arm64.so" peers/pause/pause.c -ldl
export QIPC_PAUSE_LIB_SELF=$build/libqipcpause.arm64.so
export QIPC_EXEC_PREFIX="qemu-aarch64 -L $SYSROOT"
run() { local bin=$1; shift; qemu-aarch64 -L "$SYSROOT" "$bin" -test.count=1 -test.timeout=30m "$@"; }
echo "== linux/arm64 (qemu): unit tests, -short"
run "$build/qipc.arm64.test" -test.short
run "$build/procs.arm64.test" -test.run '^TestMappedFile$'
echo "== linux/arm64 (qemu): tests against other processes, -short"
run "$build/systest.arm64.test" -test.short
echo "== linux/arm64 (qemu): interop cells with the arm64 Go peer"
run "$build/systest.arm64.test" -test.run '^TestCompat$/^(posix|systemv-legacy)$/^(create-attach|lock-contention|semaphore-counts|existing-key|counter)$/(go→|→go)'
