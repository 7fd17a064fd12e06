package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/procs"
	"github.com/qipc-go/qipc/internal/qtnames"
	"golang.org/x/sys/unix"
)

const (
	devShm      = procs.DevShm
	qtProjectID = qtnames.FtokProjectID
	shmPrefix   = qtnames.SharedMemoryPrefix
	semPrefix   = qtnames.SemaphorePrefix
)

// tempDir is the directory of Qt's legacy System V key files, taken from
// the library's own derivation so the two never disagree ("" when the
// temp directory does not exist, as for Qt 5.15/6.4).
func tempDir() string {
	native := qipc.LegacySharedMemoryKey("x", qipc.SystemV).Native
	if dir := filepath.Dir(native); dir != "/" {
		return dir
	}
	return ""
}

// runtimeDir is where Qt 6.6+ puts System V key files: the first of Qt's
// candidates that is a directory. Unlike Qt, it creates nothing.
func runtimeDir(tmp string) string {
	for _, dir := range qtnames.RuntimeDirCandidates(os.Getenv("XDG_RUNTIME_DIR"), tmp, qtnames.UserName(os.Geteuid())) {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	return ""
}

// keyFile is a file that may be a System V key file.
type keyFile struct {
	path  string
	low24 uint32 // ftok's bits without the project id
	st    *unix.Stat_t
	temp  bool // in the temp dir with a qipc_ prefix
	users []*Object
}

func low24(st *unix.Stat_t) uint32 {
	return uint32(st.Dev&0xff)<<16 | uint32(st.Ino&0xffff)
}

func lstatFile(path string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return &st, nil
}

// qtKeyFile reports whether st is what Qt makes as a key file: an empty
// regular file.
func qtKeyFile(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0
}

func statFile(path string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return &st, nil
}

// ftokOf computes ftok(path, proj) as glibc does.
func ftokOf(path string, proj uint8) (uint32, error) {
	st, err := statFile(path)
	if err != nil {
		return 0, err
	}
	return uint32(proj)<<24 | low24(st), nil
}

func projectID(t qipc.KeyType) uint8 {
	if t.IsSystemV() {
		return uint8(t)
	}
	return 0
}

func findKeyFiles() []*keyFile {
	var files []*keyFile
	seen := map[string]bool{}
	add := func(path string, temp bool) {
		if seen[path] {
			return
		}
		st, err := lstatFile(path)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return
		}
		seen[path] = true
		files = append(files, &keyFile{path: path, low24: low24(st), st: st, temp: temp})
	}
	tmp := tempDir()
	if tmp != "" {
		if ents, err := os.ReadDir(tmp); err == nil {
			for _, e := range ents {
				if n := e.Name(); strings.HasPrefix(n, shmPrefix) || strings.HasPrefix(n, semPrefix) {
					add(filepath.Join(tmp, n), true)
				}
			}
		}
	}
	// Qt 6.6+ keys live in the runtime directory under any name.
	if rt := runtimeDir(tmp); rt != "" {
		if ents, err := os.ReadDir(rt); err == nil {
			for _, e := range ents {
				if e.Type().IsRegular() {
					add(filepath.Join(rt, e.Name()), false)
				}
			}
		}
	}
	return files
}

