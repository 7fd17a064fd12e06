//go:build cgo && linux

package qipc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/harness"
)

// Semaphores at trust boundaries (issue 25, items 6, 7 and 9): a bare
// semaphore another user made is refused as a segment's lock is; the POSIX
// owner checked is that of the very file sem_open mapped, so an attacker
// that swaps its semaphore in and out of the name never gets one accepted;
// and a peer that truncates a POSIX semaphore's file makes the next use
// an error matching ErrFault instead of killing the process.

// squatCount is the count the attacker's semaphores have, which no
// semaphore of the victim has: a victim that reads it uses the attacker's.
const squatCount = 5

// semTrustPeer runs the relpeer commands of this file (relPeerMain).
func semTrustPeer(cmd string, k Key, rest []string) int {
	n := 0
	if len(rest) > 0 {
		n, _ = strconv.Atoi(rest[0])
	}
	switch cmd {
	case "squat-loop":
		return squatLoop(k)
	case "victim-open", "victim-attach":
		return victimLoop(cmd, k, n)
	case "fault-hold", "fault-wait", "fault-sem":
		return faultPeer(cmd, k)
	}
	fmt.Println("err unknown command")
	return 2
}

// squatLoop is the attacker: it makes its own semaphore of k, 0666 with
// squatCount, keeps a second link to its file, and until its stdin closes
// takes the name away and gives the same file back, again and again: a
// victim that opened the file and then looks at the name's owner finds no
// file, and one that looks again later finds the very file it opened.
// (It cannot remove a semaphore of the victim: /dev/shm is sticky.)
func squatLoop(k Key) int {
	var done atomic.Bool
	go func() {
		waitLine(os.Stdin)
		done.Store(true)
	}()
	syscall.Umask(0) // 0666 from the start, not after a chmod
	s, err := NewSemaphore(k, squatCount, SemaphoreCreate, WithPermissions(0o666), WithoutCleanup(), WithForeignOwners())
	if err != nil {
		return peerFail(os.Stdout, err)
	}
	_ = s.Close()
	name := glibcsem.SemFile(k.Native)
	keep := name + ".keep"
	if err := os.Link(name, keep); err != nil {
		fmt.Println("err link", err)
		return 1
	}
	defer os.Remove(keep)
	fmt.Println("ok squatting")
	swaps := 0
	for !done.Load() {
		if os.Remove(name) == nil {
			swaps++
		}
		_ = os.Link(keep, name) // fails while the victim's own is there
		// There most of the time, so that the victim opens it rather
		// than making its own; gone only between the two calls above.
		for t0 := time.Now(); time.Since(t0) < 20*time.Microsecond; {
		}
	}
	_ = RemoveSemaphore(k)
	fmt.Printf("ok swaps=%d\n", swaps)
	return 0
}

// victimLoop is the victim: n opens of the semaphore k (victim-open), or n
// attaches of the segment k, which it makes first and whose lock it leaves
// to the attacker (victim-attach). It counts what it used: the attacker's
// semaphore (accepted), its own, a refusal of the attacker's (another
// owner, or its file's second name), and other errors.
func victimLoop(cmd string, k Key, n int) int {
	if cmd == "victim-attach" {
		m := NewSharedMemory(k, WithoutCleanup())
		if err := m.Create(64, ReadWrite); err != nil {
			return peerFail(os.Stdout, err)
		}
		if err := errors.Join(m.Close(), RemoveSemaphore(lockKeyFor(k))); err != nil {
			return peerFail(os.Stdout, err)
		}
		defer func() { _ = RemoveSharedMemory(k) }()
	}
	fmt.Println("ok ready")
	waitLine(os.Stdin)
	var accepted, own, refused, other int
	firstOther := ""
	for i := 0; i < n; i++ {
		var (
			sem  *Semaphore
			done func() error
			err  error
		)
		if cmd == "victim-open" {
			sem, err = NewSemaphore(k, 1, SemaphoreOpen)
			done = func() error { return sem.Close() }
		} else {
			m := NewSharedMemory(k)
			if err = m.Attach(ReadOnly); err == nil {
				sem = m.lock.sem.Load()
			}
			done = func() error {
				// The victim's own lock would keep the attacker out for
				// good (sticky /dev/shm): it goes, unless it is the
				// attacker's, which this user cannot remove.
				return errors.Join(m.Close(), RemoveSemaphore(lockKeyFor(k)))
			}
		}
		switch {
		case errors.Is(err, ErrForeignOwner), errors.Is(err, ErrKeyFileNotRegular):
			// Another user's, or a file with a second name: the
			// attacker's keeps one (its keep link), which musl's
			// victims meet more often than glibc's.
			refused++
			continue
		case err != nil:
			if other++; firstOther == "" {
				firstOther = err.Error()
			}
			continue
		}
		if v, verr := sem.Value(); verr == nil && v == squatCount {
			accepted++
		} else {
			own++
		}
		_ = done()
	}
	if firstOther != "" {
		fmt.Fprintln(os.Stderr, "first other error:", firstOther)
	}
	fmt.Printf("ok accepted=%d own=%d refused=%d other=%d\n", accepted, own, refused, other)
	return 0
}

