//go:build cgo && linux

package qipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/harness"
)

// The lifecycle of a SharedMemory under concurrency (package
// documentation, "Concurrency"): each test here is a case that an
// adversarial review broke on 08d39ff, and each uses only the public API,
// so that it can run against that code too.

// TestAttachFollowsRemovedLock: an object whose lock semaphore was removed
// by name while it was detached (a POSIX creator's Close removes its
// segment's lock) locks the new segment with the new lock when it attaches
// again, not the removed one that no one else can find; and with Lock
// holding the removed one, Create and Attach refuse (ErrLockRemoved)
// rather than make or map a segment locked against no one.
func TestAttachFollowsRemovedLock(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	first := NewSharedMemory(k)
	if err := first.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	b := NewSharedMemory(k)
	defer closeWithin(t, b)
	if err := b.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := b.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil { // removes the segment and its lock
		t.Fatal(err)
	}
	second := NewSharedMemory(k)
	if err := second.Create(64, ReadWrite); err != nil { // a new lock
		t.Fatal(err)
	}
	defer closeWithin(t, second)
	if err := b.Lock(); err != nil { // the removed lock, still bound
		t.Fatal(err)
	}
	if err := b.Attach(ReadWrite); !errors.Is(err, ErrLockRemoved) {
		t.Fatalf("Attach while Lock holds a removed lock: %v, want ErrLockRemoved", err)
	}
	if err := b.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := second.Lock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(); ok || err != nil {
		t.Fatalf("the object that attached again took a lock the creator holds (TryLock %v, %v): it locks the removed semaphore", ok, err)
	}
	if err := second.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestDetachUnderLockKeepsHold: Lock; Detach (the last, which removes the
// System V segment); Create; Unlock, the resize under the lock, runs its
// Create under the lock and holds it until Unlock (COMPAT.md #14), and a
// second Lock of the object waits for that Unlock. Found by an adversarial
// review: the removing Detach ended the hold, so the Create ran unlocked,
// the second Lock got in, and the first Unlock gave back the second's
// count.
func TestDetachUnderLockKeepsHold(t *testing.T) {
	k := testShmKey(t, SystemV, false)
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(); err != nil {
		t.Fatal(err)
	}
	if err := m.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(128, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if n, ok := lockCount(t, k); !ok || n != 0 {
		t.Fatalf("after Lock, Detach and Create the lock exists %v with count %d; want it held (0)", ok, n)
	}
	second := make(chan error, 1)
	go func() { second <- m.Lock() }()
	for m.lock.state.Load()&lockQueued == 0 {
		runtime.Gosched() // until the second Lock waits for the turn
	}
	select {
	case err := <-second:
		t.Fatalf("a second Lock of the object returned (%v) before the first holder's Unlock", err)
	default:
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock after Detach and Create under the lock: %v", err)
	}
	if err := harness.Within(t, "the second Lock", second); err != nil {
		t.Fatal(err)
	}
	if n, ok := lockCount(t, k); !ok || n != 0 {
		t.Fatalf("with the second Lock holding it, the lock exists %v with count %d; want 0", ok, n)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if n, ok := lockCount(t, k); !ok || n != 1 {
		t.Fatalf("after both Unlocks the lock exists %v with count %d; want free (1)", ok, n)
	}
}

// TestCloseContext: CloseContext gives up waiting for a lock that is never
// given back (a POSIX holder that died) when its context ends; the object
// is closed and unmapped all the same, and what only the lock's holder may
// remove stays. Found by an adversarial review: Close had no bound.
func TestCloseContext(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	m := NewSharedMemory(k)
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	dead, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if err := dead.Acquire(); err != nil { // taken and never given back
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.CloseContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext behind a dead holder: %v, want DeadlineExceeded", err)
	}
	if m.IsAttached() || m.Data() != nil {
		t.Error("still attached after CloseContext")
	}
	if err := m.Lock(); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock after CloseContext: %v, want ErrClosed", err)
	}
	if _, err := os.Stat("/dev/shm" + k.Native); err != nil {
		t.Errorf("the segment went without its lock held: %v", err)
	}
	_ = dead.Release(1)
}

// TestClosedObjectSaysClosed: after Close every call that needs the
// mapping or the lock fails with ErrClosed. Found by an adversarial
// review: ReadAt, WriteAt and Detach said ErrNotAttached.
func TestClosedObjectSaysClosed(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	m := NewSharedMemory(k)
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, rerr := m.ReadAt(make([]byte, 1), 0)
	_, werr := m.WriteAt([]byte{1}, 0)
	_, terr := m.TryLock()
	for what, err := range map[string]error{
		"ReadAt": rerr, "WriteAt": werr, "TryLock": terr, "Detach": m.Detach(), "Unlock": m.Unlock(), "Lock": m.Lock(),
		"Locked": m.Locked(context.Background(), func([]byte) error { return nil }),
		"Create": m.Create(64, ReadWrite), "Attach": m.Attach(ReadWrite), "Close": m.Close(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
}

// TestCloseRacingUnlockGivesOnce: Close looks at the lock's state, and an
// Unlock ends the hold before Close's compare-and-swap. Close must then
// retry as a Close that found no hold. On e9b6bce its retry kept the
// semaphore of the hold it had seen, and it gave back a count it did not
// hold: the lock's count became 2, and two processes held it at once.
// TestInterleavings found it under arm64 emulation, whose slowness
// widens the window; the hook holds it open here.
func TestCloseRacingUnlockGivesOnce(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			owner := NewSharedMemory(k)
			if err := owner.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			defer closeWithin(t, owner)
			// Attached and detached again: its Close has no segment to
			// detach or remove, so it takes no lock of its own.
			m := NewSharedMemory(k)
			if err := m.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); err != nil {
				t.Fatal(err)
			}
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			unlocked := false
			testHookCloseClaim = func() {
				if !unlocked {
					unlocked = true
					if err := m.Unlock(); err != nil {
						t.Errorf("Unlock: %v", err)
					}
				}
			}
			err := m.Close()
			testHookCloseClaim = nil
			if err != nil {
				t.Fatal(err)
			}
			if !unlocked {
				t.Fatal("the hook did not run")
			}
			other := NewSharedMemory(k)
			defer closeWithin(t, other)
			if err := other.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			if ok, err := owner.TryLock(); !ok || err != nil {
				t.Fatalf("the lock is not free after Unlock and Close: %v, %v", ok, err)
			}
			defer owner.Unlock()
			if ok, err := other.TryLock(); ok || err != nil {
				if ok {
					_ = other.Unlock()
				}
				t.Fatalf("a second object took the lock while the first held it (%v): Close gave back a count it did not hold", err)
			}
		})
	}
}

// TestCloseDuringBorrowRemovesLock (found by a second reader of 02fa7af):
// a POSIX creator holds its lock
// (Lock) while a Detach runs under it (a borrower). A Close that begins
// before the Detach's borrow ends claims the hold, removes the segment it
// created and defers the lock's removal to the end of the hold
// (retireLock: other borrowers remain), then closes the bound lock
// semaphore (Swap; sem.Close). The Detach's unborrow, the last, runs the
// deferred removal (giveHold → removeLock → Semaphore.retire), which
// returned early on a closed Semaphore without removing anything: the lock
// semaphore of a segment that no longer exists stayed on the system.
// testHookChangeEnded runs the Close in
// the window between the Detach's end of token and its exitLock.
func TestCloseDuringBorrowRemovesLock(t *testing.T) {
	for _, race := range []bool{false, true} {
		name := "control"
		if race {
			name = "closeInBorrowWindow"
		}
		t.Run(name, func(t *testing.T) {
			k := testShmKey(t, PosixRealtime, false)
			m := NewSharedMemory(k)
			if err := m.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			if _, ok := lockCount(t, k); !ok {
				t.Skip("cannot read the POSIX lock semaphore here")
			}
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			ran := false
			if race {
				testHookChangeEnded = func() {
					if ran {
						return
					}
					ran = true
					go func() { closed <- m.Close() }()
					if err := harness.Within(t, "Close during the Detach's borrow", closed); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			}
			err := m.Detach()
			testHookChangeEnded = nil
			if err != nil {
				t.Fatal(err)
			}
			if race && !ran {
				t.Fatal("the hook did not run")
			}
			if !race {
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat("/dev/shm" + k.Native); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the creator's Close left its segment (%v)", err)
			}
			if n, ok := lockCount(t, k); ok {
				t.Fatalf("the creator's Close removed its segment but left its lock semaphore (count %d)", n)
			}
		})
	}
}

// TestLockWaiterWhenSegmentGoes: a Lock waiting in another goroutine when
// this object's last Detach (or Close) removes the System V segment ends
// cleanly once the lock goes: it must not follow the removal, make a fresh
// lock semaphore and key file that nothing removes, and leave Unlock
// without a semaphore. The lock goes at the end of the hold the Detach ran
// under (COMPAT.md #14: Unlock, which must succeed), or at once under
// Close, which takes the hold over. Found by a second reading of the
// close-safe change; the order of the end by an adversarial review.
func TestLockWaiterWhenSegmentGoes(t *testing.T) {
	rounds := scaled(50, 1000)
	for _, viaClose := range []bool{false, true} {
		name, want := "detach", ErrNotAttached
		if viaClose {
			name, want = "close", ErrClosed
		}
		for _, legacy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/legacy=%v", name, legacy), func(t *testing.T) {
				k := testShmKey(t, SystemV, legacy)
				for r := range rounds {
					m := NewSharedMemory(k)
					if err := m.Create(64, ReadWrite); err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					if err := m.Lock(); err != nil {
						t.Fatal(err)
					}
					waiter := make(chan error, 1)
					go func() { waiter <- m.Lock() }()
					if r%2 == 0 {
						for m.lock.state.Load()&lockQueued == 0 {
							runtime.Gosched() // until it waits for the turn
						}
					}
					var err error
					if viaClose {
						err = m.Close()
					} else {
						err = m.Detach()
					}
					if err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					unlockErr := m.Unlock()
					switch {
					case viaClose && !errors.Is(unlockErr, ErrNotLocked):
						t.Fatalf("round %d: Unlock after Close took the lock over: %v, want ErrNotLocked", r, unlockErr)
					case !viaClose && unlockErr != nil:
						t.Fatalf("round %d: Unlock after a Detach under the lock: %v, want nil (the lock stays held until Unlock)", r, unlockErr)
					}
					if err := harness.Within(t, "the waiting Lock", waiter); !errors.Is(err, want) {
						t.Fatalf("round %d: waiting Lock returned %v, want %v", r, err, want)
					}
					closeWithin(t, m)
					for _, f := range []string{k.Native, k.LockKey().Native} {
						if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
							t.Fatalf("round %d: key file %s left behind (%v)", r, f, err)
						}
					}
				}
			})
		}
	}
}

