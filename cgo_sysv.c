//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

// Thin shims over the System V calls Qt makes for QSharedMemory and
// QSystemSemaphore (Qt 6.6+ qsharedmemory_systemv.cpp /
// qsystemsemaphore_systemv.cpp, qtipccommon_p.h createUnixKeyFile): one
// function per system-call sequence, returning 0 or an errno, with the same
// flags and modes. Policy (ownership, Create/Open rules, key names) lives in
// Go. Called from cgo_sysv.go.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE // semtimedop
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cgo_sysv.h"

// semctl's fourth argument; glibc leaves the union to the caller and the
// BSDs define it under a name we must not clash with, so it has our own.
union qipc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

// Qt's createUnixKeyFile: open(O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0640) and
// close, an existing file being accepted. *created tells which. set_mode
// applies mode past the umask (Qt never does; only for non-default perms).
int qipc_sysv_keyfile(const char *path, unsigned mode, int set_mode, int *created, int *step) {
	*created = 0;
	*step = QIPC_SV_STEP_KEYFILE;
	int fd;
	do {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == EEXIST ? 0 : errno;
	*created = 1;
	int rc = 0;
	if (set_mode && fchmod(fd, (mode_t)mode) != 0) {
		*step = QIPC_SV_STEP_CHMOD;
		rc = errno;
	}
	close(fd);
	return rc;
}

// lstat(path), then for a regular file ftok(path, proj) and lstat again:
// what the file itself is (lstat: a symbolic link is reported, never
// followed) and, for a regular file, the key ftok gives for that very
// inode. ESTALE when the name was given to another file in between. The
// key of anything but a regular file is left to Go, which refuses it.
int qipc_sysv_keyfile_key(const char *path, int proj, int *key, struct qipc_keyfile *f) {
	struct stat st, again;
	if (lstat(path, &st) != 0)
		return errno;
	if (st.st_nlink == 0)
		return ENOENT; // unlinked while lstat looked at it
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->size = (int64_t)st.st_size;
	f->uid = (unsigned)st.st_uid;
	f->regular = S_ISREG(st.st_mode);
	f->symlink = S_ISLNK(st.st_mode);
	f->nlink = (uint64_t)st.st_nlink;
	if (!f->regular)
		return 0;
	key_t k = ftok(path, proj);
	if (k == (key_t)-1)
		return errno;
	if (lstat(path, &again) != 0)
		return errno;
	if (again.st_nlink == 0)
		return ENOENT;
	if (again.st_dev != st.st_dev || again.st_ino != st.st_ino)
		return ESTALE;
	*key = (int)k;
	return 0;
}

// shmget(key, size, perm | IPC_CREAT | IPC_EXCL), as Qt's create().
int qipc_sysv_shm_create(int key, size_t size, unsigned perm) {
	return shmget((key_t)key, size, (int)(perm & 0777) | IPC_CREAT | IPC_EXCL) < 0 ? errno : 0;
}

// Qt's attach(): shmget(key, 0, 0400 or 0600), shmat (SHM_RDONLY for
// read-only), then IPC_STAT for the size, which is shm_segsz exactly. Unlike
// Qt, a failing IPC_STAT does not leave the segment mapped.
int qipc_sysv_shm_attach(int key, int readonly, int *id_out, void **addr_out, int64_t *size_out, unsigned *uid_out, unsigned *cuid_out, int *step) {
	*step = QIPC_SV_STEP_GET;
	int id = shmget((key_t)key, 0, readonly ? 0400 : 0600);
	if (id < 0)
		return errno;
	*step = QIPC_SV_STEP_AT;
	void *addr = shmat(id, NULL, readonly ? SHM_RDONLY : 0);
	if (addr == (void *)-1)
		return errno;
	*step = QIPC_SV_STEP_STAT;
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0) {
		int rc = errno;
		shmdt(addr);
		return rc;
	}
	if ((uint64_t)ds.shm_segsz > (uint64_t)PTRDIFF_MAX) {
		// Mapped, but not addressable as one slice (32-bit: 2 GiB and
		// more, which a 64-bit peer can make): refused as a mapping that
		// does not fit.
		shmdt(addr);
		*step = QIPC_SV_STEP_AT;
		return ENOMEM;
	}
	*id_out = id;
	*addr_out = addr;
	*size_out = (int64_t)ds.shm_segsz;
	*uid_out = (unsigned)ds.shm_perm.uid;
	*cuid_out = (unsigned)ds.shm_perm.cuid;
	return 0;
}

