//go:build cgo && linux && (amd64 || arm64)

package qipc

import (
	"github.com/qipc-go/qipc/internal/knobs"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The System V semaphore operations that cannot sleep, a take with
// IPC_NOWAIT and any post, are made from Go as the very system call
// glibc's semop makes, semtimedop(id, &sop, 1, NULL), with the same flags.
// Through cgo each one paid a crossing (about 115 ns on the VM where
// make bench ran) that made an uncontended Lock+Unlock 1.4x the C peer's
// semop pair. A raw system call needs no scheduler hand-off because it
// cannot block, and EINTR cannot happen without a sleep. Waits that may
// block stay in C (cgo_sysv.c), which retries EINTR.

// sysvRawOK: the raw path exists on this platform.
const sysvRawOK = true

// sysvRawOn reports whether semops that cannot sleep are made from Go.
func sysvRawOn() bool { return sysvRawOK && !knobs.SysvRawOff.Load() }

// sembuf is struct sembuf: sem_num, sem_op, sem_flg.
type sembuf struct {
	num uint16
	op  int16
	flg int16
}

// sysvSemopNow makes one semop that must not sleep (flg has IPC_NOWAIT or
// op > 0) and returns its errno.
func sysvSemopNow(semid int32, op, flg int16) syscall.Errno {
	sop := sembuf{op: op, flg: flg}
	_, _, e := unix.RawSyscall6(unix.SYS_SEMTIMEDOP, uintptr(semid), uintptr(unsafe.Pointer(&sop)), 1, 0, 0, 0)
	return e
}

// sysvSleepersNow reports whether processes sleep in the set's queue for
// a count (semctl GETNCNT, one system call that cannot block); false when
// it cannot tell.
func sysvSleepersNow(semid int32) bool {
	const getncnt = 14 // GETNCNT, linux/sem.h
	n, _, e := unix.RawSyscall6(unix.SYS_SEMCTL, uintptr(semid), 0, getncnt, 0, 0, 0)
	return e == 0 && n > 0
}
