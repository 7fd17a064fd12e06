package qipc

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// SemaphoreMode says whether NewSemaphore takes over the semaphore's count.
type SemaphoreMode int

const (
	// Open uses an existing semaphore as it is, or creates it with the
	// initial count if there is none (QSystemSemaphore::Open).
	Open SemaphoreMode = iota
	// Create sets the count to the initial value even if the semaphore
	// exists, and makes this object its owner (QSystemSemaphore::Create).
	Create
)

// waitSlice bounds each blocking wait in the OS, so that a cancelled
// context or a concurrent Close is noticed within this time; a post still
// wakes a waiter at once.
const waitSlice = 20 * time.Millisecond

// reopenLimit bounds how often an operation follows a semaphore that is
// being removed and recreated under it; Qt retries without limit.
const reopenLimit = 64

// ErrInvalidCount is matched by errors.Is when Release is given n < 0.
var ErrInvalidCount = errors.New("qipc: invalid count")

// Semaphore is a named counting semaphore shared with other processes: the
// object a QSystemSemaphore with the same key uses. Its methods are safe
// for concurrent use.
type Semaphore struct {
	key     Key
	b       backend
	initial int
	opts    options

	// rw is held for writing by Close and by a reopen, and for reading by
	// every call on a handle that is not close-safe, for the duration of
	// its system call, so that such a handle is never closed under it.
	// Close-safe handles need no lock (see closeSafeSem).
	rw sync.RWMutex
	// cur is the handle, replaced by a reopen and, unless keepHandle,
	// dropped by Close (calls in flight keep the one they loaded).
	cur atomic.Pointer[semRef]
	// owner: Close removes the semaphore; set by a reopen that created it.
	owner atomic.Bool
	// closed is written with rw held for writing and read without it.
	closed atomic.Bool
	// closeSafe: the backend's handles are closeSafeSems.
	closeSafe bool
	// keepHandle is set for SharedMemory's lock before it is shared:
	// Close keeps cur so that releaseHeld can give back through a
	// close-safe handle a count taken before a concurrent Close.
	keepHandle bool
}

// semRef is one handle, with its sem_t at hand when it is a lockFreeSem
// so that the uncontended path makes no call.
type semRef struct {
	h    semHandle
	word unsafe.Pointer // nil: no lock-free path
}

// tryTake and tryGive keep r alive until the CAS is done: the sem_t stays
// mapped only while the handle is reachable, and word alone does not keep
// it so.
func (r *semRef) tryTake() bool {
	ok := r.word != nil && semFast.Load() && semFastTake(r.word)
	runtime.KeepAlive(r)
	return ok
}

func (r *semRef) tryGive() bool {
	ok := r.word != nil && semFast.Load() && semFastGive(r.word)
	runtime.KeepAlive(r)
	return ok
}

// setHandle installs h, with rw held for writing or before s is shared.
func (s *Semaphore) setHandle(h semHandle) {
	r := &semRef{h: h}
	if lf, ok := h.(lockFreeSem); ok {
		r.word = lf.word()
	}
	s.cur.Store(r)
}

// beginCall returns the handle for one call, holding rw for reading
// unless the handle is close-safe; endCall(locked) ends the call.
func (s *Semaphore) beginCall() (r *semRef, locked bool) {
	if s.closeSafe {
		return s.cur.Load(), false
	}
	s.rw.RLock()
	return s.cur.Load(), true
}

func (s *Semaphore) endCall(locked bool) {
	if locked {
		s.rw.RUnlock()
	}
}

// tryTakeFast is the uncontended take without a lock or a system call;
// false means the caller must take the slow path.
func (s *Semaphore) tryTakeFast() bool {
	return !s.closed.Load() && s.cur.Load().tryTake()
}

