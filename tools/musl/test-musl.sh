#!/usr/bin/env bash
# musl (Alpine) builds: the package's test binary and the C peer built with
# zig for x86_64-linux-musl, statically, and run natively beside the usual
# (glibc) peers. System V serves every peer; POSIX only musl processes (the
# Go peer is this binary, the C peer is built for musl too): every cell
# with a glibc peer's POSIX semaphore is skipped with its reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
if ! python3 -m ziglang version >/dev/null 2>&1; then
    msg="musl builds need zig (make venv, or pip install ziglang)"
    if [ "${CI:-}" = true ]; then echo "test-musl: $msg" >&2; exit 1; fi
    echo "skip: $msg"
    exit 0
fi
build=$(cd "${QIPC_BUILD:-build}" && pwd)
export CC=$PWD/tools/cross/zigcc QIPC_ZIG_TARGET=x86_64-linux-musl CGO_ENABLED=1
static=(-ldflags '-linkmode external -extldflags -static')
"$GO" test -c "${static[@]}" -o "$build/qipc.musl.test" .
"$GO" test -c "${static[@]}" -o "$build/systest.musl.test" ./systest
"$GO" build "${static[@]}" -o "$build/gopeer.musl" ./peers/go
export QIPC_GOPEER=$build/gopeer.musl
python3 -m ziglang cc -target x86_64-linux-musl -static -std=c11 -O2 -Wall -Wextra -Werror -o "$build/cpeer.musl" peers/c/peer.c
rm -f -- -.o
export QIPC_CPEER=$build/cpeer.musl
. tools/summarized-run.sh
run() { summarized_run "$build/musl.log" 'musl build|static musl binary' "$@"; }
echo "== linux/amd64 musl (static): unit tests, -short"
# The examples name Qt 6.6+ POSIX segments, which a musl build refuses
# (ErrLibcSemaphores); TestLibcRules checks that refusal instead.
run "$build/qipc.musl.test" -test.short -test.skip '^Example'
echo "== linux/amd64 musl (static): tests against other processes, -short"
run "$build/systest.musl.test" -test.short
echo "== linux/amd64 musl (static): interop cells"
run "$build/systest.musl.test" -test.run '^TestCompat$/^(posix|posix-legacy|systemv-legacy)$/^(create-attach|lock-contention|semaphore-counts|counter)$'
