//go:build linux

package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
	"github.com/qipc-go/qipc/internal/qtnames"
)

var qt6 = harness.Binary("qtpeer6", "apt-get install qt6-base-dev, then `make peers`")

// doctor runs `qipc doctor ARGS --json` and decodes what it printed.
func doctor(t *testing.T, args ...string) Diagnosis {
	t.Helper()
	out := mustQ(t, "", append([]string{"doctor", "--json"}, args...)...)
	var d Diagnosis
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("qipc doctor --json: %v\n%s", err, out)
	}
	return d
}

// finding returns the first finding whose problem contains all of words.
func (d Diagnosis) finding(words ...string) *Finding {
	for i, f := range d.Findings {
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(f.Problem, w) }) {
			return &d.Findings[i]
		}
	}
	return nil
}

// row returns the row whose segment is k.
func (d Diagnosis) row(k qipc.Key) *Derivation {
	for i, n := range d.Names {
		if n.Segment.Key == k.String() {
			return &d.Names[i]
		}
	}
	return nil
}

func exists(f NameFact) bool { return f.Exists != nil && *f.Exists }

func (d Diagnosis) log(t *testing.T) {
	t.Helper()
	b, _ := json.MarshalIndent(d, "", "  ")
	t.Logf("diagnosis:\n%s", b)
}

// TestDoctorQtPeers: doctor reads a real Qt program's version from the
// QtCore it maps (the file name of Debian's Qt 5.15 and 6.4, the build
// string inside a PySide6 wheel's), its TMPDIR from its environment, and
// finds the segment it made where that Qt puts it: a Qt 5.15 or 6.4 peer
// started with another TMPDIR has its key file there, which the default
// derivation misses; doctor names the mismatch, the remedy
// (WithPeerTMPDIR) and the row that exists.
func TestDoctorQtPeers(t *testing.T) {
	for _, c := range []struct {
		peer    string
		argv    harness.Program
		version string
	}{{"qt5", qt5, "5.15."}, {"qt6.4", qt6, "6.4."}} {
		t.Run(c.peer, func(t *testing.T) {
			argv := c.argv.Require(t, c.peer)
			name, _ := uniqueName("doctor")
			dir := t.TempDir()
			k := qipc.LegacySharedMemoryKey(name, qipc.SystemV, qipc.WithPeerTMPDIR(dir))
			cleanupKey(t, k)
			peer := harness.Start(t, c.peer+" create", slices.Concat(argv, []string{"create", k.String(), "64", "--hold"}), []string{"TMPDIR=" + dir}, nil)
			harness.ExpectLine(t, peer.Name, peer.Line(), "ok size=64")
			d := doctor(t, name, "--pid", strconv.Itoa(peer.Pid()))
			d.log(t)
			if d.Peer == nil || len(d.Peer.Qt) == 0 || !strings.HasPrefix(d.Peer.Qt[0].Version, c.version) {
				t.Fatalf("peer's Qt: %+v; want %s*", d.Peer, c.version)
			}
			if str(d.Peer.TMPDIR) != dir {
				t.Errorf("peer's TMPDIR %q, want %q", str(d.Peer.TMPDIR), dir)
			}
			if f := d.finding("temp directory is "+dir, "ftok"); f == nil || !strings.Contains(f.Remedy, "WithPeerTMPDIR") {
				t.Errorf("no temp-directory finding with its remedy: %+v", d.Findings)
			}
			if d.finding("derives Qt 4.4 to 6.5's names") == nil {
				t.Errorf("no finding that the peer's Qt derives legacy names: %+v", d.Findings)
			}
			if r := d.row(k); r == nil || !exists(r.Segment) || !exists(r.Lock) {
				t.Errorf("the peer's row %+v: want its segment and lock found", r)
			}
			if r := d.row(qipc.LegacySharedMemoryKey(name, qipc.SystemV)); r == nil || exists(r.Segment) {
				t.Errorf("the default legacy row %+v: want it there and missing (the peer used its TMPDIR)", r)
			}
			if d.finding("the segment exists as "+k.String()) == nil {
				t.Errorf("no finding naming the key that exists: %+v", d.Findings)
			}
		})
	}
	t.Run("pyside6", func(t *testing.T) {
		py := pyside.Require(t, "pyside6")
		out, err := exec.Command(py[0], "-c", "from PySide6.QtCore import qVersion; print(qVersion())").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(string(out))
		name, _ := uniqueName("doctorpy")
		k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
		cleanupKey(t, k)
		peer := startPeer(t, py, "create", k.String(), "64", "--hold")
		harness.ExpectLine(t, peer.Name, peer.Line(), "ok size=64")
		d := doctor(t, name, "--pid", strconv.Itoa(peer.Pid()))
		d.log(t)
		if d.Peer == nil || len(d.Peer.Qt) == 0 || d.Peer.Qt[0].Version != want {
			t.Fatalf("peer's Qt: %+v; want %s (PySide6's qVersion)", d.Peer, want)
		}
		if r := d.row(k); r == nil || !exists(r.Segment) || !exists(r.Lock) {
			t.Errorf("the Qt 6.6+ POSIX row %+v: want its segment and lock found", r)
		}
		if f := d.finding("derives Qt 4.4"); f != nil {
			t.Errorf("a Qt %s peer called legacy: %+v", want, f)
		}
		if f := d.finding("namespace"); f != nil {
			t.Errorf("a peer beside this process: %+v", f)
		}
	})
}