// sysvTable reads /proc/sysvipc/{shm,sem} into maps from column name to value.
func sysvTable(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cols []string
	var rows []map[string]string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if cols == nil {
			cols = fields
			continue
		}
		if len(fields) < len(cols) {
			continue
		}
		r := make(map[string]string, len(cols))
		for i, c := range cols {
			r[c] = fields[i]
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

func atoi(s string) int {
	n, _ := strconv.ParseInt(s, 10, 64)
	return int(n)
}

func keyOf(r map[string]string) uint32 {
	n, _ := strconv.ParseInt(r["key"], 10, 64)
	return uint32(n)
}

func octalMode(perms string) string {
	// /proc/sysvipc prints the mode in octal without a leading 0.
	n, err := strconv.ParseUint(perms, 8, 32)
	if err != nil {
		return perms
	}
	return fmt.Sprintf("%04o", n&0o777)
}

var userCache = map[int]string{}

func userName(uid int) string {
	if n, ok := userCache[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	userCache[uid] = n
	return n
}

// processAlive reports whether pid runs (a zombie counts as gone).
func processAlive(pid int) bool { return procs.Alive(pid) }

// pick chooses, among the key files whose ftok bits match, the one whose
// name fits the object kind.
func pick(cands []*keyFile, prefix string) *keyFile {
	if len(cands) == 0 {
		return nil
	}
	for _, c := range cands {
		if strings.HasPrefix(filepath.Base(c.path), prefix) {
			return c
		}
	}
	for _, c := range cands {
		if !c.temp {
			return c
		}
	}
	return cands[0]
}

// lockFileFor is the key file of the lock semaphore of a segment whose key
// file is p: Qt <= 6.5's qipc_systemsem_ twin, else the same file (Qt 6.6+).
func lockFileFor(p string) string {
	dir, base := filepath.Split(p)
	if twin, ok := qtnames.LockTwin(base); ok {
		return dir + twin
	}
	return p
}

// posixLockName is the /dev/shm name of the lock semaphore of POSIX segment name.
func posixLockName(name string) string {
	if twin, ok := qtnames.LockTwin(name); ok {
		return "sem." + twin
	}
	return "sem." + name
}

func ctimeOf(st *unix.Stat_t) time.Time {
	return time.Unix(st.Ctim.Unix())
}

func intp(n int) *int { return &n }

// scan finds every Qt-style object on the machine and marks stale ones.
func scan() ([]*Object, error) {
	files := findKeyFiles()
	byLow := map[uint32][]*keyFile{}
	for _, f := range files {
		byLow[f.low24] = append(byLow[f.low24], f)
	}
	var objs []*Object

	sysv := func(kind, table, prefix string) error {
		rows, err := sysvTable(table)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no System V IPC in this kernel
		}
		if err != nil {
			return err
		}
		for _, r := range rows {
			key := keyOf(r)
			if key == 0 {
				continue // IPC_PRIVATE: not Qt's
			}
			kf := pick(byLow[key&0xffffff], prefix)
			proj := int(key >> 24)
			if kf == nil && proj != qtProjectID {
				continue
			}
			id := atoi(r["shmid"])
			if kind == kindSysvSem {
				id = atoi(r["semid"])
			}
			uid := atoi(r["uid"])
			o := &Object{
				Kind: kind, ID: intp(id), Ftok: fmt.Sprintf("0x%08x", key), ProjectID: proj,
				UID: uid, Owner: userName(uid), Mode: octalMode(r["perms"]),
				Changed: time.Unix(int64(atoi(r["ctime"])), 0),
			}
			if kind == kindSysvShm {
				o.Size = int64(atoi(r["size"]))
				o.Nattch = intp(atoi(r["nattch"]))
				o.Cpid, o.Lpid = atoi(r["cpid"]), atoi(r["lpid"])
			} else {
				o.Size = int64(atoi(r["nsems"]))
				if v, err := semValue(id); err == nil {
					o.Value = intp(v)
				}
				if p, err := semLastPid(id); err == nil {
					o.Lpid = p
					o.lpidAlive = processAlive(p)
				}
				waiters := -1
				if n, err := semWaiters(id); err == nil {
					o.Waiters, waiters = intp(n), n
				}
				o.lockFacts = &procs.LockFacts{Waiters: waiters, LastPid: o.Lpid, LastPidKnown: true, LastPidGone: o.Lpid > 0 && !o.lpidAlive}
			}
			o.key = key
			o.Qt = qtUnknown
			if proj == qtProjectID || kf != nil && qtKeyFile(kf.st) {
				o.Qt = qtLock
				if kind == kindSysvShm {
					o.Qt = qtSegment
				}
			}
			if kf != nil {
				o.dev, o.ino = kf.st.Dev, kf.st.Ino
				o.Path, o.Native = kf.path, kf.path
				o.Key = qipc.NewKey(kf.path, qipc.SystemVWithID(uint8(proj))).String()
				kf.users = append(kf.users, o)
				if kind == kindSysvShm {
					o.Lock = lockFileFor(kf.path)
				}
			} else if kind == kindSysvSem && !o.lpidAlive {
				// The scan looks for key files only in the temp and
				// runtime directories it knows; a key file elsewhere (a
				// native key, another user's runtime directory) still
				// names the set, and a set shows no one who has it open.
				// Nothing records which name it had, so the user names it
				// by its id. Gone, its key file is no safeguard either: a
				// new key file that gets its inode back (ext4 reuses
				// inode numbers at once) gives the same ftok key.
				reach := "no key file in the directories scanned names it (its own is gone, or lies elsewhere); " +
					"any new key file there whose inode gives its ftok key reaches it again (ext4 reuses inode numbers)"
				if o.Lpid == 0 {
					o.unverified(reach+"; no process in sight last used it",
						"its last user may run in another PID namespace, or it never had its first count")
				} else {
					o.unverified(reach+"; its last user is gone",
						fmt.Sprintf("a key file outside the directories scanned may still name it (clean --stale --id %s:%d selects it)", kind, id))
				}
			}
			if kind == kindSysvShm {
				if stale, why := procs.SysVSegment(*o.Nattch, o.Cpid, procs.Alive); stale {
					o.stale(why)
				}
			}
			objs = append(objs, o)
		}
		return nil
	}
	if err := sysv(kindSysvShm, "/proc/sysvipc/shm", shmPrefix); err != nil {
		return nil, err
	}
	if err := sysv(kindSysvSem, "/proc/sysvipc/sem", semPrefix); err != nil {
		return nil, err
	}

	// A legacy lock semaphore whose segment's key file is gone, whose last
	// user is dead and whose count is free is an orphan: what a failed
	// Attach of an older qipc, or a Qt program that crashed, leaves. Its
	// name gives the segment's: qipc_systemsem_X locks qipc_sharedmemory_X.
	for _, o := range objs {
		if o.Kind != kindSysvSem || o.Path == "" || o.Value == nil || *o.Value != 1 || o.lpidAlive || o.Lpid == 0 {
			continue
		}
		dir, base := filepath.Split(o.Path)
		if s, ok := strings.CutPrefix(base, semPrefix); ok {
			if _, err := os.Stat(dir + shmPrefix + s); errors.Is(err, fs.ErrNotExist) {
				o.stale("orphaned lock: its segment's key file is gone, its last user is dead and it is free")
			}
		}
	}

	// The lock semaphore of a stale segment is stale with it.
	for _, o := range objs {
		if o.Kind != kindSysvShm || !o.Stale || o.Lock == "" {
			continue
		}
		for _, s := range objs {
			if s.Kind == kindSysvSem && s.Path == o.Lock {
				s.stale(fmt.Sprintf("lock semaphore of stale segment %d", *o.ID))
			}
		}
	}

	// Key files with no object, unless young.
	for _, f := range files {
		if len(f.users) > 0 || !f.temp {
			continue
		}
		o := &Object{
			Kind: kindKeyFile, Path: f.path, Native: f.path,
			Key: qipc.NewKey(f.path, qipc.SystemV).String(),
			UID: int(f.st.Uid), Owner: userName(int(f.st.Uid)),
			Mode: fmt.Sprintf("%04o", f.st.Mode&0o777), Size: f.st.Size,
			Changed: ctimeOf(f.st), Qt: qtUnknown,
		}
		o.dev, o.ino = f.st.Dev, f.st.Ino
		if base := filepath.Base(f.path); qtKeyFile(f.st) {
			switch {
			case qtnames.IsLegacyName(base, shmPrefix):
				o.Qt = qtSegment
			case qtnames.IsLegacyName(base, semPrefix):
				o.Qt = qtLock
			}
		}
		// Nothing shows a creator between opening the file (a new one,
		// or an old one it reuses) and its shmget or semget.
		o.unverified("key file without an object; a creator may be between opening it and shmget/semget",
			"a creator may be between opening it and shmget/semget")
		objs = append(objs, o)
	}

	// POSIX objects. Any name may be a Qt 6.6+ segment's, so a name
	// proves a Qt object only as the legacy derivation makes it, or as a
	// pair: segment NAME beside its lock sem.NAME.
	if ents, err := os.ReadDir(devShm); err == nil {
		users := procs.ShmUsers()
		names := map[string]bool{}
		for _, e := range ents {
			names[e.Name()] = true
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			name := e.Name()
			path := devShm + "/" + name
			st, err := lstatFile(path)
			if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
				continue
			}
			o := &Object{
				Kind: kindPosixShm, Path: path, UID: int(st.Uid), Owner: userName(int(st.Uid)),
				Mode: fmt.Sprintf("%04o", st.Mode&0o777), Size: st.Size, Changed: ctimeOf(st),
				Qt: qtUnknown,
			}
			o.dev, o.ino = st.Dev, st.Ino
			native := "/" + name
			if s, ok := strings.CutPrefix(name, "sem."); ok {
				o.Kind = kindPosixSem
				native = "/" + s
				if v, n, ok := glibcsem.ReadFile(path); ok {
					o.Value, o.Waiters = intp(v), intp(n)
					f := procs.SemUsers(users, st.Ino, n)
					o.lockFacts = &f
				}
				if qtnames.IsLegacyName(s, semPrefix) || names[s] {
					o.Qt = qtLock
				}
			} else {
				o.Lock = devShm + "/" + posixLockName(name)
				if qtnames.IsLegacyName(name, shmPrefix) || names["sem."+name] {
					o.Qt = qtSegment
				}
			}
			o.Native = native
			o.Key = qipc.NewKey(native, qipc.PosixRealtime).String()
			o.Pids = users.Users(st.Ino)
			o.Nattch = intp(len(o.Pids))
			if stale, sure, why := procs.PosixSegment(o.Pids, users, procs.LeaseIfUnseen(users, path, st.Dev, st.Ino)); stale && sure {
				o.stale(why)
			} else if stale {
				o.unverified(why, "not every process could be checked for a mapping")
			}
			objs = append(objs, o)
		}
	}

	// A semaphore at 0 is a held lock only where it is a segment's lock;
	// else its last taker may be anyone's (a QSystemSemaphore counts, and
	// no one holds it).
	for _, o := range objs {
		if o.Lock == "" {
			continue
		}
		for _, s := range objs {
			if (s.Kind == kindSysvSem || s.Kind == kindPosixSem) && s.Path == o.Lock && s.lockFacts != nil {
				s.holder(*s.lockFacts)
			}
		}
	}

	// A key file may be removed only with every object that uses it.
	for _, f := range files {
		shared := false
		for _, u := range f.users {
			if !u.Stale {
				shared = true
			}
		}
		for _, u := range f.users {
			u.keyFileShared = shared
		}
	}

	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.Kind != b.Kind {
			return kindOrder(a.Kind) < kindOrder(b.Kind)
		}
		if a.ID != nil && b.ID != nil {
			return *a.ID < *b.ID
		}
		return a.Path < b.Path
	})
	return objs, nil
}

