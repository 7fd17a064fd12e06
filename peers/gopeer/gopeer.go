// Package gopeer is the Go peer of the tests, the program peers/go: a Go
// process of its own that speaks peers/PROTOCOL.md through the public API,
// so that every interop scenario can put Go on either side of a segment,
// beside the C, Qt and Python peers. It also serves the reliability tests'
// commands, for the states the protocol's peers cannot stop in (a creator
// holding its lock, an attacker's semaphore, a fault), and holds the
// benchmark loops that the in-process benchmarks share with it.
package gopeer

import (
	"os"
	"slices"
)

// relCommands are the reliability tests' commands (rel.go); every other
// command is the protocol's.
var relCommands = []string{
	"explore", "map-file",
	"squat-loop", "victim-open", "victim-attach", "fault-hold", "fault-wait", "fault-sem",
	"orphan-lock", "orphan-lock-live", "orphan-lock-taken",
	"attach-error", "attach-exit", "create0-exit", "open-lock", "create-fsize",
	"lock-sigurg-ignored", "lock-sigurg-blocked", "create-perm", "inspect", "create-lock",
}

// Main runs the command that args name and returns the exit status.
func Main(args []string) int {
	if len(args) > 0 && slices.Contains(relCommands, args[0]) {
		return relMain(args)
	}
	return goPeerMain(args, os.Stdin, os.Stdout)
}
