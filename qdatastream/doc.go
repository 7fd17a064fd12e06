// Package qdatastream reads and writes Qt's QDataStream binary format,
// the bytes a Qt program makes with
//
//	QDataStream out(&buffer);
//	out << QString("frame") << pixmap;
//
// and puts into shared memory, a file or a socket. It is pure Go: a
// Writer on an io.Writer and a Reader on an io.Reader, each for one
// stream version (Qt_5_0 … Qt_6_12), with Qt's big-endian default or
// little-endian byte order and Qt's floating-point precision setting.
//
// Types map as follows (see the Type constants for QVariant):
//
//	qint8 … quint64, bool      Int8 … Uint64, Bool
//	float, double              Float32, Float64 (both follow the precision:
//	                           by default a float takes 8 bytes, as in Qt)
//	QString                    QString, NullQString, QStringOrNull (UTF-8 in
//	                           Go, lone surrogates in WTF-8)
//	QByteArray                 Bytes ([]byte; nil is a null QByteArray)
//	QStringList, QList<T>      StringList, WriteList, ReadList
//	QMap, QHash, QMulti…       WriteMap, WriteMultiMap, WritePairs, ReadMap,
//	                           ReadPairs
//	QVariant                   Variant
//	QDateTime                  DateTime (Julian day, msecs, spec; DateTimeOf
//	                           and DateTime.Time convert with time.Time)
//	QUuid, QPoint, QSize, QRect UUID, Point, Size, Rect
//	QImage, QPixmap            Image (image.Image; a PNG inside)
//
// Issue 26 added the other built-in types of QtCore and QtGui that Qt
// streams, each with a Reader and a Writer method and a Type for
// QVariant; the Type constants list their Go types. Each is checked byte
// for byte both ways in a QVariant (Qt writes what Go writes; Qt reads
// Go's bytes as the case says and writes them back as Go does) against
// the peers of peers/qdatastream: qt5 = Qt 5.15 (stream versions up to
// 19), qt6 = Qt 6.4 (up to 20), py = PySide6 6.12 (up to 24). Every
// case runs at Qt_5_0, Qt_5_15, Qt_6_0, Qt_6_7 and the peer's newest
// version (those its Qt knows), and at the versions where its encoding
// changed, big- and little-endian; those holding floating point also
// under single precision. The counts are the checks that passed per peer
// (each case is two); "r" marks PySide6 checks of reading alone, for the
// types no Python object becomes (Qt 6.12 reads Go's bytes as the case
// says, but PySide6 can neither write the type nor write it back); "-"
// none:
//
//	type                                 changed at           qt5 qt6  py
//	short ushort char schar uchar long   -                      8  12 10r  each
//	uint qulonglong, float               -                      8  12  8r, 12 16 10r
//	QChar, std::nullptr_t                - (null flag: major)   8  12 10r  each
//	char16_t char32_t QVariantPair       Qt 6 only              -   4  6r  each
//	qfloat16, id 63 (Qt 6.12)            Qt 6 only              -   -  6r
//	qfloat16, user type (Qt 6.4)         Qt 6 only              -   4   -
//	QUrl (and a null one)                -                     16  24  40
//	QLocale QRegularExpression QLine     -                      8  12  20  each
//	QPointF QSizeF QRectF QLineF         -                     16  24  40  each
//	QPolygon, QPolygonF                  -                      8  12  20, 16 24 40
//	QBitArray                            64-bit size Qt_6_0     8  12  20
//	QByteArrayList, QJsonObject          -                      8  12 10r  each
//	QJsonValue (5 kinds)                 -                     80 120 200
//	QJsonArray, QJsonDocument (+ null)   -                      8  12  20, 16 24 40
//	QCborValue/Array/Map/SimpleType      -                      8  12  20  each
//	QEasingCurve (see below)             spline points Qt_5_13 12  16  64
//	QColor (5 specs, invalid)            -                     48  72 120
//	QBrush (solid, linear, radial,       radial focal radius   80 120 200
//	  conical, texture)                    Qt_6_0
//	QPen                                 -                     16  24  40
//	QFont                                Qt_5_4 Qt_5_6 Qt_5_13 32  40  92
//	                                       Qt_6_0, features
//	                                       Qt_6_6, axes Qt_6_7
//	QPalette                             21 roles Qt_5_12,     20  28  52
//	                                       22 (Accent) Qt_6_6
//	QKeySequence (1 and 4 keys)          -                     16  24  40
//	QRegion QBitmap QColorSpace          -                      8  12  20  each
//	QCursor (shape, bitmap, pixmap)      -                     24  36  60
//	QTextLength QTransform               -                     16  24  40  each
//	QTextFormat                          ids Qt_6_0 (below)    16  24  40
//	QMatrix4x4 QVector2D/3D/4D           -                     16  24  40  each
//	  QQuaternion
//	QVersionNumber (a user type)         Qt 6 only              -   4  12
//	user types (WithUserType, MyStruct)  id 1024 before Qt_6_0  8  12   -
//	QDateTime with a custom QTimeZone    -                      8  12  16
//	QImage kept ARGB32 when opaque       -                      8   8   8
//
// QVariants of every type, and QVariant(), QVariantList/Map/Hash and the
// core types, run the same way (QIPC_QDS_TYPES=1 go test -v -run
// TestQtPeers lists what each peer checked of each type).
//
// The encodings of Qt_6_6 and later (QFont's features and axes,
// QPalette's 22nd role) are checked against py alone, the one peer whose
// Qt has them; the other types are the same at Qt_6_7 and Qt_6_11 as at
// Qt_6_0.
//
// What the peers do not show: Qt 6.12 writing, or writing back, the
// types of the "r" rows, which qt5 and qt6 check both ways (but for
// qfloat16's id 63, which Qt 6.4 does not have); at stream versions 21
// to 24 those are checked by Qt 6.12 reading Go's bytes alone. MyStruct,
// a C++ type of the C++ peer, has no PySide6 counterpart. Qt 5.15 and
// 6.4 stream the address of the function of a QEasingCurve without
// parameters (Linear, OutQuad, ...), which no other process can
// reproduce: such curves are checked against Qt 6.12 alone, which
// streams 0. Qt 6 renumbers four QTextFormat properties in streams
// before Qt_6_0 and drops the font features and axes before Qt_6_11
// (TextFormat keeps the stream's ids; the cases use ids neither touches).
// A stream's 64-bit sizes from Qt_6_7 need containers of 2^32 elements,
// which no case builds.
//
// Not supported, with ErrUnsupported naming the reason: QIcon (its stream
// depends on the icon engine), QSizePolicy (QtWidgets), QModelIndex,
// QPersistentModelIndex, void* and QObject* (Qt does not stream them),
// Qt 5's QRegExp and QMatrix.
//
// Limits: WithLimit bounds the memory the values read from one Reader take
// (strings, lists, maps, QVariants, PNG files and their decoded pixels),
// and so what it allocates to about twice the limit; ResetLimit starts the
// count again between messages. Errors give the byte offset and the
// values being read (Reader.Offset).
//
// A stream written by Qt 6 at a Qt 5 version orders QMap keys as Qt 6
// does: write such streams with WithQtMajor(6) to reproduce its bytes.
//
// Both sides keep Qt's sticky status: after the first error every call
// does nothing and Err returns it. Reading never panics and never
// allocates far beyond what arrived or the limit (WithLimit), whatever
// the lengths in the input say.
//
// A stream holds no type information outside QVariant: read values in
// the order and with the types the writing program used, and with its
// version (QDataStream::setVersion; Qt's default is its own newest).
//
// Example: what `out << QString("hi") << image` writes, with out set to
// Qt 5.15's format:
//
//	var buf bytes.Buffer
//	w := qdatastream.NewWriter(&buf, qdatastream.Qt_5_15)
//	w.QString("hi")
//	w.Image(img)
//	if err := w.Err(); err != nil { … }
//
// and reading it back:
//
//	r := qdatastream.NewReader(&buf, qdatastream.Qt_5_15)
//	s, img := r.QString(), r.Image()
//	if err := r.Err(); err != nil { … }
//
// Where the format allows more than one encoding, a Writer writes what Qt
// writes: QMap in the key order of the Qt major version (WithQtMajor),
// QHash in that order too (Qt's own depends on a per-process seed), a
// QDateTime at offset 0 as UTC, a QVariant() with its null flag set.
package qdatastream
