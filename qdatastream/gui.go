package qdatastream

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"slices"
)

// Go types of the QtGui values this package reads and writes besides
// QImage and QPixmap. As in core.go, the fields are what the stream
// holds.

// ColorSpec is a QColor::Spec.
type ColorSpec int8

// The specs, numbered as Qt numbers them.
const (
	ColorInvalid ColorSpec = iota
	ColorRgb
	ColorHsv
	ColorCmyk
	ColorHsl
	ColorExtendedRgb
)

// Color is a QColor as Qt stores it: a spec, an alpha and four 16-bit
// components whose meaning the spec gives (Rgb: red, green, blue and 0,
// each 0–65535; Hsv and Hsl: hue in 1/100 degree or 65535 for none,
// saturation, value or lightness, 0; Cmyk: cyan, magenta, yellow, black;
// ExtendedRgb: red, green and blue as float16 bits, the alpha too). QColor()
// is Color{Alpha: 0xffff}.
type Color struct {
	Spec  ColorSpec
	Alpha uint16
	C     [4]uint16
}

// ColorOf returns c as an Rgb QColor, as QColor(QRgba64) does.
func ColorOf(c color.Color) Color {
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return Color{Spec: ColorRgb, Alpha: n.A, C: [4]uint16{n.R, n.G, n.B, 0}}
}

// RGBA implements color.Color for the Rgb spec (others report black, as
// converting them is Qt's business), with alpha premultiplied.
func (c Color) RGBA() (r, g, b, a uint32) {
	if c.Spec != ColorRgb {
		return 0, 0, 0, 0xffff
	}
	return color.NRGBA64{R: c.C[0], G: c.C[1], B: c.C[2], A: c.Alpha}.RGBA()
}

// Color reads a QColor.
func (r *Reader) Color() Color {
	var c Color
	c.Spec = ColorSpec(r.Int8())
	c.Alpha = r.Uint16()
	for i := range c.C {
		c.C[i] = r.Uint16()
	}
	return keep(r, c)
}

// Color writes a QColor.
func (w *Writer) Color(c Color) {
	w.Int8(int8(c.Spec))
	w.Uint16(c.Alpha)
	for _, x := range c.C {
		w.Uint16(x)
	}
}

// Transform is a QTransform: m11, m12, m13, m21, m22, m23, m31 (dx),
// m32 (dy), m33. The identity is Transform{1, 0, 0, 0, 1, 0, 0, 0, 1}.
type Transform [9]float64

// Identity is QTransform().
var Identity = Transform{1, 0, 0, 0, 1, 0, 0, 0, 1}

// Transform reads a QTransform.
func (r *Reader) Transform() Transform {
	var t Transform
	for i := range t {
		t[i] = r.Float64()
	}
	return t
}

// Transform writes a QTransform.
func (w *Writer) Transform(t Transform) { w.floats(t[:]...) }

// Matrix4x4 is a QMatrix4x4, row by row. Qt keeps floats and streams
// them as doubles.
type Matrix4x4 [16]float32

// Vector2D, Vector3D and Vector4D are QVector2D, QVector3D and QVector4D.
type (
	Vector2D [2]float32
	Vector3D [3]float32
	Vector4D [4]float32
)

// Quaternion is a QQuaternion: scalar, x, y, z.
type Quaternion [4]float32

// readFloats reads doubles into float32s, as Qt's float-based types do.
func (r *Reader) readFloats(f []float32) {
	for i := range f {
		f[i] = float32(r.Float64())
	}
}

func (w *Writer) writeFloats(f []float32) {
	for _, x := range f {
		w.Float64(float64(x))
	}
}

// Matrix4x4 reads a QMatrix4x4.
func (r *Reader) Matrix4x4() (m Matrix4x4) { r.readFloats(m[:]); return }

// Matrix4x4 writes a QMatrix4x4.
func (w *Writer) Matrix4x4(m Matrix4x4) { w.writeFloats(m[:]) }

