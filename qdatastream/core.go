package qdatastream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Go types of the QtCore values this package reads and writes besides
// those of types.go. Each is a plain value whose fields are what the
// stream holds, so that a value read writes back byte for byte.

// QChar is a QChar: one UTF-16 code unit.
type QChar uint16

// CChar is a C++ char in a QVariant (QMetaType::Char), which Qt keeps
// apart from signed char (int8, QMetaType::SChar).
type CChar int8

// Char16 and Char32 are char16_t and char32_t (Qt 6 only).
type (
	Char16 uint16
	Char32 uint32
)

// Long and ULong are C++ long and unsigned long, which Qt streams as 64
// bits.
type (
	Long  int64
	ULong uint64
)

// Float16 is a qfloat16 (Qt 6 only), as its IEEE 754 half-precision bits.
type Float16 uint16

// Nullptr is std::nullptr_t, which a QVariant can hold and streams as
// nothing.
type Nullptr struct{}

// URL is a QUrl in its encoded form (QUrl::toEncoded()); "" is an
// invalid or empty QUrl, which Qt streams as a null QByteArray.
type URL string

// Locale is a QLocale by its name, such as "fr_CA" (QLocale::name()).
type Locale string

// PointF is a QPointF.
type PointF struct{ X, Y float64 }

// SizeF is a QSizeF. QSizeF() is SizeF{-1, -1}.
type SizeF struct{ W, H float64 }

// RectF is a QRectF.
type RectF struct{ X, Y, W, H float64 }

// Line is a QLine.
type Line struct{ P1, P2 Point }

// LineF is a QLineF.
type LineF struct{ P1, P2 PointF }

// Regexp is a QRegularExpression: its pattern and
// QRegularExpression::PatternOptions.
type Regexp struct {
	Pattern string
	Options uint32
}

// BitArray is a QBitArray of Len bits, bit i in Bits[i/8] & (1 << (i%8)).
type BitArray struct {
	Len  int64
	Bits []byte
}

// Bit reports bit i.
func (b BitArray) Bit(i int64) bool { return b.Bits[i/8]&(1<<(i%8)) != 0 }

// VersionNumber is a QVersionNumber's segments. Qt registers it as a
// type outside the built-in ones, so a QVariant holds it as a user type
// named "QVersionNumber" (Qt 6; Qt 5 cannot stream it in a QVariant).
type VersionNumber []int32

// EasingCurve is a QEasingCurve. Func is what Qt streams of the curve's
// function: 0 from Qt 6 (and from Qt 5 for a curve with parameters), the
// function's address in the writing process from Qt 5 for one without,
// which means nothing in another process (see the package doc). Config
// holds the parameters; streams before Qt_5_13 carry no spline points.
type EasingCurve struct {
	Type   uint8
	Func   uint64
	Config *EasingConfig // nil: none
}

// EasingConfig is a QEasingCurve's parameters: period, amplitude,
// overshoot, and the points of a BezierSpline or TCBSpline curve.
type EasingConfig struct {
	Period, Amplitude, Overshoot float64
	Bezier                       []PointF
	TCB                          []TCBPoint
}

// TCBPoint is a point of a TCBSpline easing curve.
type TCBPoint struct {
	Point   PointF
	T, C, B float64
}

// The JSON types hold JSON text, compact as Qt writes it
// (QJsonDocument::toJson(QJsonDocument::Compact)): decode it with
// encoding/json. A nil JSONDocument is QJsonDocument() (null), a nil
// JSONValue is QJsonValue::Undefined.
type (
	JSONValue    []byte
	JSONObject   []byte
	JSONArray    []byte
	JSONDocument []byte
)

// The CBOR types hold a CBOR item as QCborValue::toCbor() encodes it.
type (
	CBOR      []byte
	CBORArray []byte
	CBORMap   []byte
)

// CBORSimpleType is a QCborSimpleType.
type CBORSimpleType uint8

// QChar reads a QChar.
func (r *Reader) QChar() QChar { return QChar(r.Uint16()) }

// QChar writes a QChar.
func (w *Writer) QChar(c QChar) { w.Uint16(uint16(c)) }

// URL reads a QUrl.
func (r *Reader) URL() URL { return URL(r.Bytes()) }

// URL writes a QUrl.
func (w *Writer) URL(u URL) {
	if u == "" {
		w.Bytes(nil)
		return
	}
	w.Bytes([]byte(u))
}

// Locale reads a QLocale.
func (r *Reader) Locale() Locale { return Locale(r.QString()) }

// Locale writes a QLocale.
func (w *Writer) Locale(l Locale) { w.QString(string(l)) }