func kindOrder(k string) int {
	return map[string]int{kindSysvShm: 0, kindSysvSem: 1, kindKeyFile: 2, kindPosixShm: 3, kindPosixSem: 4}[k]
}

// matches reports whether the object is (or is the key file of) k.
func (o *Object) matches(k qipc.Key) bool {
	switch {
	case k.Type.IsSystemV():
		if o.Path != k.Native || (o.Kind != kindSysvShm && o.Kind != kindSysvSem && o.Kind != kindKeyFile) {
			return false
		}
		return o.ID == nil || o.ProjectID == int(projectID(k.Type))
	case k.Type == qipc.PosixRealtime:
		name := strings.TrimPrefix(k.Native, "/")
		return o.Path == devShm+"/"+name || o.Path == devShm+"/sem."+name
	}
	return false
}

// action is one removal step of `qipc clean`. Each re-checks, just before
// it removes anything, that the object is still the one the scan saw and
// still unused: a creator may have made or taken it since.
type action struct {
	what string
	do   func() error
}

// errSkipped is an action that found, re-checking, that it must not remove
// its object; clean reports it as a skip, not a failure.
type errSkipped struct{ why string }

func (e errSkipped) Error() string { return e.why }

func skipped(format string, a ...any) error { return errSkipped{fmt.Sprintf(format, a...)} }