// startRelAs starts the relpeer as user u.
func startRelAs(t *testing.T, bin string, u osUser, cmd string, k Key, rest ...string) *proc {
	t.Helper()
	args := []string{"--reuid=" + strconv.Itoa(u.uid), "--regid=" + strconv.Itoa(u.gid), "--init-groups"}
	args = append(append(append(args, strings.Fields(os.Getenv("QIPC_EXEC_PREFIX"))...), bin, cmd, k.String()), rest...)
	return harness.StartCmd(t, u.name, nil, func() *exec.Cmd {
		c := exec.Command("setpriv", args...)
		c.Env = append(os.Environ(), "QIPC_RELPEER=1")
		c.Dir = "/"
		return c
	})
}

// TestSemaphoreSquatRace: an attacker (another user) replaces a 0666
// semaphore of its own under the name in a loop while the victim opens
// the name 1000 times, as a bare semaphore and as a segment's lock. The
// victim uses only semaphores of its own: 0 of the attacker's accepted,
// however the two interleave.
func TestSemaphoreSquatRace(t *testing.T) {
	users := requirePermUsers(t)
	attacker, victim := users[permUser], users[permMember]
	bin := permBinary(t)
	const opens = 1000
	for _, cmd := range []string{"victim-open", "victim-attach"} {
		t.Run(cmd, func(t *testing.T) {
			k := testSemKey(t, PosixRealtime, false)
			target := k
			if cmd == "victim-attach" {
				k = testShmKey(t, PosixRealtime, false)
				target = lockKeyFor(k)
			}
			v := startRelAs(t, bin, victim, cmd, k, strconv.Itoa(opens))
			expectLine(t, "victim", v.Line(), "ok ready")
			a := startRelAs(t, bin, attacker, "squat-loop", target, "0")
			expectLine(t, "attacker", a.Line(), "ok squatting")
			v.Send("go")
			res := v.Line()
			a.Release()
			t.Logf("victim: %s; attacker: %s", res, a.Line())
			var accepted, own, refused, other int
			if _, err := fmt.Sscanf(res, "ok accepted=%d own=%d refused=%d other=%d", &accepted, &own, &refused, &other); err != nil {
				t.Fatalf("victim: %q", res)
			}
			if accepted != 0 {
				t.Errorf("the victim used the attacker's semaphore in %d of %d opens", accepted, opens)
			}
			if refused == 0 {
				t.Errorf("the attacker's semaphore was never met (%s): the race did not run", res)
			}
		})
	}
}

