package qdatastream

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// TimeSpec is a QDateTime's Qt::TimeSpec.
type TimeSpec int8

// The time specs, numbered as Qt::TimeSpec.
const (
	LocalTime     TimeSpec = 0 // wall-clock time wherever the value is read
	UTC           TimeSpec = 1
	OffsetFromUTC TimeSpec = 2 // a fixed offset, DateTime.Offset
	TimeZone      TimeSpec = 3 // an IANA time zone, DateTime.Zone
)

// NullJulianDay and NullMSecs are the parts of a null QDate and QTime,
// so that DateTime{JulianDay: NullJulianDay, MSecs: NullMSecs} is
// QDateTime(), the invalid datetime.
const (
	NullJulianDay = math.MinInt64
	NullMSecs     = -1
)

// DateTime is a QDateTime as a stream holds it: a date (QDate, a Julian
// day), a time of day (QTime, milliseconds since midnight) and what they
// are relative to.
type DateTime struct {
	JulianDay int64    // the date; 2440588 is 1970-01-01
	MSecs     int32    // the time of day in milliseconds
	Spec      TimeSpec // what JulianDay and MSecs are relative to
	Offset    int32    // seconds ahead of UTC, for OffsetFromUTC and a fixed-offset TimeZone
	Zone      string   // IANA id such as "Europe/Berlin", or "UTC+01:00", for TimeZone
	ZoneInfo  ZoneInfo // for a TimeZone streamed whole
}

// ZoneInfo is what Qt streams besides the id and offset of a time zone at
// a fixed offset from UTC: a zone made with QTimeZone(id, offset, name,
// abbreviation, territory, comment), or one of Qt's "UTC±hh:mm" zones. A
// DateTime of Spec TimeZone with a ZoneInfo (or with a "UTC±hh:mm" id) is
// written whole, its offset from DateTime.Offset; one without is written
// by its id alone, which the reading Qt must know.
type ZoneInfo struct {
	Name, Abbreviation string
	Territory          int32 // QLocale::Territory (Country in Qt 5), 0 for any
	Comment            string
}

// InvalidDateTime is QDateTime().
var InvalidDateTime = DateTime{JulianDay: NullJulianDay, MSecs: NullMSecs}

const (
	julianDayOfEpoch = 2440588
	msecsPerDay      = 86400000
)

// IsValid reports whether d has a date and a time of day, as
// QDateTime::isValid does (leaving aside dates Qt cannot convert).
func (d DateTime) IsValid() bool {
	return d.JulianDay != NullJulianDay && d.MSecs >= 0 && d.MSecs < msecsPerDay
}

// DateTimeOf returns t as a QDateTime, to the millisecond (rounding
// down): in UTC if t's location is time.UTC, in LocalTime if it is
// time.Local, and else at the fixed offset t has (Qt::OffsetFromUTC).
// Build a DateTime with Spec TimeZone to stream a named zone.
func DateTimeOf(t time.Time) DateTime {
	var d DateTime
	switch t.Location() {
	case time.UTC:
		d.Spec = UTC
	case time.Local:
		d.Spec = LocalTime
	default:
		d.Spec = OffsetFromUTC
		_, off := t.Zone()
		d.Offset = int32(off)
	}
	y, m, day := t.Date()
	d.JulianDay = time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Unix()/86400 + julianDayOfEpoch
	h, mi, s := t.Clock()
	d.MSecs = int32(((h*60+mi)*60+s)*1000 + t.Nanosecond()/1e6)
	return d
}

