package qipc

import (
	"errors"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
)

// testShmKey returns a fresh segment key of type typ (a Qt 6.6+ key, or a
// legacy one that Qt 5 derives the same way) and removes the segment, its
// lock and their key files when the test ends, whatever the test did.
func testShmKey(t testing.TB, typ KeyType, legacy bool) Key {
	t.Helper()
	name := harness.Name(t)
	k := SharedMemoryKey(name, typ)
	if typ == PosixRealtime && glibcsem.Libc == "musl" {
		// musl refuses Qt 6.6+ POSIX segment keys (ErrLibcSemaphores,
		// TestMuslPosixRules); the tests of the POSIX backend use the
		// legacy derivation, whose lock has a name of its own.
		legacy = true
	}
	if legacy {
		k = LegacySharedMemoryKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, true) })
	return k
}

// skipWithoutBackend skips a test of a backend this build does not have
// (System V on Windows, everything without cgo); that is never a missing
// peer, so it skips under CI=true too.
func skipWithoutBackend(t testing.TB, typ KeyType) {
	t.Helper()
	if _, err := backendFor("test", Key{Type: typ}); err != nil {
		t.Skipf("%v keys are not available in this build: %v", typ, err)
	}
}

func requireKey(t testing.TB, k Key) {
	t.Helper()
	skipWithoutBackend(t, k.Type)
	if k.IsEmpty() {
		t.Fatalf("empty key for type %v", k.Type)
	}
}

func removeForTest(t testing.TB, k Key, segment bool) {
	var err error
	if segment {
		err = RemoveSharedMemory(k)
	} else {
		err = RemoveSemaphore(k)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("clean-up of %v: %v", k, err)
	}
}

// closeWithin closes m for a test's clean-up with a deadline: a lock left
// taken (a broken test, a killed holder) fails the test rather than
// hanging the run until -timeout.
func closeWithin(t testing.TB, m *SharedMemory) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("clean-up: Close: %v", err)
		}
	case <-time.After(harness.Timeout()):
		t.Errorf("clean-up: Close of %v did not return within %v (its lock left taken?)", m.Key(), harness.Timeout())
	}
}

// mustCreate creates a segment of size bytes under k, closed when the test
// ends.
func mustCreate(t *testing.T, k Key, size int) *SharedMemory {
	t.Helper()
	m := NewSharedMemory(k)
	if err := m.Create(size, ReadWrite); err != nil {
		t.Fatalf("Create(%d): %v", size, err)
	}
	t.Cleanup(func() { closeWithin(t, m) })
	return m
}
