//go:build linux

package systest

import (
	"github.com/qipc-go/qipc"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Interop with Python's posix_ipc and sysv_ipc, which know nothing of Qt:
// they reach the same objects by the POSIX name and by ftok(key file, 'Q').

func requirePython(t *testing.T, module string) {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import "+module).CombinedOutput(); err != nil {
		msg := module + " is not importable (pip install " + strings.ReplaceAll(module, "_", "-") + "): " + strings.TrimSpace(string(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// python runs a script with args and returns its trimmed output.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command("python3", append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

const pyPosixRead = `
import sys, mmap, posix_ipc
shm = posix_ipc.SharedMemory(sys.argv[1])
size = shm.size
m = mmap.mmap(shm.fd, size); shm.close_fd()
sem = posix_ipc.Semaphore(sys.argv[1])
print(m[:5].decode(), size, sem.value)
sem.release(); sem.close()
`

const pyPosixCreate = `
import sys, mmap, posix_ipc
shm = posix_ipc.SharedMemory(sys.argv[1], posix_ipc.O_CREX, mode=0o600, size=64)
m = mmap.mmap(shm.fd, shm.size); shm.close_fd()
m[:6] = b"python"
print("ok")
`

func TestPosixIPCInterop(t *testing.T) {
	skipWithoutBackend(t, qipc.PosixRealtime)
	if testLibc() == "musl" {
		t.Skip("musl build: POSIX semaphores are libc-specific, and Python's posix_ipc uses glibc's")
	}
	if strconv.IntSize == 32 {
		t.Skip("32-bit build: glibc lays out a 32-bit process's sem_t otherwise, and Python's posix_ipc is a 64-bit process")
	}
	requirePython(t, "posix_ipc")

	t.Run("go-creates", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, false)
		m := mustCreate(t, k, 64)
		copy(m.Data(), "hello")
		// The lock semaphore is free (1) and posix_ipc releases it once more.
		if got := python(t, pyPosixRead, k.Native); got != "hello 64 1" {
			t.Fatalf("posix_ipc read %q", got)
		}
		lock, err := qipc.NewSemaphore(k.LockKey(), 0, qipc.SemaphoreOpen, qipc.WithoutCleanup())
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		if v, err := lock.Value(); v != 2 || err != nil {
			t.Fatalf("lock count after posix_ipc's release = %d, %v; want 2", v, err)
		}
		if err := lock.Acquire(); err != nil { // back to a mutex for Close
			t.Fatal(err)
		}
	})
	t.Run("python-creates", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, false)
		if got := python(t, pyPosixCreate, k.Native); got != "ok" {
			t.Fatal(got)
		}
		m := qipc.NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(qipc.ReadOnly); err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data()[:6]); got != "python" || m.Size() != 64 {
			t.Fatalf("Go reads %q, size %d", got, m.Size())
		}
	})
}

const pySysvRead = `
import sys, sysv_ipc
key = sysv_ipc.ftok(sys.argv[1], int(sys.argv[2]), silence_warning=True)
shm = sysv_ipc.SharedMemory(key)
print(shm.read(5).decode(), shm.size, shm.number_attached)
shm.detach()
sem = sysv_ipc.Semaphore(sysv_ipc.ftok(sys.argv[3], int(sys.argv[2]), silence_warning=True))
print(sem.value)
`

const pySysvCreate = `
import sys, sysv_ipc
open(sys.argv[1], "a").close()
key = sysv_ipc.ftok(sys.argv[1], int(sys.argv[2]), silence_warning=True)
shm = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, mode=0o600, size=64)
shm.write(b"python")
shm.detach()
print("ok")
`

func TestSysvIPCInterop(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	requirePython(t, "sysv_ipc")

	for _, tc := range []struct {
		name   string
		typ    qipc.KeyType
		legacy bool
	}{{"legacy", qipc.SystemV, true}, {"systemv-84", qipc.SystemVWithID(84), false}} {
		t.Run("go-creates-"+tc.name, func(t *testing.T) {
			k := testShmKey(t, tc.typ, tc.legacy)
			m := mustCreate(t, k, 64)
			copy(m.Data(), "hello")
			got := python(t, pySysvRead, k.Native, strconv.Itoa(int(k.Type)), k.LockKey().Native)
			if want := "hello 64 2\n1"; got != want {
				t.Fatalf("sysv_ipc by ftok key: %q, want %q", got, want)
			}
		})
		t.Run("python-creates-"+tc.name, func(t *testing.T) {
			k := testShmKey(t, tc.typ, tc.legacy)
			if got := python(t, pySysvCreate, k.Native, strconv.Itoa(int(k.Type))); got != "ok" {
				t.Fatal(got)
			}
			m := qipc.NewSharedMemory(k)
			if err := m.Attach(qipc.ReadWrite); err != nil {
				t.Fatal(err)
			}
			if got := string(m.Data()[:6]); got != "python" || m.Size() != 64 {
				t.Fatalf("Go reads %q, size %d", got, m.Size())
			}
			// The last detach removes what Python made, key file included,
			// as Qt's would.
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(k.Native); !os.IsNotExist(err) {
				t.Fatalf("key file after the last detach: %v", err)
			}
		})
	}
}
