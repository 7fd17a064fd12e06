//go:build cgo && linux

package qipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
	"github.com/qipc-go/qipc/internal/procs"
)

// The lifecycle of a SharedMemory under concurrency (package
// documentation, "Concurrency"): each test here is a case that an
// adversarial review broke on 08d39ff, and each uses only the public API,
// so that it can run against that code too.

// within returns what ch delivers, or fails the test, with every
// goroutine's stack, when nothing comes within the peer timeout: a call
// that hangs fails its test instead of the whole run.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(harness.Timeout()):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s did not return within %v (a deadlock?)\n%s", what, harness.Timeout(), buf[:runtime.Stack(buf, true)])
		panic("unreachable")
	}
}

// waitLockWaiters waits until the kernel counts n waiters on the lock of
// k (glibc's waiter count, semctl GETNCNT).
func waitLockWaiters(t *testing.T, k Key, n int) {
	t.Helper()
	if _, ok := lockWaiters(t, k); !ok {
		t.Skip("the lock's waiters cannot be counted here")
	}
	deadline := time.Now().Add(harness.Timeout())
	for {
		if got, _ := lockWaiters(t, k); got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock never had %d waiters", n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestLockedPinsMapping: a Detach or Close that begins while Locked's fn
// runs must not unmap the mapping under fn. On 08d39ff it did: fn faulted,
// or its writes landed in the next segment the process mapped.
func TestLockedPinsMapping(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		for _, how := range []string{"detach", "close"} {
			t.Run(shmKind(typ)+"/"+how, func(t *testing.T) {
				const size = 1 << 16
				k := testShmKey(t, typ, false)
				canaryKey := testShmKey(t, typ, false)
				m := NewSharedMemory(k)
				if err := m.Create(size, ReadWrite); err != nil {
					t.Fatal(err)
				}
				defer closeWithin(t, m)
				canary := NewSharedMemory(canaryKey)
				defer closeWithin(t, canary)
				var ended atomic.Bool
				started := make(chan struct{})
				locked := make(chan error, 1)
				go func() {
					locked <- m.Locked(context.Background(), func(data []byte) error {
						close(started)
						for m.IsAttached() {
							runtime.Gosched() // until the Detach or Close has begun
						}
						// Map a segment of the same size: where the kernel
						// puts one when this mapping is gone.
						if err := canary.Create(size, ReadWrite); err != nil {
							return err
						}
						for i := range data {
							data[i] = 0xab
						}
						if ended.Load() {
							return errors.New(how + " returned while fn still used the mapping")
						}
						return nil
					})
				}()
				<-started
				gone := make(chan error, 1)
				go func() {
					var err error
					if how == "detach" {
						err = m.Detach()
					} else {
						err = m.Close()
					}
					ended.Store(true)
					gone <- err
				}()
				if err := within(t, "Locked", locked); err != nil {
					t.Fatalf("Locked: %v", err)
				}
				if err := within(t, how, gone); err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				for i, b := range canary.Data() {
					if b != 0 {
						t.Fatalf("fn's write landed in another segment (byte %d is %#x)", i, b)
					}
				}
			})
		}
	}
}

// TestLockedDetachNoDeadlock: Locked waiting for the lock and a Detach of
// the same object waiting for it too must both return once the holder
// lets go. On 08d39ff Detach waited holding the object's mutex, and
// Locked, served first, then waited for that mutex: neither returned, and
// the lock stayed taken for every process (System V serves waiters in
// order; glibc's POSIX semaphores in any).
func TestLockedDetachNoDeadlock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			m := NewSharedMemory(k)
			if err := m.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			defer closeWithin(t, m)
			other := NewSharedMemory(k)
			if err := other.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			defer closeWithin(t, other)
			if err := other.Lock(); err != nil {
				t.Fatal(err)
			}
			locked := make(chan error, 1)
			go func() {
				locked <- m.Locked(context.Background(), func(data []byte) error {
					copy(data, "locked")
					return nil
				})
			}()
			waitLockWaiters(t, k, 1)
			detached := make(chan error, 1)
			go func() { detached <- m.Detach() }()
			waitLockWaiters(t, k, 2)
			if err := other.Unlock(); err != nil {
				t.Fatal(err)
			}
			lerr := within(t, "Locked", locked)
			derr := within(t, "Detach", detached)
			if derr != nil {
				t.Errorf("Detach: %v", derr)
			}
			// Locked ran first, or found the object detached.
			if lerr != nil && !errors.Is(lerr, ErrNotAttached) {
				t.Errorf("Locked: %v", lerr)
			}
			if ok, err := other.TryLock(); !ok || err != nil {
				t.Errorf("lock left taken: TryLock %v %v", ok, err)
			} else {
				_ = other.Unlock()
			}
		})
	}
}

