package qdatastream

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func reader(b []byte, v Version, opts ...Option) *Reader {
	return NewReader(bytes.NewReader(b), v, opts...)
}

func TestTruncatedInputIsUnexpectedEOF(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Int32(1)
	w.QString("hello")
	w.Variant(VariantOf([]Variant{VariantOf("x"), VariantOf(int64(5))}))
	w.DateTime(DateTimeOf(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)))
	full := b.Bytes()
	for n := range len(full) {
		r := reader(full[:n], Qt_6_0)
		r.Int32()
		r.QString()
		r.Variant()
		r.DateTime()
		if err := r.Err(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d of %d bytes: err %v, want io.ErrUnexpectedEOF", n, len(full), err)
		}
	}
	r := reader(full, Qt_6_0)
	r.Int32()
	r.QString()
	r.Variant()
	r.DateTime()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
}

func TestStickyError(t *testing.T) {
	r := reader([]byte{0, 0, 0, 3, 0, 'a', 0, 'b', 0, 0, 0, 7}, Qt_5_15)
	if s := r.QString(); s != "" || !errors.Is(r.Err(), ErrCorrupt) {
		t.Fatalf("odd QString length: %q, %v", s, r.Err())
	}
	if n := r.Int32(); n != 0 || !errors.Is(r.Err(), ErrCorrupt) {
		t.Fatalf("after an error: %d, %v", n, r.Err())
	}
	w := NewWriter(io.Discard, Qt_6_0)
	w.Variant(Variant{Type: TypeInt, Value: "not an int"})
	if !errors.Is(w.Err(), ErrInvalid) {
		t.Fatalf("mismatched variant: %v", w.Err())
	}
	w.Int32(5)
	if !errors.Is(w.Err(), ErrInvalid) {
		t.Fatal("writer error not sticky")
	}
}

func TestOldVersionsUnsupported(t *testing.T) {
	w := NewWriter(io.Discard, 12)
	w.Int8(1)
	if !errors.Is(w.Err(), ErrUnsupported) {
		t.Fatal(w.Err())
	}
	if r := reader([]byte{1}, 7); r.Int8() != 0 || !errors.Is(r.Err(), ErrUnsupported) {
		t.Fatal(r.Err())
	}
}

// A length field must not make the reader allocate what it claims.
func TestLyingLengthsAllocateLittle(t *testing.T) {
	cases := map[string][]byte{
		"QString 60 MiB":    {0x03, 0xc0, 0, 0, 'a'},
		"QByteArray 60 MiB": {0x03, 0xc0, 0, 0, 'a'},
		"QList 60M":         {0x03, 0xc0, 0, 0, 0, 0, 0, 1},
	}
	for name, b := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := reader(b, Qt_6_0)
		switch {
		case strings.HasPrefix(name, "QString"):
			r.QString()
		case strings.HasPrefix(name, "QByteArray"):
			r.Bytes()
		default:
			ReadList(r, (*Reader).Variant)
		}
		runtime.ReadMemStats(&after)
		if !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
			t.Errorf("%s: %v", name, r.Err())
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a few bytes of input", name, got)
		}
	}
	r := reader([]byte{0x7f, 0xff, 0xff, 0xf0}, Qt_6_0, WithLimit(1000))
	if r.Bytes(); !errors.Is(r.Err(), ErrTooLarge) {
		t.Errorf("over the limit: %v", r.Err())
	}
	r = reader([]byte{0xff, 0xff, 0xff, 0xff}, Qt_6_0)
	if ReadList(r, (*Reader).Int8); !errors.Is(r.Err(), ErrTooLarge) {
		t.Errorf("list of 0xffffffff: %v", r.Err())
	}
}

func TestExtendedSize(t *testing.T) {
	b := []byte{0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i'}
	if got := reader(b, Qt_6_7).Bytes(); string(got) != "hi" {
		t.Errorf("Qt_6_7 extended size: %q", got)
	}
	r := reader(b, Qt_6_6, WithLimit(math.MaxInt64))
	if r.Bytes(); !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
		t.Errorf("Qt_6_6 takes 0xfffffffe as a length: %v", r.Err())
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, Qt_6_6)
	w.size(1 << 33)
	if !errors.Is(w.Err(), ErrTooLarge) {
		t.Errorf("8 GiB before Qt_6_7: %v", w.Err())
	}
	w = NewWriter(&buf, Qt_6_7)
	buf.Reset()
	w.size(1 << 33)
	if w.Err() != nil || buf.Len() != 12 {
		t.Errorf("8 GiB at Qt_6_7: %v, % x", w.Err(), buf.Bytes())
	}
}

