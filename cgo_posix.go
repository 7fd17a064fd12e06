//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

package qipc

/*
#cgo CFLAGS: -Wall -Wextra -Werror
// 64-bit file offsets, inode numbers and times where they are not the
// default (32-bit Linux), as Qt is built: otherwise stat fails with
// EOVERFLOW on a file of 2 GiB, a large inode number or a time after 2038,
// which any peer can set.
#cgo linux CFLAGS: -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
#cgo linux LDFLAGS: -lrt -pthread
#include <stdlib.h>
#include "cgo_posix.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/procs"
)

// posixBackend serves PosixRealtime keys with shm_open/mmap and sem_open,
// as Qt's qsharedmemory_posix.cpp and qsystemsemaphore_posix.cpp do.
type posixBackend struct{}

var _ = registerBackend(&posixImpl, posixBackend{}) // POSIX realtime keys

var _ = func() struct{} { appleTempDir = userTempDir; return struct{}{} }()

// userTempDir is the per-user temporary directory of an Apple system
// (confstr(_CS_DARWIN_USER_TEMP_DIR)), "" elsewhere or when it fails.
func userTempDir() string {
	var buf [1024]C.char
	if C.qipc_user_temp_dir(&buf[0], C.size_t(len(buf))) != 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// createAttempts is how often Qt's Create mode unlinks an existing
// semaphore and tries again to create it exclusively.
const createAttempts = 3

// openRaceAttempts bounds how often an Open-mode handle() finds the
// semaphore gone between its exclusive create (EEXIST) and its open
// (ENOENT), and so tries the create again. Qt opens with O_CREAT (POSIX)
// or IPC_CREAT (System V) instead, which in that race makes a semaphore
// that the call does not own: Qt's POSIX code says it leaks, and a System
// V set made so keeps the count 0 that semget gives it, which no one ever
// posts, so every process that locks it waits for ever.
const openRaceAttempts = 64

func (posixBackend) countsAttachments() bool { return false }

func (posixBackend) followsRemoval() bool { return false }

func (posixBackend) supported() bool { return C.qipc_posix_probe() != 0 }

func (posixBackend) lockShadowsSegment(k Key) bool {
	return glibcsem.Libc == "musl" && lockKeyFor(k).Native == k.Native
}

func (posixBackend) createSegment(k Key, size int, mode AccessMode, perm uint32) (segment, error) {
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	var step C.int
	setMode := C.int(0)
	if perm != 0o600 {
		setMode = 1 // shm_open applies the umask; Qt's 0600 survives any usual one
	}
	if rc := C.qipc_posix_shm_create(name, C.int64_t(size), C.uint(perm), setMode, &step); rc != 0 {
		op := "QSharedMemory::attach (shm_open)" // sic: Qt labels its create's shm_open "attach"
		if step != C.QIPC_STEP_OPEN {
			op = "QSharedMemory::create (ftruncate)"
			// Made, but not to size (EFBIG past RLIMIT_FSIZE, ENOSPC):
			// no one can use it, and left it would make the next
			// Create fail with AlreadyExists. Qt leaves it.
			C.qipc_posix_shm_unlink(name)
		}
		return nil, posixShmError(op, k, syscall.Errno(rc), step)
	}
	seg, err := posixBackend{}.attachSegment(k, mode)
	if err != nil {
		C.qipc_posix_shm_unlink(name) // made it but cannot map it: no one can use it
	}
	return seg, err
}

func (posixBackend) attachSegment(k Key, mode AccessMode) (segment, error) {
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	var (
		fd       C.int
		addr     unsafe.Pointer
		size     C.int64_t
		uid      C.uint
		dev, ino C.uint64_t
		step     C.int
	)
	ro := C.int(0)
	if mode == ReadOnly {
		ro = 1
	}
	if rc := C.qipc_posix_shm_attach(name, ro, &fd, &addr, &size, &uid, &dev, &ino, &step); rc != 0 {
		op := map[C.int]string{
			C.QIPC_STEP_OPEN: "QSharedMemory::attach (shm_open)",
			C.QIPC_STEP_STAT: "QSharedMemory::attach (fstat)",
			C.QIPC_STEP_MAP:  "QSharedMemory::attach (mmap)",
		}[step]
		return nil, posixShmError(op, k, syscall.Errno(rc), step)
	}
	seg := &posixSegment{addr: addr, size: int(size), fd: fd, uid: int(uid), id: segmentID{uint64(dev), uint64(ino)}}
	// A name is one file: another user's hard link from this name to one
	// of this user's other segments (a 0666 one, or any where
	// fs.protected_hardlinks is 0) would pass the owner check.
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); err == nil && st.Nlink != 1 {
		_, _ = seg.detach(false, false)
		return nil, linkedError("QSharedMemory::attach", k, "/dev/shm"+k.Native, uint64(st.Nlink))
	}
	return seg, nil
}

// linkedError is the refusal of a POSIX file with more than one name.
func linkedError(op string, k Key, path string, nlink uint64) error {
	return &Error{QtOp: op, Key: k, Kind: PermissionDenied, Err: ErrKeyFileNotRegular,
		text: fmt.Sprintf("%s has %d names (hard links); a Qt object has one", path, nlink)}
}

// findSegment opens the segment read-only and closes it again.
func (posixBackend) findSegment(k Key) error {
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	if rc := syscall.Errno(C.qipc_posix_shm_probe(name)); rc == syscall.ENOENT || rc == syscall.EINVAL {
		return posixShmError("QSharedMemory::attach (shm_open)", k, rc, C.QIPC_STEP_OPEN)
	}
	return nil
}

// posixShmError applies Qt's one special case: shm_open's EINVAL means a
// bad name.
func posixShmError(op string, k Key, errno syscall.Errno, step C.int) *Error {
	if step == C.QIPC_STEP_OPEN && errno == syscall.EINVAL {
		return &Error{QtOp: op, Key: k, Kind: KeyError, Err: errno, text: "bad name"}
	}
	return shmError(op, k, errno)
}

// inspectSegment looks at the segment's file under /dev/shm and at the
// processes that use it (Linux); elsewhere it maps it for a moment, and who
// else uses it is not known.
func (b posixBackend) inspectSegment(k Key) (segmentFacts, error) {
	if procs.DevShm == "" {
		seg, err := b.attachSegment(k, ReadOnly)
		if errors.Is(err, ErrNotFound) {
			return segmentFacts{}, nil
		}
		if err != nil {
			return segmentFacts{}, err
		}
		f := segmentFacts{found: true, size: int64(len(seg.bytes())), uid: -1}
		_, err = seg.detach(false, false)
		return f, err
	}
	var st syscall.Stat_t
	path := procs.DevShm + "/" + strings.TrimLeft(k.Native, "/")
	switch err := syscall.Stat(path, &st); {
	case errors.Is(err, syscall.ENOENT):
		return segmentFacts{}, nil
	case err != nil:
		errno := syscall.EIO
		errors.As(err, &errno)
		return segmentFacts{}, shmError("QSharedMemory::inspect (stat)", k, errno)
	}
	users := procs.ShmUsers()
	return segmentFacts{found: true, size: st.Size, uid: int(st.Uid), mappers: true, pids: users.Users(st.Ino),
		procs: users, lease: procs.LeaseIfUnseen(users, path, uint64(st.Dev), uint64(st.Ino))}, nil
}

// inspectLock reads the semaphore's file: glibc's count and waiters, and
// on Linux the processes that map it.
func (posixBackend) inspectLock(k Key) (lockFacts, error) {
	if procs.DevShm == "" {
		return lockFacts{}, nil // where the C library keeps it is not known here
	}
	path := glibcsem.SemFile(k.Native)
	var st syscall.Stat_t
	switch err := syscall.Stat(path, &st); {
	case errors.Is(err, syscall.ENOENT):
		return lockFacts{known: true}, nil
	case err != nil:
		errno := syscall.EIO
		errors.As(err, &errno)
		return lockFacts{}, semError("QSystemSemaphore::inspect (stat)", k, errno)
	}
	lf := lockFacts{known: true, found: true, count: -1, LockFacts: procs.LockFacts{Waiters: -1}}
	if count, waiters, ok := glibcsem.ReadFile(path); ok {
		lf.count, lf.Waiters = count, waiters
	}
	if procs.DevShm != "" {
		lf.LockFacts = procs.SemUsers(procs.ShmUsers(), st.Ino, lf.Waiters)
	}
	return lf, nil
}

func (posixBackend) removeSegment(k Key, _ bool, only segmentID) (bool, error) {
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	var rc syscall.Errno
	if only == (segmentID{}) {
		rc = syscall.Errno(C.qipc_posix_shm_unlink(name))
	} else {
		rc = syscall.Errno(C.qipc_posix_shm_unlink_if(name, C.uint64_t(only[0]), C.uint64_t(only[1])))
	}
	switch rc {
	case 0:
		return true, nil
	case syscall.ENOENT, syscall.ESTALE:
		return false, nil
	default:
		return false, shmError("QSharedMemory::remove (shm_unlink)", k, rc)
	}
}

type posixSegment struct {
	addr unsafe.Pointer
	size int
	fd   C.int
	uid  int       // its owner
	id   segmentID // its file's device and inode
}

func (s *posixSegment) identity() segmentID { return s.id }

func (s *posixSegment) bytes() []byte { return unsafe.Slice((*byte)(s.addr), s.size) }

// owners: the segment file's owner.
func (s *posixSegment) owners() []owner { return []owner{uidOwner("segment", s.uid)} }

func (s *posixSegment) shrunk() bool {
	var st syscall.Stat_t
	return syscall.Fstat(int(s.fd), &st) == nil && st.Size < int64(s.size)
}

// detach never removes: POSIX cannot tell who else has the segment mapped.
func (s *posixSegment) detach(bool, bool) (bool, error) {
	if rc := C.qipc_posix_shm_detach(s.addr, C.int64_t(s.size), s.fd); rc != 0 {
		return false, shmError("QSharedMemory::detach (munmap)", Key{}, syscall.Errno(rc))
	}
	return false, nil
}

// openSemaphore follows Qt's handle(): always try to create exclusively
// first; Create mode unlinks an existing semaphore and retries so the
// count starts fresh; Open mode opens the existing one. An observer's
// (semExisting) only opens an existing one.
func (posixBackend) openSemaphore(k Key, initial int, how semOpen, perm uint32) (semHandle, bool, error) {
	const op = "QSystemSemaphore::handle"
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	var s *C.sem_t
	var rc syscall.Errno
	attempts := createAttempts
	if how != semCreate {
		attempts = openRaceAttempts
	}
	moved, linked := false, false
	for attempt := 0; attempt < attempts; attempt++ {
		if how != semExisting {
			rc = syscall.Errno(C.qipc_posix_sem_open(name, 1, C.uint(perm), C.uint(initial), &s))
			if rc != syscall.EEXIST {
				break
			}
			if how == semCreate {
				if urc := syscall.Errno(C.qipc_posix_sem_unlink(name)); urc != 0 && urc != syscall.ENOENT {
					return nil, false, semError("QSystemSemaphore::handle (sem_unlink)", k, urc)
				}
				continue
			}
		}
		rc = syscall.Errno(C.qipc_posix_sem_open(name, 0, 0, 0, &s))
		switch {
		case rc == syscall.ENOENT && how != semExisting:
			continue // unlinked since the create: create it
		case rc == 0:
			h, err := newPosixSem(s, k, false)
			if err == nil {
				return h, false, nil
			}
			C.qipc_posix_sem_close(s)
			if !errors.Is(err, errNameMoved) && !errors.Is(err, errLinked) {
				return nil, false, err
			}
			moved, linked = true, errors.Is(err, errLinked)
			rc = syscall.EEXIST // nothing opened yet, should this be the last try
			raceBackoff(attempt)
			continue // replaced since the open: open what the name is now
		}
		return nil, false, semError(op, k, rc)
	}
	if rc == syscall.EEXIST && linked {
		var st syscall.Stat_t
		_ = syscall.Lstat(glibcsem.SemFile(k.Native), &st)
		return nil, false, linkedError(op, k, glibcsem.SemFile(k.Native), uint64(st.Nlink))
	}
	if rc == syscall.EEXIST && moved {
		return nil, false, &Error{QtOp: op, Key: k, Kind: UnknownError, Err: errNameMoved,
			text: fmt.Sprintf("the name was replaced under every one of %d opens, so no owner could be proven", attempts)}
	}
	if rc != 0 {
		return nil, false, semError(op, k, rc)
	}
	if perm != 0o600 && runtime.GOOS == "linux" {
		// sem_open applies the umask; a group mode must survive it, as
		// for segments.
		_ = syscall.Chmod(glibcsem.SemFile(k.Native), perm)
	}
	h, err := newPosixSem(s, k, true)
	if err != nil {
		C.qipc_posix_sem_close(s)
		return nil, false, err
	}
	return h, true, nil
}

func (posixBackend) removeSemaphore(k Key) error {
	name := C.CString(k.Native)
	defer C.free(unsafe.Pointer(name))
	if rc := syscall.Errno(C.qipc_posix_sem_unlink(name)); rc != 0 && rc != syscall.ENOENT {
		return semError("QSystemSemaphore::cleanHandle (sem_unlink)", k, rc)
	}
	return nil
}

type posixSem struct {
	s   *C.sem_t
	key Key
	// dev and ino are those of the file the sem_t is mapped from; 0
	// where unknown.
	dev, ino uint64
	// uid owns that very file (-1: unproven, see owners).
	uid int
}

// posixFastSem is a posixSem whose uncontended take and give Semaphore
// does in Go with glibc's own protocol (posix_fast.go).
type posixFastSem struct{ posixSem }

// errNameMoved: by the time the owner of the semaphore just opened was
// read, its name led to another file (it was removed, and perhaps made
// again by someone else); Open mode opens the name again.
var errNameMoved = errors.New("semaphore replaced under its name while it was opened")

// raceBackoff waits before Open mode looks again at a name that led to
// another file or to a file with two names. sem_open's creator links its
// new file to the name and then unlinks its temporary one (glibc and musl
// alike); one preempted in between keeps both names for a time slice or
// more, which looks made at once, a few microseconds each now that the
// owner proof asks the kernel, would all fall into. The waits double from
// 10 µs to 2 ms, about 115 ms over openRaceAttempts: a second name still
// there then is someone else's link.
func raceBackoff(attempt int) {
	raceSleep(min(10*time.Microsecond<<min(attempt, 8), 2*time.Millisecond))
}

// raceSleep is time.Sleep, which a test replaces.
var raceSleep = time.Sleep

// errLinked: the semaphore's file has more than one name. glibc's sem_open
// makes the file under a temporary name and links it to the real one, so
// for a moment every new semaphore has two; one that keeps them is someone
// else's link (linkedError). Open mode opens the name again.
var errLinked = errors.New("semaphore file has more than one name")

// newPosixSem wraps the sem_t that sem_open mapped and proves who owns
// it: the file it is mapped from, as /proc/self/maps tells it (device and
// inode), must be the file an lstat of the name shows, whose owner is
// then the owner of the semaphore in use. The mapping keeps that inode
// alive, so no other file can show the same pair meanwhile: there is no
// window between the check and the use, as there is in a stat of the
// name alone, which a peer that replaces the file in between defeats.
// created: this call made the file (sem_open links the file it made under
// the name), so it is this user's. Without /proc (other systems) the
// owner stays unproven and owners falls back to the name's.
func newPosixSem(s *C.sem_t, k Key, created bool) (semHandle, error) {
	p := posixSem{s: s, key: k, uid: -1}
	var mapped bool
	p.dev, p.ino, mapped = procs.MappedFile(uintptr(unsafe.Pointer(s)))
	switch {
	case created:
		p.uid = os.Geteuid()
	case mapped:
		var st syscall.Stat_t
		if syscall.Lstat(glibcsem.SemFile(k.Native), &st) != nil || uint64(st.Dev) != p.dev || uint64(st.Ino) != p.ino {
			return nil, errNameMoved
		}
		if st.Nlink != 1 {
			return nil, errLinked
		}
		if err := p.checkSize(int64(st.Size)); err != nil {
			return nil, err
		}
		p.uid = int(st.Uid)
	}
	if semFastOK {
		return &posixFastSem{p}, nil
	}
	return &p, nil
}

// stale: the C library's file for the name is gone or another one.
func (p *posixSem) stale() bool {
	if p.ino == 0 {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Stat(glibcsem.SemFile(p.key.Native), &st); err != nil {
		return errors.Is(err, syscall.ENOENT)
	}
	return st.Ino != p.ino
}

func (f *posixFastSem) word() unsafe.Pointer { return unsafe.Pointer(f.s) }

// waitWake sleeps on the sem_t's futex as glibc's sem_wait does, in Go,
// because sem_wait cannot be ended: the kernel restarts its futex sleep
// after a signal (the Go runtime's handlers use SA_RESTART). One sleep
// keeps this waiter's place in the kernel's queue; sem_clockwait in slices
// would give it up at every slice.
func (f *posixFastSem) waitWake(wk waker) (bool, error) {
	ok, err := glibcsem.Wait(f.word(), stopperOf[*futexWaiter](wk).w)
	if errors.Is(err, glibcsem.ErrFault) {
		return false, f.faultError("futex")
	}
	if errno := syscall.Errno(0); errors.As(err, &errno) {
		return false, semError("QSystemSemaphore::modifySemaphore (futex)", f.key, errno)
	}
	return ok, err
}

func (f *posixFastSem) newWaker() (waker, error) {
	// One allocation for the three parts: every wait that sleeps makes one.
	p := new(struct {
		k repeatingWaker
		s futexWaiter
		w glibcsem.Waiter
	})
	p.s = futexWaiter{w: &p.w, word: f.word()}
	p.k.s = &p.s
	return &p.k, nil
}

// futexWaiter stops a waitWake by waking the futex (glibcsem.Waiter.Stop).
type futexWaiter struct {
	w    *glibcsem.Waiter
	word unsafe.Pointer
}

func (w *futexWaiter) stop() bool { return w.w.Stop(w.word) }
func (w *futexWaiter) free()      {}

func (p *posixSem) wait(timeout time.Duration) (bool, error) {
	if semFastOn() {
		ok, err := glibcsem.Take(unsafe.Pointer(p.s))
		if err != nil {
			return false, p.faultError("sem_wait")
		}
		if ok {
			return true, nil
		}
		if timeout == 0 {
			return false, nil // what sem_trywait reports for a zero count
		}
	}
	ns := int64(timeout)
	if timeout < 0 {
		ns = -1
	}
	rc := syscall.Errno(C.qipc_posix_sem_wait(p.s, C.int64_t(ns)))
	switch rc {
	case 0:
		return true, nil
	case syscall.EAGAIN, syscall.ETIMEDOUT:
		return false, nil
	case syscall.EINVAL:
		return false, errors.Join(errSemaphoreGone, semError("QSystemSemaphore::modifySemaphore (sem_wait)", p.key, rc))
	default:
		return false, semError("QSystemSemaphore::modifySemaphore (sem_wait)", p.key, rc)
	}
}

func (p *posixSem) post(n int) error {
	// n posts would overflow SEM_VALUE_MAX (and C's int): refuse up front,
	// as System V's semop does with ERANGE, instead of posting and undoing.
	// One post needs no check: sem_post itself reports EOVERFLOW.
	if n > 1 {
		if v, err := p.value(); n > math.MaxInt32 || err == nil && n > math.MaxInt32-v {
			return semError("QSystemSemaphore::modifySemaphore (sem_post)", p.key, syscall.ERANGE)
		}
	}
	if semFastOn() {
		return p.postGo(n)
	}
	rc := syscall.Errno(C.qipc_posix_sem_post(p.s, C.int(n)))
	if rc != 0 {
		return semError("QSystemSemaphore::modifySemaphore (sem_post)", p.key, rc)
	}
	return nil
}

// postGo posts n with glibc's protocol in Go (glibcsem.Post), so that a
// truncated file is ErrFault rather than a SIGBUS inside sem_post. Like
// qipc_posix_sem_post, it takes back what it posted when a post fails.
func (p *posixSem) postGo(n int) error {
	for i := 0; i < n; i++ {
		err := glibcsem.Post(unsafe.Pointer(p.s))
		if err == nil {
			continue
		}
		for ; i > 0; i-- {
			if ok, _ := glibcsem.Take(unsafe.Pointer(p.s)); !ok {
				break
			}
		}
		if errors.Is(err, glibcsem.ErrFault) {
			return p.faultError("sem_post")
		}
		return semError("QSystemSemaphore::modifySemaphore (sem_post)", p.key, err.(syscall.Errno))
	}
	return nil
}

// checkSize refuses a semaphore file of another size than this process's
// sem_t: a truncated one (ErrFault), or, with glibc, one that a process of
// the other word size made (16 bytes from a 32-bit process, 32 from a
// 64-bit one). Its layout is not this process's: glibc here would misread
// it, a free lock looking taken and a wait never ending.
func (p *posixSem) checkSize(size int64) error {
	own := int64(C.sizeof_sem_t)
	switch {
	case glibcsem.Libc == "glibc" && size != own && (size == 16 || size == 32):
		return &Error{QtOp: "QSystemSemaphore::handle", Key: p.key, Kind: KeyError, Err: ErrLibcSemaphores,
			text: fmt.Sprintf("%s has %d bytes, this process's sem_t %d: made by a process of the other word size (glibc lays a sem_t out by word size), or cut to that size",
				glibcsem.SemFile(p.key.Native), size, own)}
	case size < own:
		return p.faultError("sem_open")
	}
	return nil
}

// faultError reports an access to the sem_t that faulted: a peer cut its
// file short (glibcsem.ErrFault).
func (p *posixSem) faultError(call string) error {
	return &Error{QtOp: "QSystemSemaphore::modifySemaphore (" + call + ")", Key: p.key, Kind: UnknownError, Err: ErrFault,
		text: "memory fault: a peer truncated the semaphore's file " + glibcsem.SemFile(p.key.Native)}
}

func (p *posixSem) value() (int, error) {
	if semFastOn() {
		w, err := glibcsem.Word(unsafe.Pointer(p.s))
		if err != nil {
			return 0, p.faultError("sem_getvalue")
		}
		v, _ := glibcsem.Value(w)
		return v, nil
	}
	var v C.int
	rc := syscall.Errno(C.qipc_posix_sem_value(p.s, &v))
	if rc != 0 {
		return 0, semError("QSystemSemaphore::value (sem_getvalue)", p.key, rc)
	}
	return int(v), nil
}

// owners: the owner of the semaphore's file, proven where newPosixSem
// could (Linux); elsewhere that of the file the name leads to now, which
// a peer may have replaced since the open.
func (p *posixSem) owners() []owner {
	if p.uid >= 0 {
		return []owner{uidOwner("semaphore", p.uid)}
	}
	if uid, ok := fileUID(glibcsem.SemFile(p.key.Native)); ok {
		return []owner{uidOwner("semaphore", uid)}
	}
	return nil
}

// removeIfUnused: the kernel grants a write lease on the semaphore's
// file only while no process anywhere (another PID namespace, another
// path to /dev/shm) maps it or has it open, which /proc cannot prove; a
// file another user owns gets none, and stays.
func (p *posixSem) removeIfUnused() error {
	if p.ino == 0 {
		return nil
	}
	_, err := procs.RemoveUnused(glibcsem.SemFile(p.key.Native), p.dev, p.ino)
	return err
}

// unusedElsewhere: no other process maps the semaphore's file or has it
// open, by /proc; a process that cannot be checked, or processes out of
// sight (procs.Index.Blind), make it unprovable. (This process maps it:
// no lease can prove it while the count is held.)
func (p *posixSem) unusedElsewhere() bool {
	if p.ino == 0 {
		return false
	}
	var st syscall.Stat_t
	if syscall.Stat(glibcsem.SemFile(p.key.Native), &st) != nil || st.Ino != p.ino {
		return false
	}
	x := procs.ShmUsers()
	unused, sure, _ := procs.PosixSegment(procs.Others(x.Users(st.Ino)), x, procs.LeaseUnknown)
	return unused && sure
}

// remove unlinks the name while it leads to this semaphore.
func (p *posixSem) remove() error {
	if p.stale() {
		return nil
	}
	return posixBackend{}.removeSemaphore(p.key)
}

func (p *posixSem) close() error {
	if rc := syscall.Errno(C.qipc_posix_sem_close(p.s)); rc != 0 {
		return semError("QSystemSemaphore::cleanHandle (sem_close)", p.key, rc)
	}
	return nil
}
