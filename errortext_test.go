//go:build cgo && linux

package qipc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// The legacy texts no peer failure above reaches: an unknown errno, and a
// lock that cannot be opened.
func TestLegacyQtErrorString(t *testing.T) {
	unknown := shmError("QSharedMemory::attach (mmap)", Key{}, syscall.EINVAL)
	initKey := &Error{QtOp: "QSharedMemoryPrivate::initKey", Kind: PermissionDenied, Err: syscall.EACCES,
		text:   "unable to set key on lock (QSystemSemaphore::handle: permission denied)",
		legacy: "QSharedMemoryPrivate::initKey: unable to set key on lock"}
	for _, c := range []struct {
		err            error
		qt66, qtLegacy string
	}{
		{unknown, "QSharedMemory::attach (mmap): unknown error: Invalid argument", "QSharedMemory::attach (mmap): unknown error 22"},
		{initKey, "QSharedMemoryPrivate::initKey: unable to set key on lock (QSystemSemaphore::handle: permission denied)",
			"QSharedMemoryPrivate::initKey: unable to set key on lock"},
		{fmt.Errorf("wrapped: %w", unknown), "QSharedMemory::attach (mmap): unknown error: Invalid argument", "QSharedMemory::attach (mmap): unknown error 22"},
		{errors.New("not ours"), "", ""},
	} {
		if got := QtErrorString(c.err); got != c.qt66 {
			t.Errorf("QtErrorString(%v) = %q, want %q", c.err, got, c.qt66)
		}
		if got := LegacyQtErrorString(c.err); got != c.qtLegacy {
			t.Errorf("LegacyQtErrorString(%v) = %q, want %q", c.err, got, c.qtLegacy)
		}
	}
}

// TestErrorMessages pins the message Go users read (README "Errors"): the
// operation they called, the key as they gave it, the cause, the remedy;
// Qt's label and text stay in QtOp and QtErrorString.
func TestErrorMessages(t *testing.T) {
	skipWithoutBackend(t, PosixRealtime)
	k := testShmKey(t, PosixRealtime, false) // legacy with musl: its lock has a name of its own
	err := NewSharedMemory(k).Attach(ReadWrite)
	want := `qipc: attach ` + k.described() + `: doesn't exist (no such file or directory); nothing has created it yet, or under another key (` + "`qipc ls`" + ` lists what exists)`
	var e *Error
	if !errors.As(err, &e) || err.Error() != want || e.Op != "attach" || e.QtOp != "QSharedMemory::attach (shm_open)" ||
		QtErrorString(err) != "QSharedMemory::attach (shm_open): doesn't exist" {
		t.Errorf("Attach of a missing segment:\n got %q (Op %q, QtOp %q, Qt %q)\nwant %q", err, e.Op, e.QtOp, QtErrorString(err), want)
	}
	m := mustCreate(t, k, 64)
	err = NewSharedMemory(k).Create(64, ReadWrite)
	// Who uses it follows, as far as the OS tells (this process, here).
	if want := `qipc: create ` + k.described() + `: already exists (file exists); Attach uses it, as Qt's recipe does (it is in use`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Create of an existing segment:\n got %v\nwant %s", err, want)
	}
	if err := m.Unlock(); err == nil || err.Error() != `qipc: unlock `+k.described()+`: unable to unlock (not locked)` {
		t.Errorf("Unlock without Lock: %v", err)
	}
	if plain := NewKey("/viewer", PosixRealtime); plain.described() != `"/viewer" (posix)` {
		t.Errorf("a native key is named by its native name: %s", plain.described())
	}
	legacy := LegacySharedMemoryKey("Shared", SystemV)
	if got, want := (&Error{Op: "attach", Key: legacy, Kind: NotFound}).Error(), `qipc: attach "Shared" (systemv `+legacy.Native+`): doesn't exist; nothing`; !strings.HasPrefix(got, want) {
		t.Errorf("a legacy key is named by its name: %q, want prefix %q", got, want)
	}
}

