//go:build cgo && linux && (386 || arm)

package glibcsem

/*
#include <semaphore.h>
#include <stdint.h>
#include <string.h>

// glibc on 32-bit targets (no 64-bit atomics: i386, armhf) keeps a sem_t as
// { unsigned value; int private; int pad; unsigned nwaiters; }: the count
// shifted left by one, its low bit set while waiters may sleep, and their
// number in the fourth word. Nothing here takes or gives through that
// layout (every call goes to glibc); ReadFile only reads it, for Inspect
// and qipc ls, once this probe has seen glibc's calls write and read it so.
static int qipc_sem32_probe(void) {
#if defined(__GLIBC__)
	if (sizeof(sem_t) != 16)
		return 0;
	union {
		sem_t s;
		volatile uint32_t w[4];
	} u;
	memset(&u, 0xa5, sizeof u);
	if (sem_init(&u.s, 1, 5) != 0)
		return 0;
	int ok = 0, val;
	if (u.w[0] != 5u << 1 || u.w[3] != 0)
		goto out;
	if (sem_post(&u.s) != 0 || u.w[0] != 6u << 1)
		goto out;
	if (sem_trywait(&u.s) != 0 || u.w[0] != 5u << 1)
		goto out;
	// The waiters bit is not part of the count glibc reports.
	u.w[0] = 3u << 1 | 1;
	if (sem_getvalue(&u.s, &val) != 0 || val != 3)
		goto out;
	ok = 1;
out:
	sem_destroy(&u.s);
	return ok;
#else
	return 0;
#endif
}
*/
import "C"

import "encoding/binary"

// layout32 reports that the probe found glibc's 32-bit sem_t.
var layout32 = C.qipc_sem32_probe() != 0

// ReadFile reads the count and the waiters of the semaphore whose file is
// path (/dev/shm/sem.NAME), without opening the semaphore: for Inspect and
// `qipc ls`. ok is false when the file cannot be read, is not of this
// process's sem_t size (cut short, or made by a 64-bit process), or this
// C library's sem_t is not the one the probe knows.
func ReadFile(path string) (count, waiters int, ok bool) {
	var b [16]byte
	if !layout32 || !readHead(path, b[:], C.sizeof_sem_t) {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint32(b[0:]) >> 1), int(binary.LittleEndian.Uint32(b[12:])), true
}
