//go:build cgo && linux

package systest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
	"github.com/qipc-go/qipc/peers/gopeer"
)

// TestInterleavings explores, not replays: several goroutines in each of
// three Go processes, and a C peer, run random sequences of Create,
// Attach, Detach, Close, Lock, TryLock, Locked, ReadAt and WriteAt on two
// keys, with contexts cancelled at random moments. It checks, throughout
// and at the end:
//
//   - never two holders of a segment's lock: a holder word written and
//     checked under the lock, and an exact sum of the increments made
//     under it by every process, the C peer's included, against the
//     kernel's count of the lock when all is done (free: 1);
//   - no memory fault (no peer truncates here);
//   - no byte written through a mapping after its Detach or Close
//     returned: every process maps canary segments of its own, which must
//     stay zero;
//   - no call hangs: each explorer's watchdog ends it, with every stack,
//     when one call takes longer than a minute;
//   - after every object is closed, nothing is left.
//
// Each goroutine's sequence comes from the seed (logged; set it with
// QIPC_EXPLORE_SEED), so a failing run's sequences can be run again; the
// interleaving is the scheduler's. `make test` runs a fixed budget of
// operations, `make stress` a long one.
func TestInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("QIPC_EXPLORE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("QIPC_EXPLORE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (QIPC_EXPLORE_SEED=%d repeats the sequences)", seed, seed)
	const explorers, goroutines = 3, 4
	ops := scaled(1500, 50000)
	cIncrements := scaled(2000, 100000)
	for _, typ := range []qipc.KeyType{qipc.PosixRealtime, qipc.SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			anchor := testShmKey(t, typ, false)
			churn := testShmKey(t, typ, false)
			canaries := harness.Name(t) + "_canary"
			// The anchor keeps the counted segment, and so its lock,
			// alive from start to end.
			a := qipc.NewSharedMemory(anchor)
			if err := a.Create(4096, qipc.ReadWrite); err != nil {
				t.Fatal(err)
			}
			var ps []*proc
			for i := range explorers {
				ps = append(ps, spawn(t, fmt.Sprintf("explorer%d", i), append(goPeerArgv(t), "explore", anchor.String(),
					churn.String(), strconv.FormatUint(seed+uint64(i)*1000, 10), strconv.Itoa(goroutines),
					strconv.Itoa(ops), canaries), nil, nil))
			}
			c := peerNamed("c")
			c.require(t)
			cp := c.start(t, "counter", anchor, strconv.Itoa(cIncrements), "--barrier")
			for _, p := range append(ps, cp) {
				expectLine(t, p.Name, p.Line(), "ready")
			}
			for _, p := range append(ps, cp) {
				p.Send("go")
			}
			var incr uint64
			for _, p := range ps {
				line := p.Line()
				for strings.HasPrefix(line, "progress ") {
					line = p.Line() // a long run says it is alive
				}
				var r gopeer.ExploreResult
				if _, err := fmt.Sscanf(line, "ok incr=%d ops=%d locked=%d violations=%d faults=%d canary=%d errors=%d",
					&r.Incr, &r.Ops, &r.Locked, &r.Violations, &r.Faults, &r.Canary, &r.Errors); err != nil {
					t.Fatalf("%s: %q", p.Name, line)
				}
				t.Logf("%s: %s", p.Name, line)
				if r.Violations != 0 || r.Faults != 0 || r.Canary != 0 || r.Errors != 0 {
					t.Errorf("%s: %d holder violations, %d faults, %d canary bytes written, %d unexpected errors", p.Name, r.Violations, r.Faults, r.Canary, r.Errors)
				}
				incr += r.Incr
				p.Finish()
			}
			_ = cp.Value("ok last=")
			cp.Finish()
			got := gopeer.AtomicWord(a.Data(), 0).Load()
			if want := incr + uint64(cIncrements); got != want {
				t.Errorf("counter %d, want %d (the explorers' %d and the C peer's %d): increments were lost, so two processes held the lock at once", got, want, incr, cIncrements)
			}
			if n, ok := lockCount(t, anchor); ok && n != 1 {
				t.Errorf("the anchor's lock at the end has count %d; want a free lock (1)", n)
			} else if !ok { // a C library whose sem_t this test cannot read (musl)
				if free, err := a.TryLock(); !free || err != nil {
					t.Errorf("the anchor's lock at the end is not free (%v)", err)
				} else {
					_ = a.Unlock()
				}
			}
			closeWithin(t, a)
			for _, k := range []qipc.Key{anchor, churn} {
				if left := objectsNamed(t, k); len(left) > 0 {
					t.Errorf("left behind for %v: %v", k, left)
				}
			}
			for _, dir := range []string{"/dev/shm", filepath.Dir(churn.Native)} {
				if left, _ := filepath.Glob(filepath.Join(dir, "*"+canaries+"*")); len(left) > 0 {
					t.Errorf("canaries left behind: %v", left)
				}
			}
		})
	}
}
