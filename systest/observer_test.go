//go:build cgo && linux

package systest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// ipcTrace is what a watcher must leave as it found it: the System V
// objects (ipcs), the POSIX objects (/dev/shm) and the key files of k's
// folder, each with its owner, mode and size.
func ipcTrace(t *testing.T, k qipc.Key) string {
	t.Helper()
	var b strings.Builder
	out, err := exec.Command("ipcs", "-m", "-s").Output()
	if err != nil {
		t.Fatalf("ipcs: %v", err)
	}
	b.Write(out)
	dirs := []string{"/dev/shm"}
	if k.Type.IsSystemV() {
		dirs = append(dirs, filepath.Dir(k.Native))
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				lines = append(lines, fmt.Sprintf("%s/%s %v %d", dir, e.Name(), info.Mode(), info.Size()))
			}
		}
		sort.Strings(lines)
		b.WriteString(strings.Join(lines, "\n"))
	}
	return b.String()
}

// TestObserverLeavesNoTrace: an Observer attach beside a Qt or C creator
// reads the segment, under the lock when the lock exists and without it
// (ErrNoLock) when it does not, and leaves ipcs, /dev/shm and the key
// folder as it found them. A plain attach in the same place makes the
// lock semaphore (and its System V key file), as Qt's attach does: the
// trace the observer must not leave, which the check below sees.
func TestObserverLeavesNoTrace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     qipc.KeyType
		legacy  bool
		creator string
	}{
		{"posix-c", qipc.PosixRealtime, false, "c"},
		{"systemv-qt5", qipc.SystemV, true, "qt5"},
	} {
		for _, lockGone := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lock-gone=%v", tc.name, lockGone), func(t *testing.T) {
				skipWithoutBackend(t, tc.typ)
				p := peerNamed(tc.creator)
				p.require(t)
				k := testShmKey(t, tc.typ, tc.legacy)
				expectLine(t, "create", p.start(t, "create", k, "16", "--hold").Line(), "ok size=16")
				if lockGone {
					// What a Qt app's short-lived second instance leaves:
					// it made the lock and removed what it made.
					if err := qipc.RemoveSemaphore(k.LockKey()); err != nil {
						t.Fatal(err)
					}
				}
				before := ipcTrace(t, k)

				o := qipc.NewSharedMemory(k, qipc.Observer())
				if err := o.Create(16, qipc.ReadWrite); !errors.Is(err, qipc.ErrObserver) {
					t.Errorf("an observer's Create: %v, want ErrObserver", err)
				}
				if err := o.Attach(qipc.ReadOnly); err != nil {
					t.Fatal(err)
				}
				err := o.Locked(t.Context(), func([]byte) error { return nil })
				switch {
				case lockGone && !errors.Is(err, qipc.ErrNoLock):
					t.Errorf("Locked without a lock semaphore: %v, want ErrNoLock", err)
				case !lockGone && err != nil:
					t.Errorf("Locked: %v", err)
				}
				if _, err := o.ReadAt(make([]byte, 16), 0); err != nil {
					t.Errorf("ReadAt: %v", err)
				}
				if err := o.Detach(); err != nil {
					t.Fatal(err)
				}
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
				if lockGone {
					if _, err := qipc.RecoverLock(k); !errors.Is(err, qipc.ErrNotFound) {
						t.Errorf("RecoverLock without a lock semaphore: %v, want ErrNotFound", err)
					}
				}
				if after := ipcTrace(t, k); after != before {
					t.Fatalf("the observer changed the machine:\nbefore:\n%s\nafter:\n%s", before, after)
				}

				if lockGone {
					plain := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
					if err := plain.Attach(qipc.ReadOnly); err != nil {
						t.Fatal(err)
					}
					closeWithin(t, plain)
					if ipcTrace(t, k) == before {
						t.Fatal("a plain attach made no lock semaphore: this test cannot see a trace")
					}
				}
			})
		}
	}
}

