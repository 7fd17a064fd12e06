#!/usr/bin/env python3
"""PySide6 (Qt 6.6+) interop peer for qipc.

    peer.py COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] [--init HEX] [--lock LOCKKEY]

See ../PROTOCOL.md. KEY is parsed with QNativeIpcKey.fromString(); QSharedMemory(key) and
QSystemSemaphore(key, init, mode) are used directly, so Qt chooses the lock semaphore itself
(--lock is accepted and ignored). Errors: "err <Kind> <errorString>", Kind = Qt enumerator name.

Bench commands (as in the C and Qt 5/6.4 peers; figures include the Python loop around each call):
    bench-lock KEY N, bench-sem KEY N, pingpong KEY1 KEY2 N a|b, bench-cycle KEY N SIZE, bench-attach KEY N

Notes on PySide6: QSharedMemory.data() and constData() return a memoryview over the mapping
(writes go straight to shared memory). On a ReadOnly attachment data() still claims to be
writable, but writing would crash (SIGSEGV), so reads always go through constData().
"""

import os
import struct
import sys
import time

from PySide6.QtCore import QNativeIpcKey, QSharedMemory, QSystemSemaphore

USAGE = "usage: peer.py COMMAND KEY [ARGS...] [--ro] [--hold] [--nolock] [--barrier] [--init HEX] [--lock LOCKKEY]"
U64 = struct.Struct("<Q")


class Failure(Exception):
    """Carries the 'err …' line; raised so Qt objects are destroyed before the line is printed."""


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def usage(msg):
    sys.stderr.write("peer.py: %s\n%s\n" % (msg, USAGE))
    sys.exit(2)


def wait_eof():
    fd = sys.stdin.fileno()
    while True:
        try:
            if not os.read(fd, 256):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def shm_fail(shm):
    raise Failure("err %s %s" % (shm.error().name, shm.errorString()))


def sem_fail(sem):
    raise Failure("err %s %s" % (sem.error().name, sem.errorString()))


def attached(key):
    shm = QSharedMemory(key)
    if not shm.attach(QSharedMemory.AccessMode.ReadWrite):
        shm_fail(shm)
    return shm


def to_int(s, lo=None):
    try:
        v = int(s, 10)
    except ValueError:
        usage("bad number " + s)
    if lo is not None and v < lo:
        usage("bad number " + s)
    return v


def nargs(cmd, args, lo, hi):
    if not lo <= len(args) <= hi:
        usage("wrong number of arguments for " + cmd)


def finish(shm, hold):
    """The end of every segment command: hold if asked, then detach as the destructor would, reporting a failure."""
    if hold:
        wait_eof()
    if shm.isAttached() and not shm.detach():
        shm_fail(shm)


def init_data(shm, init, held):
    """--init HEX: copy HEX to offset 0, under the lock unless it is held already."""
    if init is None:
        return
    try:
        data = bytes.fromhex(init)
    except ValueError:
        usage("bad --init hex " + init)
    if len(data) > shm.size():
        raise Failure("err InvalidSize peer.py: --init of %d bytes exceeds size %d" % (len(data), shm.size()))
    if not held and not shm.lock():
        shm_fail(shm)
    shm.data()[0:len(data)] = data
    if not held and not shm.unlock():
        shm_fail(shm)


def wait_line():
    """The --barrier wait: one line (or EOF) on stdin."""
    fd = sys.stdin.fileno()
    while True:
        try:
            c = os.read(fd, 1)
        except InterruptedError:
            continue
        if not c or c == b"\n":
            return


