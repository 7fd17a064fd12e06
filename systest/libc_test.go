//go:build cgo && linux

package systest

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
)

// TestLibcRules: what this build's C library allows, and that the library
// says so. glibc: the lock-free sem_t path is on (64-bit). musl: it is off;
// a Qt 6.6+ POSIX segment key is refused before any call, because musl
// would put its lock semaphore in the segment's own file; legacy POSIX keys
// and semaphores work among musl processes.
func TestLibcRules(t *testing.T) {
	switch testLibc() {
	case "glibc":
		if (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && !glibcsem.OK {
			t.Error("64-bit glibc, but the probe turned the lock-free sem_t path off")
		}
	case "musl":
		if glibcsem.OK {
			t.Fatal("musl build with glibc's lock-free sem_t path on")
		}
		name := harness.Name(t)
		k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
		err := qipc.NewSharedMemory(k).Create(64, qipc.ReadWrite)
		if !errors.Is(err, qipc.ErrLibcSemaphores) || !errors.Is(err, qipc.ErrKey) || !strings.Contains(err.Error(), "musl") {
			t.Errorf("Create with a Qt 6.6+ POSIX key on musl: %v, want a KeyError saying why", err)
		}
		if _, err := os.Stat("/dev/shm/" + name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused Create left /dev/shm/%s (%v)", name, err)
			_ = os.Remove("/dev/shm/" + name)
		}
		m := mustCreate(t, testShmKey(t, qipc.PosixRealtime, true), 64)
		if err := m.Lock(); err != nil {
			t.Fatal(err)
		}
		if err := m.Unlock(); err != nil {
			t.Fatal(err)
		}
		s, err := qipc.NewSemaphore(testSemKey(t, qipc.PosixRealtime, false), 2, qipc.SemaphoreCreate)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Acquire(); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Value(); v != 1 || err != nil {
			t.Errorf("musl semaphore: value %d, %v; want 1", v, err)
		}
	default:
		t.Skipf("no libc rules to check for %q", testLibc())
	}
}
