package qipc

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
)

// ErrorKind classifies a failure the way Qt does. Its values match both
// QSharedMemory::SharedMemoryError and, for the kinds that enum has,
// QSystemSemaphore::SystemSemaphoreError (whose numbering differs; see
// [ErrorKind.SemaphoreCode]).
type ErrorKind int

// The kinds, numbered as QSharedMemory::SharedMemoryError numbers them.
const (
	NoError ErrorKind = iota
	PermissionDenied
	InvalidSize
	KeyError
	AlreadyExists
	NotFound
	LockError
	OutOfResources
	UnknownError
)

var kindNames = [...]string{
	NoError:          "NoError",
	PermissionDenied: "PermissionDenied",
	InvalidSize:      "InvalidSize",
	KeyError:         "KeyError",
	AlreadyExists:    "AlreadyExists",
	NotFound:         "NotFound",
	LockError:        "LockError",
	OutOfResources:   "OutOfResources",
	UnknownError:     "UnknownError",
}

// String returns Qt's enumerator name, e.g. "AlreadyExists".
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// SemaphoreCode returns the value QSystemSemaphore::SystemSemaphoreError
// uses for this kind (that enum has no InvalidSize and no LockError, so its
// numbers differ from QSharedMemory's). Kinds it lacks map to UnknownError (6).
func (k ErrorKind) SemaphoreCode() int {
	switch k {
	case NoError:
		return 0
	case PermissionDenied:
		return 1
	case KeyError:
		return 2
	case AlreadyExists:
		return 3
	case NotFound:
		return 4
	case OutOfResources:
		return 5
	}
	return 6
}

// Sentinels matched by errors.Is against any *Error of the corresponding kind.
var (
	ErrPermissionDenied = errors.New("qipc: permission denied")
	ErrInvalidSize      = errors.New("qipc: invalid size")
	ErrKey              = errors.New("qipc: key error")
	ErrAlreadyExists    = errors.New("qipc: already exists")
	ErrNotFound         = errors.New("qipc: not found")
	ErrLock             = errors.New("qipc: lock error")
	ErrOutOfResources   = errors.New("qipc: out of resources")
	ErrUnknown          = errors.New("qipc: unknown error")
	// ErrClosed is returned by every operation on a closed object.
	ErrClosed = errors.New("qipc: use of closed object")
	// ErrNotAttached is returned by operations that need an attached segment.
	ErrNotAttached = errors.New("qipc: not attached")
	// ErrNoLock is the cause of the LockError of Lock (and of
	// RecoverLock) on a segment whose key has no lock: a native key
	// without NativeLock, which Qt 4.4 to 6.5 lock nothing for. Exclusion
	// with such peers is the application's to arrange.
	ErrNoLock = errors.New("qipc: the key has no lock (Qt 4.4 to 6.5 lock nothing for a native key; arrange exclusion in the application, or set Key.NativeLock to share a Qt 6.6+ peer's lock)")
	// ErrObserver is the cause of the error of a call that an Observer
	// object refuses because it would make something: Create, and
	// NewSemaphore in Create mode.
	ErrObserver = errors.New("qipc: an observer creates nothing")
	// ErrForeignOwner is the cause of the PermissionDenied of a Create or
	// Attach that found an object (segment, lock semaphore, key file)
	// owned by another user; see WithForeignOwners.
	ErrForeignOwner = errors.New("qipc: owned by another user")
	// ErrKeyFileNotRegular is the cause of the PermissionDenied of a
	// Create, Attach, NewSemaphore or removal whose System V key file is
	// a symbolic link, not a regular file, or a file with more than one
	// name (hard links), and of an Attach or NewSemaphore whose POSIX
	// file (/dev/shm/NAME, /dev/shm/sem.NAME) has more than one name.
	// ftok follows a link, and another user's link to a file of this
	// user's could lead a program to another application's objects,
	// which no owner check would catch; WithForeignOwners does not accept
	// one either.
	ErrKeyFileNotRegular = errors.New("qipc: the key file is not a regular file of one name")
	// ErrLibcSemaphores is the cause of a KeyError for what a C library's
	// POSIX semaphores cannot do: with musl, a segment's lock semaphore
	// under Qt 6.6+'s scheme would take the segment's own name; with
	// glibc, a semaphore made by a process of the other word size. POSIX
	// semaphores are libc-specific: a musl process and a glibc process
	// (a Qt application, say) cannot share one, nor can a 32-bit and a
	// 64-bit glibc process, whose sem_t differ; System V is the kernel's.
	ErrLibcSemaphores = errors.New("qipc: POSIX semaphores are libc-specific")
	// ErrNeedsCgo is the cause of every error of a build without cgo
	// (CGO_ENABLED=0, the go command's default when it finds no C
	// compiler): qipc makes its system calls in C, as Qt does. It also
	// matches errors.ErrUnsupported.
	ErrNeedsCgo = fmt.Errorf("qipc needs cgo: build with CGO_ENABLED=1 and a C compiler (gcc or clang; mingw-w64 for Windows): %w", errors.ErrUnsupported)
)