// TestFailedAttachKeepsLiveLock: an Attach that gives up waiting for a lock
// another object holds must leave that lock alone. On 08d39ff the object
// that had created the lock removed it on the way out: the holder then
// held a lock no one else would find, and the next object to attach made
// another, so two objects held "the" lock at once.
func TestFailedAttachKeepsLiveLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		for _, legacy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/legacy=%v", shmKind(typ), legacy), func(t *testing.T) {
				k := testShmKey(t, typ, legacy)
				creator := NewSharedMemory(k)
				if err := creator.Create(64, ReadWrite); err != nil {
					t.Fatal(err)
				}
				defer closeWithin(t, creator)
				keeper := NewSharedMemory(k) // keeps a System V segment alive
				if err := keeper.Attach(ReadWrite); err != nil {
					t.Fatal(err)
				}
				defer closeWithin(t, keeper)
				if err := creator.Detach(); err != nil {
					t.Fatal(err)
				}
				holder := NewSharedMemory(k)
				if err := holder.Attach(ReadWrite); err != nil {
					t.Fatal(err)
				}
				defer closeWithin(t, holder)
				if err := holder.Lock(); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				err := creator.AttachContext(ctx, ReadWrite)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("AttachContext while another object holds the lock: %v, want DeadlineExceeded", err)
				}
				n, ok := lockCount(t, k)
				if typ == PosixRealtime && !ok { // a C library whose sem_t this test cannot read (musl)
					_, err := os.Stat(glibcsem.SemFile(lockKeyFor(k).Native))
					ok, n = err == nil, 0
				}
				if !ok || n != 0 {
					t.Fatalf("after the failed Attach, the lock the holder holds: exists %v, count %d; want it there, count 0", ok, n)
				}
				third := NewSharedMemory(k)
				defer closeWithin(t, third)
				attached := make(chan error, 1)
				go func() { attached <- third.Attach(ReadWrite) }()
				waitLockWaiters(t, k, 1) // Attach takes the lock the holder holds
				if err := holder.Unlock(); err != nil {
					t.Fatal(err)
				}
				if err := within(t, "Attach", attached); err != nil {
					t.Fatal(err)
				}
				if err := holder.Lock(); err != nil {
					t.Fatal(err)
				}
				if ok, err := third.TryLock(); ok || err != nil {
					t.Fatalf("a second object took the lock while the holder held it (TryLock %v, %v)", ok, err)
				}
				if err := holder.Unlock(); err != nil {
					t.Fatal(err)
				}
				if err := creator.Close(); err != nil {
					t.Fatal(err)
				}
				if typ == PosixRealtime {
					if _, err := os.Stat("/dev/shm" + k.Native); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("the creator's Close left its POSIX segment behind (%v)", err)
					}
				}
			})
		}
	}
}

