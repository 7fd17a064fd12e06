package qipc

import (
	"context"
	"errors"
	"fmt"
	"github.com/qipc-go/qipc/internal/knobs"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc/internal/spin"
)

// waitSlice bounds each blocking wait in the OS where nothing else can end
// it (POSIX, System V), so that a cancelled context or a concurrent Close
// is noticed within this time; a post still wakes a waiter at once. On
// Windows an event ends the wait instead (wakeableSem).
const waitSlice = 20 * time.Millisecond

// reopenLimit bounds how often an operation follows a semaphore that is
// being removed and recreated under it; Qt retries without limit.
const reopenLimit = 64

// ErrInvalidCount is matched by errors.Is when Release is given n < 0.
var ErrInvalidCount = errors.New("qipc: invalid count")

// The state word of a Semaphore (see the package documentation's
// "Concurrency"): the number of calls using its OS handles in the low bits,
// and flags above them. A count that a SharedMemory holds as its lock is a
// call too, so the handle stays open while the lock is held.
const (
	stateClosed   = 1 << 63 // Close has run: no call may begin
	stateRetired  = 1 << 60 // replaced handles wait for the calls to drain
	stateUserMask = 1<<32 - 1
)

// Semaphore is a named counting semaphore shared with other processes: the
// object a QSystemSemaphore with the same key uses. Its methods are safe
// for concurrent use.
type Semaphore struct {
	key     Key
	b       backend
	initial int
	opts    options

	// state counts the calls that use a handle and holds the flags
	// above; whoever leaves it with no calls and a flag that asks for it
	// closes the handles (drain).
	state atomic.Uint64
	// cur is the handle; a reopen replaces it.
	cur atomic.Pointer[semRef]

	// spinFor is how long a wait spins before it sleeps, in ns (spin).
	spinFor atomic.Int64
	// spinMisses counts the waits since a spin last took the count: the
	// failed spins, and the waits that skipped spinning (spin).
	spinMisses atomic.Uint32
	// queuedMisses counts the waits that found others asleep in the queue
	// where asking costs a system call, since a wait last found none
	// there (spin).
	queuedMisses atomic.Uint32

	// orphaned, set before the object is shared, reports whether the
	// semaphore has nothing left to lock once this object's handle is
	// closed: the lock of a segment that is gone. The last process to
	// close it then removes it (drain, semHandle.removeIfUnused), since
	// no one else would: its maker may have closed it earlier, while
	// another process still had it open.
	orphaned func() bool

	mu      sync.Mutex // guards the fields below, and reopen and Close
	owner   bool       // Close removes the semaphore
	retired []semHandle
	drained bool      // cur's handle is closed
	wakers  []sleeper // the calls waiting on a wakeableSem, woken by Close

	// closer, set before the object is shared (endWaitsWith), is a
	// context whose end ends the waits made with it as their context, in
	// one registration for all of them (stopCloser) rather than one per
	// wait: a SharedMemory's Close, for the waits of its Lock.
	closer     context.Context
	stopCloser func() bool
}

// semRef is one handle, with its glibc sem_t at hand when the lock-free
// path may use it, so that the uncontended path makes no call.
type semRef struct {
	h    semHandle
	word unsafe.Pointer // nil: no lock-free path
}

func newSemRef(h semHandle) *semRef {
	r := &semRef{h: h}
	if f, ok := h.(fastSem); ok {
		r.word = f.word()
	}
	return r
}

// lockFree reports whether takes and gives may use the mapped sem_t.
func (r *semRef) lockFree() bool { return r.word != nil && semFastOn() }

func (r *semRef) tryTake() bool { return r.lockFree() && semFastTake(r.word) }
func (r *semRef) tryGive() bool { return r.lockFree() && semFastGive(r.word) }

// sleepers reports whether processes sleep in the kernel's queue for the
// semaphore, where that is cheap to see: glibc's sem_t counts them (its
// own sem_wait and this package's futex sleep alike) in a word a load
// reads; System V tells in one system call (queueSeer). False elsewhere.
func (r *semRef) sleepers() bool {
	if r.lockFree() {
		return semFastSleepers(r.word)
	}
	q, ok := r.h.(queueSeer)
	return ok && q.sleepers()
}

