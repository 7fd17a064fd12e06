//go:build cgo && linux

package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// TestStaleUnseenMappers: a POSIX segment that a live process maps is
// never called stale, whoever cannot see that process in /proc: a scanner
// in a PID namespace of its own (containers of one pod share /dev/shm,
// not PIDs), a mapper that reaches /dev/shm through a bind mount, and a
// root process mapping a user's 0600 segment, which that user may not
// inspect.
func TestStaleUnseenMappers(t *testing.T) {
	users := requirePermUsers(t)
	u := users[permUser]
	bin := permBinary(t)
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing", tool)
		}
	}
	// inspectAs runs Inspect in another process: prefix (unshare,
	// setpriv) before the test binary.
	inspectAs := func(t *testing.T, k qipc.Key, prefix ...string) string {
		t.Helper()
		argv := append(append(prefix, strings.Fields(os.Getenv("QIPC_EXEC_PREFIX"))...), bin, "inspect", k.String(), "0")
		pr := harness.StartCmd(t, "scanner", nil, func() *exec.Cmd {
			c := exec.Command(argv[0], argv[1:]...)
			c.Dir = "/"
			return c
		})
		line := pr.Line()
		pr.Finish()
		return line
	}
	asUser := []string{"setpriv", "--reuid=" + strconv.Itoa(u.uid), "--regid=" + strconv.Itoa(u.gid), "--init-groups"}
	notStale := func(t *testing.T, who, line string) {
		t.Helper()
		if !strings.HasPrefix(line, "ok stale=false") {
			t.Errorf("%s: %q; want a live segment not called stale", who, line)
		} else {
			t.Logf("%s: %s", who, line)
		}
	}

	t.Run("pid-namespace", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, true)
		mustCreate(t, k, 64) // this process maps it
		nested := []string{"unshare", "--pid", "--fork", "--mount-proc"}
		notStale(t, "Inspect in a PID namespace of its own", inspectAs(t, k, nested...))
		// Another user there may not lease root's segment: what /proc
		// cannot see leaves it unproven.
		notStale(t, "Inspect by another user in a PID namespace of its own", inspectAs(t, k, append(nested, asUser...)...))
	})

	t.Run("bind-mount", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, true)
		m := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
		if err := m.Create(4096, qipc.ReadWrite); err != nil {
			t.Fatal(err)
		}
		closeWithin(t, m)
		dir := t.TempDir()
		argv := append([]string{"unshare", "--mount", "sh", "-c", `mount --bind /dev/shm "$0" && exec "$@"`, dir},
			append(goPeerArgv(t), "map-file", filepath.Join(dir, strings.TrimPrefix(k.Native, "/")), "0")...)
		mapper := spawn(t, "mapper", argv, nil, nil)
		expectLine(t, "mapper", mapper.Line(), "ok mapped")
		got, err := qipc.Inspect(k)
		if err != nil || got.Stale || !slices.Contains(got.Pids, mapper.Cmd.Process.Pid) {
			t.Errorf("Inspect of a segment mapped through a bind mount: %+v, %v; want pid %d, not stale", got, err, mapper.Cmd.Process.Pid)
		}
		mapper.Finish()
		if got, err := qipc.Inspect(k); err != nil || !got.Stale {
			t.Errorf("Inspect once the mapper is gone: %+v, %v; want stale", got, err)
		}
	})

	t.Run("root-maps-user-segment", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, true)
		mustCreate(t, k, 64) // root maps it
		if err := os.Chown("/dev/shm"+k.Native, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
		notStale(t, "Inspect by the segment's owner", inspectAs(t, k, asUser...))
	})
}
