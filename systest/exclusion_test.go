package systest

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// Mutual exclusion between processes, shown so that its absence would be
// seen: the counter runs every process at once (a barrier) with a yield
// inside the critical section, and the same run without the lock must lose
// increments; lock contention checks that the waiter was blocked in the
// kernel and got the lock only after the holder's unlock. Used by the
// interop matrices (Linux and Wine) and the stress test.

// counterRun starts one counter process per peer on segment k, lets them
// all go at once, and returns the count they reached.
func counterRun(t testing.TB, kinds []peer, k qipc.Key, n int, nolock bool) uint64 {
	t.Helper()
	args := []string{strconv.Itoa(n), "--barrier"}
	if nolock {
		args = append(args, "--nolock")
	}
	var procs []*proc
	for _, p := range kinds {
		procs = append(procs, p.start(t, "counter", k, args...))
	}
	for _, pr := range procs {
		expectLine(t, pr.Name+" counter", pr.Line(), "ready")
	}
	for _, pr := range procs {
		pr.Send("go")
	}
	for _, pr := range procs {
		pr.Value("ok last=")
		pr.Finish()
	}
	// Read without the lock: every counter has exited, and the lock is
	// what this is testing.
	m := qipc.NewSharedMemory(k)
	defer closeWithin(t, m)
	if err := m.Attach(qipc.ReadOnly); err != nil {
		t.Fatalf("attach to read the counter: %v", err)
	}
	return binary.LittleEndian.Uint64(m.Data())
}

// checkExclusion runs the counter with the lock, which must reach exactly
// len(kinds)*n, and then the same configuration without the lock, which
// must not: otherwise the exact sum proves nothing and the cell fails as
// inconclusive. create makes a fresh 8-byte segment for each run. A control
// that happened to lose nothing is tried again with more increments.
func checkExclusion(t testing.TB, kinds []peer, n int, create func() qipc.Key) {
	t.Helper()
	var names []string
	for _, p := range kinds {
		names = append(names, p.name)
	}
	who := strings.Join(names, "+")
	for attempt := 1; attempt <= 3; attempt, n = attempt+1, n*4 {
		want := uint64(len(kinds) * n)
		if got := counterRun(t, kinds, create(), n, false); got != want {
			t.Fatalf("%s with the lock: counter %d, want %d: increments were lost", who, got, want)
		}
		got := counterRun(t, kinds, create(), n, true)
		if got < want {
			t.Logf("%s: %d×%d increments exact with the lock; without it %d (%d lost)", who, len(kinds), n, got, want-got)
			return
		}
		t.Logf("%s: without the lock no increment of %d was lost (attempt %d)", who, want, attempt)
	}
	t.Fatalf("%s: inconclusive: the counter without the lock never lost an increment, so the exact sum with it proves no exclusion", who)
}

// checkContention has holder take the lock of segment k and waiter ask for
// it; the waiter must block (in the kernel's count of waiters where the OS
// has one) and report the lock only after the holder's unlock. The waiter
// attaches first, since attaching takes the lock too.
func checkContention(t testing.TB, holder, waiter peer, k qipc.Key) {
	t.Helper()
	w := waiter.start(t, "hold-lock", k, "--barrier")
	expectLine(t, waiter.name+" hold-lock", w.Line(), "ok attached")
	h, _ := holder.startHolder(t, k)
	w.Send("lock")
	waitForWaiter(t, k, w.Name, w.Lines)
	h.Release()
	released := stamp(h, "ok unlocked at=")
	acquired := stamp(w, "ok locked at=")
	if acquired <= released {
		t.Fatalf("%s reported the lock at %d, not after %s's unlock at %d: it did not wait", waiter.name, acquired, holder.name, released)
	}
	// The holder's detach takes the lock again: let the waiter go first.
	w.Release()
	stamp(w, "ok unlocked at=")
	w.Finish()
	h.Finish()
}

// waiterGrace is how long a waiter gets to block where its blocking cannot
// be seen; a waiter that does not wait reports the lock within it.
const waiterGrace = 500 * time.Millisecond

// waitForWaiter returns once the waiter w is blocked on the lock of k. A
// waiter that reports the lock meanwhile, while the holder still has it,
// fails the test.
func waitForWaiter(t testing.TB, k qipc.Key, who string, lines <-chan string) {
	t.Helper()
	fail := func(line string) {
		t.Fatalf("%s printed %q while the lock was held by another process", who, line)
	}
	if _, ok := lockWaiters(t, k); !ok {
		select {
		case line := <-lines:
			fail(line)
		case <-time.After(waiterGrace):
		}
		return
	}
	deadline := time.Now().Add(harness.Timeout())
	for {
		if n, _ := lockWaiters(t, k); n >= 1 {
			return
		}
		select {
		case line := <-lines:
			fail(line)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never blocked on the lock within %v", who, harness.Timeout())
		}
	}
}

// startCreator runs create with --hold on peer p and checks its size line.
func startCreator(t testing.TB, p peer, k qipc.Key, size int, rest ...string) *proc {
	t.Helper()
	pr := p.start(t, "create", k, append([]string{strconv.Itoa(size), "--hold"}, rest...)...)
	if got := pr.Value("ok size="); got < uint64(size) {
		t.Fatalf("%s create: size %d, want at least %d", p.name, got, size)
	}
	return pr
}

// counterCreate returns the create function checkExclusion needs: a fresh
// key from newKey with a segment that peer p creates and holds.
func counterCreate(t testing.TB, p peer, newKey func() qipc.Key) func() qipc.Key {
	return func() qipc.Key {
		k := newKey()
		startCreator(t, p, k, 8)
		return k
	}
}
