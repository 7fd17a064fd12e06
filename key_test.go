package qipc

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// Fake targets for the OS-dependent rules. The Linux one matches the
// assumptions of docs/qt-ipc.md §9 (TMPDIR unset, XDG_RUNTIME_DIR=/run/user/1000).
var (
	linuxTarget     = target{goos: "linux", tempDir: "/tmp", runtimeDir: "/run/user/1000"}
	macTarget       = target{goos: "darwin", tempDir: "/private/tmp", homeDir: "/Users/me"}
	macSandboxed    = target{goos: "darwin", sandboxed: true, tempDir: "/private/tmp", homeDir: "/Users/me"}
	windowsTarget   = target{goos: "windows"}
	nonLatin1       = "\u0100.\u2000.\U00010000"
	japaneseKey     = "日本語キー"
	longName        = "org.example.verylongapplicationname"
	allQtPrefixRows = []struct {
		prefix string
		t      KeyType
	}{
		{"systemv", SystemV},
		{"posix", PosixRealtime},
		{"windows", Windows},
		{"systemv-1", KeyType(1)},
		{"systemv-84", KeyType('T')},
		{"systemv-255", KeyType(0xff)},
	}
	// tst_qnativeipckey::toString_data rows: native key and its encoding.
	qtToStringRows = []struct{ name, native, encoded string }{
		{"empty", "", ""},
		{"text", "foobar", "foobar"},
		{"pathlike", "/sometext", "/sometext"},
		{"objectlike", `Global\sometext`, `Global\sometext`},
		{"colon-slash", ":/", ":/"},
		{"slash-colon", "/:", "/:"},
		{"percent", "%", "%25"},
		{"question-hash", "?#", "%3F%23"},
		{"hash-question", "#?", "%23%3F"},
		{"double-slash", "//", "/%2F"},
		{"triple-slash", "///", "/%2F/"},
		{"non-ascii", "\u00e9", "\u00e9"},
		{"non-utf8", "\u00a0\u00ff", "\u00a0\u00ff"},
		{"non-latin1", nonLatin1, nonLatin1},
	}
)

func TestKeyTypeBasics(t *testing.T) {
	tests := []struct {
		t       KeyType
		str     string
		sysv    bool
		valid   bool
		project int
	}{
		{0, "invalid", false, false, 0},
		{SystemV, "systemv", true, true, 0x51},
		{PosixRealtime, "posix", false, true, 0},
		{Windows, "windows", false, true, 0},
		{1, "systemv-1", true, true, 1},
		{'T', "systemv-84", true, true, 84},
		{0xff, "systemv-255", true, true, 255},
		{0x102, "invalid", false, false, 0},
		{0xffff, "invalid", false, false, 0},
	}
	for _, tt := range tests {
		got := struct {
			Str     string
			SysV    bool
			Valid   bool
			Project int
		}{tt.t.String(), tt.t.IsSystemV(), Key{Type: tt.t}.IsValid(), ftokProjectID(tt.t)}
		want := struct {
			Str     string
			SysV    bool
			Valid   bool
			Project int
		}{tt.str, tt.sysv, tt.valid, tt.project}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("KeyType(%#x) (-want +got):\n%s", uint16(tt.t), d)
		}
	}
	if SystemV != 'Q' {
		t.Errorf("SystemV = %#x, want 'Q'", uint16(SystemV))
	}
	if SystemVWithID(0x51) != SystemV || SystemVWithID(84) != 84 || SystemVWithID(0) != 0 {
		t.Error("SystemVWithID maps ids wrongly")
	}
}

func TestDefaultTypes(t *testing.T) {
	want := PosixRealtime
	if runtime.GOOS == "windows" {
		want = Windows
	}
	if DefaultKeyType() != want {
		t.Errorf("DefaultKeyType() = %v, want %v", DefaultKeyType(), want)
	}
	for _, tt := range []struct {
		goos      string
		sandboxed bool
		want      KeyType
	}{
		{"linux", false, SystemV},
		{"freebsd", false, SystemV},
		{"darwin", false, SystemV},
		{"darwin", true, PosixRealtime},
		{"windows", false, Windows},
		{"android", false, PosixRealtime}, // no System V: Qt turns ipc_posix on
	} {
		if got := legacyDefaultFor(tt.goos, tt.sandboxed); got != tt.want {
			t.Errorf("legacyDefaultFor(%s, %v) = %v, want %v", tt.goos, tt.sandboxed, got, tt.want)
		}
	}
	if runtime.GOOS == "linux" && LegacyDefaultKeyType() != SystemV {
		t.Errorf("LegacyDefaultKeyType() = %v on linux", LegacyDefaultKeyType())
	}
}

func TestIsKeyTypeSupported(t *testing.T) {
	want := map[string][]KeyType{
		"linux":   {PosixRealtime, SystemV, 84},
		"freebsd": {PosixRealtime, SystemV, 84},
		"windows": {Windows},
	}[runtime.GOOS]
	for _, typ := range []KeyType{PosixRealtime, SystemV, 84, Windows} {
		if got := IsKeyTypeSupported(typ); got != slices.Contains(want, typ) {
			t.Errorf("IsKeyTypeSupported(%v) = %v on %s", typ, got, runtime.GOOS)
		}
	}
	if IsKeyTypeSupported(0) || IsKeyTypeSupported(0x102) {
		t.Error("invalid types reported as supported")
	}
}

func TestKeyValueSemantics(t *testing.T) {
	k := NewKey("dummy", DefaultKeyType())
	if k.Native != "dummy" || k.Type != DefaultKeyType() || k.IsEmpty() || !k.IsValid() {
		t.Errorf("NewKey = %+v", k)
	}
	var zero Key
	if !zero.IsEmpty() || zero.IsValid() || zero.String() != "" {
		t.Errorf("zero Key: empty=%v valid=%v string=%q", zero.IsEmpty(), zero.IsValid(), zero.String())
	}
	if NewKey("", PosixRealtime).IsEmpty() != true || !NewKey("", PosixRealtime).IsValid() {
		t.Error("empty typed key must be empty and valid")
	}
}

// TestKeyEquality follows tst_qnativeipckey::equality: the legacy key takes
// part in ==.
func TestKeyEquality(t *testing.T) {
	key1, key2 := Key{Type: DefaultKeyType()}, Key{Type: DefaultKeyType()}
	if key1 != key2 {
		t.Fatal("default keys differ")
	}
	key1.Native = "key1"
	if key1 == key2 {
		t.Fatal("different native keys compare equal")
	}
	key2.Type = 0
	if key1 == key2 {
		t.Fatal("different types and keys compare equal")
	}
	key2.Native = key1.Native
	if key1 == key2 {
		t.Fatal("different types compare equal")
	}
	key2.Type = DefaultKeyType()
	if key1 != key2 {
		t.Fatal("same type and native key compare different")
	}
	key1 = legacyKey(linuxTarget, kindSharedMemory, "key1", PosixRealtime) // a legacy key exists for linuxTarget on every host
	if key1 == key2 {
		t.Fatal("legacy key equals plain key")
	}
	key2 = key1
	if key1 != key2 {
		t.Fatal("copy differs")
	}
	// Just setting the native key (which drops the legacy key in Qt) does
	// not make them equal again.
	key2 = Key{Type: key1.Type, Native: key1.Native}
	if key1 == key2 {
		t.Fatal("plain key with the legacy key's native string compares equal")
	}
}