// TestReaderRemovesLockItMade: a Qt 5 primary keeps a segment attached
// while its lock semaphore comes and goes (a short-lived second instance
// makes the lock and removes it again, as Qt's destructor removes what it
// made). A Go reader that attaches then has to make the lock, as Qt's
// attach does; its Close must remove it again, or once the primary exits
// no one does: on 2d031a2 a System V set was left on the machine for good
// (issue 30, item 1). Nothing of the key may be left at the end.
func TestReaderRemovesLockItMade(t *testing.T) {
	for _, readerCloses := range []string{"attached", "detached", "create-then-attach"} {
		t.Run(readerCloses, func(t *testing.T) {
			skipWithoutBackend(t, qipc.SystemV)
			qt := peerNamed("qt5")
			qt.require(t)
			k := testShmKey(t, qipc.SystemV, true)
			primary := qt.start(t, "create", k, "16", "--hold")
			expectLine(t, "primary", primary.Line(), "ok size=16")
			if err := qipc.RemoveSemaphore(k.LockKey()); err != nil {
				t.Fatal(err)
			}
			// The second instance: it makes the lock, and removes it as it exits.
			expectLine(t, "second instance", qt.run(t, "attach", k), "ok size=16")
			if n, ok := lockCount(t, k); ok {
				t.Fatalf("the second instance left its lock (count %d)", n)
			}

			reader := qipc.NewSharedMemory(k)
			if readerCloses == "create-then-attach" {
				// Qt's recipe "create, else attach": the failed Create
				// makes the lock; the Attach after it must still know so.
				if err := reader.Create(16, qipc.ReadWrite); !errors.Is(err, qipc.ErrAlreadyExists) {
					t.Fatalf("Create beside the primary: %v, want AlreadyExists", err)
				}
			}
			if err := reader.Attach(qipc.ReadOnly); err != nil {
				t.Fatal(err)
			}
			made, ok := harness.Ftok(k.LockKey().Native, int(k.LockKey().Type)) // the set the reader made; its file may go before it
			if !ok {
				t.Fatal("the reader's attach made no lock key file")
			}
			if err := reader.Locked(t.Context(), func([]byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if readerCloses == "detached" {
				if err := reader.Detach(); err != nil {
					t.Fatal(err)
				}
			}
			if err := reader.Close(); err != nil {
				t.Fatal(err)
			}
			primary.Finish()
			if _, found := sysvTable(t, "sem")[made]; found {
				t.Errorf("the lock set the reader made (key %#x) is left once the Qt primary exited", made)
			}
			if left := objectsNamed(t, k); len(left) > 0 {
				t.Errorf("left behind once the Qt primary exited: %v", left)
			}
		})
	}
}

// TestPosixMadeLockStays: on POSIX a reader's Close leaves the lock it
// made, since its users cannot follow a removal: here a second object of
// the same process (which /proc cannot tell apart) would go on locking the
// removed semaphore while a newcomer locks a new one, both at once. Found
// by a second reader of 36cbef5, whose Close removed it when /proc showed
// no other process.
func TestPosixMadeLockStays(t *testing.T) {
	skipWithoutBackend(t, qipc.PosixRealtime)
	c := peerNamed("c")
	c.require(t)
	k := testShmKey(t, qipc.PosixRealtime, false)
	expectLine(t, "create", c.start(t, "create", k, "16", "--hold").Line(), "ok size=16")
	if err := qipc.RemoveSemaphore(k.LockKey()); err != nil {
		t.Fatal(err)
	}
	var objs [3]*qipc.SharedMemory
	for i := range objs {
		objs[i] = qipc.NewSharedMemory(k)
		if i > 0 {
			defer closeWithin(t, objs[i])
		}
		if err := objs[i].Attach(qipc.ReadWrite); err != nil { // the first one makes the lock
			t.Fatal(err)
		}
		if i == 1 {
			if err := objs[0].Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := objs[1].Lock(); err != nil {
		t.Fatal(err)
	}
	defer objs[1].Unlock()
	if ok, err := objs[2].TryLock(); ok || err != nil {
		if ok {
			_ = objs[2].Unlock()
		}
		t.Fatalf("a newcomer took the lock while another object held it (%v): the maker's Close removed the lock in use", err)
	}
}

// TestFailedCreateCloseDoesNotWait (adversarial review of the
// create-then-attach rule): an object whose Create failed beside a segment
// whose lock was gone (so the Create made the lock, and keeps it bound)
// and that never attached does not wait in Close for the lock another
// object holds: only its made lock is at stake, and a lock held is in use.
// The context is a watchdog: the right code returns at once.
func TestFailedCreateCloseDoesNotWait(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	k := testShmKey(t, qipc.SystemV, false)
	mustCreate(t, k, 64)
	if err := qipc.RemoveSemaphore(k.LockKey()); err != nil { // as a Qt creator's destructor does
		t.Fatal(err)
	}
	x := qipc.NewSharedMemory(k)
	if err := x.Create(64, qipc.ReadWrite); !errors.Is(err, qipc.ErrAlreadyExists) {
		t.Fatalf("Create beside the segment: %v, want AlreadyExists", err)
	}
	holder := qipc.NewSharedMemory(k)
	defer closeWithin(t, holder)
	if err := holder.Attach(qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := x.CloseContext(ctx); err != nil {
		t.Errorf("Close of an object whose Create failed, while another object holds the lock: %v, want nil at once", err)
	}
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
}
