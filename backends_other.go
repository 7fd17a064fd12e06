//go:build !cgo || !(linux || darwin || freebsd || netbsd || openbsd || windows)

package qipc

// platformBackend returns nil: the backends make their system calls in C,
// so without cgo (or on an OS without Qt's IPC) there are none.
func platformBackend(KeyType) backend { return nil }

// errNoBackend is the cause of every KeyError of a build without backends.
var errNoBackend = ErrNeedsCgo
