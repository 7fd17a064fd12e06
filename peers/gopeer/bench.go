package gopeer

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/qipc-go/qipc"
)

func GoLockLoop(m *qipc.SharedMemory, n int) error {
	for i := 0; i < n; i++ {
		if err := m.Lock(); err != nil {
			return err
		}
		if err := m.Unlock(); err != nil {
			return err
		}
	}
	return nil
}

func GoSemLoop(s *qipc.Semaphore, n int) error {
	for i := 0; i < n; i++ {
		if err := s.Acquire(); err != nil {
			return err
		}
		if err := s.Release(1); err != nil {
			return err
		}
	}
	return nil
}

// GoPingPong is the C peer's pingpong: role a releases s1 and takes s2,
// role b takes s1 and releases s2; one round trip is two hand-overs.
func GoPingPong(s1, s2 *qipc.Semaphore, n int, roleA bool) error {
	for i := 0; i < n; i++ {
		if roleA {
			if err := s1.Release(1); err != nil {
				return err
			}
			if err := s2.Acquire(); err != nil {
				return err
			}
		} else {
			if err := s1.Acquire(); err != nil {
				return err
			}
			if err := s2.Release(1); err != nil {
				return err
			}
		}
	}
	return nil
}

// GoCycle is one Create+Attach+Detach+Close cycle: a creator makes the
// segment, a second object attaches and detaches, the creator closes
// (which removes the segment: Qt's System V last detach, Qt 6.6+'s POSIX
// creator rule).
func GoCycle(k qipc.Key, size int) error {
	c := qipc.NewSharedMemory(k)
	if err := c.Create(size, qipc.ReadWrite); err != nil {
		return err
	}
	a := qipc.NewSharedMemory(k)
	err := a.Attach(qipc.ReadWrite)
	if err == nil {
		err = a.Detach()
	}
	_ = a.Close()
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

func GoAttachLoop(k qipc.Key, n int) error {
	m := qipc.NewSharedMemory(k, qipc.WithoutCleanup())
	defer m.Close()
	for i := 0; i < n; i++ {
		if err := m.Attach(qipc.ReadWrite); err != nil {
			return err
		}
		if err := m.Detach(); err != nil {
			return err
		}
	}
	return nil
}

func Timed(n int, fn func() error) (float64, error) {
	t0 := time.Now()
	err := fn()
	return float64(time.Since(t0).Nanoseconds()) / float64(max(n, 1)), err
}

// goPeerBench serves the Go peer's bench commands (peers/c/README.md):
// bench-lock KEY N, bench-sem KEY N, pingpong KEY1 KEY2 N ROLE, and the
// cycle/attach commands bench-cycle KEY N SIZE and bench-attach KEY N.
func goPeerBench(a peerArgs, key qipc.Key, stdin io.Reader, stdout io.Writer) int {
	fail := func(err error) int { return peerFail(stdout, err) }
	arg := a.num
	switch a.cmd {
	case "bench-lock":
		m := qipc.NewSharedMemory(key)
		defer m.Close()
		if err := m.Attach(qipc.ReadWrite); err != nil {
			return fail(err)
		}
		n := arg(0)
		ns, err := Timed(n, func() error { return GoLockLoop(m, n) })
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "ok ns_per_op=%.1f\n", ns)
	case "bench-sem":
		s, err := qipc.NewSemaphore(key, 1, qipc.SemaphoreCreate)
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		n := arg(0)
		ns, err := Timed(n, func() error { return GoSemLoop(s, n) })
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "ok ns_per_op=%.1f\n", ns)
	case "bench-cycle":
		n, size := arg(0), arg(1)
		ns, err := Timed(n, func() error {
			for i := 0; i < n; i++ {
				if err := GoCycle(key, size); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "ok ns_per_op=%.1f\n", ns)
	case "pingpong":
		if len(a.rest) != 3 || (a.rest[2] != "a" && a.rest[2] != "b") {
			fmt.Fprintln(os.Stderr, "gopeer: pingpong KEY1 KEY2 N a|b")
			return 2
		}
		k2, err := qipc.ParseKey(a.rest[0])
		if err != nil {
			return fail(err)
		}
		s1, err := qipc.NewSemaphore(key, 0, qipc.SemaphoreOpen, a.opts...)
		if err != nil {
			return fail(err)
		}
		defer s1.Close()
		s2, err := qipc.NewSemaphore(k2, 0, qipc.SemaphoreOpen, a.opts...)
		if err != nil {
			return fail(err)
		}
		defer s2.Close()
		n, roleA := arg(1), a.rest[2] == "a"
		ns, err := Timed(n, func() error { return GoPingPong(s1, s2, n, roleA) })
		if err != nil {
			return fail(err)
		}
		if roleA {
			fmt.Fprintf(stdout, "ok ns_per_roundtrip=%.1f\n", ns)
		} else {
			fmt.Fprintln(stdout, "ok")
		}
	default:
		fmt.Fprintln(os.Stderr, "gopeer: unknown command", a.cmd)
		return 2
	}
	if a.hold {
		_, _ = io.Copy(io.Discard, stdin)
	}
	return 0
}

// ---- go test -bench ----
