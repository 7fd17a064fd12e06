//go:build linux && cgo

package systest

import (
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
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

func readLock(t testing.TB, k qipc.Key, waiters bool) (int, bool) {
	t.Helper()
	switch lk := k.LockKey(); {
	case lk.Type == qipc.PosixRealtime:
		return harness.SemCount(lk.Native, "", 0, waiters)
	case lk.Type.IsSystemV():
		return harness.SemCount("", lk.Native, int(lk.Type), waiters)
	}
	return 0, false
}
