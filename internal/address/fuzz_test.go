package address

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseEmail: ParseEmail never panics, agrees with the patterns that the
// served schema states, and its result is ASCII, within the limits, and
// stored as it is when parsed again.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"victim@x.test", `"victim"@x.test`, "victim@ｘ.test", "victim\u200b@x.test",
		"a@bücher.test", "A@X.TEST", "a@x.123", "a@x..test", "a@-x.test", "a@x.test.", ".a..@x.test",
		"a@xn--bcher-kva.test", "a@" + strings.Repeat("b", 64) + ".test", "a@\u0130.test", "a@ß.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ascii, ok := ParseEmail(s, false)
		if ok != emailBySchema(s) {
			t.Fatalf("ParseEmail(%q) = %v, the schema's patterns say %v", s, ok, !ok)
		}
		if ok && ascii != s {
			t.Fatalf("ParseEmail(%q) = %q, want it unchanged", s, ascii)
		}
		idn, ok := ParseEmail(s, true)
		if !ok {
			return
		}
		if len(idn) > MaxEmailLen || !emailBySchema(idn) || strings.ContainsFunc(idn, func(r rune) bool { return r >= utf8.RuneSelf }) {
			t.Fatalf("ParseEmail(%q, true) = %q: not a valid ASCII address", s, idn)
		}
		if again, ok := ParseEmail(idn, true); !ok || again != idn {
			t.Fatalf("ParseEmail(%q, true) = %q, parsed again %q, %v", s, idn, again, ok)
		}
	})
}

// FuzzParsePhone: Parse never panics, accepts only what PhonePattern allows,
// and returns E.164 that parses to itself.
func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"13612345678", "+8613612345678", "+1 415 555 2671", "136-1234-5678", "1-800-FLOWERS",
		"+999123456789", "+1234567", "008613612345678", "013612345678", "+44 7911 123456", "+", "", "１３６"} {
		f.Add(s)
	}
	cn, _ := NewPhone([]string{"CN", AnyRegion})
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := cn.Parse(s)
		if !ok {
			return
		}
		if !phoneRE.MatchString(s) {
			t.Fatalf("Parse(%q) accepted what PhonePattern refuses", s)
		}
		if len(e) < 2 || e[0] != '+' || strings.Trim(e[1:], "0123456789") != "" || len(e) > 16 {
			t.Fatalf("Parse(%q) = %q: not E.164", s, e)
		}
		if again, ok := cn.Parse(e); !ok || again != e {
			t.Fatalf("Parse(%q) = %q, parsed again %q, %v", s, e, again, ok)
		}
	})
}
