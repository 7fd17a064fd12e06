// Package harness runs the processes that the tests of every package in
// this module talk to: the peers of peers/PROTOCOL.md (C, Qt, PySide6, the Go
// peer), the qipc tool and the test programs. It is the one place that
// starts a process for a test, bounds every wait on it, and decides whether a
// missing program skips a test (a developer's laptop) or fails it (CI).
package harness

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

// Root is the repository's root: the nearest directory above the working
// directory (a package's directory under go test) that holds go.mod.
var Root = sync.OnceValue(func() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
})

// BuildDir is where `make peers` puts the peers: QIPC_BUILD, else build/
// under the root.
func BuildDir() string {
	if d := os.Getenv("QIPC_BUILD"); d != "" {
		return d
	}
	return filepath.Join(Root(), "build")
}

// Missing skips the test for want of a program, saying how to get it; under
// CI=true, where every program must be there, it fails the test instead.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing in CI: %s", what, how)
	}
	t.Skipf("%s missing: %s", what, how)
}

// Program finds a program: its command line, or why it is missing and how to
// get it.
type Program func() (argv []string, why string)

// Require returns the program's command line, or skips the test (fails it
// under CI=true) when the program is missing.
func (p Program) Require(t testing.TB, name string) []string {
	t.Helper()
	argv, why := p()
	if strings.HasPrefix(why, brokenMark) {
		t.Fatalf("peer %s: %s", name, why)
	}
	if why != "" {
		Missing(t, "peer "+name, why)
	}
	return argv
}

// brokenMark starts the why of a program that exists but does not work
// (Built's build failed), which Require fails instead of skipping.
const brokenMark = "broken: "

// Binary is a program that `make` builds into BuildDir. QIPC_CPEER names
// another C peer (the musl run's).
func Binary(file, how string) Program {
	return func() ([]string, string) {
		p := filepath.Join(BuildDir(), file)
		if file == "cpeer" && os.Getenv("QIPC_CPEER") != "" {
			p = os.Getenv("QIPC_CPEER")
		}
		if _, err := os.Stat(p); err != nil {
			return nil, p + " is not built: " + how
		}
		return []string{p}, ""
	}
}

var pysideCheck = sync.OnceValue(func() string {
	if out, err := exec.Command("python3", "-c", "import PySide6.QtCore").CombinedOutput(); err != nil {
		return "PySide6 is not importable (make venv, or pip install PySide6-Essentials): " + strings.TrimSpace(string(out))
	}
	return ""
})

// PySide is a Python script under peers/ run by a python3 that has PySide6.
func PySide(script string) Program {
	return func() ([]string, string) {
		if why := pysideCheck(); why != "" {
			return nil, why
		}
		return []string{"python3", filepath.Join(Root(), "peers", filepath.FromSlash(script))}, ""
	}
}

// PySideGUI is PySide for a script that also imports PySide6.QtGui
// (QPixmap, QColor, QFont...). QtGui needs system libraries that QtCore does
// not (libEGL, libGL, libxkbcommon, fontconfig), so it can fail to import
// where PySide's check passes.
func PySideGUI(script string) Program {
	return func() ([]string, string) {
		argv, why := PySide(script)()
		if why == "" {
			why = pysideGUICheck()
		}
		if why != "" {
			return nil, why
		}
		return argv, ""
	}
}

var pysideGUICheck = sync.OnceValue(func() string {
	if out, err := exec.Command("python3", "-c", "import PySide6.QtGui").CombinedOutput(); err != nil {
		return "PySide6.QtGui is not importable (it needs system libraries that QtCore does not: libEGL, libGL, libxkbcommon, fontconfig): " + strings.TrimSpace(string(out))
	}
	return ""
})

// Emulated: QIPC_EXEC_PREFIX names the emulator that runs this module's
// programs when they are built for another architecture ("qemu-aarch64 -L
// /usr/aarch64-linux-gnu"), since nothing registers one with the kernel; the
// C, Qt and Python peers run natively.
func Emulated() bool { return os.Getenv("QIPC_EXEC_PREFIX") != "" }

