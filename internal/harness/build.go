package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// progs is the directory that Built puts this test binary's programs in,
// made on first use and removed by Main.
var progs struct {
	sync.Mutex
	dir   string
	built map[string]*builtProg
}

type builtProg struct {
	once sync.Once
	path string
	err  error
}

// Built is a program of this module (pkg, a directory relative to the
// root, "./cmd/qipc"), built for this machine from the sources beside the
// test that runs it (a mutation check's copy builds its own), once per test
// binary. env names a program built elsewhere instead, run like this
// module's test binaries (Native): the arm64, musl and Wine runs build
// their Go peer for their target; "" takes none. A program that does not
// build fails the test that needs it, also outside CI: it is broken, not
// missing. The directory it goes to is readable by every user, for the
// tests that run it as another user.
func Built(pkg, env string) Program { return built(pkg, env, false) }

// built is Built, with the race detector when race is set and the test
// binary has it.
func built(pkg, env string, race bool) Program {
	return func() ([]string, string) {
		if p := os.Getenv(env); env != "" && p != "" {
			return Native(p), ""
		}
		progs.Lock()
		if progs.built == nil {
			progs.built = map[string]*builtProg{}
		}
		b := progs.built[pkg]
		if b == nil {
			b = &builtProg{}
			progs.built[pkg] = b
		}
		progs.Unlock()
		b.once.Do(func() { b.path, b.err = build(pkg, race && raceEnabled) })
		if b.err != nil {
			return nil, brokenMark + b.err.Error()
		}
		return []string{b.path}, ""
	}
}

func build(pkg string, race bool) (string, error) {
	progs.Lock()
	if progs.dir == "" {
		// Under the build directory, not the temp dir: a test binary that
		// panics or times out leaves it there, not among the objects the
		// leftover check looks for.
		parent := filepath.Join(BuildDir(), "progs")
		err := os.MkdirAll(parent, 0o755)
		var d string
		if err == nil {
			d, err = os.MkdirTemp(parent, "run-")
		}
		if err == nil {
			err = os.Chmod(d, 0o755)
		}
		if err != nil {
			progs.Unlock()
			return "", err
		}
		progs.dir = d
	}
	dir := progs.dir
	progs.Unlock()
	out := filepath.Join(dir, filepath.Base(pkg))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	c := exec.Command("go", append(args, pkg)...)
	c.Dir = Root()
	if b, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// GoPeer is the Go peer (peers/go), with the race detector when the tests
// have it: the library runs in it as in the tests. QIPC_GOPEER names one
// built elsewhere.
var GoPeer = built("./peers/go", "QIPC_GOPEER", true)

// Main runs the tests and removes the programs Built made for them; a
// package's TestMain returns through it: os.Exit(harness.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	progs.Lock()
	defer progs.Unlock()
	if progs.dir != "" {
		if err := os.RemoveAll(progs.dir); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
		}
	}
	return code
}
