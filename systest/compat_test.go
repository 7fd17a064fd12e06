package systest

import (
	"fmt"
	"github.com/qipc-go/qipc"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The interop matrix: every scenario runs for every ordered pair of peers
// that serve a backend, the first peer creating and the second attaching
// (and back, when the pair comes round reversed). Results are printed as
// a table at the end of the run.

type backendCase struct {
	name   string
	typ    qipc.KeyType
	legacy bool // keys derived as Qt 4.4–6.5 derive them (QSharedMemory(QString))
	// full runs every scenario; otherwise only those marked core.
	full bool
}

var backendCases = []backendCase{
	{name: "posix", typ: qipc.PosixRealtime, full: true},
	{name: "posix-legacy", typ: qipc.PosixRealtime, legacy: true},
	{name: "systemv-legacy", typ: qipc.SystemV, legacy: true, full: true},
	{name: "systemv", typ: qipc.SystemV},
	{name: "systemv-84", typ: qipc.SystemVWithID(84)},
}

// skip says why this build cannot run a cell of peers a and b, or "".
func (bc backendCase) skip(a, b peer) string {
	if bc.typ != qipc.PosixRealtime {
		return ""
	}
	if testLibc() == "musl" && !bc.legacy {
		return "musl build: a Qt 6.6+ POSIX segment's lock would take the segment's own name (ErrLibcSemaphores)"
	}
	for _, p := range []peer{a, b} {
		if why := p.posixSkip(); why != "" {
			return why
		}
	}
	return ""
}

func (bc backendCase) serves(p peer) bool {
	if bc.typ == qipc.PosixRealtime {
		return p.posix
	}
	return p.sysv && (bc.legacy || !p.legacyOnly)
}

// env is what a scenario gets: the pair, and fresh keys on demand.
type env struct {
	t      *testing.T
	a, b   peer
	bc     backendCase
	shmKey func() qipc.Key
	semKey func() qipc.Key
}

type scenario struct {
	name string
	core bool
	run  func(e env)
}

var gop = peerNamed("go")

// counterIncrements is how often each counter process increments in a
// matrix cell; the control without the lock runs the same.
const counterIncrements = 2000

var scenarios = []scenario{
	{name: "create-attach", core: true, run: func(e env) {
		k := e.shmKey()
		startCreator(e.t, e.a, k, 64)
		expectLine(e.t, e.b.name+" attach", e.b.run(e.t, "attach", k), "ok size=64")
		expectLine(e.t, e.b.name+" write", e.b.run(e.t, "write", k, "0", "68656c6c6f"), "ok")
		expectLine(e.t, e.a.name+" read", e.a.run(e.t, "read", k, "0", "5"), "ok hex=68656c6c6f")
	}},
	{name: "read-only", run: func(e env) {
		k := e.shmKey()
		startCreator(e.t, e.a, k, 64)
		expectLine(e.t, e.a.name+" write", e.a.run(e.t, "write", k, "10", "aa55"), "ok")
		expectLine(e.t, e.b.name+" attach ro", e.b.run(e.t, "attach", k, "--ro"), "ok size=64")
		expectLine(e.t, e.b.name+" read", e.b.run(e.t, "read", k, "10", "2"), "ok hex=aa55")
	}},
	{name: "sizes", run: func(e env) {
		for _, size := range []string{"1", "4097", "65537"} {
			k := e.shmKey()
			expectLine(e.t, e.a.name+" create", e.a.start(e.t, "create", k, size, "--hold").Line(), "ok size="+size)
			expectLine(e.t, e.b.name+" attach", e.b.run(e.t, "attach", k), "ok size="+size)
		}
	}},
	{name: "lock-contention", run: func(e env) {
		k := e.shmKey()
		startCreator(e.t, e.a, k, 8)
		checkContention(e.t, e.a, e.b, k)
	}},
	{name: "semaphore-counts", core: true, run: func(e env) {
		s := e.semKey()
		owner := e.a.start(e.t, "sem-create", s, "1", "--hold")
		expectLine(e.t, e.a.name+" sem-create", owner.Line(), "ok")
		expectLine(e.t, e.b.name+" sem-release", e.b.start(e.t, "sem-release", s, "2", "--hold").Line(), "ok")
		sem, err := qipc.NewSemaphore(s, 0, qipc.SemaphoreOpen, qipc.WithoutCleanup())
		if err != nil {
			e.t.Fatal(err)
		}
		defer sem.Close()
		if v, err := sem.Value(); err != nil || v != 3 {
			e.t.Fatalf("value after create(1) and release(2) = %d, %v; want 3", v, err)
		}
		// Taking all three returns, so the count really was 3 for peer b.
		// POSIX leaves none; System V undoes the exited taker's semops
		// (SEM_UNDO, which Qt uses for every operation) and has 3 again.
		expectLine(e.t, e.b.name+" sem-acquire", e.b.run(e.t, "sem-acquire", s, "3"), "ok")
		want := 0
		if e.bc.typ.IsSystemV() {
			want = 3
		}
		if v, err := sem.Value(); err != nil || v != want {
			e.t.Fatalf("value after %s acquired 3 and exited: %d, %v; want %d", e.b.name, v, err, want)
		}
	}},
	{name: "stale-after-sigkill", run: func(e env) {
		k := e.shmKey()
		creator := startCreator(e.t, e.a, k, 64)
		expectLine(e.t, "go write", gop.run(e.t, "write", k, "0", "cafe"), "ok")
		creator.Kill()
		expectErr(e.t, e.b.name+" create", e.b.run(e.t, "create", k, "64"), qipc.AlreadyExists)
		read := e.b.run(e.t, "read", k, "0", "2")
		if e.bc.typ.IsSystemV() && !e.b.legacyOnly && e.b.name != "go" {
			// Qt 6.6+ (and the C peer, which follows it): the object whose
			// create() failed runs cleanHandle() when destroyed and removes
			// the stale segment (nattch 0) and its key file (docs/qt-ipc.md
			// §4.4); Go and Qt <= 6.5 remove only in detach().
			expectErr(e.t, e.b.name+" read", read, qipc.NotFound)
			return
		}
		expectLine(e.t, e.b.name+" read", read, "ok hex=cafe")
	}},
	{name: "missing-key", run: func(e env) {
		expectErr(e.t, e.b.name+" attach", e.b.run(e.t, "attach", e.shmKey()), qipc.NotFound)
	}},
	{name: "existing-key", run: func(e env) {
		k := e.shmKey()
		startCreator(e.t, e.a, k, 16, "--init", "c0ffee")
		holder, _ := e.a.startHolder(e.t, k)
		checkFailedCreate(e.t, e.b, k, holder)
		expectLine(e.t, e.a.name+" read", e.a.run(e.t, "read", k, "0", "3"), "ok hex=c0ffee")
	}},
	{name: "counter", core: true, run: func(e env) {
		checkExclusion(e.t, []peer{e.a, e.b}, counterIncrements, counterCreate(e.t, e.a, e.shmKey))
	}},
}

func TestCompat(t *testing.T) {
	if testing.Short() {
		t.Skip("the interop matrix spawns hundreds of processes; run without -short")
	}
	for _, bc := range backendCases {
		t.Run(bc.name, func(t *testing.T) {
			skipWithoutBackend(t, bc.typ)
			for _, sc := range scenarios {
				if !bc.full && !sc.core {
					continue
				}
				t.Run(sc.name, func(t *testing.T) {
					for _, a := range peers {
						for _, b := range peers {
							if !bc.serves(a) || !bc.serves(b) {
								continue
							}
							pair := a.name + "→" + b.name
							t.Run(pair, func(t *testing.T) {
								// Registered first, so run last: a cell is
								// recorded after its peers have cleaned up.
								t.Cleanup(func() { recordMatrix(t, bc.name, sc.name, pair) })
								if why := bc.skip(a, b); why != "" {
									matrixMu.Lock()
									skipReasons[bc.name+": "+why] = true
									matrixMu.Unlock()
									t.Skip(why)
								}
								a.require(t)
								b.require(t)
								sc.run(env{t: t, a: a, b: b, bc: bc,
									shmKey: func() qipc.Key { return testShmKey(t, bc.typ, bc.legacy) },
									semKey: func() qipc.Key { return testSemKey(t, bc.typ, bc.legacy) },
								})
							})
						}
					}
				})
			}
		})
	}
}

var (
	matrixMu sync.Mutex
	matrix   = map[string]map[string]map[string]string{} // backend → scenario → pair → result
	// skipReasons are the reasons cells were skipped for, printed below
	// the matrix ("backend: reason").
	skipReasons = map[string]bool{}
)

// orderedKeys returns the keys of m: those in known in known's order, then
// the others sorted.
func orderedKeys[V any](known []string, m map[string]V) []string {
	var keys, others []string
	for _, k := range known {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	for k := range m {
		if !slices.Contains(known, k) {
			others = append(others, k)
		}
	}
	sort.Strings(others)
	return append(keys, others...)
}

func recordMatrix(t *testing.T, backend, sc, pair string) {
	res := testResult(t)
	matrixMu.Lock()
	defer matrixMu.Unlock()
	if matrix[backend] == nil {
		matrix[backend] = map[string]map[string]string{}
	}
	if matrix[backend][sc] == nil {
		matrix[backend][sc] = map[string]string{}
	}
	matrix[backend][sc][pair] = res
}

// printMatrix writes the interop matrix: one table per backend, a row per
// pair (creator→attacher), a column per scenario.
func printMatrix() {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	if len(matrix) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\nInterop matrix (creator→attacher; ok / FAIL / skip):\n")
	// The matrix's backends and scenarios in its order, then the tables
	// and columns of tests that record cells of their own (recordMatrix).
	var backends, scenarioNames []string
	for _, bc := range backendCases {
		backends = append(backends, bc.name)
	}
	for _, sc := range scenarios {
		scenarioNames = append(scenarioNames, sc.name)
	}
	for _, backend := range orderedKeys(backends, matrix) {
		rows := matrix[backend]
		cols := orderedKeys(scenarioNames, rows)
		pairSet := map[string]bool{}
		for _, c := range cols {
			for p := range rows[c] {
				pairSet[p] = true
			}
		}
		var pairs []string
		for p := range pairSet {
			pairs = append(pairs, p)
		}
		sort.Strings(pairs)
		fmt.Fprintf(&b, "\n%s\n| pair | %s |\n|---|%s\n", backend, strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		for _, p := range pairs {
			fmt.Fprintf(&b, "| %s |", p)
			for _, c := range cols {
				r := rows[c][p]
				if r == "" {
					r = "-"
				}
				fmt.Fprintf(&b, " %s |", r)
			}
			b.WriteString("\n")
		}
	}
	var reasons []string
	for r := range skipReasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(&b, "skipped in %s\n", r)
	}
	fmt.Fprint(os.Stdout, b.String())
}

// checkFailedCreate runs peer b's create of the existing segment k while
// holder holds its lock, and checks what the failed create did to that
// lock (COMPAT.md #1). The Go library opens the lock as it is and waits for
// it, so its create returns AlreadyExists only after the holder's unlock,
// and the lock stays a working mutex throughout. Qt (and the C peer, which
// makes Qt's calls) binds the lock in Create mode first: System V resets
// the count to 1 and the failed create's destructor removes the semaphore;
// POSIX unlinks it and makes a new one, which the destructor unlinks too.
// Either way the holder no longer excludes anyone; the cell shows it.
func checkFailedCreate(t testing.TB, b peer, k qipc.Key, holder *proc) {
	t.Helper()
	c := b.start(t, "create", k, "16")
	waited := false
	for !waited {
		if n, ok := lockWaiters(t, k); ok && n >= 1 {
			waited = true
			break
		}
		select {
		case line := <-c.Lines:
			c.Last = line
			expectErr(t, b.name+" create", line, qipc.AlreadyExists)
			c.Finish()
		case <-time.After(time.Millisecond):
			continue
		}
		break
	}
	if _, ok := lockWaiters(t, k); !ok {
		t.Skip("this OS (or C library) does not let a test count a lock's waiters")
	}
	if waited != (b.name == "go") {
		t.Fatalf("%s's create waited for the lock: %v, want %v", b.name, waited, b.name == "go")
	}
	if waited {
		if n, ok := lockCount(t, k); !ok || n != 0 {
			t.Fatalf("lock while %s's create waits: count %d (exists %v), want 0", b.name, n, ok)
		}
		holder.Release()
		stamp(holder, "ok unlocked at=")
		holder.Finish()
		expectErr(t, b.name+" create", c.Line(), qipc.AlreadyExists)
		c.Finish()
		if n, ok := lockCount(t, k); !ok || n != 1 {
			t.Fatalf("lock after the holder's unlock and the failed create: count %d (exists %v), want 1", n, ok)
		}
		return
	}
	n, exists := lockCount(t, k)
	if exists && n == 0 {
		t.Fatalf("%s's failed create left the held lock alone; Qt's calls reset or remove it", b.name)
	}
	t.Logf("%s's failed create broke the lock %s held: exists %v, count %d (Qt's Create-mode bind; COMPAT.md #1)", b.name, holder.Name, exists, n)
	holder.Release()
	stamp(holder, "ok unlocked at=")
	holder.Finish()
}
