package qdatastream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unsafe"
)

// A Reader reads values in the QDataStream format of one version from an
// io.Reader, as `QDataStream in(device); in.setVersion(v); in >> value`
// does. It reads exactly the bytes of the values asked for and no more,
// so the io.Reader can be used again after it; wrap an unbuffered source
// in a bufio.Reader for speed.
//
// The first error stops the Reader (Qt's status()): later reads return
// zero values, and Err returns it. Errors wrap io.ErrUnexpectedEOF when
// the input ends early (ReadPastEnd), ErrCorrupt (ReadCorruptData),
// ErrTooLarge (SizeLimitExceeded, or memory over the limit), or
// ErrUnsupported; their text says at which byte (Offset) and inside
// which values the read failed. No input makes a Reader panic, or
// allocate more than a small multiple of its limit (WithLimit).
type Reader struct {
	r io.Reader
	stream
	off   int64    // bytes consumed
	spent int64    // memory charged against the limit
	path  []string // the values being read, outermost first
}

// NewReader returns a Reader of stream version v on r. Versions before
// Qt_5_0 make every read fail with ErrUnsupported.
func NewReader(r io.Reader, v Version, opts ...Option) *Reader {
	return &Reader{r: r, stream: newStream(v, opts)}
}

// Offset returns the number of bytes the Reader has consumed: where the
// next value starts, or, after an error, where reading stopped.
func (r *Reader) Offset() int64 { return r.off }

// ResetLimit starts the count of memory held against the limit
// (WithLimit) again, for a Reader that reads one message after another
// and whose caller has let go of the values read so far.
func (r *Reader) ResetLimit() { r.spent = 0 }

// enter and leave bracket the reading of a named value (a QString, a
// QVariant…) so that errors can say where in the stream's values they
// happened.
func (r *Reader) enter(name string) { r.path = append(r.path, name) }
func (r *Reader) leave()            { r.path = r.path[:len(r.path)-1] }

// where describes the value being read, such as "QVariantMap > QString",
// or kind when no named value is.
func (r *Reader) where(kind string) string {
	if len(r.path) == 0 {
		return kind
	}
	return strings.Join(r.path, " > ")
}

func (r *Reader) corrupt(format string, a ...any) {
	r.fail(fmt.Errorf("%w at byte %d reading %s: %s", ErrCorrupt, r.off, r.where("a value"), fmt.Sprintf(format, a...)))
}

// tooLarge fails with ErrTooLarge for what, a sentence fragment.
func (r *Reader) tooLarge(format string, a ...any) {
	r.fail(fmt.Errorf("%w at byte %d reading %s: %s", ErrTooLarge, r.off, r.where("a value"), fmt.Sprintf(format, a...)))
}

// charge counts n bytes of memory that the values being read take (or
// that reading them takes for a while) against the limit, and fails
// past it. What is charged is at least what is allocated, up to the
// slack of growing slices and maps and fixed costs such as a PNG
// decoder's, so that the limit bounds the Reader's allocations to a
// small multiple of it.
func (r *Reader) charge(n int64) bool {
	if r.err != nil {
		return false
	}
	r.spent += n
	if n < 0 || r.spent > r.cfg.limit {
		r.tooLarge("the values read would take more than the limit of %d bytes of memory (WithLimit)", r.cfg.limit)
		return false
	}
	return true
}

// full fills b from the input, or fails; kind names what b is for, and
// more says how many bytes the value needs after b, for the error.
func (r *Reader) full(b []byte, kind string, more int64) bool {
	if r.err != nil {
		return false
	}
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.fail(fmt.Errorf("qdatastream: %w at byte %d reading %s: %d bytes missing", err, r.off, r.where(kind), int64(len(b)-n)+more))
		return false
	}
	return true
}

// Raw reads n bytes as they are (QDataStream::readRawData), growing its
// buffer only as data arrives.
func (r *Reader) Raw(n int) []byte {
	if n < 0 {
		r.fail(fmt.Errorf("%w: negative length", ErrInvalid))
		return nil
	}
	return r.chunked(int64(n), "raw data")
}

