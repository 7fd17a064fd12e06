"""seed: the program qipc was founded on, for Qt 6.6+ (PySide6): see seed.cpp, whose commands and lines it repeats.

    python3 seed.py save NAME IMAGE
    python3 seed.py load NAME OUT
"""
import os
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import QBuffer, QByteArray, QDataStream, QIODevice, QSharedMemory  # noqa: E402
from PySide6.QtGui import QGuiApplication, QPixmap  # noqa: E402


def out(line):
    print(line, flush=True)


def fail(shm):
    out("err %s %s" % (shm.error().name, shm.errorString()))
    return 1


def main(argv):
    if len(argv) != 4 or argv[1] not in ("save", "load"):
        print("usage: seed.py save NAME IMAGE | seed.py load NAME OUT", file=sys.stderr)
        return 2
    app = QGuiApplication(argv[:1])  # QPixmap needs one
    shm = QSharedMemory(argv[2])
    if argv[1] == "save":
        pixmap = QPixmap(argv[3])
        if pixmap.isNull():
            out("err UnknownError seed: cannot read image " + argv[3])
            return 1
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.ReadWrite)
        stream = QDataStream(buffer)
        stream << pixmap
        data = bytes(buffer.data())
        if not shm.create(len(data)):
            return fail(shm)
        shm.lock()
        mem = shm.data()
        mem[: len(data)] = data
        shm.unlock()
        out("ok size=%d" % len(data))
        for _ in sys.stdin:
            pass
        shm.detach()
        return 0
    if not shm.attach():
        return fail(shm)
    shm.lock()
    buffer = QBuffer()
    buffer.setData(QByteArray(bytes(shm.constData())))
    buffer.open(QIODevice.OpenModeFlag.ReadWrite)
    stream = QDataStream(buffer)
    pixmap = QPixmap()
    stream >> pixmap
    shm.unlock()
    shm.detach()
    if pixmap.isNull() or not pixmap.save(argv[3], "PNG"):
        out("err UnknownError seed: no image in the segment, or cannot write " + argv[3])
        return 1
    out("ok %dx%d" % (pixmap.width(), pixmap.height()))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
