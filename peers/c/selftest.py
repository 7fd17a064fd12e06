#!/usr/bin/env python3
"""Linux self-test of the C peer (peers/c/peer.c) against itself.

usage: python3 peers/c/selftest.py [PATH-TO-CPEER]   (default: build/cpeer)

Runs the same scenarios for posix:, systemv: and systemv-84: keys, prints one
line per check, and removes every IPC object and key file it created (by name /
by ftok key, never anything it did not create). Exit status 0 when all checks
pass.
"""
import os
import subprocess
import sys
import time

PEER = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/cpeer")
PID = os.getpid()
failures = 0
children = []


def check(name, cond, detail=""):
    global failures
    print(("PASS " if cond else "FAIL ") + name + ((": " + detail) if detail else ""))
    if not cond:
        failures += 1


def run(*args, timeout=60):
    try:
        p = subprocess.run([PEER, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout.strip()
    except subprocess.TimeoutExpired:
        return "timeout", ""


def start(*args):
    """Start a holding peer; returns (Popen, first stdout line)."""
    p = subprocess.Popen([PEER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    children.append(p)
    return p, p.stdout.readline().strip()


def stop(p, timeout=10):
    p.stdin.close()
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()  # by PID (Popen)
        p.wait()
        return "killed after timeout"


def ftok(path, proj):
    st = os.stat(path)
    return (proj & 0xFF) << 24 | (st.st_dev & 0xFF) << 16 | (st.st_ino & 0xFFFF)


def ipcs_has(kind, key):
    out = subprocess.run(["ipcs", kind], capture_output=True, text=True).stdout
    return any(line.split()[:1] == ["0x%08x" % key] for line in out.splitlines())


def sysv_cleanup(keys, files):
    for k in keys:
        for flag in ("-M", "-S"):
            subprocess.run(["ipcrm", flag, "0x%08x" % k], capture_output=True)
    for f in files:
        try:
            os.unlink(f)
        except FileNotFoundError:
            pass


def posix_cleanup(names):
    for n in names:
        for p in ("/dev/shm/" + n.lstrip("/"), "/dev/shm/sem." + n.lstrip("/")):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


def scenario(scheme):
    sysv = scheme.startswith("systemv")
    proj = 0x51 if scheme == "systemv" else (int(scheme.split("-")[1]) if sysv else 0)
    tag = "qipcc_%s_%d" % (scheme.replace("-", ""), PID)
    name = "/tmp/" + tag if sysv else "/" + tag
    K = "%s:%s" % (scheme, name)
    keys = set()
    print("== %s (key %s)" % (scheme, K))

    p, line = start("create", K, "64", "--hold")
    check("create --hold", line == "ok size=64", line)
    if sysv:
        keys.add(ftok(name, proj))
        check("key file mode 0640", oct(os.stat(name).st_mode & 0o777) == "0o640", oct(os.stat(name).st_mode & 0o777))
        check("segment+semaphore exist", ipcs_has("-m", ftok(name, proj)) and ipcs_has("-s", ftok(name, proj)))
    else:
        check("/dev/shm objects exist", os.path.exists("/dev/shm/" + tag) and os.path.exists("/dev/shm/sem." + tag))
    check("attach", run("attach", K) == (0, "ok size=64"))
    check("attach --ro", run("attach", K, "--ro") == (0, "ok size=64"))
    check("write", run("write", K, "0", "0102030405") == (0, "ok"))
    r = run("read", K, "0", "8")
    check("read", r == (0, "ok hex=0102030405000000"), str(r))
    r = run("attach", "%s:/%s_missing" % (scheme, ("tmp/" + tag) if sysv else tag))
    want = "err NotFound QSharedMemory::attach (shmget): doesn't exist" if sysv else \
        "err NotFound QSharedMemory::attach (shm_open): doesn't exist"
    check("attach missing -> NotFound", r == (1, want), str(r))

    run("write", K, "0", "0000000000000000")
    a = subprocess.Popen([PEER, "counter", K, "20000"], stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen([PEER, "counter", K, "20000"], stdout=subprocess.PIPE, text=True)
    oa, ob = a.communicate()[0].strip(), b.communicate()[0].strip()
    r = run("read", K, "0", "8")
    check("2 x counter 20000 -> 40000", r == (0, "ok hex=" + (40000).to_bytes(8, "little").hex()),
          "%s / %s / %s" % (oa, ob, r))

    run("write", K, "0", "0000000000000000")
    a = subprocess.Popen([PEER, "counter", K, "2000000", "--nolock"], stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen([PEER, "counter", K, "2000000", "--nolock"], stdout=subprocess.PIPE, text=True)
    a.communicate(), b.communicate()
    r = run("read", K, "0", "8")
    total = int.from_bytes(bytes.fromhex(r[1][len("ok hex="):]), "little") if r[0] == 0 else -1
    check("2 x counter 2000000 --nolock loses updates", 0 < total < 4000000, "total=%d" % total)

    # bench smoke
    r = run("bench-lock", K, "10000")
    check("bench-lock", r[0] == 0 and r[1].startswith("ok ns_per_op="), str(r))

    # SIGKILL of a lock holder
    h, line = start("hold-lock", K)
    check("hold-lock", line == "ok locked", line)
    r = run("read", K, "0", "1", timeout=1)
    check("read blocks while locked", r[0] == "timeout", str(r))
    h.kill()
    h.wait()
    r = run("read", K, "0", "1", timeout=2)
    if sysv:
        check("SIGKILL of holder releases the lock (SEM_UNDO)", r[0] == 0, str(r))
    else:
        check("SIGKILL of holder leaves the POSIX lock taken (expected)", r[0] == "timeout", str(r))

    # create() binds the lock in Create mode even when it then fails; keep these
    # checks after the kill test because they replace (POSIX) / reset and take over
    # (System V) the lock semaphore, exactly as Qt 6.6+ does.
    if sysv:
        # create on an existing segment: AlreadyExists.  Qt 6.6+ side effect reproduced:
        # the failed create() bound the lock in Create mode (SETVAL 1), became its owner,
        # and on exit removed the semaphore *and the shared key file*.
        r = run("create", K, "64")
        check("create existing -> AlreadyExists", r == (1, "err AlreadyExists QSharedMemory::create: already exists"),
              str(r))
        check("  (Qt 6.6+ side effect) key file removed by the failed creator", not os.path.exists(name))
        r = run("create", K, "0")
        check("create size 0 -> InvalidSize", r == (1, "err InvalidSize QSharedMemory::create: create size is less then 0"),
              str(r))
        rc = stop(p)
        check("creator exits 0 on EOF", rc == 0, str(rc))
        k = next(iter(keys))
        check("creator's detach removed the segment (nattch 0)", not ipcs_has("-m", k))
        # the creator recreated the semaphore (EIDRM/EINVAL -> Open) and, as its owner, removed it again
        check("no semaphore/key file left", not ipcs_has("-s", k) and not os.path.exists(name))
    else:
        r = run("create", K, "64")
        check("create existing -> AlreadyExists",
              r == (1, "err AlreadyExists QSharedMemory::attach (shm_open): already exists"), str(r))
        r = run("create", K, "0")
        check("create size 0 -> InvalidSize", r == (1, "err InvalidSize QSharedMemory::create: create size is less then 0"),
              str(r))
        # the lock is still taken (killed holder); the creator's destructor would block in
        # detach()'s lock, exactly like Qt -> kill it.
        rc = stop(p, timeout=1)
        check("creator blocks in detach (lock lost by SIGKILL)", rc == "killed after timeout", str(rc))
        check("POSIX segment persists (Qt never shm_unlink)", os.path.exists("/dev/shm/" + tag))

    # a clean lifetime: create, attach, exit
    p, line = start("create", K + "_2", "8", "--hold")
    check("create #2", line == "ok size=8", line)
    if sysv:
        keys.add(ftok(name + "_2", proj))
    check("attach #2", run("attach", K + "_2") == (0, "ok size=8"))
    check("creator #2 exits 0", stop(p) == 0)
    if sysv:
        check("all removed after last detach", not os.path.exists(name + "_2") and
              not any(ipcs_has(t, k) for t in ("-m", "-s") for k in keys))
    else:
        check("shm persists, lock semaphore removed by its owner",
              os.path.exists("/dev/shm/" + tag + "_2") and not os.path.exists("/dev/shm/sem." + tag + "_2"))

    # QSystemSemaphore commands
    S = K + "_sem"
    p, line = start("sem-create", S, "0", "--hold")
    check("sem-create", line == "ok", line)
    if sysv:
        keys.add(ftok(name + "_sem", proj))
        # SEM_UNDO: a release is undone when the releasing process exits
        check("sem-release (exits: undone)", run("sem-release", S, "2") == (0, "ok"))
        check("  count back to 0 -> acquire blocks", run("sem-acquire", S, timeout=1)[0] == "timeout")
        r_p, line = start("sem-release", S, "2", "--hold")
        check("sem-release --hold", line == "ok")
        check("sem-acquire 2", run("sem-acquire", S, "2", timeout=3) == (0, "ok"))
        stop(r_p)
    else:
        check("sem-release 2", run("sem-release", S, "2") == (0, "ok"))
        check("sem-acquire 2", run("sem-acquire", S, "2", timeout=3) == (0, "ok"))
        check("  then acquire blocks", run("sem-acquire", S, timeout=1)[0] == "timeout")
    r = run("bench-sem", K + "_bs", "10000")
    check("bench-sem", r[0] == 0 and r[1].startswith("ok ns_per_op="), str(r))
    stop(p)

    # pingpong (b holds until a is done: with SEM_UNDO its releases would be undone at exit)
    a = subprocess.Popen([PEER, "pingpong", K + "_p1", K + "_p2", "5000", "a"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    b = subprocess.Popen([PEER, "pingpong", K + "_p1", K + "_p2", "5000", "b", "--hold"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        oa = a.communicate(timeout=30)[0].strip()
    except subprocess.TimeoutExpired:
        a.kill()
        oa = a.communicate()[0].strip()
    ob = b.communicate(input="", timeout=10)[0].strip()
    check("pingpong", oa.startswith("ok ns_per_roundtrip=") and ob == "ok", "%s / %s" % (oa, ob))

    # leftovers
    if sysv:
        left = [k for k in keys if ipcs_has("-m", k) or ipcs_has("-s", k)]
        files = [f for f in (name, name + "_2", name + "_sem", name + "_bs", name + "_p1", name + "_p2")
                 if os.path.exists(f)]
        check("nothing leaked", not left and not files, "keys=%s files=%s" % ([hex(k) for k in left], files))
        sysv_cleanup(keys, files)
    else:
        sems = [n for n in ("", "_2", "_sem", "_bs", "_p1", "_p2") if os.path.exists("/dev/shm/sem." + tag + n)]
        check("no POSIX semaphore left (the failed Create-mode creates replaced and removed it)", sems == [], str(sems))
        posix_cleanup([tag + n for n in ("", "_2", "_sem", "_bs", "_p1", "_p2")])


def main():
    try:
        for scheme in ("posix", "systemv", "systemv-84"):
            scenario(scheme)
        r = run("bench-memcpy", "1048576", "200")
        check("bench-memcpy", r[0] == 0 and r[1].startswith("ok mb_per_s="), str(r))
        r = run("attach", "windows:shm_x")
        check("windows key on Linux -> KeyError",
              r == (1, "err KeyError QSharedMemory::setNativeKey: unsupported key type"), str(r))
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()
                c.wait()
    print("%d failure(s)" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