// chunked reads n bytes of kind into a buffer that grows as they arrive.
func (r *Reader) chunked(n int64, kind string) []byte {
	if r.err != nil {
		return nil
	}
	if n > r.cfg.limit {
		r.tooLarge("%d bytes (limit %d)", n, r.cfg.limit)
		return nil
	}
	if !r.charge(n) {
		return nil
	}
	// Start small and double as data really arrives: a lying length
	// costs at most twice the bytes that came.
	b := make([]byte, 0, min(n, 64<<10))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*int64(cap(b))))
			copy(nb, b)
			b = nb
		}
		k := min(n-int64(len(b)), int64(cap(b)-len(b)))
		if !r.full(b[len(b):int64(len(b))+k], kind, n-int64(len(b))-k) {
			return nil
		}
		b = b[:int64(len(b))+k]
	}
	return b
}

// Int8 reads a qint8.
func (r *Reader) Int8() int8 { return int8(r.Uint8()) }

// Uint8 reads a quint8.
func (r *Reader) Uint8() uint8 {
	if !r.full(r.buf[:1], "quint8", 0) {
		return 0
	}
	return r.buf[0]
}

// Int16 reads a qint16.
func (r *Reader) Int16() int16 { return int16(r.Uint16()) }

// Uint16 reads a quint16.
func (r *Reader) Uint16() uint16 {
	if !r.full(r.buf[:2], "quint16", 0) {
		return 0
	}
	return r.bo.Uint16(r.buf[:2])
}

// Int32 reads a qint32.
func (r *Reader) Int32() int32 { return int32(r.Uint32()) }

// Uint32 reads a quint32.
func (r *Reader) Uint32() uint32 {
	if !r.full(r.buf[:4], "quint32", 0) {
		return 0
	}
	return r.bo.Uint32(r.buf[:4])
}

// Int64 reads a qint64.
func (r *Reader) Int64() int64 { return int64(r.Uint64()) }

// Uint64 reads a quint64.
func (r *Reader) Uint64() uint64 {
	if !r.full(r.buf[:8], "quint64", 0) {
		return 0
	}
	return r.bo.Uint64(r.buf[:8])
}

// Bool reads a bool: one byte, any non-zero value true (as in Qt).
func (r *Reader) Bool() bool { return r.Uint8() != 0 }

// Float32 reads a C++ float: 8 bytes under DoublePrecision (rounded to
// float32), 4 under SinglePrecision.
func (r *Reader) Float32() float32 {
	if r.cfg.precision == SinglePrecision {
		return math.Float32frombits(r.Uint32())
	}
	return float32(math.Float64frombits(r.Uint64()))
}

// Float64 reads a C++ double: 8 bytes under DoublePrecision, 4 under
// SinglePrecision.
func (r *Reader) Float64() float64 {
	if r.cfg.precision == SinglePrecision {
		return float64(math.Float32frombits(r.Uint32()))
	}
	return math.Float64frombits(r.Uint64())
}

// size reads a length or count; -1 stands for 0xffffffff (null).
func (r *Reader) size() int64 {
	n := r.Uint32()
	switch {
	case r.err != nil:
		return 0
	case n == nullCode:
		return -1
	case n == extendedSize && r.v >= Qt_6_7:
		m := r.Int64()
		if m < 0 && r.err == nil {
			r.corrupt("negative extended size %d", m)
		}
		return m
	}
	return int64(n)
}

// count reads a container's element count.
func (r *Reader) count() int {
	n := r.size()
	if r.err != nil {
		return 0
	}
	if n < 0 {
		r.tooLarge("element count 0xffffffff")
		return 0
	}
	if n > r.cfg.limit {
		r.tooLarge("%d elements (limit %d)", n, r.cfg.limit)
		return 0
	}
	return int(n)
}

// QString reads a QString. A null QString reads as "" (see QStringOrNull).
// The UTF-16 is returned as UTF-8 with lone surrogates, which Qt keeps,
// in WTF-8 (three bytes each), so that Writer.QString writes them back as they
// were; an odd byte length is ErrCorrupt, as in Qt.
func (r *Reader) QString() string {
	s, _ := r.QStringOrNull()
	return s
}

// QStringOrNull reads a QString and says whether it was non-null.
func (r *Reader) QStringOrNull() (s string, ok bool) {
	r.enter("QString")
	defer r.leave()
	n := r.size()
	if r.err != nil || n < 0 {
		return "", false
	}
	if n&1 != 0 {
		r.corrupt("odd byte length %d", n)
		return "", false
	}
	b := r.chunked(n, "QString")
	if r.err != nil {
		return "", false
	}
	s = fromUTF16(b, r.bo)
	if !r.charge(int64(len(s))) {
		return "", false
	}
	return s, true
}

