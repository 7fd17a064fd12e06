package qipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/qipc-go/qipc/internal/knobs"
)

// qtLock is one SharedMemory's use of its Qt lock: the lock semaphore that
// QSharedMemory::lock() takes, with a count of 1 when free. Other processes
// see only the semaphore; what qtLock adds is this object's side of it:
// which of its goroutines may wait for the count, whether the object holds
// it for Lock, who gives it back, and the end of every wait at Close.
//
// Its state word, in the manner of internal/poll's fdMutex:
//
//	bit 63      closed   SharedMemory.Close has begun: no Lock starts, and
//	                     waits for the turn or the count end
//	bit 62      turn     one Lock call of the object owns the turn: it
//	                     waits for the count, or holds it (held)
//	bit 61      held     the turn's owner holds a count of heldSem. held
//	                     implies turn.
//	bit 60      queued   Lock calls wait for the turn; releasing it wakes
//	                     them
//	bit 59      release  the hold has ended for its Lock (Unlock, or
//	                     Close's claim) while transitions borrow it: the
//	                     last of them gives the count back and frees the
//	                     turn. release implies held.
//	bits 32-47  gen      holds so far (mod 2^16), so that a word read
//	                     before a hold ended cannot pass for one read after
//	                     the next hold began
//	bits 0-31   borrows  Create, Attach, Detach and Close running under the
//	                     held count instead of taking one of their own
//
// Every change of the word is one of the methods below; a word that no
// sequence of them can produce is a bug, and they panic on it. heldSem is
// written only by the turn's owner before it sets held, so it is stable
// while held is set.
//
// A held count keeps one call of its Semaphore open (see Semaphore.take),
// so the semaphore's handle stays open while it is held, also after a
// Close of the Semaphore: whoever gives the count back ends that call.
type qtLock struct {
	state atomic.Uint64
	// sem is the lock semaphore, bound by Create and Attach (SharedMemory's
	// bind), nil before the first and again once it is gone (unbind).
	sem atomic.Pointer[Semaphore]
	// heldSem is the semaphore a count of which the object holds while
	// held is set: sem when it was taken, which a rebinding may change
	// since.
	heldSem atomic.Pointer[Semaphore]

	mu       sync.Mutex    // guards turnFree
	turnFree chan struct{} // closed when the turn is given up while queued is set

	closeCtx context.Context // done once Close has begun
	closeNow context.CancelFunc
}

const (
	lockClosed  = 1 << 63
	lockTurn    = 1 << 62
	lockHeld    = 1 << 61
	lockQueued  = 1 << 60
	lockRelease = 1 << 59
	lockGen     = 1 << 32
	lockBorrow  = 1

	lockGenMask    = 0xffff << 32
	lockBorrowMask = 1<<32 - 1
	lockFree       = lockTurn | lockHeld | lockQueued | lockRelease // what ending a hold clears
)

func (l *qtLock) init() {
	l.turnFree = make(chan struct{})
	l.closeCtx, l.closeNow = context.WithCancel(context.Background())
}

func (l *qtLock) inconsistent(v uint64, what string) {
	panic(fmt.Sprintf("qipc: inconsistent qtLock state %s (word %#x)", what, v))
}

// isClosed reports whether Close has begun.
func (l *qtLock) isClosed() bool { return l.state.Load()&lockClosed != 0 }

// acquireTurn makes the calling Lock the one of its object that waits for
// the count. With try set it does not wait for another Lock's turn
// (errNotNow). It fails with ErrClosed once Close has begun, and with
// ctx's error when ctx ends first.
func (l *qtLock) acquireTurn(ctx context.Context, try bool) error {
	for {
		v := l.state.Load()
		switch {
		case v&lockClosed != 0:
			return ErrClosed
		case v&lockTurn == 0:
			if l.state.CompareAndSwap(v, v|lockTurn) {
				return nil
			}
			continue
		case try:
			return errNotNow
		}
		// Queue: take the channel that the turn's release will close,
		// and only then say that someone waits, so that a release that
		// sees the flag closes this very channel (or a later one, which
		// only makes this wait try again).
		l.mu.Lock()
		free := l.turnFree
		l.mu.Unlock()
		if !l.state.CompareAndSwap(v, v|lockQueued) {
			continue
		}
		select {
		case <-free:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.closeCtx.Done():
			return ErrClosed
		}
	}
}

// releaseTurn gives up the turn of a Lock that did not get the count.
func (l *qtLock) releaseTurn() {
	for {
		v := l.state.Load()
		if v&lockTurn == 0 || v&lockHeld != 0 {
			l.inconsistent(v, "in releaseTurn")
		}
		if l.state.CompareAndSwap(v, v&^(lockTurn|lockQueued)) {
			if v&lockQueued != 0 {
				l.wakeQueued()
			}
			return
		}
	}
}

// wakeQueued ends the waits of the Lock calls queued for the turn; they
// try for it again.
func (l *qtLock) wakeQueued() {
	l.mu.Lock()
	close(l.turnFree)
	l.turnFree = make(chan struct{})
	l.mu.Unlock()
}

