//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd)

package qipc

import (
	"sync"
	"time"
)

// stopper is what a wait that no event can end offers instead (System V's
// semop, glibc's futex): stop asks the wait to end and reports whether it
// may still run; free releases it once its call has ended.
type stopper interface {
	stop() (running bool)
	free()
}

// repeatingWaker is the waker of a stopper. A stop that comes just before
// the wait blocks is lost, so wake repeats it, in a goroutine, until the
// wait has ended; mu keeps that goroutine and a late wake off a freed
// stopper.
type repeatingWaker struct {
	s         stopper // fixed at creation
	mu        sync.Mutex
	closed    bool
	repeating bool
}

// stopperOf is the stopper in a waker that a backend's newWaker made:
// its waitWake gets back what it put in, whatever the waker around it.
func stopperOf[S stopper](wk waker) S { return wk.(*repeatingWaker).s.(S) }

func (k *repeatingWaker) wake() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.closed && !k.repeating && k.s.stop() {
		k.repeating = true
		go k.repeat()
	}
}

func (k *repeatingWaker) repeat() {
	for d := 50 * time.Microsecond; ; d = min(2*d, 10*time.Millisecond) {
		time.Sleep(d)
		k.mu.Lock()
		if k.closed || !k.s.stop() {
			k.repeating = false
			k.mu.Unlock()
			return
		}
		k.mu.Unlock()
	}
}

func (k *repeatingWaker) close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.closed {
		k.closed = true
		k.s.free()
	}
	return nil
}
