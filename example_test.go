//go:build linux

package qipc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/qipc-go/qipc"
)

// A Go process shares a buffer with a Qt application. On the Qt side
// (Qt 5, or Qt 6 with the QString API) the same segment is
//
//	QSharedMemory shm("org.example.viewer");
//	shm.attach(); shm.lock(); ... shm.unlock();
//
// The legacy key names the same System V segment, key files and lock
// semaphore that Qt derives from "org.example.viewer".
func Example_shareWithQt() {
	name := fmt.Sprintf("org.example.viewer.%d", os.Getpid())
	key := qipc.LegacySharedMemoryKey(name, qipc.SystemV)

	shm := qipc.NewSharedMemory(key)
	defer shm.Close()
	if err := shm.Create(4096, qipc.ReadWrite); errors.Is(err, qipc.ErrAlreadyExists) {
		err = shm.Attach(qipc.ReadWrite) // Qt's recipe: someone made it already
		if err != nil {
			fmt.Println(err)
			return
		}
	} else if err != nil {
		fmt.Println(err)
		return
	}

	// Under the same lock QSharedMemory::lock() takes in the Qt process.
	// Locked gives it back whatever fn does, and a fault in the mapping
	// (a peer that truncated the segment) is an error, not a crash. A
	// context with a deadline bounds the wait for a stuck peer.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	err := shm.Locked(ctx, func(data []byte) error {
		n = copy(data, "frame 1")
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("wrote", n, "bytes for", key.LegacyKey == name)
	// Output: wrote 7 bytes for true
}

// After a crash, a Qt application's create() fails with AlreadyExists and it
// believes another instance is running. Inspect tells such a leftover from
// a live instance's segment, and WithReplaceStale replaces only the
// leftover; RemoveSharedMemory deletes a segment whoever uses it.
func Example_cleanUpAfterCrash() {
	key := qipc.SharedMemoryKey(fmt.Sprintf("crashed-app-%d", os.Getpid()), qipc.PosixRealtime)

	// A process that crashed would leave this behind; WithoutCleanup
	// leaves it the same way here.
	leftover := qipc.NewSharedMemory(key, qipc.WithoutCleanup())
	if err := leftover.Create(64, qipc.ReadWrite); err != nil {
		fmt.Println(err)
		return
	}
	leftover.Close()

	err := qipc.NewSharedMemory(key).Create(64, qipc.ReadWrite)
	fmt.Println("create:", qipc.KindOf(err))

	usage, err := qipc.Inspect(key)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Reason says why, here "no process maps it or has it open" and how
	// that was proven.
	fmt.Println("stale:", usage.Stale)

	shm := qipc.NewSharedMemory(key, qipc.WithReplaceStale())
	defer shm.Close()
	fmt.Println("create, replacing a stale segment:", qipc.KindOf(shm.Create(64, qipc.ReadWrite)))
	// Output:
	// create: AlreadyExists
	// stale: true
	// create, replacing a stale segment: NoError
}

// A semaphore shared with QSystemSemaphore, with a wait that gives up.
func ExampleSemaphore_AcquireTimeout() {
	key := qipc.SemaphoreKey(fmt.Sprintf("jobs-%d", os.Getpid()), qipc.PosixRealtime)
	sem, err := qipc.NewSemaphore(key, 1, qipc.SemaphoreCreate)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sem.Close()
	first, _ := sem.AcquireTimeout(0)
	second, _ := sem.AcquireTimeout(10e6) // 10ms; the only count is taken
	fmt.Println(first, second)
	// Output: true false
}

// A hot loop that takes a segment's lock millions of times can take it
// through a Semaphore on the segment's LockKey: the same semaphore
// QSharedMemory::lock() and SharedMemory.Lock take, without the owner
// tracking that makes one SharedMemory safe to share between goroutines
// (so the loop must pair each Acquire with one Release itself).
func ExampleKey_LockKey() {
	key := qipc.SharedMemoryKey(fmt.Sprintf("hot-loop-%d", os.Getpid()), qipc.PosixRealtime)
	shm := qipc.NewSharedMemory(key)
	defer shm.Close() // the creator's Close removes the segment and its lock
	if err := shm.Create(8, qipc.ReadWrite); err != nil {
		fmt.Println(err)
		return
	}
	lock, err := qipc.NewSemaphore(key.LockKey(), 1, qipc.SemaphoreOpen, qipc.WithoutCleanup())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lock.Close()

	counter := shm.Data()
	for range 1000 {
		if err := lock.Acquire(); err != nil {
			fmt.Println(err)
			return
		}
		counter[0]++
		if err := lock.Release(1); err != nil {
			fmt.Println(err)
			return
		}
	}

	// SharedMemory.Lock excludes the loop, and the other way round.
	if err := shm.Lock(); err != nil {
		fmt.Println(err)
		return
	}
	ok, _ := lock.TryAcquire()
	fmt.Println("counter", counter[0], "taken while locked:", ok)
	_ = shm.Unlock()
	// Output: counter 232 taken while locked: false
}
