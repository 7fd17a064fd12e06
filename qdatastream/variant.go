package qdatastream

import (
	"fmt"
	"image"
	"math"
	"reflect"
	"strings"
)

// Type is a QVariant's type: a QMetaType::Type id as Qt 6 numbers them.
// Streams of versions before Qt_6_0 number the GUI types as Qt 5 did;
// Reader and Writer translate.
type Type uint32

// The types a Variant can hold, with the Go type of its Value. Qt 6
// numbers; Qt 5 numbers the GUI types from 64 (QFont) instead of 0x1000.
const (
	TypeInvalid        Type = 0       // nil
	TypeBool           Type = 1       // bool
	TypeInt            Type = 2       // int32
	TypeUInt           Type = 3       // uint32
	TypeLongLong       Type = 4       // int64
	TypeULongLong      Type = 5       // uint64
	TypeDouble         Type = 6       // float64
	TypeChar           Type = 7       // QChar (QMetaType::QChar)
	TypeVariantMap     Type = 8       // map[string]Variant
	TypeVariantList    Type = 9       // []Variant
	TypeString         Type = 10      // string, or nil for a null QString
	TypeStringList     Type = 11      // []string, or []NullableString if an element is null
	TypeByteArray      Type = 12      // []byte (nil: null)
	TypeBitArray       Type = 13      // BitArray
	TypeDate           Type = 14      // Date
	TypeTime           Type = 15      // Time
	TypeDateTime       Type = 16      // DateTime
	TypeURL            Type = 17      // URL
	TypeLocale         Type = 18      // Locale
	TypeRect           Type = 19      // Rect
	TypeRectF          Type = 20      // RectF
	TypeSize           Type = 21      // Size
	TypeSizeF          Type = 22      // SizeF
	TypeLine           Type = 23      // Line
	TypeLineF          Type = 24      // LineF
	TypePoint          Type = 25      // Point
	TypePointF         Type = 26      // PointF
	TypeVariantHash    Type = 28      // map[string]Variant
	TypeEasingCurve    Type = 29      // EasingCurve
	TypeUUID           Type = 30      // UUID
	TypeLong           Type = 32      // Long
	TypeShort          Type = 33      // int16
	TypeCChar          Type = 34      // CChar
	TypeULong          Type = 35      // ULong
	TypeUShort         Type = 36      // uint16
	TypeUChar          Type = 37      // uint8
	TypeFloat          Type = 38      // float32
	TypeSChar          Type = 40      // int8
	TypeRegexp         Type = 44      // Regexp
	TypeJSONValue      Type = 45      // JSONValue
	TypeJSONObject     Type = 46      // JSONObject
	TypeJSONArray      Type = 47      // JSONArray
	TypeJSONDocument   Type = 48      // JSONDocument
	TypeByteArrayList  Type = 49      // [][]byte
	TypeNullptr        Type = 51      // Nullptr
	TypeCBORSimpleType Type = 52      // CBORSimpleType
	TypeCBOR           Type = 53      // CBOR
	TypeCBORArray      Type = 54      // CBORArray
	TypeCBORMap        Type = 55      // CBORMap
	TypeChar16         Type = 56      // Char16 (Qt 6)
	TypeChar32         Type = 57      // Char32 (Qt 6)
	TypeVariantPair    Type = 58      // Pair[Variant, Variant] (Qt 6)
	TypeFloat16        Type = 63      // Float16 (Qt 6.12; Qt 6.4 streams a User named "qfloat16")
	TypeFont           Type = 0x1000  // Font
	TypePixmap         Type = 0x1001  // image.Image (nil: null)
	TypeBrush          Type = 0x1002  // Brush
	TypeColor          Type = 0x1003  // Color
	TypePalette        Type = 0x1004  // Palette
	TypeImage          Type = 0x1006  // image.Image (nil: null)
	TypePolygon        Type = 0x1007  // Polygon
	TypeRegion         Type = 0x1008  // Region
	TypeBitmap         Type = 0x1009  // image.Image (nil: null)
	TypeCursor         Type = 0x100a  // Cursor
	TypeKeySequence    Type = 0x100b  // KeySequence
	TypePen            Type = 0x100c  // Pen
	TypeTextLength     Type = 0x100d  // TextLength
	TypeTextFormat     Type = 0x100e  // TextFormat
	TypeTransform      Type = 0x1010  // Transform
	TypeMatrix4x4      Type = 0x1011  // Matrix4x4
	TypeVector2D       Type = 0x1012  // Vector2D
	TypeVector3D       Type = 0x1013  // Vector3D
	TypeVector4D       Type = 0x1014  // Vector4D
	TypeQuaternion     Type = 0x1015  // Quaternion
	TypePolygonF       Type = 0x1016  // PolygonF
	TypeColorSpace     Type = 0x1017  // ColorSpace
	TypeUser           Type = 0x10000 // User (a type registered with WithUserType, or QVersionNumber)
)

