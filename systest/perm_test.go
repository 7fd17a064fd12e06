//go:build cgo && linux

package systest

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
)

// Permissions: objects are created 0600 as Qt creates them, and another
// user gets PermissionDenied for everything and changes nothing; with
// WithPermissions(0o660) members of the creator's group get in and others
// still do not. The other users are made here, once, when running as root:
// qipctuser (no extra group) and qipctmember (in qipctgroup).

const (
	permUser   = "qipctuser"
	permMember = "qipctmember"
	permGroup  = "qipctgroup"
)

type osUser struct {
	name     string
	uid, gid int
}

var permSetup = sync.OnceValues(func() (map[string]osUser, error) {
	run := func(name string, args ...string) error {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if _, err := user.LookupGroup(permGroup); err != nil {
		if err := run("groupadd", permGroup); err != nil {
			return nil, err
		}
	}
	for name, extra := range map[string][]string{permUser: nil, permMember: {"-G", permGroup}} {
		if _, err := user.Lookup(name); err != nil {
			args := append([]string{"-M", "-s", "/usr/sbin/nologin"}, extra...)
			if err := run("useradd", append(args, name)...); err != nil {
				return nil, err
			}
		}
	}
	out := map[string]osUser{}
	for _, name := range []string{permUser, permMember} {
		u, err := user.Lookup(name)
		if err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		out[name] = osUser{name: name, uid: uid, gid: gid}
	}
	g, err := user.LookupGroup(permGroup)
	if err != nil {
		return nil, err
	}
	gid, _ := strconv.Atoi(g.Gid)
	out[permGroup] = osUser{name: permGroup, gid: gid}
	return out, nil
})

// permBinary copies the Go peer where other users can run it; the copy
// goes when the test ends.
func permBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qipcperm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	argv := goPeerArgv(t)
	src, err := os.Open(argv[len(argv)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "gopeer")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// requirePermUsers returns the test users, or skips (fails under CI=true)
// when they cannot be made.
func requirePermUsers(t *testing.T) map[string]osUser {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "not root: cannot make the test users"
	default:
		for _, tool := range []string{"useradd", "groupadd", "setpriv"} {
			if _, err := exec.LookPath(tool); err != nil {
				why = tool + " is missing (apt-get install passwd util-linux)"
			}
		}
	}
	if why == "" {
		users, err := permSetup()
		if err == nil {
			return users
		}
		why = err.Error()
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("permission tests need root, useradd and setpriv in CI: %s", why)
	}
	t.Skip(why)
	return nil
}

// runAs runs the Go peer as user u and returns its result line.
func runAs(t *testing.T, bin string, u osUser, cmd string, k qipc.Key, rest ...string) string {
	t.Helper()
	pr := startAs(t, bin, u, cmd, k, rest...)
	line := pr.Line()
	pr.Finish()
	return line
}

func fileGid(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}

// sysvOwner returns the permission bits and gid of the System V object
// with IPC key key from /proc/sysvipc/<kind>.
func sysvOwner(t *testing.T, kind string, key int32) (perms uint32, gid int, ok bool) {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/" + kind)
	if err != nil {
		t.Skipf("no /proc/sysvipc: %v", err)
	}
	defer f.Close()
	gidCol := 8 // shm: key shmid perms size cpid lpid nattch uid gid
	if kind == "sem" {
		gidCol = 5 // sem: key semid perms nsems uid gid
	}
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) <= gidCol {
			continue
		}
		k, _ := strconv.ParseInt(fl[0], 10, 32)
		if int32(k) != key {
			continue
		}
		p, _ := strconv.ParseUint(fl[2], 8, 32)
		g, _ := strconv.Atoi(fl[gidCol])
		return uint32(p) & 0o777, g, true
	}
	return 0, 0, false
}

// objectModes returns the mode and gid of the segment and of its lock.
func objectModes(t *testing.T, k qipc.Key) (shm, lock [2]int) {
	t.Helper()
	if k.Type == qipc.PosixRealtime {
		st := func(p string) [2]int {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("stat %s: %v", p, err)
			}
			return [2]int{int(fi.Mode().Perm()), fileGid(fi)}
		}
		return st("/dev/shm" + k.Native), st(glibcsem.SemFile(k.LockKey().Native))
	}
	o := sysvObjectsOf(t, k)
	p, g, ok := sysvOwner(t, "shm", o.shmKey)
	if !ok {
		t.Fatal("segment missing from /proc/sysvipc/shm")
	}
	lp, lg, ok := sysvOwner(t, "sem", o.semKey)
	if !ok {
		t.Fatal("lock missing from /proc/sysvipc/sem")
	}
	return [2]int{int(p), g}, [2]int{int(lp), lg}
}

