package qipc

import (
	"fmt"
	"os"
	"strconv"

	"github.com/qipc-go/qipc/internal/procs"
	"github.com/qipc-go/qipc/internal/qtnames"
)

// Usage is what Inspect finds out about a segment: whether it exists, who
// uses it, and whether it is a leftover of processes that are gone.
type Usage struct {
	Key    Key
	Exists bool
	// Size is the segment's size as the OS reports it (on Windows, whole
	// pages).
	Size int64
	// Owner names the user that owns the segment ("alice (uid 1000)"), or
	// is "" where the OS does not say (Windows, and POSIX outside Linux).
	Owner string
	// Attached is how many processes use the segment: System V's attach
	// count, or on Linux the processes that map a POSIX segment or hold it
	// open; -1 where the OS does not tell.
	Attached int
	// Pids are those processes where the OS names them (POSIX on Linux).
	Pids []int
	// Creator is the process that created a System V segment.
	Creator int
	// Stale says that no live process uses the segment, proven as
	// Inspect describes: what a process that was killed, or exited
	// without Close, leaves behind. A Qt
	// program then finds it in create() and believes another instance
	// runs. Create with WithReplaceStale replaces it.
	Stale bool
	// Reason says, in words, why the segment is stale or why it is not.
	Reason string
	// Lock is what the OS shows of the segment's lock semaphore.
	Lock LockUsage
}

// LockUsage is what Inspect finds out about a segment's lock semaphore,
// without opening it: whether it is held, and by whom, probably.
type LockUsage struct {
	// Known says that the OS told: false on Windows, for POSIX outside
	// Linux, and for keys without a lock.
	Known bool
	// Exists says that the lock semaphore exists.
	Exists bool
	// Count is the semaphore's count, 1 when the lock is free and 0 while
	// it is held; -1 where it cannot be read (POSIX with a C library other
	// than glibc).
	Count int
	// Waiters is how many processes wait for it (System V's GETNCNT,
	// glibc's waiter count); -1 where unknown.
	Waiters int
	// Holder is the process that probably holds the lock while Count is
	// 0, and 0 when that is not known. On System V it is the last process
	// that changed the count (GETPID), which for a held lock is the one
	// that took it. On Linux POSIX, where a semaphore has no owner, it is
	// the one process that maps the semaphore, when there is only one and
	// no one waits; HolderWhy says when it cannot be told.
	Holder int
	// HolderName is the holder's command name (/proc/PID/comm), "" when
	// unknown.
	HolderName string
	// HolderWhy says how Holder was found, or why it was not.
	HolderWhy string
}

// String says in a few words whether the lock is held and by whom, or ""
// when that is not known.
func (l LockUsage) String() string {
	switch {
	case !l.Known || l.Exists && l.Count < 0:
		return ""
	case !l.Exists:
		return "the segment has no lock semaphore"
	case l.Count > 0:
		return fmt.Sprintf("the lock is free (count %d)", l.Count)
	case l.Holder == os.Getpid():
		return "the lock is held by this process (another object or goroutine of it)"
	case l.Holder > 0 && l.HolderName != "":
		return fmt.Sprintf("the lock is held, probably by pid %d (%s)", l.Holder, l.HolderName)
	case l.Holder > 0:
		return fmt.Sprintf("the lock is held, probably by pid %d", l.Holder)
	}
	return "the lock is held (" + l.HolderWhy + ")"
}

// Inspect reports whether the segment named by key exists, who uses it,
// and whether it is stale, without attaching to it (on Windows, and for
// POSIX outside Linux, it maps it for a moment). A segment that does not
// exist is no error: Exists is false.
//
// What counts as stale: on System V, no process attached and the creator
// gone (a creator that runs may attach again); on Linux POSIX, no process
// maps it or holds it open; on Windows never, since the OS removes a
// mapping with its last handle. Where the OS cannot tell (POSIX on macOS
// and the BSDs) a segment is never called stale. `qipc ls` applies the
// same rules (internal/procs).
//
// Not stale unless proven unused: on Linux a POSIX segment is proven
// unused when the kernel grants this process a write lease on its file
// (it grants none while any process, in any PID namespace and through any
// path, has it open or mapped; only the file's owner and CAP_LEASE may
// ask), or else when a /proc scan could read every process's maps and
// descriptors from the initial PID namespace. Otherwise Stale is false and
// Reason says what could not be checked.
func Inspect(key Key) (_ Usage, err error) {
	defer named("inspect", &err)
	const op = "QSharedMemory::inspect"
	b, err := keyBackend("QSharedMemory", op, key)
	if err != nil {
		return Usage{}, err
	}
	f, err := b.inspectSegment(key)
	if err != nil || !f.found {
		return Usage{Key: key, Attached: -1}, err
	}
	u := Usage{Key: key, Exists: true, Size: f.size, Attached: -1, Creator: f.creator}
	if f.uid >= 0 {
		u.Owner = strconv.Itoa(f.uid)
		if name := qtnames.UserName(f.uid); name != "" {
			u.Owner = fmt.Sprintf("%s (uid %d)", name, f.uid)
		}
	}
	u.Stale, u.Reason = staleness(f, &u)
	if key.HasLock() {
		u.Lock = inspectLock(b, lockKeyFor(key), false)
	}
	return u, nil
}

// inspectLock fills in a LockUsage; what cannot be read stays unknown.
// notSelf says that this process does not hold the lock (a wait for it
// gave up), so that its own mapping does not hide the holder.
func inspectLock(b backend, lk Key, notSelf bool) LockUsage {
	l := LockUsage{Count: -1, Waiters: -1}
	f, err := b.inspectLock(lk)
	if err != nil || !f.known {
		return l
	}
	l.Known = true
	if !f.found {
		return l
	}
	selfMaps := false
	if notSelf {
		others := procs.Others(f.Users)
		selfMaps = len(others) < len(f.Users)
		f.Users = others
	}
	l.Exists, l.Count, l.Waiters = true, f.count, f.Waiters
	if l.Count != 0 {
		return l
	}
	l.Holder, l.HolderWhy = procs.LockHolder(f.LockFacts)
	if l.Holder == 0 && selfMaps && f.UsersKnown && len(f.Users) == 0 {
		// Not "its holder exited": another object or goroutine of this
		// process may hold it, and RecoverLock would let a second in.
		l.HolderWhy = "no other process maps it: this process holds it (another object or goroutine), or its holder exited without giving it back"
	}
	if l.Holder > 0 {
		l.HolderName = procs.Command(l.Holder)
	}
	return l
}

// staleness applies the rules of Inspect to what a backend found, filling
// in the users it knows of.
func staleness(f segmentFacts, u *Usage) (bool, string) {
	switch {
	case f.counted:
		u.Attached = f.attached
		return sysvSegmentStale(f.attached, f.creator)
	case f.mappers:
		u.Attached, u.Pids = len(f.pids), f.pids
		stale, sure, why := procs.PosixSegment(f.pids, f.procs, f.lease)
		if stale && !sure {
			return false, why + ": not called stale, since a process that was not checked may use it"
		}
		return stale, why
	case f.handles:
		return false, "a Windows mapping exists only while a process holds a handle to it"
	}
	return false, "this OS does not tell which processes map a POSIX segment"
}
