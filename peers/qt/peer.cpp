// qtpeer: interop peer for qipc built against a legacy Qt (5.15 … 6.5), QtCore only.
//
//   qtpeer COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] [--init HEX] [--lock LOCKKEY]
//
// See ../PROTOCOL.md. These Qt versions have no QNativeIpcKey, so KEY (the QNativeIpcKey::toString() form) is parsed
// here. Only the System V scheme exists in these Qt builds:
//   * KEY with ?legacyKey=L  -> QSharedMemory(L) / QSystemSemaphore(L, …); the native key Qt derives from L must equal
//                               the path in KEY (else "err KeyError mismatch …", exit 1) — this checks qipc's
//                               legacy-key derivation against Qt's own.
//   * KEY without legacy key -> QSharedMemory::setNativeKey(path). Qt <= 6.5 has no lock semaphore for native keys:
//                               read/write skip lock()/unlock(); counter (without --nolock) and hold-lock call lock()
//                               and report Qt's LockError. sem-* commands need a legacy key (no native-key API).
// --lock is accepted and ignored (Qt chooses its own lock semaphore).
//
// Benchmark commands (not in PROTOCOL.md; as the C peer's, see ../c/README.md; timing on std::chrono::steady_clock):
//   bench-lock KEY N              attach ReadWrite, N x (lock(); unlock())          -> ok ns_per_op=<float>
//   bench-sem KEY N               QSystemSemaphore(KEY, 1, Create), N x (acquire(); release()) -> ok ns_per_op=<float>
//   pingpong KEY1 KEY2 N ROLE     both QSystemSemaphore(K, 0, Open); a: N x {K1.release(); K2.acquire()},
//                                 b: N x {K1.acquire(); K2.release()}   -> a: ok ns_per_roundtrip=<float>, b: ok
//   bench-cycle KEY N SIZE        N x {QSharedMemory c(KEY); c.create(SIZE); QSharedMemory a(KEY); a.attach();
//                                 a.detach(); c.detach()}                            -> ok ns_per_op=<float>
//   bench-attach KEY N            one QSharedMemory: N x (attach(); detach())       -> ok ns_per_op=<float>

#include <QtCore/QByteArray>
#include <QtCore/QSharedMemory>
#include <QtCore/QString>
#include <QtCore/QSystemSemaphore>
#include <QtCore/QtEndian>
#include <QtGlobal>

#if QT_VERSION >= QT_VERSION_CHECK(6, 6, 0)
#error "qtpeer targets Qt 5.15 … 6.5 (no QNativeIpcKey); use the PySide6 peer for Qt 6.6+"
#endif

#include "errorname.h"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <sched.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {


const char *semErrorName(QSystemSemaphore::SystemSemaphoreError e)
{
    switch (e) {
    case QSystemSemaphore::NoError: return "NoError";
    case QSystemSemaphore::PermissionDenied: return "PermissionDenied";
    case QSystemSemaphore::KeyError: return "KeyError";
    case QSystemSemaphore::AlreadyExists: return "AlreadyExists";
    case QSystemSemaphore::NotFound: return "NotFound";
    case QSystemSemaphore::OutOfResources: return "OutOfResources";
    case QSystemSemaphore::UnknownError: return "UnknownError";
    }
    return "UnknownError";
}

void out(const std::string &line)
{
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// A failure unwinds the stack (so the Qt objects' destructors run and do Qt's own clean-up, as they would in a Qt
// program), then main() prints the line and returns 1.
struct Failure {
    std::string line;
};

[[noreturn]] void fail(const char *kind, const QString &msg)
{
    throw Failure{std::string("err ") + kind + " " + msg.toStdString()};
}

[[noreturn]] void usage(const std::string &msg)
{
    std::fprintf(stderr, "qtpeer: %s\nusage: qtpeer COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] "
                         "[--init HEX] [--lock LOCKKEY]\n",
                 msg.c_str());
    std::exit(2);
}

void waitForStdinEof()
{
    char buf[256];
    for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n == 0)
            return;
        if (n < 0 && errno != EINTR)
            return;
    }
}

