//go:build !linux || !cgo

package systest

import (
	"github.com/qipc-go/qipc"
	"testing"
)

// testLibc: the POSIX libc rules of the tests concern Linux only.
func testLibc() string { return "" }

// lockWaiters cannot count the waiters of a lock here (Windows has no such
// call); waitForWaiter then gives the waiter a grace period instead.
func lockWaiters(testing.TB, qipc.Key) (int, bool) { return 0, false }

// lockCount cannot read a lock's count without opening it here.
func lockCount(testing.TB, qipc.Key) (int, bool) { return 0, false }
