//go:build unix

package qipc

// What differs on Unix systems, beside the backends (cgo_posix.go,
// cgo_sysv.go) and the errno mapping (errors_unix.go): who owns a file or
// an object, and the default key type.

import (
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"github.com/qipc-go/qipc/internal/procs"
	"github.com/qipc-go/qipc/internal/qtnames"
)

// defaultKeyType is what DefaultKeyType() returns here.
const defaultKeyType = PosixRealtime

func sysvSegmentStale(nattch, creator int) (bool, string) {
	return procs.SysVSegment(nattch, creator, procs.Alive)
}

func geteuid() int { return os.Geteuid() }

// fileOwner returns the uid that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// fileUID returns the uid that owns the file at path.
func fileUID(path string) (int, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fileOwner(fi)
}

// foreignOwner reports whether the uid id is another user's, and names
// that user. Root is no exception: the kernel lets it use anyone's
// objects, which makes a privileged process the most valuable victim of
// a squatted key.
func foreignOwner(id string) (who string, foreign bool) {
	if id == strconv.Itoa(os.Geteuid()) {
		return "", false
	}
	uid, _ := strconv.Atoi(id)
	who = qtnames.UserName(uid)
	if who == "" {
		who = "another user"
	}
	return who + " (uid " + id + ")", true
}

func uidOwner(what string, uid int) owner { return owner{what, strconv.Itoa(uid)} }
