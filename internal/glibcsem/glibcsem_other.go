//go:build !(cgo && linux && (amd64 || arm64))

package glibcsem

import (
	"errors"
	"unsafe"
)

// No lock-free path outside 64-bit glibc targets: musl, macOS, the BSDs and
// 32-bit glibc use other sem_t layouts, so every operation goes through the
// C library.

// OK is false: there is no glibc sem_t to read here.
const OK = false

// ErrFault is not returned here; OK is false.
var ErrFault = errors.New("memory fault on the semaphore (its file was truncated)")

// Take never takes: the caller uses the C library.
func Take(unsafe.Pointer) (bool, error) { return false, nil }

// Give never gives: the caller uses the C library.
func Give(unsafe.Pointer) (bool, error) { return false, nil }

// Post is not defined here; OK is false.
func Post(unsafe.Pointer) error { return errors.ErrUnsupported }

// Word is not defined here; OK is false.
func Word(unsafe.Pointer) (uint64, error) { return 0, errors.ErrUnsupported }

// Value is not defined here; OK is false.
func Value(uint64) (count, waiters int) { return 0, 0 }

// A Waiter is not used here; OK is false.
type Waiter struct{}

// Wait is not defined here; OK is false.
func Wait(unsafe.Pointer, *Waiter) (bool, error) { return false, errors.ErrUnsupported }

// Stop is not defined here; OK is false.
func (*Waiter) Stop(unsafe.Pointer) bool { return false }

// WakesTruncated: nothing sleeps on a sem_t from Go here.
func WakesTruncated() bool { return false }
