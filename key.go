package qipc

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// KeyType selects the OS mechanism a key names. The values are Qt's
// QNativeIpcKey::Type values, so they can be exchanged with Qt programs
// numerically and through [Key.String].
type KeyType uint16

// The key types Qt knows. Values 1 to 0xff other than SystemV are System V
// keys with another ftok project id (see [SystemVWithID]); 0 is invalid.
const (
	// SystemV is XSI/System V IPC (shmget, semget). The value 0x51 ('Q') is
	// also the ftok project id Qt has always used for its key files.
	SystemV KeyType = 0x51
	// PosixRealtime is POSIX realtime IPC (shm_open, sem_open).
	PosixRealtime KeyType = 0x100
	// Windows is Win32 named file mappings and semaphores.
	Windows KeyType = 0x101
)

// SystemVWithID returns the System V key type whose ftok project id is id,
// which Qt 6.6+ writes as "systemv-N". SystemVWithID(0x51) is [SystemV];
// SystemVWithID(0) is the invalid type 0, because ftok ignores nothing and
// Qt reserves 0 for "invalid".
func SystemVWithID(id uint8) KeyType { return KeyType(id) }

// String returns the scheme Qt uses for t in a key's string form ("systemv",
// "posix", "windows", "systemv-N"), or "invalid" for a type Qt would refuse
// to print.
func (t KeyType) String() string {
	switch t {
	case SystemV:
		return "systemv"
	case PosixRealtime:
		return "posix"
	case Windows:
		return "windows"
	}
	if t.IsSystemV() {
		return "systemv-" + strconv.Itoa(int(t))
	}
	return "invalid"
}

// IsSystemV reports whether t is one of the System V types (1 to 0xff),
// which all share one backend and differ only in the ftok project id.
func (t KeyType) IsSystemV() bool { return t >= 1 && t <= 0xff }

// valid reports whether t is a type Qt can print and parse.
func (t KeyType) valid() bool { return t.IsSystemV() || t == PosixRealtime || t == Windows }

// ftokProjectID is the project id Qt 6.6+ passes to ftok for a System V key
// of type t: the type value itself, 0x51 for [SystemV]. It is 0 for types
// that are not System V.
func ftokProjectID(t KeyType) int {
	if t.IsSystemV() {
		return int(t)
	}
	return 0
}

// DefaultKeyType returns the type Qt 6.6+ uses when none is given
// (QNativeIpcKey::DefaultTypeForOs): Windows on Windows, PosixRealtime on
// every other OS. Qt 5 peers used [LegacyDefaultKeyType] instead.
func DefaultKeyType() KeyType { return defaultKeyType }

// LegacyDefaultKeyType returns the type Qt 4.4 to 6.5 used for every key
// and that Qt 6.6+ still uses for its QString APIs (setKey, setNativeKey,
// legacyNativeKey): Windows on Windows, POSIX for sandboxed Apple
// applications and on Android (Termux's Qt), System V elsewhere. It cannot see whether the Qt peer was
// configured with -feature-ipc_posix (QT_POSIX_IPC), which would make it
// PosixRealtime; pass the type explicitly for such peers.
func LegacyDefaultKeyType() KeyType { return legacyDefaultFor(runtime.GOOS, appleSandboxed()) }

func legacyDefaultFor(goos string, sandboxed bool) KeyType {
	switch {
	case goos == "windows":
		return Windows
	case isApple(goos) && sandboxed:
		return PosixRealtime
	case goos == "android":
		// Apps get no System V IPC there, and the one Qt on Android
		// whose IPC works, Termux's, is built with ipc_posix (qtbase
		// 828770c60c lets a build without System V do so).
		return PosixRealtime
	}
	return SystemV
}

