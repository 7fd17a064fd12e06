//go:build linux && cgo

package systest

import (
	"encoding/binary"
	"os"
	"syscall"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"golang.org/x/sys/unix"
)

// testLibc is the C library of this test binary ("glibc", "musl").
func testLibc() string { return glibcsem.Libc }

// lockWaiters returns how many processes are blocked in the kernel waiting
// for the lock semaphore of segment key k, as the OS counts them: glibc's
// waiter count in the sem_t (POSIX; the 64-bit layout that posix_fast.go
// also reads), semctl GETNCNT (System V). ok is false where the count
// cannot be read. The lock-contention tests use it to prove that a waiter
// really waits, instead of trusting what the waiter says.
func lockWaiters(t testing.TB, k qipc.Key) (n int, ok bool) {
	t.Helper()
	return readLock(t, k, true)
}

// lockCount returns the count of the lock semaphore of segment key k
// without opening (and so without creating) it; ok is false when there is
// no such semaphore or its count cannot be read.
func lockCount(t testing.TB, k qipc.Key) (n int, ok bool) {
	t.Helper()
	return readLock(t, k, false)
}

// lockFtok is the ftok key of System V lock key lk, while its file exists.
func lockFtok(lk qipc.Key) (int32, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(lk.Native, &st); err != nil {
		return 0, false
	}
	return int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(int(lk.Type))<<24), true
}

func readLock(t testing.TB, k qipc.Key, waiters bool) (int, bool) {
	lk := k.LockKey()
	switch {
	case lk.Type == qipc.PosixRealtime:
		b, err := os.ReadFile(glibcsem.SemFile(lk.Native))
		if err != nil || len(b) < 8 || !glibcsem.OK {
			return 0, false
		}
		count, blocked := glibcsem.Value(binary.LittleEndian.Uint64(b))
		if waiters {
			return blocked, true
		}
		return count, true
	case lk.Type.IsSystemV():
		key, ok := lockFtok(lk)
		if !ok {
			return 0, false
		}
		e, found := sysvTable(t, "sem")[key]
		if !found {
			return 0, false
		}
		const getval, getncnt = 12, 14 // <sys/sem.h>
		cmd := getval
		if waiters {
			cmd = getncnt
		}
		r, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(e.id), 0, uintptr(cmd), 0, 0, 0)
		if errno != 0 {
			return 0, false
		}
		return int(r), true
	}
	return 0, false
}
