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
