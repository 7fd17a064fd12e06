//go:build !unix && !windows

package qipc

// foreignOwner: no backend here reports owners.
func foreignOwner(string) (string, bool) { return "", false }
