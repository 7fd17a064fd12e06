//go:build cgo && linux

package systest

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
)

// TestPosixHardLinkRefused (adversarial review of issue 25): the attack
// of item 5 (another user links application A's name to this user's
// application B's, and A's owner checks pass because the file is this
// user's) is refused for System V key files, "a file with a second name
// (hard link) is refused always" (COMPAT #11, TestLinkedKeyFileRefused),
// but works unchanged on POSIX names: /dev/shm is world-writable, and with
// fs.protected_hardlinks=0 another user hard-links /dev/shm/B to
// /dev/shm/A (or sem.B to sem.A). The victim's A then reads B's bytes and
// posts B's semaphore. shm_open's and sem_open's O_NOFOLLOW stop only the
// symbolic link; the file opened has st_nlink 2, which nothing checks.
//
// With the default fs.protected_hardlinks=1 the same works on objects
// made with WithPermissions(0666), which the attacker may read and write
// and so may link (the "0666" case: no sysctl is changed).
func TestPosixHardLinkRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode []string
	}{{"protected_hardlinks=0", nil}, {"0666", []string{"--mode", "0666"}}} {
		t.Run(tc.name, func(t *testing.T) { posixHardLinkCase(t, tc.mode) })
	}
}

func posixHardLinkCase(t *testing.T, mode []string) {
	skipWithoutBackend(t, qipc.PosixRealtime)
	users := requirePermUsers(t)
	attacker, victim := users[permUser], users[permMember]
	if mode == nil {
		setSysctl(t, "fs/protected_hardlinks", "0")
	}
	bin := permBinary(t)

	kB := testShmKey(t, qipc.PosixRealtime, true)
	appB := startAs(t, bin, victim, "create", kB, append([]string{"64", "--init", hex.EncodeToString([]byte("B-DATA")), "--hold"}, mode...)...)
	expectLine(t, "victim's B create", appB.Line(), "ok size=64")
	kA := testShmKey(t, qipc.PosixRealtime, true)
	linkAs(t, attacker, false, "/dev/shm"+kB.Native, "/dev/shm"+kA.Native)
	if got := runAs(t, bin, victim, "read", kA, "0", "6"); strings.HasPrefix(got, "ok") {
		t.Errorf("victim's A read through another user's hard link to B's segment: %q (B's bytes), want PermissionDenied", got)
	}

	sB := testSemKey(t, qipc.PosixRealtime, true)
	semB := startAs(t, bin, victim, "sem-create", sB, append([]string{"0", "--hold"}, mode...)...)
	expectLine(t, "victim's B sem-create", semB.Line(), "ok")
	sA := testSemKey(t, qipc.PosixRealtime, true)
	linkAs(t, attacker, false, glibcsem.SemFile(sB.Native), glibcsem.SemFile(sA.Native))
	if got := runAs(t, bin, victim, "sem-release", sA, "1"); strings.HasPrefix(got, "ok") {
		t.Errorf("victim's A sem-release through another user's hard link to B's semaphore: %q (B's count changed), want PermissionDenied", got)
	}
}