// Vector2D reads a QVector2D.
func (r *Reader) Vector2D() (v Vector2D) { r.readFloats(v[:]); return }

// Vector2D writes a QVector2D.
func (w *Writer) Vector2D(v Vector2D) { w.writeFloats(v[:]) }

// Vector3D reads a QVector3D.
func (r *Reader) Vector3D() (v Vector3D) { r.readFloats(v[:]); return }

// Vector3D writes a QVector3D.
func (w *Writer) Vector3D(v Vector3D) { w.writeFloats(v[:]) }

// Vector4D reads a QVector4D.
func (r *Reader) Vector4D() (v Vector4D) { r.readFloats(v[:]); return }

// Vector4D writes a QVector4D.
func (w *Writer) Vector4D(v Vector4D) { w.writeFloats(v[:]) }

// Quaternion reads a QQuaternion.
func (r *Reader) Quaternion() (q Quaternion) { r.readFloats(q[:]); return }

// Quaternion writes a QQuaternion.
func (w *Writer) Quaternion(q Quaternion) { w.writeFloats(q[:]) }

// Polygon is a QPolygon, PolygonF a QPolygonF.
type (
	Polygon  []Point
	PolygonF []PointF
)

// Polygon reads a QPolygon.
func (r *Reader) Polygon() Polygon { return ReadList(r, (*Reader).Point) }

// Polygon writes a QPolygon.
func (w *Writer) Polygon(p Polygon) { WriteList(w, p, (*Writer).Point) }

// PolygonF reads a QPolygonF.
func (r *Reader) PolygonF() PolygonF { return ReadList(r, (*Reader).PointF) }

// PolygonF writes a QPolygonF.
func (w *Writer) PolygonF(p PolygonF) { WriteList(w, p, (*Writer).PointF) }

// Region is a QRegion as its rectangles, in the banded order Qt keeps
// them (QRegion::begin() … end()); nil or empty is QRegion().
type Region []Rect

const regionRects = 10 // QRGN_RECTS, the one record kind Qt 5 and 6 write

// Region reads a QRegion: a byte count, then records; Qt writes one
// record of kind 10 with the rectangles.
func (r *Reader) Region() Region {
	r.enter("QRegion")
	defer r.leave()
	n := int64(r.Uint32())
	if r.err != nil || n == 0 {
		return nil
	}
	var reg Region
	end := r.off + n
	for r.err == nil && r.off < end {
		if kind := r.Int32(); kind != regionRects {
			r.corrupt("record kind %d", kind)
			break
		}
		reg = append(reg, ReadList(r, (*Reader).Rect)...)
	}
	if r.err == nil && r.off != end {
		r.corrupt("records overrun their byte count %d", n)
	}
	if r.err != nil {
		return nil
	}
	return reg
}

// Region writes a QRegion.
func (w *Writer) Region(reg Region) {
	if len(reg) == 0 {
		w.Uint32(0)
		return
	}
	w.Uint32(uint32(4 + 4 + 16*len(reg)))
	w.Int32(regionRects)
	WriteList(w, reg, (*Writer).Rect)
}

// KeySequence is a QKeySequence: its keys (Qt::Key and modifiers, as
// QKeyCombination::toCombined() gives them).
type KeySequence []uint32

// KeySequence reads a QKeySequence as Qt does: a count and at most four
// keys. The keys of a longer count stay in the stream, where Qt leaves
// them, as what comes next.
func (r *Reader) KeySequence() KeySequence {
	n := r.Uint32()
	keys := make(KeySequence, min(n, 4))
	for i := range keys {
		keys[i] = r.Uint32()
	}
	if r.err != nil {
		return nil
	}
	return keys
}

