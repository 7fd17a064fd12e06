//go:build cgo && (darwin || freebsd || netbsd || openbsd || (linux && !(amd64 || arm64)))

package qipc

import "syscall"

// No raw semop outside linux/amd64 and arm64 (see sysv_fast.go): every
// System V operation goes through C.

func sysvRawOn() bool { return false }

func sysvSemopNow(int32, int16, int16) syscall.Errno { return syscall.ENOSYS }

func sysvSleepersNow(int32) bool { return false }
