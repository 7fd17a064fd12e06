//go:build cgo && linux

package systest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
)

// Reliability under faults: the POSIX lock recovery (recover.go), signals,
// Close racing Lock, semaphores recreated under waits, dead holders.

// ---- RecoverLock ----

func TestRecoverLock(t *testing.T) {
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			// No lock at all: ErrNotFound, nothing made on POSIX.
			if rec, err := qipc.RecoverLock(k); rec || !errors.Is(err, qipc.ErrNotFound) {
				t.Fatalf("RecoverLock without a lock: %v %v", rec, err)
			}
			if typ == qipc.PosixRealtime {
				if _, err := os.Stat(glibcsem.SemFile(k.LockKey().Native)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("RecoverLock made a lock semaphore: %v", err)
				}
			}
			m := mustCreate(t, k, 8)
			// Free lock: nothing changes.
			if rec, err := qipc.RecoverLock(k); rec || err != nil {
				t.Fatalf("RecoverLock of a free lock: %v %v", rec, err)
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Fatalf("count after RecoverLock of a free lock: %d", v)
			}
			// Simulated dead holder: the count taken without anyone to give it back.
			lock, err := qipc.NewSemaphore(k.LockKey(), 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := lock.TryAcquire(); !ok {
				t.Fatal("could not take the lock")
			}
			lock.Close()
			if typ == qipc.SystemV {
				// SEM_UNDO gives the count back when the process exits, not
				// on close: within this process it is still taken.
				t.Log("System V: RecoverLock only needed for holders without SEM_UNDO")
			}
			rec, err := m.LockOrRecover(context.Background(), 100*time.Millisecond)
			if !rec || err != nil {
				t.Fatalf("LockOrRecover: %v %v", rec, err)
			}
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Fatalf("count after recovery: %d, want 1", v)
			}
			if rec, err := qipc.RecoverLock(qipc.Key{Type: typ}); rec || !errors.Is(err, qipc.ErrKey) {
				t.Errorf("RecoverLock(empty key): %v %v", rec, err)
			}
		})
	}
}

// ---- signals ----

// TestSignalsDuringAcquire: thousands of signals aimed at the thread
// blocked in the OS wait (EINTR) never end an Acquire or Lock early.
func TestSignalsDuringAcquire(t *testing.T) {
	n := scaled(3000, 50000)
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			sigs := make(chan os.Signal, 64)
			signal.Notify(sigs, syscall.SIGUSR1)
			defer signal.Stop(sigs)
			go func() {
				for range sigs {
				}
			}()
			k := testSemKey(t, typ, false)
			s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tid := make(chan int, 1)
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				tid <- syscall.Gettid()
				done <- s.Acquire()
			}()
			th := <-tid
			pid := os.Getpid()
			sent := 0
			for i := 0; i < n; i++ {
				if err := syscall.Tgkill(pid, th, syscall.SIGUSR1); err == nil {
					sent++
				}
				// Process-directed too, to reach whatever thread is in the wait.
				if i%4 == 0 {
					_ = syscall.Kill(pid, syscall.SIGUSR1)
					sent++
				}
				select {
				case err := <-done:
					t.Fatalf("Acquire returned after %d signals without a release: %v", sent, err)
				default:
				}
			}
			select {
			case err := <-done:
				t.Fatalf("Acquire returned without a release: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			if err := s.Release(1); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Acquire after %d signals: %v", sent, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Acquire not woken by Release")
			}
			if v, _ := s.Value(); v != 0 {
				t.Errorf("count after Acquire: %d", v)
			}
			t.Logf("%s: %d signals during one Acquire, no spurious return", shmKind(typ), sent)
		})
	}
}

// ---- Close racing Lock ----