// PointF reads a QPointF (two doubles, as the precision says).
func (r *Reader) PointF() PointF { return PointF{r.Float64(), r.Float64()} }

// PointF writes a QPointF.
func (w *Writer) PointF(p PointF) { w.floats(p.X, p.Y) }

// SizeF reads a QSizeF.
func (r *Reader) SizeF() SizeF { return SizeF{r.Float64(), r.Float64()} }

// SizeF writes a QSizeF.
func (w *Writer) SizeF(s SizeF) { w.floats(s.W, s.H) }

// RectF reads a QRectF (x, y, width, height).
func (r *Reader) RectF() RectF { return RectF{r.Float64(), r.Float64(), r.Float64(), r.Float64()} }

// RectF writes a QRectF.
func (w *Writer) RectF(rc RectF) { w.floats(rc.X, rc.Y, rc.W, rc.H) }

// Line reads a QLine.
func (r *Reader) Line() Line { return Line{r.Point(), r.Point()} }

// Line writes a QLine.
func (w *Writer) Line(l Line) {
	w.Point(l.P1)
	w.Point(l.P2)
}

// LineF reads a QLineF.
func (r *Reader) LineF() LineF { return LineF{r.PointF(), r.PointF()} }

// LineF writes a QLineF.
func (w *Writer) LineF(l LineF) { w.floats(l.P1.X, l.P1.Y, l.P2.X, l.P2.Y) }

func (w *Writer) floats(f ...float64) {
	for _, x := range f {
		w.Float64(x)
	}
}

// Regexp reads a QRegularExpression.
func (r *Reader) Regexp() Regexp { return Regexp{r.QString(), r.Uint32()} }

// Regexp writes a QRegularExpression.
func (w *Writer) Regexp(x Regexp) {
	w.QString(x.Pattern)
	w.Uint32(x.Options)
}

// BitArray reads a QBitArray: its bit count (32 bits before Qt_6_0, 64
// from it) and its bytes. Bits past the count must be 0, as Qt writes
// them.
func (r *Reader) BitArray() BitArray {
	r.enter("QBitArray")
	defer r.leave()
	var n int64
	if r.v >= Qt_6_0 {
		n = r.Int64()
	} else {
		n = int64(r.Uint32())
	}
	if r.err != nil {
		return BitArray{}
	}
	if n < 0 {
		r.corrupt("negative bit count %d", n)
		return BitArray{}
	}
	b := r.chunked((n+7)/8, "QBitArray")
	if r.err != nil {
		return BitArray{}
	}
	if n%8 != 0 && b[len(b)-1]>>(n%8) != 0 {
		r.corrupt("bits set past the count %d", n)
		return BitArray{}
	}
	return BitArray{n, b}
}

// BitArray writes a QBitArray. Bits past b.Len are written as 0.
func (w *Writer) BitArray(b BitArray) {
	if int64(len(b.Bits)) != (b.Len+7)/8 || b.Len < 0 {
		w.fail(fmt.Errorf("%w: QBitArray of %d bits in %d bytes", ErrInvalid, b.Len, len(b.Bits)))
		return
	}
	if w.v >= Qt_6_0 {
		w.Int64(b.Len)
	} else if b.Len > math.MaxUint32 {
		w.fail(fmt.Errorf("%w: QBitArray of %d bits needs Qt_6_0 or later", ErrTooLarge, b.Len))
		return
	} else {
		w.Uint32(uint32(b.Len))
	}
	if n := len(b.Bits); n > 0 && b.Len%8 != 0 {
		w.Raw(b.Bits[:n-1])
		w.Uint8(b.Bits[n-1] & (1<<(b.Len%8) - 1))
		return
	}
	w.Raw(b.Bits)
}

// ByteArrayList reads a QByteArrayList.
func (r *Reader) ByteArrayList() [][]byte { return ReadList(r, (*Reader).Bytes) }

// ByteArrayList writes a QByteArrayList.
func (w *Writer) ByteArrayList(l [][]byte) { WriteList(w, l, (*Writer).Bytes) }

// VersionNumber reads a QVersionNumber.
func (r *Reader) VersionNumber() VersionNumber { return ReadList(r, (*Reader).Int32) }

// VersionNumber writes a QVersionNumber.
func (w *Writer) VersionNumber(v VersionNumber) { WriteList(w, v, (*Writer).Int32) }

