//go:build cgo && linux && (amd64 || arm64 || 386 || arm)

package glibcsem

import "os"

// readHead fills b from the start of the file at path (a sem_t's file),
// and reports whether the file held that much.
func readHead(path string, b []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.ReadAt(b, 0)
	return err == nil
}
