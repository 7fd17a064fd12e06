//go:build cgo && linux

package systest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/qtnames"
)

// System V specifics, checked against what the kernel shows in
// /proc/sysvipc and against Qt's observed behaviour
// (docs/qt-ipc.md §10).

// sysvIPC is one line of /proc/sysvipc/shm or /proc/sysvipc/sem.
type sysvIPC struct {
	id     int
	perms  uint32 // permission bits only
	size   uint64 // segments: shm_segsz; semaphore sets: nsems
	nattch int    // segments only
}

// sysvTable reads /proc/sysvipc/<kind> ("shm" or "sem") keyed by IPC key.
func sysvTable(t testing.TB, kind string) map[int32]sysvIPC {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/" + kind)
	if err != nil {
		t.Skipf("no /proc/sysvipc: %v", err)
	}
	defer f.Close()
	out := map[int32]sysvIPC{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 4 {
			continue
		}
		key, _ := strconv.ParseInt(fl[0], 10, 32)
		id, _ := strconv.Atoi(fl[1])
		perms, _ := strconv.ParseUint(fl[2], 8, 32)
		size, _ := strconv.ParseUint(fl[3], 10, 64)
		e := sysvIPC{id: id, perms: uint32(perms) & 0o777, size: size}
		if kind == "shm" && len(fl) > 6 {
			e.nattch, _ = strconv.Atoi(fl[6])
		}
		out[int32(key)] = e
	}
	return out
}

// ftokOf computes glibc's ftok from stat(2), independently of the library.
func ftokOf(t *testing.T, path string, proj int) int32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return int32(uint32(proj&0xff)<<24 | uint32(st.Dev&0xff)<<16 | uint32(st.Ino&0xffff))
}

func umask(t *testing.T) uint32 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(m)
		}
	}
	return 0o022
}

func fileMode(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file %s: %v", path, err)
	}
	if fi.Size() != 0 {
		t.Errorf("key file %s has %d bytes, want 0", path, fi.Size())
	}
	return uint32(fi.Mode().Perm())
}

// sysvObjects records the IPC keys of a segment and its lock while their
// key files exist, so that their absence can be checked after removal.
type sysvObjects struct {
	shmFile, semFile string
	shmKey, semKey   int32
}

func sysvObjectsOf(t *testing.T, k qipc.Key) sysvObjects {
	t.Helper()
	lock := k.LockKey()
	return sysvObjects{
		shmFile: k.Native, semFile: lock.Native,
		shmKey: ftokOf(t, k.Native, int(k.Type)), semKey: ftokOf(t, lock.Native, int(lock.Type)),
	}
}

func (o sysvObjects) requirePresent(t *testing.T, nattch int) {
	t.Helper()
	for _, f := range []string{o.shmFile, o.semFile} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("key file: %v", err)
		}
	}
	if s, ok := sysvTable(t, "shm")[o.shmKey]; !ok || s.nattch != nattch {
		t.Errorf("segment 0x%08x: present=%v nattch=%d, want nattch %d", uint32(o.shmKey), ok, s.nattch, nattch)
	}
	if _, ok := sysvTable(t, "sem")[o.semKey]; !ok {
		t.Errorf("lock semaphore 0x%08x missing", uint32(o.semKey))
	}
}

func (o sysvObjects) requireGone(t *testing.T) {
	t.Helper()
	for _, f := range []string{o.shmFile, o.semFile} {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("key file %s still there (%v)", f, err)
		}
	}
	if s, ok := sysvTable(t, "shm")[o.shmKey]; ok {
		t.Errorf("segment 0x%08x still there: %+v", uint32(o.shmKey), s)
	}
	if s, ok := sysvTable(t, "sem")[o.semKey]; ok {
		t.Errorf("lock semaphore 0x%08x still there: %+v", uint32(o.semKey), s)
	}
}

func semValue(t *testing.T, k qipc.Key) int {
	t.Helper()
	s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreOpen, qipc.WithoutCleanup())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Value()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// What Qt 5.15 / 6.4 make for QSharedMemory("name").create(1000), byte
