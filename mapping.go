package qipc

import (
	"context"
	"fmt"
	"sync/atomic"
)

// mapping is the segment a SharedMemory maps, the calls that use it, and
// the changes between the phases of the object (package documentation,
// "Concurrency").
//
// Its state word:
//
//	bits 60-62  phase  detached, attaching, attached, detaching, closed
//	bits 0-31   pins   calls using the mapping (ReadAt, WriteAt, Locked's
//	                   fn)
//
// A pin is taken only in the attached phase. Detach and Close move to
// detaching, where no pin is taken, and unmap once the pins have drained:
// a mapping is never unmapped while pinned. Only the holder of the token
// (begin, end) changes the phase, so that one change runs at a time.
type mapping struct {
	state atomic.Uint64
	cur   atomic.Pointer[mapped] // set in the attached and detaching phases
	// drained is closed by the unpin that leaves a detaching mapping
	// without pins.
	drained atomic.Pointer[chan struct{}]
	token   chan struct{} // holds a value while a change runs
}

// mapped is one mapping of the segment.
type mapped struct {
	seg      segment
	data     []byte
	readOnly bool // attached ReadOnly: a write faults (catchFault says so)
}

type phase uint64

const (
	detached phase = iota
	attaching
	attached
	detaching
	closedPhase
)

func (p phase) String() string {
	return [...]string{"detached", "attaching", "attached", "detaching", "closed"}[p]
}

const (
	phaseShift = 60
	phaseMask  = 7 << phaseShift
	pinMask    = 1<<32 - 1
)

func phaseOf(v uint64) phase { return phase(v&phaseMask) >> phaseShift }

func (mp *mapping) init() { mp.token = make(chan struct{}, 1) }

func (mp *mapping) inconsistent(v uint64, what string) {
	panic(fmt.Sprintf("qipc: inconsistent mapping state %s (phase %v, %d pins)", what, phaseOf(v), v&pinMask))
}

// begin takes the token of a change of phase, waiting for the change in
// progress to end, or until ctx ends.
func (mp *mapping) begin(ctx context.Context) error {
	select {
	case mp.token <- struct{}{}:
		return nil
	default:
	}
	select {
	case mp.token <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end gives the token back.
func (mp *mapping) end() { <-mp.token }

// phase is the current phase; stable while the caller holds the token.
func (mp *mapping) phase() phase { return phaseOf(mp.state.Load()) }

// set moves to phase p, with the token held; cur is the mapping of the
// attached phase, nil in the others but detaching, which keeps it.
func (mp *mapping) set(p phase, cur *mapped) {
	for {
		v := mp.state.Load()
		if p != detaching && v&pinMask != 0 {
			mp.inconsistent(v, "leaving a pinned mapping for "+p.String())
		}
		if p == attached || p == detaching {
			mp.cur.Store(cur)
		}
		if mp.state.CompareAndSwap(v, v&^phaseMask|uint64(p)<<phaseShift) {
			if p != attached && p != detaching {
				mp.cur.Store(nil)
			}
			return
		}
	}
}

// pin returns the mapping and keeps it mapped until unpin, or nil when the
// object is not attached.
func (mp *mapping) pin() *mapped {
	for {
		v := mp.state.Load()
		if phaseOf(v) != attached {
			return nil
		}
		if v&pinMask == pinMask {
			mp.inconsistent(v, "pin overflow")
		}
		if mp.state.CompareAndSwap(v, v+1) {
			return mp.cur.Load()
		}
	}
}

// unpin ends a pin; the last one of a detaching mapping lets the detach go
// on.
func (mp *mapping) unpin() {
	v := mp.state.Add(^uint64(0))
	if v&pinMask == pinMask {
		mp.inconsistent(v, "unpin without pin")
	}
	if phaseOf(v) == detaching && v&pinMask == 0 {
		if ch := mp.drained.Swap(nil); ch != nil {
			close(*ch)
		}
	}
}

// drain moves an attached mapping to detaching, with the token held, and
// waits until no call pins it. When ctx ends first, it goes back to
// attached (unless the pins drained meanwhile) and returns ctx's error.
func (mp *mapping) drain(ctx context.Context) error {
	ch := make(chan struct{})
	mp.drained.Store(&ch)
	for {
		v := mp.state.Load()
		if phaseOf(v) != attached {
			mp.inconsistent(v, "draining")
		}
		if mp.state.CompareAndSwap(v, v&^phaseMask|uint64(detaching)<<phaseShift) {
			if v&pinMask == 0 {
				mp.drained.Store(nil)
				return nil
			}
			break
		}
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	for {
		v := mp.state.Load()
		if v&pinMask == 0 {
			return nil // drained after all
		}
		if mp.state.CompareAndSwap(v, v&^phaseMask|uint64(attached)<<phaseShift) {
			mp.drained.CompareAndSwap(&ch, nil)
			return ctx.Err()
		}
	}
}
