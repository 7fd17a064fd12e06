//go:build cgo && linux && (amd64 || arm64)

package systest

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/peers/gopeer"
)

// TestSemFastWakesCWaiters: C peers block in sem_wait (glibc counts them in
// the high word); Go's posts must see them and leave the post, with its
// futex wake, to glibc. Every count must arrive exactly once.
func TestSemFastWakesCWaiters(t *testing.T) {
	requireSemFast(t)
	c := peerNamed("c")
	c.require(t)
	k := testSemKey(t, qipc.PosixRealtime, false)
	s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := rawSemWord(t, s)
	const peers, each = 3, 3000
	var procs []*proc
	for i := 0; i < peers; i++ {
		procs = append(procs, c.start(t, "sem-acquire", k, strconv.Itoa(each)))
	}
	// All of them asleep in the kernel before the first post.
	waitFor(t, "C peers blocked in sem_wait", func() bool { return w.Load()>>32 == peers })
	if got := uint32(w.Load()); got != 0 {
		t.Fatalf("count %d with waiters", got)
	}
	var sawWaiters int
	for i := 0; i < peers*each; i++ {
		if w.Load()>>32 != 0 {
			sawWaiters++
		}
		if err := s.Release(1); err != nil {
			t.Fatal(err)
		}
		if i%64 == 0 {
			time.Sleep(50 * time.Microsecond) // let them drain and block again
		}
	}
	for i, pr := range procs {
		if l := pr.Line(); l != "ok" {
			t.Fatalf("C peer %d: %s", i, l)
		}
		pr.Finish()
	}
	if v, _ := s.Value(); v != 0 || w.Load() != 0 {
		t.Fatalf("count %d, raw %#x after %d acquires of %d posts", v, w.Load(), peers*each, peers*each)
	}
	t.Logf("%d of %d Go posts found C waiters and went through sem_post", sawWaiters, peers*each)
	if sawWaiters == 0 {
		t.Fatal("no post found a waiter: the wake path was not exercised")
	}
}

// TestSemFastGoWaitersCPosts: Go goroutines block in C (sem_clockwait)
// while other goroutines take counts on the fast path; a C peer posts with
// glibc. Every count is taken exactly once and every waiter wakes.
func TestSemFastGoWaitersCPosts(t *testing.T) {
	requireSemFast(t)
	c := peerNamed("c")
	c.require(t)
	k := testSemKey(t, qipc.PosixRealtime, false)
	s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := rawSemWord(t, s)
	const blockers, total = 2, 4000
	var taken atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < blockers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for taken.Load() < total {
				ok, err := s.AcquireTimeout(200 * time.Millisecond)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					taken.Add(1)
				}
			}
		}()
	}
	// Both blocked in glibc before the C peer starts posting.
	waitFor(t, "Go waiters blocked in sem_clockwait", func() bool { return w.Load()>>32 >= blockers })
	wg.Add(1)
	go func() { // a fast-path taker racing the blocked ones
		defer wg.Done()
		for taken.Load() < total {
			if ok, err := s.TryAcquire(); err != nil {
				t.Error(err)
				return
			} else if ok {
				taken.Add(1)
			}
		}
	}()
	for left := total; left > 0; {
		n := min(left, 7)
		if l := c.run(t, "sem-release", k, strconv.Itoa(n)); l != "ok" {
			t.Fatalf("C sem-release: %s", l)
		}
		left -= n
	}
	wg.Wait()
	if got := taken.Load(); got != total {
		t.Fatalf("took %d counts, C posted %d", got, total)
	}
	if v, _ := s.Value(); v != 0 || w.Load() != 0 {
		t.Fatalf("count %d, raw %#x at the end", v, w.Load())
	}
}

// TestSemFastPingPongC hands two semaphores back and forth between Go
// (fast path) and the C peer (glibc) many times, each side often blocked
// when the other posts.
func TestSemFastPingPongC(t *testing.T) {
	requireSemFast(t)
	c := peerNamed("c")
	c.require(t)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for _, goA := range []bool{true, false} {
		t.Run(map[bool]string{true: "go-a", false: "c-a"}[goA], func(t *testing.T) {
			k1, k2 := testSemKey(t, qipc.PosixRealtime, false), testSemKey(t, qipc.PosixRealtime, false)
			s1, err := qipc.NewSemaphore(k1, 0, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s1.Close()
			s2, err := qipc.NewSemaphore(k2, 0, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			role := map[bool]string{true: "b", false: "a"}[goA]
			pr := c.start(t, "pingpong", k1, k2.String(), strconv.Itoa(n), role)
			done := make(chan error, 1)
			go func() { done <- gopeer.GoPingPong(s1, s2, n, goA) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("ping-pong stuck: a wake was lost")
			}
			if l := pr.Line(); l == "" || l[:2] != "ok" {
				t.Fatalf("C peer: %s", l)
			}
			pr.Finish()
			for _, s := range []*qipc.Semaphore{s1, s2} {
				if v, _ := s.Value(); v != 0 {
					t.Fatalf("count %d left", v)
				}
			}
		})
	}
}

// TestSemCloseUnmapsAtOnce: Close itself unmaps a semaphore's sem_t when
// no call uses it, and the last call to leave does when one does: no
// mapping waits for the garbage collector.
func TestSemCloseUnmapsAtOnce(t *testing.T) {
	requireSemFast(t)
	k := testSemKey(t, qipc.PosixRealtime, false)
	maps0 := countMaps(t)
	for i := range 3000 {
		s, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreCreate)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		if i%500 == 0 {
			if maps := countMaps(t); maps != maps0 {
				t.Fatalf("after close %d: %d shared mappings, want %d", i, maps, maps0)
			}
		}
	}
	s, err := qipc.NewSemaphore(k, 0, qipc.SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	w := rawSemWord(t, s)
	done := make(chan error, 1)
	go func() { done <- s.Acquire() }()
	waitFor(t, "the Acquire to block in glibc", func() bool { return w.Load()>>32 >= 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, qipc.ErrClosed) {
		t.Fatalf("Acquire ended by Close: %v", err)
	}
	if maps := countMaps(t); maps != maps0 {
		t.Fatalf("after the waiter left the closed semaphore: %d shared mappings, want %d", maps, maps0)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// rawSemWord is the sem_t word of s, read from its file.
func rawSemWord(t *testing.T, s *qipc.Semaphore) semWord {
	t.Helper()
	return semWord{t, glibcsem.SemFile(s.Key().Native)}
}

// semWord reads a POSIX semaphore's glibc sem_t word (count and
// sleepers) from its file, as another process sees it; a word it cannot
// read fails the test (and reads as 0).
type semWord struct {
	t    testing.TB
	path string
}

func (w semWord) Load() uint64 {
	b, err := os.ReadFile(w.path)
	if err != nil || len(b) < 8 {
		w.t.Errorf("sem_t word of %s: %v (%d bytes)", w.path, err, len(b))
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func requireSemFast(t *testing.T) {
	t.Helper()
	if !glibcsem.OK {
		t.Skip("POSIX fast path off on this system (probe failed)")
	}
}
