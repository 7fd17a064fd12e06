/*
 * peer.c - the bundled C interop peer of qipc.
 *
 * A plain C11 program (no Qt) that performs exactly the system calls Qt 6.6+'s
 * QSharedMemory / QSystemSemaphore perform, in the same order and with the same
 * flags and modes, so that the Go library can be tested against "Qt" without
 * Qt being installed.  It follows peers/PROTOCOL.md:
 *
 *   cpeer COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] [--init HEX]
 *         [--lock LOCKKEY]
 *
 * KEY is the QNativeIpcKey::toString() form: posix:/name, systemv:/path,
 * systemv-N:/path (N = 1..255, the ftok project id), windows:name.  The path is
 * percent-decoded; a ?legacyKey=... query is ignored (the harness passes --lock
 * when the lock semaphore of a legacy key matters).
 *
 * Protocol commands (see PROTOCOL.md):
 *   create KEY SIZE          attach KEY             read KEY OFFSET LEN
 *   write KEY OFFSET HEX     hold-lock KEY          counter KEY N
 *   sem-create KEY INIT      sem-acquire KEY [COUNT] sem-release KEY N
 *
 * Extra commands (benchmarks; not part of PROTOCOL.md, see peers/c/README.md):
 *   bench-lock KEY N         attach ReadWrite, N x (lock(); unlock()),
 *                            prints "ok ns_per_op=<float>" (per lock+unlock pair)
 *   bench-sem KEY N          QSystemSemaphore(KEY, 1, Create), N x (acquire();
 *                            release()), prints "ok ns_per_op=<float>"
 *   bench-memcpy SIZE N      N x memcpy of SIZE bytes into a private buffer,
 *                            prints "ok mb_per_s=<float>" (MB = 10^6 bytes)
 *   pingpong KEY1 KEY2 N ROLE
 *                            both semaphores QSystemSemaphore(K, 0, Open);
 *                            ROLE a: N x { KEY1.release(); KEY2.acquire(); }
 *                                    prints "ok ns_per_roundtrip=<float>"
 *                            ROLE b: N x { KEY1.acquire(); KEY2.release(); }
 *                                    prints "ok"
 *
 * Backends: POSIX realtime (shm_open / sem_open) and System V (shmget / semget)
 * are compiled when _WIN32 is not defined; the Windows backend
 * (CreateFileMappingW / CreateSemaphoreW) only when _WIN32 is defined.
 *
 * Build:
 *   gcc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o build/cpeer peers/c/peer.c -lrt
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -o build/cpeer.exe peers/c/peer.c
 */

#ifdef _WIN32
#  ifndef __USE_MINGW_ANSI_STDIO
#    define __USE_MINGW_ANSI_STDIO 1
#  endif
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <shellapi.h>
#else
#  define _GNU_SOURCE
#  include <fcntl.h>
#  include <sched.h>
#  include <semaphore.h>
#  include <sys/ipc.h>
#  include <sys/mman.h>
#  include <sys/sem.h>
#  include <sys/shm.h>
#  include <sys/stat.h>
#  include <sys/types.h>
#  include <time.h>
#  include <unistd.h>
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 8192

/* ------------------------------------------------------------------------ */
/* keys                                                                      */
/* ------------------------------------------------------------------------ */

enum { KT_INVALID = 0, KT_POSIX, KT_SYSV, KT_WIN };

typedef struct {
    int type;                    /* KT_* */
    int proj;                    /* ftok project id for KT_SYSV */
    char name[NAME_MAX_BYTES];   /* native key, UTF-8 bytes */
} ipckey;

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Qt's QString::toInt for the systemv-N suffix: optional sign, decimal digits. */
static int parse_qt_int(const char *s, long long *out)
{
    int neg = 0;
    long long v = 0;
    if (*s == '+' || *s == '-') { neg = (*s == '-'); s++; }
    if (!*s) return 0;
    for (; *s; s++) {
        if (!is_digit((unsigned char)*s)) return 0;
        v = v * 10 + (*s - '0');
        if (v > 0x7fffffffLL + 1) return 0;
    }
    v = neg ? -v : v;
    if (v > 0x7fffffffLL || v < -0x7fffffffLL - 1) return 0;
    *out = v;
    return 1;
}

/* QNativeIpcKey::fromString, reduced to what the peer needs (docs/qt-ipc.md §1.2).
 * Returns 1 on success, 0 for an invalid key. */
static int parse_key(const char *text, ipckey *k)
{
    char scheme[64];
    const char *colon, *rest, *end, *p;
    size_t n, i, o = 0;

    memset(k, 0, sizeof *k);
    colon = strchr(text, ':');
    if (!colon || colon == text) return 0;
    n = (size_t)(colon - text);
    if (n >= sizeof scheme) return 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)text[i];
        if (i == 0 ? !is_alpha(c) : !(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'))
            return 0;
        scheme[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    scheme[n] = 0;

    if (strcmp(scheme, "posix") == 0) {
        k->type = KT_POSIX;
    } else if (strcmp(scheme, "windows") == 0) {
        k->type = KT_WIN;
    } else if (strcmp(scheme, "systemv") == 0) {
        k->type = KT_SYSV;
        k->proj = 0x51;
    } else if (strncmp(scheme, "systemv", 7) == 0) {
        long long v;
        if (!parse_qt_int(scheme + 7, &v)) return 0;
        v = -v;
        if (v < 1 || v > 255) return 0;
        k->type = KT_SYSV;
        k->proj = (int)v;
    } else {
        return 0;
    }

    rest = colon + 1;
    /* the path ends at the query ('?') or the fragment ('#'); both ignored */
    end = rest + strcspn(rest, "?#");
    if (end - rest >= 2 && rest[0] == '/' && rest[1] == '/') {
        /* authority: only an empty one is accepted (posix:///foo -> /foo) */
        if (end - rest > 2 && rest[2] != '/') return 0;
        rest += 2;
    }
    for (p = rest; p < end; p++) {
        if (o + 1 >= sizeof k->name) return 0;
        if (*p == '%' && end - p >= 3 && hexval((unsigned char)p[1]) >= 0 && hexval((unsigned char)p[2]) >= 0) {
            k->name[o++] = (char)(hexval((unsigned char)p[1]) * 16 + hexval((unsigned char)p[2]));
            p += 2;
        } else {
            k->name[o++] = *p;
        }
    }
    k->name[o] = 0;
    return 1;
}

static int key_type_supported(int type)
{
#ifdef _WIN32
    return type == KT_WIN;
#else
    return type == KT_POSIX || type == KT_SYSV;
#endif
}

/* ------------------------------------------------------------------------ */
/* errors                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *kind;  /* NULL = NoError; else Qt enumerator name */
    char text[2 * NAME_MAX_BYTES];
} qerr;

static void err_set(qerr *e, const char *kind, const char *fmt, ...)
{
    va_list ap;
    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

static void err_clear(qerr *e) { e->kind = NULL; e->text[0] = 0; }

#ifdef _WIN32
static void win_errtext(DWORD code, char *buf, size_t len)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf, (DWORD)len, NULL);
    if (n == 0) {
        snprintf(buf, len, "error %lu", (unsigned long)code);
        return;
    }
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        buf[--n] = 0;
}

