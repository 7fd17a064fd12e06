package qdatastream

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"unicode/utf16"
)

// The QVariant cases of the types issue 26 added: one or more values of
// each, in every version where its encoding or id changed (vGUI: the GUI
// ids moved at Qt_6_0; QFont's weight and families changed there too),
// each in both byte orders, and those that hold floating-point numbers
// under single precision too.

func addIssue26Cases(s *caseSet) {
	vv := func(v any) Variant { return VariantOf(v) }
	rgb := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{257, 514, 771, 0}}
	red := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{0xffff, 0, 0, 0}}
	blue := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{0, 0, 0xffff, 0}}
	black := Color{Spec: ColorRgb, Alpha: 0xffff}
	stops := []GradientStop{{0, red}, {1, blue}}
	gradient := func(style uint8, g Gradient) Brush {
		g.Stops = stops
		return Brush{Style: style, Color: Color{Alpha: 0xffff}, Transform: Identity, Gradient: &g}
	}
	lin := gradient(LinearGradient, Gradient{Start: PointF{0, 0}, Final: PointF{1, 1.5}})
	// Before Qt_6_0 a radial gradient's focal radius is not streamed.
	rad := gradient(RadialGradient, Gradient{Type: 1, Center: PointF{1, 2}, Focal: PointF{1.5, 2}, Radius: 3, FocalRadius: 0.5})
	radQt5 := gradient(RadialGradient, Gradient{Type: 1, Center: PointF{1, 2}, Focal: PointF{1.5, 2}, Radius: 3})
	con := gradient(ConicalGradient, Gradient{Type: 2, Center: PointF{1, 2}, Angle: 45})
	tex := Brush{Style: TexturePattern, Color: black, Texture: imageOf("2x1:a:80ff000040102030"), Transform: Identity}
	m4 := Matrix4x4{}
	for i := range m4 {
		m4[i] = float32(i) + 0.5
	}
	bits, mask := bitmapOf(3, 2, "100011"), bitmapOf(3, 2, "110111")
	// Properties whose ids Qt 6 does not renumber in streams before Qt_6_0
	// (FontPointSize, FontWeight, FontItalic, TextToolTip).
	props := map[int32]Variant{0x2001: vv(12.5), 0x2003: vv(int32(700)), 0x2004: vv(true), 0x2024: vv("tip")}
	// Qt_6_7 (which changed QDataStream's sizes) besides the newest
	// version: the peers whose Qt is older skip it.
	vGUI26 := []Version{Qt_5_0, Qt_5_15, Qt_6_0, Qt_6_7, 0}
	vGUIQt6 := []Version{Qt_6_0, Qt_6_7, 0}
	qt6 := []func(*tcase){qt6Only}
	variants := []struct {
		name string
		v    Variant
		vers []Version
		mods []func(*tcase)
	}{
		{"qchar", vv(QChar(0x263a)), nil, nil},
		{"short", vv(int16(-5)), nil, nil},
		{"ushort", vv(uint16(65534)), nil, nil},
		{"schar", vv(int8(-7)), nil, nil},
		{"uchar", vv(uint8(200)), nil, nil},
		{"char", vv(CChar(65)), nil, nil},
		{"long", vv(Long(-1 << 40)), nil, nil},
		{"nullptr", vv(Nullptr{}), nil, nil},
		{"url", vv(URL("http://x/%C3%A9?q=1")), nil, nil},
		{"nullurl", vv(URL("")), nil, nil},
		{"locale", vv(Locale("fr_CA")), nil, nil},
		{"pointf", vv(PointF{1.5, -2}), nil, nil},
		{"sizef", vv(SizeF{3, 4.25}), nil, nil},
		{"rectf", vv(RectF{1, 2, 3, 4.5}), nil, nil},
		{"line", vv(Line{Point{1, 2}, Point{3, 4}}), nil, nil},
		{"linef", vv(LineF{PointF{0.5, 1}, PointF{2, 3}}), nil, nil},
		{"regexp", vv(Regexp{"a+b", 1}), nil, nil},
		{"bitarray", vv(BitArray{10, []byte{0xff, 0x02}}), nil, nil},
		{"bal", vv([][]byte{[]byte("a"), []byte("bc")}), nil, nil},
		{"jsonnum", vv(JSONValue("1.5")), nil, nil},
		{"jsonstr", vv(JSONValue(`"s"`)), nil, nil},
		{"jsonarrval", vv(JSONValue(`[1,"x"]`)), nil, nil},
		{"jsonnull", vv(JSONValue("null")), nil, nil},
		{"jsonundef", vv(JSONValue(nil)), nil, nil},
		{"jsonobj", vv(JSONObject(`{"a":[1,"x"],"b":true}`)), nil, nil},
		{"jsonarr", vv(JSONArray(`[1,"x",null]`)), nil, nil},
		{"jsondoc", vv(JSONDocument(`[1.5,true]`)), nil, nil},
		{"nulljsondoc", vv(JSONDocument(nil)), nil, nil},
		{"cbor", vv(CBOR{0xa1, 0x01, 0x61, 0x78}), nil, nil},
		{"cborarr", vv(CBORArray{0x82, 0x01, 0x61, 0x78}), nil, nil},
		{"cbormap", vv(CBORMap{0xa1, 0x01, 0x61, 0x78}), nil, nil},
		{"cborsimple", vv(CBORSimpleType(32)), nil, nil},
		{"rgb", vv(rgb), nil, nil},
		{"hsv", vv(Color{Spec: ColorHsv, Alpha: 0xffff, C: [4]uint16{12000, 65535, 32896, 0}}), nil, nil},
		{"cmyk", vv(Color{Spec: ColorCmyk, Alpha: 0x8080, C: [4]uint16{0, 32896, 65535, 0}}), nil, nil},
		{"hsl", vv(Color{Spec: ColorHsl, Alpha: 0xffff, C: [4]uint16{65535, 0, 32896, 0}}), nil, nil},
		{"extrgb", vv(Color{Spec: ColorExtendedRgb, Alpha: 0x3c00, C: [4]uint16{0x3e00, 0, 0xb800, 0}}), nil, nil},
		{"nocolor", vv(Color{Alpha: 0xffff}), nil, nil},
		{"solidbrush", vv(SolidBrush(rgb)), nil, nil},
		{"linearbrush", vv(lin), nil, nil},
		{"radialbrush", vv(radQt5), []Version{Qt_5_0, Qt_5_15}, nil},
		{"radialbrush", vv(rad), vGUIQt6, nil},
		{"conicalbrush", vv(con), nil, nil},
		{"texturebrush", vv(tex), nil, nil},
		{"pen", vv(Pen{Style: 0x51, Width: 2.5, Brush: SolidBrush(red), MiterLimit: 2, Dashes: []float64{}}), nil, nil},
		{"palette", vv(Palette{solid(rgb, 22), solid(rgb, 22), solid(rgb, 22)}), nil, nil},
		{"keyseq", vv(KeySequence{0x04000041}), nil, nil},
		{"keyseq2", vv(KeySequence{0x04000041, 0x42, 0, 0}), nil, nil},
		{"region", vv(Region{{1, 2, 3, 4}, {10, 20, 3, 4}}), nil, nil},
		{"cursor", vv(Cursor{Shape: 3}), nil, nil},
		{"bitmapcursor", vv(Cursor{Shape: bitmapCursor, Bitmap: bits, Mask: mask, HotSpot: Point{1, 0}}), nil, nil},
		{"pixmapcursor", vv(Cursor{Shape: bitmapCursor, Pixmap: imageOf("2x1:o:ffff0000ff0000ff"), HotSpot: Point{0, 1}}), nil, nil},
		{"bitmap", Variant{Type: TypeBitmap, Value: bits}, nil, nil},
		{"colorspace", vv(ColorSpace(testICC())), nil, nil},
		{"textlen", vv(TextLength{1, 5}), nil, nil},
		{"textformat", vv(TextFormat{Type: 1, Properties: props}), nil, nil},
		{"transform", vv(Transform{1, 2, 0, 3, 4, 0, 5, 6, 1}), nil, nil},
		{"m4x4", vv(m4), nil, nil},
		{"vec2", vv(Vector2D{1, 2.5}), nil, nil},
		{"vec3", vv(Vector3D{1, 2, -3}), nil, nil},
		{"vec4", vv(Vector4D{1, 2, 3, float32(math.Inf(1))}), nil, nil},
		{"quat", vv(Quaternion{1, 2, 3, 4}), nil, nil},
		{"polygon", vv(Polygon{{1, 2}, {3, 4}}), nil, nil},
		{"polygonf", vv(PolygonF{{1.5, 2}, {3, 4}}), nil, nil},
		// Qt 5.15 and 6.4 stream the address of the function of a curve
		// without parameters, which no other process can reproduce; Qt
		// 6.12 streams 0. Spline points from Qt_5_13.
		{"linear", vv(EasingCurve{}), nil, []func(*tcase){notOn("qt5 qt6")}},
		{"outquad", vv(EasingCurve{Type: 2}), nil, []func(*tcase){notOn("qt5 qt6")}},
		{"outelastic", vv(EasingCurve{Type: 30, Config: &EasingConfig{Period: 0.3, Amplitude: 2, Overshoot: 1.70158}}),
			[]Version{Qt_5_0, Qt_5_12, Qt_5_13, Qt_6_0, Qt_6_7, 0}, nil},
		{"mystruct", vv(User{"MyStruct", myStruct{5, "é"}}), nil, nil},
		// Qt 5 cannot stream these in a QVariant.
		{"versionnumber", vv(VersionNumber{1, 2, 3}), vGUIQt6, qt6},
		{"char16", vv(Char16(0x263a)), vGUIQt6, qt6},
		{"char32", vv(Char32(0x1f600)), vGUIQt6, qt6},
		// qfloat16: a user type in Qt 6.4, TypeFloat16 in Qt 6.12 (both
		// stream versions: the id depends on the Qt that writes it).
		{"float16", vv(Float16(0x3e00)), vGUIQt6, []func(*tcase){qt6Only, notOn("qt6")}},
		{"qfloat16", vv(User{float16Name, Float16(0x3e00)}), vGUIQt6, []func(*tcase){qt6Only, notOn("pyside6")}},
		{"pair", vv(Pair[Variant, Variant]{vv(int32(1)), vv("x")}), vGUIQt6, qt6},
	}
	for _, x := range variants {
		vers := x.vers
		if vers == nil {
			vers = vGUI26
		}
		s.add(x.name, "variant", x.v, vers, beLE, x.mods...)
		if singleTwin[x.v.Type] {
			s.add(x.name, "variant", x.v, vers, beLE, append(x.mods, single)...)
		}
	}
	// QFont: Qt 5's weight scale and the families after the first before
	// Qt_6_0, the OpenType scale and all families from it; styleName and
	// the rest from Qt_5_4 on; features from Qt_6_6, variable axes from
	// Qt_6_7.
	for _, ver := range []Version{Qt_5_0, Qt_5_4, Qt_5_6, Qt_5_15, Qt_6_0, Qt_6_6, Qt_6_7, Qt_6_10, 0} {
		f := Font{Family: "Sans", StyleName: NullableString{Null: true}, PointSize: 12, PixelSize: -1, StyleHint: 5,
			StyleStrategy: 1, Weight: 75, Bits: 0x11, ExtendedBits: 1, Families: []string{}}
		if ver == 0 || ver >= Qt_6_0 {
			f.Weight, f.Families = 700, []string{"Sans"}
		}
		s.add("bolditalic", "variant", vv(f), []Version{ver}, beLE)
		s.add("bolditalic", "variant", vv(f), []Version{ver}, beLE, single)
		if ver < Qt_6_6 {
			continue
		}
		f.Features = []FontFeature{{FontTagOf("abcd"), 7}, {FontTagOf("kern"), 0}, {FontTagOf("liga"), 1}}
		if ver >= Qt_6_7 {
			f.Axes = []FontAxis{{FontTagOf("wdth"), 80}, {FontTagOf("wght"), 550.5}}
		}
		vers := []Version{ver}
		if ver == Qt_6_10 {
			vers = append(vers, Qt_6_11)
			s.add("features", "variant", vv(f), []Version{Qt_6_11}, beLE, single)
		}
		s.add("features", "variant", vv(f), vers, beLE)
	}
	// QPalette: 21 roles from Qt_5_12, 22 (Accent) from Qt_6_6.
	pal := vv(Palette{solid(rgb, 22), solid(rgb, 22), solid(rgb, 22)})
	s.add("palette", "variant", pal, []Version{Qt_5_12, Qt_6_6, Qt_6_10}, beLE)
}