// The GUI types' ids in Qt 5 are Qt 6's less this; the user type's id
// in Qt 5 streams is qt5User (and Qt 4's 127, which Qt 5 still reads).
const (
	qt5GUIShift  = 0x1000 - 64
	qt5FirstGUI  = 64
	qt5LastGUI   = 87
	qt5User      = 1024
	qt4UserType  = 127
	firstQt6Only = TypeChar16
)

// Date is a QDate: a Julian day, NullJulianDay for QDate().
type Date int64

// Time is a QTime: milliseconds since midnight, NullMSecs for QTime().
type Time int32

// User is the value of a QVariant of a user type (TypeUser): the name Qt
// knows the type by (qRegisterMetaType) and what the type's decoder
// (WithUserType) returned.
type User struct {
	Name  string
	Value any
}

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

// typeInfo is what the Reader and Writer know of one type of QVariant.
type typeInfo struct {
	name  string // Qt's
	label string // for errors: QVariant(name)
	read  func(*Reader) any
	write func(*Writer, any) bool // false: v is not of the Go type
	zero  any                     // what a nil Value writes
}

// def describes a type whose values are of Go type T.
func def[T any](name string, read func(*Reader) T, write func(*Writer, T), zero T) *typeInfo {
	return &typeInfo{
		name: name,
		read: func(r *Reader) any { return read(r) },
		write: func(w *Writer, v any) bool {
			x, ok := v.(T)
			if ok {
				write(w, x)
			}
			return ok
		},
		zero: zero,
	}
}

func images(name string) *typeInfo {
	return &typeInfo{
		name: name,
		read: func(r *Reader) any {
			if img := r.Image(); img != nil {
				return img
			}
			return nil
		},
		write: func(w *Writer, v any) bool {
			x, ok := v.(image.Image)
			if ok {
				w.Image(x)
			}
			return ok
		},
	}
}

var (
	types   map[Type]*typeInfo
	goTypes map[reflect.Type]Type // for VariantOf
)

