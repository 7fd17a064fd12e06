//go:build cgo && linux

package systest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"github.com/qipc-go/qipc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Trust boundaries of System V key files and owners (issue 25, items 4,
// 5 and 8): only a key file is ever unlinked, a key file that is a
// symbolic link is never followed, and root refuses other users' objects
// as everyone does.

// sysvGone fails the test if a System V segment or semaphore set has the
// key ftok gives path (proj: k's project id).
func sysvGone(t *testing.T, path string, proj int) {
	t.Helper()
	key := ftokOf(t, path, proj)
	if _, ok := sysvTable(t, "shm")[key]; ok {
		t.Errorf("a segment with key 0x%08x (%s) is left", uint32(key), path)
	}
	if _, ok := sysvTable(t, "sem")[key]; ok {
		t.Errorf("a semaphore set with key 0x%08x (%s) is left", uint32(key), path)
	}
}

// requireContent fails the test unless path is still the file with want.
func requireContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s, which is not a key file, was removed: %v", path, err)
	}
	if string(got) != want {
		t.Fatalf("%s changed: %q, want %q", path, got, want)
	}
}

// TestOnlyKeyFilesUnlinked: a System V native key may name any file, and
// Qt uses it; qipc uses it too but unlinks it (last detach, the owning
// semaphore's Close, RemoveSharedMemory) only if it is a key file: an
// empty regular file of this user (root: or of the removed object's
// owner) that gives the object's key. On 08d39ff every one of these files
// was deleted.
func TestOnlyKeyFilesUnlinked(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	const precious = "precious=1\n"
	file := func(t *testing.T, name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shmKeyAt := func(t *testing.T, p string) qipc.Key {
		k := qipc.SharedMemoryKey(p, qipc.SystemV)
		t.Cleanup(func() { removeForTest(t, k, true) })
		return k
	}
	t.Run("segment-on-file-with-content", func(t *testing.T) {
		p := file(t, "app.conf", precious)
		k := shmKeyAt(t, p)
		m := qipc.NewSharedMemory(k)
		if err := m.Create(64, qipc.ReadWrite); err != nil {
			t.Fatal(err) // Qt uses any file as the key; so does qipc
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		requireContent(t, p, precious)
		sysvGone(t, p, int(k.Type))
	})
	t.Run("semaphore-on-file-with-content", func(t *testing.T) {
		p := file(t, "app.conf", precious)
		k := qipc.SemaphoreKey(p, qipc.SystemV)
		t.Cleanup(func() { removeForTest(t, k, false) })
		s, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreCreate)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		requireContent(t, p, precious)
		sysvGone(t, p, int(k.Type))
	})
	t.Run("remove-without-segment", func(t *testing.T) {
		p := file(t, "app.conf", precious)
		k := shmKeyAt(t, p)
		if err := qipc.RemoveSharedMemory(k); !errors.Is(err, qipc.ErrNotFound) {
			t.Errorf("RemoveSharedMemory with no segment: %v, want ErrNotFound", err)
		}
		requireContent(t, p, precious)
		if err := qipc.RemoveSemaphore(qipc.SemaphoreKey(p, qipc.SystemV)); err != nil {
			t.Errorf("RemoveSemaphore with no semaphore: %v", err)
		}
		requireContent(t, p, precious)
	})
	t.Run("lone-key-file-removed", func(t *testing.T) {
		// What a crash leaves: an empty file of this user, which is a
		// key file and goes.
		p := file(t, "lone", "")
		if err := qipc.RemoveSharedMemory(shmKeyAt(t, p)); !errors.Is(err, qipc.ErrNotFound) {
			t.Errorf("RemoveSharedMemory with no segment: %v, want ErrNotFound", err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the lone key file stayed: %v", err)
		}
	})
	t.Run("qt-key-files-removed", func(t *testing.T) {
		k := testShmKey(t, qipc.SystemV, true)
		m := qipc.NewSharedMemory(k)
		if err := m.Create(64, qipc.ReadWrite); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{k.Native, k.LockKey().Native} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("key file %s stayed after the last detach: %v", p, err)
			}
		}
	})
	t.Run("owners", func(t *testing.T) {
		users := requirePermUsers(t)
		other := users[permUser]
		// Another user's empty file: root uses it as a key (told to)
		// but it is not root's to remove, nor the segment's owner's.
		p := file(t, "theirs", "")
		if err := os.Chown(p, other.uid, other.gid); err != nil {
			t.Fatal(err)
		}
		k := shmKeyAt(t, p)
		m := qipc.NewSharedMemory(k, qipc.WithForeignOwners())
		if err := m.Create(64, qipc.ReadWrite); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := qipc.RemoveSharedMemory(k); !errors.Is(err, qipc.ErrNotFound) {
			t.Errorf("RemoveSharedMemory with no segment: %v, want ErrNotFound", err)
		}
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("root removed another user's file: %v", err)
		}
		sysvGone(t, p, int(k.Type))

		// Root's clean-up of that user's crashed program: the key files
		// the user's segment and lock came with go with them.
		bin := permBinary(t)
		lk := testShmKey(t, qipc.SystemV, true)
		crashed := startAs(t, bin, other, "create", lk, "64", "--hold")
		expectLine(t, "other create", crashed.Line(), "ok size=64")
		crashed.Kill()
		if err := qipc.RemoveSharedMemory(lk); err != nil {
			t.Fatalf("root's RemoveSharedMemory of another user's leftover: %v", err)
		}
		for _, p := range []string{lk.Native, lk.LockKey().Native} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("key file %s of the removed objects stayed: %v", p, err)
			}
		}
	})
}

