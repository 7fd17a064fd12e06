package qipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
//	bit 61      held     the turn's owner holds the count; Unlock gives it
//	                     back. held implies turn.
//	bit 60      queued   Lock calls wait for the turn; releasing it wakes
//	                     them
//	bits 32-47  deferred counts Unlock (or Close's claim) left taken because
//	                     transitions still run under them; the last of
//	                     those gives them back
//	bits 0-31   borrows  Create, Attach, Detach and Close running under the
//	                     held count instead of taking one of their own
//
// Every change of the word is one of the methods below; a word that no
// sequence of them can produce is a bug, and they panic on it.
//
// A held count keeps one call of the lock's Semaphore open (see
// Semaphore.take), so the semaphore's handle stays open while it is held,
// also after a Close of the Semaphore: whoever gives the count back ends
// that call.
type qtLock struct {
	state atomic.Uint64
	// sem is the lock semaphore, bound by Create and Attach (SharedMemory's
	// bind), nil before the first and again once the detach that removed
	// the segment removed it too.
	sem atomic.Pointer[Semaphore]

	mu       sync.Mutex    // guards turnFree
	turnFree chan struct{} // closed when the turn is given up while queued is set

	closeCtx context.Context // done once Close has begun
	closeNow context.CancelFunc
}

const (
	lockClosed   = 1 << 63
	lockTurn     = 1 << 62
	lockHeld     = 1 << 61
	lockQueued   = 1 << 60
	lockDeferred = 1 << 32
	lockBorrow   = 1

	lockDeferredMask = 0xffff << 32
	lockBorrowMask   = 1<<32 - 1
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
		// sees the flag closes this very channel.
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

// holdFree is acquireTurn and hold at once, for a Lock that took the count
// without waiting: it reports false when another Lock of the object has
// the turn (or Close has begun), and the caller gives the count back and
// queues.
func (l *qtLock) holdFree() bool {
	v := l.state.Load()
	return v&(lockTurn|lockClosed) == 0 && l.state.CompareAndSwap(v, v|lockTurn|lockHeld)
}

// hold records that the turn's owner took the count. It fails once Close
// has begun: no Unlock could give a count taken then back, so the caller
// gives it back itself.
func (l *qtLock) hold() bool {
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
		if l.state.CompareAndSwap(v, v|lockHeld) {
			return true
		}
	}
}

// unlock ends the hold of Lock. It reports whether the caller gives the
// count back now (give); while transitions borrow the count it stays taken
// and the last of them gives it back. ErrNotLocked when the object does
// not hold it (never locked, unlocked already, or taken over by Close or
// by the detach that removed the lock).
func (l *qtLock) unlock() (give bool, err error) {
	for {
		v := l.state.Load()
		if v&lockHeld == 0 {
			return false, ErrNotLocked
		}
		nv := v &^ (lockTurn | lockHeld | lockQueued)
		give = v&lockBorrowMask == 0
		if !give {
			if v&lockDeferredMask == lockDeferredMask {
				l.inconsistent(v, "deferred overflow")
			}
			nv += lockDeferred
		}
		if l.state.CompareAndSwap(v, nv) {
			if v&lockQueued != 0 {
				l.wakeQueued()
			}
			return give, nil
		}
	}
}

// borrow lets a transition (Create, Attach, Detach) run under the count
// the object holds for Lock, as Qt's do when the caller holds lock(); it
// reports false when the object holds none.
func (l *qtLock) borrow() bool {
	for {
		v := l.state.Load()
		if v&lockHeld == 0 {
			return false
		}
		if v&lockBorrowMask == lockBorrowMask {
			l.inconsistent(v, "borrow overflow")
		}
		if l.state.CompareAndSwap(v, v+lockBorrow) {
			return true
		}
	}
}

// unborrow ends a borrow and returns how many counts the caller now gives
// back: those Unlock left to the last borrower.
func (l *qtLock) unborrow() (gives int) {
	for {
		v := l.state.Load()
		if v&lockBorrowMask == 0 {
			l.inconsistent(v, "in unborrow")
		}
		nv := v - lockBorrow
		if nv&lockBorrowMask == 0 {
			gives = int((nv & lockDeferredMask) >> 32)
			nv &^= lockDeferredMask
		}
		if l.state.CompareAndSwap(v, nv) {
			return gives
		}
	}
}

// close marks the beginning of Close and ends every wait for the turn and
// (through closeCtx) for the count. A count the object holds for Lock
// becomes Close's own: claimed, and Close holds it as a borrow whose
// unborrow gives it back. It reports false when Close had begun already.
func (l *qtLock) close() (first, claimed bool) {
	for {
		v := l.state.Load()
		if v&lockClosed != 0 {
			return false, false
		}
		nv := v | lockClosed
		claimed = v&lockHeld != 0
		if claimed {
			nv = nv&^(lockTurn|lockHeld|lockQueued) + lockBorrow + lockDeferred
		}
		if l.state.CompareAndSwap(v, nv) {
			l.closeNow()
			if v&lockQueued != 0 {
				l.wakeQueued()
			}
			return true, claimed
		}
	}
}

// retire records that the lock semaphore is gone (the detach that removed
// the segment removed it while holding the count): a count Lock held is
// gone with it, and the Lock calls queued for the turn find no semaphore.
// It reports whether Lock held one; the caller ends its Semaphore call.
func (l *qtLock) retire() (wasHeld bool) {
	for {
		v := l.state.Load()
		nv := v &^ (lockTurn | lockHeld | lockQueued)
		if l.state.CompareAndSwap(v, nv) {
			if v&lockQueued != 0 {
				l.wakeQueued()
			}
			return v&lockHeld != 0
		}
	}
}

// waitContext is ctx, ended also by Close: a wait for the count of a
// closing object must end, as one for the turn does.
func (l *qtLock) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
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