var permBackends = []struct {
	name   string
	typ    qipc.KeyType
	legacy bool
}{{"posix", qipc.PosixRealtime, false}, {"sysv", qipc.SystemV, true}}

// TestPermissionDeniedToOtherUser: Qt's 0600, and a second user is denied
// attach, read-only attach, lock and semaphore use, changing nothing.
func TestPermissionDeniedToOtherUser(t *testing.T) {
	users := requirePermUsers(t)
	other := users[permUser]
	bin := permBinary(t)
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			m := mustCreate(t, k, 64)
			copy(m.Data(), "owner-only")
			shm, lock := objectModes(t, k)
			if shm[0] != 0o600 || lock[0] != 0o600 {
				t.Errorf("modes: segment %#o, lock %#o, want 0600 as Qt", shm[0], lock[0])
			}
			sk := testSemKey(t, bt.typ, bt.legacy)
			s, err := qipc.NewSemaphore(sk, 2, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before := qipcLs(t, k)
			for _, c := range []struct {
				cmd  string
				k    qipc.Key
				rest []string
			}{
				{"attach", k, nil},
				{"attach", k, []string{"--ro"}},
				{"read", k, []string{"0", "8"}},
				{"write", k, []string{"0", "ffff"}},
				{"hold-lock", k, nil},
				{"create", k, []string{"64"}},
				{"sem-acquire", sk, nil},
				{"sem-release", sk, []string{"1"}},
			} {
				got := runAs(t, bin, other, c.cmd, c.k, c.rest...)
				if !strings.HasPrefix(got, "err PermissionDenied ") {
					t.Errorf("%s %s as %s: %q, want err PermissionDenied", c.cmd, strings.Join(c.rest, " "), other.name, got)
				} else {
					t.Logf("%s %s as %s: %s", c.cmd, strings.Join(c.rest, " "), other.name, got)
				}
			}
			if got := string(m.Data()[:10]); got != "owner-only" {
				t.Errorf("segment changed: %q", got)
			}
			if v, _ := s.Value(); v != 2 {
				t.Errorf("semaphore count changed: %d, want 2", v)
			}
			if v := semValue(t, k.LockKey()); v != 1 {
				t.Errorf("lock count changed: %d, want 1", v)
			}
			if after := qipcLs(t, k); len(after) != len(before) {
				t.Errorf("objects changed: %d before, %d after: %+v", len(before), len(after), after)
			}
			if ok, err := m.TryLock(); !ok || err != nil {
				t.Errorf("owner's TryLock: %v %v", ok, err)
			} else {
				_ = m.Unlock()
			}
		})
	}
}

// TestGroupPermissions: beyond Qt, WithPermissions(0o660) made by a
// process whose effective group is qipctgroup lets that group's members
// in and keeps everyone else out.
func TestGroupPermissions(t *testing.T) {
	users := requirePermUsers(t)
	member, other, group := users[permMember], users[permUser], users[permGroup]
	bin := permBinary(t)
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			// The creator: root with qipctgroup as its group, and umask 0:
			// the POSIX lock semaphore's mode still goes through the umask
			// (TestGroupModeIgnoresUmask).
			argv := append([]string{"setpriv", "--regid=" + strconv.Itoa(group.gid), "--clear-groups"}, goPeerArgv(t)...)
			old := syscall.Umask(0)
			pr := spawn(t, "creator", append(argv, "create-perm", k.String(), "64"), nil, nil)
			syscall.Umask(old)
			expectLine(t, "create-perm", pr.Line(), "ok size=64")
			shm, lock := objectModes(t, k)
			want := [2]int{0o660, group.gid}
			if shm != want || lock != want {
				t.Errorf("segment mode/gid %#o/%d, lock %#o/%d, want %#o/%d", shm[0], shm[1], lock[0], lock[1], want[0], want[1])
			}
			// A deliberate multi-user set-up says so: without the
			// option the member refuses root's objects.
			expectErr(t, "member attach", runAs(t, bin, member, "attach", k), qipc.PermissionDenied)
			expectLine(t, "member attach", runAs(t, bin, member, "attach", k, "--foreign"), "ok size=64")
			expectLine(t, "member write", runAs(t, bin, member, "write", k, "0", "6d656d626572", "--foreign"), "ok")
			expectLine(t, "member read", runAs(t, bin, member, "read", k, "0", "6", "--foreign"), "ok hex=6d656d626572")
			for _, cmd := range [][]string{{"attach"}, {"attach", "--ro"}, {"read", "0", "6"}, {"hold-lock"}} {
				if got := runAs(t, bin, other, cmd[0], k, cmd[1:]...); !strings.HasPrefix(got, "err PermissionDenied ") {
					t.Errorf("%v as %s: %q, want err PermissionDenied", cmd, other.name, got)
				}
			}
			m := qipc.NewSharedMemory(k)
			defer closeWithin(t, m)
			if err := m.Attach(qipc.ReadOnly); err != nil {
				t.Fatal(err)
			}
			if got := string(m.Data()[:6]); got != "member" {
				t.Errorf("contents: %q", got)
			}
		})
	}
}