var kindSentinels = [...]error{
	PermissionDenied: ErrPermissionDenied,
	InvalidSize:      ErrInvalidSize,
	KeyError:         ErrKey,
	AlreadyExists:    ErrAlreadyExists,
	NotFound:         ErrNotFound,
	LockError:        ErrLock,
	OutOfResources:   ErrOutOfResources,
	UnknownError:     ErrUnknown,
}

// Error records a failed operation, its key and the cause, in the manner of
// *fs.PathError: Op is the method that failed, in Go's words ("create",
// "attach", "lock"), and QtOp the step in Qt's own terms (for example
// "QSharedMemory::attach (shm_open)"), from which QtErrorString rebuilds
// the exact text a Qt peer would report.
type Error struct {
	Op   string // the operation called: "create", "attach", "lock", "acquire", ...
	QtOp string // Qt's function label for the failing step
	Key  Key    // the key the operation was using
	Kind ErrorKind
	Err  error // the underlying errno / Win32 error, or a sentinel such as ErrClosed; may be nil

	// text, when set, replaces the kind's standard wording (Qt has a few
	// fixed messages, e.g. "create size is less then 0").
	text string
	// says, when set, is what Error says instead of Qt's text, where that
	// would mislead a Go reader (Qt's "less then 0" for a size of 0).
	says string
	// class is the Qt class that reports the failure: its two classes
	// word some errors differently.
	class qtClass
	// legacy, when set, is the whole errorString() of Qt 4.4 to 6.5 for
	// this failure, where it differs from Qt 6.6+'s beyond the wording of
	// unknown errors (see LegacyQtErrorString).
	legacy string
	// hint, when set, says what to do about it; Error() ends with it, Qt's
	// texts do not have it.
	hint string
	// also are the failures of the steps that ran after this one to undo
	// or close what it began (a lock given back, a handle closed); Error
	// says them, errors.Is and errors.As find them.
	also []error
}

// Error says what the caller called, on which key, and what went wrong:
// `qipc: attach "viewer" (systemv /tmp/qipc_sharedmemory_viewer…): doesn't
// exist; nothing has created it yet ...`. Qt's own label and text are
// QtOp and QtErrorString.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("qipc: ")
	if e.Op != "" {
		b.WriteString(e.Op)
	} else {
		b.WriteString(e.QtOp)
	}
	if k := e.Key.described(); k != "" {
		b.WriteString(" " + k)
	}
	text := e.qtText()
	if e.says != "" {
		text = e.says
	}
	b.WriteString(": " + text)
	// The cause, unless Qt's text says it already (an unknown errno's
	// strerror, a foreign owner's name).
	if e.Err != nil && !errors.Is(e.Err, ErrForeignOwner) && !errors.Is(e.Err, ErrKeyFileNotRegular) {
		if cause := strings.TrimPrefix(e.Err.Error(), "qipc: "); !strings.Contains(text, cause) {
			b.WriteString(" (" + cause + ")")
		}
	}
	if hint := e.remedy(); hint != "" {
		b.WriteString("; " + hint)
	}
	for _, a := range e.also {
		b.WriteString("; also: " + strings.TrimPrefix(a.Error(), "qipc: "))
	}
	return b.String()
}

// Remedy is what Error adds after the cause: what to do about the
// failure, or what stood in the way ("the lock is held by pid 4242
// (myapp)"); "" when there is nothing to add.
func (e *Error) Remedy() string { return e.remedy() }

// remedy is what to do about the failure, where there is something to do.
func (e *Error) remedy() string {
	switch {
	case e.hint != "":
		return e.hint
	case e.Kind == NotFound && e.Err != ErrNotAttached && (e.Op == "attach" || e.Op == "open"):
		return "nothing has created it yet, or under another key (`qipc ls` lists what exists)"
	case e.Kind == AlreadyExists && e.Op == "create":
		return "Attach uses it, as Qt's recipe does"
	case e.Kind == PermissionDenied && !errors.Is(e.Err, ErrForeignOwner) && !errors.Is(e.Err, ErrKeyFileNotRegular):
		return "its owner or mode keeps this user out (`qipc ls` shows both): run as its owner, or have its creator widen them (WithPermissions; Qt makes its objects 0600 for its own user)"
	}
	return ""
}

// named is the deferred end of every exported call that can fail:
//
//	defer named("create", &err)
//
// It leaves nil alone, so that the fast paths (an uncontended Lock and
// Unlock) pay for no more than the deferred call.
func named(op string, err *error) {
	if *err != nil {
		*err = called(op, *err)
	}
}

