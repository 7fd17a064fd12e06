//go:build !linux && !freebsd && !windows

package gopeer

import "time"

// yieldCPU gives the CPU away between the counter peer's read and write;
// where there is no sched_yield system call, a short sleep does.
func yieldCPU() { time.Sleep(time.Microsecond) }