// fsPairOf is fsMatches's answer for an error of kind k.
func fsPairOf(k ErrorKind) string {
	for _, p := range fsPairs {
		if p.kind == k {
			return p.name
		}
	}
	return "-"
}

// TestErrorIsFsPairs: errors.Is matches an *Error against the io/fs error
// of its kind (NotFound ↔ fs.ErrNotExist, AlreadyExists ↔ fs.ErrExist,
// PermissionDenied ↔ fs.ErrPermission) and against no other, for every
// kind, wrapped or not; and against its own kind's sentinel only. The
// errors built here carry no errno, which would answer for an errno-caused
// error on its own (syscall.Errno.Is); so do the real refusals whose cause
// is qipc's own (a key file that is a symbolic link here, a foreign owner
// in TestPermissionDeniedError).
func TestErrorIsFsPairs(t *testing.T) {
	for k := NoError; k <= UnknownError; k++ {
		for _, err := range []error{&Error{Op: "attach", Kind: k}, fmt.Errorf("loading: %w", &Error{Op: "attach", Kind: k, Err: ErrForeignOwner})} {
			if got, want := fsMatches(err), fsPairOf(k); got != want {
				t.Errorf("%v (%v): matches %s, want %s", k, err, got, want)
			}
			for j, s := range kindSentinels {
				if s != nil && errors.Is(err, s) != (ErrorKind(j) == k) {
					t.Errorf("%v: errors.Is(%v) = %v", k, s, errors.Is(err, s))
				}
			}
		}
	}

	// Real calls.
	skipWithoutBackend(t, SystemV)
	k := testShmKey(t, SystemV, true)
	_ = mustCreate(t, k, 64)
	linked := testShmKey(t, SystemV, true)
	if err := os.Symlink(k.Native, linked.Native); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(linked.Native) }) // before the key's clean-up, which refuses a link
	for _, c := range []struct {
		what string
		kind ErrorKind
		err  error
	}{
		{"attach of a missing segment", NotFound, NewSharedMemory(testShmKey(t, SystemV, true)).Attach(ReadWrite)},
		{"create of an existing segment", AlreadyExists, NewSharedMemory(k).Create(64, ReadWrite)},
		{"attach through a key file that is a symbolic link", PermissionDenied, NewSharedMemory(linked).Attach(ReadWrite)},
	} {
		if KindOf(c.err) != c.kind {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.kind)
			continue
		}
		if got, want := fsMatches(c.err), fsPairOf(c.kind); got != want {
			t.Errorf("%s (%v): matches %s, want %s", c.what, c.err, got, want)
		}
	}
}