// The --barrier wait: one line (or EOF) on stdin.
void waitForLine()
{
    char c;
    for (;;) {
        ssize_t n = ::read(0, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == '\n')
            return;
    }
}

// hold-lock's at=T: CLOCK_REALTIME in ns, comparable between processes.
long long wallNs()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int hexVal(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX -> byte; a '%' not followed by two hex digits stays literal (as QUrl's tolerant decoding does).
QString percentDecode(const std::string &s)
{
    QByteArray b;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hexVal(s[i + 1]) >= 0 && hexVal(s[i + 2]) >= 0) {
            b.append(char(hexVal(s[i + 1]) * 16 + hexVal(s[i + 2])));
            i += 2;
        } else {
            b.append(s[i]);
        }
    }
    return QString::fromUtf8(b);
}

struct Key {
    int type = 0;        // 0x51 = SystemV, 1..0xff non-standard System V, 0x100 posix, 0x101 windows
    QString nativeKey;
    QString legacyKey;   // empty = none
};

// Subset of QNativeIpcKey::fromString (docs/qt-ipc.md §1.2). Returns false for an invalid key.
bool parseKey(const std::string &text, Key &k)
{
    std::string t = text;
    size_t hash = t.find('#');
    if (hash != std::string::npos)
        t.resize(hash);
    size_t colon = t.find(':');
    if (colon == std::string::npos || colon == 0)
        return false;
    std::string scheme = t.substr(0, colon);
    for (size_t i = 0; i < scheme.size(); ++i) {
        char c = scheme[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool ok = alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'));
        if (!ok)
            return false;
        if (c >= 'A' && c <= 'Z')
            scheme[i] = char(c - 'A' + 'a');
    }
    if (scheme == "posix") {
        k.type = 0x100;
    } else if (scheme == "windows") {
        k.type = 0x101;
    } else if (scheme == "systemv") {
        k.type = 0x51;
    } else if (scheme.compare(0, 7, "systemv") == 0) {
        bool ok = false;
        int v = QString::fromStdString(scheme.substr(7)).toInt(&ok, 10);
        if (!ok || -v < 1 || -v > 0xff)
            return false;
        k.type = -v;
    } else {
        return false;
    }
    std::string rest = t.substr(colon + 1);
    std::string query;
    bool hasQuery = false;
    size_t q = rest.find('?');
    if (q != std::string::npos) {
        query = rest.substr(q + 1);
        hasQuery = true;
        rest.resize(q);
    }
    if (rest.compare(0, 2, "//") == 0) {
        // authority: only an empty one is accepted
        size_t slash = rest.find('/', 2);
        std::string auth = rest.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
        if (!auth.empty())
            return false;
        rest = slash == std::string::npos ? std::string() : rest.substr(slash);
    }
    k.nativeKey = percentDecode(rest);
    if (hasQuery && !query.empty()) {
        size_t pos = 0;
        for (;;) {
            size_t amp = query.find('&', pos);
            std::string item = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
            size_t eq = item.find('=');
            std::string name = item.substr(0, eq);
            if (name != "legacyKey")
                return false;
            k.legacyKey = eq == std::string::npos ? QString() : percentDecode(item.substr(eq + 1));
            if (amp == std::string::npos)
                break;
            pos = amp + 1;
        }
    }
    return true;
}

bool parseInt64(const std::string &s, long long &v)
{
    if (s.empty())
        return false;
    char *end = nullptr;
    errno = 0;
    v = std::strtoll(s.c_str(), &end, 10);
    return errno == 0 && end && *end == '\0';
}

std::string toHex(const unsigned char *p, qint64 n)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(size_t(n) * 2);
    for (qint64 i = 0; i < n; ++i) {
        s.push_back(digits[p[i] >> 4]);
        s.push_back(digits[p[i] & 15]);
    }
    return s;
}

