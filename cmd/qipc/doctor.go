package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/qipc-go/qipc"
)

// ---- doctor ----

// Diagnosis is what `qipc doctor --json` prints: the names a key or name
// gives under each Qt generation and which of them exist, the facts of
// this process and of the peer, and what they explain. The JSON field
// names are part of the tool's interface.
type Diagnosis struct {
	Arg      string       `json:"arg"`
	Names    []Derivation `json:"names"`
	Self     *ProcFacts   `json:"self"`
	Peer     *ProcFacts   `json:"peer,omitempty"`
	Findings []Finding    `json:"findings"`
}

// Derivation is one way a Qt program turns the name into native names.
type Derivation struct {
	Qt        string   `json:"qt"`   // the Qt versions that derive it so
	Type      string   `json:"type"` // the key type
	Legacy    bool     `json:"legacy"`
	Note      string   `json:"note,omitempty"`
	Segment   NameFact `json:"segment"`
	Lock      NameFact `json:"lock"`
	Semaphore NameFact `json:"semaphore"` // a QSystemSemaphore of the same name
}

// NameFact is one native name and what this process sees of it.
type NameFact struct {
	Key    string `json:"key"` // QNativeIpcKey::toString() form
	Native string `json:"native"`
	// Exists is null when this process cannot tell (another OS, a key
	// file it may not read).
	Exists *bool  `json:"exists"`
	UID    *int   `json:"uid,omitempty"`
	GID    *int   `json:"gid,omitempty"`
	Mode   string `json:"mode,omitempty"`
}

// ProcFacts is what doctor reads of one process; a field left empty could
// not be read, and Unreadable says why.
type ProcFacts struct {
	PID            int      `json:"pid"`
	Command        string   `json:"command,omitempty"`
	UID            int      `json:"uid"`
	GID            int      `json:"gid"`
	Groups         []int    `json:"groups,omitempty"`
	IPCNamespace   string   `json:"ipc_namespace,omitempty"`
	MountNamespace string   `json:"mount_namespace,omitempty"`
	DevShm         string   `json:"dev_shm,omitempty"` // "MAJOR:MINOR inode N" of the /dev/shm it sees
	TMPDIR         *string  `json:"tmpdir"`            // null: unset (or unreadable, see Unreadable)
	TempPath       string   `json:"temp_path,omitempty"`
	TempDir        string   `json:"temp_dir,omitempty"` // "MAJOR:MINOR inode N" of that directory, as it sees it
	XDGRuntimeDir  *string  `json:"xdg_runtime_dir"`
	RuntimeDir     string   `json:"runtime_dir,omitempty"` // where its Qt 6.6+ puts System V key files
	Qt             []QtLib  `json:"qt,omitempty"`
	Sandbox        []string `json:"sandbox,omitempty"`
	Unreadable     []string `json:"unreadable,omitempty"`

	envKnown bool   // TMPDIR and XDG_RUNTIME_DIR were read
	tmpdir   string // TMPDIR made absolute against its working directory
}

// QtLib is a QtCore library a process has mapped.
type QtLib struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"` // "6.4.2"; "" when the file does not say
}

// Finding is one mismatch, and what to do about it.
type Finding struct {
	Problem string `json:"problem"`
	Remedy  string `json:"remedy"`
}

