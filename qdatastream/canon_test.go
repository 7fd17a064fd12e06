package qdatastream

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The text form of values that the tests and the peers agree on
// (peers/qdatastream/README.md). format gives a case's value as the peers
// build it (construct) or as a reader shows what it read.

func fmtStrText(s any) string {
	switch x := s.(type) {
	case nil:
		return "null"
	case string:
		var b strings.Builder
		b.WriteByte('u')
		for _, u := range toUTF16(x) {
			fmt.Fprintf(&b, "%04x", u)
		}
		return b.String()
	}
	panic(fmt.Sprintf("string text of %T", s))
}

func fmtBytesText(b []byte) string {
	if b == nil {
		return "null"
	}
	return "x" + hex.EncodeToString(b)
}

func fmtDateTimeText(d DateTime) string {
	if !d.IsValid() {
		return "invalid"
	}
	s := fmt.Sprintf("%d/%d/", d.JulianDay, d.MSecs)
	switch d.Spec {
	case LocalTime:
		return s + "local"
	case UTC:
		return s + "utc"
	case OffsetFromUTC:
		return s + "off:" + strconv.Itoa(int(d.Offset))
	case TimeZone:
		if _, fixed := utcOffsetZone(d.Zone); fixed || d.ZoneInfo == (ZoneInfo{}) {
			return s + "tz:" + d.Zone
		}
		z := d.ZoneInfo
		return s + fmt.Sprintf("cz:%s:%d:%s:%s:%d:%s", fmtStrText(d.Zone), d.Offset, fmtStrText(z.Name),
			fmtStrText(z.Abbreviation), z.Territory, fmtStrText(z.Comment))
	}
	return s + "?"
}

// imageKind is o (no alpha), a (straight alpha) or, for construction, p
// (premultiplied: an *image.RGBA that is not opaque; Qt's
// Format_ARGB32_Premultiplied).
func imageKind(img image.Image, construct bool) string {
	if construct {
		switch img.(type) {
		case *image.NRGBA:
			return "a"
		case *image.RGBA:
			if isOpaque(img) {
				return "o"
			}
			return "p"
		}
		if isOpaque(img) {
			return "o"
		}
		return "a"
	}
	switch img.(type) {
	case *image.RGBA, *image.RGBA64, *image.Gray, *image.Gray16, *image.YCbCr:
		return "o"
	case *image.Paletted: // Qt's Indexed8 or Mono: alpha only if the palette has it
		if isOpaque(img) {
			return "o"
		}
	}
	return "a"
}

func fmtImageText(img image.Image, construct bool) string {
	if img == nil {
		return "null"
	}
	b := img.Bounds()
	var s strings.Builder
	fmt.Fprintf(&s, "%dx%d:%s:", b.Dx(), b.Dy(), imageKind(img, construct))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			fmt.Fprintf(&s, "%02x%02x%02x%02x", c.A, c.R, c.G, c.B)
		}
	}
	return s.String()
}

// imageOf builds an image from the text form: an *image.RGBA for o and
// p, an *image.NRGBA for a.
func imageOf(text string) image.Image {
	if text == "null" {
		return nil
	}
	var w, h int
	var kind, px string
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		panic("bad image text " + text)
	}
	fmt.Sscanf(parts[0], "%dx%d", &w, &h)
	kind, px = parts[1], parts[2]
	at := func(i int) color.NRGBA {
		v, err := strconv.ParseUint(px[8*i:8*i+8], 16, 32)
		if err != nil {
			panic(err)
		}
		return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: uint8(v >> 24)}
	}
	r := image.Rect(0, 0, w, h)
	if kind == "a" {
		img := image.NewNRGBA(r)
		for i := range w * h {
			img.SetNRGBA(i%w, i/w, at(i))
		}
		return img
	}
	img := image.NewRGBA(r)
	for i := range w * h {
		c := at(i)
		if kind == "o" {
			c.A = 0xff
		}
		img.Set(i%w, i/w, c)
	}
	return img
}

