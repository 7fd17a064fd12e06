package qdatastream

import "math"

// The QVariant cases of the types issue 26 added: one or more values of
// each, in every version where its encoding or id changed (vGUI: the GUI
// ids moved at Qt_6_0; QFont's weight and families changed there too).

func addIssue26Cases(s *caseSet) {
	vv := func(v any) Variant { return VariantOf(v) }
	rgb := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{257, 514, 771, 0}}
	red := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{0xffff, 0, 0, 0}}
	blue := Color{Spec: ColorRgb, Alpha: 0xffff, C: [4]uint16{0, 0, 0xffff, 0}}
	lin := Brush{Style: LinearGradient, Color: Color{Alpha: 0xffff}, Transform: Identity, Gradient: &Gradient{
		Stops: []GradientStop{{0, red}, {1, blue}}, Start: PointF{0, 0}, Final: PointF{1, 1.5}}}
	m4 := Matrix4x4{}
	for i := range m4 {
		m4[i] = float32(i) + 0.5
	}
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
		{"rgb", vv(rgb), nil, nil},
		{"hsv", vv(Color{Spec: ColorHsv, Alpha: 0xffff, C: [4]uint16{12000, 65535, 32896, 0}}), nil, nil},
		{"cmyk", vv(Color{Spec: ColorCmyk, Alpha: 0x8080, C: [4]uint16{0, 32896, 65535, 0}}), nil, nil},
		{"hsl", vv(Color{Spec: ColorHsl, Alpha: 0xffff, C: [4]uint16{65535, 0, 32896, 0}}), nil, nil},
		{"extrgb", vv(Color{Spec: ColorExtendedRgb, Alpha: 0x3c00, C: [4]uint16{0x3e00, 0, 0xb800, 0}}), nil, nil},
		{"nocolor", vv(Color{Alpha: 0xffff}), nil, nil},
		{"solidbrush", vv(SolidBrush(rgb)), nil, nil},
		{"linearbrush", vv(lin), nil, nil},
		{"pen", vv(Pen{Style: 0x51, Width: 2.5, Brush: SolidBrush(red), MiterLimit: 2, Dashes: []float64{}}), nil, nil},
		{"palette", vv(Palette{solid(rgb, 22), solid(rgb, 22), solid(rgb, 22)}), nil, nil},
		{"keyseq", vv(KeySequence{0x04000041}), nil, nil},
		{"keyseq2", vv(KeySequence{0x04000041, 0x42, 0, 0}), nil, nil},
		{"region", vv(Region{{1, 2, 3, 4}, {10, 20, 3, 4}}), nil, nil},
		{"cursor", vv(Cursor{Shape: 3}), nil, nil},
		{"textlen", vv(TextLength{1, 5}), nil, nil},
		{"transform", vv(Transform{1, 2, 0, 3, 4, 0, 5, 6, 1}), nil, nil},
		{"m4x4", vv(m4), nil, nil},
		{"vec2", vv(Vector2D{1, 2.5}), nil, nil},
		{"vec3", vv(Vector3D{1, 2, -3}), nil, nil},
		{"vec4", vv(Vector4D{1, 2, 3, float32(math.Inf(1))}), nil, nil},
		{"quat", vv(Quaternion{1, 2, 3, 4}), nil, nil},
		{"polygon", vv(Polygon{{1, 2}, {3, 4}}), nil, nil},
		{"polygonf", vv(PolygonF{{1.5, 2}, {3, 4}}), nil, nil},
		{"mystruct", vv(User{"MyStruct", myStruct{5, "é"}}), nil, nil},
		{"versionnumber", vv(VersionNumber{1, 2, 3}), []Version{Qt_6_0, 0}, []func(*tcase){qt6Only}}, // Qt 5 cannot stream it in a QVariant
	}
	for _, x := range variants {
		vers := x.vers
		if vers == nil {
			vers = vGUI
		}
		s.add(x.name, "variant", x.v, vers, be, x.mods...)
	}
	s.add("rgb", "variant", vv(rgb), []Version{0}, []bool{true})
	s.add("linearbrush", "variant", vv(lin), []Version{0}, []bool{true}, single)
	// QFont: Qt 5's weight scale and the families after the first before
	// Qt_6_0, the OpenType scale and all families from it; styleName and
	// the rest from Qt_5_4 on; features from Qt_6_6, variable axes from
	// Qt_6_7.
	for _, ver := range []Version{Qt_5_0, Qt_5_15, Qt_6_0, Qt_6_6, Qt_6_7, Qt_6_10, 0} {
		f := Font{Family: "Sans", StyleName: NullableString{Null: true}, PointSize: 12, PixelSize: -1, StyleHint: 5,
			StyleStrategy: 1, Weight: 75, Bits: 0x11, ExtendedBits: 1, Families: []string{}}
		if ver == 0 || ver >= Qt_6_0 {
			f.Weight, f.Families = 700, []string{"Sans"}
		}
		s.add("bolditalic", "variant", vv(f), []Version{ver}, be)
		if ver == 0 || ver < Qt_6_6 {
			continue
		}
		f.Features = []FontFeature{{FontTagOf("abcd"), 7}, {FontTagOf("kern"), 0}, {FontTagOf("liga"), 1}}
		if ver >= Qt_6_7 {
			f.Axes = []FontAxis{{FontTagOf("wdth"), 80}, {FontTagOf("wght"), 550.5}}
		}
		vers := []Version{ver}
		if ver == Qt_6_10 {
			vers = append(vers, Qt_6_11)
		}
		s.add("features", "variant", vv(f), vers, beLE)
	}
	// QPalette: 21 roles from Qt_5_12, 22 (Accent) from Qt_6_6.
	pal := vv(Palette{solid(rgb, 22), solid(rgb, 22), solid(rgb, 22)})
	s.add("palette", "variant", pal, []Version{Qt_5_12, Qt_6_6}, be)
}

// solid is n solid brushes of c.
func solid(c Color, n int) []Brush {
	l := make([]Brush, n)
	for i := range l {
		l[i] = SolidBrush(c)
	}
	return l
}
