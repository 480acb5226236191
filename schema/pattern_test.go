package schema

import (
	"regexp"
	"testing"
)

func TestCheckPattern(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{`^E[0-9]{6}$`, true},
		{`E[0-9]{6}`, true},
		{`^(?:a|b)$`, true},
		{`^(?<year>[0-9]{4})$`, true},
		{`^\p{L}+$`, true},
		{`^[a-z\-]+$`, true},
		{`\(\?i\)`, true},
		{`[`, false},
		{`(`, false},
		{`a{1001}`, false},
		{`(?=a)`, false},
		{`(?!a)`, false},
		{`(?<=a)b`, false},
		{`(a)\1`, false},
		{`\u0041`, false},
		{`(?i)abc`, false},
		{`(?s).`, false},
		{`(?P<name>a)`, false},
		{`\Aabc`, false},
		{`abc\z`, false},
		{`\Qa.b\E`, false},
		{`[[:alpha:]]`, false},
		{`[^[:digit:]]`, false},
		{`\pL`, false},
		{`\PL`, false},
		{`\x{41}`, false},
		{`\C`, false},
	}
	for _, tt := range tests {
		if err := checkPattern(tt.pattern); (err == nil) != tt.ok {
			t.Errorf("checkPattern(%q) = %v, want ok %v", tt.pattern, err, tt.ok)
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct {
		pattern, want string
		match         []string
		noMatch       []string
	}{
		{`^E[0-9]{6}$`, `^E[0-9]{6}$`, []string{"E123456"}, []string{"xE123456", "E1234567"}},
		{`E[0-9]{6}`, `^(?:E[0-9]{6})$`, []string{"E123456"}, []string{"xE123456", "E1234567"}},
		{`^a|b$`, `^(?:^a|b$)$`, []string{"a", "b"}, []string{"ab", "ba", "axx", "xxb"}},
		{`^(a|b)$`, `^(a|b)$`, []string{"a", "b"}, []string{"ab"}},
		{`^abc`, `^(?:^abc)$`, []string{"abc"}, []string{"abcd"}},
		{`abc$`, `^(?:abc$)$`, []string{"abc"}, []string{"xabc"}},
		{`^$`, `^$`, []string{""}, []string{"a"}},
		{`a*`, `^(?:a*)$`, []string{"", "aaa"}, []string{"b", "ab"}},
		{`\^a\$`, `^(?:\^a\$)$`, []string{"^a$"}, []string{"a"}},
	}
	for _, tt := range tests {
		got := anchor(tt.pattern)
		if got != tt.want {
			t.Errorf("anchor(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
		re := regexp.MustCompile(got)
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("anchor(%q) does not match %q", tt.pattern, s)
			}
		}
		for _, s := range tt.noMatch {
			if re.MatchString(s) {
				t.Errorf("anchor(%q) matches %q", tt.pattern, s)
			}
		}
	}
}
