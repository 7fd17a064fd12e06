//go:build unix

package qipc

import (
	"io/fs"
	"os"
	"syscall"
)

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
