//go:build !(cgo && linux && (amd64 || arm64))

package qipc

import (
	"sync/atomic"
	"unsafe"
)

// No fast path outside 64-bit glibc targets (see posix_fast.go): musl,
// macOS, the BSDs and 32-bit glibc use other sem_t layouts, so every
// operation goes through the C library.

const semFastOK = false

var semFast atomic.Bool

func semFastTake(unsafe.Pointer) bool { return false }
func semFastGive(unsafe.Pointer) bool { return false }