// removeActions are the steps that remove o; force removes it even while
// processes use it, but never another object than the one scanned.
func (o *Object) removeActions(force bool) []action {
	keyFile := func() []action {
		if o.Path == "" || o.keyFileShared {
			return nil
		}
		return []action{{"key file " + o.Path, func() error { return o.unlinkKeyFile() }}}
	}
	switch o.Kind {
	case kindSysvShm:
		id := *o.ID
		return append([]action{{fmt.Sprintf("System V segment %d (key %s)", id, o.Ftok), func() error { return o.removeSysvShm(force) }}},
			keyFile()...)
	case kindSysvSem:
		id := *o.ID
		// Qt's order: unlink the key file, then IPC_RMID; the key file
		// goes only once the set is proven stale.
		return []action{{fmt.Sprintf("System V semaphore %d (key %s)", id, o.Ftok), func() error {
			if err := o.recheckSysvSem(force); err != nil {
				return err
			}
			for _, a := range keyFile() {
				if err := a.do(); err != nil {
					return err
				}
			}
			return semRemoveID(id)
		}}}
	case kindKeyFile:
		return keyFile()
	case kindPosixShm:
		return []action{{"POSIX segment " + o.Path, func() error { return o.removePosix(force) }}}
	case kindPosixSem:
		return []action{{"POSIX semaphore " + o.Path, func() error { return o.removePosix(force) }}}
	}
	return nil
}

