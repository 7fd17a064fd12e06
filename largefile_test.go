//go:build cgo && linux

package qipc

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
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
			if _, err := exec.LookPath("touch"); err != nil {
				t.Skip("no touch (coreutils)")
			}
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

// TestSegmentBeyondAddressSpace: a POSIX segment that a 64-bit peer made
// larger than a 32-bit process can address is refused at Attach with
// OutOfResources, as a mapping that does not fit, instead of a mapping
// cut short by a 32-bit size_t (4 GiB + 4 KiB mapped as 4 KiB) or a
// negative length (2.5 GiB) that panics on the first Data.
func TestSegmentBeyondAddressSpace(t *testing.T) {
	if strconv.IntSize == 64 {
		t.Skip("a 64-bit process addresses these sizes (make test-386 runs this)")
	}
	skipWithoutBackend(t, PosixRealtime)
	for _, size := range []int64{5 << 29, 4<<30 + 4096} {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			k := testShmKey(t, PosixRealtime, false)
			m := NewSharedMemory(k, WithoutCleanup())
			if err := m.Create(4096, ReadWrite); err != nil {
				t.Fatal(err)
			}
			closeWithin(t, m)
			// What a 64-bit peer's ftruncate makes (sparse on tmpfs).
			if err := os.Truncate("/dev/shm"+k.Native, size); err != nil {
				t.Fatal(err)
			}
			m2 := NewSharedMemory(k)
			defer closeWithin(t, m2)
			err := m2.Attach(ReadWrite)
			if !errors.Is(err, ErrOutOfResources) {
				t.Fatalf("Attach of a %d-byte segment: %v (size %d), want ErrOutOfResources", size, err, m2.Size())
			}
		})
	}
}

// TestOtherWordSizeSemaphore: a POSIX semaphore file of the size that
// glibc in a process of the other word size makes (16 bytes from a 32-bit
// process, 32 from a 64-bit one) is refused with ErrLibcSemaphores, not
// used (a 32-bit glibc reads a free 64-bit lock as taken, and its wait
// never ends) nor reported as truncated, and Inspect's reader does not
// read its count. The file is left as it was.
func TestOtherWordSizeSemaphore(t *testing.T) {
	skipWithoutBackend(t, PosixRealtime)
	if glibcsem.Libc != "glibc" {
		t.Skip("glibc's sem_t sizes")
	}
	other := 16 // what a 32-bit process's glibc makes
	if strconv.IntSize == 32 {
		other = 32
	}
	k := testSemKey(t, PosixRealtime, false)
	path := glibcsem.SemFile(k.Native)
	word := make([]byte, other)
	word[0] = 2 // a count to take in either layout: 1 (32-bit, shifted) or 2 (64-bit)
	if err := os.WriteFile(path, word, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	if s, err := NewSemaphore(k, 1, SemaphoreOpen); !errors.Is(err, ErrLibcSemaphores) || !errors.Is(err, ErrKey) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("NewSemaphore on a %d-byte sem_t file: %v, want ErrLibcSemaphores", other, err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(word) {
		t.Errorf("the file after the refusal: %v %v, want it untouched", got, err)
	}
	if _, _, ok := glibcsem.ReadFile(path); ok {
		t.Error("glibcsem.ReadFile read a sem_t of the other word size")
	}
}