// TestBareSemaphoreSquatRefused: a bare semaphore that another user made
// first (0666, count 5) is refused by NewSemaphore in Open and Create
// mode, naming the owner, on both Unix backends; WithForeignOwners takes
// it. A System V set that its owner gave to the victim (IPC_SET) is still
// refused: its creator is another user.
func TestBareSemaphoreSquatRefused(t *testing.T) {
	users := requirePermUsers(t)
	attacker, victim := users[permUser], users[permMember]
	bin := permBinary(t)
	for _, bt := range permBackends {
		t.Run(bt.name, func(t *testing.T) {
			sk, squat := squatSemaphore(t, bin, attacker, bt.typ, bt.legacy)
			got := runAs(t, bin, victim, "sem-acquire", sk)
			if why := expectErr(t, "victim open", got, PermissionDenied); !strings.Contains(why, permUser) {
				t.Errorf("the refusal does not name the owner: %q", why)
			}
			expectErr(t, "victim create", runAs(t, bin, victim, "sem-create", sk, "1"), PermissionDenied)
			expectLine(t, "victim open --foreign", runAs(t, bin, victim, "sem-acquire", sk, "--foreign"), "ok")
			squat.Release()
		})
	}
	t.Run("sysv/given-away", func(t *testing.T) {
		sk := testSemKey(t, SystemV, true)
		s, err := NewSemaphore(sk, squatCount, SemaphoreCreate, WithPermissions(0o666))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := os.Chown(sk.Native, victim.uid, victim.gid); err != nil {
			t.Fatal(err)
		}
		// Back to this user before Close: a key file another user owns
		// is not removed (package documentation, "Ownership").
		defer os.Chown(sk.Native, os.Getuid(), os.Getgid())
		setSysvSemUID(t, sk, victim.uid)
		got := runAs(t, bin, victim, "sem-acquire", sk)
		if why := expectErr(t, "victim open", got, PermissionDenied); !strings.Contains(why, "creator") {
			t.Errorf("the refusal does not name the creator: %q", why)
		}
	})
}

// squatSemaphore starts the attacker's semaphore (0666, count squatCount)
// under a fresh key. A System V key is an ftok of the key file's inode,
// which this ext4 /tmp hands to the next new file as soon as a file is
// deleted: a set that outlives its key file for a moment (Qt unlinks the
// file before IPC_RMID) can own the new file's key, and the attacker's
// exclusive create then meets another user's set. That is the test's own
// key colliding, not the victim's refusal under test, so a fresh key is
// tried (twice at most); the final leftover check still sees any set that
// is left for good.
func squatSemaphore(t *testing.T, bin string, attacker osUser, typ KeyType, legacy bool) (Key, *proc) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		sk := testSemKey(t, typ, legacy)
		squat := startAs(t, bin, attacker, "sem-create", sk, strconv.Itoa(squatCount), "--mode", "666", "--hold")
		line := squat.Line()
		if typ.IsSystemV() && attempt < 2 && strings.HasPrefix(line, "err PermissionDenied") {
			t.Logf("attacker sem-create under %v: %s (an ftok collision with another key file's set); a fresh key", sk, line)
			squat.Finish()
			continue
		}
		expectLine(t, "attacker sem-create", line, "ok")
		return sk, squat
	}
}

// setSysvSemUID gives the System V set of key k to uid, as its owner may
// (IPC_SET), with Python's sysv_ipc as a separate process.
func setSysvSemUID(t *testing.T, k Key, uid int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(k.Native, &st); err != nil {
		t.Fatal(err)
	}
	key := int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(ftokProjectID(k.Type))<<24)
	script := fmt.Sprintf("import sysv_ipc; s = sysv_ipc.Semaphore(%d); s.uid = %d; print('ok', s.uid, s.cuid)", key, uid)
	out, err := exec.Command("python3", "-c", script).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named") && os.Getenv("CI") != "true" {
			t.Skipf("python3 has no sysv_ipc (make venv): %s", out)
		}
		t.Fatalf("IPC_SET: %v: %s", err, out)
	}
	t.Logf("python: %s", strings.TrimSpace(string(out)))
}

// faultWord is how the fault peer reports one call's result.
func faultWord(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrFault):
		return "fault"
	}
	return err.Error()
}

