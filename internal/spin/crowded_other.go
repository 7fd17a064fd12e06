//go:build !linux

package spin

// runnable: this OS has no cheap count of runnable threads.
func runnable() (int, bool) { return 0, false }
