package qipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
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

	// lock is the lock semaphore, bound by a Create or Attach with mu
	// held, and nil only before the first. Whether this object holds it,
	// whether the detach that removed the segment retired it, and whether
	// Close has begun are bits of its state word (sem.go), so Lock and
	// Unlock read nothing else.
	lock atomic.Pointer[Semaphore]
	// closing is set first by Close; a Create or Attach that binds a lock
	// afterwards passes it on to the lock's closing bit, so that Close
	// ends its wait for the lock there too.
	closing atomic.Bool

	mu      sync.Mutex // orders Create, Attach, Detach and Close; guards below
	b       backend
	seg     segment
	creator bool // this object created the segment
	mapped  bool // a Create or Attach of this object succeeded
	closed  bool
}

// NewSharedMemory returns an object for the segment named by key (see
// [SharedMemoryKey] and [LegacySharedMemoryKey]); it touches nothing until
// Create or Attach.
func NewSharedMemory(key Key, opts ...Option) *SharedMemory {
	return &SharedMemory{key: key, opts: buildOptions(opts)}
}

// Key returns the segment's key.
func (m *SharedMemory) Key() Key { return m.key }

// Create makes the segment with size bytes and attaches it, under the lock
// as Qt does, so an attaching Qt peer never sees it half made. It fails with
// ErrAlreadyExists when the segment exists; Qt's recipe is then to Attach.
// A Create that fails leaves nothing it made behind.
func (m *SharedMemory) Create(size int, mode AccessMode) error {
	return m.CreateContext(context.Background(), size, mode)
}

// CreateContext is Create that gives up waiting for the lock when ctx is
// done (a holder that died on POSIX never gives it back); the error then
// matches ctx.Err().
func (m *SharedMemory) CreateContext(ctx context.Context, size int, mode AccessMode) (err error) {
	defer func() {
		if err != nil {
			err = called("create", err)
		}
	}()
	const op = "QSharedMemory::create"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(op); err != nil {
		return err
	}
	if size <= 0 {
		return m.failed(&Error{QtOp: op, Key: m.key, Kind: InvalidSize, text: "create size is less then 0"})
	}
	return m.failed(m.underLock(ctx, op, func() error {
		seg, err := m.b.createSegment(m.key, size, mode, m.opts.perm)
		if errors.Is(err, ErrAlreadyExists) {
			if err = m.existing(err); err == nil {
				seg, err = m.b.createSegment(m.key, size, mode, m.opts.perm)
			}
		}
		if err != nil {
			return err
		}
		if err := m.trust(op, seg.owners()); err != nil {
			// A key file another user made first: give up the segment
			// made on it.
			_, derr := seg.detach(true)
			return errors.Join(err, derr)
		}
		m.seg, m.creator, m.mapped = seg, true, true
		return nil
	}))
}

// Attach maps an existing segment. An Attach that fails leaves nothing it
// made behind.
func (m *SharedMemory) Attach(mode AccessMode) error {
	return m.AttachContext(context.Background(), mode)
}

// AttachContext is Attach that gives up waiting for the lock when ctx is
// done; the error then matches ctx.Err().
func (m *SharedMemory) AttachContext(ctx context.Context, mode AccessMode) (err error) {
	defer func() {
		if err != nil {
			err = called("attach", err)
		}
	}()
	const op = "QSharedMemory::attach"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(op); err != nil {
		return err
	}
	return m.failed(m.underLock(ctx, op, func() error {
		seg, err := m.b.attachSegment(m.key, mode)
		if err != nil {
			return err
		}
		if err := m.trust(op, seg.owners()); err != nil {
			_, derr := seg.detach(false)
			return errors.Join(err, derr)
		}
		m.seg, m.mapped = seg, true
		return nil
	}))
}

// existing handles a Create that found a segment under its key, with the
// lock held: a stale one is removed (WithReplaceStale; nil tells Create
// to try again) or named in the error with the remedy.
func (m *SharedMemory) existing(exists error) error {
	f, err := m.b.inspectSegment(m.key)
	if err != nil || !f.found {
		return exists
	}
	var u Usage
	stale, why := staleness(f, &u)
	var e *Error
	if !stale && !mutant("replace-live") || !errors.As(exists, &e) {
		return exists
	}
	if m.opts.replaceStale && m.key.HasLock() {
		_, err := m.b.removeSegment(m.key, true)
		return err
	}
	hint := "it is stale (" + why + "): WithReplaceStale() replaces it; RemoveSharedMemory or `qipc rm` removes it"
	if !m.key.HasLock() {
		hint = "it is stale (" + why + "), but a key without a lock cannot be replaced safely; RemoveSharedMemory or `qipc rm` removes it"
	}
	withHint := *e
	withHint.hint = hint
	return &withHint
}