func init() {
	str := &typeInfo{
		name: "QString",
		read: func(r *Reader) any {
			if s, ok := r.QStringOrNull(); ok {
				return s
			}
			return nil
		},
		write: func(w *Writer, v any) bool {
			x, ok := v.(string)
			if ok {
				w.QString(x)
			}
			return ok
		},
	}
	strList := &typeInfo{
		name: "QStringList",
		read: func(r *Reader) any {
			l := r.NullableStringList()
			plain := make([]string, len(l))
			for i, s := range l {
				if s.Null {
					return l
				}
				plain[i] = s.S
			}
			return plain
		},
		write: func(w *Writer, v any) bool {
			switch x := v.(type) {
			case []string:
				w.StringList(x)
			case []NullableString:
				w.NullableStringList(x)
			default:
				return false
			}
			return true
		},
		zero: []string{},
	}
	vmap := func(name string) *typeInfo {
		return def(name, func(r *Reader) map[string]Variant {
			return ReadMap(r, (*Reader).QString, (*Reader).Variant)
		}, func(w *Writer, m map[string]Variant) {
			WriteMap(w, m, CompareUTF16, (*Writer).QString, (*Writer).Variant)
		}, map[string]Variant{})
	}
	types = map[Type]*typeInfo{
		TypeInvalid:       {name: "QVariant()", read: func(*Reader) any { return nil }, write: func(*Writer, any) bool { return false }},
		TypeBool:          def("bool", (*Reader).Bool, (*Writer).Bool, false),
		TypeInt:           def("int", (*Reader).Int32, (*Writer).Int32, 0),
		TypeUInt:          def("uint", (*Reader).Uint32, (*Writer).Uint32, 0),
		TypeLongLong:      def("qlonglong", (*Reader).Int64, (*Writer).Int64, 0),
		TypeULongLong:     def("qulonglong", (*Reader).Uint64, (*Writer).Uint64, 0),
		TypeDouble:        def("double", (*Reader).Float64, (*Writer).Float64, 0),
		TypeFloat:         def("float", (*Reader).Float32, (*Writer).Float32, 0),
		TypeChar:          def("QChar", (*Reader).QChar, (*Writer).QChar, 0),
		TypeLong:          def("long", func(r *Reader) Long { return Long(r.Int64()) }, func(w *Writer, v Long) { w.Int64(int64(v)) }, 0),
		TypeULong:         def("ulong", func(r *Reader) ULong { return ULong(r.Uint64()) }, func(w *Writer, v ULong) { w.Uint64(uint64(v)) }, 0),
		TypeShort:         def("short", (*Reader).Int16, (*Writer).Int16, 0),
		TypeUShort:        def("ushort", (*Reader).Uint16, (*Writer).Uint16, 0),
		TypeCChar:         def("char", func(r *Reader) CChar { return CChar(r.Int8()) }, func(w *Writer, v CChar) { w.Int8(int8(v)) }, 0),
		TypeSChar:         def("signed char", (*Reader).Int8, (*Writer).Int8, 0),
		TypeUChar:         def("uchar", (*Reader).Uint8, (*Writer).Uint8, 0),
		TypeChar16:        def("char16_t", func(r *Reader) Char16 { return Char16(r.Uint16()) }, func(w *Writer, v Char16) { w.Uint16(uint16(v)) }, 0),
		TypeChar32:        def("char32_t", func(r *Reader) Char32 { return Char32(r.Uint32()) }, func(w *Writer, v Char32) { w.Uint32(uint32(v)) }, 0),
		TypeFloat16:       def("qfloat16", func(r *Reader) Float16 { return Float16(r.Uint16()) }, func(w *Writer, v Float16) { w.Uint16(uint16(v)) }, 0),
		TypeNullptr:       def("std::nullptr_t", func(*Reader) Nullptr { return Nullptr{} }, func(*Writer, Nullptr) {}, Nullptr{}),
		TypeString:        str,
		TypeStringList:    strList,
		TypeByteArray:     def("QByteArray", (*Reader).Bytes, (*Writer).Bytes, nil),
		TypeBitArray:      def("QBitArray", (*Reader).BitArray, (*Writer).BitArray, BitArray{}),
		TypeByteArrayList: def("QByteArrayList", (*Reader).ByteArrayList, (*Writer).ByteArrayList, [][]byte{}),
		TypeDate:          def("QDate", func(r *Reader) Date { return Date(r.Int64()) }, func(w *Writer, d Date) { w.Int64(int64(d)) }, NullJulianDay),
		TypeTime:          def("QTime", func(r *Reader) Time { return Time(r.Uint32()) }, func(w *Writer, t Time) { w.Uint32(uint32(t)) }, NullMSecs),
		TypeDateTime:      def("QDateTime", (*Reader).DateTime, (*Writer).DateTime, InvalidDateTime),
		TypeURL:           def("QUrl", (*Reader).URL, (*Writer).URL, ""),
		TypeLocale:        def("QLocale", (*Reader).Locale, (*Writer).Locale, "C"),
		TypeUUID:          def("QUuid", (*Reader).UUID, (*Writer).UUID, UUID{}),
		TypePoint:         def("QPoint", (*Reader).Point, (*Writer).Point, Point{}),
		TypePointF:        def("QPointF", (*Reader).PointF, (*Writer).PointF, PointF{}),
		TypeSize:          def("QSize", (*Reader).Size, (*Writer).Size, Size{-1, -1}),
		TypeSizeF:         def("QSizeF", (*Reader).SizeF, (*Writer).SizeF, SizeF{-1, -1}),
		TypeRect:          def("QRect", (*Reader).Rect, (*Writer).Rect, Rect{}),
		TypeRectF:         def("QRectF", (*Reader).RectF, (*Writer).RectF, RectF{}),
		TypeLine:          def("QLine", (*Reader).Line, (*Writer).Line, Line{}),
		TypeLineF:         def("QLineF", (*Reader).LineF, (*Writer).LineF, LineF{}),
		TypeRegexp:        def("QRegularExpression", (*Reader).Regexp, (*Writer).Regexp, Regexp{}),
		TypeEasingCurve:   def("QEasingCurve", (*Reader).EasingCurve, (*Writer).EasingCurve, EasingCurve{}),
		TypeJSONValue:     def("QJsonValue", (*Reader).JSONValue, (*Writer).JSONValue, JSONValue("null")),
		TypeJSONObject: def("QJsonObject", func(r *Reader) JSONObject { return JSONObject(r.JSONDocument()) },
			func(w *Writer, v JSONObject) { w.Bytes(v) }, JSONObject("{}")),
		TypeJSONArray: def("QJsonArray", func(r *Reader) JSONArray { return JSONArray(r.JSONDocument()) },
			func(w *Writer, v JSONArray) { w.Bytes(v) }, JSONArray("[]")),
		TypeJSONDocument: def("QJsonDocument", (*Reader).JSONDocument, (*Writer).JSONDocument, nil),
		TypeCBOR:         def("QCborValue", (*Reader).CBOR, (*Writer).CBOR, CBOR{0xf7}),
		TypeCBORArray: def("QCborArray", func(r *Reader) CBORArray { return CBORArray(r.Bytes()) },
			func(w *Writer, v CBORArray) { w.Bytes(v) }, CBORArray{0x80}),
		TypeCBORMap: def("QCborMap", func(r *Reader) CBORMap { return CBORMap(r.Bytes()) },
			func(w *Writer, v CBORMap) { w.Bytes(v) }, CBORMap{0xa0}),
		TypeCBORSimpleType: def("QCborSimpleType", func(r *Reader) CBORSimpleType { return CBORSimpleType(r.Uint8()) },
			func(w *Writer, v CBORSimpleType) { w.Uint8(uint8(v)) }, 0),
		TypeVariantList: def("QVariantList", func(r *Reader) []Variant { return ReadList(r, (*Reader).Variant) },
			func(w *Writer, l []Variant) { WriteList(w, l, (*Writer).Variant) }, []Variant{}),
		TypeVariantMap:  vmap("QVariantMap"),
		TypeVariantHash: vmap("QVariantHash"),
		TypeVariantPair: def("QVariantPair", func(r *Reader) Pair[Variant, Variant] { return Pair[Variant, Variant]{r.Variant(), r.Variant()} },
			func(w *Writer, p Pair[Variant, Variant]) {
				w.Variant(p.Key)
				w.Variant(p.Value)
			}, Pair[Variant, Variant]{Variant{Null: true}, Variant{Null: true}}),
		TypeImage:       images("QImage"),
		TypePixmap:      images("QPixmap"),
		TypeBitmap:      images("QBitmap"),
		TypeColor:       def("QColor", (*Reader).Color, (*Writer).Color, Color{Alpha: 0xffff}),
		TypeBrush:       def("QBrush", (*Reader).Brush, (*Writer).Brush, Brush{Color: Color{Alpha: 0xffff}, Transform: Identity}),
		TypePen:         def("QPen", (*Reader).Pen, (*Writer).Pen, Pen{}),
		TypeFont:        def("QFont", (*Reader).Font, (*Writer).Font, Font{}),
		TypePalette:     def("QPalette", (*Reader).Palette, (*Writer).Palette, Palette{}),
		TypePolygon:     def("QPolygon", (*Reader).Polygon, (*Writer).Polygon, Polygon{}),
		TypePolygonF:    def("QPolygonF", (*Reader).PolygonF, (*Writer).PolygonF, PolygonF{}),
		TypeRegion:      def("QRegion", (*Reader).Region, (*Writer).Region, nil),
		TypeCursor:      def("QCursor", (*Reader).Cursor, (*Writer).Cursor, Cursor{}),
		TypeKeySequence: def("QKeySequence", (*Reader).KeySequence, (*Writer).KeySequence, nil),
		TypeTextLength:  def("QTextLength", (*Reader).TextLength, (*Writer).TextLength, TextLength{}),
		TypeTextFormat:  def("QTextFormat", (*Reader).TextFormat, (*Writer).TextFormat, TextFormat{}),
		TypeTransform:   def("QTransform", (*Reader).Transform, (*Writer).Transform, Identity),
		TypeMatrix4x4:   def("QMatrix4x4", (*Reader).Matrix4x4, (*Writer).Matrix4x4, Matrix4x4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}),
		TypeVector2D:    def("QVector2D", (*Reader).Vector2D, (*Writer).Vector2D, Vector2D{}),
		TypeVector3D:    def("QVector3D", (*Reader).Vector3D, (*Writer).Vector3D, Vector3D{}),
		TypeVector4D:    def("QVector4D", (*Reader).Vector4D, (*Writer).Vector4D, Vector4D{}),
		TypeQuaternion:  def("QQuaternion", (*Reader).Quaternion, (*Writer).Quaternion, Quaternion{1, 0, 0, 0}),
		TypeColorSpace: def("QColorSpace", func(r *Reader) ColorSpace { return ColorSpace(r.Bytes()) },
			func(w *Writer, c ColorSpace) { w.Bytes(c) }, nil),
	}
	for _, ti := range types {
		ti.label = "QVariant(" + ti.name + ")"
	}
	goTypes = map[reflect.Type]Type{}
	// Where two types share a Go type, VariantOf takes the first listed.
	for _, t := range []Type{TypeVariantMap, TypeImage} {
		goTypes[reflect.TypeOf(types[t].zero)] = t
	}
	for t, ti := range types {
		if ti.zero == nil {
			continue
		}
		if _, dup := goTypes[reflect.TypeOf(ti.zero)]; !dup {
			goTypes[reflect.TypeOf(ti.zero)] = t
		}
	}
	for t, z := range map[Type]any{TypeByteArray: []byte(nil), TypeJSONDocument: JSONDocument(nil),
		TypeRegion: Region(nil), TypeKeySequence: KeySequence(nil), TypeColorSpace: ColorSpace(nil), TypeString: "",
		TypeStringList: []NullableString(nil)} {
		goTypes[reflect.TypeOf(z)] = t
	}
}