// TestErrorsAreErrorValues: every failure of the API is an *Error, as the
// package doc and README promise, also where the lifecycle joined it with
// the failures of its clean-up steps (issue 28, item 8: Create of an
// existing segment returned an *errors.joinError).
func TestErrorsAreErrorValues(t *testing.T) {
	skipWithoutBackend(t, PosixRealtime)
	k := testShmKey(t, PosixRealtime, false)
	m := mustCreate(t, k, 64)
	closed := NewSharedMemory(k)
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	sem, err := NewSemaphore(testSemKey(t, PosixRealtime, false), 0, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	if err := sem.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Create of an existing segment": NewSharedMemory(k).Create(64, ReadWrite),
		"Create of size 0":              NewSharedMemory(k).Create(0, ReadWrite),
		"Attach after Close":            closed.Attach(ReadOnly),
		"Lock after Close":              closed.Lock(),
		"Unlock without Lock":           m.Unlock(),
		"Acquire after Close":           sem.Acquire(),
		"Detach of a detached object":   NewSharedMemory(k).Detach(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if _, ok := err.(*Error); !ok {
			t.Errorf("%s: %T (%v), want *Error", name, err, err)
		}
	}

	// Locked gives fn's own error back as fn returned it.
	type appError struct{ error }
	own := &appError{errors.New("the app's")}
	if err := m.Locked(t.Context(), func([]byte) error { return own }); err != own {
		t.Errorf("Locked: %T %v, want fn's own error itself", err, err)
	}

	// What a clean-up step adds stays inside, said and found.
	boom := errors.New("boom")
	err = called("create", errors.Join(&Error{QtOp: "QSharedMemory::create", Key: k, Kind: AlreadyExists}, nil, boom))
	e, ok := err.(*Error)
	if !ok || e.Op != "create" || !errors.Is(err, boom) || !errors.Is(err, ErrAlreadyExists) || !strings.HasSuffix(err.Error(), "; also: boom") {
		t.Errorf("a join of an *Error and a clean-up failure: %T %q", err, err)
	}
}

// TestReadOnlyWriteSaysWhy (issue 28, item 8): a write through a ReadOnly
// attach names its cause and remedy, not the runtime's nil-pointer text.
func TestReadOnlyWriteSaysWhy(t *testing.T) {
	skipWithoutBackend(t, PosixRealtime)
	k := testShmKey(t, PosixRealtime, false)
	mustCreate(t, k, 64)
	ro := NewSharedMemory(k)
	defer closeWithin(t, ro)
	if err := ro.Attach(ReadOnly); err != nil {
		t.Fatal(err)
	}
	_, err := ro.WriteAt([]byte("x"), 0)
	lerr := ro.Locked(t.Context(), func(b []byte) error { b[0] = 1; return nil })
	for _, err := range []error{err, lerr} {
		if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "attached ReadOnly") ||
			!strings.Contains(err.Error(), "with ReadWrite") || strings.Contains(err.Error(), "nil pointer") {
			t.Errorf("write through a ReadOnly attach: %v", err)
		}
	}
}

// TestErrorAsFindsCauseFirst (adversarial review): errors.As on a failure
// joined with a clean-up failure finds the failure's own cause first, as
// errors.Join's order gave it before called made the join an *Error.
func TestErrorAsFindsCauseFirst(t *testing.T) {
	step := &Error{QtOp: "QSharedMemory::attach", Kind: PermissionDenied, Err: syscall.EACCES}
	cleanup := &os.SyscallError{Syscall: "sem_close", Err: syscall.EBADF}
	err := called("attach", errors.Join(step, cleanup))
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != syscall.EACCES {
		t.Errorf("errors.As(err, *syscall.Errno) = %v, want the step's own EACCES", errno)
	}
	var sc *os.SyscallError
	if !errors.As(err, &sc) || sc != cleanup {
		t.Errorf("errors.As does not find the clean-up's failure: %v", sc)
	}
	// A join led by another failure is kept as it is: that failure leads.
	plain := errors.New("the failure itself")
	if err := called("attach", errors.Join(plain, step)); !errors.Is(err, plain) || strings.HasPrefix(err.Error(), "qipc:") {
		t.Errorf("a join led by a plain failure: %q", err)
	}
}

// fsMatches lists the io/fs errors of fsPairs that err matches, by name,
// "-" for none: what a test compares with the pair of err's kind.
func fsMatches(err error) string {
	var got []string
	for _, p := range fsPairs {
		if errors.Is(err, p.err) {
			got = append(got, p.name)
		}
	}
	if len(got) == 0 {
		return "-"
	}
	return strings.Join(got, ",")
}

// fsPairs are the io/fs errors the doc of Error.Is pairs with kinds.
var fsPairs = []struct {
	kind ErrorKind
	err  error
	name string
}{
	{NotFound, fs.ErrNotExist, "fs.ErrNotExist"},
	{AlreadyExists, fs.ErrExist, "fs.ErrExist"},
	{PermissionDenied, fs.ErrPermission, "fs.ErrPermission"},
}