// TestLockWhileSemaphoreRecreated: a Lock waiting (for its object's turn)
// while another goroutine holds the lock, when another process removes the
// System V lock semaphore, follows Qt onto the recreated one: the first
// Unlock must not post the count onto the recreated semaphore (which would
// then let two holders in), the second Lock takes the recreated one, and
// Unlock, Lock and Close all still work. Found by review.
func TestLockWhileSemaphoreRecreated(t *testing.T) {
	k := testShmKey(t, SystemV, false)
	m := mustCreate(t, k, 8)
	if err := m.Lock(); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- m.Lock() }()
	for m.lock.state.Load()&lockQueued == 0 {
		runtime.Gosched() // until the second Lock waits for the turn
	}
	if err := RemoveSemaphore(k.LockKey()); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock of the first Lock: %v", err)
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second Lock: %v", err)
		}
	case <-time.After(harness.Timeout()):
		t.Fatal("second Lock never returned")
	}
	if v, err := m.lock.sem.Load().Value(); v != 0 || err != nil {
		t.Fatalf("recreated lock held by the second Lock has count %d (%v), want 0: one more holder could get in", v, err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock of the second Lock: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(harness.Timeout()):
		t.Fatal("Close hung")
	}
}

// TestBorrowersOutliveDetach: changes that borrow the count Locked holds
// (a Detach, the last, waiting for fn; a Create waiting for the Detach)
// all run under it: the Create makes its segment locked, and the lock it
// ends up with exists and is free afterwards. Found by an adversarial
// review: the Detach removed the lock under the waiting Create, which then
// ran holding no count and left the object attached without a lock.
func TestBorrowersOutliveDetach(t *testing.T) {
	k := testShmKey(t, SystemV, false)
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	inFn, release := make(chan struct{}), make(chan struct{})
	locked := make(chan error, 1)
	go func() {
		locked <- m.Locked(context.Background(), func([]byte) error {
			close(inFn)
			<-release
			return nil
		})
	}()
	<-inFn
	detached := make(chan error, 1)
	go func() { detached <- m.Detach() }()
	for m.IsAttached() {
		runtime.Gosched() // until the Detach waits for fn
	}
	created := make(chan error, 1)
	go func() { created <- m.Create(64, ReadWrite) }()
	for borrows(m) < 2 {
		runtime.Gosched() // until the Create borrows the hold too
	}
	close(release)
	for what, ch := range map[string]chan error{"Locked": locked, "Detach": detached, "Create": created} {
		if err := harness.Within(t, what, ch); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if !m.IsAttached() {
		t.Fatal("not attached after the Create")
	}
	if n, ok := lockCount(t, k); !ok || n != 1 {
		t.Fatalf("the new segment's lock exists %v with count %d; want free (1)", ok, n)
	}
	if err := m.Lock(); err != nil {
		t.Fatalf("Lock on the new segment: %v", err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// borrows is how many changes borrow the count m holds for Lock.
func borrows(m *SharedMemory) uint64 { return m.lock.state.Load() & lockBorrowMask }

func shmKind(typ KeyType) string {
	if typ == PosixRealtime {
		return "posix"
	}
	return "sysv"
}

// scaled returns long under QIPC_STRESS=1, else short.
func scaled(short, long int) int {
	if stressMode {
		return long
	}
	return short
}

// stressMode is set by `make stress`: the long versions run.
var stressMode = os.Getenv("QIPC_STRESS") == "1"

// TestLockRacingFollowHoldsBoundLock: a Lock that waits for the removed
// lock semaphore its object still has bound, while an Attach of the same
// object holds it and is about to follow the name to the new one, must
// not end holding the removed one: the Attach maps the new segment under
// the new lock, and a Lock holding the old one excludes no one there
// (found by TestInterleavings/posix under stress: two holders, both in one
// process). The Lock spins, so that it takes the count the moment the
// Attach gives it back.
func TestLockRacingFollowHoldsBoundLock(t *testing.T) {
	requireSpin(t)
	k := testShmKey(t, PosixRealtime, false)
	first := NewSharedMemory(k)
	if err := first.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	b := NewSharedMemory(k, WithSpin(time.Minute))
	defer closeWithin(t, b)
	if err := b.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := b.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil { // removes the segment and its lock
		t.Fatal(err)
	}
	second := NewSharedMemory(k)
	if err := second.Create(64, ReadWrite); err != nil { // a new lock
		t.Fatal(err)
	}
	defer closeWithin(t, second)

	// The Lock waits (spinning) for the removed lock while the Attach
	// holds it, and once the Attach has given it back, the Attach waits
	// for the Lock to end: a Lock that takes the count before the
	// Attach has unbound the semaphore shows.
	race := raceAtGiveBack(t, &testHookStaleUnbind, b, "Lock", b.Lock)
	err := b.Attach(ReadWrite)
	lerr := race.end()
	if !race.ran.Load() || !race.given.Load() {
		t.Fatalf("the Attach did not find its bound lock removed (%v) or did not give it back (%v)", race.ran.Load(), race.given.Load())
	}
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if errors.Is(lerr, ErrNotAttached) {
		// The Lock gave the removed lock's count back, and looked again
		// before the Attach had bound the new one: nothing to lock then.
		return
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	if held, bound := b.lock.heldSem.Load(), b.lock.sem.Load(); held != bound {
		t.Fatalf("Lock returned holding a lock semaphore (%p) other than the one its object has bound (%p)", held, bound)
	}
	if ok, err := second.TryLock(); ok || err != nil {
		_ = second.Unlock()
		t.Fatalf("the creator took the lock while the attached object's Lock held it (TryLock %v, %v): that Lock holds the removed semaphore", ok, err)
	}
	if err := b.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedCallUnbindsBeforeGivingBack: a Create that fails and gives up
// the lock semaphore it made gives the count back only after unbinding
// it. An Attach of the same object that waits for that count meanwhile
// (spinning, so that it takes it the moment it is back) must not map the
// segment under the semaphore unbound: the object would be attached with
// no lock, and its Lock would fail (second reader of 0922ebd).
func TestFailedCallUnbindsBeforeGivingBack(t *testing.T) {
	requireSpin(t)
	k := testShmKey(t, PosixRealtime, false)
	first := NewSharedMemory(k)
	if err := first.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, first)
	if err := RemoveSemaphore(lockKeyFor(k)); err != nil { // b's Create makes it again
		t.Fatal(err)
	}
	b := NewSharedMemory(k, WithSpin(time.Minute))
	defer closeWithin(t, b)
	// The Attach waits (spinning) for the lock while the failed Create
	// holds it, and once the Create has given it back, the Create waits
	// for the Attach to end.
	race := raceAtGiveBack(t, &testHookChangeEnded, b, "Attach", func() error { return b.Attach(ReadWrite) })
	err := b.Create(64, ReadWrite)
	aerr := race.end()
	if !race.ran.Load() || !race.given.Load() || !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("Create: %v (hook ran: %v, count given back: %v), want ErrAlreadyExists", err, race.ran.Load(), race.given.Load())
	}
	if aerr != nil {
		t.Fatal(aerr)
	}
	if err := b.Lock(); err != nil {
		t.Fatalf("attached, but Lock fails: %v", err)
	}
	if err := b.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// giveBackRace is a call of m that races with one of m's own, which gives
// a count of m's lock semaphore back: when hook runs, the racer starts and
// waits, spinning, for the count that m's lock semaphore has then, and the
// giver waits in giveBack for the racer to end, so that the racer takes
// the count the moment it is back.
type giveBackRace struct {
	hook       *func()
	ran, given atomic.Bool
	err        error // the racer's, once given is set
}

func raceAtGiveBack(t *testing.T, hook *func(), m *SharedMemory, name string, racer func() error) *giveBackRace {
	r := &giveBackRace{hook: hook}
	done := make(chan error, 1)
	*hook = func() {
		if !r.ran.CompareAndSwap(false, true) {
			return
		}
		sem := m.lock.sem.Load()
		testHookGivenBack = func(s *Semaphore) {
			if s == sem && r.given.CompareAndSwap(false, true) {
				r.err = harness.Within(t, name, done)
			}
		}
		spinning := onSpin(sem)
		go func() { done <- racer() }()
		harness.Within(t, "the "+name+" to spin", spinning)
	}
	t.Cleanup(func() { r.end() })
	return r
}

// end removes the hooks and returns the racer's error.
func (r *giveBackRace) end() error {
	*r.hook, testHookGivenBack, testHookSpinning = nil, nil, nil
	return r.err
}

// onSpin installs testHookSpinning; the channel closes once a wait on
// sem begins to spin (the one a test starts next).
func onSpin(sem *Semaphore) chan struct{} {
	spinning := make(chan struct{})
	var once atomic.Bool
	testHookSpinning = func(s *Semaphore) {
		if s == sem && once.CompareAndSwap(false, true) {
			close(spinning)
		}
	}
	return spinning
}

// TestAttachAfterDetachChecksRemovedLock: an Attach that borrows the hold
// of a Lock on a removed lock semaphore while a Detach of the same object
// is under way must refuse (ErrLockRemoved) once the Detach is done, not
// map the new segment under the removed lock. The object was attached to
// the old segment under its lock when the old segment's creator removed
// both; the Lock holds that lock (legitimately: the old mapping is still
// there), the Detach borrows it and waits for Locked's pin; the Attach
// borrows it too and saw the phase "detaching" before the Detach ended
// (second reader of 0922ebd: two holders, one process).
func TestAttachAfterDetachChecksRemovedLock(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	creator := NewSharedMemory(k)
	if err := creator.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	x := NewSharedMemory(k)
	defer closeWithin(t, x)
	if err := x.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := creator.Close(); err != nil { // removes the old segment and its lock
		t.Fatal(err)
	}
	y := NewSharedMemory(k)
	if err := y.Create(64, ReadWrite); err != nil { // the new segment, a new lock
		t.Fatal(err)
	}
	defer closeWithin(t, y)

	inside, release := make(chan struct{}), make(chan struct{})
	lockedDone, detached, attached := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() {
		lockedDone <- x.Locked(context.Background(), func([]byte) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	go func() { detached <- x.Detach() }()
	waitFor(t, "the Detach's borrow", func() bool { return borrows(x) == 1 && x.life.phase() == detaching })
	go func() { attached <- x.Attach(ReadWrite) }()
	waitFor(t, "the Attach's borrow", func() bool { return borrows(x) == 2 })
	close(release)
	for _, c := range []struct {
		what string
		ch   chan error
	}{{"Locked", lockedDone}, {"Detach", detached}} {
		if err := harness.Within(t, c.what, c.ch); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
	}
	err := harness.Within(t, "Attach", attached)
	if errors.Is(err, ErrLockRemoved) {
		return // refused: the object holds no lock of the new segment
	}
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := y.Lock(); err != nil {
		t.Fatal(err)
	}
	defer y.Unlock()
	if ok, err := x.TryLock(); ok || err != nil {
		_ = x.Unlock()
		t.Fatalf("the new segment's creator holds its lock, and the object that attached it took its lock too (TryLock %v, %v): it locks the removed semaphore", ok, err)
	}
}

// waitFor waits until cond holds; a watchdog, not a timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never came", what)
		}
	}
}

// TestCloseFollowsRemovedLock: a creator that detached, whose lock was
// removed by name since (by hand, or by a Qt create() on the existing
// segment, COMPAT.md #1), must remove its segment at Close under the lock
// that those who attached since use, the name's: it waits for their hold,
// as Create and Attach follow the name (second reader of 1253d72).
func TestCloseFollowsRemovedLock(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	x := NewSharedMemory(k)
	defer closeWithin(t, x)
	if err := x.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := x.Detach(); err != nil {
		t.Fatal(err)
	}
	old := x.lock.sem.Load()
	if err := RemoveSemaphore(lockKeyFor(k)); err != nil {
		t.Fatal(err)
	}
	y := NewSharedMemory(k)
	defer closeWithin(t, y)
	if err := y.Attach(ReadWrite); err != nil { // binds the name's new lock
		t.Fatal(err)
	}
	if err := y.Lock(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- x.Close() }()
	waitFor(t, "Close to end or to wait for the name's lock", func() bool {
		if len(done) > 0 {
			return true
		}
		sem := x.lock.sem.Load()
		return sem != nil && sem != old && sem.state.Load()&stateUserMask > 0
	})
	select {
	case err := <-done:
		t.Fatalf("Close returned (%v, segment removed: %v) while another object held the segment's lock: it locked the removed one", err, x.segmentGone())
	default:
	}
	if x.segmentGone() {
		t.Fatal("the segment went while its lock was held")
	}
	if err := y.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := harness.Within(t, "Close", done); err != nil {
		t.Fatal(err)
	}
	if !x.segmentGone() {
		t.Error("the creator's Close left its segment")
	}
}

// TestAcquireAfterCloseGivesCountBack: a wait that takes a count after
// Close began (the spin and the lock-free try do not look at the closed
// flag as they go) gives it back and fails with ErrClosed: no Release on
// the closed object could give it back later, and the count would be lost
// for every process (second reader of 1253d72).
func TestAcquireAfterCloseGivesCountBack(t *testing.T) {
	requireSpin(t)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(typ.String(), func(t *testing.T) {
			skipWithoutBackend(t, typ)
			k := testSemKey(t, typ, false)
			s1, err := NewSemaphore(k, 0, SemaphoreCreate, WithSpin(time.Minute), WithoutCleanup())
			if err != nil {
				t.Fatal(err)
			}
			s2, err := NewSemaphore(k, 0, SemaphoreOpen)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			acquired := make(chan error, 1)
			spinning := onSpin(s1)
			defer func() { testHookSpinning = nil }()
			go func() { acquired <- s1.Acquire() }()
			harness.Within(t, "the Acquire to spin", spinning)
			var given atomic.Bool
			testHookCloseSet = func(s *Semaphore) {
				if s == s1 && given.CompareAndSwap(false, true) {
					_ = s2.Release(1) // the spin may take it before it looks at the flag
				}
			}
			defer func() { testHookCloseSet = nil }()
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}
			err = harness.Within(t, "Acquire", acquired)
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Acquire on a semaphore closed while it waited: %v, want ErrClosed", err)
			}
			if v, err := s2.Value(); err != nil || v != 1 {
				t.Fatalf("the count posted while the closed object's wait ended: %d (%v), want 1: the wait kept it", v, err)
			}
		})
	}
}

// TestLockDeadlineHolderInThisProcess: a Lock that gives up while another
// object of this process holds the lock must not say that the holder
// exited and that RecoverLock gives the lock back: following that would
// let a second holder in (second reader of 1253d72).
func TestLockDeadlineHolderInThisProcess(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	a := NewSharedMemory(k)
	defer closeWithin(t, a)
	if err := a.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	b := NewSharedMemory(k)
	defer closeWithin(t, b)
	if err := b.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	defer a.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := b.LockContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockContext while another object holds the lock: %v, want DeadlineExceeded", err)
	}
	if strings.Contains(err.Error(), "RecoverLock") || strings.Contains(err.Error(), "exited without giving it back (") {
		t.Errorf("the error sends the caller to RecoverLock while another object of this process holds the lock: %v", err)
	}
	// Where the OS tells who uses the lock (glibc's semaphores, not
	// musl's), the error says who may hold it.
	if strings.Contains(err.Error(), "the lock is held") && !strings.Contains(err.Error(), "this process holds it") {
		t.Errorf("the error does not say that this process may hold the lock: %v", err)
	}
}