// KeySequence writes a QKeySequence as Qt does: one key if there is at
// most one, else four (unused ones 0).
func (w *Writer) KeySequence(k KeySequence) {
	n := 1
	if len(k) > 1 {
		n = 4
	}
	if len(k) > 4 {
		w.fail(fmt.Errorf("%w: QKeySequence of %d keys (at most 4)", ErrInvalid, len(k)))
		return
	}
	keys := make(KeySequence, n)
	copy(keys, k)
	WriteList(w, keys, (*Writer).Uint32)
}

// Brush is a QBrush: a Qt::BrushStyle, a colour, a texture image (style
// TexturePattern), a gradient (the gradient styles) and a transform.
type Brush struct {
	Style     uint8
	Color     Color
	Texture   image.Image
	Gradient  *Gradient
	Transform Transform
}

// The brush styles this package gives names to (Qt::BrushStyle).
const (
	NoBrush           = 0
	SolidPattern      = 1
	LinearGradient    = 15
	RadialGradient    = 16
	ConicalGradient   = 17
	TexturePattern    = 24
	gradientTypeFirst = LinearGradient
)

// SolidBrush returns QBrush(c).
func SolidBrush(c Color) Brush { return Brush{Style: SolidPattern, Color: c, Transform: Identity} }

// Gradient is a QGradient: its type (0 linear, 1 radial, 2 conical),
// spread, coordinate mode and interpolation mode, its stops, and the
// points and numbers of its type: Start and Final for a linear one;
// Center, Focal, Radius and FocalRadius (written from Qt_6_0 on) for a
// radial one; Center and Angle for a conical one.
type Gradient struct {
	Type, Spread, CoordinateMode, Interpolation int32
	Stops                                       []GradientStop
	Start, Final, Center, Focal                 PointF
	Radius, FocalRadius, Angle                  float64
}

// GradientStop is one stop of a gradient.
type GradientStop struct {
	At    float64
	Color Color
}

// Brush reads a QBrush.
func (r *Reader) Brush() Brush {
	r.enter("QBrush")
	defer r.leave()
	b := Brush{Style: r.Uint8(), Color: r.Color()}
	switch {
	case b.Style == TexturePattern:
		b.Texture = r.Image()
	case b.Style >= LinearGradient && b.Style <= ConicalGradient:
		g := &Gradient{Type: r.Int32(), Spread: r.Int32(), CoordinateMode: r.Int32(), Interpolation: r.Int32()}
		g.Stops = ReadList(r, func(r *Reader) GradientStop { return GradientStop{r.Float64(), r.Color()} })
		switch g.Type {
		case 0:
			g.Start, g.Final = r.PointF(), r.PointF()
		case 1:
			g.Center, g.Focal, g.Radius = r.PointF(), r.PointF(), r.Float64()
			if r.v >= Qt_6_0 {
				g.FocalRadius = r.Float64()
			}
		case 2:
			g.Center, g.Angle = r.PointF(), r.Float64()
		default:
			r.corrupt("gradient type %d", g.Type)
		}
		b.Gradient = g
	}
	b.Transform = r.Transform()
	return keep(r, b)
}

// Brush writes a QBrush. A gradient style needs a Gradient.
func (w *Writer) Brush(b Brush) {
	grad := b.Style >= LinearGradient && b.Style <= ConicalGradient
	if grad && b.Gradient == nil {
		w.fail(fmt.Errorf("%w: QBrush of gradient style %d without a Gradient", ErrInvalid, b.Style))
		return
	}
	w.Uint8(b.Style)
	w.Color(b.Color)
	switch {
	case b.Style == TexturePattern:
		w.Image(b.Texture)
	case grad:
		g := b.Gradient
		for _, x := range []int32{g.Type, g.Spread, g.CoordinateMode, g.Interpolation} {
			w.Int32(x)
		}
		WriteList(w, g.Stops, func(w *Writer, s GradientStop) {
			w.Float64(s.At)
			w.Color(s.Color)
		})
		switch g.Type {
		case 0:
			w.floats(g.Start.X, g.Start.Y, g.Final.X, g.Final.Y)
		case 1:
			w.floats(g.Center.X, g.Center.Y, g.Focal.X, g.Focal.Y, g.Radius)
			if w.v >= Qt_6_0 {
				w.Float64(g.FocalRadius)
			}
		case 2:
			w.floats(g.Center.X, g.Center.Y, g.Angle)
		default:
			w.fail(fmt.Errorf("%w: gradient type %d", ErrInvalid, g.Type))
			return
		}
	}
	w.Transform(b.Transform)
}

