//go:build cgo && linux

package systest

import (
	"errors"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// TestPeerTMPDIR: Qt 5.15 and 6.4 started with another TMPDIR make their
// legacy System V key files there (QDir::tempPath()). WithPeerTMPDIR
// derives the very names they derive (each peer checks that
// QSharedMemory(name).nativeKey() is the key's native name), and the Go
// side shares the segment and the lock; without it, the names differ and
// there is nothing to attach.
func TestPeerTMPDIR(t *testing.T) {
	skipWithoutBackend(t, qipc.SystemV)
	for _, name := range []string{"qt5", "qt6.4"} {
		t.Run(name, func(t *testing.T) {
			p := peerNamed(name)
			dir := t.TempDir()
			legacy := harness.Name(t)
			k := qipc.LegacySharedMemoryKey(legacy, qipc.SystemV, qipc.WithPeerTMPDIR(dir))
			t.Cleanup(func() { removeForTest(t, k, true) })
			here := qipc.LegacySharedMemoryKey(legacy, qipc.SystemV)
			if here.Native == k.Native {
				t.Fatalf("the peer's key file %s is this process's too", k.Native)
			}
			creator := p.startArgs(t, "create", p.args("create", k, "64", "--hold", "--init", "706565722d746d70"), []string{"TMPDIR=" + dir})
			expectLine(t, name+" create", creator.Line(), "ok size=64")
			if err := qipc.NewSharedMemory(here).Attach(qipc.ReadOnly); !errors.Is(err, qipc.ErrNotFound) {
				t.Errorf("Attach with this process's TMPDIR: %v, want ErrNotFound", err)
			}
			m := qipc.NewSharedMemory(k)
			if err := m.Attach(qipc.ReadWrite); err != nil {
				t.Fatalf("Attach with the peer's TMPDIR: %v", err)
			}
			defer closeWithin(t, m)
			if err := m.Lock(); err != nil {
				t.Fatal(err)
			}
			got := string(m.Data()[:8])
			if err := m.Unlock(); err != nil {
				t.Fatal(err)
			}
			if got != "peer-tmp" {
				t.Errorf("read %q, want the peer's %q", got, "peer-tmp")
			}
			// The lock's key file lies beside the segment's: a peer that
			// holds the lock keeps the Go side out.
			holder := p.startArgs(t, "hold-lock", p.args("hold-lock", k), []string{"TMPDIR=" + dir})
			expectLine(t, name+" hold-lock", holder.Line(), "ok attached")
			stamp(holder, "ok locked at=")
			if ok, err := m.TryLock(); ok || err != nil {
				t.Errorf("TryLock while %s holds the lock: %v, %v; want false", name, ok, err)
				if ok {
					_ = m.Unlock()
				}
			}
			holder.Finish()
		})
	}
}
