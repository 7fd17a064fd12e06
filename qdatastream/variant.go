package qdatastream

import (
	"fmt"
	"image"
	"math"
)

// Type is a QVariant's type: a QMetaType::Type id as Qt 6 numbers them.
// Streams of versions before Qt_6_0 number the GUI types as Qt 5 did;
// Reader and Writer translate.
type Type uint32

// The types a Variant can hold here, with the Go type of its Value.
const (
	TypeInvalid     Type = 0      // nil
	TypeBool        Type = 1      // bool
	TypeInt         Type = 2      // int32
	TypeUInt        Type = 3      // uint32
	TypeLongLong    Type = 4      // int64
	TypeULongLong   Type = 5      // uint64
	TypeDouble      Type = 6      // float64
	TypeVariantMap  Type = 8      // map[string]Variant
	TypeVariantList Type = 9      // []Variant
	TypeString      Type = 10     // string, or nil for a null QString
	TypeStringList  Type = 11     // []string
	TypeByteArray   Type = 12     // []byte (nil: null)
	TypeDate        Type = 14     // Date
	TypeTime        Type = 15     // Time
	TypeDateTime    Type = 16     // DateTime
	TypeRect        Type = 19     // Rect
	TypeSize        Type = 21     // Size
	TypePoint       Type = 25     // Point
	TypeVariantHash Type = 28     // map[string]Variant
	TypeUUID        Type = 30     // UUID
	TypeFloat       Type = 38     // float32
	TypePixmap      Type = 0x1001 // image.Image (nil: null)
	TypeImage       Type = 0x1006 // image.Image (nil: null)
)

// The ids of QPixmap and QImage in Qt 5 (QVariant::Pixmap, ::Image), and
// of Qt 5's user types.
const (
	qt5Pixmap   = 65
	qt5Image    = 70
	qt5UserType = 127
	qt6User     = 65536
)

// Date is a QDate: a Julian day, NullJulianDay for QDate().
type Date int64

// Time is a QTime: milliseconds since midnight, NullMSecs for QTime().
type Time int32

// Variant is a QVariant: a type, Qt's null flag, and a value of the Go
// type listed with the Type constants.
//
// Null is the flag (a qint8) Qt streams after the type id since Qt 4.2:
// true for QVariant() and for a QVariant made from a type alone
// (QVariant(QMetaType(...)) in Qt 6, QVariant(QVariant::Int) in Qt 5);
// false for a QVariant made from a value, even a null QString. A nil
// Value writes the type's default-constructed value (0, a null QString,
// QSize(-1, -1), ...), as such a null QVariant holds.
type Variant struct {
	Type  Type
	Null  bool
	Value any
}

// VariantOf returns a non-null Variant holding v, its Type from v's Go
// type as listed with the Type constants; an int is TypeInt if it fits
// in 32 bits and TypeLongLong if not, and nil is QVariant() (null,
// TypeInvalid). Other Go types give a Variant that Writer.Variant
// refuses (ErrUnsupported).
func VariantOf(v any) Variant {
	t := TypeInvalid
	switch x := v.(type) {
	case nil:
		return Variant{Null: true}
	case Variant:
		return x
	case bool:
		t = TypeBool
	case int32:
		t = TypeInt
	case uint32:
		t = TypeUInt
	case int64:
		t = TypeLongLong
	case uint64:
		t = TypeULongLong
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return Variant{Type: TypeInt, Value: int32(x)}
		}
		return Variant{Type: TypeLongLong, Value: int64(x)}
	case float64:
		t = TypeDouble
	case float32:
		t = TypeFloat
	case string:
		t = TypeString
	case []byte:
		t = TypeByteArray
	case []string:
		t = TypeStringList
	case Date:
		t = TypeDate
	case Time:
		t = TypeTime
	case DateTime:
		t = TypeDateTime
	case UUID:
		t = TypeUUID
	case Point:
		t = TypePoint
	case Size:
		t = TypeSize
	case Rect:
		t = TypeRect
	case []Variant:
		t = TypeVariantList
	case map[string]Variant:
		t = TypeVariantMap
	case image.Image:
		t = TypeImage
	default:
		return Variant{Type: ^Type(0), Value: v}
	}
	return Variant{Type: t, Value: v}
}

const maxDepth = 256

