package accesstoken_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/internal/testkeys"
	"github.com/ciamkit/userinfo/userinfotest"
)

const dpPublicURL = "https://id.example.com/api"

// dpHandler is a handler on a memory store holding u1, with JWTs of iss and
// DPoP proofs checked by a DPoPVerifier, all on one clock.
func dpHandler(t testing.TB, iss *userinfotest.Issuer, dcfg accesstoken.DPoPConfig, now func() time.Time) (*userinfo.Handler, *userinfo.MemoryStore) {
	t.Helper()
	keys, err := accesstoken.NewStaticKeySet(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	jv, err := accesstoken.NewJWTVerifier(accesstoken.JWTConfig{Keys: keys, Issuer: iss.URL(), Audience: []string{iss.Audience()}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	dcfg.Now = now
	dv, err := accesstoken.NewDPoPVerifier(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	store := userinfo.NewMemoryStore()
	if _, err := store.Put(context.Background(), "u1", map[string]any{"nickname": "old"}); err != nil {
		t.Fatal(err)
	}
	h, err := userinfo.New(userinfo.Config{Tokens: jv, Store: store, DPoP: dv, PublicURL: dpPublicURL, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return h, store
}

// patchRequest is PATCH /userinfo setting the nickname, with the given
// Authorization and DPoP headers (none when empty).
func patchRequest(auth, dpop string) *http.Request {
	r := httptest.NewRequest(http.MethodPatch, "/userinfo", strings.NewReader(`{"nickname":"new"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", auth)
	if dpop != "" {
		r.Header.Set("DPoP", dpop)
	}
	return r
}

// dpIssuer starts an ES256 test issuer on the DPoP tests' clock and mints a
// token bound to dpES's key.
func dpIssuer(t testing.TB) (iss *userinfotest.Issuer, bound string) {
	t.Helper()
	dpKeys()
	iss, err := userinfotest.NewIssuer(userinfotest.IssuerConfig{Algorithms: []string{"ES256"}, Now: func() time.Time { return dpNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	if bound, err = iss.Token(map[string]any{"cnf": map[string]any{"jkt": thumbprint(t, dpES)}}); err != nil {
		t.Fatal(err)
	}
	return iss, bound
}

// TestDPoPThroughHandler: a DPoP-bound JWT of an issuer and proofs signed
// by go-jose, through userinfo.New: the exact answers, and nothing written
// on a refusal.
func TestDPoPThroughHandler(t *testing.T) {
	now := func() time.Time { return dpNow }
	iss, bound := dpIssuer(t)
	unbound, err := iss.Token(nil)
	if err != nil {
		t.Fatal(err)
	}
	htu := dpPublicURL + "/userinfo"
	proofFor := func(t *testing.T, k *testkeys.Key, token string, edit map[string]any) string {
		c := dpClaims(t, dpNow, map[string]any{"htu": htu, "ath": athOf(token)})
		for name, v := range edit {
			c[name] = v
		}
		return proof(t, k, jose.ES256, nil, c)
	}
	const algs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
	const invalidProof = `DPoP error="invalid_dpop_proof", error_description="The DPoP proof is not valid.", ` + algs
	const invalidToken = `DPoP error="invalid_token", error_description="Error decoding JWT", ` + algs
	replayed := ""
	tests := []struct {
		name          string
		auth          string
		dpop          func(t *testing.T) string
		wantStatus    int
		wantCode      string
		wantChallenge string
	}{
		{"bound token with its proof", "DPoP " + bound, func(t *testing.T) string {
			replayed = proofFor(t, dpES, bound, nil)
			return replayed
		}, 200, "", ""},
		{"the same proof again", "DPoP " + bound, func(t *testing.T) string { return replayed }, 401, "invalid_dpop_proof", invalidProof},
		{"proof of another key", "DPoP " + bound, func(t *testing.T) string { return proofFor(t, dpOther, bound, nil) }, 401, "invalid_dpop_proof", invalidProof},
		{"proof for another token", "DPoP " + bound, func(t *testing.T) string { return proofFor(t, dpES, unbound, nil) }, 401, "invalid_dpop_proof", invalidProof},
		{"proof for another method", "DPoP " + bound, func(t *testing.T) string { return proofFor(t, dpES, bound, map[string]any{"htm": "GET"}) }, 401, "invalid_dpop_proof", invalidProof},
		{"proof for another URI", "DPoP " + bound, func(t *testing.T) string {
			return proofFor(t, dpES, bound, map[string]any{"htu": "https://id.example.com/userinfo"})
		}, 401, "invalid_dpop_proof", invalidProof},
		{"no proof", "DPoP " + bound, func(t *testing.T) string { return "" }, 401, "invalid_dpop_proof", invalidProof},
		{"unbound token with a proof", "DPoP " + unbound, func(t *testing.T) string { return proofFor(t, dpES, unbound, nil) }, 401, "invalid_dpop_proof", invalidProof},
		{"bad token under DPoP", "DPoP " + bound + "x", func(t *testing.T) string { return proofFor(t, dpES, bound+"x", nil) }, 401, "invalid_token", invalidToken},
		{"bound token as a Bearer token", "Bearer " + bound, func(t *testing.T) string { return "" }, 401, "invalid_token",
			`Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1"`},
	}
	h, store := dpHandler(t, iss, accesstoken.DPoPConfig{Replay: userinfo.NewMemoryReplayStore(0)}, now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantStatus != 200 {
				// A refusal writes nothing: put the nickname back first.
				if _, err := store.Put(context.Background(), "u1", map[string]any{"nickname": "old"}); err != nil {
					t.Fatal(err)
				}
			}
			before, err := store.GetUser(context.Background(), "u1")
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, patchRequest(tt.auth, tt.dpop(t)))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q\nwant               %q", got, tt.wantChallenge)
			}
			after, err := store.GetUser(context.Background(), "u1")
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus == 200 {
				if want := fmt.Sprintf(`{"nickname":"new","sub":"u1","updated_at":%d}`, dpNow.Unix()); strings.TrimSpace(w.Body.String()) != want {
					t.Errorf("body = %s", w.Body)
				}
				return
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != tt.wantCode {
				t.Errorf("body = %s, want error %q", w.Body, tt.wantCode)
			}
			if after.Version != before.Version || after.Attributes["nickname"] != "old" {
				t.Errorf("a refused request wrote: %+v → %+v", before, after)
			}
		})
	}
}

// TestDPoPNonceThroughHandler: with a NonceKey, the first proof is
// answered use_dpop_nonce with the nonce in DPoP-Nonce, and a retry with it
// passes, on another replica too.
func TestDPoPNonceThroughHandler(t *testing.T) {
	now := func() time.Time { return dpNow }
	iss, bound := dpIssuer(t)
	cfg := accesstoken.DPoPConfig{Replay: userinfo.NewMemoryReplayStore(0), NonceKey: []byte(strings.Repeat("n", 32))}
	h1, store := dpHandler(t, iss, cfg, now)
	h2, _ := dpHandler(t, iss, cfg, now)
	claims := func() map[string]any {
		return dpClaims(t, dpNow, map[string]any{"htu": dpPublicURL + "/userinfo", "ath": athOf(bound)})
	}
	w := httptest.NewRecorder()
	h1.ServeHTTP(w, patchRequest("DPoP "+bound, proof(t, dpES, jose.ES256, nil, claims())))
	const want = `DPoP error="use_dpop_nonce", error_description="The DPoP proof must carry the server's nonce.", ` +
		`algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != want || nonce == "" {
		t.Fatalf("without a nonce: %d %q nonce %q", w.Code, w.Header().Get("WWW-Authenticate"), nonce)
	}
	if u, _ := store.GetUser(context.Background(), "u1"); u.Attributes["nickname"] != "old" {
		t.Errorf("written without a nonce: %v", u.Attributes)
	}
	c := claims()
	c["nonce"] = nonce
	w = httptest.NewRecorder()
	h2.ServeHTTP(w, patchRequest("DPoP "+bound, proof(t, dpES, jose.ES256, nil, c)))
	if w.Code != 200 {
		t.Fatalf("with the nonce, on another replica: %d %s", w.Code, w.Body)
	}
}

// BenchmarkPatchDPoP compares a PATCH through the handler with a DPoP proof
// (ES256 token, ES256 proof, memory replay store) with one with a Bearer
// token (ES256). Compare the two with interleaved passes, e.g.
//
//	go test -run '^$' -bench 'PatchDPoP' -count 6 -benchtime 2000x ./accesstoken
func BenchmarkPatchDPoP(b *testing.B) {
	now := func() time.Time { return dpNow }
	iss, bound := dpIssuer(b)
	bearer, err := iss.Token(nil)
	if err != nil {
		b.Fatal(err)
	}
	htu := dpPublicURL + "/userinfo"

	b.Run("Bearer", func(b *testing.B) {
		h, _ := dpHandler(b, iss, accesstoken.DPoPConfig{Replay: userinfo.NewMemoryReplayStore(0)}, now)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, patchRequest("Bearer "+bearer, ""))
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.Run("DPoP", func(b *testing.B) {
		// Each request needs a proof of its own: they are signed before
		// the timer starts.
		proofs := make([]string, b.N)
		for i := range proofs {
			proofs[i] = proof(b, dpES, jose.ES256, nil, dpClaims(b, dpNow, map[string]any{"htu": htu, "ath": athOf(bound)}))
		}
		h, _ := dpHandler(b, iss, accesstoken.DPoPConfig{Replay: userinfo.NewMemoryReplayStore(b.N + 1)}, now)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, patchRequest("DPoP "+bound, proofs[i]))
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
