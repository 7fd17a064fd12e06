package qipc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// AccessMode says whether a mapping may be written.
type AccessMode int

const (
	// ReadOnly maps the segment for reading; a write through it faults.
	ReadOnly AccessMode = iota
	// ReadWrite maps the segment for reading and writing.
	ReadWrite
)

// ErrAttached is matched by errors.Is when Create or Attach is called on an
// object that is already attached.
var ErrAttached = errors.New("qipc: already attached")

// SharedMemory is a shared-memory segment and the lock semaphore that goes
// with it: what a QSharedMemory with the same key uses, so Lock excludes Qt
// peers that call QSharedMemory::lock(). Its methods are safe for
// concurrent use; the bytes returned by Data are shared memory and are
// guarded by Lock, not by the object.
type SharedMemory struct {
	key  Key
	opts options

	// closeCtx is cancelled by Close so that waits on the lock in other
	// goroutines return instead of keeping Close waiting.
	closeCtx    context.Context
	closeCancel context.CancelFunc
	// closing is set with closeCtx's cancellation; Lock reads it on its
	// fast path, where closeCtx.Err() (a mutex) would cost more than the
	// lock itself.
	closing atomic.Bool
	// lockUse is held for reading by Lock and Unlock calls on a lock
	// semaphore that is not close-safe (see closeSafeSem), which never take
	// mu (so a Close or Detach waiting for the lock with mu held cannot
	// block them), and for writing by Close, so that it does not close
	// such a semaphore between a take and its release.
	lockUse sync.RWMutex
	// lock is the lock semaphore, bound by the first Create or Attach and
	// dropped by the detach that removes it, both with mu held while this
	// object does not hold it. Close keeps it, so that an Unlock racing
	// with Close can still give a close-safe one back.
	lock atomic.Pointer[Semaphore]

	mu      sync.Mutex // guards the fields below
	b       backend
	seg     segment
	creator bool // this object created the segment
	mapped  bool // a Create or Attach of this object succeeded
	closed  bool

	// held is true while this object holds lock; it is read without mu by
	// Lock/Unlock so that a goroutine blocked on the lock never needs mu
	// to finish. An integer, not the semaphore itself: pointer atomics
	// pay for a write barrier, a third of the fast path's cost.
	held atomic.Bool
}

// NewSharedMemory returns an object for the segment named by key (see
// [SharedMemoryKey] and [LegacySharedMemoryKey]); it touches nothing until
// Create or Attach.
func NewSharedMemory(key Key, opts ...Option) *SharedMemory {
	m := &SharedMemory{key: key, opts: buildOptions(opts)}
	m.closeCtx, m.closeCancel = context.WithCancel(context.Background())
	return m
}

// Key returns the segment's key.
func (m *SharedMemory) Key() Key { return m.key }

// Create makes the segment with size bytes and attaches it, under the lock
// as Qt does, so an attaching Qt peer never sees it half made. It fails with
// ErrAlreadyExists when the segment exists; Qt's recipe is then to Attach.
func (m *SharedMemory) Create(size int, mode AccessMode) error {
	const op = "QSharedMemory::create"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(op); err != nil {
		return err
	}
	if size <= 0 {
		return &Error{Op: op, Key: m.key, Kind: InvalidSize, text: "create size is less then 0"}
	}
	err := m.underLock(op, func() error {
		seg, err := m.b.createSegment(m.key, size, mode, m.opts.perm)
		if err == nil {
			m.seg, m.creator, m.mapped = seg, true, true
		}
		return err
	})
	return err
}

// Attach maps an existing segment.
func (m *SharedMemory) Attach(mode AccessMode) error {
	const op = "QSharedMemory::attach"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(op); err != nil {
		return err
	}
	return m.underLock(op, func() error {
		seg, err := m.b.attachSegment(m.key, mode)
		if err == nil {
			m.seg, m.mapped = seg, true
		}
		return err
	})
}

