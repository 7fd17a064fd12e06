package qdatastream

import (
	"bytes"
	"errors"
	"image"
	"io"
	"runtime"
	"testing"
)

// fuzzMethods are the Reader's methods, each with its Writer twin and
// whether its encoding is canonical (whatever the reader accepts, the
// writer writes back byte for byte).
var fuzzMethods = []struct {
	name      string
	canonical bool
	read      func(*Reader) any
	write     func(*Writer, any)
}{
	{"Int8", true, func(r *Reader) any { return r.Int8() }, func(w *Writer, v any) { w.Int8(v.(int8)) }},
	{"Uint16", true, func(r *Reader) any { return r.Uint16() }, func(w *Writer, v any) { w.Uint16(v.(uint16)) }},
	{"Int32", true, func(r *Reader) any { return r.Int32() }, func(w *Writer, v any) { w.Int32(v.(int32)) }},
	{"Uint64", true, func(r *Reader) any { return r.Uint64() }, func(w *Writer, v any) { w.Uint64(v.(uint64)) }},
	{"Bool", false, func(r *Reader) any { return r.Bool() }, func(w *Writer, v any) { w.Bool(v.(bool)) }},
	{"Float32", false, func(r *Reader) any { return r.Float32() }, func(w *Writer, v any) { w.Float32(v.(float32)) }},
	{"Float64", false, func(r *Reader) any { return r.Float64() }, func(w *Writer, v any) { w.Float64(v.(float64)) }},
	{"QString", true, func(r *Reader) any {
		if s, ok := r.QStringOrNull(); ok {
			return s
		}
		return nil
	}, func(w *Writer, v any) {
		if v == nil {
			w.NullQString()
		} else {
			w.QString(v.(string))
		}
	}},
	{"Bytes", true, func(r *Reader) any { return r.Bytes() }, func(w *Writer, v any) { w.Bytes(v.([]byte)) }},
	{"StringList", false, func(r *Reader) any { return r.StringList() }, func(w *Writer, v any) { w.StringList(v.([]string)) }},
	{"ListInt16", true, func(r *Reader) any { return ReadList(r, (*Reader).Int16) }, func(w *Writer, v any) { WriteList(w, v.([]int16), (*Writer).Int16) }},
	{"Pairs", true, func(r *Reader) any { return ReadPairs(r, (*Reader).Bytes, (*Reader).Int8) }, func(w *Writer, v any) {
		WritePairs(w, v.([]Pair[[]byte, int8]), (*Writer).Bytes, (*Writer).Int8)
	}},
	{"Map", false, func(r *Reader) any { return ReadMap(r, (*Reader).QString, (*Reader).Uint8) }, func(w *Writer, v any) {
		WriteMap(w, v.(map[string]uint8), CompareUTF16, (*Writer).QString, (*Writer).Uint8)
	}},
	{"DateTime", false, func(r *Reader) any { return r.DateTime() }, func(w *Writer, v any) { w.DateTime(v.(DateTime)) }},
	{"UUID", true, func(r *Reader) any { return r.UUID() }, func(w *Writer, v any) { w.UUID(v.(UUID)) }},
	{"Point", true, func(r *Reader) any { return r.Point() }, func(w *Writer, v any) { w.Point(v.(Point)) }},
	{"Size", true, func(r *Reader) any { return r.Size() }, func(w *Writer, v any) { w.Size(v.(Size)) }},
	{"Rect", true, func(r *Reader) any { return r.Rect() }, func(w *Writer, v any) { w.Rect(v.(Rect)) }},
	{"Image", false, func(r *Reader) any { return r.Image() }, func(w *Writer, v any) {
		img, _ := v.(image.Image)
		w.Image(img)
	}},
	{"Variant", false, func(r *Reader) any { return r.Variant() }, func(w *Writer, v any) { w.Variant(v.(Variant)) }},
	// Font is not canonical: Qt drops the character-set byte of streams
	// before Qt_6_0 and writes 0, and a null family reads as empty.
	{"Font", false, func(r *Reader) any { return r.Font() }, func(w *Writer, v any) { w.Font(v.(Font)) }},
	{"Brush", false, func(r *Reader) any { return r.Brush() }, func(w *Writer, v any) { w.Brush(v.(Brush)) }},
	{"JSONValue", false, func(r *Reader) any { return r.JSONValue() }, func(w *Writer, v any) { w.JSONValue(v.(JSONValue)) }},
	{"BitArray", true, func(r *Reader) any { return r.BitArray() }, func(w *Writer, v any) { w.BitArray(v.(BitArray)) }},
	{"Region", true, func(r *Reader) any { return r.Region() }, func(w *Writer, v any) { w.Region(v.(Region)) }},
	{"Raw", true, func(r *Reader) any { return r.Raw(3) }, func(w *Writer, v any) { w.Raw(v.([]byte)) }},
}

