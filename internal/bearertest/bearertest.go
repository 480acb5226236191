// Package bearertest holds the test helpers that the tests of package
// userinfo (the Authenticator) and of package accesstoken (the verifiers
// behind it) share: the contract's challenges, a request through
// Authenticator.Middleware, and the checks of its answer.
package bearertest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ciamkit/userinfo"
)

// The challenges of the contract, exactly.
const (
	ChallengeMissing      = `Bearer error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`
	ChallengeInvalidToken = `Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`
	ChallengeScope        = `Bearer error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1", scope="openid"`
)

// Serve sends a request with the given Authorization headers through
// a.Middleware and returns the recorder; the handler behind answers 200 with
// the principal's subject.
func Serve(a *userinfo.Authenticator, target string, authorization ...string) *httptest.ResponseRecorder {
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := userinfo.PrincipalFromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(p.Subject))
	}))
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, v := range authorization {
		r.Header.Add("Authorization", v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Check asserts status, the JSON "error" and the WWW-Authenticate header.
func Check(t testing.TB, w *httptest.ResponseRecorder, status int, code, challenge string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate = %q\nwant               %q", got, challenge)
	}
	if code == "" {
		return
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if body["error"] != code {
		t.Errorf("error = %q, want %q", body["error"], code)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", w.Header().Get("Cache-Control"))
	}
}

// descriptions are the only error_description values a bearer failure may
// carry.
var descriptions = map[string]bool{
	"Bearer token not found in the request": true,
	"Error decoding JWT":                    true,
	"The request requires higher privileges than provided by the access token.": true,
}

// CheckOutcome asserts that Authenticate gave a principal with a subject,
// or an *Error 400/401 with a fixed description and a challenge of
// printable ASCII. The fuzz targets call it on every input.
func CheckOutcome(t testing.TB, p *userinfo.Principal, err error) {
	t.Helper()
	if err == nil {
		if p == nil || p.Subject == "" {
			t.Fatalf("success without a subject: %+v", p)
		}
		return
	}
	var e *userinfo.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Status != 400 && e.Status != 401 || e.Challenge != userinfo.SchemeBearer {
		t.Fatalf("got %d %s (challenge %q), want a 400 or 401 bearer error", e.Status, e.Code, e.Challenge)
	}
	if !descriptions[e.Description] {
		t.Fatalf("error_description %q is not a fixed text", e.Description)
	}
	w := httptest.NewRecorder()
	userinfo.WriteError(w, err)
	for _, c := range w.Header().Get("WWW-Authenticate") {
		if c < 0x20 || c > 0x7e {
			t.Fatalf("WWW-Authenticate has byte %q", c)
		}
	}
}
