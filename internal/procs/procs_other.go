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

// DevShm is empty: POSIX segments have no directory to look into here.
const DevShm = ""

// Index is empty here: no OS interface tells which processes map a POSIX
// segment.
type Index struct{ Unchecked int }

// ShmUsers knows no process: every one is unchecked.
func ShmUsers() Index { return Index{Unchecked: -1} }

// Users knows no process.
func (Index) Users(uint64) []int { return nil }
