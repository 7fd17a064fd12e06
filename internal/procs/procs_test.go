//go:build linux

package procs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What the /proc scan cannot see leaves a segment unproven; the kernel's
// lease answer decides whatever /proc shows.
func TestPosixSegmentUnproven(t *testing.T) {
	for _, tc := range []struct {
		x           Index
		lease       Lease
		stale, sure bool
	}{
		{Index{}, LeaseUnknown, true, true},
		{Index{Unchecked: 1}, LeaseUnknown, true, false}, // any process whose maps cannot be read
		{Index{Unchecked: -1}, LeaseUnknown, true, false},
		{Index{Blind: "nested"}, LeaseUnknown, true, false},
		{Index{Unchecked: 1, Blind: "nested"}, LeaseGranted, true, true},
		{Index{}, LeaseRefused, false, true},
	} {
		stale, sure, why := PosixSegment(nil, tc.x, tc.lease)
		if stale != tc.stale || sure != tc.sure {
			t.Errorf("%+v, lease %d: stale %v sure %v (%s); want %v %v", tc.x, tc.lease, stale, sure, why, tc.stale, tc.sure)
		}
	}
	if stale, _, _ := PosixSegment([]int{42}, Index{}, LeaseGranted); stale {
		t.Error("a segment a process maps is stale")
	}
}

// TestLockHolderGone: a System V lock at 0 whose last taker has exited was
// taken without undo; naming that pid as the holder would send an operator
// after a process that is not there (and whose pid may be another's now).
func TestLockHolderGone(t *testing.T) {
	pid, why := LockHolder(LockFacts{Waiters: 0, LastPid: 4242, LastPidKnown: true, LastPidGone: true})
	if pid != 0 || !strings.Contains(why, "4242") || !strings.Contains(why, "gone") {
		t.Errorf("LockHolder of a gone last pid: %d, %q", pid, why)
	}
	if pid, _ := LockHolder(LockFacts{Waiters: 0, LastPid: 4242, LastPidKnown: true}); pid != 4242 {
		t.Errorf("LockHolder of a running last pid: %d", pid)
	}
}

// TestMappedFile: the device and inode MappedFile names for an address are
// those of the file mapped there, by the kernel's answer to the one
// question (PROCMAP_QUERY) and by the text of /proc/self/maps alike: at
// the mapping's first byte (where sem_open's sem_t is) and its last, in
// /dev/shm (where glibc's semaphores are) and in the temp dir; the bytes
// just outside, an anonymous mapping and an address nothing maps name
// nothing. The text is read past a line longer than any buffer: a file
// whose path is 70 KiB long is mapped just below each file asked about.
func TestMappedFile(t *testing.T) {
	ways := map[string]func(*testing.T, uintptr) answer{
		"MappedFile": func(_ *testing.T, a uintptr) answer { d, i, ok := MappedFile(a); return answer{d, i, ok} },
		"text": func(t *testing.T, a uintptr) (r answer) {
			withMaps(t, func(m *os.File) { r.dev, r.ino, r.ok = scanMappings(m, a) })
			return r
		},
		"query": func(t *testing.T, a uintptr) (r answer) {
			var err error
			withMaps(t, func(m *os.File) { r.dev, r.ino, r.ok, err = queryMapping(m, a) })
			switch {
			case errors.Is(err, syscall.ENOENT):
				return answer{} // nothing mapped at a
			case err == nil:
				return r
			case kernelAtLeast(6, 11) && os.Getenv("QIPC_EXEC_PREFIX") == "" && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EACCES):
				t.Fatalf("Linux 6.11 or later did not answer PROCMAP_QUERY: %v", err)
			}
			t.Skipf("no answer to PROCMAP_QUERY here (%v): Linux 6.11 and later give one, an emulator's /proc/self/maps does not", err)
			return r
		},
	}
	pg := uintptr(os.Getpagesize())
	type place struct {
		name string
		addr uintptr
		want answer
	}
	var places []place
	long := longPathFile(t, pg)
	for _, dir := range []string{DevShm, t.TempDir()} {
		f, err := os.CreateTemp(dir, "qipc-mapped")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close(); os.Remove(f.Name()) })
		start := mapBetweenGaps(t, f, long, pg)
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		in := answer{uint64(st.Dev), st.Ino, true}
		places = append(places,
			place{dir + ": first byte", start, in}, place{dir + ": last byte", start + pg - 1, in},
			place{dir + ": byte before", start - 1, answer{}}, place{dir + ": byte after", start + pg, answer{}})
	}
	anon, err := syscall.Mmap(-1, 0, int(pg), syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(anon)
	places = append(places, place{"anonymous", uintptr(unsafe.Pointer(&anon[0])), answer{}}, place{"nothing mapped", pg, answer{}})
	for name, way := range ways {
		t.Run(name, func(t *testing.T) {
			for _, p := range places {
				if got := way(t, p.addr); got != p.want {
					t.Errorf("%s: %+v, want %+v (fstat)", p.name, got, p.want)
				}
			}
		})
	}
}

type answer struct {
	dev, ino uint64
	ok       bool
}

func withMaps(t *testing.T, read func(*os.File)) {
	t.Helper()
	m, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	read(m)
}

// mapBetweenGaps maps the first page of f, and below it that of long,
// each between unmapped pages, so that each has a line of its own in
// /proc/self/maps and long's comes first; it returns f's address.
func mapBetweenGaps(t *testing.T, f *os.File, long int, pg uintptr) uintptr {
	t.Helper()
	if err := f.Truncate(int64(pg)); err != nil {
		t.Fatal(err)
	}
	span, err := unix.Mmap(-1, 0, int(5*pg), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		fd int
		at uintptr
	}{{long, pg}, {int(f.Fd()), 3 * pg}} {
		if _, err := unix.MmapPtr(m.fd, 0, unsafe.Pointer(&span[m.at]), pg, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED); err != nil {
			t.Fatal(err)
		}
	}
	for _, gap := range []uintptr{0, 2 * pg, 4 * pg} {
		_ = unix.Munmap(span[gap : gap+pg])
	}
	t.Cleanup(func() { _ = unix.Munmap(span[pg : 2*pg]); _ = unix.Munmap(span[3*pg : 4*pg]) })
	return uintptr(unsafe.Pointer(&span[3*pg]))
}

// longPathFile makes a file of one page whose path is 70 KiB long and
// returns it open.
func longPathFile(t *testing.T, pg uintptr) int {
	t.Helper()
	dir, err := unix.Open(t.TempDir(), unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("d", 250)
	for range 70 * 1024 / (len(name) + 1) {
		if err := unix.Mkdirat(dir, name, 0o700); err != nil {
			t.Fatal(err)
		}
		sub, err := unix.Openat(dir, name, unix.O_DIRECTORY|unix.O_RDONLY, 0)
		unix.Close(dir)
		if err != nil {
			t.Fatal(err)
		}
		dir = sub
	}
	fd, err := unix.Openat(dir, "f", unix.O_CREAT|unix.O_RDWR, 0o600)
	unix.Close(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Ftruncate(fd, int64(pg)); err != nil {
		t.Fatal(err)
	}
	return fd
}

// kernelAtLeast reports whether the running kernel is major.minor or later.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
