//go:build cgo && linux

package qipc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/knobs"
)

// The System V backend from inside: its probe, Qt's error texts for each
// failed step, and the raw semop path against the C shim. The backend
// against Qt's own programs is systest/sysv_test.go.

func TestSysVSupported(t *testing.T) {
	if !(sysvBackend{}).supported() {
		t.Fatal("the System V probe says unsupported on Linux")
	}
}

func TestSysVErrors(t *testing.T) {
	t.Run("missing-key-file", func(t *testing.T) {
		k := testShmKey(t, SystemV, true)
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		wantQtError(t, "Attach", m.Attach(ReadWrite), NotFound, "QSharedMemory::handle: doesn't exist")
		if _, err := os.Stat(k.Native); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Attach made the segment's key file: %v", err)
		}
	})
	t.Run("missing-segment", func(t *testing.T) {
		k := testShmKey(t, SystemV, true)
		if err := os.WriteFile(k.Native, nil, 0o640); err != nil {
			t.Fatal(err)
		}
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		wantQtError(t, "Attach", m.Attach(ReadOnly), NotFound, "QSharedMemory::attach (shmget): doesn't exist")
		// Qt 6.6+ keys: the lock makes the shared key file first.
		k6 := testShmKey(t, SystemV, false)
		m6 := NewSharedMemory(k6)
		defer closeWithin(t, m6)
		wantQtError(t, "Attach (6.6 key)", m6.Attach(ReadWrite), NotFound, "QSharedMemory::attach (shmget): doesn't exist")
	})
	t.Run("already-exists", func(t *testing.T) {
		k := testShmKey(t, SystemV, true)
		m := mustCreate(t, k, 16)
		copy(m.Data(), "kept")
		again := NewSharedMemory(k)
		defer closeWithin(t, again)
		wantQtError(t, "Create", again.Create(16, ReadWrite), AlreadyExists, "QSharedMemory::create: already exists")
		if _, err := os.Stat(k.Native); err != nil {
			t.Errorf("a failed Create removed the key file: %v", err)
		}
		if err := again.Attach(ReadOnly); err != nil {
			t.Fatal(err)
		}
		if string(again.Data()[:4]) != "kept" {
			t.Errorf("attached after AlreadyExists: %q", again.Data()[:4])
		}
	})
	t.Run("unable-to-make-key", func(t *testing.T) {
		dir := t.TempDir()
		k := NewKey(filepath.Join(dir, "missing", "qipct_key"), SystemV)
		_, err := NewSemaphore(k, 1, SemaphoreOpen)
		wantQtError(t, "NewSemaphore", err, KeyError, "QSystemSemaphore::handle:: unable to make key")
		_, err = sysvBackend{}.createSegment(k, 16, ReadWrite, 0o600)
		wantQtError(t, "createSegment", err, KeyError, "QSharedMemory::handle:: unable to make key")
		// With Qt 6.6+'s lock, the lock's key file fails first; Qt <= 6.5's
		// native key has no lock, and the segment's fails.
		err = NewSharedMemory(k).Create(16, ReadWrite)
		wantQtError(t, "Create", err, KeyError, "QSharedMemory::handle:: unable to make key")
		k.NativeLock = true
		err = NewSharedMemory(k).Create(16, ReadWrite)
		wantQtError(t, "Create", err, KeyError, "QSharedMemoryPrivate::initKey: unable to set key on lock (QSystemSemaphore::handle:: unable to make key)")
	})
	t.Run("out-of-resources", func(t *testing.T) {
		// Qt 6.4 observed: 2^46 bytes → ENOMEM → OutOfResources, and the
		// key file that create() made is unlinked.
		k := testShmKey(t, SystemV, true)
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		huge := int64(1) << 46
		if int64(int(huge)) != huge {
			t.Skip("int has 32 bits: no size reaches 2^46")
		}
		err := m.Create(int(huge), ReadWrite)
		if err == nil {
			t.Skip("this kernel grants a 64 TiB segment")
		}
		wantQtError(t, "Create(2^46)", err, OutOfResources, "QSharedMemory::create: out of resources")
		if _, err := os.Stat(k.Native); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("key file made by the failed Create is still there: %v", err)
		}
	})
	t.Run("detach-twice", func(t *testing.T) {
		m := mustCreate(t, testShmKey(t, SystemV, false), 16)
		if err := m.Detach(); err != nil {
			t.Fatal(err)
		}
		wantQtError(t, "Detach", m.Detach(), NotFound, "QSharedMemory::detach: not attached")
	})
}

