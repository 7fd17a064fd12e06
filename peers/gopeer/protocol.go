package gopeer

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/knobs"
)

// The protocol of peers/PROTOCOL.md, with a few commands of its own
// (truncate, poke-ro, --mode, --foreign, --spin) for the permission, fault
// and benchmark tests.

type peerArgs struct {
	cmd, key string
	rest     []string
	ro, hold bool
	nolock   bool
	barrier  bool
	floor    bool          // --floor: counter locks as the smallest Go program (floorLock)
	init     []byte        // --init HEX
	opts     []qipc.Option // --mode OCTAL, --foreign, --spin D (not in the protocol: permission tests, bench)
	lockKey  string
}

func parsePeerArgs(args []string) (peerArgs, error) {
	var a peerArgs
	var pos []string
	for i := 0; i < len(args); i++ {
		// value parses the flag's argument with parse, or says what it
		// needs.
		value := func(what string, parse func(string) error) error {
			if i+1 == len(args) {
				return fmt.Errorf("%s needs %s", args[i], what)
			}
			i++
			if err := parse(args[i]); err != nil {
				return fmt.Errorf("%s: %v", args[i-1], err)
			}
			return nil
		}
		var err error
		switch args[i] {
		case "--ro":
			a.ro = true
		case "--hold":
			a.hold = true
		case "--nolock":
			a.nolock = true
		case "--barrier":
			a.barrier = true
		case "--floor":
			a.floor = true
		case "--foreign":
			a.opts = append(a.opts, qipc.WithForeignOwners())
		case "--spin":
			err = value("a duration", func(v string) error {
				d, err := time.ParseDuration(v)
				a.opts = append(a.opts, qipc.WithSpin(d))
				return err
			})
		case "--mode":
			err = value("OCTAL", func(v string) error {
				mode, err := strconv.ParseUint(v, 8, 32)
				a.opts = append(a.opts, qipc.WithPermissions(fs.FileMode(mode)))
				return err
			})
		case "--init":
			err = value("HEX", func(v string) (err error) {
				a.init, err = hex.DecodeString(v)
				return err
			})
		case "--lock":
			err = value("a key", func(v string) error {
				a.lockKey = v
				return nil
			})
		default:
			pos = append(pos, args[i])
		}
		if err != nil {
			return a, err
		}
	}
	if len(pos) < 2 {
		return a, errors.New("usage: COMMAND KEY [ARGS...]")
	}
	a.cmd, a.key, a.rest = pos[0], pos[1], pos[2:]
	return a, nil
}

// num returns positional argument i after the key as a number, or -1.
func (a peerArgs) num(i int) int {
	if i >= len(a.rest) {
		return -1
	}
	n, err := strconv.Atoi(a.rest[i])
	if err != nil {
		return -1
	}
	return n
}

// peerFail prints the protocol's failure line for err.
func peerFail(stdout io.Writer, err error) int {
	fmt.Fprintf(stdout, "err %v %s\n", qipc.KindOf(err), qipc.QtErrorString(err))
	return 1
}

