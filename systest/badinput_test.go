//go:build cgo && linux

package systest

import (
	"errors"
	"fmt"
	"github.com/qipc-go/qipc"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input: every kind gets a clear error and leaves nothing behind.

// ---- bad input ----

// shmEntries lists /dev/shm entries and qipct key files in /tmp that
// contain sub, to prove a failed call made nothing.
func shmEntries(t *testing.T, sub string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), sub) {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// TestBadInputTable: every bad input is a clear error of the right kind
// and leaves nothing behind.
func TestBadInputTable(t *testing.T) {
	tag := fmt.Sprintf("qipct_bad_%d_", os.Getpid())
	long := strings.Repeat("x", 300)
	cases := []struct {
		name string
		k    qipc.Key
		size int64
		want error // sentinel errors.Is must match
	}{
		{"posix-empty-key", qipc.Key{Type: qipc.PosixRealtime}, 64, qipc.ErrKey},
		{"sysv-empty-key", qipc.Key{Type: qipc.SystemV}, 64, qipc.ErrKey},
		{"invalid-type", qipc.Key{Type: 0x4242, Native: "/" + tag + "t"}, 64, qipc.ErrKey},
		{"posix-slash-inside", qipc.NewKey("/"+tag+"a/b", qipc.PosixRealtime), 64, qipc.ErrKey},
		{"posix-over-NAME_MAX", qipc.NewKey("/"+tag+long, qipc.PosixRealtime), 64, qipc.ErrKey},
		{"sysv-over-NAME_MAX", qipc.NewKey(os.TempDir()+"/"+tag+long, qipc.SystemV), 64, qipc.ErrKey},
		{"posix-NUL", qipc.NewKey("/"+tag+"nul\x00x", qipc.PosixRealtime), 64, qipc.ErrKey},
		{"sysv-NUL", qipc.NewKey(os.TempDir()+"/"+tag+"nul\x00x", qipc.SystemV), 64, qipc.ErrKey},
		{"posix-invalid-UTF-8", qipc.NewKey("/"+tag+"\xff\xfe", qipc.PosixRealtime), 64, qipc.ErrKey},
		{"posix-size-0", qipc.NewKey("/"+tag+"s0", qipc.PosixRealtime), 0, qipc.ErrInvalidSize},
		{"posix-size--1", qipc.NewKey("/"+tag+"s1", qipc.PosixRealtime), -1, qipc.ErrInvalidSize},
		{"sysv-size-0", qipc.NewKey(os.TempDir()+"/"+tag+"s0", qipc.SystemV), 0, qipc.ErrInvalidSize},
		{"sysv-size--1", qipc.NewKey(os.TempDir()+"/"+tag+"s1", qipc.SystemV), -1, qipc.ErrInvalidSize},
		{"posix-size-2^62", qipc.NewKey("/"+tag+"huge", qipc.PosixRealtime), 1 << 62, qipc.ErrOutOfResources},
		{"sysv-size-2^62", qipc.NewKey(os.TempDir()+"/"+tag+"huge", qipc.SystemV), 1 << 62, qipc.ErrOutOfResources},
		{"sysv-above-RAM-64GiB", qipc.NewKey(os.TempDir()+"/"+tag+"ram", qipc.SystemV), 64 << 30, qipc.ErrOutOfResources},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				for _, p := range shmEntries(t, tag) {
					os.Remove(p)
				}
			}()
			m := qipc.NewSharedMemory(c.k)
			err := m.Create(intOrSkip(t, c.size), qipc.ReadWrite)
			m.Close()
			var serr error
			if c.size == 64 { // key cases: the semaphore API too
				var s *qipc.Semaphore
				s, serr = qipc.NewSemaphore(c.k, 1, qipc.SemaphoreOpen)
				if serr == nil {
					s.Close() // owner: removes what it made
				}
			}
			left := shmEntries(t, tag)
			// Keys from NewKey have no lock, so musl, which refuses a Qt
			// 6.6+ POSIX segment's lock, takes them too.
			if !errors.Is(err, c.want) {
				t.Errorf("Create(%d): %v, want %v", c.size, err, c.want)
			}
			if c.size == 64 && !errors.Is(serr, c.want) {
				t.Errorf("NewSemaphore: %v, want %v", serr, c.want)
			}
			if len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	// Above RAM on POSIX: ftruncate makes a sparse file and the mapping is
	// lazy, so Linux grants it; it must cost nothing and go away cleanly.
	t.Run("posix-above-RAM-64GiB", func(t *testing.T) {
		k := testShmKey(t, qipc.PosixRealtime, false)
		m := qipc.NewSharedMemory(k)
		err := m.Create(intOrSkip(t, 64<<30), qipc.ReadWrite)
		if err != nil && !errors.Is(err, qipc.ErrOutOfResources) {
			t.Fatalf("Create(64 GiB): %v", err)
		}
		if err == nil {
			m.Data()[0] = 1 // touches one page only
		}
		m.Close()
		if left := shmEntries(t, filepath.Base(k.Native)); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("semaphore-counts", func(t *testing.T) {
		for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
			s, err := qipc.NewSemaphore(testSemKey(t, typ, false), 1, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Release(0); err != nil {
				t.Errorf("%v Release(0): %v (Qt: no-op)", typ, err)
			}
			if err := s.Release(-1); !errors.Is(err, qipc.ErrInvalidCount) {
				t.Errorf("%v Release(-1): %v", typ, err)
			}
			if _, err := qipc.NewSemaphore(testSemKey(t, typ, false), -1, qipc.SemaphoreCreate); !errors.Is(err, qipc.ErrInvalidCount) {
				t.Errorf("%v initial -1: %v", typ, err)
			}
			// Past SEMVMX (System V 32767, POSIX SEM_VALUE_MAX 2^31-1).
			past := 32767
			if typ == qipc.PosixRealtime {
				past = 1<<31 - 1 // refused before any post: count + n > SEM_VALUE_MAX

			}
			if err := s.Release(past); !errors.Is(err, qipc.ErrOutOfResources) {
				t.Errorf("%v Release(%d) past the maximum: %v, want ErrOutOfResources", typ, past, err)
			}
			if typ == qipc.PosixRealtime {
				if n, ok := asInt(1 << 31); ok {
					if err := s.Release(n); !errors.Is(err, qipc.ErrOutOfResources) {
						t.Errorf("POSIX Release(1<<31): %v, want ErrOutOfResources", err)
					}
				}
			}
			if v, _ := s.Value(); v != 1 {
				t.Errorf("%v count after failed releases: %d, want 1 (no partial post)", typ, v)
			}
			s.Close()
			if err := s.Release(1); !errors.Is(err, qipc.ErrClosed) {
				t.Errorf("%v Release after Close: %v", typ, err)
			}
			if err := s.Acquire(); !errors.Is(err, qipc.ErrClosed) {
				t.Errorf("%v Acquire after Close: %v", typ, err)
			}
			if _, err := s.Value(); !errors.Is(err, qipc.ErrClosed) {
				t.Errorf("%v Value after Close: %v", typ, err)
			}
		}
	})
	t.Run("state-errors", func(t *testing.T) {
		for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
			k := testShmKey(t, typ, false)
			m := qipc.NewSharedMemory(k)
			if err := m.Lock(); !errors.Is(err, qipc.ErrLock) || !errors.Is(err, qipc.ErrNotAttached) {
				t.Errorf("%v Lock before Attach: %v", typ, err)
			}
			if err := m.Detach(); !errors.Is(err, qipc.ErrNotAttached) {
				t.Errorf("%v Detach before Attach: %v", typ, err)
			}
			if err := m.Create(64, qipc.ReadWrite); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); err != nil {
				t.Fatal(err)
			}
			if err := m.Detach(); !errors.Is(err, qipc.ErrNotAttached) {
				t.Errorf("%v double Detach: %v", typ, err)
			}
			m.Close()
			for name, err := range map[string]error{
				"Create": m.Create(64, qipc.ReadWrite), "Attach": m.Attach(qipc.ReadOnly), "Lock": m.Lock(), "Close": m.Close(),
			} {
				if !errors.Is(err, qipc.ErrClosed) {
					t.Errorf("%v %s after Close: %v", typ, name, err)
				}
			}
			if m.Data() != nil {
				t.Errorf("%v Data after Close is not nil", typ)
			}
		}
	})
}
