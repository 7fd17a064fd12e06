// Package knobs holds the switches that the tests, the benchmarks and the Go
// peer (peers/go) flip to measure the library against itself: the same call
// with and without a fast path. Being internal, nothing outside this module
// can reach them; every switch is off unless a test turns it on.
package knobs

import "sync/atomic"

var (
	// SlicedWaits makes waits on a wakeable semaphore use time slices too,
	// as the waits that nothing else can end do; the fairness test
	// compares the two.
	SlicedWaits atomic.Bool
	// SemFastOff turns glibc's lock-free sem_t path off, so that every
	// POSIX semaphore call goes through the C library.
	SemFastOff atomic.Bool
	// SysvRawOff turns the raw System V semop path off, so that every
	// call goes through the cgo shim.
	SysvRawOff atomic.Bool
)

// LockValue reads the count of the very semaphore an attached SharedMemory
// (m, which this package cannot name) locks with, not of whatever its name
// gives now: the squat test's victim tells an attacker's semaphore from its
// own by it. The library sets it.
var LockValue func(m any) (int, error)
