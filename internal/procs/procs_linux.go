package procs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DevShm is where Linux keeps POSIX segments and glibc its named
// semaphores.
const DevShm = "/dev/shm"

// Alive reports whether pid runs; a zombie counts as gone. A process this
// one may not look at counts as running, and so does one that /proc hides
// (mounted with hidepid) but the kernel still knows: kill(pid, 0) sees
// through hidepid.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return true
		}
		kerr := unix.Kill(pid, 0)
		return kerr == nil || kerr == unix.EPERM
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// Index lists, for each /dev/shm file (by inode), the processes that map
// it or hold it open: a creator between shm_open and mmap has only the
// descriptor. Inodes on /dev/shm's device, not paths: glibc's sem_open
// creates a semaphore under a temporary name and links it into place (its
// creator's mapping shows the temporary name "(deleted)"), and a process
// may reach the same tmpfs through another path (a bind mount).
type Index struct {
	pids map[uint64][]int // inode -> pids
	// Unchecked counts the processes whose maps or descriptors could not
	// be read; -1 when /proc itself could not be read.
	Unchecked int
	// Blind says why processes may use a file without appearing in /proc
	// at all ("" when every process is in sight).
	Blind string
}

// ShmUsers reads every process's maps and descriptors.
func ShmUsers() Index {
	idx := Index{pids: map[uint64][]int{}, Blind: blind()}
	var shm unix.Stat_t
	if unix.Stat(DevShm, &shm) != nil {
		idx.Unchecked = -1
		return idx
	}
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
		seen := map[uint64]bool{}
		add := func(ino uint64) {
			if !seen[ino] {
				seen[ino] = true
				idx.pids[ino] = append(idx.pids[ino], pid)
			}
		}
		mapsOK := readMaps("/proc/"+e.Name()+"/maps", shm.Dev, add)
		fdsOK := readFds("/proc/"+e.Name()+"/fd", shm.Dev, add)
		if (!mapsOK || !fdsOK) && exists("/proc/"+e.Name()) {
			idx.Unchecked++
		}
	}
	return idx
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readMaps calls add for each inode on device dev that the maps file
// shows mapped; false when the file could not be read.
func readMaps(path string, dev uint64, add func(uint64)) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return eachMapping(f, func(head []byte) bool {
		if d, ino, ok := mappingFile(head); ok && d == dev {
			add(ino)
		}
		return false
	}) == nil
}

// eachMapping calls line with the head of each line of the maps file f
// ("start-end perms offset major:minor inode path"), which holds all but
// the path, until line returns true; the rest of a line is skipped, since
// a path may be longer than any buffer. The error is that of the read.
func eachMapping(f io.Reader, line func(head []byte) (stop bool)) error {
	r := bufio.NewReaderSize(f, 4096)
	for {
		head, err := r.ReadSlice('\n')
		if len(head) > 0 && line(head) {
			return nil
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// mappingFile reads the device (encoded as stat's st_dev) and inode of
// the file a maps line's head shows mapped; ok is false for a mapping of
// no file.
func mappingFile(head []byte) (dev, ino uint64, ok bool) {
	fields := bytes.Fields(head)
	if len(fields) < 5 {
		return 0, 0, false
	}
	major, minor, _ := bytes.Cut(fields[3], []byte{':'})
	maj, err1 := strconv.ParseUint(string(major), 16, 32)
	mnr, err2 := strconv.ParseUint(string(minor), 16, 32)
	ino, err := strconv.ParseUint(string(fields[4]), 10, 64)
	if err1 != nil || err2 != nil || err != nil || ino == 0 {
		return 0, 0, false
	}
	return unix.Mkdev(uint32(maj), uint32(mnr)), ino, true
}

// readFds calls add for each inode on device dev that a descriptor in
// the fd directory refers to; false when the directory could not be read.
func readFds(dir string, dev uint64, add func(uint64)) bool {
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Stat(dir+"/"+fd.Name(), &st) == nil && st.Dev == dev {
			add(st.Ino)
		}
	}
	return true
}

// blind says why some processes that share /dev/shm with this one may be
// missing from its /proc: it runs in a PID namespace other than the
// initial one (containers of one pod share /dev/shm, not PIDs), or /proc
// hides other users' processes (hidepid) from a process without
// CAP_SYS_PTRACE.
func blind() string {
	if NestedPIDNamespace() {
		return "this process runs in a PID namespace of its own, and processes outside it are out of sight"
	}
	if hidepid() && !hasCap(unix.CAP_SYS_PTRACE) {
		return "/proc is mounted with hidepid, which hides other users' processes"
	}
	return ""
}

// hidepid reports whether /proc is mounted with a hidepid option that
// hides processes rather than only their details (2, invisible,
// ptraceable).
func hidepid() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); !ok || len(f) < 5 || f[4] != "/proc" {
			continue
		}
		for _, opt := range strings.Split(post, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(opt), "hidepid="); ok {
				return v != "0" && v != "1" && v != "off" && v != "noaccess"
			}
		}
		return false
	}
	return false
}

