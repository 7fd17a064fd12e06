//go:build cgo && linux && (amd64 || arm64)

package qipc

import (
	"errors"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The POSIX fast path (posix_fast.go) against glibc's own calls in other
// processes: the wake a post owes to a process blocked in sem_wait, and
// the wake a C post owes to a Go waiter blocked in C.

func requireSemFast(t *testing.T) {
	t.Helper()
	if !semFastOK {
		t.Skip("POSIX fast path off on this system (probe failed)")
	}
	if !semFastOn() {
		t.Fatal("fast path probed OK but switched off")
	}
}

func rawSemWord(t *testing.T, s *Semaphore) *atomic.Uint64 {
	t.Helper()
	h := s.cur.Load().h
	p, ok := h.(*posixFastSem)
	if !ok {
		t.Fatalf("handle is %T, want *posixFastSem", h)
	}
	return (*atomic.Uint64)(unsafe.Pointer(p.s))
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

func TestSemFastLayout(t *testing.T) {
	requireSemFast(t)
	k := testSemKey(t, PosixRealtime, false)
	s, err := NewSemaphore(k, 3, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := rawSemWord(t, s)
	if got := w.Load(); got != 3 {
		t.Fatalf("raw word %#x after sem_open(…, 3), want 3", got)
	}
	if ok, err := s.TryAcquire(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.Release(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(2); err != nil { // n > 1: glibc's sem_post twice
		t.Fatal(err)
	}
	if v, err := s.Value(); v != 5 || err != nil || w.Load() != 5 {
		t.Fatalf("sem_getvalue %d (%v), raw %#x; want 5", v, err, w.Load())
	}
	// EOVERFLOW at SEM_VALUE_MAX comes from glibc, as without the fast path.
	k2 := testSemKey(t, PosixRealtime, false)
	full, err := NewSemaphore(k2, math.MaxInt32, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	if err := full.Release(1); !errors.Is(err, syscall.EOVERFLOW) {
		t.Fatalf("Release at SEM_VALUE_MAX: %v, want EOVERFLOW", err)
	}
	if v, _ := full.Value(); v != math.MaxInt32 {
		t.Fatalf("count %d after failed post, want %d", v, math.MaxInt32)
	}
}

// TestSemFastWakesCWaiters: C peers block in sem_wait (glibc counts them in
// the high word); Go's posts must see them and leave the post, with its
// futex wake, to glibc. Every count must arrive exactly once.
func TestSemFastWakesCWaiters(t *testing.T) {
	requireSemFast(t)
	c := peerNamed("c")
	c.require(t)
	k := testSemKey(t, PosixRealtime, false)
	s, err := NewSemaphore(k, 0, SemaphoreCreate)
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
	k := testSemKey(t, PosixRealtime, false)
	s, err := NewSemaphore(k, 0, SemaphoreCreate)
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
			k1, k2 := testSemKey(t, PosixRealtime, false), testSemKey(t, PosixRealtime, false)
			s1, err := NewSemaphore(k1, 0, SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s1.Close()
			s2, err := NewSemaphore(k2, 0, SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			role := map[bool]string{true: "b", false: "a"}[goA]
			pr := c.start(t, "pingpong", k1, k2.String(), strconv.Itoa(n), role)
			done := make(chan error, 1)
			go func() { done <- goPingPong(s1, s2, n, goA) }()
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
			for _, s := range []*Semaphore{s1, s2} {
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
	k := testSemKey(t, PosixRealtime, false)
	maps0 := countMaps(t)
	for i := range 3000 {
		s, err := NewSemaphore(k, 1, SemaphoreCreate)
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
	s, err := NewSemaphore(k, 0, SemaphoreCreate)
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
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire ended by Close: %v", err)
	}
	if maps := countMaps(t); maps != maps0 {
		t.Fatalf("after the waiter left the closed semaphore: %d shared mappings, want %d", maps, maps0)
	}
}

// TestNoSpinBehindSleepers (issue 27): a wait does not spin while another
// process or goroutine sleeps in the semaphore's queue: the next post
// wakes the sleeper, so a spin could only burn a CPU the holder needs, or
// barge ahead of the queue. Here a goroutine sleeps in Acquire (glibc's
// waiter count shows it; System V's GETNCNT); a second object's spin then
// makes no try at all, whatever its budget; once the sleeper is served,
// the spin tries again.
func TestNoSpinBehindSleepers(t *testing.T) {
	if !multiCPU || runtime.GOMAXPROCS(0) == 1 {
		t.Skip("no spinning on one CPU")
	}
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(typ.String(), func(t *testing.T) {
			if typ == PosixRealtime {
				requireSemFast(t)
			} else if skipWithoutBackend(t, SystemV); !sysvRawOn() {
				t.Skip("no raw System V calls on this platform")
			}
			k := testSemKey(t, typ, false)
			sleeper, err := NewSemaphore(k, 0, SemaphoreCreate, WithSpin(0))
			if err != nil {
				t.Fatal(err)
			}
			defer sleeper.Close()
			spinner, err := NewSemaphore(k, 0, SemaphoreOpen, WithSpin(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer spinner.Close()
			done := make(chan error, 1)
			go func() { done <- sleeper.Acquire() }()
			r := spinner.cur.Load()
			for deadline := time.Now().Add(time.Minute); !r.sleepers(); runtime.Gosched() {
				select {
				case err := <-done:
					t.Fatalf("the sleeper's Acquire returned without a count posted: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("the sleeper never showed in the queue") // a watchdog, not a timing
				}
			}
			// POSIX asks first (a look at the word costs what a try does);
			// System V makes its one uncontended try first.
			want := 0
			if typ != PosixRealtime {
				want = 1
			}
			if _, tries := spinner.spin(r); tries != want {
				t.Errorf("a wait made %d tries while another slept in the queue, want %d", tries, want)
			}
			if err := spinner.Release(1); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if _, tries := spinner.spin(r); tries <= 1 {
				t.Errorf("with no sleeper left, a wait made %d tries: it did not spin", tries)
			}
		})
	}
}