/* QSharedMemoryPrivate::setWindowsErrorString */
static void shm_win_err(qerr *e, const char *fn)
{
    DWORD code = GetLastError();
    char t[512];
    if (code == 0) return;
    switch (code) {
    case ERROR_ALREADY_EXISTS: err_set(e, "AlreadyExists", "%s: already exists", fn); break;
    case ERROR_FILE_NOT_FOUND: err_set(e, "NotFound", "%s: doesn't exist", fn); break;
    case ERROR_COMMITMENT_LIMIT: err_set(e, "InvalidSize", "%s: invalid size", fn); break;
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_NOT_ENOUGH_MEMORY: err_set(e, "OutOfResources", "%s: out of resources", fn); break;
    case ERROR_ACCESS_DENIED: err_set(e, "PermissionDenied", "%s: permission denied", fn); break;
    default:
        win_errtext(code, t, sizeof t);
        err_set(e, "UnknownError", "%s: unknown error: %s", fn, t);
    }
}

/* QSystemSemaphorePrivate::setWindowsErrorString */
static void sem_win_err(qerr *e, const char *fn)
{
    DWORD code = GetLastError();
    char t[512];
    switch (code) {
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_NOT_ENOUGH_MEMORY: err_set(e, "OutOfResources", "%s: out of resources", fn); break;
    case ERROR_ACCESS_DENIED: err_set(e, "PermissionDenied", "%s: permission denied", fn); break;
    default:
        win_errtext(code, t, sizeof t);
        err_set(e, "UnknownError", "%s: unknown error: %s", fn, t);
    }
}
#else
/* QSharedMemoryPrivate::setUnixErrorString (Qt 6.6+) */
static void shm_unix_err(qerr *e, const char *fn, int en)
{
    switch (en) {
    case EACCES: err_set(e, "PermissionDenied", "%s: permission denied", fn); break;
    case EEXIST: err_set(e, "AlreadyExists", "%s: already exists", fn); break;
    case ENOENT: err_set(e, "NotFound", "%s: doesn't exist", fn); break;
    case EMFILE:
    case ENOMEM:
    case ENOSPC: err_set(e, "OutOfResources", "%s: out of resources", fn); break;
    default: err_set(e, "UnknownError", "%s: unknown error: %s", fn, strerror(en));
    }
}

/* QSystemSemaphorePrivate::setUnixErrorString (Qt 6.6+) */
static void sem_unix_err(qerr *e, const char *fn, int en)
{
    switch (en) {
    case EPERM:
    case EACCES: err_set(e, "PermissionDenied", "%s: permission denied", fn); break;
    case EEXIST: err_set(e, "AlreadyExists", "%s: already exists", fn); break;
    case ENOENT: err_set(e, "NotFound", "%s: does not exist", fn); break;
    case ERANGE:
    case ENOSPC:
    case EMFILE: err_set(e, "OutOfResources", "%s: out of resources", fn); break;
    case ENAMETOOLONG: err_set(e, "KeyError", "%s: key too long", fn); break;
    default: err_set(e, "UnknownError", "%s: unknown error: %s", fn, strerror(en));
    }
}

/* QtIpcCommon::createUnixKeyFile: 1 created, 0 already existed, -1 failure */
static int make_key_file(const char *path)
{
    int fd;
    do {
        fd = open(path, O_EXCL | O_CREAT | O_RDWR | O_CLOEXEC, 0640);
    } while (fd == -1 && errno == EINTR);
    if (fd == -1) return errno == EEXIST ? 0 : -1;
    close(fd);
    return 1;
}

union qt_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};
#endif

#ifdef _WIN32
/* Windows names are UTF-16, and Qt may cut one between the halves of a
 * surrogate pair; the name then ends in a lone high surrogate. Names pass
 * through this peer as WTF-8 (UTF-8 that may hold a lone surrogate as the
 * three bytes UTF-8 would give its code point), as the Go library writes
 * them, so that both sides open the same object. */

/* WTF-8 -> UTF-16 (caller frees); an invalid byte becomes U+FFFD. */
static wchar_t *to_wide(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    wchar_t *w = (wchar_t *)calloc(strlen(s) + 8, sizeof(wchar_t)), *o = w;
    if (!w) { fputs("out of memory\n", stderr); exit(2); }
    while (*p) {
        unsigned c = p[0], cp = 0xFFFD;
        int len = 1;
        if (c < 0x80) {
            cp = c;
        } else if ((c & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            unsigned v = (c & 0x1Fu) << 6 | (p[1] & 0x3Fu);
            if (v >= 0x80) { cp = v; len = 2; }
        } else if ((c & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
            unsigned v = (c & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
            if (v >= 0x800) { cp = v; len = 3; }
        } else if ((c & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
                   (p[3] & 0xC0) == 0x80) {
            unsigned v = (c & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
            if (v >= 0x10000 && v <= 0x10FFFF) { cp = v; len = 4; }
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            *o++ = (wchar_t)(0xD800 + (cp >> 10));
            *o++ = (wchar_t)(0xDC00 + (cp & 0x3FF));
        } else {
            *o++ = (wchar_t)cp;
        }
        p += len;
    }
    return w;
}

/* UTF-16 -> WTF-8 into out (cap bytes, NUL-terminated); a lone surrogate
 * keeps its own three bytes. */
static void from_wide(const wchar_t *w, char *out, size_t cap)
{
    size_t n = 0;
    for (; *w; w++) {
        unsigned cp = (unsigned)*w;
        unsigned char b[4];
        size_t len;
        if (cp >= 0xD800 && cp < 0xDC00 && w[1] >= 0xDC00 && w[1] < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned)w[1] - 0xDC00);
            w++;
        }
        if (cp < 0x80) {
            b[0] = (unsigned char)cp; len = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | cp >> 6); b[1] = (unsigned char)(0x80 | (cp & 0x3F)); len = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | cp >> 12); b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F)); len = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | cp >> 18); b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)); b[3] = (unsigned char)(0x80 | (cp & 0x3F)); len = 4;
        }
        if (n + len + 1 > cap) break;
        memcpy(out + n, b, len);
        n += len;
    }
    out[n] = 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* QSystemSemaphore                                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
    ipckey key;
    int init;
    qerr err;
#ifdef _WIN32
    HANDLE h;
#else
    /* POSIX */
    sem_t *ps;
    int powner;
    /* System V */
    key_t ukey;  /* -1: no handle */
    int semid;
    int created_file;
    int created_sem;
#endif
} qsem;

static void qsem_init(qsem *s)
{
    memset(s, 0, sizeof *s);
#ifdef _WIN32
    s->h = NULL;
#else
    s->ps = SEM_FAILED;
    s->ukey = -1;
    s->semid = -1;
#endif
}

