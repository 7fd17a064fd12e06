//go:build !unix

package qipc

import "io/fs"

// Outside Unix there is no System V backend and no uid: the functions of
// platform_unix.go that other code reaches answer "unknown".

func sysvSegmentStale(int, int) (bool, string) { return false, "" }

// geteuid has no meaning here: the runtime-directory rules that use it are
// only reached for System V keys, which need a Unix system.
func geteuid() int { return -1 }

func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
