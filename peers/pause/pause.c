/* libqipcpause.so: stops a peer inside QSharedMemory::create (or attach),
 * between two of its system calls, so that the crash tests can SIGKILL it
 * there and the lifecycle tests can run another process's step in between.
 *
 *   LD_PRELOAD=build/libqipcpause.so QIPC_PAUSE_AT=CALL peer create KEY SIZE
 *
 * CALL is the call after which the process stops itself with SIGSTOP:
 *   shm_open   a POSIX segment was just created (O_CREAT|O_EXCL): size 0
 *   ftruncate  that segment was just given its size, not yet mapped
 *   shmget     a System V segment was just created (IPC_CREAT, not IPC_PRIVATE)
 *   shmat      a segment this process created was just attached
 *   sem_open   a named semaphore was just opened or created: a segment's
 *              lock bound by a create or an attach, not yet taken
 *   mmap-shm   a POSIX segment (a /dev/shm file, not a glibc semaphore) was
 *              just mapped: a reader stopped between its attach and its
 *              copy, for the tests of a segment truncated under a reader
 *
 * It wraps the libc functions every peer reaches through the dynamic linker
 * (the Go library's C shims, the C peer, Qt 5/6's libQtCore under the C++
 * and PySide6 peers), so the same pause works for all of them, and it
 * changes nothing else: each wrapper makes the real call and returns its
 * result. The test sees the stop in /proc/PID/stat (state T) and kills. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <unistd.h>

static int created_fd = -1; /* the segment this process created (POSIX) */
static int created_id = -1; /* the segment this process created (System V) */

static void pause_after(const char *call)
{
    const char *at = getenv("QIPC_PAUSE_AT");
    if (!at || strcmp(at, call) != 0) return;
    int saved = errno;
    fprintf(stderr, "qipcpause: stopped after %s\n", call);
    fflush(stderr);
    raise(SIGSTOP);
    errno = saved;
}

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "qipcpause: no %s to wrap\n", name);
        abort();
    }
    return f;
}

int shm_open(const char *name, int oflag, mode_t mode)
{
    static int (*real)(const char *, int, mode_t);
    if (!real) real = (int (*)(const char *, int, mode_t))next("shm_open");
    int fd = real(name, oflag, mode);
    if (fd >= 0 && (oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
        created_fd = fd;
        pause_after("shm_open");
    }
    return fd;
}

static int truncated(int fd, int rc)
{
    if (rc == 0 && fd == created_fd) pause_after("ftruncate");
    return rc;
}

int ftruncate(int fd, off_t length)
{
    static int (*real)(int, off_t);
    if (!real) real = (int (*)(int, off_t))next("ftruncate");
    return truncated(fd, real(fd, length));
}

/* Qt 6 calls the large-file name, whose length is 64 bits wide also
 * where off_t is 32 (i386, armhf). */
int ftruncate64(int fd, off64_t length)
{
    static int (*real)(int, off64_t);
    if (!real) real = (int (*)(int, off64_t))next("ftruncate64");
    return truncated(fd, real(fd, length));
}

int shmget(key_t key, size_t size, int shmflg)
{
    static int (*real)(key_t, size_t, int);
    if (!real) real = (int (*)(key_t, size_t, int))next("shmget");
    int id = real(key, size, shmflg);
    if (id >= 0 && key != IPC_PRIVATE && (shmflg & IPC_CREAT)) {
        created_id = id;
        pause_after("shmget");
    }
    return id;
}

void *shmat(int shmid, const void *addr, int shmflg)
{
    static void *(*real)(int, const void *, int);
    if (!real) real = (void *(*)(int, const void *, int))next("shmat");
    void *p = real(shmid, addr, shmflg);
    if (p != (void *)-1 && shmid == created_id) pause_after("shmat");
    return p;
}

sem_t *sem_open(const char *name, int oflag, ...)
{
    static sem_t *(*real)(const char *, int, ...);
    if (!real) real = (sem_t *(*)(const char *, int, ...))next("sem_open");
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = va_arg(ap, mode_t);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    sem_t *s = real(name, oflag, mode, value);
    if (s != SEM_FAILED) pause_after("sem_open");
    return s;
}

/* Whether fd is a POSIX segment: a /dev/shm file that is not one of glibc's
 * semaphores ("sem.NAME"), which sem_open maps too. */
static int is_segment(int fd)
{
    char link[64], path[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return strncmp(path, "/dev/shm/", 9) == 0 && strncmp(path + 9, "sem.", 4) != 0;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    if (!real) real = (void *(*)(void *, size_t, int, int, int, off_t))next("mmap");
    void *p = real(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && fd >= 0 && is_segment(fd)) pause_after("mmap-shm");
    return p;
}

/* What a program built with 64-bit file offsets calls instead: the
 * package's C shims on every Linux (glibc redirects mmap there on x86-64
 * too), and Qt on 32-bit targets. */
void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset)
{
    static void *(*real)(void *, size_t, int, int, int, off64_t);
    if (!real) real = (void *(*)(void *, size_t, int, int, int, off64_t))next("mmap64");
    void *p = real(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && fd >= 0 && is_segment(fd)) pause_after("mmap-shm");
    return p;
}
