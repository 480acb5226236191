package accesstoken_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/bearertest"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// FuzzJWTVerifier feeds any token to a JWT verifier on static keys, through
// the Authenticator: the answer is a principal or a 400/401, never a panic,
// never a 5xx.
func FuzzJWTVerifier(f *testing.F) {
	es, rs, ed := testkeys.MustNew("ES256"), testkeys.MustNew("RS256"), testkeys.MustNew("EdDSA")
	keys, err := accesstoken.NewStaticKeySet(testkeys.JWKS(es, rs, ed))
	if err != nil {
		f.Fatal(err)
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: btIssuer, Audience: []string{btAudience},
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
		bearertest.CheckOutcome(t, p, err)
	})
}
