//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// asUser runs the built qipc as uid (gid the same), for the tests where
// who runs clean matters. The binary's directory is opened to others.
func asUser(t *testing.T, uid int, args ...string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run qipc as another user")
	}
	if err := os.Chmod(filepath.Dir(qipcBin), 0o755); err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(uid)
	return runQCmd(t, "", args, func() *exec.Cmd {
		c := exec.Command("setpriv", append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups", qipcBin}, args...)...)
		c.Dir = "/"
		return c
	})
}

// TestCleanOnlyProvenQt: clean removes only what is proven to be a Qt
// object: a plain file in /dev/shm that nobody maps, and a file in the temp
// directory named like a key file but not empty, are "unknown" in ls and
// survive clean; a stale segment under a name Qt derives is removed.
func TestCleanOnlyProvenQt(t *testing.T) {
	name, _ := uniqueName("plain")
	plain := "/dev/shm/" + name
	if err := os.WriteFile(plain, []byte("not Qt's"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(plain) })
	notKey := filepath.Join(os.TempDir(), "qipc_sharedmemory_"+name)
	if err := os.WriteFile(notKey, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(notKey) })
	old := time.Now().Add(-time.Hour) // past the grace of new key files
	if err := os.Chtimes(notKey, old, old); err != nil {
		t.Fatal(err)
	}

	qtName, qtMatch := uniqueName("qtseg")
	k := qipc.LegacySharedMemoryKey(qtName, qipc.PosixRealtime)
	cleanupKey(t, k)
	mustQ(t, "", "create", k.String(), "32")

	for _, m := range []string{name, qtMatch} {
		for _, o := range lsJSON(t, m) {
			want := qtUnknown
			switch o.Path {
			case "/dev/shm" + k.Native:
				want = qtSegment
			case "/dev/shm/sem." + strings.TrimPrefix(lockKey(k).Native, "/"):
				want = qtLock
			}
			if o.Qt != want || !o.Stale {
				t.Errorf("ls: %s is %q (stale %v), want %q and stale", o.Path, o.Qt, o.Stale, want)
			}
		}
	}
	if out := mustQ(t, "", "ls", "--match", name); !strings.Contains(out, "unknown") {
		t.Errorf("ls does not say unknown:\n%s", out)
	}
	out := mustQ(t, "", "clean", "--stale", "--match", name)
	t.Logf("clean:\n%s", out)
	if !fileExists(plain) || !fileExists(notKey) {
		t.Fatalf("clean --stale removed a file nothing proves Qt's:\n%s", out)
	}
	if strings.Count(out, "nothing proves it Qt's") != 2 {
		t.Errorf("clean does not say why it skipped:\n%s", out)
	}
	out = mustQ(t, "", "clean", "--stale", "--match", qtMatch)
	if fileExists("/dev/shm" + k.Native) {
		t.Errorf("clean left the stale Qt segment:\n%s", out)
	}
}

// TestCleanSparesOtherUsersMapping: the owner of a 0666 segment runs
// clean while another user's process maps it. The owner may not read that
// process's maps, so /proc proves nothing; the segment must stay.
func TestCleanSparesOtherUsersMapping(t *testing.T) {
	const owner, other = 65534, 1 // nobody, daemon
	python := "/usr/bin/python3"  // not a shim in root's home: the other user runs it
	if _, err := os.Stat(python); err != nil {
		harness.Missing(t, python, "apt-get install python3")
	}
	name, match := uniqueName("otheruser")
	k := qipc.LegacySharedMemoryKey(name, qipc.PosixRealtime)
	cleanupKey(t, k)
	path := "/dev/shm" + k.Native
	if err := os.WriteFile(path, make([]byte, 4096), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, owner, owner); err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(other)
	mapper := harness.Start(t, "mapper", []string{"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", python, "-c", `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096)
os.close(fd)
print("mapped", flush=True)
sys.stdin.read()
`, path}, nil, nil)
	if l := mapper.Line(); l != "mapped" {
		t.Fatalf("mapper: %q", l)
	}
	r := asUser(t, owner, "clean", "--stale", "--match", match)
	t.Logf("clean as the owner: exit %d\n%s%s", r.code, r.out, r.err)
	if !fileExists(path) {
		t.Fatal("clean --stale removed a segment another user's process maps")
	}
}

