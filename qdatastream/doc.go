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