// Key identifies a shared-memory segment or system semaphore exactly as a
// Qt 6.6+ QNativeIpcKey does, plus the one thing a native name alone does
// not tell: whether a segment has a lock. It is a comparable value: two
// keys are equal when all four fields are; Qt compares type, native key
// and legacy key (and treats "no legacy key" and an empty legacy key
// alike, as Go's zero value does).
type Key struct {
	// Type selects the mechanism.
	Type KeyType
	// Native is the name the OS sees: "/name" for POSIX, a key-file path
	// for System V, a kernel object name for Windows.
	Native string
	// LegacyKey is the cross-platform string a legacy key was derived
	// from ([LegacySharedMemoryKey]); it is what lets a Qt 6.6+ peer find
	// the same lock semaphore as a Qt 5 peer, so it travels in String().
	LegacyKey string
	// NativeLock says that a segment with this key and no LegacyKey is
	// locked by a semaphore named after Native, as Qt 6.6+ locks every
	// QNativeIpcKey. Qt 4.4 to 6.5 lock nothing for a native key
	// (QSharedMemory::setNativeKey): their lock() fails and their create,
	// attach and detach take no lock. Without NativeLock a SharedMemory
	// does the same, so that a program sharing a segment with such a peer
	// is not promised an exclusion the peer never takes: Lock fails with
	// ErrNoLock and the application arranges exclusion itself.
	//
	// ParseKey, SharedMemoryKey, SemaphoreKey and the legacy derivations
	// set it (their keys come from Qt 6.6+ or carry a legacy key); NewKey
	// and a Key literal leave it unset. String does not carry it: Qt's
	// string form is 6.6+'s, and ParseKey reads it back with the lock.
	// Semaphores ignore it.
	NativeLock bool
}

// NewKey returns the key with native name native, taken verbatim, as
// QNativeIpcKey(native, t) does. Use it for names that come from another
// program; use [SharedMemoryKey] or [SemaphoreKey] to derive names.
//
// A segment with such a key has no lock, as with Qt 4.4 to 6.5's
// setNativeKey; set NativeLock (or use [ParseKey]) to share the lock of a
// Qt 6.6+ QSharedMemory with the same native key.
func NewKey(native string, t KeyType) Key { return Key{Type: t, Native: native} }

// IsValid reports whether the key's type is one Qt knows. Like Qt, it does
// not check that the name would be accepted by the OS.
func (k Key) IsValid() bool { return k.Type.valid() }

// IsEmpty reports whether the native key is empty; Qt then skips all
// locking and every operation fails with a key error.
func (k Key) IsEmpty() bool { return k.Native == "" }

// String returns the key in the form QNativeIpcKey::toString() gives, such
// as "posix:/myapp" or "systemv:/tmp/qipc_sharedmemory_…?legacyKey=myapp",
// for handing a key to another process. It returns "" for an invalid type,
// where Qt returns a null string.
//
// Qt strings cannot hold invalid UTF-8. If Native or LegacyKey does, its
// bytes are written out as they are, with only the bytes Qt would escape
// percent-encoded; [ParseKey] then reads each invalid byte back as U+FFFD,
// as a Qt peer would.
func (k Key) String() string {
	if !k.Type.valid() {
		return ""
	}
	var b strings.Builder
	b.WriteString(k.Type.String())
	b.WriteByte(':')
	path := percentEncode(k.Native, pathEscapes)
	if strings.HasPrefix(path, "//") {
		// Qt turns a leading "//" into "/%2F" so the text cannot be read
		// back as an authority.
		path = "/%2F" + path[2:]
	}
	b.WriteString(path)
	if k.LegacyKey != "" {
		b.WriteString("?legacyKey=")
		b.WriteString(percentEncode(k.LegacyKey, queryEscapes))
	}
	return b.String()
}

// The ASCII bytes (besides controls, DEL and '%') that Qt's QUrl escapes in
// each part of the string form; every other byte, non-ASCII included, is
// written raw.
const (
	pathEscapes  = "#?"
	queryEscapes = "#&="
)

const upperHex = "0123456789ABCDEF"

// described is the key as a message names it: the name a legacy key was
// derived from, as the caller gave it, then the type and the native name
// the OS sees; "" for the zero Key.
func (k Key) described() string {
	if !k.Type.valid() && k.Native == "" {
		return ""
	}
	if k.LegacyKey != "" {
		return strconv.Quote(k.LegacyKey) + " (" + k.Type.String() + " " + k.Native + ")"
	}
	return strconv.Quote(k.Native) + " (" + k.Type.String() + ")"
}

