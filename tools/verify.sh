#!/usr/bin/env bash
# The mutation check: proves that the suite can fail. Each fault below is
# planted in a build with the qipc_mutant tag (mutant.go: the library;
# peer_test.go and reliability_test.go: the Go peer) and must turn the
# tests listed with it red; the same tests must pass with no fault planted.
#
#   bash tools/verify.sh          (make verify; make test runs it)
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export QIPC_PEER_TIMEOUT=${QIPC_PEER_TIMEOUT:-15s}
log=${QIPC_BUILD:-build}/verify.log
mkdir -p "$(dirname "$log")"
: >"$log"

# fault#-run pattern#tests that must fail (space-separated, as go test names them)
faults=(
  'lock-noop#^TestCompat$/^posix$/^counter$/^go→c$#TestCompat/posix/counter/go→c'
  'no-exclusion#^TestCompat$/^(posix|systemv-legacy)$/^(counter|lock-contention)$/^(go→c|qt5→go)$#TestCompat/posix/counter/go→c TestCompat/systemv-legacy/counter/qt5→go TestCompat/systemv-legacy/lock-contention/qt5→go'
  'unlock-noop#^TestCompat$/^posix$/^counter$/^go→go$#TestCompat/posix/counter/go→go'
  'unlock-fails#^TestCompat$/^posix$/^lock-contention$/^go→c$#TestCompat/posix/lock-contention/go→c'
  'peer-lies#^TestCompat$/^(posix|systemv-legacy)$/^(counter|lock-contention)$/^(c→go|qt6.4→go)$#TestCompat/posix/counter/c→go TestCompat/posix/lock-contention/c→go TestCompat/systemv-legacy/lock-contention/qt6.4→go'
  'victim-no-lock#^TestCrashMatrix$/^(posix|sysv)$/^(go|go-creator-locked)$/^(lock-holder)?$#TestCrashMatrix/posix/go/lock-holder TestCrashMatrix/sysv/go/lock-holder TestCrashMatrix/posix/go-creator-locked TestCrashMatrix/sysv/go-creator-locked'
  'native-lock#^TestNativeKeyWithoutLock$/^(go→qt5|qt6.4→go)$#TestNativeKeyWithoutLock/go→qt5 TestNativeKeyWithoutLock/qt6.4→go'
  'sliced-waits#^TestFairness$/^systemv-legacy$/^go\+qt5\+qt6.4$/^one-call$#TestFairness/systemv-legacy/go+qt5+qt6.4/one-call'
  'replace-live#^TestReplaceStale$/^(posix|systemv-legacy)$/^(go|qt5)$#TestReplaceStale/posix/go TestReplaceStale/systemv-legacy/qt5'
  'wrong-kind#^(TestCompat|TestQtErrorTexts)$/^(posix|posix:_create,_exists)$/^(existing-key|c)?$/^(go→go)?$#TestCompat/posix/existing-key/go→go TestQtErrorTexts/posix:_create,_exists'
)

run() { # fault pattern: go test output on stdout, status in $?
  QIPC_MUTANT=$1 CI="${CI:-}" $GO test -tags qipc_mutant -count=1 -timeout 10m -v -run "$2" . 2>&1
}

status=0
for f in "${faults[@]}"; do
  IFS='#' read -r name pattern expect <<<"$f"
  out=$(run "$name" "$pattern")
  rc=$?
  echo "=== fault $name (exit $rc)" >>"$log"
  echo "$out" >>"$log"
  missing=""
  for t in $expect; do
    grep -qF -- "--- FAIL: $t " <<<"$out" || missing="$missing $t"
  done
  if [ $rc -eq 0 ] || [ -n "$missing" ]; then
    echo "verify: fault $name: the suite did not notice it (exit $rc; still passing:${missing:- none listed})"
    status=1
  else
    echo "verify: fault $name: caught by $(wc -w <<<"$expect") test(s): $expect"
  fi
done
# The control: the same tests, same build, no fault planted.
for f in "${faults[@]}"; do
  IFS='#' read -r name pattern expect <<<"$f"
  out=$(run "" "$pattern")
  rc=$?
  echo "=== no fault, tests of $name (exit $rc)" >>"$log"
  echo "$out" >>"$log"
  if [ $rc -ne 0 ]; then
    echo "verify: the tests of fault $name fail without it too, so they prove nothing (see $log):"
    grep -- '--- FAIL' <<<"$out" | head -10
    status=1
  fi
done
[ $status -eq 0 ] && echo "verify: without a fault every one of those tests passes"
exit $status
