//go:build !(cgo && linux && (amd64 || arm64))

package gopeer

import (
	"errors"

	"github.com/qipc-go/qipc"
)

// HasFloor: the benchmark's floor runs on Linux (amd64, arm64) with cgo
// only.
func HasFloor(qipc.KeyType) bool { return false }

func floorLock(qipc.Key) (lock, unlock func() error, done func(), err error) {
	return nil, nil, nil, errors.ErrUnsupported
}