// usable checks the object and its key before Create or Attach and binds
// the lock semaphore, with mu held.
func (m *SharedMemory) usable(op string) error {
	switch {
	case m.closed:
		return &Error{Op: op, Key: m.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
	case m.seg != nil:
		return &Error{Op: op, Key: m.key, Kind: UnknownError, Err: ErrAttached, text: "already attached"}
	case !m.key.IsValid():
		return &Error{Op: "QSharedMemory::setNativeKey", Key: m.key, Kind: KeyError, text: "unsupported key type"}
	case m.key.IsEmpty():
		return &Error{Op: handleOp("QSharedMemory", m.key), Key: m.key, Kind: KeyError, text: "key is empty"}
	case badNative(m.key) != "":
		return &Error{Op: handleOp("QSharedMemory", m.key), Key: m.key, Kind: KeyError, text: badNative(m.key)}
	}
	if m.b == nil {
		b, err := backendFor("QSharedMemory::setNativeKey", m.key)
		if err != nil {
			return err
		}
		m.b = b
	}
	if m.lock.Load() == nil {
		// Open mode even for Create: Qt's Create mode would reset a lock
		// another process may hold right now (see COMPAT.md).
		lock, err := NewSemaphore(lockKeyFor(m.key), 1, Open, WithoutCleanup(), WithPermissions(fsMode(m.opts.perm)))
		if err != nil {
			var se *Error
			errors.As(err, &se)
			kind := UnknownError
			if se != nil {
				kind = se.Kind
			}
			return &Error{Op: "QSharedMemoryPrivate::initKey", Key: m.key, Kind: kind, Err: errors.Unwrap(err),
				text:   "unable to set key on lock (" + QtErrorString(err) + ")",
				legacy: "QSharedMemoryPrivate::initKey: unable to set key on lock"}
		}
		lock.keepHandle = true
		m.lock.Store(lock)
	}
	return nil
}

// underLock runs fn holding the lock semaphore, unless this object already
// holds it through Lock, as Qt's create/attach/detach do. Call with mu held.
func (m *SharedMemory) underLock(op string, fn func() error) error {
	if m.held.Load() {
		return fn()
	}
	lock := m.lock.Load()
	if err := lock.AcquireContext(m.closeCtx); err != nil {
		return m.lockError(op, err)
	}
	err := fn()
	return errors.Join(err, lock.Release(1))
}

// lockError reports a failure to take the lock in Qt's words, keeping the
// cause (a context error, ErrClosed, an errno) reachable by errors.Is.
func (m *SharedMemory) lockError(op string, cause error) error {
	switch {
	case m.closing.Load():
		cause = ErrClosed
	case errors.Is(cause, ErrClosed):
		// The lock semaphore closed under an open object: the detach
		// that removed the segment retired it.
		cause = ErrNotAttached
	}
	return &Error{Op: op, Key: m.key, Kind: LockError, Err: cause, text: "unable to lock"}
}

// Detach unmaps the segment. On System V the process that detaches last
// removes the segment, its key file and its lock semaphore, as Qt does.
func (m *SharedMemory) Detach() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.detachWith(m.held.Load())
}

// detachWith detaches with mu held. held says this object holds the lock
// already (and keeps it, as Qt's detach keeps a lock taken by lock());
// otherwise it takes the lock for the clean-up and gives it back. When it
// removes the segment, it drops the lock too (m.lock becomes nil).
func (m *SharedMemory) detachWith(held bool) error {
	const op = "QSharedMemory::detach"
	if m.seg == nil {
		return &Error{Op: op, Key: m.key, Kind: NotFound, Err: ErrNotAttached, text: "not attached"}
	}
	lock := m.lock.Load()
	if !held {
		if err := lock.AcquireContext(context.Background()); err != nil {
			return m.lockError(op, err)
		}
	}
	removed, err := m.seg.detach(m.opts.cleanup)
	m.seg = nil
	if removed {
		// No one is attached: the lock goes with the segment, still
		// taken. Retired, not removed and closed, so that a Lock waiting
		// for it fails rather than making a fresh one.
		m.held.Store(false)
		m.lock.Store(nil)
		return errors.Join(err, lock.retire())
	}
	if !held {
		err = errors.Join(err, lock.Release(1))
	}
	return err
}

