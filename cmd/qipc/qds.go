package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"strings"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/qdatastream"
)

// cat's QDataStream mode (--qdatastream, --image): the segment's bytes
// decoded with package qdatastream and printed as JSON, or the image it
// holds written as a PNG file.

// qdsFlags are cat's flags of that mode.
type qdsFlags struct {
	on     bool
	ver    int
	little bool
	types  string
	image  string
	limit  int64
}

const qdsHelp = `
With --qdatastream the bytes are read as QDataStream (package qdatastream)
and printed as JSON: by default one QVariant, or else one QVariantMap
streamed without a QVariant around it; --types names the values in the
stream in order instead, such as QString,qint32,QVariant. --image writes
the QImage or QPixmap the segment holds (what QDataStream << pixmap wrote,
as the seed program does) to a PNG file.`

func (q *qdsFlags) register(fs *flagSet) {
	fs.BoolVar(&q.on, "qdatastream", false, "decode the bytes as QDataStream and print them as JSON")
	fs.IntVar(&q.ver, "qds-version", int(qdatastream.Qt_5_15), "QDataStream version `N` of the bytes (19: Qt_5_15, 20: Qt_6_0, 24: Qt_6_11)")
	fs.BoolVar(&q.little, "qds-little-endian", false, "the bytes are little-endian (QDataStream::setByteOrder)")
	fs.StringVar(&q.types, "types", "", "comma-separated `LIST` of the types in the stream (see above)")
	fs.StringVar(&q.image, "image", "", "write the QImage or QPixmap in the segment to `FILE` as a PNG")
	fs.Int64Var(&q.limit, "qds-limit", qdatastream.DefaultLimit, "decode at most `N` bytes of values (qdatastream.WithLimit)")
}

func (q *qdsFlags) active() bool { return q.on || q.image != "" }

// qdsRead copies the segment's bytes from offset on, under the Qt lock
// unless nolock, through the fault-safe path: Locked's data is used only
// inside its function.
func qdsRead(ctx context.Context, s *session, offset int, nolock bool) ([]byte, error) {
	size := s.m.Size()
	if offset > size {
		return nil, fmt.Errorf("offset %d is past the end of the segment (%d bytes)", offset, size)
	}
	for {
		if !nolock {
			var buf []byte
			err := s.m.Locked(ctx, func(data []byte) error {
				buf = bytes.Clone(data[min(offset, len(data)):])
				return nil
			})
			if !errors.Is(err, qipc.ErrNoLock) {
				return buf, err
			}
			nolock = true
			s.noLockNote()
			continue
		}
		buf := make([]byte, size-offset)
		if _, err := s.m.ReadAt(buf, int64(offset)); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return buf, nil
	}
}

// run is cat in this mode, on the attached segment s, which it ends.
func (q *qdsFlags) run(ctx context.Context, s *session, offset int, nolock bool) int {
	buf, err := qdsRead(ctx, s, offset, nolock)
	if e := s.end(); err == nil {
		err = e
	}
	if err == nil {
		err = q.cat(buf)
	}
	if err != nil {
		return fail("cat", s.key.String(), err)
	}
	return exitOK
}

