// The Go peer of the tests (peers/gopeer): the library
// seen from a process of its own, as a Go service that shares memory with
// a Qt application is. It speaks peers/PROTOCOL.md like the C, Qt and
// Python peers; the tests build it once per run (internal/harness).
package main

import (
	"os"

	"github.com/qipc-go/qipc/peers/gopeer"
)

func main() { os.Exit(gopeer.Main(os.Args[1:])) }
