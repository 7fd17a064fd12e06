package qipc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAttached is matched by errors.Is when Create or Attach is called on an
// object that is already attached.
var ErrAttached = errors.New("qipc: already attached")

// SharedMemory is a shared-memory segment and the lock semaphore that goes
// with it: what a QSharedMemory with the same key uses, so Lock excludes Qt
// peers that call QSharedMemory::lock(). Its methods are safe for
// concurrent use (see the package documentation, "Concurrency"); the bytes
// returned by Data are shared memory and are guarded by Lock, not by the
// object.
type SharedMemory struct {
	key  Key
	opts options
	b    backend // nil when no backend serves the key here (usable says why)

	lock qtLock  // the Qt lock as this object uses it (qtlock.go)
	life mapping // the phase, the mapping and its pins (mapping.go)

	bindMu sync.Mutex // orders the binding of the lock semaphore (bind)

	// created is the identity of the segment this object created, zero
	// for none; written with the token held. Where the OS does not count
	// attachments, Close removes that segment, and only that one.
	created segmentID
	// retireDue is a lock semaphore whose removal a detach deferred to
	// the end of the hold it ran under (retireLock, giveHold).
	retireDue atomic.Pointer[Semaphore]
}

// NewSharedMemory returns an object for the segment named by key (see
// [SharedMemoryKey] and [LegacySharedMemoryKey]); it touches nothing until
// Create or Attach.
func NewSharedMemory(key Key, opts ...Option) *SharedMemory {
	m := &SharedMemory{key: key, opts: buildOptions(opts)}
	m.b, _ = backendFor("", key)
	m.lock.init()
	m.life.init()
	return m
}

// Key returns the segment's key.
func (m *SharedMemory) Key() Key { return m.key }

// Create makes the segment with size bytes and attaches it, under the lock
// as Qt does, so an attaching Qt peer never sees it half made. It fails with
// ErrAlreadyExists when the segment exists; Qt's recipe is then to Attach.
// A Create that fails removes the segment it made, and the lock semaphore
// it made when no other process can be using it (package documentation,
// "Ownership").
func (m *SharedMemory) Create(size int, mode AccessMode) error {
	return m.CreateContext(context.Background(), size, mode)
}

// CreateContext is Create that gives up waiting for the lock when ctx is
// done (a holder that died on POSIX never gives it back); the error then
// matches ctx.Err().
func (m *SharedMemory) CreateContext(ctx context.Context, size int, mode AccessMode) (err error) {
	defer named("create", &err)
	const op = "QSharedMemory::create"
	if err := m.usable(op); err != nil {
		return err
	}
	if m.opts.observer {
		return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: ErrObserver, text: "an observer creates nothing"}
	}
	if size <= 0 {
		return &Error{QtOp: op, Key: m.key, Kind: InvalidSize, text: "create size is less then 0",
			says: fmt.Sprintf("size %d: a segment needs at least one byte", size)}
	}
	return m.change(ctx, op, func(*lockHold) error {
		if err := m.detachedNow(op); err != nil {
			return err
		}
		m.life.set(attaching, nil)
		seg, err := m.b.createSegment(m.key, size, mode, m.opts.perm)
		if errors.Is(err, ErrAlreadyExists) {
			if err = m.existing(err); err == nil {
				seg, err = m.b.createSegment(m.key, size, mode, m.opts.perm)
			}
		}
		if err == nil {
			if terr := m.trust(op, seg.owners()); terr != nil {
				// A key file another user made first: give up the
				// segment made on it.
				_, derr := seg.detach(true, false)
				err = errors.Join(terr, derr)
			}
		}
		if err != nil {
			m.life.set(detached, nil)
			return err
		}
		m.created = seg.identity()
		m.life.set(attached, &mapped{seg: seg, data: seg.bytes(), readOnly: mode == ReadOnly})
		return nil
	})
}

// Attach maps an existing segment. An Attach that fails makes no lock
// semaphore for a segment that does not exist, and leaves nothing behind
// that no other process can be using.
func (m *SharedMemory) Attach(mode AccessMode) error {
	return m.AttachContext(context.Background(), mode)
}

// AttachContext is Attach that gives up waiting for the lock when ctx is
// done; the error then matches ctx.Err().
func (m *SharedMemory) AttachContext(ctx context.Context, mode AccessMode) (err error) {
	defer named("attach", &err)
	const op = "QSharedMemory::attach"
	if err := m.usable(op); err != nil {
		return err
	}
	// Qt binds (and may create) the lock semaphore first. Looking for the
	// segment first spares the usual start-up, a client retrying Attach
	// until its server has created the segment, a lock semaphore at every
	// try that no one would remove.
	if err := m.b.findSegment(m.key); err != nil {
		return withNamesakes(err, m.key)
	}
	return m.change(ctx, op, func(*lockHold) error {
		if err := m.detachedNow(op); err != nil {
			return err
		}
		m.life.set(attaching, nil)
		seg, err := m.b.attachSegment(m.key, mode)
		if err == nil {
			if terr := m.trust(op, seg.owners()); terr != nil {
				_, derr := seg.detach(false, false)
				err = errors.Join(terr, derr)
			}
		}
		if err != nil {
			m.life.set(detached, nil)
			return err
		}
		m.life.set(attached, &mapped{seg: seg, data: seg.bytes(), readOnly: mode == ReadOnly})
		return nil
	})
}

