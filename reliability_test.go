//go:build cgo && linux

package qipc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"golang.org/x/sys/unix"
)

// Reliability under faults: processes SIGKILLed at each step, bad input,
// signals, and the POSIX lock recovery (recover.go).

// stressMode is set by `make stress`: the long versions run.
var stressMode = os.Getenv("QIPC_STRESS") == "1"

// scaled returns long under QIPC_STRESS=1, else short.
func scaled(short, long int) int {
	if stressMode {
		return long
	}
	return short
}

// The reliability peer: the test binary re-executed with QIPC_RELPEER=1
// holds the states the protocol's peers cannot stop in (a creator holding
// the lock; group permissions). It runs before TestMain.
func init() {
	if os.Getenv("QIPC_RELPEER") != "1" {
		return
	}
	os.Exit(relPeerMain(os.Args[1:]))
}

func relPeerMain(args []string) int {
	if len(args) < 3 {
		fmt.Println("err usage")
		return 2
	}
	if args[0] == "map-file" {
		return mapFileMain(args[1])
	}
	k, err := ParseKey(args[1])
	if err != nil {
		return peerFail(os.Stdout, err)
	}
	var size int
	fmt.Sscan(args[2], &size)
	wait := func() { _, _ = io.Copy(io.Discard, os.Stdin) }
	switch args[0] {
	case "explore":
		return exploreMain(args[1:])
	case "squat-loop", "victim-open", "victim-attach", "fault-hold", "fault-wait", "fault-sem":
		return semTrustPeer(args[0], k, args[2:]) // semtrust_test.go
	case "orphan-lock", "orphan-lock-live", "orphan-lock-taken":
		// What a failed Attach of an older qipc left: the lock semaphore
		// and its key file, used once, the segment never made. The live
		// variant then stays (its last user lives); the taken one makes
		// it with count 0, as a holder out of sight would leave it.
		if args[0] == "orphan-lock-taken" {
			if _, err := NewSemaphore(lockKeyFor(k), 0, SemaphoreCreate, WithoutCleanup()); err != nil {
				return peerFail(os.Stdout, err)
			}
			fmt.Println("ok")
			return 0
		}
		lock, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := lock.Acquire(); err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := lock.Release(1); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		if args[0] == "orphan-lock-live" {
			wait()
		}
		return 0
	case "attach-error":
		// What a Go program reads of a failed Attach: its kind, the io/fs
		// errors it matches and its message (the Go peer prints Qt's).
		m := NewSharedMemory(k)
		if err := m.Attach(ReadWrite); err != nil {
			fmt.Printf("err %v fs=%s %s\n", KindOf(err), fsMatches(err), err)
			return 1
		}
		fmt.Println("ok")
		return closeStatus(m.Close())
	case "attach-exit", "create0-exit":
		// A failed call and an exit without Close, as log.Fatal does.
		m := NewSharedMemory(k)
		err := m.Attach(ReadWrite)
		if args[0] == "create0-exit" {
			err = m.Create(size, ReadWrite)
		}
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		return 0
	case "open-lock":
		// Another process that has a segment's lock semaphore open (as a
		// Qt process between its attach's initKey and its lock does).
		lock, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok open")
		wait()
		return closeStatus(lock.Close())
	case "create-fsize":
		// A Create whose ftruncate fails: the file size limit is below
		// the segment's size (Go ignores SIGXFSZ; ftruncate fails EFBIG).
		lim := syscall.Rlimit{Cur: 4096, Max: 4096}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("err setrlimit", err)
			return 1
		}
		m := NewSharedMemory(k)
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok")
		return 0
	case "lock-sigurg-ignored", "lock-sigurg-blocked":
		// A System V LockContext with a deadline where SIGURG cannot end
		// the wait: the process ignores it, or the thread blocks it.
		if args[0] == "lock-sigurg-ignored" {
			signal.Ignore(syscall.SIGURG)
		} else {
			runtime.LockOSThread()
			var set unix.Sigset_t
			set.Val[(int(syscall.SIGURG)-1)/64] |= 1 << ((uint(syscall.SIGURG) - 1) % 64)
			if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
				fmt.Println("err sigmask", err)
				return 1
			}
		}
		m := NewSharedMemory(k)
		if err := m.Attach(ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		defer m.Close()
		fmt.Println("ok attached")
		waitLine(os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := m.LockContext(ctx)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Println("ok deadline exceeded")
		case err == nil:
			fmt.Println("err took the lock (after its holder let go)")
			_ = m.Unlock()
		default:
			return peerFail(os.Stdout, err)
		}
		return 0
	case "create-perm":
		// Create with group permissions and hold, for perm_test.go.
		m := NewSharedMemory(k, WithPermissions(0o660))
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Printf("ok size=%d\n", m.Size())
		wait()
		if err := m.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		return 0
	case "inspect":
		// Inspect as another process sees it: another user, another
		// PID namespace (stale_test.go).
		u, err := Inspect(k)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Printf("ok stale=%v attached=%d reason=%s\n", u.Stale, u.Attached, u.Reason)
		return 0
	case "create-lock":
		m := NewSharedMemory(k)
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		copy(m.Data(), crashPattern)
		if err := m.Lock(); err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok locked")
		wait()
		return 0
	}
	fmt.Println("err unknown command")
	return 2
}

// mapFileMain maps the file at path (a POSIX segment reached through
// another path, as a bind mount gives) and keeps only the mapping, until
// stdin closes.
func mapFileMain(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	fmt.Println("ok mapped")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return closeStatus(syscall.Munmap(b))
}

// closeStatus is a relpeer's exit status after its last Close.
func closeStatus(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	return 0
}

