// The name of a QSharedMemory error kind, as the peers print it ("err <Kind> ...", ../PROTOCOL.md).
#ifndef QIPC_PEERS_ERRORNAME_H
#define QIPC_PEERS_ERRORNAME_H

#include <QtCore/QSharedMemory>

inline const char *shmErrorName(QSharedMemory::SharedMemoryError e)
{
    switch (e) {
    case QSharedMemory::NoError: return "NoError";
    case QSharedMemory::PermissionDenied: return "PermissionDenied";
    case QSharedMemory::InvalidSize: return "InvalidSize";
    case QSharedMemory::KeyError: return "KeyError";
    case QSharedMemory::AlreadyExists: return "AlreadyExists";
    case QSharedMemory::NotFound: return "NotFound";
    case QSharedMemory::LockError: return "LockError";
    case QSharedMemory::OutOfResources: return "OutOfResources";
    case QSharedMemory::UnknownError: return "UnknownError";
    }
    return "UnknownError";
}

#endif
