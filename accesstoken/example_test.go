package accesstoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/userinfotest"
)

// A JWT verifier on a fixed key set, here the JWK Set of a test issuer; a
// server would read its issuer's with ReadKeySetFile or fetch it with
// NewRemoteKeySet.
func ExampleNewJWTVerifier() {
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{})
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	keys, err := accesstoken.NewStaticKeySet(iss.JWKS())
	if err != nil {
		panic(err)
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{
		Keys:         keys,
		Issuer:       iss.URL(),
		Audience:     []string{iss.Audience()},
		RequireATJWT: true, // RFC 9068: "typ": "at+jwt"
	})
	if err != nil {
		panic(err)
	}

	token, _ := iss.Token(map[string]any{"sub": "u1", "client_id": "web", "scope": "openid profile"})
	p, err := v.VerifyToken(context.Background(), token)
	fmt.Println(p.Subject, p.ClientID, p.Scopes, err)

	forged, _ := iss.Token(map[string]any{"aud": "https://other.example"})
	_, err = v.VerifyToken(context.Background(), forged)
	fmt.Println(errors.Is(err, userinfo.ErrInvalidToken), err)
	// Output:
	// u1 web [openid profile] <nil>
	// true accesstoken: invalid access token: aud does not match
}

// A key set found by OpenID Connect discovery from the issuer identifier,
// fetched before NewRemoteKeySet returns and refreshed until Close.
func ExampleNewRemoteKeySet() {
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{})
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	// ctx bounds discovery and the first fetch; Close ends the refresh.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: iss.URL()})
	if err != nil {
		panic(err)
	}
	defer keys.Close()
	fmt.Println(keys.URL() == iss.JWKSURL(), keys.Ready(ctx))

	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: iss.URL(), Audience: []string{iss.Audience()}})
	if err != nil {
		panic(err)
	}
	token, _ := iss.TokenWithAlg("EdDSA", nil)
	p, err := v.VerifyToken(ctx, token)
	fmt.Println(p.Subject, err)
	// Output:
	// true <nil>
	// u1 <nil>
}

// A cache in front of a verifier: the second request with a token does not
// reach it.
func ExampleNewCache() {
	calls := 0
	slow := userinfo.TokenVerifierFunc(func(_ context.Context, token string) (*userinfo.Principal, error) {
		calls++
		if token != "good" {
			return nil, userinfo.ErrInvalidToken
		}
		return &userinfo.Principal{Subject: "u1", Scopes: []string{"openid"}, Expiry: time.Now().Add(time.Hour)}, nil
	})
	c := accesstoken.NewCache(slow, accesstoken.CacheConfig{MaxAge: 5 * time.Minute})
	for _, token := range []string{"good", "good", "bad", "bad"} {
		_, err := c.VerifyToken(context.Background(), token)
		fmt.Println(token, err == nil, calls)
	}
	// Output:
	// good true 1
	// good true 1
	// bad false 2
	// bad false 3
}

// Opaque tokens asked about at an RFC 7662 introspection endpoint, behind a
// cache whose MaxAge (an hour) is longer than what introspection allows:
// the cache keeps an answer for CacheMaxAge (a minute) only, so a revoked
// token is refused a minute later at the most.
func ExampleNewIntrospectionVerifier() {
	var revoked atomic.Bool
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := map[string]any{"active": false}
		if id, secret, _ := r.BasicAuth(); id == "resource-server" && secret == "secret" && r.PostFormValue("token") == "opaque-1" && !revoked.Load() {
			answer = map[string]any{"active": true, "sub": "u1", "scope": "openid", "client_id": "web", "aud": "https://api.example"}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	defer endpoint.Close()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now } // one clock for both
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: endpoint.URL, ClientID: "resource-server", ClientSecret: "secret",
		Audience:    []string{"https://api.example"},
		CacheMaxAge: time.Minute, Now: clock,
	})
	if err != nil {
		panic(err)
	}
	tokens := accesstoken.NewCache(v, accesstoken.CacheConfig{MaxAge: time.Hour, Now: clock})

	verify := func() {
		p, err := tokens.VerifyToken(context.Background(), "opaque-1")
		if err != nil {
			fmt.Println(now.Format("15:04:05"), "refused:", errors.Is(err, userinfo.ErrInvalidToken))
			return
		}
		fmt.Println(now.Format("15:04:05"), "accepted:", p.Subject, p.ClientID)
	}
	verify()
	revoked.Store(true)
	now = now.Add(59 * time.Second)
	verify() // from the cache
	now = now.Add(time.Second)
	verify() // asked again
	// Output:
	// 00:00:00 accepted: u1 web
	// 00:00:59 accepted: u1 web
	// 00:01:00 refused: true
}
