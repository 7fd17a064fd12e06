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
#include <QtCore/QBitArray>
#include <QtCore/QByteArray>
#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborValue>
#include <QtCore/QEasingCurve>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QLine>
#include <QtCore/QLocale>
#include <QtCore/QRegularExpression>
#include <QtCore/QSharedMemory>
#include <QtCore/QUrl>
#include <QtCore/QVersionNumber>
#include <QtCore/QDataStream>
#include <QtCore/QDateTime>
#include <QtCore/QFloat16>
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
#include <QtGui/QBitmap>
#include <QtGui/QBrush>
#include <QtGui/QColor>
#include <QtGui/QColorSpace>
#include <QtGui/QCursor>
#include <QtGui/QFont>
#include <QtGui/QGuiApplication>
#include <QtGui/QKeySequence>
#include <QtGui/QMatrix4x4>
#include <QtGui/QPalette>
#include <QtGui/QPen>
#include <QtGui/QPolygon>
#include <QtGui/QQuaternion>
#include <QtGui/QRegion>
#include <QtGui/QTextFormat>
#include <QtGui/QTransform>
#include <QtGui/QVector2D>
#include <QtGui/QVector3D>
#include <QtGui/QVector4D>
#include <QtGui/QImage>
#include <QtGui/QPixmap>

#include <algorithm>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

// A user type with stream operators, as a Qt program registers it
// (qRegisterMetaType in main), for the tests of WithUserType.
struct MyStruct {
    qint32 n = 0;
    QString s;
};
Q_DECLARE_METATYPE(MyStruct)
QDataStream &operator<<(QDataStream &out, const MyStruct &m) { return out << m.n << m.s; }
QDataStream &operator>>(QDataStream &in, MyStruct &m) { return in >> m.n >> m.s; }

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

QString fmtStr(const QString &s);

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
    if (s.startsWith(QLatin1String("cz:"))) {
        // cz:ID:OFFSET:NAME:ABBREVIATION:TERRITORY:COMMENT, strings as str
        QStringList z = s.mid(3).split(QLatin1Char(':'));
        if (z.size() != 6)
            bad(QStringLiteral("bad custom zone ") + s);
        return QDateTime(d, tm, QTimeZone(parseStr(z[0]).toUtf8(), int(toI64(z[1])), parseStr(z[2]), parseStr(z[3]),
                                          QLocale::Country(toI64(z[4])), parseStr(z[5])));
    }
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


// ---- the other built-in types, in QVariant only ----
//
// Each has a name in the text form, a parser to a QVariant and a printer
// from one; see README.md for the forms.

QString fmtBytes(const QByteArray &b);
QString fmtF32(float f);
QString fmtF64(double f);
QString fmtImage(const QImage &img);
QVariant parseVariant(const QString &t);
QString fmtVariant(const QVariant &v);

QList<double> f64s(const QString &t, int n)
{
    QList<double> v;
    for (const QString &e : t.split(QLatin1Char(',')))
        v << parseF64(e);
    if (n >= 0 && v.size() != n)
        bad(QStringLiteral("want %1 doubles: %2").arg(n).arg(t));
    return v;
}

QList<float> f32s(const QString &t, int n)
{
    QList<float> v;
    for (const QString &e : t.split(QLatin1Char(',')))
        v << parseF32(e);
    if (v.size() != n)
        bad(QStringLiteral("want %1 floats: %2").arg(n).arg(t));
    return v;
}

QString joinF64(std::initializer_list<double> l)
{
    QStringList p;
    for (double d : l)
        p << fmtF64(d);
    return p.join(QLatin1Char(','));
}

QString joinF32(const QList<float> &l)
{
    QStringList p;
    for (float f : l)
        p << fmtF32(f);
    return p.join(QLatin1Char(','));
}

QString joinInts(const QList<int> &l)
{
    QStringList p;
    for (int i : l)
        p << QString::number(i);
    return p.join(QLatin1Char(','));
}

quint16 f16bits(float f)
{
    qfloat16 h(f);
    quint16 b;
    std::memcpy(&b, &h, 2);
    return b;
}

float f16(int bits)
{
    quint16 b = quint16(bits);
    qfloat16 h;
    std::memcpy(static_cast<void *>(&h), &b, 2);
    return float(h);
}