// requireSpin skips a test whose order needs a spinning wait.
func requireSpin(t *testing.T) {
	t.Helper()
	if !multiCPU || runtime.GOMAXPROCS(0) == 1 {
		t.Skip("no spinning on one CPU or with GOMAXPROCS 1")
	}
}

// TestCloseEndsSleepingLock: a Lock asleep on the lock that another object
// holds ends with ErrClosed as soon as Close of its own object begins,
// while that Close still waits for the lock (to detach under it) and has
// closed nothing yet. The Lock's wait, whose context cannot end, waits on
// the object's "closed" context itself, which nothing else would end.
func TestCloseEndsSleepingLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			owner, b := lockOwnerAndWaiter(t, typ)
			r := b.lock.sem.Load().cur.Load()
			if _, seen := r.h.(queueSeer); !seen && !r.lockFree() {
				// musl's sem_t: nothing shows when the Lock sleeps, and a
				// Close that came first would refuse it without a wait.
				closeWithin(t, b)
				t.Skip("this platform cannot tell when a Lock sleeps on the lock")
			}
			if err := owner.Lock(); err != nil {
				t.Fatal(err)
			}
			locked := make(chan error, 1)
			go func() { locked <- b.Lock() }()
			for deadline := time.Now().Add(time.Minute); !r.sleepers(); runtime.Gosched() {
				if time.Now().After(deadline) {
					t.Fatal("the Lock never slept on the lock") // a watchdog, not a timing
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			closed := make(chan error, 1)
			go func() { closed <- b.CloseContext(ctx) }()
			if err := harness.Within(t, "Lock once Close began", locked); !errors.Is(err, ErrClosed) {
				t.Errorf("Lock: %v, want ErrClosed", err)
			}
			select {
			case err := <-closed:
				t.Errorf("Close returned (%v) while the lock it waits for was held", err)
			default:
			}
			endLockedClose(t, cancel, closed, owner, b)
		})
	}
}

