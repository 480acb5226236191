package userinfo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// fuzzDescriptions are the only error_description values a bearer failure
// may carry.
var fuzzDescriptions = map[string]bool{
	"Bearer token not found in the request": true,
	"Error decoding JWT":                    true,
	"The request requires higher privileges than provided by the access token.": true,
}

// checkBearerOutcome asserts that Authenticate gave a principal or an *Error
// 400/401 with a well-formed challenge.
func checkBearerOutcome(t *testing.T, p *userinfo.Principal, err error) {
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
	if !fuzzDescriptions[e.Description] {
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

// FuzzBearerHeader feeds any Authorization header to the extractor. The
// verifier behind accepts one token.
func FuzzBearerHeader(f *testing.F) {
	for _, s := range []string{
		"Bearer good-token", "bearer good-token", "BEARER  good-token  ", "Bearer", "Bearer ", "BearerTOKEN",
		"Basic dTE6cHc=", "Bearer a b", "Bearer abc==", "Bearer =abc", "Bearer a\tb", "Bearer {\"payload\":1}",
		"Bearer ey.ey.sig", "\x00", "Bearer \xff\xfe", "  Bearer good-token", "Bearer good-token,Bearer x",
	} {
		f.Add(s, false)
	}
	f.Add("Bearer good-token", true)
	a := &userinfo.Authenticator{Verifier: userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
		if token != "good-token" {
			return nil, userinfo.ErrInvalidToken
		}
		return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}}, nil
	})}
	f.Fuzz(func(t *testing.T, header string, query bool) {
		target := "/userinfo"
		if query {
			target += "?access_token=x"
		}
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", header)
		p, err := a.Authenticate(r)
		checkBearerOutcome(t, p, err)
		if err == nil && (query || !strings.Contains(header, "good-token")) {
			t.Fatalf("accepted %q (query %v)", header, query)
		}
	})
}

// FuzzJWTVerifier feeds any token to a JWT verifier on static keys, through
// the Authenticator: the answer is a principal or a 400/401, never a panic,
// never a 5xx.
func FuzzJWTVerifier(f *testing.F) {
	es, rs, ed := testkeys.MustNew("ES256"), testkeys.MustNew("RS256"), testkeys.MustNew("EdDSA")
	keys, err := userinfo.NewStaticKeySet(testkeys.JWKS(es, rs, ed))
	if err != nil {
		f.Fatal(err)
	}
	v, err := userinfo.NewJWTVerifier(userinfo.JWTConfig{Keys: keys, Issuer: btIssuer, Audience: []string{btAudience},
		RequireATJWT: true, Now: func() time.Time { return btNow }})
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range []*testkeys.Key{es, rs, ed} {
		for _, edit := range []map[string]any{nil, {"exp": "soon"}, {"aud": []any{btAudience, 1}}, {"scp": []any{"openid", nil}}, {"sub": ""}} {
			tok, err := k.Sign(btClaims(edit))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok)
		}
		tok, _ := k.SignWithHeader(map[string]any{"crit": []string{"x"}, "kid": 7}, btClaims(nil))
		f.Add(tok)
	}
	for _, s := range []string{"", ".", "..", "....", "a.b.c", "e30.e30.", "e30.e30.e30", "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFUzI1NiJ9.bnVsbA.AAAA", "eyJhbGciOiJFUzI1NiIsImtpZCI6W119.e30.AA"} {
		f.Add(s)
	}
	a := &userinfo.Authenticator{Verifier: v}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.VerifyToken(context.Background(), token)
		if err == nil && (p == nil || p.Subject == "" || p.Expiry.IsZero()) {
			t.Fatalf("accepted without subject or expiry: %+v", p)
		}
		if err != nil && !errors.Is(err, userinfo.ErrInvalidToken) {
			t.Fatalf("error %v does not wrap ErrInvalidToken", err)
		}
		r := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		p, err = a.Authenticate(r)
		checkBearerOutcome(t, p, err)
	})
}
