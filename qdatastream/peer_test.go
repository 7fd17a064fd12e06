package qdatastream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris and Europe/Berlin without a system zoneinfo

	"github.com/qipc-go/qipc/internal/harness"
)

// Byte-exact interoperability with real Qt: the C++ peer built against
// Qt 5 and Qt 6 (peers/qt/build.sh, `make peers`) and the PySide6 peer
// (peers/qdatastream/peer.py) each run every case of allCases in both
// directions. See peers/qdatastream/README.md.

// testZone is the time zone the peers run in and that Qt_5_0's local
// times are converted with.
const testZone = "Europe/Paris"

var testLoc = func() *time.Location {
	loc, err := time.LoadLocation(testZone)
	if err != nil {
		panic(err)
	}
	return loc
}()

type qdsPeer struct {
	name  string
	major int
	prog  harness.Program
}

var qdsPeers = []qdsPeer{
	{"qt5", 5, harness.Binary("qdspeer5", "apt-get install qtbase5-dev, then `make peers` (peers/qt/build.sh)")},
	{"qt6", 6, harness.Binary("qdspeer6", "apt-get install qt6-base-dev, then `make peers` (peers/qt/build.sh)")},
	{"pyside6", 6, harness.PySideGUI("qdatastream/peer.py")},
}

// require returns the peer's command, or skips the test (fails it under
// CI=true, where CI installs every peer). Off Linux it skips: the peers are
// built for Linux.
func (p qdsPeer) require(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the Qt peers are built for Linux (make peers)")
	}
	return p.prog.Require(t, p.name)
}

// talk runs the peer once with lines on its standard input and returns
// its answers by case name (the peer answers each line in turn).
func talk(t *testing.T, p qdsPeer, argv []string, lines []string) map[string]string {
	t.Helper()
	env := []string{"TZ=" + testZone, "QT_QPA_PLATFORM=offscreen", "XDG_RUNTIME_DIR=" + t.TempDir()}
	pr := harness.Start(t, p.name, argv, env, nil)
	// The lines go in while the answers come out: a peer whose output
	// nobody reads stops reading its input.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		pr.Send(strings.Join(lines, "\n"))
		pr.Release()
	}()
	t.Cleanup(func() { <-sent }) // a test that failed early has killed the peer: the sender ends
	answers := map[string]string{}
	for l := pr.Line(); l != "eof"; l = pr.Line() {
		name, rest, _ := strings.Cut(l, " ")
		answers[name] = rest
	}
	<-sent
	pr.Finish()
	if len(answers) < len(lines) {
		t.Fatalf("%s answered %d of %d lines", p.name, len(answers), len(lines))
	}
	return answers
}

// maskPNG replaces each PNG file inside b by "<PNG>": Qt's and Go's PNG
// encoders differ, the framing around them must not.
func maskPNG(b []byte) []byte {
	var out []byte
	for {
		i := bytes.Index(b, pngSignature)
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		j := i + len(pngSignature)
		for j+8 <= len(b) {
			n := int(binary.BigEndian.Uint32(b[j:]))
			typ := string(b[j+4 : j+8])
			j += 8 + n + 4
			if typ == "IEND" || j > len(b) {
				break
			}
		}
		out = append(out, "<PNG>"...)
		b = b[min(j, len(b)):]
	}
}

func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func unhex(s string) ([]byte, error) {
	if s == "-" {
		return nil, nil
	}
	return hex.DecodeString(s)
}

// goEncode writes c's value as a Qt <major> program would.
func goEncode(c tcase, ver Version, major int) ([]byte, error) {
	var b bytes.Buffer
	w := NewWriter(&b, ver, c.opts(major)...)
	encode(w, c.typ, c.val)
	return b.Bytes(), w.Err()
}

// goDecode reads a value of c's type from b, which it must use up.
func goDecode(c tcase, ver Version, b []byte) (any, error) {
	br := bytes.NewReader(b)
	r := NewReader(br, ver, c.opts(6)...)
	v := decode(r, c.typ)
	if err := r.Err(); err != nil {
		return nil, err
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%d bytes left unread", br.Len())
	}
	return v, nil
}

