package qipc

import (
	"errors"
	"testing"
)

// Qt's create() rebinds the lock semaphore in Create mode before it finds
// the segment exists, resetting (System V) or replacing (POSIX) a lock
// another process holds. qipc's Create opens the lock as it is and waits
// for it, so a failed Create leaves a working mutex behind (COMPAT.md #1).
func TestFailedCreateKeepsHeldLock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    KeyType
		legacy bool
		holder string
	}{
		{"posix-c", PosixRealtime, false, "c"},
		{"systemv-qt5", SystemV, true, "qt5"},
		{"systemv-pyside6", SystemV, false, "pyside6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipWithoutBackend(t, tc.typ)
			p := peerNamed(tc.holder)
			p.require(t)
			k := testShmKey(t, tc.typ, tc.legacy)
			expectLine(t, "create", p.start(t, "create", k, "16", "--hold").line(), "ok size=16")
			holder, _ := p.startHolder(t, k)

			done := make(chan error)
			go func() {
				m := NewSharedMemory(k)
				defer m.Close()
				done <- m.Create(16, ReadWrite)
			}()
			holder.finish()
			if err := <-done; !errors.Is(err, ErrAlreadyExists) {
				t.Fatalf("Create of an existing segment: %v", err)
			}
			lock, err := NewSemaphore(lockKeyFor(k), 1, Open, WithoutCleanup())
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			if v, err := lock.Value(); v != 1 || err != nil {
				t.Fatalf("lock count after the holder left = %d, %v; want 1 (a mutex)", v, err)
			}
		})
	}
}
