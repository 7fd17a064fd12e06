package spin

import (
	"bytes"
	"strconv"
	"syscall"
)

// runnable is the number of runnable threads on the machine (the caller
// among them), the numerator of /proc/loadavg's fourth field, which the
// kernel counts at the moment of the read.
func runnable() (int, bool) {
	fd, err := syscall.Open("/proc/loadavg", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	var buf [128]byte
	n, err := syscall.Read(fd, buf[:])
	_ = syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	return parseLoadavg(buf[:n])
}

// parseLoadavg takes "0.77 1.40 1.34 3/456 12345\n" to 3.
func parseLoadavg(b []byte) (int, bool) {
	f := bytes.Fields(b)
	if len(f) < 4 {
		return 0, false
	}
	run, _, ok := bytes.Cut(f[3], []byte("/"))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(run))
	return n, err == nil && n >= 0
}