#ifdef _WIN32
static int win_sem_handle(qsem *s)
{
    wchar_t *w;
    if (s->h) return 1;
    if (!s->key.name[0]) return 0;  /* Qt: no handle, no error */
    w = to_wide(s->key.name);
    s->h = CreateSemaphoreW(NULL, s->init, MAXLONG, w);
    free(w);
    if (!s->h) {
        sem_win_err(&s->err, "QSystemSemaphore::handle");
        return 0;
    }
    return 1;
}

static void win_sem_clean(qsem *s)
{
    if (s->h) CloseHandle(s->h);
    s->h = NULL;
}

static int win_sem_modify(qsem *s, int count)
{
    if (!win_sem_handle(s)) return 0;
    if (count > 0) {
        if (!ReleaseSemaphore(s->h, count, NULL)) {
            sem_win_err(&s->err, "QSystemSemaphore::modifySemaphore");
            return 0;
        }
    } else {
        if (WaitForSingleObjectEx(s->h, INFINITE, FALSE) != WAIT_OBJECT_0) {
            sem_win_err(&s->err, "QSystemSemaphore::modifySemaphore");
            return 0;
        }
    }
    err_clear(&s->err);
    return 1;
}
#else
/* ---- POSIX (qsystemsemaphore_posix.cpp) ---- */
static int px_sem_handle(qsem *s, int create)
{
    int oflag = O_CREAT | O_EXCL;
    int tries, max;
    if (s->ps != SEM_FAILED) return 1;
    if (!s->key.name[0]) {
        err_set(&s->err, "KeyError", "QSystemSemaphore::handle: key is empty");
        return 0;
    }
    for (tries = 0, max = 1; tries < max; ++tries) {
        do {
            s->ps = sem_open(s->key.name, oflag, 0600, (unsigned)s->init);
        } while (s->ps == SEM_FAILED && errno == EINTR);
        if (s->ps == SEM_FAILED && errno == EEXIST) {
            if (create) {
                if (sem_unlink(s->key.name) == -1 && errno != ENOENT) {
                    sem_unix_err(&s->err, "QSystemSemaphore::handle (sem_unlink)", errno);
                    return 0;
                }
                max = 3;
            } else {
                oflag &= ~O_EXCL;
                max = 2;
            }
        } else {
            break;
        }
    }
    if (s->ps == SEM_FAILED) {
        sem_unix_err(&s->err, "QSystemSemaphore::handle", errno);
        return 0;
    }
    s->powner = (oflag & O_EXCL) != 0;
    return 1;
}

static void px_sem_clean(qsem *s)
{
    if (s->ps != SEM_FAILED) {
        if (sem_close(s->ps) == -1)
            sem_unix_err(&s->err, "QSystemSemaphore::cleanHandle (sem_close)", errno);
        s->ps = SEM_FAILED;
    }
    if (s->powner) {
        if (sem_unlink(s->key.name) == -1 && errno != ENOENT)
            sem_unix_err(&s->err, "QSystemSemaphore::cleanHandle (sem_unlink)", errno);
        s->powner = 0;
    }
}

static int px_sem_modify(qsem *s, int count)
{
    int res;
    for (;;) {
        if (!px_sem_handle(s, 0)) return 0;
        if (count > 0) {
            int cnt = count;
            do {
                if (sem_post(s->ps) == -1) {
                    sem_unix_err(&s->err, "QSystemSemaphore::modifySemaphore (sem_post)", errno);
                    for (; cnt < count; ++cnt) {
                        do res = sem_wait(s->ps); while (res == -1 && errno == EINTR);
                    }
                    return 0;
                }
                --cnt;
            } while (cnt > 0);
            break;
        }
        do res = sem_wait(s->ps); while (res == -1 && errno == EINTR);
        if (res == -1) {
            if (errno == EINVAL || errno == EIDRM) {
                s->ps = SEM_FAILED;  /* dropped without closing, as Qt does */
                continue;
            }
            sem_unix_err(&s->err, "QSystemSemaphore::modifySemaphore (sem_wait)", errno);
            return 0;
        }
        break;
    }
    err_clear(&s->err);
    return 1;
}

/* ---- System V (qsystemsemaphore_systemv.cpp) ---- */
static void sv_sem_clean(qsem *s)
{
    s->ukey = -1;
    if (s->created_file) {
        unlink(s->key.name);
        s->created_file = 0;
    }
    if (s->created_sem) {
        if (s->semid != -1) {
            if (semctl(s->semid, 0, IPC_RMID, 0) == -1)
                sem_unix_err(&s->err, "QSystemSemaphore::cleanHandle", errno);
            s->semid = -1;
        }
        s->created_sem = 0;
    }
}

static int sv_sem_handle(qsem *s, int create)
{
    int built;
    if (s->ukey != -1) return 1;
    if (!s->key.name[0]) {
        err_set(&s->err, "KeyError", "QSystemSemaphore::handle:: key is empty");
        return 0;
    }
    built = make_key_file(s->key.name);
    if (built == -1) {
        err_set(&s->err, "KeyError", "QSystemSemaphore::handle:: unable to make key");
        return 0;
    }
    s->created_file = (built == 1);
    s->ukey = ftok(s->key.name, s->key.proj);
    if (s->ukey == -1) {
        err_set(&s->err, "KeyError", "QSystemSemaphore::handle:: ftok failed");
        return 0;
    }
    s->semid = semget(s->ukey, 1, 0600 | IPC_CREAT | IPC_EXCL);
    if (s->semid == -1) {
        if (errno == EEXIST) s->semid = semget(s->ukey, 1, 0600 | IPC_CREAT);
        if (s->semid == -1) {
            sem_unix_err(&s->err, "QSystemSemaphore::handle", errno);
            sv_sem_clean(s);
            return 0;
        }
    } else {
        s->created_sem = 1;
        s->created_file = 1;  /* "may be left over from a crash" */
    }
    if (create) {
        s->created_sem = 1;
        s->created_file = 1;
    }
    if (s->created_sem && s->init >= 0) {
        union qt_semun arg;
        arg.val = s->init;
        if (semctl(s->semid, 0, SETVAL, arg) == -1) {
            sem_unix_err(&s->err, "QSystemSemaphore::handle", errno);
            sv_sem_clean(s);
            return 0;
        }
    }
    return 1;
}

static int sv_sem_modify(qsem *s, int count)
{
    for (;;) {
        struct sembuf op;
        int res;
        if (!sv_sem_handle(s, 0)) return 0;
        op.sem_num = 0;
        op.sem_op = (short)count;
        op.sem_flg = SEM_UNDO;
        do res = semop(s->semid, &op, 1); while (res == -1 && errno == EINTR);
        if (res == -1) {
            if (errno == EINVAL || errno == EIDRM) {
                /* removed under us: recreate (Open mode) and retry */
                s->semid = -1;
                sv_sem_clean(s);
                sv_sem_handle(s, 0);
                continue;
            }
            sem_unix_err(&s->err, "QSystemSemaphore::modifySemaphore", errno);
            return 0;
        }
        break;
    }
    err_clear(&s->err);
    return 1;
}
#endif