// TestKeyStringQtRows holds tst_qnativeipckey::toString_data.
func TestKeyStringQtRows(t *testing.T) {
	if got := (Key{Type: 0}).String(); got != "" {
		t.Errorf("invalid key String() = %q, want empty", got)
	}
	for _, p := range allQtPrefixRows {
		for _, r := range qtToStringRows {
			k := NewKey(r.native, p.t)
			want := p.prefix + ":" + r.encoded
			if got := k.String(); got != want {
				t.Errorf("%s-%s: String() = %q, want %q", p.prefix, r.name, got, want)
			}
		}
	}
}

// TestParseKeyQtRows holds tst_qnativeipckey::fromString_data.
func TestParseKeyQtRows(t *testing.T) {
	type row struct {
		name string
		in   string
		want Key // zero Key = invalid
	}
	var rows []row
	for _, p := range allQtPrefixRows {
		for _, r := range qtToStringRows {
			rows = append(rows, row{p.prefix + "-" + r.name, p.prefix + ":" + r.encoded, NewKey(r.native, p.t)})
		}
	}
	valid := NewKey("/foo", PosixRealtime)
	rows = append(rows,
		row{"systemv-alias", "systemv-81:", NewKey("", SystemV)},
		row{"systemv-zeropadded", "systemv-009:", NewKey("", 9)},
		row{"percent-encoded", "posix:%2f%66o%6f", valid},
		row{"percent-utf8", "posix:%C4%80.%E2%80%80.%F0%90%80%80", NewKey(nonLatin1, PosixRealtime)},
		row{"with-fragment", "posix:/foo#bar", valid},
		row{"with-fragmentquery", "posix:/foo#bar?baz", valid},
		row{"with-query", "posix:/foo?bar", Key{}},
		row{"with-queryfragment", "posix:/foo?bar#baz", Key{}},
		row{"positive-number", "81", Key{}},
		row{"negative-number", "-81", Key{}},
		row{"invalidprefix", "invalidprefix:", Key{}},
		row{"systemv-nodash", "systemv255", Key{}},
		row{"systemv-doubledash", "systemv--255:", Key{}},
		row{"systemv-plus", "systemv+255", Key{}},
		row{"systemv-hex", "systemv-0x01:", Key{}},
		row{"systemv-too-low", "systemv-0:", Key{}},
		row{"systemv-too-high", "systemv-256", Key{}},
		row{"systemv-overflow-15bit", "systemv-32769:", Key{}},
		row{"systemv-overflow-16bit", "systemv-65537:", Key{}},
		row{"systemv-overflow-31bit", "systemv-2147483649:", Key{}},
		row{"systemv-overflow-32bit", "systemv-4294967297:", Key{}},
	)
	for _, name := range []string{"systemv", "posix", "windows", "systemv-1", "systemv-255"} {
		rows = append(rows,
			row{name + "-nocolon", name, Key{}},
			row{name + "-junk", name + "junk", Key{}},
			row{"junk-" + name + "-colon", "junk:" + name + ":", Key{}},
		)
	}
	for _, r := range rows {
		got, err := ParseKey(r.in)
		if r.want == (Key{}) {
			if err == nil {
				t.Errorf("%s: ParseKey(%q) = %+v, want error", r.name, r.in, got)
			} else if got != (Key{}) {
				t.Errorf("%s: ParseKey(%q) returned %+v with its error, want the zero Key", r.name, r.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ParseKey(%q): %v", r.name, r.in, err)
			continue
		}
		if d := cmp.Diff(parsed(r.want), got); d != "" {
			t.Errorf("%s: ParseKey(%q) (-want +got):\n%s", r.name, r.in, d)
		}
	}
	t.Logf("%d fromString rows", len(rows))
}

// TestParseKeyRules covers docs/qt-ipc.md §1.2 and the QUrl behaviour behind
// it that Qt's own rows do not reach.
func TestParseKeyRules(t *testing.T) {
	tests := []struct {
		in   string
		want Key // zero Key = invalid
	}{
		// scheme
		{"POSIX:/x", NewKey("/x", PosixRealtime)},
		{"SystemV-84:/x", NewKey("/x", 84)},
		{"Windows:shm_x", NewKey("shm_x", Windows)},
		{"systemv-00000000000000000000084:", NewKey("", 84)},
		{"systemv-+1:", Key{}},
		{"systemv+-1:", Key{}},
		{"systemv-:", Key{}},
		{"systemv-1.:", Key{}},
		{"systemv+255:", Key{}},
		{"systemv-256:", Key{}},
		{"systemv-2147483648:", Key{}},
		{"", Key{}},
		{":", Key{}},
		{":/x", Key{}},
		{"1posix:/x", Key{}},
		{"po_six:/x", Key{}},
		{"posix", Key{}},
		{"/x?posix:y", Key{}},
		{"#posix:y", Key{}},
		// authority
		{"posix:///foo", NewKey("/foo", PosixRealtime)},
		{"posix://", NewKey("", PosixRealtime)},
		{"posix://@/x", NewKey("/x", PosixRealtime)},
		{"posix://:/x", NewKey("/x", PosixRealtime)},
		{"posix://@:/x", NewKey("/x", PosixRealtime)},
		{"posix://host/foo", Key{}},
		{"posix://host", Key{}},
		{"posix://:80/x", Key{}},
		{"posix://:x/x", Key{}},
		{"posix://user@/x", Key{}},
		{"posix://:@/x", Key{}},
		{"posix://@@/x", Key{}},
		// path decoding
		{"posix:%", NewKey("%", PosixRealtime)},
		{"posix:%2", NewKey("%2", PosixRealtime)},
		{"posix:%zz", NewKey("%zz", PosixRealtime)},
		{"posix:%41%", NewKey("%41%", PosixRealtime)}, // one bad '%' makes every '%' literal
		{"posix:/a%20b", NewKey("/a b", PosixRealtime)},
		{"posix:/a b", NewKey("/a b", PosixRealtime)},
		{"posix:/%2F/", NewKey("///", PosixRealtime)},
		{"posix:/a%2541", NewKey("/a%41", PosixRealtime)},
		{"posix:/a\tb", NewKey("/a\tb", PosixRealtime)},
		{"posix:/%00", NewKey("/\x00", PosixRealtime)},
		{"posix:/%c3%a9", NewKey("/é", PosixRealtime)},
		{"posix:/%C3", NewKey("/\uFFFD", PosixRealtime)},
		{"posix:/%E6%97", NewKey("/\uFFFD\uFFFD", PosixRealtime)},
		{"posix:/%C3\u00a9", NewKey("/\uFFFD\u00a9", PosixRealtime)},
		{"posix:/%E0%80%80", NewKey("/\uFFFD\uFFFD\uFFFD", PosixRealtime)},
		{"posix:/%ED%A0%80", NewKey("/\uFFFD\uFFFD\uFFFD", PosixRealtime)},
		{"posix:/%EF%BB%BFx", NewKey("/\uFEFFx", PosixRealtime)}, // no BOM stripping in the path
		{"posix:/\xff", NewKey("/\uFFFD", PosixRealtime)},
		{"posix:/\xe6\x97", NewKey("/\uFFFD\uFFFD", PosixRealtime)},
		{"posix:a:b", NewKey("a:b", PosixRealtime)},
		// query
		{"posix:/x?", NewKey("/x", PosixRealtime)},
		{"posix:/x?#frag", NewKey("/x", PosixRealtime)},
		{"posix:/x?legacyKey=", NewKey("/x", PosixRealtime)},
		{"posix:/x?legacyKey", NewKey("/x", PosixRealtime)},
		{"posix:/x?legacyKey=a", Key{PosixRealtime, "/x", "a", true}},
		{"posix:/x?legacyKey=a&", Key{PosixRealtime, "/x", "a", true}},
		{"posix:/x?legacyKey=1&legacyKey=2", Key{PosixRealtime, "/x", "2", true}},
		{"posix:/x?legacyKey=a=b", Key{PosixRealtime, "/x", "a=b", true}},
		{"posix:/x?legacyKey=a+b c", Key{PosixRealtime, "/x", "a+b c", true}},
		{"posix:/x?legacyKey=a?b/c", Key{PosixRealtime, "/x", "a?b/c", true}},
		{"posix:/x?legacy%4Bey=a", Key{PosixRealtime, "/x", "a", true}},
		{"posix:/x?legacyKey=%E6%97%A5", Key{PosixRealtime, "/x", "日", true}},
		{"posix:/x?legacyKey=%E6%97", Key{PosixRealtime, "/x", "\uFFFD\uFFFD", true}},
		{"posix:/x?legacyKey=%EF%BB%BFabc", Key{PosixRealtime, "/x", "abc", true}}, // QString::fromUtf8 drops a BOM
		{"posix:/x?legacyKey=\uFEFFabc", Key{PosixRealtime, "/x", "abc", true}},
		{"posix:/x?legacyKey=a%zz%41", Key{PosixRealtime, "/x", "a%zz%41", true}},
		{"posix:/x?legacyKey=a%41&legacyKey=%", Key{PosixRealtime, "/x", "%", true}},
		{"posix:/x?legacyKey=a#b", Key{PosixRealtime, "/x", "a", true}},
		{"posix:?legacyKey=a", Key{PosixRealtime, "", "a", true}},
		{"posix:/x?&legacyKey=a", Key{}},
		{"posix:/x?legacyKey=a&&", Key{}},
		{"posix:/x?=a", Key{}},
		{"posix:/x?legacykey=a", Key{}},
		{"posix:/x?legacyKey=a&other=b", Key{}},
		{"posix:/x?legacy%zzKey=a", Key{}},
		// docs/qt-ipc.md §9.4 encoding stress
		{"posix:100%25/%3F%23?legacyKey=a%26b%3Dc%25d", Key{PosixRealtime, "100%/?#", "a&b=c%d", true}},
	}
	for _, tt := range tests {
		got, err := ParseKey(tt.in)
		if tt.want == (Key{}) {
			if err == nil {
				t.Errorf("ParseKey(%q) = %+v, want error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(parsed(tt.want), got); d != "" {
			t.Errorf("ParseKey(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	tests := []struct{ in, qt string }{
		{"foo:x", `ParseKey: unknown key type "foo"`},
		{"posix", `ParseKey: missing key type: no "<type>:" prefix`},
		{"1x:y", `ParseKey: malformed key type "1x"`},
		{"systemv-0:", `ParseKey: invalid System V project id in "systemv-0" (want systemv-1 to systemv-255)`},
		{"posix://h/x", `ParseKey: unexpected authority "h" (only an empty one is allowed)`},
		{"posix:/x?bar=1", `ParseKey: unknown query item "bar" (only legacyKey is allowed)`},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseKey(%q) error %v is not an *Error", tt.in, err)
			continue
		}
		if e.Kind != KeyError || e.QtOp != "ParseKey" || e.Key != (Key{}) {
			t.Errorf("ParseKey(%q) error = %+v", tt.in, e)
		}
		if !errors.Is(err, ErrKey) {
			t.Errorf("ParseKey(%q): errors.Is(err, ErrKey) = false", tt.in)
		}
		if got := QtErrorString(err); got != tt.qt {
			t.Errorf("ParseKey(%q): QtErrorString = %q, want %q", tt.in, got, tt.qt)
		}
		if got, want := err.Error(), "qipc: parse: "+strings.TrimPrefix(tt.qt, "ParseKey: "); got != want {
			t.Errorf("ParseKey(%q): Error() = %q, want %q", tt.in, got, want)
		}
	}
}

// TestKeyStringInvalidUTF8 pins what String does with bytes no Qt string
// can hold: they are written raw and read back as U+FFFD.
func TestKeyStringInvalidUTF8(t *testing.T) {
	k := Key{Type: PosixRealtime, Native: "/a\xffb#", LegacyKey: "\xfe="}
	s := k.String()
	if want := "posix:/a\xffb%23?legacyKey=\xfe%3D"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	got, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Key{PosixRealtime, "/a\uFFFDb#", "\uFFFD=", true}, got); d != "" {
		t.Errorf("ParseKey(String()) (-want +got):\n%s", d)
	}
}

// TestLegacyKeysQtRows holds tst_qnativeipckey::legacyKeys: the type is
// kept, the string form round-trips and shows the legacy key as QUrl
// encodes it.
func TestLegacyKeysQtRows(t *testing.T) {
	rows := []struct{ name, legacy, encoded string }{
		{"empty", "", ""},
		{"text", "foobar", "foobar"},
		{"pathlike", "/sometext", "/sometext"},
		{"objectlike", `Global\sometext`, `Global\sometext`},
		{"colon-slash", ":/", ":/"},
		{"slash-colon", "/:", "/:"},
		{"percent", "%", "%25"},
		{"question-hash", "?#", "?%23"},
		{"hash-question", "#?", "%23?"},
		{"double-slash", "//", "//"},
		{"triple-slash", "///", "///"},
		{"non-ascii", "\u00e9", "\u00e9"},
		{"non-utf8", "\u00a0\u00ff", "\u00a0\u00ff"},
		{"non-latin1", ":" + nonLatin1, ":" + nonLatin1},
	}
	targets := []struct {
		name  string
		tg    target
		types []KeyType // DefaultTypeForOs and the legacy default
	}{
		{"linux", linuxTarget, []KeyType{PosixRealtime, SystemV}},
		{"darwin", macTarget, []KeyType{PosixRealtime, SystemV}},
		{"darwin-sandboxed", macSandboxed, []KeyType{PosixRealtime}},
		{"windows", windowsTarget, []KeyType{Windows}},
	}
	for _, tg := range targets {
		for _, typ := range tg.types {
			for _, kind := range []ipcKind{kindSharedMemory, kindSemaphore} {
				for _, r := range rows {
					name := tg.name + "-" + typ.String() + "-" + r.name
					k := legacyKey(tg.tg, kind, r.legacy, typ)
					if k.Type != typ {
						t.Errorf("%s: type %v, want %v", name, k.Type, typ)
					}
					if k.LegacyKey != r.legacy {
						t.Errorf("%s: LegacyKey %q, want %q", name, k.LegacyKey, r.legacy)
					}
					s := k.String()
					back, err := ParseKey(s)
					if err != nil {
						t.Errorf("%s: ParseKey(%q): %v", name, s, err)
					} else if back != k {
						t.Errorf("%s: round trip (-want +got):\n%s", name, cmp.Diff(k, back))
					}
					if r.legacy != "" && !strings.Contains(s, "?legacyKey="+r.encoded) {
						t.Errorf("%s: %q lacks ?legacyKey=%s", name, s, r.encoded)
					}
				}
			}
		}
	}
}

// docs/qt-ipc.md §9.1
func TestLegacyHashAndLetters(t *testing.T) {
	tests := []struct{ k, letters, hash string }{
		{"myapp", "myapp", "94e7d341f71ff6f43253f1c5e813057b22f91cda"},
		{"org.example.myapp", "orgexamplemyapp", "350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb"},
		{"org.example.myapp-12345", "orgexamplemyapp", "63823d3c0284aac121bacc312c412fd4fd505091"},
		{"Shared", "Shared", "50d0d8dd11a959484cb838e05c14b2e51b64c68d"},
		{japaneseKey, "", "9efc7943abbd79bf1f9283845e755b8872c9911c"},
		{"my key/with slash", "mykeywithslash", "c9a6e398bfb2fe9c34cca9d4236a5697521ba91e"},
		{"Noël", "Nol", "f74a492d6bd59d7591144462d27aa3e29d1701c1"},
	}
	for _, tt := range tests {
		if got := legacyLetters(tt.k); got != tt.letters {
			t.Errorf("legacyLetters(%q) = %q, want %q", tt.k, got, tt.letters)
		}
		// Windows legacy keys are prefix + letters + hash with nothing else.
		got := legacyKey(windowsTarget, kindSharedMemory, tt.k, Windows).Native
		if want := shmPrefix + tt.letters + tt.hash; got != want {
			t.Errorf("hash of %q: native %q, want %q", tt.k, got, want)
		}
	}
}

// docs/qt-ipc.md §9.2: legacy native keys on every platform, for both kinds; the
// semaphore column is also the QSharedMemory lock.
func TestLegacyKeysSpec(t *testing.T) {
	type cols struct{ sysvShm, sysvSem, posixShm, posixSem, apple, appleSandboxed, winShm, winSem string }
	mk := func(k, letters, h string) cols {
		return cols{
			sysvShm: "/tmp/qipc_sharedmemory_" + letters + h, sysvSem: "/tmp/qipc_systemsem_" + letters + h,
			posixShm: "/qipc_sharedmemory_" + letters + h, posixSem: "/qipc_systemsem_" + letters + h,
			apple: "/" + h[:29], appleSandboxed: k,
			winShm: "qipc_sharedmemory_" + letters + h, winSem: "qipc_systemsem_" + letters + h,
		}
	}
	// Spelled out once from the tables of docs/qt-ipc.md §9.2 so that a
	// regression in mk cannot hide one in the code.
	spelled := map[string]cols{
		"myapp": {
			"/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
			"/tmp/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
			"/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
			"/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
			"/94e7d341f71ff6f43253f1c5e8130",
			"myapp",
			"qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
			"qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda",
		},
		"org.example.myapp": {
			"/tmp/qipc_sharedmemory_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
			"/tmp/qipc_systemsem_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
			"/qipc_sharedmemory_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
			"/qipc_systemsem_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
			"/350d7df8d3d519a2da33a2c7c3ddf",
			"org.example.myapp",
			"qipc_sharedmemory_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
			"qipc_systemsem_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb",
		},
		"org.example.myapp-12345": {
			"/tmp/qipc_sharedmemory_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
			"/tmp/qipc_systemsem_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
			"/qipc_sharedmemory_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
			"/qipc_systemsem_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
			"/63823d3c0284aac121bacc312c412",
			"org.example.myapp-12345",
			"qipc_sharedmemory_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
			"qipc_systemsem_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091",
		},
		"Shared": {
			"/tmp/qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
			"/tmp/qipc_systemsem_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
			"/qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
			"/qipc_systemsem_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
			"/50d0d8dd11a959484cb838e05c14b",
			"Shared",
			"qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
			"qipc_systemsem_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d",
		},
		japaneseKey: {
			"/tmp/qipc_sharedmemory_9efc7943abbd79bf1f9283845e755b8872c9911c",
			"/tmp/qipc_systemsem_9efc7943abbd79bf1f9283845e755b8872c9911c",
			"/qipc_sharedmemory_9efc7943abbd79bf1f9283845e755b8872c9911c",
			"/qipc_systemsem_9efc7943abbd79bf1f9283845e755b8872c9911c",
			"/9efc7943abbd79bf1f9283845e755",
			japaneseKey,
			"qipc_sharedmemory_9efc7943abbd79bf1f9283845e755b8872c9911c",
			"qipc_systemsem_9efc7943abbd79bf1f9283845e755b8872c9911c",
		},
		"my key/with slash": {
			"/tmp/qipc_sharedmemory_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
			"/tmp/qipc_systemsem_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
			"/qipc_sharedmemory_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
			"/qipc_systemsem_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
			"/c9a6e398bfb2fe9c34cca9d4236a5",
			"my key/with slash",
			"qipc_sharedmemory_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
			"qipc_systemsem_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e",
		},
	}
	if d := cmp.Diff(spelled["myapp"], mk("myapp", "myapp", "94e7d341f71ff6f43253f1c5e813057b22f91cda"), cmp.AllowUnexported(cols{})); d != "" {
		t.Fatalf("table helper disagrees with the spec (-want +got):\n%s", d)
	}
	for k, want := range spelled {
		native := func(tg target, kind ipcKind, typ KeyType) string {
			key := legacyKey(tg, kind, k, typ)
			if key.LegacyKey != k || key.Type != typ {
				t.Errorf("%q on %s: %+v does not record type and legacy key", k, tg.goos, key)
			}
			return key.Native
		}
		got := cols{
			sysvShm:        native(linuxTarget, kindSharedMemory, SystemV),
			sysvSem:        native(linuxTarget, kindSemaphore, SystemV),
			posixShm:       native(linuxTarget, kindSharedMemory, PosixRealtime),
			posixSem:       native(linuxTarget, kindSemaphore, PosixRealtime),
			apple:          native(macTarget, kindSharedMemory, PosixRealtime),
			appleSandboxed: native(macSandboxed, kindSharedMemory, PosixRealtime),
			winShm:         native(windowsTarget, kindSharedMemory, Windows),
			winSem:         native(windowsTarget, kindSemaphore, Windows),
		}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(cols{})); d != "" {
			t.Errorf("legacy keys of %q (-want +got):\n%s", k, d)
		}
		if a, b := native(macTarget, kindSemaphore, PosixRealtime), got.apple; a != b {
			t.Errorf("%q: Apple POSIX semaphore %q differs from shm %q", k, a, b)
		}
		if a := native(macSandboxed, kindSemaphore, PosixRealtime); a != k {
			t.Errorf("%q: sandboxed semaphore %q", k, a)
		}
		// The lock of a legacy shared-memory key is the legacy semaphore.
		for _, c := range []struct {
			tg   target
			typ  KeyType
			want string
		}{{linuxTarget, SystemV, want.sysvSem}, {linuxTarget, PosixRealtime, want.posixSem}, {windowsTarget, Windows, want.winSem}} {
			lock := lockKeyForTarget(c.tg, legacyKey(c.tg, kindSharedMemory, k, c.typ))
			if d := cmp.Diff(Key{c.typ, c.want, k, true}, lock); d != "" {
				t.Errorf("lock of legacy %q %v (-want +got):\n%s", k, c.typ, d)
			}
		}
	}
	// Empty K: empty native key, type kept, no legacy key.
	for _, tg := range []target{linuxTarget, macTarget, macSandboxed, windowsTarget} {
		for _, typ := range []KeyType{SystemV, PosixRealtime, Windows} {
			if got := legacyKey(tg, kindSharedMemory, "", typ); got != (Key{Type: typ}) {
				t.Errorf("legacy \"\" %v on %s = %+v", typ, tg.goos, got)
			}
		}
	}
	// Types the OS lacks give an empty key without a legacy key, as in Qt.
	for _, c := range []struct {
		tg  target
		typ KeyType
	}{{linuxTarget, Windows}, {windowsTarget, SystemV}, {windowsTarget, PosixRealtime}, {windowsTarget, 84}} {
		if got := legacyKey(c.tg, kindSemaphore, "myapp", c.typ); got != (Key{Type: c.typ}) {
			t.Errorf("legacy myapp %v on %s = %+v, want empty", c.typ, c.tg.goos, got)
		}
	}
	// Non-standard System V types use the same directory and name.
	if got := legacyKey(linuxTarget, kindSharedMemory, "myapp", 84); got.Native != spelled["myapp"].sysvShm {
		t.Errorf("type 84 legacy key %q", got.Native)
	}
}

// docs/qt-ipc.md §9.3: Qt 6.6+ platformSafeKey on every platform.
func TestPlatformSafeKeysSpec(t *testing.T) {
	type cols struct{ posix, apple, winShm, winSem, winLock, sysv string }
	tests := []struct {
		k    string
		want cols
	}{
		{"myapp", cols{"/myapp", "/myapp", "shm_myapp", "sem_myapp", "shm_myapp_sem", "/run/user/1000/myapp"}},
		{"org.example.myapp", cols{"/org.example.myapp", "/org.example.myapp", "shm_org.example.myapp", "sem_org.example.myapp", "shm_org.example.myapp_sem", "/run/user/1000/org.example.myapp"}},
		{"org.example.myapp-12345", cols{"/org.example.myapp-12345", "/org.example.myapp-12345", "shm_org.example.myapp-12345", "sem_org.example.myapp-12345", "shm_org.example.myapp-12345_sem", "/run/user/1000/org.example.myapp-12345"}},
		{"Shared", cols{"/Shared", "/Shared", "shm_Shared", "sem_Shared", "shm_Shared_sem", "/run/user/1000/Shared"}},
		{japaneseKey, cols{"/日本語キー", "/日本語キー", "shm_日本語キー", "sem_日本語キー", "shm_日本語キー_sem", "/run/user/1000/日本語キー"}},
		{"my key/with slash", cols{"/my key/with slash", "/my key/with slash", "shm_my key/with slash", "sem_my key/with slash", "shm_my key/with slash_sem", "/run/user/1000/my key/with slash"}},
		{longName, cols{"/org.example.verylongapplicationname", "/org.example.verylongapplicati", "shm_org.example.verylongapplicationname", "sem_org.example.verylongapplicationname", "shm_org.example.verylongapplicationname_sem", "/run/user/1000/org.example.verylongapplicationname"}},
		{`Global\x`, cols{`/Global\x`, `/Global\x`, `Global\shm_x`, `Global\sem_x`, `Global\shm_x_sem`, `/run/user/1000/Global\x`}},
		{"/abs/path", cols{"//abs/path", "//abs/path", "shm_/abs/path", "sem_/abs/path", "shm_/abs/path_sem", "/abs/path"}},
		{"", cols{"", "", "", "", "_sem", ""}},
	}
	for _, tt := range tests {
		winShm := platformSafeKey(windowsTarget, kindSharedMemory, tt.k, Windows)
		got := cols{
			posix:   platformSafeKey(linuxTarget, kindSharedMemory, tt.k, PosixRealtime).Native,
			apple:   platformSafeKey(macTarget, kindSharedMemory, tt.k, PosixRealtime).Native,
			winShm:  winShm.Native,
			winSem:  platformSafeKey(windowsTarget, kindSemaphore, tt.k, Windows).Native,
			winLock: lockKeyForTarget(windowsTarget, winShm).Native,
			sysv:    platformSafeKey(linuxTarget, kindSharedMemory, tt.k, SystemV).Native,
		}
		if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(cols{})); d != "" {
			t.Errorf("platformSafeKey(%q) (-want +got):\n%s", tt.k, d)
		}
		// On Unix both kinds name the same object, and so does the lock.
		for _, tg := range []target{linuxTarget, macTarget} {
			for _, typ := range []KeyType{PosixRealtime, SystemV, 84} {
				shm := platformSafeKey(tg, kindSharedMemory, tt.k, typ)
				sem := platformSafeKey(tg, kindSemaphore, tt.k, typ)
				if shm != sem || lockKeyForTarget(tg, shm) != shm || shm.LegacyKey != "" || shm.Type != typ {
					t.Errorf("%q %v on %s: shm %+v sem %+v", tt.k, typ, tg.goos, shm, sem)
				}
			}
		}
		// Apple System V lives under ~/Library/Application Support.
		if tt.k != "" && !strings.HasPrefix(tt.k, "/") {
			got := platformSafeKey(macTarget, kindSemaphore, tt.k, SystemV).Native
			if want := "/Users/me/Library/Application Support/" + tt.k; got != want {
				t.Errorf("macOS System V %q = %q, want %q", tt.k, got, want)
			}
		}
	}
	// XDG_RUNTIME_DIR unset: the fallback directory, then "" (root).
	fallback := linuxTarget
	fallback.runtimeDir = "/tmp/runtime-root"
	if got := platformSafeKey(fallback, kindSharedMemory, "myapp", SystemV).Native; got != "/tmp/runtime-root/myapp" {
		t.Errorf("fallback runtime dir key %q", got)
	}
	fallback.runtimeDir = ""
	if got := platformSafeKey(fallback, kindSharedMemory, "myapp", SystemV).Native; got != "/myapp" {
		t.Errorf("no runtime dir key %q", got)
	}
	// Types the OS lacks give an empty native key with the type kept.
	for _, c := range []struct {
		tg  target
		typ KeyType
	}{{linuxTarget, Windows}, {macTarget, Windows}, {windowsTarget, PosixRealtime}, {windowsTarget, SystemV}} {
		if got := platformSafeKey(c.tg, kindSharedMemory, "myapp", c.typ); got != (Key{Type: c.typ}) {
			t.Errorf("platformSafeKey myapp %v on %s = %+v, want empty", c.typ, c.tg.goos, got)
		}
	}
	// Qt sends invalid types down the System V path too.
	if got := platformSafeKey(linuxTarget, kindSharedMemory, "x", 0); got != (Key{0, "/run/user/1000/x", "", true}) {
		t.Errorf("invalid type: %+v", got)
	}
}

// Truncation counts UTF-16 code units, as QString::left/truncate do.
func TestUTF16Truncation(t *testing.T) {
	emoji := "\U0001F600" // two code units
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"abc", 0, ""},
		{"日本語", 2, "日本"},
		{emoji + emoji, 4, emoji + emoji},
		{emoji + emoji, 3, emoji + "?"}, // the lone high surrogate Qt's UTF-8 encoder replaces
		{emoji + emoji, 2, emoji},
		{"a" + emoji, 2, "a?"},
		{"\xff\xfeab", 3, "\xff\xfea"},
	}
	for _, tt := range tests {
		if got := leftUTF16(tt.s, tt.n, false); got != tt.want {
			t.Errorf("leftUTF16(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	// Windows keeps the lone high surrogate, in WTF-8, and winUTF16 gives
	// it back as the one unit Qt's QString holds.
	cut := leftUTF16("a"+emoji, 2, true)
	if cut != "a\xed\xa0\xbd" {
		t.Errorf("Windows cut %q, want a + WTF-8 of U+D83D", cut)
	}
	if got := winUTF16(cut + "_sem"); !slices.Equal(got, []uint16{'a', 0xD83D, '_', 's', 'e', 'm'}) {
		t.Errorf("winUTF16 of the cut: %#x", got)
	}
	if got := leftUTF16(cut+"bc", 2, true); got != cut {
		t.Errorf("a lone surrogate counts as one unit: %q", got)
	}
	if got := winUTF16("\xffé" + emoji); !slices.Equal(got, []uint16{0xFFFD, 0xE9, 0xD83D, 0xDE00}) {
		t.Errorf("winUTF16: %#x", got)
	}
	// Apple: "/" + 29 units.
	name := strings.Repeat("a", 28) + emoji + "tail"
	if got := platformSafeKey(macTarget, kindSharedMemory, name, PosixRealtime).Native; got != "/"+strings.Repeat("a", 28)+"?" {
		t.Errorf("Apple key %q", got)
	}
	name = strings.Repeat("é", 40)
	if got := platformSafeKey(macTarget, kindSharedMemory, name, PosixRealtime).Native; got != "/"+strings.Repeat("é", 29) {
		t.Errorf("Apple key %q", got)
	}
	// Windows: 260 units after the prefix is inserted; the lock keeps 255.
	long := strings.Repeat("x", 300)
	shm := platformSafeKey(windowsTarget, kindSharedMemory, long, Windows)
	if want := "shm_" + strings.Repeat("x", 256); shm.Native != want {
		t.Errorf("Windows shm key has %d bytes, want %d", len(shm.Native), len(want))
	}
	if got := platformSafeKey(windowsTarget, kindSemaphore, `Local\`+long, Windows).Native; got != `Local\sem_`+strings.Repeat("x", 250) {
		t.Errorf("Windows Local sem key %q", got)
	}
	if got, want := lockKeyForTarget(windowsTarget, shm).Native, "shm_"+strings.Repeat("x", 251)+"_sem"; got != want {
		t.Errorf("Windows lock key has %d bytes, want %d", len(got), len(want))
	}
	// Prefixes are case-sensitive and need their single backslash.
	for name, want := range map[string]string{`local\x`: `shm_local\x`, `Global\\x`: `Global\shm_\x`, `Global/x`: `shm_Global/x`, `Local\`: `Local\shm_`} {
		if got := platformSafeKey(windowsTarget, kindSharedMemory, name, Windows).Native; got != want {
			t.Errorf("Windows key of %q = %q, want %q", name, got, want)
		}
	}
}

// parsed is k as ParseKey gives it back: a Qt 6.6+ string names a key with
// Qt 6.6+'s lock.
func parsed(k Key) Key {
	k.NativeLock = k.Native != ""
	return k
}

func TestLockKey(t *testing.T) {
	plain := Key{Type: Windows, Native: "shm_myapp", NativeLock: true}
	if got := lockKeyForTarget(windowsTarget, plain); got != (Key{Windows, "shm_myapp_sem", "", true}) {
		t.Errorf("Windows lock %+v", got)
	}
	// Off Windows, Qt leaves even a Windows key alone.
	if got := lockKeyForTarget(linuxTarget, plain); got != plain {
		t.Errorf("Windows key's lock on Linux %+v", got)
	}
	for _, k := range []Key{NewKey("/myapp", PosixRealtime), NewKey("/run/user/1000/myapp", SystemV), NewKey("/x", 84), NewKey("", PosixRealtime)} {
		// Qt <= 6.5's native keys have no lock; Qt 6.6+'s lock themselves.
		if got := lockKeyFor(k); got != (Key{}) || k.HasLock() {
			t.Errorf("lockKeyFor(%+v) = %+v, HasLock %v; want no lock", k, got, k.HasLock())
		}
		k.NativeLock = true
		if got := lockKeyFor(k); got != k || !k.HasLock() {
			t.Errorf("lockKeyFor(%+v) = %+v", k, got)
		}
	}
	// A legacy key's lock follows the legacy key, not the native string.
	odd := Key{Type: PosixRealtime, Native: "/whatever", LegacyKey: "myapp"}
	want := Key{PosixRealtime, "/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda", "myapp", true}
	if runtime.GOOS == "darwin" {
		want.Native = "/94e7d341f71ff6f43253f1c5e8130"
	}
	if runtime.GOOS != "windows" {
		if got := lockKeyFor(odd); got != want {
			t.Errorf("lockKeyFor(%+v) (-want +got):\n%s", odd, cmp.Diff(want, got))
		}
	}
	if runtime.GOOS == "linux" {
		dir := canonicalTempDir(t)
		t.Setenv("TMPDIR", dir)
		got := lockKeyFor(LegacySharedMemoryKey("myapp", SystemV))
		if want := (Key{SystemV, dir + "/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda", "myapp", true}); got != want {
			t.Errorf("legacy System V lock (-want +got):\n%s", cmp.Diff(want, got))
		}
	}
}

// docs/qt-ipc.md §9.4: toString of derived keys, and back.
func TestKeyStringSpec(t *testing.T) {
	plat := func(tg target, kind ipcKind, k string, typ KeyType) Key { return platformSafeKey(tg, kind, k, typ) }
	leg := func(tg target, k string, typ KeyType) Key { return legacyKey(tg, kindSharedMemory, k, typ) }
	tests := []struct {
		k    Key
		want string
	}{
		{plat(linuxTarget, kindSharedMemory, "myapp", PosixRealtime), "posix:/myapp"},
		{plat(linuxTarget, kindSharedMemory, "org.example.myapp", PosixRealtime), "posix:/org.example.myapp"},
		{plat(linuxTarget, kindSharedMemory, "org.example.myapp-12345", PosixRealtime), "posix:/org.example.myapp-12345"},
		{plat(linuxTarget, kindSharedMemory, "Shared", PosixRealtime), "posix:/Shared"},
		{plat(linuxTarget, kindSharedMemory, japaneseKey, PosixRealtime), "posix:/日本語キー"},
		{plat(linuxTarget, kindSharedMemory, "my key/with slash", PosixRealtime), "posix:/my key/with slash"},
		{plat(linuxTarget, kindSharedMemory, "", PosixRealtime), "posix:"},
		{plat(linuxTarget, kindSharedMemory, "myapp", SystemV), "systemv:/run/user/1000/myapp"},
		{plat(linuxTarget, kindSharedMemory, "my key/with slash", SystemV), "systemv:/run/user/1000/my key/with slash"},
		{NewKey("/run/user/1000/myapp", 'T'), "systemv-84:/run/user/1000/myapp"},
		{plat(windowsTarget, kindSharedMemory, "myapp", Windows), "windows:shm_myapp"},
		{plat(windowsTarget, kindSemaphore, japaneseKey, Windows), "windows:sem_日本語キー"},
		{leg(linuxTarget, "myapp", SystemV), "systemv:/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda?legacyKey=myapp"},
		{leg(linuxTarget, japaneseKey, SystemV), "systemv:/tmp/qipc_sharedmemory_9efc7943abbd79bf1f9283845e755b8872c9911c?legacyKey=日本語キー"},
		{leg(linuxTarget, "my key/with slash", SystemV), "systemv:/tmp/qipc_sharedmemory_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e?legacyKey=my key/with slash"},
		{leg(linuxTarget, "org.example.myapp", PosixRealtime), "posix:/qipc_sharedmemory_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb?legacyKey=org.example.myapp"},
		{leg(windowsTarget, "Shared", Windows), "windows:qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d?legacyKey=Shared"},
		{leg(macTarget, "myapp", PosixRealtime), "posix:/94e7d341f71ff6f43253f1c5e8130?legacyKey=myapp"},
		{Key{PosixRealtime, "100%/?#", "a&b=c%d", true}, "posix:100%25/%3F%23?legacyKey=a%26b%3Dc%25d"},
		{leg(linuxTarget, "", SystemV), "systemv:"},
		{legacyKey(linuxTarget, kindSemaphore, "myapp", SystemV), "systemv:/tmp/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda?legacyKey=myapp"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.k, got, tt.want)
		}
		back, err := ParseKey(tt.want)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tt.want, err)
		} else if d := cmp.Diff(parsed(tt.k), back); d != "" {
			t.Errorf("ParseKey(%q) (-want +got):\n%s", tt.want, d)
		}
	}
}

// canonicalTempDir returns a fresh directory whose path has no symlinks, so
// the canonicalising temp-dir rule leaves it unchanged.
func canonicalTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("observed on Linux; the rules for other systems are tested with fake targets")
	}
}

// The legacy keys Qt 5.15.8 and 6.4.2 really used on Debian 12
// (docs/qt-ipc.md §10), through the exported API.
func TestLegacyKeysObservedDebian(t *testing.T) {
	requireLinux(t)
	if real, err := filepath.EvalSymlinks("/tmp"); err != nil || real != "/tmp" {
		t.Skip("/tmp is not a plain directory here")
	}
	t.Setenv("TMPDIR", "")
	tests := []struct{ k, shm, sem string }{
		{"myapp", "/tmp/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda", "/tmp/qipc_systemsem_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda"},
		{"org.example.myapp", "/tmp/qipc_sharedmemory_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb", "/tmp/qipc_systemsem_orgexamplemyapp350d7df8d3d519a2da33a2c7c3ddf1135a47bcfb"},
		{"org.example.myapp-12345", "/tmp/qipc_sharedmemory_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091", "/tmp/qipc_systemsem_orgexamplemyapp63823d3c0284aac121bacc312c412fd4fd505091"},
		{"Shared", "/tmp/qipc_sharedmemory_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d", "/tmp/qipc_systemsem_Shared50d0d8dd11a959484cb838e05c14b2e51b64c68d"},
		{"日本語", "/tmp/qipc_sharedmemory_c12140a0ffb4e56481b4fe0a7a25040c2eafa9ca", "/tmp/qipc_systemsem_c12140a0ffb4e56481b4fe0a7a25040c2eafa9ca"},
		{"a/b c", "/tmp/qipc_sharedmemory_abc9f597a6381e7a0fee622ffbfefd870231c4ae8fc", "/tmp/qipc_systemsem_abc9f597a6381e7a0fee622ffbfefd870231c4ae8fc"},
		{japaneseKey, "/tmp/qipc_sharedmemory_9efc7943abbd79bf1f9283845e755b8872c9911c", "/tmp/qipc_systemsem_9efc7943abbd79bf1f9283845e755b8872c9911c"},
		{"my key/with slash", "/tmp/qipc_sharedmemory_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e", "/tmp/qipc_systemsem_mykeywithslashc9a6e398bfb2fe9c34cca9d4236a5697521ba91e"},
		{"Noël", "/tmp/qipc_sharedmemory_Nolf74a492d6bd59d7591144462d27aa3e29d1701c1", "/tmp/qipc_systemsem_Nolf74a492d6bd59d7591144462d27aa3e29d1701c1"},
	}
	for _, tt := range tests {
		typ := LegacyDefaultKeyType()
		if d := cmp.Diff(Key{typ, tt.shm, tt.k, true}, LegacySharedMemoryKey(tt.k, typ)); d != "" {
			t.Errorf("LegacySharedMemoryKey(%q) (-want +got):\n%s", tt.k, d)
		}
		if d := cmp.Diff(Key{typ, tt.sem, tt.k, true}, LegacySemaphoreKey(tt.k, typ)); d != "" {
			t.Errorf("LegacySemaphoreKey(%q) (-want +got):\n%s", tt.k, d)
		}
	}
	if got := LegacySharedMemoryKey("", SystemV); got != (Key{Type: SystemV}) {
		t.Errorf("empty legacy key %+v", got)
	}
}

// The TMPDIR table of docs/qt-ipc.md §10.
func TestLegacyTempDirCanonical(t *testing.T) {
	requireLinux(t)
	base := canonicalTempDir(t)
	real := filepath.Join(base, "R")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(base, "L")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(base, "rel"), 0o755); err != nil {
		t.Fatal(err)
	}
	const suffix = "/qipc_sharedmemory_myapp94e7d341f71ff6f43253f1c5e813057b22f91cda"
	tests := []struct{ tmpdir, want string }{
		{"", "/tmp"},
		{"/tmp/", "/tmp"},
		{"/tmp//x/../", "/tmp"},
		{base + "/", base},
		{base + "//./R/", real},
		{base + "/L", real},
		{base + "/L/", real},
		{base + "/nonexistent", ""},
		{"/nonexistent", ""},
		{"relative/dir", ""},
	}
	if fi, err := os.Stat("/var/tmp"); err == nil && fi.IsDir() {
		if r, err := filepath.EvalSymlinks("/var/tmp"); err == nil {
			tests = append(tests, struct{ tmpdir, want string }{"/var/tmp", r})
		}
	}
	for _, tt := range tests {
		want := tt.want
		if want == "/tmp" {
			r, err := filepath.EvalSymlinks("/tmp")
			if err != nil {
				continue
			}
			want = r
		}
		if got := qtnames.LegacyTempDir(tt.tmpdir); got != want {
			t.Errorf("qtnames.LegacyTempDir(%q) = %q, want %q", tt.tmpdir, got, want)
		}
		t.Setenv("TMPDIR", tt.tmpdir)
		if got := LegacySharedMemoryKey("myapp", SystemV).Native; got != want+suffix {
			t.Errorf("TMPDIR=%q: key %q, want %q", tt.tmpdir, got, want+suffix)
		}
	}
	// An existing relative directory is made absolute.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(base); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if got := qtnames.LegacyTempDir("rel"); got != filepath.Join(base, "rel") {
		t.Errorf("qtnames.LegacyTempDir(rel) = %q", got)
	}
}

// The runtime-directory rules behind Qt 6.6+ System V keys, through the
// exported API.
func TestRuntimeDir(t *testing.T) {
	requireLinux(t)
	me := qtnames.UserName(os.Geteuid())
	if u, err := user.Current(); err == nil && me != u.Username {
		t.Fatalf("userName = %q, user.Current = %q", me, u.Username)
	}
	type setup func(t *testing.T, base string) (xdg string)
	mkdir := func(name string, mode os.FileMode) setup {
		return func(t *testing.T, base string) string {
			p := filepath.Join(base, name)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	tests := []struct {
		name     string
		xdg      setup
		fallback os.FileMode // 0: fallback does not exist beforehand
		useXDG   bool        // else the fallback, or "" when it is unusable
		noDir    bool
	}{
		{name: "valid", xdg: mkdir("xdg", 0o700), useXDG: true},
		{name: "missing is created", xdg: func(t *testing.T, base string) string { return filepath.Join(base, "new") }, useXDG: true},
		{name: "wrong mode", xdg: mkdir("xdg", 0o755)},
		{name: "group readable", xdg: mkdir("xdg", 0o740)},
		{name: "sticky bit is not a permission", xdg: mkdir("xdg", 0o700|os.ModeSticky), useXDG: true},
		{name: "symlink", xdg: func(t *testing.T, base string) string {
			real := mkdir("real", 0o700)(t, base)
			p := filepath.Join(base, "link")
			if err := os.Symlink(real, p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "regular file", xdg: func(t *testing.T, base string) string {
			p := filepath.Join(base, "file")
			if err := os.WriteFile(p, nil, 0o700); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "parent missing", xdg: func(t *testing.T, base string) string { return filepath.Join(base, "a/b") }},
		{name: "relative", xdg: func(t *testing.T, base string) string { return "relative-xdg" }},
		{name: "unset", xdg: func(t *testing.T, base string) string { return "" }},
		{name: "unset, fallback exists", xdg: func(t *testing.T, base string) string { return "" }, fallback: 0o700},
		{name: "unset, fallback wrong mode", xdg: func(t *testing.T, base string) string { return "" }, fallback: 0o755, noDir: true},
		{name: "wrong mode, fallback wrong mode", xdg: mkdir("xdg", 0o711), fallback: 0o777, noDir: true},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name     string
			xdg      setup
			fallback os.FileMode
			useXDG   bool
			noDir    bool
		}{name: "owned by someone else", xdg: func(t *testing.T, base string) string {
			p := mkdir("xdg", 0o700)(t, base)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Skip(err)
			}
			return p
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := canonicalTempDir(t)
			xdg := tt.xdg(t, base)
			fallback := base + "/runtime-" + me
			if tt.fallback != 0 {
				if err := os.Mkdir(fallback, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(fallback, tt.fallback); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("TMPDIR", base)
			t.Setenv("XDG_RUNTIME_DIR", xdg)
			want := fallback + "/myapp"
			switch {
			case tt.useXDG:
				want = xdg + "/myapp"
			case tt.noDir:
				want = "/myapp"
			}
			for _, f := range []func(string, KeyType, ...KeyOption) Key{SharedMemoryKey, SemaphoreKey} {
				if d := cmp.Diff(Key{Type: SystemV, Native: want, NativeLock: true}, f("myapp", SystemV)); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			}
			dir := filepath.Dir(want)
			if dir != "/" {
				fi, err := os.Lstat(dir)
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
					t.Errorf("runtime dir %s: %v %v", dir, fi, err)
				}
			}
			if tt.name == "relative" {
				if _, err := os.Stat("relative-xdg"); err == nil {
					t.Error("relative XDG_RUNTIME_DIR was created")
				}
			}
			// Absolute names never look at the directory.
			if got := SharedMemoryKey("/abs/path", 84); got != (Key{84, "/abs/path", "", true}) {
				t.Errorf("absolute name: %+v", got)
			}
		})
	}
	t.Run("TMPDIR missing", func(t *testing.T) {
		t.Setenv("TMPDIR", filepath.Join(canonicalTempDir(t), "missing"))
		t.Setenv("XDG_RUNTIME_DIR", "")
		if got := SharedMemoryKey("myapp", SystemV); got != (Key{SystemV, "/myapp", "", true}) {
			t.Errorf("%+v", got)
		}
	})
	t.Run("POSIX needs no directory", func(t *testing.T) {
		base := canonicalTempDir(t)
		t.Setenv("TMPDIR", base)
		t.Setenv("XDG_RUNTIME_DIR", "")
		if got := SharedMemoryKey("myapp", PosixRealtime); got != (Key{PosixRealtime, "/myapp", "", true}) {
			t.Errorf("%+v", got)
		}
		if _, err := os.Stat(base + "/runtime-" + me); err == nil {
			t.Error("a POSIX key created the runtime directory")
		}
	})
}

// The exported derivations on this OS agree with the pure functions.
func TestExportedDerivations(t *testing.T) {
	requireLinux(t)
	for _, name := range []string{"myapp", japaneseKey, "my key/with slash", `Global\x`, ""} {
		for _, c := range []struct {
			got  Key
			want Key
		}{
			{SharedMemoryKey(name, PosixRealtime), platformSafeKey(linuxTarget, kindSharedMemory, name, PosixRealtime)},
			{SemaphoreKey(name, PosixRealtime), platformSafeKey(linuxTarget, kindSemaphore, name, PosixRealtime)},
			{SharedMemoryKey(name, Windows), Key{Type: Windows}},
			{SemaphoreKey(name, Windows), Key{Type: Windows}},
			{LegacySharedMemoryKey(name, PosixRealtime), legacyKey(linuxTarget, kindSharedMemory, name, PosixRealtime)},
			{LegacySemaphoreKey(name, PosixRealtime), legacyKey(linuxTarget, kindSemaphore, name, PosixRealtime)},
			{LegacySharedMemoryKey(name, Windows), Key{Type: Windows}},
		} {
			if d := cmp.Diff(c.want, c.got); d != "" {
				t.Errorf("%q (-want +got):\n%s", name, d)
			}
		}
	}
}

// Apple's POSIX names end at PSHMNAMLEN (31 bytes with the slash); the
// names Qt derives there fit, longer ones are a KeyError before any call.
func TestApplePosixNameLimit(t *testing.T) {
	apple := target{goos: "darwin"}
	derived := platformSafeKey(apple, kindSharedMemory, strings.Repeat("x", 100), PosixRealtime)
	if why := badNativeOn("darwin", derived); why != "" || len(derived.Native) > applePosixNameMax {
		t.Errorf("Qt's Apple name %q (%d bytes): %q", derived.Native, len(derived.Native), why)
	}
	long := NewKey("/"+strings.Repeat("x", 31), PosixRealtime)
	if why := badNativeOn("darwin", long); why != "key too long" {
		t.Errorf("32-byte POSIX name on darwin: %q, want key too long", why)
	}
	if why := badNativeOn("linux", long); why != "" {
		t.Errorf("32-byte POSIX name on linux: %q", why)
	}
}
