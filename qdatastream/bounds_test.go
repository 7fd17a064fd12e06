package qdatastream

import (
	"bytes"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"slices"
	"testing"
)

// Issue 26's three inputs that a 16 MiB limit did not bound: the limit
// must bound what the whole Reader allocates, decoded pixels included.

const boundLimit = 16 << 20

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkBounded reads b with read under a 16 MiB limit and wants
// ErrTooLarge, having allocated at most a small multiple of the limit.
func checkBounded(t *testing.T, name string, b []byte, read func(*Reader)) {
	t.Helper()
	var err error
	got := allocated(func() {
		r := reader(b, Qt_6_0, WithLimit(boundLimit))
		read(r)
		err = r.Err()
	})
	t.Logf("%s: %d bytes of input, %.1f MiB allocated, err %v", name, len(b), float64(got)/(1<<20), err)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("%s: err %v, want ErrTooLarge", name, err)
	}
	if got > 4*boundLimit {
		t.Errorf("%s: %.1f MiB allocated under a %d MiB limit", name, float64(got)/(1<<20), boundLimit>>20)
	}
}

// pngOf encodes img with Go's encoder.
func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLimitBoundsImages(t *testing.T) {
	// 100 QImages of 1024×1024, 4 MiB each decoded, each well under the
	// limit alone.
	one := pngOf(t, image.NewGray(image.Rect(0, 0, 1024, 1024)))
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Uint32(uint32(TypeVariantList))
	w.Bool(false)
	w.Uint32(100)
	for range 100 {
		w.Uint32(uint32(TypeImage))
		w.Bool(false)
		w.Int32(1)
		w.Raw(one)
	}
	checkBounded(t, "QVariantList of 100 QImages", b.Bytes(), func(r *Reader) { r.Variant() })
}

func TestLimitCountsDecodedPixels(t *testing.T) {
	// A grayscale PNG with a tRNS chunk: 1 byte a pixel in the file's
	// header, 4 decoded (image/png gives an *image.NRGBA).
	g := image.NewGray(image.Rect(0, 0, 4096, 4096))
	p := pngOf(t, g)
	// Insert tRNS (gray 0 transparent) after IHDR (8+25 bytes).
	trns := pngChunk("tRNS", []byte{0, 0})
	p = append(append(append([]byte{}, p[:33]...), trns...), p[33:]...)
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Int32(1)
	w.Raw(p)
	checkBounded(t, "grayscale PNG with tRNS", b.Bytes(), func(r *Reader) { r.Image() })
	_ = color.Gray{}
}

func TestLimitBoundsSmallVariants(t *testing.T) {
	// A million QVariant(int) in a QVariantList: 9 bytes each in the stream.
	const n = 1 << 20
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Uint32(uint32(TypeVariantList))
	w.Bool(false)
	w.Uint32(n)
	for i := range n {
		w.Uint32(uint32(TypeInt))
		w.Bool(false)
		w.Int32(int32(i) + 1000)
	}
	checkBounded(t, "a million QVariant(int)", b.Bytes(), func(r *Reader) { r.Variant() })
}

// pngChunk builds a PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := make([]byte, 0, 12+len(data))
	b = append(b, byte(len(data)>>24), byte(len(data)>>16), byte(len(data)>>8), byte(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	c := crc32.ChecksumIEEE(b[4:])
	return append(b, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
}

// A QKeySequence whose count says more than four keys: Qt's operator>>
// reads four and leaves the others in the stream, so what follows is read
// from there, as a Qt peer reads it. (A count of 2^32-1 must not make the
// Reader wait for, or allocate, 4 G keys either.)
func TestKeySequenceLongCount(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Qt_5_15)
	for _, v := range []uint32{6, 1, 2, 3, 4, 5, 6, 0xffffffff, 7, 8, 9, 10} {
		w.Uint32(v)
	}
	r := NewReader(bytes.NewReader(b.Bytes()), Qt_5_15)
	if got := r.KeySequence(); !slices.Equal(got, KeySequence{1, 2, 3, 4}) {
		t.Errorf("keys %v, want the first four", got)
	}
	if next := r.Uint32(); next != 5 {
		t.Errorf("read %d after the sequence, want the fifth key (5), where Qt goes on", next)
	}
	r.Uint32()
	if got := r.KeySequence(); !slices.Equal(got, KeySequence{7, 8, 9, 10}) || r.Err() != nil {
		t.Errorf("count 2^32-1: keys %v (%v), want four", got, r.Err())
	}
}
