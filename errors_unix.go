//go:build unix

package qipc

import (
	"errors"
	"strings"
	"syscall"
)

// osError maps an errno to Qt's error kind the way Qt's setUnixErrorString
// does; QSystemSemaphore's mapper differs from QSharedMemory's in a few
// errnos (see shmError and semError).
func osError(c qtClass, op string, k Key, errno syscall.Errno) *Error {
	sem := c == semClass
	kind := UnknownError
	switch errno {
	case syscall.EACCES:
		kind = PermissionDenied
	case syscall.EPERM:
		if sem {
			kind = PermissionDenied
		}
	case syscall.EEXIST:
		kind = AlreadyExists
	case syscall.ENOENT:
		kind = NotFound
	case syscall.EMFILE, syscall.ENOSPC:
		kind = OutOfResources
	case syscall.ENOMEM:
		if !sem {
			kind = OutOfResources
		}
	case syscall.ERANGE:
		if sem {
			kind = OutOfResources
		}
	case syscall.ENAMETOOLONG:
		if sem {
			kind = KeyError
		}
	}
	return &Error{QtOp: op, Key: k, Kind: kind, Err: errno, class: c}
}

// unknownErrorText renders an errno as glibc's strerror does (Go's table
// has the same words in lower case), for Qt's "unknown error: <text>".
func unknownErrorText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}
