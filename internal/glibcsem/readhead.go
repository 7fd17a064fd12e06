//go:build cgo && linux && (amd64 || arm64 || 386 || arm)

package glibcsem

import "os"

// readHead fills b from the start of the file at path (a sem_t's file)
// and reports whether the file has size bytes, a sem_t of this process:
// a file of another size is truncated, or of a process of the other word
// size, whose layout differs.
func readHead(path string, b []byte, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		return false
	}
	_, err = f.ReadAt(b, 0)
	return err == nil
}