func cmdDoctor(args []string) int {
	var kf keyFlags
	var jsonOut bool
	var pid int
	fs := newFlags("doctor", "KEY-OR-NAME [--pid PID] [--json]", `
Explains why a Qt program (the peer, --pid) and this one do not see the same
shared memory, from what the system shows: the native names every Qt
generation derives from NAME (Qt 6.6+, Qt 4.4 to 6.5's legacy names, Qt
6.6.0's lock) and which of them exist; and, for the peer, its IPC
namespace and the /dev/shm it sees against this process's, its user and
groups against the objects' owners and modes, its TMPDIR and
XDG_RUNTIME_DIR (where Qt puts System V key files), the QtCore it has
mapped (so its Qt version) and the sandbox it runs in (Flatpak, snap, a
container). Each mismatch is printed with its remedy. Run it as the user
(or in the container) your Go program runs as: what this process sees is
what that program sees. Reading another user's process needs root.`)
	kf.register(fs)
	fs.IntVar(&pid, "pid", 0, "the peer: a running Qt program's `PID`")
	fs.BoolVar(&jsonOut, "json", false, "print the diagnosis as JSON")
	pos, _, stop := fs.parse(args, 1, 1)
	if stop >= 0 {
		return stop
	}
	if pos[0] == "" {
		return fs.usage("empty KEY-OR-NAME")
	}
	pidSet := false
	fs.Visit(func(f *flag.Flag) { pidSet = pidSet || f.Name == "pid" })
	if pidSet && pid <= 0 {
		return fs.usage("--pid %d: not a process id", pid)
	}
	self, err := procFacts(os.Getpid())
	if err != nil {
		// No /proc (a chroot, a build sandbox): only the ids are known.
		self = &ProcFacts{PID: os.Getpid(), UID: os.Geteuid(), GID: os.Getegid(), Unreadable: []string{err.Error()}}
	}
	d := &Diagnosis{Arg: pos[0], Self: self}
	if pidSet {
		if d.Peer, err = procFacts(pid); err != nil {
			return fail("doctor", pos[0], err)
		}
	}
	names, err := derivations(pos[0], &kf, d.Peer)
	if err != nil {
		return badKey("doctor", pos[0], err)
	}
	d.Names = names
	d.Findings = diagnose(d)
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return fail("doctor", pos[0], err)
		}
		return exitOK
	}
	d.print(stdout)
	return exitOK
}

// derivations lists the native names arg gives: a key as it is (with
// its lock); a plain name as every Qt generation derives it, or, with
// --type or --legacy, as that one does. A peer's TMPDIR and Qt version,
// when they change a name, add the names that peer derives.
func derivations(arg string, kf *keyFlags, peer *ProcFacts) ([]Derivation, error) {
	if looksLikeKey(arg) || kf.typ != "" || kf.legacy {
		k, err := kf.resolve(arg, false)
		if err != nil {
			return nil, err
		}
		return []Derivation{derive("as given", k, qipc.Key{}, "")}, nil
	}
	type gen struct {
		qt     string
		typ    qipc.KeyType
		legacy bool
		opts   []qipc.KeyOption
		note   string
	}
	gens := []gen{
		{"6.6+", qipc.PosixRealtime, false, nil, "Qt 6.6+'s default type here"},
		{"6.6+", qipc.SystemV, false, nil, "key file in XDG_RUNTIME_DIR"},
		{"4.4-6.5", qipc.SystemV, true, nil, "Qt 4.4 to 6.5's QSharedMemory(NAME) here; key file in the temp directory"},
		{"6.6+", qipc.PosixRealtime, true, nil, "a legacy name with the POSIX type (Qt 6.6+ legacyNativeKey, or a Qt built without System V)"},
		{"6.6.0", qipc.SystemV, true, []qipc.KeyOption{qipc.ForQt(6, 6, 0)}, "Qt 6.6.0 locked a legacy segment with a semaphore of its own name"},
	}
	if peer != nil && peer.envKnown {
		var opts []qipc.KeyOption
		if v, ok := peer.qtVersion(); ok {
			opts = append(opts, qipc.ForQt(v[0], v[1], v[2]))
		}
		opts = append(opts, qipc.WithPeerTMPDIR(peer.tmpdir))
		gens = append(gens, gen{"4.4-6.5", qipc.SystemV, true, opts, "the peer's, in its temp directory " + peer.TempPath})
	}
	var out []Derivation
	seen := map[string]bool{}
	for _, g := range gens {
		var k, s qipc.Key
		if g.legacy {
			k, s = qipc.LegacySharedMemoryKey(arg, g.typ, g.opts...), qipc.LegacySemaphoreKey(arg, g.typ, g.opts...)
		} else {
			k, s = qipc.SharedMemoryKey(arg, g.typ, g.opts...), qipc.SemaphoreKey(arg, g.typ, g.opts...)
		}
		id := k.String() + "|" + k.LockKey().String() + "|" + s.String()
		if k.IsEmpty() || seen[id] {
			continue // the same names as a row above (the peer's TMPDIR is this one's)
		}
		seen[id] = true
		out = append(out, derive(g.qt, k, s, g.note))
	}
	return out, nil
}

