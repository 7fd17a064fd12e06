// qdspeer: QDataStream peer for the qdatastream package's tests, built
// against Qt 5 (qdspeer5) or Qt 6 (qdspeer6); see README.md for the
// protocol. One case a line on stdin, one answer a line on stdout:
//
//   enc NAME VERSION ORDER PREC TYPE VALUE      -> NAME ok HEX | NAME skip WHY
//   dec NAME VERSION ORDER PREC TYPE VALUE HEX  -> NAME ok TEXT STATUS left=N REHEX | NAME skip WHY
//   max                                         -> max N (the newest stream version this Qt knows)
//
// ORDER is be|le, PREC d|s, VALUE the case's value in the text form of
// README.md, HEX the stream bytes ("-" for none). enc builds VALUE as a Qt
// object and streams it; dec streams it in from HEX, prints what it read
// in the same text form, the stream's status, the bytes left unread and
// what it read streamed out again.
#include <QtCore/QByteArray>
#include <QtCore/QDataStream>
#include <QtCore/QDateTime>
#include <QtCore/QHash>
#include <QtCore/QIODevice>
#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QPoint>
#include <QtCore/QRect>
#include <QtCore/QSize>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QTimeZone>
#include <QtCore/QUuid>
#include <QtCore/QVariant>
#include <QtGui/QGuiApplication>
#include <QtGui/QImage>
#include <QtGui/QPixmap>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