// Colours: SPEC,ALPHA,C0,C1,C2,C3 as QColor stores them (16 bits each;
// ExtendedRgb as float16 bits).
QColor parseColor(const QStringList &t)
{
    QList<int> n;
    for (const QString &e : t)
        n << int(toI64(e));
    if (n.size() != 6)
        bad(QStringLiteral("bad colour ") + t.join(QLatin1Char(',')));
    auto u = [&](int i) { return n[i] / 65535.0; };
    switch (n[0]) {
    case QColor::Invalid: return QColor();
    case QColor::Rgb: return QColor::fromRgba64(quint16(n[2]), quint16(n[3]), quint16(n[4]), quint16(n[1]));
    case QColor::Hsv: return QColor::fromHsvF(n[2] == 65535 ? -1 : n[2] / 36000.0, u(3), u(4), u(1));
    case QColor::Cmyk: return QColor::fromCmykF(u(2), u(3), u(4), u(5), u(1));
    case QColor::Hsl: return QColor::fromHslF(n[2] == 65535 ? -1 : n[2] / 36000.0, u(3), u(4), u(1));
    case QColor::ExtendedRgb: return QColor::fromRgbF(f16(n[2]), f16(n[3]), f16(n[4]), f16(n[1]));
    }
    bad(QStringLiteral("bad colour spec"));
}

QColor parseColor(const QString &t) { return parseColor(t.split(QLatin1Char(','))); }

QString fmtColor(const QColor &c)
{
    auto q = [](double x) { return x < 0 ? 65535 : qRound(x * 65535); };
    auto h = [](double x) { return x < 0 ? 65535 : qRound(x * 36000); };
    QList<int> n{int(c.spec()), q(c.alphaF()), 0, 0, 0, 0};
    switch (c.spec()) {
    case QColor::Invalid: n[1] = 65535; break;
    case QColor::Rgb: {
        QRgba64 r = c.rgba64();
        n = {1, r.alpha(), r.red(), r.green(), r.blue(), 0};
        break;
    }
    case QColor::Hsv: n[2] = h(c.hsvHueF()); n[3] = q(c.hsvSaturationF()); n[4] = q(c.valueF()); break;
    case QColor::Cmyk: n[2] = q(c.cyanF()); n[3] = q(c.magentaF()); n[4] = q(c.yellowF()); n[5] = q(c.blackF()); break;
    case QColor::Hsl: n[2] = h(c.hslHueF()); n[3] = q(c.hslSaturationF()); n[4] = q(c.lightnessF()); break;
    case QColor::ExtendedRgb:
        n = {5, f16bits(float(c.alphaF())), f16bits(float(c.redF())), f16bits(float(c.greenF())), f16bits(float(c.blueF())), 0};
        break;
    }
    return joinInts(n);
}

// Brushes: STYLE,COLOUR for a plain style; lin,X1,Y1,X2,Y2,STOPS for a
// linear gradient, rad,CX,CY,RADIUS,FX,FY,FOCALRADIUS,STOPS for a radial
// one, con,CX,CY,ANGLE,STOPS for a conical one (doubles as hex bits, STOPS
// AT0,COLOUR0,AT1,COLOUR1); tex,IMAGE for a texture.
QBrush withStops(QGradient &g, const QStringList &f)
{
    g.setColorAt(parseF64(f[0]), parseColor(f.mid(1, 6)));
    g.setColorAt(parseF64(f[7]), parseColor(f.mid(8, 6)));
    return QBrush(g);
}

QString fmtStops(const QGradient *g)
{
    QGradientStops st = g->stops();
    if (st.size() != 2)
        return QStringLiteral("with-%1-stops").arg(st.size());
    return fmtF64(st[0].first) + QLatin1Char(',') + fmtColor(st[0].second) + QLatin1Char(',') + fmtF64(st[1].first) +
           QLatin1Char(',') + fmtColor(st[1].second);
}

QBrush parseBrush(const QString &t)
{
    QStringList f = t.split(QLatin1Char(','));
    QString kind = f.value(0);
    if (kind == QLatin1String("lin") && f.size() == 19) {
        QLinearGradient g(parseF64(f[1]), parseF64(f[2]), parseF64(f[3]), parseF64(f[4]));
        return withStops(g, f.mid(5));
    }
    if (kind == QLatin1String("rad") && f.size() == 21) {
        QRadialGradient g(QPointF(parseF64(f[1]), parseF64(f[2])), parseF64(f[3]), QPointF(parseF64(f[4]), parseF64(f[5])),
                          parseF64(f[6]));
        return withStops(g, f.mid(7));
    }
    if (kind == QLatin1String("con") && f.size() == 18) {
        QConicalGradient g(parseF64(f[1]), parseF64(f[2]), parseF64(f[3]));
        return withStops(g, f.mid(4));
    }
    if (kind == QLatin1String("tex") && f.size() == 2)
        return QBrush(parseImage(f[1]));
    if (f.size() != 7)
        bad(QStringLiteral("bad brush ") + t);
    return QBrush(parseColor(f.mid(1)), Qt::BrushStyle(toI64(f[0])));
}

