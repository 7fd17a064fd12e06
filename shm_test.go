package qipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

func TestSharedMemoryLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 100)
		if !m.IsAttached() || m.Size() < 100 {
			t.Fatalf("after Create: attached=%v size=%d", m.IsAttached(), m.Size())
		}
		for i, b := range m.Data() {
			if b != 0 {
				t.Fatalf("new segment byte %d = %d, want zero-filled", i, b)
			}
		}
		copy(m.Data(), "shared")

		other := NewSharedMemory(k)
		defer closeWithin(t, other)
		if err := other.Attach(ReadOnly); err != nil {
			t.Fatal(err)
		}
		if got := string(other.Data()[:6]); got != "shared" {
			t.Fatalf("attacher reads %q", got)
		}
		if err := other.Attach(ReadOnly); !errors.Is(err, ErrAttached) {
			t.Errorf("second Attach: %v, want ErrAttached", err)
		}
		if err := other.Detach(); err != nil {
			t.Fatal(err)
		}
		if other.Data() != nil || other.Size() != 0 || other.IsAttached() {
			t.Error("detached object still reports a mapping")
		}
		err := other.Detach()
		if !errors.Is(err, ErrNotAttached) || KindOf(err) != NotFound {
			t.Errorf("double Detach: %v", err)
		}
		if err := NewSharedMemory(k).Create(100, ReadWrite); !errors.Is(err, ErrAlreadyExists) || !errors.Is(err, fs.ErrExist) {
			t.Errorf("Create of an existing segment: %v, want ErrAlreadyExists", err)
		}
	})
}

func TestSharedMemoryBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		for _, size := range []int{0, -1} {
			m := NewSharedMemory(k)
			err := m.Create(size, ReadWrite)
			if !errors.Is(err, ErrInvalidSize) || QtErrorString(err) != "QSharedMemory::create: create size is less then 0" ||
				!strings.Contains(err.Error(), fmt.Sprintf("size %d: a segment needs at least one byte", size)) {
				t.Errorf("Create(%d): %v / %q", size, err, QtErrorString(err))
			}
			m.Close()
		}
		m := NewSharedMemory(k)
		if err := m.Attach(ReadWrite); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Attach of a missing segment: %v", err)
		}
		if err := NewSharedMemory(Key{Type: typ}).Create(10, ReadWrite); !errors.Is(err, ErrKey) {
			t.Errorf("empty key: %v", err)
		}
		if err := NewSharedMemory(Key{Type: 0x4242, Native: "x"}).Create(10, ReadWrite); !errors.Is(err, ErrKey) {
			t.Errorf("invalid type: %v", err)
		}
		fresh := NewSharedMemory(k)
		if err := fresh.Lock(); !errors.Is(err, ErrLock) {
			t.Errorf("Lock before Attach: %v", err)
		}
		if err := fresh.Unlock(); !errors.Is(err, ErrLock) || !errors.Is(err, ErrNotLocked) {
			t.Errorf("Unlock without Lock: %v", err)
		}
		if err := fresh.Close(); err != nil {
			t.Errorf("Close of an unused object: %v", err)
		}
		for name, err := range map[string]error{
			"Create": fresh.Create(10, ReadWrite), "Attach": fresh.Attach(ReadWrite),
			"Lock": fresh.Lock(), "Close": fresh.Close(),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
	})
}

// TestHolderKeepsMappingAfterRemoval: a mapping outlives the removal of its
// segment by another process.
func TestHolderKeepsMappingAfterRemoval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		if typ == Windows {
			t.Skip("Windows has no removal: the OS destroys a mapping with its last handle (windows_test.go)")
		}
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 32)
		copy(m.Data(), "before")
		if err := RemoveSharedMemory(k); err != nil {
			t.Fatal(err)
		}
		copy(m.Data()[6:], "after")
		if got := string(m.Data()[:11]); got != "beforeafter" {
			t.Fatalf("mapping after removal reads %q", got)
		}
		if err := NewSharedMemory(k).Attach(ReadOnly); !errors.Is(err, ErrNotFound) {
			t.Errorf("Attach after removal: %v", err)
		}
	})
}

// One object shared by goroutines: Lock excludes them from each other as
// it excludes other processes.
func TestGoroutinesShareOneObject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		const workers, rounds = 8, 500
		m := mustCreate(t, testShmKey(t, typ, false), 8)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					if err := m.Lock(); err != nil {
						t.Error(err)
						return
					}
					d := m.Data()
					binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(d)+1)
					if err := m.Unlock(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if got := binary.LittleEndian.Uint64(m.Data()); got != workers*rounds {
			t.Fatalf("counter = %d, want %d", got, workers*rounds)
		}
	})
}

// TestLockedGivesLockBack: whatever fn does (return an error, panic), Locked
// gives the lock back, and fn ran with the lock held.
func TestLockedGivesLockBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 8)
		other := NewSharedMemory(k)
		defer closeWithin(t, other)
		if err := other.Attach(ReadWrite); err != nil {
			t.Fatal(err)
		}
		errFn := errors.New("fn failed")
		err := m.Locked(context.Background(), func(data []byte) error {
			if ok, _ := other.TryLock(); ok {
				t.Error("TryLock succeeded while Locked ran fn")
				_ = other.Unlock()
			}
			copy(data, "locked")
			return errFn
		})
		if !errors.Is(err, errFn) {
			t.Fatalf("Locked: %v, want fn's error", err)
		}
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v, want fn's panic", r)
				}
			}()
			_ = m.Locked(context.Background(), func([]byte) error { panic("boom") })
		}()
		if ok, err := other.TryLock(); !ok || err != nil {
			_ = m.Unlock() // or other's Close would wait for the lock
			t.Fatalf("TryLock after Locked returned and panicked: %v %v", ok, err)
		}
		_ = other.Unlock()
		buf := make([]byte, 6)
		if _, err := other.ReadAt(buf, 0); err != nil || string(buf) != "locked" {
			t.Fatalf("ReadAt: %q %v", buf, err)
		}
	})
}

func forEachBackend(t *testing.T, fn func(t *testing.T, typ KeyType)) {
	for _, bt := range backendTypes {
		t.Run(bt.name, func(t *testing.T) {
			if _, err := backendFor("test", Key{Type: bt.typ}); err != nil {
				t.Skipf("%s backend not in this build", bt.name)
			}
			fn(t, bt.typ)
		})
	}
}

// backendTypes are the key types the shared tests run for; a type whose
// backend is not in this build skips.
var backendTypes = []struct {
	name string
	typ  KeyType
}{
	{"posix", PosixRealtime},
	{"systemv", SystemV},
	{"windows", Windows},
}
