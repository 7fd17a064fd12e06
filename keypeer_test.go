package qipc

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// The names of particular Qt versions (KeyOption), each from the qtbase
// change that made it differ; the default derivations are key_test.go's.

// TestForQt660Lock: Qt 6.6.0 locks a legacy-named segment with a semaphore
// of the segment's own name (qtbase 02c42b26e1 fixed it in 6.6.1), on
// every OS; Apple's legacy POSIX names are one hash for both kinds anyway.
func TestForQt660Lock(t *testing.T) {
	old := peerOf([]KeyOption{ForQt(6, 6, 0)})
	for _, tt := range []struct {
		tg     target
		typ    KeyType
		suffix string // 6.6.0's lock: the segment's own name and this
	}{
		{target{goos: "linux"}, PosixRealtime, ""},
		{target{goos: "linux", tempDir: "/tmp"}, SystemV, ""},
		{target{goos: "windows"}, Windows, lockSuffix},
		{target{goos: "darwin"}, PosixRealtime, ""},
	} {
		def := legacyKey(tt.tg, kindSharedMemory, "app", tt.typ)
		k := old.adjust(def)
		if k.Native != def.Native || k.LegacyKey != "" || !k.NativeLock {
			t.Errorf("%s %v: 6.6.0 key %+v, want %s without its legacy key, locked", tt.tg.goos, tt.typ, k, def.Native)
		}
		if lk, want := lockKeyForTarget(tt.tg, k), def.Native+tt.suffix; lk.Native != want {
			t.Errorf("%s %v: 6.6.0 lock %q, want %q", tt.tg.goos, tt.typ, lk.Native, want)
		}
		qt5 := lockKeyForTarget(tt.tg, def).Native
		if apple := tt.tg.goos == "darwin"; (qt5 == def.Native) != apple {
			t.Errorf("%s %v: default lock %q beside segment %q; the two differ except on Apple", tt.tg.goos, tt.typ, qt5, def.Native)
		}
	}
	for _, v := range [][3]int{{6, 6, 1}, {6, 5, 3}, {6, 7, 0}, {0, 0, 0}} {
		p := peerOf([]KeyOption{ForQt(v[0], v[1], v[2])})
		def := legacyKey(target{goos: "linux"}, kindSharedMemory, "app", PosixRealtime)
		if k := p.adjust(def); k != def {
			t.Errorf("Qt %v changed the key: %+v", v, k)
		}
	}
	// Only the segment's lock changed in 6.6.0: a semaphore keeps its
	// legacy key.
	if k, def := LegacySemaphoreKey("s", PosixRealtime, ForQt(6, 6, 0)), LegacySemaphoreKey("s", PosixRealtime); k != def {
		t.Errorf("ForQt(6, 6, 0) changed a semaphore key: %+v, want %+v", k, def)
	}
}

// TestForQt66WindowsUncut: Qt 6.6.x does not cut Windows names to MAX_PATH
// (qtbase 73fd7f2d4a did, for 6.7); the lock's name is cut either way.
func TestForQt66WindowsUncut(t *testing.T) {
	long := strings.Repeat("n", 300)
	win := target{goos: "windows"}
	cut := platformSafeKey(win, kindSharedMemory, long, Windows)
	win.uncutWindows = true
	whole := platformSafeKey(win, kindSharedMemory, long, Windows)
	if n := len(utf16.Encode([]rune(cut.Native))); n != maxPath {
		t.Errorf("6.7+: %d units, want %d", n, maxPath)
	}
	if whole.Native != "shm_"+long {
		t.Errorf("6.6.x: %q, want the whole name", whole.Native)
	}
	if lk := lockKeyForTarget(target{goos: "windows"}, whole); len(lk.Native) != maxPath-1 || !strings.HasSuffix(lk.Native, lockSuffix) {
		t.Errorf("6.6.x lock: %d bytes, want %d ending in %s", len(lk.Native), maxPath-1, lockSuffix)
	}
	if p := peerOf([]KeyOption{ForQt(6, 6, 3)}); !p.target(Windows, false).uncutWindows {
		t.Error("ForQt(6, 6, 3) does not leave Windows names uncut")
	}
	if p := peerOf([]KeyOption{ForQt(6, 7, 0)}); p.target(Windows, false).uncutWindows {
		t.Error("ForQt(6, 7, 0) leaves Windows names uncut")
	}
}