// TestStartupOneLock: the usual start-up, a client retrying Attach until
// its server's Create has run, must end with both on one lock. On 08d39ff
// each failed Attach made the lock semaphore and removed it again, and a
// server that had opened it in between locked a semaphore no one else
// would find: 4 of 40 rounds ended on two locks.
func TestStartupOneLock(t *testing.T) {
	rounds := scaled(1000, 10000)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		for _, legacy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/legacy=%v", shmKind(typ), legacy), func(t *testing.T) {
				k := testShmKey(t, typ, legacy)
				split := 0
				for r := range rounds {
					server, client := NewSharedMemory(k), NewSharedMemory(k)
					attached := make(chan error, 1)
					go func() {
						for {
							err := client.Attach(ReadWrite)
							if !errors.Is(err, ErrNotFound) {
								attached <- err
								return
							}
							runtime.Gosched()
						}
					}()
					for range rand.IntN(50) {
						runtime.Gosched()
					}
					if err := server.Create(64, ReadWrite); err != nil {
						t.Fatalf("round %d: Create: %v", r, err)
					}
					if err := within(t, "the client's Attach", attached); err != nil {
						t.Fatalf("round %d: Attach: %v", r, err)
					}
					if err := server.Lock(); err != nil {
						t.Fatal(err)
					}
					if ok, _ := client.TryLock(); ok {
						split++
						_ = client.Unlock()
					}
					if err := server.Unlock(); err != nil {
						t.Fatal(err)
					}
					closeWithin(t, client)
					closeWithin(t, server)
				}
				if split > 0 {
					t.Fatalf("%d of %d rounds ended with the client and the server on two locks", split, rounds)
				}
				t.Logf("%d rounds, one lock in each", rounds)
			})
		}
	}
}

// TestCreateTruncateFailureRemovesSegment: a POSIX Create whose ftruncate
// fails (EFBIG past RLIMIT_FSIZE) must not leave the empty segment, which
// made the next Create fail with AlreadyExists on 08d39ff.
func TestCreateTruncateFailureRemovesSegment(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	c := relStart(t, "create-fsize", k, "1048576")
	if l := c.Line(); !strings.HasPrefix(l, "err ") || !strings.Contains(l, "ftruncate") {
		t.Fatalf("Create past RLIMIT_FSIZE: %q, want an ftruncate error", l)
	}
	c.Finish()
	if _, err := os.Stat("/dev/shm" + k.Native); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed Create left its segment (%v)", err)
	}
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Create(1<<20, ReadWrite); err != nil {
		t.Fatalf("Create after the failed one: %v", err)
	}
}

// TestSysVWaitEndsWithoutSIGURG: a System V LockContext ends with its
// context also in a process that ignores SIGURG, or on a thread that
// blocks it: the signal that ends a one-call wait never arrives there.
// On 08d39ff the wait went on until the lock was free.
func TestSysVWaitEndsWithoutSIGURG(t *testing.T) {
	for _, how := range []string{"ignored", "blocked"} {
		t.Run(how, func(t *testing.T) {
			k := testShmKey(t, SystemV, false)
			m := NewSharedMemory(k)
			if err := m.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			defer closeWithin(t, m)
			c := relStart(t, "lock-sigurg-"+how, k, "0")
			expectLine(t, "relpeer", c.Line(), "ok attached")
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			c.Send("go")
			line := c.Line() // fails the test when the wait does not end
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
			if line != "ok deadline exceeded" {
				t.Fatalf("LockContext with SIGURG %s: %q, want it to end with its deadline", how, line)
			}
			c.Finish()
		})
	}
}

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

// borrows is how many changes borrow the count m holds for Lock.
func borrows(m *SharedMemory) uint64 { return m.lock.state.Load() & lockBorrowMask }

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
	if err := within(t, "the second Lock", second); err != nil {
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
		if err := within(t, what, ch); err != nil {
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

// TestDetachedCreatorCloseHoldsLock: a POSIX creator that detached removes
// its segment and lock at Close only holding the lock, so that no Create
// runs under the lock while it goes. Found by an adversarial review: the
// removal without the lock let a Create make a new segment under the lock
// being removed, and the next Attach a second lock for it.
func TestDetachedCreatorCloseHoldsLock(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	creator := NewSharedMemory(k)
	if err := creator.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := creator.Detach(); err != nil {
		t.Fatal(err)
	}
	holder := NewSharedMemory(k)
	defer closeWithin(t, holder)
	if err := holder.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- creator.Close() }()
	waitLockWaiters(t, k, 1) // Close waits for the lock before it removes
	if _, err := os.Stat("/dev/shm" + k.Native); err != nil {
		t.Fatalf("the segment went while another object held its lock: %v", err)
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "Close", closed); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/dev/shm" + k.Native); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the creator's Close left the segment (%v)", err)
	}
}

