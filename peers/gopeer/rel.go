//go:build cgo && linux

package gopeer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/knobs"
	"golang.org/x/sys/unix"
)

func relMain(args []string) int {
	if len(args) < 3 {
		fmt.Println("err usage")
		return 2
	}
	if args[0] == "map-file" {
		return mapFileMain(args[1])
	}
	k, err := qipc.ParseKey(args[1])
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
			if _, err := qipc.NewSemaphore(k.LockKey(), 0, qipc.SemaphoreCreate, qipc.WithoutCleanup()); err != nil {
				return peerFail(os.Stdout, err)
			}
			fmt.Println("ok")
			return 0
		}
		lock, err := qipc.NewSemaphore(k.LockKey(), 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
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
		m := qipc.NewSharedMemory(k)
		if err := m.Attach(qipc.ReadWrite); err != nil {
			fmt.Printf("err %v fs=%s %s\n", qipc.KindOf(err), fsMatches(err), err)
			return 1
		}
		fmt.Println("ok")
		return closeStatus(m.Close())
	case "attach-exit", "create0-exit":
		// A failed call and an exit without Close, as log.Fatal does.
		m := qipc.NewSharedMemory(k)
		err := m.Attach(qipc.ReadWrite)
		if args[0] == "create0-exit" {
			err = m.Create(size, qipc.ReadWrite)
		}
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		return 0
	case "open-lock":
		// Another process that has a segment's lock semaphore open (as a
		// Qt process between its attach's initKey and its lock does).
		lock, err := qipc.NewSemaphore(k.LockKey(), 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
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
		m := qipc.NewSharedMemory(k)
		if err := m.Create(size, qipc.ReadWrite); err != nil {
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
		m := qipc.NewSharedMemory(k)
		if err := m.Attach(qipc.ReadWrite); err != nil {
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
		m := qipc.NewSharedMemory(k, qipc.WithPermissions(0o660))
		if err := m.Create(size, qipc.ReadWrite); err != nil {
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
		u, err := qipc.Inspect(k)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Printf("ok stale=%v attached=%d reason=%s\n", u.Stale, u.Attached, u.Reason)
		return 0
	case "create-lock":
		m := qipc.NewSharedMemory(k)
		if err := m.Create(size, qipc.ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		copy(m.Data(), CrashPattern)
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

// closeStatus is a reliability command's exit status after its last Close.
func closeStatus(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	return 0
}

type ExploreResult struct {
	Incr, Ops, Locked, Violations, Faults, Canary, Errors uint64
}

// AtomicWord is the 8 bytes at off of a mapping, for accesses that the
// race detector must not mistake for races: the lock orders them, but
// through system calls it cannot see.
func AtomicWord(data []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&data[off]))
}

// semTrustPeer runs the commands of the semaphore trust tests (systest/semtrust_test.go).
func semTrustPeer(cmd string, k qipc.Key, rest []string) int {
	n := 0
	if len(rest) > 0 {
		n, _ = strconv.Atoi(rest[0])
	}
	switch cmd {
	case "squat-loop":
		return squatLoop(k)
	case "victim-open", "victim-attach":
		return victimLoop(cmd, k, n)
	case "fault-hold", "fault-wait", "fault-sem":
		return faultPeer(cmd, k)
	}
	fmt.Println("err unknown command")
	return 2
}

// fsMatches lists the io/fs errors of fsPairs that err matches, by name,
// "-" for none: what a test compares with the pair of err's kind.
func fsMatches(err error) string {
	var got []string
	for _, p := range fsPairs {
		if errors.Is(err, p.err) {
			got = append(got, p.name)
		}
	}
	if len(got) == 0 {
		return "-"
	}
	return strings.Join(got, ",")
}

// CrashPattern is what a victim writes just before its kill; every cell
// finds it afterwards.
const CrashPattern = "crashpattern"

// squatLoop is the attacker: it makes its own semaphore of k, 0666 with
// SquatCount, keeps a second link to its file, and until its stdin closes
// takes the name away and gives the same file back, again and again: a
// victim that opened the file and then looks at the name's owner finds no
// file, and one that looks again later finds the very file it opened.
// (It cannot remove a semaphore of the victim: /dev/shm is sticky.)
func squatLoop(k qipc.Key) int {
	var done atomic.Bool
	go func() {
		waitLine(os.Stdin)
		done.Store(true)
	}()
	syscall.Umask(0) // 0666 from the start, not after a chmod
	s, err := qipc.NewSemaphore(k, SquatCount, qipc.SemaphoreCreate, qipc.WithPermissions(0o666), qipc.WithoutCleanup(), qipc.WithForeignOwners())
	if err != nil {
		return peerFail(os.Stdout, err)
	}
	_ = s.Close()
	name := glibcsem.SemFile(k.Native)
	keep := name + ".keep"
	if err := os.Link(name, keep); err != nil {
		fmt.Println("err link", err)
		return 1
	}
	defer os.Remove(keep)
	fmt.Println("ok squatting")
	swaps := 0
	for !done.Load() {
		if os.Remove(name) == nil {
			swaps++
		}
		_ = os.Link(keep, name) // fails while the victim's own is there
		// There most of the time, so that the victim opens it rather
		// than making its own; gone only between the two calls above.
		for t0 := time.Now(); time.Since(t0) < 20*time.Microsecond; {
		}
	}
	_ = qipc.RemoveSemaphore(k)
	fmt.Printf("ok swaps=%d\n", swaps)
	return 0
}

// victimLoop is the victim: n opens of the semaphore k (victim-open), or n
// attaches of the segment k, which it makes first and whose lock it leaves
// to the attacker (victim-attach). It counts what it used: the attacker's
// semaphore (accepted), its own, a refusal of the attacker's (another
// owner, or its file's second name), and other errors.
func victimLoop(cmd string, k qipc.Key, n int) int {
	if cmd == "victim-attach" {
		m := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
		if err := m.Create(64, qipc.ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := errors.Join(m.Close(), qipc.RemoveSemaphore(k.LockKey())); err != nil {
			return peerFail(os.Stdout, err)
		}
		defer func() { _ = qipc.RemoveSharedMemory(k) }()
	}
	fmt.Println("ok ready")
	waitLine(os.Stdin)
	var accepted, own, refused, other int
	firstOther := ""
	for i := 0; i < n; i++ {
		var (
			value func() (int, error) // the count of the semaphore it uses
			done  func() error
			err   error
		)
		if cmd == "victim-open" {
			var sem *qipc.Semaphore
			sem, err = qipc.NewSemaphore(k, 1, qipc.SemaphoreOpen)
			value = func() (int, error) { return sem.Value() }
			done = func() error { return sem.Close() }
		} else {
			m := qipc.NewSharedMemory(k)
			err = m.Attach(qipc.ReadOnly)
			value = func() (int, error) { return knobs.LockValue(m) }
			done = func() error {
				// The victim's own lock would keep the attacker out for
				// good (sticky /dev/shm): it goes, unless it is the
				// attacker's, which this user cannot remove.
				return errors.Join(m.Close(), qipc.RemoveSemaphore(k.LockKey()))
			}
		}
		switch {
		case errors.Is(err, qipc.ErrForeignOwner), errors.Is(err, qipc.ErrKeyFileNotRegular):
			// Another user's, or a file with a second name: the
			// attacker's keeps one (its keep link), which musl's
			// victims meet more often than glibc's.
			refused++
			continue
		case err != nil:
			if other++; firstOther == "" {
				firstOther = err.Error()
			}
			continue
		}
		if v, verr := value(); verr == nil && v == SquatCount {
			accepted++
		} else {
			own++
		}
		_ = done()
	}
	if firstOther != "" {
		fmt.Fprintln(os.Stderr, "first other error:", firstOther)
	}
	fmt.Printf("ok accepted=%d own=%d refused=%d other=%d\n", accepted, own, refused, other)
	return 0
}

// faultPeer uses a POSIX lock (fault-hold, fault-wait) or a bare
// semaphore (fault-sem) whose file the test truncates between two lines,
// and reports each call afterwards; it must live to print "ok survived".
func faultPeer(cmd string, k qipc.Key) int {
	say := func(call string, err error) { fmt.Println(call, faultWord(err)) }
	if cmd == "fault-sem" {
		s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok ready")
		waitLine(os.Stdin) // truncated now
		say("release", s.Release(1))
		_, err = s.TryAcquire()
		say("tryacquire", err)
		say("acquire", s.Acquire())
		_, err = s.Value()
		say("value", err)
		say("close", s.Close())
		fmt.Println("ok survived")
		return 0
	}
	m := qipc.NewSharedMemory(k)
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		return peerFail(os.Stdout, err)
	}
	if err := m.Lock(); err != nil {
		return peerFail(os.Stdout, err)
	}
	if cmd == "fault-wait" {
		// Another object's Attach waits for the lock this one holds,
		// asleep in the kernel when the file goes; a cancel ends the wait.
		m2 := qipc.NewSharedMemory(k)
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error)
		go func() { res <- m2.AttachContext(ctx, qipc.ReadOnly) }()
		fmt.Println("ok waiting")
		waitLine(os.Stdin) // truncated now
		cancel()
		say("attach", <-res)
		say("close2", m2.Close())
	} else {
		fmt.Println("ok locked")
		waitLine(os.Stdin) // truncated now
	}
	say("unlock", m.Unlock())
	_, err := m.TryLock()
	say("trylock", err)
	say("lock", m.Lock())
	say("close", m.Close())
	fmt.Println("ok survived")
	return 0
}

// fsPairs are the io/fs errors the doc of Error.Is pairs with kinds.
var fsPairs = []struct {
	kind qipc.ErrorKind
	err  error
	name string
}{
	{qipc.NotFound, fs.ErrNotExist, "fs.ErrNotExist"},
	{qipc.AlreadyExists, fs.ErrExist, "fs.ErrExist"},
	{qipc.PermissionDenied, fs.ErrPermission, "fs.ErrPermission"},
}

// SquatCount is the count the attacker's semaphores have, which no
// semaphore of the victim has: a victim that reads it uses the attacker's.
const SquatCount = 5

// faultWord is how the fault peer reports one call's result.
func faultWord(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, qipc.ErrFault):
		return "fault"
	}
	return err.Error()
}
