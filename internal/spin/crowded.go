package spin

import (
	"runtime"
	"sync/atomic"
	"time"
)

// crowdedEvery is how old a look at the machine's run queue may be: a
// look costs a few microseconds (a spin's worth), so it is taken at most
// this often per process, by whichever wait finds the last one stale.
const crowdedEvery = 10 * time.Millisecond

var (
	crowdedAt  atomic.Int64 // when the last look was taken, ns since start; 0 none
	crowdedNow atomic.Bool  // what it found
	start      = time.Now()
)

// Crowded reports whether, at the last look, more threads were runnable on
// the machine than this process has CPUs: a spinning waiter then takes a
// CPU that some runnable thread, perhaps the holder it waits for, would
// use. False where the OS does not tell (runnable).
func Crowded() bool {
	now := int64(time.Since(start)) + 1
	at := crowdedAt.Load()
	if at != 0 && now-at < int64(crowdedEvery) {
		return crowdedNow.Load()
	}
	if !crowdedAt.CompareAndSwap(at, now) {
		return crowdedNow.Load() // another wait is looking
	}
	n, ok := runnable()
	crowded := ok && n > runtime.NumCPU()
	crowdedNow.Store(crowded)
	return crowded
}