// derive is one row: k's segment and lock, and the semaphore s.
func derive(qt string, k, s qipc.Key, note string) Derivation {
	d := Derivation{Qt: qt, Type: k.Type.String(), Legacy: k.LegacyKey != "", Note: note, Segment: nameFact(k, false)}
	if k.HasLock() {
		d.Lock = nameFact(k.LockKey(), true)
	}
	if !s.IsEmpty() {
		d.Semaphore = nameFact(s, true)
	}
	return d
}

func nameFact(k qipc.Key, sem bool) NameFact {
	f := NameFact{Key: k.String(), Native: k.Native}
	exists, known := segmentExists(k)
	if sem {
		exists, known = lockExists(k)
	}
	if known {
		f.Exists = &exists
	}
	if exists {
		if uid, gid, mode, ok := ownerOf(k, sem); ok {
			f.UID, f.GID, f.Mode = &uid, &gid, mode
		}
	}
	return f
}

var qtVersionText = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

// qtVersion is the version of the first QtCore the process maps.
func (p *ProcFacts) qtVersion() ([3]int, bool) {
	for _, l := range p.Qt {
		if m := qtVersionText.FindStringSubmatch(l.Version); m != nil {
			var v [3]int
			for i := range v {
				v[i], _ = strconv.Atoi(m[i+1])
			}
			return v, true
		}
	}
	return [3]int{}, false
}

// exists lists the rows' names that exist, as "what (native)".
func (d *Diagnosis) existing() (segments []Derivation) {
	for _, n := range d.Names {
		if n.Segment.Exists != nil && *n.Segment.Exists {
			segments = append(segments, n)
		}
	}
	return segments
}

// diagnose compares what the peer sees with what this process sees, and
// says for each mismatch what to do.
func diagnose(d *Diagnosis) []Finding {
	out := []Finding{}
	add := func(problem, remedy string) { out = append(out, Finding{problem, remedy}) }
	self, peer := d.Self, d.Peer
	if self == nil {
		self = &ProcFacts{}
	}
	if peer != nil {
		for _, why := range peer.Unreadable {
			add("could not read the peer's "+why, "run qipc doctor as root or as the peer's user")
		}
		// A sandbox this process runs in too (both in one container) is
		// not what keeps them apart.
		var sandboxes []string
		for _, s := range peer.Sandbox {
			if !slices.Contains(self.Sandbox, s) {
				sandboxes = append(sandboxes, s)
			}
		}
		sandbox := strings.Join(sandboxes, ", ")
		if d.uses(true) && self.IPCNamespace != "" && peer.IPCNamespace != "" && self.IPCNamespace != peer.IPCNamespace {
			add(fmt.Sprintf("the peer runs in another IPC namespace (%s, this process %s): System V segments and semaphores of one are invisible to the other", peer.IPCNamespace, self.IPCNamespace),
				ipcRemedy(sandbox))
		}
		if d.uses(false) && self.DevShm != "" && peer.DevShm != "" && self.DevShm != peer.DevShm {
			add(fmt.Sprintf("the peer sees another /dev/shm (%s, this process %s): POSIX segments and semaphores of one are invisible to the other", peer.DevShm, self.DevShm),
				shmRemedy(sandbox))
		}
		switch {
		case !d.uses(true) || !peer.envKnown || !self.envKnown:
		case self.TempPath != peer.TempPath:
			add(fmt.Sprintf("the peer's temp directory is %s, this process's %s: Qt 4.4 to 6.5 (and a Qt 6.6+ legacy key) put the System V key file there, so the two derive different ftok keys", peer.TempPath, self.TempPath),
				fmt.Sprintf("start both with the same TMPDIR, or derive the key with qipc.WithPeerTMPDIR(%q) (the row \"the peer's\" above)", peer.tmpdir))
		case self.TempDir != "" && peer.TempDir != "" && self.TempDir != peer.TempDir:
			add(fmt.Sprintf("the peer's temp directory %s is another directory than this process's (%s there, %s here: another mount namespace): their legacy System V key files differ, and so do their ftok keys", peer.TempPath, peer.TempDir, self.TempDir),
				"share the temp directory with the peer's sandbox or container (a bind mount of it), or start both with a TMPDIR they share")
		}
		if d.uses(true) && peer.envKnown && self.envKnown && self.RuntimeDir != peer.RuntimeDir {
			add(fmt.Sprintf("the peer's Qt 6.6+ puts System V key files in %s (XDG_RUNTIME_DIR %s), this process's in %s (XDG_RUNTIME_DIR %s)", peer.RuntimeDir, orUnset(peer.XDGRuntimeDir), self.RuntimeDir, orUnset(self.XDGRuntimeDir)),
				"start both with the same XDG_RUNTIME_DIR, or pass the peer's QNativeIpcKey::toString() to qipc.ParseKey")
		}
		if v, ok := peer.qtVersion(); ok {
			switch {
			case v[0] < 6 || (v[0] == 6 && v[1] < 6):
				add(fmt.Sprintf("the peer runs Qt %d.%d.%d, which derives Qt 4.4 to 6.5's names (QSharedMemory(NAME): the legacy System V key here)", v[0], v[1], v[2]),
					"use qipc.LegacySharedMemoryKey(NAME, qipc.SystemV) (qipc ... --legacy), not SharedMemoryKey")
			case v == [3]int{6, 6, 0}:
				add("the peer runs Qt 6.6.0, whose legacy keys lock with a semaphore of the segment's own name",
					"derive legacy keys with qipc.ForQt(6, 6, 0)")
			}
		}
	}
	out = append(out, ownerFindings(d)...)
	if found := d.existing(); len(found) == 0 {
		why := "the peer has not created it yet, or names it differently"
		if peer != nil && len(out) > 0 {
			why = "see the findings above"
		}
		add("no segment of any of these names exists where this process looks", why)
	} else if len(d.Names) > 1 {
		var which []string
		for _, n := range found {
			which = append(which, n.Segment.Key)
		}
		add(fmt.Sprintf("the segment exists as %s", strings.Join(which, " and as ")),
			"use that key (qipc.ParseKey of the string), or derive it as its row says")
	}
	return out
}

