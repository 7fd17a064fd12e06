#ifndef QIPC_SYSV_H
#define QIPC_SYSV_H

#include <stddef.h>
#include <stdint.h>

// Which call of a sequence failed, so Go can name it in Qt's words.
enum {
	QIPC_SV_STEP_KEYFILE = 1,
	QIPC_SV_STEP_CHMOD,
	QIPC_SV_STEP_FTOK,
	QIPC_SV_STEP_GET,
	QIPC_SV_STEP_AT,
	QIPC_SV_STEP_STAT,
	QIPC_SV_STEP_RMID,
	QIPC_SV_STEP_UNLINK,
};

int qipc_sysv_keyfile(const char *path, unsigned mode, int set_mode, int *created, int *step);
// What lstat says of a key file (qipc_sysv_keyfile_key).
struct qipc_keyfile {
	uint64_t dev, ino;
	int64_t size;
	unsigned uid;
	int regular, symlink;
	uint64_t nlink;
};

int qipc_sysv_keyfile_key(const char *path, int proj, int *key, struct qipc_keyfile *f);
int qipc_sysv_shm_create(int key, size_t size, unsigned perm);
int qipc_sysv_shm_attach(int key, int readonly, int *id, void **addr, int64_t *size, unsigned *uid, unsigned *cuid, int *step);
int qipc_sysv_sem_owner(int semid, unsigned *uid, unsigned *cuid);
int qipc_sysv_shm_detach(void *addr);
int qipc_sysv_shm_remove(int key, int only, const char *path, uint64_t dev, uint64_t ino, int *removed, int *step);
int qipc_sysv_shm_lookup(int key);
int qipc_sysv_shm_stat(int key, int64_t *size, int *nattch, int *cpid, unsigned *uid, unsigned *mode);
int qipc_sysv_sem_stat(int key, int *value, int *waiters, int *lastpid);
int qipc_sysv_shm_remove_unused(int id, const char *path, uint64_t dev, uint64_t ino, int *removed, int *step);
int qipc_sysv_sem_get(int key, unsigned perm, int excl, int *semid);
int qipc_sysv_sem_setval(int semid, int value);
int qipc_sysv_sem_getval(int semid, int *value);
int qipc_sysv_sem_sleepers(int semid, int *n);
int qipc_sysv_sem_op(int semid, int n, int64_t timeout_ns);
struct qipc_waiter;
struct qipc_waiter *qipc_waiter_new(void);
void qipc_waiter_free(struct qipc_waiter *w);
int qipc_waiter_stop(struct qipc_waiter *w);
int qipc_sysv_sem_wait_stoppable(int semid, struct qipc_waiter *w);
int qipc_sysv_sem_remove(int semid, const char *path, uint64_t dev, uint64_t ino, int key, int keep_if_segment);
int qipc_sysv_sem_lookup(int key, int *semid);
int qipc_sysv_probe(void);

#endif
