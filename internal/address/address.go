// Package address is the one place that parses email addresses and phone
// numbers into the forms that are stored, and computes the keys under which
// two spellings of one address are one address: for the stores' unique
// indexes, the OTP service's bindings and its send limits.
//
// Email addresses follow the HTML standard's "valid e-mail address" grammar
// (ASCII, no quoted local parts, comments or IP literals), at most 254
// characters, with a domain of at least two labels of at most 63 characters,
// the last not all digits; optionally, an internationalised domain is mapped
// by UTS #46 to its A-label form. Phone numbers are checked with
// libphonenumber's metadata (github.com/nyaruka/phonenumbers) and returned in
// E.164.
package address

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxEmailLen is the most characters an email address may have (RFC 5321
// §4.5.3.1.3, the path limit less the angle brackets).
const MaxEmailLen = 254

// MaxLabelLen is the most characters of one domain label (RFC 1035 §2.3.4).
const MaxLabelLen = 63

// idnProfile maps an internationalised domain name as UTS #46 does for
// lookup (nontransitional: ß and ς stay), with the bidi and label rules and
// the DNS length limits.
var idnProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// ParseEmail returns s as it is stored when s is a valid email address, and
// false otherwise. With idn, a domain that is not all ASCII is mapped to
// its A-label form ("bücher.test" becomes "xn--bcher-kva.test"), and an
// ASCII domain is checked and lower-cased the same way; without it, only
// ASCII addresses are accepted and they are returned unchanged.
func ParseEmail(s string, idn bool) (string, bool) {
	at := strings.IndexByte(s, '@')
	if at <= 0 || len(s) > 4*MaxEmailLen {
		return "", false
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if !isLocalChar(local[i]) {
			return "", false
		}
	}
	if idn {
		if !utf8.ValidString(domain) {
			return "", false
		}
		a, err := idnProfile.ToASCII(domain)
		if err != nil {
			return "", false
		}
		// The A-label form must be one that UTS #46 maps to itself, so
		// that the stored form parses to itself.
		if a != domain {
			if again, err := idnProfile.ToASCII(a); err != nil || again != a {
				return "", false
			}
		}
		domain = a
		s = local + "@" + domain
	}
	if len(s) > MaxEmailLen || !isDomain(domain) {
		return "", false
	}
	return s, true
}

// isLocalChar reports whether c may appear in the local part of an HTML
// valid e-mail address: ASCII letters, digits and .!#$%&'*+/=?^_`{|}~-.
func isLocalChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

// isDomain reports whether d is at least two labels of 1 to MaxLabelLen
// ASCII letters, digits and hyphens, none starting or ending with a hyphen,
// the last not all digits.
func isDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > MaxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.TrimLeft(last, "0123456789") != ""
}

// EmailKey returns the key under which the email address s (as ParseEmail
// returns it, or as a store holds it) is compared: its ASCII letters
// lower-cased, everything else exact. Unicode case folding is not used, so
// that "\u212Aate@x.test" (KELVIN SIGN) and "kate@x.test" stay two keys and
// the holder of one cannot block the other.
func EmailKey(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// PhoneKey returns the key under which the phone number s (as a Phone
// parses it: E.164) is compared: s itself, since E.164 has one spelling per
// number.
func PhoneKey(s string) string { return s }

// Patterns of the email rule, for JSON Schema: an address is valid without
// idn exactly when it matches both EmailPattern and EmailLastLabelPattern
// and has at most MaxEmailLen characters. They are in the common subset of
// ECMA-262 and RE2.
const (
	emailLocal = "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
	emailLabel = `[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
	// EmailPattern is the HTML standard's grammar with at least two
	// labels.
	EmailPattern = `^` + emailLocal + `@` + emailLabel + `(?:\.` + emailLabel + `)+$`
	// EmailLastLabelPattern says that the last label is not all digits.
	EmailLastLabelPattern = `\.[A-Za-z0-9-]*[A-Za-z-][A-Za-z0-9-]*$`
	// EmailIDNPattern is what JSON Schema can say of an address with an
	// internationalised domain: an ASCII local part, "@", and a domain
	// without "@", spaces or control characters; UTS #46 decides the rest.
	EmailIDNPattern = `^` + emailLocal + `@[^@\x00-\x20\x7f-\x9f]+$`
)
