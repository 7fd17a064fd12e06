package qipc

import "io/fs"

// An Option changes how a SharedMemory or Semaphore creates and cleans up
// the objects it owns.
type Option func(*options)

type options struct {
	cleanup bool
	perm    uint32
}

func buildOptions(opts []Option) options {
	o := options{cleanup: true, perm: 0o600}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithoutCleanup keeps what this object creates after it is closed: the
// segment, its lock semaphore, a semaphore, and their key files stay for
// other processes (Qt 6.6+ documents the same opt-out). Remove them later
// with [RemoveSharedMemory] or [RemoveSemaphore], or `qipc rm`.
func WithoutCleanup() Option { return func(o *options) { o.cleanup = false } }

// WithPermissions sets the permission bits of the objects this object
// creates, instead of Qt's 0600 (owner only). 0o660 lets the owner's group
// attach too; System V key files get the same bits less execute. Only the
// permission bits of perm are used.
func WithPermissions(perm fs.FileMode) Option {
	return func(o *options) { o.perm = uint32(perm.Perm()) }
}

func fsMode(perm uint32) fs.FileMode { return fs.FileMode(perm) }
