// seed: the program qipc was founded on (a Qt tutorial's "Shared" example, after Qt's Shared Memory Example), without
// its window: the two buttons become two commands. Built against Qt 5.15 and Qt 6.4 (QtGui, offscreen).
//
//   seed save NAME IMAGE   QPixmap(IMAGE); QBuffer + QDataStream out << pixmap; QSharedMemory(NAME).create(size);
//                          lock(); memcpy; unlock()           -> "ok size=N", then keeps the segment until stdin EOF
//   seed load NAME OUT     QSharedMemory(NAME).attach(); lock(); QBuffer + QDataStream in >> pixmap; unlock();
//                          detach(); pixmap.save(OUT, "PNG")   -> "ok WxH"
//
// Failure: "err <Kind> <errorString>", exit 1, as the peers of ../PROTOCOL.md.
#include <QtCore/QBuffer>
#include <QtCore/QByteArray>
#include <QtCore/QDataStream>
#include <QtCore/QSharedMemory>
#include <QtCore/QString>
#include <QtGui/QGuiApplication>
#include <QtGui/QPixmap>

#include "../qt/errorname.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

static void out(const std::string &line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

static int fail(const QSharedMemory &shm)
{
    out(std::string("err ") + shmErrorName(shm.error()) + " " + shm.errorString().toStdString());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (std::strcmp(argv[1], "save") != 0 && std::strcmp(argv[1], "load") != 0)) {
        std::fprintf(stderr, "usage: seed save NAME IMAGE | seed load NAME OUT\n");
        return 2;
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv); // QPixmap needs one
    QSharedMemory sharedMemory(QString::fromLocal8Bit(argv[2]));

    if (std::strcmp(argv[1], "save") == 0) {
        QPixmap pixmap(QString::fromLocal8Bit(argv[3]));
        if (pixmap.isNull()) {
            out(std::string("err UnknownError seed: cannot read image ") + argv[3]);
            return 1;
        }
        QBuffer buffer;
        QDataStream outStream(&buffer);
        buffer.open(QBuffer::ReadWrite);
        outStream << pixmap;
        int size = int(buffer.size());
        if (!sharedMemory.create(size))
            return fail(sharedMemory);
        sharedMemory.lock();
        std::memcpy(sharedMemory.data(), buffer.data().constData(), qMin(size, int(sharedMemory.size())));
        sharedMemory.unlock();
        out("ok size=" + std::to_string(size));
        std::string line;
        while (std::getline(std::cin, line)) {
        }
        return 0; // the destructor detaches, as the tutorial's window does when it closes
    }

    if (!sharedMemory.attach())
        return fail(sharedMemory);
    QBuffer buffer;
    QDataStream in(&buffer);
    QPixmap pixmap;
    sharedMemory.lock();
    buffer.setData(static_cast<const char *>(sharedMemory.constData()), int(sharedMemory.size()));
    buffer.open(QBuffer::ReadWrite);
    in >> pixmap;
    sharedMemory.unlock();
    sharedMemory.detach();
    if (pixmap.isNull() || !pixmap.save(QString::fromLocal8Bit(argv[3]), "PNG")) {
        out(std::string("err UnknownError seed: no image in the segment, or cannot write ") + argv[3]);
        return 1;
    }
    out("ok " + std::to_string(pixmap.width()) + "x" + std::to_string(pixmap.height()));
    return 0;
}