// failed finishes a Create or Attach that returns err, with mu held: when
// it failed and this object made the lock semaphore (and its key file)
// only for it, they go now, not at a Close that may never come (a program
// that exits on the error). Qt removes them when the object is destroyed.
func (m *SharedMemory) failed(err error) error {
	lock := m.lock.Load()
	if err == nil || m.seg != nil || lock == nil || lock.state.Load()&(stateHeld|stateClosed) != 0 || !lock.isOwner() {
		return err
	}
	m.lock.Store(nil)
	if m.closing.Load() {
		m.lock.Store(closedLock)
	}
	return errors.Join(err, lock.remove(), lock.Close())
}

// usable checks the object and its key before Create or Attach and binds
// the lock semaphore, with mu held.
func (m *SharedMemory) usable(op string) error {
	switch {
	case m.closed:
		return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
	case m.seg != nil:
		return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: ErrAttached, text: "already attached"}
	}
	if err := checkKey("QSharedMemory", "", m.key); err != nil {
		if op == "QSharedMemory::create" && m.key.Type == Windows && m.key.IsEmpty() {
			// Qt's Windows create() checks the key itself, before handle().
			return &Error{QtOp: op, Key: m.key, Kind: KeyError, text: "key error"}
		}
		return err
	}
	if m.b == nil {
		b, err := backendFor("QSharedMemory::setNativeKey", m.key)
		if err != nil {
			return err
		}
		m.b = b
	}
	if m.b.lockShadowsSegment(m.key) {
		return &Error{QtOp: handleOp("QSharedMemory", m.key), Key: m.key, Kind: KeyError, Err: ErrLibcSemaphores,
			text: "musl keeps a POSIX semaphore under the segment's own name, which Qt 6.6+ gives its lock: use System V keys or a legacy POSIX key with musl"}
	}
	if !m.key.HasLock() {
		return nil // Qt <= 6.5's native key: nothing to bind
	}
	if l := m.lock.Load(); l == nil || l.state.Load()&stateClosed != 0 {
		// Open mode even for Create: Qt's Create mode would reset a lock
		// another process may hold right now (see COMPAT.md).
		lock, err := NewSemaphore(lockKeyFor(m.key), 1, Open, WithoutCleanup(), WithPermissions(fsMode(m.opts.perm)), WithSpin(m.opts.spin))
		if err != nil {
			var se *Error
			errors.As(err, &se)
			kind := UnknownError
			if se != nil {
				kind = se.Kind
			}
			return &Error{QtOp: "QSharedMemoryPrivate::initKey", Key: m.key, Kind: kind, Err: errors.Unwrap(err),
				text:   "unable to set key on lock (" + QtErrorString(err) + ")",
				legacy: "QSharedMemoryPrivate::initKey: unable to set key on lock"}
		}
		if err := m.trust(op, lock.cur.Load().h.owners()); err != nil {
			return errors.Join(err, lock.Close())
		}
		m.lock.Store(lock)
		if m.closing.Load() {
			lock.closing()
		}
	}
	return nil
}

// trust refuses objects another user owns, unless WithForeignOwners says
// they are expected (or the process runs as root): another local user can
// make a legacy key file and a 0666 segment first, and this object would
// then read and write that user's bytes.
func (m *SharedMemory) trust(op string, owners []owner) error {
	if m.opts.foreignOwners {
		return nil
	}
	for _, o := range owners {
		if who, foreign := foreignOwner(o.id); foreign {
			return &Error{QtOp: op, Key: m.key, Kind: PermissionDenied, Err: ErrForeignOwner,
				text: fmt.Sprintf("%s is owned by %s, not by this process's user; WithForeignOwners() accepts that", o.what, who)}
		}
	}
	return nil
}

// underLock runs fn holding the lock semaphore, unless this object already
// holds it through Lock or the key has none, as Qt's create/attach/detach
// do. Call with mu held. Close ends the wait for the lock.
func (m *SharedMemory) underLock(ctx context.Context, op string, fn func() error) error {
	lock := m.lock.Load()
	if lock == nil || lock.state.Load()&stateHeld != 0 {
		return fn()
	}
	ok, err := lock.take(ctx, -1, true)
	if !ok {
		if err == nil {
			err = ctx.Err()
		}
		return m.lockError(op, lock, err)
	}
	err = fn()
	return errors.Join(err, lock.give())
}

// lockError reports a failure to take the lock in Qt's words, keeping the
// cause (a context error, ErrClosed, an errno) reachable by errors.Is.
func (m *SharedMemory) lockError(op string, lock *Semaphore, cause error) error {
	switch {
	case lock == nil:
		if cause != ErrNoLock {
			cause = ErrNotAttached
		}
	case lock.state.Load()&stateClosing != 0:
		cause = ErrClosed
	case errors.Is(cause, ErrClosed):
		// The lock semaphore closed under an open object: the detach
		// that removed the segment retired it.
		cause = ErrNotAttached
	}
	return &Error{QtOp: op, Key: m.key, Kind: LockError, Err: cause, text: "unable to lock"}
}

