//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/harness"
)

// `qipc cat --qdatastream` and `--image` end to end: real Qt programs put
// a QDataStream into a segment, the built binary decodes it.

// The Qt programs that put a QDataStream into a segment: the QDataStream
// peers (peers/qdatastream, publish mode) and the programs of peers/seed.
var (
	qdsPeer5 = harness.Binary("qdspeer5", "apt-get install qtbase5-dev, then `make peers`")
	qdsPeer6 = harness.Binary("qdspeer6", "apt-get install qt6-base-dev, then `make peers`")
	seeds    = map[string]harness.Program{
		"qt5":     harness.Binary("seed5", "apt-get install qtbase5-dev, then `make peers`"),
		"qt6":     harness.Binary("seed6", "apt-get install qt6-base-dev, then `make peers`"),
		"pyside6": harness.PySideGUI("seed/seed.py"),
	}
)

// TestCatQDataStreamMap reads the QVariantMap of mixed types that the Qt
// 5.15 and 6.4 QDataStream peers publish (peer.cpp's publish mode).
func TestCatQDataStreamMap(t *testing.T) {
	for _, c := range []struct {
		file string
		prog harness.Program
		ver  int
	}{{"qdspeer5", qdsPeer5, 19}, {"qdspeer6", qdsPeer6, 20}, {"qdspeer6", qdsPeer6, 19}} {
		t.Run(c.file+"/v"+strconv.Itoa(c.ver), func(t *testing.T) {
			bin := c.prog.Require(t, c.file)
			name, _ := uniqueName("qds")
			k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
			cleanupKey(t, k)
			p := startPeer(t, bin, "publish", name, strconv.Itoa(c.ver))
			if l := p.Line(); !strings.HasPrefix(l, "ok size=") {
				t.Fatalf("publish: %q", l)
			}
			out := mustQ(t, "", "cat", k.String(), "--qdatastream", "--qds-version", strconv.Itoa(c.ver))
			var v struct {
				Type  string
				Value map[string]struct {
					Type  string
					Value json.RawMessage
				}
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v in\n%s", err, out)
			}
			if v.Type != "QVariantMap" || len(v.Value) != 13 {
				t.Fatalf("want a QVariantMap of 13, got %s with %d:\n%s", v.Type, len(v.Value), out)
			}
			for key, want := range map[string]string{
				"name":  `QString "frame"`,
				"count": `int 42`,
				"ratio": `double 0.5`,
				"color": `QColor {"Spec":1,"Alpha":65535,"C":[257,514,771,0]}`,
				"pos":   `QPointF {"X":1.5,"Y":-2}`,
				"url":   `QUrl "https://example.org/a"`,
				"tags":  `QStringList ["a","b"]`,
				"char":  `QChar 9786`,
				"bits":  `QBitArray {"Len":3,"Bits":"Bw=="}`,
				"json":  `QJsonDocument {"k":[1,2]}`,
				"when":  `QDateTime "2024-02-29T13:14:15.000Z"`,
				"list":  `QVariantList [{"type":"int","value":1},{"type":"QString","value":"x"}]`,
			} {
				e := v.Value[key]
				var c bytes.Buffer
				_ = json.Compact(&c, e.Value)
				if got := e.Type + " " + c.String(); got != want {
					t.Errorf("%s: %s, want %s", key, got, want)
				}
			}
			if f := v.Value["font"]; f.Type != "QFont" || !strings.Contains(string(f.Value), `"Family": "Sans"`) {
				t.Errorf("font: %s %s", f.Type, f.Value)
			}
		})
	}
}

// TestCatImageFromSeed writes the QPixmap that the seed programs (Qt
// 5.15, Qt 6.4, PySide6) save as a PNG, and reads it as QDataStream.
func TestCatImageFromSeed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.png")
	orig := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range orig.Pix {
		orig.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(orig.Pix); i += 4 {
		orig.Pix[i] = 0xff
	}
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, orig); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Each seed program that is there runs; a missing one fails the test
	// in CI only, and the test skips when none is there.
	progs := map[string][]string{}
	for name, prog := range seeds {
		if argv, why := prog(); why == "" {
			progs[name] = argv
		} else if os.Getenv("CI") == "true" {
			t.Errorf("seed program %s missing in CI: %s", name, why)
		}
	}
	if len(progs) == 0 {
		harness.Missing(t, "the seed programs", "make peers venv")
	}
	for pname, argv := range progs {
		t.Run(pname, func(t *testing.T) {
			name, _ := uniqueName("seed")
			k := qipc.LegacySharedMemoryKey(name, qipc.SystemV)
			cleanupKey(t, k)
			p := startPeer(t, argv, "save", name, src)
			if l := p.Line(); !strings.HasPrefix(l, "ok size=") {
				t.Fatalf("save: %q", l)
			}
			out := filepath.Join(dir, pname+".png")
			mustQ(t, "", "cat", k.String(), "--image", out)
			got := readPNGFile(t, out)
			if got.Bounds() != orig.Bounds() {
				t.Fatalf("image %v, want %v", got.Bounds(), orig.Bounds())
			}
			for y := range 3 {
				for x := range 5 {
					if a, b := color.NRGBAModel.Convert(got.At(x, y)), orig.At(x, y); a != b {
						t.Fatalf("pixel %d,%d: %v, want %v", x, y, a, b)
					}
				}
			}
			js := mustQ(t, "", "cat", k.String(), "--qdatastream", "--types", "QPixmap")
			if !strings.Contains(js, `"width": 5`) || !strings.Contains(js, `"height": 3`) {
				t.Errorf("--types QPixmap: %s", js)
			}
		})
	}
}

// TestCatQDataStreamErrors: bad flags and bytes that are not what the
// flags say give a clear error, never a crash.
func TestCatQDataStreamErrors(t *testing.T) {
	name, _ := uniqueName("qdsbad")
	k := qipc.SharedMemoryKey(name, qipc.SystemV)
	cleanupKey(t, k)
	mustQ(t, "", "create", k.String(), "8")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--qdatastream", "--types", "QNothing"}, `unknown type "QNothing"`},
		{[]string{"--qdatastream", "--types", "QString,QString,QString"}, "unexpected EOF"},
		{[]string{"--image", filepath.Join(t.TempDir(), "x.png")}, "no image"},
	} {
		r := runQ(t, "", append([]string{"cat", k.String()}, c.args...)...)
		if r.code != exitFail || !strings.Contains(r.err, c.want) {
			t.Errorf("cat %v: exit %d, %q; want exit 1 saying %q", c.args, r.code, r.err, c.want)
		}
	}
}

func readPNGFile(t *testing.T, file string) image.Image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