// queueSeer is a semHandle that can tell cheaply whether processes sleep
// in its queue.
type queueSeer interface{ sleepers() bool }

// enter begins a call that uses the handle; it fails once the object is
// closed.
func (s *Semaphore) enter() bool {
	if s.state.Add(1)&stateClosed != 0 {
		return s.refused()
	}
	return true
}

// refused undoes the count of a call that may not begin.
func (s *Semaphore) refused() bool {
	s.leave()
	return false
}

// leave ends a call; the last one out after Close (or after a reopen)
// closes what waits to be closed.
func (s *Semaphore) leave() {
	v := s.state.Add(^uint64(0))
	if v&stateUserMask == stateUserMask {
		// More calls ended than began: a count given back twice, which
		// lets two holders in. Nothing can be trusted from here on.
		panic(fmt.Sprintf("qipc: Semaphore %v: a call ended that never began (state %#x)", s.key, v))
	}
	s.settle(v)
}

// settle closes the handles when state v, just written, says that no call
// uses them and someone asked for it.
func (s *Semaphore) settle(v uint64) {
	if v&stateUserMask == 0 && v&(stateClosed|stateRetired) != 0 {
		s.drain()
	}
}

// drain closes the handles replaced by reopens and, once the object is
// closed, the current one: each exactly once, and only while no call uses
// them.
func (s *Semaphore) drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.state.Load()
	if v&stateUserMask != 0 {
		return // a call came in meanwhile; it drains when it leaves
	}
	for _, h := range s.retired {
		_ = h.close()
	}
	s.retired = nil
	s.state.And(^uint64(stateRetired))
	if v&stateClosed != 0 && !s.drained {
		s.drained = true
		h := s.cur.Load().h
		if h.close() == nil && s.orphaned != nil && s.orphaned() {
			_ = h.removeIfUnused()
		}
	}
}

// NewSemaphore opens the semaphore named by key (see [SemaphoreKey] and
// [LegacySemaphoreKey]). With [SemaphoreOpen] an existing semaphore keeps
// its count and a missing one is created with initial; with
// [SemaphoreCreate] the count is set to initial either way. The object
// owns the semaphore when it created it or was made with SemaphoreCreate,
// and its Close then removes it unless [WithoutCleanup] is given.
func NewSemaphore(key Key, initial int, mode SemaphoreMode, opts ...Option) (_ *Semaphore, err error) {
	defer named("open", &err)
	const op = "QSystemSemaphore::handle"
	if err := checkKey("QSystemSemaphore", "", key); err != nil {
		return nil, err
	}
	if initial < 0 {
		return nil, &Error{QtOp: op, Key: key, Kind: UnknownError, Err: ErrInvalidCount, text: "initial count is negative"}
	}
	b, err := backendFor("QSystemSemaphore::setNativeKey", key)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	how := semOpenOrCreate
	switch {
	case o.observer && mode == SemaphoreCreate:
		return nil, &Error{QtOp: "QSystemSemaphore::setKey", Key: key, Kind: UnknownError, Err: ErrObserver,
			text: "Create mode resets the count, which an observer does not do"}
	case o.observer:
		how = semExisting
	case mode == SemaphoreCreate:
		how = semCreate
	}
	h, created, err := openTrusted(b, key, initial, how, o)
	if err != nil {
		return nil, err
	}
	s := newSemaphore(key, b, initial, o, h)
	s.owner = created || mode == SemaphoreCreate
	return s, nil
}

// openTrusted opens the semaphore and refuses it, closed again, when
// another user owns it (trustOwners), unless WithForeignOwners is given:
// a squatted 0666 semaphore would hand this process another user's counts.
// What such a refused call made stays (a System V set made on a squatted
// key file): the key file is not this user's to remove.
func openTrusted(b backend, key Key, initial int, how semOpen, o options) (semHandle, bool, error) {
	h, created, err := b.openSemaphore(key, initial, how, o.perm)
	if err != nil || o.foreignOwners {
		return h, created, err
	}
	if err := trustOwners("QSystemSemaphore::handle", key, h.owners()); err != nil {
		return nil, false, errors.Join(err, h.close())
	}
	return h, created, nil
}

