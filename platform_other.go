//go:build !unix && !windows

package qipc

// Systems without Qt's IPC (js/wasm, plan9, ...): the package builds, and
// every call fails with a KeyError (backend.go).

// defaultKeyType is what DefaultKeyType() returns here.
const defaultKeyType = PosixRealtime

// foreignOwner: no backend here reports owners.
func foreignOwner(string) (string, bool) { return "", false }