// TestCasesRoundTrip checks each case without Qt: what Go writes, Go
// reads back as the case says a reader must.
func TestCasesRoundTrip(t *testing.T) {
	for _, c := range allCases() {
		ver := c.ver
		if ver == 0 {
			ver = Qt_6_12
		}
		for _, major := range []int{5, 6} {
			b, err := goEncode(c, ver, major)
			if err != nil {
				t.Errorf("%s: encode: %v", c.name, err)
				continue
			}
			v, err := goDecode(c, ver, b)
			if err != nil {
				t.Errorf("%s: decode %x: %v", c.name, b, err)
				continue
			}
			if got := format(c.typ, v, false); got != c.want() {
				t.Errorf("%s (Qt %d order): read %s, want %s", c.name, major, got, c.want())
			}
		}
	}
}

type tally struct {
	pass, skip int
	textOnly   int // dec checks of the text alone: the peer could not write the value back with its type
	why        map[string]int
}

// TestQtPeers runs every case against every Qt peer, both ways:
//
//	enc: Qt writes the case; its bytes must equal Go's (PNG files
//	     masked: then Go's reader must see the same pixels), and Go must
//	     read them as the case says.
//	dec: Go writes the case; Qt must read it as the case says, with
//	     status Ok, no byte left over, and write what it read back as Go
//	     writes what Go reads.
func TestQtPeers(t *testing.T) {
	for _, p := range qdsPeers {
		t.Run(p.name, func(t *testing.T) {
			argv := p.require(t)
			maxv, err := strconv.Atoi(strings.TrimPrefix(talk(t, p, argv, []string{"max"})["max"], ""))
			if err != nil {
				t.Fatalf("peer %s: no newest version: %v", p.name, err)
			}
			type run struct {
				c   tcase
				ver Version
				g   []byte
			}
			var runs []run
			var lines []string
			cases := allCases()
			explicit := map[string]bool{} // cases named with the peer's newest version
			for _, c := range cases {
				if int(c.ver) == maxv {
					explicit[c.name] = true
				}
			}
			notRun := 0
			for _, c := range cases {
				if c.qt6Only && p.major < 6 {
					continue
				}
				ver := c.ver
				if ver == 0 {
					ver = Version(maxv)
					if explicit[strings.Replace(c.name, "/vnewest/", fmt.Sprintf("/v%d/", maxv), 1)] {
						continue // the same case is in the table with that version
					}
				} else if int(ver) > maxv {
					continue
				}
				if slices.Contains(strings.Fields(c.notOn), p.name) {
					notRun++
					continue
				}
				g, err := goEncode(c, ver, p.major)
				if err != nil {
					t.Errorf("%s: Go encode: %v", c.name, err)
					continue
				}
				runs = append(runs, run{c, ver, g})
				head := fmt.Sprintf("%d %s %s %s %s", ver, c.order(), c.prec(), c.typ, format(c.typ, c.val, true))
				lines = append(lines, "enc "+c.name+" "+head, "dec "+c.name+"#dec "+head+" "+hexOrDash(g))
			}
			answers := talk(t, p, argv, lines)
			tl := tally{why: map[string]int{}}
			kinds := map[string]*kindTally{}
			for _, r := range runs {
				k := kinds[caseKind(r.c)]
				if k == nil {
					k = &kindTally{vers: map[Version]bool{}, orders: map[string]bool{}}
					kinds[caseKind(r.c)] = k
				}
				pass, skip, text := tl.pass, tl.skip, tl.textOnly
				checkEnc(t, p, r.c, r.ver, r.g, answers[r.c.name], &tl)
				encPass := tl.pass
				checkDec(t, p, maxv, r.c, r.ver, r.g, answers[r.c.name+"#dec"], &tl)
				k.enc += encPass - pass
				k.dec += tl.pass - encPass
				k.skip += tl.skip - skip
				k.textOnly += tl.textOnly - text
				k.vers[r.ver] = true
				k.orders[r.c.order()+"/"+r.c.prec()] = true
			}
			if os.Getenv("QIPC_QDS_TYPES") != "" {
				for _, name := range sortedKeys(kinds) {
					t.Logf("%s %s", p.name, kinds[name].String(name))
				}
			}
			var whys []string
			for w, n := range tl.why {
				whys = append(whys, fmt.Sprintf("%d× %s", n, w))
			}
			slices.Sort(whys)
			t.Logf("%s (stream versions up to %d): %d cases (%d more not run on it), %d checks passed (%d of them dec checks of the text alone), %d skipped by the peer %v",
				p.name, maxv, len(runs), notRun, tl.pass, tl.textOnly, tl.skip, whys)
		})
	}
}

