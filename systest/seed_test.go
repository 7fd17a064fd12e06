//go:build linux

package systest

import (
	"bufio"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// The seed program (README, examples/sharedimage): a saver puts an image
// into QSharedMemory("Shared") as `QDataStream out(&buffer); out << pixmap`
// writes it, a loader takes it out. The Go program and the real Qt
// program (peers/seed: Qt 5.15 and 6.4 with QtGui, offscreen; PySide6)
// in every pairing, with a partly transparent image; the pixels must be
// exactly what the Qt loader (or, with a Go loader, the Qt saver) makes of
// the same image between two Qt processes. QPixmap premultiplies alpha, so
// a partly transparent pixel comes back rounded from any Qt; between Go
// processes the image comes back as it was.

type seedProg struct {
	name string
	argv []string
}

// seedProgs returns the four programs, the Go one built once per run; one
// that is missing skips the test (fails it under CI=true).
func seedProgs(t *testing.T) []seedProg {
	var progs []seedProg
	for _, p := range []struct {
		name string
		prog harness.Program
	}{
		{"go", harness.Built("./examples/sharedimage", "")},
		{"qt5", harness.Binary("seed5", "apt-get install qtbase5-dev, then `make peers`")},
		{"qt6.4", harness.Binary("seed6", "apt-get install qt6-base-dev, then `make peers`")},
		{"pyside6", harness.PySideGUI("seed/seed.py")},
	} {
		progs = append(progs, seedProg{p.name, p.prog.Require(t, p.name+" seed")})
	}
	return progs
}

// seedSaver is a running save.
type seedSaver struct {
	prog  seedProg
	cmd   *exec.Cmd
	stdin io.WriteCloser
	line  string
	done  chan error
}

func (p seedProg) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.argv[0], append(p.argv[1:], args...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// seedArgs is the command line of a save or load: the Go program takes the
// name as a flag, the Qt ones as an argument.
func (p seedProg) seedArgs(cmd, name, file string) []string {
	if p.name == "go" {
		return []string{"-name", name, "-type", "systemv", cmd, file}
	}
	return []string{cmd, name, file}
}

// save starts a saver and waits until it has put the image there.
func (p seedProg) save(t *testing.T, name, file string) *seedSaver {
	t.Helper()
	s := &seedSaver{prog: p, cmd: p.command(p.seedArgs("save", name, file)...), done: make(chan error, 1)}
	s.stdin, _ = s.cmd.StdinPipe()
	stdout, _ := s.cmd.StdoutPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t, false) })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		s.done <- s.cmd.Wait()
	}()
	select {
	case s.line = <-lines:
	case <-time.After(harness.Timeout()):
		t.Fatalf("%s save: no line within %v", p.name, harness.Timeout())
	}
	return s
}

// stop ends a saver as its user would (Ctrl-C, or closing the Qt window)
// and reports how it exited; kill ends it with SIGKILL instead. Only the
// first stop does anything.
func (s *seedSaver) stop(t *testing.T, kill bool) error {
	if s.done == nil {
		return nil
	}
	switch {
	case kill:
		_ = s.cmd.Process.Kill()
	case s.prog.name == "go":
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	default:
		_ = s.stdin.Close()
	}
	select {
	case err := <-s.done:
		s.done = nil
		return err
	case <-time.After(harness.Timeout()):
		_ = s.cmd.Process.Kill()
		t.Errorf("%s saver did not end within %v", s.prog.name, harness.Timeout())
		return errors.New("killed")
	}
}

// load runs a loader into out and returns its line.
func (p seedProg) load(t *testing.T, name, out string) string {
	t.Helper()
	b, err := p.command(p.seedArgs("load", name, out)...).Output()
	if err != nil {
		t.Fatalf("%s load: %v (%s)", p.name, err, b)
	}
	return strings.TrimSpace(string(b))
}

// seedSetup skips where the seed tests cannot run and returns their
// directory, the four programs and the image file.
func seedSetup(t *testing.T) (dir string, progs []seedProg, src string) {
	if testing.Short() {
		t.Skip("starts Qt and Python processes; run without -short")
	}
	skipWithoutBackend(t, qipc.SystemV)
	dir = t.TempDir()
	progs = seedProgs(t)
	src = filepath.Join(dir, "in.png")
	writePNG(t, src, seedImage())
	return dir, progs, src
}

