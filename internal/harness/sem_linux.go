package harness

import (
	"bufio"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"golang.org/x/sys/unix"
)

// SemCount reads a semaphore's count, or with waiters how many processes
// sleep on it, where the C library or the kernel keeps it: without opening
// it (an open could make it) and without asking the library under test. A
// POSIX semaphore (posixName "/x") is read from glibc's sem_t in its file; a
// System V one (posixName "") is the set that ftok(keyFile, projID) names,
// read by semctl. ok is false when there is none, or where its count cannot
// be read (another C library).
func SemCount(posixName, keyFile string, projID int, waiters bool) (n int, ok bool) {
	if posixName != "" {
		b, err := os.ReadFile(glibcsem.SemFile(posixName))
		var count, sleepers int
		switch {
		case err != nil || glibcsem.Libc != "glibc":
			return 0, false
		case strconv.IntSize == 32 && len(b) == 16:
			// glibc without 64-bit atomics: the count shifted left by
			// one (the low bit flags waiters), their number at 12.
			count, sleepers = int(binary.LittleEndian.Uint32(b)>>1), int(binary.LittleEndian.Uint32(b[12:]))
		case strconv.IntSize == 64 && len(b) == 32 && glibcsem.OK:
			count, sleepers = glibcsem.Value(binary.LittleEndian.Uint64(b))
		default:
			return 0, false
		}
		if waiters {
			return sleepers, true
		}
		return count, true
	}
	key, ok := Ftok(keyFile, projID)
	if !ok {
		return 0, false
	}
	id, ok := sysvSemID(key)
	if !ok {
		return 0, false
	}
	const getval, getncnt = 12, 14 // <sys/sem.h>
	cmd := getval
	if waiters {
		cmd = getncnt
	}
	r, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, uintptr(cmd), 0, 0, 0)
	if errno != 0 {
		return 0, false
	}
	return int(r), true
}

// Ftok is glibc's ftok(path, projID), computed here so that a test does
// not take the library's word for the key; ok is false while the file is
// missing.
func Ftok(path string, projID int) (int32, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, false
	}
	return int32(uint32(st.Ino&0xffff) | uint32(st.Dev&0xff)<<16 | uint32(projID&0xff)<<24), true
}

// sysvSemID finds the semaphore set of key in /proc/sysvipc/sem.
func sysvSemID(key int32) (int, bool) {
	f, err := os.Open("/proc/sysvipc/sem")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 2 {
			continue
		}
		if k, err := strconv.ParseInt(fl[0], 10, 32); err == nil && int32(k) == key {
			id, err := strconv.Atoi(fl[1])
			return id, err == nil
		}
	}
	return 0, false
}