// setSysctl sets /proc/sys/NAME to v for the test and restores it when
// the test ends; it skips (fails under CI=true) where it cannot.
func setSysctl(t *testing.T, name, v string) {
	t.Helper()
	p := "/proc/sys/" + name
	old, err := os.ReadFile(p)
	if err == nil {
		err = os.WriteFile(p, []byte(v), 0o644)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot set %s to %s in CI: %v", name, v, err)
		}
		t.Skipf("cannot set %s to %s: %v", name, v, err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(p, bytes.TrimSpace(old), 0o644); err != nil {
			t.Errorf("restoring %s to %s: %v", name, bytes.TrimSpace(old), err)
		}
	})
}

// linkAs makes link a symbolic (or hard) link to target as user u, as an
// attacker would.
func linkAs(t *testing.T, u osUser, symbolic bool, target, link string) {
	t.Helper()
	ln := []string{"ln", target, link}
	if symbolic {
		ln = []string{"ln", "-s", target, link}
	}
	c := exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(u.uid), "--regid=" + strconv.Itoa(u.gid), "--init-groups"}, ln...)...)
	c.Dir = "/"
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("ln -s as %s: %v: %s", u.name, err, out)
	}
	t.Cleanup(func() { os.Remove(link) }) // before the key's clean-up, which refuses a link
}

