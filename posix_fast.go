//go:build cgo && linux && (amd64 || arm64)

package qipc

/*
#cgo CFLAGS: -Wall -Wextra -Werror
#include "posix_fast.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// The uncontended POSIX semaphore path without a cgo call: glibc's own
// sem_trywait/sem_post fast paths (nptl/sem_waitcommon.c, nptl/sem_post.c,
// 64-bit "new_sem" layout), done with Go atomics on the mapped sem_t. Only
// the CASes that glibc itself does without a system call are done here:
//
//   - take: count > 0 → CAS data to data-1 (the waiter count in the high
//     word is left as it is, as glibc's __new_sem_wait_fast does);
//   - give: no waiters and count < SEM_VALUE_MAX → CAS data to data+1. glibc
//     wakes a waiter only when the word it replaced had waiters, and the
//     word we replace has none, so there is nothing to wake.
//
// Everything else (count zero and a wait that may block, waiters to wake,
// overflow) goes to glibc in C, unchanged. Processes that use glibc's
// calls (C, Qt, PySide) and ours see one protocol on one word.
//
// semFast is decided once by a probe that checks the running glibc's
// version and its behaviour on a private sem_t (posix_fast.h); it is
// off on other C libraries and architectures (posix_fast_other.go).

var semFastOK = C.qipc_posix_sem_fast_probe() != 0

// semFast is semFastOK unless a test turned it off to measure or check the
// C path.
var semFast atomic.Bool

func init() { semFast.Store(semFastOK) }

const semValueMax = uint32(C.QIPC_SEM_VALUE_MAX)

// semFastTake takes one count if the count is not zero, and reports
// whether it did. false means the caller must use sem_trywait/sem_wait.
func semFastTake(s unsafe.Pointer) bool {
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

// semFastGive adds one to the count when no process waits and the count
// is below SEM_VALUE_MAX, and reports whether it did. false means the
// caller must use sem_post.
func semFastGive(s unsafe.Pointer) bool {
	w := (*atomic.Uint64)(s)
	for {
		d := w.Load()
		if d>>32 != 0 || uint32(d) >= semValueMax {
			return false
		}
		if w.CompareAndSwap(d, d+1) {
			return true
		}
	}
}
