package accesstoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/bearertest"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// introspectionServer is an RFC 7662 endpoint with fixed answers per token.
type introspectionServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newIntrospectionServer(t *testing.T, answers map[string]any) *introspectionServer {
	t.Helper()
	s := &introspectionServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || id != "rs%3A1" || secret != "s%26cret" {
			// RFC 6749 §2.3.1: id and secret are form-encoded first.
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.PostFormValue("token_type_hint") != "access_token" {
			http.Error(w, "no hint", http.StatusBadRequest)
			return
		}
		answer, ok := answers[r.PostFormValue("token")]
		if !ok {
			answer = map[string]any{"active": false}
		}
		switch a := answer.(type) {
		case int:
			w.WriteHeader(a)
		case string:
			_, _ = w.Write([]byte(a))
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(a)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestIntrospection(t *testing.T) {
	exp := btNow.Add(10 * time.Minute).Unix()
	srv := newIntrospectionServer(t, map[string]any{
		"active": map[string]any{"active": true, "sub": "u1", "scope": "openid profile", "client_id": "web",
			"exp": exp, "iss": btIssuer, "aud": []string{btAudience}},
		"no-openid":    map[string]any{"active": true, "sub": "u1", "scope": "profile", "exp": exp, "iss": btIssuer, "aud": btAudience},
		"inactive":     map[string]any{"active": false, "sub": "u1", "scope": "openid"},
		"active-text":  map[string]any{"active": "true", "sub": "u1", "scope": "openid", "iss": btIssuer, "aud": btAudience},
		"expired":      map[string]any{"active": true, "sub": "u1", "scope": "openid", "exp": btNow.Add(-time.Second).Unix(), "iss": btIssuer, "aud": btAudience},
		"other-iss":    map[string]any{"active": true, "sub": "u1", "scope": "openid", "iss": "https://evil.example", "aud": btAudience},
		"other-aud":    map[string]any{"active": true, "sub": "u1", "scope": "openid", "iss": btIssuer, "aud": "x"},
		"no-sub":       map[string]any{"active": true, "scope": "openid", "iss": btIssuer, "aud": btAudience},
		"refresh":      map[string]any{"active": true, "sub": "u1", "scope": "openid", "iss": btIssuer, "aud": btAudience, "token_type": "refresh_token"},
		"typed-bearer": map[string]any{"active": true, "sub": "u1", "scope": "openid", "iss": btIssuer, "aud": btAudience, "token_type": "Bearer"},
		"server-error": http.StatusInternalServerError,
		"unauthorized": http.StatusUnauthorized,
		"not-json":     "<html>",
		"json-array":   "[]",
	})
	clock := newClock(btNow)
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret",
		Issuer: btIssuer, Audience: []string{btAudience}, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &userinfo.Authenticator{Verifier: v}
	tests := []struct {
		token      string
		wantStatus int
		wantCode   string
		wantChal   string
	}{
		{"active", 200, "", ""},
		{"no-openid", 403, "insufficient_scope", bearertest.ChallengeScope},
		{"inactive", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"unknown", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"active-text", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"expired", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"other-iss", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"other-aud", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"no-sub", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"refresh", 401, "invalid_token", bearertest.ChallengeInvalidToken},
		{"typed-bearer", 200, "", ""},
		{"server-error", 503, "temporarily_unavailable", ""},
		{"unauthorized", 503, "temporarily_unavailable", ""},
		{"not-json", 503, "temporarily_unavailable", ""},
		{"json-array", 503, "temporarily_unavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			bearertest.Check(t, bearertest.Serve(a, "/", "Bearer "+tt.token), tt.wantStatus, tt.wantCode, tt.wantChal)
		})
	}

	t.Run("principal", func(t *testing.T) {
		p, err := v.VerifyToken(context.Background(), "active")
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "u1" || p.ClientID != "web" || !p.HasScope("openid") || !p.Expiry.Equal(time.Unix(exp, 0)) {
			t.Errorf("principal = %+v", p)
		}
	})

	t.Run("cached no longer than exp", func(t *testing.T) {
		hits := srv.hits.Load()
		for range 3 {
			if _, err := v.VerifyToken(context.Background(), "active"); err != nil {
				t.Fatal(err)
			}
		}
		if got := srv.hits.Load() - hits; got != 0 {
			t.Fatalf("endpoint hits for a cached token = %d, want 0", got)
		}
		// Inactive answers are not cached.
		_, _ = v.VerifyToken(context.Background(), "inactive")
		_, _ = v.VerifyToken(context.Background(), "inactive")
		if got := srv.hits.Load() - hits; got != 2 {
			t.Fatalf("endpoint hits for an inactive token = %d, want 2", got)
		}
		// Past the cache's max age (1 minute) the endpoint is asked again;
		// past exp the token is refused.
		clock.Advance(time.Minute)
		if _, err := v.VerifyToken(context.Background(), "active"); err != nil {
			t.Fatal(err)
		}
		if got := srv.hits.Load() - hits; got != 3 {
			t.Fatalf("endpoint hits after the max age = %d, want 3", got)
		}
		clock.Advance(10 * time.Minute)
		if _, err := v.VerifyToken(context.Background(), "active"); !errors.Is(err, userinfo.ErrInvalidToken) {
			t.Fatalf("after exp: err = %v, want ErrInvalidToken", err)
		}
	})
}

func TestIntrospectionEndpointDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{Endpoint: url, ClientID: "rs", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyToken(context.Background(), "tok")
	if err == nil || errors.Is(err, userinfo.ErrInvalidToken) {
		t.Fatalf("err = %v, want a failure that is not ErrInvalidToken", err)
	}
	bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer tok"), 503, "temporarily_unavailable", "")
}

func TestIntrospectionCacheBounded(t *testing.T) {
	srv := newIntrospectionServer(t, map[string]any{
		"a": map[string]any{"active": true, "sub": "a", "scope": "openid"},
		"b": map[string]any{"active": true, "sub": "b", "scope": "openid"},
	})
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret", CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"a", "a", "b", "a"} {
		if _, err := v.VerifyToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.hits.Load(); got != 3 {
		t.Fatalf("hits = %d, want 3 (a, b, a again after eviction)", got)
	}
}

func TestIntrospectionConfigErrors(t *testing.T) {
	for name, cfg := range map[string]accesstoken.IntrospectionConfig{
		"no endpoint":  {ClientID: "x"},
		"bad endpoint": {Endpoint: "ftp://x", ClientID: "x"},
		"no client":    {Endpoint: "https://as.example/introspect"},
	} {
		if _, err := accesstoken.NewIntrospectionVerifier(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestIntrospectionPrincipalLikeJWT: the same claims make the same principal
// whether a JWT carries them or the introspection endpoint answers them.
func TestIntrospectionPrincipalLikeJWT(t *testing.T) {
	btKeys()
	claims := btClaims(map[string]any{"scope": "openid  profile", "scp": []string{"email", "openid"}, "client_id": nil, "azp": "spa"})
	answer := map[string]any{"active": true}
	for k, v := range claims {
		answer[k] = v
	}
	srv := newIntrospectionServer(t, map[string]any{"opaque": answer})
	clock := newClock(btNow)
	iv, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret", Issuer: btIssuer, Audience: []string{btAudience}, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := accesstoken.NewStaticKeySet(testkeys.JWKS(btES))
	if err != nil {
		t.Fatal(err)
	}
	jv, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fromJWT, err := jv.VerifyToken(context.Background(), btSign(t, btES, nil, claims))
	if err != nil {
		t.Fatal(err)
	}
	fromIntrospection, err := iv.VerifyToken(context.Background(), "opaque")
	if err != nil {
		t.Fatal(err)
	}
	if fromJWT.Subject != fromIntrospection.Subject || fromJWT.ClientID != fromIntrospection.ClientID ||
		!slices.Equal(fromJWT.Scopes, fromIntrospection.Scopes) || !fromJWT.Expiry.Equal(fromIntrospection.Expiry) {
		t.Errorf("JWT principal %+v\nintrospection principal %+v\nwant the same subject, client, scopes and expiry", fromJWT, fromIntrospection)
	}
	if want := []string{"openid", "profile", "email"}; !slices.Equal(fromJWT.Scopes, want) || fromJWT.ClientID != "spa" {
		t.Errorf("principal = %+v, want client spa and scopes %q", fromJWT, want)
	}
}