// for byte: key files, ftok keys, modes, sizes, the lock's count.
func TestSysVLegacyLayout(t *testing.T) {
	k := testShmKey(t, qipc.SystemV, true)
	m := mustCreate(t, k, 1000)
	want := qtnames.LegacyTempDir(os.Getenv("TMPDIR")) + "/qipc_sharedmemory_"
	if !strings.HasPrefix(k.Native, want) {
		t.Fatalf("native key %q, want prefix %q", k.Native, want)
	}
	if got, want := fileMode(t, k.Native), 0o640&^umask(t); got != want {
		t.Errorf("segment key file mode %#o, want %#o", got, want)
	}
	shmKey := ftokOf(t, k.Native, 0x51)
	if uint32(shmKey)>>24 != 0x51 {
		t.Fatalf("ftok key 0x%08x", uint32(shmKey))
	}
	seg, ok := sysvTable(t, "shm")[shmKey]
	if !ok || seg.perms != 0o600 || seg.size != 1000 || seg.nattch != 1 {
		t.Fatalf("segment 0x%08x: present=%v %+v, want perms 600 size 1000 nattch 1", uint32(shmKey), ok, seg)
	}

	lock := k.LockKey()
	if want := qipc.LegacySemaphoreKey(k.LegacyKey, qipc.SystemV); lock.Native != want.Native ||
		filepath.Dir(lock.Native) != filepath.Dir(k.Native) || !strings.HasPrefix(filepath.Base(lock.Native), "qipc_systemsem_") {
		t.Fatalf("lock key %q, want %q next to the segment's", lock.Native, want.Native)
	}
	if got, want := fileMode(t, lock.Native), 0o640&^umask(t); got != want {
		t.Errorf("lock key file mode %#o, want %#o", got, want)
	}
	semKey := ftokOf(t, lock.Native, 0x51)
	if sem, ok := sysvTable(t, "sem")[semKey]; !ok || sem.perms != 0o600 || sem.size != 1 {
		t.Fatalf("lock semaphore 0x%08x: present=%v %+v, want perms 600 nsems 1", uint32(semKey), ok, sem)
	}
	if v := semValue(t, lock); v != 1 {
		t.Errorf("lock count %d, want 1", v)
	}
	if err := m.Lock(); err != nil {
		t.Fatal(err)
	}
	if v := semValue(t, lock); v != 0 {
		t.Errorf("lock count while locked %d, want 0", v)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	objs := sysvObjectsOf(t, k)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	objs.requireGone(t)
}

// Qt 6.6+ keys without a legacy key: ftok project id = the type, and the
// lock semaphore shares the segment's key file (and so its ftok key).
func TestSysVProjectIDAndPermissions(t *testing.T) {
	for _, tc := range []struct {
		typ      qipc.KeyType
		perm     fs.FileMode
		fileMode uint32
	}{
		{qipc.SystemVWithID(84), 0o600, 0o640 &^ umask(t)},
		{qipc.SystemV, 0o660, 0o660},
		{qipc.SystemVWithID(7), 0o644, 0o644},
	} {
		t.Run(fmt.Sprintf("%v-%#o", tc.typ, tc.perm), func(t *testing.T) {
			k := testShmKey(t, tc.typ, false)
			m := mustCreate(t, k, 4097, qipc.WithPermissions(tc.perm))
			if got := fileMode(t, k.Native); got != tc.fileMode {
				t.Errorf("key file mode %#o, want %#o", got, tc.fileMode)
			}
			key := ftokOf(t, k.Native, int(tc.typ))
			if uint32(key)>>24 != uint32(tc.typ) {
				t.Fatalf("ftok key 0x%08x, want project id 0x%02x", uint32(key), uint32(tc.typ))
			}
			if seg, ok := sysvTable(t, "shm")[key]; !ok || seg.perms != uint32(tc.perm) || seg.size != 4097 {
				t.Errorf("segment 0x%08x: present=%v %+v, want perms %o size 4097", uint32(key), ok, seg, tc.perm)
			}
			if sem, ok := sysvTable(t, "sem")[key]; !ok || sem.perms != uint32(tc.perm) {
				t.Errorf("lock semaphore 0x%08x: present=%v %+v, want perms %o", uint32(key), ok, sem, tc.perm)
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Errorf("lock count %d, want 1", v)
			}
			objs := sysvObjectsOf(t, k)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			objs.requireGone(t)
		})
	}
}

// The last detach removes segment, key file and lock, as Qt's detach
// clean-up does (nattch == 0); a detach that is not the last removes
// nothing. Also across processes.
func TestSysVLastDetachRemoves(t *testing.T) {
	for _, legacy := range []bool{true, false} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			k := testShmKey(t, qipc.SystemV, legacy)
			m := mustCreate(t, k, 64)
			objs := sysvObjectsOf(t, k)
			other := qipc.NewSharedMemory(k)
			if err := other.Attach(qipc.ReadWrite); err != nil {
				t.Fatal(err)
			}
			objs.requirePresent(t, 2)
			if err := other.Close(); err != nil {
				t.Fatal(err)
			}
			objs.requirePresent(t, 1)

			holder := gop.start(t, "attach", k, "--hold")
			expectLine(t, "go attach", holder.Line(), "ok size=64")
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			objs.requirePresent(t, 1)
			holder.Finish() // the other process detaches last and cleans up
			objs.requireGone(t)
		})
	}
}

