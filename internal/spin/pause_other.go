//go:build !amd64 && !arm64

package spin

// Pause does nothing where no spin-wait hint is wired up: the spinning
// loop's own tries then pace it.
func Pause(uint32) {}
