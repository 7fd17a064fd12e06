//go:build race

package harness

// raceEnabled: the test binary has the race detector, and so do the
// programs it builds.
const raceEnabled = true
