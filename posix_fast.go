package qipc

import (
	"github.com/qipc-go/qipc/internal/knobs"
	"unsafe"

	"github.com/qipc-go/qipc/internal/glibcsem"
)

// The uncontended POSIX semaphore path without a cgo call: glibc's own
// sem_trywait/sem_post compare-and-swaps, done in Go on the mapped sem_t
// (internal/glibcsem) when its probe found glibc's layout and protocol.

var semFastOK = glibcsem.OK

// semFastOn reports whether Go takes and gives uncontended counts itself.
func semFastOn() bool { return semFastOK && !knobs.SemFastOff.Load() }

// semFastTake and semFastGive are the hot path's tries. A fault (a peer
// truncated the semaphore's file) reads as "not now": the slow path, which
// reports errors, meets it again and returns ErrFault.
func semFastTake(s unsafe.Pointer) bool {
	ok, _ := glibcsem.Take(s)
	return ok
}

func semFastGive(s unsafe.Pointer) bool {
	ok, _ := glibcsem.Give(s)
	return ok
}

// semFastSleepers reads the waiters half of the sem_t's word; a fault
// reads as none (the wait that follows meets it and reports it).
func semFastSleepers(s unsafe.Pointer) bool {
	w, err := glibcsem.Word(s)
	_, n := glibcsem.Value(w)
	return err == nil && n > 0
}
