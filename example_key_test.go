//go:build linux || freebsd

package qipc_test

import (
	"fmt"

	"github.com/qipc-go/qipc"
)

// A Qt 6.6+ program that calls QSharedMemory::platformSafeKey("myapp") gets
// this key; its string form is what such a program passes to its helpers.
func ExampleSharedMemoryKey() {
	k := qipc.SharedMemoryKey("myapp", qipc.PosixRealtime)
	fmt.Println(k.Native)
	fmt.Println(k)

	// A Qt 5 peer using QSharedMemory("myapp") is found through the legacy
	// key, which also picks the lock semaphore Qt 5 uses.
	legacy := qipc.LegacySharedMemoryKey("myapp", qipc.PosixRealtime)
	fmt.Println(legacy)
	// Output:
	// /myapp
	// posix:/myapp
	// posix:/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda?legacyKey=myapp
}

// Keys handed over by a Qt program (QNativeIpcKey::toString) parse back
// into the same type, native name and legacy key.
func ExampleParseKey() {
	k, err := qipc.ParseKey("systemv:/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda?legacyKey=myapp")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.Type, k.Native, k.LegacyKey)

	k, _ = qipc.ParseKey("SYSTEMV-84:/run/user/1000/my%20app#ignored")
	fmt.Printf("%v %q\n", k.Type, k.Native)

	_, err = qipc.ParseKey("posix:/x?flavour=strawberry")
	fmt.Println(err)
	// Output:
	// systemv /tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda myapp
	// systemv-84 "/run/user/1000/my app"
	// qipc: parse: unknown query item "flavour" (only legacyKey is allowed)
}

// A Qt 6.10 program started with TMPDIR=/var/tmp keeps the key files of
// its legacy System V segments there, not in this process's temp
// directory; WithPeerTMPDIR names its segment and the lock beside it.
func ExampleWithPeerTMPDIR() {
	k := qipc.LegacySharedMemoryKey("Shared", qipc.SystemV, qipc.WithPeerTMPDIR("/var/tmp"), qipc.ForQt(6, 10, 0))
	fmt.Println(k.Native)
	fmt.Println(k.LockKey().Native)
	// Output:
	// /var/tmp/qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d
	// /var/tmp/qipc_systemsem_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d
}
