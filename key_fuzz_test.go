package qipc

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the vectors of docs/qt-ipc.md §1.2 and §9 and Qt's, in string form.
var fuzzSeeds = []string{
	"", "posix:", "posix:/myapp", "systemv:/run/user/1000/myapp", "systemv-84:/run/user/1000/myapp",
	"windows:shm_myapp", "windows:sem_日本語キー", "posix:/my key/with slash",
	"systemv:/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda?legacyKey=myapp",
	"posix:/94e7d341f71ff6f43253f1c5e8130?legacyKey=myapp",
	"posix:100%25/%3F%23?legacyKey=a%26b%3Dc%25d",
	"posix:%25", "posix:%3F%23", "posix:/%2F", "posix:/%2F/", "posix::/", "systemv-81:", "systemv-009:",
	"posix:%2f%66o%6f", "posix:%C4%80.%E2%80%80.%F0%90%80%80", "posix:/foo#bar?baz", "posix:/foo?bar#baz",
	"81", "-81", "invalidprefix:", "systemv255", "systemv--255:", "systemv+255", "systemv-0x01:",
	"systemv-0:", "systemv-256", "systemv-4294967297:", "junk:posix:", "posix:///foo", "posix://h/x",
	"POSIX:/x", "posix:%41%", "posix:/x?legacyKey=%EF%BB%BFa", "posix:/\xff%E6%97",
}

// FuzzParseKey checks that ParseKey never panics, fails only with a
// KeyError, and that every key it accepts prints to a string it reads back
// as the same key.
func FuzzParseKey(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KeyError || k != (Key{}) {
				t.Fatalf("ParseKey(%q) = %+v, %v", s, k, err)
			}
			return
		}
		if !k.IsValid() || !utf8.ValidString(k.Native) || !utf8.ValidString(k.LegacyKey) {
			t.Fatalf("ParseKey(%q) = %+v", s, k)
		}
		checkRoundTrip(t, k)
	})
}

// checkRoundTrip asserts ParseKey(k.String()) == k for a key Qt could hold.
// Qt itself cannot carry a legacy key that starts with U+FEFF (its UTF-8
// decoder drops the byte-order mark), so neither can we.
func checkRoundTrip(t *testing.T, k Key) {
	t.Helper()
	if !k.IsValid() || !utf8.ValidString(k.Native) || !utf8.ValidString(k.LegacyKey) ||
		strings.HasPrefix(k.LegacyKey, "\uFEFF") {
		return
	}
	s := k.String()
	back, err := ParseKey(s)
	if err != nil {
		t.Fatalf("ParseKey(%q) of %+v: %v", s, k, err)
	}
	if back != k {
		t.Fatalf("round trip of %+v through %q gave %+v", k, s, back)
	}
}

// FuzzKeyDerivation runs every derivation on every modelled OS: none may
// panic, each keeps the type, and each result round-trips through its
// string form.
func FuzzKeyDerivation(f *testing.F) {
	for _, name := range []string{"myapp", "org.example.myapp", "org.example.myapp-12345", "Shared", japaneseKey,
		"my key/with slash", longName, `Global\x`, `Local\x`, "/abs/path", "", "Noël", "%", "?#", "//",
		"\U0001F600", strings.Repeat("\U0001F600", 20), "\xff", "\uFEFFx"} {
		for _, typ := range []uint16{0, 1, 0x51, 84, 0xff, 0x100, 0x101, 0x102} {
			f.Add(name, typ)
		}
	}
	targets := []target{linuxTarget, macTarget, macSandboxed, windowsTarget, {goos: "linux"}}
	f.Fuzz(func(t *testing.T, name string, typ uint16) {
		kt := KeyType(typ)
		for _, tg := range targets {
			for _, kind := range []ipcKind{kindSharedMemory, kindSemaphore} {
				for _, k := range []Key{platformSafeKey(tg, kind, name, kt), legacyKey(tg, kind, name, kt)} {
					if k.Type != kt {
						t.Fatalf("%q on %s: type %v, want %v", name, tg.goos, k.Type, kt)
					}
					checkRoundTrip(t, k)
					lock := lockKeyForTarget(tg, k)
					if lock.Type != kt {
						t.Fatalf("lock of %+v has type %v", k, lock.Type)
					}
					checkRoundTrip(t, lock)
				}
			}
		}
		// The exported functions that need no directories.
		if kt == PosixRealtime || kt == Windows {
			for _, k := range []Key{SharedMemoryKey(name, kt), SemaphoreKey(name, kt), LegacySharedMemoryKey(name, kt), LegacySemaphoreKey(name, kt)} {
				checkRoundTrip(t, k)
			}
		}
	})
}
