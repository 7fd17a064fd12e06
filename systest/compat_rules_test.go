package systest

import (
	"context"
	"errors"
	"github.com/qipc-go/qipc"
	"testing"
)

// Qt's create() rebinds the lock semaphore in Create mode before it finds
// the segment exists, resetting (System V) or replacing (POSIX) a lock
// another process holds. qipc's Create opens the lock as it is and waits
// for it, so a failed Create leaves a working mutex behind (COMPAT.md #1).
func TestFailedCreateKeepsHeldLock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    qipc.KeyType
		legacy bool
		holder string
	}{
		{"posix-c", qipc.PosixRealtime, false, "c"},
		{"systemv-qt5", qipc.SystemV, true, "qt5"},
		{"systemv-pyside6", qipc.SystemV, false, "pyside6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipWithoutBackend(t, tc.typ)
			p := peerNamed(tc.holder)
			p.require(t)
			k := testShmKey(t, tc.typ, tc.legacy)
			expectLine(t, "create", p.start(t, "create", k, "16", "--hold").Line(), "ok size=16")
			holder, _ := p.startHolder(t, k)

			done := make(chan error)
			go func() {
				m := qipc.NewSharedMemory(k)
				defer closeWithin(t, m)
				done <- m.Create(16, qipc.ReadWrite)
			}()
			holder.Finish()
			if err := <-done; !errors.Is(err, qipc.ErrAlreadyExists) {
				t.Fatalf("Create of an existing segment: %v", err)
			}
			lock, err := qipc.NewSemaphore(k.LockKey(), 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
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
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(typ.String()+"/go", func(t *testing.T) {
			skipWithoutBackend(t, typ)
			k := testShmKey(t, typ, false)
			mustCreate(t, k, 8)
			m := qipc.NewSharedMemory(k)
			defer closeWithin(t, m)
			if err := m.Attach(qipc.ReadWrite); err != nil {
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
		typ  qipc.KeyType
	}{{"qt5", qipc.SystemV}, {"qt6.4", qipc.SystemV}, {"pyside6", qipc.SystemV}, {"pyside6", qipc.PosixRealtime}} {
		t.Run(tc.typ.String()+"/"+tc.peer, func(t *testing.T) {
			skipWithoutBackend(t, tc.typ)
			p := peerNamed(tc.peer)
			p.require(t)
			k := testShmKey(t, tc.typ, tc.peer == "qt5" || tc.peer == "qt6.4")
			mustCreate(t, k, 8)
			pr := p.start(t, "lock-detach", k)
			expectLine(t, tc.peer+" lock-detach", pr.Line(), "ok detached")
			if n, ok := lockCount(t, k); ok && n != 1 {
				t.Fatalf("lock count %d after %s's detach under lock(), want 1 (released)", n, tc.peer)
			}
			pr.Send("go")
			expectLine(t, tc.peer+" unlock", pr.Line(), "ok unlock=false")
		})
	}
}

// TestNativeKeyWithoutLock: Qt 4.4 to 6.5 have no lock for a native key
// (QSharedMemory::setNativeKey): their lock() fails with LockError and
// their create, attach and detach take none. A key from NewKey is such a
// key: with Qt 5.15 and 6.4 in both directions, the segment is shared,
// neither side makes a semaphore, and Lock fails as Qt's lock() does,
// naming ErrNoLock, instead of locking something the Qt side never takes.
// The last subtest shows what Qt 6.6+'s lock on the same native key
// (NativeLock) would promise: a Go process holds it while Qt 5 writes.
func TestNativeKeyWithoutLock(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	const data = "6e6f6c6f636b" // "nolock"
	for _, name := range []string{"qt5", "qt6.4"} {
		p := peerNamed(name)
		for _, goCreates := range []bool{true, false} {
			pair := "go→" + name
			if !goCreates {
				pair = name + "→go"
			}
			t.Run(pair, func(t *testing.T) {
				t.Cleanup(func() { recordMatrix(t, "systemv-native (Qt ≤ 6.5 setNativeKey)", "no-lock", pair) })
				p.require(t)
				withLock := testShmKey(t, qipc.SystemV, false) // its clean-up covers the key file and any semaphore on it
				k := qipc.NewKey(withLock.Native, qipc.SystemV)
				m := qipc.NewSharedMemory(k)
				defer closeWithin(t, m)
				if goCreates {
					if err := m.Create(16, qipc.ReadWrite); err != nil {
						t.Fatal(err)
					}
					if _, err := m.WriteAt([]byte("nolock"), 0); err != nil {
						t.Fatal(err)
					}
					expectLine(t, name+" read", p.run(t, "read", k, "0", "6"), "ok hex="+data)
				} else {
					startCreator(t, p, k, 16, "--init", data)
					if err := m.Attach(qipc.ReadWrite); err != nil {
						t.Fatal(err)
					}
					got := make([]byte, 6)
					if _, err := m.ReadAt(got, 0); err != nil || string(got) != "nolock" {
						t.Fatalf("ReadAt: %q, %v; want %q", got, err, "nolock")
					}
				}
				if n, ok := lockCount(t, withLock); ok {
					t.Fatalf("a semaphore (count %d) on the native key's file: Qt <= 6.5 makes none", n)
				}
				holder := p.start(t, "hold-lock", k)
				expectLine(t, name+" hold-lock", holder.Line(), "ok attached")
				qtText := expectErr(t, name+" lock()", holder.Line(), qipc.LockError)
				err := m.Lock()
				if qipc.KindOf(err) != qipc.LockError || !errors.Is(err, qipc.ErrNoLock) || qipc.QtErrorString(err) != qtText {
					t.Fatalf("Lock: %v (%v, %q); want LockError matching ErrNoLock with %s's text %q", err, qipc.KindOf(err), qipc.QtErrorString(err), name, qtText)
				}
				if ok, err := m.TryLock(); ok || !errors.Is(err, qipc.ErrNoLock) {
					t.Fatalf("TryLock: %v, %v; want false, ErrNoLock", ok, err)
				}
				if err := m.Locked(context.Background(), func([]byte) error { return nil }); !errors.Is(err, qipc.ErrNoLock) {
					t.Fatalf("Locked: %v, want ErrNoLock", err)
				}
				if _, err := qipc.RecoverLock(k); !errors.Is(err, qipc.ErrNoLock) {
					t.Fatalf("RecoverLock: %v, want ErrNoLock", err)
				}
				if err := m.Detach(); err != nil {
					t.Fatal(err)
				}
				if n, ok := lockCount(t, withLock); ok {
					t.Fatalf("a semaphore (count %d) on the native key's file after both sides ran", n)
				}
			})
		}
	}
	t.Run("qt6.6-lock-excludes-nothing", func(t *testing.T) {
		p := peerNamed("qt5")
		p.require(t)
		k := testShmKey(t, qipc.SystemV, false)
		m := mustCreate(t, k, 16)
		if err := m.Lock(); err != nil {
			t.Fatal(err)
		}
		expectLine(t, "qt5 write under Go's lock", p.run(t, "write", qipc.NewKey(k.Native, qipc.SystemV), "0", data), "ok")
		if got := string(m.Data()[:6]); got != "nolock" {
			t.Fatalf("segment holds %q, want Qt 5's write %q made while Go held the lock", got, "nolock")
		}
		if err := m.Unlock(); err != nil {
			t.Fatal(err)
		}
	})
}
