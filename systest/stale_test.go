//go:build cgo && linux

package systest

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/qipc-go/qipc"
	"golang.org/x/sys/unix"
)

// TestReplaceStale is the seed program's complaint: a saver killed before
// it could Close leaves its segment, and the next save fails with "already
// exists" as if another instance ran. Inspect tells the leftover from a
// live saver's segment; Create with WithReplaceStale replaces the leftover
// and never a live saver's segment. The savers are the Go peer and real
// Qt: Qt 5.15 (System V, legacy keys) and PySide6 (Qt 6.12: POSIX and
// System V).
func TestReplaceStale(t *testing.T) {
	for _, tc := range []struct {
		backend string
		typ     qipc.KeyType
		legacy  bool
		savers  []string
	}{
		{"posix", qipc.PosixRealtime, false, []string{"go", "pyside6"}},
		{"systemv", qipc.SystemV, false, []string{"go", "pyside6"}},
		{"systemv-legacy", qipc.SystemV, true, []string{"go", "qt5"}},
	} {
		for _, name := range tc.savers {
			t.Run(tc.backend+"/"+name, func(t *testing.T) {
				skipWithoutBackend(t, tc.typ)
				p := peerNamed(name)
				p.require(t)
				if why := p.posixSkip(); tc.typ == qipc.PosixRealtime && why != "" {
					t.Skip(why)
				}
				k := testShmKey(t, tc.typ, tc.legacy)
				saver := startCreator(t, p, k, 64, "--init", "6c697665") // "live"

				// A live saver's segment: in use, and left alone.
				u, err := qipc.Inspect(k)
				if err != nil || !u.Exists || u.Stale || u.Attached < 1 {
					t.Fatalf("Inspect of %s's live segment: %+v, %v; want it in use", name, u, err)
				}
				if tc.typ == qipc.PosixRealtime && !slices.Contains(u.Pids, saver.Cmd.Process.Pid) {
					t.Errorf("Inspect: pids %v do not name the saver %d", u.Pids, saver.Cmd.Process.Pid)
				}
				m := qipc.NewSharedMemory(k, qipc.WithReplaceStale())
				if err := m.Create(64, qipc.ReadWrite); !errors.Is(err, qipc.ErrAlreadyExists) || strings.Contains(err.Error(), "stale") {
					t.Fatalf("Create over a live saver's segment: %v; want AlreadyExists, not called stale", err)
				}
				expectLine(t, name+" read", p.run(t, "read", k, "0", "4"), "ok hex=6c697665")

				saver.Kill()
				u, err = qipc.Inspect(k)
				if err != nil || !u.Exists || !u.Stale || u.Attached != 0 {
					t.Fatalf("Inspect after the saver was killed: %+v, %v; want stale", u, err)
				}
				t.Logf("Inspect: stale: %s", u.Reason)
				// Without the option: AlreadyExists that says what to do,
				// and Qt's own text unchanged.
				err = qipc.NewSharedMemory(k).Create(64, qipc.ReadWrite)
				if !errors.Is(err, qipc.ErrAlreadyExists) || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "WithReplaceStale") ||
					!strings.HasSuffix(qipc.QtErrorString(err), ": already exists") {
					t.Fatalf("Create over the leftover: %v (Qt text %q); want AlreadyExists naming it stale and the remedy", err, qipc.QtErrorString(err))
				}
				t.Logf("Create without the option: %v", err)
				if err := m.Create(128, qipc.ReadWrite); err != nil {
					t.Fatalf("Create with WithReplaceStale over the leftover: %v", err)
				}
				defer closeWithin(t, m)
				if m.Size() < 128 || string(m.Data()[:4]) != "\x00\x00\x00\x00" {
					t.Fatalf("the new segment: size %d, starts %q; want 128 fresh bytes", m.Size(), m.Data()[:4])
				}
				// The saver's peers find the new segment, under the same lock.
				if _, err := m.WriteAt([]byte("new!"), 0); err != nil {
					t.Fatal(err)
				}
				expectLine(t, name+" read of the new segment", p.run(t, "read", k, "0", "4"), "ok hex=6e657721")
				if u, err := qipc.Inspect(k); err != nil || u.Stale || u.Attached < 1 {
					t.Fatalf("Inspect of the new segment: %+v, %v; want in use", u, err)
				}
			})
		}
	}
}

// TestStaleUnreapedCreator: a System V segment's creator killed and never
// reaped (a zombie: PID 1 of a container often reaps nothing) still has
// its /proc entry, but it cannot attach again: its segment is stale, for
// Inspect and for qipc ls alike. This test is the creator's parent and
// reaps it only at the end; waitid's WNOWAIT returns once it is a zombie
// and leaves it one.
func TestStaleUnreapedCreator(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	for _, legacy := range []bool{true, false} {
		t.Run(map[bool]string{true: "systemv-legacy", false: "systemv"}[legacy], func(t *testing.T) {
			k := testShmKey(t, qipc.SystemV, legacy)
			creator := startCreator(t, peerNamed("go"), k, 64)
			pid := creator.Cmd.Process.Pid
			if u, err := qipc.Inspect(k); err != nil || u.Stale {
				t.Fatalf("Inspect of a live creator's segment: %+v, %v; want not stale", u, err)
			}
			if err := creator.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var info unix.Siginfo
			for {
				err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
				if err == nil {
					break
				}
				if err != unix.EINTR {
					t.Fatalf("waitid %d: %v", pid, err)
				}
			}
			stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if i := strings.LastIndexByte(string(stat), ')'); err != nil || i < 0 || !strings.HasPrefix(string(stat[i:]), ") Z") {
				t.Fatalf("the killed creator %d is not a zombie: %q, %v", pid, stat, err)
			}
			u, err := qipc.Inspect(k)
			if err != nil || !u.Stale || u.Attached != 0 {
				t.Errorf("Inspect with the creator (pid %d) a zombie: %+v, %v; want stale", pid, u, err)
			}
			if o, ok := lsSegment(t, k); !ok || !o.Stale {
				t.Errorf("qipc ls with the creator (pid %d) a zombie: %+v (listed %v); want stale", pid, o, ok)
			}
			creator.Finish() // reaps it
		})
	}
}