// hasCap reports whether capability c is in this process's effective set.
func hasCap(c int) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<uint(c)) != 0
		}
	}
	return false
}

// leased opens the file at path, which must still be the file (dev, ino),
// and asks the kernel for a lease of type typ on it: a write lease
// (F_WRLCK), granted while no one else has the file open or mapped, or a
// read lease (F_RDLCK), granted while no one has it open for writing. The
// caller closes fd (which drops the lease) when lease is LeaseGranted;
// otherwise fd is -1.
//
// readers reports, for a refused write lease, that no one has the file
// open for writing: the refusal came from read-only opens (another
// process's lease request, which lasts microseconds, or a read-only
// mapping), where a user of a semaphore or of a writable segment has it
// open for writing.
func leased(path string, dev, ino uint64, typ int) (fd int, lease Lease, readers bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP):
		return -1, LeaseReplaced, false
	case errors.Is(err, unix.EWOULDBLOCK):
		// Another process holds a lease, and so has the file open; only
		// lease requests like this one take leases on these files.
		return -1, LeaseRefused, true
	case err != nil:
		return -1, LeaseUnknown, false
	}
	var st unix.Stat_t
	switch {
	case unix.Fstat(fd, &st) != nil:
		lease = LeaseUnknown
	case st.Dev != dev || st.Ino != ino:
		lease = LeaseReplaced
	default:
		lease = setLease(fd, typ)
		if lease == LeaseGranted {
			return fd, lease, false
		}
		if lease == LeaseRefused && typ == unix.F_WRLCK && setLease(fd, unix.F_RDLCK) == LeaseGranted {
			readers = true
			_ = setLease(fd, unix.F_UNLCK)
		}
	}
	unix.Close(fd)
	return -1, lease, readers
}

// setLease asks for a lease of type typ (F_WRLCK, F_RDLCK; F_UNLCK gives
// it back) on fd.
func setLease(fd, typ int) Lease {
	// A lease's break is signalled to the fd's owner, which setting the
	// lease makes this process: SIGIO by default, whose default action
	// ends a program that does not expect it (a C host of a c-shared
	// library installs no handler). SIGURG instead: its default is to
	// ignore it, and the Go runtime's handler takes it as a preemption
	// request, which a spurious one is.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETSIG, int(unix.SIGURG)); err != nil {
		return LeaseUnknown
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, typ)
	switch {
	case err == nil:
		// No owner, no signal at all from here on.
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETOWN, 0)
		return LeaseGranted
	case errors.Is(err, unix.EAGAIN):
		return LeaseRefused
	}
	return LeaseUnknown
}

// WhileUnused asks the kernel whether any process has the file at path,
// which must still be the file (dev, ino), open or mapped: a write lease,
// taken and given back at once.
func WhileUnused(path string, dev, ino uint64) Lease {
	fd, lease, _ := leased(path, dev, ino, unix.F_WRLCK)
	if fd >= 0 {
		unix.Close(fd)
	}
	return lease
}

