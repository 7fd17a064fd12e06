package qipc

import (
	"os"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// A KeyOption makes a key derivation ([SharedMemoryKey], [SemaphoreKey],
// [LegacySharedMemoryKey], [LegacySemaphoreKey]) give the names a
// particular peer's Qt gives, where that Qt differs from the default (Qt
// 6.7 and later, and Qt 5.15 and 6.4 for the temp directory of legacy
// System V keys). Without options nothing changes.
type KeyOption func(*keyPeer)

// keyPeer is what the options say about the peer.
type keyPeer struct {
	major, minor, patch int     // its Qt; 0.0.0: the default rules
	tmpdir              *string // its TMPDIR; nil: this process's
}

// ForQt derives names as Qt major.minor.patch does where that version
// differs from the default:
//   - Qt 6.6.0 locks a segment named by a legacy key with a semaphore of
//     the segment's own name, not the Qt 5 lock name (QTBUG-111855, fixed
//     in 6.6.1 by qtbase 02c42b26e1): the key loses its LegacyKey, keeps
//     NativeLock, and so excludes only 6.6.0 peers, as 6.6.0 does.
//   - Qt 6.6.x on Windows does not cut a name to 260 UTF-16 units (6.7
//     does, qtbase 73fd7f2d4a); the lock's name is cut either way.
//   - Qt 6.9.2 and later neither resolve symlinks in the temp directory
//     of legacy System V keys nor require it to exist (qtbase 7bd7df5aa1);
//     the file named is the same, only its spelling differs.
func ForQt(major, minor, patch int) KeyOption {
	return func(p *keyPeer) { p.major, p.minor, p.patch = major, minor, patch }
}

// WithPeerTMPDIR derives legacy System V key files in the temp directory
// of a peer started with TMPDIR=dir ("" for unset), as its Qt computes it
// (QDir::tempPath(); with [ForQt] 6.9.2 or later, without resolving
// symlinks), instead of in this process's: two programs with different
// TMPDIRs otherwise name different key files, and so different segments.
// The segment's lock ([Key.LockKey]) follows it there. "" is an unset
// TMPDIR: /tmp, or on Apple systems NSTemporaryDirectory(), the per-user
// folder that a peer of this process's user shares.
func WithPeerTMPDIR(dir string) KeyOption {
	return func(p *keyPeer) { p.tmpdir = &dir }
}

func peerOf(opts []KeyOption) keyPeer {
	var p keyPeer
	for _, o := range opts {
		o(&p)
	}
	return p
}

// is reports whether the peer's Qt is exactly major.minor.patch.
func (p keyPeer) is(major, minor, patch int) bool {
	return p.major == major && p.minor == minor && p.patch == patch
}

// atLeast reports whether the peer's Qt, when given, is major.minor.patch
// or later.
func (p keyPeer) atLeast(major, minor, patch int) bool {
	v, w := [3]int{p.major, p.minor, p.patch}, [3]int{major, minor, patch}
	for i := range v {
		if v[i] != w[i] {
			return v[i] > w[i]
		}
	}
	return true
}

// target is hostTarget with the peer's temp directory and name cut.
func (p keyPeer) target(t KeyType, legacy bool) target {
	tg := hostTarget(t, legacy)
	tg.uncutWindows = p.major == 6 && p.minor == 6
	if !legacy || !systemVPath(t) || !ipcSupported(tg.goos, SystemV) {
		return tg
	}
	tmpdir := os.Getenv("TMPDIR")
	if p.tmpdir != nil {
		tmpdir = *p.tmpdir
	}
	tmpdir = qtTMPDIR(tg.goos, tmpdir, appleTempDir) // a peer of this user has this user's
	switch {
	case p.atLeast(6, 9, 2) && p.major != 0:
		cwd, _ := os.Getwd()
		tg.tempDir = qtnames.TempDirUnresolved(tmpdir, cwd)
	case p.tmpdir != nil:
		tg.tempDir = qtnames.LegacyTempDir(tmpdir)
	}
	return tg
}

// adjust applies what the peer's Qt does to a derived segment key after
// the derivation.
func (p keyPeer) adjust(k Key) Key {
	if p.is(6, 6, 0) && k.LegacyKey != "" {
		k.LegacyKey = ""
	}
	return k
}
