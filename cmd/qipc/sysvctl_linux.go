//go:build linux && cgo

package main

/*
#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

static int qipc_shm_rmid(int id) { return shmctl(id, IPC_RMID, 0) == 0 ? 0 : errno; }
static int qipc_sem_rmid(int id) { return semctl(id, 0, IPC_RMID) == 0 ? 0 : errno; }
static int qipc_sem_get(int id, int cmd, int *out) {
	int r = semctl(id, 0, cmd);
	if (r < 0) return errno;
	*out = r;
	return 0;
}
static int qipc_getval(void) { return GETVAL; }
static int qipc_getpid(void) { return GETPID; }
*/
import "C"

import "syscall"

// shmRemoveID removes System V segment id (IPC_RMID); gone already is fine.
func shmRemoveID(id int) error {
	if rc := syscall.Errno(C.qipc_shm_rmid(C.int(id))); rc != 0 && rc != syscall.EINVAL && rc != syscall.EIDRM {
		return rc
	}
	return nil
}

// semRemoveID removes System V semaphore set id (IPC_RMID).
func semRemoveID(id int) error {
	if rc := syscall.Errno(C.qipc_sem_rmid(C.int(id))); rc != 0 && rc != syscall.EINVAL && rc != syscall.EIDRM {
		return rc
	}
	return nil
}

func semGet(id int, cmd C.int) (int, error) {
	var v C.int
	if rc := syscall.Errno(C.qipc_sem_get(C.int(id), cmd, &v)); rc != 0 {
		return 0, rc
	}
	return int(v), nil
}

// semValue is semctl(id, 0, GETVAL).
func semValue(id int) (int, error) { return semGet(id, C.qipc_getval()) }

// semLastPid is semctl(id, 0, GETPID): the last process to operate on it.
func semLastPid(id int) (int, error) { return semGet(id, C.qipc_getpid()) }
