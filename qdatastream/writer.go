package qdatastream

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// A Writer writes values to an io.Writer in the QDataStream format of one
// version, as `QDataStream out(device); out.setVersion(v); out << value`
// does. It has no buffer of its own: each value goes to the io.Writer as
// soon as it is complete.
//
// The first error stops the Writer: later writes do nothing, and Err
// returns it (Qt's status()).
type Writer struct {
	w io.Writer
	stream
}

// NewWriter returns a Writer of stream version v on w. Versions before
// Qt_5_0 make every write fail with ErrUnsupported.
func NewWriter(w io.Writer, v Version, opts ...Option) *Writer {
	return &Writer{w: w, stream: newStream(v, opts)}
}

// Raw writes b as it is, with no length (QDataStream::writeRawData).
func (w *Writer) Raw(b []byte) {
	if w.err != nil || len(b) == 0 {
		return
	}
	if _, err := w.w.Write(b); err != nil {
		w.fail(fmt.Errorf("qdatastream: write: %w", err))
	}
}

// Int8 writes a qint8.
func (w *Writer) Int8(v int8) { w.Uint8(uint8(v)) }

// Uint8 writes a quint8.
func (w *Writer) Uint8(v uint8) {
	w.buf[0] = v
	w.Raw(w.buf[:1])
}

// Int16 writes a qint16.
func (w *Writer) Int16(v int16) { w.Uint16(uint16(v)) }

// Uint16 writes a quint16.
func (w *Writer) Uint16(v uint16) {
	w.bo.PutUint16(w.buf[:2], v)
	w.Raw(w.buf[:2])
}

// Int32 writes a qint32.
func (w *Writer) Int32(v int32) { w.Uint32(uint32(v)) }

// Uint32 writes a quint32.
func (w *Writer) Uint32(v uint32) {
	w.bo.PutUint32(w.buf[:4], v)
	w.Raw(w.buf[:4])
}

// Int64 writes a qint64.
func (w *Writer) Int64(v int64) { w.Uint64(uint64(v)) }

// Uint64 writes a quint64.
func (w *Writer) Uint64(v uint64) {
	w.bo.PutUint64(w.buf[:8], v)
	w.Raw(w.buf[:8])
}

