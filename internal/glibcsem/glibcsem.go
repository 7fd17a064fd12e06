//go:build cgo && linux && (amd64 || arm64)

// Package glibcsem reads and changes a glibc POSIX semaphore (sem_t) the
// way glibc itself does when no system call is needed, for the qipc
// library's lock-free path and for the qipc command's listing. It holds
// the one probe that decides whether the running C library really is
// glibc's 64-bit "new_sem": nothing here touches a sem_t unless OK is
// true.
package glibcsem

/*
#cgo CFLAGS: -Wall -Wextra -Werror
#include "probe.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"math"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/qipc-go/qipc/internal/fault"
)

// glibc's own sem_trywait/sem_post fast paths (nptl/sem_waitcommon.c,
// nptl/sem_post.c, 64-bit "new_sem" layout), done with Go atomics on the
// mapped sem_t, each access guarded so that a truncated file is ErrFault
// instead of a crash. The take and give of the lock-free path are the
// CASes that glibc itself does without a system call:
//
//   - take: count > 0 → CAS data to data-1 (the waiter count in the high
//     word is left as it is, as glibc's __new_sem_wait_fast does);
//   - give: no waiters and count < SEM_VALUE_MAX → CAS data to data+1. glibc
//     wakes a waiter only when the word it replaced had waiters, and the
//     word we replace has none, so there is nothing to wake.
//
// Post and Wait are glibc's sem_post and sem_wait, done here for the same
// reason: no access to the sem_t is left to C, where a fault cannot be
// caught. Processes that use glibc's calls (C, Qt, PySide) and ours see
// one protocol on one word.

// OK reports that the probe (probe.h) found glibc's layout and protocol in
// the running C library.
var OK = C.qipc_posix_sem_fast_probe() != 0

const valueMax = uint32(C.QIPC_SEM_VALUE_MAX)

// ErrFault is what the functions that touch a sem_t return when the
// access faulted: a peer truncated the semaphore's file, and the mapped
// page is gone. The process goes on; the semaphore is unusable until the
// file has its size again.
var ErrFault = errors.New("memory fault on the semaphore (its file was truncated)")

// guard turns the sem_t's faults into ErrFault: every function that
// touches one defers it, as `defer guard(debug.SetPanicOnFault(true),
// &err)`, which costs no closure on the lock-free path. A truncated file
// makes an access a SIGBUS, which would otherwise end the process as
// "unexpected fault address". Other panics go on.
func guard(wasPanicOnFault bool, err *error) {
	debug.SetPanicOnFault(wasPanicOnFault)
	if r := recover(); r != nil {
		if !fault.Is(r, true) {
			panic(r)
		}
		*err = ErrFault
	}
}

// Take takes one count of the sem_t at s if the count is not zero, and
// reports whether it did. false means the caller must use sem_trywait or
// sem_wait, or, with err (ErrFault), that the sem_t cannot be read.
func Take(s unsafe.Pointer) (taken bool, err error) {
	defer guard(debug.SetPanicOnFault(true), &err)
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if uint32(d) == 0 {
			return false, nil
		}
		if w.CompareAndSwap(d, d-1) {
			return true, nil
		}
	}
}

// Give adds one to the count of the sem_t at s when no process waits and
// the count is below SEM_VALUE_MAX, and reports whether it did. false
// means the caller must use Post, or, with err (ErrFault), that the sem_t
// cannot be read.
func Give(s unsafe.Pointer) (given bool, err error) {
	defer guard(debug.SetPanicOnFault(true), &err)
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if d>>32 != 0 || uint32(d) >= valueMax {
			return false, nil
		}
		if w.CompareAndSwap(d, d+1) {
			return true, nil
		}
	}
}

// Post is glibc's sem_post (nptl/sem_post.c, new_sem): it adds one to the
// count, EOVERFLOW at SEM_VALUE_MAX, and wakes one sleeper on the count's
// futex if the word it replaced counted waiters. Done here rather than in
// C so that a truncated file is an error (ErrFault), not a SIGBUS in C,
// which no Go code can recover from.
func Post(s unsafe.Pointer) error {
	wake, err := add(s)
	if wake {
		_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(s), futexWake, 1, 0, 0, 0)
	}
	return err
}

// add is Post's increment: whether the word it replaced counted waiters.
func add(s unsafe.Pointer) (wake bool, err error) {
	defer guard(debug.SetPanicOnFault(true), &err)
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if uint32(d) >= valueMax {
			return false, syscall.EOVERFLOW
		}
		if w.CompareAndSwap(d, d+1) {
			return d>>32 != 0, nil
		}
	}
}

// Word returns the first word of the sem_t at s (see Value), or ErrFault.
func Word(s unsafe.Pointer) (word uint64, err error) {
	defer guard(debug.SetPanicOnFault(true), &err)
	return (*atomic.Uint64)(s).Load(), nil
}

// Value returns the count and the number of blocked waiters a sem_t's
// first word holds, as a reader of its /dev/shm/sem.* file sees them.
func Value(word uint64) (count, waiters int) { return int(uint32(word)), int(word >> 32) }

// ReadFile reads the count and the waiters of the semaphore whose file is
// path (/dev/shm/sem.NAME), without opening the semaphore: for Inspect and
// `qipc ls`. ok is false when the file cannot be read, or is not of this
// process's sem_t size (cut short, or made by a 32-bit process).
func ReadFile(path string) (count, waiters int, ok bool) {
	var b [8]byte
	if !OK || !readHead(path, b[:], C.sizeof_sem_t) {
		return 0, 0, false
	}
	count, waiters = Value(binary.LittleEndian.Uint64(b[:]))
	return count, waiters, true
}

// A Waiter lets another goroutine end a Wait: Stop. stop is also a
// private futex that the waiter sleeps on together with the sem_t's
// (futex_waitv), so that Stop wakes this waiter alone, and also when the
// sem_t's page is gone: a wake on a truncated file's futex fails with
// EFAULT and would leave the waiter asleep for good.
type Waiter struct {
	stop    atomic.Uint32
	waiting atomic.Bool
}

// Wait takes one count of the sem_t at s, sleeping as long as it takes,
// as glibc's sem_wait does (nptl/sem_waitcommon.c): it counts itself
// among the waiters in the high word, sleeps on the count's futex while
// the count is zero, and takes a count and its place among the waiters
// away in one CAS. The kernel queues futex sleepers in order, and one
// sleep keeps a waiter's place, which a wait in slices gives up at every
// slice. Wait returns false, without a count, once Stop was called, and
// ErrFault when the sem_t's file was truncated under it.
func Wait(s unsafe.Pointer, w *Waiter) (taken bool, err error) {
	w.waiting.Store(true)
	defer w.waiting.Store(false)
	defer guard(debug.SetPanicOnFault(true), &err)
	return wait(s, w)
}

func wait(s unsafe.Pointer, w *Waiter) (bool, error) {
	word := (*atomic.Uint64)(s)
	d := word.Add(1 << 32)
	for {
		if uint32(d) != 0 {
			if word.CompareAndSwap(d, d-1-1<<32) {
				return true, nil
			}
			d = word.Load()
			continue
		}
		if w.stop.Load() != 0 {
			word.Add(^uint64(1<<32 - 1)) // no longer a waiter
			return false, nil
		}
		switch e := sleep(s, w); e {
		case 0, syscall.EAGAIN, syscall.EINTR, syscall.ETIMEDOUT:
		case syscall.EFAULT:
			return false, ErrFault // the page went between the load and the sleep
		default:
			word.Add(^uint64(1<<32 - 1))
			return false, e
		}
		d = word.Load()
	}
}

// sleep sleeps while the count at s is zero and w is not stopped: on both
// futexes where the kernel has futex_waitv (Linux 5.16), else on the
// count's alone, which Stop then wakes.
func sleep(s unsafe.Pointer, w *Waiter) syscall.Errno {
	if waitvOK {
		v := [2]futexWaitv{
			{uaddr: uint64(uintptr(s)), flags: futex2SizeU32},
			{uaddr: uint64(uintptr(unsafe.Pointer(&w.stop))), flags: futex2SizeU32 | futex2Private},
		}
		_, _, e := syscall.Syscall6(sysFutexWaitv, uintptr(unsafe.Pointer(&v[0])), 2, 0, 0, 0, 0)
		return e
	}
	// The count's futex is the low half of the word (little-endian);
	// a named semaphore's futex is shared between processes.
	_, _, e := syscall.Syscall6(syscall.SYS_FUTEX, uintptr(s), futexWait, 0, 0, 0, 0)
	return e
}

// Stop ends the Wait of w on the sem_t at s and reports whether it may
// still run: a Stop that comes between its look at the flag and its sleep
// does not wake it (without futex_waitv), so the caller repeats Stop until
// it reports false. Without futex_waitv it wakes every sleeper on the
// sem_t's futex, and glibc's look at the count and sleep again.
func (w *Waiter) Stop(s unsafe.Pointer) bool {
	w.stop.Store(1)
	if !w.waiting.Load() {
		return false
	}
	if waitvOK {
		_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(&w.stop)), futexWake|futexPrivate, math.MaxInt32, 0, 0, 0)
	} else {
		_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(s), futexWake, math.MaxInt32, 0, 0, 0)
	}
	return true
}

// futexWaitv is the kernel's struct futex_waitv.
type futexWaitv struct {
	val      uint64
	uaddr    uint64
	flags    uint32
	reserved uint32
}

// futex_waitv's number (the same in the generic table and on x86-64) and
// flags.
const (
	sysFutexWaitv = 449
	futex2SizeU32 = 0x02
	futex2Private = 128
)

// waitvOK: the kernel has futex_waitv, which rejects zero futexes with
// EINVAL and is ENOSYS where missing (before 5.16, and under emulators
// that lack it).
// WakesTruncated reports whether a Wait asleep when its sem_t's file is
// truncated can still be ended (futex_waitv): without it, it sleeps until
// the file is restored and posted.
func WakesTruncated() bool { return waitvOK }

var waitvOK = func() bool {
	_, _, e := syscall.Syscall6(sysFutexWaitv, 0, 0, 0, 0, 0, 0)
	return e == syscall.EINVAL
}()

// The futex operations on a shared (not FUTEX_PRIVATE_FLAG) futex, as
// glibc uses for a sem_t of sem_open.
const (
	futexWait    = 0
	futexWake    = 1
	futexPrivate = 128
)