// existing handles a Create that found a segment under its key, with the
// lock held: a stale one is removed (WithReplaceStale; nil tells Create
// to try again) or named in the error with the remedy.
func (m *SharedMemory) existing(exists error) error {
	f, err := m.b.inspectSegment(m.key)
	if err != nil || !f.found {
		return exists
	}
	u := Usage{Creator: f.creator}
	stale, why := staleness(f, &u)
	var e *Error
	if !errors.As(exists, &e) {
		return exists
	}
	var hint string
	switch {
	case !stale:
		hint = "Attach uses it, as Qt's recipe does (" + inUse(u, why) + ")"
	case m.opts.replaceStale && m.key.HasLock():
		_, err := m.b.removeSegment(m.key, true, segmentID{})
		return err
	case !m.key.HasLock():
		hint = "it is stale (" + why + "), but a key without a lock cannot be replaced safely; RemoveSharedMemory or `qipc rm` removes it"
	default:
		hint = "it is stale (" + why + "): WithReplaceStale() replaces it; RemoveSharedMemory or `qipc rm` removes it"
	}
	withHint := *e
	withHint.hint = hint
	return &withHint
}

// withNamesakes adds to the NotFound of an Attach the keys under which a
// segment of the same name exists: the commonest miss is a Qt 5 program's
// segment (a legacy System V name) looked for under the Qt 6.6+ name, or
// the other way round. Only names that the OS can look up without making
// anything (not Qt 6.6+'s System V name, whose runtime directory Qt makes)
// are tried; each look is one shm_open or ftok.
func withNamesakes(err error, k Key) error {
	var e *Error
	if !errors.As(err, &e) || e.Kind != NotFound || e.hint != "" {
		return err
	}
	var found []string
	for _, alt := range namesakes(k) {
		if b, berr := backendFor("", alt); berr == nil && b.findSegment(alt) == nil {
			found = append(found, alt.String())
		}
	}
	if len(found) == 0 {
		return err
	}
	withHint := *e
	withHint.hint = "a segment of that name exists as " + strings.Join(found, " and as ") +
		" (the name as another Qt generation or key type derives it; LegacySharedMemoryKey, SharedMemoryKey and ParseKey make those keys)"
	return &withHint
}

// namesakes are the keys of the Unix segments that the other Qt
// generations and key types derive from the name k was derived from (its
// legacy key, or a Qt 6.6+ POSIX name proven by deriving it again).
func namesakes(k Key) []Key {
	name := k.LegacyKey
	if name == "" && k.Type == PosixRealtime {
		if n := strings.TrimPrefix(k.Native, "/"); SharedMemoryKey(n, PosixRealtime).Native == k.Native {
			name = n
		}
	}
	if name == "" {
		return nil
	}
	var out []Key
	for _, alt := range []Key{LegacySharedMemoryKey(name, SystemV), LegacySharedMemoryKey(name, PosixRealtime), SharedMemoryKey(name, PosixRealtime)} {
		if !alt.IsEmpty() && (alt.Type != k.Type || alt.Native != k.Native) && checkKey("QSharedMemory", "", alt) == nil {
			out = append(out, alt)
		}
	}
	return out
}

// usable checks the object and its key before Create or Attach.
func (m *SharedMemory) usable(op string) error {
	switch {
	case m.lock.isClosed():
		return m.closedError(op)
	case m.life.phase() == attached:
		return m.attachedError(op)
	}
	if err := checkKey("QSharedMemory", "", m.key); err != nil {
		if op == "QSharedMemory::create" && m.key.Type == Windows && m.key.IsEmpty() {
			// Qt's Windows create() checks the key itself, before handle().
			return &Error{QtOp: op, Key: m.key, Kind: KeyError, text: "key error"}
		}
		return err
	}
	if m.b == nil {
		_, err := backendFor("QSharedMemory::setNativeKey", m.key)
		return err
	}
	if m.b.lockShadowsSegment(m.key) {
		return &Error{QtOp: handleOp("QSharedMemory", m.key), Key: m.key, Kind: KeyError, Err: ErrLibcSemaphores,
			text: "musl keeps a POSIX semaphore under the segment's own name, which Qt 6.6+ gives its lock: use System V keys or a legacy POSIX key with musl"}
	}
	return nil
}

// detachedNow is the check of a Create or Attach with the token held.
func (m *SharedMemory) detachedNow(op string) error {
	switch {
	case m.lock.isClosed():
		return m.closedError(op)
	case m.life.phase() != detached:
		return m.attachedError(op)
	}
	return nil
}

func (m *SharedMemory) closedError(op string) *Error {
	return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
}

func (m *SharedMemory) attachedError(op string) *Error {
	return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: ErrAttached, text: "already attached"}
}

// bind opens the lock semaphore if none is bound, as Qt's initKey does
// before a create or attach, and reports whether this call made it.
// Open mode even for Create: Qt's Create mode would reset a lock another
// process may hold right now (COMPAT.md #1).
func (m *SharedMemory) bind(op string) (made bool, err error) { return m.bindAt(op, false) }

