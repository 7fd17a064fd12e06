//go:build !linux

package procs

// DevShm is empty: POSIX segments have no directory to look into here.
const DevShm = ""

// Index is empty here: no OS interface tells which processes map a POSIX
// segment.
type Index struct {
	Unchecked int
	Blind     string
}

// ShmUsers knows no process: every one is unchecked.
func ShmUsers() Index { return Index{Unchecked: -1, Blind: "this OS does not tell"} }

// Users knows no process.
func (Index) Users(uint64) []int { return nil }

// MappedInode cannot tell which file a mapping is of without /proc.
func MappedInode(uintptr) (uint64, bool) { return 0, false }

// MappedFile is not known without /proc.
func MappedFile(uintptr) (dev, ino uint64, ok bool) { return 0, 0, false }

// NestedPIDNamespace: without /proc nothing is in sight anyway.
func NestedPIDNamespace() bool { return true }

// LeaseIfUnseen cannot ask for leases here.
func LeaseIfUnseen(Index, string, uint64, uint64) Lease { return LeaseUnknown }

// WhileUnused cannot ask for leases here.
func WhileUnused(string, uint64, uint64) Lease { return LeaseUnknown }

// RemoveUnused cannot prove a file unused here; it removes nothing.
func RemoveUnused(string, uint64, uint64) (Lease, error) { return LeaseUnknown, nil }

// Command is "" where /proc does not exist.
func Command(int) string { return "" }

// SemUsers knows no users where /proc does not exist.
func SemUsers(_ Index, _ uint64, waiters int) LockFacts { return LockFacts{Waiters: waiters} }
