#!/usr/bin/env bash
# `make demo`: the main job on a machine where no Qt application runs. A Go
# process puts an image into shared memory as a Qt program's
# QSharedMemory("Shared") + `QDataStream << QPixmap` would, `qipc ls` shows
# the segment, a second Go process loads the image back, and Ctrl-C (here
# SIGINT) ends the saver, which removes the segment.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QIPC_BUILD:-build}
mkdir -p "$build"
go build -o "$build/sharedimage" ./examples/sharedimage
go build -o "$build/qipc" ./cmd/qipc
name="Shared-demo-$$"
log="$build/demo-saver.log"
"$build/sharedimage" -name "$name" save examples/sharedimage/demo.png >"$log" 2>&1 &
saver=$!
trap 'kill -INT $saver 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q . "$log" && break
    sleep 0.1
done
echo "\$ sharedimage -name $name save examples/sharedimage/demo.png &"
cat "$log"
grep -q '^saved' "$log" || exit 1
echo
echo "\$ qipc ls --match $name"
"$build/qipc" ls --match "$name"
echo
echo "\$ sharedimage -name $name load $build/demo-out.png"
"$build/sharedimage" -name "$name" load "$build/demo-out.png"
echo
echo "\$ kill -INT %1; qipc ls --match $name"
kill -INT "$saver"
wait "$saver"
trap - EXIT
"$build/qipc" ls --match "$name"
