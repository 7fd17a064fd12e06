//go:build cgo && linux

package systest

import (
	"context"
	"errors"
	"fmt"
	"github.com/qipc-go/qipc"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInspectNamesLockHolder: Inspect reports the lock's count, waiters
// and probable holder (a Qt 5 holder on System V, by GETPID; a C holder
// on POSIX, the one process that maps the semaphore), and the errors of
// a Lock that gave up and of a Create that found the segment name that
// holder (issue 30, item 4).
func TestInspectNamesLockHolder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    qipc.KeyType
		legacy bool
		holder string
	}{
		{"systemv-qt5", qipc.SystemV, true, "qt5"},
		{"posix-c", qipc.PosixRealtime, false, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipWithoutBackend(t, tc.typ)
			p := peerNamed(tc.holder)
			argv := p.require(t)
			k := testShmKey(t, tc.typ, tc.legacy)
			// The segment and its lock outlive their creator, which maps
			// neither afterwards: on POSIX the holder is then the one
			// process that maps the lock.
			creator := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
			if err := creator.Create(64, qipc.ReadWrite); err != nil {
				t.Fatal(err)
			}
			if tc.typ == qipc.PosixRealtime {
				closeWithin(t, creator)
			} else {
				defer closeWithin(t, creator) // System V: the last detach would remove it
			}
			if _, ok := lockCount(t, k); !ok {
				t.Skip("this C library's sem_t cannot be read (musl): Inspect reports the count as unknown (-1)")
			}
			u, err := qipc.Inspect(k)
			if err != nil || !u.Lock.Exists || u.Lock.Count != 1 || u.Lock.Holder != 0 {
				t.Fatalf("Inspect of a free lock: %+v, %v", u.Lock, err)
			}
			holder, _ := p.startHolder(t, k)
			pid := holder.Cmd.Process.Pid
			u, err = qipc.Inspect(k)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(argv[len(argv)-1])
			if len(name) > 15 {
				name = name[:15] // the kernel's comm
			}
			if l := u.Lock; !l.Exists || l.Count != 0 || l.Holder != pid || l.HolderName != name {
				t.Fatalf("Inspect of a lock that %s (pid %d) holds: %+v", name, pid, l)
			}
			want := fmt.Sprintf("the lock is held, probably by pid %d (%s)", pid, name)

			m := qipc.NewSharedMemory(k)
			defer closeWithin(t, m)
			for _, c := range []struct {
				what string
				call func(context.Context) error
			}{
				{"Create", func(ctx context.Context) error { return m.CreateContext(ctx, 64, qipc.ReadWrite) }},
				{"Lock", m.LockContext}, // the lock bound by the Create that gave up
			} {
				what, call := c.what, c.call
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				err := call(ctx)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
					t.Errorf("a %s that gave up waiting for the lock: %v; want DeadlineExceeded naming %q", what, err, want)
				}
			}
			holder.Finish()
			if tc.typ == qipc.SystemV {
				err := m.Create(64, qipc.ReadWrite)
				if want := fmt.Sprintf("in use by 1 attached processes, creator pid %d", os.Getpid()); !errors.Is(err, qipc.ErrAlreadyExists) || !strings.Contains(err.Error(), want) {
					t.Errorf("Create of a segment in use: %v; want AlreadyExists saying %q", err, want)
				}
			}
		})
	}
}