// bindAt is bind, also once Close has begun when closing is set (Close's
// own detach follows a lock removed under it; Close closes what is bound
// last).
func (m *SharedMemory) bindAt(op string, closing bool) (made bool, err error) {
	if !m.key.HasLock() {
		return false, nil // Qt <= 6.5's native key: nothing to bind
	}
	m.bindMu.Lock()
	defer m.bindMu.Unlock()
	if m.lock.isClosed() && !closing {
		return false, m.closedError(op)
	}
	if m.lock.sem.Load() != nil {
		return false, nil
	}
	// The owner check is this object's, below, so that its refusal
	// names the segment's key and the lock.
	opts := []Option{WithoutCleanup(), WithPermissions(fsMode(m.opts.perm)), WithSpin(m.opts.spin), withoutFollowing(), WithForeignOwners()}
	if m.opts.observer {
		opts = append(opts, Observer())
	}
	lock, err := NewSemaphore(lockKeyFor(m.key), 1, SemaphoreOpen, opts...)
	if m.opts.observer && errors.Is(err, ErrNotFound) {
		return false, nil // none now: an observer makes none (lockWith)
	}
	if err != nil {
		var se *Error
		errors.As(err, &se)
		kind := UnknownError
		if se != nil {
			kind = se.Kind
		}
		return false, &Error{QtOp: "QSharedMemoryPrivate::initKey", Key: m.key, Kind: kind, Err: errors.Unwrap(err),
			text:   "unable to set key on lock (" + QtErrorString(err) + ")",
			legacy: "QSharedMemoryPrivate::initKey: unable to set key on lock"}
	}
	owners := lock.cur.Load().h.owners()
	for i := range owners {
		if strings.HasPrefix(owners[i].what, "semaphore") {
			owners[i].what = "lock " + owners[i].what
		}
	}
	if err := m.trust(op, owners); err != nil {
		return false, errors.Join(err, lock.Close())
	}
	if m.opts.cleanup && m.b != nil {
		lock.orphaned = m.segmentGone
	}
	lock.endWaitsWith(m.lock.closeCtx)
	m.lock.sem.Store(lock)
	return lock.isOwner(), nil
}

// segmentGone reports whether the key names no segment now, for its lock
// semaphore's last closer (Semaphore.orphaned).
func (m *SharedMemory) segmentGone() bool { return m.b.findSegment(m.key) != nil }

// unbind closes the lock semaphore sem, bound earlier, so that the next
// bind opens the one its name leads to now.
func (m *SharedMemory) unbind(sem *Semaphore) error {
	m.bindMu.Lock()
	defer m.bindMu.Unlock()
	if !m.lock.sem.CompareAndSwap(sem, nil) {
		return nil
	}
	return sem.Close()
}

// trust refuses objects another user owns, unless WithForeignOwners says
// they are expected (trustOwners), also when the process runs as root:
// another local user can make a legacy key file and a 0666 segment first,
// and this object would then read and write that user's bytes.
func (m *SharedMemory) trust(op string, owners []owner) error {
	if m.opts.foreignOwners {
		return nil
	}
	return trustOwners(op, m.key, owners)
}

// trustOwners is the one owner rule, for segments, their locks and bare
// semaphores: another local user can make a legacy key file, a 0666
// segment or a 0666 semaphore first, and whoever used it would then read
// and write that user's bytes or take that user's counts. So an object
// another user owns is refused (foreignOwner says who that is).
func trustOwners(op string, k Key, owners []owner) error {
	for _, o := range owners {
		if who, foreign := foreignOwner(o.id); foreign {
			return &Error{QtOp: op, Key: k, Kind: PermissionDenied, Err: ErrForeignOwner,
				text: fmt.Sprintf("%s is owned by %s, not by this process's user; WithForeignOwners() accepts that", o.what, who)}
		}
	}
	return nil
}

// lockHold is how a Create, Attach, Detach or Close holds the Qt lock.
type lockHold struct {
	sem      *Semaphore // nil: none held (the key has no lock)
	borrowed bool       // the count the object holds for Lock (qtLock.borrow)
}

// errRetired is what enterLock reports when the lock semaphore bound is
// gone (removed, or retired by this object's detach) while it waited:
// bind the one the name leads to now.
var errRetired = errors.New("lock semaphore retired")

