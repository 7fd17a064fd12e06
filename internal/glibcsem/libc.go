//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

package glibcsem

/*
#include <stdlib.h> // any libc header: glibc's define __GLIBC__

// The C library the POSIX calls go to, by what its headers define.
static const char *qipc_libc(void) {
#if defined(__GLIBC__)
	return "glibc";
#elif defined(__APPLE__)
	return "apple";
#elif defined(__linux__)
	return "musl";
#else
	return "bsd";
#endif
}
*/
import "C"

import "strings"

// Libc names the C library of this build: "glibc", "musl", "apple" or
// "bsd". POSIX semaphores are that library's own: a sem_t of one is not a
// sem_t of another, and musl keeps a semaphore in /dev/shm under the name
// shm_open gives a segment, where glibc prefixes "sem.".
var Libc = C.GoString(C.qipc_libc())

// SemFile is the file in which the C library keeps the POSIX semaphore
// named name ("/x"): glibc's /dev/shm/sem.x, musl's /dev/shm/x (Linux).
func SemFile(name string) string {
	name = strings.TrimLeft(name, "/")
	if Libc == "glibc" {
		return "/dev/shm/sem." + name
	}
	return "/dev/shm/" + name
}
