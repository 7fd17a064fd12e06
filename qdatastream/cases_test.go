package qdatastream

import (
	"fmt"
	"math"
)

// The one table of cases that the tests run against Qt: each case is a
// value of a type, with a stream version, byte order and precision. The
// peers get it as text (format) and build the value themselves; see
// peers/qdatastream/README.md.

type tcase struct {
	name      string
	ver       Version // 0: the newest version the peer knows
	le        bool
	single    bool
	typ       string
	val       any
	read      string // what a reader shows, when not the value's text
	oldQt     string // what Qt 5.15 and 6.0–6.5 read, when not read
	unordered bool   // a QHash of several keys: no byte comparison
	qt6Only   bool   // a case Qt 5 cannot write or read
	notOn     string // peers (by name) whose Qt writes what no other process can reproduce
}

func (c tcase) order() string {
	if c.le {
		return "le"
	}
	return "be"
}

func (c tcase) prec() string {
	if c.single {
		return "s"
	}
	return "d"
}

// want is the text a reader of c's bytes must show.
func (c tcase) want() string {
	if c.read != "" {
		return c.read
	}
	if c.typ == "f64" && c.single {
		return format("f64", float64(float32(c.val.(float64))), false)
	}
	return format(c.typ, c.val, false)
}

func (c tcase) opts(major int) []Option {
	o := []Option{WithLocation(testLoc), WithQtMajor(major), WithUserType(myStructType)}
	if c.le {
		o = append(o, WithByteOrder(LittleEndian))
	}
	if c.single {
		o = append(o, WithFloatPrecision(SinglePrecision))
	}
	return o
}

var (
	vBasic = []Version{Qt_5_0, 0}
	vAll   = []Version{Qt_5_0, Qt_5_1, Qt_5_2, Qt_5_15, Qt_6_0, Qt_6_7, 0}
	vGUI   = []Version{Qt_5_0, Qt_5_15, Qt_6_0, 0}
	beLE   = []bool{false, true}
	be     = []bool{false}
)

type caseSet struct{ list []tcase }

// add puts value v of type typ into the table once for each version and
// byte order given, under name base.
func (s *caseSet) add(base, typ string, v any, vers []Version, orders []bool, mod ...func(*tcase)) {
	for _, ver := range vers {
		for _, le := range orders {
			c := tcase{ver: ver, le: le, typ: typ, val: v}
			for _, m := range mod {
				m(&c)
			}
			vs := "newest"
			if ver != 0 {
				vs = fmt.Sprint(int(ver))
			}
			c.name = fmt.Sprintf("%s/%s/v%s/%s/%s", typ, base, vs, c.order(), c.prec())
			s.list = append(s.list, c)
		}
	}
}

func single(c *tcase)                 { c.single = true }
func notOn(peers string) func(*tcase) { return func(c *tcase) { c.notOn = peers } }
func qt6Only(c *tcase)                { c.qt6Only = true }
func unordered(c *tcase)              { c.unordered = true }
func reads(text string) func(*tcase)  { return func(c *tcase) { c.read = text } }
func oldQtReadsAt(v Version, text string) func(*tcase) {
	return func(c *tcase) {
		if c.ver == v {
			c.oldQt = text
		}
	}
}

func readsAt(v Version, text string) func(*tcase) {
	return func(c *tcase) {
		if c.ver == v {
			c.read = text
		}
	}
}

const (
	jdLeap   = 2460370  // 2024-02-29
	jdSummer = 2460506  // 2024-07-14
	msAfter  = 47655678 // 13:14:15.678
)

func dt(jd int64, ms int32, spec TimeSpec, off int32, zone string) DateTime {
	return DateTime{JulianDay: jd, MSecs: ms, Spec: spec, Offset: off, Zone: zone}
}

var (
	pxOpaque  = "3x2:o:ffff0000ff00ff00ff0000ffff000000ffffffffff808080"
	pxAlpha   = "2x2:a:80ff0000ff33669900123456c000ff00"
	pxPremult = "3x2:p:80ff0000ff3366990000000080ffffff8040000040102030"
	uuid1     = mustUUID("67c8770b-44f1-410a-ab9a-f9b5446f13ee")
)

func mustUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func allCases() []tcase {
	var s caseSet
	// Every case in both byte orders, but for those of single bytes.
	// Integers: every width, extremes.
	for _, v := range []int8{math.MinInt8, -1, math.MaxInt8} {
		s.add(fmt.Sprint(v), "i8", v, vBasic, beLE)
	}
	for _, v := range []int16{math.MinInt16, 0x1234} {
		s.add(fmt.Sprint(v), "i16", v, vBasic, beLE)
	}
	for _, v := range []int32{math.MinInt32, 0x12345678} {
		s.add(fmt.Sprint(v), "i32", v, vBasic, beLE)
	}
	for _, v := range []int64{math.MinInt64, 0x0102030405060708} {
		s.add(fmt.Sprint(v), "i64", v, vBasic, beLE)
	}
	s.add("255", "u8", uint8(255), vBasic, beLE)
	s.add("65534", "u16", uint16(0xfffe), vBasic, beLE)
	s.add("deadbeef", "u32", uint32(0xdeadbeef), vBasic, beLE)
	s.add("max", "u64", uint64(math.MaxUint64), vBasic, beLE)
	s.add("true", "bool", true, vBasic, be)
	s.add("false", "bool", false, vBasic, be)

	// Floats under both precisions: NaN, infinities, -0, extremes.
	f32s := map[string]float32{
		"1.5": 1.5, "-0": float32(math.Copysign(0, -1)), "nan": float32(math.NaN()),
		"inf": float32(math.Inf(1)), "-inf": float32(math.Inf(-1)), "max": math.MaxFloat32,
		"denormal": math.SmallestNonzeroFloat32, "0.1": 0.1,
	}
	f64s := map[string]float64{
		"0.1": 0.1, "-0": math.Copysign(0, -1), "nan": math.NaN(), "inf": math.Inf(1),
		"1e300": 1e300, "5e-324": 5e-324, "pi": math.Pi,
	}
	for _, name := range sortedKeys(f32s) {
		s.add(name, "f32", f32s[name], []Version{0}, beLE)
		s.add(name, "f32", f32s[name], []Version{0}, beLE, single)
	}
	for _, name := range sortedKeys(f64s) {
		s.add(name, "f64", f64s[name], []Version{0}, beLE)
		s.add(name, "f64", f64s[name], []Version{0}, beLE, single)
	}
	s.add("1.5", "f32", float32(1.5), []Version{Qt_5_0}, beLE, single)
	s.add("pi", "f64", math.Pi, []Version{Qt_5_0}, beLE, single)

	// QString: null, empty, ASCII, BMP, beyond the BMP, lone surrogates.
	strs := []struct {
		name string
		v    any
	}{
		{"null", nil}, {"empty", ""}, {"ascii", "hello"}, {"latin", "héllo wörld €"},
		{"cjk", "中文"}, {"emoji", "😀x"}, {"lonehigh", "a\xed\xa0\x80"}, {"lonelow", "\xed\xb0\x80b"},
	}
	for _, x := range strs {
		s.add(x.name, "str", x.v, vBasic, beLE)
	}
	s.add("null", "bytes", []byte(nil), vBasic, beLE)
	s.add("empty", "bytes", []byte{}, vBasic, beLE)
	s.add("binary", "bytes", []byte{0, 0xff, 0x80, 'a'}, vBasic, beLE)
	s.add("empty", "strlist", []string{}, []Version{0}, beLE)
	s.add("three", "strlist", []string{"a", "", "é😀"}, vBasic, beLE)
	s.add("empty", "listi32", []int32{}, []Version{0}, beLE)
	s.add("three", "listi32", []int32{1, -2, math.MaxInt32}, vBasic, beLE)
	s.add("empty", "mapstri32", map[string]int32{}, []Version{0}, beLE)
	m5 := map[string]int32{"b": 2, "a": 1, "é": 3, "😀": 4, "｡": 5}
	s.add("five", "mapstri32", m5, []Version{Qt_5_0, Qt_5_15, Qt_6_0, 0}, beLE)
	s.add("one", "hashstri32", map[string]int32{"k": 7}, []Version{Qt_5_15, 0}, beLE)
	s.add("three", "hashstri32", map[string]int32{"a": 1, "b": 2, "c": 3}, []Version{Qt_5_15, 0}, beLE, unordered)

	mm := []Pair[string, int32]{{"b", 1}, {"a", 2}, {"b", 3}, {"a", 4}, {"c", 5}, {"b", 6}}
	s.add("six", "multimapstri32", mm, []Version{Qt_5_15, 0}, beLE)

	// QDateTime: its layout changed at Qt_5_0, Qt_5_1 and Qt_5_2.
	dts := []struct {
		name string
		v    DateTime
		mods []func(*tcase)
	}{
		{"utc", dt(jdLeap, msAfter, UTC, 0, ""), nil},
		{"offset0", dt(jdLeap, msAfter, OffsetFromUTC, 0, ""), []func(*tcase){reads(fmt.Sprintf("%d/%d/utc", jdLeap, msAfter))}},
		{"localwinter", dt(jdLeap, msAfter, LocalTime, 0, ""), nil},
		{"localsummer", dt(jdSummer, 36000000, LocalTime, 0, ""), nil},
		{"offset", dt(jdLeap, msAfter, OffsetFromUTC, 3600, ""), []func(*tcase){
			readsAt(Qt_5_0, fmt.Sprintf("%d/%d/utc", jdLeap, msAfter-3600000)),
			readsAt(Qt_5_1, fmt.Sprintf("%d/%d/utc", jdLeap, msAfter))}},
		{"negoffset", dt(jdLeap, 1000, OffsetFromUTC, -34200, ""), []func(*tcase){
			readsAt(Qt_5_0, fmt.Sprintf("%d/%d/utc", jdLeap, 1000+34200000)),
			readsAt(Qt_5_1, fmt.Sprintf("%d/%d/utc", jdLeap, 1000))}},
		{"zone", dt(jdSummer, msAfter, TimeZone, 0, "Europe/Berlin"), []func(*tcase){
			readsAt(Qt_5_0, fmt.Sprintf("%d/%d/utc", jdSummer, msAfter-7200000)),
			oldQtReadsAt(Qt_5_0, fmt.Sprintf("%d/%d/local", jdSummer, msAfter-7200000+3600000*2)),
			readsAt(Qt_5_1, fmt.Sprintf("%d/%d/local", jdSummer, msAfter))}},
		{"invalid", InvalidDateTime, nil},
		{"utczone", dt(jdLeap, msAfter, TimeZone, 0, "UTC"), []func(*tcase){
			readsAt(Qt_5_0, fmt.Sprintf("%d/%d/utc", jdLeap, msAfter)), readsAt(Qt_5_1, fmt.Sprintf("%d/%d/local", jdLeap, msAfter)),
			oldQtReadsAt(Qt_5_0, fmt.Sprintf("%d/%d/local", jdLeap, msAfter+3600000))}},
		{"offsetzone", dt(jdLeap, msAfter, TimeZone, 3600, "UTC+01:00"), []func(*tcase){
			readsAt(Qt_5_0, fmt.Sprintf("%d/%d/utc", jdLeap, msAfter-3600000)), readsAt(Qt_5_1, fmt.Sprintf("%d/%d/local", jdLeap, msAfter)),
			oldQtReadsAt(Qt_5_0, fmt.Sprintf("%d/%d/local", jdLeap, msAfter))}},
	}
	for _, x := range dts {
		s.add(x.name, "dt", x.v, vAll, beLE, x.mods...)
	}
	// A custom zone is streamed whole (issue 26); Qt_5_0 and Qt_5_1 keep
	// no zone at all.
	custom := dt(jdLeap, msAfter, TimeZone, 3600, "MyZone")
	custom.ZoneInfo = ZoneInfo{Name: "My Zone", Abbreviation: "MYZ", Territory: 84, Comment: "cmt"}
	s.add("customzone", "dt", custom, []Version{Qt_5_2, Qt_5_15, Qt_6_0, 0}, beLE)

	s.add("uuid", "uuid", uuid1, vBasic, beLE)
	s.add("null", "uuid", UUID{}, []Version{0}, beLE)
	s.add("p", "point", Point{1, -2}, vBasic, beLE)
	s.add("s", "size", Size{3, 4}, vBasic, beLE)
	s.add("invalid", "size", Size{-1, -1}, []Version{0}, beLE)
	s.add("r", "rect", Rect{1, 2, 3, 4}, vBasic, beLE)
	s.add("null", "rect", Rect{}, []Version{0}, beLE)
	s.add("neg", "rect", Rect{-5, -6, 10, 20}, []Version{0}, beLE)

	// Images: PNG inside, framing by version; premultiplied alpha.
	readA := func(text string) func(*tcase) { return reads(text) }
	s.add("null", "image", image0(), vBasic, beLE)
	s.add("rgb32", "image", imageOf(pxOpaque), vBasic, beLE)
	s.add("argb32", "image", imageOf(pxAlpha), vBasic, beLE)
	s.add("premultiplied", "image", imageOf(pxPremult), vBasic, beLE, readA("3x2:a:80ff0000ff3366990000000080ffffff8040000040102030"))
	s.add("null", "pixmap", image0(), vBasic, beLE)
	s.add("argb32", "pixmap", imageOf(pxPremult), vBasic, beLE, readA("3x2:a:80ff0000ff3366990000000080ffffff8040000040102030"))
	s.add("rgb32", "pixmap", imageOf(pxOpaque), []Version{0}, beLE)
	// An opaque ARGB32 image stays ARGB32 (issue 26).
	s.add("argb32opaque", "image", imageOf("2x1:a:ffff0000ff0000ff"), vBasic, beLE)

	// QVariant of each type, with the null flag, across the versions
	// where the type ids of GUI types changed.
	vv := func(v any) Variant { return VariantOf(v) }
	variants := []struct {
		name string
		v    Variant
		read string
	}{
		{"invalid", Variant{Null: true}, ""},
		{"nullint", Variant{Type: TypeInt, Null: true}, "int:0"},
		{"nullstr", Variant{Type: TypeString, Null: true}, "str:null"},
		{"nulldt", Variant{Type: TypeDateTime, Null: true}, "dt:invalid"},
		{"nullsize", Variant{Type: TypeSize, Null: true}, "size:-1,-1"},
		{"bool", vv(true), ""},
		{"int", vv(int32(-7)), ""},
		{"uint", vv(uint32(0xfffffff0)), ""},
		{"ll", vv(int64(-1) << 40), ""},
		{"ull", vv(uint64(1) << 63), ""},
		{"double", vv(0.1), ""},
		{"float", vv(float32(1.25)), ""},
		{"str", vv("é😀"), ""},
		{"strofnull", Variant{Type: TypeString}, ""},
		{"bytes", vv([]byte{1, 2}), ""},
		{"bytesnull", vv([]byte(nil)), ""},
		{"strlist", vv([]string{"a", "b"}), ""},
		{"date", vv(Date(jdLeap)), ""},
		{"time", vv(Time(msAfter)), ""},
		{"dt", vv(dt(jdLeap, msAfter, UTC, 0, "")), ""},
		{"uuid", vv(uuid1), ""},
		{"point", vv(Point{3, 4}), ""},
		{"size", vv(Size{5, 6}), ""},
		{"rect", vv(Rect{1, 2, 3, 4}), ""},
		{"list", vv([]Variant{vv(int32(1)), vv("x"), {Null: true}, vv([]Variant{})}), ""},
		{"map", vv(map[string]Variant{"b": vv(int32(2)), "a": vv([]Variant{vv(true)}), "😀": vv(0.5), "｡": {Null: true}}), ""},
		{"hash", Variant{Type: TypeVariantHash, Value: map[string]Variant{"k": vv("v")}}, ""},
		{"image", vv(imageOf(pxAlpha)), ""},
		{"nullimage", Variant{Type: TypeImage, Value: image0()}, ""},
		{"pixmap", Variant{Type: TypePixmap, Value: imageOf(pxOpaque)}, ""},
	}
	for _, x := range variants {
		var mods []func(*tcase)
		if x.read != "" {
			mods = append(mods, reads(x.read))
		}
		s.add(x.name, "variant", x.v, vGUI, beLE, mods...)
	}
	s.add("float", "variant", vv(float32(1.25)), []Version{0}, beLE, single)
	addIssue26Cases(&s)
	return s.list
}

// image0 is a null image: a nil image.Image.
func image0() any { return nil }