static int qsem_handle(qsem *s, int create)
{
    switch (s->key.type) {
#ifdef _WIN32
    case KT_WIN: (void)create; return win_sem_handle(s);
#else
    case KT_POSIX: return px_sem_handle(s, create);
    case KT_SYSV: return sv_sem_handle(s, create);
#endif
    default: return 0;
    }
}

static void qsem_clean(qsem *s)
{
    switch (s->key.type) {
#ifdef _WIN32
    case KT_WIN: win_sem_clean(s); break;
#else
    case KT_POSIX: px_sem_clean(s); break;
    case KT_SYSV: sv_sem_clean(s); break;
#endif
    default: break;
    }
}

static int qsem_modify(qsem *s, int count)
{
    switch (s->key.type) {
#ifdef _WIN32
    case KT_WIN: return win_sem_modify(s, count);
#else
    case KT_POSIX: return px_sem_modify(s, count);
    case KT_SYSV: return sv_sem_modify(s, count);
#endif
    default: return 0;
    }
}

/* QSystemSemaphore::setNativeKey(key, initialValue, mode) on a fresh object.
 * Returns 1 when error() is NoError afterwards. */
static int qsem_bind(qsem *s, const ipckey *key, int init, int create)
{
    if (!key_type_supported(key->type)) {
        err_set(&s->err, "KeyError", "QSystemSemaphore::setNativeKey: unsupported key type");
        return 0;
    }
    err_clear(&s->err);
    qsem_clean(s);
    s->key = *key;
    s->init = init;
    qsem_handle(s, create);
    return s->err.kind == NULL;
}

static int qsem_acquire(qsem *s) { return qsem_modify(s, -1); }

static int qsem_release(qsem *s, int n)
{
    if (n == 0) return 1;
    if (n < 0) {
        fputs("QSystemSemaphore::release: n is negative.\n", stderr);
        return 0;
    }
    return qsem_modify(s, n);
}

static void qsem_destroy(qsem *s) { qsem_clean(s); }

/* ------------------------------------------------------------------------ */
/* QSharedMemory                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    ipckey key;
    ipckey lockkey;
    qsem sem;
    qerr err;
    void *mem;
    long long size;
    int locked;  /* lockedByMe */
#ifdef _WIN32
    HANDLE hand;
#else
    int fd;          /* POSIX: the shm_open descriptor kept while attached */
    key_t ukey;      /* System V: cached ftok key */
    int have_ukey;
#endif
} qshm;

/* --lock given -> that key; else Qt 6.6+ rule: same native key (Windows: +"_sem") */
static void qshm_init(qshm *m, const ipckey *key, const ipckey *lockkey)
{
    memset(m, 0, sizeof *m);
    m->key = *key;
    qsem_init(&m->sem);
#ifdef _WIN32
    m->hand = NULL;
#else
    m->fd = -1;
#endif
    if (lockkey) {
        m->lockkey = *lockkey;
    } else {
        m->lockkey = *key;
#ifdef _WIN32
        if (key->type == KT_WIN) {
            /* truncate to MAX_PATH - 4 - 1 UTF-16 code units, then append "_sem" */
            wchar_t *w = to_wide(key->name);
            size_t wl = wcslen(w);
            if (wl > MAX_PATH - 4 - 1) {
                wl = MAX_PATH - 4 - 1;
                w[wl] = 0;
            }
            from_wide(w, m->lockkey.name, sizeof m->lockkey.name - 8);
            free(w);
            /* Qt appends "_sem" to the (possibly empty) truncated key */
            strcat(m->lockkey.name, "_sem");
        }
#endif
    }
}

#ifdef _WIN32
/* ---- Windows (qsharedmemory_win.cpp) ---- */
static int b_handle(qshm *m)
{
    if (!m->hand) {
        const char *fn = "QSharedMemory::handle";
        wchar_t *w;
        if (!m->key.name[0]) {
            err_set(&m->err, "KeyError", "%s: unable to make key", fn);
            return 0;
        }
        w = to_wide(m->key.name);
        m->hand = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, w);
        free(w);
        if (!m->hand) {
            shm_win_err(&m->err, fn);
            return 0;
        }
    }
    return 1;
}

static int b_clean(qshm *m)
{
    if (m->hand && !CloseHandle(m->hand)) {
        m->hand = NULL;
        return 0;
    }
    m->hand = NULL;
    return 1;
}

static int b_create(qshm *m, long long size)
{
    const char *fn = "QSharedMemory::create";
    DWORD high, low;
    wchar_t *w;
    if (!m->key.name[0]) {
        err_set(&m->err, "KeyError", "%s: key error", fn);
        return 0;
    }
    high = (DWORD)((unsigned long long)size >> 32);
    low = (DWORD)((unsigned long long)size & 0xffffffffULL);
    w = to_wide(m->key.name);
    SetLastError(0);
    m->hand = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, high, low, w);
    shm_win_err(&m->err, fn);
    free(w);
    /* the handle is valid when the mapping already existed */
    return !(m->err.kind && strcmp(m->err.kind, "AlreadyExists") == 0) && m->hand;
}

