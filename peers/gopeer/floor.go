//go:build cgo && linux && (amd64 || arm64)

package gopeer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
)

// floorLock returns the lock and unlock of the smallest Go program that
// keeps QSharedMemory's lock on the segment with key k: the system calls a
// C peer makes on the lock's semaphore (glibc's sem_wait/sem_post
// protocol, or semop with SEM_UNDO) through the runtime's system-call
// path, and nothing of the library's state word, wakers or spin. The
// POSIX sleep is glibcsem's, the library's own: one futex_waitv on the
// count and a private stop futex where the kernel has it (Linux 5.16),
// one system call as glibc's FUTEX_WAIT is, each access under a fault
// guard. The benchmark's "Go floor" column: what any Go process pays for
// a contended hand-off, against which the library's own figures are read
// (docs/performance.md).
func floorLock(k qipc.Key) (lock, unlock func() error, done func(), err error) {
	if !HasFloor(k.Type) {
		return nil, nil, nil, errors.New("no floor for this key type here")
	}
	lk := k.LockKey()
	switch {
	case lk.IsEmpty():
		return nil, nil, nil, errors.New("the key has no lock")
	case lk.Type == qipc.PosixRealtime:
		return floorPosix(lk.Native)
	case lk.Type.IsSystemV():
		return floorSysV(lk.Native, int(lk.Type))
	}
	return nil, nil, nil, fmt.Errorf("no floor for %v keys", lk.Type)
}

// HasFloor reports whether the floor runs here for keys of type t: POSIX
// needs glibc's sem_t.
func HasFloor(t qipc.KeyType) bool { return t.IsSystemV() || t == qipc.PosixRealtime && glibcsem.OK }

func floorPosix(name string) (lock, unlock func() error, done func(), err error) {
	f, err := os.OpenFile(glibcsem.SemFile(name), os.O_RDWR, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 32, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, err
	}
	s := unsafe.Pointer(&m[0])
	var w glibcsem.Waiter
	lock = func() error {
		if ok, err := glibcsem.Take(s); ok || err != nil {
			return err
		}
		_, err := glibcsem.Wait(s, &w)
		return err
	}
	unlock = func() error { return glibcsem.Post(s) }
	return lock, unlock, func() { _ = syscall.Munmap(m) }, nil
}

func floorSysV(path string, project int) (lock, unlock func() error, done func(), err error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil, nil, nil, err
	}
	// glibc's ftok.
	key := uintptr(st.Ino&0xffff | (uint64(st.Dev)&0xff)<<16 | uint64(project&0xff)<<24)
	id, _, e := syscall.Syscall(syscall.SYS_SEMGET, key, 0, 0)
	if e != 0 {
		return nil, nil, nil, e
	}
	op := func(delta int16) error {
		b := struct{ num, op, flg int16 }{0, delta, 0x1000} // SEM_UNDO
		for {
			_, _, e := syscall.Syscall(syscall.SYS_SEMOP, id, uintptr(unsafe.Pointer(&b)), 1)
			if e != syscall.EINTR {
				if e != 0 {
					return e
				}
				return nil
			}
		}
	}
	return func() error { return op(-1) }, func() error { return op(1) }, func() {}, nil
}