// TestSysvRawSemopMatchesC: the raw semop path (sysv_fast.go) and the C
// shim give the same counts and the same errors for every non-blocking
// operation: take, take at zero, post, post past SEMVMX, and both on a set
// removed under the handle.
func TestSysvRawSemopMatchesC(t *testing.T) {
	if !sysvRawOn() {
		t.Skip("no raw semop on this platform; everything goes through C")
	}
	type step struct {
		what string
		n    int
	}
	steps := []step{{"take", -1}, {"take at zero", -1}, {"post", 1}, {"post past SEMVMX", 32767}, {"take", -1}, {"post up to SEMVMX", 32767}}
	run := func(raw bool) []string {
		old := knobs.SysvRawOff.Load()
		knobs.SysvRawOff.Store(!raw)
		defer knobs.SysvRawOff.Store(old)
		k := testSemKey(t, SystemV, false)
		s, err := NewSemaphore(k, 1, SemaphoreCreate)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h := s.cur.Load().h.(*sysvSem)
		var got []string
		for _, st := range steps {
			rc := h.op(st.n, 0)
			v, _ := s.Value()
			got = append(got, fmt.Sprintf("%s: errno %d, value %d", st.what, rc, v))
		}
		if err := RemoveSemaphore(k); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{-1, 1} {
			got = append(got, fmt.Sprintf("op %+d on a removed set: errno %d", n, h.op(n, 0)))
		}
		return got
	}
	viaC, viaRaw := run(false), run(true)
	for i := range viaC {
		if viaC[i] != viaRaw[i] {
			t.Errorf("C: %s; raw: %s", viaC[i], viaRaw[i])
		}
	}
	t.Logf("both paths: %s", strings.Join(viaRaw, "; "))
}

// TestSysvSleepersBothPaths: whether processes sleep in a set's queue
// (semctl GETNCNT, which the spin asks before it spins) reads the same
// through the raw path and through the C shim, with no sleeper and with
// one. Platforms without the raw path (32-bit Linux, macOS, the BSDs) ask
// C; when it said "none" there, a Lock sleeping on a full queue was never
// seen (TestCloseEndsSleepingLock on linux/386). The sleeper is counted
// first by Inspect's own semctl.
func TestSysvSleepersBothPaths(t *testing.T) {
	k := testSemKey(t, SystemV, false)
	s, err := NewSemaphore(k, 0, SemaphoreCreate, WithSpin(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.cur.Load().h.(*sysvSem)
	ask := func(raw bool) bool {
		old := knobs.SysvRawOff.Load()
		knobs.SysvRawOff.Store(!raw)
		defer knobs.SysvRawOff.Store(old)
		return h.sleepers()
	}
	paths := map[string]bool{"C": false}
	if sysvRawOn() {
		paths["raw"] = true
	}
	for name, raw := range paths {
		if ask(raw) {
			t.Errorf("%s: sleepers on a set nobody waits on", name)
		}
	}
	acquired := make(chan error, 1)
	go func() { acquired <- s.Acquire() }()
	for deadline := time.Now().Add(time.Minute); inspectLock(s.b, k, false).Waiters < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Acquire never slept in the queue") // a watchdog, not a timing
		}
	}
	for name, raw := range paths {
		if !ask(raw) {
			t.Errorf("%s: no sleepers while an Acquire sleeps in the queue", name)
		}
	}
	if err := s.Release(1); err != nil {
		t.Fatal(err)
	}
	if err := <-acquired; err != nil {
		t.Fatal(err)
	}
}

func wantQtError(t *testing.T, what string, err error, kind ErrorKind, text string) {
	t.Helper()
	if KindOf(err) != kind || QtErrorString(err) != text {
		t.Errorf("%s: %v %q, want %v %q", what, KindOf(err), QtErrorString(err), kind, text)
	}
}
