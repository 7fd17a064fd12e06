//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

package qipc

/*
#cgo CFLAGS: -Wall -Wextra -Werror
#cgo linux CFLAGS: -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
#include <stdlib.h>
#include <sys/sem.h>
#include "cgo_sysv.h"
*/
import "C"

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc/internal/procs"
)

// sysvBackend serves SystemV keys and the other System V types 1 to 0xff
// (which differ only in the ftok project id) with key files, ftok, shmget
// and semget, as Qt's qsharedmemory_systemv.cpp and
// qsystemsemaphore_systemv.cpp do.
type sysvBackend struct{}

var _ = registerBackend(&sysvImpl, sysvBackend{}) // System V keys, whatever their ftok project id

func (sysvBackend) countsAttachments() bool { return true }

func (sysvBackend) followsRemoval() bool { return true }

// lockShadowsSegment: System V keeps segments and semaphores apart.
func (sysvBackend) lockShadowsSegment(Key) bool { return false }

func (sysvBackend) supported() bool {
	if runtime.GOOS == "darwin" && appleSandboxed() {
		return false
	}
	return C.qipc_sysv_probe() != 0
}

// sysvKeyFileMode is the mode of a key file for objects made with perm:
// Qt's 0640 for its default 0600, else perm less execute. setMode says
// the mode must be set past the umask (key files are files; the IPC
// objects themselves ignore the umask).
func sysvKeyFileMode(perm uint32) (mode uint32, setMode bool) {
	if perm == 0o600 {
		return 0o640, false
	}
	return perm & 0o666, true
}

// sysvKeyFile makes the key file of k if it is missing and reports whether
// this call made it; op is the class label Qt uses ("QSharedMemory::handle"
// or "QSystemSemaphore::handle"), whose message has a double colon.
func sysvKeyFile(op string, k Key, path *C.char, perm uint32) (bool, error) {
	mode, setMode := sysvKeyFileMode(perm)
	var created, step C.int
	set := C.int(0)
	if setMode {
		set = 1
	}
	if rc := syscall.Errno(C.qipc_sysv_keyfile(path, C.uint(mode), set, &created, &step)); rc != 0 {
		if created != 0 {
			_ = syscall.Unlink(k.Native)
		}
		return false, &Error{QtOp: op + ":", Key: k, Kind: KeyError, Err: rc, text: "unable to make key"}
	}
	return created != 0, nil
}

// keyFile is what a key file is (lstat: the name itself, a symbolic link
// not followed) and, for a regular file, the key ftok gives for it.
type keyFile struct {
	st  C.struct_qipc_keyfile
	key C.int
}

// sysvFtok returns ftok(k.Native, project id of k.Type) and the file it
// was computed for. A name that is not a regular file gives no key (rc 0,
// f.st.regular 0); refusal says why a file is not used.
func sysvFtok(k Key, path *C.char) (f keyFile, rc syscall.Errno) {
	for range openRaceAttempts {
		// ESTALE: the name was given to another file during the call.
		if rc = syscall.Errno(C.qipc_sysv_keyfile_key(path, C.int(ftokProjectID(k.Type)), &f.key, &f.st)); rc != syscall.ESTALE {
			break
		}
	}
	return f, rc
}

// refusal is the error of a Create, Attach, open or removal through a key
// file that is not a regular file of one name, whoever owns it: ftok
// follows a symbolic link, and a hard link is another name of a file,
// either of which could lead this process to another application's
// segment or semaphore (one of the same user's, whose owner checks pass).
// Qt's and qipc's key files have one name.
func (f keyFile) refusal(op string, k Key) error {
	if f.usable() {
		return nil
	}
	what := "not a regular file"
	switch {
	case f.st.symlink != 0:
		what = "a symbolic link"
	case f.st.regular != 0:
		what = "a file with " + strconv.FormatUint(uint64(f.st.nlink), 10) + " hard links"
	}
	return &Error{QtOp: op, Key: k, Kind: PermissionDenied, Err: ErrKeyFileNotRegular,
		text: "key file " + k.Native + " is " + what + "; a key file must be a regular file of one name"}
}