// singleTwin are the types whose values hold floating-point numbers,
// which single precision writes as floats: their cases run under it too.
var singleTwin = map[Type]bool{
	TypePointF: true, TypeSizeF: true, TypeRectF: true, TypeLineF: true, TypePolygonF: true, TypeJSONValue: true,
	TypeBrush: true, TypePen: true, TypePalette: true, TypeTextLength: true, TypeTextFormat: true,
	TypeTransform: true, TypeMatrix4x4: true, TypeVector2D: true, TypeVector3D: true, TypeVector4D: true,
	TypeQuaternion: true,
}

// solid is n solid brushes of c.
func solid(c Color, n int) []Brush {
	l := make([]Brush, n)
	for i := range l {
		l[i] = SolidBrush(c)
	}
	return l
}

// bitmapOf is a w×h QBitmap's image: 1 in bits is black (Qt::color1), 0
// white, row by row.
func bitmapOf(w, h int, bits string) *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.Black})
	for i, c := range bits {
		if c == '1' {
			img.SetColorIndex(i%w, i/w, 1)
		}
	}
	return img
}

// testICC is a small ICC display profile of the kind QColorSpace reads:
// RGB primaries (Adobe RGB's, adapted to D50), a D50 white point, one
// gamma curve for the three channels and a description.
func testICC() []byte {
	xyz := func(x, y, z float64) []byte {
		b := []byte("XYZ \x00\x00\x00\x00")
		for _, v := range []float64{x, y, z} {
			b = binary.BigEndian.AppendUint32(b, uint32(int32(math.Round(v*65536))))
		}
		return b
	}
	curv := []byte("curv\x00\x00\x00\x00\x00\x00\x00\x01\x02\x33") // gamma 2.2 (u8Fixed8)
	desc := []byte("mluc\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x0cenUS")
	name := utf16.Encode([]rune("qipc test"))
	desc = binary.BigEndian.AppendUint32(desc, uint32(2*len(name)))
	desc = binary.BigEndian.AppendUint32(desc, 28)
	for _, u := range name {
		desc = binary.BigEndian.AppendUint16(desc, u)
	}
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", desc},
		{"rXYZ", xyz(0.60974, 0.31111, 0.01947)},
		{"gXYZ", xyz(0.20528, 0.62567, 0.06087)},
		{"bXYZ", xyz(0.14919, 0.06322, 0.74457)},
		{"wtpt", xyz(0.9642, 1, 0.8249)},
		{"rTRC", curv}, {"gTRC", curv}, {"bTRC", curv},
	}
	head := make([]byte, 128)
	copy(head[8:], "\x04\x40\x00\x00mntrRGB XYZ ")
	copy(head[36:], "acsp")
	copy(head[68:], xyz(0.9642, 1, 0.8249)[8:])
	table := binary.BigEndian.AppendUint32(nil, uint32(len(tags)))
	var data []byte
	off, curvAt := 128+4+12*len(tags), 0
	for _, t := range tags {
		at := off + len(data)
		if t.sig == "gTRC" || t.sig == "bTRC" { // the three curves share one
			at = curvAt
		} else {
			if t.sig == "rTRC" {
				curvAt = at
			}
			data = append(data, t.data...)
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
		}
		table = append(table, t.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(at))
		table = binary.BigEndian.AppendUint32(table, uint32(len(t.data)))
	}
	p := append(append(head, table...), data...)
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}