// Close detaches if attached, releases the lock if this object holds it,
// and gives up what the object owns: where the OS cannot count
// attachments (POSIX), the object that created the segment removes it and
// its lock semaphore, as Qt 6.6+ documents; [WithoutCleanup] keeps them.
// Other processes' mappings stay valid. Close unblocks Lock calls waiting
// in other goroutines; they return ErrClosed. An Unlock racing with Close
// still gives the lock back, which is why, on POSIX, the lock semaphore's
// page stays mapped until the object itself is unreachable.
func (m *SharedMemory) Close() error {
	m.closing.Store(true)
	m.closeCancel()
	// Wait until Lock calls in flight on a semaphore that is not
	// close-safe have seen closing and left; later ones see it at once.
	// Not held longer: detaching below may wait for another process, and
	// a Lock arriving meanwhile must not wait too.
	m.lockUse.Lock()
	//lint:ignore SA2001 the empty section is the point: a barrier for Lock calls in flight
	m.lockUse.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &Error{Op: "QSharedMemory::close", Key: m.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
	}
	m.closed = true
	// Take over a lock this object holds before detaching under it, so
	// that a Lock racing with Close cannot give it back meanwhile (its
	// nowHeld sees closing and finds held taken).
	wasHeld := m.held.Swap(false)
	var err error
	if m.seg != nil {
		err = m.detachWith(wasHeld)
	}
	// With lockUse held, no Unlock of a semaphore that is not close-safe
	// is between taking held and releasing, so closing the semaphore
	// below cannot strand a release.
	m.lockUse.Lock()
	defer m.lockUse.Unlock()
	lock := m.lock.Load()
	if lock == nil {
		return err // the detach removed the segment and its lock
	}
	if wasHeld {
		err = errors.Join(err, lock.releaseHeld())
	}
	if m.held.Swap(false) {
		err = errors.Join(err, lock.releaseHeld())
	}
	removeLock := false
	switch {
	case !m.opts.cleanup:
	case !m.b.countsAttachments():
		if m.creator {
			_, rerr := m.b.removeSegment(m.key)
			err = errors.Join(err, rerr)
		}
		removeLock = m.creator || lock.owner.Load()
	default:
		// Where the last detach removes the lock, only a lock this object
		// made for a segment it never mapped (a failed Attach) is left.
		removeLock = lock.owner.Load() && !m.mapped
	}
	if removeLock {
		err = errors.Join(err, lock.remove())
	}
	return errors.Join(err, lock.Close())
}

// Data returns the mapped segment itself, not a copy, or nil when not
// attached. It stays valid until Detach or Close; guard access with Lock
// when other processes write.
func (m *SharedMemory) Data() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seg == nil {
		return nil
	}
	return m.seg.bytes()
}

// Size returns the segment's size in bytes as the OS reports it (on
// Windows, whole pages), or 0 when not attached.
func (m *SharedMemory) Size() int { return len(m.Data()) }

// IsAttached reports whether the segment is mapped.
func (m *SharedMemory) IsAttached() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seg != nil
}

// Lock takes the lock a Qt peer's QSharedMemory::lock() takes, waiting as
// long as it takes. Unlike Qt's, it is not re-entrant: a second Lock on
// the same object waits for Unlock, as sync.Mutex does, which makes one
// object safe to share between goroutines.
func (m *SharedMemory) Lock() error { return m.LockContext(context.Background()) }

// LockContext is Lock that gives up when ctx is done, returning ctx.Err()
// without holding the lock.
func (m *SharedMemory) LockContext(ctx context.Context) error {
	if planted, err := m.plantedLock(); planted {
		return err
	}
	if took, err := m.lockFast(); took {
		return err
	}
	return m.lockSlow(ctx)
}

// lockFast is the uncontended path: one CAS on the mapped semaphore and
// one store, no lock of our own and no cancellation set-up, which would
// cost more than the lock itself. took says whether it took the lock; err
// is then nowHeld's.
func (m *SharedMemory) lockFast() (took bool, err error) {
	lock := m.lock.Load()
	if lock == nil || m.closing.Load() || !lock.tryTakeFast() {
		return false, nil
	}
	return true, m.nowHeld(lock)
}

// lockSlow waits for the lock. Unless the lock semaphore is close-safe,
// it holds lockUse for reading so that Close cannot close the semaphore
// between the take and nowHeld's giving it back.
func (m *SharedMemory) lockSlow(ctx context.Context) error {
	const op = "QSharedMemory::lock"
	if lock := m.lock.Load(); lock == nil || !lock.closeSafe {
		m.lockUse.RLock()
		defer m.lockUse.RUnlock()
	}
	lock := m.lock.Load()
	if m.closing.Load() || lock == nil {
		cause := ErrNotAttached
		if m.closing.Load() {
			cause = ErrClosed
		}
		return &Error{Op: op, Key: m.key, Kind: LockError, Err: cause, text: "unable to lock"}
	}
	ok, err := lock.TryAcquire()
	if err != nil {
		return m.lockError(op, err)
	}
	if !ok {
		if err := m.waitLock(ctx, lock); err != nil {
			return err
		}
	}
	return m.nowHeld(lock)
}