// Pen is a QPen: its Qt::PenStyle, cap and join ORed together (Style),
// whether it is cosmetic, its width, brush, miter limit, dash pattern and
// offset, and a flag that Qt 5 sets for a pen of default width and Qt 6
// always writes false (DefaultWidth).
type Pen struct {
	Style        uint16
	Cosmetic     bool
	Width        float64
	Brush        Brush
	MiterLimit   float64
	Dashes       []float64
	DashOffset   float64
	DefaultWidth bool
}

// Pen reads a QPen.
func (r *Reader) Pen() Pen {
	r.enter("QPen")
	defer r.leave()
	p := Pen{Style: r.Uint16(), Cosmetic: r.Bool(), Width: r.Float64(), Brush: r.Brush(), MiterLimit: r.Float64()}
	p.Dashes = ReadList(r, (*Reader).Float64)
	p.DashOffset = r.Float64()
	p.DefaultWidth = r.Bool()
	return keep(r, p)
}

// Pen writes a QPen.
func (w *Writer) Pen(p Pen) {
	w.Uint16(p.Style)
	w.Bool(p.Cosmetic)
	w.Float64(p.Width)
	w.Brush(p.Brush)
	w.Float64(p.MiterLimit)
	if p.Dashes == nil {
		p.Dashes = []float64{}
	}
	WriteList(w, p.Dashes, (*Writer).Float64)
	w.Float64(p.DashOffset)
	w.Bool(p.DefaultWidth)
}

// Font is a QFont as the stream holds it. Weight is Qt 5's 0–99 scale
// (QFont::Normal 50) in streams before Qt_6_0, and the OpenType 1–1000
// scale (400) from Qt_6_0 on; StyleName is written from Qt_5_4,
// Hinting from Qt_5_4, Capitalization from Qt_5_6, Families from
// Qt_5_13 (without the first family before Qt_6_0), Features from
// Qt_6_6 and Axes from Qt_6_7 (each in the order of its tags, as Qt
// writes them; a Writer sorts them so). The character-set byte of
// streams before Qt_6_0 is skipped on reading and written as 0, as Qt
// does, and a null family reads as "" (StyleName keeps the difference).
type Font struct {
	Family        string
	StyleName     NullableString
	PointSize     float64
	PixelSize     int32
	StyleHint     uint8
	StyleStrategy uint16
	Weight        uint16
	Bits          uint8 // italic 0x01, underline 0x02, strike out 0x04, fixed pitch 0x08, kerning 0x10, overline 0x40, oblique 0x80
	Stretch       uint16
	ExtendedBits  uint8 // ignore pitch 0x01, absolute letter spacing 0x02
	LetterSpacing int32 // 26.6 fixed point
	WordSpacing   int32 // 26.6 fixed point
	Hinting       uint8
	Capital       uint8
	Families      []string
	Features      []FontFeature // QFont::setFeature
	Axes          []FontAxis    // QFont::setVariableAxis
}

// FontTag is an OpenType tag (QFont::Tag): four characters, the first
// in the most significant byte ("kern" is 0x6b65726e).
type FontTag uint32

// FontTagOf returns the tag of a four-character name such as "kern".
func FontTagOf(name string) FontTag {
	var t FontTag
	for i := range 4 {
		t <<= 8
		if i < len(name) {
			t |= FontTag(name[i])
		}
	}
	return t
}

// String returns the tag's four characters.
func (t FontTag) String() string {
	return string([]byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)})
}

// FontFeature is a typographic feature of a QFont and its value.
type FontFeature struct {
	Tag   FontTag
	Value uint32
}