// uses reports whether a row names a System V object (sysv) or a POSIX
// one: what an IPC namespace or a /dev/shm keeps apart.
func (d *Diagnosis) uses(sysv bool) bool {
	for _, n := range d.Names {
		if strings.HasPrefix(n.Type, "systemv") == sysv {
			return true
		}
	}
	return false
}

// ownerFindings: existing objects that the peer or this process may not
// open, by owner, group and mode, and those qipc refuses because another
// user owns them (root is refused too: trustOwners).
func ownerFindings(d *Diagnosis) []Finding {
	out := []Finding{}
	seen := map[string]bool{}
	add := func(problem, remedy string) {
		if !seen[problem] {
			seen[problem] = true
			out = append(out, Finding{problem, remedy})
		}
	}
	for _, n := range d.Names {
		for _, f := range []NameFact{n.Segment, n.Lock, n.Semaphore} {
			if f.UID == nil || f.GID == nil || f.Mode == "" {
				continue
			}
			for _, p := range []*ProcFacts{d.Self, d.Peer} {
				if p == nil || p.UID == 0 || mayOpen(p, *f.UID, *f.GID, f.Mode) {
					continue
				}
				who := "this process"
				if p == d.Peer {
					who = "the peer"
				}
				add(fmt.Sprintf("%s is owned by uid %d, gid %d, with mode %s: %s (uid %d) may not open it", f.Native, *f.UID, *f.GID, f.Mode, who, p.UID),
					"run both as one user, or create it with a group both are in and a mode for it (qipc.WithPermissions(0o660), qipc create --perm 660)")
			}
			if d.Self != nil && *f.UID != d.Self.UID {
				add(fmt.Sprintf("%s is owned by uid %d, not by this process's user (uid %d): qipc refuses it, root too", f.Native, *f.UID, d.Self.UID),
					"trust that user explicitly: qipc.WithForeignOwners() (qipc --foreign-owners)")
			}
		}
	}
	return out
}

// mayOpen reports whether p may open for reading and writing an object of
// owner uid, group gid and mode (octal digits), as the kernel decides: by
// the owner's bits if p is the owner, else the group's if p is in the
// group, else the others'.
func mayOpen(p *ProcFacts, uid, gid int, mode string) bool {
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return true // a mode this cannot read is not a finding
	}
	switch {
	case p.UID == uid:
		return m&0o600 == 0o600
	case p.GID == gid || slices.Contains(p.Groups, gid):
		return m&0o060 == 0o060
	}
	return m&0o006 == 0o006
}

