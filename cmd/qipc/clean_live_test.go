//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// inPrivateIPCNamespace runs the calling test again in an IPC namespace of its
// own with a private tmpfs on /dev/shm, so that `qipc clean --stale`
// without --match (the only way it reaches objects without a key file)
// sees nothing of the machine's objects and removes nothing of them. It
// reports true in the inner run, which then does the test; the outer run
// reports the inner one's result and returns false.
func inPrivateIPCNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv("QIPC_PRIVATE_IPC_INNER") == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for an IPC and mount namespace")
	}
	o := harness.RunCmd(t, "the inner "+t.Name(), "", func() *exec.Cmd {
		c := exec.Command("unshare", "--ipc", "--mount", "--propagation", "private",
			"sh", "-c", `mount -t tmpfs qipctshm /dev/shm && exec "$0" "$@" 2>&1`,
			os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
		c.Env = append(os.Environ(), "QIPC_PRIVATE_IPC_INNER="+t.Name())
		return c
	})
	if o.Code != 0 {
		t.Fatalf("in its own IPC namespace: exit status %d\n%s%s", o.Code, o.Stdout, o.Stderr)
	}
	t.Logf("in its own IPC namespace:\n%s%s", o.Stdout, o.Stderr)
	return false
}

// runEnv runs the built qipc with env added to this process's.
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runQCmd(t, "", args, func() *exec.Cmd {
		c := exec.Command(qipcBin, args...)
		c.Env = append(os.Environ(), env...)
		return c
	})
}

// TestCleanSparesLiveCreatorsSegment (adversarial review of issue 25):
// a System V segment whose key file the scan does not find (a native key
// anywhere but the temp and runtime directories: NewKey(path, SystemV),
// Qt's setNativeKey(path), or a Qt 6.6+ key in another user's
// XDG_RUNTIME_DIR, which root's clean never looks at) is called stale
// with "no key file: no one can open it by its key any more", and clean
// removes it without the creator check it makes for other segments: a
// segment no one is attached to while its creator runs (WithoutCleanup,
// or Qt's creator between shmget and shmat) is lost with its data,
// although README says System V stale is "no one attached and the
// creator gone" and the rule is "not stale unless proven unused".
func TestCleanSparesLiveCreatorsSegment(t *testing.T) {
	if !inPrivateIPCNamespace(t) {
		return
	}
	// The application: this process creates the segment, writes, and
	// detaches; it keeps running (the creator is alive).
	k := qipc.NewKey(filepath.Join(t.TempDir(), "app.key"), qipc.SystemV)
	m := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qipc.RemoveSharedMemory(k) })
	copy(m.Data(), "precious")
	if err := m.Detach(); err != nil {
		t.Fatal(err)
	}
	u, err := qipc.Inspect(k)
	if err != nil || u.Stale {
		t.Fatalf("Inspect: %+v, %v: want not stale (its creator runs)", u, err)
	}

	// The administrator: a shell with its own TMPDIR and no
	// XDG_RUNTIME_DIR (root under sudo, say).
	admin := []string{"TMPDIR=" + t.TempDir(), "XDG_RUNTIME_DIR="}
	ls := runEnv(t, admin, "ls")
	t.Logf("qipc ls:\n%s%s", ls.out, ls.err)
	cl := runEnv(t, admin, "clean", "--stale")
	t.Logf("qipc clean --stale: exit %d\n%s%s", cl.code, cl.out, cl.err)

	m2 := qipc.NewSharedMemory(k)
	if err := m2.Attach(qipc.ReadOnly); err != nil {
		t.Fatalf("the segment of a live creator is gone after clean --stale: Attach: %v\nclean said:\n%s", err, cl.out)
	}
	defer m2.Close()
	if got := string(m2.Data()[:8]); got != "precious" {
		t.Fatalf("data: %q", got)
	}
	if strings.Contains(cl.out, "removed") {
		t.Errorf("clean removed something:\n%s", cl.out)
	}
}

// TestCleanSparesReusedKeyFile (adversarial review of issue 25): the
// grace minute protects a key file only while it is young, but Qt reuses
// an existing key file (its O_EXCL create fails with EEXIST and it goes
// on) and so does qipc. A program that crashed left its key file, an hour
// old; the program starts again and is between ftok and shmget when
// `qipc clean --stale` re-checks the file: no System V object is keyed on
// it yet, it is old, and it goes. The segment made a moment later has a
// key no file gives any more: every peer's attach fails with "doesn't
// exist". The creator is a real process (Python, ftok and shmget through
// libc), stopped between the two calls by a line on its stdin.
func TestCleanSparesReusedKeyFile(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		harness.Missing(t, "python3", "apt-get install python3")
	}
	name, match := uniqueName("reuse")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	// The leftover of a crash: Qt's empty key file, an hour old.
	if err := os.WriteFile(k.Native, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(k.Native, old, old); err != nil {
		t.Fatal(err)
	}
	creator := harness.Start(t, "creator", []string{"python3", "-c", `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
path = sys.argv[1].encode()
try:
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY, 0o640))
except FileExistsError:
    pass  # as Qt's createUnixKeyFile: an existing key file is used
key = libc.ftok(path, ord('Q'))
print("ftok", key, flush=True)
sys.stdin.readline()
shmid = libc.shmget(key, 64, 0o1000 | 0o600)
libc.shmat(shmid, None, 0)
print("created", shmid, flush=True)
sys.stdin.readline()
`, k.Native}, nil, nil)
	if l := creator.Line(); !strings.HasPrefix(l, "ftok ") {
		t.Fatalf("creator: %q", l)
	}
	cl := mustQ(t, "", "clean", "--stale", "--match", match)
	t.Logf("qipc clean --stale while the creator is between ftok and shmget:\n%s", cl)
	creator.Send("")
	l := creator.Line()
	id, err := strconv.Atoi(strings.TrimPrefix(l, "created "))
	if err != nil || id < 0 {
		t.Fatalf("creator: %q", l)
	}
	t.Cleanup(func() { shmRemoveID(id) })
	peer := qipc.NewSharedMemory(k)
	if err := peer.Attach(qipc.ReadOnly); err != nil {
		t.Fatalf("a peer cannot attach the segment the creator just made (clean removed its key file while it was between ftok and shmget): %v", err)
	}
	peer.Close()
}
