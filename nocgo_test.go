//go:build !cgo

package qipc

import (
	"errors"
	"strings"
	"testing"
)

// TestWithoutCgo: a build without cgo (CGO_ENABLED=0, the go command's
// default when it finds no C compiler) says so in every error, with the
// way out, instead of "unsupported key type" alone.
func TestWithoutCgo(t *testing.T) {
	for _, typ := range []KeyType{PosixRealtime, SystemV, Windows} {
		if IsKeyTypeSupported(typ) {
			t.Errorf("IsKeyTypeSupported(%v) without cgo", typ)
		}
		_, serr := NewSemaphore(NewKey("/qipc_nocgo", typ), 1, SemaphoreOpen)
		for _, err := range []error{NewSharedMemory(NewKey("/qipc_nocgo", typ)).Create(64, ReadWrite), serr} {
			if !errors.Is(err, ErrNeedsCgo) || !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, ErrKey) ||
				!strings.Contains(err.Error(), "CGO_ENABLED=1") {
				t.Errorf("%v without cgo: %v", typ, err)
			}
		}
	}
}
