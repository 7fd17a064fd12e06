// Package qipc speaks Qt's native IPC from Go: it creates and attaches the
// same shared-memory segments and system semaphores as a Qt application
// that uses QSharedMemory, QSystemSemaphore and QNativeIpcKey, or a C
// program that makes Qt's system calls. Same names, same key files and
// ftok keys, same permissions, same lock protocol, same bytes; the Qt
// behaviour it follows is described in docs/qt-ipc.md, and every
// deliberate difference is listed in COMPAT.md.
//
// What Qt programs put into shared memory is most often QDataStream's
// encoding (Qt's Shared Memory Example streams a QPixmap into
// QSharedMemory("Shared")): the package
// github.com/qipc-go/qipc/qdatastream reads and writes it byte for byte.
// The example Example_qtImage shows both directions in a few lines, and
// examples/sharedimage is the Qt example as a Go program.
//
// # Keys
//
// A [Key] is what QNativeIpcKey is: a type ([PosixRealtime], [SystemV] or
// [Windows]), the native key the OS sees, and for keys derived the Qt 5
// way the cross-platform name it came from. Choose the function by what
// the Qt side does:
//
//   - QSharedMemory("name") in Qt 5, Qt 6.0-6.5, or Qt 6's QString API:
//     [LegacySharedMemoryKey] and [LegacySemaphoreKey].
//   - QSharedMemory::platformSafeKey("name") in Qt 6.6+: [SharedMemoryKey]
//     and [SemaphoreKey].
//   - A string from QNativeIpcKey::toString(): [ParseKey]; [Key.String]
//     gives the string back.
//   - A native name taken verbatim: [NewKey]. Qt 4.4 to 6.5
//     (setNativeKey) lock nothing for such a key, so neither does qipc:
//     Lock fails with [ErrNoLock]. Set [Key.NativeLock] to share the lock
//     a Qt 6.6+ QNativeIpcKey of that name has.
//
// # Ownership
//
// Who removes what, stated once (shm.go applies it in Create, Attach,
// Detach, Close and every failure):
//
//  1. System V: the detach that leaves a segment with no process attached
//     removes it, its key file and its lock semaphore, holding the lock, as
//     Qt does. A detach that runs under the lock Lock holds (Lock; Detach;
//     Create; Unlock) leaves the lock, held, to that Lock: Unlock removes
//     it, unless a segment came back meanwhile.
//  2. POSIX cannot count attachments: the object that created a segment
//     removes it on Close, and its lock semaphore with it, holding the
//     lock, if the name is still that segment (Qt 6.6+'s documented rule).
//     Mappings of other processes stay valid, and they go on locking the
//     removed lock among themselves.
//  3. System V: an object that attached and had to make the lock
//     semaphore, in its Attach or in a Create that failed before it (Qt's
//     recipe "create, else attach"), removes it on Close, holding its
//     count, so that no one holds the removed one; its users follow the
//     removal and make it again as they need it. A Close with nothing
//     else to do under the lock (detached) removes it only if the count
//     is free at once: a lock held then is in use. A Qt program's
//     short-lived second instance removes the one it made, as Qt's
//     destructor does, and no one else would remove this one. (Not on
//     POSIX, whose users would go on locking the removed semaphore.) Qt's
//     destructor removes what it made whoever holds it (COMPAT.md #2).
//  4. A Create or Attach that fails removes what no other process can be
//     using: a segment it made but could not size or map; a lock semaphore
//     it made, while it holds its count, when there is no segment for it
//     to lock and either its users follow a removal (System V) or /proc
//     shows that no other process has it open (POSIX on Linux). Another
//     POSIX lock semaphore it made it closes at once (rule 5 may then
//     remove it); one it found stays bound until Close. Attach looks for the segment before it makes a lock semaphore
//     at all. Anything else stays, as Qt leaves it, for `qipc ls` and
//     `qipc clean --stale`: another process may have opened it.
//  5. POSIX: an object that closes a segment's lock semaphore (a failed
//     Create or Attach, a Close) while the key names no segment removes
//     it, if the kernel then proves that no process anywhere has it open
//     (a write lease on its file, Linux): of two processes whose calls
//     fail at once, each while the other has the lock open, the second
//     removes it. A lock whose last user is not such an object (a Qt or C
//     program, an [Observer] or [WithoutCleanup] object, a bare
//     [Semaphore], a process that ends without closing it, also after a
//     failed Attach that found it) stays, as Qt leaves it. (A Qt process that looked the lock's name up just before
//     the removal, and then creates the segment, locks a removed
//     semaphore; a qipc one follows the name, see below.)
//  6. Windows removes objects with their last handle.
//  7. Nothing else is removed: [WithoutCleanup] keeps even 1 to 3 and 5.
//
// An [Observer] object makes and removes nothing at all: its Attach opens
// the lock semaphore and a System V key file only if they exist (Qt's
// attach makes them), it locks nothing while there is no lock (ErrNoLock)
// and reads without it, and its last Detach and Close leave the segment,
// so that watching a Qt program leaves `ipcs`, /dev/shm and the key
// folder as they were. `qipc cat` is one.
//
// A System V key file goes (1, 3, 4, [RemoveSharedMemory], [RemoveSemaphore])
// only if it is a key file as Qt and qipc make them: an empty regular file
// owned by this process's user (root: or by the owner of the object it
// removes) whose ftok key is the object's, and still the same inode just
// before the unlink. A native key may name any file, which is used as Qt
// uses it but never deleted. A key file that is a symbolic link, not a
// regular file, or a file with a second name (a hard link) is refused
// ([ErrKeyFileNotRegular]).
//
// A lock semaphore removed by name while in use is followed where the OS
// tells: System V operations on it fail, and Lock, Create, Attach, Detach
// and Close then open the name again, as Qt does. POSIX does not tell:
// Create and Attach, once they hold the count, check that the name still
// leads to the semaphore they hold (its file's inode) and else take the
// one it leads to, so a new segment is never locked with a removed lock
// (a Lock racing with that in another goroutine ends holding the lock
// the object has bound then, never the one given up); but the processes attached to a segment whose POSIX lock was removed
// (a Qt 6.6+ creator that exits removes it, COMPAT.md) go on using the
// removed one, and those that attach later make another: a Qt hazard qipc
// cannot undo for the processes that already use it.
//
// Nothing cleans up after a process that dies without Close (a Go program
// on Ctrl-C, unless it uses signal.NotifyContext). [Inspect] tells such a
// stale leftover from a live process's segment, [WithReplaceStale] makes
// Create replace it, never a live one, and [RemoveSharedMemory],
// [RemoveSemaphore] and [RecoverLock] clean up by hand.
//
// The rule for stale objects: nothing is stale unless proven unused, and
// `qipc clean --stale` removes nothing unless proven Qt's and unused,
// checked again at the moment it removes it. A POSIX segment is proven
// unused by the kernel (a write lease, which it grants only while no
// process anywhere has the file open or mapped) or by a /proc scan that
// sees every process (matching mappings by device and inode, so a bind
// mount does not hide one); a process whose maps cannot be read, a PID
// namespace of one's own, or hidepid leaves it unproven, and unproven is
// not stale.
//
// # Locking
//
// [SharedMemory.Lock] takes the very semaphore QSharedMemory::lock()
// takes, so it excludes Qt peers; Create, Attach and Detach take it too,
// as Qt's do. Lock is not re-entrant: a second Lock on the same object
// waits, as sync.Mutex does. [SharedMemory.LockContext],
// [SharedMemory.TryLock], [Semaphore.AcquireContext] and
// [Semaphore.AcquireTimeout] add what Qt lacks: waits that a context or a
// deadline ends. Every wait first tries for a few microseconds without
// sleeping, which spares a hand-off between two running processes the
// kernel's sleep and wake-up; [WithSpin] sets or turns off that budget.
// The protocol on the semaphore is Qt's either way.
//
// # Faults and failures
//
// [SharedMemory.Data] is the mapping itself: a peer that truncates a
// POSIX segment under it makes the next access a SIGBUS that ends the
// process, as it ends a Qt one, and a Detach or Close in another goroutine
// unmaps it without waiting for its users. [SharedMemory.Locked],
// [SharedMemory.ReadAt] and [SharedMemory.WriteAt] pin the mapping while
// they use it and turn such a fault into an error matching [ErrFault]. A
// Create or Attach that fails leaves what no one else can be using as it
// was (see "Ownership"): a program that exits on the error leaves no
// segment, and no lock semaphore but one another process has open.
// Create, Attach and [NewSemaphore] refuse objects that another user owns
// (a squatted legacy key file, segment or semaphore), also when running as
// root, unless [WithForeignOwners] is given; the owner checked is that of
// the object actually opened (a POSIX semaphore's mapped file, on Linux).
// A peer that truncates a POSIX semaphore's file makes its users' calls
// fail with [ErrFault] on glibc, where the library touches the sem_t only
// from Go. [SharedMemory.CreateContext], [SharedMemory.AttachContext] and
// [SharedMemory.DetachContext] bound their wait for the lock, which a dead
// POSIX holder never gives back.
//
// # Concurrency
//
// Every method of [SharedMemory] and [Semaphore] is safe for concurrent
// use. A SharedMemory is in one of five phases:
//
//	detached   no mapping (the start): Create and Attach may run; Lock works
//	           once a Create or Attach has bound the lock
//	attaching  a Create or Attach runs
//	attached   the mapping is there: ReadAt, WriteAt and Locked pin it
//	           while they use it; Detach and Close may begin
//	detaching  a Detach or Close waits for the pins to drain: no new pin,
//	           IsAttached and Data report no mapping; then it unmaps
//	closed     after Close: every call that needs the mapping or the lock
//	           fails with ErrClosed
//
// Three things order the calls, each answering one question, in the
// manner of internal/poll's fdMutex: whether the mapping may be unmapped
// (pins), which change of phase runs (a token, held by one Create, Attach,
// Detach or Close at a time), and who holds the Qt lock for this object (a
// state word: the turn of one Lock of the object to wait for the count,
// whether it holds it, transitions that borrow the count it holds, and
// Close). Their order is fixed: a change of phase takes the Qt lock first
// (borrowing the count the object holds for Lock, as Qt's create, attach
// and detach use a lock their caller holds, or taking one), the token
// second, and only then waits for pins. Nothing waits for the Qt lock with
// the token held, so a Lock holder that calls Detach never waits for a
// change that waits for its lock; and a mapping is never unmapped while
// pinned, so Locked's fn never sees its data go. (Called from inside fn,
// Detach, Close and Lock on the same object wait for fn: do not.)
//
// Close ends what waits: Lock calls (for the turn or the count), and the
// waits of Create, Attach and Detach for the lock, which return ErrClosed.
// A count that Lock holds when Close begins becomes Close's; it detaches
// under it and gives it back. Close's own wait for the lock, which a dead
// POSIX holder never gives back, has a bound in [SharedMemory.CloseContext]. A blocking wait for a count is one call that
// a cancelled context, a deadline or Close ends (an event on Windows, a
// signal to the thread of a System V semop, a futex wake on glibc; where
// the signal cannot end it, and on other C libraries' POSIX semaphores,
// slices of at most 20 ms).
//
// A Semaphore's state word counts the calls in flight and carries a
// closed bit; a held lock counts as a call. Whoever leaves last after
// Close, Close itself or a call still in flight, closes the handle
// (sem_close, CloseHandle) there and then, so no mapping waits for the
// garbage collector. The uncontended Lock, Unlock, Acquire and Release
// make no system call on glibc: the semaphore's own compare-and-swap is
// done in Go.
//
// # Errors
//
// Failures are [*Error] values in the style of *fs.PathError: Op is the
// method that failed ("attach"), and the message names the key as it was
// given and, where there is one, the remedy. errors.Is matches the
// sentinels of Qt's error kinds ([ErrNotFound], [ErrAlreadyExists], ...)
// and the io/fs errors. QtOp is Qt's label for the step, and
// [QtErrorString] and [LegacyQtErrorString] give the text Qt 6.6+ and Qt 5
// would report.
//
// # Platforms
//
// POSIX realtime and System V on Linux (glibc), FreeBSD and macOS;
// Windows. The package needs cgo: the system calls are made by C shims
// (cgo_*.c), as a C or Qt program makes them. README.md lists what each
// platform is tested with.
//
// The examples show the common tasks: a Go process sharing a buffer with
// a Qt application (Example_shareWithQt), cleaning up after a crash
// (Example_cleanUpAfterCrash), keys from Qt's strings (ExampleParseKey),
// timed waits (ExampleSemaphore_AcquireTimeout) and taking a segment's
// lock from a hot loop (ExampleKey_LockKey).
package qipc