QString fmtBrush(const QBrush &b)
{
    switch (b.style()) {
    case Qt::LinearGradientPattern: {
        auto g = static_cast<const QLinearGradient *>(b.gradient());
        return QStringLiteral("lin,") + joinF64({g->start().x(), g->start().y(), g->finalStop().x(), g->finalStop().y()}) +
               QLatin1Char(',') + fmtStops(g);
    }
    case Qt::RadialGradientPattern: {
        auto g = static_cast<const QRadialGradient *>(b.gradient());
        return QStringLiteral("rad,") +
               joinF64({g->center().x(), g->center().y(), g->centerRadius(), g->focalPoint().x(), g->focalPoint().y(), g->focalRadius()}) +
               QLatin1Char(',') + fmtStops(g);
    }
    case Qt::ConicalGradientPattern: {
        auto g = static_cast<const QConicalGradient *>(b.gradient());
        return QStringLiteral("con,") + joinF64({g->center().x(), g->center().y(), g->angle()}) + QLatin1Char(',') + fmtStops(g);
    }
    case Qt::TexturePattern:
        return QStringLiteral("tex,") + fmtImage(b.textureImage());
    default:
        return QString::number(int(b.style())) + QLatin1Char(',') + fmtColor(b.color());
    }
}

// Pens: STYLE,WIDTH,COLOUR (style, cap and join ORed, as Qt streams them).
QPen parsePen(const QString &t)
{
    QStringList f = t.split(QLatin1Char(','));
    if (f.size() != 8)
        bad(QStringLiteral("bad pen ") + t);
    int st = int(toI64(f[0]));
    return QPen(QBrush(parseColor(f.mid(2))), parseF64(f[1]), Qt::PenStyle(st & 0xf), Qt::PenCapStyle(st & 0x30),
                Qt::PenJoinStyle(st & 0x1c0));
}

QString fmtPen(const QPen &p)
{
    return QStringLiteral("%1,%2,").arg(int(p.style()) | int(p.capStyle()) | int(p.joinStyle())).arg(fmtF64(p.widthF())) +
           fmtColor(p.color());
}

// Fonts: FAMILY,POINTSIZE,BOLD,ITALIC.
QFont parseFont(const QString &t)
{
    QStringList f = t.split(QLatin1Char(','));
    if (f.size() != 4)
        bad(QStringLiteral("bad font ") + t);
    QFont font(parseStr(f[0]));
    font.setPointSizeF(parseF64(f[1]));
    font.setWeight(f[2] == QLatin1String("1") ? QFont::Bold : QFont::Normal);
    font.setItalic(f[3] == QLatin1String("1"));
    return font;
}

QString fmtFont(const QFont &f)
{
    return QStringLiteral("%1,%2,%3,%4").arg(fmtStr(f.family()), fmtF64(f.pointSizeF())).arg(int(f.weight() == QFont::Bold)).arg(int(f.italic()));
}

// Palettes: every role of every group one colour.
QPalette parsePalette(const QString &t)
{
    QPalette p;
    QColor c = parseColor(t);
    for (int g = 0; g < QPalette::NColorGroups; ++g)
        for (int r = 0; r < QPalette::NColorRoles; ++r)
            p.setBrush(QPalette::ColorGroup(g), QPalette::ColorRole(r), QBrush(c));
    return p;
}

// Only the 20 roles that every stream version holds: the others keep
// the application's colours when an older stream is read.
QString fmtPalette(const QPalette &p)
{
    QBrush first = p.brush(QPalette::ColorGroup(0), QPalette::ColorRole(0));
    for (int g = 0; g < QPalette::NColorGroups; ++g)
        for (int r = 0; r < 20; ++r)
            if (p.brush(QPalette::ColorGroup(g), QPalette::ColorRole(r)) != first)
                return QStringLiteral("mixed");
    return fmtColor(first.color());
}

QString fmtKeys(const QKeySequence &k)
{
    QList<int> n;
    for (int i = 0; i < k.count(); ++i)
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
        n << k[uint(i)].toCombined();
#else
        n << k[uint(i)];
#endif
    return joinInts(n);
}

QKeySequence parseKeys(const QString &t)
{
    QList<int> n;
    for (const QString &e : t.split(QLatin1Char(',')))
        n << int(toI64(e));
    while (n.size() < 4)
        n << 0;
    return QKeySequence(n[0], n[1], n[2], n[3]);
}

QRegion parseRegion(const QString &t)
{
    QRegion r;
    QStringList f = t.split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (int i = 0; i + 3 < f.size(); i += 4)
        r += QRect(int(toI64(f[i])), int(toI64(f[i + 1])), int(toI64(f[i + 2])), int(toI64(f[i + 3])));
    return r;
}

