#!/usr/bin/env bash
# Fails when the tests left IPC objects of theirs behind: every test key
# contains "qipct" (see testKey in helpers_test.go).
set -u
left=$( { ls /dev/shm 2>/dev/null; ls "${TMPDIR:-/tmp}" 2>/dev/null; ls "${XDG_RUNTIME_DIR:-/nonexistent}" "${TMPDIR:-/tmp}/runtime-$(id -un)" 2>/dev/null; } | grep -E 'qipct' )
if [ -n "$left" ]; then
	echo "leftovers: the tests left these IPC files behind:"; echo "$left"; exit 1
fi
echo "leftovers: none ($(ipcs -m | grep -c '^0x') System V segments and $(ipcs -s | grep -c '^0x') semaphore sets on the machine)"
