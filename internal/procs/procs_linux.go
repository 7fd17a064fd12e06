package procs

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DevShm is where Linux keeps POSIX segments and glibc its named
// semaphores.
const DevShm = "/dev/shm"

// Alive reports whether pid runs; a zombie counts as gone. A process this
// one may not look at counts as running.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, fs.ErrPermission)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// Index lists, for each /dev/shm file (by inode), the processes that map
// it or hold it open: a creator between shm_open and mmap has only the
// descriptor. Inodes, not paths: glibc's sem_open creates a semaphore under
// a temporary name and links it into place, so its creator's mapping shows
// the temporary name "(deleted)".
type Index struct {
	pids map[uint64][]int // inode -> pids
	// Unchecked counts the processes whose maps could not be read; -1
	// when /proc itself could not be read.
	Unchecked int
	// uncheckedBy counts those processes by the user they access files
	// as (the fs uid of /proc/PID/status, which anyone may read).
	uncheckedBy map[uint32]int
}

// UncheckedAs counts the unchecked processes that access files as uid: a
// user's processes that made themselves non-dumpable. Root's are not
// counted: a root process this one may not inspect has capabilities this
// one lacks (a supervisor, a container's init), not a Qt peer's role.
func (x Index) UncheckedAs(uid uint32) int {
	if x.Unchecked < 0 || uid == 0 {
		return min(x.Unchecked, 0)
	}
	return x.uncheckedBy[uid]
}

// fsUID reads the fs uid from the Uid line of /proc/PID/status
// ("Uid:\treal\teffective\tsaved\tfs").
func fsUID(pid string) (uint32, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" {
			uid, err := strconv.ParseUint(f[4], 10, 32)
			return uint32(uid), err == nil
		}
	}
	return 0, false
}

// ShmUsers reads every process's maps and descriptors.
func ShmUsers() Index {
	idx := Index{pids: map[uint64][]int{}, uncheckedBy: map[uint32]int{}}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		idx.Unchecked = -1
		return idx
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open("/proc/" + e.Name() + "/maps")
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				idx.Unchecked++
				if uid, ok := fsUID(e.Name()); ok {
					idx.uncheckedBy[uid]++
				}
			}
			continue
		}
		seen := map[uint64]bool{}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if !strings.Contains(line, " "+DevShm+"/") {
				continue
			}
			// address perms offset dev inode path
			fields := strings.Fields(line)
			if len(fields) < 6 {
				continue
			}
			ino, err := strconv.ParseUint(fields[4], 10, 64)
			if err != nil || seen[ino] {
				continue
			}
			seen[ino] = true
			idx.pids[ino] = append(idx.pids[ino], pid)
		}
		f.Close()
		fdDir := "/proc/" + e.Name() + "/fd"
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if target, err := os.Readlink(fdDir + "/" + fd.Name()); err != nil || !strings.HasPrefix(target, DevShm+"/") {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat(fdDir+"/"+fd.Name(), &st) != nil || seen[st.Ino] {
				continue
			}
			seen[st.Ino] = true
			idx.pids[st.Ino] = append(idx.pids[st.Ino], pid)
		}
	}
	return idx
}

// Users returns the processes that map the /dev/shm file with inode ino
// or hold it open.
func (x Index) Users(ino uint64) []int { return x.pids[ino] }

// MappedInode returns the inode of the file this process maps at addr,
// from /proc/self/maps: what tells a POSIX semaphore or segment this
// process has open from one made since under the same name.
func MappedInode(addr uintptr) (uint64, bool) {
	_, ino, ok := MappedFile(addr)
	return ino, ok
}

// MappedFile returns the device (encoded as stat's st_dev) and inode of
// the file this process maps at addr, from /proc/self/maps. The mapping
// keeps that inode alive, so a stat that shows the same pair shows this
// very file: how the owner of a semaphore that sem_open mapped is proven.
func MappedFile(addr uintptr) (dev, ino uint64, ok bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || uint64(addr) < start || uint64(addr) >= end {
			continue
		}
		major, minor, _ := strings.Cut(fields[3], ":")
		maj, err1 := strconv.ParseUint(major, 16, 32)
		mnr, err2 := strconv.ParseUint(minor, 16, 32)
		ino, err := strconv.ParseUint(fields[4], 10, 64)
		if err1 != nil || err2 != nil || err != nil || ino == 0 {
			return 0, 0, false
		}
		return unix.Mkdev(uint32(maj), uint32(mnr)), ino, true
	}
	return 0, 0, false
}

// NestedPIDNamespace reports whether this process runs in a PID namespace
// below the initial one (its NSpid line lists more than one pid): processes
// outside it, which may share /dev/shm, are out of its sight in /proc.
func NestedPIDNamespace() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true // cannot tell: assume the worst
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "NSpid:" {
			return len(f) > 2
		}
	}
	return false // a kernel without NSpid (before 4.1) has no way to say
}