func TestStringsWTF8(t *testing.T) {
	for _, s := range []string{"", "a", "é中😀", "\xed\xa0\x80", "x\xed\xbf\xbfy", "\xed\xa0\xbd\xed\xb8\x80"} {
		var b bytes.Buffer
		w := NewWriter(&b, Qt_6_0, WithByteOrder(LittleEndian))
		w.QString(s)
		got := reader(b.Bytes(), Qt_6_0, WithByteOrder(LittleEndian)).QString()
		want := s
		if s == "\xed\xa0\xbd\xed\xb8\x80" { // a surrogate pair in WTF-8 halves joins
			want = "😀"
		}
		if got != want {
			t.Errorf("%q: read back %q", s, got)
		}
	}
	var b bytes.Buffer
	NewWriter(&b, Qt_6_0).QString("a\xffb")
	if got := reader(b.Bytes(), Qt_6_0).QString(); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q", got)
	}
	if s, ok := reader([]byte{0xff, 0xff, 0xff, 0xff}, Qt_6_0).QStringOrNull(); s != "" || ok {
		t.Errorf("null QString: %q, %v", s, ok)
	}
	if s, ok := reader([]byte{0, 0, 0, 0}, Qt_6_0).QStringOrNull(); s != "" || !ok {
		t.Errorf("empty QString: %q, %v", s, ok)
	}
}

func TestCompareUTF16(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "a", -1}, {"a", "b", -1}, {"b", "a", 1}, {"ab", "a", 1},
		{"😀", "｡", -1},     // U+1F600 is D83D DE00, before FF61
		{"\ued00", "😀", 1}, // U+ED00 after D83D
		{"😀", "😁", -1},
	} {
		if got := CompareUTF16(c.a, c.b); got != c.want {
			t.Errorf("CompareUTF16(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestFloatPrecision(t *testing.T) {
	var b bytes.Buffer
	NewWriter(&b, Qt_6_0).Float32(1.5)
	if b.Len() != 8 {
		t.Fatalf("DoublePrecision float32: %d bytes", b.Len())
	}
	b.Reset()
	NewWriter(&b, Qt_6_0, WithFloatPrecision(SinglePrecision)).Float64(math.Pi)
	if b.Len() != 4 {
		t.Fatalf("SinglePrecision float64: %d bytes", b.Len())
	}
	if got := reader(b.Bytes(), Qt_6_0, WithFloatPrecision(SinglePrecision)).Float64(); got != float64(float32(math.Pi)) {
		t.Fatalf("read %v", got)
	}
}

func TestDateTimeConversions(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 2, 29, 13, 14, 15, 678e6, time.UTC),
		time.Date(1969, 7, 20, 20, 17, 40, 0, time.FixedZone("", -5*3600)),
		time.Date(2024, 7, 14, 10, 0, 0, 0, time.Local),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		d := DateTimeOf(tm)
		back, err := d.Time(nil)
		if err != nil || !back.Equal(tm) {
			t.Errorf("%v: %+v -> %v, %v", tm, d, back, err)
		}
	}
	if d := DateTimeOf(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)); d.JulianDay != 2440588 || d.MSecs != 0 || d.Spec != UTC {
		t.Errorf("epoch: %+v", d)
	}
	w := NewWriter(io.Discard, Qt_6_0)
	if w.DateTime(DateTime{Spec: 7}); !errors.Is(w.Err(), ErrInvalid) {
		t.Errorf("spec 7: %v", w.Err())
	}
	if _, err := InvalidDateTime.Time(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid: %v", err)
	}
	zone := DateTime{JulianDay: 2460506, MSecs: 0, Spec: TimeZone, Zone: "Europe/Berlin"}
	if tm, err := zone.Time(nil); err != nil || tm.UTC().Hour() != 22 {
		t.Errorf("Berlin midnight in summer: %v, %v", tm.UTC(), err)
	}
}

// An *image.RGBA holds premultiplied colours; what Qt reads from the PNG
// must be the same colours with straight alpha.
func TestPremultipliedImage(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.SetRGBA(0, 0, color.RGBA{R: 0x80, G: 0x40, A: 0x80})
	var b bytes.Buffer
	NewWriter(&b, Qt_6_0).Image(img)
	got := reader(b.Bytes(), Qt_6_0).Image()
	if c := color.NRGBAModel.Convert(got.At(0, 0)).(color.NRGBA); c != (color.NRGBA{R: 0xff, G: 0x80, A: 0x80}) { // 0x40*255/0x80 rounds up, as in Qt
		t.Errorf("read back %+v", c)
	}
	b.Reset()
	w := NewWriter(&b, Qt_6_0)
	w.Image(image.NewNRGBA(image.Rect(0, 0, 0, 5)))
	if !bytes.Equal(b.Bytes(), []byte{0, 0, 0, 0}) {
		t.Errorf("empty image: % x", b.Bytes())
	}
}