// usable: f can be a key file (refusal).
func (f keyFile) usable() bool { return f.st.regular != 0 && f.st.nlink == 1 }

// same reports whether f and g are one file (inode).
func (f keyFile) same(g keyFile) bool { return f.st.dev == g.st.dev && f.st.ino == g.st.ino }

// removable says whether f, the file that gives key, may be unlinked with
// the object under key, the rule stated once (package documentation,
// "Ownership"): only a key file as Qt and qipc make them, an empty regular
// file (one with content was not made as a key file: Qt would delete a
// configuration file named as a native key, COMPAT.md #11), owned by this
// process's user; root also removes one owned by the owner of the object
// it removes (objUIDs, asked only then).
func (f keyFile) removable(key C.int, objUIDs func() []int) bool {
	if !f.usable() || f.st.size != 0 || f.key != key {
		return false
	}
	euid := geteuid()
	return int(f.st.uid) == euid || (euid == 0 && slices.Contains(objUIDs(), int(f.st.uid)))
}

// sysvUnlinkArgs are the path and identity the C removal unlinks, or a
// nil path that keeps the file.
func sysvUnlinkArgs(path *C.char, f keyFile, ok bool) (*C.char, C.uint64_t, C.uint64_t) {
	if !ok {
		return nil, 0, 0
	}
	return path, f.st.dev, f.st.ino
}

// sysvSharesKeyFile reports whether the lock semaphore of segment k uses
// k's own key file (Qt 6.6+ keys without a legacy key): then whoever
// removes the file must remove the semaphore too, which no one could find
// afterwards.
func sysvSharesKeyFile(k Key) bool {
	l := lockKeyFor(k)
	return l.Native == k.Native && l.Type == k.Type
}

func (sysvBackend) createSegment(k Key, size int, mode AccessMode, perm uint32) (segment, error) {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	createdFile, err := sysvKeyFile("QSharedMemory::handle", k, path, perm)
	if err != nil {
		return nil, err
	}
	f, rc := sysvFtok(k, path)
	if rc != 0 {
		if createdFile {
			_ = syscall.Unlink(k.Native)
		}
		return nil, shmError("QSharedMemory::handle", k, rc)
	}
	if err := f.refusal("QSharedMemory::handle", k); err != nil {
		return nil, err
	}
	key := f.key
	if rc := syscall.Errno(C.qipc_sysv_shm_create(key, C.size_t(size), C.uint(perm))); rc != 0 {
		if createdFile && rc != syscall.EEXIST {
			_ = syscall.Unlink(k.Native)
		}
		if rc == syscall.EINVAL {
			return nil, &Error{QtOp: "QSharedMemory::handle", Key: k, Kind: InvalidSize, Err: rc, text: "system-imposed size restrictions"}
		}
		return nil, shmError("QSharedMemory::create", k, rc)
	}
	return sysvAttach(k, f, mode)
}

func (sysvBackend) attachSegment(k Key, mode AccessMode) (segment, error) {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, err := sysvAttachKey(k, path)
	if err != nil {
		return nil, err
	}
	return sysvAttach(k, f, mode)
}

// sysvAttachKey is the key file attach uses, with its ftok key, or the
// error Qt's handle() reports for it.
func sysvAttachKey(k Key, path *C.char) (keyFile, error) {
	f, rc := sysvFtok(k, path)
	if rc != 0 {
		// Qt 6.6+: "QSharedMemory::handle: doesn't exist" for a missing
		// file; Qt <= 6.5 checked for the file first, in its own words.
		e := shmError("QSharedMemory::handle", k, rc)
		if rc == syscall.ENOENT {
			e.legacy = "QSharedMemory::handle:: UNIX key file doesn't exist"
		}
		return f, e
	}
	return f, f.refusal("QSharedMemory::handle", k)
}

