package qipc

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// This file holds Qt's OS-dependent key rules as pure functions of a
// target description, so that the rules of every OS can be tested on any
// OS. Only hostTarget and the directory look-ups below it touch the
// running system.

// ipcKind is the kind of object a key is derived for; Qt derives different
// names for the two kinds on Windows and for legacy keys.
type ipcKind int

const (
	kindSharedMemory ipcKind = iota
	kindSemaphore
)

// target describes the system a key is derived for.
type target struct {
	goos      string // runtime.GOOS spelling
	sandboxed bool   // Apple App Sandbox: changes the legacy POSIX name
	// tempDir is QDir::tempPath() as Qt 5.15/6.4 compute it (canonical;
	// "" when the directory is missing); legacy System V keys live there.
	tempDir string
	// runtimeDir is QStandardPaths::RuntimeLocation on XDG systems ("" when
	// no usable one exists); Qt 6.6+ System V keys live there.
	runtimeDir string
	// homeDir replaces runtimeDir on Apple systems, where Qt's runtime
	// location is ~/Library/Application Support.
	homeDir string
	// uncutWindows: Qt 6.6.x does not cut Windows names to MAX_PATH.
	uncutWindows bool
}

// Windows names are limited to MAX_PATH UTF-16 code units; Apple POSIX
// names to SHM_NAME_MAX (30) bytes, which Qt approximates with code units.
const (
	maxPath     = 260
	shmNameMax  = 30
	lockSuffix  = "_sem"
	shmPrefix   = qtnames.SharedMemoryPrefix
	semPrefix   = qtnames.SemaphorePrefix
	appleRunDir = "/Library/Application Support"
)

func isApple(goos string) bool { return goos == "darwin" || goos == "ios" }

// ipcSupported is Qt's compile-time isIpcSupported(): which mechanisms a Qt
// for that OS has at all. A Qt built for Windows has no POSIX or System V
// (MinGW POSIX builds are rare and not modelled) and a Unix Qt no Windows.
func ipcSupported(goos string, t KeyType) bool {
	if goos == "windows" {
		return t == Windows
	}
	return t != Windows
}

// systemVPath reports whether Qt's key derivations treat t as System V. Qt
// sends every type that is neither POSIX nor Windows down that path,
// including invalid ones, so this is wider than IsSystemV.
func systemVPath(t KeyType) bool { return t != PosixRealtime && t != Windows }

