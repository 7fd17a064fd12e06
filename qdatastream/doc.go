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
// QVariant; the Type constants list their Go types. Checked byte for byte
// both ways in QVariant (peers/qdatastream: cases per peer, each at
// Qt_5_0, Qt_5_15, Qt_6_0 and the peer's newest version, big-endian, the
// colour and gradient also little-endian/single precision; qt5 = Qt 5.15,
// qt6 = Qt 6.4, py = PySide6 6.12):
//
//	type                                  versions where it changed   peers
//	short ushort char schar uchar long    -                           qt5 qt6
//	std::nullptr_t                        null flag by Qt major       qt5 qt6
//	QChar QUrl QLocale QRegularExpression -                           qt5 qt6
//	QPointF QSizeF QRectF QLine QLineF    -                           qt5 qt6
//	QBitArray                             64-bit size from Qt_6_0     qt5 qt6
//	QByteArrayList QCborValue             -                           qt5 qt6
//	QJsonValue/Object/Array/Document      -                           qt5 qt6
//	QColor (Rgb Hsv Cmyk Hsl ExtendedRgb, invalid)                    qt5 qt6
//	QBrush (solid, linear gradient)       radial focal radius Qt_6_0  qt5 qt6
//	QPen, QTransform, QRegion, QCursor    -                           qt5 qt6
//	QFont                                 Qt_5_4 Qt_5_6 Qt_5_13 Qt_6_0 qt5 qt6
//	QPalette                              roles: Qt_5_12, Qt_6_6      qt5 qt6
//	QKeySequence QTextLength              -                           qt5 qt6
//	QMatrix4x4 QVector2D/3D/4D QQuaternion -                          qt5 qt6
//	QPolygon QPolygonF                    -                           qt5 qt6
//	QVersionNumber (user type in Qt 6)    -                           qt6
//	user types (WithUserType: MyStruct)   id 1024 before Qt_6_0       qt5 qt6
//	QDateTime with a custom QTimeZone     -                           qt5 qt6 py
//	QImage kept ARGB32 when opaque        -                           qt5 qt6 py
//
// Read and written but not yet checked against a peer: QEasingCurve
// (Qt streams the address of the curve's function, which means nothing
// in another process, so its bytes cannot match), QTextFormat, QBitmap,
// QColorSpace, radial and conical gradients and texture brushes, bitmap
// cursors, char16_t, char32_t, qfloat16, QCborSimpleType/Array/Map,
// QVariantPair (Qt 6 only types). The PySide6 peer does not build the
// new types yet, so their encodings at Qt_6_6 and later (QPalette's
// Accent role, and any QFont change) are Qt's documented layout, unchecked.
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
