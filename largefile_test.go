//go:build cgo && linux

package qipc

import (
	"os/exec"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
)

// TestFarFutureFileTimes: key files and a segment's and a lock's files
// whose times do not fit 32 bits (2040 here; any peer can set them) do
// not stop another object from attaching and locking. On 32-bit Linux the
// C shims' stat calls failed with EOVERFLOW until they were built with
// 64-bit file offsets and times, as Qt is (make test-386 runs this there).
func TestFarFutureFileTimes(t *testing.T) {
	far := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			skipWithoutBackend(t, typ)
			k := testShmKey(t, typ, false)
			// Made and left, so that the Attach below opens and maps the
			// files itself instead of sharing this process's mapping.
			m := NewSharedMemory(k, WithoutCleanup())
			if err := m.Create(16, ReadWrite); err != nil {
				t.Fatal(err)
			}
			closeWithin(t, m)
			files := []string{k.Native, k.LockKey().Native} // System V: the key files
			if typ == PosixRealtime {
				files = []string{"/dev/shm" + k.Native, glibcsem.SemFile(k.LockKey().Native)}
			}
			// touch, a 64-bit program here: Go's own Chtimes on 32-bit
			// Linux cannot name a time after 2038.
			if out, err := exec.Command("touch", append([]string{"-d", far.Format(time.RFC3339)}, files...)...).CombinedOutput(); err != nil {
				t.Fatalf("touch: %v %s", err, out)
			}
			m2 := NewSharedMemory(k)
			if err := m2.Attach(ReadWrite); err != nil {
				t.Fatalf("Attach with file times in 2040: %v", err)
			}
			defer closeWithin(t, m2)
			if err := m2.Lock(); err != nil {
				t.Fatalf("Lock with file times in 2040: %v", err)
			}
			if err := m2.Unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