// findSegment looks the segment up as attach would, without attaching.
func (sysvBackend) findSegment(k Key) error {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, err := sysvAttachKey(k, path)
	switch {
	case err == nil:
	case !errors.Is(err, ErrNotFound):
		return nil // attach reports it
	case k.HasLock() && sysvSharesKeyFile(k):
		// Qt's attach makes the key file first, for the lock that shares
		// it, so its shmget is what finds nothing.
		return shmError("QSharedMemory::attach (shmget)", k, syscall.ENOENT)
	default:
		return err
	}
	if rc := syscall.Errno(C.qipc_sysv_shm_lookup(f.key)); rc == syscall.ENOENT {
		return shmError("QSharedMemory::attach (shmget)", k, rc)
	}
	return nil
}

func sysvAttach(k Key, f keyFile, mode AccessMode) (segment, error) {
	var (
		id        C.int
		addr      unsafe.Pointer
		size      C.int64_t
		uid, cuid C.uint
		step      C.int
	)
	ro := C.int(0)
	if mode == ReadOnly {
		ro = 1
	}
	if rc := syscall.Errno(C.qipc_sysv_shm_attach(f.key, ro, &id, &addr, &size, &uid, &cuid, &step)); rc != 0 {
		op := map[C.int]string{
			C.QIPC_SV_STEP_GET:  "QSharedMemory::attach (shmget)",
			C.QIPC_SV_STEP_AT:   "QSharedMemory::attach (shmat)",
			C.QIPC_SV_STEP_STAT: "QSharedMemory::attach (shmctl)",
		}[step]
		return nil, shmError(op, k, rc)
	}
	return &sysvSegment{addr: addr, size: int(size), id: id, key: f.key, k: k, file: f, uids: []int{int(uid), int(cuid)}}, nil
}

func (s *sysvSegment) identity() segmentID { return segmentID{uint64(s.id) + 1} }

// sysvKeyOf is an existing segment's key file, with its ftok key; without
// the file (found false, err nil) no one can attach a segment by k.
func sysvKeyOf(k Key, path *C.char) (f keyFile, found bool, err error) {
	f, rc := sysvFtok(k, path)
	switch rc {
	case 0:
		return f, true, f.refusal("QSharedMemory::handle", k)
	case syscall.ENOENT:
		return f, false, nil
	}
	return f, false, shmError("QSharedMemory::handle", k, rc)
}

func (sysvBackend) inspectSegment(k Key) (segmentFacts, error) {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, found, err := sysvKeyOf(k, path)
	if !found || err != nil {
		return segmentFacts{}, err
	}
	var (
		size         C.int64_t
		nattch, cpid C.int
		uid, mode    C.uint
	)
	switch rc := syscall.Errno(C.qipc_sysv_shm_stat(f.key, &size, &nattch, &cpid, &uid, &mode)); rc {
	case 0:
		return segmentFacts{found: true, size: int64(size), uid: int(uid), counted: true, attached: int(nattch), creator: int(cpid)}, nil
	case syscall.ENOENT:
		return segmentFacts{}, nil
	default:
		return segmentFacts{}, shmError("QSharedMemory::inspect (shmctl)", k, rc)
	}
}

// inspectLock reads the set that lock key k's file names, making nothing.
func (sysvBackend) inspectLock(k Key) (lockFacts, error) {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, rc := sysvFtok(k, path)
	switch rc {
	case 0:
	case syscall.ENOENT:
		return lockFacts{known: true}, nil
	default:
		return lockFacts{}, semError("QSystemSemaphore::inspect (ftok)", k, rc)
	}
	var value, waiters, lastPid C.int
	switch rc := syscall.Errno(C.qipc_sysv_sem_stat(f.key, &value, &waiters, &lastPid)); rc {
	case 0:
		return lockFacts{known: true, found: true, count: int(value),
			LockFacts: procs.LockFacts{Waiters: int(waiters), LastPid: int(lastPid), LastPidKnown: true,
				LastPidGone: lastPid > 0 && !procs.Alive(int(lastPid))}}, nil
	case syscall.ENOENT:
		return lockFacts{known: true}, nil
	default:
		return lockFacts{}, semError("QSystemSemaphore::inspect (semctl)", k, rc)
	}
}

