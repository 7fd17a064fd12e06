//go:build cgo && linux

package systest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
)

// TestQtErrorTexts compares, failure by failure, the line each real peer
// prints ("err <Kind> <errorString()>") with what the library says for the
// same failure: Qt 6.12 (PySide6) and the C peer, which follows Qt 6.6+,
// with QtErrorString; Qt 5.15 and 6.4 with LegacyQtErrorString. The table
// it logs is the one in docs/qt-ipc.md.
func TestQtErrorTexts(t *testing.T) {
	type failure struct {
		name   string
		typ    qipc.KeyType
		legacy bool
		// setup prepares the key; cmd is the peer command that fails;
		// goOp does the same in this process.
		setup func(t *testing.T, k qipc.Key)
		cmd   []string
		goOp  func(k qipc.Key) error
	}
	attach := func(k qipc.Key) error {
		m := qipc.NewSharedMemory(k)
		defer closeWithin(t, m)
		return m.Attach(qipc.ReadWrite)
	}
	create := func(size int) func(k qipc.Key) error {
		return func(k qipc.Key) error {
			m := qipc.NewSharedMemory(k)
			defer closeWithin(t, m)
			return m.Create(size, qipc.ReadWrite)
		}
	}
	exists := func(t *testing.T, k qipc.Key) { mustCreate(t, k, 16) }
	keyFileOnly := func(t *testing.T, k qipc.Key) {
		if err := os.WriteFile(k.Native, nil, 0o640); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(k.Native) })
	}
	var failures []failure
	for _, b := range []struct {
		name   string
		typ    qipc.KeyType
		legacy bool
	}{{"systemv-legacy", qipc.SystemV, true}, {"systemv", qipc.SystemV, false}, {"posix", qipc.PosixRealtime, false}} {
		failures = append(failures,
			failure{b.name + ": attach, nothing there", b.typ, b.legacy, nil, []string{"attach"}, attach},
			failure{b.name + ": create, exists", b.typ, b.legacy, exists, []string{"create", "16"}, create(16)},
			failure{b.name + ": create, size 0", b.typ, b.legacy, nil, []string{"create", "0"}, create(0)},
			failure{b.name + ": create, size -1", b.typ, b.legacy, nil, []string{"create", "-1"}, create(-1)},
		)
		if b.typ == qipc.SystemV {
			failures = append(failures, failure{b.name + ": attach, key file but no segment", b.typ, b.legacy, keyFileOnly, []string{"attach"}, attach})
		}
		if huge, ok := asInt(1 << 62); ok && !b.legacy {
			// Qt 5's create takes an int: only the Qt 6 peers ask for this.
			failures = append(failures, failure{b.name + ": create, 2^62 bytes", b.typ, b.legacy, nil, []string{"create", "4611686018427387904"}, create(huge)})
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| failure | peer | its line | qipc |\n|---|---|---|---|\n")
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			skipWithoutBackend(t, f.typ)
			for _, p := range peers {
				if p.name == "go" || f.typ == qipc.PosixRealtime && !p.posix || p.legacyOnly && !f.legacy {
					continue
				}
				// A subtest per peer, so that each one's objects are gone
				// before the next: a Qt 6.6+ create that fails removes the
				// key file it shares with a live System V segment, and the
				// next key file may then get its inode and its ftok key.
				t.Run(p.name, func(t *testing.T) {
					p.require(t)
					k := testShmKey(t, f.typ, f.legacy)
					if f.setup != nil {
						f.setup(t, k)
					}
					// The library first: a Qt peer's failed create may leave
					// a segment behind (POSIX: Qt never unlinks one).
					err := f.goOp(k)
					got := p.run(t, f.cmd[0], k, f.cmd[1:]...)
					text := qipc.QtErrorString(err)
					if p.legacyOnly {
						text = qipc.LegacyQtErrorString(err)
					}
					want := "err " + qipc.KindOf(err).String() + " " + text
					fmt.Fprintf(&table, "| %s | %s | `%s` | `%s` |\n", f.name, p.name, got, want)
					if got != want {
						t.Errorf("%s printed %q; the library says %q", p.name, got, want)
					}
				})
			}
		})
	}
	t.Logf("error texts, real peers against the library:\n%s", table.String())
}

// TestFaultSaysTruncation (adversarial review): a ReadOnly object whose
// Locked fn only reads, faulting because a peer truncated the POSIX
// segment, is told of the truncation, not of a write.
func TestFaultSaysTruncation(t *testing.T) {
	skipWithoutBackend(t, qipc.PosixRealtime)
	k := testShmKey(t, qipc.PosixRealtime, false)
	mustCreate(t, k, 1<<20)
	ro := qipc.NewSharedMemory(k)
	defer closeWithin(t, ro)
	if err := ro.Attach(qipc.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate("/dev/shm"+k.Native, 0); err != nil {
		t.Fatal(err)
	}
	_, err := ro.ReadAt(make([]byte, 1), 1<<20-1)
	errs := []error{err}
	if !emulated() { // qemu-user gives the fault no address: Locked cannot tell it (TestTruncatedSegmentFault)
		errs = append(errs, ro.Locked(t.Context(), func(data []byte) error {
			faultSink = data[len(data)-1] // a read only
			return nil
		}))
	}
	for _, err := range errs {
		if !errors.Is(err, qipc.ErrFault) || !strings.Contains(err.Error(), "a peer truncated the segment") ||
			strings.Contains(err.Error(), "attached ReadOnly") {
			t.Errorf("a read that faulted on a truncated segment: %v", err)
		}
	}
}

// TestNotFoundNamesNamesakes (issue 28, item 8): the commonest miss, a Qt 5
// program's segment (legacy System V) looked for under the Qt 6.6+ POSIX
// name, says under which key the name exists.
func TestNotFoundNamesNamesakes(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	skipWithoutBackend(t, qipc.PosixRealtime)
	if testLibc() == "musl" {
		t.Skip("musl build: a Qt 6.6+ POSIX segment key is refused before any look (TestLibcRules)")
	}
	legacy := testShmKey(t, qipc.SystemV, true)
	mustCreate(t, legacy, 64)
	err := qipc.NewSharedMemory(qipc.SharedMemoryKey(legacy.LegacyKey, qipc.PosixRealtime)).Attach(qipc.ReadOnly)
	if !errors.Is(err, qipc.ErrNotFound) || !strings.Contains(err.Error(), "a segment of that name exists as "+legacy.String()) {
		t.Errorf("Attach under the Qt 6.6+ name of a Qt 5 segment:\n got %v\nwant NotFound naming %s", err, legacy)
	}
	// A name that exists nowhere keeps the plain remedy.
	err = qipc.NewSharedMemory(qipc.SharedMemoryKey(legacy.LegacyKey+"x", qipc.PosixRealtime)).Attach(qipc.ReadOnly)
	if !errors.Is(err, qipc.ErrNotFound) || strings.Contains(err.Error(), "exists as") {
		t.Errorf("Attach of a name that exists nowhere: %v", err)
	}
}