// TestLinkedKeyFileRefused: a System V key file that is a symbolic link
// (or a file with another name, a hard link) is refused by Create,
// Attach, NewSemaphore and the removals, whoever owns it and even with
// WithForeignOwners: ftok follows it, and another user's link from
// application A's key file to this user's application B's led A into B's
// segment, whose owner checks pass. The attacks need
// fs.protected_symlinks=0 (fs.protected_hardlinks=0), which the test sets.
func TestLinkedKeyFileRefused(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	refused := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, qipc.ErrKeyFileNotRegular) || qipc.KindOf(err) != qipc.PermissionDenied {
			t.Errorf("%s through a symbolic link: %v, want PermissionDenied with ErrKeyFileNotRegular", what, err)
		} else if !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s: the refusal does not say why: %v", what, err)
		}
	}
	t.Run("same-user", func(t *testing.T) {
		kB := testShmKey(t, qipc.SystemV, true)
		b := mustCreate(t, kB, 64)
		copy(b.Data(), "B-DATA")
		kA := testShmKey(t, qipc.SystemV, true)
		if err := os.Symlink(kB.Native, kA.Native); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(kA.Native) })
		for _, opts := range [][]qipc.Option{nil, {qipc.WithForeignOwners()}} {
			a := qipc.NewSharedMemory(kA, opts...)
			refused(t, "Attach", a.Attach(qipc.ReadOnly))
			refused(t, "Create", a.Create(64, qipc.ReadWrite))
			closeWithin(t, a)
		}
		sB := testSemKey(t, qipc.SystemV, true)
		sem, err := qipc.NewSemaphore(sB, 0, qipc.SemaphoreCreate)
		if err != nil {
			t.Fatal(err)
		}
		defer sem.Close()
		sA := testSemKey(t, qipc.SystemV, true)
		if err := os.Symlink(sB.Native, sA.Native); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(sA.Native) })
		if s, err := qipc.NewSemaphore(sA, 0, qipc.SemaphoreOpen); err == nil {
			s.Close()
			t.Error("NewSemaphore through a symbolic link opened the semaphore it leads to")
		} else {
			refused(t, "NewSemaphore", err)
		}
		refused(t, "RemoveSharedMemory", qipc.RemoveSharedMemory(kA))
		refused(t, "RemoveSemaphore", qipc.RemoveSemaphore(sA))
		if got := string(b.Data()[:6]); got != "B-DATA" {
			t.Errorf("B's segment changed: %q", got)
		}
		if _, err := os.Lstat(kB.Native); err != nil {
			t.Errorf("B's key file: %v", err)
		}
		if v, err := sem.Value(); err != nil || v != 0 {
			t.Errorf("B's semaphore: %d, %v; want 0 and still there", v, err)
		}
	})
	for _, tc := range []struct {
		name, sysctl, why string
		symbolic          bool
	}{{"two-users", "fs/protected_symlinks", "symbolic link", true}, {"two-users-hard-link", "fs/protected_hardlinks", "hard links", false}} {
		t.Run(tc.name, func(t *testing.T) {
			users := requirePermUsers(t)
			attacker, victim := users[permUser], users[permMember]
			setSysctl(t, tc.sysctl, "0")
			bin := permBinary(t)
			// The victim's application B, and application A's key,
			// which the attacker links to B's key file before A starts.
			kB := testShmKey(t, qipc.SystemV, true)
			appB := startAs(t, bin, victim, "create", kB, "64", "--init", hex.EncodeToString([]byte("B-DATA")), "--hold")
			expectLine(t, "victim's B create", appB.Line(), "ok size=64")
			kA := testShmKey(t, qipc.SystemV, true)
			linkAs(t, attacker, tc.symbolic, kB.Native, kA.Native)
			evil := hex.EncodeToString([]byte("EVIL"))
			for _, c := range [][]string{{"attach"}, {"attach", "--foreign"}, {"write", "0", evil}, {"create", "64"}} {
				got := runAs(t, bin, victim, c[0], kA, c[1:]...)
				if why := expectErr(t, "victim's A "+strings.Join(c, " "), got, qipc.PermissionDenied); !strings.Contains(why, tc.why) {
					t.Errorf("victim's A %v: the refusal does not say why: %q", c, why)
				}
			}
			sB := testSemKey(t, qipc.SystemV, true)
			semB := startAs(t, bin, victim, "sem-create", sB, "0", "--hold")
			expectLine(t, "victim's B sem-create", semB.Line(), "ok")
			sA := testSemKey(t, qipc.SystemV, true)
			linkAs(t, attacker, tc.symbolic, sB.Native, sA.Native)
			expectErr(t, "victim's A sem-release", runAs(t, bin, victim, "sem-release", sA, "1"), qipc.PermissionDenied)
			if !tc.symbolic {
				// While the hard link is there B's key file has two
				// names and B is refused too, the price of the check.
				expectErr(t, "victim's B read while linked", runAs(t, bin, victim, "read", kB, "0", "6"), qipc.PermissionDenied)
				if err := os.Remove(kA.Native); err != nil {
					t.Fatal(err)
				}
			}
			expectLine(t, "victim's B read", runAs(t, bin, victim, "read", kB, "0", "6"), "ok hex="+hex.EncodeToString([]byte("B-DATA")))
		})
	}
}

