//go:build windows

package systest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unsafe"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
	"golang.org/x/sys/windows"
)

// TestWindowsLifetime: the OS keeps a mapping while any handle is open,
// and destroys it with the last one; nothing is removed by name.
func TestWindowsLifetime(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	m := qipc.NewSharedMemory(k)
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	copy(m.Data(), "kept")
	holder := gop.start(t, "attach", k, "--hold")
	expectExact(t, "go attach", winLine(holder), sizeLine(64))
	if err := m.Close(); err != nil { // the creator leaves; the holder keeps it alive
		t.Fatal(err)
	}
	// RemoveSharedMemory cannot remove anything on Windows.
	if err := qipc.RemoveSharedMemory(k); err != nil && !errors.Is(err, qipc.ErrNotFound) {
		t.Errorf("RemoveSharedMemory: %v", err)
	}
	again := qipc.NewSharedMemory(k)
	if err := again.Attach(qipc.ReadOnly); err != nil {
		t.Fatalf("Attach while another process holds it: %v", err)
	}
	if string(again.Data()[:4]) != "kept" {
		t.Fatalf("contents: %q", again.Data()[:4])
	}
	again.Close()
	holder.Finish()
	err := qipc.NewSharedMemory(k).Attach(qipc.ReadOnly)
	if !errors.Is(err, qipc.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || qipc.QtErrorString(err) != "QSharedMemory::handle: doesn't exist" {
		t.Fatalf("Attach after the last handle closed: %v / %q", err, qipc.QtErrorString(err))
	}
	fresh := mustCreate(t, k, 64)
	if string(fresh.Data()[:4]) != "\x00\x00\x00\x00" {
		t.Fatal("a re-created mapping is not zero-filled")
	}
}

// TestWindowsKilledCreator is the Windows outcome of
// TestKilledCreatorLeavesSegment: the killed process's handles close, the
// mapping goes with them, and the key can be created afresh.
func TestWindowsKilledCreator(t *testing.T) {
	for _, p := range winPeers {
		t.Run(p.name, func(t *testing.T) {
			k := winNameCases[0].shmKey(t)
			creator := p.start(t, "create", k, "64", "--hold")
			expectExact(t, p.name+" create", winLine(creator), sizeLine(64))
			expectExact(t, "go write", winRun(gop, t, "write", k, "0", "0102"), "ok")
			creator.Kill()
			m := qipc.NewSharedMemory(k)
			defer closeWithin(t, m)
			if err := m.Attach(qipc.ReadWrite); !errors.Is(err, qipc.ErrNotFound) {
				t.Fatalf("Attach after the creator was killed: %v, want ErrNotFound", err)
			}
			if err := m.Create(64, qipc.ReadWrite); err != nil {
				t.Fatalf("Create after the creator was killed: %v", err)
			}
			if d := m.Data(); d[0] != 0 || d[1] != 0 {
				t.Fatalf("a fresh mapping holds % x", d[:2])
			}
		})
	}
}

// TestWindowsKilledLockHolder: Windows semaphores have no undo, so a
// process killed while it holds the lock keeps it taken (Qt has the same
// limitation) for as long as the lock semaphore lives.
func TestWindowsKilledLockHolder(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	m := mustCreate(t, k, 8)
	holder, _ := cpeerWin.startHolder(t, k)
	holder.Kill()
	ok, err := m.TryLock()
	// Give the count back by hand, or Close (which detaches under the
	// lock) would wait forever.
	lock, lerr := qipc.NewSemaphore(k.LockKey(), 0, qipc.SemaphoreOpen)
	if lerr != nil {
		t.Fatal(lerr)
	}
	defer lock.Close()
	if !ok {
		if err := lock.Release(1); err != nil {
			t.Fatal(err)
		}
	}
	if ok || err != nil {
		t.Fatalf("TryLock after the holder was killed: %v %v; want the count still taken", ok, err)
	}
}

// TestWindowsNameCollision: a name held by an object of the other kind
// fails the same way in the Go and the C peer (the texts themselves:
// the root package's TestWindowsNameCollision).
func TestWindowsNameCollision(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	sem, err := qipc.NewSemaphore(qipc.Key{Type: qipc.Windows, Native: k.Native}, 0, qipc.SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer sem.Close()
	for _, cmd := range [][]string{{"create", "64"}, {"attach"}} {
		g := winRun(gop, t, cmd[0], k, cmd[1:]...)
		c := winRun(cpeerWin, t, cmd[0], k, cmd[1:]...)
		if g != c || !strings.HasPrefix(g, "err UnknownError ") {
			t.Errorf("%s: go %q, c %q", cmd[0], g, c)
		}
		t.Logf("%s: %s", cmd[0], g)
	}
}

// TestWindowsHugeSize: a size the system cannot back fails the same way in
// Go and in C (Qt maps ERROR_COMMITMENT_LIMIT to InvalidSize; what a system
// reports depends on it).
func TestWindowsHugeSize(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	size := fmt.Sprint(int64(1) << 50)
	g := winRun(gop, t, "create", k, size)
	c := winRun(cpeerWin, t, "create", k, size)
	if g != c || !strings.HasPrefix(g, "err ") {
		t.Fatalf("create of 1 PiB: go %q, c %q", g, c)
	}
	t.Logf("create of 1 PiB: %s", g)
}

// TestWindowsLockName: the lock of a segment is the semaphore
// "<shm native key>_sem", shared with the C peer's QSharedMemory::lock().
func TestWindowsLockName(t *testing.T) {
	for _, p := range winPeers {
		t.Run(p.name, func(t *testing.T) {
			k := winNameCases[1].shmKey(t)
			m := mustCreate(t, k, 8)
			lock, err := qipc.NewSemaphore(qipc.Key{Type: qipc.Windows, Native: k.Native + "_sem"}, 0, qipc.SemaphoreOpen)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			if v, err := lock.Value(); v != 1 || err != nil {
				t.Fatalf("free lock: value %d %v", v, err)
			}
			holder, _ := p.startHolder(t, k)
			if v, _ := lock.Value(); v != 0 {
				t.Fatalf("lock held by %s: value %d", p.name, v)
			}
			if ok, _ := m.TryLock(); ok {
				t.Fatal("TryLock succeeded while another process holds the lock")
			}
			holder.Finish()
			if v, _ := lock.Value(); v != 1 {
				t.Fatalf("lock after %s let go: value %d", p.name, v)
			}
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			if v, _ := lock.Value(); v != 0 {
				t.Fatalf("lock held by Go: value %d", v)
			}
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWindowsCompat is the Windows interop matrix: every scenario, for
// every ordered pair of {go, c} and every way of naming. It prints its own
// table (with -v, or when it fails).
func TestWindowsCompat(t *testing.T) {
	if testing.Short() {
		t.Skip("the Windows interop matrix spawns many processes; run without -short")
	}
	var (
		mu      sync.Mutex
		results = map[string]string{} // name/scenario/pair → result
	)
	t.Cleanup(func() { printWinMatrix(results) })
	for _, nc := range winNameCases {
		t.Run(nc.name, func(t *testing.T) {
			for _, sc := range winScenarios {
				t.Run(sc.name, func(t *testing.T) {
					for _, a := range winPeers {
						for _, b := range winPeers {
							pair := a.name + "→" + b.name
							t.Run(pair, func(t *testing.T) {
								// Registered first, so run last: a cell is
								// recorded after its peers have cleaned up.
								t.Cleanup(func() {
									res := testResult(t)
									mu.Lock()
									results[nc.name+"/"+sc.name+"/"+pair] = res
									mu.Unlock()
								})
								a.require(t)
								b.require(t)
								sc.run(winEnv{t: t, a: a, b: b, nc: nc})
							})
						}
					}
				})
			}
		})
	}
}

// TestWindowsCrashMatrix: the crash cells that apply to Windows, with the
// Go and C peers killed (TerminateProcess): an attacher that wrote its
// pattern, the lock holder and a semaphore holder. Windows gives a dead
// process's semaphore counts back to no one: RecoverLock (the lock) and a
// Release (a bare semaphore) do. A killed creator is TestWindowsKilledCreator.
func TestWindowsCrashMatrix(t *testing.T) {
	pattern := hex.EncodeToString([]byte("crashpattern"))
	for _, p := range winPeers {
		t.Run(p.name+"/attacher", func(t *testing.T) {
			k := winNameCases[0].shmKey(t)
			m := mustCreate(t, k, 64)
			a := p.start(t, "attach", k, "--hold", "--init", pattern)
			expectExact(t, p.name+" attach", winLine(a), sizeLine(64))
			a.Kill()
			if ok, err := m.TryLock(); !ok || err != nil {
				t.Fatalf("TryLock after the attacher was killed: %v %v", ok, err)
			}
			if got := string(m.Data()[:12]); got != "crashpattern" {
				t.Errorf("contents: %q", got)
			}
			_ = m.Unlock()
		})
		t.Run(p.name+"/lock-holder", func(t *testing.T) {
			k := winNameCases[0].shmKey(t)
			m := mustCreate(t, k, 64)
			h, _ := p.startHolder(t, k, "--init", pattern)
			if ok, _ := m.TryLock(); ok {
				t.Fatalf("%s says it holds the lock, but TryLock succeeded", p.name)
			}
			h.Kill()
			if ok, _ := m.TryLock(); ok {
				t.Fatal("a killed holder's count came back on Windows")
			}
			if rec, err := qipc.RecoverLock(k); !rec || err != nil {
				t.Fatalf("RecoverLock: %v %v", rec, err)
			}
			if ok, err := m.TryLock(); !ok || err != nil {
				t.Fatalf("TryLock after RecoverLock: %v %v", ok, err)
			}
			if got := string(m.Data()[:12]); got != "crashpattern" {
				t.Errorf("contents: %q", got)
			}
			_ = m.Unlock()
		})
		t.Run(p.name+"/sem-holder", func(t *testing.T) {
			k := winNameCases[0].semKey(t)
			s, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			h := p.start(t, "sem-acquire", k, "1", "--hold")
			expectExact(t, p.name+" sem-acquire", winLine(h), "ok")
			if ok, _ := s.TryAcquire(); ok {
				t.Fatalf("%s holds the count, but TryAcquire succeeded", p.name)
			}
			h.Kill()
			if ok, _ := s.TryAcquire(); ok {
				t.Fatal("a killed holder's count came back on Windows")
			}
			if err := s.Release(1); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.TryAcquire(); !ok || err != nil {
				t.Fatalf("TryAcquire after Release: %v %v", ok, err)
			}
		})
	}
}

// TestWindowsSurrogateCut: a native key whose lock name Qt cuts between
// the halves of a surrogate pair (255 units before "_sem"). Qt's lock is
// then named with the lone high surrogate; the Go and C peers must open
// that very semaphore: it exists under its UTF-16 name once the segment is
// made, and a lock held by one peer is seen by the other.
func TestWindowsSurrogateCut(t *testing.T) {
	emoji := "\U0001F600" // D83D DE00
	k := qipc.NewKey(strings.Repeat("a", 253)+"x"+emoji+"tail", qipc.Windows)
	k.NativeLock = true // Qt 6.6+: the lock is the native name + "_sem"
	want := append(utf16.Encode([]rune(strings.Repeat("a", 253)+"x")), 0xD83D)
	want = append(want, utf16.Encode([]rune("_sem"))...)
	for _, creator := range winPeers {
		for _, holder := range winPeers {
			t.Run(creator.name+"-creates/"+holder.name+"-holds", func(t *testing.T) {
				c := creator.start(t, "create", k, "64", "--hold")
				expectExact(t, creator.name+" create", winLine(c), sizeLine(64))
				// The lock exists under Qt's name: opening it reports so.
				name := append(slices.Clone(want), 0)
				r, _, e := createSemaphoreW.Call(0, 1, 1, uintptr(unsafe.Pointer(&name[0])))
				if r == 0 {
					t.Fatal(e)
				}
				_ = windows.CloseHandle(windows.Handle(r))
				if e != windows.ERROR_ALREADY_EXISTS {
					t.Fatalf("no semaphore under the cut name after %s's create (%v)", creator.name, e)
				}
				h, _ := holder.startHolder(t, k)
				m := qipc.NewSharedMemory(k)
				defer closeWithin(t, m)
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				if err := m.AttachContext(ctx, qipc.ReadWrite); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("AttachContext while %s holds the lock: %v, want it to wait (DeadlineExceeded)", holder.name, err)
				}
				h.Finish()
				if err := m.Attach(qipc.ReadWrite); err != nil {
					t.Fatal(err)
				}
				if ok, err := m.TryLock(); !ok || err != nil {
					t.Fatalf("TryLock after %s unlocked: %v %v", holder.name, ok, err)
				}
				_ = m.Unlock()
				c.Finish()
			})
		}
	}
}

// TestWindowsEmptyKeyTexts: an empty Windows key fails as Qt's Windows
// backend says (qsharedmemory_win.cpp): create() "key error", attach()
// through handle() "unable to make key"; the C peer says the same.
func TestWindowsEmptyKeyTexts(t *testing.T) {
	k := qipc.NewKey("", qipc.Windows)
	for _, tc := range []struct {
		cmd, want string
		call      func(*qipc.SharedMemory) error
	}{
		{"create", "QSharedMemory::create: key error", func(m *qipc.SharedMemory) error { return m.Create(64, qipc.ReadWrite) }},
		{"attach", "QSharedMemory::handle: unable to make key", func(m *qipc.SharedMemory) error { return m.Attach(qipc.ReadWrite) }},
	} {
		m := qipc.NewSharedMemory(k)
		err := tc.call(m)
		_ = m.Close()
		if qipc.KindOf(err) != qipc.KeyError || qipc.QtErrorString(err) != tc.want {
			t.Errorf("%s of an empty key: %v (%q), want KeyError %q", tc.cmd, qipc.KindOf(err), qipc.QtErrorString(err), tc.want)
		}
		args := []string{}
		if tc.cmd == "create" {
			args = append(args, "64")
		}
		if got := winRun(cpeerWin, t, tc.cmd, k, args...); got != "err KeyError "+tc.want {
			t.Errorf("C peer %s: %q, want %q", tc.cmd, got, "err KeyError "+tc.want)
		}
	}
}

// TestWindowsNativeKeyWithoutLock: a key from NewKey has no lock on
// Windows too (Qt 4.4 to 6.5's setNativeKey): no "<name>_sem" semaphore
// appears, Lock fails with ErrNoLock, and an Attach does not wait for the
// Qt 6.6+ lock that the C peer holds on the same name.
func TestWindowsNativeKeyWithoutLock(t *testing.T) {
	withLock := testShmKey(t, qipc.Windows, false)
	k := qipc.NewKey(withLock.Native, qipc.Windows)
	m := mustCreate(t, k, 64)
	name, err := windows.UTF16FromString(withLock.LockKey().Native)
	if err != nil {
		t.Fatal(err)
	}
	r, _, e := createSemaphoreW.Call(0, 1, 1, uintptr(unsafe.Pointer(&name[0])))
	if r == 0 {
		t.Fatal(e)
	}
	_ = windows.CloseHandle(windows.Handle(r))
	if e == windows.ERROR_ALREADY_EXISTS {
		t.Fatalf("Create of a key without a lock made the semaphore %s", withLock.LockKey().Native)
	}
	if err := m.Lock(); qipc.KindOf(err) != qipc.LockError || !errors.Is(err, qipc.ErrNoLock) {
		t.Fatalf("Lock: %v, want LockError matching ErrNoLock", err)
	}
	h, _ := cpeerWin.startHolder(t, withLock)
	defer h.Finish()
	other := qipc.NewSharedMemory(k)
	defer closeWithin(t, other)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := other.AttachContext(ctx, qipc.ReadOnly); err != nil {
		t.Fatalf("Attach while the C peer holds Qt 6.6+'s lock on the name: %v, want no wait", err)
	}
}

var winNameCases = []winNameCase{
	{name: "plain"},
	{name: "local", prefix: `Local\`},
	{name: "global", prefix: `Global\`},
	{name: "legacy", legacy: true},
}

// winNameCase is one way to name a Windows object.
type winNameCase struct {
	name   string
	prefix string // Local\ or Global\, kept in front of shm_/sem_
	legacy bool   // Qt <= 6.5 derivation (qipc_sharedmemory_...)
}

func (nc winNameCase) shmKey(t testing.TB) qipc.Key {
	t.Helper()
	name := nc.prefix + harness.Name(t)
	k := qipc.SharedMemoryKey(name, qipc.Windows)
	if nc.legacy {
		k = qipc.LegacySharedMemoryKey(name, qipc.Windows)
	}
	requireKey(t, k)
	return k
}

func (nc winNameCase) semKey(t testing.TB) qipc.Key {
	t.Helper()
	name := nc.prefix + harness.Name(t)
	k := qipc.SemaphoreKey(name, qipc.Windows)
	if nc.legacy {
		k = qipc.LegacySemaphoreKey(name, qipc.Windows)
	}
	requireKey(t, k)
	return k
}

func expectExact(t *testing.T, who, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", who, got, want)
	}
}

// winLine is proc.line without the "\r" the C peer's text-mode stdout puts
// before each "\n" on Windows.
func winLine(pr *proc) string { return strings.TrimSuffix(pr.Line(), "\r") }

func sizeLine(n int) string { return fmt.Sprintf("ok size=%d", pageRounded(n)) }

var winPeers = []peer{gop, cpeerWin}

// winRun is peer.run with winLine.
func winRun(p peer, t testing.TB, cmd string, k qipc.Key, rest ...string) string {
	t.Helper()
	pr := p.start(t, cmd, k, rest...)
	line := winLine(pr)
	pr.Finish()
	return line
}

func printWinMatrix(results map[string]string) {
	if len(results) == 0 {
		return
	}
	var pairs []string
	for _, a := range winPeers {
		for _, b := range winPeers {
			pairs = append(pairs, a.name+"→"+b.name)
		}
	}
	sort.Strings(pairs)
	var b strings.Builder
	b.WriteString("\nWindows interop matrix (creator→attacher; ok / FAIL / skip):\n")
	for _, nc := range winNameCases {
		fmt.Fprintf(&b, "\nwindows-%s\n| pair |", nc.name)
		for _, sc := range winScenarios {
			b.WriteString(" " + sc.name + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(winScenarios)) + "\n")
		for _, p := range pairs {
			fmt.Fprintf(&b, "| %s |", p)
			for _, sc := range winScenarios {
				r := results[nc.name+"/"+sc.name+"/"+p]
				if r == "" {
					r = "-"
				}
				b.WriteString(" " + r + " |")
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprint(os.Stdout, b.String())
}

// winScenarios are compat_test.go's scenarios with Windows' outcomes:
// page-rounded sizes, exact error lines, objects that die with their last
// handle.
var winScenarios = []struct {
	name string
	run  func(e winEnv)
}{
	{"create-attach", func(e winEnv) {
		k := e.shmKey()
		expectExact(e.t, e.a.name+" create", winLine(e.a.start(e.t, "create", k, "64", "--hold")), sizeLine(64))
		expectExact(e.t, e.b.name+" attach", winRun(e.b, e.t, "attach", k), sizeLine(64))
		expectExact(e.t, e.b.name+" write", winRun(e.b, e.t, "write", k, "0", "68656c6c6f"), "ok")
		expectExact(e.t, e.a.name+" read", winRun(e.a, e.t, "read", k, "0", "5"), "ok hex=68656c6c6f")
	}},
	{"read-only", func(e winEnv) {
		k := e.shmKey()
		expectExact(e.t, e.a.name+" create", winLine(e.a.start(e.t, "create", k, "64", "--hold")), sizeLine(64))
		expectExact(e.t, e.a.name+" write", winRun(e.a, e.t, "write", k, "10", "aa55"), "ok")
		expectExact(e.t, e.b.name+" attach ro", winRun(e.b, e.t, "attach", k, "--ro"), sizeLine(64))
		expectExact(e.t, e.b.name+" read", winRun(e.b, e.t, "read", k, "10", "2"), "ok hex=aa55")
	}},
	{"sizes", func(e winEnv) {
		for _, n := range []int{1, 4096, 4097, 65537} {
			k := e.shmKey()
			expectExact(e.t, e.a.name+" create", winLine(e.a.start(e.t, "create", k, fmt.Sprint(n), "--hold")), sizeLine(n))
			expectExact(e.t, e.b.name+" attach", winRun(e.b, e.t, "attach", k), sizeLine(n))
		}
	}},
	{"lock-contention", func(e winEnv) {
		k := e.shmKey()
		startCreator(e.t, e.a, k, 8)
		checkContention(e.t, e.a, e.b, k)
	}},
	{"semaphore-counts", func(e winEnv) {
		s := e.semKey()
		owner := e.a.start(e.t, "sem-create", s, "1", "--hold")
		expectExact(e.t, e.a.name+" sem-create", winLine(owner), "ok")
		expectExact(e.t, e.b.name+" sem-release", winLine(e.b.start(e.t, "sem-release", s, "2", "--hold")), "ok")
		sem, err := qipc.NewSemaphore(s, 0, qipc.SemaphoreOpen)
		if err != nil {
			e.t.Fatal(err)
		}
		defer sem.Close()
		if v, err := sem.Value(); err != nil || v != 3 {
			e.t.Fatalf("value after create(1) and release(2) = %d, %v; want 3", v, err)
		}
		expectExact(e.t, e.b.name+" sem-acquire", winRun(e.b, e.t, "sem-acquire", s, "3"), "ok")
		if v, _ := sem.Value(); v != 0 {
			e.t.Fatalf("value after acquiring 3: %d", v)
		}
	}},
	{"create-mode-ignored", func(e winEnv) {
		s := e.semKey()
		expectExact(e.t, e.a.name+" sem-create", winLine(e.a.start(e.t, "sem-create", s, "1", "--hold")), "ok")
		expectExact(e.t, e.b.name+" sem-create", winLine(e.b.start(e.t, "sem-create", s, "5", "--hold")), "ok")
		sem, err := qipc.NewSemaphore(s, 0, qipc.SemaphoreOpen)
		if err != nil {
			e.t.Fatal(err)
		}
		defer sem.Close()
		if v, _ := sem.Value(); v != 1 {
			e.t.Fatalf("value after sem-create 1 then 5: %d; Windows keeps the first count", v)
		}
	}},
	{"killed-creator", func(e winEnv) {
		k := e.shmKey()
		creator := e.a.start(e.t, "create", k, "64", "--hold")
		expectExact(e.t, e.a.name+" create", winLine(creator), sizeLine(64))
		expectExact(e.t, "go write", winRun(gop, e.t, "write", k, "0", "cafe"), "ok")
		creator.Kill()
		expectExact(e.t, e.b.name+" attach", winRun(e.b, e.t, "attach", k), "err NotFound QSharedMemory::handle: doesn't exist")
		expectExact(e.t, e.b.name+" create", winLine(e.b.start(e.t, "create", k, "64", "--hold")), sizeLine(64))
		expectExact(e.t, e.a.name+" read", winRun(e.a, e.t, "read", k, "0", "2"), "ok hex=0000")
	}},
	{"missing-key", func(e winEnv) {
		expectExact(e.t, e.b.name+" attach", winRun(e.b, e.t, "attach", e.shmKey()), "err NotFound QSharedMemory::handle: doesn't exist")
	}},
	{"existing-key", func(e winEnv) {
		k := e.shmKey()
		expectExact(e.t, e.a.name+" create", winLine(e.a.start(e.t, "create", k, "16", "--hold")), sizeLine(16))
		expectExact(e.t, e.b.name+" create", winRun(e.b, e.t, "create", k, "16"), "err AlreadyExists QSharedMemory::create: already exists")
	}},
	{"counter", func(e winEnv) {
		checkExclusion(e.t, []peer{e.a, e.b}, counterIncrements, counterCreate(e.t, e.a, e.shmKey))
	}},
}

// winEnv is what a Windows scenario gets.
type winEnv struct {
	t    *testing.T
	a, b peer
	nc   winNameCase
}

func (e winEnv) shmKey() qipc.Key { return e.nc.shmKey(e.t) }

func (e winEnv) semKey() qipc.Key { return e.nc.semKey(e.t) }

// x/sys/windows does not wrap CreateSemaphoreW.
var createSemaphoreW = windows.NewLazySystemDLL("kernel32.dll").NewProc("CreateSemaphoreW")

// pageRounded is the size every Windows process reports for a mapping
// created with n bytes: VirtualQuery's region, whole 4 KiB pages.
func pageRounded(n int) int { return (n + 4095) / 4096 * 4096 }
