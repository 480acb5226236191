package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCanonicalInteger(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0", "0", true},
		{"-0", "0", true},
		{"7", "7", true},
		{"-12", "-12", true},
		{"1.0", "1", true},
		{"1.20e2", "120", true},
		{"-1.2E1", "-12", true},
		{"1200e-2", "12", true},
		{"10E+0", "10", true},
		{"0.0e-5", "0", true},
		{"0e99999999999999999999", "0", true},
		{"9223372036854775807", "9223372036854775807", true},
		{"-9223372036854775808", "-9223372036854775808", true},
		{"9.223372036854775807e18", "9223372036854775807", true},
		{"9223372036854775808", "", false},
		{"-9223372036854775809", "", false},
		{"1e19", "", false},
		{"1e400", "", false},
		{"1e99999999999999999999", "", false},
		{"1.5", "", false},
		{"1e-1", "", false},
		{"1e-99999999999999999999", "", false},
		{"", "", false},
		{"+1", "", false},
		{"01", "", false},
		{"1.", "", false},
		{".5", "", false},
		{"1e", "", false},
		{"0x10", "", false},
		{"NaN", "", false},
		{" 1", "", false},
		{"1" + strings.Repeat("0", 100) + "e-100", "1", true},
	}
	for _, tt := range tests {
		got, ok := canonicalInteger(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalInteger(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0", "0", true},
		{"-0.0", "0", true},
		{"1.50", "1.5", true},
		{"15e-1", "1.5", true},
		{"-2", "-2", true},
		{"1e21", "1e+21", true},
		{"1e20", "100000000000000000000", true},
		{"1e-7", "1e-7", true},
		{"0.000001", "0.000001", true},
		{"1.7976931348623157e308", "1.7976931348623157e+308", true},
		{"0.1000000000000000000001", "0.1", true},
		{"1e400", "", false},
		{"-1e400", "", false},
		{"1e-400", "", false},
		{"0e-400", "0", true},
		{"1e99999999999999999999", "", false},
		{"abc", "", false},
		{"Infinity", "", false},
		{"1.", "", false},
	}
	for _, tt := range tests {
		got, ok := canonicalNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalNumber(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzCanonicalInteger(f *testing.F) {
	for _, s := range []string{"0", "-1.2e1", "1e400", "9223372036854775808", "0e9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := canonicalInteger(s)
		if !ok {
			return
		}
		// The canonical form is a fixed point.
		if again, ok := canonicalInteger(c); !ok || again != c {
			t.Errorf("canonicalInteger(%q) = %q, but canonicalInteger(%q) = %q, %v", s, c, c, again, ok)
		}
		if n, ok := canonicalNumber(s); !ok && len(c) < 16 {
			t.Errorf("canonicalNumber(%q) failed on an integer: %q", s, n)
		}
	})
}

func TestCompareExact(t *testing.T) {
	tests := []struct {
		x, y string
		want int
	}{
		{"1", "1", 0}, {"1.0", "1", 0}, {"10e-1", "1", 0}, {"0", "-0", 0}, {"0e5", "0.0", 0},
		{"-1.5000000000000001", "-1.5", -1}, {"-1.5", "-1.5000000000000001", 1},
		{"1.0000000000000001e300", "1e300", 1}, {"1e300", "1.0000000000000001e300", -1},
		{"2", "10", -1}, {"-2", "-10", 1}, {"0.001", "0.01", -1}, {"-0.5", "0", -1}, {"0", "1e-300", -1},
		{"123.45", "1.2345e2", 0}, {"99", "1e2", -1}, {"1e2", "99.999", 1},
	}
	for _, tt := range tests {
		got, ok := compareExact(tt.x, tt.y)
		if !ok || got != tt.want {
			t.Errorf("compareExact(%s, %s) = %d, %v; want %d", tt.x, tt.y, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "1e9999999999", "x", "01"} {
		if _, ok := compareExact(bad, "1"); ok {
			t.Errorf("compareExact(%q, 1) reports ok", bad)
		}
	}
}

// Bounds hold for the literal sent, not only for its nearest double.
func TestBoundsAreExact(t *testing.T) {
	s, err := newSet(Options{Custom: []Attribute{{Name: "score", Type: "number", Minimum: jn("-1.5"), Maximum: jn("1e300")}}})
	if err != nil {
		t.Fatal(err)
	}
	for body, wantOK := range map[string]bool{
		`{"score":-1.5}`:                   true,
		`{"score":1e300}`:                  true,
		`{"score":-1.5000000000000001}`:    false,
		`{"score":1.0000000000000001e300}`: false,
		`{"score":-1.4999999999999999}`:    true,
	} {
		if _, err := s.Validate(decode(t, body)); (err == nil) != wantOK {
			t.Errorf("Validate(%s) = %v, want ok %v", body, err, wantOK)
		}
	}
}

func jn(s string) *json.Number { n := json.Number(s); return &n }