// TestRootRefusesForeignOwner: root is no exception to the owner check.
// Another user's squatted segment (0666, "EVIL" in it) is refused by
// root's Attach, and by `qipc cat` as root, unless told
// (WithForeignOwners, --foreign-owners); `qipc rm` as root still removes
// another user's leftovers, key files included. On 08d39ff root attached
// and read the attacker's bytes.
func TestRootRefusesForeignOwner(t *testing.T) {
	users := requirePermUsers(t)
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	attacker := users[permUser]
	bin := permBinary(t)
	tool := qipcTool(t)
	qipcCmd := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		c := exec.Command(tool, args...)
		c.Stdout, c.Stderr = &out, &errOut
		err := c.Run()
		return out.String(), errOut.String(), err
	}
	evil := hex.EncodeToString([]byte("EVIL"))
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			squat := startAs(t, bin, attacker, "create", k, "64", "--mode", "666", "--init", evil, "--hold")
			expectLine(t, "attacker create", squat.Line(), "ok size=64")
			m := qipc.NewSharedMemory(k)
			err := m.Attach(qipc.ReadOnly)
			closeWithin(t, m)
			if !errors.Is(err, qipc.ErrForeignOwner) || qipc.KindOf(err) != qipc.PermissionDenied {
				t.Errorf("root's Attach of another user's segment: %v, want PermissionDenied with ErrForeignOwner", err)
			} else if !strings.Contains(err.Error(), permUser) {
				t.Errorf("the refusal does not name the owner: %v", err)
			}
			if err := qipc.NewSharedMemory(k).Create(64, qipc.ReadWrite); !errors.Is(err, qipc.ErrForeignOwner) {
				t.Errorf("root's Create on another user's objects: %v, want a refusal", err)
			}
			opted := qipc.NewSharedMemory(k, qipc.WithForeignOwners())
			if err := opted.Attach(qipc.ReadOnly); err != nil {
				t.Fatalf("Attach with WithForeignOwners: %v", err)
			}
			buf := make([]byte, 4)
			if _, err := opted.ReadAt(buf, 0); err != nil || string(buf) != "EVIL" {
				t.Errorf("read with WithForeignOwners: %q, %v", buf, err)
			}
			closeWithin(t, opted)

			out, errOut, err := qipcCmd("cat", k.String())
			if err == nil || !strings.Contains(errOut, "--foreign-owners") || strings.Contains(out, "EVIL") {
				t.Errorf("qipc cat as root of another user's segment: %v, stdout %q, stderr %q; want a refusal naming --foreign-owners", err, out, errOut)
			}
			if out, errOut, err := qipcCmd("cat", "--foreign-owners", k.String()); err != nil || !strings.HasPrefix(out, "EVIL") {
				t.Errorf("qipc cat --foreign-owners: %v, stdout %q, stderr %q", err, out, errOut)
			}

			// Administration: root removes what the user's crashed
			// program left.
			squat.Kill()
			if out, errOut, err := qipcCmd("rm", k.String()); err != nil {
				t.Fatalf("qipc rm as root of another user's leftover: %v, stdout %q, stderr %q", err, out, errOut)
			}
			if objs := qipcLs(t, k); len(objs) != 0 {
				t.Errorf("left after qipc rm: %+v", objs)
			}
		})
	}
}