// ipcRemedy is how to share one IPC namespace from inside sandbox.
func ipcRemedy(sandbox string) string {
	switch {
	case strings.Contains(sandbox, "flatpak"):
		return "Flatpak apps get their own IPC namespace unless given --share=ipc (flatpak override --share=ipc APP)"
	case strings.Contains(sandbox, "container"):
		return "run the container with --ipc=host (or --ipc=container:NAME to share another container's), docker and podman alike"
	}
	return "start both in one IPC namespace (unshare, systemd PrivateIPC=, a container's --ipc option made it)"
}

// shmRemedy is how to share one /dev/shm from inside sandbox.
func shmRemedy(sandbox string) string {
	switch {
	case strings.Contains(sandbox, "flatpak"):
		return "give the Flatpak app the host's /dev/shm: flatpak override --device=shm APP (finish-args --device=shm)"
	case strings.Contains(sandbox, "snap"):
		return "a strictly confined snap sees only /dev/shm/snap.NAME.*: use the snap's names, a System V key, or classic confinement"
	case strings.Contains(sandbox, "container"):
		return "share /dev/shm with the container: --ipc=host, or mount it (-v /dev/shm:/dev/shm)"
	}
	return "start both with one /dev/shm (another mount namespace mounted its own tmpfs there)"
}

func (d *Diagnosis) print(w io.Writer) {
	fmt.Fprintf(w, "names for %q (what exists as this process sees it):\n", d.Arg)
	for _, n := range d.Names {
		fmt.Fprintf(w, "  Qt %s, %s%s", n.Qt, n.Type, map[bool]string{true: ", legacy", false: ""}[n.Legacy])
		if n.Note != "" {
			fmt.Fprintf(w, " (%s)", n.Note)
		}
		fmt.Fprintln(w, ":")
		for _, f := range []struct {
			what string
			f    NameFact
		}{{"segment", n.Segment}, {"lock", n.Lock}, {"semaphore", n.Semaphore}} {
			if f.f.Native == "" {
				continue
			}
			fmt.Fprintf(w, "    %-10s %-8s %s\n", f.what, existsWord(f.f), f.f.Key)
		}
	}
	if d.Self != nil {
		d.Self.print(w, "this process")
	}
	if d.Peer != nil {
		d.Peer.print(w, "the peer")
	}
	if len(d.Findings) == 0 {
		fmt.Fprintln(w, "findings: none")
		return
	}
	fmt.Fprintln(w, "findings:")
	for _, f := range d.Findings {
		fmt.Fprintf(w, "  - %s\n    remedy: %s\n", f.Problem, f.Remedy)
	}
}

func existsWord(f NameFact) string {
	switch {
	case f.Exists == nil:
		return "unknown"
	case !*f.Exists:
		return "missing"
	case f.UID != nil:
		return fmt.Sprintf("EXISTS (uid %d, mode %s)", *f.UID, f.Mode)
	}
	return "EXISTS"
}

func (p *ProcFacts) print(w io.Writer, who string) {
	fmt.Fprintf(w, "%s: pid %d", who, p.PID)
	if p.Command != "" {
		fmt.Fprintf(w, " (%s)", p.Command)
	}
	fmt.Fprintf(w, ", uid %d, gid %d", p.UID, p.GID)
	if len(p.Groups) > 0 {
		fmt.Fprintf(w, ", groups %s", joinInts(p.Groups))
	}
	fmt.Fprintln(w)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-16s %s\n", k+":", v)
		}
	}
	line("IPC namespace", p.IPCNamespace)
	line("mount namespace", p.MountNamespace)
	line("/dev/shm", p.DevShm)
	if p.envKnown {
		line("TMPDIR", orUnset(p.TMPDIR))
		line("temp directory", strings.TrimSpace(p.TempPath+" "+paren(p.TempDir)))
		line("XDG_RUNTIME_DIR", orUnset(p.XDGRuntimeDir))
		line("runtime dir", p.RuntimeDir)
	}
	for _, l := range p.Qt {
		line("QtCore", strings.TrimSpace(l.Version+" "+l.Path))
	}
	line("sandbox", strings.Join(p.Sandbox, ", "))
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func orUnset(p *string) string {
	if p == nil {
		return "(unset)"
	}
	return *p
}
