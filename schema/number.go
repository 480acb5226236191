package schema

import (
	"math"
	"strconv"
	"strings"
)

// jsonNumber is the parsed form of a JSON number literal: value = ±digits ×
// 10^exp, digits without leading or trailing zeros ("" for zero).
type jsonNumber struct {
	neg    bool
	digits string
	// exp is the decimal exponent; hugeExp means it does not fit an int32
	// and its sign is expNeg.
	exp     int64
	hugeExp bool
	expNeg  bool
}

// parseJSONNumber parses s by the JSON number grammar (RFC 8259 §6). It never
// allocates big values, so that "1e999999999" costs no more than "1".
func parseJSONNumber(s string) (jsonNumber, bool) {
	var n jsonNumber
	i := 0
	if i < len(s) && s[i] == '-' {
		n.neg = true
		i++
	}
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return n, false
	}
	intPart := s[start:i]
	fracPart := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return n, false
		}
		fracPart = s[fs:i]
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return n, false
		}
		ed := strings.TrimLeft(s[es:i], "0")
		if len(ed) > 9 {
			n.hugeExp, n.expNeg = true, expNeg
		} else if ed != "" {
			exp, _ = strconv.ParseInt(ed, 10, 64)
			if expNeg {
				exp = -exp
			}
		}
	}
	if i != len(s) {
		return n, false
	}
	digits := intPart + fracPart
	exp -= int64(len(fracPart))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		// Zero, whatever its exponent.
		return jsonNumber{neg: n.neg}, true
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	n.digits = trimmed
	n.exp = exp
	return n, true
}

// canonicalInteger returns the canonical form (strconv.FormatInt) of the JSON
// number literal s if s is an integer within the range of int64, such as
// "-12" for "-1.2e1". It reports false for a number with a fractional part,
// for one outside int64 ("1e400", "9223372036854775808") and for anything
// that is not a JSON number.
func canonicalInteger(s string) (string, bool) {
	v, ok := parseInteger(s)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(v, 10), true
}

func parseInteger(s string) (int64, bool) {
	n, ok := parseJSONNumber(s)
	if !ok {
		return 0, false
	}
	if n.digits == "" {
		return 0, true
	}
	if n.hugeExp || n.exp < 0 || int64(len(n.digits))+n.exp > 19 {
		return 0, false
	}
	var b strings.Builder
	if n.neg {
		b.WriteByte('-')
	}
	b.WriteString(n.digits)
	for range n.exp {
		b.WriteByte('0')
	}
	v, err := strconv.ParseInt(b.String(), 10, 64)
	return v, err == nil
}

// canonicalNumber returns the canonical form of the JSON number literal s as
// an IEEE 754 double, written as encoding/json writes a float64 ("1.5",
// "1e+21", "1e-7"; "-0" becomes "0"). It reports false for a number that
// overflows a float64 ("1e400"), for a non-zero number that underflows to
// zero ("1e-400") and for anything that is not a JSON number.
func canonicalNumber(s string) (string, bool) {
	f, ok := parseNumber(s)
	if !ok {
		return "", false
	}
	return formatFloat(f), true
}

func parseNumber(s string) (float64, bool) {
	n, ok := parseJSONNumber(s)
	if !ok {
		return 0, false
	}
	if n.digits == "" {
		return 0, true
	}
	if n.hugeExp {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f == 0 {
		return 0, false
	}
	return f, true
}

// formatFloat writes f as encoding/json does.
func formatFloat(f float64) string {
	if f == 0 {
		return "0"
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

// compareExact compares the JSON number literals x and y as the decimals
// they denote, without rounding them to float64: -1 if x < y, 0 if equal, +1
// if x > y. It reports false for a literal that is not a JSON number or has
// an exponent too large to compare without big arithmetic; such numbers are
// refused before any bound is checked.
func compareExact(x, y string) (int, bool) {
	a, ok := parseJSONNumber(x)
	if !ok || a.hugeExp {
		return 0, false
	}
	b, ok := parseJSONNumber(y)
	if !ok || b.hugeExp {
		return 0, false
	}
	sign := func(n jsonNumber) int {
		switch {
		case n.digits == "":
			return 0
		case n.neg:
			return -1
		}
		return 1
	}
	sa, sb := sign(a), sign(b)
	if sa != sb || sa == 0 {
		return cmpInt(sa, sb), true
	}
	// Same sign, both non-zero: compare the magnitudes, first by the
	// position of the leading digit, then digit by digit.
	mag := cmpInt(int64(len(a.digits))+a.exp, int64(len(b.digits))+b.exp)
	if mag == 0 {
		da, db := a.digits, b.digits
		for len(da) < len(db) {
			da += "0"
		}
		for len(db) < len(da) {
			db += "0"
		}
		mag = strings.Compare(da, db)
	}
	return sa * mag, true
}

func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