def run(cmd, key, args, o):
    access = QSharedMemory.AccessMode.ReadOnly if o.ro else QSharedMemory.AccessMode.ReadWrite
    hold = o.hold

    if cmd in ("create", "attach"):
        shm = QSharedMemory(key)
        if cmd == "create":
            nargs(cmd, args, 1, 1)
            if not shm.create(to_int(args[0]), access):
                shm_fail(shm)
        else:
            nargs(cmd, args, 0, 0)
            if not shm.attach(access):
                shm_fail(shm)
        init_data(shm, o.init, False)
        out("ok size=%d" % shm.size())
        finish(shm, hold)
        return

    if cmd == "truncate":
        # Not Qt: a misbehaving Qt application that attached the segment
        # and then cuts it short under the others (the fault tests).
        nargs(cmd, args, 1, 1)
        if key.type() != QNativeIpcKey.Type.PosixRealtime:
            usage("truncate needs a POSIX key")
        shm = attached(key)
        os.truncate("/dev/shm" + key.nativeKey(), to_int(args[0], 0))
        out("ok")
        finish(shm, hold)
        return

    if cmd == "read":
        nargs(cmd, args, 2, 2)
        off, length = to_int(args[0], 0), to_int(args[1], 0)
        shm = QSharedMemory(key)
        if not shm.attach(QSharedMemory.AccessMode.ReadOnly):
            shm_fail(shm)
        if off + length > shm.size():
            raise Failure("err InvalidSize peer.py: read range %d+%d exceeds size %d" % (off, length, shm.size()))
        if not shm.lock():
            shm_fail(shm)
        data = bytes(shm.constData()[off:off + length])
        if not shm.unlock():
            shm_fail(shm)
        out("ok hex=" + data.hex())
        finish(shm, hold)
        return

    if cmd == "write":
        nargs(cmd, args, 2, 2)
        off = to_int(args[0], 0)
        try:
            data = bytes.fromhex(args[1])
        except ValueError:
            usage("bad hex " + args[1])
        shm = attached(key)
        if off + len(data) > shm.size():
            raise Failure("err InvalidSize peer.py: write range %d+%d exceeds size %d" % (off, len(data), shm.size()))
        if not shm.lock():
            shm_fail(shm)
        if data:
            shm.data()[off:off + len(data)] = data
        if not shm.unlock():
            shm_fail(shm)
        out("ok")
        finish(shm, hold)
        return

    if cmd == "lock-detach":
        # Not in the core protocol: detach() while holding lock(); see
        # peers/qt/peer.cpp.
        nargs(cmd, args, 0, 0)
        shm = attached(key)
        if not shm.lock():
            shm_fail(shm)
        if not shm.detach():
            shm_fail(shm)
        out("ok detached")
        wait_line()
        out("ok unlock=%s" % ("true" if shm.unlock() else "false"))
        return

    if cmd == "hold-lock":
        nargs(cmd, args, 0, 0)
        shm = attached(key)
        out("ok attached")
        if o.barrier:
            wait_line()
        if not shm.lock():
            shm_fail(shm)
        init_data(shm, o.init, True)
        out("ok locked at=%d" % time.time_ns())
        wait_eof()
        t = time.time_ns()
        if not shm.unlock():
            shm_fail(shm)
        out("ok unlocked at=%d" % t)
        finish(shm, False)
        return

    if cmd == "counter":
        nargs(cmd, args, 1, 1)
        n = to_int(args[0], 0)
        shm = attached(key)
        if shm.size() < 8:
            raise Failure("err InvalidSize peer.py: counter needs 8 bytes, segment has %d" % shm.size())
        mem = shm.data()
        unpack, pack, yield_cpu = U64.unpack_from, U64.pack_into, os.sched_yield
        last = 0
        if o.barrier:
            out("ready")
            wait_line()
        if o.nolock:
            for _ in range(n):
                v = unpack(mem, 0)[0]
                yield_cpu()
                last = (v + 1) & 0xFFFFFFFFFFFFFFFF
                pack(mem, 0, last)
        else:
            lock, unlock = shm.lock, shm.unlock
            for _ in range(n):
                if not lock():
                    shm_fail(shm)
                v = unpack(mem, 0)[0]
                yield_cpu()
                last = (v + 1) & 0xFFFFFFFFFFFFFFFF
                pack(mem, 0, last)
                if not unlock():
                    shm_fail(shm)
        mem.release()
        out("ok last=%d" % last)
        finish(shm, hold)
        return

    if cmd == "contend":
        nargs(cmd, args, 2, 2)
        hold_s, duration_ns = to_int(args[0], 0) / 1000, to_int(args[1], 0) * 1000000
        shm = attached(key)
        if o.barrier:
            out("ready")
            wait_line()
        count, end = 0, time.monotonic_ns() + duration_ns
        while time.monotonic_ns() < end:
            if not shm.lock():
                shm_fail(shm)
            time.sleep(hold_s)
            if not shm.unlock():
                shm_fail(shm)
            count += 1
        out("ok count=%d" % count)
        finish(shm, hold)
        return

    if cmd == "sem-create":
        nargs(cmd, args, 1, 1)
        init = to_int(args[0])
        sem = QSystemSemaphore(key, init, QSystemSemaphore.AccessMode.Create)
        if sem.error() != QSystemSemaphore.SystemSemaphoreError.NoError:
            sem_fail(sem)
        out("ok")
        if hold:
            wait_eof()
        del sem
        return

    if cmd == "sem-acquire":
        nargs(cmd, args, 0, 1)
        count = to_int(args[0], 0) if args else 1
        sem = QSystemSemaphore(key, 0, QSystemSemaphore.AccessMode.Open)
        if sem.error() != QSystemSemaphore.SystemSemaphoreError.NoError:
            sem_fail(sem)
        for _ in range(count):
            if not sem.acquire():
                sem_fail(sem)
        out("ok")
        if hold:
            wait_eof()
        del sem
        return

    if cmd == "sem-release":
        nargs(cmd, args, 1, 1)
        n = to_int(args[0])
        sem = QSystemSemaphore(key, 0, QSystemSemaphore.AccessMode.Open)
        if sem.error() != QSystemSemaphore.SystemSemaphoreError.NoError:
            sem_fail(sem)
        if not sem.release(n):
            if sem.error() == QSystemSemaphore.SystemSemaphoreError.NoError:
                raise Failure("err UnknownError QSystemSemaphore::release: n is negative.")
            sem_fail(sem)
        out("ok")
        if hold:
            wait_eof()
        del sem
        return

    if cmd.startswith("bench-") or cmd == "pingpong":
        bench(cmd, key, args, hold)
        return

    usage("unknown command " + cmd)


