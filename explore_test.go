//go:build cgo && linux

package qipc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
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
	for _, typ := range []KeyType{PosixRealtime, SystemV} {
		t.Run(shmKind(typ), func(t *testing.T) {
			anchor := testShmKey(t, typ, false)
			churn := testShmKey(t, typ, false)
			canaries := testName(t) + "_canary"
			// The anchor keeps the counted segment, and so its lock,
			// alive from start to end.
			a := NewSharedMemory(anchor)
			if err := a.Create(4096, ReadWrite); err != nil {
				t.Fatal(err)
			}
			var ps []*proc
			for i := range explorers {
				ps = append(ps, spawn(t, fmt.Sprintf("explorer%d", i), append(selfArgv(), "explore", anchor.String(),
					churn.String(), strconv.FormatUint(seed+uint64(i)*1000, 10), strconv.Itoa(goroutines),
					strconv.Itoa(ops), canaries), []string{"QIPC_RELPEER=1"}, nil))
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
				var r exploreResult
				if _, err := fmt.Sscanf(line, "ok incr=%d ops=%d locked=%d violations=%d faults=%d canary=%d errors=%d",
					&r.incr, &r.ops, &r.locked, &r.violations, &r.faults, &r.canary, &r.errors); err != nil {
					t.Fatalf("%s: %q", p.Name, line)
				}
				t.Logf("%s: %s", p.Name, line)
				if r.violations != 0 || r.faults != 0 || r.canary != 0 || r.errors != 0 {
					t.Errorf("%s: %d holder violations, %d faults, %d canary bytes written, %d unexpected errors", p.Name, r.violations, r.faults, r.canary, r.errors)
				}
				incr += r.incr
				p.Finish()
			}
			_ = cp.Value("ok last=")
			cp.Finish()
			got := atomicWord(a.Data(), 0).Load()
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
			for _, k := range []Key{anchor, churn} {
				if left := objectsNamed(t, k); len(left) > 1 {
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

type exploreResult struct {
	incr, ops, locked, violations, faults, canary, errors uint64
}

// atomicWord is the 8 bytes at off of a mapping, for accesses that the
// race detector must not mistake for races: the lock orders them, but
// through system calls it cannot see.
func atomicWord(data []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&data[off]))
}

// explorer is one process of TestInterleavings (relpeer "explore").
type explorer struct {
	keys     [2]Key // anchor (counted), churn
	canaries string
	objs     [2][2]struct {
		mu sync.Mutex
		m  *SharedMemory
	}
	res   exploreResult
	seq   atomic.Int64
	since []atomic.Int64 // per goroutine: when its current call began (ns), 0 between calls
	what  []atomic.Value // per goroutine: that call
	out   sync.Mutex     // orders the watchdog's lines and the result
	ended bool           // the result is out: the watchdog prints no more
}

func exploreMain(args []string) int {
	if len(args) != 6 {
		fmt.Println("err usage: explore ANCHOR CHURN SEED GOROUTINES OPS CANARIES")
		return 2
	}
	var e explorer
	for i := range 2 {
		k, err := ParseKey(args[i])
		if err != nil {
			return peerFail(os.Stdout, err)
		}
		e.keys[i] = k
	}
	seed, _ := strconv.ParseUint(args[2], 10, 64)
	goroutines, _ := strconv.Atoi(args[3])
	ops, _ := strconv.Atoi(args[4])
	e.canaries = args[5]
	for i := range e.objs {
		for j := range e.objs[i] {
			e.objs[i][j].m = NewSharedMemory(e.keys[i])
		}
	}
	e.since = make([]atomic.Int64, goroutines)
	e.what = make([]atomic.Value, goroutines)
	fmt.Println("ready")
	waitLine(os.Stdin)
	go e.watchdog()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(g)))
			for range ops {
				e.step(g, r)
			}
		}()
	}
	wg.Wait()
	e.out.Lock() // the watchdog says nothing after this
	defer e.out.Unlock()
	e.ended = true
	for i := range e.objs {
		for j := range e.objs[i] {
			if err := e.objs[i][j].m.Close(); err != nil && !errors.Is(err, ErrClosed) {
				e.unexpected("final Close", err)
			}
		}
	}
	r := &e.res
	fmt.Printf("ok incr=%d ops=%d locked=%d violations=%d faults=%d canary=%d errors=%d\n",
		atomic.LoadUint64(&r.incr), atomic.LoadUint64(&r.ops), atomic.LoadUint64(&r.locked), atomic.LoadUint64(&r.violations),
		atomic.LoadUint64(&r.faults), atomic.LoadUint64(&r.canary), atomic.LoadUint64(&r.errors))
	return 0
}

// watchdog ends the process, with every goroutine's stack, when one call
// has run for a minute: a hang must fail the test, and say where. Every 10
// seconds it says that the run goes on, for the parent's timeout.
func (e *explorer) watchdog() {
	for tick := 1; ; tick++ {
		time.Sleep(time.Second)
		if tick%10 == 0 {
			e.out.Lock()
			if !e.ended {
				fmt.Printf("progress %d ops\n", atomic.LoadUint64(&e.res.ops))
			}
			e.out.Unlock()
		}
		for g := range e.since {
			if s := e.since[g].Load(); s != 0 && time.Since(time.Unix(0, s)) > time.Minute {
				buf := make([]byte, 1<<20)
				fmt.Fprintf(os.Stderr, "explorer: goroutine %d hangs in %v\n%s", g, e.what[g].Load(), buf[:runtime.Stack(buf, true)])
				fmt.Printf("err hang in %v\n", e.what[g].Load())
				os.Exit(3)
			}
		}
	}
}