// change runs step, one change of phase (Create, Attach, Detach), as Qt
// runs them: under the Qt lock and, inside it, with the token. The lock is
// the count the object holds for Lock when it holds one (COMPAT.md #14),
// else one taken for the step; Close ends the wait for it. No wait happens
// with the token held but the one for pins (Detach), so a Lock holder
// that calls Detach never waits for a change that waits for its lock.
//
// A Create or Attach that fails, and that made the lock semaphore, removes
// it again while it holds its count, if there is no segment for it to
// lock and removing it cannot leave anyone on a removed one (System V,
// whose users follow a removal: Backend.followsRemoval; POSIX, when /proc
// shows no other process with it open). Else a POSIX one it closes, and
// whichever process closes it last, with still no segment, removes it
// (Semaphore.orphaned): removed any earlier, it would leave a process
// that has it open locking a semaphore that newcomers no longer find.
func (m *SharedMemory) change(ctx context.Context, op string, step func(*lockHold) error) error {
	var (
		h    lockHold
		made bool
		err  error
	)
	for tries := 0; ; tries++ {
		if made, err = m.bind(op); err != nil {
			return err
		}
		h, err = m.enterLock(ctx, op)
		switch {
		case err == errRetired:
			continue
		case err != nil:
			return err
		}
		if err := m.life.begin(ctx); err != nil {
			return errors.Join(m.lockError(op, err), m.exitLock(&h))
		}
		// With the token held, so that the phase cannot change before
		// the step (a Detach under way would end it "detached").
		if h.sem == nil || m.life.phase() != detached || !h.sem.cur.Load().h.stale() {
			break
		}
		m.life.end()
		// The lock semaphore bound earlier is not the one its name leads
		// to any more: someone removed it (a POSIX creator's Close does),
		// and those that make or map the segment now lock the name's.
		// Follow them, unless Lock holds the old one: a segment made or
		// mapped under it would be locked against no one.
		if h.borrowed {
			return errors.Join(m.lockError(op, ErrLockRemoved), m.exitLock(&h))
		}
		if testHookStaleUnbind != nil {
			testHookStaleUnbind()
		}
		// Unbound before the count goes back (stillBound).
		if err := errors.Join(m.unbind(h.sem), m.exitLock(&h)); err != nil {
			return err
		}
		if tries >= reopenLimit {
			return m.lockError(op, ErrLockRemoved)
		}
	}
	if m.lock.isClosed() {
		err = m.closedError(op)
	} else {
		err = step(&h)
	}
	// A call that failed on a hold of its own and left the object
	// detached (not one that found it attached already).
	failed := err != nil && !h.borrowed && h.sem != nil && m.life.phase() == detached
	retired := failed && made && m.segmentGone() &&
		(m.b.followsRemoval() || h.sem.cur.Load().h.unusedElsewhere())
	if retired {
		err = errors.Join(err, m.retireLock(&h))
	}
	m.life.end()
	if testHookChangeEnded != nil {
		testHookChangeEnded()
	}
	if failed && made && !retired && !m.key.Type.IsSystemV() {
		// A failed call holds no lock semaphore open that it made
		// (COMPAT.md #15): the last to close it removes it when no
		// segment is left (Semaphore.orphaned). One it found stays bound
		// until Close, as before the sweep. A System V handle is a
		// number that holds nothing, and stays bound, so that the object
		// still knows it made the lock: Qt's recipe "create, else attach"
		// makes it in the failed Create, and the Close after the Attach
		// removes it (madeLock), as Qt's destructor does. (A Windows
		// handle would keep the semaphore alive as long as the object,
		// closed or not.) Unbound before the count goes back, as every
		// unbinding is (stillBound).
		err = errors.Join(err, m.unbind(h.sem))
	}
	return errors.Join(err, m.exitLock(&h))
}

// stillBound checks a count of sem that this object's Lock or change has
// just taken, before anything else can see it held: sem must still be the
// lock semaphore bound, else a change unbound it meanwhile (to follow the
// name to a new one, or to give up one its failed call made) and may map
// a segment under the one bound since, which this count would not
// exclude; the count then goes back. The answer stays true while the
// count is held: every unbinding happens while its caller holds a count of
// the semaphore (and before it gives it back), or after a take of it
// failed because it was closed (an unbinding came first) or its wait
// failed (System V's removal, or an error of the wait itself: whoever
// holds a count of it then holds one of a semaphore no one can use);
// Close's own is the exception, and ends every hold.
func (m *SharedMemory) stillBound(sem *Semaphore) (bool, error) {
	if m.lock.sem.Load() == sem {
		return true, nil
	}
	return false, sem.giveBack()
}

// testHookStaleUnbind runs in change when it has found the lock semaphore
// it holds removed, before it unbinds it and gives the count back.
var testHookStaleUnbind func()

// testHookChangeEnded runs in change between the end of its token and the
// end of its hold (exitLock), so that a test can run a Close in that window.
var testHookChangeEnded func()

// enterLock takes the Qt lock for a change: the count the object holds
// for Lock, borrowed, or one of its own, waiting until ctx or Close ends
// the wait.
func (m *SharedMemory) enterLock(ctx context.Context, op string) (lockHold, error) {
	if !m.key.HasLock() {
		return lockHold{}, nil
	}
	if sem := m.lock.borrow(); sem != nil {
		return lockHold{sem: sem, borrowed: true}, nil
	}
	sem := m.lock.sem.Load()
	switch {
	case sem == nil && m.opts.observer:
		return lockHold{}, nil // there is none to take, and bind made none
	case sem == nil:
		return lockHold{}, errRetired
	}
	ok, err := sem.takeNow(), error(nil)
	if !ok {
		wctx, stop := m.lock.waitContext(ctx)
		ok, err = sem.take(wctx, -1)
		stop()
	}
	switch {
	case ok:
		if bound, err := m.stillBound(sem); !bound {
			return lockHold{}, cmp.Or(err, errRetired)
		}
		return lockHold{sem: sem}, nil
	case errors.Is(err, errSemaphoreGone) || errors.Is(err, ErrClosed) && !m.lock.isClosed():
		if err := m.unbind(sem); err != nil {
			return lockHold{}, err
		}
		return lockHold{}, errRetired
	}
	return lockHold{}, m.countWaitError(op, m.lock.waitError(ctx, err))
}