static int b_attach(qshm *m, int ro)
{
    MEMORY_BASIC_INFORMATION info;
    m->mem = MapViewOfFile(m->hand, ro ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (!m->mem) {
        shm_win_err(&m->err, "QSharedMemory::attach");
        b_clean(m);
        return 0;
    }
    if (!VirtualQuery(m->mem, &info, sizeof info)) {
        err_set(&m->err, "UnknownError", "QSharedMemory::attach: : size query failed");
        return 0;
    }
    m->size = (long long)info.RegionSize;
    return 1;
}

static int b_detach(qshm *m)
{
    if (!UnmapViewOfFile(m->mem)) {
        shm_win_err(&m->err, "QSharedMemory::detach");
        return 0;
    }
    m->mem = NULL;
    m->size = 0;
    return b_clean(m);
}
#else
/* ---- POSIX (qsharedmemory_posix.cpp) ---- */
static int px_handle(qshm *m)
{
    if (!m->key.name[0]) {
        err_set(&m->err, "KeyError", "QSharedMemory::handle: key is empty");
        return 0;
    }
    return 1;
}

static int px_clean(qshm *m)
{
    if (m->fd != -1) close(m->fd);
    m->fd = -1;
    return 1;
}

static void px_open_err(qshm *m, int en)
{
    const char *fn = "QSharedMemory::attach (shm_open)";
    if (en == EINVAL)
        err_set(&m->err, "KeyError", "%s: bad name", fn);
    else
        shm_unix_err(&m->err, fn, en);
}

static int px_create(qshm *m, long long size)
{
    int fd, ret;
    if (!px_handle(m)) return 0;
    do {
        fd = shm_open(m->key.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    } while (fd == -1 && errno == EINTR);
    if (fd == -1) {
        px_open_err(m, errno);
        return 0;
    }
    do {
        ret = ftruncate(fd, (off_t)size);
    } while (ret == -1 && errno == EINTR);
    if (ret == -1) {
        shm_unix_err(&m->err, "QSharedMemory::create (ftruncate)", errno);
        close(fd);
        return 0;
    }
    close(fd);
    return 1;
}

static int px_attach(qshm *m, int ro)
{
    struct stat st;
    void *p;
    do {
        m->fd = shm_open(m->key.name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC, ro ? 0400 : 0600);
    } while (m->fd == -1 && errno == EINTR);
    if (m->fd == -1) {
        px_open_err(m, errno);
        m->fd = -1;
        return 0;
    }
    if (fstat(m->fd, &st) == -1) {
        shm_unix_err(&m->err, "QSharedMemory::attach (fstat)", errno);
        px_clean(m);
        return 0;
    }
    m->size = (long long)st.st_size;
    p = mmap(NULL, (size_t)m->size, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED || !p) {
        shm_unix_err(&m->err, "QSharedMemory::attach (mmap)", errno);
        px_clean(m);
        m->mem = NULL;
        m->size = 0;
        return 0;
    }
    m->mem = p;
#ifdef F_ADD_SEALS
    (void)fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK);  /* result ignored, as in Qt */
#endif
    return 1;
}

static int px_detach(qshm *m)
{
    if (munmap(m->mem, (size_t)m->size) == -1) {
        shm_unix_err(&m->err, "QSharedMemory::detach (munmap)", errno);
        return 0;
    }
    m->mem = NULL;
    m->size = 0;
    px_clean(m);  /* never shm_unlink (Qt only does on QNX) */
    return 1;
}

/* ---- System V (qsharedmemory_systemv.cpp) ---- */
static int sv_handle(qshm *m)
{
    if (m->have_ukey) return 1;
    if (!m->key.name[0]) {
        err_set(&m->err, "KeyError", "QSharedMemory::handle:: key is empty");
        return 0;
    }
    m->ukey = ftok(m->key.name, m->key.proj);
    if (m->ukey == (key_t)-1) {
        shm_unix_err(&m->err, "QSharedMemory::handle", errno);
        return 0;
    }
    m->have_ukey = 1;
    return 1;
}

static int sv_clean(qshm *m)
{
    struct shmid_ds ds;
    int id;
    if (!m->have_ukey) return 1;
    id = shmget(m->ukey, 0, 0400);
    m->have_ukey = 0;
    if (shmctl(id, IPC_STAT, &ds)) return errno != EINVAL;
    if (ds.shm_nattch != 0) return 1;
    if (shmctl(id, IPC_RMID, &ds) < 0) {
        if (errno != EINVAL) {
            shm_unix_err(&m->err, "QSharedMemory::remove", errno);
            return 0;
        }
    }
    return unlink(m->key.name) == 0;
}

static int sv_create(qshm *m, long long size)
{
    int created_file, built;
    built = make_key_file(m->key.name);
    if (built == -1) {
        err_set(&m->err, "KeyError", "QSharedMemory::handle:: unable to make key");
        return 0;
    }
    created_file = (built == 1);
    if (!sv_handle(m)) {
        if (created_file) unlink(m->key.name);
        return 0;
    }
    if (shmget(m->ukey, (size_t)size, 0600 | IPC_CREAT | IPC_EXCL) == -1) {
        if (errno == EINVAL)
            err_set(&m->err, "InvalidSize", "QSharedMemory::handle: system-imposed size restrictions");
        else
            shm_unix_err(&m->err, "QSharedMemory::create", errno);
        if (created_file && strcmp(m->err.kind, "AlreadyExists") != 0) unlink(m->key.name);
        return 0;
    }
    return 1;
}

static int sv_attach(qshm *m, int ro)
{
    struct shmid_ds ds;
    void *p;
    int id = shmget(m->ukey, 0, ro ? 0400 : 0600);
    if (id == -1) {
        shm_unix_err(&m->err, "QSharedMemory::attach (shmget)", errno);
        m->have_ukey = 0;
        return 0;
    }
    p = shmat(id, NULL, ro ? SHM_RDONLY : 0);
    if (p == (void *)-1) {
        m->mem = NULL;
        shm_unix_err(&m->err, "QSharedMemory::attach (shmat)", errno);
        return 0;
    }
    m->mem = p;
    if (!shmctl(id, IPC_STAT, &ds)) {
        m->size = (long long)ds.shm_segsz;
    } else {
        shm_unix_err(&m->err, "QSharedMemory::attach (shmctl)", errno);
        return 0;
    }
    return 1;
}

static int sv_detach(qshm *m)
{
    if (shmdt(m->mem) < 0) {
        if (errno == EINVAL)
            err_set(&m->err, "NotFound", "QSharedMemory::detach: not attached");
        else
            shm_unix_err(&m->err, "QSharedMemory::detach", errno);
        return 0;
    }
    m->mem = NULL;
    m->size = 0;
    return sv_clean(m);
}

static int b_handle(qshm *m) { return m->key.type == KT_SYSV ? sv_handle(m) : px_handle(m); }
static int b_clean(qshm *m) { return m->key.type == KT_SYSV ? sv_clean(m) : px_clean(m); }
static int b_create(qshm *m, long long size)
{
    return m->key.type == KT_SYSV ? sv_create(m, size) : px_create(m, size);
}
static int b_attach(qshm *m, int ro) { return m->key.type == KT_SYSV ? sv_attach(m, ro) : px_attach(m, ro); }
static int b_detach(qshm *m) { return m->key.type == KT_SYSV ? sv_detach(m) : px_detach(m); }
#endif

/* QSharedMemoryPrivate::initKey(mode) */
static int qshm_init_key(qshm *m, int create)
{
    const char *kind;
    if (!b_clean(m)) return 0;
    qsem_bind(&m->sem, &m->lockkey, 1, create);
    kind = m->sem.err.kind;
    if (kind) {
        /* semaphore kinds map 1:1 by name (QSystemSemaphore has no InvalidSize/LockError) */
        err_set(&m->err, kind, "QSharedMemoryPrivate::initKey: unable to set key on lock (%s)", m->sem.err.text);
        return 0;
    }
    err_clear(&m->err);
    return 1;
}

/* QSharedMemory::lock(); fn labels the error ("QSharedMemory::lock" or the
 * create/attach/detach function for the internal locker) */
static int qshm_lock(qshm *m, const char *fn)
{
    if (m->locked) {
        fputs("QSharedMemory::lock: already locked\n", stderr);
        return 1;
    }
    if (qsem_acquire(&m->sem)) {
        m->locked = 1;
        return 1;
    }
    err_set(&m->err, "LockError", "%s: unable to lock", fn);
    return 0;
}

static int qshm_unlock(qshm *m)
{
    if (!m->locked) return 0;
    m->locked = 0;
    if (qsem_release(&m->sem, 1)) return 1;
    err_set(&m->err, "LockError", "QSharedMemory::unlock: unable to unlock");
    return 0;
}

static int qshm_create(qshm *m, long long size, int ro)
{
    const char *fn = "QSharedMemory::create";
    int ok = 0;
    if (!key_type_supported(m->key.type)) {
        err_set(&m->err, "KeyError", "QSharedMemory::setNativeKey: unsupported key type");
        return 0;
    }
    if (!qshm_init_key(m, 1)) return 0;
    if (m->key.name[0] && !qshm_lock(m, fn)) return 0;
    if (size <= 0) {
        err_set(&m->err, "InvalidSize", "%s: create size is less then 0", fn);
    } else if (b_create(m, size)) {
        ok = b_attach(m, ro);
    }
    qshm_unlock(m);  /* QSharedMemoryLocker destructor */
    return ok;
}

static int qshm_attach(qshm *m, int ro)
{
    int ok = 0;
    if (!key_type_supported(m->key.type)) {
        err_set(&m->err, "KeyError", "QSharedMemory::setNativeKey: unsupported key type");
        return 0;
    }
    if (m->mem || !qshm_init_key(m, 0)) return 0;
    if (m->key.name[0] && !qshm_lock(m, "QSharedMemory::attach")) return 0;
    if (!m->mem && b_handle(m)) ok = b_attach(m, ro);
    qshm_unlock(m);
    return ok;
}

static int qshm_detach(qshm *m)
{
    int ok;
    if (!m->mem) return 0;
    if (m->key.name[0] && !qshm_lock(m, "QSharedMemory::detach")) return 0;
    ok = b_detach(m);
    qshm_unlock(m);
    return ok;
}

/* ~QSharedMemory */
static void qshm_destroy(qshm *m)
{
    if (!key_type_supported(m->key.type)) return;
    if (m->mem) qshm_detach(m);
    b_clean(m);
    qsem_destroy(&m->sem);
}

/* ------------------------------------------------------------------------ */
/* command line                                                              */
/* ------------------------------------------------------------------------ */

static int opt_ro, opt_hold, opt_nolock, opt_barrier;
static const char *opt_lock, *opt_init;
static const char *prog = "cpeer";

static void usage(const char *msg)
{
    if (msg) fprintf(stderr, "%s: %s\n", prog, msg);
    fprintf(stderr,
            "usage: %s COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] [--init HEX]\n"
            "       [--lock LOCKKEY]\n"
            "  create KEY SIZE | attach KEY | read KEY OFFSET LEN | write KEY OFFSET HEX\n"
            "  hold-lock KEY | counter KEY N | sem-create KEY INIT | sem-acquire KEY [COUNT]\n"
            "  sem-release KEY N | bench-lock KEY N | bench-sem KEY N | bench-memcpy SIZE N\n"
            "  pingpong KEY1 KEY2 N a|b\n",
            prog);
    exit(2);
}

static long long num_arg(const char *s, const char *what)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        char buf[256];
        snprintf(buf, sizeof buf, "bad %s: %s", what, s);
        usage(buf);
    }
    return v;
}