// Detach unmaps the segment. On System V the process that detaches last
// removes the segment, its key file and its lock semaphore, as Qt does.
func (m *SharedMemory) Detach() error { return m.DetachContext(context.Background()) }

// notAttached is the error of an operation that needs the mapping.
func (m *SharedMemory) notAttached(op string) *Error {
	return &Error{QtOp: op, Key: m.key, Kind: NotFound, Err: ErrNotAttached, text: "not attached"}
}

// DetachContext is Detach that gives up waiting for the lock when ctx is
// done, leaving the segment attached; the error then matches ctx.Err().
func (m *SharedMemory) DetachContext(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			err = called("detach", err)
		}
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	const op = "QSharedMemory::detach"
	if m.seg == nil {
		return m.notAttached(op)
	}
	lock := m.lock.Load()
	if lock == nil {
		return m.detachUnder(nil, false) // the key has no lock
	}
	if lock.state.Load()&stateHeld != 0 {
		// A lock taken by Lock stays taken (Qt's detach unlocks it on
		// the way out: COMPAT.md #14).
		return m.detachUnder(lock, false)
	}
	ok, err := lock.take(ctx, -1, false)
	if !ok {
		if err == nil {
			err = ctx.Err()
		}
		return m.lockError(op, lock, err)
	}
	return m.detachUnder(lock, true)
}

// detachUnder unmaps with mu and the lock held; taken says the lock is an
// open call of this detach (or Close), to be given back here. When the
// detach removes the segment, the lock goes with it, still taken: it is
// retired, not given back, so that a Lock waiting for it fails rather
// than making a fresh one (the next Create or Attach binds a new one).
func (m *SharedMemory) detachUnder(lock *Semaphore, taken bool) error {
	removed, err := m.seg.detach(m.opts.cleanup)
	m.seg = nil
	if lock == nil {
		return err
	}
	if removed {
		if !taken && lock.claimHeld() {
			taken = true
		}
		err = errors.Join(err, lock.retire())
		if taken {
			lock.leave()
		}
		return err
	}
	if taken {
		err = errors.Join(err, lock.give())
	}
	return err
}

