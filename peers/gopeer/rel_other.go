//go:build !(cgo && linux)

package gopeer

import "fmt"

// relMain: the reliability tests run on Linux only.
func relMain(args []string) int {
	fmt.Println("err UnknownError", args[0], "runs on Linux with cgo only")
	return 2
}
