//go:build cgo && windows

package qipc

/*
#cgo CFLAGS: -Wall -Wextra -Werror
#cgo LDFLAGS: -ladvapi32
#include "cgo_windows.h"
*/
import "C"

import (
	"errors"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// windowsBackend serves Windows keys with named file mappings
// (CreateFileMappingW / OpenFileMappingW / MapViewOfFile) and named
// semaphores (CreateSemaphoreW), as Qt's qsharedmemory_win.cpp and
// qsystemsemaphore_win.cpp do.
//
// Windows differs from the Unix backends in ways Qt shares:
//   - the kernel destroys a mapping or semaphore when its last handle
//     closes, so nothing is ever removed (removeSegment, removeSemaphore and
//     remove do nothing) and objects do not outlive a crashed process;
//   - mappings are created with default security (the permission option is
//     ignored), and attach opens them with FILE_MAP_ALL_ACCESS even for a
//     read-only view; the owner SID in an object's descriptor is what the
//     foreign-owner check reads;
//   - a semaphore's Create mode is ignored: an existing semaphore keeps its
//     count, because CreateSemaphoreW cannot reset it;
//   - sizes are whole pages: VirtualQuery reports the view's region size,
//     so Create(1) gives Size() == 4096 to every process;
//   - a process that dies holding a semaphore count (the lock) does not
//     give it back.
type windowsBackend struct{}

var _ = registerBackend(&windowsImpl, windowsBackend{}) // Windows keys

func (windowsBackend) countsAttachments() bool { return true }

func (windowsBackend) followsRemoval() bool { return true }

// lockShadowsSegment: a Windows lock is named "<segment>_sem".
func (windowsBackend) lockShadowsSegment(Key) bool { return false }

// supported: Qt's isKeyTypeSupported(Windows) is true on every Windows.
func (windowsBackend) supported() bool { return true }

// winName converts a native key to the NUL-terminated UTF-16 Win32 wants
// (winUTF16: a lone surrogate left by Qt's cut stays one). Win32 reads a
// name up to its first NUL, so a NUL inside the key ends the name there,
// as it does for Qt's utf16() buffer.
func winName(k Key) *C.uint16_t {
	u := append(winUTF16(k.Native), 0)
	return (*C.uint16_t)(unsafe.Pointer(&u[0]))
}

func (windowsBackend) createSegment(k Key, size int, mode AccessMode, _ uint32) (segment, error) {
	var h C.uintptr_t
	if rc := syscall.Errno(C.qipc_win_shm_create(winName(k), C.uint64_t(uint64(size)), &h)); rc != 0 {
		return nil, shmError("QSharedMemory::create", k, rc)
	}
	return mapWindows(k, h, mode)
}

func (windowsBackend) attachSegment(k Key, mode AccessMode) (segment, error) {
	var h C.uintptr_t
	if rc := syscall.Errno(C.qipc_win_shm_open(winName(k), &h)); rc != 0 {
		return nil, shmError("QSharedMemory::handle", k, rc)
	}
	return mapWindows(k, h, mode)
}

// mapWindows maps the whole mapping h; on failure it closes h, as Qt's
// attach() does.
func mapWindows(k Key, h C.uintptr_t, mode AccessMode) (segment, error) {
	var (
		addr unsafe.Pointer
		size C.uint64_t
		step C.int
	)
	ro := C.int(0)
	if mode == ReadOnly {
		ro = 1
	}
	if rc := syscall.Errno(C.qipc_win_shm_map(h, ro, &addr, &size, &step)); rc != 0 {
		C.qipc_win_close(h)
		if step == C.QIPC_WIN_STEP_QUERY {
			// Qt's literal: "%1: size query failed" with "QSharedMemory::attach: ".
			return nil, &Error{QtOp: "QSharedMemory::attach", Key: k, Kind: UnknownError, Err: rc, text: ": size query failed"}
		}
		return nil, shmError("QSharedMemory::attach", k, rc)
	}
	return &windowsSegment{addr: addr, size: int(size), h: h}, nil
}

// removeSegment has nothing to do: the OS removes a mapping with its last
// handle, and no one can remove it before that. A forced removal (the
// clean-up after a crash) therefore has nothing left to do and succeeds.
func (windowsBackend) removeSegment(Key, bool, segmentID) (bool, error) { return true, nil }

// findSegment: a lock semaphore made by an Attach that then fails goes
// with its handle, so there is nothing to spare by looking first.
func (windowsBackend) findSegment(Key) error { return nil }

// inspectLock: Windows tells nothing of a semaphore without opening it.
func (windowsBackend) inspectLock(Key) (lockFacts, error) { return lockFacts{}, nil }

// inspectSegment maps the segment for a moment to learn its size: Windows
// keeps no record of a mapping but its handles.
func (b windowsBackend) inspectSegment(k Key) (segmentFacts, error) {
	seg, err := b.attachSegment(k, ReadOnly)
	if errors.Is(err, ErrNotFound) {
		return segmentFacts{}, nil
	}
	if err != nil {
		return segmentFacts{}, err
	}
	f := segmentFacts{found: true, size: int64(len(seg.bytes())), uid: -1, handles: true}
	_, err = seg.detach(false, false)
	return f, err
}

type windowsSegment struct {
	addr unsafe.Pointer
	size int
	h    C.uintptr_t
}

func (s *windowsSegment) bytes() []byte { return unsafe.Slice((*byte)(s.addr), s.size) }

// identity: Windows removes a mapping with its last handle; nothing is
// removed by name that would need telling one from another.
func (s *windowsSegment) identity() segmentID { return segmentID{} }

func (s *windowsSegment) owners() []owner { return winOwners("segment", s.h) }

// shrunk: a file mapping keeps its size while a handle holds it.
func (s *windowsSegment) shrunk() bool { return false }

// winOwners reads the owner SID from the object's security descriptor.
// The handles this backend opens carry READ_CONTROL, so a descriptor that
// cannot be read is not trusted. Wine names no owner for objects made with
// default security: those have none to check.
func winOwners(what string, h C.uintptr_t) []owner {
	var buf [256]C.char
	if rc := syscall.Errno(C.qipc_win_owner(h, &buf[0], C.int(len(buf)))); rc != 0 {
		return []owner{{what, "an owner that cannot be read (" + rc.Error() + ")"}}
	}
	if buf[0] == 0 {
		return nil
	}
	return []owner{{what, C.GoString(&buf[0])}}
}

// detach is Qt's detach(): UnmapViewOfFile, then CloseHandle. The handle is
// closed even when the unmap fails, since the segment is given up anyway;
// the OS removes the segment with its last handle.
func (s *windowsSegment) detach(bool, bool) (bool, error) {
	var err error
	if rc := syscall.Errno(C.qipc_win_shm_unmap(s.addr)); rc != 0 {
		err = shmError("QSharedMemory::detach", Key{}, rc)
	}
	if rc := syscall.Errno(C.qipc_win_close(s.h)); rc != 0 && err == nil {
		err = shmError("QSharedMemory::cleanHandle", Key{}, rc)
	}
	return false, err
}

// openSemaphore is Qt's handle(): CreateSemaphoreW opens the semaphore or
// creates it with initial. Create mode is ignored, as Qt ignores the mode
// on Windows; created reports that the object did not exist before. An
// observer's (semExisting) opens an existing one only (OpenSemaphoreW).
func (windowsBackend) openSemaphore(k Key, initial int, how semOpen, _ uint32) (semHandle, bool, error) {
	var (
		h       C.uintptr_t
		existed C.int
	)
	if how == semExisting {
		if rc := syscall.Errno(C.qipc_win_sem_open_existing(winName(k), &h)); rc != 0 {
			e := semError("QSystemSemaphore::handle", k, rc)
			if rc == syscall.ERROR_FILE_NOT_FOUND {
				e.Kind = NotFound // Qt's mapper never sees it: its handle() creates
			}
			return nil, false, e
		}
		return &windowsSem{h: h, key: k}, false, nil
	}
	if rc := syscall.Errno(C.qipc_win_sem_open(winName(k), C.int64_t(initial), &h, &existed)); rc != 0 {
		return nil, false, semError("QSystemSemaphore::handle", k, rc)
	}
	return &windowsSem{h: h, key: k}, existed == 0, nil
}

// removeSemaphore has nothing to do: the OS removes a semaphore with its
// last handle.
func (windowsBackend) removeSemaphore(Key) error { return nil }

type windowsSem struct {
	h   C.uintptr_t
	key Key
}

func (w *windowsSem) wait(timeout time.Duration) (bool, error) { return w.waitTimeout(timeout, nil) }

// waitWake waits in one call for as long as it takes: an event ends it
// when the context is done or the object closes, so the waiter keeps its
// place in the semaphore's queue, which a wait in slices gives up at
// every slice (and with it its turn to Qt's waiters, which wait with
// INFINITE).
func (w *windowsSem) waitWake(wk waker) (bool, error) { return w.waitTimeout(-1, wk) }

func (w *windowsSem) waitTimeout(timeout time.Duration, wk waker) (bool, error) {
	ms := int64(-1)
	if timeout >= 0 {
		ms = int64((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	var ev C.uintptr_t
	if e, ok := wk.(*winEvent); ok {
		ev = e.h
	}
	var acquired C.int
	if rc := syscall.Errno(C.qipc_win_sem_wait(w.h, ev, C.int64_t(ms), &acquired)); rc != 0 {
		return false, semError("QSystemSemaphore::modifySemaphore", w.key, rc)
	}
	return acquired != 0, nil
}

func (w *windowsSem) newWaker() (waker, error) {
	e := &winEvent{}
	if rc := syscall.Errno(C.qipc_win_event_new(&e.h)); rc != 0 {
		return nil, semError("QSystemSemaphore::acquire (CreateEventW)", w.key, rc)
	}
	return e, nil
}

// winEvent is an auto-reset event that ends one call's waits. wake may
// come from a context's AfterFunc after the call ended; mu keeps it off a
// closed (and perhaps reused) handle.
type winEvent struct {
	mu sync.Mutex
	h  C.uintptr_t // 0 once closed
}

func (e *winEvent) wake() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h != 0 {
		C.qipc_win_event_set(e.h)
	}
}

func (e *winEvent) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.h
	e.h = 0
	if rc := syscall.Errno(C.qipc_win_close(h)); rc != 0 {
		return rc
	}
	return nil
}

func (w *windowsSem) post(n int) error {
	if rc := syscall.Errno(C.qipc_win_sem_post(w.h, C.int64_t(n))); rc != 0 {
		return semError("QSystemSemaphore::modifySemaphore", w.key, rc)
	}
	return nil
}

// value reads the count with ntdll's NtQuerySemaphore, which Win32 does not
// wrap; where ntdll lacks it the error matches errors.ErrUnsupported.
func (w *windowsSem) value() (int, error) {
	const op = "QSystemSemaphore::value (NtQuerySemaphore)"
	var v C.int32_t
	switch rc := syscall.Errno(C.qipc_win_sem_value(w.h, &v)); rc {
	case 0:
		return int(v), nil
	case syscall.ERROR_PROC_NOT_FOUND:
		return 0, &Error{QtOp: op, Key: w.key, Kind: UnknownError, Err: errors.Join(errors.ErrUnsupported, rc),
			text: "reading the count is not supported"}
	default:
		return 0, semError(op, w.key, rc)
	}
}

// remove has nothing to do on Windows.
func (w *windowsSem) remove() error { return nil }

// removeIfUnused: Windows removes an object with its last handle.
func (w *windowsSem) removeIfUnused() error { return nil }

// unusedElsewhere: Windows removes nothing by name.
func (w *windowsSem) unusedElsewhere() bool { return false }

// stale: a named Windows object lives while any handle is open, so a
// handle always leads to the object its name gives.
func (w *windowsSem) stale() bool { return false }

func (w *windowsSem) owners() []owner { return winOwners("semaphore", w.h) }

func (w *windowsSem) close() error {
	if rc := syscall.Errno(C.qipc_win_close(w.h)); rc != 0 {
		return semError("QSystemSemaphore::cleanHandle", w.key, rc)
	}
	return nil
}