// fuzzLimit is small so that the allocation bound below is tight: what
// one input may make the Reader allocate is a small multiple of it plus
// a PNG decoder's fixed needs, however long the input.
const (
	fuzzLimit     = 256 << 10
	fuzzAllocMult = 4
	fuzzFixed     = 256 << 10
)

// FuzzReader feeds arbitrary bytes to every Read method under every
// version, byte order and precision: the first byte picks the method and
// settings. Nothing may panic or allocate much beyond the limit; a value
// read must write back as the bytes it came from where the format is
// canonical, and as the same bytes again where it is not.
func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Variant(VariantOf(map[string]Variant{"a": VariantOf([]Variant{VariantOf("x"), VariantOf(int32(1))})}))
	f.Add(append([]byte{fuzzIndex("Variant")}, b.Bytes()...))
	b.Reset()
	w.Image(imageOf(pxAlpha))
	f.Add(append([]byte{fuzzIndex("Image")}, b.Bytes()...))
	f.Add([]byte{7, 0, 0, 0, 4, 0xd8, 0, 0, 'a'})
	f.Add([]byte{13, 0, 0, 0, 0, 0, 0x25, 0x8a, 0xd2, 0x02, 0xd7, 0x2a, 0xfe, 0x02, 0, 0, 0x0e, 0x10})
	f.Add([]byte{8 + 64, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 1, 'x'})
	f.Add(append([]byte{fuzzIndex("Font"), 0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{'0'}, 28)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		sel := int(data[0])
		m := fuzzMethods[sel%len(fuzzMethods)]
		sel /= len(fuzzMethods)
		ver := Qt_5_0 + Version(sel%12)
		opts := []Option{WithLimit(fuzzLimit), WithLocation(testLoc)}
		if sel&16 != 0 {
			opts = append(opts, WithByteOrder(LittleEndian))
		}
		if data[0]&0x80 != 0 {
			opts = append(opts, WithFloatPrecision(SinglePrecision))
		}
		in := data[1:]

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		br := bytes.NewReader(in)
		r := NewReader(br, ver, opts...)
		v := m.read(r)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > fuzzAllocMult*fuzzLimit+fuzzFixed {
			t.Fatalf("%s: %d bytes allocated reading %d bytes under a limit of %d", m.name, got, len(in), fuzzLimit)
		}
		if err := r.Err(); err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) &&
				!errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%s: error of no known kind: %v", m.name, err)
			}
			return
		}
		used := in[:len(in)-br.Len()]

		write := func(v any) []byte {
			var b bytes.Buffer
			w := NewWriter(&b, ver, opts...)
			m.write(w, v)
			if w.Err() != nil {
				t.Fatalf("%s: cannot write back %#v: %v", m.name, v, w.Err())
			}
			return b.Bytes()
		}
		out := write(v)
		if m.canonical && !extendedSizeUsed(used, ver) && !bytes.Equal(out, used) {
			t.Fatalf("%s v%d: read % x, wrote back % x", m.name, ver, used, out)
		}
		r2 := NewReader(bytes.NewReader(out), ver, opts...)
		v2 := m.read(r2)
		if r2.Err() != nil {
			t.Fatalf("%s: cannot read back % x: %v", m.name, out, r2.Err())
		}
		if again := write(v2); !bytes.Equal(again, out) {
			t.Fatalf("%s v%d: wrote % x, then % x", m.name, ver, out, again)
		}
	})
}

// extendedSizeUsed reports whether b may use Qt_6_7's 64-bit sizes, which
// a writer uses only for sizes that need them.
func extendedSizeUsed(b []byte, v Version) bool {
	return v >= Qt_6_7 && bytes.Contains(b, []byte{0xff, 0xff, 0xff, 0xfe})
}

// fuzzIndex is the selector byte of a method of fuzzMethods.
func fuzzIndex(name string) byte {
	for i, m := range fuzzMethods {
		if m.name == name {
			return byte(i)
		}
	}
	panic("no fuzz method " + name)
}
