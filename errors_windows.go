//go:build windows

package qipc

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Win32 error codes Qt's Windows mappers distinguish.
const (
	errorFileNotFound      syscall.Errno = 2    // ERROR_FILE_NOT_FOUND
	errorAccessDenied      syscall.Errno = 5    // ERROR_ACCESS_DENIED
	errorNotEnoughMemory   syscall.Errno = 8    // ERROR_NOT_ENOUGH_MEMORY
	errorAlreadyExists     syscall.Errno = 183  // ERROR_ALREADY_EXISTS
	errorCommitmentLimit   syscall.Errno = 1455 // ERROR_COMMITMENT_LIMIT
	errorNoSystemResources syscall.Errno = 1450 // ERROR_NO_SYSTEM_RESOURCES
)

// osError maps a GetLastError() code to Qt's error kind the way Qt's
// QSharedMemoryPrivate::setWindowsErrorString and
// QSystemSemaphorePrivate::setWindowsErrorString do; the semaphore mapper
// knows fewer codes, and op says which class is reporting.
func osError(op string, k Key, code syscall.Errno) *Error {
	sem := strings.HasPrefix(op, "QSystemSemaphore")
	kind := UnknownError
	switch code {
	case errorAlreadyExists:
		if !sem {
			kind = AlreadyExists
		}
	case errorFileNotFound:
		if !sem {
			kind = NotFound
		}
	case errorCommitmentLimit:
		if !sem {
			kind = InvalidSize
		}
	case errorNoSystemResources, errorNotEnoughMemory:
		kind = OutOfResources
	case errorAccessDenied:
		kind = PermissionDenied
	}
	return &Error{Op: op, Key: k, Kind: kind, Err: code}
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
	const (
		formatMessageIgnoreInserts = 0x00000200
		formatMessageFromSystem    = 0x00001000
		langNeutralSublangDefault  = 0x0400 // MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT)
	)
	for size := 512; size <= 1<<16; size *= 4 {
		buf := make([]uint16, size)
		n, ferr := syscall.FormatMessage(formatMessageFromSystem|formatMessageIgnoreInserts, 0,
			uint32(code), langNeutralSublangDefault, buf, nil)
		if ferr == syscall.ERROR_INSUFFICIENT_BUFFER {
			continue
		}
		if ferr != nil || n == 0 {
			break
		}
		s := strings.TrimSuffix(syscall.UTF16ToString(buf[:n]), "\r\n")
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
