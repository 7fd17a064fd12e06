package systest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
	"github.com/qipc-go/qipc/internal/knobs"
	"github.com/qipc-go/qipc/peers/gopeer"
)

// What users pay per operation, measured against the C peer and the Qt
// peers on the same machine. The Benchmark* functions are the Go side
// alone (`go test -bench .`); TestBenchTable (QIPC_BENCH=1, `make bench`)
// runs the Go loops, the peers' bench commands and the ping-pong drivers in
// one run, several times interleaved, and prints one table of medians with
// the ratio Go/C.

// ---- the Go loops, shared by the benchmarks, the table and the Go peer ----

type benchBackend struct {
	name   string
	typ    qipc.KeyType
	legacy bool
}

var benchBackends = []benchBackend{
	{"posix", qipc.PosixRealtime, false},
	{"systemv", qipc.SystemV, true},
}

func forBackends(b *testing.B, fn func(b *testing.B, bb benchBackend)) {
	for _, bb := range benchBackends {
		b.Run(bb.name, func(b *testing.B) { fn(b, bb) })
	}
}

// withCPath runs fn with the POSIX fast path and the raw System V semop
// off, so that every operation goes through C, for comparison.
func withCPath(fn func()) {
	oldFast, oldRaw := knobs.SemFastOff.Load(), knobs.SysvRawOff.Load()
	knobs.SemFastOff.Store(true)
	knobs.SysvRawOff.Store(true)
	defer func() {
		knobs.SemFastOff.Store(oldFast)
		knobs.SysvRawOff.Store(oldRaw)
	}()
	fn()
}

