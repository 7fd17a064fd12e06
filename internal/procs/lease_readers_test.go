//go:build linux

package procs

// RemoveUnused and the processes that only read a file, and its hidden
// name: the second adversarial review of 6db7b78, whose design renamed a
// name away before it knew that readers used the file. Each test failed
// on 6db7b78.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unusedFile makes a file nobody uses under DevShm and returns its path
// and stat.
func unusedFile(t *testing.T, name string) (string, syscall.Stat_t) {
	t.Helper()
	path := DevShm + "/" + name
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return path, st
}

// openReader opens the file the ways a reader does: an fd held
// O_RDONLY ("open-ro"), or a PROT_READ mapping whose fd is closed
// ("mapped-ro": a read-only attacher, or any monitor that maps a segment
// read-only), in this process (a lease counts every open file description
// alike). It returns a check that the reader's file still has a name.
func openReader(t *testing.T, path, how string) (named func() bool) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if how == "mapped-ro" {
		m, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Munmap(m) })
		// Keep an O_PATH fd to tell whether the mapped file keeps a name;
		// O_PATH opens count neither as readers nor as writers.
		pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = pfd
	}
	t.Cleanup(func() { unix.Close(fd) })
	return func() bool {
		var st unix.Stat_t
		return unix.Fstat(fd, &st) == nil && st.Nlink > 0
	}
}

// TestRemoveUnusedReaderKeepsName: a file that another process has open
// or mapped only for reading (a read-only attacher of a POSIX segment) is
// in use, and RemoveUnused says so (LeaseRefused) without ever moving its
// name. 6db7b78 took a read lease (granted: no writer), renamed the name
// away and only then asked for the write lease, three times a millisecond
// apart: for 3 ms and more every other process that opened the name (Qt's
// attach) got ENOENT. It failed on 6db7b78.
func TestRemoveUnusedReaderKeepsName(t *testing.T) {
	for _, how := range []string{"open-ro", "mapped-ro"} {
		t.Run(how, func(t *testing.T) {
			path, st := unusedFile(t, fmt.Sprintf("qipct_lease_gone_%s_%d", how, os.Getpid()))
			openReader(t, path, how)
			var missing atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					var now unix.Stat_t
					if err := unix.Lstat(path, &now); errors.Is(err, unix.ENOENT) {
						missing.Add(1)
					}
				}
			}()
			time.Sleep(time.Millisecond) // the poller runs
			lease, err := RemoveUnused(path, st.Dev, st.Ino)
			close(stop)
			wg.Wait()
			if err != nil || lease != LeaseRefused {
				t.Errorf("RemoveUnused of a file a reader uses: %v, %v; want LeaseRefused", lease, err)
			}
			if n := missing.Load(); n > 0 {
				t.Errorf("the name of a file in use (by a reader) was missing for %d looks while RemoveUnused ran: an attacher meanwhile gets NotFound, a creator makes a second segment", n)
			}
		})
	}
}

// TestRemoveUnusedReaderNoSplit: while the name of a file a reader uses is
// renamed away (above), a creator (Qt create(): shm_open O_CREAT|O_EXCL;
// Qt's lock in Open mode: sem_open O_CREAT) makes a new file under it; the
// put-back then fails (RENAME_NOREPLACE) and RemoveUnused unlinks the
// reader's file: the reader keeps a segment no name leads to, the creator
// has another. It failed on 6db7b78 (the retries left ~3 ms).
func TestRemoveUnusedReaderNoSplit(t *testing.T) {
	for _, how := range []string{"open-ro", "mapped-ro"} {
		t.Run(how, func(t *testing.T) {
			path, st := unusedFile(t, fmt.Sprintf("qipct_lease_split_%s_%d", how, os.Getpid()))
			named := openReader(t, path, how)
			var created atomic.Bool
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
					if err == nil {
						created.Store(true)
						unix.Close(fd)
						return
					}
				}
			}()
			time.Sleep(time.Millisecond)
			lease, err := RemoveUnused(path, st.Dev, st.Ino)
			close(stop)
			wg.Wait()
			t.Logf("RemoveUnused: %v, %v; a creator got in: %v", lease, err, created.Load())
			if !named() {
				t.Errorf("the reader's file lost its name (a creator made another under it while it was hidden): two segments for one name")
			}
			if created.Load() {
				t.Errorf("a creator found the name free while a reader used the file")
			}
		})
	}
}

// TestRemoveUnusedLongName: a POSIX name within NAME_MAX whose hidden name
// was not (".qipc-removing-PID-N-" + name): the rename failed with
// ENAMETOOLONG and an unused file was never removed (a lock semaphore
// swept by its last closer stayed for good). The hidden name is short now. A legacy Qt 5 name with a key of 168 to
// 193 letters is such a name. It failed on 6db7b78.
func TestRemoveUnusedLongName(t *testing.T) {
	prefix := fmt.Sprintf("qipct_lease_long_%d_", os.Getpid())
	name := prefix + strings.Repeat("x", 240-len(prefix))
	path, st := unusedFile(t, name)
	lease, err := RemoveUnused(path, st.Dev, st.Ino)
	if err != nil || lease != LeaseGranted {
		t.Errorf("RemoveUnused of an unused file with a %d-byte name: %v, %v; want LeaseGranted", len(name), lease, err)
	}
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("the unused file is still there")
	}
}