func relStart(t *testing.T, cmd string, k Key, size string) *proc {
	t.Helper()
	return spawn(t, "relpeer", append(selfArgv(), cmd, k.String(), size), []string{"QIPC_RELPEER=1"}, nil)
}

// ---- qipc ls ----

// qipcTool builds cmd/qipc once into the build directory.
var qipcTool = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir(), "qipc-reltest")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/qipc").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/qipc: %v\n%s", err, out)
	}
	return bin, nil
})

type lsObject struct {
	Kind    string   `json:"kind"`
	Native  string   `json:"native"`
	Path    string   `json:"path"`
	Stale   bool     `json:"stale"`
	Reasons []string `json:"reasons"`
	Value   *int     `json:"value"`
	Nattch  *int     `json:"nattch"`
	Cpid    int      `json:"cpid"`
	Lpid    int      `json:"lpid"`
}

// qipcLs runs `qipc ls --json --match` with the base name of k's native key.
func qipcLs(t *testing.T, k Key) []lsObject {
	t.Helper()
	bin, err := qipcTool()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("qipc tool: %v", err)
		}
		t.Skipf("qipc tool: %v", err)
	}
	out, err := exec.Command(bin, "ls", "--json", "--match", filepath.Base(k.Native)).Output()
	if err != nil {
		t.Fatalf("qipc ls: %v", err)
	}
	var objs []lsObject
	if err := json.Unmarshal(out, &objs); err != nil {
		t.Fatalf("qipc ls --json: %v\n%s", err, out)
	}
	return objs
}

// lsSegment returns the segment object of k in qipc ls's output.
func lsSegment(t *testing.T, k Key) (lsObject, bool) {
	t.Helper()
	for _, o := range qipcLs(t, k) {
		if strings.HasSuffix(o.Kind, "-shm") {
			return o, true
		}
	}
	return lsObject{}, false
}

func shmKind(typ KeyType) string {
	if typ == PosixRealtime {
		return "posix"
	}
	return "sysv"
}

// ---- crash matrix ----

// crashPeers are the peer kinds that serve typ.
func crashPeers(typ KeyType) []peer {
	var out []peer
	for _, p := range peers {
		if typ == PosixRealtime && p.posix || typ != PosixRealtime && p.sysv {
			out = append(out, p)
		}
	}
	return out
}

// crashFigures are docs/testing.md's figures, counted from passing cells only.
var crashFigures struct {
	sync.Mutex
	cells, recovered, undo int
	pauses                 map[string]int // during-create kills by the call they followed
}

// countIfPassed adds one to *n when t ends without failing or skipping.
func countIfPassed(t *testing.T, n *int) {
	t.Cleanup(func() {
		if t.Failed() || t.Skipped() {
			return
		}
		crashFigures.Lock()
		defer crashFigures.Unlock()
		*n++
	})
}

// crashCell runs one cell of the crash matrix as a subtest, counted in the
// figures if it passes.
func crashCell(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		countIfPassed(t, &crashFigures.cells)
		fn(t)
	})
}

// crashPattern is what a victim writes just before its kill; every cell
// finds it afterwards.
const crashPattern = "crashpattern"

var crashPatternHex = hex.EncodeToString([]byte(crashPattern))

func checkPattern(t *testing.T, m *SharedMemory) {
	t.Helper()
	if got := string(m.Data()[:len(crashPattern)]); got != crashPattern {
		t.Errorf("contents after the crash: %q, want the victim's %q", got, crashPattern)
	}
}

// requireLockHeld checks, before a kill, that the victim really holds the
// lock of segment m: the lock's count is 0 and TryLock fails.
func requireLockHeld(t *testing.T, m *SharedMemory, who string) {
	t.Helper()
	if v := semValue(t, lockKeyFor(m.Key())); v != 0 {
		t.Fatalf("%s says it holds the lock, but the lock's count is %d", who, v)
	}
	if ok, err := m.TryLock(); ok || err != nil {
		if ok {
			_ = m.Unlock()
		}
		t.Fatalf("%s says it holds the lock, but TryLock here gave %v, %v", who, ok, err)
	}
}

// lockAfterCrash checks the lock of m after its holder was SIGKILLed: on
// System V it comes back by SEM_UNDO, on POSIX a timed Lock fails and
// RecoverLock makes it usable. The victim's pattern is still there.
func lockAfterCrash(t *testing.T, m *SharedMemory, typ KeyType) {
	t.Helper()
	if typ != PosixRealtime {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.LockContext(ctx); err != nil {
			t.Fatalf("System V: Lock after the holder was killed: %v (SEM_UNDO should give it back)", err)
		}
		countIfPassed(t, &crashFigures.undo)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("POSIX: Lock after the holder was killed: %v, want DeadlineExceeded (no undo)", err)
		}
		listed := testLibc() == "musl" // qipc ls is glibc's: it sees a musl semaphore as a segment
		for _, x := range qipcLs(t, lockKeyFor(m.Key())) {
			if x.Kind == "posix-sem" {
				listed = true
				if x.Value == nil || *x.Value != 0 {
					t.Errorf("qipc ls: dead holder's lock value %v, want 0", x.Value)
				}
			}
		}
		if !listed {
			t.Errorf("qipc ls does not list the dead holder's lock semaphore")
		}
		rec, err := RecoverLock(m.Key())
		if err != nil || !rec {
			t.Fatalf("RecoverLock: %v %v, want true", rec, err)
		}
		countIfPassed(t, &crashFigures.recovered)
		if err := m.Lock(); err != nil {
			t.Fatal(err)
		}
	}
	checkPattern(t, m)
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock after recovery: %v %v", ok, err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if v := semValue(t, lockKeyFor(m.Key())); v != 1 {
		t.Errorf("lock count at rest after recovery: %d, want 1", v)
	}
}