// NewSemaphore opens the semaphore named by key (see [SemaphoreKey] and
// [LegacySemaphoreKey]). In Open mode an existing semaphore keeps its count
// and a missing one is created with initial; in Create mode the count is set
// to initial either way. The object owns the semaphore when it created it or
// was made in Create mode, and its Close then removes it unless
// [WithoutCleanup] is given.
func NewSemaphore(key Key, initial int, mode SemaphoreMode, opts ...Option) (*Semaphore, error) {
	const op = "QSystemSemaphore::handle"
	if !key.IsValid() {
		return nil, &Error{Op: "QSystemSemaphore::setNativeKey", Key: key, Kind: KeyError, text: "unsupported key type"}
	}
	if key.IsEmpty() {
		return nil, &Error{Op: handleOp("QSystemSemaphore", key), Key: key, Kind: KeyError, text: "key is empty"}
	}
	if why := badNative(key); why != "" {
		return nil, &Error{Op: handleOp("QSystemSemaphore", key), Key: key, Kind: KeyError, text: why}
	}
	if initial < 0 {
		return nil, &Error{Op: op, Key: key, Kind: UnknownError, Err: ErrInvalidCount, text: "initial count is negative"}
	}
	b, err := backendFor("QSystemSemaphore::setNativeKey", key)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	h, created, err := b.openSemaphore(key, initial, mode == Create, o.perm)
	if err != nil {
		return nil, err
	}
	s := newSemaphore(key, b, initial, o, h)
	s.owner.Store(created || mode == Create)
	return s, nil
}

// newSemaphore wraps a handle just opened.
func newSemaphore(key Key, b backend, initial int, o options, h semHandle) *Semaphore {
	s := &Semaphore{key: key, b: b, initial: initial, opts: o}
	s.setHandle(h)
	_, s.closeSafe = h.(closeSafeSem)
	return s
}

// Key returns the key the semaphore was opened with.
func (s *Semaphore) Key() Key { return s.key }

// Acquire takes one count, waiting as long as it takes. It returns early
// only with ErrClosed when the semaphore is closed meanwhile.
func (s *Semaphore) Acquire() error { return s.AcquireContext(context.Background()) }

// AcquireContext takes one count, or returns ctx.Err() once ctx is done
// without having taken one.
func (s *Semaphore) AcquireContext(ctx context.Context) error {
	ok, err := s.wait(ctx, -1)
	if err == nil && !ok {
		err = ctx.Err()
	}
	return err
}

// TryAcquire takes one count if it can do so without waiting.
func (s *Semaphore) TryAcquire() (bool, error) {
	return s.wait(context.Background(), 0)
}

