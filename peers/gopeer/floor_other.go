//go:build !(cgo && linux)

package gopeer

import (
	"errors"

	"github.com/qipc-go/qipc"
)

// floorLock: the benchmark's floor runs on Linux with cgo only.
func floorLock(qipc.Key) (lock, unlock func() error, done func(), err error) {
	return nil, nil, nil, errors.ErrUnsupported
}
