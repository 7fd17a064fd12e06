//go:build linux

package systest

import (
	"syscall"
	"testing"

	"github.com/qipc-go/qipc"
)

// sysvLockKey is the ftok key that the lock of segment k has now, as the
// kernel's tables name it.
func sysvLockKey(t *testing.T, k qipc.Key) int32 {
	t.Helper()
	lk := k.LockKey()
	var st syscall.Stat_t
	if err := syscall.Stat(lk.Native, &st); err != nil {
		t.Fatalf("the lock's key file: %v", err)
	}
	return int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(int(lk.Type))<<24)
}