// TestCloseRacesLock: goroutines locking and unlocking one object while
// another goroutine closes it: every call returns nil or ErrClosed, nothing
// panics, and the lock is free afterwards for other objects.
func TestCloseRacesLock(t *testing.T) {
	rounds := scaled(20, 500)
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			owner := mustCreate(t, k, 8)
			var okLocks, closedLocks atomic.Int64
			for r := range rounds {
				m := qipc.NewSharedMemory(k)
				if err := m.Attach(qipc.ReadWrite); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							err := m.Lock()
							if errors.Is(err, qipc.ErrClosed) {
								closedLocks.Add(1)
								return
							}
							if err != nil {
								t.Errorf("Lock: %v", err)
								return
							}
							okLocks.Add(1)
							if err := m.Unlock(); err != nil && !errors.Is(err, qipc.ErrNotLocked) {
								t.Errorf("Unlock: %v", err)
								return
							}
						}
					}()
				}
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				if err := m.Close(); err != nil {
					t.Fatalf("round %d: Close: %v", r, err)
				}
				wg.Wait()
				if ok, err := owner.TryLock(); !ok || err != nil {
					t.Fatalf("round %d: lock left taken after Close: %v %v", r, ok, err)
				}
				_ = owner.Unlock()
			}
			t.Logf("%d rounds: %d locks taken, %d ended by Close, lock free after every round", rounds, okLocks.Load(), closedLocks.Load())
		})
	}
}

// TestCloseAfterRemovingDetach: Close after the Detach that removed the
// System V segment (and retired its lock) succeeds, and Lock then says
// ErrClosed. Found by review.
func TestCloseAfterRemovingDetach(t *testing.T) {
	k := testShmKey(t, qipc.SystemV, false)
	m := qipc.NewSharedMemory(k)
	if err := m.Create(8, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := m.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(); !errors.Is(err, qipc.ErrNotAttached) {
		t.Errorf("Lock after the removing Detach: %v, want ErrNotAttached", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close after the removing Detach: %v", err)
	}
	if err := m.Lock(); !errors.Is(err, qipc.ErrClosed) {
		t.Errorf("Lock after Close: %v, want ErrClosed", err)
	}
}

// TestCloseEndsAttachWaitingForLock: Close ends an Attach that waits for a
// lock another process holds, also when Close begins while the Attach is
// still binding the lock semaphore. Found by review.
func TestCloseEndsAttachWaitingForLock(t *testing.T) {
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			mustCreate(t, k, 8)
			holder, _ := gop.startHolder(t, k)
			for r := range scaled(100, 2000) {
				m := qipc.NewSharedMemory(k)
				attached := make(chan error, 1)
				go func() { attached <- m.Attach(qipc.ReadWrite) }()
				if r%2 == 1 {
					time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				}
				closed := make(chan error, 1)
				go func() { closed <- m.Close() }()
				for _, c := range []chan error{attached, closed} {
					select {
					case <-c:
					case <-time.After(harness.Timeout()):
						t.Fatalf("round %d: Attach or Close still waiting for a lock another process holds", r)
					}
				}
			}
			holder.Release()
			stamp(holder, "ok unlocked at=")
		})
	}
}

// TestOrphanedLegacyLockIsStale: qipc ls marks a legacy lock semaphore
// whose segment's key file is gone, whose last user is dead and whose
// count is free as stale (an orphan), so that clean --stale finds what
// older versions and crashed Qt programs leave.
func TestOrphanedLegacyLockIsStale(t *testing.T) {
	k := testShmKey(t, qipc.SystemV, true)
	c := relStart(t, "orphan-lock", k, "0")
	expectLine(t, "orphan-lock", c.Line(), "ok")
	c.Finish()
	found := false
	for _, o := range qipcLs(t, k.LockKey()) {
		if o.Kind == "sysv-sem" {
			found = true
			if !o.Stale || !strings.Contains(strings.Join(o.Reasons, ";"), "orphaned lock") {
				t.Errorf("qipc ls: orphaned lock %+v not marked stale as an orphan", o)
			}
		}
	}
	if !found {
		t.Fatal("qipc ls does not list the orphaned lock semaphore")
	}
}

// TestLegacyLockNotOrphaned: a legacy lock semaphore whose segment's key
// file is gone is no orphan while its last user runs (it may be between
// its lock's open and its segment's) or while its count is taken (its
// holder may be out of this process's sight: another PID namespace).
func TestLegacyLockNotOrphaned(t *testing.T) {
	for _, tc := range []struct {
		cmd, what string
		value     int
	}{
		{"orphan-lock-live", "its last user runs", 1},
		{"orphan-lock-taken", "its count is 0", 0},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			k := testShmKey(t, qipc.SystemV, true)
			c := relStart(t, tc.cmd, k, "0")
			expectLine(t, tc.cmd, c.Line(), "ok")
			if tc.cmd == "orphan-lock-taken" {
				c.Finish()
			}
			found := false
			for _, o := range qipcLs(t, k.LockKey()) {
				if o.Kind != "sysv-sem" {
					continue
				}
				found = true
				// The other conditions of an orphan hold: only the one
				// the case is about keeps it.
				if o.Value == nil || *o.Value != tc.value || o.Lpid != c.Cmd.Process.Pid {
					t.Fatalf("qipc ls: %+v; want count %d, last used by the peer (pid %d)", o, tc.value, c.Cmd.Process.Pid)
				}
				if o.Stale {
					t.Errorf("qipc ls: the lock semaphore is stale, although %s: %v", tc.what, o.Reasons)
				}
			}
			if !found {
				t.Fatal("qipc ls does not list the lock semaphore")
			}
		})
	}
}