// pauseSteps are the calls inside create after which the pause library
// stops a creator, per backend, in the order create makes them.
func pauseSteps(typ KeyType) []string {
	if typ == PosixRealtime {
		return []string{"shm_open", "ftruncate"}
	}
	return []string{"shmget", "shmat"}
}

// TestCrashMatrix SIGKILLs the creator, an attacher, the lock holder and a
// semaphore holder of every peer kind on both Unix backends, and a creator
// stopped between two system calls of create; it checks what the victim
// did before its death (the lock held, the count taken, the bytes
// written), that the contents survive, that the lock is usable again and
// that qipc ls marks what is stale.
func TestCrashMatrix(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			for _, p := range crashPeers(typ) {
				t.Run(p.name, func(t *testing.T) {
					if why := p.posixSkip(); typ == PosixRealtime && why != "" {
						t.Skip(why)
					}
					p.require(t)
					crashCell(t, "creator-attached", func(t *testing.T) { crashCreator(t, p, typ) })
					crashCell(t, "attacher", func(t *testing.T) { crashAttacher(t, p, typ) })
					crashCell(t, "lock-holder", func(t *testing.T) { crashLockHolder(t, p, typ) })
					crashCell(t, "sem-holder", func(t *testing.T) { crashSemHolder(t, p, typ) })
					for _, step := range pauseSteps(typ) {
						crashCell(t, "during-create/"+step, func(t *testing.T) { crashDuringCreate(t, p, typ, step) })
					}
				})
			}
			crashCell(t, "go-creator-locked", func(t *testing.T) { crashCreatorLocked(t, typ) })
		})
	}
	crashFigures.Lock()
	defer crashFigures.Unlock()
	t.Logf("crash matrix: %d cells passed; POSIX locks recovered with RecoverLock: %d; System V locks returned by SEM_UNDO: %d; kills inside create: %v",
		crashFigures.cells, crashFigures.recovered, crashFigures.undo, crashFigures.pauses)
}

func crashCreator(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	creator := startCreator(t, p, k, 64, "--init", crashPatternHex)
	creator.kill()
	o, ok := lsSegment(t, k)
	if !ok || !o.Stale {
		t.Errorf("qipc ls after the creator was killed: %+v (found %v), want the segment marked stale", o, ok)
	}
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Attach(ReadWrite); err != nil {
		t.Fatalf("Attach after the creator was killed: %v", err)
	}
	if o, ok := lsSegment(t, k); ok && o.Stale {
		t.Errorf("qipc ls: segment still stale while attached: %v", o.Reasons)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	checkPattern(t, m)
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func crashAttacher(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	a := p.start(t, "attach", k, "--hold", "--init", crashPatternHex)
	expectLine(t, p.name+" attach", a.line(), "ok size=64")
	a.kill()
	if o, ok := lsSegment(t, k); !ok || o.Stale {
		t.Errorf("qipc ls after an attacher was killed: %+v (found %v), want present and not stale", o, ok)
	} else if typ != PosixRealtime && (o.Nattch == nil || *o.Nattch != 1) {
		t.Errorf("qipc ls nattch after the attacher died: %v, want 1", o.Nattch)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	checkPattern(t, m)
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func crashLockHolder(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	h, _ := p.startHolder(t, k, "--init", crashPatternHex)
	requireLockHeld(t, m, p.name)
	h.kill()
	lockAfterCrash(t, m, typ)
}

func crashSemHolder(t *testing.T, p peer, typ KeyType) {
	k := testSemKey(t, typ, p.legacyOnly)
	s, err := NewSemaphore(k, 1, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := p.start(t, "sem-acquire", k, "1", "--hold")
	expectLine(t, p.name+" sem-acquire", h.line(), "ok")
	if v, _ := s.Value(); v != 0 {
		t.Fatalf("count while %s holds it: %d, want 0", p.name, v)
	}
	h.kill()
	if typ != PosixRealtime {
		ok, err := s.AcquireTimeout(5 * time.Second)
		if !ok || err != nil {
			t.Fatalf("System V: Acquire after the holder was killed: %v %v (SEM_UNDO)", ok, err)
		}
		countIfPassed(t, &crashFigures.undo)
	} else {
		if ok, err := s.AcquireTimeout(100 * time.Millisecond); ok || err != nil {
			t.Fatalf("POSIX: a dead holder's count came back: %v %v", ok, err)
		}
		// A bare semaphore has no owner: the application that knows the
		// holder is dead gives its count back.
		if err := s.Release(1); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.TryAcquire(); !ok || err != nil {
			t.Fatalf("TryAcquire after Release: %v %v", ok, err)
		}
		countIfPassed(t, &crashFigures.recovered)
	}
	if v, _ := s.Value(); v != 0 {
		t.Errorf("count while held here: %d", v)
	}
	if err := s.Release(1); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Value(); v != 1 {
		t.Errorf("count at rest: %d, want 1", v)
	}
}

// pauseLib returns the pause library (peers/pause), built by make.
func pauseLib(t *testing.T) string {
	t.Helper()
	lib := filepath.Join(buildDir(), "libqipcpause.so")
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not built (make peers)", lib)
		}
		t.Skipf("%s is not built: run `make peers`", lib)
	}
	return lib
}

// waitStopped waits until the peer's process is stopped (state T), as the
// pause library leaves it.
func waitStopped(t *testing.T, pr *proc) {
	t.Helper()
	deadline := time.Now().Add(peerTimeout())
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pr.cmd.Process.Pid))
		if err != nil {
			t.Fatalf("%s: %v", pr.name, err)
		}
		// pid (comm) state ...: the state follows the last ')'.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 {
			switch f[0] {
			case "T", "t":
				return
			case "Z", "X":
				t.Fatalf("%s exited instead of stopping inside create", pr.name)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not stop inside create within %v", pr.name, peerTimeout())
		}
		time.Sleep(time.Millisecond)
	}
}

