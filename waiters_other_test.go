//go:build !linux || !cgo

package qipc

import "testing"

// testLibc: the POSIX libc rules of the tests concern Linux only.
func testLibc() string { return "" }

// lockWaiters cannot count the waiters of a lock here (Windows has no such
// call); waitForWaiter then gives the waiter a grace period instead.
func lockWaiters(testing.TB, Key) (int, bool) { return 0, false }

// lockCount cannot read a lock's count without opening it here.
func lockCount(testing.TB, Key) (int, bool) { return 0, false }