static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void wait_eof(void)
{
#ifdef _WIN32
    while (getchar() != EOF) {
    }
#else
    char buf[256];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
#endif
}

/* The --barrier wait: one line (or EOF) on stdin. */
static void wait_line(void)
{
#ifdef _WIN32
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
    }
#else
    char c;
    for (;;) {
        ssize_t n = read(0, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
    }
#endif
}

/* Gives the CPU away between the counter's read and write, so that counters
 * running at the same time without the lock lose increments. */
static void yield_cpu(void)
{
#ifdef _WIN32
    SwitchToThread();
#else
    sched_yield();
#endif
}

/* Sleeps ms milliseconds (contend's hold), through EINTR. */
static void sleep_ms(long long ms)
{
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

/* The wall clock in nanoseconds since the Unix epoch: the at=T of hold-lock,
 * comparable between processes (and with Wine, between Windows and Linux
 * processes of one machine). */
static long long wall_ns(void)
{
#ifdef _WIN32
    FILETIME ft;
    ULARGE_INTEGER u;
    GetSystemTimePreciseAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return (long long)(u.QuadPart - 116444736000000000ULL) * 100;
#else
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
#endif
}

static double now_ns(void)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart * 1e9 / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
#endif
}

/* Print "err <Kind> <text>", exit 1 (cleanup already done by the caller). */
static void fail_with(const qerr *e)
{
    out("err %s %s", e->kind ? e->kind : "UnknownError", e->text[0] ? e->text : "unknown error");
    exit(1);
}

/* Capture the error, run the destructor (as Qt would when the object goes out
 * of scope), print, exit 1. */
static void shm_fail(qshm *m)
{
    qerr e = m->err;
    if (m->locked) qshm_unlock(m);
    qshm_destroy(m);
    fail_with(&e);
}

static void sem_fail(qsem *s)
{
    qerr e = s->err;
    if (!e.kind) err_set(&e, "UnknownError", "QSystemSemaphore: operation failed");
    qsem_destroy(s);
    fail_with(&e);
}

static void range_fail(qshm *m, const char *cmd, long long off, long long len)
{
    err_set(&m->err, "UnknownError", "%s: range [%lld, %lld) outside segment of size %lld", cmd, off,
            off + len, m->size);
    shm_fail(m);
}

static void get_key(const char *s, ipckey *k)
{
    if (!parse_key(s, k)) k->type = KT_INVALID;
}

static qshm g_shm;  /* large (holds names); keep off the stack */
static qsem g_sem, g_sem2;

static void shm_setup(const char *keystr)
{
    ipckey k, lk;
    get_key(keystr, &k);
    if (opt_lock) {
        get_key(opt_lock, &lk);
        qshm_init(&g_shm, &k, &lk);
    } else {
        qshm_init(&g_shm, &k, NULL);
    }
}

static void shm_attach_or_fail(int ro)
{
    if (!qshm_attach(&g_shm, ro)) shm_fail(&g_shm);
}

static void shm_lock_or_fail(void)
{
    if (opt_nolock) return;
    if (!qshm_lock(&g_shm, "QSharedMemory::lock")) shm_fail(&g_shm);
}

static void shm_unlock_or_fail(void)
{
    if (opt_nolock) return;
    if (!qshm_unlock(&g_shm)) shm_fail(&g_shm);
}

/* The end of every segment command: hold if asked, then detach as the
 * destructor would, reporting a detach that fails (exit 1). */
static void shm_finish(void)
{
    if (opt_hold) wait_eof();
    if (g_shm.mem && !qshm_detach(&g_shm)) shm_fail(&g_shm);
    qshm_destroy(&g_shm);
    exit(0);
}

/* --init HEX: copies HEX to offset 0 of the mapping; under the lock unless
 * the caller holds it already. */
