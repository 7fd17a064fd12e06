// Package procs holds what the qipc library and the qipc command both need
// to know about processes to call an IPC object stale: whether a process
// runs, which processes use a POSIX segment, and the rules that turn those
// facts into "stale" and a reason. One copy, so that `qipc ls` and
// qipc.Inspect never disagree.
package procs

import "fmt"

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

// PosixSegment decides whether a POSIX segment is stale from the
// processes that map it or hold it open (users, from x.Users) and the
// processes whose maps could not be read. Those count unless they cannot
// have opened it: when only its owner may open it (ownerOnly: its mode
// grants nothing to group and others), only the owner's own (non-dumpable)
// processes count (x.UncheckedAs).
//
// sure is false when it is stale only as far as this process can see:
// `qipc ls` still lists it as stale, but nothing removes it on its own.
func PosixSegment(users []int, x Index, owner uint32, ownerOnly bool) (stale, sure bool, why string) {
	unchecked := x.Unchecked
	if ownerOnly && unchecked > 0 {
		unchecked = x.UncheckedAs(owner)
	}
	switch {
	case len(users) > 0:
		return false, true, fmt.Sprintf("used by %d process(es) (pids %v)", len(users), users)
	case unchecked < 0:
		return true, false, "no process maps it or has it open (/proc could not be read)"
	case unchecked > 0:
		return true, false, fmt.Sprintf("no process maps it or has it open (%d process(es) whose maps cannot be read were not checked)", unchecked)
	}
	return true, true, "no process maps it or has it open"
}