// newSemaphore wraps a handle just opened.
func newSemaphore(key Key, b backend, initial int, o options, h semHandle) *Semaphore {
	s := &Semaphore{key: key, b: b, initial: initial, opts: o}
	s.cur.Store(newSemRef(h))
	s.spinFor.Store(int64(o.spin)) // the whole budget until spins teach otherwise
	return s
}

// Key returns the key the semaphore was opened with.
func (s *Semaphore) Key() Key { return s.key }

// Acquire takes one count, waiting as long as it takes. It returns early
// only with ErrClosed when the semaphore is closed meanwhile.
func (s *Semaphore) Acquire() error { return s.AcquireContext(context.Background()) }

// AcquireContext takes one count, or returns ctx.Err() once ctx is done
// without having taken one.
func (s *Semaphore) AcquireContext(ctx context.Context) (err error) {
	defer named("acquire", &err)
	ok, err := s.wait(ctx, -1)
	if err == nil && !ok {
		err = ctx.Err()
	}
	return err
}

// TryAcquire takes one count if it can do so without waiting.
func (s *Semaphore) TryAcquire() (_ bool, err error) {
	defer named("acquire", &err)
	return s.wait(context.Background(), 0)
}

// AcquireTimeout takes one count, waiting at most d; it reports whether it
// did.
func (s *Semaphore) AcquireTimeout(d time.Duration) (_ bool, err error) {
	defer named("acquire", &err)
	if d < 0 {
		d = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.wait(ctx, -1)
}

// wait takes a count for Acquire and its forms: one call, ended whatever
// the outcome.
func (s *Semaphore) wait(ctx context.Context, limit time.Duration) (bool, error) {
	ok, err := s.take(ctx, limit)
	if ok {
		s.leave()
	}
	return ok, err
}

// take is the one waiting loop of the package. It begins a call and takes
// a count, in a wait that the end of ctx and Close end, following a
// semaphore that was removed and recreated, as Qt does; a zero limit only
// tries once. On success the call is still open: the caller ends it
// (leave), keeps it while it holds the count (a SharedMemory's lock), or
// gives the count back within it (giveBack).
func (s *Semaphore) take(ctx context.Context, limit time.Duration) (bool, error) {
	if !s.enter() {
		return false, s.closedError("QSystemSemaphore::acquire")
	}
	r := s.cur.Load()
	if r.tryTake() {
		return s.taken(r)
	}
	tries := 0
	if limit != 0 {
		var taken bool
		if taken, tries = s.spin(ctx, r); taken {
			return s.taken(r)
		}
	}
	return s.takeSlow(ctx, limit, tries > 0)
}

// taken ends a take that got a count: one taken after Close began goes
// back, since no Release on the closed object could give it back later.
func (s *Semaphore) taken(r *semRef) (bool, error) {
	if s.state.Load()&stateClosed == 0 {
		return true, nil
	}
	if !r.tryGive() {
		_ = r.h.post(1)
	}
	s.leave()
	return false, s.closedError("QSystemSemaphore::acquire")
}

// takeNow is take's first, uncontended try alone: no system call where
// the lock-free path exists. On success the call is open, as after take.
func (s *Semaphore) takeNow() bool {
	if !s.enter() {
		return false
	}
	if r := s.cur.Load(); r.tryTake() {
		ok, _ := s.taken(r)
		return ok
	}
	s.leave()
	return false
}

// defaultSpin is WithSpin's default: longer than a hand-off between two
// running processes (tens of ns with the POSIX fast path, a few semops on
// System V), shorter than a sleep and wake-up in the kernel (5–10 µs).
const defaultSpin = 10 * time.Microsecond

// multiCPU: a spinning waiter can only be handed the count by a process
// that runs on another CPU.
var multiCPU = runtime.NumCPU() > 1

// spin tries to take a count without sleeping before takeSlow blocks: a
// waiter whose peer answers within microseconds is spared the kernel's
// sleep and wake-up. It takes nothing unless it succeeds, so a waiter
// killed while spinning leaves the count as a killed sleeper does.
//
// It does not spin while others sleep in the semaphore's queue
// (semRef.sleepers): the next post wakes one of them, which takes the
// count, so a spin could only burn a CPU that the holder or the woken one
// needs (with more processes than CPUs it halved a contended lock's
// throughput), or barge ahead of the queue. Where a try is a system call
// (System V), the first try comes before that question, so that an
// uncontended take costs one call, not two.
//
// How long it spins adapts to the semaphore: four times the recent time a
// spin took to succeed, shrinking while spins fail, between minSpin and the
// WithSpin budget. With no one asleep it never stops altogether: two
// processes that hand a count back and forth would then both sleep, and
// neither would spin long enough to catch the other again (the wake-up
// takes longer than a spin).
//
// Nor does it spin once spins on the semaphore keep failing (or, where
// asking costs a system call, keep finding sleepers) while the machine has
// more runnable threads than CPUs (spin.Crowded): the CPU it
// would burn is one that a runnable thread, perhaps the holder, is queued
// for (a 4-process counter beside one busy process per CPU made 0.56 of
// the increments with spinning that it made without). One wait in
// crowdedProbe spins all the same, so that a semaphore whose holder
// answers quickly (two processes handing a count back and forth, which
// spinning speeds up fourfold even on a crowded machine) is found again.
// Where asking about sleepers costs a system call, waits that keep finding
// them skip the question and the spin on a quiet machine too, with the
// same probe: the kernel hands a System V post to the first sleeper in
// the queue, so no spin wins while the queue stays full.
//
// tries is how many tries it made, so that takeSlow need not begin with
// another non-blocking one.
func (s *Semaphore) spin(ctx context.Context, r *semRef) (taken bool, tries int) {
	limit := s.opts.spin
	if limit <= 0 || !multiCPU || runtime.GOMAXPROCS(0) == 1 {
		return false, 0
	}
	cheap := r.lockFree() // a try is a load, not a system call
	if cheap && r.sleepers() {
		return false, 0
	}
	queueFull := !cheap && s.queuedMisses.Load() >= crowdedMisses
	if queueFull || s.spinMisses.Load() >= crowdedMisses && crowded() {
		if s.spinMisses.Add(1)%crowdedProbe != 0 {
			return false, 0
		}
	}
	if testHookSpinning != nil {
		testHookSpinning(s)
	}
	budget := min(max(time.Duration(s.spinFor.Load()), minSpin), limit)
	start := time.Now()
	for tries = 1; ; tries++ {
		var ok bool
		if cheap {
			ok = r.tryTake()
		} else {
			var err error
			if ok, err = r.h.wait(0); err != nil {
				return false, tries // takeSlow reports or follows it
			}
		}
		if ok {
			s.learnSpin(4*time.Since(start), limit)
			if s.spinMisses.Load() != 0 {
				s.spinMisses.Store(0)
			}
			return true, tries
		}
		if tries == 1 && !cheap {
			if r.sleepers() {
				// A miss too: on a crowded machine the next waits then
				// skip this question, which costs a system call here,
				// and so do they where the queue stays full.
				s.spinMisses.Add(1)
				s.queuedMisses.Add(1)
				return false, tries
			}
			if s.queuedMisses.Load() != 0 {
				s.queuedMisses.Store(0)
			}
		}
		if (!cheap || tries%16 == 0) && (time.Since(start) >= budget || ctx.Err() != nil || s.state.Load()&stateClosed != 0) {
			break // spent, or given up: takeSlow says why
		}
		spin.Pause(spinPauses)
	}
	s.learnSpin(0, limit)
	s.spinMisses.Add(1)
	return false, tries
}

// testHookSpinning runs when a wait begins to spin.
var testHookSpinning func(*Semaphore)

// crowded is spin.Crowded, which a test replaces.
var crowded = spin.Crowded

// learnSpin moves the spin budget a quarter of the way to target. Two
// waiters may update it at once; either result is a fine estimate.
func (s *Semaphore) learnSpin(target, limit time.Duration) {
	old := min(time.Duration(s.spinFor.Load()), limit)
	s.spinFor.Store(int64(old + (min(target, limit)-old)/4))
}

const (
	// minSpin is the least a spin lasts (unless WithSpin is shorter):
	// long enough to ride out the short stalls of a running peer (an
	// interrupt, another thread's time slice), which a shorter floor
	// turned into a sleep for one wait in 20 in a ping-pong.
	minSpin = 5 * time.Microsecond
	// crowdedMisses is how many waits in a row must fail to take the
	// count by spinning before a crowded machine stops the spin, and
	// crowdedProbe how often one spins all the same then.
	crowdedMisses = 4
	crowdedProbe  = 16
	// spinPauses paces the cheap tries with the CPU's spin-wait hint (one
	// PAUSE is up to 140 cycles on current x86 cores; four made a try
	// slower than the peer's post).
	spinPauses = 1
)

// takeSlow is take once the uncontended take failed, within the call;
// spun says that spin already made non-blocking tries.
func (s *Semaphore) takeSlow(ctx context.Context, limit time.Duration, spun bool) (bool, error) {
	tries := 0
	if spun {
		tries = 1
	}
	sliced := false
	for reopened := 0; ; tries++ {
		// The first try never waits: an uncontended take then costs one
		// non-blocking call, without the clock reads and timer set-up of
		// a timed wait (a third of a System V Acquire). After a spin it
		// would only repeat the spin's last try.
		timeout := waitSlice
		if tries == 0 || limit == 0 || ctx.Err() != nil {
			timeout = 0
		} else if deadline, ok := ctx.Deadline(); ok {
			if left := time.Until(deadline); left < timeout {
				timeout = max(left, 0)
			}
		}
		r := s.cur.Load()
		var ok bool
		var err error
		if ws, wakeable := r.h.(wakeableSem); wakeable && timeout > 0 && !sliced && !knobs.SlicedWaits.Load() {
			ok, err = s.waitWoken(ctx, ws)
			if errors.Is(err, errNotWakeable) {
				// This thread cannot be woken (SIGURG ignored or
				// blocked): wait in slices instead, which ctx and
				// Close end in time.
				sliced, ok, err = true, false, nil
				continue
			}
		} else {
			ok, err = r.h.wait(timeout)
		}
		switch {
		case ok:
			return s.taken(r) // which gives back a count taken after Close began
		case s.state.Load()&stateClosed != 0:
			s.leave()
			return false, s.closedError("QSystemSemaphore::acquire")
		case errors.Is(err, errSemaphoreGone) && ctx.Err() == nil && reopened < reopenLimit && !s.opts.noFollow:
			reopened++
			if err = s.reopen(r); err == nil {
				continue
			}
		case err == nil && limit != 0 && ctx.Err() == nil:
			continue
		case errors.Is(err, errSemaphoreGone) && ctx.Err() != nil:
			err = nil // a given-up wait: ctx's error says why
		}
		// A given-up wait, an error, or a reopen that failed: a wait that
		// ends recreates nothing.
		s.leave()
		return false, err
	}
}

// waitWoken is one blocking wait on a wakeableSem, in one call that Close
// and the end of ctx end. Each wait has a waker of its own: a wake that
// ended a wait which goes on (the closing of a SharedMemory wakes every
// waiter on its lock, its Detach's too) must not end the next one.
func (s *Semaphore) waitWoken(ctx context.Context, ws wakeableSem) (bool, error) {
	if hook := testHookBeforeWaker.Load(); hook != nil {
		(*hook)(s)
	}
	w, stop, err := s.addWaker(ctx, ws)
	if err != nil {
		return false, err
	}
	defer func() {
		stop()
		s.dropWaker(w)
	}()
	if s.state.Load()&stateClosed != 0 || ctx.Err() != nil {
		// A Close, or the closer's end, that woke the waiters before
		// this one joined them.
		return false, nil
	}
	return ws.waitWake(w)
}

// testHookBeforeWaker runs in waitWoken before it registers its waker, so
// that a test can end the wait's context in that window; atomic, since a
// wait of an earlier test may still run.
var testHookBeforeWaker atomic.Pointer[func(*Semaphore)]

// addWaker makes the waker of one wait and registers it, so that Close
// and the end of ctx end the wait; stop ends the latter. A wake
// that stop comes too late for finds the waker closed and does nothing.
func (s *Semaphore) addWaker(ctx context.Context, ws wakeableSem) (w waker, stop func() bool, err error) {
	if w, err = ws.newWaker(); err != nil {
		return nil, nil, err
	}
	byCloser := s.closer != nil && ctx == s.closer
	s.mu.Lock()
	s.wakers = append(s.wakers, sleeper{w, byCloser})
	s.mu.Unlock()
	if ctx.Done() == nil || byCloser {
		return w, neverEnds, nil // Acquire's, or Lock's: Close and the closer end it
	}
	return w, context.AfterFunc(ctx, w.wake), nil
}

// A sleeper is a call waiting on a wakeableSem: its waker, and whether its
// context is the closer.
type sleeper struct {
	w        waker
	byCloser bool
}

// endWaitsWith makes ctx the object's closer: when it ends, so do the
// waits made with it, from then on. Before the object is shared.
func (s *Semaphore) endWaitsWith(ctx context.Context) {
	s.closer = ctx
	s.stopCloser = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, z := range s.wakers {
			if z.byCloser {
				z.w.wake()
			}
		}
		if hook := testHookCloserWoke.Load(); hook != nil {
			(*hook)(s)
		}
	})
}

