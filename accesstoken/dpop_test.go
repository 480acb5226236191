package accesstoken_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
)

// The DPoP tests sign their proofs with go-jose, a JOSE library independent
// of the jwx that the verifier uses, so that the two must agree on the
// wire format; attacks the library refuses to make are assembled by hand.

const (
	dpURI   = "https://id.example.com/api/userinfo"
	dpToken = "access-token-1"
)

var dpNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Proof keys, made once: RSA generation is slow.
var (
	dpKeysOnce                sync.Once
	dpES, dpRS, dpEd, dpOther *testkeys.Key
)

func dpKeys() {
	dpKeysOnce.Do(func() {
		dpES, dpRS, dpEd, dpOther = testkeys.MustNew("ES256"), testkeys.MustNew("RS256"), testkeys.MustNew("EdDSA"), testkeys.MustNew("ES256")
	})
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func athOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return b64url(h[:])
}

func randomJTI(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b64url(b)
}

// dpClaims returns the claims of a valid proof for PATCH dpURI with
// dpToken at now, with edit applied (a nil value removes the claim).
func dpClaims(t testing.TB, now time.Time, edit map[string]any) map[string]any {
	c := map[string]any{"jti": randomJTI(t), "htm": "PATCH", "htu": dpURI, "iat": now.Unix(), "ath": athOf(dpToken)}
	for k, v := range edit {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// signProof signs claims with go-jose: alg, typ dpop+jwt and the public key
// of k as jwk, with extra header members.
func signProof(t testing.TB, k *testkeys.Key, alg jose.SignatureAlgorithm, extra map[jose.HeaderKey]any, claims map[string]any) *jose.JSONWebSignature {
	t.Helper()
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	for name, v := range extra {
		if name == "jwk" {
			opts.EmbedJWK = false
		}
		opts.WithHeader(name, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k.Signer}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// proof returns a compact proof of k (ES256 unless alg says otherwise).
func proof(t testing.TB, k *testkeys.Key, alg jose.SignatureAlgorithm, extra map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	s, err := signProof(t, k, alg, extra, claims).CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// thumbprint is go-jose's RFC 7638 SHA-256 thumbprint of k's public key.
func thumbprint(t testing.TB, k *testkeys.Key) string {
	t.Helper()
	jk := jose.JSONWebKey{Key: k.Public()}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return b64url(tp)
}

// publicJWK is k's public JWK as go-jose writes it, as a map to edit.
func publicJWK(t testing.TB, k *testkeys.Key) map[string]any {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: k.Public()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// handmade assembles a compact JWS from a header, claims and a signature,
// for what no library signs.
func handmade(t testing.TB, header, claims map[string]any, sig []byte) string {
	t.Helper()
	input, err := testkeys.SigningInput(header, claims)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64url(sig)
}

func newDPoP(t testing.TB, cfg accesstoken.DPoPConfig) *accesstoken.DPoPVerifier {
	t.Helper()
	if cfg.Replay == nil {
		cfg.Replay = userinfo.NewMemoryReplayStore(0)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return dpNow }
	}
	v, err := accesstoken.NewDPoPVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func request(p string) userinfo.DPoPProof {
	return userinfo.DPoPProof{Proof: p, Method: "PATCH", URI: dpURI, AccessToken: dpToken}
}

// TestDPoPProofs is the attack table: each proof is accepted with the
// thumbprint of its key, or refused with an ErrInvalidDPoPProof whose
// reason is the one expected.
func TestDPoPProofs(t *testing.T) {
	dpKeys()
	es := func(edit map[string]any) func(t *testing.T) string {
		return func(t *testing.T) string { return proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, edit)) }
	}
	tests := []struct {
		name   string
		proof  func(t *testing.T) string
		req    func(p string) userinfo.DPoPProof // default: request
		key    *testkeys.Key                     // the key of an accepted proof; default dpES
		reason string                            // empty: accepted
	}{
		{name: "valid ES256", proof: es(nil)},
		{name: "valid RS256", key: dpRS, proof: func(t *testing.T) string { return proof(t, dpRS, jose.RS256, nil, dpClaims(t, dpNow, nil)) }},
		{name: "valid PS256", key: dpRS, proof: func(t *testing.T) string { return proof(t, dpRS, jose.PS256, nil, dpClaims(t, dpNow, nil)) }},
		{name: "valid EdDSA", key: dpEd, proof: func(t *testing.T) string { return proof(t, dpEd, jose.EdDSA, nil, dpClaims(t, dpNow, nil)) }},
		{name: "valid Ed25519 (RFC 9864)", key: dpEd, proof: func(t *testing.T) string {
			// go-jose does not know the name: sign EdDSA's input under it by hand.
			k := dpEd
			hdr := map[string]any{"typ": "dpop+jwt", "alg": "Ed25519", "jwk": publicJWK(t, k)}
			input, _ := testkeys.SigningInput(hdr, dpClaims(t, dpNow, nil))
			sig, err := k.Signer.Sign(rand.Reader, []byte(input), crypto.Hash(0))
			if err != nil {
				t.Fatal(err)
			}
			return input + "." + b64url(sig)
		}},
		{name: "iat at the edge of the window", proof: es(map[string]any{"iat": dpNow.Add(-time.Minute).Unix()})},
		{name: "iat a little ahead", proof: es(map[string]any{"iat": dpNow.Add(30 * time.Second).Unix()})},
		{name: "URI equal after normalisation", proof: es(map[string]any{"htu": "HTTPS://ID.Example.COM:443/api/./x/../%75serinfo"})},
		{name: "htu query and fragment ignored", proof: es(map[string]any{"htu": dpURI + "?a=b#c"})},
		{name: "request URI in another normal form", proof: es(nil), req: func(p string) userinfo.DPoPProof {
			r := request(p)
			r.URI = "https://id.example.com:443/api/x/../userinfo"
			return r
		}},

		{name: "wrong method", reason: "htm", proof: es(map[string]any{"htm": "POST"})},
		{name: "method in lower case", reason: "htm", proof: es(map[string]any{"htm": "patch"})},
		{name: "wrong URI", reason: "htu", proof: es(map[string]any{"htu": "https://id.example.com/api/otp/send"})},
		{name: "other host", reason: "htu", proof: es(map[string]any{"htu": "https://evil.example.com/api/userinfo"})},
		{name: "other scheme", reason: "htu", proof: es(map[string]any{"htu": "http://id.example.com/api/userinfo"})},
		{name: "encoded slash is not a slash", reason: "htu", proof: es(map[string]any{"htu": "https://id.example.com/api%2Fuserinfo"})},
		{name: "relative htu", reason: "htu", proof: es(map[string]any{"htu": "/api/userinfo"})},
		{name: "htu not a string", reason: "htu", proof: es(map[string]any{"htu": 7})},
		{name: "old iat", reason: "iat", proof: es(map[string]any{"iat": dpNow.Add(-61 * time.Second).Unix()})},
		{name: "future iat", reason: "iat", proof: es(map[string]any{"iat": dpNow.Add(61 * time.Second).Unix()})},
		{name: "iat a string", reason: "iat", proof: es(map[string]any{"iat": "now"})},
		{name: "missing iat", reason: "iat", proof: es(map[string]any{"iat": nil})},
		{name: "foreign ath", reason: "ath", proof: es(map[string]any{"ath": athOf("another-token")})},
		{name: "missing ath", reason: "ath", proof: es(map[string]any{"ath": nil})},
		{name: "ath padded", reason: "ath", proof: es(map[string]any{"ath": athOf(dpToken) + "="})},
		{name: "missing jti", reason: "jti", proof: es(map[string]any{"jti": nil})},
		{name: "jti a number", reason: "jti", proof: es(map[string]any{"jti": 12345})},
		{name: "jti too long", reason: "jti", proof: es(map[string]any{"jti": strings.Repeat("j", accesstoken.MaxDPoPJTILength+1)})},

		{name: "signed by another key than its jwk", reason: "signature", proof: func(t *testing.T) string {
			return proof(t, dpOther, jose.ES256, map[jose.HeaderKey]any{"jwk": publicJWK(t, dpES)}, dpClaims(t, dpNow, nil))
		}},
		{name: "private key members in jwk", reason: "private", proof: func(t *testing.T) string {
			jk := jose.JSONWebKey{Key: dpES.Signer}
			b, _ := jk.MarshalJSON()
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			return proof(t, dpES, jose.ES256, map[jose.HeaderKey]any{"jwk": m}, dpClaims(t, dpNow, nil))
		}},
		{name: "RSA private members in jwk", reason: "private", proof: func(t *testing.T) string {
			jk := jose.JSONWebKey{Key: dpRS.Signer}
			b, _ := jk.MarshalJSON()
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			delete(m, "d") // p, q, dp, dq, qi remain
			return proof(t, dpRS, jose.RS256, map[jose.HeaderKey]any{"jwk": m}, dpClaims(t, dpNow, nil))
		}},
		{name: "symmetric jwk", reason: "private", proof: func(t *testing.T) string {
			jwk := map[string]any{"kty": "oct", "k": b64url([]byte(strings.Repeat("k", 32)))}
			return proof(t, dpES, jose.ES256, map[jose.HeaderKey]any{"jwk": jwk}, dpClaims(t, dpNow, nil))
		}},
		{name: "HS256 with a public jwk", reason: "algorithm is not allowed", proof: func(t *testing.T) string {
			secret := []byte(strings.Repeat("k", 32))
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
				(&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", publicJWK(t, dpES)))
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(dpClaims(t, dpNow, nil))
			obj, _ := signer.Sign(payload)
			s, _ := obj.CompactSerialize()
			return s
		}},
		{name: "alg none", reason: "algorithm is not allowed", proof: func(t *testing.T) string {
			return handmade(t, map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": publicJWK(t, dpES)}, dpClaims(t, dpNow, nil), nil)
		}},
		{name: "alg of another key type", reason: "does not fit", proof: func(t *testing.T) string {
			// An RS256 signature under an EC jwk: refused before verifying.
			return proof(t, dpRS, jose.RS256, map[jose.HeaderKey]any{"jwk": publicJWK(t, dpES)}, dpClaims(t, dpNow, nil))
		}},
		{name: "ES384 under a P-256 jwk", reason: "does not fit", proof: func(t *testing.T) string {
			return handmade(t, map[string]any{"typ": "dpop+jwt", "alg": "ES384", "jwk": publicJWK(t, dpES)}, dpClaims(t, dpNow, nil), make([]byte, 96))
		}},
		{name: "typ wrong", reason: "typ", proof: func(t *testing.T) string {
			opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT")
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: dpES.Signer}, opts)
			payload, _ := json.Marshal(dpClaims(t, dpNow, nil))
			obj, _ := signer.Sign(payload)
			s, _ := obj.CompactSerialize()
			return s
		}},
		{name: "typ in another case, with application/", proof: func(t *testing.T) string {
			opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("application/DPoP+JWT")
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: dpES.Signer}, opts)
			payload, _ := json.Marshal(dpClaims(t, dpNow, nil))
			obj, _ := signer.Sign(payload)
			s, _ := obj.CompactSerialize()
			return s
		}},
		{name: "no jwk", reason: "no jwk", proof: func(t *testing.T) string {
			return proof(t, dpES, jose.ES256, map[jose.HeaderKey]any{"jwk": nil}, dpClaims(t, dpNow, nil))
		}},
		{name: "crit", reason: "critical", proof: func(t *testing.T) string {
			return proof(t, dpES, jose.ES256, map[jose.HeaderKey]any{"crit": []string{"exp"}, "exp": 1}, dpClaims(t, dpNow, nil))
		}},
		{name: "JSON serialisation", reason: "JSON serialisation", proof: func(t *testing.T) string {
			return signProof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, nil)).FullSerialize()
		}},
		{name: "JWE shape", reason: "JWE", proof: func(t *testing.T) string { return "a.b.c.d.e" }},
		{name: "two segments", reason: "compact", proof: func(t *testing.T) string { return "a.b" }},
		{name: "padded header", reason: "base64url", proof: func(t *testing.T) string {
			p := proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, nil))
			return strings.Replace(p, ".", "=.", 1)
		}},
		{name: "oversize", reason: "size", proof: func(t *testing.T) string {
			return proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, map[string]any{"pad": strings.Repeat("x", accesstoken.MaxDPoPProofSize)}))
		}},
		{name: "claims not an object", reason: "claims", proof: func(t *testing.T) string {
			opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: dpES.Signer}, opts)
			obj, _ := signer.Sign([]byte(`["jti"]`))
			s, _ := obj.CompactSerialize()
			return s
		}},
		{name: "empty", reason: "compact", proof: func(t *testing.T) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newDPoP(t, accesstoken.DPoPConfig{})
			req := request
			if tt.req != nil {
				req = tt.req
			}
			jkt, err := v.VerifyProof(context.Background(), req(tt.proof(t)))
			if tt.reason == "" {
				key := tt.key
				if key == nil {
					key = dpES
				}
				if err != nil || jkt != thumbprint(t, key) {
					t.Fatalf("VerifyProof = %q, %v; want the thumbprint %q", jkt, err, thumbprint(t, key))
				}
				return
			}
			if !errors.Is(err, userinfo.ErrInvalidDPoPProof) || jkt != "" {
				t.Fatalf("VerifyProof = %q, %v; want an ErrInvalidDPoPProof", jkt, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("refused for another reason than %q: %v", tt.reason, err)
			}
		})
	}
}