static void shm_init_data(void)
{
    size_t len, j;
    int took = 0;
    if (!opt_init) return;
    len = strlen(opt_init);
    if (len % 2) usage("odd-length --init HEX");
    for (j = 0; j < len; j++)
        if (hexval((unsigned char)opt_init[j]) < 0) usage("bad --init HEX");
    len /= 2;
    if ((long long)len > g_shm.size) range_fail(&g_shm, "--init", 0, (long long)len);
    if (!g_shm.locked) {
        if (!qshm_lock(&g_shm, "QSharedMemory::lock")) shm_fail(&g_shm);
        took = 1;
    }
    for (j = 0; j < len; j++)
        ((unsigned char *)g_shm.mem)[j] =
            (unsigned char)(hexval((unsigned char)opt_init[2 * j]) * 16 + hexval((unsigned char)opt_init[2 * j + 1]));
    if (took && !qshm_unlock(&g_shm)) shm_fail(&g_shm);
}

static void sem_setup(qsem *s, const char *keystr, int init, int create)
{
    ipckey k;
    get_key(keystr, &k);
    qsem_init(s);
    if (!qsem_bind(s, &k, init, create)) sem_fail(s);
}

int main(int argc, char **argv)
{
    const char *pos[8];
    int npos = 0, i;
    const char *cmd;

#ifdef _WIN32
    /* argv is in the ANSI code page, which cannot hold every key: take the
     * UTF-16 command line and pass each argument on as WTF-8. */
    {
        int wargc = 0;
        wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
        if (wargv && wargc == argc) {
            for (i = 0; i < argc; i++) {
                size_t cap = wcslen(wargv[i]) * 3 + 1;
                char *a = (char *)malloc(cap);
                if (!a) { fputs("out of memory\n", stderr); exit(2); }
                from_wide(wargv[i], a, cap);
                argv[i] = a;
            }
        }
        LocalFree(wargv);
    }
#endif
    if (argc > 0 && argv[0]) prog = argv[0];
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ro") == 0) opt_ro = 1;
        else if (strcmp(argv[i], "--hold") == 0) opt_hold = 1;
        else if (strcmp(argv[i], "--nolock") == 0) opt_nolock = 1;
        else if (strcmp(argv[i], "--barrier") == 0) opt_barrier = 1;
        else if (strcmp(argv[i], "--init") == 0) {
            if (++i >= argc) usage("--init needs an argument");
            opt_init = argv[i];
        }
        else if (strcmp(argv[i], "--lock") == 0) {
            if (++i >= argc) usage("--lock needs an argument");
            opt_lock = argv[i];
        } else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
            usage("unknown option");
        } else {
            if (npos >= (int)(sizeof pos / sizeof pos[0])) usage("too many arguments");
            pos[npos++] = argv[i];
        }
    }
    if (npos < 1) usage(NULL);
    cmd = pos[0];

#define NARGS(lo, hi) do { if (npos - 1 < (lo) || npos - 1 > (hi)) usage("wrong number of arguments"); } while (0)

    if (strcmp(cmd, "create") == 0) {
        long long size;
        NARGS(2, 2);
        size = num_arg(pos[2], "SIZE");
        shm_setup(pos[1]);
        if (!qshm_create(&g_shm, size, opt_ro)) shm_fail(&g_shm);
        shm_init_data();
        out("ok size=%lld", g_shm.size);
        shm_finish();
    } else if (strcmp(cmd, "attach") == 0) {
        NARGS(1, 1);
        shm_setup(pos[1]);
        shm_attach_or_fail(opt_ro);
        shm_init_data();
        out("ok size=%lld", g_shm.size);
        shm_finish();
    } else if (strcmp(cmd, "read") == 0) {
        long long off, len, j;
        char *hex;
        NARGS(3, 3);
        off = num_arg(pos[2], "OFFSET");
        len = num_arg(pos[3], "LEN");
        if (off < 0 || len < 0) usage("negative OFFSET/LEN");
        shm_setup(pos[1]);
        shm_attach_or_fail(1);
        shm_lock_or_fail();
        if (off + len > g_shm.size) {
            if (g_shm.locked) qshm_unlock(&g_shm);
            range_fail(&g_shm, "read", off, len);
        }
        hex = (char *)malloc((size_t)len * 2 + 1);
        if (!hex) { fputs("out of memory\n", stderr); return 2; }
        for (j = 0; j < len; j++) {
            static const char digits[] = "0123456789abcdef";
            unsigned char b = ((const unsigned char *)g_shm.mem)[off + j];
            hex[2 * j] = digits[b >> 4];
            hex[2 * j + 1] = digits[b & 15];
        }
        hex[2 * len] = 0;
        shm_unlock_or_fail();
        out("ok hex=%s", hex);
        free(hex);
        shm_finish();
    } else if (strcmp(cmd, "write") == 0) {
        long long off, len, j;
        const char *hex;
        NARGS(3, 3);
        off = num_arg(pos[2], "OFFSET");
        hex = pos[3];
        len = (long long)strlen(hex);
        if (off < 0) usage("negative OFFSET");
        if (len % 2) usage("odd-length HEX");
        for (j = 0; j < len; j++)
            if (hexval((unsigned char)hex[j]) < 0) usage("bad HEX");
        len /= 2;
        shm_setup(pos[1]);
        shm_attach_or_fail(0);
        shm_lock_or_fail();
        if (off + len > g_shm.size) {
            if (g_shm.locked) qshm_unlock(&g_shm);
            range_fail(&g_shm, "write", off, len);
        }
        for (j = 0; j < len; j++)
            ((unsigned char *)g_shm.mem)[off + j] =
                (unsigned char)(hexval((unsigned char)hex[2 * j]) * 16 + hexval((unsigned char)hex[2 * j + 1]));
        shm_unlock_or_fail();
        out("ok");
        shm_finish();
    } else if (strcmp(cmd, "hold-lock") == 0) {
        NARGS(1, 1);
        shm_setup(pos[1]);
        long long t;
        shm_attach_or_fail(0);
        out("ok attached");
        if (opt_barrier) wait_line();
        if (!qshm_lock(&g_shm, "QSharedMemory::lock")) shm_fail(&g_shm);
        shm_init_data();
        out("ok locked at=%lld", wall_ns());
        wait_eof();
        t = wall_ns();
        if (!qshm_unlock(&g_shm)) shm_fail(&g_shm);
        out("ok unlocked at=%lld", t);
        opt_hold = 0;
        shm_finish();
    } else if (strcmp(cmd, "counter") == 0) {
        long long n, j;
        uint64_t v = 0;
        NARGS(2, 2);
        n = num_arg(pos[2], "N");
        shm_setup(pos[1]);
        shm_attach_or_fail(0);
        if (g_shm.size < 8) range_fail(&g_shm, "counter", 0, 8);
        if (opt_barrier) {
            out("ready");
            wait_line();
        }
        for (j = 0; j < n; j++) {
            volatile unsigned char *p = (volatile unsigned char *)g_shm.mem;
            int b;
            shm_lock_or_fail();
            v = 0;
            for (b = 7; b >= 0; b--) v = (v << 8) | p[b];
            yield_cpu();
            v++;
            for (b = 0; b < 8; b++) p[b] = (unsigned char)(v >> (8 * b));
            shm_unlock_or_fail();
        }
        out("ok last=%llu", (unsigned long long)v);
        shm_finish();
    } else if (strcmp(cmd, "contend") == 0) {
        long long hold_ms, count = 0;
        double end;
        NARGS(3, 3);
        hold_ms = num_arg(pos[2], "HOLD_MS");
        end = (double)num_arg(pos[3], "DURATION_MS") * 1e6;
        shm_setup(pos[1]);
        shm_attach_or_fail(0);
        if (opt_barrier) {
            out("ready");
            wait_line();
        }
        end += now_ns();
        while (now_ns() < end) {
            shm_lock_or_fail();
            sleep_ms(hold_ms);
            shm_unlock_or_fail();
            count++;
        }
        out("ok count=%lld", count);
        shm_finish();
    } else if (strcmp(cmd, "truncate") == 0) {
        /* Not Qt: a misbehaving peer that cuts a POSIX segment short under
         * the processes that have it mapped (the fault tests). */
#ifndef _WIN32
        ipckey k;
        long long size;
        int fd;
        NARGS(2, 2);
        size = num_arg(pos[2], "SIZE");
        get_key(pos[1], &k);
        fd = shm_open(k.name, O_RDWR, 0);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
            out("err UnknownError truncate: %s", strerror(errno));
            return 1;
        }
        close(fd);
        out("ok");
        return 0;
