//go:build linux

package procs

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestLeaseOpenerGetsRemovedFile (adversarial review of issue 25):
// `qipc clean --stale` removes a POSIX segment or semaphore file inside
// WhileUnused, "so that an opener waits" (README: "a POSIX file under a
// write lease, so an opener waits"). But the opener's path was resolved
// before it waited: once the lease goes, its open completes on the file
// the clean-up unlinked. It then attaches a removed segment (or maps a
// removed lock semaphore, while the next creator makes a new one under
// the name: two locks for one key), where without the lease it would have
// got ENOENT and created or retried. The barrier is the kernel's own: the
// SIGIO it sends the lease holder when the opener's open breaks the lease.
func TestLeaseOpenerGetsRemovedFile(t *testing.T) {
	t.Skip("known break, issue 25 still open: an open that waits on the lease completes on the removed file; the fix (remove by a rename checked against the lease before the unlink) is not built yet")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 missing")
	}
	path := DevShm + "/qipct_lease_" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(path, make([]byte, 64), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	sigio := make(chan os.Signal, 1)
	signal.Notify(sigio, syscall.SIGIO)
	defer signal.Stop(sigio)

	var opener *exec.Cmd
	var out *bufio.Reader
	lease, err := WhileUnused(path, uint64(st.Dev), st.Ino, func() error {
		// A peer attaches (shm_open and sem_open open without
		// O_NONBLOCK) while the clean-up holds the lease.
		opener = exec.Command(python, "-c", `
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
print("nlink", os.fstat(fd).st_nlink, flush=True)
`, path)
		pipe, err := opener.StdoutPipe()
		if err != nil {
			return err
		}
		opener.Stderr = os.Stderr
		if err := opener.Start(); err != nil {
			return err
		}
		out = bufio.NewReader(pipe)
		<-sigio // the opener's open is waiting on the lease
		return os.Remove(path)
	})
	if lease != LeaseGranted || err != nil {
		t.Fatalf("WhileUnused: lease %d, %v", lease, err)
	}
	line, _ := out.ReadString('\n')
	opener.Wait()
	line = strings.TrimSpace(line)
	t.Logf("opener: %q", line)
	if line == "nlink 0" {
		t.Fatalf("a peer that opened the file while the clean-up held the lease got the file the clean-up removed (%s): it attaches a dead segment instead of failing with ENOENT", line)
	}
}
