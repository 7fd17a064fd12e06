package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The semctl commands of <sys/sem.h> that x/sys does not name.
const (
	semGETPID  = 11 // the last process to operate on the set
	semGETVAL  = 12 // the count
	semGETNCNT = 14 // the processes waiting for a count
)

// shmRemoveID removes System V segment id (IPC_RMID); gone already is fine.
func shmRemoveID(id int) error {
	_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	return goneIsFine(err)
}

// semRemoveID removes System V semaphore set id (IPC_RMID).
func semRemoveID(id int) error {
	_, err := semctl(id, unix.IPC_RMID)
	return goneIsFine(err)
}

func goneIsFine(err error) error {
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIDRM) {
		return nil
	}
	return err
}

// semctl is semctl(id, 0, cmd) for the commands that take no argument.
func semctl(id, cmd int) (int, error) {
	r, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, uintptr(cmd), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// semValue is semctl(id, 0, GETVAL).
func semValue(id int) (int, error) { return semctl(id, semGETVAL) }

// semWaiters is semctl(id, 0, GETNCNT): the processes waiting for a count.
func semWaiters(id int) (int, error) { return semctl(id, semGETNCNT) }

// semLastPid is semctl(id, 0, GETPID): the last process to operate on it.
func semLastPid(id int) (int, error) { return semctl(id, semGETPID) }

// semGet is semget(key, 0, 0): the id of the set with this key.
func semGet(key uint32) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