// lockOwnerAndWaiter makes a typ segment (owner, closed at the end of the
// test) and a second object attached to it that does not spin (b), for
// tests of a Lock of b that sleeps while owner holds the lock.
func lockOwnerAndWaiter(t *testing.T, typ KeyType) (owner, b *SharedMemory) {
	t.Helper()
	skipWithoutBackend(t, typ)
	k := testShmKey(t, typ, false)
	owner = NewSharedMemory(k)
	if err := owner.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWithin(t, owner) })
	b = NewSharedMemory(k, WithSpin(0))
	t.Cleanup(func() { closeWithin(t, b) }) // first: a failed test may leave a Lock of b waiting for owner's hold
	if err := b.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	return owner, b
}

// endLockedClose ends a CloseContext of b (closed gets its result) that
// waits for the lock owner holds: by its context (cancel), and then
// unlocks owner and closes b.
func endLockedClose(t *testing.T, cancel context.CancelFunc, closed <-chan error, owner, b *SharedMemory) {
	t.Helper()
	cancel()
	if err := harness.Within(t, "Close once its context ended", closed); !errors.Is(err, context.Canceled) {
		t.Errorf("CloseContext: %v, want context.Canceled", err)
	}
	if err := owner.Unlock(); err != nil {
		t.Fatal(err)
	}
	closeWithin(t, b)
}

