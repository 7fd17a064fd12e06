//go:build linux

package procs

import (
	"strings"
	"testing"
)

// What the /proc scan cannot see leaves a segment unproven; the kernel's
// lease answer decides whatever /proc shows.
func TestPosixSegmentUnproven(t *testing.T) {
	for _, tc := range []struct {
		x           Index
		lease       Lease
		stale, sure bool
	}{
		{Index{}, LeaseUnknown, true, true},
		{Index{Unchecked: 1}, LeaseUnknown, true, false}, // any process whose maps cannot be read
		{Index{Unchecked: -1}, LeaseUnknown, true, false},
		{Index{Blind: "nested"}, LeaseUnknown, true, false},
		{Index{Unchecked: 1, Blind: "nested"}, LeaseGranted, true, true},
		{Index{}, LeaseRefused, false, true},
	} {
		stale, sure, why := PosixSegment(nil, tc.x, tc.lease)
		if stale != tc.stale || sure != tc.sure {
			t.Errorf("%+v, lease %d: stale %v sure %v (%s); want %v %v", tc.x, tc.lease, stale, sure, why, tc.stale, tc.sure)
		}
	}
	if stale, _, _ := PosixSegment([]int{42}, Index{}, LeaseGranted); stale {
		t.Error("a segment a process maps is stale")
	}
}

// TestLockHolderGone: a System V lock at 0 whose last taker has exited was
// taken without undo; naming that pid as the holder would send an operator
// after a process that is not there (and whose pid may be another's now).
func TestLockHolderGone(t *testing.T) {
	pid, why := LockHolder(LockFacts{Waiters: 0, LastPid: 4242, LastPidKnown: true, LastPidGone: true})
	if pid != 0 || !strings.Contains(why, "4242") || !strings.Contains(why, "gone") {
		t.Errorf("LockHolder of a gone last pid: %d, %q", pid, why)
	}
	if pid, _ := LockHolder(LockFacts{Waiters: 0, LastPid: 4242, LastPidKnown: true}); pid != 4242 {
		t.Errorf("LockHolder of a running last pid: %d", pid)
	}
}
