//go:build cgo && linux

package systest

import (
	"context"
	"errors"
	"github.com/qipc-go/qipc"
	"os"
	"strings"
	"testing"
)

// TestTruncatedSegmentFault: another process cuts a 1 MiB POSIX segment to
// nothing while this one has it mapped. Data()[len-1] would kill the
// process with SIGBUS, as it kills a Qt application; ReadAt, WriteAt and
// Locked turn the fault into ErrFault, the process goes on, and Locked
// gives the lock back. The truncating peer is the Go peer, the C peer and
// the PySide6 peer (which attaches with QSharedMemory first).
func TestTruncatedSegmentFault(t *testing.T) {
	for _, who := range []string{"go", "c", "pyside6"} {
		t.Run(who, func(t *testing.T) {
			if why := peerNamed(who).posixSkip(); why != "" {
				t.Skip(why) // its attach takes this process's POSIX lock
			}
			k := testShmKey(t, qipc.PosixRealtime, false)
			m := mustCreate(t, k, 1<<20)
			const size = 1 << 20
			if _, err := m.WriteAt([]byte("end"), size-3); err != nil {
				t.Fatal(err)
			}
			expectLine(t, who+" truncate", peerNamed(who).run(t, "truncate", k, "0"), "ok")
			buf := make([]byte, 3)
			if _, err := m.ReadAt(buf, size-3); !errors.Is(err, qipc.ErrFault) {
				t.Fatalf("ReadAt past the truncation: %v, want ErrFault", err)
			}
			if _, err := m.WriteAt([]byte("x"), size-1); !errors.Is(err, qipc.ErrFault) {
				t.Fatalf("WriteAt past the truncation: %v, want ErrFault", err)
			}
			if emulated() {
				// qemu-user gives the fault no address: Locked, which runs
				// the caller's code, cannot tell it from a nil dereference.
				return
			}
			err := m.Locked(context.Background(), func(data []byte) error {
				faultSink = data[len(data)-1] // a real load, kept
				return nil
			})
			if !errors.Is(err, qipc.ErrFault) {
				t.Fatalf("Locked touching the truncated end: %v, want ErrFault", err)
			}
			other := qipc.NewSharedMemory(k)
			defer closeWithin(t, other)
			if err := other.Attach(qipc.ReadWrite); err == nil {
				t.Log("attached the truncated segment (size 0)")
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Errorf("lock count after the faulting Locked: %d, want 1 (given back)", v)
			}
		})
	}
}

var faultSink byte

// emulated reports whether this test binary runs under an emulator
// (QIPC_EXEC_PREFIX), which may differ from a kernel in what a signal says.
func emulated() bool { return os.Getenv("QIPC_EXEC_PREFIX") != "" }

// TestReplacedSegmentKeepsMapping: a segment removed and created anew
// under the same name by another process leaves this process's mapping
// (of the old one) readable: no fault, the old bytes.
func TestReplacedSegmentKeepsMapping(t *testing.T) {
	k := testShmKey(t, qipc.PosixRealtime, false)
	m := mustCreate(t, k, 4096, qipc.WithoutCleanup())
	if _, err := m.WriteAt([]byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	if err := qipc.RemoveSharedMemory(k); err != nil {
		t.Fatal(err)
	}
	expectLine(t, "c create", peerNamed("c").start(t, "create", k, "16", "--hold", "--init", "6e6577").Line(), "ok size=16")
	buf := make([]byte, 3)
	if n, err := m.ReadAt(buf, 0); n != 3 || err != nil || string(buf) != "old" {
		t.Fatalf("ReadAt of the replaced segment's mapping: %q %d %v", buf, n, err)
	}
}

// TestFailedCallsLeaveNothing: a child process whose Attach or Create
// fails exits at once, without Close (log.Fatal's way); nothing it made
// may remain: no lock semaphore, no key file. On every Unix backend and
// key kind.
func TestFailedCallsLeaveNothing(t *testing.T) {
	for _, bc := range []struct {
		name   string
		typ    qipc.KeyType
		legacy bool
	}{{"posix", qipc.PosixRealtime, false}, {"posix-legacy", qipc.PosixRealtime, true}, {"systemv", qipc.SystemV, false}, {"systemv-legacy", qipc.SystemV, true}} {
		t.Run(bc.name, func(t *testing.T) {
			k := testShmKey(t, bc.typ, bc.legacy)
			before := objectsNamed(t, k)
			for _, call := range []string{"attach-exit", "create0-exit"} {
				c := relStart(t, call, k, "0")
				if l := c.Line(); !strings.HasPrefix(l, "err ") {
					t.Fatalf("%s: %q, want an err line", call, l)
				}
				c.Finish()
				if after := objectsNamed(t, k); strings.Join(after, ",") != strings.Join(before, ",") {
					t.Errorf("%s left %v behind", call, after)
				}
			}
		})
	}
}

// objectsNamed lists the files and System V sets of key k and its lock.
func objectsNamed(t *testing.T, k qipc.Key) []string {
	t.Helper()
	var out []string
	for _, kk := range []qipc.Key{k, k.LockKey()} {
		for _, p := range []string{kk.Native, "/dev/shm" + kk.Native, "/dev/shm/sem." + strings.TrimPrefix(kk.Native, "/")} {
			if _, err := os.Stat(p); err == nil && strings.Contains(p, "qipct") {
				out = append(out, p)
			}
		}
	}
	return append(out, sysvLeftOf(t, k)...)
}