// RemoveUnused unlinks the file at path, which must still be the file
// (dev, ino), if no process has it open or mapped (LeaseGranted), and
// otherwise leaves it, untouched. A write lease proves it unused: the
// kernel grants one only while no one else has the file open. An open
// that comes while the lease is held waits for it, with the path already
// resolved: were the name unlinked under it, that open would get the
// removed file once the lease goes. So the name is first renamed away
// (later opens find nothing), then the lease is asked whether an open is
// waiting (it is being broken): if one is, the name is put back and the
// file left (LeaseRefused); else the file goes. What stays is an open
// that looked the name up before the rename and reaches the lease only
// after it is asked: a window of the kernel's open path, which preemption
// can stretch.
//
// Two removers of one file (the last two closers of a lock, in two
// processes) each hold it open, read-only, for the moment of their lease
// request, so each can be refused because of the other, and one's open
// breaks the other's lease. A refusal that comes only from read-only
// opens, or a broken lease, is asked again, up to four times, each after
// 0.5 to 4.5 ms drawn at random, so that the two fall apart. Removers in
// one process take turns. A process that has the file open for writing,
// as every user of a semaphore does, refuses at once; a read-only user
// refuses five times (about 10 ms).
func RemoveUnused(path string, dev, ino uint64) (Lease, error) {
	for try := 1; ; try++ {
		lease, transient, err := removeUnused(path, dev, ino)
		if lease != LeaseRefused || !transient || err != nil || try == 5 {
			return lease, err
		}
		pause(500*time.Microsecond + rand.N(4*time.Millisecond))
	}
}

// pause waits d, its last 2 ms by the clock rather than by a timer: a
// timer wakes on the kernel's tick, which two processes share, so that
// waits drawn apart would end together, and the removers meet again.
func pause(d time.Duration) {
	end := time.Now().Add(d)
	if d > 2*time.Millisecond {
		time.Sleep(d - 2*time.Millisecond)
	}
	for time.Now().Before(end) {
		runtime.Gosched()
	}
}

var (
	removing sync.Mutex    // RemoveUnused's turns in this process
	removals atomic.Uint64 // numbers its tries, for the names it hides files under
)

// removeUnused is one try of RemoveUnused; transient says that the
// refusal may have been another remover's.
func removeUnused(path string, dev, ino uint64) (_ Lease, transient bool, _ error) {
	removing.Lock()
	defer removing.Unlock()
	fd, lease, readers := leased(path, dev, ino, unix.F_WRLCK)
	if fd < 0 {
		return lease, readers, nil
	}
	defer unix.Close(fd)
	// A short name of this try's own (a long one would pass NAME_MAX):
	// removers in two processes, or one after another here, must not
	// take each other's.
	hidden := fmt.Sprintf("%s.qipc-rm-%d-%d", filepath.Dir(path)+"/", os.Getpid(), removals.Add(1))
	if err := unix.Renameat2(unix.AT_FDCWD, path, unix.AT_FDCWD, hidden, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return LeaseReplaced, false, nil // another remover took it first
		}
		return LeaseUnknown, false, err
	}
	if now, err := unix.FcntlInt(uintptr(fd), unix.F_GETLEASE, 0); err != nil || now != unix.F_WRLCK {
		// An open is waiting on the lease: it resolved the name before
		// the rename, and gets the file when the lease goes. (Another
		// remover's open breaks it too: ask again.)
		if err := unix.Renameat2(unix.AT_FDCWD, hidden, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE); err != nil {
			// A new file took the name meanwhile: the opener has a file
			// no name leads to, as it would have had without the lease.
			return LeaseGranted, false, errors.Join(err, unix.Unlink(hidden))
		}
		return LeaseRefused, true, nil
	}
	return LeaseGranted, false, unix.Unlink(hidden)
}

