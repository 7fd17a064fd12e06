//go:build amd64 || arm64

package spin

// Pause executes the CPU's spin-wait hint n times (PAUSE on amd64, YIELD on
// arm64): it tells the core that this is a busy-wait loop, so that a
// hyper-threaded sibling gets the execution units and the loop's exit is
// not a memory-order mis-speculation.
func Pause(n uint32)