// The owner and creator of a semaphore set (IPC_STAT), for the check that refuses
// objects another user made.
int qipc_sysv_sem_owner(int semid, unsigned *uid, unsigned *cuid) {
	struct semid_ds ds;
	union qipc_semun arg;
	arg.buf = &ds;
	if (semctl(semid, 0, IPC_STAT, arg) != 0)
		return errno;
	*uid = (unsigned)ds.sem_perm.uid;
	*cuid = (unsigned)ds.sem_perm.cuid;
	return 0;
}

int qipc_sysv_shm_detach(void *addr) { return shmdt(addr) == 0 ? 0 : errno; }

// unlink(path) if path is still the file (dev, ino) that Go examined and
// found to be a key file it may remove (qipc_sysv_keyfile_key, then Go's
// rule): a file made or renamed there since is someone else's. The lstat
// is the last call before the unlink; 1 when it unlinked, 0 when it left
// the file, -1 with errno when unlink failed.
static int unlink_same(const char *path, uint64_t dev, uint64_t ino) {
	struct stat st;
	if (lstat(path, &st) != 0 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
		return 0;
	return unlink(path) == 0 ? 1 : (errno == ENOENT ? 0 : -1);
}

// The forced removal (QSharedMemory has none; the clean-up after a crash):
// IPC_RMID whatever the attach count, and unlink(path) even when there was
// no segment, while path is still the file (dev, ino). *removed tells
// whether there was a segment.
// path NULL keeps the key file; only >= 0 removes only the segment of that
// id (and then leaves the key file to it).
int qipc_sysv_shm_remove(int key, int only, const char *path, uint64_t dev, uint64_t ino, int *removed, int *step) {
	*removed = 0;
	*step = QIPC_SV_STEP_GET;
	int id = shmget((key_t)key, 0, 0);
	if (id < 0 && errno != ENOENT)
		return errno;
	if (only >= 0 && id != only)
		return 0;
	if (id >= 0) {
		*step = QIPC_SV_STEP_RMID;
		if (shmctl(id, IPC_RMID, NULL) == 0)
			*removed = 1;
		else if (errno != EINVAL && errno != EIDRM)
			return errno;
	}
	*step = QIPC_SV_STEP_UNLINK;
	if (path != NULL && unlink_same(path, dev, ino) < 0)
		return errno;
	return 0;
}

// shmget(key, 0, 0): whether a segment exists under key, whatever its
// permissions. 0, or shmget's errno.
int qipc_sysv_shm_lookup(int key) { return shmget((key_t)key, 0, 0) >= 0 ? 0 : errno; }

// shmget(key, 0, 0) and IPC_STAT: what anyone may see of the segment with
// this key (Inspect). ENOENT when there is none.
int qipc_sysv_shm_stat(int key, int64_t *size, int *nattch, int *cpid, unsigned *uid, unsigned *mode) {
	int id = shmget((key_t)key, 0, 0);
	if (id < 0)
		return errno;
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return errno;
	*size = (int64_t)ds.shm_segsz;
	*nattch = (int)ds.shm_nattch;
	*cpid = (int)ds.shm_cpid;
	*uid = (unsigned)ds.shm_perm.uid;
	*mode = (unsigned)ds.shm_perm.mode & 0777;
	return 0;
}

// semget(key, 0, 0), then GETVAL, GETNCNT and GETPID: what anyone who may
// read the set sees of it (Inspect). ENOENT when there is none.
int qipc_sysv_sem_stat(int key, int *value, int *waiters, int *lastpid) {
	int id = semget((key_t)key, 0, 0);
	if (id < 0)
		return errno;
	int v = semctl(id, 0, GETVAL);
	if (v < 0)
		return errno;
	int n = semctl(id, 0, GETNCNT);
	if (n < 0)
		return errno;
	int p = semctl(id, 0, GETPID);
	if (p < 0)
		return errno;
	*value = v;
	*waiters = n;
	*lastpid = p;
	return 0;
}

// Qt's detach clean-up, on the segment id the caller had attached where Qt
// looks the key up again: IPC_STAT, and only if shm_nattch == 0, IPC_RMID
// and unlink(path); path NULL keeps the key file. A segment that is gone
// or cannot be examined is left alone, as Qt leaves it. The key file goes
// only while it is the file (dev, ino) Go found giving this segment's key,
// so a file made since for a new segment stays.
int qipc_sysv_shm_remove_unused(int id, const char *path, uint64_t dev, uint64_t ino, int *removed, int *step) {
	*removed = 0;
	struct shmid_ds ds;
	*step = QIPC_SV_STEP_STAT;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return errno == EINVAL || errno == EIDRM || errno == EACCES ? 0 : errno;
	if (ds.shm_nattch != 0)
		return 0;
	*step = QIPC_SV_STEP_RMID;
	if (shmctl(id, IPC_RMID, NULL) != 0)
		return errno == EINVAL || errno == EIDRM ? 0 : errno;
	*removed = 1;
	*step = QIPC_SV_STEP_UNLINK;
	if (path != NULL && unlink_same(path, dev, ino) < 0)
		return errno;
	return 0;
}

// One step of Qt's semaphore handle(): semget(key, 1, perm | IPC_CREAT |
// IPC_EXCL) when excl, else semget(key, 1, perm) for the existing set.
int qipc_sysv_sem_get(int key, unsigned perm, int excl, int *semid) {
	int flags = (int)(perm & 0777);
	if (excl)
		flags |= IPC_CREAT | IPC_EXCL;
	int id = semget((key_t)key, 1, flags);
	if (id < 0)
		return errno;
	*semid = id;
	return 0;
}

// semget(key, 0, 0): the existing set, without creating one.
int qipc_sysv_sem_lookup(int key, int *semid) {
	int id = semget((key_t)key, 0, 0);
	if (id < 0)
		return errno;
	*semid = id;
	return 0;
}

int qipc_sysv_sem_setval(int semid, int value) {
	union qipc_semun arg;
	arg.val = value;
	return semctl(semid, 0, SETVAL, arg) == 0 ? 0 : errno;
}

int qipc_sysv_sem_getval(int semid, int *value) {
	int v = semctl(semid, 0, GETVAL);
	if (v < 0)
		return errno;
	*value = v;
	return 0;
}

// GETNCNT: how many processes sleep in the set's queue.
int qipc_sysv_sem_sleepers(int semid, int *n) {
	int v = semctl(semid, 0, GETNCNT);
	if (v < 0)
		return errno;
	*n = v;
	return 0;
}

static int64_t monotonic_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// One semop of n (Qt's acquire is -1, release(n) is +n) with SEM_UNDO, so
// the kernel takes back what a process that dies still holds. EINTR is
// retried. timeout_ns < 0 waits without limit, 0 only tries (IPC_NOWAIT),
// > 0 waits at most that long. Returns 0 when done, EAGAIN when the count
// was not there in time, EINVAL or EIDRM when the set was removed.
int qipc_sysv_sem_op(int semid, int n, int64_t timeout_ns) {
	struct sembuf op;
	op.sem_num = 0;
	op.sem_op = (short)n;
	op.sem_flg = SEM_UNDO;
	int rc;
	if (timeout_ns <= 0) {
		if (timeout_ns == 0)
			op.sem_flg |= IPC_NOWAIT;
		do {
			rc = semop(semid, &op, 1);
		} while (rc != 0 && errno == EINTR);
		return rc == 0 ? 0 : errno;
	}
	int64_t deadline = monotonic_ns() + timeout_ns;
	for (;;) {
		int64_t left = deadline - monotonic_ns();
		if (left < 0)
			left = 0;
#if defined(__linux__)
		struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
		rc = semtimedop(semid, &op, 1, &ts);
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return errno;
#else
		// No semtimedop: poll with IPC_NOWAIT, sleeping at most 1 ms.
		op.sem_flg = SEM_UNDO | IPC_NOWAIT;
		rc = semop(semid, &op, 1);
		if (rc == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return errno;
		if (left == 0)
			return EAGAIN;
		struct timespec ts = {0, left < 1000000 ? (long)left : 1000000};
		nanosleep(&ts, NULL);
#endif
	}
}

// A wait that another thread ends (qipc_waiter_stop): the waiter records
// the thread it blocks on, and the stopper sets stop and signals that
// thread with SIGURG, the signal the Go runtime sends its threads anyway.
// A signal ends a blocked semop with EINTR whatever SA_RESTART says
// (signal(7); the BSDs likewise), and the loop then sees stop. A signal
// that lands before semop blocks is lost: the stopper repeats it while
// qipc_waiter_stop reports that the wait still runs.
struct qipc_waiter {
	pthread_mutex_t mu;
	pthread_t thread;
	int armed; // a wait runs on thread
	int stop;
};

struct qipc_waiter *qipc_waiter_new(void) {
	struct qipc_waiter *w = calloc(1, sizeof *w);
	if (w != NULL && pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void qipc_waiter_free(struct qipc_waiter *w) {
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int qipc_waiter_stop(struct qipc_waiter *w) {
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	int armed = w->armed;
	if (armed)
		pthread_kill(w->thread, SIGURG);
	pthread_mutex_unlock(&w->mu);
	return armed;
}

// waiter_set arms or disarms w for the calling thread and returns stop.
static int waiter_set(struct qipc_waiter *w, int armed) {
	pthread_mutex_lock(&w->mu);
	w->thread = pthread_self();
	w->armed = armed && !w->stop;
	int stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

// Whether a SIGURG sent to this thread would end a blocked semop: not when
// the process ignores it (signal.Ignore), leaves it at its default (which
// discards it), or this thread blocks it. ENOTSUP from the wait tells Go to
// wait in slices instead.
static int sigurg_interrupts(void) {
	struct sigaction sa;
	sigset_t mask;
	if (sigaction(SIGURG, NULL, &sa) != 0 || sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL)
		return 0;
	if (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0 || sigismember(&mask, SIGURG))
		return 0;
	return 1;
}

// qipc_sysv_sem_op's -1 without a time limit, which qipc_waiter_stop ends:
// 0 when it took the count, ECANCELED when stopped. One semop for the
// whole wait keeps the waiter's place in the kernel's queue of the set,
// which serves waiters in order; a wait in slices goes to its end at
// every slice.
int qipc_sysv_sem_wait_stoppable(int semid, struct qipc_waiter *w) {
	if (!sigurg_interrupts())
		return ENOTSUP;
	struct sembuf op = {0, -1, SEM_UNDO};
	int rc = ECANCELED;
	while (!waiter_set(w, 1)) {
		if (semop(semid, &op, 1) == 0) {
			rc = 0;
			break;
		}
		if (errno != EINTR) {
			rc = errno;
			break;
		}
	}
	waiter_set(w, 0);
	return rc;
}

static int segment_exists(int key) { return shmget((key_t)key, 0, 0) >= 0 || errno != ENOENT; }

// Qt's semaphore cleanHandle(): unlink(path), then semctl(IPC_RMID). The
// file goes only while it names this semaphore: semid still exists (else
// the file may belong to whoever recreated it) and path is still the file
// (dev, ino) Go found giving key; with keep_if_segment, also not while a
// segment uses the same key (Qt 6.6+ keys without a legacy key share one
// file between segment and lock). path NULL keeps the file; semid < 0
// means no semaphore: only the file is considered. A set already removed
// is not an error.
int qipc_sysv_sem_remove(int semid, const char *path, uint64_t dev, uint64_t ino, int key, int keep_if_segment) {
	if (semid >= 0) {
		struct semid_ds ds;
		union qipc_semun arg;
		arg.buf = &ds;
		if (semctl(semid, 0, IPC_STAT, arg) != 0 && (errno == EINVAL || errno == EIDRM))
			return 0;
	}
	if (path != NULL && !(keep_if_segment && segment_exists(key)))
		unlink_same(path, dev, ino); // result ignored, as in Qt
	if (semid >= 0 && semctl(semid, 0, IPC_RMID) != 0 && errno != EINVAL && errno != EIDRM)
		return errno;
	return 0;
}

// The probes Qt's isKeyTypeSupported() runs: calls that always fail, and
// fail with ENOSYS only where the facility is missing.
int qipc_sysv_probe(void) {
	int id = shmget(IPC_PRIVATE, ~(size_t)0, 0);
	if (id >= 0)
		shmctl(id, IPC_RMID, NULL);
	else if (errno == ENOSYS)
		return 0;
	id = semget(IPC_PRIVATE, -1, 0);
	if (id >= 0)
		semctl(id, 0, IPC_RMID);
	else if (errno == ENOSYS)
		return 0;
	return 1;
}
