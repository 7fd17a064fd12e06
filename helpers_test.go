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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	if typ == PosixRealtime && testLibc() == "musl" {
		// musl refuses Qt 6.6+ POSIX segment keys (ErrLibcSemaphores,
		// TestMuslPosixRules); the tests of the POSIX backend use the
		// legacy derivation, whose lock has a name of its own.
		legacy = true
	}
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
	// glibc: the peer's POSIX semaphores are glibc's, whatever this
	// test binary's C library is.
	glibc bool
	argv  func() ([]string, string) // command, or why it is missing
}

// selfArgv runs this test binary again, as the Go peer or the relpeer.
// QIPC_EXEC_PREFIX names the emulator that runs a test binary of another
// architecture ("qemu-aarch64 -L /usr/aarch64-linux-gnu"), since nothing
// registers one with the kernel; the other peers run natively.
func selfArgv() []string {
	return append(strings.Fields(os.Getenv("QIPC_EXEC_PREFIX")), os.Args[0])
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
		if file == "cpeer" && os.Getenv("QIPC_CPEER") != "" {
			p = os.Getenv("QIPC_CPEER") // the musl run's C peer
		}
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
	{name: "go", posix: true, sysv: true, argv: func() ([]string, string) { return selfArgv(), "" }},
	{name: "c", posix: true, sysv: true, argv: binaryPeer("cpeer", "run `make peers`")},
	{name: "qt5", sysv: true, legacyOnly: true, glibc: true, argv: binaryPeer("qtpeer5", "apt-get install qtbase5-dev, then `make peers`")},
	{name: "qt6.4", sysv: true, legacyOnly: true, glibc: true, argv: binaryPeer("qtpeer6", "apt-get install qt6-base-dev, then `make peers`")},
	{name: "pyside6", posix: true, sysv: true, glibc: true, argv: func() ([]string, string) {
		if why := pysideCheck(); why != "" {
			return nil, why
		}
		wd, _ := os.Getwd()
		return []string{"python3", filepath.Join(wd, "peers", "pyside", "peer.py")}, ""
	}},
}

// cpeerWin is the C peer built for Windows, which the Windows tests run
// under Wine.
var cpeerWin = peer{name: "c", argv: binaryPeer("cpeer.exe", "run `make build/cpeer.exe`")}

func init() {
	// The C peer is glibc's unless the run names one built like this
	// test binary (make test-musl).
	peers[1].glibc = os.Getenv("QIPC_CPEER") == ""
}

// posixSkip says why peer p cannot share a POSIX semaphore with this test
// binary, or "": a musl build and a glibc peer each read the other's sem_t
// wrongly (POSIX semaphores are libc-specific; System V is the kernel's).
func (p peer) posixSkip() string {
	if testLibc() == "musl" && p.glibc {
		return "musl build: POSIX semaphores are libc-specific, and " + p.name + " uses glibc's"
	}
	return ""
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

// proc is a running peer. Its output is read line by line by a goroutine
// of its own, so that a test waiting for a line can give up on a peer that
// hangs instead of hanging with it.
type proc struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // closed at EOF
	// last is the last line the test read: an "err" line means the peer
	// must exit 1, anything else 0.
	last string
	// tail lists the prefixes of the lines the peer may print after the
	// test stopped reading (hold-lock's "ok unlocked at=").
	tail   []string
	killed bool
	done   bool
}

// peerTimeout bounds every wait for a peer's line or exit: a peer that
// hangs (a lock never released, a libc mismatch) fails its test instead of
// the whole run. QIPC_PEER_TIMEOUT (a Go duration) changes it.
var peerTimeout = sync.OnceValue(func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("QIPC_PEER_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 90 * time.Second
})

// start runs a peer and registers its end: stdin closed, then waited for,
// its exit status and remaining output checked (see finish).
func (p peer) start(t testing.TB, cmd string, k Key, rest ...string) *proc {
	t.Helper()
	return p.startArgs(t, cmd, p.args(cmd, k, rest...), nil)
}

// startArgs is start with the argument list as given and extra environment.
func (p peer) startArgs(t testing.TB, cmd string, args []string, env []string) *proc {
	t.Helper()
	var tail []string
	if cmd == "hold-lock" {
		tail = []string{"ok unlocked at="}
	}
	return spawn(t, p.name, append(p.require(t), args...), env, tail)
}

// spawn starts argv as a child process that speaks the peer protocol, and
// registers its finish.
func spawn(t testing.TB, name string, argv []string, env []string, tail []string) *proc {
	t.Helper()
	return spawnCmd(t, name, tail, func() *exec.Cmd {
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = append(append(os.Environ(), "QIPC_PEER=go"), env...)
		return c
	})
}

// spawnCmd is spawn for a command that newCmd prepares (directory,
// credentials); it is the one way the tests start a process.
func spawnCmd(t testing.TB, name string, tail []string, newCmd func() *exec.Cmd) *proc {
	t.Helper()
	var (
		c      *exec.Cmd
		stdin  io.WriteCloser
		stdout io.ReadCloser
	)
	// Wine's CreateProcess now and then fails with "Internal error" and
	// works when tried again; elsewhere a failed start is final.
	for attempt := 1; ; attempt++ {
		c = newCmd()
		c.Stderr = &testWriter{t: t, prefix: name + ": "}
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
			t.Fatalf("start %s: %v", name, err)
		}
		t.Logf("start %s: %v; trying again", name, err)
	}
	pr := &proc{t: t, name: name, cmd: c, stdin: stdin, lines: make(chan string, 64), tail: tail}
	go func() {
		defer close(pr.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			pr.lines <- strings.TrimSuffix(sc.Text(), "\r")
		}
	}()
	t.Cleanup(pr.finish)
	return pr
}

