//go:build windows

package qipc

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// osError maps a GetLastError() code to Qt's error kind the way Qt's
// QSharedMemoryPrivate::setWindowsErrorString and
// QSystemSemaphorePrivate::setWindowsErrorString do; the semaphore mapper
// knows fewer codes, and op says which class is reporting.
func osError(c qtClass, op string, k Key, code syscall.Errno) *Error {
	sem := c == semClass
	kind := UnknownError
	switch code {
	case windows.ERROR_ALREADY_EXISTS:
		if !sem {
			kind = AlreadyExists
		}
	case windows.ERROR_FILE_NOT_FOUND:
		if !sem {
			kind = NotFound
		}
	case windows.ERROR_COMMITMENT_LIMIT:
		if !sem {
			kind = InvalidSize
		}
	case windows.ERROR_NO_SYSTEM_RESOURCES, windows.ERROR_NOT_ENOUGH_MEMORY:
		kind = OutOfResources
	case windows.ERROR_ACCESS_DENIED:
		kind = PermissionDenied
	}
	return &Error{QtOp: op, Key: k, Kind: kind, Err: code, class: c}
}

// unknownErrorText renders a Win32 code as Qt 6's qt_error_string does on
// Windows (FormatMessageW, system table, LANG_NEUTRAL/SUBLANG_DEFAULT, a
// trailing "\r\n" cut, "Unknown error 0x%08x." when the system has no text),
// for Qt's "unknown error: <text>". Qt does not pass
// FORMAT_MESSAGE_IGNORE_INSERTS; this does, so that messages with inserts
// cannot make FormatMessage read arguments that do not exist.
func unknownErrorText(err error) string {
	var code syscall.Errno
	if !errors.As(err, &code) {
		return err.Error()
	}
	const langNeutralSublangDefault = 0x0400 // MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT)
	for size := 512; size <= 1<<16; size *= 4 {
		buf := make([]uint16, size)
		n, ferr := windows.FormatMessage(windows.FORMAT_MESSAGE_FROM_SYSTEM|windows.FORMAT_MESSAGE_IGNORE_INSERTS, 0,
			uint32(code), langNeutralSublangDefault, buf, nil)
		if ferr == windows.ERROR_INSUFFICIENT_BUFFER {
			continue
		}
		if ferr != nil || n == 0 {
			break
		}
		s := strings.TrimSuffix(windows.UTF16ToString(buf[:n]), "\r\n")
		if s != "" {
			return s
		}
		break
	}
	if code == 126 { // ERROR_MOD_NOT_FOUND
		return "The specified module could not be found."
	}
	return fmt.Sprintf("Unknown error 0x%08x.", uint32(code))
}
