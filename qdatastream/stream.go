package qdatastream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Version is a QDataStream format version, numbered as Qt numbers
// QDataStream::Version. Releases that did not change the format share the
// number of the release that last did (Qt_5_3 == Qt_5_2).
type Version int

// The stream versions of Qt 5.0 to 6.12. Versions before Qt_5_0 are not
// supported. A version newer than the newest named here is accepted and
// written like the newest (Qt adds a number when some type's format
// changes; none of the types of this package changed after Qt_6_7).
const (
	Qt_5_0  Version = 13
	Qt_5_1  Version = 14
	Qt_5_2  Version = 15
	Qt_5_3  Version = Qt_5_2
	Qt_5_4  Version = 16
	Qt_5_5  Version = Qt_5_4
	Qt_5_6  Version = 17
	Qt_5_7  Version = Qt_5_6
	Qt_5_8  Version = Qt_5_6
	Qt_5_9  Version = Qt_5_6
	Qt_5_10 Version = Qt_5_6
	Qt_5_11 Version = Qt_5_6
	Qt_5_12 Version = 18
	Qt_5_13 Version = 19
	Qt_5_14 Version = Qt_5_13
	Qt_5_15 Version = Qt_5_13
	Qt_6_0  Version = 20
	Qt_6_1  Version = Qt_6_0
	Qt_6_2  Version = Qt_6_0
	Qt_6_3  Version = Qt_6_0
	Qt_6_4  Version = Qt_6_0
	Qt_6_5  Version = Qt_6_0
	Qt_6_6  Version = 21
	Qt_6_7  Version = 22
	Qt_6_8  Version = Qt_6_7
	Qt_6_9  Version = Qt_6_7
	Qt_6_10 Version = 23
	Qt_6_11 Version = 24
	Qt_6_12 Version = Qt_6_11
)

// ByteOrder is the byte order of numbers in a stream (QDataStream::ByteOrder).
type ByteOrder int

// The byte orders. BigEndian is Qt's default whatever the machine.
const (
	BigEndian ByteOrder = iota
	LittleEndian
)

// FloatPrecision says how many bytes float32 and float64 values take in a
// stream (QDataStream::FloatingPointPrecision). Both Go types follow it,
// as both C++ types do in Qt.
type FloatPrecision int

// The precisions. DoublePrecision, Qt's default since Qt 4.6, writes a
// float32 as an 8-byte double; SinglePrecision writes a float64 as a
// 4-byte float, losing precision.
const (
	DoublePrecision FloatPrecision = iota
	SinglePrecision
)

// DefaultLimit is the memory a Reader's values may take unless WithLimit
// says otherwise.
const DefaultLimit = 64 << 20

// Errors that Reader.Err and Writer.Err wrap. A read that runs out of
// input wraps io.ErrUnexpectedEOF (Qt's ReadPastEnd).
var (
	// ErrCorrupt is Qt's ReadCorruptData: the bytes cannot be what the
	// reader was asked to read (a QString of odd byte length, a PNG that
	// does not decode, a bool that is neither 0 nor 1 is not one: Qt takes
	// any non-zero byte as true).
	ErrCorrupt = errors.New("qdatastream: corrupt data")
	// ErrTooLarge is Qt's SizeLimitExceeded, and also what a Reader says
	// of a length above its limit (WithLimit).
	ErrTooLarge = errors.New("qdatastream: size limit exceeded")
	// ErrUnsupported says a value has a type or form this package does not
	// read or write (a QVariant of a user type, a version before Qt_5_0).
	ErrUnsupported = errors.New("qdatastream: unsupported")
	// ErrInvalid says a Writer was given a value it cannot write as asked
	// (a Variant whose Value does not match its Type).
	ErrInvalid = errors.New("qdatastream: invalid value")
)

// Option configures a Reader or a Writer.
type Option func(*config)

type config struct {
	order     ByteOrder
	precision FloatPrecision
	limit     int64
	loc       *time.Location
	user      map[string]UserType
	qtMajor   int
}

// WithByteOrder sets the byte order (default BigEndian).
func WithByteOrder(o ByteOrder) Option { return func(c *config) { c.order = o } }

// WithFloatPrecision sets the floating-point precision (default
// DoublePrecision).
func WithFloatPrecision(p FloatPrecision) Option { return func(c *config) { c.precision = p } }

// WithLimit sets a Reader's limit (default DefaultLimit): the memory that
// all the values it reads may take together, decoded image pixels
// included, past which reading fails with ErrTooLarge (see
// Reader.ResetLimit). Memory grows only as data arrives, so a lying
// length costs at most one read buffer before the input runs out.
// Writers ignore it.
func WithLimit(n int64) Option { return func(c *config) { c.limit = n } }

// WithLocation sets the time zone that QDateTime's LocalTime means to
// this stream (default time.Local). Only Qt_5_0 streams need it: that
// version stored local times converted to UTC.
func WithLocation(loc *time.Location) Option { return func(c *config) { c.loc = loc } }

// WithQtMajor makes a Writer write as the library of that Qt major version
// (5 or 6) does where the two differ for the same stream version: Qt 5
// writes a QMap (and QVariantMap) in descending key order, Qt 6 in
// ascending order. Either order reads back the same map in both. The
// default is 5 for versions before Qt_6_0 and 6 from Qt_6_0 on, so a
// Qt 6 program's stream at a Qt 5 version (setVersion(Qt_5_0 … Qt_5_15))
// needs WithQtMajor(6) to be written byte for byte. Readers ignore it.
func WithQtMajor(major int) Option { return func(c *config) { c.qtMajor = major } }

func newConfig(v Version, opts []Option) config {
	c := config{limit: DefaultLimit, loc: time.Local}
	for _, o := range opts {
		o(&c)
	}
	if c.qtMajor == 0 {
		c.qtMajor = 6
		if v < Qt_6_0 {
			c.qtMajor = 5
		}
	}
	if c.loc == nil {
		c.loc = time.Local
	}
	return c
}

func checkVersion(v Version) error {
	if v < Qt_5_0 {
		return fmt.Errorf("%w: stream version %d (before Qt_5_0)", ErrUnsupported, int(v))
	}
	return nil
}

// Size codes of QString, QByteArray and containers.
const (
	nullCode     = 0xffffffff
	extendedSize = 0xfffffffe
)

// stream is the state a Reader and a Writer share: the version, the
// options, and Qt's sticky status.
type stream struct {
	v     Version
	cfg   config
	bo    binary.ByteOrder
	err   error
	depth int // QVariant nesting
	buf   [8]byte
}

func newStream(v Version, opts []Option) stream {
	c := newConfig(v, opts)
	bo := binary.ByteOrder(binary.BigEndian)
	if c.order == LittleEndian {
		bo = binary.LittleEndian
	}
	return stream{v: v, cfg: c, bo: bo, err: checkVersion(v)}
}

// Version returns the stream version read or written.
func (s *stream) Version() Version { return s.v }

// Err returns the first error met, or nil.
func (s *stream) Err() error { return s.err }

func (s *stream) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}