// Close detaches if attached, releases the lock if this object holds it,
// and gives up what the object owns: where the OS cannot count
// attachments (POSIX), the object that created the segment removes it and
// its lock semaphore, as Qt 6.6+ documents; [WithoutCleanup] keeps them.
// Other processes' mappings stay valid. Close unblocks Lock calls waiting
// in other goroutines; they return ErrClosed. An Unlock racing with Close
// still gives the lock back: the lock semaphore's handle is closed when
// the last call using it ends.
func (m *SharedMemory) Close() (err error) {
	defer func() {
		if err != nil {
			err = called("close", err)
		}
	}()
	// First, so that waiting Locks (and a Create or Attach waiting for
	// the lock with mu held) end, and Locks from now on fail.
	m.closing.Store(true)
	if lock := m.lock.Load(); lock != nil {
		lock.closing()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &Error{QtOp: "QSharedMemory::close", Key: m.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
	}
	m.closed = true
	lock := m.lock.Load()
	if lock == nil {
		m.lock.Store(closedLock)
		if m.seg == nil {
			return nil
		}
		// Attached with a key that has no lock.
		return errors.Join(m.detachUnder(nil, false), m.giveUp(nil))
	}
	lock.closing() // bound after the closing above
	if lock.state.Load()&stateClosed != 0 {
		return nil // an earlier detach removed the segment and retired its lock
	}
	// Take over a lock this object holds, so that a Lock racing with
	// Close cannot give it back meanwhile; the detach runs under it.
	held := lock.claimHeld()
	if m.seg != nil {
		if held {
			err = m.detachUnder(lock, true)
		} else if ok, terr := lock.take(context.Background(), -1, false); ok {
			err = m.detachUnder(lock, true)
		} else {
			err = m.lockError("QSharedMemory::detach", lock, terr)
		}
		held = false
		if lock.state.Load()&stateClosed != 0 {
			return err // the detach removed the segment and retired its lock
		}
	}
	if held {
		err = errors.Join(err, lock.give())
	}
	return errors.Join(err, m.giveUp(lock))
}

// giveUp removes at Close what this object owns, and closes its lock
// (nil for a key without one), with mu held and the segment detached.
func (m *SharedMemory) giveUp(lock *Semaphore) error {
	var err error
	removeLock := false
	switch {
	case !m.opts.cleanup:
	case !m.b.countsAttachments():
		if m.creator {
			_, err = m.b.removeSegment(m.key, false)
		}
		removeLock = lock != nil && (m.creator || lock.isOwner())
	default:
		// Where the last detach removes the lock, only a lock this object
		// made for a segment it never mapped (a failed Attach) is left.
		removeLock = lock != nil && lock.isOwner() && !m.mapped
	}
	if lock == nil {
		return err
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
func (m *SharedMemory) LockContext(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			err = called("lock", err)
		}
	}()
	if planted, err := m.plantedLock(); planted {
		return err
	}
	return m.lockWith(ctx, -1)
}

// TryLock takes the lock if it is free now and reports whether it did.
func (m *SharedMemory) TryLock() (_ bool, err error) {
	defer func() {
		if err != nil {
			err = called("lock", err)
		}
	}()
	if planted, err := m.plantedLock(); planted {
		return err == nil, err
	}
	err = m.lockWith(context.Background(), 0)
	if errors.Is(err, errNotNow) {
		return false, nil
	}
	return err == nil, err
}

// errNotNow is what lockWith reports when a zero limit found the lock taken.
var errNotNow = errors.New("lock taken")

// lockWith takes the lock, waiting at most as limit says (see take).
func (m *SharedMemory) lockWith(ctx context.Context, limit time.Duration) error {
	const op = "QSharedMemory::lock"
	if !m.key.HasLock() {
		return m.lockError(op, nil, ErrNoLock)
	}
	lock := m.lock.Load()
	if lock == nil {
		return m.lockError(op, nil, ErrNotAttached)
	}
	var v uint64
	for {
		ok, err := lock.take(ctx, limit, true)
		switch {
		case ok:
		case err == nil && limit == 0:
			return errNotNow
		case err == nil:
			return ctx.Err()
		default:
			return m.lockError(op, lock, err)
		}
		var held bool
		if v, held = lock.nowHeld(); held {
			break
		}
		// Held already, by a count of the semaphore this one replaced:
		// one holder per object, so give this count back and wait.
		if err := lock.give(); err != nil {
			return m.lockError(op, lock, err)
		}
		time.Sleep(time.Millisecond)
	}
	if v&stateClosing == 0 {
		return nil
	}
	// Close began before the lock was marked held: either Close finds it
	// held and gives it back, or this does; the claim decides.
	var err error
	if lock.claimHeld() {
		err = lock.give()
	}
	return errors.Join(m.lockError(op, lock, ErrClosed), err)
}

// Unlock releases the lock taken by Lock. It fails when this object does
// not hold the lock.
func (m *SharedMemory) Unlock() (err error) {
	defer func() {
		if err != nil {
			err = called("unlock", err)
		}
	}()
	switch {
	case mutant("unlock-noop"):
		return nil
	case mutant("no-exclusion"):
		if lock := m.lock.Load(); lock != nil && lock.claimHeld() {
			lock.leave()
			return nil
		}
		return m.unlockError(ErrNotLocked)
	case mutant("unlock-fails"):
		return errors.Join(m.unlock(), m.unlockError(errors.New("planted fault")))
	}
	return m.unlock()
}

func (m *SharedMemory) unlock() error {
	lock := m.lock.Load()
	if lock == nil || !lock.claimHeld() {
		return m.unlockError(ErrNotLocked)
	}
	return m.unlockError(lock.give())
}

// plantedLock is Lock as the faults of `make verify` make it: lock-noop
// does nothing, no-exclusion takes nothing but marks the lock held.
func (m *SharedMemory) plantedLock() (planted bool, err error) {
	switch {
	case mutant("lock-noop"):
		return true, nil
	case mutant("no-exclusion"):
		if lock := m.lock.Load(); lock != nil && lock.enter(true) {
			if _, held := lock.nowHeld(); !held {
				lock.leave()
			}
		}
		return true, nil
	}
	return false, nil
}

func (m *SharedMemory) unlockError(cause error) error {
	if cause == nil {
		return nil
	}
	return &Error{QtOp: "QSharedMemory::unlock", Key: m.key, Kind: LockError, Err: cause, text: "unable to unlock"}
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
func RemoveSharedMemory(key Key) (err error) {
	defer func() {
		if err != nil {
			err = called("remove", err)
		}
	}()
	const op = "QSharedMemory::remove"
	if err := checkKey("QSharedMemory", op, key); err != nil {
		return err
	}
	b, err := backendFor(op, key)
	if err != nil {
		return err
	}
	removed, err := b.removeSegment(key, false)
	if key.HasLock() {
		err = errors.Join(err, b.removeSemaphore(lockKeyFor(key)))
	}
	if err == nil && !removed {
		return &Error{QtOp: op, Key: key, Kind: NotFound}
	}
	return err
}