QString fmtRegion(const QRegion &r)
{
    QList<int> n;
    for (const QRect &rc : r)
        n << rc.x() << rc.y() << rc.width() << rc.height();
    return joinInts(n);
}

QString fmtJson(const QJsonDocument &d) { return d.isNull() ? QStringLiteral("null") : fmtBytes(d.toJson(QJsonDocument::Compact)); }

QJsonDocument parseJson(const QString &t) { return QJsonDocument::fromJson(parseBytes(t)); }

QString fmtJsonValue(const QJsonValue &v)
{
    if (v.isUndefined())
        return QStringLiteral("undef");
    QByteArray a = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return fmtBytes(a.mid(1, a.size() - 2));
}

QJsonValue parseJsonValue(const QString &t)
{
    if (t == QLatin1String("undef"))
        return QJsonValue(QJsonValue::Undefined);
    return QJsonDocument::fromJson("[" + parseBytes(t) + "]").array().at(0);
}

QString fmtBitArray(const QBitArray &b)
{
    return QString::number(b.size()) + QLatin1Char(',') + fmtBytes(QByteArray(b.bits(), int((b.size() + 7) / 8)));
}

QBitmap parseBitmap(const QString &t) { return QBitmap::fromImage(parseImage(t)); }

// Cursors: SHAPE; 24,bmp,HX,HY,BITMAP,MASK; 24,pix,HX,HY,IMAGE.
QCursor parseCursor(const QString &t)
{
    QStringList f = t.split(QLatin1Char(','));
    if (f.size() == 1)
        return QCursor(Qt::CursorShape(toI64(f[0])));
    if (f.value(1) == QLatin1String("bmp") && f.size() == 6)
        return QCursor(parseBitmap(f[4]), parseBitmap(f[5]), int(toI64(f[2])), int(toI64(f[3])));
    if (f.value(1) == QLatin1String("pix") && f.size() == 5)
        return QCursor(QPixmap::fromImage(parseImage(f[4])), int(toI64(f[2])), int(toI64(f[3])));
    bad(QStringLiteral("bad cursor ") + t);
}

QString fmtCursor(const QCursor &c)
{
    if (c.shape() != Qt::BitmapCursor)
        return QString::number(int(c.shape()));
    QString head = QStringLiteral("%1,%2,%3,%4,").arg(int(c.shape()));
    QPoint hs = c.hotSpot();
    if (!c.pixmap().isNull())
        return head.arg(QStringLiteral("pix")).arg(hs.x()).arg(hs.y()) + fmtImage(c.pixmap().toImage());
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
    QBitmap bm = c.bitmap(), mask = c.mask();
#else
    QBitmap bm = c.bitmap(Qt::ReturnByValue), mask = c.mask(Qt::ReturnByValue);
#endif
    return head.arg(QStringLiteral("bmp")).arg(hs.x()).arg(hs.y()) + fmtImage(bm.toImage()) + QLatin1Char(',') + fmtImage(mask.toImage());
}

// Easing curves: TYPE,PERIOD,AMPLITUDE,OVERSHOOT; a parameter is set only
// where it differs from the type's default.
QEasingCurve parseEasing(const QString &t)
{
    QStringList f = t.split(QLatin1Char(','));
    if (f.size() != 4)
        bad(QStringLiteral("bad easing curve ") + t);
    QEasingCurve e(QEasingCurve::Type(toI64(f[0])));
    double p = parseF64(f[1]), a = parseF64(f[2]), o = parseF64(f[3]);
    if (p != e.period())
        e.setPeriod(p);
    if (a != e.amplitude())
        e.setAmplitude(a);
    if (o != e.overshoot())
        e.setOvershoot(o);
    return e;
}

QString fmtEasing(const QEasingCurve &e)
{
    return QString::number(int(e.type())) + QLatin1Char(',') + joinF64({e.period(), e.amplitude(), e.overshoot()});
}

// Text formats: TYPE,{ID:VARIANT,...}, ids in decimal.
QTextFormat parseTextFormat(const QString &t)
{
    int comma = t.indexOf(QLatin1Char(','));
    QTextFormat f(int(toI64(t.left(comma))));
    for (const QString &e : splitTop(inner(t.mid(comma + 1), '{', '}'))) {
        int c = e.indexOf(QLatin1Char(':'));
        f.setProperty(int(toI64(e.left(c))), parseVariant(e.mid(c + 1)));
    }
    return f;
}

QString fmtTextFormat(const QTextFormat &f)
{
    QStringList p;
    const QMap<int, QVariant> props = f.properties();
    for (auto it = props.constBegin(); it != props.constEnd(); ++it)
        p << QString::number(it.key()) + QLatin1Char(':') + fmtVariant(it.value());
    return QString::number(f.type()) + QStringLiteral(",{") + p.join(QLatin1Char(',')) + QLatin1Char('}');
}