// exitLock ends what enterLock began: it gives the count back, or leaves
// it to the last borrower.
func (m *SharedMemory) exitLock(h *lockHold) error {
	switch {
	case h.sem == nil:
		return nil
	case h.borrowed:
		if sem, give := m.lock.unborrow(); give {
			return m.giveHold(sem)
		}
		return nil
	}
	return m.giveHold(h.sem)
}

// giveHold gives back a count of the lock semaphore sem, running first a
// removal that retireLock deferred to this moment: the semaphore goes if
// there is still no segment for it (a Create under the same hold made a
// new one, which keeps it).
func (m *SharedMemory) giveHold(sem *Semaphore) error {
	// The load first: a compare-and-swap is a locked instruction, which
	// every Unlock would pay for a removal that is almost never due.
	if m.retireDue.Load() != sem || !m.retireDue.CompareAndSwap(sem, nil) || m.b.findSegment(m.key) == nil {
		return sem.giveBack()
	}
	return errors.Join(m.removeLock(sem), sem.giveBack())
}

// removeLock unbinds the lock semaphore sem and removes it, with a count
// of it held.
func (m *SharedMemory) removeLock(sem *Semaphore) error {
	m.bindMu.Lock()
	m.lock.sem.CompareAndSwap(sem, nil)
	m.bindMu.Unlock()
	return sem.retire()
}

// retireLock removes the lock semaphore while h holds its count, with the
// token held: the segment it locks is gone. When h borrows a hold that
// goes on after this change (Lock's, which only Unlock ends; or one other
// changes still borrow), the removal waits for the end of that hold
// (giveHold): COMPAT.md #14 keeps a lock that Lock took held through a
// Detach, and Lock; Detach; Create; Unlock makes the new segment under it.
// Once removed, this object is done with it: Lock calls waiting for it fail
// with ErrNotAttached, and the next Create or Attach binds a new one. Other
// processes follow the removal (System V: their next operation fails and
// they open the name again) or go on using the removed semaphore among
// themselves (POSIX), the lock of a segment that no one can attach any
// more.
func (m *SharedMemory) retireLock(h *lockHold) error {
	if m.holdOutlives(h) {
		m.retireDue.Store(h.sem)
		return nil
	}
	return m.removeLock(h.sem)
}

// holdOutlives reports whether h borrows a hold that goes on after the
// change running under it: Lock's, which only Unlock ends, or one that
// other changes still borrow.
func (m *SharedMemory) holdOutlives(h *lockHold) bool {
	return h.borrowed && !m.lock.lastBorrowOfEnded()
}

// lockError reports a failure to take the lock in Qt's words, keeping the
// cause (a context error, ErrClosed, an errno) reachable by errors.Is.
func (m *SharedMemory) lockError(op string, cause error) error {
	switch {
	case cause == ErrNoLock:
	case m.lock.isClosed():
		cause = ErrClosed
	case errors.Is(cause, ErrClosed):
		// The lock semaphore closed under an open object: the detach
		// that removed the segment retired it.
		cause = ErrNotAttached
	}
	return &Error{QtOp: op, Key: m.key, Kind: LockError, Err: cause, text: "unable to lock"}
}

// countWaitError is lockError for a wait for the lock semaphore's count
// that ended without it: one that reached its deadline says who held the
// lock, as far as the OS tells (this process's own mapping left out of
// the POSIX guess: its wait gave up).
func (m *SharedMemory) countWaitError(op string, cause error) error {
	err := m.lockError(op, cause)
	if e, ok := err.(*Error); ok && errors.Is(cause, context.DeadlineExceeded) && m.key.HasLock() && m.b != nil {
		e.hint = inspectLock(m.b, lockKeyFor(m.key), true).String()
	}
	return err
}

// inUse says who uses an existing segment that is not stale, for the
// AlreadyExists of Create, as far as the OS tells; why is staleness's
// reason, said as it is where no user is seen (a System V creator that
// runs, a POSIX user out of sight): "in use" would claim more than is
// known. (Not the lock's holder: Create holds the lock while it looks.)
func inUse(u Usage, why string) string {
	switch {
	case len(u.Pids) > 0:
		return fmt.Sprintf("it is in use by pids %v", u.Pids)
	case u.Attached > 0 && u.Creator > 0:
		return fmt.Sprintf("it is in use by %d attached processes, creator pid %d", u.Attached, u.Creator)
	case u.Attached > 0:
		return fmt.Sprintf("it is in use by %d attached processes", u.Attached)
	case why != "":
		return "not called stale: " + why
	}
	return "not called stale"
}

// Detach unmaps the segment, once the ReadAt, WriteAt and Locked calls
// using it have returned. On System V the process that detaches last
// removes the segment, its key file and its lock semaphore, as Qt does.
func (m *SharedMemory) Detach() error { return m.DetachContext(context.Background()) }

// notAttached is the error of an operation that needs the mapping.
func (m *SharedMemory) notAttached(op string) *Error {
	return &Error{QtOp: op, Key: m.key, Kind: NotFound, Err: ErrNotAttached, text: "not attached"}
}

