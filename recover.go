package qipc

import (
	"context"
	"errors"
	"time"
)

// RecoverLock gives the lock of the segment named by key (the semaphore
// key.LockKey()) its one free count back after the process that held it
// died, and reports whether it did.
//
// System V does not need it: a holder's count comes back by itself when it
// dies (Qt and qipc take the lock with SEM_UNDO). POSIX (and Windows)
// semaphores have no owner and no undo: a process killed between Lock and
// Unlock leaves the count at 0 for good, and every later Lock waits
// forever. The documented recovery is:
//
//  1. take the lock with [SharedMemory.LockContext] and a deadline;
//  2. when the deadline passes, decide that the holder is dead (for
//     example: `qipc ls` shows no other process mapping the segment, or
//     your own protocol names the holder's PID and it is gone);
//  3. call RecoverLock, then Lock again.
//
// RecoverLock is safe only when no live process holds the lock: it
// cannot tell a dead holder from a slow one, and recovering the lock of a
// live holder lets two processes in. It never raises the count above one
// free count on its own: it returns (false, nil) without changing anything
// when the lock is free (count ≥ 1). A missing lock semaphore is
// ErrNotFound, and nothing is made. A holder that
// is merely slow and unlocks after a recovery raises the count to 2; the
// next RecoverLock or a Lock/Unlock pair does not lower it, so call it only
// after step 2.
//
// The decision and the post are one [Semaphore.TryAcquire] and one
// [Semaphore.Release]: if TryAcquire takes a count the lock was free and
// the count is given straight back; otherwise the count was 0 and one post
// frees it.
func RecoverLock(key Key) (_ bool, err error) {
	defer named("recover lock", &err)
	const op = "QSharedMemory::recoverLock"
	if err := checkKey("QSharedMemory", op, key); err != nil {
		return false, err
	}
	if !key.HasLock() {
		return false, &Error{QtOp: op, Key: key, Kind: LockError, Err: ErrNoLock, text: "key has no lock"}
	}
	lk := lockKeyFor(key)
	if lk.IsEmpty() {
		return false, &Error{QtOp: op, Key: key, Kind: KeyError, text: "key has no lock"}
	}
	b, err := backendFor(op, lk)
	if err != nil {
		return false, err
	}
	h, _, err := b.openSemaphore(lk, 1, semExisting, 0o600)
	if errors.Is(err, ErrNotFound) {
		return false, &Error{QtOp: op, Key: key, Kind: NotFound, Err: err, text: "lock does not exist"}
	}
	if err != nil {
		return false, err
	}
	// Never made again, never followed: a semaphore recreated between
	// the open and the post would get a count no one took.
	s := newSemaphore(lk, b, 1, buildOptions([]Option{Observer(), withoutFollowing()}), h)
	defer s.Close()
	ok, err := s.TryAcquire()
	if err != nil {
		return false, err
	}
	if ok {
		return false, s.Release(1)
	}
	if err := s.Release(1); err != nil {
		return false, err
	}
	return true, nil
}

// LockOrRecover is Lock with the recovery of [RecoverLock] built in for
// callers that know the lock can only be held by processes that are gone
// when it is held longer than patience (a single-writer protocol, a
// supervisor that has just restarted every other user): it waits at most
// patience, then recovers the lock once and waits for it again without
// limit (or until ctx is done). It reports whether it recovered.
func (m *SharedMemory) LockOrRecover(ctx context.Context, patience time.Duration) (_ bool, err error) {
	defer named("lock", &err)
	wctx, cancel := context.WithTimeout(ctx, patience)
	err = m.LockContext(wctx)
	cancel()
	if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return false, err
	}
	recovered, err := RecoverLock(m.key)
	if err != nil {
		return false, err
	}
	return recovered, m.LockContext(ctx)
}
