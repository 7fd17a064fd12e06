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

// TestDetachKeepsCallersLock: Detach while Lock is held keeps the lock
// (COMPAT.md #14). Qt's detach() takes the lock through an internal locker
// that finds it already taken and then unlocks it on the way out, so a Qt
// caller's lock is free after detach(): shown here with Qt 5.15, 6.4 and
// PySide6 (the Go process takes the lock the peer thought it held).
func TestDetachKeepsCallersLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(typ.String()+"/go", func(t *testing.T) {
			skipWithoutBackend(t, typ)
			k := testShmKey(t, typ, false)
			mustCreate(t, k, 8)
			m := NewSharedMemory(k)
			defer m.Close()
			if err := m.Attach(ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); err != nil {
				t.Fatal(err)
			}
			if n, ok := lockCount(t, k); ok && n != 0 {
				t.Fatalf("lock count %d after Detach under Lock, want 0 (still held)", n)
			}
			if err := m.Unlock(); err != nil {
				t.Fatalf("Unlock after Detach: %v", err)
			}
			if n, ok := lockCount(t, k); ok && n != 1 {
				t.Fatalf("lock count %d after Unlock, want 1", n)
			}
		})
	}
	for _, tc := range []struct {
		peer string
		typ  KeyType
	}{{"qt5", SystemV}, {"qt6.4", SystemV}, {"pyside6", SystemV}, {"pyside6", PosixRealtime}} {
		t.Run(tc.typ.String()+"/"+tc.peer, func(t *testing.T) {
			skipWithoutBackend(t, tc.typ)
			p := peerNamed(tc.peer)
			p.require(t)
			k := testShmKey(t, tc.typ, tc.peer == "qt5" || tc.peer == "qt6.4")
			mustCreate(t, k, 8)
			pr := p.start(t, "lock-detach", k)
			expectLine(t, tc.peer+" lock-detach", pr.line(), "ok detached")
			if n, ok := lockCount(t, k); ok && n != 1 {
				t.Fatalf("lock count %d after %s's detach under lock(), want 1 (released)", n, tc.peer)
			}
			pr.send("go")
			expectLine(t, tc.peer+" unlock", pr.line(), "ok unlock=false")
		})
	}
}