// FontAxis is a variable axis of a QFont and its value (a float, which
// the stream's precision sizes).
type FontAxis struct {
	Tag   FontTag
	Value float32
}

// Font reads a QFont.
func (r *Reader) Font() Font {
	r.enter("QFont")
	defer r.leave()
	var f Font
	f.Family = r.QString()
	if r.v >= Qt_5_4 {
		f.StyleName = r.NullableString()
	}
	f.PointSize, f.PixelSize, f.StyleHint = r.Float64(), r.Int32(), r.Uint8()
	if r.v >= Qt_5_4 {
		f.StyleStrategy = r.Uint16()
	} else {
		f.StyleStrategy = uint16(r.Uint8())
	}
	if r.v >= Qt_6_0 {
		f.Weight = r.Uint16()
	} else {
		r.Uint8() // the character set of Qt 3
		f.Weight = uint16(r.Uint8())
	}
	f.Bits, f.Stretch, f.ExtendedBits = r.Uint8(), r.Uint16(), r.Uint8()
	f.LetterSpacing, f.WordSpacing = r.Int32(), r.Int32()
	if r.v >= Qt_5_4 {
		f.Hinting = r.Uint8()
	}
	if r.v >= Qt_5_6 {
		f.Capital = r.Uint8()
	}
	if r.v >= Qt_5_13 {
		f.Families = r.StringList()
	}
	if r.v >= Qt_6_6 {
		f.Features = ReadList(r, func(r *Reader) FontFeature { return FontFeature{FontTag(r.Uint32()), r.Uint32()} })
	}
	if r.v >= Qt_6_7 {
		f.Axes = ReadList(r, func(r *Reader) FontAxis { return FontAxis{FontTag(r.Uint32()), r.Float32()} })
	}
	return keep(r, f)
}

// Font writes a QFont.
func (w *Writer) Font(f Font) {
	w.QString(f.Family)
	if w.v >= Qt_5_4 {
		w.NullableString(f.StyleName)
	}
	w.Float64(f.PointSize)
	w.Int32(f.PixelSize)
	w.Uint8(f.StyleHint)
	if w.v >= Qt_5_4 {
		w.Uint16(f.StyleStrategy)
	} else {
		w.Uint8(uint8(f.StyleStrategy))
	}
	if w.v >= Qt_6_0 {
		w.Uint16(f.Weight)
	} else {
		w.Uint8(0)
		w.Uint8(uint8(f.Weight))
	}
	w.Uint8(f.Bits)
	w.Uint16(f.Stretch)
	w.Uint8(f.ExtendedBits)
	w.Int32(f.LetterSpacing)
	w.Int32(f.WordSpacing)
	if w.v >= Qt_5_4 {
		w.Uint8(f.Hinting)
	}
	if w.v >= Qt_5_6 {
		w.Uint8(f.Capital)
	}
	if w.v >= Qt_5_13 {
		if f.Families == nil {
			f.Families = []string{}
		}
		w.StringList(f.Families)
	}
	if w.v >= Qt_6_6 {
		feats := slices.Clone(f.Features)
		slices.SortStableFunc(feats, func(a, b FontFeature) int { return cmp.Compare(a.Tag, b.Tag) })
		WriteList(w, feats, func(w *Writer, x FontFeature) {
			w.Uint32(uint32(x.Tag))
			w.Uint32(x.Value)
		})
	}
	if w.v >= Qt_6_7 {
		axes := slices.Clone(f.Axes)
		slices.SortStableFunc(axes, func(a, b FontAxis) int { return cmp.Compare(a.Tag, b.Tag) })
		WriteList(w, axes, func(w *Writer, x FontAxis) {
			w.Uint32(uint32(x.Tag))
			w.Float32(x.Value)
		})
	}
}