// called names the operation of err as its caller called it, and makes
// the error an *Error where the lifecycle joined one with the failures of
// its clean-up steps (errors.Join): the first *Error gets op unless an
// inner call named it already, and a join that it leads becomes that
// *Error carrying the others (Error.also), so that err.(*Error) holds as
// the package promises. A join led by another failure, or an *Error
// wrapped with words of its own, is kept as it is.
func called(op string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Op == "" {
		e.Op = op
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	leaves := flatten(j.Unwrap(), nil)
	switch {
	case len(leaves) == 0 || leaves[0] != error(e):
		return err
	case len(leaves) == 1:
		return e
	}
	c := *e
	c.also = append(c.also[:len(c.also):len(c.also)], leaves[1:]...)
	return &c
}

// flatten appends the non-nil errors of errs to out, the joins among them
// opened.
func flatten(errs []error, out []error) []error {
	for _, err := range errs {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			out = flatten(j.Unwrap(), out)
		} else if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind or the io/fs error
// with the same meaning, or matches a failure that came after e's (also).
func (e *Error) Is(target error) bool {
	if e.Kind > 0 && int(e.Kind) < len(kindSentinels) && target == kindSentinels[e.Kind] {
		return true
	}
	for _, a := range e.also {
		if errors.Is(a, target) {
			return true
		}
	}
	switch target {
	case fs.ErrExist:
		return e.Kind == AlreadyExists
	case fs.ErrNotExist:
		return e.Kind == NotFound
	case fs.ErrPermission:
		return e.Kind == PermissionDenied
	}
	return false
}

// As finds target in e's cause first, then in the failures that came
// after it (also): errors.As asks As before it unwraps the cause.
func (e *Error) As(target any) bool {
	if e.Err != nil && errors.As(e.Err, target) {
		return true
	}
	for _, a := range e.also {
		if errors.As(a, target) {
			return true
		}
	}
	return false
}

// qtText is the part of Qt's errorString() after "<function>: ".
func (e *Error) qtText() string {
	if e.text != "" {
		return e.text
	}
	semaphore := e.class == semClass
	switch e.Kind {
	case PermissionDenied:
		return "permission denied"
	case AlreadyExists:
		return "already exists"
	case NotFound:
		if semaphore {
			return "does not exist"
		}
		return "doesn't exist"
	case OutOfResources:
		return "out of resources"
	case InvalidSize:
		return "invalid size"
	case KeyError:
		if semaphore {
			return "key too long"
		}
		return "key error"
	case LockError:
		return "unable to lock"
	}
	if e.Err != nil {
		return "unknown error: " + unknownErrorText(e.Err)
	}
	return "unknown error"
}

// qtClass is the Qt class a failure belongs to.
type qtClass uint8

const (
	shmClass qtClass = iota // QSharedMemory
	semClass                // QSystemSemaphore
)

// shmError reports a failed system call of QSharedMemory's; op is Qt's
// label for the step ("QSharedMemory::attach (shm_open)").
func shmError(op string, k Key, errno syscall.Errno) *Error {
	return osError(shmClass, op, k, errno)
}

// semError reports a failed system call of QSystemSemaphore's, whose
// mapper differs in a few errnos.
func semError(op string, k Key, errno syscall.Errno) *Error {
	return osError(semClass, op, k, errno)
}

// QtErrorString returns the English text Qt 6.6+'s errorString() gives for
// the same failure ("QSharedMemory::create: already exists"), or "" when err
// holds no *Error. Qt 4.4 to 6.5 word some failures differently; see
// [LegacyQtErrorString].
func QtErrorString(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	return e.QtOp + ": " + e.qtText()
}

// LegacyQtErrorString returns the English text the errorString() of Qt 4.4
// to 6.5 (Qt 5.15 and 6.4 among them) gives for the same failure, or ""
// when err holds no *Error. It differs from [QtErrorString] where those
// versions differ from Qt 6.6+: a System V key file that does not exist is
// "QSharedMemory::handle:: UNIX key file doesn't exist", an unknown errno is
// "unknown error <number>", and a lock semaphore that cannot be opened is
// "QSharedMemoryPrivate::initKey: unable to set key on lock" without its
// cause. The kind (KindOf) is the same in both generations.
func LegacyQtErrorString(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.legacy != "" {
		return e.legacy
	}
	var errno syscall.Errno
	if e.Kind == UnknownError && e.text == "" && errors.As(e.Err, &errno) {
		return e.QtOp + ": unknown error " + strconv.Itoa(int(errno))
	}
	return e.QtOp + ": " + e.qtText()
}

// KindOf returns the Qt error kind of err: NoError for nil, the kind of an
// *Error inside it, UnknownError otherwise.
func KindOf(err error) ErrorKind {
	if err == nil {
		return NoError
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return UnknownError
}

// errLockAbsent is the cause of an Observer's Lock while the segment has
// no lock semaphore: it matches ErrNoLock, whose own text speaks of keys.
var errLockAbsent error = lockAbsent{}

type lockAbsent struct{}

func (lockAbsent) Error() string {
	return "qipc: the segment has no lock semaphore now, and an observer makes none (ReadAt reads without the lock)"
}
func (lockAbsent) Is(target error) bool { return target == ErrNoLock }