func (sysvBackend) removeSegment(k Key, keepName bool, only segmentID) (bool, error) {
	const op = "QSharedMemory::remove"
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, found, err := sysvKeyOf(k, path)
	if !found || err != nil {
		return false, err
	}
	key := f.key
	var removed, step C.int
	unlink, dev, ino := sysvUnlinkArgs(path, f, !keepName && f.removable(key, func() []int {
		var (
			size         C.int64_t
			nattch, cpid C.int
			uid, mode    C.uint
		)
		if C.qipc_sysv_shm_stat(key, &size, &nattch, &cpid, &uid, &mode) != 0 {
			return nil
		}
		return []int{int(uid)}
	}))
	onlyID := C.int(-1)
	if only != (segmentID{}) {
		onlyID = C.int(only[0] - 1)
	}
	rc := syscall.Errno(C.qipc_sysv_shm_remove(key, onlyID, unlink, dev, ino, &removed, &step))
	if err := sysvRemoveError(op, k, rc, step); err != nil {
		return removed != 0, err // set only once the segment is gone
	}
	if !keepName && sysvSharesKeyFile(k) {
		// The key file is gone, and with it the only name of the lock. (A
		// detach leaves this to SharedMemory, which retires its lock.)
		var semid C.int
		if C.qipc_sysv_sem_lookup(key, &semid) == 0 {
			if rc := syscall.Errno(C.qipc_sysv_sem_remove(semid, nil, 0, 0, key, 0)); rc != 0 {
				return removed != 0, semError("QSystemSemaphore::cleanHandle", lockKeyFor(k), rc)
			}
		}
	}
	return removed != 0, nil
}

// sysvRemoveError names a failed segment removal in Qt's words.
func sysvRemoveError(op string, k Key, rc syscall.Errno, step C.int) error {
	switch {
	case rc == 0:
		return nil
	case step == C.QIPC_SV_STEP_UNLINK:
		return shmError(op+" (unlink)", k, rc)
	default:
		return shmError(op, k, rc)
	}
}

type sysvSegment struct {
	addr unsafe.Pointer
	size int
	id   C.int // the segment attached, for the detach clean-up
	key  C.int // its ftok key
	k    Key
	file keyFile // the key file that gave key
	uids []int   // its owner and creator
}

func (s *sysvSegment) bytes() []byte { return unsafe.Slice((*byte)(s.addr), s.size) }

// owners: the segment's owner and creator, and the owner of the key file
// that gave its key (not of what the name holds later).
// shrunk: a System V segment keeps its size while it exists.
func (s *sysvSegment) shrunk() bool { return false }

func (s *sysvSegment) owners() []owner {
	return []owner{uidOwner("segment", s.uids[0]), uidOwner("segment (creator)", s.uids[1]),
		uidOwner("key file "+s.k.Native, int(s.file.st.uid))}
}

func (s *sysvSegment) detach(removeUnused, keepName bool) (bool, error) {
	err := s.unmap()
	if !removeUnused {
		return false, err
	}
	path := C.CString(s.k.Native)
	defer C.free(unsafe.Pointer(path))
	keep := keepName && s.k.HasLock() && sysvSharesKeyFile(s.k)
	f, rc := sysvFtok(s.k, path)
	unlink, dev, ino := sysvUnlinkArgs(path, f, !keep && rc == 0 && f.removable(s.key, func() []int { return s.uids }))
	var removed, step C.int
	rc = syscall.Errno(C.qipc_sysv_shm_remove_unused(s.id, unlink, dev, ino, &removed, &step))
	return removed != 0, errors.Join(err, sysvRemoveError("QSharedMemory::detach", s.k, rc, step))
}

func (s *sysvSegment) unmap() error {
	if rc := syscall.Errno(C.qipc_sysv_shm_detach(s.addr)); rc != 0 {
		if rc == syscall.EINVAL {
			return &Error{QtOp: "QSharedMemory::detach", Kind: NotFound, Err: rc, text: "not attached"}
		}
		return shmError("QSharedMemory::detach", Key{}, rc)
	}
	return nil
}