// Native prefixes argv, a program built from this module, with the
// emulator that runs it (Emulated).
func Native(argv ...string) []string {
	return append(strings.Fields(os.Getenv("QIPC_EXEC_PREFIX")), argv...)
}

// Timeout bounds every wait for a process's line or exit: one that hangs (a
// lock never released, a libc mismatch) fails its test instead of the whole
// run. QIPC_PEER_TIMEOUT (a Go duration) changes it.
var Timeout = sync.OnceValue(func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("QIPC_PEER_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 90 * time.Second
})

// Proc is a running process that speaks lines. Its output is read by a
// goroutine of its own, so that a test waiting for a line can give up on a
// process that hangs instead of hanging with it.
type Proc struct {
	t     testing.TB
	Name  string
	Cmd   *exec.Cmd
	stdin io.WriteCloser
	Lines chan string // its output, a line at a time; closed at EOF
	// Last is the last line the test read: an "err" line means the process
	// must exit 1, anything else 0.
	Last string
	// tail lists the prefixes of the lines the process may print after the
	// test stopped reading (hold-lock's "ok unlocked at=").
	tail   []string
	killed bool
	done   bool
}

// Start runs argv with env added to this process's environment, and
// registers its Finish.
func Start(t testing.TB, name string, argv, env, tail []string) *Proc {
	t.Helper()
	return StartCmd(t, name, tail, func() *exec.Cmd {
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = append(os.Environ(), env...)
		return c
	})
}

// StartCmd is Start for a command that newCmd prepares (directory,
// credentials); it is the one way the tests start a process.
func StartCmd(t testing.TB, name string, tail []string, newCmd func() *exec.Cmd) *Proc {
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
		c.Stderr = Logger(t, name+": ")
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
	pr := &Proc{t: t, Name: name, Cmd: c, stdin: stdin, Lines: make(chan string, 64), tail: tail}
	go func() {
		defer close(pr.Lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			pr.Lines <- strings.TrimSuffix(sc.Text(), "\r")
		}
	}()
	t.Cleanup(pr.Finish)
	return pr
}

// Pid is the process's id.
func (pr *Proc) Pid() int { return pr.Cmd.Process.Pid }

// Line returns the process's next line of output, "eof" when it has closed
// its output. A process that prints nothing for Timeout is killed and fails
// the test.
func (pr *Proc) Line() string {
	pr.t.Helper()
	timer := time.NewTimer(Timeout())
	defer timer.Stop()
	select {
	case s, ok := <-pr.Lines:
		if !ok {
			return "eof"
		}
		pr.Last = s
		return s
	case <-timer.C:
		pr.Kill()
		pr.t.Fatalf("%s: no output for %v; killed it (hung?)", pr.Name, Timeout())
		return ""
	}
}

// Value reads the next line, which must be prefix followed by a number, and
// returns the number.
func (pr *Proc) Value(prefix string) uint64 {
	pr.t.Helper()
	got := pr.Line()
	v, err := strconv.ParseUint(strings.TrimPrefix(got, prefix), 10, 64)
	if !strings.HasPrefix(got, prefix) || err != nil {
		pr.t.Fatalf("%s: got %q, want %q followed by a number", pr.Name, got, prefix)
	}
	return v
}

// Send writes one line to the process's stdin.
func (pr *Proc) Send(s string) {
	if _, err := io.WriteString(pr.stdin, s+"\n"); err != nil {
		pr.t.Errorf("%s: write to stdin: %v", pr.Name, err)
	}
}

// Release closes the process's stdin, which ends a peer's hold; the peer
// then cleans up, may print its tail lines and exits.
func (pr *Proc) Release() { _ = pr.stdin.Close() }