// TestDoctorApart: a peer in another IPC namespace, under another
// /dev/shm, or of another user made a segment this process cannot reach;
// doctor names each of these, and says the segment is not there.
func TestDoctorApart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces and another user")
	}
	cp := cpeer.Require(t, "C peer")
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			harness.Missing(t, tool, "apt-get install util-linux")
		}
	}
	t.Run("ipc-namespace", func(t *testing.T) {
		k := qipc.NewKey(filepath.Join(t.TempDir(), "app.key"), qipc.SystemV)
		if err := os.WriteFile(k.Native, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Its objects live and die with the namespace.
		peer := harness.Start(t, "peer in its own IPC namespace", slices.Concat([]string{"unshare", "--ipc"}, cp, []string{"create", k.String(), "64", "--hold"}), nil, nil)
		harness.ExpectLine(t, peer.Name, peer.Line(), "ok size=64")
		d := doctor(t, k.String(), "--pid", strconv.Itoa(peer.Pid()))
		d.log(t)
		if f := d.finding("another IPC namespace"); f == nil || !strings.Contains(f.Remedy, "IPC namespace") {
			t.Errorf("no IPC namespace finding: %+v", d.Findings)
		}
		if len(d.Names) != 1 || d.Names[0].Segment.Exists == nil || *d.Names[0].Segment.Exists {
			t.Errorf("the segment seen from here: %+v; want known missing", d.Names)
		}
		if d.finding("another /dev/shm") != nil {
			t.Errorf("a /dev/shm finding for a peer that shares it: %+v", d.Findings)
		}
	})
	t.Run("dev-shm", func(t *testing.T) {
		name, _ := uniqueName("doctorshm")
		k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
		cleanupKey(t, k)
		argv := slices.Concat([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs qipctshm /dev/shm && exec "$@"`, "sh"}, cp, []string{"create", k.String(), "64", "--hold"})
		peer := harness.Start(t, "peer under its own /dev/shm", argv, nil, nil)
		harness.ExpectLine(t, peer.Name, peer.Line(), "ok size=64")
		d := doctor(t, name, "--type", "posix", "--pid", strconv.Itoa(peer.Pid()))
		d.log(t)
		if f := d.finding("another /dev/shm"); f == nil || d.Peer.DevShm == d.Self.DevShm {
			t.Errorf("no /dev/shm finding (peer %q, here %q): %+v", d.Peer.DevShm, d.Self.DevShm, d.Findings)
		}
		if d.finding("IPC namespace") != nil {
			t.Errorf("an IPC namespace finding for a peer that shares it: %+v", d.Findings)
		}
		if r := d.row(k); r == nil || r.Segment.Exists == nil || *r.Segment.Exists {
			t.Errorf("the segment seen from here: %+v; want known missing", r)
		}
	})
	t.Run("other-user", func(t *testing.T) {
		const nobody = "65534"
		name, _ := uniqueName("doctoruser")
		k := qipc.SharedMemoryKey(name, qipc.PosixRealtime)
		cleanupKey(t, k)
		mustQ(t, "", "create", k.String(), "64") // root's, mode 0600
		// The peer: the same C peer, as nobody. Its attach is refused as
		// doctor predicts; a process of that user that keeps running is
		// what doctor is pointed at.
		asNobody := []string{"setpriv", "--reuid=" + nobody, "--regid=" + nobody, "--clear-groups"}
		if l := runPeer(t, slices.Concat(asNobody, cp), "attach", k.String()); !strings.HasPrefix(l, "err PermissionDenied") {
			t.Fatalf("the C peer as nobody: %q, want PermissionDenied", l)
		}
		peer := harness.Start(t, "nobody's process", slices.Concat(asNobody, []string{"sh", "-c", "echo ready; cat"}), nil, nil)
		harness.ExpectLine(t, peer.Name, peer.Line(), "ready")
		d := doctor(t, name, "--type", "posix", "--pid", strconv.Itoa(peer.Pid()))
		d.log(t)
		if d.Peer.UID != 65534 {
			t.Errorf("peer's uid %d, want 65534", d.Peer.UID)
		}
		if f := d.finding(k.Native, "uid 0", "mode 0600", "the peer (uid 65534) may not open it"); f == nil || !strings.Contains(f.Remedy, "WithPermissions") {
			t.Errorf("no owner finding: %+v", d.Findings)
		}
		if d.finding("namespace") != nil || d.finding("/dev/shm") != nil {
			t.Errorf("namespace findings for a peer beside this process: %+v", d.Findings)
		}
	})
}

// TestDoctorNames: without a peer, doctor derives the name under every Qt
// generation and marks the ones that exist; bad input is a usage error.
func TestDoctorNames(t *testing.T) {
	name, _ := uniqueName("doctornames")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	mustQ(t, "", "create", k.String(), "64")
	d := doctor(t, name)
	d.log(t)
	want := []qipc.Key{
		qipc.SharedMemoryKey(name, qipc.PosixRealtime),
		qipc.SharedMemoryKey(name, qipc.SystemV),
		k,
		qipc.LegacySharedMemoryKey(name, qipc.PosixRealtime),
		qipc.LegacySharedMemoryKey(name, qipc.SystemV, qipc.ForQt(6, 6, 0)),
	}
	for _, w := range want {
		r := d.row(w)
		if r == nil {
			t.Errorf("no row for %v", w)
			continue
		}
		if got := exists(r.Segment); got != (w.Native == k.Native) { // 6.6.0's row names the same segment
			t.Errorf("row %v: exists %v", w, got)
		}
	}
	if r := d.row(qipc.LegacySharedMemoryKey(name, qipc.SystemV, qipc.ForQt(6, 6, 0))); r == nil || r.Lock.Key != r.Segment.Key {
		t.Errorf("the Qt 6.6.0 row locks with %+v, want the segment's own name", r)
	}
	if d.Peer != nil || d.finding("the segment exists as "+k.String()) == nil {
		t.Errorf("findings %+v", d.Findings)
	}
	text := mustQ(t, "", "doctor", name)
	if !strings.Contains(text, "EXISTS") || !strings.Contains(text, "remedy: ") {
		t.Errorf("doctor's text:\n%s", text)
	}
	for _, bad := range [][]string{{"doctor"}, {"doctor", ""}, {"doctor", name, "--pid", "-3"}, {"doctor", name, "--pid", "x"}} {
		if r := runQ(t, "", bad...); r.code != exitUsage {
			t.Errorf("qipc %q: exit %d, want %d (%s)", bad, r.code, exitUsage, r.err)
		}
	}
	if r := runQ(t, "", "doctor", name, "--pid", "999999999"); r.code != exitFail || !strings.Contains(r.err, "no process 999999999") {
		t.Errorf("doctor --pid of no process: exit %d %q", r.code, r.err)
	}
}

// The second reader's breaks of doctor, each a test that failed first.

// sysvRow is a row naming a System V segment, so that the findings about
// what keeps System V apart apply.
func sysvRow(f NameFact) []Derivation {
	return []Derivation{{Qt: "as given", Type: "systemv", Segment: f}}
}

// TestDoctorRootIsRefusedToo: qipc refuses an object another user owns
// also when it runs as root (trustOwners), which is when doctor reads
// another user's peer; the finding must say so.
func TestDoctorRootIsRefusedToo(t *testing.T) {
	uid, gid, yes := 1000, 1000, true
	d := &Diagnosis{
		Self:  &ProcFacts{PID: 1, UID: 0},
		Peer:  &ProcFacts{PID: 2, UID: 1000, GID: 1000},
		Names: []Derivation{{Segment: NameFact{Key: "posix:/app", Native: "/app", Exists: &yes, UID: &uid, GID: &gid, Mode: "0600"}}},
	}
	if d.Findings = diagnose(d); d.finding("qipc refuses it, root too") == nil {
		t.Errorf("no 'qipc refuses it' finding for root and an object of uid 1000: %+v", d.Findings)
	}
}

// TestDoctorGroupModes: the kernel's order, owner then group then others:
// a group the process is in gets the group's bits, even where the others'
// would be wider, and a group it is not in does not.
func TestDoctorGroupModes(t *testing.T) {
	p := &ProcFacts{UID: 1000, GID: 1000, Groups: []int{1000, 27}}
	for _, c := range []struct {
		uid, gid int
		mode     string
		want     bool
	}{
		{1000, 5, "0600", true},
		{1000, 5, "0460", false},
		{2000, 27, "0660", true},
		{2000, 27, "0606", false}, // the group's bits, not the others'
		{2000, 28, "0660", false},
		{2000, 28, "0666", true},
	} {
		if got := mayOpen(p, c.uid, c.gid, c.mode); got != c.want {
			t.Errorf("mayOpen(uid %d, gid %d, %s): %v, want %v", c.uid, c.gid, c.mode, got, c.want)
		}
	}
}

// TestDoctorRuntimeDirs: a Qt 6.6+ System V key file lives in the runtime
// directory: XDG_RUNTIME_DIR, cleaned, or <temp dir>/runtime-<user> when
// unset. Two processes whose directories differ are named, with "(unset)"
// for a missing variable; the same directory spelled with a trailing slash
// is no finding.
func TestDoctorRuntimeDirs(t *testing.T) {
	root := t.TempDir()
	if got, want := runtimeDirOf("/proc/self", root+"/run/", "/tmp", os.Getuid()), root+"/run"; got != want {
		t.Errorf("runtimeDirOf with XDG_RUNTIME_DIR=%s/run/: %q, want %q", root, got, want)
	}
	user := qtnames.UserName(os.Getuid())
	if got, want := runtimeDirOf("/proc/self", "", root, os.Getuid()), root+"/runtime-"+user; got != want {
		t.Errorf("runtimeDirOf without XDG_RUNTIME_DIR: %q, want %q", got, want)
	}
	xdg := "/run/user/1000"
	d := &Diagnosis{
		Self:  &ProcFacts{PID: 1, UID: 1000, TempPath: "/tmp", envKnown: true, RuntimeDir: "/tmp/runtime-me"},
		Peer:  &ProcFacts{PID: 2, UID: 1000, TempPath: "/tmp", envKnown: true, XDGRuntimeDir: &xdg, RuntimeDir: xdg},
		Names: sysvRow(NameFact{Key: "systemv:/x", Native: "/x"}),
	}
	d.Findings = diagnose(d)
	if f := d.finding("puts System V key files in /run/user/1000", "(unset)"); f == nil {
		t.Errorf("no runtime-directory finding naming both: %+v", d.Findings)
	}
	d.Self.RuntimeDir = xdg
	if d.Findings = diagnose(d); d.finding("runtime") != nil || d.finding("XDG_RUNTIME_DIR") != nil {
		t.Errorf("a finding for one runtime directory: %+v", d.Findings)
	}
}

// TestDoctorNoSelf: without /proc (a chroot, a build sandbox) this
// process's facts are missing; doctor must not panic.
func TestDoctorNoSelf(t *testing.T) {
	(&Diagnosis{Arg: "x"}).print(io.Discard)
	_ = diagnose(&Diagnosis{Arg: "x", Peer: &ProcFacts{PID: 2}})
}

// TestDoctorMapsPathWithSpaces: a QtCore under a directory with a space
// is one maps field; its version is in the name.
func TestDoctorMapsPathWithSpaces(t *testing.T) {
	const path = "/opt/My Qt/lib/libQt6Core.so.6.5.3"
	maps := "7f0000000000-7f0000100000 r-xp 00000000 08:01 123456                     " + path + "\n"
	got := qtCores("/nonexistent", []byte(maps))
	if len(got) != 1 || got[0].Path != path || got[0].Version != "6.5.3" {
		t.Errorf("qtCores of a spaced path: %+v; want %s 6.5.3", got, path)
	}
}

// TestDoctorBuildVersionNotMapped: the peer may have put a FIFO, or a link
// to /dev/zero, under its QtCore's name since it mapped the library;
// doctor reads only the mapped file (its inode), so it neither hangs nor
// reads without end, and it finds the version of the real one.
func TestDoctorBuildVersionNotMapped(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "libQt6Core.so.6")
	if err := os.WriteFile(lib, append(make([]byte, 3<<20), "Qt 6.8.1 (x86_64-little_endian-lp64 shared"...), 0o600); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(lib, &st); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() { done <- buildVersion(st.Ino, fifo, zero, lib) }()
	if got := harness.Within(t, "buildVersion", done); got != "6.8.1" {
		t.Errorf("buildVersion: %q, want 6.8.1 (past a FIFO and /dev/zero, from the mapped file)", got)
	}
}

// TestDoctorExitedPeer: a zombie has no environment (it would read as
// TMPDIR unset) and no namespaces; doctor says it has exited.
func TestDoctorExitedPeer(t *testing.T) {
	c := exec.Command("sh", "-c", "exit 0")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Wait() })
	pid := c.Process.Pid
	waitFor := make(chan struct{})
	go func() {
		defer close(waitFor)
		for {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil || strings.Contains(string(b), ") Z ") {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	harness.Within(t, "the child's exit", waitFor)
	if p, err := procFacts(pid); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("procFacts of a zombie: %+v, %v; want an error saying it exited", p, err)
	}
	if r := runQ(t, "", "doctor", "x", "--pid", strconv.Itoa(pid)); r.code != exitFail || !strings.Contains(r.err, "has exited") {
		t.Errorf("doctor --pid of a zombie: exit %d %q", r.code, r.err)
	}
}

// TestDoctorRelativeTMPDIR: Qt makes a relative TMPDIR absolute against
// the peer's working directory, not doctor's.
func TestDoctorRelativeTMPDIR(t *testing.T) {
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(filepath.Join(base, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	peer := harness.StartCmd(t, "peer with TMPDIR=sub", nil, func() *exec.Cmd {
		// No exec after "ready": the environment of a process in the
		// middle of an exec reads empty.
		c := exec.Command("sh", "-c", "echo ready; cat")
		c.Dir = base
		c.Env = append(os.Environ(), "TMPDIR=sub")
		return c
	})
	harness.ExpectLine(t, peer.Name, peer.Line(), "ready")
	p, err := procFacts(peer.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if p.TempPath != want {
		t.Errorf("the peer's temp path %q; want %q (its TMPDIR=sub under its working directory %s)", p.TempPath, want, base)
	}
	names, err := derivations("relname", &keyFlags{}, p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range names {
		if strings.HasPrefix(n.Note, "the peer's") {
			found = true
			if !strings.HasPrefix(n.Segment.Native, want+"/") {
				t.Errorf("the peer's row names %s; want a key file in %s", n.Segment.Native, want)
			}
		}
	}
	if !found {
		t.Errorf("no row for the peer's temp directory: %+v", names)
	}
}

// TestDoctorFindingsArray: --json prints findings as an array, also when
// there are none.
func TestDoctorFindingsArray(t *testing.T) {
	yes := true
	d := &Diagnosis{Arg: "posix:/x", Self: &ProcFacts{PID: 1},
		Names: []Derivation{{Qt: "as given", Type: "posix", Segment: NameFact{Key: "posix:/x", Native: "/x", Exists: &yes}}}}
	d.Findings = diagnose(d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"findings":[]`) {
		t.Errorf("--json with no findings: %s", b)
	}
}