// removeSysvShm removes the segment by id after checking again that the id
// still holds the segment with the scanned key and, unless force, that no
// process is attached and its creator is gone.
func (o *Object) removeSysvShm(force bool) error {
	id := *o.ID
	if got, err := unix.SysvShmGet(int(int32(o.key)), 0, 0); err != nil || got != id {
		return nil // gone, or another segment under the key now
	}
	var ds unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &ds); err != nil {
		return goneIsFine(err)
	}
	if !force {
		if ds.Nattch > 0 {
			return skipped("%d process(es) attached now", ds.Nattch)
		}
		if procs.Alive(int(ds.Cpid)) {
			return skipped("its creator (pid %d) runs", ds.Cpid)
		}
	}
	return shmRemoveID(id)
}

// recheckSysvSem checks again that the set's id still holds the scanned
// key and, unless force, that its last user is gone and no one waits on it.
func (o *Object) recheckSysvSem(force bool) error {
	got, err := semGet(o.key)
	if err != nil || got != *o.ID {
		return skipped("gone or replaced since the scan")
	}
	if force {
		return nil
	}
	if p, err := semLastPid(got); err == nil && p != os.Getpid() && procs.Alive(p) {
		return skipped("last used by live process %d now", p)
	}
	if n, err := semWaiters(got); err == nil && n > 0 {
		return skipped("%d process(es) waiting on it now", n)
	}
	return nil
}

// unlinkKeyFile removes the key file only while it is still the empty
// regular file the scan saw (same device and inode: Qt's key files are
// empty) and no System V object is keyed on it: a creator may be between
// making the file and shmget/semget.
func (o *Object) unlinkKeyFile() error {
	st, err := lstatFile(o.Path)
	if err != nil {
		return ignoreGone(err)
	}
	if st.Dev != o.dev || st.Ino != o.ino {
		return skipped("replaced since the scan")
	}
	if !qtKeyFile(st) {
		return skipped("not an empty regular file: not a Qt key file")
	}
	self := ""
	if o.Kind == kindSysvSem {
		self = strconv.Itoa(*o.ID) // removed right after its key file, in Qt's order
	}
	if keyedOn(low24(st), self) {
		return skipped("a System V object is keyed on it now")
	}
	return ignoreGone(os.Remove(o.Path))
}

