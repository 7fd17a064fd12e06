//go:build cgo && linux

package systest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// TestStressCounterMixed: 8 processes of mixed kinds increment one counter
// under the lock, all at once; the total is exact, and the same run without
// the lock loses increments. 2000 each in `make test`, 50000 under
// QIPC_STRESS=1.
func TestStressCounterMixed(t *testing.T) {
	n := scaled(2000, 50000)
	for _, c := range []struct {
		name  string
		typ   qipc.KeyType
		kinds []string
	}{
		{"posix", qipc.PosixRealtime, []string{"go", "go", "go", "c", "c", "c", "pyside6", "pyside6"}},
		{"sysv", qipc.SystemV, []string{"go", "go", "c", "c", "qt5", "qt5", "qt6.4", "pyside6"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var kinds []peer
			for _, k := range c.kinds {
				p := peerNamed(k)
				if why := p.posixSkip(); c.typ == qipc.PosixRealtime && why != "" {
					t.Skip(why)
				}
				kinds = append(kinds, p)
			}
			start := time.Now()
			checkExclusion(t, kinds, n, func() qipc.Key {
				k := testShmKey(t, c.typ, c.typ == qipc.SystemV)
				mustCreate(t, k, 8)
				return k
			})
			t.Logf("%s: %d processes (%s) in %v", c.name, len(kinds), strings.Join(c.kinds, ","), time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestStressGoroutines: many goroutines on one object and on objects of
// their own for the same key, mixing Lock, TryLock, gopeer.Timed LockContext and
// semaphore use; the counter is exact (run under -race).
func TestStressGoroutines(t *testing.T) {
	workers, rounds := 16, scaled(300, 20000)
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			shared := mustCreate(t, k, 8)
			sk := testSemKey(t, typ, false)
			sem, err := qipc.NewSemaphore(sk, 4, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer sem.Close()
			var wg sync.WaitGroup
			var mu sync.Mutex
			increments := 0
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m := shared
					if w%2 == 1 {
						m = qipc.NewSharedMemory(k)
						if err := m.Attach(qipc.ReadWrite); err != nil {
							t.Error(err)
							return
						}
						defer closeWithin(t, m)
					}
					mine := 0
					for r := range rounds {
						var err error
						switch r % 3 {
						case 0:
							err = m.Lock()
						case 1:
							var ok bool
							ok, err = m.TryLock()
							if err == nil && !ok {
								err = m.Lock()
							}
						default:
							ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
							err = m.LockContext(ctx)
							cancel()
							if errors.Is(err, context.DeadlineExceeded) {
								err = m.Lock()
							}
						}
						if err != nil {
							t.Error(err)
							return
						}
						d := m.Data()
						binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(d)+1)
						mine++
						if err := m.Unlock(); err != nil {
							t.Error(err)
							return
						}
						if r%10 == 0 {
							if err := sem.Acquire(); err != nil {
								t.Error(err)
								return
							}
							if err := sem.Release(1); err != nil {
								t.Error(err)
								return
							}
						}
					}
					mu.Lock()
					increments += mine
					mu.Unlock()
				}()
			}
			wg.Wait()
			if got := binary.LittleEndian.Uint64(shared.Data()); got != uint64(workers*rounds) || increments != workers*rounds {
				t.Fatalf("counter %d, increments %d, want %d", got, increments, workers*rounds)
			}
			if v, _ := sem.Value(); v != 4 {
				t.Errorf("semaphore count %d, want 4", v)
			}
			t.Logf("%s: %d goroutines × %d = %d exact", shmKind(typ), workers, rounds, workers*rounds)
		})
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// countMaps counts mappings of shared memory: /dev/shm files and SYSV
// segments.
func countMaps(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "/dev/shm/") || strings.Contains(l, "SYSV") {
			n++
		}
	}
	return n
}

// sysvLeftOf lists the System V objects keyed on the key files of k and
// of its lock, while those files exist: the objects of one test, not of
// the machine.
func sysvLeftOf(t *testing.T, k qipc.Key) []string {
	t.Helper()
	var out []string
	for _, kk := range []qipc.Key{k, k.LockKey()} {
		key, ok := harness.Ftok(kk.Native, int(kk.Type))
		if !ok || !kk.Type.IsSystemV() {
			continue
		}
		for _, table := range []string{"shm", "sem"} {
			if e, found := sysvTable(t, table)[key]; found {
				out = append(out, fmt.Sprintf("%s id %d (key %#x, %s)", table, e.id, uint32(key), kk.Native))
			}
		}
	}
	return out
}

// TestStressCycles: create/attach/detach/close cycles leave no file
// descriptor, mapping, segment, semaphore or key file behind. 2000 cycles
// per backend in `make test`, 100000 under QIPC_STRESS=1.
func TestStressCycles(t *testing.T) {
	cycles := scaled(2000, 100000)
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			k := testShmKey(t, typ, false)
			sk := testSemKey(t, typ, false)
			fd0, maps0 := countFDs(t), countMaps(t)
			// The System V objects of this test, by the ftok keys of
			// every key file it had (each cycle makes new files, so new
			// keys): counting every object on the machine would count
			// other tests' and other programs' too.
			mine := map[int32]bool{}
			note := func(path string) {
				if key, ok := harness.Ftok(path, int(typ)); ok && typ == qipc.SystemV {
					mine[key] = true
				}
			}
			start := time.Now()
			for i := range cycles {
				c := qipc.NewSharedMemory(k)
				if err := c.Create(4096, qipc.ReadWrite); err != nil {
					t.Fatalf("cycle %d: Create: %v", i, err)
				}
				note(k.Native)
				note(k.LockKey().Native)
				a := qipc.NewSharedMemory(k)
				if err := a.Attach(qipc.ReadOnly); err != nil {
					t.Fatalf("cycle %d: Attach: %v", i, err)
				}
				if err := a.Detach(); err != nil {
					t.Fatalf("cycle %d: Detach: %v", i, err)
				}
				if err := a.Close(); err != nil {
					t.Fatalf("cycle %d: Close attacher: %v", i, err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("cycle %d: Close creator: %v", i, err)
				}
				s, err := qipc.NewSemaphore(sk, 1, qipc.SemaphoreCreate)
				if err != nil {
					t.Fatalf("cycle %d: NewSemaphore: %v", i, err)
				}
				note(sk.Native)
				if err := s.Close(); err != nil {
					t.Fatalf("cycle %d: Semaphore.Close: %v", i, err)
				}
			}
			fd1, maps1 := countFDs(t), countMaps(t)
			if fd1 > fd0 || maps1 > maps0 {
				t.Errorf("after %d cycles: fds %d → %d, shared mappings %d → %d", cycles, fd0, fd1, maps0, maps1)
			}
			var left []string
			for _, table := range []string{"shm", "sem"} {
				for key := range sysvTable(t, table) {
					if mine[key] {
						left = append(left, fmt.Sprintf("%s %#x", table, uint32(key)))
					}
				}
			}
			if typ == qipc.SystemV && (len(mine) == 0 || len(left) != 0) {
				t.Errorf("after %d cycles: %d keys of this test's key files seen, System V objects of them left: %v", cycles, len(mine), left)
			}
			if left := shmEntries(t, "_"+strconv.Itoa(os.Getpid())+"_"); len(left) != 0 {
				t.Errorf("objects or key files left: %v", left)
			}
			t.Logf("%s: %d cycles in %v; fds %d → %d, shared mappings %d → %d, System V keys of its files: %d",
				shmKind(typ), cycles, time.Since(start).Round(time.Millisecond), fd0, fd1, maps0, maps1, len(mine))
		})
	}
}
