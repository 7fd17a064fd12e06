package systest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// testShmKey returns a fresh segment key of type typ (a Qt 6.6+ key, or a
// legacy one that Qt 5 derives the same way) and removes the segment, its
// lock and their key files when the test ends, whatever the test did.
func testShmKey(t testing.TB, typ qipc.KeyType, legacy bool) qipc.Key {
	t.Helper()
	name := harness.Name(t)
	k := qipc.SharedMemoryKey(name, typ)
	if typ == qipc.PosixRealtime && testLibc() == "musl" {
		// musl refuses Qt 6.6+ POSIX segment keys (ErrLibcSemaphores,
		// TestMuslPosixRules); the tests of the POSIX backend use the
		// legacy derivation, whose lock has a name of its own.
		legacy = true
	}
	if legacy {
		k = qipc.LegacySharedMemoryKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, true) })
	return k
}

// testSemKey is testShmKey for a bare semaphore.
func testSemKey(t testing.TB, typ qipc.KeyType, legacy bool) qipc.Key {
	t.Helper()
	name := harness.Name(t)
	k := qipc.SemaphoreKey(name, typ)
	if legacy {
		k = qipc.LegacySemaphoreKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, false) })
	return k
}

// skipWithoutBackend skips a test of a backend this build does not have
// (System V on Windows, everything without cgo); that is never a missing
// peer, so it skips under CI=true too.
func skipWithoutBackend(t testing.TB, typ qipc.KeyType) {
	t.Helper()
	if !qipc.IsKeyTypeSupported(typ) {
		t.Skipf("%v keys are not available in this build", typ)
	}
}

func requireKey(t testing.TB, k qipc.Key) {
	t.Helper()
	skipWithoutBackend(t, k.Type)
	if k.IsEmpty() {
		t.Fatalf("empty key for type %v", k.Type)
	}
}

