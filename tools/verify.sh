#!/usr/bin/env bash
# The mutation check: proves that the suite can fail. Each fault below is a
# small edit (a perl substitution) of the library or of the Go peer
# (peers/gopeer), made
# in a copy of the repository, never in it: the package carries no hooks
# for it. The tests listed with a fault must fail in the copy that has it,
# and pass in a copy without any.
#
#   bash tools/verify.sh          (make verify; make test runs it)
#   bash tools/verify.sh NAME...  only those faults
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
export QIPC_PEER_TIMEOUT=${QIPC_PEER_TIMEOUT:-15s}
# Each copy builds its own Go peer from its own (faulty) sources.
unset QIPC_GOPEER
QIPC_BUILD=${QIPC_BUILD:-$PWD/build}
export QIPC_BUILD # the copies find the peers here
log=$QIPC_BUILD/verify.log
work=$(mktemp -d "${TMPDIR:-/tmp}/qipc-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$QIPC_BUILD"
: >"$log"

names=() files=() edits=() runs=() expects=()
# fault NAME FILES PERL RUN EXPECT: PERL (perl -0pe) must change each of
# FILES; go test -run RUN must then fail every test in EXPECT.
fault() { names+=("$1"); files+=("$2"); edits+=("$3"); runs+=("$4"); expects+=("$5"); }

fault lock-noop shm.go \
  's/\treturn m\.lockWith\(ctx, -1\)\n/\treturn nil\n/' \
  '^TestCompat$/^posix$/^counter$/^go→c$' 'TestCompat/posix/counter/go→c'
fault no-exclusion shm.go \
  's/ok, err := sem\.takeNow\(\), error\(nil\)/ok, err := sem.enter(), error(nil)/; s/\treturn sem\.giveBack\(\)\n\}/\tsem.leave()\n\treturn nil\n}/' \
  '^TestCompat$/^(posix|systemv-legacy)$/^(counter|lock-contention)$/^(go→c|qt5→go)$' \
  'TestCompat/posix/counter/go→c TestCompat/systemv-legacy/counter/qt5→go TestCompat/systemv-legacy/lock-contention/qt5→go'
fault unlock-noop shm.go \
  's/return m\.unlockError\(m\.unlock\(\)\)/return nil/' \
  '^TestCompat$/^posix$/^counter$/^go→go$' 'TestCompat/posix/counter/go→go'
fault unlock-fails shm.go \
  's/return m\.unlockError\(m\.unlock\(\)\)/return errors.Join(m.unlockError(m.unlock()), m.unlockError(errors.New("planted fault")))/' \
  '^TestCompat$/^posix$/^lock-contention$/^go→c$' 'TestCompat/posix/lock-contention/go→c'
fault peer-lies peers/gopeer/protocol.go \
  's/skipLock := a\.nolock/skipLock := true/' \
  '^TestCompat$/^(posix|systemv-legacy)$/^(counter|lock-contention)$/^(c→go|qt6.4→go)$' \
  'TestCompat/posix/counter/c→go TestCompat/posix/lock-contention/c→go TestCompat/systemv-legacy/lock-contention/qt6.4→go'
fault victim-no-lock 'peers/gopeer/protocol.go peers/gopeer/rel.go' \
  's/skipLock := a\.nolock/skipLock := a.nolock || a.cmd == "hold-lock"/; s/(copy\(m\.Data\(\), CrashPattern\)\n)\t\tif err := m\.Lock\(\); err != nil \{\n\t\t\treturn peerFail\(os\.Stdout, err\)\n\t\t\}\n/$1/' \
  '^TestCrashMatrix$/^(posix|sysv)$/^(go|go-creator-locked)$/^(lock-holder)?$' \
  'TestCrashMatrix/posix/go/lock-holder TestCrashMatrix/sysv/go/lock-holder TestCrashMatrix/posix/go-creator-locked TestCrashMatrix/sysv/go-creator-locked'
fault native-lock key.go \
  's/return k\.LegacyKey != "" \|\| k\.NativeLock \}/return true }/' \
  '^TestNativeKeyWithoutLock$/^(go→qt5|qt6.4→go)$' 'TestNativeKeyWithoutLock/go→qt5 TestNativeKeyWithoutLock/qt6.4→go'
fault sliced-waits sem.go \
  's/!knobs\.SlicedWaits\.Load\(\)/false \&\& knobs.SlicedWaits.Load()/' \
  '^TestFairness$/^systemv-legacy$/^go\+qt5\+qt6.4$/^one-call$' 'TestFairness/systemv-legacy/go+qt5+qt6.4/one-call'
fault replace-live shm.go \
  's/stale, why := staleness\(f, &u\)/_, why := staleness(f, &u)\n\tstale := true/' \
  '^TestReplaceStale$/^(posix|systemv-legacy)$/^(go|qt5)$' 'TestReplaceStale/posix/go TestReplaceStale/systemv-legacy/qt5'
fault wrong-kind errors_unix.go \
  's/(case syscall\.EEXIST:\n\t\tkind = )AlreadyExists/${1}NotFound/' \
  '^(TestCompat|TestQtErrorTexts)$/^(posix|posix:_create,_exists)$/^(existing-key|c)?$/^(go→go)?$' \
  'TestCompat/posix/existing-key/go→go TestQtErrorTexts/posix:_create,_exists'
# The lifecycle (issue: one lifecycle, one lock).
fault no-pin mapping.go \
  's/mp\.state\.CompareAndSwap\(v, v\+1\)/mp.state.CompareAndSwap(v, v)/; s/(func \(mp \*mapping\) unpin\(\) \{\n)/$1\treturn\n/' \
  '^(TestLockedPinsMapping|TestInterleavings)$' \
  'TestLockedPinsMapping/posix/detach TestLockedPinsMapping/posix/close TestLockedPinsMapping/sysv/detach TestLockedPinsMapping/sysv/close TestInterleavings/posix TestInterleavings/sysv'
# A POSIX creator's Close during a borrowed hold removes its segment and
# must remove the lock with it; the test reads the lock where glibc keeps
# it, not through Inspect (which stops at the missing segment).
# (The lock sweep would remove it too: the fault stops both.)
fault lock-left-behind 'shm.go sem.go' \
  's/\treturn errors\.Join\(err, m\.retireLock\(h\)\)\n\}/\treturn err\n}/; s/s\.orphaned != nil && s\.orphaned\(\)/false/' \
  '^TestCloseDuringBorrowRemovesLock$' 'TestCloseDuringBorrowRemovesLock'
# The last closer of a POSIX lock with no segment removes it: two failed
# Attaches that each saw the other using it left it for good (cfef914).
fault lock-not-swept sem.go \
  's/s\.orphaned != nil && s\.orphaned\(\)/false/' \
  '^(TestFailedAttachesLeaveNoLock|TestFailedCreateRemovesUnusedLock)$' \
  'TestFailedAttachesLeaveNoLock/legacy=false TestFailedAttachesLeaveNoLock/legacy=true TestFailedCreateRemovesUnusedLock'
# A Lock (or a change) that took the lock its object had just unbound (an
# Attach following the name to a new lock, a failed Create giving up the
# one it made) held it while the object mapped a segment under another
# (TestInterleavings/posix, stress). Unbinding closes the semaphore, so
# three checks stand in the way: the take's look at the closed flag
# (taken), the spin's, and stillBound; the fault removes all three (with
# one left the tests pass, or fail only by chance). The order they rely
# on is the next fault.
fault lock-held-unbound 'shm.go sem.go' \
  's/if m\.lock\.sem\.Load\(\) == sem \{/if true {/; s/(func \(s \*Semaphore\) taken\(r \*semRef\) \(bool, error\) \{\n\t)if s\.state\.Load\(\)&stateClosed == 0 \{/${1}if true {/; s/ \|\| s\.state\.Load\(\)&stateClosed != 0\) \{/) {/' \
  '^(TestLockRacingFollowHoldsBoundLock|TestFailedCallUnbindsBeforeGivingBack)$' \
  'TestLockRacingFollowHoldsBoundLock TestFailedCallUnbindsBeforeGivingBack'
fault unbind-after-giveback shm.go \
  's/errors\.Join\(m\.unbind\(h\.sem\), m\.exitLock\(&h\)\)/errors.Join(m.exitLock(\&h), m.unbind(h.sem))/; s/(\t\terr = errors\.Join\(err, m\.unbind\(h\.sem\)\)\n\t\}\n)\treturn errors\.Join\(err, m\.exitLock\(&h\)\)/\t\treturn errors.Join(err, m.exitLock(\&h), m.unbind(h.sem))\n\t}\n\treturn errors.Join(err, m.exitLock(\&h))/' \
  '^(TestLockRacingFollowHoldsBoundLock|TestFailedCallUnbindsBeforeGivingBack)$' \
  'TestLockRacingFollowHoldsBoundLock TestFailedCallUnbindsBeforeGivingBack'
# Spins that keep failing on a crowded machine stop (issue 27).
fault spin-when-crowded sem.go \
  's/s\.spinMisses\.Load\(\) >= crowdedMisses && crowded\(\)/false/' \
  '^TestNoSpinWhenCrowded$' 'TestNoSpinWhenCrowded/posix TestNoSpinWhenCrowded/systemv'
# A Lock asleep on a lock held elsewhere must end when Close of its own
# object begins, before that Close has closed anything.
fault lock-wait-ignores-close qtlock.go \
  's/return l\.closeCtx, func\(\) \{\}/return ctx, func() {}/' \
  '^TestCloseEndsSleepingLock$' 'TestCloseEndsSleepingLock/posix TestCloseEndsSleepingLock/sysv'
# Where asking about sleepers is a system call (System V), waits that keep
# finding sleepers stop asking, on a crowded machine and a quiet one.
fault sleepers-asked-when-queue-full sem.go \
  's/(where the queue stays full\.\n)\t\t\t\ts\.spinMisses\.Add\(1\)\n\t\t\t\ts\.queuedMisses\.Add\(1\)\n/$1/' \
  '^TestNoSleepersQuestionBehindFullQueue$' 'TestNoSleepersQuestionBehindFullQueue/crowded=false TestNoSleepersQuestionBehindFullQueue/crowded=true'
# Where no raw system call asks about a System V set's sleepers (32-bit
# Linux, macOS, the BSDs), the C shim asks: it said "none" there.
fault sleepers-unasked-without-raw cgo_sysv.go \
  's/\tvar n C\.int\n\treturn C\.qipc_sysv_sem_sleepers\(s\.semid, &n\) == 0 && n > 0\n/\treturn false\n/' \
  '^TestSysvSleepersBothPaths$' 'TestSysvSleepersBothPaths'
# A POSIX semaphore file that glibc in a process of the other word size
# made is refused, not used or called truncated.
fault other-word-size-sem cgo_posix.go \
  's/case glibcsem\.Libc == "glibc" && size != own/case false \&\& size != own/' \
  '^TestOtherWordSizeSemaphore$' 'TestOtherWordSizeSemaphore'
# A Lock's wait is woken at Close by its semaphore's one registration with
# the object's closed context; a wait that registers after that wake-up
# must see the context ended.
fault wait-misses-closer sem.go \
  's/stateClosed != 0 \|\| ctx\.Err\(\) != nil \{/stateClosed != 0 {/' \
  '^TestCloseBeforeWakerEndsLock$' 'TestCloseBeforeWakerEndsLock/posix TestCloseBeforeWakerEndsLock/sysv'
# A lock semaphore closed (unbound) drops that registration.
fault closer-kept sem.go \
  's/s\.stopCloser\(\) \/\/ the waits/\/\/ the waits/' \
  '^TestClosedLockStopsCloser$' 'TestClosedLockStopsCloser/posix TestClosedLockStopsCloser/sysv'
# Close of a detached creator locked a lock removed by name since, and
# removed its segment while the name's lock was held.
fault close-under-removed-lock shm.go \
  's/case ok && detached && sem\.cur\.Load\(\)\.h\.stale\(\):/case false \&\& detached:/' \
  '^TestCloseFollowsRemovedLock$' 'TestCloseFollowsRemovedLock'
fault no-stale-check shm.go \
  's/if h\.sem == nil \|\| m\.life\.phase\(\) != detached \|\| !h\.sem\.cur\.Load\(\)\.h\.stale\(\) \{/if true {/' \
  '^TestAttachFollowsRemovedLock$' 'TestAttachFollowsRemovedLock'
# The removed-lock check looked at the phase before the token: an Attach
# that saw a Detach under way mapped the new segment under the old lock.
fault stale-check-before-token shm.go \
  's/(h, err = m\.enterLock\(ctx, op\)\n)/${1}\t\tphaseSeen := m.life.phase()\n/; s/m\.life\.phase\(\) != detached \|\| !h\.sem/phaseSeen != detached || !h.sem/' \
  '^TestAttachAfterDetachChecksRemovedLock$' 'TestAttachAfterDetachChecksRemovedLock'

# copy DIR: the repository's files as they are in the work tree.
copy() {
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$1"
}

selected() { # NAME: whether the command line asks for it (all when it names none)
  [ ${#selected_names[@]} -eq 0 ] && return 0
  local n
  for n in "${selected_names[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}
selected_names=("$@")

# sweep SNAPSHOT: removes the IPC objects and files that appeared since
# SNAPSHOT (tools/leftovers.sh). A planted fault may leave some behind (a
# lock it broke, a clean-up it stopped); they go after its run, so that
# `make test`'s leftover check sees only what the real code leaves.
sweep() {
  local now=$work/ipc.now kind what id
  bash "$root/tools/leftovers.sh" snapshot "$now"
  comm -13 "$1" "$now" | while read -r kind what; do
    case $kind in
    sysv-shm) id=$(awk -v k="$what" 'NR > 1 && $1 == k { print $2 }' /proc/sysvipc/shm) && [ -n "$id" ] && ipcrm -m "$id" ;;
    sysv-sem) id=$(awk -v k="$what" 'NR > 1 && $1 == k { print $2 }' /proc/sysvipc/sem) && [ -n "$id" ] && ipcrm -s "$id" ;;
    *qipc*) rm -f "$kind" ;;
    esac
    echo "verify: removed what the fault left: $kind $what" >>"$log"
  done
}

status=0
for i in "${!names[@]}"; do
  name=${names[$i]}
  selected "$name" || continue
  dir=$work/$name
  copy "$dir"
  applied=1
  for f in ${files[$i]}; do
    cp "$dir/$f" "$dir/$f.orig"
    perl -0pi -e "${edits[$i]}" "$dir/$f"
    if cmp -s "$dir/$f" "$dir/$f.orig"; then
      echo "verify: fault $name no longer applies to $f: its edit changed nothing"
      applied=0
    fi
    rm -f "$dir/$f.orig"
  done
  if [ $applied -eq 0 ]; then
    status=1
    continue
  fi
  bash "$root/tools/leftovers.sh" snapshot "$work/ipc.before"
  out=$(cd "$dir" && CI="${CI:-}" $GO test -p 1 -count=1 -timeout 10m -v -run "${runs[$i]}" . ./systest 2>&1)
  rc=$?
  sweep "$work/ipc.before"
  echo "=== fault $name (exit $rc)" >>"$log"
  echo "$out" >>"$log"
  if grep -q -- '\[build failed\]\|\[setup failed\]' <<<"$out"; then
    echo "verify: fault $name does not compile (see $log)"
    status=1
    continue
  fi
  missing=""
  for t in ${expects[$i]}; do
    grep -qF -- "--- FAIL: $t " <<<"$out" || missing="$missing $t"
  done
  if [ $rc -eq 0 ] || [ -n "$missing" ]; then
    echo "verify: fault $name: the suite did not notice it (exit $rc; still passing:${missing:- none listed})"
    status=1
  else
    echo "verify: fault $name: caught by $(wc -w <<<"${expects[$i]}") test(s): ${expects[$i]}"
  fi
  rm -rf "$dir"
done
# The control: the same tests in a copy without a fault.
copy "$work/control"
for i in "${!names[@]}"; do
  selected "${names[$i]}" || continue
  out=$(cd "$work/control" && CI="${CI:-}" $GO test -p 1 -count=1 -timeout 10m -v -run "${runs[$i]}" . ./systest 2>&1)
  rc=$?
  echo "=== no fault, tests of ${names[$i]} (exit $rc)" >>"$log"
  echo "$out" >>"$log"
  if [ $rc -ne 0 ]; then
    echo "verify: the tests of fault ${names[$i]} fail without it too, so they prove nothing (see $log):"
    grep -- '--- FAIL' <<<"$out" | head -10
    status=1
  fi
done
[ $status -eq 0 ] && echo "verify: without a fault every one of those tests passes"
exit $status
