//go:build cgo && windows

package qipc

import "errors"

// platformBackend returns the backend of key type t on this platform, or
// nil: Windows has neither POSIX realtime nor System V IPC.
func platformBackend(t KeyType) backend {
	if t == Windows {
		return windowsBackend{}
	}
	return nil
}

// errNoBackend is the cause of the KeyError for a type this OS lacks.
var errNoBackend = errors.ErrUnsupported