// crashDuringCreate stops a creator of peer kind p right after the call
// step inside create, checks what it had made and that it held the lock,
// kills it there, and shows that the key is usable again: POSIX needs
// RecoverLock (an Attach waits until then), System V gets the lock back by
// SEM_UNDO; a segment with its size is attachable and zero-filled, one
// killed before ftruncate is empty and is removed.
func crashDuringCreate(t *testing.T, p peer, typ KeyType, step string) {
	if testLibc() == "musl" && !p.glibc && p.name != "pyside6" {
		t.Skip("static musl binary: the pause library cannot be preloaded into it")
	}
	lib := pauseLib(t)
	k := testShmKey(t, typ, p.legacyOnly)
	const size = 4096
	if self := os.Getenv("QIPC_PAUSE_LIB_SELF"); p.name == "go" && self != "" {
		lib = self // the pause library built for this test binary's architecture (qemu)
	}
	c := p.startArgs(t, "create", p.args("create", k, strconv.Itoa(size)), []string{"LD_PRELOAD=" + lib, "QIPC_PAUSE_AT=" + step})
	waitStopped(t, c)
	// Stopped inside create: the lock is taken and the segment exists.
	if v := semValue(t, lockKeyFor(k)); v != 0 {
		t.Fatalf("stopped after %s: lock count %d, want 0 (create holds the lock)", step, v)
	}
	if o, ok := lsSegment(t, k); !ok {
		t.Fatalf("stopped after %s: no segment", step)
	} else if o.Stale {
		t.Errorf("qipc ls: segment of a live (stopped) creator marked stale: %v", o.Reasons)
	}
	c.kill()
	if o, ok := lsSegment(t, k); !ok || !o.Stale {
		t.Errorf("qipc ls after the creator died inside create: %+v (found %v), want stale", o, ok)
	}
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	done := make(chan error, 1)
	go func() { done <- m.Attach(ReadWrite) }()
	if typ == PosixRealtime {
		// No undo: the Attach waits for the dead creator's lock until it
		// is recovered.
		waitForWaiter(t, k, &proc{t: t, name: "Attach", lines: make(chan string)})
		select {
		case err := <-done:
			t.Fatalf("POSIX: Attach returned while a dead creator holds the lock: %v", err)
		default:
		}
		if rec, err := RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		countIfPassed(t, &crashFigures.recovered)
	} else {
		countIfPassed(t, &crashFigures.undo)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(peerTimeout()):
		t.Fatal("Attach still waiting after the lock came back")
	}
	if step == "shm_open" {
		// Killed before ftruncate: an empty segment, which nothing can map.
		if err == nil {
			t.Fatalf("Attach of a segment killed before ftruncate succeeded with size %d", m.Size())
		}
		t.Logf("Attach of the empty segment: %v", err)
		if err := RemoveSharedMemory(k); err != nil {
			t.Fatal(err)
		}
	} else {
		if err != nil {
			t.Fatalf("Attach after the creator died after %s: %v", step, err)
		}
		if m.Size() != size {
			t.Errorf("attached %d bytes, want %d", m.Size(), size)
		}
		for i, b := range m.Data() {
			if b != 0 {
				t.Fatalf("byte %d is %#x in a segment its creator never wrote", i, b)
			}
		}
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock after the crash: %v %v", ok, err)
		}
		if err := m.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := m.Detach(); err != nil {
			t.Fatal(err)
		}
		_ = RemoveSharedMemory(k)
	}
	// The key works again from scratch.
	fresh := NewSharedMemory(k)
	if err := fresh.Create(64, ReadWrite); err != nil {
		t.Fatalf("Create after the crash: %v", err)
	}
	fresh.Close()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		crashFigures.Lock()
		defer crashFigures.Unlock()
		if crashFigures.pauses == nil {
			crashFigures.pauses = map[string]int{}
		}
		crashFigures.pauses[step]++
	})
}

// crashCreatorLocked: a Go creator that wrote its pattern and then took
// the lock is killed holding it.
func crashCreatorLocked(t *testing.T, typ KeyType) {
	k := testShmKey(t, typ, false)
	c := relStart(t, "create-lock", k, "64")
	expectLine(t, "create-lock", c.line(), "ok locked")
	if v := semValue(t, lockKeyFor(k)); v != 0 {
		t.Fatalf("create-lock says it holds the lock, but its count is %d", v)
	}
	m := NewSharedMemory(k)
	defer closeWithin(t, m)
	if typ == PosixRealtime {
		c.kill()
		// Attach waits for the lock too; recover it first.
		if rec, err := RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		countIfPassed(t, &crashFigures.recovered)
		if err := m.Attach(ReadWrite); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock: %v %v", ok, err)
		}
		_ = m.Unlock()
		checkPattern(t, m)
		return
	}
	// System V: an Attach waiting for the holder's lock gets it back by
	// SEM_UNDO at the kill.
	done := make(chan error, 1)
	go func() { done <- m.Attach(ReadWrite) }()
	waitForWaiter(t, k, &proc{t: t, name: "Attach", lines: make(chan string)})
	c.kill()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	countIfPassed(t, &crashFigures.undo)
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	checkPattern(t, m)
	_ = m.Unlock()
}

// ---- RecoverLock ----

func TestRecoverLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			// No lock at all: ErrNotFound, nothing made on POSIX.
			if rec, err := RecoverLock(k); rec || !errors.Is(err, ErrNotFound) {
				t.Fatalf("RecoverLock without a lock: %v %v", rec, err)
			}
			if typ == PosixRealtime {
				if _, err := os.Stat(glibcsem.SemFile(lockKeyFor(k).Native)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("RecoverLock made a lock semaphore: %v", err)
				}
			}
			m := mustCreate(t, k, 8)
			// Free lock: nothing changes.
			if rec, err := RecoverLock(k); rec || err != nil {
				t.Fatalf("RecoverLock of a free lock: %v %v", rec, err)
			}
			if v := semValue(t, lockKeyFor(k)); v != 1 {
				t.Fatalf("count after RecoverLock of a free lock: %d", v)
			}
			// Simulated dead holder: the count taken without anyone to give it back.
			lock, err := NewSemaphore(lockKeyFor(k), 1, SemaphoreOpen, WithoutCleanup())
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := lock.TryAcquire(); !ok {
				t.Fatal("could not take the lock")
			}
			lock.Close()
			if typ == SystemV {
				// SEM_UNDO gives the count back when the process exits, not
				// on close: within this process it is still taken.
				t.Log("System V: RecoverLock only needed for holders without SEM_UNDO")
			}
			rec, err := m.LockOrRecover(context.Background(), 100*time.Millisecond)
			if !rec || err != nil {
				t.Fatalf("LockOrRecover: %v %v", rec, err)
			}
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
			if v := semValue(t, lockKeyFor(k)); v != 1 {
				t.Fatalf("count after recovery: %d, want 1", v)
			}
			if rec, err := RecoverLock(Key{Type: typ}); rec || !errors.Is(err, ErrKey) {
				t.Errorf("RecoverLock(empty key): %v %v", rec, err)
			}
		})
	}
}

// ---- signals ----

// TestSignalsDuringAcquire: thousands of signals aimed at the thread
// blocked in the OS wait (EINTR) never end an Acquire or Lock early.
func TestSignalsDuringAcquire(t *testing.T) {
	n := scaled(3000, 50000)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			sigs := make(chan os.Signal, 64)
			signal.Notify(sigs, syscall.SIGUSR1)
			defer signal.Stop(sigs)
			go func() {
				for range sigs {
				}
			}()
			k := testSemKey(t, typ, false)
			s, err := NewSemaphore(k, 0, SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tid := make(chan int, 1)
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				tid <- syscall.Gettid()
				done <- s.Acquire()
			}()
			th := <-tid
			pid := os.Getpid()
			sent := 0
			for i := 0; i < n; i++ {
				if err := syscall.Tgkill(pid, th, syscall.SIGUSR1); err == nil {
					sent++
				}
				// Process-directed too, to reach whatever thread is in the wait.
				if i%4 == 0 {
					_ = syscall.Kill(pid, syscall.SIGUSR1)
					sent++
				}
				select {
				case err := <-done:
					t.Fatalf("Acquire returned after %d signals without a release: %v", sent, err)
				default:
				}
			}
			select {
			case err := <-done:
				t.Fatalf("Acquire returned without a release: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			if err := s.Release(1); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Acquire after %d signals: %v", sent, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Acquire not woken by Release")
			}
			if v, _ := s.Value(); v != 0 {
				t.Errorf("count after Acquire: %d", v)
			}
			t.Logf("%s: %d signals during one Acquire, no spurious return", shmKind(typ), sent)
		})
	}
}

// ---- Close racing Lock ----

// TestCloseRacesLock: goroutines locking and unlocking one object while
// another goroutine closes it: every call returns nil or ErrClosed, nothing
// panics, and the lock is free afterwards for other objects.
func TestCloseRacesLock(t *testing.T) {
	rounds := scaled(20, 500)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			owner := mustCreate(t, k, 8)
			var okLocks, closedLocks atomic.Int64
			for r := range rounds {
				m := NewSharedMemory(k)
				if err := m.Attach(ReadWrite); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							err := m.Lock()
							if errors.Is(err, ErrClosed) {
								closedLocks.Add(1)
								return
							}
							if err != nil {
								t.Errorf("Lock: %v", err)
								return
							}
							okLocks.Add(1)
							if err := m.Unlock(); err != nil && !errors.Is(err, ErrNotLocked) {
								t.Errorf("Unlock: %v", err)
								return
							}
						}
					}()
				}
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				if err := m.Close(); err != nil {
					t.Fatalf("round %d: Close: %v", r, err)
				}
				wg.Wait()
				if ok, err := owner.TryLock(); !ok || err != nil {
					t.Fatalf("round %d: lock left taken after Close: %v %v", r, ok, err)
				}
				_ = owner.Unlock()
			}
			t.Logf("%d rounds: %d locks taken, %d ended by Close, lock free after every round", rounds, okLocks.Load(), closedLocks.Load())
		})
	}
}

// TestLockWaiterWhenSegmentGoes: a Lock waiting in another goroutine when
// this object's last Detach (or Close) removes the System V segment ends
// cleanly once the lock goes: it must not follow the removal, make a fresh
// lock semaphore and key file that nothing removes, and leave Unlock
// without a semaphore. The lock goes at the end of the hold the Detach ran
// under (COMPAT.md #14: Unlock, which must succeed), or at once under
// Close, which takes the hold over. Found by a second reading of the
// close-safe change; the order of the end by an adversarial review.
func TestLockWaiterWhenSegmentGoes(t *testing.T) {
	rounds := scaled(50, 1000)
	for _, viaClose := range []bool{false, true} {
		name, want := "detach", ErrNotAttached
		if viaClose {
			name, want = "close", ErrClosed
		}
		for _, legacy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/legacy=%v", name, legacy), func(t *testing.T) {
				k := testShmKey(t, SystemV, legacy)
				for r := range rounds {
					m := NewSharedMemory(k)
					if err := m.Create(64, ReadWrite); err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					if err := m.Lock(); err != nil {
						t.Fatal(err)
					}
					waiter := make(chan error, 1)
					go func() { waiter <- m.Lock() }()
					if r%2 == 0 {
						for m.lock.state.Load()&lockQueued == 0 {
							runtime.Gosched() // until it waits for the turn
						}
					}
					var err error
					if viaClose {
						err = m.Close()
					} else {
						err = m.Detach()
					}
					if err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					unlockErr := m.Unlock()
					switch {
					case viaClose && !errors.Is(unlockErr, ErrNotLocked):
						t.Fatalf("round %d: Unlock after Close took the lock over: %v, want ErrNotLocked", r, unlockErr)
					case !viaClose && unlockErr != nil:
						t.Fatalf("round %d: Unlock after a Detach under the lock: %v, want nil (the lock stays held until Unlock)", r, unlockErr)
					}
					if err := within(t, "the waiting Lock", waiter); !errors.Is(err, want) {
						t.Fatalf("round %d: waiting Lock returned %v, want %v", r, err, want)
					}
					closeWithin(t, m)
					for _, f := range []string{k.Native, k.LockKey().Native} {
						if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
							t.Fatalf("round %d: key file %s left behind (%v)", r, f, err)
						}
					}
				}
			})
		}
	}
}

