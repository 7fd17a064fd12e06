//go:build !linux

package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/qipc-go/qipc"
)

var errNoScan = fmt.Errorf("listing IPC objects is implemented for Linux only, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

func scan() ([]*Object, error)                { return nil, errNoScan }
func (o *Object) matches(qipc.Key) bool       { return false }
func (o *Object) removeActions(bool) []action { return o.noScan() }
func processAlive(int) bool                   { return false }
func lockExists(qipc.Key) (bool, bool)        { return false, false }
func segmentExists(qipc.Key) (bool, bool)     { return false, false }
func keyFileExists(qipc.Key) bool             { return false }
func dropLock(qipc.Key, qipc.Key, bool)       {}
func attachedTo(qipc.Key) ([]int, int, bool)  { return nil, 0, false }

// scanState: there is no scan here, and nothing to keep.
type scanState struct{}

func (o *Object) noScan() []action {
	_ = o.scanState // what a scan would keep; this platform has none
	return nil
}

type action struct {
	what string
	do   func() error
}

type errSkipped struct{ why string }

func (e errSkipped) Error() string { return e.why }
