package accesstoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/bearertest"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// jwksHarness is a remote key set on a keyServer with a fake clock, and an
// Authenticator on it.
type jwksHarness struct {
	ks    *keyServer
	set   *accesstoken.RemoteKeySet
	clock *btClock
	auth  *userinfo.Authenticator
}

func newJWKSHarness(t *testing.T, ready bool, keys ...*testkeys.Key) *jwksHarness {
	t.Helper()
	return newJWKSHarnessOn(t, newKeyServer(t, keys...), ready)
}

func newJWKSHarnessOn(t *testing.T, ks *keyServer, ready bool) *jwksHarness {
	t.Helper()
	h := &jwksHarness{ks: ks, clock: newClock(btNow)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{
		URL: h.ks.URL, RefreshCooldown: time.Minute, MinRefreshInterval: time.Hour, Now: h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = set.Close() })
	if ready {
		if err := set.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.set = set
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.auth = &userinfo.Authenticator{Verifier: v}
	return h
}

func (h *jwksHarness) request(t *testing.T, k *testkeys.Key) *httptest.ResponseRecorder {
	t.Helper()
	return bearertest.Serve(h.auth, "/", "Bearer "+btSign(t, k, nil, btClaims(nil)))
}

// TestJWKSRotation: a key rotated in is picked up on its first unknown kid,
// refetches are throttled by the cooldown, and when the server fails the
// last good set keeps serving.
func TestJWKSRotation(t *testing.T) {
	btKeys()
	h := newJWKSHarness(t, true, btRot)
	fetches := func() int64 { return h.ks.hits.Load() }

	bearertest.Check(t, h.request(t, btRot), 200, "", "")
	start := fetches()

	// A token of a key not yet published: one refetch, still unknown.
	bearertest.Check(t, h.request(t, btRotNext), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	if got := fetches(); got != start+1 {
		t.Fatalf("fetches after an unknown kid = %d, want %d", got, start+1)
	}

	// The issuer publishes the new key. Within the cooldown no refetch
	// happens, so the token is still refused.
	h.ks.serve(btRot, btRotNext)
	h.clock.Advance(30 * time.Second)
	bearertest.Check(t, h.request(t, btRotNext), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	if got := fetches(); got != start+1 {
		t.Fatalf("fetches within the cooldown = %d, want %d", got, start+1)
	}

	// After the cooldown the next request refetches and verifies.
	h.clock.Advance(31 * time.Second)
	bearertest.Check(t, h.request(t, btRotNext), 200, "", "")
	if got := fetches(); got != start+2 {
		t.Fatalf("fetches after the cooldown = %d, want %d", got, start+2)
	}
	// Known keys need no fetch.
	bearertest.Check(t, h.request(t, btRot), 200, "", "")
	bearertest.Check(t, h.request(t, btRotNext), 200, "", "")
	if got := fetches(); got != start+2 {
		t.Fatalf("fetches for known keys = %d, want %d", got, start+2)
	}

	// The key server goes down: a refetch fails, the last good set serves.
	h.ks.setDown()
	h.clock.Advance(2 * time.Minute)
	bearertest.Check(t, h.request(t, btOther), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	if got := fetches(); got != start+3 {
		t.Fatalf("fetches while down = %d, want %d", got, start+3)
	}
	bearertest.Check(t, h.request(t, btRot), 200, "", "")
	bearertest.Check(t, h.request(t, btRotNext), 200, "", "")
}

// TestJWKSRandomKidsThrottled: a burst of tokens with random key ids, many at
// once, causes at most one fetch per cooldown.
func TestJWKSRandomKidsThrottled(t *testing.T) {
	btKeys()
	h := newJWKSHarness(t, true, btRot)
	start := h.ks.hits.Load()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := btSign(t, btOther, map[string]any{"kid": strings.Repeat("k", i+1)}, btClaims(nil))
			w := bearertest.Serve(h.auth, "/", "Bearer "+tok)
			if w.Code != 401 {
				t.Errorf("status = %d, want 401", w.Code)
			}
		}()
	}
	wg.Wait()
	if got := h.ks.hits.Load() - start; got > 1 {
		t.Fatalf("fetches for 20 random kids = %d, want at most 1", got)
	}
}

// TestJWKSUnavailable: with no set ever fetched, tokens are answered 503
// temporarily_unavailable (never 401, never a pass), and it recovers once
// the server does.
func TestJWKSUnavailable(t *testing.T) {
	btKeys()
	ks := newKeyServer(t, btRot)
	ks.setDown()
	h := newJWKSHarnessOn(t, ks, false)
	w := h.request(t, btRot)
	bearertest.Check(t, w, 503, "temporarily_unavailable", "")
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if body["error_description"] != "The service is temporarily unavailable. Please try again later." {
		t.Errorf("error_description = %q", body["error_description"])
	}

	_, err := h.set.VerificationKeys(context.Background(), btRot.ID)
	if !errors.Is(err, accesstoken.ErrNoKeySet) || errors.Is(err, userinfo.ErrInvalidToken) {
		t.Fatalf("VerificationKeys error = %v, want ErrNoKeySet and not ErrInvalidToken", err)
	}

	h.ks.serve(btRot)
	h.clock.Advance(2 * time.Minute)
	bearertest.Check(t, h.request(t, btRot), 200, "", "")
}

// TestJWKSNeverUp: a server down from the start.
func TestJWKSNeverUp(t *testing.T) {
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadGateway)
	}))
	defer ks.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{URL: ks.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
	if err != nil {
		t.Fatal(err)
	}
	btKeys()
	w := bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer "+btSign(t, btRot, nil, btClaims(nil)))
	bearertest.Check(t, w, 503, "temporarily_unavailable", "")
}

