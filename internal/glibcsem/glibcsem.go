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
	"math"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// glibc's own sem_trywait/sem_post fast paths (nptl/sem_waitcommon.c,
// nptl/sem_post.c, 64-bit "new_sem" layout), done with Go atomics on the
// mapped sem_t. Only the CASes that glibc itself does without a system
// call are done here:
//
//   - take: count > 0 → CAS data to data-1 (the waiter count in the high
//     word is left as it is, as glibc's __new_sem_wait_fast does);
//   - give: no waiters and count < SEM_VALUE_MAX → CAS data to data+1. glibc
//     wakes a waiter only when the word it replaced had waiters, and the
//     word we replace has none, so there is nothing to wake.
//
// Everything else (count zero and a wait that may block, waiters to wake,
// overflow) is left to glibc, unchanged. Processes that use glibc's calls
// (C, Qt, PySide) and ours see one protocol on one word.

// OK reports that the probe (probe.h) found glibc's layout and protocol in
// the running C library.
var OK = C.qipc_posix_sem_fast_probe() != 0

const valueMax = uint32(C.QIPC_SEM_VALUE_MAX)

// Take takes one count of the sem_t at s if the count is not zero, and
// reports whether it did. false means the caller must use sem_trywait or
// sem_wait.
func Take(s unsafe.Pointer) bool {
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if uint32(d) == 0 {
			return false
		}
		if w.CompareAndSwap(d, d-1) {
			return true
		}
	}
}

// Give adds one to the count of the sem_t at s when no process waits and
// the count is below SEM_VALUE_MAX, and reports whether it did. false
// means the caller must use sem_post.
func Give(s unsafe.Pointer) bool {
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if d>>32 != 0 || uint32(d) >= valueMax {
			return false
		}
		if w.CompareAndSwap(d, d+1) {
			return true
		}
	}
}

// Value returns the count and the number of blocked waiters a sem_t's
// first word holds, as a reader of its /dev/shm/sem.* file sees them.
func Value(word uint64) (count, waiters int) { return int(uint32(word)), int(word >> 32) }

// A Waiter lets another goroutine end a Wait: Stop.
type Waiter struct {
	stop, waiting atomic.Bool
}

// Wait takes one count of the sem_t at s, sleeping as long as it takes,
// as glibc's sem_wait does (nptl/sem_waitcommon.c): it counts itself
// among the waiters in the high word, sleeps on the count's futex while
// the count is zero, and takes a count and its place among the waiters
// away in one CAS. The kernel queues futex sleepers in order, and one
// sleep keeps a waiter's place, which a wait in slices gives up at every
// slice. Wait returns false, without a count, once Stop was called.
func Wait(s unsafe.Pointer, w *Waiter) (bool, error) {
	word := (*atomic.Uint64)(s)
	w.waiting.Store(true)
	defer w.waiting.Store(false)
	d := word.Add(1 << 32)
	for {
		if uint32(d) != 0 {
			if word.CompareAndSwap(d, d-1-1<<32) {
				return true, nil
			}
			d = word.Load()
			continue
		}
		if w.stop.Load() {
			word.Add(^uint64(1<<32 - 1)) // no longer a waiter
			return false, nil
		}
		// The count's futex is the low half of the word (little-endian);
		// a named semaphore's futex is shared between processes.
		if _, _, e := syscall.Syscall6(syscall.SYS_FUTEX, uintptr(s), futexWait, 0, 0, 0, 0); e != 0 && e != syscall.EAGAIN && e != syscall.EINTR {
			word.Add(^uint64(1<<32 - 1))
			return false, e
		}
		d = word.Load()
	}
}

// Stop ends the Wait of w on the sem_t at s and reports whether it may
// still run: a Stop that comes between its look at the flag and its sleep
// does not wake it, so the caller repeats Stop until it reports false. It
// wakes every sleeper on the futex; glibc's look at the count and sleep
// again.
func (w *Waiter) Stop(s unsafe.Pointer) bool {
	w.stop.Store(true)
	if !w.waiting.Load() {
		return false
	}
	_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(s), futexWake, math.MaxInt32, 0, 0, 0)
	return true
}

// The futex operations on a shared (not FUTEX_PRIVATE_FLAG) futex, as
// glibc uses for a sem_t of sem_open.
const (
	futexWait = 0
	futexWake = 1
)