func removeForTest(t testing.TB, k qipc.Key, segment bool) {
	var err error
	if segment {
		err = qipc.RemoveSharedMemory(k)
	} else {
		err = qipc.RemoveSemaphore(k)
	}
	if err != nil && !errors.Is(err, qipc.ErrNotFound) {
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
	// glibc: the peer's POSIX semaphores are those of this machine's
	// (64-bit) glibc, whatever this test binary's C library and word size.
	glibc bool
	argv  harness.Program
}

// goPeerArgv is the Go peer's command line (peers/go, built once per run).
func goPeerArgv(t testing.TB) []string { return peerNamed("go").require(t) }

var peers = []peer{
	{name: "go", posix: true, sysv: true, argv: harness.GoPeer},
	{name: "c", posix: true, sysv: true, argv: harness.Binary("cpeer", "run `make peers`")},
	{name: "qt5", sysv: true, legacyOnly: true, glibc: true, argv: harness.Binary("qtpeer5", "apt-get install qtbase5-dev, then `make peers`")},
	{name: "qt6.4", sysv: true, legacyOnly: true, glibc: true, argv: harness.Binary("qtpeer6", "apt-get install qt6-base-dev, then `make peers`")},
	{name: "pyside6", posix: true, sysv: true, glibc: true, argv: harness.PySide("pyside/peer.py")},
}

// cpeerWin is the C peer built for Windows, which the Windows tests run
// under Wine.
var cpeerWin = peer{name: "c", argv: harness.Binary("cpeer.exe", "run `make build/cpeer.exe`")}

func init() {
	// The C peer is glibc's unless the run names one built like this
	// test binary (make test-musl, make test-386).
	peers[1].glibc = os.Getenv("QIPC_CPEER") == ""
}

// posixSkip says why peer p cannot share a POSIX semaphore with this test
// binary, or "": a musl build and a glibc peer each read the other's sem_t
// wrongly (POSIX semaphores are libc-specific; System V is the kernel's),
// and so do a 32-bit and a 64-bit glibc process (glibc lays sem_t out by
// word size).
func (p peer) posixSkip() string {
	switch {
	case testLibc() == "musl" && p.glibc:
		return "musl build: POSIX semaphores are libc-specific, and " + p.name + " uses glibc's"
	case strconv.IntSize == 32 && p.glibc:
		return "32-bit build: glibc lays out a 32-bit process's sem_t otherwise, and " + p.name + " is a 64-bit process"
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
	return p.argv.Require(t, p.name)
}

// args completes a command for this peer: the C peer is told the lock key
// of a legacy segment, since it does not derive legacy names itself.
func (p peer) args(cmd string, k qipc.Key, rest ...string) []string {
	a := append([]string{cmd, k.String()}, rest...)
	if p.name == "c" && k.LegacyKey != "" && !strings.HasPrefix(cmd, "sem-") {
		a = append(a, "--lock", k.LockKey().String())
	}
	return a
}

// proc is a running peer (internal/harness).
type proc = harness.Proc

// start runs a peer and registers its end: stdin closed, then waited for,
// its exit status and remaining output checked (see finish).
func (p peer) start(t testing.TB, cmd string, k qipc.Key, rest ...string) *proc {
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
	return harness.Start(t, name, argv, env, tail)
}

// run runs a peer to the end and returns its result line; its exit status
// and any further output are checked.
func (p peer) run(t testing.TB, cmd string, k qipc.Key, rest ...string) string {
	t.Helper()
	pr := p.start(t, cmd, k, rest...)
	line := pr.Line()
	pr.Finish()
	return line
}

// startHolder runs hold-lock and returns once the peer holds the lock,
// with the time it reported taking it.
func (p peer) startHolder(t testing.TB, k qipc.Key, rest ...string) (*proc, int64) {
	t.Helper()
	pr := p.start(t, "hold-lock", k, rest...)
	expectLine(t, p.name+" hold-lock", pr.Line(), "ok attached")
	return pr, stamp(pr, "ok locked at=")
}

// stamp reads the next line, which must be prefix followed by a time in
// nanoseconds, and returns the time.
func stamp(pr *proc, prefix string) int64 {
	return int64(pr.Value(prefix))
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
func expectErr(t testing.TB, who, got string, kind qipc.ErrorKind) string {
	t.Helper()
	prefix := "err " + kind.String() + " "
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("%s: got %q, want %q followed by the error text", who, got, prefix)
	}
	return strings.TrimPrefix(got, prefix)
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
func closeWithin(t testing.TB, m *qipc.SharedMemory) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, qipc.ErrClosed) {
			t.Errorf("clean-up: Close: %v", err)
		}
	case <-time.After(harness.Timeout()):
		t.Errorf("clean-up: Close of %v did not return within %v (its lock left taken?)", m.Key(), harness.Timeout())
	}
}

func mustCreate(t *testing.T, k qipc.Key, size int, opts ...qipc.Option) *qipc.SharedMemory {
	t.Helper()
	m := qipc.NewSharedMemory(k, opts...)
	if err := m.Create(size, qipc.ReadWrite); err != nil {
		t.Fatalf("Create(%d): %v", size, err)
	}
	t.Cleanup(func() { closeWithin(t, m) })
	return m
}

func forEachBackend(t *testing.T, fn func(t *testing.T, typ qipc.KeyType)) {
	for _, bt := range backendTypes {
		t.Run(bt.name, func(t *testing.T) {
			if !qipc.IsKeyTypeSupported(bt.typ) {
				t.Skipf("%s backend not in this build", bt.name)
			}
			fn(t, bt.typ)
		})
	}
}

// backendTypes are the key types the shared tests run for; a type whose
// backend is not in this build skips.
var backendTypes = []struct {
	name string
	typ  qipc.KeyType
}{
	{"posix", qipc.PosixRealtime},
	{"systemv", qipc.SystemV},
	{"windows", qipc.Windows},
}

func TestMain(m *testing.M) {
	code := harness.Main(m)
	printMatrix()
	os.Exit(code)
}
