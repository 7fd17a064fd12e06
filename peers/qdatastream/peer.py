#!/usr/bin/env python3
"""QDataStream peer of the qdatastream tests on PySide6 (Qt 6.6+).

Speaks the line protocol of peer.cpp (see README.md) on stdin/stdout:

    enc NAME VERSION ORDER PREC TYPE VALUE      -> NAME ok HEX | NAME skip WHY
    dec NAME VERSION ORDER PREC TYPE VALUE HEX  -> NAME ok TEXT STATUS left=N REHEX | NAME skip WHY
    max                                         -> max N (the newest stream version this Qt knows)

The bindings cannot build or show everything the C++ peers can: Python has
no null QString, no QList<qint32>/QMap<QString,qint32> streaming, and
QVariant comes and goes as a Python object (so only the types a Python
object maps to unambiguously). Those cases answer "skip WHY".
"""

import os
import struct
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import (QByteArray, QDataStream, QDate, QDateTime, QIODevice, QLocale, QPoint,  # noqa: E402
                            QRect, QSize, QTime, QTimeZone, QUuid)
from PySide6.QtGui import QGuiApplication, QImage, QPixmap  # noqa: E402


class Skip(Exception):
    pass


def split_top(s):
    out, depth, start = [], 0, 0
    if not s:
        return out
    for i, c in enumerate(s):
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(s[start:i])
            start = i + 1
    out.append(s[start:])
    return out


def inner(s, o, c):
    if len(s) < 2 or s[0] != o or s[-1] != c:
        raise ValueError("expected %s...%s: %s" % (o, c, s))
    return s[1:-1]


