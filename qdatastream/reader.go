package qdatastream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
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
// ErrTooLarge (SizeLimitExceeded, or a length over the limit), or
// ErrUnsupported. No input makes a Reader panic, or allocate much more
// than its limit (WithLimit).
type Reader struct {
	r io.Reader
	stream
}

// NewReader returns a Reader of stream version v on r. Versions before
// Qt_5_0 make every read fail with ErrUnsupported.
func NewReader(r io.Reader, v Version, opts ...Option) *Reader {
	return &Reader{r: r, stream: newStream(v, opts)}
}

func (r *Reader) corrupt(format string, a ...any) {
	r.fail(fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...)))
}

// full fills b from the input, or fails.
func (r *Reader) full(b []byte) bool {
	if r.err != nil {
		return false
	}
	if _, err := io.ReadFull(r.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.fail(fmt.Errorf("qdatastream: read: %w", err))
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
	return r.chunked(int64(n))
}

// chunked reads n bytes into a buffer that grows as they arrive.
func (r *Reader) chunked(n int64) []byte {
	if r.err != nil {
		return nil
	}
	if n > r.cfg.limit {
		r.fail(fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, n, r.cfg.limit))
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
		if !r.full(b[len(b) : int64(len(b))+k]) {
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
	if !r.full(r.buf[:1]) {
		return 0
	}
	return r.buf[0]
}

// Int16 reads a qint16.
func (r *Reader) Int16() int16 { return int16(r.Uint16()) }

// Uint16 reads a quint16.
func (r *Reader) Uint16() uint16 {
	if !r.full(r.buf[:2]) {
		return 0
	}
	return r.bo.Uint16(r.buf[:2])
}

// Int32 reads a qint32.
func (r *Reader) Int32() int32 { return int32(r.Uint32()) }

// Uint32 reads a quint32.
func (r *Reader) Uint32() uint32 {
	if !r.full(r.buf[:4]) {
		return 0
	}
	return r.bo.Uint32(r.buf[:4])
}

// Int64 reads a qint64.
func (r *Reader) Int64() int64 { return int64(r.Uint64()) }

// Uint64 reads a quint64.
func (r *Reader) Uint64() uint64 {
	if !r.full(r.buf[:8]) {
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
		r.fail(fmt.Errorf("%w: element count 0xffffffff", ErrTooLarge))
		return 0
	}
	if n > r.cfg.limit {
		r.fail(fmt.Errorf("%w: %d elements (limit %d)", ErrTooLarge, n, r.cfg.limit))
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
	n := r.size()
	if r.err != nil || n < 0 {
		return "", false
	}
	if n&1 != 0 {
		r.corrupt("QString of odd byte length %d", n)
		return "", false
	}
	b := r.chunked(n)
	if r.err != nil {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = r.bo.Uint16(b[2*i:])
	}
	return fromUTF16(u), true
}

// Bytes reads a QByteArray: nil for a null one, a non-nil empty slice for
// an empty one.
func (r *Reader) Bytes() []byte {
	n := r.size()
	if r.err != nil || n < 0 {
		return nil
	}
	return r.chunked(n)
}

// StringList reads a QStringList (null elements read as "").
func (r *Reader) StringList() []string { return ReadList(r, (*Reader).QString) }

// ReadList reads a QList<T> (QVector<T>, QSet<T>), each element with
// read, such as (*Reader).Int32. It returns nil on error.
func ReadList[T any](r *Reader, read func(*Reader) T) []T {
	n := r.count()
	if r.err != nil {
		return nil
	}
	l := make([]T, 0, min(n, 1024))
	for range n {
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
	l := make([]Pair[K, V], 0, min(n, 1024))
	for range n {
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
	m := make(map[K]V, min(n, 1024))
	for range n {
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
	r.full(u[8:16])
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
