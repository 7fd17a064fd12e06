//go:build unix && !linux

package procs

import (
	"errors"
	"syscall"
)

// Alive reports whether pid runs, as far as kill(pid, 0) tells (a zombie
// counts as running here).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