// TypeName returns Qt's name of a type, such as "QString", or "" for one
// this package does not know.
func (t Type) TypeName() string {
	if ti := types[t]; ti != nil {
		return ti.name
	}
	return ""
}

// String returns t's name, or its number for a type this package does
// not know.
func (t Type) String() string {
	if ti := types[t]; ti != nil {
		return ti.name
	}
	if t == TypeUser {
		return "user type"
	}
	return fmt.Sprintf("QMetaType %d", uint32(t))
}

// VariantOf returns a non-null Variant holding v, its Type from v's Go
// type as listed with the Type constants (map[string]Variant is a
// QVariantMap, image.Image a QImage); an int is TypeInt if it fits in 32
// bits and TypeLongLong if not, a User or VersionNumber TypeUser, and
// nil is QVariant() (null, TypeInvalid). Other Go types give a Variant
// that Writer.Variant refuses (ErrUnsupported).
func VariantOf(v any) Variant {
	switch x := v.(type) {
	case nil:
		return Variant{Null: true}
	case Variant:
		return x
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return Variant{Type: TypeInt, Value: int32(x)}
		}
		return Variant{Type: TypeLongLong, Value: int64(x)}
	case image.Image:
		return Variant{Type: TypeImage, Value: v}
	case User:
		return Variant{Type: TypeUser, Value: v}
	case VersionNumber:
		return Variant{Type: TypeUser, Value: User{versionNumberName, v}}
	}
	if t, ok := goTypes[reflect.TypeOf(v)]; ok {
		return Variant{Type: t, Value: v}
	}
	return Variant{Type: ^Type(0), Value: v}
}

