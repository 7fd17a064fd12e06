package qdatastream

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// UUID is a QUuid, its 16 bytes in RFC 4122 order (as QUuid::toRfc4122).
type UUID [16]byte

// String returns u in QUuid::toString(QUuid::WithoutBraces) form, such as
// "67c8770b-44f1-410a-ab9a-f9b5446f13ee".
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ParseUUID parses the 36-character form of String, with or without
// braces.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return u, fmt.Errorf("qdatastream: bad UUID %q", s)
	}
	b, err := hex.DecodeString(t[0:8] + t[9:13] + t[14:18] + t[19:23] + t[24:])
	if err != nil {
		return u, fmt.Errorf("qdatastream: bad UUID %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// Point is a QPoint.
type Point struct{ X, Y int32 }

// Size is a QSize. QSize() is Size{-1, -1}.
type Size struct{ W, H int32 }

// Rect is a QRect as QRect(x, y, width, height) builds it. QRect() is
// Rect{} (0, 0, 0, 0).
type Rect struct{ X, Y, W, H int32 }

// units iterates over the UTF-16 code units of a WTF-8 string.
type units struct {
	s     string
	trail uint16 // pending low surrogate, or 0
}

func (it *units) next() (uint16, bool) {
	if it.trail != 0 {
		u := it.trail
		it.trail = 0
		return u, true
	}
	if it.s == "" {
		return 0, false
	}
	if c := it.s[0]; c < utf8.RuneSelf {
		it.s = it.s[1:]
		return uint16(c), true
	}
	if u, ok := wtf8Surrogate(it.s); ok {
		it.s = it.s[3:]
		return u, true
	}
	r, n := utf8.DecodeRuneInString(it.s)
	it.s = it.s[n:]
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		it.trail = uint16(lo)
		return uint16(hi), true
	}
	return uint16(r), true // including U+FFFD for each invalid byte
}

// wtf8Surrogate decodes a surrogate code point (U+D800–U+DFFF) in the
// generalised UTF-8 that WTF-8 uses for lone surrogates.
func wtf8Surrogate(s string) (uint16, bool) {
	if len(s) < 3 || s[0] != 0xed || s[1] < 0xa0 || s[1] > 0xbf || s[2] < 0x80 || s[2] > 0xbf {
		return 0, false
	}
	return 0xd000 | uint16(s[1]&0x3f)<<6 | uint16(s[2]&0x3f), true
}

func toUTF16(s string) []uint16 {
	u := make([]uint16, 0, len(s))
	it := units{s: s}
	for {
		c, ok := it.next()
		if !ok {
			return u
		}
		u = append(u, c)
	}
}

// fromUTF16 decodes UTF-16 code units of byte order bo into UTF-8,
// keeping a lone surrogate in WTF-8.
func fromUTF16(p []byte, bo binary.ByteOrder) string {
	n := len(p) / 2
	at := func(i int) uint16 { return bo.Uint16(p[2*i:]) }
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		c := rune(at(i))
		switch {
		case c < utf8.RuneSelf:
			b.WriteByte(byte(c))
			continue
		case utf16.IsSurrogate(c):
			if c < 0xdc00 && i+1 < n && at(i+1) >= 0xdc00 && at(i+1) <= 0xdfff {
				b.WriteRune(utf16.DecodeRune(c, rune(at(i+1))))
				i++
				continue
			}
			b.WriteByte(0xed)
			b.WriteByte(byte(0x80 | (c>>6)&0x3f))
			b.WriteByte(byte(0x80 | c&0x3f))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// CompareUTF16 compares two strings as Qt's QString operator< orders
// them: by UTF-16 code unit, which differs from Go's byte order for
// characters above U+FFFF against U+E000–U+FFFF. It returns -1, 0 or +1.
// A null and an empty QString compare equal in Qt, as "" does to itself.
func CompareUTF16(a, b string) int {
	ia, ib := units{s: a}, units{s: b}
	for {
		ca, oka := ia.next()
		cb, okb := ib.next()
		switch {
		case !oka && !okb:
			return 0
		case !oka:
			return -1
		case !okb:
			return 1
		case ca != cb:
			if ca < cb {
				return -1
			}
			return 1
		}
	}
}

func sortedPairs[K comparable, V any](m map[K]V, compare func(a, b K) int, descending bool) []Pair[K, V] {
	p := make([]Pair[K, V], 0, len(m))
	for k, v := range m {
		p = append(p, Pair[K, V]{k, v})
	}
	slices.SortFunc(p, func(x, y Pair[K, V]) int {
		if descending {
			return compare(y.Key, x.Key)
		}
		return compare(x.Key, y.Key)
	})
	return p
}
