// Package procs holds what the qipc library and the qipc command both need
// to know about processes to call an IPC object stale: whether a process
// runs, which processes use a POSIX segment, and the rules that turn those
// facts into "stale" and a reason. One copy, so that `qipc ls` and
// qipc.Inspect never disagree.
//
// The rule: an object is not stale unless it is proven unused. What this
// process cannot see (a process whose maps it may not read, processes in
// another PID namespace or hidden by /proc's hidepid) leaves it unproven.
package procs

import (
	"fmt"
	"os"
)

// Others is pids without this process, as a new slice: this process's own
// mapping of an object says nothing of who else uses or holds it.
func Others(pids []int) []int {
	self := os.Getpid()
	out := make([]int, 0, len(pids))
	for _, p := range pids {
		if p != self {
			out = append(out, p)
		}
	}
	return out
}

// SysVSegment decides whether a System V segment is stale: no process is
// attached (nattch) and the process that created it (cpid) is gone. A
// segment no one is attached to while its creator runs is not: Qt's
// creator may be between create and attach, or attach again.
func SysVSegment(nattch, cpid int, alive func(int) bool) (stale bool, why string) {
	switch {
	case nattch > 0:
		return false, fmt.Sprintf("%d process(es) attached", nattch)
	case alive(cpid):
		return false, fmt.Sprintf("no process attached, but its creator (pid %d) runs", cpid)
	}
	return true, fmt.Sprintf("no process attached and its creator (pid %d) is gone", cpid)
}

// Lease is what the kernel answers when asked for a write lease on a
// file (fcntl F_SETLEASE): it grants one only while no other open file
// description refers to the file, and a mapping keeps its file open. So a
// lease proves what /proc cannot: that no process anywhere (another PID
// namespace, another user, another path to the same tmpfs) uses it.
type Lease int

const (
	// LeaseUnknown: the kernel was not asked, or would not answer (the
	// file is another user's and this process lacks CAP_LEASE, leases are
	// disabled, it is not Linux).
	LeaseUnknown Lease = iota
	// LeaseGranted: no other process had the file open or mapped.
	LeaseGranted
	// LeaseRefused: some process has the file open or mapped.
	LeaseRefused
	// LeaseReplaced: the name no longer leads to the file examined.
	LeaseReplaced
)

// PosixSegment decides whether a POSIX segment (or a semaphore's file) is
// stale from the processes that map it or hold it open (users, from
// x.Users), from what the kernel said about a write lease on it, and from
// what the /proc scan could not see.
//
// sure is false when it is stale only as far as this process can see:
// `qipc ls` lists it as stale but unverified, and nothing removes it on
// its own.
func PosixSegment(users []int, x Index, lease Lease) (stale, sure bool, why string) {
	switch {
	case len(users) > 0:
		return false, true, fmt.Sprintf("used by %d process(es) (pids %v)", len(users), users)
	case lease == LeaseRefused:
		return false, true, "used by a process out of this one's sight (the kernel refused a write lease: another PID namespace, another user, or another path to it)"
	case lease == LeaseGranted:
		return true, true, "no process maps it or has it open (the kernel granted a write lease)"
	case x.Unchecked < 0:
		return true, false, "no process maps it or has it open (/proc could not be read)"
	case x.Blind != "":
		return true, false, "no process in sight maps it or has it open, but " + x.Blind
	case x.Unchecked > 0:
		return true, false, fmt.Sprintf("no process maps it or has it open (%d process(es) whose maps cannot be read were not checked)", x.Unchecked)
	}
	return true, true, "no process maps it or has it open"
}

// LockFacts is what the OS shows of a lock semaphore whose count is 0,
// for LockHolder.
type LockFacts struct {
	Waiters int // -1: unknown
	// LastPid is System V's GETPID, the last process that changed the
	// count, when LastPidKnown (0: in no PID namespace of this process).
	LastPid      int
	LastPidKnown bool
	LastPidGone  bool // LastPid has exited: a count taken without undo
	// Users are the processes seen to map a POSIX semaphore, when
	// UsersKnown; Unchecked could not be seen (-1: processes may be out
	// of sight of /proc altogether).
	Users      []int
	UsersKnown bool
	Unchecked  int
}

// LockHolder names the process that probably holds a lock whose count is
// 0, or 0, and says how it was found or why it was not. System V: the
// last process that changed the count, which for a held lock is the one
// that took it. POSIX semaphores have no owner: the one process that maps
// the semaphore, when there is one and no one waits.
func LockHolder(f LockFacts) (pid int, why string) {
	switch {
	case f.LastPid > 0 && f.LastPidGone:
		return 0, fmt.Sprintf("the last process to take or give it (pid %d) is gone: it took the count without undo", f.LastPid)
	case f.LastPid > 0:
		return f.LastPid, "the last process to take or give the lock (System V GETPID)"
	case f.LastPidKnown:
		return 0, "no process in sight took it: one in another PID namespace, or none (a set made without its first count)"
	case !f.UsersKnown:
		return 0, "no process's mappings could be read"
	case f.Waiters > 0:
		return 0, "one of the processes that map it, which include its waiters"
	case len(f.Users) == 0:
		return 0, "no process maps it: its holder exited without giving it back (RecoverLock gives it back)"
	case len(f.Users) != 1:
		return 0, fmt.Sprintf("one of the %d processes that map it", len(f.Users))
	}
	why = "the only process seen to map it"
	switch {
	case f.Unchecked < 0:
		why += " (processes out of sight of /proc may map it too)"
	case f.Unchecked > 0:
		why += fmt.Sprintf(" (%d processes could not be checked)", f.Unchecked)
	}
	return f.Users[0], why
}
