#ifndef QIPC_WINDOWS_H
#define QIPC_WINDOWS_H

#include <stdint.h>

// Which call of a sequence failed, so Go can name it in Qt's words.
enum { QIPC_WIN_STEP_MAP = 1, QIPC_WIN_STEP_QUERY };

// Handles cross into Go as integers, names as NUL-terminated UTF-16.
int qipc_win_shm_create(const uint16_t *name, uint64_t size, uintptr_t *h);
int qipc_win_shm_open(const uint16_t *name, uintptr_t *h);
int qipc_win_shm_map(uintptr_t h, int readonly, void **addr, uint64_t *size, int *step);
int qipc_win_shm_unmap(void *addr);
int qipc_win_close(uintptr_t h);
int qipc_win_sem_open(const uint16_t *name, int64_t initial, uintptr_t *h, int *existed);
int qipc_win_sem_open_existing(const uint16_t *name, uintptr_t *h);
int qipc_win_sem_wait(uintptr_t h, uintptr_t wake, int64_t timeout_ms, int *acquired);
int qipc_win_event_new(uintptr_t *h);
int qipc_win_event_set(uintptr_t h);
int qipc_win_sem_post(uintptr_t h, int64_t n);
int qipc_win_sem_value(uintptr_t h, int32_t *value);
int qipc_win_owner(uintptr_t h, char *sid, int n);

#endif
