// Package qipc speaks Qt's native IPC from Go: it creates and attaches the
// same shared-memory segments and system semaphores as a Qt application
// that uses QSharedMemory, QSystemSemaphore and QNativeIpcKey, or a C
// program that makes Qt's system calls. Same names, same key files and
// ftok keys, same permissions, same lock protocol, same bytes; the Qt
// behaviour it follows is described in docs/qt-ipc.md, and every
// deliberate difference is listed in COMPAT.md.
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
// On System V the process whose detach leaves no one attached removes the
// segment, its key file and its lock semaphore, as Qt does. POSIX cannot
// count attachments: the object that created a segment removes it and its
// lock on Close (Qt 6.6+'s documented rule). Windows removes objects with
// their last handle. [WithoutCleanup] keeps everything.
//
// Nothing cleans up after a process that dies without Close (a Go program
// on Ctrl-C, unless it uses signal.NotifyContext). [Inspect] tells such a
// stale leftover from a live process's segment, [WithReplaceStale] makes
// Create replace it, never a live one, and [RemoveSharedMemory],
// [RemoveSemaphore] and [RecoverLock] clean up by hand.
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
// process, as it ends a Qt one. [SharedMemory.Locked],
// [SharedMemory.ReadAt] and [SharedMemory.WriteAt] turn such a fault into
// an error matching [ErrFault]. A Create or Attach that fails removes the
// lock semaphore and key file it made before it returns, so a program that
// exits on the error leaves nothing. Create and Attach refuse objects that
// another user owns (a squatted legacy key file or segment) unless
// [WithForeignOwners] is given, and [SharedMemory.CreateContext],
// [SharedMemory.AttachContext] and [SharedMemory.DetachContext] bound
// their wait for the lock, which a dead POSIX holder never gives back.
//
// # Concurrency
//
// Every method of [SharedMemory] and [Semaphore] is safe for concurrent
// use. One state word per semaphore answers whether its OS handle may
// still be used, in the manner of internal/poll's fdMutex: it counts the
// calls in flight and carries a closed bit, a held bit (this SharedMemory
// holds the lock) and a closing bit (SharedMemory.Close has begun). A call
// enters by adding one and leaves by subtracting one; whoever leaves last
// after Close, Close itself or a call still in flight, closes the handle
// (sem_close, CloseHandle) there and then, so no mapping waits for the
// garbage collector. A held lock pins the handle as a call does: Lock
// turns its call into the held bit in the one instruction that ends the
// call, Unlock turns the held bit back into a call in the one instruction
// that begins its own, so Unlock without Lock fails and of two Unlocks, or
// an Unlock and a Close, only one gives the lock back. Close sets the
// closing bit first and wakes the waiting Locks (an event on Windows, a
// signal to the thread of a System V semop, a futex wake on glibc; other
// POSIX waits look every 20 ms), which return ErrClosed, and a Lock that took the lock after it gives the
// lock back. A SharedMemory's mutex orders only Create, Attach, Detach and
// Close. The uncontended Lock, Unlock, Acquire and Release make no system
// call on glibc: the semaphore's own compare-and-swap is done in Go.
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