func goPeerMain(args []string, stdin io.Reader, stdout io.Writer) int {
	knobs.SlicedWaits.Store(os.Getenv("QIPC_SLICED_WAITS") == "1")
	a, err := parsePeerArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopeer:", err)
		return 2
	}
	key, err := qipc.ParseKey(a.key)
	if err != nil {
		return peerFail(stdout, err)
	}
	wait := func() { _, _ = io.Copy(io.Discard, stdin) }
	fail := func(err error) int { return peerFail(stdout, err) }
	num := a.num
	mode := qipc.ReadWrite
	if a.ro {
		mode = qipc.ReadOnly
	}
	switch a.cmd {
	case "truncate":
		// Not in the protocol: a misbehaving peer that cuts a POSIX
		// segment short under the processes that map it.
		if err := os.Truncate("/dev/shm/"+strings.TrimPrefix(key.Native, "/"), int64(num(0))); err != nil {
			fmt.Fprintln(stdout, "err UnknownError truncate:", err)
			return 1
		}
		fmt.Fprintln(stdout, "ok")
		return 0
	case "poke-ro":
		// Not in the protocol: proves a read-only mapping faults on write.
		m := qipc.NewSharedMemory(key)
		if err := m.Attach(qipc.ReadOnly); err != nil {
			return fail(err)
		}
		m.Data()[0] = 1
		fmt.Fprintln(stdout, "ok wrote through a read-only mapping")
		return 0
	case "create", "attach", "read", "write", "hold-lock", "counter", "contend":
		m := qipc.NewSharedMemory(key, a.opts...)
		switch a.cmd {
		case "create":
			err = m.Create(num(0), mode)
		case "read":
			err = m.Attach(qipc.ReadOnly)
		default:
			err = m.Attach(mode)
		}
		if err != nil {
			m.Close()
			return fail(err)
		}
		// lock and unlock are the peer's own calls, which the mutation
		// check makes lie (tools/verify.sh: peer-lies, victim-no-lock).
		skipLock := a.nolock
		lock := func() error {
			if skipLock {
				return nil
			}
			return m.Lock()
		}
		unlock := func() error {
			if skipLock {
				return nil
			}
			return m.Unlock()
		}
		initData := func(held bool) error {
			if len(a.init) > m.Size() {
				fmt.Fprintln(os.Stderr, "gopeer: --init longer than the segment")
				return &qipc.Error{QtOp: "gopeer --init", Key: key, Kind: qipc.InvalidSize}
			}
			if a.init == nil {
				return nil
			}
			if !held {
				if err := lock(); err != nil {
					return err
				}
			}
			copy(m.Data(), a.init)
			if !held {
				return unlock()
			}
			return nil
		}
		// finish holds if asked, then closes, reporting a failed clean-up
		// as a failure of the command, as the protocol asks.
		finish := func(hold bool) int {
			if hold {
				wait()
			}
			if err := m.Close(); err != nil {
				return fail(err)
			}
			return 0
		}
		switch a.cmd {
		case "create", "attach":
			if err := initData(false); err != nil {
				m.Close()
				return fail(err)
			}
			fmt.Fprintf(stdout, "ok size=%d\n", m.Size())
		case "read":
			off, n := num(0), num(1)
			if off < 0 || n < 0 || off+n > m.Size() {
				fmt.Fprintln(os.Stderr, "gopeer: read OFFSET LEN out of range")
				return 2
			}
			if err := lock(); err != nil {
				m.Close()
				return fail(err)
			}
			out := hex.EncodeToString(m.Data()[off : off+n])
			if err := unlock(); err != nil {
				m.Close()
				return fail(err)
			}
			fmt.Fprintf(stdout, "ok hex=%s\n", out)
		case "write":
			off := num(0)
			var b []byte
			if len(a.rest) > 1 {
				b, err = hex.DecodeString(a.rest[1])
			}
			if off < 0 || err != nil || off+len(b) > m.Size() {
				fmt.Fprintln(os.Stderr, "gopeer: write OFFSET HEX out of range")
				return 2
			}
			if err := lock(); err != nil {
				m.Close()
				return fail(err)
			}
			copy(m.Data()[off:], b)
			if err := unlock(); err != nil {
				m.Close()
				return fail(err)
			}
			fmt.Fprintln(stdout, "ok")
		case "hold-lock":
			fmt.Fprintln(stdout, "ok attached")
			if a.barrier {
				waitLine(stdin)
			}
			if err := lock(); err != nil {
				m.Close()
				return fail(err)
			}
			if err := initData(true); err != nil {
				m.Close()
				return fail(err)
			}
			fmt.Fprintf(stdout, "ok locked at=%d\n", time.Now().UnixNano())
			wait()
			t := time.Now().UnixNano()
			if err := unlock(); err != nil {
				m.Close()
				return fail(err)
			}
			fmt.Fprintf(stdout, "ok unlocked at=%d\n", t)
			return finish(false)
		case "counter":
			n := num(0)
			data := m.Data()
			if len(data) < 8 {
				fmt.Fprintln(os.Stderr, "gopeer: counter needs 8 bytes")
				return 2
			}
			if a.floor {
				var done func()
				if lock, unlock, done, err = floorLock(key); err != nil {
					m.Close()
					fmt.Fprintln(os.Stderr, "gopeer: --floor:", err)
					return 2
				}
				defer done()
			}
			if a.barrier {
				fmt.Fprintln(stdout, "ready")
				waitLine(stdin)
			}
			var last uint64
			for i := 0; i < n; i++ {
				if err := lock(); err != nil {
					m.Close()
					return fail(err)
				}
				v := binary.LittleEndian.Uint64(data)
				yieldCPU()
				last = v + 1
				binary.LittleEndian.PutUint64(data, last)
				if err := unlock(); err != nil {
					m.Close()
					return fail(err)
				}
			}
			fmt.Fprintf(stdout, "ok last=%d\n", last)
		case "contend":
			hold := time.Duration(num(0)) * time.Millisecond
			if a.barrier {
				fmt.Fprintln(stdout, "ready")
				waitLine(stdin)
			}
			count := 0
			for end := time.Now().Add(time.Duration(num(1)) * time.Millisecond); time.Now().Before(end); count++ {
				if err := lock(); err != nil {
					m.Close()
					return fail(err)
				}
				time.Sleep(hold)
				if err := unlock(); err != nil {
					m.Close()
					return fail(err)
				}
			}
			fmt.Fprintf(stdout, "ok count=%d\n", count)
		}
		return finish(a.hold)
	case "sem-create", "sem-acquire", "sem-release":
		var s *qipc.Semaphore
		if a.cmd == "sem-create" {
			s, err = qipc.NewSemaphore(key, num(0), qipc.SemaphoreCreate, a.opts...)
		} else {
			s, err = qipc.NewSemaphore(key, 0, qipc.SemaphoreOpen, a.opts...)
		}
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		switch a.cmd {
		case "sem-acquire":
			n := num(0)
			if n < 0 {
				n = 1
			}
			for i := 0; i < n; i++ {
				if err := s.Acquire(); err != nil {
					return fail(err)
				}
			}
		case "sem-release":
			if err := s.Release(num(0)); err != nil {
				return fail(err)
			}
		}
		fmt.Fprintln(stdout, "ok")
		if a.hold {
			wait()
		}
		return 0
	case "bench-lock", "bench-sem", "bench-cycle", "pingpong":
		return goPeerBench(a, key, stdin, stdout) // bench_test.go
	}
	fmt.Fprintln(os.Stderr, "gopeer: unknown command", a.cmd)
	return 2
}

// waitLine is the --barrier wait: one line (or EOF) on stdin, read a byte
// at a time so that nothing after it is consumed.
func waitLine(stdin io.Reader) {
	var b [1]byte
	for {
		n, err := stdin.Read(b[:])
		if err != nil || n == 1 && b[0] == '\n' {
			return
		}
	}
}
