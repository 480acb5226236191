package accesstoken_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/bearertest"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

const (
	btIssuer   = "https://issuer.example"
	btAudience = "https://api.example"
)

// btNow is the fixed time of the bearer tests.
var btNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Keys made once: RSA generation is slow.
var (
	btKeysOnce                       sync.Once
	btES, btRS, btEd, btOther, btRot *testkeys.Key
	btRotNext                        *testkeys.Key
)

func btKeys() {
	btKeysOnce.Do(func() {
		btES = testkeys.MustNew("ES256")
		btRS = testkeys.MustNew("RS256")
		btEd = testkeys.MustNew("EdDSA")
		btOther = testkeys.MustNew("ES256")
		btRot = testkeys.MustNew("ES256")
		btRotNext = testkeys.MustNew("ES256")
	})
}

// btClaims are valid claims at btNow; edit changes them (a nil value deletes).
func btClaims(edit map[string]any) map[string]any {
	c := map[string]any{
		"iss":       btIssuer,
		"sub":       "u1",
		"aud":       btAudience,
		"exp":       btNow.Add(time.Hour).Unix(),
		"iat":       btNow.Unix(),
		"nbf":       btNow.Unix(),
		"scope":     "openid profile",
		"client_id": "web",
	}
	return edited(c, edit)
}