// Palette is a QPalette: for each colour group (Active, Disabled,
// Inactive) a brush for each colour role. Streams hold 20 roles before
// Qt_5_12, 21 (PlaceholderText) before Qt_6_6 and 22 (Accent) from it;
// a Writer writes that many, the missing ones as QBrush().
type Palette [3][]Brush

func paletteRoles(v Version) int {
	switch {
	case v < Qt_5_12:
		return 20
	case v < Qt_6_6:
		return 21
	}
	return 22
}

// Palette reads a QPalette.
func (r *Reader) Palette() Palette {
	r.enter("QPalette")
	defer r.leave()
	var p Palette
	n := paletteRoles(r.v)
	for g := range p {
		p[g] = make([]Brush, n)
		for i := range p[g] {
			p[g][i] = r.Brush()
		}
	}
	return keep(r, p)
}

// Palette writes a QPalette.
func (w *Writer) Palette(p Palette) {
	n := paletteRoles(w.v)
	for _, group := range p {
		for i := range n {
			b := Brush{Color: Color{Alpha: 0xffff}, Transform: Identity}
			if i < len(group) {
				b = group[i]
			}
			w.Brush(b)
		}
	}
}

// TextLength is a QTextLength: its type and value.
type TextLength struct {
	Type  int32
	Value float64
}

// TextLength reads a QTextLength.
func (r *Reader) TextLength() TextLength { return TextLength{r.Int32(), r.Float64()} }

// TextLength writes a QTextLength.
func (w *Writer) TextLength(t TextLength) {
	w.Int32(t.Type)
	w.Float64(t.Value)
}

// TextFormat is a QTextFormat: its type and its properties by the ids
// the stream holds. Qt 6 writes four properties under their Qt 5 ids in
// streams before Qt_6_0 (FontLetterSpacingType, FontStretch,
// TextUnderlineColor, and FontFamilies as the first family under
// FontFamily) and reads them back under its own, and leaves out
// FontFeatures and FontVariableAxes before Qt_6_11; TextFormat does
// neither, so that what it reads it writes back as it was.
type TextFormat struct {
	Type       int32
	Properties map[int32]Variant
}

// TextFormat reads a QTextFormat.
func (r *Reader) TextFormat() TextFormat {
	r.enter("QTextFormat")
	defer r.leave()
	t := TextFormat{Type: r.Int32()}
	t.Properties = ReadMap(r, (*Reader).Int32, (*Reader).Variant)
	return keep(r, t)
}

// TextFormat writes a QTextFormat, its properties in QMap order.
func (w *Writer) TextFormat(t TextFormat) {
	w.Int32(t.Type)
	WriteMap(w, t.Properties, cmp.Compare[int32], (*Writer).Int32, (*Writer).Variant)
}

// Cursor is a QCursor: its Qt::CursorShape, and for BitmapCursor (24)
// either a pixmap or a bitmap and mask, and the hot spot.
type Cursor struct {
	Shape        int16
	Pixmap       image.Image
	Bitmap, Mask image.Image
	HotSpot      Point
}

const bitmapCursor = 24

// Cursor reads a QCursor.
func (r *Reader) Cursor() Cursor {
	r.enter("QCursor")
	defer r.leave()
	c := Cursor{Shape: r.Int16()}
	if c.Shape == bitmapCursor {
		if r.Bool() {
			c.Pixmap = r.Image()
		} else {
			c.Bitmap, c.Mask = r.Image(), r.Image()
		}
		c.HotSpot = r.Point()
	}
	return keep(r, c)
}

// Cursor writes a QCursor.
func (w *Writer) Cursor(c Cursor) {
	w.Int16(c.Shape)
	if c.Shape != bitmapCursor {
		return
	}
	w.Bool(c.Pixmap != nil)
	if c.Pixmap != nil {
		w.Image(c.Pixmap)
	} else {
		w.Image(c.Bitmap)
		w.Image(c.Mask)
	}
	w.Point(c.HotSpot)
}

// ColorSpace is a QColorSpace as its ICC profile (nil: an invalid one).
type ColorSpace []byte