// Time returns d as a time.Time. A LocalTime is taken in loc (time.Local
// if nil); a TimeZone streamed whole (a ZoneInfo, or one of Qt's ids of
// fixed-offset zones such as "UTC+01:00") is a time.FixedZone of its
// offset, named by its abbreviation or id; another TimeZone is loaded
// with time.LoadLocation. It fails for an invalid DateTime and for a zone
// Go does not know.
func (d DateTime) Time(loc *time.Location) (time.Time, error) {
	if !d.IsValid() {
		return time.Time{}, fmt.Errorf("%w: invalid QDateTime", ErrInvalid)
	}
	switch d.Spec {
	case UTC:
		loc = time.UTC
	case OffsetFromUTC:
		loc = time.FixedZone("", int(d.Offset))
	case TimeZone:
		if d.ZoneInfo != (ZoneInfo{}) {
			loc = time.FixedZone(cmp.Or(d.ZoneInfo.Abbreviation, d.Zone), int(d.Offset))
			break
		}
		if off, ok := utcOffsetZone(d.Zone); ok {
			loc = time.FixedZone(d.Zone, int(off))
			break
		}
		var err error
		if loc, err = time.LoadLocation(d.Zone); err != nil {
			return time.Time{}, fmt.Errorf("%w: time zone %q: %v", ErrUnsupported, d.Zone, err)
		}
	default:
		if loc == nil {
			loc = time.Local
		}
	}
	days := d.JulianDay - julianDayOfEpoch
	if days < -1e8 || days > 1e8 { // far beyond Go's and Qt's calendars
		return time.Time{}, fmt.Errorf("%w: Julian day %d out of range", ErrUnsupported, d.JulianDay)
	}
	y, m, day := time.Unix(days*86400, 0).UTC().Date()
	return time.Date(y, m, day, 0, 0, 0, int(d.MSecs)*1e6, loc), nil
}

// toUTC converts a valid d to UTC for Qt_5_0 (which stored that).
func (w *Writer) toUTC(d DateTime) (DateTime, bool) {
	switch d.Spec {
	case UTC:
		return d, true
	case OffsetFromUTC:
		t, err := d.Time(nil)
		if err != nil {
			w.fail(err)
			return d, false
		}
		return DateTimeOf(t.UTC()), true
	}
	t, err := d.Time(w.cfg.loc)
	if err != nil {
		w.fail(err)
		return d, false
	}
	u := DateTimeOf(t.UTC())
	u.Spec = d.Spec
	return u, true
}

// Qt 4.0–5.1's QDateTimePrivate::Spec numbers, used by Qt_5_1.
const (
	spec51LocalUnknown = -1
	spec51LocalDST     = 1
	spec51UTC          = 2
	spec51Offset       = 3
	spec51TimeZone     = 4
)

// DateTime writes a QDateTime: the Julian day (qint64), the time of day
// (quint32) and the spec (qint8), then the offset (qint32) or the zone
// id (QString) if the spec needs one; an offset of 0 is UTC, as in Qt.
// Qt_5_0 stores valid times converted
// to UTC (a LocalTime by WithLocation's zone), and Qt_5_1 numbers the
// spec differently and stores no offset or zone, as Qt does.
func (w *Writer) DateTime(d DateTime) {
	if d.Spec < LocalTime || d.Spec > TimeZone {
		w.fail(fmt.Errorf("%w: QDateTime time spec %d", ErrInvalid, d.Spec))
		return
	}
	if d.Spec == OffsetFromUTC && d.Offset == 0 {
		d.Spec = UTC // as QDateTime makes it
	}
	switch {
	case w.v >= Qt_5_2:
		w.Int64(d.JulianDay)
		w.Uint32(uint32(d.MSecs))
		w.Int8(int8(d.Spec))
		switch d.Spec {
		case OffsetFromUTC:
			w.Int32(d.Offset)
		case TimeZone:
			w.timeZone(d)
		}
	case w.v == Qt_5_0:
		spec := d.Spec
		if d.IsValid() {
			var ok bool
			if d, ok = w.toUTC(d); !ok {
				return
			}
		}
		w.Int64(d.JulianDay)
		w.Uint32(uint32(d.MSecs))
		w.Int8(int8(spec))
	default:
		w.Int64(d.JulianDay)
		w.Uint32(uint32(d.MSecs))
		s := int8(spec51LocalUnknown)
		switch d.Spec {
		case UTC:
			s = spec51UTC
		case OffsetFromUTC:
			s = spec51Offset
		case TimeZone:
			s = spec51TimeZone
		}
		w.Int8(s)
	}
}

