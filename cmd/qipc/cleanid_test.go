//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qipc-go/qipc/internal/harness"
)

// TestCleanIDSyntax: an --id that can name no object is a usage error, not
// "nothing stale to remove" (adversarial review of issue 30's change).
func TestCleanIDSyntax(t *testing.T) {
	for _, id := range []string{":5", "+5", "05", "sysv-sem:+5", "sysv-shm:-1", "sysv-sem:007"} {
		if err := (selection{id: id}).check(); err == nil {
			t.Errorf("--id %q accepted, but selects nothing ever", id)
		}
	}
}

// TestCleanIDSparesCountingSemaphore (adversarial review of issue 30's
// change): a Qt-style System V set (ftok project 'Q') whose key file lies
// outside the directories scanned (a subdirectory, another TMPDIR, a
// service's PrivateTmp), used as a counting semaphore: process A holds a
// count (SEM_UNDO), process B took one and exited, so the set's last pid
// is B's, gone. --id overrules the missing key file only for a free lock
// (count 1), so clean --stale --id leaves this set, whose count is 2.
func TestCleanIDSparesCountingSemaphore(t *testing.T) {
	py := filepath.Join(harness.BuildDir(), "venv", "bin", "python3")
	if exec.Command(py, "-c", "import sysv_ipc").Run() != nil {
		harness.Missing(t, py+" with sysv_ipc", "make venv")
	}
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "qipc_systemsem_pool")
	if err := os.WriteFile(keyFile, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	made := harness.RunCmd(t, "make the set", "", func() *exec.Cmd {
		return exec.Command(py, "-c", `
import sysv_ipc, sys
k = sysv_ipc.ftok(sys.argv[1], ord('Q'), silence_warning=True)
s = sysv_ipc.Semaphore(k, sysv_ipc.IPC_CREX, 0o600, 3)
print(k, s.id)
`, keyFile)
	})
	f := strings.Fields(made.Stdout)
	if made.Code != 0 || len(f) != 2 {
		t.Fatalf("make the set: exit status %d\n%s%s", made.Code, made.Stdout, made.Stderr)
	}
	key, id := f[0], atoi(f[1])
	t.Cleanup(func() { _ = semRemoveID(id) })
	const take = `
import sysv_ipc, sys
s = sysv_ipc.Semaphore(int(sys.argv[1]))
s.undo = True
s.acquire()
print("held", flush=True)
if sys.argv[2] == "hold":
    sys.stdin.read()
    s.release()
`
	holder := harness.Start(t, "holder", []string{py, "-c", take, key, "hold"}, nil, nil)
	harness.ExpectLine(t, holder.Name, holder.Line(), "held")
	taker := harness.Start(t, "the second taker", []string{py, "-c", take, key, "exit"}, nil, nil)
	harness.ExpectLine(t, taker.Name, taker.Line(), "held")
	taker.Finish()
	sel := "sysv-sem:" + strconv.Itoa(id)
	t.Logf("qipc ls --id %s:\n%s", sel, mustQ(t, "", "ls", "--id", sel))
	cl := runQ(t, "", "clean", "--stale", "--id", sel)
	t.Logf("qipc clean --stale --id %s:\n%s%s", sel, cl.out, cl.err)
	if !sysvExists(t, "/proc/sysvipc/sem", id) {
		t.Errorf("clean --stale --id %s removed a set whose count a live process (pid %d) holds", sel, holder.Pid())
	}
}
