package accesstoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
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
	hits    atomic.Int64
	mu      sync.Mutex
	answers map[string]any
}

// set changes the answer for token from the next request on, e.g. to
// revoke it.
func (s *introspectionServer) set(token string, answer any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[token] = answer
}

func newIntrospectionServer(t *testing.T, answers map[string]any) *introspectionServer {
	t.Helper()
	s := &introspectionServer{answers: answers}
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
		s.mu.Lock()
		answer, ok := s.answers[r.PostFormValue("token")]
		s.mu.Unlock()
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
}

// TestIntrospectionBehindCache: the introspection verifier caches nothing;
// a Cache in front of it asks the endpoint once per token, for no longer
// than CacheMaxAge (shorter here than the Cache's own MaxAge) and exp.
func TestIntrospectionBehindCache(t *testing.T) {
	exp := btNow.Add(10 * time.Minute).Unix()
	srv := newIntrospectionServer(t, map[string]any{
		"active":   map[string]any{"active": true, "sub": "u1", "scope": "openid", "exp": exp},
		"no-exp":   map[string]any{"active": true, "sub": "u2", "scope": "openid"},
		"inactive": map[string]any{"active": false},
	})
	clock := newClock(btNow)
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret", SkipAudienceCheck: true, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.MaxAge(); got != accesstoken.DefaultIntrospectionCacheMaxAge {
		t.Fatalf("MaxAge = %v, want the default CacheMaxAge %v", got, accesstoken.DefaultIntrospectionCacheMaxAge)
	}
	ctx := context.Background()
	verify := func(tv userinfo.TokenVerifier, token string, wantHits int64, wantErr bool) {
		t.Helper()
		before := srv.hits.Load()
		_, err := tv.VerifyToken(ctx, token)
		if (err != nil) != wantErr {
			t.Fatalf("VerifyToken(%q) err = %v, want error %v", token, err, wantErr)
		}
		if got := srv.hits.Load() - before; got != wantHits {
			t.Fatalf("VerifyToken(%q): endpoint hits = %d, want %d", token, got, wantHits)
		}
	}

	// Alone, it asks every time.
	verify(v, "active", 1, false)
	verify(v, "active", 1, false)

	c := accesstoken.NewCache(v, accesstoken.CacheConfig{MaxAge: time.Hour, Now: clock.Now})
	verify(c, "active", 1, false)
	verify(c, "active", 0, false)
	// An answer without exp is cached too: CacheMaxAge bounds it.
	verify(c, "no-exp", 1, false)
	verify(c, "no-exp", 0, false)
	// Inactive answers are not cached.
	verify(c, "inactive", 1, true)
	verify(c, "inactive", 1, true)

	// At CacheMaxAge (1 minute, not the Cache's hour) the endpoint is asked
	// again.
	clock.Advance(time.Minute - time.Nanosecond)
	verify(c, "active", 0, false)
	verify(c, "no-exp", 0, false)
	clock.Advance(time.Nanosecond)
	verify(c, "active", 1, false)
	verify(c, "no-exp", 1, false)
	// Past exp the token is refused, the cache notwithstanding.
	clock.Advance(10 * time.Minute)
	verify(c, "active", 1, true)
}

// TestIntrospectionRevokedBehindCache: a token revoked at the authorization
// server is refused at most CacheMaxAge later, even behind a Cache whose
// own MaxAge is much longer, and however long the token has to live.
func TestIntrospectionRevokedBehindCache(t *testing.T) {
	active := map[string]any{"active": true, "sub": "u1", "scope": "openid", "exp": btNow.Add(24 * time.Hour).Unix()}
	srv := newIntrospectionServer(t, map[string]any{"tok": active})
	clock := newClock(btNow)
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret", SkipAudienceCheck: true, CacheMaxAge: 30 * time.Second, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &userinfo.Authenticator{Verifier: accesstoken.NewCache(v, accesstoken.CacheConfig{MaxAge: time.Hour, Now: clock.Now})}
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer tok"), 200, "", "")

	srv.set("tok", map[string]any{"active": false})
	// Until CacheMaxAge has passed the cached answer stands: that is the
	// promise, and its limit.
	clock.Advance(30*time.Second - time.Nanosecond)
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer tok"), 200, "", "")
	clock.Advance(time.Nanosecond)
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer tok"), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	// And it stays refused: a refusal is not cached, every request asks.
	hits := srv.hits.Load()
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer tok"), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	if got := srv.hits.Load() - hits; got != 1 {
		t.Errorf("endpoint hits for a refused token = %d, want 1", got)
	}
}

func TestIntrospectionEndpointDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{Endpoint: url, ClientID: "rs", ClientSecret: "s", Audience: []string{btAudience}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyToken(context.Background(), "tok")
	if err == nil || errors.Is(err, userinfo.ErrInvalidToken) {
		t.Fatalf("err = %v, want a failure that is not ErrInvalidToken", err)
	}
	bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer tok"), 503, "temporarily_unavailable", "")
}

func TestIntrospectionConfigErrors(t *testing.T) {
	for name, cfg := range map[string]accesstoken.IntrospectionConfig{
		"no endpoint":            {ClientID: "x"},
		"bad endpoint":           {Endpoint: "ftp://x", ClientID: "x"},
		"no client":              {Endpoint: "https://as.example/introspect", Audience: []string{"a"}},
		"no audience":            {Endpoint: "https://as.example/introspect", ClientID: "x"},
		"both audience and skip": {Endpoint: "https://as.example/introspect", ClientID: "x", Audience: []string{"a"}, SkipAudienceCheck: true},
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

// TestIntrospectionNoRedirect: a redirect from the endpoint is an endpoint
// failure (503), and the token and credentials never reach where it points,
// also with a caller's client that follows redirects.
func TestIntrospectionNoRedirect(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":true,"sub":"u1","scope":"openid","aud":"` + btAudience + `"}`))
	}))
	defer elsewhere.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL, status)
		}))
		for name, client := range map[string]*http.Client{"default client": nil, "caller's client": {}} {
			v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
				Endpoint: endpoint.URL, ClientID: "rs", ClientSecret: "s", Audience: []string{btAudience}, HTTPClient: client,
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.VerifyToken(context.Background(), "tok")
			if err == nil || errors.Is(err, userinfo.ErrInvalidToken) {
				t.Errorf("%d, %s: VerifyToken = %v, %v; want an endpoint failure", status, name, p, err)
			}
		}
		endpoint.Close()
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestIntrospectionBinding: "cnf"."jkt" of an introspection response
// (RFC 9449 §6.2) reaches the principal, so that a bound opaque token is
// accepted with a DPoP proof of that key only; a "cnf" of the wrong shape
// makes the token invalid. A response without "iss" is accepted when no
// issuer is configured.
func TestIntrospectionBinding(t *testing.T) {
	srv := newIntrospectionServer(t, map[string]any{
		"bound":   map[string]any{"active": true, "sub": "u1", "scope": "openid", "aud": btAudience, "cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
		"bad-cnf": map[string]any{"active": true, "sub": "u1", "scope": "openid", "aud": btAudience, "cnf": map[string]any{"jkt": 7}},
	})
	v, err := accesstoken.NewIntrospectionVerifier(accesstoken.IntrospectionConfig{
		Endpoint: srv.URL, ClientID: "rs:1", ClientSecret: "s&cret", Audience: []string{btAudience},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.VerifyToken(context.Background(), "bound")
	if err != nil || p.JKT != "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" {
		t.Errorf("VerifyToken(bound) = %+v, %v; want the cnf.jkt in the principal", p, err)
	}
	if _, err := v.VerifyToken(context.Background(), "bad-cnf"); !errors.Is(err, userinfo.ErrInvalidToken) {
		t.Errorf("VerifyToken(bad-cnf) = %v, want ErrInvalidToken", err)
	}
	// A bound token sent as a Bearer token is refused.
	bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer bound"), 401, "invalid_token",
		`Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`)
}