// nowHeld records that this object took the lock, unless Close has begun.
// Close sets closing before it takes held to give it back, and both are
// sequentially consistent, so either Close finds the lock in held or this
// sees closing and gives the lock back itself (unless Close took it from
// held first).
func (m *SharedMemory) nowHeld(lock *Semaphore) error {
	m.held.Store(true)
	if !m.closing.Load() {
		return nil
	}
	var err error
	if m.held.CompareAndSwap(true, false) {
		err = lock.releaseHeld()
	}
	return errors.Join(m.lockError("QSharedMemory::lock", ErrClosed), err)
}

// waitLock waits for the lock until ctx is done or m is closed.
func (m *SharedMemory) waitLock(ctx context.Context, lock *Semaphore) error {
	const op = "QSharedMemory::lock"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.closeCtx, cancel)()
	if err := lock.AcquireContext(ctx); err != nil {
		if m.closeCtx.Err() == nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return m.lockError(op, err)
	}
	return nil
}

// TryLock takes the lock if it is free now and reports whether it did.
func (m *SharedMemory) TryLock() (bool, error) {
	if planted, err := m.plantedLock(); planted {
		return err == nil, err
	}
	if took, err := m.lockFast(); took {
		return err == nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.lockSlow(ctx)
	if errors.Is(err, context.Canceled) {
		return false, nil
	}
	return err == nil, err
}

// Unlock releases the lock taken by Lock. It fails when this object does
// not hold the lock.
func (m *SharedMemory) Unlock() error {
	switch {
	case mutant("unlock-noop"):
		return nil
	case mutant("no-exclusion"):
		if !m.held.CompareAndSwap(true, false) {
			return m.unlockError(ErrNotLocked)
		}
		return nil
	case mutant("unlock-fails"):
		return errors.Join(m.unlock(), m.unlockError(errors.New("planted fault")))
	}
	return m.unlock()
}

func (m *SharedMemory) unlock() error {
	if lock := m.lock.Load(); lock != nil && lock.closeSafe {
		// releaseHeld works even if Close closes the semaphore meanwhile.
		if !m.held.CompareAndSwap(true, false) {
			return m.unlockError(ErrNotLocked)
		}
		return m.unlockError(lock.releaseHeld())
	}
	// Other semaphores must stay open until the release is done: Close
	// takes held and closes the semaphore with lockUse held for writing.
	m.lockUse.RLock()
	defer m.lockUse.RUnlock()
	lock := m.lock.Load()
	if !m.held.Swap(false) || lock == nil {
		return m.unlockError(ErrNotLocked)
	}
	return m.unlockError(lock.releaseHeld())
}

// plantedLock is Lock as the faults of `make verify` make it: lock-noop
// does nothing, no-exclusion marks the lock held without taking it.
func (m *SharedMemory) plantedLock() (planted bool, err error) {
	switch {
	case mutant("lock-noop"):
		return true, nil
	case mutant("no-exclusion"):
		m.held.Store(true)
		return true, nil
	}
	return false, nil
}

func (m *SharedMemory) unlockError(cause error) error {
	if cause == nil {
		return nil
	}
	return &Error{Op: "QSharedMemory::unlock", Key: m.key, Kind: LockError, Err: cause, text: "unable to unlock"}
}

// ErrNotLocked is matched by errors.Is when Unlock is called without the
// lock.
var ErrNotLocked = errors.New("qipc: not locked")

// RemoveSharedMemory deletes the segment named by key, its key file and its
// lock semaphore, whether or not processes are attached: the clean-up after
// a crash that Qt leaves to the user. Existing mappings stay valid; new
// attaches fail. It reports ErrNotFound when there was no segment (the lock
// semaphore is removed anyway). On Windows the OS removes objects with
// their last handle and there is nothing to remove.
func RemoveSharedMemory(key Key) error {
	const op = "QSharedMemory::remove"
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
	removed, err := b.removeSegment(key)
	err = errors.Join(err, b.removeSemaphore(lockKeyFor(key)))
	if err == nil && !removed {
		return &Error{Op: op, Key: key, Kind: NotFound}
	}
	return err
}
