package accesstoken_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

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

// FuzzDPoPProof feeds any DPoP header, method and URI to a DPoP verifier:
// the answer is the thumbprint of a key (base64url of 32 bytes) or an
// error wrapping ErrInvalidDPoPProof, never a panic, never another error
// (its replay store is in memory and always answers).
func FuzzDPoPProof(f *testing.F) {
	dpKeys()
	v, err := accesstoken.NewDPoPVerifier(accesstoken.DPoPConfig{Replay: userinfo.NewMemoryReplayStore(0),
		Now: func() time.Time { return dpNow }})
	if err != nil {
		f.Fatal(err)
	}
	for _, edit := range []map[string]any{nil, {"htu": "HTTPS://ID.EXAMPLE.COM:443/api/./userinfo?x#y"}, {"iat": "x"},
		{"jti": 1}, {"ath": nil}, {"nonce": []any{}}} {
		f.Add(proof(f, dpES, jose.ES256, nil, dpClaims(f, dpNow, edit)), "PATCH", dpURI)
		f.Add(proof(f, dpEd, jose.EdDSA, nil, dpClaims(f, dpNow, edit)), "PATCH", dpURI)
	}
	f.Add(proof(f, dpRS, jose.PS256, nil, dpClaims(f, dpNow, nil)), "PATCH", "https://id.example.com/%zz")
	f.Add(proof(f, dpES, jose.ES256, map[jose.HeaderKey]any{"jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
		dpClaims(f, dpNow, nil)), "PATCH", dpURI)
	f.Add(signProof(f, dpES, jose.ES256, nil, dpClaims(f, dpNow, nil)).FullSerialize(), "PATCH", dpURI)
	for _, s := range []string{"", ".", "..", "....", "a.b.c", "e30.e30.", "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.e30.AA",
		"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Im9jdCJ9fQ.e30.AA"} {
		f.Add(s, "PATCH", dpURI)
	}
	f.Fuzz(func(t *testing.T, p, method, uri string) {
		jkt, err := v.VerifyProof(context.Background(), userinfo.DPoPProof{Proof: p, Method: method, URI: uri, AccessToken: dpToken})
		switch {
		case err == nil && len(jkt) != 43:
			t.Fatalf("accepted with thumbprint %q", jkt)
		case err != nil && (jkt != "" || !errors.Is(err, userinfo.ErrInvalidDPoPProof)):
			t.Fatalf("VerifyProof = %q, %v; want an ErrInvalidDPoPProof", jkt, err)
		}
	})
}