// unexpected counts and reports an error no interleaving explains.
func (e *explorer) unexpected(what string, err error) {
	atomic.AddUint64(&e.res.errors, 1)
	fmt.Fprintf(os.Stderr, "explorer: %s: %v\n", what, err)
}

// expected reports whether err is one that the interleaving explains: the
// object's state changed under the call (attached, detached, closed), or
// its context ended, or the segment was not there (churn).
func expected(err error) bool {
	for _, e := range []error{ErrAttached, ErrNotAttached, ErrClosed, ErrNotLocked, ErrNotFound, ErrAlreadyExists, ErrLockRemoved,
		context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// step runs one random operation on a random object.
func (e *explorer) step(g int, r *rand.Rand) {
	atomic.AddUint64(&e.res.ops, 1)
	ki, oi := r.IntN(2), r.IntN(2)
	slot := &e.objs[ki][oi]
	slot.mu.Lock()
	m := slot.m
	slot.mu.Unlock()
	ctx := context.Background()
	if r.IntN(3) == 0 {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(time.Duration(r.IntN(2000))*time.Microsecond, cancel)
		ctx = c
	}
	op := r.IntN(100)
	name := map[bool]string{true: "anchor", false: "churn"}[ki == 0]
	e.what[g].Store(fmt.Sprintf("op %d on %s object %d", op, name, oi))
	e.since[g].Store(time.Now().UnixNano())
	defer e.since[g].Store(0)
	var err error
	switch {
	case op < 12:
		err = m.CreateContext(ctx, 4096, ReadWrite)
	case op < 26:
		err = m.AttachContext(ctx, ReadWrite)
	case op < 36:
		err = m.DetachContext(ctx)
	case op < 40:
		err = m.Close()
		slot.mu.Lock()
		if slot.m == m {
			slot.m = NewSharedMemory(e.keys[ki])
		}
		slot.mu.Unlock()
	case op < 50:
		if err = m.LockContext(ctx); err == nil {
			for range r.IntN(3) {
				runtime.Gosched()
			}
			err = m.Unlock()
		}
	case op < 56:
		var ok bool
		if ok, err = m.TryLock(); ok {
			err = m.Unlock()
		}
	case op < 80:
		err = m.Locked(ctx, func(data []byte) error {
			e.critical(data, ki == 0, r)
			return nil
		})
	case op < 86:
		p := make([]byte, 16)
		_, err = m.ReadAt(p, 64)
	case op < 92:
		_, err = m.WriteAt([]byte("scratch, no lock"), 64+int64(16*r.IntN(4)))
	default:
		e.canary(r)
	}
	if errors.Is(err, ErrFault) {
		atomic.AddUint64(&e.res.faults, 1)
		fmt.Fprintf(os.Stderr, "explorer: fault: %v\n", err)
	} else if err != nil && !expected(err) {
		e.unexpected(fmt.Sprint(e.what[g].Load()), err)
	}
}

// critical is the work under the lock: the holder word at 8 must be free
// on entry and ours throughout; on the anchor the counter at 0 goes up by
// one with a yield between its read and its write, which loses increments
// unless the lock excludes every other holder.
func (e *explorer) critical(data []byte, counted bool, r *rand.Rand) {
	atomic.AddUint64(&e.res.locked, 1)
	me := uint64(os.Getpid())<<20 | uint64(e.seq.Add(1))&(1<<20-1)
	holder := atomicWord(data, 8)
	if w := holder.Load(); w != 0 {
		atomic.AddUint64(&e.res.violations, 1)
		fmt.Fprintf(os.Stderr, "explorer: lock taken with holder word %#x set\n", w)
	}
	holder.Store(me)
	if counted {
		c := atomicWord(data, 0)
		v := c.Load()
		runtime.Gosched()
		c.Store(v + 1)
		atomic.AddUint64(&e.res.incr, 1)
	}
	for range r.IntN(3) {
		runtime.Gosched()
	}
	if w := holder.Load(); w != me {
		atomic.AddUint64(&e.res.violations, 1)
		fmt.Fprintf(os.Stderr, "explorer: holder word became %#x under the lock\n", w)
	}
	holder.Store(0)
}

// canary maps a segment of this process's own for a moment: a write
// through a mapping after its Detach or Close returned lands in whatever
// the process maps next at that address, and shows here as a byte that is
// not zero.
func (e *explorer) canary(r *rand.Rand) {
	name := fmt.Sprintf("%s_%d_%d", e.canaries, os.Getpid(), e.seq.Add(1))
	k := SharedMemoryKey(name, e.keys[0].Type)
	if e.keys[0].LegacyKey != "" { // as testShmKey chose (musl)
		k = LegacySharedMemoryKey(name, e.keys[0].Type)
	}
	m := NewSharedMemory(k)
	if err := m.Create(4096, ReadWrite); err != nil {
		e.unexpected("canary Create", err)
		return
	}
	for range 1 + r.IntN(20) {
		runtime.Gosched()
	}
	for off := 0; off < m.Size(); off += 8 {
		if w := atomicWord(m.Data(), off).Load(); w != 0 {
			atomic.AddUint64(&e.res.canary, 1)
			fmt.Fprintf(os.Stderr, "explorer: canary word %d is %#x\n", off/8, w)
		}
	}
	if err := m.Close(); err != nil {
		e.unexpected("canary Close", err)
	}
}