const maxDepth = 256

// UserType is how a Reader and a Writer read and write a QVariant of a
// type that a Qt program registered (qRegisterMetaType with stream
// operators, or Q_DECLARE_METATYPE): Read reads what the type's
// operator>> reads, Write writes what its operator<< writes.
type UserType struct {
	Name  string // the name Qt gives the type, such as "MyStruct" or "QList<int>"
	Read  func(*Reader) any
	Write func(*Writer, any)
}

// WithUserType registers a user type by its Qt name, so that a Reader
// can read a QVariant holding one (and so the values after it), and a
// Writer write one. Without it such a QVariant fails with ErrUnsupported
// (its length is not in the stream). QVersionNumber and qfloat16 (a
// Float16, as Qt 6.4 and earlier stream it) are registered already;
// WithUserType replaces a registration of the same name.
func WithUserType(u UserType) Option {
	return func(c *config) {
		if c.user == nil {
			c.user = map[string]UserType{}
		}
		c.user[u.Name] = u
	}
}

const (
	versionNumberName = "QVersionNumber"
	// float16Name is the name Qt 6.4 and earlier stream a qfloat16 in a
	// QVariant under: a user type, where later Qt has TypeFloat16.
	float16Name = "qfloat16"
)

func (c *config) userType(name string) (UserType, bool) {
	if u, ok := c.user[name]; ok {
		return u, true
	}
	switch name {
	case versionNumberName:
		return UserType{name, func(r *Reader) any { return r.VersionNumber() },
			func(w *Writer, v any) { w.VersionNumber(v.(VersionNumber)) }}, true
	case float16Name:
		return UserType{name, func(r *Reader) any { return Float16(r.Uint16()) },
			func(w *Writer, v any) { w.Uint16(uint16(v.(Float16))) }}, true
	}
	return UserType{}, false
}

