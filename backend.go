package qipc

import (
	"errors"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc/internal/procs"
)

// A backend is one operating-system facility that can hold Qt's IPC objects:
// POSIX realtime, System V, or Windows. Each lives in one file pair
// (cgo_<backend>.go + cgo_<backend>.c) and registers itself for the key
// types it serves. Backends make the system calls and translate their
// failures into *Error with Qt's function labels; every rule about who owns
// and removes what lives in shm.go and sem.go, once.
type backend interface {
	// openSemaphore opens the named semaphore as how says: creating it
	// with the initial count if it does not exist (Qt's Open mode), also
	// resetting an existing one's count to initial (Qt's Create mode), or
	// only if it exists, making nothing (no semaphore, no key file):
	// NotFound when it does not. created reports that this call made the
	// object (so the caller may own it).
	openSemaphore(k Key, initial int, how semOpen, perm uint32) (h semHandle, created bool, err error)
	// removeSemaphore deletes the named semaphore (and its key file, where
	// the backend has one). Already gone is not an error.
	removeSemaphore(k Key) error

	// createSegment creates a segment of size bytes and maps it with the
	// given access. It fails with AlreadyExists when one exists.
	createSegment(k Key, size int, mode AccessMode, perm uint32) (segment, error)
	// attachSegment maps an existing segment.
	attachSegment(k Key, mode AccessMode) (segment, error)
	// findSegment reports, without creating, mapping or locking anything,
	// the NotFound error attachSegment would fail with; nil when a segment
	// exists or the backend cannot tell (attachSegment then reports).
	// Attach looks first, so that it makes no lock semaphore for a segment
	// that does not exist (shm.go, "Ownership").
	findSegment(k Key) error
	// removeSegment deletes the named segment (and its key file) whoever
	// is attached, so that no one can attach it again; mappings that exist
	// stay valid. It reports whether there was a segment to remove.
	// keepName keeps what names the segment besides itself (a System V key
	// file, which a Qt 6.6+ lock semaphore may share), for a segment
	// replaced under its lock. A non-zero only removes the segment only
	// while the name is that very segment (segment.identity), so that one
	// made since under the name is left to whoever made it.
	removeSegment(k Key, keepName bool, only segmentID) (removed bool, err error)
	// followsRemoval reports whether removing a semaphore under its users
	// makes their next operation on it fail, after which they open the
	// name again (System V's EIDRM, as Qt and qipc handle it), so that a
	// holder may remove it without leaving anyone on the removed one. Not
	// so for POSIX: sem_unlink leaves every open handle working on the
	// old semaphore. (Windows removes nothing by name.)
	followsRemoval() bool
	// inspectSegment reports what the OS shows anyone about segment k; a
	// missing segment is not an error (found is false).
	inspectSegment(k Key) (segmentFacts, error)
	// inspectLock reports what the OS shows of the semaphore k (a
	// segment's lock), without opening, making or changing anything.
	inspectLock(k Key) (lockFacts, error)
	// countsAttachments reports whether the OS tells when the last process
	// detaches (System V, Windows). Where it cannot (POSIX), the creator's
	// Close removes the segment instead, as Qt 6.6+ documents.
	countsAttachments() bool
	// supported runs the probe Qt's isKeyTypeSupported() runs.
	supported() bool
	// lockShadowsSegment reports whether the lock semaphore of segment k
	// would take the name of the segment itself: musl keeps POSIX
	// semaphores in /dev/shm under their own name, and Qt 6.6+ gives a
	// segment's lock the segment's name.
	lockShadowsSegment(k Key) bool
}

// semOpen is how openSemaphore opens a semaphore.
type semOpen int

const (
	semOpenOrCreate semOpen = iota // Qt's Open mode
	semCreate                      // Qt's Create mode: the count is reset
	semExisting                    // an observer's: nothing is made
)

// semHandle is one open handle to a named semaphore.
type semHandle interface {
	// wait takes one count. A negative timeout waits until it can; zero
	// only tries; a positive one waits at most that long. It reports
	// whether it took the count; EINTR is retried below it.
	wait(timeout time.Duration) (bool, error)
	// post adds n (n > 0) to the count as one operation where the OS
	// allows, else as n posts undone on failure.
	post(n int) error
	// value reads the current count, for inspection only.
	value() (int, error)
	// remove deletes the named object this handle refers to (and its key
	// file, where the backend has one); holders keep a working handle.
	remove() error
	// close gives up the handle; the named object stays.
	close() error
	// removeIfUnused, called once this handle is closed, removes the
	// name while it leads to this handle's semaphore and the OS proves
	// that no process, this one included, has it open (POSIX on Linux: a
	// kernel lease, procs.RemoveUnused); else, and where nothing can be
	// proven, it leaves it. The last object to close a segment's lock
	// after the segment has gone removes it so (Semaphore.orphaned).
	removeIfUnused() error
	// unusedElsewhere reports whether the OS shows that no other process
	// has this semaphore open (POSIX on Linux: /proc, with every process
	// in sight); false where it cannot tell. A Create or Attach that made
	// a lock semaphore and failed retires it then, holding its count
	// (shm.go, change).
	unusedElsewhere() bool
	// stale reports whether the name no longer leads to this handle's
	// semaphore: it was removed, and perhaps made anew by someone else.
	// A removed POSIX semaphore goes on working for those that have it
	// open, so a SharedMemory checks its lock before it makes or maps a
	// segment under it (shm.go, change); false where the OS cannot tell.
	stale() bool
	// owners lists who owns the semaphore and its key file, as far as
	// the backend can tell.
	owners() []owner
}