// AcquireTimeout takes one count, waiting at most d; it reports whether it
// did.
func (s *Semaphore) AcquireTimeout(d time.Duration) (bool, error) {
	if d < 0 {
		d = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.wait(ctx, -1)
}

// wait is the one waiting loop of the package: it takes a count in slices
// of at most waitSlice so that cancellation and Close are noticed, and
// follows a semaphore that was removed and recreated, as Qt does.
// A zero limit only tries once.
func (s *Semaphore) wait(ctx context.Context, limit time.Duration) (bool, error) {
	if s.tryTakeFast() {
		return true, nil
	}
	for reopened, tries := 0, 0; ; tries++ {
		// The first try never waits: an uncontended take then costs one
		// non-blocking call, without the clock reads and timer set-up of
		// a timed wait (a third of a System V Acquire).
		timeout := waitSlice
		if tries == 0 || limit == 0 || ctx.Err() != nil {
			timeout = 0
		} else if deadline, ok := ctx.Deadline(); ok {
			if left := time.Until(deadline); left < timeout {
				timeout = max(left, 0)
			}
		}
		r, locked := s.beginCall()
		if s.closed.Load() {
			s.endCall(locked)
			return false, s.closedError("QSystemSemaphore::acquire")
		}
		ok, err := r.h.wait(timeout)
		s.endCall(locked)
		switch {
		case ok && s.closeSafe && s.closed.Load():
			// Close did not wait for this call: a count taken after it
			// would be one that no Release can give back.
			_ = r.h.post(1)
			return false, s.closedError("QSystemSemaphore::acquire")
		case ok:
			return true, nil
		case errors.Is(err, errSemaphoreGone) && ctx.Err() != nil:
			return false, err // a given-up wait recreates nothing
		case errors.Is(err, errSemaphoreGone) && reopened < reopenLimit:
			reopened++
			if err := s.reopen(); err != nil {
				return false, err
			}
			continue
		case err != nil:
			return false, err
		}
		if limit == 0 || ctx.Err() != nil {
			return false, nil
		}
	}
}

// Release adds n to the count (QSystemSemaphore::release). n == 0 does
// nothing, as in Qt; a negative n is an error.
func (s *Semaphore) Release(n int) error {
	if n == 0 {
		return nil
	}
	if n < 0 {
		return &Error{Op: "QSystemSemaphore::release", Key: s.key, Kind: UnknownError, Err: ErrInvalidCount, text: "n is negative"}
	}
	if n == 1 && !s.closed.Load() && s.cur.Load().tryGive() {
		return nil
	}
	return s.post(n, false)
}

// post adds n, following a semaphore that was removed and recreated, as
// Qt does. evenClosed lets it post through a close-safe handle after
// Close; a semaphore removed by then stays removed, as there is no one
// left to release it for.
func (s *Semaphore) post(n int, evenClosed bool) error {
	for reopened := 0; ; reopened++ {
		r, locked := s.beginCall()
		closed := s.closed.Load()
		if closed && !evenClosed {
			s.endCall(locked)
			return s.closedError("QSystemSemaphore::release")
		}
		err := r.h.post(n)
		s.endCall(locked)
		switch {
		case !errors.Is(err, errSemaphoreGone):
			return err
		case closed:
			return nil
		case reopened == reopenLimit:
			return err
		}
		if err := s.reopen(); err != nil {
			if evenClosed && s.closed.Load() {
				continue // closed meanwhile: post to the handle as it is
			}
			return err
		}
	}
}

// Value returns the current count. Another process may change it at any
// moment; it is meant for inspection and tests.
func (s *Semaphore) Value() (int, error) {
	r, locked := s.beginCall()
	defer s.endCall(locked)
	if s.closed.Load() {
		return 0, s.closedError("QSystemSemaphore::value")
	}
	return r.h.value()
}

// reopen replaces a handle whose semaphore was removed under it by one for
// the same name in Open mode, recreating it with the initial count if
// needed, as Qt's handle() does after EIDRM.
func (s *Semaphore) reopen() error {
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed.Load() {
		return s.closedError("QSystemSemaphore::handle")
	}
	h, created, err := s.b.openSemaphore(s.key, s.initial, false, s.opts.perm)
	if err != nil {
		return err
	}
	old := s.cur.Load()
	s.setHandle(h)
	_ = old.h.close()
	if created {
		s.owner.Store(true)
	}
	return nil
}

// Close gives up the handle and, when this object owns the semaphore and
// clean-up is on, removes it: other processes that have it open keep
// working on the old object, and new opens create a fresh one (Qt's rule).
// Closing twice returns ErrClosed.
func (s *Semaphore) Close() error {
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed.Load() {
		return s.closedError("QSystemSemaphore::cleanHandle")
	}
	s.closed.Store(true)
	var err error
	r := s.cur.Load()
	if s.owner.Load() && s.opts.cleanup {
		err = r.h.remove()
	}
	if !s.keepHandle {
		// Unreachable once calls in flight are done, so a closed object
		// the program keeps does not keep a POSIX sem_t mapped.
		s.cur.Store(&semRef{})
	}
	return errors.Join(err, r.h.close())
}

// retire closes the object and then removes the semaphore, for
// SharedMemory's last detach: a wait on it then fails with ErrClosed
// instead of following the removal and making a fresh semaphore (and key
// file) that no one would remove.
func (s *Semaphore) retire() error {
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed.Load() {
		return nil
	}
	s.closed.Store(true)
	r := s.cur.Load()
	return errors.Join(r.h.remove(), r.h.close())
}

// remove deletes the semaphore whatever its owner; SharedMemory uses it
// when it removes the segment the semaphore locks.
func (s *Semaphore) remove() error {
	r, locked := s.beginCall()
	defer s.endCall(locked)
	if s.closed.Load() {
		return nil
	}
	return r.h.remove()
}

// releaseHeld gives back a count this object took for SharedMemory's
// lock. With a close-safe handle it does so even after a concurrent Close,
// so the lock is never left taken for every process; with other handles
// the caller must keep Close away (SharedMemory.lockUse).
func (s *Semaphore) releaseHeld() error {
	if s.cur.Load().tryGive() {
		return nil
	}
	return s.post(1, s.closeSafe)
}

func (s *Semaphore) closedError(op string) error {
	return &Error{Op: op, Key: s.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
}

// RemoveSemaphore deletes the semaphore named by key (and its key file),
// whoever owns it; processes that have it open keep the old object. A
// missing semaphore is not an error.
func RemoveSemaphore(key Key) error {
	const op = "QSystemSemaphore::remove"
	if key.IsEmpty() {
		return &Error{Op: op, Key: key, Kind: KeyError, text: "key is empty"}
	}
	if why := badNative(key); why != "" {
		return &Error{Op: op, Key: key, Kind: KeyError, text: why}
	}
	b, err := backendFor(op, key)
	if err != nil {
		return err
	}
	return b.removeSemaphore(key)
}