// openSemaphore follows Qt's handle(): make the key file, ftok it, create
// the set exclusively or else open the existing one, and set the count
// when this call created it or in Create mode.
func (sysvBackend) openSemaphore(k Key, initial int, how semOpen, perm uint32) (semHandle, bool, error) {
	const op = "QSystemSemaphore::handle"
	if runtime.GOOS == "darwin" && appleSandboxed() {
		return nil, false, &Error{QtOp: op + ":", Key: k, Kind: PermissionDenied, Err: syscall.EPERM,
			text: "System V semaphores are not available for sandboxed applications. Please build Qt with -feature-ipc_posix"}
	}
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	if how == semExisting {
		return sysvSemExisting(op, k, path)
	}
	var (
		createdFile, created bool
		f                    keyFile
		semid                C.int
		rc                   syscall.Errno
	)
	// The key file may go at any moment: the owner of the set it names
	// removes both (a Close, the last detach of a segment). Gone before
	// ftok: make it again. Gone after ftok, once this call made a set:
	// that set has a key its file no longer gives, and no one else would
	// find it; remove it and start again.
	for range openRaceAttempts {
		var err error
		if createdFile, err = sysvKeyFile(op, k, path, perm); err != nil {
			return nil, false, err
		}
		if f, rc = sysvFtok(k, path); rc != 0 {
			if rc == syscall.ENOENT {
				continue
			}
			break
		}
		if err := f.refusal(op+":", k); err != nil {
			return nil, false, err
		}
		if semid, created, rc = sysvSemGet(f.key, perm); rc != 0 {
			if createdFile {
				_ = syscall.Unlink(k.Native)
			}
			return nil, false, semError(op, k, rc)
		}
		if !created {
			break
		}
		if now, frc := sysvFtok(k, path); frc == 0 && now.same(f) {
			break
		}
		_ = (&sysvSem{semid: semid, key: f.key, k: k, file: f}).remove()
		rc = syscall.ENOENT
	}
	if rc != 0 {
		if createdFile {
			_ = syscall.Unlink(k.Native)
		}
		return nil, false, &Error{QtOp: op + ":", Key: k, Kind: KeyError, Err: rc, text: "ftok failed"}
	}
	h := &sysvSem{semid: semid, key: f.key, k: k, file: f}
	if created || how == semCreate {
		v := C.int(min(initial, math.MaxInt32))
		if rc := syscall.Errno(C.qipc_sysv_sem_setval(semid, v)); rc != 0 {
			if created {
				_ = h.remove()
			} else if createdFile {
				_ = syscall.Unlink(k.Native)
			}
			return nil, false, semError(op, k, rc)
		}
	}
	return h, created, nil
}

// sysvSemExisting opens the set that k's key file names, making neither
// the file nor the set: NotFound when either is missing.
func sysvSemExisting(op string, k Key, path *C.char) (semHandle, bool, error) {
	f, rc := sysvFtok(k, path)
	if rc != 0 {
		return nil, false, semError(op, k, rc)
	}
	if err := f.refusal(op+":", k); err != nil {
		return nil, false, err
	}
	var semid C.int
	if rc := syscall.Errno(C.qipc_sysv_sem_get(f.key, 0, 0, &semid)); rc != 0 {
		return nil, false, semError(op, k, rc)
	}
	return &sysvSem{semid: semid, key: f.key, k: k, file: f}, false, nil
}

// sysvSemGet is the set part of Qt's handle(): create the set exclusively,
// else open the existing one; one removed between the two is created
// after all (openRaceAttempts).
func sysvSemGet(key C.int, perm uint32) (semid C.int, created bool, rc syscall.Errno) {
	for range openRaceAttempts {
		if rc = syscall.Errno(C.qipc_sysv_sem_get(key, C.uint(perm), 1, &semid)); rc != syscall.EEXIST {
			return semid, rc == 0, rc
		}
		if rc = syscall.Errno(C.qipc_sysv_sem_get(key, C.uint(perm), 0, &semid)); rc != syscall.ENOENT {
			return semid, false, rc
		}
	}
	return semid, false, rc
}