// TestJWKSLifecycle: the constructor's context bounds the first fetch and
// nothing after; Close alone stops the refetches.
func TestJWKSLifecycle(t *testing.T) {
	btKeys()
	t.Run("first fetch before NewRemoteKeySet returns", func(t *testing.T) {
		ks := newKeyServer(t, btRot)
		set, err := accesstoken.NewRemoteKeySet(context.Background(), accesstoken.RemoteKeySetConfig{URL: ks.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		if got := ks.hits.Load(); got != 1 {
			t.Fatalf("fetches when NewRemoteKeySet returned = %d, want 1", got)
		}
		if keys, err := set.VerificationKeys(context.Background(), btRot.ID); err != nil || len(keys) != 1 {
			t.Fatalf("VerificationKeys = %v, %v; want the key without waiting", keys, err)
		}
		done, cancel := context.WithCancel(context.Background())
		cancel()
		if err := set.Ready(done); err != nil {
			t.Errorf("Ready(a done context) on a fetched set = %v, want nil", err)
		}
	})

	t.Run("the context ends after the constructor", func(t *testing.T) {
		ks := newKeyServer(t, btRot)
		ctx, cancel := context.WithCancel(context.Background())
		clock := newClock(btNow)
		set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{URL: ks.URL, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		cancel()
		// A key rotated in is still fetched on its first unknown kid.
		ks.serve(btRot, btRotNext)
		keys, err := set.VerificationKeys(context.Background(), btRotNext.ID)
		if err != nil || len(keys) != 1 || keys[0].ID != btRotNext.ID {
			t.Fatalf("VerificationKeys(rotated-in kid) after the constructor's context ended = %v, %v; want the new key", keys, err)
		}
	})

	t.Run("a first fetch cut short is no error", func(t *testing.T) {
		ks := newKeyServer(t, btRot)
		done, cancel := context.WithCancel(context.Background())
		cancel()
		clock := newClock(btNow)
		set, err := accesstoken.NewRemoteKeySet(done, accesstoken.RemoteKeySetConfig{URL: ks.URL, Now: clock.Now})
		if err != nil {
			t.Fatalf("NewRemoteKeySet with a done context: %v, want the set, unfetched", err)
		}
		defer set.Close()
		if _, err := set.VerificationKeys(done, btRot.ID); !errors.Is(err, accesstoken.ErrNoKeySet) && !errors.Is(err, context.Canceled) {
			t.Fatalf("VerificationKeys before any fetch = %v, want ErrNoKeySet or the context's error", err)
		}
		// The first request of an unknown kid (here: any) fetches.
		clock.Advance(2 * time.Minute)
		if keys, err := set.VerificationKeys(context.Background(), btRot.ID); err != nil || len(keys) != 1 {
			t.Fatalf("VerificationKeys after a refetch = %v, %v; want the key", keys, err)
		}
	})

	t.Run("Close stops refetching", func(t *testing.T) {
		ks := newKeyServer(t, btRot)
		clock := newClock(btNow)
		set, err := accesstoken.NewRemoteKeySet(context.Background(), accesstoken.RemoteKeySetConfig{URL: ks.URL, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Close(); err != nil {
			t.Fatal(err)
		}
		if err := set.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		hits := ks.hits.Load()
		// The last fetched set keeps serving; an unknown kid fetches nothing.
		if keys, err := set.VerificationKeys(context.Background(), btRot.ID); err != nil || len(keys) != 1 {
			t.Fatalf("VerificationKeys(known kid) after Close = %v, %v", keys, err)
		}
		_, _ = set.VerificationKeys(context.Background(), "unknown")
		if got := ks.hits.Load() - hits; got != 0 {
			t.Fatalf("fetches after Close = %d, want 0", got)
		}
	})
}

// TestJWKSDiscovery: the JWK Set found through the issuer's discovery
// document.
func TestJWKSDiscovery(t *testing.T) {
	btKeys()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	issuer := srv.URL + "/tenant"
	mux.HandleFunc("GET /tenant/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /bad/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": "https://evil.example", "jwks_uri": srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(testkeys.JWKS(btRot)) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if set.URL() != srv.URL+"/keys" {
		t.Errorf("URL = %q", set.URL())
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
	if err != nil {
		t.Fatal(err)
	}
	bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer "+btSign(t, btRot, nil, btClaims(map[string]any{"iss": issuer}))), 200, "", "")
	// The issuer is the discovered one: a token of the issuer named in
	// the code's other configuration is refused, and naming another one
	// is an error.
	bearertest.Check(t, bearertest.Serve(&userinfo.Authenticator{Verifier: v}, "/", "Bearer "+btSign(t, btRot, nil, btClaims(nil))), 401, "invalid_token",
		`Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`)
	if _, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}}); err == nil {
		t.Error("an Issuer other than the discovered one was accepted")
	}
	if _, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: issuer, Audience: []string{btAudience}}); err != nil {
		t.Errorf("the discovered issuer, given again: %v", err)
	}

	if _, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: srv.URL + "/bad"}); err == nil {
		t.Error("discovery with a mismatched issuer succeeded")
	}
	if _, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{Issuer: srv.URL + "/missing"}); err == nil {
		t.Error("discovery of a missing document succeeded")
	}
}

