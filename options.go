package qipc

import (
	"io/fs"
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

// SemaphoreMode says whether NewSemaphore takes over the semaphore's count.
type SemaphoreMode int

const (
	// SemaphoreOpen uses an existing semaphore as it is, or creates it
	// with the initial count if there is none (QSystemSemaphore::Open).
	SemaphoreOpen SemaphoreMode = iota
	// SemaphoreCreate sets the count to the initial value even if the
	// semaphore exists, and makes this object its owner
	// (QSystemSemaphore::Create).
	SemaphoreCreate
)

// An Option changes how a SharedMemory or Semaphore creates and cleans up
// the objects it owns.
type Option func(*options)

type options struct {
	cleanup       bool
	perm          uint32
	foreignOwners bool
	spin          time.Duration
	replaceStale  bool
	// noFollow: a semaphore removed under a wait ends it with
	// errSemaphoreGone rather than being opened (and made) again by
	// name: for the lock of a SharedMemory, which decides (shm.go).
	noFollow bool
	// observer: make nothing, remove nothing (Observer).
	observer bool
}

// openMode is how a semaphore that exists already is opened again.
func (o options) openMode() semOpen {
	if o.observer {
		return semExisting
	}
	return semOpenOrCreate
}

func buildOptions(opts []Option) options {
	o := options{cleanup: true, perm: 0o600, spin: defaultSpin}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithoutCleanup keeps what this object creates after it is closed: the
// segment, its lock semaphore, a semaphore, and their key files stay for
// other processes (Qt 6.6+ documents the same opt-out). Remove them later
// with [RemoveSharedMemory] or [RemoveSemaphore], or `qipc rm`.
func WithoutCleanup() Option { return func(o *options) { o.cleanup = false } }

// WithForeignOwners lets Create, Attach and NewSemaphore use a segment,
// semaphore or key file that another user owns. Without it they refuse
// one, also when running as root: in the shared temporary directory another local
// user can make a legacy key file and a 0666 segment first, and a program
// that then attaches would read and write that user's bytes. Qt never
// makes objects another user owns, so Qt peers of the same user are not
// affected. Use it for deliberate multi-user set-ups (with
// WithPermissions). A key file that is a symbolic link, a hard link or not
// a regular file is refused even with it (ErrKeyFileNotRegular).
func WithForeignOwners() Option { return func(o *options) { o.foreignOwners = true } }

// WithPermissions sets the permission bits of the objects this object
// creates, instead of Qt's 0600 (owner only). 0o660 lets the owner's group
// attach too; System V key files get the same bits less execute. Only the
// permission bits of perm are used.
func WithPermissions(perm fs.FileMode) Option {
	return func(o *options) { o.perm = uint32(perm.Perm()) }
}

func fsMode(perm uint32) fs.FileMode { return fs.FileMode(perm) }

// WithSpin sets the longest a wait (Lock, Acquire and their forms, and
// the lock waits of Create, Attach and Detach) tries to take the count
// without sleeping before it blocks in the kernel; d <= 0 turns spinning
// off. The default is 10 µs. A hand-off between two processes that both
// run then costs a fraction of the kernel's sleep and wake-up
// (docs/performance.md), at the price of CPU time while spinning. Within the
// budget a wait spins about four times as long as recent spins took to
// succeed, and 5 µs where they keep failing; there is no spinning on one
// CPU or with GOMAXPROCS 1, nor while other waiters sleep in the
// semaphore's queue (glibc POSIX and System V tell; the next post wakes
// one of them), and on a machine with more runnable threads than CPUs
// (Linux's /proc/loadavg) only one wait in 16 spins once four in a row
// failed to take the count that way. Peers see no difference: a spinning
// waiter takes one count, as a blocked one does.
func WithSpin(d time.Duration) Option { return func(o *options) { o.spin = max(d, 0) } }

// WithReplaceStale makes Create replace a stale segment under its key (see
// Inspect: no live process uses it) instead of failing with
// AlreadyExists: what a process killed before it could Close leaves, and
// what makes a Qt program believe another instance runs. The check and the
// removal run under the segment's lock, which every Qt and qipc attach
// takes, so no process can attach in between; a segment any live process
// uses is never touched. Keys without a lock (NewKey without NativeLock)
// are not replaced: nothing would keep an attach out.
func WithReplaceStale() Option { return func(o *options) { o.replaceStale = true } }

// Observer makes an object that watches and leaves no trace: it creates
// nothing and removes nothing on the machine, so that a monitoring tool
// can read a Qt program's segment without changing what `ipcs`, /dev/shm
// or the key file folder show. Attach opens the segment's lock semaphore
// (and its System V key file) only if they exist, where Qt's attach, and
// a plain qipc one, would create them; while there is none, Lock and
// Locked fail with an error matching ErrNoLock, and ReadAt reads without
// the lock. Create fails with ErrObserver, and Close and the last Detach
// remove nothing (as with WithoutCleanup). With NewSemaphore, it opens
// only a semaphore that exists (NotFound otherwise), in Open mode.
func Observer() Option { return func(o *options) { o.observer, o.cleanup = true, false } }

// withoutFollowing sets noFollow.
func withoutFollowing() Option { return func(o *options) { o.noFollow = true } }