var variantNames = map[Type]string{
	TypeBool: "bool", TypeInt: "int", TypeUInt: "uint", TypeLongLong: "ll", TypeULongLong: "ull",
	TypeDouble: "double", TypeFloat: "float", TypeString: "str", TypeByteArray: "bytes",
	TypeStringList: "strlist", TypeDate: "date", TypeTime: "time", TypeDateTime: "dt", TypeUUID: "uuid",
	TypePoint: "point", TypeSize: "size", TypeRect: "rect", TypeVariantList: "list",
	TypeVariantMap: "map", TypeVariantHash: "hash", TypeImage: "image", TypePixmap: "pixmap",
	TypeChar: "qchar", TypeShort: "short", TypeUShort: "ushort", TypeSChar: "schar", TypeUChar: "uchar",
	TypeCChar: "char", TypeLong: "long", TypeNullptr: "nullptr", TypeURL: "url", TypeLocale: "locale",
	TypePointF: "pointf", TypeSizeF: "sizef", TypeRectF: "rectf", TypeLine: "line", TypeLineF: "linef",
	TypeRegexp: "regexp", TypeBitArray: "bitarray", TypeByteArrayList: "bal", TypeJSONValue: "jsonval",
	TypeJSONObject: "jsonobj", TypeJSONArray: "jsonarr", TypeJSONDocument: "jsondoc", TypeCBOR: "cbor",
	TypeColor: "color", TypeBrush: "brush", TypePen: "pen", TypeFont: "font", TypePalette: "palette",
	TypeKeySequence: "keyseq", TypeRegion: "region", TypeCursor: "cursor", TypeTextLength: "textlen",
	TypeTransform: "transform", TypeMatrix4x4: "m4x4", TypeVector2D: "vec2", TypeVector3D: "vec3",
	TypeVector4D: "vec4", TypeQuaternion: "quat", TypePolygon: "polygon", TypePolygonF: "polygonf",
	TypeBitmap: "bitmap", TypeColorSpace: "colorspace", TypeTextFormat: "textformat", TypeEasingCurve: "easing",
	TypeCBORSimpleType: "cbst", TypeCBORArray: "cborarr", TypeCBORMap: "cbormap", TypeChar16: "char16",
	TypeChar32: "char32", TypeFloat16: "float16", TypeVariantPair: "pair",
}

// userNames are the text names of the user types of the cases.
var userNames = map[string]string{versionNumberName: "vnum", "MyStruct": "mystruct", float16Name: "qfloat16"}

// myStruct is the user type the C++ peer registers as "MyStruct".
type myStruct struct {
	N int32
	S string
}

var myStructType = UserType{
	Name: "MyStruct",
	Read: func(r *Reader) any { return myStruct{r.Int32(), r.QString()} },
	Write: func(w *Writer, v any) {
		m := v.(myStruct)
		w.Int32(m.N)
		w.QString(m.S)
	},
}

func hexF64s(f ...float64) string {
	p := make([]string, len(f))
	for i, x := range f {
		p[i] = format("f64", x, false)
	}
	return strings.Join(p, ",")
}

func hexF32s(f ...float32) string {
	p := make([]string, len(f))
	for i, x := range f {
		p[i] = format("f32", x, false)
	}
	return strings.Join(p, ",")
}

func ints[T ~int8 | ~int16 | ~int32 | ~uint8 | ~uint16 | ~uint32 | ~int64](n ...T) string {
	p := make([]string, len(n))
	for i, x := range n {
		p[i] = fmt.Sprint(x)
	}
	return strings.Join(p, ",")
}

func colorText(c Color) string {
	return ints(int32(c.Spec), int32(c.Alpha), int32(c.C[0]), int32(c.C[1]), int32(c.C[2]), int32(c.C[3]))
}

func stopsText(g *Gradient) string {
	if len(g.Stops) != 2 {
		return fmt.Sprintf("with-%d-stops", len(g.Stops))
	}
	return hexF64s(g.Stops[0].At) + "," + colorText(g.Stops[0].Color) + "," + hexF64s(g.Stops[1].At) + "," + colorText(g.Stops[1].Color)
}

func brushText(b Brush) string {
	g := b.Gradient
	switch {
	case b.Style == LinearGradient && g != nil:
		return "lin," + hexF64s(g.Start.X, g.Start.Y, g.Final.X, g.Final.Y) + "," + stopsText(g)
	case b.Style == RadialGradient && g != nil:
		return "rad," + hexF64s(g.Center.X, g.Center.Y, g.Radius, g.Focal.X, g.Focal.Y, g.FocalRadius) + "," + stopsText(g)
	case b.Style == ConicalGradient && g != nil:
		return "con," + hexF64s(g.Center.X, g.Center.Y, g.Angle) + "," + stopsText(g)
	case b.Style == TexturePattern:
		return "tex," + fmtImageText(b.Texture, false)
	}
	return fmt.Sprint(b.Style) + "," + colorText(b.Color)
}

