package gopeer

import "syscall"

var switchToThread = syscall.NewLazyDLL("kernel32.dll").NewProc("SwitchToThread")

// yieldCPU gives the CPU away between the counter peer's read and write, as
// the C peer's SwitchToThread() does.
func yieldCPU() { _, _, _ = switchToThread.Call() }
