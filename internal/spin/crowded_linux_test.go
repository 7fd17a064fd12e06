package spin

import "testing"

func TestParseLoadavg(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0.77 1.40 1.34 3/456 12345\n", 3, true},
		{"12.00 8.01 4.50 17/2048 99\n", 17, true},
		{"0.00 0.00 0.00 1/1 1", 1, true},
		{"0.77 1.40 1.34", 0, false},
		{"0.77 1.40 1.34 x/456 1", 0, false},
		{"0.77 1.40 1.34 3 1", 0, false},
		{"", 0, false},
	} {
		if n, ok := parseLoadavg([]byte(c.in)); n != c.want || ok != c.ok {
			t.Errorf("parseLoadavg(%q) = %d, %v; want %d, %v", c.in, n, ok, c.want, c.ok)
		}
	}
	if n, ok := runnable(); !ok || n < 1 {
		t.Errorf("runnable() = %d, %v: this very test runs", n, ok)
	}
}