// A SIGKILLed lock holder's count comes back through SEM_UNDO, and a Lock
// waiting here gets it: a Go peer and a Qt 5.15 peer.
func TestSysVKilledLockHolder(t *testing.T) {
	for _, name := range []string{"go", "qt5", "qt6.4"} {
		t.Run(name, func(t *testing.T) {
			p := peerNamed(name)
			p.require(t)
			k := testShmKey(t, qipc.SystemV, p.legacyOnly)
			m := mustCreate(t, k, 8)
			holder, _ := p.startHolder(t, k)
			if v := semValue(t, k.LockKey()); v != 0 {
				t.Fatalf("lock count while held elsewhere: %d", v)
			}
			got := make(chan error, 1)
			go func() { got <- m.Lock() }()
			select {
			case err := <-got:
				t.Fatalf("Lock returned while %s holds it: %v", name, err)
			case <-time.After(150 * time.Millisecond):
			}
			holder.Kill()
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Lock still waiting after the holder was killed")
			}
			if v := semValue(t, k.LockKey()); v != 0 {
				t.Errorf("lock count while held here: %d", v)
			}
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Errorf("lock count after Unlock: %d", v)
			}
			objs := sysvObjectsOf(t, k)
			if err := m.Close(); err != nil { // the killed peer's attachment is gone: last detach
				t.Fatal(err)
			}
			objs.requireGone(t)
		})
	}
}

// QSystemSemaphore semantics on System V (docs/qt-ipc.md §4.2, §7).
func TestSysVSemaphore(t *testing.T) {
	k := testSemKey(t, qipc.SystemV, true)
	owner, err := qipc.NewSemaphore(k, 3, qipc.SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	key := ftokOf(t, k.Native, 0x51)
	if v := semValue(t, k); v != 3 {
		t.Fatalf("new semaphore count %d, want 3", v)
	}
	// Open leaves an existing count alone; Create resets it.
	opened, err := qipc.NewSemaphore(k, 7, qipc.SemaphoreOpen)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := opened.Value(); v != 3 {
		t.Errorf("Open of an existing semaphore changed the count to %d", v)
	}
	opened.Close() // not the owner: removes nothing
	if _, ok := sysvTable(t, "sem")[key]; !ok {
		t.Fatal("a non-owner's Close removed the semaphore")
	}
	reset, err := qipc.NewSemaphore(k, 5, qipc.SemaphoreCreate, qipc.WithoutCleanup())
	if err != nil {
		t.Fatal(err)
	}
	reset.Close()
	if v := semValue(t, k); v != 5 {
		t.Errorf("Create mode left the count at %d, want 5", v)
	}

	// SEM_UNDO: a process's release is taken back when it exits.
	rel := gop.start(t, "sem-release", k, "2", "--hold")
	expectLine(t, "go sem-release", rel.Line(), "ok")
	if v := semValue(t, k); v != 7 {
		t.Errorf("count while the releaser lives: %d, want 7", v)
	}
	rel.Finish()
	if v := semValue(t, k); v != 5 {
		t.Errorf("count after the releaser exited: %d, want 5 (SEM_UNDO)", v)
	}
	if err := owner.Release(1 << 15); qipc.KindOf(err) != qipc.OutOfResources {
		t.Errorf("Release(32768): %v, want OutOfResources", err)
	}

	// Removed under a user: the user recreates it (Qt's EIDRM path).
	user, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(k.Native); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("owner's Close left the key file: %v", err)
	}
	if _, ok := sysvTable(t, "sem")[key]; ok {
		t.Error("owner's Close left the semaphore")
	}
	if ok, err := user.TryAcquire(); !ok || err != nil {
		t.Fatalf("TryAcquire after removal: %v %v, want the recreated count 1", ok, err)
	}
	if err := qipc.RemoveSemaphore(k); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(k.Native); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RemoveSemaphore left the key file: %v", err)
	}
}

// A Qt 6.6+ key without a legacy key: segment and lock share one key file,
// and removing either first must not strand the other.
func TestSysVSharedKeyFileRemoval(t *testing.T) {
	t.Run("semaphore-first", func(t *testing.T) {
		k := testShmKey(t, qipc.SystemV, false)
		m := mustCreate(t, k, 32, qipc.WithoutCleanup())
		objs := sysvObjectsOf(t, k)
		// Detached first: an attached object's Close would take the lock,
		// find it removed and recreate it, as Qt does.
		if err := m.Detach(); err != nil {
			t.Fatal(err)
		}
		if err := qipc.RemoveSemaphore(k); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(k.Native); err != nil {
			t.Fatalf("RemoveSemaphore took the key file of a live segment: %v", err)
		}
		if err := qipc.RemoveSharedMemory(k); err != nil {
			t.Fatal(err)
		}
		m.Close()
		objs.requireGone(t)
	})
	t.Run("segment-first", func(t *testing.T) {
		k := testShmKey(t, qipc.SystemV, false)
		m := mustCreate(t, k, 32, qipc.WithoutCleanup())
		objs := sysvObjectsOf(t, k)
		if err := qipc.RemoveSharedMemory(k); err != nil {
			t.Fatal(err)
		}
		objs.requireGone(t)
		m.Close()
	})
}

// Go, Qt 5.15 and Qt 6.4 incrementing one counter under the lock at the
// same time: the sum is exact, and without the lock it is not.
func TestSysVCounterThreeWay(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns three peers, twice")
	}
	kinds := []peer{gop, peerNamed("qt5"), peerNamed("qt6.4")}
	checkExclusion(t, kinds, counterIncrements, counterCreate(t, gop, func() qipc.Key { return testShmKey(t, qipc.SystemV, true) }))
}