// TestWithPeerTMPDIR: a legacy System V key of a peer started with another
// TMPDIR lives in that directory, canonical as Qt 5.15 to 6.9.1 spell it,
// as given from 6.9.2 (qtbase 7bd7df5aa1); its lock's key file beside it.
func TestWithPeerTMPDIR(t *testing.T) {
	skipWithoutBackend(t, SystemV)
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "tmplink")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	resolved, err := filepath.EvalSymlinks(real)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(LegacySharedMemoryKey("app", SystemV).Native)
	for _, tt := range []struct {
		opts []KeyOption
		dir  string
	}{
		{[]KeyOption{WithPeerTMPDIR(link)}, resolved},
		{[]KeyOption{WithPeerTMPDIR(link + "/"), ForQt(6, 9, 1)}, resolved},
		{[]KeyOption{WithPeerTMPDIR(link), ForQt(6, 10, 0)}, link},
		{[]KeyOption{WithPeerTMPDIR(link + "/"), ForQt(6, 9, 2)}, link},
		{[]KeyOption{WithPeerTMPDIR(filepath.Join(real, "missing"))}, ""},
		{[]KeyOption{WithPeerTMPDIR(filepath.Join(real, "missing")), ForQt(6, 10, 0)}, filepath.Join(real, "missing")},
		{[]KeyOption{WithPeerTMPDIR("/"), ForQt(6, 10, 0)}, ""}, // "//qipc_…", spelled as Qt does
	} {
		k := LegacySharedMemoryKey("app", SystemV, tt.opts...)
		if tt.dir == "" && len(tt.opts) == 2 {
			tt.dir = "/"
		}
		if want := tt.dir + "/" + base; k.Native != want {
			t.Errorf("%v: %q, want %q", tt.opts, k.Native, want)
		}
		lk := k.LockKey()
		if want := tt.dir + "/" + strings.Replace(base, "sharedmemory", "systemsem", 1); lk.Native != want {
			t.Errorf("%v: lock %q, want %q beside the segment's", tt.opts, lk.Native, want)
		}
	}
}

// TestLockOfForeignNative: a key whose System V native name is not the
// legacy name of its legacy key (a Qt 6 toString() of another derivation,
// a Key literal) has its lock in this process's temp directory, as Qt
// 6.6.1+ derives it there (QSystemSemaphore::legacyNativeKey).
func TestLockOfForeignNative(t *testing.T) {
	skipWithoutBackend(t, SystemV)
	want := LegacySemaphoreKey("myapp", SystemV).Native
	for _, native := range []string{"/whatever", "/run/user/1000/myapp", "myapp"} {
		k := Key{Type: SystemV, Native: native, LegacyKey: "myapp"}
		if got := k.LockKey().Native; got != want {
			t.Errorf("lock of %q: %q, want %q", native, got, want)
		}
	}
}

// TestTempDirUnresolved: Qt 6.9.2+'s QDir::tempPath() spelling.
func TestTempDirUnresolved(t *testing.T) {
	for _, tt := range []struct{ tmpdir, want string }{
		{"", "/tmp"},
		{"/", "/"},
		{"/var/tmp", "/var/tmp"},
		{"/var/tmp/", "/var/tmp"},
		{"/var/tmp//", "/var/tmp/"},
		{"/var/./tmp", "/var/tmp"},
		{"rel", "/home/u/rel"},
		{"rel/../x/", "/home/u/x"},
	} {
		if got := qtnames.TempDirUnresolved(tt.tmpdir, "/home/u"); got != tt.want {
			t.Errorf("TempDirUnresolved(%q) = %q, want %q", tt.tmpdir, got, tt.want)
		}
	}
}