func percentEncode(s, escapes string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '%' || strings.IndexByte(escapes, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ParseKey parses the string form of a key exactly as
// QNativeIpcKey::fromString() does: the scheme is case-insensitive, a
// fragment is ignored, an empty authority ("posix:///x") is accepted, the
// only query item allowed is legacyKey, and percent-encoded bytes that are
// not valid UTF-8 become U+FFFD. Where Qt would return an invalid key,
// ParseKey returns an *[Error] of kind [KeyError] saying which part is wrong.
//
// The input is treated as the Unicode text a Qt peer would hold: each byte
// of invalid UTF-8 in s counts as one U+FFFD.
//
// A segment key that a Qt 6.6.0 peer printed takes [ForQt](6, 6, 0): that
// version locked a legacy-named segment with a semaphore of the segment's
// own name, not the one its legacyKey names, and the key then drops its
// LegacyKey to share that lock (pass it only for a segment's key: a
// semaphore's keeps its string form). No other option changes a parsed
// key, whose native name is given.
func ParseKey(s string, opts ...KeyOption) (_ Key, err error) {
	defer named("parse", &err)
	s = toValidUTF8(s)

	hash := strings.IndexByte(s, '#')
	if hash < 0 {
		hash = len(s)
	}
	question := strings.IndexByte(s[:hash], '?')
	hierEnd := hash
	if question >= 0 {
		hierEnd = question
	}
	colon := strings.IndexByte(s[:hierEnd], ':')
	if colon < 0 {
		return Key{}, parseError("missing key type: no \"<type>:\" prefix")
	}
	scheme := s[:colon]
	if !validScheme(scheme) {
		return Key{}, parseError("malformed key type " + strconv.Quote(scheme))
	}
	t, err := schemeType(strings.ToLower(scheme))
	if err != nil {
		return Key{}, err
	}

	hier := s[colon+1 : hierEnd]
	if strings.HasPrefix(hier, "//") {
		auth := hier[2:]
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			hier, auth = auth[i:], auth[:i]
		} else {
			hier = ""
		}
		if !emptyAuthority(auth) {
			return Key{}, parseError("unexpected authority " + strconv.Quote(auth) + " (only an empty one is allowed)")
		}
	}
	k := Key{Type: t, Native: decodePath(hier)}
	k.NativeLock = k.Native != "" // a Qt 6.6+ key, locked as 6.6+ locks

	if question >= 0 {
		query := s[question+1 : hash]
		literal := hasBadPercent(query)
		for len(query) > 0 {
			item := query
			if i := strings.IndexByte(query, '&'); i >= 0 {
				item, query = query[:i], query[i+1:]
			} else {
				query = ""
			}
			name, value, _ := strings.Cut(item, "=")
			if decodeQuery(name, literal, false) != "legacyKey" {
				return Key{}, parseError("unknown query item " + strconv.Quote(name) + " (only legacyKey is allowed)")
			}
			k.LegacyKey = decodeQuery(value, literal, true)
		}
	}
	return peerOf(opts).adjust(k), nil
}

func parseError(reason string) error {
	return &Error{QtOp: "ParseKey", Kind: KeyError, Err: errors.New(reason), text: reason}
}

// validScheme applies RFC 3986's scheme syntax, which QUrl enforces before
// Qt looks at the name; text that fails it has no scheme at all for Qt.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// schemeType maps a lower-cased scheme to its type. "systemv" followed by
// anything is read the way Qt reads it: the rest is a base-10 int (sign and
// leading zeros allowed) whose negation must be 1..255, so "systemv-84" is
// type 84 and "systemv+84" is invalid.
func schemeType(scheme string) (KeyType, error) {
	switch scheme {
	case "posix":
		return PosixRealtime, nil
	case "windows":
		return Windows, nil
	case "systemv":
		return SystemV, nil
	}
	rest, ok := strings.CutPrefix(scheme, "systemv")
	if !ok {
		return 0, parseError("unknown key type " + strconv.Quote(scheme))
	}
	n, ok := qtToInt(rest)
	if !ok || -n < 1 || -n > 0xff {
		return 0, parseError("invalid System V project id in " + strconv.Quote(scheme) + " (want systemv-1 to systemv-255)")
	}
	return KeyType(-n), nil
}

// qtToInt parses s as QString::toInt(&ok, 10) would: optional sign, decimal
// digits, and failure on anything else or on overflow of a 32-bit int.
func qtToInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 {
		return 0, false
	}
	return v, true
}

