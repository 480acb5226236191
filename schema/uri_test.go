package schema

import (
	"regexp"
	"testing"
)

// FuzzHTTPURLSplit: the split matcher of the http(s) pattern gives the
// full pattern's verdict on every input.
func FuzzHTTPURLSplit(f *testing.F) {
	for _, s := range []string{"https://example.com/a", "https://[::1]/", "http://a@b:1/%41?q#f", "https://x/a b", "https://", "HTTP://[v1.x]/"} {
		f.Add(s)
	}
	full := regexp.MustCompile(httpURLPattern)
	split, err := compileRegexp(httpURLPattern)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := split.MatchString(s), full.MatchString(s); got != want {
			t.Fatalf("split %v, full %v on %q", got, want, s)
		}
	})
}
