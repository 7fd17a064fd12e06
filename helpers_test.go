package qipc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var keySeq atomic.Int64

// testName returns a name no other test or process uses. Every test object
// carries "qipct" so tools/leftovers.sh can find what a test left behind.
func testName(t testing.TB) string {
	n := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, t.Name())
	if len(n) > 48 {
		n = n[len(n)-48:]
	}
	return fmt.Sprintf("qipct_%s_%d_%d", n, os.Getpid(), keySeq.Add(1))
}

// testShmKey returns a fresh segment key of type typ (a Qt 6.6+ key, or a
// legacy one that Qt 5 derives the same way) and removes the segment, its
// lock and their key files when the test ends, whatever the test did.
func testShmKey(t testing.TB, typ KeyType, legacy bool) Key {
	t.Helper()
	name := testName(t)
	k := SharedMemoryKey(name, typ)
	if legacy {
		k = LegacySharedMemoryKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, true) })
	return k
}

// testSemKey is testShmKey for a bare semaphore.
func testSemKey(t testing.TB, typ KeyType, legacy bool) Key {
	t.Helper()
	name := testName(t)
	k := SemaphoreKey(name, typ)
	if legacy {
		k = LegacySemaphoreKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, false) })
	return k
}

// skipWithoutBackend skips a test of a backend this build does not have
// (System V on Windows, everything without cgo); that is never a missing
// peer, so it skips under CI=true too.
func skipWithoutBackend(t testing.TB, typ KeyType) {
	t.Helper()
	if _, err := backendFor("test", Key{Type: typ}); err != nil {
		t.Skipf("%v keys are not available in this build: %v", typ, err)
	}
}

func requireKey(t testing.TB, k Key) {
	t.Helper()
	skipWithoutBackend(t, k.Type)
	if k.IsEmpty() {
		t.Fatalf("empty key for type %v", k.Type)
	}
}

func removeForTest(t testing.TB, k Key, segment bool) {
	var err error
	if segment {
		err = RemoveSharedMemory(k)
	} else {
		err = RemoveSemaphore(k)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("clean-up of %v: %v", k, err)
	}
}

// A peer is one kind of process that speaks peers/PROTOCOL.md.
type peer struct {
	name  string
	posix bool // serves PosixRealtime keys
	sysv  bool // serves System V keys
	// legacyOnly: Qt <= 6.5 has no QNativeIpcKey, so it only locks
	// segments named by a legacy key and only opens legacy semaphores.
	legacyOnly bool
	argv       func() ([]string, string) // command, or why it is missing
}

func buildDir() string {
	if d := os.Getenv("QIPC_BUILD"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "build")
}

func binaryPeer(file, how string) func() ([]string, string) {
	return func() ([]string, string) {
		p := filepath.Join(buildDir(), file)
		if _, err := os.Stat(p); err != nil {
			return nil, p + " is not built: " + how
		}
		return []string{p}, ""
	}
}

var pysideCheck = sync.OnceValue(func() string {
	if out, err := exec.Command("python3", "-c", "import PySide6.QtCore").CombinedOutput(); err != nil {
		return "PySide6 is not importable (pip install PySide6-Essentials): " + strings.TrimSpace(string(out))
	}
	return ""
})

var peers = []peer{
	{name: "go", posix: true, sysv: true, argv: func() ([]string, string) { return []string{os.Args[0]}, "" }},
	{name: "c", posix: true, sysv: true, argv: binaryPeer("cpeer", "run `make peers`")},
	{name: "qt5", sysv: true, legacyOnly: true, argv: binaryPeer("qtpeer5", "apt-get install qtbase5-dev, then `make peers`")},
	{name: "qt6.4", sysv: true, legacyOnly: true, argv: binaryPeer("qtpeer6", "apt-get install qt6-base-dev, then `make peers`")},
	{name: "pyside6", posix: true, sysv: true, argv: func() ([]string, string) {
		if why := pysideCheck(); why != "" {
			return nil, why
		}
		wd, _ := os.Getwd()
		return []string{"python3", filepath.Join(wd, "peers", "pyside", "peer.py")}, ""
	}},
}

func peerNamed(name string) peer {
	for _, p := range peers {
		if p.name == name {
			return p
		}
	}
	panic("no peer " + name)
}

// require skips the test (fails it under CI=true) when the peer is missing.
func (p peer) require(t testing.TB) []string {
	t.Helper()
	argv, why := p.argv()
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("peer %s missing in CI: %s", p.name, why)
		}
		t.Skipf("peer %s missing: %s", p.name, why)
	}
	return argv
}

// args completes a command for this peer: the C peer is told the lock key
// of a legacy segment, since it does not derive legacy names itself.
func (p peer) args(cmd string, k Key, rest ...string) []string {
	a := append([]string{cmd, k.String()}, rest...)
	if p.name == "c" && k.LegacyKey != "" && !strings.HasPrefix(cmd, "sem-") {
		a = append(a, "--lock", lockKeyFor(k).String())
	}
	return a
}

// proc is a running peer.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  bool
}

// start runs a peer and registers its end: stdin closed, then waited for.
func (p peer) start(t testing.TB, cmd string, k Key, rest ...string) *proc {
	t.Helper()
	argv := p.require(t)
	var (
		c      *exec.Cmd
		stdin  io.WriteCloser
		stdout io.ReadCloser
	)
	// Wine's CreateProcess now and then fails with "Internal error" and
	// works when tried again; elsewhere a failed start is final.
	for attempt := 1; ; attempt++ {
		c = exec.Command(argv[0], append(argv[1:], p.args(cmd, k, rest...)...)...)
		c.Env = append(os.Environ(), "QIPC_PEER=go")
		c.Stderr = &testWriter{t: t, prefix: p.name + ": "}
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if stdout, err = c.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		err = c.Start()
		if err == nil {
			break
		}
		if runtime.GOOS != "windows" || attempt == 3 {
			t.Fatalf("start %s: %v", p.name, err)
		}
		t.Logf("start %s: %v; trying again", p.name, err)
	}
	pr := &proc{t: t, name: p.name, cmd: c, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(pr.finish)
	return pr
}

// line returns the peer's next line of output.
func (pr *proc) line() string {
	s, err := pr.out.ReadString('\n')
	if err != nil && s == "" {
		return "eof: " + err.Error()
	}
	return strings.TrimRight(s, "\n")
}

// finish closes stdin so a holding peer cleans up and exits, and waits.
func (pr *proc) finish() {
	if pr.done {
		return
	}
	pr.done = true
	_ = pr.stdin.Close()
	_, _ = io.Copy(io.Discard, pr.out)
	_ = pr.cmd.Wait()
}

// kill ends the peer with SIGKILL, by its PID, as a crash would.
func (pr *proc) kill() {
	_ = pr.cmd.Process.Kill() // SIGKILL on Unix
	pr.finish()
}

// run runs a peer to the end and returns its result line.
func (p peer) run(t testing.TB, cmd string, k Key, rest ...string) string {
	t.Helper()
	pr := p.start(t, cmd, k, rest...)
	line := pr.line()
	pr.finish()
	return line
}

type testWriter struct {
	t      testing.TB
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s%s", w.prefix, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// testResult is the matrix cell for a finished (sub)test.
func testResult(t testing.TB) string {
	switch {
	case t.Failed():
		return "FAIL"
	case t.Skipped():
		return "skip"
	}
	return "ok"
}
