//go:build linux

package procs

import "testing"

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