// kindTally is what one peer checked of one type: for a QVariant case
// its type's name in the text form, else the case's type.
type kindTally struct {
	enc, dec, skip, textOnly int
	vers                     map[Version]bool
	orders                   map[string]bool // ORDER/PREC
}

func caseKind(c tcase) string {
	if c.typ != "variant" {
		return c.typ
	}
	name, _, _ := strings.Cut(format(c.typ, c.val, true), ":")
	return "variant " + name
}

func (k *kindTally) String(name string) string {
	var vers, orders []string
	for _, v := range slices.Sorted(maps.Keys(k.vers)) {
		vers = append(vers, strconv.Itoa(int(v)))
	}
	orders = slices.Sorted(maps.Keys(k.orders))
	return fmt.Sprintf("%s: enc %d dec %d (text alone %d) skipped %d; versions %s; %s", name, k.enc, k.dec, k.textOnly,
		k.skip, strings.Join(vers, " "), strings.Join(orders, " "))
}

func skipped(answer string, tl *tally) bool {
	if why, ok := strings.CutPrefix(answer, "skip "); ok {
		tl.skip++
		tl.why[why]++
		return true
	}
	return false
}

func checkEnc(t *testing.T, p qdsPeer, c tcase, ver Version, g []byte, answer string, tl *tally) bool {
	t.Helper()
	if skipped(answer, tl) {
		return true
	}
	qhex, ok := strings.CutPrefix(answer, "ok ")
	q, err := unhex(qhex)
	if !ok || err != nil {
		t.Errorf("%s enc: peer answered %q", c.name, answer)
		return false
	}
	if !c.unordered && !bytes.Equal(maskPNG(q), maskPNG(g)) {
		t.Errorf("%s enc: %s wrote %x\n                Go wrote %x", c.name, p.name, maskPNG(q), maskPNG(g))
		return false
	}
	v, err := goDecode(c, ver, q)
	if err != nil {
		t.Errorf("%s enc: Go cannot read %s's %x: %v", c.name, p.name, q, err)
		return false
	}
	if got := format(c.typ, v, false); got != c.want() {
		t.Errorf("%s enc: Go reads %s's bytes as %s, want %s", c.name, p.name, got, c.want())
		return false
	}
	tl.pass++
	return true
}

func checkDec(t *testing.T, p qdsPeer, maxv int, c tcase, ver Version, g []byte, answer string, tl *tally) bool {
	t.Helper()
	if skipped(answer, tl) {
		return true
	}
	f := strings.Fields(strings.TrimPrefix(answer, "ok "))
	if !strings.HasPrefix(answer, "ok ") || len(f) != 4 {
		t.Errorf("%s dec: peer answered %q", c.name, answer)
		return false
	}
	text, status, left, rehex := f[0], f[1], f[2], f[3]
	want := c.want()
	if c.oldQt != "" && maxv <= int(Qt_6_0) {
		want = c.oldQt
	}
	if text != want || status != "Ok" || left != "left=0" {
		t.Errorf("%s dec: %s read Go's %x as %s %s %s, want %s Ok left=0", c.name, p.name, g, text, status, left, want)
		return false
	}
	if c.oldQt != "" {
		tl.pass++ // Qt read it otherwise than Go does: no byte comparison
		return true
	}
	if c.unordered {
		tl.pass++ // Qt's hash order: no byte comparison
		return true
	}
	if rehex == "untyped" && c.typ == "variant" {
		tl.pass++ // a QVariant PySide read as a Python object that lost its type
		tl.textOnly++
		return true
	}
	v, err := goDecode(c, ver, g)
	if err != nil {
		t.Errorf("%s dec: Go cannot read its own %x: %v", c.name, g, err)
		return false
	}
	var b bytes.Buffer
	w := NewWriter(&b, ver, c.opts(p.major)...)
	encode(w, c.typ, v)
	re, err := unhex(rehex)
	if err != nil || !bytes.Equal(maskPNG(re), maskPNG(b.Bytes())) {
		t.Errorf("%s dec: %s wrote what it read as %s, Go as %x", c.name, p.name, rehex, maskPNG(b.Bytes()))
		return false
	}
	tl.pass++
	return true
}