#else
        usage("truncate is for POSIX segments");
#endif
    } else if (strcmp(cmd, "sem-create") == 0) {
        long long init;
        NARGS(2, 2);
        init = num_arg(pos[2], "INIT");
        sem_setup(&g_sem, pos[1], (int)init, 1);
        out("ok");
        if (opt_hold) wait_eof();
        qsem_destroy(&g_sem);
        return 0;
    } else if (strcmp(cmd, "sem-acquire") == 0) {
        long long count = 1, j;
        NARGS(1, 2);
        if (npos - 1 == 2) count = num_arg(pos[2], "COUNT");
        sem_setup(&g_sem, pos[1], 0, 0);
        for (j = 0; j < count; j++)
            if (!qsem_acquire(&g_sem)) sem_fail(&g_sem);
        out("ok");
        if (opt_hold) wait_eof();
        qsem_destroy(&g_sem);
        return 0;
    } else if (strcmp(cmd, "sem-release") == 0) {
        long long n;
        NARGS(2, 2);
        n = num_arg(pos[2], "N");
        sem_setup(&g_sem, pos[1], 0, 0);
        if (!qsem_release(&g_sem, (int)n)) {
            if (!g_sem.err.kind) err_set(&g_sem.err, "UnknownError", "QSystemSemaphore::release: n is negative.");
            sem_fail(&g_sem);
        }
        out("ok");
        if (opt_hold) wait_eof();
        qsem_destroy(&g_sem);
        return 0;
    } else if (strcmp(cmd, "bench-lock") == 0) {
        long long n, j;
        double t0, t1;
        NARGS(2, 2);
        n = num_arg(pos[2], "N");
        shm_setup(pos[1]);
        shm_attach_or_fail(0);
        t0 = now_ns();
        for (j = 0; j < n; j++) {
            if (!qshm_lock(&g_shm, "QSharedMemory::lock")) shm_fail(&g_shm);
            if (!qshm_unlock(&g_shm)) shm_fail(&g_shm);
        }
        t1 = now_ns();
        out("ok ns_per_op=%.1f", n > 0 ? (t1 - t0) / (double)n : 0.0);
        shm_finish();
    } else if (strcmp(cmd, "bench-sem") == 0) {
        long long n, j;
        double t0, t1;
        NARGS(2, 2);
        n = num_arg(pos[2], "N");
        sem_setup(&g_sem, pos[1], 1, 1);
        t0 = now_ns();
        for (j = 0; j < n; j++) {
            if (!qsem_acquire(&g_sem)) sem_fail(&g_sem);
            if (!qsem_release(&g_sem, 1)) sem_fail(&g_sem);
        }
        t1 = now_ns();
        out("ok ns_per_op=%.1f", n > 0 ? (t1 - t0) / (double)n : 0.0);
        if (opt_hold) wait_eof();
        qsem_destroy(&g_sem);
        return 0;
    } else if (strcmp(cmd, "bench-memcpy") == 0) {
        long long size, n, j;
        unsigned char *src, *dst;
        double t0, t1, secs;
        volatile unsigned char sink = 0;
        NARGS(2, 2);
        size = num_arg(pos[1], "SIZE");
        n = num_arg(pos[2], "N");
        if (size <= 0 || n <= 0) usage("SIZE and N must be positive");
        src = (unsigned char *)malloc((size_t)size);
        dst = (unsigned char *)malloc((size_t)size);
        if (!src || !dst) { fputs("out of memory\n", stderr); return 2; }
        memset(src, 0x5a, (size_t)size);
        memset(dst, 0, (size_t)size);
        t0 = now_ns();
        for (j = 0; j < n; j++) {
            src[(size_t)j % (size_t)size] = (unsigned char)j;
            memcpy(dst, src, (size_t)size);
            sink = (unsigned char)(sink ^ dst[(size_t)j % (size_t)size]);
        }
        t1 = now_ns();
        (void)sink;
        secs = (t1 - t0) / 1e9;
        out("ok mb_per_s=%.1f", secs > 0 ? (double)size * (double)n / 1e6 / secs : 0.0);
        free(src);
        free(dst);
        return 0;
    } else if (strcmp(cmd, "pingpong") == 0) {
        long long n, j;
        int role_a;
        double t0, t1;
        NARGS(4, 4);
        n = num_arg(pos[3], "N");
        if (strcmp(pos[4], "a") == 0) role_a = 1;
        else if (strcmp(pos[4], "b") == 0) role_a = 0;
        else usage("ROLE must be a or b");
        sem_setup(&g_sem, pos[1], 0, 0);
        sem_setup(&g_sem2, pos[2], 0, 0);
        t0 = now_ns();
        for (j = 0; j < n; j++) {
            if (role_a) {
                if (!qsem_release(&g_sem, 1)) { qsem_destroy(&g_sem2); sem_fail(&g_sem); }
                if (!qsem_acquire(&g_sem2)) { qsem_destroy(&g_sem); sem_fail(&g_sem2); }
            } else {
                if (!qsem_acquire(&g_sem)) { qsem_destroy(&g_sem2); sem_fail(&g_sem); }
                if (!qsem_release(&g_sem2, 1)) { qsem_destroy(&g_sem); sem_fail(&g_sem2); }
            }
        }
        t1 = now_ns();
        if (role_a)
            out("ok ns_per_roundtrip=%.1f", n > 0 ? (t1 - t0) / (double)n : 0.0);
        else
            out("ok");
        if (opt_hold) wait_eof();
        qsem_destroy(&g_sem);
        qsem_destroy(&g_sem2);
        return 0;
    }
    usage("unknown command");
    return 2;
}
