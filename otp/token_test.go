package otp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token, raw, err := newToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
			t.Fatalf("newToken: %d-byte token, want %d with prefix %q", len(token), tokenLen, tokenPrefix)
		}
		got, err := parseToken(token)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("parseToken(newToken()): got %x, %v, want %x", got, err, raw)
		}
		if seen[token] {
			t.Fatalf("newToken repeated a token")
		}
		seen[token] = true
	}
}

func TestParseTokenRejects(t *testing.T) {
	good, _, _ := newToken(rand.Reader)
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"prefix only", tokenPrefix},
		{"no prefix", good[len(tokenPrefix):]},
		{"other version", "v3." + good[len(tokenPrefix):]},
		{"v1, before addresses were normalised", "v1." + good[len(tokenPrefix):]},
		{"upper-case prefix", "V1." + good[len(tokenPrefix):]},
		{"padded", good + "=="},
		{"one char short", good[:len(good)-1]},
		{"one char long", good + "A"},
		{"standard alphabet", tokenPrefix + "+/+/+/+/+/+/+/+/+/+/+w"},
		{"non-canonical last char", tokenPrefix + "AAAAAAAAAAAAAAAAAAAAAB"},
		{"space", " " + good[1:]},
		{"NUL", good[:len(good)-1] + "\x00"},
		{"non-ASCII", good[:len(good)-2] + "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if raw, err := parseToken(tt.token); err == nil {
				t.Errorf("parseToken(%q) = %x, want an error", tt.token, raw)
			}
		})
	}
}

// FuzzParseToken checks that parseToken never panics and accepts exactly
// the canonical encodings of tokenBytes bytes.
func FuzzParseToken(f *testing.F) {
	good, _, _ := newToken(rand.Reader)
	for _, s := range []string{"", good, good + "=", tokenPrefix + "AAAAAAAAAAAAAAAAAAAAAB", "v1.", "v1.____________________-w", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := parseToken(s)
		if err != nil {
			return
		}
		if len(raw) != tokenBytes {
			t.Fatalf("parseToken(%q): %d bytes", s, len(raw))
		}
		if again := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw); again != s {
			t.Fatalf("parseToken(%q) accepted a non-canonical token (canonical %q)", s, again)
		}
	})
}

func TestNewCode(t *testing.T) {
	for range 1000 {
		code, err := newCode(rand.Reader)
		if err != nil || !wellFormedCode(code) {
			t.Fatalf("newCode: %q, %v", code, err)
		}
	}
}

func TestNewCodeRejectsBiasedValues(t *testing.T) {
	const limit = (1 << 32) / codeSpace * codeSpace
	var in bytes.Buffer
	for _, v := range []uint32{1<<32 - 1, limit, 1_234_567, 42} {
		binary.Write(&in, binary.BigEndian, v)
	}
	for _, want := range []string{"234567", "000042"} {
		got, err := newCode(&in)
		if err != nil || got != want {
			t.Errorf("newCode: got %q, %v, want %q (values at or over %d are drawn again)", got, err, want, uint32(limit))
		}
	}
	if _, err := newCode(&in); err == nil {
		t.Errorf("newCode on an empty reader: got nil error")
	}
}

func TestWellFormedCode(t *testing.T) {
	for code, want := range map[string]bool{
		"000000": true, "123456": true, "12345": false, "1234567": false, "12345a": false,
		"": false, "１２３４５６": false, "12 456": false, "-12345": false,
	} {
		if got := wellFormedCode(code); got != want {
			t.Errorf("wellFormedCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestNormalizeTarget(t *testing.T) {
	tests := []struct{ channel, in, want string }{
		{"email", "A.B@Example.TEST", "a.b@example.test"},
		{"email", "\u212aelvin@x.test", "\u212aelvin@x.test"}, // KELVIN SIGN is not "k"
		{"email", "ÄÖ@x.test", "ÄÖ@x.test"},
		{"sms", "13612345678", "13612345678"},
		{"sms", "+86ABC", "+86ABC"},
	}
	for _, tt := range tests {
		if got := normalizeTarget(tt.channel, tt.in); got != tt.want {
			t.Errorf("normalizeTarget(%q, %q) = %q, want %q", tt.channel, tt.in, got, tt.want)
		}
	}
}

func TestCodeHashBindsEveryField(t *testing.T) {
	k := keyer{testKey}
	base := Record{ID: "id", Subject: "u1", Channel: "email", Target: "a@x.test", Purpose: "update_userinfo"}
	h := k.codeHash(&base, "123456")
	if len(h) != 32 {
		t.Fatalf("codeHash: %d bytes, want 32", len(h))
	}
	upper := base
	upper.Target = "A@X.TEST"
	if !bytes.Equal(k.codeHash(&upper, "123456"), h) {
		t.Errorf("codeHash differs for an email address in other case")
	}
	for name, edit := range map[string]func(*Record){
		"ID":      func(r *Record) { r.ID = "id2" },
		"Subject": func(r *Record) { r.Subject = "u2" },
		"Channel": func(r *Record) { r.Channel = "sms" },
		"Target":  func(r *Record) { r.Target = "b@x.test" },
		"Purpose": func(r *Record) { r.Purpose = "other" },
		// Length prefixes: moving a byte between fields changes the hash.
		"field boundary": func(r *Record) { r.Subject = "u1e"; r.Channel = "mail" },
	} {
		r := base
		edit(&r)
		if bytes.Equal(k.codeHash(&r, "123456"), h) {
			t.Errorf("codeHash ignores a change of %s", name)
		}
	}
	if bytes.Equal(keyer{bytes.Repeat([]byte{1}, MinKeyLen)}.codeHash(&base, "123456"), h) {
		t.Errorf("codeHash ignores the key")
	}
}