// keyedOn reports whether a System V segment or semaphore set other than
// semaphore set semid has a key with these ftok bits (any project id), or
// whether that is unknown.
func keyedOn(low uint32, semid string) bool {
	for _, table := range []string{"/proc/sysvipc/shm", "/proc/sysvipc/sem"} {
		rows, err := sysvTable(table)
		if err != nil {
			return !errors.Is(err, fs.ErrNotExist)
		}
		for _, r := range rows {
			if semid != "" && r["semid"] == semid {
				continue
			}
			if k := keyOf(r); k != 0 && k&0xffffff == low {
				return true
			}
		}
	}
	return false
}

// removePosix unlinks a POSIX segment or semaphore file only while it is
// the file the scan saw and, unless force, while the kernel grants a write
// lease on it (no process anywhere has it open or mapped; an open that
// comes meanwhile keeps it: procs.RemoveUnused). A segment whose lock semaphore a process has
// open stays: Qt's creator holds its lock between creating the segment and
// mapping it. Without a lease (another user's file), a fresh /proc scan
// must prove it unused.
func (o *Object) removePosix(force bool) error {
	unlink := func() error {
		st, err := lstatFile(o.Path)
		if err != nil {
			return ignoreGone(err)
		}
		if st.Dev != o.dev || st.Ino != o.ino {
			return skipped("replaced since the scan")
		}
		return ignoreGone(os.Remove(o.Path))
	}
	if force {
		return unlink()
	}
	if o.Kind == kindPosixShm && o.Lock != "" {
		if st, err := lstatFile(o.Lock); err == nil {
			if stale, _, why := posixVerdict(o.Lock, st); !stale {
				return skipped("its lock semaphore %s is in use: %s", o.Lock, why)
			}
		}
	}
	lease, err := procs.RemoveUnused(o.Path, o.dev, o.ino)
	switch lease {
	case procs.LeaseGranted:
		return ignoreGone(err)
	case procs.LeaseRefused:
		return skipped("in use now (the kernel refused a write lease, or a process opened it as it went)")
	case procs.LeaseReplaced:
		if _, err := lstatFile(o.Path); err != nil {
			return nil // gone meanwhile
		}
		return skipped("replaced since the scan")
	}
	st, err := lstatFile(o.Path)
	if err != nil {
		return ignoreGone(err)
	}
	if stale, sure, why := posixVerdict(o.Path, st); !stale || !sure {
		return skipped("not proven unused now: %s", why)
	}
	return unlink()
}

// posixVerdict is procs.PosixSegment for the /dev/shm file at path now.
func posixVerdict(path string, st *unix.Stat_t) (stale, sure bool, why string) {
	users := procs.ShmUsers()
	return procs.PosixSegment(users.Users(st.Ino), users, procs.LeaseIfUnseen(users, path, st.Dev, st.Ino))
}