// Bool writes a bool as Qt does: one byte, 1 or 0.
func (w *Writer) Bool(v bool) {
	if v {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
}

// Float32 writes a C++ float: 8 bytes (as a double) under DoublePrecision,
// Qt's default, and 4 under SinglePrecision.
func (w *Writer) Float32(f float32) {
	if w.cfg.precision == SinglePrecision {
		w.Uint32(math.Float32bits(f))
	} else {
		w.Uint64(math.Float64bits(float64(f)))
	}
}

// Float64 writes a C++ double: 8 bytes under DoublePrecision, and 4 (the
// value rounded to a float) under SinglePrecision.
func (w *Writer) Float64(f float64) {
	if w.cfg.precision == SinglePrecision {
		w.Uint32(math.Float32bits(float32(f)))
	} else {
		w.Uint64(math.Float64bits(f))
	}
}

// size writes a length or element count: 32 bits, or from Qt_6_7 on
// 0xfffffffe and 64 bits when it does not fit.
func (w *Writer) size(n int64) {
	switch {
	case n < extendedSize:
		w.Uint32(uint32(n))
	case w.v >= Qt_6_7:
		w.Uint32(extendedSize)
		w.Int64(n)
	case n == extendedSize:
		w.Uint32(extendedSize)
	default:
		w.fail(fmt.Errorf("%w: %d elements or bytes need Qt_6_7 or later", ErrTooLarge, n))
	}
}

// QString writes s as a QString: its length in bytes, then UTF-16 code
// units in the stream's byte order. s is UTF-8; lone surrogates encoded
// as in WTF-8 become lone UTF-16 surrogates (as Reader.QString returns
// them), and bytes that are not UTF-8 become U+FFFD each. An empty s is
// an empty, not a null, QString: see NullQString.
func (w *Writer) QString(s string) {
	if w.err != nil {
		return
	}
	u := toUTF16(s)
	w.size(int64(len(u)) * 2)
	if w.err != nil || len(u) == 0 {
		return
	}
	b := make([]byte, 2*len(u))
	for i, c := range u {
		w.bo.PutUint16(b[2*i:], c)
	}
	w.Raw(b)
}

// NullQString writes a null QString (QString()): 0xffffffff.
func (w *Writer) NullQString() { w.Uint32(nullCode) }

// Bytes writes b as a QByteArray: its length, then its bytes. A nil b is
// a null QByteArray (0xffffffff); an empty non-nil b an empty one.
func (w *Writer) Bytes(b []byte) {
	if b == nil {
		w.Uint32(nullCode)
		return
	}
	w.size(int64(len(b)))
	w.Raw(b)
}

// StringList writes a QStringList (a QList<QString>).
func (w *Writer) StringList(l []string) { WriteList(w, l, (*Writer).QString) }

// WriteList writes a QList<T> (or QVector<T>, QSet<T>: the same format):
// the element count, then each element written by write, such as
// (*Writer).Int32.
func WriteList[T any](w *Writer, l []T, write func(*Writer, T)) {
	w.size(int64(len(l)))
	for _, e := range l {
		if w.err != nil {
			return
		}
		write(w, e)
	}
}

// Pair is one key and value of a QMap, QHash, QMultiMap or QMultiHash.
type Pair[K, V any] struct {
	Key   K
	Value V
}

// WriteMap writes m as a QMap<K, V> (or QHash<K, V>): the count, then
// each key and value. Keys are sorted with compare, which must order them
// as Qt's operator< does (CompareUTF16 for QString keys, cmp.Compare for
// numbers), ascending as Qt 6 writes a QMap, or descending as Qt 5 does
// (see WithQtMajor). A QHash is written in the same order: Qt writes it
// in bucket order, which depends on a per-process seed, and reads any
// order back the same.
func WriteMap[K comparable, V any](w *Writer, m map[K]V, compare func(a, b K) int, writeKey func(*Writer, K), writeValue func(*Writer, V)) {
	WritePairs(w, sortedPairs(m, compare, w.cfg.qtMajor == 5), writeKey, writeValue)
}

// WriteMultiMap writes pairs, given in insertion order (oldest first), as
// a QMultiMap<K, V> (or QMultiHash): keys sorted with compare, ascending
// as Qt 6 writes them or descending as Qt 5 does (see WithQtMajor), and
// each key's values oldest first, as both write them, so that a reader
// inserting them in turn ends with the same map.
func WriteMultiMap[K, V any](w *Writer, pairs []Pair[K, V], compare func(a, b K) int, writeKey func(*Writer, K), writeValue func(*Writer, V)) {
	p := slices.Clone(pairs)
	slices.SortStableFunc(p, func(x, y Pair[K, V]) int {
		if w.cfg.qtMajor == 5 {
			return compare(y.Key, x.Key)
		}
		return compare(x.Key, y.Key)
	})
	WritePairs(w, p, writeKey, writeValue)
}

// WritePairs writes pairs in the order given, as a QMap, QHash, QMultiMap
// or QMultiHash. Qt reads a multi-container's values of one key back in
// reverse of the order written, so that the last written is the first
// value(); Qt 6 writes each key's values oldest first.
func WritePairs[K, V any](w *Writer, pairs []Pair[K, V], writeKey func(*Writer, K), writeValue func(*Writer, V)) {
	w.size(int64(len(pairs)))
	for _, p := range pairs {
		if w.err != nil {
			return
		}
		writeKey(w, p.Key)
		writeValue(w, p.Value)
	}
}

// UUID writes a QUuid: 16 bytes, its first three fields in the stream's
// byte order.
func (w *Writer) UUID(u UUID) {
	w.Uint32(binary.BigEndian.Uint32(u[0:4]))
	w.Uint16(binary.BigEndian.Uint16(u[4:6]))
	w.Uint16(binary.BigEndian.Uint16(u[6:8]))
	w.Raw(u[8:16])
}

// Point writes a QPoint (two qint32).
func (w *Writer) Point(p Point) {
	w.Int32(p.X)
	w.Int32(p.Y)
}

// Size writes a QSize (two qint32).
func (w *Writer) Size(s Size) {
	w.Int32(s.W)
	w.Int32(s.H)
}

// Rect writes a QRect as Qt stores it: left, top, right, bottom (qint32),
// where right = X+W-1 and bottom = Y+H-1 (wrapping as int32).
func (w *Writer) Rect(r Rect) {
	w.Int32(r.X)
	w.Int32(r.Y)
	w.Int32(r.X + r.W - 1)
	w.Int32(r.Y + r.H - 1)
}

// NullableString writes a QString, null if s.Null.
func (w *Writer) NullableString(s NullableString) {
	if s.Null {
		w.NullQString()
		return
	}
	w.QString(s.S)
}

// NullableStringList writes a QStringList with null elements.
func (w *Writer) NullableStringList(l []NullableString) {
	WriteList(w, l, (*Writer).NullableString)
}