// easingDefaults are the period, amplitude and overshoot a QEasingCurve
// without parameters reports.
var easingDefaults = EasingConfig{Period: 0.3, Amplitude: 1, Overshoot: 1.70158}

// extText is the text form of the values of the types added for issue
// 26 (peers/qdatastream/README.md), or "" for another type.
func extText(v any) string {
	switch x := v.(type) {
	case QChar, int16, uint16, int8, uint8, CChar, Long:
		return fmt.Sprint(x)
	case Nullptr:
		return "0"
	case URL:
		if x == "" {
			return "null"
		}
		return fmtBytesText([]byte(x))
	case Locale:
		return fmtStrText(string(x))
	case PointF:
		return hexF64s(x.X, x.Y)
	case SizeF:
		return hexF64s(x.W, x.H)
	case RectF:
		return hexF64s(x.X, x.Y, x.W, x.H)
	case Line:
		return ints(x.P1.X, x.P1.Y, x.P2.X, x.P2.Y)
	case LineF:
		return hexF64s(x.P1.X, x.P1.Y, x.P2.X, x.P2.Y)
	case Regexp:
		return fmtStrText(x.Pattern) + "," + fmt.Sprint(x.Options)
	case BitArray:
		return fmt.Sprint(x.Len) + "," + fmtBytesText(x.Bits)
	case [][]byte:
		p := make([]string, len(x))
		for i, b := range x {
			p[i] = fmtBytesText(b)
		}
		return "[" + strings.Join(p, ",") + "]"
	case JSONValue:
		if x == nil {
			return "undef"
		}
		return fmtBytesText(x)
	case JSONObject:
		return fmtBytesText(x)
	case JSONArray:
		return fmtBytesText(x)
	case JSONDocument:
		return fmtBytesText(x)
	case CBOR:
		return fmtBytesText(x)
	case Color:
		return colorText(x)
	case Brush:
		return brushText(x)
	case Pen:
		return fmt.Sprint(x.Style) + "," + hexF64s(x.Width) + "," + colorText(x.Brush.Color)
	case Font:
		bold := x.Weight == 75 || x.Weight == 700
		s := fmt.Sprintf("%s,%s,%d,%d", fmtStrText(x.Family), hexF64s(x.PointSize), b2i(bold), x.Bits&1)
		if len(x.Features)+len(x.Axes) > 0 {
			var f, a []string
			for _, t := range x.Features {
				f = append(f, fmt.Sprintf("%s=%d", t.Tag, t.Value))
			}
			for _, t := range x.Axes {
				a = append(a, t.Tag.String()+"="+hexF32s(t.Value))
			}
			s += "," + strings.Join(f, "/") + "," + strings.Join(a, "/")
		}
		return s
	case Palette:
		first := x[0][0]
		for _, g := range x {
			for _, b := range g {
				if brushText(b) != brushText(first) {
					return "mixed"
				}
			}
		}
		return colorText(first.Color)
	case KeySequence:
		for len(x) > 0 && x[len(x)-1] == 0 {
			x = x[:len(x)-1]
		}
		return ints(x...)
	case Region:
		var n []int32
		for _, r := range x {
			n = append(n, r.X, r.Y, r.W, r.H)
		}
		return ints(n...)
	case Cursor:
		switch {
		case x.Shape != bitmapCursor:
			return fmt.Sprint(x.Shape)
		case x.Pixmap != nil:
			return fmt.Sprintf("%d,pix,%d,%d,%s", x.Shape, x.HotSpot.X, x.HotSpot.Y, fmtImageText(x.Pixmap, false))
		}
		return fmt.Sprintf("%d,bmp,%d,%d,%s,%s", x.Shape, x.HotSpot.X, x.HotSpot.Y, fmtImageText(x.Bitmap, false),
			fmtImageText(x.Mask, false))
	case EasingCurve:
		c := easingDefaults
		if x.Config != nil {
			c = *x.Config
		}
		return fmt.Sprint(x.Type) + "," + hexF64s(c.Period, c.Amplitude, c.Overshoot)
	case Char16, Char32, CBORSimpleType:
		return fmt.Sprint(x)
	case Float16:
		return fmt.Sprintf("%04x", uint16(x))
	case CBORArray:
		return fmtBytesText(x)
	case CBORMap:
		return fmtBytesText(x)
	case ColorSpace:
		return fmtBytesText(x)
	case TextLength:
		return fmt.Sprint(x.Type) + "," + hexF64s(x.Value)
	case Transform:
		return hexF64s(x[:]...)
	case Matrix4x4:
		return hexF32s(x[:]...)
	case Vector2D:
		return hexF32s(x[:]...)
	case Vector3D:
		return hexF32s(x[:]...)
	case Vector4D:
		return hexF32s(x[:]...)
	case Quaternion:
		return hexF32s(x[:]...)
	case Polygon:
		var n []int32
		for _, p := range x {
			n = append(n, p.X, p.Y)
		}
		return ints(n...)
	case PolygonF:
		var f []float64
		for _, p := range x {
			f = append(f, p.X, p.Y)
		}
		return hexF64s(f...)
	case VersionNumber:
		return ints(x...)
	case myStruct:
		return fmt.Sprint(x.N) + "," + fmtStrText(x.S)
	}
	return ""
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// variantTyp is the case type whose text form a variant's value takes.
var variantTyp = map[Type]string{
	TypeBool: "bool", TypeInt: "i32", TypeUInt: "u32", TypeLongLong: "i64", TypeULongLong: "u64",
	TypeDouble: "f64", TypeFloat: "f32", TypeString: "str", TypeByteArray: "bytes",
	TypeStringList: "strlist", TypeDateTime: "dt", TypeUUID: "uuid", TypePoint: "point",
	TypeSize: "size", TypeRect: "rect", TypeImage: "image", TypePixmap: "image",
}

func fmtVariantText(v Variant, construct bool) string {
	if v.Type == TypeInvalid {
		return "invalid"
	}
	if u, ok := v.Value.(User); ok {
		return userNames[u.Name] + ":" + extText(u.Value)
	}
	name := variantNames[v.Type]
	if construct && v.Null && v.Value == nil {
		return "null:" + name
	}
	p := name + ":"
	switch v.Type {
	case TypeDate:
		return p + strconv.FormatInt(int64(v.Value.(Date)), 10)
	case TypeTime:
		return p + strconv.FormatInt(int64(v.Value.(Time)), 10)
	case TypeVariantList:
		var parts []string
		for _, e := range v.Value.([]Variant) {
			parts = append(parts, fmtVariantText(e, construct))
		}
		return p + "[" + strings.Join(parts, ",") + "]"
	case TypeVariantMap, TypeVariantHash:
		m := v.Value.(map[string]Variant)
		var parts []string
		for _, k := range sortedKeys(m) {
			parts = append(parts, fmtStrText(k)+":"+fmtVariantText(m[k], construct))
		}
		return p + "{" + strings.Join(parts, ",") + "}"
	case TypeImage, TypePixmap, TypeBitmap:
		img, _ := v.Value.(image.Image)
		return p + fmtImageText(img, construct)
	case TypeVariantPair:
		x := v.Value.(Pair[Variant, Variant])
		return p + "[" + fmtVariantText(x.Key, construct) + "," + fmtVariantText(x.Value, construct) + "]"
	case TypeTextFormat:
		x := v.Value.(TextFormat)
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(x.Properties)) {
			parts = append(parts, fmt.Sprintf("%d:%s", id, fmtVariantText(x.Properties[id], construct)))
		}
		return p + fmt.Sprintf("%d,{%s}", x.Type, strings.Join(parts, ","))
	}
	if t := extText(v.Value); t != "" || variantTyp[v.Type] == "" {
		return p + t
	}
	return p + format(variantTyp[v.Type], v.Value, construct)
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.SortFunc(k, CompareUTF16)
	return k
}

