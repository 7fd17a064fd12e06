//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// posixSegment creates a POSIX segment of size bytes for a test, owned by
// this process, which Close (at the end of the test) removes.
func posixSegment(t *testing.T, tag string, size int) (qipc.Key, *qipc.SharedMemory) {
	t.Helper()
	name, _ := uniqueName(tag)
	k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
	cleanupKey(t, k)
	m := qipc.NewSharedMemory(k)
	if err := m.Create(size, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// With a deadline: a lock left taken (what these tests look for)
		// must fail the test, not hang the run.
		done := make(chan error, 1)
		go func() { done <- m.Close() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Errorf("clean-up: Close of %v hung (its lock left taken?)", k)
		}
	})
	return k, m
}

// lockIsFree reports whether m can take its lock now (and gives it back).
func lockIsFree(t *testing.T, m *qipc.SharedMemory) bool {
	t.Helper()
	ok, err := m.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		if err := m.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	return ok
}

// TestCopiesSurviveTruncation: `qipc cat` and `qipc write` copy under the
// Qt lock through the fault-safe path: a peer that shrinks the segment
// between their attach and their copy makes them fail with a memory fault,
// the lock given back. On 08d39ff they copied through Data and died of
// SIGBUS while holding the lock, which a POSIX lock never gets back. The
// pause library (peers/pause) stops them right after the attach's mmap.
func TestCopiesSurviveTruncation(t *testing.T) {
	pauseLib := filepath.Join(harness.BuildDir(), "libqipcpause.so")
	if _, err := os.Stat(pauseLib); err != nil {
		harness.Missing(t, pauseLib, "run `make peers`")
	}
	for _, args := range [][]string{{"cat"}, {"write", "--hex", "0102"}} {
		t.Run(args[0], func(t *testing.T) {
			k, m := posixSegment(t, args[0], 1<<20)
			c := exec.Command(qipcBin, append(append([]string{}, args[0], k.String()), args[1:]...)...)
			c.Env = append(os.Environ(), "LD_PRELOAD="+pauseLib, "QIPC_PAUSE_AT=mmap-shm")
			c.Stdout = io.Discard
			stderr, err := c.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Process.Kill() })
			sc := bufio.NewScanner(stderr)
			var errText strings.Builder
			for sc.Scan() && !strings.Contains(sc.Text(), "stopped after mmap-shm") {
				errText.WriteString(sc.Text() + "\n")
			}
			if err := os.Truncate("/dev/shm"+k.Native, 0); err != nil {
				t.Fatal(err)
			}
			waitStopped(t, c.Process.Pid)
			if err := c.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				errText.WriteString(sc.Text() + "\n")
			}
			err = c.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("qipc %s on a segment truncated under it: %v, want exit status 1\n%s", args[0], err, errText.String())
			}
			if !strings.Contains(errText.String(), "memory fault") {
				t.Errorf("qipc %s: %q, want it to name the memory fault", args[0], errText.String())
			}
			if !lockIsFree(t, m) {
				t.Fatalf("qipc %s left the lock taken", args[0])
			}
		})
	}
}

// waitStopped waits until process pid is stopped (state T).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if i := bytes.LastIndexByte(b, ')'); err == nil && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
	}
	t.Fatalf("process %d never stopped", pid)
}

// TestLockForwardsSignals: `qipc lock KEY -- CMD` passes SIGINT, SIGTERM
// and SIGHUP on to CMD, gives the lock back once CMD has ended, and exits
// with 128+signal. On 08d39ff the signal ended qipc itself, with the
// (POSIX) lock taken for good and CMD left running.
func TestLockForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			k, m := posixSegment(t, "sig", 64)
			c := exec.Command(qipcBin, "lock", k.String(), "--", "sh", "-c", "echo $$; exec sleep 300")
			stdout, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Process.Kill() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			pid, perr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || perr != nil {
				t.Fatalf("CMD's pid: %q %v %v", line, err, perr)
			}
			// CMD runs and was started by this test: end it whatever
			// happens, by its pid.
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			if lockIsFree(t, m) {
				t.Fatal("the lock is free while qipc lock runs CMD")
			}
			if err := c.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("qipc lock did not end after the signal")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("qipc lock after %v: %v, want exit status %d", sig, err, 128+int(sig))
			}
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("CMD still runs after %v", sig)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.LockContext(ctx); err != nil {
				t.Fatalf("the lock after qipc lock ended: %v", err)
			}
			_ = m.Unlock()
		})
	}
}
