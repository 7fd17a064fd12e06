package qdatastream_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"

	"github.com/qipc-go/qipc/qdatastream"
)

// What a Qt 5.15 program's `out << QString("hi") << image` writes, for a
// 2×1 image with one half-transparent pixel.
func ExampleWriter() {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{R: 0xff, A: 0x80})
	img.SetNRGBA(1, 0, color.NRGBA{B: 0xff, A: 0xff})

	var buf bytes.Buffer
	w := qdatastream.NewWriter(&buf, qdatastream.Qt_5_15)
	w.QString("hi")
	w.Image(img)
	if err := w.Err(); err != nil {
		fmt.Println(err)
		return
	}
	b := buf.Bytes()
	fmt.Printf("QString: % x\n", b[:8])
	fmt.Printf("QImage:  % x, then a PNG file: %q\n", b[8:12], b[13:16])
	// Output:
	// QString: 00 00 00 04 00 68 00 69
	// QImage:  00 00 00 01, then a PNG file: "PNG"
}

// Reading a QPixmap that a Qt 6.4 program wrote with
// `QDataStream out(&buffer); out << pixmap;` (QPixmap's pixels are
// premultiplied in Qt, its PNG is not; the image comes out with straight
// alpha).
func ExampleReader() {
	saved, _ := hex.DecodeString("0000000189504e470d0a1a0a0000000d49484452000000020000000108" +
		"06000000f4227f8a000000097048597300000ec400000ec401952b0e1b000000114944415408" +
		"9963f8cfc0d0c0c0f0ff3f000d7e037ef4f304440000000049454e44ae426082")

	r := qdatastream.NewReader(bytes.NewReader(saved), qdatastream.Qt_6_0)
	img := r.Image()
	if err := r.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%T %v\n", img, img.Bounds().Size())
	for x := range 2 {
		fmt.Printf("%+v\n", color.NRGBAModel.Convert(img.At(x, 0)))
	}
	// Output:
	// *image.NRGBA (2,1)
	// {R:255 G:0 B:0 A:128}
	// {R:0 G:0 B:255 A:255}
}

// A QVariantMap, as QSettings and many Qt protocols hold data.
func ExampleVariant() {
	var buf bytes.Buffer
	w := qdatastream.NewWriter(&buf, qdatastream.Qt_6_0)
	w.Variant(qdatastream.VariantOf(map[string]qdatastream.Variant{
		"name": qdatastream.VariantOf("frame"),
		"size": qdatastream.VariantOf(qdatastream.Size{W: 640, H: 480}),
	}))

	r := qdatastream.NewReader(&buf, qdatastream.Qt_6_0)
	v := r.Variant()
	m := v.Value.(map[string]qdatastream.Variant)
	fmt.Println(r.Err(), v.Type == qdatastream.TypeVariantMap, m["name"].Value, m["size"].Value)
	// Output:
	// <nil> true frame {640 480}
}

// A QMap<QString, qint32> as Qt 6 writes it: keys in QString order.
func ExampleWriteMap() {
	var buf bytes.Buffer
	w := qdatastream.NewWriter(&buf, qdatastream.Qt_6_0)
	qdatastream.WriteMap(w, map[string]int32{"b": 2, "a": 1}, qdatastream.CompareUTF16,
		(*qdatastream.Writer).QString, (*qdatastream.Writer).Int32)
	fmt.Printf("% x\n", buf.Bytes())

	r := qdatastream.NewReader(&buf, qdatastream.Qt_6_0)
	m := qdatastream.ReadMap(r, (*qdatastream.Reader).QString, (*qdatastream.Reader).Int32)
	fmt.Println(m, r.Err())
	// Output:
	// 00 00 00 02 00 00 00 02 00 61 00 00 00 01 00 00 00 02 00 62 00 00 00 02
	// map[a:1 b:2] <nil>
}

// Reading a QVariant of a type a Qt program registered with
// qRegisterMetaType and stream operators (`out << m.n << m.s`), and the
// value after it.
func ExampleWithUserType() {
	type point3 struct{ X, Y, Z int32 }
	p3 := qdatastream.UserType{
		Name: "Point3",
		Read: func(r *qdatastream.Reader) any { return point3{r.Int32(), r.Int32(), r.Int32()} },
		Write: func(w *qdatastream.Writer, v any) {
			p := v.(point3)
			w.Int32(p.X)
			w.Int32(p.Y)
			w.Int32(p.Z)
		},
	}
	var buf bytes.Buffer
	w := qdatastream.NewWriter(&buf, qdatastream.Qt_6_0, qdatastream.WithUserType(p3))
	w.Variant(qdatastream.VariantOf(qdatastream.User{Name: "Point3", Value: point3{1, 2, 3}}))
	w.QString("after")

	r := qdatastream.NewReader(&buf, qdatastream.Qt_6_0, qdatastream.WithUserType(p3))
	v := r.Variant()
	fmt.Println(v.Value, r.QString(), r.Err())
	// Output:
	// {Point3 {1 2 3}} after <nil>
}

// Decoding a QColor and a QPointF that a Qt program put in a QVariantMap.
func ExampleReader_Variant() {
	var buf bytes.Buffer
	w := qdatastream.NewWriter(&buf, qdatastream.Qt_5_15)
	w.Variant(qdatastream.VariantOf(map[string]qdatastream.Variant{
		"color": qdatastream.VariantOf(qdatastream.ColorOf(color.NRGBA{R: 255, A: 255})),
		"pos":   qdatastream.VariantOf(qdatastream.PointF{X: 1.5, Y: 2}),
	}))
	m := qdatastream.NewReader(&buf, qdatastream.Qt_5_15).Variant().Value.(map[string]qdatastream.Variant)
	fmt.Println(m["color"].Type, m["color"].Value, m["pos"].Type, m["pos"].Value)
	// Output:
	// QColor {1 65535 [65535 0 0 0]} QPointF {1.5 2}
}
