//go:build !linux

package procs

// DevShm is empty: POSIX segments have no directory to look into here.
const DevShm = ""

// Index is empty here: no OS interface tells which processes map a POSIX
// segment.
type Index struct{ Unchecked int }

// ShmUsers knows no process: every one is unchecked.
func ShmUsers() Index { return Index{Unchecked: -1} }

// Users knows no process.
func (Index) Users(uint64) []int { return nil }

// UncheckedAs is -1: no process could be checked.
func (Index) UncheckedAs(uint32) int { return -1 }

// MappedInode cannot tell which file a mapping is of without /proc.
func MappedInode(uintptr) (uint64, bool) { return 0, false }

// MappedFile is not known without /proc.
func MappedFile(uintptr) (dev, ino uint64, ok bool) { return 0, 0, false }

// NestedPIDNamespace: without /proc nothing is in sight anyway.
func NestedPIDNamespace() bool { return true }
