//go:build linux

package systest

import (
	"encoding/binary"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
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

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// rawSemWord is the sem_t word of s, read from its file.
func rawSemWord(t *testing.T, s *qipc.Semaphore) semWord {
	t.Helper()
	return semWord{t, glibcsem.SemFile(s.Key().Native)}
}

// semWord reads a POSIX semaphore's glibc sem_t word (count and
// sleepers) from its file, as another process sees it; a word it cannot
// read fails the test (and reads as 0).
type semWord struct {
	t    testing.TB
	path string
}

func requireSemFast(t *testing.T) {
	t.Helper()
	if !glibcsem.OK {
		t.Skip("POSIX fast path off on this system (probe failed)")
	}
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

func (w semWord) Load() uint64 {
	b, err := os.ReadFile(w.path)
	if err != nil || len(b) < 8 {
		w.t.Errorf("sem_t word of %s: %v (%d bytes)", w.path, err, len(b))
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}