// testHookCloserWoke runs once the closer's end has woken the waits made
// with it: in a goroutine of its own, which may outlive the test that set
// it, hence the atomic.
var testHookCloserWoke atomic.Pointer[func(*Semaphore)]

// neverEnds is the stop of a ctx that cannot end: there is nothing to stop.
func neverEnds() bool { return true }

// dropWaker unregisters and closes the waker of a wait that ended.
func (s *Semaphore) dropWaker(w waker) {
	s.mu.Lock()
	s.wakers = slices.DeleteFunc(s.wakers, func(z sleeper) bool { return z.w == w })
	s.mu.Unlock()
	_ = w.close()
}

// wakeWaiters ends the waits in progress after Close set the flag that
// ends them; with s.mu held.
func (s *Semaphore) wakeWaiters() {
	if s.stopCloser != nil {
		s.stopCloser() // the waits it would end are woken here
	}
	for _, z := range s.wakers {
		z.w.wake()
	}
}

// giveBack posts the count an open call holds as a SharedMemory's lock
// and ends the call. It works on a closed object, whose handle the call
// keeps open. A semaphore removed meanwhile took the count with it: the
// one whoever recreates it makes is free, so giving it to that one would
// let two holders in, and nothing is posted.
func (s *Semaphore) giveBack() error {
	defer s.leave()
	if testHookGivenBack != nil {
		defer testHookGivenBack(s)
	}
	r := s.cur.Load()
	if r.tryGive() {
		return nil
	}
	if err := r.h.post(1); err != nil && !errors.Is(err, errSemaphoreGone) {
		return err
	}
	return nil
}