// TestDPoPReplay: a proof is accepted once, also by a second verifier that
// shares the replay store (another replica); the same jti from another key
// is another proof; a store that fails is not a refusal.
func TestDPoPReplay(t *testing.T) {
	dpKeys()
	store := userinfo.NewMemoryReplayStore(0)
	v1 := newDPoP(t, accesstoken.DPoPConfig{Replay: store})
	v2 := newDPoP(t, accesstoken.DPoPConfig{Replay: store})
	ctx := context.Background()
	claims := dpClaims(t, dpNow, nil)
	p := proof(t, dpES, jose.ES256, nil, claims)
	if _, err := v1.VerifyProof(ctx, request(p)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	for name, v := range map[string]*accesstoken.DPoPVerifier{"same verifier": v1, "other replica": v2} {
		if _, err := v.VerifyProof(ctx, request(p)); !errors.Is(err, userinfo.ErrInvalidDPoPProof) || !strings.Contains(err.Error(), "replayed") {
			t.Errorf("%s, replay: %v; want replayed", name, err)
		}
	}
	// The same jti in a new proof of the same key (a new signature) is a replay too.
	if _, err := v2.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, claims))); !errors.Is(err, userinfo.ErrInvalidDPoPProof) {
		t.Errorf("same jti, re-signed: %v; want replayed", err)
	}
	if _, err := v2.VerifyProof(ctx, request(proof(t, dpOther, jose.ES256, nil, claims))); err != nil {
		t.Errorf("same jti, other key: %v", err)
	}

	down := newDPoP(t, accesstoken.DPoPConfig{Replay: failingReplay{}})
	_, err := down.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, nil))))
	if err == nil || errors.Is(err, userinfo.ErrInvalidDPoPProof) || !errors.Is(err, errReplayDown) {
		t.Errorf("store down: %v; want the store's error, not a refusal", err)
	}
}

