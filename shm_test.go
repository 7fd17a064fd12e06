package qipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
)

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

func mustCreate(t *testing.T, k Key, size int, opts ...Option) *SharedMemory {
	t.Helper()
	m := NewSharedMemory(k, opts...)
	if err := m.Create(size, ReadWrite); err != nil {
		t.Fatalf("Create(%d): %v", size, err)
	}
	t.Cleanup(func() { closeWithin(t, m) })
	return m
}

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

// The creator's Close removes what it created where the OS cannot count
// attachments; mappings other processes hold stay valid.
func TestCreatorCloseRemoves(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	creator := NewSharedMemory(k)
	if err := creator.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	copy(creator.Data(), "still here")
	holder := gop.start(t, "attach", k, "--hold")
	expectLine(t, "go attach", holder.Line(), "ok size=64")
	if err := creator.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/dev/shm" + k.Native); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("segment file after the creator's Close: %v", err)
	}
	if _, err := os.Stat(glibcsem.SemFile(k.Native)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock semaphore after the creator's Close: %v", err)
	}
	if err := NewSharedMemory(k).Attach(ReadOnly); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attach after removal: %v", err)
	}
	holder.Finish()

	kept := testShmKey(t, PosixRealtime, false)
	m := NewSharedMemory(kept, WithoutCleanup())
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat("/dev/shm" + kept.Native); err != nil {
		t.Errorf("WithoutCleanup: segment gone: %v", err)
	}
	again := NewSharedMemory(kept)
	defer closeWithin(t, again)
	if err := again.Attach(ReadOnly); err != nil {
		t.Errorf("WithoutCleanup: attach after Close: %v", err)
	}
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

// A write through a read-only mapping faults: Data() ends the process (a
// child proves it), WriteAt returns ErrFault.
func TestReadOnlyWriteFaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		mustCreate(t, k, 64)
		argv := append(selfArgv(), "poke-ro", k.String())
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "QIPC_PEER=go")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "fault") {
			t.Fatalf("write through a read-only mapping did not fault: %v\n%s", err, out)
		}
		// WriteAt turns the same fault into an error and the process goes on.
		ro := NewSharedMemory(k)
		defer closeWithin(t, ro)
		if err := ro.Attach(ReadOnly); err != nil {
			t.Fatal(err)
		}
		if _, err := ro.WriteAt([]byte("x"), 0); !errors.Is(err, ErrFault) {
			t.Fatalf("WriteAt through a read-only mapping: %v, want ErrFault", err)
		}
		size := ro.Size() // whole pages on Windows
		if n, err := ro.ReadAt(make([]byte, size+16), 0); n != size || err != io.EOF {
			t.Fatalf("ReadAt past the end: %d %v, want %d io.EOF", n, err, size)
		}
	})
}

func TestKilledCreatorLeavesSegment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		if typ == Windows {
			t.Skip("on Windows a killed creator's mapping vanishes with its handles: TestWindowsKilledCreator")
		}
		k := testShmKey(t, typ, false)
		creator := gop.start(t, "create", k, "64", "--hold")
		expectLine(t, "go create", creator.Line(), "ok size=64")
		expectLine(t, "go write", gop.run(t, "write", k, "0", "0102"), "ok")
		creator.Kill()
		if err := NewSharedMemory(k).Create(64, ReadWrite); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("Create after the creator was killed: %v, want ErrAlreadyExists", err)
		}
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(ReadWrite); err != nil {
			t.Fatalf("Attach after the creator was killed: %v", err)
		}
		if d := m.Data(); d[0] != 1 || d[1] != 2 {
			t.Fatalf("contents after the crash: % x", d[:2])
		}
	})
}

func TestLockContextCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 8)
		holder, _ := gop.startHolder(t, k)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.LockContext(ctx) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("LockContext after cancel: %v", err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("LockContext with a deadline: %v", err)
		}
		if ok, err := m.TryLock(); ok || err != nil {
			t.Fatalf("TryLock while held elsewhere: %v %v", ok, err)
		}
		holder.Finish()
		// Nothing was left taken by the cancelled waits: the lock is free.
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock after the holder left: %v %v", ok, err)
		}
		if err := m.Unlock(); err != nil {
			t.Fatal(err)
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

// Close from another goroutine ends a Lock that is waiting.
func TestCloseUnblocksLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 8)
		holder, _ := gop.startHolder(t, k)
		locked := make(chan error)
		go func() { locked <- m.Lock() }()
		closed := make(chan error)
		go func() { closed <- m.Close() }()
		if err := <-locked; !errors.Is(err, ErrClosed) {
			t.Fatalf("Lock during Close: %v, want ErrClosed", err)
		}
		// Close detaches under the lock, as Qt does, so it finishes once
		// the other process lets go.
		holder.Finish()
		if err := <-closed; err != nil {
			t.Fatal(err)
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
