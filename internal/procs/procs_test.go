//go:build linux

package procs

import "testing"

// The processes this one cannot inspect: which of them keep a POSIX
// segment from being called stale for sure.
func TestPosixSegmentUnchecked(t *testing.T) {
	x := Index{Unchecked: 2, uncheckedBy: map[uint32]int{1000: 1, 0: 1}}
	for _, tc := range []struct {
		owner     uint32
		ownerOnly bool
		sure      bool
	}{
		{1000, true, false},  // the owner's non-dumpable process may map it
		{1001, true, true},   // another user's processes cannot open a 0600 segment
		{0, true, true},      // root's uninspectable processes are supervisors
		{1001, false, false}, // a segment others may open: any process may use it
	} {
		stale, sure, why := PosixSegment(nil, x, tc.owner, tc.ownerOnly)
		if !stale || sure != tc.sure {
			t.Errorf("owner %d, ownerOnly %v: stale %v sure %v (%s); want sure %v", tc.owner, tc.ownerOnly, stale, sure, why, tc.sure)
		}
	}
	if stale, _, _ := PosixSegment([]int{42}, x, 1000, true); stale {
		t.Error("a segment a process maps is stale")
	}
	if _, sure, _ := PosixSegment(nil, Index{Unchecked: -1}, 0, true); sure {
		t.Error("stale for sure without /proc")
	}
}
