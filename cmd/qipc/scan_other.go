//go:build !linux

package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/qipc-go/qipc"
)

var errNoScan = fmt.Errorf("listing IPC objects is implemented for Linux only, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

func scan() ([]*Object, error)               { return nil, errNoScan }
func (o *Object) matches(qipc.Key) bool      { return false }
func (o *Object) removeActions() []action    { return nil }
func processAlive(int) bool                  { return false }
func lockExists(qipc.Key) (bool, bool)       { return false, false }
func keyFileExists(qipc.Key) bool            { return false }
func dropLock(qipc.Key, qipc.Key, bool)      {}
func attachedTo(qipc.Key) ([]int, int, bool) { return nil, 0, false }

type action struct {
	what string
	do   func() error
}
