package userinfo

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// If-None-Match on GET and HEAD (RFC 9110 §13.1.2): the current ETag, by
// the weak comparison, in a list or as "*", answers 304 with the caching
// headers and no body, after authentication and the user lookup; anything
// else, and any PATCH, is answered as without it.
func TestIfNoneMatch(t *testing.T) {
	for _, tc := range []struct {
		name, method, token, body string
		inm                       []string
		wantStatus                int
	}{
		{name: "current", inm: []string{`"1"`}, wantStatus: 304},
		{name: "weak", inm: []string{`W/"1"`}, wantStatus: 304},
		{name: "in a list", inm: []string{`"7", W/"1" , "9"`}, wantStatus: 304},
		{name: "in a second header", inm: []string{`"7"`, `"1"`}, wantStatus: 304},
		{name: "star", inm: []string{`*`}, wantStatus: 304},
		{name: "HEAD", method: http.MethodHead, inm: []string{`"1"`}, wantStatus: 304},
		{name: "stale", inm: []string{`"2"`}, wantStatus: 200},
		{name: "leading zero", inm: []string{`"01"`}, wantStatus: 200},
		{name: "unquoted", inm: []string{`1`}, wantStatus: 200},
		{name: "after a malformed tag", inm: []string{`"7", x, "1"`}, wantStatus: 200},
		{name: "unterminated", inm: []string{`"1`}, wantStatus: 200},
		{name: "empty", inm: []string{``}, wantStatus: 200},
		{name: "no header", wantStatus: 200},
		{name: "PATCH ignores it", method: http.MethodPatch, body: `{"nickname":"neu"}`, inm: []string{`"1"`}, wantStatus: 200},
		{name: "PATCH ignores star", method: http.MethodPatch, body: `{"nickname":"neu"}`, inm: []string{`*`}, wantStatus: 200},
		{name: "authentication first", token: "tok-forged", inm: []string{`*`}, wantStatus: 401},
		{name: "scope first", token: "tok-noscope", inm: []string{`*`}, wantStatus: 403},
		{name: "user lookup first", token: "tok-ghost", inm: []string{`*`}, wantStatus: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			method, token := tc.method, tc.token
			if method == "" {
				method = http.MethodGet
			}
			if token == "" {
				token = "tok-u1"
			}
			r := newRequest(method, token, tc.body)
			for _, v := range tc.inm {
				r.Header.Add("If-None-Match", v)
			}
			w := hs.serve(r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			switch tc.wantStatus {
			case http.StatusNotModified:
				if w.Body.Len() != 0 {
					t.Errorf("304 with a body: %q", w.Body)
				}
				for name, want := range map[string]string{"ETag": `"1"`, "Cache-Control": "no-store", "Pragma": "no-cache"} {
					if got := w.Header().Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				for _, name := range []string{"Content-Type", "Content-Length"} {
					if got := w.Header().Get(name); got != "" {
						t.Errorf("304 with %s %q", name, got)
					}
				}
			case http.StatusOK:
				want := `"1"`
				if method == http.MethodPatch {
					want = `"2"`
					if got := hs.user(t, "u1").Attributes["nickname"]; got != "neu" {
						t.Errorf("nickname = %v after the PATCH, want neu", got)
					}
				}
				if got := w.Header().Get("ETag"); got != want {
					t.Errorf("ETag = %q, want %q", got, want)
				}
				if method == http.MethodGet && w.Body.Len() == 0 {
					t.Error("200 without claims")
				}
			}
		})
	}
}

// FuzzNoneMatch parses any If-None-Match: never a panic, a header that
// starts with the current tag always matches, and one that holds neither
// "*" nor the version's digits never does.
func FuzzNoneMatch(f *testing.F) {
	for _, s := range []string{`"1"`, `W/"1", "2"`, `*`, `"`, `W/`, `,,,"3"`, "\"1\"\t,W/\"x\""} {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, v string, version uint64) {
		if noneMatch([]string{v}, version) && !strings.Contains(v, "*") && !strings.Contains(v, strconv.FormatUint(version, 10)) {
			t.Fatalf("%q matches version %d", v, version)
		}
		if !noneMatch([]string{etag(version) + "," + v}, version) {
			t.Fatalf("%q does not match version %d", etag(version)+","+v, version)
		}
	})
}