// hold records that the turn's owner took a count of sem. It fails once
// Close has begun, giving up the turn: no Unlock could give a count taken
// then back, so the caller gives it back itself.
func (l *qtLock) hold(sem *Semaphore) bool {
	// Stored only when it changes: an atomic store is a locked exchange,
	// and the lock is almost always the one held last time.
	if l.heldSem.Load() != sem {
		l.heldSem.Store(sem)
	}
	for {
		v := l.state.Load()
		if v&lockTurn == 0 || v&lockHeld != 0 {
			l.inconsistent(v, "in hold")
		}
		if v&lockClosed != 0 {
			if l.state.CompareAndSwap(v, v&^(lockTurn|lockQueued)) {
				if v&lockQueued != 0 {
					l.wakeQueued()
				}
				return false
			}
			continue
		}
		if l.state.CompareAndSwap(v, (v|lockHeld)&^lockGenMask|(v+lockGen)&lockGenMask) {
			return true
		}
	}
}

// unlock ends the hold of Lock and returns the semaphore to give a count
// back to when give is set. While transitions borrow the count it stays
// taken, and the last of them gives it back. ErrNotLocked when the object
// does not hold it for Lock (never locked, unlocked already, or taken over
// by Close or by the detach that removed the lock).
func (l *qtLock) unlock() (sem *Semaphore, give bool, err error) {
	for {
		v := l.state.Load()
		if v&lockHeld == 0 || v&lockRelease != 0 {
			return nil, false, ErrNotLocked
		}
		sem = l.heldSem.Load()
		nv := v | lockRelease
		if give = v&lockBorrowMask == 0; give {
			nv = v &^ lockFree
		}
		if l.state.CompareAndSwap(v, nv) {
			if give && v&lockQueued != 0 {
				l.wakeQueued()
			}
			return sem, give, nil
		}
	}
}

// borrow lets a transition (Create, Attach, Detach) run under the count
// the object holds for Lock, as Qt's do when the caller holds lock(), and
// returns its semaphore; nil when the object holds none for Lock.
func (l *qtLock) borrow() *Semaphore {
	for {
		v := l.state.Load()
		if v&lockHeld == 0 || v&lockRelease != 0 {
			return nil
		}
		if v&lockBorrowMask == lockBorrowMask {
			l.inconsistent(v, "borrow overflow")
		}
		sem := l.heldSem.Load()
		if l.state.CompareAndSwap(v, v+lockBorrow) {
			return sem
		}
	}
}

// unborrow ends a borrow. The last one of a hold whose Lock has ended
// ends the hold: give says to give a count of sem back.
func (l *qtLock) unborrow() (sem *Semaphore, give bool) {
	for {
		v := l.state.Load()
		if v&lockBorrowMask == 0 {
			l.inconsistent(v, "in unborrow")
		}
		nv := v - lockBorrow
		var last *Semaphore
		if nv&lockBorrowMask == 0 && v&lockRelease != 0 {
			last = l.heldSem.Load()
			nv &^= lockFree
		}
		if l.state.CompareAndSwap(v, nv) {
			if last != nil && v&lockQueued != 0 {
				l.wakeQueued()
			}
			return last, last != nil
		}
	}
}

// close marks the beginning of Close and ends every wait for the turn and
// (through closeCtx) for the count. A count the object holds for Lock
// becomes Close's: claimed, and Close borrows it with its release set, so
// that Close's unborrow gives it back (sem). It reports first false when
// Close had begun already.
func (l *qtLock) close() (first, claimed bool, sem *Semaphore) {
	for {
		// What one look at the word decides, it decides afresh at the
		// next: a retry after an Unlock must not claim the hold that
		// Unlock ended.
		v := l.state.Load()
		if v&lockClosed != 0 {
			return false, false, nil
		}
		nv := v | lockClosed
		var held *Semaphore
		if v&lockHeld != 0 && v&lockRelease == 0 {
			held = l.heldSem.Load()
			nv = nv | lockRelease + lockBorrow
		}
		if testHookCloseClaim != nil {
			testHookCloseClaim()
		}
		if l.state.CompareAndSwap(v, nv) {
			l.closeNow()
			if v&lockQueued != 0 {
				l.wakeQueued()
			}
			return true, held != nil, held
		}
	}
}

// testHookCloseClaim runs in close between its look at the word and its
// compare-and-swap, so that a test can change the word in that window.
var testHookCloseClaim func()

// lastBorrowOfEnded reports whether the caller, a borrower, is the last
// one of a hold whose Lock has ended (Unlock, or Close's claim): the hold
// ends with its unborrow, and no borrow can begin meanwhile.
func (l *qtLock) lastBorrowOfEnded() bool {
	v := l.state.Load()
	return v&lockRelease != 0 && v&lockBorrowMask == 1
}

// waitContext is ctx, ended also by Close: a wait for the count of a
// closing object must end, as one for the turn does.
func (l *qtLock) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Done() == nil {
		// A ctx that never ends (Lock's): Close's own is the whole
		// answer, without a context and a callback made for every wait.
		return l.closeCtx, func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.closeCtx, cancel)
	return wctx, func() { stop(); cancel() }
}

// waitError names why a wait for the count ended without it: Close, or
// ctx.
func (l *qtLock) waitError(ctx context.Context, err error) error {
	switch {
	case l.isClosed() && (err == nil || errors.Is(err, context.Canceled)) && ctx.Err() == nil:
		return ErrClosed
	case err == nil:
		return ctx.Err()
	}
	return err
}

// The squat test's victim (peers/gopeer) reads the count of the
// semaphore its Attach bound, which only this package can reach.
var _ = func() bool {
	knobs.LockValue = func(m any) (int, error) {
		s := m.(*SharedMemory).lock.sem.Load()
		if s == nil {
			return 0, ErrNotAttached
		}
		return s.Value()
	}
	return true
}()
