# Sourced by the scripts that run a test binary built for another C
# library or word size beside the usual peers (tools/musl, tools/i386).
#
# summarized_run LOG SKIPS BIN ARGS...: runs the test binary BIN with ARGS,
# its whole output kept in LOG, and prints what matters of it: the failures
# with their messages, the interop matrix, and how many tests or cells
# were skipped for each reason that matches the regular expression SKIPS.
# Its status is the test binary's.
summarized_run() {
    local log=$1 skips=$2 bin=$3
    shift 3
    local rc=0
    "$bin" -test.count=1 -test.timeout=20m -test.v "$@" >"$log" 2>&1 || rc=$?
    grep -E -A3 -e '^\s*--- FAIL' "$log" | grep -v '^=== ' || true
    sed -n '/^Interop matrix/,$p' "$log" | grep -v -e '^PASS' -e '^FAIL' -e '^ok' || true
    grep -oE "($skips)[^\"]*\$" "$log" | sort | uniq -c | sed 's/^ *\([0-9]*\) /skipped (\1 tests or cells): /' || true
    tail -1 "$log"
    return $rc
}
