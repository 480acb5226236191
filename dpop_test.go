package userinfo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProofs is a ProofVerifier for the Authenticator's tests: the proof
// "proof:JKT" is good for the key JKT, "nonce" needs a nonce, "down" finds
// the replay store down, anything else is refused. It records what it was
// asked. Package accesstoken tests the real verifier with proofs that an
// independent library signs.
type fakeProofs struct {
	mu   sync.Mutex
	seen []DPoPProof
}

func (f *fakeProofs) VerifyProof(_ context.Context, p DPoPProof) (string, error) {
	f.mu.Lock()
	f.seen = append(f.seen, p)
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(p.Proof, "proof:"):
		return strings.TrimPrefix(p.Proof, "proof:"), nil
	case p.Proof == "nonce":
		return "", &NonceError{Nonce: "n-42"}
	case p.Proof == "down":
		return "", errors.New("replay store: connection refused")
	}
	return "", fmt.Errorf("%w: bad signature", ErrInvalidDPoPProof)
}

func (f *fakeProofs) Algorithms() []string { return []string{"ES256", "EdDSA"} }

var dpopTokens = map[string]*Principal{
	"tok-bound":   {Subject: "u1", Scopes: []string{"openid"}, JKT: "K1", AuthTime: testNow},
	"tok-bound-x": {Subject: "u1", Scopes: []string{"profile"}, JKT: "K1"},
	"tok-old-b":   {Subject: "u1", Scopes: []string{"openid"}, JKT: "K1", AuthTime: testNow.Add(-time.Hour)},
}

func dpopVerifier(ctx context.Context, token string) (*Principal, error) {
	if p, ok := dpopTokens[token]; ok {
		c := *p
		return &c, nil
	}
	return testVerifier(ctx, token)
}

const (
	dpopInvalidProof = `DPoP error="invalid_dpop_proof", error_description="The DPoP proof is not valid.", algs="ES256 EdDSA"`
	dpopInvalidToken = `DPoP error="invalid_token", error_description="Error decoding JWT", algs="ES256 EdDSA"`
	bearerInvalid    = `Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="` + rfc6750ErrorURI + `"`
)