// format gives the text form of a value of case type typ.
func format(typ string, v any, construct bool) string {
	switch typ {
	case "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64":
		return fmt.Sprint(v)
	case "bool":
		if v.(bool) {
			return "1"
		}
		return "0"
	case "f32":
		return fmt.Sprintf("%08x", math.Float32bits(v.(float32)))
	case "f64":
		return fmt.Sprintf("%016x", math.Float64bits(v.(float64)))
	case "str":
		return fmtStrText(v)
	case "bytes":
		return fmtBytesText(v.([]byte))
	case "strlist":
		var parts []string
		for _, s := range v.([]string) {
			parts = append(parts, fmtStrText(s))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case "listi32":
		var parts []string
		for _, n := range v.([]int32) {
			parts = append(parts, strconv.Itoa(int(n)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case "mapstri32", "hashstri32":
		m := v.(map[string]int32)
		var parts []string
		for _, k := range sortedKeys(m) {
			parts = append(parts, fmtStrText(k)+":"+strconv.Itoa(int(m[k])))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case "multimapstri32":
		// construct: insertion order; read: Qt's iteration order, keys
		// ascending and each key's values newest first.
		p := slices.Clone(v.([]Pair[string, int32]))
		if !construct {
			slices.Reverse(p)
			slices.SortStableFunc(p, func(x, y Pair[string, int32]) int { return CompareUTF16(x.Key, y.Key) })
		}
		var parts []string
		for _, kv := range p {
			parts = append(parts, fmtStrText(kv.Key)+":"+strconv.Itoa(int(kv.Value)))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case "dt":
		return fmtDateTimeText(v.(DateTime))
	case "uuid":
		return v.(UUID).String()
	case "point":
		p := v.(Point)
		return fmt.Sprintf("%d,%d", p.X, p.Y)
	case "size":
		s := v.(Size)
		return fmt.Sprintf("%d,%d", s.W, s.H)
	case "rect":
		r := v.(Rect)
		return fmt.Sprintf("%d,%d,%d,%d", r.X, r.Y, r.W, r.H)
	case "image", "pixmap":
		img, _ := v.(image.Image)
		return fmtImageText(img, construct)
	case "variant":
		return fmtVariantText(v.(Variant), construct)
	}
	panic("no text form for " + typ)
}

// encode writes v of case type typ.
func encode(w *Writer, typ string, v any) {
	switch typ {
	case "i8":
		w.Int8(v.(int8))
	case "i16":
		w.Int16(v.(int16))
	case "i32":
		w.Int32(v.(int32))
	case "i64":
		w.Int64(v.(int64))
	case "u8":
		w.Uint8(v.(uint8))
	case "u16":
		w.Uint16(v.(uint16))
	case "u32":
		w.Uint32(v.(uint32))
	case "u64":
		w.Uint64(v.(uint64))
	case "bool":
		w.Bool(v.(bool))
	case "f32":
		w.Float32(v.(float32))
	case "f64":
		w.Float64(v.(float64))
	case "str":
		if v == nil {
			w.NullQString()
		} else {
			w.QString(v.(string))
		}
	case "bytes":
		w.Bytes(v.([]byte))
	case "strlist":
		w.StringList(v.([]string))
	case "listi32":
		WriteList(w, v.([]int32), (*Writer).Int32)
	case "mapstri32", "hashstri32":
		WriteMap(w, v.(map[string]int32), CompareUTF16, (*Writer).QString, (*Writer).Int32)
	case "multimapstri32":
		WriteMultiMap(w, v.([]Pair[string, int32]), CompareUTF16, (*Writer).QString, (*Writer).Int32)
	case "dt":
		w.DateTime(v.(DateTime))
	case "uuid":
		w.UUID(v.(UUID))
	case "point":
		w.Point(v.(Point))
	case "size":
		w.Size(v.(Size))
	case "rect":
		w.Rect(v.(Rect))
	case "image", "pixmap":
		img, _ := v.(image.Image)
		w.Image(img)
	case "variant":
		w.Variant(v.(Variant))
	default:
		panic("cannot encode " + typ)
	}
}

// decode reads a value of case type typ.
func decode(r *Reader, typ string) any {
	switch typ {
	case "i8":
		return r.Int8()
	case "i16":
		return r.Int16()
	case "i32":
		return r.Int32()
	case "i64":
		return r.Int64()
	case "u8":
		return r.Uint8()
	case "u16":
		return r.Uint16()
	case "u32":
		return r.Uint32()
	case "u64":
		return r.Uint64()
	case "bool":
		return r.Bool()
	case "f32":
		return r.Float32()
	case "f64":
		return r.Float64()
	case "str":
		if s, ok := r.QStringOrNull(); ok {
			return s
		}
		return nil
	case "bytes":
		return r.Bytes()
	case "strlist":
		return r.StringList()
	case "listi32":
		return ReadList(r, (*Reader).Int32)
	case "mapstri32", "hashstri32":
		return ReadMap(r, (*Reader).QString, (*Reader).Int32)
	case "multimapstri32":
		return ReadPairs(r, (*Reader).QString, (*Reader).Int32)
	case "dt":
		return r.DateTime()
	case "uuid":
		return r.UUID()
	case "point":
		return r.Point()
	case "size":
		return r.Size()
	case "rect":
		return r.Rect()
	case "image", "pixmap":
		return r.Image()
	case "variant":
		return r.Variant()
	}
	panic("cannot decode " + typ)
}