QCborValue cborOf(const QString &t) { return QCborValue::fromCbor(parseBytes(t)); }

template <typename T> QVariant var(const T &v);

struct ExtType {
    const char *name;
    int id;
    std::function<QVariant(const QString &)> parse;
    std::function<QString(const QVariant &)> fmt;
};

// An integer type of the text form "decimal".
template <typename T> ExtType intType(const char *name)
{
    return {name, qMetaTypeId<T>(), [](const QString &t) { return var(T(toI64(t))); },
            [](const QVariant &v) { return QString::number(qlonglong(v.value<T>())); }};
}

const QList<ExtType> &extTypes()
{
    static const QList<ExtType> types = {
        {"qchar", QMetaType::QChar, [](const QString &t) { return var(QChar(ushort(toI64(t)))); },
         [](const QVariant &v) { return QString::number(v.toChar().unicode()); }},
        intType<short>("short"), intType<ushort>("ushort"), intType<signed char>("schar"), intType<uchar>("uchar"),
        intType<char>("char"), intType<long>("long"),
        {"nullptr", QMetaType::Nullptr, [](const QString &) { return var(nullptr); }, [](const QVariant &) { return QStringLiteral("0"); }},
        {"url", QMetaType::QUrl, [](const QString &t) { return var(QUrl::fromEncoded(parseBytes(t))); },
         [](const QVariant &v) { return v.toUrl().isValid() ? fmtBytes(v.toUrl().toEncoded()) : QStringLiteral("null"); }},
        {"locale", QMetaType::QLocale, [](const QString &t) { return var(QLocale(parseStr(t))); },
         [](const QVariant &v) { return fmtStr(v.toLocale().name()); }},
        {"pointf", QMetaType::QPointF, [](const QString &t) { auto d = f64s(t, 2); return var(QPointF(d[0], d[1])); },
         [](const QVariant &v) { QPointF p = v.toPointF(); return joinF64({p.x(), p.y()}); }},
        {"sizef", QMetaType::QSizeF, [](const QString &t) { auto d = f64s(t, 2); return var(QSizeF(d[0], d[1])); },
         [](const QVariant &v) { QSizeF p = v.toSizeF(); return joinF64({p.width(), p.height()}); }},
        {"rectf", QMetaType::QRectF, [](const QString &t) { auto d = f64s(t, 4); return var(QRectF(d[0], d[1], d[2], d[3])); },
         [](const QVariant &v) { QRectF p = v.toRectF(); return joinF64({p.x(), p.y(), p.width(), p.height()}); }},
        {"line", QMetaType::QLine, [](const QString &t) { auto n = parseInts(t, 4); return var(QLine(n[0], n[1], n[2], n[3])); },
         [](const QVariant &v) { QLine l = v.toLine(); return joinInts({l.x1(), l.y1(), l.x2(), l.y2()}); }},
        {"linef", QMetaType::QLineF, [](const QString &t) { auto d = f64s(t, 4); return var(QLineF(d[0], d[1], d[2], d[3])); },
         [](const QVariant &v) { QLineF l = v.toLineF(); return joinF64({l.x1(), l.y1(), l.x2(), l.y2()}); }},
        {"regexp", QMetaType::QRegularExpression,
         [](const QString &t) {
             QStringList f = t.split(QLatin1Char(','));
             return var(QRegularExpression(parseStr(f.value(0)), QRegularExpression::PatternOptions(int(toI64(f.value(1))))));
         },
         [](const QVariant &v) {
             QRegularExpression re = v.toRegularExpression();
             return fmtStr(re.pattern()) + QLatin1Char(',') + QString::number(int(re.patternOptions()));
         }},
        {"bitarray", QMetaType::QBitArray,
         [](const QString &t) {
             QStringList f = t.split(QLatin1Char(','));
             int n = int(toI64(f.value(0)));
             return var(QBitArray::fromBits(parseBytes(f.value(1)).constData(), n));
         },
         [](const QVariant &v) { return fmtBitArray(v.toBitArray()); }},
        {"bal", QMetaType::QByteArrayList,
         [](const QString &t) {
             QByteArrayList l;
             for (const QString &e : splitTop(inner(t, '[', ']')))
                 l << parseBytes(e);
             return var(l);
         },
         [](const QVariant &v) {
             QStringList p;
             for (const QByteArray &b : v.value<QByteArrayList>())
                 p << fmtBytes(b);
             return QStringLiteral("[") + p.join(QLatin1Char(',')) + QStringLiteral("]");
         }},
        {"jsonval", QMetaType::QJsonValue, [](const QString &t) { return var(parseJsonValue(t)); },
         [](const QVariant &v) { return fmtJsonValue(v.toJsonValue()); }},
        {"jsonobj", QMetaType::QJsonObject, [](const QString &t) { return var(parseJson(t).object()); },
         [](const QVariant &v) { return fmtJson(QJsonDocument(v.toJsonObject())); }},
        {"jsonarr", QMetaType::QJsonArray, [](const QString &t) { return var(parseJson(t).array()); },
         [](const QVariant &v) { return fmtJson(QJsonDocument(v.toJsonArray())); }},
        {"jsondoc", QMetaType::QJsonDocument, [](const QString &t) { return var(t == QLatin1String("null") ? QJsonDocument() : parseJson(t)); },
         [](const QVariant &v) { return fmtJson(v.toJsonDocument()); }},
        {"cbor", QMetaType::QCborValue, [](const QString &t) { return var(QCborValue::fromCbor(parseBytes(t))); },
         [](const QVariant &v) { return fmtBytes(v.value<QCborValue>().toCbor()); }},
        {"color", QMetaType::QColor, [](const QString &t) { return var(parseColor(t)); },
         [](const QVariant &v) { return fmtColor(v.value<QColor>()); }},
        {"brush", QMetaType::QBrush, [](const QString &t) { return var(parseBrush(t)); },
         [](const QVariant &v) { return fmtBrush(v.value<QBrush>()); }},
        {"pen", QMetaType::QPen, [](const QString &t) { return var(parsePen(t)); }, [](const QVariant &v) { return fmtPen(v.value<QPen>()); }},
        {"font", QMetaType::QFont, [](const QString &t) { return var(parseFont(t)); }, [](const QVariant &v) { return fmtFont(v.value<QFont>()); }},
        {"palette", QMetaType::QPalette, [](const QString &t) { return var(parsePalette(t)); },
         [](const QVariant &v) { return fmtPalette(v.value<QPalette>()); }},
        {"keyseq", QMetaType::QKeySequence, [](const QString &t) { return var(parseKeys(t)); },
         [](const QVariant &v) { return fmtKeys(v.value<QKeySequence>()); }},
        {"region", QMetaType::QRegion, [](const QString &t) { return var(parseRegion(t)); },
         [](const QVariant &v) { return fmtRegion(v.value<QRegion>()); }},
        {"cursor", QMetaType::QCursor, [](const QString &t) { return var(parseCursor(t)); },
         [](const QVariant &v) { return fmtCursor(v.value<QCursor>()); }},
        {"textlen", QMetaType::QTextLength,
         [](const QString &t) {
             QStringList f = t.split(QLatin1Char(','));
             return var(QTextLength(QTextLength::Type(toI64(f.value(0))), parseF64(f.value(1))));
         },
         [](const QVariant &v) {
             QTextLength l = v.value<QTextLength>();
             return QString::number(int(l.type())) + QLatin1Char(',') + fmtF64(l.rawValue());
         }},
        {"transform", QMetaType::QTransform,
         [](const QString &t) { auto d = f64s(t, 9); return var(QTransform(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8])); },
         [](const QVariant &v) {
             QTransform m = v.value<QTransform>();
             return joinF64({m.m11(), m.m12(), m.m13(), m.m21(), m.m22(), m.m23(), m.m31(), m.m32(), m.m33()});
         }},
        {"m4x4", QMetaType::QMatrix4x4, [](const QString &t) { auto f = f32s(t, 16); std::vector<float> a(f.begin(), f.end()); return var(QMatrix4x4(a.data())); },
         [](const QVariant &v) {
             QMatrix4x4 m = v.value<QMatrix4x4>();
             QList<float> f;
             for (int r = 0; r < 4; ++r)
                 for (int c = 0; c < 4; ++c)
                     f << m(r, c);
             return joinF32(f);
         }},
        {"vec2", QMetaType::QVector2D, [](const QString &t) { auto f = f32s(t, 2); return var(QVector2D(f[0], f[1])); },
         [](const QVariant &v) { QVector2D x = v.value<QVector2D>(); return joinF32({x.x(), x.y()}); }},
        {"vec3", QMetaType::QVector3D, [](const QString &t) { auto f = f32s(t, 3); return var(QVector3D(f[0], f[1], f[2])); },
         [](const QVariant &v) { QVector3D x = v.value<QVector3D>(); return joinF32({x.x(), x.y(), x.z()}); }},
        {"vec4", QMetaType::QVector4D, [](const QString &t) { auto f = f32s(t, 4); return var(QVector4D(f[0], f[1], f[2], f[3])); },
         [](const QVariant &v) { QVector4D x = v.value<QVector4D>(); return joinF32({x.x(), x.y(), x.z(), x.w()}); }},
        {"quat", QMetaType::QQuaternion, [](const QString &t) { auto f = f32s(t, 4); return var(QQuaternion(f[0], f[1], f[2], f[3])); },
         [](const QVariant &v) { QQuaternion x = v.value<QQuaternion>(); return joinF32({x.scalar(), x.x(), x.y(), x.z()}); }},
        {"polygon", QMetaType::QPolygon,
         [](const QString &t) {
             QPolygon p;
             QStringList f = t.split(QLatin1Char(','), Qt::SkipEmptyParts);
             for (int i = 0; i + 1 < f.size(); i += 2)
                 p << QPoint(int(toI64(f[i])), int(toI64(f[i + 1])));
             return var(p);
         },
         [](const QVariant &v) {
             QList<int> n;
             for (const QPoint &p : v.value<QPolygon>())
                 n << p.x() << p.y();
             return joinInts(n);
         }},
        {"polygonf", QMetaType::QPolygonF,
         [](const QString &t) {
             QPolygonF p;
             QList<double> d = t.isEmpty() ? QList<double>() : f64s(t, -1);
             for (int i = 0; i + 1 < d.size(); i += 2)
                 p << QPointF(d[i], d[i + 1]);
             return var(p);
         },
         [](const QVariant &v) {
             QStringList n;
             for (const QPointF &p : v.value<QPolygonF>())
                 n << joinF64({p.x(), p.y()});
             return n.join(QLatin1Char(','));
         }},
        {"easing", QMetaType::QEasingCurve, [](const QString &t) { return var(parseEasing(t)); },
         [](const QVariant &v) { return fmtEasing(v.toEasingCurve()); }},
        {"cbst", QMetaType::QCborSimpleType, [](const QString &t) { return var(QCborSimpleType(toI64(t))); },
         [](const QVariant &v) { return QString::number(int(v.value<QCborSimpleType>())); }},
        {"cborarr", QMetaType::QCborArray, [](const QString &t) { return var(cborOf(t).toArray()); },
         [](const QVariant &v) { return fmtBytes(QCborValue(v.value<QCborArray>()).toCbor()); }},
        {"cbormap", QMetaType::QCborMap, [](const QString &t) { return var(cborOf(t).toMap()); },
         [](const QVariant &v) { return fmtBytes(QCborValue(v.value<QCborMap>()).toCbor()); }},
        {"bitmap", QMetaType::QBitmap, [](const QString &t) { return var(parseBitmap(t)); },
         [](const QVariant &v) { return fmtImage(v.value<QBitmap>().toImage()); }},
        {"colorspace", QMetaType::QColorSpace, [](const QString &t) { return var(QColorSpace::fromIccProfile(parseBytes(t))); },
         [](const QVariant &v) { return fmtBytes(v.value<QColorSpace>().iccProfile()); }},
        {"textformat", QMetaType::QTextFormat, [](const QString &t) { return var(parseTextFormat(t)); },
         [](const QVariant &v) { return fmtTextFormat(v.value<QTextFormat>()); }},
#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
        {"char16", QMetaType::Char16, [](const QString &t) { return var(char16_t(toI64(t))); },
         [](const QVariant &v) { return QString::number(int(v.value<char16_t>())); }},
        {"char32", QMetaType::Char32, [](const QString &t) { return var(char32_t(toI64(t))); },
         [](const QVariant &v) { return QString::number(qlonglong(v.value<char32_t>())); }},
        // qfloat16: TypeFloat16 where Qt has it, else a user type.
        {qMetaTypeId<qfloat16>() < QMetaType::User ? "float16" : "qfloat16", qMetaTypeId<qfloat16>(), [](const QString &t) {
             quint16 b = quint16(hexBits(t));
             qfloat16 h;
             std::memcpy(static_cast<void *>(&h), &b, 2);
             return var(h);
         },
         [](const QVariant &v) {
             qfloat16 h = v.value<qfloat16>();
             quint16 b;
             std::memcpy(&b, &h, 2);
             return QStringLiteral("%1").arg(b, 4, 16, QLatin1Char('0'));
         }},
        {"pair", QMetaType::QVariantPair,
         [](const QString &t) {
             QStringList f = splitTop(inner(t, '[', ']'));
             if (f.size() != 2)
                 bad(QStringLiteral("bad pair ") + t);
             return var(QVariantPair(parseVariant(f[0]), parseVariant(f[1])));
         },
         [](const QVariant &v) {
             QVariantPair p = v.value<QVariantPair>();
             return QStringLiteral("[") + fmtVariant(p.first) + QLatin1Char(',') + fmtVariant(p.second) + QLatin1Char(']');
         }},
#endif
        {"vnum", qMetaTypeId<QVersionNumber>(),
         [](const QString &t) {
             QVector<int> n;
             for (const QString &e : t.split(QLatin1Char(',')))
                 n << int(toI64(e));
             return var(QVersionNumber(n));
         },
         [](const QVariant &v) {
             QList<int> n;
             for (int x : v.value<QVersionNumber>().segments())
                 n << x;
             return joinInts(n);
         }},
        {"mystruct", qMetaTypeId<MyStruct>(),
         [](const QString &t) {
             QStringList f = t.split(QLatin1Char(','));
             return var(MyStruct{qint32(toI64(f.value(0))), parseStr(f.value(1))});
         },
         [](const QVariant &v) { MyStruct m = v.value<MyStruct>(); return QString::number(m.n) + QLatin1Char(',') + fmtStr(m.s); }},
    };
    return types;
}