// edited applies edit to claims, a nil value deleting the claim, and returns
// claims.
func edited(claims, edit map[string]any) map[string]any {
	for k, v := range edit {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return claims
}

func btSign(t testing.TB, k *testkeys.Key, header, claims map[string]any) string {
	t.Helper()
	tok, err := k.SignWithHeader(header, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func btB64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// btClock is a settable clock.
type btClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *btClock { c := &btClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *btClock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *btClock) Advance(d time.Duration) {
	c.ns.Add(int64(d))
}

// keyServer is an httptest JWKS server whose set can be changed or broken.
type keyServer struct {
	*httptest.Server
	mu   sync.Mutex
	body []byte
	down bool
	hits atomic.Int64
}

func newKeyServer(t *testing.T, keys ...*testkeys.Key) *keyServer {
	t.Helper()
	ks := &keyServer{body: testkeys.JWKS(keys...)}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		ks.mu.Lock()
		body, down := ks.body, ks.down
		ks.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) serve(keys ...*testkeys.Key) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.body, ks.down = testkeys.JWKS(keys...), false
}

func (ks *keyServer) setDown() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.down = true
}

// TestBearerAttacks runs the attack table of issue 3 through
// Authenticator.Middleware with a JWT verifier on a JWKS served by httptest.
func TestBearerAttacks(t *testing.T) {
	btKeys()
	ks := newKeyServer(t, btES, btRS, btEd)
	clock := newClock(btNow)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	set, err := accesstoken.NewRemoteKeySet(ctx, accesstoken.RemoteKeySetConfig{URL: ks.URL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = set.Close() })
	if err := set.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	base := accesstoken.JWTConfig{Keys: set, Issuer: btIssuer, Audience: []string{btAudience}, Now: clock.Now}

	valid := func(t *testing.T) string { return btSign(t, btES, nil, btClaims(nil)) }
	rsaAsPS256 := &testkeys.Key{ID: btRS.ID, Alg: "PS256", Signer: btRS.Signer}
	esAsES384 := &testkeys.Key{ID: btES.ID, Alg: "ES384", Signer: btES.Signer}

	tests := []struct {
		name       string
		cfg        func(*accesstoken.JWTConfig)
		header     []string // Authorization values; "TOKEN" is replaced
		target     string
		token      func(t *testing.T) string
		wantStatus int
		wantCode   string
		wantChal   string
		reason     string // a part of the cause, for logs
	}{
		{name: "valid ES256", token: valid, wantStatus: 200},
		{name: "valid RS256", token: func(t *testing.T) string { return btSign(t, btRS, nil, btClaims(nil)) }, wantStatus: 200},
		{name: "valid EdDSA", token: func(t *testing.T) string { return btSign(t, btEd, nil, btClaims(nil)) }, wantStatus: 200},
		{name: "scheme is case-insensitive", header: []string{"bEARER TOKEN"}, token: valid, wantStatus: 200},
		{name: "aud array holding ours", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"aud": []string{"other", btAudience}}))
		}, wantStatus: 200},
		{name: "scp array", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"scope": nil, "scp": []string{"openid"}}))
		}, wantStatus: 200},
		{name: "expired within the skew", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": btNow.Add(-30 * time.Second).Unix()}))
		}, wantStatus: 200},

		{name: "no Authorization header", header: []string{}, wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "empty Authorization header", header: []string{""}, wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "Bearer without token", header: []string{"Bearer "}, wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "BearerTOKEN", header: []string{"BearerTOKEN"}, token: valid, wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "Basic scheme", header: []string{"Basic dTE6cHc="}, wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "query token only", header: []string{}, target: "/?access_token=x", wantStatus: 400, wantCode: "invalid_request", wantChal: bearertest.ChallengeMissing},
		{name: "two Authorization headers", header: []string{"Bearer TOKEN", "Bearer TOKEN"}, token: valid, wantStatus: 400, wantCode: "invalid_request",
			wantChal: `Bearer error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`},
		{name: "header and query token", target: "/?access_token=x", token: valid, wantStatus: 400, wantCode: "invalid_request",
			wantChal: `Bearer error="invalid_request", error_description="Bearer token not found in the request", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`},

		{name: "alg none", reason: "algorithm is not allowed", token: func(t *testing.T) string {
			return btB64(map[string]any{"alg": "none", "kid": btES.ID}) + "." + btB64(btClaims(nil)) + "."
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "alg none with a signature", reason: "algorithm is not allowed", token: func(t *testing.T) string {
			tok := btSign(t, btES, nil, btClaims(nil))
			return btB64(map[string]any{"alg": "none"}) + tok[strings.IndexByte(tok, '.'):]
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "HS256 signed with the RSA public key (PEM)", reason: "algorithm is not allowed", token: func(t *testing.T) string {
			tok, err := testkeys.SignHMAC("HS256", btRS.PublicPEM(), map[string]any{"kid": btRS.ID}, btClaims(nil))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "HS256 signed with the RSA public JWK", reason: "algorithm is not allowed", token: func(t *testing.T) string {
			jwk, _ := json.Marshal(btRS.JWK())
			tok, err := testkeys.SignHMAC("HS256", jwk, map[string]any{"kid": btRS.ID}, btClaims(nil))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "another key under our kid", reason: "signature does not verify", token: func(t *testing.T) string {
			return btSign(t, btOther, map[string]any{"kid": btES.ID}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "another key under its own kid", reason: "no key matches the kid", token: func(t *testing.T) string {
			return btSign(t, btOther, nil, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "another key without kid", reason: "signature does not verify", token: func(t *testing.T) string {
			return btSign(t, btOther, map[string]any{"kid": nil}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "embedded jwk of the signing key", reason: "no key matches the kid", token: func(t *testing.T) string {
			return btSign(t, btOther, map[string]any{"jwk": btOther.JWK()}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "embedded jwk under our kid", reason: "signature does not verify", token: func(t *testing.T) string {
			return btSign(t, btOther, map[string]any{"kid": btES.ID, "jwk": btOther.JWK()}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "jku to the attacker's set", reason: "no key matches the kid", token: func(t *testing.T) string {
			evil := newKeyServer(t, btOther)
			return btSign(t, btOther, map[string]any{"jku": evil.URL}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "x5u header", reason: "no key matches the kid", token: func(t *testing.T) string {
			return btSign(t, btOther, map[string]any{"x5u": "https://evil.example/cert.pem"}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "header alg differs from the key's alg (PS256 on an RS256 key)", reason: "no key of the kid is for this algorithm", token: func(t *testing.T) string {
			return btSign(t, rsaAsPS256, nil, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "ES384 on a P-256 ES256 key", reason: "no key of the kid is for this algorithm", token: func(t *testing.T) string {
			return btSign(t, esAsES384, nil, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "expired", reason: "has expired", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": btNow.Add(-2 * time.Minute).Unix()}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "nbf in the future", reason: "not valid yet", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"nbf": btNow.Add(5 * time.Minute).Unix()}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "iat in the future", reason: "iat is not", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"iat": btNow.Add(5 * time.Minute).Unix()}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "nbf a string", reason: "nbf is not a number", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"nbf": "2020-01-01"}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "exp missing", reason: "exp is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": nil}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "exp 0", reason: "exp is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": 0}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "exp a date string", reason: "exp is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": "2099-01-01T00:00:00Z"}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "exp a numeric string", reason: "exp is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": "4102444800"}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "exp null", reason: "exp is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"exp": json.RawMessage("null")}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "wrong iss", reason: "iss does not match", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"iss": "https://evil.example"}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "iss missing", reason: "iss does not match", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"iss": nil}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "wrong aud", reason: "aud does not match", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"aud": "https://other.example"}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "aud array without ours", reason: "aud does not match", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"aud": []string{"a", "b"}}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "aud missing", reason: "aud does not match", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"aud": nil}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "sub missing", reason: "sub is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"sub": nil}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "sub a number", reason: "sub is missing", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"sub": 42}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "crit", reason: "critical header", token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"crit": []string{"exp"}}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "crit null", reason: "critical header", token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"crit": json.RawMessage("null")}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "b64 false", reason: "unencoded payloads", token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"b64": false, "crit": nil}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "nested token (cty JWT)", reason: "nested", token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"cty": "JWT"}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "a JWE", reason: "encrypted tokens", token: func(t *testing.T) string {
			return btB64(map[string]any{"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": btRS.ID}) + ".ZW5jcnlwdGVka2V5.aXZpdml2aXZpdg.Y2lwaGVydGV4dA.dGFndGFndGFn"
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "JSON serialisation", token: func(t *testing.T) string {
			tok := btSign(t, btES, nil, btClaims(nil))
			p := strings.Split(tok, ".")
			b, _ := json.Marshal(map[string]any{"payload": p[1], "signatures": []any{map[string]any{"protected": p[0], "signature": p[2]}}})
			return string(b)
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "flattened JSON serialisation, base64url-encoded", reason: "not a JWS", token: func(t *testing.T) string {
			tok := btSign(t, btES, nil, btClaims(nil))
			p := strings.Split(tok, ".")
			return btB64(map[string]any{"payload": p[1], "protected": p[0], "signature": p[2]})
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "oversized token", reason: "size limit", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"pad": strings.Repeat("x", 9000)}))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "broken base64 (standard alphabet)", reason: "base64url", token: func(t *testing.T) string {
			tok := btSign(t, btES, nil, btClaims(nil))
			return "+" + tok[1:]
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "padded base64", reason: "base64url", token: func(t *testing.T) string {
			// An ES256 signature is 64 bytes: standard base64 pads it
			// with one "=".
			return btSign(t, btES, nil, btClaims(nil)) + "="
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "non-canonical base64 in the signature", reason: "base64url", token: func(t *testing.T) string {
			tok := btSign(t, btEd, nil, btClaims(nil))
			// A 64-byte Ed25519 signature is 86 characters; the last one
			// carries 4 unused bits. Setting one gives the same bytes.
			last := tok[len(tok)-1]
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			return tok[:len(tok)-1] + string(alphabet[strings.IndexByte(alphabet, last)^1])
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "not a JWT at all", reason: "not a JWS", token: func(t *testing.T) string { return "opaque-token-value" },
			wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "four segments", reason: "not a JWS", token: func(t *testing.T) string { return valid(t) + ".x" },
			wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "signature of another token", reason: "signature does not verify", token: func(t *testing.T) string {
			a := btSign(t, btES, nil, btClaims(nil))
			b := btSign(t, btES, nil, btClaims(map[string]any{"sub": "admin"}))
			return b[:strings.LastIndexByte(b, '.')] + a[strings.LastIndexByte(a, '.'):]
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "space inside the token", header: []string{"Bearer abc def"},
			wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},

		{name: "typ required, JWT given", reason: "typ is not at+jwt", cfg: func(c *accesstoken.JWTConfig) { c.RequireATJWT = true }, token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"typ": "JWT"}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "typ required, none given", reason: "typ is not at+jwt", cfg: func(c *accesstoken.JWTConfig) { c.RequireATJWT = true }, token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"typ": nil}, btClaims(nil))
		}, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},
		{name: "typ required, application/at+jwt given", cfg: func(c *accesstoken.JWTConfig) { c.RequireATJWT = true }, token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"typ": "application/at+jwt"}, btClaims(nil))
		}, wantStatus: 200},
		{name: "typ not required, JWT given", token: func(t *testing.T) string {
			return btSign(t, btES, map[string]any{"typ": "JWT"}, btClaims(nil))
		}, wantStatus: 200},
		{name: "algorithm outside a narrowed allow-list", reason: "algorithm is not allowed", cfg: func(c *accesstoken.JWTConfig) { c.Algorithms = []string{"RS256"} },
			token: valid, wantStatus: 401, wantCode: "invalid_token", wantChal: bearertest.ChallengeInvalidToken},

		{name: "no openid scope", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"scope": "profile email"}))
		}, wantStatus: 403, wantCode: "insufficient_scope", wantChal: bearertest.ChallengeScope},
		{name: "no scope at all", token: func(t *testing.T) string {
			return btSign(t, btES, nil, btClaims(map[string]any{"scope": nil}))
		}, wantStatus: 403, wantCode: "insufficient_scope", wantChal: bearertest.ChallengeScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := accesstoken.NewJWTVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			token := ""
			if tt.token != nil {
				token = tt.token(t)
			}
			header := tt.header
			if header == nil {
				header = []string{"Bearer TOKEN"}
			}
			values := make([]string, len(header))
			for i, h := range header {
				values[i] = strings.Replace(h, "TOKEN", token, 1)
			}
			target := tt.target
			if target == "" {
				target = "/userinfo"
			}
			a := &userinfo.Authenticator{Verifier: v}
			w := bearertest.Serve(a, target, values...)
			if tt.reason != "" {
				r := httptest.NewRequest(http.MethodGet, target, nil)
				r.Header.Set("Authorization", values[0])
				if _, err := a.Authenticate(r); err == nil || !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("cause = %v, want one with %q", err, tt.reason)
				}
			}
			bearertest.Check(t, w, tt.wantStatus, tt.wantCode, tt.wantChal)
			if tt.wantStatus == 200 && w.Body.String() != "u1" {
				t.Errorf("body = %q, want the subject u1", w.Body)
			}
			if token != "" && strings.Contains(w.Body.String()+w.Header().Get("WWW-Authenticate"), token) {
				t.Error("the response echoes the token")
			}
		})
	}
}