def parse_str(t):
    if t == "null":
        return None
    units = [int(t[1 + 4 * i:5 + 4 * i], 16) for i in range((len(t) - 1) // 4)]
    return struct.pack(">%dH" % len(units), *units).decode("utf-16-be", "surrogatepass")


def fmt_str(s):
    if s is None:
        return "null"
    return "u" + s.encode("utf-16-be", "surrogatepass").hex()


def has_lone_surrogate(t):
    units = [int(t[1 + 4 * i:5 + 4 * i], 16) for i in range((len(t) - 1) // 4)]
    i = 0
    while i < len(units):
        if 0xD800 <= units[i] < 0xDC00 and i + 1 < len(units) and 0xDC00 <= units[i + 1] < 0xE000:
            i += 2
            continue
        if 0xD800 <= units[i] < 0xE000:
            return True
        i += 1
    return False


def parse_bytes(t):
    return QByteArray() if t == "null" else QByteArray(bytes.fromhex(t[1:]))


def fmt_bytes(b):
    return "null" if b.isNull() else "x" + bytes(b).hex()


def parse_f32(t):
    return struct.unpack(">f", bytes.fromhex(t))[0]


def parse_f64(t):
    return struct.unpack(">d", bytes.fromhex(t))[0]


def fmt_f32(f):
    return struct.pack(">f", f).hex()


def fmt_f64(f):
    return struct.pack(">d", f).hex()


def parse_dt(t):
    if t == "invalid":
        return QDateTime()
    jd, ms, spec = t.split("/", 2)
    d, tm = QDate.fromJulianDay(int(jd)), QTime.fromMSecsSinceStartOfDay(int(ms))
    if spec == "local":
        return QDateTime(d, tm)
    if spec == "utc":
        return QDateTime(d, tm, QTimeZone.UTC)
    if spec.startswith("off:"):
        return QDateTime(d, tm, QTimeZone.fromSecondsAheadOfUtc(int(spec[4:])))
    if spec.startswith("tz:"):
        return QDateTime(d, tm, QTimeZone(spec[3:].encode()))
    if spec.startswith("cz:"):
        zid, off, name, abbr, terr, comment = spec[3:].split(":")
        return QDateTime(d, tm, QTimeZone(parse_str(zid).encode(), int(off), parse_str(name), parse_str(abbr),
                                          QLocale.Country(int(terr)), parse_str(comment)))
    raise ValueError("bad spec " + spec)


def fmt_dt(d):
    if not d.isValid():
        return "invalid"
    s = "%d/%d/" % (d.date().toJulianDay(), d.time().msecsSinceStartOfDay())
    spec = d.timeSpec().name
    if spec == "LocalTime":
        return s + "local"
    if spec == "UTC":
        return s + "utc"
    if spec == "OffsetFromUTC":
        return s + "off:%d" % d.offsetFromUtc()
    z = d.timeZone()
    if QTimeZone.isTimeZoneIdAvailable(z.id()):
        return s + "tz:" + bytes(z.id()).decode()
    return s + "cz:%s:%d:%s:%s:%d:%s" % (
        fmt_str(bytes(z.id()).decode()), z.offsetFromUtc(d),
        fmt_str(z.displayName(QTimeZone.GenericTime, QTimeZone.LongName)), fmt_str(z.abbreviation(d)),
        z.territory().value, fmt_str(z.comment()))


def parse_image(t):
    if t == "null":
        return QImage()
    wh, kind, px = t.split(":")
    w, h = (int(x) for x in wh.split("x"))
    opaque = kind == "o"
    img = QImage(w, h, QImage.Format_RGB32 if opaque else QImage.Format_ARGB32)
    for y in range(h):
        for x in range(w):
            c = int(px[8 * (y * w + x):8 * (y * w + x) + 8], 16)
            img.setPixel(x, y, c | 0xFF000000 if opaque else c)
    if kind == "p":
        img = img.convertToFormat(QImage.Format_ARGB32_Premultiplied)
    return img


def fmt_image(img):
    if img.isNull():
        return "null"
    a = img.convertToFormat(QImage.Format_ARGB32)
    px = "".join("%08x" % a.pixel(x, y) for y in range(a.height()) for x in range(a.width()))
    return "%dx%d:%s:%s" % (img.width(), img.height(), "a" if img.hasAlphaChannel() else "o", px)


def ints(t, n):
    v = [int(x) for x in t.split(",")]
    if len(v) != n:
        raise ValueError("want %d numbers: %s" % (n, t))
    return v


# Variants: what a Python object becomes in writeQVariant, and back.
def parse_variant(t):
    if t == "invalid":
        return None
    name, _, v = t.partition(":")
    if name == "bool":
        return v == "1"
    if name == "int":
        return int(v)
    if name == "ll" and not -2**31 <= int(v) < 2**31:
        return int(v)
    if name == "double":
        return parse_f64(v)
    if name == "str" and v != "null" and not has_lone_surrogate(v):
        return parse_str(v)
    if name == "bytes":
        return parse_bytes(v)
    if name == "date":
        return QDate.fromJulianDay(int(v))
    if name == "time" and int(v) >= 0:
        return QTime.fromMSecsSinceStartOfDay(int(v))
    if name == "strlist":
        items = split_top(inner(v, "[", "]"))
        if items and all(x != "null" for x in items):
            return [parse_str(x) for x in items]
    if name == "list":
        items = [parse_variant(x) for x in split_top(inner(v, "[", "]"))]
        if not items or not all(isinstance(x, str) for x in items):
            return items
    if name == "map":
        m = {}
        for e in split_top(inner(v, "{", "}")):
            k, _, x = e.partition(":")
            if k == "null":
                break
            m[parse_str(k)] = parse_variant(x)
        else:
            return m
    if name == "dt":
        return parse_dt(v)
    if name == "uuid":
        return QUuid(v)
    if name == "point":
        return QPoint(*ints(v, 2))
    if name == "size":
        return QSize(*ints(v, 2))
    if name == "rect":
        return QRect(*ints(v, 4))
    if name == "image":
        return parse_image(v)
    if name == "pixmap":
        return QPixmap.fromImage(parse_image(v))
    raise Skip("variant-" + name + "-not-expressible-in-PySide6")


def fmt_variant(o):
    if o is None:
        return "invalid"
    if isinstance(o, bool):
        return "bool:%d" % o
    if isinstance(o, int):
        return ("int:%d" if -2**31 <= o < 2**31 else "ll:%d") % o
    if isinstance(o, float):
        return "double:" + fmt_f64(o)
    if isinstance(o, str):
        return "str:" + fmt_str(o)
    if isinstance(o, (bytes, QByteArray)):
        return "bytes:" + fmt_bytes(QByteArray(o))
    if isinstance(o, list):
        if o and all(isinstance(x, str) for x in o):
            return "strlist:[" + ",".join(fmt_str(x) for x in o) + "]"
        return "list:[" + ",".join(fmt_variant(x) for x in o) + "]"
    if isinstance(o, dict):
        keys = sorted(o, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "map:{" + ",".join(fmt_str(k) + ":" + fmt_variant(o[k]) for k in keys) + "}"
    if isinstance(o, QDateTime):
        return "dt:" + fmt_dt(o)
    if isinstance(o, QDate):
        return "date:%d" % o.toJulianDay()
    if isinstance(o, QTime):
        return "time:%d" % (o.msecsSinceStartOfDay() if o.isValid() else -1)
    if isinstance(o, QUuid):
        return "uuid:" + o.toString(QUuid.WithoutBraces)
    if isinstance(o, QPoint):
        return "point:%d,%d" % (o.x(), o.y())
    if isinstance(o, QSize):
        return "size:%d,%d" % (o.width(), o.height())
    if isinstance(o, QRect):
        return "rect:%d,%d,%d,%d" % (o.x(), o.y(), o.width(), o.height())
    if isinstance(o, QImage):
        return "image:" + fmt_image(o)
    if isinstance(o, QPixmap):
        return "pixmap:" + fmt_image(o.toImage())
    return "python-" + type(o).__name__


def stream_op(cls, parse, fmt):
    """A type streamed with << and >> on a Qt object."""
    def write(s, v):
        s << parse(v)

    def read(s, v):
        o = cls()
        s >> o
        return o, fmt(o)
    return write, read


def method_op(name, parse, fmt, skip_read=None):
    def write(s, v):
        getattr(s, "write" + name)(parse(v))

    def read(s, v):
        if skip_read and skip_read(v):
            raise Skip("PySide6-cannot-show-" + v)
        o = getattr(s, "read" + name)()
        return o, fmt(o)
    return write, read


def int_op(name):
    return method_op(name, int, str)


def unsupported(why):
    def op(s, v):
        raise Skip(why)
    return op, op


def skip_str(v):
    return v == "null" or has_lone_surrogate(v)


def skip_strlist(v):
    return any(skip_str(x) for x in split_top(inner(v, "[", "]")))


def variant_read(s, v):
    parse_variant(v)  # skips what Python cannot express
    o = s.readQVariant()
    return o, fmt_variant(o)


OPS = {
    "i8": int_op("Int8"), "i16": int_op("Int16"), "i32": int_op("Int32"), "i64": int_op("Int64"),
    "u8": int_op("UInt8"), "u16": int_op("UInt16"), "u32": int_op("UInt32"), "u64": int_op("UInt64"),
    "bool": method_op("Bool", lambda v: v == "1", lambda b: "1" if b else "0"),
    "f32": method_op("Float", parse_f32, fmt_f32),
    "f64": method_op("Double", parse_f64, fmt_f64),
    "str": method_op("QString", parse_str, fmt_str, skip_str),
    "bytes": stream_op(QByteArray, parse_bytes, fmt_bytes),
    "strlist": method_op("QStringList", lambda v: [parse_str(x) for x in split_top(inner(v, "[", "]"))],
                         lambda l: "[" + ",".join(fmt_str(x) for x in l) + "]", skip_strlist),
    "listi32": unsupported("no-QList<qint32>-in-PySide6"),
    "mapstri32": unsupported("no-QMap<QString,qint32>-in-PySide6"),
    "hashstri32": unsupported("no-QHash<QString,qint32>-in-PySide6"),
    "multimapstri32": unsupported("no-QMultiMap<QString,qint32>-in-PySide6"),
    "dt": stream_op(QDateTime, parse_dt, fmt_dt),
    "uuid": stream_op(QUuid, QUuid, lambda u: u.toString(QUuid.WithoutBraces)),
    "point": stream_op(QPoint, lambda v: QPoint(*ints(v, 2)), lambda p: "%d,%d" % (p.x(), p.y())),
    "size": stream_op(QSize, lambda v: QSize(*ints(v, 2)), lambda p: "%d,%d" % (p.width(), p.height())),
    "rect": stream_op(QRect, lambda v: QRect(*ints(v, 4)),
                      lambda r: "%d,%d,%d,%d" % (r.x(), r.y(), r.width(), r.height())),
    "image": stream_op(QImage, parse_image, fmt_image),
    "pixmap": stream_op(QPixmap, lambda v: QPixmap.fromImage(parse_image(v)), lambda p: fmt_image(p.toImage())),
    "variant": (lambda s, v: s.writeQVariant(parse_variant(v)), variant_read),
}

STATUS = {0: "Ok", 1: "ReadPastEnd", 2: "ReadCorruptData", 3: "WriteFailed", 4: "SizeLimitExceeded"}


def setup(s, version, order, prec):
    s.setVersion(version)
    s.setByteOrder(QDataStream.LittleEndian if order == "le" else QDataStream.BigEndian)
    s.setFloatingPointPrecision(QDataStream.SinglePrecision if prec == "s" else QDataStream.DoublePrecision)


def hexof(ba):
    return bytes(ba).hex() or "-"


def run(f):
    cmd, _, version, order, prec, typ, value = f[:7]
    version = int(version)
    write, read = OPS[typ]
    if cmd == "enc":
        ba = QByteArray()
        s = QDataStream(ba, QIODevice.WriteOnly)
        setup(s, version, order, prec)
        write(s, value)
        return "ok " + hexof(ba)
    data = QByteArray(bytes.fromhex("" if f[7] == "-" else f[7]))
    s = QDataStream(data)
    setup(s, version, order, prec)
    obj, text = read(s, value)
    status = STATUS.get(s.status().value, str(s.status()))
    left = s.device().bytesAvailable()
    again = QByteArray()
    out = QDataStream(again, QIODevice.WriteOnly)
    setup(out, version, order, prec)
    if typ == "variant":
        out.writeQVariant(obj)
    elif typ in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "bool", "f32", "f64", "str", "strlist"):
        getattr(out, "write" + {"i8": "Int8", "i16": "Int16", "i32": "Int32", "i64": "Int64", "u8": "UInt8",
                                "u16": "UInt16", "u32": "UInt32", "u64": "UInt64", "bool": "Bool", "f32": "Float",
                                "f64": "Double", "str": "QString", "strlist": "QStringList"}[typ])(obj)
    else:
        out << obj
    return "ok %s %s left=%d %s" % (text, status, left, hexof(again))


# PySide6 6.12 drops a reference to None each time readQVariant returns
# None (an invalid or unsupported QVariant); over a long table that frees
# None and aborts the interpreter. These references keep it alive.
_NONE_REFS = [None] * 1000000


def main():
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 (QPixmap needs it)
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        if f[0] == "max":
            sys.stdout.write("max %d\n" % QDataStream.Qt_DefaultCompiledVersion.value)
            sys.stdout.flush()
            continue
        name = f[1] if len(f) > 1 else "?"
        try:
            answer = run(f)
        except Skip as e:
            answer = "skip " + str(e)
        except Exception as e:  # report, keep going
            answer = "error " + ("%s:%s" % (type(e).__name__, e)).replace(" ", "_")
        sys.stdout.write("%s %s\n" % (name, answer))
        sys.stdout.flush()
    # PySide6 6.12 can abort while finalizing ("none_dealloc") after
    # streaming an invalid QVariant; all answers are out, so skip that.
    os._exit(0)


if __name__ == "__main__":
    main()
