#!/usr/bin/env bash
# Snapshot and compare the IPC objects on this machine, so `make test` fails
# when its own tests leave something behind, whatever other programs or
# earlier runs left before it:
#   leftovers.sh snapshot FILE   before the tests
#   leftovers.sh check FILE      after them: fails on objects added since
set -u
list() {
	{
		for d in /dev/shm "${TMPDIR:-/tmp}" "${XDG_RUNTIME_DIR:-/nonexistent}" "${TMPDIR:-/tmp}/runtime-$(id -un)"; do
			[ -d "$d" ] && find "$d" -maxdepth 1 -name '*qipc*' 2>/dev/null
		done
		awk 'NR > 1 { print "sysv-shm", $1 }' /proc/sysvipc/shm 2>/dev/null
		awk 'NR > 1 { print "sysv-sem", $1 }' /proc/sysvipc/sem 2>/dev/null
	} | sort
}
case "${1:-}" in
snapshot)
	list >"$2"
	;;
check)
	added=$(comm -13 "$2" <(list))
	if [ -n "$added" ]; then
		echo "leftovers: the tests left these IPC objects behind (System V by key):"
		echo "$added"
		exit 1
	fi
	echo "leftovers: none (nothing added to /dev/shm, the key-file directories or the System V tables)"
	;;
*)
	echo "usage: leftovers.sh snapshot|check FILE" >&2
	exit 2
	;;
esac
