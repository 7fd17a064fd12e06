//go:build !(cgo && linux && (amd64 || arm64))

package qipc

import (
	"sync/atomic"
	"syscall"
)

// No raw semop outside linux/amd64 and arm64 (see sysv_fast.go): every
// System V operation goes through C.

const sysvRawOK = false

// sysvRawOff is set by tests that measure or check the C path.
var sysvRawOff atomic.Bool

func sysvRawOn() bool { return false }

func sysvSemopNow(int32, int16, int16) syscall.Errno { return syscall.ENOSYS }