// DateTime reads a QDateTime. What Qt_5_0 stored in UTC is converted back
// to the spec stored with it: a LocalTime with WithLocation's zone, an
// offset or a zone as UTC, which is all Qt recovers (Qt 6.6 and later
// read a zone so; Qt 5.15 and 6.4 as LocalTime). Qt_5_1's offsets and
// zones read as UTC and LocalTime, as in Qt. An offset of 0 reads as
// UTC, as Qt makes it. A time zone stored by Qt as a custom UTC offset
// reads as OffsetFromUTC.
func (r *Reader) DateTime() DateTime {
	var d DateTime
	d.JulianDay = r.Int64()
	d.MSecs = int32(r.Uint32())
	spec := r.Int8()
	if r.err != nil {
		return InvalidDateTime
	}
	switch {
	case r.v >= Qt_5_2:
		d.Spec = TimeSpec(spec)
		switch d.Spec {
		case LocalTime, UTC:
		case OffsetFromUTC:
			if d.Offset = r.Int32(); d.Offset == 0 {
				d.Spec = UTC
			}
		case TimeZone:
			r.timeZone(&d)
		default:
			r.corrupt("QDateTime time spec %d", spec)
		}
	case r.v == Qt_5_0:
		d.Spec = UTC
		if !d.IsValid() && TimeSpec(spec) != UTC {
			d.Spec = LocalTime
		} else if TimeSpec(spec) == LocalTime {
			if t, err := d.Time(nil); err == nil {
				d = DateTimeOf(t.In(r.cfg.loc))
				d.Spec = LocalTime
			}
		}
	default:
		switch spec {
		case spec51UTC, spec51Offset:
			d.Spec = UTC
		default:
			d.Spec = LocalTime
		}
	}
	if r.err != nil {
		return InvalidDateTime
	}
	return d
}

// timeZone reads a QTimeZone: its IANA id, or Qt's form of a zone at a
// fixed offset from UTC ("UTC", "UTC+01:00", a custom zone):
// "OffsetFromUtc", the id, the offset, name, abbreviation, territory and
// comment.
func (r *Reader) timeZone(d *DateTime) {
	id := r.QString()
	if id != offsetZoneMagic {
		d.Zone = id
		return
	}
	d.Zone = r.QString()
	d.Offset = r.Int32()
	d.ZoneInfo.Name = r.QString()
	d.ZoneInfo.Abbreviation = r.QString()
	d.ZoneInfo.Territory = r.Int32()
	d.ZoneInfo.Comment = r.QString()
}

const offsetZoneMagic = "OffsetFromUtc"

// utcOffsetZone parses the ids Qt gives zones at a fixed offset from UTC:
// "UTC" and "UTC±hh:mm".
func utcOffsetZone(id string) (int32, bool) {
	if id == "UTC" {
		return 0, true
	}
	if len(id) != 9 || id[:3] != "UTC" || (id[3] != '+' && id[3] != '-') || id[6] != ':' {
		return 0, false
	}
	var n [4]int32
	for i, c := range []byte{id[4], id[5], id[7], id[8]} {
		if c < '0' || c > '9' {
			return 0, false
		}
		n[i] = int32(c - '0')
	}
	off := (n[0]*10+n[1])*3600 + (n[2]*10+n[3])*60
	if id[3] == '-' {
		off = -off
	}
	return off, true
}

// timeZone writes d's QTimeZone: whole for a ZoneInfo or a fixed-offset
// id (whose other fields Qt makes the id and territory any), else by id.
func (w *Writer) timeZone(d DateTime) {
	info, off := d.ZoneInfo, d.Offset
	if info == (ZoneInfo{}) {
		var ok bool
		if off, ok = utcOffsetZone(d.Zone); !ok {
			w.QString(d.Zone)
			return
		}
		info = ZoneInfo{Name: d.Zone, Abbreviation: d.Zone, Comment: d.Zone}
	}
	w.QString(offsetZoneMagic)
	w.QString(d.Zone)
	w.Int32(off)
	w.QString(info.Name)
	w.QString(info.Abbreviation)
	w.Int32(info.Territory)
	w.QString(info.Comment)
}