var errReplayDown = errors.New("replay store down")

// failingReplay is a ReplayStore that cannot answer; it checks the key
// shape on the way.
type failingReplay struct{}

func (failingReplay) Remember(_ context.Context, key string, until, now time.Time) (bool, error) {
	if len(key) > 128 || strings.Trim(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || !until.After(now) {
		return false, errors.New("bad key or until")
	}
	return false, errReplayDown
}

// TestDPoPNonce: with a NonceKey, a proof without a nonce gets one; that
// nonce is accepted by every verifier with the key (replicas), for one to
// two windows; a stale one, or one of another key, gets a fresh one.
func TestDPoPNonce(t *testing.T) {
	dpKeys()
	ctx := context.Background()
	key := []byte(strings.Repeat("n", 32))
	now := dpNow
	clock := func() time.Time { return now }
	store := userinfo.NewMemoryReplayStore(0)
	v1 := newDPoP(t, accesstoken.DPoPConfig{Replay: store, NonceKey: key, Now: clock})
	v2 := newDPoP(t, accesstoken.DPoPConfig{Replay: store, NonceKey: key, Now: clock})
	other := newDPoP(t, accesstoken.DPoPConfig{NonceKey: []byte(strings.Repeat("o", 32)), Now: clock})

	nonceOf := func(err error) string {
		t.Helper()
		var ne *userinfo.NonceError
		if !errors.As(err, &ne) || ne.Nonce == "" {
			t.Fatalf("err = %v, want a *userinfo.NonceError with a nonce", err)
		}
		return ne.Nonce
	}
	_, err := v1.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, nil))))
	nonce := nonceOf(err)
	if _, err := v2.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": nonce})))); err != nil {
		t.Fatalf("nonce of a replica: %v", err)
	}
	_, err = other.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": nonce}))))
	_ = nonceOf(err)
	_, err = v1.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": "made-up"}))))
	_ = nonceOf(err)
	if _, err := v1.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": 5})))); !errors.Is(err, userinfo.ErrInvalidDPoPProof) {
		t.Errorf("nonce a number: %v, want an invalid proof", err)
	}

	now = now.Add(time.Minute) // the next step: still good
	if _, err := v1.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": nonce})))); err != nil {
		t.Errorf("nonce one window later: %v", err)
	}
	now = now.Add(time.Minute) // two steps on: stale
	_, err = v2.VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, now, map[string]any{"nonce": nonce}))))
	if fresh := nonceOf(err); fresh == nonce {
		t.Errorf("a stale nonce was answered with itself")
	}
	// Without a NonceKey a nonce is ignored.
	if _, err := newDPoP(t, accesstoken.DPoPConfig{}).VerifyProof(ctx, request(proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, map[string]any{"nonce": "x"})))); err != nil {
		t.Errorf("nonce without NonceKey: %v", err)
	}
}