// TestCloseFollowsRemovedLock: when a peer removed the System V lock set
// while the segment is in use (a Qt creator's destructor does, COMPAT.md
// #2) and a follower made it again, the last detach, by Detach or Close,
// removes the set the others use, and Close racing a Lock that follows the
// removal still detaches. Found by an adversarial review: Close took the
// count of the set it had bound (gone), detached without the lock and left
// the new set; racing the Lock it skipped the unmap altogether.
func TestCloseFollowsRemovedLock(t *testing.T) {
	for _, viaClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", viaClose), func(t *testing.T) {
			k := testShmKey(t, SystemV, false)
			m := NewSharedMemory(k)
			if err := m.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := RemoveSemaphore(lockKeyFor(k)); err != nil {
				t.Fatal(err)
			}
			o := NewSharedMemory(k) // follows: makes the lock set again
			if err := o.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			lockKey := sysvLockKey(t, k) // of the set the follower made
			if viaClose {
				closeWithin(t, m)
			} else {
				if err := m.Detach(); err != nil {
					t.Fatal(err)
				}
				closeWithin(t, m)
			}
			if _, ok := sysvTable(t, "sem")[lockKey]; ok {
				t.Errorf("the last detach left the lock set that the follower made (key %#x)", lockKey)
			}
		})
	}
	t.Run("racing-lock", func(t *testing.T) {
		k := testShmKey(t, SystemV, false)
		for r := range scaled(200, 2000) {
			c := NewSharedMemory(k)
			if err := c.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			m := NewSharedMemory(k)
			if err := m.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := c.Lock(); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			reading := make(chan struct{})
			go func() {
				defer close(reading)
				buf := make([]byte, 8)
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, _ = m.ReadAt(buf, 0)
				}
			}()
			lockDone := make(chan error, 1)
			go func() { lockDone <- m.Lock() }()
			waitLockWaiters(t, k, 1)
			if err := RemoveSemaphore(lockKeyFor(k)); err != nil {
				t.Fatal(err)
			}
			// Close while the Lock handles the removal, at varied moments.
			for t0, d := time.Now(), time.Duration(r%40)*time.Microsecond; time.Since(t0) < d; {
			}
			cerr := m.Close()
			close(stop)
			<-reading
			lerr := within(t, "the following Lock", lockDone)
			if cerr != nil {
				t.Fatalf("round %d: Close: %v", r, cerr)
			}
			if lerr != nil && !errors.Is(lerr, ErrClosed) {
				t.Fatalf("round %d: Lock: %v", r, lerr)
			}
			if u, err := Inspect(k); err != nil || u.Attached != 1 {
				t.Fatalf("round %d: after m's Close the segment has %d attachments (%v); want 1 (the creator's)", r, u.Attached, err)
			}
			_ = c.Unlock()
			lockKey := sysvLockKey(t, k)
			closeWithin(t, c)
			if left := objectsNamed(t, k); len(left) > 1 {
				t.Fatalf("round %d: left behind: %v", r, left)
			}
			if _, ok := sysvTable(t, "sem")[lockKey]; ok {
				t.Fatalf("round %d: the lock set (key %#x) is left", r, lockKey)
			}
		}
	})
}

// sysvLockKey is the ftok key that the lock of segment k has now, as the
// kernel's tables name it.
func sysvLockKey(t *testing.T, k Key) int32 {
	t.Helper()
	lk := lockKeyFor(k)
	var st syscall.Stat_t
	if err := syscall.Stat(lk.Native, &st); err != nil {
		t.Fatalf("the lock's key file: %v", err)
	}
	return int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(ftokProjectID(lk.Type))<<24)
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

