//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

// Thin shims over the POSIX realtime calls Qt makes for QSharedMemory and
// QSystemSemaphore (Qt 6.6+ qsharedmemory_posix.cpp / qsystemsemaphore_posix.cpp):
// one function per system-call sequence, returning 0 or an errno, with the
// same flags and modes. Policy (ownership, Create/Open rules, key names)
// lives in Go. Called from cgo_posix.go.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE // sem_clockwait
#endif
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgo_posix.h"

static int posix_shm_open(const char *name, int oflag, mode_t mode) {
	int fd;
	do {
		fd = shm_open(name, oflag, mode);
	} while (fd < 0 && errno == EINTR);
	return fd;
}

int qipc_posix_shm_create(const char *name, int64_t size, unsigned perm, int set_mode, int *step) {
	*step = QIPC_STEP_OPEN;
	int fd = posix_shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)perm);
	if (fd < 0)
		return errno;
	int rc;
	if (set_mode && fchmod(fd, (mode_t)perm) != 0) {
		*step = QIPC_STEP_CHMOD;
		goto fail;
	}
	*step = QIPC_STEP_TRUNCATE;
	do {
		rc = ftruncate(fd, (off_t)size);
	} while (rc != 0 && errno == EINTR);
	if (rc != 0)
		goto fail;
	close(fd);
	return 0;
fail:
	rc = errno;
	close(fd);
	return rc;
}