func TestImageLimits(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 100, 100))
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Image(img)
	w.Int32(42)
	r := reader(b.Bytes(), Qt_6_0)
	if r.Image() == nil || r.Int32() != 42 || r.Err() != nil {
		t.Fatalf("image then int: %v", r.Err())
	}
	r = reader(b.Bytes(), Qt_6_0, WithLimit(5000))
	if r.Image(); !errors.Is(r.Err(), ErrTooLarge) {
		t.Errorf("100×100 over a 5000-byte limit: %v", r.Err())
	}
	r = reader([]byte{0, 0, 0, 1, 'G', 'I', 'F', '8', '9', 'a', 0, 0}, Qt_6_0)
	if r.Image(); !errors.Is(r.Err(), ErrCorrupt) {
		t.Errorf("not a PNG: %v", r.Err())
	}
}

func TestVariantNesting(t *testing.T) {
	v := VariantOf([]Variant{})
	for range maxDepth + 1 {
		v = VariantOf([]Variant{v})
	}
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	if w.Variant(v); !errors.Is(w.Err(), ErrTooLarge) {
		t.Fatalf("writer: %v", w.Err())
	}
	// the same nesting, as bytes
	var in []byte
	for range maxDepth + 2 {
		in = append(in, 0, 0, 0, 9, 0, 0, 0, 0, 1)
	}
	r := reader(in, Qt_6_0)
	if r.Variant(); !errors.Is(r.Err(), ErrTooLarge) {
		t.Fatalf("reader: %v", r.Err())
	}
}

func TestVariantTypeIDs(t *testing.T) {
	for _, c := range []struct {
		v    Version
		t    Type
		wire uint32
	}{
		{Qt_5_15, TypeImage, 70}, {Qt_5_15, TypePixmap, 65}, {Qt_6_0, TypeImage, 0x1006}, {Qt_6_0, TypePixmap, 0x1001},
		{Qt_5_0, TypeUUID, 30}, {Qt_6_7, TypeVariantMap, 8},
	} {
		var b bytes.Buffer
		NewWriter(&b, c.v).Variant(Variant{Type: c.t, Null: true})
		if got := reader(b.Bytes(), c.v).Uint32(); got != c.wire {
			t.Errorf("%v at version %d: id %d, want %d", c.t, c.v, got, c.wire)
		}
		if got := reader(b.Bytes(), c.v).Variant(); got.Type != c.t || !got.Null {
			t.Errorf("%v at version %d: read %+v", c.t, c.v, got)
		}
	}
	r := reader([]byte{0, 0, 0, 127, 0, 0, 0, 0, 3, 'F', 'o', 'o'}, Qt_5_15)
	if r.Variant(); !errors.Is(r.Err(), ErrUnsupported) || !strings.Contains(r.Err().Error(), "Foo") {
		t.Errorf("user type: %v", r.Err())
	}
	if big := int64(1) << 40; int64(int(big)) == big { // an int wider than Qt's int, where int has 64 bits
		if v := VariantOf(int(big)); v.Type != TypeLongLong {
			t.Errorf("VariantOf(1<<40): %v", v.Type)
		}
	}
	if v := VariantOf(struct{}{}); v.Type == TypeInvalid {
		t.Error("VariantOf(struct{}{}) is invalid, not refused")
	}
}

func TestDefaultQtMajorOrder(t *testing.T) {
	m := map[string]int32{"a": 1, "b": 2}
	for _, c := range []struct {
		v     Version
		first byte
	}{{Qt_5_15, 'b'}, {Qt_6_0, 'a'}} {
		var b bytes.Buffer
		WriteMap(NewWriter(&b, c.v), m, CompareUTF16, (*Writer).QString, (*Writer).Int32)
		if b.Bytes()[9] != c.first {
			t.Errorf("version %d: % x", c.v, b.Bytes())
		}
	}
}

func TestReaderReadsNoMore(t *testing.T) {
	src := bytes.NewReader([]byte{0, 0, 0, 2, 0, 'x', 0xaa})
	r := NewReader(src, Qt_6_0)
	if s := r.QString(); s != "x" || src.Len() != 1 {
		t.Fatalf("%q, %d left", s, src.Len())
	}
	if got := r.Raw(1); !bytes.Equal(got, []byte{0xaa}) {
		t.Fatalf("raw: % x", got)
	}
}