// DetachContext is Detach that gives up when ctx is done, while it waits
// for the lock or for the calls using the mapping, leaving the segment
// attached; the error then matches ctx.Err().
func (m *SharedMemory) DetachContext(ctx context.Context) (err error) {
	defer named("detach", &err)
	const op = "QSharedMemory::detach"
	switch {
	case m.lock.isClosed():
		return m.closedError(op)
	case m.life.phase() != attached:
		return m.notAttached(op)
	}
	return m.change(ctx, op, func(h *lockHold) error {
		if m.life.phase() != attached {
			return m.notAttached(op)
		}
		if err := m.life.drain(ctx); err != nil {
			return &Error{QtOp: op, Key: m.key, Kind: UnknownError, Err: err, text: "the mapping is in use (ReadAt, WriteAt or Locked)"}
		}
		return m.unmap(h)
	})
}

// unmap detaches a drained mapping, with the token held, and the lock
// unless the key has one and h holds none (CloseContext gave up waiting):
// then nothing is removed. When the detach removes the segment, the lock
// goes with it (retireLock).
func (m *SharedMemory) unmap(h *lockHold) error {
	locked := h.sem != nil || !m.key.HasLock()
	removed, err := m.life.cur.Load().seg.detach(m.opts.cleanup && locked, m.holdOutlives(h))
	m.life.set(detached, nil)
	if removed && h.sem != nil {
		err = errors.Join(err, m.retireLock(h))
	}
	return err
}

// Close detaches if attached (once the ReadAt, WriteAt and Locked calls
// using the mapping have returned), releases the lock if this object
// holds it, and gives up what the object owns: where the OS cannot count
// attachments (POSIX), the object that created the segment removes it and
// its lock semaphore, as Qt 6.6+ documents; [WithoutCleanup] keeps them.
// Other processes' mappings stay valid. Close ends the Lock calls and the
// waits for the lock of Create, Attach and Detach in other goroutines;
// they return ErrClosed. A lock that Lock holds when Close begins is
// Close's from then on: Unlock then reports ErrNotLocked, and Close gives
// it back. Close waits for the lock as long as it takes (a POSIX holder
// that died never gives it back): CloseContext bounds that wait.
func (m *SharedMemory) Close() error { return m.CloseContext(context.Background()) }

// CloseContext is Close that gives up waiting for the lock when ctx is
// done. The object is closed all the same: the segment is unmapped, but
// what only the lock's holder may remove stays (a System V segment left
// unused, a POSIX segment this object created), and the error matches
// ctx.Err().
func (m *SharedMemory) CloseContext(ctx context.Context) (err error) {
	defer named("close", &err)
	first, claimed, claimedSem := m.lock.close()
	if !first {
		return m.closedError("QSharedMemory::close")
	}
	// No change begins from now on (change checks with the token), so the
	// phase seen once the change in progress is over stays.
	_ = m.life.begin(context.Background())
	attachedNow := m.life.phase() == attached
	m.life.end()
	h := lockHold{sem: claimedSem, borrowed: claimed}
	if !claimed && m.key.HasLock() && (attachedNow || m.mayRemove() || m.madeLock() != nil) {
		limit := time.Duration(-1)
		if !attachedNow && !m.mayRemove() {
			// Only a lock this object made is at stake: a Close does not
			// wait for another process's hold to remove it (a deferred
			// Close after a failed Create would hang there); a lock held
			// now is in use, and stays.
			limit = 0
		}
		h, err = m.closeLock(ctx, limit, !attachedNow)
	}
	_ = m.life.begin(context.Background())
	if m.life.phase() == attached {
		_ = m.life.drain(context.Background())
		err = errors.Join(err, m.unmap(&h))
	}
	if h.sem != nil || !m.key.HasLock() {
		err = errors.Join(err, m.giveUp(&h))
	}
	if h.sem != nil && h.sem == m.madeLock() && !m.holdOutlives(&h) {
		err = errors.Join(err, m.removeLock(h.sem))
	}
	m.life.set(closedPhase, nil)
	m.life.end()
	err = errors.Join(err, m.exitLock(&h))
	m.bindMu.Lock()
	sem := m.lock.sem.Swap(nil)
	m.bindMu.Unlock()
	if sem != nil {
		err = errors.Join(err, sem.Close())
	}
	return err
}

// madeLock is the bound lock semaphore when this object made it (its
// Attach found none) and Close is to remove it, as Qt's destructor
// removes a semaphore it made: a Qt program's short-lived second instance
// makes the lock and removes it, and a reader that made it then must not
// leave it behind once the segment's last user is gone (no one else would
// remove it). Close removes it holding its count, and only on System V,
// whose users follow a removal: a POSIX user, in another process or in
// another object of this one, would go on locking the removed semaphore
// while newcomers lock a new one. nil when there is none, or it is retired
// already.
func (m *SharedMemory) madeLock() *Semaphore {
	if !m.opts.cleanup || m.b == nil || !m.b.followsRemoval() || m.created != (segmentID{}) {
		return nil // a creator's lock goes with its segment (Ownership 1)
	}
	if sem := m.lock.sem.Load(); sem != nil && sem.isOwner() && m.retireDue.Load() != sem {
		return sem
	}
	return nil
}

