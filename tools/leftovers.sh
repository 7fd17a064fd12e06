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
		# When and by whom each System V object was made or last changed,
		# to find the test that left it (compare the run's log).
		for k in $(echo "$added" | awk '$1 ~ /^sysv-/ { print $2 }'); do
			awk -v k="$k" 'NR > 1 && $1 == k' /proc/sysvipc/shm /proc/sysvipc/sem 2>/dev/null |
				while read -r line; do
					set -- $line
					ctime=$(awk -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ctime") c = i } NR > 1 && $1 == k { print $c }' /proc/sysvipc/sem /proc/sysvipc/shm 2>/dev/null | head -1)
					printf '  key 0x%08x: %s (changed %s)\n' "$k" "$line" "$(date -u -d "@${ctime:-0}" +%T 2>/dev/null)"
				done
		done
		echo "  checked at $(date -u +%T)"
		exit 1
	fi
	echo "leftovers: none (nothing added to /dev/shm, the key-file directories or the System V tables)"
	;;
*)
	echo "usage: leftovers.sh snapshot|check FILE" >&2
	exit 2
	;;
esac