// TestDPoPScheme table-tests how the Authenticator takes DPoP-bound tokens
// and their proofs, and refuses them as Bearer tokens.
func TestDPoPScheme(t *testing.T) {
	tests := []struct {
		name          string
		require       bool
		auth          string
		proofs        []string
		wantStatus    int
		wantCode      string
		wantChallenge string
		wantHeader    map[string]string
	}{
		{"bound token with its proof", false, "DPoP tok-bound", []string{"proof:K1"}, 200, "", "", nil},
		{"scheme in lower case", false, "dpop tok-bound", []string{"proof:K1"}, 200, "", "", nil},
		{"proof of another key", false, "DPoP tok-bound", []string{"proof:K2"}, 401, CodeInvalidDPoPProof, dpopInvalidProof, nil},
		{"bad proof", false, "DPoP tok-bound", []string{"forged"}, 401, CodeInvalidDPoPProof, dpopInvalidProof, nil},
		{"no DPoP header", false, "DPoP tok-bound", nil, 401, CodeInvalidDPoPProof, dpopInvalidProof, nil},
		{"two DPoP headers", false, "DPoP tok-bound", []string{"proof:K1", "proof:K1"}, 401, CodeInvalidDPoPProof, dpopInvalidProof, nil},
		{"unbound token with a proof", false, "DPoP tok-u1", []string{"proof:K1"}, 401, CodeInvalidDPoPProof, dpopInvalidProof, nil},
		{"bound token as Bearer", false, "Bearer tok-bound", nil, 401, CodeInvalidToken, bearerInvalid, nil},
		{"bad token under DPoP", false, "DPoP tok-nope", []string{"proof:K1"}, 401, CodeInvalidToken, dpopInvalidToken, nil},
		{"scope under DPoP", false, "DPoP tok-bound-x", []string{"proof:K1"}, 403, CodeInsufficientScope,
			`DPoP error="insufficient_scope", error_description="` + descInsufficientScope + `", scope="openid", algs="ES256 EdDSA"`, nil},
		{"nonce", false, "DPoP tok-bound", []string{"nonce"}, 401, CodeUseDPoPNonce,
			`DPoP error="use_dpop_nonce", error_description="The DPoP proof must carry the server's nonce.", algs="ES256 EdDSA"`,
			map[string]string{"DPoP-Nonce": "n-42"}},
		{"replay store down", false, "DPoP tok-bound", []string{"down"}, 503, CodeTemporarilyUnavailable, "", nil},
		{"required, Bearer refused", true, "Bearer tok-u1", nil, 401, CodeInvalidToken,
			`DPoP error="invalid_token", error_description="A DPoP-bound access token is required.", algs="ES256 EdDSA"`, nil},
		{"required, DPoP accepted", true, "DPoP tok-bound", []string{"proof:K1"}, 200, "", "", nil},
		{"required, no token stays the seed's 400", true, "", nil, 400, CodeInvalidRequest,
			`Bearer error="invalid_request", error_description="Bearer token not found in the request", error_uri="` + rfc6750ErrorURI + `"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proofs := &fakeProofs{}
			hs := newHarness(t, func(c *Config) {
				c.Tokens = TokenVerifierFunc(dpopVerifier)
				c.DPoP, c.RequireDPoP, c.PublicURL = proofs, tt.require, "https://id.example.com/api/"
			})
			r := newRequest(http.MethodGet, "", "")
			r.URL.RawQuery = "x=1"
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			for _, p := range tt.proofs {
				r.Header.Add("DPoP", p)
			}
			w := hs.serve(r)
			if tt.wantStatus != 200 {
				checkError(t, w, tt.wantStatus, tt.wantCode, "*")
			} else if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tt.wantChallenge)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, seen := range proofs.seen {
				if seen.Method != http.MethodGet || seen.URI != "https://id.example.com/api/userinfo" || seen.AccessToken != strings.Fields(tt.auth)[1] {
					t.Errorf("the proof was checked against %+v, want GET https://id.example.com/api/userinfo and the token", seen)
				}
			}
		})
	}
}

// Without a ProofVerifier, the DPoP scheme is no token this server knows.
func TestDPoPSchemeUnconfigured(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.Tokens = TokenVerifierFunc(dpopVerifier) })
	r := newRequest(http.MethodGet, "", "")
	r.Header.Set("Authorization", "DPoP tok-bound")
	r.Header.Set("DPoP", "proof:K1")
	checkError(t, hs.serve(r), 400, CodeInvalidRequest, descBearerTokenNotFound)
}

// Step-up under DPoP challenges in the DPoP scheme.
func TestStepUpUnderDPoP(t *testing.T) {
	hs := newHarness(t, func(c *Config) {
		c.Tokens = TokenVerifierFunc(dpopVerifier)
		c.DPoP, c.PublicURL = &fakeProofs{}, "https://id.example.com"
		c.StepUp = StepUp{MaxAge: 10 * time.Minute}
	})
	hs.otp.issue("t-new", issuedOTP{"u1", ChannelEmail, "new@example.com", "111111"})
	r := newRequest(http.MethodPatch, "", `{"email":"new@example.com","email_otp_token":"t-new","email_otp":"111111"}`)
	r.Header.Set("Authorization", "DPoP tok-old-b")
	r.Header.Set("DPoP", "proof:K1")
	w := hs.serve(r)
	checkError(t, w, 401, CodeInsufficientUserAuthentication, "A more recent authentication is required.")
	want := `DPoP error="insufficient_user_authentication", error_description="A more recent authentication is required.", algs="ES256 EdDSA", max_age="600"`
	if got := w.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q\nwant %q", got, want)
	}
}

// TestMemoryReplayStore: a key is fresh once while it lives, concurrent
// callers agree, expired keys come back, and the bound refuses rather than
// forgets.
func TestMemoryReplayStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryReplayStore(3)
	until := testNow.Add(time.Minute)
	if ok, _ := s.Remember(ctx, "a", until, testNow); !ok {
		t.Fatal("a new key is not fresh")
	}
	if ok, _ := s.Remember(ctx, "a", until, testNow.Add(59*time.Second)); ok {
		t.Error("a live key is fresh again")
	}
	if ok, _ := s.Remember(ctx, "a", until.Add(time.Minute), until); !ok {
		t.Error("an expired key is not fresh")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := s.Remember(ctx, "race", until, testNow); ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent callers got a fresh key, want 1", wins)
	}
	s.Remember(ctx, "b", until, testNow)
	if ok, _ := s.Remember(ctx, "c", until, testNow); ok {
		t.Error("a full store accepted a new key instead of refusing it")
	}
	if ok, _ := s.Remember(ctx, "c", until.Add(time.Minute), until.Add(time.Second)); !ok {
		t.Error("a full store did not make room as its keys expired")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Remember(cctx, "d", until, testNow); err == nil {
		t.Error("Remember with a canceled context: no error")
	}
}

// The htu a proof must match is the path as the client sent it: an escaped
// slash stays escaped.
func TestDPoPURIKeepsEscapes(t *testing.T) {
	proofs := &fakeProofs{}
	hs := newHarness(t, func(c *Config) {
		c.Tokens = TokenVerifierFunc(dpopVerifier)
		c.DPoP, c.PublicURL = proofs, "https://id.example.com"
	})
	r := httptest.NewRequest(http.MethodGet, "/users/a%2Fb/userinfo", nil)
	r.Header.Set("Authorization", "DPoP tok-bound")
	r.Header.Set("DPoP", "proof:K1")
	if w := hs.serve(r); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if len(proofs.seen) != 1 || proofs.seen[0].URI != "https://id.example.com/users/a%2Fb/userinfo" {
		t.Errorf("checked against %+v, want the escaped path", proofs.seen)
	}
}