// mayRemove reports whether Close removes a segment this object created
// (giveUp), which it does only holding the lock.
func (m *SharedMemory) mayRemove() bool {
	return m.opts.cleanup && m.b != nil && !m.b.countsAttachments() && m.created != (segmentID{})
}

// closeLock takes the lock for Close's detach and removals: a wait that
// the closing does not end, ctx does; limit 0 only tries, and a count
// taken by another then gives no hold and no error. A lock semaphore
// removed under it is followed, as Qt follows it, so that the last detach
// removes the one the others use; and when the object is detached
// (detached set), so is one removed by name since it was bound, as change
// follows it: the segment this object created and is to remove is locked
// by those that attached it since with the name's lock.
func (m *SharedMemory) closeLock(ctx context.Context, limit time.Duration, detached bool) (lockHold, error) {
	const op = "QSharedMemory::detach"
	for tries := 0; tries < reopenLimit; tries++ {
		if _, err := m.bindAt(op, true); err != nil {
			return lockHold{}, err
		}
		sem := m.lock.sem.Load()
		switch {
		case sem == nil && m.opts.observer:
			return lockHold{}, nil // none exists; an observer removes nothing
		case sem == nil:
			continue
		}
		ok, err := sem.take(ctx, limit)
		switch {
		case ok && detached && sem.cur.Load().h.stale():
			// Unbound before the count goes back (stillBound).
			if err := errors.Join(m.unbind(sem), sem.giveBack()); err != nil {
				return lockHold{}, err
			}
			continue
		case ok:
			return lockHold{sem: sem}, nil
		case err == nil && limit == 0:
			return lockHold{}, nil // taken by another: nothing to remove now
		case errors.Is(err, errSemaphoreGone) || errors.Is(err, ErrClosed):
			if err := m.unbind(sem); err != nil {
				return lockHold{}, err
			}
			continue
		case err == nil:
			err = ctx.Err()
		}
		return lockHold{}, &Error{QtOp: op, Key: m.key, Kind: LockError, Err: err, text: "unable to lock"}
	}
	return lockHold{}, &Error{QtOp: op, Key: m.key, Kind: LockError, Err: errSemaphoreGone, text: "unable to lock"}
}

// giveUp removes at Close, with the token held and the segment detached,
// what this object owns where the OS does not count attachments (POSIX):
// the segment it created, if its name is still that segment, and with it
// the segment's lock semaphore, under h's count when Close holds it.
// System V's last detach removed everything already; Windows removes
// objects with their last handle.
func (m *SharedMemory) giveUp(h *lockHold) error {
	if !m.opts.cleanup || m.b == nil || m.b.countsAttachments() || m.created == (segmentID{}) {
		return nil
	}
	removed, err := m.b.removeSegment(m.key, false, m.created)
	if !removed || h.sem == nil { // Close calls it holding the lock, or for a key without one
		return err
	}
	return errors.Join(err, m.retireLock(h))
}

// Data returns the mapped segment itself, not a copy, or nil when not
// attached. It stays valid until Detach or Close, which do not wait for
// its users as they wait for ReadAt, WriteAt and Locked; guard access
// with Lock when other processes write.
func (m *SharedMemory) Data() []byte {
	if m.life.phase() != attached {
		return nil
	}
	if cur := m.life.cur.Load(); cur != nil {
		return cur.data
	}
	return nil
}

// Size returns the segment's size in bytes as the OS reports it (on
// Windows, whole pages), or 0 when not attached.
func (m *SharedMemory) Size() int { return len(m.Data()) }

// IsAttached reports whether the segment is mapped and usable: false from
// the moment a Detach or Close begins to wait for the calls using it.
func (m *SharedMemory) IsAttached() bool { return m.life.phase() == attached }

// Lock takes the lock a Qt peer's QSharedMemory::lock() takes, waiting as
// long as it takes. Unlike Qt's, it is not re-entrant: a second Lock on
// the same object waits for Unlock, as sync.Mutex does, which makes one
// object safe to share between goroutines.
func (m *SharedMemory) Lock() error { return m.LockContext(context.Background()) }

// LockContext is Lock that gives up when ctx is done, returning ctx.Err()
// without holding the lock.
func (m *SharedMemory) LockContext(ctx context.Context) (err error) {
	defer named("lock", &err)
	return m.lockWith(ctx, -1)
}

// TryLock takes the lock if it is free now and reports whether it did.
func (m *SharedMemory) TryLock() (_ bool, err error) {
	defer named("lock", &err)
	err = m.lockWith(context.Background(), 0)
	if errors.Is(err, errNotNow) {
		return false, nil
	}
	return err == nil, err
}

// errNotNow is what lockWith reports when a zero limit found the lock taken.
var errNotNow = errors.New("lock taken")

