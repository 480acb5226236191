package userinfotest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/userinfotest"
)

// A server's wiring tested with real tokens: the test issuer's JWK Set found
// by discovery, the JWT verifier of package accesstoken, and the handler.
func ExampleIssuer() {
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{})
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	ctx := context.Background()
	keys, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: iss.URL()})
	if err != nil {
		panic(err)
	}
	defer keys.Close()
	tokens, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{
		Keys: keys, Issuer: iss.URL(), Audience: []string{iss.Audience()}, RequireATJWT: true,
	})
	if err != nil {
		panic(err)
	}
	store := userinfo.NewMemoryStore()
	_, _ = store.Put(ctx, "u1", map[string]any{"nickname": "old"})
	h, err := userinfo.New(userinfo.Config{Tokens: tokens, Store: store, Policy: userinfo.StaticClaims("nickname")})
	if err != nil {
		panic(err)
	}

	patch := func(token string) {
		r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(`{"nickname":"new"}`))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	good, _ := iss.Token(nil) // sub u1, scope openid, valid for an hour
	patch(good)
	expired, _ := iss.Token(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})
	patch(expired)
	noOpenID, _ := iss.TokenWithAlg("EdDSA", map[string]any{"scope": "profile"})
	patch(noOpenID)
	// Output:
	// 200 {"nickname":"new","sub":"u1"}
	// 401 {"error":"invalid_token","error_description":"Error decoding JWT"}
	// 403 {"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}
}

// TestIssuer checks the issuer against our verifier: each algorithm, its
// claims, its key set both ways, and its refusals.
func TestIssuer(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{
		Algorithms: []string{"ES256", "RS256", "PS384", "EdDSA"}, Audience: "api", Subject: "alice",
		TokenTTL: 10 * time.Minute, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if got := strings.Join(iss.Algorithms(), " "); got != "ES256 RS256 PS384 EdDSA" {
		t.Errorf("Algorithms = %s", got)
	}

	ctx := context.Background()
	remote, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if remote.URL() != iss.JWKSURL() {
		t.Errorf("discovered %s, want %s", remote.URL(), iss.JWKSURL())
	}
	static, err := accesstoken.NewStaticKeySet(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}

	for name, keys := range map[string]accesstoken.KeySet{"remote": remote, "static": static} {
		t.Run(name, func(t *testing.T) {
			v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: iss.URL(), Audience: []string{"api"},
				RequireATJWT: true, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range iss.Algorithms() {
				tok, err := iss.TokenWithAlg(alg, map[string]any{"client_id": "web", "scope": "openid email"})
				if err != nil {
					t.Fatal(err)
				}
				p, err := v.VerifyToken(ctx, tok)
				if err != nil {
					t.Fatalf("%s: %v", alg, err)
				}
				if p.Subject != "alice" || p.ClientID != "web" || strings.Join(p.Scopes, " ") != "openid email" ||
					!p.Expiry.Equal(now.Add(10*time.Minute)) || p.Claims["iat"] != float64(now.Unix()) || p.Claims["iss"] != iss.URL() {
					t.Errorf("%s: principal = %+v", alg, p)
				}
			}
			tok, err := iss.Token(nil)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := v.VerifyToken(ctx, tok); err != nil || strings.Join(p.Scopes, " ") != "openid" {
				t.Errorf("default token: %+v, %v; want scope openid", p, err)
			}
			for claim, edit := range map[string]map[string]any{
				"no sub":         {"sub": nil},
				"no exp":         {"exp": nil},
				"other audience": {"aud": "else"},
				"other issuer":   {"iss": "https://evil.example"},
			} {
				tok, err := iss.Token(edit)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.VerifyToken(ctx, tok); !errors.Is(err, userinfo.ErrInvalidToken) {
					t.Errorf("%s: err = %v, want ErrInvalidToken", claim, err)
				}
			}
		})
	}

	if _, err := iss.TokenWithAlg("HS256", nil); err == nil {
		t.Error("TokenWithAlg(HS256) succeeded; the issuer has no such key")
	}
	if _, err := iss.Token(map[string]any{"bad": make(chan int)}); err == nil {
		t.Error("Token with a claim that is not JSON succeeded")
	}
	b := iss.JWKS()
	b[0] = 'x'
	if iss.JWKS()[0] != '{' {
		t.Error("changing the slice JWKS returned changed the issuer's set")
	}
	if _, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{Algorithms: []string{"none"}}); err == nil {
		t.Error(`NewIssuer with alg "none" succeeded`)
	}
}