// cat prints buf as q says, to stdout, or writes its image.
func (q *qdsFlags) cat(buf []byte) error {
	opts := []qdatastream.Option{qdatastream.WithLimit(q.limit)}
	if q.little {
		opts = append(opts, qdatastream.WithByteOrder(qdatastream.LittleEndian))
	}
	ver := qdatastream.Version(q.ver)
	if q.image != "" && q.types == "" {
		q.types = "QImage"
	}
	values, err := decodeValues(buf, ver, q.types, opts)
	if err != nil {
		return err
	}
	if q.image != "" {
		return writeImage(q.image, values)
	}
	out := any(values)
	if len(values) == 1 {
		out = values[0]
	}
	b, err := json.MarshalIndent(jsonOf(out), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// qdsReaders reads each type --types can name.
var qdsReaders = map[string]func(*qdatastream.Reader) any{
	"QVariant": func(r *qdatastream.Reader) any { return r.Variant() },
	"QVariantMap": func(r *qdatastream.Reader) any {
		return qdatastream.ReadMap(r, (*qdatastream.Reader).QString, (*qdatastream.Reader).Variant)
	},
	"QVariantList": func(r *qdatastream.Reader) any { return qdatastream.ReadList(r, (*qdatastream.Reader).Variant) },
	"QString":      func(r *qdatastream.Reader) any { return r.NullableString() },
	"QByteArray":   func(r *qdatastream.Reader) any { return r.Bytes() },
	"QStringList":  func(r *qdatastream.Reader) any { return r.NullableStringList() },
	"bool":         func(r *qdatastream.Reader) any { return r.Bool() },
	"qint8":        func(r *qdatastream.Reader) any { return r.Int8() },
	"quint8":       func(r *qdatastream.Reader) any { return r.Uint8() },
	"qint16":       func(r *qdatastream.Reader) any { return r.Int16() },
	"quint16":      func(r *qdatastream.Reader) any { return r.Uint16() },
	"qint32":       func(r *qdatastream.Reader) any { return r.Int32() },
	"quint32":      func(r *qdatastream.Reader) any { return r.Uint32() },
	"qint64":       func(r *qdatastream.Reader) any { return r.Int64() },
	"quint64":      func(r *qdatastream.Reader) any { return r.Uint64() },
	"float":        func(r *qdatastream.Reader) any { return r.Float32() },
	"double":       func(r *qdatastream.Reader) any { return r.Float64() },
	"QDateTime":    func(r *qdatastream.Reader) any { return r.DateTime() },
	"QUuid":        func(r *qdatastream.Reader) any { return r.UUID() },
	"QPoint":       func(r *qdatastream.Reader) any { return r.Point() },
	"QPointF":      func(r *qdatastream.Reader) any { return r.PointF() },
	"QSize":        func(r *qdatastream.Reader) any { return r.Size() },
	"QRect":        func(r *qdatastream.Reader) any { return r.Rect() },
	"QRectF":       func(r *qdatastream.Reader) any { return r.RectF() },
	"QColor":       func(r *qdatastream.Reader) any { return r.Color() },
	"QFont":        func(r *qdatastream.Reader) any { return r.Font() },
	"QUrl":         func(r *qdatastream.Reader) any { return r.URL() },
	"QImage":       func(r *qdatastream.Reader) any { return r.Image() },
	"QPixmap":      func(r *qdatastream.Reader) any { return r.Image() },
}

func init() {
	for _, alias := range [][2]string{{"int", "qint32"}, {"uint", "quint32"}, {"qlonglong", "qint64"}, {"qulonglong", "quint64"}} {
		qdsReaders[alias[0]] = qdsReaders[alias[1]]
	}
}

// decodeValues reads the values types lists from buf, or by default one
// QVariant, and failing that one QVariantMap.
func decodeValues(buf []byte, ver qdatastream.Version, types string, opts []qdatastream.Option) ([]any, error) {
	if types == "" {
		vals, err := decodeValues(buf, ver, "QVariant", opts)
		if err == nil {
			return vals, nil
		}
		if vals, err2 := decodeValues(buf, ver, "QVariantMap", opts); err2 == nil {
			return vals, nil
		}
		return nil, err
	}
	r := qdatastream.NewReader(bytes.NewReader(buf), ver, opts...)
	var vals []any
	for _, name := range strings.Split(types, ",") {
		read, ok := qdsReaders[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("--types: unknown type %q", name)
		}
		vals = append(vals, read(r))
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decoding %s (value %d of --types): %w", name, len(vals), err)
		}
	}
	return vals, nil
}

func writeImage(file string, values []any) error {
	for _, v := range values {
		if vv, ok := v.(qdatastream.Variant); ok {
			v = vv.Value
		}
		img, ok := v.(image.Image)
		if !ok || img == nil {
			continue
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return errors.New("--image: the segment holds no image (a null QImage, or none among --types)")
}

// jsonOf turns a decoded value into what encoding/json prints well: a
// QVariant as its type name, null flag and value; images as their size
// and format; numbers JSON cannot hold as strings.
func jsonOf(v any) any {
	switch x := v.(type) {
	case qdatastream.Variant:
		out := map[string]any{"type": x.Type.String()}
		if u, ok := x.Value.(qdatastream.User); ok {
			out["type"], x.Value = u.Name, u.Value
		}
		if x.Null {
			out["null"] = true
		}
		if x.Type != qdatastream.TypeInvalid {
			out["value"] = jsonOf(x.Value)
		}
		return out
	case map[string]qdatastream.Variant:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonOf(e)
		}
		return m
	case []qdatastream.Variant:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = jsonOf(e)
		}
		return l
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = jsonOf(e)
		}
		return l
	case qdatastream.NullableString:
		if x.Null {
			return nil
		}
		return x.S
	case []qdatastream.NullableString:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = jsonOf(e)
		}
		return l
	case image.Image:
		b := x.Bounds()
		return map[string]any{"width": b.Dx(), "height": b.Dy(), "format": int(qdatastream.ImageFormatOf(x))}
	case qdatastream.DateTime:
		if t, err := x.Time(nil); err == nil {
			return t.Format("2006-01-02T15:04:05.000Z07:00")
		}
		return x
	case qdatastream.UUID:
		return x.String()
	case qdatastream.JSONValue, qdatastream.JSONObject, qdatastream.JSONArray, qdatastream.JSONDocument:
		if raw := rawJSON(x); raw != nil {
			return raw
		}
		return nil
	case float64:
		return jsonFloat(x)
	case float32:
		return jsonFloat(float64(x))
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprintf("%v", v) // NaN inside a struct, say
	}
	return v
}

func rawJSON(v any) json.RawMessage {
	var b []byte
	switch x := v.(type) {
	case qdatastream.JSONValue:
		b = x
	case qdatastream.JSONObject:
		b = x
	case qdatastream.JSONArray:
		b = x
	case qdatastream.JSONDocument:
		b = x
	}
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}
