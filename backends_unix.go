//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

package qipc

import "errors"

// platformBackend returns the backend of key type t on this platform, or
// nil: POSIX realtime and System V, whatever the ftok project id.
func platformBackend(t KeyType) backend {
	switch {
	case t == PosixRealtime:
		return posixBackend{}
	case t.IsSystemV():
		return sysvBackend{}
	}
	return nil
}

// errNoBackend is the cause of the KeyError for a type this OS lacks.
var errNoBackend = errors.ErrUnsupported
