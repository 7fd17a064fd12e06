//go:build cgo && linux

package qipc

import (
	"testing"

	"github.com/qipc-go/qipc/internal/harness"
)

// lockCount is the count of the lock of segment k, read where the C
// library or the kernel keeps it, not through the library: it must see a
// lock that the library left behind with its segment gone.
func lockCount(t testing.TB, k Key) (int, bool) {
	t.Helper()
	switch lk := lockKeyFor(k); {
	case lk.Type == PosixRealtime:
		return harness.SemCount(lk.Native, "", 0, false)
	case lk.Type.IsSystemV():
		return harness.SemCount("", lk.Native, int(lk.Type), false)
	}
	return 0, false
}

// testSemKey is testShmKey for a bare semaphore.
func testSemKey(t testing.TB, typ KeyType, legacy bool) Key {
	t.Helper()
	name := harness.Name(t)
	k := SemaphoreKey(name, typ)
	if legacy {
		k = LegacySemaphoreKey(name, typ)
	}
	requireKey(t, k)
	t.Cleanup(func() { removeForTest(t, k, false) })
	return k
}