// ---- bad input ----

// shmEntries lists /dev/shm entries and qipct key files in /tmp that
// contain sub, to prove a failed call made nothing.
func shmEntries(t *testing.T, sub string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), sub) {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// TestBadInputTable: every bad input is a clear error of the right kind
// and leaves nothing behind.
func TestBadInputTable(t *testing.T) {
	tag := fmt.Sprintf("qipct_bad_%d_", os.Getpid())
	long := strings.Repeat("x", 300)
	cases := []struct {
		name string
		k    Key
		size int
		want error // sentinel errors.Is must match
	}{
		{"posix-empty-key", Key{Type: PosixRealtime}, 64, ErrKey},
		{"sysv-empty-key", Key{Type: SystemV}, 64, ErrKey},
		{"invalid-type", Key{Type: 0x4242, Native: "/" + tag + "t"}, 64, ErrKey},
		{"posix-slash-inside", NewKey("/"+tag+"a/b", PosixRealtime), 64, ErrKey},
		{"posix-over-NAME_MAX", NewKey("/"+tag+long, PosixRealtime), 64, ErrKey},
		{"sysv-over-NAME_MAX", NewKey(os.TempDir()+"/"+tag+long, SystemV), 64, ErrKey},
		{"posix-NUL", NewKey("/"+tag+"nul\x00x", PosixRealtime), 64, ErrKey},
		{"sysv-NUL", NewKey(os.TempDir()+"/"+tag+"nul\x00x", SystemV), 64, ErrKey},
		{"posix-invalid-UTF-8", NewKey("/"+tag+"\xff\xfe", PosixRealtime), 64, ErrKey},
		{"posix-size-0", NewKey("/"+tag+"s0", PosixRealtime), 0, ErrInvalidSize},
		{"posix-size--1", NewKey("/"+tag+"s1", PosixRealtime), -1, ErrInvalidSize},
		{"sysv-size-0", NewKey(os.TempDir()+"/"+tag+"s0", SystemV), 0, ErrInvalidSize},
		{"sysv-size--1", NewKey(os.TempDir()+"/"+tag+"s1", SystemV), -1, ErrInvalidSize},
		{"posix-size-2^62", NewKey("/"+tag+"huge", PosixRealtime), 1 << 62, ErrOutOfResources},
		{"sysv-size-2^62", NewKey(os.TempDir()+"/"+tag+"huge", SystemV), 1 << 62, ErrOutOfResources},
		{"sysv-above-RAM-64GiB", NewKey(os.TempDir()+"/"+tag+"ram", SystemV), 64 << 30, ErrOutOfResources},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				for _, p := range shmEntries(t, tag) {
					os.Remove(p)
				}
			}()
			m := NewSharedMemory(c.k)
			err := m.Create(c.size, ReadWrite)
			m.Close()
			var serr error
			if c.size == 64 { // key cases: the semaphore API too
				var s *Semaphore
				s, serr = NewSemaphore(c.k, 1, SemaphoreOpen)
				if serr == nil {
					s.Close() // owner: removes what it made
				}
			}
			left := shmEntries(t, tag)
			// Keys from NewKey have no lock, so musl, which refuses a Qt
			// 6.6+ POSIX segment's lock, takes them too.
			if !errors.Is(err, c.want) {
				t.Errorf("Create(%d): %v, want %v", c.size, err, c.want)
			}
			if c.size == 64 && !errors.Is(serr, c.want) {
				t.Errorf("NewSemaphore: %v, want %v", serr, c.want)
			}
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	// Above RAM on POSIX: ftruncate makes a sparse file and the mapping is
	// lazy, so Linux grants it; it must cost nothing and go away cleanly.
	t.Run("posix-above-RAM-64GiB", func(t *testing.T) {
		k := testShmKey(t, PosixRealtime, false)
		m := NewSharedMemory(k)
		err := m.Create(64<<30, ReadWrite)
		if err != nil && !errors.Is(err, ErrOutOfResources) {
			t.Fatalf("Create(64 GiB): %v", err)
		}
		if err == nil {
			m.Data()[0] = 1 // touches one page only
		}
		m.Close()
		left := shmEntries(t, filepath.Base(k.Native))
		if hidden := procsHidden(); err != nil && hidden != "" && len(left) == 1 && strings.Contains(left[0], "/sem.") {
			t.Logf("%s: the failed Create keeps its lock %v", hidden, left)
		} else if len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("semaphore-counts", func(t *testing.T) {
		for _, typ := range []KeyType{PosixRealtime, SystemV} {
			s, err := NewSemaphore(testSemKey(t, typ, false), 1, SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Release(0); err != nil {
				t.Errorf("%v Release(0): %v (Qt: no-op)", typ, err)
			}
			if err := s.Release(-1); !errors.Is(err, ErrInvalidCount) {
				t.Errorf("%v Release(-1): %v", typ, err)
			}
			if _, err := NewSemaphore(testSemKey(t, typ, false), -1, SemaphoreCreate); !errors.Is(err, ErrInvalidCount) {
				t.Errorf("%v initial -1: %v", typ, err)
			}
			// Past SEMVMX (System V 32767, POSIX SEM_VALUE_MAX 2^31-1).
			past := 32767
			if typ == PosixRealtime {
				past = 1<<31 - 1 // refused before any post: count + n > SEM_VALUE_MAX

			}
			if err := s.Release(past); !errors.Is(err, ErrOutOfResources) {
				t.Errorf("%v Release(%d) past the maximum: %v, want ErrOutOfResources", typ, past, err)
			}
			if typ == PosixRealtime {
				if err := s.Release(1 << 31); !errors.Is(err, ErrOutOfResources) {
					t.Errorf("POSIX Release(1<<31): %v, want ErrOutOfResources", err)
				}
			}
			if v, _ := s.Value(); v != 1 {
				t.Errorf("%v count after failed releases: %d, want 1 (no partial post)", typ, v)
			}
			s.Close()
			if err := s.Release(1); !errors.Is(err, ErrClosed) {
				t.Errorf("%v Release after Close: %v", typ, err)
			}
			if err := s.Acquire(); !errors.Is(err, ErrClosed) {
				t.Errorf("%v Acquire after Close: %v", typ, err)
			}
			if _, err := s.Value(); !errors.Is(err, ErrClosed) {
				t.Errorf("%v Value after Close: %v", typ, err)
			}
		}
	})
	t.Run("state-errors", func(t *testing.T) {
		for _, typ := range []KeyType{PosixRealtime, SystemV} {
			k := testShmKey(t, typ, false)
			m := NewSharedMemory(k)
			if err := m.Lock(); !errors.Is(err, ErrLock) || !errors.Is(err, ErrNotAttached) {
				t.Errorf("%v Lock before Attach: %v", typ, err)
			}
			if err := m.Detach(); !errors.Is(err, ErrNotAttached) {
				t.Errorf("%v Detach before Attach: %v", typ, err)
			}
			if err := m.Create(64, ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); !errors.Is(err, ErrNotAttached) {
				t.Errorf("%v double Detach: %v", typ, err)
			}
			m.Close()
			for name, err := range map[string]error{
				"Create": m.Create(64, ReadWrite), "Attach": m.Attach(ReadOnly), "Lock": m.Lock(), "Close": m.Close(),
			} {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%v %s after Close: %v", typ, name, err)
				}
			}
			if m.Data() != nil {
				t.Errorf("%v Data after Close is not nil", typ)
			}
		}
	})
}

// TestLockWhileSemaphoreRecreated: a Lock waiting (for its object's turn)
// while another goroutine holds the lock, when another process removes the
// System V lock semaphore, follows Qt onto the recreated one: the first
// Unlock must not post the count onto the recreated semaphore (which would
// then let two holders in), the second Lock takes the recreated one, and
// Unlock, Lock and Close all still work. Found by review.
func TestLockWhileSemaphoreRecreated(t *testing.T) {
	k := testShmKey(t, SystemV, false)
	m := mustCreate(t, k, 8)
	if err := m.Lock(); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- m.Lock() }()
	for m.lock.state.Load()&lockQueued == 0 {
		runtime.Gosched() // until the second Lock waits for the turn
	}
	if err := RemoveSemaphore(lockKeyFor(k)); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock of the first Lock: %v", err)
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second Lock: %v", err)
		}
	case <-time.After(peerTimeout()):
		t.Fatal("second Lock never returned")
	}
	if v, err := m.lock.sem.Load().Value(); v != 0 || err != nil {
		t.Fatalf("recreated lock held by the second Lock has count %d (%v), want 0: one more holder could get in", v, err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock of the second Lock: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(peerTimeout()):
		t.Fatal("Close hung")
	}
}

// TestCloseAfterRemovingDetach: Close after the Detach that removed the
// System V segment (and retired its lock) succeeds, and Lock then says
// ErrClosed. Found by review.
func TestCloseAfterRemovingDetach(t *testing.T) {
	k := testShmKey(t, SystemV, false)
	m := NewSharedMemory(k)
	if err := m.Create(8, ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := m.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Lock after the removing Detach: %v, want ErrNotAttached", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close after the removing Detach: %v", err)
	}
	if err := m.Lock(); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock after Close: %v, want ErrClosed", err)
	}
}

