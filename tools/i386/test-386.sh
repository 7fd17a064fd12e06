#!/usr/bin/env bash
# linux/386: the package's test binary, the Go peer and the C peer built for
# 32-bit x86 against glibc (zig), run natively (an x86-64 kernel runs them;
# Debian's libc6-i386 is their C library) beside the usual 64-bit peers.
# System V is the kernel's and serves every peer. A POSIX semaphore is
# glibc's sem_t, which glibc lays out otherwise in a 32-bit process: POSIX
# cells run among the 32-bit Go and C peers, and each cell with a 64-bit
# peer's POSIX semaphore is skipped with its reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
if ! python3 -m ziglang version >/dev/null 2>&1 || [ ! -e /lib/ld-linux.so.2 ]; then
    msg="linux/386 tests need zig (make venv, or pip install ziglang) and a 32-bit glibc (apt-get install libc6-i386)"
    if [ "${CI:-}" = true ]; then echo "test-386: $msg" >&2; exit 1; fi
    echo "skip: $msg"
    exit 0
fi
build=$(cd "${QIPC_BUILD:-build}" && pwd)
# glibc 2.36 is Debian 12's: zig links against that version's symbols.
export CC=$PWD/tools/cross/zigcc QIPC_ZIG_TARGET=x86-linux-gnu.2.36 CGO_ENABLED=1 GOOS=linux GOARCH=386
"$GO" test -c -o "$build/qipc.386.test" .
"$GO" test -c -o "$build/systest.386.test" ./systest
"$GO" build -o "$build/gopeer.386" ./peers/go
export QIPC_GOPEER=$build/gopeer.386
# 64-bit file offsets and times, as Qt and the package are built.
python3 -m ziglang cc -target "$QIPC_ZIG_TARGET" -std=c11 -O2 -Wall -Wextra -Werror -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -o "$build/cpeer.386" peers/c/peer.c
# The crash tests preload the pause library into the peers; the 32-bit
# ones need a 32-bit one.
python3 -m ziglang cc -target "$QIPC_ZIG_TARGET" -O2 -Wall -Wextra -Werror -shared -fPIC -o "$build/libqipcpause.386.so" peers/pause/pause.c -ldl
rm -f -- -.o
export QIPC_CPEER=$build/cpeer.386 QIPC_PAUSE_LIB_SELF=$build/libqipcpause.386.so
. tools/summarized-run.sh
# One log per run: a failing run's log stays for a look after the next.
run() { local log=$1; shift; summarized_run "$build/386-$log.log" '32-bit build' "$@"; }
status=0
echo "== linux/386 (native): unit tests, -short"
run unit "$build/qipc.386.test" -test.short || status=1
echo "== linux/386 (native): tests against other processes, -short"
run systest "$build/systest.386.test" -test.short || status=1
echo "== linux/386 (native): interop cells"
run interop "$build/systest.386.test" -test.run '^TestCompat$/^(posix|posix-legacy|systemv-legacy)$/^(create-attach|lock-contention|semaphore-counts|counter)$' || status=1
exit $status