func (sysvBackend) removeSemaphore(k Key) error {
	path := C.CString(k.Native)
	defer C.free(unsafe.Pointer(path))
	f, rc := sysvFtok(k, path)
	switch rc {
	case 0:
	case syscall.ENOENT:
		return nil
	default:
		return &Error{QtOp: "QSystemSemaphore::handle:", Key: k, Kind: KeyError, Err: rc, text: "ftok failed"}
	}
	if err := f.refusal("QSystemSemaphore::handle:", k); err != nil {
		return err
	}
	semid := C.int(-1)
	switch rc := syscall.Errno(C.qipc_sysv_sem_lookup(f.key, &semid)); rc {
	case 0, syscall.ENOENT:
	default:
		return semError("QSystemSemaphore::cleanHandle", k, rc)
	}
	return (&sysvSem{semid: semid, key: f.key, k: k, file: f}).removeWith(path)
}

// sysvSem is one semaphore set of one semaphore, as Qt makes them. System
// V has no handles to close: the id is all there is.
type sysvSem struct {
	semid C.int // -1: no set, only a key file to remove
	key   C.int // the ftok key the set was found under
	k     Key
	file  keyFile // the key file that gave key
}

// sleepers reports whether processes sleep in the set's queue: a wait
// that spins then would only barge ahead of them (Semaphore.spin). One
// system call, raw where it can be (sysv_fast.go); an error reads as none.
func (s *sysvSem) sleepers() bool {
	if s.semid < 0 {
		return false
	}
	if sysvRawOn() {
		return sysvSleepersNow(int32(s.semid))
	}
	var n C.int
	return C.qipc_sysv_sem_sleepers(s.semid, &n) == 0 && n > 0
}

// owners: the set's owner and creator (an owner may give a set away with
// IPC_SET; its creator stays), and the owner of the key file that gave its
// key.
func (s *sysvSem) owners() []owner {
	var out []owner
	if uid, cuid, ok := s.owner(); ok {
		out = append(out, uidOwner("semaphore", uid), uidOwner("semaphore (creator)", cuid))
	}
	return append(out, uidOwner("key file "+s.k.Native, int(s.file.st.uid)))
}

// owner is the set's owner and creator (IPC_STAT).
func (s *sysvSem) owner() (uid, cuid int, ok bool) {
	var u, c C.uint
	if C.qipc_sysv_sem_owner(s.semid, &u, &c) != 0 {
		return 0, 0, false
	}
	return int(u), int(c), true
}

func (s *sysvSem) op(n int, timeout time.Duration) syscall.Errno {
	if (n > 0 || timeout == 0) && sysvRawOn() {
		flg := int16(C.SEM_UNDO)
		if n < 0 {
			flg |= C.IPC_NOWAIT
		}
		return sysvSemopNow(int32(s.semid), int16(n), flg)
	}
	ns := int64(timeout)
	if timeout < 0 {
		ns = -1
	}
	return syscall.Errno(C.qipc_sysv_sem_op(s.semid, C.int(n), C.int64_t(ns)))
}

// modifyError reports a failed semop as Qt's modifySemaphore does, marking
// a set removed under us so that sem.go reopens the key and retries.
func (s *sysvSem) modifyError(rc syscall.Errno) error {
	err := semError("QSystemSemaphore::modifySemaphore", s.k, rc)
	if rc == syscall.EINVAL || rc == syscall.EIDRM {
		return errors.Join(errSemaphoreGone, err)
	}
	return err
}

// waitWake waits in one semop, which keeps this waiter's place in the
// set's queue: the kernel serves waiters in order, and a wait in slices
// would go to the end of the queue at every slice, behind Qt's waiters,
// which wait without a limit. w ends it (SIGURG to its thread).
func (s *sysvSem) waitWake(wk waker) (bool, error) {
	switch rc := syscall.Errno(C.qipc_sysv_sem_wait_stoppable(s.semid, stopperOf[sysvWaiter](wk).w)); rc {
	case 0:
		return true, nil
	case syscall.ECANCELED:
		return false, nil
	case syscall.ENOTSUP:
		return false, errNotWakeable
	default:
		return false, s.modifyError(rc)
	}
}