// platformSafeKey is Qt 6.6+'s QtIpcCommon::platformSafeKey.
func platformSafeKey(tg target, kind ipcKind, name string, t KeyType) Key {
	k := Key{Type: t}
	if name == "" {
		return k
	}
	switch {
	case t == PosixRealtime:
		if !ipcSupported(tg.goos, PosixRealtime) {
			return k
		}
		if isApple(tg.goos) {
			k.Native = "/" + leftUTF16(name, shmNameMax-1, false)
		} else {
			k.Native = "/" + name
		}
	case t == Windows:
		if !ipcSupported(tg.goos, Windows) {
			return k
		}
		prefix, payload := "", name
		for _, p := range [...]string{`Local\`, `Global\`} {
			if rest, ok := strings.CutPrefix(name, p); ok {
				prefix, payload = p, rest
				break
			}
		}
		mid := "shm_"
		if kind == kindSemaphore {
			mid = "sem_"
		}
		k.Native = prefix + mid + payload
		if !tg.uncutWindows {
			k.Native = leftUTF16(k.Native, maxPath, true)
		}
	default:
		if !ipcSupported(tg.goos, SystemV) {
			return k
		}
		if strings.HasPrefix(name, "/") {
			k.Native = name
		} else {
			k.Native = tg.runtimeLocation() + "/" + name
		}
	}
	k.NativeLock = k.Native != "" // a Qt 6.6+ key; an empty one is QNativeIpcKey(t)
	return k
}

func (tg target) runtimeLocation() string {
	if isApple(tg.goos) {
		return tg.homeDir + appleRunDir
	}
	return tg.runtimeDir
}

// legacyKey is QtIpcCommon::legacyPlatformSafeKey, the Qt 4.4 to 6.5 name
// derivation, recording name as the legacy key whenever a native key
// results.
func legacyKey(tg target, kind ipcKind, name string, t KeyType) Key {
	k := Key{Type: t}
	if name == "" {
		return k
	}
	sum := sha1.Sum([]byte(name))
	h := hex.EncodeToString(sum[:])

	if t == PosixRealtime && isApple(tg.goos) {
		// Apple's 30-byte limit leaves no room for prefix and letters;
		// sandboxed applications must use "<group id>/<name>" verbatim.
		if tg.sandboxed {
			return Key{Type: t, Native: name, LegacyKey: name, NativeLock: true}
		}
		return Key{Type: t, Native: "/" + h[:shmNameMax-1], LegacyKey: name, NativeLock: true}
	}

	base := legacyFileName(kind, name)

	switch {
	case t == Windows:
		if !ipcSupported(tg.goos, Windows) {
			return k
		}
		k.Native = base
	case t == PosixRealtime:
		if !ipcSupported(tg.goos, PosixRealtime) {
			return k
		}
		k.Native = "/" + base
	default:
		if !ipcSupported(tg.goos, SystemV) {
			return k
		}
		k.Native = tg.tempDir + "/" + base
	}
	k.LegacyKey, k.NativeLock = name, true
	return k
}

// legacyFileName is the legacy name of name without its directory or
// "/": prefix, ASCII letters, SHA-1.
func legacyFileName(kind ipcKind, name string) string {
	sum := sha1.Sum([]byte(name))
	prefix := shmPrefix
	if kind == kindSemaphore {
		prefix = semPrefix
	}
	return prefix + legacyLetters(name) + hex.EncodeToString(sum[:])
}

// cutLastSlash splits a System V key file's path at its last "/", keeping
// its spelling (a temp directory Qt spells with a trailing "/" gives
// "dir//file"); ok is false without one.
func cutLastSlash(native string) (dir, file string, ok bool) {
	i := strings.LastIndexByte(native, '/')
	if i < 0 {
		return "", "", false
	}
	return native[:i], native[i+1:], true
}

// legacyLetters keeps the ASCII letters of name, the readable part of a
// legacy key. Qt filters UTF-16 code units, but ASCII letters are single
// units and bytes alike, so filtering bytes gives the same result.
func legacyLetters(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lockKeyForTarget is the key of a QSharedMemory's internal lock semaphore
// in Qt 6.6+ (QSharedMemoryPrivate::initKey and semaphoreNativeKey): the
// Qt 5 lock name when the key carries a legacy key, so that Qt 5 and Qt 6
// peers exclude each other; on Windows the segment name (cut to leave room)
// plus "_sem", because mappings and semaphores share one namespace there;
// elsewhere the segment's own key, because Unix keeps semaphores and
// segments apart. Like Qt, the Windows rule applies only on Windows.
func lockKeyForTarget(tg target, shm Key) Key {
	if shm.LegacyKey != "" {
		return legacyKey(tg, kindSemaphore, shm.LegacyKey, shm.Type)
	}
	if shm.Type == Windows && ipcSupported(tg.goos, Windows) {
		return Key{Type: Windows, Native: leftUTF16(shm.Native, maxPath-len(lockSuffix)-1, true) + lockSuffix, NativeLock: true}
	}
	return shm
}

// leftUTF16 is QString::left(n): the first n UTF-16 code units of s. Qt
// may cut a surrogate pair in half. A Windows name keeps the lone high
// surrogate (keepLone), which this package writes in WTF-8 (the bytes
// UTF-8 would give the code point; winUTF16 turns them back into the one
// unit); elsewhere it becomes '?', the byte Qt's UTF-8 encoder writes for
// it when the name reaches the OS (Apple POSIX names). Each byte of other
// invalid UTF-8 counts as one unit and is kept as it is.
func leftUTF16(s string, n int, keepLone bool) string {
	units := 0
	for i := 0; i < len(s); {
		w, size := 1, 0
		if _, ok := wtf8Surrogate(s[i:]); ok {
			size = 3
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if r >= 0x10000 {
				w = 2
			}
		}
		if units+w > n {
			if units < n { // the cut splits a pair: its high half stays
				if keepLone {
					r, _ := utf8.DecodeRuneInString(s[i:])
					hi, _ := utf16.EncodeRune(r)
					return s[:i] + wtf8(uint16(hi))
				}
				return s[:i] + "?"
			}
			return s[:i]
		}
		units += w
		i += size
	}
	return s
}

// wtf8 is the WTF-8 form of a lone surrogate u (0xD800–0xDFFF).
func wtf8(u uint16) string {
	return string([]byte{0xE0 | byte(u>>12), 0x80 | byte(u>>6)&0x3F, 0x80 | byte(u)&0x3F})
}

// wtf8Surrogate decodes a lone surrogate in WTF-8 at the start of s.
func wtf8Surrogate(s string) (uint16, bool) {
	if len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2] >= 0x80 && s[2] <= 0xBF {
		return 0xD000 | uint16(s[1]&0x3F)<<6 | uint16(s[2]&0x3F), true
	}
	return 0, false
}

// validWTF8 reports whether s is UTF-8 but for lone surrogates in WTF-8.
func validWTF8(s string) bool {
	for i := 0; i < len(s); {
		if _, ok := wtf8Surrogate(s[i:]); ok {
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		i += size
	}
	return true
}

// winUTF16 is the UTF-16 a Windows name stands for: UTF-8 decoded (each
// invalid byte U+FFFD, as Go's conversion to runes gives), and a lone
// surrogate in WTF-8 as the unit itself.
func winUTF16(s string) []uint16 {
	var out []uint16
	for i := 0; i < len(s); {
		if u, ok := wtf8Surrogate(s[i:]); ok {
			out = append(out, u)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		out = utf16.AppendRune(out, r)
		i += size
	}
	return out
}

// hostTarget describes the running system, looking up only the directories
// the derivation for type t will read (the runtime-directory look-up may
// create directories, as Qt's does).
func hostTarget(t KeyType, legacy bool) target {
	tg := target{goos: runtime.GOOS, sandboxed: appleSandboxed()}
	if !systemVPath(t) || !ipcSupported(tg.goos, SystemV) {
		return tg
	}
	switch {
	case legacy:
		tg.tempDir = qtnames.LegacyTempDir(qtTMPDIR(tg.goos, os.Getenv("TMPDIR"), appleTempDir))
	case isApple(tg.goos):
		tg.homeDir, _ = os.UserHomeDir()
	default:
		tg.tempDir = qtnames.LegacyTempDir(os.Getenv("TMPDIR"))
		tg.runtimeDir = runtimeDir(os.Getenv("XDG_RUNTIME_DIR"), tg.tempDir, geteuid(), qtnames.UserName(geteuid()))
	}
	return tg
}

// appleTempDir returns the per-user temporary directory that an Apple
// system's NSTemporaryDirectory() gives outside a sandbox; set by the
// POSIX backend (cgo_posix.go), which can ask the system. nil elsewhere.
var appleTempDir func() string

// qtTMPDIR is the directory Qt's QDir::tempPath() starts from in a
// process on goos whose TMPDIR is tmpdir: TMPDIR when set and not empty;
// on an Apple system without one, NSTemporaryDirectory() (userTemp), as
// Qt 5.8 and later ask it (qtbase e2b856d562); else "" (/tmp). A
// sandboxed app has TMPDIR set to its container's.
func qtTMPDIR(goos, tmpdir string, userTemp func() string) string {
	if tmpdir == "" && isApple(goos) && userTemp != nil {
		return userTemp()
	}
	return tmpdir
}

// appleSandboxed approximates qt_apple_isSandboxed(): Qt reads the code
// signature's entitlements; the sandbox also sets APP_SANDBOX_CONTAINER_ID
// in every sandboxed process, which is what Go can see. Apple's other
// systems sandbox every application.
func appleSandboxed() bool {
	switch runtime.GOOS {
	case "ios":
		return true
	case "darwin":
		return os.Getenv("APP_SANDBOX_CONTAINER_ID") != ""
	}
	return false
}

// runtimeDir is Qt 6.6+'s QStandardPaths::writableLocation(RuntimeLocation)
// on XDG systems: the first of its candidates that is usable, else "".
func runtimeDir(xdg, tempDir string, euid int, user string) string {
	for _, dir := range qtnames.RuntimeDirCandidates(xdg, tempDir, user) {
		if usableRuntimeDir(dir, euid) {
			return dir
		}
	}
	return ""
}

// usableRuntimeDir applies the XDG base directory rules the way Qt checks
// them: create the directory 0700 if missing (a new directory is accepted
// as is); otherwise it must be a real directory, not a symlink, owned by the
// effective user, with permissions exactly 0700.
func usableRuntimeDir(dir string, euid int) bool {
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrExist) {
		return false
	}
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return false
	}
	if uid, ok := fileOwner(fi); !ok || uid != euid {
		return false
	}
	return fi.Mode().Perm() == 0o700
}