// TestContextsEndWaitsForDeadHolder: a POSIX lock whose holder was killed
// is never given back; CreateContext, AttachContext and DetachContext give
// up at their deadline instead of waiting for ever (Detach leaving the
// segment attached), and work again once the lock is recovered.
func TestContextsEndWaitsForDeadHolder(t *testing.T) {
	k := testShmKey(t, qipc.PosixRealtime, false)
	m := mustCreate(t, k, 64)
	h, _ := gop.startHolder(t, k)
	h.Kill()
	deadline := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	other := qipc.NewSharedMemory(k)
	defer closeWithin(t, other)
	if err := other.AttachContext(deadline(), qipc.ReadWrite); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, qipc.ErrLock) {
		t.Errorf("AttachContext behind a dead holder: %v, want a LockError matching DeadlineExceeded", err)
	}
	if err := qipc.NewSharedMemory(k).CreateContext(deadline(), 64, qipc.ReadWrite); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateContext behind a dead holder: %v, want DeadlineExceeded", err)
	}
	if err := m.DetachContext(deadline()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DetachContext behind a dead holder: %v, want DeadlineExceeded", err)
	}
	if !m.IsAttached() {
		t.Fatal("a DetachContext that gave up detached anyway")
	}
	if rec, err := qipc.RecoverLock(k); !rec || err != nil {
		t.Fatalf("RecoverLock: %v %v", rec, err)
	}
	if err := other.AttachContext(deadline(), qipc.ReadWrite); err != nil {
		t.Fatalf("AttachContext after recovery: %v", err)
	}
	if err := m.DetachContext(deadline()); err != nil {
		t.Fatalf("DetachContext after recovery: %v", err)
	}
}

// TestKilledSpinningWaiter: a Go waiter told to spin for minutes spins
// (its CPU time grows while the kernel counts no waiter on the lock), is
// killed there, and leaves the lock exactly as a killed sleeper does: the
// holder's count untouched, and once it unlocks, the lock free for others.
func TestKilledSpinningWaiter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ qipc.KeyType) {
		if !(runtime.NumCPU() > 1) {
			t.Skip("one CPU: the library does not spin")
		}
		k := testShmKey(t, typ, false)
		mustCreate(t, k, 8)
		w := gop.start(t, "hold-lock", k, "--barrier", "--spin", "10m")
		expectLine(t, "go hold-lock", w.Line(), "ok attached")
		h, _ := peerNamed("c").startHolder(t, k)
		w.Send("go")
		before := cpuTicks(t, w)
		deadline := time.Now().Add(harness.Timeout())
		for cpuTicks(t, w) < before+10 { // 100 ms of CPU: it spins
			if time.Now().After(deadline) {
				t.Fatalf("the waiter used no CPU for %v: it does not spin", harness.Timeout())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n, ok := lockWaiters(t, k); ok && n != 0 {
			t.Fatalf("%d waiters blocked in the kernel while the Go waiter spins", n)
		}
		w.Kill()
		if n, ok := lockCount(t, k); ok && n != 0 {
			t.Fatalf("lock count %d after the spinning waiter was killed, want 0 (the holder's)", n)
		}
		h.Release()
		h.Finish()
		m := qipc.NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(qipc.ReadWrite); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock after the holder unlocked: %v %v", ok, err)
		}
		_ = m.Unlock()
	})
}

// cpuTicks is the user+system CPU time of the peer's process, in clock
// ticks (/proc/PID/stat fields 14 and 15).
func cpuTicks(t *testing.T, pr *proc) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pr.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("%s: %v", pr.Name, err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime + stime
}