// LeaseIfUnseen is WhileUnused's lease, asked for only when x saw no
// process use the /dev/shm file (dev, ino) at path: a lease is only
// needed to prove a file unused, and while it is held an open with
// O_NONBLOCK fails (EWOULDBLOCK) and another waits.
func LeaseIfUnseen(x Index, path string, dev, ino uint64) Lease {
	if len(x.Users(ino)) > 0 {
		return LeaseUnknown
	}
	return WhileUnused(path, dev, ino)
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
// the file this process maps at addr. The mapping keeps that inode alive,
// so a stat that shows the same pair shows this very file: how the owner
// of a semaphore that sem_open mapped is proven. It asks the kernel about
// the one mapping (PROCMAP_QUERY, Linux 6.11) where it can, and reads the
// text of /proc/self/maps where it cannot: every mapping's line, which
// made two fifths of a POSIX Create+Attach+Detach+Close.
func MappedFile(addr uintptr) (dev, ino uint64, ok bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	if dev, ino, ok, err := queryMapping(f, addr); err == nil {
		return dev, ino, ok
	}
	return scanMappings(f, addr)
}

// procmapQuery is the kernel's struct procmap_query (linux/fs.h).
type procmapQuery struct {
	size, queryFlags, queryAddr                 uint64
	vmaStart, vmaEnd, vmaFlags, vmaPageSize     uint64
	vmaOffset, inode                            uint64
	devMajor, devMinor, vmaNameSize, buildIDLen uint32
	vmaNameAddr, buildIDAddr                    uint64
}

// procmapQueryIoctl is PROCMAP_QUERY, _IOWR('f', 17, struct procmap_query),
// in the generic encoding of the architectures queryMapping asks on.
const procmapQueryIoctl = 3<<30 | unsafe.Sizeof(procmapQuery{})<<16 | 'f'<<8 | 17

// errNoQuery: this architecture encodes ioctl numbers otherwise.
var errNoQuery = errors.New("PROCMAP_QUERY not asked on " + runtime.GOARCH)

// queryMapping asks the kernel for the mapping at addr on f, an open
// /proc/self/maps: ok, with no error, for a file's mapping. Any error
// leaves the answer to the text: a kernel before 6.11 or an emulator's
// stand-in file (ENOTTY, ENOSYS), a sandbox that refuses the call, and
// nothing mapped at addr (ENOENT), which cannot be for a sem_t just mapped.
func queryMapping(f *os.File, addr uintptr) (dev, ino uint64, ok bool, err error) {
	switch runtime.GOARCH {
	case "amd64", "arm64", "riscv64", "loong64", "s390x":
	default:
		return 0, 0, false, errNoQuery
	}
	q := procmapQuery{size: uint64(unsafe.Sizeof(procmapQuery{})), queryAddr: uint64(addr)}
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, 0, false, err
	}
	var errno syscall.Errno
	if err := sc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, procmapQueryIoctl, uintptr(unsafe.Pointer(&q)))
	}); err != nil {
		return 0, 0, false, err
	}
	switch {
	case errno != 0:
		return 0, 0, false, errno
	case q.inode == 0:
		return 0, 0, false, nil // not a file's mapping
	}
	return unix.Mkdev(q.devMajor, q.devMinor), q.inode, true, nil
}

// scanMappings is MappedFile from the text of /proc/self/maps, on f.
func scanMappings(f *os.File, addr uintptr) (dev, ino uint64, ok bool) {
	_ = eachMapping(f, func(head []byte) bool {
		span, _, _ := bytes.Cut(head, []byte{' '})
		lo, hi, found := bytes.Cut(span, []byte{'-'})
		if !found {
			return false
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || uint64(addr) < start || uint64(addr) >= end {
			return false
		}
		dev, ino, ok = mappingFile(head)
		return true
	})
	return dev, ino, ok
}

// initPIDNamespace is the inode of the initial PID namespace, fixed by the
// kernel (PROC_PID_INIT_INO).
const initPIDNamespace = "pid:[4026531836]"

// NestedPIDNamespace reports whether this process runs in a PID namespace
// below the initial one: processes outside it, which may share /dev/shm,
// are out of its sight in /proc. Its own /proc (unshare --mount-proc)
// shows a single NSpid, so the namespace's inode decides first.
func NestedPIDNamespace() bool {
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		return ns != initPIDNamespace
	}
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

// Command is the command name of process pid (/proc/PID/comm), "" when it
// cannot be read.
func Command(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// SemUsers is the LockFacts of a POSIX semaphore's file (inode ino) that
// x shows, with its waiters.
func SemUsers(x Index, ino uint64, waiters int) LockFacts {
	f := LockFacts{Waiters: waiters}
	if x.Unchecked < 0 {
		return f
	}
	f.Users, f.UsersKnown, f.Unchecked = x.Users(ino), true, x.Unchecked
	if x.Blind != "" {
		f.Unchecked = -1
	}
	return f
}