bool fromHex(const std::string &s, std::vector<unsigned char> &out)
{
    if (s.size() % 2)
        return false;
    for (size_t i = 0; i < s.size(); i += 2) {
        int a = hexVal(s[i]), b = hexVal(s[i + 1]);
        if (a < 0 || b < 0)
            return false;
        out.push_back((unsigned char)(a * 16 + b));
    }
    return true;
}

[[noreturn]] void failShm(const QSharedMemory &shm)
{
    fail(shmErrorName(shm.error()), shm.errorString());
}

[[noreturn]] void failSem(const QSystemSemaphore &sem)
{
    fail(semErrorName(sem.error()), sem.errorString());
}

double nowNs()
{
    return double(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

std::string perOp(const char *name, double t0, double t1, long long n)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, "ok %s=%.1f", name, n > 0 ? (t1 - t0) / double(n) : 0.0);
    return buf;
}

QString qtVersionTag()
{
    return QStringLiteral("Qt ") + QString::fromLatin1(qVersion());
}

void checkType(const Key &k)
{
    if (k.type != 0x51)
        fail("KeyError", QStringLiteral("qtpeer: unsupported key type (%1 only has System V keys with ftok id 'Q')")
                             .arg(qtVersionTag()));
}

// Binds shm to the key: QSharedMemory(L) semantics via setKey(L), or setNativeKey(path).
void bindShm(QSharedMemory &shm, const Key &k)
{
    checkType(k);
    if (!k.legacyKey.isEmpty()) {
        shm.setKey(k.legacyKey);
        if (shm.nativeKey() != k.nativeKey)
            fail("KeyError", QStringLiteral("mismatch: %1 QSharedMemory(\"%2\").nativeKey() = %3, key says %4")
                                 .arg(qtVersionTag(), k.legacyKey, shm.nativeKey(), k.nativeKey));
    } else {
        shm.setNativeKey(k.nativeKey);
    }
}

// The System V file Qt <= 6.5 uses for QSystemSemaphore(L): same derivation as the segment with prefix
// qipc_systemsem_ instead of qipc_sharedmemory_ (Qt's makePlatformSafeKey(L, "qipc_systemsem_")).
QString legacySemNativeKey(const QString &legacy)
{
    QSharedMemory probe;
    probe.setKey(legacy);
    QString n = probe.nativeKey();
    const QString shmPrefix = QStringLiteral("/qipc_sharedmemory_");
    int i = n.lastIndexOf(shmPrefix);
    if (i < 0)
        return QString();
    return n.left(i) + QStringLiteral("/qipc_systemsem_") + n.mid(i + shmPrefix.size());
}

void checkSemKey(const Key &k)
{
    checkType(k);
    if (k.legacyKey.isEmpty())
        fail("KeyError", QStringLiteral("qtpeer: %1 QSystemSemaphore has no native-key API; the key needs ?legacyKey=")
                             .arg(qtVersionTag()));
    QString derived = legacySemNativeKey(k.legacyKey);
    if (derived != k.nativeKey)
        fail("KeyError", QStringLiteral("mismatch: %1 QSystemSemaphore(\"%2\") uses %3, key says %4")
                             .arg(qtVersionTag(), k.legacyKey, derived, k.nativeKey));
}

} // namespace

