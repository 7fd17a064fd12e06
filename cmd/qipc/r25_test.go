//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
)

// inR25Namespace runs the calling test again in an IPC namespace of its
// own with a private tmpfs on /dev/shm, so that `qipc clean --stale`
// without --match (the only way it reaches objects without a key file)
// sees nothing of the machine's objects and removes nothing of them. It
// reports true in the inner run, which then does the test; the outer run
// reports the inner one's result and returns false.
func inR25Namespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv("QIPC_R25_INNER") == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for an IPC and mount namespace")
	}
	c := exec.Command("unshare", "--ipc", "--mount", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs r25shm /dev/shm && exec "$0" "$@"`,
		os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	c.Env = append(os.Environ(), "QIPC_R25_INNER="+t.Name())
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	if err != nil {
		t.Fatalf("in its own IPC namespace: %v\n%s", err, out.String())
	}
	t.Logf("in its own IPC namespace:\n%s", out.String())
	return false
}

// runEnv runs the built qipc with env added to this process's.
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	c := exec.Command(qipcBin, args...)
	c.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	r := result{out: o.String(), err: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run qipc %v: %v", args, err)
	}
	return r
}

// TestR25CleanSparesLiveCreatorsSegment (adversarial review of issue 25):
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
func TestR25CleanSparesLiveCreatorsSegment(t *testing.T) {
	if !inR25Namespace(t) {
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