// Finish releases the process and waits for it. Unless the test killed it,
// it must exit 0 (1 when the last line the test read was an "err" line) and
// print nothing more than its tail lines: a clean-up that failed (an unlock,
// a detach) fails the test. Start registers it with t.Cleanup, so that no
// test passes before its processes have cleaned up.
func (pr *Proc) Finish() {
	if pr.done {
		return
	}
	pr.done = true
	pr.Release()
	timer := time.NewTimer(Timeout())
	defer timer.Stop()
	for {
		select {
		case s, ok := <-pr.Lines:
			if !ok {
				pr.checkExit()
				return
			}
			if !pr.killed && !hasAnyPrefix(s, pr.tail) {
				pr.t.Errorf("%s: unexpected line after %q: %q", pr.Name, pr.Last, s)
			}
		case <-timer.C:
			_ = pr.Cmd.Process.Kill()
			pr.killed = true
			_ = pr.Cmd.Wait()
			pr.t.Errorf("%s: did not exit within %v of its stdin closing; killed it", pr.Name, Timeout())
			return
		}
	}
}

func (pr *Proc) checkExit() {
	err := pr.Cmd.Wait()
	if pr.killed {
		return
	}
	want := 0
	if strings.HasPrefix(pr.Last, "err ") {
		want = 1
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		pr.t.Errorf("%s: %v", pr.Name, err)
		return
	}
	if code != want {
		pr.t.Errorf("%s: exit status %d after %q, want %d", pr.Name, code, pr.Last, want)
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

// Kill ends the process with SIGKILL (TerminateProcess on Windows), by its
// PID, as a crash would, and waits for it.
func (pr *Proc) Kill() {
	pr.killed = true
	_ = pr.Cmd.Process.Kill()
	pr.Finish()
}

// Output is what a process that RunCmd ran to its end wrote, and its exit
// status.
type Output struct {
	Stdout, Stderr string
	Code           int // exit status
}

// RunCmd runs the command that newCmd prepares (arguments, environment,
// directory, credentials) to its end, with input on its stdin, and returns
// its output and exit status. It is for the programs whose exit status and
// output are what the test checks (a command-line tool's usage errors, the
// status of a command it ran), which a Proc's Finish would judge: RunCmd
// judges nothing, but it bounds the wait as a Proc does. A process that has
// not exited after Timeout is killed and fails the test.
func RunCmd(t testing.TB, name, input string, newCmd func() *exec.Cmd) Output {
	t.Helper()
	c := newCmd()
	c.Stdin = strings.NewReader(input)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	timer := time.NewTimer(Timeout())
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		_ = c.Process.Kill()
		select {
		case <-done: // its output is complete: safe to read
			t.Fatalf("%s: did not exit within %v; killed it (hung?)\nstdout: %s\nstderr: %s", name, Timeout(), stdout.String(), stderr.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: did not exit within %v; killed it (hung?), and something (a child of it?) still holds its output open", name, Timeout())
		}
	}
	out := Output{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		out.Code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// Signal sends sig to the process, by its PID, and from then on takes its
// end for a crash: Finish reaps it without checking how it exited. A test
// that must see it unreaped (a zombie) reaps it itself, before Finish.
func (pr *Proc) Signal(sig os.Signal) error {
	pr.killed = true
	return pr.Cmd.Process.Signal(sig)
}

var nameSeq atomic.Int64

// Name returns a name for an IPC object of the test that no other test or
// process uses. Every one carries "qipct" so that tools/leftovers.sh can
// find what a test left behind.
func Name(t testing.TB) string {
	n := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, t.Name())
	if len(n) > 48 {
		n = n[len(n)-48:]
	}
	return fmt.Sprintf("qipct_%s_%d_%d", n, os.Getpid(), nameSeq.Add(1))
}

// Within returns what ch delivers, or fails the test with every
// goroutine's stack when nothing comes within Timeout: a call that hangs
// fails its test instead of the whole run.
func Within[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Timeout()):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s did not return within %v (a deadlock?)\n%s", what, Timeout(), buf[:runtime.Stack(buf, true)])
		panic("unreachable")
	}
}

// ExpectLine fails the test unless got is exactly want.
func ExpectLine(t testing.TB, who, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", who, got, want)
	}
}

// Logger is a writer that logs each write to t, prefixed.
func Logger(t testing.TB, prefix string) io.Writer { return &logWriter{t, prefix} }

type logWriter struct {
	t      testing.TB
	prefix string
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s%s", w.prefix, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
