package schema

import (
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
		got, ok := CanonicalInteger(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalInteger(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
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
		got, ok := CanonicalNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalNumber(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzCanonicalInteger(f *testing.F) {
	for _, s := range []string{"0", "-1.2e1", "1e400", "9223372036854775808", "0e9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := CanonicalInteger(s)
		if !ok {
			return
		}
		// The canonical form is a fixed point.
		if again, ok := CanonicalInteger(c); !ok || again != c {
			t.Errorf("CanonicalInteger(%q) = %q, but CanonicalInteger(%q) = %q, %v", s, c, c, again, ok)
		}
		if n, ok := CanonicalNumber(s); !ok && len(c) < 16 {
			t.Errorf("CanonicalNumber(%q) failed on an integer: %q", s, n)
		}
	})
}