// Variant writes a QVariant: the type id (quint32), the null flag (qint8)
// and the value. A QVariantMap or QVariantHash is written in the order of
// WriteMap.
func (w *Writer) Variant(v Variant) {
	if w.err != nil {
		return
	}
	id := uint32(v.Type)
	if w.v < Qt_6_0 {
		switch v.Type {
		case TypePixmap:
			id = qt5Pixmap
		case TypeImage:
			id = qt5Image
		}
	}
	if !knownType(v.Type) {
		w.fail(fmt.Errorf("%w: QVariant type %d", ErrUnsupported, v.Type))
		return
	}
	w.Uint32(id)
	w.Bool(v.Null || v.Type == TypeInvalid)
	w.value(v.Type, v.Value)
}

func knownType(t Type) bool {
	switch t {
	case TypeInvalid, TypeBool, TypeInt, TypeUInt, TypeLongLong, TypeULongLong, TypeDouble,
		TypeVariantMap, TypeVariantList, TypeString, TypeStringList, TypeByteArray,
		TypeDate, TypeTime, TypeDateTime, TypeRect, TypeSize, TypePoint, TypeVariantHash,
		TypeUUID, TypeFloat, TypePixmap, TypeImage:
		return true
	}
	return false
}

// value writes the payload of a variant of type t.
func (w *Writer) value(t Type, v any) {
	bad := func() { w.fail(fmt.Errorf("%w: QVariant of type %d holds a %T", ErrInvalid, t, v)) }
	if v == nil {
		w.zero(t)
		return
	}
	switch t {
	case TypeInvalid:
		bad()
	case TypeBool:
		x, ok := v.(bool)
		if !ok {
			bad()
			return
		}
		w.Bool(x)
	case TypeInt:
		x, ok := v.(int32)
		if !ok {
			bad()
			return
		}
		w.Int32(x)
	case TypeUInt:
		x, ok := v.(uint32)
		if !ok {
			bad()
			return
		}
		w.Uint32(x)
	case TypeLongLong:
		x, ok := v.(int64)
		if !ok {
			bad()
			return
		}
		w.Int64(x)
	case TypeULongLong:
		x, ok := v.(uint64)
		if !ok {
			bad()
			return
		}
		w.Uint64(x)
	case TypeDouble:
		x, ok := v.(float64)
		if !ok {
			bad()
			return
		}
		w.Float64(x)
	case TypeFloat:
		x, ok := v.(float32)
		if !ok {
			bad()
			return
		}
		w.Float32(x)
	case TypeString:
		x, ok := v.(string)
		if !ok {
			bad()
			return
		}
		w.QString(x)
	case TypeByteArray:
		x, ok := v.([]byte)
		if !ok {
			bad()
			return
		}
		w.Bytes(x)
	case TypeStringList:
		x, ok := v.([]string)
		if !ok {
			bad()
			return
		}
		w.StringList(x)
	case TypeDate:
		x, ok := v.(Date)
		if !ok {
			bad()
			return
		}
		w.Int64(int64(x))
	case TypeTime:
		x, ok := v.(Time)
		if !ok {
			bad()
			return
		}
		w.Uint32(uint32(x))
	case TypeDateTime:
		x, ok := v.(DateTime)
		if !ok {
			bad()
			return
		}
		w.DateTime(x)
	case TypeUUID:
		x, ok := v.(UUID)
		if !ok {
			bad()
			return
		}
		w.UUID(x)
	case TypePoint:
		x, ok := v.(Point)
		if !ok {
			bad()
			return
		}
		w.Point(x)
	case TypeSize:
		x, ok := v.(Size)
		if !ok {
			bad()
			return
		}
		w.Size(x)
	case TypeRect:
		x, ok := v.(Rect)
		if !ok {
			bad()
			return
		}
		w.Rect(x)
	case TypeVariantList:
		x, ok := v.([]Variant)
		if !ok {
			bad()
			return
		}
		if !w.enter() {
			return
		}
		WriteList(w, x, (*Writer).Variant)
		w.depth--
	case TypeVariantMap, TypeVariantHash:
		x, ok := v.(map[string]Variant)
		if !ok {
			bad()
			return
		}
		if !w.enter() {
			return
		}
		WriteMap(w, x, CompareUTF16, (*Writer).QString, (*Writer).Variant)
		w.depth--
	case TypeImage, TypePixmap:
		x, ok := v.(image.Image)
		if !ok {
			bad()
			return
		}
		w.Image(x)
	}
}