func TestDPoPConfig(t *testing.T) {
	store := userinfo.NewMemoryReplayStore(0)
	for name, cfg := range map[string]accesstoken.DPoPConfig{
		"no replay store": {},
		"HMAC":            {Replay: store, Algorithms: []string{"HS256"}},
		"none":            {Replay: store, Algorithms: []string{"none"}},
		"unknown":         {Replay: store, Algorithms: []string{"XX1"}},
		"short nonce key": {Replay: store, NonceKey: []byte("short")},
	} {
		if _, err := accesstoken.NewDPoPVerifier(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	v := newDPoP(t, accesstoken.DPoPConfig{})
	want := "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	if got := strings.Join(v.Algorithms(), " "); got != want {
		t.Errorf("Algorithms = %q, want %q", got, want)
	}
	v.Algorithms()[0] = "none"
	if v.Algorithms()[0] != "RS256" {
		t.Error("Algorithms returns the verifier's own slice")
	}
	narrow := newDPoP(t, accesstoken.DPoPConfig{Algorithms: []string{"EdDSA"}})
	dpKeys()
	if _, err := narrow.VerifyProof(context.Background(), request(proof(t, dpES, jose.ES256, nil, dpClaims(t, dpNow, nil)))); !errors.Is(err, userinfo.ErrInvalidDPoPProof) {
		t.Errorf("ES256 outside a narrowed allow-list: %v", err)
	}
}