// line returns the peer's next line of output, "eof" when it has closed
// its output. A peer that prints nothing for peerTimeout is killed and
// fails the test.
func (pr *proc) line() string {
	pr.t.Helper()
	timer := time.NewTimer(peerTimeout())
	defer timer.Stop()
	select {
	case s, ok := <-pr.lines:
		if !ok {
			return "eof"
		}
		pr.last = s
		return s
	case <-timer.C:
		pr.kill()
		pr.t.Fatalf("peer %s: no output for %v; killed it (hung?)", pr.name, peerTimeout())
		return ""
	}
}

// send writes one line to the peer's stdin (the counter's barrier).
func (pr *proc) send(s string) {
	if _, err := io.WriteString(pr.stdin, s+"\n"); err != nil {
		pr.t.Errorf("peer %s: write to stdin: %v", pr.name, err)
	}
}

// release closes the peer's stdin, which ends a hold; the peer then
// cleans up, may print its tail lines and exits.
func (pr *proc) release() { _ = pr.stdin.Close() }

// finish releases the peer and waits for it. Unless the test killed it,
// the peer must exit 0 (1 when the last line the test read was an "err"
// line), and print nothing more than its tail lines: a clean-up that
// failed (an unlock, a detach) fails the test. Registered with t.Cleanup
// by start, so that no cell passes before its peers have cleaned up.
func (pr *proc) finish() {
	if pr.done {
		return
	}
	pr.done = true
	pr.release()
	timer := time.NewTimer(peerTimeout())
	defer timer.Stop()
	for {
		select {
		case s, ok := <-pr.lines:
			if !ok {
				pr.checkExit()
				return
			}
			if !pr.killed && !hasAnyPrefix(s, pr.tail) {
				pr.t.Errorf("peer %s: unexpected line after %q: %q", pr.name, pr.last, s)
			}
		case <-timer.C:
			_ = pr.cmd.Process.Kill()
			pr.killed = true
			_ = pr.cmd.Wait()
			pr.t.Errorf("peer %s: did not exit within %v of its stdin closing; killed it", pr.name, peerTimeout())
			return
		}
	}
}

func (pr *proc) checkExit() {
	err := pr.cmd.Wait()
	if pr.killed {
		return
	}
	want := 0
	if strings.HasPrefix(pr.last, "err ") {
		want = 1
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		pr.t.Errorf("peer %s: %v", pr.name, err)
		return
	}
	if code != want {
		pr.t.Errorf("peer %s: exit status %d after %q, want %d", pr.name, code, pr.last, want)
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// kill ends the peer with SIGKILL, by its PID, as a crash would.
func (pr *proc) kill() {
	pr.killed = true
	_ = pr.cmd.Process.Kill() // SIGKILL on Unix
	pr.finish()
}

// run runs a peer to the end and returns its result line; its exit status
// and any further output are checked.
func (p peer) run(t testing.TB, cmd string, k Key, rest ...string) string {
	t.Helper()
	pr := p.start(t, cmd, k, rest...)
	line := pr.line()
	pr.finish()
	return line
}

// startHolder runs hold-lock and returns once the peer holds the lock,
// with the time it reported taking it.
func (p peer) startHolder(t testing.TB, k Key, rest ...string) (*proc, int64) {
	t.Helper()
	pr := p.start(t, "hold-lock", k, rest...)
	expectLine(t, p.name+" hold-lock", pr.line(), "ok attached")
	return pr, pr.stamp("ok locked at=")
}

// stamp reads the next line, which must be prefix followed by a time in
// nanoseconds, and returns the time.
func (pr *proc) stamp(prefix string) int64 {
	pr.t.Helper()
	return int64(pr.value(prefix))
}

// value reads the next line, which must be prefix followed by a number,
// and returns the number.
func (pr *proc) value(prefix string) uint64 {
	pr.t.Helper()
	got := pr.line()
	v, err := strconv.ParseUint(strings.TrimPrefix(got, prefix), 10, 64)
	if !strings.HasPrefix(got, prefix) || err != nil {
		pr.t.Fatalf("%s: got %q, want %q followed by a number", pr.name, got, prefix)
	}
	return v
}

// expectLine fails the test unless got is exactly want.
func expectLine(t testing.TB, who, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", who, got, want)
	}
}

// expectErr fails the test unless got is the protocol's failure line of
// the given kind, and returns its errorString.
func expectErr(t testing.TB, who, got string, kind ErrorKind) string {
	t.Helper()
	prefix := "err " + kind.String() + " "
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("%s: got %q, want %q followed by the error text", who, got, prefix)
	}
	return strings.TrimPrefix(got, prefix)
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

// closeWithin closes m for a test's clean-up with a deadline: a lock left
// taken (a broken test, a killed holder) fails the test rather than
// hanging the run until -timeout.
func closeWithin(t testing.TB, m *SharedMemory) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("clean-up: Close: %v", err)
		}
	case <-time.After(peerTimeout()):
		t.Errorf("clean-up: Close of %v did not return within %v (its lock left taken?)", m.Key(), peerTimeout())
	}
}
