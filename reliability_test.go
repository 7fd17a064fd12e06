//go:build cgo && linux

package qipc

import (
	"bufio"
	"context"
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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
// holds the states the protocol's peers cannot stop in (inside Create with
// the lock held; creator holding the lock). It runs before TestMain, and
// before the init functions of the cgo files (the go command compiles
// those last), so it registers their backends itself.
func init() {
	if os.Getenv("QIPC_RELPEER") != "1" {
		return
	}
	registerBackend(PosixRealtime, posixBackend{})
	registerBackend(SystemV, sysvBackend{})
	os.Exit(relPeerMain(os.Args[1:]))
}

func relPeerMain(args []string) int {
	if len(args) < 3 {
		fmt.Println("err usage")
		return 2
	}
	k, err := ParseKey(args[1])
	if err != nil {
		return peerFail(os.Stdout, err)
	}
	var size int
	fmt.Sscan(args[2], &size)
	wait := func() { _, _ = io.Copy(io.Discard, os.Stdin) }
	switch args[0] {
	case "mid-create":
		// What Create does up to the point where it has made and mapped
		// the segment but not yet released the lock.
		lock, err := NewSemaphore(lockKeyFor(k), 1, Open, WithoutCleanup())
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := lock.Acquire(); err != nil {
			return peerFail(os.Stdout, err)
		}
		b, _ := backendFor("relpeer", k)
		seg, err := b.createSegment(k, size, ReadWrite, 0o600)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		copy(seg.bytes(), "midcreate")
		fmt.Println("ok mid-create")
		wait()
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
	case "create-lock":
		m := NewSharedMemory(k)
		if err := m.Create(size, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		copy(m.Data(), "crashpattern")
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

func relStart(t *testing.T, cmd string, k Key, size string) *proc {
	t.Helper()
	c := exec.Command(os.Args[0], cmd, k.String(), size)
	c.Env = append(os.Environ(), "QIPC_RELPEER=1")
	c.Stderr = &testWriter{t: t, prefix: "relpeer: "}
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pr := &proc{t: t, name: "relpeer", cmd: c, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(pr.finish)
	return pr
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
}

// qipcLs runs `qipc ls --json --match` with the base name of k's native key.
func qipcLs(t *testing.T, k Key) []lsObject {
	t.Helper()
	bin, err := qipcTool()
	if err != nil {
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

var crashFigures struct {
	sync.Mutex
	cells, recovered, undo int
	randomKills            map[string]int
}

func crashFigure(f func()) {
	crashFigures.Lock()
	defer crashFigures.Unlock()
	if crashFigures.randomKills == nil {
		crashFigures.randomKills = map[string]int{}
	}
	f()
}

const crashPattern = "crashpattern"

// lockAfterCrash checks the lock of m after its holder was SIGKILLed: on
// System V it comes back by SEM_UNDO, on POSIX a timed Lock fails and
// RecoverLock makes it usable.
func lockAfterCrash(t *testing.T, m *SharedMemory, typ KeyType) {
	t.Helper()
	if typ != PosixRealtime {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.LockContext(ctx); err != nil {
			t.Fatalf("System V: Lock after the holder was killed: %v (SEM_UNDO should give it back)", err)
		}
		crashFigure(func() { crashFigures.undo++ })
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("POSIX: Lock after the holder was killed: %v, want DeadlineExceeded (no undo)", err)
		}
		for _, x := range qipcLs(t, lockKeyFor(m.Key())) {
			if x.Kind == "posix-sem" && (x.Value == nil || *x.Value != 0) {
				t.Errorf("qipc ls: dead holder's lock value %v, want 0", x.Value)
			}
		}
		rec, err := RecoverLock(m.Key())
		if err != nil || !rec {
			t.Fatalf("RecoverLock: %v %v, want true", rec, err)
		}
		crashFigure(func() { crashFigures.recovered++ })
		if err := m.Lock(); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(m.Data()[:len(crashPattern)]); got != crashPattern {
		t.Errorf("contents after the crash: %q, want %q", got, crashPattern)
	}
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

// TestCrashMatrix SIGKILLs the creator, an attacher, the lock holder and a
// semaphore holder of every peer kind on both Unix backends, and checks
// that the contents survive, the lock is usable again and qipc ls marks
// what is stale.
func TestCrashMatrix(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			for _, p := range crashPeers(typ) {
				t.Run(p.name, func(t *testing.T) {
					p.require(t)
					t.Run("creator-attached", func(t *testing.T) { crashCreator(t, p, typ) })
					t.Run("attacher", func(t *testing.T) { crashAttacher(t, p, typ) })
					t.Run("lock-holder", func(t *testing.T) { crashLockHolder(t, p, typ) })
					t.Run("sem-holder", func(t *testing.T) { crashSemHolder(t, p, typ) })
					t.Run("during-create", func(t *testing.T) { crashDuringCreate(t, p, typ) })
					crashFigure(func() { crashFigures.cells += 5 })
				})
			}
			t.Run("go-creator-locked", func(t *testing.T) { crashCreatorLocked(t, typ) })
			t.Run("go-mid-create", func(t *testing.T) { crashMidCreate(t, typ) })
			crashFigure(func() { crashFigures.cells += 2 })
		})
	}
	crashFigure(func() {
		t.Logf("crash matrix: %d cells; POSIX locks recovered with RecoverLock: %d; System V locks returned by SEM_UNDO: %d; random kills during create: %v",
			crashFigures.cells, crashFigures.recovered, crashFigures.undo, crashFigures.randomKills)
	})
}

func crashCreator(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	creator := p.start(t, "create", k, "64", "--hold")
	expectLine(t, p.name+" create", creator.line(), "ok size=")
	expectLine(t, "go write", gop.run(t, "write", k, "0", fmt.Sprintf("%x", crashPattern)), "ok")
	creator.kill()
	o, ok := lsSegment(t, k)
	if !ok || !o.Stale {
		t.Errorf("qipc ls after the creator was killed: %+v (found %v), want the segment marked stale", o, ok)
	}
	m := NewSharedMemory(k)
	defer m.Close()
	if err := m.Attach(ReadWrite); err != nil {
		t.Fatalf("Attach after the creator was killed: %v", err)
	}
	if o, ok := lsSegment(t, k); ok && o.Stale {
		t.Errorf("qipc ls: segment still stale while attached: %v", o.Reasons)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	if got := string(m.Data()[:len(crashPattern)]); got != crashPattern {
		t.Errorf("contents: %q", got)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func crashAttacher(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	copy(m.Data(), crashPattern)
	a := p.start(t, "attach", k, "--hold")
	expectLine(t, p.name+" attach", a.line(), "ok size=")
	a.kill()
	if o, ok := lsSegment(t, k); !ok || o.Stale {
		t.Errorf("qipc ls after an attacher was killed: %+v (found %v), want present and not stale", o, ok)
	} else if typ != PosixRealtime && (o.Nattch == nil || *o.Nattch != 1) {
		t.Errorf("qipc ls nattch after the attacher died: %v, want 1", o.Nattch)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	if got := string(m.Data()[:len(crashPattern)]); got != crashPattern {
		t.Errorf("contents: %q", got)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func crashLockHolder(t *testing.T, p peer, typ KeyType) {
	k := testShmKey(t, typ, p.legacyOnly)
	m := mustCreate(t, k, 64)
	copy(m.Data(), crashPattern)
	h := p.start(t, "hold-lock", k)
	expectLine(t, p.name+" hold-lock", h.line(), "ok locked")
	h.kill()
	lockAfterCrash(t, m, typ)
}

func crashSemHolder(t *testing.T, p peer, typ KeyType) {
	k := testSemKey(t, typ, p.legacyOnly)
	s, err := NewSemaphore(k, 1, Create)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := p.start(t, "sem-acquire", k, "1", "--hold")
	expectLine(t, p.name+" sem-acquire", h.line(), "ok")
	if v, _ := s.Value(); v != 0 {
		t.Fatalf("count while held: %d", v)
	}
	h.kill()
	if typ != PosixRealtime {
		ok, err := s.AcquireTimeout(5 * time.Second)
		if !ok || err != nil {
			t.Fatalf("System V: Acquire after the holder was killed: %v %v (SEM_UNDO)", ok, err)
		}
		crashFigure(func() { crashFigures.undo++ })
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
		crashFigure(func() { crashFigures.recovered++ })
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

// crashDuringCreate kills a creating peer at random moments. Whatever
// state it leaves, the key is usable again: the segment is attachable or
// absent (or, POSIX killed between shm_open and ftruncate, of size zero,
// which Attach reports), and the lock is free or recoverable.
func crashDuringCreate(t *testing.T, p peer, typ KeyType) {
	rounds := scaled(3, 40)
	var upTime time.Duration // how long the peer takes to report its create
	for i := range rounds {
		k := testShmKey(t, typ, p.legacyOnly)
		start := time.Now()
		c := p.start(t, "create", k, "4096", "--hold")
		if i == 0 {
			expectLine(t, p.name+" create", c.line(), "ok size=")
			upTime = time.Since(start)
		} else {
			// Kill somewhere in the second half of the start-up, where
			// the peer opens the lock and creates the segment.
			time.Sleep(upTime/2 + time.Duration(rand.Int64N(int64(upTime)*6/10+1)))
		}
		c.kill()
		outcome := ""
		m := NewSharedMemory(k)
		// A dead creator may hold the lock (POSIX): recover it the
		// documented way before attaching.
		if typ == PosixRealtime {
			if rec, err := RecoverLock(k); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("round %d: RecoverLock: %v", i, err)
			} else if rec {
				outcome = "lock-recovered+"
			}
		}
		done := make(chan error, 1)
		go func() { done <- m.Attach(ReadWrite) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Attach blocked after a crash during create", i)
		}
		switch {
		case err == nil:
			if m.Size() < 4096 {
				t.Errorf("round %d: attached a %d-byte segment", i, m.Size())
			}
			outcome += "attached"
		case errors.Is(err, ErrNotFound):
			outcome += "absent"
		default:
			outcome += "error:" + KindOf(err).String()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err == nil {
			if err := m.LockContext(ctx); err != nil {
				t.Fatalf("round %d: Lock: %v", i, err)
			}
			_ = m.Unlock()
		}
		cancel()
		m.Close()
		_ = RemoveSharedMemory(k)
		// The key works again from scratch.
		fresh := NewSharedMemory(k)
		if err := fresh.Create(64, ReadWrite); err != nil {
			t.Fatalf("round %d: Create after clean-up: %v", i, err)
		}
		fresh.Close()
		crashFigure(func() { crashFigures.randomKills[outcome]++ })
	}
}

func crashCreatorLocked(t *testing.T, typ KeyType) {
	k := testShmKey(t, typ, false)
	c := relStart(t, "create-lock", k, "64")
	expectLine(t, "create-lock", c.line(), "ok locked")
	c.kill()
	m := NewSharedMemory(k)
	defer m.Close()
	if typ == PosixRealtime {
		// Attach waits for the lock too; recover it first.
		if rec, err := RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		crashFigure(func() { crashFigures.recovered++ })
		if err := m.Attach(ReadWrite); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.TryLock(); !ok || err != nil {
			t.Fatalf("TryLock: %v %v", ok, err)
		}
		_ = m.Unlock()
		if got := string(m.Data()[:len(crashPattern)]); got != crashPattern {
			t.Errorf("contents: %q", got)
		}
		return
	}
	if err := m.Attach(ReadWrite); err != nil {
		t.Fatal(err)
	}
	lockAfterCrash(t, m, typ)
}

// crashMidCreate: killed inside Create with the lock held. On POSIX an
// Attach then waits; RecoverLock lets that very Attach finish.
func crashMidCreate(t *testing.T, typ KeyType) {
	k := testShmKey(t, typ, false)
	c := relStart(t, "mid-create", k, "64")
	expectLine(t, "mid-create", c.line(), "ok mid-create")
	c.kill()
	if o, ok := lsSegment(t, k); !ok || !o.Stale {
		t.Errorf("qipc ls after a crash inside Create: %+v (found %v), want stale", o, ok)
	}
	m := NewSharedMemory(k)
	defer m.Close()
	done := make(chan error, 1)
	go func() { done <- m.Attach(ReadWrite) }()
	if typ == PosixRealtime {
		select {
		case err := <-done:
			t.Fatalf("POSIX: Attach returned while a dead creator holds the lock: %v", err)
		case <-time.After(150 * time.Millisecond):
		}
		if rec, err := RecoverLock(k); !rec || err != nil {
			t.Fatalf("RecoverLock: %v %v", rec, err)
		}
		crashFigure(func() { crashFigures.recovered++ })
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Attach still waiting")
	}
	if got := string(m.Data()[:9]); got != "midcreate" {
		t.Errorf("contents: %q", got)
	}
	if ok, err := m.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
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
				if _, err := os.Stat("/dev/shm/sem." + lockKeyFor(k).Native[1:]); !errors.Is(err, os.ErrNotExist) {
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
			lock, err := NewSemaphore(lockKeyFor(k), 1, Open, WithoutCleanup())
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
			s, err := NewSemaphore(k, 0, Create)
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
// this object's last Detach (or Close) removes the System V segment and its
// lock fails cleanly; it must not follow the removal, make a fresh lock
// semaphore and key file that nothing removes, and leave Unlock without a
// semaphore. Found by a second reading of the close-safe change.
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
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) // usually inside semop by now
					var err error
					if viaClose {
						err = m.Close()
					} else {
						err = m.Detach()
					}
					if err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					if err := <-waiter; !errors.Is(err, want) {
						t.Fatalf("round %d: waiting Lock returned %v, want %v", r, err, want)
					}
					if err := m.Unlock(); !errors.Is(err, ErrNotLocked) && !errors.Is(err, ErrClosed) {
						t.Fatalf("round %d: Unlock after the segment went: %v", r, err)
					}
					_ = m.Close()
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
				s, serr = NewSemaphore(c.k, 1, Open)
				if serr == nil {
					s.Close() // owner: removes what it made
				}
			}
			left := shmEntries(t, tag)
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
		if left := shmEntries(t, filepath.Base(k.Native)); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("semaphore-counts", func(t *testing.T) {
		for _, typ := range []KeyType{PosixRealtime, SystemV} {
			s, err := NewSemaphore(testSemKey(t, typ, false), 1, Create)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Release(0); err != nil {
				t.Errorf("%v Release(0): %v (Qt: no-op)", typ, err)
			}
			if err := s.Release(-1); !errors.Is(err, ErrInvalidCount) {
				t.Errorf("%v Release(-1): %v", typ, err)
			}
			if _, err := NewSemaphore(testSemKey(t, typ, false), -1, Create); !errors.Is(err, ErrInvalidCount) {
				t.Errorf("%v initial -1: %v", typ, err)
			}
			// Past SEMVMX (System V 32767, POSIX SEM_VALUE_MAX 2^31-1).
			past := 32767
			if typ == PosixRealtime {
				past = 1<<31 - 1 // refused before any post: count + n > SEM_VALUE_MAX

			}
			if err := s.Release(past); past != 0 && err == nil {
				t.Errorf("%v Release(%d) past the maximum: no error", typ, past)
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
