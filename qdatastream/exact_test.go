package qdatastream

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"
)

// Tests of issue 26's "exact both ways": what Qt wrote comes back out of
// a read and write unchanged.

// qt5ARGB32Opaque is what Qt 5.15 writes for a 2×1 QImage of
// Format_ARGB32 whose pixels are all opaque (`out << img`, Qt_5_15): an
// RGBA PNG, which Qt loads back as Format_ARGB32.
const qt5ARGB32Opaque = "0000000189504e470d0a1a0a0000000d4948445200000002000000010806000000f4227f8a" +
	"000000097048597300000f6100000f6101a83fa7690000001149444154089963f8cfc0f09f81e1ff7f000ff903fd76126ddf" +
	"0000000049454e44ae426082"

// pngColorType returns the colour type in the IHDR of the first PNG in b
// (2: RGB, 6: RGBA; Qt loads them as Format_RGB32 and Format_ARGB32).
func pngColorType(t *testing.T, b []byte) byte {
	t.Helper()
	i := bytes.Index(b, pngSignature)
	if i < 0 || len(b) < i+26 {
		t.Fatalf("no PNG in %x", b)
	}
	return b[i+25]
}

func TestImageKeepsFormat(t *testing.T) {
	in, _ := hex.DecodeString(qt5ARGB32Opaque)
	r := reader(in, Qt_5_15)
	img := r.Image()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	var out bytes.Buffer
	w := NewWriter(&out, Qt_5_15)
	w.Image(img)
	if got := pngColorType(t, out.Bytes()); got != 6 {
		t.Errorf("an opaque ARGB32 QImage from Qt written back with PNG colour type %d, want 6 (RGBA: Qt's ARGB32)", got)
	}

	// New Go images take the format Qt gives the corresponding QImage
	// format: *image.NRGBA is ARGB32 whatever its pixels, an opaque
	// *image.RGBA is RGB32.
	opaque := func(m draw) image.Image {
		for x := range 2 {
			m.Set(x, 0, color.NRGBA{R: 1, G: 2, B: 3, A: 0xff})
		}
		return m
	}
	for _, c := range []struct {
		name string
		img  image.Image
		want byte
	}{
		{"NRGBA", opaque(image.NewNRGBA(image.Rect(0, 0, 2, 1))), 6},
		{"RGBA", opaque(image.NewRGBA(image.Rect(0, 0, 2, 1))), 2},
		{"NRGBA64", opaque(image.NewNRGBA64(image.Rect(0, 0, 2, 1))), 6},
		{"Gray", image.NewGray(image.Rect(0, 0, 2, 1)), 0},
	} {
		out.Reset()
		w := NewWriter(&out, Qt_6_0)
		w.Image(c.img)
		if got := pngColorType(t, out.Bytes()); got != c.want {
			t.Errorf("new opaque %s written with PNG colour type %d, want %d", c.name, got, c.want)
		}
	}
}

type draw interface {
	image.Image
	Set(x, y int, c color.Color)
}

// qt6CustomZone is what Qt 6.4 writes for
// QDateTime(QDate(2024, 2, 29), QTime(13, 14, 15), QTimeZone("MyZone",
// 3600, "My Zone", "MYZ", QLocale::France, "cmt")) at Qt_6_0.
const qt6CustomZone = "0000000000258ad202d72858030000001a004f0066006600730065007400460072006f006d0055007400630000000c004d0079005a006f006e006500000e100000000e004d00790020005a006f006e006500000006004d0059005a00000054000000060063006d0074"

func TestDateTimeCustomZone(t *testing.T) {
	in, _ := hex.DecodeString(qt6CustomZone)
	r := reader(in, Qt_6_0)
	d := r.DateTime()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	tm, err := d.Time(nil)
	if err != nil {
		t.Errorf("Time: %v", err)
	} else if want := time.Date(2024, 2, 29, 12, 14, 15, 0, time.UTC); !tm.Equal(want) {
		t.Errorf("Time: %v, want %v", tm, want)
	} else if _, off := tm.Zone(); off != 3600 {
		t.Errorf("Time's offset %d, want 3600", off)
	}
	var out bytes.Buffer
	w := NewWriter(&out, Qt_6_0)
	w.DateTime(d)
	if !bytes.Equal(out.Bytes(), in) {
		t.Errorf("written back as\n%x, Qt wrote\n%x", out.Bytes(), in)
	}
}

// keep image/png linked for the helpers above
var _ = png.Encode

// What Qt wrote for types whose encoding the peers showed to differ from
// a reading of Qt's documentation: QFont's features (Qt_6_6) and variable
// axes (Qt_6_7), from PySide6 6.12, `out << font` for QFont("Sans") at 12
// points, bold, with the features liga=1 and kern=0 and the axis
// wght=550.5; a QVariant of QEasingCurve(OutElastic) with amplitude 2 from
// Qt 5.15 at Qt_5_0 (no spline points before Qt_5_13); a QVariant of a
// qfloat16 1.5 from Qt 6.4 at Qt_6_0 (a user type named qfloat16).
var qtWrote = []struct {
	name string
	ver  Version
	hex  string
	read func(*Reader) any
	want any
}{
	{"QFont Qt_6_6", Qt_6_6, "0000000800530061006e0073ffffffff4028000000000000ffffffff05000102bc100000010000000000000000000000" +
		"0000010000000800530061006e0073000000026b65726e000000006c69676100000001",
		func(r *Reader) any { f := r.Font(); return [2]any{f.Features, f.Axes} },
		[2]any{[]FontFeature{{FontTagOf("kern"), 0}, {FontTagOf("liga"), 1}}, []FontAxis(nil)}},
	{"QFont Qt_6_7", Qt_6_7, "0000000800530061006e0073ffffffff4028000000000000ffffffff05000102bc100000010000000000000000000000" +
		"0000010000000800530061006e0073000000026b65726e000000006c6967610000000100000001776768744081340000000000",
		func(r *Reader) any { f := r.Font(); return [2]any{f.Features, f.Axes} },
		[2]any{[]FontFeature{{FontTagOf("kern"), 0}, {FontTagOf("liga"), 1}}, []FontAxis{{FontTagOf("wght"), 550.5}}}},
	{"QEasingCurve Qt_5_0", Qt_5_0, "0000001d001e0000000000000000013fd333333333333340000000000000003ffb39abf3387161",
		func(r *Reader) any { return *r.Variant().Value.(EasingCurve).Config },
		EasingConfig{Period: 0.3, Amplitude: 2, Overshoot: 1.70158}},
	{"qfloat16 Qt_6_0", Qt_6_0, "00010000000000000971666c6f61743136003e00",
		func(r *Reader) any { return r.Variant().Value }, User{float16Name, Float16(0x3e00)}},
}

func TestWhatQtWrote(t *testing.T) {
	for _, c := range qtWrote {
		in, _ := hex.DecodeString(c.hex)
		r := reader(in, c.ver)
		got := c.read(r)
		if r.Err() != nil {
			t.Errorf("%s: %v", c.name, r.Err())
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || r.Offset() != int64(len(in)) {
			t.Errorf("%s: read %v and %d of %d bytes, want %v and all", c.name, got, r.Offset(), len(in), c.want)
		}
		// Written back: the same bytes.
		r = reader(in, c.ver)
		var out bytes.Buffer
		w := NewWriter(&out, c.ver)
		switch c.name[:5] {
		case "QFont":
			w.Font(r.Font())
		default:
			w.Variant(r.Variant())
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Errorf("%s: written back as\n%x, Qt wrote\n%x", c.name, out.Bytes(), in)
		}
	}
}
