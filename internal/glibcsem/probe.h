// The run-time check behind package glibcsem (glibcsem.go).
//
// glibc >= 2.21 on 64-bit targets ("new_sem", nptl/semaphoreP.h) keeps a
// sem_t as { uint64_t data; int private; int pad; }: the count in the low 32
// bits of data, the number of blocked waiters in the high 32 bits. sem_wait's
// fast path is a CAS that takes one from a non-zero count; sem_post is a CAS
// that adds one (EOVERFLOW at SEM_VALUE_MAX) followed by a futex wake when
// the old word showed waiters. Go does the two CASes itself and leaves every
// case that might block or wake (count zero, waiters present, overflow) to
// glibc. This probe makes sure the C library really is that one: it checks
// the version and then drives a private sem_t through glibc's calls,
// comparing the raw words after each, so that any other layout or protocol
// (musl, another libc, a future glibc change) turns the fast path off.

#ifndef QIPC_POSIX_FAST_H
#define QIPC_POSIX_FAST_H

#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) && defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
#include <gnu/libc-version.h>
#define QIPC_SEM_FAST_CANDIDATE 1
#else
#define QIPC_SEM_FAST_CANDIDATE 0
#endif

#define QIPC_SEM_VALUE_MAX ((uint32_t)SEM_VALUE_MAX)

static int qipc_posix_sem_fast_probe(void) {
#if QIPC_SEM_FAST_CANDIDATE
	// The version glibc runs with, not only the one we were built against.
	const char *v = gnu_get_libc_version();
	char *end;
	long major = strtol(v, &end, 10);
	if (*end != '.')
		return 0;
	long minor = strtol(end + 1, NULL, 10);
	if (major != 2 || minor < 21)
		return 0;
	if (sizeof(sem_t) < 16 || _Alignof(sem_t) < 8 || SEM_VALUE_MAX != INT_MAX)
		return 0;

	union {
		sem_t s;
		volatile uint64_t w[4];
	} u;
	memset(&u, 0xa5, sizeof u);
	if (sem_init(&u.s, 1, 5) != 0)
		return 0;
	int ok = 0, val;
	if (u.w[0] != 5)
		goto out;
	// glibc's post and trywait move the low word by one.
	if (sem_post(&u.s) != 0 || u.w[0] != 6)
		goto out;
	if (sem_trywait(&u.s) != 0 || u.w[0] != 5)
		goto out;
	// Our CAS result is what glibc reads back.
	u.w[0] = 3;
	if (sem_getvalue(&u.s, &val) != 0 || val != 3)
		goto out;
	// The high word is the waiter count: glibc's count ignores it and its
	// calls keep it.
	u.w[0] = ((uint64_t)1 << 32) | 2;
	if (sem_getvalue(&u.s, &val) != 0 || val != 2)
		goto out;
	if (sem_trywait(&u.s) != 0 || u.w[0] != (((uint64_t)1 << 32) | 1))
		goto out;
	if (sem_post(&u.s) != 0 || u.w[0] != (((uint64_t)1 << 32) | 2)) // wakes no one: no waiter sleeps on u
		goto out;
	u.w[0] = (uint64_t)1 << 32;
	errno = 0;
	if (sem_trywait(&u.s) == 0 || errno != EAGAIN || u.w[0] != ((uint64_t)1 << 32))
		goto out;
	// EOVERFLOW at SEM_VALUE_MAX, word untouched.
	u.w[0] = QIPC_SEM_VALUE_MAX;
	errno = 0;
	if (sem_post(&u.s) == 0 || errno != EOVERFLOW || u.w[0] != QIPC_SEM_VALUE_MAX)
		goto out;
	u.w[0] = 0;
	ok = 1;
out:
	sem_destroy(&u.s);
	return ok;
#else
	return 0;
#endif
}

#endif
