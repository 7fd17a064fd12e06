//go:build linux

package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// The tests run the built binary end to end against real peers
// (peers/PROTOCOL.md): the C peer, the Qt 5.15 peer and the PySide6 peer.

var qipcBin string

func TestMain(m *testing.M) {
	argv, why := harness.Built("./cmd/qipc", "")()
	if why != "" {
		fmt.Fprintln(os.Stderr, why)
		os.Exit(1)
	}
	qipcBin = argv[len(argv)-1]
	os.Exit(harness.Main(m))
}

var seq atomic.Int64

// uniqueName returns a name no other process uses, containing "qipct" and
// the pid, and the letters-only form of it that Qt's legacy file names keep
// (digits are dropped there), for --match.
func uniqueName(tag string) (name, match string) {
	n := seq.Add(1)
	pid := os.Getpid()
	enc := strings.Map(func(r rune) rune { return 'a' + (r - '0') }, fmt.Sprintf("%d%03d", pid, n))
	name = fmt.Sprintf("qipct_%s_%d_%d_%s", tag, pid, n, enc)
	match = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, name)
	return name, match
}

// cleanupKey removes the segment (with its lock and key files) when the
// test ends, whatever the test did.
func cleanupKey(t *testing.T, k qipc.Key) {
	t.Cleanup(func() {
		if err := qipc.RemoveSharedMemory(k); err != nil && !errors.Is(err, qipc.ErrNotFound) {
			t.Errorf("clean-up of %v: %v", k, err)
		}
		if err := qipc.RemoveSemaphore(lockKey(k)); err != nil {
			t.Errorf("clean-up of the lock of %v: %v", k, err)
		}
	})
}

type result struct {
	out, err string
	code     int
}

// runQ runs the built qipc with input on its stdin; a crash (a Go panic)
// fails the test, any exit status is the caller's to check.
func runQ(t *testing.T, input string, args ...string) result {
	t.Helper()
	return runQCmd(t, input, args, func() *exec.Cmd { return exec.Command(qipcBin, args...) })
}

// runQCmd is runQ for a command that newCmd prepares (environment,
// credentials, directory).
func runQCmd(t *testing.T, input string, args []string, newCmd func() *exec.Cmd) result {
	t.Helper()
	o := harness.RunCmd(t, "qipc "+strings.Join(args, " "), input, newCmd)
	if strings.Contains(o.Stderr, "panic") || strings.Contains(o.Stderr, "goroutine ") {
		t.Fatalf("qipc %v crashed:\n%s", args, o.Stderr)
	}
	return result{out: o.Stdout, err: o.Stderr, code: o.Code}
}