// testHookGivenBack runs in giveBack once the count is back, so that a
// test can let a waiter take it before the giver goes on.
var testHookGivenBack func(*Semaphore)

// Release adds n to the count (QSystemSemaphore::release). n == 0 does
// nothing, as in Qt; a negative n is an error.
func (s *Semaphore) Release(n int) (err error) {
	defer named("release", &err)
	if n == 0 {
		return nil
	}
	if n < 0 {
		return &Error{QtOp: "QSystemSemaphore::release", Key: s.key, Kind: UnknownError, Err: ErrInvalidCount, text: "n is negative"}
	}
	if !s.enter() {
		return s.closedError("QSystemSemaphore::release")
	}
	defer s.leave()
	if n == 1 && s.cur.Load().tryGive() {
		return nil
	}
	return s.post(n)
}

// post adds n within a call, following a semaphore that was removed and
// recreated, as Qt does, unless the object is closed.
func (s *Semaphore) post(n int) error {
	for reopened := 0; ; reopened++ {
		r := s.cur.Load()
		err := r.h.post(n)
		switch {
		case !errors.Is(err, errSemaphoreGone) || reopened == reopenLimit:
			return err
		case s.state.Load()&stateClosed != 0:
			// A release racing with Close on a semaphore removed meanwhile:
			// there is no one left to release it for.
			return nil
		}
		if err := s.reopen(r); err != nil {
			return err
		}
	}
}