// streamID returns the id that stands for t in a stream of version v.
func streamID(t Type, v Version) (uint32, bool) {
	if v >= Qt_6_0 {
		return uint32(t), true
	}
	switch {
	case t == TypeUser:
		return qt5User, true
	case t >= TypeFont && t <= TypeColorSpace:
		return uint32(t) - qt5GUIShift, true
	case t >= firstQt6Only && t < TypeFont:
		return 0, false
	}
	return uint32(t), true
}

// typeOfID returns the type that id stands for in a stream of version v.
func typeOfID(id uint32, v Version) Type {
	if v >= Qt_6_0 {
		return Type(id)
	}
	switch {
	case id == qt5User || id == qt4UserType:
		return TypeUser
	case id >= qt5FirstGUI && id <= qt5LastGUI:
		return Type(id + qt5GUIShift)
	case Type(id) >= firstQt6Only:
		return ^Type(0)
	}
	return Type(id)
}

// Variant writes a QVariant: the type id (quint32), the null flag (qint8),
// for a user type its name, and the value. A QVariantMap or QVariantHash
// is written in the order of WriteMap.
func (w *Writer) Variant(v Variant) {
	if w.err != nil {
		return
	}
	ti := types[v.Type]
	id, ok := streamID(v.Type, w.v)
	if (ti == nil && v.Type != TypeUser) || !ok {
		w.fail(fmt.Errorf("%w: QVariant of type %v in a stream of version %d", ErrUnsupported, v.Type, w.v))
		return
	}
	null := v.Null || v.Type == TypeInvalid
	if v.Type == TypeNullptr {
		null = w.cfg.qtMajor >= 6 // Qt 6 calls a nullptr QVariant null, Qt 5 does not
	}
	if v.Type == TypeUser {
		w.userVariant(id, null, v.Value)
		return
	}
	w.Uint32(id)
	w.Bool(null)
	if v.Type == TypeInvalid {
		return
	}
	if !w.enter() {
		return
	}
	defer func() { w.depth-- }()
	val := v.Value
	if val == nil {
		val = ti.zero
		if val == nil { // a null QString, QByteArray, image…
			w.zero(v.Type)
			return
		}
	}
	if !ti.write(w, val) {
		w.fail(fmt.Errorf("%w: QVariant of type %v holds a %T", ErrInvalid, v.Type, v.Value))
	}
}

