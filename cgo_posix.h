#ifndef QIPC_POSIX_H
#define QIPC_POSIX_H

#include <semaphore.h>
#include <stdint.h>

// Which call of a sequence failed, so Go can name it in Qt's words.
enum { QIPC_STEP_OPEN = 1, QIPC_STEP_CHMOD, QIPC_STEP_TRUNCATE, QIPC_STEP_STAT, QIPC_STEP_MAP };

int qipc_posix_shm_create(const char *name, int64_t size, unsigned perm, int set_mode, int *step);
int qipc_posix_shm_attach(const char *name, int readonly, int *fd, void **addr, int64_t *size, unsigned *uid, uint64_t *dev, uint64_t *ino, int *step);
int qipc_posix_shm_detach(void *addr, int64_t size, int fd);
int qipc_posix_shm_unlink(const char *name);
int qipc_posix_shm_probe(const char *name);
int qipc_posix_shm_unlink_if(const char *name, uint64_t dev, uint64_t ino);
int qipc_posix_sem_open(const char *name, int excl, unsigned perm, unsigned value, sem_t **out);
int qipc_posix_sem_wait(sem_t *s, int64_t timeout_ns);
int qipc_posix_sem_post(sem_t *s, int n);
int qipc_posix_sem_value(sem_t *s, int *value);
int qipc_posix_sem_close(sem_t *s);
int qipc_posix_sem_unlink(const char *name);
int qipc_user_temp_dir(char *buf, size_t len);
int qipc_posix_probe(void);

#endif
