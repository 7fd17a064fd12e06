package qdatastream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// An early end of input says what was being read, where, and how many
// bytes were missing.
func TestEOFErrorSaysWhat(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Int32(7)
	w.Variant(VariantOf(map[string]Variant{"key": VariantOf("hello")}))
	full := b.Bytes()
	r := reader(full[:len(full)-4], Qt_6_0)
	r.Int32()
	r.Variant()
	err := r.Err()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"QString", "QVariantMap", fmt.Sprintf("byte %d", len(full)-4), "4 bytes missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// The Reader says where it is, and a QStringList's null elements stay
// apart from empty ones, in a QVariant too.
func TestOffsetAndNullStrings(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Qt_6_0)
	w.Int16(1)
	l := []NullableString{{S: "a"}, {Null: true}, {}}
	w.NullableStringList(l)
	w.Variant(VariantOf(l))
	r := reader(b.Bytes(), Qt_6_0)
	r.Int16()
	if r.Offset() != 2 {
		t.Errorf("Offset after a qint16: %d", r.Offset())
	}
	got := r.NullableStringList()
	v := r.Variant()
	if r.Err() != nil || r.Offset() != int64(b.Len()) {
		t.Fatalf("err %v at offset %d of %d", r.Err(), r.Offset(), b.Len())
	}
	if fmt.Sprint(got) != fmt.Sprint(l) || fmt.Sprint(v.Value) != fmt.Sprint(l) {
		t.Errorf("read %v and %v, want %v", got, v.Value, l)
	}
	if s := reader(b.Bytes()[2:], Qt_6_0).StringList(); len(s) != 3 || s[1] != "" {
		t.Errorf("StringList: %q", s)
	}
}