func (w *Writer) userVariant(id uint32, null bool, v any) {
	u, ok := v.(User)
	if !ok {
		w.fail(fmt.Errorf("%w: QVariant of a user type holds a %T, not a User", ErrInvalid, v))
		return
	}
	ut, ok := w.cfg.userType(u.Name)
	if !ok {
		w.fail(fmt.Errorf("%w: QVariant of user type %q: register it with WithUserType", ErrUnsupported, u.Name))
		return
	}
	w.Uint32(id)
	w.Bool(null)
	w.Bytes(append([]byte(u.Name), 0)) // Qt writes the name as a C string
	if !w.enter() {
		return
	}
	defer func() { w.depth-- }()
	ut.Write(w, u.Value)
}

func (w *Writer) enter() bool {
	if w.depth >= maxDepth {
		w.fail(fmt.Errorf("%w: QVariant nested deeper than %d", ErrTooLarge, maxDepth))
		return false
	}
	w.depth++
	return true
}

// zero writes the default value of the types whose zero is a Go nil.
func (w *Writer) zero(t Type) {
	switch t {
	case TypeString:
		w.NullQString()
	case TypeByteArray, TypeJSONDocument, TypeColorSpace:
		w.Bytes(nil)
	case TypeImage, TypePixmap, TypeBitmap:
		w.Image(nil)
	case TypeRegion:
		w.Region(nil)
	case TypeKeySequence:
		w.KeySequence(nil)
	}
}

// boxCost is what holding a value in an interface may allocate, charged
// against the limit for each QVariant read.
const boxCost = 16

// Variant reads a QVariant of one of the types listed with the Type
// constants, or of a user type registered with WithUserType; others
// fail with ErrUnsupported (their length is not in the stream, so
// nothing after them can be read).
func (r *Reader) Variant() Variant {
	r.enter("QVariant")
	defer r.leave()
	id := r.Uint32()
	null := r.Bool()
	if r.err != nil {
		return Variant{}
	}
	t := typeOfID(id, r.v)
	if t == TypeUser || (r.v >= Qt_6_0 && t > TypeUser) {
		return r.userVariant(null)
	}
	ti := types[t]
	if ti == nil {
		r.fail(fmt.Errorf("%w: QVariant of type %d at byte %d (%s)", ErrUnsupported, id, r.off, unsupportedWhy(t, r.v)))
		return Variant{}
	}
	r.path[len(r.path)-1] = ti.label
	if !r.enterDepth() || !r.charge(boxCost) {
		return Variant{}
	}
	defer func() { r.depth-- }()
	v := Variant{Type: t, Null: null || t == TypeInvalid}
	v.Value = ti.read(r)
	if r.err != nil {
		return Variant{}
	}
	return v
}

func (r *Reader) userVariant(null bool) Variant {
	name := string(r.Bytes())
	if r.err != nil {
		return Variant{}
	}
	name = strings.TrimSuffix(name, "\x00")
	ut, ok := r.cfg.userType(name)
	if !ok {
		r.fail(fmt.Errorf("%w: QVariant of user type %q at byte %d: register a decoder with WithUserType", ErrUnsupported, name, r.off))
		return Variant{}
	}
	r.path[len(r.path)-1] = "QVariant(" + name + ")"
	if !r.enterDepth() || !r.charge(boxCost) {
		return Variant{}
	}
	defer func() { r.depth-- }()
	val := ut.Read(r)
	if r.err != nil {
		return Variant{}
	}
	return Variant{Type: TypeUser, Null: null, Value: User{name, val}}
}

// unsupportedWhy says why a type id is not read.
func unsupportedWhy(t Type, v Version) string {
	switch {
	case t == 27 && v < Qt_6_0:
		return "QRegExp, Qt 5's deprecated regular expression"
	case t == 31 || t == 39:
		return "a pointer, which Qt does not stream"
	case t == 42 || t == 50:
		return "a model index, which Qt does not stream"
	case t == 0x1005 || t == 69 && v < Qt_6_0:
		return "QIcon, whose stream depends on its icon engine"
	case t == 0x2000 || t == 121 && v < Qt_6_0:
		return "QSizePolicy, of QtWidgets"
	}
	return "not a type Qt streams in a QVariant"
}

func (r *Reader) enterDepth() bool {
	if r.depth >= maxDepth {
		r.tooLarge("QVariant nested deeper than %d", maxDepth)
		return false
	}
	r.depth++
	return true
}