// TestQtTMPDIR: where TMPDIR is unset or empty, an Apple system's Qt asks
// NSTemporaryDirectory() for its temp directory (qtbase e2b856d562);
// elsewhere, or with TMPDIR set, TMPDIR (or /tmp) stands.
func TestQtTMPDIR(t *testing.T) {
	userTemp := func() string { return "/var/folders/ab/cd/T/" }
	for _, tt := range []struct {
		goos, tmpdir string
		userTemp     func() string
		want         string
	}{
		{"darwin", "", userTemp, "/var/folders/ab/cd/T/"},
		{"ios", "", userTemp, "/var/folders/ab/cd/T/"},
		{"darwin", "/Users/me/tmp", userTemp, "/Users/me/tmp"},
		{"darwin", "", nil, ""}, // no cgo to ask: /tmp
		{"linux", "", userTemp, ""},
		{"freebsd", "/var/tmp", userTemp, "/var/tmp"},
	} {
		if got := qtTMPDIR(tt.goos, tt.tmpdir, tt.userTemp); got != tt.want {
			t.Errorf("qtTMPDIR(%q, %q): %q, want %q", tt.goos, tt.tmpdir, got, tt.want)
		}
	}
	if runtime.GOOS != "darwin" {
		return
	}
	// On a Mac with cgo: the legacy key file lands in the user's folder.
	if appleTempDir == nil {
		t.Skip("built without cgo: qipc cannot ask for NSTemporaryDirectory() and uses /tmp")
	}
	t.Setenv("TMPDIR", "")
	want, err := filepath.EvalSymlinks(appleTempDir())
	if err != nil || want == "/tmp" || want == "/private/tmp" {
		t.Fatalf("the user temp directory: %q, %v", want, err)
	}
	if got := filepath.Dir(LegacySharedMemoryKey("app", SystemV).Native); got != want {
		t.Errorf("legacy key file in %q, want %q (NSTemporaryDirectory, canonical)", got, want)
	}
}

// TestParseKeyForQt660: the toString() of a Qt 6.6.0 peer's legacy segment
// key carries legacyKey, but 6.6.0 locks the segment with a semaphore of
// the segment's own name; ForQt(6, 6, 0) makes the parsed key lock that
// one, as the derivation with the same option does. Other versions, and
// keys without a legacy key, parse as they are.
func TestParseKeyForQt660(t *testing.T) {
	for _, typ := range []KeyType{SystemV, PosixRealtime} {
		qt := LegacySharedMemoryKey("app", typ) // what 6.6.0's toString() prints
		k, err := ParseKey(qt.String(), ForQt(6, 6, 0))
		if err != nil {
			t.Fatal(err)
		}
		if want := LegacySharedMemoryKey("app", typ, ForQt(6, 6, 0)); k != want {
			t.Errorf("%v: ParseKey(%q, ForQt(6, 6, 0)) = %+v, want %+v", typ, qt, k, want)
		}
		if k.LockKey().Native != k.Native {
			t.Errorf("%v: lock %q, want the segment's own name %q", typ, k.LockKey().Native, k.Native)
		}
		for _, opts := range [][]KeyOption{nil, {ForQt(6, 6, 1)}, {ForQt(5, 15, 8)}} {
			if k, err := ParseKey(qt.String(), opts...); err != nil || k != qt {
				t.Errorf("%v: ParseKey(%q, %v) = %+v, %v; want it as printed", typ, qt, opts, k, err)
			}
		}
		plain := SharedMemoryKey("app", typ)
		if k, err := ParseKey(plain.String(), ForQt(6, 6, 0)); err != nil || k != plain {
			t.Errorf("%v: ParseKey(%q, ForQt(6, 6, 0)) = %+v, %v; want it as printed", typ, plain, k, err)
		}
	}
}