const ExtType *extByName(const QString &name)
{
    for (const ExtType &e : extTypes())
        if (name == QLatin1String(e.name))
            return &e;
    return nullptr;
}

const ExtType *extById(int id)
{
    for (const ExtType &e : extTypes())
        if (e.id == id)
            return &e;
    return nullptr;
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
    if (const ExtType *e = extByName(name))
        return e->id;
    bad(QStringLiteral("unknown variant type ") + name);
}

const char *typeName(int id)
{
    for (const VType &v : vtypes)
        if (v.id == id)
            return v.name;
    if (const ExtType *e = extById(id))
        return e->name;
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
    if (const ExtType *e = extByName(name))
        return e->parse(v);
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
    case Qt::TimeZone: {
        QTimeZone z = d.timeZone();
        if (QTimeZone::isTimeZoneIdAvailable(z.id()))
            return s + QStringLiteral("tz:") + QString::fromLatin1(z.id());
        return s + QStringLiteral("cz:%1:%2:%3:%4:%5:%6")
                       .arg(fmtStr(QString::fromUtf8(z.id())))
                       .arg(z.offsetFromUtc(d))
                       .arg(fmtStr(z.displayName(QTimeZone::GenericTime, QTimeZone::LongName)), fmtStr(z.abbreviation(d)))
                       .arg(int(z.country()))
                       .arg(fmtStr(z.comment()));
    }
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
    if (const ExtType *e = extById(v.userType()))
        return p + e->fmt(v);
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

// publish NAME VERSION: what a Qt application's settings in shared
// memory look like, for the tests of `qipc cat --qdatastream`: a
// QVariantMap of mixed types streamed at VERSION into QSharedMemory(NAME).
// Prints "ok size=N", then holds the segment until stdin ends.
int publish(const QString &name, int version)
{
    QVariantMap m;
    m.insert(QStringLiteral("name"), QStringLiteral("frame"));
    m.insert(QStringLiteral("count"), 42);
    m.insert(QStringLiteral("ratio"), 0.5);
    m.insert(QStringLiteral("color"), QColor(1, 2, 3));
    m.insert(QStringLiteral("pos"), QPointF(1.5, -2));
    m.insert(QStringLiteral("url"), QUrl(QStringLiteral("https://example.org/a")));
    m.insert(QStringLiteral("tags"), QStringList{QStringLiteral("a"), QStringLiteral("b")});
    m.insert(QStringLiteral("char"), QChar(0x263a));
    m.insert(QStringLiteral("bits"), QBitArray(3, true));
    m.insert(QStringLiteral("json"), QJsonDocument::fromJson("{\"k\":[1,2]}"));
    m.insert(QStringLiteral("when"), QDateTime(QDate(2024, 2, 29), QTime(13, 14, 15), Qt::UTC));
    m.insert(QStringLiteral("list"), QVariantList{1, QStringLiteral("x")});
    m.insert(QStringLiteral("font"), QFont(QStringLiteral("Sans"), 12));
    QByteArray b;
    QDataStream out(&b, QIODevice::WriteOnly);
    out.setVersion(version);
    out << QVariant(m);
    QSharedMemory shm(name);
    if (!shm.create(int(b.size()))) {
        std::printf("err %s\n", shm.errorString().toUtf8().constData());
        return 1;
    }
    shm.lock();
    std::memcpy(shm.data(), b.constData(), size_t(b.size()));
    shm.unlock();
    std::printf("ok size=%d\n", int(b.size()));
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    qRegisterMetaType<MyStruct>("MyStruct");
#if QT_VERSION < QT_VERSION_CHECK(6, 0, 0)
    qRegisterMetaTypeStreamOperators<MyStruct>("MyStruct");
#endif
    if (argc == 4 && std::strcmp(argv[1], "publish") == 0)
        return publish(QString::fromLocal8Bit(argv[2]), std::atoi(argv[3]));
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