int run(int argc, char **argv)
{
    bool ro = false, hold = false, nolock = false, barrier = false;
    std::string init;
    std::vector<std::string> pos;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--ro") ro = true;
        else if (a == "--hold") hold = true;
        else if (a == "--nolock") nolock = true;
        else if (a == "--barrier") barrier = true;
        else if (a == "--init") {
            if (++i >= argc)
                usage("--init needs an argument");
            init = argv[i];
        }
        else if (a == "--lock") {
            if (++i >= argc)
                usage("--lock needs an argument");
        } else if (a.size() > 2 && a.compare(0, 2, "--") == 0)
            usage("unknown option " + a);
        else
            pos.push_back(a);
    }
    if (pos.size() < 2)
        usage("missing COMMAND or KEY");
    const std::string cmd = pos[0];
    Key key;
    if (!parseKey(pos[1], key))
        fail("KeyError", QStringLiteral("qtpeer: invalid key string ") + QString::fromStdString(pos[1]));
    auto nargs = [&](size_t lo, size_t hi) {
        if (pos.size() - 2 < lo || pos.size() - 2 > hi)
            usage("wrong number of arguments for " + cmd);
    };
    auto num = [&](size_t idx, long long lo) {
        long long v;
        if (!parseInt64(pos[idx], v) || v < lo)
            usage("bad number " + pos[idx]);
        return v;
    };
    const bool haveLock = !key.legacyKey.isEmpty(); // Qt <= 6.5: no lock semaphore for native keys
    // --init HEX: copy HEX to offset 0, under the lock unless held already.
    auto initData = [&](QSharedMemory &shm, bool held) {
        if (init.empty())
            return;
        std::vector<unsigned char> bytes;
        if (!fromHex(init, bytes))
            usage("bad --init hex " + init);
        if ((long long)bytes.size() > (long long)shm.size())
            fail("InvalidSize", QStringLiteral("qtpeer: --init of %1 bytes exceeds size %2")
                                    .arg(qulonglong(bytes.size())).arg((long long)shm.size()));
        if (!held && haveLock && !shm.lock())
            failShm(shm);
        std::memcpy(shm.data(), bytes.data(), bytes.size());
        if (!held && haveLock && !shm.unlock())
            failShm(shm);
    };
    // The end of every segment command: hold if asked, then detach as the
    // destructor would, but reporting a detach that fails.
    auto finish = [&](QSharedMemory &shm) {
        if (hold)
            waitForStdinEof();
        if (shm.isAttached() && !shm.detach())
            failShm(shm);
        return 0;
    };

    if (cmd == "create") {
        nargs(1, 1);
        long long size;
        if (!parseInt64(pos[2], size))
            usage("bad size " + pos[2]);
        QSharedMemory shm;
        bindShm(shm, key);
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
        qsizetype qsize = qsizetype(size);
#else
        int qsize = (size > INT32_MAX || size < INT32_MIN) ? int(uint32_t(uint64_t(size))) : int(size);
#endif
        if (!shm.create(qsize, ro ? QSharedMemory::ReadOnly : QSharedMemory::ReadWrite))
            failShm(shm);
        initData(shm, false);
        out("ok size=" + std::to_string((long long)shm.size()));
        return finish(shm);
    }
    if (cmd == "attach") {
        nargs(0, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(ro ? QSharedMemory::ReadOnly : QSharedMemory::ReadWrite))
            failShm(shm);
        initData(shm, false);
        out("ok size=" + std::to_string((long long)shm.size()));
        return finish(shm);
    }
    if (cmd == "read") {
        nargs(2, 2);
        long long off = num(2, 0), len = num(3, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadOnly))
            failShm(shm);
        if (off + len > (long long)shm.size())
            fail("InvalidSize", QStringLiteral("qtpeer: read range %1+%2 exceeds size %3")
                                    .arg(off).arg(len).arg((long long)shm.size()));
        if (haveLock && !shm.lock())
            failShm(shm);
        std::string hex = toHex(static_cast<const unsigned char *>(shm.constData()) + off, len);
        if (haveLock && !shm.unlock())
            failShm(shm);
        out("ok hex=" + hex);
        return finish(shm);
    }
    if (cmd == "write") {
        nargs(2, 2);
        long long off = num(2, 0);
        std::vector<unsigned char> bytes;
        if (!fromHex(pos[3], bytes))
            usage("bad hex " + pos[3]);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        if (off + (long long)bytes.size() > (long long)shm.size())
            fail("InvalidSize", QStringLiteral("qtpeer: write range %1+%2 exceeds size %3")
                                    .arg(off).arg(qulonglong(bytes.size())).arg((long long)shm.size()));
        if (haveLock && !shm.lock())
            failShm(shm);
        if (!bytes.empty())
            std::memcpy(static_cast<unsigned char *>(shm.data()) + off, bytes.data(), bytes.size());
        if (haveLock && !shm.unlock())
            failShm(shm);
        out("ok");
        return finish(shm);
    }
    if (cmd == "lock-detach") {
        // Not in the core protocol: detach() while holding lock(). Qt's
        // internal locker unlocks on the way out of detach(), so the
        // lock is free after "ok detached"; the unlock() that follows
        // reports whether the object still held it.
        nargs(0, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        if (!shm.lock())
            failShm(shm);
        if (!shm.detach())
            failShm(shm);
        out("ok detached");
        waitForLine();
        out(std::string("ok unlock=") + (shm.unlock() ? "true" : "false"));
        return 0;
    }
    if (cmd == "hold-lock") {
        nargs(0, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        out("ok attached");
        if (barrier)
            waitForLine();
        if (!shm.lock())
            failShm(shm);
        initData(shm, true);
        out("ok locked at=" + std::to_string(wallNs()));
        waitForStdinEof();
        long long t = wallNs();
        if (!shm.unlock())
            failShm(shm);
        out("ok unlocked at=" + std::to_string(t));
        hold = false;
        return finish(shm);
    }
    if (cmd == "counter") {
        nargs(1, 1);
        long long n = num(2, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        if (shm.size() < 8)
            fail("InvalidSize", QStringLiteral("qtpeer: counter needs 8 bytes, segment has %1")
                                    .arg((long long)shm.size()));
        unsigned char *p = static_cast<unsigned char *>(shm.data());
        quint64 last = 0;
        if (barrier) {
            out("ready");
            waitForLine();
        }
        for (long long i = 0; i < n; ++i) {
            if (!nolock && !shm.lock())
                failShm(shm);
            quint64 v = qFromLittleEndian<quint64>(p);
            sched_yield();
            last = v + 1;
            qToLittleEndian<quint64>(last, p);
            if (!nolock && !shm.unlock())
                failShm(shm);
        }
        out("ok last=" + std::to_string((unsigned long long)last));
        return finish(shm);
    }
    if (cmd == "contend") {
        nargs(2, 2);
        long long holdMs = num(2, 0), durationMs = num(3, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        if (barrier) {
            out("ready");
            waitForLine();
        }
        long long count = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(durationMs);
        while (std::chrono::steady_clock::now() < end) {
            if (!shm.lock())
                failShm(shm);
            std::this_thread::sleep_for(std::chrono::milliseconds(holdMs));
            if (!shm.unlock())
                failShm(shm);
            ++count;
        }
        out("ok count=" + std::to_string(count));
        return finish(shm);
    }
    if (cmd == "sem-create") {
        nargs(1, 1);
        long long init;
        if (!parseInt64(pos[2], init) || init < INT32_MIN || init > INT32_MAX)
            usage("bad initial value " + pos[2]);
        checkSemKey(key);
        QSystemSemaphore sem(key.legacyKey, int(init), QSystemSemaphore::Create);
        if (sem.error() != QSystemSemaphore::NoError)
            failSem(sem);
        out("ok");
        if (hold)
            waitForStdinEof();
        return 0;
    }
    if (cmd == "sem-acquire") {
        nargs(0, 1);
        long long count = pos.size() > 2 ? num(2, 0) : 1;
        checkSemKey(key);
        QSystemSemaphore sem(key.legacyKey, 0, QSystemSemaphore::Open);
        if (sem.error() != QSystemSemaphore::NoError)
            failSem(sem);
        for (long long i = 0; i < count; ++i)
            if (!sem.acquire())
                failSem(sem);
        out("ok");
        if (hold)
            waitForStdinEof();
        return 0;
    }
    if (cmd == "sem-release") {
        nargs(1, 1);
        long long n;
        if (!parseInt64(pos[2], n) || n < INT32_MIN || n > INT32_MAX)
            usage("bad count " + pos[2]);
        checkSemKey(key);
        QSystemSemaphore sem(key.legacyKey, 0, QSystemSemaphore::Open);
        if (sem.error() != QSystemSemaphore::NoError)
            failSem(sem);
        if (!sem.release(int(n))) {
            if (sem.error() == QSystemSemaphore::NoError)
                fail("UnknownError", QStringLiteral("QSystemSemaphore::release: n is negative."));
            failSem(sem);
        }
        out("ok");
        if (hold)
            waitForStdinEof();
        return 0;
    }
    if (cmd == "bench-lock") {
        nargs(1, 1);
        long long n = num(2, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        if (!shm.attach(QSharedMemory::ReadWrite))
            failShm(shm);
        double t0 = nowNs();
        for (long long i = 0; i < n; ++i) {
            if (!shm.lock())
                failShm(shm);
            if (!shm.unlock())
                failShm(shm);
        }
        double t1 = nowNs();
        out(perOp("ns_per_op", t0, t1, n));
        if (hold)
            waitForStdinEof();
        shm.detach();
        return 0;
    }
    if (cmd == "bench-sem") {
        nargs(1, 1);
        long long n = num(2, 0);
        checkSemKey(key);
        QSystemSemaphore sem(key.legacyKey, 1, QSystemSemaphore::Create);
        if (sem.error() != QSystemSemaphore::NoError)
            failSem(sem);
        double t0 = nowNs();
        for (long long i = 0; i < n; ++i) {
            if (!sem.acquire())
                failSem(sem);
            if (!sem.release())
                failSem(sem);
        }
        double t1 = nowNs();
        out(perOp("ns_per_op", t0, t1, n));
        if (hold)
            waitForStdinEof();
        return 0;
    }
    if (cmd == "pingpong") {
        nargs(3, 3);
        Key key2;
        if (!parseKey(pos[2], key2))
            fail("KeyError", QStringLiteral("qtpeer: invalid key string ") + QString::fromStdString(pos[2]));
        long long n = num(3, 0);
        const bool roleA = pos[4] == "a";
        if (!roleA && pos[4] != "b")
            usage("ROLE must be a or b");
        checkSemKey(key);
        checkSemKey(key2);
        QSystemSemaphore s1(key.legacyKey, 0, QSystemSemaphore::Open);
        if (s1.error() != QSystemSemaphore::NoError)
            failSem(s1);
        QSystemSemaphore s2(key2.legacyKey, 0, QSystemSemaphore::Open);
        if (s2.error() != QSystemSemaphore::NoError)
            failSem(s2);
        double t0 = nowNs();
        for (long long i = 0; i < n; ++i) {
            if (roleA) {
                if (!s1.release())
                    failSem(s1);
                if (!s2.acquire())
                    failSem(s2);
            } else {
                if (!s1.acquire())
                    failSem(s1);
                if (!s2.release())
                    failSem(s2);
            }
        }
        double t1 = nowNs();
        out(roleA ? perOp("ns_per_roundtrip", t0, t1, n) : std::string("ok"));
        if (hold)
            waitForStdinEof();
        return 0;
    }
    if (cmd == "bench-cycle") {
        nargs(2, 2);
        long long n = num(2, 0), size = num(3, 1);
        checkType(key);
        double t0 = nowNs();
        for (long long i = 0; i < n; ++i) {
            QSharedMemory c;
            bindShm(c, key);
            if (!c.create(int(size), QSharedMemory::ReadWrite))
                failShm(c);
            QSharedMemory a;
            bindShm(a, key);
            if (!a.attach(QSharedMemory::ReadWrite))
                failShm(a);
            if (!a.detach())
                failShm(a);
            if (!c.detach())
                failShm(c);
        }
        double t1 = nowNs();
        out(perOp("ns_per_op", t0, t1, n));
        return 0;
    }
    if (cmd == "bench-attach") {
        nargs(1, 1);
        long long n = num(2, 0);
        QSharedMemory shm;
        bindShm(shm, key);
        double t0 = nowNs();
        for (long long i = 0; i < n; ++i) {
            if (!shm.attach(QSharedMemory::ReadWrite))
                failShm(shm);
            if (!shm.detach())
                failShm(shm);
        }
        double t1 = nowNs();
        out(perOp("ns_per_op", t0, t1, n));
        return 0;
    }
    usage("unknown command " + cmd);
}

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const Failure &f) {
        out(f.line);
        return 1;
    }
}