// NullableString is a QString that may be null (QString()), as an
// element of NullableStringList.
type NullableString struct {
	S    string
	Null bool
}

// NullableString reads a QString, null or not.
func (r *Reader) NullableString() NullableString {
	s, ok := r.QStringOrNull()
	return NullableString{s, !ok && r.err == nil}
}

// Bytes reads a QByteArray: nil for a null one, a non-nil empty slice for
// an empty one.
func (r *Reader) Bytes() []byte {
	r.enter("QByteArray")
	defer r.leave()
	n := r.size()
	if r.err != nil || n < 0 {
		return nil
	}
	return r.chunked(n, "QByteArray")
}

// StringList reads a QStringList; a null element reads as "" (see
// NullableStringList).
func (r *Reader) StringList() []string {
	r.enter("QStringList")
	defer r.leave()
	return ReadList(r, (*Reader).QString)
}

// NullableStringList reads a QStringList telling null elements from
// empty ones.
func (r *Reader) NullableStringList() []NullableString {
	r.enter("QStringList")
	defer r.leave()
	return ReadList(r, (*Reader).NullableString)
}

// ReadList reads a QList<T> (QVector<T>, QSet<T>), each element with
// read, such as (*Reader).Int32. It returns nil on error.
func ReadList[T any](r *Reader, read func(*Reader) T) []T {
	n := r.count()
	if r.err != nil {
		return nil
	}
	// Twice the element: growing by doubling copies as much again.
	size := 2 * int64(unsafe.Sizeof(*new(T)))
	l := make([]T, 0, min(n, 1024))
	for range n {
		if !r.charge(size) {
			return nil
		}
		e := read(r)
		if r.err != nil {
			return nil
		}
		l = append(l, e)
	}
	return l
}

// ReadPairs reads a QMap, QHash, QMultiMap or QMultiHash as its pairs in
// stream order. It returns nil on error.
func ReadPairs[K, V any](r *Reader, readKey func(*Reader) K, readValue func(*Reader) V) []Pair[K, V] {
	n := r.count()
	if r.err != nil {
		return nil
	}
	size := 2 * int64(unsafe.Sizeof(Pair[K, V]{}))
	l := make([]Pair[K, V], 0, min(n, 1024))
	for range n {
		if !r.charge(size) {
			return nil
		}
		k := readKey(r)
		v := readValue(r)
		if r.err != nil {
			return nil
		}
		l = append(l, Pair[K, V]{k, v})
	}
	return l
}

// ReadMap reads a QMap or QHash into a map; of repeated keys (a
// multi-map's) the last in the stream wins, as in Qt 6. It returns nil
// on error.
func ReadMap[K comparable, V any](r *Reader, readKey func(*Reader) K, readValue func(*Reader) V) map[K]V {
	n := r.count()
	if r.err != nil {
		return nil
	}
	// A map's slots take the pair and a control byte, at most 8/7 of
	// them used, and the table doubles as it grows.
	size := 2 * (int64(unsafe.Sizeof(*new(K))+unsafe.Sizeof(*new(V))) + 8)
	m := make(map[K]V, min(n, 1024))
	for range n {
		if !r.charge(size) {
			return nil
		}
		k := readKey(r)
		v := readValue(r)
		if r.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

// UUID reads a QUuid.
func (r *Reader) UUID() UUID {
	var u UUID
	binary.BigEndian.PutUint32(u[0:4], r.Uint32())
	binary.BigEndian.PutUint16(u[4:6], r.Uint16())
	binary.BigEndian.PutUint16(u[6:8], r.Uint16())
	r.full(u[8:16], "QUuid", 0)
	if r.err != nil {
		return UUID{}
	}
	return u
}

// Point reads a QPoint.
func (r *Reader) Point() Point {
	x := r.Int32()
	return Point{x, r.Int32()}
}

// Size reads a QSize.
func (r *Reader) Size() Size {
	w := r.Int32()
	return Size{w, r.Int32()}
}

// Rect reads a QRect (left, top, right, bottom) into x, y, width, height.
func (r *Reader) Rect() Rect {
	x1, y1, x2, y2 := r.Int32(), r.Int32(), r.Int32(), r.Int32()
	return Rect{x1, y1, x2 - x1 + 1, y2 - y1 + 1}
}

// keep returns v, or T's zero value after an error, so that a failed
// read returns no half-read value.
func keep[T any](r *Reader, v T) T {
	if r.err != nil {
		var zero T
		return zero
	}
	return v
}
