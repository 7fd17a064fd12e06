//go:build !(cgo && linux && (amd64 || arm64))

package qipc

import (
	"sync/atomic"
	"syscall"
)

// No raw semop outside linux/amd64 and arm64 (see sysv_fast.go): every
// System V operation goes through C.

const sysvRawOK = false

var sysvRaw atomic.Bool

func sysvSemopNow(int32, int16, int16) syscall.Errno { return syscall.ENOSYS }