// Value returns the current count. Another process may change it at any
// moment; it is meant for inspection and tests.
func (s *Semaphore) Value() (_ int, err error) {
	defer named("value", &err)
	if !s.enter() {
		return 0, s.closedError("QSystemSemaphore::value")
	}
	defer s.leave()
	return s.cur.Load().h.value()
}

// reopen replaces the handle old, whose semaphore was removed under it,
// by one for the same name in Open mode, recreating it with the initial
// count if needed, as Qt's handle() does after EIDRM. Called within a
// call; the old handle is closed once no call uses it.
func (s *Semaphore) reopen(old *semRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load()&stateClosed != 0 {
		return s.closedError("QSystemSemaphore::handle")
	}
	if s.cur.Load() != old {
		return nil // another call reopened it already
	}
	h, created, err := openTrusted(s.b, s.key, s.initial, s.opts.openMode(), s.opts)
	if err != nil {
		return err
	}
	s.cur.Store(newSemRef(h))
	s.retired = append(s.retired, old.h)
	s.state.Or(stateRetired)
	if created {
		s.owner = true
	}
	return nil
}

// Close gives up the handle and, when this object owns the semaphore and
// clean-up is on, removes it: other processes that have it open keep
// working on the old object, and new opens create a fresh one (Qt's rule).
// Calls in flight finish first; the last of them closes the handle.
// Closing twice returns ErrClosed.
func (s *Semaphore) Close() (err error) {
	defer named("close", &err)
	s.mu.Lock()
	if s.state.Load()&stateClosed != 0 {
		s.mu.Unlock()
		return s.closedError("QSystemSemaphore::cleanHandle")
	}
	if s.owner && s.opts.cleanup {
		err = s.cur.Load().h.remove()
	}
	v := s.state.Or(stateClosed) | stateClosed
	if testHookCloseSet != nil {
		testHookCloseSet(s)
	}
	s.wakeWaiters()
	s.mu.Unlock()
	s.settle(v)
	return err
}

