// Package fault tells a memory fault on shared memory from other panics,
// for the code that turns such a fault into an error instead of a crash
// (debug.SetPanicOnFault): the qipc package's segment access and the
// glibc semaphore path (internal/glibcsem).
package fault

import (
	"runtime"
	"strings"
)

// Is reports whether r, a value recovered from a panic while
// debug.SetPanicOnFault was on, is a memory fault: a runtime error with
// the faulting address (SIGBUS past the end of a truncated file, SIGSEGV
// on a read-only mapping). ownCode says that the code that panicked is the
// caller's own access to the mapping, which cannot dereference nil: a
// fault without an address (qemu-user reports none, and the runtime then
// calls it a nil dereference) is then a fault of the mapping too.
func Is(r any, ownCode bool) bool {
	re, ok := r.(runtime.Error)
	if !ok {
		return false
	}
	if _, addr := re.(interface{ Addr() uintptr }); addr {
		return true
	}
	return ownCode && strings.HasPrefix(re.Error(), "runtime error: invalid memory address")
}