// lockFacts is what inspectLock finds.
type lockFacts struct {
	known bool // false: the OS does not tell (Windows)
	found bool
	count int // -1 where unknown (a C library other than glibc)
	procs.LockFacts
}

// segmentFacts is what inspectSegment finds; inspect.go makes of it
// whether the segment is stale, the same way for every backend.
type segmentFacts struct {
	found bool
	size  int64
	uid   int // -1: the OS does not say
	// counted: the OS counts attachments (System V): attached is nattch
	// and creator the creating process.
	counted  bool
	attached int
	creator  int
	// mappers: the processes that map the segment or hold it open are
	// known (POSIX on Linux): pids, and in procs what the scan could not
	// see; lease is what the kernel said of a write lease on its file.
	mappers bool
	pids    []int
	procs   procs.Index
	lease   procs.Lease
	// handles: the segment exists only while a process holds a handle
	// (Windows), so one that exists is in use.
	handles bool
}

// owner is the user that owns one of the objects behind a key.
type owner struct {
	what string // "segment", "lock semaphore", "key file /tmp/…"
	id   string // a uid in decimal, or a Windows SID ("S-1-5-…")
}

// wakeableSem is a semHandle whose blocking waits need no slices: the OS
// can wait for the semaphore and an event at once (Windows), or a signal
// ends the wait (System V's semop). waitWake waits for one count without
// a time limit, and returns without it once w is woken: by Close, or by
// the end of the call's context, deadlines included.
type wakeableSem interface {
	semHandle
	newWaker() (waker, error)
	waitWake(w waker) (bool, error)
}

// waker ends the waits of one call from another goroutine: its context's
// end, or a Close.
type waker interface {
	wake()
	close() error
}

// fastSem is a semHandle on a glibc sem_t mapped in this process, whose
// uncontended take and give Semaphore does itself with atomics
// (semFastTake, semFastGive) instead of calling into C. The sem_t stays
// mapped until the handle's close, which Semaphore makes only once no
// call uses the handle.
type fastSem interface {
	semHandle
	word() unsafe.Pointer
}

// segment is one mapping of a shared-memory segment.
type segment interface {
	bytes() []byte
	// identity tells this segment from one made later under its name:
	// POSIX its file's device and inode, System V its id.
	identity() segmentID
	// detach removes the mapping and closes what backs it. With
	// removeUnused, a backend whose OS counts attachments then removes
	// this very segment (not whatever its key names now) and its key file
	// if no process has it mapped, as Qt's detach does, and reports
	// whether it did. keepName keeps a key file that the segment's lock
	// semaphore shares (a Qt 6.6+ System V key), for a lock that outlives
	// the segment a while (SharedMemory.retireLock).
	detach(removeUnused, keepName bool) (removed bool, err error)
	// owners lists who owns the segment (and its key file).
	owners() []owner
	// shrunk reports whether what backs the mapping is now shorter than
	// the mapping (a peer truncated a POSIX segment's file), which is
	// what a fault in it then means; false where that cannot happen.
	shrunk() bool
}

// segmentID is a segment's identity (segment.identity); zero means none.
type segmentID [2]uint64

// errNotWakeable is what waitWake returns when nothing can end a wait on
// this thread (System V: SIGURG ignored or blocked); the caller waits in
// slices instead.
var errNotWakeable = errors.New("wait cannot be woken on this thread")

// errSemaphoreGone is wrapped by semHandle errors that mean the semaphore
// was removed while this handle was using it (System V EIDRM/EINVAL, POSIX
// EINVAL); Qt reopens the name and retries, and so does sem.go.
var errSemaphoreGone = errors.New("semaphore removed")

// The backends of this build, each registered by its own file: none
// without cgo, whose backends make their system calls in C. They register
// in a package variable's initializer, not in an init function: variables
// are initialized before any init runs, and cgo's generated files come
// last to the compiler, so their init functions run after the others (the
// test binary's peers start in one).
var posixImpl, sysvImpl, windowsImpl backend

// errNoBackend is the cause of the KeyError for a key type this build
// serves no backend for: the OS lacks it (ErrUnsupported, which a backend's
// init sets), or nothing was built with cgo (ErrNeedsCgo).
var errNoBackend = ErrNeedsCgo

// registerBackend makes b serve the key types for which *impl is asked.
// The result is for the initializer of a blank variable.
func registerBackend(impl *backend, b backend) struct{} {
	*impl = b
	errNoBackend = errors.ErrUnsupported
	return struct{}{}
}

// keyBackend is the opening of the calls that take a key and act at once
// (Inspect, RemoveSharedMemory, RemoveSemaphore): checkKey, then
// backendFor, both failures labelled op.
func keyBackend(class, op string, k Key) (backend, error) {
	if err := checkKey(class, op, k); err != nil {
		return nil, err
	}
	return backendFor(op, k)
}

// backendFor returns the backend that serves k's type in this build, or a
// KeyError saying that the type is not available, in Qt's words.
func backendFor(op string, k Key) (backend, error) {
	var b backend
	switch {
	case k.Type == PosixRealtime:
		b = posixImpl
	case k.Type.IsSystemV():
		b = sysvImpl
	case k.Type == Windows:
		b = windowsImpl
	}
	if b != nil {
		return b, nil
	}
	return nil, &Error{QtOp: op, Key: k, Kind: KeyError, Err: errNoBackend, text: "unsupported key type"}
}
