//go:build linux

package procs

import (
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
// question (PROCMAP_QUERY) and by the text of /proc/self/maps alike; an
// anonymous mapping, or none, names nothing.
func TestMappedFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "mapped")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	file, err := syscall.Mmap(int(f.Fd()), 0, 4096, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(file)
	anon, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(anon)
	inFile := uintptr(unsafe.Pointer(&file[100]))
	type answer struct {
		dev, ino uint64
		ok       bool
	}
	ways := map[string]func(*testing.T, uintptr) answer{
		"MappedFile": func(_ *testing.T, a uintptr) answer { d, i, ok := MappedFile(a); return answer{d, i, ok} },
		"text": func(t *testing.T, a uintptr) answer {
			m, err := os.Open("/proc/self/maps")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d, i, ok := scanMappings(m, a)
			return answer{d, i, ok}
		},
		"query": func(t *testing.T, a uintptr) answer {
			m, err := os.Open("/proc/self/maps")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d, i, ok, asked := queryMapping(m, a)
			if !asked {
				if kernelAtLeast(6, 11) && os.Getenv("QIPC_EXEC_PREFIX") == "" {
					t.Fatal("Linux 6.11 or later did not answer PROCMAP_QUERY")
				}
				t.Skip("no answer to PROCMAP_QUERY here: Linux 6.11 and later give one, an emulator's /proc/self/maps does not")
			}
			return answer{d, i, ok}
		},
	}
	for name, way := range ways {
		t.Run(name, func(t *testing.T) {
			if got, want := way(t, inFile), (answer{uint64(st.Dev), st.Ino, true}); got != want {
				t.Errorf("a file's mapping: %+v, want %+v (fstat)", got, want)
			}
			if got := way(t, uintptr(unsafe.Pointer(&anon[0]))); got.ok {
				t.Errorf("an anonymous mapping: %+v, want none", got)
			}
			if got := way(t, 4096); got.ok {
				t.Errorf("an address nothing maps: %+v, want none", got)
			}
		})
	}
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
