// Package qtnames holds the facts about Qt's IPC names that the qipc
// library and the qipc command must agree on: the prefixes of legacy
// names, the ftok project id, and where Qt keeps System V key files
// (docs/qt-ipc.md §2.2, §2.3, §4.1). One copy, so that the command never
// lists objects under other names than the library makes them.
package qtnames

import (
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// The prefixes of Qt 4.4–6.5's names (and Qt 6.6+'s legacy keys): a
// segment is SharedMemoryPrefix + letters + SHA-1, its lock semaphore and
// a QSystemSemaphore SemaphorePrefix + the same.
const (
	SharedMemoryPrefix = "qipc_sharedmemory_"
	SemaphorePrefix    = "qipc_systemsem_"
)

// FtokProjectID is the ftok project id Qt has always used ('Q'), and the
// number of the SystemV key type.
const FtokProjectID = 0x51

// LockTwin returns the name of the lock semaphore of a legacy segment name
// (SharedMemoryPrefix → SemaphorePrefix), and false for other names.
func LockTwin(name string) (string, bool) {
	s, ok := strings.CutPrefix(name, SharedMemoryPrefix)
	if !ok {
		return "", false
	}
	return SemaphorePrefix + s, true
}

// LegacyTempDir is QDir::tempPath() as Qt 5.15 and 6.4 compute it
// (observed on Debian): $TMPDIR if non-empty else /tmp, cleaned, made
// absolute and canonical (symlinks resolved), and "" when it does not
// exist. Newer Qt versions skip the canonicalisation; the file named is
// the same, only the spelling differs. On Apple systems Qt falls back to
// NSTemporaryDirectory(), which the caller passes as tmpdir (qipc's
// qtTMPDIR).
func LegacyTempDir(tmpdir string) string {
	if tmpdir == "" {
		tmpdir = "/tmp"
	}
	abs, err := filepath.Abs(filepath.Clean(tmpdir))
	if err != nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return ""
	}
	return real
}

// TempDirUnresolved is QDir::tempPath() as Qt 6.9.2 and later compute it
// (qtbase 7bd7df5aa1, ae973dc2de): $TMPDIR if non-empty else /tmp, one
// trailing slash dropped, made absolute against cwd and cleaned where it
// was not already (a trailing slash kept), symlinks not resolved and the
// directory not required to exist.
func TempDirUnresolved(tmpdir, cwd string) string {
	if tmpdir == "" {
		return "/tmp"
	}
	if len(tmpdir) > 1 {
		tmpdir = strings.TrimSuffix(tmpdir, "/")
	}
	// Qt's paths are "/"-separated on every system.
	if path.IsAbs(tmpdir) && path.Clean(tmpdir) == tmpdir {
		return tmpdir
	}
	if !path.IsAbs(tmpdir) {
		tmpdir = cwd + "/" + tmpdir
	}
	clean := path.Clean(tmpdir)
	if strings.HasSuffix(tmpdir, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// RuntimeDirCandidates are the directories Qt 6.6+ tries, in order, for
// its runtime location on XDG systems (QStandardPaths::RuntimeLocation),
// where its System V key files go: $XDG_RUNTIME_DIR when absolute, then
// <tempDir>/runtime-<user>. With no temp directory there is no fallback,
// rather than "/runtime-<user>" in the root directory, which Qt 6.6+ then
// fails to create too. Qt takes the first that passes its checks (the
// library makes them and creates a missing directory, as Qt does; the
// command only looks).
func RuntimeDirCandidates(xdg, tempDir, user string) []string {
	var dirs []string
	if strings.HasPrefix(xdg, "/") {
		dirs = append(dirs, xdg)
	}
	if tempDir != "" {
		dirs = append(dirs, tempDir+"/runtime-"+user)
	}
	return dirs
}

// UserName is the login name of uid, or "" when it has none, as Qt's
// QFileSystemEngine::resolveUserName gives it.
func UserName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}

// IsLegacyName reports whether name is one the legacy derivation makes
// with prefix: prefix, ASCII letters, then 40 lower-case hex digits (the
// SHA-1). What `qipc clean` may take for Qt's by its name alone.
func IsLegacyName(name, prefix string) bool {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || len(s) < 40 {
		return false
	}
	letters, hash := s[:len(s)-40], s[len(s)-40:]
	for _, c := range []byte(hash) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	for _, c := range []byte(letters) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
