//go:build windows

package qipc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows backend, in process and against other processes: the test
// binary re-executed as the Go peer, and the C peer cross-compiled with
// mingw (`make build/cpeer.exe`). Run under Wine by tools/wine/test-windows.sh.

// cpeerWin is the C peer built for Windows; the shared peer table looks for
// the Unix binary.

var winPeers = []peer{gop, cpeerWin}

// winNameCase is one way to name a Windows object.
type winNameCase struct {
	name   string
	prefix string // Local\ or Global\, kept in front of shm_/sem_
	legacy bool   // Qt <= 6.5 derivation (qipc_sharedmemory_...)
}

var winNameCases = []winNameCase{
	{name: "plain"},
	{name: "local", prefix: `Local\`},
	{name: "global", prefix: `Global\`},
	{name: "legacy", legacy: true},
}

func (nc winNameCase) shmKey(t testing.TB) Key {
	t.Helper()
	name := nc.prefix + testName(t)
	k := SharedMemoryKey(name, Windows)
	if nc.legacy {
		k = LegacySharedMemoryKey(name, Windows)
	}
	requireKey(t, k)
	return k
}

func (nc winNameCase) semKey(t testing.TB) Key {
	t.Helper()
	name := nc.prefix + testName(t)
	k := SemaphoreKey(name, Windows)
	if nc.legacy {
		k = LegacySemaphoreKey(name, Windows)
	}
	requireKey(t, k)
	return k
}

// pageRounded is the size every Windows process reports for a mapping
// created with n bytes: VirtualQuery's region, whole 4 KiB pages.
func pageRounded(n int) int { return (n + 4095) / 4096 * 4096 }

func sizeLine(n int) string { return fmt.Sprintf("ok size=%d", pageRounded(n)) }

func expectExact(t *testing.T, who, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", who, got, want)
	}
}

func TestWindowsKeyNames(t *testing.T) {
	if !IsKeyTypeSupported(Windows) || IsKeyTypeSupported(PosixRealtime) || IsKeyTypeSupported(SystemV) {
		t.Fatal("IsKeyTypeSupported: want Windows only")
	}
	for _, c := range []struct{ in, shm, sem, lock string }{
		{"app", "shm_app", "sem_app", "shm_app_sem"},
		{`Local\app`, `Local\shm_app`, `Local\sem_app`, `Local\shm_app_sem`},
		{`Global\app`, `Global\shm_app`, `Global\sem_app`, `Global\shm_app_sem`},
		{`local\app`, `shm_local\app`, `sem_local\app`, `shm_local\app_sem`}, // case-sensitive prefix
	} {
		k := SharedMemoryKey(c.in, Windows)
		if k.Native != c.shm || SemaphoreKey(c.in, Windows).Native != c.sem || lockKeyFor(k).Native != c.lock {
			t.Errorf("%q: shm %q sem %q lock %q; want %q %q %q", c.in, k.Native,
				SemaphoreKey(c.in, Windows).Native, lockKeyFor(k).Native, c.shm, c.sem, c.lock)
		}
	}
	if k := LegacySharedMemoryKey("app", Windows); !strings.HasPrefix(k.Native, "qipc_sharedmemory_") ||
		!strings.HasPrefix(lockKeyFor(k).Native, "qipc_systemsem_") {
		t.Errorf("legacy: %q, lock %q", k.Native, lockKeyFor(k).Native)
	}
}

// TestWindowsErrorMapping pins Qt's two Windows mappers
// (setWindowsErrorString of QSharedMemory and of QSystemSemaphore).
func TestWindowsErrorMapping(t *testing.T) {
	const (
		shmOp = "QSharedMemory::create"
		semOp = "QSystemSemaphore::handle"
	)
	for _, c := range []struct {
		op   string
		code syscall.Errno
		kind ErrorKind
		text string // "" = unknown error with the system's text
	}{
		{shmOp, windows.ERROR_ALREADY_EXISTS, AlreadyExists, "QSharedMemory::create: already exists"},
		{shmOp, windows.ERROR_FILE_NOT_FOUND, NotFound, "QSharedMemory::create: doesn't exist"},
		{shmOp, windows.ERROR_COMMITMENT_LIMIT, InvalidSize, "QSharedMemory::create: invalid size"},
		{shmOp, windows.ERROR_NO_SYSTEM_RESOURCES, OutOfResources, "QSharedMemory::create: out of resources"},
		{shmOp, windows.ERROR_NOT_ENOUGH_MEMORY, OutOfResources, "QSharedMemory::create: out of resources"},
		{shmOp, windows.ERROR_ACCESS_DENIED, PermissionDenied, "QSharedMemory::create: permission denied"},
		{shmOp, windows.ERROR_INVALID_HANDLE, UnknownError, ""},
		{semOp, windows.ERROR_ALREADY_EXISTS, UnknownError, ""},
		{semOp, windows.ERROR_FILE_NOT_FOUND, UnknownError, ""},
		{semOp, windows.ERROR_COMMITMENT_LIMIT, UnknownError, ""},
		{semOp, windows.ERROR_NOT_ENOUGH_MEMORY, OutOfResources, "QSystemSemaphore::handle: out of resources"},
		{semOp, windows.ERROR_NO_SYSTEM_RESOURCES, OutOfResources, "QSystemSemaphore::handle: out of resources"},
		{semOp, windows.ERROR_ACCESS_DENIED, PermissionDenied, "QSystemSemaphore::handle: permission denied"},
		{semOp, 298, UnknownError, ""}, // ERROR_TOO_MANY_POSTS
	} {
		err := shmError(c.op, Key{}, c.code)
		if c.op == semOp {
			err = semError(c.op, Key{}, c.code)
		}
		// Qt 4.4 to 6.5 (kernel/qsharedmemory_win.cpp and
		// qsystemsemaphore_win.cpp) map the same codes and say "unknown
		// error <code>" for the rest, the code in decimal.
		want, legacy := c.text, c.text
		if want == "" {
			want = c.op + ": unknown error: " + unknownErrorText(c.code)
			legacy = c.op + ": unknown error " + strconv.Itoa(int(c.code))
		}
		if err.Kind != c.kind || QtErrorString(err) != want || !errors.Is(err, c.code) {
			t.Errorf("%s %d: %v %q; want %v %q", c.op, c.code, err.Kind, QtErrorString(err), c.kind, want)
		}
		if got := LegacyQtErrorString(err); got != legacy {
			t.Errorf("%s %d: Qt <= 6.5 text %q, want %q", c.op, c.code, got, legacy)
		}
	}
	for _, code := range []syscall.Errno{windows.ERROR_INVALID_HANDLE, windows.ERROR_INVALID_PARAMETER, 298} {
		s := unknownErrorText(code)
		if s == "" || strings.HasSuffix(s, "\n") || strings.HasPrefix(s, "Unknown error 0x") {
			t.Errorf("unknownErrorText(%d) = %q, want the system's message", code, s)
		}
		t.Logf("unknownErrorText(%d) = %q", code, s)
	}
	// Qt calls FormatMessage without FORMAT_MESSAGE_IGNORE_INSERTS; the
	// library passes it. For the codes the backends meet, whose messages
	// have no inserts, the two calls give the same text.
	for _, code := range []syscall.Errno{windows.ERROR_FILE_NOT_FOUND, windows.ERROR_ACCESS_DENIED, windows.ERROR_INVALID_HANDLE,
		windows.ERROR_NOT_ENOUGH_MEMORY, windows.ERROR_INVALID_PARAMETER, windows.ERROR_ALREADY_EXISTS, windows.ERROR_INVALID_NAME,
		windows.ERROR_NO_SYSTEM_RESOURCES, windows.ERROR_COMMITMENT_LIMIT, 298} {
		buf := make([]uint16, 4096)
		n, err := windows.FormatMessage(windows.FORMAT_MESSAGE_FROM_SYSTEM, 0, uint32(code), 0x0400, buf, nil)
		if err != nil {
			continue // no text on this system: both say "Unknown error 0x…"
		}
		if qt := strings.TrimSuffix(windows.UTF16ToString(buf[:n]), "\r\n"); qt != unknownErrorText(code) {
			t.Errorf("code %d: Qt's FormatMessage gives %q, the library %q", code, qt, unknownErrorText(code))
		}
	}
	if got := unknownErrorText(syscall.Errno(0x20001234)); got != "Unknown error 0x20001234." {
		t.Errorf("text of an unknown code: %q", got)
	}
}

func TestWindowsSizesInProcess(t *testing.T) {
	for _, n := range []int{1, 64, 4095, 4096, 4097, 65537, 1 << 20} {
		k := winNameCases[0].shmKey(t)
		m := mustCreate(t, k, n)
		if m.Size() != pageRounded(n) {
			t.Errorf("Create(%d): Size() = %d, want %d", n, m.Size(), pageRounded(n))
		}
		d := m.Data()
		d[len(d)-1] = 0xAB // the whole rounded size is usable
		other := NewSharedMemory(k)
		if err := other.Attach(ReadOnly); err != nil {
			t.Fatal(err)
		}
		if other.Size() != pageRounded(n) || other.Data()[len(d)-1] != 0xAB {
			t.Errorf("attacher of %d: size %d", n, other.Size())
		}
		other.Close()
	}
}

// TestWindowsLifetime: the OS keeps a mapping while any handle is open,
// and destroys it with the last one; nothing is removed by name.
func TestWindowsLifetime(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	m := NewSharedMemory(k)
	if err := m.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	copy(m.Data(), "kept")
	holder := gop.start(t, "attach", k, "--hold")
	expectExact(t, "go attach", winLine(holder), sizeLine(64))
	if err := m.Close(); err != nil { // the creator leaves; the holder keeps it alive
		t.Fatal(err)
	}
	// RemoveSharedMemory cannot remove anything on Windows.
	if err := RemoveSharedMemory(k); err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveSharedMemory: %v", err)
	}
	again := NewSharedMemory(k)
	if err := again.Attach(ReadOnly); err != nil {
		t.Fatalf("Attach while another process holds it: %v", err)
	}
	if string(again.Data()[:4]) != "kept" {
		t.Fatalf("contents: %q", again.Data()[:4])
	}
	again.Close()
	holder.Finish()
	err := NewSharedMemory(k).Attach(ReadOnly)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) ||
		QtErrorString(err) != "QSharedMemory::handle: doesn't exist" {
		t.Fatalf("Attach after the last handle closed: %v / %q", err, QtErrorString(err))
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
			m := NewSharedMemory(k)
			defer closeWithin(t, m)
			if err := m.Attach(ReadWrite); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Attach after the creator was killed: %v, want ErrNotFound", err)
			}
			if err := m.Create(64, ReadWrite); err != nil {
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
	lock, lerr := NewSemaphore(lockKeyFor(k), 0, SemaphoreOpen)
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

func TestWindowsSemaphore(t *testing.T) {
	k := winNameCases[1].semKey(t)
	s, err := NewSemaphore(k, 1, SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.isOwner() {
		t.Error("the semaphore was created by this object but it does not own it")
	}
	// Create mode cannot reset an existing semaphore on Windows (nor in Qt).
	s2, err := NewSemaphore(k, 5, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Value(); v != 1 || err != nil {
		t.Fatalf("value after a Create-mode open with 5: %d %v; want 1", v, err)
	}
	if err := s2.Release(2); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Value(); v != 3 {
		t.Fatalf("value after Release(2): %d", v)
	}
	for i := 0; i < 3; i++ {
		if ok, err := s.TryAcquire(); !ok || err != nil {
			t.Fatalf("TryAcquire %d: %v %v", i, ok, err)
		}
	}
	if ok, err := s.TryAcquire(); ok || err != nil {
		t.Fatalf("TryAcquire at zero: %v %v", ok, err)
	}
	start := time.Now()
	if ok, err := s.AcquireTimeout(60 * time.Millisecond); ok || err != nil {
		t.Fatalf("AcquireTimeout at zero: %v %v", ok, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("AcquireTimeout(60ms) returned after %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := s.AcquireContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("AcquireContext: %v", err)
	}
	// A post past MAXLONG fails as a whole (ERROR_TOO_MANY_POSTS).
	if err := s.Release(1); err != nil {
		t.Fatal(err)
	}
	err = s.Release(0x7fffffff)
	if KindOf(err) != UnknownError || !strings.HasPrefix(QtErrorString(err), "QSystemSemaphore::modifySemaphore: unknown error: ") ||
		!errors.Is(err, syscall.Errno(298)) {
		t.Fatalf("Release past MAXLONG: %v / %q", err, QtErrorString(err))
	}
	t.Logf("Release past MAXLONG: %s", QtErrorString(err))
	if v, _ := s.Value(); v != 1 {
		t.Fatalf("value after the failed release: %d, want 1", v)
	}
	s2.Close()
	s.Close()
	// All handles closed: the name is free and a new open starts at initial.
	s3, err := NewSemaphore(k, 4, SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if v, _ := s3.Value(); v != 4 || !s3.isOwner() {
		t.Fatalf("re-created semaphore: value %d owner %v", v, s3.isOwner())
	}
}

// TestWindowsNameCollision: a name held by an object of the other kind
// fails with ERROR_INVALID_HANDLE, an unknown error with the system's text;
// the Go and the C peer must print the same line.
func TestWindowsNameCollision(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	sem, err := NewSemaphore(Key{Type: Windows, Native: k.Native}, 0, SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer sem.Close()
	err = NewSharedMemory(k).Create(64, ReadWrite)
	want := "QSharedMemory::create: unknown error: " + unknownErrorText(windows.ERROR_INVALID_HANDLE)
	if KindOf(err) != UnknownError || QtErrorString(err) != want || LegacyQtErrorString(err) != "QSharedMemory::create: unknown error 6" {
		t.Fatalf("Create over a semaphore's name: %v / %q / %q", err, QtErrorString(err), LegacyQtErrorString(err))
	}
	for _, cmd := range [][]string{{"create", "64"}, {"attach"}} {
		g := winRun(gop, t, cmd[0], k, cmd[1:]...)
		c := winRun(cpeerWin, t, cmd[0], k, cmd[1:]...)
		if g != c || !strings.HasPrefix(g, "err UnknownError ") {
			t.Errorf("%s: go %q, c %q", cmd[0], g, c)
		}
		t.Logf("%s: %s", cmd[0], g)
	}
	// A mapping under the lock's name: the lock cannot be made. Qt 6.6+
	// gives the cause in brackets, Qt <= 6.5 not.
	squat := NewSharedMemory(Key{Type: Windows, Native: lockKeyFor(k).Native})
	if err := squat.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, squat)
	err = NewSharedMemory(k).Create(64, ReadWrite)
	want = "QSharedMemoryPrivate::initKey: unable to set key on lock (QSystemSemaphore::handle: unknown error: " + unknownErrorText(windows.ERROR_INVALID_HANDLE) + ")"
	if QtErrorString(err) != want || LegacyQtErrorString(err) != "QSharedMemoryPrivate::initKey: unable to set key on lock" {
		t.Fatalf("Create with a mapping under the lock's name: %v / %q / %q", err, QtErrorString(err), LegacyQtErrorString(err))
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
			lock, err := NewSemaphore(Key{Type: Windows, Native: k.Native + "_sem"}, 0, SemaphoreOpen)
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

// winEnv is what a Windows scenario gets.
type winEnv struct {
	t    *testing.T
	a, b peer
	nc   winNameCase
}

func (e winEnv) shmKey() Key { return e.nc.shmKey(e.t) }
func (e winEnv) semKey() Key { return e.nc.semKey(e.t) }

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
		sem, err := NewSemaphore(s, 0, SemaphoreOpen)
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
		sem, err := NewSemaphore(s, 0, SemaphoreOpen)
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

// winLine is proc.line without the "\r" the C peer's text-mode stdout puts
// before each "\n" on Windows.
func winLine(pr *proc) string { return strings.TrimSuffix(pr.Line(), "\r") }

// winRun is peer.run with winLine.
func winRun(p peer, t testing.TB, cmd string, k Key, rest ...string) string {
	t.Helper()
	pr := p.start(t, cmd, k, rest...)
	line := winLine(pr)
	pr.Finish()
	return line
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
			if rec, err := RecoverLock(k); !rec || err != nil {
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
			s, err := NewSemaphore(k, 1, SemaphoreCreate)
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

// TestWindowsForeignOwnerRefused: a mapping or lock semaphore whose owner
// SID is not this process's user is refused, as on Unix; WithForeignOwners
// accepts it. Wine has one user, so the squatter's objects are made here
// with a descriptor that names another owner (LocalSystem).
func TestWindowsForeignOwnerRefused(t *testing.T) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	self := tu.User.Sid.String()
	squat := func(t *testing.T, k Key, sem bool, owner string) {
		sd, err := windows.SecurityDescriptorFromString("O:" + owner + "D:(A;;GA;;;WD)")
		if err != nil {
			t.Fatal(err)
		}
		sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
		var h windows.Handle
		if sem {
			r, _, e := createSemaphoreW.Call(uintptr(unsafe.Pointer(sa)), 1, 1, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(k.Native))))
			if h, err = windows.Handle(r), nil; r == 0 {
				err = e
			}
		} else {
			h, err = windows.CreateFileMapping(windows.InvalidHandle, sa, windows.PAGE_READWRITE, 0, 4096, windows.StringToUTF16Ptr(k.Native))
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = windows.CloseHandle(h) })
	}
	t.Run("own", func(t *testing.T) {
		k := winNameCases[0].shmKey(t)
		squat(t, k, false, self)
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Attach(ReadWrite); err != nil {
			t.Fatalf("Attach of a segment our user owns: %v", err)
		}
		if got := m.life.cur.Load().seg.owners(); len(got) != 1 || got[0].id != self {
			t.Fatalf("owners: %v, want %s", got, self)
		}
	})
	t.Run("segment", func(t *testing.T) {
		k := winNameCases[0].shmKey(t)
		squat(t, k, false, "SY")
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		err := m.Attach(ReadWrite)
		if !errors.Is(err, ErrForeignOwner) || !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "S-1-5-18") {
			t.Fatalf("Attach of a segment LocalSystem owns: %v, want ErrForeignOwner naming S-1-5-18", err)
		}
		if err := m.Create(64, ReadWrite); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("Create over it: %v, want ErrAlreadyExists", err)
		}
		trusting := NewSharedMemory(k, WithForeignOwners())
		defer closeWithin(t, trusting)
		if err := trusting.Attach(ReadWrite); err != nil {
			t.Fatalf("Attach WithForeignOwners: %v", err)
		}
	})
	t.Run("lock", func(t *testing.T) {
		k := winNameCases[0].shmKey(t)
		squat(t, lockKeyFor(k), true, "SY")
		m := NewSharedMemory(k)
		defer closeWithin(t, m)
		if err := m.Create(64, ReadWrite); !errors.Is(err, ErrForeignOwner) {
			t.Fatalf("Create with a lock semaphore LocalSystem owns: %v, want ErrForeignOwner", err)
		}
		if err := NewSharedMemory(k).Attach(ReadOnly); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrForeignOwner) {
			t.Fatalf("the refused Create made a segment: Attach says %v", err)
		}
		trusting := NewSharedMemory(k, WithForeignOwners())
		defer closeWithin(t, trusting)
		if err := trusting.Create(64, ReadWrite); err != nil {
			t.Fatalf("Create WithForeignOwners: %v", err)
		}
	})
}

// x/sys/windows does not wrap CreateSemaphoreW.
var createSemaphoreW = windows.NewLazySystemDLL("kernel32.dll").NewProc("CreateSemaphoreW")

// TestWindowsSurrogateCut: a native key whose lock name Qt cuts between
// the halves of a surrogate pair (255 units before "_sem"). Qt's lock is
// then named with the lone high surrogate; the Go and C peers must open
// that very semaphore: it exists under its UTF-16 name once the segment is
// made, and a lock held by one peer is seen by the other.
func TestWindowsSurrogateCut(t *testing.T) {
	emoji := "\U0001F600" // D83D DE00
	k := NewKey(strings.Repeat("a", 253)+"x"+emoji+"tail", Windows)
	k.NativeLock = true // Qt 6.6+: the lock is the native name + "_sem"
	want := append(utf16.Encode([]rune(strings.Repeat("a", 253)+"x")), 0xD83D)
	want = append(want, utf16.Encode([]rune("_sem"))...)
	if got := winUTF16(lockKeyFor(k).Native); !slices.Equal(got, want) {
		t.Fatalf("lock name ends %#x (%d units), want %#x (%d)", got[max(len(got)-8, 0):], len(got), want[len(want)-8:], len(want))
	}
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
				m := NewSharedMemory(k)
				defer closeWithin(t, m)
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				if err := m.AttachContext(ctx, ReadWrite); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("AttachContext while %s holds the lock: %v, want it to wait (DeadlineExceeded)", holder.name, err)
				}
				h.Finish()
				if err := m.Attach(ReadWrite); err != nil {
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

// TestWindowsFailedCreateDropsHandle: a Create that fails with
// AlreadyExists closes the handle CreateFileMappingW gave it at once (Qt
// keeps it until the object is reused or destroyed), so the mapping goes
// with its creator's last handle (COMPAT.md #15).
func TestWindowsFailedCreateDropsHandle(t *testing.T) {
	k := winNameCases[0].shmKey(t)
	creator := NewSharedMemory(k)
	if err := creator.Create(64, ReadWrite); err != nil {
		t.Fatal(err)
	}
	second := NewSharedMemory(k)
	defer closeWithin(t, second)
	if err := second.Create(64, ReadWrite); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second Create: %v, want ErrAlreadyExists", err)
	}
	if err := creator.Close(); err != nil {
		t.Fatal(err)
	}
	if err := NewSharedMemory(k).Attach(ReadOnly); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Attach after the creator closed: %v, want ErrNotFound (no handle kept by the failed Create)", err)
	}
}

// TestWindowsEmptyKeyTexts: an empty Windows key fails as Qt's Windows
// backend says (qsharedmemory_win.cpp): create() "key error", attach()
// through handle() "unable to make key"; the C peer says the same.
func TestWindowsEmptyKeyTexts(t *testing.T) {
	k := NewKey("", Windows)
	for _, tc := range []struct {
		cmd, want string
		call      func(*SharedMemory) error
	}{
		{"create", "QSharedMemory::create: key error", func(m *SharedMemory) error { return m.Create(64, ReadWrite) }},
		{"attach", "QSharedMemory::handle: unable to make key", func(m *SharedMemory) error { return m.Attach(ReadWrite) }},
	} {
		m := NewSharedMemory(k)
		err := tc.call(m)
		_ = m.Close()
		if KindOf(err) != KeyError || QtErrorString(err) != tc.want {
			t.Errorf("%s of an empty key: %v (%q), want KeyError %q", tc.cmd, KindOf(err), QtErrorString(err), tc.want)
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
	withLock := testShmKey(t, Windows, false)
	k := NewKey(withLock.Native, Windows)
	m := mustCreate(t, k, 64)
	name, err := windows.UTF16FromString(lockKeyFor(withLock).Native)
	if err != nil {
		t.Fatal(err)
	}
	r, _, e := createSemaphoreW.Call(0, 1, 1, uintptr(unsafe.Pointer(&name[0])))
	if r == 0 {
		t.Fatal(e)
	}
	_ = windows.CloseHandle(windows.Handle(r))
	if e == windows.ERROR_ALREADY_EXISTS {
		t.Fatalf("Create of a key without a lock made the semaphore %s", lockKeyFor(withLock).Native)
	}
	if err := m.Lock(); KindOf(err) != LockError || !errors.Is(err, ErrNoLock) {
		t.Fatalf("Lock: %v, want LockError matching ErrNoLock", err)
	}
	h, _ := cpeerWin.startHolder(t, withLock)
	defer h.Finish()
	other := NewSharedMemory(k)
	defer closeWithin(t, other)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := other.AttachContext(ctx, ReadOnly); err != nil {
		t.Fatalf("Attach while the C peer holds Qt 6.6+'s lock on the name: %v, want no wait", err)
	}
}