func (s *sysvSem) newWaker() (waker, error) {
	w := C.qipc_waiter_new()
	if w == nil {
		return nil, semError("QSystemSemaphore::acquire", s.k, syscall.ENOMEM)
	}
	return &repeatingWaker{s: sysvWaiter{w}}, nil
}

// sysvWaiter stops a waitWake by signalling its thread (cgo_sysv.c).
type sysvWaiter struct{ w *C.struct_qipc_waiter }

func (w sysvWaiter) stop() bool { return C.qipc_waiter_stop(w.w) != 0 }
func (w sysvWaiter) free()      { C.qipc_waiter_free(w.w) }

func (s *sysvSem) wait(timeout time.Duration) (bool, error) {
	switch rc := s.op(-1, timeout); rc {
	case 0:
		return true, nil
	case syscall.EAGAIN:
		return false, nil
	default:
		return false, s.modifyError(rc)
	}
}

// post adds n in one semop, as Qt's release(n) does; sem_op is a short, so
// a larger n fails as the kernel fails a count past SEMVMX.
func (s *sysvSem) post(n int) error {
	if n > math.MaxInt16 {
		return semError("QSystemSemaphore::modifySemaphore", s.k, syscall.ERANGE)
	}
	if rc := s.op(n, -1); rc != 0 {
		return s.modifyError(rc)
	}
	return nil
}

func (s *sysvSem) value() (int, error) {
	var v C.int
	if rc := syscall.Errno(C.qipc_sysv_sem_getval(s.semid, &v)); rc != 0 {
		if rc == syscall.EINVAL || rc == syscall.EIDRM {
			return 0, errors.Join(errSemaphoreGone, semError("QSystemSemaphore::value", s.k, rc))
		}
		return 0, semError("QSystemSemaphore::value", s.k, rc)
	}
	return int(v), nil
}

// remove deletes the set by its id and its key file while that still
// names it; a set removed already is not an error.
func (s *sysvSem) remove() error {
	path := C.CString(s.k.Native)
	defer C.free(unsafe.Pointer(path))
	return s.removeWith(path)
}

func (s *sysvSem) removeWith(path *C.char) error {
	// A Qt 6.6+ key without a legacy key may name a segment through the
	// same file; the file stays while that segment exists.
	keep := C.int(0)
	if s.k.LegacyKey == "" {
		keep = 1
	}
	f, rc := sysvFtok(s.k, path)
	unlink, dev, ino := sysvUnlinkArgs(path, f, rc == 0 && f.removable(s.key, func() []int {
		uid, _, ok := s.owner()
		if !ok {
			return nil
		}
		return []int{uid}
	}))
	if rc := syscall.Errno(C.qipc_sysv_sem_remove(s.semid, unlink, dev, ino, s.key, keep)); rc != 0 {
		return semError("QSystemSemaphore::cleanHandle", s.k, rc)
	}
	return nil
}

func (s *sysvSem) close() error { return nil }

// removeIfUnused: System V cannot tell who has a set open; a removal is
// followed instead (followsRemoval), and the maker of a lock removes it.
func (s *sysvSem) removeIfUnused() error { return nil }

// unusedElsewhere: System V cannot tell who has a set open; a removal is
// followed instead (followsRemoval).
func (s *sysvSem) unusedElsewhere() bool { return false }

// stale: the key file no longer gives the set's key (removed, or made
// anew), or the key no longer leads to this set.
func (s *sysvSem) stale() bool {
	path := C.CString(s.k.Native)
	defer C.free(unsafe.Pointer(path))
	f, rc := sysvFtok(s.k, path)
	if rc != 0 || !f.usable() || f.key != s.key {
		return true
	}
	var semid C.int
	return C.qipc_sysv_sem_lookup(f.key, &semid) != 0 || semid != s.semid
}
