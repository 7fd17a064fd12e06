//go:build cgo && linux

package systest

import (
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// sysvLockKey is the ftok key that the lock of segment k has now, as the
// kernel's tables name it.
func sysvLockKey(t *testing.T, k qipc.Key) int32 {
	t.Helper()
	lk := k.LockKey()
	var st syscall.Stat_t
	if err := syscall.Stat(lk.Native, &st); err != nil {
		t.Fatalf("the lock's key file: %v", err)
	}
	return int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(int(lk.Type))<<24)
}

// waitLockWaiters waits until the kernel counts n waiters on the lock of
// k (glibc's waiter count, semctl GETNCNT).
func waitLockWaiters(t *testing.T, k qipc.Key, n int) {
	t.Helper()
	if _, ok := lockWaiters(t, k); !ok {
		t.Skip("the lock's waiters cannot be counted here")
	}
	deadline := time.Now().Add(harness.Timeout())
	for {
		if got, _ := lockWaiters(t, k); got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock never had %d waiters", n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// asInt is v as an int, where int is wide enough (not on 32-bit
// platforms, which still build these tests).
func asInt(v int64) (int, bool) { return int(v), int64(int(v)) == v }

// intOrSkip is v as an int, or skips the test where int is too narrow.
func intOrSkip(t testing.TB, v int64) int {
	n, ok := asInt(v)
	if !ok {
		t.Skipf("%d does not fit this platform's int", v)
	}
	return n
}