func (w *Writer) enter() bool {
	if w.depth >= maxDepth {
		w.fail(fmt.Errorf("%w: QVariant nested deeper than %d", ErrTooLarge, maxDepth))
		return false
	}
	w.depth++
	return true
}

// zero writes the default-constructed value of type t.
func (w *Writer) zero(t Type) {
	switch t {
	case TypeInvalid:
	case TypeBool:
		w.Bool(false)
	case TypeInt, TypeUInt, TypeVariantList, TypeStringList, TypeVariantMap, TypeVariantHash:
		w.Uint32(0)
	case TypeLongLong, TypeULongLong:
		w.Uint64(0)
	case TypeDouble:
		w.Float64(0)
	case TypeFloat:
		w.Float32(0)
	case TypeString:
		w.NullQString()
	case TypeByteArray:
		w.Bytes(nil)
	case TypeDate:
		w.Int64(NullJulianDay)
	case TypeTime:
		w.Uint32(uint32(NullMSecs & 0xffffffff))
	case TypeDateTime:
		w.DateTime(InvalidDateTime)
	case TypeUUID:
		w.UUID(UUID{})
	case TypePoint:
		w.Point(Point{})
	case TypeSize:
		w.Size(Size{-1, -1})
	case TypeRect:
		w.Rect(Rect{})
	case TypeImage, TypePixmap:
		w.Image(nil)
	}
}

// Variant reads a QVariant of one of the types listed with the Type
// constants; other types fail with ErrUnsupported (their length is not
// in the stream, so nothing after them can be read).
func (r *Reader) Variant() Variant {
	id := r.Uint32()
	null := r.Bool()
	if r.err != nil {
		return Variant{}
	}
	t := Type(id)
	if r.v < Qt_6_0 {
		switch id {
		case qt5Pixmap:
			t = TypePixmap
		case qt5Image:
			t = TypeImage
		case uint32(TypePixmap), uint32(TypeImage):
			t = ^Type(0)
		}
	}
	if id == qt5UserType && r.v < Qt_6_0 || id >= qt6User && r.v >= Qt_6_0 {
		name := r.Bytes()
		if r.err == nil {
			r.fail(fmt.Errorf("%w: QVariant of user type %q", ErrUnsupported, name))
		}
		return Variant{}
	}
	if !knownType(t) {
		r.fail(fmt.Errorf("%w: QVariant type %d", ErrUnsupported, id))
		return Variant{}
	}
	v := Variant{Type: t, Null: null || t == TypeInvalid}
	v.Value = r.value(t)
	if r.err != nil {
		return Variant{}
	}
	return v
}

func (r *Reader) value(t Type) any {
	switch t {
	case TypeBool:
		return r.Bool()
	case TypeInt:
		return r.Int32()
	case TypeUInt:
		return r.Uint32()
	case TypeLongLong:
		return r.Int64()
	case TypeULongLong:
		return r.Uint64()
	case TypeDouble:
		return r.Float64()
	case TypeFloat:
		return r.Float32()
	case TypeString:
		if s, ok := r.QStringOrNull(); ok {
			return s
		}
		return nil
	case TypeByteArray:
		return r.Bytes()
	case TypeStringList:
		return r.StringList()
	case TypeDate:
		return Date(r.Int64())
	case TypeTime:
		return Time(r.Uint32())
	case TypeDateTime:
		return r.DateTime()
	case TypeUUID:
		return r.UUID()
	case TypePoint:
		return r.Point()
	case TypeSize:
		return r.Size()
	case TypeRect:
		return r.Rect()
	case TypeVariantList:
		if !r.enter() {
			return nil
		}
		defer func() { r.depth-- }()
		return ReadList(r, (*Reader).Variant)
	case TypeVariantMap, TypeVariantHash:
		if !r.enter() {
			return nil
		}
		defer func() { r.depth-- }()
		return ReadMap(r, (*Reader).QString, (*Reader).Variant)
	case TypeImage, TypePixmap:
		if img := r.Image(); img != nil {
			return img
		}
		return nil
	}
	return nil
}

func (r *Reader) enter() bool {
	if r.depth >= maxDepth {
		r.fail(fmt.Errorf("%w: QVariant nested deeper than %d", ErrTooLarge, maxDepth))
		return false
	}
	r.depth++
	return true
}