// faultPeer uses a POSIX lock (fault-hold, fault-wait) or a bare
// semaphore (fault-sem) whose file the test truncates between two lines,
// and reports each call afterwards; it must live to print "ok survived".
func faultPeer(cmd string, k Key) int {
	say := func(call string, err error) { fmt.Println(call, faultWord(err)) }
	if cmd == "fault-sem" {
		s, err := NewSemaphore(k, 0, SemaphoreCreate)
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		fmt.Println("ok ready")
		waitLine(os.Stdin) // truncated now
		say("release", s.Release(1))
		_, err = s.TryAcquire()
		say("tryacquire", err)
		say("acquire", s.Acquire())
		_, err = s.Value()
		say("value", err)
		say("close", s.Close())
		fmt.Println("ok survived")
		return 0
	}
	m := NewSharedMemory(k)
	if err := m.Create(64, ReadWrite); err != nil {
		return peerFail(os.Stdout, err)
	}
	if err := m.Lock(); err != nil {
		return peerFail(os.Stdout, err)
	}
	if cmd == "fault-wait" {
		// Another object's Attach waits for the lock this one holds,
		// asleep in the kernel when the file goes; a cancel ends the wait.
		m2 := NewSharedMemory(k)
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error)
		go func() { res <- m2.AttachContext(ctx, ReadOnly) }()
		fmt.Println("ok waiting")
		waitLine(os.Stdin) // truncated now
		cancel()
		say("attach", <-res)
		say("close2", m2.Close())
	} else {
		fmt.Println("ok locked")
		waitLine(os.Stdin) // truncated now
	}
	say("unlock", m.Unlock())
	_, err := m.TryLock()
	say("trylock", err)
	say("lock", m.Lock())
	say("close", m.Close())
	fmt.Println("ok survived")
	return 0
}

// TestTruncatedSemaphoreFault: a peer (coreutils truncate, a separate
// process) cuts a POSIX semaphore's file to nothing while a Go process
// holds it (a segment's lock), waits on it (an Attach behind the holder,
// asleep in the kernel), or uses it as a bare semaphore. Every call after
// that returns an error matching ErrFault, Close included, and the process
// lives on: the mapped sem_t is touched only by Go code that turns the
// fault into an error.
func TestTruncatedSemaphoreFault(t *testing.T) {
	if !semFastOK {
		t.Skip("the sem_t is touched by the C library here (not glibc): a fault there ends the process")
	}
	if _, err := exec.LookPath("truncate"); err != nil {
		t.Skip("no truncate (coreutils)")
	}
	for _, c := range []struct {
		cmd   string
		ready string
		want  []string
	}{
		{"fault-hold", "ok locked", []string{"unlock fault", "trylock fault", "lock fault", "close fault", "ok survived"}},
		{"fault-wait", "ok waiting", []string{"attach fault", "close2 nil", "unlock fault", "trylock fault", "lock fault", "close fault", "ok survived"}},
		{"fault-sem", "ok ready", []string{"release fault", "tryacquire fault", "acquire fault", "value fault", "close nil", "ok survived"}},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			if c.cmd == "fault-wait" && !glibcsem.WakesTruncated() {
				t.Skip("no futex_waitv here (Linux 5.16; qemu-user lacks it): a waiter asleep when its semaphore's file is truncated sleeps until the file is back (COMPAT.md #13)")
			}
			var k, semKey Key
			if c.cmd == "fault-sem" {
				k = testSemKey(t, PosixRealtime, false)
				semKey = k
			} else {
				k = testShmKey(t, PosixRealtime, false)
				semKey = lockKeyFor(k)
			}
			p := relStart(t, c.cmd, k, "0")
			expectLine(t, c.cmd, p.Line(), c.ready)
			if c.cmd == "fault-wait" {
				waitLockWaiters(t, k, 1)
			}
			file := glibcsem.SemFile(semKey.Native)
			if out, err := exec.Command("truncate", "-s", "0", file).CombinedOutput(); err != nil {
				t.Fatalf("truncate %s: %v: %s", file, err, out)
			}
			p.Send("go")
			for _, want := range c.want {
				expectLine(t, c.cmd, p.Line(), want)
			}
		})
	}
}