// TestGroupModeIgnoresUmask: WithPermissions sets the mode past the umask,
// as the option documents, for the segment and its lock alike.
func TestGroupModeIgnoresUmask(t *testing.T) {
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			old := syscall.Umask(0o022)
			defer syscall.Umask(old)
			k := testShmKey(t, bt.typ, bt.legacy)
			mustCreate(t, k, 64, qipc.WithPermissions(0o660))
			shm, lock := objectModes(t, k)
			if shm[0] != 0o660 {
				t.Errorf("segment mode %#o under umask 022, want 0660", shm[0])
			}
			if lock[0] != 0o660 {
				t.Errorf("lock mode %#o under umask 022, want 0660", lock[0])
			}
		})
	}
}

// relRunAs runs the relpeer (relpeer_test.go) as user u and returns
// its result line.
func relRunAs(t *testing.T, bin string, u osUser, cmd string, k qipc.Key) string {
	t.Helper()
	pr := startAs(t, bin, u, cmd, k, "0")
	line := pr.Line()
	pr.Finish()
	return line
}

// startAs starts the Go peer (bin, a permBinary) as user u and leaves it
// running.
func startAs(t *testing.T, bin string, u osUser, cmd string, k qipc.Key, rest ...string) *proc {
	t.Helper()
	args := []string{"--reuid=" + strconv.Itoa(u.uid), "--regid=" + strconv.Itoa(u.gid), "--init-groups"}
	args = append(append(append(args, strings.Fields(os.Getenv("QIPC_EXEC_PREFIX"))...), bin, cmd, k.String()), rest...)
	return harness.StartCmd(t, u.name, nil, func() *exec.Cmd {
		c := exec.Command("setpriv", args...)
		c.Dir = "/" // the other users may not enter the test's directory
		return c
	})
}

// TestSquattedKeyRefused: another local user makes the segment (0666,
// "EVIL" in it) or only the legacy key file first. Attach and Create of a
// second user refuse it, naming the owner, and nothing of the second user
// is left; WithForeignOwners lets a deliberate multi-user set-up in.
func TestSquattedKeyRefused(t *testing.T) {
	users := requirePermUsers(t)
	attacker, victim := users[permUser], users[permMember]
	bin := permBinary(t)
	evil := hex.EncodeToString([]byte("EVIL"))
	for _, bt := range permBackends {
		t.Run(bt.name+"/segment", func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			squat := startAs(t, bin, attacker, "create", k, "64", "--mode", "666", "--init", evil, "--hold")
			expectLine(t, "attacker create", squat.Line(), "ok size=64")
			got := runAs(t, bin, victim, "attach", k)
			if why := expectErr(t, "victim attach", got, qipc.PermissionDenied); !strings.Contains(why, permUser) {
				t.Errorf("the refusal does not name the owner: %q", why)
			}
			expectErr(t, "victim create", runAs(t, bin, victim, "create", k, "64"), qipc.PermissionDenied)
			expectLine(t, "victim attach --foreign", runAs(t, bin, victim, "attach", k, "--foreign"), "ok size=64")
			squat.Release()
		})
	}
	for _, bt := range permBackends {
		t.Run(bt.name+"/lock-only", func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			squat := startAs(t, bin, attacker, "sem-create", k.LockKey(), "1", "--mode", "666", "--hold")
			expectLine(t, "attacker sem-create", squat.Line(), "ok")
			got := runAs(t, bin, victim, "create", k, "64")
			if why := expectErr(t, "victim create", got, qipc.PermissionDenied); !strings.Contains(why, "lock semaphore") || !strings.Contains(why, permUser) {
				t.Errorf("the refusal does not name the lock semaphore and its owner: %q", why)
			}
			if err := qipc.NewSharedMemory(k).Attach(qipc.ReadOnly); !errors.Is(err, qipc.ErrNotFound) {
				t.Errorf("the refused Create made a segment: Attach says %v", err)
			}
			squat.Release()
		})
	}
	t.Run("sysv/key-file-only", func(t *testing.T) {
		k := testShmKey(t, qipc.SystemV, true)
		if err := os.WriteFile(k.Native, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// Not a key file this user may remove: the clean-up removes it.
		t.Cleanup(func() { os.Remove(k.Native) })
		if err := os.Chown(k.Native, attacker.uid, attacker.gid); err != nil {
			t.Fatal(err)
		}
		got := runAs(t, bin, victim, "create", k, "64")
		if why := expectErr(t, "victim create on a foreign key file", got, qipc.PermissionDenied); !strings.Contains(why, "key file") {
			t.Errorf("the refusal does not name the key file: %q", why)
		}
		if left := sysvLeftOf(t, k); len(left) != 0 {
			t.Errorf("the refused Create left System V objects: %v", left)
		}
	})
}