// EasingCurve reads a QEasingCurve.
func (r *Reader) EasingCurve() EasingCurve {
	r.enter("QEasingCurve")
	defer r.leave()
	e := EasingCurve{Type: r.Uint8(), Func: r.Uint64()}
	if r.Bool() {
		c := &EasingConfig{Period: r.Float64(), Amplitude: r.Float64(), Overshoot: r.Float64()}
		if r.v >= Qt_5_13 {
			c.Bezier = ReadList(r, (*Reader).PointF)
			c.TCB = ReadList(r, func(r *Reader) TCBPoint {
				return TCBPoint{r.PointF(), r.Float64(), r.Float64(), r.Float64()}
			})
		}
		e.Config = c
	}
	return keep(r, e)
}

// EasingCurve writes a QEasingCurve.
func (w *Writer) EasingCurve(e EasingCurve) {
	w.Uint8(e.Type)
	w.Uint64(e.Func)
	w.Bool(e.Config != nil)
	if c := e.Config; c != nil {
		w.floats(c.Period, c.Amplitude, c.Overshoot)
		if w.v < Qt_5_13 {
			return
		}
		WriteList(w, c.Bezier, (*Writer).PointF)
		WriteList(w, c.TCB, func(w *Writer, p TCBPoint) {
			w.PointF(p.Point)
			w.floats(p.T, p.C, p.B)
		})
	}
}

// JSONDocument reads a QJsonDocument (also QJsonObject and QJsonArray,
// streamed the same way): its compact JSON text. Text that is not JSON is
// ErrCorrupt, as in Qt.
func (r *Reader) JSONDocument() JSONDocument {
	r.enter("QJsonDocument")
	defer r.leave()
	b := r.Bytes()
	if len(b) > 0 && !json.Valid(b) {
		r.corrupt("not JSON")
		return nil
	}
	return b
}

// JSONDocument writes a QJsonDocument: doc as it is (Qt writes JSON
// compact, and compares documents by value), nil as a null one.
func (w *Writer) JSONDocument(doc JSONDocument) { w.Bytes(doc) }

// Type codes of QJsonValue::Type.
const (
	jsonNull      = 0
	jsonBool      = 1
	jsonDouble    = 2
	jsonString    = 3
	jsonArray     = 4
	jsonObject    = 5
	jsonUndefined = 0x80
)

// JSONValue reads a QJsonValue as JSON text; nil for Undefined.
func (r *Reader) JSONValue() JSONValue {
	r.enter("QJsonValue")
	defer r.leave()
	var out JSONValue
	switch t := r.Uint8(); t {
	case jsonNull:
		out = JSONValue("null")
	case jsonBool:
		out = JSONValue(strconv.FormatBool(r.Bool()))
	case jsonDouble:
		f := r.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			r.corrupt("QJsonValue double %v", f)
			return nil
		}
		out = strconv.AppendFloat(nil, f, 'g', -1, 64)
	case jsonString:
		out = quoteJSON(r.QString())
	case jsonArray, jsonObject:
		doc := r.JSONDocument()
		if len(doc) == 0 || (t == jsonArray) != (doc[0] == '[') {
			r.corrupt("QJsonValue of type %d holds %q", t, doc)
			return nil
		}
		out = JSONValue(doc)
	case jsonUndefined:
	default:
		r.corrupt("QJsonValue type %d", t)
	}
	if r.err != nil {
		return nil
	}
	return out
}

func quoteJSON(s string) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// JSONValue writes a QJsonValue from JSON text, nil for Undefined.
// Numbers are doubles, as in Qt; arrays and objects are written as they
// are.
func (w *Writer) JSONValue(v JSONValue) {
	bad := func() { w.fail(fmt.Errorf("%w: QJsonValue %q is not JSON", ErrInvalid, v)) }
	t := bytes.TrimSpace(v)
	switch {
	case v == nil:
		w.Uint8(jsonUndefined)
	case string(t) == "null":
		w.Uint8(jsonNull)
	case string(t) == "true" || string(t) == "false":
		w.Uint8(jsonBool)
		w.Bool(t[0] == 't')
	case len(t) > 0 && t[0] == '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			bad()
			return
		}
		w.Uint8(jsonString)
		w.QString(s)
	case len(t) > 0 && (t[0] == '[' || t[0] == '{'):
		if !json.Valid(t) {
			bad()
			return
		}
		w.Uint8(map[byte]uint8{'[': jsonArray, '{': jsonObject}[t[0]])
		w.Bytes(t)
	default:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			bad()
			return
		}
		w.Uint8(jsonDouble)
		w.Float64(f)
	}
}

// CBOR reads a QCborValue (also QCborArray, QCborMap): its CBOR
// encoding, which Qt stores as a QByteArray.
func (r *Reader) CBOR() CBOR { return r.Bytes() }

// CBOR writes a QCborValue.
func (w *Writer) CBOR(c CBOR) { w.Bytes(c) }