// TestCloseEndsAttachWaitingForLock: Close ends an Attach that waits for a
// lock another process holds, also when Close begins while the Attach is
// still binding the lock semaphore. Found by review.
func TestCloseEndsAttachWaitingForLock(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			mustCreate(t, k, 8)
			holder, _ := gop.startHolder(t, k)
			for r := range scaled(100, 2000) {
				m := NewSharedMemory(k)
				attached := make(chan error, 1)
				go func() { attached <- m.Attach(ReadWrite) }()
				if r%2 == 1 {
					time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				}
				closed := make(chan error, 1)
				go func() { closed <- m.Close() }()
				for _, c := range []chan error{attached, closed} {
					select {
					case <-c:
					case <-time.After(peerTimeout()):
						t.Fatalf("round %d: Attach or Close still waiting for a lock another process holds", r)
					}
				}
			}
			holder.release()
			holder.stamp("ok unlocked at=")
		})
	}
}

// TestOrphanedLegacyLockIsStale: qipc ls marks a legacy lock semaphore
// whose segment's key file is gone, whose last user is dead and whose
// count is free as stale (an orphan), so that clean --stale finds what
// older versions and crashed Qt programs leave.
func TestOrphanedLegacyLockIsStale(t *testing.T) {
	k := testShmKey(t, SystemV, true)
	c := relStart(t, "orphan-lock", k, "0")
	expectLine(t, "orphan-lock", c.line(), "ok")
	c.finish()
	found := false
	for _, o := range qipcLs(t, lockKeyFor(k)) {
		if o.Kind == "sysv-sem" {
			found = true
			if !o.Stale || !strings.Contains(strings.Join(o.Reasons, ";"), "orphaned lock") {
				t.Errorf("qipc ls: orphaned lock %+v not marked stale as an orphan", o)
			}
		}
	}
	if !found {
		t.Fatal("qipc ls does not list the orphaned lock semaphore")
	}
}