// emptyAuthority reports whether QUrl would see no user info, no host and no
// port in auth: besides "", an empty user name ("@") and an empty port
// (":") pass its checks.
func emptyAuthority(auth string) bool {
	auth = strings.TrimPrefix(auth, "@")
	return auth == "" || auth == ":"
}

// hasBadPercent reports whether a '%' in s lacks two hex digits after it.
// QUrl's tolerant parser then takes every '%' of that URL part literally.
func hasBadPercent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// percentDecode decodes every %XX in s to its byte.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// decodePath gives the native key QUrl::path() yields: %XX decoded, bytes
// that do not form UTF-8 replaced one U+FFFD each, and every '%' literal
// when one of them is malformed.
func decodePath(p string) string {
	if hasBadPercent(p) {
		return p
	}
	return toValidUTF8(percentDecode(p))
}

// decodeQuery decodes a query item's name or value the way Qt's chain of
// QUrlQuery and QUrl::fromPercentEncoding does. A value ends in
// QString::fromUtf8, which also drops a leading byte-order mark.
func decodeQuery(s string, literal, value bool) string {
	if !literal {
		s = percentDecode(s)
	}
	if value {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	return toValidUTF8(s)
}

// toValidUTF8 replaces each byte that does not belong to a valid UTF-8
// sequence with U+FFFD, one per byte, as QString::fromUtf8 does (Go's
// strings.ToValidUTF8 would merge runs into one).
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// SharedMemoryKey returns the key Qt 6.6+'s QSharedMemory::platformSafeKey
// derives from name on this OS: "/name" for POSIX (cut to 30 bytes' worth
// on Apple systems), "<runtime dir>/name" for System V, "shm_name" for
// Windows. An empty name, or a type this OS does not have (Windows on
// Unix, POSIX or System V on Windows), gives an empty native key of type t.
//
// For System V it looks up the runtime directory as Qt does, creating
// $XDG_RUNTIME_DIR or its fallback with mode 0700 when missing.
func SharedMemoryKey(name string, t KeyType, opts ...KeyOption) Key {
	return platformSafeKey(peerOf(opts).target(t, false), kindSharedMemory, name, t)
}

// SemaphoreKey returns the key Qt 6.6+'s QSystemSemaphore::platformSafeKey
// derives from name. It equals [SharedMemoryKey] except on Windows
// ("sem_name"), so on Unix a semaphore and a QSharedMemory's lock made from
// the same name are the same object.
func SemaphoreKey(name string, t KeyType, opts ...KeyOption) Key {
	return platformSafeKey(peerOf(opts).target(t, false), kindSemaphore, name, t)
}

// LegacySharedMemoryKey returns the key Qt 4.4 to 6.5 used for
// QSharedMemory(name), which Qt 6.6+ still produces with
// QSharedMemory::legacyNativeKey: "qipc_sharedmemory_" + the ASCII letters
// of name + its SHA-1, under the temp directory for System V, after "/" for
// POSIX. The key remembers name as its LegacyKey so that the segment's lock
// is the one Qt 5 peers use. Pass [LegacyDefaultKeyType] to talk to the
// peers that used the default.
func LegacySharedMemoryKey(name string, t KeyType, opts ...KeyOption) Key {
	p := peerOf(opts)
	return p.adjust(legacyKey(p.target(t, true), kindSharedMemory, name, t))
}

// LegacySemaphoreKey returns the key Qt 4.4 to 6.5 used for
// QSystemSemaphore(name) and for the lock of QSharedMemory(name) (prefix
// "qipc_systemsem_"); see [LegacySharedMemoryKey].
func LegacySemaphoreKey(name string, t KeyType, opts ...KeyOption) Key {
	return legacyKey(peerOf(opts).target(t, true), kindSemaphore, name, t)
}

// LockKey returns the key of the semaphore that QSharedMemory::lock() uses
// for a segment with key k: the legacy semaphore key when k carries a
// legacy key (for System V, its key file in the directory of the
// segment's when that is the legacy name, else in this process's temp
// directory), else k itself (on Windows, k's name + "_sem"); the zero Key
// when k has no lock (neither a legacy key nor NativeLock).
func (k Key) LockKey() Key { return lockKeyFor(k) }

// HasLock reports whether a segment with key k has a lock: k carries a
// legacy key or NativeLock is set.
func (k Key) HasLock() bool { return k.LegacyKey != "" || k.NativeLock }

// lockKeyFor returns the key of the semaphore a QSharedMemory with key shm
// locks (Qt 6.6+ rules; see keyplatform.go).
func lockKeyFor(shm Key) Key {
	if !shm.HasLock() {
		return Key{}
	}
	var tg target
	if shm.LegacyKey != "" {
		tg = hostTarget(shm.Type, true)
		// Qt makes a legacy segment's key file and its lock's in one temp
		// directory: where the segment's is the legacy name in another
		// directory (a peer's TMPDIR, WithPeerTMPDIR), the lock's is there
		// too, spelled alike.
		if dir, file, ok := cutLastSlash(shm.Native); ok && systemVPath(shm.Type) && file == legacyFileName(kindSharedMemory, shm.LegacyKey) {
			tg.tempDir = dir
		}
	} else {
		tg = target{goos: runtime.GOOS}
	}
	return lockKeyForTarget(tg, shm)
}

// IsKeyTypeSupported reports whether this build and OS can use keys of type
// t, as QSharedMemory::isKeyTypeSupported does: a backend for it is built
// in, and the probe Qt runs (shm_open, shmget, ...) does not fail with
// ENOSYS. Apple refuses System V IPC to sandboxed applications.
func IsKeyTypeSupported(t KeyType) bool {
	if !t.valid() {
		return false
	}
	b, err := backendFor("", Key{Type: t})
	return err == nil && b.supported()
}

// checkKey returns the KeyError Qt reports for a key that no object can
// use, or nil: an unsupported type, an empty key, or a name the OS cannot
// take exactly (badNative). op labels the error; "" gives Qt's own labels
// for class ("QSharedMemory" or "QSystemSemaphore"): its setNativeKey for
// an unsupported type, its handle() for the rest.
func checkKey(class, op string, k Key) error {
	text := badNative(k)
	switch {
	case !k.IsValid():
		text = "unsupported key type"
	case k.IsEmpty() && k.Type == Windows && class == "QSharedMemory":
		text = "unable to make key" // Qt's Windows handle(); its Unix ones say "key is empty"
	case k.IsEmpty():
		text = "key is empty"
	}
	if text == "" {
		return nil
	}
	if op == "" {
		op = handleOp(class, k)
		if !k.IsValid() {
			op = class + "::setNativeKey"
		}
	}
	return &Error{QtOp: op, Key: k, Kind: KeyError, text: text}
}

// handleOp is the label Qt's handle() uses; its System V code writes it
// with a doubled colon ("QSharedMemory::handle:: key is empty").
func handleOp(class string, k Key) string {
	if k.Type.IsSystemV() {
		return class + "::handle:"
	}
	return class + "::handle"
}

// applePosixNameMax is PSHMNAMLEN: Apple's shm_open and sem_open refuse
// longer names (bytes, the leading slash included) with ENAMETOOLONG. The
// names Qt derives there fit (docs/qt-ipc.md §2.4).
const applePosixNameMax = 31

// badNative says why the OS cannot name k exactly, or "": a NUL byte would
// cut the name short in C and reach another object, and bytes that are not
// UTF-8 name nothing a Qt peer can name. POSIX names may hold no "/" after
// the first and must fit glibc's "sem.<name>" in NAME_MAX, and Apple's
// PSHMNAMLEN there. A Windows name may hold a lone surrogate (WTF-8),
// which Qt's cut of a long name leaves.
func badNative(k Key) string { return badNativeOn(runtime.GOOS, k) }

// badNativeOn is badNative for an OS, so that every OS's rules are tested.
func badNativeOn(goos string, k Key) string {
	switch {
	case strings.IndexByte(k.Native, 0) >= 0:
		return "key contains a NUL byte"
	case k.Type == Windows && !validWTF8(k.Native), k.Type != Windows && !utf8.ValidString(k.Native):
		return "key is not valid UTF-8"
	case k.Type == PosixRealtime && strings.Contains(strings.TrimLeft(k.Native, "/"), "/"):
		return "bad name"
	case k.Type == PosixRealtime && len(strings.TrimLeft(k.Native, "/")) > 251:
		return "key too long"
	case k.Type == PosixRealtime && isApple(goos) && len(k.Native) > applePosixNameMax:
		return "key too long"
	}
	return ""
}
