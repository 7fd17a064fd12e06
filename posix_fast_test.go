//go:build cgo && linux && (amd64 || arm64)

package qipc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/spin"
)

// The POSIX fast path (posix_fast.go) against glibc's own calls in other
// processes: the wake a post owes to a process blocked in sem_wait, and
// the wake a C post owes to a Go waiter blocked in C.

func TestSemFastLayout(t *testing.T) {
	requireSemFast(t)
	// Every count takes the fast path (rawSemWord fails on the C handle):
	// systest's tests against C waiters and posters read the word from
	// the file and cannot tell.
	for _, count := range []int{0, 1} {
		s, err := NewSemaphore(testSemKey(t, PosixRealtime, false), count, SemaphoreCreate)
		if err != nil {
			t.Fatal(err)
		}
		rawSemWord(t, s)
		s.Close()
	}
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

// TestNoSpinBehindSleepers (issue 27): a wait does not spin while another
// process or goroutine sleeps in the semaphore's queue: the next post
// wakes the sleeper, so a spin could only burn a CPU the holder needs, or
// barge ahead of the queue. Here a goroutine sleeps in Acquire (glibc's
// waiter count shows it; System V's GETNCNT); a second object's spin then
// makes no try at all, whatever its budget; once the sleeper is served,
// the spin tries again.
func TestNoSpinBehindSleepers(t *testing.T) {
	requireSpin(t)
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(typ.String(), func(t *testing.T) {
			requireCheapTries(t, typ)
			spinner, done := queuedSleeper(t, typ)
			r := spinner.cur.Load()
			// POSIX asks first (a look at the word costs what a try does);
			// System V makes its one uncontended try first.
			want := 0
			if typ != PosixRealtime {
				want = 1
			}
			if _, tries := spinner.spin(context.Background(), r); tries != want {
				t.Errorf("a wait made %d tries while another slept in the queue, want %d", tries, want)
			}
			if err := spinner.Release(1); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if _, tries := spinner.spin(context.Background(), r); tries <= 1 {
				t.Errorf("with no sleeper left, a wait made %d tries: it did not spin", tries)
			}
		})
	}
}

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