def per_op(name, t0, n):
    return "ok %s=%.1f" % (name, (time.perf_counter_ns() - t0) / max(n, 1))


def bench(cmd, key, args, hold):
    rw = QSharedMemory.AccessMode.ReadWrite
    if cmd == "bench-lock":
        nargs(cmd, args, 1, 1)
        n = to_int(args[0], 0)
        shm = attached(key)
        lock, unlock = shm.lock, shm.unlock
        t0 = time.perf_counter_ns()
        for _ in range(n):
            if not lock() or not unlock():
                shm_fail(shm)
        out(per_op("ns_per_op", t0, n))
        del shm
    elif cmd == "bench-sem":
        nargs(cmd, args, 1, 1)
        n = to_int(args[0], 0)
        sem = QSystemSemaphore(key, 1, QSystemSemaphore.AccessMode.Create)
        if sem.error() != QSystemSemaphore.SystemSemaphoreError.NoError:
            sem_fail(sem)
        acquire, release = sem.acquire, sem.release
        t0 = time.perf_counter_ns()
        for _ in range(n):
            if not acquire() or not release(1):
                sem_fail(sem)
        out(per_op("ns_per_op", t0, n))
        del sem
    elif cmd == "pingpong":
        nargs(cmd, args, 3, 3)
        key2 = QNativeIpcKey.fromString(args[0])
        n = to_int(args[1], 0)
        if args[2] not in ("a", "b"):
            usage("ROLE must be a or b")
        s1 = QSystemSemaphore(key, 0, QSystemSemaphore.AccessMode.Open)
        s2 = QSystemSemaphore(key2, 0, QSystemSemaphore.AccessMode.Open)
        for s in (s1, s2):
            if s.error() != QSystemSemaphore.SystemSemaphoreError.NoError:
                sem_fail(s)
        first, second = (s1.release, s2.acquire) if args[2] == "a" else (s1.acquire, s2.release)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            if not first() or not second():
                sem_fail(s1 if s1.error() != QSystemSemaphore.SystemSemaphoreError.NoError else s2)
        out(per_op("ns_per_roundtrip", t0, n) if args[2] == "a" else "ok")
        if hold:
            wait_eof()
        del s1, s2
    elif cmd == "bench-cycle":
        nargs(cmd, args, 2, 2)
        n, size = to_int(args[0], 0), to_int(args[1], 1)
        posix = key.type() == QNativeIpcKey.Type.PosixRealtime
        t0 = time.perf_counter_ns()
        for _ in range(n):
            c = QSharedMemory(key)
            if not c.create(size, rw):
                shm_fail(c)
            a = QSharedMemory(key)
            if not a.attach(rw) or not a.detach():
                shm_fail(a)
            if not c.detach():
                shm_fail(c)
            del a, c
            if posix:
                # Qt never unlinks a POSIX segment (COMPAT.md #3); a Qt program must do it itself, as shm_unlink does.
                os.unlink("/dev/shm" + key.nativeKey())
        out(per_op("ns_per_op", t0, n))
    elif cmd == "bench-attach":
        nargs(cmd, args, 1, 1)
        n = to_int(args[0], 0)
        shm = QSharedMemory(key)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            if not shm.attach(rw) or not shm.detach():
                shm_fail(shm)
        out(per_op("ns_per_op", t0, n))
        del shm
    else:
        usage("unknown command " + cmd)


class Options:
    ro = hold = nolock = barrier = False
    init = None


def main(argv):
    o = Options()
    pos = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--ro":
            o.ro = True
        elif a == "--hold":
            o.hold = True
        elif a == "--nolock":
            o.nolock = True
        elif a == "--barrier":
            o.barrier = True
        elif a in ("--lock", "--init"):
            i += 1
            if i >= len(argv):
                usage(a + " needs an argument")
            if a == "--init":
                o.init = argv[i]
        elif a.startswith("--") and len(a) > 2:
            usage("unknown option " + a)
        else:
            pos.append(a)
        i += 1
    if len(pos) < 2:
        usage("missing COMMAND or KEY")
    cmd, keytext, args = pos[0], pos[1], pos[2:]
    key = QNativeIpcKey.fromString(keytext)
    if not key.isValid():
        out("err KeyError peer.py: invalid key string " + keytext)
        return 1
    line = None
    try:
        run(cmd, key, args, o)
    except Failure as f:
        line = str(f)
    # The exception (its traceback holds run()'s frame and thus the Qt objects) is gone here, so Qt's destructors
    # have already done their clean-up when the err line appears.
    if line is not None:
        out(line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
