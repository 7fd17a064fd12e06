//go:build cgo && linux

package gopeer

import (
	"context"
	"errors"
	"fmt"
	"github.com/qipc-go/qipc"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// explorer is one process of TestInterleavings (command "explore").
type explorer struct {
	// res comes first: its words are added to atomically, which 32-bit
	// platforms allow only at 8-byte aligned addresses, and the first
	// word of an allocated struct is one.
	res      ExploreResult
	keys     [2]qipc.Key // anchor (counted), churn
	canaries string
	objs     [2][2]struct {
		mu sync.Mutex
		m  *qipc.SharedMemory
	}
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
		k, err := qipc.ParseKey(args[i])
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
			e.objs[i][j].m = qipc.NewSharedMemory(e.keys[i])
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
			if err := e.objs[i][j].m.Close(); err != nil && !errors.Is(err, qipc.ErrClosed) {
				e.unexpected("final Close", err)
			}
		}
	}
	r := &e.res
	fmt.Printf("ok incr=%d ops=%d locked=%d violations=%d faults=%d canary=%d errors=%d\n",
		atomic.LoadUint64(&r.Incr), atomic.LoadUint64(&r.Ops), atomic.LoadUint64(&r.Locked), atomic.LoadUint64(&r.Violations),
		atomic.LoadUint64(&r.Faults), atomic.LoadUint64(&r.Canary), atomic.LoadUint64(&r.Errors))
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
				fmt.Printf("progress %d ops\n", atomic.LoadUint64(&e.res.Ops))
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
	atomic.AddUint64(&e.res.Errors, 1)
	fmt.Fprintf(os.Stderr, "explorer: %s: %v\n", what, err)
}

// expected reports whether err is one that the interleaving explains: the
// object's state changed under the call (attached, detached, closed), or
// its context ended, or the segment was not there (churn).
func expected(err error) bool {
	for _, e := range []error{qipc.ErrAttached, qipc.ErrNotAttached, qipc.ErrClosed, qipc.ErrNotLocked, qipc.ErrNotFound, qipc.ErrAlreadyExists, qipc.ErrLockRemoved, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// step runs one random operation on a random object.
func (e *explorer) step(g int, r *rand.Rand) {
	atomic.AddUint64(&e.res.Ops, 1)
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
		err = m.CreateContext(ctx, 4096, qipc.ReadWrite)
	case op < 26:
		err = m.AttachContext(ctx, qipc.ReadWrite)
	case op < 36:
		err = m.DetachContext(ctx)
	case op < 40:
		err = m.Close()
		slot.mu.Lock()
		if slot.m == m {
			slot.m = qipc.NewSharedMemory(e.keys[ki])
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
	if errors.Is(err, qipc.ErrFault) {
		atomic.AddUint64(&e.res.Faults, 1)
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
	atomic.AddUint64(&e.res.Locked, 1)
	me := uint64(os.Getpid())<<20 | uint64(e.seq.Add(1))&(1<<20-1)
	holder := AtomicWord(data, 8)
	if w := holder.Load(); w != 0 {
		atomic.AddUint64(&e.res.Violations, 1)
		fmt.Fprintf(os.Stderr, "explorer: lock taken with holder word %#x set\n", w)
		e.dumpMaps(w)
	}
	holder.Store(me)
	if counted {
		c := AtomicWord(data, 0)
		v := c.Load()
		runtime.Gosched()
		c.Store(v + 1)
		atomic.AddUint64(&e.res.Incr, 1)
	}
	for range r.IntN(3) {
		runtime.Gosched()
	}
	if w := holder.Load(); w != me {
		atomic.AddUint64(&e.res.Violations, 1)
		fmt.Fprintf(os.Stderr, "explorer: holder word became %#x under the lock\n", w)
		e.dumpMaps(w)
	}
	holder.Store(0)
}

// canary maps a segment of this process's own for a moment: a write
// through a mapping after its Detach or Close returned lands in whatever
// the process maps next at that address, and shows here as a byte that is
// not zero.
func (e *explorer) canary(r *rand.Rand) {
	name := fmt.Sprintf("%s_%d_%d", e.canaries, os.Getpid(), e.seq.Add(1))
	k := qipc.SharedMemoryKey(name, e.keys[0].Type)
	if e.keys[0].LegacyKey != "" { // as testShmKey chose (musl)
		k = qipc.LegacySharedMemoryKey(name, e.keys[0].Type)
	}
	m := qipc.NewSharedMemory(k)
	if err := m.Create(4096, qipc.ReadWrite); err != nil {
		e.unexpected("canary Create", err)
		return
	}
	for range 1 + r.IntN(20) {
		runtime.Gosched()
	}
	for off := 0; off < m.Size(); off += 8 {
		if w := AtomicWord(m.Data(), off).Load(); w != 0 {
			atomic.AddUint64(&e.res.Canary, 1)
			fmt.Fprintf(os.Stderr, "explorer: canary word %d is %#x\n", off/8, w)
		}
	}
	if err := m.Close(); err != nil {
		e.unexpected("canary Close", err)
	}
}

// dumpMaps prints, for this process and the other holder (the pid in its
// holder word), the mappings of the two keys' segments and lock
// semaphores: a split lock shows as two inodes under one name.
func (e *explorer) dumpMaps(w uint64) {
	for _, pid := range []string{"self", strconv.FormatUint(w>>20, 10)} {
		b, err := os.ReadFile("/proc/" + pid + "/maps")
		if err != nil {
			fmt.Fprintf(os.Stderr, "explorer: maps of %s: %v\n", pid, err)
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, k := range e.keys {
				if strings.Contains(line, strings.TrimPrefix(k.Native, "/")) || strings.Contains(line, strings.TrimPrefix(k.LockKey().Native, "/")) {
					fmt.Fprintf(os.Stderr, "explorer: %d sees %s maps %s\n", os.Getpid(), pid, line)
					break
				}
			}
		}
	}
}
