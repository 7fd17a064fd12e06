//go:build !unix && !windows

package qipc

// Systems without Qt's IPC (js/wasm, plan9, ...): the package builds, and
// every call fails with a KeyError (backend.go).

// DefaultKeyType is the type Qt 6.6+ uses when none is given
// (QNativeIpcKey::DefaultTypeForOs): Windows on Windows, PosixRealtime on
// every other OS. Qt 5 peers used [LegacyDefaultKeyType] instead.
const DefaultKeyType = PosixRealtime

// foreignOwner: no backend here reports owners.
func foreignOwner(string) (string, bool) { return "", false }