// TestFailedCreateRemovesUnusedLock: a POSIX Create that made the lock
// semaphore and then failed (its mapping does not fit the address space)
// removes the lock when /proc shows that no other process has it open,
// and keeps it when one has. Found by an adversarial review: the lock
// stayed either way.
func TestFailedCreateRemovesUnusedLock(t *testing.T) {
	const huge = 1 << 48 // ftruncate grants it; no address space maps it
	k := testShmKey(t, PosixRealtime, false)
	m := NewSharedMemory(k)
	if err := m.Create(huge, ReadWrite); err == nil {
		t.Skip("this machine maps 256 TiB")
	}
	left := shmEntries(t, filepath.Base(k.Native))
	switch hidden := procsHidden(); {
	case hidden != "":
		// Not every process can be checked, so nothing proves the lock
		// unused: it must stay (issue 25's rule).
		t.Logf("%s: the failed Create must keep its lock", hidden)
		if len(left) > 1 {
			// Its lock (named apart for a legacy key, as under musl) is all
			// it may leave.
			t.Errorf("the failed Create left %v; want at most its lock semaphore, which nothing proves unused here", left)
		}
	case len(left) != 0:
		t.Errorf("the failed Create left %v", left)
	}
	closeWithin(t, m)

	k2 := testShmKey(t, PosixRealtime, false)
	opener := relStart(t, "open-lock", k2, "0")
	expectLine(t, "relpeer", opener.Line(), "ok open")
	m2 := NewSharedMemory(k2)
	defer closeWithin(t, m2)
	if err := m2.Create(huge, ReadWrite); err == nil {
		t.Skip("this machine maps 256 TiB")
	}
	if _, err := os.Stat(glibcsem.SemFile(lockKeyFor(k2).Native)); err != nil {
		t.Errorf("the failed Create removed a lock semaphore another process has open: %v", err)
	}
	opener.Finish()
}

// Two objects that open the same semaphore in Open mode and close it, over
// and over: each open first tries to create it, and finds it made by the
// other (EEXIST), which may close, and so remove, it before the open that
// follows. Qt opens then with O_CREAT (IPC_CREAT), which makes the
// semaphore again without owning it: nobody removes it (POSIX), and a
// System V set made so keeps count 0 for ever (every lock of it waits).
// The open must create it exclusively again, and own it.
func TestOpenRaceOwnsWhatItMakes(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testSemKey(t, typ, false)
			rounds := scaled(20000, 200000)
			var stuck, unproven atomic.Int64
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					for range rounds {
						s, err := NewSemaphore(k, 1, SemaphoreOpen)
						if err != nil && strings.Contains(err.Error(), "no owner could be proven") {
							// The other object replaced the name under every
							// one of this open's tries (POSIX: the owner is
							// that of the file opened, issue 25): a refusal,
							// which leaves nothing.
							unproven.Add(1)
							continue
						}
						if err != nil {
							errs <- err
							return
						}
						if v, err := s.Value(); err == nil && v == 0 {
							stuck.Add(1) // a creator between semget and SETVAL shows 0 too, for microseconds
						}
						if err := s.Close(); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if left := objectsNamed(t, k); len(left) > 1 {
				t.Errorf("after %d rounds of open and close in each of two objects, left: %v (%d opens saw count 0)", rounds, left, stuck.Load())
			}
			t.Logf("%d opens refused: the name was replaced under every try", unproven.Load())
		})
	}
}

// procsHidden says why /proc cannot show every process that may map a
// POSIX object (maps that cannot be read, processes out of sight), or is
// "": a failed POSIX Create then keeps the lock it made, since nothing
// proves it unused.
func procsHidden() string {
	x := procs.ShmUsers()
	if x.Unchecked == 0 && x.Blind == "" {
		return ""
	}
	return fmt.Sprintf("/proc does not show every process (%d unchecked; %q)", x.Unchecked, x.Blind)
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
					if err := within(t, "Close during the Detach's borrow", closed); err != nil {
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