// lockWith takes the lock for Lock, waiting at most as limit says (see
// Semaphore.take): first the object's turn (one Lock of the object at a
// time waits for the count), then the count.
func (m *SharedMemory) lockWith(ctx context.Context, limit time.Duration) error {
	const op = "QSharedMemory::lock"
	if !m.key.HasLock() {
		return m.lockError(op, ErrNoLock)
	}
	for {
		if err := m.lock.acquireTurn(ctx, limit == 0); err != nil {
			if err == errNotNow {
				return err
			}
			return m.lockError(op, err)
		}
		sem := m.lock.sem.Load()
		if sem == nil {
			m.lock.releaseTurn()
			if !m.opts.observer || m.life.phase() != attached {
				return m.lockError(op, ErrNotAttached)
			}
			// An observer binds the lock once it exists.
			if err := m.follow(ctx, op, nil); err != nil {
				return m.lockError(op, err)
			}
			continue
		}
		ok, err := sem.takeNow(), error(nil)
		if !ok && limit == 0 {
			ok, err = sem.take(ctx, 0)
		} else if !ok {
			wctx, stop := m.lock.waitContext(ctx)
			ok, err = sem.take(wctx, limit)
			stop()
			if !ok {
				err = m.lock.waitError(ctx, err)
			}
		}
		if ok {
			bound, gerr := m.stillBound(sem)
			if !bound {
				m.lock.releaseTurn()
				if gerr != nil {
					return m.lockError(op, gerr)
				}
				continue
			}
		}
		switch {
		case ok && !m.lock.hold(sem):
			// Close began while this waited: no Unlock could give this
			// count back.
			return errors.Join(m.lockError(op, ErrClosed), sem.giveBack())
		case ok:
			return nil
		}
		m.lock.releaseTurn()
		switch {
		case err == nil:
			return errNotNow
		case errors.Is(err, errSemaphoreGone), errors.Is(err, ErrClosed) && !m.lock.isClosed():
			if err := m.follow(ctx, op, sem); err != nil {
				return m.lockError(op, err)
			}
		default:
			return m.countWaitError(op, err)
		}
	}
}

// follow moves Lock off the lock semaphore sem, which was removed under it
// (or unbound by another goroutine that found it removed); sem nil is an
// observer's Lock, which found none bound. With the segment attached, it
// binds the one the name leads to, as Qt follows a removal: the others
// make it again and use that one (an observer only finds it, or else
// errLockAbsent). Detached, the lock went with a segment this object no
// longer maps: there is nothing to lock (ErrNotAttached), and a lock made
// again now would lock nothing that anyone removes. With the token held,
// so that no Detach changes the phase in between.
func (m *SharedMemory) follow(ctx context.Context, op string, sem *Semaphore) error {
	if err := m.life.begin(ctx); err != nil {
		return err
	}
	defer m.life.end()
	if sem != nil {
		if err := m.unbind(sem); err != nil {
			return err
		}
	}
	if m.life.phase() != attached {
		return ErrNotAttached
	}
	if _, err := m.bind(op); err != nil {
		return err
	}
	if m.lock.sem.Load() == nil {
		return errLockAbsent // only an observer's bind makes none
	}
	return nil
}

// Unlock releases the lock taken by Lock. It fails with ErrNotLocked when
// this object does not hold the lock.
func (m *SharedMemory) Unlock() (err error) {
	defer named("unlock", &err)
	return m.unlockError(m.unlock())
}

func (m *SharedMemory) unlock() error {
	sem, give, err := m.lock.unlock()
	switch {
	case err != nil && m.lock.isClosed():
		return errClosedNotLocked
	case err != nil || !give:
		return err
	}
	return m.giveHold(sem)
}

// errClosedNotLocked is Unlock's cause on a closed object that holds no
// lock (Close took over any it held): it matches ErrNotLocked and
// ErrClosed.
var errClosedNotLocked error = closedNotLocked{}

type closedNotLocked struct{}

func (closedNotLocked) Error() string { return "qipc: not locked: the object is closed" }
func (closedNotLocked) Is(target error) bool {
	return target == ErrNotLocked || target == ErrClosed
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

// ErrLockRemoved is matched by errors.Is when Create or Attach runs on an
// object whose Lock holds a lock semaphore that was removed since (a POSIX
// creator's Close removes its segment's lock): a segment made or mapped
// under it would be locked against no one. Unlock, then call again.
var ErrLockRemoved = errors.New("qipc: the lock this object holds was removed; Unlock, then try again")

// RemoveSharedMemory deletes the segment named by key, its key file and its
// lock semaphore, whether or not processes are attached: the clean-up after
// a crash that Qt leaves to the user. Existing mappings stay valid; new
// attaches fail. It reports ErrNotFound when there was no segment (the lock
// semaphore, and a lone key file, are removed anyway). A file named by a
// System V key goes only if it is a key file (package documentation,
// "Ownership"); a key file that is a symbolic link is refused. On Windows the OS removes objects with
// their last handle and there is nothing to remove.
func RemoveSharedMemory(key Key) (err error) {
	defer named("remove", &err)
	const op = "QSharedMemory::remove"
	b, err := keyBackend("QSharedMemory", op, key)
	if err != nil {
		return err
	}
	removed, err := b.removeSegment(key, false, segmentID{})
	if key.HasLock() {
		err = errors.Join(err, b.removeSemaphore(lockKeyFor(key)))
	}
	if err == nil && !removed {
		return &Error{QtOp: op, Key: key, Kind: NotFound}
	}
	return err
}
