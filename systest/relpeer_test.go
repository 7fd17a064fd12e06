//go:build cgo && linux

package systest

import (
	"os"
	"testing"

	"github.com/qipc-go/qipc"
)

// The reliability peer (the test binary run again as a peer, for the
// states the protocol's peers cannot stop in), and what every reliability
// test shares: the stress scale.

// stressMode is set by `make stress`: the long versions run.
var stressMode = os.Getenv("QIPC_STRESS") == "1"

// scaled returns long under QIPC_STRESS=1, else short.
func scaled(short, long int) int {
	if stressMode {
		return long
	}
	return short
}

func relStart(t *testing.T, cmd string, k qipc.Key, size string) *proc {
	t.Helper()
	return spawn(t, "relpeer", append(goPeerArgv(t), cmd, k.String(), size), nil, nil)
}
