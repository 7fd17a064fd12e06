//go:build windows

package qipc

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unsafe"

	"github.com/qipc-go/qipc/internal/harness"
	"golang.org/x/sys/windows"
)

// The Windows backend, in process and against other processes: the test
// binary re-executed as the Go peer, and the C peer cross-compiled with
// mingw (`make build/cpeer.exe`). Run under Wine by tools/wine/test-windows.sh.

// cpeerWin is the C peer built for Windows; the shared peer table looks for
// the Unix binary.

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
		k := testShmKey(t, Windows, false)
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

func TestWindowsSemaphore(t *testing.T) {
	k := SemaphoreKey(`Local\`+harness.Name(t), Windows)
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
		k := testShmKey(t, Windows, false)
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
		k := testShmKey(t, Windows, false)
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
		k := testShmKey(t, Windows, false)
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

// TestWindowsFailedCreateDropsHandle: a Create that fails with
// AlreadyExists closes the handle CreateFileMappingW gave it at once (Qt
// keeps it until the object is reused or destroyed), so the mapping goes
// with its creator's last handle (COMPAT.md #15).
func TestWindowsFailedCreateDropsHandle(t *testing.T) {
	k := testShmKey(t, Windows, false)
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

// TestWindowsNameCollision: a name held by an object of the other kind
// fails with ERROR_INVALID_HANDLE, an unknown error with the system's text;
// the Go and the C peer print the same line (systest).
func TestWindowsNameCollision(t *testing.T) {
	k := testShmKey(t, Windows, false)
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
	// A mapping under the lock's name: the lock cannot be made. Qt 6.6+
	// gives the cause in brackets, Qt <= 6.5 not.
	squat := NewSharedMemory(Key{Type: Windows, Native: k.LockKey().Native})
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

// TestWindowsSurrogateCutName: Qt cuts the lock name of a long native key
// between the halves of a surrogate pair (255 units before "_sem") and
// names the lock with the lone high surrogate (systest's
// TestWindowsSurrogateCut opens it from the Go and C peers).
func TestWindowsSurrogateCutName(t *testing.T) {
	emoji := "\U0001F600" // D83D DE00
	k := NewKey(strings.Repeat("a", 253)+"x"+emoji+"tail", Windows)
	k.NativeLock = true
	want := append(utf16.Encode([]rune(strings.Repeat("a", 253)+"x")), 0xD83D)
	want = append(want, utf16.Encode([]rune("_sem"))...)
	if got := winUTF16(k.LockKey().Native); !slices.Equal(got, want) {
		t.Fatalf("lock name ends %#x (%d units), want %#x (%d)", got[max(len(got)-8, 0):], len(got), want[len(want)-8:], len(want))
	}
}

// pageRounded is the size every Windows process reports for a mapping
// created with n bytes: VirtualQuery's region, whole 4 KiB pages.
func pageRounded(n int) int { return (n + 4095) / 4096 * 4096 }

// x/sys/windows does not wrap CreateSemaphoreW.
var createSemaphoreW = windows.NewLazySystemDLL("kernel32.dll").NewProc("CreateSemaphoreW")