func TestSeedProgram(t *testing.T) {
	dir, progs, src := seedSetup(t)
	orig := seedImage()

	results := map[string]*image.NRGBA{} // saver→loader: what the loader wrote
	for _, s := range progs {
		for _, l := range progs {
			pair := s.name + "→" + l.name
			t.Run(pair, func(t *testing.T) {
				t.Cleanup(func() {
					recordMatrix(t, "seed program (QSharedMemory(\"Shared\"), QDataStream << QPixmap)", "save→load", pair)
				})
				name := harness.Name(t)
				key := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
				t.Cleanup(func() { removeForTest(t, key, true) })
				saver := s.save(t, name, src)
				if !strings.HasPrefix(saver.line, "ok size=") && !strings.HasPrefix(saver.line, "saved 37x23 image") {
					t.Fatalf("%s save: %q", s.name, saver.line)
				}
				out := filepath.Join(dir, strings.ReplaceAll(pair, "→", "-")+".png")
				if line := l.load(t, name, out); line != "ok 37x23" && !strings.HasPrefix(line, "loaded 37x23 image") {
					t.Fatalf("%s load: %q", l.name, line)
				}
				if err := saver.stop(t, false); err != nil {
					t.Fatalf("%s saver ended with %v, want a clean exit", s.name, err)
				}
				if u, err := qipc.Inspect(key); err != nil || u.Exists {
					t.Fatalf("after the %s saver ended: %+v, %v; want the segment gone", s.name, u, err)
				}
				results[pair] = readPNG(t, out)
			})
		}
	}
	// Each result against the Qt that touched the image last with QPixmap:
	// the loader's own round trip, else the saver's, else the original.
	rounded := 0
	for _, s := range progs {
		for _, l := range progs {
			got := results[s.name+"→"+l.name]
			ref, want := orig, "the original"
			switch {
			case l.name != "go":
				ref, want = results[l.name+"→"+l.name], l.name+"→"+l.name
			case s.name != "go":
				ref, want = results[s.name+"→"+s.name], s.name+"→"+s.name
			}
			if got == nil || ref == nil {
				continue // that cell failed already
			}
			if n := pixelDiff(got, ref); n != 0 {
				t.Errorf("%s→%s: %d pixels differ from %s", s.name, l.name, n, want)
			}
		}
	}
	if q := results["qt5→qt5"]; q != nil {
		rounded = pixelDiff(q, orig)
	}
	t.Logf("every pairing pixel-identical to its Qt reference; %d of %d pixels come back premultiplied and rounded from Qt", rounded, 37*23)
}

// TestSeedProgramCrash: a Go saver killed with SIGKILL leaves its segment;
// the next Go saver replaces it and a Qt loader finds the new image; a
// live Qt saver's segment is never replaced, and the Go saver says who
// holds it.
func TestSeedProgramCrash(t *testing.T) {
	dir, progs, src := seedSetup(t)
	goProg, qt := progs[0], progs[1]
	name := harness.Name(t)
	key := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
	t.Cleanup(func() { removeForTest(t, key, true) })

	killed := goProg.save(t, name, src)
	_ = killed.stop(t, true)
	if u, err := qipc.Inspect(key); err != nil || !u.Stale {
		t.Fatalf("after SIGKILL: %+v, %v; want a stale segment", u, err)
	}
	again := goProg.save(t, name, src)
	if !strings.HasPrefix(again.line, "saved 37x23 image") {
		t.Fatalf("second Go saver: %q, want it to replace the stale segment", again.line)
	}
	if line := qt.load(t, name, filepath.Join(dir, "out.png")); line != "ok 37x23" {
		t.Fatalf("%s load after the replacement: %q", qt.name, line)
	}
	if err := again.stop(t, false); err != nil {
		t.Fatal(err)
	}

	live := qt.save(t, name, src)
	cmd := goProg.command(goProg.seedArgs("save", name, src)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "another saver holds the image") {
		t.Fatalf("Go saver while %s saves: %v, %q; want it to refuse and say so", qt.name, err, stderr.String())
	}
	t.Logf("Go saver next to a live one: %s", strings.TrimSpace(stderr.String()))
	if line := goProg.load(t, name, filepath.Join(dir, "out2.png")); !strings.HasPrefix(line, "loaded 37x23 image") {
		t.Fatalf("the live saver's image after the refused save: %q", line)
	}
	if err := live.stop(t, false); err != nil {
		t.Fatal(err)
	}
}

// seedImage is 37×23 pixels of every kind: opaque, clear and partly
// transparent with odd colours, which premultiplication rounds.
func seedImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for y := 0; y < 23; y++ {
		for x := 0; x < 37; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x*y + 3), uint8(255 - (x*5+y*3)%256)})
		}
	}
	return img
}

func writePNG(t *testing.T, file string, img image.Image) {
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readPNG(t *testing.T, file string) *image.NRGBA {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	n := image.NewNRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			n.Set(x, y, img.At(x, y))
		}
	}
	return n
}

// pixelDiff counts the pixels that differ; fully transparent pixels are
// equal whatever their colour (Qt drops it).
func pixelDiff(a, b *image.NRGBA) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			p, q := a.NRGBAAt(x, y), b.NRGBAAt(x, y)
			if p != q && (p.A != 0 || q.A != 0) {
				n++
			}
		}
	}
	return n
}