int qipc_posix_shm_attach(const char *name, int readonly, int *fd_out, void **addr_out, int64_t *size_out, unsigned *uid_out, uint64_t *dev_out, uint64_t *ino_out, int *step) {
	*step = QIPC_STEP_OPEN;
	int fd = posix_shm_open(name, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, readonly ? 0400 : 0600);
	if (fd < 0)
		return errno;
	struct stat st;
	*step = QIPC_STEP_STAT;
	if (fstat(fd, &st) != 0)
		goto fail;
	*step = QIPC_STEP_MAP;
	// A size this process cannot address (32-bit: 2 GiB and more, which a
	// 64-bit peer can make) is refused as mmap refuses a mapping that does
	// not fit, before size_t would cut it short.
	if ((uint64_t)st.st_size > (uint64_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		goto fail;
	}
	void *addr = mmap(NULL, (size_t)st.st_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		goto fail;
	*fd_out = fd;
	*addr_out = addr;
	*size_out = (int64_t)st.st_size;
	*uid_out = (unsigned)st.st_uid;
	*dev_out = (uint64_t)st.st_dev;
	*ino_out = (uint64_t)st.st_ino;
	return 0;
fail:;
	int rc = errno;
	close(fd);
	return rc;
}

int qipc_posix_shm_detach(void *addr, int64_t size, int fd) {
	int rc = munmap(addr, (size_t)size) == 0 ? 0 : errno;
	close(fd);
	return rc;
}

int qipc_posix_shm_unlink(const char *name) { return shm_unlink(name) == 0 ? 0 : errno; }

// shm_open(name, O_RDONLY) and close: whether a segment exists, without
// making or mapping anything. 0, or shm_open's errno.
int qipc_posix_shm_probe(const char *name) {
	int fd = posix_shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

// shm_unlink(name) only while name is the segment (dev, ino): one made
// since under the same name belongs to whoever made it. ESTALE when the
// name is another segment's.
int qipc_posix_shm_unlink_if(const char *name, uint64_t dev, uint64_t ino) {
	int fd = posix_shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : errno;
	close(fd);
	if (rc != 0)
		return rc;
	if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
		return ESTALE;
	return shm_unlink(name) == 0 ? 0 : errno;
}

// sem_open(name, O_CREAT | O_EXCL, perm, value) when excl, else
// sem_open(name, 0) for the existing semaphore.
int qipc_posix_sem_open(const char *name, int excl, unsigned perm, unsigned value, sem_t **out) {
	sem_t *s;
	do {
		s = excl ? sem_open(name, O_CREAT | O_EXCL, (mode_t)perm, value) : sem_open(name, 0);
	} while (s == SEM_FAILED && errno == EINTR);
	if (s == SEM_FAILED)
		return errno;
	*out = s;
	return 0;
}

// timeout_ns < 0 waits without limit, 0 only tries, > 0 waits at most that
// long on CLOCK_MONOTONIC so that wall-clock changes do not stretch it.
// Returns 0 when a count was taken, EAGAIN or ETIMEDOUT when not.
int qipc_posix_sem_wait(sem_t *s, int64_t timeout_ns) {
	int rc;
	if (timeout_ns == 0) {
		do {
			rc = sem_trywait(s);
		} while (rc != 0 && errno == EINTR);
		return rc == 0 ? 0 : errno;
	}
	if (timeout_ns < 0) {
		do {
			rc = sem_wait(s);
		} while (rc != 0 && errno == EINTR);
		return rc == 0 ? 0 : errno;
	}
#if defined(__APPLE__)
	// Apple has no sem_timedwait (and Qt no timed wait there): poll with
	// sem_trywait, sleeping at most 1 ms between tries.
	struct timespec now, deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ns / 1000000000;
	deadline.tv_nsec += timeout_ns % 1000000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		if (sem_trywait(s) == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t left = (int64_t)(deadline.tv_sec - now.tv_sec) * 1000000000 + (deadline.tv_nsec - now.tv_nsec);
		if (left <= 0)
			return ETIMEDOUT;
		struct timespec nap = {0, left < 1000000 ? (long)left : 1000000};
		nanosleep(&nap, NULL);
	}
#else
	struct timespec deadline;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
	clockid_t clock = CLOCK_MONOTONIC;
#else
	clockid_t clock = CLOCK_REALTIME;
#endif
	clock_gettime(clock, &deadline);
	deadline.tv_sec += timeout_ns / 1000000000;
	deadline.tv_nsec += timeout_ns % 1000000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	do {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
		rc = sem_clockwait(s, clock, &deadline);
#else
		rc = sem_timedwait(s, &deadline);
#endif
	} while (rc != 0 && errno == EINTR);
	return rc == 0 ? 0 : errno;
#endif
}

// Qt posts n times and, if one post fails, takes back the ones that
// succeeded so the count is unchanged on failure.
int qipc_posix_sem_post(sem_t *s, int n) {
	for (int i = 0; i < n; i++) {
		if (sem_post(s) != 0) {
			int rc = errno;
			while (i-- > 0) {
				while (sem_wait(s) != 0 && errno == EINTR) {
				}
			}
			return rc;
		}
	}
	return 0;
}

int qipc_posix_sem_value(sem_t *s, int *value) {
#if defined(__APPLE__)
	// Declared, deprecated and always ENOSYS on Apple systems.
	(void)s;
	(void)value;
	return ENOSYS;
#else
	return sem_getvalue(s, value) == 0 ? 0 : errno;
#endif
}

int qipc_posix_sem_close(sem_t *s) { return sem_close(s) == 0 ? 0 : errno; }

int qipc_posix_sem_unlink(const char *name) { return sem_unlink(name) == 0 ? 0 : errno; }

// confstr(_CS_DARWIN_USER_TEMP_DIR): the per-user temporary directory,
// which NSTemporaryDirectory() returns outside a sandbox; ENOSYS where the
// system has none.
#if defined(__APPLE__) && !defined(_CS_DARWIN_USER_TEMP_DIR)
#error "<unistd.h> lacks _CS_DARWIN_USER_TEMP_DIR: Qt's temp directory could not be derived"
#endif
int qipc_user_temp_dir(char *buf, size_t len) {
#ifdef _CS_DARWIN_USER_TEMP_DIR
	errno = 0;
	size_t n = confstr(_CS_DARWIN_USER_TEMP_DIR, buf, len);
	if (n == 0)
		return errno ? errno : ENOENT;
	return n > len ? ENAMETOOLONG : 0;
#else
	(void)buf;
	(void)len;
	return ENOSYS;
#endif
}

// The probes Qt's isKeyTypeSupported() runs: calls that always fail, and
// fail with ENOSYS only where the facility is missing.
int qipc_posix_probe(void) {
	int fd = shm_open("", 0, 0);
	if (fd >= 0)
		close(fd);
	else if (errno == ENOSYS)
		return 0;
	sem_t *s = sem_open("/", 0, 0, 0);
	if (s != SEM_FAILED)
		sem_close(s);
	else if (errno == ENOSYS)
		return 0;
	return 1;
}