// TestNoSpinWhenCrowded: once spins on a semaphore keep failing and the
// machine has more runnable threads than CPUs, a wait sleeps at once,
// except one in crowdedProbe; a quiet machine, or a spin that takes the
// count, brings the spin back.
func TestNoSpinWhenCrowded(t *testing.T) {
	requireSpin(t)
	var busy bool
	crowded = func() bool { return busy }
	defer func() { crowded = spin.Crowded }()
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(typ.String(), func(t *testing.T) {
			requireCheapTries(t, typ)
			k := testSemKey(t, typ, false)
			s, err := NewSemaphore(k, 0, SemaphoreCreate, WithSpin(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := s.cur.Load()
			busy = true
			for i := range crowdedMisses {
				if _, tries := s.spin(context.Background(), r); tries <= 1 {
					t.Fatalf("wait %d after a take: %d tries, want a spin until %d have failed", i, tries, crowdedMisses)
				}
			}
			if spun := triedOf(s, r, crowdedProbe); spun != 1 {
				t.Errorf("on a crowded machine after %d failed spins, %d of %d waits spun, want 1 (the probe)", crowdedMisses, spun, crowdedProbe)
			}
			busy = false
			if _, tries := s.spin(context.Background(), r); tries <= 1 {
				t.Errorf("on a quiet machine a wait made %d tries: it did not spin", tries)
			}
			busy = true
			if err := s.Release(1); err != nil {
				t.Fatal(err)
			}
			taken := false
			for i := 0; i < crowdedProbe && !taken; i++ {
				taken, _ = s.spin(context.Background(), r) // the probe takes it
			}
			if !taken {
				t.Fatalf("no wait in %d spun and took the count posted", crowdedProbe)
			}
			if _, tries := s.spin(context.Background(), r); tries <= 1 {
				t.Errorf("after a spin took the count, a wait on a crowded machine made %d tries: it did not spin", tries)
			}
		})
	}
}

// triedOf is how many of n spins of s on r made a try at all.
func triedOf(s *Semaphore, r *semRef, n int) int {
	tried := 0
	for range n {
		if _, tries := s.spin(context.Background(), r); tries > 0 {
			tried++
		}
	}
	return tried
}

// requireCheapTries skips where a wait on a typ semaphore cannot try
// without a cgo call (the lock-free sem_t, the raw semop), which the
// spin's rules are about.
func requireCheapTries(t *testing.T, typ KeyType) {
	t.Helper()
	if typ == PosixRealtime {
		requireSemFast(t)
	} else if skipWithoutBackend(t, SystemV); !sysvRawOn() {
		t.Skip("no raw System V calls on this platform")
	}
}

// TestNoSleepersQuestionBehindFullQueue: where asking whether others sleep
// in the queue costs a system call (System V's GETNCNT), waits that keep
// finding sleepers skip the question, and the spin, except one in
// crowdedProbe, on a crowded machine and a quiet one alike: the kernel
// hands a post to the first sleeper in the queue, so no spin can win while
// it stays full (a 4-process System V counter paid one semctl per
// contended wait for nothing, 0.91 of its increments with spinning off).
// Once the probe finds the queue empty, waits spin again.
func TestNoSleepersQuestionBehindFullQueue(t *testing.T) {
	requireSpin(t)
	requireCheapTries(t, SystemV)
	for _, busy := range []bool{false, true} {
		t.Run(fmt.Sprintf("crowded=%v", busy), func(t *testing.T) {
			crowded = func() bool { return busy }
			defer func() { crowded = spin.Crowded }()
			spinner, done := queuedSleeper(t, SystemV)
			r := spinner.cur.Load()
			for i := range crowdedMisses {
				if _, tries := spinner.spin(context.Background(), r); tries != 1 {
					t.Fatalf("wait %d: %d tries, want the one try before the question", i, tries)
				}
			}
			if asked := triedOf(spinner, r, crowdedProbe); asked != 1 {
				t.Errorf("after %d waits that found sleepers, %d of %d waits tried and asked, want 1 (the probe)", crowdedMisses, asked, crowdedProbe)
			}
			if err := spinner.Release(1); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if busy {
				return // failed spins keep it from spinning there (TestNoSpinWhenCrowded)
			}
			probed := false
			for i := 0; i < crowdedProbe && !probed; i++ {
				_, tries := spinner.spin(context.Background(), r)
				probed = tries > 1
			}
			if !probed {
				t.Fatalf("with the queue empty, no wait in %d spun", crowdedProbe)
			}
			if _, tries := spinner.spin(context.Background(), r); tries <= 1 {
				t.Errorf("after a probe found the queue empty, a wait made %d tries: it did not spin", tries)
			}
		})
	}
}

// queuedSleeper makes a new typ semaphore with a count of 0 and two objects
// for it: a sleeper, whose Acquire it starts and waits for the kernel to
// show in the semaphore's queue (done gets its result), and the spinner,
// whose spins the test looks at. Both close at the end of the test.
func queuedSleeper(t *testing.T, typ KeyType) (spinner *Semaphore, done <-chan error) {
	t.Helper()
	k := testSemKey(t, typ, false)
	sleeper, err := NewSemaphore(k, 0, SemaphoreCreate, WithSpin(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Close() })
	if spinner, err = NewSemaphore(k, 0, SemaphoreOpen, WithSpin(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = spinner.Close() })
	acquired := make(chan error, 1)
	go func() { acquired <- sleeper.Acquire() }()
	r := spinner.cur.Load()
	for deadline := time.Now().Add(time.Minute); !r.sleepers(); runtime.Gosched() {
		select {
		case err := <-acquired:
			t.Fatalf("the sleeper's Acquire returned without a count posted: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the sleeper never showed in the queue") // a watchdog, not a timing
		}
	}
	return spinner, acquired
}

// TestOpenWaitsOutSecondName: sem_open's creator gives its new file the
// name by a link and then unlinks its temporary name; one preempted in
// between shows two names for a time slice or more. Open mode looks
// again, waiting longer each time, for about 115 ms in all before it calls
// a second name someone else's link: 64 looks at once (a few µs each)
// fell into that window on a loaded machine (TestInterleavings under
// musl). A second name that goes while it waits is no error.
func TestOpenWaitsOutSecondName(t *testing.T) {
	k := testSemKey(t, PosixRealtime, false)
	s, err := NewSemaphore(k, 0, SemaphoreCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	second := glibcsem.SemFile(k.Native) + ".second"
	link := func() {
		t.Helper()
		if err := os.Link(glibcsem.SemFile(k.Native), second); err != nil {
			t.Fatal(err)
		}
	}
	defer os.Remove(second)
	var waited time.Duration
	looks := 0
	raceSleep = func(d time.Duration) {
		waited += d
		if looks++; looks == 10 {
			_ = os.Remove(second)
		}
	}
	defer func() { raceSleep = time.Sleep }()

	link()
	o, err := NewSemaphore(k, 0, SemaphoreOpen)
	if err != nil {
		t.Fatalf("a second name gone after 10 looks: %v", err)
	}
	o.Close()

	link()
	looks, waited = -1<<30, 0 // the second name stays
	if _, err := NewSemaphore(k, 0, SemaphoreOpen); !errors.Is(err, ErrKeyFileNotRegular) {
		t.Fatalf("a second name that stays: %v, want ErrKeyFileNotRegular", err)
	}
	if waited < 100*time.Millisecond {
		t.Errorf("Open mode waited %v in all for a second name to go, want at least 100 ms (a preempted creator's time slice)", waited)
	}
}
