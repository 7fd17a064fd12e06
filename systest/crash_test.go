//go:build cgo && linux

package systest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
	"github.com/qipc-go/qipc/peers/gopeer"
)

// The crash matrix: processes SIGKILLed at each step of the lifecycle, and
// what the survivors and `qipc ls` find afterwards.

// ---- qipc ls ----

// qipcTool is the qipc command (cmd/qipc), built once per run for this
// machine, where other users can run it too.
func qipcTool(t *testing.T) string {
	t.Helper()
	argv := qipcProgram.Require(t, "qipc")
	return argv[len(argv)-1]
}

var qipcProgram = harness.Built("./cmd/qipc", "")

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
func qipcLs(t *testing.T, k qipc.Key) []lsObject {
	t.Helper()
	bin := qipcTool(t)
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
func lsSegment(t *testing.T, k qipc.Key) (lsObject, bool) {
	t.Helper()
	for _, o := range qipcLs(t, k) {
		if strings.HasSuffix(o.Kind, "-shm") {
			return o, true
		}
	}
	return lsObject{}, false
}

func shmKind(typ qipc.KeyType) string {
	if typ == qipc.PosixRealtime {
		return "posix"
	}
	return "sysv"
}

// ---- crash matrix ----

// crashPeers are the peer kinds that serve typ.
func crashPeers(typ qipc.KeyType) []peer {
	var out []peer
	for _, p := range peers {
		if typ == qipc.PosixRealtime && p.posix || typ != qipc.PosixRealtime && p.sysv {
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

var crashPatternHex = hex.EncodeToString([]byte(gopeer.CrashPattern))

func checkPattern(t *testing.T, m *qipc.SharedMemory) {
	t.Helper()
	if got := string(m.Data()[:len(gopeer.CrashPattern)]); got != gopeer.CrashPattern {
		t.Errorf("contents after the crash: %q, want the victim's %q", got, gopeer.CrashPattern)
	}
}

// requireLockHeld checks, before a kill, that the victim really holds the
// lock of segment m: the lock's count is 0 and TryLock fails.
func requireLockHeld(t *testing.T, m *qipc.SharedMemory, who string) {
	t.Helper()
	if v := semValue(t, m.Key().LockKey()); v != 0 {
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
// System V it comes back by SEM_UNDO, on POSIX a gopeer.Timed Lock fails and
// RecoverLock makes it usable. The victim's pattern is still there.
func lockAfterCrash(t *testing.T, m *qipc.SharedMemory, typ qipc.KeyType) {
	t.Helper()
	if typ != qipc.PosixRealtime {
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
		for _, x := range qipcLs(t, m.Key().LockKey()) {
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
		rec, err := qipc.RecoverLock(m.Key())
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
	if v := semValue(t, m.Key().LockKey()); v != 1 {
		t.Errorf("lock count at rest after recovery: %d, want 1", v)
	}
}

// pauseSteps are the calls inside create after which the pause library
// stops a creator, per backend, in the order create makes them.
func pauseSteps(typ qipc.KeyType) []string {
	if typ == qipc.PosixRealtime {
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
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			for _, p := range crashPeers(typ) {
				t.Run(p.name, func(t *testing.T) {
					if why := p.posixSkip(); typ == qipc.PosixRealtime && why != "" {
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

func crashCreator(t *testing.T, p peer, typ qipc.KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	creator := startCreator(t, p, k, 64, "--init", crashPatternHex)
	creator.Kill()
	o, ok := lsSegment(t, k)
	if !ok || !o.Stale {
		t.Errorf("qipc ls after the creator was killed: %+v (found %v), want the segment marked stale", o, ok)
	}
	m := qipc.NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Attach(qipc.ReadWrite); err != nil {
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

func crashAttacher(t *testing.T, p peer, typ qipc.KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	a := p.start(t, "attach", k, "--hold", "--init", crashPatternHex)
	expectLine(t, p.name+" attach", a.Line(), "ok size=64")
	a.Kill()
	if o, ok := lsSegment(t, k); !ok || o.Stale {
		t.Errorf("qipc ls after an attacher was killed: %+v (found %v), want present and not stale", o, ok)
	} else if typ != qipc.PosixRealtime && (o.Nattch == nil || *o.Nattch != 1) {
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

func crashLockHolder(t *testing.T, p peer, typ qipc.KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	h, _ := p.startHolder(t, k, "--init", crashPatternHex)
	requireLockHeld(t, m, p.name)
	h.Kill()
	lockAfterCrash(t, m, typ)
}

func crashSemHolder(t *testing.T, p peer, typ qipc.KeyType) {
	k := testSemKey(t, typ, p.legacyOnly)
	s, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := p.start(t, "sem-acquire", k, "1", "--hold")
	expectLine(t, p.name+" sem-acquire", h.Line(), "ok")
	if v, _ := s.Value(); v != 0 {
		t.Fatalf("count while %s holds it: %d, want 0", p.name, v)
	}
	h.Kill()
	if typ != qipc.PosixRealtime {
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
	lib := filepath.Join(harness.BuildDir(), "libqipcpause.so")
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
	deadline := time.Now().Add(harness.Timeout())
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pr.Cmd.Process.Pid))
		if err != nil {
			t.Fatalf("%s: %v", pr.Name, err)
		}
		// pid (comm) state ...: the state follows the last ')'.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 {
			switch f[0] {
			case "T", "t":
				return
			case "Z", "X":
				t.Fatalf("%s exited instead of stopping inside create", pr.Name)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not stop inside create within %v", pr.Name, harness.Timeout())
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
func crashDuringCreate(t *testing.T, p peer, typ qipc.KeyType, step string) {
	if testLibc() == "musl" && !p.glibc && p.name != "pyside6" {
		t.Skip("static musl binary: the pause library cannot be preloaded into it")
	}
	lib := pauseLib(t)
	k := testShmKey(t, typ, p.legacyOnly)
	const size = 4096
	if self := os.Getenv("QIPC_PAUSE_LIB_SELF"); self != "" && (p.name == "go" || p.name == "c" && !p.glibc) {
		lib = self // the pause library built for this test binary's architecture (qemu, 386)
	}
	c := p.startArgs(t, "create", p.args("create", k, strconv.Itoa(size)), []string{"LD_PRELOAD=" + lib, "QIPC_PAUSE_AT=" + step})
	waitStopped(t, c)
	// Stopped inside create: the lock is taken and the segment exists.
	if v := semValue(t, k.LockKey()); v != 0 {
		t.Fatalf("stopped after %s: lock count %d, want 0 (create holds the lock)", step, v)
	}
	if o, ok := lsSegment(t, k); !ok {
		t.Fatalf("stopped after %s: no segment", step)
	} else if o.Stale {
		t.Errorf("qipc ls: segment of a live (stopped) creator marked stale: %v", o.Reasons)
	}
	c.Kill()
	if o, ok := lsSegment(t, k); !ok || !o.Stale {
		t.Errorf("qipc ls after the creator died inside create: %+v (found %v), want stale", o, ok)
	}
	m := qipc.NewSharedMemory(k)
	defer closeWithin(t, m)
	done := make(chan error, 1)
	go func() { done <- m.Attach(qipc.ReadWrite) }()
	if typ == qipc.PosixRealtime {
		// No undo: the Attach waits for the dead creator's lock until it
		// is recovered.
		waitForWaiter(t, k, "Attach", nil)
		select {
		case err := <-done:
			t.Fatalf("POSIX: Attach returned while a dead creator holds the lock: %v", err)
		default:
		}
		if rec, err := qipc.RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		countIfPassed(t, &crashFigures.recovered)
	} else {
		countIfPassed(t, &crashFigures.undo)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(harness.Timeout()):
		t.Fatal("Attach still waiting after the lock came back")
	}
	if step == "shm_open" {
		// Killed before ftruncate: an empty segment, which nothing can map.
		if err == nil {
			t.Fatalf("Attach of a segment killed before ftruncate succeeded with size %d", m.Size())
		}
		t.Logf("Attach of the empty segment: %v", err)
		if err := qipc.RemoveSharedMemory(k); err != nil {
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
		_ = qipc.RemoveSharedMemory(k)
	}
	// The key works again from scratch.
	fresh := qipc.NewSharedMemory(k)
	if err := fresh.Create(64, qipc.ReadWrite); err != nil {
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
func crashCreatorLocked(t *testing.T, typ qipc.KeyType) {
	k := testShmKey(t, typ, false)
	c := relStart(t, "create-lock", k, "64")
	expectLine(t, "create-lock", c.Line(), "ok locked")
	if v := semValue(t, k.LockKey()); v != 0 {
		t.Fatalf("create-lock says it holds the lock, but its count is %d", v)
	}
	m := qipc.NewSharedMemory(k)
	defer closeWithin(t, m)
	if typ == qipc.PosixRealtime {
		c.Kill()
		// Attach waits for the lock too; recover it first.
		if rec, err := qipc.RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		countIfPassed(t, &crashFigures.recovered)
		if err := m.Attach(qipc.ReadWrite); err != nil {
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
	go func() { done <- m.Attach(qipc.ReadWrite) }()
	waitForWaiter(t, k, "Attach", nil)
	c.Kill()
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
