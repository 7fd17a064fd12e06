package systest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
)

// The creator's Close removes what it created where the OS cannot count
// attachments; mappings other processes hold stay valid.
func TestCreatorCloseRemoves(t *testing.T) {
	k := testShmKey(t, qipc.PosixRealtime, false)
	creator := qipc.NewSharedMemory(k)
	if err := creator.Create(64, qipc.ReadWrite); err != nil {
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
	if err := qipc.NewSharedMemory(k).Attach(qipc.ReadOnly); !errors.Is(err, qipc.ErrNotFound) {
		t.Errorf("Attach after removal: %v", err)
	}
	holder.Finish()

	kept := testShmKey(t, qipc.PosixRealtime, false)
	m := qipc.NewSharedMemory(kept, qipc.WithoutCleanup())
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat("/dev/shm" + kept.Native); err != nil {
		t.Errorf("WithoutCleanup: segment gone: %v", err)
	}
	again := qipc.NewSharedMemory(kept)
	defer closeWithin(t, again)
	if err := again.Attach(qipc.ReadOnly); err != nil {
		t.Errorf("WithoutCleanup: attach after Close: %v", err)
	}
}

// A write through a read-only mapping faults: Data() ends the process (a
// child proves it), WriteAt returns ErrFault.
func TestReadOnlyWriteFaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ qipc.KeyType) {
		k := testShmKey(t, typ, false)
		mustCreate(t, k, 64)
		argv := append(goPeerArgv(t), "poke-ro", k.String())
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "QIPC_PEER=go")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "fault") {
			t.Fatalf("write through a read-only mapping did not fault: %v\n%s", err, out)
		}
		// WriteAt turns the same fault into an error and the process goes on.
		ro := qipc.NewSharedMemory(k)
		defer closeWithin(t, ro)
		if err := ro.Attach(qipc.ReadOnly); err != nil {
			t.Fatal(err)
		}
		if _, err := ro.WriteAt([]byte("x"), 0); !errors.Is(err, qipc.ErrFault) {
			t.Fatalf("WriteAt through a read-only mapping: %v, want ErrFault", err)
		}
		size := ro.Size() // whole pages on Windows
		if n, err := ro.ReadAt(make([]byte, size+16), 0); n != size || err != io.EOF {
			t.Fatalf("ReadAt past the end: %d %v, want %d io.EOF", n, err, size)
		}
	})
}

func TestKilledCreatorLeavesSegment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ qipc.KeyType) {
		if typ == qipc.Windows {
			t.Skip("on Windows a killed creator's mapping vanishes with its handles: TestWindowsKilledCreator")
		}
		k := testShmKey(t, typ, false)
		creator := gop.start(t, "create", k, "64", "--hold")
		expectLine(t, "go create", creator.Line(), "ok size=64")
		expectLine(t, "go write", gop.run(t, "write", k, "0", "0102"), "ok")
		creator.Kill()
		if err := qipc.NewSharedMemory(k).Create(64, qipc.ReadWrite); !errors.Is(err, qipc.ErrAlreadyExists) {
			t.Fatalf("Create after the creator was killed: %v, want ErrAlreadyExists", err)
		}
		m := qipc.NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(qipc.ReadWrite); err != nil {
			t.Fatalf("Attach after the creator was killed: %v", err)
		}
		if d := m.Data(); d[0] != 1 || d[1] != 2 {
			t.Fatalf("contents after the crash: % x", d[:2])
		}
	})
}

func TestLockContextCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ qipc.KeyType) {
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

// Close from another goroutine ends a Lock that is waiting.
func TestCloseUnblocksLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ qipc.KeyType) {
		k := testShmKey(t, typ, false)
		m := mustCreate(t, k, 8)
		holder, _ := gop.startHolder(t, k)
		locked := make(chan error)
		go func() { locked <- m.Lock() }()
		closed := make(chan error)
		go func() { closed <- m.Close() }()
		if err := <-locked; !errors.Is(err, qipc.ErrClosed) {
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