// TestLegacyLockNotOrphaned: a legacy lock semaphore whose segment's key
// file is gone is no orphan while its last user runs (it may be between
// its lock's open and its segment's) or while its count is taken (its
// holder may be out of this process's sight: another PID namespace).
func TestLegacyLockNotOrphaned(t *testing.T) {
	for _, tc := range []struct {
		cmd, what string
		value     int
	}{
		{"orphan-lock-live", "its last user runs", 1},
		{"orphan-lock-taken", "its count is 0", 0},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			k := testShmKey(t, SystemV, true)
			c := relStart(t, tc.cmd, k, "0")
			expectLine(t, tc.cmd, c.line(), "ok")
			if tc.cmd == "orphan-lock-taken" {
				c.finish()
			}
			found := false
			for _, o := range qipcLs(t, lockKeyFor(k)) {
				if o.Kind != "sysv-sem" {
					continue
				}
				found = true
				// The other conditions of an orphan hold: only the one
				// the case is about keeps it.
				if o.Value == nil || *o.Value != tc.value || o.Lpid != c.cmd.Process.Pid {
					t.Fatalf("qipc ls: %+v; want count %d, last used by the peer (pid %d)", o, tc.value, c.cmd.Process.Pid)
				}
				if o.Stale {
					t.Errorf("qipc ls: the lock semaphore is stale, although %s: %v", tc.what, o.Reasons)
				}
			}
			if !found {
				t.Fatal("qipc ls does not list the lock semaphore")
			}
		})
	}
}

// TestContextsEndWaitsForDeadHolder: a POSIX lock whose holder was killed
// is never given back; CreateContext, AttachContext and DetachContext give
// up at their deadline instead of waiting for ever (Detach leaving the
// segment attached), and work again once the lock is recovered.
func TestContextsEndWaitsForDeadHolder(t *testing.T) {
	k := testShmKey(t, PosixRealtime, false)
	m := mustCreate(t, k, 64)
	h, _ := gop.startHolder(t, k)
	h.kill()
	deadline := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	other := NewSharedMemory(k)
	defer closeWithin(t, other)
	if err := other.AttachContext(deadline(), ReadWrite); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrLock) {
		t.Errorf("AttachContext behind a dead holder: %v, want a LockError matching DeadlineExceeded", err)
	}
	if err := NewSharedMemory(k).CreateContext(deadline(), 64, ReadWrite); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateContext behind a dead holder: %v, want DeadlineExceeded", err)
	}
	if err := m.DetachContext(deadline()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DetachContext behind a dead holder: %v, want DeadlineExceeded", err)
	}
	if !m.IsAttached() {
		t.Fatal("a DetachContext that gave up detached anyway")
	}
	if rec, err := RecoverLock(k); !rec || err != nil {
		t.Fatalf("RecoverLock: %v %v", rec, err)
	}
	if err := other.AttachContext(deadline(), ReadWrite); err != nil {
		t.Fatalf("AttachContext after recovery: %v", err)
	}
	if err := m.DetachContext(deadline()); err != nil {
		t.Fatalf("DetachContext after recovery: %v", err)
	}
}

// TestKilledSpinningWaiter: a Go waiter told to spin for minutes spins
// (its CPU time grows while the kernel counts no waiter on the lock), is
// killed there, and leaves the lock exactly as a killed sleeper does: the
// holder's count untouched, and once it unlocks, the lock free for others.
func TestKilledSpinningWaiter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, typ KeyType) {
		if !multiCPU {
			t.Skip("one CPU: the library does not spin")
		}
		k := testShmKey(t, typ, false)
		mustCreate(t, k, 8)
		w := gop.start(t, "hold-lock", k, "--barrier", "--spin", "10m")
		expectLine(t, "go hold-lock", w.line(), "ok attached")
		h, _ := peerNamed("c").startHolder(t, k)
		w.send("go")
		before := cpuTicks(t, w)
		deadline := time.Now().Add(peerTimeout())
		for cpuTicks(t, w) < before+10 { // 100 ms of CPU: it spins
			if time.Now().After(deadline) {
				t.Fatalf("the waiter used no CPU for %v: it does not spin", peerTimeout())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n, ok := lockWaiters(t, k); ok && n != 0 {
			t.Fatalf("%d waiters blocked in the kernel while the Go waiter spins", n)
		}
		w.kill()
		if n, ok := lockCount(t, k); ok && n != 0 {
			t.Fatalf("lock count %d after the spinning waiter was killed, want 0 (the holder's)", n)
		}
		h.release()
		h.finish()
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(ReadWrite); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock after the holder unlocked: %v %v", ok, err)
		}
		_ = m.Unlock()
	})
}

// cpuTicks is the user+system CPU time of the peer's process, in clock
// ticks (/proc/PID/stat fields 14 and 15).
func cpuTicks(t *testing.T, pr *proc) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pr.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("%s: %v", pr.name, err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime + stime
}