func TestJWKSConfigErrors(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]accesstoken.RemoteKeySetConfig{
		"neither":    {},
		"both":       {URL: "https://a.example/jwks", Issuer: "https://a.example"},
		"not http":   {URL: "file:///etc/passwd"},
		"relative":   {URL: "/jwks"},
		"bad issuer": {Issuer: "ftp://a.example"},
	} {
		if _, err := accesstoken.NewRemoteKeySet(ctx, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestJWKSStaticAndFile covers the fixed key sets and what they keep.
func TestJWKSStaticAndFile(t *testing.T) {
	btKeys()
	ctx := context.Background()
	jwks := testkeys.JWKS(btES, btRS, btEd)
	set, err := accesstoken.NewStaticKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*testkeys.Key{btES, btRS, btEd} {
		keys, err := set.VerificationKeys(ctx, k.ID)
		if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Algorithm != k.Alg {
			t.Errorf("VerificationKeys(%s) = %+v, %v", k.ID, keys, err)
		}
	}
	if keys, _ := set.VerificationKeys(ctx, ""); len(keys) != 3 {
		t.Errorf("VerificationKeys(\"\") has %d keys, want 3", len(keys))
	}
	if keys, _ := set.VerificationKeys(ctx, "nope"); len(keys) != 0 {
		t.Errorf("unknown kid gave %d keys", len(keys))
	}

	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := accesstoken.ReadKeySetFile(path); err != nil {
		t.Errorf("ReadKeySetFile: %v", err)
	}
	if _, err := accesstoken.ReadKeySetFile(path + ".missing"); err == nil {
		t.Error("ReadKeySetFile of a missing file succeeded")
	}

	// Keys that are not for verifying signatures are left out.
	encKey := btES.JWK()
	encKey["use"] = "enc"
	opsKey := btRS.JWK()
	opsKey["key_ops"] = []string{"encrypt"}
	hmacKey := map[string]any{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "h"}
	only := func(keys ...map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return b
	}
	for name, data := range map[string][]byte{
		"not JSON":       []byte("nope"),
		"empty set":      []byte(`{"keys":[]}`),
		"encryption key": only(encKey),
		"key_ops":        only(opsKey),
		"symmetric key":  only(hmacKey),
	} {
		if _, err := accesstoken.NewStaticKeySet(data); err == nil {
			t.Errorf("%s: NewStaticKeySet succeeded", name)
		}
	}
	mixed, err := accesstoken.NewStaticKeySet(only(encKey, hmacKey, btEd.JWK()))
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := mixed.VerificationKeys(ctx, ""); len(keys) != 1 || keys[0].ID != btEd.ID {
		t.Errorf("mixed set kept %+v, want only the Ed25519 key", keys)
	}
}

// TestJWTConfigErrors covers what NewJWTVerifier refuses.
func TestJWTConfigErrors(t *testing.T) {
	btKeys()
	set, _ := accesstoken.NewStaticKeySet(testkeys.JWKS(btES))
	secret := []byte(strings.Repeat("s", 32))
	iss, aud := btIssuer, []string{btAudience}
	for name, cfg := range map[string]accesstoken.JWTConfig{
		"no keys":              {Issuer: iss, Audience: aud},
		"none":                 {Keys: set, Issuer: iss, Audience: aud, Algorithms: []string{"none"}},
		"unknown alg":          {Keys: set, Issuer: iss, Audience: aud, Algorithms: []string{"XX999"}},
		"HS256 without secret": {Keys: set, Issuer: iss, Audience: aud, Algorithms: []string{"HS256"}},
		"short secret":         {HMACSecret: []byte("short"), Issuer: iss, Audience: aud},
		"RS256 without keys":   {HMACSecret: secret, Issuer: iss, Audience: aud, Algorithms: []string{"RS256"}},
		"no issuer":            {Keys: set, Audience: []string{btAudience}},
		"no audience":          {Keys: set, Issuer: btIssuer},
		"empty audience":       {Keys: set, Issuer: btIssuer, Audience: []string{""}},
		"issuer and skip":      {Keys: set, Issuer: btIssuer, SkipIssuerCheck: true, Audience: []string{btAudience}},
		"audience and skip":    {Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, SkipAudienceCheck: true},
	} {
		if _, err := accesstoken.NewJWTVerifier(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Skipped by name, both checks are off.
	if _, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, SkipIssuerCheck: true, SkipAudienceCheck: true}); err != nil {
		t.Errorf("both checks skipped: %v", err)
	}
}

// TestJWTHMAC: HS256 works with a configured secret, and only then.
func TestJWTHMAC(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{HMACSecret: secret, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
	if err != nil {
		t.Fatal(err)
	}
	a := &userinfo.Authenticator{Verifier: v}
	good, _ := testkeys.SignHMAC("HS256", secret, nil, btClaims(nil))
	bad, _ := testkeys.SignHMAC("HS256", []byte(strings.Repeat("t", 32)), nil, btClaims(nil))
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer "+good), 200, "", "")
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer "+bad), 401, "invalid_token", bearertest.ChallengeInvalidToken)
	btKeys()
	bearertest.Check(t, bearertest.Serve(a, "/", "Bearer "+btSign(t, btES, nil, btClaims(nil))), 401, "invalid_token", bearertest.ChallengeInvalidToken)
}

// TestJWTPrincipal checks what a verified token yields.
func TestJWTPrincipal(t *testing.T) {
	btKeys()
	set, _ := accesstoken.NewStaticKeySet(testkeys.JWKS(btES))
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok := btSign(t, btES, nil, btClaims(map[string]any{
		"scope": "openid  profile", "scp": []string{"email", "openid"}, "client_id": nil, "azp": "spa", "exp": 1767326645.5,
	}))
	p, err := v.VerifyToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "u1" || p.ClientID != "spa" || strings.Join(p.Scopes, " ") != "openid profile email" {
		t.Errorf("principal = %+v", p)
	}
	if want := time.Unix(1767326645, 5e8).UTC(); !p.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", p.Expiry, want)
	}
	if p.Claims["iss"] != btIssuer {
		t.Errorf("Claims = %v", p.Claims)
	}
}

// TestJWTKeyWithoutAlg: a JWK without "alg" verifies the algorithms of its
// type and curve only.
func TestJWTKeyWithoutAlg(t *testing.T) {
	btKeys()
	var jwks []map[string]any
	for _, k := range []*testkeys.Key{btES, btRS, btEd} {
		m := k.JWK()
		delete(m, "alg")
		jwks = append(jwks, m)
	}
	data, _ := json.Marshal(map[string]any{"keys": jwks})
	set, err := accesstoken.NewStaticKeySet(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: func() time.Time { return btNow }})
	if err != nil {
		t.Fatal(err)
	}
	as := func(k *testkeys.Key, alg string) *testkeys.Key {
		return &testkeys.Key{ID: k.ID, Alg: alg, Signer: k.Signer}
	}
	for _, tt := range []struct {
		key  *testkeys.Key
		want bool
	}{
		{btES, true}, {btRS, true}, {btEd, true},
		{as(btRS, "PS256"), true}, {as(btRS, "RS512"), true},
		{as(btES, "ES384"), false}, {as(btES, "ES512"), false},
	} {
		_, err := v.VerifyToken(context.Background(), btSign(t, tt.key, nil, btClaims(nil)))
		if (err == nil) != tt.want {
			t.Errorf("%s on a %s key without alg: err = %v, want success %v", tt.key.Alg, tt.key.ID, err, tt.want)
		}
	}
}

// A token's kid is a hint: keys published without one still verify it,
// while a key with another id never does.
func TestJWKSKeysWithoutKid(t *testing.T) {
	btKeys()
	ctx := context.Background()
	anon := btES.JWK()
	delete(anon, "kid")
	data, _ := json.Marshal(map[string]any{"keys": []any{anon, btRS.JWK()}})
	set, err := accesstoken.NewStaticKeySet(data)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := set.VerificationKeys(ctx, btES.ID)
	if err != nil || len(keys) != 1 || keys[0].ID != "" || keys[0].Algorithm != btES.Alg {
		t.Errorf("VerificationKeys(kid of a key published without one) = %+v, %v; want that key", keys, err)
	}
	if keys, _ := set.VerificationKeys(ctx, btRS.ID); len(keys) != 1 || keys[0].ID != btRS.ID {
		t.Errorf("VerificationKeys(%s) = %+v, want only the key with that id", btRS.ID, keys)
	}

	v, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: set, SkipIssuerCheck: true, SkipAudienceCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	token, err := btES.Sign(map[string]any{"sub": "u1", "scope": "openid", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.VerifyToken(ctx, token); err != nil || p.Subject != "u1" {
		t.Errorf("VerifyToken(token whose key has no kid in the set) = %v, %v", p, err)
	}
	// The RSA key has its own id: an ES256 token naming it must not verify
	// with the anonymous key either way.
	forged, _ := btES.SignWithHeader(map[string]any{"kid": btRS.ID}, map[string]any{"sub": "u1", "scope": "openid", "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := v.VerifyToken(ctx, forged); !errors.Is(err, userinfo.ErrInvalidToken) {
		t.Errorf("VerifyToken(kid of another key) = %v, want ErrInvalidToken", err)
	}
}
