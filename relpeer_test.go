//go:build cgo && linux

package qipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The reliability peer (the test binary run again as a peer, for the
// states the protocol's peers cannot stop in), and what every reliability
// test shares: the stress scale.

// stressMode is set by `make stress`: the long versions run.
var stressMode = os.Getenv("QIPC_STRESS") == "1"

// scaled returns long under QIPC_STRESS=1, else short.
func scaled(short, long int) int {
	if stressMode {
		return long
	}
	return short
}

// The reliability peer: the test binary re-executed with QIPC_RELPEER=1
// holds the states the protocol's peers cannot stop in (a creator holding
// the lock; group permissions). It runs before TestMain.
func init() {
	if os.Getenv("QIPC_RELPEER") != "1" {
		return
	}
	os.Exit(relPeerMain(os.Args[1:]))
}

func relPeerMain(args []string) int {
	if len(args) < 3 {
		fmt.Println("err usage")
		return 2
	}
	if args[0] == "map-file" {
		return mapFileMain(args[1])
	}
	k, err := ParseKey(args[1])
	if err != nil {
		return peerFail(os.Stdout, err)
	}
	var size int
	fmt.Sscan(args[2], &size)
	wait := func() { _, _ = io.Copy(io.Discard, os.Stdin) }
	switch args[0] {
	case "explore":
		return exploreMain(args[1:])
	case "squat-loop", "victim-open", "victim-attach", "fault-hold", "fault-wait", "fault-sem":
		return semTrustPeer(args[0], k, args[2:]) // semtrust_test.go
	case "orphan-lock", "orphan-lock-live", "orphan-lock-taken":
		// What a failed Attach of an older qipc left: the lock semaphore
		// and its key file, used once, the segment never made. The live
		// variant then stays (its last user lives); the taken one makes
		// it with count 0, as a holder out of sight would leave it.
		if args[0] == "orphan-lock-taken" {
			if _, err := NewSemaphore(lockKeyFor(k), 0, SemaphoreCreate, WithoutCleanup()); err != nil {
				return peerFail(os.Stdout, err)
			}
			fmt.Println("ok")
			return 0
		}
		lock, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := lock.Acquire(); err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := lock.Release(1); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		if args[0] == "orphan-lock-live" {
			wait()
		}
		return 0
	case "attach-error":
		// What a Go program reads of a failed Attach: its kind, the io/fs
		// errors it matches and its message (the Go peer prints Qt's).
		m := NewSharedMemory(k)
		if err := m.Attach(ReadWrite); err != nil {
			fmt.Printf("err %v fs=%s %s\n", KindOf(err), fsMatches(err), err)
			return 1
		}
		fmt.Println("ok")
		return closeStatus(m.Close())
	case "attach-exit", "create0-exit":
		// A failed call and an exit without Close, as log.Fatal does.
		m := NewSharedMemory(k)
		err := m.Attach(ReadWrite)
		if args[0] == "create0-exit" {
			err = m.Create(size, ReadWrite)
		}
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		return 0
	case "open-lock":
		// Another process that has a segment's lock semaphore open (as a
		// Qt process between its attach's initKey and its lock does).
		lock, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok open")
		wait()
		return closeStatus(lock.Close())
	case "create-fsize":
		// A Create whose ftruncate fails: the file size limit is below
		// the segment's size (Go ignores SIGXFSZ; ftruncate fails EFBIG).
		lim := syscall.Rlimit{Cur: 4096, Max: 4096}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("err setrlimit", err)
			return 1
		}
		m := NewSharedMemory(k)
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		return 0
	case "lock-sigurg-ignored", "lock-sigurg-blocked":
		// A System V LockContext with a deadline where SIGURG cannot end
		// the wait: the process ignores it, or the thread blocks it.
		if args[0] == "lock-sigurg-ignored" {
			signal.Ignore(syscall.SIGURG)
		} else {
			runtime.LockOSThread()
			var set unix.Sigset_t
			set.Val[(int(syscall.SIGURG)-1)/64] |= 1 << ((uint(syscall.SIGURG) - 1) % 64)
			if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
				fmt.Println("err sigmask", err)
				return 1
			}
		}
		m := NewSharedMemory(k)
		if err := m.Attach(ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		defer m.Close()
		fmt.Println("ok attached")
		waitLine(os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := m.LockContext(ctx)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Println("ok deadline exceeded")
		case err == nil:
			fmt.Println("err took the lock (after its holder let go)")
			_ = m.Unlock()
		default:
			return peerFail(os.Stdout, err)
		}
		return 0
	case "create-perm":
		// Create with group permissions and hold, for perm_test.go.
		m := NewSharedMemory(k, WithPermissions(0o660))
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Printf("ok size=%d\n", m.Size())
		wait()
		if err := m.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		return 0
	case "inspect":
		// Inspect as another process sees it: another user, another
		// PID namespace (stale_test.go).
		u, err := Inspect(k)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Printf("ok stale=%v attached=%d reason=%s\n", u.Stale, u.Attached, u.Reason)
		return 0
	case "create-lock":
		m := NewSharedMemory(k)
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		copy(m.Data(), crashPattern)
		if err := m.Lock(); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok locked")
		wait()
		return 0
	}
	fmt.Println("err unknown command")
	return 2
}

// mapFileMain maps the file at path (a POSIX segment reached through
// another path, as a bind mount gives) and keeps only the mapping, until
// stdin closes.
func mapFileMain(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	fmt.Println("ok mapped")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return closeStatus(syscall.Munmap(b))
}

// closeStatus is a relpeer's exit status after its last Close.
func closeStatus(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	return 0
}

func relStart(t *testing.T, cmd string, k Key, size string) *proc {
	t.Helper()
	return spawn(t, "relpeer", append(selfArgv(), cmd, k.String(), size), []string{"QIPC_RELPEER=1"}, nil)
}