func ignoreGone(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// sysvLookup returns the id of the System V object with key k in table.
func sysvLookup(table, idCol string, key uint32) (int, map[string]string, bool) {
	rows, err := sysvTable(table)
	if err != nil {
		return 0, nil, false
	}
	for _, r := range rows {
		if keyOf(r) == key {
			return atoi(r[idCol]), r, true
		}
	}
	return 0, nil, false
}

// lockExists reports whether the semaphore named by k exists, and whether
// that could be determined.
func lockExists(k qipc.Key) (exists, known bool) { return ipcExists(k, true) }

// segmentExists reports whether the segment named by k exists, and
// whether that could be determined.
func segmentExists(k qipc.Key) (exists, known bool) { return ipcExists(k, false) }

// ipcPlace is where the semaphore (sem) or segment k names is found: its
// System V table and id column, and its POSIX file (a semaphore's is the
// C library's sem.NAME).
func ipcPlace(k qipc.Key, sem bool) (table, idCol, posixPath string) {
	if sem {
		return "/proc/sysvipc/sem", "semid", devShm + "/sem." + strings.TrimPrefix(k.Native, "/")
	}
	return "/proc/sysvipc/shm", "shmid", devShm + k.Native
}

// ipcExists looks the object k names up where ipcPlace says.
func ipcExists(k qipc.Key, sem bool) (exists, known bool) {
	path, idCol, posixPath := ipcPlace(k, sem)
	switch {
	case k.Type.IsSystemV():
		key, err := ftokOf(k.Native, projectID(k.Type))
		if err != nil {
			return false, errors.Is(err, fs.ErrNotExist)
		}
		if _, err := os.Stat(path); err != nil {
			return false, false
		}
		_, _, ok := sysvLookup(path, idCol, key)
		return ok, true
	case k.Type == qipc.PosixRealtime:
		_, err := os.Stat(posixPath)
		return err == nil, err == nil || errors.Is(err, fs.ErrNotExist)
	}
	return false, false
}

// keyFileExists reports whether the System V key file of k exists.
func keyFileExists(k qipc.Key) bool {
	if !k.Type.IsSystemV() {
		return false
	}
	_, err := os.Stat(k.Native)
	return err == nil
}

// dropLock removes the lock semaphore lk of segment k that this tool made;
// fileWas says whether its key file existed before.
func dropLock(k, lk qipc.Key, fileWas bool) {
	if lk.Type.IsSystemV() && lk.Native == k.Native && fileWas {
		// The lock shares the segment's key file: remove the semaphore
		// only, by id, and keep the file the segment needs.
		if key, err := ftokOf(lk.Native, projectID(lk.Type)); err == nil {
			if id, _, ok := sysvLookup("/proc/sysvipc/sem", "semid", key); ok {
				_ = semRemoveID(id)
			}
		}
		return
	}
	_ = qipc.RemoveSemaphore(lk)
}

// attachedTo counts the processes attached to segment k.
func attachedTo(k qipc.Key) (pids []int, n int, known bool) {
	switch {
	case k.Type.IsSystemV():
		key, err := ftokOf(k.Native, projectID(k.Type))
		if err != nil {
			return nil, 0, false
		}
		_, r, ok := sysvLookup("/proc/sysvipc/shm", "shmid", key)
		if !ok {
			return nil, 0, false
		}
		return nil, atoi(r["nattch"]), true
	case k.Type == qipc.PosixRealtime:
		path := devShm + "/" + strings.TrimPrefix(k.Native, "/")
		if _, err := os.Stat(path); err != nil {
			return nil, 0, false
		}
		st, err := statFile(path)
		if err != nil {
			return nil, 0, false
		}
		p := procs.ShmUsers().Users(st.Ino)
		return p, len(p), true
	}
	return nil, 0, false
}

// scanState is what the scan keeps for clean.
type scanState struct {
	// the key file is also used by an object that is not stale
	keyFileShared bool
	// dev and ino identify the file behind Path as the scan saw it
	dev, ino uint64
	// key is a System V object's IPC key
	key uint32
	// lockFacts are what names a semaphore's holder, if it is a lock
	lockFacts *procs.LockFacts
}

// unverified marks the object STALE? (stale, unproven): why says what
// could not be checked, and clean skips it for that reason.
func (o *Object) unverified(reason, why string) {
	o.Unverified = true
	o.unsure = why
	o.stale(reason)
}

func (o *Object) stale(reason string) {
	o.Stale = true
	for _, r := range o.Reasons {
		if r == reason {
			return
		}
	}
	o.Reasons = append(o.Reasons, reason)
}

// holder fills in the probable holder of a semaphore whose count is 0
// (procs.LockHolder, as qipc.Inspect decides it).
func (o *Object) holder(f procs.LockFacts) {
	if o.Value == nil || *o.Value != 0 {
		return
	}
	o.Holder, o.HolderWhy = procs.LockHolder(f)
	if o.Holder != 0 {
		o.HolderName = procs.Command(o.Holder)
	}
}