namespace {

struct Bad {
    QString why;
};

[[noreturn]] void bad(const QString &why) { throw Bad{why}; }

QString hex(const QByteArray &b) { return b.isEmpty() ? QStringLiteral("-") : QString::fromLatin1(b.toHex()); }

// ---- parsing the text form ----

// splitTop splits s at commas outside brackets and braces.
QStringList splitTop(const QString &s)
{
    QStringList out;
    if (s.isEmpty())
        return out;
    int depth = 0, start = 0;
    for (int i = 0; i < s.size(); ++i) {
        QChar c = s.at(i);
        if (c == QLatin1Char('[') || c == QLatin1Char('{'))
            ++depth;
        else if (c == QLatin1Char(']') || c == QLatin1Char('}'))
            --depth;
        else if (c == QLatin1Char(',') && depth == 0) {
            out << s.mid(start, i - start);
            start = i + 1;
        }
    }
    out << s.mid(start);
    return out;
}

QString inner(const QString &s, char open, char close)
{
    if (s.size() < 2 || s.at(0) != QLatin1Char(open) || s.at(s.size() - 1) != QLatin1Char(close))
        bad(QStringLiteral("expected %1...%2: %3").arg(QLatin1Char(open)).arg(QLatin1Char(close)).arg(s));
    return s.mid(1, s.size() - 2);
}

qint64 toI64(const QString &s)
{
    bool ok;
    qint64 v = s.toLongLong(&ok);
    if (!ok)
        bad(QStringLiteral("bad integer ") + s);
    return v;
}

quint64 toU64(const QString &s)
{
    bool ok;
    quint64 v = s.toULongLong(&ok);
    if (!ok)
        bad(QStringLiteral("bad integer ") + s);
    return v;
}

quint64 hexBits(const QString &s)
{
    bool ok;
    quint64 v = s.toULongLong(&ok, 16);
    if (!ok)
        bad(QStringLiteral("bad hex ") + s);
    return v;
}

float parseF32(const QString &s)
{
    quint32 b = quint32(hexBits(s));
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

double parseF64(const QString &s)
{
    quint64 b = hexBits(s);
    double f;
    std::memcpy(&f, &b, 8);
    return f;
}

QString parseStr(const QString &t)
{
    if (t == QLatin1String("null"))
        return QString();
    if (!t.startsWith(QLatin1Char('u')) || (t.size() - 1) % 4 != 0)
        bad(QStringLiteral("bad string ") + t);
    QString s(int((t.size() - 1) / 4), QChar());
    for (int i = 0; i < s.size(); ++i)
        s[i] = QChar(ushort(t.mid(1 + 4 * i, 4).toUInt(nullptr, 16)));
    return s;
}

QByteArray parseBytes(const QString &t)
{
    if (t == QLatin1String("null"))
        return QByteArray();
    if (!t.startsWith(QLatin1Char('x')))
        bad(QStringLiteral("bad bytes ") + t);
    return QByteArray::fromHex(t.mid(1).toLatin1()).append("", 0);
}

QStringList parseStrList(const QString &t)
{
    QStringList l;
    for (const QString &e : splitTop(inner(t, '[', ']')))
        l << parseStr(e);
    return l;
}

QDateTime parseDateTime(const QString &t)
{
    if (t == QLatin1String("invalid"))
        return QDateTime();
    // JD/MS/SPEC, and SPEC may be tz:Area/City
    int a = t.indexOf(QLatin1Char('/')), b = t.indexOf(QLatin1Char('/'), a + 1);
    if (a < 0 || b < 0)
        bad(QStringLiteral("bad datetime ") + t);
    QStringList p = {t.left(a), t.mid(a + 1, b - a - 1), t.mid(b + 1)};
    QDate d = QDate::fromJulianDay(toI64(p[0]));
    QTime tm = QTime::fromMSecsSinceStartOfDay(int(toI64(p[1])));
    const QString &s = p[2];
    if (s == QLatin1String("local"))
        return QDateTime(d, tm, Qt::LocalTime);
    if (s == QLatin1String("utc"))
        return QDateTime(d, tm, Qt::UTC);
    if (s.startsWith(QLatin1String("off:")))
        return QDateTime(d, tm, Qt::OffsetFromUTC, int(toI64(s.mid(4))));
    if (s.startsWith(QLatin1String("tz:")))
        return QDateTime(d, tm, QTimeZone(s.mid(3).toLatin1()));
    bad(QStringLiteral("bad spec ") + s);
}

QList<int> parseInts(const QString &t, int n)
{
    QList<int> v;
    for (const QString &e : t.split(QLatin1Char(',')))
        v << int(toI64(e));
    if (v.size() != n)
        bad(QStringLiteral("want %1 numbers: %2").arg(n).arg(t));
    return v;
}

// Images: WxH:K:PIXELS, K = o (RGB32), a (ARGB32), p (ARGB32 premultiplied),
// PIXELS eight hex digits (non-premultiplied AARRGGBB) a pixel, row by row.
QImage parseImage(const QString &t)
{
    if (t == QLatin1String("null"))
        return QImage();
    QStringList p = t.split(QLatin1Char(':'));
    if (p.size() != 3)
        bad(QStringLiteral("bad image ") + t);
    QStringList wh = p[0].split(QLatin1Char('x'));
    int w = int(toI64(wh.value(0))), h = int(toI64(wh.value(1)));
    if (p[2].size() != 8 * w * h)
        bad(QStringLiteral("bad pixels ") + t);
    bool opaque = p[1] == QLatin1String("o");
    QImage img(w, h, opaque ? QImage::Format_RGB32 : QImage::Format_ARGB32);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            QRgb c = QRgb(hexBits(p[2].mid(8 * (y * w + x), 8)));
            img.setPixel(x, y, opaque ? (c | 0xff000000u) : c);
        }
    if (p[1] == QLatin1String("p"))
        img = img.convertToFormat(QImage::Format_ARGB32_Premultiplied);
    return img;
}

struct VType {
    const char *name;
    int id;
};

const VType vtypes[] = {
    {"bool", QMetaType::Bool}, {"int", QMetaType::Int}, {"uint", QMetaType::UInt},
    {"ll", QMetaType::LongLong}, {"ull", QMetaType::ULongLong}, {"double", QMetaType::Double},
    {"float", QMetaType::Float}, {"str", QMetaType::QString}, {"bytes", QMetaType::QByteArray},
    {"strlist", QMetaType::QStringList}, {"date", QMetaType::QDate}, {"time", QMetaType::QTime},
    {"dt", QMetaType::QDateTime}, {"uuid", QMetaType::QUuid}, {"point", QMetaType::QPoint},
    {"size", QMetaType::QSize}, {"rect", QMetaType::QRect}, {"list", QMetaType::QVariantList},
    {"map", QMetaType::QVariantMap}, {"hash", QMetaType::QVariantHash},
    {"image", QMetaType::QImage}, {"pixmap", QMetaType::QPixmap},
};

int typeId(const QString &name)
{
    for (const VType &v : vtypes)
        if (name == QLatin1String(v.name))
            return v.id;
    bad(QStringLiteral("unknown variant type ") + name);
}

const char *typeName(int id)
{
    for (const VType &v : vtypes)
        if (v.id == id)
            return v.name;
    return nullptr;
}

QVariant nullVariant(int id)
{
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
    return QVariant(QMetaType(id));
#else
    return QVariant(QVariant::Type(id));
#endif
}

template <typename T> QVariant var(const T &v) { return QVariant::fromValue(v); }

QVariant parseVariant(const QString &t)
{
    if (t == QLatin1String("invalid"))
        return QVariant();
    int colon = t.indexOf(QLatin1Char(':'));
    if (colon < 0)
        bad(QStringLiteral("bad variant ") + t);
    QString name = t.left(colon), v = t.mid(colon + 1);
    if (name == QLatin1String("null"))
        return nullVariant(typeId(v));
    switch (typeId(name)) {
    case QMetaType::Bool: return var(v == QLatin1String("1"));
    case QMetaType::Int: return var(int(toI64(v)));
    case QMetaType::UInt: return var(uint(toU64(v)));
    case QMetaType::LongLong: return var(qlonglong(toI64(v)));
    case QMetaType::ULongLong: return var(qulonglong(toU64(v)));
    case QMetaType::Double: return var(parseF64(v));
    case QMetaType::Float: return var(parseF32(v));
    case QMetaType::QString: return var(parseStr(v));
    case QMetaType::QByteArray: return var(parseBytes(v));
    case QMetaType::QStringList: return var(parseStrList(v));
    case QMetaType::QDate: return var(QDate::fromJulianDay(toI64(v)));
    case QMetaType::QTime: return var(QTime::fromMSecsSinceStartOfDay(int(toI64(v))));
    case QMetaType::QDateTime: return var(parseDateTime(v));
    case QMetaType::QUuid: return var(QUuid(v));
    case QMetaType::QPoint: { auto n = parseInts(v, 2); return var(QPoint(n[0], n[1])); }
    case QMetaType::QSize: { auto n = parseInts(v, 2); return var(QSize(n[0], n[1])); }
    case QMetaType::QRect: { auto n = parseInts(v, 4); return var(QRect(n[0], n[1], n[2], n[3])); }
    case QMetaType::QVariantList: {
        QVariantList l;
        for (const QString &e : splitTop(inner(v, '[', ']')))
            l << parseVariant(e);
        return var(l);
    }
    case QMetaType::QVariantMap:
    case QMetaType::QVariantHash: {
        QVariantMap m;
        QVariantHash h;
        for (const QString &e : splitTop(inner(v, '{', '}'))) {
            int c = e.indexOf(QLatin1Char(':'));
            QString k = parseStr(e.left(c));
            QVariant x = parseVariant(e.mid(c + 1));
            m.insert(k, x);
            h.insert(k, x);
        }
        return name == QLatin1String("map") ? var(m) : var(h);
    }
    case QMetaType::QImage: return var(parseImage(v));
    case QMetaType::QPixmap: return var(QPixmap::fromImage(parseImage(v)));
    }
    bad(QStringLiteral("unhandled variant ") + t);
}

// ---- printing the text form ----

QString fmtStr(const QString &s)
{
    if (s.isNull())
        return QStringLiteral("null");
    QString out = QStringLiteral("u");
    for (QChar c : s)
        out += QStringLiteral("%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
    return out;
}

QString fmtBytes(const QByteArray &b)
{
    return b.isNull() ? QStringLiteral("null") : QStringLiteral("x") + QString::fromLatin1(b.toHex());
}

QString fmtStrList(const QStringList &l)
{
    QStringList parts;
    for (const QString &s : l)
        parts << fmtStr(s);
    return QStringLiteral("[") + parts.join(QLatin1Char(',')) + QStringLiteral("]");
}

QString fmtF32(float f)
{
    quint32 b;
    std::memcpy(&b, &f, 4);
    return QStringLiteral("%1").arg(b, 8, 16, QLatin1Char('0'));
}

QString fmtF64(double f)
{
    quint64 b;
    std::memcpy(&b, &f, 8);
    return QStringLiteral("%1").arg(b, 16, 16, QLatin1Char('0'));
}

QString fmtDateTime(const QDateTime &d)
{
    if (!d.isValid())
        return QStringLiteral("invalid");
    QString s = QStringLiteral("%1/%2/").arg(d.date().toJulianDay()).arg(d.time().msecsSinceStartOfDay());
    switch (d.timeSpec()) {
    case Qt::LocalTime: return s + QStringLiteral("local");
    case Qt::UTC: return s + QStringLiteral("utc");
    case Qt::OffsetFromUTC: return s + QStringLiteral("off:%1").arg(d.offsetFromUtc());
    case Qt::TimeZone: return s + QStringLiteral("tz:") + QString::fromLatin1(d.timeZone().id());
    }
    return s + QStringLiteral("?");
}

QString fmtImage(const QImage &img)
{
    if (img.isNull())
        return QStringLiteral("null");
    QImage a = img.convertToFormat(QImage::Format_ARGB32);
    QString s = QStringLiteral("%1x%2:%3:").arg(img.width()).arg(img.height()).arg(img.hasAlphaChannel() ? 'a' : 'o');
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            s += QStringLiteral("%1").arg(a.pixel(x, y), 8, 16, QLatin1Char('0'));
    return s;
}

QString fmtMapKey(const QString &k) { return fmtStr(k); }

QString fmtVariant(const QVariant &v);

template <typename M> QString fmtVariantMap(const M &m)
{
    QStringList keys = m.keys();
    std::sort(keys.begin(), keys.end());
    QStringList parts;
    for (const QString &k : keys)
        parts << fmtMapKey(k) + QLatin1Char(':') + fmtVariant(m.value(k));
    return QStringLiteral("{") + parts.join(QLatin1Char(',')) + QStringLiteral("}");
}

QString fmtVariant(const QVariant &v)
{
    if (!v.isValid())
        return QStringLiteral("invalid");
    const char *name = typeName(v.userType());
    if (!name)
        return QStringLiteral("type%1").arg(v.userType());
    QString p = QString::fromLatin1(name) + QLatin1Char(':');
    switch (v.userType()) {
    case QMetaType::Bool: return p + (v.toBool() ? QStringLiteral("1") : QStringLiteral("0"));
    case QMetaType::Int: return p + QString::number(v.toInt());
    case QMetaType::UInt: return p + QString::number(v.toUInt());
    case QMetaType::LongLong: return p + QString::number(v.toLongLong());
    case QMetaType::ULongLong: return p + QString::number(v.toULongLong());
    case QMetaType::Double: return p + fmtF64(v.toDouble());
    case QMetaType::Float: return p + fmtF32(v.value<float>());
    case QMetaType::QString: return p + fmtStr(v.toString());
    case QMetaType::QByteArray: return p + fmtBytes(v.toByteArray());
    case QMetaType::QStringList: return p + fmtStrList(v.toStringList());
    case QMetaType::QDate: return p + QString::number(v.toDate().toJulianDay());
    case QMetaType::QTime: return p + QString::number(v.toTime().isValid() ? v.toTime().msecsSinceStartOfDay() : -1);
    case QMetaType::QDateTime: return p + fmtDateTime(v.toDateTime());
    case QMetaType::QUuid: return p + v.toUuid().toString(QUuid::WithoutBraces);
    case QMetaType::QPoint: return p + QStringLiteral("%1,%2").arg(v.toPoint().x()).arg(v.toPoint().y());
    case QMetaType::QSize: return p + QStringLiteral("%1,%2").arg(v.toSize().width()).arg(v.toSize().height());
    case QMetaType::QRect: {
        QRect r = v.toRect();
        return p + QStringLiteral("%1,%2,%3,%4").arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height());
    }
    case QMetaType::QVariantList: {
        QStringList parts;
        for (const QVariant &e : v.toList())
            parts << fmtVariant(e);
        return p + QStringLiteral("[") + parts.join(QLatin1Char(',')) + QStringLiteral("]");
    }
    case QMetaType::QVariantMap: return p + fmtVariantMap(v.toMap());
    case QMetaType::QVariantHash: return p + fmtVariantMap(v.toHash());
    case QMetaType::QImage: return p + fmtImage(v.value<QImage>());
    case QMetaType::QPixmap: return p + fmtImage(v.value<QPixmap>().toImage());
    }
    return p + QStringLiteral("?");
}

const char *statusName(QDataStream::Status s)
{
    switch (int(s)) {
    case 0: return "Ok";
    case 1: return "ReadPastEnd";
    case 2: return "ReadCorruptData";
    case 3: return "WriteFailed";
    case 4: return "SizeLimitExceeded";
    }
    return "Unknown";
}

// ---- one case ----

struct Case {
    QString cmd, name, type, value;
    int version = 0;
    QDataStream::ByteOrder order = QDataStream::BigEndian;
    QDataStream::FloatingPointPrecision prec = QDataStream::DoublePrecision;
    QByteArray input;
};

void setup(QDataStream &s, const Case &c)
{
    s.setVersion(c.version);
    s.setByteOrder(c.order);
    s.setFloatingPointPrecision(c.prec);
}

// Each type: build from text, write, read, print. Written as a table of
// lambdas over one generic helper.
template <typename T, typename Parse, typename Fmt>
QString run(const Case &c, Parse parse, Fmt fmt)
{
    if (c.cmd == QLatin1String("enc")) {
        T v = parse(c.value);
        QByteArray out;
        QDataStream s(&out, QIODevice::WriteOnly);
        setup(s, c);
        s << v;
        if (s.status() != QDataStream::Ok)
            return QStringLiteral("skip write-status-") + QLatin1String(statusName(s.status()));
        return QStringLiteral("ok ") + hex(out);
    }
    T v{};
    QDataStream in(c.input);
    setup(in, c);
    in >> v;
    QString status = QLatin1String(statusName(in.status()));
    qint64 left = in.device()->bytesAvailable();
    QByteArray again;
    QDataStream out(&again, QIODevice::WriteOnly);
    setup(out, c);
    out << v;
    return QStringLiteral("ok %1 %2 left=%3 %4").arg(fmt(v), status).arg(left).arg(hex(again));
}

QString runCase(const Case &c)
{
    const QString &t = c.type;
    auto num = [](auto v) { return QString::number(v); };
    if (t == QLatin1String("i8"))
        return run<qint8>(c, [](const QString &s) { return qint8(toI64(s)); }, [](qint8 v) { return QString::number(v); });
    if (t == QLatin1String("i16"))
        return run<qint16>(c, [](const QString &s) { return qint16(toI64(s)); }, num);
    if (t == QLatin1String("i32"))
        return run<qint32>(c, [](const QString &s) { return qint32(toI64(s)); }, num);
    if (t == QLatin1String("i64"))
        return run<qint64>(c, [](const QString &s) { return qint64(toI64(s)); }, num);
    if (t == QLatin1String("u8"))
        return run<quint8>(c, [](const QString &s) { return quint8(toU64(s)); }, [](quint8 v) { return QString::number(v); });
    if (t == QLatin1String("u16"))
        return run<quint16>(c, [](const QString &s) { return quint16(toU64(s)); }, num);
    if (t == QLatin1String("u32"))
        return run<quint32>(c, [](const QString &s) { return quint32(toU64(s)); }, num);
    if (t == QLatin1String("u64"))
        return run<quint64>(c, [](const QString &s) { return quint64(toU64(s)); }, num);
    if (t == QLatin1String("bool"))
        return run<bool>(c, [](const QString &s) { return s == QLatin1String("1"); }, [](bool v) { return QString::number(int(v)); });
    if (t == QLatin1String("f32"))
        return run<float>(c, parseF32, fmtF32);
    if (t == QLatin1String("f64"))
        return run<double>(c, parseF64, fmtF64);
    if (t == QLatin1String("str"))
        return run<QString>(c, parseStr, fmtStr);
    if (t == QLatin1String("bytes"))
        return run<QByteArray>(c, parseBytes, fmtBytes);
    if (t == QLatin1String("strlist"))
        return run<QStringList>(c, parseStrList, fmtStrList);
    if (t == QLatin1String("listi32"))
        return run<QList<qint32>>(c, [](const QString &s) {
            QList<qint32> l;
            for (const QString &e : splitTop(inner(s, '[', ']')))
                l << qint32(toI64(e));
            return l;
        }, [](const QList<qint32> &l) {
            QStringList p;
            for (qint32 e : l)
                p << QString::number(e);
            return QStringLiteral("[") + p.join(QLatin1Char(',')) + QStringLiteral("]");
        });
    if (t == QLatin1String("mapstri32") || t == QLatin1String("hashstri32")) {
        auto parse = [](const QString &s) {
            QList<QPair<QString, qint32>> l;
            for (const QString &e : splitTop(inner(s, '{', '}'))) {
                int colon = e.indexOf(QLatin1Char(':'));
                l << qMakePair(parseStr(e.left(colon)), qint32(toI64(e.mid(colon + 1))));
            }
            return l;
        };
        auto fmt = [](const auto &m) {
            QStringList keys = m.keys();
            std::sort(keys.begin(), keys.end());
            QStringList p;
            for (const QString &k : keys)
                p << fmtStr(k) + QLatin1Char(':') + QString::number(m.value(k));
            return QStringLiteral("{") + p.join(QLatin1Char(',')) + QStringLiteral("}");
        };
        if (t == QLatin1String("mapstri32"))
            return run<QMap<QString, qint32>>(c, [&](const QString &s) {
                QMap<QString, qint32> m;
                for (const auto &kv : parse(s))
                    m.insert(kv.first, kv.second);
                return m;
            }, fmt);
        return run<QHash<QString, qint32>>(c, [&](const QString &s) {
            QHash<QString, qint32> m;
            for (const auto &kv : parse(s))
                m.insert(kv.first, kv.second);
            return m;
        }, fmt);
    }
    if (t == QLatin1String("multimapstri32"))
        // VALUE: pairs in insertion order; TEXT: Qt's iteration order
        return run<QMultiMap<QString, qint32>>(c, [](const QString &s) {
            QMultiMap<QString, qint32> m;
            for (const QString &e : splitTop(inner(s, '{', '}'))) {
                int colon = e.indexOf(QLatin1Char(':'));
                m.insert(parseStr(e.left(colon)), qint32(toI64(e.mid(colon + 1))));
            }
            return m;
        }, [](const QMultiMap<QString, qint32> &m) {
            QStringList p;
            for (auto it = m.constBegin(); it != m.constEnd(); ++it)
                p << fmtStr(it.key()) + QLatin1Char(':') + QString::number(it.value());
            return QStringLiteral("{") + p.join(QLatin1Char(',')) + QStringLiteral("}");
        });
    if (t == QLatin1String("dt"))
        return run<QDateTime>(c, parseDateTime, fmtDateTime);
    if (t == QLatin1String("uuid"))
        return run<QUuid>(c, [](const QString &s) { return QUuid(s); }, [](const QUuid &u) { return u.toString(QUuid::WithoutBraces); });
    if (t == QLatin1String("point"))
        return run<QPoint>(c, [](const QString &s) { auto n = parseInts(s, 2); return QPoint(n[0], n[1]); },
                           [](const QPoint &p) { return QStringLiteral("%1,%2").arg(p.x()).arg(p.y()); });
    if (t == QLatin1String("size"))
        return run<QSize>(c, [](const QString &s) { auto n = parseInts(s, 2); return QSize(n[0], n[1]); },
                          [](const QSize &p) { return QStringLiteral("%1,%2").arg(p.width()).arg(p.height()); });
    if (t == QLatin1String("rect"))
        return run<QRect>(c, [](const QString &s) { auto n = parseInts(s, 4); return QRect(n[0], n[1], n[2], n[3]); },
                          [](const QRect &r) { return QStringLiteral("%1,%2,%3,%4").arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height()); });
    if (t == QLatin1String("image"))
        return run<QImage>(c, parseImage, fmtImage);
    if (t == QLatin1String("pixmap"))
        return run<QPixmap>(c, [](const QString &s) { return QPixmap::fromImage(parseImage(s)); },
                            [](const QPixmap &p) { return fmtImage(p.toImage()); });
    if (t == QLatin1String("variant"))
        return run<QVariant>(c, parseVariant, fmtVariant);
    bad(QStringLiteral("unknown type ") + t);
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    std::string line;
    while (std::getline(std::cin, line)) {
        QStringList f = QString::fromStdString(line).split(QLatin1Char(' '), Qt::SkipEmptyParts);
        if (f.isEmpty())
            continue;
        if (f[0] == QLatin1String("max")) {
            std::printf("max %d\n", int(QDataStream::Qt_DefaultCompiledVersion));
            std::fflush(stdout);
            continue;
        }
        QString name = f.value(1);
        QString answer;
        try {
            if (f.size() < 7 || (f[0] == QLatin1String("dec") && f.size() != 8))
                bad(QStringLiteral("bad line"));
            Case c;
            c.cmd = f[0];
            c.name = name;
            c.version = int(toI64(f[2]));
            c.order = f[3] == QLatin1String("le") ? QDataStream::LittleEndian : QDataStream::BigEndian;
            c.prec = f[4] == QLatin1String("s") ? QDataStream::SinglePrecision : QDataStream::DoublePrecision;
            c.type = f[5];
            c.value = f[6];
            if (c.cmd == QLatin1String("dec") && f[7] != QLatin1String("-"))
                c.input = QByteArray::fromHex(f[7].toLatin1());
            answer = runCase(c);
        } catch (const Bad &b) {
            answer = QStringLiteral("error ") + QString(b.why).replace(QLatin1Char(' '), QLatin1Char('_'));
        }
        std::printf("%s %s\n", name.toUtf8().constData(), answer.toUtf8().constData());
        std::fflush(stdout);
    }
    return 0;
}