// TestCleanRacesCreators: clean --stale runs again and again while
// creators make segments with their locks, attach a second handle, lock,
// write and read, and close (which removes everything). Each clean must
// re-check what it removes at that moment: no live object may lose its
// name, key file or lock.
func TestCleanRacesCreators(t *testing.T) {
	const cleans = 150
	name, match := uniqueName("race")
	keys := []qipc.Key{
		qipc.LegacySharedMemoryKey(name, qipc.SystemV),
		qipc.LegacySharedMemoryKey(name, qipc.PosixRealtime),
	}
	for _, k := range keys {
		cleanupKey(t, k)
	}
	var stop atomic.Bool
	var harmed, rounds atomic.Int64
	var wg sync.WaitGroup
	var logMu sync.Mutex
	harm := func(k qipc.Key, what string, err error) {
		if harmed.Add(1) <= 5 {
			logMu.Lock()
			t.Logf("%v: %s: %v", k, what, err)
			logMu.Unlock()
		}
	}
	names := func(k qipc.Key) []string {
		if k.Type == qipc.PosixRealtime {
			return []string{"/dev/shm" + k.Native, "/dev/shm/sem." + strings.TrimPrefix(lockKey(k).Native, "/")}
		}
		return []string{k.Native, lockKey(k).Native}
	}
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				rounds.Add(1)
				m := qipc.NewSharedMemory(k)
				if err := m.Create(64, qipc.ReadWrite); err != nil {
					harm(k, "create", err)
					continue
				}
				m2 := qipc.NewSharedMemory(k)
				if err := m2.Attach(qipc.ReadWrite); err != nil {
					harm(k, "attach", err)
				} else {
					m.Data()[0] = byte(i)
					if m2.Data()[0] != byte(i) {
						harm(k, "read", errors.New("the second handle has another segment"))
					}
					for _, p := range names(k) {
						if !fileExists(p) {
							harm(k, "name", errors.New(p+" is gone"))
						}
					}
					if err := m2.Lock(); err != nil {
						harm(k, "lock", err)
					} else if err := m2.Unlock(); err != nil {
						harm(k, "unlock", err)
					}
					if err := m2.Close(); err != nil {
						harm(k, "close of the second handle", err)
					}
				}
				if err := m.Close(); err != nil {
					harm(k, "close", err)
				}
			}
		}()
	}
	removed := 0
	for range cleans {
		out := mustQ(t, "", "clean", "--stale", "--match", match)
		removed += strings.Count(out, "removed ")
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d clean runs removed %d objects; %d creator rounds", cleans, removed, rounds.Load())
	if n := harmed.Load(); n != 0 {
		t.Fatalf("%d live objects harmed", n)
	}
}

// TestCleanOrphanLockByID (issue 30, item 2): a Qt lock semaphore set whose
// key file is gone has no name left, so --match cannot select it, and a
// plain clean --stale leaves it (a key file outside the directories scanned
// could still name it). --id names it as ls prints it, and clean removes it
// then, re-checking its last user. The orphan is made as Qt makes one: a Qt
// second instance makes the lock of a running primary's segment and is
// killed; the primary exits (its last detach removes the segment) and the
// key file goes (Qt's own clean-up removes it by name, or a temp cleaner).
func TestCleanOrphanLockByID(t *testing.T) {
	qt := qt5.Require(t, "qtpeer5")
	name, match := uniqueName("orphan")
	k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	lk := lockKey(k)
	cleanupKey(t, k)
	ks := k.String()

	primary := startPeer(t, qt, "create", ks, "64", "--hold")
	harness.ExpectLine(t, primary.Name, primary.Line(), "ok size=64")
	if err := qipc.RemoveSemaphore(lk); err != nil {
		t.Fatal(err)
	}
	second := startPeer(t, qt, "attach", ks, "--hold")
	harness.ExpectLine(t, second.Name, second.Line(), "ok size=64")
	sem := find(lsJSON(t, match), kindSysvSem)
	if sem == nil || sem.ID == nil {
		t.Fatal("the second instance made no lock set")
	}
	id := *sem.ID
	t.Cleanup(func() { _ = semRemoveID(id) })
	second.Kill()
	primary.Finish()
	// The primary's lock follows the removal of its own set: Qt 5 then
	// drops the key file it once made (the second's, by name) and makes
	// its own, which it removes as it exits; whatever is left of the key
	// file, the cleaner takes.
	if err := os.Remove(lk.Native); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if !sysvExists(t, "/proc/sysvipc/sem", id) {
		t.Fatal("no orphan: the set went with its makers")
	}

	if left := lsJSON(t, match); len(left) != 0 {
		t.Errorf("--match %s still finds something by name: %+v", match, left)
	}
	sel := "sysv-sem:" + strconv.Itoa(id)
	out := mustQ(t, "", "ls", "--id", sel)
	t.Logf("qipc ls --id %s:\n%s", sel, out)
	if !strings.Contains(out, "STALE?") || !strings.Contains(out, "reaches it again") {
		t.Errorf("ls does not say what is true of the orphan:\n%s", out)
	}
	all := mustQ(t, "", "clean", "--stale", "--dry-run")
	if !strings.Contains(all, "skip System V semaphore "+strconv.Itoa(id)+" ") || !strings.Contains(all, "--id "+sel) {
		t.Errorf("clean --stale without --id does not skip the orphan with the way to name it:\n%s", all)
	}
	if !sysvExists(t, "/proc/sysvipc/sem", id) {
		t.Fatal("a dry run removed the orphan")
	}
	cl := mustQ(t, "", "clean", "--stale", "--id", sel)
	t.Logf("qipc clean --stale --id %s:\n%s", sel, cl)
	if sysvExists(t, "/proc/sysvipc/sem", id) {
		t.Errorf("clean --stale --id %s left the orphan:\n%s", sel, cl)
	}
	if !strings.Contains(cl, "removed System V semaphore "+strconv.Itoa(id)) {
		t.Errorf("clean does not say what it removed:\n%s", cl)
	}
	if r := runQ(t, "", "clean", "--stale", "--id", "sysv-msg:1"); r.code != exitUsage {
		t.Errorf("a malformed --id: exit %d, want usage:\n%s%s", r.code, r.out, r.err)
	}
}