// TestCloseBeforeWakerEndsLock: a Lock's wait registers its waker with
// the object's semaphore, whose one registration with the object's
// "closed" context wakes the registered waits when Close begins. A Close
// that begins, and wakes them, after the Lock decided to sleep but before
// its waker was registered must still end it: the wait looks at its
// context once registered.
func TestCloseBeforeWakerEndsLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			owner, b := lockOwnerAndWaiter(t, typ)
			bSem := b.lock.sem.Load()
			if _, ok := bSem.cur.Load().h.(wakeableSem); !ok {
				closeWithin(t, b)
				t.Skip("the lock's waits on this platform have no wakers")
			}
			if err := owner.Lock(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			closed := make(chan error, 1)
			woke := make(chan struct{})
			var first atomic.Bool
			wokeHook := func(s *Semaphore) {
				if s == bSem {
					close(woke)
				}
			}
			testHookCloserWoke.Store(&wokeHook)
			beforeHook := func(s *Semaphore) {
				if s != bSem || !first.CompareAndSwap(false, true) {
					return // the owner's, or Close's own wait for the lock
				}
				go func() { closed <- b.CloseContext(ctx) }()
				<-woke
			}
			testHookBeforeWaker.Store(&beforeHook)
			defer func() {
				testHookBeforeWaker.Store(nil)
				testHookCloserWoke.Store(nil)
			}()
			locked := make(chan error, 1)
			go func() { locked <- b.Lock() }()
			if err := harness.Within(t, "Lock once Close began", locked); !errors.Is(err, ErrClosed) {
				t.Errorf("Lock: %v, want ErrClosed", err)
			}
			endLockedClose(t, cancel, closed, owner, b)
		})
	}
}

// TestClosedLockStopsCloser: a lock semaphore that its object closes (an
// unbind, before a rebind follows the name) drops its registration with
// the object's closed context, which would otherwise keep it, and each
// one after it, until the object's Close.
func TestClosedLockStopsCloser(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			_, b := lockOwnerAndWaiter(t, typ)
			sem := b.lock.sem.Load()
			if err := b.unbind(sem); err != nil {
				t.Fatal(err)
			}
			if sem.stopCloser() {
				t.Error("the closed lock semaphore is still registered with its object's closed context")
			}
		})
	}
}
