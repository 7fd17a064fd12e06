//go:build !cgo || !(linux || darwin || freebsd || netbsd || openbsd)

package glibcsem

import "strings"

// Libc is "" where no C library makes POSIX calls for qipc.
const Libc = ""

// SemFile has no meaning without a C library; it gives glibc's name.
func SemFile(name string) string { return "/dev/shm/sem." + strings.TrimLeft(name, "/") }