// testHookCloseSet runs in Close once the closed flag is set, before the
// waits are woken.
var testHookCloseSet func(*Semaphore)

// retire closes the object and then removes the semaphore, for
// SharedMemory's last detach: a wait on it then fails with ErrClosed
// instead of following the removal and making a fresh semaphore (and key
// file) that no one would remove.
//
// The caller holds a count, whose call keeps the handle open, so it
// removes also when the object is closed already: a SharedMemory's Close
// closes the lock it has bound while a change still borrows the hold
// whose end runs the removal (retireLock).
func (s *Semaphore) retire() error {
	s.mu.Lock()
	v := s.state.Load()
	if v&stateClosed == 0 {
		v = s.state.Or(stateClosed) | stateClosed
		s.wakeWaiters()
	}
	err := s.cur.Load().h.remove()
	s.mu.Unlock()
	s.settle(v)
	return err
}

// isOwner reports whether Close would remove the semaphore.
func (s *Semaphore) isOwner() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owner
}

func (s *Semaphore) closedError(op string) error {
	return &Error{QtOp: op, Key: s.key, Kind: UnknownError, Err: ErrClosed, text: "closed"}
}

// RemoveSemaphore deletes the semaphore named by key (and its key file, if
// it is one: package documentation, "Ownership"), whoever owns it;
// processes that have it open keep the old object. A missing semaphore is
// not an error.
func RemoveSemaphore(key Key) (err error) {
	defer named("remove", &err)
	const op = "QSystemSemaphore::remove"
	b, err := keyBackend("QSystemSemaphore", op, key)
	if err != nil {
		return err
	}
	return b.removeSemaphore(key)
}