func mustQ(t *testing.T, input string, args ...string) string {
	t.Helper()
	r := runQ(t, input, args...)
	if r.code != 0 {
		t.Fatalf("qipc %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// The peers (peers/PROTOCOL.md).
var (
	qt5    = harness.Binary("qtpeer5", "apt-get install qtbase5-dev, then `make peers`")
	cpeer  = harness.Binary("cpeer", "run `make peers`")
	pyside = harness.PySide("pyside/peer.py")
)

// startPeer starts a peer (argv, a Program's command line) with args. Its
// end is registered: stdin closed, the exit status and any further output
// checked (harness.Proc.Finish).
func startPeer(t *testing.T, argv []string, args ...string) *harness.Proc {
	t.Helper()
	name := filepath.Base(argv[len(argv)-1])
	var tail []string
	if len(args) > 0 {
		name += " " + args[0]
		if args[0] == "hold-lock" {
			tail = []string{"ok unlocked at="} // printed once its stdin ends
		}
	}
	return harness.Start(t, name, slices.Concat(argv, args), nil, tail)
}

// runPeer runs a peer to the end and returns its result line.
func runPeer(t *testing.T, argv []string, args ...string) string {
	t.Helper()
	p := startPeer(t, argv, args...)
	l := p.Line()
	p.Finish()
	return l
}

func lsJSON(t *testing.T, match string) []Object {
	t.Helper()
	out := mustQ(t, "", "ls", "--json", "--match", match)
	var objs []Object
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		t.Fatalf("ls --json output does not parse: %v\n%s", err, out)
	}
	return objs
}

func find(objs []Object, kind string) *Object {
	for i := range objs {
		if objs[i].Kind == kind {
			return &objs[i]
		}
	}
	return nil
}

// sysvExists reports whether a System V object with this id is listed in /proc.
func sysvExists(t *testing.T, table string, id int) bool {
	t.Helper()
	rows, err := sysvTable(table)
	if err != nil {
		t.Fatal(err)
	}
	col := "shmid"
	if strings.HasSuffix(table, "sem") {
		col = "semid"
	}
	for _, r := range rows {
		if atoi(r[col]) == id {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ---- tests ----

func TestUsageAndBadInput(t *testing.T) {
	name, _ := uniqueName("bad")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"cat"}, 2, "missing arguments"},
		{[]string{"cat", "posix:"}, 2, "bad key"},
		{[]string{"info", "systemv-300:/tmp/x"}, 2, "bad key"},
		{[]string{"cat", name, "--type", "nonsense"}, 2, "unknown key type"},
		{[]string{"cat", "posix:/" + name}, 1, "qipc: cat: posix:/" + name + ": QSharedMemory::attach"},
		{[]string{"info", "posix:/" + name}, 1, "qipc: info: posix:/" + name + ": no such"},
		{[]string{"rm", "posix:/" + name}, 1, "no such segment"},
		{[]string{"sem", "value", "posix:/" + name}, 1, "no such semaphore"},
		{[]string{"create", "posix:/" + name, "0"}, 2, "SIZE must be"},
		{[]string{"create", "posix:/" + name, "x"}, 2, "SIZE must be"},
		{[]string{"write", "posix:/" + name, "--offset", "-3"}, 2, "negative"},
		{[]string{"lock", "posix:/" + name}, 2, "missing CMD"},
		{[]string{"clean"}, 2, "--stale is required"},
		{[]string{"ls", "extra"}, 2, "unexpected argument"},
		{[]string{"cat", "posix:/" + name, "--bogus"}, 2, "flag provided but not defined"},
	} {
		r := runQ(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.err, c.msg) {
			t.Errorf("qipc %q: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.err, c.code, c.msg)
		}
	}
	// Nothing was left behind by the failed attaches.
	for _, p := range []string{"/dev/shm/" + name, "/dev/shm/sem." + name} {
		if fileExists(p) {
			os.Remove(p)
			t.Errorf("%s was left behind", p)
		}
	}
	for _, sub := range []string{"key", "ls", "info", "cat", "write", "create", "lock", "sem", "rm", "clean"} {
		r := runQ(t, "", sub, "--help")
		if r.code != 0 || !strings.Contains(r.out, "usage: qipc "+sub) {
			t.Errorf("qipc %s --help: exit %d, %q", sub, r.code, r.out)
		}
	}
	if r := runQ(t, "", "--help"); r.code != 0 || !strings.Contains(r.out, "commands:") {
		t.Errorf("qipc --help: exit %d, %q", r.code, r.out)
	}
}

func TestKeyCommand(t *testing.T) {
	out := mustQ(t, "", "key", "myapp", "--legacy")
	for _, want := range []string{
		"/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
		qipc.LegacySharedMemoryKey("myapp", qipc.SystemV).String(),
		qipc.LegacySemaphoreKey("myapp", qipc.SystemV).String(),
	} {
		if os.Getenv("TMPDIR") != "" && strings.HasPrefix(want, "/tmp") {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("qipc key myapp --legacy lacks %q:\n%s", want, out)
		}
	}
	out = mustQ(t, "", "key", "myapp", "--type", "posix")
	if !strings.Contains(out, "posix:/myapp") {
		t.Errorf("qipc key myapp --type posix:\n%s", out)
	}
	out = mustQ(t, "", "key", "myapp", "--type", "systemv-84")
	if !strings.Contains(out, "systemv-84:") {
		t.Errorf("qipc key myapp --type systemv-84:\n%s", out)
	}
}

// TestSysVCrashStaleClean: a Qt 5.15 program creates a segment, writes to
// it and is SIGKILLed. ls marks what it left STALE, cat still reads the
// bytes, clean removes segment, key files and lock semaphore, and Qt can
// create the segment again.
func TestSysVCrashStaleClean(t *testing.T) {
	qt := qt5.Require(t, "qtpeer5")
	name, match := uniqueName("crash")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	lk := lockKey(k)
	cleanupKey(t, k)
	ks := k.String()

	holder := startPeer(t, qt, "create", ks, "64", "--hold")
	harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=64")
	harness.ExpectLine(t, "qtpeer5 write", runPeer(t, qt, "write", ks, "0", "0123456789abcdef"), "ok")
	holder.Kill()

	out := mustQ(t, "", "ls", "--match", match)
	t.Logf("qipc ls after the crash:\n%s", out)
	objs := lsJSON(t, match)
	seg, sem := find(objs, kindSysvShm), find(objs, kindSysvSem)
	if seg == nil || sem == nil {
		t.Fatalf("ls shows no segment or lock semaphore: %+v", objs)
	}
	if !seg.Stale || !sem.Stale || seg.Path != k.Native || sem.Path != lk.Native {
		t.Fatalf("want both STALE, on %s and %s: %+v / %+v", k.Native, lk.Native, seg, sem)
	}
	if seg.Size != 64 || seg.Nattch == nil || *seg.Nattch != 0 || seg.Cpid != holder.Pid() {
		t.Errorf("segment row: %+v (creator pid %d)", seg, holder.Pid())
	}
	if !strings.Contains(out, "STALE") || !strings.Contains(out, "creator (pid "+strconv.Itoa(holder.Pid())+") is gone") {
		t.Errorf("ls text lacks the STALE reason:\n%s", out)
	}

	raw := mustQ(t, "", "cat", ks, "--length", "8")
	if hex.EncodeToString([]byte(raw)) != "0123456789abcdef" {
		t.Errorf("cat: %x", raw)
	}
	dump := mustQ(t, "", "cat", ks, "--hex")
	if !strings.HasPrefix(dump, "00000000  01 23 45 67 89 ab cd ef  00 00 00 00 00 00 00 00  |.#Eg....") {
		t.Errorf("cat --hex:\n%s", dump)
	}
	// cat took Qt's lock but kept everything: still the same objects.
	if !sysvExists(t, "/proc/sysvipc/shm", *seg.ID) {
		t.Fatal("cat removed the stale segment")
	}

	dry := mustQ(t, "", "clean", "--stale", "--dry-run", "--match", match)
	if !strings.Contains(dry, "would remove") || !sysvExists(t, "/proc/sysvipc/shm", *seg.ID) {
		t.Fatalf("clean --dry-run:\n%s", dry)
	}
	cl := mustQ(t, "", "clean", "--stale", "--match", match)
	t.Logf("qipc clean --stale:\n%s", cl)
	if sysvExists(t, "/proc/sysvipc/shm", *seg.ID) || sysvExists(t, "/proc/sysvipc/sem", *sem.ID) {
		t.Error("clean left the segment or the semaphore")
	}
	if fileExists(k.Native) || fileExists(lk.Native) {
		t.Error("clean left a key file")
	}
	if left := lsJSON(t, match); len(left) != 0 {
		t.Errorf("after clean, ls still shows %+v", left)
	}
	// Qt can create it again.
	harness.ExpectLine(t, "qtpeer5 create", runPeer(t, qt, "create", ks, "64"), "ok size=64")
}

// TestLockExcludesQt: `qipc lock KEY -- CMD` holds the very lock Qt's
// QSharedMemory::lock() takes. CMD is a C-peer counter that does not lock
// at all (--nolock, and a private semaphore for its attach), running while
// a Qt 5.15 counter increments under Qt's lock: the total is exact only if
// qipc's lock excluded the Qt peer. The control runs the same C counter
// without qipc lock, at the same moment as the Qt counter (both wait at a
// barrier), and must lose increments.
func TestLockExcludesQt(t *testing.T) {
	qt, c := qt5.Require(t, "qtpeer5"), cpeer.Require(t, "cpeer")
	name, _ := uniqueName("lock")
	dummy := qipc.SharedMemoryKey(name+"_private", qipc.PosixRealtime)
	t.Cleanup(func() { qipc.RemoveSemaphore(dummy) })
	const n = 2000
	counter := func(i int, underLock bool) uint64 {
		k := qipc.LegacySharedMemoryKey(fmt.Sprintf("%s_%d", name, i), qipc.SystemV)
		cleanupKey(t, k)
		ks := k.String()
		holder := startPeer(t, qt, "create", ks, "8", "--hold")
		harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=8")
		qtc := startPeer(t, qt, "counter", ks, strconv.Itoa(n), "--barrier")
		harness.ExpectLine(t, qtc.Name, qtc.Line(), "ready")
		cArgs := []string{"counter", ks, strconv.Itoa(n), "--nolock", "--lock", dummy.String()}
		if underLock {
			res := make(chan result, 1)
			go func() {
				defer close(res) // also when runQ gave up on a hung qipc
				res <- runQ(t, "", append([]string{"lock", ks, "--timeout", "60s", "--", c[0]}, cArgs...)...)
			}()
			qtc.Send("")
			r, ok := <-res
			if !ok {
				t.FailNow() // runQ said why
			}
			if r.code != 0 || !strings.HasPrefix(r.out, "ok last=") {
				t.Fatalf("qipc lock -- cpeer counter: exit %d, %q %q", r.code, r.out, r.err)
			}
		} else {
			cc := startPeer(t, c, append(cArgs, "--barrier")...)
			harness.ExpectLine(t, cc.Name, cc.Line(), "ready")
			qtc.Send("")
			cc.Send("")
			if l := cc.Line(); !strings.HasPrefix(l, "ok last=") {
				t.Fatalf("C counter: %q", l)
			}
		}
		if l := qtc.Line(); !strings.HasPrefix(l, "ok last=") {
			t.Fatalf("Qt counter: %q", l)
		}
		hexLine := runPeer(t, qt, "read", ks, "0", "8")
		b, err := hex.DecodeString(strings.TrimPrefix(hexLine, "ok hex="))
		if err != nil || len(b) != 8 {
			t.Fatalf("Qt read: %q", hexLine)
		}
		return binary.LittleEndian.Uint64(b)
	}
	if got := counter(0, true); got != 2*n {
		t.Fatalf("Qt counter and C counter under qipc lock: %d, want %d", got, 2*n)
	}
	// The control: without the lock the counters must lose increments. A
	// machine busy with other tests may serialise them by luck once, not
	// five times over.
	lost := false
	for i := 1; i <= 5 && !lost; i++ {
		got := counter(i, false)
		t.Logf("without qipc lock (run %d): %d of %d", i, got, 2*n)
		lost = got < 2*n
	}
	if !lost {
		t.Fatal("inconclusive: in five runs without qipc lock the C counter lost none of Qt's increments")
	}
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	ks := k.String()
	holder := startPeer(t, qt, "create", ks, "8", "--hold")
	harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=8")
	// The exit status is CMD's.
	if r := runQ(t, "", "lock", ks, "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("lock -- exit 7: exit %d (%s)", r.code, r.err)
	}
	// While Qt holds the lock, qipc lock waits, says so, and gives up at the timeout.
	hl := startPeer(t, qt, "hold-lock", ks)
	harness.ExpectLine(t, hl.Name, hl.Line(), "ok attached")
	if l := hl.Line(); !strings.HasPrefix(l, "ok locked at=") {
		t.Fatalf("Qt hold-lock: %q, want ok locked at=T", l)
	}
	r := runQ(t, "", "lock", ks, "--timeout", "300ms", "--", "true")
	if r.code != 1 || !strings.Contains(r.err, "waiting for the lock on "+ks) || !strings.Contains(r.err, "timed out") {
		t.Errorf("lock while Qt holds it: exit %d, %q", r.code, r.err)
	}
	// Both it and info name the holder (issue 30, item 4).
	held := fmt.Sprintf("the lock is held, probably by pid %d (qtpeer5)", hl.Pid())
	if !strings.Contains(r.err, held) {
		t.Errorf("lock while Qt holds it: %q, want it to say %q", r.err, held)
	}
	if info, want := mustQ(t, "", "info", ks), fmt.Sprintf("holder:     pid %d (qtpeer5), probably", hl.Pid()); !strings.Contains(info, want) {
		t.Errorf("info while Qt holds the lock:\n%s\nwant %q", info, want)
	}
	hl.Finish()
}

// TestWriteReadByQt: qipc write's bytes are read back by a Qt 5.15 peer,
// and --json reports what the Qt peer created.
func TestWriteReadByQtAndJSON(t *testing.T) {
	qt := qt5.Require(t, "qtpeer5")
	name, match := uniqueName("write")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	ks := k.String()

	holder := startPeer(t, qt, "create", ks, "100", "--hold")
	harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=100")
	mustQ(t, "hello, Qt", "write", ks, "--offset", "10")
	harness.ExpectLine(t, "qtpeer5 read", runPeer(t, qt, "read", ks, "10", "9"), "ok hex="+hex.EncodeToString([]byte("hello, Qt")))
	mustQ(t, "", "write", ks, "--hex", "cafe")
	harness.ExpectLine(t, "qtpeer5 read", runPeer(t, qt, "read", ks, "0", "2"), "ok hex=cafe")
	if r := runQ(t, "0123456789", "write", ks, "--offset", "95"); r.code != 1 || !strings.Contains(r.err, "do not fit") {
		t.Errorf("oversized write: exit %d %q", r.code, r.err)
	}

	objs := lsJSON(t, match)
	seg := find(objs, kindSysvShm)
	if seg == nil {
		t.Fatalf("ls --json: no segment in %+v", objs)
	}
	if seg.Native != k.Native || seg.Key != qipc.NewKey(k.Native, qipc.SystemV).String() || seg.Size != 100 ||
		seg.Nattch == nil || *seg.Nattch != 1 || seg.Cpid != holder.Pid() || seg.Stale || seg.ProjectID != 0x51 {
		t.Errorf("segment row %+v", seg)
	}
	if sem := find(objs, kindSysvSem); sem == nil || sem.Path != lockKey(k).Native || sem.Value == nil || *sem.Value != 1 {
		t.Errorf("lock row %+v", sem)
	}
	info := mustQ(t, "", "info", ks)
	if !strings.Contains(info, "size:       100 bytes") || !strings.Contains(info, "attached:   1") {
		t.Errorf("info:\n%s", info)
	}
	// rm refuses while the Qt peer is attached; clean leaves it alone.
	if r := runQ(t, "", "rm", ks); r.code != 1 || !strings.Contains(r.err, "attached") {
		t.Errorf("rm while attached: exit %d %q", r.code, r.err)
	}
	if out := mustQ(t, "", "clean", "--stale", "--match", match); !strings.Contains(out, "nothing stale") {
		t.Errorf("clean with a live segment:\n%s", out)
	}
	holder.Finish()
	// Qt removed it all on its last detach.
	if left := lsJSON(t, match); len(left) != 0 {
		t.Errorf("after the Qt peer exited: %+v", left)
	}
}

// TestPosix: a segment created by qipc is used by a PySide6 (Qt 6.6+) peer,
// and the other way round; rm refuses while PySide6 has it mapped.
func TestPosix(t *testing.T) {
	py := pyside.Require(t, "pyside6")
	name, _ := uniqueName("posix")
	match := name // POSIX names are kept as they are
	k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
	cleanupKey(t, k)
	ks := k.String()

	mustQ(t, "", "create", ks, "32")
	mustQ(t, "abc", "write", ks, "--offset", "1")
	harness.ExpectLine(t, "peer.py read", runPeer(t, py, "read", ks, "0", "4"), "ok hex=00616263")
	harness.ExpectLine(t, "peer.py write", runPeer(t, py, "write", ks, "4", "ff"), "ok")
	if got := mustQ(t, "", "cat", ks, "--length", "5"); got != "\x00abc\xff" {
		t.Errorf("cat: %q", got)
	}
	// qipc create kept the segment; no one maps it now, so it is stale.
	objs := lsJSON(t, match)
	if seg := find(objs, kindPosixShm); seg == nil || !seg.Stale || seg.Size != 32 || seg.Key != ks {
		t.Errorf("segment row %+v", seg)
	}
	mustQ(t, "", "rm", ks)
	if fileExists("/dev/shm/"+name) || fileExists("/dev/shm/sem."+name) {
		t.Error("rm left the segment or its lock")
	}

	name2, _ := uniqueName("posixpy")
	match2 := name2
	k2 := qipc.SharedMemoryKey(name2, qipc.PosixRealtime)
	cleanupKey(t, k2)
	holder := startPeer(t, py, "create", k2.String(), "48", "--hold")
	harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=48")
	objs = lsJSON(t, match2)
	seg, sem := find(objs, kindPosixShm), find(objs, kindPosixSem)
	if seg == nil || seg.Key != k2.String() || seg.Size != 48 || seg.Nattch == nil || *seg.Nattch != 1 ||
		len(seg.Pids) != 1 || seg.Pids[0] != holder.Pid() || seg.Stale {
		t.Errorf("segment row %+v (peer pid %d)", seg, holder.Pid())
	}
	if sem == nil || sem.Stale || sem.Value == nil || *sem.Value != 1 {
		t.Errorf("lock row %+v", sem)
	}
	if r := runQ(t, "", "rm", k2.String()); r.code != 1 || !strings.Contains(r.err, "1 process(es) attached (pids "+strconv.Itoa(holder.Pid())) {
		t.Errorf("rm while mapped: exit %d %q", r.code, r.err)
	}
	mustQ(t, "", "write", k2.String(), "--hex", "0102")
	harness.ExpectLine(t, "peer.py read", runPeer(t, py, "read", k2.String(), "0", "2"), "ok hex=0102")
	holder.Kill()
	// Killed: nothing maps segment or lock any more.
	objs = lsJSON(t, match2)
	if seg, sem := find(objs, kindPosixShm), find(objs, kindPosixSem); seg == nil || !seg.Stale || sem == nil || !sem.Stale {
		t.Errorf("after SIGKILL: %+v", objs)
	}
	out := mustQ(t, "", "clean", "--stale", "--match", match2)
	if !strings.Contains(out, "removed POSIX segment /dev/shm/"+name2) || fileExists("/dev/shm/"+name2) || fileExists("/dev/shm/sem."+name2) {
		t.Errorf("clean:\n%s", out)
	}
}

// TestSemaphores drives a POSIX semaphore (whose counts outlive the process).
func TestSemaphores(t *testing.T) {
	name, _ := uniqueName("sem")
	k := qipc.SemaphoreKey(name, qipc.PosixRealtime)
	t.Cleanup(func() { qipc.RemoveSemaphore(k) })
	ks := k.String()
	mustQ(t, "", "sem", "create", ks, "2")
	value := func() string { return strings.TrimSpace(mustQ(t, "", "sem", "value", ks)) }
	if v := value(); v != "2" {
		t.Fatalf("value %s", v)
	}
	mustQ(t, "", "sem", "acquire", ks)
	if v := value(); v != "1" {
		t.Fatalf("value after acquire %s", v)
	}
	r := runQ(t, "", "sem", "acquire", ks, "2", "--timeout", "200ms")
	if r.code != 1 || !strings.Contains(r.err, "waiting for "+ks) || !strings.Contains(r.err, "timed out") {
		t.Errorf("acquire 2 of 1: exit %d %q", r.code, r.err)
	}
	if v := value(); v != "1" {
		t.Errorf("a failed acquire kept counts: %s", v)
	}
	mustQ(t, "", "sem", "release", ks, "3")
	if v := value(); v != "4" {
		t.Errorf("value after release 3: %s", v)
	}
	if py, why := pyside(); why == "" {
		harness.ExpectLine(t, "peer.py sem-acquire", runPeer(t, py, "sem-acquire", ks, "4"), "ok")
		if v := value(); v != "0" {
			t.Errorf("value after PySide6 took 4: %s", v)
		}
	} else {
		t.Logf("the PySide6 part left out: %s", why)
	}
	mustQ(t, "", "rm", "--sem", ks)
	if fileExists("/dev/shm/sem." + name) {
		t.Error("rm --sem left the semaphore")
	}
}

// TestRmSuggestsOtherKinds: `qipc rm NAME` of a name that a Qt 5 program
// used (legacy System V) misses under the default derivation (Qt 6.6+
// POSIX); the error names the flags under which the name exists, and
// removes nothing. info, cat, write and lock say the same.
func TestRmSuggestsOtherKinds(t *testing.T) {
	name, _ := uniqueName("rmhint")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	m := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// info, cat, write and lock miss the same way, and say so too (issue 28, item 9).
	for _, args := range [][]string{{"info", name}, {"cat", name}, {"write", name, "--hex", "00"}, {"lock", name, "--", "true"}} {
		r := runQ(t, "", args...)
		if r.code != 1 || !strings.Contains(r.err, "; the name exists with --type systemv --legacy") {
			t.Errorf("qipc %s: exit %d, stderr %q; want a miss naming --type systemv --legacy", strings.Join(args, " "), r.code, r.err)
		}
	}
	r := runQ(t, "", "rm", name)
	if r.code != 1 || !strings.Contains(r.err, "no such segment; the name exists with --type systemv --legacy") {
		t.Fatalf("rm %s: exit %d, stderr %q; want a miss naming --type systemv --legacy", name, r.code, r.err)
	}
	if !strings.Contains(mustQ(t, "", "rm", name, "--legacy"), "removed") {
		t.Fatal("rm --legacy did not remove the segment the hint named")
	}
	if r := runQ(t, "", "rm", name, "--legacy"); r.code != 1 || strings.Contains(r.err, "exists with") {
		t.Fatalf("rm after removal: exit %d, %q; want a plain miss", r.code, r.err)
	}
}

// TestMatchQtName: --match with the name a Qt 5 program passed to
// QSharedMemory finds its objects, although Qt dropped the name's
// non-letters from their native names.
func TestMatchQtName(t *testing.T) {
	name, _ := uniqueName("match-qt.name")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	if strings.Contains(k.Native, name) {
		t.Fatalf("the native name %q holds the Qt name: the test proves nothing", k.Native)
	}
	cleanupKey(t, k)
	m := qipc.NewSharedMemory(k)
	defer m.Close()
	if err := m.Create(64, qipc.ReadWrite); err != nil {
		t.Fatal(err)
	}
	objs := lsJSON(t, name)
	if find(objs, "sysv-shm") == nil || find(objs, "sysv-sem") == nil {
		t.Fatalf("ls --match %q found not both the segment and its lock: %+v", name, objs)
	}
}

// TestRmKeepsNonKeyFiles: `qipc rm systemv:/path` names a file; with no
// segment under it, rm removes the file only if it is a key file (empty,
// regular, this user's) and says what became of it. On 08d39ff a file
// with content was deleted and rm said only "no such segment".
func TestRmKeepsNonKeyFiles(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(conf, []byte("precious=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := qipc.SharedMemoryKey(conf, qipc.SystemV)
	cleanupKey(t, k)
	r := runQ(t, "", "rm", k.String())
	if r.code != 1 || !strings.Contains(r.err, "no such segment; "+conf+" left as it is: not a key file") {
		t.Errorf("rm of a file with content: exit %d, stderr %q; want a miss that says the file was left", r.code, r.err)
	}
	if b, err := os.ReadFile(conf); err != nil || string(b) != "precious=1\n" {
		t.Fatalf("rm touched a file that is not a key file: %q, %v", b, err)
	}
	r = runQ(t, "", "rm", "--sem", qipc.SemaphoreKey(conf, qipc.SystemV).String())
	if !strings.Contains(r.err, conf+" left as it is") {
		t.Errorf("rm --sem of a file with content: exit %d, stderr %q; want it to say the file was left", r.code, r.err)
	}
	if _, err := os.Stat(conf); err != nil {
		t.Fatalf("rm --sem removed a file that is not a key file: %v", err)
	}
	lone := filepath.Join(dir, "lone")
	if err := os.WriteFile(lone, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	lk := qipc.SharedMemoryKey(lone, qipc.SystemV)
	cleanupKey(t, lk)
	r = runQ(t, "", "rm", lk.String())
	if r.code != 1 || !strings.Contains(r.err, "no such segment; removed its lone key file "+lone) {
		t.Errorf("rm of a lone key file: exit %d, stderr %q; want a miss that says the key file was removed", r.code, r.err)
	}
	if _, err := os.Lstat(lone); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lone key file stayed: %v", err)
	}
}

// TestCatLeavesNoTrace: `qipc cat` beside a Qt 5 app whose lock semaphore
// is gone (its short-lived second instance made it and removed it, as Qt
// does) reads without the lock, says so, and leaves `qipc ls` as it found
// it: no lock semaphore, no key file. Before it attached as Qt does, made
// both, and removed them again only afterwards.
func TestCatLeavesNoTrace(t *testing.T) {
	qt := qt5.Require(t, "qtpeer5")
	name, match := uniqueName("watch")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	ks := k.String()
	holder := startPeer(t, qt, "create", ks, "16", "--hold")
	harness.ExpectLine(t, holder.Name, holder.Line(), "ok size=16")
	mustQ(t, "", "write", ks, "--hex", "cafe")
	if err := qipc.RemoveSemaphore(lockKey(k)); err != nil {
		t.Fatal(err)
	}
	before := lsJSON(t, match)
	if len(before) != 1 || before[0].Kind != kindSysvShm {
		t.Fatalf("ls before: %+v, want the segment alone", before)
	}
	r := runQ(t, "", "cat", ks, "--length", "2")
	if r.code != 0 || r.out != "\xca\xfe" || !strings.Contains(r.err, "reading without the lock") {
		t.Fatalf("cat: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
	if after := lsJSON(t, match); len(after) != 1 || after[0].Kind != kindSysvShm {
		t.Fatalf("ls after cat: %+v, want the segment alone", after)
	}
	holder.Finish()
}

// TestHolderOnlyOfLocks (issue 30): a semaphore at 0 is a held lock only
// where it is a segment's lock; a QSystemSemaphore that counts down to 0 has
// no holder, and ls and info must not name its last taker as one. A
// segment's lock at 0 names its holder (the Qt-peer tests show that).
func TestHolderOnlyOfLocks(t *testing.T) {
	for _, typ := range []qipc.KeyType{qipc.SystemV, qipc.PosixRealtime} {
		t.Run(typ.String(), func(t *testing.T) {
			name, match := uniqueName("counting")
			k := qipc.LegacySemaphoreKey(name, typ)
			s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			objs := lsJSON(t, match)
			if len(objs) == 0 {
				t.Fatalf("ls does not show the semaphore")
			}
			for _, o := range objs {
				if o.Holder != 0 || o.HolderWhy != "" {
					t.Errorf("%s %s at 0 is named held: holder %d (%s)", o.Kind, o.Path, o.Holder, o.HolderWhy)
				}
			}
			if info := mustQ(t, "", "info", "--sem", k.String()); strings.Contains(info, "holder:") {
				t.Errorf("info names a holder of a counting semaphore:\n%s", info)
			}
		})
	}
}
