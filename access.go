package qipc

import (
	"context"
	"errors"
	"io"
	"runtime/debug"

	"github.com/qipc-go/qipc/internal/fault"
)

// ErrFault is matched by errors.Is when reading or writing the mapping
// faulted: another process truncated a POSIX segment under it (SIGBUS),
// or a write hit a read-only mapping (SIGSEGV); and when a POSIX
// semaphore's file was truncated under its users (glibc). Data gives no
// such protection: a fault there ends the process, as it ends a Qt one.
var ErrFault = errors.New("qipc: memory fault in the shared segment")

// ReadAt copies len(p) bytes of the segment at offset off into p, as
// io.ReaderAt does: fewer bytes and io.EOF at the end of the segment. It
// does not take the lock (use Locked for that), and a fault becomes an
// error matching ErrFault instead of crashing the process.
func (m *SharedMemory) ReadAt(p []byte, off int64) (_ int, err error) {
	defer named("read", &err)
	return m.access("read", off, len(p), func(data []byte) { copy(p, data) })
}

// WriteAt copies p into the segment at offset off, as io.WriterAt does: a
// write past the end copies nothing and fails. It does not take the lock
// (use Locked for that), and a fault becomes an error matching ErrFault.
func (m *SharedMemory) WriteAt(p []byte, off int64) (_ int, err error) {
	defer named("write", &err)
	return m.access("write", off, len(p), func(data []byte) { copy(data, p) })
}

// access runs fn on the part [off, off+n) of the mapping that exists,
// pinned so that no Detach or Close unmaps it meanwhile.
func (m *SharedMemory) access(op string, off int64, n int, fn func([]byte)) (int, error) {
	cur := m.life.pin()
	if cur == nil {
		if m.lock.isClosed() {
			return 0, m.closedError(op)
		}
		return 0, m.notAttached(op)
	}
	defer m.life.unpin()
	data := cur.data
	if off < 0 || off > int64(len(data)) {
		return 0, &Error{QtOp: op, Key: m.key, Kind: InvalidSize, text: "offset outside the segment"}
	}
	avail := data[off:]
	if op == "write" && n > len(avail) {
		return 0, &Error{QtOp: op, Key: m.key, Kind: InvalidSize, text: "write past the end of the segment"}
	}
	done := min(n, len(avail))
	if err := catchFault(op, m.key, true, func() { fn(avail[:done]) }); err != nil {
		return 0, faultCause(err, cur)
	}
	if done < n {
		return done, io.EOF
	}
	return done, nil
}

// Locked runs fn with the mapping while holding the lock (LockContext
// before, Unlock after, whatever fn returns), so that a Qt peer's
// lock() excludes it. The mapping stays mapped while fn runs: a Detach or
// Close in another goroutine waits for fn to return (fn itself must not
// call them, nor Lock, on m). A fault inside fn, from a peer that
// truncated the segment, becomes an error matching ErrFault, and the lock
// is given back, also when fn panics: the form of Data to use when a peer
// may misbehave. data must not be kept after fn returns.
//
// fn's own error is returned as it is, joined with what Locked adds. A
// Close that begins while fn runs takes the lock over and gives it back
// itself; Locked then reports no unlock error.
func (m *SharedMemory) Locked(ctx context.Context, fn func(data []byte) error) (err error) {
	if err := m.LockContext(ctx); err != nil {
		return err
	}
	sem := m.lock.heldSem.Load()
	// Deferred, so that a panic in fn does not leave the lock to Qt's peers.
	defer func() { err = join(err, m.unlockLocked(sem)) }()
	cur := m.life.pin()
	if cur == nil {
		return called("lock", m.notAttached("locked"))
	}
	defer m.life.unpin()
	var ferr error
	fault := catchFault("locked", m.key, false, func() { ferr = fn(cur.data) })
	return join(faultCause(fault, cur), ferr)
}

// join is errors.Join that returns a lone error as it is: fn's own error
// comes back from Locked as fn returned it (==, type assertions).
func join(errs ...error) error {
	var lone error
	for _, e := range errs {
		switch {
		case e == nil:
		case lone != nil:
			return errors.Join(errs...)
		default:
			lone = e
		}
	}
	return lone
}

// unlockLocked is Locked's Unlock. The hold can end without it in two
// ways that give the lock back all the same: Close takes it over, and the
// detach that removes the segment removes the lock with it (the semaphore
// is then no longer sem).
func (m *SharedMemory) unlockLocked(sem *Semaphore) error {
	err := m.unlock()
	if errors.Is(err, ErrNotLocked) && (m.lock.isClosed() || m.lock.sem.Load() != sem) {
		return nil
	}
	return called("unlock", m.unlockError(err))
}

// catchFault runs fn and turns a memory fault in it (SIGBUS, SIGSEGV on
// the mapping) into an *Error matching ErrFault; other panics go on.
// ownCode says that fn is the package's own copy (internal/fault.Is).
func catchFault(op string, k Key, ownCode bool, fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if !fault.Is(r, ownCode) {
			panic(r)
		}
		err = &Error{Op: op, QtOp: op, Key: k, Kind: UnknownError, Err: ErrFault, text: "memory fault (" + r.(error).Error() + ")"}
	}()
	fn()
	return nil
}

// faultCause says why the mapping cur faulted, where it can be told: a
// peer truncated the segment's file, or else a write hit a mapping attached
// ReadOnly (with the remedy). A fault of a Locked fn elsewhere keeps the
// runtime's words.
func faultCause(err error, cur *mapped) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch {
	case cur.seg.shrunk():
		e.text += ": a peer truncated the segment under the mapping"
	case cur.readOnly:
		e.text = "write to a segment attached ReadOnly"
		e.hint = "Attach or Create with ReadWrite to write to it"
	}
	return e
}