// TestPermissionDeniedError: what a Go program reads when another user's
// object keeps it out. A 0600 object (the kernel refuses: EACCES) and a
// 0666 one of another user (qipc refuses: ErrForeignOwner) are both
// PermissionDenied, match fs.ErrPermission and no other io/fs error, and
// the kernel's refusal ends with the remedy; the foreign owner's names the
// owner instead.
func TestPermissionDeniedError(t *testing.T) {
	users := requirePermUsers(t)
	owner, other := users[permUser], users[permMember]
	bin := permBinary(t)
	const remedy = "; its owner or mode keeps this user out (`qipc ls` shows both): run as its owner, or have its creator widen them (WithPermissions; Qt makes its objects 0600 for its own user)"
	for _, bt := range permBackends {
		t.Run(bt.name+"/mode", func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			mustCreate(t, k, 64) // root's, 0600
			got := relRunAs(t, bin, other, "attach-error", k)
			t.Logf("attach as %s: %s", other.name, got)
			if !strings.HasPrefix(got, "err PermissionDenied fs=fs.ErrPermission qipc: attach ") || !strings.HasSuffix(got, remedy) {
				t.Errorf("attach of a 0600 segment as %s:\n got %q\nwant PermissionDenied matching fs.ErrPermission only, ending %q", other.name, got, remedy)
			}
		})
		t.Run(bt.name+"/foreign", func(t *testing.T) {
			k := testShmKey(t, bt.typ, bt.legacy)
			holder := startAs(t, bin, owner, "create", k, "64", "--mode", "666", "--hold")
			expectLine(t, owner.name+" create", holder.Line(), "ok size=64")
			got := relRunAs(t, bin, other, "attach-error", k)
			t.Logf("attach as %s: %s", other.name, got)
			if !strings.HasPrefix(got, "err PermissionDenied fs=fs.ErrPermission qipc: attach ") || !strings.Contains(got, owner.name) {
				t.Errorf("attach of %s's 0666 segment as %s:\n got %q\nwant PermissionDenied matching fs.ErrPermission only, naming %s", owner.name, other.name, got, owner.name)
			}
			holder.Release()
		})
	}
}

// TestForeignOwnerComparesUids: the owner check compares an object's
// owner uid with this process's effective uid, and with nothing else. The
// process here runs with a gid equal to the other user's uid: its own
// objects are its own, and the other user's 0666 segment is still
// foreign (the users' uids and gids of the other tests differ by chance,
// which hides a check that compares a gid).
func TestForeignOwnerComparesUids(t *testing.T) {
	users := requirePermUsers(t)
	// The owner's gid is its uid, so that a check comparing a gid does
	// not refuse the owner's own create; this process's gid is the
	// owner's uid.
	owner, member := users[permUser], users[permMember]
	owner.gid = owner.uid
	self := osUser{name: member.name, uid: member.uid, gid: owner.uid}
	bin := permBinary(t)
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			theirs := testShmKey(t, bt.typ, bt.legacy)
			holder := startAs(t, bin, owner, "create", theirs, "64", "--mode", "666", "--hold")
			expectLine(t, owner.name+" create", holder.Line(), "ok size=64")
			if got := runAs(t, bin, self, "attach", theirs); !strings.HasPrefix(got, "err PermissionDenied ") || !strings.Contains(got, owner.name) {
				t.Errorf("attach of uid %d's 0666 segment as uid %d gid %d: %q, want PermissionDenied naming %s", owner.uid, self.uid, self.gid, got, owner.name)
			}
			holder.Release()

			mine := testShmKey(t, bt.typ, bt.legacy)
			own := startAs(t, bin, self, "create", mine, "64", "--hold")
			expectLine(t, fmt.Sprintf("create as uid %d gid %d", self.uid, self.gid), own.Line(), "ok size=64")
			expectLine(t, "attach of its own segment", runAs(t, bin, self, "attach", mine), "ok size=64")
			own.Release()
		})
	}
}