func benchSegment(b *testing.B, bb benchBackend, size int) *qipc.SharedMemory {
	k := testShmKey(b, bb.typ, bb.legacy)
	m := qipc.NewSharedMemory(k)
	if err := m.Create(size, qipc.ReadWrite); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

func BenchmarkLockUnlock(b *testing.B) {
	forBackends(b, func(b *testing.B, bb benchBackend) {
		m := benchSegment(b, bb, 4096)
		b.ResetTimer()
		if err := gopeer.GoLockLoop(m, b.N); err != nil {
			b.Fatal(err)
		}
	})
	for _, bb := range benchBackends {
		b.Run(bb.name+"-cpath", func(b *testing.B) {
			m := benchSegment(b, bb, 4096)
			withCPath(func() {
				b.ResetTimer()
				if err := gopeer.GoLockLoop(m, b.N); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	forBackends(b, func(b *testing.B, bb benchBackend) {
		s, err := qipc.NewSemaphore(testSemKey(b, bb.typ, bb.legacy), 1, qipc.SemaphoreCreate)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ResetTimer()
		if err := gopeer.GoSemLoop(s, b.N); err != nil {
			b.Fatal(err)
		}
	})
	for _, bb := range benchBackends {
		b.Run(bb.name+"-cpath", func(b *testing.B) {
			s, err := qipc.NewSemaphore(testSemKey(b, bb.typ, bb.legacy), 1, qipc.SemaphoreCreate)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			withCPath(func() {
				b.ResetTimer()
				if err := gopeer.GoSemLoop(s, b.N); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkCreateAttachDetachClose(b *testing.B) {
	forBackends(b, func(b *testing.B, bb benchBackend) {
		k := testShmKey(b, bb.typ, bb.legacy)
		for i := 0; i < b.N; i++ {
			if err := gopeer.GoCycle(k, 4096); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAttachDetach(b *testing.B) {
	forBackends(b, func(b *testing.B, bb benchBackend) {
		m := benchSegment(b, bb, 4096)
		b.ResetTimer()
		if err := gopeer.GoAttachLoop(m.Key(), b.N); err != nil {
			b.Fatal(err)
		}
	})
}

const copySize = 1 << 20

func BenchmarkCopyToData(b *testing.B) {
	src := make([]byte, copySize)
	for i := range src {
		src[i] = byte(i)
	}
	b.Run("posix", func(b *testing.B) {
		m := benchSegment(b, benchBackends[0], copySize)
		b.SetBytes(copySize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			src[i%copySize] = byte(i)
			copy(m.Data(), src)
		}
	})
	b.Run("heap", func(b *testing.B) { // the same copy into Go memory
		dst := make([]byte, copySize)
		b.SetBytes(copySize)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			src[i%copySize] = byte(i)
			copy(dst, src)
		}
	})
}

// BenchmarkPingPong is Go⇄Go across processes: this process is role a,
// a Go peer process is role b.
func BenchmarkPingPong(b *testing.B) {
	forBackends(b, func(b *testing.B, bb benchBackend) {
		// System V: at most 32767 one-way SEM_UNDO operations per process
		// (SEMAEM, peers/c/README.md), so long runs go in chunks, each with
		// a fresh peer; ns/roundtrip leaves the peers' start-up out.
		var total float64
		for left := b.N; left > 0; {
			n := left
			if bb.typ != qipc.PosixRealtime {
				n = min(n, 30000)
			}
			ns, err := pingPongGoA(b, peerNamed("go"), bb, n)
			if err != nil {
				b.Fatal(err)
			}
			total += ns * float64(n)
			left -= n
		}
		b.ReportMetric(total/float64(b.N), "ns/roundtrip")
	})
}

// pingPongGoA runs role a in this process against role b in peer p, with
// a few untimed round trips first so that b's start-up is not measured.
func pingPongGoA(t testing.TB, p peer, bb benchBackend, n int) (float64, error) {
	const warm = 50
	k1, k2 := testSemKey(t, bb.typ, bb.legacy), testSemKey(t, bb.typ, bb.legacy)
	s1, err := qipc.NewSemaphore(k1, 0, qipc.SemaphoreCreate)
	if err != nil {
		return 0, err
	}
	defer s1.Close()
	s2, err := qipc.NewSemaphore(k2, 0, qipc.SemaphoreCreate)
	if err != nil {
		return 0, err
	}
	defer s2.Close()
	pr := p.start(t, "pingpong", k1, k2.String(), strconv.Itoa(n+warm), "b", "--hold")
	if err := gopeer.GoPingPong(s1, s2, warm, true); err != nil {
		return 0, err
	}
	ns, err := gopeer.Timed(n, func() error { return gopeer.GoPingPong(s1, s2, n, true) })
	if line := pr.Line(); line != "ok" {
		return 0, fmt.Errorf("%s role b: %s", p.name, line)
	}
	pr.Finish()
	return ns, err
}

// ---- hand-offs: spinning against blocking ----

// spinArgs are the extra arguments for peer p: only the Go peer knows
// --spin.
func spinArgs(p peer, args []string) []string {
	if p.name == "go" {
		return args
	}
	return nil
}

// cpuOf is the CPU time (user and system) that a finished peer used.
func cpuOf(pr *proc) time.Duration {
	if st := pr.Cmd.ProcessState; st != nil {
		return st.UserTime() + st.SystemTime()
	}
	return 0
}

// pingPongCPU runs n round trips, role b in pb and role a in pa, and
// returns a's ns per round trip and the CPU time both used per round trip,
// less their start-up (a run of one round trip). goArgs go to Go peers.
func pingPongCPU(t testing.TB, pa, pb peer, bb benchBackend, n int, goArgs ...string) (ns, cpu float64, err error) {
	run := func(n int) (float64, time.Duration, error) {
		k1, k2 := testSemKey(t, bb.typ, bb.legacy), testSemKey(t, bb.typ, bb.legacy)
		rb := pb.start(t, "pingpong", k1, append([]string{k2.String(), strconv.Itoa(n), "b", "--hold"}, spinArgs(pb, goArgs)...)...)
		time.Sleep(100 * time.Millisecond)
		ra := pa.start(t, "pingpong", k1, append([]string{k2.String(), strconv.Itoa(n), "a"}, spinArgs(pa, goArgs)...)...)
		line := ra.Line()
		ra.Finish()
		if l := rb.Line(); l != "ok" {
			return 0, 0, fmt.Errorf("%s role b: %s", pb.name, l)
		}
		rb.Finish()
		ns, err := parseMetric(line, "ns_per_roundtrip")
		return ns, cpuOf(ra) + cpuOf(rb), err
	}
	_, cpu1, err := run(1)
	if err != nil {
		return 0, 0, err
	}
	ns, cpuN, err := run(n)
	return ns, float64(cpuN-cpu1) / float64(n-1), err
}

// counterCPU runs procs counters of peer p at once (the barrier), n locked
// increments each, on a fresh segment, and returns the increments per
// second (from the barrier to the last result) and the CPU time per
// increment of all of them, less their start-up (a run of one increment
// each). The sum must be exact.
func counterCPU(t testing.TB, p peer, procs int, bb benchBackend, n int, goArgs ...string) (perSec, cpu float64, err error) {
	run := func(n int) (time.Duration, time.Duration, error) {
		k := testShmKey(t, bb.typ, bb.legacy)
		m := qipc.NewSharedMemory(k)
		if err := m.Create(8, qipc.ReadWrite); err != nil {
			return 0, 0, err
		}
		defer m.Close()
		var prs []*proc
		for range procs {
			prs = append(prs, p.start(t, "counter", k, append([]string{strconv.Itoa(n), "--barrier"}, spinArgs(p, goArgs)...)...))
		}
		for _, pr := range prs {
			expectLine(t, pr.Name+" counter", pr.Line(), "ready")
		}
		t0 := time.Now()
		for _, pr := range prs {
			pr.Send("go")
		}
		for _, pr := range prs {
			pr.Value("ok last=")
		}
		wall := time.Since(t0)
		var cpu time.Duration
		for _, pr := range prs {
			pr.Finish()
			cpu += cpuOf(pr)
		}
		if got := binary.LittleEndian.Uint64(m.Data()); got != uint64(procs*n) {
			return 0, 0, fmt.Errorf("%s counter: %d, want %d", p.name, got, procs*n)
		}
		return wall, cpu, nil
	}
	_, cpu1, err := run(1)
	if err != nil {
		return 0, 0, err
	}
	wall, cpuN, err := run(n)
	total := float64(procs * n)
	return total / wall.Seconds(), float64(cpuN-cpu1) / (total - float64(procs)), err
}

// ---- the table ----

func parseMetric(line, name string) (float64, error) {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok && strings.HasPrefix(line, "ok") {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %q", name, line)
}

type cell struct {
	samples []float64
	skip    string
}

func (c *cell) add(v float64, err error) {
	if err != nil {
		c.skip = err.Error()
		return
	}
	c.samples = append(c.samples, v)
}

func (c *cell) median() (float64, bool) {
	if len(c.samples) == 0 {
		return 0, false
	}
	s := append([]float64(nil), c.samples...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func (c *cell) String() string {
	v, ok := c.median()
	if !ok {
		return "—"
	}
	switch {
	case v >= 100000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

type row struct {
	name     string
	unit     string
	higherOK bool // MB/s: the ratio is of bandwidths, so higher is better
	goC, cC  cell
	qtC      cell
	noSpin   cell // Go with WithSpin(0): what spinning costs or saves
	floor    cell // the smallest Go program (the Go peer's --floor): what any Go process pays
	qtName   string
	measure  func(t *testing.T, r *row)
}

// qtDiv shortens the Qt peer's loop where each call is a Python call
// (PySide6), so that a row takes about as long as its Go and C runs.
func (r *row) qtDiv() int {
	if strings.HasPrefix(r.qtName, "pyside") {
		return 20
	}
	return 1
}

// ratio is Go's median over other's, or "—" when either is missing.
func (r *row) ratio(other *cell) string { return r.ratioOf(&r.goC, other) }

// ratioOf is c's median over other's, or "—" when either is missing.
func (r *row) ratioOf(c, other *cell) string {
	g, okg := c.median()
	o, oko := other.median()
	switch {
	case !okg || !oko || g <= 0 || o <= 0:
		return "—"
	case r.higherOK:
		return fmt.Sprintf("%.2f (higher is better)", g/o)
	default:
		return fmt.Sprintf("%.2f", g/o)
	}
}

func peerAvailable(name string) bool {
	_, why := peerNamed(name).argv()
	return why == ""
}

// TestBenchTable prints the table `make bench` shows. It takes a minute or
// two, so it runs only with QIPC_BENCH=1. QIPC_BENCH_ROUNDS sets how many
// interleaved rounds the medians are taken over (default 5), and
// QIPC_BENCH_ROWS, a regular expression, which rows run (`make
// bench-quick`).
func TestBenchTable(t *testing.T) {
	if os.Getenv("QIPC_BENCH") != "1" {
		t.Skip("set QIPC_BENCH=1 (make bench) to measure against the C and Qt peers")
	}
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("QIPC_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	cpeer := peerNamed("c")
	cpeer.require(t)
	qt := "qt6.4"
	if !peerAvailable(qt) {
		qt = "qt5"
	}
	// QIPC_BENCH_NOQT=1 (bench-quick) leaves the Qt columns out: Go
	// against C is what a change to waiting moves.
	withQt := os.Getenv("QIPC_BENCH_NOQT") != "1"
	// QIPC_BENCH_NOFLOOR=1 (bench-quick) leaves the Go floor out, which
	// runs every counter row once more.
	withFloor := os.Getenv("QIPC_BENCH_NOFLOOR") != "1"
	haveQt := withQt && peerAvailable(qt)
	// Debian's Qt 5.15/6.4 have no POSIX backend; Qt 6.6+ comes as PySide6,
	// whose figures include the Python loop around each call.
	const posixQt = "pyside6"
	havePosixQt := withQt && peerAvailable(posixQt)
	qtFor := func(bb benchBackend) (peer, bool) {
		if bb.typ == qipc.PosixRealtime {
			return peerNamed(posixQt), havePosixQt
		}
		return peerNamed(qt), haveQt
	}
	haveSysV := qipc.IsKeyTypeSupported(qipc.SystemV)

	const (
		nLock     = 2000000
		nSysV     = 100000
		nPing     = 20000
		nPingSysV = 20000
		nCycle    = 2000
		nAttach   = 20000
		nCopy     = 2000
		nCounter  = 20000
	)
	posix, sysv := benchBackends[0], benchBackends[1]
	segment := func(t *testing.T, bb benchBackend, size int) *qipc.SharedMemory {
		k := testShmKey(t, bb.typ, bb.legacy)
		m := qipc.NewSharedMemory(k)
		if err := m.Create(size, qipc.ReadWrite); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	lockRow := func(bb benchBackend, n int) func(t *testing.T, r *row) {
		return func(t *testing.T, r *row) {
			m := segment(t, bb, 4096)
			runtime.GC()
			r.goC.add(gopeer.Timed(n, func() error { return gopeer.GoLockLoop(m, n) }))
			r.cC.add(parseMetric(cpeer.run(t, "bench-lock", m.Key(), strconv.Itoa(n)), "ns_per_op"))
			if qp, ok := qtFor(bb); ok {
				r.qtC.add(parseMetric(qp.run(t, "bench-lock", m.Key(), strconv.Itoa(n/r.qtDiv())), "ns_per_op"))
			}
		}
	}
	semRow := func(bb benchBackend, n int) func(t *testing.T, r *row) {
		return func(t *testing.T, r *row) {
			k := testSemKey(t, bb.typ, bb.legacy)
			s, err := qipc.NewSemaphore(k, 1, qipc.SemaphoreCreate)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			r.goC.add(gopeer.Timed(n, func() error { return gopeer.GoSemLoop(s, n) }))
			_ = s.Close()
			r.cC.add(parseMetric(cpeer.run(t, "bench-sem", testSemKey(t, bb.typ, bb.legacy), strconv.Itoa(n)), "ns_per_op"))
			if qp, ok := qtFor(bb); ok {
				r.qtC.add(parseMetric(qp.run(t, "bench-sem", testSemKey(t, bb.typ, bb.legacy), strconv.Itoa(n/r.qtDiv())), "ns_per_op"))
			}
		}
	}
	// spinRow fills row r (and the CPU row cpu, when not nil) from run,
	// which measures with the given peers: Go spinning and not (goA and
	// goB say which side is the Go peer, the other being qtName), then,
	// when both are Go, C against C; and qtName against itself. A Python
	// peer's CPU is not shown: its start-up dwarfs its loop.
	spinRow := func(qtName string, goA, goB bool, cpu *row, run func(t *testing.T, pa, pb peer, div int, goArgs ...string) (float64, float64, error)) func(t *testing.T, r *row) {
		if cpu == nil {
			cpu = &row{}
		}
		return func(t *testing.T, r *row) {
			if !(goA && goB) && !withQt {
				t.Skip("QIPC_BENCH_NOQT=1: no Qt peer")
			}
			gp, qp := peerNamed("go"), peer{}
			if qtName != "" { // "": Go and C only (the loaded rows)
				qp = peerNamed(qtName)
			}
			pa, pb := gp, gp
			if !goA {
				pa = qp
			}
			if !goB {
				pb = qp
			}
			add := func(c, cpuCell *cell, v, cpuNs float64, err error) {
				c.add(v, err)
				cpuCell.add(cpuNs, err)
			}
			v, c, err := run(t, pa, pb, 1)
			add(&r.goC, &cpu.goC, v, c, err)
			v, c, err = run(t, pa, pb, 1, "--spin", "0")
			add(&r.noSpin, &cpu.noSpin, v, c, err)
			if goA && goB {
				v, c, err = run(t, cpeer, cpeer, 1)
				add(&r.cC, &cpu.cC, v, c, err)
			}
			if qtName != "" && withQt && peerAvailable(qtName) {
				v, _, err = run(t, qp, qp, r.qtDiv())
				r.qtC.add(v, err)
			}
		}
	}
	// pingRow measures round trips between processes a and b.
	pingRow := func(bb benchBackend, n int, qtName string, goA, goB bool, cpu *row) func(t *testing.T, r *row) {
		return spinRow(qtName, goA, goB, cpu, func(t *testing.T, pa, pb peer, div int, goArgs ...string) (float64, float64, error) {
			return pingPongCPU(t, pa, pb, bb, n/div, goArgs...)
		})
	}
	// counterRow measures procs processes of one kind incrementing one
	// counter under the lock, and the smallest Go program doing the same.
	counterRow := func(bb benchBackend, procs, n int, qtName string, cpu *row) func(t *testing.T, r *row) {
		if cpu == nil {
			cpu = &row{}
		}
		run := func(t *testing.T, pa, _ peer, div int, goArgs ...string) (float64, float64, error) {
			return counterCPU(t, pa, procs, bb, n/div, goArgs...)
		}
		measure := spinRow(qtName, true, true, cpu, run)
		return func(t *testing.T, r *row) {
			measure(t, r)
			if !withFloor {
				return
			}
			if !gopeer.HasFloor(bb.typ) {
				r.floor.add(0, errors.New("no floor here"))
				return
			}
			v, c, err := run(t, peerNamed("go"), peer{}, 1, "--floor")
			r.floor.add(v, err)
			cpu.floor.add(c, err)
		}
	}
	cycleRow := func(bb benchBackend, n int) func(t *testing.T, r *row) {
		return func(t *testing.T, r *row) {
			k := testShmKey(t, bb.typ, bb.legacy)
			r.goC.add(gopeer.Timed(n, func() error {
				for i := 0; i < n; i++ {
					if err := gopeer.GoCycle(k, 4096); err != nil {
						return err
					}
				}
				return nil
			}))
			if qp, ok := qtFor(bb); ok {
				k := testShmKey(t, bb.typ, bb.legacy)
				r.qtC.add(parseMetric(qp.run(t, "bench-cycle", k, strconv.Itoa(n), "4096"), "ns_per_op"))
			}
		}
	}
	attachRow := func(bb benchBackend, n int) func(t *testing.T, r *row) {
		return func(t *testing.T, r *row) {
			m := segment(t, bb, 4096)
			r.goC.add(gopeer.Timed(n, func() error { return gopeer.GoAttachLoop(m.Key(), n) }))
			if qp, ok := qtFor(bb); ok {
				r.qtC.add(parseMetric(qp.run(t, "bench-attach", m.Key(), strconv.Itoa(n)), "ns_per_op"))
			}
		}
	}
	copyRow := func(t *testing.T, r *row) {
		m := segment(t, posix, copySize)
		src := make([]byte, copySize)
		t0 := time.Now()
		for i := 0; i < nCopy*10; i++ {
			src[i%copySize] = byte(i)
			copy(m.Data(), src)
		}
		r.goC.add(float64(copySize)*float64(nCopy*10)/1e6/time.Since(t0).Seconds(), nil)
		argv := cpeer.require(t)
		out, err := exec.Command(argv[0], append(argv[1:], "bench-memcpy", strconv.Itoa(copySize), strconv.Itoa(nCopy*10))...).Output()
		if err != nil {
			r.cC.add(0, err)
			return
		}
		r.cC.add(parseMetric(strings.TrimSpace(string(out)), "mb_per_s"))
	}

	// loaded runs measure with one busy process per CPU at the same
	// priority beside it (issue 27's loaded rows: a crowded desktop or
	// server), each ended by its PID when the row is done.
	loaded := func(measure func(t *testing.T, r *row)) func(t *testing.T, r *row) {
		return func(t *testing.T, r *row) {
			var busy []*exec.Cmd
			defer func() {
				for _, c := range busy {
					_ = c.Process.Kill()
					_ = c.Wait()
				}
			}()
			for i := 0; i < runtime.NumCPU(); i++ {
				c := exec.Command("sh", "-c", "while :; do :; done")
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				busy = append(busy, c)
			}
			measure(t, r)
		}
	}

	// CPU rows are filled by the ping-pong and counter rows before them.
	cpuRow := func(name, qtName string) *row {
		return &row{name: name, unit: "ns CPU", qtName: qtName, measure: func(*testing.T, *row) {}}
	}
	posixPingCPU := cpuRow("POSIX CPU per round trip (both processes)", posixQt)
	posixCounterCPU := cpuRow("POSIX CPU per increment, 8 processes", posixQt)
	sysvPingCPU := cpuRow("System V CPU per round trip (both processes)", qt)
	sysvCounterCPU := cpuRow("System V CPU per increment, 8 processes", qt)
	rows := []*row{
		{name: "POSIX Lock+Unlock", unit: "ns/op", qtName: posixQt, measure: lockRow(posix, nLock)},
		{name: "POSIX Acquire+Release", unit: "ns/op", qtName: posixQt, measure: semRow(posix, nLock)},
		{name: "POSIX ping-pong (Go⇄Go, C⇄C, Qt⇄Qt)", unit: "ns/rt", qtName: posixQt, measure: pingRow(posix, nPing, posixQt, true, true, posixPingCPU)},
		posixPingCPU,
		{name: "POSIX ping-pong Go⇄Qt (vs Qt⇄Qt)", unit: "ns/rt", qtName: posixQt, measure: pingRow(posix, nPing, posixQt, true, false, nil)},
		{name: "POSIX ping-pong Qt⇄Go (vs Qt⇄Qt)", unit: "ns/rt", qtName: posixQt, measure: pingRow(posix, nPing, posixQt, false, true, nil)},
		{name: "POSIX counter, 2 processes", unit: "incr/s", higherOK: true, qtName: posixQt, measure: counterRow(posix, 2, nCounter, posixQt, nil)},
		{name: "POSIX counter, 4 processes", unit: "incr/s", higherOK: true, qtName: posixQt, measure: counterRow(posix, 4, nCounter, posixQt, nil)},
		{name: "POSIX counter, 8 processes", unit: "incr/s", higherOK: true, qtName: posixQt, measure: counterRow(posix, 8, nCounter, posixQt, posixCounterCPU)},
		posixCounterCPU,
		{name: "POSIX ping-pong Go⇄Go, C⇄C, loaded", unit: "ns/rt", measure: loaded(pingRow(posix, nPing, "", true, true, nil))},
		{name: "POSIX counter, 4 processes, loaded", unit: "incr/s", higherOK: true, measure: loaded(counterRow(posix, 4, nCounter, "", nil))},
		{name: "POSIX Create+Attach+Detach+Close", unit: "ns/op", qtName: posixQt, measure: cycleRow(posix, nCycle)},
		{name: "POSIX Attach+Detach", unit: "ns/op", qtName: posixQt, measure: attachRow(posix, nAttach)},
		{name: "copy 1 MiB into Data()", unit: "MB/s", higherOK: true, measure: copyRow},
	}
	if haveSysV {
		rows = append(rows,
			&row{name: "System V Lock+Unlock", unit: "ns/op", qtName: qt, measure: lockRow(sysv, nSysV)},
			&row{name: "System V Acquire+Release", unit: "ns/op", qtName: qt, measure: semRow(sysv, nSysV)},
			&row{name: "System V ping-pong (Go⇄Go, C⇄C, Qt⇄Qt)", unit: "ns/rt", qtName: qt, measure: pingRow(sysv, nPingSysV, qt, true, true, sysvPingCPU)},
			sysvPingCPU,
			&row{name: "System V ping-pong Go⇄Qt (vs Qt⇄Qt)", unit: "ns/rt", qtName: qt, measure: pingRow(sysv, nPingSysV, qt, true, false, nil)},
			&row{name: "System V ping-pong Qt⇄Go (vs Qt⇄Qt)", unit: "ns/rt", qtName: qt, measure: pingRow(sysv, nPingSysV, qt, false, true, nil)},
			&row{name: "System V counter, 2 processes", unit: "incr/s", higherOK: true, qtName: qt, measure: counterRow(sysv, 2, nCounter, qt, nil)},
			&row{name: "System V counter, 4 processes", unit: "incr/s", higherOK: true, qtName: qt, measure: counterRow(sysv, 4, nCounter, qt, nil)},
			&row{name: "System V counter, 8 processes", unit: "incr/s", higherOK: true, qtName: qt, measure: counterRow(sysv, 8, nCounter, qt, sysvCounterCPU)},
			sysvCounterCPU,
			&row{name: "System V ping-pong Go⇄Go, C⇄C, loaded", unit: "ns/rt", measure: loaded(pingRow(sysv, nPingSysV, "", true, true, nil))},
			&row{name: "System V counter, 4 processes, loaded", unit: "incr/s", higherOK: true, measure: loaded(counterRow(sysv, 4, nCounter, "", nil))},
			&row{name: "System V Create+Attach+Detach+Close", unit: "ns/op", qtName: qt, measure: cycleRow(sysv, nCycle)},
			&row{name: "System V Attach+Detach", unit: "ns/op", qtName: qt, measure: attachRow(sysv, nAttach)},
		)
	} else {
		t.Log("System V backend not registered: its rows are left out")
	}
	if expr := os.Getenv("QIPC_BENCH_ROWS"); expr != "" {
		only, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("QIPC_BENCH_ROWS: %v", err)
		}
		rows = slices.DeleteFunc(rows, func(r *row) bool { return !only.MatchString(r.name) })
	}
	// Rounds interleave the rows so that load from other processes on the
	// machine spreads over all columns alike.
	for i := 0; i < rounds; i++ {
		for _, r := range rows {
			t.Run(fmt.Sprintf("%s/%d", r.name, i), func(t *testing.T) { r.measure(t, r) })
		}
	}

	var sb strings.Builder
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	fmt.Fprintf(&sb, "\nqipc bench: %s, %d CPUs, %s/%s, %s, POSIX fast path %v; medians of %d rounds\n",
		cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), glibcsem.OK, rounds)
	fmt.Fprintf(&sb, "| operation | unit | Go | Go, spin off | C peer | Qt | Go/C | Go/Qt | Go/spin off | Go floor | floor/C |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		qtCol := r.qtC.String()
		if qtCol != "—" && r.qtName != "" {
			qtCol += " (" + r.qtName + ")"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, r.unit, r.goC.String(), r.noSpin.String(), r.cC.String(), qtCol,
			r.ratio(&r.cC), r.ratio(&r.qtC), r.ratio(&r.noSpin), r.floor.String(), r.ratioOf(&r.floor, &r.cC))
	}
	fmt.Print(sb.String())
}
